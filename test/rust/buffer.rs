//! One buffer in one thread: fixed sizes, setmsg, clear, lookup by id and
//! name, timeouts and nonblock mode.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use mtmsg::Object;
use mtmsg::{encoded_message_size, BufferRef, ErrorKind, Progress, Sizes, Value};

fn int(i: i64) -> [Value<'static>; 1] {
    [Value::Integer(i)]
}

// ---- fixed sizes ---------------------------------------------------------

#[test]
fn message_larger_than_size1_of_fixed_buffer_is_message_size_error() {
    let b = BufferRef::new(None, fixed(16, 1024)).unwrap();
    let big = [Value::String(&[7u8; 64])];
    let err = b.add(&big).expect_error();
    assert_eq!(err.kind, ErrorKind::MessageSize);
    assert!(err.to_string().starts_with("mtmsg.error.message_size: "), "{err}");
    assert!(err.to_string().contains(&b.buffer().describe()), "names the buffer: {err}");
    assert_eq!(b.count().unwrap(), 0, "nothing added");
    assert_eq!(b.set(&big).expect_error().kind, ErrorKind::MessageSize);
    assert_eq!(b.add_wait(&big, Some(Duration::ZERO)).expect_error().kind, ErrorKind::MessageSize);
}

#[test]
fn message_of_exactly_size1_fits_a_fixed_buffer() {
    let msg = [Value::String(b"0123456789")];
    let size = encoded_message_size(&msg);
    let b = BufferRef::new(None, fixed(size, size)).unwrap();
    assert_eq!(b.add(&msg).unwrap(), Progress::Done);
    let b = BufferRef::new(None, fixed(size - 1, 1024)).unwrap();
    assert_eq!(b.add(&msg).expect_error().kind, ErrorKind::MessageSize);
}

#[test]
fn full_fixed_buffer_refuses_with_would_block_and_keeps_its_messages() {
    let one = encoded_message_size(&int(0)); // 11 bytes
    let b = BufferRef::new(None, fixed(one, 2 * one)).unwrap();
    assert_eq!(b.add(&int(1)).unwrap(), Progress::Done);
    assert_eq!(b.add(&int(2)).unwrap(), Progress::Done);
    assert_eq!(b.add(&int(3)).unwrap(), Progress::WouldBlock);
    assert_eq!(b.count().unwrap(), 2);
    assert_eq!(poll(&b), Some(vec![Owned::Integer(1)]));
    assert_eq!(poll(&b), Some(vec![Owned::Integer(2)]));
    assert_eq!(poll(&b), None);
}

#[test]
fn taking_from_a_full_fixed_buffer_makes_room() {
    let one = encoded_message_size(&int(0));
    let b = BufferRef::new(None, fixed(one, 3 * one)).unwrap();
    let mut next_in = 0;
    let mut next_out = 0;
    // Many rounds of fill-up and take-one, so the queue wraps and compacts.
    for _ in 0..50 {
        while b.add(&int(next_in)).unwrap() == Progress::Done {
            next_in += 1;
        }
        assert_eq!(b.count().unwrap(), 3);
        assert_eq!(poll(&b), Some(vec![Owned::Integer(next_out)]));
        next_out += 1;
    }
    while let Some(values) = poll(&b) {
        assert_eq!(values, vec![Owned::Integer(next_out)]);
        next_out += 1;
    }
    assert_eq!(next_in, next_out);
}

#[test]
fn size2_below_size1_is_raised_to_size1() {
    let sizes = Sizes::new(100, 10, 0.0).unwrap();
    assert_eq!(sizes.size2, 100);
    let b = BufferRef::new(None, sizes).unwrap();
    let msg = [Value::String(&[1u8; 90])];
    assert!(encoded_message_size(&msg) <= 100);
    assert_eq!(b.add(&msg).unwrap(), Progress::Done);
}

#[test]
fn growing_buffers_take_any_amount_whatever_the_grow_factor() {
    for grow in [2.0, 1.5, 1.0, 0.5, -3.0] {
        let b = BufferRef::new(None, Sizes::new(4, 8, grow).unwrap()).unwrap();
        for i in 0..2000 {
            assert_eq!(b.add(&[Value::Integer(i), Value::String(b"payload")]).unwrap(), Progress::Done, "grow {grow}");
        }
        for i in 0..2000 {
            assert_eq!(poll(&b), Some(vec![Owned::Integer(i), Owned::str("payload")]), "grow {grow}");
        }
    }
}

#[test]
fn unallocatable_size_is_out_of_memory_and_nan_grow_is_invalid() {
    assert_eq!(Sizes::new(0, usize::MAX / 2, 2.0).expect_error().kind, ErrorKind::OutOfMemory);
    assert_eq!(Sizes::new(1 << 62, 0, 2.0).expect_error().kind, ErrorKind::OutOfMemory);
    assert_eq!(Sizes::new(1, 1, f64::NAN).expect_error().kind, ErrorKind::InvalidArgument);
}

// ---- setmsg and clear -----------------------------------------------------

#[test]
fn setmsg_replaces_every_queued_message() {
    let b = new_buffer();
    for i in 0..5 {
        b.add(&int(i)).unwrap();
    }
    assert_eq!(b.set(&[Value::String(b"only")]).unwrap(), Progress::Done);
    assert_eq!(b.count().unwrap(), 1);
    assert_eq!(poll(&b), Some(vec![Owned::str("only")]));
    assert_eq!(poll(&b), None);
}

#[test]
fn setmsg_on_an_empty_buffer_adds_the_message() {
    let b = new_buffer();
    set_str(&b, "x");
    assert_eq!(b.count().unwrap(), 1);
    assert_eq!(poll(&b), Some(vec![Owned::str("x")]));
}

#[test]
fn setmsg_succeeds_on_a_full_fixed_buffer() {
    let one = encoded_message_size(&int(0));
    let b = BufferRef::new(None, fixed(one, one)).unwrap();
    b.add(&int(1)).unwrap();
    assert_eq!(b.add(&int(2)).unwrap(), Progress::WouldBlock);
    assert_eq!(b.set(&int(3)).unwrap(), Progress::Done);
    assert_eq!(poll(&b), Some(vec![Owned::Integer(3)]));
}

#[test]
fn clear_drops_all_messages_and_keeps_the_buffer_usable() {
    let b = new_buffer();
    for i in 0..10 {
        b.add(&int(i)).unwrap();
    }
    assert_eq!(b.clear().unwrap(), Progress::Done);
    assert_eq!(b.count().unwrap(), 0);
    assert_eq!(poll(&b), None);
    b.add(&int(42)).unwrap();
    assert_eq!(poll(&b), Some(vec![Owned::Integer(42)]));
}

// ---- lookup ---------------------------------------------------------------

#[test]
fn lookup_by_id_and_by_name_reaches_the_same_buffer() {
    let name = unique_name("lookup");
    let b = BufferRef::new(Some(&name), Sizes::default()).unwrap();
    assert_eq!(b.buffer().name(), Some(&name[..]));
    let by_id = BufferRef::find_id(b.buffer().id()).unwrap();
    let by_name = BufferRef::find_name(&name).unwrap();
    assert_eq!(by_id.buffer().id(), b.buffer().id());
    assert_eq!(by_name.buffer().id(), b.buffer().id());
    add_str(&by_id, "via id");
    add_str(&by_name, "via name");
    assert_eq!(poll(&b), Some(vec![Owned::str("via id")]));
    assert_eq!(poll(&b), Some(vec![Owned::str("via name")]));
}

#[test]
fn buffer_ids_are_unique() {
    let a = new_buffer();
    let b = new_buffer();
    assert_ne!(a.buffer().id(), b.buffer().id());
    assert!(a.buffer().name().is_none());
}

#[test]
fn names_may_hold_any_bytes() {
    let mut name = unique_name("nul");
    name.extend_from_slice(b"\0\"\\\xff");
    let b = BufferRef::new(Some(&name), Sizes::default()).unwrap();
    assert_eq!(BufferRef::find_name(&name).unwrap().buffer().id(), b.buffer().id());
    let prefix = &name[..name.len() - 4];
    assert_eq!(BufferRef::find_name(prefix).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn name_shared_by_two_buffers_is_ambiguous_until_one_is_gone() {
    let name = unique_name("twice");
    let first = BufferRef::new(Some(&name), Sizes::default()).unwrap();
    let second = BufferRef::new(Some(&name), Sizes::default()).unwrap();
    let err = BufferRef::find_name(&name).expect_error();
    assert_eq!(err.kind, ErrorKind::AmbiguousName);
    assert!(err.to_string().starts_with("mtmsg.error.ambiguous_name"), "{err}");
    // Each is still reachable by its id.
    assert_eq!(BufferRef::find_id(first.buffer().id()).unwrap().buffer().id(), first.buffer().id());
    let second_id = second.buffer().id();
    drop(first);
    assert_eq!(BufferRef::find_name(&name).unwrap().buffer().id(), second_id);
}

#[test]
fn unknown_id_or_name_is_unknown_object() {
    let err = BufferRef::find_id(u64::MAX).expect_error();
    assert_eq!(err.kind, ErrorKind::UnknownObject);
    assert!(err.to_string().starts_with("mtmsg.error.unknown_object"), "{err}");
    assert_eq!(BufferRef::find_name(&unique_name("nobody")).expect_error().kind, ErrorKind::UnknownObject);
    assert_eq!(BufferRef::find_id(0).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn a_listener_is_not_found_as_a_buffer() {
    let listener = mtmsg::ListenerRef::new(None).unwrap();
    assert_eq!(BufferRef::find_id(listener.listener().id()).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn describe_quotes_and_escapes_the_name() {
    let b = BufferRef::new(Some(b"a\"b\\c\0d"), Sizes::default()).unwrap();
    assert_eq!(b.buffer().describe(), format!("mtmsg.buffer(name=\"a\\\"b\\\\c\\0d\",id={})", b.buffer().id()));
    let unnamed = new_buffer();
    assert_eq!(unnamed.buffer().describe(), format!("mtmsg.buffer(id={})", unnamed.buffer().id()));
}

// ---- timeouts -------------------------------------------------------------

#[test]
fn take_with_timeout_on_empty_buffer_times_out_after_the_timeout() {
    let b = new_buffer();
    let mut r = reader();
    let start = Instant::now();
    assert_eq!(b.take(&mut r, Some(Duration::from_millis(200))).unwrap(), Progress::TimedOut);
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(200), "returned after {waited:?}");
    assert!(waited < Duration::from_secs(2), "returned after {waited:?}");
}

#[test]
fn take_with_zero_timeout_polls_without_waiting() {
    let b = new_buffer();
    let start = Instant::now();
    assert_eq!(poll(&b), None);
    assert!(start.elapsed() < Duration::from_millis(100));
    add_str(&b, "there");
    assert_eq!(poll(&b), Some(vec![Owned::str("there")]));
}

// ---- nonblock -------------------------------------------------------------

#[test]
fn nonblock_belongs_to_the_reference_not_the_buffer() {
    let b = new_buffer();
    assert!(!b.is_nonblock().unwrap());
    b.set_nonblock(true).unwrap();
    assert!(b.is_nonblock().unwrap());
    let other = BufferRef::find_id(b.buffer().id()).unwrap();
    assert!(!other.is_nonblock().unwrap());
    assert!(!b.clone().is_nonblock().unwrap());
    b.set_nonblock(false).unwrap();
    assert!(!b.is_nonblock().unwrap());
}

#[test]
fn nonblock_take_without_timeout_returns_at_once_when_empty() {
    let b = new_buffer();
    b.set_nonblock(true).unwrap();
    let mut r = reader();
    let start = Instant::now();
    assert_eq!(b.take(&mut r, None).unwrap(), Progress::TimedOut);
    assert!(start.elapsed() < Duration::from_millis(100));
    add_str(&b, "m");
    assert_eq!(take(&b, None), Some(vec![Owned::str("m")]));
}

#[test]
fn nonblock_reference_gets_would_block_while_another_thread_holds_the_buffer() {
    // A producer keeps the buffer's lock busy copying 4 MB messages; a
    // nonblocking reference must see `WouldBlock` instead of waiting.
    let b = new_buffer();
    let busy = b.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let stop_producer = stop.clone();
    let big = vec![0u8; 4 << 20];
    let producer = thread::spawn(move || {
        while !stop_producer.load(Ordering::Relaxed) {
            busy.set(&[Value::String(&big)]).unwrap();
        }
    });
    b.set_nonblock(true).unwrap();
    let start = Instant::now();
    let mut saw_would_block = false;
    while start.elapsed() < Duration::from_secs(5) {
        if b.add(&NO_VALUES).unwrap() == Progress::WouldBlock {
            saw_would_block = true;
            break;
        }
    }
    stop.store(true, Ordering::Relaxed);
    producer.join().unwrap();
    assert!(saw_would_block, "a nonblocking add never found the buffer busy");
}

#[test]
fn huge_grow_factor_grows_by_what_is_needed_instead_of_failing() {
    // A factor is a hint: when the multiplied size cannot be had, the
    // buffer grows by what the message needs.
    for grow in [f64::INFINITY, 1e300] {
        let b = BufferRef::new(None, Sizes::new(16, 16, grow).unwrap()).unwrap();
        for i in 0..100 {
            assert_eq!(b.add(&[Value::Integer(i)]).unwrap(), Progress::Done, "grow {grow}, message {i}");
        }
        assert_eq!(b.count().unwrap(), 100);
    }
}
