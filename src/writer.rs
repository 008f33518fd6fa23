//! Writers: build a message piece by piece, then add it in one step.

use crate::buffer::{BufferRef, PushMode};
use crate::error::Error;
use crate::sizes::{out_of_memory, Sizes};
use crate::value::{header_len, AsValue, Body, BodySize, Encoded, Values};
use crate::Progress;

/// A message under construction, owned by one thread at a time.
#[derive(Debug)]
pub struct Writer {
    sizes: Sizes,
    body: Vec<u8>,
    count: usize,
    /// Tables in the message so far: a later `add` may refer to them, and
    /// numbers its own tables on from here.
    tables: usize,
}

impl Writer {
    /// A writer whose memory starts at `size` bytes; with `grow == 0` a
    /// message that would exceed `size` bytes is refused with
    /// `message_size`.
    pub fn new(size: usize, grow: f64) -> Result<Writer, Error> {
        let sizes = Sizes::new(size, size, grow)?;
        Ok(Writer { sizes, body: Vec::new(), count: 0, tables: 0 })
    }

    /// Appends values; on error nothing of them is appended. Each call's
    /// tables must end within it; their references may point to the
    /// tables of earlier calls for the same message.
    pub fn add<T: AsValue>(&mut self, values: &[T]) -> Result<(), Error> {
        let added = Values::after_tables(values, self.tables)?;
        let total = BodySize { bytes: self.body.len() + added.size().bytes, count: self.count + added.size().count };
        self.sizes.check_message(header_len(total) + total.bytes, &|| "mtmsg.writer".to_string())?;
        self.body.try_reserve(added.size().bytes).map_err(|_| out_of_memory(total.bytes))?;
        added.append_to(&mut self.body);
        self.count = total.count;
        self.tables += added.tables();
        Ok(())
    }

    /// Values added so far (a table with its entries is one).
    pub fn count(&self) -> usize {
        self.count
    }

    /// Tables added so far: the number the next one gets.
    pub fn tables(&self) -> usize {
        self.tables
    }

    /// Adds the values as one message to `buffer`; on `Done` the writer is
    /// empty again, otherwise it keeps them.
    pub fn add_to(&mut self, buffer: &BufferRef) -> Result<Progress, Error> {
        self.push_to(buffer, PushMode::Add)
    }

    /// Replaces the buffer's messages by this one (see [`Writer::add_to`]).
    pub fn set_to(&mut self, buffer: &BufferRef) -> Result<Progress, Error> {
        self.push_to(buffer, PushMode::Replace)
    }

    fn push_to(&mut self, buffer: &BufferRef, mode: PushMode) -> Result<Progress, Error> {
        let progress = buffer.push_body(&Encoded { bytes: &self.body, count: self.count }, mode)?;
        if progress == Progress::Done {
            self.clear();
        }
        Ok(progress)
    }

    pub fn clear(&mut self) {
        self.body.clear();
        self.count = 0;
        self.tables = 0;
    }
}
