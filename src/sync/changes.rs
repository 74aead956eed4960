//! What received frames changed, kept per peer for the driver that asked
//! ([`SyncEngine::record_changes`](super::SyncEngine::record_changes)), so a change stream can
//! say which peer changed what without the engine knowing who listens.
//!
//! Bounded: one delta-group per peer, joined as frames arrive and emptied when taken, so a
//! driver that takes late holds at most one value per peer (each no larger than the state).

use crate::id::ReplicaId;
use crate::lattice::Lattice;

/// The new parts of received values since they were last taken, per sending peer, in the order
/// peers first sent one; recorded only while switched on.
#[derive(Debug)]
pub(super) struct Changes<T> {
    on: bool,
    by_peer: Vec<(ReplicaId, T)>,
}

impl<T> Default for Changes<T> {
    fn default() -> Self {
        Self {
            on: false,
            by_peer: Vec::new(),
        }
    }
}

impl<T: Lattice> Changes<T> {
    /// Starts (or stops, dropping what was kept) recording.
    pub(super) fn record(&mut self, on: bool) {
        self.on = on;
        if !on {
            self.by_peer = Vec::new();
        }
    }

    /// `novel`, the new part of a value from `from`, was joined into the state: kept (cloned)
    /// while recording, ignored otherwise.
    pub(super) fn note(&mut self, from: ReplicaId, novel: &T) {
        if !self.on {
            return;
        }
        match self.by_peer.iter_mut().find(|(peer, _)| *peer == from) {
            Some((_, kept)) => kept.join(novel.clone()),
            None => self.by_peer.push((from, novel.clone())),
        }
    }

    /// What was kept, emptying it.
    pub(super) fn take(&mut self) -> Vec<(ReplicaId, T)> {
        core::mem::take(&mut self.by_peer)
    }
}
