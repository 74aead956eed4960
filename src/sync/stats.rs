//! Counters the engine keeps: what a dashboard or a test reads.

use crate::id::ReplicaId;

/// Messages and bytes of one kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Count {
    /// Frames.
    pub messages: u64,
    /// Bytes, frame headers included.
    pub bytes: u64,
}

impl Count {
    pub(crate) fn add(&mut self, bytes: usize) {
        self.messages += 1;
        self.bytes += bytes as u64;
    }
}

/// Traffic in one direction, by frame kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Traffic {
    /// Session openings.
    pub hello: Count,
    /// Delta-intervals.
    pub delta: Count,
    /// Full states sent in one frame.
    pub state: Count,
    /// Pieces of payloads too large for one frame.
    pub chunk: Count,
    /// Acknowledgements.
    pub ack: Count,
    /// Reconciliation: summaries, coded symbols, verdicts and fingerprints.
    pub reconcile: Count,
    /// What a peer holds of its other peers' states, so relays skip it (format minor 2).
    #[cfg(feature = "reconcile")]
    pub holds: Count,
    /// Clock-skew reports: "I hold writes of yours stamped beyond my clock" (format minor 3).
    #[cfg(feature = "reconcile")]
    pub skew: Count,
    /// Frames that did not decode (received side only).
    pub invalid: Count,
}

impl Traffic {
    /// All kinds together.
    #[must_use]
    pub fn total(&self) -> Count {
        let all = [
            self.hello,
            self.delta,
            self.state,
            self.chunk,
            self.ack,
            self.reconcile,
            #[cfg(feature = "reconcile")]
            self.holds,
            #[cfg(feature = "reconcile")]
            self.skew,
            self.invalid,
        ];
        all.iter().fold(Count::default(), |acc, c| Count {
            messages: acc.messages + c.messages,
            bytes: acc.bytes + c.bytes,
        })
    }
}

/// Full-state transfers, by the reason the delta buffer could not serve the peer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct FullStates {
    /// A peer that never acknowledged anything, after the buffer was collected.
    pub new_peer: u64,
    /// A peer that had not acknowledged anything since this replica restarted (its buffer is
    /// volatile).
    pub restart: u64,
    /// A peer that fell behind the capped buffer.
    pub evicted: u64,
    /// Of the above, those sent to a peer that had announced an empty causal context: it had
    /// nothing, so the state is what it lacks (every other one is a fallback: a peer without
    /// reconciliation, a context too large for a frame, a round that failed).
    pub to_empty: u64,
}

impl FullStates {
    /// All reasons together.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.new_peer + self.restart + self.evicted
    }
}

/// Reconciliation rounds, by outcome.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Rounds {
    /// Rounds started.
    pub started: u64,
    /// Rounds that found the difference (a delta went out instead of a full state).
    pub decoded: u64,
    /// Rounds given up (too many symbols, inconsistent symbols, no answer): full states.
    pub failed: u64,
    /// Rounds started because a quiet peer's fingerprint differed from ours.
    pub repairs: u64,
    /// Coded symbols sent.
    pub symbols: u64,
}

/// Clock skew, seen from both sides: writes of others held back because their stamps lie
/// beyond this replica's drift bound, and this replica's own fence when a peer reported its
/// clock ahead ([`ClockError::Fenced`](crate::ClockError::Fenced)).
#[cfg(feature = "reconcile")]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SkewStats {
    /// Writes held back now (not applied yet, not lost).
    pub held_writes: u64,
    /// Their encoded size.
    pub held_bytes: usize,
    /// Writes held back so far.
    pub held_total: u64,
    /// Held writes applied once their stamps came within the drift bound.
    pub released: u64,
    /// Messages whose writes stamped beyond the bound did not fit
    /// [`SyncConfig::max_held_bytes`](crate::SyncConfig): the rest of each applied, and it
    /// was not acknowledged, so its sender sends it again.
    pub refused: u64,
    /// Skew reports received: a peer holds writes of ours.
    pub reports: u64,
    /// This replica holds back writes of most of its peers (two at least): its own clock
    /// probably runs behind theirs.
    pub behind: bool,
    /// While this replica's register writes are fenced (most peers in session reported its
    /// clock ahead of theirs): how far ahead, at least, in milliseconds.
    pub fenced_ms: Option<u64>,
}

/// What the engine knows of one peer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PeerStats {
    /// The peer.
    pub peer: ReplicaId,
    /// Whether a valid frame has arrived from it (the session is open).
    pub connected: bool,
    /// The highest of our sequence numbers it acknowledged.
    pub acked: Option<u64>,
    /// How many of our sequence numbers it has not acknowledged (`c - A[j]`).
    pub lag: u64,
    /// How long (ms of the driver's clock, as given to `tick`) the oldest delta it has not
    /// acknowledged has been buffered here; `None` when it holds everything, or that delta
    /// left the buffer (collected or evicted). Not in the npm module.
    #[cfg(feature = "reconcile")]
    pub lag_ms: Option<u64>,
    /// Full states sent to it, by reason.
    pub full_states: FullStates,
    /// Traffic sent to it.
    pub sent: Count,
    /// Traffic received from it.
    pub received: Count,
}

/// A snapshot of the engine's counters ([`SyncEngine::stats`](crate::SyncEngine::stats)).
/// It serializes with serde (field names as here, replica ids as UUID strings in
/// human-readable formats), for a dashboard or a log line.
///
/// # Examples
/// ```
/// use deltacrdt::{GCounter, Hlc, ReplicaId, SyncEngine};
/// let mut engine = SyncEngine::<GCounter>::new(Hlc::builder(ReplicaId::from_u128(1)).build()?);
/// engine.connect(ReplicaId::from_u128(2));
/// let json = serde_json::to_value(engine.stats())?;
/// assert_eq!(json["full_states"]["new_peer"], 0);
/// assert_eq!(json["peers"][0]["peer"], "00000000-0000-0000-0000-000000000002");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SyncStats {
    /// Frames sent, by kind.
    pub sent: Traffic,
    /// Frames received, by kind.
    pub received: Traffic,
    /// Deltas held for peers that have not acknowledged them.
    pub buffered_deltas: usize,
    /// Their encoded size.
    pub buffered_bytes: usize,
    /// Full-state transfers sent, by reason.
    pub full_states: FullStates,
    /// Messages resent because no acknowledgement came in time.
    pub retransmissions: u64,
    /// Frames refused because they did not decode or validate.
    pub decode_errors: u64,
    /// Frames refused because a timestamp was too far ahead of the local clock. With the
    /// `reconcile` feature only a value whose type cannot set its stamped writes apart is
    /// refused (a type of your own that carries stamps); the register writes of a `Doc` and
    /// the entries of an `LwwRegister` or `LwwMap` are held back instead, see [`SkewStats`].
    pub drift_rejections: u64,
    /// Clock skew: writes held back because they were stamped beyond the drift bound, and
    /// this replica's own fence (format minor 3; not in the npm module).
    #[cfg(feature = "reconcile")]
    pub skew: SkewStats,
    /// Deltas dropped from the buffer by its cap.
    pub evictions: u64,
    /// Partial chunked payloads dropped to keep all peers' reassemblies under
    /// [`SyncConfig::max_reassembly_bytes`](crate::SyncConfig) (their senders resend them).
    pub reassemblies_dropped: u64,
    /// Bytes of chunked payloads being reassembled now, all peers together (not counted in
    /// the npm module).
    pub reassembly_bytes: usize,
    /// History-free reconciliation rounds.
    pub rounds: Rounds,
    /// Times this replica found its id reused (a peer had seen events of it that it never
    /// issued, or held one of its dots with other content: it is, or has, a restored backup
    /// or a copy) and took a fresh replica id.
    pub forks: u64,
    /// Dots a received value held with other content than ours (a reused replica id or a
    /// forged value), each settled without losing either write (the loser re-issued).
    pub conflicts: u64,
    /// Deltas not relayed to a peer because it said it holds them (format minor 2; none in
    /// the npm module, which does not relay-aware forward).
    #[cfg(feature = "reconcile")]
    pub relays_skipped: u64,
    /// Per peer, in replica-id order.
    pub peers: Vec<PeerStats>,
}
