//! Stress: thousands of requests over several apps with random aborts from
//! other threads and one app freed mid-flight. Every started task must get
//! exactly one terminal event, and it must be its last.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use serde_json::json;
use support::*;
use wxnet::{App, Event, EventKind, Mode, UserData};

#[derive(Default)]
struct Ledger {
    /// task -> (terminal events seen, events seen after the terminal one)
    tasks: Mutex<HashMap<u64, (u32, u32)>>,
    /// Notified after every recorded event.
    changed: Condvar,
    successes: std::sync::atomic::AtomicUsize,
}

impl Ledger {
    fn record(&self, ev: &Event) {
        let mut tasks = self.tasks.lock().expect("ledger");
        let entry = tasks.entry(ev.task).or_default();
        if entry.0 > 0 {
            entry.1 += 1;
        }
        if matches!(ev.kind, EventKind::Success | EventKind::Fail) {
            entry.0 += 1;
        }
        if ev.kind == EventKind::Success {
            self.successes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        drop(tasks);
        self.changed.notify_all();
    }
}

#[test]
fn thousands_of_requests_random_aborts_and_a_free_mid_flight() {
    const APPS: usize = 4;
    const PER_APP: usize = 750;
    let ledger = Arc::new(Ledger::default());
    let apps: Vec<Arc<App>> = (0..APPS)
        .map(|_| {
            let l = ledger.clone();
            let cfg = config(json!({"maxConcurrentRequests": 10})).to_string();
            Arc::new(App::new(cfg.as_bytes(), Mode::Callback(Box::new(move |ev| l.record(ev)))).expect("app"))
        })
        .collect();
    let started: Arc<Mutex<Vec<u64>>> = Arc::default();
    let workers: Vec<_> = apps
        .iter()
        .enumerate()
        .map(|(i, app)| {
            let app = app.clone();
            let started = started.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (i as u64 + 1));
                let mut mine = Vec::new();
                for n in 0..PER_APP {
                    if n % 8 == 0 {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    let path = match rng.below(9) {
                        0 => "/json".to_string(),
                        1 => format!("/delay/{}", rng.below(30)),
                        2 => format!("/bytes/{}", rng.below(200_000)),
                        3 => "/chunked?n=3&size=100&interval_ms=5".to_string(),
                        4 => "/hang".to_string(),
                        _ => "/text".to_string(),
                    };
                    let timeout = if path == "/hang" { 200 } else { 5000 };
                    let opts = json!({"url": url(&path), "enableChunked": n % 7 == 0, "enableHttp2": n % 2 == 0, "timeout": timeout});
                    match app.request(opts.to_string().as_bytes(), None, UserData(n)) {
                        Ok(id) => mine.push(id),
                        Err(e) => assert_eq!(e.status, wxnet::Status::Closed, "only a freed app refuses: {e}"),
                    }
                    if rng.below(3) == 0 && !mine.is_empty() {
                        let victim = mine[rng.below(mine.len())];
                        let _ = wxnet::task_abort(victim);
                    }
                    if i == 3 && n == PER_APP / 2 {
                        app.close().expect("free mid-flight");
                    }
                }
                started.lock().expect("started").extend(mine);
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker thread");
    }
    // Let the rest finish (the /hang ones end by abort or their timeout), then free.
    let deadline = std::time::Instant::now() + scaled(Duration::from_secs(60));
    {
        let started = started.lock().expect("started");
        let mut tasks = ledger.tasks.lock().expect("ledger");
        while !started.iter().all(|id| tasks.get(id).is_some_and(|t| t.0 > 0)) {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                break; // the assertions below name the tasks without a terminal event
            }
            tasks = ledger.changed.wait_timeout(tasks, left).expect("ledger").0;
        }
    }
    for app in &apps {
        let _ = app.close();
    }
    let started = started.lock().expect("started");
    let tasks = ledger.tasks.lock().expect("ledger");
    assert!(started.len() > 2000, "started {}", started.len());
    let successes = ledger.successes.load(std::sync::atomic::Ordering::Relaxed);
    assert!(successes > 500, "a real mix: only {successes} requests succeeded");
    for id in started.iter() {
        let (terminals, after) = tasks.get(id).copied().unwrap_or_default();
        assert_eq!(terminals, 1, "task {id} got {terminals} terminal events");
        assert_eq!(after, 0, "task {id} got {after} events after its terminal one");
    }
}

/// `reset_connections` racing requests: one thread starts 600 requests (HTTP/1.1 and h2,
/// small, large and slow bodies) and resets the app's connections after every 5th; another
/// thread resets in a loop meanwhile. A reset never fails a request: every task ends with
/// exactly one SUCCESS.
#[test]
fn connection_resets_racing_requests_fail_none() {
    const REQUESTS: u64 = 600;
    let app = Arc::new(TestApp::new(json!({"maxConcurrentRequests": 20})));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let resetter = {
        let app = app.clone();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut resets = 0u32;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) && resets < 2000 {
                app.app.reset_connections().expect("reset");
                resets += 1;
            }
            resets
        })
    };
    let mut ids = Vec::new();
    for n in 0..REQUESTS {
        let path = match n % 4 {
            0 => "/json".to_string(),
            1 => format!("/bytes/{}", 1000 + n * 500),
            2 => "/delay/20".to_string(),
            _ => "/text".to_string(),
        };
        ids.push(app.start(json!({"url": url(&path), "enableHttp2": n % 2 == 0, "responseType": "arraybuffer"})));
        if n % 5 == 0 {
            app.app.reset_connections().expect("reset");
        }
    }
    for &id in &ids {
        let events = app.events.wait(id, Duration::from_secs(60));
        let terminals = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Success | EventKind::Fail))
            .count();
        assert_eq!(terminals, 1, "task {id}: {events:?}");
        let done = events.last().expect("events");
        assert_eq!(done.kind, EventKind::Success, "task {id}: {done:?}");
        assert_eq!(done.json["statusCode"], 200, "task {id}: {done:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let resets = resetter.join().expect("resetter thread");
    assert!(resets > 0);
    // The app still works, and still resets.
    assert_eq!(app.terminal(json!({"url": url("/json")})).json["statusCode"], 200);
    app.app.reset_connections().expect("reset");
    let fresh = app.terminal(json!({"url": url("/json")}));
    assert_eq!(fresh.json["profile"]["socketReused"], false, "{fresh:?}");
}
