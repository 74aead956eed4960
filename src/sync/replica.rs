//! `Replica`: what a sync loop drives, so the loop is written once for a plain
//! [`SyncEngine`] and for a [`DurableReplica`](crate::durable::DurableReplica).

use std::convert::Infallible;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Pumped, SyncEngine, SyncError, Transmit, Transport};
use crate::{Lattice, ReplicaId};

/// A replica a sync loop can drive: frames in, frames out, time and peers.
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
pub trait Replica {
    /// The replica's own failure (never a peer's frame): [`Infallible`] for a [`SyncEngine`],
    /// [`StoreError`](crate::durable::StoreError) for a durable replica.
    type Error: std::error::Error;

    /// This replica's id.
    fn id(&self) -> ReplicaId;

    /// Advances the replica's time ([`SyncEngine::tick`]).
    fn tick(&mut self, now_ms: u64);

    /// Starts syncing with `peer` ([`SyncEngine::connect`]).
    fn connect(&mut self, peer: ReplicaId);

    /// Stops syncing with `peer` ([`SyncEngine::disconnect`]).
    fn disconnect(&mut self, peer: ReplicaId);

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

impl<T: Lattice + Serialize + DeserializeOwned> Replica for SyncEngine<T> {
    type Error = Infallible;

    fn id(&self) -> ReplicaId {
        self.replica()
    }

    fn tick(&mut self, now_ms: u64) {
        SyncEngine::tick(self, now_ms);
    }

    fn connect(&mut self, peer: ReplicaId) {
        SyncEngine::connect(self, peer);
    }

    fn disconnect(&mut self, peer: ReplicaId) {
        SyncEngine::disconnect(self, peer);
    }

    fn receive(&mut self, from: ReplicaId, frame: &[u8]) -> Result<bool, SyncError> {
        SyncEngine::receive(self, from, frame)
    }

    fn poll_transmit(&mut self) -> Result<Option<Transmit>, Infallible> {
        Ok(SyncEngine::poll_transmit(self))
    }
}
