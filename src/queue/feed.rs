//! The feeding end of a queue: where producers, one at a time under its
//! lock, write records and publish them.

use std::mem::ManuallyDrop;
use std::ptr;

use super::record::{is_linked, record_len, Link, LENGTH_OFFSET, LINK_BYTES, NEXT, WRAP};
use super::segment::Segment;
use super::Core;
use crate::error::Error;
use crate::primitive::atomic::{fence, Ordering};
use crate::sizes::out_of_memory;
use crate::sync::{valgrind, LockGuard};
use crate::value::{put_varint, Body, BodySize};

/// Where the feeding end writes. Guarded by the feeding lock.
pub(super) struct Tail {
    /// The segment written to; null before the first message and after
    /// `free`.
    pub segment: *mut Segment,
    pub data: *mut u8,
    pub len: usize,
    /// Where the next record goes.
    pub at: usize,
    /// Writing at the start of the segment, behind the consumer, who has
    /// not yet reached the `WRAP` that ends its run.
    pub wrapped: bool,
    /// The consumer's position as last read (while `wrapped`).
    pub known_head: usize,
    /// Messages ever added: what `published` shows, kept here too so that
    /// publishing is a store alone.
    pub added: u64,
    /// Message bytes (by the size arithmetic) ever added, and ever taken as
    /// last read: what a fixed plan's `size2` limits is their difference.
    pub added_bytes: u64,
    pub known_removed_bytes: u64,
}

// SAFETY: the pointers are to segments owned by the queue, used only under
// the feeding lock.
unsafe impl Send for Tail {}

impl Tail {
    pub fn new() -> Tail {
        Tail {
            segment: ptr::null_mut(),
            data: ptr::null_mut(),
            len: 0,
            at: 0,
            wrapped: false,
            known_head: 0,
            added: 0,
            added_bytes: 0,
            known_removed_bytes: 0,
        }
    }

    /// Forgets the segments (freed by the caller), keeping the counts.
    pub fn forget_segments(&mut self) {
        *self = Tail { added: self.added, added_bytes: self.added_bytes, known_removed_bytes: self.known_removed_bytes, ..Tail::new() };
    }
}

/// A message made ready to be queued (see `LINK_ABOVE`).
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
        if !is_linked(size.bytes) {
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

/// The feeding end of a queue, locked.
pub(crate) struct Feed<'a> {
    pub(super) core: &'a Core,
    pub(super) tail: LockGuard<'a, Tail>,
}

impl Feed<'_> {
    /// Whether a message of `bytes` bytes fits without growing beyond what
    /// the plan allows (always true for growing plans). Reads the bytes
    /// the consumer took only when the last count it read says no: a
    /// producer waiting for room re-reads it after going through the
    /// draining lock (`Core::synchronize_with_takers`).
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
        tail.known_removed_bytes = self.core.drain.removed_bytes.load(Ordering::Acquire);
        added - tail.known_removed_bytes <= sizes.size2 as u64
    }

    /// Appends one message, for which [`Feed::has_room`] said yes; fails
    /// only when memory for it runs out, and then changes nothing.
    #[inline]
    pub fn push(&mut self, message: Ready<'_>) -> Result<(), Error> {
        let size = message.size();
        let len = record_len(size);
        let at = self.place(len)?;
        let tail = &mut *self.tail;
        // SAFETY: the producer's segment lives while it writes to it.
        unsafe { (*tail.segment).track_write(at..at + len) };
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
                debug_assert!(record.len() - body_at == LINK_BYTES);
                // SAFETY: the record has LINK_BYTES bytes after its header.
                unsafe { ptr::write_unaligned(record[body_at..].as_mut_ptr() as *mut Link, link) };
            }
        }
        tail.at = at + len;
        tail.added += 1;
        tail.added_bytes += size.message_bytes() as u64;
        valgrind::happens_before(&self.core.feed.published);
        self.core.feed.published.publish(tail.added);
        Ok(())
    }

    /// The messages queued just after this end added one, for a buffer
    /// whose descriptor an event loop watches: a full fence, then the
    /// taken count. Paired with [`Drain::queued_after_take`]'s fence: of a
    /// producer and a taker at once, at least one sees the other's change,
    /// so the one that sees the queue go from empty (or to empty) updates
    /// the descriptor. Under the feeding lock, so producers see each
    /// other's additions.
    ///
    /// [`Drain::queued_after_take`]: super::Drain::queued_after_take
    pub fn queued_after_add(&mut self) -> u64 {
        fence(Ordering::SeqCst);
        self.tail.added - self.core.drain.removed.load(Ordering::Acquire)
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
                    segment.track_write(tail.at..tail.at + 1);
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
                (*tail.segment).track_write(tail.at..tail.at + 1);
                *tail.data.add(tail.at) = NEXT;
            }
        }
        // SAFETY: the segment is the producer's now.
        let (data, len) = unsafe { ((*segment).data.as_ptr(), (*segment).len) };
        *tail = Tail { segment, data, len, at: 0, wrapped: false, known_head: 0, ..*tail };
        Ok(())
    }
}
