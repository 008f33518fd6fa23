//! Every value type goes through a buffer unchanged, and a message
//! of zero values is distinct from no message.

mod common;

use std::time::Duration;

use common::*;
use mtmsg::{encoded_message_size, BufferRef, Progress, Reader, Sizes, Value};

fn round_trip(values: &[Value<'_>]) -> Vec<Owned> {
    let b = new_buffer();
    assert_eq!(b.add(values).unwrap(), Progress::Done);
    let got = poll(&b).expect("the message just added");
    assert_eq!(b.count().unwrap(), 0);
    got
}

#[test]
fn every_value_type_round_trips_in_order() {
    let values = [
        Value::Nil,
        Value::Boolean(true),
        Value::Boolean(false),
        Value::Integer(0),
        Value::Integer(-1),
        Value::Integer(i64::MAX),
        Value::Integer(i64::MIN),
        Value::Number(1.5),
        Value::String(b"hello"),
        Value::String(b""),
        Value::Pointer(0),
        Value::Pointer(usize::MAX),
        Value::CFunction(0x1234_5678),
        Value::Nil,
    ];
    assert_eq!(round_trip(&values), owned(&values));
}

#[test]
fn floats_round_trip_bit_exact() {
    let floats = [
        0.0,
        -0.0,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7ff0_0000_dead_beef), // signalling NaN with a payload
        f64::from_bits(0xfff8_0000_0000_0001), // negative quiet NaN with a payload
        f64::MIN_POSITIVE,
        f64::from_bits(1), // smallest subnormal
        f64::MAX,
        f64::MIN,
        0.1,
        9007199254740993.0,
    ];
    let values: Vec<Value<'_>> = floats.iter().map(|&f| Value::Number(f)).collect();
    let got = round_trip(&values);
    let bits: Vec<Owned> = floats.iter().map(|f| Owned::NumberBits(f.to_bits())).collect();
    assert_eq!(got, bits);
}

#[test]
fn integer_and_float_of_equal_value_stay_distinct() {
    let got = round_trip(&[Value::Integer(3), Value::Number(3.0)]);
    assert_eq!(got, vec![Owned::Integer(3), Owned::NumberBits(3.0f64.to_bits())]);
}

#[test]
fn strings_keep_embedded_zeros_and_any_bytes() {
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let values = [Value::String(b"a\0b\0"), Value::String(b"\0"), Value::String(&all_bytes)];
    assert_eq!(round_trip(&values), owned(&values));
}

#[test]
fn long_strings_round_trip() {
    // Lengths around the varint steps and one far beyond the default sizes.
    for len in [127usize, 128, 16383, 16384, 3 << 20] {
        let s: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let got = round_trip(&[Value::String(&s), Value::Integer(len as i64)]);
        assert_eq!(got, vec![Owned::String(s), Owned::Integer(len as i64)], "length {len}");
    }
}

#[test]
fn trailing_nils_count_as_values() {
    let got = round_trip(&[Value::Integer(1), Value::Nil, Value::Nil]);
    assert_eq!(got, vec![Owned::Integer(1), Owned::Nil, Owned::Nil]);
}

#[test]
fn empty_message_is_delivered_and_differs_from_no_message() {
    let b = new_buffer();
    assert_eq!(b.add(&NO_VALUES).unwrap(), Progress::Done);
    assert_eq!(b.count().unwrap(), 1);
    let mut r = reader();
    assert_eq!(b.take(&mut r, Some(Duration::ZERO)).unwrap(), Progress::Done);
    assert_eq!(r.remaining(), 0);
    assert!(r.next().is_none());
    assert_eq!(b.take(&mut r, Some(Duration::ZERO)).unwrap(), Progress::TimedOut);
}

#[test]
fn messages_come_out_in_the_order_they_went_in() {
    let b = new_buffer();
    for i in 0..1000 {
        assert_eq!(b.add(&[Value::Integer(i)]).unwrap(), Progress::Done);
    }
    assert_eq!(b.count().unwrap(), 1000);
    for i in 0..1000 {
        assert_eq!(poll(&b), Some(vec![Owned::Integer(i)]));
    }
    assert_eq!(poll(&b), None);
}

#[test]
fn documented_message_size_is_what_a_fixed_buffer_holds() {
    // `encoded_message_size` is the figure to plan fixed buffers with:
    // size1 = one message, size2 = three of them.
    let msg = [Value::String(b"tag"), Value::Integer(42), Value::Number(1.5)];
    let bytes = encoded_message_size(&msg);
    assert_eq!(bytes, 25);
    let b = BufferRef::new(None, fixed(bytes, 3 * bytes)).unwrap();
    for _ in 0..3 {
        assert_eq!(b.add(&msg).unwrap(), Progress::Done);
    }
    assert_eq!(b.add(&msg).unwrap(), Progress::WouldBlock);
    assert_eq!(b.add(&NO_VALUES).unwrap(), Progress::WouldBlock, "not even 2 more bytes fit");
    assert_eq!(b.count().unwrap(), 3);
}

#[test]
fn a_message_taken_into_a_reader_survives_the_next_add() {
    // The reader owns a copy: the buffer's memory may be reused at once.
    let b = BufferRef::new(None, Sizes::new(16, 16, 0.0).unwrap()).unwrap();
    b.add(&[Value::String(b"first")]).unwrap();
    let mut r = Reader::new(16, 0.0).unwrap();
    assert_eq!(b.take(&mut r, Some(Duration::ZERO)).unwrap(), Progress::Done);
    b.add(&[Value::String(b"other")]).unwrap();
    assert_eq!(drain(&mut r), vec![Owned::str("first")]);
}
