//! Notifiers: a buffer that gets an empty message whenever another one
//! gains or loses a message (`buffer:notifier(target, kind, threshold)`).

use std::sync::Arc;

use super::held::Both;
use super::{Buffer, PushMode};
use crate::error::{Error, ErrorKind};
use crate::value::Encoded;
use crate::wait::Wait;

/// Which change of a buffer a notifier reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotifyKind {
    /// `">"`: a message was added (while the count is above the threshold).
    Added,
    /// `"<"`: a message was taken (while the count is below the threshold).
    Removed,
}

/// What a notifier notifies: the buffer's memory, not a reference, so that
/// buffers notifying each other are still freed when their users drop them.
pub(crate) type Target = Arc<Buffer>;

struct Notifier {
    target: Target,
    threshold: Option<i64>,
}

/// The notifiers of a buffer, one per kind. Written only with both ends of
/// its queue locked, read with either.
#[derive(Default)]
pub(crate) struct Notifiers {
    added: Option<Notifier>,
    removed: Option<Notifier>,
}

impl Notifiers {
    fn slot(&mut self, kind: NotifyKind) -> &mut Option<Notifier> {
        match kind {
            NotifyKind::Added => &mut self.added,
            NotifyKind::Removed => &mut self.removed,
        }
    }

    /// The target to notify of a change of `kind` that left `count`
    /// messages, if its threshold says so.
    pub fn target(&self, kind: NotifyKind, count: usize) -> Option<Target> {
        let notifier = match kind {
            NotifyKind::Added => self.added.as_ref()?,
            NotifyKind::Removed => self.removed.as_ref()?,
        };
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        let wanted = match (kind, notifier.threshold) {
            (_, None) => true,
            (NotifyKind::Added, Some(t)) => count > t,
            (NotifyKind::Removed, Some(t)) => count < t,
        };
        wanted.then(|| notifier.target.clone())
    }
}

impl Buffer {
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
        let _ = self.push(&empty, PushMode::Add, false, Wait::Poll, false);
    }

    /// Connects (`Some`) or disconnects (`None`) the notifier of `kind`.
    pub(crate) fn set_notifier(&self, kind: NotifyKind, target: Option<Target>, threshold: Option<i64>) -> Result<(), Error> {
        let old = {
            let mut held = self.hold_blocking::<Both>();
            self.check_usable()?;
            let notifiers = held.notifiers_mut();
            let slot = notifiers.get_or_insert_with(Box::default).slot(kind);
            let old = match target {
                None => slot.take(),
                Some(_) if slot.is_some() => {
                    drop(held);
                    drop(target);
                    return Err(self.error(ErrorKind::HasNotifier));
                }
                Some(target) => slot.replace(Notifier { target, threshold }),
            };
            if notifiers.as_ref().is_some_and(|n| n.added.is_none() && n.removed.is_none()) {
                *notifiers = None;
            }
            old
        };
        // Dropped after unlocking: the link may hold another buffer's
        // last memory.
        drop(old);
        Ok(())
    }
}
