//! Stress: thousands of requests over several apps with random aborts from
//! other threads and one app freed mid-flight. Every started task must get
//! exactly one terminal event, and it must be its last.

mod support;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use support::*;
use wxnet::{App, Event, EventKind, Mode, UserData};

#[derive(Default)]
struct Ledger {
    /// task -> (terminal events seen, events seen after the terminal one)
    tasks: Mutex<HashMap<u64, (u32, u32)>>,
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
    loop {
        let done = {
            let tasks = ledger.tasks.lock().expect("ledger");
            started
                .lock()
                .expect("started")
                .iter()
                .all(|id| tasks.get(id).is_some_and(|t| t.0 > 0))
        };
        if done || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
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
