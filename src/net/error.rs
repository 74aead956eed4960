//! Why a connection failed or was refused.

use crate::auth::AuthError;
use crate::id::ReplicaId;

/// A connection refused or closed by the network layer. Only that connection is affected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// A socket operation failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The WebSocket layer failed (bad upgrade, protocol violation).
    #[error("websocket: {0}")]
    WebSocket(Box<tokio_tungstenite::tungstenite::Error>),
    /// The peer sent a frame larger than [`NetConfig::max_frame_bytes`](crate::NetConfig).
    #[error("frame larger than the maximum of {max} bytes")]
    FrameTooLarge {
        /// The maximum, auth tag included.
        max: usize,
    },
    /// A WebSocket peer sent a text message (frames are binary).
    #[error("websocket text message where a binary frame was expected")]
    TextMessage,
    /// The handshake failed (bad magic, another version, a key not on the allow-list, a
    /// replica id the key does not own…) or a sealed frame did not open.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The peer did not complete the handshake in time.
    #[error("handshake not completed within {0:?}")]
    HandshakeTimeout(std::time::Duration),
    /// A session heard nothing from its peer, not even a keepalive, for
    /// [`NetConfig::liveness_timeout`](crate::NetConfig): the peer, or one direction of the
    /// path, is stalled.
    #[error("nothing heard from the peer for {0:?}: session closed")]
    Stalled(std::time::Duration),
    /// The connection closed before the handshake completed.
    #[error("connection closed during the handshake")]
    ClosedInHandshake,
    /// The peer is on the deny-list ([`Network::block`](crate::Network::block)).
    #[error("peer {0} is blocked")]
    Blocked(ReplicaId),
    /// The peer authenticated as a replica that already has a live session here (a second
    /// connection of the same peer, or a second process under a copied id). The open session
    /// is kept; this one is closed.
    #[error("peer {replica} already has a live session")]
    DuplicateSession {
        /// The replica id claimed twice.
        replica: ReplicaId,
    },
    /// The peer authenticated, but [`NetConfig::max_sessions`](crate::NetConfig) sessions are
    /// open already.
    #[error("session refused: {max} sessions open already")]
    TooManySessions {
        /// [`NetConfig::max_sessions`](crate::NetConfig).
        max: usize,
    },
    /// The replica id a [`Network`](crate::Network) was given is not owned by its
    /// [`NetConfig::identity`](crate::NetConfig): every peer would refuse it. Make the id with
    /// [`PeerKey::new_replica_id`](crate::PeerKey::new_replica_id).
    #[error("replica id {replica} is not owned by this peer's key {}", .key.fingerprint())]
    NotOwned {
        /// The id.
        replica: ReplicaId,
        /// This peer's public key.
        key: crate::auth::PublicKey,
    },
}

impl From<tokio_tungstenite::tungstenite::Error> for NetError {
    fn from(err: tokio_tungstenite::tungstenite::Error) -> Self {
        use tokio_tungstenite::tungstenite::Error as Ws;
        match err {
            Ws::Io(io) => Self::Io(io),
            other => Self::WebSocket(Box::new(other)),
        }
    }
}
