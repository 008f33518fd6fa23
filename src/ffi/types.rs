//! The types of the C ABI: status codes, tagged values, opaque handles.

use std::ffi::c_void;

use crate::{Error, ErrorKind};
use crate::{AsValue, Value};
use crate::{BufferRef, ListenerRef, Progress, Reader, Writer};

/// Default `size1` of `mtmsg_buffer_new`: initial bytes for one message.
pub const MTMSG_DEFAULT_SIZE1: usize = 128;
/// Default `size2` of `mtmsg_buffer_new`: initial bytes for all messages.
pub const MTMSG_DEFAULT_SIZE2: usize = 1024;
/// Default growth factor.
pub const MTMSG_DEFAULT_GROW: f64 = 2.0;
/// A timeout that waits as long as it takes: infinity. Every waiting call
/// takes a timeout in seconds: 0 or any negative one only looks, NaN is
/// `MTMSG_INVALID_ARGUMENT`, and one too long to represent waits as long
/// as it takes, like this one. (cbindgen cannot write infinity: the
/// header's `#define MTMSG_FOREVER INFINITY` comes from cbindgen.toml.)
pub const MTMSG_FOREVER: f64 = f64::INFINITY;

/// `mtmsg_value.type`: nil, no payload.
pub const MTMSG_NIL: u32 = 0;
/// `mtmsg_value.type`: `as.boolean`.
pub const MTMSG_BOOLEAN: u32 = 1;
/// `mtmsg_value.type`: `as.integer`.
pub const MTMSG_INTEGER: u32 = 2;
/// `mtmsg_value.type`: `as.number`, a double kept bit for bit.
pub const MTMSG_NUMBER: u32 = 3;
/// `mtmsg_value.type`: `as.string`, any bytes (embedded zeros included).
pub const MTMSG_STRING: u32 = 4;
/// `mtmsg_value.type`: `as.pointer`, an opaque address (Lua light userdata).
pub const MTMSG_POINTER: u32 = 5;
/// `mtmsg_value.type`: `as.cfunction`, never NULL (a `lua_CFunction`).
pub const MTMSG_CFUNCTION: u32 = 6;
/// `mtmsg_value.type`: a table, `as.table`. Its entries follow it in the
/// same value array: first `as.table.array` values, those of the keys 1, 2,
/// …, `array` (an `MTMSG_NIL` one is absent), then `as.table.pairs` pairs,
/// each a key followed by its value. An entry that is a table is followed
/// by its own entries before the next entry of its parent (depth first).
/// So `{10, 20, x = {}}` is `TABLE{2,1}, 10, 20, "x", TABLE{0,0}`: five
/// entries, one value of the message. Keys may be any value but nil and a
/// NaN number (tables too); Lua makes keys it sees as equal (`1` and `1.0`)
/// one key, the later pair winning.
pub const MTMSG_TABLE: u32 = 7;
/// `mtmsg_value.type`: `as.table_ref`, the same table as an earlier one of
/// the message: the message's `MTMSG_TABLE` entries are numbered from 0 in
/// the order they appear (through all `mtmsg_writer_add` calls that build
/// it), and a reference may name any table before it, one still open
/// included, which is how cycles travel (`t.self = t` is
/// `TABLE{0,1}, "self", TABLE_REF 0`).
pub const MTMSG_TABLE_REF: u32 = 8;
/// How deep tables may be nested: a table among the message's values is at
/// depth 1, a table in it at depth 2. Deeper ones are refused with
/// `MTMSG_INVALID_ARGUMENT` (an argument error in Lua).
pub const MTMSG_MAX_DEPTH: usize = 200;

/// `mtmsg_buffer_notifier` kind `'>'`: notify after each added message.
pub const MTMSG_NOTIFY_ADDED: i32 = b'>' as i32;
/// `mtmsg_buffer_notifier` kind `'<'`: notify after each taken message.
pub const MTMSG_NOTIFY_REMOVED: i32 = b'<' as i32;

/// What a call did. Every function that can fail returns one; results go
/// through out pointers. After an error status, `mtmsg_last_error()` has
/// the text.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mtmsg_status {
    /// Done.
    MTMSG_OK = 0,
    /// No message: the timeout passed, or a poll (timeout 0, nonblock) found none.
    MTMSG_TIMEOUT = 1,
    /// Not done now: a fixed-size buffer is full, or a nonblocking reference
    /// found the buffer busy in another thread.
    MTMSG_WOULD_BLOCK = 2,
    /// `mtmsg.error.ambiguous_name`: several objects have that name.
    MTMSG_AMBIGUOUS_NAME = 3,
    /// `mtmsg.error.has_notifier`: a notifier of that kind is connected.
    MTMSG_HAS_NOTIFIER = 4,
    /// `mtmsg.error.message_size`: the message exceeds a fixed size.
    MTMSG_MESSAGE_SIZE = 5,
    /// `mtmsg.error.no_buffers`: a listener with no buffers and no messages.
    MTMSG_NO_BUFFERS = 6,
    /// `mtmsg.error.object_closed`.
    MTMSG_OBJECT_CLOSED = 7,
    /// `mtmsg.error.operation_aborted`.
    MTMSG_OPERATION_ABORTED = 8,
    /// `mtmsg.error.out_of_memory`.
    MTMSG_OUT_OF_MEMORY = 9,
    /// `mtmsg.error.unknown_object`: no object with that id or name.
    MTMSG_UNKNOWN_OBJECT = 10,
    /// A NULL pointer, unknown value tag, NaN or other unusable argument.
    MTMSG_INVALID_ARGUMENT = 11,
    /// A bug of mtmsg caught at the boundary outside any of its locks (a
    /// broken assumption about an argument or a result, never about the
    /// state of a buffer): the objects are as they were, and the library
    /// stays usable. A failure inside a lock, where a buffer or listener
    /// may be half changed, is not reported: it aborts the process with a
    /// message on stderr.
    MTMSG_PANIC = 12,
}

impl From<ErrorKind> for mtmsg_status {
    fn from(kind: ErrorKind) -> mtmsg_status {
        use mtmsg_status::*;
        match kind {
            ErrorKind::AmbiguousName => MTMSG_AMBIGUOUS_NAME,
            ErrorKind::HasNotifier => MTMSG_HAS_NOTIFIER,
            ErrorKind::MessageSize => MTMSG_MESSAGE_SIZE,
            ErrorKind::NoBuffers => MTMSG_NO_BUFFERS,
            ErrorKind::ObjectClosed => MTMSG_OBJECT_CLOSED,
            ErrorKind::OperationAborted => MTMSG_OPERATION_ABORTED,
            ErrorKind::OutOfMemory => MTMSG_OUT_OF_MEMORY,
            ErrorKind::UnknownObject => MTMSG_UNKNOWN_OBJECT,
            ErrorKind::InvalidArgument => MTMSG_INVALID_ARGUMENT,
        }
    }
}

impl From<Progress> for mtmsg_status {
    fn from(progress: Progress) -> mtmsg_status {
        match progress {
            Progress::Done => mtmsg_status::MTMSG_OK,
            Progress::TimedOut => mtmsg_status::MTMSG_TIMEOUT,
            Progress::WouldBlock => mtmsg_status::MTMSG_WOULD_BLOCK,
        }
    }
}

/// A C function as a message value (e.g. a `lua_CFunction`, cast).
pub type mtmsg_cfunction = Option<unsafe extern "C" fn()>;

/// A string value: `len` bytes at `ptr` (`ptr` may be NULL when `len` is 0).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct mtmsg_string {
    pub ptr: *const std::ffi::c_char,
    pub len: usize,
}

/// A table value: how many entries follow it (see `MTMSG_TABLE`).
#[repr(C)]
#[derive(Clone, Copy)]
pub struct mtmsg_table {
    /// Values of the keys 1 to `array`, in order.
    pub array: usize,
    /// Key/value pairs after them (2 × `pairs` entries).
    pub pairs: usize,
}

/// The payload of an `mtmsg_value`, selected by its `type`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union mtmsg_payload {
    pub boolean: bool,
    pub integer: i64,
    pub number: f64,
    pub string: mtmsg_string,
    pub pointer: *mut c_void,
    pub cfunction: mtmsg_cfunction,
    pub table: mtmsg_table,
    pub table_ref: usize,
}

/// One value of a message, or one entry of a table: `type` is one of
/// `MTMSG_NIL` … `MTMSG_TABLE_REF`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct mtmsg_value {
    pub r#type: u32,
    pub r#as: mtmsg_payload,
}

fn invalid(detail: &str) -> Error {
    Error::new(ErrorKind::InvalidArgument, detail)
}

impl AsValue for mtmsg_value {
    #[inline]
    fn as_value(&self) -> Result<Value<'_>, Error> {
        // SAFETY: the tag says which field C wrote; booleans are read as a
        // byte since C may store any non-zero value in one.
        unsafe {
            Ok(match self.r#type {
                MTMSG_NIL => Value::Nil,
                MTMSG_BOOLEAN => Value::Boolean(*(&self.r#as as *const mtmsg_payload as *const u8) != 0),
                MTMSG_INTEGER => Value::Integer(self.r#as.integer),
                MTMSG_NUMBER => Value::Number(self.r#as.number),
                MTMSG_STRING => {
                    let s = self.r#as.string;
                    if s.len == 0 {
                        Value::String(&[])
                    } else if s.ptr.is_null() {
                        return Err(invalid("string value with NULL pointer"));
                    } else {
                        Value::String(std::slice::from_raw_parts(s.ptr as *const u8, s.len))
                    }
                }
                MTMSG_POINTER => Value::Pointer(self.r#as.pointer as usize),
                MTMSG_CFUNCTION => match self.r#as.cfunction {
                    Some(f) => Value::CFunction(f as usize),
                    None => return Err(invalid("C function value is NULL")),
                },
                MTMSG_TABLE => Value::Table { array: self.r#as.table.array, pairs: self.r#as.table.pairs },
                MTMSG_TABLE_REF => Value::TableRef(self.r#as.table_ref),
                _ => return Err(invalid("unknown value type")),
            })
        }
    }
}

impl mtmsg_value {
    /// The C form of a value read from a message.
    pub(crate) fn from_value(value: Value<'_>) -> mtmsg_value {
        let (r#type, r#as) = match value {
            Value::Nil => (MTMSG_NIL, mtmsg_payload { integer: 0 }),
            Value::Boolean(b) => (MTMSG_BOOLEAN, mtmsg_payload { boolean: b }),
            Value::Integer(i) => (MTMSG_INTEGER, mtmsg_payload { integer: i }),
            Value::Number(n) => (MTMSG_NUMBER, mtmsg_payload { number: n }),
            Value::String(s) => (
                MTMSG_STRING,
                mtmsg_payload { string: mtmsg_string { ptr: s.as_ptr() as *const std::ffi::c_char, len: s.len() } },
            ),
            Value::Pointer(p) => (MTMSG_POINTER, mtmsg_payload { pointer: p as *mut c_void }),
            // SAFETY: the address came from a non-NULL C function pointer.
            Value::CFunction(f) => (MTMSG_CFUNCTION, mtmsg_payload { cfunction: unsafe { std::mem::transmute::<usize, mtmsg_cfunction>(f) } }),
            Value::Table { array, pairs } => (MTMSG_TABLE, mtmsg_payload { table: mtmsg_table { array, pairs } }),
            Value::TableRef(number) => (MTMSG_TABLE_REF, mtmsg_payload { table_ref: number }),
        };
        mtmsg_value { r#type, r#as }
    }
}

/// One reference to a buffer; `mtmsg_buffer_release` drops it. May be used
/// from any thread; its nonblock mode is its own.
pub struct mtmsg_buffer(pub(crate) BufferRef);

/// One reference to a listener; `mtmsg_listener_release` drops it.
pub struct mtmsg_listener(pub(crate) ListenerRef);

/// A message being built; use it from one thread at a time.
pub struct mtmsg_writer(pub(crate) Writer);

/// A taken message being read; use it from one thread at a time.
pub struct mtmsg_reader(pub(crate) Reader);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_depth_is_the_core_depth() {
        assert_eq!(MTMSG_MAX_DEPTH, crate::tables::MAX_DEPTH);
    }

    #[test]
    fn header_defaults_are_the_core_defaults() {
        let sizes = crate::Sizes::default();
        assert_eq!((MTMSG_DEFAULT_SIZE1, MTMSG_DEFAULT_SIZE2, MTMSG_DEFAULT_GROW), (sizes.size1, sizes.size2, sizes.grow));
    }
}
