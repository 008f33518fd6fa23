//! Readers: take one message out of a buffer and hand out its values.

use crate::error::{Error, ErrorKind};
use crate::queue::{Drain, Taken, LINK_ABOVE};
use crate::sizes::{out_of_memory, Sizes};
use crate::sync::spin::HoldBack;
use crate::value::{decode_value, BodySize, Value};

/// Holds one taken message and reads its values one by one.
///
/// Taking copies the message's bytes under the queue's draining lock (or,
/// for a large one, adopts the memory it was linked in with), nothing
/// more; the values are decoded afterwards, outside it. Strings point into the
/// reader's memory until its next `take` or [`Reader::clear`].
#[derive(Debug)]
pub struct Reader {
    sizes: Sizes,
    /// Messages of more values are refused (and stay queued): a Lua state
    /// can only return so many values from one call.
    max_values: usize,
    body: Vec<u8>,
    pos: usize,
    remaining: usize,
    /// Whether the taking thread holds back behind a steady producer.
    pub(crate) hold_back: HoldBack,
}

impl Reader {
    /// A reader whose memory starts at `size` bytes; with `grow == 0` it
    /// never grows, and a message larger than `size` is refused with
    /// `message_size` (and left in its buffer).
    pub fn new(size: usize, grow: f64) -> Result<Reader, Error> {
        let sizes = Sizes::new(size, size, grow)?;
        Ok(Reader { sizes, max_values: usize::MAX, body: Vec::new(), pos: 0, remaining: 0, hold_back: HoldBack::default() })
    }

    /// Refuses, from now on, messages of more than `max` values with
    /// `message_size`, leaving them in their buffer.
    pub fn limit_values(&mut self, max: usize) {
        self.max_values = max;
    }

    /// Takes the oldest message of a queue into this reader: `Ok(false)`
    /// when there is none. Fails, leaving the message queued, when it does
    /// not fit a fixed-size reader or memory for it runs out; once it is
    /// out of the queue nothing can fail any more.
    #[inline]
    pub(crate) fn take_from(&mut self, queue: &mut Drain<'_>, source: &dyn Fn() -> String) -> Result<bool, Error> {
        // The reader's memory that an adopted body replaces goes back to
        // the queue, for the producer's next large message.
        let mut replaced = None;
        let taken = queue.pop(
            self,
            |reader, size| reader.make_room(size, source),
            |reader, taken, count| {
                match taken {
                    Taken::InPlace(body) => reader.body.extend_from_slice(body),
                    Taken::Linked(body) => replaced = Some(std::mem::replace(&mut reader.body, body)),
                }
                reader.pos = 0;
                reader.remaining = count;
            },
        );
        if let Some(memory) = replaced {
            queue.keep_body(memory);
        }
        taken.transpose().map(|taken| taken.is_some())
    }

    /// Checks that a message of `size` may be taken and makes room for it.
    #[inline]
    fn make_room(&mut self, size: BodySize, source: &dyn Fn() -> String) -> Result<(), Error> {
        let what = || format!("mtmsg.reader for {}", source());
        self.sizes.check_message(size.message_bytes(), &what)?;
        if size.count > self.max_values {
            return Err(Error::new(
                ErrorKind::MessageSize,
                format!("{}: a message of {} values exceeds the limit of {}", what(), size.count, self.max_values),
            ));
        }
        if size.bytes < LINK_ABOVE {
            self.body.clear();
            let wanted = size.bytes.max(self.sizes.size1);
            self.body.try_reserve(wanted).map_err(|_| out_of_memory(wanted))?;
        }
        Ok(())
    }

    /// Values of the current message not read yet.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// The next value of the current message, or `None` at its end.
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn next(&mut self) -> Option<Value<'_>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        decode_value(&self.body, &mut self.pos)
    }

    /// Forgets the current message.
    pub fn clear(&mut self) {
        self.body.clear();
        self.pos = 0;
        self.remaining = 0;
    }
}
