//! Property tests: random sequences of operations through the C
//! ABI (`mtmsg::ffi`, what `include/mtmsg.h` declares), each checked
//! against a simple model of what it must return: create buffers (growing
//! and fixed-size, standalone and of a listener), add, set, add with a
//! timeout, take with timeouts (through growing and small fixed-size
//! readers), build with a writer, count, clear, close, abort and un-abort
//! (a buffer, the listener, everything), release, clone and find again.
//! And the message encoding: any values, tables among them (random trees
//! with shared tables and cycles, in their flat form), come back entry for
//! entry, and occupy the bytes the README's arithmetic says; any array
//! changed at random is taken whole or refused with nothing added.
//!
//! A bounded run is part of `cargo test`; a long run:
//!
//! ```sh
//! PROPTEST_CASES=20000 cargo test --release --test model
//! ```
//!
//! (`PROPTEST_CASES` sets the cases of each property, 256 by default.) The
//! tests share the process-wide state (everything aborted, the registry),
//! so they take turns.

use std::collections::VecDeque;
use std::ffi::CStr;
use std::ptr;
use std::sync::Mutex;

use mtmsg::ffi::*;
use mtmsg::{encoded_message_size, Value};
use proptest::prelude::*;
use proptest::sample::Index;

use mtmsg_status::*;

static TAKING_TURNS: Mutex<()> = Mutex::new(());

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(256);
    ProptestConfig { cases, max_shrink_iters: 2000, ..ProptestConfig::default() }
}

// ---- values ----

/// A message value the model keeps: floats as their bits.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Val {
    Nil,
    Bool(bool),
    Int(i64),
    Num(u64),
    Str(Vec<u8>),
    Ptr(usize),
    /// A C function's address: any non-zero one, as the library only
    /// carries it (a function's own address is not one value in Rust:
    /// each use may get another copy of it).
    Func(usize),
    /// A table header: its entries follow.
    Table { array: usize, pairs: usize },
    /// A table met before in the message.
    Ref(usize),
}

impl Val {
    fn to_c(&self) -> mtmsg_value {
        let (r#type, r#as) = match self {
            Val::Nil => (MTMSG_NIL, mtmsg_payload { integer: 0 }),
            Val::Bool(b) => (MTMSG_BOOLEAN, mtmsg_payload { boolean: *b }),
            Val::Int(i) => (MTMSG_INTEGER, mtmsg_payload { integer: *i }),
            Val::Num(bits) => (MTMSG_NUMBER, mtmsg_payload { number: f64::from_bits(*bits) }),
            Val::Str(s) => (
                MTMSG_STRING,
                mtmsg_payload { string: mtmsg_string { ptr: s.as_ptr() as *const std::ffi::c_char, len: s.len() } },
            ),
            Val::Ptr(p) => (MTMSG_POINTER, mtmsg_payload { pointer: *p as *mut std::ffi::c_void }),
            // SAFETY: a non-zero address, never called.
            Val::Func(f) => (MTMSG_CFUNCTION, mtmsg_payload { cfunction: unsafe { std::mem::transmute::<usize, mtmsg_cfunction>(*f) } }),
            Val::Table { array, pairs } => (MTMSG_TABLE, mtmsg_payload { table: mtmsg_table { array: *array, pairs: *pairs } }),
            Val::Ref(n) => (MTMSG_TABLE_REF, mtmsg_payload { table_ref: *n }),
        };
        mtmsg_value { r#type, r#as }
    }

    /// # Safety
    /// A string value's pointer must be valid for its length.
    unsafe fn of_c(v: &mtmsg_value) -> Val {
        match v.r#type {
            MTMSG_NIL => Val::Nil,
            MTMSG_BOOLEAN => Val::Bool(v.r#as.boolean),
            MTMSG_INTEGER => Val::Int(v.r#as.integer),
            MTMSG_NUMBER => Val::Num(v.r#as.number.to_bits()),
            MTMSG_STRING => {
                let s = v.r#as.string;
                Val::Str(if s.len == 0 { Vec::new() } else { std::slice::from_raw_parts(s.ptr as *const u8, s.len).to_vec() })
            }
            MTMSG_POINTER => Val::Ptr(v.r#as.pointer as usize),
            MTMSG_CFUNCTION => Val::Func(v.r#as.cfunction.map_or(0, |f| f as usize)),
            MTMSG_TABLE => Val::Table { array: v.r#as.table.array, pairs: v.r#as.table.pairs },
            MTMSG_TABLE_REF => Val::Ref(v.r#as.table_ref),
            other => panic!("unknown value type {other} read back"),
        }
    }

    fn as_value(&self) -> Value<'_> {
        match self {
            Val::Nil => Value::Nil,
            Val::Bool(b) => Value::Boolean(*b),
            Val::Int(i) => Value::Integer(*i),
            Val::Num(bits) => Value::Number(f64::from_bits(*bits)),
            Val::Str(s) => Value::String(s),
            Val::Ptr(p) => Value::Pointer(*p),
            Val::Func(f) => Value::CFunction(*f),
            Val::Table { array, pairs } => Value::Table { array: *array, pairs: *pairs },
            Val::Ref(n) => Value::TableRef(*n),
        }
    }
}

fn varint_len(mut n: usize) -> usize {
    let mut len = 1;
    while n >= 0x80 {
        n >>= 7;
        len += 1;
    }
    len
}

/// The entries of each value of a well-formed message: a table's value
/// runs on until its entries, and theirs, are all there.
fn values_in(entries: &[Val]) -> Vec<&[Val]> {
    let mut values = Vec::new();
    let (mut start, mut owed) = (0, 0usize);
    for (at, entry) in entries.iter().enumerate() {
        owed = owed.saturating_sub(1); // the entry fills a place in an open table
        if let Val::Table { array, pairs } = entry {
            owed += array + 2 * pairs;
        }
        if owed == 0 {
            values.push(&entries[start..=at]);
            start = at + 1;
        }
    }
    values
}

/// The bytes a message occupies, as the README states them.
fn message_bytes(values: &[Val]) -> usize {
    let body: usize = values
        .iter()
        .map(|v| match v {
            Val::Nil | Val::Bool(_) => 1,
            Val::Str(s) => 1 + varint_len(s.len()) + s.len(),
            Val::Table { array, pairs } => 1 + varint_len(*array) + varint_len(*pairs),
            Val::Ref(n) => 1 + varint_len(*n),
            _ => 9,
        })
        .sum();
    varint_len(body) + varint_len(values_in(values).len()) + body
}

fn val(max_string: usize) -> impl Strategy<Value = Val> {
    prop_oneof![
        Just(Val::Nil),
        any::<bool>().prop_map(Val::Bool),
        any::<i64>().prop_map(Val::Int),
        prop_oneof![
            any::<u64>(),
            Just(f64::NAN.to_bits()),
            Just((-0.0f64).to_bits()),
            Just(f64::INFINITY.to_bits()),
            Just(f64::NEG_INFINITY.to_bits())
        ]
        .prop_map(Val::Num),
        prop::collection::vec(any::<u8>(), 0..max_string).prop_map(Val::Str),
        any::<usize>().prop_map(Val::Ptr),
        (1..=usize::MAX).prop_map(Val::Func),
    ]
}

/// A message value as a tree, as a Lua program sees it.
#[derive(Clone, Debug)]
enum Node {
    Leaf(Val),
    Table { array: Vec<Node>, pairs: Vec<(Node, Node)> },
    /// A table met before: the one of this number, modulo the tables
    /// flattened so far (a shared table, or a cycle when it is still open).
    Again(usize),
}

fn node(max_string: usize) -> impl Strategy<Value = Node> {
    let leaf = prop_oneof![8 => val(max_string).prop_map(Node::Leaf), 1 => any::<usize>().prop_map(Node::Again)];
    leaf.prop_recursive(4, 48, 6, |inner| {
        (prop::collection::vec(inner.clone(), 0..6), prop::collection::vec((inner.clone(), inner), 0..4))
            .prop_map(|(array, pairs)| Node::Table { array, pairs })
    })
}

/// The flat entries of a tree, tables numbered on from `*tables`. Keys Lua
/// cannot hold (nil, NaN) become other ones; a reference before any table
/// becomes a boolean.
fn flatten(node: &Node, is_key: bool, tables: &mut usize, out: &mut Vec<Val>) {
    match node {
        Node::Leaf(Val::Nil) if is_key => out.push(Val::Bool(false)),
        Node::Leaf(Val::Num(bits)) if is_key && f64::from_bits(*bits).is_nan() => out.push(Val::Int(0)),
        Node::Leaf(v) => out.push(v.clone()),
        Node::Again(_) if *tables == 0 => out.push(Val::Bool(true)),
        Node::Again(n) => out.push(Val::Ref(n % *tables)),
        Node::Table { array, pairs } => {
            *tables += 1;
            out.push(Val::Table { array: array.len(), pairs: pairs.len() });
            for value in array {
                flatten(value, false, tables, out);
            }
            for (key, value) in pairs {
                flatten(key, true, tables, out);
                flatten(value, false, tables, out);
            }
        }
    }
}

/// Random messages in their flat form, tables among their values.
fn message(max_values: usize, max_string: usize) -> impl Strategy<Value = Vec<Val>> {
    prop::collection::vec(node(max_string), 0..max_values).prop_map(|nodes| {
        let (mut tables, mut out) = (0, Vec::new());
        for node in &nodes {
            flatten(node, false, &mut tables, &mut out);
        }
        out
    })
}

// ---- the C calls ----

fn last_error() -> String {
    // SAFETY: the library returns a NUL-terminated string, valid until this
    // thread's next failing call.
    unsafe { CStr::from_ptr(mtmsg_last_error()).to_string_lossy().into_owned() }
}

/// An error status comes with a last-error text that starts with its name.
fn check_error_text(status: mtmsg_status) {
    if matches!(status, MTMSG_OK | MTMSG_TIMEOUT | MTMSG_WOULD_BLOCK) {
        return;
    }
    // SAFETY: a static string.
    let name = unsafe { CStr::from_ptr(mtmsg_status_name(status as std::ffi::c_int)) }.to_string_lossy().into_owned();
    let text = last_error();
    assert!(text.starts_with(&name), "status {status:?}: last error {text:?} does not start with {name:?}");
}

fn values_of(msg: &[Val]) -> Vec<mtmsg_value> {
    msg.iter().map(Val::to_c).collect()
}

/// Reads every entry of the reader's message, `remaining` at a time (and
/// one more, to see that there is no more when it says 0): it never says
/// more than there are.
fn read_all(reader: *mut mtmsg_reader) -> Vec<Val> {
    let mut all = Vec::new();
    // SAFETY: a live reader and valid out pointers throughout.
    unsafe {
        loop {
            let mut remaining = 0;
            assert_eq!(mtmsg_reader_remaining(reader, &mut remaining), MTMSG_OK);
            let mut out = vec![mtmsg_value { r#type: 99, r#as: mtmsg_payload { integer: 0 } }; remaining.max(1)];
            let mut got = 0;
            assert_eq!(mtmsg_reader_next(reader, out.as_mut_ptr(), out.len(), &mut got), MTMSG_OK);
            assert!(got >= remaining, "reader_next gave {got} entries, fewer than the {remaining} remaining");
            if got == 0 {
                return all;
            }
            all.extend(out[..got].iter().map(|v| Val::of_c(v)));
        }
    }
}

/// One `mtmsg_writer_add` per value of `msg` (`values` is it in C).
///
/// # Safety
/// A live writer.
unsafe fn add_by_value(writer: *mut mtmsg_writer, msg: &[Val], values: &[mtmsg_value]) {
    let mut at = 0;
    for value in values_in(msg) {
        assert_eq!(mtmsg_writer_add(writer, values[at..].as_ptr(), value.len()), MTMSG_OK);
        at += value.len();
    }
}

// ---- the model ----

#[derive(Clone, Copy, Debug)]
struct Fixed {
    size1: usize,
    size2: usize,
}

struct ModelBuffer {
    id: u64,
    handles: Vec<*mut mtmsg_buffer>,
    queue: VecDeque<Vec<Val>>,
    fixed: Option<Fixed>,
    in_listener: bool,
    closed: bool,
    aborted: bool,
}

impl ModelBuffer {
    fn used(&self) -> usize {
        self.queue.iter().map(|m| message_bytes(m)).sum()
    }
    fn live(&self) -> bool {
        !self.handles.is_empty()
    }
}

struct Model {
    buffers: Vec<ModelBuffer>,
    listener: *mut mtmsg_listener,
    /// Listener buffers with messages, in the order they are served.
    ready: VecDeque<usize>,
    listener_closed: bool,
    listener_aborted: bool,
    everything_aborted: bool,
    readers: [*mut mtmsg_reader; 2],
    writer: *mut mtmsg_writer,
    steps: usize,
}

#[derive(Clone, Debug)]
enum Op {
    NewBuffer { fixed: Option<(usize, usize)>, in_listener: bool },
    Add { b: Index, msg: Vec<Val> },
    Set { b: Index, msg: Vec<Val> },
    AddWait { b: Index, msg: Vec<Val>, timeout: f64 },
    WriterAdd { b: Index, msg: Vec<Val>, set: bool },
    Take { b: Index, timeout: f64, small_reader: bool },
    ListenerTake { timeout: f64, small_reader: bool },
    Count { b: Index },
    Clear { b: Index },
    ListenerClear,
    Close { b: Index },
    ListenerClose,
    Abort { b: Index, flag: bool },
    ListenerAbort { flag: bool },
    AbortEverything { flag: bool },
    Release { b: Index },
    Clone { b: Index },
    FindAgain { b: Index },
}

/// The fixed-size reader takes messages up to this many bytes.
const SMALL_READER: usize = 24;

fn op() -> impl Strategy<Value = Op> {
    let b = any::<Index>;
    let timeout = || prop_oneof![3 => Just(0.0), 1 => Just(0.0003)];
    prop_oneof![
        3 => (prop::option::weighted(0.5, (8usize..60, 0usize..60)), any::<bool>())
            .prop_map(|(fixed, in_listener)| Op::NewBuffer { fixed: fixed.map(|(s1, extra)| (s1, s1 + extra)), in_listener }),
        8 => (b(), message(6, 40)).prop_map(|(b, msg)| Op::Add { b, msg }),
        2 => (b(), message(6, 40)).prop_map(|(b, msg)| Op::Set { b, msg }),
        2 => (b(), message(4, 40), timeout()).prop_map(|(b, msg, timeout)| Op::AddWait { b, msg, timeout }),
        2 => (b(), message(6, 40), any::<bool>()).prop_map(|(b, msg, set)| Op::WriterAdd { b, msg, set }),
        6 => (b(), timeout(), prop::bool::weighted(0.2)).prop_map(|(b, timeout, small_reader)| Op::Take { b, timeout, small_reader }),
        4 => (timeout(), prop::bool::weighted(0.2)).prop_map(|(timeout, small_reader)| Op::ListenerTake { timeout, small_reader }),
        2 => b().prop_map(|b| Op::Count { b }),
        1 => b().prop_map(|b| Op::Clear { b }),
        1 => Just(Op::ListenerClear),
        1 => b().prop_map(|b| Op::Close { b }),
        1 => prop::bool::weighted(0.2).prop_map(|close| if close { Op::ListenerClose } else { Op::ListenerClear }),
        1 => (b(), any::<bool>()).prop_map(|(b, flag)| Op::Abort { b, flag }),
        1 => any::<bool>().prop_map(|flag| Op::ListenerAbort { flag }),
        1 => prop::bool::weighted(0.2).prop_map(|flag| Op::AbortEverything { flag }),
        1 => b().prop_map(|b| Op::Release { b }),
        1 => b().prop_map(|b| Op::Clone { b }),
        1 => b().prop_map(|b| Op::FindAgain { b }),
    ]
}

impl Model {
    fn new() -> Model {
        let mut listener = ptr::null_mut();
        let mut readers = [ptr::null_mut(); 2];
        let mut writer = ptr::null_mut();
        // SAFETY: valid out pointers.
        unsafe {
            assert_eq!(mtmsg_listener_new(b"model".as_ptr() as *const _, 5, &mut listener), MTMSG_OK);
            assert_eq!(mtmsg_reader_new(16, 2.0, &mut readers[0]), MTMSG_OK);
            assert_eq!(mtmsg_reader_new(SMALL_READER, 0.0, &mut readers[1]), MTMSG_OK);
            assert_eq!(mtmsg_writer_new(8, 2.0, &mut writer), MTMSG_OK);
        }
        Model {
            buffers: Vec::new(),
            listener,
            ready: VecDeque::new(),
            listener_closed: false,
            listener_aborted: false,
            everything_aborted: false,
            readers,
            writer,
            steps: 0,
        }
    }

    /// A buffer with a handle, chosen by `index`.
    fn pick(&self, index: &Index) -> Option<usize> {
        let live: Vec<usize> = (0..self.buffers.len()).filter(|&i| self.buffers[i].live()).collect();
        (!live.is_empty()).then(|| live[index.index(live.len())])
    }

    fn handle(&self, b: usize, index: &Index) -> *mut mtmsg_buffer {
        let handles = &self.buffers[b].handles;
        handles[index.index(handles.len())]
    }

    /// What an operation on buffer `b` gives while it cannot be used.
    fn unusable(&self, b: usize) -> Option<mtmsg_status> {
        let buffer = &self.buffers[b];
        let listener = buffer.in_listener;
        if self.everything_aborted || buffer.aborted || (listener && self.listener_aborted) {
            Some(MTMSG_OPERATION_ABORTED)
        } else if buffer.closed || (listener && self.listener_closed) {
            Some(MTMSG_OBJECT_CLOSED)
        } else {
            None
        }
    }

    /// Listener buffers that still count as its buffers.
    fn listener_buffers(&self) -> usize {
        self.buffers.iter().filter(|b| b.in_listener && b.live() && !b.closed).count()
    }

    fn drop_from_ready(&mut self, b: usize) {
        self.ready.retain(|&r| r != b);
    }

    /// The status an add or set of `msg` to `b` must give, and the model's
    /// change when it is `MTMSG_OK`.
    fn expect_push(&mut self, b: usize, msg: &[Val], replace: bool, waits: bool) -> mtmsg_status {
        let bytes = message_bytes(msg);
        let buffer = &self.buffers[b];
        if let Some(fixed) = buffer.fixed {
            if bytes > fixed.size1 {
                return MTMSG_MESSAGE_SIZE;
            }
        }
        if let Some(status) = self.unusable(b) {
            return status;
        }
        let buffer = &mut self.buffers[b];
        if replace {
            buffer.queue.clear();
        } else if let Some(fixed) = buffer.fixed {
            if buffer.used() + bytes > fixed.size2 {
                return if waits { MTMSG_TIMEOUT } else { MTMSG_WOULD_BLOCK };
            }
        }
        buffer.queue.push_back(msg.to_vec());
        if buffer.in_listener && !self.ready.contains(&b) {
            self.ready.push_back(b);
        }
        MTMSG_OK
    }

    fn apply(&mut self, op: &Op) {
        self.steps += 1;
        match op {
            Op::NewBuffer { fixed, in_listener } => self.new_buffer(*fixed, *in_listener),
            Op::Add { b, msg } | Op::Set { b, msg } | Op::AddWait { b, msg, .. } | Op::WriterAdd { b, msg, .. } => {
                let Some(i) = self.pick(b) else { return };
                let handle = self.handle(i, b);
                let values = values_of(msg);
                let (replace, waits) = match op {
                    Op::Set { .. } | Op::WriterAdd { set: true, .. } => (true, false),
                    Op::AddWait { .. } => (false, true),
                    _ => (false, false),
                };
                let want = self.expect_push(i, msg, replace, waits);
                // SAFETY: live handles, values valid for the call.
                let got = unsafe {
                    match op {
                        Op::Add { .. } => mtmsg_buffer_addmsg(handle, values.as_ptr(), values.len()),
                        Op::Set { .. } => mtmsg_buffer_setmsg(handle, values.as_ptr(), values.len()),
                        Op::AddWait { timeout, .. } => mtmsg_buffer_addmsg_wait(handle, values.as_ptr(), values.len(), *timeout),
                        _ => {
                            add_by_value(self.writer, msg, &values);
                            let got = if replace { mtmsg_writer_setmsg(self.writer, handle) } else { mtmsg_writer_addmsg(self.writer, handle) };
                            // the writer is empty after a success, keeps the values otherwise
                            assert_eq!(mtmsg_writer_clear(self.writer), MTMSG_OK);
                            got
                        }
                    }
                };
                check_error_text(got);
                assert_eq!(got, want, "step {}: {op:?}", self.steps);
                if !replace && want != MTMSG_OK && matches!(want, MTMSG_MESSAGE_SIZE) {
                    // nothing added
                }
            }
            Op::Take { b, timeout, small_reader } => {
                let Some(i) = self.pick(b) else { return };
                let handle = self.handle(i, b);
                let reader = self.readers[*small_reader as usize];
                let want = match self.unusable(i) {
                    Some(status) => status,
                    None => match self.buffers[i].queue.front() {
                        None => MTMSG_TIMEOUT,
                        Some(front) if *small_reader && message_bytes(front) > SMALL_READER => MTMSG_MESSAGE_SIZE,
                        Some(_) => MTMSG_OK,
                    },
                };
                // SAFETY: live handle and reader.
                let got = unsafe { mtmsg_buffer_nextmsg(handle, reader, *timeout) };
                check_error_text(got);
                assert_eq!(got, want, "step {}: {op:?}", self.steps);
                if got == MTMSG_OK {
                    let expected = self.buffers[i].queue.pop_front().unwrap();
                    if self.buffers[i].queue.is_empty() {
                        self.drop_from_ready(i);
                    }
                    assert_eq!(read_all(reader), expected, "step {}: message taken", self.steps);
                }
            }
            Op::ListenerTake { timeout, small_reader } => {
                let reader = self.readers[*small_reader as usize];
                let want = if self.everything_aborted || self.listener_aborted {
                    MTMSG_OPERATION_ABORTED
                } else if self.listener_closed {
                    MTMSG_OBJECT_CLOSED
                } else {
                    match self.ready.front() {
                        Some(&b) => {
                            let front = self.buffers[b].queue.front().expect("ready buffers hold messages");
                            if *small_reader && message_bytes(front) > SMALL_READER {
                                MTMSG_MESSAGE_SIZE
                            } else {
                                MTMSG_OK
                            }
                        }
                        None if self.listener_buffers() == 0 => MTMSG_NO_BUFFERS,
                        None => MTMSG_TIMEOUT,
                    }
                };
                // SAFETY: live listener and reader.
                let got = unsafe { mtmsg_listener_nextmsg(self.listener, reader, *timeout) };
                check_error_text(got);
                assert_eq!(got, want, "step {}: {op:?}", self.steps);
                if got == MTMSG_OK {
                    let b = self.ready.pop_front().unwrap();
                    let expected = self.buffers[b].queue.pop_front().unwrap();
                    if !self.buffers[b].queue.is_empty() {
                        self.ready.push_back(b);
                    }
                    assert_eq!(read_all(reader), expected, "step {}: message taken", self.steps);
                }
            }
            Op::Count { b } => {
                let Some(i) = self.pick(b) else { return };
                let mut count = usize::MAX;
                // SAFETY: live handle, valid out pointer.
                let got = unsafe { mtmsg_buffer_msgcnt(self.handle(i, b), &mut count) };
                check_error_text(got);
                match self.unusable(i) {
                    Some(status) => assert_eq!(got, status, "step {}: {op:?}", self.steps),
                    None => {
                        assert_eq!(got, MTMSG_OK, "step {}: {op:?}", self.steps);
                        assert_eq!(count, self.buffers[i].queue.len(), "step {}: msgcnt", self.steps);
                    }
                }
            }
            Op::Clear { b } => {
                let Some(i) = self.pick(b) else { return };
                // SAFETY: live handle.
                let got = unsafe { mtmsg_buffer_clear(self.handle(i, b)) };
                check_error_text(got);
                let want = self.unusable(i).unwrap_or(MTMSG_OK);
                assert_eq!(got, want, "step {}: {op:?}", self.steps);
                if want == MTMSG_OK {
                    self.buffers[i].queue.clear();
                    self.drop_from_ready(i);
                }
            }
            Op::ListenerClear => {
                // SAFETY: live listener.
                let got = unsafe { mtmsg_listener_clear(self.listener) };
                check_error_text(got);
                let want = if self.everything_aborted || self.listener_aborted {
                    MTMSG_OPERATION_ABORTED
                } else if self.listener_closed {
                    MTMSG_OBJECT_CLOSED
                } else {
                    MTMSG_OK
                };
                assert_eq!(got, want, "step {}: {op:?}", self.steps);
                if want == MTMSG_OK {
                    for b in std::mem::take(&mut self.ready) {
                        self.buffers[b].queue.clear();
                    }
                }
            }
            Op::Close { b } => {
                let Some(i) = self.pick(b) else { return };
                // SAFETY: live handle.
                assert_eq!(unsafe { mtmsg_buffer_close(self.handle(i, b)) }, MTMSG_OK);
                self.buffers[i].closed = true;
                self.buffers[i].queue.clear();
                self.drop_from_ready(i);
            }
            Op::ListenerClose => {
                // SAFETY: live listener.
                assert_eq!(unsafe { mtmsg_listener_close(self.listener) }, MTMSG_OK);
                self.listener_closed = true;
                for b in std::mem::take(&mut self.ready) {
                    self.buffers[b].queue.clear();
                }
            }
            Op::Abort { b, flag } => {
                let Some(i) = self.pick(b) else { return };
                let handle = self.handle(i, b);
                let buffer = &self.buffers[i];
                let closed = buffer.closed || (buffer.in_listener && self.listener_closed);
                let mut is = !flag;
                // SAFETY: live handle, valid out pointer.
                let (set, read) = unsafe { (mtmsg_buffer_abort(handle, *flag), mtmsg_buffer_isabort(handle, &mut is)) };
                if closed {
                    // After close every call but id, name and close refuses.
                    assert_eq!((set, read), (MTMSG_OBJECT_CLOSED, MTMSG_OBJECT_CLOSED), "step {}: {op:?}", self.steps);
                    return;
                }
                assert_eq!((set, read), (MTMSG_OK, MTMSG_OK));
                assert_eq!(is, *flag);
                self.buffers[i].aborted = *flag;
            }
            Op::ListenerAbort { flag } => {
                // SAFETY: live listener.
                let got = unsafe { mtmsg_listener_abort(self.listener, *flag) };
                if self.listener_closed {
                    assert_eq!(got, MTMSG_OBJECT_CLOSED, "step {}: {op:?}", self.steps);
                    return;
                }
                assert_eq!(got, MTMSG_OK);
                self.listener_aborted = *flag;
            }
            Op::AbortEverything { flag } => {
                assert_eq!(mtmsg_abort(*flag), MTMSG_OK);
                assert_eq!(mtmsg_isabort(), *flag);
                self.everything_aborted = *flag;
            }
            Op::Release { b } => {
                let Some(i) = self.pick(b) else { return };
                let at = b.index(self.buffers[i].handles.len());
                let handle = self.buffers[i].handles.swap_remove(at);
                // SAFETY: a live handle, not used again.
                unsafe { mtmsg_buffer_release(handle) };
                let buffer = &mut self.buffers[i];
                if !buffer.live() && !buffer.in_listener {
                    buffer.queue.clear(); // gone with its last reference
                }
                // a listener buffer's messages are still delivered
            }
            Op::Clone { b } => {
                let Some(i) = self.pick(b) else { return };
                let mut clone = ptr::null_mut();
                // SAFETY: live handle, valid out pointer.
                assert_eq!(unsafe { mtmsg_buffer_clone(self.handle(i, b), &mut clone) }, MTMSG_OK);
                self.buffers[i].handles.push(clone);
            }
            Op::FindAgain { b } => self.find_again(b),
        }
    }

    fn new_buffer(&mut self, fixed: Option<(usize, usize)>, in_listener: bool) {
        let (size1, size2, grow) = match fixed {
            Some((size1, size2)) => (size1, size2, 0.0),
            None => (8, 16, 2.0),
        };
        let mut handle = ptr::null_mut();
        // SAFETY: valid out pointer.
        let got = unsafe {
            if in_listener {
                mtmsg_listener_newbuffer(self.listener, ptr::null(), 0, size1, size2, grow, &mut handle)
            } else {
                mtmsg_buffer_new(ptr::null(), 0, size1, size2, grow, &mut handle)
            }
        };
        check_error_text(got);
        let want = if self.everything_aborted || (in_listener && self.listener_aborted) {
            MTMSG_OPERATION_ABORTED
        } else if in_listener && self.listener_closed {
            MTMSG_OBJECT_CLOSED
        } else {
            MTMSG_OK
        };
        assert_eq!(got, want, "step {}: new buffer (in listener: {in_listener})", self.steps);
        if got != MTMSG_OK {
            return;
        }
        let mut id = 0;
        // SAFETY: live handle, valid out pointer.
        assert_eq!(unsafe { mtmsg_buffer_id(handle, &mut id) }, MTMSG_OK);
        self.buffers.push(ModelBuffer {
            id,
            handles: vec![handle],
            queue: VecDeque::new(),
            fixed: fixed.map(|(size1, size2)| Fixed { size1, size2 }),
            in_listener,
            closed: false,
            aborted: false,
        });
    }

    /// Finds a buffer by id: every buffer ever made, collected ones too.
    fn find_again(&mut self, b: &Index) {
        if self.buffers.is_empty() {
            return;
        }
        let i = b.index(self.buffers.len());
        let mut found = ptr::null_mut();
        // SAFETY: valid out pointer.
        let got = unsafe { mtmsg_buffer_find_id(self.buffers[i].id, &mut found) };
        check_error_text(got);
        let want = if self.everything_aborted {
            MTMSG_OPERATION_ABORTED
        } else if !self.buffers[i].live() {
            MTMSG_UNKNOWN_OBJECT
        } else {
            MTMSG_OK
        };
        assert_eq!(got, want, "step {}: find buffer {} again", self.steps, self.buffers[i].id);
        if got == MTMSG_OK {
            self.buffers[i].handles.push(found);
        }
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        mtmsg_abort(false);
        // SAFETY: every handle is live and dropped once.
        unsafe {
            for buffer in &mut self.buffers {
                for handle in buffer.handles.drain(..) {
                    mtmsg_buffer_release(handle);
                }
            }
            mtmsg_listener_release(self.listener);
            mtmsg_reader_release(self.readers[0]);
            mtmsg_reader_release(self.readers[1]);
            mtmsg_writer_release(self.writer);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Random operations on buffers and a listener do what the model says.
    #[test]
    fn operations_match_the_model(ops in prop::collection::vec(op(), 1..120)) {
        let _turn = TAKING_TURNS.lock().unwrap_or_else(|e| e.into_inner());
        let mut model = Model::new();
        for op in &ops {
            model.apply(op);
        }
        // everything still queued comes out, in order, once un-aborted
        mtmsg_abort(false);
        model.everything_aborted = false;
        for i in 0..model.buffers.len() {
            if !model.buffers[i].live() || model.unusable(i).is_some() {
                continue;
            }
            let handle = model.buffers[i].handles[0];
            while let Some(expected) = model.buffers[i].queue.pop_front() {
                // SAFETY: live handle and reader.
                prop_assert_eq!(unsafe { mtmsg_buffer_nextmsg(handle, model.readers[0], 0.0) }, MTMSG_OK);
                prop_assert_eq!(read_all(model.readers[0]), expected);
            }
            model.drop_from_ready(i);
            // SAFETY: live handle and reader.
            prop_assert_eq!(unsafe { mtmsg_buffer_nextmsg(handle, model.readers[0], 0.0) }, MTMSG_TIMEOUT);
        }
    }

    /// Any values come back bit for bit, through addmsg and through a
    /// writer, and occupy the bytes the README's arithmetic says.
    #[test]
    fn any_message_round_trips_and_has_its_documented_size(msg in message(24, 3000)) {
        let _turn = TAKING_TURNS.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = message_bytes(&msg);
        let as_values: Vec<Value<'_>> = msg.iter().map(Val::as_value).collect();
        prop_assert_eq!(encoded_message_size(&as_values), bytes);
        let values = values_of(&msg);
        let (mut exact, mut one_less, mut reader, mut writer) =
            (ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
        // SAFETY: valid out pointers, live handles, values valid for the calls.
        unsafe {
            // a fixed buffer of exactly that size takes it; one byte less refuses it
            prop_assert_eq!(mtmsg_buffer_new(ptr::null(), 0, bytes, bytes, 0.0, &mut exact), MTMSG_OK);
            prop_assert_eq!(mtmsg_buffer_new(ptr::null(), 0, bytes - 1, bytes, 0.0, &mut one_less), MTMSG_OK);
            prop_assert_eq!(mtmsg_reader_new(0, 2.0, &mut reader), MTMSG_OK);
            prop_assert_eq!(mtmsg_writer_new(0, 2.0, &mut writer), MTMSG_OK);
            prop_assert_eq!(mtmsg_buffer_addmsg(one_less, values.as_ptr(), values.len()), MTMSG_MESSAGE_SIZE);
            prop_assert_eq!(mtmsg_buffer_addmsg(exact, values.as_ptr(), values.len()), MTMSG_OK);
            prop_assert_eq!(mtmsg_buffer_addmsg(exact, ptr::null(), 0), MTMSG_WOULD_BLOCK);
            prop_assert_eq!(mtmsg_buffer_nextmsg(exact, reader, 0.0), MTMSG_OK);
            prop_assert_eq!(read_all(reader), msg.clone());
            add_by_value(writer, &msg, &values);
            prop_assert_eq!(mtmsg_writer_addmsg(writer, exact), MTMSG_OK);
            prop_assert_eq!(mtmsg_buffer_nextmsg(exact, reader, 0.0), MTMSG_OK);
            prop_assert_eq!(read_all(reader), msg);
            mtmsg_writer_release(writer);
            mtmsg_reader_release(reader);
            mtmsg_buffer_release(one_less);
            mtmsg_buffer_release(exact);
        }
    }

    /// Any message with entries changed at random (table counts, references,
    /// entries that become tables or references) is either taken whole and
    /// reads back entry for entry, or refused with `MTMSG_INVALID_ARGUMENT`
    /// and nothing added; never a crash.
    #[test]
    fn changed_arrays_are_taken_whole_or_refused(
        msg in message(8, 20),
        changes in prop::collection::vec((any::<Index>(), 0usize..6, 0usize..4), 1..4),
    ) {
        let _turn = TAKING_TURNS.lock().unwrap_or_else(|e| e.into_inner());
        let mut changed = msg;
        if changed.is_empty() {
            changed.push(Val::Nil);
        }
        for (at, kind, n) in &changes {
            let len = changed.len();
            let entry = &mut changed[at.index(len)];
            *entry = match (kind, &*entry) {
                (0, Val::Table { array, pairs }) => Val::Table { array: array + n, pairs: *pairs },
                (1, Val::Table { array, pairs }) => Val::Table { array: *array, pairs: pairs.saturating_sub(*n) },
                (2, _) => Val::Ref(*n),
                (3, _) => Val::Table { array: *n, pairs: n / 2 },
                (4, _) => Val::Nil,
                _ => Val::Num(f64::NAN.to_bits()),
            };
        }
        let values = values_of(&changed);
        let (mut buffer, mut reader, mut count) = (ptr::null_mut(), ptr::null_mut(), usize::MAX);
        // SAFETY: valid out pointers, live handles, values valid for the call.
        unsafe {
            prop_assert_eq!(mtmsg_buffer_new(ptr::null(), 0, 128, 1024, 2.0, &mut buffer), MTMSG_OK);
            prop_assert_eq!(mtmsg_reader_new(0, 2.0, &mut reader), MTMSG_OK);
            let status = mtmsg_buffer_addmsg(buffer, values.as_ptr(), values.len());
            check_error_text(status);
            prop_assert!(status == MTMSG_OK || status == MTMSG_INVALID_ARGUMENT, "{:?}", status);
            prop_assert_eq!(mtmsg_buffer_msgcnt(buffer, &mut count), MTMSG_OK);
            prop_assert_eq!(count, usize::from(status == MTMSG_OK));
            if status == MTMSG_OK {
                prop_assert_eq!(mtmsg_buffer_nextmsg(buffer, reader, 0.0), MTMSG_OK);
                prop_assert_eq!(read_all(reader), changed);
            }
            mtmsg_reader_release(reader);
            mtmsg_buffer_release(buffer);
        }
    }
}
