//! The routes, over HTTP/2 and HTTP/1.1.

mod common;

use std::io::Read;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{collect, raw_http, Client};
use http_body_util::{BodyExt, Full};
use wxnet_testserver::{check_pattern, compressed_sample_json, digest_hex, TestServer};

async fn both(server: &TestServer) -> [Client; 2] {
    [
        Client::https(server.https_port(), server.ca_pem()).await,
        Client::https(server.https_h1_port(), server.ca_pem()).await,
    ]
}

#[tokio::test]
async fn echo_reflects_the_request() {
    let server = TestServer::start();
    for mut client in both(&server).await {
        let req = client
            .req("POST", "/echo?a=1&b=%20")
            .header("content-type", "text/plain; charset=utf-8")
            .header("x-two", "1")
            .header("x-two", "2")
            .body(Full::new(Bytes::from("héllo")))
            .expect("request");
        let json = collect(client.send(req).await.expect("send")).await.json();
        assert_eq!(json["method"], "POST");
        assert_eq!(json["path"], "/echo");
        assert_eq!(json["query"], "a=1&b=%20");
        assert_eq!(json["headers"]["x-two"], "1, 2");
        assert_eq!(json["body"], "héllo");
        assert_eq!(json["bodyLength"], 6);
        assert_eq!(json["contentType"], "text/plain; charset=utf-8");
        assert_eq!(json["authority"], "api.wxnet.test");
    }
    let mut client = Client::https(server.https_port(), server.ca_pem()).await;
    let raw = client.fetch("PUT", "/echo/raw", &[0, 1, 2, 255]).await;
    assert_eq!(&raw.body[..], &[0, 1, 2, 255]);
    assert_eq!(raw.header("content-type"), Some("application/octet-stream"));
    assert_eq!(raw.header("content-length"), Some("4"));
}

#[tokio::test]
async fn bytes_route_streams_the_pattern() {
    let server = TestServer::start();
    for mut client in both(&server).await {
        let resp = client.get("/bytes/1000003").await;
        assert_eq!(resp.header("content-length"), Some("1000003"));
        assert_eq!(resp.header("content-type"), Some("application/octet-stream"));
        assert_eq!(resp.body.len(), 1_000_003);
        assert_eq!(check_pattern(0, &resp.body), None);

        let resp = client.get("/bytes/70000?no_length=1&ext=.png&filename=a%22b.bin").await;
        assert_eq!(resp.header("content-length"), None);
        assert_eq!(resp.header("content-type"), Some("image/png"));
        assert_eq!(
            resp.header("content-disposition"),
            Some("attachment; filename=\"a_b.bin\"")
        );
        assert_eq!(check_pattern(0, &resp.body), None);
        assert_eq!(resp.body.len(), 70000);
    }
    let mut client = Client::https(server.https_h1_port(), server.ca_pem()).await;
    let started = Instant::now();
    let resp = client.get("/bytes/30720?rate_kbps=100").await; // 30 KiB at 100 KiB/s
    assert_eq!(resp.body.len(), 30720);
    assert!(
        started.elapsed() >= Duration::from_millis(250),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(client.get("/bytes/0").await.body.len(), 0);
    assert_eq!(client.get("/bytes/x").await.status, 400);
    assert_eq!(client.get("/bytes/5?rate_kbps=0").await.status, 400);
}

#[tokio::test]
async fn bytes_can_lie_about_length_on_h1() {
    let server = TestServer::start();
    let raw = raw_http(
        server.http_port(),
        "GET /bytes/1000?lie_length=5000 HTTP/1.1\r\nhost: x\r\n\r\n",
    )
    .await;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let head = String::from_utf8_lossy(&raw[..split]).to_lowercase();
    assert!(head.contains("content-length: 5000"), "{head}");
    assert_eq!(raw.len() - split, 1000, "n bytes, then the connection closes");
    assert_eq!(check_pattern(0, &raw[split..]), None);
}

#[tokio::test]
async fn upload_parses_multipart_without_buffering() {
    let server = TestServer::start();
    let file: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut body = Vec::new();
    body.extend_from_slice(
        b"--XyZ\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\nalice\r\n\
          --XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n\
          Content-Type: application/octet-stream\r\n\r\n",
    );
    body.extend_from_slice(&file);
    body.extend_from_slice(b"\r\n--XyZ--\r\n");
    for mut client in both(&server).await {
        let req = client
            .req("POST", "/upload")
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body(Full::new(Bytes::from(body.clone())))
            .expect("request");
        let resp = collect(client.send(req).await.expect("send")).await;
        assert_eq!(resp.status, 200, "{}", resp.text());
        let json = resp.json();
        assert_eq!(json["fields"]["user"], "alice");
        let f = &json["files"][0];
        assert_eq!(f["name"], "file");
        assert_eq!(f["filename"], "a.bin");
        assert_eq!(f["contentType"], "application/octet-stream");
        assert_eq!(f["size"], 200_000);
        assert_eq!(f["sha256"], digest_hex(&file));

        let req = client
            .req("POST", "/upload")
            .header("content-type", "multipart/form-data; boundary=XyZ")
            .body(Full::new(Bytes::from_static(b"--XyZ\r\ngarbage")))
            .expect("request");
        let resp = collect(client.send(req).await.expect("send")).await;
        assert_eq!(resp.status, 400);
        assert!(resp.json()["error"].is_string());
        assert_eq!(client.get("/upload").await.status, 405);
    }
    assert_eq!(server.hits("/upload"), 6);
}

#[tokio::test]
async fn compressed_bodies_decode() {
    let server = TestServer::start();
    let mut client = Client::https(server.https_port(), server.ca_pem()).await;
    let req = client
        .req("GET", "/gzip")
        .header("accept-encoding", "gzip, br")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let resp = collect(client.send(req).await.expect("send")).await;
    assert_eq!(resp.header("content-encoding"), Some("gzip"));
    assert_eq!(resp.header("x-accept-encoding"), Some("gzip, br"));
    let mut text = String::new();
    flate2::read::GzDecoder::new(&resp.body[..])
        .read_to_string(&mut text)
        .expect("gunzip");
    assert_eq!(text, compressed_sample_json("gzip"));

    let resp = client.get("/deflate").await;
    assert_eq!(resp.header("x-accept-encoding"), Some("none"));
    let mut text = String::new();
    flate2::read::ZlibDecoder::new(&resp.body[..])
        .read_to_string(&mut text)
        .expect("inflate");
    assert_eq!(text, compressed_sample_json("deflate"));

    let resp = client.get("/br").await;
    assert_eq!(resp.header("content-encoding"), Some("br"));
    let mut text = String::new();
    brotli::Decompressor::new(&resp.body[..], 4096)
        .read_to_string(&mut text)
        .expect("unbrotli");
    let json: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(json["compressed"], "br");
}

#[tokio::test]
async fn small_routes() {
    let server = TestServer::start();
    for mut c in both(&server).await {
        assert_eq!(c.get("/json").await.json(), serde_json::json!({"hello":"world","n":1}));
        assert_eq!(c.get("/text").await.text(), "plain text, not json");
        let empty = c.get("/empty").await;
        assert_eq!((empty.status.as_u16(), empty.body.len()), (200, 0));
        assert_eq!(&c.get("/bom").await.body[..3], b"\xEF\xBB\xBF");
        assert_eq!(c.get("/invalid-utf8").await.header("content-type"), Some("text/plain"));
        let s = c.get("/status/418").await;
        assert_eq!((s.status.as_u16(), s.text()), (418, "status 418".into()));
        let s = c.get("/status/204").await;
        assert_eq!((s.status.as_u16(), s.body.len()), (204, 0));
        for bad in ["/status/abc", "/status/99", "/status/101", "/delay/x", "/charset/nope"] {
            assert_eq!(c.get(bad).await.status, 400, "{bad}");
        }
        let r = c.get("/redirect/2").await;
        assert_eq!((r.status.as_u16(), r.header("location")), (302, Some("/redirect/1")));
        assert_eq!(c.get("/redirect/0").await.json()["redirected"], true);
        let r = c
            .get("/redirect-to?url=https%3A%2F%2Fother.wxnet.test%2Fjson%3Fa%3D1&status=307")
            .await;
        assert_eq!(r.status, 307);
        assert_eq!(r.header("location"), Some("https://other.wxnet.test/json?a=1"));
        assert_eq!(c.get("/redirect-to?url=/json&status=300").await.status, 400);
        assert_eq!(c.get("/redirect-loop").await.header("location"), Some("/redirect-loop"));
        let gbk = c.get("/charset/gbk").await;
        assert_eq!(gbk.header("content-type"), Some("text/plain; charset=gbk"));
        let (text, _, bad) = encoding_rs::GBK.decode(&gbk.body);
        assert!(!bad);
        assert_eq!(text, wxnet_testserver::CHARSET_SAMPLE);
        let plain = c.get("/charset/big5?nocharset=1").await;
        assert_eq!(plain.header("content-type"), Some("text/plain"));
        let cookies = c.get("/set-cookie").await;
        let all: Vec<_> = cookies.headers.get_all("set-cookie").iter().collect();
        assert_eq!(all, ["a=1; Path=/", "b=2; HttpOnly"]);
        let multi: Vec<_> = cookies.headers.get_all("x-multi").iter().collect();
        assert_eq!(multi, ["one", "two"]);
        assert_eq!(
            c.get("/large-header").await.header("x-large-header").map(str::len),
            Some(65536)
        );
        assert_eq!(c.get("/no/such/route").await.text(), "not found");
    }
}

#[tokio::test]
async fn timing_routes() {
    let server = TestServer::start();
    let mut c = Client::https(server.https_h1_port(), server.ca_pem()).await;
    let started = Instant::now();
    assert_eq!(c.get("/delay/150").await.text(), "delayed");
    assert!(started.elapsed() >= Duration::from_millis(150));

    let started = Instant::now();
    let req = c
        .req("GET", "/delay-body/300")
        .body(Full::new(Bytes::new()))
        .expect("req");
    let resp = c.send(req).await.expect("head");
    let head_after = started.elapsed();
    assert_eq!(resp.headers()["content-length"], "7");
    let body = resp.into_body().collect().await.expect("body").to_bytes();
    assert!(head_after < Duration::from_millis(250), "{head_after:?}");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(&body[..], b"delayed");

    // Chunked: frames arrive separately, interval apart, with no Content-Length.
    let req = c
        .req("GET", "/chunked?n=4&size=10&interval_ms=60")
        .body(Full::new(Bytes::new()));
    let resp = c.send(req.expect("req")).await.expect("head");
    assert_eq!(resp.headers()["transfer-encoding"], "chunked");
    let mut body = resp.into_body();
    let started = Instant::now();
    let mut chunks = Vec::new();
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame.expect("frame").into_data() {
            chunks.push(data);
        }
    }
    assert_eq!(chunks.len(), 4);
    assert!(chunks
        .iter()
        .all(|c| c.len() == 10 && c.iter().all(u8::is_ascii_alphabetic)));
    assert!(started.elapsed() >= Duration::from_millis(170));
}

#[tokio::test]
async fn close_and_hang() {
    let server = TestServer::start();
    let raw = raw_http(server.http_port(), "GET /close HTTP/1.1\r\nhost: x\r\n\r\n").await;
    assert!(raw.is_empty(), "no response at all");

    let mut h2 = Client::https(server.https_port(), server.ca_pem()).await;
    let req = h2.req("GET", "/close").body(Full::new(Bytes::new())).expect("req");
    assert!(h2.send(req).await.is_err(), "the stream is reset");
    assert_eq!(h2.get("/json").await.status, 200, "the h2 connection survives");

    let req = h2.req("GET", "/hang").body(Full::new(Bytes::new())).expect("req");
    let hang = tokio::time::timeout(Duration::from_millis(300), h2.send(req)).await;
    assert!(hang.is_err(), "/hang never answers");
    assert_eq!(server.hits("/hang"), 1);
    assert_eq!(server.hits("/close"), 2);
}

#[tokio::test]
async fn wait_hits_answers_once_the_path_was_requested() {
    let server = TestServer::start();
    let mut waiter = Client::https(server.https_port(), server.ca_pem()).await;
    let mut client = Client::https(server.https_h1_port(), server.ca_pem()).await;
    // The tag is percent-encoded in `path`: %2F is '/', %3F '?', %3D '='.
    let wait = waiter.get("/wait-hits?path=%2Fjson%3Ft%3Dw&n=2&timeout_ms=60000");
    let requests = async {
        assert_eq!(client.get("/json?t=w").await.status, 200);
        assert_eq!(client.get("/json?t=other").await.status, 200);
        assert_eq!(client.get("/json?t=w").await.status, 200);
    };
    let (answer, ()) = tokio::join!(wait, requests);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.json(), serde_json::json!({"path": "/json?t=w", "hits": 2}));

    let late = waiter.get("/wait-hits?path=/never&timeout_ms=50").await;
    assert_eq!(late.status, 504);
    assert_eq!(late.json(), serde_json::json!({"path": "/never", "hits": 0}));
    assert_eq!(waiter.get("/wait-hits?n=1").await.status, 400, "path is required");
    assert_eq!(waiter.get("/wait-hits?path=/json&n=x").await.status, 400);
}
