//! How long an operation may wait for what it needs (a message, room).

use std::time::{Duration, Instant};

/// What a caller allows: not to wait, to wait up to a time, or for ever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// Look once and return.
    Poll,
    /// Wait until this instant at the latest.
    Until(Instant),
    /// Wait as long as it takes.
    Forever,
}

impl Wait {
    /// The wait of an operation starting now that may take `timeout`
    /// (`None`: for ever; zero: just look). A timeout too long for the
    /// clock waits for ever.
    pub(crate) fn from_timeout(timeout: Option<Duration>) -> Wait {
        match timeout {
            None => Wait::Forever,
            Some(t) if t.is_zero() => Wait::Poll,
            Some(t) => Instant::now().checked_add(t).map_or(Wait::Forever, Wait::Until),
        }
    }

    /// When a wait that goes on ends: `None` for ever. (A poll never goes
    /// on: callers return before they would wait, so it needs no clock.)
    pub(crate) fn deadline(self) -> Option<Instant> {
        match self {
            Wait::Until(deadline) => Some(deadline),
            Wait::Poll | Wait::Forever => None,
        }
    }
}
