//! `mtmsg_listener_*`: listeners through the C ABI.

use std::ffi::c_char;

use super::boundary::{arg, arg_mut, bytes, call, call_void, give, optional_name, out, release, timeout};
use super::object;
use super::types::{mtmsg_buffer, mtmsg_listener, mtmsg_reader, mtmsg_status};
use crate::{ListenerRef, Sizes};

/// Creates a listener (`name`: `name_len` bytes, or NULL for none).
///
/// # Safety
/// - `name` is NULL or points to `name_len` readable bytes.
/// - `out_listener` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_new(
    name: *const c_char,
    name_len: usize,
    out_listener: *mut *mut mtmsg_listener,
) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let out_listener = out(out_listener, "out_listener")?;
        Ok(give(out_listener, mtmsg_listener(ListenerRef::new(optional_name(name, name_len))?)))
    })
}

/// A new reference to the listener with this id (`MTMSG_UNKNOWN_OBJECT`).
///
/// # Safety
/// `out_listener` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_find_id(id: u64, out_listener: *mut *mut mtmsg_listener) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let out_listener = out(out_listener, "out_listener")?;
        Ok(give(out_listener, mtmsg_listener(ListenerRef::find_id(id)?)))
    })
}

/// A new reference to the one listener with this name
/// (`MTMSG_UNKNOWN_OBJECT`, `MTMSG_AMBIGUOUS_NAME`).
///
/// # Safety
/// - `name` is NULL or points to `name_len` readable bytes.
/// - `out_listener` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_find_name(
    name: *const c_char,
    name_len: usize,
    out_listener: *mut *mut mtmsg_listener,
) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let out_listener = out(out_listener, "out_listener")?;
        let name = bytes(name, name_len, "name")?;
        Ok(give(out_listener, mtmsg_listener(ListenerRef::find_name(name)?)))
    })
}

/// Another reference to the same listener (its nonblock mode off).
///
/// # Safety
/// - `listener` is NULL or a listener handle of this library, not released.
/// - `out_listener` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_clone(
    listener: *const mtmsg_listener,
    out_listener: *mut *mut mtmsg_listener,
) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::clone(listener, out_listener) }
}

/// Drops this reference; the listener goes when its last reference (a
/// handle or one of its buffers) does. NULL is fine.
///
/// # Safety
/// `listener` is NULL or a listener handle of this library, not released.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_release(listener: *mut mtmsg_listener) {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call_void(|| unsafe { release(listener) })
}

/// The listener's process-wide unique id.
///
/// # Safety
/// - `listener` is NULL or a listener handle of this library, not released.
/// - `out_id` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_id(listener: *const mtmsg_listener, out_id: *mut u64) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::id(listener, out_id) }
}

/// The listener's name (`*out_name` NULL when unnamed); valid while the
/// handle lives.
///
/// # Safety
/// - `listener` is NULL or a listener handle of this library, not released.
/// - `out_name` is NULL or valid for a write.
/// - `out_len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_name(
    listener: *const mtmsg_listener,
    out_name: *mut *const c_char,
    out_len: *mut usize,
) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::name(listener, out_name, out_len) }
}

/// Creates a buffer served by the listener; arguments as for
/// `mtmsg_buffer_new`. The listener does not keep it alive, but delivers
/// the messages it still holds when it goes.
///
/// # Safety
/// - `listener` is NULL or a listener handle of this library, not released.
/// - `name` is NULL or points to `name_len` readable bytes.
/// - `out_buffer` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_newbuffer(
    listener: *mut mtmsg_listener,
    name: *const c_char,
    name_len: usize,
    size1: usize,
    size2: usize,
    grow: f64,
    out_buffer: *mut *mut mtmsg_buffer,
) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let listener = arg(listener, "listener")?;
        let out_buffer = out(out_buffer, "out_buffer")?;
        let sizes = Sizes::new(size1, size2, grow)?;
        Ok(give(out_buffer, mtmsg_buffer(listener.0.new_buffer(optional_name(name, name_len), sizes)?)))
    })
}

/// Takes the next message of any of the listener's buffers into `reader`,
/// round robin; timeout and results as for `mtmsg_buffer_nextmsg`, plus
/// `MTMSG_NO_BUFFERS` when it has no buffers and no messages.
///
/// # Safety
/// - `listener` is NULL or a listener handle of this library, not released.
/// - `reader` is NULL or a reader handle of this library, not released and used by no other thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_nextmsg(
    listener: *mut mtmsg_listener,
    reader: *mut mtmsg_reader,
    timeout_seconds: f64,
) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let listener = arg(listener, "listener")?;
        let reader = arg_mut(reader, "reader")?;
        Ok(listener.0.take(&mut reader.0, timeout(timeout_seconds)?)?.into())
    })
}

/// Drops the messages of all the listener's buffers.
///
/// # Safety
/// `listener` is NULL or a listener handle of this library, not released.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_clear(listener: *mut mtmsg_listener) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::clear(listener) }
}

/// Closes the listener and all its buffers for good.
///
/// # Safety
/// `listener` is NULL or a listener handle of this library, not released.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_close(listener: *mut mtmsg_listener) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::close(listener) }
}

/// Aborts (`true`) or un-aborts the listener and, with it, its buffers.
///
/// # Safety
/// `listener` is NULL or a listener handle of this library, not released.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_abort(listener: *mut mtmsg_listener, flag: bool) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::abort(listener, flag) }
}

/// Whether the listener itself is aborted.
///
/// # Safety
/// - `listener` is NULL or a listener handle of this library, not released.
/// - `out_flag` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_isabort(listener: *const mtmsg_listener, out_flag: *mut bool) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::isabort(listener, out_flag) }
}

/// Sets this handle's nonblock mode (see `mtmsg_buffer_nonblock`).
///
/// # Safety
/// `listener` is NULL or a listener handle of this library, not released.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_nonblock(listener: *mut mtmsg_listener, flag: bool) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::nonblock(listener, flag) }
}

/// This handle's nonblock mode.
///
/// # Safety
/// - `listener` is NULL or a listener handle of this library, not released.
/// - `out_flag` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_isnonblock(listener: *const mtmsg_listener, out_flag: *mut bool) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::isnonblock(listener, out_flag) }
}

/// A descriptor an event loop (poll, epoll, ...) can wait on for this
/// listener, level-triggered: readable exactly while one of its buffers holds a message
/// or the listener is closed or aborted (a spurious wake-up is possible only
/// while another thread takes a message at the same time: then take with
/// a zero timeout and wait again). Made on the first call, one per listener
/// (every handle gets the same), close-on-exec and nonblocking, valid while
/// any reference to the listener exists and closed when it is freed. Do not
/// read, write or close it. Answers on a closed or aborted listener too.
/// `MTMSG_OUT_OF_MEMORY` when no descriptor can be had.
///
/// # Safety
/// - `listener` is NULL or a listener handle of this library, not released.
/// - `out_fd` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_fd(listener: *const mtmsg_listener, out_fd: *mut i32) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::fd(listener, out_fd) }
}

/// What the listener's descriptor says: whether one of its buffers holds a message, or the
/// listener is closed or aborted. Answers on a closed listener too.
///
/// # Safety
/// - `listener` is NULL or a listener handle of this library, not released.
/// - `out_flag` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_listener_isready(listener: *const mtmsg_listener, out_flag: *mut bool) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::isready(listener, out_flag) }
}
