//! Taking messages out of a buffer: by a thread in its `nextmsg`, or by
//! its listener's takers.

use std::sync::Arc;

use super::held::Held;
use super::notifier::{NotifyKind, Target};
use super::Buffer;
use crate::error::Error;
use crate::reference::Object;
use crate::listener::ready;
use crate::queue::{self, Drain};
use crate::reader::Reader;
use crate::sync::spin::SpinBudget;
use crate::wait::Wait;
use crate::Progress;

/// What a listener's taker took from one of its buffers.
pub(crate) struct Taken {
    /// The buffer has more messages (and goes back to the ready queue).
    pub more: bool,
    /// What to notify.
    pub target: Option<Target>,
    /// The buffer's descriptor needs an update.
    pub update_readiness: bool,
}

impl Buffer {
    /// Takes the oldest message into `reader`, waiting as `wait` allows.
    ///
    /// Waiting: the taker first spins (without the locks) while spinning
    /// pays off for this queue (`SpinHistory`), watching the count of
    /// added messages; then it counts itself a sleeper, goes through the
    /// feeding lock (see `Core::synchronize_with_producers`), looks once
    /// more under the draining lock and sleeps. A close or an abort sets
    /// its flag under the locks the taker looks at it under, and wakes
    /// after taking them.
    pub(crate) fn take(self: &Arc<Self>, reader: &mut Reader, wait: Wait, nonblock: bool) -> Result<Progress, Error> {
        let Some(mut held) = self.hold::<Drain>(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        let core = self.queue.core();
        if let Some(close_behind) = held.ends.close_behind() {
            if reader.hold_back.should_pause(close_behind) {
                drop(held);
                reader.hold_back.pause(|| core.additions().seen());
                held = self.hold_blocking::<Drain>();
            }
        }
        let deadline = wait.deadline();
        let mut timed_out = false;
        let mut budget = SpinBudget::Unused;
        let mut spinning = false;
        loop {
            self.check_usable()?;
            let taken = reader.take_from(&mut held.ends, &|| self.describe()).inspect_err(|_| {
                // This taker leaves the message queued: the wake-up it may
                // have used goes to another one, who may take it.
                core.takers.notify_one();
            })?;
            if taken {
                if spinning {
                    core.spin_history.record(true);
                }
                let update_readiness = self.is_watched() && held.ends.queued_after_take() == 0;
                held.leave_ready_if_empty(self);
                let target = held.notification(NotifyKind::Removed);
                drop(held);
                self.after_take(target, update_readiness);
                return Ok(Progress::Done);
            }
            if timed_out || nonblock || wait == Wait::Poll {
                return Ok(Progress::TimedOut);
            }
            budget.start(&core.spin_history, deadline);
            if !budget.used_up() {
                let seen = held.ends.seen_additions();
                drop(held);
                spinning = true;
                core.additions().spin_for_change(seen, &mut budget);
                held = self.hold_blocking::<Drain>();
                continue;
            }
            if spinning {
                core.spin_history.record(false);
                spinning = false;
            }
            let ticket = core.takers.prepare();
            drop(held);
            core.synchronize_with_producers();
            held = self.hold_blocking::<Drain>();
            if held.ends.is_empty() && self.check_usable().is_ok() {
                drop(held);
                timed_out = ticket.sleep(deadline);
                held = self.hold_blocking::<Drain>();
            }
        }
    }

    /// After a message was taken and the locks let go: producers waiting
    /// for room, the descriptor, and the "removed" notifier.
    pub(crate) fn after_take(&self, target: Option<Target>, update_readiness: bool) {
        self.wake_room();
        if update_readiness {
            self.update_readiness();
        }
        if let Some(target) = target {
            target.notify();
        }
    }

    /// Takes the oldest message of this listener buffer, just taken off its
    /// listener's ready queue, into `reader`, for the listener's taker,
    /// who holds the listener's lock. Says what the taker does next, once
    /// it let go of the listener's lock (`Buffer::after_take`).
    #[inline]
    pub(crate) fn take_for_listener(&self, reader: &mut Reader) -> Result<Taken, Error> {
        let drain = self.queue.core().lock_drain(false).expect("blocking lock");
        let mut held = Held { buffer: self, listener: None, ends: drain };
        let taken = reader.take_from(&mut held.ends, &|| self.describe())?;
        debug_assert!(taken, "listed buffers hold messages");
        let more = ready::stays_ready(&self.ready, &mut held.ends);
        let update_readiness = self.is_watched() && held.ends.queued_after_take() == 0;
        Ok(Taken { more, target: held.notification(NotifyKind::Removed), update_readiness })
    }

    /// Drops the messages (and, with `free`, the memory) of this listener
    /// buffer, taken off the ready queue (or never listed) by the caller,
    /// who holds the listener's lock.
    pub(crate) fn empty_for_listener(&self, free: bool) {
        let core = self.queue.core();
        let mut feed = core.lock_feed(false).expect("blocking lock");
        let mut drain = core.lock_drain(false).expect("blocking lock");
        if free {
            queue::free(&mut feed, &mut drain);
        } else {
            drain.clear();
        }
        ready::unlist(self);
        drop((feed, drain));
        self.update_readiness();
    }
}
