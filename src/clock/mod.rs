//! Hybrid logical time: the [`Timestamp`]s and [`Stamp`]s that order every write.
//!
//! # Why a hybrid logical clock
//!
//! Last-writer-wins registers need a *total* order of writes that respects causality: a
//! write made after seeing another must win over it. Wall clocks skew and jump, so "later"
//! by wall time can contradict what a replica has already seen. Lamport clocks respect
//! causality but lose all relation to real time, so "last" means nothing to a user. A hybrid
//! logical clock (Kulkarni, Demirbas et al., *Logical Physical Clocks and Consistent
//! Snapshots in Globally Distributed Databases*, OPODIS 2014) has both: its time `l` tracks
//! the largest physical time seen, never runs behind the local physical clock `pt`, and a
//! counter `c` orders events that share the same `l`. If `e` happened before `f`, then
//! `(l, c)` of `e` is less than that of `f`, and `l` stays close to physical time. It fits
//! in one `u64` ([`Timestamp`]: 48 bits of Unix milliseconds, 16 bits of counter), and with
//! the [`ReplicaId`](crate::ReplicaId) as tie-break ([`Stamp`]) no two events share
//! a stamp.
//!
//! # The rules
//!
//! The paper's Fig. 5, as implemented by [`Hlc`]:
//!
//! - **Local or send event** ([`Hlc::now`]): `l' = max(l, pt)`; the counter resets to 0 if `l`
//!   moved, otherwise it increments.
//! - **Receive event** ([`Hlc::observe`], [`Hlc::update`]): `l' = max(l, l_m, pt)`; the
//!   counter becomes `max(c, c_m) + 1` if `l`, `l_m` and `l'` are equal, `c + 1` if only the
//!   local `l` equals `l'`, `c_m + 1` if only `l_m` does, and 0 if `pt` won. That is the send
//!   rule applied to the greater of `(l, c)` and `(l_m, c_m)`.
//! - **Drift bound**: before receiving, a remote `l_m` more than `max_drift` ahead of `pt` is
//!   refused with [`ClockError::Drift`] and changes nothing, so one peer with a wrong clock
//!   cannot drag every clock, and every last-writer-wins decision, into the future.
//!   [`Hlc::check_drift`] runs the same check without touching the clock, for a sync engine
//!   that must refuse a message before applying any of it.
//! - **Counter overflow**: after 65,535 the counter carries into the milliseconds (the next
//!   `u64`), keeping time strictly increasing, but only while the result stays within
//!   `pt + max_drift`; beyond that [`ClockError::Overflow`], again changing nothing.
//! - **Skew**: a sync engine that receives writes stamped beyond its bound holds them back
//!   and tells the sender; a replica told that its clock runs ahead is *fenced*
//!   ([`ClockError::Fenced`]): [`Hlc::now`] refuses until its clock is fixed (see the sync
//!   engine's "Clock skew" section).
//! - **Restarts**: the last issued timestamp is persisted with the state and handed to
//!   [`HlcBuilder::last`], so time never goes backwards across a restart.
//!
//! The physical clock is injected through [`PhysicalClock`] (any `Fn() -> u64` closure
//! works). [`SystemClock`] is the default except on `wasm32-unknown-unknown`, where
//! `std::time::SystemTime` panics: there the bindings pass a closure over the host's clock.

mod hlc;
mod physical;
mod timestamp;

pub use hlc::{Hlc, HlcBuilder, Stamp};
pub use physical::PhysicalClock;
#[cfg(not(no_os))]
pub use physical::SystemClock;
pub use timestamp::Timestamp;

use std::time::Duration;

/// Why the hybrid logical clock refused to build, read or move.
///
/// Every variant leaves the clock exactly as it was: a failed [`Hlc::now`](Hlc::now),
/// [`Hlc::update`](Hlc::update) or [`Hlc::observe`](Hlc::observe) changes nothing.
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

    /// This replica's clock is ahead of a peer's by more than the maximum drift (the peer said
    /// so: it holds back what we stamp), so local writes that need a stamp are fenced until the
    /// clock is fixed: stamped now, they would be held back by every peer, and once released
    /// beat writes made after them. Writes that carry no stamp (counters, sets, flags) go on.
    /// Fix the clock (NTP); the fence lifts by itself, and a replica whose stamps then lie
    /// ahead of its corrected clock continues under a fresh replica id.
    #[error(
        "this replica's clock is about {ahead_millis} ms ahead of a peer's (max drift \
         {max_drift_millis} ms): register writes are fenced until the clock is fixed"
    )]
    Fenced {
        /// How far ahead of the peer's clock this replica's physical clock reads, in
        /// milliseconds (estimated from the peer's last report).
        ahead_millis: u64,
        /// The configured maximum drift, in milliseconds.
        max_drift_millis: u64,
    },

    /// No physical clock was given and the target has no system clock to default to
    /// (`wasm32-unknown-unknown`, where `std::time::SystemTime` panics).
    #[error("no physical clock configured and this target has no system clock")]
    NoClock,
}
