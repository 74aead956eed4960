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
//! - **Restarts**: the last issued timestamp is persisted with the state and handed to
//!   [`HlcBuilder::last`], so time never goes backwards across a restart.
//!
//! The physical clock is injected through [`PhysicalClock`] (any `Fn() -> u64` closure
//! works). [`SystemClock`] is the default except on `wasm32-unknown-unknown`, where
//! `std::time::SystemTime` panics: there the bindings pass a closure over the host's clock.

mod error;
mod hlc;
mod physical;
mod timestamp;

pub use error::ClockError;
pub use hlc::{Hlc, HlcBuilder, Stamp};
pub use physical::PhysicalClock;
#[cfg(not(no_os))]
pub use physical::SystemClock;
pub use timestamp::Timestamp;
