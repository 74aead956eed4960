//! Why the engine refused a frame.

use crate::clock::ClockError;
use crate::codec::DecodeError;
use crate::id::ReplicaId;

/// A frame the engine refused. The replica is unchanged: nothing of a refused frame is applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The peer speaks another version of the format.
    #[error("peer {peer} speaks format version {found}; this build speaks {supported}")]
    Incompatible {
        /// The peer.
        peer: ReplicaId,
        /// The version its frame carried.
        found: u8,
        /// The version this build speaks.
        supported: u8,
    },
    /// The frame did not decode or validate.
    #[error("bad frame from {peer}: {source}")]
    Decode {
        /// The peer.
        peer: ReplicaId,
        /// What was wrong with it.
        #[source]
        source: DecodeError,
    },
    /// A timestamp in the frame is too far ahead of the local clock (or the clock could not
    /// accept it).
    #[error("refused frame from {peer}: {source}")]
    Clock {
        /// The peer.
        peer: ReplicaId,
        /// The clock's verdict.
        #[source]
        source: ClockError,
    },
    /// A hello claims another identity than the one the transport delivered it from.
    #[error("hello from {peer} claims to be {claimed}")]
    PeerMismatch {
        /// The peer the transport names.
        peer: ReplicaId,
        /// The id in the hello.
        claimed: ReplicaId,
    },
    /// A peer sent our own replica id: two replicas share an id, which breaks convergence.
    #[error("peer claims this replica's own id {0}")]
    SelfId(ReplicaId),
    /// A frame from an unknown peer while [`SyncConfig::max_peers`](crate::SyncConfig) are
    /// tracked already.
    #[error("refused unknown peer {peer}: {max} peers tracked already")]
    TooManyPeers {
        /// The peer.
        peer: ReplicaId,
        /// The limit.
        max: usize,
    },
    /// A peer acknowledged a sequence number this engine never sent.
    #[error("peer {peer} acknowledged {ack}, beyond this replica's sequence {seq}")]
    AckOutOfRange {
        /// The peer.
        peer: ReplicaId,
        /// The acknowledged sequence number.
        ack: u64,
        /// This replica's sequence number.
        seq: u64,
    },
}
