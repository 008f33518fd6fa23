//! What buffer and listener handles have in common, written once: each
//! exported `mtmsg_buffer_x` / `mtmsg_listener_x` pair calls one of these.

use std::ffi::c_char;

use super::boundary::{arg, call, give, out};
use super::types::{mtmsg_buffer, mtmsg_listener, mtmsg_status};
use crate::error::Error;
use crate::{BufferRef, ListenerRef, Progress};

const OK: mtmsg_status = mtmsg_status::MTMSG_OK;

/// A handle type of the C ABI and the core reference it wraps.
pub(crate) trait Handle: Sized {
    const WHAT: &'static str;
    fn id(&self) -> u64;
    fn name(&self) -> Option<&[u8]>;
    fn duplicate(&self) -> Self;
    fn nonblock(&self) -> bool;
    fn set_nonblock(&self, flag: bool);
    fn set_aborted(&self, flag: bool);
    fn is_aborted(&self) -> bool;
    fn close(&self);
    fn clear(&self) -> Result<Progress, Error>;
}

impl Handle for mtmsg_buffer {
    const WHAT: &'static str = "buffer";
    fn id(&self) -> u64 {
        self.0.buffer().id()
    }
    fn name(&self) -> Option<&[u8]> {
        self.0.buffer().name()
    }
    fn duplicate(&self) -> Self {
        mtmsg_buffer(BufferRef::clone(&self.0))
    }
    fn nonblock(&self) -> bool {
        self.0.nonblock()
    }
    fn set_nonblock(&self, flag: bool) {
        self.0.set_nonblock(flag)
    }
    fn set_aborted(&self, flag: bool) {
        self.0.set_aborted(flag)
    }
    fn is_aborted(&self) -> bool {
        self.0.is_aborted()
    }
    fn close(&self) {
        self.0.close()
    }
    fn clear(&self) -> Result<Progress, Error> {
        self.0.clear()
    }
}

impl Handle for mtmsg_listener {
    const WHAT: &'static str = "listener";
    fn id(&self) -> u64 {
        self.0.listener().id()
    }
    fn name(&self) -> Option<&[u8]> {
        self.0.listener().name()
    }
    fn duplicate(&self) -> Self {
        mtmsg_listener(ListenerRef::clone(&self.0))
    }
    fn nonblock(&self) -> bool {
        self.0.nonblock()
    }
    fn set_nonblock(&self, flag: bool) {
        self.0.set_nonblock(flag)
    }
    fn set_aborted(&self, flag: bool) {
        self.0.set_aborted(flag)
    }
    fn is_aborted(&self) -> bool {
        self.0.is_aborted()
    }
    fn close(&self) {
        self.0.close()
    }
    fn clear(&self) -> Result<Progress, Error> {
        self.0.clear()
    }
}

pub(crate) unsafe fn clone<H: Handle>(handle: *const H, out_handle: *mut *mut H) -> mtmsg_status {
    call(|| {
        let handle = arg(handle, H::WHAT)?;
        Ok(give(out(out_handle, "out")?, handle.duplicate()))
    })
}

pub(crate) unsafe fn id<H: Handle>(handle: *const H, out_id: *mut u64) -> mtmsg_status {
    call(|| {
        let handle = arg(handle, H::WHAT)?;
        out(out_id, "out_id")?.write(handle.id());
        Ok(OK)
    })
}

pub(crate) unsafe fn name<H: Handle>(handle: *const H, out_name: *mut *const c_char, out_len: *mut usize) -> mtmsg_status {
    call(|| {
        let handle = arg(handle, H::WHAT)?;
        let (out_name, out_len) = (out(out_name, "out_name")?, out(out_len, "out_len")?);
        let name = handle.name();
        out_name.write(name.map_or(std::ptr::null(), |n| n.as_ptr() as *const c_char));
        out_len.write(name.map_or(0, <[u8]>::len));
        Ok(OK)
    })
}

pub(crate) unsafe fn clear<H: Handle>(handle: *const H) -> mtmsg_status {
    call(|| Ok(arg(handle, H::WHAT)?.clear()?.into()))
}

/// Runs `change` on the handle; for the calls that cannot fail otherwise.
unsafe fn apply<H: Handle>(handle: *const H, change: impl FnOnce(&H)) -> mtmsg_status {
    call(|| {
        change(arg(handle, H::WHAT)?);
        Ok(OK)
    })
}

/// Reads a flag of the handle into `out_flag`.
unsafe fn query<H: Handle>(handle: *const H, out_flag: *mut bool, read: impl FnOnce(&H) -> bool) -> mtmsg_status {
    call(|| {
        let handle = arg(handle, H::WHAT)?;
        out(out_flag, "out_flag")?.write(read(handle));
        Ok(OK)
    })
}

pub(crate) unsafe fn close<H: Handle>(handle: *const H) -> mtmsg_status {
    apply(handle, H::close)
}

pub(crate) unsafe fn abort<H: Handle>(handle: *const H, flag: bool) -> mtmsg_status {
    apply(handle, |h| h.set_aborted(flag))
}

pub(crate) unsafe fn nonblock<H: Handle>(handle: *const H, flag: bool) -> mtmsg_status {
    apply(handle, |h| h.set_nonblock(flag))
}

pub(crate) unsafe fn isabort<H: Handle>(handle: *const H, out_flag: *mut bool) -> mtmsg_status {
    query(handle, out_flag, H::is_aborted)
}

pub(crate) unsafe fn isnonblock<H: Handle>(handle: *const H, out_flag: *mut bool) -> mtmsg_status {
    query(handle, out_flag, H::nonblock)
}
