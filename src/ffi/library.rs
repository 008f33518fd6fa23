//! Library-wide functions: version, last error, time, sleep, abort.

use std::ffi::c_char;

use super::boundary::{call, last_error, timeout};
use super::types::mtmsg_status;

/// The library version, e.g. `"0.1.0"`.
#[no_mangle]
pub extern "C" fn mtmsg_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

/// The text of the calling thread's last error, e.g.
/// `mtmsg.error.object_closed: mtmsg.buffer(name="in",id=7)`; `""` when
/// there was none. Valid until the thread's next failing mtmsg call.
#[no_mangle]
pub extern "C" fn mtmsg_last_error() -> *const c_char {
    last_error()
}

/// The name of a status: `"mtmsg.error.object_closed"` for the error
/// names, `"ok"`, `"timeout"`, `"would_block"`, `"invalid_argument"`,
/// `"panic"` for the others, `"unknown_status"` for any other number.
#[no_mangle]
pub extern "C" fn mtmsg_status_name(status: i32) -> *const c_char {
    // An int rather than the enum: C may pass any number, and a Rust enum
    // holding a number it does not list is undefined behaviour.
    let name = usize::try_from(status).ok().and_then(|i| STATUS_NAMES.get(i)).copied();
    name.unwrap_or("unknown_status\0").as_ptr() as *const c_char
}

/// The names of the statuses, in the order of their numbers.
const STATUS_NAMES: [&str; 13] = [
    "ok\0",
    "timeout\0",
    "would_block\0",
    "mtmsg.error.ambiguous_name\0",
    "mtmsg.error.has_notifier\0",
    "mtmsg.error.message_size\0",
    "mtmsg.error.no_buffers\0",
    "mtmsg.error.object_closed\0",
    "mtmsg.error.operation_aborted\0",
    "mtmsg.error.out_of_memory\0",
    "mtmsg.error.unknown_object\0",
    "invalid_argument\0",
    "panic\0",
];

/// Seconds since the epoch, sub-millisecond precision.
#[no_mangle]
pub extern "C" fn mtmsg_time() -> f64 {
    crate::time()
}

/// Suspends the calling thread for `seconds` (0 or negative: not at all;
/// `MTMSG_FOREVER` or too long to represent: until an abort). Returns
/// `MTMSG_OPERATION_ABORTED` early when everything is aborted;
/// `MTMSG_INVALID_ARGUMENT` for NaN.
#[no_mangle]
pub extern "C" fn mtmsg_sleep(seconds: f64) -> mtmsg_status {
    call(|| {
        crate::sleep(timeout(seconds)?)?;
        Ok(mtmsg_status::MTMSG_OK)
    })
}

/// Aborts (`true`) or un-aborts (`false`) every buffer and listener of the
/// process: while aborted every operation and creation fails with
/// `MTMSG_OPERATION_ABORTED`, and waiting or sleeping threads wake with it.
#[no_mangle]
pub extern "C" fn mtmsg_abort(flag: bool) -> mtmsg_status {
    call(|| {
        crate::abort_all(flag);
        Ok(mtmsg_status::MTMSG_OK)
    })
}

/// Whether everything is aborted.
#[no_mangle]
pub extern "C" fn mtmsg_isabort() -> bool {
    crate::is_aborted()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;
    use std::ffi::CStr;

    fn name(status: i32) -> &'static str {
        // SAFETY: mtmsg_status_name returns static NUL-terminated text.
        unsafe { CStr::from_ptr(mtmsg_status_name(status)) }.to_str().unwrap()
    }

    #[test]
    fn status_names_follow_the_status_numbers() {
        use ErrorKind::*;
        for kind in [AmbiguousName, HasNotifier, MessageSize, NoBuffers, ObjectClosed, OperationAborted, OutOfMemory, UnknownObject, InvalidArgument] {
            assert_eq!(name(mtmsg_status::from(kind) as i32), kind.name());
        }
        assert_eq!(name(mtmsg_status::MTMSG_PANIC as i32), "panic");
        assert_eq!(name(-1), "unknown_status");
        assert_eq!(name(13), "unknown_status");
    }
}
