//! Dots issued twice: a received value that holds a dot we hold with other content.
//!
//! One dot names one write, so a dot with two contents means its replica id was reused: a
//! restored backup or a copied directory that edited before it learned of the original's
//! later events, or a forged value. Joined as they are, both copies of the dot would be
//! dropped (see `causal/conflict.rs`). Instead every replica that meets such a dot settles it
//! the same way, whoever it is and whichever side it meets first:
//!
//! - the **winner** (the content whose one-dot part encodes to the smaller bytes) keeps the
//!   dot;
//! - the **loser** is written again at the same counter under a replica id derived from the
//!   dot and the losing content ([`reissue_id`]). Every replica that settles the same conflict
//!   derives the same write, so the copies merge into one: no write is lost, none counted twice;
//! - a replica that gave up its content drops its delta buffer and its rounds' bases (a group
//!   of them would join both contents, and the dot would vanish from it); its peers catch up
//!   by rounds;
//! - the winner's part is sent on, so the side that sent the loser settles too; and the dot is
//!   remembered as disputed: every base a round makes ships our part at it, so a peer that
//!   still holds the other content settles at its next round whatever the round's digest bits.
//!
//! If the dot is of our own id, another live replica issues under it: we fork to a fresh id
//! (as when a peer has seen more of our id than we issued), so no further dot is issued twice.
//! So do we when a received value has seen events of our id beyond those we issued.
//! Each settled dot counts in [`SyncStats::conflicts`](crate::SyncStats::conflicts) and logs a
//! warning.

use core::hash::Hasher;
use serde::Serialize;
use serde::de::DeserializeOwned;

use siphasher::sip128::{Hasher128, SipHasher24};
use tracing::warn;

use super::buffer::{DeltaBuffer, Source};
use super::engine::SyncEngine;
use super::round::MAX_DISPUTED;
use crate::causal::dot_store::SEAL;
use crate::causal::{Dot, Reconcile};
use crate::id::ReplicaId;

/// The key of the hash that derives a re-issued write's replica id (fixed: every replica must
/// derive the same id).
const REISSUE_KEY: (u64, u64) = (0x6465_6c74_6163_7264, 0x7472_6569_7373_7565);

/// The replica id a losing write at `dot` is re-issued under, from the dot and the losing
/// part's bytes.
fn reissue_id(dot: Dot, loser: &[u8]) -> ReplicaId {
    let mut h = SipHasher24::new_with_keys(REISSUE_KEY.0, REISSUE_KEY.1);
    h.write(dot.replica.as_bytes());
    h.write(&dot.counter.to_le_bytes());
    h.write(loser);
    ReplicaId::from_random_bytes(h.finish128().as_bytes())
}

impl<T: Reconcile + Serialize + DeserializeOwned> SyncEngine<T> {
    /// Settles the dots `value` (from `from`) holds with other content than we do, and returns
    /// what is left of it to join: the losers at those dots are re-issued (in our state and
    /// buffered for every peer), the winners stay (ours buffered, theirs joined after this).
    pub(super) fn settle_conflicts(&mut self, from: ReplicaId, mut value: T) -> T {
        let me = self.id();
        let top = |v: &T| v.causal_context(SEAL).map_or(0, |c| c.max(me));
        if top(&value) > top(&self.state) {
            // Events of our id that we never issued: a copy of us runs (or ran) elsewhere.
            self.fork(
                from,
                "a received value holds events of this replica's id that it never issued",
            );
        }
        let dots = self.state.conflicts(&value, SEAL);
        if dots.is_empty() {
            return value;
        }
        let mut winners = Vec::new();
        let mut again = Vec::new();
        let mut gave_up = false;
        for &dot in &dots {
            let ours = self.state.at_dots(&[dot], SEAL);
            let theirs = value.at_dots(&[dot], SEAL);
            let (ours_bytes, theirs_bytes) = (encoded(&ours), encoded(&theirs));
            let ours_wins = ours_bytes < theirs_bytes;
            let (loser, loser_bytes) = if ours_wins {
                value.forget_dots(&[dot], SEAL);
                winners.push(dot);
                (theirs, theirs_bytes)
            } else {
                self.state.forget_dots(&[dot], SEAL);
                self.rewritten = true;
                gave_up = true;
                (ours, ours_bytes)
            };
            again.push(loser.reissued(reissue_id(dot, &loser_bytes), SEAL));
            warn!(
                peer = %from, replica = %dot.replica, counter = dot.counter, ours_wins,
                "one dot with two contents (its replica id was reused by a restored backup or \
                 a copy, or the value is forged): the losing write is re-issued under a derived id"
            );
        }
        if gave_up {
            // Buffered deltas and the bases rounds found still hold the contents we gave up:
            // joined into one group with what we adopted, the dot would vanish from both. Peers
            // behind this point catch up by a new round instead (as after an eviction).
            self.buffer = DeltaBuffer::new(self.seq);
            self.recon.forget();
        }
        for part in again {
            self.state.join(part.clone());
            self.buffer_delta(part, Source::of(None));
        }
        self.stats.conflicts += dots.len() as u64;
        let disputed = &mut self.recon.disputed;
        for &dot in &dots {
            if !disputed.contains(&dot) {
                disputed.push(dot);
            }
        }
        let excess = disputed.len().saturating_sub(MAX_DISPUTED);
        disputed.drain(..excess);
        if !winners.is_empty() {
            let ours = self.state.at_dots(&winners, SEAL);
            self.buffer_delta(ours, Source::of(None));
        }
        if dots.iter().any(|d| d.replica == self.id()) {
            self.fork(from, "another replica issues under this replica's id");
        }
        value
    }
}

/// The bytes a one-dot part is ordered by (the same on every replica).
fn encoded<T: Serialize>(part: &T) -> Vec<u8> {
    crate::codec::encode(part).unwrap_or_default()
}
