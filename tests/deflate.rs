//! perMessageDeflate (RFC 7692) against a third-party server: Python
//! `websockets` (tests/deflate/server.py) with its own permessage-deflate, in
//! three configurations. What the server saw (our offer, how many compressed
//! frames it decoded) is asked over the socket itself.
//!
//! Needs a Python 3 with `websockets` (Debian: python3-websockets; .ci/run
//! installs it): `WXNET_TEST_PYTHON`, else /usr/bin/python3, else python3.
//! Without one every test prints SKIPPED and returns.
#![allow(
    unsafe_code,
    reason = "one test registers a C log callback through the C ABI and reads the message it is handed"
)]

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::{json, Value};
use support::*;
use wxnet::EventKind;

/// A running tests/deflate/server.py; stopped (stdin closed, then killed) on drop.
struct PyServer {
    child: Child,
    port: u16,
}

impl Drop for PyServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn python() -> Option<String> {
    let candidates = std::env::var("WXNET_TEST_PYTHON")
        .into_iter()
        .chain(["/usr/bin/python3".to_owned(), "python3".to_owned()]);
    for candidate in candidates {
        let ok = Command::new(&candidate)
            .args(["-c", "import websockets"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(candidate);
        }
    }
    None
}

/// Starts the server in `mode`, or `None` (after printing SKIPPED) without Python websockets.
fn server(mode: &str) -> Option<PyServer> {
    let Some(python) = python() else {
        eprintln!("SKIPPED: no Python 3 with `websockets` (apt-get install python3-websockets)");
        return None;
    };
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/deflate/server.py");
    let mut child = Command::new(python)
        .args([script, mode])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start tests/deflate/server.py");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("the server's first line");
    let port = line
        .trim()
        .strip_prefix("PORT ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("server.py printed {line:?}"));
    Some(PyServer { child, port })
}

fn app(extra: Value) -> TestApp {
    let mut config = json!({"urlCheck": false});
    if let (Value::Object(c), Value::Object(e)) = (&mut config, extra) {
        c.extend(e);
    }
    TestApp::new(config)
}

fn url(server: &PyServer, path: &str) -> String {
    format!("ws://127.0.0.1:{}{path}", server.port)
}

fn messages(events: &[Got]) -> Vec<&Got> {
    events.iter().filter(|e| e.kind == EventKind::SocketMessage).collect()
}

fn open_header(events: &[Got]) -> Value {
    events
        .iter()
        .find(|e| e.kind == EventKind::SocketOpen)
        .expect("OPEN")
        .json["header"]
        .clone()
}

fn extensions_header(events: &[Got]) -> Option<String> {
    let header = open_header(events);
    let map = header.as_object().expect("header object");
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("sec-websocket-extensions"))
        .map(|(_, v)| v.as_str().expect("string value").to_owned())
}

/// Sends each message in order and waits for all the echoes; returns them.
fn round_trip(app: &TestApp, id: u64, sent: &[(Vec<u8>, bool)]) -> Vec<Got> {
    let socket = wxnet::socket_of(id).expect("socket");
    let before = messages(&app.events.snapshot(id)).len();
    for (data, binary) in sent {
        socket.send(data, *binary).expect("send");
    }
    let events = app.wait_until(id, |e| messages(e).len() >= before + sent.len());
    let got: Vec<Got> = messages(&events)[before..].iter().map(|g| (*g).clone()).collect();
    for ((data, binary), echo) in sent.iter().zip(&got) {
        assert_eq!(echo.json["dataKind"], if *binary { "arraybuffer" } else { "text" });
        assert!(echo.data == *data, "echo of {} bytes came back different", data.len());
    }
    got
}

/// The server's view: our offer, what it agreed, compressed frames decoded.
fn stats(app: &TestApp, id: u64) -> Value {
    let got = round_trip_raw(app, id, "?stats");
    serde_json::from_slice(&got.data).expect("stats JSON")
}

fn round_trip_raw(app: &TestApp, id: u64, text: &str) -> Got {
    let before = messages(&app.events.snapshot(id)).len();
    wxnet::socket_of(id)
        .expect("socket")
        .send(text.as_bytes(), false)
        .expect("send");
    let events = app.wait_until(id, |e| messages(e).len() > before);
    messages(&events)[before].clone()
}

/// Text that compresses but repeats nothing within a 32 KiB window: words
/// from a small LCG-driven vocabulary, `len` bytes.
fn long_text(len: usize) -> Vec<u8> {
    const WORDS: &[&str] = &[
        "微信", "socket", "deflate", "window", "网络", "frame", "字节", "inflate",
    ];
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        out.extend_from_slice(WORDS[(state >> 33) as usize % WORDS.len()].as_bytes());
        out.extend_from_slice(format!("{} ", state >> 50).as_bytes());
    }
    while std::str::from_utf8(&out[..len]).is_err() {
        out.push(b' ');
        out.remove(len.saturating_sub(1));
    }
    out.truncate(len);
    out
}

fn noise(len: usize) -> Vec<u8> {
    let mut state: u32 = 0x9E37_79B9;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state as u8
        })
        .collect()
}

/// Text, binary, empty, a message far larger than the window, and the same
/// messages again (context takeover: the second copy compresses against the first).
fn mixed_messages() -> Vec<(Vec<u8>, bool)> {
    let small = "你好 wxnet, hello deflate ".repeat(40).into_bytes();
    let big = long_text(300 * 1024);
    assert!(std::str::from_utf8(&big).is_ok());
    vec![
        (small.clone(), false),
        (noise(20_000), true),
        (Vec::new(), false),
        (big.clone(), false),
        (big.clone(), true),
        (small, false),
        (big, false),
    ]
}

fn closes_cleanly(app: &TestApp, id: u64) {
    wxnet::socket_of(id).expect("socket").close(1000, "bye").expect("close");
    let events = app.closed(id);
    assert_socket_lifecycle(&events);
    let close = events.iter().find(|e| e.kind == EventKind::SocketClose).expect("CLOSE");
    assert_eq!(close.json, json!({"code": 1000, "reason": "bye"}));
}

/// Every message of the compressed round trip contains this; no log record may.
const MARK: &str = "DEFLATE-SEKRIT";
static RECORDS: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());

unsafe extern "C" fn collect(_ud: *mut std::ffi::c_void, _level: i32, msg: *const std::ffi::c_char, len: usize) {
    // SAFETY: the library hands a valid UTF-8 buffer of `len` bytes for the call's duration.
    let bytes = unsafe { std::slice::from_raw_parts(msg.cast::<u8>(), len) };
    RECORDS
        .lock()
        .expect("records")
        .push(String::from_utf8_lossy(bytes).into_owned());
}

#[test]
fn negotiated_with_websockets_defaults_and_round_trips() {
    let Some(server) = server("default") else { return };
    // Trace level: no record of wxnet or yawc carries a message (the log callback is
    // process-wide; only this test of the binary installs one).
    assert_eq!(
        wxnet::ffi::wxnet_set_log_callback(Some(collect), std::ptr::null_mut(), 5),
        wxnet::ffi::WXNET_OK
    );
    let app = app(json!({}));
    let id = app.open_socket(json!({"url": url(&server, &format!("/echo?q={MARK}")), "perMessageDeflate": true}));
    let agreed = extensions_header(&app.events.snapshot(id)).expect("OPEN header has Sec-WebSocket-Extensions");
    assert!(agreed.starts_with("permessage-deflate"), "{agreed}");
    assert!(agreed.contains("client_max_window_bits=12"), "{agreed}");
    round_trip(&app, id, &mixed_messages());
    let seen = stats(&app, id);
    assert_eq!(
        seen["offer"],
        "permessage-deflate; client_max_window_bits, permessage-deflate; client_max_window_bits; client_no_context_takeover"
    );
    assert!(
        !agreed.contains("client_no_context_takeover"),
        "the first offer is taken: {agreed}"
    );
    assert_eq!(seen["agreed"].as_str(), Some(agreed.as_str()));
    // Every message but the empty one went out compressed ("?stats" too).
    assert!(seen["compressed"].as_u64().expect("count") >= 6, "{seen}");
    let marked: Vec<(Vec<u8>, bool)> = [false, true]
        .into_iter()
        .map(|binary| (format!("{MARK} {MARK} {MARK}").into_bytes(), binary))
        .collect();
    round_trip(&app, id, &marked);
    closes_cleanly(&app, id);
    drop(app);
    assert_eq!(
        wxnet::ffi::wxnet_set_log_callback(None, std::ptr::null_mut(), 0),
        wxnet::ffi::WXNET_OK
    );
    let records = std::mem::take(&mut *RECORDS.lock().expect("records"));
    assert!(!records.is_empty(), "debug records arrived");
    let leaks: Vec<&String> = records.iter().filter(|r| r.contains(MARK)).collect();
    assert!(leaks.is_empty(), "records carry a message: {leaks:#?}");
}

#[test]
fn no_context_takeover_both_ways() {
    let Some(server) = server("no-context") else { return };
    let app = app(json!({}));
    let id = app.open_socket(json!({"url": url(&server, "/echo"), "perMessageDeflate": true}));
    let agreed = extensions_header(&app.events.snapshot(id)).expect("agreed extension");
    assert!(agreed.contains("server_no_context_takeover"), "{agreed}");
    assert!(agreed.contains("client_no_context_takeover"), "{agreed}");
    round_trip(&app, id, &mixed_messages());
    round_trip(&app, id, &mixed_messages());
    assert!(stats(&app, id)["compressed"].as_u64().expect("count") >= 12);
    closes_cleanly(&app, id);
}

#[test]
fn small_windows_both_ways() {
    let Some(server) = server("small-window") else { return };
    let app = app(json!({}));
    let id = app.open_socket(json!({"url": url(&server, "/echo"), "perMessageDeflate": true}));
    let agreed = extensions_header(&app.events.snapshot(id)).expect("agreed extension");
    assert!(agreed.contains("server_max_window_bits=9"), "{agreed}");
    assert!(agreed.contains("client_max_window_bits=9"), "{agreed}");
    round_trip(&app, id, &mixed_messages());
    assert!(stats(&app, id)["compressed"].as_u64().expect("count") >= 6);
    closes_cleanly(&app, id);
}

/// A server may answer parameter values as quoted strings (`server_max_window_bits="10"`,
/// RFC 7692 section 7.1): the values are taken, and messages go out and come in compressed.
#[test]
fn quoted_parameter_values_are_understood() {
    let Some(server) = server("quoted") else { return };
    let app = app(json!({}));
    let id = app.open_socket(json!({"url": url(&server, "/echo"), "perMessageDeflate": true}));
    let agreed = extensions_header(&app.events.snapshot(id)).expect("agreed extension");
    assert!(agreed.contains("server_max_window_bits=\"10\""), "{agreed}");
    assert!(agreed.contains("client_max_window_bits=\"10\""), "{agreed}");
    round_trip(&app, id, &mixed_messages());
    round_trip(&app, id, &mixed_messages());
    assert!(stats(&app, id)["compressed"].as_u64().expect("count") >= 12);
    closes_cleanly(&app, id);
}

#[test]
fn off_by_default_and_when_false_nothing_is_offered() {
    let Some(server) = server("default") else { return };
    let app = app(json!({}));
    for options in [
        json!({"url": url(&server, "/echo")}),
        json!({"url": url(&server, "/echo"), "perMessageDeflate": false}),
    ] {
        let id = app.open_socket(options);
        assert_eq!(extensions_header(&app.events.snapshot(id)), None);
        round_trip(&app, id, &mixed_messages()[..4]);
        let seen = stats(&app, id);
        assert_eq!(seen["offer"], Value::Null, "server-side: no offer");
        assert_eq!(seen["agreed"], Value::Null);
        closes_cleanly(&app, id);
    }
}

/// Peak resident memory of this process (Linux: VmHWM), in bytes.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn an_inflate_bomb_closes_with_1009_and_stays_bounded() {
    let Some(server) = server("default") else { return };
    const LIMIT: usize = 1024 * 1024;
    // 256 MiB of zeros: about 250 KiB on the wire, under the limit; inflated, 256 times it.
    const BOMB: usize = 256 * 1024 * 1024;
    let app = app(json!({"maxSocketMessageBytes": LIMIT}));
    let before = peak_rss();
    let id = app.socket(json!({"url": url(&server, &format!("/bomb?size={BOMB}")), "perMessageDeflate": true}));
    let events = app.closed(id);
    assert_socket_lifecycle(&events);
    assert!(events.iter().any(|e| e.kind == EventKind::SocketOpen), "{events:?}");
    assert!(events.iter().any(|e| e.kind == EventKind::SocketError), "{events:?}");
    assert!(messages(&events).is_empty(), "nothing over the limit is delivered");
    let close = events.iter().find(|e| e.kind == EventKind::SocketClose).expect("CLOSE");
    assert_eq!(close.json["code"], 1009, "{}", close.json);
    if let (Some(before), Some(after)) = (before, peak_rss()) {
        let grew = after.saturating_sub(before);
        assert!(
            grew < 64 * 1024 * 1024,
            "peak RSS grew by {grew} bytes inflating a bomb"
        );
    }
}
