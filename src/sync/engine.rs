//! The sans-IO sync engine.

use std::borrow::Cow;
use std::collections::VecDeque;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{debug, debug_span, trace, warn};

use super::buffer::{DeltaBuffer, Interval, Source};
#[cfg(not(small_code))]
use super::changes::Changes;
use super::message::{self, ChunkId, Message};
use super::peer::{InFlight, Peer, Pending, Reassembly};
#[cfg(feature = "reconcile")]
use super::round::{self, PeerRounds, Reconciler};
use super::sorted_map::SortedMap;
use super::stats::{Count, PeerStats, SyncStats, Traffic};
use super::{SyncConfig, SyncError};
use crate::causal::Reconcile;
use crate::clock::{Hlc, Timestamp};
use crate::codec::DecodeError;
use crate::codec::FrameKind;
use crate::id::ReplicaId;
use crate::lattice::Delta;

/// A frame to hand to the transport.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transmit {
    /// The peer to deliver it to.
    pub to: ReplicaId,
    /// The frame.
    pub bytes: Vec<u8>,
}

/// What a replica restarts from with [`SyncEngine::resume`]: its durable state and sequence
/// number, the deltas it still holds (its delta log) and the acknowledgements its peers had
/// sent (see the [`durable`](crate::durable) module, which persists all of them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resume<T> {
    /// The state, including every delta below.
    pub state: T,
    /// The sequence number `c` persisted with `state`.
    pub seq: u64,
    /// Buffered deltas as `(seq, delta, origin)` (`None`: a local mutation), ascending. Only the
    /// contiguous run ending at `seq` is used; the buffer's caps apply.
    pub deltas: Vec<(u64, T, Option<ReplicaId>)>,
    /// `A[j]` as persisted: the highest of our sequence numbers each peer acknowledged.
    pub acks: Vec<(ReplicaId, u64)>,
}

/// Why a peer gets the full state instead of a delta-interval.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FullReason {
    NewPeer,
    Restart,
    Evicted,
}

/// Delta-interval anti-entropy (Almeida, Shoker, Baquero, JPDC 2018, Algorithm 2) with the
/// back-propagation and redundancy optimisations of Enes et al. (ICDE 2019), sans IO.
///
/// The engine owns a replica's state `X`, its sequence number `c`, its delta buffer `D` and
/// the acknowledgement map `A`, and its [`Hlc`]. It never touches a socket, a thread or a
/// clock: feed it frames with [`receive`](Self::receive), take frames to send with
/// [`poll_transmit`](Self::poll_transmit), and give it the time with [`tick`](Self::tick).
/// # Protocol
///
/// Delta-state anti-entropy over any transport, sans IO.
///
/// Each replica keeps its state `X`, a sequence number `c`, a buffer `D` of the deltas it
/// applied (`c ↦ (delta-group, origin)`) and, per peer `j`, the highest sequence number `A[j]`
/// that peer acknowledged (Almeida, Shoker, Baquero, *Delta State Replicated Data Types*,
/// JPDC 2018, Algorithm 2):
///
/// 1. **Local update** — the mutator's delta `d` is joined into `X`, stored as `D[c]`, `c += 1`.
/// 2. **Ship** — a peer with `A[j] < c` gets `⊔ D[A[j]..c)` tagged with `c`, skipping deltas that
///    came from `j` itself (no back-propagation). If the buffer no longer reaches back to
///    `A[j]` — a new peer after the buffer was collected, a peer after this replica restarted,
///    a peer evicted by the buffer's cap — it gets the full state instead, counted in
///    [`SyncStats::full_states`] with its reason. Large payloads travel as chunks.
/// 3. **Receive** — the frame is decoded under [`DecodeLimits`](crate::DecodeLimits) and
///    validated; its greatest timestamp is checked for drift and merged into the [`Hlc`](crate::Hlc);
///    only then is it joined. If it inflated `X`, **only the new part** is buffered, tagged with
///    its origin, `c += 1` ([`Lattice::join_novelty`](crate::Lattice::join_novelty) joins and
///    returns [`Lattice::novelty`](crate::Lattice::novelty) in one pass).
///    It is acknowledged either way, duplicates included.
/// 4. **Ack** — `A[j] = max(A[j], n)`; deltas every peer acknowledged are collected.
///
/// One data message per peer is in flight at a time; deltas made meanwhile go out together
/// when it is acknowledged, or when [`SyncConfig::retransmit_after_ms`] passes without an
/// acknowledgement (so a lost message is repaired by the next one). Because every message
/// starts at the peer's acknowledged point, a replica only ever joins an interval whose
/// prefix it already holds: updates become visible in causal order.
///
/// **Relays.** With the `reconcile` feature (format minor 2), a peer tells its other peers
/// what it holds of each neighbour's state (holds frames), and a relay leaves out of an
/// interval what the peer holds, holding a relayed delta back for
/// [`SyncConfig::relay_hold_ms`] to hear so: in a full mesh each update crosses each link
/// once instead of once per relay (see `src/sync/relay.rs`).
///
/// **Clock skew.** With the `reconcile` feature (format minor 3), a received value stamped
/// beyond the drift bound is not refused: register writes stamped beyond it are held back
/// (released when their time comes, as concurrent writes), everything else applies, and the
/// sender is told; a replica told its clock runs ahead fences its register writes
/// ([`ClockError::Fenced`](crate::ClockError::Fenced)) and, once its clock is fixed, forks to
/// a fresh id (see `src/sync/skew.rs`). [`tick`](Self::tick) is also due when a held write's
/// time comes ([`poll_timeout`](Self::poll_timeout) includes it).
///
/// A session opens with a hello each way (the replica id; the frame header carries the
/// format version, and a peer speaking another one gets [`SyncError::Incompatible`]).
///
/// # Examples
/// ```
/// use deltacrdt::{Doc, Hlc, ReplicaId, SyncEngine};
/// let clock = || 1_700_000_000_000u64;
/// let mut a = SyncEngine::<Doc>::new(Hlc::builder(ReplicaId::from_u128(1)).clock(clock).build()?);
/// let mut b = SyncEngine::<Doc>::new(Hlc::builder(ReplicaId::from_u128(2)).clock(clock).build()?);
/// a.connect(b.id());
/// b.connect(a.id());
/// a.update(|doc, hlc| doc.increment(hlc.replica(), &["likes"], 2))?;
/// b.update(|doc, hlc| doc.insert(hlc.replica(), &["tags"], "urgent".into()))?;
/// // Carry frames both ways until neither side has anything left to say.
/// loop {
///     let mut quiet = true;
///     while let Some(t) = a.poll_transmit() { b.receive(a.id(), &t.bytes)?; quiet = false; }
///     while let Some(t) = b.poll_transmit() { a.receive(b.id(), &t.bytes)?; quiet = false; }
///     if quiet { break; }
/// }
/// assert_eq!(a.state(), b.state());
/// assert_eq!(a.state().counter(&["likes"]), 2);
/// assert_eq!(a.stats().full_states.total(), 0); // deltas only
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SyncEngine<T> {
    pub(super) hlc: Hlc,
    pub(super) state: T,
    pub(super) seq: u64,
    pub(super) buffer: DeltaBuffer<T>,
    /// The sequence number [`restore`](Self::restore) resumed at: a peer that acknowledged
    /// less gets a full state, counted as caused by the restart.
    restored_at: Option<u64>,
    /// Acknowledgements persisted before a restart, given to each peer when it registers.
    resumed_acks: SortedMap<ReplicaId, u64>,
    pub(super) peers: SortedMap<ReplicaId, Peer>,
    pub(super) config: SyncConfig,
    pub(super) now: u64,
    /// Frames ready to go, with their kind (for the statistics).
    pub(super) outbox: VecDeque<(FrameKind, Transmit)>,
    pub(super) stats: SyncStats,
    /// The state was changed by something other than a join since
    /// [`clear_rewritten`](Self::clear_rewritten): a dot written twice was settled (one
    /// content forgotten). No delta describes that, so a store must write the state itself.
    pub(super) rewritten: bool,
    /// History-free reconciliation: the bases found for peers, the session-nonce source.
    #[cfg(feature = "reconcile")]
    pub(super) recon: Reconciler<T>,
    /// What received frames changed, per peer, while a driver records it.
    #[cfg(not(small_code))]
    changes: Changes<T>,
    /// Writes held back for clock skew (`sync/skew.rs`).
    #[cfg(feature = "reconcile")]
    pub(super) held: super::held::Held<T>,
    /// Buffered deltas from this sequence number on are kept whatever the peers acknowledged:
    /// a durable store has not appended them to its log yet.
    retain_from: Option<u64>,
}

impl<T: Reconcile + Serialize + DeserializeOwned> SyncEngine<T> {
    /// A fresh replica (bottom state, sequence 0) with the default [`SyncConfig`]; its id is
    /// the clock's.
    pub fn new(hlc: Hlc) -> Self {
        Self::with_config(hlc, SyncConfig::default())
    }

    /// A fresh replica with `config`.
    pub fn with_config(hlc: Hlc, config: SyncConfig) -> Self {
        Self {
            #[cfg(feature = "reconcile")]
            recon: Reconciler::new(&hlc, &config),
            hlc,
            state: T::default(),
            seq: 0,
            buffer: DeltaBuffer::new(0),
            restored_at: None,
            resumed_acks: SortedMap::default(),
            peers: SortedMap::default(),
            config,
            now: 0,
            outbox: VecDeque::new(),
            stats: SyncStats::default(),
            rewritten: false,
            #[cfg(not(small_code))]
            changes: Changes::default(),
            #[cfg(feature = "reconcile")]
            held: super::held::Held::default(),
            retain_from: None,
        }
    }

    /// Starts recording what received frames change, for [`take_changes`](Self::take_changes)
    /// (a change stream: `SyncNode::spawn` of the `tokio` feature records), or stops and drops
    /// what was recorded. Off by default: recording clones the new part of every received
    /// value.
    #[cfg(not(small_code))]
    pub fn record_changes(&mut self, on: bool) {
        self.changes.record(on);
    }

    /// What received frames changed since the last call, while recording
    /// ([`record_changes`](Self::record_changes)): per peer that sent something new, in the
    /// order they first did since the last call, the join of the new parts of what it sent — a
    /// delta that names exactly what changed (for a [`Doc`](crate::Doc), the fields). Memory
    /// stays bounded however late this is called: one delta-group per peer. A dot settled
    /// after a conflict (a replica id reused) changes the state without being recorded.
    ///
    /// ```
    /// use deltacrdt::{GCounter, Hlc, Replica, ReplicaId, SyncEngine};
    /// let (ia, ib) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut a = SyncEngine::<GCounter>::new(Hlc::builder(ia).build()?);
    /// let mut b = SyncEngine::<GCounter>::new(Hlc::builder(ib).build()?);
    /// b.record_changes(true);
    /// a.connect(ib);
    /// b.connect(ia);
    /// a.edit(|c, hlc| c.increment(hlc.replica(), 3))?;
    /// for _ in 0..3 {
    ///     while let Some(t) = a.poll_transmit() { b.receive(ia, &t.bytes)?; }
    ///     while let Some(t) = b.poll_transmit() { a.receive(ib, &t.bytes)?; }
    /// }
    /// let changes = b.take_changes();
    /// assert_eq!(changes.len(), 1);
    /// assert_eq!((changes[0].0, changes[0].1.value()), (ia, 3));
    /// assert!(b.take_changes().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(not(small_code))]
    pub fn take_changes(&mut self) -> Vec<(ReplicaId, T)> {
        self.changes.take()
    }

    /// Whether the state changed other than by joins since the last
    /// [`clear_rewritten`](Self::clear_rewritten) (a dot written twice was settled): the
    /// buffered deltas then no longer add up to the state, so a durable store must write a
    /// snapshot of it.
    pub(crate) fn rewritten(&self) -> bool {
        self.rewritten
    }

    /// The state as it is has been written (see [`rewritten`](Self::rewritten)).
    pub(crate) fn clear_rewritten(&mut self) {
        self.rewritten = false;
    }

    /// A replica restarted from its durable parts: the state, the sequence number and a clock
    /// built with [`HlcBuilder::last`](crate::HlcBuilder::last). The delta buffer and the
    /// acknowledgements were volatile, so every peer first gets the full state.
    ///
    /// `seq` must be the one persisted with `state`; it never goes backwards. A replica that
    /// lost its state must start [`new`](Self::new) under a new id instead.
    pub fn restore(hlc: Hlc, state: T, seq: u64, config: SyncConfig) -> Self {
        // A non-bottom state needs a sequence number peers have not acknowledged yet.
        let seq = if state.is_bottom() { seq } else { seq.max(1) };
        Self {
            state,
            seq,
            buffer: DeltaBuffer::new(seq),
            restored_at: Some(seq),
            ..Self::with_config(hlc, config)
        }
    }

    /// A replica restarted from its durable parts *including* its delta log and its peers'
    /// acknowledgements: a peer whose acknowledgement the resumed deltas still cover gets a
    /// delta-interval, as if nothing had happened; the others get the full state (counted as
    /// [`FullStates::restart`](crate::FullStates::restart)). The clock is built as for
    /// [`restore`](Self::restore). Deltas that are not contiguous up to `seq` are ignored,
    /// acknowledgements beyond `seq` are clamped to it.
    ///
    /// # Examples
    /// ```
    /// use deltacrdt::{GCounter, Hlc, ReplicaId, Resume, SyncConfig, SyncEngine};
    /// let (me, peer) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let clock = || 1_700_000_000_000u64;
    /// let mut a = SyncEngine::<GCounter>::new(Hlc::builder(me).clock(clock).build()?);
    /// a.connect(peer); // a replica without peers keeps no deltas
    /// a.update(|c, _| Ok::<_, std::convert::Infallible>(c.increment(me, 1)))?;
    /// let deltas: Vec<_> = a.buffered_since(0).into_iter().flatten()
    ///     .map(|(seq, d, origin)| (seq, d.clone(), origin)).collect();
    /// let resume = Resume { state: a.state().clone(), seq: a.seq(), deltas, acks: vec![(peer, 0)] };
    /// let hlc = Hlc::builder(me).clock(clock).last(a.hlc().last()).build()?;
    /// let b = SyncEngine::resume(hlc, resume, SyncConfig::default());
    /// assert_eq!((b.seq(), b.state().value()), (1, 1));
    /// assert_eq!(b.buffered_since(0).map(Iterator::count), Some(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resume(hlc: Hlc, resume: Resume<T>, config: SyncConfig) -> Self {
        let Resume {
            state,
            seq,
            deltas,
            acks,
        } = resume;
        let mut engine = Self::restore(hlc, state, seq, config);
        let seq = engine.seq;
        // The contiguous run of deltas ending at `seq`.
        let mut run = Vec::new();
        let mut next = seq;
        for (s, delta, origin) in deltas.into_iter().rev() {
            if s.checked_add(1) != Some(next) {
                break;
            }
            next = s;
            run.push((delta, origin));
        }
        engine.buffer = DeltaBuffer::new(next);
        for (delta, origin) in run.into_iter().rev() {
            engine.buffer.push(delta, Source::of(origin));
        }
        engine.stats.evictions += engine.buffer.evict(
            engine.config.max_buffer_bytes,
            engine.config.max_buffer_entries,
        );
        engine.resumed_acks = acks
            .into_iter()
            .filter(|&(id, _)| id != engine.id())
            .map(|(id, ack)| (id, ack.min(seq)))
            .collect();
        engine
    }

    /// The buffered deltas from sequence number `from` on, as `(seq, delta, origin)` (origin
    /// `None`: a local mutation): what a durable store appends to its log. `None` if the buffer
    /// no longer reaches back to `from` (collected or evicted) or `from` is past [`seq`](Self::seq).
    pub fn buffered_since(
        &self,
        from: u64,
    ) -> Option<impl Iterator<Item = (u64, &T, Option<ReplicaId>)> + '_> {
        self.buffer.since(from)
    }

    /// [`buffered_since`](Self::buffered_since) with each delta's payload encoding, made now
    /// if no frame needed it yet, then kept (empty if it could not be encoded): a log record
    /// reuses what a frame encoded, and the other way round.
    pub(crate) fn buffered_payloads_since(
        &mut self,
        from: u64,
    ) -> Option<impl Iterator<Item = (u64, &T, &[u8], Option<ReplicaId>)> + '_> {
        self.buffer.payloads_since(from)
    }

    /// The acknowledgement `A[j]` of every registered peer that sent one: the highest of our
    /// sequence numbers it has applied.
    /// Acknowledgements given to [`resume`](Self::resume) count for peers that have not
    /// registered again yet, so persisting these keeps them across several restarts.
    pub fn acks(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        let registered = self
            .peers
            .iter()
            .filter_map(|(&id, p)| p.acked.map(|a| (id, a)));
        let resumed = self
            .resumed_acks
            .iter()
            .filter(|(id, _)| !self.peers.contains_key(id))
            .map(|(&id, &a)| (id, a));
        registered.chain(resumed)
    }

    /// A newly registered peer: its acknowledgement persisted before a restart, if any.
    pub(super) fn new_peer(&mut self, id: ReplicaId) -> Peer {
        let mut peer = Peer::new(self.buffer.start());
        #[cfg(feature = "reconcile")]
        {
            peer.rounds = PeerRounds::new(self.recon.nonce());
        }
        peer.acked = self.resumed_acks.get(&id).copied();
        peer
    }

    /// This replica's id (its clock's).
    pub fn id(&self) -> ReplicaId {
        self.hlc.replica()
    }

    /// The replicated state.
    pub fn state(&self) -> &T {
        &self.state
    }

    /// The sequence number `c` (durable with the state).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The replica's clock (its [`last`](Hlc::last) timestamp is durable with the state).
    pub fn hlc(&self) -> &Hlc {
        &self.hlc
    }

    /// The configuration.
    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// Applies a local mutation: `f` mutates the state (stamping with the clock if it needs
    /// to) and returns the delta, which is buffered for every peer. A bottom delta changes
    /// nothing and takes no sequence number.
    ///
    /// `f` must leave the state unchanged when it fails (every mutator of this crate does).
    ///
    /// # Errors
    /// Whatever `f` returns.
    pub fn update<E>(
        &mut self,
        f: impl FnOnce(&mut T, &mut Hlc) -> Result<Delta<T>, E>,
    ) -> Result<(), E> {
        #[cfg(feature = "reconcile")]
        self.check_clock();
        let delta = f(&mut self.state, &mut self.hlc)?.into_inner();
        if !delta.is_bottom() {
            self.buffer_delta(delta, Source::of(None));
        }
        Ok(())
    }

    pub(super) fn buffer_delta(&mut self, delta: T, source: Source) {
        #[cfg(feature = "reconcile")]
        let source = Source {
            at: self.now,
            ..source
        };
        self.buffer.push(delta, source);
        self.seq = self.buffer.end();
        if self.peers.len() == 0 && self.resumed_acks.len() == 0 {
            // Nobody to ship it to: a peer that comes later gets the state.
            self.collect();
        }
        let evicted = self
            .buffer
            .evict(self.config.max_buffer_bytes, self.config.max_buffer_entries);
        if evicted > 0 {
            self.stats.evictions += evicted;
            debug!(
                evicted,
                start = self.buffer.start(),
                "delta buffer over its cap"
            );
        }
    }

    /// Starts syncing with `peer`: a hello goes out on the next [`poll_transmit`](Self::poll_transmit).
    /// Peers that send a valid frame first are registered the same way. A peer known already
    /// whose session closed ([`session_closed`](Self::session_closed)) is greeted at once.
    pub fn connect(&mut self, peer: ReplicaId) {
        if peer == self.id() {
            return;
        }
        match self.peers.get_mut(&peer) {
            Some(p) if !p.heard => p.hello_sent_at = None,
            Some(_) => {}
            None => {
                let new = self.new_peer(peer);
                self.peers.insert(peer, new);
            }
        }
    }

    /// The transport's session with `peer` closed (it may open again): the peer shows as not
    /// connected ([`PeerStats::connected`](crate::PeerStats)) until a frame from it arrives,
    /// and a payload it was sending in chunks is dropped (it is sent again whole). Unlike
    /// [`disconnect`](Self::disconnect), its acknowledgements are kept, so a session that
    /// opens again carries on from them.
    pub fn session_closed(&mut self, peer: ReplicaId) {
        if let Some(p) = self.peers.get_mut(&peer) {
            p.heard = false;
            p.reassembly = None;
        }
    }

    /// Stops syncing with `peer` and forgets its acknowledgements; it no longer holds back the
    /// collection of the delta buffer.
    pub fn disconnect(&mut self, peer: ReplicaId) {
        self.peers.remove(&peer);
        #[cfg(feature = "reconcile")]
        self.forget_relay(peer);
        self.resumed_acks.remove(&peer);
        self.outbox.retain(|(_, t)| t.to != peer);
        self.collect();
    }

    /// The peers this engine syncs with.
    pub fn peers(&self) -> impl Iterator<Item = ReplicaId> + '_ {
        self.peers.keys().copied()
    }

    /// Advances the engine's time (milliseconds, any epoch, never backwards): messages
    /// unacknowledged for [`SyncConfig::retransmit_after_ms`] are sent again by the next
    /// [`poll_transmit`](Self::poll_transmit). There is no need to call it on a fixed
    /// interval: call it when [`poll_timeout`](Self::poll_timeout) says.
    pub fn tick(&mut self, now_ms: u64) {
        self.now = self.now.max(now_ms);
        let timeout = self.config.retransmit_after_ms;
        for peer in self.peers.values_mut() {
            if peer
                .in_flight
                .is_some_and(|f| self.now.saturating_sub(f.sent_at) >= timeout)
            {
                peer.in_flight = None;
                self.stats.retransmissions += 1;
            }
        }
        #[cfg(feature = "reconcile")]
        {
            self.tick_rounds();
            self.check_clock();
            self.release_held();
        }
    }

    /// When the next [`tick`](Self::tick) is due, in the milliseconds of `tick`'s clock:
    /// the earliest time at which a hello or an unacknowledged data message is to be sent
    /// again ([`SyncConfig::retransmit_after_ms`] after it went out); with the `reconcile`
    /// feature also when a write held back for clock skew comes due, and every second while
    /// the clock is fenced (see "Clock skew" in the type's docs). `None` when no timer is
    /// running — every peer greeted back and everything sent acknowledged: wait for input
    /// only (a frame, a local update, a new peer).
    ///
    /// Call it after every [`receive`](Self::receive), [`update`](Self::update),
    /// [`connect`](Self::connect), [`tick`](Self::tick) and after draining
    /// [`poll_transmit`](Self::poll_transmit) (a driver's loop: handle input, drain
    /// `poll_transmit`, ask `poll_timeout`, sleep until that time or the next input). The
    /// deadline is exact: `tick` at the returned time (or later) does the work that was due
    /// and the following `poll_transmit` sends it; ticking earlier is never needed. A time
    /// already past is returned as it is: tick now.
    ///
    /// # Examples
    /// ```
    /// use deltacrdt::{GCounter, Hlc, ReplicaId, SyncEngine};
    /// let clock = || 1_700_000_000_000u64;
    /// let mut a = SyncEngine::<GCounter>::new(Hlc::builder(ReplicaId::from_u128(1)).clock(clock).build()?);
    /// assert_eq!(a.poll_timeout(), None); // no peers: nothing to wait for
    /// a.tick(5);
    /// a.connect(ReplicaId::from_u128(2));
    /// while a.poll_transmit().is_some() {} // the hello
    /// assert_eq!(a.poll_timeout(), Some(5 + a.config().retransmit_after_ms)); // resent then
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn poll_timeout(&self) -> Option<u64> {
        let mut due: Option<u64> = None;
        for peer in self.peers.values() {
            // `fill_outbox` resends a hello to a peer not heard from yet, and `tick` clears
            // a data message left unacknowledged, `retransmit_after_ms` after it went out.
            let hello = peer.hello_sent_at.filter(|_| !peer.heard);
            let timeout = self.config.retransmit_after_ms;
            #[allow(unused_mut, reason = "reconciliation adds its timers")]
            let mut times = [hello, peer.in_flight.map(|f| f.sent_at)]
                .into_iter()
                .flatten()
                .map(|at| at.saturating_add(timeout))
                .collect::<Vec<_>>();
            #[cfg(feature = "reconcile")]
            self.round_deadlines(peer, &mut times);
            // A relayed delta held back from the peer goes when its hold ends (if there is
            // still something to ship and no message in flight).
            #[cfg(feature = "reconcile")]
            times.extend(peer.relay.hold_until.filter(|_| {
                peer.in_flight.is_none() && peer.heard && peer.acked.unwrap_or(0) < self.seq
            }));
            for at in times {
                due = Some(due.map_or(at, |d| d.min(at)));
            }
        }
        // Writes held back for clock skew are released when their stamps come within the
        // bound; a fenced clock is checked every second.
        #[cfg(feature = "reconcile")]
        if let Some(at) = self.skew_due() {
            due = Some(due.map_or(at, |d| d.min(at)));
        }
        due
    }

    /// Handles one frame from `from`. Returns whether the state changed.
    ///
    /// Nothing of a refused frame is applied: decoding, validation and the clock's drift
    /// check all happen before the join. With the `reconcile` feature, register writes
    /// stamped beyond the drift bound are held back rather than refusing the frame (see
    /// "Clock skew" above).
    ///
    /// # Errors
    /// A [`SyncError`] saying why the frame was refused.
    pub fn receive(&mut self, from: ReplicaId, bytes: &[u8]) -> Result<bool, SyncError> {
        let _span = debug_span!("receive", replica = %self.id(), peer = %from).entered();
        let decoded = Message::<T>::decode(bytes, &self.config.limits);
        let (kind, msg) = match decoded {
            Ok(ok) => ok,
            Err(err) => {
                self.stats.decode_errors += 1;
                self.stats.received.invalid.add(bytes.len());
                warn!(peer = %from, error = %err, "refused frame");
                return Err(match err {
                    DecodeError::UnsupportedVersion { found, supported } => {
                        SyncError::Incompatible {
                            peer: from,
                            found,
                            supported,
                        }
                    }
                    source => SyncError::Decode { peer: from, source },
                });
            }
        };
        if from == self.id() {
            return Err(SyncError::SelfId(from));
        }
        if let Message::Hello { replica, .. } = msg
            && replica != from
        {
            // Refused before the peer is registered: nothing is sent to a mislabelled channel.
            return Err(SyncError::PeerMismatch {
                peer: from,
                claimed: replica,
            });
        }
        if !self.peers.contains_key(&from) && self.peers.len() >= self.config.max_peers {
            return Err(SyncError::TooManyPeers {
                peer: from,
                max: self.config.max_peers,
            });
        }
        count_kind(&mut self.stats.received, kind, bytes.len());
        trace!(peer = %from, kind = kind.name(), bytes = bytes.len(), "received");
        if !self.peers.contains_key(&from) {
            let new = self.new_peer(from);
            self.peers.insert(from, new);
        }
        let Some(peer) = self.peers.get_mut(&from) else {
            return Ok(false);
        };
        peer.received.add(bytes.len());
        peer.heard = true;
        #[cfg(feature = "reconcile")]
        {
            peer.rounds.heard = true;
            if !matches!(msg, Message::Digest { .. }) {
                peer.rounds.digest_at = self.now.saturating_add(self.config.repair_after_ms);
            }
        }
        match msg {
            Message::Hello {
                reply,
                minor,
                #[cfg(feature = "reconcile")]
                nonce,
                #[cfg(feature = "reconcile")]
                context,
                ..
            } => {
                // The first hello from the peer after ours went out crossed it on the wire:
                // ours is on its way, so it needs no reply. A later one means the peer missed
                // ours (it greets until it hears from us) or restarted: it gets one.
                let crossed = !peer.hello_heard && peer.hello_sent_at.is_some();
                peer.reply_due |= !reply && !crossed;
                peer.hello_heard = true;
                debug!(peer = %from, reply, minor, "hello");
                // What we told and asked it may be lost (it restarted): again, then.
                #[cfg(feature = "reconcile")]
                {
                    peer.relay.minor = minor;
                    peer.relay.told = SortedMap::default();
                    peer.relay.asked = SortedMap::default();
                }
                #[cfg(feature = "reconcile")]
                self.on_hello(from, nonce, context);
                Ok(false)
            }
            #[cfg(feature = "reconcile")]
            Message::Summary {
                session,
                round,
                reply,
                context,
                held,
            } => {
                if self.in_session(from, session) {
                    self.on_announce(from, round, (context, held), !reply);
                }
                Ok(false)
            }
            #[cfg(feature = "reconcile")]
            Message::Sketch {
                session,
                round,
                pair,
                start,
                symbols,
            } => {
                if self.in_session(from, session) {
                    self.on_sketch(from, (round, pair), start, &symbols);
                }
                Ok(false)
            }
            #[cfg(feature = "reconcile")]
            Message::Verdict {
                session,
                round,
                verdict,
            } => {
                if self.in_session(from, session) {
                    self.on_verdict(from, round, verdict);
                }
                Ok(false)
            }
            #[cfg(feature = "reconcile")]
            Message::Digest {
                session,
                fingerprint,
            } => {
                if self.in_session(from, session) {
                    self.on_digest(from, fingerprint);
                }
                Ok(false)
            }
            #[cfg(feature = "reconcile")]
            Message::Holds { marks, wants } => {
                self.on_holds(from, marks, wants);
                Ok(false)
            }
            #[cfg(feature = "reconcile")]
            Message::Skew { physical, earliest } => {
                self.on_skew(from, physical, earliest);
                Ok(false)
            }
            Message::Ack { seq } => self.on_ack(from, seq).map(|()| false),
            Message::Data {
                full,
                seq,
                ack,
                value,
                max_timestamp,
            } => {
                self.check_ack(from, ack)?;
                let (value, whole) = self.admit(from, value, max_timestamp)?;
                if ack > 0 {
                    self.on_ack(from, ack)?;
                }
                let changed = self.apply_remote(from, (full, seq, whole), value);
                #[cfg(feature = "metrics")]
                if let (true, Some(ts), Ok(now)) =
                    (changed, max_timestamp, self.hlc.physical_millis())
                {
                    #[allow(clippy::cast_precision_loss, reason = "seconds as f64")]
                    metrics::histogram!(super::metrics::REPLICATION_LATENCY)
                        .record(now.saturating_sub(ts.millis()) as f64 / 1e3);
                }
                Ok(changed)
            }
            Message::Chunk { id, offset, bytes } => self.on_chunk(from, id, offset, bytes),
        }
    }

    fn check_ack(&self, from: ReplicaId, ack: u64) -> Result<(), SyncError> {
        if ack > self.seq {
            return Err(SyncError::AckOutOfRange {
                peer: from,
                ack,
                seq: self.seq,
            });
        }
        Ok(())
    }

    /// Checks the greatest timestamp `ts` of a received value for drift and merges it into the
    /// clock, before anything of the value is applied (local stamps issued afterwards order
    /// after it), and returns what to apply now. With the `reconcile` feature, writes stamped
    /// beyond the drift bound are held back instead of refusing the value (`sync/skew.rs`);
    /// the flag says whether all of the value was taken (applied now or held), so its message
    /// may be acknowledged.
    fn admit(
        &mut self,
        from: ReplicaId,
        value: T,
        ts: Option<Timestamp>,
    ) -> Result<(T, bool), SyncError> {
        let Some(ts) = ts else {
            return Ok((value, true));
        };
        match self.hlc.update(ts) {
            Ok(()) => Ok((value, true)),
            #[cfg(feature = "reconcile")]
            Err(source @ crate::clock::ClockError::Drift { .. }) => {
                self.hold_back(from, value, source)
            }
            Err(source) => Err(self.refuse_clock(from, source)),
        }
    }

    /// Counts and logs a value refused for the sender's clock.
    pub(super) fn refuse_clock(
        &mut self,
        from: ReplicaId,
        source: crate::clock::ClockError,
    ) -> SyncError {
        self.stats.drift_rejections += 1;
        warn!(peer = %from, error = %source, "refused frame: clock");
        SyncError::Clock { peer: from, source }
    }

    fn on_ack(&mut self, from: ReplicaId, ack: u64) -> Result<(), SyncError> {
        self.check_ack(from, ack)?;
        if let Some(peer) = self.peers.get_mut(&from) {
            peer.acked = Some(peer.acked.map_or(ack, |a| a.max(ack)));
            if peer.in_flight.is_some_and(|f| f.upto <= ack) {
                peer.in_flight = None;
            }
            if peer.pending.as_ref().is_some_and(|p| p.seq <= ack) {
                peer.pending = None;
            }
        }
        #[cfg(feature = "reconcile")]
        self.recon.retire(from, ack);
        self.collect();
        Ok(())
    }

    /// Drops buffered deltas every peer acknowledged (a peer with no acknowledgement holds
    /// back nothing below the buffer's start).
    pub(super) fn collect(&mut self) {
        let start = self.buffer.start();
        // Peers known only by an acknowledgement persisted before a restart count too: they
        // were registered before it, and will resume from it when they come back.
        let resumed = self
            .resumed_acks
            .iter()
            .filter(|(id, _)| !self.peers.contains_key(id))
            .map(|(_, &a)| a);
        let lowest = self
            .peers
            .values()
            .map(|p| p.acked.unwrap_or(start))
            .chain(resumed)
            .map(|a| a.max(start))
            .min()
            .unwrap_or(self.seq);
        self.buffer
            .collect(lowest.min(self.retain_from.unwrap_or(u64::MAX)));
    }

    /// Keeps the buffered deltas from `seq` on (`None`: none) whatever the peers acknowledged,
    /// and collects what no one needs below it: a durable store appends the deltas it has not
    /// logged yet from the buffer.
    pub(crate) fn retain_from(&mut self, seq: Option<u64>) {
        self.retain_from = seq;
        self.collect();
    }

    fn on_chunk(
        &mut self,
        from: ReplicaId,
        id: ChunkId,
        offset: u64,
        bytes: Vec<u8>,
    ) -> Result<bool, SyncError> {
        // The npm module bounds each peer's reassembly only (see `max_reassembly_bytes`).
        let max = self.config.limits.max_state_bytes;
        #[cfg(not(small_code))]
        let max = max.min(self.config.max_reassembly_bytes);
        #[cfg(not(small_code))]
        self.make_room(from, id, bytes.len());
        #[cfg(not(small_code))]
        let now = self.now;
        let refuse = |stats: &mut SyncStats, source: DecodeError| {
            stats.decode_errors += 1;
            SyncError::Decode { peer: from, source }
        };
        let Some(peer) = self.peers.get_mut(&from) else {
            return Ok(false);
        };
        let reassembly = match &mut peer.reassembly {
            Some(r) if r.id == id => r,
            slot => slot.insert(Reassembly::new(id, max).map_err(|e| refuse(&mut self.stats, e))?),
        };
        reassembly
            .insert(offset, bytes, max)
            .map_err(|e| refuse(&mut self.stats, e))?;
        #[cfg(not(small_code))]
        {
            reassembly.at = now;
        }
        let Some(payload) = reassembly.complete() else {
            return Ok(false);
        };
        peer.reassembly = None;
        let (value, outcome) = payload
            .and_then(|p| message::decode_payload::<T>(&p, &self.config.limits))
            .map_err(|e| refuse(&mut self.stats, e))?;
        let (value, whole) = self.admit(from, value, outcome.max_timestamp)?;
        Ok(self.apply_remote(from, (id.full, id.seq, whole), value))
    }

    /// Drops other peers' partial payloads, least recently advanced first, until `n` more
    /// bytes of payload `id` from `from` keep every reassembly within
    /// [`SyncConfig::max_reassembly_bytes`] (a partial payload of `from`'s other than `id` is
    /// about to be replaced, so it does not count).
    #[cfg(not(small_code))]
    fn make_room(&mut self, from: ReplicaId, id: ChunkId, n: usize) {
        let cap = self.config.max_reassembly_bytes;
        let mut held = self.reassembling(Some((from, id)));
        while held.saturating_add(n) > cap {
            let oldest = self
                .peers
                .iter()
                .filter(|(id, p)| **id != from && p.reassembly.is_some())
                .min_by_key(|(_, p)| p.reassembly.as_ref().map(|r| r.at))
                .map(|(id, _)| *id);
            let Some(dropped) = oldest
                .and_then(|id| self.peers.get_mut(&id))
                .and_then(|peer| peer.reassembly.take())
            else {
                // Only `from`'s own: its payload is within the cap, so its chunks fit.
                return;
            };
            held = held.saturating_sub(dropped.filled());
            self.stats.reassemblies_dropped += 1;
        }
    }

    /// Bytes of chunked payloads being reassembled, all peers together; with `replacing`
    /// `(peer, id)`, not counting a partial payload of `peer`'s other than `id` (a chunk of
    /// `id` is about to replace it).
    #[cfg(not(small_code))]
    fn reassembling(&self, replacing: Option<(ReplicaId, ChunkId)>) -> usize {
        self.peers
            .iter()
            .filter_map(|(p, peer)| peer.reassembly.as_ref().map(|r| (*p, r)))
            .filter(|(p, r)| replacing.is_none_or(|(from, id)| *p != from || r.id == id))
            .map(|(_, r)| r.filled())
            .sum()
    }

    /// Joins a received delta-group or state (message `seq` of `from`'s, a full state if
    /// `full`), buffering only its new part, and acknowledges it if `whole` (all of it was
    /// taken: part of it may be held back for clock skew, none of it left out). Returns whether
    /// the state changed.
    fn apply_remote(
        &mut self,
        from: ReplicaId,
        (full, seq, whole): (bool, u64, bool),
        value: T,
    ) -> bool {
        let changed = self.join_remote(from, value, Some(seq));
        debug!(peer = %from, full, seq, changed, whole, "applied");
        if !whole {
            // Its sender sends it again, with what was left out.
            return changed;
        }
        #[cfg(feature = "reconcile")]
        self.note_applied(from, seq);
        if let Some(peer) = self.peers.get_mut(&from) {
            peer.due_ack(seq);
        }
        changed
    }

    /// Joins a value received from `from` (in message `via` of its, if it came in one), buffering
    /// only its new part. Returns whether the state changed.
    pub(super) fn join_remote(&mut self, from: ReplicaId, value: T, via: Option<u64>) -> bool {
        // Without RR the whole value is buffered (kept only to measure what RR saves).
        #[cfg(feature = "reconcile")]
        let value = self.settle_conflicts(from, value);
        let whole = (!self.config.remove_redundant).then(|| value.clone());
        let Some(novel) = self.state.join_novelty(value) else {
            return false;
        };
        #[cfg(not(small_code))]
        self.changes.note(from, &novel);
        #[allow(unused_mut, reason = "relaying adds the message's number")]
        let mut source = Source::of(Some(from));
        #[cfg(feature = "reconcile")]
        {
            source.via = via;
        }
        #[cfg(not(feature = "reconcile"))]
        let _ = via;
        self.buffer_delta(whole.unwrap_or(novel), source);
        true
    }

    /// The next frame to send, if any. Call until `None` after every
    /// [`receive`](Self::receive), [`update`](Self::update), [`connect`](Self::connect) or
    /// [`tick`](Self::tick), then ask [`poll_timeout`](Self::poll_timeout) when to tick next.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        if self.outbox.is_empty() {
            self.fill_outbox();
        }
        let (kind, t) = self.outbox.pop_front()?;
        count_kind(&mut self.stats.sent, kind, t.bytes.len());
        if let Some(peer) = self.peers.get_mut(&t.to) {
            peer.sent.add(t.bytes.len());
            #[cfg(feature = "reconcile")]
            if kind != FrameKind::Digest {
                peer.rounds.digest_at = self.now.saturating_add(self.config.repair_after_ms);
            }
        }
        Some(t)
    }

    /// Puts our hello to `id` in the outbox (a reply if one is due) and marks it sent.
    pub(super) fn greet(
        &mut self,
        id: ReplicaId,
        #[cfg(feature = "reconcile")] snapshot: Option<&crate::causal::CausalContext>,
    ) {
        let me = self.id();
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        #[cfg(feature = "reconcile")]
        let state = &self.state;
        #[cfg(feature = "reconcile")]
        let hello = round::hello(
            me,
            (&mut peer.rounds, peer.reply_due),
            (snapshot, || round::held(state)),
            (self.now, self.seq),
            &mut self.stats,
        );
        #[cfg(not(feature = "reconcile"))]
        let hello = message::hello(me, peer.reply_due);
        self.outbox.push_back((
            FrameKind::Hello,
            Transmit {
                to: id,
                bytes: hello,
            },
        ));
        peer.hello_sent_at = Some(self.now);
        peer.reply_due = false;
    }

    fn fill_outbox(&mut self) {
        let me = self.id();
        let _span = debug_span!("poll", replica = %me).entered();
        let ids: Vec<ReplicaId> = self.peers.keys().copied().collect();
        #[cfg(feature = "reconcile")]
        let snapshot = self.snapshot();
        for id in ids {
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            let timeout = self.config.retransmit_after_ms;
            let hello_due = !peer.heard
                && peer
                    .hello_sent_at
                    .is_none_or(|at| self.now.saturating_sub(at) >= timeout);
            // A peer registered by a frame of an older session (we restarted) still gets
            // one hello: it announces our first round.
            #[cfg(feature = "reconcile")]
            let hello_due = hello_due || (peer.hello_sent_at.is_none() && snapshot.is_some());
            if hello_due || peer.reply_due {
                self.greet(
                    id,
                    #[cfg(feature = "reconcile")]
                    snapshot.as_ref(),
                );
            }
            let Some(peer) = self.peers.get_mut(&id) else {
                continue;
            };
            #[cfg(feature = "reconcile")]
            let base_due = self.recon.base_due(id);
            #[cfg(not(feature = "reconcile"))]
            let base_due = false;
            if peer.heard
                && peer.in_flight.is_none()
                && (peer.acked.unwrap_or(0) < self.seq || base_due)
            {
                self.ship(id);
            }
            #[cfg(feature = "reconcile")]
            self.tell_holds(id);
            if let Some(peer) = self.peers.get_mut(&id)
                && let Some(seq) = peer.ack_due.take()
            {
                let ack = message::ack(seq);
                self.outbox
                    .push_back((FrameKind::Ack, Transmit { to: id, bytes: ack }));
            }
        }
    }

    /// Sends `peer` what it lacks: the delta-interval from its acknowledgement, or the full
    /// state when the buffer no longer reaches back that far.
    fn ship(&mut self, id: ReplicaId) {
        let Some(peer) = self.peers.get(&id) else {
            return;
        };
        let from = peer.acked.unwrap_or(0);
        if let Some(pending) = peer.pending.as_ref().filter(|p| p.seq > from) {
            // Resend the same chunks, so the peer's reassembly keeps what already arrived.
            let seq = pending.seq;
            let frames = pending.frames.clone();
            self.outbox.extend(
                frames
                    .into_iter()
                    .map(|bytes| (FrameKind::Chunk, Transmit { to: id, bytes })),
            );
            self.set_in_flight(id, seq);
            return;
        }
        let skip = self.config.avoid_back_propagation.then_some(id);
        let (acked, since) = (peer.acked, peer.since);
        // What a reconciliation round found the peer lacks, with the deltas since.
        #[cfg(feature = "reconcile")]
        let based = self.based(id, skip);
        #[cfg(not(feature = "reconcile"))]
        let based: Option<T> = None;
        // The buffer does not reach back to what the peer has: a round finds what it lacks
        // (wait for the one under way, or start one) before a full state would.
        #[cfg(feature = "reconcile")]
        if based.is_none() && self.buffer.since(from).is_none() && self.round_for_gap(id) {
            return;
        }
        // An interval ends before the first delta held back for the peer (relaying).
        #[cfg(feature = "reconcile")]
        let upto = self.relay_upto(id, from, skip);
        #[cfg(not(feature = "reconcile"))]
        let upto = self.seq;
        let (peers, stats) = (&self.peers, &mut self.stats);
        let leave_out = |seq: u64, source: &Source| {
            if skip.is_some() && source.origin == skip {
                return true;
            }
            // Past a delta held back (relaying).
            #[cfg(feature = "reconcile")]
            if seq >= upto {
                return true;
            }
            let _ = seq;
            // What the peer said it holds.
            #[cfg(feature = "reconcile")]
            if peers.get(&id).is_some_and(|p| p.relay.covers(source)) {
                stats.relays_skipped += 1;
                return true;
            }
            let _ = (&peers, &stats);
            false
        };
        let (interval, upto) = match based {
            Some(group) => (Some(Interval::Group(group)), self.seq),
            None => (self.buffer.interval(from, leave_out), upto),
        };
        let (full, payload) = match interval {
            Some(Interval::Empty) => {
                // Everything missing came from the peer itself, or the peer said it holds it
                // (or it is held back for now).
                if let Some(peer) = self.peers.get_mut(&id) {
                    peer.acked = Some(upto);
                }
                self.collect();
                return;
            }
            // One delta (the usual case): its payload was encoded once, when it was buffered.
            Some(Interval::One(payload)) => (false, Ok(Cow::Borrowed(payload))),
            Some(Interval::Group(group)) => (false, message::payload(&group).map(Cow::Owned)),
            None => {
                // The buffer starts past what the peer acknowledged: find out why.
                let reason = if self.restored_at.is_some_and(|r| from < r) {
                    FullReason::Restart
                } else if acked.is_some() || self.buffer.start() > since {
                    // Only the cap moves the buffer past a registered peer's acknowledgement.
                    FullReason::Evicted
                } else {
                    FullReason::NewPeer
                };
                self.count_full_state(id, reason);
                (true, message::payload(&self.state).map(Cow::Owned))
            }
        };
        let payload = match payload {
            Ok(p) => p,
            Err(err) => {
                warn!(peer = %id, error = %err, "cannot encode the state");
                return;
            }
        };
        let seq = upto;
        let Some(peer) = self.peers.get_mut(&id) else {
            return;
        };
        let ack = peer.ack_due.take().unwrap_or(0);
        let frame = message::data(full, seq, ack, &payload);
        if frame.len() <= self.config.max_frame_bytes {
            let kind = if full {
                FrameKind::State
            } else {
                FrameKind::Delta
            };
            self.outbox.push_back((
                kind,
                Transmit {
                    to: id,
                    bytes: frame,
                },
            ));
        } else {
            if ack > 0 {
                peer.due_ack(ack);
            }
            // Room for the chunk header (kind, flag, digest, four varints) and the checksum.
            let piece = self.config.max_frame_bytes.saturating_sub(56);
            let frames = message::chunks(full, seq, &payload, piece);
            self.outbox.extend(frames.iter().map(|bytes| {
                (
                    FrameKind::Chunk,
                    Transmit {
                        to: id,
                        bytes: bytes.clone(),
                    },
                )
            }));
            peer.pending = Some(Pending { seq, frames });
        }
        self.set_in_flight(id, seq);
        debug!(peer = %id, full, seq, from, "shipped");
    }

    pub(super) fn set_in_flight(&mut self, id: ReplicaId, upto: u64) {
        if let Some(peer) = self.peers.get_mut(&id) {
            peer.in_flight = Some(InFlight {
                upto,
                sent_at: self.now,
            });
        }
    }

    fn count_full_state(&mut self, id: ReplicaId, reason: FullReason) {
        #[cfg(feature = "reconcile")]
        let empty = self
            .peers
            .get(&id)
            .is_some_and(|p| p.rounds.announced_empty());
        #[cfg(not(feature = "reconcile"))]
        let empty = false;
        let bump = |f: &mut super::stats::FullStates| {
            match reason {
                FullReason::NewPeer => f.new_peer += 1,
                FullReason::Restart => f.restart += 1,
                FullReason::Evicted => f.evicted += 1,
            }
            f.to_empty += u64::from(empty);
        };
        bump(&mut self.stats.full_states);
        if let Some(peer) = self.peers.get_mut(&id) {
            bump(&mut peer.full_states);
        }
        debug!(peer = %id, ?reason, "sending the full state");
    }

    /// How long the oldest buffered delta above `acked` has waited (engine time), if any.
    #[cfg(feature = "reconcile")]
    fn lag_ms(&self, acked: u64) -> Option<u64> {
        if acked >= self.seq {
            return None;
        }
        let (_, source) = self.buffer.sources(acked)?.find(|(seq, _)| *seq > acked)?;
        Some(self.now.saturating_sub(source.at))
    }

    /// The engine's counters, with per-peer lag computed now.
    pub fn stats(&self) -> SyncStats {
        let mut stats = self.stats.clone();
        stats.buffered_deltas = self.buffer.len();
        stats.buffered_bytes = self.buffer.bytes();
        #[cfg(not(small_code))]
        {
            stats.reassembly_bytes = self.reassembling(None);
        }
        #[cfg(feature = "reconcile")]
        {
            (stats.skew.held_writes, stats.skew.held_bytes) = self.held.totals();
        }
        stats.peers = self
            .peers
            .iter()
            .map(|(&id, p)| PeerStats {
                peer: id,
                connected: p.heard,
                acked: p.acked,
                lag: self.seq - p.acked.unwrap_or(0).min(self.seq),
                #[cfg(feature = "reconcile")]
                lag_ms: self.lag_ms(p.acked.unwrap_or(0)),
                full_states: p.full_states,
                sent: p.sent,
                received: p.received,
            })
            .collect();
        stats
    }
}

fn count_kind(traffic: &mut Traffic, kind: FrameKind, bytes: usize) {
    let slot: &mut Count = match kind {
        FrameKind::Hello => &mut traffic.hello,
        FrameKind::Delta => &mut traffic.delta,
        FrameKind::State => &mut traffic.state,
        FrameKind::Chunk => &mut traffic.chunk,
        FrameKind::Ack => &mut traffic.ack,
        FrameKind::Summary | FrameKind::Sketch | FrameKind::Verdict | FrameKind::Digest => {
            &mut traffic.reconcile
        }
        #[cfg(feature = "reconcile")]
        FrameKind::Holds => &mut traffic.holds,
        #[cfg(feature = "reconcile")]
        FrameKind::Skew => &mut traffic.skew,
        FrameKind::Value => &mut traffic.invalid,
    };
    slot.add(bytes);
}

#[cfg(test)]
mod tests {
    use super::{SyncEngine, SyncError, message};
    use crate::clock::Hlc;
    use crate::crdt::GCounter;
    use crate::id::ReplicaId;
    use crate::sync::SyncConfig;

    fn r(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    #[cfg(feature = "reconcile")]
    fn hello(id: ReplicaId, reply: bool) -> Vec<u8> {
        message::hello(id, reply, [7; 16], None)
    }

    #[cfg(not(feature = "reconcile"))]
    fn hello(id: ReplicaId, reply: bool) -> Vec<u8> {
        message::hello(id, reply)
    }

    fn engine(config: SyncConfig) -> SyncEngine<GCounter> {
        let hlc = Hlc::builder(r(1))
            .clock(|| 1_700_000_000_000u64)
            .build()
            .unwrap();
        SyncEngine::with_config(hlc, config)
    }

    /// Without peers nothing needs the deltas: none are kept (before, a replica alone filled
    /// its buffer to the cap, 100,000 deltas, and then evicted one per edit). A peer that
    /// comes later gets the state; a store's watermark keeps what it has not logged.
    #[test]
    fn a_replica_without_peers_keeps_no_deltas_unless_a_store_needs_them() {
        let mut a = engine(SyncConfig::default());
        for _ in 0..1_000 {
            a.update(|c, hlc| Ok::<_, core::convert::Infallible>(c.increment(hlc.replica(), 1)))
                .unwrap();
        }
        assert_eq!((a.seq(), a.stats().buffered_deltas), (1_000, 0));
        a.retain_from(Some(a.seq()));
        for _ in 0..10 {
            a.update(|c, hlc| Ok::<_, core::convert::Infallible>(c.increment(hlc.replica(), 1)))
                .unwrap();
        }
        assert_eq!(a.buffered_since(1_000).map(Iterator::count), Some(10));
        a.retain_from(Some(a.seq()));
        assert_eq!(a.stats().buffered_deltas, 0);
        let mut b = SyncEngine::<GCounter>::new(
            Hlc::builder(r(2))
                .clock(|| 1_700_000_000_000u64)
                .build()
                .unwrap(),
        );
        a.connect(r(2));
        b.connect(r(1));
        for _ in 0..4 {
            while let Some(t) = a.poll_transmit() {
                b.receive(r(1), &t.bytes).unwrap();
            }
            while let Some(t) = b.poll_transmit() {
                a.receive(r(2), &t.bytes).unwrap();
            }
        }
        assert_eq!(b.state().value(), 1_010);
        assert_eq!(a.stats().full_states.new_peer, 1);
    }

    #[test]
    fn a_mislabelled_hello_registers_no_peer() {
        let mut e = engine(SyncConfig::default());
        let err = e.receive(r(2), &hello(r(3), false)).unwrap_err();
        assert_eq!(
            err,
            SyncError::PeerMismatch {
                peer: r(2),
                claimed: r(3)
            }
        );
        assert_eq!(e.peers().count(), 0);
        assert!(e.poll_transmit().is_none());
        assert_eq!(
            e.receive(r(1), &hello(r(1), false)),
            Err(SyncError::SelfId(r(1)))
        );
    }

    #[test]
    fn unknown_peers_beyond_the_cap_are_refused() {
        let mut e = engine(SyncConfig {
            max_peers: 2,
            ..SyncConfig::default()
        });
        for n in [2, 3] {
            assert_eq!(e.receive(r(n), &hello(r(n), false)), Ok(false));
        }
        assert_eq!(
            e.receive(r(4), &hello(r(4), false)),
            Err(SyncError::TooManyPeers { peer: r(4), max: 2 })
        );
        assert_eq!(e.receive(r(2), &message::ack(0)), Ok(false)); // known peers still served
    }

    #[test]
    fn a_resumed_engine_sends_deltas_to_peers_its_log_covers_and_the_state_to_others() {
        use super::Resume;
        use crate::lattice::Lattice;
        let me = r(1);
        let deltas: Vec<_> = (5..8)
            .map(|s| (s, GCounter::default().increment(me, s).into_inner(), None))
            .collect();
        let mut state = GCounter::default();
        for (_, d, _) in &deltas {
            state.join(d.clone());
        }
        let hlc = Hlc::builder(me)
            .clock(|| 1_700_000_000_000u64)
            .build()
            .unwrap();
        let resume = Resume {
            state,
            seq: 8,
            deltas,
            acks: vec![(r(2), 6), (r(3), 2), (r(4), 99)],
        };
        let mut e = SyncEngine::resume(hlc, resume, SyncConfig::default());
        assert_eq!(e.seq(), 8);
        let mut acks: Vec<_> = e.acks().collect();
        crate::platform::sort::sort_unstable(&mut acks);
        assert_eq!(acks, vec![(r(2), 6), (r(3), 2), (r(4), 8)]); // clamped to seq
        for n in [2, 3] {
            e.connect(r(n));
            e.receive(r(n), &hello(r(n), true)).unwrap();
        }
        while e.poll_transmit().is_some() {}
        let stats = e.stats();
        assert_eq!(stats.full_states.restart, 1); // r(3): its ack is below the log
        assert_eq!(stats.sent.delta.messages, 1); // r(2): the interval 6..8
    }

    /// A peer that is back first must not collect the deltas a peer still away after the
    /// restart needs: that one would get the full state instead of its interval.
    #[test]
    fn a_resumed_engine_keeps_deltas_for_peers_not_back_yet() {
        use super::Resume;
        use crate::lattice::Lattice;
        let me = r(1);
        let deltas: Vec<_> = (0..8)
            .map(|s| {
                (
                    s,
                    GCounter::default().increment(me, s + 1).into_inner(),
                    None,
                )
            })
            .collect();
        let mut state = GCounter::default();
        for (_, d, _) in &deltas {
            state.join(d.clone());
        }
        let hlc = Hlc::builder(me)
            .clock(|| 1_700_000_000_000u64)
            .build()
            .unwrap();
        let resume = Resume {
            state,
            seq: 8,
            deltas,
            acks: vec![(r(2), 8), (r(3), 3)],
        };
        let mut e = SyncEngine::resume(hlc, resume, SyncConfig::default());
        e.connect(r(2));
        e.receive(r(2), &message::ack(8)).unwrap(); // r(2) is back and has everything
        assert_eq!(e.buffered_since(3).map(Iterator::count), Some(5));
        e.connect(r(3));
        e.receive(r(3), &hello(r(3), true)).unwrap();
        while e.poll_transmit().is_some() {}
        assert_eq!(e.stats().full_states.total(), 0); // r(3): the interval 3..8
    }

    fn pair() -> (SyncEngine<GCounter>, SyncEngine<GCounter>) {
        let make = |n| {
            let hlc = Hlc::builder(r(n))
                .clock(|| 1_700_000_000_000u64)
                .build()
                .unwrap();
            SyncEngine::with_config(hlc, SyncConfig::default())
        };
        let (mut a, mut b) = (make(1), make(2));
        a.connect(r(2));
        b.connect(r(1));
        (a, b)
    }

    fn bump(e: &mut SyncEngine<GCounter>, by: u64) {
        let me = e.id();
        e.update(|c, _| Ok::<_, std::convert::Infallible>(c.increment(me, by)))
            .unwrap();
    }

    /// Carries every frame both ways until both are quiet; `lose` decides, per frame in
    /// order, whether it is dropped.
    fn exchange(
        a: &mut SyncEngine<GCounter>,
        b: &mut SyncEngine<GCounter>,
        lose: &mut impl FnMut() -> bool,
    ) {
        loop {
            let mut moved = false;
            while let Some(t) = a.poll_transmit() {
                moved = true;
                if !lose() {
                    b.receive(a.id(), &t.bytes).unwrap();
                }
            }
            while let Some(t) = b.poll_transmit() {
                moved = true;
                if !lose() {
                    a.receive(b.id(), &t.bytes).unwrap();
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// Two engines ticked only when `poll_timeout` says, never on a fixed interval, through
    /// a network that loses a third of the frames: they converge, and then both say `None`.
    #[test]
    fn engines_driven_only_at_their_deadlines_converge_through_loss() {
        let (mut a, mut b) = pair();
        let mut sent = 0u64;
        // Deterministic loss: every third frame of the first 60.
        let mut lose = || {
            sent += 1;
            sent <= 60 && sent.is_multiple_of(3)
        };
        let mut now = 0;
        let mut ticks = 0;
        for step in 0..200u64 {
            if step < 10 {
                bump(&mut a, step + 1);
                bump(&mut b, 2 * step + 1);
            }
            exchange(&mut a, &mut b, &mut lose);
            let (ta, tb) = (a.poll_timeout(), b.poll_timeout());
            if step >= 10 && ta.is_none() && tb.is_none() {
                assert_eq!(a.state(), b.state());
                assert_eq!(a.state().value(), 55 + 100);
                assert!(a.stats().retransmissions + b.stats().retransmissions > 0);
                assert!(ticks > 0);
                return;
            }
            let Some(next) = [ta, tb].into_iter().flatten().min() else {
                // Nothing pending: only new edits (the first steps) move things on.
                assert!(step < 10, "stalled without a deadline at step {step}");
                continue;
            };
            assert!(next >= now, "a deadline in the past: {next} < {now}");
            now = next;
            for (e, t) in [(&mut a, ta), (&mut b, tb)] {
                if t == Some(now) {
                    e.tick(now);
                    ticks += 1;
                }
            }
        }
        panic!("no convergence: {:?} vs {:?}", a.state(), b.state());
    }

    #[test]
    fn an_idle_fully_acknowledged_engine_has_no_deadline() {
        let (mut a, mut b) = pair();
        assert_eq!(a.poll_timeout(), None); // hello not sent yet: `poll_transmit` is due
        bump(&mut a, 3);
        exchange(&mut a, &mut b, &mut || false);
        assert_eq!(b.state().value(), 3);
        assert_eq!((a.poll_timeout(), b.poll_timeout()), (None, None));
        a.tick(1_000_000);
        assert!(a.poll_transmit().is_none());
        assert_eq!(a.poll_timeout(), None);
    }

    /// The deadline is exact: a tick one millisecond early resends nothing, one at the
    /// deadline resends the lost message.
    #[test]
    fn a_pending_retransmission_returns_its_deadline() {
        let (mut a, mut b) = pair();
        a.tick(100);
        exchange(&mut a, &mut b, &mut || false); // hellos both ways
        assert_eq!(a.poll_timeout(), None);
        a.tick(250);
        bump(&mut a, 1);
        let lost = a.poll_transmit().unwrap();
        assert!(a.poll_transmit().is_none());
        let due = 250 + a.config().retransmit_after_ms;
        assert_eq!(a.poll_timeout(), Some(due));
        a.tick(due - 1);
        assert!(a.poll_transmit().is_none());
        assert_eq!(a.poll_timeout(), Some(due));
        a.tick(due);
        let again = a.poll_transmit().unwrap();
        assert_eq!(again.to, lost.to);
        assert_eq!(a.stats().retransmissions, 1);
        assert_eq!(a.poll_timeout(), Some(due + a.config().retransmit_after_ms));
        b.receive(a.id(), &again.bytes).unwrap();
        let ack = b.poll_transmit().unwrap();
        a.receive(b.id(), &ack.bytes).unwrap();
        assert_eq!(a.poll_timeout(), None);
    }

    /// Hellos that cross on the wire are not answered: one each way opens the session. A
    /// later hello from the peer (it did not hear ours, or restarted) is answered, once.
    #[test]
    fn crossed_hellos_are_not_answered_and_a_later_one_is() {
        let (mut a, mut b) = pair();
        let (ha, hb) = (a.poll_transmit().unwrap(), b.poll_transmit().unwrap());
        b.receive(a.id(), &ha.bytes).unwrap();
        a.receive(b.id(), &hb.bytes).unwrap();
        assert!(a.poll_transmit().is_none());
        assert!(b.poll_transmit().is_none());
        b.receive(a.id(), &ha.bytes).unwrap();
        let reply = b.poll_transmit().unwrap();
        assert!(b.poll_transmit().is_none());
        // After the header (4 bytes) and the id (16), the reply flag.
        assert_eq!(reply.bytes.get(20), Some(&1));
        a.receive(b.id(), &reply.bytes).unwrap();
        assert!(a.poll_transmit().is_none());
    }

    /// A hello that got no answer is resent at its deadline.
    #[test]
    fn an_unanswered_hello_has_a_deadline() {
        let (mut a, _) = pair();
        a.tick(7);
        assert!(a.poll_transmit().is_some());
        let due = 7 + a.config().retransmit_after_ms;
        assert_eq!(a.poll_timeout(), Some(due));
        a.tick(due - 1);
        assert!(a.poll_transmit().is_none());
        a.tick(due);
        assert!(a.poll_transmit().is_some());
    }

    #[test]
    fn an_ack_beyond_our_sequence_is_refused() {
        let mut e = engine(SyncConfig::default());
        assert_eq!(
            e.receive(r(2), &message::ack(1)),
            Err(SyncError::AckOutOfRange {
                peer: r(2),
                ack: 1,
                seq: 0
            })
        );
    }

    /// A closed session drops the payload its peer was sending in chunks, shows the peer not
    /// connected, and keeps what it acknowledged; the peer is greeted again when it is back.
    #[test]
    fn a_closed_session_drops_its_partial_payload_and_keeps_its_acks() {
        let (mut a, mut b) = pair();
        bump(&mut a, 1);
        exchange(&mut a, &mut b, &mut || false);
        let acked = |e: &SyncEngine<GCounter>| e.stats().peers[0].acked;
        assert_eq!(acked(&a), Some(1));
        let frames = message::chunks(true, 1, &[7; 100], 40);
        assert_eq!(a.receive(r(2), &frames[0]), Ok(false));
        assert_eq!(a.stats().reassembly_bytes, 40);
        a.session_closed(r(2));
        let stats = a.stats();
        assert_eq!(stats.reassembly_bytes, 0);
        assert!(!stats.peers[0].connected);
        assert_eq!(acked(&a), Some(1));
        while a.poll_transmit().is_some() {}
        a.connect(r(2));
        let hello = a.poll_transmit().expect("a hello on reconnect");
        assert_eq!(hello.bytes[3], 0x01);
    }
}
