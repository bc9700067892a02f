//! Opening a socket: our connector (DNS + pins, TCP, TLS with http/1.1
//! ALPN), then the HTTP/1.1 upgrade done by hyper, checked as browsers check
//! it (RFC 6455 section 4.1), then a yawc WebSocket on the upgraded IO.
//!
//! With `perMessageDeflate: true` the request offers `permessage-deflate;
//! client_max_window_bits` (RFC 7692); the server's answer is checked here
//! (see [`deflate_answer`]) and handed to yawc, which compresses and inflates.

use std::time::Duration;

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http_body_util::Empty;
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use serde::Serialize;
use yawc::{DeflateOptions, Options, Role, WebSocket};

use crate::errors::WxError;
use crate::event::res::Headers;
use crate::net::Connector;
use crate::runtime::now_ms;

use super::wire::{Tapped, Wire};

/// A validated connectSocket request.
pub struct Target {
    pub url: url::Url,
    pub headers: HeaderMap,
    pub protocols: Vec<String>,
    pub no_delay: bool,
    /// `perMessageDeflate`: offer permessage-deflate.
    pub deflate: bool,
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

pub type Ws = WebSocket<Tapped<TokioIo<Upgraded>>>;

/// What the request offers when `perMessageDeflate` is true, in order of
/// preference (RFC 7692 section 5): permessage-deflate with its defaults and
/// that we can compress with a smaller window if the server asks
/// (`client_max_window_bits`, 8 to 15); then the same with the hint that we
/// will not take the compression context over, for a server that wants that
/// (it says so with `client_no_context_takeover` in its answer, which is
/// what we honour). A server that can take the first picks the first.
pub const DEFLATE_OFFER: &str =
    "permessage-deflate; client_max_window_bits, permessage-deflate; client_max_window_bits; client_no_context_takeover";

pub struct Opened {
    pub ws: Ws,
    /// Decides the close frame when the session fails the connection.
    pub wire: Wire,
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
    let extensions = verify(&response, &key, &target.protocols, target.deflate)?;
    let headers = Headers::from_http(response.headers());
    let upgraded = if handed_off {
        hyper::upgrade::on(response).await
    } else {
        let (upgraded, driven) = tokio::join!(hyper::upgrade::on(response), &mut conn);
        driven.map_err(|e| failure(format!("handshake failed: {e}")))?;
        upgraded
    };
    let upgraded = upgraded.map_err(|e| failure(format!("upgrade failed: {e}")))?;
    // yawc's limits are exclusive; ours is the largest size accepted. Both
    // apply to the inflated size too (a frame and a fragmented message).
    let limit = target.max_message_bytes.saturating_add(1);
    let mut options = Options {
        max_payload_read: Some(limit),
        max_read_buffer: Some(limit),
        check_utf8: true,
        ..Options::default()
    };
    if extensions.is_some() {
        options.compression = Some(DeflateOptions {
            // An empty message goes out uncompressed (RFC 7692 allows any
            // message to): yawc 0.5 never finishes compressing an empty
            // message once the context holds an earlier one (its sync flush
            // waits for output zlib does not repeat).
            compression_threshold: 1,
            ..DeflateOptions::default()
        });
    }
    let wire = Wire::default();
    let io = wire.tap(TokioIo::new(upgraded));
    let ws =
        WebSocket::from_stream_with_extensions(io, Role::Client, extensions.as_deref(), options).map_err(failure)?;
    let opened_at = now_ms();
    profile.handshake_cost = round3(opened_at - handshake_start);
    profile.cost = round3(opened_at - profile.fetch_start);
    Ok(Opened {
        ws,
        wire,
        headers,
        profile,
    })
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
    if target.deflate {
        h.insert(
            header::SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_static(DEFLATE_OFFER),
        );
    }
    Ok(request)
}

/// RFC 6455 4.1 as browsers apply it: 101, `Upgrade: websocket`,
/// `Connection: upgrade`, the accept key; a subprotocol only if offered (a
/// server that picks none is fine); an extension only if offered, and then
/// only permessage-deflate with parameters we can honour. Returns the agreed
/// `Sec-WebSocket-Extensions` value, if any.
pub(crate) fn verify<B>(
    response: &http::Response<B>,
    key: &str,
    offered: &[String],
    deflate: bool,
) -> Result<Option<String>, WxError> {
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
    let answers: Vec<&str> = h
        .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .map(|v| {
            v.to_str()
                .map_err(|_| failure("handshake failed: Sec-WebSocket-Extensions is not text"))
        })
        .collect::<Result<_, _>>()?;
    let answer = answers.join(",");
    if answer.trim().is_empty() {
        return Ok(None);
    }
    if !deflate {
        return Err(failure(
            "handshake failed: the server chose an extension that was not offered",
        ));
    }
    deflate_answer(&answer)
        .map(Some)
        .map_err(|why| failure(format!("handshake failed: {why}")))
}

/// RFC 7692 section 7.1 for a client that offered [`DEFLATE_OFFER`]: one
/// `permessage-deflate` with no parameter twice, no unknown parameter, window
/// bits 8 to 15 (`client_max_window_bits` allowed because it was offered).
///
/// Returns the answer spelled the one way yawc reads it (the name in lower
/// case, `; name` or `; name=digits`). yawc takes an answer it cannot parse
/// as "no extension", which would leave the server compressing to a client
/// that does not inflate: so the server's own spelling (any case, quoted
/// values, tabs) never reaches it.
pub(crate) fn deflate_answer(answer: &str) -> Result<String, String> {
    let mut extensions = answer.split(',');
    let first = extensions.next().unwrap_or("");
    if extensions.next().is_some() {
        return Err("the server chose more than one extension".into());
    }
    let mut parts = first.split(';').map(str::trim);
    let name = parts.next().unwrap_or("");
    if !name.eq_ignore_ascii_case("permessage-deflate") {
        return Err("the server chose an extension that was not offered".into());
    }
    let mut seen: Vec<String> = Vec::new();
    let mut canonical = String::from("permessage-deflate");
    for param in parts {
        let (key, value) = match param.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().trim_matches('"'))),
            None => (param.to_ascii_lowercase(), None),
        };
        if seen.contains(&key) {
            return Err(format!("permessage-deflate parameter {key} given twice"));
        }
        let ok = match key.as_str() {
            "server_no_context_takeover" | "client_no_context_takeover" => value.is_none(),
            "server_max_window_bits" | "client_max_window_bits" => {
                let bits = value.filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()));
                matches!(bits.and_then(|v| v.parse::<u8>().ok()), Some(8..=15))
            }
            _ => false,
        };
        if !ok {
            return Err(format!("permessage-deflate parameter {param:?} is not one we accept"));
        }
        seen.push(key);
        let last = seen.last().expect("just pushed");
        match value {
            Some(bits) => canonical.push_str(&format!("; {last}={}", bits.trim_start_matches('0'))),
            None => canonical.push_str(&format!("; {last}")),
        }
    }
    Ok(canonical)
}

/// A fresh `Sec-WebSocket-Key`: 16 random bytes, base64.
fn generate_key() -> String {
    let mut nonce = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut nonce)
        .expect("the system random source works");
    base64(&nonce)
}

/// The `Sec-WebSocket-Accept` a server must answer `key` with (RFC 6455 4.2.2).
pub(crate) fn derive_accept_key(key: &[u8]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(key);
    ctx.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64(ctx.finish().as_ref())
}

/// Standard base64 with padding (RFC 4648 section 4).
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(chunk.get(1).copied().unwrap_or(0)) << 8)
            | u32::from(chunk.get(2).copied().unwrap_or(0));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_key_is_the_rfc_example() {
        // RFC 6455 section 1.3.
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(generate_key().len(), 24);
    }

    #[test]
    fn deflate_answers_we_accept_and_refuse() {
        for ok in [
            "permessage-deflate",
            "permessage-deflate; client_max_window_bits=8",
            "permessage-deflate; server_max_window_bits=10; server_no_context_takeover",
            "Permessage-Deflate;client_no_context_takeover; client_max_window_bits=\"15\"",
        ] {
            assert!(deflate_answer(ok).is_ok(), "{ok}");
        }
        // What yawc is given: one spelling, whatever the server's.
        for (answer, canonical) in [
            ("permessage-deflate", "permessage-deflate"),
            (
                "Permessage-Deflate;client_no_context_takeover; client_max_window_bits=\"15\"",
                "permessage-deflate; client_no_context_takeover; client_max_window_bits=15",
            ),
            (
                "PERMESSAGE-DEFLATE ;\tSERVER_MAX_WINDOW_BITS = \"010\" ; Server_No_Context_Takeover",
                "permessage-deflate; server_max_window_bits=10; server_no_context_takeover",
            ),
        ] {
            assert_eq!(deflate_answer(answer).as_deref(), Ok(canonical), "{answer}");
        }
        for bad in [
            "x-webkit-deflate-frame",
            "permessage-deflate, permessage-deflate",
            "permessage-deflate; server_max_window_bits=16",
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=08x",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; mystery",
        ] {
            assert!(deflate_answer(bad).is_err(), "{bad}");
        }
    }
}
