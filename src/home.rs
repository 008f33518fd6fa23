//! Lock domains and the spinning of takers.
//!
//! A listener is a lock domain: its lock guards the queue of its buffers
//! that hold messages, which makes its round-robin order and its single
//! wait for all its buffers simple and exact. Its takers take that lock
//! first; producers take it only when a buffer becomes ready. Each
//! buffer's queue has two locks of its own, for producers and takers (see
//! `queue.rs`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::sync::{spin_while, CacheLine, Lock, LockGuard, Signal};

/// How long a taker spins, watching for a new message, before it sleeps.
/// A message that follows within this time is taken without the two
/// system calls (and the scheduler's latency) of sleeping and waking; an
/// idle taker burns no more than this. Measured here: waking a sleeping
/// thread takes tens of microseconds on these virtual machines, so with
/// 5 µs one late reply made the answering side sleep too, and two threads
/// in a ping-pong kept waking each other that slow way (4-6 µs round
/// trips); from 10 µs on they stay awake (1.2 µs).
const SPIN_LIMIT: Duration = Duration::from_micros(10);

/// A lock, the state it guards, and the two conditions threads wait for.
/// The lock is on cache lines of its own: the signals' sleeper counts are
/// read by producers that do not take it.
pub(crate) struct Domain<S> {
    state: CacheLine<Lock<S>>,
    pub takers: Signal,
    pub room: Signal,
}

/// Counts additions a spinning taker watches for without taking a lock:
/// the messages added to a buffer's queue, or the buffers of a listener
/// that became ready.
#[derive(Default)]
pub(crate) struct Additions(AtomicU64);

impl Additions {
    /// Records an addition. Sequentially consistent: a taker about to
    /// sleep counts itself a sleeper and then looks at this count, the
    /// adder notes the addition and then looks for sleepers (see
    /// [`Signal`]).
    pub fn note(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }

    /// The count. Whatever it shows was added and published in full.
    pub fn seen(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Spins (without the lock) until an addition after `seen` shows up,
    /// within the spinning time `budget` of one wait, which ends at the
    /// wait's `deadline` if that comes sooner; false when the budget is
    /// used up and the taker should sleep.
    pub fn spin_for_change(&self, seen: u64, budget: &mut SpinBudget, deadline: Option<Instant>) -> bool {
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

impl<S> Domain<S> {
    pub const fn new(data: S) -> Domain<S> {
        Domain { state: CacheLine(Lock::new(data)), takers: Signal::new(), room: Signal::new() }
    }

    pub fn lock(&self) -> LockGuard<'_, S> {
        self.state.lock()
    }

    /// Locks the domain if no other thread holds it (nonblock mode).
    pub fn lock_or_try(&self, nonblock: bool) -> Option<LockGuard<'_, S>> {
        if nonblock {
            self.state.try_lock()
        } else {
            Some(self.lock())
        }
    }
}

/// When a wait of `timeout` seconds starting now ends; `None` for ever.
pub(crate) fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}
