//! The one spin policy of the core: how long threads busy-wait before they
//! sleep, and why. Every busy wait of the core goes through here.
//!
//! Sleeping and waking a thread costs two system calls and the scheduler's
//! latency (tens of microseconds on the virtual machines measured), so a
//! thread that expects what it waits for within a few microseconds spins
//! first. Spinning is a bet: it pays when the awaited thread is running
//! and about to act, and burns a core when it is not (more threads than
//! cores). So a lock's waiter spins only briefly, and a taker spins only
//! as long as spinning has paid off for that queue lately ([`SpinHistory`]).
//!
//! Under loom nothing spins: every busy wait is one look, so that models
//! stay deterministic and small.

use std::time::{Duration, Instant};

use crate::primitive::atomic::{AtomicU32, Ordering};
use crate::primitive::spin_loop;

/// How long a thread spins for a taken [`Lock`](super::Lock) before it
/// sleeps: critical sections are a few dozen instructions, so the holder
/// is nearly always done by then, and under steady contention sleeping
/// soon lets one thread run several operations in a row (measured: longer
/// spins gave slower producer/consumer pairs).
pub(crate) const LOCK_SPIN: Duration = Duration::from_nanos(200);

/// How long a taker spins, watching for a new message, before it sleeps,
/// when spinning pays off. Measured here: waking a sleeping thread takes
/// tens of microseconds on these virtual machines, so with 5 µs one late
/// reply made the answering side sleep too, and two threads in a ping-pong
/// kept waking each other that slow way (4-6 µs round trips); from 10 µs
/// on they stay awake (about 1.2 µs).
pub(crate) const TAKER_SPIN: Duration = Duration::from_micros(10);

/// Spins while `waiting()` holds, for at most `limit`; returns true when
/// `waiting()` stopped holding in time. The condition is looked at every
/// few pause instructions (a pause takes about 10 ns here), so the spinner
/// notices a change within some 100 ns; the clock is read every 16 looks.
/// (Yielding the processor between looks was tried: on these virtual
/// machines a `sched_yield` costs more than the whole wait it would save.)
pub(crate) fn spin_while(limit: Duration, mut waiting: impl FnMut() -> bool) -> bool {
    if cfg!(loom) {
        return !waiting();
    }
    let start = Instant::now();
    let mut looks = 0u32;
    loop {
        for _ in 0..(1u32 << (looks / 8).min(3)) {
            spin_loop();
        }
        if !waiting() {
            return true;
        }
        looks += 1;
        if looks.is_multiple_of(16) && start.elapsed() >= limit {
            return false;
        }
    }
}

/// Whether taking from one queue (a buffer's, or a listener's) lately
/// found its message by spinning, or had to sleep anyway: the takers of
/// that queue spin only while spinning pays off.
///
/// A score from 0 to [`SpinHistory::FULL`]: a spin that saw the message
/// come adds [`SpinHistory::PAID`], one that ended in sleep takes one off;
/// takers spin while the score is above 0. So spinning goes on while at
/// least a third of the spins pay off. At 0, every
/// [`SpinHistory::PROBE_EVERY`]th wait spins all the same, to notice when
/// spinning pays again (the threads that outnumbered the cores are gone).
/// Measured on 2 cores: one producer/consumer pair needs the spin (1.1-1.4
/// million round trips a second with it, 35,000 without); 32 pairs on 2
/// cores lose with it (the thread a spinner waits for is rarely running:
/// 120,000-220,000 messages a second and twice the CPU, against 330,000-380,000
/// without).
///
/// Takers update it with relaxed read-modify-writes: it is a hint, and a
/// lost update only makes one more or one fewer spin.
pub(crate) struct SpinHistory(AtomicU32);

impl SpinHistory {
    const FULL: u32 = 8;
    const PAID: u32 = 2;
    const PROBE_EVERY: u32 = 32;
    /// The score is in the low byte; the rest counts waits at a score of 0.
    const SCORE_MASK: u32 = 0xff;
    const WAIT_UNIT: u32 = 0x100;

    pub(crate) fn new() -> SpinHistory {
        SpinHistory(AtomicU32::new(Self::FULL))
    }

    /// Whether the wait starting now should spin first.
    pub(crate) fn should_spin(&self) -> bool {
        let state = self.0.load(Ordering::Relaxed);
        if state & Self::SCORE_MASK > 0 {
            return true;
        }
        let waits = self.0.fetch_add(Self::WAIT_UNIT, Ordering::Relaxed) / Self::WAIT_UNIT;
        (waits + 1).is_multiple_of(Self::PROBE_EVERY)
    }

    /// Records how a spin ended: with the message (`paid`), or in sleep.
    pub(crate) fn record(&self, paid: bool) {
        let _ = self.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |state| {
            let score = state & Self::SCORE_MASK;
            let score = if paid { (score + Self::PAID).min(Self::FULL) } else { score.saturating_sub(1) };
            Some(state & !Self::SCORE_MASK | score)
        });
    }
}

/// The spinning one wait of a taker may still do: a taker woken by an
/// addition that another taker then took first spins again, within the
/// same few microseconds, before it sleeps.
pub(crate) enum SpinBudget {
    /// Not decided yet: the first look found nothing.
    Unused,
    /// Spinning until this instant at the latest.
    Until(Instant),
    /// No more spinning in this wait.
    UsedUp,
}

impl SpinBudget {
    /// Starts the budget of a wait ending at `deadline` (`None`: never),
    /// if `history` says spinning pays.
    pub(crate) fn start(&mut self, history: &SpinHistory, deadline: Option<Instant>) {
        if !matches!(self, SpinBudget::Unused) {
            return;
        }
        *self = if history.should_spin() && !cfg!(loom) {
            let spin_end = Instant::now() + TAKER_SPIN;
            SpinBudget::Until(deadline.map_or(spin_end, |d| d.min(spin_end)))
        } else {
            SpinBudget::UsedUp
        };
    }

    /// Spins while `unchanged()` holds, within the budget; true when it
    /// stopped holding (something to look at), false when the budget is
    /// used up and the taker should sleep.
    pub(crate) fn spin(&mut self, unchanged: impl FnMut() -> bool) -> bool {
        let SpinBudget::Until(until) = *self else { return false };
        let left = until.saturating_duration_since(Instant::now());
        if !left.is_zero() && spin_while(left, unchanged) {
            return true;
        }
        *self = SpinBudget::UsedUp;
        false
    }

    pub(crate) fn used_up(&self) -> bool {
        matches!(self, SpinBudget::UsedUp)
    }
}

/// At most this many messages found after taking all the known ones make a
/// taker close behind its producer (see [`HoldBack`]).
pub(crate) const CLOSE_BEHIND: u64 = 16;

/// Whether a taker holds back when it finds itself close behind a
/// producer adding steadily (`Drain::close_behind`), kept per reader (one
/// taking thread).
///
/// Such a taker reads each record and the count of added messages the
/// moment they are written, and so the very cache lines the producer
/// writes next: each of the producer's next stores to them waits for the
/// line to come back from the taker's core, its stores queue up, and once
/// the processor's store buffer is full the producer stalls. Measured here
/// through the C API: 8 million messages a second in that state, 18-35
/// when a pause of about a microsecond lets the producer get a batch
/// ahead. A taker that had to wait for its message (a reply in a
/// ping-pong) is not close behind and never holds back.
///
/// The pause pays only when the producer does add during it. When it does
/// not (the taking thread is the producer itself, or the producer adds at
/// a moderate rate, where each pause would only add latency) the taker
/// stops holding back for a number of opportunities that doubles with
/// each pause that did not pay, up to [`HoldBack::MAX_SKIP`].
#[derive(Debug, Default)]
pub(crate) struct HoldBack {
    /// Close behind at the last take, too.
    close_behind_before: bool,
    /// Opportunities still to let pass without holding back.
    skip: u32,
    /// What `skip` starts at after the next pause that does not pay.
    penalty: u32,
}

impl HoldBack {
    const PAUSES: u32 = 128;
    const MAX_SKIP: u32 = 4096;

    /// Whether a taker that is `close_behind` its producer now should
    /// pause: for the second time in a row, and holding back paid lately.
    pub(crate) fn should_pause(&mut self, close_behind: bool) -> bool {
        let twice = close_behind && self.close_behind_before;
        self.close_behind_before = close_behind;
        if !twice || cfg!(loom) {
            return false;
        }
        if self.skip > 0 {
            self.skip -= 1;
            return false;
        }
        true
    }

    /// Pauses about a microsecond (without the taker's lock), watching
    /// `additions`, the producer's count of added messages, to learn
    /// whether the pause paid.
    pub(crate) fn pause(&mut self, additions: impl Fn() -> u64) {
        let before = additions();
        for _ in 0..Self::PAUSES {
            spin_loop();
        }
        if additions() == before {
            self.penalty = (self.penalty * 2).clamp(1, Self::MAX_SKIP);
            self.skip = self.penalty;
        } else {
            self.penalty = 0;
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_taker_holds_back_only_when_close_behind_twice_in_a_row() {
        let mut hold_back = HoldBack::default();
        assert!(!hold_back.should_pause(true), "once");
        assert!(hold_back.should_pause(true), "twice");
        assert!(!hold_back.should_pause(false));
        assert!(!hold_back.should_pause(true), "once again");
    }

    #[test]
    fn pauses_that_see_no_addition_are_skipped_for_longer_and_longer() {
        let mut hold_back = HoldBack::default();
        let mut paused = Vec::new();
        for _ in 0..40 {
            let pause = hold_back.should_pause(true);
            if pause {
                hold_back.pause(|| 7); // the producer adds nothing meanwhile
            }
            paused.push(pause);
        }
        let pauses: Vec<usize> = paused.iter().enumerate().filter(|(_, p)| **p).map(|(i, _)| i).collect();
        // Skipped 1, 2, 4, 8, 16 opportunities after each useless pause.
        assert_eq!(pauses, [1, 3, 6, 11, 20, 37]);
    }

    #[test]
    fn a_pause_that_sees_the_producer_add_keeps_the_taker_holding_back() {
        let mut hold_back = HoldBack::default();
        let added = std::cell::Cell::new(0);
        hold_back.should_pause(true);
        for _ in 0..10 {
            assert!(hold_back.should_pause(true));
            hold_back.pause(|| {
                added.set(added.get() + 1);
                added.get()
            });
        }
    }

    #[test]
    fn takers_stop_spinning_when_spins_do_not_pay_and_probe_now_and_then() {
        let history = SpinHistory::new();
        for _ in 0..SpinHistory::FULL {
            assert!(history.should_spin());
            history.record(false);
        }
        let spins = (0..64).filter(|_| history.should_spin()).count();
        assert_eq!(spins, 2, "one probe in {}", SpinHistory::PROBE_EVERY);
        history.record(true);
        assert!(history.should_spin(), "a probe that paid brings spinning back");
    }
}
