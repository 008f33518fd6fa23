//! The error names of mtmsg and the text that goes with them.

use std::fmt;

/// Which error happened; each has the stable name `mtmsg.error.<name>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    AmbiguousName,
    HasNotifier,
    MessageSize,
    NoBuffers,
    ObjectClosed,
    OperationAborted,
    OutOfMemory,
    UnknownObject,
    /// Not an mtmsg error name: a C caller passed something unusable
    /// (NULL, an unknown value tag, NaN). The Lua glue checks its arguments
    /// before calling, so Lua never sees this one.
    InvalidArgument,
}

impl ErrorKind {
    /// The full error name, e.g. `mtmsg.error.object_closed`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::AmbiguousName => "mtmsg.error.ambiguous_name",
            ErrorKind::HasNotifier => "mtmsg.error.has_notifier",
            ErrorKind::MessageSize => "mtmsg.error.message_size",
            ErrorKind::NoBuffers => "mtmsg.error.no_buffers",
            ErrorKind::ObjectClosed => "mtmsg.error.object_closed",
            ErrorKind::OperationAborted => "mtmsg.error.operation_aborted",
            ErrorKind::OutOfMemory => "mtmsg.error.out_of_memory",
            ErrorKind::UnknownObject => "mtmsg.error.unknown_object",
            ErrorKind::InvalidArgument => "invalid_argument",
        }
    }
}

/// An error with a detail that names the object or argument concerned.
///
/// Its text is `<name>: <detail>`, e.g.
/// `mtmsg.error.object_closed: mtmsg.buffer(name="in",id=7)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub detail: String,
}

impl Error {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Error {
        Error { kind, detail: detail.into() }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.detail.is_empty() {
            f.write_str(self.kind.name())
        } else {
            write!(f, "{}: {}", self.kind.name(), self.detail)
        }
    }
}

impl std::error::Error for Error {}

/// Describes an object for error texts: `mtmsg.buffer(name="in",id=7)`,
/// or `mtmsg.buffer(id=7)` when unnamed. The name is quoted with `"`, `\`
/// and NUL escaped, so any bytes give a readable, unambiguous text.
pub(crate) fn describe(class: &str, name: Option<&[u8]>, id: Option<u64>) -> String {
    let mut text = String::with_capacity(32);
    text.push_str(class);
    text.push('(');
    if let Some(name) = name {
        text.push_str("name=\"");
        for chunk in name.utf8_chunks() {
            for c in chunk.valid().chars() {
                match c {
                    '"' => text.push_str("\\\""),
                    '\\' => text.push_str("\\\\"),
                    '\0' => text.push_str("\\0"),
                    c => text.push(c),
                }
            }
            for byte in chunk.invalid() {
                text.push_str(&format!("\\x{byte:02x}"));
            }
        }
        text.push('"');
    }
    if let Some(id) = id {
        if name.is_some() {
            text.push(',');
        }
        text.push_str(&format!("id={id}"));
    }
    text.push(')');
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_is_name_colon_detail() {
        let e = Error::new(ErrorKind::ObjectClosed, describe("mtmsg.buffer", Some(b"in"), Some(7)));
        assert_eq!(e.to_string(), "mtmsg.error.object_closed: mtmsg.buffer(name=\"in\",id=7)");
    }

    #[test]
    fn describe_escapes_quote_backslash_and_nul() {
        let text = describe("mtmsg.listener", Some(b"a\"b\\c\0d"), Some(3));
        assert_eq!(text, "mtmsg.listener(name=\"a\\\"b\\\\c\\0d\",id=3)");
        assert_eq!(describe("mtmsg.buffer", None, Some(9)), "mtmsg.buffer(id=9)");
    }
}
