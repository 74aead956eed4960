//! Replicas on disk (DESIGN §7): durable replicas over the memory store, the golden bytes of
//! the storage format, and corrupted database files (the `redb` store).
//!
//! The crash test (`tests/crash.rs`) is a binary of its own: it re-executes itself.

mod durable;
#[cfg(feature = "reconcile")]
mod identity;
#[cfg(feature = "redb")]
mod store_corruption;
mod store_golden;
