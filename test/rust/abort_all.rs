//! The process-wide abort (`abort_all`) and the `sleep` it interrupts.
//!
//! A global abort hits every test running in this process, so this binary
//! holds only these tests and runs them one at a time (`serial()`); each
//! un-aborts when it ends, even when it fails.

mod common;

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use mtmsg::Object;
use mtmsg::{abort_all, is_aborted, sleep, time, BufferRef, ErrorKind, ListenerRef, Progress, Sizes, Value};

/// Held by a test for its whole run; un-aborts when dropped.
struct Serial(#[allow(dead_code)] MutexGuard<'static, ()>);

impl Drop for Serial {
    fn drop(&mut self) {
        abort_all(false);
    }
}

fn serial() -> Serial {
    static LOCK: Mutex<()> = Mutex::new(());
    let guard = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
    abort_all(false);
    Serial(guard)
}

#[test]
fn abort_all_refuses_every_operation_creation_and_lookup_until_undone() {
    let _serial = serial();
    let b = new_buffer();
    add_str(&b, "kept");
    let listener = ListenerRef::new(None).unwrap();
    let lb = listener.new_buffer(None, Sizes::default()).unwrap();

    abort_all(true);
    assert!(is_aborted());
    let mut r = reader();
    let aborted = ErrorKind::OperationAborted;
    assert_eq!(b.add(&[Value::Nil]).expect_error().kind, aborted);
    assert_eq!(b.set(&[Value::Nil]).expect_error().kind, aborted);
    assert_eq!(b.take(&mut r, Some(Duration::ZERO)).expect_error().kind, aborted);
    assert_eq!(b.count().expect_error().kind, aborted);
    assert_eq!(b.clear().expect_error().kind, aborted);
    assert_eq!(b.set_notifier(mtmsg::NotifyKind::Added, Some(&lb), None).expect_error().kind, aborted);
    assert_eq!(lb.add(&[Value::Nil]).expect_error().kind, aborted);
    assert_eq!(listener.take(&mut r, None).expect_error().kind, aborted);
    assert_eq!(listener.clear().expect_error().kind, aborted);
    assert_eq!(BufferRef::new(None, Sizes::default()).expect_error().kind, aborted);
    assert_eq!(ListenerRef::new(None).expect_error().kind, aborted);
    assert_eq!(listener.new_buffer(None, Sizes::default()).expect_error().kind, aborted);
    assert_eq!(BufferRef::find_id(b.buffer().id()).expect_error().kind, aborted);
    assert_eq!(ListenerRef::find_id(listener.listener().id()).expect_error().kind, aborted);
    assert_eq!(sleep(Some(Duration::from_millis(1))).expect_error().kind, aborted);

    abort_all(false);
    assert!(!is_aborted());
    assert_eq!(poll(&b), Some(vec![Owned::str("kept")]));
    assert!(BufferRef::new(None, Sizes::default()).is_ok());
    assert_eq!(BufferRef::find_id(b.buffer().id()).unwrap().buffer().id(), b.buffer().id());
    add_str(&lb, "after");
    assert_eq!(take_all_strings(&listener), ["after"]);
}

#[test]
fn abort_all_wakes_every_blocked_thread() {
    let _serial = serial();
    let b = new_buffer();
    let listener = ListenerRef::new(None).unwrap();
    let lb = listener.new_buffer(None, Sizes::default()).unwrap();
    let full = BufferRef::new(None, fixed(16, 16)).unwrap();
    full.add(&[Value::Integer(0)]).unwrap();

    let long = Some(Duration::from_secs(10));
    let threads: Vec<thread::JoinHandle<Result<(), ErrorKind>>> = vec![
        {
            let b = b.clone();
            thread::spawn(move || b.take(&mut reader(), long).map(|_| ()).map_err(|e| e.kind))
        },
        {
            let listener = listener.clone();
            thread::spawn(move || listener.take(&mut reader(), long).map(|_| ()).map_err(|e| e.kind))
        },
        {
            let lb = lb.clone();
            thread::spawn(move || lb.take(&mut reader(), long).map(|_| ()).map_err(|e| e.kind))
        },
        {
            let full = full.clone();
            thread::spawn(move || full.add_wait(&[Value::Integer(1)], long).map(|_| ()).map_err(|e| e.kind))
        },
        thread::spawn(|| sleep(Some(Duration::from_secs(10))).map_err(|e| e.kind)),
    ];
    thread::sleep(Duration::from_millis(150));
    let start = Instant::now();
    abort_all(true);
    for t in threads {
        assert_eq!(t.join().unwrap(), Err(ErrorKind::OperationAborted));
    }
    assert!(start.elapsed() < Duration::from_secs(5), "woke after {:?}", start.elapsed());
}

#[test]
fn abort_all_wakes_a_thread_waiting_on_a_buffer_only_it_references() {
    // The waiting thread holds the only reference (found by id); the
    // abort must still reach it.
    let _serial = serial();
    let id = {
        let b = new_buffer();
        let id = b.buffer().id();
        let found = BufferRef::find_id(id).unwrap();
        let t = thread::spawn(move || found.take(&mut reader(), Some(Duration::from_secs(10))).map_err(|e| e.kind));
        thread::sleep(Duration::from_millis(50));
        drop(b);
        thread::sleep(Duration::from_millis(50));
        abort_all(true);
        assert_eq!(t.join().unwrap(), Err(ErrorKind::OperationAborted));
        id
    };
    abort_all(false);
    assert_eq!(BufferRef::find_id(id).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn sleep_suspends_for_the_given_time() {
    let _serial = serial();
    let start = Instant::now();
    sleep(Some(Duration::from_millis(100))).unwrap();
    let slept = start.elapsed();
    assert!(slept >= Duration::from_millis(100), "slept {slept:?}");
    assert!(slept < Duration::from_secs(2), "slept {slept:?}");
    assert!(sleep(Some(Duration::ZERO)).is_ok());
}

#[test]
fn time_is_seconds_since_the_epoch_with_sub_millisecond_steps() {
    let _serial = serial();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let t = time();
    assert!((t - now).abs() < 1.0, "{t} vs {now}");
    let start = time();
    sleep(Some(Duration::from_millis(2))).unwrap();
    let step = time() - start;
    assert!((0.0019..1.0).contains(&step), "step {step}");
}

#[test]
fn take_returns_timed_out_not_aborted_after_abort_was_undone() {
    // Un-aborting does not leave stale state: a later wait times out normally.
    let _serial = serial();
    let b = new_buffer();
    abort_all(true);
    abort_all(false);
    let mut r = reader();
    assert_eq!(b.take(&mut r, Some(Duration::from_millis(20))).unwrap(), Progress::TimedOut);
}
