//! Listeners: one wait for many buffers, served round robin.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use crate::abort::is_aborted;
use crate::buffer::{Buffer, BufferRef};
use crate::error::{describe, Error, ErrorKind};
use crate::home::{deadline, wake_room, wake_takers, Additions, Domain, Shared, SpinBudget};
use crate::sync::LockGuard;
use crate::queue::Sizes;
use crate::reader::Reader;
use crate::reference::{Object, Ref};
use crate::registry::{self, Name, Registered, Users};
use crate::Progress;

/// A listener: the lock domain of its buffers and the queue of those of
/// them that hold messages. `repr(C)` keeps `additions` a cache line away
/// from the lock (see `Buffer`).
#[repr(C)]
pub struct Listener {
    /// Messages added to any of its buffers.
    pub(crate) additions: Additions,
    id: u64,
    name: Name,
    /// Handles and live buffers of this listener.
    users: Users,
    pub(crate) domain: Domain<ListenerState>,
}

#[derive(Default)]
pub(crate) struct ListenerState {
    /// Buffers with messages, in the order they are served: a buffer joins
    /// the back when it gets a message while empty, and goes to the back
    /// again after one of its messages was taken if it has more. Holds the
    /// buffer's memory, not a reference: a collected buffer's messages are
    /// still delivered.
    pub ready: VecDeque<Arc<Buffer>>,
    /// Live buffers (with references) of this listener.
    pub buffers: usize,
    pub closed: bool,
    pub aborted: bool,
    /// The last reference is gone: nothing may join `ready` any more.
    pub gone: bool,
}

impl Registered for Listener {
    const CLASS: &'static str = "mtmsg.listener";
    fn name(&self) -> Option<&[u8]> {
        self.name.get()
    }
    fn users(&self) -> &Users {
        &self.users
    }
}

impl Listener {
    pub fn name(&self) -> Option<&[u8]> {
        self.name.get()
    }

    fn error(&self, kind: ErrorKind) -> Error {
        Error::new(kind, self.describe())
    }

    fn check_usable(&self, state: &ListenerState) -> Result<(), Error> {
        if is_aborted() || state.aborted {
            return Err(self.error(ErrorKind::OperationAborted));
        }
        if state.closed {
            return Err(self.error(ErrorKind::ObjectClosed));
        }
        Ok(())
    }

    /// Counts a new buffer of this listener (which is also a user of it).
    pub(crate) fn attach_buffer(&self) -> Result<(), Error> {
        let mut guard = self.domain.lock();
        self.check_usable(&guard.data)?;
        guard.data.buffers += 1;
        self.users.acquire();
        Ok(())
    }

    pub(crate) fn release_user(self: &Arc<Self>) {
        if self.users.release() {
            self.last_user_gone();
        }
    }

    /// Takes each ready buffer out of the queue and empties it, under the
    /// lock; the buffers are dropped by the caller after unlocking.
    fn empty_ready(guard: &mut LockGuard<'_, Shared<ListenerState>>, free: bool) -> VecDeque<Arc<Buffer>> {
        let ready = std::mem::take(&mut guard.data.ready);
        for buffer in &ready {
            // SAFETY: `guard` is this listener's lock, the buffers' home.
            let state = unsafe { buffer.state_under_listener_lock() };
            state.in_ready = false;
            if free {
                state.queue.free();
            } else {
                state.queue.clear();
            }
        }
        ready
    }

    fn take(self: &Arc<Self>, reader: &mut Reader, timeout: Option<Duration>, nonblock: bool) -> Result<Progress, Error> {
        let Some(mut guard) = self.domain.lock_or_try(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        let deadline = deadline(timeout);
        let mut timed_out = false;
        let mut budget = SpinBudget::default();
        loop {
            self.check_usable(&guard.data)?;
            if let Some(buffer) = guard.data.ready.pop_front() {
                // SAFETY: `guard` is this listener's lock, the buffer's home.
                let state = unsafe { buffer.state_under_listener_lock() };
                match reader.take_from(&mut state.queue, &|| buffer.describe()) {
                    Ok(taken) => debug_assert!(taken, "ready buffers hold messages"),
                    Err(e) => {
                        guard.data.ready.push_front(buffer);
                        // The message stays: pass the wake-up this taker
                        // may have used on to another one.
                        wake_takers(&self.domain.takers, &guard.waiters);
                        return Err(e);
                    }
                }
                let target = state.removed_notification();
                if state.queue.is_empty() {
                    state.in_ready = false;
                } else {
                    guard.data.ready.push_back(buffer);
                }
                wake_room(&self.domain.room, &guard.waiters);
                drop(guard);
                if let Some(target) = target {
                    target.notify();
                }
                return Ok(Progress::Done);
            }
            if guard.data.buffers == 0 {
                return Err(self.error(ErrorKind::NoBuffers));
            }
            if timed_out || nonblock || timeout == Some(Duration::ZERO) {
                return Ok(Progress::TimedOut);
            }
            if !budget.used_up() {
                let seen = self.additions.seen();
                drop(guard);
                self.additions.spin_for_change(seen, &mut budget, deadline);
                guard = self.domain.lock();
                continue;
            }
            guard.waiters.takers += 1;
            let (relocked, expired) = self.domain.takers.wait_until(guard, deadline);
            guard = relocked;
            guard.waiters.takers -= 1;
            timed_out = expired;
        }
    }

}

impl Object for Listener {
    /// The id, unique in the process.
    fn id(&self) -> u64 {
        self.id
    }

    /// `mtmsg.listener(name="…",id=…)`.
    fn describe(&self) -> String {
        describe(Self::CLASS, self.name(), Some(self.id))
    }

    /// Nobody can reach this listener any more: the messages of collected
    /// buffers it still holds can never be taken, and dropping them breaks
    /// the buffer → listener → buffer cycle.
    fn last_user_gone(self: &Arc<Self>) {
        registry::remove_listener(self.id);
        let orphans = {
            let mut guard = self.domain.lock();
            guard.data.gone = true;
            std::mem::take(&mut guard.data.ready)
        };
        drop(orphans);
    }

    fn clear(self: &Arc<Self>, nonblock: bool) -> Result<Progress, Error> {
        let Some(mut guard) = self.domain.lock_or_try(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        self.check_usable(&guard.data)?;
        let emptied = Self::empty_ready(&mut guard, false);
        wake_room(&self.domain.room, &guard.waiters);
        drop(guard);
        drop(emptied);
        Ok(Progress::Done)
    }

    /// Closes the listener and, with it, all its buffers.
    fn close(self: &Arc<Self>) {
        let emptied = {
            let mut guard = self.domain.lock();
            guard.data.closed = true;
            Self::empty_ready(&mut guard, true)
        };
        drop(emptied);
        self.domain.wake_all();
    }

    fn set_aborted(&self, flag: bool) {
        self.domain.lock().data.aborted = flag;
        if flag {
            self.domain.wake_all();
        }
    }

    fn is_aborted(&self) -> bool {
        self.domain.lock().data.aborted
    }
}

/// A reference to a listener.
pub type ListenerRef = Ref<Listener>;

impl Ref<Listener> {
    /// Creates a listener.
    pub fn new(name: Option<&[u8]>) -> Result<ListenerRef, Error> {
        registry::create_listener(|id| {
            Arc::new(Listener {
                additions: Additions::default(),
                id,
                name: Name::new(name),
                users: Users::one(),
                domain: Domain::new(ListenerState::default()),
            })
        })
        .map(ListenerRef::adopt)
    }

    pub fn find_id(id: u64) -> Result<ListenerRef, Error> {
        registry::find_listener_id(id)
    }

    pub fn find_name(name: &[u8]) -> Result<ListenerRef, Error> {
        registry::find_listener_name(name)
    }

    pub fn listener(&self) -> &Listener {
        self.object()
    }

    /// Creates a buffer served by this listener.
    pub fn new_buffer(&self, name: Option<&[u8]>, sizes: Sizes) -> Result<BufferRef, Error> {
        Buffer::create(name, sizes, Some(self))
    }

    /// Takes the next message of any of the listener's buffers.
    pub fn take(&self, reader: &mut Reader, timeout: Option<Duration>) -> Result<Progress, Error> {
        self.arc().take(reader, timeout, self.nonblock())
    }

}
