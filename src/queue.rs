//! The queue of one buffer, between the threads that add messages (the
//! feeding end) and the threads that take them (the draining end).
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
//! The messages lie in segments of memory, each a ring of records written
//! back to back. A record is
//!
//! ```text
//! varint(body bytes + 2) varint(value count) body
//! ```
//!
//! or, for a body of at least [`LINK_ABOVE`] bytes, its address, length
//! and capacity instead of the body. Its first byte is never 0 or 1, which
//! mark the end of a run of records: [`WRAP`] (go on at the start of this
//! segment) and [`NEXT`] (go on in the next segment). A record always
//! leaves at least one byte before the end of the segment, and before the
//! consumer's position when the producer has wrapped around, so that a
//! marker always fits. When a record fits neither at the end nor at the
//! start, the producer goes on in a new segment (the one the consumer last
//! finished, if it is large enough, else a new one grown by the size plan)
//! and the consumer frees the old one after reading it to its end.

use std::alloc::{self, Layout};
use std::mem::ManuallyDrop;
use std::ptr::{self, NonNull};
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};

use crate::error::Error;
use crate::home::Additions;
use crate::sizes::{out_of_memory, Sizes};
use crate::bias::{BiasedGuard, BiasedLock};
use crate::sync::{valgrind, CacheLine, Lock, Signal};
use crate::value::{put_varint, varint_len, Body, BodySize};

/// Bodies of at least this many bytes are not copied into the queue under
/// its lock: they are encoded beforehand, outside the lock, into memory of
/// their own, which the queue only links to and the taking reader adopts
/// without a copy. Below it, one copy into the queue is cheaper than an
/// allocation.
pub(crate) const LINK_ABOVE: usize = 4096;

/// A message made ready to be queued (see [`LINK_ABOVE`]).
pub(crate) enum Ready<'a> {
    InPlace(&'a dyn Body),
    Linked(BodySize, Vec<u8>),
}

impl<'a> Ready<'a> {
    /// Encodes a large body into memory of its own (the memory of a body
    /// taken before, if `core` kept one large enough); call it before
    /// locking.
    #[inline]
    pub fn new(body: &'a dyn Body, core: &Core) -> Result<Ready<'a>, Error> {
        let size = body.size();
        if size.bytes < LINK_ABOVE {
            return Ok(Ready::InPlace(body));
        }
        let mut bytes = core.take_spare_body(size.bytes).unwrap_or_default();
        bytes.clear();
        bytes.try_reserve_exact(size.bytes).map_err(|_| out_of_memory(size.bytes))?;
        body.append_to(&mut bytes);
        Ok(Ready::Linked(size, bytes))
    }

    pub fn size(&self) -> BodySize {
        match self {
            Ready::InPlace(body) => body.size(),
            Ready::Linked(size, _) => *size,
        }
    }
}

/// A message taken out of the queue: its body still in the queue's memory
/// (to be copied before the taker lets go of it), or memory of its own.
pub(crate) enum Taken<'a> {
    InPlace(&'a [u8]),
    Linked(Vec<u8>),
}

/// The largest memory of a taken body that a queue keeps for the producer's
/// next large message (see `Core::keep_body`): larger ones are freed, so
/// that a buffer that once carried a huge message does not hold its
/// memory until it is closed.
const KEEP_BODY_MAX: usize = 8 << 20;

/// At most this many messages found after taking all the known ones make a
/// taker close behind its producer (see `Drain::close_behind`).
const CLOSE_BEHIND: u64 = 16;

/// Ends a run of records: the next record is at the start of the segment.
const WRAP: u8 = 0;
/// Ends a run of records: the next record is in the segment's `next`.
const NEXT: u8 = 1;
/// What the first varint of a record adds to the body length, so that its
/// first byte is never a marker.
const LENGTH_OFFSET: usize = 2;
/// What a linked body's record holds instead of the body: the parts of the
/// vector it was encoded into, written unaligned.
#[repr(C)]
struct Link {
    address: *mut u8,
    length: usize,
    capacity: usize,
}

const LINK_BYTES: usize = std::mem::size_of::<Link>();

/// The bytes a record of a message of `size` takes in a segment.
fn record_len(size: BodySize) -> usize {
    let header = varint_len(size.bytes + LENGTH_OFFSET) + varint_len(size.count);
    header + if size.bytes >= LINK_ABOVE { LINK_BYTES } else { size.bytes }
}

/// One ring of records. Its fields are on a cache line of their own, as
/// the consumer writes `head` while the producer works.
#[repr(align(64))]
struct Segment {
    /// Where the consumer reads in this segment (0 until it gets here): the
    /// producer wraps around to the start only up to there.
    head: AtomicUsize,
    /// Where the producer went on after it wrote [`NEXT`] here.
    next: AtomicPtr<Segment>,
    data: NonNull<u8>,
    len: usize,
}

impl Segment {
    fn new(len: usize) -> Result<*mut Segment, Error> {
        let layout = Layout::array::<u8>(len.max(1)).map_err(|_| out_of_memory(len))?;
        // SAFETY: the layout has a non-zero size.
        let data = NonNull::new(unsafe { alloc::alloc(layout) }).ok_or_else(|| out_of_memory(len))?;
        let segment = Segment { head: AtomicUsize::new(0), next: AtomicPtr::new(ptr::null_mut()), data, len: len.max(1) };
        Ok(Box::into_raw(Box::new(segment)))
    }

    /// The consumer's position, and with it everything it read before.
    fn load_head(&self) -> usize {
        let head = self.head.load(Ordering::Acquire);
        valgrind::happens_after(&self.head);
        head
    }

    fn store_head(&self, head: usize) {
        valgrind::happens_before(&self.head);
        self.head.store(head, Ordering::Release);
    }

    /// Frees a segment nobody reads or writes any more.
    ///
    /// # Safety
    /// `segment` came from [`Segment::new`] and is not used afterwards.
    unsafe fn free(segment: *mut Segment) {
        let segment = Box::from_raw(segment);
        alloc::dealloc(segment.data.as_ptr(), Layout::array::<u8>(segment.len).expect("allocated before"));
    }
}

/// Where the feeding end writes. Guarded by the feeding lock.
struct Tail {
    /// The segment written to; null before the first message and after
    /// `free`.
    segment: *mut Segment,
    data: *mut u8,
    len: usize,
    /// Where the next record goes.
    at: usize,
    /// Writing at the start of the segment, behind the consumer, who has
    /// not yet reached the [`WRAP`] that ends its run.
    wrapped: bool,
    /// The consumer's position as last read (while `wrapped`).
    known_head: usize,
    /// Messages ever added: what `published` shows, kept here too so that
    /// publishing is a store alone. (Adding one to `published` in place
    /// would first read it, and so wait for its cache line to come back
    /// from the consumer, who keeps reading it.)
    added: u64,
    /// Message bytes (by the size arithmetic) ever added, and ever taken as
    /// last read: what a fixed plan's `size2` limits is their difference.
    added_bytes: u64,
    known_removed_bytes: u64,
}

/// Where the draining end reads. Guarded by the draining lock.
struct Head {
    /// The segment read from; null until the first message and after
    /// `free`.
    segment: *mut Segment,
    data: *const u8,
    /// Where the next record (or marker) is.
    at: usize,
    removed: u64,
    removed_bytes: u64,
    /// The producer's count of added messages, as last read.
    known_published: u64,
}

// SAFETY: the pointers are to segments owned by the queue; each is used
// only under its end's lock.
unsafe impl Send for Tail {}
unsafe impl Send for Head {}

#[repr(C, align(64))]
struct FeedEnd {
    lock: BiasedLock<Tail>,
    /// Messages added: their records are complete once counted here. On a
    /// line of its own, as the consumer reads it while the producer works.
    published: CacheLine<Additions>,
}


#[repr(C, align(64))]
struct DrainEnd {
    lock: BiasedLock<Head>,
    /// Messages and message bytes taken (bytes only for fixed plans).
    removed: AtomicU64,
    removed_bytes: AtomicU64,
}

/// The queue proper, allocated when a buffer is first used.
#[repr(C)]
pub(crate) struct Core {
    feed: FeedEnd,
    drain: DrainEnd,
    /// Takers waiting for a message, producers waiting for room (in a
    /// standalone buffer; a listener's buffers use the listener's).
    pub takers: Signal,
    pub room: Signal,
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
            feed: FeedEnd {
                lock: BiasedLock::new(Tail {
                    segment: ptr::null_mut(),
                    data: ptr::null_mut(),
                    len: 0,
                    at: 0,
                    wrapped: false,
                    known_head: 0,
                    added: 0,
                    added_bytes: 0,
                    known_removed_bytes: 0,
                }),
                published: CacheLine(Additions::default()),
            },
            drain: DrainEnd {
                lock: BiasedLock::new(Head {
                    segment: ptr::null_mut(),
                    data: ptr::null(),
                    at: 0,
                    removed: 0,
                    removed_bytes: 0,
                    known_published: 0,
                }),
                removed: AtomicU64::new(0),
                removed_bytes: AtomicU64::new(0),
            },
            takers: Signal::new(),
            room: Signal::new(),
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
        (self.feed.published.0.seen() - removed) as usize
    }

    /// The count of messages ever added: it changes with every addition.
    pub fn additions(&self) -> &Additions {
        &self.feed.published.0
    }

    #[inline]
    pub fn lock_feed(&self, nonblock: bool) -> Option<Feed<'_>> {
        Some(Feed { core: self, tail: self.feed.lock.lock(nonblock)? })
    }

    #[inline]
    pub fn lock_drain(&self, nonblock: bool) -> Option<Drain<'_>> {
        Some(Drain { core: self, head: self.drain.lock.lock(nonblock)? })
    }

    /// For a taker about to sleep, counted as a sleeper already: producers
    /// publish and then look for sleepers without a barrier between the two
    /// (see `bias.rs`). Going through the feeding lock makes every producer
    /// either publish before (so the taker, looking afterwards, sees the
    /// message) or take the lock after (and see the sleeper).
    pub fn synchronize_with_producers(&self) {
        self.feed.lock.synchronize();
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
    fn recycle(&self, segment: *mut Segment, next_len: usize) {
        // SAFETY: the producer left this segment for good (it wrote NEXT)
        // and the consumer has read it: it is this thread's alone.
        if unsafe { (*segment).len } < next_len {
            unsafe { Segment::free(segment) };
            return;
        }
        // SAFETY: as above.
        unsafe {
            (*segment).head.store(0, Ordering::Relaxed);
            (*segment).next.store(ptr::null_mut(), Ordering::Relaxed);
        }
        valgrind::happens_before(&self.spare);
        if self.spare.compare_exchange(ptr::null_mut(), segment, Ordering::AcqRel, Ordering::Relaxed).is_err() {
            // SAFETY: as above.
            unsafe { Segment::free(segment) };
        }
    }
}

impl Drop for Core {
    fn drop(&mut self) {
        // Nobody else can hold the locks: no bias to revoke.
        self.feed.lock.forget_owner();
        self.drain.lock.forget_owner();
        let core: &Core = self;
        free(&mut core.lock_feed(false).unwrap(), &mut core.lock_drain(false).unwrap());
    }
}

/// The feeding end of a queue, locked.
pub(crate) struct Feed<'a> {
    core: &'a Core,
    tail: BiasedGuard<'a, Tail>,
}

impl Feed<'_> {
    /// Whether a message of `bytes` bytes fits without growing beyond what
    /// the plan allows (always true for growing plans).
    #[inline]
    pub fn has_room(&mut self, bytes: usize) -> bool {
        let sizes = self.core.sizes;
        if !sizes.is_fixed() {
            return true;
        }
        let tail = &mut *self.tail;
        let added = tail.added_bytes + bytes as u64;
        if added - tail.known_removed_bytes <= sizes.size2 as u64 {
            return true;
        }
        // Sequentially consistent: a producer about to wait for room counts
        // itself a sleeper and then looks here (see `Signal`).
        tail.known_removed_bytes = self.core.drain.removed_bytes.load(Ordering::SeqCst);
        added - tail.known_removed_bytes <= sizes.size2 as u64
    }

    /// Appends one message, for which [`Feed::has_room`] said yes; fails
    /// only when memory for it runs out.
    #[inline]
    pub fn push(&mut self, message: Ready<'_>) -> Result<(), Error> {
        let size = message.size();
        let len = record_len(size);
        let at = self.place(len)?;
        let tail = &mut *self.tail;
        // SAFETY: `place` made these bytes the producer's: nobody reads
        // them before the message is published below.
        let record = unsafe { std::slice::from_raw_parts_mut(tail.data.add(at), len) };
        let count_at = put_varint(record, 0, size.bytes + LENGTH_OFFSET);
        let body_at = put_varint(record, count_at, size.count);
        match message {
            Ready::InPlace(body) => body.write_in_place(&mut record[body_at..]),
            Ready::Linked(_, bytes) => {
                let mut bytes = ManuallyDrop::new(bytes);
                let link = Link { address: bytes.as_mut_ptr(), length: bytes.len(), capacity: bytes.capacity() };
                // SAFETY: the record has LINK_BYTES bytes after its header.
                unsafe { ptr::write_unaligned(record[body_at..].as_mut_ptr() as *mut Link, link) };
            }
        }
        tail.at = at + len;
        tail.added += 1;
        tail.added_bytes += size.message_bytes() as u64;
        valgrind::happens_before(&self.core.feed.published);
        self.core.feed.published.0.publish(tail.added);
        Ok(())
    }

    /// Where a record of `len` bytes goes: after the last one, at the start
    /// of the segment (behind the consumer), or in a new segment.
    #[inline]
    fn place(&mut self, len: usize) -> Result<usize, Error> {
        let tail = &mut *self.tail;
        if !tail.segment.is_null() {
            // SAFETY: the producer's segment lives until the producer left
            // it and the consumer read it to its end.
            let segment = unsafe { &*tail.segment };
            if tail.wrapped && tail.at + len >= tail.known_head {
                tail.known_head = segment.load_head();
                // The consumer went round too: it is now behind the producer.
                tail.wrapped = tail.known_head > tail.at;
            }
            if tail.wrapped {
                if tail.at + len < tail.known_head {
                    return Ok(tail.at);
                }
            } else {
                if tail.at + len < tail.len {
                    return Ok(tail.at);
                }
                let head = segment.load_head();
                if len < head {
                    // SAFETY: `at` is inside the segment and the consumer
                    // reads it only after the next message is published.
                    unsafe { *tail.data.add(tail.at) = WRAP };
                    tail.wrapped = true;
                    tail.known_head = head;
                    tail.at = 0;
                    return Ok(0);
                }
            }
        }
        self.start_segment(len + 1)?;
        Ok(0)
    }

    /// Goes on in a segment of at least `needed` bytes.
    fn start_segment(&mut self, needed: usize) -> Result<(), Error> {
        let tail = &mut *self.tail;
        let sizes = self.core.sizes;
        let wanted = sizes.grown(tail.len, needed);
        let segment = match self.core.take_spare(wanted) {
            Some(segment) => segment,
            // The grow factor is a hint: when the grown size cannot be had
            // (a huge factor), what the message needs may still be.
            None => Segment::new(wanted).or_else(|_| Segment::new(needed))?,
        };
        if tail.segment.is_null() {
            self.core.entry.store(segment, Ordering::Release);
        } else {
            // SAFETY: as in `place`; the consumer follows `next` only after
            // reading the marker, after the next message is published.
            unsafe {
                (*tail.segment).next.store(segment, Ordering::Release);
                *tail.data.add(tail.at) = NEXT;
            }
        }
        // SAFETY: the segment is the producer's now.
        let (data, len) = unsafe { ((*segment).data.as_ptr(), (*segment).len) };
        *tail = Tail { segment, data, len, at: 0, wrapped: false, known_head: 0, ..*tail };
        Ok(())
    }
}

/// The draining end of a queue, locked.
pub(crate) struct Drain<'a> {
    core: &'a Core,
    head: BiasedGuard<'a, Head>,
}

impl Drain<'_> {
    /// Whether a message is there to take. Looks at the producer's count
    /// only when every message it knew of was taken.
    #[inline]
    fn available(&mut self) -> bool {
        let head = &mut *self.head;
        if head.removed == head.known_published {
            head.known_published = self.core.feed.published.0.seen();
            if head.removed == head.known_published {
                return false;
            }
            valgrind::happens_after(&self.core.feed.published);
        }
        true
    }

    /// When this end took every message it knew of: whether, looking
    /// again, it finds only a few more (the producer is just ahead, adding
    /// steadily: see `home::hold_back`). `None` while it still knows of
    /// messages to take.
    #[inline]
    pub fn close_behind(&mut self) -> Option<bool> {
        let taken = self.head.removed;
        if taken != self.head.known_published {
            return None;
        }
        Some(self.available() && self.head.known_published - taken <= CLOSE_BEHIND)
    }

    /// See [`Core::keep_body`].
    pub fn keep_body(&self, body: Vec<u8>) {
        self.core.keep_body(body);
    }

    pub fn is_empty(&mut self) -> bool {
        !self.available()
    }

    /// The count of added messages this end last saw: what a taker that
    /// found the queue empty watches for a change.
    pub fn seen_additions(&self) -> u64 {
        self.head.known_published
    }

    /// The oldest message's size and where its body starts, after the
    /// markers before it.
    #[inline]
    fn front(&mut self) -> Option<(BodySize, usize)> {
        if !self.available() {
            return None;
        }
        let head = &mut *self.head;
        if head.segment.is_null() {
            enter(head, self.core.entry.load(Ordering::Acquire));
        }
        loop {
            // SAFETY: a message is published, so the bytes from `at` on are
            // written: a marker or its record.
            match unsafe { *head.data.add(head.at) } {
                WRAP => {
                    head.at = 0;
                    // SAFETY: the consumer's segment lives while it reads it.
                    unsafe { (*head.segment).store_head(0) };
                }
                NEXT => {
                    let finished = head.segment;
                    // SAFETY: as above; the producer made `next` before
                    // writing the marker.
                    let next = unsafe { (*finished).next.load(Ordering::Acquire) };
                    enter(head, next);
                    self.core.recycle(finished, unsafe { (*next).len });
                }
                _ => break,
            }
        }
        let mut at = head.at;
        // SAFETY: a published record starts at `at`: its header is written
        // and inside the segment.
        let (bytes, count) = unsafe { (read_varint(head.data, &mut at) - LENGTH_OFFSET, read_varint(head.data, &mut at)) };
        Some((BodySize { bytes, count }, at))
    }

    /// Removes the oldest message, if `check` accepts its size, handing its
    /// body and value count to `take` before the memory it was in goes back
    /// to the producer; both work on `taker`. `None` when the queue is
    /// empty; a refusal leaves the message queued.
    #[inline]
    pub fn pop<T, R>(
        &mut self,
        taker: &mut T,
        check: impl FnOnce(&mut T, BodySize) -> Result<(), Error>,
        take: impl FnOnce(&mut T, Taken<'_>, usize) -> R,
    ) -> Option<Result<R, Error>> {
        let (size, body_at) = self.front()?;
        if let Err(refused) = check(taker, size) {
            return Some(Err(refused));
        }
        let head = &mut *self.head;
        let linked = size.bytes >= LINK_ABOVE;
        let end = body_at + if linked { LINK_BYTES } else { size.bytes };
        // SAFETY: the record is written and inside the segment.
        let body = unsafe { std::slice::from_raw_parts(head.data.add(body_at), end - body_at) };
        let taken = if linked {
            // SAFETY: `push` wrote the parts of a vector it gave up; this
            // record is read once.
            let link = unsafe { ptr::read_unaligned(body.as_ptr() as *const Link) };
            Taken::Linked(unsafe { Vec::from_raw_parts(link.address, link.length, link.capacity) })
        } else {
            Taken::InPlace(body)
        };
        let result = take(taker, taken, size.count);
        head.at = end;
        head.removed += 1;
        head.removed_bytes += size.message_bytes() as u64;
        // SAFETY: the consumer's segment lives while it reads it.
        unsafe { (*head.segment).store_head(end) };
        self.core.drain.removed.store(head.removed, Ordering::Release);
        if self.core.sizes.is_fixed() {
            // Sequentially consistent: see `Feed::has_room`.
            self.core.drain.removed_bytes.store(head.removed_bytes, Ordering::SeqCst);
        }
        Some(Ok(result))
    }
}

/// Reads a varint of a record header at `data + *at`, byte by byte: the
/// bytes after the header may be being written by the producer, so no
/// slice may cover them.
///
/// # Safety
/// A complete varint written by [`put_varint`] is at `data + *at`.
unsafe fn read_varint(data: *const u8, at: &mut usize) -> usize {
    let mut value = 0usize;
    let mut shift = 0;
    loop {
        let byte = *data.add(*at);
        *at += 1;
        value |= ((byte & 0x7f) as usize) << shift;
        if byte < 0x80 {
            return value;
        }
        shift += 7;
    }
}

fn enter(head: &mut Head, segment: *mut Segment) {
    debug_assert!(!segment.is_null(), "a published message has its segment");
    // SAFETY: the producer made the segment before publishing into it.
    let data = unsafe { (*segment).data.as_ptr() as *const u8 };
    *head = Head { segment, data, at: 0, ..*head };
}

impl Drain<'_> {
    /// Drops every message; keeps the memory for the next ones. (Callers
    /// hold the feeding end too, so that no message arrives meanwhile.)
    pub fn clear(&mut self) {
        while self.pop(&mut (), |_, _| Ok(()), |_, _, _| ()).is_some() {}
    }
}

/// Drops every message and the memory for them.
pub(crate) fn free(feed: &mut Feed<'_>, drain: &mut Drain<'_>) {
    drain.clear();
    let core = feed.core;
    let tail = &mut *feed.tail;
    let head = &mut *drain.head;
    // Every message taken, the consumer is where the producer is.
    debug_assert!(head.segment == tail.segment || head.segment.is_null());
    for segment in [tail.segment, core.spare.swap(ptr::null_mut(), Ordering::AcqRel)] {
        if !segment.is_null() {
            // SAFETY: both ends are locked and no message is left.
            unsafe { Segment::free(segment) };
        }
    }
    core.entry.store(ptr::null_mut(), Ordering::Relaxed);
    let spare_body = std::mem::take(&mut *core.spare_body.lock());
    drop(spare_body);
    *tail = Tail { segment: ptr::null_mut(), data: ptr::null_mut(), len: 0, at: 0, wrapped: false, known_head: 0, ..*tail };
    *head = Head { segment: ptr::null_mut(), data: ptr::null(), at: 0, ..*head };
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
        let core = *self.core.get_mut();
        if !core.is_null() {
            // SAFETY: made by `Box::into_raw`, and the queue is going.
            drop(unsafe { Box::from_raw(core) });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{decode_value, Body, Value, Values};

    fn push(core: &Core, values: &[Value<'_>]) -> bool {
        let body = Values::new(values).unwrap();
        let mut feed = core.lock_feed(false).unwrap();
        let room = feed.has_room(body.size().message_bytes());
        if room {
            feed.push(Ready::new(&body, core).unwrap()).unwrap();
        }
        room
    }

    /// Takes the oldest message: its body bytes and value count.
    fn pop_body(core: &Core) -> Option<(Vec<u8>, usize)> {
        let popped = core.lock_drain(false).unwrap().pop(
            &mut (),
            |_, _| Ok(()),
            |_, taken, count| {
                let body = match taken {
                    Taken::InPlace(b) => b.to_vec(),
                    Taken::Linked(b) => b,
                };
                (body, count)
            },
        );
        popped.map(Result::unwrap)
    }

    fn first_integer(body: &[u8]) -> Option<i64> {
        match decode_value(body, &mut 0) {
            Some(Value::Integer(i)) => Some(i),
            _ => None,
        }
    }

    fn free_all(core: &Core) {
        free(&mut core.lock_feed(false).unwrap(), &mut core.lock_drain(false).unwrap());
    }

    /// The segments in use: the producer's and the spare.
    fn segment_lens(core: &Core) -> (usize, usize) {
        let tail = core.lock_feed(false).unwrap().tail.len;
        let spare = core.spare.load(Ordering::Acquire);
        (tail, if spare.is_null() { 0 } else { unsafe { (*spare).len } })
    }

    #[test]
    fn no_memory_until_the_first_message() {
        let queue = MessageQueue::new(Sizes::default());
        assert!(queue.get().is_none(), "no core for an unused buffer");
        let core = queue.core();
        assert_eq!(segment_lens(core), (0, 0));
        assert!(push(core, &[Value::Integer(1)]));
        assert_eq!(segment_lens(core), (1024, 0));
    }

    #[test]
    fn a_taker_is_close_behind_only_when_it_took_all_it_knew_of_and_finds_a_few_more() {
        let queue = MessageQueue::new(Sizes::default());
        let core = queue.core();
        let close_behind = || core.lock_drain(false).unwrap().close_behind();
        assert_eq!(close_behind(), Some(false), "nothing to take");
        for i in 0..CLOSE_BEHIND as i64 {
            assert!(push(core, &[Value::Integer(i)]));
        }
        assert_eq!(close_behind(), Some(true), "a few new ones");
        pop_body(core);
        assert_eq!(close_behind(), None, "known ones left to take");
        while pop_body(core).is_some() {}
        for i in 0..=CLOSE_BEHIND as i64 {
            assert!(push(core, &[Value::Integer(i)]));
        }
        assert_eq!(close_behind(), Some(false), "a batch ahead");
    }

    #[test]
    fn a_large_body_goes_into_the_memory_of_one_taken_before() {
        let queue = MessageQueue::new(Sizes::default());
        let core = queue.core();
        let text = vec![b'x'; 2 * LINK_ABOVE];
        let values = [Value::String(&text)];
        let body = Values::new(&values).unwrap();
        let kept = Vec::with_capacity(4 * LINK_ABOVE);
        let kept_at = kept.as_ptr();
        core.keep_body(Vec::with_capacity(LINK_ABOVE - 1)); // too small to keep
        core.keep_body(kept);
        core.keep_body(Vec::with_capacity(LINK_ABOVE)); // smaller than the kept one
        let linked_at = |ready: &Ready<'_>| match ready {
            Ready::Linked(_, bytes) => bytes.as_ptr(),
            Ready::InPlace(_) => panic!("a large body is linked"),
        };
        let first = Ready::new(&body, core).unwrap();
        assert_eq!(linked_at(&first), kept_at, "the kept memory");
        let second = Ready::new(&body, core).unwrap();
        assert_ne!(linked_at(&second), kept_at, "kept once only");
        core.keep_body(Vec::with_capacity(KEEP_BODY_MAX + 1));
        assert_eq!(core.spare_body.lock().capacity(), 0, "huge memory is not kept");
    }

    #[test]
    fn fixed_queue_refuses_when_full_and_accepts_after_pop() {
        let queue = MessageQueue::new(Sizes::new(16, 24, 0.0).unwrap());
        let core = queue.core();
        let msg = [Value::Integer(1)]; // 2 + 9 = 11 bytes
        assert!(push(core, &msg));
        assert!(push(core, &msg));
        assert!(!push(core, &msg));
        assert_eq!(core.count(), 2);
        pop_body(core);
        assert!(push(core, &msg));
        assert_eq!(core.count(), 2);
    }

    #[test]
    fn growing_queue_keeps_order_across_wraps_and_segments() {
        let queue = MessageQueue::new(Sizes::new(8, 16, 2.0).unwrap());
        let core = queue.core();
        for i in 0..1000 {
            assert!(push(core, &[Value::Integer(i)]));
            if i % 3 == 0 {
                pop_body(core);
            }
        }
        let mut seen = Vec::new();
        while let Some((body, count)) = pop_body(core) {
            assert_eq!(count, 1);
            seen.extend(first_integer(&body));
        }
        assert!(seen.windows(2).all(|w| w[0] + 1 == w[1]), "order kept: {seen:?}");
        assert_eq!(*seen.last().unwrap(), 999);
        assert_eq!(seen.len(), 1000 - 334);
        assert_eq!(core.count(), 0);
    }

    #[test]
    fn a_drained_and_refilled_ring_wraps_around_in_place() {
        let msg = |i| [Value::Integer(i)]; // a record of 11 bytes
        let queue = MessageQueue::new(Sizes::new(11, 33, 0.0).unwrap());
        let core = queue.core();
        for i in 0..3 {
            assert!(push(core, &msg(i)));
        }
        assert!(!push(core, &msg(99)), "33 bytes of messages are the limit");
        let lens = segment_lens(core);
        for i in 3..200 {
            let (body, _) = pop_body(core).unwrap();
            assert_eq!(first_integer(&body), Some(i - 3));
            assert!(push(core, &msg(i)), "room after a take at {i}");
        }
        assert_eq!(segment_lens(core), lens, "no new segment for a queue that keeps its size");
        assert_eq!(core.count(), 3);
    }

    #[test]
    fn a_producer_ahead_of_a_slow_consumer_goes_on_in_grown_segments() {
        let queue = MessageQueue::new(Sizes::new(8, 64, 2.0).unwrap());
        let core = queue.core();
        for i in 0..100 {
            assert!(push(core, &[Value::Integer(i)]));
        }
        assert!(segment_lens(core).0 >= 1024, "grown by doubling: {:?}", segment_lens(core));
        for i in 0..100 {
            assert_eq!(first_integer(&pop_body(core).unwrap().0), Some(i));
        }
        assert_eq!(segment_lens(core).1, 0, "finished segments, all smaller, are freed");
    }

    #[test]
    fn growing_by_what_is_needed_adds_the_queue_size_not_one_message() {
        let queue = MessageQueue::new(Sizes::new(8, 64, 1.0).unwrap());
        let core = queue.core();
        let mut lens = Vec::new();
        for i in 0..40 {
            assert!(push(core, &[Value::Integer(i)]));
            let len = segment_lens(core).0;
            if lens.last() != Some(&len) {
                lens.push(len);
            }
        }
        // Each new segment holds the old one's messages plus this one: the
        // segments grow, and far fewer than one per message are made.
        assert!(lens.windows(2).all(|w| w[1] > w[0]), "each new segment is larger: {lens:?}");
        assert!(lens.len() <= 10, "a few segments for 40 messages: {lens:?}");
    }

    #[test]
    fn large_bodies_are_linked_counted_in_full_and_kept_in_order() {
        let big = vec![b'x'; LINK_ABOVE];
        let bytes = Values::new(&[Value::String(&big)]).unwrap().size().message_bytes();
        let queue = MessageQueue::new(Sizes::new(bytes, 2 * bytes + 11, 0.0).unwrap());
        let core = queue.core();
        assert!(push(core, &[Value::Integer(1)]));
        assert!(push(core, &[Value::String(&big)]));
        assert!(push(core, &[Value::String(&big)]));
        assert!(!push(core, &[Value::Integer(2)]), "the linked bodies count against size2");
        assert!(segment_lens(core).0 < bytes, "the ring holds only their records");
        assert_eq!(first_integer(&pop_body(core).unwrap().0), Some(1));
        for _ in 0..2 {
            let (body, count) = pop_body(core).unwrap();
            assert_eq!((count, decode_value(&body, &mut 0)), (1, Some(Value::String(&big))));
        }
        assert!(pop_body(core).is_none());
        assert!(push(core, &[Value::String(&big)]));
        core.lock_drain(false).unwrap().clear();
        assert_eq!(core.count(), 0);
        assert!(push(core, &[Value::Integer(3)]));
        assert_eq!(first_integer(&pop_body(core).unwrap().0), Some(3));
    }

    #[test]
    fn free_drops_messages_and_memory_and_the_queue_works_again() {
        let big = vec![b'y'; LINK_ABOVE * 2];
        let queue = MessageQueue::new(Sizes::default());
        let core = queue.core();
        for i in 0..500 {
            assert!(push(core, &[Value::Integer(i), Value::String(&big[..(i as usize % 3) * LINK_ABOVE])]));
        }
        free_all(core);
        assert_eq!((core.count(), segment_lens(core)), (0, (0, 0)));
        assert!(push(core, &[Value::Integer(7)]));
        assert_eq!(first_integer(&pop_body(core).unwrap().0), Some(7));
    }

    #[test]
    fn a_consumer_on_another_thread_gets_every_message_in_order() {
        let queue = std::sync::Arc::new(MessageQueue::new(Sizes::new(8, 64, 1.0).unwrap()));
        // Fewer under Miri, which checks every access (cargo miri test).
        const N: i64 = if cfg!(miri) { 300 } else { 200_000 };
        let consumer = {
            let queue = queue.clone();
            std::thread::spawn(move || {
                let core = queue.core();
                let mut next = 0;
                while next < N {
                    if let Some((body, _)) = pop_body(core) {
                        assert_eq!(first_integer(&body), Some(next));
                        next += 1;
                    } else {
                        std::hint::spin_loop();
                    }
                }
            })
        };
        let core = queue.core();
        let text = [b'z'; 40];
        for i in 0..N {
            assert!(push(core, &[Value::Integer(i), Value::String(&text[..(i % 41) as usize])]));
        }
        consumer.join().unwrap();
        assert_eq!(core.count(), 0);
    }
}
