//! [`WaitWord`] on Linux: a futex.

use std::ops::Deref;
use std::time::Duration;

use crate::primitive::atomic::AtomicU32;

pub(super) const MECHANISM: &str = "futex";

/// An atomic 32-bit word that threads can sleep on until it changes.
///
/// Invariant of every use: a thread changes the word before it wakes the
/// sleepers, and a sleeper names the value it last saw, so that the kernel,
/// which compares and queues the sleeper in one step, never lets it sleep
/// through a change (FUTEX_WAIT returns at once when the word differs).
#[repr(transparent)]
pub(crate) struct WaitWord(AtomicU32);

impl WaitWord {
    pub(crate) fn new(value: u32) -> WaitWord {
        WaitWord(AtomicU32::new(value))
    }

    /// Sleeps while the word holds `expected`, until woken, `timeout`
    /// passes, or spuriously (a signal): callers look at their condition
    /// again in every case.
    pub(crate) fn wait(&self, expected: u32, timeout: Option<Duration>) {
        let timespec = timeout.map(|t| libc::timespec {
            tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
            tv_nsec: t.subsec_nanos() as libc::c_long,
        });
        let timespec_ptr = timespec.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
        // SAFETY: the word is a valid, aligned u32 for the whole call, and
        // the timespec (or NULL) outlives it. Every outcome (woken, EAGAIN
        // when the word changed, ETIMEDOUT, EINTR) leaves the caller to
        // look again, so the result is not needed.
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                self.0.as_ptr(),
                libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
                expected,
                timespec_ptr,
            );
        }
    }

    /// Wakes up to `count` threads sleeping on the word.
    pub(crate) fn wake(&self, count: u32) {
        let count = count.min(i32::MAX as u32) as libc::c_int;
        // SAFETY: as in `wait`; FUTEX_WAKE reads nothing but the address.
        unsafe {
            libc::syscall(libc::SYS_futex, self.0.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, count);
        }
    }
}

impl Deref for WaitWord {
    type Target = AtomicU32;
    fn deref(&self) -> &AtomicU32 {
        &self.0
    }
}
