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

use crate::bias::{BiasedGuard, BiasedLock};
use crate::sync::{spin_while, CacheLine, Signal};

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
    state: CacheLine<BiasedLock<S>>,
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

    /// Sets the count to `count`, for the one thread that makes additions,
    /// the holder of a queue's feeding lock: a plain store. Takers about to
    /// sleep synchronize with that lock instead of relying on a barrier
    /// here (see `Core::synchronize_with_producers`).
    pub fn publish(&self, count: u64) {
        self.0.store(count, Ordering::Release);
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

/// Holds a taker back that is close behind a producer adding steadily
/// (see `Drain::close_behind`).
///
/// Such a taker reads each record and the count of added messages the
/// moment they are written, and so the very cache lines the producer
/// writes next: each of the producer's next stores to them waits for the
/// line to come back from the taker's core, its stores queue up, and once
/// the processor's store buffer is full the producer stalls. Measured here
/// through the C API: 8 million messages a second in that state, 25-30
/// when the taker lags behind and takes the messages in batches. Pausing
/// for about a microsecond (a pause instruction takes some 10 ns here)
/// lets the producer get a batch ahead: 18-30 million a second. (Shorter
/// pauses, or holding back as soon as the taker is close behind once,
/// left more runs in the slow state.) A taker that had to wait for its
/// message (a reply in a ping-pong) is not close behind: it never holds
/// back, and keeps its latency.
pub(crate) fn hold_back() {
    for _ in 0..HOLD_BACK_PAUSES {
        std::hint::spin_loop();
    }
}

const HOLD_BACK_PAUSES: u32 = 128;

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
        Domain { state: CacheLine(BiasedLock::new(data)), takers: Signal::new(), room: Signal::new() }
    }

    #[inline]
    pub fn lock(&self) -> BiasedGuard<'_, S> {
        self.state.lock(false).expect("blocking lock")
    }

    /// Locks the domain if no other thread holds it (nonblock mode).
    #[inline]
    pub fn lock_or_try(&self, nonblock: bool) -> Option<BiasedGuard<'_, S>> {
        self.state.lock(nonblock)
    }
}

/// When a wait of `timeout` seconds starting now ends; `None` for ever.
pub(crate) fn deadline(timeout: Option<Duration>) -> Option<Instant> {
    timeout.and_then(|t| Instant::now().checked_add(t))
}
