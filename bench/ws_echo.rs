//! WebSocket echo throughput, uncompressed: wxnet's socket client (the Rust
//! API the C ABI wraps: callback mode, one app) against a bare tokio-tungstenite
//! client, both against the in-process test server's plain `ws://` `/ws/echo`,
//! one connection each, one binary message in flight (send, wait for the echo,
//! send the next).
//!
//!   cargo run --release --example ws_echo -- [--rounds N] [--quick]
//!
//! Each round runs every size with both clients, alternating which goes first;
//! prints `RESULT size client msgs_per_s` lines, then per size the median of the
//! per-round ratios wxnet / tungstenite (machine load cancels out of a ratio
//! better than out of raw numbers). Issue 13's bar: at least 0.95.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use wxnet::{App, EventKind, Mode, UserData};
use wxnet_testserver::TestServer;

const SIZES: &[(usize, usize)] = &[(32, 5000), (64 * 1024, 1000)];

fn main() {
    let mut rounds = 7;
    let mut scale = 1;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--rounds" => rounds = args.next().and_then(|n| n.parse().ok()).expect("--rounds N"),
            "--quick" => {
                rounds = 2;
                scale = 10;
            }
            other => panic!("unknown argument {other}"),
        }
    }
    let server = TestServer::start();
    let url = format!("ws://127.0.0.1:{}/ws/echo", server.http_port());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); SIZES.len()];
    for round in 0..rounds {
        for (i, &(size, count)) in SIZES.iter().enumerate() {
            let count = count / scale;
            let payload = vec![0xA5u8; size];
            let run = |which: &str| {
                let elapsed = match which {
                    "wxnet" => wxnet_echo(&url, &payload, count),
                    _ => runtime.block_on(tungstenite_echo(&url, &payload, count)),
                };
                let rate = count as f64 / elapsed.as_secs_f64();
                println!("RESULT {size} {which} {rate:.0}");
                rate
            };
            let (w, t) = if round % 2 == 0 {
                let w = run("wxnet");
                (w, run("tungstenite"))
            } else {
                let t = run("tungstenite");
                (run("wxnet"), t)
            };
            ratios[i].push(w / t);
        }
    }
    for (i, &(size, _)) in SIZES.iter().enumerate() {
        let r = &mut ratios[i];
        r.sort_by(f64::total_cmp);
        println!(
            "size {size:>6} B: wxnet / tungstenite median {:.3} (min {:.3}, max {:.3}, {} rounds)",
            r[r.len() / 2],
            r[0],
            r[r.len() - 1],
            r.len()
        );
    }
}

/// `count` round trips over one wxnet socket; the time from the first send to the last echo.
fn wxnet_echo(url: &str, payload: &[u8], count: usize) -> Duration {
    let (tx, rx) = mpsc::sync_channel::<(EventKind, usize)>(64);
    let config = json!({"appId": "wxbench", "urlCheck": false});
    let app = App::new(
        config.to_string().as_bytes(),
        Mode::Callback(Box::new(move |event| {
            let _ = tx.send((event.kind, event.data.as_ref().map_or(0, |d| d.len())));
        })),
    )
    .expect("config");
    let id = app
        .connect_socket(json!({"url": url}).to_string().as_bytes(), UserData(1))
        .expect("connectSocket");
    let next = |want: EventKind| loop {
        let (kind, len) = rx.recv_timeout(Duration::from_secs(30)).expect("an event in time");
        if kind == want {
            return len;
        }
        assert!(
            !matches!(kind, EventKind::SocketClose | EventKind::Fail | EventKind::SocketError),
            "socket ended: {kind:?}"
        );
    };
    next(EventKind::SocketOpen);
    let start = Instant::now();
    for _ in 0..count {
        wxnet::socket_send(id, payload, true).expect("send");
        assert_eq!(next(EventKind::SocketMessage), payload.len());
    }
    let elapsed = start.elapsed();
    wxnet::socket_close(id, 1000, b"").expect("close");
    next(EventKind::SocketClose);
    elapsed
}

/// The same with a bare tokio-tungstenite client (TCP_NODELAY like wxnet's default).
async fn tungstenite_echo(url: &str, payload: &[u8], count: usize) -> Duration {
    let authority = url.trim_start_matches("ws://").split('/').next().expect("authority");
    let tcp = tokio::net::TcpStream::connect(authority).await.expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let (mut ws, _) = tokio_tungstenite::client_async(url, tcp).await.expect("handshake");
    let payload = bytes::Bytes::copy_from_slice(payload);
    let start = Instant::now();
    for _ in 0..count {
        ws.send(Message::Binary(payload.clone())).await.expect("send");
        loop {
            match ws.next().await.expect("open").expect("message") {
                Message::Binary(echo) => {
                    assert_eq!(echo.len(), payload.len());
                    break;
                }
                Message::Close(_) => panic!("closed"),
                _ => {}
            }
        }
    }
    let elapsed = start.elapsed();
    ws.close(None).await.expect("close");
    elapsed
}
