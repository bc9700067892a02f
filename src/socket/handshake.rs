//! Opening a socket: our connector (DNS + pins, TCP, TLS with http/1.1
//! ALPN), then the HTTP/1.1 upgrade done by hyper, checked as browsers check
//! it (RFC 6455 section 4.1), then a tungstenite stream on the upgraded IO.

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http_body_util::Empty;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use tokio_tungstenite::tungstenite::handshake::client::generate_key;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

use crate::errors::WxError;
use crate::event::res::Headers;
use crate::net::Connector;
use crate::runtime::now_ms;

/// A validated connectSocket request.
pub struct Target {
    pub url: url::Url,
    pub headers: HeaderMap,
    pub protocols: Vec<String>,
    pub no_delay: bool,
    pub timeout: Duration,
    /// The largest message and frame accepted (`maxSocketMessageBytes`).
    pub max_message_bytes: usize,
}

/// The socket `profile` of the OPEN event (ms timestamps; durations in ms).
#[derive(Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SocketProfile {
    pub fetch_start: f64,
    pub domain_look_up_start: f64,
    pub domain_look_up_end: f64,
    pub connect_start: f64,
    pub connect_end: f64,
    pub rtt: f64,
    pub handshake_cost: f64,
    pub cost: f64,
}

pub type Ws = WebSocketStream<TokioIo<Upgraded>>;

pub struct Opened {
    pub ws: Ws,
    pub headers: Headers,
    pub profile: SocketProfile,
}

/// Headers the upgrade sets itself; a host's values for them are dropped.
const HANDSHAKE_HEADERS: &[&str] = &[
    "sec-websocket-key",
    "sec-websocket-version",
    "sec-websocket-protocol",
    "sec-websocket-extensions",
    "sec-websocket-accept",
];

fn failure(what: impl std::fmt::Display) -> WxError {
    WxError::network(what.to_string())
}

pub async fn open(connector: &Connector, target: &Target) -> Result<Opened, WxError> {
    let mut profile = SocketProfile {
        fetch_start: now_ms(),
        ..Default::default()
    };
    let tls = target.url.scheme() == "wss";
    let host = target.url.host_str().ok_or_else(|| failure("invalid url: no host"))?;
    let port = target.url.port_or_known_default().unwrap_or(if tls { 443 } else { 80 });
    let (stream, info) = connector.connect(tls, host, port).await.map_err(failure)?;
    if !target.no_delay {
        stream.set_nodelay(false);
    }
    let t = info.timings();
    profile.domain_look_up_start = t.dns_start;
    profile.domain_look_up_end = t.dns_end;
    profile.connect_start = t.connect_start;
    profile.connect_end = t.tls_end.max(t.connect_end);
    profile.rtt = round3(t.connect_end - t.connect_start);

    let handshake_start = now_ms();
    let (mut sender, conn) = hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(failure)?;
    let key = generate_key();
    let request = upgrade_request(target, host, port, tls, &key)?;
    let conn = conn.with_upgrades();
    tokio::pin!(conn);
    let sent = sender.send_request(request);
    tokio::pin!(sent);
    // The connection future ends once it hands the IO to the upgrade, which
    // may happen before the response future is polled again.
    let mut handed_off = false;
    let response = loop {
        tokio::select! {
            r = &mut sent => break r.map_err(|e| failure(format!("handshake failed: {e}")))?,
            c = &mut conn, if !handed_off => {
                c.map_err(|e| failure(format!("handshake failed: {e}")))?;
                handed_off = true;
            }
        }
    };
    verify(&response, &key, &target.protocols)?;
    let headers = Headers::from_http(response.headers());
    let upgraded = if handed_off {
        hyper::upgrade::on(response).await
    } else {
        let (upgraded, driven) = tokio::join!(hyper::upgrade::on(response), &mut conn);
        driven.map_err(|e| failure(format!("handshake failed: {e}")))?;
        upgraded
    };
    let upgraded = upgraded.map_err(|e| failure(format!("upgrade failed: {e}")))?;
    let config = WebSocketConfig::default()
        .max_message_size(Some(target.max_message_bytes))
        .max_frame_size(Some(target.max_message_bytes));
    let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, Some(config)).await;
    let opened_at = now_ms();
    profile.handshake_cost = round3(opened_at - handshake_start);
    profile.cost = round3(opened_at - profile.fetch_start);
    Ok(Opened { ws, headers, profile })
}

fn upgrade_request(
    target: &Target,
    host: &str,
    port: u16,
    tls: bool,
    key: &str,
) -> Result<http::Request<Empty<Bytes>>, WxError> {
    let default_port = if tls { 443 } else { 80 };
    let authority = if port == default_port {
        host.to_owned()
    } else {
        format!("{host}:{port}")
    };
    let path = match target.url.query() {
        Some(q) => format!("{}?{q}", target.url.path()),
        None => target.url.path().to_owned(),
    };
    let mut request = http::Request::get(path).body(Empty::new()).map_err(failure)?;
    let h = request.headers_mut();
    for (name, value) in &target.headers {
        if !HANDSHAKE_HEADERS.contains(&name.as_str()) {
            h.append(name, value.clone());
        }
    }
    let value = |s: &str| HeaderValue::from_str(s).map_err(failure);
    h.insert(header::HOST, value(&authority)?);
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    h.insert(header::SEC_WEBSOCKET_KEY, value(key)?);
    h.insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
    if !target.protocols.is_empty() {
        h.insert(header::SEC_WEBSOCKET_PROTOCOL, value(&target.protocols.join(", "))?);
    }
    Ok(request)
}

/// RFC 6455 4.1 as browsers apply it: 101, `Upgrade: websocket`,
/// `Connection: upgrade`, the accept key; a subprotocol only if offered (a
/// server that picks none is fine); no extension (none is offered).
fn verify<B>(response: &http::Response<B>, key: &str, offered: &[String]) -> Result<(), WxError> {
    if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        return Err(failure(format!("upgrade refused: HTTP {}", response.status().as_u16())));
    }
    let h = response.headers();
    let text = |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !text(header::UPGRADE).eq_ignore_ascii_case("websocket") {
        return Err(failure("handshake failed: no Upgrade: websocket"));
    }
    if !text(header::CONNECTION)
        .split(',')
        .any(|t| t.trim().eq_ignore_ascii_case("upgrade"))
    {
        return Err(failure("handshake failed: no Connection: upgrade"));
    }
    if text(header::SEC_WEBSOCKET_ACCEPT) != derive_accept_key(key.as_bytes()) {
        return Err(failure("handshake failed: wrong Sec-WebSocket-Accept"));
    }
    let chosen = text(header::SEC_WEBSOCKET_PROTOCOL);
    if !chosen.is_empty() && !offered.iter().any(|p| p == chosen) {
        return Err(failure(
            "handshake failed: the server chose a subprotocol that was not offered",
        ));
    }
    if h.contains_key(header::SEC_WEBSOCKET_EXTENSIONS) {
        return Err(failure(
            "handshake failed: the server chose an extension that was not offered",
        ));
    }
    Ok(())
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}
