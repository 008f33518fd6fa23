//! The count of additions a spinning taker watches without taking a lock:
//! the messages added to a buffer's queue (its published count), or the
//! buffers of a listener that became ready.

use super::spin::SpinBudget;
use crate::primitive::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub(crate) struct Additions(AtomicU64);

impl Additions {
    /// Records one addition, for counts that several threads make (a
    /// listener's). Release: what was added before is visible to a thread
    /// that sees the count.
    pub fn note(&self) {
        self.0.fetch_add(1, Ordering::Release);
    }

    /// Sets the count to `count`, for the one thread that makes additions
    /// (the holder of a queue's feeding lock): a store alone. (Adding one
    /// in place would first read the count, and so wait for its cache line
    /// to come back from the consumer, who keeps reading it.) Release: the
    /// message's record is complete before the count shows it.
    pub fn publish(&self, count: u64) {
        self.0.store(count, Ordering::Release);
    }

    /// The count: everything it shows was added and published in full.
    #[inline]
    pub fn seen(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }

    /// Spins (without a lock) while the count is still `seen`, within the
    /// budget of one wait: true when it changed, false when the budget is
    /// used up and the taker should sleep.
    pub fn spin_for_change(&self, seen: u64, budget: &mut SpinBudget) -> bool {
        budget.spin(|| self.0.load(Ordering::Relaxed) == seen)
    }
}
