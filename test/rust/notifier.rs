//! Notifiers: an empty message to a target buffer after each
//! message added (`>`) or removed (`<`) here, with optional thresholds.

mod common;

use std::time::Instant;

use common::*;
use mtmsg::Object;
use mtmsg::{BufferRef, ErrorKind, ListenerRef, NotifyKind, Progress, Sizes, Value};

fn int(i: i64) -> [Value<'static>; 1] {
    [Value::Integer(i)]
}

#[test]
fn added_notifier_puts_an_empty_message_into_the_target_per_add() {
    let source = new_buffer();
    let target = new_buffer();
    source.set_notifier(NotifyKind::Added, Some(&target), None).unwrap();
    for i in 0..3 {
        source.add(&int(i)).unwrap();
    }
    assert_eq!(target.count().unwrap(), 3);
    assert_eq!(poll(&target), Some(vec![]), "notifications are empty messages");
    // Taking does not notify an `Added` notifier.
    poll(&source);
    assert_eq!(target.count().unwrap(), 2);
}

#[test]
fn setmsg_counts_as_an_add_for_the_added_notifier() {
    let source = new_buffer();
    let target = new_buffer();
    source.set_notifier(NotifyKind::Added, Some(&target), None).unwrap();
    set_str(&source, "s");
    assert_eq!(target.count().unwrap(), 1);
}

#[test]
fn added_notifier_with_threshold_fires_only_while_count_is_above_it() {
    let source = new_buffer();
    let target = new_buffer();
    source.set_notifier(NotifyKind::Added, Some(&target), Some(2)).unwrap();
    source.add(&int(1)).unwrap(); // count 1
    source.add(&int(2)).unwrap(); // count 2
    assert_eq!(target.count().unwrap(), 0);
    source.add(&int(3)).unwrap(); // count 3 > 2
    assert_eq!(target.count().unwrap(), 1);
    source.add(&int(4)).unwrap(); // count 4 > 2
    assert_eq!(target.count().unwrap(), 2);
    source.clear().unwrap();
    source.add(&int(5)).unwrap(); // count 1
    assert_eq!(target.count().unwrap(), 2);
}

#[test]
fn removed_notifier_fires_after_each_take() {
    let source = new_buffer();
    let target = new_buffer();
    source.set_notifier(NotifyKind::Removed, Some(&target), None).unwrap();
    source.add(&int(1)).unwrap();
    source.add(&int(2)).unwrap();
    assert_eq!(target.count().unwrap(), 0, "adds do not fire a `Removed` notifier");
    poll(&source);
    assert_eq!(target.count().unwrap(), 1);
    poll(&source);
    assert_eq!(target.count().unwrap(), 2);
    assert_eq!(poll(&source), None);
    assert_eq!(target.count().unwrap(), 2, "a take that found nothing does not fire");
}

#[test]
fn removed_notifier_with_threshold_fires_only_while_count_is_below_it() {
    let source = new_buffer();
    let target = new_buffer();
    source.set_notifier(NotifyKind::Removed, Some(&target), Some(2)).unwrap();
    for i in 0..4 {
        source.add(&int(i)).unwrap();
    }
    poll(&source); // count 3
    poll(&source); // count 2
    assert_eq!(target.count().unwrap(), 0);
    poll(&source); // count 1 < 2
    assert_eq!(target.count().unwrap(), 1);
    poll(&source); // count 0 < 2
    assert_eq!(target.count().unwrap(), 2);
}

#[test]
fn removed_notifier_fires_when_a_listener_takes_from_the_buffer() {
    let listener = ListenerRef::new(None).unwrap();
    let source = listener.new_buffer(None, Sizes::default()).unwrap();
    let target = new_buffer();
    source.set_notifier(NotifyKind::Removed, Some(&target), None).unwrap();
    add_str(&source, "x");
    assert_eq!(take_all_strings(&listener), ["x"]);
    assert_eq!(target.count().unwrap(), 1);
}

#[test]
fn second_notifier_of_a_kind_is_has_notifier_error_until_disconnected() {
    let source = new_buffer();
    let first = new_buffer();
    let second = new_buffer();
    source.set_notifier(NotifyKind::Added, Some(&first), None).unwrap();
    let err = source.set_notifier(NotifyKind::Added, Some(&second), None).expect_error();
    assert_eq!(err.kind, ErrorKind::HasNotifier);
    assert!(err.to_string().starts_with("mtmsg.error.has_notifier: mtmsg.buffer("), "{err}");
    // The other kind is a separate slot.
    source.set_notifier(NotifyKind::Removed, Some(&second), None).unwrap();
    // The first connection is still in place.
    source.add(&int(1)).unwrap();
    assert_eq!((first.count().unwrap(), second.count().unwrap()), (1, 0));
    source.set_notifier(NotifyKind::Added, None, None).unwrap();
    source.set_notifier(NotifyKind::Added, Some(&second), None).unwrap();
    source.add(&int(2)).unwrap();
    assert_eq!((first.count().unwrap(), second.count().unwrap()), (1, 1));
}

#[test]
fn disconnected_notifier_fires_no_more() {
    let source = new_buffer();
    let target = new_buffer();
    source.set_notifier(NotifyKind::Added, Some(&target), None).unwrap();
    source.add(&int(1)).unwrap();
    source.set_notifier(NotifyKind::Added, None, None).unwrap();
    source.add(&int(2)).unwrap();
    assert_eq!(target.count().unwrap(), 1);
    // Disconnecting what is not connected is fine.
    source.set_notifier(NotifyKind::Removed, None, None).unwrap();
}

#[test]
fn notifier_cycle_does_not_loop() {
    let a = new_buffer();
    let b = new_buffer();
    a.set_notifier(NotifyKind::Added, Some(&b), None).unwrap();
    b.set_notifier(NotifyKind::Added, Some(&a), None).unwrap();
    a.add(&int(1)).unwrap();
    assert_eq!((a.count().unwrap(), b.count().unwrap()), (1, 1));
    b.add(&int(2)).unwrap();
    assert_eq!((a.count().unwrap(), b.count().unwrap()), (2, 2));
    // Removal notifications in a cycle stop after one step as well.
    a.set_notifier(NotifyKind::Removed, Some(&b), None).unwrap();
    b.set_notifier(NotifyKind::Removed, Some(&a), None).unwrap();
    poll(&a);
    assert_eq!((a.count().unwrap(), b.count().unwrap()), (1, 3));
    // Break the cycle so both buffers can be freed.
    a.set_notifier(NotifyKind::Added, None, None).unwrap();
    a.set_notifier(NotifyKind::Removed, None, None).unwrap();
}

#[test]
fn buffer_notifying_itself_gets_one_notification_per_add() {
    let a = new_buffer();
    a.set_notifier(NotifyKind::Added, Some(&a), None).unwrap();
    a.add(&int(1)).unwrap();
    assert_eq!(a.count().unwrap(), 2);
    a.set_notifier(NotifyKind::Added, None, None).unwrap();
}

#[test]
fn full_or_closed_target_misses_the_notification_but_the_add_succeeds() {
    let source = new_buffer();
    let target = BufferRef::new(None, fixed(2, 2)).unwrap(); // room for one empty message
    source.set_notifier(NotifyKind::Added, Some(&target), None).unwrap();
    assert_eq!(source.add(&int(1)).unwrap(), Progress::Done);
    assert_eq!(source.add(&int(2)).unwrap(), Progress::Done);
    assert_eq!(target.count().unwrap(), 1);
    target.close();
    assert_eq!(source.add(&int(3)).unwrap(), Progress::Done);
    assert_eq!(source.count().unwrap(), 3);
}

#[test]
fn notifier_into_a_listener_buffer_wakes_the_listener() {
    // A standalone buffer can be watched by a listener through a notifier.
    let listener = ListenerRef::new(None).unwrap();
    let signal = listener.new_buffer(None, Sizes::default()).unwrap();
    let source = new_buffer();
    source.set_notifier(NotifyKind::Added, Some(&signal), None).unwrap();
    let waiting = listener.clone();
    let watcher = wait_in_thread(move || {
        let mut r = reader();
        let progress = waiting.take(&mut r, LONG).unwrap();
        (progress, r.remaining())
    });
    let added = Instant::now();
    add_str(&source, "payload");
    assert_eq!(watcher.woken_by(added), (Progress::Done, 0));
    assert_eq!(poll(&source), Some(vec![Owned::str("payload")]));
}

#[test]
fn closing_the_source_releases_its_notifier_links() {
    let source = new_buffer();
    let target = new_buffer();
    let target_id = target.buffer().id();
    source.set_notifier(NotifyKind::Added, Some(&target), None).unwrap();
    drop(target);
    source.close();
    assert_eq!(BufferRef::find_id(target_id).expect_error().kind, ErrorKind::UnknownObject);
}
