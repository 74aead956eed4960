//! Tuning of the sync engine.

use crate::codec::DecodeLimits;

/// How a [`SyncEngine`](crate::SyncEngine) paces, sizes and bounds its traffic.
///
/// The defaults suit a LAN or WAN link; tests and simulations shorten the retransmission
/// interval. The two optimisations of Enes et al. (ICDE 2019) and relay-aware forwarding are
/// on by default and can be switched off only to measure what they save.
///
/// # Examples
/// ```
/// use deltacrdt::SyncConfig;
/// let config = SyncConfig { max_frame_bytes: 16 << 10, ..SyncConfig::default() };
/// assert!(config.avoid_back_propagation && config.remove_redundant && config.relay_aware);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncConfig {
    /// Resend a hello or an unacknowledged message after this many milliseconds of
    /// [`tick`](crate::SyncEngine::tick) time.
    pub retransmit_after_ms: u64,
    /// The largest frame this engine sends; larger payloads are split into chunks. Must not
    /// exceed the peers' [`DecodeLimits::max_frame_bytes`], nor what the transport carries
    /// (the default, 65,519, is what one sealed frame of the network holds).
    pub max_frame_bytes: usize,
    /// Cap on the delta buffer's encoded size: past it the oldest deltas are evicted and peers
    /// that still needed them get the full state instead.
    pub max_buffer_bytes: usize,
    /// Cap on the number of buffered deltas (same eviction as the byte cap).
    pub max_buffer_entries: usize,
    /// The most peers tracked at once; frames from further unknown peers are refused
    /// ([`SyncError::TooManyPeers`](crate::SyncError::TooManyPeers)).
    pub max_peers: usize,
    /// Limits applied to every frame received.
    pub limits: DecodeLimits,
    /// Cap on the bytes of chunked payloads being reassembled, all peers together (each peer
    /// has one at a time, of at most `limits.max_state_bytes` and this). A chunk past it drops
    /// other peers' partial payloads, least recently advanced first (their senders resend them
    /// whole; counted in [`SyncStats::reassemblies_dropped`](crate::SyncStats)), so peers
    /// declaring large payloads cannot hold more than this between them. Not enforced in the
    /// npm module, which bounds each peer's only (it has no room for the code).
    pub max_reassembly_bytes: usize,
    /// Cap on the encoded bytes of writes held back for clock skew (stamped beyond the drift
    /// bound; with the `reconcile` feature), all peers together. Writes that would pass it, or
    /// pass `max_held_bytes_per_peer` for their sender, are left out: the rest of their message
    /// applies and the message is not acknowledged (counted in
    /// [`SkewStats::refused`](crate::SkewStats)), so its sender sends it again; nothing is
    /// lost, and one skewed peer cannot crowd out the others.
    #[cfg(feature = "reconcile")]
    pub max_held_bytes: usize,
    /// Cap on the bytes held back for one peer (see `max_held_bytes`).
    #[cfg(feature = "reconcile")]
    pub max_held_bytes_per_peer: usize,
    /// How long a delta relayed from replica `A` waits before it goes to a peer that also
    /// syncs with `A` (format minor 2) and has not said it holds the delta yet: it likely got
    /// it from `A`, and its holds frame is on its way. Past it the delta goes anyway, so a
    /// link that went down is served by the relays after one hold; peers that do not sync
    /// with `A` get it at once. A delta behind a held one that would go (a local one, say)
    /// waits half of it at most, then both go: this bounds what the hold adds to latency.
    /// 0 never holds back (holds frames still spare what a peer said it holds). See the relay
    /// notes in [`SyncEngine`](crate::SyncEngine)'s protocol.
    #[cfg(feature = "reconcile")]
    pub relay_hold_ms: u64,
    /// Relay-aware forwarding (format minor 2, with the `reconcile` feature): tell peers what
    /// we hold of our other peers' states, and leave out of what we relay to a peer what it
    /// said it holds. Off, this engine sends no holds frame and ignores those it gets (every
    /// delta is relayed to every other peer, as in minor 1): switch it off only to measure
    /// what it saves.
    #[cfg(feature = "reconcile")]
    pub relay_aware: bool,
    /// Never send a delta back to the peer it came from (BP).
    pub avoid_back_propagation: bool,
    /// Buffer only the part of a received delta that was new (RR).
    pub remove_redundant: bool,
    /// A session quiet for this long compares state fingerprints with its peer, and runs a
    /// reconciliation round on a mismatch (divergence repair); 0 switches repair off.
    pub repair_after_ms: u64,
    /// The most reconciliation rounds per session (its first, after evictions, repairs);
    /// past it a peer without acknowledgements gets full states and repair stops. 0 switches
    /// reconciliation off: hellos announce no context, and peers without acknowledgements get
    /// full states, as in format minor 0.
    pub max_rounds: u32,
    /// The most coded symbols one round may take (about 13 bytes each; the first batch is at
    /// most this many too); a difference that needs more is sent as a full state. 0 switches
    /// reconciliation off, as `max_rounds: 0` does.
    pub max_symbols: u64,
    /// The secret seed session nonces (and the id a forked replica takes) are derived from.
    /// `None`: 16 bytes from the operating system's random source. Targets without one
    /// (`wasm32-unknown-unknown`) must set it from their host's (`crypto.getRandomValues`), and
    /// tests set it to get the same bytes on every run: nonces derived from a known seed let a
    /// third party precompute items that collide in reconciliation.
    pub nonce_seed: Option<[u8; 16]>,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            retransmit_after_ms: 1_000,
            max_frame_bytes: 65_519,
            max_buffer_bytes: 16 << 20,
            max_buffer_entries: 100_000,
            max_peers: 1_024,
            limits: DecodeLimits::default(),
            max_reassembly_bytes: 512 << 20,
            #[cfg(feature = "reconcile")]
            max_held_bytes: 4 << 20,
            #[cfg(feature = "reconcile")]
            max_held_bytes_per_peer: 1 << 20,
            #[cfg(feature = "reconcile")]
            relay_hold_ms: 20,
            #[cfg(feature = "reconcile")]
            relay_aware: true,
            avoid_back_propagation: true,
            remove_redundant: true,
            repair_after_ms: 30_000,
            max_rounds: 16,
            max_symbols: 8_192,
            nonce_seed: None,
        }
    }
}
