//! The error type of the clock module.

use std::time::Duration;

use super::Timestamp;

/// Why the hybrid logical clock refused to build, read or move.
///
/// Every variant leaves the clock exactly as it was: a failed [`Hlc::now`](super::Hlc::now),
/// [`Hlc::update`](super::Hlc::update) or [`Hlc::observe`](super::Hlc::observe) changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClockError {
    /// A remote timestamp is further ahead of the local physical clock than the configured
    /// maximum drift allows. The message should be refused (or quarantined) rather than applied:
    /// accepting it would drag this clock, and every last-writer-wins decision, into the future.
    #[error(
        "remote timestamp at {remote_millis} ms is more than {max_drift_millis} ms ahead of \
         the local physical clock at {local_millis} ms"
    )]
    Drift {
        /// Millisecond part of the rejected remote timestamp.
        remote_millis: u64,
        /// Reading of the local physical clock, in Unix milliseconds.
        local_millis: u64,
        /// The configured maximum drift, in milliseconds.
        max_drift_millis: u64,
    },

    /// The logical counter is exhausted and carrying into the millisecond part would put the
    /// clock more than the maximum drift ahead of physical time. Retry once the physical clock
    /// has advanced.
    #[error(
        "hybrid logical clock exhausted at {latest}: advancing it would exceed physical time \
         {physical_millis} ms + max drift {max_drift_millis} ms"
    )]
    Overflow {
        /// The timestamp that could not be advanced: the clock's last one, or the remote one
        /// being observed if that was greater.
        latest: Timestamp,
        /// Reading of the local physical clock, in Unix milliseconds.
        physical_millis: u64,
        /// The configured maximum drift, in milliseconds.
        max_drift_millis: u64,
    },

    /// A millisecond value does not fit the 48-bit millisecond field of a [`Timestamp`]
    /// (that is, it lies after the year 10889). Returned by [`Timestamp::new`] and when the
    /// physical clock reads such a value.
    #[error("{millis} ms does not fit the 48-bit millisecond field (max {max})", max = Timestamp::MAX_MILLIS)]
    MillisOutOfRange {
        /// The offending value, in milliseconds.
        millis: u64,
    },

    /// The configured maximum drift does not fit the 48-bit millisecond field.
    #[error("max drift of {} s exceeds {max} ms", .max_drift.as_secs(), max = Timestamp::MAX_MILLIS)]
    InvalidMaxDrift {
        /// The rejected maximum drift.
        max_drift: Duration,
    },

    /// No physical clock was given and the target has no system clock to default to
    /// (`wasm32-unknown-unknown`, where `std::time::SystemTime` panics).
    #[error("no physical clock configured and this target has no system clock")]
    NoClock,
}
