//! The physical clock an [`Hlc`](super::Hlc) reads: a trait, closures, and the system clock.

/// A source of physical time in Unix milliseconds.
///
/// Implemented for every `Fn() -> u64` closure, so tests inject a frozen or hand-driven clock
/// (for a clock that changes, capture an `Arc<AtomicU64>` in a `move` closure), and the wasm
/// bindings pass a closure over the browser's `Date.now()`. On targets with a system clock,
/// [`SystemClock`] is the default.
pub trait PhysicalClock {
    /// Milliseconds since the Unix epoch. Implementations must not panic; the reading may go
    /// backwards (the [`Hlc`](super::Hlc) stays monotonic regardless).
    fn now_millis(&self) -> u64;
}

impl<F: Fn() -> u64> PhysicalClock for F {
    fn now_millis(&self) -> u64 {
        self()
    }
}

/// The operating system's wall clock, read through [`std::time::SystemTime`].
///
/// Not available on `wasm32-unknown-unknown`, where `SystemTime::now` panics: there, inject a
/// closure over the host's clock instead. A reading before 1970 gives 0.
#[cfg(not(no_os))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SystemClock;

#[cfg(not(no_os))]
impl PhysicalClock for SystemClock {
    fn now_millis(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_are_clocks() {
        let clock = || 42u64;
        assert_eq!(clock.now_millis(), 42);
    }

    #[cfg(not(no_os))]
    #[test]
    fn system_clock_is_after_2020() {
        assert!(SystemClock.now_millis() > 1_577_836_800_000);
    }
}
