//! Shared harness of the integration tests: one in-process test server per
//! test binary, apps whose config pins the test hostnames to it (so the full
//! policy path stays on), and an event collector.
#![allow(dead_code, reason = "each test binary uses a different subset of the harness")]

use std::collections::HashMap;
use std::sync::{Arc, Condvar, LazyLock, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wxnet::{App, Event, EventKind, Mode, UserData};
use wxnet_testserver::TestServer;

pub static SERVER: LazyLock<TestServer> = LazyLock::new(TestServer::start);

/// A config whose listed domains all pin to the test server's TLS port.
pub fn config(extra: Value) -> Value {
    let s = &*SERVER;
    let pin = format!("127.0.0.1:{}", s.https_port());
    let mut c = json!({
        "appId": "wxtest0123456789",
        "version": "7",
        "domains": {
            "request": ["https://api.wxnet.test"],
            "socket": ["wss://ws.wxnet.test"],
            "uploadFile": ["https://up.wxnet.test"],
            "downloadFile": ["https://cdn.wxnet.test"]
        },
        "caCertificates": [s.ca_pem()],
        "resolve": {
            "api.wxnet.test:443": pin,
            "ws.wxnet.test:443": pin,
            "up.wxnet.test:443": pin,
            "cdn.wxnet.test:443": pin,
            "other.wxnet.test:443": pin,
        }
    });
    merge(&mut c, extra);
    c
}

fn merge(base: &mut Value, extra: Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                match b.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
        }
        (b, e) => *b = e,
    }
}

/// Events as the tests see them.
#[derive(Debug, Clone)]
pub struct Got {
    pub kind: EventKind,
    pub json: Value,
    pub data: Vec<u8>,
    pub user_data: usize,
}

impl Got {
    pub fn text(&self) -> String {
        String::from_utf8(self.data.clone()).expect("UTF-8 data")
    }

    pub fn data_json(&self) -> Value {
        serde_json::from_slice(&self.data).expect("JSON data")
    }
}

#[derive(Default)]
pub struct Collected {
    events: Mutex<HashMap<u64, Vec<Got>>>,
    changed: Condvar,
}

impl Collected {
    fn push(&self, ev: &Event) {
        let got = Got {
            kind: ev.kind,
            json: serde_json::from_str(ev.json()).expect("event JSON parses"),
            data: ev.data.as_ref().map(|d| d.to_vec()).unwrap_or_default(),
            user_data: ev.user_data.0,
        };
        self.events.lock().expect("lock").entry(ev.task).or_default().push(got);
        self.changed.notify_all();
    }

    /// Waits until the task's terminal event (SUCCESS/FAIL) arrives; returns all its events.
    pub fn wait(&self, task: u64, timeout: Duration) -> Vec<Got> {
        self.wait_until(task, timeout, |list| {
            list.iter()
                .any(|g| matches!(g.kind, EventKind::Success | EventKind::Fail))
        })
    }

    /// Waits (on the condvar every new event signals) until the task's events
    /// so far satisfy `done`, at most `timeout`; returns them.
    pub fn wait_until(&self, task: u64, timeout: Duration, done: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        let timeout = scaled(timeout);
        let deadline = Instant::now() + timeout;
        let mut events = self.events.lock().expect("lock");
        loop {
            let list = events.get(&task).map(Vec::as_slice).unwrap_or_default();
            if done(list) {
                return list.to_vec();
            }
            let now = Instant::now();
            assert!(
                now < deadline,
                "task {task}: timed out after {timeout:?}; events so far: {list:?}"
            );
            events = self.changed.wait_timeout(events, deadline - now).expect("lock").0;
        }
    }

    pub fn snapshot(&self, task: u64) -> Vec<Got> {
        self.events
            .lock()
            .expect("lock")
            .get(&task)
            .cloned()
            .unwrap_or_default()
    }
}

/// An app in callback mode with a collector.
pub struct TestApp {
    pub app: Arc<App>,
    pub events: Arc<Collected>,
}

impl TestApp {
    pub fn new(extra: Value) -> TestApp {
        let events = Arc::new(Collected::default());
        let sink = events.clone();
        let cfg = config(extra).to_string();
        let app = App::new(cfg.as_bytes(), Mode::Callback(Box::new(move |ev| sink.push(ev)))).expect("valid config");
        TestApp {
            app: Arc::new(app),
            events,
        }
    }

    pub fn start(&self, options: Value) -> u64 {
        self.app
            .request(options.to_string().as_bytes(), None, UserData(7))
            .expect("request starts")
    }

    /// Starts a request and waits for its terminal event.
    pub fn request(&self, options: Value) -> Vec<Got> {
        let id = self.start(options);
        self.events.wait(id, Duration::from_secs(20))
    }

    pub fn terminal(&self, options: Value) -> Got {
        last(self.request(options))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let _ = self.app.close();
    }
}

pub fn last(events: Vec<Got>) -> Got {
    events.last().cloned().expect("at least one event")
}

pub fn url(path: &str) -> String {
    format!("https://api.wxnet.test{path}")
}

/// Asserts a FAIL with this errno and an errMsg starting with `prefix`.
pub fn assert_fail(got: &Got, errno: i64, prefix: &str) {
    assert_eq!(got.kind, EventKind::Fail, "expected FAIL, got {got:?}");
    assert_eq!(got.json["errno"], errno, "{got:?}");
    let msg = got.json["errMsg"].as_str().expect("errMsg");
    assert!(msg.starts_with(prefix), "errMsg {msg:?} should start with {prefix:?}");
}

pub fn assert_success(got: &Got) {
    assert_eq!(got.kind, EventKind::Success, "expected SUCCESS, got {got:?}");
}

/// A fresh tempDir + userDataDir pair, removed on drop.
pub struct Dirs {
    pub root: std::path::PathBuf,
}

impl Dirs {
    pub fn new() -> Dirs {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!("wxnet-test-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("tmp")).expect("mkdir tmp");
        std::fs::create_dir_all(root.join("usr")).expect("mkdir usr");
        Dirs { root }
    }

    pub fn tmp(&self) -> std::path::PathBuf {
        self.root.join("tmp")
    }

    pub fn usr(&self) -> std::path::PathBuf {
        self.root.join("usr")
    }

    /// Config fragment naming both dirs.
    pub fn config(&self) -> Value {
        json!({"tempDir": self.tmp(), "userDataDir": self.usr()})
    }

    /// Every file name in tempDir and userDataDir (recursively).
    pub fn files(&self) -> Vec<String> {
        fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = entry.path();
                if p.is_dir() {
                    walk(&p, out);
                } else {
                    out.push(p.display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }

    /// Real path of a `wxfile://` path this harness knows.
    pub fn real(&self, vpath: &str) -> std::path::PathBuf {
        if let Some(rest) = vpath.strip_prefix("wxfile://usr/") {
            self.usr().join(rest)
        } else {
            self.tmp().join(vpath.strip_prefix("wxfile://").expect("wxfile path"))
        }
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl TestApp {
    pub fn upload(&self, options: Value) -> Vec<Got> {
        let id = self
            .app
            .upload_file(options.to_string().as_bytes(), UserData(8))
            .expect("upload starts");
        self.events.wait(id, Duration::from_secs(60))
    }

    pub fn download(&self, options: Value) -> Vec<Got> {
        let id = self.start_download(options);
        self.events.wait(id, Duration::from_secs(60))
    }

    pub fn start_download(&self, options: Value) -> u64 {
        self.app
            .download_file(options.to_string().as_bytes(), UserData(9))
            .expect("download starts")
    }
}

/// The PROGRESS events' `progress` values; asserts they are monotonic and
/// end with exactly one 100.
pub fn assert_progress(events: &[Got]) -> Vec<u64> {
    let values: Vec<u64> = events
        .iter()
        .filter(|e| e.kind == EventKind::Progress)
        .map(|e| e.json["progress"].as_u64().expect("progress"))
        .collect();
    assert!(!values.is_empty(), "progress events");
    assert!(values.windows(2).all(|w| w[0] <= w[1]), "monotonic: {values:?}");
    assert_eq!(values.last(), Some(&100));
    assert_eq!(values.iter().filter(|v| **v == 100).count(), 1, "one 100: {values:?}");
    values
}

pub fn dl_url(path: &str) -> String {
    format!("https://cdn.wxnet.test{path}")
}

pub fn up_url(path: &str) -> String {
    format!("https://up.wxnet.test{path}")
}

pub fn ws_url(path: &str) -> String {
    format!("wss://ws.wxnet.test{path}")
}

impl TestApp {
    /// Starts a socket; returns its id (the first event is SUCCESS or FAIL).
    pub fn socket(&self, options: Value) -> u64 {
        self.app
            .connect_socket(options.to_string().as_bytes(), UserData(11))
            .expect("connectSocket starts")
    }

    /// Waits until the socket has an event of `kind`, returns its events so far.
    pub fn wait_for(&self, id: u64, kind: EventKind) -> Vec<Got> {
        self.wait_until(id, |events| events.iter().any(|e| e.kind == kind))
    }

    pub fn wait_until(&self, id: u64, done: impl Fn(&[Got]) -> bool) -> Vec<Got> {
        self.events.wait_until(id, Duration::from_secs(30), done)
    }

    /// Opens a socket and waits for OPEN.
    pub fn open_socket(&self, options: Value) -> u64 {
        let id = self.socket(options);
        let events = self.wait_until(id, |e| {
            e.iter()
                .any(|g| matches!(g.kind, EventKind::SocketOpen | EventKind::SocketClose | EventKind::Fail))
        });
        assert!(
            events.iter().any(|e| e.kind == EventKind::SocketOpen),
            "socket opened: {events:?}"
        );
        id
    }

    /// Waits for the socket's CLOSE; returns all its events.
    pub fn closed(&self, id: u64) -> Vec<Got> {
        self.wait_for(id, EventKind::SocketClose)
    }
}

/// The socket invariant: SUCCESS first, exactly one CLOSE, and it is last.
pub fn assert_socket_lifecycle(events: &[Got]) {
    assert_eq!(events.first().map(|e| e.kind), Some(EventKind::Success), "{events:?}");
    assert_eq!(
        events.iter().filter(|e| e.kind == EventKind::SocketClose).count(),
        1,
        "{events:?}"
    );
    assert_eq!(
        events.last().map(|e| e.kind),
        Some(EventKind::SocketClose),
        "{events:?}"
    );
}

/// xorshift64*: deterministic, dependency-free randomness for the tests (a
/// fixed seed makes a failure reproduce).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// `bound` times `WXNET_TEST_TIMEOUT_SCALE` (an integer, default 1): the sanitizer runs
/// (scripts/tsan.sh, scripts/asan.sh) execute 5-20x slower and set it, as valgrind does for
/// the C examples. Only the bounds of waits scale; no test asserts a duration.
pub fn scaled(bound: Duration) -> Duration {
    let scale = std::env::var("WXNET_TEST_TIMEOUT_SCALE")
        .ok()
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| *n >= 1)
        .unwrap_or(1);
    bound * scale
}

/// Waits until `done` holds, checking it every `every`, at most `timeout`
/// (for conditions nothing signals: a server-side counter, the clock passing
/// a cookie's or cache entry's expiry). Panics naming `what` on timeout.
pub fn wait_for_condition(what: &str, timeout: Duration, every: Duration, mut done: impl FnMut() -> bool) {
    let timeout = scaled(timeout);
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(every);
    }
}

/// Waits until the test server has seen at least `count` requests for
/// `path_and_query` (counted exactly, query included, before the route runs).
pub fn wait_for_hits(path_and_query: &str, count: u64) {
    wait_for_condition(
        &format!("{count} hits on {path_and_query}"),
        Duration::from_secs(20),
        Duration::from_millis(2),
        || SERVER.hits(path_and_query) >= count,
    );
}

/// Reports a test that cannot run on this machine. The Rust harness has no
/// "skipped" state and hides what a passing test prints, so this writes
/// `SKIPPED: <test>: <why>` straight to the terminal's stderr; the test then
/// returns early and shows as passed in the count, which is why the line
/// must be visible. With `WXNET_REQUIRE_ALL=1` a skip fails instead.
pub fn skip(test: &str, why: &str) {
    use std::io::Write;
    assert!(
        std::env::var_os("WXNET_REQUIRE_ALL").is_none_or(|v| v != "1"),
        "{test}: would be SKIPPED but WXNET_REQUIRE_ALL=1: {why}"
    );
    let _ = writeln!(std::io::stderr(), "SKIPPED: {test}: {why}");
}
