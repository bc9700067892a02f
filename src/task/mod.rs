//! Tasks: one request, upload, download or socket. [`TaskShared`] enforces the
//! exactly-once terminal-event rule; [`table`] owns ids and lookup.

pub mod limiter;
pub mod table;

use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;

use crate::errors::{Api, ApiError, WxError};
use crate::event::dispatch::Dispatcher;
use crate::event::{res, Event, EventKind, UserData};

pub use table::{lookup, Lookup, TaskTable};

/// Undoes a task's side effects (a download's `.part` file). Runs before the
/// terminal event is queued, so a host that sees FAIL sees no leftovers.
pub type Cleanup = Box<dyn FnOnce() + Send>;

/// The host's calls on a live socket. The socket session implements it (in
/// `socket/`); tasks know only this interface.
pub trait SocketControl: Send + Sync {
    /// Queues a message; only while open. Never blocks.
    fn send(&self, data: &[u8], binary: bool) -> Result<(), ApiError>;
    /// Starts the close handshake (or ends a connection attempt) with a
    /// checked code and reason. A second close is a no-op.
    fn close(&self, code: u16, reason: &str) -> Result<(), ApiError>;
}

/// How the host's abort, send and close reach a task.
#[derive(Clone)]
pub enum Control {
    /// request, uploadFile, downloadFile: abort stops the work and the task
    /// FAILs with `abort`.
    Http,
    /// connectSocket: abort is a close 1000 (app free: SOCKET_CLOSE
    /// `{1000, "abort"}`); send and close go to the session.
    Socket(Arc<dyn SocketControl>),
}

struct TaskState {
    finished: bool,
    abort: Option<tokio::task::AbortHandle>,
    cleanup: Option<Cleanup>,
}

/// The shared state of one started task.
pub struct TaskShared {
    pub id: u64,
    pub api: Api,
    user_data: UserData,
    dispatcher: Arc<Dispatcher>,
    table: Arc<TaskTable>,
    state: Mutex<TaskState>,
    /// Set once, when a socket is started; unset means [`Control::Http`].
    control: OnceLock<Control>,
}

impl TaskShared {
    /// Emits a non-terminal event; dropped if the task already ended.
    /// Returns whether it was queued.
    pub fn emit(&self, kind: EventKind, json: String, data: Option<Bytes>) -> bool {
        let st = self.state.lock().expect("task state lock poisoned");
        if st.finished {
            return false;
        }
        self.dispatcher
            .send(Event::new(self.id, kind, json, data, self.user_data));
        true
    }

    /// Emits the terminal event if none was emitted yet (after running the
    /// task's cleanup), and unregisters the task. Returns false (and emits
    /// nothing) if the task had already ended.
    pub fn finish(&self, kind: EventKind, json: String, data: Option<Bytes>) -> bool {
        self.finish_with(|| Ok((kind, json, data)))
    }

    /// Like [`finish`](Self::finish), but `commit` runs inside the same
    /// critical section, so it happens only if the task has not ended (and an
    /// abort cannot slip in between). On `Ok` the cleanup is discarded (the
    /// side effects are now the result); on `Err` it runs and the task FAILs.
    pub fn finish_with(&self, commit: impl FnOnce() -> Result<(EventKind, String, Option<Bytes>), WxError>) -> bool {
        {
            let mut st = self.state.lock().expect("task state lock poisoned");
            if st.finished {
                return false;
            }
            st.finished = true;
            st.abort = None;
            let cleanup = st.cleanup.take();
            let (kind, json, data) = match commit() {
                Ok(event) => {
                    if event.0 == EventKind::Fail {
                        cleanup.into_iter().for_each(|c| c());
                    }
                    event
                }
                Err(e) => {
                    cleanup.into_iter().for_each(|c| c());
                    (EventKind::Fail, res::fail_json(self.api, &e), None)
                }
            };
            self.dispatcher
                .send(Event::new(self.id, kind, json, data, self.user_data));
        }
        self.table.remove(self.id);
        true
    }

    /// Registers the cleanup of a side effect just made. If the task already
    /// ended, runs it at once and returns false (the caller should stop).
    pub fn set_cleanup(&self, cleanup: Cleanup) -> bool {
        let mut st = self.state.lock().expect("task state lock poisoned");
        if st.finished {
            drop(st);
            cleanup();
            return false;
        }
        st.cleanup = Some(cleanup);
        true
    }

    /// Ends the task with a FAIL `{errMsg, errno}`.
    pub fn fail(&self, err: &WxError) -> bool {
        self.finish(EventKind::Fail, res::fail_json(self.api, err), None)
    }

    /// Ends the task with `err` (if it has not ended) and stops its work.
    /// Never blocks on the work itself.
    pub fn cancel_with(&self, err: &WxError) -> bool {
        let handle = self.state.lock().expect("task state lock poisoned").abort.take();
        let ended_now = self.fail(err);
        if let Some(h) = handle {
            h.abort();
        }
        ended_now
    }

    /// Hard stop (app free): the work stops at once and the task gets its
    /// terminal event: FAIL `<api>:fail abort`, or for a socket SOCKET_CLOSE
    /// `{code: 1000, reason: "abort"}`.
    pub fn abort(&self) -> bool {
        if let Control::Socket(_) = self.control() {
            let handle = self.state.lock().expect("task state lock poisoned").abort.take();
            let ended_now = self.finish(EventKind::SocketClose, res::close_json(1000, "abort"), None);
            if let Some(h) = handle {
                h.abort();
            }
            return ended_now;
        }
        self.cancel_with(&WxError::abort(self.api))
    }

    /// How the host's calls reach this task.
    pub fn control(&self) -> Control {
        self.control.get().cloned().unwrap_or(Control::Http)
    }

    /// Makes this task a socket whose calls go to `socket` (once; before the
    /// task's id is handed out).
    pub fn set_socket(&self, socket: Arc<dyn SocketControl>) {
        if self.control.set(Control::Socket(socket)).is_err() {
            log::error!("task {}: control set twice", self.id);
        }
    }

    pub fn is_finished(&self) -> bool {
        self.state.lock().expect("task state lock poisoned").finished
    }

    /// Records the handle that stops the task's future on abort.
    pub fn set_abort_handle(&self, handle: tokio::task::AbortHandle) {
        let mut st = self.state.lock().expect("task state lock poisoned");
        if st.finished {
            handle.abort();
        } else {
            st.abort = Some(handle);
        }
    }
}
