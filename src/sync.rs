//! The lock and the wait of a lock domain, on Linux futexes.
//!
//! Standard `Mutex` and `Condvar` would do, but both cost system calls
//! that a message queue can avoid: `Mutex` marks itself contended after
//! one sleep and then wakes (a system call) on every unlock, and spins
//! only briefly before it sleeps. Here a thread that finds the lock taken
//! spins for a few microseconds (critical sections are a few dozen
//! instructions, so the holder is nearly always done by then) and sleeps
//! only after that; unlocking makes a system call only when some thread
//! really sleeps. [`Signal`] is an event count that a notifier bumps (and
//! wakes with a system call) only when a thread sleeps on it.

use std::cell::UnsafeCell;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a thread spins for a taken lock before it sleeps: critical
/// sections are short, and under steady contention sleeping soon lets one
/// thread run several operations in a row (measured: longer spins gave
/// slower producer/consumer pairs).
const LOCK_SPIN: Duration = Duration::from_nanos(200);

const UNLOCKED: u32 = 0;
const LOCKED: u32 = 1;
/// Locked, and some thread may sleep waiting for it.
const SLEEPERS: u32 = 2;

pub(crate) fn futex_wait(word: &AtomicU32, expected: u32, timeout: Option<Duration>) {
    let timespec = timeout.map(|t| libc::timespec {
        tv_sec: t.as_secs().min(libc::time_t::MAX as u64) as libc::time_t,
        tv_nsec: t.subsec_nanos() as libc::c_long,
    });
    let timespec_ptr = timespec.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
    // SAFETY: `word` is a valid, aligned u32 for the duration of the call;
    // spurious returns (EINTR, EAGAIN, ETIMEDOUT) are handled by callers,
    // which re-check their condition.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            timespec_ptr,
        );
    }
}

pub(crate) fn futex_wake(word: &AtomicU32, count: i32) {
    // SAFETY: as for `futex_wait`.
    unsafe {
        libc::syscall(libc::SYS_futex, word.as_ptr(), libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG, count);
    }
}

/// Spins while `waiting()` holds, for at most `limit`; returns true when
/// `waiting()` stopped holding in time. The condition is looked at every
/// few pause instructions (a pause takes about 10 ns here), so the spinner
/// notices a change within some 100 ns; the clock is read every 16 looks.
/// (Yielding the processor between looks was tried: on these virtual
/// machines a `sched_yield` costs more than the whole wait it would save.)
pub(crate) fn spin_while(limit: Duration, mut waiting: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    let mut looks = 0u32;
    loop {
        for _ in 0..(1u32 << (looks / 8).min(3)) {
            std::hint::spin_loop();
        }
        if !waiting() {
            return true;
        }
        looks += 1;
        if looks % 16 == 0 && start.elapsed() >= limit {
            return false;
        }
    }
}

/// Keeps its value on cache lines of its own, so that threads writing it
/// do not slow down threads reading what would otherwise lie beside it.
#[repr(C, align(64))]
pub(crate) struct CacheLine<T>(pub T);

impl<T> Deref for CacheLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A mutual-exclusion lock around a `T`.
pub(crate) struct Lock<T> {
    state: AtomicU32,
    value: UnsafeCell<T>,
}

// SAFETY: the value is reached only through a guard, and there is one
// guard at a time.
unsafe impl<T: Send> Sync for Lock<T> {}
unsafe impl<T: Send> Send for Lock<T> {}

impl<T> Lock<T> {
    pub const fn new(value: T) -> Lock<T> {
        Lock { state: AtomicU32::new(UNLOCKED), value: UnsafeCell::new(value) }
    }

    pub fn lock(&self) -> LockGuard<'_, T> {
        if self.state.compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_contended();
        }
        valgrind::happens_after(&self.state);
        LockGuard { lock: self }
    }

    /// The value, for a lock built on this one that knows when it is held.
    pub(crate) fn value(&self) -> *mut T {
        self.value.get()
    }

    /// The lock if no other thread holds it.
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        self.state
            .compare_exchange(UNLOCKED, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| {
                valgrind::happens_after(&self.state);
                LockGuard { lock: self }
            })
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
        // Sleeping: mark the lock so that its holder wakes us on unlock.
        while self.state.swap(SLEEPERS, Ordering::Acquire) != UNLOCKED {
            futex_wait(&self.state, SLEEPERS, None);
        }
    }

    /// Lets go; for the holder of a guard it forgot (`BiasedGuard`).
    pub(crate) fn unlock(&self) {
        valgrind::happens_before(&self.state);
        if self.state.swap(UNLOCKED, Ordering::Release) == SLEEPERS {
            futex_wake(&self.state, 1);
        }
    }
}

/// Access to the value of a held [`Lock`]; unlocks when dropped (also
/// while a panic unwinds, so there is no poisoning to handle).
pub(crate) struct LockGuard<'a, T> {
    lock: &'a Lock<T>,
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard is the one holder of the lock.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard is the one holder of the lock.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for LockGuard<'_, T> {
    fn drop(&mut self) {
        self.lock.unlock();
    }
}

/// A condition threads wait for and others announce, as an event count:
/// a waiter first counts itself as a sleeper ([`Signal::prepare`]), then
/// looks at its condition once more, and sleeps only while no notification
/// came after it prepared. A notifier changes the condition first and then
/// looks for sleepers, so it wakes (a system call) only when somebody
/// sleeps, yet never misses one: of the two "change, then look" sequences
/// (all sequentially consistent) at least one sees the other's change.
pub(crate) struct Signal {
    events: AtomicU32,
    sleepers: AtomicU32,
}

/// One thread's pending wait on a [`Signal`]; it stops counting as a
/// sleeper when dropped.
pub(crate) struct Ticket<'a> {
    signal: &'a Signal,
    events: u32,
}

impl Signal {
    pub const fn new() -> Signal {
        Signal { events: AtomicU32::new(0), sleepers: AtomicU32::new(0) }
    }

    /// Counts the caller as a sleeper. The caller then checks its condition
    /// (with a sequentially consistent load, or under the lock the notifier
    /// changes it under) and sleeps with the ticket only if it still waits.
    pub fn prepare(&self) -> Ticket<'_> {
        self.sleepers.fetch_add(1, Ordering::SeqCst);
        Ticket { signal: self, events: self.events.load(Ordering::SeqCst) }
    }

    #[inline]
    pub fn notify_one(&self) {
        self.notify(1);
    }

    pub fn notify_all(&self) {
        self.notify(i32::MAX);
    }

    #[inline]
    fn notify(&self, count: i32) {
        if self.sleepers.load(Ordering::SeqCst) > 0 {
            self.events.fetch_add(1, Ordering::SeqCst);
            futex_wake(&self.events, count);
        }
    }
}

impl Ticket<'_> {
    /// Sleeps until notified (since `prepare`), `deadline` passes, or
    /// spuriously; true when the deadline has passed.
    pub fn sleep(self, deadline: Option<Instant>) -> bool {
        let timeout = match deadline {
            None => None,
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return true,
            },
        };
        futex_wait(&self.signal.events, self.events, timeout);
        deadline.is_some_and(|d| Instant::now() >= d)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.signal.sleepers.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Tells valgrind's drd and helgrind the order a [`Lock`] makes, which they
/// cannot see in a futex: with `--cfg mtmsg_valgrind` (test/check-memory.sh
/// drd) the lock announces it through their client requests; otherwise
/// these are empty.
pub(crate) mod valgrind {
    /// `VG_USERREQ_TOOL_BASE('H','G') + 256 + 33` and `+ 34` of helgrind.h
    /// and drd.h: ANNOTATE_HAPPENS_BEFORE and ANNOTATE_HAPPENS_AFTER.
    const HAPPENS_BEFORE: usize = ((b'H' as usize) << 24 | (b'G' as usize) << 16) + 256 + 33;
    const HAPPENS_AFTER: usize = HAPPENS_BEFORE + 1;

    #[cfg(all(mtmsg_valgrind, target_arch = "x86_64"))]
    fn client_request(request: usize, address: usize) {
        let args = [request, address, 0, 0, 0, 0];
        // SAFETY: valgrind's magic sequence: the rotations add up to 128
        // bits and leave rdi as it was; outside valgrind it does nothing.
        unsafe {
            std::arch::asm!(
                "rol rdi, 3", "rol rdi, 13", "rol rdi, 61", "rol rdi, 51", "xchg rbx, rbx",
                in("rax") args.as_ptr(),
                inout("rdx") 0usize => _,
                options(nostack),
            );
        }
    }

    #[cfg(not(all(mtmsg_valgrind, target_arch = "x86_64")))]
    fn client_request(_request: usize, _address: usize) {}

    pub fn happens_before<T>(object: &T) {
        client_request(HAPPENS_BEFORE, object as *const T as usize);
    }

    pub fn happens_after<T>(object: &T) {
        client_request(HAPPENS_AFTER, object as *const T as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn lock_excludes_other_threads() {
        let lock = Arc::new(Lock::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for _ in 0..100_000 {
                        *lock.lock() += 1;
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

    #[test]
    fn signal_wakes_a_waiter_and_times_out_without_one() {
        let shared = Arc::new((AtomicU32::new(0), Signal::new()));
        let waiter = {
            let shared = shared.clone();
            std::thread::spawn(move || loop {
                let ticket = shared.1.prepare();
                if shared.0.load(Ordering::SeqCst) != 0 {
                    return;
                }
                ticket.sleep(None);
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        shared.0.store(1, Ordering::SeqCst);
        shared.1.notify_one();
        waiter.join().unwrap();
        let start = Instant::now();
        assert!(shared.1.prepare().sleep(Some(start + Duration::from_millis(50))));
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert_eq!(shared.1.sleepers.load(Ordering::SeqCst), 0, "tickets stop counting when dropped");
    }
}
