//! Buffers and listeners shared by threads: order across threads and
//! blocked takes that wake up.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::*;
use mtmsg::Object;
use mtmsg::{BufferRef, ErrorKind, ListenerRef, Progress, Sizes, Value};

const MESSAGES: i64 = 1_000_000;

#[test]
fn two_threads_pass_a_million_messages_in_order() {
    let b = new_buffer();
    let id = b.buffer().id();
    let consumer = thread::spawn(move || {
        let b = BufferRef::find_id(id).unwrap();
        let mut r = reader();
        for expected in 0..MESSAGES {
            assert_eq!(b.take(&mut r, None).unwrap(), Progress::Done);
            assert_eq!(r.remaining(), 1, "message {expected}");
            match r.next() {
                Some(Value::Integer(i)) if i == expected => {}
                other => panic!("message {expected}: got {other:?}"),
            }
        }
        assert_eq!(b.count().unwrap(), 0);
    });
    for i in 0..MESSAGES {
        assert_eq!(b.add(&[Value::Integer(i)]).unwrap(), Progress::Done);
    }
    consumer.join().unwrap();
}

#[test]
fn fixed_buffer_passes_many_messages_in_order_with_producer_waiting_for_room() {
    let b = BufferRef::new(None, fixed(64, 256)).unwrap();
    let producer_end = b.clone();
    let producer = thread::spawn(move || {
        for i in 0..100_000i64 {
            assert_eq!(producer_end.add_wait(&[Value::Integer(i)], None).unwrap(), Progress::Done);
        }
    });
    let mut r = reader();
    for expected in 0..100_000i64 {
        assert_eq!(b.take(&mut r, None).unwrap(), Progress::Done);
        assert_eq!(r.next(), Some(Value::Integer(expected)));
    }
    producer.join().unwrap();
}

#[test]
fn blocked_take_wakes_when_a_message_is_added() {
    let b = new_buffer();
    let waiting = b.clone();
    let taker = wait_in_thread(move || take(&waiting, LONG));
    let added = Instant::now();
    add_str(&b, "wake up");
    assert_eq!(taker.woken_by(added), Some(vec![Owned::str("wake up")]));
}

#[test]
fn blocked_listener_take_wakes_when_any_buffer_gets_a_message() {
    let listener = ListenerRef::new(None).unwrap();
    let buffers: Vec<BufferRef> = (0..3).map(|_| listener.new_buffer(None, Sizes::default()).unwrap()).collect();
    let waiting = listener.clone();
    let taker = wait_in_thread(move || {
        let mut r = reader();
        assert_eq!(waiting.take(&mut r, LONG).unwrap(), Progress::Done);
        drain(&mut r)
    });
    let added = Instant::now();
    add_str(&buffers[2], "third");
    assert_eq!(taker.woken_by(added), vec![Owned::str("third")]);
}

#[test]
fn blocked_take_on_a_listener_buffer_wakes_when_that_buffer_gets_a_message() {
    let listener = ListenerRef::new(None).unwrap();
    let a = listener.new_buffer(None, Sizes::default()).unwrap();
    let waiting = a.clone();
    let taker = wait_in_thread(move || take(&waiting, LONG));
    let added = Instant::now();
    add_str(&a, "for a");
    assert_eq!(taker.woken_by(added), Some(vec![Owned::str("for a")]));
}

#[test]
fn waiting_for_one_listener_buffer_does_not_swallow_a_wakeup_meant_for_the_listener() {
    // One thread waits on buffer a of a listener, another on the listener
    // itself. A message to buffer b can only go to the listener's taker.
    let listener = ListenerRef::new(None).unwrap();
    let a = listener.new_buffer(None, Sizes::default()).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    let a_waiting = a.clone();
    let a_taker = wait_in_thread(move || take(&a_waiting, LONG));
    let l_waiting = listener.clone();
    let l_taker = wait_in_thread(move || {
        let mut r = reader();
        let progress = l_waiting.take(&mut r, LONG).unwrap();
        (progress, drain(&mut r))
    });
    let added = Instant::now();
    add_str(&b, "for the listener");
    assert_eq!(l_taker.woken_by(added), (Progress::Done, vec![Owned::str("for the listener")]));
    assert_eq!(b.count().unwrap(), 0);
    let added = Instant::now();
    add_str(&a, "for a");
    assert_eq!(a_taker.woken_by(added), Some(vec![Owned::str("for a")]));
}

#[test]
fn blocked_buffer_take_is_not_satisfied_by_a_sibling_buffer() {
    let listener = ListenerRef::new(None).unwrap();
    let a = listener.new_buffer(None, Sizes::default()).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    let a_waiting = a.clone();
    let a_taker = thread::spawn(move || take(&a_waiting, Some(Duration::from_millis(300))));
    thread::sleep(Duration::from_millis(50));
    add_str(&b, "not for a");
    assert_eq!(a_taker.join().unwrap(), None);
    assert_eq!(b.count().unwrap(), 1);
}

#[test]
fn blocked_listener_take_ends_with_no_buffers_when_its_last_buffer_is_dropped() {
    let listener = ListenerRef::new(None).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    let waiting = listener.clone();
    let taker = wait_in_thread(move || waiting.take(&mut reader(), LONG).map_err(|e| e.kind));
    let dropped = Instant::now();
    drop(b);
    assert_eq!(taker.woken_by(dropped), Err(ErrorKind::NoBuffers));
}

#[test]
fn several_producers_to_one_listener_keep_each_buffers_order() {
    const PER_PRODUCER: i64 = 20_000;
    let listener = ListenerRef::new(None).unwrap();
    let producers: Vec<_> = (0..4i64)
        .map(|p| {
            let b = listener.new_buffer(None, Sizes::default()).unwrap();
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    b.add(&[Value::Integer(p), Value::Integer(i)]).unwrap();
                }
            })
        })
        .collect();
    let mut next = [0i64; 4];
    let mut r = reader();
    for _ in 0..4 * PER_PRODUCER {
        assert_eq!(listener.take(&mut r, Some(Duration::from_secs(10))).unwrap(), Progress::Done);
        let [Owned::Integer(p), Owned::Integer(i)] = drain(&mut r)[..] else {
            panic!("bad message");
        };
        assert_eq!(i, next[p as usize], "producer {p}");
        next[p as usize] += 1;
    }
    for p in producers {
        p.join().unwrap();
    }
    // All producers' buffers are gone now, and all their messages taken.
    assert_eq!(listener.take(&mut r, None).expect_error().kind, ErrorKind::NoBuffers);
}

#[test]
fn many_consumers_share_one_buffer_and_each_message_is_taken_once() {
    const TOTAL: i64 = 40_000;
    let b = new_buffer();
    let consumers: Vec<_> = (0..3)
        .map(|_| {
            let b = b.clone();
            thread::spawn(move || {
                let mut r = reader();
                let mut got = Vec::new();
                loop {
                    assert_eq!(b.take(&mut r, None).unwrap(), Progress::Done);
                    match r.next() {
                        Some(Value::Integer(i)) => got.push(i),
                        _ => return got, // the empty stop message
                    }
                }
            })
        })
        .collect();
    for i in 0..TOTAL {
        b.add(&[Value::Integer(i)]).unwrap();
    }
    for _ in 0..3 {
        b.add(&NO_VALUES).unwrap();
    }
    let mut all: Vec<i64> = Vec::new();
    for c in consumers {
        let got = c.join().unwrap();
        assert!(got.windows(2).all(|w| w[0] < w[1]), "each consumer sees increasing ids");
        all.extend(got);
    }
    all.sort_unstable();
    assert_eq!(all, (0..TOTAL).collect::<Vec<_>>());
}

#[test]
fn a_burst_into_one_listener_buffer_wakes_every_sleeping_listener_taker() {
    // Producers add to a ready buffer without the listener's lock; each
    // addition must still wake one sleeping taker, not only the first.
    const TAKERS: usize = 6;
    let listener = ListenerRef::new(None).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    let takers: Vec<_> = (0..TAKERS)
        .map(|_| {
            let listener = listener.clone();
            wait_in_thread(move || listener.take(&mut reader(), LONG).unwrap())
        })
        .collect();
    let burst = Instant::now();
    for i in 0..TAKERS as i64 {
        b.add(&[Value::Integer(i)]).unwrap();
    }
    for t in takers {
        assert_eq!(t.woken_by(burst), Progress::Done);
    }
}

#[test]
fn listener_takers_and_a_direct_taker_share_listener_buffers_without_loss_or_duplicates() {
    // Producers add without the listener's lock while listener takers and
    // a taker of one buffer empty the buffers: every message is taken
    // exactly once, each buffer's in its order.
    const PRODUCERS: i64 = 3;
    const PER_PRODUCER: i64 = 30_000;
    const TOTAL: usize = (PRODUCERS * PER_PRODUCER) as usize;
    let listener = ListenerRef::new(None).unwrap();
    let buffers: Vec<BufferRef> = (0..PRODUCERS).map(|_| listener.new_buffer(None, Sizes::default()).unwrap()).collect();
    let taken = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let consume = |take: Box<dyn Fn(&mut mtmsg::Reader) -> Progress + Send>| {
        let taken = taken.clone();
        thread::spawn(move || {
            let mut r = reader();
            let mut got = Vec::new();
            while taken.load(std::sync::atomic::Ordering::SeqCst) < TOTAL {
                if take(&mut r) == Progress::Done {
                    taken.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let [Owned::Integer(p), Owned::Integer(i)] = drain(&mut r)[..] else {
                        panic!("bad message");
                    };
                    got.push((p, i));
                }
            }
            got
        })
    };
    let short = Some(Duration::from_millis(20));
    let mut consumers = Vec::new();
    for _ in 0..2 {
        let listener = listener.clone();
        consumers.push(consume(Box::new(move |r| listener.take(r, short).unwrap())));
    }
    let first = buffers[0].clone();
    consumers.push(consume(Box::new(move |r| first.take(r, short).unwrap())));
    let producers: Vec<_> = buffers
        .iter()
        .enumerate()
        .map(|(p, b)| {
            let b = b.clone();
            thread::spawn(move || {
                for i in 0..PER_PRODUCER {
                    b.add(&[Value::Integer(p as i64), Value::Integer(i)]).unwrap();
                }
            })
        })
        .collect();
    for p in producers {
        p.join().unwrap();
    }
    let mut all = Vec::new();
    for c in consumers {
        let got = c.join().unwrap();
        for p in 0..PRODUCERS {
            let mine: Vec<i64> = got.iter().filter(|m| m.0 == p).map(|m| m.1).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "a consumer sees buffer {p} in order");
        }
        all.extend(got);
    }
    all.sort_unstable();
    let expected: Vec<(i64, i64)> = (0..PRODUCERS).flat_map(|p| (0..PER_PRODUCER).map(move |i| (p, i))).collect();
    assert_eq!(all.len(), TOTAL);
    assert!(all == expected, "every message taken exactly once");
    for b in &buffers {
        assert_eq!(b.count().unwrap(), 0);
    }
}

/// Long enough for a thread adding (or taking) on its own to get its end
/// of the queue biased to it (src/bias.rs).
const BIASING_RUN: i64 = 3_000;

#[test]
fn a_taker_sleeping_between_bursts_of_a_biased_producer_wakes_for_each_one() {
    // Each burst biases the feeding lock to the producer, who then adds
    // without atomic read-modify-writes; the taker, asleep by the time the
    // next burst starts, must still be woken by it.
    const BURSTS: i64 = 20;
    let b = new_buffer();
    let consumer = {
        let b = b.clone();
        thread::spawn(move || {
            let mut r = reader();
            for expected in 0..BURSTS * BIASING_RUN {
                assert_eq!(b.take(&mut r, Some(Duration::from_secs(20))).unwrap(), Progress::Done, "message {expected}");
                assert_eq!(drain(&mut r), [Owned::Integer(expected)]);
            }
        })
    };
    for burst in 0..BURSTS {
        thread::sleep(Duration::from_millis(2));
        for i in 0..BIASING_RUN {
            b.add(&[Value::Integer(burst * BIASING_RUN + i)]).unwrap();
        }
    }
    consumer.join().unwrap();
}

#[test]
fn occasional_producers_and_takers_revoking_biased_ones_lose_and_duplicate_nothing() {
    // One producer and one taker work all the time, so each end of the
    // queue gets biased to them; another producer and another taker come
    // in now and then, each time revoking that bias, often while its
    // owner is inside.
    const STEADY: i64 = 200_000;
    let b = new_buffer();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let now_and_then = Duration::from_micros(200);
    let steady_producer = {
        let b = b.clone();
        thread::spawn(move || {
            for i in 0..STEADY {
                b.add(&[Value::Integer(0), Value::Integer(i)]).unwrap();
            }
        })
    };
    let occasional_producer = {
        let (b, done) = (b.clone(), done.clone());
        thread::spawn(move || {
            let mut i = 0;
            while !done.load(std::sync::atomic::Ordering::SeqCst) {
                b.add(&[Value::Integer(1), Value::Integer(i)]).unwrap();
                i += 1;
                thread::sleep(now_and_then);
            }
            i
        })
    };
    let taker = |pause: Option<Duration>| {
        let (b, done) = (b.clone(), done.clone());
        thread::spawn(move || {
            let mut r = reader();
            let mut got = Vec::new();
            loop {
                if b.take(&mut r, Some(Duration::from_millis(1))).unwrap() == Progress::Done {
                    let [Owned::Integer(p), Owned::Integer(i)] = drain(&mut r)[..] else {
                        panic!("bad message");
                    };
                    got.push((p, i));
                } else if done.load(std::sync::atomic::Ordering::SeqCst) {
                    return got;
                }
                if let Some(pause) = pause {
                    thread::sleep(pause);
                }
            }
        })
    };
    let takers = [taker(None), taker(Some(now_and_then))];
    steady_producer.join().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let occasional = occasional_producer.join().unwrap();
    let mut all = Vec::new();
    for t in takers {
        let got = t.join().unwrap();
        for p in 0..2 {
            let mine: Vec<i64> = got.iter().filter(|(q, _)| *q == p).map(|(_, i)| *i).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "each taker sees each producer's messages in order");
        }
        all.extend(got);
    }
    all.sort_unstable();
    let expected: Vec<(i64, i64)> = (0..STEADY).map(|i| (0, i)).chain((0..occasional).map(|i| (1, i))).collect();
    assert_eq!(all.len(), expected.len());
    assert!(all == expected, "every message taken once");
}
