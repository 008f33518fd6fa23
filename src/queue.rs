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

/// Messages queued back to back in one contiguous block: `data[start..end]`.
/// Memory is taken when the first message arrives, not before.
#[derive(Default)]
pub(crate) struct MessageQueue {
    data: Vec<u8>,
    start: usize,
    end: usize,
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
        !sizes.is_fixed() || self.end - self.start + bytes <= sizes.size2
    }

    /// Appends one message: `size` measures its body, `write_body` fills it.
    /// Returns `Ok(false)` when a fixed plan has no room for it now.
    pub fn push(&mut self, sizes: &Sizes, size: BodySize, write_body: impl FnOnce(&mut [u8])) -> Result<bool, Error> {
        let bytes = size.message_bytes();
        if !self.make_room(sizes, bytes)? {
            return Ok(false);
        }
        let at = self.end;
        let slot = &mut self.data[at..at + bytes];
        let body_at = write_header(slot, size);
        write_body(&mut slot[body_at..]);
        self.end += bytes;
        self.count += 1;
        Ok(true)
    }

    fn make_room(&mut self, sizes: &Sizes, bytes: usize) -> Result<bool, Error> {
        if self.data.len() - self.end >= bytes {
            return Ok(true);
        }
        let used = self.end - self.start;
        if !self.has_room(sizes, bytes) {
            return Ok(false);
        }
        let needed = used.checked_add(bytes).ok_or_else(|| out_of_memory(usize::MAX))?;
        if needed <= self.data.len() {
            self.compact();
            return Ok(true);
        }
        let capacity = if sizes.is_fixed() { sizes.size2 } else { sizes.grown(self.data.len(), needed) };
        self.compact();
        // The grow factor is a hint: when the multiplied size cannot be
        // had (a huge factor), what the message needs may still be.
        grow_to(&mut self.data, capacity).or_else(|_| grow_to(&mut self.data, needed))?;
        Ok(true)
    }

    fn compact(&mut self) {
        self.data.copy_within(self.start..self.end, 0);
        self.end -= self.start;
        self.start = 0;
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
        let mut pos = self.start;
        let bytes = get_varint(&self.data, &mut pos).expect("queue holds a valid header");
        let count = get_varint(&self.data, &mut pos).expect("queue holds a valid header");
        debug_assert_eq!(pos - self.start, header_len(BodySize { bytes, count }));
        ((pos, pos + bytes), count, pos + bytes)
    }

    /// Removes the oldest message.
    pub fn pop(&mut self) {
        if self.count == 0 {
            return;
        }
        let (_, _, next) = self.parse_front();
        self.start = next;
        self.count -= 1;
        if self.count == 0 {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Drops every message; keeps the memory for the next ones.
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
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
    fn unallocatable_sizes_are_out_of_memory() {
        let err = Sizes::new(0, 1 << 62, 2.0).unwrap_err();
        assert_eq!(err.kind, ErrorKind::OutOfMemory);
        assert_eq!(Sizes::new(0, 0, f64::NAN).unwrap_err().kind, ErrorKind::InvalidArgument);
    }
}
