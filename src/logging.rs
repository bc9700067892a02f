//! The bridge from the `log` facade to the host's log callback. Messages never
//! carry URLs with queries, header values or bodies: call sites log hosts,
//! ids, counts and errno only.

use std::sync::{Once, RwLock};

/// The host's sink: (level 1 error .. 5 trace, message).
pub type LogSink = Box<dyn Fn(i32, &str) + Send + Sync>;

static SINK: RwLock<Option<LogSink>> = RwLock::new(None);
static INSTALL: Once = Once::new();

struct Bridge;

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let sink = SINK.read().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(sink) = sink.as_ref() {
            let msg = format!("{}: {}", record.target(), record.args());
            sink(record.level() as i32, &msg);
        }
    }

    fn flush(&self) {}
}

static BRIDGE: Bridge = Bridge;

/// Sets (or with `None` removes) the sink and the most verbose level passed
/// on (1 error .. 5 trace; other values clamp).
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
    *SINK.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = sink;
    log::set_max_level(level);
}
