//! The one library-owned tokio runtime that runs all network work of every
//! app. Started on first use; host code never runs on its workers.

use std::sync::LazyLock;

/// Worker threads: 2 is plenty on a phone; network work is I/O bound.
/// `WXNET_WORKER_THREADS` (1-16), read once at start, overrides it for
/// measurements.
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
