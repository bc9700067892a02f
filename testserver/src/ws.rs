//! The WebSocket routes (`/ws/{name}`; see the crate documentation for the list).
//!
//! hyper does the HTTP/1.1 upgrade: the request is validated here and answered with 101 and
//! `Sec-WebSocket-Accept`; the upgraded connection is then driven by tungstenite in a task of
//! its own, which ends when the connection does (or when the server stops).

use std::future::pending;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode, Version};
use hyper::body::Incoming;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::{sleep_until, timeout, Instant, Interval, MissedTickBehavior};
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::{CloseFrame, Frame};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

use crate::body::{empty, Body};
use crate::pattern_byte;
use crate::query::Query;
use crate::respond::{bad_request, delay_arg, header_json, status, text};
use crate::stats::Stats;

/// Largest message and frame the server accepts, and the largest `/ws/big` message.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// `/ws/ping` sends a Ping this often, with this payload.
const PING_INTERVAL: Duration = Duration::from_millis(100);
const PING_PAYLOAD: &[u8] = b"wxnet";
/// The text message `/ws/ping` answers with its Pong count.
const PONGS_QUESTION: &str = "pongs?";
/// How long `/ws/no-close-reply` holds the connection after the client's Close.
const HOLD_AFTER_CLOSE: Duration = Duration::from_secs(60);
/// How long a close handshake may take (from the first Close, either side's) before the
/// server drops the connection.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the graceful end (TLS close_notify, FIN) may take.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(1);
/// Limits of the query parameters.
const MAX_PARTS: u64 = 10_000;
const MAX_FLOOD: u64 = 1_000_000;
const MAX_FLOOD_WIDTH: u64 = 64 * 1024;
/// `/ws/ping-flood`: a write that waits this long means the client stopped reading.
const FLOOD_STALL: Duration = Duration::from_secs(2);

/// What the WebSocket connections of one upgrade path and query saw
/// ([`crate::TestServer::ws_counters`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WsCounters {
    /// Pongs received (any route).
    pub pongs: u64,
    /// Pings written by `/ws/ping-flood`.
    pub flood_pings: u64,
    /// `/ws/ping-flood` connections whose flood ended stalled (a write waited over 2 s).
    pub floods_stalled: u64,
    /// `/ws/ping-flood` connections that wrote all their Pings.
    pub floods_done: u64,
    /// `/ws/ping-flood` and `/ws/ping-after-close` connections whose flood ended with a
    /// failed write (the client had closed the connection).
    pub floods_cut: u64,
    /// Pings written by `/ws/ping-after-close` after the client's Close.
    pub pings_after_close: u64,
}

/// A close frame's reason: 125 bytes of control payload minus the 2-byte code.
const MAX_REASON: usize = 123;

const SEC_WEBSOCKET_KEY: HeaderName = HeaderName::from_static("sec-websocket-key");
const SEC_WEBSOCKET_VERSION: HeaderName = HeaderName::from_static("sec-websocket-version");
const SEC_WEBSOCKET_PROTOCOL: HeaderName = HeaderName::from_static("sec-websocket-protocol");
const SEC_WEBSOCKET_ACCEPT: HeaderName = HeaderName::from_static("sec-websocket-accept");

type Ws = WebSocketStream<TokioIo<Upgraded>>;

/// What a connection does once open (besides echoing, which they all do).
enum Behavior {
    Echo,
    /// Sends this text first.
    Greet(String),
    /// Drops the connection after this long.
    Drop(Duration),
    /// Never answers the client's Close.
    NoCloseReply,
    /// Sends this Close after this long.
    ServerClose(Duration, Option<CloseFrame>),
    /// Sends one binary message of this many pattern bytes first.
    Big(usize),
    /// Sends one text message in this many frames first.
    Fragmented(u64),
    /// Pings every [`PING_INTERVAL`] and answers [`PONGS_QUESTION`].
    Ping,
    /// Sends `n` numbered text messages first, each zero-padded to `width` characters.
    Flood {
        n: u64,
        width: usize,
    },
    /// Never reads anything (so a client's sends stall once the buffers are full).
    Deaf,
    /// Writes this many Pings first, reading nothing meanwhile, until a write stalls.
    PingFlood(u64),
    /// Echoes until the client's Close, never answers it and writes this many Pings instead.
    PingAfterClose(u64),
    /// Sends `n` binary messages of `size` bytes first, each as soon as the last one is
    /// written (so a client that stops reading slows it down).
    Push {
        n: u64,
        size: usize,
    },
}

/// How a connection ended.
enum End {
    /// The close handshake completed or the client left: close the transport gracefully.
    Done,
    /// Drop the transport without a goodbye (`/ws/drop`, `/ws/no-close-reply`).
    Abrupt,
}

/// `/ws/{name}`; `None` for an unknown name (the caller answers 404). Malformed upgrade
/// requests and bad query parameters get a 400 (a wrong `Sec-WebSocket-Version` a 426).
pub(crate) fn handle(
    mut req: Request<Incoming>,
    name: &str,
    query: &Query,
    stats: Arc<Stats>,
) -> Option<Response<Body>> {
    let behavior = match name {
        // Refused whatever the request looks like.
        "refuse" => return Some(status(query.get("status").unwrap_or("403"))),
        "echo" => Ok(Behavior::Echo),
        "headers" => Ok(Behavior::Greet(Value::Object(header_json(req.headers())).to_string())),
        "drop" => after_ms(query, 100).map(Behavior::Drop),
        "no-close-reply" => Ok(Behavior::NoCloseReply),
        "server-close" => server_close(query),
        "big" => big(query),
        "fragmented" => fragmented(query),
        "ping" => Ok(Behavior::Ping),
        "flood" => flood(query),
        "push" => push(query),
        "deaf" => Ok(Behavior::Deaf),
        "ping-flood" => flood_count(query).map(Behavior::PingFlood),
        "ping-after-close" => flood_count(query).map(Behavior::PingAfterClose),
        _ => return None,
    };
    let accept = match check_upgrade(&req) {
        Ok(accept) => accept,
        Err(rejection) => return Some(rejection.response()),
    };
    let (behavior, protocol) = match behavior.and_then(|b| Ok((b, choose_protocol(req.headers(), query)?))) {
        Ok(chosen) => chosen,
        Err(msg) => return Some(bad_request(msg)),
    };
    let tag = req
        .uri()
        .path_and_query()
        .map_or_else(String::new, |pq| pq.as_str().to_owned());
    tokio::spawn(serve(hyper::upgrade::on(&mut req), behavior, stats, tag));
    Some(switching_protocols(&accept, protocol))
}

/// `n` of `/ws/ping-flood` and `/ws/ping-after-close`: default 100000, at most [`MAX_FLOOD`].
fn flood_count(query: &Query) -> Result<u64, String> {
    match query.number("n")?.unwrap_or(100_000) {
        n if n <= MAX_FLOOD => Ok(n),
        _ => Err(format!("n must be <= {MAX_FLOOD}")),
    }
}

fn after_ms(query: &Query, default_ms: u64) -> Result<Duration, String> {
    match query.get("after_ms") {
        Some(ms) => delay_arg(ms),
        None => Ok(Duration::from_millis(default_ms)),
    }
}

/// `code` (default 4001; any u16, even codes not allowed on the wire, or `none` for a Close
/// without a code), `reason` (default `bye`, at most 123 bytes), `after_ms` (default 50).
fn server_close(query: &Query) -> Result<Behavior, String> {
    let after = after_ms(query, 50)?;
    let reason = query.get("reason").unwrap_or("bye");
    if reason.len() > MAX_REASON {
        return Err(format!("reason must be at most {MAX_REASON} bytes"));
    }
    let code = match query.get("code") {
        Some("none") => None,
        Some(code) => Some(
            code.parse::<u16>()
                .map_err(|_| "code must be 0..=65535 or none".to_owned())?,
        ),
        None => Some(4001),
    };
    let frame = code.map(|code| CloseFrame {
        code: code.into(),
        reason: reason.to_owned().into(),
    });
    Ok(Behavior::ServerClose(after, frame))
}

fn big(query: &Query) -> Result<Behavior, String> {
    match query.number("size")? {
        Some(n) if n <= MAX_MESSAGE as u64 => Ok(Behavior::Big(n as usize)),
        Some(_) => Err(format!("size must be at most {MAX_MESSAGE}")),
        None => Err("size is required".into()),
    }
}

fn fragmented(query: &Query) -> Result<Behavior, String> {
    match query.number("parts")?.unwrap_or(5) {
        parts @ 1..=MAX_PARTS => Ok(Behavior::Fragmented(parts)),
        _ => Err(format!("parts must be 1..={MAX_PARTS}")),
    }
}

fn flood(query: &Query) -> Result<Behavior, String> {
    let n = query.number("n")?.unwrap_or(10_000);
    let width = query.number("size")?.unwrap_or(0);
    if n > MAX_FLOOD || width > MAX_FLOOD_WIDTH {
        return Err(format!("n must be <= {MAX_FLOOD}, size <= {MAX_FLOOD_WIDTH}"));
    }
    Ok(Behavior::Flood {
        n,
        width: width as usize,
    })
}

/// `/ws/push?n=1500&size=1048576`: n (at most 1000000) binary messages of size bytes (at most
/// 16 MiB) of the byte 0x5a.
fn push(query: &Query) -> Result<Behavior, String> {
    let n = query.number("n")?.unwrap_or(1500);
    let size = query.number("size")?.unwrap_or(1024 * 1024);
    if n > MAX_FLOOD || size > 16 * 1024 * 1024 {
        return Err(format!("n must be <= {MAX_FLOOD}, size <= 16 MiB"));
    }
    Ok(Behavior::Push { n, size: size as usize })
}

/// Why an upgrade request is refused.
enum Rejection {
    /// Malformed: 400 with this explanation.
    Malformed(&'static str),
    /// A `Sec-WebSocket-Version` other than 13: 426 (RFC 6455 4.2.2).
    Version,
}

impl Rejection {
    fn response(self) -> Response<Body> {
        match self {
            Rejection::Malformed(msg) => bad_request(format!("not a valid WebSocket upgrade: {msg}")),
            Rejection::Version => {
                let mut resp = text(
                    StatusCode::UPGRADE_REQUIRED,
                    "only Sec-WebSocket-Version 13 is supported",
                );
                resp.headers_mut()
                    .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
                resp
            }
        }
    }
}

/// Checks the upgrade request (RFC 6455 section 4.2.1) and returns the
/// `Sec-WebSocket-Accept` value.
fn check_upgrade(req: &Request<Incoming>) -> Result<String, Rejection> {
    use Rejection::Malformed;
    if req.version() != Version::HTTP_11 {
        return Err(Malformed("WebSocket needs HTTP/1.1 (there is no RFC 8441 support)"));
    }
    if req.method() != Method::GET {
        return Err(Malformed("the method must be GET"));
    }
    let headers = req.headers();
    if !has_token(headers, &header::CONNECTION, "upgrade") {
        return Err(Malformed("Connection must include upgrade"));
    }
    if !has_token(headers, &header::UPGRADE, "websocket") {
        return Err(Malformed("Upgrade must include websocket"));
    }
    let mut versions = headers.get_all(SEC_WEBSOCKET_VERSION).iter();
    match (versions.next(), versions.next()) {
        (None, _) => return Err(Malformed("Sec-WebSocket-Version is missing")),
        (Some(v), None) if v.as_bytes().trim_ascii() == b"13" => {}
        _ => return Err(Rejection::Version),
    }
    let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).iter();
    match (keys.next(), keys.next()) {
        (Some(key), None) if valid_key(key.as_bytes()) => Ok(derive_accept_key(key.as_bytes())),
        (None, _) => Err(Malformed("Sec-WebSocket-Key is missing")),
        _ => Err(Malformed("Sec-WebSocket-Key must be one base64-encoded 16-byte value")),
    }
}

/// Whether a comma-separated header (all its fields) contains `token`, case-insensitively.
fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// A key is 16 bytes in base64: 22 digits, the last one carrying 2 bits, then `==`.
fn valid_key(key: &[u8]) -> bool {
    let b64 = |b: &u8| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/';
    key.len() == 24 && key[..22].iter().all(b64) && matches!(key[21], b'A' | b'Q' | b'g' | b'w') && &key[22..] == b"=="
}

/// The subprotocol to answer: `?protocol=none` none, `?protocol=NAME` NAME (offered or not),
/// otherwise the first one the client offered, if any.
fn choose_protocol(headers: &HeaderMap, query: &Query) -> Result<Option<HeaderValue>, String> {
    match query.get("protocol") {
        Some("none") => Ok(None),
        Some(name) if is_token(name) => Ok(HeaderValue::from_str(name).ok()),
        Some(_) => Err("protocol must be an HTTP token (or none)".into()),
        None => Ok(headers
            .get_all(SEC_WEBSOCKET_PROTOCOL)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .find(|p| !p.is_empty())
            .and_then(|p| HeaderValue::from_str(p).ok())),
    }
}

/// RFC 9110 token characters.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn switching_protocols(accept: &str, protocol: Option<HeaderValue>) -> Response<Body> {
    let mut resp = Response::new(empty());
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = resp.headers_mut();
    headers.insert(header::CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(
        SEC_WEBSOCKET_ACCEPT,
        HeaderValue::from_str(accept).expect("base64 is a valid header value"),
    );
    if let Some(protocol) = protocol {
        headers.insert(SEC_WEBSOCKET_PROTOCOL, protocol);
    }
    resp
}

/// The connection's task: waits for hyper to hand over the connection (after the 101 is
/// written), then runs the route.
async fn serve(on_upgrade: OnUpgrade, behavior: Behavior, stats: Arc<Stats>, tag: String) {
    let Ok(upgraded) = on_upgrade.await else {
        return; // the client left before the 101
    };
    let config = WebSocketConfig::default()
        .max_message_size(Some(MAX_MESSAGE))
        .max_frame_size(Some(MAX_MESSAGE));
    let mut ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config)).await;
    // Errors are the client's doing (protocol violations, resets): just drop the connection.
    if let Ok(End::Done) = run(&mut ws, behavior, &stats, &tag).await {
        // The server closes the TCP connection first (RFC 6455 7.1.1); with TLS, say so.
        let _ = timeout(SHUTDOWN_TIMEOUT, ws.get_mut().shutdown()).await;
    }
}

async fn run(ws: &mut Ws, behavior: Behavior, stats: &Stats, tag: &str) -> Result<End, WsError> {
    let mut drop_at = None;
    let mut close_at = None;
    let mut close_frame = None;
    let mut pinger = None;
    let hold_on_close = matches!(behavior, Behavior::NoCloseReply);
    let pings_after_close = match behavior {
        Behavior::PingAfterClose(n) => Some(n),
        _ => None,
    };
    let answer_pongs = matches!(behavior, Behavior::Ping);
    match behavior {
        Behavior::Echo | Behavior::NoCloseReply | Behavior::PingAfterClose(_) => {}
        Behavior::Greet(text) => ws.send(Message::text(text)).await?,
        Behavior::Drop(after) => drop_at = Some(Instant::now() + after),
        Behavior::ServerClose(after, frame) => {
            close_at = Some(Instant::now() + after);
            close_frame = frame;
        }
        Behavior::Big(n) => {
            let data: Vec<u8> = (0..n as u64).map(pattern_byte).collect();
            ws.send(Message::binary(data)).await?;
        }
        Behavior::Fragmented(parts) => {
            for frame in fragments(parts) {
                ws.feed(Message::Frame(frame)).await?;
            }
            ws.flush().await?;
        }
        Behavior::Ping => {
            let mut interval = tokio::time::interval(PING_INTERVAL);
            interval.set_missed_tick_behavior(MissedTickBehavior::Delay);
            pinger = Some(interval);
        }
        Behavior::Flood { n, width } => {
            for i in 0..n {
                ws.feed(Message::text(format!("{i:0width$}"))).await?;
            }
            ws.flush().await?;
        }
        Behavior::Deaf => {
            tokio::time::sleep(HOLD_AFTER_CLOSE).await;
            return Ok(End::Abrupt);
        }
        Behavior::PingFlood(n) => ping_flood(ws, n, stats, tag).await?,
        Behavior::Push { n, size } => {
            let data = Bytes::from(vec![0x5a; size]);
            for _ in 0..n {
                ws.send(Message::Binary(data.clone())).await?;
            }
        }
    }

    let mut pongs: u64 = 0;
    // Set once either side sent a Close: nothing but the close handshake happens any more.
    let mut closing_deadline: Option<Instant> = None;
    loop {
        let closing = closing_deadline.is_some();
        tokio::select! {
            msg = ws.next() => {
                // None: the close handshake completed (tungstenite sent the answer to the
                // client's Close during this read), or the connection was closed.
                let Some(msg) = msg else { return Ok(End::Done) };
                match msg? {
                    Message::Text(text) => {
                        stats.ws_message();
                        let reply = if answer_pongs && text.as_str() == PONGS_QUESTION {
                            Message::text(pongs.to_string())
                        } else {
                            Message::Text(text)
                        };
                        ws.send(reply).await?;
                    }
                    Message::Binary(data) => {
                        stats.ws_message();
                        ws.send(Message::Binary(data)).await?;
                    }
                    Message::Pong(_) => {
                        pongs += 1;
                        stats.ws_count(tag, |c| c.pongs += 1);
                    }
                    Message::Close(_) if pings_after_close.is_some() => {
                        let n = pings_after_close.unwrap_or(0);
                        raw_pings(ws.get_mut(), n, stats, tag).await;
                        return Ok(End::Abrupt);
                    }
                    Message::Close(_) if hold_on_close => {
                        hold(ws).await;
                        return Ok(End::Abrupt);
                    }
                    // tungstenite queued the answer (the client's code and reason, or 1002
                    // for a code not allowed on the wire): the next read sends it.
                    Message::Close(_) => {
                        closing_deadline.get_or_insert_with(|| Instant::now() + CLOSE_TIMEOUT);
                    }
                    // tungstenite queued the Pong: the next read sends it.
                    Message::Ping(_) | Message::Frame(_) => {}
                }
            }
            () = at(drop_at) => return Ok(End::Abrupt),
            () = at(close_at), if !closing => {
                close_at = None;
                closing_deadline = Some(Instant::now() + CLOSE_TIMEOUT);
                ws.send(Message::Close(close_frame.take())).await?;
            }
            () = tick(&mut pinger), if !closing => {
                ws.send(Message::Ping(Bytes::from_static(PING_PAYLOAD))).await?;
            }
            () = at(closing_deadline) => return Ok(End::Done),
        }
    }
}

/// `/ws/ping-flood`: `n` Pings of 125 bytes, written as fast as the connection takes them
/// (flushed every 64), nothing read meanwhile; stops early, counted as stalled, when one
/// write waits over [`FLOOD_STALL`].
async fn ping_flood(ws: &mut Ws, n: u64, stats: &Stats, tag: &str) -> Result<(), WsError> {
    let payload = Bytes::from_static(&[b'p'; 125]);
    let mut written = 0;
    let mut stalled = false;
    let mut cut = false;
    for i in 0..n {
        let flush = i % 64 == 63 || i + 1 == n;
        let step = timeout(FLOOD_STALL, async {
            ws.feed(Message::Ping(payload.clone())).await?;
            if flush {
                ws.flush().await?;
            }
            Ok::<(), WsError>(())
        })
        .await;
        match step {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                cut = true;
                break;
            }
            Err(_) => {
                stalled = true;
                break;
            }
        }
        written += 1;
    }
    stats.ws_count(tag, |c| {
        c.flood_pings += written;
        if stalled {
            c.floods_stalled += 1;
        } else if cut {
            c.floods_cut += 1;
        } else {
            c.floods_done += 1;
        }
    });
    Ok(())
}

/// `/ws/ping-after-close`: `n` Pings of 125 bytes written straight to the connection (after
/// the client's Close tungstenite would refuse to send them, and would send its answer),
/// 64 per write; ends when a write fails (the client cut the connection) or waits over
/// [`FLOOD_STALL`].
async fn raw_pings(io: &mut TokioIo<Upgraded>, n: u64, stats: &Stats, tag: &str) {
    let frame: Vec<u8> = [0x89, 125].into_iter().chain([b'p'; 125]).collect();
    let batch = frame.repeat(64);
    let mut written = 0;
    let mut ended = None;
    while written < n {
        match timeout(FLOOD_STALL, io.write_all(&batch)).await {
            Ok(Ok(())) => written += 64,
            Ok(Err(_)) => {
                ended = Some(false);
                break;
            }
            Err(_) => {
                ended = Some(true);
                break;
            }
        }
    }
    stats.ws_count(tag, |c| {
        c.pings_after_close += written;
        match ended {
            Some(true) => c.floods_stalled += 1,
            Some(false) => c.floods_cut += 1,
            None => c.floods_done += 1,
        }
    });
}

/// The frames of `/ws/fragmented`: one text message, `fragment-0|fragment-1|...`, in `parts`
/// frames (Text, then Continuation; only the last one final).
fn fragments(parts: u64) -> impl Iterator<Item = Frame> {
    (0..parts).map(move |i| {
        let last = i + 1 == parts;
        let mut payload = format!("fragment-{i}");
        if !last {
            payload.push('|');
        }
        let opcode = OpCode::Data(if i == 0 { Data::Text } else { Data::Continue });
        Frame::message(payload, opcode, last)
    })
}

/// `/ws/no-close-reply` after the client's Close: answers nothing (tungstenite's queued
/// answer is never flushed), discarding whatever arrives, until the client closes the
/// connection or [`HOLD_AFTER_CLOSE`] passes.
async fn hold(ws: &mut Ws) {
    let io = ws.get_mut();
    let mut buf = vec![0u8; 16 * 1024];
    let _ = timeout(HOLD_AFTER_CLOSE, async {
        while matches!(io.read(&mut buf).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// Completes at `deadline`, never without one.
async fn at(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => pending().await,
    }
}

/// The next tick of `interval`, never without one.
async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_tokens() {
        assert!(valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(
            !valid_key(b"dGhlIHNhbXBsZSBub25jZR=="),
            "last digit carries 2 bits only"
        );
        assert!(!valid_key(b"dGhlIHNhbXBsZSBub25jZQ="));
        assert!(!valid_key(b"dGhlIHNhbXBsZSBub25j*Q=="));
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert!(is_token("chat.v2"));
        assert!(!is_token("a b") && !is_token("") && !is_token("a,b"));
    }

    #[test]
    fn fragments_reassemble() {
        let frames: Vec<Frame> = fragments(3).collect();
        let text: Vec<u8> = frames.iter().flat_map(|f| f.payload().to_vec()).collect();
        assert_eq!(text, b"fragment-0|fragment-1|fragment-2");
        let finals: Vec<bool> = frames.iter().map(|f| f.header().is_final).collect();
        assert_eq!(finals, [false, false, true]);
        assert_eq!(frames[0].header().opcode, OpCode::Data(Data::Text));
        assert_eq!(frames[2].header().opcode, OpCode::Data(Data::Continue));
        assert!(fragments(1).all(|f| f.header().is_final));
    }
}
