//! wxnet: the network runtime for WeChat-style mini-program containers.
//!
//! A host (an Android, iOS, HarmonyOS or desktop container) hands over the
//! JavaScript options object of `wx.request` & co. as JSON and receives events
//! whose JSON is exactly the `res` its callbacks expect.
//!
//! ```text
//!  C ABI (ffi/: every extern "C" item and every unsafe block)
//!    │  wxnet_app_*  wxnet_request  wxnet_task_abort  wxnet_app_poll …
//!    ▼
//!  app ── config (validated JSON) ── policy (domain/URL rules)
//!    │      task/ (ids, exactly-once terminal events, table)
//!    │      event/ (res JSON builders, per-app dispatcher thread)
//!    ▼
//!  request/ (options, data conversion, redirects, decoding, profile)
//!    │      cookies (optional per-app jar), cache/ (enableCache, on disk)
//!    ▼      transport (per hop: cache → HTTP/3 → TCP)
//!  net/ (our connector: DNS + resolve pins, TCP, rustls; hyper clients;
//!        h3 + alt_svc over QUIC with feature `quic`)
//!    ▼
//!  runtime (one shared tokio runtime, 2 workers)
//! ```
//!
//! Host code never runs on a tokio worker: events go through one dispatcher
//! thread per app (see [`event::dispatch`]).

#![deny(unsafe_code)]

pub mod app;
pub mod cache;
pub mod config;
pub mod cookies;
pub mod core;
pub mod errors;
pub mod event;
pub mod http;
pub mod logging;
pub mod net;
pub mod options;
pub mod policy;
pub mod request;
pub mod runtime;
pub mod sandbox;
pub mod socket;
pub mod task;
pub mod transfer;

pub mod ffi;

pub use app::{socket_of, task_abort, App};
pub use errors::{Api, ApiError, Errno, Status, WxError};
pub use event::dispatch::Mode;
pub use event::{Event, EventKind, UserData};
