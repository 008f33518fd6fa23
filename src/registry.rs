//! A process-wide table of live objects of one kind, by id and by name,
//! both hashed, so lookups cost the same at 10 or 100,000 objects. The
//! kinds own their tables (`buffer::BUFFERS`, `listener::LISTENERS`); ids
//! are unique across all of them.
//!
//! A lookup hands out a new reference only while the object still has one
//! ([`Users::try_acquire`](crate::reference::Users::try_acquire)), under
//! the table's lock; the last reference's holder removes the object after
//! its count reached zero. So an object never comes back once its last
//! reference went.

use std::collections::HashMap;
use std::sync::Arc;

use crate::abort::is_aborted;
use crate::error::{describe, Error, ErrorKind};
use crate::primitive::atomic::{AtomicU64, Ordering};
use crate::primitive::lazy_static;
use crate::reference::Object;
use crate::sync::{Lock, LockGuard};

lazy_static! {
    /// The next id to hand out, to any kind of object.
    static NEXT_ID: AtomicU64 = AtomicU64::new(1);
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

/// The objects of one kind.
pub(crate) struct Registry<T> {
    // A `sync::Lock` like every other lock of the core: one kind of lock
    // for valgrind's drd to be told about (test/check-memory.sh drd).
    table: Lock<Table<T>>,
}

impl<T: Object> Registry<T> {
    pub fn new() -> Registry<T> {
        crate::sys::fork::watch();
        Registry { table: Lock::new(Table { by_id: HashMap::new(), by_name: HashMap::new() }) }
    }

    fn table(&self) -> LockGuard<'_, Table<T>> {
        self.table.lock()
    }

    /// Registers the object `make` builds with a fresh id; refused while
    /// everything is aborted.
    pub fn create(&self, make: impl FnOnce(u64) -> Result<Arc<T>, Error>) -> Result<Arc<T>, Error> {
        let mut table = self.table();
        if is_aborted() {
            return Err(Error::new(ErrorKind::OperationAborted, format!("{} not created: everything is aborted", T::CLASS)));
        }
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        let object = make(id)?;
        table.insert(id, object.clone());
        Ok(object)
    }

    pub fn find_id(&self, id: u64) -> Result<Arc<T>, Error> {
        check_not_aborted(T::CLASS)?;
        self.table()
            .acquire(id)
            .ok_or_else(|| Error::new(ErrorKind::UnknownObject, describe(T::CLASS, None, Some(id))))
    }

    pub fn find_name(&self, name: &[u8]) -> Result<Arc<T>, Error> {
        check_not_aborted(T::CLASS)?;
        let table = self.table();
        let found = match table.by_name.get(name) {
            Some(Named::One(id)) => table.acquire(*id),
            Some(Named::Many(_)) => return Err(Error::new(ErrorKind::AmbiguousName, describe(T::CLASS, Some(name), None))),
            None => None,
        };
        found.ok_or_else(|| Error::new(ErrorKind::UnknownObject, describe(T::CLASS, Some(name), None)))
    }

    pub fn remove(&self, id: u64) {
        let removed = self.table().remove(id);
        // Dropped after unlocking: it may be the object's last memory.
        drop(removed);
    }

    /// Every registered object, collected under the lock for the caller to
    /// use after it is released (no other lock is taken inside this one,
    /// but for creating a listener's buffer).
    pub fn all(&self) -> Vec<Arc<T>> {
        self.table().by_id.values().cloned().collect()
    }
}

fn check_not_aborted(class: &str) -> Result<(), Error> {
    if is_aborted() {
        return Err(Error::new(ErrorKind::OperationAborted, format!("{class} not found: everything is aborted")));
    }
    Ok(())
}

impl<T: Object> Table<T> {
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

    fn remove(&mut self, id: u64) -> Option<Arc<T>> {
        let object = self.by_id.remove(&id)?;
        let Some(name) = object.name() else { return Some(object) };
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
        Some(object)
    }

    fn acquire(&self, id: u64) -> Option<Arc<T>> {
        let object = self.by_id.get(&id)?;
        object.users().try_acquire().then(|| object.clone())
    }
}
