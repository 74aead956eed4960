//! Why a handshake or a sealed frame was refused.

use crate::id::ReplicaId;

/// A handshake or a frame refused by the authentication layer. The connection it came on must
/// be closed: nothing it carried may reach the engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The first bytes are not an auth hello (another protocol, or garbage).
    #[error("not a deltacrdt auth hello (bad magic)")]
    BadMagic,
    /// The peer speaks another version of the auth protocol.
    #[error("peer speaks auth protocol version {found}; this build speaks {supported}")]
    Incompatible {
        /// The version its hello carried.
        found: u8,
        /// The version this build speaks.
        supported: u8,
    },
    /// A handshake message has the wrong length.
    #[error("malformed {what}: {len} bytes, expected {expected}")]
    Malformed {
        /// Which message.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The length the protocol fixes.
        expected: usize,
    },
    /// The peer claims this replica's own id (a connection to oneself, or a clash of ids).
    #[error("peer claims this replica's own id {0}")]
    SelfConnection(ReplicaId),
    /// The peer echoed this side's own nonce: a reflection attempt.
    #[error("peer {0} reflected this side's nonce")]
    Reflected(ReplicaId),
    /// The peer's proof does not verify: it does not hold the key.
    #[error("peer {0} failed to prove the shared key (wrong key?)")]
    BadProof(ReplicaId),
    /// A raw key shorter than the minimum.
    #[error("raw key of {len} bytes; at least {min} required")]
    KeyTooShort {
        /// Its length.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// A sealed frame too short to carry a tag.
    #[error("sealed frame of {len} bytes is shorter than its tag")]
    ShortFrame {
        /// Its length.
        len: usize,
    },
    /// A sealed frame's tag does not verify: injected, replayed, reordered or altered.
    #[error("frame {counter} from the peer has a bad tag (injected, replayed or altered)")]
    BadTag {
        /// The counter the frame was expected to carry.
        counter: u64,
    },
}
