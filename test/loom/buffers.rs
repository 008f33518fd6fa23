//! Standalone buffers (`src/buffer/`, `src/queue/`), references and lookups.

use super::{check, check_with, fixed_for, kind_of, message, reader, spawn, take_one, value_of};
use crate::{abort_all, BufferRef, ErrorKind, Object, Progress, Reader, Sizes};

fn new_buffer(sizes: Sizes) -> BufferRef {
    BufferRef::new(None, sizes).expect("buffer")
}

/// One taker asleep, one producer: the message is taken. The producer
/// publishes under the feeding lock and looks for sleepers after letting
/// go, with no barrier of its own; the taker counts itself a sleeper and
/// goes through the feeding lock before its last look
/// (`Core::synchronize_with_producers`). Without that step loom finds the
/// taker asleep beside the message.
#[test]
fn a_sleeping_taker_is_woken_by_a_message() {
    check_with(3, || {
        let buffer = new_buffer(Sizes::default());
        let taker = {
            let buffer = buffer.clone();
            spawn(move || take_one(&buffer))
        };
        buffer.add(&message(7)).unwrap();
        assert_eq!(taker.join().unwrap(), 7);
    });
}

/// Two takers, two messages: both are taken, and neither taker is left
/// asleep (each message wakes one).
#[test]
fn two_takers_two_messages_none_left_waiting() {
    check(|| {
        let buffer = new_buffer(Sizes::default());
        let takers: Vec<_> = (0..2)
            .map(|_| {
                let buffer = buffer.clone();
                spawn(move || take_one(&buffer))
            })
            .collect();
        buffer.add(&message(1)).unwrap();
        buffer.add(&message(2)).unwrap();
        let mut got: Vec<i64> = takers.into_iter().map(|t| t.join().unwrap()).collect();
        got.sort();
        assert_eq!(got, [1, 2]);
    });
}

/// A taker whose reader is too small refuses the message (it stays
/// queued) and passes the wake-up it may have used on, so the other
/// taker, asleep, still gets it. (The refuser, if it never saw the
/// message, is let go by a close.)
#[test]
fn a_refusing_taker_passes_the_wake_up_on() {
    check(|| {
        let buffer = new_buffer(Sizes::default());
        let refuser = {
            let buffer = buffer.clone();
            spawn(move || {
                // Refuses the message, or finds none before the close.
                let mut small = Reader::new(4, 0.0).unwrap();
                let refused = kind_of(buffer.take(&mut small, None));
                assert!(matches!(refused, ErrorKind::MessageSize | ErrorKind::ObjectClosed), "{refused:?}");
            })
        };
        let taker = {
            let buffer = buffer.clone();
            spawn(move || take_one(&buffer))
        };
        buffer.add(&message(3)).unwrap();
        assert_eq!(taker.join().unwrap(), 3);
        buffer.close();
        refuser.join().unwrap();
    });
}

/// A close wakes every taker asleep on the buffer (a `notify_all`), with
/// `object_closed`.
#[test]
fn close_wakes_every_sleeping_taker() {
    check(|| {
        let buffer = new_buffer(Sizes::default());
        let takers: Vec<_> = (0..2)
            .map(|_| {
                let buffer = buffer.clone();
                spawn(move || kind_of(buffer.take(&mut reader(), None)))
            })
            .collect();
        buffer.close();
        for taker in takers {
            assert_eq!(taker.join().unwrap(), ErrorKind::ObjectClosed);
        }
    });
}

/// A close wakes a producer waiting for room with `object_closed`.
#[test]
fn close_wakes_a_producer_waiting_for_room() {
    check_with(3, || {
        let buffer = new_buffer(fixed_for(1));
        buffer.add(&message(0)).unwrap();
        let producer = {
            let buffer = buffer.clone();
            spawn(move || kind_of(buffer.add_wait(&message(1), None)))
        };
        buffer.close();
        assert_eq!(producer.join().unwrap(), ErrorKind::ObjectClosed);
    });
}

/// A producer waiting for room in a full fixed-size buffer is woken by a
/// take: it counts itself a sleeper and goes through the draining lock,
/// under which takers free room (`Core::synchronize_with_takers`).
#[test]
fn a_producer_waiting_for_room_is_woken_by_a_take() {
    check_with(3, || {
        let buffer = new_buffer(fixed_for(1));
        buffer.add(&message(1)).unwrap();
        let producer = {
            let buffer = buffer.clone();
            spawn(move || buffer.add_wait(&message(2), None).unwrap())
        };
        assert_eq!(take_one(&buffer), 1);
        assert_eq!(producer.join().unwrap(), Progress::Done);
        assert_eq!(take_one(&buffer), 2);
    });
}

/// The ring of a fixed-size buffer with room for two messages: a producer
/// adds four, waiting for room, while a consumer takes them. The producer
/// wraps around behind the consumer and writes no byte the consumer may
/// still read (each byte of the segment is a loom cell: `track_write`,
/// `track_read`), and every message arrives once, in order.
#[test]
fn the_ring_reuses_memory_only_behind_the_consumer() {
    check(|| {
        let buffer = new_buffer(fixed_for(2));
        let producer = {
            let buffer = buffer.clone();
            spawn(move || {
                for i in 0..4 {
                    assert_eq!(buffer.add_wait(&message(i), None), Ok(Progress::Done));
                }
            })
        };
        for i in 0..4 {
            assert_eq!(take_one(&buffer), i);
        }
        producer.join().unwrap();
    });
}

/// A growing buffer's first ring holds two messages (24 bytes): the
/// producer's third wraps around to the start only when the consumer has
/// read past it, else goes on in a new segment. No byte is written while
/// the consumer may still read it.
#[test]
fn a_growing_ring_wraps_only_behind_the_consumer() {
    check(|| {
        let buffer = new_buffer(Sizes::new(11, 24, 2.0).unwrap());
        let producer = {
            let buffer = buffer.clone();
            spawn(move || {
                for i in 0..3 {
                    buffer.add(&message(i)).unwrap();
                }
            })
        };
        for i in 0..3 {
            assert_eq!(take_one(&buffer), i);
        }
        producer.join().unwrap();
    });
}

/// A growing buffer whose producer outruns the consumer goes on in new,
/// larger segments; the consumer follows `next` and frees or recycles
/// the finished ones: the bytes it reads are written before, in order.
#[test]
fn a_growing_ring_hands_segments_over_in_order() {
    check(|| {
        // 11 bytes a message, a first segment of 16 bytes: one message,
        // then a new segment.
        let buffer = new_buffer(Sizes::new(11, 16, 2.0).unwrap());
        let producer = {
            let buffer = buffer.clone();
            spawn(move || {
                for i in 0..3 {
                    buffer.add(&message(i)).unwrap();
                }
            })
        };
        for i in 0..3 {
            assert_eq!(take_one(&buffer), i);
        }
        producer.join().unwrap();
    });
}

/// A lookup by id racing the release of the last reference: it either
/// finds the buffer (and holds a new reference) or finds none; it never
/// revives a buffer whose count reached zero, and exactly one release is
/// the last.
#[test]
fn a_lookup_never_revives_an_object_whose_last_reference_went() {
    check_with(3, || {
        let buffer = new_buffer(Sizes::default());
        let id = buffer.buffer().id();
        let finder = spawn(move || match BufferRef::find_id(id) {
            Ok(found) => {
                assert_eq!(found.buffer().id(), id);
                found.add(&message(1)).unwrap();
                true
            }
            Err(e) => {
                assert_eq!(e.kind, ErrorKind::UnknownObject);
                false
            }
        });
        drop(buffer);
        finder.join().unwrap();
        assert!(BufferRef::find_id(id).is_err(), "gone once every reference went");
    });
}

/// `abort_all` wakes a sleeping taker with `operation_aborted`.
#[test]
fn abort_all_wakes_a_sleeping_taker() {
    check(|| {
        let buffer = new_buffer(Sizes::default());
        let taker = {
            let buffer = buffer.clone();
            spawn(move || kind_of(buffer.take(&mut reader(), None)))
        };
        abort_all(true);
        assert_eq!(taker.join().unwrap(), ErrorKind::OperationAborted);
        abort_all(false);
    });
}

/// A message added while a replace (`setmsg`) clears the queue: the
/// taker gets one of them, and the count stays sane.
#[test]
fn a_replace_racing_a_taker_leaves_a_sane_count() {
    check(|| {
        let buffer = new_buffer(Sizes::default());
        buffer.add(&message(1)).unwrap();
        let setter = {
            let buffer = buffer.clone();
            spawn(move || buffer.set(&message(2)).unwrap())
        };
        let mut r = reader();
        let took = buffer.take(&mut r, Some(std::time::Duration::ZERO)).unwrap();
        setter.join().unwrap();
        let left = buffer.count().unwrap();
        match took {
            Progress::Done => {
                let v = value_of(&mut r);
                assert!(v == 1 && left == 1 || v == 2 && left == 0, "took {v}, {left} left");
            }
            _ => assert_eq!(left, 1),
        }
    });
}
