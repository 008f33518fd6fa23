//! The edge between C and Rust: the panic boundary, the last-error text,
//! and the checks that turn C pointers into references.

use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::Duration;

use super::types::mtmsg_status;
use crate::{Error, ErrorKind};

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

fn set_last_error(text: String) {
    let text = CString::new(text).unwrap_or_else(|e| {
        let mut bytes = e.into_vec();
        bytes.retain(|&b| b != 0);
        CString::new(bytes).unwrap_or_default()
    });
    LAST_ERROR.with(|last| *last.borrow_mut() = text);
}

/// The calling thread's last error text; valid until its next error.
pub(crate) fn last_error() -> *const c_char {
    LAST_ERROR.with(|last| last.borrow().as_ptr())
}

/// Runs the body of an exported function: errors become status codes (and
/// the last-error text), panics become `MTMSG_PANIC`.
///
/// In a child process made by `fork` after mtmsg was used, nothing runs:
/// the call fails with `MTMSG_OPERATION_ABORTED` (see `src/sys/fork.rs`).
pub(crate) fn call(body: impl FnOnce() -> Result<mtmsg_status, Error>) -> mtmsg_status {
    if crate::in_forked_child() {
        set_last_error(format!("{}: mtmsg cannot be used in a child process after fork", ErrorKind::OperationAborted.name()));
        return mtmsg_status::MTMSG_OPERATION_ABORTED;
    }
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(status)) => status,
        Ok(Err(error)) => {
            let status = mtmsg_status::from(error.kind);
            set_last_error(error.to_string());
            status
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            set_last_error(format!("mtmsg: internal error: {what}"));
            mtmsg_status::MTMSG_PANIC
        }
    }
}

/// Like [`call`] for functions that return nothing (the `_release` ones):
/// in a forked child they do nothing, leaving the memory to the copy of
/// the parent's heap that goes with the child.
pub(crate) fn call_void(body: impl FnOnce()) {
    call(|| {
        body();
        Ok(mtmsg_status::MTMSG_OK)
    });
}

pub(crate) fn invalid(what: &str) -> Error {
    Error::new(ErrorKind::InvalidArgument, format!("{what} is NULL or invalid"))
}

/// A shared reference from a pointer argument; NULL is an invalid argument.
///
/// # Safety
/// A non-NULL `ptr` must point to a live `T` for `'a`.
pub(crate) unsafe fn arg<'a, T>(ptr: *const T, what: &str) -> Result<&'a T, Error> {
    // SAFETY: as the caller promises.
    unsafe { ptr.as_ref() }.ok_or_else(|| invalid(what))
}

/// A mutable reference from a pointer argument; NULL is an invalid argument.
///
/// # Safety
/// A non-NULL `ptr` must point to a live `T` used by no other thread.
pub(crate) unsafe fn arg_mut<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut T, Error> {
    // SAFETY: as the caller promises.
    unsafe { ptr.as_mut() }.ok_or_else(|| invalid(what))
}

/// Writes a result through an out pointer, checked before any work is done
/// by calling this first with the pointer and keeping the reference.
///
/// # Safety
/// A non-NULL `ptr` must be valid for writes.
pub(crate) unsafe fn out<'a, T>(ptr: *mut T, what: &str) -> Result<&'a mut std::mem::MaybeUninit<T>, Error> {
    // SAFETY: as the caller promises; a `MaybeUninit` needs no valid value.
    unsafe { (ptr as *mut std::mem::MaybeUninit<T>).as_mut() }.ok_or_else(|| invalid(what))
}

/// `len` bytes at `ptr`; NULL is fine only for zero bytes.
///
/// # Safety
/// A non-NULL `ptr` must be valid for reads of `len` bytes.
pub(crate) unsafe fn bytes<'a>(ptr: *const c_char, len: usize, what: &str) -> Result<&'a [u8], Error> {
    if len == 0 {
        Ok(&[])
    } else if ptr.is_null() {
        Err(invalid(what))
    } else {
        // SAFETY: as the caller promises.
        Ok(unsafe { std::slice::from_raw_parts(ptr as *const u8, len) })
    }
}

/// An optional name: NULL means none.
///
/// # Safety
/// As for [`bytes`].
pub(crate) unsafe fn optional_name<'a>(ptr: *const c_char, len: usize) -> Option<&'a [u8]> {
    // SAFETY: as the caller promises.
    (!ptr.is_null()).then(|| unsafe { std::slice::from_raw_parts(ptr as *const u8, len) })
}

/// `count` values at `ptr`; NULL is fine only for none.
///
/// # Safety
/// A non-NULL `ptr` must be valid for reads of `count` values.
pub(crate) unsafe fn slice<'a, T>(ptr: *const T, count: usize, what: &str) -> Result<&'a [T], Error> {
    if count == 0 {
        Ok(&[])
    } else if ptr.is_null() {
        Err(invalid(what))
    } else {
        // SAFETY: as the caller promises.
        Ok(unsafe { std::slice::from_raw_parts(ptr, count) })
    }
}

/// A C timeout in seconds: 0 and negative ones only look, NaN is
/// invalid, and infinity (`MTMSG_FOREVER`) or one too long to represent
/// waits as long as it takes (`None`).
pub(crate) fn timeout(seconds: f64) -> Result<Option<Duration>, Error> {
    if seconds.is_nan() {
        return Err(Error::new(ErrorKind::InvalidArgument, "timeout is NaN"));
    }
    Ok(Duration::try_from_secs_f64(seconds.max(0.0)).ok())
}

/// The body of the functions that report one count of a handle: the
/// handle checked, the count written through `out_count`.
///
/// # Safety
/// As for [`arg`] and [`out`].
pub(crate) unsafe fn count_of<T>(handle: *const T, what: &str, out_count: *mut usize, count: impl FnOnce(&T) -> usize) -> mtmsg_status {
    // SAFETY: the caller keeps the promises of `arg` and `out`.
    call(|| unsafe {
        let handle = arg(handle, what)?;
        out(out_count, "out_count")?.write(count(handle));
        Ok(mtmsg_status::MTMSG_OK)
    })
}

/// Frees a handle made by `Box::into_raw`; NULL is fine.
///
/// # Safety
/// A non-NULL `ptr` must come from this library and not be released yet.
pub(crate) unsafe fn release<T>(ptr: *mut T) {
    if !ptr.is_null() {
        // SAFETY: as the caller promises: the box is given back once.
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// Hands a new handle to C through `out`.
pub(crate) fn give<T>(out: &mut std::mem::MaybeUninit<*mut T>, handle: T) -> mtmsg_status {
    out.write(Box::into_raw(Box::new(handle)));
    mtmsg_status::MTMSG_OK
}
