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
/// `"panic"` for the others.
#[no_mangle]
pub extern "C" fn mtmsg_status_name(status: mtmsg_status) -> *const c_char {
    use mtmsg_status::*;
    let name: &'static str = match status {
        MTMSG_OK => "ok\0",
        MTMSG_TIMEOUT => "timeout\0",
        MTMSG_WOULD_BLOCK => "would_block\0",
        MTMSG_AMBIGUOUS_NAME => "mtmsg.error.ambiguous_name\0",
        MTMSG_HAS_NOTIFIER => "mtmsg.error.has_notifier\0",
        MTMSG_MESSAGE_SIZE => "mtmsg.error.message_size\0",
        MTMSG_NO_BUFFERS => "mtmsg.error.no_buffers\0",
        MTMSG_OBJECT_CLOSED => "mtmsg.error.object_closed\0",
        MTMSG_OPERATION_ABORTED => "mtmsg.error.operation_aborted\0",
        MTMSG_OUT_OF_MEMORY => "mtmsg.error.out_of_memory\0",
        MTMSG_UNKNOWN_OBJECT => "mtmsg.error.unknown_object\0",
        MTMSG_INVALID_ARGUMENT => "invalid_argument\0",
        MTMSG_PANIC => "panic\0",
    };
    name.as_ptr() as *const c_char
}

/// Seconds since the epoch, sub-millisecond precision.
#[no_mangle]
pub extern "C" fn mtmsg_time() -> f64 {
    crate::time()
}

/// Suspends the calling thread for `seconds` (negative: 0; too long to
/// represent, e.g. infinity: until an abort). Returns
/// `MTMSG_OPERATION_ABORTED` early when everything is aborted;
/// `MTMSG_INVALID_ARGUMENT` for NaN.
#[no_mangle]
pub extern "C" fn mtmsg_sleep(seconds: f64) -> mtmsg_status {
    call(|| {
        // A sleep too long to represent lasts until an abort.
        let seconds = if seconds < 0.0 { 0.0 } else { seconds }; // NaN stays NaN: refused
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
