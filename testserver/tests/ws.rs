//! The WebSocket routes, with tokio-tungstenite as the client over tokio-rustls (wss on both
//! TLS ports) and plain TCP (ws), plus raw HTTP/frames where the wire format matters.

mod common;

use std::time::{Duration, Instant};

use common::{tls, Client as HttpClient, H2_H1};
use futures_util::{SinkExt, StreamExt};
use http::{HeaderName, HeaderValue};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::error::{ProtocolError, SubProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use wxnet_testserver::{check_pattern, TestServer};

const WAIT: Duration = Duration::from_secs(10);

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

type Ws = WebSocketStream<Box<dyn Io>>;
type Handshake = http::Response<Option<Vec<u8>>>;

#[derive(Clone, Copy, Debug)]
enum Port {
    /// The main TLS port; the client offers only http/1.1 (WebSocket needs HTTP/1.1).
    Wss,
    /// The h1-only TLS port; the client offers h2 too.
    WssH1,
    /// The plain port.
    Ws,
}

const ALL_PORTS: [Port; 3] = [Port::Wss, Port::WssH1, Port::Ws];

async fn transport(server: &TestServer, port: Port) -> Box<dyn Io> {
    let ca = server.ca_pem();
    match port {
        Port::Wss => Box::new(
            tls(server.https_port(), ca, &[b"http/1.1"], "ws.wxnet.test")
                .await
                .expect("TLS"),
        ),
        Port::WssH1 => Box::new(
            tls(server.https_h1_port(), ca, H2_H1, "ws.wxnet.test")
                .await
                .expect("TLS"),
        ),
        Port::Ws => Box::new(
            TcpStream::connect(("127.0.0.1", server.http_port()))
                .await
                .expect("connect"),
        ),
    }
}

async fn try_connect(
    server: &TestServer,
    port: Port,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<(Ws, Handshake), WsError> {
    let scheme = if matches!(port, Port::Ws) { "ws" } else { "wss" };
    let mut req = format!("{scheme}://ws.wxnet.test{path}").into_client_request()?;
    for (name, value) in headers {
        req.headers_mut().append(
            HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            HeaderValue::from_str(value).expect("header value"),
        );
    }
    let config = WebSocketConfig::default()
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20));
    let stream = transport(server, port).await;
    timeout(
        WAIT,
        tokio_tungstenite::client_async_with_config(req, stream, Some(config)),
    )
    .await
    .expect("handshake timed out")
}

async fn connect(server: &TestServer, port: Port, path: &str) -> Ws {
    try_connect(server, port, path, &[])
        .await
        .expect("WebSocket handshake")
        .0
}

async fn next(ws: &mut Ws) -> Option<Result<Message, WsError>> {
    timeout(WAIT, ws.next()).await.expect("no message in time")
}

async fn recv(ws: &mut Ws) -> Message {
    next(ws).await.expect("stream ended").expect("WebSocket error")
}

async fn recv_text(ws: &mut Ws) -> String {
    match recv(ws).await {
        Message::Text(text) => text.as_str().to_owned(),
        other => panic!("expected text, got {other:?}"),
    }
}

async fn assert_echoes(ws: &mut Ws) {
    ws.send(Message::text("still echoing")).await.expect("send");
    assert_eq!(recv_text(ws).await, "still echoing");
}

fn close_frame(code: u16, reason: &str) -> CloseFrame {
    CloseFrame {
        code: CloseCode::from(code),
        reason: reason.to_owned().into(),
    }
}

/// Closes with `code`/`reason` and expects the server to echo them and end the connection.
async fn close_and_expect_echo(ws: &mut Ws, code: u16, reason: &str) {
    ws.close(Some(close_frame(code, reason))).await.expect("close");
    match recv(ws).await {
        Message::Close(Some(frame)) => {
            assert_eq!((u16::from(frame.code), frame.reason.as_str()), (code, reason));
        }
        other => panic!("expected the Close echo, got {other:?}"),
    }
    assert!(next(ws).await.is_none(), "the stream ends after the close handshake");
}

/// A raw upgrade request on the plain port; returns the connection and the response head
/// (status, lowercase header lines), the connection positioned after the head.
async fn raw_upgrade(server: &TestServer, path: &str, extra: &str) -> (TcpStream, u16, String) {
    let mut tcp = TcpStream::connect(("127.0.0.1", server.http_port()))
        .await
        .expect("connect");
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: ws.wxnet.test\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n{extra}\r\n"
    );
    tcp.write_all(req.as_bytes()).await.expect("write");
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let byte = timeout(WAIT, tcp.read_u8()).await.expect("head in time").expect("read");
        head.push(byte);
    }
    let head = String::from_utf8(head).expect("ASCII head").to_ascii_lowercase();
    let status = head[9..12].parse().expect("status code");
    (tcp, status, head)
}

/// The status code and lowercase head of a raw request that the server answers and closes.
async fn raw_status(server: &TestServer, raw: &str) -> (u16, String) {
    let out = timeout(WAIT, common::raw_http(server.http_port(), raw))
        .await
        .expect("answer in time");
    let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
    (text.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0), text)
}

/// One unmasked server frame: (fin, opcode, payload).
async fn raw_frame(tcp: &mut TcpStream) -> (bool, u8, Vec<u8>) {
    let mut hdr = [0u8; 2];
    timeout(WAIT, tcp.read_exact(&mut hdr))
        .await
        .expect("frame in time")
        .expect("read");
    assert_eq!(hdr[1] & 0x80, 0, "server frames are not masked");
    let len = match hdr[1] & 0x7f {
        126 => u64::from(tcp.read_u16().await.expect("len16")),
        127 => tcp.read_u64().await.expect("len64"),
        n => u64::from(n),
    };
    let mut payload = vec![0u8; len as usize];
    tcp.read_exact(&mut payload).await.expect("payload");
    (hdr[0] & 0x80 != 0, hdr[0] & 0x0f, payload)
}

#[tokio::test]
async fn echo_text_and_binary_on_every_port() {
    let server = TestServer::start();
    for port in ALL_PORTS {
        let mut ws = connect(&server, port, "/ws/echo").await;
        let binary: Vec<u8> = (0..2_000_003u32).map(|i| (i % 253) as u8).collect();
        let sent = [
            Message::text("héllo"),
            Message::binary(vec![0u8, 1, 255]),
            Message::text(""),
            Message::binary(binary),
            Message::text("last"),
        ];
        for msg in sent.iter().cloned() {
            ws.send(msg).await.expect("send");
        }
        // A Ping in the middle is answered, and does not disturb the echo order.
        ws.send(Message::Ping("p".into())).await.expect("ping");
        let mut got = Vec::new();
        let mut pong = false;
        while got.len() < sent.len() || !pong {
            match recv(&mut ws).await {
                Message::Pong(data) => {
                    assert_eq!(&data[..], b"p");
                    pong = true;
                }
                msg => got.push(msg),
            }
        }
        assert_eq!(got, sent, "{port:?}");
        close_and_expect_echo(&mut ws, 4000, "done").await;
    }
    assert_eq!(server.hits("/ws/echo"), 3);
    assert_eq!(server.ws_messages_received(), 15);
}

#[tokio::test]
async fn subprotocol_selection() {
    let server = TestServer::start();
    let proto = |head: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix("sec-websocket-protocol: "))
            .map(str::to_owned)
    };
    let cases = [
        ("/ws/echo", "Sec-WebSocket-Protocol: chat, superchat\r\n", Some("chat")),
        (
            "/ws/echo",
            "Sec-WebSocket-Protocol: , first\r\nSec-WebSocket-Protocol: second\r\n",
            Some("first"),
        ),
        ("/ws/echo", "", None),
        ("/ws/echo?protocol=none", "Sec-WebSocket-Protocol: chat\r\n", None),
        (
            "/ws/echo?protocol=other",
            "Sec-WebSocket-Protocol: chat\r\n",
            Some("other"),
        ),
        ("/ws/echo?protocol=other", "", Some("other")),
    ];
    for (path, extra, expected) in cases {
        let (_tcp, status, head) = raw_upgrade(&server, path, extra).await;
        assert_eq!(status, 101, "{path} {extra:?}: {head}");
        assert!(
            head.contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo=\r\n"),
            "{head}"
        );
        assert_eq!(proto(&head).as_deref(), expected, "{path} {extra:?}");
    }

    // Through a real client, on TLS.
    let offer = [("Sec-WebSocket-Protocol", "wx.v1, wx.v2")];
    let (mut ws, resp) = try_connect(&server, Port::Wss, "/ws/echo", &offer)
        .await
        .expect("handshake");
    assert_eq!(resp.headers()["sec-websocket-protocol"], "wx.v1");
    assert_echoes(&mut ws).await;
    let (_, resp) = try_connect(&server, Port::Wss, "/ws/echo?protocol=wx.v2", &offer)
        .await
        .expect("handshake");
    assert_eq!(resp.headers()["sec-websocket-protocol"], "wx.v2");
    // A protocol the client did not offer: a conforming client refuses the connection.
    let err = try_connect(&server, Port::Wss, "/ws/echo?protocol=evil", &[])
        .await
        .err();
    assert!(
        matches!(
            err,
            Some(WsError::Protocol(ProtocolError::SecWebSocketSubProtocolError(
                SubProtocolError::ServerSentSubProtocolNoneRequested
            )))
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn malformed_upgrades_get_400() {
    let server = TestServer::start();
    // Every request also says `Connection: close`, so that hyper closes after answering.
    let up = "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n";
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let valid = format!("{up}{key}");
    let requests = [
        ("GET", "/ws/echo", "close", String::new(), 400),
        ("GET", "/ws/echo", "close, upgrade", up.to_owned(), 400), // no key
        (
            "GET",
            "/ws/echo",
            "close, upgrade",
            format!("{up}Sec-WebSocket-Key: c2hvcnQ=\r\n"),
            400,
        ),
        ("GET", "/ws/echo", "close, upgrade", format!("{up}{key}{key}"), 400),
        ("GET", "/ws/echo", "close", valid.clone(), 400), // Connection without upgrade
        ("POST", "/ws/echo", "close, upgrade", valid.clone(), 400),
        (
            "GET",
            "/ws/echo",
            "close, upgrade",
            format!("Upgrade: h2c\r\nSec-WebSocket-Version: 13\r\n{key}"),
            400,
        ),
        (
            "GET",
            "/ws/echo",
            "close, upgrade",
            format!("Upgrade: websocket\r\n{key}"),
            400,
        ), // no version
        (
            "GET",
            "/ws/echo",
            "close, upgrade",
            format!("Upgrade: websocket\r\nSec-WebSocket-Version: 8\r\n{key}"),
            426,
        ),
        ("GET", "/ws/echo?protocol=a%20b", "close, upgrade", valid.clone(), 400),
        ("GET", "/ws/fragmented?parts=0", "close, upgrade", valid.clone(), 400),
        ("GET", "/ws/big", "close, upgrade", valid.clone(), 400),
        ("GET", "/ws/big?size=67108865", "close, upgrade", valid.clone(), 400),
        ("GET", "/ws/flood?n=x", "close, upgrade", valid.clone(), 400),
        (
            "GET",
            "/ws/server-close?code=70000",
            "close, upgrade",
            valid.clone(),
            400,
        ),
        ("GET", "/ws/drop?after_ms=-1", "close, upgrade", valid.clone(), 400),
        ("GET", "/ws/nope", "close, upgrade", valid.clone(), 404),
    ];
    for (method, path, connection, headers, expected) in requests {
        let raw = format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: {connection}\r\n{headers}Content-Length: 0\r\n\r\n"
        );
        let (status, text) = raw_status(&server, &raw).await;
        assert_eq!(status, expected, "{method} {path} {headers:?}: {text}");
        if expected == 426 {
            assert!(text.contains("sec-websocket-version: 13\r\n"), "{text}");
        }
    }
    // Over HTTP/2 there is no upgrade.
    let mut h2 = HttpClient::https(server.https_port(), server.ca_pem()).await;
    let resp = h2.get("/ws/echo").await;
    assert_eq!((resp.version, resp.status.as_u16()), (http::Version::HTTP_2, 400));
    // Still serving.
    assert_echoes(&mut connect(&server, Port::Ws, "/ws/echo").await).await;
}

#[tokio::test]
async fn refuse_answers_the_status() {
    let server = TestServer::start();
    for (path, code) in [
        ("/ws/refuse", 403),
        ("/ws/refuse?status=403", 403),
        ("/ws/refuse?status=503", 503),
    ] {
        match try_connect(&server, Port::Wss, path, &[]).await {
            Err(WsError::Http(resp)) => {
                assert_eq!(resp.status().as_u16(), code);
                assert_eq!(resp.body().as_deref(), Some(format!("status {code}").as_bytes()));
            }
            other => panic!("{path}: expected a refusal, got {:?}", other.map(|(_, r)| r)),
        }
    }
    let (status, _) = raw_status(
        &server,
        "GET /ws/refuse?status=101 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(server.hits("/ws/refuse"), 4);
}

#[tokio::test]
async fn drop_closes_without_a_close_frame() {
    let server = TestServer::start();
    for port in [Port::Wss, Port::Ws] {
        let started = Instant::now();
        let mut ws = connect(&server, port, "/ws/drop?after_ms=100").await;
        assert_echoes(&mut ws).await;
        let end = next(&mut ws).await;
        let elapsed = started.elapsed();
        assert!(elapsed >= Duration::from_millis(100), "{elapsed:?}");
        assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
        assert!(
            matches!(
                end,
                Some(Err(
                    WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) | WsError::Io(_)
                ))
            ),
            "{port:?}: {end:?}"
        );
    }
}

#[tokio::test]
async fn server_close_sends_the_code_and_completes() {
    let server = TestServer::start();
    for (port, path, expected) in [
        (
            Port::Wss,
            "/ws/server-close?code=4001&reason=bye&after_ms=50",
            Some((4001, "bye")),
        ),
        (Port::Ws, "/ws/server-close", Some((4001, "bye"))),
        (
            Port::Ws,
            "/ws/server-close?code=1000&reason=caf%C3%A9&after_ms=0",
            Some((1000, "café")),
        ),
        (Port::Ws, "/ws/server-close?code=none", None),
    ] {
        let mut ws = connect(&server, port, path).await;
        match recv(&mut ws).await {
            Message::Close(frame) => {
                let got = frame.as_ref().map(|f| (u16::from(f.code), f.reason.as_str()));
                assert_eq!(got, expected, "{path}");
            }
            other => panic!("{path}: expected Close, got {other:?}"),
        }
        // tungstenite answered the Close during that read; the server then closes the
        // connection cleanly (close_notify on TLS).
        assert!(next(&mut ws).await.is_none(), "{path}");
    }
}

#[tokio::test]
async fn fragmented_text_reassembles() {
    let server = TestServer::start();
    let mut ws = connect(&server, Port::Wss, "/ws/fragmented?parts=5").await;
    let expected: Vec<String> = (0..5).map(|i| format!("fragment-{i}")).collect();
    assert_eq!(recv_text(&mut ws).await, expected.join("|"));
    assert_echoes(&mut ws).await;

    // On the wire: Text (not final), Continuation..., the last one final.
    let (mut tcp, status, _) = raw_upgrade(&server, "/ws/fragmented?parts=3", "").await;
    assert_eq!(status, 101);
    let frames = [
        raw_frame(&mut tcp).await,
        raw_frame(&mut tcp).await,
        raw_frame(&mut tcp).await,
    ];
    let heads: Vec<(bool, u8)> = frames.iter().map(|(fin, op, _)| (*fin, *op)).collect();
    assert_eq!(heads, [(false, 1), (false, 0), (true, 0)]);
    let payload: Vec<u8> = frames.iter().flat_map(|(_, _, p)| p.clone()).collect();
    assert_eq!(payload, b"fragment-0|fragment-1|fragment-2");

    let mut ws = connect(&server, Port::Ws, "/ws/fragmented?parts=1").await;
    assert_eq!(recv_text(&mut ws).await, "fragment-0");
    let mut ws = connect(&server, Port::Ws, "/ws/fragmented").await;
    assert_eq!(recv_text(&mut ws).await.split('|').count(), 5);
}

#[tokio::test]
async fn big_sends_the_pattern() {
    let server = TestServer::start();
    for (port, size) in [(Port::Wss, 1_000_003usize), (Port::Ws, 0), (Port::Ws, 17 << 20)] {
        let mut ws = connect(&server, port, &format!("/ws/big?size={size}")).await;
        match recv(&mut ws).await {
            Message::Binary(data) => {
                assert_eq!(data.len(), size);
                assert_eq!(check_pattern(0, &data), None);
            }
            other => panic!("expected binary, got {:?}", other.len()),
        }
        assert_echoes(&mut ws).await;
    }
}

#[tokio::test]
async fn ping_counts_pongs() {
    let server = TestServer::start();
    let mut ws = connect(&server, Port::Wss, "/ws/ping").await;
    // Keep reading (tungstenite answers each Ping while reading) for a few intervals.
    let mut pings = 0u64;
    let until = tokio::time::Instant::now() + Duration::from_millis(450);
    while let Ok(msg) = tokio::time::timeout_at(until, ws.next()).await {
        match msg.expect("open").expect("no error") {
            Message::Ping(data) => {
                assert_eq!(&data[..], b"wxnet");
                pings += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(pings >= 3, "{pings} pings in 450 ms");
    ws.send(Message::text("pongs?")).await.expect("send");
    let answer = loop {
        match recv(&mut ws).await {
            Message::Text(text) => break text.as_str().parse::<u64>().expect("a number"),
            Message::Ping(_) => pings += 1,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(answer >= 2 && answer <= pings, "{answer} pongs counted, {pings} pings");
    assert_echoes(&mut ws).await;
    close_and_expect_echo(&mut ws, 1000, "").await;
}

#[tokio::test]
async fn flood_sends_numbered_messages_in_order() {
    let server = TestServer::start();
    let mut ws = connect(&server, Port::Wss, "/ws/flood").await;
    for i in 0..10_000 {
        assert_eq!(recv_text(&mut ws).await, i.to_string());
    }
    assert_echoes(&mut ws).await;
    let mut ws = connect(&server, Port::Ws, "/ws/flood?n=3&size=4").await;
    for expected in ["0000", "0001", "0002"] {
        assert_eq!(recv_text(&mut ws).await, expected);
    }
    assert_echoes(&mut ws).await;
}

#[tokio::test]
async fn headers_reports_the_upgrade_request() {
    let server = TestServer::start();
    let extra = [
        ("Referer", "https://servicewechat.com/wx123/1/page-frame.html"),
        ("X-Custom", "a"),
        ("X-Custom", "b"),
        ("Sec-WebSocket-Protocol", "p1, p2"),
    ];
    let (mut ws, _) = try_connect(&server, Port::Wss, "/ws/headers", &extra)
        .await
        .expect("handshake");
    let json: serde_json::Value = serde_json::from_str(&recv_text(&mut ws).await).expect("JSON");
    assert_eq!(json["referer"], "https://servicewechat.com/wx123/1/page-frame.html");
    assert_eq!(json["x-custom"], "a, b");
    assert_eq!(json["sec-websocket-protocol"], "p1, p2");
    assert_eq!(json["sec-websocket-version"], "13");
    assert_eq!(json["upgrade"], "websocket");
    assert_eq!(json["host"], "ws.wxnet.test");
    assert_echoes(&mut ws).await;
    assert_eq!(server.hits("/ws/headers"), 1);
}

#[tokio::test]
async fn no_close_reply_never_answers_the_close() {
    let server = TestServer::start();
    let mut ws = connect(&server, Port::Wss, "/ws/no-close-reply").await;
    assert_echoes(&mut ws).await;
    ws.close(Some(close_frame(1000, "bye"))).await.expect("close");
    let got = timeout(Duration::from_millis(400), ws.next()).await;
    assert!(got.is_err(), "expected silence after our Close, got {got:?}");
    // The client gives up; the server notices and lets go (nothing to observe but no hang).
    drop(ws);
    assert_echoes(&mut connect(&server, Port::Ws, "/ws/echo").await).await;
}
