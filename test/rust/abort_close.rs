//! close and abort of one buffer or one listener (the process-wide abort
//! has its own test binary, abort_all.rs, as it affects every test).

mod common;

use std::time::{Duration, Instant};

use common::*;
use mtmsg::Object;
use mtmsg::{BufferRef, Error, ErrorKind, ListenerRef, NotifyKind, Progress, Sizes, Value};

fn kind<T>(result: Result<T, Error>) -> ErrorKind {
    result.expect_error().kind
}

/// Every buffer operation through `b` fails with `expected`.
fn assert_buffer_refuses_everything(b: &BufferRef, expected: ErrorKind) {
    let mut r = reader();
    let msg = [Value::Integer(1)];
    assert_eq!(kind(b.add(&msg)), expected, "add");
    assert_eq!(kind(b.set(&msg)), expected, "set");
    assert_eq!(kind(b.add_wait(&msg, Some(Duration::ZERO))), expected, "add_wait");
    assert_eq!(kind(b.take(&mut r, Some(Duration::ZERO))), expected, "take poll");
    assert_eq!(kind(b.take(&mut r, None)), expected, "take for ever");
    assert_eq!(kind(b.count()), expected, "count");
    assert_eq!(kind(b.clear()), expected, "clear");
    let other = new_buffer();
    assert_eq!(kind(b.set_notifier(NotifyKind::Added, Some(&other), None)), expected, "notifier");
}

/// A thread blocked in `take` on `b`.
fn blocked_taker(b: &BufferRef) -> Waiter<Result<Progress, ErrorKind>> {
    let b = b.clone();
    wait_in_thread(move || b.take(&mut reader(), LONG).map_err(|e| e.kind))
}

/// A thread blocked in `take` on `l`.
fn blocked_listener_taker(l: &ListenerRef) -> Waiter<Result<Progress, ErrorKind>> {
    let l = l.clone();
    wait_in_thread(move || l.take(&mut reader(), LONG).map_err(|e| e.kind))
}

// ---- close ----------------------------------------------------------------

#[test]
fn closed_buffer_refuses_every_operation_through_every_reference() {
    let b = new_buffer();
    add_str(&b, "dropped by close");
    let other = BufferRef::find_id(b.buffer().id()).unwrap();
    other.close();
    assert_buffer_refuses_everything(&b, ErrorKind::ObjectClosed);
    assert_buffer_refuses_everything(&other, ErrorKind::ObjectClosed);
    let err = b.count().expect_error();
    assert_eq!(err.to_string(), format!("mtmsg.error.object_closed: mtmsg.buffer(id={})", b.buffer().id()));
}

#[test]
fn closing_twice_is_harmless_and_cannot_be_undone() {
    let b = new_buffer();
    b.close();
    b.close();
    assert_eq!(kind(b.set_aborted(false)), ErrorKind::ObjectClosed);
    assert_eq!(kind(b.count()), ErrorKind::ObjectClosed);
}

#[test]
fn a_closed_buffer_refuses_its_flags_too() {
    let b = new_buffer();
    let other = b.clone();
    b.close();
    for r in [&b, &other] {
        assert_eq!(kind(r.set_nonblock(true)), ErrorKind::ObjectClosed, "nonblock");
        assert_eq!(kind(r.is_nonblock()), ErrorKind::ObjectClosed, "isnonblock");
        assert_eq!(kind(r.set_aborted(true)), ErrorKind::ObjectClosed, "abort");
        assert_eq!(kind(r.is_aborted()), ErrorKind::ObjectClosed, "isabort");
    }
    assert!(b.buffer().name().is_none() && b.buffer().id() > 0, "id and name still answer");
}

#[test]
fn a_closed_listener_and_its_buffers_refuse_their_flags_too() {
    let listener = ListenerRef::new(None).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    listener.close();
    assert_eq!(kind(listener.set_nonblock(true)), ErrorKind::ObjectClosed);
    assert_eq!(kind(listener.is_nonblock()), ErrorKind::ObjectClosed);
    assert_eq!(kind(listener.set_aborted(true)), ErrorKind::ObjectClosed);
    assert_eq!(kind(listener.is_aborted()), ErrorKind::ObjectClosed);
    assert_eq!(kind(b.set_nonblock(true)), ErrorKind::ObjectClosed);
    assert_eq!(kind(b.is_aborted()), ErrorKind::ObjectClosed);
    listener.close();
}

#[test]
fn close_wakes_a_blocked_take_with_object_closed() {
    let b = new_buffer();
    let taker = blocked_taker(&b);
    let closed = Instant::now();
    b.close();
    assert_eq!(taker.woken_by(closed), Err(ErrorKind::ObjectClosed));
}

#[test]
fn closed_listener_refuses_takes_and_closes_its_buffers() {
    let listener = ListenerRef::new(None).unwrap();
    let a = listener.new_buffer(None, Sizes::default()).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    add_str(&a, "a1");
    add_str(&b, "b1");
    listener.close();
    let mut r = reader();
    assert_eq!(kind(listener.take(&mut r, Some(Duration::ZERO))), ErrorKind::ObjectClosed);
    assert_eq!(kind(listener.take(&mut r, None)), ErrorKind::ObjectClosed);
    assert_eq!(kind(listener.clear()), ErrorKind::ObjectClosed);
    assert_eq!(kind(listener.new_buffer(None, Sizes::default())), ErrorKind::ObjectClosed);
    assert_buffer_refuses_everything(&a, ErrorKind::ObjectClosed);
    assert_buffer_refuses_everything(&b, ErrorKind::ObjectClosed);
}

#[test]
fn listener_close_wakes_its_blocked_takers() {
    let listener = ListenerRef::new(None).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    let on_listener = blocked_listener_taker(&listener);
    let on_buffer = blocked_taker(&b);
    let closed = Instant::now();
    listener.close();
    assert_eq!(on_listener.woken_by(closed), Err(ErrorKind::ObjectClosed));
    assert_eq!(on_buffer.woken_by(closed), Err(ErrorKind::ObjectClosed));
}

#[test]
fn closed_listener_buffer_leaves_the_listener_which_serves_the_others() {
    let listener = ListenerRef::new(None).unwrap();
    let a = listener.new_buffer(None, Sizes::default()).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    add_str(&a, "a1");
    add_str(&b, "b1");
    a.close();
    assert_eq!(take_all_strings(&listener), ["b1"]);
}

// ---- abort of one object ----------------------------------------------------

#[test]
fn aborted_buffer_refuses_every_operation_until_unaborted() {
    let b = new_buffer();
    add_str(&b, "kept");
    assert!(!b.is_aborted().unwrap());
    b.set_aborted(true).unwrap();
    assert!(b.is_aborted().unwrap());
    let other = BufferRef::find_id(b.buffer().id()).unwrap();
    assert!(other.is_aborted().unwrap(), "abort belongs to the buffer, not the reference");
    assert_buffer_refuses_everything(&b, ErrorKind::OperationAborted);
    assert_buffer_refuses_everything(&other, ErrorKind::OperationAborted);
    b.set_aborted(false).unwrap();
    assert!(!b.is_aborted().unwrap());
    assert_eq!(poll(&b), Some(vec![Owned::str("kept")]));
    add_str(&b, "works again");
    assert_eq!(poll(&other), Some(vec![Owned::str("works again")]));
}

#[test]
fn abort_wakes_a_blocked_take_with_operation_aborted() {
    let b = new_buffer();
    let taker = blocked_taker(&b);
    let aborted = Instant::now();
    b.set_aborted(true).unwrap();
    assert_eq!(taker.woken_by(aborted), Err(ErrorKind::OperationAborted));
    b.set_aborted(false).unwrap();
}

#[test]
fn aborting_one_buffer_leaves_others_alone() {
    let a = new_buffer();
    let b = new_buffer();
    a.set_aborted(true).unwrap();
    add_str(&b, "fine");
    assert_eq!(poll(&b), Some(vec![Owned::str("fine")]));
}

#[test]
fn aborted_listener_refuses_takes_and_its_buffers_until_unaborted() {
    let listener = ListenerRef::new(None).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    add_str(&b, "kept");
    listener.set_aborted(true).unwrap();
    assert!(listener.is_aborted().unwrap());
    let mut r = reader();
    assert_eq!(kind(listener.take(&mut r, None)), ErrorKind::OperationAborted);
    assert_eq!(kind(listener.clear()), ErrorKind::OperationAborted);
    assert_eq!(kind(listener.new_buffer(None, Sizes::default())), ErrorKind::OperationAborted);
    assert_buffer_refuses_everything(&b, ErrorKind::OperationAborted);
    listener.set_aborted(false).unwrap();
    assert!(!listener.is_aborted().unwrap());
    assert_eq!(take_all_strings(&listener), ["kept"]);
}

#[test]
fn listener_abort_wakes_its_blocked_takers() {
    let listener = ListenerRef::new(None).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    let on_listener = blocked_listener_taker(&listener);
    let on_buffer = blocked_taker(&b);
    let aborted = Instant::now();
    listener.set_aborted(true).unwrap();
    assert_eq!(on_listener.woken_by(aborted), Err(ErrorKind::OperationAborted));
    assert_eq!(on_buffer.woken_by(aborted), Err(ErrorKind::OperationAborted));
    listener.set_aborted(false).unwrap();
}
