//! Readers: take one message out of a buffer and hand out its values.

use crate::error::{Error, ErrorKind};
use crate::queue::{Drain, Taken, LINK_ABOVE};
use crate::sizes::{out_of_memory, Sizes};
use crate::sync::spin::HoldBack;
use crate::tables::entries;
use crate::value::{decode_value, BodySize, Value};

#[cold]
fn owed(array: usize, pairs: usize) -> usize {
    entries(array, pairs).expect("a checked table")
}

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
    /// Values not begun plus the entries the tables begun still owe: the
    /// least number of entries before the message ends.
    remaining: usize,
    /// Tables read so far in the current message.
    tables: usize,
    /// Whether the taking thread holds back behind a steady producer.
    pub(crate) hold_back: HoldBack,
}

impl Reader {
    /// A reader whose memory starts at `size` bytes; with `grow == 0` it
    /// never grows, and a message larger than `size` is refused with
    /// `message_size` (and left in its buffer).
    pub fn new(size: usize, grow: f64) -> Result<Reader, Error> {
        let sizes = Sizes::new(size, size, grow)?;
        Ok(Reader { sizes, max_values: usize::MAX, body: Vec::new(), pos: 0, remaining: 0, tables: 0, hold_back: HoldBack::default() })
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
                reader.tables = 0;
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

    /// How many entries at least [`Reader::next`] still returns: the
    /// values not begun (a table as one) and the entries still owed by the
    /// tables begun. Between values, the number of values left.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Tables read so far in the current message: the number the next one
    /// has (references count from 0 at the message's first table).
    pub fn tables(&self) -> usize {
        self.tables
    }

    /// The next entry of the current message, or `None` at its end: a
    /// value, or one of the entries of a table read before (see
    /// `tables.rs` for their order).
    #[allow(clippy::should_implement_trait)]
    #[inline]
    pub fn next(&mut self) -> Option<Value<'_>> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let value = decode_value(&self.body, &mut self.pos)?;
        if let Value::Table { array, pairs } = value {
            // Its entries are owed next. Bodies were checked when added, so
            // the count neither overflows nor outruns the body.
            self.remaining += owed(array, pairs);
            self.tables += 1;
        }
        Some(value)
    }

    /// Forgets the current message.
    pub fn clear(&mut self) {
        self.body.clear();
        self.pos = 0;
        self.remaining = 0;
        self.tables = 0;
    }
}
