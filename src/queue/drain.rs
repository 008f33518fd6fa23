//! The draining end of a queue: where takers, one at a time under its
//! lock, read published records and hand their memory back.

use std::ptr;

use super::record::{is_linked, read_varint, Link, LENGTH_OFFSET, LINK_BYTES, NEXT, WRAP};
use super::segment::Segment;
use super::Core;
use crate::error::Error;
use crate::primitive::atomic::{fence, Ordering};
use crate::sync::spin::CLOSE_BEHIND;
use crate::sync::{valgrind, LockGuard};
use crate::value::BodySize;

/// Where the draining end reads. Guarded by the draining lock.
pub(super) struct Head {
    /// The segment read from; null until the first message and after
    /// `free`.
    pub segment: *mut Segment,
    pub data: *const u8,
    /// Where the next record (or marker) is.
    pub at: usize,
    pub removed: u64,
    pub removed_bytes: u64,
    /// The producer's count of added messages, as last read.
    pub known_published: u64,
}

// SAFETY: the pointers are to segments owned by the queue, used only under
// the draining lock.
unsafe impl Send for Head {}

impl Head {
    pub fn new() -> Head {
        Head { segment: ptr::null_mut(), data: ptr::null(), at: 0, removed: 0, removed_bytes: 0, known_published: 0 }
    }

    /// Forgets the segments (freed by the caller), keeping the counts.
    pub fn forget_segments(&mut self) {
        *self = Head { removed: self.removed, removed_bytes: self.removed_bytes, known_published: self.known_published, ..Head::new() };
    }

    /// Goes on reading at the start of `segment`.
    ///
    /// # Safety
    /// `segment` is a live segment the producer made before publishing a
    /// message into it.
    unsafe fn enter(&mut self, segment: *mut Segment) {
        debug_assert!(!segment.is_null(), "a published message has its segment");
        // SAFETY: the caller vouches for the segment.
        let data = unsafe { (*segment).data.as_ptr() as *const u8 };
        *self = Head { segment, data, at: 0, ..*self };
    }
}

/// A message taken out of the queue: its body still in the queue's memory
/// (to be copied before the taker lets go of it), or memory of its own.
pub(crate) enum Taken<'a> {
    InPlace(&'a [u8]),
    Linked(Vec<u8>),
}

/// The draining end of a queue, locked.
pub(crate) struct Drain<'a> {
    pub(super) core: &'a Core,
    pub(super) head: LockGuard<'a, Head>,
}

impl Drain<'_> {
    /// Whether a message is there to take. Looks at the producer's count
    /// only when every message it knew of was taken.
    #[inline]
    fn available(&mut self) -> bool {
        let head = &mut *self.head;
        if head.removed == head.known_published {
            head.known_published = self.core.feed.published.seen();
            if head.removed == head.known_published {
                return false;
            }
            valgrind::happens_after(&self.core.feed.published);
        }
        true
    }

    /// When this end took every message it knew of: whether, looking
    /// again, it finds only a few more (the producer is just ahead, adding
    /// steadily: see `spin::HoldBack`). `None` while it still knows of
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

    /// The messages queued just after this end took one (see
    /// `Feed::queued_after_add`). Under the draining lock.
    pub fn queued_after_take(&mut self) -> u64 {
        fence(Ordering::SeqCst);
        self.core.feed.published.seen() - self.head.removed
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
            // SAFETY: a message is published, so its segment was made and
            // stored before.
            unsafe { head.enter(self.core.entry.load(Ordering::Acquire)) };
        }
        loop {
            // SAFETY: a message is published, so the bytes from `at` on are
            // written: a marker or its record; its segment lives while the
            // consumer reads it.
            match unsafe {
                (*head.segment).track_read(head.at..head.at + 1);
                *head.data.add(head.at)
            } {
                WRAP => {
                    head.at = 0;
                    // SAFETY: the consumer's segment lives while it reads it.
                    unsafe { (*head.segment).store_head(0) };
                }
                NEXT => {
                    let finished = head.segment;
                    // SAFETY: the producer made `next` before writing the
                    // marker, which this end read after the message after
                    // it was published; the finished segment is this end's
                    // alone now (the producer left it for good).
                    unsafe {
                        let next = (*finished).next.load(Ordering::Acquire);
                        head.enter(next);
                        self.core.recycle(finished, (*next).len);
                    }
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
        let linked = is_linked(size.bytes);
        let end = body_at + if linked { LINK_BYTES } else { size.bytes };
        // SAFETY: the consumer's segment lives while it reads it.
        unsafe { (*head.segment).track_read(head.at..end) };
        // SAFETY: the record is written and inside the segment.
        let body = unsafe { std::slice::from_raw_parts(head.data.add(body_at), end - body_at) };
        let taken = if linked {
            // SAFETY: `push` wrote the parts of a vector it gave up; this
            // record is read once, so the vector gets one owner.
            unsafe {
                let link = ptr::read_unaligned(body.as_ptr() as *const Link);
                Taken::Linked(Vec::from_raw_parts(link.address, link.length, link.capacity))
            }
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
            self.core.drain.removed_bytes.store(head.removed_bytes, Ordering::Release);
        }
        Some(Ok(result))
    }

    /// Drops every message; keeps the memory for the next ones. (Callers
    /// hold the feeding end too, so that no message arrives meanwhile.)
    pub fn clear(&mut self) {
        while self.pop(&mut (), |_, _| Ok(()), |_, _, _| ()).is_some() {}
    }
}
