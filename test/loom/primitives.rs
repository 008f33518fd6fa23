//! The lock and the signal alone (`src/sync/`).

use std::sync::Arc;

use super::{check, check_with, spawn};
use crate::primitive::atomic::{fence, AtomicBool, Ordering};
use crate::sync::{Lock, Signal};

/// Three threads add to a counter under the lock: loom's cell (the lock's
/// value) sees every unordered access, and no thread sleeps on for ever
/// (the unlock that finds `SLEEPERS` wakes one).
#[test]
fn a_lock_excludes_and_every_sleeper_wakes() {
    check(|| {
        let lock = Arc::new(Lock::new(0u32));
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let lock = lock.clone();
                spawn(move || *lock.lock() += 1)
            })
            .collect();
        *lock.lock() += 1;
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*lock.lock(), 3);
    });
}

/// `try_lock` never takes a held lock, and what it guards stays ordered.
#[test]
fn try_lock_never_takes_a_held_lock() {
    check_with(3, || {
        let lock = Arc::new(Lock::new(0u32));
        let other = {
            let lock = lock.clone();
            spawn(move || lock.try_lock().map(|mut value| *value += 1).is_some() as u32)
        };
        *lock.lock() += 1;
        let took = other.join().unwrap();
        assert_eq!(*lock.lock(), 1 + took);
    });
}

/// The third way of `Signal`'s protocol: a notifier that holds no lock
/// changes the condition, makes a full fence and notifies; the waiter
/// prepares (which ends with a fence) and then looks. It never sleeps
/// through the change.
#[test]
fn a_signal_notified_after_a_fence_is_never_missed() {
    check_with(3, || {
        let shared = Arc::new((AtomicBool::new(false), Signal::new()));
        let waiter = {
            let shared = shared.clone();
            spawn(move || loop {
                let ticket = shared.1.prepare();
                if shared.0.load(Ordering::Relaxed) {
                    return;
                }
                ticket.sleep(None);
            })
        };
        shared.0.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        shared.1.notify_one();
        waiter.join().unwrap();
    });
}

/// The first way: the condition changes under a lock, the waiter counts
/// itself and looks under the same lock, the notifier looks for sleepers
/// after letting go.
#[test]
fn a_signal_ordered_by_a_lock_is_never_missed() {
    check_with(3, || {
        let shared = Arc::new((Lock::new(false), Signal::new()));
        let waiter = {
            let shared = shared.clone();
            spawn(move || loop {
                let condition = shared.0.lock();
                let ticket = shared.1.prepare();
                if *condition {
                    return;
                }
                drop(condition);
                ticket.sleep(None);
            })
        };
        *shared.0.lock() = true;
        shared.1.notify_all();
        waiter.join().unwrap();
    });
}
