//! The records a queue's segments hold, written back to back:
//!
//! ```text
//! varint(body bytes + 2) varint(value count) body
//! ```
//!
//! or, for a body of at least [`LINK_ABOVE`] bytes, its address, length
//! and capacity ([`Link`]) instead of the body. Its first byte is never 0
//! or 1, which mark the end of a run of records: [`WRAP`] (go on at the
//! start of this segment) and [`NEXT`] (go on in the next segment).

use crate::value::{varint_len, BodySize};

/// Bodies of at least this many bytes are not copied into the queue under
/// its lock: they are encoded beforehand, outside the lock, into memory of
/// their own, which the queue only links to and the taking reader adopts
/// without a copy. Below it, one copy into the queue is cheaper than an
/// allocation.
pub(crate) const LINK_ABOVE: usize = 4096;

/// Ends a run of records: the next record is at the start of the segment.
pub(super) const WRAP: u8 = 0;
/// Ends a run of records: the next record is in the segment's `next`.
pub(super) const NEXT: u8 = 1;
/// What the first varint of a record adds to the body length, so that its
/// first byte is never a marker.
pub(super) const LENGTH_OFFSET: usize = 2;

/// What a linked body's record holds instead of the body: the parts of the
/// vector it was encoded into, written unaligned.
#[repr(C)]
pub(super) struct Link {
    pub address: *mut u8,
    pub length: usize,
    pub capacity: usize,
}

pub(super) const LINK_BYTES: usize = std::mem::size_of::<Link>();

/// Whether a body of `bytes` bytes is linked rather than held in its record.
#[inline]
pub(super) fn is_linked(bytes: usize) -> bool {
    bytes >= LINK_ABOVE
}

/// The bytes a record of a message of `size` takes in a segment.
#[inline]
pub(super) fn record_len(size: BodySize) -> usize {
    let header = varint_len(size.bytes + LENGTH_OFFSET) + varint_len(size.count);
    header + if is_linked(size.bytes) { LINK_BYTES } else { size.bytes }
}

/// Reads a varint of a record header at `data + *at`, byte by byte: the
/// bytes after the header may be being written by the producer, so no
/// slice may cover them.
///
/// # Safety
/// A complete varint written by `put_varint` is at `data + *at`.
#[inline]
pub(super) unsafe fn read_varint(data: *const u8, at: &mut usize) -> usize {
    let mut value = 0usize;
    let mut shift = 0;
    loop {
        // SAFETY: the caller vouches for every byte up to the varint's last.
        let byte = unsafe { *data.add(*at) };
        *at += 1;
        value |= ((byte & 0x7f) as usize) << shift;
        if byte < 0x80 {
            return value;
        }
        shift += 7;
    }
}
