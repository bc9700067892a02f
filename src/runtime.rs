//! The one library-owned tokio runtime that runs all network work of every
//! app. Started on first use; host code never runs on its workers.

use std::sync::LazyLock;

/// Worker threads: 2. Measured against 1 (BENCHMARKS.md "One tokio worker
/// or two"): one worker costs less CPU per small request and makes half the
/// context switches of a sequential request, but answers a WebSocket message
/// later (echo 0.64-0.75x a bare tokio-tungstenite client against 0.86-0.89x
/// with two) and is slower at 100 requests in flight; so 2 stays the default.
/// `WXNET_WORKER_THREADS` (1-16), read once at start, overrides it.
const DEFAULT_WORKER_THREADS: usize = 2;

fn worker_threads() -> usize {
    std::env::var("WXNET_WORKER_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| (1..=16).contains(n))
        .unwrap_or(DEFAULT_WORKER_THREADS)
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .thread_name("wxnet-worker")
        .enable_all()
        .build()
        .expect("the OS refused to start the wxnet worker threads")
});

/// The shared runtime's handle.
pub fn handle() -> &'static tokio::runtime::Handle {
    RUNTIME.handle()
}

/// Milliseconds since the Unix epoch, with microsecond precision, as the
/// `profile` timestamps are given.
pub fn now_ms() -> f64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_micros() as f64) / 1000.0
}
