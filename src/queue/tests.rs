//! The queue alone, without buffers: rings, segments, growth, large bodies.

use super::*;
use crate::sync::spin::CLOSE_BEHIND;
use crate::value::{decode_value, Body, Value, Values};

fn push(core: &Core, values: &[Value<'_>]) -> bool {
    let body = Values::new(values).unwrap();
    let mut feed = core.lock_feed(false).unwrap();
    let room = feed.has_room(body.size().message_bytes());
    if room {
        feed.push(Ready::new(&body, core).unwrap()).unwrap();
    }
    room
}

/// Takes the oldest message: its body bytes and value count.
fn pop_body(core: &Core) -> Option<(Vec<u8>, usize)> {
    let popped = core.lock_drain(false).unwrap().pop(
        &mut (),
        |_, _| Ok(()),
        |_, taken, count| {
            let body = match taken {
                Taken::InPlace(b) => b.to_vec(),
                Taken::Linked(b) => b,
            };
            (body, count)
        },
    );
    popped.map(Result::unwrap)
}

fn first_integer(body: &[u8]) -> Option<i64> {
    match decode_value(body, &mut 0) {
        Some(Value::Integer(i)) => Some(i),
        _ => None,
    }
}

fn free_all(core: &Core) {
    free(&mut core.lock_feed(false).unwrap(), &mut core.lock_drain(false).unwrap());
}

/// The segments in use: the producer's and the spare.
fn segment_lens(core: &Core) -> (usize, usize) {
    let tail = core.lock_feed(false).unwrap().tail.len;
    let spare = core.spare.load(Ordering::Acquire);
    // SAFETY: the spare is live while the queue is and nobody uses it.
    (tail, if spare.is_null() { 0 } else { unsafe { (*spare).len } })
}

#[test]
fn no_memory_until_the_first_message() {
    let queue = MessageQueue::new(Sizes::default());
    assert!(queue.get().is_none(), "no core for an unused buffer");
    let core = queue.core();
    assert_eq!(segment_lens(core), (0, 0));
    assert!(push(core, &[Value::Integer(1)]));
    assert_eq!(segment_lens(core), (1024, 0));
}

#[test]
fn a_taker_is_close_behind_only_when_it_took_all_it_knew_of_and_finds_a_few_more() {
    let queue = MessageQueue::new(Sizes::default());
    let core = queue.core();
    let close_behind = || core.lock_drain(false).unwrap().close_behind();
    assert_eq!(close_behind(), Some(false), "nothing to take");
    for i in 0..CLOSE_BEHIND as i64 {
        assert!(push(core, &[Value::Integer(i)]));
    }
    assert_eq!(close_behind(), Some(true), "a few new ones");
    pop_body(core);
    assert_eq!(close_behind(), None, "known ones left to take");
    while pop_body(core).is_some() {}
    for i in 0..=CLOSE_BEHIND as i64 {
        assert!(push(core, &[Value::Integer(i)]));
    }
    assert_eq!(close_behind(), Some(false), "a batch ahead");
}

#[test]
fn a_large_body_goes_into_the_memory_of_one_taken_before() {
    let queue = MessageQueue::new(Sizes::default());
    let core = queue.core();
    let text = vec![b'x'; 2 * LINK_ABOVE];
    let values = [Value::String(&text)];
    let body = Values::new(&values).unwrap();
    let kept = Vec::with_capacity(4 * LINK_ABOVE);
    let kept_at = kept.as_ptr();
    core.keep_body(Vec::with_capacity(LINK_ABOVE - 1)); // too small to keep
    core.keep_body(kept);
    core.keep_body(Vec::with_capacity(LINK_ABOVE)); // smaller than the kept one
    let linked_at = |ready: &Ready<'_>| match ready {
        Ready::Linked(_, bytes) => bytes.as_ptr(),
        Ready::InPlace(_) => panic!("a large body is linked"),
    };
    let first = Ready::new(&body, core).unwrap();
    assert_eq!(linked_at(&first), kept_at, "the kept memory");
    let second = Ready::new(&body, core).unwrap();
    assert_ne!(linked_at(&second), kept_at, "kept once only");
    core.keep_body(Vec::with_capacity(KEEP_BODY_MAX + 1));
    assert_eq!(core.spare_body.lock().capacity(), 0, "huge memory is not kept");
}

#[test]
fn fixed_queue_refuses_when_full_and_accepts_after_pop() {
    let queue = MessageQueue::new(Sizes::new(16, 24, 0.0).unwrap());
    let core = queue.core();
    let msg = [Value::Integer(1)]; // 2 + 9 = 11 bytes
    assert!(push(core, &msg));
    assert!(push(core, &msg));
    assert!(!push(core, &msg));
    assert_eq!(core.count(), 2);
    pop_body(core);
    assert!(push(core, &msg));
    assert_eq!(core.count(), 2);
}

#[test]
fn growing_queue_keeps_order_across_wraps_and_segments() {
    let queue = MessageQueue::new(Sizes::new(8, 16, 2.0).unwrap());
    let core = queue.core();
    for i in 0..1000 {
        assert!(push(core, &[Value::Integer(i)]));
        if i % 3 == 0 {
            pop_body(core);
        }
    }
    let mut seen = Vec::new();
    while let Some((body, count)) = pop_body(core) {
        assert_eq!(count, 1);
        seen.extend(first_integer(&body));
    }
    assert!(seen.windows(2).all(|w| w[0] + 1 == w[1]), "order kept: {seen:?}");
    assert_eq!(*seen.last().unwrap(), 999);
    assert_eq!(seen.len(), 1000 - 334);
    assert_eq!(core.count(), 0);
}

#[test]
fn a_drained_and_refilled_ring_wraps_around_in_place() {
    let msg = |i| [Value::Integer(i)]; // a record of 11 bytes
    let queue = MessageQueue::new(Sizes::new(11, 33, 0.0).unwrap());
    let core = queue.core();
    for i in 0..3 {
        assert!(push(core, &msg(i)));
    }
    assert!(!push(core, &msg(99)), "33 bytes of messages are the limit");
    let lens = segment_lens(core);
    for i in 3..200 {
        let (body, _) = pop_body(core).unwrap();
        assert_eq!(first_integer(&body), Some(i - 3));
        assert!(push(core, &msg(i)), "room after a take at {i}");
    }
    assert_eq!(segment_lens(core), lens, "no new segment for a queue that keeps its size");
    assert_eq!(core.count(), 3);
}

#[test]
fn a_producer_ahead_of_a_slow_consumer_goes_on_in_grown_segments() {
    let queue = MessageQueue::new(Sizes::new(8, 64, 2.0).unwrap());
    let core = queue.core();
    for i in 0..100 {
        assert!(push(core, &[Value::Integer(i)]));
    }
    assert!(segment_lens(core).0 >= 1024, "grown by doubling: {:?}", segment_lens(core));
    for i in 0..100 {
        assert_eq!(first_integer(&pop_body(core).unwrap().0), Some(i));
    }
    assert_eq!(segment_lens(core).1, 0, "finished segments, all smaller, are freed");
}

#[test]
fn growing_by_what_is_needed_adds_the_queue_size_not_one_message() {
    let queue = MessageQueue::new(Sizes::new(8, 64, 1.0).unwrap());
    let core = queue.core();
    let mut lens = Vec::new();
    for i in 0..40 {
        assert!(push(core, &[Value::Integer(i)]));
        let len = segment_lens(core).0;
        if lens.last() != Some(&len) {
            lens.push(len);
        }
    }
    // Each new segment holds the old one's messages plus this one: the
    // segments grow, and far fewer than one per message are made.
    assert!(lens.windows(2).all(|w| w[1] > w[0]), "each new segment is larger: {lens:?}");
    assert!(lens.len() <= 10, "a few segments for 40 messages: {lens:?}");
}

#[test]
fn large_bodies_are_linked_counted_in_full_and_kept_in_order() {
    let big = vec![b'x'; LINK_ABOVE];
    let bytes = Values::new(&[Value::String(&big)]).unwrap().size().message_bytes();
    let queue = MessageQueue::new(Sizes::new(bytes, 2 * bytes + 11, 0.0).unwrap());
    let core = queue.core();
    assert!(push(core, &[Value::Integer(1)]));
    assert!(push(core, &[Value::String(&big)]));
    assert!(push(core, &[Value::String(&big)]));
    assert!(!push(core, &[Value::Integer(2)]), "the linked bodies count against size2");
    assert!(segment_lens(core).0 < bytes, "the ring holds only their records");
    assert_eq!(first_integer(&pop_body(core).unwrap().0), Some(1));
    for _ in 0..2 {
        let (body, count) = pop_body(core).unwrap();
        assert_eq!((count, decode_value(&body, &mut 0)), (1, Some(Value::String(&big))));
    }
    assert!(pop_body(core).is_none());
    assert!(push(core, &[Value::String(&big)]));
    core.lock_drain(false).unwrap().clear();
    assert_eq!(core.count(), 0);
    assert!(push(core, &[Value::Integer(3)]));
    assert_eq!(first_integer(&pop_body(core).unwrap().0), Some(3));
}

#[test]
fn free_drops_messages_and_memory_and_the_queue_works_again() {
    let big = vec![b'y'; LINK_ABOVE * 2];
    let queue = MessageQueue::new(Sizes::default());
    let core = queue.core();
    for i in 0..500 {
        assert!(push(core, &[Value::Integer(i), Value::String(&big[..(i as usize % 3) * LINK_ABOVE])]));
    }
    free_all(core);
    assert_eq!((core.count(), segment_lens(core)), (0, (0, 0)));
    assert!(push(core, &[Value::Integer(7)]));
    assert_eq!(first_integer(&pop_body(core).unwrap().0), Some(7));
}

#[test]
fn a_consumer_on_another_thread_gets_every_message_in_order() {
    let queue = std::sync::Arc::new(MessageQueue::new(Sizes::new(8, 64, 1.0).unwrap()));
    // Fewer under Miri, which checks every access (cargo miri test).
    const N: i64 = if cfg!(miri) { 300 } else { 200_000 };
    let consumer = {
        let queue = queue.clone();
        std::thread::spawn(move || {
            let core = queue.core();
            let mut next = 0;
            while next < N {
                if let Some((body, _)) = pop_body(core) {
                    assert_eq!(first_integer(&body), Some(next));
                    next += 1;
                } else {
                    std::hint::spin_loop();
                }
            }
        })
    };
    let core = queue.core();
    let text = [b'z'; 40];
    for i in 0..N {
        assert!(push(core, &[Value::Integer(i), Value::String(&text[..(i % 41) as usize])]));
    }
    consumer.join().unwrap();
    assert_eq!(core.count(), 0);
}
