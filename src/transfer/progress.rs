//! Progress events, throttled as the ABI says: at most one per 1% step or
//! per 50 ms, whichever is rarer, plus exactly one at 100%.

use std::time::{Duration, Instant};

const MIN_INTERVAL: Duration = Duration::from_millis(50);

/// Decides when a progress event is due.
#[derive(Debug)]
pub struct Throttle {
    total: Option<u64>,
    last_pct: Option<u64>,
    last_at: Option<Instant>,
}

impl Throttle {
    /// `total`: the expected byte count, if known (and > 0).
    pub fn new(total: Option<u64>) -> Self {
        Throttle {
            total: total.filter(|t| *t > 0),
            last_pct: None,
            last_at: None,
        }
    }

    pub fn total(&self) -> u64 {
        self.total.unwrap_or(0)
    }

    /// The percentage for `done` bytes (0 while the total is unknown; capped
    /// at 99 before the end so that 100 is said exactly once, by `finish`).
    fn pct(&self, done: u64) -> u64 {
        match self.total {
            Some(t) => (done.saturating_mul(100) / t).min(99),
            None => 0,
        }
    }

    /// `Some(progress)` when an event is due for `done` bytes.
    pub fn update(&mut self, done: u64) -> Option<u64> {
        let pct = self.pct(done);
        let now = Instant::now();
        let due = match (self.last_pct, self.last_at) {
            (None, _) | (_, None) => true,
            (Some(last), Some(at)) => {
                let stepped = self.total.is_none() || pct > last;
                stepped && now.duration_since(at) >= MIN_INTERVAL
            }
        };
        if due {
            self.last_pct = Some(pct);
            self.last_at = Some(now);
            Some(pct)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_and_never_100_before_the_end() {
        let mut t = Throttle::new(Some(1000));
        assert_eq!(t.update(1), Some(0));
        assert_eq!(t.update(500), None, "within 50 ms");
        std::thread::sleep(MIN_INTERVAL);
        assert_eq!(t.update(1000), Some(99));
        std::thread::sleep(MIN_INTERVAL);
        assert_eq!(t.update(1000), None, "no new 1% step");
        let mut unknown = Throttle::new(None);
        assert_eq!(unknown.update(10), Some(0));
        assert_eq!(unknown.total(), 0);
        assert_eq!(Throttle::new(Some(0)).pct(5), 0, "no division by zero");
    }
}
