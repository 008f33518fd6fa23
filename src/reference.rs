//! References: what a handle, a Lua object or a notifier holds of a buffer
//! or listener. An object lives while any reference to it does.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::Error;
use crate::registry::Registered;
use crate::Progress;

/// A process-wide object that references keep alive: a buffer or a
/// listener, with the operations both have.
pub trait Object: Registered {
    fn id(&self) -> u64;
    /// `mtmsg.buffer(name="…",id=…)`, for error texts.
    fn describe(&self) -> String;
    /// Called once, when the last reference is gone.
    fn last_user_gone(self: &Arc<Self>);
    fn clear(self: &Arc<Self>, nonblock: bool) -> Result<Progress, Error>;
    fn close(self: &Arc<Self>);
    fn set_aborted(&self, flag: bool);
    fn is_aborted(&self) -> bool;
}

/// One reference to a buffer or listener, with its own nonblock mode.
pub struct Ref<T: Object> {
    object: Arc<T>,
    nonblock: AtomicBool,
}

impl<T: Object> Ref<T> {
    /// Wraps an object whose user count was already raised for this one.
    pub(crate) fn adopt(object: Arc<T>) -> Ref<T> {
        Ref { object, nonblock: AtomicBool::new(false) }
    }

    pub fn object(&self) -> &T {
        &self.object
    }

    pub(crate) fn arc(&self) -> &Arc<T> {
        &self.object
    }

    /// Whether operations through this reference return at once, with
    /// their negative result, when the object is busy in another thread.
    pub fn nonblock(&self) -> bool {
        self.nonblock.load(Ordering::Relaxed)
    }

    pub fn set_nonblock(&self, flag: bool) {
        self.nonblock.store(flag, Ordering::Relaxed)
    }

    /// Drops every queued message.
    pub fn clear(&self) -> Result<Progress, Error> {
        self.object.clear(self.nonblock())
    }

    /// Closes the object for good (a listener with its buffers).
    pub fn close(&self) {
        self.object.close()
    }

    pub fn set_aborted(&self, flag: bool) {
        self.object.set_aborted(flag)
    }

    pub fn is_aborted(&self) -> bool {
        self.object.is_aborted()
    }
}

impl<T: Object> Clone for Ref<T> {
    /// Another reference to the same object (nonblock off).
    fn clone(&self) -> Ref<T> {
        self.object.users().acquire();
        Ref::adopt(self.object.clone())
    }
}

impl<T: Object> Drop for Ref<T> {
    fn drop(&mut self) {
        if self.object.users().release() {
            self.object.last_user_gone();
        }
    }
}

impl<T: Object> fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.object.describe())
    }
}
