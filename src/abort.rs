//! The process-wide abort switch, `sleep` that it interrupts, and `time`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, ErrorKind};
use crate::home::deadline;
use crate::registry;
use crate::sync::Signal;

static ABORTED: AtomicBool = AtomicBool::new(false);

/// Threads in [`sleep`] wait here, so an abort can wake them.
static SLEEPERS_WAKE: Signal = Signal::new();

/// Whether everything is aborted.
pub fn is_aborted() -> bool {
    ABORTED.load(Ordering::SeqCst)
}

/// Aborts (`true`) or un-aborts (`false`) every buffer and listener of the
/// process. While aborted, every operation and creation fails with
/// `operation_aborted`, and every waiting or sleeping thread wakes with it.
pub fn abort_all(flag: bool) {
    ABORTED.store(flag, Ordering::SeqCst);
    if flag {
        registry::wake_everyone();
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
    let deadline = deadline(duration);
    loop {
        let ticket = SLEEPERS_WAKE.prepare();
        if is_aborted() {
            return Err(aborted());
        }
        if ticket.sleep(deadline) {
            return if is_aborted() { Err(aborted()) } else { Ok(()) };
        }
    }
}

/// Seconds since the epoch, with the system clock's (sub-microsecond)
/// precision.
pub fn time() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
