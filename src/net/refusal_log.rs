//! Rate-limited warnings for refused connections: a flood of refusals (600 connections that
//! never finish the handshake, a peer redialing with the wrong key) logs one line per interval
//! with the count of those it did not log, instead of one line each. Every refusal is still
//! counted in [`NetStats::refused`](crate::NetStats).

use std::time::{Duration, Instant};

/// At most one refusal warning per this interval.
pub(super) const EVERY: Duration = Duration::from_secs(10);

/// When the last refusal warning was logged, and how many were held back since.
#[derive(Debug, Default)]
pub(super) struct RefusalLog {
    last: Option<Instant>,
    held_back: u64,
}

impl RefusalLog {
    /// Whether a warning may be logged at `now`: `Some(n)` with the `n` refusals held back
    /// since the last one (then reset), `None` if it is held back too.
    pub(super) fn allow(&mut self, now: Instant) -> Option<u64> {
        if self.last.is_some_and(|at| now.duration_since(at) < EVERY) {
            self.held_back += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.held_back))
    }
}

#[cfg(test)]
mod tests {
    use super::{EVERY, RefusalLog};
    use std::time::{Duration, Instant};

    #[test]
    fn one_warning_per_interval_with_the_count_held_back() {
        let mut log = RefusalLog::default();
        let t0 = Instant::now();
        assert_eq!(log.allow(t0), Some(0));
        for i in 1..=600 {
            assert_eq!(log.allow(t0 + Duration::from_millis(i)), None);
        }
        assert_eq!(log.allow(t0 + EVERY), Some(600));
        assert_eq!(log.allow(t0 + EVERY), None);
    }
}
