//! The bytes of the messages queued in one buffer, with the size rules of
//! `newbuffer([name,][size1[,size2[,grow]]])`.

use crate::error::{Error, ErrorKind};
use std::collections::VecDeque;

use crate::value::{get_varint, header_len, write_header, Body, BodySize};

/// The memory plan of a buffer (or of a writer/reader, which use `size1`
/// and `grow` only).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sizes {
    /// Largest message of a fixed buffer; initial size for one message.
    pub size1: usize,
    /// Memory for all queued messages: the initial (or, when fixed, the
    /// whole) size. Never below `size1`.
    pub size2: usize,
    /// Growth factor: 0 fixed, <= 1 grow by what is needed, else multiply.
    pub grow: f64,
}

/// Sizes above this are checked for being allocatable at all when the
/// object is made, so that `newbuffer(2^62)` fails at once with
/// `out_of_memory` instead of at the first message.
const PROBE_ABOVE: usize = 64 << 20;

impl Sizes {
    pub(crate) const DEFAULT_SIZE1: usize = 128;
    pub(crate) const DEFAULT_SIZE2: usize = 1024;
    pub(crate) const DEFAULT_GROW: f64 = 2.0;

    /// Checks and normalizes a size plan: `grow` may not be NaN, `size2` is
    /// raised to `size1`, and each size must be one the system could give.
    pub fn new(size1: usize, size2: usize, grow: f64) -> Result<Sizes, Error> {
        if grow.is_nan() {
            return Err(Error::new(ErrorKind::InvalidArgument, "grow factor is NaN"));
        }
        let sizes = Sizes { size1, size2: size2.max(size1), grow };
        probe_allocation(sizes.size2)?;
        Ok(sizes)
    }

    pub fn is_fixed(&self) -> bool {
        self.grow == 0.0
    }

    /// The capacity to grow to when `needed` bytes must fit and `current`
    /// are there. A fixed plan's memory grows too, doubling, up to `size2`:
    /// large bodies live outside it (see `LINK_ABOVE`), so it often needs
    /// far less than `size2`.
    fn grown(&self, current: usize, needed: usize) -> usize {
        if self.is_fixed() {
            return current.saturating_mul(2).max(Self::DEFAULT_SIZE2).min(self.size2).max(needed);
        }
        if current == 0 {
            return needed.max(self.size2);
        }
        if self.grow > 1.0 {
            let multiplied = (current as f64 * self.grow).min(isize::MAX as f64) as usize;
            multiplied.max(needed)
        } else {
            needed
        }
    }

    /// Fails with `message_size` when a fixed plan cannot hold a message of
    /// `bytes` bytes.
    pub(crate) fn check_message(&self, bytes: usize, what: &dyn Fn() -> String) -> Result<(), Error> {
        if self.is_fixed() && bytes > self.size1 {
            return Err(Error::new(
                ErrorKind::MessageSize,
                format!("{}: a message of {} bytes exceeds the fixed size of {} bytes", what(), bytes, self.size1),
            ));
        }
        Ok(())
    }
}

impl Default for Sizes {
    fn default() -> Sizes {
        Sizes { size1: Self::DEFAULT_SIZE1, size2: Self::DEFAULT_SIZE2, grow: Self::DEFAULT_GROW }
    }
}

fn probe_allocation(size: usize) -> Result<(), Error> {
    if size > PROBE_ABOVE {
        let mut probe: Vec<u8> = Vec::new();
        probe.try_reserve_exact(size).map_err(|_| out_of_memory(size))?;
    }
    Ok(())
}

pub(crate) fn out_of_memory(size: usize) -> Error {
    Error::new(ErrorKind::OutOfMemory, format!("cannot allocate {size} bytes"))
}

/// Grows `data` (whose length is its usable size) to `capacity` bytes.
pub(crate) fn grow_to(data: &mut Vec<u8>, capacity: usize) -> Result<(), Error> {
    data.try_reserve_exact(capacity.saturating_sub(data.len())).map_err(|_| out_of_memory(capacity))?;
    data.resize(capacity, 0);
    Ok(())
}

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
    /// Encodes a large body into memory of its own; call it before locking.
    pub fn new(body: &'a dyn Body) -> Result<Ready<'a>, Error> {
        let size = body.size();
        if size.bytes < LINK_ABOVE {
            return Ok(Ready::InPlace(body));
        }
        let mut bytes = Vec::new();
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
/// (to be copied before the queue changes), or memory of its own.
pub(crate) enum Taken<'a> {
    InPlace(&'a [u8]),
    Linked(Vec<u8>),
}

/// Messages queued back to back in a ring of bytes. Each message is
/// contiguous: one that does not fit before the end of the memory starts
/// again at its beginning, so a full fixed-size buffer that keeps being
/// drained and refilled never moves its messages around.
///
/// Unwrapped, the messages are `data[head..tail]`; wrapped (`wrap_at` is
/// set), they are `data[head..wrap_at]` followed by `data[..tail]`. A
/// linked message has only its header in the ring; its body is the next
/// one in `links`.
struct Ring {
    sizes: Sizes,
    data: Vec<u8>,
    head: usize,
    tail: usize,
    wrap_at: Option<usize>,
    /// Bytes of the ring in use.
    ring_used: usize,
    /// Bytes the queued messages occupy by the size arithmetic, linked
    /// bodies included: what a fixed plan's `size2` limits.
    used: usize,
    count: usize,
    links: VecDeque<Vec<u8>>,
}

impl Ring {
    fn new(sizes: Sizes) -> Ring {
        Ring {
            sizes,
            data: Vec::new(),
            head: 0,
            tail: 0,
            wrap_at: None,
            ring_used: 0,
            used: 0,
            count: 0,
            links: VecDeque::new(),
        }
    }

    fn has_room(&self, bytes: usize) -> bool {
        !self.sizes.is_fixed() || self.used + bytes <= self.sizes.size2
    }

    fn push(&mut self, message: Ready<'_>) -> Result<bool, Error> {
        let size = message.size();
        if !self.has_room(size.message_bytes()) {
            return Ok(false);
        }
        let header = header_len(size);
        let in_ring = match message {
            Ready::InPlace(_) => header + size.bytes,
            Ready::Linked(..) => header,
        };
        let at = self.make_room(in_ring)?;
        let slot = &mut self.data[at..at + in_ring];
        let body_at = write_header(slot, size);
        match message {
            Ready::InPlace(body) => body.write_in_place(&mut slot[body_at..]),
            Ready::Linked(_, bytes) => {
                self.links.try_reserve(1).map_err(|_| out_of_memory(size.bytes))?;
                self.links.push_back(bytes);
            }
        }
        self.tail = at + in_ring;
        self.ring_used += in_ring;
        self.used += size.message_bytes();
        self.count += 1;
        Ok(true)
    }

    /// Where `bytes` bytes of ring go, after wrapping around, linearizing
    /// or growing as needed.
    fn make_room(&mut self, bytes: usize) -> Result<usize, Error> {
        if let Some(at) = self.free_slot(bytes) {
            return Ok(at);
        }
        let needed = self.ring_used.checked_add(bytes).ok_or_else(|| out_of_memory(usize::MAX))?;
        self.linearize();
        if needed > self.data.len() {
            let capacity = self.sizes.grown(self.data.len(), needed);
            // The grow factor is a hint: when the multiplied size cannot be
            // had (a huge factor), what the message needs may still be.
            grow_to(&mut self.data, capacity.max(needed)).or_else(|_| grow_to(&mut self.data, needed))?;
        }
        Ok(self.tail)
    }

    /// A contiguous free place for `bytes` bytes without moving anything.
    fn free_slot(&mut self, bytes: usize) -> Option<usize> {
        match self.wrap_at {
            Some(_) => (self.head - self.tail >= bytes).then_some(self.tail),
            None if self.data.len() - self.tail >= bytes => Some(self.tail),
            None if self.head >= bytes && self.count > 0 => {
                self.wrap_at = Some(self.tail);
                Some(0)
            }
            None => None,
        }
    }

    /// Moves the messages to the start of the memory, in order, so that all
    /// free space is after them (rare: only when free space is split).
    fn linearize(&mut self) {
        match self.wrap_at.take() {
            Some(wrap_at) => self.data[..wrap_at].rotate_left(self.head),
            None => self.data.copy_within(self.head..self.tail, 0),
        }
        self.head = 0;
        self.tail = self.ring_used;
    }

    /// The oldest message's size, if any.
    fn front_size(&self) -> Option<BodySize> {
        (self.count > 0).then(|| self.parse_front().0)
    }

    /// The header of the oldest message and where its ring bytes end.
    fn parse_front(&self) -> (BodySize, usize) {
        let mut pos = self.head;
        let bytes = get_varint(&self.data, &mut pos).expect("queue holds a valid header");
        let count = get_varint(&self.data, &mut pos).expect("queue holds a valid header");
        (BodySize { bytes, count }, pos)
    }

    /// Removes the oldest message and hands out its body.
    fn pop(&mut self) -> Option<(Taken<'_>, usize)> {
        if self.count == 0 {
            return None;
        }
        let (size, body_at) = self.parse_front();
        let linked = size.bytes >= LINK_ABOVE;
        let ring_end = if linked { body_at } else { body_at + size.bytes };
        self.ring_used -= ring_end - self.head;
        self.used -= size.message_bytes();
        self.head = ring_end;
        self.count -= 1;
        if self.count == 0 {
            self.head = 0;
            self.tail = 0;
            self.wrap_at = None;
        } else if self.wrap_at == Some(self.head) {
            self.wrap_at = None;
            self.head = 0;
        }
        let taken = if linked {
            Taken::Linked(self.links.pop_front().expect("a linked message has its body"))
        } else {
            Taken::InPlace(&self.data[body_at..body_at + size.bytes])
        };
        Some((taken, size.count))
    }

    fn clear(&mut self) {
        self.head = 0;
        self.tail = 0;
        self.wrap_at = None;
        self.ring_used = 0;
        self.used = 0;
        self.count = 0;
        self.links.clear();
    }
}

/// The queue of one buffer. An empty buffer with the default sizes holds
/// nothing but a null pointer: the ring (with the sizes, if not the
/// default ones) is allocated when the first message arrives, and its
/// memory for messages grows from `size2` as the plan allows.
#[derive(Default)]
pub(crate) struct MessageQueue {
    ring: Option<Box<Ring>>,
}

impl MessageQueue {
    pub fn new(sizes: Sizes) -> MessageQueue {
        let ring = (sizes != Sizes::default()).then(|| Box::new(Ring::new(sizes)));
        MessageQueue { ring }
    }

    pub fn sizes(&self) -> Sizes {
        self.ring.as_ref().map_or_else(Sizes::default, |r| r.sizes)
    }

    pub fn count(&self) -> usize {
        self.ring.as_ref().map_or(0, |r| r.count)
    }

    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    /// Whether a message of `bytes` bytes fits without growing beyond what
    /// the plan allows (always true for growing plans).
    pub fn has_room(&self, bytes: usize) -> bool {
        self.ring.as_ref().map_or(true, |r| r.has_room(bytes))
    }

    /// Appends one message; `Ok(false)` when a fixed plan has no room now.
    pub fn push(&mut self, message: Ready<'_>) -> Result<bool, Error> {
        let ring = self.ring.get_or_insert_with(|| Box::new(Ring::new(Sizes::default())));
        ring.push(message)
    }

    /// The oldest message's size, if any.
    pub fn front_size(&self) -> Option<BodySize> {
        self.ring.as_ref()?.front_size()
    }

    /// Removes the oldest message and hands out its body and value count.
    pub fn pop(&mut self) -> Option<(Taken<'_>, usize)> {
        self.ring.as_mut()?.pop()
    }

    /// Drops every message; keeps the memory for the next ones.
    pub fn clear(&mut self) {
        if let Some(ring) = &mut self.ring {
            ring.clear();
        }
    }

    /// Drops every message and the memory for them.
    pub fn free(&mut self) {
        if let Some(ring) = &mut self.ring {
            ring.clear();
            ring.data = Vec::new();
            ring.links = VecDeque::new();
        }
    }

    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.ring.as_ref().map_or(0, |r| r.data.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{decode_value, Value, Values};

    fn push(q: &mut MessageQueue, values: &[Value<'_>]) -> bool {
        let body = Values::new(values).unwrap();
        q.push(Ready::new(&body).unwrap()).unwrap()
    }

    /// Takes the oldest message: its body bytes and value count.
    fn pop_body(q: &mut MessageQueue) -> Option<(Vec<u8>, usize)> {
        let (taken, count) = q.pop()?;
        let body = match taken {
            Taken::InPlace(b) => b.to_vec(),
            Taken::Linked(b) => b,
        };
        Some((body, count))
    }

    fn first_integer(body: &[u8]) -> Option<i64> {
        match decode_value(body, &mut 0) {
            Some(Value::Integer(i)) => Some(i),
            _ => None,
        }
    }

    #[test]
    fn no_memory_until_the_first_message() {
        let sizes = Sizes::default();
        let mut q = MessageQueue::new(sizes);
        assert_eq!(q.capacity(), 0);
        assert!(push(&mut q, &[Value::Integer(1)]));
        assert_eq!(q.capacity(), 1024);
    }

    #[test]
    fn fixed_queue_refuses_when_full_and_accepts_after_pop() {
        let sizes = Sizes::new(16, 24, 0.0).unwrap();
        let mut q = MessageQueue::new(sizes);
        let msg = [Value::Integer(1)]; // 2 + 9 = 11 bytes
        assert!(push(&mut q, &msg));
        assert!(push(&mut q, &msg));
        assert!(!push(&mut q, &msg));
        assert_eq!(q.count(), 2);
        q.pop();
        assert!(push(&mut q, &msg));
        assert_eq!(q.capacity(), 24);
    }

    #[test]
    fn growing_queue_keeps_order_across_compaction_and_growth() {
        let sizes = Sizes::new(8, 16, 2.0).unwrap();
        let mut q = MessageQueue::new(sizes);
        for i in 0..100 {
            assert!(push(&mut q, &[Value::Integer(i)]));
            if i % 3 == 0 {
                q.pop();
            }
        }
        let mut seen = Vec::new();
        while let Some((body, count)) = pop_body(&mut q) {
            assert_eq!(count, 1);
            seen.extend(first_integer(&body));
        }
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "order kept: {seen:?}");
        assert_eq!(*seen.last().unwrap(), 99);
        assert_eq!(seen.len(), 100 - 34);
    }

    #[test]
    fn full_fixed_ring_is_refilled_in_place_without_moving_messages() {
        let msg = |i| [Value::Integer(i)]; // 11 bytes each
        let sizes = Sizes::new(11, 33, 0.0).unwrap();
        let mut q = MessageQueue::new(sizes);
        for i in 0..3 {
            assert!(push(&mut q, &msg(i)));
        }
        assert!(!push(&mut q, &msg(99)));
        let mut next = 0;
        for i in 3..50 {
            let (body, _) = pop_body(&mut q).unwrap();
            assert_eq!(first_integer(&body), Some(next));
            next += 1;
            assert!(push(&mut q, &msg(i)), "room after a take at {i}");
            assert_eq!(q.capacity(), 33);
        }
        assert_eq!(q.count(), 3);
    }

    #[test]
    fn split_free_space_is_joined_for_a_message_that_fits_in_total() {
        let sizes = Sizes::new(30, 40, 0.0).unwrap();
        let mut q = MessageQueue::new(sizes);
        let small = [Value::Integer(1)]; // 11 bytes
        let big = [Value::String(&[7u8; 20])]; // 2 + 22 = 24 bytes
        assert!(push(&mut q, &small));
        assert!(push(&mut q, &small));
        assert!(push(&mut q, &small)); // 33 of 40 used
        q.pop(); // free: 11 at the front, 7 at the back
        assert!(!push(&mut q, &big), "22 + 24 > 40");
        q.pop(); // 11 used: 22 free at the front, 7 at the back
        assert!(push(&mut q, &big));
        let mut got = Vec::new();
        while let Some((body, _)) = pop_body(&mut q) {
            got.push(body.len());
        }
        assert_eq!(got, vec![9, 22]);
    }

    #[test]
    fn large_bodies_are_linked_counted_in_full_and_kept_in_order() {
        let big = vec![b'x'; LINK_ABOVE];
        let bytes = Values::new(&[Value::String(&big)]).unwrap().size().message_bytes();
        let sizes = Sizes::new(bytes, 2 * bytes + 11, 0.0).unwrap();
        let mut q = MessageQueue::new(sizes);
        assert!(push(&mut q, &[Value::Integer(1)]));
        assert!(push(&mut q, &[Value::String(&big)]));
        assert!(push(&mut q, &[Value::String(&big)]));
        assert!(!push(&mut q, &[Value::Integer(2)]), "the linked bodies count against size2");
        assert!(q.capacity() < bytes, "the ring holds only their headers");
        assert_eq!(first_integer(&pop_body(&mut q).unwrap().0), Some(1));
        for _ in 0..2 {
            let (body, count) = pop_body(&mut q).unwrap();
            assert_eq!((count, decode_value(&body, &mut 0)), (1, Some(Value::String(&big))));
        }
        assert!(pop_body(&mut q).is_none());
        assert!(push(&mut q, &[Value::String(&big)]));
        q.clear();
        assert_eq!(q.count(), 0);
        assert!(push(&mut q, &[Value::Integer(3)]));
        assert_eq!(first_integer(&pop_body(&mut q).unwrap().0), Some(3));
    }

    #[test]
    fn unallocatable_sizes_are_out_of_memory() {
        let err = Sizes::new(0, 1 << 62, 2.0).unwrap_err();
        assert_eq!(err.kind, ErrorKind::OutOfMemory);
        assert_eq!(Sizes::new(0, 0, f64::NAN).unwrap_err().kind, ErrorKind::InvalidArgument);
    }
}
