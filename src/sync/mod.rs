//! The synchronization the core builds on: a lock ([`Lock`]), a condition
//! threads wait for ([`Signal`]), the counter spinning takers watch
//! ([`Additions`]), the one spin policy (`spin`), and the descriptor event
//! loops wait on (`readiness`).
//!
//! Every protocol here and in its users is written for the C++/Rust memory
//! model, not for x86 alone, so that loom can check it (`test/loom/`): a
//! "change, then look" pair between two threads is ordered either by a
//! lock both go through, or by a `fence(SeqCst)` on both sides; never by
//! the strength of a single access.

mod additions;
mod lock;
pub(crate) mod readiness;
mod signal;
pub(crate) mod spin;
pub(crate) mod valgrind;

use std::ops::Deref;

pub(crate) use additions::Additions;
pub(crate) use lock::{Lock, LockGuard};
pub(crate) use signal::Signal;

/// Keeps its value on cache lines of its own, so that threads writing it
/// do not slow down threads reading what would otherwise lie beside it.
#[repr(C, align(64))]
pub(crate) struct CacheLine<T>(pub T);

impl<T> Deref for CacheLine<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}
