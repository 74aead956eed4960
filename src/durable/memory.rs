//! `MemoryStore`: records in memory, for tests and for hosts without a file system.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::{Batch, Records, Store, StoreError};

#[derive(Debug, Default)]
struct Inner {
    records: Records,
    log: BTreeMap<u64, Vec<u8>>,
    fail: Option<StoreError>,
    commits: u64,
}

/// A [`Store`] in memory. Clones share the same records, so a test can keep one handle,
/// drop the replica (a "crash": whatever was not committed is gone) and open it again; it can
/// also inspect and damage the records, or make the next commit fail.
///
/// # Examples
/// ```
/// use deltacrdt::durable::{DurableConfig, DurableReplica, MemoryStore};
/// use deltacrdt::{Doc, Error};
/// let store = MemoryStore::new();
/// let mut replica = DurableReplica::<Doc, _>::open(store.clone(), DurableConfig::default())?;
/// let me = replica.id();
/// let commit = replica.update(|doc, hlc| doc.increment(hlc.replica(), &["likes"], 1))?;
/// assert!(commit.durable);
/// drop(replica); // crash
/// let replica = DurableReplica::<Doc, _>::open(store, DurableConfig::default())?;
/// assert_eq!((replica.id(), replica.state().counter(&["likes"])), (me, 1));
/// # Ok::<(), Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct MemoryStore {
    inner: Arc<Mutex<Inner>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut guard = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut guard)
    }

    /// A copy of the records as stored.
    pub fn records(&self) -> Records {
        self.with(|i| Records {
            log: i.log.iter().map(|(k, v)| (*k, v.clone())).collect(),
            ..i.records.clone()
        })
    }

    /// Replaces the records (to test damaged or foreign stores).
    pub fn set_records(&self, records: Records) {
        self.with(|i| {
            i.log = records.log.iter().cloned().collect();
            i.records = Records {
                log: Vec::new(),
                ..records
            };
        });
    }

    /// Makes the next commit fail with `err` (and apply nothing), as a full disk would.
    pub fn fail_next_commit(&self, err: StoreError) {
        self.with(|i| i.fail = Some(err));
    }

    /// How many commits succeeded.
    pub fn commits(&self) -> u64 {
        self.with(|i| i.commits)
    }
}

impl Store for MemoryStore {
    fn load(&mut self) -> Result<Option<Records>, StoreError> {
        let records = self.records();
        Ok((records != Records::default()).then_some(records))
    }

    fn commit(&mut self, batch: Batch) -> Result<(), StoreError> {
        self.with(|i| {
            if let Some(err) = i.fail.take() {
                return Err(err);
            }
            if batch.meta.is_some() {
                i.records.meta = batch.meta;
            }
            i.records.head = Some(batch.head);
            if batch.snapshot.is_some() {
                i.records.snapshot = batch.snapshot;
            }
            i.log = i.log.split_off(&batch.drop_below);
            i.log.extend(batch.append);
            i.commits += 1;
            Ok(())
        })
    }
}
