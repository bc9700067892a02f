//! A local HTTPS / HTTP/2 / HTTP/1.1 and WebSocket (ws / wss) test server for wxnet.
//!
//! Used in-process by wxnet's Rust integration tests ([`TestServer::start`]) and as the
//! spawned program `wxnet-testserver` by the demo, the C examples and the bindings' tests.
//!
//! Every start generates a fresh CA (ECDSA P-256) and a leaf certificate for
//! [`TestServer::hostnames`] plus the IP address 127.0.0.1, and binds three listeners on
//! 127.0.0.1 with ephemeral ports, all serving the same routes (listed below):
//!
//! - [`TestServer::https_port`]: TLS, ALPN offers `h2` and `http/1.1`;
//! - [`TestServer::https_h1_port`]: TLS, ALPN offers only `http/1.1`;
//! - [`TestServer::http_port`]: plain HTTP/1.1, and h2c with prior knowledge.
//!
//! The server runs on its own thread with its own tokio runtime, so it does not depend on
//! (or block) whatever runtime the client under test uses. Routes never look at the Host
//! header: clients reach the server through a resolve pin such as
//! `api.wxnet.test:443 -> 127.0.0.1:<https_port>`.
//!
//! # Routes (any method unless stated; bad input gets a 4xx, never a crash)
//!
//! | route | answer |
//! | --- | --- |
//! | `/echo` | 200 JSON `{method, path, query, headers: {lowercase name: values joined ", " ("; " for cookie)}, body (UTF-8 lossy), bodyLength, httpVersion ("HTTP/1.1" or "HTTP/2.0"), contentType, authority}`; bodies over 16 MiB get 413 |
//! | `/echo/raw` | 200, the request body streamed back verbatim; Content-Type copied (default `application/octet-stream`), Content-Length kept when the request had one |
//! | `/status/{code}` | that status (200..=599; 1xx gets 400), body `status {code}` text/plain, none for 204/205/304 |
//! | `/delay/{ms}` | waits, then 200 `delayed` (ms at most 24 h) |
//! | `/delay-body/{ms}` | 200 headers at once (Content-Length 7), body `delayed` after the delay |
//! | `/redirect/{n}` | 302 to `/redirect/{n-1}`; `/redirect/0` is 200 `{"redirected":true}` |
//! | `/redirect-to?url=U&status=S` | S (301, 302 default, 303, 307, 308) with `Location: U` (U percent-decoded) |
//! | `/redirect-loop` | 302 to itself |
//! | `/chunked?n=5&size=100&interval_ms=50` | no Content-Length (chunked on HTTP/1.1): n chunks of size ASCII letters, interval apart (n * size at most 64 MiB) |
//! | `/json` | `{"hello":"world","n":1}` |
//! | `/text` | `plain text, not json` text/plain |
//! | `/empty` | 200, empty body |
//! | `/charset/{label}` | [`CHARSET_SAMPLE`] encoded per [`encode_charset_sample`], `Content-Type: text/plain; charset={label}` (`text/plain` with `?nocharset=1`); `x-encode-lossy: 1` when characters were unmappable (e.g. shift_jis, euc-kr: written as `&#NNNN;`); unknown label 400 |
//! | `/bom` | UTF-8 BOM + `{"bom":true}`, application/json |
//! | `/invalid-utf8` | [`INVALID_UTF8_BODY`], `text/plain` without charset |
//! | `/gzip`, `/deflate`, `/br` | [`compressed_sample_json`] compressed (deflate = zlib wrapper) with Content-Encoding, always; header `x-accept-encoding` = the request's Accept-Encoding, or `none` |
//! | `/bytes/{n}` | n bytes of the pattern [`pattern_byte`], streamed in 64 KiB frames, Content-Length n, application/octet-stream. Query: `no_length=1` (no Content-Length), `lie_length=N` (announce N: with N > n the connection closes after n bytes; with N < n only N are sent; then `Connection: close`; on HTTP/2 the stream is reset instead), `rate_kbps=K` (at most K × 1024 bytes/s), `ext=.png` (content type from the extension), `filename=x.bin` (Content-Disposition: attachment) |
//! | `/upload` | POST multipart/form-data, streamed: 200 `{"fields":{name:value},"files":[{name, filename, contentType, size, sha256}]}` with [`digest_hex`]; malformed 400 `{"error"}`; other methods 405 |
//! | `/set-cookie` | two `Set-Cookie` (`a=1; Path=/`, `b=2; HttpOnly`) and two `X-Multi` (`one`, `two`) |
//! | `/alpn` | text `HTTP/2.0` or `HTTP/1.1`: the version the server saw |
//! | `/close` | no response: the connection is dropped (HTTP/1.1) or the stream reset (HTTP/2) |
//! | `/hang` | never answers |
//! | `/wait-hits?path=P&n=1&timeout_ms=10000` | once P (path and query, as [`TestServer::hits`] counts) was requested n times: 200, else after the timeout (at most 120 s) 504; both `{"path":P,"hits":count}` |
//! | `/large-header` | a 64 KiB (or `?kib=N`, at most 4096) `x-large-header` value (an HTTP/2 client needs a max header list size above hyper's 16 KiB default to accept it) |
//! | `/cache/{max-age,etag,last-modified,no-store,vary}[/tag]` | caching headers and a serial number in the body: see `cache_routes.rs` |
//! | `/gzip-bomb?mb=1000` | `Content-Encoding: gzip`, about 1 KiB per MiB on the wire, decoding to `mb` MiB of zeros (1..=4096; default 1000): see `bomb.rs` |
//! | `/cookie/set?c=V&c=W&to=U` | one `Set-Cookie` per `c` (as given), then 302 to `to` if present, else 200 `cookies set` |
//! | `/encoded-empty/...`, `/cache-encoded/...`, `/many-headers`, `/dns-query` | empty bodies with `Content-Encoding`, compressed cacheable chunked responses, many header fields, DNS-over-HTTPS: see `semantic_routes.rs` |
//! | anything else | 404 `not found` |
//!
//! # HTTP/3
//!
//! With [`ServerOptions::h3`], the same routes are served over HTTP/3 (IETF QUIC) on
//! [`TestServer::h3_port`] (UDP, 127.0.0.1, same certificate), bridged to the routes over an
//! in-memory HTTP/1.1 connection: routes see `HTTP/1.1`, except `/alpn`, which answers
//! `HTTP/3.0` there. Every TCP response then carries `Alt-Svc: h3=":{h3_port}"; ma=60` (or
//! [`ServerOptions::alt_svc`]).
//!
//! With [`ServerOptions::h3_raw`] instead, that UDP port is a hand-written HTTP/3 server that
//! answers every request the same way ([`RawH3`]: e.g. a HEADERS frame announcing 64 MiB
//! followed by junk), counting what it could write ([`TestServer::h3_raw_stats`]).
//!
//! # WebSocket routes
//!
//! `wss://` on both TLS ports (over HTTP/1.1: a client must offer only `http/1.1` in ALPN on
//! [`TestServer::https_port`], which otherwise picks h2), `ws://` on
//! [`TestServer::http_port`]. HTTP/2 (RFC 8441) is not supported: a `/ws/...` request over
//! HTTP/2 gets 400.
//!
//! The upgrade request must be `GET` over HTTP/1.1 with `Connection: upgrade`,
//! `Upgrade: websocket`, `Sec-WebSocket-Version: 13` and one valid `Sec-WebSocket-Key`
//! (base64 of 16 bytes); otherwise 400 text/plain saying what is wrong (a version other than
//! 13 gets 426 with `Sec-WebSocket-Version: 13`). Bad query parameters also get 400, an
//! unknown `/ws/{name}` 404. The 101 carries `Sec-WebSocket-Accept` and the chosen
//! `Sec-WebSocket-Protocol`: by default the first protocol the client offered (none if it
//! offered none); `?protocol=none` chooses none even if offered; `?protocol=NAME` (an HTTP
//! token) answers NAME even if the client did not offer it (a conforming client then fails).
//! This `protocol` parameter works on every route below.
//!
//! Once open, every route echoes each text and binary message as the same kind, in order,
//! answers Pings, and answers a Close with the client's code and reason (tungstenite answers
//! 1002 instead for codes not allowed on the wire), then closes the connection (with TLS
//! close_notify). Messages and frames up to 64 MiB are accepted. Received text and binary
//! messages are counted by [`TestServer::ws_messages_received`]; the upgrade requests by
//! [`TestServer::hits`] like any route.
//!
//! | route | after the 101 (then echoes) |
//! | --- | --- |
//! | `/ws/echo` | nothing else |
//! | `/ws/headers` | one text message: JSON object of the upgrade request headers, like `/echo`'s `headers` (lowercase names, repeated fields joined with ", ") |
//! | `/ws/refuse?status=403` | no upgrade: that status (200..=599, else 400) with body `status {code}` text/plain, whatever the request |
//! | `/ws/drop?after_ms=100` | after the delay, drops the connection: no Close frame, no TLS close_notify |
//! | `/ws/no-close-reply` | when the client's Close arrives, never answers it: reads and discards whatever arrives until the client closes the connection, at most 60 s, then drops it |
//! | `/ws/server-close?code=4001&reason=bye&after_ms=50` | after the delay, sends a Close with that code (any 0..=65535, even ones not allowed on the wire; `code=none`: a Close without code) and reason (UTF-8, at most 123 bytes), waits for the client's Close (at most 5 s), closes the connection |
//! | `/ws/big?size=N` | one binary message (one frame) of N bytes (N required, at most 64 MiB) of the [`pattern_byte`] pattern |
//! | `/ws/fragmented?parts=5` | one text message `fragment-0\|fragment-1\|...\|fragment-{parts-1}` in `parts` frames (1..=10000): a Text frame then Continuation frames, only the last one final; frame i carries `fragment-i` and the `\|` after it |
//! | `/ws/ping` | a Ping with payload `wxnet` at once and every 100 ms (until a Close); the text message `pongs?` is answered (instead of echoed) with the number of Pongs received so far, in decimal |
//! | `/ws/deaf` | never reads anything (not even a Close); drops the connection after 60 s |
//! | `/ws/push?n=1500&size=1048576` | n (at most 1000000) binary messages of size bytes (at most 16 MiB, each the byte `0x5a`), each sent once the previous one is written |
//! | `/ws/ping-flood?n=100000` | n (at most 1000000) Pings of 125 bytes as fast as they can be written, reading nothing meanwhile; a write that waits over 2 s (the client stopped reading) ends the flood as stalled; then as `/ws/echo`. Counted by [`TestServer::ws_counters`] (every route counts the Pongs it receives) |
//! | `/ws/ping-after-close?n=100000` | echoes; when the client's Close arrives, never answers it and writes n (at most 1000000) Pings of 125 bytes straight to the connection until a write fails (counted as cut) or waits over 2 s (stalled); counted by [`TestServer::ws_counters`] |
//! | `/ws/flood?n=10000` | n (at most 1000000) text messages `0`, `1`, ... `{n-1}` in order, as fast as possible; with `size=S` (at most 65536) each is zero-padded to at least S characters (`size=4`: `0000`, `0001`, ...) |

mod alt_svc;
mod body;
mod bomb;
mod cache_routes;
mod cert;
mod connection;
mod content;
mod cookie_routes;
mod h3;
mod h3_raw;
mod query;
mod respond;
mod routes;
mod semantic_routes;
mod server;
mod stats;
mod tls;
mod upload;
mod ws;

use std::io;

pub use content::{compressed_sample_json, encode_charset_sample, CHARSET_SAMPLE, INVALID_UTF8_BODY};
pub use h3_raw::{raw_body_byte, RawH3, RawH3End, RawH3Stats};
pub use server::TestServer;
pub use ws::WsCounters;

/// The DNS names in the leaf certificate's subjectAltName, in this order.
///
/// The leaf also carries the IP address SAN `127.0.0.1` (not listed here) and any
/// [`ServerOptions::extra_hostnames`].
pub const HOSTNAMES: &[&str] = &[
    "localhost",
    "api.wxnet.test",
    "ws.wxnet.test",
    "up.wxnet.test",
    "cdn.wxnet.test",
    "other.wxnet.test",
];

/// Options for [`TestServer::start_with`]. `ServerOptions::default()` is what
/// [`TestServer::start`] uses; new flags will be added as fields with a default, so build
/// it with `ServerOptions { field: value, ..Default::default() }`.
#[derive(Debug, Default, Clone)]
pub struct ServerOptions {
    /// DNS names added to the leaf certificate's SANs after [`HOSTNAMES`].
    pub extra_hostnames: Vec<String>,
    /// Also serve HTTP/3 on a UDP port of 127.0.0.1 ([`TestServer::h3_port`], same routes and
    /// certificate), and advertise it on every TCP response with
    /// `Alt-Svc: h3=":{port}"; ma=60`.
    pub h3: bool,
    /// An `Alt-Svc` value every TCP response carries instead (e.g. pointing at a closed UDP
    /// port, to test a client's fallback).
    pub alt_svc: Option<String>,
    /// Serve HTTP/3 on the UDP port with the hand-written server (one fixed answer, see
    /// [`RawH3`]) instead of the routes; advertised as with [`ServerOptions::h3`].
    pub h3_raw: Option<RawH3>,
}

/// The digest reported for uploaded files by the `/upload` route: SHA-256 as lowercase hex.
///
/// SHA-256 (rather than a home-made FNV) because it is what other tools print too
/// (`sha256sum`, `hashlib.sha256`, `crypto.createHash('sha256')`), so tests in any binding
/// can compute the expected value without porting a function; it comes from `ring`, which
/// rustls already compiles, so it costs no extra crate.
pub fn digest_hex(bytes: &[u8]) -> String {
    let mut ctx = Digest::new();
    ctx.update(bytes);
    ctx.finish_hex()
}

/// The incremental form of [`digest_hex`], used by the upload sink.
pub(crate) struct Digest(ring::digest::Context);

impl Digest {
    pub(crate) fn new() -> Self {
        Digest(ring::digest::Context::new(&ring::digest::SHA256))
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    pub(crate) fn finish_hex(self) -> String {
        hex(self.0.finish().as_ref())
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// The byte at offset `i` of every `/bytes/{n}` body: `(i % 251) as u8`.
pub fn pattern_byte(i: u64) -> u8 {
    (i % 251) as u8
}

/// Checks that `data` is the `/bytes` pattern starting at offset `start`; returns the
/// offset (relative to `data`) of the first wrong byte, if any.
pub fn check_pattern(start: u64, data: &[u8]) -> Option<usize> {
    data.iter()
        .enumerate()
        .position(|(k, b)| *b != pattern_byte(start + k as u64))
}

pub(crate) fn other_err(msg: impl std::fmt::Display) -> io::Error {
    io::Error::other(msg.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_sha256() {
        assert_eq!(
            digest_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn pattern_check() {
        let data: Vec<u8> = (300..600).map(pattern_byte).collect();
        assert_eq!(check_pattern(300, &data), None);
        assert_eq!(check_pattern(301, &data), Some(0));
    }
}
