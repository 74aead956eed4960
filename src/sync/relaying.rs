//! The engine's side of relay-aware forwarding: taking in holds frames, telling peers what
//! we hold, and where an interval to a peer ends (the rules are in `relay`).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::engine::{SyncEngine, Transmit};
use super::message;
use crate::causal::Reconcile;
use crate::codec::FrameKind;
use crate::id::ReplicaId;

impl<T: Reconcile + Serialize + DeserializeOwned> SyncEngine<T> {
    /// A holds frame from `from`: what it says it holds of our other peers' states, and whose
    /// marks it wants from us. Replicas that are not our peers are ignored.
    pub(super) fn on_holds(
        &mut self,
        from: ReplicaId,
        marks: Vec<(ReplicaId, u64)>,
        wants: Vec<ReplicaId>,
    ) {
        if !self.config.relay_aware {
            return;
        }
        let me = self.id();
        let ours = |id: &ReplicaId| *id != from && *id != me && self.peers.contains_key(id);
        let marks: Vec<(ReplicaId, u64)> = marks.into_iter().filter(|(id, _)| ours(id)).collect();
        let wants: Vec<ReplicaId> = wants.into_iter().filter(|id| ours(id)).collect();
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        for (id, seq) in marks {
            let mark = peer.relay.holds.get(&id).map_or(seq, |&m| m.max(seq));
            peer.relay.holds.insert(id, mark);
        }
        for id in wants {
            peer.relay.wanted.insert(id, ());
        }
    }

    /// We applied `from`'s message ending at its sequence number `seq`.
    pub(super) fn note_applied(&mut self, from: ReplicaId, seq: u64) {
        if let Some(peer) = self.peers.get_mut(&from) {
            peer.relay.applied = Some(peer.relay.applied.map_or(seq, |a| a.max(seq)));
        }
    }

    /// Tells `to` (if it speaks minor 2) what it asked to hear of our other peers' states and
    /// we have not told it yet, and asks it about the replicas whose deltas we relay to it.
    pub(super) fn tell_holds(&mut self, to: ReplicaId) {
        let Some(peer) = self.peers.get(&to) else {
            return;
        };
        if !self.config.relay_aware || !peer.heard || !peer.relay.speaks_holds() {
            return;
        }
        let relay = &peer.relay;
        let marks: Vec<(ReplicaId, u64)> = self
            .peers
            .iter()
            .filter(|(id, _)| relay.wanted.contains_key(id))
            .filter_map(|(id, p)| p.relay.applied.map(|m| (*id, m)))
            .filter(|(id, m)| relay.told.get(id).is_none_or(|t| t < m))
            .collect();
        if marks.is_empty() && relay.asking.is_empty() {
            return;
        }
        let Some(peer) = self.peers.get_mut(&to) else {
            return;
        };
        let wants = std::mem::take(&mut peer.relay.asking);
        let bytes = message::holds(&marks, &wants);
        for (id, m) in marks {
            peer.relay.told.insert(id, m);
        }
        for id in wants {
            peer.relay.asked.insert(id, ());
        }
        self.outbox
            .push_back((FrameKind::Holds, Transmit { to, bytes }));
    }

    /// Where an interval to `to` from `from` ends: before the first delta held back for it,
    /// or at our sequence number. A delta that goes (a local one, or one relayed from a
    /// replica the peer does not sync with) waits behind held ones half the hold at most:
    /// then it goes with them (intervals keep causal order, so it cannot overtake them), and
    /// later held ones stay held. `skip` is the peer when back-propagation is avoided.
    pub(super) fn relay_upto(&mut self, to: ReplicaId, from: u64, skip: Option<ReplicaId>) -> u64 {
        let (now, hold, seq) = (self.now, self.config.relay_hold_ms, self.seq);
        let Some(peer) = self.peers.get_mut(&to) else {
            return seq;
        };
        let relay = &mut peer.relay;
        relay.hold_until = None;
        let Some(sources) = self.buffer.sources(from) else {
            return seq;
        };
        // The first held delta not released yet, and when its hold ends.
        let mut stop: Option<(u64, u64)> = None;
        for (n, source) in sources {
            if (skip.is_some() && source.origin == skip) || relay.covers(source) {
                continue;
            }
            match relay.held_until(to, source, now, hold) {
                Some(until) => {
                    stop = stop.or(Some((n, until)));
                }
                None => {
                    if let Some((at, until)) = stop {
                        // A delta that goes waits behind the held ones, briefly.
                        let until = until.min(source.at.saturating_add(hold / 2));
                        if until > now {
                            relay.hold_until = Some(until);
                            return at;
                        }
                        // Released: the held ones before it go with it.
                        stop = None;
                    }
                }
            }
        }
        match stop {
            Some((at, until)) => {
                relay.hold_until = Some(until);
                at
            }
            None => seq,
        }
    }

    /// A peer is gone: nothing it was told or said about `id` is kept.
    pub(super) fn forget_relay(&mut self, id: ReplicaId) {
        for peer in self.peers.values_mut() {
            let relay = &mut peer.relay;
            relay.holds.remove(&id);
            relay.told.remove(&id);
            relay.wanted.remove(&id);
            relay.asked.remove(&id);
            relay.asking.retain(|a| *a != id);
        }
    }
}
