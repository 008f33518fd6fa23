//! Listeners: one wait for many buffers, served round robin.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::abort::is_aborted;
use crate::buffer::{Buffer, BufferRef};
use crate::error::{describe, Error, ErrorKind};
use crate::home::{deadline, Additions, Domain, SpinBudget};
use crate::bias::BiasedGuard;
use crate::sync::{CacheLine, Signal};
use crate::sizes::Sizes;
use crate::reader::Reader;
use crate::reference::{Object, Ref};
use crate::registry::{self, Name, Registered, Users};
use crate::Progress;

/// A listener: the lock domain of its buffers and the queue of those of
/// them that hold messages.
pub struct Listener {
    /// Buffers that became ready: what its spinning takers watch, on a
    /// cache line of its own.
    pub(crate) additions: CacheLine<Additions>,
    id: u64,
    name: Name,
    /// Handles and live buffers of this listener.
    users: Users,
    /// Written under the lock; read without it by producers, which add to
    /// a listener's buffers without taking it. Sequentially consistent: a
    /// producer waiting for room counts itself a sleeper and then looks at
    /// them; `close` and `abort` set them and then wake the sleepers.
    closed: AtomicBool,
    aborted: AtomicBool,
    /// The last reference is gone: nothing may join `ready` any more.
    gone: AtomicBool,
    /// Where threads in `nextmsg` of one of the buffers sleep: a new
    /// message wakes them all, for the right one to see it, while the
    /// listener's own takers (on `domain.takers`) are woken one at a time.
    /// Two signals, so that each wake-up goes by its own sleeper count.
    pub(crate) buffer_takers: Signal,
    pub(crate) domain: Domain<ListenerState>,
}

#[derive(Default)]
pub(crate) struct ListenerState {
    /// Buffers with messages, in the order they are served: a buffer joins
    /// the back when it gets a message while empty, and goes to the back
    /// again after one of its messages was taken if it has more. Holds the
    /// buffer's memory, not a reference: a collected buffer's messages are
    /// still delivered. A buffer is in it exactly when its `in_ready` flag
    /// is set (both change under the lock only), until the listener is
    /// gone.
    pub ready: VecDeque<Arc<Buffer>>,
    /// Live buffers (with references) of this listener.
    pub buffers: usize,
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

    #[inline]
    fn check_usable(&self) -> Result<(), Error> {
        if is_aborted() || self.is_aborted() {
            return Err(self.error(ErrorKind::OperationAborted));
        }
        if self.closed.load(Ordering::SeqCst) {
            return Err(self.error(ErrorKind::ObjectClosed));
        }
        Ok(())
    }

    /// Closed, or with nobody left to reach it: its buffers take no more
    /// messages.
    pub(crate) fn is_shut(&self) -> bool {
        self.closed.load(Ordering::SeqCst) || self.gone.load(Ordering::SeqCst)
    }

    /// Counts a new buffer of this listener (which is also a user of it).
    pub(crate) fn attach_buffer(&self) -> Result<(), Error> {
        let mut guard = self.domain.lock();
        self.check_usable()?;
        guard.buffers += 1;
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
    fn empty_ready(guard: &mut BiasedGuard<'_, ListenerState>, free: bool) -> VecDeque<Arc<Buffer>> {
        let ready = std::mem::take(&mut guard.ready);
        for buffer in &ready {
            buffer.empty_for_listener(free, guard);
        }
        ready
    }

    /// A producer added to `buffer`, which was not in the queue of ready
    /// buffers when it looked: puts it there, unless a taker did or took
    /// the message.
    pub(crate) fn enqueue(&self, buffer: &Arc<Buffer>) {
        let mut guard = self.domain.lock();
        if self.is_shut() {
            // Closed meanwhile: its messages go as if added before.
            buffer.empty_for_listener(true, &mut guard);
            return;
        }
        buffer.join_ready(&mut guard);
    }

    /// Wakes takers after a message was added: one of the listener's, and
    /// those of single buffers, each of which looks at its own.
    pub(crate) fn wake_takers(&self) {
        self.domain.takers.notify_one();
        self.buffer_takers.notify_all();
    }

    /// Producers of fixed-size buffers waiting for room may wait for
    /// messages of different sizes, so all of them look.
    #[inline]
    fn wake_room(&self) {
        self.domain.room.notify_all();
    }

    /// Wakes every waiting thread so it sees a close or an abort. The lock
    /// is taken and let go first, for the takers that looked at the flags
    /// under it; producers waiting for room look at them after counting
    /// themselves sleepers.
    pub(crate) fn wake_all(&self) {
        drop(self.domain.lock());
        self.domain.takers.notify_all();
        self.buffer_takers.notify_all();
        self.domain.room.notify_all();
    }

    fn take(self: &Arc<Self>, reader: &mut Reader, timeout: Option<Duration>, nonblock: bool) -> Result<Progress, Error> {
        let Some(mut guard) = self.domain.lock_or_try(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        let deadline = deadline(timeout);
        let mut timed_out = false;
        let mut budget = SpinBudget::default();
        loop {
            self.check_usable()?;
            if let Some(buffer) = guard.ready.pop_front() {
                let (more, target) = match buffer.take_for_listener(reader, &mut guard) {
                    Ok(taken) => taken,
                    Err(e) => {
                        guard.ready.push_front(buffer);
                        // The message stays: pass the wake-up this taker
                        // may have used on to another one.
                        drop(guard);
                        self.wake_takers();
                        return Err(e);
                    }
                };
                if more {
                    guard.ready.push_back(buffer);
                }
                drop(guard);
                self.wake_room();
                if let Some(target) = target {
                    target.notify();
                }
                return Ok(Progress::Done);
            }
            if guard.buffers == 0 {
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
            // Buffers join the ready ones under the lock, so this thread,
            // counted as a sleeper before it lets go, cannot miss the
            // wake-up that follows.
            let ticket = self.domain.takers.prepare();
            drop(guard);
            timed_out = ticket.sleep(deadline);
            guard = self.domain.lock();
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
            self.gone.store(true, Ordering::SeqCst);
            std::mem::take(&mut guard.ready)
        };
        drop(orphans);
    }

    fn clear(self: &Arc<Self>, nonblock: bool) -> Result<Progress, Error> {
        let Some(mut guard) = self.domain.lock_or_try(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        self.check_usable()?;
        let emptied = Self::empty_ready(&mut guard, false);
        drop(guard);
        drop(emptied);
        self.wake_room();
        Ok(Progress::Done)
    }

    /// Closes the listener and, with it, all its buffers.
    fn close(self: &Arc<Self>) {
        let emptied = {
            let mut guard = self.domain.lock();
            self.closed.store(true, Ordering::SeqCst);
            Self::empty_ready(&mut guard, true)
        };
        drop(emptied);
        self.wake_all();
    }

    fn set_aborted(&self, flag: bool) {
        {
            let _guard = self.domain.lock();
            self.aborted.store(flag, Ordering::SeqCst);
        }
        if flag {
            self.wake_all();
        }
    }

    fn is_aborted(&self) -> bool {
        self.aborted.load(Ordering::SeqCst)
    }
}

/// A reference to a listener.
pub type ListenerRef = Ref<Listener>;

impl Ref<Listener> {
    /// Creates a listener.
    pub fn new(name: Option<&[u8]>) -> Result<ListenerRef, Error> {
        registry::create_listener(|id| {
            Arc::new(Listener {
                additions: CacheLine(Additions::default()),
                id,
                name: Name::new(name),
                users: Users::one(),
                closed: AtomicBool::new(false),
                aborted: AtomicBool::new(false),
                gone: AtomicBool::new(false),
                buffer_takers: Signal::new(),
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
