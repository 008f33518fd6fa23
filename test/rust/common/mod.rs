//! Helpers shared by the Rust integration tests: owned copies of message
//! values (floats compared bit for bit) and one-line take/add wrappers.

#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mtmsg::{BufferRef, ListenerRef, Progress, Reader, Sizes, Value};

/// A value taken out of a reader, owning its bytes; floats are kept as
/// their bit pattern so that `==` means bit-exact.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owned {
    Nil,
    Boolean(bool),
    Integer(i64),
    NumberBits(u64),
    String(Vec<u8>),
    Pointer(usize),
    CFunction(usize),
    Table { array: usize, pairs: usize },
    TableRef(usize),
}

impl Owned {
    pub fn of(value: &Value<'_>) -> Owned {
        match *value {
            Value::Nil => Owned::Nil,
            Value::Boolean(b) => Owned::Boolean(b),
            Value::Integer(i) => Owned::Integer(i),
            Value::Number(n) => Owned::NumberBits(n.to_bits()),
            Value::String(s) => Owned::String(s.to_vec()),
            Value::Pointer(p) => Owned::Pointer(p),
            Value::CFunction(f) => Owned::CFunction(f),
            Value::Table { array, pairs } => Owned::Table { array, pairs },
            Value::TableRef(number) => Owned::TableRef(number),
        }
    }

    pub fn str(s: &str) -> Owned {
        Owned::String(s.as_bytes().to_vec())
    }
}

pub fn owned(values: &[Value<'_>]) -> Vec<Owned> {
    values.iter().map(Owned::of).collect()
}

/// Every entry of the reader's current message.
pub fn drain(reader: &mut Reader) -> Vec<Owned> {
    let mut values = Vec::with_capacity(reader.remaining());
    while let Some(value) = reader.next() {
        values.push(Owned::of(&value));
    }
    values
}

pub fn reader() -> Reader {
    Reader::new(128, 2.0).unwrap()
}

/// Takes one message from a buffer: its values, or `None` when the take
/// did not deliver one (timeout, poll found nothing, would block).
pub fn take(buffer: &BufferRef, timeout: Option<Duration>) -> Option<Vec<Owned>> {
    let mut r = reader();
    match buffer.take(&mut r, timeout).unwrap() {
        Progress::Done => Some(drain(&mut r)),
        _ => None,
    }
}

/// Polls a buffer for one message.
pub fn poll(buffer: &BufferRef) -> Option<Vec<Owned>> {
    take(buffer, Some(Duration::ZERO))
}

/// Polls a listener for one message.
pub fn poll_listener(listener: &ListenerRef) -> Option<Vec<Owned>> {
    let mut r = reader();
    match listener.take(&mut r, Some(Duration::ZERO)).unwrap() {
        Progress::Done => Some(drain(&mut r)),
        _ => None,
    }
}

/// Polls a listener for messages of one string value until none is left.
pub fn take_all_strings(listener: &ListenerRef) -> Vec<String> {
    let mut got = Vec::new();
    while let Some(values) = poll_listener(listener) {
        match values.as_slice() {
            [Owned::String(s)] => got.push(String::from_utf8(s.clone()).unwrap()),
            other => panic!("expected one string, got {other:?}"),
        }
    }
    got
}

/// Adds a message of one string and checks it was added.
pub fn add_str(buffer: &BufferRef, s: &str) {
    assert_eq!(buffer.add(&[Value::String(s.as_bytes())]).unwrap(), Progress::Done);
}

/// Replaces a buffer's messages by one of one string.
pub fn set_str(buffer: &BufferRef, s: &str) {
    assert_eq!(buffer.set(&[Value::String(s.as_bytes())]).unwrap(), Progress::Done);
}

pub fn new_buffer() -> BufferRef {
    BufferRef::new(None, Sizes::default()).unwrap()
}

pub fn fixed(size1: usize, size2: usize) -> Sizes {
    Sizes::new(size1, size2, 0.0).unwrap()
}

/// A name no other test in the process uses, so lookups by name cannot
/// collide between tests running in parallel.
pub fn unique_name(base: &str) -> Vec<u8> {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!("{base}#{}#{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed)).into_bytes()
}

pub const NO_VALUES: [Value<'static>; 0] = [];

/// `unwrap_err` for results whose success value (a reference type) has no
/// `Debug`.
pub trait ExpectError {
    fn expect_error(self) -> mtmsg::Error;
}

impl<T> ExpectError for Result<T, mtmsg::Error> {
    fn expect_error(self) -> mtmsg::Error {
        match self {
            Ok(_) => panic!("expected an error, the operation succeeded"),
            Err(e) => e,
        }
    }
}

/// How long a thread in these tests waits at most: long enough never to
/// run out in a working build, short enough that a lost wake-up fails the
/// test instead of hanging it.
pub const LONG: Option<Duration> = Some(Duration::from_secs(10));

/// A thread started to block in some wait.
pub struct Waiter<T> {
    handle: std::thread::JoinHandle<(T, std::time::Instant)>,
}

/// Runs `wait` on a new thread and gives it time to start waiting.
pub fn wait_in_thread<T: Send + 'static>(wait: impl FnOnce() -> T + Send + 'static) -> Waiter<T> {
    let handle = std::thread::spawn(move || {
        let result = wait();
        (result, std::time::Instant::now())
    });
    std::thread::sleep(Duration::from_millis(100));
    Waiter { handle }
}

impl<T> Waiter<T> {
    /// Joins the thread, checking that it returned because of what
    /// happened at `event` (not before it, and not only when its own
    /// timeout ran out, after which it may find the same result).
    pub fn woken_by(self, event: std::time::Instant) -> T {
        let (result, returned) = self.handle.join().expect("waiting thread panicked");
        assert!(returned >= event, "returned before it was woken");
        let delay = returned - event;
        assert!(delay < Duration::from_secs(2), "woken only {delay:?} later: the wake-up was lost");
        result
    }
}
