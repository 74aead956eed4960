//! What a spawned node's change stream delivers: each change to the state, where it came from
//! and exactly what it changed.

use std::sync::Arc;

use crate::id::ReplicaId;

/// Where a [`Change`] came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Origin {
    /// An edit made through this node's [`NodeHandle`](crate::NodeHandle).
    Local,
    /// Frames received from this peer (it may have relayed other replicas' edits).
    Remote(ReplicaId),
}

/// One change to a spawned node's state, from its [`ChangeStream`](crate::ChangeStream).
///
/// `delta` is what changed and nothing else: the delta of a local edit, or the join of the new
/// parts of what one peer sent since the node last looked (one change per peer per turn of the
/// node, however many frames it sent). For a [`Doc`](crate::Doc) it holds exactly the fields
/// that changed, so a view re-renders those; joining it into an older snapshot brings the
/// snapshot up to date.
#[derive(Debug)]
pub struct Change<S> {
    /// Where it came from.
    pub origin: Origin,
    /// The replica's sequence number after the change was applied.
    pub seq: u64,
    /// What changed (shared: every subscriber sees the same value).
    pub delta: Arc<S>,
}

impl<S> Clone for Change<S> {
    fn clone(&self) -> Self {
        Self {
            origin: self.origin,
            seq: self.seq,
            delta: Arc::clone(&self.delta),
        }
    }
}

/// How far a spawned node's peers have caught up, as of its last turn
/// ([`NodeHandle::progress`](crate::NodeHandle::progress)); what
/// [`NodeHandle::synced`](crate::NodeHandle::synced) waits on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// The replica's id (it changes if the replica forks to a fresh id).
    pub id: ReplicaId,
    /// The replica's sequence number `c`: every local edit and every new remote delta adds one.
    pub seq: u64,
    /// The peers the replica knows, sorted by id.
    pub peers: Vec<PeerProgress>,
    /// The last failure of the replica to commit or send (a durable replica's store error), if
    /// the last turn failed; the node retries.
    pub failing: Option<String>,
}

/// One peer in [`Progress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerProgress {
    /// The peer's replica id.
    pub peer: ReplicaId,
    /// Whether a session with it is open.
    pub connected: bool,
    /// The greatest sequence number of ours it acknowledged (it holds everything up to it).
    pub acked: Option<u64>,
}

impl Progress {
    /// Whether `peer` is connected and has acknowledged everything up to `seq`.
    #[must_use]
    pub fn peer_holds(&self, peer: ReplicaId, seq: u64) -> bool {
        self.peers
            .iter()
            .any(|p| p.peer == peer && p.connected && p.acked.unwrap_or(0) >= seq)
    }

    /// Whether at least one peer is connected and every connected peer has acknowledged
    /// everything up to `seq`.
    #[must_use]
    pub fn all_connected_hold(&self, seq: u64) -> bool {
        let mut connected = self.peers.iter().filter(|p| p.connected).peekable();
        connected.peek().is_some() && connected.all(|p| p.acked.unwrap_or(0) >= seq)
    }
}
