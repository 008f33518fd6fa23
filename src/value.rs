//! Message values and their encoding.
//!
//! A message is stored as one run of bytes:
//!
//! ```text
//! varint(body length) varint(value count) body
//! ```
//!
//! and the body is the values in order, each a tag byte followed by its
//! payload: nothing for nil and booleans, 8 bytes (little endian) for
//! integers, floats (their bit pattern), pointers and C functions, and
//! `varint(length)` plus the bytes for strings. A varint takes one byte per
//! started 7 bits (1 byte below 128, 2 below 16384, ...). So a message
//! `("tag", 42, 1.5)` occupies 2 + (1+1+3) + 9 + 9 = 25 bytes.
//!
//! A table is its header, `tag varint(array) varint(pairs)`, followed by
//! its entries as further values (see `tables.rs`); a table seen before in
//! the same message is `tag varint(number)`. The value count of the
//! header counts a table with its entries as one value.

use crate::error::{Error, ErrorKind};
use crate::tables;

/// One value of a message.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    Nil,
    Boolean(bool),
    Integer(i64),
    /// A float; stored bit for bit (NaN payloads, infinities and -0.0 kept).
    Number(f64),
    /// Any bytes, embedded zeros included.
    String(&'a [u8]),
    /// An opaque address (a Lua light userdata, a C `void *`).
    Pointer(usize),
    /// The address of a C function; never 0.
    CFunction(usize),
    /// A table: the values of keys 1..=`array` follow (a nil one is
    /// absent), then `pairs` keys each followed by its value; entries that
    /// are tables are followed by their own entries first.
    Table { array: usize, pairs: usize },
    /// The same table as the message's table of this number (its tables
    /// are numbered from 0 in the order they appear).
    TableRef(usize),
}

/// Anything that can be read as a [`Value`]; lets the C ABI hand over its
/// tagged structs without first copying them into `Value`s.
pub trait AsValue {
    /// The value, or an error when it is not a valid one (e.g. an unknown
    /// tag coming from C).
    fn as_value(&self) -> Result<Value<'_>, Error>;
}

impl AsValue for Value<'_> {
    fn as_value(&self) -> Result<Value<'_>, Error> {
        Ok(*self)
    }
}

const TAG_NIL: u8 = 0;
const TAG_FALSE: u8 = 1;
const TAG_TRUE: u8 = 2;
const TAG_INTEGER: u8 = 3;
const TAG_NUMBER: u8 = 4;
const TAG_STRING: u8 = 5;
const TAG_POINTER: u8 = 6;
const TAG_CFUNCTION: u8 = 7;
const TAG_TABLE: u8 = 8;
const TAG_TABLE_REF: u8 = 9;

#[inline]
pub(crate) fn varint_len(n: usize) -> usize {
    // One byte per started 7 bits of the value (0 takes one byte too).
    (usize::BITS - (n | 1).leading_zeros()).div_ceil(7) as usize
}

#[inline]
pub(crate) fn put_varint(dst: &mut [u8], pos: usize, n: usize) -> usize {
    if n < 0x80 {
        dst[pos] = n as u8;
        return pos + 1;
    }
    put_long_varint(dst, pos, n)
}

fn put_long_varint(dst: &mut [u8], mut pos: usize, mut n: usize) -> usize {
    while n >= 0x80 {
        dst[pos] = (n as u8) | 0x80;
        n >>= 7;
        pos += 1;
    }
    dst[pos] = n as u8;
    pos + 1
}

/// Reads a varint at `*pos`; `None` when the bytes end first.
#[inline]
pub(crate) fn get_varint(src: &[u8], pos: &mut usize) -> Option<usize> {
    match src.get(*pos) {
        Some(&byte) if byte < 0x80 => {
            *pos += 1;
            Some(byte as usize)
        }
        _ => get_long_varint(src, pos),
    }
}

fn get_long_varint(src: &[u8], pos: &mut usize) -> Option<usize> {
    let mut n = 0usize;
    let mut shift = 0;
    loop {
        let byte = *src.get(*pos)?;
        *pos += 1;
        n |= ((byte & 0x7f) as usize) << shift;
        if byte < 0x80 {
            return Some(n);
        }
        shift += 7;
        if shift >= usize::BITS {
            return None;
        }
    }
}

pub(crate) fn value_size(value: &Value<'_>) -> usize {
    match value {
        Value::Nil | Value::Boolean(_) => 1,
        Value::String(s) => 1 + varint_len(s.len()) + s.len(),
        Value::Integer(_) | Value::Number(_) | Value::Pointer(_) | Value::CFunction(_) => 9,
        Value::Table { array, pairs } => 1 + varint_len(*array) + varint_len(*pairs),
        Value::TableRef(number) => 1 + varint_len(*number),
    }
}

/// The encoded body of some values, measured before it is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BodySize {
    pub bytes: usize,
    pub count: usize,
}

impl BodySize {
    /// Bytes of the whole message: header plus body.
    #[inline]
    pub fn message_bytes(self) -> usize {
        header_len(self) + self.bytes
    }
}

#[inline]
pub(crate) fn header_len(size: BodySize) -> usize {
    varint_len(size.bytes) + varint_len(size.count)
}

/// A body measured: its size, and how many tables it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Measured {
    pub size: BodySize,
    pub tables: usize,
}

pub(crate) fn too_large() -> Error {
    Error::new(ErrorKind::OutOfMemory, "message too large")
}

/// Checks every value and measures the body they encode to. Tables are
/// numbered on from `tables_before` (the tables of the message added
/// before these values, by a writer).
///
/// Values without tables pay nothing for them: the sum starts at 1, and a
/// table or reference counts `usize::MAX` bytes here, so that it overflows
/// the sum like a message too large does; the one test of the overflow
/// then sends both to `tables::measure`, which measures again with the
/// shape checks (and tells a message too large).
#[inline]
pub(crate) fn measure<T: AsValue>(values: &[T], tables_before: usize) -> Result<Measured, Error> {
    let mut bytes_plus_1 = 1usize;
    for value in values {
        let size = match value.as_value()? {
            Value::Table { .. } | Value::TableRef(_) => usize::MAX,
            value => value_size(&value),
        };
        match bytes_plus_1.checked_add(size) {
            Some(sum) => bytes_plus_1 = sum,
            None => return tables::measure(values, tables_before),
        }
    }
    Ok(Measured { size: BodySize { bytes: bytes_plus_1 - 1, count: values.len() }, tables: 0 })
}

/// Where encoded bytes go: a slice of exactly the measured length, or the
/// end of a vector with room reserved (for bodies kept out of the queue,
/// written without first filling their memory with zeros).
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

struct SliceSink<'a> {
    dst: &'a mut [u8],
    pos: usize,
}

impl Sink for SliceSink<'_> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.dst[self.pos..self.pos + bytes.len()].copy_from_slice(bytes);
        self.pos += bytes.len();
    }
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// A message body on its way into a buffer: already measured, written
/// either in place (into the queue) or appended (into memory of its own).
pub(crate) trait Body {
    fn size(&self) -> BodySize;
    /// Writes the body into `dst`, which has exactly its length.
    fn write_in_place(&self, dst: &mut [u8]);
    /// Appends the body to `dst` (room reserved by the caller).
    fn append_to(&self, dst: &mut Vec<u8>);
}

/// Values to encode, checked and measured.
pub(crate) struct Values<'a, T> {
    values: &'a [T],
    measured: Measured,
}

impl<'a, T: AsValue> Values<'a, T> {
    /// The values of a whole message.
    #[inline]
    pub fn new(values: &'a [T]) -> Result<Values<'a, T>, Error> {
        Values::after_tables(values, 0)
    }

    /// Values that follow `tables_before` tables of the same message.
    #[inline]
    pub fn after_tables(values: &'a [T], tables_before: usize) -> Result<Values<'a, T>, Error> {
        Ok(Values { values, measured: measure(values, tables_before)? })
    }

    /// How many tables the values hold (references not counted).
    pub fn tables(&self) -> usize {
        self.measured.tables
    }
}

impl<T: AsValue> Values<'_, T> {
    fn encode(&self, sink: &mut impl Sink) {
        for value in self.values {
            encode_value(&value.as_value().expect("values were checked by measure()"), sink);
        }
    }
}

impl<T: AsValue> Body for Values<'_, T> {
    fn size(&self) -> BodySize {
        self.measured.size
    }

    fn write_in_place(&self, dst: &mut [u8]) {
        let mut sink = SliceSink { dst, pos: 0 };
        self.encode(&mut sink);
        debug_assert_eq!(sink.pos, sink.dst.len());
    }

    fn append_to(&self, dst: &mut Vec<u8>) {
        self.encode(dst);
    }
}

/// A body encoded before (by a writer).
pub(crate) struct Encoded<'a> {
    pub bytes: &'a [u8],
    pub count: usize,
}

impl Body for Encoded<'_> {
    fn size(&self) -> BodySize {
        BodySize { bytes: self.bytes.len(), count: self.count }
    }

    fn write_in_place(&self, dst: &mut [u8]) {
        dst.copy_from_slice(self.bytes);
    }

    fn append_to(&self, dst: &mut Vec<u8>) {
        dst.extend_from_slice(self.bytes);
    }
}

fn put_u64(sink: &mut impl Sink, tag: u8, payload: u64) {
    let mut bytes = [tag; 9];
    bytes[1..].copy_from_slice(&payload.to_le_bytes());
    sink.put(&bytes);
}

fn encode_value(value: &Value<'_>, sink: &mut impl Sink) {
    match *value {
        Value::Nil => sink.put(&[TAG_NIL]),
        Value::Boolean(b) => sink.put(&[if b { TAG_TRUE } else { TAG_FALSE }]),
        Value::Integer(i) => put_u64(sink, TAG_INTEGER, i as u64),
        Value::Number(n) => put_u64(sink, TAG_NUMBER, n.to_bits()),
        Value::Pointer(p) => put_u64(sink, TAG_POINTER, p as u64),
        Value::CFunction(f) => put_u64(sink, TAG_CFUNCTION, f as u64),
        Value::String(s) => {
            let mut head = [TAG_STRING; 11];
            let end = put_varint(&mut head, 1, s.len());
            sink.put(&head[..end]);
            sink.put(s);
        }
        Value::Table { array, pairs } => {
            let mut head = [TAG_TABLE; 21];
            let end = put_varint(&mut head, 1, array);
            let end = put_varint(&mut head, end, pairs);
            sink.put(&head[..end]);
        }
        Value::TableRef(number) => {
            let mut head = [TAG_TABLE_REF; 11];
            let end = put_varint(&mut head, 1, number);
            sink.put(&head[..end]);
        }
    }
}

fn get_u64(src: &[u8], pos: &mut usize) -> Option<u64> {
    let bytes = src.get(*pos..*pos + 8)?;
    *pos += 8;
    Some(u64::from_le_bytes(bytes.try_into().ok()?))
}

/// Decodes the value at `*pos` of an encoded body and moves past it.
/// `None` when the bytes are not a valid encoding (never for bodies mtmsg
/// wrote itself).
#[inline]
pub(crate) fn decode_value<'a>(src: &'a [u8], pos: &mut usize) -> Option<Value<'a>> {
    let tag = *src.get(*pos)?;
    *pos += 1;
    Some(match tag {
        TAG_NIL => Value::Nil,
        TAG_FALSE => Value::Boolean(false),
        TAG_TRUE => Value::Boolean(true),
        TAG_INTEGER => Value::Integer(get_u64(src, pos)? as i64),
        TAG_NUMBER => Value::Number(f64::from_bits(get_u64(src, pos)?)),
        TAG_POINTER => Value::Pointer(get_u64(src, pos)? as usize),
        TAG_CFUNCTION => Value::CFunction(get_u64(src, pos)? as usize),
        TAG_STRING => {
            let len = get_varint(src, pos)?;
            let end = pos.checked_add(len)?;
            let s = src.get(*pos..end)?;
            *pos = end;
            Value::String(s)
        }
        TAG_TABLE => {
            let array = get_varint(src, pos)?;
            Value::Table { array, pairs: get_varint(src, pos)? }
        }
        TAG_TABLE_REF => Value::TableRef(get_varint(src, pos)?),
        _ => return None,
    })
}

/// How many bytes a message of these values occupies in a buffer: the
/// figure to plan fixed-size buffers with (`size1` must hold one message,
/// `size2` all queued ones).
/// `usize::MAX` for values that are not a valid message (see
/// `tables.rs` for what makes the entries of tables valid).
pub fn encoded_message_size(values: &[Value<'_>]) -> usize {
    measure(values, 0).map(|m| m.size.message_bytes()).unwrap_or(usize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(values: &[Value<'_>]) -> Vec<u8> {
        let body = Values::new(values).unwrap();
        let mut in_place = vec![0u8; body.size().bytes];
        body.write_in_place(&mut in_place);
        let mut appended = Vec::new();
        body.append_to(&mut appended);
        assert_eq!(in_place, appended);
        in_place
    }

    #[test]
    fn every_value_type_round_trips_bit_exact() {
        let s = b"a\0b".to_vec();
        let values = [
            Value::Nil,
            Value::Boolean(true),
            Value::Boolean(false),
            Value::Integer(i64::MAX),
            Value::Integer(i64::MIN),
            Value::Number(-0.0),
            Value::Number(f64::NAN),
            Value::Number(f64::INFINITY),
            Value::String(&s),
            Value::String(b""),
            Value::Pointer(0xdead_beef),
            Value::CFunction(0x1234),
        ];
        let body = round_trip(&values);
        let mut pos = 0;
        for expected in &values {
            let got = decode_value(&body, &mut pos).unwrap();
            match (expected, got) {
                (Value::Number(a), Value::Number(b)) => assert_eq!(a.to_bits(), b.to_bits()),
                (a, b) => assert_eq!(*a, b),
            }
        }
        assert_eq!(pos, body.len());
    }

    #[test]
    fn documented_size_of_a_small_message() {
        let values = [Value::String(b"tag"), Value::Integer(42), Value::Number(1.5)];
        assert_eq!(encoded_message_size(&values), 25);
        assert_eq!(encoded_message_size(&[]), 2);
    }

    #[test]
    fn varint_boundaries() {
        for n in [0usize, 127, 128, 16383, 16384, usize::MAX] {
            let mut buf = [0u8; 10];
            let end = put_varint(&mut buf, 0, n);
            assert_eq!(end, varint_len(n));
            let mut pos = 0;
            assert_eq!(get_varint(&buf, &mut pos), Some(n));
        }
    }

    #[test]
    fn truncated_bytes_decode_to_none_not_a_panic() {
        let body = round_trip(&[Value::String(b"hello")]);
        let mut pos = 0;
        assert!(decode_value(&body[..3], &mut pos).is_none());
        let mut pos = 0;
        assert!(decode_value(&[99u8], &mut pos).is_none());
    }
}
