//! References: what a handle, a Lua object or a notifier holds of a buffer
//! or listener, and the count of them that keeps the object alive.

use std::fmt;
use std::sync::Arc;

use crate::error::Error;
use crate::primitive::atomic::{fence, AtomicBool, AtomicUsize, Ordering};
use crate::Progress;

/// A process-wide object that references keep alive: a buffer or a
/// listener, with the operations both have.
pub trait Object {
    /// `mtmsg.buffer` or `mtmsg.listener`.
    const CLASS: &'static str;
    fn id(&self) -> u64;
    fn name(&self) -> Option<&[u8]>;
    /// The count of references ([`Ref`]s and the links that count as one).
    fn users(&self) -> &Users;
    /// `mtmsg.buffer(name="…",id=…)`, for error texts.
    fn describe(&self) -> String;
    /// Called once, when the last reference is gone.
    fn last_user_gone(self: &Arc<Self>);
    /// `object_closed` once the object is closed.
    fn check_open(&self) -> Result<(), Error>;
    fn clear(self: &Arc<Self>, nonblock: bool) -> Result<Progress, Error>;
    fn close(self: &Arc<Self>);
    fn set_aborted(&self, flag: bool);
    fn is_aborted(&self) -> bool;
    /// The descriptor for event loops (see [`Ref::fd`]).
    fn fd(&self) -> Result<i32, Error>;
    /// What the descriptor says (see [`Ref::is_ready`]).
    fn is_ready(&self) -> bool;
}

/// How many references an object has. The registry hands out a new one
/// only while the count is above zero ([`Users::try_acquire`]), so an
/// object whose last reference went away can never come back.
pub struct Users(AtomicUsize);

impl Users {
    pub fn one() -> Users {
        Users(AtomicUsize::new(1))
    }

    /// One more reference, from a holder of one.
    pub fn acquire(&self) {
        if self.0.fetch_add(1, Ordering::Relaxed) > isize::MAX as usize {
            // Only a leak of references on a grand scale gets here; going
            // on would wrap the count and free an object still in use.
            eprintln!("mtmsg: too many references to one object; aborting the process");
            std::process::abort();
        }
    }

    /// One more reference, unless the count is zero already (the object is
    /// on its way out); for lookups, which hold none.
    pub fn try_acquire(&self) -> bool {
        let mut users = self.0.load(Ordering::Relaxed);
        while users > 0 {
            match self.0.compare_exchange_weak(users, users + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => users = now,
            }
        }
        false
    }

    /// Whether no reference is left (the object is on its way out).
    pub fn none(&self) -> bool {
        self.0.load(Ordering::Relaxed) == 0
    }

    /// Drops one reference; true when it was the last. Release, and
    /// Acquire for the last: everything done through any reference comes
    /// before what the last one's holder does next.
    pub fn release(&self) -> bool {
        if self.0.fetch_sub(1, Ordering::Release) == 1 {
            fence(Ordering::Acquire);
            true
        } else {
            false
        }
    }
}

/// An object's optional name behind one thin pointer: most objects have
/// none, and a field of 8 bytes instead of 16 keeps empty buffers small.
pub(crate) struct Name(Option<Box<Box<[u8]>>>);

impl Name {
    pub fn new(name: Option<&[u8]>) -> Name {
        Name(name.map(|n| Box::new(Box::from(n))))
    }

    pub fn get(&self) -> Option<&[u8]> {
        self.0.as_deref().map(|n| &**n)
    }
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

    /// The nonblock mode, for the operations that follow it.
    #[inline]
    pub(crate) fn nonblock(&self) -> bool {
        self.nonblock.load(Ordering::Relaxed)
    }

    /// Whether operations through this reference return at once, with
    /// their negative result, when the object is busy in another thread.
    pub fn is_nonblock(&self) -> Result<bool, Error> {
        self.object.check_open()?;
        Ok(self.nonblock())
    }

    pub fn set_nonblock(&self, flag: bool) -> Result<(), Error> {
        self.object.check_open()?;
        self.nonblock.store(flag, Ordering::Relaxed);
        Ok(())
    }

    /// Drops every queued message.
    pub fn clear(&self) -> Result<Progress, Error> {
        self.object.clear(self.nonblock())
    }

    /// Closes the object for good (a listener with its buffers); closing it
    /// again does nothing.
    pub fn close(&self) {
        self.object.close()
    }

    pub fn set_aborted(&self, flag: bool) -> Result<(), Error> {
        self.object.check_open()?;
        self.object.set_aborted(flag);
        Ok(())
    }

    pub fn is_aborted(&self) -> Result<bool, Error> {
        self.object.check_open()?;
        Ok(self.object.is_aborted())
    }

    /// A descriptor an event loop (poll, epoll, cqueues, luv, LuaSocket's
    /// select) can wait on, level-triggered: readable exactly while a
    /// message is queued (for a listener: in any of its buffers) or the
    /// object is closed or aborted. Made on the first request, one per
    /// object (all references share it), close-on-exec and nonblocking,
    /// closed when the object is freed; the caller must not read, write or
    /// close it. It answers on a closed or aborted object too.
    pub fn fd(&self) -> Result<i32, Error> {
        self.object.fd()
    }

    /// What the descriptor says: a message queued, or closed or aborted
    /// (LuaSocket's `dirty`). Answers on a closed object too.
    pub fn is_ready(&self) -> bool {
        self.object.is_ready()
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
