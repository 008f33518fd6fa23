//! The memory plan of `newbuffer([name,][size1[,size2[,grow]]])`, and the
//! allocation helpers that follow it.

use crate::error::{Error, ErrorKind};

/// The memory plan of a buffer (or of a writer/reader, which use `size1`
/// and `grow` only).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sizes {
    /// Largest message of a fixed buffer; initial size for one message.
    pub size1: usize,
    /// Memory for all queued messages: the initial (or, when fixed, the
    /// whole) size. Never below `size1`.
    pub size2: usize,
    /// Growth factor: 0 fixed, <= 1 grow by what is needed (a new ring as
    /// large as the full one plus the message), else multiply.
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

    /// The memory to grow to when `needed` bytes must fit and `current`
    /// are there. A fixed plan's memory grows too, doubling, up to `size2`
    /// plus one message (that much lets a full buffer that is drained and
    /// refilled wrap around in place): large bodies live outside it (see
    /// `LINK_ABOVE`), so it often needs far less.
    pub(crate) fn grown(&self, current: usize, needed: usize) -> usize {
        if self.is_fixed() {
            let limit = self.size2.saturating_add(self.size1).saturating_add(2);
            return current.saturating_mul(2).max(Self::DEFAULT_SIZE2).min(limit).max(needed);
        }
        if current == 0 {
            return needed.max(self.size2);
        }
        if self.grow > 1.0 {
            let multiplied = (current as f64 * self.grow).min(isize::MAX as f64) as usize;
            multiplied.max(needed)
        } else {
            current.saturating_add(needed)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unallocatable_sizes_are_out_of_memory() {
        let err = Sizes::new(0, 1 << 62, 2.0).unwrap_err();
        assert_eq!(err.kind, ErrorKind::OutOfMemory);
        assert_eq!(Sizes::new(0, 0, f64::NAN).unwrap_err().kind, ErrorKind::InvalidArgument);
    }
}
