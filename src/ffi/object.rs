//! What buffer and listener handles have in common, written once: each
//! exported `mtmsg_buffer_x` / `mtmsg_listener_x` pair calls one of these.

use std::ffi::c_char;

use super::boundary::{arg, call, give, out};
use super::types::{mtmsg_buffer, mtmsg_listener, mtmsg_status};
use crate::{Buffer, Listener, Object, Ref};

const OK: mtmsg_status = mtmsg_status::MTMSG_OK;

/// A handle type of the C ABI: a box around one core reference.
pub(crate) trait Handle: Sized {
    type Object: Object;
    const WHAT: &'static str;
    fn reference(&self) -> &Ref<Self::Object>;
    fn wrap(reference: Ref<Self::Object>) -> Self;
}

impl Handle for mtmsg_buffer {
    type Object = Buffer;
    const WHAT: &'static str = "buffer";
    fn reference(&self) -> &Ref<Buffer> {
        &self.0
    }
    fn wrap(reference: Ref<Buffer>) -> Self {
        mtmsg_buffer(reference)
    }
}

impl Handle for mtmsg_listener {
    type Object = Listener;
    const WHAT: &'static str = "listener";
    fn reference(&self) -> &Ref<Listener> {
        &self.0
    }
    fn wrap(reference: Ref<Listener>) -> Self {
        mtmsg_listener(reference)
    }
}

/// # Safety
/// `handle` is NULL or a handle of this library, not released; out
/// pointers are NULL or valid for a write.
pub(crate) unsafe fn clone<H: Handle>(handle: *const H, out_handle: *mut *mut H) -> mtmsg_status {
    // SAFETY: as the caller promises (# Safety).
    call(|| unsafe {
        let handle = arg(handle, H::WHAT)?;
        Ok(give(out(out_handle, "out")?, H::wrap(handle.reference().clone())))
    })
}

/// # Safety
/// `handle` is NULL or a handle of this library, not released; out
/// pointers are NULL or valid for a write.
pub(crate) unsafe fn id<H: Handle>(handle: *const H, out_id: *mut u64) -> mtmsg_status {
    // SAFETY: as the caller promises (# Safety).
    call(|| unsafe {
        let handle = arg(handle, H::WHAT)?;
        out(out_id, "out_id")?.write(handle.reference().object().id());
        Ok(OK)
    })
}

/// # Safety
/// `handle` is NULL or a handle of this library, not released; out
/// pointers are NULL or valid for a write.
pub(crate) unsafe fn name<H: Handle>(handle: *const H, out_name: *mut *const c_char, out_len: *mut usize) -> mtmsg_status {
    // SAFETY: as the caller promises (# Safety).
    call(|| unsafe {
        let handle = arg(handle, H::WHAT)?;
        let (out_name, out_len) = (out(out_name, "out_name")?, out(out_len, "out_len")?);
        let name = handle.reference().object().name();
        out_name.write(name.map_or(std::ptr::null(), |n| n.as_ptr() as *const c_char));
        out_len.write(name.map_or(0, <[u8]>::len));
        Ok(OK)
    })
}

/// # Safety
/// `handle` is NULL or a handle of this library, not released; out
/// pointers are NULL or valid for a write.
pub(crate) unsafe fn clear<H: Handle>(handle: *const H) -> mtmsg_status {
    // SAFETY: as the caller promises (# Safety).
    call(|| Ok(unsafe { arg(handle, H::WHAT) }?.reference().clear()?.into()))
}

/// Reads a flag of the handle into `out_flag`.
/// # Safety
/// `handle` is NULL or a handle of this library, not released; out
/// pointers are NULL or valid for a write.
unsafe fn query<H: Handle>(
    handle: *const H,
    out_flag: *mut bool,
    read: impl FnOnce(&Ref<H::Object>) -> Result<bool, crate::Error>,
) -> mtmsg_status {
    // SAFETY: as the caller promises (# Safety).
    call(|| unsafe {
        let handle = arg(handle, H::WHAT)?;
        let out_flag = out(out_flag, "out_flag")?;
        out_flag.write(read(handle.reference())?);
        Ok(OK)
    })
}

/// # Safety
/// `handle` is NULL or a handle of this library, not released; out
/// pointers are NULL or valid for a write.
pub(crate) unsafe fn close<H: Handle>(handle: *const H) -> mtmsg_status {
    // SAFETY: as the caller promises (# Safety).
    call(|| unsafe {
        arg(handle, H::WHAT)?.reference().close();
        Ok(OK)
    })
}

/// # Safety
/// `handle` is NULL or a handle of this library, not released; out
/// pointers are NULL or valid for a write.
pub(crate) unsafe fn abort<H: Handle>(handle: *const H, flag: bool) -> mtmsg_status {
    // SAFETY: as the caller promises (# Safety).
    call(|| unsafe {
        arg(handle, H::WHAT)?.reference().set_aborted(flag)?;
        Ok(OK)
    })
}

/// # Safety
/// `handle` is NULL or a handle of this library, not released; out
/// pointers are NULL or valid for a write.
pub(crate) unsafe fn nonblock<H: Handle>(handle: *const H, flag: bool) -> mtmsg_status {
    // SAFETY: as the caller promises (# Safety).
    call(|| unsafe {
        arg(handle, H::WHAT)?.reference().set_nonblock(flag)?;
        Ok(OK)
    })
}

/// # Safety
/// `handle` is NULL or a handle of this library, not released; out
/// pointers are NULL or valid for a write.
pub(crate) unsafe fn isabort<H: Handle>(handle: *const H, out_flag: *mut bool) -> mtmsg_status {
    // SAFETY: as the caller promises.
    unsafe { query(handle, out_flag, Ref::is_aborted) }
}

/// # Safety
/// `handle` is NULL or a handle of this library, not released; out
/// pointers are NULL or valid for a write.
pub(crate) unsafe fn isnonblock<H: Handle>(handle: *const H, out_flag: *mut bool) -> mtmsg_status {
    // SAFETY: as the caller promises.
    unsafe { query(handle, out_flag, Ref::is_nonblock) }
}

/// # Safety
/// `handle` is NULL or a handle of this library, not released; `out_fd`
/// is NULL or valid for a write.
pub(crate) unsafe fn fd<H: Handle>(handle: *const H, out_fd: *mut i32) -> mtmsg_status {
    // SAFETY: as the caller promises (# Safety).
    call(|| unsafe {
        let handle = arg(handle, H::WHAT)?;
        let out_fd = out(out_fd, "out_fd")?;
        out_fd.write(handle.reference().fd()?);
        Ok(OK)
    })
}

/// # Safety
/// `handle` is NULL or a handle of this library, not released; out
/// pointers are NULL or valid for a write.
pub(crate) unsafe fn isready<H: Handle>(handle: *const H, out_flag: *mut bool) -> mtmsg_status {
    // SAFETY: as the caller promises.
    unsafe { query(handle, out_flag, |r| Ok(r.is_ready())) }
}
