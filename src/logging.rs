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
//! The callback runs on one thread of its own (`wxnet-log`), never on a
//! network worker or a dispatcher: records wait for it in a queue of at most
//! [`MAX_QUEUED_RECORDS`], so a callback that is slow or blocks costs the
//! threads that log nothing but the records that do not fit (they are
//! dropped and counted, and a warning says how many). The callback may call
//! [`set_sink`] (the C `wxnet_set_log_callback`) itself: no lock is held
//! while it runs. Records made while it runs, on its thread, are dropped (a
//! callback that makes wxnet log would otherwise feed itself without end).

use std::cell::Cell;
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};

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

/// Records waiting for the log thread; one more is dropped (and counted).
pub const MAX_QUEUED_RECORDS: usize = 1024;
/// A record's text is cut to this many bytes (at a character boundary).
const MAX_RECORD_BYTES: usize = 4096;

type Sink = Arc<LogSink>;

struct Queue {
    records: VecDeque<(i32, String)>,
    /// Records dropped since the last warning about it.
    dropped: u64,
    sink: Option<Sink>,
    /// The sink the log thread is calling right now.
    delivering: Option<Sink>,
    /// The log thread runs (started by the first sink).
    started: bool,
}

static QUEUE: Mutex<Queue> = Mutex::new(Queue {
    records: VecDeque::new(),
    dropped: 0,
    sink: None,
    delivering: None,
    started: false,
});
/// Signalled when a record is queued or the sink changes.
static READY: Condvar = Condvar::new();
/// Signalled when a call of the sink ends.
static DELIVERED: Condvar = Condvar::new();
static INSTALL: std::sync::Once = std::sync::Once::new();

thread_local! {
    /// Set on the log thread.
    static ON_LOG_THREAD: Cell<bool> = const { Cell::new(false) };
}

fn queue() -> MutexGuard<'static, Queue> {
    QUEUE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn on_log_thread() -> bool {
    ON_LOG_THREAD.try_with(Cell::get).unwrap_or(false)
}

struct Bridge;

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level() && passes_filter(metadata.target(), metadata.level())
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) || on_log_thread() {
            return;
        }
        let mut text = format!("{}: {}", record.target(), record.args());
        if text.len() > MAX_RECORD_BYTES {
            let mut cut = MAX_RECORD_BYTES;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        let mut q = queue();
        if q.sink.is_none() {
            return;
        }
        if q.records.len() >= MAX_QUEUED_RECORDS {
            q.dropped += 1;
            return;
        }
        q.records.push_back((record.level() as i32, text));
        drop(q);
        READY.notify_one();
    }

    fn flush(&self) {}
}

static BRIDGE: Bridge = Bridge;

/// The log thread: hands each queued record to the sink of the moment.
fn deliver() {
    let _ = ON_LOG_THREAD.try_with(|on| on.set(true));
    let mut q = queue();
    loop {
        while q.records.is_empty() && q.dropped == 0 {
            q = READY.wait(q).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        let Some(sink) = q.sink.clone() else {
            q.records.clear();
            q.dropped = 0;
            continue;
        };
        let (level, text) = if q.dropped > 0 && log::max_level() >= log::LevelFilter::Warn {
            let dropped = std::mem::take(&mut q.dropped);
            let text = format!("wxnet::logging: {dropped} log records dropped: the log callback fell behind");
            (log::Level::Warn as i32, text)
        } else {
            q.dropped = 0;
            match q.records.pop_front() {
                Some(record) => record,
                None => continue,
            }
        };
        q.delivering = Some(sink.clone());
        drop(q);
        // A panic in a Rust sink must not end the thread (C callbacks cannot unwind).
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| sink(level, &text)));
        drop(sink);
        q = queue();
        q.delivering = None;
        DELIVERED.notify_all();
    }
}

/// Sets (or with `None` removes) the sink and the most verbose level passed
/// on (1 error .. 5 trace; other values clamp). Records still queued go to
/// the new sink (or are dropped with the old one).
///
/// When it returns, the old sink is no longer running and is never called
/// again, except when it is called from inside the old sink itself (which
/// then returns after it). `Err` when the log thread cannot be started.
pub fn set_sink(sink: Option<LogSink>, max_level: i32) -> std::io::Result<()> {
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
    let mut q = queue();
    if sink.is_some() && !q.started {
        std::thread::Builder::new().name("wxnet-log".into()).spawn(deliver)?;
        q.started = true;
    }
    let old = std::mem::replace(&mut q.sink, sink.map(Arc::new));
    log::set_max_level(level);
    if q.sink.is_none() {
        q.records.clear();
        q.dropped = 0;
    }
    READY.notify_one();
    if !on_log_thread() {
        while let (Some(running), Some(old)) = (&q.delivering, &old) {
            if !Arc::ptr_eq(running, old) {
                break;
            }
            q = DELIVERED.wait(q).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }
    drop(q);
    // The old closure (and what it owns) is dropped here, never under the
    // lock, or by the log thread after the call it is making from inside it.
    drop(old);
    Ok(())
}
