//! Lock domains and waiting.
//!
//! Every buffer lives in one lock domain: a standalone buffer has its own,
//! the buffers of a listener share the listener's. One lock per domain
//! makes the listener's round-robin order and its single wait for all its
//! buffers simple and exact. Waiting threads are counted under the lock, so
//! a thread that changes the state signals (a system call) only when
//! somebody sleeps.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::sync::{spin_while, Lock, LockGuard, Signal};

/// How long a taker spins, watching for a new message, before it sleeps.
/// A message that follows within this time is taken without the two
/// system calls (and the scheduler's latency) of sleeping and waking; an
/// idle taker burns no more than this. Measured here: waking a sleeping
/// thread takes tens of microseconds on these virtual machines, so with
/// 5 µs one late reply made the answering side sleep too, and two threads
/// in a ping-pong kept waking each other that slow way (4-6 µs round
/// trips); from 10 µs on they stay awake (1.2 µs).
const SPIN_LIMIT: Duration = Duration::from_micros(10);

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
    state: Lock<Shared<S>>,
    pub takers: Signal,
    pub room: Signal,
}

/// Counts the messages added to a domain, so that a spinning taker can
/// see one arrive without taking the lock. Kept away from the lock's cache
/// line (see `Buffer` and `Listener`): a spinning taker reads it over and
/// over, and must not pull the line the producer locks back and forth.
#[derive(Default)]
pub(crate) struct Additions(AtomicU32);

impl Additions {
    /// Records an addition; called after the domain's lock is released,
    /// so that the spinning taker that sees it finds the lock free.
    pub fn note(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }

    /// The count, read before releasing the lock to spin; the count is
    /// only a hint (a taker looks under the lock after spinning), so a
    /// change it misses costs a sleep, never a message.
    pub fn seen(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    /// Spins (without the lock) until an addition after `seen` shows up,
    /// within the spinning time `budget` of one wait, which ends at the
    /// wait's `deadline` if that comes sooner; false when the budget is
    /// used up and the taker should sleep.
    pub fn spin_for_change(&self, seen: u32, budget: &mut SpinBudget, deadline: Option<Instant>) -> bool {
        let until = *budget.0.get_or_insert_with(|| {
            let spin_end = Instant::now() + SPIN_LIMIT;
            deadline.map_or(spin_end, |d| d.min(spin_end))
        });
        let left = until.saturating_duration_since(Instant::now());
        !left.is_zero() && spin_while(left, || self.0.load(Ordering::Acquire) == seen)
    }
}

/// The spinning time one wait may still use: a taker woken by an addition
/// that another taker then got first spins again, within the same few
/// microseconds, before it sleeps.
#[derive(Default)]
pub(crate) struct SpinBudget(Option<Instant>);

impl SpinBudget {
    pub fn used_up(&self) -> bool {
        self.0.is_some_and(|until| Instant::now() >= until)
    }
}

impl Additions {
}

impl<S> Domain<S> {
    pub fn new(data: S) -> Domain<S> {
        Domain {
            state: Lock::new(Shared { waiters: Waiters::default(), data }),
            takers: Signal::new(),
            room: Signal::new(),
        }
    }

    pub fn lock(&self) -> LockGuard<'_, Shared<S>> {
        self.state.lock()
    }

    /// Locks the domain if no other thread holds it (nonblock mode).
    pub fn try_lock(&self) -> Option<LockGuard<'_, Shared<S>>> {
        self.state.try_lock()
    }

    pub fn lock_or_try(&self, nonblock: bool) -> Option<LockGuard<'_, Shared<S>>> {
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
pub(crate) fn wake_takers(condvar: &Signal, waiters: &Waiters) {
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
pub(crate) fn wake_room(condvar: &Signal, waiters: &Waiters) {
    if waiters.room > 0 {
        condvar.notify_all();
    }
}

/// When a wait of `timeout` seconds starting now ends; `None` for ever.
pub(crate) fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}
