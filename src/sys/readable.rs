//! A descriptor an event loop can wait on (poll, epoll, cqueues, luv,
//! LuaSocket's select), made readable or not by its owner: an `eventfd`
//! on Linux, a pipe on other Unix systems; under loom, a flag the models
//! read back.
//!
//! Invariant kept by the owner (`sync/readiness.rs`): calls alternate,
//! `set(true)` only while not readable and `set(false)` only while
//! readable, so an eventfd's counter is only ever 0 or 1 and a pipe holds
//! at most one byte.

#[cfg(all(target_os = "linux", not(loom)))]
mod imp {
    use std::io;

    pub(crate) struct ReadableFd(libc::c_int);

    impl ReadableFd {
        pub(crate) fn new() -> io::Result<ReadableFd> {
            // SAFETY: eventfd takes no pointers.
            let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
            if fd < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(ReadableFd(fd))
        }

        pub(crate) fn fd(&self) -> i32 {
            self.0
        }

        /// Makes the descriptor readable (`true`) or not. A failure can
        /// only be EAGAIN (a counter that is already at its top, or already
        /// 0: not possible under the owner's invariant) or EINTR, retried.
        pub(crate) fn set(&self, readable: bool) {
            let mut counter: u64 = 1;
            loop {
                let pointer = &mut counter as *mut u64 as *mut libc::c_void;
                // SAFETY: the descriptor is ours and open; the buffer is 8
                // bytes, what eventfd reads and writes.
                let done = unsafe {
                    if readable {
                        libc::write(self.0, pointer, 8)
                    } else {
                        libc::read(self.0, pointer, 8)
                    }
                };
                if done >= 0 || io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    return;
                }
            }
        }
    }

    impl Drop for ReadableFd {
        fn drop(&mut self) {
            // SAFETY: the descriptor is ours, and closed once.
            unsafe { libc::close(self.0) };
        }
    }
}

#[cfg(all(unix, not(target_os = "linux"), not(loom)))]
mod imp {
    use std::io;

    /// The read end is what the event loop waits on; a byte in the pipe
    /// makes it readable.
    pub(crate) struct ReadableFd {
        read: libc::c_int,
        write: libc::c_int,
    }

    impl ReadableFd {
        pub(crate) fn new() -> io::Result<ReadableFd> {
            let mut ends = [0 as libc::c_int; 2];
            // SAFETY: `ends` has room for the two descriptors.
            if unsafe { libc::pipe(ends.as_mut_ptr()) } != 0 {
                return Err(io::Error::last_os_error());
            }
            let pipe = ReadableFd { read: ends[0], write: ends[1] };
            for fd in ends {
                // SAFETY: our own descriptors; the flags only add to theirs.
                unsafe {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                    libc::fcntl(fd, libc::F_SETFL, libc::fcntl(fd, libc::F_GETFL) | libc::O_NONBLOCK);
                }
            }
            Ok(pipe)
        }

        pub(crate) fn fd(&self) -> i32 {
            self.read
        }

        pub(crate) fn set(&self, readable: bool) {
            let mut byte = 0u8;
            let pointer = &mut byte as *mut u8 as *mut libc::c_void;
            // SAFETY: our own descriptors and a one-byte buffer.
            unsafe {
                if readable {
                    libc::write(self.write, pointer, 1);
                } else {
                    libc::read(self.read, pointer, 1);
                }
            }
        }
    }

    impl Drop for ReadableFd {
        fn drop(&mut self) {
            // SAFETY: our own descriptors, closed once.
            unsafe {
                libc::close(self.read);
                libc::close(self.write);
            }
        }
    }
}

#[cfg(loom)]
mod imp {
    use std::io;

    use crate::primitive::atomic::{AtomicBool, Ordering};

    /// The descriptor's state, for the models to check.
    pub(crate) struct ReadableFd(AtomicBool);

    impl ReadableFd {
        pub(crate) fn new() -> io::Result<ReadableFd> {
            Ok(ReadableFd(AtomicBool::new(false)))
        }

        pub(crate) fn fd(&self) -> i32 {
            -1
        }

        pub(crate) fn set(&self, readable: bool) {
            assert_ne!(self.0.swap(readable, Ordering::Relaxed), readable, "calls alternate");
        }

        pub(crate) fn is_readable(&self) -> bool {
            self.0.load(Ordering::Relaxed)
        }
    }
}

pub(crate) use imp::ReadableFd;
