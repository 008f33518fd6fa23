//! A child process made by `fork` while other threads of the parent used
//! mtmsg.
//!
//! The child has a copy of every buffer, listener and lock, but only the
//! thread that called `fork`: a lock that another thread of the parent
//! held at that moment stays held in the child for ever, and queues may be
//! halfway through a change. So the child must not touch them: after a
//! fork every entry point of the C ABI (and so of the Lua module) fails at
//! once with `operation_aborted` ("used in a child process after fork")
//! instead of taking a lock, and releasing a reference does nothing (the
//! memory belongs to the copy of the parent's heap, which goes with the
//! child). The parent is not affected.

#[cfg(all(unix, not(loom)))]
mod detect {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Once;

    static IN_CHILD: AtomicBool = AtomicBool::new(false);
    static WATCHING: Once = Once::new();

    extern "C" fn mark_child() {
        IN_CHILD.store(true, Ordering::Relaxed);
    }

    /// Registers the handler that marks a child, once per process (and so
    /// in time for any fork after the first object was made).
    pub(crate) fn watch() {
        WATCHING.call_once(|| {
            // The one possible failure is ENOMEM: then a child is not
            // detected, and behaves as if this did not exist.
            // SAFETY: `mark_child` is async-signal-safe (one atomic store),
            // as a handler run in the child of a multithreaded process must be.
            unsafe { libc::pthread_atfork(None, None, Some(mark_child)) };
        });
    }

    #[inline]
    pub(crate) fn in_child() -> bool {
        IN_CHILD.load(Ordering::Relaxed)
    }
}

#[cfg(not(all(unix, not(loom))))]
mod detect {
    pub(crate) fn watch() {}

    #[inline]
    pub(crate) fn in_child() -> bool {
        false
    }
}

pub(crate) use detect::{in_child, watch};
