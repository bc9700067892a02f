//! Task lifecycle through the Rust API: abort, the FIFO queue, background
//! interruption, app free with tasks in flight, poll mode, re-entrancy.

mod support;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use wxnet::{App, EventKind, Mode, Status, UserData};

const WAIT: Duration = Duration::from_secs(20);

#[test]
fn abort_in_flight_is_idempotent_and_unknown_ids_are_rejected() {
    let app = TestApp::new(json!({}));
    let id = app.start(json!({"url": url("/hang?t=abort-idempotent")}));
    wait_for_hits("/hang?t=abort-idempotent", 1);
    let t = Instant::now();
    wxnet::task_abort(id).expect("abort");
    assert!(t.elapsed() < Duration::from_millis(100), "abort never blocks");
    wxnet::task_abort(id).expect("second abort is fine");
    let events = app.events.wait(id, WAIT);
    assert_fail(events.last().expect("event"), 1, "request:fail abort");
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Success | EventKind::Fail))
            .count(),
        1
    );
    wxnet::task_abort(id).expect("abort after the end is a no-op");
    assert_eq!(
        wxnet::task_abort(id + 1_000_000).expect_err("never issued").status,
        Status::UnknownTask
    );
    assert_eq!(wxnet::task_abort(0).expect_err("zero").status, Status::UnknownTask);
}

#[test]
fn queue_is_fifo_beyond_the_limit_and_queued_tasks_abort() {
    let app = TestApp::new(json!({"maxConcurrentRequests": 2}));
    let ids: Vec<u64> = (0..6).map(|_| app.start(json!({"url": url("/delay/300")}))).collect();
    let victim = app.start(json!({"url": url("/delay/300")}));
    wxnet::task_abort(victim).expect("abort queued");
    assert_fail(&last(app.events.wait(victim, WAIT)), 1, "request:fail abort");
    let results: Vec<Got> = ids.iter().map(|id| last(app.events.wait(*id, WAIT))).collect();
    let queue_end: Vec<f64> = results
        .iter()
        .map(|r| {
            assert_success(r);
            r.json["profile"]["queueEnd"].as_f64().expect("queueEnd")
        })
        .collect();
    // Two run at a time, each for 300 ms: a task of a later round leaves the
    // queue after every task of an earlier round (within a round the two
    // start together, in either order).
    for i in 0..queue_end.len() {
        for j in 0..queue_end.len() {
            if i / 2 < j / 2 {
                assert!(queue_end[i] < queue_end[j], "FIFO by rounds: {queue_end:?}");
            }
        }
    }
    let waited = |r: &Got| {
        r.json["profile"]["queueEnd"].as_f64().expect("n") - r.json["profile"]["queueStart"].as_f64().expect("n")
    };
    assert!(waited(&results[0]) < 100.0, "first two run at once");
    assert!(
        waited(&results[4]) >= 250.0,
        "fifth waited for two rounds: {}",
        waited(&results[4])
    );
}

#[test]
fn background_grace_interrupts_and_blocks_new_calls_until_foreground() {
    let app = TestApp::new(json!({"backgroundGraceMs": 200}));
    let slow = app.start(json!({"url": url("/delay/5000")}));
    app.app.set_background(true);
    let during_grace = app.start(json!({"url": url("/json")}));
    assert_fail(
        &last(app.events.wait(during_grace, WAIT)),
        600003,
        "request:fail interrupted",
    );
    let t = Instant::now();
    assert_fail(&last(app.events.wait(slow, WAIT)), 600003, "request:fail interrupted");
    assert!(t.elapsed() < Duration::from_secs(3));
    app.app.set_background(false);
    assert_success(&app.terminal(json!({"url": url("/json")})));
}

#[test]
fn background_grace_minus_one_allows_background_work() {
    let app = TestApp::new(json!({"backgroundGraceMs": -1}));
    app.app.set_background(true);
    assert_success(&app.terminal(json!({"url": url("/delay/300")})));
}

#[test]
fn returning_to_foreground_within_grace_keeps_tasks() {
    let app = TestApp::new(json!({"backgroundGraceMs": 300}));
    let id = app.start(json!({"url": url("/delay/700?t=foreground-within-grace")}));
    // In flight when the app goes to background, back before the grace ends.
    wait_for_hits("/delay/700?t=foreground-within-grace", 1);
    app.app.set_background(true);
    app.app.set_background(false);
    assert_success(&last(app.events.wait(id, WAIT)));
}

#[test]
fn free_with_tasks_in_flight_delivers_every_terminal_event_first() {
    let app = TestApp::new(json!({"maxConcurrentRequests": 3}));
    let ids: Vec<u64> = (0..12)
        .map(|i| {
            app.start(
                json!({"url": url(if i % 2 == 0 { "/hang?t=free-in-flight" } else { "/delay/3000?t=free-in-flight" })}),
            )
        })
        .collect();
    // The first three (the in-flight limit) reached the server; the rest queue.
    wait_for_condition("three requests in flight", WAIT, Duration::from_millis(2), || {
        SERVER.hits("/hang?t=free-in-flight") + SERVER.hits("/delay/3000?t=free-in-flight") >= 3
    });
    app.app.close().expect("free");
    for id in &ids {
        let events = app.events.snapshot(*id);
        let terminals = events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::Success | EventKind::Fail))
            .count();
        assert_eq!(terminals, 1, "task {id}: {events:?}");
        assert_fail(events.last().expect("terminal"), 1, "request:fail abort");
        assert_eq!(wxnet::task_abort(*id).expect_err("freed").status, Status::UnknownTask);
    }
    let err = app
        .app
        .request(json!({"url": url("/json")}).to_string().as_bytes(), None, UserData(0))
        .expect_err("closed");
    assert_eq!(err.status, Status::Closed);
}

#[test]
fn callbacks_may_start_and_abort_tasks_but_not_free_their_own_app() {
    let slot: Arc<Mutex<Option<Arc<App>>>> = Arc::default();
    let (tx, rx) = mpsc::channel::<(u64, EventKind, String)>();
    let inner = slot.clone();
    let started = Arc::new(Mutex::new(Vec::new()));
    let started_in_cb = started.clone();
    let handler = move |ev: &wxnet::Event| {
        let app = inner.lock().expect("slot").clone().expect("app set");
        if ev.kind == EventKind::HeadersReceived && ev.user_data == UserData(1) {
            // Re-entrant calls from inside a callback.
            wxnet::task_abort(ev.task).expect("abort from callback");
            let id = app
                .request(json!({"url": url("/json")}).to_string().as_bytes(), None, UserData(2))
                .expect("start from callback");
            started_in_cb.lock().expect("list").push(id);
            assert_eq!(app.close().expect_err("own callback").status, Status::WouldDeadlock);
        }
        tx.send((ev.task, ev.kind, ev.json().to_owned())).expect("send");
    };
    let cfg = config(json!({})).to_string();
    let app = Arc::new(App::new(cfg.as_bytes(), Mode::Callback(Box::new(handler))).expect("app"));
    *slot.lock().expect("slot") = Some(app.clone());
    let first = app
        .request(
            json!({"url": url("/chunked?n=50&size=10&interval_ms=100"), "enableChunked": true})
                .to_string()
                .as_bytes(),
            None,
            UserData(1),
        )
        .expect("start");
    let mut ended = Vec::new();
    let deadline = Instant::now() + WAIT;
    while ended.len() < 2 && Instant::now() < deadline {
        if let Ok((task, kind, json)) = rx.recv_timeout(Duration::from_millis(100)) {
            if matches!(kind, EventKind::Success | EventKind::Fail) {
                ended.push((task, kind, json));
            }
        }
    }
    let second = started.lock().expect("list")[0];
    assert!(
        ended
            .iter()
            .any(|(t, k, j)| *t == first && *k == EventKind::Fail && j.contains("request:fail abort")),
        "{ended:?}"
    );
    assert!(
        ended.iter().any(|(t, k, _)| *t == second && *k == EventKind::Success),
        "{ended:?}"
    );
    slot.lock().expect("slot").take();
    app.close().expect("free from outside");
}

#[test]
fn poll_mode_with_wakeup() {
    let cfg = config(json!({})).to_string();
    let app = App::new(cfg.as_bytes(), Mode::Poll).expect("app");
    let (tx, rx) = mpsc::channel();
    app.set_wakeup(Some(Box::new(move || {
        let _ = tx.send(std::thread::current().name().map(str::to_owned));
    })))
    .expect("wakeup");
    assert!(app.poll(Some(Duration::ZERO)).expect("poll").is_none());
    let id = app
        .request(json!({"url": url("/json")}).to_string().as_bytes(), None, UserData(5))
        .expect("start");
    let thread = rx.recv_timeout(WAIT).expect("woken");
    assert!(
        !thread.unwrap_or_default().starts_with("wxnet-worker"),
        "wakeup never runs on a worker"
    );
    let mut kinds = Vec::new();
    while kinds.last() != Some(&EventKind::Success) {
        let ev = app.poll(Some(WAIT)).expect("poll").expect("event before timeout");
        assert_eq!(ev.task, id);
        assert_eq!(ev.user_data, UserData(5));
        kinds.push(ev.kind);
    }
    assert_eq!(kinds, [EventKind::HeadersReceived, EventKind::Success]);
    let t = Instant::now();
    assert!(app.poll(Some(Duration::from_millis(50))).expect("poll").is_none());
    assert!(t.elapsed() >= Duration::from_millis(45));
    app.close().expect("free");
    assert_eq!(
        app.poll(Some(Duration::ZERO)).expect_err("closed").status,
        Status::Closed
    );
    let cb = TestApp::new(json!({}));
    assert_eq!(
        cb.app.poll(Some(Duration::ZERO)).expect_err("callback app").status,
        Status::WrongMode
    );
}

#[test]
fn invalid_config_names_the_field() {
    let err = App::new(br#"{"appId":"x","networkTimeout":{"requets":1}}"#, Mode::Poll)
        .err()
        .expect("invalid");
    assert_eq!(err.status, Status::InvalidConfig);
    assert!(err.detail.contains("requets"), "{}", err.detail);
}

#[test]
fn free_wakes_a_thread_blocked_in_poll() {
    let cfg = config(json!({})).to_string();
    let app = Arc::new(App::new(cfg.as_bytes(), Mode::Poll).expect("app"));
    let (polling, about_to_poll) = mpsc::channel();
    let poller = {
        let app = app.clone();
        std::thread::spawn(move || {
            polling.send(()).expect("main waits");
            app.poll(None)
        })
    };
    // The poller is at its poll (or about to be; a poll that starts after the
    // free gets Closed all the same).
    about_to_poll.recv_timeout(WAIT).expect("poller started");
    app.close().expect("free");
    let result = poller.join().expect("poller thread");
    assert_eq!(result.expect_err("woken by free").status, Status::Closed);
}

#[test]
fn two_apps_freeing_each_other_from_their_callbacks_do_not_deadlock() {
    // A's callback frees B while B's callback frees A: one of the two frees
    // must refuse (WouldDeadlock) instead of both waiting forever.
    let slots: Arc<Mutex<Vec<Option<Arc<App>>>>> = Arc::new(Mutex::new(vec![None, None]));
    let (tx, rx) = mpsc::channel::<Result<(), Status>>();
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let make = |me: usize| {
        let (slots, tx, barrier) = (slots.clone(), tx.clone(), barrier.clone());
        let handler = move |ev: &wxnet::Event| {
            if ev.kind != EventKind::HeadersReceived {
                return;
            }
            let other = slots.lock().expect("slots")[1 - me].clone().expect("other app");
            barrier.wait();
            let _ = tx.send(other.close().map_err(|e| e.status));
        };
        let cfg = config(json!({})).to_string();
        Arc::new(App::new(cfg.as_bytes(), Mode::Callback(Box::new(handler))).expect("app"))
    };
    let apps = [make(0), make(1)];
    for (i, app) in apps.iter().enumerate() {
        slots.lock().expect("slots")[i] = Some(app.clone());
    }
    for app in &apps {
        app.request(json!({"url": url("/json")}).to_string().as_bytes(), None, UserData(0))
            .expect("start");
    }
    let mut results: Vec<_> = (0..2).map(|_| rx.recv_timeout(WAIT).expect("no deadlock")).collect();
    results.sort_by_key(|r| r.is_ok());
    assert_eq!(
        results,
        [Err(Status::WouldDeadlock), Ok(())],
        "one refuses, the other frees"
    );
    slots.lock().expect("slots").clear();
    for app in &apps {
        let _ = app.close();
    }
}
