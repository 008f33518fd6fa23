//! `mtmsg_reader_*`: take a message apart value by value through the C ABI.

use super::boundary::{arg_mut, call, call_void, count_of, give, out, release};
use super::types::{mtmsg_reader, mtmsg_status, mtmsg_value};
use crate::Reader;

/// Creates a reader whose memory starts at `size` bytes; `grow` as for
/// buffers (0: a message over `size` bytes is refused with
/// `MTMSG_MESSAGE_SIZE` and stays in its buffer). Fill it with
/// `mtmsg_buffer_nextmsg` or `mtmsg_listener_nextmsg`.
///
/// # Safety
/// `out_reader` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_reader_new(size: usize, grow: f64, out_reader: *mut *mut mtmsg_reader) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let out_reader = out(out_reader, "out_reader")?;
        Ok(give(out_reader, mtmsg_reader(Reader::new(size, grow)?)))
    })
}

/// Makes the reader refuse messages of more than `max_values` values with
/// `MTMSG_MESSAGE_SIZE`, leaving them in their buffer (e.g. more values than
/// a Lua state can return from one call). Unlimited by default.
///
/// # Safety
/// `reader` is NULL or a reader handle of this library, not released and used by no other thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_reader_limit(reader: *mut mtmsg_reader, max_values: usize) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        arg_mut(reader, "reader")?.0.limit_values(max_values);
        Ok(mtmsg_status::MTMSG_OK)
    })
}

/// Frees the reader; NULL is fine.
///
/// # Safety
/// `reader` is NULL or a reader handle of this library, not released and used by no other thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_reader_release(reader: *mut mtmsg_reader) {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call_void(|| unsafe { release(reader) })
}

/// How many entries `mtmsg_reader_next` returns at least before the
/// current message ends: the values not begun (a table, with its entries,
/// as one) plus the entries still owed by the tables begun. Between values
/// it is the number of values left; for a message without tables, exactly
/// the entries left. 0 at the end, for an empty message, and after
/// `mtmsg_reader_clear`.
///
/// # Safety
/// - `reader` is NULL or a reader handle of this library, not released and used by no other thread meanwhile.
/// - `out_count` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_reader_remaining(reader: *const mtmsg_reader, out_count: *mut usize) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { count_of(reader, "reader", out_count, |reader| reader.0.remaining()) }
}

/// Reads up to `max` next entries into `out_values`; `*out_got` says how
/// many (fewer only at the end of the message). A table comes as its
/// `MTMSG_TABLE` entry followed by its entries (see there), so `max` may
/// end in the middle of a table: the next call goes on with the entry after
/// the last one returned, and `mtmsg_reader_remaining` says how many at
/// least are still owed. Strings point into the reader's memory: valid
/// until its next nextmsg, clear or release.
///
/// # Safety
/// - `reader` is NULL or a reader handle of this library, not released and used by no other thread meanwhile.
/// - `out_values` is NULL (only when `max` is 0) or valid for writes of `max` values.
/// - `out_got` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_reader_next(
    reader: *mut mtmsg_reader,
    out_values: *mut mtmsg_value,
    max: usize,
    out_got: *mut usize,
) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        let reader = arg_mut(reader, "reader")?;
        let out_got = out(out_got, "out_got")?;
        if max > 0 && out_values.is_null() {
            return Err(super::boundary::invalid("out_values"));
        }
        let mut got = 0;
        while got < max {
            let Some(value) = reader.0.next() else { break };
            out_values.add(got).write(mtmsg_value::from_value(value));
            got += 1;
        }
        out_got.write(got);
        Ok(mtmsg_status::MTMSG_OK)
    })
}

/// How many tables of the current message were read: the number the next
/// `MTMSG_TABLE` read has, to which later `MTMSG_TABLE_REF` entries may
/// refer. Lets a reader that takes a message apart in several calls number
/// its tables.
///
/// # Safety
/// - `reader` is NULL or a reader handle of this library, not released and used by no other thread meanwhile.
/// - `out_count` is NULL or valid for a write.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_reader_tables(reader: *const mtmsg_reader, out_count: *mut usize) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    unsafe { count_of(reader, "reader", out_count, |reader| reader.0.tables()) }
}

/// Forgets the current message.
///
/// # Safety
/// `reader` is NULL or a reader handle of this library, not released and used by no other thread meanwhile.
#[no_mangle]
pub unsafe extern "C" fn mtmsg_reader_clear(reader: *mut mtmsg_reader) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `# Safety`.
    call(|| unsafe {
        arg_mut(reader, "reader")?.0.clear();
        Ok(mtmsg_status::MTMSG_OK)
    })
}
