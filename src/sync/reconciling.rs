//! The engine's side of history-free reconciliation: announcing contexts, sending or decoding
//! coded symbols, making each peer's base from the difference, repairing quiet sessions whose
//! fingerprints differ, and forking away from a reused replica id (the protocol is on
//! [`SyncEngine`]; one round's state is in `round`, the symbols in `reconcile`).

use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{debug, warn};

use super::engine::{SyncEngine, Transmit};
use super::message::{self, Verdict};
use super::peer::Peer;
use super::reconcile::{Decoder, Encoder, Limits, Symbol};
use super::round::{self, Base, Outcome, PeerRounds, Role, Round};
use crate::causal::dot_store::SEAL;
use crate::causal::{CausalContext, Dot, Reconcile};
use crate::codec::FrameKind;
use crate::id::ReplicaId;

impl<T: Reconcile + Serialize + DeserializeOwned> SyncEngine<T> {
    /// A peer's hello: its session nonce (none from a minor-0 peer, which does not reconcile)
    /// and its announcement for round 0.
    pub(super) fn on_hello(
        &mut self,
        from: ReplicaId,
        nonce: Option<[u8; 16]>,
        context: Option<(CausalContext, u64)>,
    ) {
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        let rounds = &mut peer.rounds;
        let Some(nonce) = nonce else {
            if let Some(r) = rounds.round.as_mut().filter(|r| r.busy()) {
                r.role = Role::Finished(Outcome::Failed);
            }
            return;
        };
        if rounds.theirs.is_some_and(|n| n != nonce) {
            // The peer restarted: a new session, with rounds of its own.
            rounds.round = None;
            rounds.first = None;
            rounds.count = 0;
            rounds.last_id = 0;
            rounds.fingerprint = None;
            self.recon.bases.remove(&from);
        }
        rounds.met(nonce);
        match context {
            Some(ctx) => self.on_announce(from, 0, ctx, false),
            None => {
                // A peer without a context (or too large a one) does not reconcile.
                if let Some(r) = rounds.round.as_mut().filter(|r| r.id == 0 && r.busy()) {
                    r.role = Role::Finished(Outcome::Failed);
                }
            }
        }
    }

    /// Whether a reconciliation frame tagged `tag` belongs to the session open with `from`
    /// (not to an earlier one whose frames are still in flight).
    /// A frame of another session means the peer has not seen our hello (it was lost, or we
    /// restarted): we greet it again, at most once per retransmission interval.
    pub(super) fn in_session(&mut self, from: ReplicaId, tag: u32) -> bool {
        let (now, timeout) = (self.now, self.config.retransmit_after_ms);
        let Some(peer) = self.peers.get_mut(&from) else {
            return false;
        };
        if peer.rounds.reconciles() && peer.rounds.tag == tag {
            return true;
        }
        if peer
            .hello_sent_at
            .is_none_or(|at| now.saturating_sub(at) >= timeout)
        {
            peer.hello_sent_at = None;
        }
        false
    }

    /// The times reconciliation needs a tick for `peer`: a busy round's symbols or
    /// announcement resent, or the round given up; a quiet session's fingerprint.
    pub(super) fn round_deadlines(&self, peer: &Peer, times: &mut Vec<u64>) {
        let timeout = self.config.retransmit_after_ms;
        if let Some(r) = peer.rounds.stalled_unheard()
            && peer.heard
            && peer.in_flight.is_none()
            && peer.acked.unwrap_or(0) < self.seq
        {
            // Something to ship (the condition under which `fill_outbox` calls `ship`, which
            // then retries), waiting on a silent peer: the retry.
            times.push(self.retry_at(r));
        }
        if let Some(r) = peer.rounds.round.as_ref().filter(|r| r.busy()) {
            times.push(r.at.saturating_add(timeout.saturating_mul(8)));
            match &r.role {
                Role::Sketcher { sent_at, .. } => times.push(sent_at.saturating_add(timeout)),
                Role::Announced if r.theirs.is_none() => {
                    times.push(r.sent_at.saturating_add(timeout));
                }
                _ => {}
            }
        }
        if self.config.repair_after_ms > 0
            && peer.heard
            && peer.rounds.reconciles()
            && self.state.causal_context(SEAL).is_some()
        {
            times.push(peer.rounds.digest_at);
        }
    }

    /// The base found for `id` joined with the deltas buffered since it was made (from the
    /// peer's acknowledgement if that is later), marked as shipped; `None` without a base, or
    /// when the buffer was evicted past it (the base is dropped: a new round will run).
    pub(super) fn based(&mut self, id: ReplicaId, skip: Option<ReplicaId>) -> Option<T> {
        let acked = self.peers.get(&id)?.acked;
        let base = self.recon.bases.get(&id)?;
        let start = acked.map_or(base.seq, |a| a.max(base.seq));
        let Some(deltas) = self.buffer.since(start) else {
            self.recon.bases.remove(&id);
            return None;
        };
        let mut group = base.value.clone();
        for (_, delta, origin) in deltas {
            if skip.is_none() || origin != skip {
                group.join_delta_group(delta.clone());
            }
        }
        let seq = self.seq;
        if let Some(base) = self.recon.bases.get_mut(&id) {
            base.shipped = Some(seq);
        }
        Some(group)
    }

    /// The buffer no longer reaches back to what `id` has: whether a round takes care of it
    /// (one is under way — until the peer's hello comes, the one our hello announced — or a new
    /// one starts) instead of a full state. A peer that never acknowledged anything after a
    /// round that could not help it (it is empty, or the round failed) gets the full state.
    pub(super) fn round_for_gap(&mut self, id: ReplicaId) -> bool {
        let Some(peer) = self.peers.get(&id) else {
            return false;
        };
        if peer.rounds.busy() {
            return true;
        }
        let last = match peer.rounds.round.as_ref().map(|r| &r.role) {
            Some(Role::Finished(outcome)) => Some(*outcome),
            _ => None,
        };
        if peer
            .rounds
            .stalled_unheard()
            .is_some_and(|r| self.now < self.retry_at(r))
        {
            // The last round got no answer: the next one waits until the peer is heard from
            // (a partition, a peer gone), so rounds are not spent on silence; but not for
            // ever, since the peer may be waiting for us just the same.
            return true;
        }
        if !peer.rounds.reconciles() {
            // Its hello never came: greet it again (our hello announces a new first round).
            if let Some(peer) = self.peers.get_mut(&id)
                && peer.rounds.count < self.config.max_rounds
                && last == Some(Outcome::Stalled)
            {
                peer.rounds.round = None;
                peer.rounds.first = None;
                peer.hello_sent_at = None;
                return true;
            }
            return false;
        }
        let hopeless =
            peer.acked.is_none() && matches!(last, Some(Outcome::Empty | Outcome::Failed));
        !hopeless && self.start_new_round(id)
    }

    /// When a round given up for silence is followed by a new one even if the peer has not
    /// been heard from: twice the give-up time after its last progress. Two peers that both
    /// gave up wait for each other only that long; the session's round cap bounds the retries,
    /// then full states go out.
    fn retry_at(&self, r: &Round) -> u64 {
        r.at.saturating_add(self.config.retransmit_after_ms.saturating_mul(16))
    }

    /// What this replica announces for a round: its causal context, or `None` for a type
    /// without dots, a context too large for a frame, or reconciliation switched off
    /// (`max_rounds` or `max_symbols` 0): the peer then gets full states.
    pub(super) fn snapshot(&self) -> Option<CausalContext> {
        if self.config.max_rounds == 0 || self.config.max_symbols == 0 {
            // Reconciliation switched off: no announcement, so no round (not even the first).
            return None;
        }
        let ctx = self.state.causal_context(SEAL)?;
        (crate::codec::encoded_len(ctx) <= self.config.max_frame_bytes / 2).then(|| ctx.clone())
    }

    /// Sends `frame` of `kind` to `to`.
    ///
    /// Our hello reply, if still due, goes first: a peer that opened the session must get our
    /// announcement before symbols computed against it (or it drops them as early).
    pub(super) fn push(&mut self, kind: FrameKind, to: ReplicaId, bytes: Vec<u8>) {
        if self.peers.get(&to).is_some_and(|p| p.reply_due) {
            let snapshot = self.snapshot();
            self.greet(to, snapshot.as_ref());
        }
        self.outbox.push_back((kind, Transmit { to, bytes }));
    }

    /// The peer announced what it has seen for round `id`; `answer`: it opened the round and
    /// awaits our announcement.
    pub(super) fn on_announce(
        &mut self,
        from: ReplicaId,
        id: u64,
        (theirs, held): (CausalContext, u64),
        answer: bool,
    ) {
        let mine = self.snapshot();
        let (now, max_rounds) = (self.now, self.config.max_rounds);
        let Some(peer) = self.peers.get_mut(&from).filter(|p| p.rounds.reconciles()) else {
            return;
        };
        let tag = peer.rounds.tag;
        peer.rounds.last_id = peer.rounds.last_id.max(id);
        match &mut peer.rounds.round {
            Some(r) if r.id == id => {
                // A hello announcing round 0 anew (the peer greeted us again after a round 0
                // that got no answer, and took a new snapshot): the one we hold came from an
                // older hello of its, still in flight when ours went out, and no longer holds
                // on its side. Its snapshots only grow, so an older hello arriving late never
                // replaces a newer one.
                let renewed = id == 0
                    && r.theirs
                        .as_ref()
                        .is_some_and(|old| *old != theirs && old.difference(&theirs).is_empty());
                if renewed {
                    debug!(peer = %from, "round 0 announced anew");
                    r.role = Role::Announced;
                    r.told.clear();
                } else if r.theirs.is_some() {
                    // A resent announcement: our answer may have been lost.
                    if answer && id > 0 {
                        let frame = message::summary(tag, id, true, (&r.ours, r.held));
                        self.push(FrameKind::Summary, from, frame);
                    }
                    return;
                }
                r.theirs = Some(theirs);
                r.theirs_held = held;
                r.at = now;
            }
            Some(r) if r.id > id => {
                // The peer is behind (its announcement of ours was lost): say ours again, or
                // open a newer round than both if ours is over.
                if answer && r.busy() {
                    let frame = message::summary(tag, r.id, false, (&r.ours, r.held));
                    self.push(FrameKind::Summary, from, frame);
                } else if answer {
                    self.start_new_round(from);
                }
                return;
            }
            _ => {
                let Some(mine) = mine else {
                    // We cannot announce (our context outgrew half a frame, or reconciliation
                    // is off): the peer gives the round up and sends everything instead of
                    // waiting for an announcement that will not come.
                    debug!(peer = %from, round = id, "round refused: no announcement to make");
                    let frame = message::verdict(tag, id, &Verdict::Refused);
                    self.push(FrameKind::Verdict, from, frame);
                    return;
                };
                if peer.rounds.count >= max_rounds {
                    debug!(peer = %from, "round refused: the session's rounds are used up");
                    return;
                }
                peer.rounds.count += 1;
                peer.rounds.heard = false;
                self.stats.rounds.started += 1;
                let ours_held = round::held(&self.state);
                if id == 0 {
                    peer.rounds.first = Some((mine.clone(), ours_held));
                }
                let mut r = Round::new(id, (mine, ours_held), now, self.seq);
                r.theirs = Some(theirs);
                r.theirs_held = held;
                if answer {
                    let frame = message::summary(tag, id, true, (&r.ours, r.held));
                    peer.rounds.round = Some(r);
                    self.push(FrameKind::Summary, from, frame);
                } else {
                    peer.rounds.round = Some(r);
                }
            }
        }
        self.start_round(from);
    }

    /// Both announcements are in: take our role (the lower replica id sends symbols).
    pub(super) fn start_round(&mut self, from: ReplicaId) {
        let me = self.id();
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        let tag = peer.rounds.tag;
        let (Some(r), Some(nonce)) = (peer.rounds.round.as_mut(), peer.rounds.theirs) else {
            return;
        };
        let Some(theirs) = r
            .theirs
            .as_ref()
            .filter(|_| matches!(r.role, Role::Announced))
        else {
            return;
        };
        let own_top = self
            .state
            .causal_context(SEAL)
            .map_or(0, |c| c.next_dot(me).counter - 1);
        let seen_top = theirs.next_dot(me).counter - 1;
        if seen_top > own_top {
            debug!(peer = %from, own_top, seen_top, "a peer has seen more events of our id than we issued");
            self.fork(
                from,
                "a peer has seen events of this replica's id that it never issued",
            );
            return;
        }
        if theirs.is_empty() || r.ours.is_empty() {
            // An empty peer gets the full state; from an empty peer there is nothing to find.
            r.role = Role::Finished(if theirs.is_empty() {
                Outcome::Empty
            } else {
                Outcome::Decoded
            });
            return;
        }
        let key = round::session_key(peer.rounds.nonce, nonce);
        if !round::sketches((me, &r.ours), (from, theirs)) {
            r.pair = Some(round::pair_check(&key, theirs, &r.ours));
            r.role = Role::Decoder {
                decoder: None,
                have: 0,
            };
            return;
        }
        let pair = round::pair_check(&key, &r.ours, theirs);
        r.pair = Some(pair);
        let replicas = round::shared_replicas(&r.ours, theirs);
        let items = round::items(&self.state, &replicas, (&r.ours, theirs), (&key, r.id));
        let Some(items) = items else {
            r.role = Role::Finished(Outcome::Failed);
            return;
        };
        let unseen = theirs.difference(&r.ours).event_count();
        let d = round::least_difference(items.len() as u64, r.theirs_held, unseen);
        // A symbol takes 13 to 16 bytes: the batch fits one frame.
        let fits = (self.config.max_frame_bytes / 16) as u64;
        let first = round::first_batch(d)
            .min(self.config.max_symbols)
            .min(fits.max(1));
        let mut encoder = Box::new(Encoder::new(
            round::session_key(peer.rounds.nonce, nonce),
            items,
        ));
        let symbols = encoder.produce(u16::try_from(first).unwrap_or(u16::MAX));
        let frame = message::sketch(tag, (r.id, pair), 0, &symbols);
        self.stats.rounds.symbols += symbols.len() as u64;
        r.role = Role::Sketcher {
            encoder,
            symbols,
            sent_at: self.now,
            resends: 0,
        };
        r.at = self.now;
        self.push(FrameKind::Sketch, from, frame);
    }

    /// Coded symbols from the peer (we decode), computed from the pair of announcements
    /// checked by `pair`.
    pub(super) fn on_sketch(
        &mut self,
        from: ReplicaId,
        (id, pair): (u64, u32),
        start: u64,
        symbols: &[Symbol],
    ) {
        let (now, max_symbols, me) = (self.now, self.config.max_symbols, self.id());
        let timeout = self.config.retransmit_after_ms;
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        let tag = peer.rounds.tag;
        let (Some(r), Some(nonce)) = (
            peer.rounds.round.as_mut().filter(|r| r.id == id),
            peer.rounds.theirs,
        ) else {
            return;
        };
        if r.pair.is_some_and(|p| p != pair) {
            // The peer sketched against announcements other than ours for the round: one side
            // holds a stale one (a hello of an earlier session arrived late). The symbols are
            // dropped, and we announce again (once per retransmission interval): the side
            // holding an older announcement takes the newer one, and the sketcher starts over.
            if now.saturating_sub(r.sent_at) >= timeout {
                debug!(peer = %from, round = id, "symbols of another pair of announcements: announcing again");
                r.sent_at = now;
                if id == 0 {
                    // A hello (not a reply): the peer answers with its own.
                    peer.hello_sent_at = None;
                } else {
                    let frame = message::summary(tag, id, false, (&r.ours, r.held));
                    self.push(FrameKind::Summary, from, frame);
                }
            }
            return;
        }
        if matches!(r.role, Role::Finished(Outcome::Stalled))
            && r.theirs
                .as_ref()
                .is_some_and(|theirs| !round::sketches((me, &r.ours), (from, theirs)))
        {
            // We gave up waiting, but the symbols came after all: decode them.
            r.role = Role::Decoder {
                decoder: None,
                have: 0,
            };
        }
        let (decoder, have) = match &mut r.role {
            Role::Finished(Outcome::Empty) => {
                // It announced an empty context, from which it would send no symbols: these
                // are for a round 0 it announced anew, in a hello still on its way. Wait for
                // it (the symbols are resent).
                return;
            }
            Role::Finished(outcome) => {
                // Our verdict was lost: say it again.
                let verdict = if *outcome == Outcome::Decoded {
                    Verdict::Done(r.told.clone())
                } else {
                    Verdict::Failed
                };
                let frame = message::verdict(tag, id, &verdict);
                self.push(FrameKind::Verdict, from, frame);
                return;
            }
            Role::Decoder { decoder, have } => (decoder, have),
            _ => return,
        };
        let Some(theirs) = r.theirs.as_ref() else {
            return;
        };
        r.at = now;
        let replicas = round::shared_replicas(&r.ours, theirs);
        if decoder.is_none() {
            let key = round::session_key(peer.rounds.nonce, nonce);
            let items = round::items(&self.state, &replicas, (&r.ours, theirs), (&key, id));
            if let Some(items) = items {
                let limits = Limits {
                    max_symbols: usize::try_from(max_symbols).unwrap_or(usize::MAX),
                    ..Limits::default()
                };
                *decoder = Some(Box::new(Decoder::new(
                    round::session_key(peer.rounds.nonce, nonce),
                    items,
                    limits,
                )));
            }
        }
        let decoded = decoder.as_mut().and_then(|d| {
            // Batches may come again (a lost verdict) or overlap: take only what is new. One
            // past a gap (a batch was lost) adds nothing: the verdict asks from the gap on.
            let got = d.received();
            if let Some(skip) = got.checked_sub(start)
                && let Some(new) = usize::try_from(skip)
                    .ok()
                    .and_then(|skip| symbols.get(skip..))
                    .filter(|n| !n.is_empty())
            {
                d.add(new, got).ok()?;
            }
            Some(d.try_decode())
        });
        *have = decoder.as_ref().map_or(0, |d| d.received());
        let verdict = match decoded {
            Some(Some(diff)) => {
                let (ours, theirs, since) = (r.ours.clone(), theirs.clone(), r.since);
                r.role = Role::Finished(Outcome::Decoded);
                r.told.clone_from(&diff.only_ours);
                self.stats.rounds.decoded += 1;
                let frame = message::verdict(tag, id, &Verdict::Done(diff.only_ours.clone()));
                self.push(FrameKind::Verdict, from, frame);
                self.make_base(from, &diff.only_theirs, &replicas, &ours, &theirs, since);
                return;
            }
            Some(None) if *have < max_symbols => Verdict::More(*have),
            _ => {
                r.role = Role::Finished(Outcome::Failed);
                self.stats.rounds.failed += 1;
                warn!(peer = %from, round = id, "reconciliation given up: full state instead");
                Verdict::Failed
            }
        };
        let frame = message::verdict(tag, id, &verdict);
        self.push(FrameKind::Verdict, from, frame);
    }

    /// The peer's base, once the difference is known: our additions outside its announcement,
    /// and the removal of `lacking`, items it holds and we no longer do (we removed them).
    /// Items are checked against both announcements: a lying peer can only make us tell it
    /// to drop dots it says it has seen and we have seen.
    pub(super) fn make_base(
        &mut self,
        from: ReplicaId,
        lacking: &[u64],
        replicas: &[ReplicaId],
        ours: &CausalContext,
        theirs: &CausalContext,
        since: u64,
    ) {
        let mut named: Vec<Dot> = lacking
            .iter()
            .filter_map(|&item| round::unpack(item, replicas))
            .filter(|&dot| ours.contains(dot) && theirs.contains(dot))
            .collect();
        // Items sort by digest before counter: put the dots in order for the contexts below.
        crate::platform::sort::sort_unstable(&mut named);
        // A dot they hold that we hold too (its item differed by the content digest) was
        // written twice: our part goes to them, and their join settles it. Any other we removed.
        let twice = self.state.at_dots(&named, SEAL);
        let mut held = crate::platform::hash::HashSet::default();
        twice.for_each_held(
            &mut |d| {
                held.insert(d);
            },
            SEAL,
        );
        let mut removed = CausalContext::default();
        for dot in named {
            if !held.contains(&dot) {
                removed.insert(dot);
            }
        }
        let mut base = self.state.outside(theirs, SEAL);
        base.join(T::removal(removed, SEAL));
        if !held.is_empty() {
            debug!(peer = %from, dots = held.len(), "round found dots held with other content");
            base.join(twice);
        }
        if !self.recon.disputed.is_empty() {
            base.join(self.state.at_dots(&self.recon.disputed, SEAL));
        }
        if let Some(peer) = self.peers.get_mut(&from)
            && core::mem::take(&mut peer.rounds.expose)
        {
            let seen: Vec<Dot> = self
                .recon
                .exposed
                .iter()
                .copied()
                .filter(|&d| theirs.contains(d))
                .collect();
            base.join(self.state.at_dots(&seen, SEAL));
        }
        debug!(peer = %from, removed = lacking.len(), "round decoded");
        self.set_base(from, base, since);
    }

    /// Keeps `base` for the next message to `peer`, joined with the deltas from `since` (we
    /// announced our snapshot then: later changes are in the buffer). A bottom one with nothing
    /// buffered since means the peer lacks nothing we hold: it counts as acknowledged.
    pub(super) fn set_base(&mut self, peer: ReplicaId, base: T, since: u64) {
        let seq = since;
        if base.is_bottom() && since == self.seq {
            self.recon.bases.remove(&peer);
            if let Some(p) = self.peers.get_mut(&peer) {
                p.acked = Some(p.acked.map_or(seq, |a| a.max(seq)));
            }
            self.collect();
            return;
        }
        self.recon.bases.insert(
            peer,
            Base {
                seq,
                value: base,
                shipped: None,
            },
        );
    }

    /// The decoder's verdict on our symbols.
    pub(super) fn on_verdict(&mut self, from: ReplicaId, id: u64, verdict: Verdict) {
        let (now, max_symbols) = (self.now, self.config.max_symbols);
        let Some(peer) = self.peers.get_mut(&from) else {
            return;
        };
        let tag = peer.rounds.tag;
        let Some(r) = peer.rounds.round.as_mut().filter(|r| r.id == id) else {
            return;
        };
        if verdict == Verdict::Refused && r.busy() {
            // The peer cannot announce: no round will find what it lacks, so it gets
            // everything again (as when a repair finds no round possible).
            r.role = Role::Finished(Outcome::Failed);
            self.stats.rounds.failed += 1;
            self.fall_back_to_full(from);
            return;
        }
        let Role::Sketcher {
            encoder,
            symbols,
            sent_at,
            resends,
        } = &mut r.role
        else {
            return;
        };
        r.at = now;
        match verdict {
            Verdict::More(have) => {
                let sent = encoder.produced();
                let start = have.min(sent);
                let end = (sent.saturating_mul(2)).min(max_symbols).max(sent);
                if end > sent {
                    let more = u16::try_from(end - sent).unwrap_or(u16::MAX);
                    symbols.extend(encoder.produce(more));
                }
                let batch = symbols.get(start as usize..).unwrap_or_default();
                if batch.is_empty() {
                    r.role = Role::Finished(Outcome::Failed);
                    self.stats.rounds.failed += 1;
                    return;
                }
                let frame = message::sketch(tag, (id, r.pair.unwrap_or(0)), start, batch);
                self.stats.rounds.symbols += batch.len() as u64;
                *sent_at = now;
                *resends = 0;
                self.push(FrameKind::Sketch, from, frame);
            }
            Verdict::Done(lacking) => {
                let theirs = r.theirs.take();
                let ours = r.ours.clone();
                let since = r.since;
                r.role = Role::Finished(Outcome::Decoded);
                self.stats.rounds.decoded += 1;
                if let Some(theirs) = theirs {
                    let replicas = round::shared_replicas(&ours, &theirs);
                    self.make_base(from, &lacking, &replicas, &ours, &theirs, since);
                }
            }
            Verdict::Failed | Verdict::Refused => {
                r.role = Role::Finished(Outcome::Failed);
                self.stats.rounds.failed += 1;
            }
        }
    }

    /// Whether nothing is under way with `peer`: everything sent acknowledged, no round.
    pub(super) fn quiet(&self, id: ReplicaId) -> bool {
        self.peers.get(&id).is_some_and(|p| {
            p.heard
                && p.rounds.reconciles()
                && p.in_flight.is_none()
                && p.pending.is_none()
                && p.ack_due.is_none()
                && !p.rounds.busy()
                && p.acked == Some(self.seq)
                && !self.recon.bases.contains_key(&id)
        })
    }

    /// Our state's fingerprint under `peer`'s session key: the events seen and the dots
    /// held (with their content digests), each hashed with the key, combined
    /// order-independently. Cached per sequence
    /// number (the state changes only with it).
    pub(super) fn fingerprint(&mut self, id: ReplicaId) -> Option<u64> {
        let seq = self.seq;
        let peer = self.peers.get(&id)?;
        if let Some((_, fp)) = peer.rounds.fingerprint.filter(|(at, _)| *at == seq) {
            return Some(fp);
        }
        let key = round::session_key(peer.rounds.nonce, peer.rounds.theirs?);
        let ctx = self.state.causal_context(SEAL)?;
        let mut hash = round::DotHasher::new(&key);
        let mut fp = hash.context(ctx);
        // Held dots with their content digest: one dot written twice shows as a mismatch.
        self.state.for_each_held_digest(
            &mut |dot, digest| fp ^= hash.dot(2 ^ (digest << 8), dot),
            SEAL,
        );
        if let Some(p) = self.peers.get_mut(&id) {
            p.rounds.fingerprint = Some((seq, fp));
        }
        Some(fp)
    }

    /// A quiet peer's fingerprint: on a mismatch while we are quiet too, a repair round.
    pub(super) fn on_digest(&mut self, from: ReplicaId, fingerprint: u64) {
        if !self.quiet(from) || self.fingerprint(from) == Some(fingerprint) {
            return;
        }
        self.stats.rounds.repairs += 1;
        warn!(peer = %from, "state fingerprints differ on a quiet session: repairing");
        if !self.start_new_round(from) {
            // No round possible (our context does not fit a frame, the session's rounds are
            // used up, or reconciliation is off).
            self.fall_back_to_full(from);
        }
    }

    /// No round can find what `id` lacks: it gets everything again (its acknowledgements are
    /// forgotten). Our fingerprint goes ahead of the full state: the peer, quiet until now,
    /// compares it and, on a mismatch, repairs its side too. Without it a repair would go one
    /// way only, when it is always our side that notices first (the peer whose fingerprint
    /// arrives first never gets one back).
    fn fall_back_to_full(&mut self, id: ReplicaId) {
        let fingerprint = self.fingerprint(id);
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        peer.forget_acks();
        let tag = peer.rounds.tag;
        if let Some(fp) = fingerprint {
            self.push(FrameKind::Digest, id, message::digest(tag, fp));
        }
    }

    /// Opens a new round with `peer` (a summary of ours goes out). Returns whether it did.
    pub(super) fn start_new_round(&mut self, id: ReplicaId) -> bool {
        let Some(mine) = self.snapshot() else {
            return false;
        };
        let (now, max_rounds) = (self.now, self.config.max_rounds);
        let Some(peer) = self.peers.get_mut(&id).filter(|p| p.rounds.reconciles()) else {
            return false;
        };
        if peer.rounds.count >= max_rounds || peer.rounds.busy() {
            return peer.rounds.busy();
        }
        let tag = peer.rounds.tag;
        // Newer than any round either side has opened, so the peer adopts it.
        let round = peer
            .rounds
            .round
            .as_ref()
            .map_or(0, |r| r.id)
            .max(peer.rounds.last_id)
            + 1;
        peer.rounds.count += 1;
        peer.rounds.heard = false;
        self.stats.rounds.started += 1;
        let held = round::held(&self.state);
        let frame = message::summary(tag, round, false, (&mine, held));
        peer.rounds.round = Some(Round::new(round, (mine, held), now, self.seq));
        self.push(FrameKind::Summary, id, frame);
        true
    }

    /// Another replica issues (or issued) under our id: a peer has seen events of it beyond
    /// those we issued, or holds one of our dots with other content. This replica is a
    /// restored backup or a copy, or has one. Keep the state, continue under a fresh id, and
    /// open every session again under it.
    pub(super) fn fork(&mut self, from: ReplicaId, why: &'static str) {
        let old = self.id();
        let new = old.fork(self.recon.nonce());
        warn!(
            %old, %new, peer = %from, why,
            "replica id reused (a restored backup or a copy): continuing under a fresh replica id"
        );
        self.hlc.fork(new);
        self.stats.forks += 1;
        let mut exposed = Vec::new();
        self.state.for_each_held(
            &mut |d| {
                if d.replica == old {
                    exposed.push(d);
                }
            },
            SEAL,
        );
        self.recon.exposed = exposed;
        let start = self.buffer.start();
        let ids: Vec<ReplicaId> = self.peers.keys().copied().collect();
        for id in ids {
            let nonce = self.recon.nonce();
            if let Some(peer) = self.peers.get_mut(&id) {
                let acked = peer.acked;
                *peer = Peer::new(start);
                peer.rounds = PeerRounds::new(nonce);
                peer.rounds.expose = true;
                peer.acked = acked;
            }
        }
        self.recon.forget();
        self.outbox.clear();
    }

    /// Work due at `now` for reconciliation: symbols resent, stalled rounds given up,
    /// fingerprints of quiet sessions sent.
    pub(super) fn tick_rounds(&mut self) {
        let (now, timeout, me) = (self.now, self.config.retransmit_after_ms, self.id());
        let give_up = timeout.saturating_mul(8);
        let mut frames = Vec::new();
        let mut digests = Vec::new();
        for (&id, peer) in self.peers.iter_mut() {
            let tag = peer.rounds.tag;
            if let Some(r) = peer.rounds.round.as_mut().filter(|r| r.busy()) {
                if now.saturating_sub(r.at) >= give_up {
                    r.role = Role::Finished(Outcome::Stalled);
                    self.stats.rounds.failed += 1;
                    debug!(peer = %id, round = r.id, "round stalled: given up");
                } else if let Role::Sketcher {
                    symbols,
                    sent_at,
                    resends,
                    ..
                } = &mut r.role
                    && now.saturating_sub(*sent_at) >= timeout
                {
                    // No verdict: send the symbols again (the decoder ignores what it has).
                    *sent_at = now;
                    *resends += 1;
                    frames.push((
                        FrameKind::Sketch,
                        id,
                        message::sketch(tag, (r.id, r.pair.unwrap_or(0)), 0, symbols),
                    ));
                } else if matches!(r.role, Role::Announced)
                    && r.theirs.is_none()
                    && now.saturating_sub(r.sent_at) >= timeout
                {
                    // No announcement back: ask again.
                    r.sent_at = now;
                    frames.push(if r.id == 0 {
                        (
                            FrameKind::Hello,
                            id,
                            message::hello(me, false, peer.rounds.nonce, Some((&r.ours, r.held))),
                        )
                    } else {
                        (
                            FrameKind::Summary,
                            id,
                            message::summary(tag, r.id, false, (&r.ours, r.held)),
                        )
                    });
                }
            }
            if self.config.repair_after_ms > 0
                && peer.heard
                && peer.rounds.reconciles()
                && now >= peer.rounds.digest_at
            {
                peer.rounds.digest_at = now.saturating_add(self.config.repair_after_ms);
                digests.push((id, tag));
            }
        }
        for (kind, id, frame) in frames {
            self.stats.retransmissions += 1;
            self.push(kind, id, frame);
        }
        for (id, tag) in digests {
            if self.quiet(id)
                && let Some(fp) = self.fingerprint(id)
            {
                self.push(FrameKind::Digest, id, message::digest(tag, fp));
            }
        }
    }
}
