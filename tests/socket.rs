//! wx.connectSocket / SocketTask over WSS against the in-process server:
//! echo, ordering, limits, protocols, every close rule, failures, background.

mod support;

use std::time::{Duration, Instant};

use serde_json::json;
use support::*;
use wxnet::{EventKind, Status};

fn messages(events: &[Got]) -> Vec<&Got> {
    events.iter().filter(|e| e.kind == EventKind::SocketMessage).collect()
}

fn send_text(id: u64, text: &str) {
    wxnet::socket_of(id)
        .expect("socket")
        .send(text.as_bytes(), false)
        .expect("send text");
}

fn close_json(events: &[Got]) -> serde_json::Value {
    events
        .iter()
        .find(|e| e.kind == EventKind::SocketClose)
        .expect("CLOSE")
        .json
        .clone()
}

#[test]
fn echo_text_and_binary_with_open_header_and_profile() {
    let app = TestApp::new(json!({}));
    let id = app.open_socket(json!({"url": ws_url("/ws/echo")}));
    let events = app.events.snapshot(id);
    assert_eq!(events[0].json["errMsg"], "connectSocket:ok");
    let open = events.iter().find(|e| e.kind == EventKind::SocketOpen).expect("OPEN");
    assert_eq!(
        open.json["header"]["upgrade"]
            .as_str()
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("websocket")
    );
    let p = &open.json["profile"];
    for k in [
        "fetchStart",
        "domainLookUpStart",
        "domainLookUpEnd",
        "connectStart",
        "connectEnd",
    ] {
        assert!(p[k].as_f64().expect("number") > 0.0, "profile.{k}: {p}");
    }
    for k in ["rtt", "handshakeCost", "cost"] {
        assert!(p[k].as_f64().expect("number") >= 0.0, "profile.{k}");
    }
    send_text(id, "你好 wxnet");
    let socket = wxnet::socket_of(id).expect("socket");
    socket.send(&[0, 1, 2, 255], true).expect("send binary");
    let events = app.wait_until(id, |e| messages(e).len() >= 2);
    let got = messages(&events);
    assert_eq!(got[0].json["dataKind"], "text");
    assert_eq!(got[0].text(), "你好 wxnet");
    assert_eq!(got[1].json["dataKind"], "arraybuffer");
    assert_eq!(got[1].data, [0, 1, 2, 255]);
    assert_eq!(
        socket.send(b"\xff\xfe", false).expect_err("not UTF-8").status,
        Status::InvalidArgument
    );
    socket.close(1000, "done").expect("close");
    let events = app.closed(id);
    assert_socket_lifecycle(&events);
    assert_eq!(close_json(&events), json!({"code": 1000, "reason": "done"}));
    assert_eq!(
        socket.send(b"late", false).expect_err("closed").status,
        Status::InvalidState
    );
}

#[test]
fn a_megabyte_message_and_ten_thousand_small_ones_in_order() {
    let app = TestApp::new(json!({}));
    let id = app.open_socket(json!({"url": ws_url("/ws/echo")}));
    let socket = wxnet::socket_of(id).expect("socket");
    let big: Vec<u8> = (0..1024 * 1024).map(|i| (i % 251) as u8).collect();
    socket.send(&big, true).expect("send 1 MB");
    for i in 0..10_000 {
        socket.send(i.to_string().as_bytes(), false).expect("send small");
    }
    let events = app.wait_until(id, |e| messages(e).len() >= 10_001);
    let got = messages(&events);
    assert_eq!(got[0].data, big);
    for (i, m) in got[1..].iter().enumerate() {
        assert_eq!(m.text(), i.to_string(), "in order");
    }
    socket.close(1000, "").expect("close");
    assert_socket_lifecycle(&app.closed(id));
}

#[test]
fn the_sixth_socket_is_refused_counting_connecting_open_and_closing() {
    let app = TestApp::new(json!({}));
    let ids: Vec<u64> = (0..5).map(|_| app.socket(json!({"url": ws_url("/ws/echo")}))).collect();
    let sixth = app.socket(json!({"url": ws_url("/ws/echo")}));
    assert_fail(
        &last(app.wait_for(sixth, EventKind::Fail)),
        600007,
        "connectSocket:fail exceed max task count",
    );
    for id in &ids {
        app.wait_for(*id, EventKind::SocketOpen);
    }
    // A closing socket still counts until its CLOSE.
    let closing = ids[0];
    wxnet::socket_of(closing)
        .expect("socket")
        .close(1000, "")
        .expect("close");
    app.closed(closing);
    let again = app.socket(json!({"url": ws_url("/ws/echo")}));
    app.wait_for(again, EventKind::SocketOpen);
    let small = TestApp::new(json!({"maxSockets": 1}));
    small.socket(json!({"url": ws_url("/ws/echo")}));
    let refused = small.socket(json!({"url": ws_url("/ws/echo")}));
    assert_fail(
        &last(small.wait_for(refused, EventKind::Fail)),
        600007,
        "connectSocket:fail",
    );
}

#[test]
fn header_referer_and_protocols_reach_the_server() {
    let app = TestApp::new(json!({}));
    let id = app.open_socket(json!({"url": ws_url("/ws/headers"), "header": {"X-App": "1", "Referer": "https://evil"}, "protocols": ["chat", "json"]}));
    let events = app.wait_until(id, |e| !messages(e).is_empty());
    let seen = messages(&events)[0].data_json();
    assert_eq!(seen["x-app"], "1");
    assert_eq!(
        seen["referer"],
        "https://servicewechat.com/wxtest0123456789/7/page-frame.html"
    );
    assert_eq!(seen["sec-websocket-protocol"], "chat, json");
    let open = events.iter().find(|e| e.kind == EventKind::SocketOpen).expect("OPEN");
    assert_eq!(open.json["header"]["sec-websocket-protocol"], "chat");
}

#[test]
fn server_picking_no_protocol_is_accepted_and_an_unoffered_one_fails() {
    let app = TestApp::new(json!({}));
    let none = app.open_socket(json!({"url": ws_url("/ws/echo?protocol=none"), "protocols": ["chat"]}));
    wxnet::task_abort(none).expect("abort closes");
    assert_eq!(close_json(&app.closed(none)), json!({"code": 1000, "reason": ""}));
    let other = app.socket(json!({"url": ws_url("/ws/echo?protocol=evil"), "protocols": ["chat"]}));
    let events = app.closed(other);
    assert_socket_lifecycle(&events);
    assert!(events.iter().any(|e| e.kind == EventKind::SocketError));
    assert_eq!(close_json(&events)["code"], 1006);
}

#[test]
fn close_codes_and_reasons_are_validated() {
    let app = TestApp::new(json!({}));
    let id = app.open_socket(json!({"url": ws_url("/ws/echo")}));
    let socket = wxnet::socket_of(id).expect("socket");
    for (code, reason) in [
        (999, ""),
        (1001, ""),
        (2999, ""),
        (5000, ""),
        (1000, &"x".repeat(124)[..]),
    ] {
        let err = wxnet::testing::validate_close(code, reason.as_bytes()).expect_err("invalid");
        assert_eq!(err.status, Status::InvalidArgument);
    }
    let (code, reason) = wxnet::testing::validate_close(4321, "custom".as_bytes()).expect("valid");
    socket.close(code, &reason).expect("close");
    socket.close(1000, "").expect("a second close is a no-op");
    let events = app.closed(id);
    assert_socket_lifecycle(&events);
    assert_eq!(close_json(&events), json!({"code": 4321, "reason": "custom"}));
}

#[test]
fn close_before_open_ends_the_attempt_with_one_close() {
    let app = TestApp::new(json!({}));
    let id = app.socket(json!({"url": ws_url("/hang")}));
    let socket = wxnet::socket_of(id).expect("socket");
    assert_eq!(
        socket.send(b"x", false).expect_err("connecting").status,
        Status::InvalidState
    );
    socket.close(1000, "never mind").expect("close");
    let events = app.closed(id);
    assert_socket_lifecycle(&events);
    assert!(!events.iter().any(|e| e.kind == EventKind::SocketOpen));
    assert_eq!(close_json(&events), json!({"code": 1000, "reason": "never mind"}));
}

#[test]
fn server_close_abrupt_drop_and_refused_upgrade() {
    let app = TestApp::new(json!({}));
    let id = app.open_socket(json!({"url": ws_url("/ws/server-close?code=4001&reason=bye&after_ms=50")}));
    let events = app.closed(id);
    assert_socket_lifecycle(&events);
    assert_eq!(close_json(&events), json!({"code": 4001, "reason": "bye"}));

    let id = app.open_socket(json!({"url": ws_url("/ws/drop?after_ms=50")}));
    let events = app.closed(id);
    assert_socket_lifecycle(&events);
    assert!(events.iter().any(|e| e.kind == EventKind::SocketError));
    assert_eq!(close_json(&events), json!({"code": 1006, "reason": "abnormal closure"}));

    let id = app.socket(json!({"url": ws_url("/ws/refuse?status=403")}));
    let events = app.closed(id);
    assert_socket_lifecycle(&events);
    let error = events.iter().find(|e| e.kind == EventKind::SocketError).expect("ERROR");
    assert!(
        error.json["errMsg"].as_str().expect("text").contains("403"),
        "{error:?}"
    );
    assert_eq!(close_json(&events)["code"], 1006);
}

#[test]
fn handshake_timeout_tls_and_dns_failures_end_with_1006() {
    let app = TestApp::new(json!({"networkTimeout": {"connectSocket": 300}}));
    let t = Instant::now();
    let id = app.socket(json!({"url": ws_url("/hang")}));
    let events = app.closed(id);
    assert!(t.elapsed() < scaled(Duration::from_secs(5)));
    assert_eq!(
        events
            .iter()
            .find(|e| e.kind == EventKind::SocketError)
            .expect("ERROR")
            .json["errMsg"],
        "timeout"
    );
    assert_eq!(close_json(&events)["code"], 1006);
    let no_ca = TestApp::new(json!({"caCertificates": []}));
    let id = no_ca.socket(json!({"url": ws_url("/ws/echo")}));
    let err = no_ca
        .closed(id)
        .into_iter()
        .find(|e| e.kind == EventKind::SocketError)
        .expect("ERROR");
    assert!(err.json["errMsg"].as_str().expect("text").contains("TLS"), "{err:?}");
    let unpinned = TestApp::new(json!({"domains": {"socket": ["wss://nowhere.invalid"]}}));
    let id = unpinned.socket(json!({"url": "wss://nowhere.invalid/x"}));
    let err = unpinned
        .closed(id)
        .into_iter()
        .find(|e| e.kind == EventKind::SocketError)
        .expect("ERROR");
    assert!(err.json["errMsg"].as_str().expect("text").contains("DNS"), "{err:?}");
}

#[test]
fn policy_and_option_failures_are_terminal_fails() {
    let app = TestApp::new(json!({}));
    let fail = |opts: serde_json::Value| last(app.wait_for(app.socket(opts), EventKind::Fail));
    assert_fail(
        &fail(json!({"url": "ws://ws.wxnet.test/ws/echo"})),
        600002,
        "connectSocket:fail url not in domain list",
    );
    assert_fail(
        &fail(json!({"url": "wss://other.wxnet.test/ws/echo"})),
        600002,
        "connectSocket:fail",
    );
    assert_fail(&fail(json!({"url": url("/ws/echo")})), 600009, "connectSocket:fail");
    assert_fail(
        &fail(json!({"url": ws_url("/ws/echo"), "protocols": "chat"})),
        1001,
        "connectSocket:fail parameter error",
    );
    assert_fail(
        &fail(json!({"url": ws_url("/ws/echo"), "header": {"X": "a\r\nb"}})),
        1001,
        "connectSocket:fail parameter error",
    );
    // wss on any port is allowed by policy (the port here is the pinned one).
    let ok = TestApp::new(json!({"resolve": {"ws.wxnet.test:8443": format!("127.0.0.1:{}", SERVER.https_port())}}));
    let id = ok.open_socket(json!({"url": "wss://ws.wxnet.test:8443/ws/echo"}));
    wxnet::task_abort(id).expect("abort");
    ok.closed(id);
    let plain = TestApp::new(json!({"urlCheck": false}));
    let id = plain
        .open_socket(json!({"url": format!("ws://127.0.0.1:{}/ws/echo", SERVER.http_port()), "tcpNoDelay": false}));
    wxnet::task_abort(id).expect("abort");
    plain.closed(id);
}

#[test]
fn a_peer_that_never_answers_the_close_is_cut_after_a_bounded_wait() {
    let app = TestApp::new(json!({}));
    let id = app.open_socket(json!({"url": ws_url("/ws/no-close-reply")}));
    let t = Instant::now();
    wxnet::socket_of(id).expect("socket").close(3001, "bye").expect("close");
    let events = app.closed(id);
    assert!(
        t.elapsed() < scaled(Duration::from_secs(10)),
        "bounded: {:?}",
        t.elapsed()
    );
    assert_eq!(close_json(&events), json!({"code": 3001, "reason": "bye"}));
}

#[test]
fn fragmented_messages_are_reassembled_and_pings_answered() {
    let app = TestApp::new(json!({}));
    let id = app.open_socket(json!({"url": ws_url("/ws/fragmented?parts=5")}));
    let events = app.wait_until(id, |e| !messages(e).is_empty());
    assert_eq!(
        messages(&events)[0].text(),
        "fragment-0|fragment-1|fragment-2|fragment-3|fragment-4"
    );
    let ping = app.open_socket(json!({"url": ws_url("/ws/ping")}));
    // The server pings every 100 ms and answers "pongs?" with how many
    // Pongs it got: ask until it has at least two.
    let mut asked = 0;
    wait_for_condition(
        "two pongs answered",
        Duration::from_secs(20),
        Duration::from_millis(50),
        || {
            send_text(ping, "pongs?");
            asked += 1;
            let events = app.wait_until(ping, |e| messages(e).len() >= asked);
            let pongs: u64 = messages(&events)[asked - 1].text().parse().expect("count");
            pongs >= 2
        },
    );
}

#[test]
fn pings_are_answered_while_the_host_sends_nothing() {
    let app = TestApp::new(json!({}));
    // The server pings every 100 ms; the host only listens.
    let id = app.open_socket(json!({"url": ws_url("/ws/ping?t=idle")}));
    wait_for_condition(
        "three pongs at the server",
        Duration::from_secs(20),
        Duration::from_millis(20),
        || SERVER.ws_counters("/ws/ping?t=idle").pongs >= 3,
    );
    wxnet::socket_of(id).expect("socket").close(1000, "").expect("close");
    assert_eq!(close_json(&app.closed(id))["code"], 1000);
}

#[test]
fn a_peer_that_pings_without_reading_is_slowed_down_not_buffered() {
    let app = TestApp::new(json!({}));
    // A million Pings (131 MB) with nothing read: a client that keeps reading while its
    // Pongs cannot be written would hold them all; ours stops reading, so the server's
    // writes stall (it then reads, as /ws/echo).
    let tag = "/ws/ping-flood?n=1000000&t=flood";
    let id = app.open_socket(json!({"url": ws_url(tag)}));
    wait_for_condition(
        "the flood stalled or ended",
        Duration::from_secs(120),
        Duration::from_millis(20),
        || {
            let c = SERVER.ws_counters(tag);
            c.floods_stalled + c.floods_done > 0
        },
    );
    let counters = SERVER.ws_counters(tag);
    assert_eq!(
        (counters.floods_stalled, counters.floods_done),
        (1, 0),
        "the client read on without writing its Pongs: {counters:?}"
    );
    assert!(counters.flood_pings < 1_000_000, "{counters:?}");
    // The socket still works: what the server could not read drains, and close ends it.
    wxnet::socket_of(id).expect("socket").close(1000, "").expect("close");
    let events = app.closed(id);
    assert_eq!(close_json(&events)["code"], 1000);
    assert!(
        SERVER.ws_counters(tag).pongs > 0,
        "the Pongs were written: {:?}",
        SERVER.ws_counters(tag)
    );
}

#[test]
fn a_peer_that_pings_instead_of_answering_the_close_is_cut_off() {
    let app = TestApp::new(json!({}));
    // After our Close the server never answers it and writes a million Pings instead. Their
    // Pongs are not sent any more: past 64 of them the connection is cut, long before the
    // 3 s the closing handshake may otherwise take (a client reading on for those 3 s takes
    // hundreds of thousands of them here).
    let tag = "/ws/ping-after-close?n=1000000&t=closing";
    let id = app.open_socket(json!({"url": ws_url(tag)}));
    wxnet::socket_of(id).expect("socket").close(1000, "").expect("close");
    assert_eq!(close_json(&app.closed(id))["code"], 1000);
    wait_for_condition(
        "the server's Pings ended",
        Duration::from_secs(60),
        Duration::from_millis(20),
        || {
            let c = SERVER.ws_counters(tag);
            c.floods_cut + c.floods_stalled + c.floods_done > 0
        },
    );
    let counters = SERVER.ws_counters(tag);
    assert_eq!(counters.floods_cut, 1, "{counters:?}");
    // What the socket buffers hold (about 80,000 Pings on Linux's loopback) plus the 64.
    assert!(counters.pings_after_close < 200_000, "{counters:?}");
}

#[test]
fn an_oversized_message_closes_with_1009() {
    let app = TestApp::new(json!({}));
    let size = wxnet::testing::DEFAULT_MAX_SOCKET_MESSAGE_BYTES + 1;
    let id = app.open_socket(json!({"url": ws_url(&format!("/ws/big?size={size}"))}));
    let events = app.closed(id);
    assert_socket_lifecycle(&events);
    assert!(events.iter().any(|e| e.kind == EventKind::SocketError));
    assert_eq!(close_json(&events)["code"], 1009);
    assert!(messages(&events).is_empty());
}

#[test]
fn background_closes_sockets_with_interrupted_and_refuses_new_ones() {
    let app = TestApp::new(json!({"backgroundGraceMs": 200}));
    let id = app.open_socket(json!({"url": ws_url("/ws/echo")}));
    app.app.set_background(true);
    let refused = app.socket(json!({"url": ws_url("/ws/echo")}));
    assert_fail(
        &last(app.wait_for(refused, EventKind::Fail)),
        600003,
        "connectSocket:fail interrupted",
    );
    let events = app.closed(id);
    assert_eq!(close_json(&events), json!({"code": 1000, "reason": "interrupted"}));
    app.app.set_background(false);
    let again = app.open_socket(json!({"url": ws_url("/ws/echo")}));
    wxnet::task_abort(again).expect("abort");
    app.closed(again);
}

#[test]
fn app_free_closes_every_socket_with_one_close_each() {
    let app = TestApp::new(json!({}));
    let open = app.open_socket(json!({"url": ws_url("/ws/echo")}));
    let connecting = app.socket(json!({"url": ws_url("/hang")}));
    app.app.close().expect("free");
    for id in [open, connecting] {
        let events = app.events.snapshot(id);
        assert_socket_lifecycle(&events);
    }
    assert_eq!(wxnet::socket_of(open).err().expect("freed").status, Status::UnknownTask);
}

#[test]
fn the_message_limit_is_configurable_and_closes_with_1009_above_it() {
    let app = TestApp::new(json!({"maxSocketMessageBytes": 65536}));
    let fits = app.open_socket(json!({"url": ws_url("/ws/big?size=65536")}));
    let events = app.wait_until(fits, |e| !messages(e).is_empty());
    assert_eq!(messages(&events)[0].data.len(), 65536);
    wxnet::task_abort(fits).expect("abort");
    let over = app.open_socket(json!({"url": ws_url("/ws/big?size=65537")}));
    let events = app.closed(over);
    assert_socket_lifecycle(&events);
    assert!(events.iter().any(|e| e.kind == EventKind::SocketError));
    assert_eq!(close_json(&events)["code"], 1009);
    assert!(messages(&events).is_empty());
    // A host message over the limit is the peer's business: it goes out.
    let echo = app.open_socket(json!({"url": ws_url("/ws/echo")}));
    send_text(echo, "small");
    app.wait_until(echo, |e| !messages(e).is_empty());
    wxnet::task_abort(echo).expect("abort");
    app.closed(echo);
}

/// 16 MiB messages to a server that never reads, until one is refused (the send queue
/// holds 16 MiB at most) or 6 went: the first one alone is more than the buffers take, so
/// the send is stuck.
fn stuck_socket(app: &TestApp) -> u64 {
    let id = app.open_socket(json!({"url": ws_url("/ws/deaf")}));
    let socket = wxnet::socket_of(id).expect("socket");
    let block = vec![7u8; 16 * 1024 * 1024];
    socket
        .send(&block, true)
        .expect("the first send goes to an empty queue");
    for _ in 1..6 {
        if socket.send(&block, true).is_err() {
            break;
        }
    }
    id
}

#[test]
fn sends_to_a_peer_that_does_not_read_are_refused_once_the_send_queue_is_full() {
    // 64 KiB messages against a 1 MiB queue: once the socket's buffers and the WebSocket's
    // own are full, the queue fills and a send is refused (before, the queue took every
    // message: 256 MiB here).
    let app = TestApp::new(json!({"maxSocketSendQueueBytes": 1024 * 1024}));
    let id = app.open_socket(json!({"url": ws_url("/ws/deaf")}));
    let socket = wxnet::socket_of(id).expect("socket");
    let block = vec![7u8; 64 * 1024];
    let refused = (0..4096)
        .find_map(|i| socket.send(&block, true).err().map(|e| (i, e)))
        .expect("a send is refused before 256 MiB are queued");
    let (accepted, err) = refused;
    assert_eq!(err.status, Status::InvalidState);
    assert!(
        err.detail.starts_with("the socket's send queue is full: ")
            && err
                .detail
                .ends_with(" bytes wait for the network (maxSocketSendQueueBytes 1048576)"),
        "{}",
        err.detail
    );
    // What was accepted fits the queue plus what the kernel and the WebSocket took
    // (loopback buffers are a few MiB at most).
    assert!(accepted * block.len() < 64 * 1024 * 1024, "{accepted} sends accepted");
    // A close still ends the socket, within its limit.
    socket.close(1000, "").expect("close");
    let events = app.closed(id);
    assert_socket_lifecycle(&events);
    // A message larger than the whole queue goes alone on an empty queue.
    let echo = app.open_socket(json!({"url": ws_url("/ws/echo")}));
    let big = vec![1u8; 2 * 1024 * 1024];
    wxnet::socket_of(echo).expect("socket").send(&big, true).expect("alone");
    app.wait_until(echo, |e| !messages(e).is_empty());
    wxnet::task_abort(echo).expect("abort");
    app.closed(echo);
}

#[test]
fn close_and_abort_end_a_socket_whose_send_is_stuck() {
    let app = TestApp::new(json!({}));
    // close, then abort: the abort ends it at once.
    let first = stuck_socket(&app);
    let socket = wxnet::socket_of(first).expect("socket");
    socket.close(1000, "").expect("close");
    wxnet::task_abort(first).expect("abort");
    let events = app.closed(first);
    assert_socket_lifecycle(&events);
    assert_eq!(close_json(&events)["code"], 1000);
    // close alone: the closing handshake has its own time limit.
    let second = stuck_socket(&app);
    wxnet::socket_of(second)
        .expect("socket")
        .close(3005, "bye")
        .expect("close");
    let events = app.closed(second);
    assert_socket_lifecycle(&events);
    assert_eq!(close_json(&events), json!({"code": 3005, "reason": "bye"}));
    // abort alone.
    let third = stuck_socket(&app);
    wxnet::task_abort(third).expect("abort");
    assert_socket_lifecycle(&app.closed(third));
    // None of them counts against maxSockets any more: 5 new ones open.
    let fresh: Vec<u64> = (0..5)
        .map(|_| app.open_socket(json!({"url": ws_url("/ws/echo")})))
        .collect();
    for id in fresh {
        wxnet::task_abort(id).expect("abort");
        app.closed(id);
    }
}

/// Every event an app delivered: task, kind, JSON.
type Seen = std::sync::Arc<std::sync::Mutex<Vec<(u64, EventKind, String)>>>;

/// An app whose callback runs `on_event` (on the dispatcher thread) and
/// collects every event too.
fn app_with_hook(
    extra: serde_json::Value,
    on_event: impl Fn(&std::sync::Arc<wxnet::App>, &wxnet::Event) + Send + 'static,
) -> (std::sync::Arc<wxnet::App>, Seen) {
    use std::sync::{Arc, Mutex, OnceLock};
    let me: Arc<OnceLock<std::sync::Weak<wxnet::App>>> = Arc::new(OnceLock::new());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (hook_me, hook_seen) = (me.clone(), seen.clone());
    let cfg = config(extra).to_string();
    let app = Arc::new(
        wxnet::App::new(
            cfg.as_bytes(),
            wxnet::Mode::Callback(Box::new(move |ev: &wxnet::Event| {
                hook_seen
                    .lock()
                    .expect("lock")
                    .push((ev.task, ev.kind, ev.json().to_owned()));
                if let Some(app) = hook_me.get().and_then(std::sync::Weak::upgrade) {
                    on_event(&app, ev);
                }
            })),
        )
        .expect("valid config"),
    );
    me.set(Arc::downgrade(&app)).expect("set once");
    (app, seen)
}

fn wait_counter(what: &str, done: impl FnMut() -> bool) {
    wait_for_condition(what, Duration::from_secs(60), Duration::from_millis(2), done);
}

/// The Rust API's side of the race; examples-c/socket_races.c is its sharp form (the
/// callbacks' thread favoured by the scheduler), which failed on tree 9322a95 every run.
#[test]
fn close_from_inside_the_connect_ok_callback_always_works() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const N: usize = 3000;
    let refused = Arc::new(AtomicUsize::new(0));
    let closes = Arc::new(AtomicUsize::new(0));
    let (r, c) = (refused.clone(), closes.clone());
    let (app, _seen) = app_with_hook(json!({}), move |_app, ev| match ev.kind {
        EventKind::Success if wxnet::socket_of(ev.task).and_then(|s| s.close(1000, "")).is_err() => {
            r.fetch_add(1, Ordering::SeqCst);
        }
        EventKind::SocketClose => {
            c.fetch_add(1, Ordering::SeqCst);
        }
        _ => {}
    });
    for i in 0..N {
        // At most 5 at a time (maxSockets): wait for the oldest to end.
        wait_counter("CLOSE events", || closes.load(Ordering::SeqCst) + 5 > i);
        app.connect_socket(
            json!({"url": ws_url("/ws/echo")}).to_string().as_bytes(),
            wxnet::UserData(i),
        )
        .expect("connectSocket starts");
    }
    wait_counter("every CLOSE", || closes.load(Ordering::SeqCst) == N);
    assert_eq!(refused.load(Ordering::SeqCst), 0, "closes refused out of {N}");
    app.close().expect("free");
}

/// As above: examples-c/socket_races.c runs the same pattern with the callbacks' thread
/// favoured by the scheduler, where tree 9322a95 refused a reconnect.
#[test]
fn reconnecting_from_on_close_with_five_open_gets_a_slot() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    const ROUNDS: usize = 200;
    let rounds = Arc::new(AtomicUsize::new(0));
    let r = rounds.clone();
    let (app, seen) = app_with_hook(json!({}), move |app, ev| match ev.kind {
        // Each socket closes itself once open.
        EventKind::SocketOpen if ev.user_data.0 == 99 => {
            let _ = wxnet::socket_of(ev.task).and_then(|s| s.close(1000, ""));
        }
        EventKind::SocketClose if ev.user_data.0 == 99 && r.fetch_add(1, Ordering::SeqCst) + 1 < ROUNDS => {
            app.connect_socket(
                json!({"url": ws_url("/ws/echo")}).to_string().as_bytes(),
                wxnet::UserData(99),
            )
            .expect("connectSocket from onClose");
        }
        _ => {}
    });
    let others: Vec<u64> = (0..4)
        .map(|i| {
            app.connect_socket(
                json!({"url": ws_url("/ws/echo")}).to_string().as_bytes(),
                wxnet::UserData(i),
            )
            .expect("start")
        })
        .collect();
    app.connect_socket(
        json!({"url": ws_url("/ws/echo")}).to_string().as_bytes(),
        wxnet::UserData(99),
    )
    .expect("start");
    wait_counter("every round", || {
        rounds.load(Ordering::SeqCst) >= ROUNDS
            || seen
                .lock()
                .expect("lock")
                .iter()
                .any(|(_, kind, _)| *kind == EventKind::Fail)
    });
    let fails: Vec<String> = seen
        .lock()
        .expect("lock")
        .iter()
        .filter(|(_, kind, _)| *kind == EventKind::Fail)
        .map(|(_, _, json)| json.clone())
        .collect();
    assert!(fails.is_empty(), "reconnects refused: {fails:?}");
    for id in others {
        wxnet::task_abort(id).expect("abort");
    }
    app.close().expect("free");
}
