//! [`WaitWord`] without futexes: each word has a mutex and a condition
//! variable of its own (the standard library's, or loom's under loom).

use std::ops::Deref;
use std::time::Duration;

use crate::primitive::atomic::{AtomicU32, Ordering};
use crate::primitive::parking::{Condvar, Mutex};

pub(super) const MECHANISM: &str = "mutex and condition variable";

/// An atomic 32-bit word that threads can sleep on until it changes.
///
/// Invariant: a sleeper compares the word under `parked` and sleeps on
/// `woken` in one step (the condition variable lets go of the mutex only
/// once the thread waits), and a waker takes `parked` after changing the
/// word: so a change made before the waker took the mutex is seen by the
/// sleeper's comparison, or the sleeper already waits and is woken. This
/// is what the kernel does for a futex.
pub(crate) struct WaitWord {
    value: AtomicU32,
    parked: Mutex<()>,
    woken: Condvar,
}

impl WaitWord {
    pub(crate) fn new(value: u32) -> WaitWord {
        WaitWord { value: AtomicU32::new(value), parked: Mutex::new(()), woken: Condvar::new() }
    }

    /// Sleeps while the word holds `expected`, until woken, `timeout`
    /// passes, or spuriously: callers look at their condition again.
    pub(crate) fn wait(&self, expected: u32, timeout: Option<Duration>) {
        let parked = self.parked.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if self.value.load(Ordering::SeqCst) != expected {
            return;
        }
        // A poisoned mutex guards nothing here (its value is `()`).
        match timeout {
            None => drop(self.woken.wait(parked)),
            Some(timeout) => drop(self.woken.wait_timeout(parked, timeout)),
        }
    }

    /// Wakes up to `count` threads sleeping on the word (1, or all).
    pub(crate) fn wake(&self, count: u32) {
        drop(self.parked.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        if count == 1 {
            self.woken.notify_one();
        } else {
            self.woken.notify_all();
        }
    }
}

impl Deref for WaitWord {
    type Target = AtomicU32;
    fn deref(&self) -> &AtomicU32 {
        &self.value
    }
}
