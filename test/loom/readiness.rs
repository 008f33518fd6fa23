//! The descriptors of event loops (`src/sync/readiness.rs`,
//! `src/buffer/readiness.rs`): after any interleaving of adds, takes and
//! the descriptor's creation, it is readable exactly while a message is
//! queued (or the object is closed or aborted): never unreadable beside a
//! message (a lost wake-up), never readable on an empty buffer (a loop
//! that spins).

use std::time::Duration;

use super::{check, check_with, message, reader, spawn};
use crate::{BufferRef, ListenerRef, Progress, Sizes};

fn new_buffer() -> BufferRef {
    BufferRef::new(None, Sizes::default()).expect("buffer")
}

/// The descriptor says what the queue holds.
fn assert_follows(buffer: &BufferRef) {
    let queued = buffer.count().unwrap();
    assert_eq!(buffer.buffer().fd_is_readable(), queued > 0, "{queued} queued");
}

/// A producer adds while a taker polls: whoever sees the queue go from
/// empty or to empty updates the descriptor (the fences of
/// `queued_after_add` and `queued_after_take`).
#[test]
fn a_descriptor_follows_an_add_racing_a_take() {
    check_with(3, || {
        let buffer = new_buffer();
        buffer.fd().unwrap();
        let producer = {
            let buffer = buffer.clone();
            spawn(move || buffer.add(&message(1)).unwrap())
        };
        let taker = {
            let buffer = buffer.clone();
            spawn(move || buffer.take(&mut reader(), Some(Duration::ZERO)).unwrap())
        };
        producer.join().unwrap();
        taker.join().unwrap();
        assert_follows(&buffer);
    });
}

/// Two producers, the queue going from one message to none and back.
#[test]
fn a_descriptor_follows_two_producers_and_a_taker() {
    check(|| {
        let buffer = new_buffer();
        buffer.add(&message(0)).unwrap();
        buffer.fd().unwrap();
        let producers: Vec<_> = (1..3)
            .map(|i| {
                let buffer = buffer.clone();
                spawn(move || buffer.add(&message(i)).unwrap())
            })
            .collect();
        for _ in 0..2 {
            let _ = buffer.take(&mut reader(), Some(Duration::ZERO)).unwrap();
        }
        for p in producers {
            p.join().unwrap();
        }
        assert_follows(&buffer);
    });
}

/// The descriptor made while a producer adds: made after the queue's
/// locks were let go by the producer, or seen by it.
#[test]
fn a_descriptor_made_during_an_add_follows_it() {
    check_with(3, || {
        let buffer = new_buffer();
        let producer = {
            let buffer = buffer.clone();
            spawn(move || buffer.add(&message(1)).unwrap())
        };
        buffer.fd().unwrap();
        producer.join().unwrap();
        assert_follows(&buffer);
    });
}

/// Close makes it readable for good; an abort while it lasts.
#[test]
fn close_and_abort_make_a_descriptor_readable() {
    check(|| {
        let buffer = new_buffer();
        buffer.fd().unwrap();
        let aborter = {
            let buffer = buffer.clone();
            spawn(move || {
                buffer.set_aborted(true).unwrap();
                buffer.set_aborted(false).unwrap();
            })
        };
        aborter.join().unwrap();
        assert!(!buffer.buffer().fd_is_readable(), "readable only while aborted");
        buffer.close();
        assert!(buffer.buffer().fd_is_readable());
        assert!(buffer.is_ready());
    });
}

/// A listener's descriptor: a producer adds to one of its buffers while a
/// listener taker polls.
#[test]
fn a_listeners_descriptor_follows_its_ready_queue() {
    check_with(3, || {
        let listener = ListenerRef::new(None).unwrap();
        let buffer = listener.new_buffer(None, Sizes::default()).unwrap();
        listener.fd().unwrap();
        let producer = {
            let buffer = buffer.clone();
            spawn(move || buffer.add(&message(1)).unwrap())
        };
        let took = listener.take(&mut reader(), Some(Duration::ZERO)).unwrap();
        producer.join().unwrap();
        let queued = buffer.count().unwrap();
        assert_eq!(queued, if took == Progress::Done { 0 } else { 1 });
        assert_eq!(listener.listener().fd_is_readable(), queued > 0);
    });
}
