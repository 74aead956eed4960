//! Exponential backoff with jitter, for redialing.

use std::time::Duration;

/// Delays between dial attempts: doubling from `min` up to `max`, each multiplied by a random
/// factor in [0.5, 1.5) so that peers restarted together do not redial in lockstep.
///
/// # Examples
/// ```
/// use std::time::Duration;
/// use deltacrdt::Backoff;
/// let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(1), 42);
/// let first = b.next_delay();
/// assert!(first >= Duration::from_millis(50) && first < Duration::from_millis(150));
/// for _ in 0..10 { assert!(b.next_delay() < Duration::from_millis(1500)); }
/// b.reset();
/// assert!(b.next_delay() < Duration::from_millis(150));
/// ```
#[derive(Clone, Debug)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
    rng: u64,
}

impl Backoff {
    /// A backoff from `min` to `max`, its jitter drawn from a generator seeded with `seed`.
    #[must_use]
    pub fn new(min: Duration, max: Duration, seed: u64) -> Self {
        Self {
            min,
            max: max.max(min),
            current: min,
            rng: seed,
        }
    }

    /// The next delay; the one after it is twice as long (up to the maximum).
    pub fn next_delay(&mut self) -> Duration {
        let base = self.current;
        self.current = (self.current * 2).min(self.max);
        // SplitMix64: a few lines, good enough for jitter.
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rng;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let factor = 0.5 + (z >> 11) as f64 / (1u64 << 53) as f64;
        base.mul_f64(factor)
    }

    /// Back to the minimum (after a connection succeeded).
    pub fn reset(&mut self) {
        self.current = self.min;
    }
}
