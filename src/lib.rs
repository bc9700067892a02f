//! wxnet: the network runtime for WeChat-style mini-program containers.
//!
//! A host (an Android, iOS, HarmonyOS or desktop container) hands over the
//! JavaScript options object of `wx.request` & co. as JSON and receives events
//! whose JSON is exactly the `res` its callbacks expect.
//!
//! ```text
//!  ffi/        C ABI + JNI: every extern "C" item and every unsafe block
//!    ▼           wxnet_app_*  wxnet_request  wxnet_task_abort  wxnet_abi_version …
//!  app         the facade: starts the wx APIs, abort/send/close, background, free
//!    ▼
//!  request/  transfer/  socket/      one wx API's own rules each (options,
//!    │                               events); they never import each other
//!    ▼
//!  core        AppCore (what tasks share), Admission, spawning, the queue
//!    │         wrapper, HEADERS_RECEIVED
//!    ▼
//!  task/  event/     ids, exactly-once terminal events, typed Control,
//!    │               limiter (FIFO); res JSON builders, per-app dispatcher
//!    ▼
//!  http/       one HTTP exchange for every API: redirects (policy per hop),
//!    │         transport per hop (cache → HTTP/3 → TCP), decoding, profile
//!    ▼
//!  cache/  cookies  net/   enableCache store; cookie jar; our connector (DNS +
//!    │                     resolve pins, TCP, rustls), hyper clients, h3 + alt_svc
//!    ▼
//!  leaves: config  policy/  sandbox  errors  options  runtime  logging
//! ```
//!
//! Each layer imports only from the layers below it; within one line imports
//! go one way only (task → event, cache → net, net → cookies, config →
//! policy, errors → policy); no two files import each other.
//!
//! Host code never runs on a tokio worker: events go through one dispatcher
//! thread per app (see `event/dispatch.rs`).

#![deny(unsafe_code)]

mod app;
mod cache;
mod config;
mod cookies;
mod core;
mod errors;
mod event;
mod http;
mod logging;
mod net;
mod options;
mod policy;
mod request;
mod runtime;
mod sandbox;
mod socket;
mod task;
mod transfer;

pub mod ffi;

/// Entry points of the fuzz targets in `fuzz/` (feature `fuzzing`).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use app::{socket_close, socket_of, socket_send, task_abort, App};
pub use errors::{Api, ApiError, Errno, Status, WxError};
pub use event::dispatch::Mode;
pub use event::{Event, EventKind, UserData};
/// What [`socket_of`] returns.
pub use task::SocketControl;

/// Internals the integration tests in `tests/` check directly (fuzzing and
/// rule tables); not an API for bindings.
#[doc(hidden)]
pub mod testing {
    pub use crate::config::AppConfig;
    pub use crate::config::DEFAULT_MAX_SOCKET_MESSAGE_BYTES;
    pub use crate::http::decode::to_utf8;
    pub use crate::logging::MAX_QUEUED_RECORDS as MAX_QUEUED_LOG_RECORDS;
    pub use crate::options::Opts;
    pub use crate::policy::{check_url, AllowedDomain, DomainKind, Policy};
    pub use crate::request::body::{encode_uri_component, place, Data};
    pub use crate::sandbox::Sandbox;
    pub use crate::socket::validate_close;
}
