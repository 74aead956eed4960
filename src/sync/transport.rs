//! The one trait a transport implements, an in-memory transport, and the loop that drives an
//! engine over any transport.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{PumpError, Replica, SyncEngine, SyncError};
use crate::{Lattice, ReplicaId};

/// Carries frames between replicas: implement it over TCP, WebSocket, a message queue, a
/// browser channel — anything that moves bytes to a named peer.
///
/// The engine tolerates loss, duplication and reordering, so a transport needs no delivery
/// guarantee of its own; it must only say truthfully which peer a frame came from (an
/// authenticated channel where peers are untrusted).
pub trait Transport {
    /// Why sending or receiving failed.
    type Error: std::error::Error;

    /// Queues `frame` for `to`.
    ///
    /// # Errors
    /// When the frame cannot be queued; the engine's retransmission repairs the loss.
    fn send(&mut self, to: ReplicaId, frame: Vec<u8>) -> Result<(), Self::Error>;

    /// The next frame that arrived, with its sender, or `None` if none is waiting (never
    /// blocks).
    ///
    /// # Errors
    /// When the transport itself failed.
    fn recv(&mut self) -> Result<Option<(ReplicaId, Vec<u8>)>, Self::Error>;
}

/// What one [`SyncEngine::pump`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pumped {
    /// Frames received and handed to the engine.
    pub received: usize,
    /// Frames sent.
    pub sent: usize,
    /// Whether a received frame changed the state.
    pub changed: bool,
    /// Frames the engine refused (the replica is unchanged by them; the loop went on).
    pub refused: Vec<SyncError>,
}

impl<T: Lattice + Serialize + DeserializeOwned> SyncEngine<T> {
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

type Inboxes = HashMap<ReplicaId, VecDeque<(ReplicaId, Vec<u8>)>>;

/// An in-process network: every [`endpoint`](Self::endpoint) gets an inbox, and frames are
/// delivered in order, instantly and reliably. For tests, examples and replicas in one process;
/// clones share the network.
#[derive(Clone, Debug, Default)]
pub struct MemoryNetwork {
    inboxes: Arc<Mutex<Inboxes>>,
}

impl MemoryNetwork {
    /// The transport of replica `id` on this network (registering its inbox).
    pub fn endpoint(&self, id: ReplicaId) -> MemoryTransport {
        self.with(|inboxes| {
            inboxes.entry(id).or_default();
        });
        MemoryTransport {
            id,
            network: self.clone(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inboxes) -> R) -> R {
        f(&mut self.inboxes.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

/// One replica's end of a [`MemoryNetwork`].
#[derive(Clone, Debug)]
pub struct MemoryTransport {
    id: ReplicaId,
    network: MemoryNetwork,
}

/// A frame addressed to a replica with no endpoint on the [`MemoryNetwork`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no endpoint for replica {0} on this memory network")]
pub struct UnknownEndpoint(pub ReplicaId);

impl Transport for MemoryTransport {
    type Error = UnknownEndpoint;

    fn send(&mut self, to: ReplicaId, frame: Vec<u8>) -> Result<(), Self::Error> {
        let from = self.id;
        self.network.with(|inboxes| match inboxes.get_mut(&to) {
            Some(inbox) => {
                inbox.push_back((from, frame));
                Ok(())
            }
            None => Err(UnknownEndpoint(to)),
        })
    }

    fn recv(&mut self) -> Result<Option<(ReplicaId, Vec<u8>)>, Self::Error> {
        let id = self.id;
        Ok(self
            .network
            .with(|inboxes| inboxes.get_mut(&id).and_then(VecDeque::pop_front)))
    }
}
