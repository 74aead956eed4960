//! The one trait a transport implements, an in-memory transport, and the loop that drives an
//! engine over any transport.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use super::SyncError;
use crate::id::ReplicaId;

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

/// What one [`SyncEngine::pump`](crate::SyncEngine::pump) did.
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
