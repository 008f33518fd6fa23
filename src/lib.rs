//! mtmsg: in-memory message buffers for threads that each run their own Lua
//! state (or plain C).
//!
//! The crate has two layers. The core (every module but [`ffi`]) knows
//! buffers, listeners, the process-wide registry, waiting and the message
//! encoding, and nothing of C pointers or Lua. The [`ffi`] module translates
//! the C ABI declared in `include/mtmsg.h` into calls of the core.

mod abort;
mod bias;
mod buffer;
mod error;
mod home;
mod listener;
mod queue;
mod reader;
mod reference;
mod registry;
mod sizes;
mod sync;
mod tables;
mod value;
mod writer;

pub mod ffi;

pub use abort::{abort_all, is_aborted, sleep, time};
pub use buffer::{Buffer, BufferRef, NotifyKind};
pub use error::{Error, ErrorKind};
pub use listener::{Listener, ListenerRef};
pub use sizes::Sizes;
pub use reader::Reader;
pub use reference::{Object, Ref};
pub use value::{encoded_message_size, Value};
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
