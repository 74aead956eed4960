//! The `Store` trait: where a replica's records live.

use super::StoreError;

/// Everything a store holds, as the raw records it was given (each checks itself: see
/// `src/durable/FORMAT.md`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Records {
    /// The meta record (format version and replica id), written once at creation.
    pub meta: Option<Vec<u8>>,
    /// The head record, rewritten by every commit.
    pub head: Option<Vec<u8>>,
    /// The snapshot record.
    pub snapshot: Option<Vec<u8>>,
    /// The log records by their key (the sequence number of the delta), ascending.
    pub log: Vec<(u64, Vec<u8>)>,
}

/// One atomic write: either all of it is durable when [`Store::commit`] returns `Ok`, or none
/// of it ever becomes visible.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Batch {
    /// A meta record to write (only when the store is created).
    pub meta: Option<Vec<u8>>,
    /// The new head record (every batch has one).
    pub head: Vec<u8>,
    /// A new snapshot record replacing the old one.
    pub snapshot: Option<Vec<u8>>,
    /// Log records to add, by key.
    pub append: Vec<(u64, Vec<u8>)>,
    /// Log records with a key below this are deleted (`0`: none).
    pub drop_below: u64,
}

/// Durable storage for one replica's records: a snapshot, a log of deltas since it, and a head
/// that says what the rest must be. The store moves bytes; encoding, checksums and recovery
/// are the [`DurableReplica`](super::DurableReplica)'s, so every store gets them alike.
///
/// Implementations: [`MemoryStore`](super::MemoryStore) (tests, wasm) and, with the `redb`
/// feature, [`RedbStore`](super::RedbStore) (a single-file embedded database).
///
/// # Examples
/// ```
/// use deltacrdt::durable::{Batch, MemoryStore, Store};
/// let mut store = MemoryStore::new();
/// assert_eq!(store.load()?, None); // empty: a fresh replica
/// store.commit(Batch { head: b"head".to_vec(), append: vec![(0, b"d0".to_vec())], ..Batch::default() })?;
/// let records = store.load()?.expect("written");
/// assert_eq!(records.log, vec![(0, b"d0".to_vec())]);
/// # Ok::<(), deltacrdt::durable::StoreError>(())
/// ```
pub trait Store {
    /// Reads every record; `None` if the store is empty (never written).
    ///
    /// # Errors
    /// A [`StoreError`] if the storage cannot be read or is damaged beyond what records check.
    fn load(&mut self) -> Result<Option<Records>, StoreError>;

    /// Applies `batch` atomically and durably (on disk when this returns `Ok`).
    ///
    /// # Errors
    /// A [`StoreError`] (full disk, permission, I/O): then nothing of `batch` was applied and
    /// everything committed before is intact.
    fn commit(&mut self, batch: Batch) -> Result<(), StoreError>;
}
