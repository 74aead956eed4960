//! Why a handshake, a sealed frame, a key or an allow-list was refused.

use super::public_key::{InvalidKey, PublicKey};
use crate::id::ReplicaId;

/// A handshake or a frame refused by the authentication layer (the connection it came on must
/// be closed: nothing it carried may reach the engine), or a key or allow-list that does not
/// parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The first bytes are not an auth handshake (another protocol, or garbage).
    #[error("not a deltacrdt auth handshake (bad magic)")]
    BadMagic,
    /// The peer speaks another version of the auth protocol.
    #[error("peer speaks auth protocol version {found}; this build speaks {supported}")]
    Incompatible {
        /// The version its first message carried.
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
    /// A handshake message does not decrypt: altered in transit, or not meant for this
    /// handshake.
    #[error("{what} does not decrypt (altered, or from another handshake)")]
    BadMessage {
        /// Which message.
        what: &'static str,
    },
    /// The peer's static key is not on this side's allow-list.
    #[error("peer key {} is not on the allow-list", .key.fingerprint())]
    NotAllowed {
        /// The peer's public key.
        key: PublicKey,
    },
    /// The peer claims a replica id its key does not own: an impostor, or an id made without
    /// the key ([`PeerKey::new_replica_id`](crate::PeerKey::new_replica_id)).
    #[error("peer key {} does not own replica id {replica}", .key.fingerprint())]
    ForeignReplicaId {
        /// The id claimed.
        replica: ReplicaId,
        /// The peer's public key.
        key: PublicKey,
    },
    /// The peer claims this replica's own id (a connection to oneself, or a copy running
    /// under the same id).
    #[error("peer claims this replica's own id {0}")]
    SelfConnection(ReplicaId),
    /// A sealed frame too short to carry a tag.
    #[error("sealed frame of {len} bytes is shorter than its tag")]
    ShortFrame {
        /// Its length.
        len: usize,
    },
    /// A frame larger than a sealed frame can hold.
    #[error("frame of {len} bytes; a sealed frame holds at most {max}")]
    FrameTooLarge {
        /// Its length.
        len: usize,
        /// [`MAX_FRAME_BYTES`](crate::MAX_FRAME_BYTES).
        max: usize,
    },
    /// A sealed frame does not open: injected, replayed, reordered or altered.
    #[error("frame {counter} from the peer does not open (injected, replayed or altered)")]
    BadTag {
        /// The counter the frame was expected to carry.
        counter: u64,
    },
    /// A key in text form is not 64 hex digits.
    #[error(transparent)]
    BadKey(#[from] InvalidKey),
    /// An allow-list line that is neither a key, a comment nor blank.
    #[error("allow-list line {line}: {why}")]
    AllowList {
        /// Its line number, from 1.
        line: usize,
        /// What is wrong with it.
        why: String,
    },
    /// A key or allow-list file cannot be read or written.
    #[error("{path}: {why}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error, as text.
        why: String,
    },
    /// The Noise library refused a step it should not (a build or state error, not bad input
    /// from the peer).
    #[error("noise: {0}")]
    Noise(String),
    /// The OS random generator failed (a new key or replica id).
    #[error("no randomness from the OS: {0}")]
    Random(String),
}
