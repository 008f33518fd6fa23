//! One ring of records (see `record.rs`) in memory of its own.

use std::alloc::{self, Layout};
use std::ptr::{self, NonNull};

use crate::error::Error;
use crate::primitive::atomic::{AtomicPtr, AtomicUsize, Ordering};
use crate::sizes::out_of_memory;
use crate::sync::valgrind;

/// A ring of records. Its fields are on a cache line of their own, as the
/// consumer writes `head` while the producer works.
///
/// Invariants: the producer writes only bytes the consumer has read past
/// (behind `head`) or never reached; the consumer reads only records the
/// producer published (the queue's count). A record always leaves at least
/// one byte before the end of the segment, and before the consumer's
/// position when the producer has wrapped around, so that a marker always
/// fits.
#[repr(align(64))]
pub(super) struct Segment {
    /// Where the consumer reads in this segment (0 until it gets here): the
    /// producer wraps around to the start only up to there.
    head: AtomicUsize,
    /// Where the producer went on after it wrote `NEXT` here.
    pub next: AtomicPtr<Segment>,
    pub data: NonNull<u8>,
    pub len: usize,
    /// Under loom, a cell for each byte: the queue reports the bytes it
    /// writes and reads, and loom checks that each access is ordered after
    /// the last conflicting one (loom cannot see the raw memory itself).
    #[cfg(loom)]
    shadow: Vec<loom::cell::UnsafeCell<()>>,
}

impl Segment {
    pub fn new(len: usize) -> Result<*mut Segment, Error> {
        let len = len.max(1);
        let layout = Layout::array::<u8>(len).map_err(|_| out_of_memory(len))?;
        // SAFETY: the layout has a non-zero size.
        let data = NonNull::new(unsafe { alloc::alloc(layout) }).ok_or_else(|| out_of_memory(len))?;
        let segment = Segment {
            head: AtomicUsize::new(0),
            next: AtomicPtr::new(ptr::null_mut()),
            data,
            len,
            #[cfg(loom)]
            shadow: (0..len).map(|_| loom::cell::UnsafeCell::new(())).collect(),
        };
        Ok(Box::into_raw(Box::new(segment)))
    }

    /// The consumer's position, and with it everything it read before.
    pub fn load_head(&self) -> usize {
        let head = self.head.load(Ordering::Acquire);
        valgrind::happens_after(&self.head);
        head
    }

    pub fn store_head(&self, head: usize) {
        valgrind::happens_before(&self.head);
        self.head.store(head, Ordering::Release);
    }

    /// Reports a write of the bytes `range` (under loom; nothing otherwise).
    #[inline]
    pub fn track_write(&self, range: std::ops::Range<usize>) {
        #[cfg(loom)]
        for byte in &self.shadow[range] {
            byte.with_mut(|_| ());
        }
        #[cfg(not(loom))]
        let _ = range;
    }

    /// Reports a read of the bytes `range` (under loom; nothing otherwise).
    #[inline]
    pub fn track_read(&self, range: std::ops::Range<usize>) {
        #[cfg(loom)]
        for byte in &self.shadow[range] {
            byte.with(|_| ());
        }
        #[cfg(not(loom))]
        let _ = range;
    }

    /// Makes a finished segment ready to be written from its start again.
    pub fn reset(&mut self) {
        self.head = AtomicUsize::new(0);
        self.next = AtomicPtr::new(ptr::null_mut());
    }

    /// Frees a segment nobody reads or writes any more.
    ///
    /// # Safety
    /// `segment` came from [`Segment::new`] and is not used afterwards.
    pub unsafe fn free(segment: *mut Segment) {
        // SAFETY: the caller gives up the segment, made by `Box::into_raw`.
        let segment = unsafe { Box::from_raw(segment) };
        let layout = Layout::array::<u8>(segment.len).expect("allocated with this layout");
        // SAFETY: `data` was allocated with this layout in `new`.
        unsafe { alloc::dealloc(segment.data.as_ptr(), layout) };
    }
}
