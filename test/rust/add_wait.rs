//! `add_wait`: a producer waits, with an optional timeout, until a
//! fixed-size buffer has room.

mod common;

use std::time::{Duration, Instant};

use common::*;
use mtmsg::{encoded_message_size, BufferRef, ErrorKind, ListenerRef, Progress, Sizes, Value};

fn int(i: i64) -> [Value<'static>; 1] {
    [Value::Integer(i)]
}

/// A fixed buffer holding exactly `n` one-integer messages, full.
fn full_buffer(n: usize) -> BufferRef {
    let one = encoded_message_size(&int(0));
    let b = BufferRef::new(None, fixed(one, n * one)).unwrap();
    for i in 0..n {
        assert_eq!(b.add(&int(i as i64)).unwrap(), Progress::Done);
    }
    assert_eq!(b.add(&int(-1)).unwrap(), Progress::WouldBlock);
    b
}

/// A thread waiting in `add_wait(value)` on a clone of `b`.
fn waiting_producer(b: &BufferRef, value: i64) -> Waiter<Result<Progress, ErrorKind>> {
    let b = b.clone();
    wait_in_thread(move || b.add_wait(&int(value), LONG).map_err(|e| e.kind))
}

#[test]
fn add_wait_adds_at_once_when_there_is_room() {
    let b = BufferRef::new(None, fixed(64, 64)).unwrap();
    let start = Instant::now();
    assert_eq!(b.add_wait(&int(1), Some(Duration::from_secs(5))).unwrap(), Progress::Done);
    assert_eq!(b.add_wait(&int(2), None).unwrap(), Progress::Done);
    assert!(start.elapsed() < Duration::from_millis(500));
    assert_eq!(b.count().unwrap(), 2);
}

#[test]
fn add_wait_never_waits_on_a_growing_buffer() {
    let b = BufferRef::new(None, Sizes::new(4, 4, 2.0).unwrap()).unwrap();
    for i in 0..1000 {
        assert_eq!(b.add_wait(&int(i), None).unwrap(), Progress::Done);
    }
}

#[test]
fn add_wait_times_out_on_a_full_buffer_without_adding() {
    let b = full_buffer(2);
    let start = Instant::now();
    assert_eq!(b.add_wait(&int(9), Some(Duration::from_millis(200))).unwrap(), Progress::TimedOut);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(200), "returned after {waited:?}");
    assert!(waited < Duration::from_secs(2), "returned after {waited:?}");
    assert_eq!(b.count().unwrap(), 2);
}

#[test]
fn add_wait_with_zero_timeout_polls() {
    let b = full_buffer(1);
    let start = Instant::now();
    assert_eq!(b.add_wait(&int(9), Some(Duration::ZERO)).unwrap(), Progress::TimedOut);
    assert!(start.elapsed() < Duration::from_millis(100));
}

#[test]
fn add_wait_is_woken_by_a_take_and_adds_behind_the_others() {
    let b = full_buffer(2);
    let producer = waiting_producer(&b, 2);
    assert_eq!(b.count().unwrap(), 2, "still waiting");
    let taken = Instant::now();
    assert_eq!(poll(&b), Some(vec![Owned::Integer(0)]));
    assert_eq!(producer.woken_by(taken), Ok(Progress::Done));
    assert_eq!(poll(&b), Some(vec![Owned::Integer(1)]));
    assert_eq!(poll(&b), Some(vec![Owned::Integer(2)]));
}

#[test]
fn add_wait_is_woken_by_clear() {
    let b = full_buffer(2);
    let producer = waiting_producer(&b, 7);
    let cleared = Instant::now();
    b.clear().unwrap();
    assert_eq!(producer.woken_by(cleared), Ok(Progress::Done));
    assert_eq!(poll(&b), Some(vec![Owned::Integer(7)]));
}

#[test]
fn add_wait_is_woken_by_setmsg() {
    let b = full_buffer(2);
    let producer = waiting_producer(&b, 7);
    let set = Instant::now();
    b.set(&int(5)).unwrap();
    assert_eq!(producer.woken_by(set), Ok(Progress::Done));
    assert_eq!(poll(&b), Some(vec![Owned::Integer(5)]));
    assert_eq!(poll(&b), Some(vec![Owned::Integer(7)]));
}

fn full_listener_buffer() -> (ListenerRef, BufferRef) {
    let listener = ListenerRef::new(None).unwrap();
    let one = encoded_message_size(&int(0));
    let b = listener.new_buffer(None, fixed(one, one)).unwrap();
    b.add(&int(1)).unwrap();
    (listener, b)
}

#[test]
fn add_wait_on_a_listener_buffer_is_woken_by_the_listeners_take() {
    let (listener, b) = full_listener_buffer();
    let producer = waiting_producer(&b, 2);
    let mut r = reader();
    let taken = Instant::now();
    assert_eq!(listener.take(&mut r, None).unwrap(), Progress::Done);
    assert_eq!(producer.woken_by(taken), Ok(Progress::Done));
    assert_eq!(listener.take(&mut r, None).unwrap(), Progress::Done);
    assert_eq!(drain(&mut r), vec![Owned::Integer(2)]);
}

#[test]
fn add_wait_on_a_listener_buffer_is_woken_by_listener_clear() {
    let (listener, b) = full_listener_buffer();
    let producer = waiting_producer(&b, 2);
    let cleared = Instant::now();
    listener.clear().unwrap();
    assert_eq!(producer.woken_by(cleared), Ok(Progress::Done));
}

#[test]
fn add_wait_is_woken_by_close_with_object_closed() {
    let b = full_buffer(1);
    let producer = waiting_producer(&b, 2);
    let closed = Instant::now();
    b.close();
    assert_eq!(producer.woken_by(closed), Err(ErrorKind::ObjectClosed));
}

#[test]
fn add_wait_is_woken_by_abort_with_operation_aborted() {
    let b = full_buffer(1);
    let producer = waiting_producer(&b, 2);
    let aborted = Instant::now();
    b.set_aborted(true).unwrap();
    assert_eq!(producer.woken_by(aborted), Err(ErrorKind::OperationAborted));
    b.set_aborted(false).unwrap();
    assert_eq!(b.count().unwrap(), 1);
}

#[test]
fn add_wait_on_a_listener_buffer_is_woken_by_listener_close() {
    let (listener, b) = full_listener_buffer();
    let producer = waiting_producer(&b, 2);
    let closed = Instant::now();
    listener.close();
    assert_eq!(producer.woken_by(closed), Err(ErrorKind::ObjectClosed));
}

#[test]
fn add_wait_on_a_listener_buffer_is_woken_by_listener_abort() {
    let (listener, b) = full_listener_buffer();
    let producer = waiting_producer(&b, 2);
    let aborted = Instant::now();
    listener.set_aborted(true).unwrap();
    assert_eq!(producer.woken_by(aborted), Err(ErrorKind::OperationAborted));
}

#[test]
fn several_waiting_producers_all_get_in_as_room_appears() {
    let b = full_buffer(1);
    let producers: Vec<_> = (10..14).map(|v| waiting_producer(&b, v)).collect();
    let mut got = Vec::new();
    let mut r = reader();
    let first_take = Instant::now();
    while got.len() < 5 {
        assert_eq!(b.take(&mut r, LONG).unwrap(), Progress::Done);
        match r.next() {
            Some(Value::Integer(i)) => got.push(i),
            other => panic!("got {other:?}"),
        }
    }
    for p in producers {
        assert_eq!(p.woken_by(first_take), Ok(Progress::Done));
    }
    got.sort_unstable();
    assert_eq!(got, [0, 10, 11, 12, 13]);
}
