//! mtmsg: in-memory message buffers for threads that each run their own
//! Lua state (or plain C).
//!
//! The crate has two layers. The core (every module but [`ffi`]) knows
//! buffers, listeners, the process-wide registry, waiting and the message
//! encoding, and nothing of C pointers or Lua. The [`ffi`] module translates
//! the C ABI declared in `include/mtmsg.h` into calls of the core's public
//! API, and nothing more.
//!
//! The core's modules, each depending only on those listed before it:
//!
//! - `primitive`: the seam to the standard library or loom (atomics,
//!   cells, statics, parking), so that loom checks the real code;
//! - `sys`: the operating system (futexes, or a portable emulation; fork);
//! - `error`, `sizes`, `value`, `tables`, `wait`: errors, memory plans, the
//!   message encoding and its tables' shape checks, timeouts;
//! - `sync`: the lock, the event-count signal, the one spin policy;
//! - `abort`: the process-wide abort flag and `sleep`;
//! - `reference`: references, their count, names;
//! - `registry`: a table of one kind of object, by id and name;
//! - `queue`: a buffer's queue of records between its two locked ends;
//! - `reader`: taking one message and reading its values;
//! - `buffer` and `listener`: the one cycle. A listener's ready queue
//!   holds buffers (`listener/ready.rs`, which holds the whole protocol of
//!   that queue), and a listener buffer takes its listener's lock;
//! - `writer`: building a message and adding it to a buffer;
//! - `process`: what concerns every object at once (abort, fork).

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks, clippy::missing_safety_doc)]

mod primitive;
mod sys;

mod error;
mod sizes;
mod value;
mod tables;
mod wait;

mod sync;

mod abort;
mod reference;
mod registry;

mod queue;
mod reader;

mod buffer;
mod listener;

mod process;
mod writer;

pub mod ffi;

#[cfg(all(test, loom))]
#[path = "../test/loom/mod.rs"]
mod loom_checks;

pub use abort::{is_aborted, sleep, time};
pub use buffer::{Buffer, BufferRef, NotifyKind};
pub use error::{Error, ErrorKind};
pub use listener::{Listener, ListenerRef};
pub use process::{abort_all, in_forked_child};
pub use reader::Reader;
pub use reference::{Object, Ref};
pub use sizes::Sizes;
pub use sys::wait_mechanism;
pub use value::{encoded_message_size, AsValue, Value};
pub use writer::Writer;

/// What an operation that may not complete at once achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Progress {
    /// The operation was carried out.
    Done,
    /// Nothing to take before the timeout passed (or a poll found nothing).
    TimedOut,
    /// Not possible now: a fixed-size buffer is full, or a nonblocking
    /// reference found the buffer busy in another thread.
    WouldBlock,
}

/// Library version, as in `Cargo.toml`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
