//! The host's log callback (`wxnet_set_log_callback`, the C ABI hosts use):
//! at the most verbose level it never receives a query string, header value,
//! cookie, body, file content or socket message, whatever path it took
//! (wxnet's own records and those of hyper, rustls, yawc & co.; compressed
//! sockets: tests/deflate.rs); and
//! the callback may replace itself from inside without a deadlock.
//!
//! The callback is process-wide: the tests of this binary take turns.
#![allow(
    unsafe_code,
    reason = "the test registers a C callback through the C ABI and reads the message it is handed"
)]

mod support;

use std::ffi::{c_char, c_void};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use wxnet::ffi::{wxnet_set_log_callback, WXNET_OK};
use wxnet::EventKind;

/// Every secret below contains this; no record may.
const MARK: &str = "SEKRIT";
const TRACE: i32 = 5;

static TURN: Mutex<()> = Mutex::new(());
static RECORDS: Mutex<Vec<(i32, String)>> = Mutex::new(Vec::new());
/// The names of the threads the callback ran on.
static THREADS: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn turn() -> MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn message(msg: *const c_char, len: usize) -> String {
    // SAFETY: the library hands a valid UTF-8 buffer of `len` bytes for the call's duration.
    let bytes = unsafe { std::slice::from_raw_parts(msg.cast::<u8>(), len) };
    String::from_utf8_lossy(bytes).into_owned()
}

unsafe extern "C" fn collect(_ud: *mut c_void, level: i32, msg: *const c_char, len: usize) {
    let text = message(msg, len);
    RECORDS.lock().expect("records").push((level, text));
    let name = std::thread::current().name().unwrap_or("").to_owned();
    let mut threads = THREADS.lock().expect("threads");
    if !threads.contains(&name) {
        threads.push(name);
    }
}

fn wait_for(events: &TestApp, id: u64, what: impl Fn(&[Got]) -> bool) -> Vec<Got> {
    events.wait_until(id, what)
}

#[test]
fn no_secret_reaches_the_log_callback_at_trace_level() {
    let _turn = turn();
    RECORDS.lock().expect("records").clear();
    THREADS.lock().expect("threads").clear();
    assert_eq!(
        wxnet_set_log_callback(Some(collect), std::ptr::null_mut(), TRACE),
        WXNET_OK
    );

    let dirs = Dirs::new();
    std::fs::write(dirs.usr().join("up.bin"), format!("file content {MARK}-file")).expect("write");
    let mut config = dirs.config();
    config["cookieJar"] = json!(true);
    let app = TestApp::new(config);
    let headers = json!({
        "X-Secret": format!("{MARK}-header"),
        "Authorization": format!("Bearer {MARK}-auth"),
        "Cookie": format!("c={MARK}-cookie"),
    });

    // wx.request over HTTP/1.1 and h2: query, headers, cookies, body both ways,
    // a Set-Cookie the jar keeps and sends back, a redirect whose Location has a query.
    for http2 in [false, true] {
        let got = app.terminal(json!({
            "url": url(&format!("/echo?token={MARK}-query")),
            "method": "POST",
            "header": headers,
            "data": {"password": format!("{MARK}-body")},
            "enableHttp2": http2,
        }));
        assert_success(&got);
        assert!(got.text().contains(&format!("{MARK}-body")), "the body went out");
    }
    let set = format!("/cookie/set?c=sid%3D{MARK}-setcookie%3B%20Path%3D%2F");
    assert_success(&app.terminal(json!({"url": url(&set)})));
    let back = app.terminal(json!({"url": url("/echo")}));
    assert!(
        back.text().contains(&format!("{MARK}-setcookie")),
        "the jar sent it back"
    );
    let redirect = format!("/redirect-to?url=%2Fecho%3Fr%3D{MARK}-location");
    assert_success(&app.terminal(json!({"url": url(&redirect), "header": headers})));
    // A failing request (its error text must not carry the query either).
    let failed = app.terminal(json!({"url": url(&format!("/close?q={MARK}-failquery")), "header": headers}));
    assert_eq!(failed.kind, EventKind::Fail);

    // uploadFile: file content, form fields, headers, query.
    let up = last(app.upload(json!({
        "url": up_url(&format!("/upload?u={MARK}-upquery")),
        "filePath": "wxfile://usr/up.bin",
        "name": "file",
        "formData": {"field": format!("{MARK}-form")},
        "header": headers,
    })));
    assert_success(&up);

    // downloadFile: the body written to the file (it echoes the query and headers).
    let down = last(app.download(json!({
        "url": dl_url(&format!("/echo?d={MARK}-dlquery")),
        "header": headers,
        "filePath": "wxfile://usr/down.json",
    })));
    assert_success(&down);
    let saved = std::fs::read_to_string(dirs.usr().join("down.json")).expect("downloaded");
    assert!(saved.contains(&format!("{MARK}-dlquery")));

    // connectSocket: query, headers, text and binary messages both ways.
    let id = app.open_socket(json!({
        "url": ws_url(&format!("/ws/echo?w={MARK}-wsquery")),
        "header": {"X-Secret": format!("{MARK}-wsheader")},
    }));
    let socket = wxnet::socket_of(id).expect("socket");
    socket
        .send(format!("{MARK}-socket-text").as_bytes(), false)
        .expect("send text");
    socket
        .send(format!("{MARK}-socket-binary").as_bytes(), true)
        .expect("send binary");
    let events = wait_for(&app, id, |e| {
        e.iter().filter(|g| g.kind == EventKind::SocketMessage).count() >= 2
    });
    let echoed: Vec<String> = events
        .iter()
        .filter(|g| g.kind == EventKind::SocketMessage)
        .map(|g| String::from_utf8_lossy(&g.data).into_owned())
        .collect();
    assert!(echoed.iter().all(|m| m.contains(MARK)), "{echoed:?}");
    socket.close(1000, &format!("{MARK}-reason")).expect("close");
    app.closed(id);
    drop(app);

    assert_eq!(wxnet_set_log_callback(None, std::ptr::null_mut(), 0), WXNET_OK);
    let records = std::mem::take(&mut *RECORDS.lock().expect("records"));
    let leaks: Vec<&(i32, String)> = records.iter().filter(|(_, m)| m.contains(MARK)).collect();
    assert!(leaks.is_empty(), "{} records carry a secret: {leaks:#?}", leaks.len());
    // Not vacuous: the callback did receive records, debug ones included.
    assert!(
        records.iter().any(|(level, m)| *level >= 4 && m.starts_with("wxnet")),
        "debug records of wxnet arrived: {records:?}"
    );
    // Host code never runs on a network worker: the callback has a thread of its own.
    assert_eq!(*THREADS.lock().expect("threads"), ["wxnet-log"]);
}

/// A callback that, on its first call, replaces itself (from inside the call).
unsafe extern "C" fn replace_self(ud: *mut c_void, _level: i32, _msg: *const c_char, _len: usize) {
    // SAFETY: `ud` is the `AtomicUsize` the test registered and keeps alive.
    let calls = unsafe { &*(ud as *const AtomicUsize) };
    if calls.fetch_add(1, Ordering::SeqCst) == 0 {
        let status = wxnet_set_log_callback(Some(count), ud, TRACE);
        assert_eq!(status, WXNET_OK);
    }
}

unsafe extern "C" fn count(ud: *mut c_void, _level: i32, _msg: *const c_char, _len: usize) {
    // SAFETY: as above.
    let calls = unsafe { &*(ud as *const AtomicUsize) };
    calls.fetch_add(1, Ordering::SeqCst);
}

/// Runs `f` on a thread; fails the test if it does not return within 20 s
/// (a deadlock), without waiting for the stuck thread.
fn bounded(what: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what}: no return within 20 s (deadlock)"));
}

#[test]
fn the_callback_may_replace_itself_from_inside() {
    let _turn = turn();
    let calls: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
    let ud = calls as *const AtomicUsize as usize;
    assert_eq!(
        wxnet_set_log_callback(Some(replace_self), ud as *mut c_void, TRACE),
        WXNET_OK
    );
    bounded("a record whose callback replaces the callback", || {
        log::warn!(target: "wxnet::test", "first");
        log::warn!(target: "wxnet::test", "second");
    });
    // Both records arrive (on the log thread), the second at the new callback.
    wait_for_condition(
        "both records arrived",
        Duration::from_secs(20),
        Duration::from_millis(5),
        || calls.load(Ordering::SeqCst) >= 2,
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // Many threads at once, each replacing the callback from inside it.
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..500 {
                    log::warn!(target: "wxnet::test", "thread {t} record {i}");
                    if i % 50 == 0 {
                        wxnet_set_log_callback(Some(replace_self), ud as *mut c_void, TRACE);
                    }
                }
            })
        })
        .collect();
    bounded("four threads replacing the callback from inside it", move || {
        for t in threads {
            t.join().expect("logging thread");
        }
    });
    assert_eq!(wxnet_set_log_callback(None, std::ptr::null_mut(), 0), WXNET_OK);
}

/// Counts calls in progress and calls made, to check that a replaced
/// callback is done when `wxnet_set_log_callback` returns.
struct Probe {
    running: AtomicUsize,
    calls: AtomicUsize,
}

unsafe extern "C" fn probe(ud: *mut c_void, _level: i32, _msg: *const c_char, _len: usize) {
    // SAFETY: `ud` is a `Probe` the test keeps alive.
    let p = unsafe { &*(ud as *const Probe) };
    p.running.fetch_add(1, Ordering::SeqCst);
    // Some work inside the call, so that calls overlap the replacement.
    let mut x = 0u64;
    for i in 0..2000 {
        x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
    }
    p.calls.fetch_add(1, Ordering::SeqCst);
    p.running.fetch_sub(1, Ordering::SeqCst);
}

#[test]
fn a_replaced_callback_is_never_running_after_the_replacement_returns() {
    let _turn = turn();
    let first: &'static Probe = Box::leak(Box::new(Probe {
        running: AtomicUsize::new(0),
        calls: AtomicUsize::new(0),
    }));
    let second: &'static Probe = Box::leak(Box::new(Probe {
        running: AtomicUsize::new(0),
        calls: AtomicUsize::new(0),
    }));
    let stop = Arc::new(AtomicUsize::new(0));
    assert_eq!(
        wxnet_set_log_callback(Some(probe), first as *const Probe as *mut c_void, TRACE),
        WXNET_OK
    );
    let loggers: Vec<_> = (0..3)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while stop.load(Ordering::SeqCst) == 0 {
                    log::warn!(target: "wxnet::test", "busy");
                }
            })
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while first.calls.load(Ordering::SeqCst) < 1000 {
        assert!(Instant::now() < deadline, "the loggers reached the first callback");
        std::thread::yield_now();
    }
    wxnet_set_log_callback(Some(probe), second as *const Probe as *mut c_void, TRACE);
    assert_eq!(first.running.load(Ordering::SeqCst), 0, "the old callback still runs");
    let after = first.calls.load(Ordering::SeqCst);
    let target = second.calls.load(Ordering::SeqCst) + 1000;
    while second.calls.load(Ordering::SeqCst) < target {
        assert!(Instant::now() < deadline, "the loggers reached the second callback");
        std::thread::yield_now();
    }
    assert_eq!(
        first.calls.load(Ordering::SeqCst),
        after,
        "the old callback was called again"
    );
    stop.store(1, Ordering::SeqCst);
    for t in loggers {
        t.join().expect("logger");
    }
    wxnet_set_log_callback(None, std::ptr::null_mut(), 0);
}

/// Holds the log thread inside the callback until the test opens the gate.
static GATE: (Mutex<bool>, std::sync::Condvar) = (Mutex::new(false), std::sync::Condvar::new());

unsafe extern "C" fn blocking(ud: *mut c_void, _level: i32, msg: *const c_char, len: usize) {
    // SAFETY: `ud` is the `AtomicUsize` the test registered and keeps alive.
    let calls = unsafe { &*(ud as *const AtomicUsize) };
    calls.fetch_add(1, Ordering::SeqCst);
    if message(msg, len).contains("dropped") {
        RECORDS.lock().expect("records").push((0, message(msg, len)));
    }
    let (open, cv) = &GATE;
    let guard = open.lock().expect("gate");
    let _open = cv
        .wait_timeout_while(guard, Duration::from_secs(60), |open| !*open)
        .expect("gate");
}

/// A callback that blocks costs the library nothing but records: requests go on, the records
/// that do not fit the queue are dropped, and a warning says how many once the callback is back.
#[test]
fn a_blocked_log_callback_does_not_stall_the_network() {
    let _turn = turn();
    RECORDS.lock().expect("records").clear();
    *GATE.0.lock().expect("gate") = false;
    let calls: &'static AtomicUsize = Box::leak(Box::new(AtomicUsize::new(0)));
    let ud = calls as *const AtomicUsize as *mut c_void;
    assert_eq!(wxnet_set_log_callback(Some(blocking), ud, TRACE), WXNET_OK);
    log::warn!(target: "wxnet::test", "the first record blocks the log thread");
    wait_for_condition(
        "the callback blocks",
        Duration::from_secs(20),
        Duration::from_millis(5),
        || calls.load(Ordering::SeqCst) == 1,
    );
    let app = TestApp::new(json!({}));
    for _ in 0..20 {
        assert_success(&app.terminal(json!({"url": url("/json")})));
    }
    for i in 0..wxnet::testing::MAX_QUEUED_LOG_RECORDS + 10 {
        log::warn!(target: "wxnet::test", "record {i}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "still blocked: nothing else was delivered"
    );
    {
        let (open, cv) = &GATE;
        *open.lock().expect("gate") = true;
        cv.notify_all();
    }
    wait_for_condition(
        "the drop warning",
        Duration::from_secs(20),
        Duration::from_millis(5),
        || {
            RECORDS
                .lock()
                .expect("records")
                .iter()
                .any(|(_, m)| m.contains("log records dropped"))
        },
    );
    assert_eq!(wxnet_set_log_callback(None, std::ptr::null_mut(), 0), WXNET_OK);
}
