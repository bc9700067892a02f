//! wx.request `enableQuic` against the in-process test server's HTTP/3 listener: Alt-Svc
//! learned on TCP, then HTTP/3; fallback to TCP when QUIC gets no answer; abort and timeout
//! over HTTP/3. The hostnames resolve only through the app's `resolve` pins, so UDP goes to
//! the pinned address with the port from Alt-Svc.
#![cfg(feature = "quic")]

mod support;

use std::net::UdpSocket;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use serde_json::{json, Value};
use support::{assert_fail, assert_success, url, wait_for_condition, Got, TestApp};
use wxnet::EventKind;
use wxnet_testserver::{RawH3, RawH3End, ServerOptions, TestServer};

static H3: LazyLock<TestServer> = LazyLock::new(|| {
    TestServer::start_with(ServerOptions {
        h3: true,
        ..Default::default()
    })
});

/// An app whose `api.wxnet.test` pins to `server`.
fn app_for(server: &TestServer) -> TestApp {
    let pin = format!("127.0.0.1:{}", server.https_port());
    TestApp::new(json!({
        "caCertificates": [server.ca_pem()],
        "resolve": {"api.wxnet.test:443": pin},
    }))
}

/// A wx.request with `enableQuic` plus `extra` options; its terminal event.
fn get(app: &TestApp, path: &str, extra: Value) -> Got {
    let mut options = json!({"url": url(path), "enableQuic": true});
    if let (Value::Object(o), Value::Object(e)) = (&mut options, extra) {
        o.extend(e);
    }
    app.terminal(options)
}

fn protocol(got: &Got) -> &str {
    got.json["profile"]["protocol"].as_str().expect("protocol")
}

#[test]
fn alt_svc_learned_over_tcp_then_http3_is_used() {
    let server = &*H3;
    let h3_port = server.h3_port().expect("h3 listener");
    let app = app_for(server);

    let first = get(&app, "/alpn", json!({}));
    assert_success(&first);
    assert_eq!(first.text(), "HTTP/1.1");
    assert_eq!(protocol(&first), "http1.1");
    assert_eq!(first.json["header"]["alt-svc"], format!("h3=\":{h3_port}\"; ma=60"));

    let second = get(&app, "/alpn", json!({}));
    assert_success(&second);
    assert_eq!(second.text(), "HTTP/3.0", "the server saw HTTP/3");
    let p = &second.json["profile"];
    assert_eq!(p["protocol"], "h3");
    assert_eq!(p["peerIP"], "127.0.0.1");
    assert_eq!(p["port"], h3_port, "UDP to the pinned address, port from Alt-Svc");
    assert_eq!(p["socketReused"], false);
    assert!(p["connectStart"].as_f64() > Some(0.0) && p["SSLconnectionEnd"].as_f64() > Some(0.0));
    assert!(p["receivedBytedCount"].as_u64() > Some(0));

    let third = get(&app, "/alpn", json!({}));
    assert_eq!(third.text(), "HTTP/3.0");
    assert_eq!(third.json["profile"]["socketReused"], true, "pooled connection");

    // Bodies, headers and content decoding over HTTP/3.
    let echo = get(
        &app,
        "/echo",
        json!({"method": "POST", "data": {"a": "中文"}, "header": {"X-Custom": "yes"}}),
    );
    assert_success(&echo);
    assert_eq!(protocol(&echo), "h3");
    let body = echo.data_json();
    assert_eq!(body["body"], r#"{"a":"中文"}"#);
    assert_eq!(body["headers"]["x-custom"], "yes");
    assert_eq!(body["method"], "POST");
    let gz = get(&app, "/gzip", json!({}));
    assert_eq!(protocol(&gz), "h3");
    assert_eq!(gz.text(), wxnet_testserver::compressed_sample_json("gzip"));

    // Without the option the same app stays on TCP.
    let tcp = app.terminal(json!({"url": url("/alpn")}));
    assert_eq!(tcp.text(), "HTTP/1.1");

    // A connection reset (the device changed networks) keeps the Alt-Svc knowledge but
    // not the QUIC connection: the next request is HTTP/3 again, over a new connection.
    app.app.reset_connections().expect("reset");
    let after = get(&app, "/alpn", json!({}));
    assert_eq!(after.text(), "HTTP/3.0");
    assert_eq!(after.json["profile"]["socketReused"], false, "a new QUIC connection");
    assert_eq!(get(&app, "/alpn", json!({})).json["profile"]["socketReused"], true);
}

/// A server whose Alt-Svc points at `udp_port` (where no HTTP/3 server answers).
fn server_advertising(udp_port: u16) -> TestServer {
    TestServer::start_with(ServerOptions {
        alt_svc: Some(format!("h3=\":{udp_port}\"; ma=60")),
        ..Default::default()
    })
}

/// A UDP socket that swallows everything (UDP "blocked"): counts datagrams.
fn black_hole() -> (u16, Arc<AtomicU64>) {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("udp");
    let port = socket.local_addr().expect("addr").port();
    let count = Arc::new(AtomicU64::new(0));
    let seen = count.clone();
    socket.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while socket.recv(&mut buf).is_ok() {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    (port, count)
}

#[test]
fn unanswered_quic_falls_back_to_tcp_without_failing() {
    let (port, datagrams) = black_hole();
    let server = server_advertising(port);
    let app = app_for(&server);
    assert_success(&get(&app, "/alpn", json!({})));
    // The QUIC attempt goes to the pinned address and the Alt-Svc port, gets no answer, and
    // the request goes over TCP well within its 3 s timeout (a fallback that waited for the
    // QUIC handshake to time out would fail it).
    for _ in 0..3 {
        let got = get(&app, "/alpn", json!({"timeout": 3000}));
        assert_success(&got);
        assert_eq!(got.text(), "HTTP/1.1");
        assert_eq!(protocol(&got), "http1.1");
    }
    assert!(
        datagrams.load(Ordering::SeqCst) > 0,
        "a QUIC Initial reached the Alt-Svc port"
    );
}

#[test]
fn closed_udp_port_falls_back_to_tcp() {
    let closed = {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("udp");
        socket.local_addr().expect("addr").port()
    };
    let server = server_advertising(closed);
    let app = app_for(&server);
    assert_success(&get(&app, "/alpn", json!({})));
    for _ in 0..3 {
        let got = get(&app, "/json", json!({"timeout": 3000, "enableHttp2": true}));
        assert_success(&got);
        assert_eq!(protocol(&got), "h2");
        assert_eq!(got.data_json()["hello"], "world");
    }
}

/// An app that already speaks HTTP/3 to the server.
fn warm_app() -> TestApp {
    let app = app_for(&H3);
    get(&app, "/alpn", json!({}));
    let warm = get(&app, "/alpn", json!({}));
    assert_eq!(warm.text(), "HTTP/3.0");
    app
}

#[test]
fn abort_over_http3() {
    let app = warm_app();
    let id = app.start(json!({"url": url("/hang?t=abort-h3"), "enableQuic": true}));
    wait_for_condition(
        "the request at the server",
        Duration::from_secs(10),
        Duration::from_millis(2),
        || H3.hits("/hang?t=abort-h3") >= 1,
    );
    wxnet::task_abort(id).expect("abort");
    let events = app.events.wait(id, Duration::from_secs(10));
    assert_fail(events.last().expect("event"), 1, "request:fail abort");
    // Aborting a streamed body mid-way, too.
    let id = app
        .start(json!({"url": url("/chunked?n=50&size=10&interval_ms=100"), "enableQuic": true, "enableChunked": true}));
    app.wait_for(id, EventKind::ChunkReceived);
    wxnet::task_abort(id).expect("abort");
    let events = app.events.wait(id, Duration::from_secs(10));
    assert_fail(events.last().expect("event"), 1, "request:fail abort");
    // The connection is still good for the next request.
    let next = get(&app, "/alpn", json!({}));
    assert_eq!(next.text(), "HTTP/3.0");
    assert_eq!(next.json["profile"]["socketReused"], true);
}

#[test]
fn timeout_over_http3() {
    let app = warm_app();
    assert_fail(
        &get(&app, "/delay/3000", json!({"timeout": 300})),
        5,
        "request:fail timeout",
    );
    assert_fail(
        &get(&app, "/delay-body/3000", json!({"timeout": 500})),
        5,
        "request:fail timeout",
    );
    let ok = get(&app, "/delay/50", json!({"timeout": 5000}));
    assert_success(&ok);
    assert_eq!(protocol(&ok), "h3");
}

/// An app that learned (over TCP) the Alt-Svc of a server with the hand-written HTTP/3
/// listener `mode`, and the server.
fn raw_h3(mode: RawH3) -> (TestServer, TestApp) {
    let server = TestServer::start_with(ServerOptions {
        h3_raw: Some(mode),
        ..Default::default()
    });
    let app = app_for(&server);
    let learned = get(&app, "/alpn", json!({}));
    assert_eq!(learned.text(), "HTTP/1.1");
    (server, app)
}

/// The first answer of `app` that came over HTTP/3 (a QUIC handshake slower than the head
/// start sends a request over TCP; the connection is pooled for the next one).
/// Waits (bounded) until the raw HTTP/3 server's `what` has ended; returns how it ended
/// and the bytes the server wrote.
fn raw_answer_end(server: &TestServer, what: &str) -> (Option<RawH3End>, u64) {
    let stats = server.h3_raw_stats().expect("raw listener");
    wait_for_condition(what, Duration::from_secs(10), Duration::from_millis(2), || {
        stats.ended().is_some()
    });
    (stats.ended(), stats.written())
}

fn over_h3(app: &TestApp, path: &str) -> Got {
    for _ in 0..5 {
        let got = get(app, path, json!({"timeout": 20000, "responseType": "arraybuffer"}));
        if got.kind == EventKind::Fail || protocol(&got) == "h3" {
            return got;
        }
    }
    panic!("no request went over HTTP/3");
}

#[test]
fn http3_headers_frame_announcing_64_mib_fails_early_and_stops_the_stream() {
    let (server, app) = raw_h3(RawH3::AnnouncedHeaders(64 << 20));
    let got = over_h3(&app, "/junk");
    assert_fail(
        &got,
        600001,
        "request:fail response header section exceeds 262144 bytes",
    );
    let (end, written) = raw_answer_end(&server, "the server's answer to end");
    // H3_MESSAGE_ERROR (0x10e): the client stopped the stream, at the frame header.
    assert_eq!(end, Some(RawH3End::Stopped(0x10e)), "STOP_SENDING from the client");
    // The server could write no more than QUIC flow control allowed: the stream window
    // (quinn's default 1.25 MB) beyond what the client read, which was the frame header.
    eprintln!("raw h3 server wrote {written} bytes before the client stopped the stream");
    assert!(
        written <= 4 << 20,
        "server wrote {written} bytes of a 64 MiB HEADERS frame"
    );
    // The same connection still serves the next request (it fails the same way).
    let again = over_h3(&app, "/junk");
    assert_fail(
        &again,
        600001,
        "request:fail response header section exceeds 262144 bytes",
    );
}

#[test]
fn http3_header_sections_are_limited_like_http1_and_http2() {
    // 200 KiB: within 256 KiB.
    let (_server, app) = raw_h3(RawH3::Headers(200 * 1024));
    let ok = over_h3(&app, "/big-head");
    assert_success(&ok);
    assert_eq!(protocol(&ok), "h3");
    assert_eq!(ok.text(), "ok");
    let value = ok.json["header"]["x-big"].as_str().expect("x-big");
    assert_eq!(
        value.len(),
        200 * 1024 - (":status".len() + 3 + 32) - ("x-big".len() + 32)
    );
    // Just over 256 KiB (its frame is under the guard's frame bound, so h3's own count
    // refuses it): the same FAIL as over HTTP/1.1 and HTTP/2 (tests/semantics.rs).
    let (_server, app) = raw_h3(RawH3::Headers(256 * 1024 + 1024));
    assert_fail(
        &over_h3(&app, "/big-head"),
        600001,
        "request:fail response header section exceeds 262144 bytes",
    );
}

#[test]
fn http3_flood_of_empty_data_frames_fails_and_stops_the_stream() {
    // Empty DATA frames carry nothing, but each one h3 decodes makes it read more of the
    // stream: 64 MiB of them after a valid head.
    let (server, app) = raw_h3(RawH3::EmptyDataFrames(64 << 20));
    let got = over_h3(&app, "/empty-frames");
    assert_fail(&got, 600001, "request:fail");
    let msg = got.json["errMsg"].as_str().expect("errMsg");
    assert!(
        msg.contains("HTTP/3 server sent") && msg.contains("bytes of framing for 0 bytes of body"),
        "{msg}"
    );
    let (end, written) = raw_answer_end(&server, "the server's answer to end");
    // H3_EXCESSIVE_LOAD (0x107).
    assert_eq!(end, Some(RawH3End::Stopped(0x107)), "STOP_SENDING from the client");
    assert!(written <= 4 << 20, "server wrote {written} bytes of empty frames");
}

#[test]
fn http3_empty_and_unknown_frames_inside_a_body_are_skipped() {
    // h3 alone took the empty DATA frame for the end of the body: SUCCESS with `ab`.
    let (_server, app) = raw_h3(RawH3::BodyWithEmptyFrames);
    let ok = over_h3(&app, "/body");
    assert_success(&ok);
    assert_eq!(protocol(&ok), "h3");
    assert_eq!(ok.text(), "abcd");
}

#[test]
fn http3_huge_settings_frame_on_the_control_stream_closes_the_connection() {
    let (server, app) = raw_h3(RawH3::HugeSettings(64 << 20));
    let got = get(&app, "/settings", json!({"timeout": 20000}));
    let (end, written) = raw_answer_end(&server, "the control stream to end");
    // The client stopped the stream at 64 KiB (H3_EXCESSIVE_LOAD, 0x107) and closed the
    // connection: the server sees either first.
    assert!(
        matches!(end, Some(RawH3End::Stopped(0x107) | RawH3End::Lost)),
        "{end:?}"
    );
    assert!(
        written <= 4 << 20,
        "server wrote {written} bytes of a 64 MiB SETTINGS frame"
    );
    // The request went over HTTP/3 and failed with its connection, or went over TCP when
    // the handshake did not finish within the head start (the server routes: 404).
    if got.kind == EventKind::Fail {
        assert_fail(&got, 600001, "request:fail");
        let msg = got.json["errMsg"].as_str().expect("errMsg");
        assert!(
            msg.contains("more than 65536 bytes on a unidirectional stream"),
            "{msg}"
        );
    } else {
        assert_eq!(protocol(&got), "http1.1", "{got:?}");
    }
}

#[test]
fn http3_body_in_small_frames_arrives_whole() {
    // 8 MiB in DATA frames of 1000 bytes: h3 reads ahead at every frame boundary, so the
    // guard's read-ahead bound (256 KiB of body not yet taken) holds the stream back again
    // and again; the body must still arrive whole and in order.
    let total = 8 << 20;
    let (server, app) = raw_h3(RawH3::BodyFrames { frame: 1000, total });
    let ok = over_h3(&app, "/frames");
    assert_success(&ok);
    assert_eq!(protocol(&ok), "h3");
    assert_eq!(ok.data.len(), total);
    let wrong = ok
        .data
        .iter()
        .enumerate()
        .position(|(i, b)| *b != wxnet_testserver::raw_body_byte(i));
    assert_eq!(wrong, None, "first wrong byte");
    assert_eq!(server.h3_raw_stats().and_then(|s| s.ended()), Some(RawH3End::Written));
}

/// A server's `ma` is a number it chose: the largest (2^64-1 seconds, past any clock) and one
/// past it are taken without harm, and the requests after them succeed.
#[test]
fn an_alt_svc_max_age_beyond_any_clock_is_harmless() {
    for ma in ["18446744073709551615", "18446744073709551616", "9223372036854775807"] {
        let (port, _datagrams) = black_hole();
        let server = TestServer::start_with(ServerOptions {
            alt_svc: Some(format!("h3=\":{port}\"; ma={ma}")),
            ..Default::default()
        });
        let app = app_for(&server);
        let first = get(&app, "/alpn", json!({"timeout": 3000}));
        assert_success(&first);
        assert_eq!(first.json["header"]["alt-svc"], format!("h3=\":{port}\"; ma={ma}"));
        assert_success(&get(&app, "/alpn", json!({"timeout": 3000})));
    }
}
