//! An app: one mini-program instance. It owns its config, its HTTP clients
//! (connection pools), its task table, its in-flight limiter (FIFO queue),
//! its background state and its event dispatcher.

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;

use crate::config::AppConfig;
use crate::core::{spawn_task, Admission, AppCore, Background};
use crate::errors::{Api, ApiError, Status, WxError};
use crate::event::dispatch::{Dispatcher, Mode, Wakeup};
use crate::event::{Event, UserData};
use crate::net::client::HttpClients;
use crate::options::Opts;
use crate::task::limiter::Limiter;
use crate::task::{lookup, Control, Lookup, SocketControl, TaskShared, TaskTable};
use crate::{policy, request, runtime, socket};

/// A handle on an app; dropping it does not free the app, [`App::close`] does.
#[derive(Clone)]
pub struct App {
    core: Arc<AppCore>,
}

impl App {
    /// Validates the config and starts the app's dispatcher.
    pub fn new(config_json: &[u8], mode: Mode) -> Result<App, ApiError> {
        let config = AppConfig::from_json(config_json).map_err(|e| ApiError::new(Status::InvalidConfig, e))?;
        let referer = HeaderValue::from_str(&policy::referer(&config.app_id, &config.version))
            .map_err(|_| ApiError::new(Status::InvalidConfig, "appId/version: not valid in a Referer header"))?;
        let http = HttpClients::new(&config).map_err(|e| ApiError::new(Status::InvalidConfig, e))?;
        let cache = match &config.cache_dir {
            Some(dir) => Some(Arc::new(crate::cache::HttpCache::open(dir).map_err(|e| {
                ApiError::new(
                    Status::InvalidConfig,
                    format!("cacheDir: cannot open the HTTP cache: {e}"),
                )
            })?)),
            None => None,
        };
        let tasks = TaskTable::new()?;
        let dispatcher = Dispatcher::start(mode, tasks.serial(), config.max_queued_event_bytes).map_err(|e| {
            tasks.unregister();
            ApiError::new(Status::InvalidState, format!("cannot start the dispatcher thread: {e}"))
        })?;
        let limiter = Limiter::new(config.max_concurrent_requests);
        let sandbox = crate::sandbox::Sandbox::new(config.temp_dir.clone(), config.user_data_dir.clone());
        // `.part` files of downloads a killed process left behind, swept in the background.
        let dirs: Vec<std::path::PathBuf> = [&config.temp_dir, &config.user_data_dir]
            .into_iter()
            .flatten()
            .cloned()
            .collect();
        crate::runtime::handle().spawn_blocking(move || {
            let dirs: Vec<&std::path::Path> = dirs.iter().map(|d| d.as_path()).collect();
            let removed = crate::transfer::download::sweep_stale_parts(&dirs);
            if removed > 0 {
                log::info!("removed {removed} .part files of downloads that never finished");
            }
        });
        log::info!(
            "app created (urlCheck {}, {} request domains)",
            config.policy.url_check,
            config.policy.domains(policy::DomainKind::Request).len()
        );
        Ok(App {
            core: Arc::new(AppCore {
                config,
                referer,
                http: std::sync::RwLock::new(Arc::new(http)),
                cache,
                sandbox,
                limiter,
                dispatcher: Arc::new(dispatcher),
                tasks,
                background: Mutex::new(Background::default()),
                socket_admission: Mutex::new(()),
            }),
        })
    }

    pub fn config(&self) -> &AppConfig {
        &self.core.config
    }

    /// wx.request. `body` is the ArrayBuffer `data`, if any.
    pub fn request(&self, options_json: &[u8], body: Option<Bytes>, user_data: UserData) -> Result<u64, ApiError> {
        self.start(Api::Request, options_json, user_data, |core, task, opts, admission| {
            request::run(core, task, opts, body, admission)
        })
    }

    /// wx.uploadFile.
    pub fn upload_file(&self, options_json: &[u8], user_data: UserData) -> Result<u64, ApiError> {
        self.start(Api::UploadFile, options_json, user_data, crate::transfer::upload::run)
    }

    /// wx.downloadFile.
    pub fn download_file(&self, options_json: &[u8], user_data: UserData) -> Result<u64, ApiError> {
        self.start(
            Api::DownloadFile,
            options_json,
            user_data,
            crate::transfer::download::run,
        )
    }

    /// The start of a request-like task: parse (misuse is a synchronous
    /// error), register, take the queue place and background state now, and
    /// run `work` on the shared runtime.
    fn start<F, Fut>(&self, api: Api, options_json: &[u8], user_data: UserData, work: F) -> Result<u64, ApiError>
    where
        F: FnOnce(Arc<AppCore>, Arc<TaskShared>, Opts, Admission) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let opts = Opts::parse(options_json)?;
        let task = self.register(api, user_data)?;
        let fut = work(self.core.clone(), task.clone(), opts, self.core.admit());
        spawn_task(&task, fut);
        Ok(task.id)
    }

    /// wx.connectSocket: SUCCESS or FAIL at once, then the socket events.
    pub fn connect_socket(&self, options_json: &[u8], user_data: UserData) -> Result<u64, ApiError> {
        let opts = Opts::parse(options_json)?;
        // Counting and registering under one lock keeps maxSockets exact
        // when several threads connect at once.
        let _admission = self
            .core
            .socket_admission
            .lock()
            .expect("socket admission lock poisoned");
        let alive = self.core.tasks.count(|api| api == Api::ConnectSocket);
        let task = self.register(Api::ConnectSocket, user_data)?;
        let commands = socket::control(&task, self.core.config.max_socket_send_queue_bytes);
        let started = if alive >= self.core.config.max_sockets {
            Err(socket::too_many())
        } else {
            socket::start(&self.core, &opts)
        };
        match started {
            Ok(target) => {
                socket::emit_ok(&task);
                socket::spawn(&self.core, &task, commands, target);
            }
            Err(e) => {
                task.fail(&e);
            }
        }
        Ok(task.id)
    }

    fn register(&self, api: Api, user_data: UserData) -> Result<Arc<TaskShared>, ApiError> {
        self.core.tasks.register(api, user_data, &self.core.dispatcher)
    }

    /// Foreground/background switch (spec section 7).
    pub fn set_background(&self, background: bool) {
        let epoch = {
            let mut bg = self.core.background.lock().expect("background lock poisoned");
            if bg.active == background {
                return;
            }
            bg.active = background;
            bg.epoch += 1;
            bg.epoch
        };
        let Some(grace) = self.core.config.background_grace else {
            return;
        };
        if background {
            let core = Arc::downgrade(&self.core);
            runtime::handle().spawn(async move {
                tokio::time::sleep(grace).await;
                if let Some(core) = core.upgrade() {
                    interrupt_after_grace(&core, epoch);
                }
            });
        }
    }

    /// The device's network changed (or the host wants fresh connections):
    /// drops every pooled connection of the app, see [`AppCore::reset_connections`].
    pub fn reset_connections(&self) -> Result<(), ApiError> {
        self.core
            .reset_connections()
            .map_err(|e| ApiError::new(Status::InvalidState, format!("cannot renew the HTTP clients: {e}")))?;
        log::info!("connections reset");
        Ok(())
    }

    /// Poll mode: the next event, waiting up to `timeout` (None: forever).
    /// Holds its own reference to the queue while it waits, so a concurrent
    /// free wakes it with `Closed` instead of pulling the queue from under it.
    pub fn poll(&self, timeout: Option<Duration>) -> Result<Option<Event>, ApiError> {
        let dispatcher = self.core.dispatcher.clone();
        dispatcher.poll(timeout)
    }

    pub fn set_wakeup(&self, wakeup: Option<Wakeup>) -> Result<(), ApiError> {
        self.core.dispatcher.set_wakeup(wakeup)
    }

    /// The real path of one of this app's `wxfile://` paths (see
    /// [`crate::sandbox::Sandbox::real_path`]); a refused path is `InvalidArgument`.
    pub fn real_path(&self, vpath: &str) -> Result<std::path::PathBuf, ApiError> {
        self.core
            .sandbox
            .real_path(vpath)
            .map_err(|e| ApiError::new(Status::InvalidArgument, e.to_string()))
    }

    /// The `wxfile://` path of a real path inside this app's directories (see
    /// [`crate::sandbox::Sandbox::virtual_path`]); others are `InvalidArgument`.
    pub fn virtual_path(&self, real: &std::path::Path) -> Result<String, ApiError> {
        self.core
            .sandbox
            .virtual_path(real)
            .map_err(|e| ApiError::new(Status::InvalidArgument, e.to_string()))
    }

    /// Bytes of events queued for the host now (counted against
    /// `maxQueuedEventBytes`; a polled event no longer counts).
    pub fn queued_event_bytes(&self) -> usize {
        self.core.dispatcher.queued_bytes()
    }

    /// Tasks waiting for room in the event queue now (they do not read
    /// from the network meanwhile).
    pub fn tasks_waiting_for_room(&self) -> usize {
        self.core.dispatcher.waiting_producers()
    }

    /// Whether the caller runs inside one of this app's callbacks.
    pub fn in_own_callback(&self) -> bool {
        self.core.dispatcher.is_current_thread()
    }

    /// Frees the app: aborts every task (their terminal events are delivered
    /// first in callback mode, dropped in poll mode), waits until no callback
    /// of this app runs, and guarantees none runs afterwards.
    pub fn close(&self) -> Result<(), ApiError> {
        if self.in_own_callback() {
            return Err(ApiError::new(
                Status::WouldDeadlock,
                "wxnet_app_free was called from inside this app's own callback",
            ));
        }
        // From another app's callback: refuse if that would close a cycle of
        // callbacks each waiting for the next app's dispatcher.
        let _waiting = FreeWait::enter(self.core.tasks.serial())?;
        for task in self.core.tasks.close() {
            task.abort();
        }
        self.core.tasks.unregister();
        self.core.dispatcher.shutdown();
        log::info!("app freed");
        Ok(())
    }
}

/// Which app's callback is waiting, inside `wxnet_app_free`, for which other
/// app's dispatcher: waiter serial -> freed serial.
static FREE_WAITS: std::sync::LazyLock<Mutex<std::collections::HashMap<u64, u64>>> =
    std::sync::LazyLock::new(Default::default);

/// A dispatcher thread's wait inside `close` (removed on drop).
struct FreeWait(Option<u64>);

impl FreeWait {
    fn enter(freed: u64) -> Result<FreeWait, ApiError> {
        let Some(me) = crate::event::dispatch::dispatching_app() else {
            return Ok(FreeWait(None));
        };
        let mut waits = FREE_WAITS.lock().expect("free-wait lock poisoned");
        let mut next = Some(freed);
        while let Some(app) = next {
            if app == me {
                return Err(ApiError::new(
                    Status::WouldDeadlock,
                    "wxnet_app_free from a callback whose app is itself being freed from the freed app's callback",
                ));
            }
            next = waits.get(&app).copied();
        }
        waits.insert(me, freed);
        Ok(FreeWait(Some(me)))
    }
}

impl Drop for FreeWait {
    fn drop(&mut self) {
        if let Some(me) = self.0 {
            FREE_WAITS.lock().expect("free-wait lock poisoned").remove(&me);
        }
    }
}

fn interrupt_after_grace(core: &AppCore, epoch: u64) {
    {
        let bg = core.background.lock().expect("background lock poisoned");
        if !bg.active || bg.epoch != epoch {
            return;
        }
    }
    let victims = core.tasks.live(|_| true);
    log::info!("background grace over: interrupting {} tasks", victims.len());
    for task in victims {
        match task.control() {
            Control::Socket(socket) => {
                let _ = socket.close(1000, "interrupted");
            }
            Control::Http => {
                task.cancel_with(&WxError::interrupted());
            }
        }
    }
}

/// The socket behind a live task id, for send and close.
pub fn socket_of(id: u64) -> Result<Arc<dyn SocketControl>, ApiError> {
    match lookup(id) {
        Lookup::Live(task) => match task.control() {
            Control::Socket(socket) => Ok(socket),
            Control::Http => Err(ApiError::new(
                Status::InvalidState,
                format!("task {id} is not a socket"),
            )),
        },
        Lookup::Ended => Err(ApiError::new(Status::InvalidState, format!("task {id} has ended"))),
        Lookup::Unknown => Err(ApiError::new(Status::UnknownTask, format!("no task with id {id}"))),
    }
}

/// `wxnet_task_abort`: never blocks, idempotent, works on queued tasks. On a
/// socket it is a close with code 1000 that ends the socket at once, even
/// in the middle of a send.
pub fn task_abort(id: u64) -> Result<(), ApiError> {
    match lookup(id) {
        Lookup::Live(task) => {
            match task.control() {
                Control::Socket(socket) => socket.abort(),
                Control::Http => {
                    task.abort();
                }
            }
            Ok(())
        }
        Lookup::Ended => Ok(()),
        Lookup::Unknown => Err(ApiError::new(Status::UnknownTask, format!("no task with id {id}"))),
    }
}

/// `wxnet_socket_send`: a text (UTF-8) or binary message on an open socket.
pub fn socket_send(id: u64, data: &[u8], binary: bool) -> Result<(), ApiError> {
    socket_of(id)?.send(data, binary)
}

/// `wxnet_socket_close`: `code` 0 means 1000, else 1000 or 3000-4999; the
/// reason is at most 123 UTF-8 bytes. Closing a task that already ended is a
/// no-op, like a second abort.
pub fn socket_close(id: u64, code: i32, reason: &[u8]) -> Result<(), ApiError> {
    let (code, reason) = socket::validate_close(code, reason)?;
    match lookup(id) {
        Lookup::Ended => Ok(()),
        _ => socket_of(id)?.close(code, &reason),
    }
}
