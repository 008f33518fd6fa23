//! What concerns every buffer and listener of the process at once.

use crate::abort;
use crate::buffer::BUFFERS;
use crate::listener::LISTENERS;

/// Aborts (`true`) or un-aborts (`false`) every buffer and listener of the
/// process. While aborted, every operation and creation fails with
/// `operation_aborted`, and every waiting or sleeping thread wakes with it.
pub fn abort_all(flag: bool) {
    abort::set_aborted(flag);
    // Each wake takes the object's locks first: a thread that looked at
    // the flag under them is by then counted as a sleeper. Both ways, the
    // descriptors of event loops follow.
    for buffer in BUFFERS.all() {
        if flag {
            buffer.wake_all();
        } else {
            buffer.update_readiness();
        }
    }
    for listener in LISTENERS.all() {
        listener.wake_takers();
    }
}

/// Whether this process is a child made by `fork` after mtmsg was used in
/// its parent: then mtmsg must not be used (see `sys/fork.rs`).
pub fn in_forked_child() -> bool {
    crate::sys::fork::in_child()
}
