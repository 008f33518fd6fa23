//! Listeners: one wait for many buffers, served round robin.
//!
//! A listener's lock guards the queue of its buffers that hold messages
//! (`ready.rs`), which makes its round-robin order and its single wait for
//! all its buffers simple and exact. Its takers take that lock first;
//! producers take it only when a buffer becomes ready. A listener buffer's
//! operations that take messages take the listener's lock before the
//! buffer's own locks.
//!
//! This module and `buffer` depend on each other, the one cycle among the
//! core's modules: a listener's ready queue holds buffers, and a listener
//! buffer takes its listener's lock and puts itself into that queue.

pub(crate) mod ready;

use std::collections::VecDeque;
use std::sync::Arc;

use crate::abort::is_aborted;
use crate::buffer::{Buffer, BufferRef, BUFFERS};
use crate::error::{describe, Error, ErrorKind};
use crate::primitive::atomic::{AtomicBool, Ordering};
use crate::primitive::lazy_static;
use crate::reader::Reader;
use crate::reference::{Name, Object, Ref, Users};
use crate::registry::Registry;
use crate::sizes::Sizes;
use crate::sync::spin::{SpinBudget, SpinHistory};
use crate::sync::readiness::LazyReadiness;
use crate::sync::{Additions, CacheLine, Lock, LockGuard, Signal};
use crate::wait::Wait;
use crate::Progress;

use ready::ReadyQueue;

lazy_static! {
    /// Every listener with references.
    pub(crate) static LISTENERS: Registry<Listener> = Registry::new();
}

/// A listener: the lock domain of its buffers and the queue of those of
/// them that hold messages.
pub struct Listener {
    /// Buffers that joined the ready queue: what its spinning takers
    /// watch, on a cache line of its own.
    pub(crate) additions: CacheLine<Additions>,
    id: u64,
    name: Name,
    /// Handles and live buffers of this listener.
    users: Users,
    /// Written under the lock; read without it by producers, which add to
    /// a listener's buffers without taking it.
    closed: AtomicBool,
    aborted: AtomicBool,
    /// The last reference is gone: nothing may join `ready` any more.
    gone: AtomicBool,
    /// Where the listener's takers sleep (`Listener::take`); threads in
    /// `nextmsg` of one of its buffers sleep on that buffer's signal.
    takers: Signal,
    /// The descriptor event loops wait on, if one was asked for: readable
    /// exactly while the ready queue holds a buffer or the listener is
    /// closed or aborted. Updated under the lock wherever the ready queue
    /// may become empty or not, and when the flags change.
    readiness: LazyReadiness,
    spin_history: SpinHistory,
    state: CacheLine<Lock<ListenerState>>,
}

pub(crate) struct ListenerState {
    pub ready: ReadyQueue,
    /// Live buffers (with references) of this listener.
    pub buffers: usize,
}

impl Listener {
    fn error(&self, kind: ErrorKind) -> Error {
        Error::new(kind, self.describe())
    }

    /// Takes the lock; with `nonblock`, only if no other thread holds it.
    #[inline]
    pub(crate) fn lock(&self, nonblock: bool) -> Option<LockGuard<'_, ListenerState>> {
        self.state.lock_or_try(nonblock)
    }

    fn lock_blocking(&self) -> LockGuard<'_, ListenerState> {
        self.state.lock()
    }

    #[inline]
    fn check_usable(&self) -> Result<(), Error> {
        if is_aborted() || self.is_aborted() {
            return Err(self.error(ErrorKind::OperationAborted));
        }
        self.check_open()
    }

    /// Closed, or with nobody left to reach it: its buffers take no more
    /// messages.
    pub(crate) fn is_shut(&self) -> bool {
        self.closed.load(Ordering::SeqCst) || self.gone.load(Ordering::SeqCst)
    }

    /// Counts a new buffer of this listener (which is also a user of it).
    pub(crate) fn attach_buffer(&self) -> Result<(), Error> {
        let mut state = self.lock_blocking();
        self.check_usable()?;
        state.buffers += 1;
        self.users.acquire();
        Ok(())
    }

    /// A buffer of this listener was closed or lost its last reference: it
    /// no longer counts; the listener's takers learn of the last one going
    /// (`no_buffers`).
    pub(crate) fn detach_buffer(&self, state: &mut ListenerState) {
        state.buffers -= 1;
        if state.buffers == 0 {
            self.takers.notify_all();
        }
    }

    pub(crate) fn release_user(self: &Arc<Self>) {
        if self.users.release() {
            self.last_user_gone();
        }
    }

    /// A producer added to `buffer` without the lock and found it not
    /// listed: lists it, unless a taker did or took the message; a closed
    /// listener's buffer drops the message as if added before the close.
    /// True if it joined.
    pub(crate) fn enqueue(&self, buffer: &Arc<Buffer>) -> bool {
        let mut state = self.lock_blocking();
        if self.is_shut() {
            buffer.empty_for_listener(true);
            return false;
        }
        let joined = state.ready.join(buffer);
        if joined {
            self.update_readiness(&state);
        }
        joined
    }

    /// Brings the descriptor up to date (nothing when there is none);
    /// under the lock, whose `state` the caller holds.
    pub(crate) fn update_readiness(&self, state: &ListenerState) {
        if let Some(readiness) = self.readiness.get() {
            readiness.update(|| !state.ready.is_empty() || self.check_usable().is_err());
        }
    }

    /// The descriptor, made on the first request and brought up to date
    /// under the lock.
    fn make_fd(&self) -> Result<i32, Error> {
        let (readiness, _) = self
            .readiness
            .get_or_make()
            .map_err(|e| Error::new(ErrorKind::OutOfMemory, format!("{}: no descriptor for it: {e}", self.describe())))?;
        self.update_readiness(&self.lock_blocking());
        Ok(readiness.fd())
    }

    /// What the descriptor says now, for the models (test/loom).
    #[cfg(loom)]
    pub(crate) fn fd_is_readable(&self) -> bool {
        self.readiness.get().expect("a descriptor").is_readable()
    }

    /// Whether an event loop waiting on the listener should wake.
    fn ready_now(&self) -> bool {
        !self.lock_blocking().ready.is_empty() || self.check_usable().is_err()
    }

    /// After a buffer joined the ready queue: spinning takers see it, and
    /// one sleeping taker wakes. (The listener's lock orders the join with
    /// a taker that found the queue empty and counted itself a sleeper.)
    #[inline]
    pub(crate) fn announce_ready(&self) {
        self.additions.note();
    }

    /// After a message was added to one of its buffers: one of the
    /// listener's takers wakes, if one sleeps. (Every message, not only a
    /// buffer joining: two takers asleep and two messages into one buffer
    /// need two wake-ups.)
    #[inline]
    pub(crate) fn wake_one_taker(&self) {
        self.takers.notify_one();
    }

    /// Wakes the listener's own takers, so they see a close or an abort.
    /// The lock is taken and let go first: a taker that looked at the
    /// flags under it is by then counted as a sleeper.
    pub(crate) fn wake_takers(&self) {
        self.update_readiness(&self.lock_blocking());
        self.takers.notify_all();
    }

    /// Wakes every thread waiting on the listener or any of its buffers
    /// (and brings the descriptors up to date).
    fn wake_all(&self) {
        self.wake_takers();
        self.for_each_buffer(|buffer| buffer.wake_all());
    }

    /// Calls `f` on each of its buffers with references (those that can
    /// have threads waiting on them).
    fn for_each_buffer(&self, f: impl Fn(&Buffer)) {
        for buffer in BUFFERS.all() {
            if buffer.listener().is_some_and(|l| std::ptr::eq(&**l, self)) {
                f(&buffer);
            }
        }
    }

    /// Takes each ready buffer out of the queue and empties it, under the
    /// lock; the buffers are dropped by the caller after unlocking.
    fn empty_ready(state: &mut ListenerState, free: bool) -> VecDeque<Arc<Buffer>> {
        let ready = state.ready.take_all();
        for buffer in &ready {
            buffer.empty_for_listener(free);
        }
        ready
    }

    fn take(self: &Arc<Self>, reader: &mut Reader, wait: Wait, nonblock: bool) -> Result<Progress, Error> {
        let Some(mut state) = self.lock(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        let deadline = wait.deadline();
        let mut timed_out = false;
        let mut budget = SpinBudget::Unused;
        let mut spinning = false;
        loop {
            self.check_usable()?;
            if let Some(buffer) = state.ready.next() {
                let taken = match buffer.take_for_listener(reader) {
                    Ok(taken) => taken,
                    Err(refused) => {
                        state.ready.retry(buffer);
                        self.update_readiness(&state);
                        // The message stays: pass the wake-up this taker
                        // may have used on to another one.
                        drop(state);
                        self.wake_one_taker();
                        return Err(refused);
                    }
                };
                let served = buffer.clone();
                if taken.more {
                    state.ready.serve_again(buffer);
                } else {
                    self.update_readiness(&state);
                }
                drop(state);
                if spinning {
                    self.spin_history.record(true);
                }
                served.after_take(taken.target, taken.update_readiness);
                return Ok(Progress::Done);
            }
            if state.buffers == 0 {
                return Err(self.error(ErrorKind::NoBuffers));
            }
            if timed_out || nonblock || wait == Wait::Poll {
                return Ok(Progress::TimedOut);
            }
            budget.start(&self.spin_history, deadline);
            if !budget.used_up() {
                let seen = self.additions.seen();
                drop(state);
                spinning = true;
                self.additions.spin_for_change(seen, &mut budget);
                state = self.lock_blocking();
                continue;
            }
            if spinning {
                self.spin_history.record(false);
                spinning = false;
            }
            // Buffers join the ready queue under the lock, and their
            // producers wake takers after that: this thread, counted as a
            // sleeper before it lets go, cannot miss the wake-up.
            let ticket = self.takers.prepare();
            drop(state);
            timed_out = ticket.sleep(deadline);
            state = self.lock_blocking();
        }
    }
}

impl Object for Listener {
    const CLASS: &'static str = "mtmsg.listener";

    /// The id, unique in the process.
    fn id(&self) -> u64 {
        self.id
    }

    fn name(&self) -> Option<&[u8]> {
        self.name.get()
    }

    fn users(&self) -> &Users {
        &self.users
    }

    /// `mtmsg.listener(name="…",id=…)`.
    fn describe(&self) -> String {
        describe(Self::CLASS, self.name(), Some(self.id))
    }

    /// Nobody can reach this listener any more: the messages of collected
    /// buffers it still holds can never be taken, and dropping them breaks
    /// the buffer → listener → buffer cycle.
    fn last_user_gone(self: &Arc<Self>) {
        LISTENERS.remove(self.id);
        let orphans = {
            let mut state = self.lock_blocking();
            self.gone.store(true, Ordering::SeqCst);
            state.ready.take_all()
        };
        drop(orphans);
    }

    fn check_open(&self) -> Result<(), Error> {
        if self.closed.load(Ordering::SeqCst) {
            return Err(self.error(ErrorKind::ObjectClosed));
        }
        Ok(())
    }

    fn clear(self: &Arc<Self>, nonblock: bool) -> Result<Progress, Error> {
        let Some(mut state) = self.lock(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        self.check_usable()?;
        let emptied = Self::empty_ready(&mut state, false);
        self.update_readiness(&state);
        drop(state);
        for buffer in &emptied {
            buffer.wake_room();
        }
        Ok(Progress::Done)
    }

    /// Closes the listener and, with it, all its buffers.
    fn close(self: &Arc<Self>) {
        let emptied = {
            let mut state = self.lock_blocking();
            self.closed.store(true, Ordering::SeqCst);
            let emptied = Self::empty_ready(&mut state, true);
            self.update_readiness(&state);
            emptied
        };
        drop(emptied);
        self.wake_all();
    }

    fn set_aborted(&self, flag: bool) {
        {
            let state = self.lock_blocking();
            self.aborted.store(flag, Ordering::SeqCst);
            self.update_readiness(&state);
        }
        if flag {
            self.wake_all();
        } else {
            self.for_each_buffer(|buffer| buffer.update_readiness());
        }
    }

    fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }

    fn fd(&self) -> Result<i32, Error> {
        self.make_fd()
    }

    fn is_ready(&self) -> bool {
        self.ready_now()
    }
}

/// A reference to a listener.
pub type ListenerRef = Ref<Listener>;

impl Ref<Listener> {
    /// Creates a listener.
    pub fn new(name: Option<&[u8]>) -> Result<ListenerRef, Error> {
        LISTENERS
            .create(|id| {
                Ok(Arc::new(Listener {
                    additions: CacheLine(Additions::default()),
                    id,
                    name: Name::new(name),
                    users: Users::one(),
                    closed: AtomicBool::new(false),
                    aborted: AtomicBool::new(false),
                    gone: AtomicBool::new(false),
                    takers: Signal::new(),
                    readiness: LazyReadiness::new(),
                    spin_history: SpinHistory::new(),
                    state: CacheLine(Lock::new(ListenerState { ready: ReadyQueue::default(), buffers: 0 })),
                }))
            })
            .map(ListenerRef::adopt)
    }

    pub fn find_id(id: u64) -> Result<ListenerRef, Error> {
        LISTENERS.find_id(id).map(ListenerRef::adopt)
    }

    pub fn find_name(name: &[u8]) -> Result<ListenerRef, Error> {
        LISTENERS.find_name(name).map(ListenerRef::adopt)
    }

    pub fn listener(&self) -> &Listener {
        self.object()
    }

    /// Creates a buffer served by this listener.
    pub fn new_buffer(&self, name: Option<&[u8]>, sizes: Sizes) -> Result<BufferRef, Error> {
        Buffer::create(name, sizes, Some(self))
    }

    /// Takes the next message of any of the listener's buffers: `Done`,
    /// `TimedOut` (nothing within `timeout`; `None` waits for ever, zero
    /// polls) or `WouldBlock`.
    pub fn take(&self, reader: &mut Reader, timeout: Option<std::time::Duration>) -> Result<Progress, Error> {
        self.arc().take(reader, Wait::from_timeout(timeout), self.nonblock())
    }
}
