//! Model checks of the core's real code with loom: each test runs under
//! every interleaving of its threads (up to a bound of preemptions) and the
//! reorderings the atomic orderings allow, and fails on a data race (an
//! access to a guarded cell, or a byte of a queue's segment, not ordered
//! after the last conflicting one), a deadlock (every thread blocked: a
//! lost wake-up), or a failed assertion.
//!
//! Built only with `--cfg loom` (`src/primitive.rs` then gives the core
//! loom's atomics, cells and statics, and `src/sys/parking.rs` emulates the
//! futexes with loom's mutex and condition variable); run by
//! `test/check-memory.sh loom`:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" CARGO_TARGET_DIR=target/loom cargo test --release --lib loom_checks
//! ```
//!
//! Nothing spins under loom (`sync/spin.rs`), so every wait goes the
//! sleeping way, which is the one with a protocol to check.
//!
//! What each protocol's invariant is, is written next to its code:
//! `sync/lock.rs`, `sync/signal.rs`, `queue/mod.rs` (the ends and the
//! sleepers), `queue/segment.rs` (the ring), `listener/ready.rs` (the ready
//! queue), `reference.rs` and `registry.rs` (the count against lookups).

use loom::thread;

use crate::{BufferRef, ErrorKind, Progress, Reader, Sizes, Value};

mod buffers;
mod listeners;
mod primitives;
mod readiness;

/// `loom::model` with at most `preemptions` preemptions per execution
/// unless LOOM_MAX_PREEMPTIONS says otherwise (races that need more are
/// rare, and each one more multiplies the time).
fn check_with<F: Fn() + Sync + Send + 'static>(preemptions: usize, f: F) {
    let mut builder = loom::model::Builder::new();
    if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    builder.check(f);
}

fn check<F: Fn() + Sync + Send + 'static>(f: F) {
    check_with(2, f);
}

fn message(i: i64) -> [Value<'static>; 1] {
    [Value::Integer(i)]
}

fn reader() -> Reader {
    Reader::new(64, 2.0).expect("reader")
}

/// The one integer of the message in `reader`.
fn value_of(reader: &mut Reader) -> i64 {
    match reader.next() {
        Some(Value::Integer(i)) => i,
        other => panic!("not a message of one integer: {other:?}"),
    }
}

/// Takes one message from `buffer`, waiting for ever: its integer.
fn take_one(buffer: &BufferRef) -> i64 {
    let mut r = reader();
    assert_eq!(buffer.take(&mut r, None), Ok(Progress::Done));
    value_of(&mut r)
}

/// A fixed-size plan with room for exactly `messages` messages of one
/// integer (11 bytes each).
fn fixed_for(messages: usize) -> Sizes {
    Sizes::new(11, 11 * messages, 0.0).expect("sizes")
}

fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> thread::JoinHandle<T> {
    thread::spawn(f)
}

fn kind_of<T: std::fmt::Debug>(result: Result<T, crate::Error>) -> ErrorKind {
    result.expect_err("an error").kind
}
