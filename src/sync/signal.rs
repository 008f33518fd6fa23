//! A condition threads wait for and others announce, as an event count.
//!
//! A waiter first counts itself a sleeper ([`Signal::prepare`], which ends
//! with a full fence), then looks at its condition once more, and sleeps
//! ([`Ticket::sleep`]) only while no notification came after it prepared.
//! A notifier changes the condition first and then looks for sleepers
//! ([`Signal::notify_one`], [`Signal::notify_all`]); it bumps the event
//! count and wakes (a system call) only when it sees one.
//!
//! The invariant every user must keep: for each waiter and notifier, the
//! waiter's count as a sleeper is visible to the notifier's look, or the
//! notifier's change is visible to the waiter's look. Three ways are used:
//! - both the change and the waiter's count-then-look happen under one
//!   lock, and the notifier looks after taking it (lock order);
//! - the waiter, after counting itself, goes through the lock the change
//!   was made under (`Lock::synchronize`) before it looks, and the notifier
//!   looks after letting go of that lock;
//! - the notifier makes a `fence(SeqCst)` between its change and its look,
//!   pairing with the fence that ends `prepare`.
//!
//! The tickets' event count then closes the remaining gap: a notification
//! that comes after the waiter prepared changes the count the waiter sleeps
//! on, so the sleep returns at once.

use std::time::Instant;

use crate::primitive::atomic::{fence, AtomicU32, Ordering};
use crate::sys::WaitWord;

pub(crate) struct Signal {
    events: WaitWord,
    sleepers: AtomicU32,
}

/// One thread's pending wait on a [`Signal`]; it stops counting as a
/// sleeper when dropped.
pub(crate) struct Ticket<'a> {
    signal: &'a Signal,
    events: u32,
}

impl Signal {
    pub fn new() -> Signal {
        Signal { events: WaitWord::new(0), sleepers: AtomicU32::new(0) }
    }

    /// Counts the caller as a sleeper; see the module's protocol for what
    /// the caller must do before it sleeps with the ticket.
    pub fn prepare(&self) -> Ticket<'_> {
        self.sleepers.fetch_add(1, Ordering::Relaxed);
        let events = self.events.load(Ordering::Relaxed);
        fence(Ordering::SeqCst);
        Ticket { signal: self, events }
    }

    #[inline]
    pub fn notify_one(&self) {
        self.notify(1);
    }

    #[inline]
    pub fn notify_all(&self) {
        self.notify(u32::MAX);
    }

    #[inline]
    fn notify(&self, count: u32) {
        if self.sleepers.load(Ordering::Relaxed) > 0 {
            self.wake(count);
        }
    }

    #[cold]
    fn wake(&self, count: u32) {
        self.events.fetch_add(1, Ordering::Relaxed);
        self.events.wake(count);
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
        self.signal.events.wait(self.events, timeout);
        deadline.is_some_and(|d| Instant::now() >= d)
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.signal.sleepers.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::primitive::atomic::AtomicU32;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_signal_wakes_a_waiter_and_times_out_without_one() {
        let shared = Arc::new((AtomicU32::new(0), Signal::new()));
        let waiter = {
            let shared = shared.clone();
            std::thread::spawn(move || loop {
                let ticket = shared.1.prepare();
                if shared.0.load(Ordering::Relaxed) != 0 {
                    return;
                }
                ticket.sleep(None);
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        shared.0.store(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        shared.1.notify_one();
        waiter.join().unwrap();
        let start = Instant::now();
        assert!(shared.1.prepare().sleep(Some(start + Duration::from_millis(50))));
        assert!(start.elapsed() >= Duration::from_millis(50));
        assert_eq!(shared.1.sleepers.load(Ordering::Relaxed), 0, "tickets stop counting when dropped");
    }
}
