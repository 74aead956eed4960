//! Clock skew without silent quarantine (format minor 3).
//!
//! A received value whose greatest stamp lies beyond the drift bound (the physical clock plus
//! [`max_drift`](crate::Hlc::max_drift)) is not refused whole:
//!
//! - **what carries no stamp is applied at once** — counters, sets, flags, removals, and
//!   register writes stamped within the bound. Only register writes stamped beyond it are
//!   *held back*: taken out of the value together with the supersession of what we hold at
//!   their registers (`Reconcile::hold_beyond`; for `LwwRegister` and `LwwMap`, their entries
//!   stamped beyond the bound), so the register keeps showing what it showed, and the value is
//!   acknowledged as usual. The clock observes only what is applied.
//! - **the sender is told** (a skew frame: our physical clock, and the earliest held stamp).
//!   A replica told so compares its own clock: if it reads more than the drift bound ahead
//!   of most of its peers in session (one peer whose own clock runs behind reports everyone,
//!   and must not fence them all; it sees that it holds writes of most of its peers instead,
//!   [`SkewStats::behind`](crate::SkewStats), and warns), it **fences** its register writes (`Hlc::now` fails with
//!   [`ClockError::Fenced`](crate::ClockError::Fenced), counted in
//!   [`SkewStats::fenced_ms`](crate::SkewStats)) and logs a warning. Writes that carry no stamp
//!   go on. The fence lifts by itself as soon as the clock reads within the bound of the
//!   reporting peer's (estimated from the report and the tick time since, so a clock stepped
//!   back is noticed at once).
//! - **a clock that was fixed rejoins by itself**: a replica whose last stamp lies beyond its
//!   own physical clock's bound (its clock went back: a skewed clock corrected, a persisted
//!   clock restored) would stamp every write that far ahead, or, clamped, issue stamps it has
//!   issued before. It forks to a fresh replica id of the same family (the auth key owns it)
//!   with a fresh clock instead, keeping its state; its new writes supersede its skewed ones
//!   at every register they rewrite.
//! - **a held write is released when its time comes**: once its stamp is within the bound,
//!   it is joined like any received write. Writes made meanwhile by replicas that had not
//!   applied it are *concurrent* with it, so a register keeps both — an inspectable conflict
//!   ([`Doc::register_writes`](crate::Doc::register_writes) lists them); the greater stamp
//!   reads first, as for any concurrent writes. Each release is counted
//!   ([`SkewStats::released`](crate::SkewStats)) and logged. A released write never removes a
//!   write it had not seen. The fence bounds how many such writes a skewed replica makes: the
//!   ones it stamped before its first report came back.
//!
//! Held writes live in memory, within [`SyncConfig::max_held_bytes`](crate::SyncConfig) (and
//! a per-peer cap). Writes that would pass a cap are left out: the rest of their message
//! applies, and the message is not acknowledged, so its sender sends it again (until its
//! writes fit, or their time comes).
//! A restart forgets them; reconciliation brings them back from any replica that holds them
//! (the writer always does), since our context never records a held dot.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use super::SyncError;
use super::engine::{SyncEngine, Transmit};
use super::held::Entry;
use super::message;
use super::peer::Told;
use crate::causal::Reconcile;
use crate::causal::dot_store::SEAL;
use crate::clock::{ClockError, Timestamp};
use crate::codec::FrameKind;
use crate::id::ReplicaId;

/// The first minor version with skew frames.
const MINOR_SKEW: u64 = 3;

/// How often a fenced engine checks its clock (ms of tick time).
const FENCE_CHECK_MS: u64 = 1_000;

impl<T: Reconcile + Serialize + DeserializeOwned> SyncEngine<T> {
    /// `value` from `from` carries a stamp beyond the drift bound (`source`): holds back the
    /// writes stamped beyond it and returns the rest to apply, with whether all of the value
    /// was taken (the held part did not overflow the hold: else it is left out, and the message
    /// must not be acknowledged, so that its sender sends it again). Refuses the value if its
    /// type cannot set those writes apart.
    pub(super) fn hold_back(
        &mut self,
        from: ReplicaId,
        mut value: T,
        source: ClockError,
    ) -> Result<(T, bool), SyncError> {
        let Ok(bound) = self.hlc.drift_bound() else {
            return Err(self.refuse_clock(from, source));
        };
        let Some(split) = value.hold_beyond(bound, &self.state, SEAL) else {
            return Err(self.refuse_clock(from, source));
        };
        let Some(earliest) = split.earliest else {
            // The type found nothing beyond the bound that the frame's stamps say is there.
            return Err(self.refuse_clock(from, source));
        };
        if let Some(within) = split.within {
            self.hlc
                .update(within)
                .map_err(|source| self.refuse_clock(from, source))?;
        }
        self.tell_skew(from, earliest);
        // A write may come again: resent, relayed by another peer, or found by a round.
        let mut writes = split.writes;
        writes.retain(|&w| !self.held.holds(w));
        if writes.is_empty() {
            return Ok((value, true));
        }
        let bytes = crate::codec::encode(&split.held).map_or(usize::MAX, |b| b.len());
        let over_peer =
            self.held.bytes(Some(from)).saturating_add(bytes) > self.config.max_held_bytes_per_peer;
        if over_peer || self.held.bytes(None).saturating_add(bytes) > self.config.max_held_bytes {
            self.stats.skew.refused += 1;
            warn!(
                peer = %from, writes = writes.len(), bytes,
                "writes stamped beyond the drift bound do not fit the hold: the rest of the \
                 message applies, and it is not acknowledged (its sender sends it again)"
            );
            return Ok((value, false));
        }
        warn!(
            peer = %from, writes = writes.len(), earliest = %earliest, bound = %bound,
            "holding back writes stamped beyond the drift bound (the writer's clock runs \
             ahead): they apply when their time comes; the sender is told"
        );
        self.stats.skew.held_total += writes.len() as u64;
        self.held.push(Entry {
            from,
            value: split.held,
            writes,
            earliest,
            bytes,
        });
        let heard = self.peers.values().filter(|p| p.heard).count();
        let behind = self.held.senders() >= 2 && self.held.senders() * 2 > heard;
        if behind && !self.stats.skew.behind {
            warn!(
                senders = self.held.senders(),
                peers = heard,
                "holding back writes of most peers: this replica's own clock probably runs \
                 behind theirs (fix it; their writes apply when its clock reaches their stamps)"
            );
        }
        self.stats.skew.behind = behind;
        Ok((value, true))
    }

    /// Sends `to` a skew frame, if it speaks minor 3.
    fn tell_skew(&mut self, to: ReplicaId, earliest: Timestamp) {
        let (Some(peer), Ok(physical)) = (self.peers.get(&to), self.hlc.physical_millis()) else {
            return;
        };
        if peer.relay.minor < MINOR_SKEW {
            return;
        }
        let bytes = message::skew(physical, earliest.millis());
        self.outbox
            .push_back((FrameKind::Skew, Transmit { to, bytes }));
    }

    /// A skew frame from `from`: it holds writes we sent, and its clock read `physical`.
    pub(super) fn on_skew(&mut self, from: ReplicaId, physical: u64, earliest: u64) {
        self.stats.skew.reports += 1;
        let now = self.now;
        if let Some(peer) = self.peers.get_mut(&from) {
            peer.told = Some(Told { physical, at: now });
        }
        info!(peer = %from, physical, earliest, "a peer holds back writes sent from here: its clock is behind their stamps");
        self.check_clock();
    }

    /// Fences or unfences local stamps by what peers reported of their clocks, and forks to a
    /// fresh id when our own last stamp lies beyond our physical clock's bound. Called before
    /// every local update and on every tick.
    pub(super) fn check_clock(&mut self) {
        if self.hlc.ahead_of_itself() {
            self.fork(
                self.id(),
                "the physical clock went back behind this replica's own stamps (a clock that \
                 ran ahead was fixed, or an old clock restored)",
            );
            let id = self.id();
            self.hlc.fork_fresh(id);
        }
        if self.stats.skew.reports == 0 {
            return; // never told: nothing to fence by
        }
        let Ok(pt) = self.hlc.physical_millis() else {
            return;
        };
        let now = self.now;
        let max = self.hlc.max_drift().as_millis() as u64;
        // How far ahead of each reporting peer's clock ours reads now, beyond the bound (peers
        // in session only: a closed session's report is not counted against the open ones).
        let ahead: Vec<u64> = self
            .peers
            .values()
            .filter(|p| p.heard)
            .filter_map(|p| p.told)
            .map(|t| pt.saturating_sub(t.physical.saturating_add(now.saturating_sub(t.at))))
            .filter(|&ahead| ahead > max)
            .collect();
        // Fenced only when most peers in session say so: one peer whose own clock runs behind
        // holds back everyone's writes and reports them all, and must not fence them all.
        let heard = self.peers.values().filter(|p| p.heard).count();
        let ahead = (ahead.len() * 2 > heard.max(1))
            .then(|| ahead.iter().copied().min())
            .flatten();
        match (self.hlc.fenced(), ahead) {
            (None, Some(ahead)) => warn!(
                ahead_ms = ahead,
                max_drift_ms = max,
                "this replica's clock runs ahead of a peer's beyond the drift bound: register \
                 writes are fenced until the clock is fixed (counters and sets go on)"
            ),
            (Some(_), None) => {
                info!("the clock reads within the drift bound again: the fence is lifted")
            }
            _ => {}
        }
        self.hlc.set_fence(ahead);
        self.stats.skew.fenced_ms = ahead;
    }

    /// Applies held writes whose time came (their stamps are within the bound now).
    pub(super) fn release_held(&mut self) {
        if self.held.earliest().is_none() {
            return;
        }
        let Ok(bound) = self.hlc.drift_bound() else {
            return;
        };
        for entry in self.held.take_due(bound) {
            let mut value = entry.value;
            let mut released = entry.writes;
            let split = value.hold_beyond(bound, &self.state, SEAL);
            let within = split.as_ref().and_then(|s| s.within);
            if let Some(split) = split
                && let Some(earliest) = split.earliest
            {
                released.retain(|w| !split.writes.contains(w));
                self.held.push(Entry {
                    from: entry.from,
                    bytes: crate::codec::encode(&split.held).map_or(entry.bytes, |b| b.len()),
                    value: split.held,
                    writes: split.writes,
                    earliest,
                });
            }
            if let Some(within) = within {
                // Within the bound by now; an error leaves the clock as it was.
                let _ = self.hlc.update(within);
            }
            // Another entry may hold the same writes (sent again through another peer).
            released.retain(|&w| !self.held.holds(w));
            let changed = self.join_remote(entry.from, value, None);
            self.stats.skew.released += released.len() as u64;
            self.stats.skew.behind &= self.held.senders() >= 2;
            warn!(
                peer = %entry.from, writes = released.len(), changed,
                "released writes held back for clock skew: a register written meanwhile keeps \
                 both writes as concurrent ones (Doc::register_writes)"
            );
        }
    }

    /// When the engine must be ticked for clock skew, in tick time: when the earliest held
    /// write's time comes, and while fenced, every second (to notice a fixed clock).
    pub(super) fn skew_due(&self) -> Option<u64> {
        let fence = self
            .hlc
            .fenced()
            .map(|_| self.now.saturating_add(FENCE_CHECK_MS));
        let release = self.release_due();
        fence.into_iter().chain(release).min()
    }

    /// When the earliest held write's time comes, in tick time.
    fn release_due(&self) -> Option<u64> {
        let earliest = self.held.earliest()?;
        let pt = self.hlc.physical_millis().ok()?;
        let max = self.hlc.max_drift().as_millis() as u64;
        let wait = earliest.millis().saturating_sub(max).saturating_sub(pt);
        Some(self.now.saturating_add(wait))
    }
}
