//! Task ids and the per-app table of live tasks.
//!
//! An id is `(app serial << 39) | sequence`: never 0, never reused in the
//! life of the process, below 2^63. The app serial acts as the generation:
//! once an app is freed its serial is gone from the directory, so every id it
//! issued answers `UnknownTask`; an id of a live app that ended answers
//! `Ended`; an id never issued answers `UnknownTask`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, Weak};

use super::{TaskShared, TaskState};
use crate::errors::{Api, ApiError, Status};
use crate::event::dispatch::Dispatcher;
use crate::event::UserData;

const SEQ_BITS: u32 = 39;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;
const MAX_APP_SERIAL: u64 = (1 << (63 - SEQ_BITS)) - 1;

static NEXT_APP_SERIAL: AtomicU64 = AtomicU64::new(1);
static APPS: LazyLock<Mutex<HashMap<u64, Weak<TaskTable>>>> = LazyLock::new(Default::default);

struct Inner {
    next_seq: u64,
    live: HashMap<u64, Arc<TaskShared>>,
    closing: bool,
}

/// The live tasks of one app.
pub struct TaskTable {
    serial: u64,
    inner: Mutex<Inner>,
}

/// What an id names.
pub enum Lookup {
    Live(Arc<TaskShared>),
    /// Issued by a live app, already ended.
    Ended,
    Unknown,
}

impl TaskTable {
    /// A new table, registered in the process-wide directory.
    pub fn new() -> Result<Arc<TaskTable>, ApiError> {
        let serial = NEXT_APP_SERIAL.fetch_add(1, Ordering::Relaxed);
        if serial > MAX_APP_SERIAL {
            return Err(ApiError::new(
                Status::InvalidState,
                "too many apps created in this process",
            ));
        }
        let table = Arc::new(TaskTable {
            serial,
            inner: Mutex::new(Inner {
                next_seq: 1,
                live: HashMap::new(),
                closing: false,
            }),
        });
        APPS.lock()
            .expect("app directory lock poisoned")
            .insert(serial, Arc::downgrade(&table));
        Ok(table)
    }

    /// The app serial (the high bits of every id this table issues).
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// Registers a new task; fails with `Closed` once the app is being freed.
    pub fn register(
        self: &Arc<Self>,
        api: Api,
        user_data: UserData,
        dispatcher: &Arc<Dispatcher>,
    ) -> Result<Arc<TaskShared>, ApiError> {
        let mut inner = self.inner.lock().expect("task table lock poisoned");
        if inner.closing {
            return Err(ApiError::new(Status::Closed, "the app is being freed"));
        }
        if inner.next_seq > SEQ_MASK {
            return Err(ApiError::new(
                Status::InvalidState,
                "task ids of this app are exhausted",
            ));
        }
        let id = (self.serial << SEQ_BITS) | inner.next_seq;
        inner.next_seq += 1;
        let task = Arc::new(TaskShared {
            id,
            api,
            user_data,
            dispatcher: dispatcher.clone(),
            table: self.clone(),
            state: Mutex::new(TaskState {
                finished: false,
                abort: None,
                cleanup: None,
            }),
            control: std::sync::OnceLock::new(),
        });
        inner.live.insert(id, task.clone());
        Ok(task)
    }

    pub(super) fn remove(&self, id: u64) {
        self.inner.lock().expect("task table lock poisoned").live.remove(&id);
    }

    /// Live tasks (a snapshot), optionally only those of some APIs.
    pub fn live(&self, filter: impl Fn(Api) -> bool) -> Vec<Arc<TaskShared>> {
        let inner = self.inner.lock().expect("task table lock poisoned");
        inner.live.values().filter(|t| filter(t.api)).cloned().collect()
    }

    pub fn count(&self, filter: impl Fn(Api) -> bool) -> usize {
        let inner = self.inner.lock().expect("task table lock poisoned");
        inner.live.values().filter(|t| filter(t.api)).count()
    }

    /// Refuses new tasks from now on and returns every live task.
    pub fn close(&self) -> Vec<Arc<TaskShared>> {
        let mut inner = self.inner.lock().expect("task table lock poisoned");
        inner.closing = true;
        inner.live.values().cloned().collect()
    }

    /// Forgets this app in the directory: its ids become unknown.
    pub fn unregister(&self) {
        APPS.lock().expect("app directory lock poisoned").remove(&self.serial);
    }

    fn lookup_seq(&self, id: u64) -> Lookup {
        let inner = self.inner.lock().expect("task table lock poisoned");
        let seq = id & SEQ_MASK;
        if seq == 0 || seq >= inner.next_seq {
            return Lookup::Unknown;
        }
        match inner.live.get(&id) {
            Some(t) => Lookup::Live(t.clone()),
            None => Lookup::Ended,
        }
    }
}

/// Finds the task an id names, across all apps of the process.
pub fn lookup(id: u64) -> Lookup {
    let serial = id >> SEQ_BITS;
    let table = APPS
        .lock()
        .expect("app directory lock poisoned")
        .get(&serial)
        .and_then(Weak::upgrade);
    match table {
        Some(t) => t.lookup_seq(id),
        None => Lookup::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::dispatch::Mode;

    #[test]
    fn ids_are_unique_nonzero_below_2_63_and_stale_ids_are_unknown() {
        let d = Arc::new(Dispatcher::start(Mode::Poll, 0, 1 << 20).expect("thread"));
        let table = TaskTable::new().expect("table");
        let a = table.register(Api::Request, UserData(0), &d).expect("a");
        let b = table.register(Api::Request, UserData(0), &d).expect("b");
        assert!(a.id != 0 && b.id != a.id && b.id < (1 << 63));
        assert!(matches!(lookup(a.id), Lookup::Live(_)));
        assert!(a.fail(&crate::errors::WxError::abort(Api::Request)));
        assert!(
            !a.fail(&crate::errors::WxError::abort(Api::Request)),
            "terminal only once"
        );
        assert!(matches!(lookup(a.id), Lookup::Ended));
        assert!(matches!(lookup(b.id + 1), Lookup::Unknown));
        assert!(matches!(lookup(0), Lookup::Unknown));
        table.close();
        table.unregister();
        assert!(matches!(lookup(b.id), Lookup::Unknown));
        d.shutdown();
    }
}
