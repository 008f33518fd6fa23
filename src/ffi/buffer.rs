//! `mtmsg_buffer_*`: buffers through the C ABI.

use std::ffi::c_char;

use super::boundary::{arg, arg_mut, bytes, call, call_void, give, invalid, optional_name, out, release, slice, timeout};
use super::object;
use super::types::{mtmsg_buffer, mtmsg_reader, mtmsg_status, mtmsg_value, MTMSG_NOTIFY_ADDED, MTMSG_NOTIFY_REMOVED};
use crate::{BufferRef, NotifyKind, Sizes};

const OK: mtmsg_status = mtmsg_status::MTMSG_OK;

/// Creates a buffer. `name`: `name_len` bytes (any bytes), or NULL for an
/// unnamed buffer. `size1`: bytes for one message (a fixed buffer's largest
/// message); `size2`: bytes for all queued messages (raised to `size1`);
/// `grow`: 0 fixed, <= 1 grow by what is needed, else the growth factor
/// (see the `MTMSG_DEFAULT_*` values). Memory is taken when the first
/// message arrives. `MTMSG_OUT_OF_MEMORY` for sizes that cannot be had.
///
/// # Safety
/// - `name` is NULL or points to `name_len` readable bytes.
/// - `out_buffer` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_new(
    name: *const c_char,
    name_len: usize,
    size1: usize,
    size2: usize,
    grow: f64,
    out_buffer: *mut *mut mtmsg_buffer,
) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let out_buffer = out(out_buffer, "out_buffer")?;
        let sizes = Sizes::new(size1, size2, grow)?;
        Ok(give(out_buffer, mtmsg_buffer(BufferRef::new(optional_name(name, name_len), sizes)?)))
    })
}

/// A new reference to the buffer with this id (`MTMSG_UNKNOWN_OBJECT`).
///
/// # Safety
/// `out_buffer` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_find_id(id: u64, out_buffer: *mut *mut mtmsg_buffer) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let out_buffer = out(out_buffer, "out_buffer")?;
        Ok(give(out_buffer, mtmsg_buffer(BufferRef::find_id(id)?)))
    })
}

/// A new reference to the one buffer with this name
/// (`MTMSG_UNKNOWN_OBJECT`, `MTMSG_AMBIGUOUS_NAME`).
///
/// # Safety
/// - `name` is NULL or points to `name_len` readable bytes.
/// - `out_buffer` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_find_name(
    name: *const c_char,
    name_len: usize,
    out_buffer: *mut *mut mtmsg_buffer,
) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let out_buffer = out(out_buffer, "out_buffer")?;
        let name = bytes(name, name_len, "name")?;
        Ok(give(out_buffer, mtmsg_buffer(BufferRef::find_name(name)?)))
    })
}

/// Another reference to the same buffer (its nonblock mode off).
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `out_buffer` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_clone(buffer: *const mtmsg_buffer, out_buffer: *mut *mut mtmsg_buffer) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::clone(buffer, out_buffer) }
}

/// Drops this reference; the buffer goes when its last reference does.
/// NULL is fine; the handle must not be used afterwards.
///
/// # Safety
/// `buffer` is NULL or a buffer handle of this library, not released.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_release(buffer: *mut mtmsg_buffer) {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call_void(|| unsafe { release(buffer) })
}

/// The buffer's process-wide unique id.
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `out_id` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_id(buffer: *const mtmsg_buffer, out_id: *mut u64) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::id(buffer, out_id) }
}

/// The buffer's name (`*out_name` NULL when unnamed); the memory stays
/// valid while the handle lives.
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `out_name` is NULL or valid for a write.
/// - `out_len` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_name(
    buffer: *const mtmsg_buffer,
    out_name: *mut *const c_char,
    out_len: *mut usize,
) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::name(buffer, out_name, out_len) }
}

/// Adds `count` entries as one message: `MTMSG_OK`, or `MTMSG_WOULD_BLOCK`
/// when a fixed buffer is full or a nonblocking handle finds it busy.
/// `MTMSG_MESSAGE_SIZE` when a fixed buffer's `size1` is too small for it.
/// The entries are the message's values, each table followed by its own
/// entries (see `MTMSG_TABLE`); a malformed array (a table whose entries
/// run past `count`, a reference to a table not before it, nesting deeper
/// than `MTMSG_MAX_DEPTH`, a nil or NaN key, an unknown type) is
/// `MTMSG_INVALID_ARGUMENT`, and nothing is added.
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `values` is NULL (only when `count` is 0) or points to `count` readable values, each string's `ptr` to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_addmsg(buffer: *mut mtmsg_buffer, values: *const mtmsg_value, count: usize) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let buffer = arg(buffer, "buffer")?;
        Ok(buffer.0.add(slice(values, count, "values")?)?.into())
    })
}

/// Replaces all queued messages by this one (entries as for
/// `mtmsg_buffer_addmsg`); returns like it, and a malformed array leaves
/// the queued messages as they are.
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `values` is NULL (only when `count` is 0) or points to `count` readable values, each string's `ptr` to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_setmsg(buffer: *mut mtmsg_buffer, values: *const mtmsg_value, count: usize) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let buffer = arg(buffer, "buffer")?;
        Ok(buffer.0.set(slice(values, count, "values")?)?.into())
    })
}

/// Adds one message (entries as for `mtmsg_buffer_addmsg`), waiting up to
/// `timeout` seconds (`MTMSG_FOREVER`: as long as it
/// takes; 0 or negative: not at all) for room in a full
/// fixed-size buffer: `MTMSG_OK` or `MTMSG_TIMEOUT`. Close and abort wake
/// the waiting thread with their error.
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `values` is NULL (only when `count` is 0) or points to `count` readable values, each string's `ptr` to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_addmsg_wait(
    buffer: *mut mtmsg_buffer,
    values: *const mtmsg_value,
    count: usize,
    timeout_seconds: f64,
) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let buffer = arg(buffer, "buffer")?;
        let values = slice(values, count, "values")?;
        Ok(buffer.0.add_wait(values, timeout(timeout_seconds)?)?.into())
    })
}

/// Takes the oldest message into `reader`, waiting up to `timeout` seconds
/// (`MTMSG_FOREVER`: as long as it takes; 0 or negative: just look): `MTMSG_OK`,
/// `MTMSG_TIMEOUT` (none), `MTMSG_WOULD_BLOCK` (nonblocking and busy).
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `reader` is NULL or a reader handle of this library, not released and used by no other thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_nextmsg(buffer: *mut mtmsg_buffer, reader: *mut mtmsg_reader, timeout_seconds: f64) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let buffer = arg(buffer, "buffer")?;
        let reader = arg_mut(reader, "reader")?;
        Ok(buffer.0.take(&mut reader.0, timeout(timeout_seconds)?)?.into())
    })
}

/// The number of queued messages.
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `out_count` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_msgcnt(buffer: *const mtmsg_buffer, out_count: *mut usize) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let buffer = arg(buffer, "buffer")?;
        let out_count = out(out_count, "out_count")?;
        out_count.write(buffer.0.count()?);
        Ok(OK)
    })
}

/// Drops every queued message (`MTMSG_WOULD_BLOCK`: nonblocking and busy).
///
/// # Safety
/// `buffer` is NULL or a buffer handle of this library, not released.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_clear(buffer: *mut mtmsg_buffer) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::clear(buffer) }
}

/// Closes the buffer for good: its messages are freed, every later
/// operation through any reference fails with `MTMSG_OBJECT_CLOSED`, and
/// waiting threads wake with it.
///
/// # Safety
/// `buffer` is NULL or a buffer handle of this library, not released.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_close(buffer: *mut mtmsg_buffer) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::close(buffer) }
}

/// Aborts (`true`) or un-aborts (`false`) the buffer: while aborted its
/// operations fail with `MTMSG_OPERATION_ABORTED`, and waiters wake with it.
///
/// # Safety
/// `buffer` is NULL or a buffer handle of this library, not released.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_abort(buffer: *mut mtmsg_buffer, flag: bool) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::abort(buffer, flag) }
}

/// Whether the buffer itself is aborted.
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `out_flag` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_isabort(buffer: *const mtmsg_buffer, out_flag: *mut bool) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::isabort(buffer, out_flag) }
}

/// Sets this handle's nonblock mode: operations then return at once with
/// `MTMSG_WOULD_BLOCK` when the buffer is busy in another thread, and
/// `mtmsg_buffer_nextmsg` with `MTMSG_TIMEOUT` when it is empty.
///
/// # Safety
/// `buffer` is NULL or a buffer handle of this library, not released.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_nonblock(buffer: *mut mtmsg_buffer, flag: bool) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::nonblock(buffer, flag) }
}

/// This handle's nonblock mode.
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `out_flag` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_isnonblock(buffer: *const mtmsg_buffer, out_flag: *mut bool) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::isnonblock(buffer, out_flag) }
}

/// Connects `target` as a notifier of `buffer` (NULL `target`
/// disconnects). `kind` `MTMSG_NOTIFY_ADDED` (`'>'`): an empty message is
/// added to `target` after each message added to `buffer` while its count
/// is above `*threshold`; `MTMSG_NOTIFY_REMOVED` (`'<'`): after each message
/// taken while the count is below `*threshold`. `threshold` NULL: always.
/// `MTMSG_HAS_NOTIFIER` when one of that kind is connected.
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `target` is NULL or a buffer handle of this library, not released.
/// - `threshold` is NULL or points to a readable `int64_t`.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_notifier(
    buffer: *mut mtmsg_buffer,
    target: *const mtmsg_buffer,
    kind: i32,
    threshold: *const i64,
) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let buffer = arg(buffer, "buffer")?;
        let kind = match kind {
            MTMSG_NOTIFY_ADDED => NotifyKind::Added,
            MTMSG_NOTIFY_REMOVED => NotifyKind::Removed,
            _ => return Err(invalid("kind")),
        };
        let target = target.as_ref().map(|t| &t.0);
        buffer.0.set_notifier(kind, target, threshold.as_ref().copied())?;
        Ok(OK)
    })
}

/// A descriptor an event loop (poll, epoll, ...) can wait on for this
/// buffer, level-triggered: readable exactly while a message is queued
/// or the buffer is closed or aborted (a spurious wake-up is possible only
/// while another thread takes a message at the same time: then take with
/// a zero timeout and wait again). Made on the first call, one per buffer
/// (every handle gets the same), close-on-exec and nonblocking, valid while
/// any reference to the buffer exists and closed when it is freed. Do not
/// read, write or close it. Answers on a closed or aborted buffer too.
/// `MTMSG_OUT_OF_MEMORY` when no descriptor can be had.
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `out_fd` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_fd(buffer: *const mtmsg_buffer, out_fd: *mut i32) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::fd(buffer, out_fd) }
}

/// What the buffer's descriptor says: whether a message is queued, or the
/// buffer is closed or aborted. Answers on a closed buffer too.
///
/// # Safety
/// - `buffer` is NULL or a buffer handle of this library, not released.
/// - `out_flag` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_buffer_isready(buffer: *const mtmsg_buffer, out_flag: *mut bool) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { object::isready(buffer, out_flag) }
}
