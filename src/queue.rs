//! The bytes of the messages queued in one buffer, with the size rules of
//! `newbuffer([name,][size1[,size2[,grow]]])`.

use crate::error::{Error, ErrorKind};
use crate::value::{get_varint, header_len, write_header, BodySize};

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
    pub const DEFAULT_SIZE1: usize = 128;
    pub const DEFAULT_SIZE2: usize = 1024;
    pub const DEFAULT_GROW: f64 = 2.0;

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
    /// are there.
    fn grown(&self, current: usize, needed: usize) -> usize {
        let initial = needed.max(self.size2);
        if current == 0 {
            return initial;
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

/// Messages queued back to back in a ring of bytes. Each message is
/// contiguous: one that does not fit before the end of the memory starts
/// again at its beginning, so a full fixed-size buffer that keeps being
/// drained and refilled never moves its messages around.
///
/// Unwrapped, the messages are `data[head..tail]`; wrapped (`wrap_at` is
/// set), they are `data[head..wrap_at]` followed by `data[..tail]`.
/// Memory is taken when the first message arrives, not before.
#[derive(Default)]
pub(crate) struct MessageQueue {
    data: Vec<u8>,
    head: usize,
    tail: usize,
    wrap_at: Option<usize>,
    used: usize,
    count: usize,
}

impl MessageQueue {
    pub fn count(&self) -> usize {
        self.count
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether a message of `bytes` bytes fits without growing beyond what
    /// the plan allows (always true for growing plans).
    pub fn has_room(&self, sizes: &Sizes, bytes: usize) -> bool {
        !sizes.is_fixed() || self.used + bytes <= sizes.size2
    }

    /// Appends one message: `size` measures its body, `write_body` fills it.
    /// Returns `Ok(false)` when a fixed plan has no room for it now.
    pub fn push(&mut self, sizes: &Sizes, size: BodySize, write_body: impl FnOnce(&mut [u8])) -> Result<bool, Error> {
        let bytes = size.message_bytes();
        let Some(at) = self.make_room(sizes, bytes)? else {
            return Ok(false);
        };
        let slot = &mut self.data[at..at + bytes];
        let body_at = write_header(slot, size);
        write_body(&mut slot[body_at..]);
        self.tail = at + bytes;
        self.used += bytes;
        self.count += 1;
        Ok(true)
    }

    /// Where a message of `bytes` bytes goes, after wrapping around,
    /// linearizing or growing as needed; `None` when a fixed plan is full.
    fn make_room(&mut self, sizes: &Sizes, bytes: usize) -> Result<Option<usize>, Error> {
        if let Some(at) = self.free_slot(bytes) {
            return Ok(Some(at));
        }
        if !self.has_room(sizes, bytes) {
            return Ok(None);
        }
        let needed = self.used.checked_add(bytes).ok_or_else(|| out_of_memory(usize::MAX))?;
        self.linearize();
        if needed > self.data.len() {
            let capacity = if sizes.is_fixed() { sizes.size2 } else { sizes.grown(self.data.len(), needed) };
            // The grow factor is a hint: when the multiplied size cannot be
            // had (a huge factor), what the message needs may still be.
            grow_to(&mut self.data, capacity).or_else(|_| grow_to(&mut self.data, needed))?;
        }
        Ok(Some(self.tail))
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
        self.tail = self.used;
    }

    /// The oldest message's body and value count.
    pub fn front(&self) -> Option<(&[u8], usize)> {
        if self.count == 0 {
            return None;
        }
        let (body, count, _) = self.parse_front();
        Some((&self.data[body.0..body.1], count))
    }

    fn parse_front(&self) -> ((usize, usize), usize, usize) {
        let mut pos = self.head;
        let bytes = get_varint(&self.data, &mut pos).expect("queue holds a valid header");
        let count = get_varint(&self.data, &mut pos).expect("queue holds a valid header");
        debug_assert_eq!(pos - self.head, header_len(BodySize { bytes, count }));
        ((pos, pos + bytes), count, pos + bytes)
    }

    /// Removes the oldest message.
    pub fn pop(&mut self) {
        if self.count == 0 {
            return;
        }
        let (_, _, next) = self.parse_front();
        self.used -= next - self.head;
        self.head = next;
        self.count -= 1;
        if self.count == 0 {
            self.clear();
        } else if self.wrap_at == Some(self.head) {
            self.wrap_at = None;
            self.head = 0;
        }
    }

    /// Drops every message; keeps the memory for the next ones.
    pub fn clear(&mut self) {
        self.head = 0;
        self.tail = 0;
        self.wrap_at = None;
        self.used = 0;
        self.count = 0;
    }

    /// Drops every message and the memory.
    pub fn free(&mut self) {
        *self = MessageQueue::default();
    }

    #[cfg(test)]
    pub fn capacity(&self) -> usize {
        self.data.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{encode_body, measure, Value};

    fn push(q: &mut MessageQueue, sizes: &Sizes, values: &[Value<'_>]) -> bool {
        let size = measure(values).unwrap();
        q.push(sizes, size, |dst| encode_body(values, dst)).unwrap()
    }

    #[test]
    fn no_memory_until_the_first_message() {
        let sizes = Sizes::default();
        let mut q = MessageQueue::default();
        assert_eq!(q.capacity(), 0);
        assert!(push(&mut q, &sizes, &[Value::Integer(1)]));
        assert_eq!(q.capacity(), 1024);
    }

    #[test]
    fn fixed_queue_refuses_when_full_and_accepts_after_pop() {
        let sizes = Sizes::new(16, 24, 0.0).unwrap();
        let mut q = MessageQueue::default();
        let msg = [Value::Integer(1)]; // 2 + 9 = 11 bytes
        assert!(push(&mut q, &sizes, &msg));
        assert!(push(&mut q, &sizes, &msg));
        assert!(!push(&mut q, &sizes, &msg));
        assert_eq!(q.count(), 2);
        q.pop();
        assert!(push(&mut q, &sizes, &msg));
        assert_eq!(q.capacity(), 24);
    }

    #[test]
    fn growing_queue_keeps_order_across_compaction_and_growth() {
        let sizes = Sizes::new(8, 16, 2.0).unwrap();
        let mut q = MessageQueue::default();
        for i in 0..100 {
            assert!(push(&mut q, &sizes, &[Value::Integer(i)]));
            if i % 3 == 0 {
                q.pop();
            }
        }
        let mut seen = Vec::new();
        while let Some((body, count)) = q.front() {
            assert_eq!(count, 1);
            let mut pos = 0;
            if let Some(Value::Integer(i)) = crate::value::decode_value(body, &mut pos) {
                seen.push(i);
            }
            q.pop();
        }
        assert!(seen.windows(2).all(|w| w[0] < w[1]), "order kept: {seen:?}");
        assert_eq!(*seen.last().unwrap(), 99);
        assert_eq!(seen.len(), 100 - 34);
    }

    #[test]
    fn full_fixed_ring_is_refilled_in_place_without_moving_messages() {
        let msg = |i| [Value::Integer(i)]; // 11 bytes each
        let sizes = Sizes::new(11, 33, 0.0).unwrap();
        let mut q = MessageQueue::default();
        for i in 0..3 {
            assert!(push(&mut q, &sizes, &msg(i)));
        }
        assert!(!push(&mut q, &sizes, &msg(99)));
        let mut next = 0;
        for i in 3..50 {
            let (body, _) = q.front().unwrap();
            let mut pos = 0;
            assert_eq!(crate::value::decode_value(body, &mut pos), Some(Value::Integer(next)));
            q.pop();
            next += 1;
            assert!(push(&mut q, &sizes, &msg(i)), "room after a take at {i}");
            assert_eq!(q.capacity(), 33);
        }
        assert_eq!(q.count(), 3);
    }

    #[test]
    fn split_free_space_is_joined_for_a_message_that_fits_in_total() {
        let sizes = Sizes::new(30, 40, 0.0).unwrap();
        let mut q = MessageQueue::default();
        let small = [Value::Integer(1)]; // 11 bytes
        let big = [Value::String(&[7u8; 20])]; // 2 + 22 = 24 bytes
        assert!(push(&mut q, &sizes, &small));
        assert!(push(&mut q, &sizes, &small));
        assert!(push(&mut q, &sizes, &small)); // 33 of 40 used
        q.pop(); // free: 11 at the front, 7 at the back
        assert!(!push(&mut q, &sizes, &big), "22 + 24 > 40");
        q.pop(); // 11 used: 22 free at the front, 7 at the back
        assert!(push(&mut q, &sizes, &big));
        let mut got = Vec::new();
        while let Some((body, _)) = q.front() {
            got.push(body.len());
            q.pop();
        }
        assert_eq!(got, vec![9, 22]);
    }

    #[test]
    fn unallocatable_sizes_are_out_of_memory() {
        let err = Sizes::new(0, 1 << 62, 2.0).unwrap_err();
        assert_eq!(err.kind, ErrorKind::OutOfMemory);
        assert_eq!(Sizes::new(0, 0, f64::NAN).unwrap_err().kind, ErrorKind::InvalidArgument);
    }
}
