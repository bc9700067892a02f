//! The `profile` object, and its connection-side half: DNS/connect/TLS
//! timings of a fresh connection (or `socketReused`), peer, protocol, bytes
//! and rates.
//!
//! A response the HTTP cache served without a network round trip
//! (`enableCache`, fresh entry) reports no connection: DNS and connect
//! phases collapse onto `fetchStart`, SSL phases and `rtt` are 0,
//! `socketReused` is false, `peerIP` is "" and `port` 0, both byte counts
//! are 0, and `protocol` is the one the entry was fetched with. A host tells
//! a cache hit by `peerIP == ""` with `receivedBytedCount == 0`. A response
//! revalidated with a 304 reports the 304's real connection.

use serde::Serialize;

use crate::net::ConnInfo;

/// The `profile` object of request/upload/download results (spec section 1).
/// Timestamps are ms since the epoch (fractional); 0 when not measured.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    pub invoke_start: f64,
    pub queue_start: f64,
    pub queue_end: f64,
    pub fetch_start: f64,
    pub redirect_start: f64,
    pub redirect_end: f64,
    pub domain_look_up_start: f64,
    pub domain_look_up_end: f64,
    pub connect_start: f64,
    pub connect_end: f64,
    #[serde(rename = "SSLconnectionStart")]
    pub ssl_connection_start: f64,
    #[serde(rename = "SSLconnectionEnd")]
    pub ssl_connection_end: f64,
    pub request_start: f64,
    pub request_end: f64,
    pub response_start: f64,
    pub response_end: f64,
    pub rtt: f64,
    #[serde(rename = "estimate_nettype")]
    pub estimate_nettype: u32,
    pub http_rtt_estimate: f64,
    pub transport_rtt_estimate: f64,
    pub downstream_throughput_kbps_estimate: f64,
    pub throughput_kbps: f64,
    #[serde(rename = "peerIP")]
    pub peer_ip: String,
    pub port: u16,
    pub protocol: &'static str,
    pub socket_reused: bool,
    pub send_bytes_count: u64,
    /// WeChat's spelling.
    #[serde(rename = "receivedBytedCount")]
    pub received_byted_count: u64,
}

/// Where a response came from, for `profile`: the connection and whether
/// this request reused it, the protocol, or the app's HTTP cache.
pub struct ConnUse {
    pub info: Option<ConnInfo>,
    pub reused: bool,
    /// "http1.1", "h2" or "h3" (for a cache hit: the stored fetch's).
    pub protocol: &'static str,
    /// Answered by the cache without any network round trip.
    pub cached: bool,
}

impl ConnUse {
    /// A fresh cache hit.
    pub fn cached(protocol: &'static str) -> ConnUse {
        ConnUse {
            info: None,
            reused: false,
            protocol,
            cached: true,
        }
    }
}

/// Fills the fields that come from the connection, once the body is read
/// (`responseEnd` must be set).
pub fn finish(p: &mut Profile, conn: &ConnUse) {
    if conn.cached {
        p.domain_look_up_start = p.fetch_start;
        p.domain_look_up_end = p.fetch_start;
        p.connect_start = p.fetch_start;
        p.connect_end = p.fetch_start;
        p.protocol = conn.protocol;
        return;
    }
    let Some(info) = &conn.info else {
        return;
    };
    let t = info.timings();
    if conn.reused {
        // As browsers report it: set-up phases collapse onto fetchStart.
        p.socket_reused = true;
        p.domain_look_up_start = p.fetch_start;
        p.domain_look_up_end = p.fetch_start;
        p.connect_start = p.fetch_start;
        p.connect_end = p.fetch_start;
    } else {
        p.domain_look_up_start = t.dns_start;
        p.domain_look_up_end = t.dns_end;
        p.connect_start = t.connect_start;
        p.connect_end = t.tls_end.max(t.connect_end);
        p.ssl_connection_start = t.tls_start;
        p.ssl_connection_end = t.tls_end;
        p.rtt = round3(t.connect_end - t.connect_start);
        p.transport_rtt_estimate = p.rtt;
    }
    p.peer_ip = info.peer().ip().to_string();
    p.port = info.peer().port();
    p.protocol = conn.protocol;
    let (sent, received) = info.take_bytes();
    p.send_bytes_count = sent;
    p.received_byted_count = received;
    p.http_rtt_estimate = round3(p.response_start - p.request_start);
    let transfer_ms = (p.response_end - p.response_start).max(0.001);
    p.throughput_kbps = round3(received as f64 * 8.0 / transfer_ms);
    p.downstream_throughput_kbps_estimate = p.throughput_kbps;
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
