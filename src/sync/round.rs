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
    pub(crate) theirs: Option<CausalContext>,
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
    /// When our announcement last went out (resent until the peer's comes).
    pub(crate) sent_at: u64,
}

impl Round {
    pub(crate) fn new(id: u64, ours: CausalContext, now: u64, since: u64) -> Self {
        Self {
            id,
            ours,
            theirs: None,
            role: Role::Announced,
            at: now,
            since,
            told: Vec::new(),
            sent_at: now,
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
    /// Our announcement of the session's first round, which every hello of the session
    /// carries (a peer whose first hello was lost still gets it, whatever round we are in).
    pub(crate) first: Option<CausalContext>,
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

/// Coded symbols in a round's first batch (520 B): a difference of 10 dots decodes from it
/// 99.6 % of the time (`cargo bench --bench reconcile`, 5,000 trials); each further batch
/// doubles what was sent.
pub(crate) const FIRST_BATCH: u16 = 40;

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
    snapshot: Option<&CausalContext>,
    (now, seq): (u64, u64),
    stats: &mut SyncStats,
) -> Vec<u8> {
    if rounds.round.is_none()
        && let Some(mine) = snapshot
    {
        rounds.round = Some(Round::new(0, mine.clone(), now, seq));
        rounds.first = Some(mine.clone());
        rounds.count += 1;
        rounds.heard = false;
        stats.rounds.started += 1;
    }
    message::hello(me, reply, rounds.nonce, rounds.first.as_ref())
}
