//! Writers build a message piece by piece; readers take one whole message
//! and hand out its values.

mod common;

use std::time::Duration;

use common::*;
use mtmsg::{encoded_message_size, BufferRef, ErrorKind, ListenerRef, Progress, Reader, Sizes, Value, Writer};

fn writer() -> Writer {
    Writer::new(128, 2.0).unwrap()
}

#[test]
fn pieces_added_by_a_writer_make_one_message_equal_to_a_direct_add() {
    let values = [
        Value::String(b"head"),
        Value::Integer(-7),
        Value::Number(-0.0),
        Value::Nil,
        Value::Boolean(true),
        Value::Pointer(0xfeed),
        Value::String(b"a\0b"),
    ];
    let b = new_buffer();
    let mut w = writer();
    w.add(&values[..1]).unwrap();
    w.add(&values[1..4]).unwrap();
    w.add(&NO_VALUES).unwrap();
    w.add(&values[4..]).unwrap();
    assert_eq!(w.count(), values.len());
    assert_eq!(w.add_to(&b).unwrap(), Progress::Done);
    assert_eq!(b.count().unwrap(), 1, "one message");
    b.add(&values).unwrap();
    let from_writer = poll(&b).unwrap();
    let direct = poll(&b).unwrap();
    assert_eq!(from_writer, direct);
    assert_eq!(from_writer, owned(&values));
}

#[test]
fn writer_is_empty_after_a_successful_add_and_can_be_reused() {
    let b = new_buffer();
    let mut w = writer();
    w.add(&[Value::Integer(1)]).unwrap();
    w.add_to(&b).unwrap();
    assert_eq!(w.count(), 0);
    w.add(&[Value::Integer(2)]).unwrap();
    w.add_to(&b).unwrap();
    assert_eq!(poll(&b), Some(vec![Owned::Integer(1)]));
    assert_eq!(poll(&b), Some(vec![Owned::Integer(2)]));
}

#[test]
fn empty_writer_adds_an_empty_message() {
    let b = new_buffer();
    let mut w = writer();
    assert_eq!(w.add_to(&b).unwrap(), Progress::Done);
    assert_eq!(poll(&b), Some(vec![]));
}

#[test]
fn writer_set_replaces_the_buffers_messages() {
    let b = new_buffer();
    add_str(&b, "old1");
    add_str(&b, "old2");
    let mut w = writer();
    w.add(&[Value::String(b"new")]).unwrap();
    assert_eq!(w.set_to(&b).unwrap(), Progress::Done);
    assert_eq!(w.count(), 0);
    assert_eq!(poll(&b), Some(vec![Owned::str("new")]));
    assert_eq!(poll(&b), None);
}

#[test]
fn writer_keeps_its_values_when_the_fixed_buffer_is_full() {
    let one = encoded_message_size(&[Value::Integer(0)]);
    let b = BufferRef::new(None, fixed(one, one)).unwrap();
    b.add(&[Value::Integer(0)]).unwrap();
    let mut w = writer();
    w.add(&[Value::Integer(1)]).unwrap();
    assert_eq!(w.add_to(&b).unwrap(), Progress::WouldBlock);
    assert_eq!(w.count(), 1);
    poll(&b);
    assert_eq!(w.add_to(&b).unwrap(), Progress::Done);
    assert_eq!(poll(&b), Some(vec![Owned::Integer(1)]));
}

#[test]
fn writer_message_too_large_for_the_buffer_is_message_size_and_kept() {
    let b = BufferRef::new(None, fixed(16, 64)).unwrap();
    let mut w = writer();
    w.add(&[Value::String(&[1u8; 32])]).unwrap();
    assert_eq!(w.add_to(&b).expect_error().kind, ErrorKind::MessageSize);
    assert_eq!(w.count(), 1);
    assert_eq!(b.count().unwrap(), 0);
}

#[test]
fn fixed_size_writer_refuses_values_beyond_its_size_and_keeps_the_rest() {
    let first = [Value::Integer(1)];
    let size = encoded_message_size(&first);
    let mut w = Writer::new(size, 0.0).unwrap();
    w.add(&first).unwrap();
    let err = w.add(&[Value::Nil]).expect_error();
    assert_eq!(err.kind, ErrorKind::MessageSize);
    assert_eq!(w.count(), 1, "nothing of the refused values was appended");
    let b = new_buffer();
    w.add_to(&b).unwrap();
    assert_eq!(poll(&b), Some(vec![Owned::Integer(1)]));
}

#[test]
fn writer_clear_forgets_its_values() {
    let b = new_buffer();
    let mut w = writer();
    w.add(&[Value::Integer(1), Value::Integer(2)]).unwrap();
    w.clear();
    assert_eq!(w.count(), 0);
    w.add(&[Value::Integer(3)]).unwrap();
    w.add_to(&b).unwrap();
    assert_eq!(poll(&b), Some(vec![Owned::Integer(3)]));
}

#[test]
fn reader_hands_out_values_one_by_one_then_none() {
    let b = new_buffer();
    b.add(&[Value::Integer(1), Value::String(b"two"), Value::Nil]).unwrap();
    let mut r = reader();
    assert_eq!(b.take(&mut r, None).unwrap(), Progress::Done);
    assert_eq!(r.remaining(), 3);
    assert_eq!(r.next(), Some(Value::Integer(1)));
    assert_eq!(r.remaining(), 2);
    assert_eq!(r.next(), Some(Value::String(b"two")));
    assert_eq!(r.next(), Some(Value::Nil));
    assert_eq!(r.remaining(), 0);
    assert_eq!(r.next(), None);
    assert_eq!(r.next(), None);
}

#[test]
fn reader_clear_forgets_the_rest_of_the_message() {
    let b = new_buffer();
    b.add(&[Value::Integer(1), Value::Integer(2)]).unwrap();
    let mut r = reader();
    b.take(&mut r, None).unwrap();
    r.clear();
    assert_eq!(r.remaining(), 0);
    assert_eq!(r.next(), None);
}

#[test]
fn take_replaces_an_unfinished_message_in_the_reader() {
    let b = new_buffer();
    b.add(&[Value::Integer(1), Value::Integer(2)]).unwrap();
    b.add(&[Value::String(b"second")]).unwrap();
    let mut r = reader();
    b.take(&mut r, None).unwrap();
    assert_eq!(r.next(), Some(Value::Integer(1)));
    b.take(&mut r, None).unwrap();
    assert_eq!(drain(&mut r), vec![Owned::str("second")]);
}

#[test]
fn fixed_size_reader_refuses_a_larger_message_which_stays_in_the_buffer() {
    let b = new_buffer();
    let big = [Value::String(&[9u8; 100])];
    b.add(&big).unwrap();
    let mut small = Reader::new(16, 0.0).unwrap();
    let err = b.take(&mut small, Some(Duration::ZERO)).expect_error();
    assert_eq!(err.kind, ErrorKind::MessageSize);
    assert!(err.to_string().starts_with("mtmsg.error.message_size: "), "{err}");
    assert!(err.to_string().contains("mtmsg.reader"), "names the reader: {err}");
    assert_eq!(b.count().unwrap(), 1, "the message stays");
    assert_eq!(small.remaining(), 0);
    let mut exact = Reader::new(encoded_message_size(&big), 0.0).unwrap();
    assert_eq!(b.take(&mut exact, None).unwrap(), Progress::Done);
    assert_eq!(drain(&mut exact), owned(&big));
}

#[test]
fn fixed_size_reader_refusal_keeps_the_message_first_in_the_listener() {
    let listener = ListenerRef::new(None).unwrap();
    let a = listener.new_buffer(None, Sizes::default()).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    a.add(&[Value::String(&[1u8; 100])]).unwrap();
    add_str(&b, "b1");
    let mut small = Reader::new(16, 0.0).unwrap();
    assert_eq!(listener.take(&mut small, None).expect_error().kind, ErrorKind::MessageSize);
    assert_eq!(a.count().unwrap(), 1);
    let mut big = reader();
    assert_eq!(listener.take(&mut big, None).unwrap(), Progress::Done);
    assert_eq!(drain(&mut big), vec![Owned::String(vec![1u8; 100])]);
    assert_eq!(take_all_strings(&listener), ["b1"]);
}

#[test]
fn growing_reader_takes_messages_larger_than_its_initial_size() {
    let b = new_buffer();
    let s = vec![5u8; 10_000];
    b.add(&[Value::String(&s)]).unwrap();
    let mut r = Reader::new(8, 2.0).unwrap();
    assert_eq!(b.take(&mut r, None).unwrap(), Progress::Done);
    assert_eq!(drain(&mut r), vec![Owned::String(s)]);
}

#[test]
fn reader_with_a_value_limit_refuses_longer_messages_and_leaves_them_queued() {
    let b = new_buffer();
    b.add(&[Value::Integer(1), Value::Integer(2), Value::Integer(3)]).unwrap();
    let mut limited = reader();
    limited.limit_values(2);
    let err = b.take(&mut limited, Some(Duration::ZERO)).expect_error();
    assert_eq!(err.kind, ErrorKind::MessageSize);
    assert!(err.to_string().contains("3 values exceeds the limit of 2"), "{err}");
    assert_eq!(b.count().unwrap(), 1);
    let mut unlimited = reader();
    assert_eq!(b.take(&mut unlimited, Some(Duration::ZERO)).unwrap(), Progress::Done);
    assert_eq!(unlimited.remaining(), 3);
}
