//! Adding messages to a buffer (`addmsg`, `waitaddmsg`, `setmsg`, writers).

use std::sync::Arc;

use super::held::Both;
use super::notifier::NotifyKind;
use super::Buffer;
use crate::error::Error;
use crate::reference::Object;
use crate::listener::ready;
use crate::queue::{Feed, Ready};
use crate::value::Body;
use crate::wait::Wait;
use crate::Progress;

/// What a push does with the messages already queued.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PushMode {
    Add,
    Replace,
}

impl Buffer {
    /// Adds (or, with `Replace`, sets) one message, `body`. `room`: how
    /// long an addition waits for room in a full fixed-size buffer
    /// (`Poll`: `WouldBlock` at once; replacing never waits). `notify`:
    /// whether the buffer's "added" notifier fires.
    #[inline]
    pub(crate) fn push(self: &Arc<Self>, body: &dyn Body, mode: PushMode, nonblock: bool, room: Wait, notify: bool) -> Result<Progress, Error> {
        let bytes = body.size().message_bytes();
        // Refused before spending an encoding (or an allocation) on it.
        self.sizes().check_message(bytes, &|| self.describe())?;
        let message = Ready::new(body, self.queue.core())?;
        match mode {
            PushMode::Add => self.add(message, bytes, nonblock, room, notify),
            PushMode::Replace => self.replace(message, nonblock),
        }
    }

    #[inline]
    fn add(self: &Arc<Self>, message: Ready<'_>, bytes: usize, nonblock: bool, room: Wait, notify: bool) -> Result<Progress, Error> {
        let Some(mut held) = self.hold::<Feed>(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        let deadline = room.deadline();
        loop {
            self.check_usable()?;
            if held.ends.has_room(bytes) {
                break;
            }
            if room == Wait::Poll {
                return Ok(Progress::WouldBlock);
            }
            // Counted as a sleeper, then through the draining lock (takers
            // free room under it and look for sleepers after letting go),
            // then a last look, at the flags too: a close or abort sets
            // them and wakes after taking this buffer's locks.
            let core = self.queue.core();
            let ticket = core.room.prepare();
            core.synchronize_with_takers();
            self.check_usable()?;
            if held.ends.has_room(bytes) {
                break;
            }
            drop(held);
            let timed_out = ticket.sleep(deadline);
            held = self.hold_blocking::<Feed>();
            if timed_out {
                self.check_usable()?;
                if !held.ends.has_room(bytes) {
                    return Ok(Progress::TimedOut);
                }
                break;
            }
        }
        held.ends.push(message)?;
        let update_readiness = self.is_watched() && held.ends.queued_after_add() == 1;
        // In nonblock mode a listener buffer's producer holds the listener's
        // lock, having been unable to wait for it afterwards: it lists the
        // buffer now.
        let joined = held.listener.as_mut().map(|state| ready::after_locked_add(self, state));
        let target = if notify { held.notification(NotifyKind::Added) } else { None };
        drop(held);
        self.announce_added(joined);
        if update_readiness {
            self.update_readiness();
        }
        if let Some(target) = target {
            target.notify();
        }
        Ok(Progress::Done)
    }

    fn replace(self: &Arc<Self>, message: Ready<'_>, nonblock: bool) -> Result<Progress, Error> {
        let Some(mut held) = self.hold::<Both>(nonblock) else {
            return Ok(Progress::WouldBlock);
        };
        self.check_usable()?;
        held.ends.drain.clear();
        if let Err(no_memory) = held.ends.feed.push(message) {
            // A replace that failed has still emptied the buffer, which
            // must then leave its listener's ready queue.
            held.leave_ready_if_empty(self);
            drop(held);
            self.wake_room();
            self.update_readiness();
            return Err(no_memory);
        }
        // A listed buffer keeps its place in its listener's ready queue.
        let joined = held.listener.as_mut().map(|state| ready::after_locked_add(self, state));
        let target = held.notification(NotifyKind::Added);
        drop(held);
        self.announce_added(joined);
        self.wake_room();
        self.update_readiness();
        if let Some(target) = target {
            target.notify();
        }
        Ok(Progress::Done)
    }

    /// After a message was added and the locks let go: a listener buffer
    /// not listed under the listener's lock (`joined` `None`) lists itself
    /// (the producer's half of `listener/ready.rs`); one of the takers of
    /// this buffer and one of its listener's wake, if they sleep. A
    /// buffer's takers count themselves sleepers and then go through its
    /// feeding lock, under which the message was published: see
    /// `Core::synchronize_with_producers`.
    #[inline]
    fn announce_added(self: &Arc<Self>, joined: Option<bool>) {
        let core = self.queue.core();
        if let Some(listener) = &self.listener {
            let joined = joined.unwrap_or_else(|| ready::after_unlocked_add(self, listener));
            if joined {
                listener.announce_ready();
            }
            listener.wake_one_taker();
        }
        core.takers.notify_one();
    }
}
