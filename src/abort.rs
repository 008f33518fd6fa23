//! The process-wide abort flag, and `sleep`, which an abort interrupts.
//! Waking the threads that wait in buffers and listeners is the business
//! of whoever owns their tables (`process::abort_all`).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind};
use crate::primitive::atomic::{AtomicBool, Ordering};
use crate::primitive::lazy_static;
use crate::sync::Signal;
use crate::wait::Wait;

lazy_static! {
    static ABORTED: AtomicBool = AtomicBool::new(false);
}

lazy_static! {
    /// Threads in [`sleep`] wait here, so that an abort can wake them.
    static SLEEPERS_WAKE: Signal = Signal::new();
}

/// Whether everything is aborted.
#[inline]
pub fn is_aborted() -> bool {
    ABORTED.load(Ordering::SeqCst)
}

/// Sets the flag; `true` also wakes the threads in [`sleep`]. The fence
/// pairs with the one that ends a sleeper's `Signal::prepare`.
pub(crate) fn set_aborted(flag: bool) {
    ABORTED.store(flag, Ordering::SeqCst);
    if flag {
        crate::primitive::atomic::fence(Ordering::SeqCst);
        SLEEPERS_WAKE.notify_all();
    }
}

fn aborted() -> Error {
    Error::new(ErrorKind::OperationAborted, "sleep interrupted")
}

/// Suspends the calling thread for `duration` (`None`: until an abort);
/// returns early with `operation_aborted` when everything is (or gets)
/// aborted.
pub fn sleep(duration: Option<Duration>) -> Result<(), Error> {
    let wait = Wait::from_timeout(duration);
    let deadline = wait.deadline();
    loop {
        let ticket = SLEEPERS_WAKE.prepare();
        if is_aborted() {
            return Err(aborted());
        }
        if wait == Wait::Poll || ticket.sleep(deadline) {
            return if is_aborted() { Err(aborted()) } else { Ok(()) };
        }
    }
}

/// Seconds since the epoch, with the system clock's (sub-microsecond)
/// precision.
pub fn time() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
