//! The queue of one buffer, between the threads that add messages (the
//! feeding end, `feed.rs`) and the threads that take them (the draining
//! end, `drain.rs`).
//!
//! Each end has a lock of its own, and its state and the counters it
//! publishes lie on cache lines apart from the other end's (the count of
//! added messages, which consumers poll, on one of its own): a producer
//! and a consumer working at the same time touch each other's memory only
//! to see a new message, when the producer wraps around behind the
//! consumer, and for a fixed-size buffer's room. Operations on the whole
//! queue (`clear`, replacing by `setmsg`, closing) take both locks, the
//! feeding end's first.
//!
//! The messages lie in segments of memory (`segment.rs`), each a ring of
//! records written back to back (`record.rs`). When a record fits neither
//! at the end nor at the start, the producer goes on in a new segment (the
//! one the consumer last finished, if it is large enough, else a new one
//! grown by the size plan) and the consumer frees the old one after
//! reading it to its end.
//!
//! Invariants between the ends:
//! - `published` (written by the feeding end, Release, after the record is
//!   complete) never runs behind `removed` (written by the draining end,
//!   Release, after it read the record): the draining end reads a record
//!   only after seeing it counted (Acquire), and reads `removed` back in
//!   no other way. [`Core::count`] therefore reads `removed` first.
//! - A thread about to sleep until the other end acts goes through that
//!   end's lock after counting itself a sleeper (`synchronize_with_*`): the
//!   other end changes what the sleeper waits for under its lock and looks
//!   for sleepers after letting go, so that one of the two sees the other
//!   (the second way of `Signal`'s protocol). The ends' hot paths then need
//!   no barrier of their own.

mod drain;
mod feed;
mod record;
mod segment;
#[cfg(all(test, not(loom)))]
mod tests;

use std::ptr;

pub(crate) use drain::{Drain, Taken};
pub(crate) use feed::{Feed, Ready};
pub(crate) use record::LINK_ABOVE;

use drain::Head;
use feed::Tail;
use segment::Segment;

use crate::primitive::atomic::{AtomicPtr, AtomicU64, Ordering};
use crate::sizes::Sizes;
use crate::sync::spin::SpinHistory;
use crate::sync::{valgrind, Additions, CacheLine, Lock, Signal};

/// The largest memory of a taken body that a queue keeps for the producer's
/// next large message (see `Core::keep_body`): larger ones are freed, so
/// that a buffer that once carried a huge message does not hold its
/// memory until it is closed.
const KEEP_BODY_MAX: usize = 8 << 20;

#[repr(C, align(64))]
struct FeedEnd {
    lock: Lock<Tail>,
    /// Messages added: their records are complete once counted here. On a
    /// line of its own, as the consumer reads it while the producer works.
    published: CacheLine<Additions>,
}

#[repr(C, align(64))]
struct DrainEnd {
    lock: Lock<Head>,
    /// Messages and message bytes taken (bytes only for fixed plans).
    removed: AtomicU64,
    removed_bytes: AtomicU64,
}

/// The queue proper, allocated when a buffer is first used.
#[repr(C)]
pub(crate) struct Core {
    feed: FeedEnd,
    drain: DrainEnd,
    /// Threads in `nextmsg` of this buffer waiting for a message, and
    /// producers waiting for room in it.
    pub takers: Signal,
    pub room: Signal,
    /// Whether its takers' spins pay off lately.
    pub spin_history: SpinHistory,
    sizes: Sizes,
    /// A segment the consumer finished, kept for the producer's next one.
    spare: AtomicPtr<Segment>,
    /// The first segment, for a consumer that has none yet.
    entry: AtomicPtr<Segment>,
    /// Memory of a large body the consumer is done with, for the
    /// producer's next one (empty: none). Allocating and freeing it for
    /// every message cost more than the copy for 64 KiB bodies: the
    /// allocator gives the memory back to the system and faults it in
    /// again.
    spare_body: Lock<Vec<u8>>,
}

impl Core {
    fn new(sizes: Sizes) -> Core {
        Core {
            feed: FeedEnd { lock: Lock::new(Tail::new()), published: CacheLine(Additions::default()) },
            drain: DrainEnd { lock: Lock::new(Head::new()), removed: AtomicU64::new(0), removed_bytes: AtomicU64::new(0) },
            takers: Signal::new(),
            room: Signal::new(),
            spin_history: SpinHistory::new(),
            sizes,
            spare: AtomicPtr::new(ptr::null_mut()),
            entry: AtomicPtr::new(ptr::null_mut()),
            spare_body: Lock::new(Vec::new()),
        }
    }

    #[inline]
    pub fn sizes(&self) -> Sizes {
        self.sizes
    }

    /// The messages queued (a snapshot: other threads may change it).
    pub fn count(&self) -> usize {
        let removed = self.drain.removed.load(Ordering::Acquire);
        (self.feed.published.seen() - removed) as usize
    }

    /// The count of messages ever added: it changes with every addition.
    pub fn additions(&self) -> &Additions {
        &self.feed.published
    }

    #[inline]
    pub fn lock_feed(&self, nonblock: bool) -> Option<Feed<'_>> {
        Some(Feed { core: self, tail: self.feed.lock.lock_or_try(nonblock)? })
    }

    #[inline]
    pub fn lock_drain(&self, nonblock: bool) -> Option<Drain<'_>> {
        Some(Drain { core: self, head: self.drain.lock.lock_or_try(nonblock)? })
    }

    /// For a taker about to sleep, counted as a sleeper already: producers
    /// publish under the feeding lock and look for sleepers after letting
    /// go, so going through it makes every producer either publish before
    /// (the taker, looking afterwards, sees the message) or look after
    /// (and see the sleeper).
    pub fn synchronize_with_producers(&self) {
        self.feed.lock.synchronize();
    }

    /// The same for a producer waiting for room, counted as a sleeper:
    /// takers free room under the draining lock and look for sleepers
    /// after letting go. (Lock order: the caller may hold the feeding lock.)
    pub fn synchronize_with_takers(&self) {
        self.drain.lock.synchronize();
    }

    /// The memory of a body taken before, if it holds `len` bytes.
    fn take_spare_body(&self, len: usize) -> Option<Vec<u8>> {
        let mut spare = self.spare_body.lock();
        (spare.capacity() >= len).then(|| std::mem::take(&mut *spare))
    }

    /// Keeps the memory of a body a reader is done with for the producer's
    /// next large message, if it is larger than the one kept (and not
    /// huge); the memory not kept is freed after unlocking.
    pub fn keep_body(&self, body: Vec<u8>) {
        if body.capacity() < LINK_ABOVE || body.capacity() > KEEP_BODY_MAX {
            return;
        }
        let mut spare = self.spare_body.lock();
        let unused = if spare.capacity() < body.capacity() { std::mem::replace(&mut *spare, body) } else { body };
        drop(spare);
        drop(unused);
    }

    /// A segment of at least `len` bytes the consumer has finished with.
    fn take_spare(&self, len: usize) -> Option<*mut Segment> {
        let spare = self.spare.swap(ptr::null_mut(), Ordering::AcqRel);
        if spare.is_null() {
            return None;
        }
        valgrind::happens_after(&self.spare);
        // SAFETY: the swap made the spare this thread's alone.
        if unsafe { (*spare).len } >= len {
            return Some(spare);
        }
        // SAFETY: as above; too small to be of use.
        unsafe { Segment::free(spare) };
        None
    }

    /// Keeps a segment the consumer has read to its end for the producer,
    /// or frees it: when a spare is kept already, or when it is smaller
    /// than the one the consumer goes on in (segments only grow, except a
    /// fixed plan's at its limit, which is the case worth keeping one for).
    ///
    /// # Safety
    /// `segment` is live, the producer left it for good (it wrote `NEXT`
    /// in it) and the consumer has read it: nobody else uses it.
    unsafe fn recycle(&self, segment: *mut Segment, next_len: usize) {
        // SAFETY: the caller hands the segment over.
        let finished = unsafe { &mut *segment };
        if finished.len < next_len {
            // SAFETY: as above.
            unsafe { Segment::free(segment) };
            return;
        }
        finished.reset();
        valgrind::happens_before(&self.spare);
        if self.spare.compare_exchange(ptr::null_mut(), segment, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            // SAFETY: as above; a spare is kept already.
            unsafe { Segment::free(segment) };
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        let core: &Core = self;
        free(&mut core.lock_feed(false).expect("blocking lock"), &mut core.lock_drain(false).expect("blocking lock"));
    }
}

/// Drops every message and the memory for them.
pub(crate) fn free(feed: &mut Feed<'_>, drain: &mut Drain<'_>) {
    drain.clear();
    let core = feed.core;
    let (tail, head) = (&mut *feed.tail, &mut *drain.head);
    // Every message taken, the consumer is where the producer is.
    debug_assert!(head.segment == tail.segment || head.segment.is_null());
    for segment in [tail.segment, core.spare.swap(ptr::null_mut(), Ordering::AcqRel)] {
        if !segment.is_null() {
            // SAFETY: both ends are locked and no message is left: nobody
            // reads or writes these segments.
            unsafe { Segment::free(segment) };
        }
    }
    core.entry.store(ptr::null_mut(), Ordering::Relaxed);
    let spare_body = std::mem::take(&mut *core.spare_body.lock());
    drop(spare_body);
    tail.forget_segments();
    head.forget_segments();
}

/// The queue of one buffer. An empty buffer with the default sizes holds
/// nothing but a null pointer: the [`Core`] (with the locks, the sizes if
/// not the default ones) is allocated when the buffer is first used, and
/// memory for messages when the first one arrives.
pub(crate) struct MessageQueue {
    core: AtomicPtr<Core>,
}

impl MessageQueue {
    pub fn new(sizes: Sizes) -> MessageQueue {
        let queue = MessageQueue { core: AtomicPtr::new(ptr::null_mut()) };
        if sizes != Sizes::default() {
            queue.core.store(Box::into_raw(Box::new(Core::new(sizes))), Ordering::Release);
        }
        queue
    }

    /// The core, made now if this is the first use.
    #[inline]
    pub fn core(&self) -> &Core {
        match self.get() {
            Some(core) => core,
            None => self.make_core(),
        }
    }

    #[cold]
    fn make_core(&self) -> &Core {
        let made = Box::into_raw(Box::new(Core::new(Sizes::default())));
        valgrind::happens_before(&self.core);
        match self.core.compare_exchange(ptr::null_mut(), made, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: published above; it lives as long as the queue.
            Ok(_) => unsafe { &*made },
            Err(other) => {
                // SAFETY: `made` was never shared; `other` lives as long as
                // the queue.
                unsafe {
                    drop(Box::from_raw(made));
                    &*other
                }
            }
        }
    }

    /// The core, if the queue was used.
    #[inline]
    pub fn get(&self) -> Option<&Core> {
        // SAFETY: once set, the core lives as long as the queue.
        let core = unsafe { self.core.load(Ordering::Acquire).as_ref() };
        if core.is_some() {
            valgrind::happens_after(&self.core);
        }
        core
    }

    pub fn sizes(&self) -> Sizes {
        self.get().map_or_else(Sizes::default, Core::sizes)
    }
}

impl Drop for MessageQueue {
    fn drop(&mut self) {
        let core = self.core.load(Ordering::Acquire);
        if !core.is_null() {
            // SAFETY: made by `Box::into_raw`, and the queue is going.
            drop(unsafe { Box::from_raw(core) });
        }
    }
}
