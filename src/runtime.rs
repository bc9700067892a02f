//! The one library-owned tokio runtime that runs all network work of every
//! app. Started on first use; host code never runs on its workers.

use std::sync::LazyLock;

/// Worker threads: 2 is plenty on a phone; network work is I/O bound.
const WORKER_THREADS: usize = 2;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(WORKER_THREADS)
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
