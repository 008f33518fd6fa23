//! The C ABI declared in `include/mtmsg.h`.
//!
//! Only translation lives here: pointers are checked and turned into
//! references ([`boundary`]), C values into core values ([`types`]), core
//! results into status codes. Every exported function runs inside
//! [`boundary::call`], so no panic crosses into C.

#![allow(non_camel_case_types)]

mod boundary;
mod buffer;
mod library;
mod object;
mod listener;
mod reader;
mod types;
mod writer;

pub use buffer::*;
pub use library::*;
pub use listener::*;
pub use reader::*;
pub use types::*;
pub use writer::*;
