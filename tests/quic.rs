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
use wxnet_testserver::{ServerOptions, TestServer};

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
