//! The bridge from the `log` facade to the host's log callback.
//!
//! What reaches the callback:
//!
//! - wxnet's own records (target `wxnet…`), at every level up to the
//!   host's `max_level`. Their call sites log hosts, ids, counts and errno
//!   only: never URLs with queries, header values, bodies or socket messages.
//! - Records of the libraries below (see [`THIRD_PARTY`]) only at `warn` and
//!   `error`, which are their protocol-failure reports (TLS alerts, refused
//!   frames). Their `debug` and `trace` records are dropped: they print what
//!   goes over the wire (header dumps, TLS handshake details, frame
//!   traces).
//! - Nothing from any other crate.
//!
//! The callback may call [`set_sink`] (the C `wxnet_set_log_callback`)
//! itself: no lock is held while it runs. Records made on a thread while
//! that thread is inside the callback are dropped (a callback that makes
//! wxnet log would otherwise recurse without end).

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once};

/// The host's sink: (level 1 error .. 5 trace, message).
pub type LogSink = Box<dyn Fn(i32, &str) + Send + Sync>;

/// Dependencies whose `warn`/`error` records are passed on (by crate name,
/// the first `::` segment of the record's target).
pub const THIRD_PARTY: &[&str] = &[
    "rustls",
    "tokio_rustls",
    "hyper",
    "hyper_util",
    "h2",
    "h3",
    "h3_quinn",
    "quinn",
    "quinn_proto",
    "quinn_udp",
    "yawc",
];

/// Whether a record of `target` at `level` may reach the host at all
/// (before the host's own `max_level`).
pub fn passes_filter(target: &str, level: log::Level) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    if krate == "wxnet" {
        return true;
    }
    level <= log::Level::Warn && THIRD_PARTY.contains(&krate)
}

/// A registered sink and who is inside it right now. The counters are
/// atomics only to be `Sync`: they are read and written with `STATE` held.
struct Installed {
    call: LogSink,
    /// Calls of this sink in progress.
    running: AtomicUsize,
    /// Of those, the ones blocked in [`set_sink`].
    parked: AtomicUsize,
}

/// The current sink; its lock also guards every sink's counters.
static STATE: Mutex<Option<Arc<Installed>>> = Mutex::new(None);
/// Signalled whenever a call ends or a caller parks.
static CHANGED: Condvar = Condvar::new();
static INSTALL: Once = Once::new();

thread_local! {
    /// The sink this thread is calling right now, if any.
    static INSIDE: RefCell<Option<Arc<Installed>>> = const { RefCell::new(None) };
}

fn state() -> MutexGuard<'static, Option<Arc<Installed>>> {
    STATE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

struct Bridge;

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level() && passes_filter(metadata.target(), metadata.level())
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // A record made from inside the callback (or while the thread is
        // being torn down) is dropped.
        let nested = INSIDE.try_with(|inside| inside.borrow().is_some()).unwrap_or(true);
        if nested {
            return;
        }
        let sink = {
            let current = state();
            let Some(sink) = current.as_ref() else {
                return;
            };
            sink.running.fetch_add(1, Ordering::Relaxed);
            sink.clone()
        };
        let _leave = Leave(sink.clone());
        INSIDE.with(|inside| *inside.borrow_mut() = Some(sink.clone()));
        let msg = format!("{}: {}", record.target(), record.args());
        // No lock is held here: the callback may log or replace the sink.
        (sink.call)(record.level() as i32, &msg);
    }

    fn flush(&self) {}
}

/// Ends one call: clears the thread's marker, counts the call as finished
/// and wakes a waiting [`set_sink`]. Runs even if the callback panics.
struct Leave(Arc<Installed>);

impl Drop for Leave {
    fn drop(&mut self) {
        let _ = INSIDE.try_with(|inside| inside.borrow_mut().take());
        let _current = state();
        self.0.running.fetch_sub(1, Ordering::Relaxed);
        CHANGED.notify_all();
    }
}

static BRIDGE: Bridge = Bridge;

/// Sets (or with `None` removes) the sink and the most verbose level passed
/// on (1 error .. 5 trace; other values clamp).
///
/// When it returns, the old sink is no longer running on any thread and is
/// never called again, with one exception that avoids deadlocks: calls that
/// are themselves inside `set_sink` (a callback replacing the sink) may
/// still be on their way back out, the caller's own one included.
pub fn set_sink(sink: Option<LogSink>, max_level: i32) {
    INSTALL.call_once(|| {
        // If the embedding program installed its own `log` logger first, that
        // one keeps receiving our records; the host callback then stays unused.
        let _ = log::set_logger(&BRIDGE);
    });
    let level = match (sink.is_some(), max_level) {
        (false, _) | (true, i32::MIN..=0) => log::LevelFilter::Off,
        (true, 1) => log::LevelFilter::Error,
        (true, 2) => log::LevelFilter::Warn,
        (true, 3) => log::LevelFilter::Info,
        (true, 4) => log::LevelFilter::Debug,
        (true, _) => log::LevelFilter::Trace,
    };
    let new = sink.map(|call| {
        Arc::new(Installed {
            call,
            running: AtomicUsize::new(0),
            parked: AtomicUsize::new(0),
        })
    });
    let mut current = state();
    let old = std::mem::replace(&mut *current, new);
    log::set_max_level(level);
    let Some(old) = old else {
        return;
    };
    // Park on the sink this thread is inside (if any), so that a set_sink on
    // another thread does not wait for this call, then wait for the calls of
    // the old sink that are not parked.
    let mine = INSIDE.try_with(|inside| inside.borrow().clone()).ok().flatten();
    if let Some(mine) = &mine {
        mine.parked.fetch_add(1, Ordering::Relaxed);
        CHANGED.notify_all();
    }
    loop {
        if old.running.load(Ordering::Relaxed) <= old.parked.load(Ordering::Relaxed) {
            break;
        }
        current = CHANGED.wait(current).unwrap_or_else(|poisoned| poisoned.into_inner());
    }
    if let Some(mine) = &mine {
        mine.parked.fetch_sub(1, Ordering::Relaxed);
    }
    drop(current);
    // The old closure (and what it owns) is dropped here or by the last call
    // still on its way out, never under the lock.
    drop(old);
}
