//! A mutual-exclusion lock on a [`WaitWord`]: a thread that finds it taken
//! spins briefly ([`LOCK_SPIN`]) and then sleeps; letting go makes a
//! system call only when some thread sleeps.
//!
//! Standard `Mutex` would do, but it costs system calls a message queue can
//! avoid: it marks itself contended after one sleep and then wakes (a
//! system call) on every unlock, and spins only briefly before it sleeps.
//!
//! Protocol (the state word):
//! - `UNLOCKED` → `LOCKED` by a compare-exchange (Acquire): the taker holds it.
//! - A thread that cannot take it spins, then swaps in `SLEEPERS` (Acquire);
//!   finding `UNLOCKED` there means it took the lock (marked as possibly
//!   having sleepers, which costs one needless wake at most), otherwise it
//!   sleeps while the word is `SLEEPERS` and swaps again when woken.
//! - The holder lets go by swapping in `UNLOCKED` (Release) and wakes one
//!   sleeper when it found `SLEEPERS`. Invariant: whenever a thread sleeps
//!   on the word, the word is `SLEEPERS` or a wake is on its way, because a
//!   sleeper only sleeps on the value `SLEEPERS` it wrote itself (the
//!   futex compares atomically), and every unlock that replaces
//!   `SLEEPERS` wakes one.
//!
//! A panic between taking and letting go (a broken invariant of the data
//! the lock guards) aborts the process with a message: letting go while
//! unwinding would hand the next thread a queue half changed.

use std::ops::{Deref, DerefMut};

use super::spin::{spin_while, LOCK_SPIN};
use super::valgrind;
use crate::primitive::atomic::Ordering;
use crate::primitive::UnsafeCell;
use crate::sys::WaitWord;

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
/// Locked, and some thread may sleep waiting for it.
const SLEEPERS: u32 = 2;

/// A mutual-exclusion lock around a `T`.
pub(crate) struct Lock<T> {
    state: WaitWord,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and the protocol above
// lets one guard exist at a time; `T: Send` as the value moves between the
// threads that hold the lock.
unsafe impl<T: Send> Sync for Lock<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Send for Lock<T> {}

impl<T> Lock<T> {
    pub fn new(value: T) -> Lock<T> {
        Lock { state: WaitWord::new(UNLOCKED), value: UnsafeCell::new(value) }
    }

    #[inline]
    pub fn lock(&self) -> LockGuard<'_, T> {
        if self.state.compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_contended();
        }
        LockGuard::new(self)
    }

    /// The lock if no other thread holds it.
    #[inline]
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| LockGuard::new(self))
    }

    /// Takes the lock or, with `nonblock`, only if no other thread holds it.
    #[inline]
    pub fn lock_or_try(&self, nonblock: bool) -> Option<LockGuard<'_, T>> {
        if nonblock {
            self.try_lock()
        } else {
            Some(self.lock())
        }
    }

    /// Takes the lock and lets go at once: afterwards every thread that
    /// holds it later sees what the caller wrote before, and the caller
    /// sees what every earlier holder wrote. A thread about to sleep uses
    /// it to order itself with threads that change its condition under
    /// this lock and look for sleepers after letting go (see `Signal`).
    pub fn synchronize(&self) {
        drop(self.lock());
    }

    #[cold]
    fn lock_contended(&self) {
        let mut acquired = false;
        spin_while(LOCK_SPIN, || {
            acquired = self.state.load(Ordering::Relaxed) == UNLOCKED
                && self.state.compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok();
            !acquired
        });
        if acquired {
            return;
        }
        while self.state.swap(SLEEPERS, Ordering::Acquire) != UNLOCKED {
            self.state.wait(SLEEPERS, None);
        }
    }

    #[inline]
    fn unlock(&self) {
        valgrind::happens_before(&self.state);
        if self.state.swap(UNLOCKED, Ordering::Release) == SLEEPERS {
            self.state.wake(1);
        }
    }
}

/// Access to the value of a held [`Lock`]; lets go when dropped.
pub(crate) struct LockGuard<'a, T> {
    lock: &'a Lock<T>,
    /// Whether the thread was unwinding already when it took the lock (a
    /// reference dropped during a panic elsewhere takes locks normally).
    unwinding_before: bool,
}

impl<'a, T> LockGuard<'a, T> {
    #[inline]
    fn new(lock: &'a Lock<T>) -> LockGuard<'a, T> {
        valgrind::happens_after(&lock.state);
        LockGuard { lock, unwinding_before: std::thread::panicking() }
    }
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard is the one holder of the lock, and the
        // reference lives no longer than the guard.
        unsafe { self.lock.value.with(|value| &*value) }
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in `deref`; `&mut self` makes this the only access.
        unsafe { self.lock.value.with_mut(|value| &mut *value) }
    }
}

impl<T> Drop for LockGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if std::thread::panicking() && !self.unwinding_before {
            panicked_inside();
        }
        self.lock.unlock();
    }
}

/// A panic unwound through a held lock: what it guards may be half
/// changed, and no later operation could be trusted.
#[cold]
fn panicked_inside() -> ! {
    eprintln!("mtmsg: a panic inside one of its locks left a buffer or listener in an unknown state; aborting the process");
    std::process::abort();
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_lock_excludes_other_threads() {
        let lock = Arc::new(Lock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..100_000 {
                        let mut value = lock.lock();
                        let seen = *value;
                        std::hint::black_box(&mut *value);
                        *value = seen + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), 400_000);
    }

    #[test]
    fn try_lock_fails_while_held() {
        let lock = Lock::new(());
        let guard = lock.lock();
        assert!(lock.try_lock().is_none());
        drop(guard);
        assert!(lock.try_lock().is_some());
    }

    /// Run in a child process of the test binary (the variable set): a
    /// panic while the lock is held.
    const PANIC_INSIDE: &str = "MTMSG_TEST_PANIC_INSIDE_A_LOCK";

    #[test]
    fn a_panic_inside_a_lock_aborts_the_process_with_a_message() {
        if std::env::var_os(PANIC_INSIDE).is_some() {
            let lock = Lock::new(0);
            let _guard = lock.lock();
            panic!("a broken invariant");
        }
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "sync::lock::tests::a_panic_inside_a_lock_aborts_the_process_with_a_message", "--nocapture", "--test-threads=1"])
            .env(PANIC_INSIDE, "1")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(output.status.signal(), Some(libc::SIGABRT), "aborted, not unwound: {stderr}");
        assert!(stderr.contains("mtmsg: a panic inside one of its locks"), "{stderr}");
    }

    #[test]
    fn a_lock_taken_and_let_go_while_unwinding_from_elsewhere_is_fine() {
        struct TakesTheLockWhenDropped<'a>(&'a Lock<u32>);
        impl Drop for TakesTheLockWhenDropped<'_> {
            fn drop(&mut self) {
                *self.0.lock() += 1;
            }
        }
        let lock = Lock::new(0);
        let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _dropped_while_unwinding = TakesTheLockWhenDropped(&lock);
            panic!("elsewhere");
        }));
        assert!(unwound.is_err());
        assert_eq!(*lock.lock(), 1);
    }
}
