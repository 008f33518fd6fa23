//! Listeners (`src/listener/`): their takers, the threads in `nextmsg` of
//! one of their buffers, and the ready queue's handshake.

use super::{check, check_with, fixed_for, kind_of, message, reader, spawn, take_one, value_of};
use crate::{BufferRef, ErrorKind, ListenerRef, Progress, Reader, Sizes};

fn new_listener() -> ListenerRef {
    ListenerRef::new(None).expect("listener")
}

fn new_buffer(listener: &ListenerRef, sizes: Sizes) -> BufferRef {
    listener.new_buffer(None, sizes).expect("listener buffer")
}

/// Takes one message through the listener, waiting for ever.
fn take_from_listener(listener: &ListenerRef) -> i64 {
    let mut r = reader();
    assert_eq!(listener.take(&mut r, None), Ok(Progress::Done));
    value_of(&mut r)
}

/// A listener taker asleep (no buffer ready) is woken when a producer,
/// adding without the listener's lock, lists the buffer.
#[test]
fn a_sleeping_listener_taker_is_woken_by_a_message() {
    check_with(3, || {
        let listener = new_listener();
        let buffer = new_buffer(&listener, Sizes::default());
        let taker = {
            let listener = listener.clone();
            spawn(move || take_from_listener(&listener))
        };
        buffer.add(&message(5)).unwrap();
        assert_eq!(taker.join().unwrap(), 5);
    });
}

/// Two listener takers asleep, two messages into one buffer: both are
/// taken (every message wakes one taker, not only a buffer joining).
#[test]
fn two_listener_takers_two_messages_into_one_buffer() {
    check(|| {
        let listener = new_listener();
        let buffer = new_buffer(&listener, Sizes::default());
        let takers: Vec<_> = (0..2)
            .map(|_| {
                let listener = listener.clone();
                spawn(move || take_from_listener(&listener))
            })
            .collect();
        buffer.add(&message(1)).unwrap();
        buffer.add(&message(2)).unwrap();
        let mut got: Vec<i64> = takers.into_iter().map(|t| t.join().unwrap()).collect();
        got.sort();
        assert_eq!(got, [1, 2]);
    });
}

/// A message added while a listener taker empties the buffer is never
/// stranded: the taker clears the ready flag, fences and looks again; the
/// producer fences after publishing and looks at the flag
/// (`listener/ready.rs`). The second message is then found by a poll.
#[test]
fn a_message_added_while_a_listener_taker_empties_the_buffer_is_not_stranded() {
    check_with(3, || {
        let listener = new_listener();
        let buffer = new_buffer(&listener, Sizes::default());
        buffer.add(&message(1)).unwrap();
        let producer = {
            let buffer = buffer.clone();
            spawn(move || buffer.add(&message(2)).unwrap())
        };
        assert_eq!(take_from_listener(&listener), 1);
        producer.join().unwrap();
        let mut r = reader();
        assert_eq!(listener.take(&mut r, Some(std::time::Duration::ZERO)), Ok(Progress::Done), "stranded");
        assert_eq!(value_of(&mut r), 2);
    });
}

/// The same with a thread taking through the buffer itself
/// (`leave_if_empty`).
#[test]
fn a_message_added_while_a_buffer_taker_empties_the_buffer_is_not_stranded() {
    check_with(3, || {
        let listener = new_listener();
        let buffer = new_buffer(&listener, Sizes::default());
        buffer.add(&message(1)).unwrap();
        let producer = {
            let buffer = buffer.clone();
            spawn(move || buffer.add(&message(2)).unwrap())
        };
        assert_eq!(take_one(&buffer), 1);
        producer.join().unwrap();
        let mut r = reader();
        assert_eq!(listener.take(&mut r, Some(std::time::Duration::ZERO)), Ok(Progress::Done), "stranded");
        assert_eq!(value_of(&mut r), 2);
    });
}

/// A thread in `nextmsg` of a listener buffer sleeps on that buffer's
/// signal and a listener taker on the listener's: one message each, both
/// arrive, whatever order the wake-ups come in.
#[test]
fn a_buffer_taker_and_a_listener_taker_each_get_a_message() {
    check(|| {
        let listener = new_listener();
        let buffer = new_buffer(&listener, Sizes::default());
        let direct = {
            let buffer = buffer.clone();
            spawn(move || take_one(&buffer))
        };
        let through_listener = {
            let listener = listener.clone();
            spawn(move || take_from_listener(&listener))
        };
        buffer.add(&message(1)).unwrap();
        buffer.add(&message(2)).unwrap();
        let mut got = [direct.join().unwrap(), through_listener.join().unwrap()];
        got.sort();
        assert_eq!(got, [1, 2]);
    });
}

/// A listener taker that refuses a message (reader too small) passes the
/// wake-up on to the other, asleep.
#[test]
fn a_refusing_listener_taker_passes_the_wake_up_on() {
    check(|| {
        let listener = new_listener();
        let buffer = new_buffer(&listener, Sizes::default());
        let refuser = {
            let listener = listener.clone();
            spawn(move || {
                // Refuses the message, or finds none before the close.
                let mut small = Reader::new(4, 0.0).unwrap();
                let refused = kind_of(listener.take(&mut small, None));
                assert!(matches!(refused, ErrorKind::MessageSize | ErrorKind::ObjectClosed), "{refused:?}");
            })
        };
        let taker = {
            let listener = listener.clone();
            spawn(move || take_from_listener(&listener))
        };
        buffer.add(&message(3)).unwrap();
        assert_eq!(taker.join().unwrap(), 3);
        listener.close();
        refuser.join().unwrap();
    });
}

/// Closing a listener's last buffer wakes its takers (`no_buffers`) and
/// the thread waiting in that buffer's `nextmsg` (`object_closed`).
#[test]
fn closing_a_listeners_last_buffer_wakes_both_kinds_of_takers() {
    check(|| {
        let listener = new_listener();
        let buffer = new_buffer(&listener, Sizes::default());
        let through_listener = {
            let listener = listener.clone();
            spawn(move || kind_of(listener.take(&mut reader(), None)))
        };
        let direct = {
            let buffer = buffer.clone();
            spawn(move || kind_of(buffer.take(&mut reader(), None)))
        };
        buffer.close();
        assert_eq!(through_listener.join().unwrap(), ErrorKind::NoBuffers);
        assert_eq!(direct.join().unwrap(), ErrorKind::ObjectClosed);
    });
}

/// Closing the listener wakes both kinds of takers with `object_closed`.
#[test]
fn closing_a_listener_wakes_both_kinds_of_takers() {
    check(|| {
        let listener = new_listener();
        let buffer = new_buffer(&listener, Sizes::default());
        let through_listener = {
            let listener = listener.clone();
            spawn(move || kind_of(listener.take(&mut reader(), None)))
        };
        let direct = {
            let buffer = buffer.clone();
            spawn(move || kind_of(buffer.take(&mut reader(), None)))
        };
        listener.close();
        assert_eq!(through_listener.join().unwrap(), ErrorKind::ObjectClosed);
        assert_eq!(direct.join().unwrap(), ErrorKind::ObjectClosed);
    });
}

/// A producer waiting for room in a listener's fixed-size buffer holds
/// only that buffer's feeding lock; the listener's abort sets its flag
/// under the listener's lock and then wakes every buffer of it, taking
/// their locks first. The producer wakes and sees the abort.
#[test]
fn a_producer_waiting_for_room_is_woken_by_the_listeners_abort() {
    check_with(3, || {
        let listener = new_listener();
        let buffer = new_buffer(&listener, fixed_for(1));
        buffer.add(&message(0)).unwrap();
        let producer = {
            let buffer = buffer.clone();
            spawn(move || kind_of(buffer.add_wait(&message(1), None)))
        };
        listener.set_aborted(true).unwrap();
        assert_eq!(producer.join().unwrap(), ErrorKind::OperationAborted);
    });
}

/// A producer in nonblock mode holds the listener's lock while it adds
/// and lists the buffer itself; racing a listener taker, nothing is
/// stranded and the taker gets the message.
#[test]
fn a_message_added_in_nonblock_mode_is_not_stranded() {
    check(|| {
        let listener = new_listener();
        let buffer = new_buffer(&listener, Sizes::default());
        let taker = {
            let listener = listener.clone();
            spawn(move || take_from_listener(&listener))
        };
        buffer.set_nonblock(true).unwrap();
        while buffer.add(&message(4)).unwrap() == Progress::WouldBlock {
            loom::thread::yield_now();
        }
        assert_eq!(taker.join().unwrap(), 4);
    });
}
