//! What every task of an app shares ([`AppCore`]), what a task learns when
//! the host calls its start function ([`Admission`]), and the steps every
//! wx API takes the same way: spawning a task on the shared runtime, waiting
//! for its place in the in-flight queue, and the HEADERS_RECEIVED event.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use futures_util::FutureExt;
use http::{HeaderMap, HeaderValue};

use crate::config::AppConfig;
use crate::errors::{Api, Errno, WxError};
use crate::event::dispatch::Dispatcher;
use crate::event::res::{self, Headers};
use crate::event::EventKind;
use crate::http::profile::Profile;
use crate::http::Response;
use crate::net::client::HttpClients;
use crate::options::{header_map, Opts};
use crate::policy::{self, DomainKind};
use crate::runtime::{self, now_ms};
use crate::task::limiter::Limiter;
use crate::task::{TaskShared, TaskTable};

#[derive(Default)]
pub(crate) struct Background {
    pub(crate) active: bool,
    /// Bumped on every change, so a stale grace timer does nothing.
    pub(crate) epoch: u64,
}

/// What tasks of an app share. Tasks hold it alive while they run.
pub struct AppCore {
    pub config: AppConfig,
    pub referer: HeaderValue,
    /// Replaced whole by [`AppCore::reset_connections`]; an exchange keeps
    /// the clients it started with ([`AppCore::http`]).
    pub(crate) http: RwLock<Arc<HttpClients>>,
    /// The HTTP cache in `cacheDir` (`enableCache`); `None` without cacheDir.
    pub cache: Option<Arc<crate::cache::HttpCache>>,
    pub sandbox: crate::sandbox::Sandbox,
    /// request + uploadFile + downloadFile in flight; FIFO beyond.
    pub limiter: Arc<Limiter>,
    pub(crate) dispatcher: Arc<Dispatcher>,
    pub(crate) tasks: Arc<TaskTable>,
    pub(crate) background: Mutex<Background>,
    /// Held while a connectSocket counts the live sockets and registers.
    pub(crate) socket_admission: Mutex<()>,
}

/// What a task learns at the moment the host calls its start function.
pub struct Admission {
    pub invoke_start: f64,
    /// Its place in the in-flight queue.
    pub ticket: crate::task::limiter::Ticket,
    /// `Err(interrupted)` when called in background.
    pub foreground: Result<(), WxError>,
}

impl AppCore {
    /// The app's HTTP clients as they are now. An exchange holds them for its
    /// whole life, so a reset does not pull a connection from under it.
    pub fn http(&self) -> Arc<HttpClients> {
        self.http.read().expect("http clients lock poisoned").clone()
    }

    /// Every pooled connection is dropped: later exchanges connect anew, with
    /// new HTTP/3 endpoints and empty `httpDns` answer caches. Exchanges in
    /// flight finish on the connections they have (the old pools close when
    /// the last of them ends); cookies and Alt-Svc knowledge are kept.
    pub fn reset_connections(&self) -> Result<(), String> {
        let renewed = Arc::new(self.http().renewed(&self.config)?);
        let old = std::mem::replace(&mut *self.http.write().expect("http clients lock poisoned"), renewed);
        // Dropped outside the lock: the last reference closes idle connections.
        drop(old);
        Ok(())
    }

    /// Takes the call time, the queue place and the background state, in
    /// call order (before the task's future first runs).
    pub fn admit(&self) -> Admission {
        Admission {
            invoke_start: runtime::now_ms(),
            ticket: self.limiter.enqueue(),
            foreground: self.check_foreground(),
        }
    }

    /// New calls fail with `interrupted` while in background (unless the
    /// host allowed background work with grace -1).
    pub fn check_foreground(&self) -> Result<(), WxError> {
        let bg = self.background.lock().expect("background lock poisoned");
        if bg.active && self.config.background_grace.is_some() {
            return Err(WxError::interrupted());
        }
        Ok(())
    }

    /// The `url` option, checked against the app's rules for `kind`.
    pub fn url(&self, opts: &Opts, kind: DomainKind) -> Result<url::Url, WxError> {
        Ok(policy::check_url(&self.config.policy, kind, opts.required_str("url")?)?)
    }

    /// The `header` option as the headers to send (the app's Referer, no
    /// transport headers).
    pub fn headers(&self, opts: &Opts) -> Result<HeaderMap, WxError> {
        header_map(opts.object("header")?, &self.referer)
    }

    /// The `timeout` option (ms, 0 or absent: the app's default for `api`),
    /// capped by the app's maximum.
    pub fn timeout(&self, opts: &Opts, api: Api) -> Result<Duration, WxError> {
        let timeouts = &self.config.timeouts;
        let default = match api {
            Api::Request => timeouts.request,
            Api::UploadFile => timeouts.upload_file,
            Api::DownloadFile => timeouts.download_file,
            Api::ConnectSocket => timeouts.connect_socket,
        };
        Ok(self.config.effective_timeout(opts.millis("timeout")?, default))
    }
}

/// Runs a task's future on the shared runtime. A panic inside it ends the
/// task with FAIL errno 600000; the app keeps working.
pub(crate) fn spawn_task(task: &Arc<TaskShared>, fut: impl Future<Output = ()> + Send + 'static) {
    let guard = task.clone();
    // Boxed: a task's future is tens of KB (every await of an exchange), and
    // tokio copies the spawned future into its task cell and again when it
    // stores the output. Behind a box those copies are a pointer's (callgrind:
    // the copies were ~45% of a small request's instructions).
    let fut = Box::pin(fut);
    let handle = runtime::handle().spawn(async move {
        if AssertUnwindSafe(fut).catch_unwind().await.is_err() {
            log::error!("task {} panicked", guard.id);
            guard.fail(&WxError::new(Errno::Unknown, "unknown network error: internal error"));
        }
    });
    task.set_abort_handle(handle.abort_handle());
}

/// Waits for the task's place in the in-flight queue, then runs `work` under
/// the timeout (which starts when the task leaves the queue). Shared by
/// request, uploadFile and downloadFile.
pub(crate) async fn run_queued<F, Fut>(
    admission: Admission,
    timeout: std::time::Duration,
    work: F,
) -> Result<(), WxError>
where
    F: FnOnce(Profile) -> Fut,
    Fut: std::future::Future<Output = Result<(), WxError>>,
{
    let mut profile = Profile {
        invoke_start: admission.invoke_start,
        queue_start: admission.invoke_start,
        ..Default::default()
    };
    let _permit = admission
        .ticket
        .wait()
        .await
        .ok_or_else(|| WxError::new(Errno::Unknown, "app closed"))?;
    profile.queue_end = now_ms();
    profile.fetch_start = profile.queue_end;
    // Boxed: a task waiting in the queue holds only its options, not the
    // (much larger) state of a whole exchange.
    tokio::time::timeout(timeout, Box::pin(work(profile)))
        .await
        .map_err(|_| WxError::timeout())?
}

/// HEADERS_RECEIVED `{statusCode, header, cookies}`; returns the headers.
pub(crate) fn emit_headers(task: &TaskShared, response: &Response) -> Headers {
    let headers = Headers::from_http(&response.head.headers);
    task.emit(
        EventKind::HeadersReceived,
        res::headers_received_json(response.status.as_u16(), &headers),
        None,
    );
    headers
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::dispatch::Mode;
    use crate::event::UserData;

    #[test]
    fn a_panic_inside_a_task_ends_it_with_fail_600000() {
        let (tx, rx) = std::sync::mpsc::channel();
        let dispatcher = Arc::new(
            Dispatcher::start(
                Mode::Callback(Box::new(move |ev| {
                    let _ = tx.send((ev.kind, ev.json().to_owned()));
                })),
                0,
                1 << 20,
            )
            .expect("thread"),
        );
        let table = TaskTable::new().expect("table");
        let task = table.register(Api::Request, UserData(0), &dispatcher).expect("task");
        spawn_task(&task, async { panic!("boom inside a task") });
        let (kind, json) = rx.recv_timeout(Duration::from_secs(5)).expect("terminal event");
        assert_eq!(kind, EventKind::Fail);
        assert!(json.contains("\"errno\":600000"), "{json}");
        assert!(task.is_finished());
        dispatcher.shutdown();
        table.unregister();
    }
}
