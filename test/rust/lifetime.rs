//! Lifetime: an object lives while a reference to it exists, and is
//! unreachable once the last one is gone.

mod common;

use common::*;
use mtmsg::Object;
use mtmsg::{BufferRef, ErrorKind, ListenerRef, NotifyKind, Sizes};

#[test]
fn buffer_is_unreachable_by_id_and_name_after_its_last_reference_drops() {
    let name = unique_name("gone");
    let b = BufferRef::new(Some(&name), Sizes::default()).unwrap();
    let id = b.buffer().id();
    add_str(&b, "lost");
    drop(b);
    assert_eq!(BufferRef::find_id(id).expect_error().kind, ErrorKind::UnknownObject);
    assert_eq!(BufferRef::find_name(&name).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn buffer_lives_while_any_reference_does() {
    let b = new_buffer();
    let id = b.buffer().id();
    let found = BufferRef::find_id(id).unwrap();
    let cloned = found.clone();
    drop(b);
    add_str(&found, "kept");
    drop(found);
    assert_eq!(BufferRef::find_id(id).unwrap().buffer().id(), id);
    assert_eq!(poll(&cloned), Some(vec![Owned::str("kept")]));
    drop(cloned);
    assert_eq!(BufferRef::find_id(id).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn ids_are_not_reused_after_an_object_is_gone() {
    let first = new_buffer().buffer().id();
    let second = new_buffer().buffer().id();
    assert_ne!(first, second);
    assert_eq!(BufferRef::find_id(first).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn listener_is_unreachable_after_its_last_reference_drops() {
    let name = unique_name("listener-gone");
    let listener = ListenerRef::new(Some(&name)).unwrap();
    let id = listener.listener().id();
    let again = ListenerRef::find_id(id).unwrap();
    drop(listener);
    assert_eq!(ListenerRef::find_name(&name).unwrap().listener().id(), id);
    drop(again);
    assert_eq!(ListenerRef::find_id(id).expect_error().kind, ErrorKind::UnknownObject);
    assert_eq!(ListenerRef::find_name(&name).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn listener_lives_while_one_of_its_buffers_does() {
    let listener = ListenerRef::new(None).unwrap();
    let id = listener.listener().id();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    drop(listener);
    add_str(&b, "for whoever finds the listener");
    let found = ListenerRef::find_id(id).expect("kept alive by its buffer");
    assert_eq!(take_all_strings(&found), ["for whoever finds the listener"]);
    drop(found);
    drop(b);
    assert_eq!(ListenerRef::find_id(id).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn listener_does_not_keep_its_buffers_alive() {
    let listener = ListenerRef::new(None).unwrap();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    let id = b.buffer().id();
    drop(b);
    assert_eq!(BufferRef::find_id(id).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn listener_holding_messages_of_dropped_buffers_is_freed_with_its_last_reference() {
    // The undelivered messages must not keep the listener reachable.
    let listener = ListenerRef::new(None).unwrap();
    let id = listener.listener().id();
    let b = listener.new_buffer(None, Sizes::default()).unwrap();
    add_str(&b, "never taken");
    drop(b);
    drop(listener);
    assert_eq!(ListenerRef::find_id(id).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn notifier_link_does_not_keep_its_target_alive() {
    let source = new_buffer();
    let target = new_buffer();
    let target_id = target.buffer().id();
    source.set_notifier(NotifyKind::Added, Some(&target), None).unwrap();
    drop(target);
    assert_eq!(BufferRef::find_id(target_id).expect_error().kind, ErrorKind::UnknownObject);
    add_str(&source, "x");
    assert_eq!(source.count().unwrap(), 1);
}

#[test]
fn buffers_notifying_each_other_are_freed_when_dropped() {
    let a = new_buffer();
    let b = new_buffer();
    let (a_id, b_id) = (a.buffer().id(), b.buffer().id());
    a.set_notifier(NotifyKind::Added, Some(&b), None).unwrap();
    b.set_notifier(NotifyKind::Added, Some(&a), None).unwrap();
    drop(a);
    drop(b);
    assert_eq!(BufferRef::find_id(a_id).expect_error().kind, ErrorKind::UnknownObject);
    assert_eq!(BufferRef::find_id(b_id).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn notifier_links_are_released_when_the_source_is_gone() {
    let source = new_buffer();
    let target = new_buffer();
    let target_id = target.buffer().id();
    source.set_notifier(NotifyKind::Removed, Some(&target), None).unwrap();
    drop(target);
    drop(source);
    assert_eq!(BufferRef::find_id(target_id).expect_error().kind, ErrorKind::UnknownObject);
}

#[test]
fn name_of_a_dropped_buffer_is_free_for_a_new_one() {
    let name = unique_name("reused");
    drop(BufferRef::new(Some(&name), Sizes::default()).unwrap());
    let again = BufferRef::new(Some(&name), Sizes::default()).unwrap();
    assert_eq!(BufferRef::find_name(&name).unwrap().buffer().id(), again.buffer().id());
}

#[test]
fn name_of_a_dropped_listener_is_free_for_a_new_one() {
    let name = unique_name("reused-listener");
    drop(ListenerRef::new(Some(&name)).unwrap());
    let again = ListenerRef::new(Some(&name)).unwrap();
    assert_eq!(ListenerRef::find_name(&name).unwrap().listener().id(), again.listener().id());
}
