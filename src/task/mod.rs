//! Tasks: one request, upload, download or socket. [`TaskShared`] enforces the
//! exactly-once terminal-event rule; [`table`] owns ids and lookup.

pub mod limiter;
pub mod table;

use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;

use crate::errors::{Api, ApiError, WxError};
use crate::event::budget::Reservation;
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
    /// `wxnet_task_abort`: a close 1000 that waits for nothing (not for a
    /// send in progress, nor for the peer's answer). Never blocks.
    fn abort(&self);
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
    /// Emits a non-terminal event at once, even when the app's event queue
    /// is full: only for small events with a bounded count per task (upload
    /// progress from inside the body writer, SOCKET_ERROR). Dropped if the
    /// task already ended. Returns whether it was queued.
    pub fn emit(&self, kind: EventKind, json: String, data: Option<Bytes>) -> bool {
        let event = Event::new(self.id, kind, json, data, self.user_data);
        let reservation = self.dispatcher.reserve_now(event.cost());
        self.emit_reserved(reservation, event)
    }

    /// Emits a non-terminal event once the app's event queue has room for
    /// it: the producer (a body stream, a socket reader) waits here, so it
    /// stops reading from the network while the host is behind. Abort and
    /// app free still end the task while it waits. Returns whether it was
    /// queued (false: the task already ended).
    pub async fn emit_when_room(&self, kind: EventKind, json: String, data: Option<Bytes>) -> bool {
        let event = Event::new(self.id, kind, json, data, self.user_data);
        let reservation = self.dispatcher.reserve(event.cost()).await;
        self.emit_reserved(reservation, event)
    }

    /// Waits for room for `bytes` in the app's event queue; the reservation
    /// is then spent by [`emit_reserved`](Self::emit_reserved) (or given
    /// back when dropped). Cancel-safe.
    pub fn reserve(&self, bytes: usize) -> impl std::future::Future<Output = Reservation> + Send + 'static {
        self.dispatcher.reserve(bytes)
    }

    /// Queues a non-terminal event with bytes reserved for it. Never blocks.
    pub fn emit_reserved(&self, reservation: Reservation, event: Event) -> bool {
        let st = self.state.lock().expect("task state lock poisoned");
        if st.finished {
            return false;
        }
        self.dispatcher.send_reserved(event, reservation);
        true
    }

    /// A new event of this task (for [`emit_reserved`](Self::emit_reserved)).
    pub fn event(&self, kind: EventKind, json: String, data: Option<Bytes>) -> Event {
        Event::new(self.id, kind, json, data, self.user_data)
    }

    /// Emits the terminal event if none was emitted yet (after running the
    /// task's cleanup), and unregisters the task. Returns false (and emits
    /// nothing) if the task had already ended. Never waits for room: a task
    /// can always end.
    pub fn finish(&self, kind: EventKind, json: String, data: Option<Bytes>) -> bool {
        self.finish_with(|| Ok((kind, json, data)))
    }

    /// Like [`finish`](Self::finish) for a terminal event that carries a body
    /// (a SUCCESS with `data`): first waits for room in the event queue, so
    /// many finished responses to a host that does not poll wait in their
    /// sockets' buffers instead of in memory. An abort meanwhile still ends
    /// the task (with its own terminal event).
    pub async fn finish_when_room(&self, kind: EventKind, json: String, data: Option<Bytes>) -> bool {
        let bytes = json.len() + 1 + data.as_ref().map_or(0, Bytes::len) + crate::event::budget::EVENT_OVERHEAD_BYTES;
        let reservation = self.dispatcher.reserve(bytes).await;
        self.finish_reserved(Some(reservation), || Ok((kind, json, data)))
    }

    /// Like [`finish`](Self::finish), but `commit` runs inside the same
    /// critical section, so it happens only if the task has not ended (and an
    /// abort cannot slip in between). On `Ok` the cleanup is discarded (the
    /// side effects are now the result); on `Err` it runs and the task FAILs.
    pub fn finish_with(&self, commit: impl FnOnce() -> Result<(EventKind, String, Option<Bytes>), WxError>) -> bool {
        self.finish_reserved(None, commit)
    }

    fn finish_reserved(
        &self,
        reservation: Option<Reservation>,
        commit: impl FnOnce() -> Result<(EventKind, String, Option<Bytes>), WxError>,
    ) -> bool {
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
        // The slot is free before the host can see the end, so a host that
        // starts a new task from inside its onClose/complete gets it.
        self.table.remove(self.id);
        let event = Event::new(self.id, kind, json, data, self.user_data);
        let reservation = match reservation {
            Some(r) if r.bytes() >= event.cost() => r,
            other => {
                drop(other);
                self.dispatcher.reserve_now(event.cost())
            }
        };
        self.dispatcher.send_reserved(event, reservation);
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

    #[cfg(test)]
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
