//! Biased locks: the locks of a queue's two ends and of a listener, which
//! in most programs one thread takes over and over (the one producer, the
//! one consumer).
//!
//! Why: on x86 an atomic read-modify-write (the compare-exchange that takes
//! a [`Lock`], the swap that lets it go) first waits until every earlier
//! store of its thread has reached the other cores. A producer's earlier
//! stores are the message and the count it just published, whose cache
//! lines the consumer keeps reading, so each of them first has to be
//! fetched back from the consumer's core: the wait costs a cache line's
//! trip between cores (about 100 ns here) per message. Measured on these
//! machines with a minimal ring of integers: 33-48 million messages a
//! second without locks, 6 million with one uncontended lock taken and let
//! go per message.
//!
//! How: after [`BIAS_AFTER`] takes in a row by one thread, the lock becomes
//! that thread's (its owner's). The owner takes it by marking itself
//! `inside` and checking that it still owns the lock, and lets go by
//! clearing the mark: plain stores and loads. Any other thread takes the
//! inner [`Lock`] and, finding the lock biased, revokes the bias: it clears
//! the owner, makes a heavy barrier and waits until the owner is no longer
//! inside. The owner's "mark, then check the owner" and the revoker's
//! "clear the owner, then check the mark" are a Dekker pair, which needs a
//! full barrier in both threads; the owner's side is only a compiler
//! barrier, which `membarrier(2)` ([`heavy_barrier`]) turns into a full one
//! at every point where it matters: the kernel runs a memory barrier on
//! each core that runs a thread of the process, so of the two threads at
//! least one sees the other's store. A revocation costs that system call
//! (some 13 µs here when the owner is running), which is why only long
//! runs of takes by one thread are worth biasing: threads that alternate
//! keep the inner lock, as before.
//!
//! Without `membarrier` (an old kernel, a sandbox that forbids it) locks
//! are never biased.

use std::cell::UnsafeCell;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};
use std::sync::atomic::{compiler_fence, fence, AtomicU32, AtomicU8, AtomicUsize, Ordering};
use std::time::Duration;

use crate::sync::{futex_wait, futex_wake, spin_while, valgrind, Lock};

/// Takes in a row by one thread after which the lock is biased to it. A
/// revocation costs a system call of some microseconds; after this many
/// takes it adds a few nanoseconds a message at most.
const BIAS_AFTER: u32 = 1024;

/// How long a revoker spins for the owner to leave before it sleeps: the
/// owner's stay is a few dozen instructions.
const OWNER_SPIN: Duration = Duration::from_micros(2);

/// A lock around a `T` that the thread taking it over and over takes
/// without atomic read-modify-writes.
pub(crate) struct BiasedLock<T> {
    inner: Lock<T>,
    /// The [`thread_token`] of the thread the lock is biased to; 0: none.
    /// Changed only by holders of `inner`.
    owner: AtomicUsize,
    /// 1 while the owner holds the lock without `inner`.
    inside: AtomicU32,
    /// 1 while a revoker waits (on `inside`) for the owner to leave.
    revoker_waits: AtomicU32,
    /// Who took `inner` last, and how many times in a row. Guarded by it.
    streak: UnsafeCell<Streak>,
}

#[derive(Clone, Copy)]
struct Streak {
    thread: usize,
    takes: u32,
}

// SAFETY: the value is reached only through a guard, of which there is one
// at a time (see the module's protocol); `streak` only under `inner`.
unsafe impl<T: Send> Sync for BiasedLock<T> {}
unsafe impl<T: Send> Send for BiasedLock<T> {}

/// Access to the value of a held [`BiasedLock`]; lets go when dropped.
///
/// One word, the lock's address with [`THROUGH_INNER`] set when it is held
/// through the inner lock (whose guard is then let go of by hand), so that
/// the guards of an operation stay in registers: built in memory and
/// copied, as a pair of words, they made a producer wait for its earlier
/// stores (a load that spans two stores cannot take its bytes from them).
pub(crate) struct BiasedGuard<'a, T> {
    tagged: *const BiasedLock<T>,
    lock: PhantomData<&'a BiasedLock<T>>,
}

/// The bit of a [`BiasedGuard`] that tells it holds the inner lock (the
/// lock's address is a multiple of 8).
const THROUGH_INNER: usize = 1;

impl<T> BiasedLock<T> {
    pub const fn new(value: T) -> BiasedLock<T> {
        BiasedLock {
            inner: Lock::new(value),
            owner: AtomicUsize::new(0),
            inside: AtomicU32::new(0),
            revoker_waits: AtomicU32::new(0),
            streak: UnsafeCell::new(Streak { thread: 0, takes: 0 }),
        }
    }

    /// Takes the lock; with `nonblock`, `None` when another thread holds it.
    #[inline]
    pub fn lock(&self, nonblock: bool) -> Option<BiasedGuard<'_, T>> {
        let me = thread_token();
        if self.owner.load(Ordering::Relaxed) == me {
            self.inside.store(1, Ordering::Relaxed);
            light_barrier();
            if self.owner.load(Ordering::Relaxed) == me {
                valgrind::happens_after(&self.inside);
                return Some(BiasedGuard::new(self, false));
            }
            // Revoked meanwhile: the revoker may wait for this.
            self.leave();
        }
        self.lock_inner(me, nonblock)
    }

    #[cold]
    fn lock_inner(&self, me: usize, nonblock: bool) -> Option<BiasedGuard<'_, T>> {
        let inner = if nonblock { self.inner.try_lock()? } else { self.inner.lock() };
        let owner = self.owner.load(Ordering::Relaxed);
        if owner != 0 && owner != me && !self.revoke(owner, nonblock) {
            return None;
        }
        // SAFETY: `inner` is held.
        let streak = unsafe { &mut *self.streak.get() };
        *streak = if streak.thread == me { Streak { takes: streak.takes.saturating_add(1), ..*streak } } else { Streak { thread: me, takes: 1 } };
        if streak.takes >= BIAS_AFTER && owner == 0 && me != 0 && barrier_available() {
            self.owner.store(me, Ordering::Relaxed);
        }
        // Let go of by the guard (`BiasedGuard::drop`).
        std::mem::forget(inner);
        Some(BiasedGuard::new(self, true))
    }

    /// Takes the bias from its `owner` (the caller holds `inner`) and waits
    /// until the owner is not inside; with `nonblock`, false instead of
    /// waiting when it is, and the bias goes back to the owner: a lock
    /// without an owner must have nobody inside, as the next thread to take
    /// `inner` goes in without looking.
    fn revoke(&self, owner: usize, nonblock: bool) -> bool {
        self.owner.store(0, Ordering::Relaxed);
        self.revoker_waits.store(1, Ordering::Relaxed);
        heavy_barrier();
        let mut left = self.inside.load(Ordering::Acquire) == 0;
        if !left && !nonblock {
            left = spin_while(OWNER_SPIN, || self.inside.load(Ordering::Acquire) != 0);
            while !left {
                futex_wait(&self.inside, 1, None);
                left = self.inside.load(Ordering::Acquire) == 0;
            }
        }
        self.revoker_waits.store(0, Ordering::Relaxed);
        if left {
            valgrind::happens_after(&self.inside);
        } else {
            self.owner.store(owner, Ordering::Relaxed);
        }
        left
    }

    /// The owner lets go (or gives up taking the lock by its fast path).
    #[inline]
    fn leave(&self) {
        valgrind::happens_before(&self.inside);
        self.inside.store(0, Ordering::Release);
        light_barrier();
        if self.revoker_waits.load(Ordering::Relaxed) != 0 {
            futex_wake(&self.inside, 1);
        }
    }

    /// Takes the lock through `inner`, revoking any bias, and lets go:
    /// afterwards every thread that takes the lock either did so before
    /// (and what it wrote then is visible) or sees what the caller wrote
    /// before calling this. A thread about to sleep uses it to make sure
    /// that producers, who need no barrier of their own, see it.
    pub fn synchronize(&self) {
        drop(self.lock_inner(0, false));
    }

    /// Forgets the owner of a lock nobody else can reach (`&mut`), so that
    /// taking it needs no revocation.
    pub fn forget_owner(&mut self) {
        *self.owner.get_mut() = 0;
    }
}

impl<'a, T> BiasedGuard<'a, T> {
    #[inline]
    fn new(lock: &'a BiasedLock<T>, through_inner: bool) -> BiasedGuard<'a, T> {
        let address = lock as *const BiasedLock<T>;
        BiasedGuard { tagged: address.map_addr(|a| a | through_inner as usize), lock: PhantomData }
    }

    #[inline]
    fn lock(&self) -> &'a BiasedLock<T> {
        // SAFETY: the address of a lock that outlives the guard.
        unsafe { &*self.tagged.map_addr(|a| a & !THROUGH_INNER) }
    }

    #[inline]
    fn through_inner(&self) -> bool {
        self.tagged.addr() & THROUGH_INNER != 0
    }
}

impl<T> Deref for BiasedGuard<'_, T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: the guard is the one holder of the lock.
        unsafe { &*self.lock().inner.value() }
    }
}

impl<T> DerefMut for BiasedGuard<'_, T> {
    #[inline]
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard is the one holder of the lock.
        unsafe { &mut *self.lock().inner.value() }
    }
}

impl<T> Drop for BiasedGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.through_inner() {
            self.lock().inner.unlock();
        } else {
            self.lock().leave();
        }
    }
}

/// A number for the calling thread, never 0, that no other running thread
/// has: its pthread id (cheaper than a thread-local of a shared library).
/// A thread may get the id of one that ended, and with it that one's
/// biases: harmless, as the thread that ended is inside no lock.
#[inline]
fn thread_token() -> usize {
    // SAFETY: pthread_self has no preconditions.
    unsafe { libc::pthread_self() as usize }
}

/// The owner's side of the Dekker pair: keeps the compiler from moving
/// memory accesses across it; `heavy_barrier` does the rest.
#[inline]
fn light_barrier() {
    compiler_fence(Ordering::SeqCst);
}

const UNKNOWN: u8 = 0;
const AVAILABLE: u8 = 1;
const MISSING: u8 = 2;
static BARRIER: AtomicU8 = AtomicU8::new(UNKNOWN);

/// Whether `membarrier` can back biased locks in this process (registered
/// on the first call).
fn barrier_available() -> bool {
    match BARRIER.load(Ordering::Relaxed) {
        UNKNOWN => {
            let available = !cfg!(miri) && membarrier(libc::MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0;
            BARRIER.store(if available { AVAILABLE } else { MISSING }, Ordering::Relaxed);
            available
        }
        state => state == AVAILABLE,
    }
}

/// The revoker's side of the Dekker pair: a memory barrier on every core
/// that runs a thread of this process. Only called for a biased lock, so
/// after `barrier_available`.
fn heavy_barrier() {
    fence(Ordering::SeqCst);
    if membarrier(libc::MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 {
        // The registration was lost (the kernel forgets it across some
        // process changes): the global command needs none, and is slower.
        if membarrier(libc::MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) != 0 || membarrier(libc::MEMBARRIER_CMD_PRIVATE_EXPEDITED) != 0 {
            let global = membarrier(libc::MEMBARRIER_CMD_GLOBAL);
            assert!(global == 0, "membarrier worked before and fails now");
        }
    }
    fence(Ordering::SeqCst);
}

fn membarrier(command: libc::c_int) -> libc::c_long {
    // SAFETY: membarrier takes no pointers.
    unsafe { libc::syscall(libc::SYS_membarrier, command, 0 as libc::c_uint, 0 as libc::c_int) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// Counts with a plain read and write under the lock, so that two
    /// holders at once lose increments.
    fn count_from_threads(lock: &Arc<BiasedLock<u64>>, threads: usize, each: u64, nonblock: bool) {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    let mut done = 0;
                    while done < each {
                        if let Some(mut guard) = lock.lock(nonblock) {
                            let value = *guard;
                            std::hint::black_box(&mut *guard);
                            *guard = value + 1;
                            done += 1;
                        }
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
    }

    #[test]
    fn a_thread_taking_the_lock_over_and_over_gets_the_bias() {
        if !barrier_available() {
            eprintln!("membarrier is missing here: nothing to test");
            return;
        }
        let lock = BiasedLock::new(0u64);
        for _ in 0..BIAS_AFTER + 1 {
            *lock.lock(false).unwrap() += 1;
        }
        assert_eq!(lock.owner.load(Ordering::Relaxed), thread_token());
        let guard = lock.lock(false).unwrap();
        assert!(!guard.through_inner(), "the owner takes it without the inner lock");
        assert_eq!(lock.inside.load(Ordering::Relaxed), 1);
        drop(guard);
        assert_eq!(lock.inside.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn another_thread_revokes_the_bias_and_waits_for_the_owner_to_leave() {
        let lock = Arc::new(BiasedLock::new(0u64));
        for _ in 0..BIAS_AFTER {
            drop(lock.lock(false));
        }
        let held = lock.lock(false).unwrap();
        let other = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                assert!(lock.lock(true).is_none(), "nonblock: the owner is inside");
                *lock.lock(false).unwrap() += 1;
            })
        };
        std::thread::sleep(Duration::from_millis(20));
        assert!(!other.is_finished(), "the revoker waits while the owner is inside");
        drop(held);
        other.join().unwrap();
        assert_ne!(lock.owner.load(Ordering::Relaxed), thread_token(), "revoked");
        assert_eq!(*lock.lock(false).unwrap(), 1);
    }

    #[test]
    fn threads_in_turns_never_hold_the_lock_together() {
        let lock = Arc::new(BiasedLock::new(0u64));
        // Long enough runs that biases are made and revoked over and over.
        count_from_threads(&lock, 2, 20 * BIAS_AFTER as u64, false);
        count_from_threads(&lock, 3, 2 * BIAS_AFTER as u64, true);
        assert_eq!(*lock.lock(false).unwrap(), 46 * BIAS_AFTER as u64);
    }

    #[test]
    fn synchronize_revokes_the_bias() {
        let lock = Arc::new(BiasedLock::new(()));
        for _ in 0..BIAS_AFTER {
            drop(lock.lock(false));
        }
        let other = lock.clone();
        std::thread::spawn(move || other.synchronize()).join().unwrap();
        assert_eq!(lock.owner.load(Ordering::Relaxed), 0);
    }
}
