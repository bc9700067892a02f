//! The counters shared by the accept loops, the routes and [`crate::TestServer`].
//!
//! A leaf: it imports no other module of the crate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};

/// Counters shared by the accept loops, the routes and [`crate::TestServer`].
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) connections: AtomicU64,
    pub(crate) hits: Mutex<HashMap<String, u64>>,
    pub(crate) ws_messages: AtomicU64,
    /// The `Alt-Svc` every TCP response carries ([`crate::ServerOptions::h3`],
    /// [`crate::ServerOptions::alt_svc`]).
    pub(crate) alt_svc: OnceLock<http::HeaderValue>,
}

impl Stats {
    /// One text or binary message received by a WebSocket route.
    pub(crate) fn ws_message(&self) {
        self.ws_messages.fetch_add(1, Ordering::SeqCst);
    }

    /// One request for `path` (counted before the route runs).
    pub(crate) fn hit(&self, path: &str) {
        // A poisoned lock only means another connection task panicked mid-update.
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        *hits.entry(path.to_owned()).or_insert(0) += 1;
    }
}
