//! One peer's reconciliation rounds: what each side announced it had seen, the coded symbols
//! of the dots each holds inside both announcements, and the verdict (see
//! `reconcile/DESIGN.md` for the choice of rateless IBLTs, and `SyncEngine`'s docs for the
//! protocol).
//!
//! A round compares two *announced* contexts, snapshots each side took when it announced: the
//! items of both sides are their held dots inside both snapshots, so a dot one side learned
//! after its announcement is outside the round on both sides. Inside both snapshots a dot held
//! by one side and not the other was seen by both and is no longer live at one of them:
//! removed there, since a seen dot never becomes live again. That holds whenever each side
//! builds its items, so items are built from the state as it is when they are needed.

use crate::causal::dot_store::SEAL;
use crate::causal::{CausalContext, Dot, Reconcile};
use crate::id::ReplicaId;

use super::message;
use super::reconcile::{Decoder, Encoder, SessionKey, Symbol};
use super::sorted_map::SortedMap;
use super::{SyncConfig, SyncStats};
use crate::clock::Hlc;

/// The largest replica index and counter a packed item can carry, and the bits of the content
/// digest between them.
const INDEX_BITS: u32 = 16;
const DIGEST_BITS: u32 = 8;
const COUNTER_BITS: u32 = 40;

/// What this side does in a round.
#[derive(Debug)]
pub(crate) enum Role {
    /// Waiting for the peer's announcement (ours went out).
    Announced,
    /// We send coded symbols: those sent so far (kept to resend), the last batch at
    /// `sent_at`, resent `resends` times since.
    Sketcher {
        encoder: Box<Encoder>,
        symbols: Vec<Symbol>,
        sent_at: u64,
        resends: u32,
    },
    /// We decode the peer's symbols against ours (built when the first symbols arrive);
    /// `have` symbols arrived.
    Decoder {
        decoder: Option<Box<Decoder>>,
        have: u64,
    },
    /// Over.
    Finished(Outcome),
}

/// How a round ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The difference was found (a base was made for the peer, or it lacked nothing).
    Decoded,
    /// The peer announced an empty context: it gets the full state.
    Empty,
    /// Given up (too many symbols, inconsistent ones, a peer that does not reconcile): a
    /// peer without acknowledgements gets the full state.
    Failed,
    /// No answer in time (a partition, a lost peer): the next gap tries a new round.
    Stalled,
}

/// One round with a peer.
#[derive(Debug)]
pub(crate) struct Round {
    pub(crate) id: u64,
    /// Our announced snapshot (resent as it is, so both sides agree on it).
    pub(crate) ours: CausalContext,
    /// The dots we held when we took `ours` (announced with it).
    pub(crate) held: u64,
    pub(crate) theirs: Option<CausalContext>,
    /// The dots the peer held when it took its snapshot, as it announced (only a hint for
    /// the size of the first batch of symbols: nothing else trusts it).
    pub(crate) theirs_held: u64,
    pub(crate) role: Role,
    /// When the round last made progress (tick time, ms): a round stalled for long is given up.
    pub(crate) at: u64,
    /// Our sequence number when we announced `ours`: every change after the snapshot is in
    /// the delta buffer from there, so the base made at the end ships with the deltas since.
    /// (Items are built later, from the state as it is then; a dot we learned after the
    /// snapshot and removed is outside our items, and only those deltas carry its removal.)
    pub(crate) since: u64,
    /// The decoder's items it told the peer it lacks (resent if the verdict is lost).
    pub(crate) told: Vec<u64>,
    /// When our announcement last went out (resent until the peer's comes), or when we last
    /// asked the peer to announce again after symbols of another pair (see `pair`).
    pub(crate) sent_at: u64,
    /// The [`pair_check`] of the two announcements the round's symbols are computed from
    /// (sketcher's first), once both are in: symbols carrying another check were computed
    /// against an announcement this side does not hold for the round (a late hello of an
    /// earlier session took its place on one side), and mixing them would spoil the decode.
    pub(crate) pair: Option<u32>,
}

impl Round {
    pub(crate) fn new(id: u64, (ours, held): (CausalContext, u64), now: u64, since: u64) -> Self {
        Self {
            id,
            ours,
            held,
            theirs: None,
            theirs_held: 0,
            role: Role::Announced,
            at: now,
            since,
            told: Vec::new(),
            sent_at: now,
            pair: None,
        }
    }

    /// Whether the round still holds back a full state or a base for the peer.
    pub(crate) fn busy(&self) -> bool {
        !matches!(self.role, Role::Finished(_))
    }
}

/// A session's reconciliation state, kept per peer.
#[derive(Debug)]
pub(crate) struct PeerRounds {
    /// Our nonce for this session (the session key is ours XOR the peer's).
    pub(crate) nonce: [u8; 16],
    /// The peer's nonce, from its hello (minor-0 peers send none and do not reconcile).
    pub(crate) theirs: Option<[u8; 16]>,
    /// The session's tag, from both nonces: every reconciliation frame carries it, and one of
    /// another session (a peer's earlier life, still in flight) is ignored.
    pub(crate) tag: u32,
    /// The round under way or last finished.
    pub(crate) round: Option<Round>,
    /// Our announcement of the session's first round (with the dots we held), which every
    /// hello of the session carries (a peer whose first hello was lost still gets it, whatever
    /// round we are in).
    pub(crate) first: Option<(CausalContext, u64)>,
    /// Rounds started this session (capped by `SyncConfig::max_rounds`).
    pub(crate) count: u32,
    /// The highest round number the peer announced this session.
    pub(crate) last_id: u64,
    /// When a quiet session next compares fingerprints (tick time, ms).
    pub(crate) digest_at: u64,
    /// Our fingerprint for this session, with the sequence number it was computed at.
    pub(crate) fingerprint: Option<(u64, u64)>,
    /// A frame came from the peer since the last round started (a stalled round is retried
    /// then, or once [`stalled_unheard`](Self::stalled_unheard)'s retry time has passed).
    pub(crate) heard: bool,
    /// The next base made for this peer also carries our part at [`Reconciler::exposed`]
    /// (set for every peer when we fork).
    pub(crate) expose: bool,
}

impl PeerRounds {
    pub(crate) fn new(nonce: [u8; 16]) -> Self {
        Self {
            nonce,
            theirs: None,
            tag: 0,
            round: None,
            first: None,
            count: 0,
            last_id: 0,
            digest_at: 0,
            fingerprint: None,
            heard: false,
            expose: false,
        }
    }

    /// Records the peer's nonce: the session key and tag follow from it.
    pub(crate) fn met(&mut self, theirs: [u8; 16]) {
        self.theirs = Some(theirs);
        self.tag = session_key(self.nonce, theirs).hash(u64::MAX) as u32;
    }

    /// Whether the peer reconciles (it sent a minor-1 hello with a nonce).
    pub(crate) fn reconciles(&self) -> bool {
        self.theirs.is_some()
    }

    /// Whether the last round ended because the peer announced an empty context.
    pub(crate) fn announced_empty(&self) -> bool {
        self.round
            .as_ref()
            .is_some_and(|r| matches!(r.role, Role::Finished(Outcome::Empty)))
    }

    /// The last round, if it was given up for silence and the peer has not been heard from
    /// since: the next one waits for the peer, or for the retry time.
    pub(crate) fn stalled_unheard(&self) -> Option<&Round> {
        self.round
            .as_ref()
            .filter(|r| !self.heard && matches!(r.role, Role::Finished(Outcome::Stalled)))
    }

    /// Whether a round holds back what we ship to the peer.
    pub(crate) fn busy(&self) -> bool {
        self.round.as_ref().is_some_and(Round::busy)
    }
}

/// The replicas both snapshots have seen events of, sorted: a packed item's replica index is
/// its position here, the same on both sides.
pub(crate) fn shared_replicas(a: &CausalContext, b: &CausalContext) -> Vec<ReplicaId> {
    let mut ids: Vec<ReplicaId> = a
        .version_vector()
        .map(|(id, _)| id)
        .chain(a.cloud().map(|d| d.replica))
        .filter(|&id| b.has_seen(id))
        .collect();
    crate::platform::sort::sort_unstable(&mut ids);
    ids.dedup();
    ids
}

/// The held dots inside both snapshots, packed as `index << 48 | digest << 40 | counter`, where
/// `digest` is 8 bits of the keyed hash of the dot's content digest and the round number: one
/// dot held with other content on each side gives two items, so the round finds it, and two
/// contents whose bits collide in one round (1 in 256) very likely differ in the next (the
/// repair fingerprint, with all 64 bits, keeps opening rounds until then). `None` if one does
/// not fit (a table of 2¹⁶ replicas or a counter past 2⁴⁰: the round is not run).
pub(crate) fn items<T: Reconcile>(
    state: &T,
    replicas: &[ReplicaId],
    (ours, theirs): (&CausalContext, &CausalContext),
    (key, round): (&SessionKey, u64),
) -> Option<Vec<u64>> {
    if replicas.len() >= 1 << INDEX_BITS {
        return None;
    }
    let mut out = Vec::new();
    let mut fits = true;
    state.for_each_held_digest(
        &mut |dot, digest| {
            if !(ours.contains(dot) && theirs.contains(dot)) {
                return;
            }
            match (
                replicas.binary_search(&dot.replica),
                dot.counter < 1 << COUNTER_BITS,
            ) {
                (Ok(i), true) => out.push(
                    ((i as u64) << (DIGEST_BITS + COUNTER_BITS))
                        | ((key.hash(digest ^ round.rotate_left(32)) & ((1 << DIGEST_BITS) - 1))
                            << COUNTER_BITS)
                        | dot.counter,
                ),
                _ => fits = false,
            }
        },
        SEAL,
    );
    fits.then_some(out)
}

/// The dot behind a packed item, or `None` for one no side could have made (a lying peer's).
pub(crate) fn unpack(item: u64, replicas: &[ReplicaId]) -> Option<Dot> {
    let replica = replicas.get(usize::try_from(item >> (DIGEST_BITS + COUNTER_BITS)).ok()?)?;
    let counter = item & ((1 << COUNTER_BITS) - 1);
    (counter > 0).then(|| Dot::new(*replica, counter))
}

/// Keyed hashes of dots under a session key (each replica id hashed once).
pub(crate) struct DotHasher<'k> {
    key: &'k SessionKey,
    replicas: crate::platform::hash::HashMap<ReplicaId, u64>,
}

impl<'k> DotHasher<'k> {
    pub(crate) fn new(key: &'k SessionKey) -> Self {
        Self {
            key,
            replicas: crate::platform::hash::HashMap::default(),
        }
    }

    /// The keyed hash of `dot` under `tag`: the replica id's two halves chained, then the
    /// counter and the tag.
    pub(crate) fn dot(&mut self, tag: u64, dot: Dot) -> u64 {
        let key = self.key;
        let r = *self.replicas.entry(dot.replica).or_insert_with(|| {
            let id = u128::from_le_bytes(*dot.replica.as_bytes());
            key.hash(key.hash(id as u64) ^ (id >> 64) as u64)
        });
        key.hash(r ^ dot.counter.rotate_left(2) ^ tag)
    }

    /// The order-independent hash of what `ctx` has seen: its version vector's entries
    /// (tag 0) and its cloud's dots (tag 1).
    pub(crate) fn context(&mut self, ctx: &CausalContext) -> u64 {
        let mut h = 0u64;
        for (replica, max) in ctx.version_vector() {
            h ^= self.dot(0, Dot::new(replica, max));
        }
        for dot in ctx.cloud() {
            h ^= self.dot(1, dot);
        }
        h
    }
}

/// A round's pair check: 32 bits of the keyed hash of the sketcher's announcement, then the
/// decoder's. Sketch frames carry it; both sides compute it when both announcements are in.
pub(crate) fn pair_check(
    key: &SessionKey,
    sketcher: &CausalContext,
    decoder: &CausalContext,
) -> u32 {
    let mut h = DotHasher::new(key);
    let (s, d) = (h.context(sketcher), h.context(decoder));
    key.hash(s ^ key.hash(d)) as u32
}

/// The session key of two hello nonces.
pub(crate) fn session_key(ours: [u8; 16], theirs: [u8; 16]) -> SessionKey {
    SessionKey::from_nonces(ours, theirs)
}

/// What a peer lacks as of our sequence number `seq`, found by a reconciliation round: the
/// next data message carries it joined with the interval from `seq`.
#[derive(Debug)]
pub(crate) struct Base<T> {
    pub(crate) seq: u64,
    pub(crate) value: T,
    /// The sequence number of the message that carried it: its acknowledgement retires it.
    pub(crate) shipped: Option<u64>,
}

/// The dots `state` holds: announced with each snapshot, so the side that sends symbols can
/// size its first batch.
pub(crate) fn held<T: Reconcile>(state: &T) -> u64 {
    let mut n = 0u64;
    state.for_each_held(&mut |_| n += 1, SEAL);
    n
}

/// Whether we send a round's symbols (the peer decodes): the side whose snapshot has seen the
/// fewer of the other's events it lacks, the lower replica id on a tie. That side knows best
/// how many items the other has (see [`least_difference`]): when it has seen everything the
/// other has — one side edited, the other caught up — exactly.
pub(crate) fn sketches(
    (me, ours): (ReplicaId, &CausalContext),
    (peer, theirs): (ReplicaId, &CausalContext),
) -> bool {
    let unseen_by_us = theirs.difference(ours).event_count();
    let unseen_by_them = ours.difference(theirs).event_count();
    (unseen_by_us, me) < (unseen_by_them, peer)
}

/// The fewest items two sides can differ by, from our `items`, the dots the peer `held` at
/// its snapshot and the `unseen` events of that snapshot ours lacks: the peer's items are its
/// held dots inside both snapshots, at most `held` and at least `held - unseen`. (The count is
/// the peer's word, and our state moves after our snapshot: it sizes a batch, nothing else.)
pub(crate) fn least_difference(items: u64, held: u64, unseen: u64) -> u64 {
    let low = held.saturating_sub(unseen);
    if items < low {
        low - items
    } else {
        items.saturating_sub(held)
    }
}

/// Coded symbols in a round's first batch when the sides' items differ by at least `d`: two
/// when `d` ≤ 1 (an empty difference cancels symbol 0; one item decodes from it), else about
/// the 99th percentile of what `d` items need (`cargo bench --bench reconcile`: 9 symbols for
/// 2 items, 35 for 10, 177 for 100, 1,453 for 1,000): `1.5 d + 4 √d + 4`. Each further batch
/// doubles what was sent.
pub(crate) fn first_batch(d: u64) -> u64 {
    if d <= 1 {
        2
    } else {
        d.saturating_add(d / 2)
            .saturating_add(4 * d.isqrt())
            .saturating_add(4)
    }
}

/// The engine's reconciliation state: the bases found for peers, and the source of session
/// nonces (a SipHash keyed by a secret seed, over a counter).
#[derive(Debug)]
pub(crate) struct Reconciler<T> {
    /// Per peer, what a round found it lacks, shipped ahead of the next interval until
    /// acknowledged.
    pub(crate) bases: SortedMap<ReplicaId, Base<T>>,
    /// Dots found with two contents (most recent [`MAX_DISPUTED`]): every base ships our part
    /// at them, so a peer that still holds the other content settles at its next round, even
    /// when that round's 8 digest bits of the two contents collide.
    pub(crate) disputed: Vec<crate::causal::Dot>,
    /// The dots of the id we last forked away from that we hold: another replica may hold some
    /// of them with other content, so the first base made for each peer after the fork carries
    /// our part at those of them the peer has seen (its join settles any conflict without
    /// waiting for the round's digest bits to tell the contents apart).
    pub(crate) exposed: Vec<crate::causal::Dot>,
    nonce_key: SessionKey,
    nonces: u64,
}

/// How many disputed dots a [`Reconciler`] remembers.
pub(crate) const MAX_DISPUTED: usize = 1024;

impl<T> Reconciler<T> {
    pub(crate) fn new(hlc: &Hlc, config: &SyncConfig) -> Self {
        #[cfg(not(no_os))]
        let random = || {
            let _ = hlc;
            *ReplicaId::random().as_bytes()
        };
        // No OS random source (wasm): the binding passes one; this fallback is predictable.
        #[cfg(no_os)]
        let random = || {
            let mut seed = *hlc.replica().as_bytes();
            seed[..8].copy_from_slice(&hlc.last().as_u64().to_le_bytes());
            seed
        };
        Self {
            bases: SortedMap::default(),
            disputed: Vec::new(),
            exposed: Vec::new(),
            nonce_key: SessionKey::from_nonces(config.nonce_seed.unwrap_or_else(random), [0; 16]),
            nonces: 0,
        }
    }

    /// A fresh session nonce: the next output of a SipHash keyed by the nonce seed (random
    /// from the OS, or [`SyncConfig::nonce_seed`]).
    pub(crate) fn nonce(&mut self) -> [u8; 16] {
        self.nonces += 1;
        let a = self.nonce_key.hash(self.nonces);
        let b = self.nonce_key.hash(self.nonces | 1 << 63);
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&a.to_le_bytes());
        nonce[8..].copy_from_slice(&b.to_le_bytes());
        nonce
    }

    /// Drops every base (the replica forked: its sessions start again).
    pub(crate) fn forget(&mut self) {
        self.bases = SortedMap::default();
    }

    /// Whether `peer` has a base not shipped yet.
    pub(crate) fn base_due(&self, peer: ReplicaId) -> bool {
        self.bases.get(&peer).is_some_and(|b| b.shipped.is_none())
    }

    /// `peer` acknowledged `ack`: a base the acknowledged message carried is retired.
    pub(crate) fn retire(&mut self, peer: ReplicaId, ack: u64) {
        if self
            .bases
            .get(&peer)
            .and_then(|b| b.shipped)
            .is_some_and(|s| s <= ack)
        {
            self.bases.remove(&peer);
        }
    }
}

/// The hello for `peer`, announcing our first round with it (made now, from `snapshot`, if
/// the session has none yet).
pub(crate) fn hello(
    me: ReplicaId,
    (rounds, reply): (&mut PeerRounds, bool),
    (snapshot, held): (Option<&CausalContext>, impl FnOnce() -> u64),
    (now, seq): (u64, u64),
    stats: &mut SyncStats,
) -> Vec<u8> {
    if rounds.round.is_none()
        && let Some(mine) = snapshot
    {
        let held = held();
        rounds.round = Some(Round::new(0, (mine.clone(), held), now, seq));
        rounds.first = Some((mine.clone(), held));
        rounds.count += 1;
        rounds.heard = false;
        stats.rounds.started += 1;
    }
    let first = rounds.first.as_ref().map(|(ctx, held)| (ctx, *held));
    message::hello(me, reply, rounds.nonce, first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(entries: &[(u128, u64)]) -> CausalContext {
        let mut c = CausalContext::default();
        for &(id, max) in entries {
            for n in 1..=max {
                c.insert(Dot::new(ReplicaId::from_u128(id), n));
            }
        }
        c
    }

    #[test]
    fn the_side_that_lacks_fewer_events_sketches() {
        let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
        let old = ctx(&[(9, 100)]);
        let new = ctx(&[(9, 100), (2, 10)]);
        // b edited: it has seen all a has, so b sketches, although a's id is lower.
        assert!(sketches((b, &new), (a, &old)));
        assert!(!sketches((a, &old), (b, &new)));
        // Equal snapshots: the lower id.
        assert!(sketches((a, &old), (b, &old)));
        assert!(!sketches((b, &old), (a, &old)));
        // Both edited: the one lacking fewer.
        let a3 = ctx(&[(9, 100), (1, 3)]);
        let b5 = ctx(&[(9, 100), (2, 5)]);
        assert!(sketches((b, &b5), (a, &a3)));
        assert!(!sketches((a, &a3), (b, &b5)));
    }

    #[test]
    fn the_least_difference_is_the_distance_to_the_peers_range() {
        // The peer lacks nothing of ours: its items are exactly what it held.
        assert_eq!(least_difference(50_000, 49_990, 0), 10);
        assert_eq!(least_difference(49_990, 50_000, 0), 10);
        assert_eq!(least_difference(50_000, 50_000, 0), 0);
        // It saw 10 events we lack: its items are between 49,990 and 50,000.
        assert_eq!(least_difference(49_995, 50_000, 10), 0);
        assert_eq!(least_difference(49_980, 50_000, 10), 10);
        assert_eq!(least_difference(50_004, 50_000, 10), 4);
        // A lying count saturates.
        assert_eq!(least_difference(0, u64::MAX, u64::MAX), 0);
        assert_eq!(least_difference(u64::MAX, 0, 0), u64::MAX);
    }

    #[test]
    fn the_first_batch_grows_with_the_difference() {
        assert_eq!(first_batch(0), 2);
        assert_eq!(first_batch(1), 2);
        assert_eq!(first_batch(2), 11);
        assert_eq!(first_batch(10), 31);
        assert_eq!(first_batch(100), 194);
        assert_eq!(first_batch(1_000), 1_628);
        assert_eq!(first_batch(u64::MAX), u64::MAX);
    }
}
