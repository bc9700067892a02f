//! The one library-owned tokio runtime that runs all network work of every
//! app. Started on first use; host code never runs on its workers.

use std::sync::LazyLock;

/// Worker threads: 1. Measured against 2 (BENCHMARKS.md "One tokio worker
/// or two, again"): since events go into the app's queue straight from the
/// worker, one worker is faster and cheaper in every HTTP scenario against
/// nginx (6-30% more requests per second, 13-31% less CPU per request) and
/// answers WebSocket messages sooner. A second worker mostly woke up to steal
/// a freshly spawned task and parked again. Blocking work (file I/O, name
/// lookups, converting large bodies) runs on tokio's blocking pool, not here;
/// a platform certificate check that may wait runs through
/// [`run_blocking_here`].
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

/// Runs `f`, which may block for a long time (a call into the platform that
/// can wait on the network), on the current thread. On a worker of a
/// multi-thread runtime (ours) tokio first hands the worker's other tasks to
/// a new thread, so one slow call does not stall every other transfer: with
/// a single worker it otherwise would. Anywhere else (a host thread, a test's
/// current-thread runtime, where `block_in_place` would panic) it just runs
/// `f`.
pub(crate) fn run_blocking_here<R>(f: impl FnOnce() -> R) -> R {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Milliseconds since the Unix epoch, with microsecond precision, as the
/// `profile` timestamps are given.
pub fn now_ms() -> f64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (d.as_micros() as f64) / 1000.0
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_blocking_call_on_the_only_worker_leaves_the_other_tasks_running() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("runtime");
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let (entered_tx, entered_rx) = mpsc::channel::<()>();
        let (ran_tx, ran_rx) = mpsc::channel::<()>();
        // Blocks its thread until the other task has run, which it can only
        // do if the single worker's core moved to another thread.
        let blocked = rt.spawn(async move {
            run_blocking_here(|| {
                entered_tx.send(()).expect("test alive");
                release_rx.recv_timeout(Duration::from_secs(10)).is_ok()
            })
        });
        entered_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the first task started its blocking call");
        // Spawned only now, while the first task blocks.
        let other = rt.spawn(async move {
            ran_tx.send(()).expect("test alive");
        });
        ran_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the other task ran while the first one blocked");
        release_tx.send(()).expect("blocked task alive");
        assert!(rt.block_on(blocked).expect("joins"), "released, not timed out");
        rt.block_on(other).expect("joins");
    }

    #[test]
    fn outside_a_worker_it_just_runs_the_call() {
        assert_eq!(run_blocking_here(|| 7), 7);
        let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
        assert_eq!(rt.block_on(async { run_blocking_here(|| 8) }), 8);
    }
}
