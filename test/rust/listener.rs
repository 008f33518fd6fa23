//! Listeners in one thread: round-robin order, setmsg keeping a
//! buffer's place, delivery from dropped buffers, `no_buffers`, lookup.

mod common;

use std::time::Duration;

use common::*;
use mtmsg::Object;
use mtmsg::{encoded_message_size, BufferRef, ErrorKind, ListenerRef, Progress, Sizes, Value};

fn listener_with_buffers(n: usize) -> (ListenerRef, Vec<BufferRef>) {
    let listener = ListenerRef::new(None).unwrap();
    let buffers = (0..n).map(|_| listener.new_buffer(None, Sizes::default()).unwrap()).collect();
    (listener, buffers)
}

#[test]
fn seed_example_yields_m1_m4_m3_m5() {
    let (listener, b) = listener_with_buffers(2);
    add_str(&b[0], "m1");
    add_str(&b[1], "m2");
    add_str(&b[0], "m3");
    set_str(&b[1], "m4"); // replaces m2, keeps b1's place behind b0
    add_str(&b[1], "m5");
    // b0 serves m1 and goes to the back (it has m3); b1 serves m4 and goes
    // to the back (it has m5); then b0 serves m3 and b1 m5.
    assert_eq!(take_all_strings(&listener), ["m1", "m4", "m3", "m5"]);
}

#[test]
fn listener_serves_its_buffers_round_robin() {
    let (listener, b) = listener_with_buffers(3);
    for m in ["a1", "a2", "a3"] {
        add_str(&b[0], m);
    }
    add_str(&b[1], "b1");
    for m in ["c1", "c2"] {
        add_str(&b[2], m);
    }
    assert_eq!(take_all_strings(&listener), ["a1", "b1", "c1", "a2", "c2", "a3"]);
}

#[test]
fn buffer_that_gets_a_message_while_empty_joins_the_back() {
    let (listener, b) = listener_with_buffers(3);
    add_str(&b[0], "a1");
    add_str(&b[0], "a2");
    add_str(&b[1], "b1");
    // a1 is taken; a goes behind b. Then c gets its first message: it joins
    // behind a, although c was made before any message was sent.
    assert_eq!(take_all_strings_n(&listener, 1), ["a1"]);
    add_str(&b[2], "c1");
    assert_eq!(take_all_strings(&listener), ["b1", "a2", "c1"]);
}

#[test]
fn buffer_emptied_by_its_last_message_rejoins_at_the_back_later() {
    let (listener, b) = listener_with_buffers(2);
    add_str(&b[0], "a1");
    add_str(&b[1], "b1");
    add_str(&b[1], "b2");
    assert_eq!(take_all_strings_n(&listener, 1), ["a1"]);
    add_str(&b[0], "a2"); // a was empty: joins behind b
    assert_eq!(take_all_strings(&listener), ["b1", "a2", "b2"]);
}

#[test]
fn setmsg_on_a_listener_buffer_keeps_its_place() {
    let (listener, b) = listener_with_buffers(3);
    add_str(&b[0], "a1");
    add_str(&b[1], "b1");
    add_str(&b[2], "c1");
    set_str(&b[0], "a-set"); // a stays first
    assert_eq!(take_all_strings(&listener), ["a-set", "b1", "c1"]);
}

#[test]
fn setmsg_on_an_empty_listener_buffer_joins_the_back() {
    let (listener, b) = listener_with_buffers(2);
    add_str(&b[1], "b1");
    set_str(&b[0], "a-set");
    assert_eq!(take_all_strings(&listener), ["b1", "a-set"]);
}

#[test]
fn taking_directly_from_a_listener_buffer_keeps_the_listener_order_consistent() {
    let (listener, b) = listener_with_buffers(2);
    add_str(&b[0], "a1");
    add_str(&b[1], "b1");
    add_str(&b[0], "a2");
    // Emptying a directly takes it out of the listener's queue...
    assert_eq!(poll(&b[0]), Some(vec![Owned::str("a1")]));
    assert_eq!(poll(&b[0]), Some(vec![Owned::str("a2")]));
    // ...and its next message puts it behind b.
    add_str(&b[0], "a3");
    assert_eq!(take_all_strings(&listener), ["b1", "a3"]);
}

#[test]
fn cleared_listener_buffer_leaves_the_listener_queue() {
    let (listener, b) = listener_with_buffers(2);
    add_str(&b[0], "a1");
    add_str(&b[1], "b1");
    b[0].clear().unwrap();
    add_str(&b[0], "a2");
    assert_eq!(take_all_strings(&listener), ["b1", "a2"]);
}

#[test]
fn listener_clear_empties_every_buffer() {
    let (listener, b) = listener_with_buffers(3);
    for (i, buffer) in b.iter().enumerate() {
        add_str(buffer, &format!("m{i}"));
        add_str(buffer, &format!("n{i}"));
    }
    assert_eq!(listener.clear().unwrap(), Progress::Done);
    for buffer in &b {
        assert_eq!(buffer.count().unwrap(), 0);
    }
    assert_eq!(poll_listener(&listener), None);
    add_str(&b[2], "after");
    assert_eq!(take_all_strings(&listener), ["after"]);
}

#[test]
fn listener_take_times_out_when_its_buffers_are_empty() {
    let (listener, _b) = listener_with_buffers(1);
    let mut r = reader();
    let start = std::time::Instant::now();
    assert_eq!(listener.take(&mut r, Some(Duration::from_millis(200))).unwrap(), Progress::TimedOut);
    assert!(start.elapsed() >= Duration::from_millis(200));
    assert_eq!(listener.take(&mut r, Some(Duration::ZERO)).unwrap(), Progress::TimedOut);
}

#[test]
fn messages_of_a_dropped_listener_buffer_are_still_delivered() {
    let listener = ListenerRef::new(None).unwrap();
    let keep = listener.new_buffer(None, Sizes::default()).unwrap();
    let gone = listener.new_buffer(None, Sizes::default()).unwrap();
    let gone_id = gone.buffer().id();
    add_str(&gone, "g1");
    add_str(&keep, "k1");
    add_str(&gone, "g2");
    drop(gone);
    assert_eq!(BufferRef::find_id(gone_id).expect_error().kind, ErrorKind::UnknownObject);
    assert_eq!(take_all_strings(&listener), ["g1", "k1", "g2"]);
}

#[test]
fn listener_without_buffers_raises_no_buffers() {
    let listener = ListenerRef::new(None).unwrap();
    let mut r = reader();
    let err = listener.take(&mut r, None).expect_error();
    assert_eq!(err.kind, ErrorKind::NoBuffers);
    assert!(err.to_string().starts_with("mtmsg.error.no_buffers: mtmsg.listener("), "{err}");
    assert_eq!(listener.take(&mut r, Some(Duration::ZERO)).expect_error().kind, ErrorKind::NoBuffers);
}

#[test]
fn listener_raises_no_buffers_once_dropped_buffers_are_drained() {
    let listener = ListenerRef::new(None).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    add_str(&b, "last words");
    drop(b);
    let mut r = reader();
    assert_eq!(listener.take(&mut r, None).unwrap(), Progress::Done);
    assert_eq!(drain(&mut r), vec![Owned::str("last words")]);
    assert_eq!(listener.take(&mut r, None).expect_error().kind, ErrorKind::NoBuffers);
}

#[test]
fn closing_the_last_buffer_wakes_a_waiting_listener_with_no_buffers() {
    let listener = ListenerRef::new(None).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    let waiting = listener.clone();
    let waiter = wait_in_thread(move || waiting.take(&mut reader(), LONG).map_err(|e| e.kind));
    let event = std::time::Instant::now();
    b.close();
    assert_eq!(waiter.woken_by(event), Err(ErrorKind::NoBuffers));
    drop(b);
    assert_eq!(listener.take(&mut reader(), None).expect_error().kind, ErrorKind::NoBuffers);
}

#[test]
fn listener_is_found_by_id_and_by_name() {
    let name = unique_name("listener");
    let listener = ListenerRef::new(Some(&name)).unwrap();
    assert_eq!(listener.listener().name(), Some(&name[..]));
    let by_id = ListenerRef::find_id(listener.listener().id()).unwrap();
    let by_name = ListenerRef::find_name(&name).unwrap();
    let b = by_name.new_buffer(None, Sizes::default()).unwrap();
    add_str(&b, "hello");
    assert_eq!(take_all_strings(&by_id), ["hello"]);
    assert_eq!(
        listener.listener().describe(),
        format!("mtmsg.listener(name=\"{}\",id={})", String::from_utf8(name).unwrap(), listener.listener().id())
    );
}

#[test]
fn listener_lookup_of_shared_or_unknown_name_fails() {
    let name = unique_name("listener-twice");
    let _one = ListenerRef::new(Some(&name)).unwrap();
    let _two = ListenerRef::new(Some(&name)).unwrap();
    assert_eq!(ListenerRef::find_name(&name).expect_error().kind, ErrorKind::AmbiguousName);
    assert_eq!(ListenerRef::find_name(&unique_name("nobody")).expect_error().kind, ErrorKind::UnknownObject);
    assert_eq!(ListenerRef::find_id(u64::MAX).expect_error().kind, ErrorKind::UnknownObject);
    let b = new_buffer();
    assert_eq!(ListenerRef::find_id(b.buffer().id()).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn listener_buffer_is_found_by_id_and_name_like_any_buffer() {
    let listener = ListenerRef::new(None).unwrap();
    let name = unique_name("listener-buffer");
    let b = listener.new_buffer(Some(&name), Sizes::default()).unwrap();
    let found = BufferRef::find_name(&name).unwrap();
    add_str(&found, "x");
    assert_eq!(b.count().unwrap(), 1);
    assert_eq!(take_all_strings(&listener), ["x"]);
}

#[test]
fn full_fixed_listener_buffer_refuses_and_others_still_deliver() {
    let listener = ListenerRef::new(None).unwrap();
    let one = encoded_message_size(&[Value::String(b"f1")]);
    let small = listener.new_buffer(None, Sizes::new(one, one, 0.0).unwrap()).unwrap();
    let other = listener.new_buffer(None, Sizes::default()).unwrap();
    add_str(&small, "f1");
    assert_eq!(small.add(&[Value::String(b"f2")]).unwrap(), Progress::WouldBlock);
    add_str(&other, "o1");
    assert_eq!(take_all_strings(&listener), ["f1", "o1"]);
    add_str(&small, "f3");
    assert_eq!(take_all_strings(&listener), ["f3"]);
}

#[test]
fn listener_nonblock_take_returns_at_once() {
    let (listener, b) = listener_with_buffers(1);
    listener.set_nonblock(true).unwrap();
    assert!(listener.is_nonblock().unwrap());
    assert!(!ListenerRef::find_id(listener.listener().id()).unwrap().is_nonblock().unwrap());
    let mut r = reader();
    assert_eq!(listener.take(&mut r, None).unwrap(), Progress::TimedOut);
    add_str(&b[0], "m");
    assert_eq!(listener.take(&mut r, None).unwrap(), Progress::Done);
}

fn take_all_strings_n(listener: &ListenerRef, n: usize) -> Vec<String> {
    (0..n)
        .map(|_| match poll_listener(listener).expect("a message").as_slice() {
            [Owned::String(s)] => String::from_utf8(s.clone()).unwrap(),
            other => panic!("expected one string, got {other:?}"),
        })
        .collect()
}

#[test]
fn setmsg_that_grows_a_listener_buffer_with_a_huge_grow_factor_is_delivered_in_place() {
    // Growing by a huge factor cannot be done; the buffer must grow by what
    // is needed and keep its place, not lose its messages and leave the
    // listener's queue inconsistent (which made the next take panic).
    let listener = ListenerRef::new(None).unwrap();
    let b = listener.new_buffer(None, Sizes::new(16, 16, f64::INFINITY).unwrap()).unwrap();
    let other = listener.new_buffer(None, Sizes::default()).unwrap();
    add_str(&b, "small");
    add_str(&other, "o1");
    let big = "x".repeat(100);
    assert_eq!(b.set(&[Value::String(big.as_bytes())]).unwrap(), Progress::Done);
    assert_eq!(take_all_strings(&listener), [big.as_str(), "o1"]);
    add_str(&b, "later");
    assert_eq!(take_all_strings(&listener), ["later"]);
}
