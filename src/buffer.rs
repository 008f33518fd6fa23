//! Buffers: a queue of messages, its lock domain, and the references that
//! keep it alive.

use std::cell::UnsafeCell;
use std::sync::Arc;
use std::time::Duration;

use crate::abort::{self, is_aborted};
use crate::error::{describe, Error, ErrorKind};
use crate::home::{deadline, wake_room, wake_takers, Additions, Domain, Shared, SpinBudget, Waiters};
use crate::sync::{LockGuard, Signal};
use crate::listener::{Listener, ListenerRef, ListenerState};
use crate::queue::{MessageQueue, Ready, Sizes, LINK_ABOVE};
use crate::reader::Reader;
use crate::reference::{Object, Ref};
use crate::registry::{self, Name, Registered, Users};
use crate::value::{AsValue, Body, Encoded, Values};
use crate::Progress;

/// A message buffer: process-wide, found by id or name, shared by every
/// thread that holds a [`BufferRef`] to it.
///
/// The field order is fixed (`repr(C)`) to keep `additions`, which waiting
/// threads spin on, a cache line away from the lock and the queue state
/// at the end, which producer and consumer write.
#[repr(C)]
pub struct Buffer {
    /// The additions of a standalone buffer (a listener's buffers use the
    /// listener's).
    additions: Additions,
    id: u64,
    name: Name,
    /// References held by users (handles, Lua objects, notifier links).
    /// At zero the buffer leaves the registry; its memory may live on a
    /// little while a listener still delivers its messages.
    users: Users,
    /// Guarded by the home's lock: touched only through [`Locked`].
    state: UnsafeCell<BufferState>,
    home: Home,
}

// SAFETY: `state` is only reached through `Locked`, which holds the lock of
// the buffer's home; everything else is immutable or atomic.
unsafe impl Sync for Buffer {}
unsafe impl Send for Buffer {}

enum Home {
    Own(Domain<()>),
    Listener(Arc<Listener>),
}

pub(crate) struct BufferState {
    pub queue: MessageQueue,
    pub closed: bool,
    pub aborted: bool,
    /// Whether the buffer is in its listener's queue of buffers with
    /// messages (always equal to "has messages" for listener buffers).
    pub in_ready: bool,
    /// No longer counted among its listener's live buffers.
    retired: bool,
    /// Rare, so kept out of line: an empty buffer stays small.
    notifiers: Option<Box<Notifiers>>,
}

impl BufferState {
    fn new(sizes: Sizes) -> BufferState {
        BufferState {
            queue: MessageQueue::new(sizes),
            closed: false,
            aborted: false,
            in_ready: false,
            retired: false,
            notifiers: None,
        }
    }

    /// The buffer to notify after a message was taken, if any.
    pub(crate) fn removed_notification(&self) -> Option<Arc<Buffer>> {
        let notifiers = self.notifiers.as_deref()?;
        notify_target(&notifiers.removed, self.queue.count(), NotifyKind::Removed)
    }
}

/// A notifier link. It holds the target's memory but is not a reference:
/// it does not keep the target alive, so buffers notifying each other are
/// still freed when their users drop them.
struct Notifier {
    target: Arc<Buffer>,
    threshold: Option<i64>,
}

/// The notifiers of a buffer, one per kind.
#[derive(Default)]
pub(crate) struct Notifiers {
    added: Option<Notifier>,
    removed: Option<Notifier>,
}

/// Which change of a buffer a notifier reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyKind {
    /// `">"`: a message was added (while the count is above the threshold).
    Added,
    /// `"<"`: a message was taken (while the count is below the threshold).
    Removed,
}

enum HomeGuard<'a> {
    Own(LockGuard<'a, Shared<()>>),
    Listener(LockGuard<'a, Shared<ListenerState>>),
}

/// A buffer with its home's lock held.
pub(crate) struct Locked<'a> {
    buffer: &'a Buffer,
    guard: HomeGuard<'a>,
}

impl<'a> Locked<'a> {
    /// The buffer's state, its domain's waiter counts and, for a listener
    /// buffer, the listener's state.
    pub fn parts(&mut self) -> (&mut BufferState, &mut Waiters, Option<&mut ListenerState>) {
        // SAFETY: the home lock is held for as long as `self` lives, and
        // `&mut self` makes this the only access.
        let state = unsafe { &mut *self.buffer.state.get() };
        match &mut self.guard {
            HomeGuard::Own(g) => (state, &mut g.waiters, None),
            HomeGuard::Listener(g) => {
                let shared = &mut **g;
                (state, &mut shared.waiters, Some(&mut shared.data))
            }
        }
    }

    fn condvars(&self) -> (&'a Signal, &'a Signal) {
        match &self.buffer.home {
            Home::Own(d) => (&d.takers, &d.room),
            Home::Listener(l) => (&l.domain.takers, &l.domain.room),
        }
    }

    fn wait(self, signal: &Signal, deadline: Option<std::time::Instant>) -> (Locked<'a>, bool) {
        let buffer = self.buffer;
        match self.guard {
            HomeGuard::Own(g) => {
                let (g, timed_out) = signal.wait_until(g, deadline);
                (Locked { buffer, guard: HomeGuard::Own(g) }, timed_out)
            }
            HomeGuard::Listener(g) => {
                let (g, timed_out) = signal.wait_until(g, deadline);
                (Locked { buffer, guard: HomeGuard::Listener(g) }, timed_out)
            }
        }
    }

    /// The buffer is closed or has no references left: it stops counting
    /// as one of its listener's buffers (a listener whose last buffer goes
    /// raises `no_buffers` to its waiting threads) and hands back its
    /// notifier links, for the caller to drop after unlocking (dropping a
    /// link may free another buffer).
    fn retire(&mut self) -> Option<Box<Notifiers>> {
        let (state, waiters, listener) = self.parts();
        let links = state.notifiers.take();
        if let Some(listener) = listener {
            if !std::mem::replace(&mut state.retired, true) {
                listener.buffers -= 1;
                if listener.buffers == 0 && waiters.takers > 0 {
                    self.condvars().0.notify_all();
                }
            }
        }
        links
    }

    /// `object_closed` or `operation_aborted` when the buffer can't be used.
    fn check_usable(&mut self) -> Result<(), Error> {
        let buffer = self.buffer;
        let (state, _, listener) = self.parts();
        // A listener nobody can reach any more counts as closed: only a
        // notifier can still try to add to one of its buffers.
        let (listener_closed, listener_aborted) = listener.map_or((false, false), |l| (l.closed || l.gone, l.aborted));
        if is_aborted() || state.aborted || listener_aborted {
            return Err(buffer.error(ErrorKind::OperationAborted));
        }
        if state.closed || listener_closed {
            return Err(buffer.error(ErrorKind::ObjectClosed));
        }
        Ok(())
    }
}

/// What a push does with the messages already queued.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushMode {
    Add,
    Replace,
}

impl Buffer {
    pub(crate) fn create(name: Option<&[u8]>, sizes: Sizes, listener: Option<&ListenerRef>) -> Result<BufferRef, Error> {
        registry::create_buffer(|id| {
            let home = match listener {
                Some(l) => {
                    l.listener().attach_buffer()?;
                    Home::Listener(l.arc().clone())
                }
                None => Home::Own(Domain::new(())),
            };
            Ok(Arc::new(Buffer {
                additions: Additions::default(),
                id,
                name: Name::new(name),
                users: Users::one(),
                home,
                state: UnsafeCell::new(BufferState::new(sizes)),
            }))
        })
        .map(BufferRef::adopt)
    }

    pub fn name(&self) -> Option<&[u8]> {
        self.name.get()
    }

    pub fn sizes(&self) -> Sizes {
        self.lock(false).expect("blocking lock").parts().0.queue.sizes()
    }

    pub(crate) fn error(&self, kind: ErrorKind) -> Error {
        Error::new(kind, self.describe())
    }

    pub(crate) fn listener(&self) -> Option<&Arc<Listener>> {
        match &self.home {
            Home::Listener(l) => Some(l),
            Home::Own(_) => None,
        }
    }

    fn lock(&self, nonblock: bool) -> Option<Locked<'_>> {
        let guard = match &self.home {
            Home::Own(d) => HomeGuard::Own(d.lock_or_try(nonblock)?),
            Home::Listener(l) => HomeGuard::Listener(l.domain.lock_or_try(nonblock)?),
        };
        Some(Locked { buffer: self, guard })
    }

    /// Locks the state of a buffer whose home lock the caller holds.
    ///
    /// # Safety
    /// The caller must hold the lock of this buffer's listener and keep
    /// the returned borrow within that guard's lifetime.
    pub(crate) unsafe fn state_under_listener_lock(&self) -> &mut BufferState {
        &mut *self.state.get()
    }

    /// The addition count of this buffer's domain.
    fn additions(&self) -> &Additions {
        match &self.home {
            Home::Own(_) => &self.additions,
            Home::Listener(l) => &l.additions,
        }
    }

    /// Wakes every thread waiting in this buffer's domain.
    pub(crate) fn wake_all(&self) {
        match &self.home {
            Home::Own(d) => d.wake_all(),
            Home::Listener(l) => l.domain.wake_all(),
        }
    }

    /// Adds (or, with `Replace`, sets) one message of `size` written by
    /// `write_body`. `wait`: `None` returns `WouldBlock` when a fixed buffer
    /// is full; `Some(timeout)` waits for room.
    pub(crate) fn push(
        self: &Arc<Self>,
        body: &dyn Body,
        mode: PushMode,
        nonblock: bool,
        wait: Option<Option<Duration>>,
        notify: bool,
    ) -> Result<Progress, Error> {
        let size = body.size();
        if size.bytes >= LINK_ABOVE {
            // Refuse before spending an allocation and a copy on it.
            self.sizes().check_message(size.message_bytes(), &|| self.describe())?;
        }
        let message = Ready::new(body)?;
        let Some(mut locked) = self.lock(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        locked.parts().0.queue.sizes().check_message(size.message_bytes(), &|| self.describe())?;
        let deadline = wait.map(deadline);
        loop {
            locked.check_usable()?;
            let bytes = size.message_bytes();
            let (state, waiters, _) = locked.parts();
            if mode == PushMode::Replace || state.queue.has_room(bytes) {
                break;
            }
            let Some(deadline) = deadline else {
                return Ok(Progress::WouldBlock);
            };
            waiters.room += 1;
            let (_, room) = locked.condvars();
            let (relocked, timed_out) = locked.wait(room, deadline);
            locked = relocked;
            locked.parts().1.room -= 1;
            if timed_out {
                locked.check_usable()?;
                if !locked.parts().0.queue.has_room(bytes) {
                    return Ok(Progress::TimedOut);
                }
            }
        }
        let (takers, room) = locked.condvars();
        let (state, waiters, listener) = locked.parts();
        if mode == PushMode::Replace {
            state.queue.clear();
            wake_room(room, waiters);
        }
        let pushed = state.queue.push(message);
        if !matches!(pushed, Ok(true)) {
            // A replace that failed has still emptied the buffer, which
            // must then leave its listener's queue of buffers with messages.
            if state.queue.is_empty() {
                drop_from_listener(self, state, listener);
            }
            return pushed.map(|_| Progress::WouldBlock);
        }
        if let Some(listener) = listener {
            if !state.in_ready {
                state.in_ready = true;
                listener.ready.push_back(self.clone());
            }
        }
        wake_takers(takers, waiters);
        let target = match (&state.notifiers, notify) {
            (Some(notifiers), true) => notify_target(&notifiers.added, state.queue.count(), NotifyKind::Added),
            _ => None,
        };
        drop(locked);
        self.additions().note();
        if let Some(target) = target {
            target.notify();
        }
        Ok(Progress::Done)
    }

    /// Adds an empty message on behalf of a notifier; a full, closed or
    /// aborted target, or one without references, simply misses the
    /// notification. The target's own notifiers do not fire, so notifier
    /// cycles cannot loop.
    pub(crate) fn notify(self: &Arc<Self>) {
        if self.users.none() {
            // Nobody can take from it any more: notifications would only
            // pile up until the link goes.
            return;
        }
        let empty = Encoded { bytes: &[], count: 0 };
        let _ = self.push(&empty, PushMode::Add, false, None, false);
    }

    /// Takes the oldest message into `reader`.
    pub(crate) fn take(self: &Arc<Self>, reader: &mut Reader, timeout: Option<Duration>, nonblock: bool) -> Result<Progress, Error> {
        let Some(mut locked) = self.lock(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        let deadline = deadline(timeout);
        let mut timed_out = false;
        let mut budget = SpinBudget::default();
        loop {
            locked.check_usable()?;
            let (takers, room) = locked.condvars();
            let (state, waiters, listener) = locked.parts();
            let taken = reader.take_from(&mut state.queue, &|| self.describe()).inspect_err(|_| {
                // This taker leaves the message queued: the wake-up it may
                // have used goes to another one, who may take it.
                wake_takers(takers, waiters);
            })?;
            if taken {
                wake_room(room, waiters);
                if let Some(listener) = listener {
                    if state.queue.is_empty() {
                        state.in_ready = false;
                        listener.ready.retain(|b| !Arc::ptr_eq(b, self));
                    }
                }
                let notify = state.removed_notification();
                drop(locked);
                if let Some(target) = notify {
                    target.notify();
                }
                return Ok(Progress::Done);
            }
            if timed_out || nonblock || timeout == Some(Duration::ZERO) {
                return Ok(Progress::TimedOut);
            }
            if !budget.used_up() {
                let seen = self.additions().seen();
                drop(locked);
                self.additions().spin_for_change(seen, &mut budget, deadline);
                locked = self.lock(false).expect("blocking lock");
                continue;
            }
            let in_listener = listener.is_some();
            waiters.takers += 1;
            waiters.buffer_takers += in_listener as u32;
            let (relocked, expired) = locked.wait(takers, deadline);
            locked = relocked;
            let waiters = locked.parts().1;
            waiters.takers -= 1;
            waiters.buffer_takers -= in_listener as u32;
            timed_out = expired;
        }
    }

    pub(crate) fn count(&self) -> Result<usize, Error> {
        let mut locked = self.lock(false).expect("blocking lock");
        locked.check_usable()?;
        Ok(locked.parts().0.queue.count())
    }

    pub(crate) fn set_notifier(&self, kind: NotifyKind, target: Option<Arc<Buffer>>, threshold: Option<i64>) -> Result<(), Error> {
        let old;
        {
            let mut locked = self.lock(false).expect("blocking lock");
            locked.check_usable()?;
            let (state, _, _) = locked.parts();
            let notifiers = state.notifiers.get_or_insert_with(Box::default);
            let slot = match kind {
                NotifyKind::Added => &mut notifiers.added,
                NotifyKind::Removed => &mut notifiers.removed,
            };
            match target {
                None => old = slot.take(),
                Some(target) => {
                    if slot.is_some() {
                        drop(locked);
                        drop(target);
                        return Err(self.error(ErrorKind::HasNotifier));
                    }
                    *slot = Some(Notifier { target, threshold });
                    old = None;
                }
            }
            if notifiers.added.is_none() && notifiers.removed.is_none() {
                state.notifiers = None;
            }
        }
        drop(old);
        Ok(())
    }
}

impl Registered for Buffer {
    const CLASS: &'static str = "mtmsg.buffer";
    fn name(&self) -> Option<&[u8]> {
        self.name.get()
    }
    fn users(&self) -> &Users {
        &self.users
    }
}

/// A listener buffer that lost its messages leaves the listener's queue.
fn drop_from_listener(buffer: &Arc<Buffer>, state: &mut BufferState, listener: Option<&mut ListenerState>) {
    if let Some(listener) = listener {
        if state.in_ready {
            state.in_ready = false;
            listener.ready.retain(|b| !Arc::ptr_eq(b, buffer));
        }
    }
}

fn notify_target(notifier: &Option<Notifier>, count: usize, kind: NotifyKind) -> Option<Arc<Buffer>> {
    let notifier = notifier.as_ref()?;
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    let wanted = match (kind, notifier.threshold) {
        (_, None) => true,
        (NotifyKind::Added, Some(t)) => count > t,
        (NotifyKind::Removed, Some(t)) => count < t,
    };
    wanted.then(|| notifier.target.clone())
}

impl Object for Buffer {
    /// The id, unique in the process.
    fn id(&self) -> u64 {
        self.id
    }

    /// `mtmsg.buffer(name="…",id=…)`.
    fn describe(&self) -> String {
        describe(Self::CLASS, self.name(), Some(self.id))
    }

    /// The last reference is gone: leave the registry and retire. The
    /// listener reference goes last, as it may free the listener.
    fn last_user_gone(self: &Arc<Self>) {
        registry::remove_buffer(self.id);
        let links = self.lock(false).expect("blocking lock").retire();
        drop(links);
        if let Some(listener) = self.listener() {
            listener.release_user();
        }
    }

    fn clear(self: &Arc<Self>, nonblock: bool) -> Result<Progress, Error> {
        let Some(mut locked) = self.lock(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        locked.check_usable()?;
        let (_, room) = locked.condvars();
        let (state, waiters, listener) = locked.parts();
        state.queue.clear();
        drop_from_listener(self, state, listener);
        wake_room(room, waiters);
        Ok(Progress::Done)
    }

    /// Frees the messages and makes every later operation fail with
    /// `object_closed`; waiting threads wake with that error.
    fn close(self: &Arc<Self>) {
        let links = {
            let mut locked = self.lock(false).expect("blocking lock");
            let (state, _, listener) = locked.parts();
            state.closed = true;
            state.queue.free();
            drop_from_listener(self, state, listener);
            locked.retire()
        };
        drop(links);
        self.wake_all();
    }

    fn set_aborted(&self, flag: bool) {
        {
            let mut locked = self.lock(false).expect("blocking lock");
            locked.parts().0.aborted = flag;
        }
        if flag {
            self.wake_all();
        }
    }

    fn is_aborted(&self) -> bool {
        let mut locked = self.lock(false).expect("blocking lock");
        locked.parts().0.aborted
    }
}

/// A reference to a buffer.
pub type BufferRef = Ref<Buffer>;

impl Ref<Buffer> {
    /// Creates a standalone buffer.
    pub fn new(name: Option<&[u8]>, sizes: Sizes) -> Result<BufferRef, Error> {
        Buffer::create(name, sizes, None)
    }

    /// Finds a buffer by id (`unknown_object` when there is none).
    pub fn find_id(id: u64) -> Result<BufferRef, Error> {
        registry::find_buffer_id(id)
    }

    /// Finds a buffer by name (`unknown_object`, `ambiguous_name`).
    pub fn find_name(name: &[u8]) -> Result<BufferRef, Error> {
        registry::find_buffer_name(name)
    }

    pub fn buffer(&self) -> &Buffer {
        self.object()
    }

    /// Adds one message; `Done`, or `WouldBlock` when it can't be added now.
    pub fn add<T: AsValue>(&self, values: &[T]) -> Result<Progress, Error> {
        self.push_values(values, PushMode::Add, None)
    }

    /// Replaces every queued message by this one.
    pub fn set<T: AsValue>(&self, values: &[T]) -> Result<Progress, Error> {
        self.push_values(values, PushMode::Replace, None)
    }

    /// Adds one message, waiting up to `timeout` (`None`: for ever) for room
    /// in a full fixed-size buffer: `Done` or `TimedOut`.
    pub fn add_wait<T: AsValue>(&self, values: &[T], timeout: Option<Duration>) -> Result<Progress, Error> {
        self.push_values(values, PushMode::Add, Some(timeout))
    }

    fn push_values<T: AsValue>(&self, values: &[T], mode: PushMode, wait: Option<Option<Duration>>) -> Result<Progress, Error> {
        self.arc().push(&Values::new(values)?, mode, self.nonblock(), wait, true)
    }

    pub(crate) fn push_body(&self, body: &Encoded<'_>, mode: PushMode) -> Result<Progress, Error> {
        self.arc().push(body, mode, self.nonblock(), None, true)
    }

    /// Takes the oldest message into `reader`: `Done`, `TimedOut` (nothing
    /// within `timeout`; `None` waits for ever, zero polls) or `WouldBlock`.
    pub fn take(&self, reader: &mut Reader, timeout: Option<Duration>) -> Result<Progress, Error> {
        self.arc().take(reader, timeout, self.nonblock())
    }

    pub fn count(&self) -> Result<usize, Error> {
        self.object().count()
    }

    /// Connects (`Some`) or disconnects (`None`) a notifier of `kind`.
    pub fn set_notifier(&self, kind: NotifyKind, target: Option<&BufferRef>, threshold: Option<i64>) -> Result<(), Error> {
        if abort::is_aborted() {
            return Err(self.object().error(ErrorKind::OperationAborted));
        }
        self.object().set_notifier(kind, target.map(|t| t.arc().clone()), threshold)
    }
}
