//! The process-wide registry: every live buffer and listener by id and by
//! name, both hashed, so lookups cost the same at 10 or 100,000 objects.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock};

use crate::abort::is_aborted;
use crate::buffer::{Buffer, BufferRef};
use crate::sync::{Lock, LockGuard};
use crate::error::{describe, Error, ErrorKind};
use crate::listener::{Listener, ListenerRef};

/// How many references a buffer or listener has. The registry hands out a
/// new one only while the count is above zero, so an object whose last
/// reference went away can never come back.
pub struct Users(AtomicUsize);

impl Users {
    pub fn one() -> Users {
        Users(AtomicUsize::new(1))
    }

    pub fn acquire(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    pub fn try_acquire(&self) -> bool {
        let mut users = self.0.load(Ordering::Relaxed);
        while users > 0 {
            match self.0.compare_exchange_weak(users, users + 1, Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => return true,
                Err(now) => users = now,
            }
        }
        false
    }

    /// Whether no reference is left (the object is on its way out).
    pub fn none(&self) -> bool {
        self.0.load(Ordering::Relaxed) == 0
    }

    /// Drops one reference; true when it was the last.
    pub fn release(&self) -> bool {
        if self.0.fetch_sub(1, Ordering::Release) == 1 {
            std::sync::atomic::fence(Ordering::Acquire);
            true
        } else {
            false
        }
    }
}

/// An object's optional name behind one thin pointer: most objects have
/// none, and a field of 8 bytes instead of 16 keeps empty buffers small.
pub(crate) struct Name(Option<Box<Box<[u8]>>>);

impl Name {
    pub fn new(name: Option<&[u8]>) -> Name {
        Name(name.map(|n| Box::new(Box::from(n))))
    }

    pub fn get(&self) -> Option<&[u8]> {
        self.0.as_deref().map(|n| &**n)
    }
}

/// What the registry needs to know of the objects it holds.
pub trait Registered {
    const CLASS: &'static str;
    fn name(&self) -> Option<&[u8]>;
    fn users(&self) -> &Users;
}

/// The ids that share one name: usually one.
enum Named {
    One(u64),
    Many(Vec<u64>),
}

struct Table<T> {
    by_id: HashMap<u64, Arc<T>>,
    by_name: HashMap<Box<[u8]>, Named>,
}

impl<T: Registered> Table<T> {
    fn new() -> Table<T> {
        Table { by_id: HashMap::new(), by_name: HashMap::new() }
    }

    fn insert(&mut self, id: u64, object: Arc<T>) {
        if let Some(name) = object.name() {
            match self.by_name.get_mut(name) {
                None => {
                    self.by_name.insert(name.into(), Named::One(id));
                }
                Some(Named::One(other)) => {
                    let other = *other;
                    self.by_name.insert(name.into(), Named::Many(vec![other, id]));
                }
                Some(Named::Many(ids)) => ids.push(id),
            }
        }
        self.by_id.insert(id, object);
    }

    fn remove(&mut self, id: u64) {
        let Some(object) = self.by_id.remove(&id) else { return };
        let Some(name) = object.name() else { return };
        let now_one = match self.by_name.get_mut(name) {
            Some(Named::Many(ids)) => {
                ids.retain(|&other| other != id);
                (ids.len() == 1).then(|| ids[0])
            }
            _ => {
                self.by_name.remove(name);
                None
            }
        };
        if let Some(last) = now_one {
            self.by_name.insert(name.into(), Named::One(last));
        }
    }

    fn acquire(&self, id: u64) -> Option<Arc<T>> {
        let object = self.by_id.get(&id)?;
        object.users().try_acquire().then(|| object.clone())
    }

    fn find_id(&self, id: u64) -> Result<Arc<T>, Error> {
        self.acquire(id)
            .ok_or_else(|| Error::new(ErrorKind::UnknownObject, describe(T::CLASS, None, Some(id))))
    }

    fn find_name(&self, name: &[u8]) -> Result<Arc<T>, Error> {
        let found = match self.by_name.get(name) {
            Some(Named::One(id)) => self.acquire(*id),
            Some(Named::Many(_)) => {
                return Err(Error::new(ErrorKind::AmbiguousName, describe(T::CLASS, Some(name), None)))
            }
            None => None,
        };
        found.ok_or_else(|| Error::new(ErrorKind::UnknownObject, describe(T::CLASS, Some(name), None)))
    }
}

struct Registry {
    next_id: u64,
    buffers: Table<Buffer>,
    listeners: Table<Listener>,
}

// A crate::sync::Lock, like every other lock of the core: one kind of lock
// for valgrind's drd to be told about (test/check-memory.sh drd).
static REGISTRY: LazyLock<Lock<Registry>> =
    LazyLock::new(|| Lock::new(Registry { next_id: 1, buffers: Table::new(), listeners: Table::new() }));

fn registry() -> LockGuard<'static, Registry> {
    REGISTRY.lock()
}

fn aborted_error(class: &str) -> Error {
    Error::new(ErrorKind::OperationAborted, format!("{class} not created: everything is aborted"))
}

/// Registers the buffer `make` builds with a fresh id.
pub(crate) fn create_buffer(make: impl FnOnce(u64) -> Result<Arc<Buffer>, Error>) -> Result<Arc<Buffer>, Error> {
    let mut registry = registry();
    if is_aborted() {
        return Err(aborted_error(Buffer::CLASS));
    }
    let id = registry.next_id;
    let buffer = make(id)?;
    registry.next_id += 1;
    registry.buffers.insert(id, buffer.clone());
    Ok(buffer)
}

/// Registers the listener `make` builds with a fresh id.
pub(crate) fn create_listener(make: impl FnOnce(u64) -> Arc<Listener>) -> Result<Arc<Listener>, Error> {
    let mut registry = registry();
    if is_aborted() {
        return Err(aborted_error(Listener::CLASS));
    }
    let id = registry.next_id;
    registry.next_id += 1;
    let listener = make(id);
    registry.listeners.insert(id, listener.clone());
    Ok(listener)
}

fn check_not_aborted(class: &str) -> Result<(), Error> {
    if is_aborted() {
        return Err(Error::new(ErrorKind::OperationAborted, format!("{class} not found: everything is aborted")));
    }
    Ok(())
}

pub(crate) fn find_buffer_id(id: u64) -> Result<BufferRef, Error> {
    check_not_aborted(Buffer::CLASS)?;
    registry().buffers.find_id(id).map(BufferRef::adopt)
}

pub(crate) fn find_buffer_name(name: &[u8]) -> Result<BufferRef, Error> {
    check_not_aborted(Buffer::CLASS)?;
    registry().buffers.find_name(name).map(BufferRef::adopt)
}

pub(crate) fn find_listener_id(id: u64) -> Result<ListenerRef, Error> {
    check_not_aborted(Listener::CLASS)?;
    registry().listeners.find_id(id).map(ListenerRef::adopt)
}

pub(crate) fn find_listener_name(name: &[u8]) -> Result<ListenerRef, Error> {
    check_not_aborted(Listener::CLASS)?;
    registry().listeners.find_name(name).map(ListenerRef::adopt)
}

pub(crate) fn remove_buffer(id: u64) {
    registry().buffers.remove(id);
}

pub(crate) fn remove_listener(id: u64) {
    registry().listeners.remove(id);
}

/// Wakes every thread waiting in any buffer or listener (for an abort).
/// The objects are collected under the registry lock and woken after it is
/// released, so no domain lock is ever taken inside the registry's.
pub(crate) fn wake_everyone() {
    let (buffers, listeners): (Vec<Arc<Buffer>>, Vec<Arc<Listener>>) = {
        let registry = registry();
        (registry.buffers.by_id.values().cloned().collect(), registry.listeners.by_id.values().cloned().collect())
    };
    for buffer in buffers {
        buffer.wake_all();
    }
    for listener in listeners {
        listener.wake_all();
    }
}
