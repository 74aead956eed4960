//! `DurableReplica`: a sync engine whose state survives a crash.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::debug;

use super::record::{self, Head, LogEntry};
use super::{Batch, Store, StoreError};
use crate::clock::{Hlc, HlcBuilder, Timestamp};
use crate::codec::DecodeLimits;
use crate::error::Error;
use crate::id::ReplicaId;
use crate::lattice::{Delta, Lattice};
use crate::sync::{
    Replica, Resume, SyncConfig, SyncEngine, SyncError, SyncStats, Transmit, UpdateError,
};

/// When a change counts as committed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Every local update and every received frame that changed the state is written and
    /// synced to disk before the call returns ([`Commit::durable`] is `true`).
    #[default]
    PerOperation,
    /// Changes are written in one transaction by [`DurableReplica::flush`], which
    /// [`DurableReplica::poll_transmit`] calls before any frame leaves: one sync per network
    /// turn instead of one per change. Until then [`Commit::durable`] is `false` and a crash
    /// loses the change (it was never sent nor acknowledged, so no peer saw it).
    Group,
}

/// How a [`DurableReplica`] writes and syncs.
///
/// # Examples
/// ```
/// use deltacrdt::durable::{Durability, DurableConfig};
/// let config = DurableConfig { durability: Durability::Group, ..DurableConfig::default() };
/// assert_eq!(config.replica, None); // a fresh store gets a random id
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DurableConfig {
    /// Per-operation or group commit.
    pub durability: Durability,
    /// The sync engine's configuration (its buffer caps also bound the log).
    pub sync: SyncConfig,
    /// The id of a replica created in an empty store (`None`: random; required on
    /// `wasm32-unknown-unknown`, which has no OS random source). Opening a store that holds
    /// another replica fails with [`StoreError::ReplicaMismatch`] — so does one whose replica
    /// forked away from this id (a peer had seen events of it that the store never issued: the
    /// store was a restored backup or a copy); open it with `None` to continue under its new id.
    pub replica: Option<ReplicaId>,
    /// The id of a replica created in an empty store when [`replica`](Self::replica) is
    /// `None` (`None` too: random); a store that holds a replica keeps its own. On a network
    /// with per-peer keys, give a fresh id the peer's key owns
    /// (`PeerKey::new_replica_id`, feature `auth`) on every open: a new data directory then
    /// gets one, and an existing one its own.
    pub new_replica: Option<ReplicaId>,
    /// The log is compacted into a new snapshot once its bytes since the last snapshot exceed
    /// both this and the snapshot's size (so compaction costs at most one extra write of the
    /// data, amortised).
    pub compact_min_bytes: usize,
    /// Limits applied to the records read back (a store is trusted no more than a peer).
    pub limits: DecodeLimits,
    /// Peers' acknowledgements that changed with nothing else to commit are written this many
    /// milliseconds (of [`tick`](DurableReplica::tick) time) after they first changed, by the
    /// [`poll_transmit`](DurableReplica::poll_transmit) after that tick (its time is in
    /// [`poll_timeout`](DurableReplica::poll_timeout)); every commit writes them too. A restart
    /// resumes delta sync from what was written: a peer whose acknowledgement was lost is
    /// reconciled or sent the full state instead. 0: at the next `poll_transmit`.
    pub ack_persist_ms: u64,
}

impl Default for DurableConfig {
    fn default() -> Self {
        let limits = DecodeLimits::default();
        Self {
            durability: Durability::PerOperation,
            sync: SyncConfig::default(),
            replica: None,
            new_replica: None,
            compact_min_bytes: 1 << 20,
            ack_persist_ms: 1_000,
            // A snapshot is one record: allow it as large as a reassembled state.
            limits: DecodeLimits {
                max_frame_bytes: limits.max_state_bytes,
                ..limits
            },
        }
    }
}

/// What [`DurableReplica::update`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "a change is not committed until `durable` is true (or a flush succeeded)"]
pub struct Commit {
    /// The replica's sequence number after the change.
    pub seq: u64,
    /// Whether the change is on disk. Under [`Durability::Group`] it is `false` until the next
    /// successful [`flush`](DurableReplica::flush) (or [`poll_transmit`](DurableReplica::poll_transmit)).
    pub durable: bool,
}

/// A replica (a [`SyncEngine`]) backed by a [`Store`]: its state, sequence number, clock,
/// delta log and its peers' acknowledgements survive a crash.
///
/// - **Committed** local changes ([`Commit::durable`], or followed by a successful
///   [`flush`](Self::flush)) are never lost.
/// - A remote delta is **acknowledged** only once it is durable: no frame leaves
///   [`poll_transmit`](Self::poll_transmit) before everything the state holds is on disk. This
///   also means a change lost in a crash was never seen by a peer, so a restarted replica never
///   issues a dot or sequence number a peer already holds for another change.
/// - On [`open`](Self::open) the replica comes back with the same id, sequence number and clock
///   (never backwards), its state = snapshot ⊔ log, and its delta buffer and peers'
///   acknowledgements, so peers get delta-intervals instead of full states.
/// - A store from another format version, or corrupted or truncated, is a typed
///   [`StoreError`]: never a partial load.
///
/// # Examples
/// ```
/// use deltacrdt::durable::{Durability, DurableConfig, DurableReplica, MemoryStore};
/// use deltacrdt::{Doc, Error};
/// let config = DurableConfig { durability: Durability::Group, ..DurableConfig::default() };
/// let store = MemoryStore::new();
/// let mut r = DurableReplica::<Doc, _>::open(store.clone(), config.clone())?;
/// let c = r.update(|doc, hlc| doc.insert(hlc.replica(), &["tags"], "a".into()))?;
/// assert!(!c.durable); // group commit: pending
/// assert_eq!(r.flush()?, c.seq); // now durable
/// let _ = r.update(|doc, hlc| doc.insert(hlc.replica(), &["tags"], "b".into()))?;
/// drop(r); // crash before the flush: "b" was never committed
/// let r = DurableReplica::<Doc, _>::open(store, config)?;
/// assert_eq!(r.state().set_at(&["tags"]).map(|s| s.len()), Some(1));
/// # Ok::<(), Error>(())
/// ```
#[derive(Debug)]
pub struct DurableReplica<T, S> {
    engine: SyncEngine<T>,
    store: S,
    durability: Durability,
    compact_min_bytes: usize,
    /// The head as last committed.
    head: Head,
    /// Size of the current snapshot record.
    snapshot_bytes: usize,
    /// Bytes of log records written since the current snapshot.
    log_bytes: usize,
    /// The replica id in the store's meta record: the engine's until it forks to a fresh id
    /// (a peer had seen events of this id that it never issued), then rewritten by the next
    /// commit, so a restart continues under the new id instead of reusing the old one.
    stored_id: ReplicaId,
    /// Whether the stored meta record is of this format version and names the type (a
    /// version-1 store's is rewritten by the next commit).
    meta_current: bool,
    /// [`DurableConfig::ack_persist_ms`].
    ack_persist_ms: u64,
    /// The latest tick time.
    now: u64,
    /// When the peers' acknowledgements were first seen to differ from the committed ones.
    acks_changed_at: Option<u64>,
}

#[cfg(feature = "redb")]
impl<T: crate::causal::Reconcile + Serialize + DeserializeOwned>
    DurableReplica<T, super::RedbStore>
{
    /// Opens the replica kept in directory `dir`, or creates it there (directory included):
    /// [`RedbStore::open_dir`](super::RedbStore::open_dir) then [`open`](Self::open), with the
    /// system clock. The one call a program with a `--data-dir` needs.
    ///
    /// # Examples
    /// ```
    /// use deltacrdt::durable::{DurableConfig, DurableReplica};
    /// use deltacrdt::{Doc, Error};
    /// let dir = std::env::temp_dir().join(format!("deltacrdt-open-dir-{}", std::process::id()));
    /// # let _ = std::fs::remove_dir_all(&dir);
    /// let mut replica = DurableReplica::<Doc, _>::open_dir(&dir, DurableConfig::default())?;
    /// let _ = replica.update(|doc, hlc| doc.increment(hlc.replica(), &["likes"], 1))?;
    /// # drop(replica);
    /// # std::fs::remove_dir_all(&dir).ok();
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`RedbStore::open`](super::RedbStore::open) and [`open`](Self::open).
    pub fn open_dir(
        dir: impl AsRef<std::path::Path>,
        config: DurableConfig,
    ) -> Result<Self, Error> {
        Self::open(super::RedbStore::open_dir(dir)?, config)
    }
}

/// A store's content, checked and decoded.
struct Loaded<T> {
    replica: ReplicaId,
    meta_current: bool,
    head: Head,
    state: T,
    log: Vec<LogEntry<T>>,
    snapshot_bytes: usize,
    log_bytes: usize,
}

fn load<T: Lattice + DeserializeOwned>(
    store: &mut impl Store,
    limits: &DecodeLimits,
) -> Result<Option<Loaded<T>>, StoreError> {
    let Some(records) = store.load()? else {
        return Ok(None);
    };
    let missing = |what| StoreError::MissingRecord { what, seq: 0 };
    let meta = record::decode_meta(records.meta.as_deref().ok_or(missing("meta"))?, limits)?;
    // Before anything of the state is decoded: another type's bytes would only fail somewhere
    // inside it, with a message that names neither type.
    if let (Some(found), Some(expected)) = (meta.type_name.as_deref(), T::TYPE_NAME)
        && found != expected
    {
        return Err(StoreError::WrongType {
            expected,
            found: found.to_owned(),
        });
    }
    let meta_current = meta.version == record::STORE_FORMAT_VERSION
        && (meta.type_name.is_some() || T::TYPE_NAME.is_none());
    let head = record::decode_head(records.head.as_deref().ok_or(missing("head"))?, limits)?;
    let snapshot = records.snapshot.as_deref().ok_or(missing("snapshot"))?;
    if record::crc_of(snapshot) != head.snapshot_crc {
        return Err(StoreError::Corrupt {
            what: "the snapshot is not the one the head names".into(),
        });
    }
    let (snapshot_seq, mut state) = record::decode_snapshot::<T>(snapshot, limits)?;
    if snapshot_seq != head.snapshot_seq {
        return Err(StoreError::Corrupt {
            what: format!(
                "snapshot at {snapshot_seq}, head says {}",
                head.snapshot_seq
            ),
        });
    }
    // The log must hold exactly `log_first..log_end`: a lost or stray record is an error.
    let mut log = Vec::with_capacity(records.log.len().min(1 << 16));
    let mut expected = head.log_first;
    let mut log_bytes = 0;
    for (key, bytes) in &records.log {
        if *key != expected || expected >= head.log_end {
            return Err(if *key > expected && expected < head.log_end {
                StoreError::MissingRecord {
                    what: "log",
                    seq: expected,
                }
            } else {
                StoreError::Corrupt {
                    what: format!(
                        "log record {key} outside {}..{}",
                        head.log_first, head.log_end
                    ),
                }
            });
        }
        let (seq, delta, origin) = record::decode_log::<T>(bytes, limits)?;
        if seq != *key {
            return Err(StoreError::Corrupt {
                what: format!("log record {seq} stored under {key}"),
            });
        }
        if seq >= head.snapshot_seq {
            // Records before the snapshot are kept for peers resuming from them; the snapshot
            // holds them already (and joining one again could undo a settled conflict).
            log_bytes += bytes.len();
            state.join(delta.clone());
        }
        log.push((seq, delta, origin));
        expected += 1;
    }
    if expected != head.log_end {
        return Err(StoreError::MissingRecord {
            what: "log",
            seq: expected,
        });
    }
    Ok(Some(Loaded {
        replica: meta.replica,
        meta_current,
        head,
        state,
        log,
        snapshot_bytes: snapshot.len(),
        log_bytes,
    }))
}

fn fresh_id(config: &DurableConfig) -> Result<ReplicaId, Error> {
    match config.replica.or(config.new_replica) {
        Some(id) => Ok(id),
        #[cfg(not(no_os))]
        None => Ok(ReplicaId::random()),
        #[cfg(no_os)]
        None => Err(Error::Clock(crate::clock::ClockError::NoClock)),
    }
}

impl<T: crate::causal::Reconcile + Serialize + DeserializeOwned, S: Store> DurableReplica<T, S> {
    /// Opens the replica `store` holds, or creates a fresh one in an empty store (written and
    /// synced before this returns), with the system clock.
    ///
    /// # Errors
    /// [`Error::Store`] if the store cannot be read or is damaged, of another format version,
    /// or holds another replica than [`DurableConfig::replica`]; [`Error::Clock`] if no clock
    /// is available (on `wasm32-unknown-unknown`: use [`open_with`](Self::open_with)).
    pub fn open(store: S, config: DurableConfig) -> Result<Self, Error> {
        Self::open_with(store, config, |builder| builder)
    }

    /// [`open`](Self::open), configuring the clock: `clock` gets the builder (replica id set)
    /// and may inject a physical clock or a drift bound; the persisted last timestamp is
    /// applied after it.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub fn open_with(
        mut store: S,
        config: DurableConfig,
        clock: impl FnOnce(HlcBuilder) -> HlcBuilder,
    ) -> Result<Self, Error> {
        let DurableConfig {
            durability,
            sync,
            replica,
            new_replica: _,
            compact_min_bytes,
            limits,
            ack_persist_ms,
        } = config.clone();
        let Some(loaded) = load::<T>(&mut store, &limits)? else {
            let id = fresh_id(&config)?;
            let hlc = clock(Hlc::builder(id)).build()?;
            let engine = SyncEngine::with_config(hlc, sync);
            let snapshot = record::encode_snapshot(0, engine.state())?;
            let head = Head {
                seq: 0,
                hlc_last: engine.hlc().last(),
                snapshot_seq: 0,
                snapshot_crc: record::crc_of(&snapshot),
                log_first: 0,
                log_end: 0,
                acks: Vec::new(),
            };
            let snapshot_bytes = snapshot.len();
            store.commit(Batch {
                meta: Some(record::encode_meta(id, T::TYPE_NAME)),
                head: record::encode_head(&head),
                snapshot: Some(snapshot),
                ..Batch::default()
            })?;
            debug!(replica = %id, "created a durable replica");
            let mut engine = engine;
            engine.retain_from(Some(head.seq));
            return Ok(Self {
                engine,
                store,
                durability,
                compact_min_bytes,
                head,
                snapshot_bytes,
                log_bytes: 0,
                stored_id: id,
                meta_current: true,
                ack_persist_ms,
                now: 0,
                acks_changed_at: None,
            });
        };
        if let Some(expected) = replica.filter(|&r| r != loaded.replica) {
            return Err(StoreError::ReplicaMismatch {
                expected,
                found: loaded.replica,
            }
            .into());
        }
        let head = loaded.head;
        let hlc = clock(Hlc::builder(loaded.replica))
            .last(head.hlc_last)
            .build()?;
        let resume = Resume {
            state: loaded.state,
            seq: head.seq,
            deltas: loaded.log,
            acks: head.acks.clone(),
        };
        let mut engine = SyncEngine::resume(hlc, resume, sync);
        engine.retain_from(Some(head.seq));
        if engine.seq() != head.seq {
            return Err(StoreError::Corrupt {
                what: format!("a non-empty state at sequence number {}", head.seq),
            }
            .into());
        }
        debug!(replica = %loaded.replica, seq = head.seq, "reopened a durable replica");
        Ok(Self {
            engine,
            store,
            durability,
            compact_min_bytes,
            head,
            snapshot_bytes: loaded.snapshot_bytes,
            log_bytes: loaded.log_bytes,
            stored_id: loaded.replica,
            meta_current: loaded.meta_current,
            ack_persist_ms,
            now: 0,
            acks_changed_at: None,
        })
    }

    /// This replica's id: the one in the store, or the fresh one it forked to (written by the
    /// next commit).
    pub fn id(&self) -> ReplicaId {
        self.engine.id()
    }

    /// The replicated state (including changes not yet durable under [`Durability::Group`]).
    pub fn state(&self) -> &T {
        self.engine.state()
    }

    /// The sequence number `c`.
    pub fn seq(&self) -> u64 {
        self.engine.seq()
    }

    /// The sequence number up to which everything is on disk.
    pub fn durable_seq(&self) -> u64 {
        self.head.seq
    }

    /// The last timestamp on disk (the restarted clock issues only later ones).
    pub fn durable_hlc(&self) -> Timestamp {
        self.head.hlc_last
    }

    /// Whether every change is on disk (the replica id included, after a fork).
    pub fn is_durable(&self) -> bool {
        self.engine.seq() == self.head.seq
            && self.engine.id() == self.stored_id
            && !self.engine.rewritten()
    }

    /// The engine (read-only: changes go through this wrapper so they are logged).
    pub fn engine(&self) -> &SyncEngine<T> {
        &self.engine
    }

    /// The engine's statistics.
    pub fn stats(&self) -> SyncStats {
        self.engine.stats()
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Applies a local mutation as [`SyncEngine::update`] does and commits it under the
    /// configured [`Durability`].
    ///
    /// # Errors
    /// `f`'s error (nothing changed), or [`Error::Store`] if the commit failed: the change is
    /// then applied in memory but **not committed**; it is retried by the next
    /// [`flush`](Self::flush), and no frame leaves until one succeeds.
    pub fn update<E>(
        &mut self,
        f: impl FnOnce(&mut T, &mut Hlc) -> Result<Delta<T>, E>,
    ) -> Result<Commit, Error>
    where
        Error: From<E>,
    {
        self.engine.update(f)?;
        if self.durability == Durability::PerOperation {
            self.commit(false)?;
        }
        Ok(Commit {
            seq: self.engine.seq(),
            durable: self.is_durable(),
        })
    }

    /// Handles one frame from `from` ([`SyncEngine::receive`]); returns whether the state
    /// changed. Under [`Durability::PerOperation`] a change is written before this returns.
    /// Either way its acknowledgement leaves only once it is durable.
    ///
    /// One error rule: an error means the **frame** was refused and nothing of it applied. A
    /// write that fails after the frame was applied is not this frame's fault and is not
    /// reported here (the frame is applied in memory, [`is_durable`](Self::is_durable) is
    /// false): [`poll_transmit`](Self::poll_transmit) retries it before any frame — so any
    /// acknowledgement of it — leaves, and fails with the [`StoreError`] if it fails again;
    /// so does [`flush`](Self::flush). A sync loop thus counts refused frames and stops on
    /// store failures, and never confuses the two.
    ///
    /// # Errors
    /// A [`SyncError`] saying why the frame was refused.
    pub fn receive(&mut self, from: ReplicaId, bytes: &[u8]) -> Result<bool, SyncError> {
        let changed = self.engine.receive(from, bytes)?;
        if self.acks_changed_at.is_none() && !self.acks_committed() {
            self.acks_changed_at = Some(self.now);
        }
        if changed
            && self.durability == Durability::PerOperation
            && let Err(err) = self.commit(false)
        {
            // Applied, not acknowledged: `poll_transmit` retries the write and reports it.
            debug!(error = %err, "commit after a received frame failed; retried before sending");
        }
        Ok(changed)
    }

    /// Whether changes are committed per operation or by [`flush`](Self::flush).
    pub fn durability(&self) -> Durability {
        self.durability
    }

    /// The next frame to send ([`SyncEngine::poll_transmit`]), after making every change
    /// durable: no frame carries an acknowledgement of, or a delta from, a change that a
    /// crash could still lose.
    ///
    /// # Errors
    /// [`StoreError`] if the flush failed; nothing is sent then.
    pub fn poll_transmit(&mut self) -> Result<Option<Transmit>, StoreError> {
        if !self.is_durable() {
            self.commit(false)?;
        }
        if self.acks_due().is_some_and(|at| at <= self.now) {
            self.commit(true)?;
        }
        Ok(self.engine.poll_transmit())
    }

    /// Writes and syncs every pending change, and the peers' latest acknowledgements (so a
    /// restart resumes delta sync from them). Returns the durable sequence number.
    ///
    /// # Errors
    /// [`StoreError`]: nothing of this flush is on disk, everything committed before is.
    pub fn flush(&mut self) -> Result<u64, StoreError> {
        self.commit(true)?;
        Ok(self.head.seq)
    }

    /// Starts syncing with `peer` ([`SyncEngine::connect`]); a peer whose acknowledgement was
    /// persisted resumes from it.
    pub fn connect(&mut self, peer: ReplicaId) {
        self.engine.connect(peer);
    }

    /// Stops syncing with `peer` ([`SyncEngine::disconnect`]).
    pub fn disconnect(&mut self, peer: ReplicaId) {
        self.engine.disconnect(peer);
    }

    /// The transport's session with `peer` closed ([`SyncEngine::session_closed`]).
    pub fn session_closed(&mut self, peer: ReplicaId) {
        self.engine.session_closed(peer);
    }

    /// Advances the engine's time ([`SyncEngine::tick`]).
    pub fn tick(&mut self, now_ms: u64) {
        self.now = self.now.max(now_ms);
        self.engine.tick(now_ms);
    }

    /// When the next [`tick`](Self::tick) is due ([`SyncEngine::poll_timeout`], which says
    /// when to call it), or when changed acknowledgements are to be written
    /// ([`DurableConfig::ack_persist_ms`]). Group commit adds no timer: changes are flushed by
    /// the [`poll_transmit`](Self::poll_transmit) the driver calls after every input anyway.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        match (self.engine.poll_timeout(), self.acks_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The peers' acknowledgements, sorted, as a commit writes them.
    fn acks(&self) -> Vec<(ReplicaId, u64)> {
        let mut acks: Vec<(ReplicaId, u64)> = self.engine.acks().collect();
        crate::platform::sort::sort_unstable(&mut acks);
        acks
    }

    /// Whether the peers' acknowledgements are the committed ones (no allocation: this runs
    /// for every received frame).
    fn acks_committed(&self) -> bool {
        let committed = &self.head.acks;
        self.engine.acks().count() == committed.len()
            && self
                .engine
                .acks()
                .all(|ack| committed.binary_search(&ack).is_ok())
    }

    /// When changed acknowledgements are due to be written, if any changed.
    fn acks_due(&self) -> Option<u64> {
        self.acks_changed_at
            .map(|at| at.saturating_add(self.ack_persist_ms))
    }

    /// Flushes and returns the store.
    ///
    /// # Errors
    /// As [`flush`](Self::flush).
    pub fn close(mut self) -> Result<S, StoreError> {
        self.flush()?;
        Ok(self.store)
    }

    /// Writes what changed since the last commit in one atomic batch: the new log records
    /// (or, when they were evicted from the buffer or the log outgrew the snapshot, a new
    /// snapshot), and a head naming them. `with_acks`: also when only acknowledgements changed.
    fn commit(&mut self, with_acks: bool) -> Result<(), StoreError> {
        let seq = self.engine.seq();
        let acks = self.acks();
        let forked = self.engine.id() != self.stored_id;
        let rewritten = self.engine.rewritten();
        if seq == self.head.seq && !forked && !rewritten && (!with_acks || acks == self.head.acks) {
            if acks == self.head.acks {
                self.acks_changed_at = None;
            }
            return Ok(());
        }
        let mut batch = Batch {
            // The fork and every edit under the new id land in one atomic batch.
            meta: (forked || !self.meta_current)
                .then(|| record::encode_meta(self.engine.id(), T::TYPE_NAME)),
            ..Batch::default()
        };
        let mut log_bytes = self.log_bytes;
        let logged = match self.engine.buffered_payloads_since(self.head.seq) {
            Some(entries) => {
                for (s, delta, payload, origin) in entries {
                    // The payload encoded when the delta was buffered is the record's value.
                    let bytes = if payload.is_empty() {
                        record::encode_log(s, delta, origin)?
                    } else {
                        record::encode_log_payload(s, payload, origin)
                    };
                    log_bytes += bytes.len();
                    batch.append.push((s, bytes));
                }
                true
            }
            None => false,
        };
        let mut head = Head {
            seq,
            hlc_last: self.engine.hlc().last(),
            log_end: seq,
            acks,
            ..self.head.clone()
        };
        // A settled conflict changed the state in a way no delta records: snapshot it.
        let compact =
            rewritten || !logged || log_bytes > self.compact_min_bytes.max(self.snapshot_bytes);
        let mut snapshot_bytes = self.snapshot_bytes;
        if compact {
            let snapshot = record::encode_snapshot(seq, self.engine.state())?;
            head.snapshot_seq = seq;
            head.snapshot_crc = record::crc_of(&snapshot);
            // Keep what a peer may still resume from: entries from the lowest acknowledgement
            // on, within the buffer's cap; none if the log had a gap.
            let cap = self.engine.config().max_buffer_entries as u64;
            let keep_from = if logged {
                head.acks
                    .iter()
                    .map(|&(_, a)| a)
                    .min()
                    .unwrap_or(seq)
                    .max(self.head.log_first)
                    .max(seq.saturating_sub(cap))
                    .min(seq)
            } else {
                seq
            };
            head.log_first = keep_from;
            batch.drop_below = keep_from;
            batch.append.retain(|(s, _)| *s >= keep_from);
            snapshot_bytes = snapshot.len();
            log_bytes = 0;
            batch.snapshot = Some(snapshot);
        }
        batch.head = record::encode_head(&head);
        #[cfg(feature = "metrics")]
        let started = std::time::Instant::now();
        self.store.commit(batch)?;
        // One atomic write of the store, its fsync included (feature `metrics`).
        #[cfg(feature = "metrics")]
        metrics::histogram!(
            "deltacrdt_durable_commit_seconds",
            "snapshot" => if compact { "yes" } else { "no" }
        )
        .record(started.elapsed().as_secs_f64());
        debug!(seq, compact, forked, "committed");
        self.engine.retain_from(Some(head.seq));
        self.head = head;
        // Every commit writes the acknowledgements as they are now.
        self.acks_changed_at = None;
        self.stored_id = self.engine.id();
        self.meta_current = true;
        self.engine.clear_rewritten();
        self.snapshot_bytes = snapshot_bytes;
        self.log_bytes = log_bytes;
        Ok(())
    }
}

/// Drives a durable replica with [`Replica::pump`] or a `SyncNode` (feature `tokio`): frames
/// are committed as [`receive`](DurableReplica::receive) commits them, and
/// [`poll_transmit`](DurableReplica::poll_transmit) flushes before any frame leaves, so a
/// failed write stops the turn with a [`StoreError`] and sends nothing.
impl<T: crate::causal::Reconcile + Serialize + DeserializeOwned, S: Store> Replica
    for DurableReplica<T, S>
{
    type State = T;
    type Error = StoreError;

    fn id(&self) -> ReplicaId {
        DurableReplica::id(self)
    }

    fn state(&self) -> &T {
        DurableReplica::state(self)
    }

    fn seq(&self) -> u64 {
        DurableReplica::seq(self)
    }

    fn stats(&self) -> SyncStats {
        DurableReplica::stats(self)
    }

    fn update<E>(
        &mut self,
        f: impl FnOnce(&mut T, &mut Hlc) -> Result<Delta<T>, E>,
    ) -> Result<u64, UpdateError<E, StoreError>> {
        self.engine.update(f).map_err(UpdateError::Edit)?;
        if self.durability == Durability::PerOperation {
            self.commit(false).map_err(UpdateError::Replica)?;
        }
        Ok(self.engine.seq())
    }

    fn durable_seq(&self) -> u64 {
        DurableReplica::durable_seq(self)
    }

    fn flush(&mut self) -> Result<u64, StoreError> {
        DurableReplica::flush(self)
    }

    fn tick(&mut self, now_ms: u64) {
        DurableReplica::tick(self, now_ms);
    }

    fn poll_timeout(&self) -> Option<u64> {
        DurableReplica::poll_timeout(self)
    }

    fn connect(&mut self, peer: ReplicaId) {
        DurableReplica::connect(self, peer);
    }

    fn disconnect(&mut self, peer: ReplicaId) {
        DurableReplica::disconnect(self, peer);
    }

    fn session_closed(&mut self, peer: ReplicaId) {
        DurableReplica::session_closed(self, peer);
    }

    #[cfg(not(small_code))]
    fn record_changes(&mut self, on: bool) {
        self.engine.record_changes(on);
    }

    #[cfg(not(small_code))]
    fn take_changes(&mut self) -> Vec<(ReplicaId, T)> {
        self.engine.take_changes()
    }

    fn receive(&mut self, from: ReplicaId, frame: &[u8]) -> Result<bool, SyncError> {
        DurableReplica::receive(self, from, frame)
    }

    fn poll_transmit(&mut self) -> Result<Option<Transmit>, StoreError> {
        DurableReplica::poll_transmit(self)
    }
}
