//! The one seam between the core's synchronization and what runs it: the
//! atomics, the cell a lock guards, spin hints, process-wide statics and
//! the parking of threads come from the standard library, or, under
//! `--cfg loom`, from loom, which then runs the core's real code under
//! every interleaving its tests allow (`test/loom/`). Nothing else in the
//! core names `std::sync::atomic`, `std::cell::UnsafeCell`,
//! `std::hint::spin_loop` or a lazily made static.
//!
//! The system calls that wait (futexes) are behind `sys`, which under
//! loom parks threads with loom's mutex and condition variable instead.

#[cfg(not(loom))]
pub(crate) mod atomic {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
}

#[cfg(loom)]
pub(crate) mod atomic {
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
}

/// The mutex and condition variable that emulate futexes where there are
/// none (`sys/parking.rs`).
#[cfg(not(loom))]
#[allow(unused_imports)] // with futexes only the portable build uses them
pub(crate) mod parking {
    pub(crate) use std::sync::{Condvar, Mutex};
}

#[cfg(loom)]
pub(crate) mod parking {
    pub(crate) use loom::sync::{Condvar, Mutex};
}

/// One step of a busy wait. Under loom a yield, so that the model lets the
/// thread waited for make progress.
#[inline]
pub(crate) fn spin_loop() {
    #[cfg(not(loom))]
    std::hint::spin_loop();
    #[cfg(loom)]
    loom::thread::yield_now();
}

/// A cell whose contents a lock or a protocol of the core guards. Under
/// loom every access is checked: two accesses not ordered by the protocol
/// fail the model ("causality violation").
pub(crate) struct UnsafeCell<T> {
    #[cfg(not(loom))]
    value: std::cell::UnsafeCell<T>,
    #[cfg(loom)]
    value: loom::cell::UnsafeCell<T>,
}

impl<T> UnsafeCell<T> {
    pub(crate) fn new(value: T) -> UnsafeCell<T> {
        #[cfg(not(loom))]
        return UnsafeCell { value: std::cell::UnsafeCell::new(value) };
        #[cfg(loom)]
        return UnsafeCell { value: loom::cell::UnsafeCell::new(value) };
    }

    /// Reads through the pointer `read` is given.
    ///
    /// # Safety
    /// No other thread writes the contents meanwhile (the caller holds what
    /// guards them).
    #[inline]
    pub(crate) unsafe fn with<R>(&self, read: impl FnOnce(*const T) -> R) -> R {
        #[cfg(not(loom))]
        return read(self.value.get());
        #[cfg(loom)]
        return self.value.with(read);
    }

    /// Writes through the pointer `write` is given.
    ///
    /// # Safety
    /// No other thread reads or writes the contents meanwhile.
    #[inline]
    pub(crate) unsafe fn with_mut<R>(&self, write: impl FnOnce(*mut T) -> R) -> R {
        #[cfg(not(loom))]
        return write(self.value.get());
        #[cfg(loom)]
        return self.value.with_mut(write);
    }
}

/// A process-wide static made on first use (a `LazyLock`); under loom one
/// made anew for each execution of a model.
#[cfg(not(loom))]
macro_rules! lazy_static {
    ($(#[$meta:meta])* $vis:vis static $name:ident: $type:ty = $init:expr;) => {
        $(#[$meta])* $vis static $name: std::sync::LazyLock<$type> = std::sync::LazyLock::new(|| $init);
    };
}

#[cfg(loom)]
macro_rules! lazy_static {
    ($(#[$meta:meta])* pub(crate) static $name:ident: $type:ty = $init:expr;) => {
        loom::lazy_static! { $(#[$meta])* pub(crate) static ref $name: $type = $init; }
    };
    ($(#[$meta:meta])* static $name:ident: $type:ty = $init:expr;) => {
        loom::lazy_static! { $(#[$meta])* static ref $name: $type = $init; }
    };
}

pub(crate) use lazy_static;
