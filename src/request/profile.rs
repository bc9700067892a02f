//! The connection-side half of `profile`: DNS/connect/TLS timings of a fresh
//! connection (or `socketReused`), peer, protocol, bytes and rates.
//!
//! A response the HTTP cache served without a network round trip
//! (`enableCache`, fresh entry) reports no connection: DNS and connect
//! phases collapse onto `fetchStart`, SSL phases and `rtt` are 0,
//! `socketReused` is false, `peerIP` is "" and `port` 0, both byte counts
//! are 0, and `protocol` is the one the entry was fetched with. A host tells
//! a cache hit by `peerIP == ""` with `receivedBytedCount == 0`. A response
//! revalidated with a 304 reports the 304's real connection.

use super::exchange::ConnUse;
use crate::event::res::Profile;

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
