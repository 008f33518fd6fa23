//! Lock domains and waiting.
//!
//! Every buffer lives in one lock domain: a standalone buffer has its own,
//! the buffers of a listener share the listener's. One lock per domain
//! makes the listener's round-robin order and its single wait for all its
//! buffers simple and exact. Waiting threads are counted under the lock, so
//! a thread that changes the state signals (a system call) only when
//! somebody sleeps.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::{Duration, Instant};

/// How long a taker spins, watching for a new message, before it sleeps.
/// A message that follows within this time is taken without the two
/// system calls (and the scheduler's latency) of sleeping and waking; an
/// idle taker burns no more than this.
const SPIN_LIMIT: Duration = Duration::from_micros(5);

/// Threads sleeping in one domain, by what they wait for.
#[derive(Default, Debug)]
pub(crate) struct Waiters {
    /// Waiting for a message (in a buffer's or a listener's `nextmsg`).
    pub takers: u32,
    /// Of those, the ones waiting for one buffer of a listener: they share
    /// the condition variable with the listener's takers, so a new message
    /// must wake them all for the right one to see it.
    pub buffer_takers: u32,
    /// Waiting for room in a fixed-size buffer.
    pub room: u32,
}

/// What the lock of a domain guards: the waiter counts and `data`.
pub(crate) struct Shared<S> {
    pub waiters: Waiters,
    pub data: S,
}

/// A lock, the state it guards, and the two conditions threads wait for.
pub(crate) struct Domain<S> {
    state: Mutex<Shared<S>>,
    pub takers: Condvar,
    pub room: Condvar,
    /// Counts the messages added, so that a spinning taker can see one
    /// arrive without taking the lock.
    additions: AtomicU32,
}

impl<S> Domain<S> {
    pub fn new(data: S) -> Domain<S> {
        Domain {
            state: Mutex::new(Shared { waiters: Waiters::default(), data }),
            takers: Condvar::new(),
            room: Condvar::new(),
            additions: AtomicU32::new(0),
        }
    }

    /// Records an addition; called with the lock held.
    pub fn note_addition(&self) {
        // Only lock holders write, so a load and a store suffice.
        let n = self.additions.load(Ordering::Relaxed);
        self.additions.store(n.wrapping_add(1), Ordering::Release);
    }

    /// The addition count, read with the lock held before spinning.
    pub fn additions(&self) -> u32 {
        self.additions.load(Ordering::Relaxed)
    }

    /// Spins (without the lock) until an addition after `seen` shows up or
    /// [`SPIN_LIMIT`] passes; true when one did.
    pub fn spin_for_addition(&self, seen: u32) -> bool {
        let start = Instant::now();
        let mut round = 0u32;
        loop {
            for _ in 0..(1 << round.min(6)) {
                std::hint::spin_loop();
            }
            if self.additions.load(Ordering::Acquire) != seen {
                return true;
            }
            round += 1;
            if round % 4 == 0 && start.elapsed() >= SPIN_LIMIT {
                return false;
            }
        }
    }

    /// Locks the domain. A panic while it was held (caught at the C
    /// boundary) leaves consistent state behind, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, Shared<S>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Locks the domain if no other thread holds it (nonblock mode).
    pub fn try_lock(&self) -> Option<MutexGuard<'_, Shared<S>>> {
        match self.state.try_lock() {
            Ok(guard) => Some(guard),
            Err(TryLockError::Poisoned(e)) => Some(e.into_inner()),
            Err(TryLockError::WouldBlock) => None,
        }
    }

    pub fn lock_or_try(&self, nonblock: bool) -> Option<MutexGuard<'_, Shared<S>>> {
        if nonblock {
            self.try_lock()
        } else {
            Some(self.lock())
        }
    }

    /// Wakes every waiting thread so it sees a close or an abort.
    pub fn wake_all(&self) {
        let _guard = self.lock();
        self.takers.notify_all();
        self.room.notify_all();
    }
}

/// Wakes the takers after a message was added: one is enough unless some
/// of them wait for a particular buffer of a listener.
pub(crate) fn wake_takers(condvar: &Condvar, waiters: &Waiters) {
    if waiters.takers == 0 {
        return;
    }
    if waiters.buffer_takers == 0 {
        condvar.notify_one();
    } else {
        condvar.notify_all();
    }
}

/// Wakes the producers waiting for room after messages were removed; they
/// may wait for messages of different sizes, so all of them look.
pub(crate) fn wake_room(condvar: &Condvar, waiters: &Waiters) {
    if waiters.room > 0 {
        condvar.notify_all();
    }
}

/// When a wait of `timeout` seconds starting now ends; `None` for ever.
pub(crate) fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}

/// Sleeps on `condvar` until woken or until `deadline`. Returns the guard
/// and whether the deadline has passed.
pub(crate) fn wait_until<'a, T>(
    condvar: &Condvar,
    guard: MutexGuard<'a, T>,
    deadline: Option<Instant>,
) -> (MutexGuard<'a, T>, bool) {
    match deadline {
        None => (condvar.wait(guard).unwrap_or_else(PoisonError::into_inner), false),
        Some(deadline) => {
            let now = Instant::now();
            if now >= deadline {
                return (guard, true);
            }
            let (guard, _) = condvar.wait_timeout(guard, deadline - now).unwrap_or_else(PoisonError::into_inner);
            (guard, Instant::now() >= deadline)
        }
    }
}
