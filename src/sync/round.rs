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

use super::reconcile::{Decoder, Encoder, SessionKey, Symbol};

/// The largest replica index and counter a packed item can carry.
const INDEX_BITS: u32 = 24;
const COUNTER_BITS: u32 = 40;

/// What this side does in a round.
#[derive(Debug)]
pub(crate) enum Role {
    /// Waiting for the peer's announcement (ours went out).
    Announced,
    /// We send coded symbols: those sent so far (kept to resend), the last batch at
    /// `sent_at`, resent `resends` times since.
    Sketcher {
        encoder: Encoder,
        symbols: Vec<Symbol>,
        sent_at: u64,
        resends: u32,
    },
    /// We decode the peer's symbols against ours (built when the first symbols arrive);
    /// `have` symbols arrived.
    Decoder { decoder: Option<Decoder>, have: u64 },
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
    /// Our sequence number when our items were built: every change after it is in the
    /// delta buffer from there, so the base made at the end starts there.
    pub(crate) items_seq: u64,
    /// The decoder's items it told the peer it lacks (resent if the verdict is lost).
    pub(crate) told: Vec<u64>,
    /// When our announcement last went out (resent until the peer's comes).
    pub(crate) sent_at: u64,
}

impl Round {
    pub(crate) fn new(id: u64, ours: CausalContext, now: u64) -> Self {
        Self {
            id,
            ours,
            theirs: None,
            role: Role::Announced,
            at: now,
            items_seq: 0,
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
    /// The round under way or last finished.
    pub(crate) round: Option<Round>,
    /// Rounds started this session (capped by `SyncConfig::max_rounds`).
    pub(crate) count: u32,
    /// When a quiet session next compares fingerprints (tick time, ms).
    pub(crate) digest_at: u64,
    /// Our fingerprint for this session, with the sequence number it was computed at.
    pub(crate) fingerprint: Option<(u64, u64)>,
}

impl PeerRounds {
    pub(crate) fn new(nonce: [u8; 16]) -> Self {
        Self {
            nonce,
            theirs: None,
            round: None,
            count: 0,
            digest_at: 0,
            fingerprint: None,
        }
    }

    /// Whether the peer reconciles (it sent a minor-1 hello with a nonce).
    pub(crate) fn reconciles(&self) -> bool {
        self.theirs.is_some()
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

/// The held dots inside both snapshots, packed as `index << 40 | counter`; `None` if one does
/// not fit (a table of 2²⁴ replicas or a counter past 2⁴⁰: the round is not run).
pub(crate) fn items<T: Reconcile>(
    state: &T,
    replicas: &[ReplicaId],
    ours: &CausalContext,
    theirs: &CausalContext,
) -> Option<Vec<u64>> {
    if replicas.len() >= 1 << INDEX_BITS {
        return None;
    }
    let mut out = Vec::new();
    let mut fits = true;
    state.for_each_held(
        &mut |dot| {
            if !(ours.contains(dot) && theirs.contains(dot)) {
                return;
            }
            match (
                replicas.binary_search(&dot.replica),
                dot.counter < 1 << COUNTER_BITS,
            ) {
                (Ok(i), true) => out.push(((i as u64) << COUNTER_BITS) | dot.counter),
                _ => fits = false,
            }
        },
        SEAL,
    );
    fits.then_some(out)
}

/// The dot behind a packed item, or `None` for one no side could have made (a lying peer's).
pub(crate) fn unpack(item: u64, replicas: &[ReplicaId]) -> Option<Dot> {
    let replica = replicas.get(usize::try_from(item >> COUNTER_BITS).ok()?)?;
    let counter = item & ((1 << COUNTER_BITS) - 1);
    (counter > 0).then(|| Dot::new(*replica, counter))
}

/// The session key of two hello nonces.
pub(crate) fn session_key(ours: [u8; 16], theirs: [u8; 16]) -> SessionKey {
    SessionKey::from_nonces(ours, theirs)
}
