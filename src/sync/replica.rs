//! `Replica`: what a sync loop drives, so the loop is written once for a plain
//! [`SyncEngine`] and for a [`DurableReplica`](crate::durable::DurableReplica).

use std::convert::Infallible;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Pumped, SyncEngine, SyncError, SyncStats, Transmit, Transport};
use crate::clock::Hlc;
use crate::id::ReplicaId;
use crate::lattice::{Delta, Lattice};

/// A replica a sync loop can drive and an app can edit and read: local updates and the
/// state, frames in, frames out, time and peers.
/// [`pump`](Self::pump) (the loop's one turn) and `SyncNode` (feature `tokio`: the async
/// loop over a network) are written once against it.
///
/// Implemented by [`SyncEngine`] (in memory, never fails) and by
/// [`DurableReplica`](crate::durable::DurableReplica), whose
/// [`poll_transmit`](Self::poll_transmit) makes every change durable before a frame leaves
/// and fails with a [`StoreError`](crate::durable::StoreError) when it cannot.
///
/// # Examples
/// The same turn drives either kind:
/// ```
/// use deltacrdt::durable::{DurableConfig, DurableReplica, MemoryStore};
/// use deltacrdt::{GCounter, Hlc, MemoryNetwork, Replica, ReplicaId, SyncEngine};
/// let net = MemoryNetwork::default();
/// let (ia, ib) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let (mut ta, mut tb) = (net.endpoint(ia), net.endpoint(ib));
/// let config = DurableConfig { replica: Some(ia), ..DurableConfig::default() };
/// let mut a = DurableReplica::<GCounter, _>::open(MemoryStore::new(), config)?;
/// let mut b = SyncEngine::<GCounter>::new(Hlc::builder(ib).build()?);
/// a.connect(ib);
/// let commit = a.update(|c, hlc| Ok::<_, deltacrdt::Error>(c.increment(hlc.replica(), 5)))?;
/// assert!(commit.durable);
/// for now in 0..4 {
///     Replica::pump(&mut a, &mut ta, now)?; // a store failure would stop here, nothing sent
///     b.pump(&mut tb, now)?;
/// }
/// assert_eq!(b.state().value(), 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// Code written once against the trait edits and reads either kind:
/// ```
/// use deltacrdt::durable::{DurableConfig, DurableReplica, MemoryStore};
/// use deltacrdt::{Doc, Edit, Error, Hlc, Replica, ReplicaId, SyncEngine, UpdateError};
/// fn like<R: Replica<State = Doc>>(r: &mut R) -> Result<i64, UpdateError<Error, R::Error>> {
///     r.update(|doc, hlc| Ok(doc.apply_edit(hlc.replica(), &["likes"], Edit::Add(1))?))?;
///     Ok(r.state().counter(&["likes"]))
/// }
/// let id = ReplicaId::from_u128(1);
/// let mut engine = SyncEngine::<Doc>::new(Hlc::builder(id).build()?);
/// assert_eq!(like(&mut engine)?, 1);
/// let config = DurableConfig { replica: Some(id), ..DurableConfig::default() };
/// let mut durable = DurableReplica::<Doc, _>::open(MemoryStore::new(), config)?;
/// assert_eq!(like(&mut durable)?, 1);
/// assert_eq!(durable.durable_seq(), 1); // per-operation durability: on disk already
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Replica {
    /// The replicated state (a [`Lattice`], e.g. a [`Doc`](crate::Doc)).
    type State: Lattice;

    /// The replica's own failure (never a peer's frame): [`Infallible`] for a [`SyncEngine`],
    /// [`StoreError`](crate::durable::StoreError) for a durable replica.
    type Error: std::error::Error;

    /// This replica's id.
    fn id(&self) -> ReplicaId;

    /// The replicated state (a durable replica's includes changes not on disk yet).
    fn state(&self) -> &Self::State;

    /// The sequence number `c` ([`SyncEngine::seq`]).
    fn seq(&self) -> u64;

    /// The sync engine's counters ([`SyncEngine::stats`]).
    fn stats(&self) -> SyncStats;

    /// Applies a local mutation ([`SyncEngine::update`]): `f` mutates the state, stamping
    /// with the clock if it needs to, and returns the delta. A durable replica commits it
    /// under its [`Durability`](crate::durable::Durability). Returns the sequence number
    /// after the change.
    ///
    /// # Errors
    /// [`UpdateError::Edit`]: `f` failed, nothing changed. [`UpdateError::Replica`]: the
    /// change is applied in memory but its commit failed; it is retried by the next
    /// [`flush`](Self::flush) or [`poll_transmit`](Self::poll_transmit), and no frame leaves
    /// before one succeeds.
    fn update<E>(
        &mut self,
        f: impl FnOnce(&mut Self::State, &mut Hlc) -> Result<Delta<Self::State>, E>,
    ) -> Result<u64, UpdateError<E, Self::Error>>;

    /// [`update`](Self::update) with a mutation that cannot fail (one that returns its delta,
    /// as [`GCounter::increment`](crate::GCounter::increment) does): no `Result` around `f`.
    ///
    /// ```
    /// use deltacrdt::{GCounter, Hlc, Replica, ReplicaId, SyncEngine};
    /// let me = ReplicaId::from_u128(1);
    /// let mut engine = SyncEngine::<GCounter>::new(Hlc::builder(me).build()?);
    /// let seq = engine.edit(|c, _| c.increment(me, 2))?;
    /// assert_eq!((seq, engine.state().value()), (1, 2));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// The replica's ([`UpdateError::Replica`]'s meaning): a durable replica applied the
    /// change in memory but could not commit it. Never for a [`SyncEngine`].
    fn edit(
        &mut self,
        f: impl FnOnce(&mut Self::State, &mut Hlc) -> Delta<Self::State>,
    ) -> Result<u64, Self::Error>
    where
        Self: Sized,
    {
        match self.update(|state, hlc| Ok::<_, Infallible>(f(state, hlc))) {
            Ok(seq) => Ok(seq),
            Err(UpdateError::Edit(never)) => match never {},
            Err(UpdateError::Replica(err)) => Err(err),
        }
    }

    /// The sequence number up to which everything survives a crash: a durable replica's
    /// on-disk one, 0 for a [`SyncEngine`] (nothing does).
    fn durable_seq(&self) -> u64;

    /// Makes every change durable, with the peers' latest acknowledgements (nothing to do for
    /// a [`SyncEngine`]); returns [`durable_seq`](Self::durable_seq).
    ///
    /// # Errors
    /// [`Self::Error`]: nothing of this flush is on disk.
    fn flush(&mut self) -> Result<u64, Self::Error>;

    /// Advances the replica's time ([`SyncEngine::tick`]).
    fn tick(&mut self, now_ms: u64);

    /// When the next [`tick`](Self::tick) is due, or `None` if no timer runs
    /// ([`SyncEngine::poll_timeout`], which says when to call it: after every `receive`,
    /// `update`, `connect`, `tick` and drained `poll_transmit`).
    fn poll_timeout(&self) -> Option<u64>;

    /// Starts syncing with `peer` ([`SyncEngine::connect`]).
    fn connect(&mut self, peer: ReplicaId);

    /// Stops syncing with `peer` ([`SyncEngine::disconnect`]).
    fn disconnect(&mut self, peer: ReplicaId);

    /// The transport's session with `peer` closed ([`SyncEngine::session_closed`]).
    fn session_closed(&mut self, peer: ReplicaId);

    /// Starts or stops recording what received frames change
    /// ([`SyncEngine::record_changes`]).
    #[cfg(not(small_code))]
    fn record_changes(&mut self, on: bool);

    /// What received frames changed since the last call, per peer
    /// ([`SyncEngine::take_changes`]).
    #[cfg(not(small_code))]
    fn take_changes(&mut self) -> Vec<(ReplicaId, Self::State)>;

    /// Handles one frame from `from`; returns whether the state changed.
    ///
    /// # Errors
    /// A [`SyncError`] for a refused frame (nothing applied). A durable replica that applied
    /// the frame but could not write it does not fail here: the write is retried, and its
    /// failure reported, by the next [`poll_transmit`](Self::poll_transmit), before any frame
    /// (and so any acknowledgement of it) leaves.
    fn receive(&mut self, from: ReplicaId, frame: &[u8]) -> Result<bool, SyncError>;

    /// The next frame to send, if any.
    ///
    /// # Errors
    /// [`Self::Error`]: nothing is sent.
    fn poll_transmit(&mut self) -> Result<Option<Transmit>, Self::Error>;

    /// One turn of the sync loop over `transport`: advance the time to `now_ms`, hand every
    /// waiting frame to the replica, then send everything it has to say. A frame the replica
    /// refuses is reported in [`Pumped::refused`] and does not stop the loop.
    ///
    /// # Errors
    /// [`PumpError::Replica`] (no frame was sent after it) or [`PumpError::Transport`]; frames
    /// received before either were applied.
    fn pump<X: Transport>(
        &mut self,
        transport: &mut X,
        now_ms: u64,
    ) -> Result<Pumped, PumpError<Self::Error, X::Error>>
    where
        Self: Sized,
    {
        let mut pumped = Pumped::default();
        self.tick(now_ms);
        while let Some((from, frame)) = transport.recv().map_err(PumpError::Transport)? {
            pumped.received += 1;
            match self.receive(from, &frame) {
                Ok(changed) => pumped.changed |= changed,
                Err(err) => pumped.refused.push(err),
            }
        }
        while let Some(t) = self.poll_transmit().map_err(PumpError::Replica)? {
            transport
                .send(t.to, t.bytes)
                .map_err(PumpError::Transport)?;
            pumped.sent += 1;
        }
        Ok(pumped)
    }
}

/// Why [`Replica::pump`] stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PumpError<R, X> {
    /// The replica failed (a durable replica's store): nothing was sent after it.
    #[error("the replica failed: {0}")]
    Replica(#[source] R),
    /// The transport failed.
    #[error("the transport failed: {0}")]
    Transport(#[source] X),
}

/// Why [`Replica::update`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpdateError<E, R> {
    /// The mutation failed: nothing changed.
    #[error(transparent)]
    Edit(E),
    /// The replica could not commit the change (a durable replica's store): it is applied in
    /// memory, retried by the next flush, and no frame leaves before that succeeds.
    #[error("the change could not be committed: {0}")]
    Replica(#[source] R),
}

impl<T: crate::causal::Reconcile + Serialize + DeserializeOwned> Replica for SyncEngine<T> {
    type State = T;
    type Error = Infallible;

    fn id(&self) -> ReplicaId {
        SyncEngine::id(self)
    }

    fn state(&self) -> &T {
        SyncEngine::state(self)
    }

    fn seq(&self) -> u64 {
        SyncEngine::seq(self)
    }

    fn stats(&self) -> SyncStats {
        SyncEngine::stats(self)
    }

    fn update<E>(
        &mut self,
        f: impl FnOnce(&mut T, &mut Hlc) -> Result<Delta<T>, E>,
    ) -> Result<u64, UpdateError<E, Infallible>> {
        SyncEngine::update(self, f).map_err(UpdateError::Edit)?;
        Ok(SyncEngine::seq(self))
    }

    fn durable_seq(&self) -> u64 {
        0
    }

    fn flush(&mut self) -> Result<u64, Infallible> {
        Ok(0)
    }

    fn tick(&mut self, now_ms: u64) {
        SyncEngine::tick(self, now_ms);
    }

    fn poll_timeout(&self) -> Option<u64> {
        SyncEngine::poll_timeout(self)
    }

    fn connect(&mut self, peer: ReplicaId) {
        SyncEngine::connect(self, peer);
    }

    fn disconnect(&mut self, peer: ReplicaId) {
        SyncEngine::disconnect(self, peer);
    }

    fn session_closed(&mut self, peer: ReplicaId) {
        SyncEngine::session_closed(self, peer);
    }

    #[cfg(not(small_code))]
    fn record_changes(&mut self, on: bool) {
        SyncEngine::record_changes(self, on);
    }

    #[cfg(not(small_code))]
    fn take_changes(&mut self) -> Vec<(ReplicaId, T)> {
        SyncEngine::take_changes(self)
    }

    fn receive(&mut self, from: ReplicaId, frame: &[u8]) -> Result<bool, SyncError> {
        SyncEngine::receive(self, from, frame)
    }

    fn poll_transmit(&mut self) -> Result<Option<Transmit>, Infallible> {
        Ok(SyncEngine::poll_transmit(self))
    }
}

impl<T: crate::causal::Reconcile + Serialize + DeserializeOwned> SyncEngine<T> {
    /// One turn of the sync loop over `transport` ([`Replica::pump`], for an engine that cannot
    /// fail itself): advance the clock to `now_ms`, hand every waiting frame to the engine,
    /// then send everything the engine has to say. A frame the engine refuses is reported in [`Pumped::refused`] and does not stop the loop.
    ///
    /// # Errors
    /// The transport's error; frames received before it were applied.
    ///
    /// # Examples
    /// ```
    /// use deltacrdt::{GCounter, Hlc, MemoryNetwork, ReplicaId, SyncEngine};
    /// let net = MemoryNetwork::default();
    /// let (ia, ib) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let (mut ta, mut tb) = (net.endpoint(ia), net.endpoint(ib));
    /// let mut a = SyncEngine::<GCounter>::new(Hlc::builder(ia).build()?);
    /// let mut b = SyncEngine::<GCounter>::new(Hlc::builder(ib).build()?);
    /// a.connect(ib);
    /// a.update(|c, hlc| Ok::<_, deltacrdt::Error>(c.increment(hlc.replica(), 5)))?;
    /// for now in 0..4 {
    ///     a.pump(&mut ta, now)?;
    ///     b.pump(&mut tb, now)?;
    /// }
    /// assert_eq!(b.state().value(), 5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn pump<X: Transport>(
        &mut self,
        transport: &mut X,
        now_ms: u64,
    ) -> Result<Pumped, X::Error> {
        match Replica::pump(self, transport, now_ms) {
            Ok(pumped) => Ok(pumped),
            Err(PumpError::Replica(never)) => match never {},
            Err(PumpError::Transport(err)) => Err(err),
        }
    }
}
