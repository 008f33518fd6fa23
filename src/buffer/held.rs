//! The locks an operation on a buffer holds, as types: its listener's
//! first (for a listener buffer, when the operation takes messages or may
//! not wait), then the feeding end of its queue, the draining end, or both
//! (the feeding end first).

use std::sync::Arc;

use super::notifier::{Notifiers, NotifyKind, Target};
use super::Buffer;
use crate::listener::ListenerState;
use crate::primitive::atomic::Ordering;
use crate::queue::{Core, Drain, Feed};
use crate::sync::LockGuard;

/// One or both ends of a queue, locked.
pub(super) trait Ends<'a>: Sized {
    /// Whether a listener buffer's operation holding these ends holds its
    /// listener's lock too (always, when it may not wait for it later).
    const WITH_LISTENER: bool;
    fn lock(core: &'a Core, nonblock: bool) -> Option<Self>;
}

impl<'a> Ends<'a> for Feed<'a> {
    /// Producers add to a listener's buffers without its lock: a buffer
    /// that becomes ready takes it afterwards (`listener/ready.rs`).
    const WITH_LISTENER: bool = false;
    #[inline(always)]
    fn lock(core: &'a Core, nonblock: bool) -> Option<Self> {
        core.lock_feed(nonblock)
    }
}

impl<'a> Ends<'a> for Drain<'a> {
    const WITH_LISTENER: bool = true;
    #[inline(always)]
    fn lock(core: &'a Core, nonblock: bool) -> Option<Self> {
        core.lock_drain(nonblock)
    }
}

/// Both ends, for operations on the whole queue.
pub(super) struct Both<'a> {
    pub feed: Feed<'a>,
    pub drain: Drain<'a>,
}

impl<'a> Ends<'a> for Both<'a> {
    const WITH_LISTENER: bool = true;
    fn lock(core: &'a Core, nonblock: bool) -> Option<Self> {
        let feed = core.lock_feed(nonblock)?;
        Some(Both { feed, drain: core.lock_drain(nonblock)? })
    }
}

/// Ends that include the draining one.
pub(super) trait WithDrain<'a> {
    fn drain(&mut self) -> &mut Drain<'a>;
}

impl<'a> WithDrain<'a> for Drain<'a> {
    fn drain(&mut self) -> &mut Drain<'a> {
        self
    }
}

impl<'a> WithDrain<'a> for Both<'a> {
    fn drain(&mut self) -> &mut Drain<'a> {
        &mut self.drain
    }
}

pub(super) struct Held<'a, E> {
    pub buffer: &'a Buffer,
    /// The listener's state, for a listener buffer when `E::WITH_LISTENER`
    /// or in nonblock mode.
    pub listener: Option<LockGuard<'a, ListenerState>>,
    pub ends: E,
}

impl Buffer {
    /// Takes the locks of an operation on `E`; in nonblock mode `None`
    /// when another thread holds one of them. Always inlined: the guards
    /// then stay in registers instead of going through memory, and a
    /// producer's stores per message matter (see README, Performance).
    #[inline(always)]
    pub(super) fn hold<'a, E: Ends<'a>>(&'a self, nonblock: bool) -> Option<Held<'a, E>> {
        let core = self.queue.core();
        let listener = match &self.listener {
            Some(l) if E::WITH_LISTENER || nonblock => Some(l.lock(nonblock)?),
            _ => None,
        };
        let ends = E::lock(core, nonblock)?;
        Some(Held { buffer: self, listener, ends })
    }

    pub(super) fn hold_blocking<'a, E: Ends<'a>>(&'a self) -> Held<'a, E> {
        self.hold(false).expect("blocking locks are always taken")
    }
}

impl<E> Held<'_, E> {
    /// The notifiers. (Written only with both ends locked.)
    fn notifiers(&self) -> Option<&Notifiers> {
        // SAFETY: an end of the queue is locked, so nobody writes them.
        unsafe { self.buffer.notifiers.with(|notifiers| (*notifiers).as_deref()) }
    }

    /// What to notify after a change of `kind`, if anything.
    #[inline]
    pub fn notification(&self, kind: NotifyKind) -> Option<Target> {
        self.notifiers()?.target(kind, self.buffer.queued())
    }
}

impl<'a, E: WithDrain<'a>> Held<'a, E> {
    /// A listener buffer that lost its messages leaves the listener's
    /// ready queue. One that is not in it has nothing to do: if it has
    /// messages, the producer that added them puts it there.
    pub fn leave_ready_if_empty(&mut self, arc: &Arc<Buffer>) {
        if let (Some(state), Some(listener)) = (self.listener.as_mut(), self.buffer.listener.as_ref()) {
            if state.ready.leave_if_empty(arc, self.ends.drain()) {
                listener.update_readiness(state);
            }
        }
    }
}

impl Held<'_, Both<'_>> {
    pub fn notifiers_mut(&mut self) -> &mut Option<Box<Notifiers>> {
        // SAFETY: both ends are locked, and `&mut self` makes this the only
        // access.
        unsafe { self.buffer.notifiers.with_mut(|notifiers| &mut *notifiers) }
    }

    /// The buffer is closed or has no references left: it stops counting
    /// as one of its listener's buffers and hands back its notifier links,
    /// for the caller to drop after unlocking (dropping a link may free
    /// another buffer).
    pub fn retire(&mut self) -> Option<Box<Notifiers>> {
        let links = self.notifiers_mut().take();
        if let (Some(state), Some(listener)) = (self.listener.as_mut(), self.buffer.listener.as_ref()) {
            if !self.buffer.retired.swap(true, Ordering::Relaxed) {
                listener.detach_buffer(state);
            }
        }
        links
    }
}
