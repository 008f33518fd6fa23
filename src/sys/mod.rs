//! What the core needs of the operating system, behind one small
//! interface: a word threads sleep on until it changes ([`WaitWord`]), a
//! descriptor an event loop can wait on ([`ReadableFd`]), and knowing
//! whether this process is a child made by `fork` (`fork`).
//!
//! On Linux a [`WaitWord`] is a futex. Elsewhere, with `--cfg
//! mtmsg_portable` on Linux too (so that `make test` tests it), and under
//! loom, it is emulated with a mutex and a condition variable of its own
//! (`parking.rs`): the same protocol, only slower to wake.

#[cfg(all(target_os = "linux", not(loom), not(mtmsg_portable)))]
#[path = "futex.rs"]
mod wait_word;

#[cfg(not(all(target_os = "linux", not(loom), not(mtmsg_portable))))]
#[path = "parking.rs"]
mod wait_word;

pub(crate) mod fork;
mod readable;

pub(crate) use readable::ReadableFd;
pub(crate) use wait_word::WaitWord;

/// Which of the two implementations of [`WaitWord`] this build has, for
/// the tests' sake.
pub fn wait_mechanism() -> &'static str {
    wait_word::MECHANISM
}
