//! The counters shared by the accept loops, the routes and [`crate::TestServer`].
//!
//! A leaf: it imports no other module of the crate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Duration;

/// Counters shared by the accept loops, the routes and [`crate::TestServer`].
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) connections: AtomicU64,
    /// TCP connections accepted and not yet closed; `open_changed` is notified on
    /// every change.
    open: Mutex<u64>,
    open_changed: Condvar,
    pub(crate) hits: Mutex<HashMap<String, u64>>,
    /// Notified (all waiters) after every change of `hits` (`/wait-hits`).
    hit_added: tokio::sync::Notify,
    pub(crate) ws_messages: AtomicU64,
    /// What the WebSocket connections saw, by their upgrade request's path and query.
    ws_tagged: Mutex<HashMap<String, crate::WsCounters>>,
    /// The `Alt-Svc` every TCP response carries ([`crate::ServerOptions::h3`],
    /// [`crate::ServerOptions::alt_svc`]).
    pub(crate) alt_svc: OnceLock<http::HeaderValue>,
}

impl Stats {
    /// One accepted connection: open until the returned guard drops.
    pub(crate) fn opened(self: &std::sync::Arc<Self>) -> OpenConnection {
        self.connections.fetch_add(1, Ordering::SeqCst);
        *self.open.lock().unwrap_or_else(|p| p.into_inner()) += 1;
        self.open_changed.notify_all();
        OpenConnection(self.clone())
    }

    pub(crate) fn open_connections(&self) -> u64 {
        *self.open.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until at most `max` connections are open, or `timeout` passed;
    /// returns how many are open then.
    pub(crate) fn wait_open_at_most(&self, max: u64, timeout: Duration) -> u64 {
        let open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        let waited = self.open_changed.wait_timeout_while(open, timeout, |open| *open > max);
        *waited.unwrap_or_else(|p| p.into_inner()).0
    }

    /// One text or binary message received by a WebSocket route.
    pub(crate) fn ws_message(&self) {
        self.ws_messages.fetch_add(1, Ordering::SeqCst);
    }

    /// Updates the counters of the WebSocket connections opened with `tag` (the upgrade
    /// request's path and query).
    pub(crate) fn ws_count(&self, tag: &str, update: impl FnOnce(&mut crate::WsCounters)) {
        let mut tagged = self.ws_tagged.lock().unwrap_or_else(|p| p.into_inner());
        update(tagged.entry(tag.to_owned()).or_default());
    }

    pub(crate) fn ws_counters(&self, tag: &str) -> crate::WsCounters {
        let tagged = self.ws_tagged.lock().unwrap_or_else(|p| p.into_inner());
        tagged.get(tag).copied().unwrap_or_default()
    }

    /// One request for `path` (counted before the route runs).
    pub(crate) fn hit(&self, path: &str) {
        // A poisoned lock only means another connection task panicked mid-update.
        let mut hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        *hits.entry(path.to_owned()).or_insert(0) += 1;
        drop(hits);
        self.hit_added.notify_waiters();
    }

    /// How many requests arrived for exactly `path` (see [`crate::TestServer::hits`]).
    pub(crate) fn hits_of(&self, path: &str) -> u64 {
        let hits = self.hits.lock().unwrap_or_else(|p| p.into_inner());
        hits.get(path).copied().unwrap_or(0)
    }

    /// Returns once `path` has at least `n` hits (the caller bounds the wait).
    pub(crate) async fn wait_hits(&self, path: &str, n: u64) {
        loop {
            // Registered before the check, so a hit between the check and the await wakes it.
            let added = self.hit_added.notified();
            tokio::pin!(added);
            added.as_mut().enable();
            if self.hits_of(path) >= n {
                return;
            }
            added.await;
        }
    }
}

/// Held by the task serving one TCP connection; counts it as closed when dropped.
pub(crate) struct OpenConnection(std::sync::Arc<Stats>);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        *self.0.open.lock().unwrap_or_else(|p| p.into_inner()) -= 1;
        self.0.open_changed.notify_all();
    }
}
