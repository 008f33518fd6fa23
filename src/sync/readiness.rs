//! Keeping a descriptor readable exactly while its owner (a buffer, a
//! listener) has something for an event loop: a message, or a close or an
//! abort to report.
//!
//! Protocol: every change that may flip the owner's state is followed by
//! an [`Readiness::update`] that evaluates the state afresh under this
//! lock and sets the descriptor to match; updates are serialized by the
//! lock, so the last one, which comes after every change, leaves the
//! descriptor right. A change need not be followed by its own update when
//! another thread's update is sure to see it: a queue's two ends decide
//! that with a fence each (see `Buffer::readiness_after_add`).
//!
//! Nothing of this runs for an owner whose descriptor nobody asked for
//! ([`LazyReadiness::get`] is `None`): one load of a null pointer.

use std::io;
use std::ptr;

use super::Lock;
use crate::primitive::atomic::{AtomicPtr, Ordering};
use crate::sys::ReadableFd;

pub(crate) struct Readiness {
    fd: ReadableFd,
    /// Whether the descriptor is readable now.
    readable: Lock<bool>,
}

impl Readiness {
    fn new() -> io::Result<Readiness> {
        Ok(Readiness { fd: ReadableFd::new()?, readable: Lock::new(false) })
    }

    pub(crate) fn fd(&self) -> i32 {
        self.fd.fd()
    }

    /// Sets the descriptor to what `ready()`, evaluated under the lock,
    /// says; a system call only when that differs from what it is.
    pub(crate) fn update(&self, ready: impl FnOnce() -> bool) {
        let mut readable = self.readable.lock();
        let ready = ready();
        if ready != *readable {
            self.fd.set(ready);
            *readable = ready;
        }
    }

    #[cfg(loom)]
    pub(crate) fn is_readable(&self) -> bool {
        self.fd.is_readable()
    }
}

/// A [`Readiness`] made on first request and kept until its owner goes.
pub(crate) struct LazyReadiness(AtomicPtr<Readiness>);

impl LazyReadiness {
    pub(crate) fn new() -> LazyReadiness {
        LazyReadiness(AtomicPtr::new(ptr::null_mut()))
    }

    /// The readiness, if somebody asked for the descriptor.
    #[inline]
    pub(crate) fn get(&self) -> Option<&Readiness> {
        // SAFETY: once set, it lives as long as `self`.
        unsafe { self.0.load(Ordering::Acquire).as_ref() }
    }

    /// The readiness, made now if this is the first request; `made` is true
    /// for the caller that made it (and must bring it up to date).
    pub(crate) fn get_or_make(&self) -> io::Result<(&Readiness, bool)> {
        if let Some(readiness) = self.get() {
            return Ok((readiness, false));
        }
        let made = Box::into_raw(Box::new(Readiness::new()?));
        match self.0.compare_exchange(ptr::null_mut(), made, Ordering::AcqRel, Ordering::Acquire) {
            // SAFETY: published above; it lives as long as `self`.
            Ok(_) => Ok((unsafe { &*made }, true)),
            Err(other) => {
                // SAFETY: `made` was never shared; `other` lives as long as
                // `self`.
                unsafe {
                    drop(Box::from_raw(made));
                    Ok((&*other, false))
                }
            }
        }
    }
}

impl Drop for LazyReadiness {
    fn drop(&mut self) {
        let readiness = self.0.load(Ordering::Acquire);
        if !readiness.is_null() {
            // SAFETY: made by `Box::into_raw`, and its owner is going.
            drop(unsafe { Box::from_raw(readiness) });
        }
    }
}
