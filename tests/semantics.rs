//! wx semantics to the last detail (issue 12), over real sockets against the test server
//! (and raw sockets where a misbehaving server is the point): request bodies with
//! Content-Length, empty bodies with Content-Encoding, compressed responses in the cache,
//! early answers to uploads, many header fields, CR/LF in query data, Happy Eyeballs.

mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{json, Value};
use support::*;
use wxnet::UserData;

fn header<'a>(echo: &'a Value, name: &str) -> Option<&'a str> {
    echo["headers"][name].as_str()
}

#[test]
fn request_bodies_carry_content_length_and_are_never_chunked() {
    let app = TestApp::new(json!({}));
    for method in ["POST", "PUT", "DELETE"] {
        for (data, expected) in [
            (json!({"a": 1, "b": "x"}), r#"{"a":1,"b":"x"}"#),
            (json!("plain string body"), "plain string body"),
        ] {
            let ok = app.terminal(json!({"url": url("/echo"), "method": method, "data": data}));
            assert_success(&ok);
            let echo = ok.data_json();
            assert_eq!(echo["body"], expected, "{method}");
            assert_eq!(
                header(&echo, "content-length"),
                Some(&*expected.len().to_string()),
                "{method} {echo}"
            );
            assert_eq!(header(&echo, "transfer-encoding"), None, "{method} {echo}");
        }
    }
    // ArrayBuffer data.
    let binary = Bytes::from_static(&[0, 1, 2, 3, 255]);
    let id = app
        .app
        .request(
            json!({"url": url("/echo"), "method": "POST", "header": {"content-type": "application/octet-stream"}})
                .to_string()
                .as_bytes(),
            Some(binary),
            UserData(1),
        )
        .expect("request starts");
    let ok = last(app.events.wait(id, Duration::from_secs(20)));
    assert_success(&ok);
    let echo = ok.data_json();
    assert_eq!(echo["bodyLength"], 5);
    assert_eq!(header(&echo, "content-length"), Some("5"), "{echo}");
    assert_eq!(header(&echo, "transfer-encoding"), None, "{echo}");
}

#[test]
fn empty_bodies_with_content_encoding_succeed_with_empty_data() {
    let app = TestApp::new(json!({}));
    for encoding in ["gzip", "br"] {
        for status in [200, 204, 304] {
            let ok = app.terminal(json!({"url": url(&format!("/encoded-empty/{encoding}?status={status}"))}));
            assert_success(&ok);
            assert_eq!(ok.json["statusCode"], status, "{encoding} {status}");
            assert!(ok.data.is_empty(), "{encoding} {status}: {ok:?}");
        }
        // HEAD of a compressed resource: headers only.
        let ok = app.terminal(json!({"url": url(&format!("/{encoding}")), "method": "HEAD"}));
        assert_success(&ok);
        assert_eq!(ok.json["header"]["content-encoding"], encoding);
        assert!(ok.data.is_empty());
    }
    // downloadFile of a 204 with Content-Encoding.
    let dirs = Dirs::new();
    let app = TestApp::new(dirs.config());
    let ok = last(app.download(json!({"url": dl_url("/encoded-empty/gzip?status=204")})));
    assert_success(&ok);
    assert_eq!(ok.json["statusCode"], 204);
}

/// A fresh cacheDir, removed on drop.
struct CacheDir(std::path::PathBuf);

impl CacheDir {
    fn new(tag: &str) -> CacheDir {
        let dir = std::env::temp_dir().join(format!("wxnet-semantics-cache-{}-{tag}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        CacheDir(dir)
    }
}

impl Drop for CacheDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn compressed_chunked_responses_are_cached_served_and_revalidated() {
    let dir = CacheDir::new("encoded");
    let app = TestApp::new(json!({"cacheDir": dir.0}));
    for encoding in ["br", "gzip"] {
        // Fresh for 60 s: the second request never reaches the server.
        let path = format!("/cache-encoded/{encoding}/fresh?s=60");
        let first = app.terminal(json!({"url": url(&path), "enableCache": true}));
        assert_success(&first);
        let serial = first.data_json()["serial"].as_u64().expect("serial");
        let second = app.terminal(json!({"url": url(&path), "enableCache": true}));
        assert_success(&second);
        assert_eq!(
            second.data_json()["serial"],
            serial,
            "{encoding}: served from the cache"
        );
        assert_eq!(second.json["header"]["content-encoding"], encoding);
        assert_eq!(second.json["profile"]["peerIP"], "", "{encoding}: no connection");
        assert_eq!(
            SERVER.hits(&format!("/cache-encoded/{encoding}/fresh")),
            1,
            "{encoding}"
        );

        // no-cache + ETag: revalidated; the 304 (with Content-Encoding, empty) gives the stored body.
        let path = format!("/cache-encoded/{encoding}/revalidate?v=e1");
        let first = app.terminal(json!({"url": url(&path), "enableCache": true}));
        assert_success(&first);
        let serial = first.data_json()["serial"].as_u64().expect("serial");
        let second = app.terminal(json!({"url": url(&path), "enableCache": true}));
        assert_success(&second);
        assert_eq!(second.json["statusCode"], 200, "{second:?}");
        assert_eq!(second.data_json()["serial"], serial, "{encoding}: the stored body");
        assert_eq!(SERVER.hits(&format!("/cache-encoded/{encoding}/revalidate")), 2);
    }
}

/// Reads a request's head (up to its blank line, within 20 s) and nothing of its body;
/// false when the connection ended or failed first.
fn read_request_head(conn: &mut TcpStream) -> bool {
    conn.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(k) => head.extend_from_slice(&buf[..k]),
        }
    }
    true
}

/// A raw HTTP/1.1 server on 127.0.0.1 that, for each of `n` connections, reads the
/// request head only, answers 413 with a body and closes (the unread body makes the
/// kernel reset the connection).
fn early_413_server(n: usize) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let thread = std::thread::spawn(move || {
        for _ in 0..n {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            read_request_head(&mut conn);
            let _ = conn.write_all(
                b"HTTP/1.1 413 Payload Too Large\r\nContent-Type: text/plain\r\nContent-Length: 9\r\nConnection: close\r\n\r\ntoo large",
            );
            drop(conn);
        }
    });
    (addr, thread)
}

#[test]
fn an_answer_sent_before_the_body_was_read_is_delivered() {
    const TRIES: usize = 20;
    let dirs = Dirs::new();
    let upload = dirs.tmp().join("tmp_big.bin");
    std::fs::write(&upload, vec![7u8; 8 * 1024 * 1024]).expect("write upload file");
    let (addr, server) = early_413_server(2 * TRIES);
    let mut cfg = dirs.config();
    cfg["urlCheck"] = json!(false);
    let app = TestApp::new(cfg);
    let big = "x".repeat(8 * 1024 * 1024);
    for i in 0..TRIES {
        let ok = app.terminal(json!({"url": format!("http://{addr}/upload"), "method": "POST", "data": big}));
        assert_success(&ok);
        assert_eq!(ok.json["statusCode"], 413, "try {i}");
        assert_eq!(ok.text(), "too large", "try {i}");
    }
    for i in 0..TRIES {
        let ok = last(app.upload(json!({
            "url": format!("http://{addr}/upload"),
            "filePath": "wxfile://tmp_big.bin",
            "name": "file"
        })));
        assert_success(&ok);
        assert_eq!(ok.json["statusCode"], 413, "try {i}: {ok:?}");
        assert_eq!(ok.text(), "too large", "try {i}");
    }
    server.join().expect("server thread");
}

#[test]
fn many_header_fields_succeed_and_the_limit_is_by_size() {
    let app = TestApp::new(json!({}));
    for http2 in [false, true] {
        let ok = app.terminal(json!({"url": url("/many-headers?n=150"), "enableHttp2": http2}));
        assert_success(&ok);
        assert_eq!(ok.json["profile"]["protocol"], if http2 { "h2" } else { "http1.1" });
        assert_eq!(ok.json["header"]["x-field-149"], "vvvvvvvv");
        // 2000 fields, 100 KiB in all: still within 256 KiB.
        let ok = app.terminal(json!({"url": url("/many-headers?n=2000&size=20"), "enableHttp2": http2}));
        assert_success(&ok);
        assert_eq!(ok.json["header"]["x-field-1999"].as_str().map(str::len), Some(20));
        // 40 fields of 8000 bytes: over 256 KiB.
        let fail = app.terminal(json!({"url": url("/many-headers?n=40&size=8000"), "enableHttp2": http2}));
        assert_fail(
            &fail,
            600001,
            "request:fail response header section exceeds 262144 bytes",
        );
    }
}

#[test]
fn cr_and_lf_in_string_data_are_percent_encoded_in_the_query() {
    let app = TestApp::new(json!({}));
    let ok = app.terminal(json!({"url": url("/echo?x=1"), "data": "a=1\r\nb=2\tc"}));
    assert_success(&ok);
    assert_eq!(ok.data_json()["query"], "x=1&a=1%0D%0Ab=2%09c");
}

/// A listener on 127.0.0.2 whose accept queue is full, so that a connection attempt to
/// it gets no answer at all (Linux drops the SYN): an address that "never answers".
/// Returns the listener and the connections that fill its queue (keep both alive).
fn black_hole() -> ((TcpListener, Vec<TcpStream>), SocketAddr) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .expect("runtime");
    let listener = runtime.block_on(async {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.2:0".parse().expect("addr"))
            .expect("bind 127.0.0.2");
        // Backlog 0: the queue holds one connection.
        socket.listen(0).expect("listen").into_std().expect("std listener")
    });
    let addr = listener.local_addr().expect("addr");
    let mut fillers = Vec::new();
    for _ in 0..16 {
        // Bounded: an attempt that gets no answer in 500 ms shows the queue is full.
        match TcpStream::connect_timeout(&addr, Duration::from_millis(500)) {
            Ok(s) => fillers.push(s),
            Err(_) => return ((listener, fillers), addr),
        }
    }
    panic!("the accept queue of {addr} never filled");
}

#[test]
fn happy_eyeballs_races_past_an_address_that_never_answers() {
    let (_hole, hole) = black_hole();
    let good = format!("127.0.0.1:{}", SERVER.https_port());
    let app = TestApp::new(json!({"resolve": {"api.wxnet.test:443": [hole.to_string(), good]}}));
    let ok = app.terminal(json!({"url": url("/json")}));
    assert_success(&ok);
    assert_eq!(ok.data_json()["hello"], "world");
    assert_eq!(ok.json["profile"]["peerIP"], "127.0.0.1");
    assert_eq!(ok.json["profile"]["port"], SERVER.https_port());
}

/// A server that answers once with `head` and then `body` (raw bytes), then closes.
fn raw_answer_server(head: &'static str, body: Vec<u8>) -> (SocketAddr, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let thread = std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else {
            return;
        };
        if !read_request_head(&mut conn) {
            return;
        }
        let _ = conn.write_all(head.as_bytes());
        let _ = conn.write_all(&body);
    });
    (addr, thread)
}

/// `body` in chunks of 4096 bytes, chunked transfer coding.
fn chunked(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for chunk in body.chunks(4096) {
        out.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n\r\n");
    out
}

/// With both Transfer-Encoding and Content-Length, the chunked framing rules and the
/// Content-Length is ignored (RFC 9112 6.3): a small claim does not bend the progress of a
/// download, a huge one does not fail it as too big.
#[test]
fn a_content_length_beside_transfer_encoding_is_ignored() {
    let dirs = Dirs::new();
    let mut cfg = dirs.config();
    cfg["urlCheck"] = json!(false);
    let app = TestApp::new(cfg);
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    for claim in ["10", "1000000000000"] {
        let head: &'static str = Box::leak(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {claim}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )
            .into_boxed_str(),
        );
        let (addr, server) = raw_answer_server(head, chunked(&body));
        let events = app.download(json!({"url": format!("http://{addr}/f"), "filePath": "wxfile://usr/f.bin"}));
        server.join().expect("server thread");
        let got = events.last().expect("events").clone();
        assert_success(&got);
        assert_eq!(
            std::fs::read(dirs.usr().join("f.bin")).expect("file"),
            body,
            "claim {claim}"
        );
        for progress in events.iter().filter(|e| e.kind == wxnet::EventKind::Progress) {
            let written = progress.json["totalBytesWritten"].as_u64().expect("written");
            let expected = progress.json["totalBytesExpectedToWrite"].as_u64().expect("expected");
            assert!(expected == 0 || expected >= written, "claim {claim}: {}", progress.json);
        }
    }
}
