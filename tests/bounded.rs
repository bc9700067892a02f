//! Memory stays bounded whatever the server or the host does: the event queue
//! between the runtime and the host holds at most `maxQueuedEventBytes`, and
//! the tasks that produce events wait (and stop reading from their sockets)
//! while it is full. Each scenario measures the process's peak RSS (VmHWM)
//! over real sockets and asserts its growth; nothing is dropped, every task
//! gets exactly one terminal event, and abort and free end a waiting task.
//!
//! RSS is per process and the allocator keeps what an earlier test freed, so
//! each scenario runs in a fresh process of this test binary (see
//! [`isolated`]); each waits on counters (bytes delivered, tasks waiting for
//! room), never on sleeps.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use support::*;
use wxnet::{App, Event, EventKind, Mode, UserData};

const MIB: u64 = 1024 * 1024;
/// The bound of every scenario: the "growth under 100 MB".
const ALLOWED_GROWTH_KB: u64 = 100 * 1000;
/// The gzip bomb: about 1 MB on the wire, 1000 MiB decoded.
const BOMB_MIB: u64 = 1000;

const CHILD_ENV: &str = "WXNET_BOUNDED_SCENARIO";

/// Runs `scenario` in a fresh process: this test binary again, filtered to
/// the calling test `name` with [`CHILD_ENV`] set, so the memory it measures
/// is its own. Inside that child, runs `scenario` directly.
fn isolated(name: &str, scenario: impl FnOnce()) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        scenario();
        return;
    }
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .output()
        .expect("run the scenario in its own process");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!(
        "{}",
        text.lines()
            .filter(|l| l.contains("RSS"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        out.status.success() && text.contains("1 passed"),
        "scenario {name} failed:\n{text}"
    );
}

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with(field)).expect("field present");
    line.split_whitespace().nth(1).expect("value").parse().expect("number")
}

/// The RSS baseline: resets the peak watermark (VmHWM) to the current RSS.
struct Rss {
    before_kb: u64,
}

impl Rss {
    fn start() -> Rss {
        std::fs::write("/proc/self/clear_refs", "5").expect("reset VmHWM");
        Rss {
            before_kb: status_kb("VmRSS:"),
        }
    }

    fn growth_now_kb(&self) -> u64 {
        status_kb("VmRSS:").saturating_sub(self.before_kb)
    }

    /// Asserts the peak growth since `start` and returns it.
    fn assert_peak_below(&self, what: &str, allowed_kb: u64) -> u64 {
        let grown = status_kb("VmHWM:").saturating_sub(self.before_kb);
        eprintln!("{what}: RSS before {} kB, peak growth {grown} kB", self.before_kb);
        assert!(grown < allowed_kb, "{what}: peak RSS grew by {grown} kB");
        grown
    }
}

/// Waits (bounded) until `done`; fails the test with `what` otherwise.
fn wait_until(what: &str, bound: Duration, done: impl FnMut() -> bool) {
    wait_for_condition(what, bound, Duration::from_millis(2), done);
}

fn poll_app(extra: Value) -> App {
    App::new(config(extra).to_string().as_bytes(), Mode::Poll).expect("valid config")
}

fn start_request(app: &App, options: Value) -> u64 {
    app.request(options.to_string().as_bytes(), None, UserData(1))
        .expect("request starts")
}

/// Until a producer waits for room (the queue is full and the network is no
/// longer read), or memory already grew past the bound (the old behaviour:
/// then the caller's assertion fails).
fn until_backpressure(app: &App, rss: &Rss) {
    until_backpressure_or(app, rss, || false);
}

/// Like [`until_backpressure`], or until `also` (e.g. the server served
/// everything). The RSS condition has a margin above the bound, as the
/// kernel's RSS counters lag a little.
fn until_backpressure_or(app: &App, rss: &Rss, mut also: impl FnMut() -> bool) {
    wait_until(
        "a task waiting for room in the event queue",
        Duration::from_secs(60),
        || app.tasks_waiting_for_room() > 0 || rss.growth_now_kb() > OVERSHOOT_KB || also(),
    );
}

/// Where the waits stop when memory runs away (the old behaviour), so that
/// the peak assertion then fails clearly.
const OVERSHOOT_KB: u64 = ALLOWED_GROWTH_KB * 3 / 2;

fn bomb_options() -> Value {
    json!({"url": url(&format!("/gzip-bomb?mb={BOMB_MIB}")), "enableChunked": true, "responseType": "arraybuffer", "timeout": 120_000})
}

/// The next event of a poll-mode app, waiting at most 60 s.
fn next_event(app: &App) -> wxnet::Event {
    app.poll(Some(Duration::from_secs(60)))
        .expect("poll")
        .expect("an event within 60 s")
}

/// Polls until the task's terminal event; returns the chunk bytes and the
/// terminal event kind. Checks nothing comes after the terminal event.
fn drain(app: &App, id: u64) -> (u64, EventKind) {
    let mut bytes = 0;
    loop {
        let ev = next_event(app);
        assert_eq!(ev.task, id);
        match ev.kind {
            EventKind::ChunkReceived => bytes += ev.data.as_ref().map_or(0, |d| d.len() as u64),
            EventKind::HeadersReceived => {}
            kind @ (EventKind::Success | EventKind::Fail) => {
                assert!(
                    app.poll(Some(Duration::ZERO)).expect("poll").is_none(),
                    "nothing after the terminal event"
                );
                return (bytes, kind);
            }
            other => panic!("unexpected {other:?}: {}", ev.json()),
        }
    }
}

#[test]
fn poll_mode_never_polled_gzip_bomb_waits_in_the_socket() {
    isolated("poll_mode_never_polled_gzip_bomb_waits_in_the_socket", || {
        let app = poll_app(json!({}));
        let rss = Rss::start();
        let id = start_request(&app, bomb_options());
        until_backpressure(&app, &rss);
        let queued = app.queued_event_bytes();
        assert!(queued <= 5 * MIB as usize, "queue over its budget: {queued} bytes");
        let (bytes, end) = drain(&app, id);
        assert_eq!(end, EventKind::Success);
        assert_eq!(bytes, BOMB_MIB * MIB, "nothing dropped");
        rss.assert_peak_below("poll mode, gzip bomb, not polled", ALLOWED_GROWTH_KB);
        app.close().expect("free");
    });
}

#[test]
fn callback_mode_draining_fast_stays_bounded() {
    isolated("callback_mode_draining_fast_stays_bounded", || {
        let bytes = Arc::new(AtomicU64::new(0));
        let terminal = Arc::new(Mutex::new(Vec::<EventKind>::new()));
        let (b, t) = (bytes.clone(), terminal.clone());
        let app = App::new(
            config(json!({})).to_string().as_bytes(),
            Mode::Callback(Box::new(move |ev: &Event| match ev.kind {
                // As fast as it can, but it reads what it gets, as a host does that copies
                // chunks into its own buffers: here, that every byte is the bomb's zero.
                // Without backpressure (tree 9322a95) the network outran this reader.
                EventKind::ChunkReceived => {
                    let data = ev.data.as_deref().unwrap_or_default();
                    if data.iter().all(|&byte| byte == 0) {
                        b.fetch_add(data.len() as u64, Ordering::SeqCst);
                    }
                }
                EventKind::Success | EventKind::Fail => t.lock().expect("lock").push(ev.kind),
                _ => {}
            })),
        )
        .expect("valid config");
        let rss = Rss::start();
        start_request(&app, bomb_options());
        wait_until("the terminal event", Duration::from_secs(120), || {
            !terminal.lock().expect("lock").is_empty() || rss.growth_now_kb() > OVERSHOOT_KB
        });
        rss.assert_peak_below("callback mode, gzip bomb, fast callback", ALLOWED_GROWTH_KB);
        assert_eq!(*terminal.lock().expect("lock"), [EventKind::Success]);
        assert_eq!(
            bytes.load(Ordering::SeqCst),
            BOMB_MIB * MIB,
            "nothing dropped, every byte a zero"
        );
        app.close().expect("free");
    });
}

#[test]
fn a_slow_callback_slows_the_server_and_abort_still_ends_the_task() {
    isolated("a_slow_callback_slows_the_server_and_abort_still_ends_the_task", || {
        let seen = Arc::new(AtomicUsize::new(0));
        let hurry = Arc::new(AtomicBool::new(false));
        let events = Arc::new(Mutex::new(Vec::<EventKind>::new()));
        let (s, h, e) = (seen.clone(), hurry.clone(), events.clone());
        let app = App::new(
            config(json!({})).to_string().as_bytes(),
            Mode::Callback(Box::new(move |ev: &Event| {
                e.lock().expect("lock").push(ev.kind);
                if ev.kind == EventKind::ChunkReceived {
                    s.fetch_add(1, Ordering::SeqCst);
                    if !h.load(Ordering::SeqCst) {
                        // The host's own slowness (not a synchronization).
                        std::thread::sleep(Duration::from_millis(50));
                    }
                }
            })),
        )
        .expect("valid config");
        let rss = Rss::start();
        let id = start_request(&app, bomb_options());
        // 20 slow events (1 s of host time) and a producer held back.
        wait_until(
            "20 slow events and a task waiting for room",
            Duration::from_secs(60),
            || {
                (seen.load(Ordering::SeqCst) >= 20 && app.tasks_waiting_for_room() > 0)
                    || rss.growth_now_kb() > OVERSHOOT_KB
            },
        );
        rss.assert_peak_below("callback mode, gzip bomb, 50 ms per event", ALLOWED_GROWTH_KB);
        hurry.store(true, Ordering::SeqCst);
        wxnet::task_abort(id).expect("abort");
        wait_until("the abort's FAIL", Duration::from_secs(30), || {
            events.lock().expect("lock").contains(&EventKind::Fail)
        });
        app.close().expect("free");
        let events = events.lock().expect("lock");
        assert_eq!(events.last(), Some(&EventKind::Fail), "the FAIL is the last event");
        assert_eq!(
            events
                .iter()
                .filter(|k| matches!(k, EventKind::Success | EventKind::Fail))
                .count(),
            1
        );
    });
}

#[test]
fn free_ends_tasks_waiting_for_room_in_poll_and_callback_mode() {
    isolated("free_ends_tasks_waiting_for_room_in_poll_and_callback_mode", || {
        let app = poll_app(json!({}));
        let rss = Rss::start();
        start_request(&app, bomb_options());
        until_backpressure(&app, &rss);
        assert!(app.tasks_waiting_for_room() > 0);
        app.close().expect("free returns while a task waits for room");

        // Callback mode: the callback blocks until the app is being freed, so the
        // producer waits for room when free starts; the FAIL abort still arrives.
        let release = Arc::new((Mutex::new(false), Condvar::new()));
        let terminal = Arc::new(Mutex::new(Vec::<String>::new()));
        let (r, t) = (release.clone(), terminal.clone());
        let app = Arc::new(
            App::new(
                config(json!({"maxQueuedEventBytes": 65536})).to_string().as_bytes(),
                Mode::Callback(Box::new(move |ev: &Event| {
                    if matches!(ev.kind, EventKind::Success | EventKind::Fail) {
                        t.lock().expect("lock").push(ev.json().to_owned());
                    }
                    let (released, changed) = &*r;
                    let released = released.lock().expect("lock");
                    let _ = changed
                        .wait_timeout_while(released, Duration::from_secs(30), |released| !*released)
                        .expect("lock");
                })),
            )
            .expect("valid config"),
        );
        start_request(&app, bomb_options());
        wait_until("a task waiting for room", Duration::from_secs(30), || {
            app.tasks_waiting_for_room() > 0
        });
        let freeing = {
            let app = app.clone();
            std::thread::spawn(move || app.close())
        };
        *release.0.lock().expect("lock") = true;
        release.1.notify_all();
        freeing.join().expect("free thread").expect("free");
        let terminal = terminal.lock().expect("lock");
        assert_eq!(terminal.len(), 1, "{terminal:?}");
        assert!(terminal[0].contains("request:fail abort"), "{terminal:?}");
    });
}

#[test]
fn five_thousand_small_responses_to_a_host_that_does_not_poll() {
    isolated("five_thousand_small_responses_to_a_host_that_does_not_poll", || {
        const N: usize = 5000;
        let app = poll_app(json!({}));
        // Warm up the connection pool.
        let warm = start_request(&app, json!({"url": url("/bytes/1024"), "responseType": "arraybuffer"}));
        assert_eq!(drain_terminal(&app, 1)[&warm], EventKind::Success);
        let rss = Rss::start();
        let ids: Vec<u64> = (0..N)
            .map(|_| start_request(&app, json!({"url": url("/bytes/1024"), "responseType": "arraybuffer"})))
            .collect();
        // Either the queue fills (the rest wait in their sockets), or (without
        // a bound) the server serves every request.
        until_backpressure_or(&app, &rss, || SERVER.hits("/bytes/1024") > N as u64);
        let ends = drain_terminal(&app, N);
        rss.assert_peak_below("5000 responses of 1 KiB, not polled", SMALL_RESPONSES_GROWTH_KB);
        assert_eq!(ends.len(), N);
        assert!(ids.iter().all(|id| ends[id] == EventKind::Success));
        app.close().expect("free");
    });
}

/// 5,000 tasks the host started cost their own memory (options, futures);
/// what the bound removes is the queue of finished responses: 55-79 MB
/// before, well under this now.
const SMALL_RESPONSES_GROWTH_KB: u64 = 40 * 1000;

/// Polls until `n` terminal events arrived; returns task -> terminal kind.
fn drain_terminal(app: &App, n: usize) -> std::collections::HashMap<u64, EventKind> {
    let mut ends = std::collections::HashMap::new();
    while ends.len() < n {
        let ev = next_event(app);
        if matches!(ev.kind, EventKind::Success | EventKind::Fail) {
            if ev.kind == EventKind::Success {
                assert_eq!(ev.data.as_ref().map_or(0, |d| d.len()), 1024);
            }
            assert!(ends.insert(ev.task, ev.kind).is_none(), "one terminal event per task");
        }
    }
    ends
}

#[test]
fn a_websocket_pushing_1500_mib_to_a_poll_mode_app() {
    isolated("a_websocket_pushing_1500_mib_to_a_poll_mode_app", || {
        const N: usize = 1500;
        let app = poll_app(json!({}));
        let rss = Rss::start();
        let id = app
            .connect_socket(
                json!({"url": ws_url(&format!("/ws/push?n={N}&size={MIB}"))})
                    .to_string()
                    .as_bytes(),
                UserData(2),
            )
            .expect("connectSocket starts");
        until_backpressure(&app, &rss);
        let mut messages = 0;
        let mut bytes = 0;
        let mut opened = false;
        while messages < N {
            let ev = next_event(&app);
            assert_eq!(ev.task, id);
            match ev.kind {
                EventKind::Success => {}
                EventKind::SocketOpen => opened = true,
                EventKind::SocketMessage => {
                    messages += 1;
                    bytes += ev.data.as_ref().map_or(0, |d| d.len() as u64);
                }
                other => panic!("unexpected {other:?}: {}", ev.json()),
            }
        }
        assert!(opened);
        assert_eq!(bytes, N as u64 * MIB, "nothing dropped");
        rss.assert_peak_below("WebSocket, 1500 x 1 MiB, not polled", ALLOWED_GROWTH_KB);
        wxnet::socket_of(id).expect("socket").close(1000, "").expect("close");
        loop {
            let ev = app
                .poll(Some(Duration::from_secs(30)))
                .expect("poll")
                .expect("CLOSE within 30 s");
            if ev.kind == EventKind::SocketClose {
                break;
            }
        }
        app.close().expect("free");
    });
}
