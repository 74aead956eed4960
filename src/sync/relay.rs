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
//!   relayed at once. A delta behind a held one that would go (a local one, say) waits half
//!   the hold at most, then goes with the held ones before it: intervals never skip a delta
//!   they end after, so updates stay in causal order, and the hold adds at most half of it to
//!   what the peer gets from us alone.
//! - A peer's claims only make us send *it* less: a peer that lies about what it holds
//!   starves itself until reconciliation's repair finds the difference, and never makes us
//!   drop anything another peer needs. Claims are kept only for replicas that are our peers
//!   (bounded by [`SyncConfig::max_peers`](crate::SyncConfig)).
//!
//! Only peers whose hello announced minor 2 get holds frames or have deltas held back for them.
//! This file keeps what relaying tracks per peer and decides per delta; the engine's side is in
//! `relaying`.

use super::buffer::Source;
use super::sorted_map::SortedMap;
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
    pub(crate) fn held_until(
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
