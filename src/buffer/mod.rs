//! Buffers: a queue of messages, the locks around it, and the references
//! that keep it alive. Adding is in `push.rs`, taking in `take.rs`, the
//! locks an operation holds in `held.rs`, notifiers in `notifier.rs`.

mod held;
mod notifier;
mod push;
mod readiness;
mod take;

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::abort::is_aborted;
use crate::error::{describe, Error, ErrorKind};
use crate::listener::ready::ReadyFlag;
use crate::listener::{Listener, ListenerRef};
use crate::primitive::atomic::{AtomicBool, Ordering};
use crate::primitive::{lazy_static, UnsafeCell};
use crate::queue::{self, MessageQueue};
use crate::reader::Reader;
use crate::reference::{Name, Object, Ref, Users};
use crate::registry::Registry;
use crate::sizes::Sizes;
use crate::sync::readiness::LazyReadiness;
use crate::value::{AsValue, Encoded, Values};
use crate::wait::Wait;
use crate::Progress;

use held::Both;
use notifier::Notifiers;

pub use notifier::NotifyKind;
pub(crate) use push::PushMode;

lazy_static! {
    /// Every buffer with references.
    pub(crate) static BUFFERS: Registry<Buffer> = Registry::new();
}

/// A message buffer: process-wide, found by id or name, shared by every
/// thread that holds a [`BufferRef`] to it.
///
/// Everything a producer and a consumer both read for every message is
/// here and rarely written; what each of them writes is in the queue's
/// core, on cache lines of its own (see `queue/mod.rs`).
pub struct Buffer {
    id: u64,
    name: Name,
    /// References held by users (handles, Lua objects). At zero the buffer
    /// leaves the registry; its memory may live on a little while a
    /// listener still delivers its messages or a notifier links to it.
    users: Users,
    /// The listener serving this buffer, whose lock is taken before the
    /// queue's.
    listener: Option<Arc<Listener>>,
    /// Written with both ends of the queue locked; read with either (or,
    /// as a snapshot, with none).
    closed: AtomicBool,
    aborted: AtomicBool,
    /// No longer counted among its listener's live buffers.
    retired: AtomicBool,
    /// Whether the buffer is in its listener's ready queue (`listener/ready.rs`).
    ready: ReadyFlag,
    /// Rare, so kept out of line. Written with both ends of the queue
    /// locked, read with either.
    notifiers: UnsafeCell<Option<Box<Notifiers>>>,
    /// The descriptor event loops wait on, if one was asked for
    /// (`readiness.rs`).
    readiness: LazyReadiness,
    queue: MessageQueue,
}

// SAFETY: `notifiers` is written only with both ends of the queue locked
// and read only with one of them locked (see `held.rs`); everything else is
// immutable, atomic or locked.
unsafe impl Sync for Buffer {}
// SAFETY: as above.
unsafe impl Send for Buffer {}

impl Buffer {
    pub(crate) fn create(name: Option<&[u8]>, sizes: Sizes, listener: Option<&ListenerRef>) -> Result<BufferRef, Error> {
        BUFFERS
            .create(|id| {
                if let Some(l) = listener {
                    l.listener().attach_buffer()?;
                }
                Ok(Arc::new(Buffer {
                    id,
                    name: Name::new(name),
                    users: Users::one(),
                    listener: listener.map(|l| l.arc().clone()),
                    closed: AtomicBool::new(false),
                    aborted: AtomicBool::new(false),
                    retired: AtomicBool::new(false),
                    ready: ReadyFlag::new(),
                    notifiers: UnsafeCell::new(None),
                    readiness: LazyReadiness::new(),
                    queue: MessageQueue::new(sizes),
                }))
            })
            .map(BufferRef::adopt)
    }

    #[inline]
    pub fn sizes(&self) -> Sizes {
        self.queue.sizes()
    }

    pub(crate) fn error(&self, kind: ErrorKind) -> Error {
        Error::new(kind, self.describe())
    }

    pub(crate) fn listener(&self) -> Option<&Arc<Listener>> {
        self.listener.as_ref()
    }

    pub(crate) fn ready_flag(&self) -> &ReadyFlag {
        &self.ready
    }

    /// `operation_aborted` or `object_closed` when the buffer can't be used.
    #[inline]
    fn check_usable(&self) -> Result<(), Error> {
        let listener_aborted = self.listener.as_ref().is_some_and(|l| l.is_aborted());
        if is_aborted() || self.aborted.load(Ordering::SeqCst) || listener_aborted {
            return Err(self.error(ErrorKind::OperationAborted));
        }
        self.check_open()
    }

    /// Messages queued now.
    pub(crate) fn queued(&self) -> usize {
        self.queue.get().map_or(0, |core| core.count())
    }

    /// Wakes every thread waiting on this buffer, so it sees a close or an
    /// abort. The locks are taken and let go first: a thread that looked
    /// for a close or an abort under them before it was made is by then
    /// counted as a sleeper.
    pub(crate) fn wake_all(&self) {
        drop(self.hold_blocking::<Both>());
        let core = self.queue.core();
        core.takers.notify_all();
        core.room.notify_all();
        self.update_readiness();
    }

    /// After messages were removed: producers waiting for room (only a
    /// fixed plan makes them wait) may wait for messages of different
    /// sizes, so all of them look.
    #[inline]
    pub(crate) fn wake_room(&self) {
        if let Some(core) = self.queue.get() {
            if core.sizes().is_fixed() {
                core.room.notify_all();
            }
        }
    }

    /// The messages queued: a snapshot, taken without locks.
    pub(crate) fn count(&self) -> Result<usize, Error> {
        self.check_usable()?;
        Ok(self.queued())
    }
}

impl Object for Buffer {
    const CLASS: &'static str = "mtmsg.buffer";

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

    /// `mtmsg.buffer(name="…",id=…)`.
    fn describe(&self) -> String {
        describe(Self::CLASS, self.name(), Some(self.id))
    }

    /// The last reference is gone: leave the registry and retire. The
    /// listener reference goes last, as it may free the listener.
    fn last_user_gone(self: &Arc<Self>) {
        BUFFERS.remove(self.id);
        let links = self.hold_blocking::<Both>().retire();
        drop(links);
        if let Some(listener) = self.listener() {
            listener.release_user();
        }
    }

    /// A buffer of a closed listener is closed too.
    fn check_open(&self) -> Result<(), Error> {
        let listener_shut = self.listener.as_ref().is_some_and(|l| l.is_shut());
        if self.closed.load(Ordering::SeqCst) || listener_shut {
            return Err(self.error(ErrorKind::ObjectClosed));
        }
        Ok(())
    }

    fn clear(self: &Arc<Self>, nonblock: bool) -> Result<Progress, Error> {
        let Some(mut held) = self.hold::<Both>(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        self.check_usable()?;
        held.ends.drain.clear();
        held.leave_ready_if_empty(self);
        drop(held);
        self.wake_room();
        self.update_readiness();
        Ok(Progress::Done)
    }

    /// Frees the messages and makes every later operation fail with
    /// `object_closed`; waiting threads wake with that error. A second
    /// close does nothing.
    fn close(self: &Arc<Self>) {
        let links = {
            let mut held = self.hold_blocking::<Both>();
            if self.closed.swap(true, Ordering::SeqCst) {
                return;
            }
            queue::free(&mut held.ends.feed, &mut held.ends.drain);
            held.leave_ready_if_empty(self);
            held.retire()
        };
        drop(links);
        self.wake_all();
    }

    fn set_aborted(&self, flag: bool) {
        {
            let _held = self.hold_blocking::<Both>();
            self.aborted.store(flag, Ordering::SeqCst);
        }
        if flag {
            self.wake_all();
        } else {
            self.update_readiness();
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

/// A reference to a buffer.
pub type BufferRef = Ref<Buffer>;

impl Ref<Buffer> {
    /// Creates a standalone buffer.
    pub fn new(name: Option<&[u8]>, sizes: Sizes) -> Result<BufferRef, Error> {
        Buffer::create(name, sizes, None)
    }

    /// Finds a buffer by id (`unknown_object` when there is none).
    pub fn find_id(id: u64) -> Result<BufferRef, Error> {
        BUFFERS.find_id(id).map(BufferRef::adopt)
    }

    /// Finds a buffer by name (`unknown_object`, `ambiguous_name`).
    pub fn find_name(name: &[u8]) -> Result<BufferRef, Error> {
        BUFFERS.find_name(name).map(BufferRef::adopt)
    }

    pub fn buffer(&self) -> &Buffer {
        self.object()
    }

    /// Adds one message; `Done`, or `WouldBlock` when it can't be added now.
    pub fn add<T: AsValue>(&self, values: &[T]) -> Result<Progress, Error> {
        self.push_values(values, PushMode::Add, Wait::Poll)
    }

    /// Replaces every queued message by this one.
    pub fn set<T: AsValue>(&self, values: &[T]) -> Result<Progress, Error> {
        self.push_values(values, PushMode::Replace, Wait::Poll)
    }

    /// Adds one message, waiting up to `timeout` (`None`: for ever) for room
    /// in a full fixed-size buffer: `Done` or `TimedOut`.
    pub fn add_wait<T: AsValue>(&self, values: &[T], timeout: Option<Duration>) -> Result<Progress, Error> {
        let room = match timeout {
            // Waiting no time at all for room that is not there is a
            // timeout, not a refusal.
            Some(t) if t.is_zero() => Wait::Until(Instant::now()),
            timeout => Wait::from_timeout(timeout),
        };
        self.push_values(values, PushMode::Add, room)
    }

    fn push_values<T: AsValue>(&self, values: &[T], mode: PushMode, room: Wait) -> Result<Progress, Error> {
        self.arc().push(&Values::new(values)?, mode, self.nonblock(), room, true)
    }

    pub(crate) fn push_body(&self, body: &Encoded<'_>, mode: PushMode) -> Result<Progress, Error> {
        self.arc().push(body, mode, self.nonblock(), Wait::Poll, true)
    }

    /// Takes the oldest message into `reader`: `Done`, `TimedOut` (nothing
    /// within `timeout`; `None` waits for ever, zero polls) or `WouldBlock`.
    pub fn take(&self, reader: &mut Reader, timeout: Option<Duration>) -> Result<Progress, Error> {
        self.arc().take(reader, Wait::from_timeout(timeout), self.nonblock())
    }

    pub fn count(&self) -> Result<usize, Error> {
        self.object().count()
    }

    /// Connects (`Some`) or disconnects (`None`) a notifier of `kind`.
    pub fn set_notifier(&self, kind: NotifyKind, target: Option<&BufferRef>, threshold: Option<i64>) -> Result<(), Error> {
        self.object().set_notifier(kind, target.map(|t| t.arc().clone()), threshold)
    }
}
