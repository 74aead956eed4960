//! Relay-aware forwarding (format minor 2): a relay does not send a neighbour what the
//! neighbour says it holds, and holds a relayed delta back briefly so that it can hear so.
//!
//! Delta-interval anti-entropy relays every delta a replica applied to every other
//! neighbour. In a full mesh each neighbour already got it from the delta's origin, so each
//! update crosses every link: 4× the bytes of sending it once to each of 4 peers. Redundancy
//! removal strips the duplicate only after it crossed the wire. Here, as in Plumtree's lazy
//! push (Leitão, Pereira, Rodrigues, *Epidemic Broadcast Trees*, SRDS 2007), the neighbour
//! says what it got, and the relay skips it:
//!
//! - A data message of `A`'s ending at `A`'s sequence number `m` leaves its receiver `C`
//!   holding all of `A`'s state at `m` (every message starts at what `C` acknowledged, and
//!   skips only what `C` has). `C` tells a neighbour `B` so in a **holds** frame, `(A, m)`,
//!   once `B` asked for `A`'s marks (`B` asks, in its own holds frame, the first time it
//!   relays `A`'s deltas to `C`), and again whenever the mark advances. In a ring nobody
//!   asks for a replica its peer does not sync with, so no marks flow.
//! - `B` buffered what it got from `A` with `A`'s sequence number. Shipping to `C`, it skips a
//!   delta `C`'s holds cover. If `C` syncs with `A` too (it told `B` what it holds of `A`), a
//!   relayed delta of `A`'s not covered yet and younger than
//!   [`SyncConfig::relay_hold_ms`](crate::SyncConfig) ends the interval: `C` likely got it
//!   from `A`, and its holds frame is on its way. Past the hold the delta goes anyway, so a
//!   link that went down is covered by the relays after one hold, without a timeout of its
//!   own; a peer that does not sync with `A` (a ring, a sparse mesh) gets `A`'s deltas
//!   relayed at once.
//! - A peer's claims only make us send *it* less: a peer that lies about what it holds
//!   starves itself until reconciliation's repair finds the difference, and never makes us
//!   drop anything another peer needs. Claims are kept only for replicas that are our peers
//!   (bounded by [`SyncConfig::max_peers`](crate::SyncConfig)).
//!
//! Only peers whose hello announced minor 2 get holds frames or have deltas held back for them.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::buffer::Source;
use super::engine::{SyncEngine, Transmit};
use super::message;
use super::sorted_map::SortedMap;
use crate::causal::Reconcile;
use crate::codec::FrameKind;
use crate::id::ReplicaId;

/// The first minor version with holds frames.
const MINOR_HOLDS: u64 = 2;

/// What relaying tracks per peer.
#[derive(Debug, Default)]
pub(crate) struct PeerRelay {
    /// The minor version the peer's last hello announced.
    pub(crate) minor: u64,
    /// The highest of the peer's sequence numbers whose message we applied: we hold all of
    /// its state at that number.
    pub(crate) applied: Option<u64>,
    /// What the peer says it holds: each replica's state up to that sequence number.
    pub(crate) holds: SortedMap<ReplicaId, u64>,
    /// What we last told the peer we hold, so that only advances go out.
    pub(crate) told: SortedMap<ReplicaId, u64>,
    /// The replicas whose marks the peer asked for (it relays their deltas to us), among
    /// our peers.
    pub(crate) wanted: SortedMap<ReplicaId, ()>,
    /// The replicas whose marks we asked the peer for.
    pub(crate) asked: SortedMap<ReplicaId, ()>,
    /// Replicas to ask the peer about in the next holds frame: we relay their deltas to it.
    pub(crate) asking: Vec<ReplicaId>,
    /// When the delta our last interval to the peer ended before is due anyway.
    pub(crate) hold_until: Option<u64>,
}

impl PeerRelay {
    /// Whether the peer understands holds frames.
    pub(crate) fn speaks_holds(&self) -> bool {
        self.minor >= MINOR_HOLDS
    }

    /// Whether the peer said it holds the buffered delta (so it is left out of what we ship).
    pub(crate) fn covers(&self, source: &Source) -> bool {
        match (source.origin, source.via) {
            (Some(origin), Some(via)) => self.holds.get(&origin).is_some_and(|&m| m >= via),
            _ => false,
        }
    }

    /// When the hold of a buffered delta relayed from another peer than `to` (this one) ends,
    /// if it is held back at time `now`: the peer syncs with the delta's origin too (it told
    /// us what it holds of it), so likely got it from there, and `hold_ms` since it was
    /// buffered have not passed. Asks the peer for the origin's marks the first time.
    fn held_until(
        &mut self,
        to: ReplicaId,
        source: &Source,
        now: u64,
        hold_ms: u64,
    ) -> Option<u64> {
        let (Some(origin), Some(via)) = (source.origin, source.via) else {
            return None;
        };
        if origin == to {
            return None;
        }
        if self.speaks_holds()
            && !self.asked.contains_key(&origin)
            && !self.asking.contains(&origin)
        {
            self.asking.push(origin);
        }
        // A peer that never said it syncs with the origin: nothing to wait for.
        let mark = *self.holds.get(&origin)?;
        let until = source.at.saturating_add(hold_ms);
        (mark < via && until > now).then_some(until)
    }
}

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
