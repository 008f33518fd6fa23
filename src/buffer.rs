//! Buffers: a queue of messages, the locks around it, and the references
//! that keep it alive.

use std::cell::UnsafeCell;
use std::sync::atomic::{fence, AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::abort::{self, is_aborted};
use crate::error::{describe, Error, ErrorKind};
use crate::home::{deadline, hold_back, Additions, SpinBudget};
use crate::listener::{Listener, ListenerRef, ListenerState};
use crate::queue::{self, Drain, Feed, MessageQueue, Ready};
use crate::reader::Reader;
use crate::reference::{Object, Ref};
use crate::registry::{self, Name, Registered, Users};
use crate::sizes::Sizes;
use crate::bias::BiasedGuard;
use crate::sync::Signal;
use crate::value::{AsValue, Body, Encoded, Values};
use crate::Progress;

/// A message buffer: process-wide, found by id or name, shared by every
/// thread that holds a [`BufferRef`] to it.
///
/// Everything a producer and a consumer both read for every message is
/// here and rarely written; what each of them writes is in the queue's
/// core, on cache lines of its own (see `queue.rs`).
pub struct Buffer {
    id: u64,
    name: Name,
    /// References held by users (handles, Lua objects, notifier links).
    /// At zero the buffer leaves the registry; its memory may live on a
    /// little while a listener still delivers its messages.
    users: Users,
    /// The listener serving this buffer, whose lock is taken before the
    /// queue's.
    listener: Option<Arc<Listener>>,
    /// Written with both ends of the queue locked; read with either.
    closed: AtomicBool,
    aborted: AtomicBool,
    /// No longer counted among its listener's live buffers.
    retired: AtomicBool,
    /// Whether the buffer is in its listener's queue of buffers with
    /// messages. Changed under the listener's lock only; producers, which
    /// add without that lock, read it to see whether they must take it.
    in_ready: AtomicBool,
    /// Rare, so kept out of line. Written with both ends of the queue
    /// locked, read with either.
    notifiers: UnsafeCell<Option<Box<Notifiers>>>,
    queue: MessageQueue,
}

// SAFETY: `notifiers` is written only with both ends of the queue locked
// and read only with one of them locked (see `Held`); everything else is
// immutable, atomic or locked.
unsafe impl Sync for Buffer {}
unsafe impl Send for Buffer {}

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

/// Which ends of a buffer's queue an operation locks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ends {
    Feed,
    Drain,
    Both,
}

/// The locks an operation on a buffer holds: its listener's first (for a
/// listener buffer), then one end of its queue or both, the feeding end
/// first.
struct Held<'a> {
    buffer: &'a Buffer,
    listener: Option<BiasedGuard<'a, ListenerState>>,
    feed: Option<Feed<'a>>,
    drain: Option<Drain<'a>>,
}

impl<'a> Held<'a> {
    #[inline]
    fn feed(&mut self) -> &mut Feed<'a> {
        self.feed.as_mut().expect("the feeding end is locked")
    }

    #[inline]
    fn drain(&mut self) -> &mut Drain<'a> {
        self.drain.as_mut().expect("the draining end is locked")
    }

    fn notifiers(&self) -> Option<&Notifiers> {
        // SAFETY: an end of the queue is locked, so nobody writes them.
        unsafe { (*self.buffer.notifiers.get()).as_deref() }
    }

    fn notifiers_mut(&mut self) -> &mut Option<Box<Notifiers>> {
        assert!(self.feed.is_some() && self.drain.is_some(), "both ends are locked");
        // SAFETY: both ends are locked, and `&mut self` makes this the only
        // access.
        unsafe { &mut *self.buffer.notifiers.get() }
    }

    /// The buffer to notify after a change of `kind`, if any.
    #[inline]
    fn notification(&self, kind: NotifyKind) -> Option<Arc<Buffer>> {
        let notifiers = self.notifiers()?;
        let notifier = match kind {
            NotifyKind::Added => &notifiers.added,
            NotifyKind::Removed => &notifiers.removed,
        };
        notify_target(notifier.as_ref()?, self.buffer.queued(), kind)
    }

    /// `object_closed` or `operation_aborted` when the buffer can't be used.
    #[inline]
    fn check_usable(&self) -> Result<(), Error> {
        let buffer = self.buffer;
        // A listener nobody can reach any more counts as closed: only a
        // notifier can still try to add to one of its buffers.
        let (listener_closed, listener_aborted) = buffer.listener.as_ref().map_or((false, false), |l| (l.is_shut(), l.is_aborted()));
        if is_aborted() || buffer.aborted.load(Ordering::SeqCst) || listener_aborted {
            return Err(buffer.error(ErrorKind::OperationAborted));
        }
        if buffer.closed.load(Ordering::SeqCst) || listener_closed {
            return Err(buffer.error(ErrorKind::ObjectClosed));
        }
        Ok(())
    }

    /// A listener buffer that lost its messages leaves the listener's
    /// queue. One that is not in it has nothing to do: if it has messages,
    /// the producer that added them puts it there.
    fn leave_ready_if_empty(&mut self, arc: &Arc<Buffer>) {
        let Some(listener) = self.listener.as_mut() else { return };
        let drain = self.drain.as_mut().expect("the draining end is locked");
        if self.buffer.in_ready.load(Ordering::SeqCst) && !self.buffer.still_ready(drain) {
            listener.ready.retain(|b| !Arc::ptr_eq(b, arc));
        }
    }

    /// The buffer is closed or has no references left: it stops counting
    /// as one of its listener's buffers (a listener whose last buffer goes
    /// raises `no_buffers` to its waiting threads) and hands back its
    /// notifier links, for the caller to drop after unlocking (dropping a
    /// link may free another buffer).
    fn retire(&mut self) -> Option<Box<Notifiers>> {
        let links = self.notifiers_mut().take();
        if let Some(listener) = self.listener.as_mut() {
            if !self.buffer.retired.swap(true, Ordering::Relaxed) {
                listener.buffers -= 1;
                if listener.buffers == 0 {
                    let owner = self.buffer.listener.as_ref().expect("a listener buffer");
                    owner.domain.takers.notify_all();
                }
            }
        }
        links
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
                in_ready: AtomicBool::new(false),
                notifiers: UnsafeCell::new(None),
                queue: MessageQueue::new(sizes),
            }))
        })
        .map(BufferRef::adopt)
    }

    pub fn name(&self) -> Option<&[u8]> {
        self.name.get()
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

    /// Takes the listener's lock (if any) and then the queue's `ends`; in
    /// nonblock mode `None` when another thread holds one of them.
    /// Producers add to a listener's buffers without the listener's lock
    /// (a buffer that becomes ready takes it afterwards), except in
    /// nonblock mode, which may not wait for it then. Always inlined: the
    /// guards then stay in registers instead of going through memory, and a
    /// producer's stores per message matter (see README, Performance).
    #[inline(always)]
    fn hold(&self, ends: Ends, nonblock: bool) -> Option<Held<'_>> {
        let core = self.queue.core();
        let listener = match &self.listener {
            Some(l) if ends != Ends::Feed || nonblock => Some(l.domain.lock_or_try(nonblock)?),
            _ => None,
        };
        let feed = if ends != Ends::Drain { Some(core.lock_feed(nonblock)?) } else { None };
        let drain = if ends != Ends::Feed { Some(core.lock_drain(nonblock)?) } else { None };
        Some(Held { buffer: self, listener, feed, drain })
    }

    fn hold_blocking(&self, ends: Ends) -> Held<'_> {
        self.hold(ends, false).expect("blocking locks")
    }

    /// The signals this buffer's takers and producers waiting for room
    /// sleep on: the queue's, or the listener's for all its buffers.
    fn signals(&self) -> (&Signal, &Signal) {
        match &self.listener {
            Some(l) => (&l.buffer_takers, &l.domain.room),
            None => {
                let core = self.queue.core();
                (&core.takers, &core.room)
            }
        }
    }

    /// What a spinning taker watches: additions to this buffer, or, for a
    /// listener's buffer, its buffers becoming ready (an empty buffer that
    /// gets a message always does).
    fn additions(&self) -> &Additions {
        match &self.listener {
            Some(l) => &l.additions,
            None => self.queue.core().additions(),
        }
    }

    /// Messages queued now.
    fn queued(&self) -> usize {
        self.queue.get().map_or(0, |core| core.count())
    }

    /// Wakes every thread waiting in this buffer's domain, so it sees a
    /// close or an abort. The locks are taken and let go first: a thread
    /// that looked for a close or an abort under them before it was made
    /// is by then counted as a sleeper.
    pub(crate) fn wake_all(&self) {
        drop(self.hold_blocking(Ends::Both));
        let (takers, room) = self.signals();
        takers.notify_all();
        room.notify_all();
    }

    /// After a message was added: one taker of a standalone buffer; for a
    /// listener's buffer, see `Listener::wake_takers`.
    #[inline]
    fn wake_takers(&self) {
        match &self.listener {
            Some(listener) => listener.wake_takers(),
            None => self.queue.core().takers.notify_one(),
        }
    }

    /// After messages were removed: producers waiting for room (only a
    /// fixed plan makes them wait) may wait for messages of different
    /// sizes, so all of them look.
    #[inline]
    fn wake_room(&self) {
        if self.sizes().is_fixed() {
            self.signals().1.notify_all();
        }
    }

    /// Adds (or, with `Replace`, sets) one message, `body`. `wait`: `None`
    /// returns `WouldBlock` when a fixed buffer is full; `Some(timeout)`
    /// waits for room. `notify`: whether the buffer's "added" notifier
    /// fires.
    pub(crate) fn push(
        self: &Arc<Self>,
        body: &dyn Body,
        mode: PushMode,
        nonblock: bool,
        wait: Option<Option<Duration>>,
        notify: bool,
    ) -> Result<Progress, Error> {
        let bytes = body.size().message_bytes();
        // Refused before spending an encoding (or an allocation) on it.
        self.sizes().check_message(bytes, &|| self.describe())?;
        let message = Ready::new(body, self.queue.core())?;
        let ends = if mode == PushMode::Replace { Ends::Both } else { Ends::Feed };
        let Some(mut held) = self.hold(ends, nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        let deadline = wait.map(deadline);
        loop {
            held.check_usable()?;
            if mode == PushMode::Replace || held.feed().has_room(bytes) {
                break;
            }
            let Some(deadline) = deadline else {
                return Ok(Progress::WouldBlock);
            };
            // Counted as a sleeper before looking once more, at the flags
            // too: a listener's abort or close does not take this lock.
            let ticket = self.signals().1.prepare();
            held.check_usable()?;
            if held.feed().has_room(bytes) {
                break;
            }
            drop(held);
            let timed_out = ticket.sleep(deadline);
            held = self.hold_blocking(ends);
            if timed_out {
                held.check_usable()?;
                if !held.feed().has_room(bytes) {
                    return Ok(Progress::TimedOut);
                }
            }
        }
        if mode == PushMode::Replace {
            held.drain().clear();
        }
        if let Err(no_memory) = held.feed().push(message) {
            // A replace that failed has still emptied the buffer, which
            // must then leave its listener's queue of buffers with messages.
            if mode == PushMode::Replace {
                held.leave_ready_if_empty(self);
                drop(held);
                self.wake_room();
            }
            return Err(no_memory);
        }
        let mut joined = false;
        if let Some(listener) = held.listener.as_mut() {
            joined = self.join_ready(listener);
        }
        let target = if notify { held.notification(NotifyKind::Added) } else { None };
        drop(held);
        if let Some(listener) = &self.listener {
            // The message is published (by a plain store); the fence orders
            // it before this look at the flag: a taker that finds the
            // buffer empty clears the flag and then looks at the queue
            // again, so one of the two sees the other. It orders it before
            // the looks for sleepers too, which a listener's takers rely on.
            fence(Ordering::SeqCst);
            if !joined && !self.in_ready.load(Ordering::SeqCst) {
                listener.enqueue(self);
                joined = true;
            }
            // Takers spin only while no buffer they wait for is ready, so
            // only a buffer that joins the ready ones can end a spin.
            if joined {
                listener.additions.note();
            }
        }
        self.wake_takers();
        if mode == PushMode::Replace {
            self.wake_room();
        }
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
        let Some(mut held) = self.hold(Ends::Drain, nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        let deadline = deadline(timeout);
        let mut timed_out = false;
        let mut budget = SpinBudget::default();
        let (takers, _) = self.signals();
        // Close behind a producer twice in a row: it adds steadily.
        if let Some(close_behind) = held.drain().close_behind() {
            if close_behind && reader.close_behind {
                drop(held);
                hold_back();
                held = self.hold_blocking(Ends::Drain);
            }
            reader.close_behind = close_behind;
        }
        loop {
            held.check_usable()?;
            let taken = reader.take_from(held.drain(), &|| self.describe()).inspect_err(|_| {
                // This taker leaves the message queued: the wake-up it may
                // have used goes to another one, who may take it.
                self.wake_takers();
            })?;
            if taken {
                held.leave_ready_if_empty(self);
                let target = held.notification(NotifyKind::Removed);
                drop(held);
                self.wake_room();
                if let Some(target) = target {
                    target.notify();
                }
                return Ok(Progress::Done);
            }
            if timed_out || nonblock || timeout == Some(Duration::ZERO) {
                return Ok(Progress::TimedOut);
            }
            if !budget.used_up() {
                let seen = match &self.listener {
                    Some(listener) => listener.additions.seen(),
                    None => held.drain().seen_additions(),
                };
                drop(held);
                self.additions().spin_for_change(seen, &mut budget, deadline);
                held = self.hold_blocking(Ends::Drain);
                continue;
            }
            // Counted as a sleeper before looking once more: a producer
            // adds, then looks for sleepers (see `Signal`), and the two
            // see each other once the taker went through the feeding lock.
            let ticket = takers.prepare();
            drop(held);
            self.queue.core().synchronize_with_producers();
            held = self.hold_blocking(Ends::Drain);
            if held.drain().is_empty() {
                drop(held);
                timed_out = ticket.sleep(deadline);
                held = self.hold_blocking(Ends::Drain);
            }
        }
    }

    /// Puts this listener buffer at the back of its listener's queue of
    /// ready buffers (whose lock the caller holds: `listener`) if it has
    /// messages and is not there yet; true if it joined.
    pub(crate) fn join_ready(self: &Arc<Self>, listener: &mut ListenerState) -> bool {
        if self.in_ready.load(Ordering::Relaxed) || self.queued() == 0 {
            return false;
        }
        self.in_ready.store(true, Ordering::SeqCst);
        listener.ready.push_back(self.clone());
        true
    }

    /// Whether this listener buffer, marked ready, stays so after messages
    /// were taken; its listener's lock is held. An empty one is marked not
    /// ready, then looked at once more, as a producer may have added
    /// without seeing the mark (see `push`).
    #[inline]
    fn still_ready(&self, drain: &mut Drain<'_>) -> bool {
        if !drain.is_empty() {
            return true;
        }
        self.in_ready.store(false, Ordering::SeqCst);
        let more = !drain.is_empty();
        if more {
            self.in_ready.store(true, Ordering::SeqCst);
        }
        more
    }

    /// Takes the oldest message of this listener buffer, just taken off its
    /// listener's queue of ready buffers, into `reader` for the listener,
    /// whose lock the caller holds (`_listener`). Returns whether it has
    /// more messages (and so goes back to the queue), and the buffer to
    /// notify.
    #[inline]
    pub(crate) fn take_for_listener(&self, reader: &mut Reader, _listener: &mut ListenerState) -> Result<(bool, Option<Arc<Buffer>>), Error> {
        let mut held = Held { buffer: self, listener: None, feed: None, drain: self.queue.core().lock_drain(false) };
        let taken = reader.take_from(held.drain(), &|| self.describe())?;
        debug_assert!(taken, "ready buffers hold messages");
        let more = self.still_ready(held.drain());
        Ok((more, held.notification(NotifyKind::Removed)))
    }

    /// Drops the messages (and, with `free`, the memory) of this listener
    /// buffer, whose listener's lock the caller holds (`_listener`).
    pub(crate) fn empty_for_listener(&self, free: bool, _listener: &mut ListenerState) {
        let core = self.queue.core();
        let (mut feed, mut drain) = (core.lock_feed(false).expect("blocking lock"), core.lock_drain(false).expect("blocking lock"));
        if free {
            queue::free(&mut feed, &mut drain);
        } else {
            drain.clear();
        }
        self.in_ready.store(false, Ordering::Relaxed);
    }

    /// The messages queued: a snapshot, taken without locks.
    pub(crate) fn count(&self) -> Result<usize, Error> {
        Held { buffer: self, listener: None, feed: None, drain: None }.check_usable()?;
        Ok(self.queued())
    }

    pub(crate) fn set_notifier(&self, kind: NotifyKind, target: Option<Arc<Buffer>>, threshold: Option<i64>) -> Result<(), Error> {
        let old;
        {
            let mut held = self.hold_blocking(Ends::Both);
            held.check_usable()?;
            let slot_holder = held.notifiers_mut();
            let notifiers = slot_holder.get_or_insert_with(Box::default);
            let slot = match kind {
                NotifyKind::Added => &mut notifiers.added,
                NotifyKind::Removed => &mut notifiers.removed,
            };
            match target {
                None => old = slot.take(),
                Some(target) => {
                    if slot.is_some() {
                        drop(held);
                        drop(target);
                        return Err(self.error(ErrorKind::HasNotifier));
                    }
                    *slot = Some(Notifier { target, threshold });
                    old = None;
                }
            }
            if notifiers.added.is_none() && notifiers.removed.is_none() {
                *slot_holder = None;
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

fn notify_target(notifier: &Notifier, count: usize, kind: NotifyKind) -> Option<Arc<Buffer>> {
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
        let links = self.hold_blocking(Ends::Both).retire();
        drop(links);
        if let Some(listener) = self.listener() {
            listener.release_user();
        }
    }

    fn clear(self: &Arc<Self>, nonblock: bool) -> Result<Progress, Error> {
        let Some(mut held) = self.hold(Ends::Both, nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        held.check_usable()?;
        held.drain().clear();
        held.leave_ready_if_empty(self);
        drop(held);
        self.wake_room();
        Ok(Progress::Done)
    }

    /// Frees the messages and makes every later operation fail with
    /// `object_closed`; waiting threads wake with that error.
    fn close(self: &Arc<Self>) {
        let links = {
            let mut held = self.hold_blocking(Ends::Both);
            self.closed.store(true, Ordering::SeqCst);
            let Held { feed, drain, .. } = &mut held;
            queue::free(feed.as_mut().expect("locked"), drain.as_mut().expect("locked"));
            held.leave_ready_if_empty(self);
            held.retire()
        };
        drop(links);
        self.wake_all();
    }

    fn set_aborted(&self, flag: bool) {
        {
            let _held = self.hold_blocking(Ends::Both);
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
