//! Durable replicas: a replica's state, sequence number, clock, delta log and its peers'
//! acknowledgements in a [`Store`], written atomically, recovered after a crash.
//!
//! A [`DurableReplica`] wraps a [`SyncEngine`](crate::SyncEngine). Every change is appended
//! to a log of deltas (local mutations and the new parts of remote deltas, with their sequence
//! numbers and origins); a head record written in the same transaction names the snapshot and
//! the log range, the sequence number, the last timestamp of the clock and the acknowledgements.
//! When the log outgrows the snapshot it is compacted into a new one, keeping only the entries
//! peers may still resume from. Every record is a checksummed frame of the wire codec, and
//! opening checks every record and the log's continuity: a damaged store is a typed
//! [`StoreError`], never a partial replica. The format is in `src/durable/FORMAT.md`.
//!
//! Acknowledgements and deltas leave only after what they cover is durable
//! ([`DurableReplica::poll_transmit`] flushes first), so a crash loses only changes no peer
//! has seen; with [`Durability::Group`] many changes share one sync.
//!
//! The stores: [`MemoryStore`] (tests; also builds for wasm) and, with the `redb` feature,
//! [`RedbStore`], a single file of the [redb](https://docs.rs/redb) embedded database.
#![doc = include_str!("FORMAT.md")]

mod error;
mod memory;
mod record;
#[cfg(feature = "redb")]
mod redb;
mod replica;
mod store;

pub use error::StoreError;
pub use memory::MemoryStore;
pub use record::{OLDEST_STORE_FORMAT_VERSION, STORE_FORMAT_VERSION};
#[cfg(feature = "redb")]
pub use redb::RedbStore;
pub use replica::{Commit, Durability, DurableConfig, DurableReplica};
pub use store::{Batch, Records, Store};
