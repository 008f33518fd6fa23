//! A buffer's descriptor for event loops: readable exactly while a message
//! is queued or the buffer is closed or aborted (`sync/readiness.rs`).
//!
//! The two ends keep it right without a lock between them: after adding,
//! a producer (under the feeding lock) makes a full fence and reads the
//! count of taken messages; after taking, a taker (under the draining
//! lock) makes a full fence and reads the count of added ones. Of a
//! producer and a taker at once, at least one sees the other's change, so
//! the one that sees the queue go from empty to one message, or to empty,
//! updates the descriptor afterwards. An update reads the count with both
//! ends locked, so it is exact at that moment (read without them, an
//! update could miss an addition whose producer, seeing other messages
//! queued, left the update to others; the loom model
//! `a_descriptor_follows_two_producers_and_a_taker` finds that). Producers are ordered among themselves by their lock, takers by
//! theirs. Closing, aborting (of the buffer, its listener or everything)
//! and their undoing update it too.

use super::held::Both;
use super::Buffer;
use crate::error::{Error, ErrorKind};
use crate::reference::Object;

impl Buffer {
    /// Whether an event loop waiting on this buffer should wake: a message
    /// queued, or a close or an abort to report.
    pub(super) fn ready_now(&self) -> bool {
        self.queued() > 0 || self.check_usable().is_err()
    }

    /// Whether the descriptor is watched: then the ends decide whether an
    /// update follows their change.
    #[inline]
    pub(super) fn is_watched(&self) -> bool {
        self.readiness.get().is_some()
    }

    /// Brings the descriptor up to date (nothing when there is none). The
    /// count is read with both ends of the queue locked, so that it is the
    /// count of that moment: read without them, it could miss an addition
    /// whose producer left the update to this one. (Lock order: the
    /// readiness's lock, then the ends; no thread takes the readiness's
    /// lock while it holds an end.)
    pub(crate) fn update_readiness(&self) {
        if let Some(readiness) = self.readiness.get() {
            readiness.update(|| {
                let core = self.queue.core();
                let _ends = (core.lock_feed(false), core.lock_drain(false));
                self.ready_now()
            });
        }
    }

    /// What the descriptor says now, for the models (test/loom).
    #[cfg(loom)]
    pub(crate) fn fd_is_readable(&self) -> bool {
        self.readiness.get().expect("a descriptor").is_readable()
    }

    /// The descriptor, made on the first request. Made, it is brought up
    /// to date after the queue's locks were taken and let go: an
    /// operation that looked for it under them before it existed is done
    /// by then, and its change is seen; later ones see the descriptor.
    pub(super) fn make_fd(&self) -> Result<i32, Error> {
        let (readiness, made) = self
            .readiness
            .get_or_make()
            .map_err(|e| Error::new(ErrorKind::OutOfMemory, format!("{}: no descriptor for it: {e}", self.describe())))?;
        if made {
            drop(self.hold_blocking::<Both>());
            self.update_readiness();
        }
        Ok(readiness.fd())
    }
}
