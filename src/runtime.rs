//! The one library-owned tokio runtime that runs all network work of every
//! app. Started on first use; host code never runs on its workers.

use std::sync::LazyLock;

/// Worker threads: 1. Measured against 2 (BENCHMARKS.md "One tokio worker
/// or two, again"): since events go into the app's queue straight from the
/// worker, one worker is faster and cheaper in every HTTP scenario against
/// nginx (6-30% more requests per second, 13-31% less CPU per request) and
/// answers WebSocket messages sooner. A second worker mostly woke up to steal
/// a freshly spawned task and parked again. Blocking work (file I/O, name
/// lookups, converting large bodies) runs on tokio's blocking pool, not here.
/// `WXNET_WORKER_THREADS` (1-16), read once at start, overrides it.
const DEFAULT_WORKER_THREADS: usize = 1;

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
