//! `mtmsg_writer_*`: build a message piece by piece through the C ABI.

use super::boundary::{arg, arg_mut, call, call_void, count_of, give, out, release, slice};
use super::types::{mtmsg_buffer, mtmsg_status, mtmsg_value, mtmsg_writer};
use crate::Writer;

/// Creates a writer whose memory starts at `size` bytes; `grow` as for
/// buffers (0: a message over `size` bytes is refused with
/// `MTMSG_MESSAGE_SIZE`).
///
/// # Safety
/// `out_writer` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_writer_new(size: usize, grow: f64, out_writer: *mut *mut mtmsg_writer) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let out_writer = out(out_writer, "out_writer")?;
        Ok(give(out_writer, mtmsg_writer(Writer::new(size, grow)?)))
    })
}

/// Frees the writer; NULL is fine.
///
/// # Safety
/// `writer` is NULL or a writer handle of this library, not released and used by no other thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_writer_release(writer: *mut mtmsg_writer) {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call_void(|| unsafe { release(writer) })
}

/// Appends `count` entries (values, and the entries of tables, see
/// `MTMSG_TABLE`) to the message being built; on error none is. The tables
/// of one call must end within it; references (`MTMSG_TABLE_REF`) may name
/// the tables of the earlier calls for the same message, which
/// `mtmsg_writer_tables` counts.
///
/// # Safety
/// - `writer` is NULL or a writer handle of this library, not released and used by no other thread meanwhile.
/// - `values` is NULL (only when `count` is 0) or points to `count` readable values, each string's `ptr` to `len` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_writer_add(writer: *mut mtmsg_writer, values: *const mtmsg_value, count: usize) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let writer = arg_mut(writer, "writer")?;
        writer.0.add(slice(values, count, "values")?)?;
        Ok(mtmsg_status::MTMSG_OK)
    })
}

/// How many tables the message built so far holds: the number the next
/// `MTMSG_TABLE` added gets (0 again once the message went to a buffer or
/// the writer was cleared).
///
/// # Safety
/// - `writer` is NULL or a writer handle of this library, not released and used by no other thread meanwhile.
/// - `out_count` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_writer_tables(writer: *const mtmsg_writer, out_count: *mut usize) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { count_of(writer, "writer", out_count, |writer| writer.0.tables()) }
}

/// Adds the values built so far as one message to `buffer`, atomically;
/// returns like `mtmsg_buffer_addmsg`. On `MTMSG_OK` the writer is empty.
///
/// # Safety
/// - `writer` is NULL or a writer handle of this library, not released and used by no other thread meanwhile.
/// - `buffer` is NULL or a buffer handle of this library, not released.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_writer_addmsg(writer: *mut mtmsg_writer, buffer: *mut mtmsg_buffer) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let writer = arg_mut(writer, "writer")?;
        let buffer = arg(buffer, "buffer")?;
        Ok(writer.0.add_to(&buffer.0)?.into())
    })
}

/// Replaces the buffer's messages by the one built; as `mtmsg_writer_addmsg`.
///
/// # Safety
/// - `writer` is NULL or a writer handle of this library, not released and used by no other thread meanwhile.
/// - `buffer` is NULL or a buffer handle of this library, not released.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_writer_setmsg(writer: *mut mtmsg_writer, buffer: *mut mtmsg_buffer) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let writer = arg_mut(writer, "writer")?;
        let buffer = arg(buffer, "buffer")?;
        Ok(writer.0.set_to(&buffer.0)?.into())
    })
}

/// Forgets the values built so far.
///
/// # Safety
/// `writer` is NULL or a writer handle of this library, not released and used by no other thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_writer_clear(writer: *mut mtmsg_writer) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        arg_mut(writer, "writer")?.0.clear();
        Ok(mtmsg_status::MTMSG_OK)
    })
}
