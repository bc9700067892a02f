//! What one connection knows about itself: peer, protocol, how it was set
//! up, how often it was used, and the bytes that crossed it. hyper hands it
//! back on every response (`Connected::extra`), which is how `profile` gets
//! real `peerIP`, `socketReused` and timings.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Timestamps (ms since the epoch) of the connection's set-up.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConnectTimings {
    pub dns_start: f64,
    pub dns_end: f64,
    pub connect_start: f64,
    pub connect_end: f64,
    /// 0 for plain TCP.
    pub tls_start: f64,
    pub tls_end: f64,
}

#[derive(Debug)]
struct Inner {
    peer: SocketAddr,
    h2: bool,
    timings: ConnectTimings,
    uses: AtomicU64,
    sent: AtomicU64,
    received: AtomicU64,
    sent_mark: AtomicU64,
    received_mark: AtomicU64,
}

/// Shared, cheap to clone.
#[derive(Debug, Clone)]
pub struct ConnInfo(Arc<Inner>);

impl ConnInfo {
    pub fn new(peer: SocketAddr, h2: bool, timings: ConnectTimings) -> Self {
        ConnInfo(Arc::new(Inner {
            peer,
            h2,
            timings,
            uses: AtomicU64::new(0),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            sent_mark: AtomicU64::new(0),
            received_mark: AtomicU64::new(0),
        }))
    }

    pub fn peer(&self) -> SocketAddr {
        self.0.peer
    }

    pub fn is_h2(&self) -> bool {
        self.0.h2
    }

    pub fn timings(&self) -> ConnectTimings {
        self.0.timings
    }

    /// Counts one use; true if the connection had been used before (reused).
    pub fn claim_use(&self) -> bool {
        self.0.uses.fetch_add(1, Ordering::Relaxed) > 0
    }

    pub(crate) fn add_sent(&self, n: usize) {
        self.0.sent.fetch_add(n as u64, Ordering::Relaxed);
    }

    pub(crate) fn add_received(&self, n: usize) {
        self.0.received.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Bytes sent and received since the previous call (HTTP bytes, headers
    /// included, TLS overhead excluded). Exact for HTTP/1.1, where one
    /// request uses the connection at a time; shared streams on HTTP/2 make
    /// it an approximation there.
    pub fn take_bytes(&self) -> (u64, u64) {
        let sent = self.0.sent.load(Ordering::Relaxed);
        let received = self.0.received.load(Ordering::Relaxed);
        let s0 = self.0.sent_mark.swap(sent, Ordering::Relaxed);
        let r0 = self.0.received_mark.swap(received, Ordering::Relaxed);
        (sent.saturating_sub(s0), received.saturating_sub(r0))
    }
}
