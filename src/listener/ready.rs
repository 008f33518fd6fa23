//! A listener's ready list: its buffers that hold messages, in the order
//! they are served, and the handshake that keeps it exact while producers
//! add to those buffers without the listener's lock.
//!
//! Invariant: whenever the listener's lock is free, a buffer is in its
//! listener's [`ReadyQueue`] exactly when its [`ReadyFlag`] is set, and
//! every buffer of the listener that holds a message is in it, or has a
//! producer on its way to put it there ([`after_unlocked_add`]). Both the
//! queue and the flags change only under the listener's lock. (After the
//! listener is gone, nothing joins any more: see `Listener::last_user_gone`.)
//!
//! The handshake, between a producer that added without the listener's
//! lock and a taker that emptied the buffer:
//! - the producer publishes its message, makes a `fence(SeqCst)` and looks
//!   at the flag: set, the buffer is (or is about to be put back) in the
//!   queue; clear, the producer takes the lock and puts it there (if it
//!   still has a message);
//! - the taker, under the lock, finding the buffer empty, clears the flag,
//!   makes a `fence(SeqCst)` and looks at the buffer once more: a message
//!   there sets the flag again and keeps the buffer in the queue.
//!
//! The two fences make one of the two see the other's write, so a message
//! is never stranded in a buffer that is neither listed nor about to be.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::buffer::Buffer;
use crate::primitive::atomic::{fence, AtomicBool, Ordering};
use crate::queue::Drain;

use super::{Listener, ListenerState};

/// Whether a buffer is in its listener's ready queue.
pub(crate) struct ReadyFlag(AtomicBool);

impl ReadyFlag {
    pub fn new() -> ReadyFlag {
        ReadyFlag(AtomicBool::new(false))
    }

    #[inline]
    fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, flag: bool) {
        self.0.store(flag, Ordering::Relaxed);
    }
}

/// The buffers with messages. Holds each buffer's memory, not a
/// reference: a collected buffer's messages are still delivered.
#[derive(Default)]
pub(crate) struct ReadyQueue(VecDeque<Arc<Buffer>>);

impl ReadyQueue {
    /// Puts `buffer` at the back if it has messages and is not listed yet;
    /// true if it joined.
    pub fn join(&mut self, buffer: &Arc<Buffer>) -> bool {
        let flag = buffer.ready_flag();
        if flag.is_set() || buffer.queued() == 0 {
            return false;
        }
        flag.set(true);
        self.0.push_back(buffer.clone());
        true
    }

    /// The buffer to serve next; the caller holds the listener's lock until
    /// it gives it back ([`ReadyQueue::serve_again`] or
    /// [`ReadyQueue::retry`]) or found it empty ([`stays_ready`]).
    pub fn next(&mut self) -> Option<Arc<Buffer>> {
        self.0.pop_front()
    }

    /// A buffer served (a message taken) that has more: to the back.
    pub fn serve_again(&mut self, buffer: Arc<Buffer>) {
        self.0.push_back(buffer);
    }

    /// A buffer whose message was refused: first again.
    pub fn retry(&mut self, buffer: Arc<Buffer>) {
        self.0.push_front(buffer);
    }

    /// Takes a buffer that lost its messages out (direct takers, `clear`),
    /// keeping it if a message arrived meanwhile.
    /// True if it left.
    pub fn leave_if_empty(&mut self, buffer: &Arc<Buffer>, drain: &mut Drain<'_>) -> bool {
        let leaves = buffer.ready_flag().is_set() && !stays_ready(buffer.ready_flag(), drain);
        if leaves {
            self.0.retain(|b| !Arc::ptr_eq(b, buffer));
        }
        leaves
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every listed buffer, for the caller to empty ([`unlist`]) and drop
    /// after unlocking.
    pub fn take_all(&mut self) -> VecDeque<Arc<Buffer>> {
        std::mem::take(&mut self.0)
    }
}

/// Whether a listed buffer from which messages were just taken stays
/// listed (the taker's half of the handshake). Under the listener's lock
/// and the buffer's draining lock.
#[inline]
pub(crate) fn stays_ready(flag: &ReadyFlag, drain: &mut Drain<'_>) -> bool {
    if !drain.is_empty() {
        return true;
    }
    flag.set(false);
    fence(Ordering::SeqCst);
    let more = !drain.is_empty();
    if more {
        flag.set(true);
    }
    more
}

/// Marks a buffer taken out of the queue by [`ReadyQueue::take_all`] (or
/// emptied with the lock held) as not listed. Under the listener's lock.
pub(crate) fn unlist(buffer: &Buffer) {
    buffer.ready_flag().set(false);
}

/// The producer's half of the handshake, after adding to `buffer` without
/// the listener's lock: puts it into the queue unless it is listed (or a
/// taker took the message meanwhile). True if it joined.
#[inline]
pub(crate) fn after_unlocked_add(buffer: &Arc<Buffer>, listener: &Listener) -> bool {
    fence(Ordering::SeqCst);
    if buffer.ready_flag().is_set() {
        return false;
    }
    listener.enqueue(buffer)
}

/// The same for a producer that holds the listener's lock (nonblock mode,
/// which may not wait for it afterwards): no handshake needed.
pub(crate) fn after_locked_add(buffer: &Arc<Buffer>, state: &mut ListenerState) -> bool {
    let joined = state.ready.join(buffer);
    if joined {
        if let Some(listener) = buffer.listener() {
            listener.update_readiness(state);
        }
    }
    joined
}
