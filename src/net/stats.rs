//! Counters a [`Network`](crate::Network) keeps.

use crate::auth::AuthError;
use crate::net::NetError;

/// Connections refused or closed, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Refusals {
    /// Not a hello: garbage or another protocol.
    pub bad_magic: u64,
    /// Another auth protocol version.
    pub incompatible: u64,
    /// Peers whose static key is not on the allow-list ([`AuthError::NotAllowed`]).
    pub not_allowed: u64,
    /// Peers claiming a replica id their key does not own: impostors
    /// ([`AuthError::ForeignReplicaId`]).
    pub foreign_id: u64,
    /// Malformed handshake messages, or ones that do not decrypt.
    pub bad_handshake: u64,
    /// Peers claiming this replica's own id: a node dialing itself, or a copy of its data
    /// directory running under the same id ([`AuthError::SelfConnection`]).
    pub self_connection: u64,
    /// Peers claiming a replica id that already has a live session here
    /// ([`NetError::DuplicateSession`]); the live session is kept.
    pub duplicate: u64,
    /// Frames that did not open after the handshake (injected, replayed, altered).
    pub bad_tag: u64,
    /// Frames above the maximum size.
    pub oversized: u64,
    /// Handshakes that timed out or were cut short.
    pub timeout: u64,
    /// Sessions closed because nothing was heard for the liveness timeout
    /// ([`NetError::Stalled`]).
    pub stalled: u64,
    /// Blocked peers.
    pub blocked: u64,
    /// Authenticated past the session cap ([`NetConfig::max_sessions`](crate::NetConfig)).
    pub too_many: u64,
    /// Inbound connections still handshaking, pushed out by newer ones when the handshake
    /// table was full ([`NetConfig::max_handshakes`](crate::NetConfig), in total and per
    /// source address).
    pub pushed_out: u64,
    /// Anything else (socket errors, WebSocket protocol errors, text messages).
    pub other: u64,
}

impl Refusals {
    /// All reasons together.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.bad_magic
            + self.incompatible
            + self.not_allowed
            + self.foreign_id
            + self.bad_handshake
            + self.self_connection
            + self.duplicate
            + self.bad_tag
            + self.oversized
            + self.timeout
            + self.stalled
            + self.blocked
            + self.too_many
            + self.pushed_out
            + self.other
    }

    pub(super) fn count(&mut self, err: &NetError) {
        let slot = match err {
            NetError::Auth(AuthError::BadMagic) => &mut self.bad_magic,
            NetError::Auth(AuthError::Incompatible { .. }) => &mut self.incompatible,
            NetError::Auth(AuthError::NotAllowed { .. }) => &mut self.not_allowed,
            NetError::Auth(AuthError::ForeignReplicaId { .. }) => &mut self.foreign_id,
            NetError::Auth(AuthError::BadTag { .. } | AuthError::ShortFrame { .. }) => {
                &mut self.bad_tag
            }
            NetError::Auth(AuthError::SelfConnection(_)) => &mut self.self_connection,
            NetError::Auth(_) => &mut self.bad_handshake,
            NetError::DuplicateSession { .. } => &mut self.duplicate,
            NetError::FrameTooLarge { .. } => &mut self.oversized,
            NetError::HandshakeTimeout(_) | NetError::ClosedInHandshake => &mut self.timeout,
            NetError::Stalled(_) => &mut self.stalled,
            NetError::Blocked(_) => &mut self.blocked,
            NetError::TooManySessions { .. } => &mut self.too_many,
            _ => &mut self.other,
        };
        *slot += 1;
    }
}

/// Our dials that failed before a connection was made, by reason.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct DialFailures {
    /// The remote refused the connection (nothing listens there: a peer that is down).
    pub refused: u64,
    /// The address or URL is malformed or does not resolve, or names a scheme this build
    /// cannot dial (`wss://` needs TLS, which the network does not have).
    pub address: u64,
    /// The connection (or the WebSocket upgrade) did not complete within the handshake timeout.
    pub timeout: u64,
    /// Anything else (unreachable network, reset, a WebSocket protocol error).
    pub other: u64,
}

impl DialFailures {
    /// All reasons together.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.refused + self.address + self.timeout + self.other
    }

    /// Counts `err`; returns whether it is worth a warning (a malformed address is; a peer
    /// that is down is not).
    pub(super) fn count(&mut self, err: &NetError) -> bool {
        use std::io::ErrorKind;
        use tokio_tungstenite::tungstenite::Error as Ws;
        let (slot, worth) = match err {
            NetError::Io(e) if e.kind() == ErrorKind::ConnectionRefused => {
                (&mut self.refused, false)
            }
            NetError::Io(e) if e.kind() == ErrorKind::InvalidInput => (&mut self.address, true),
            NetError::WebSocket(e) if matches!(**e, Ws::Url(_)) => (&mut self.address, true),
            NetError::HandshakeTimeout(_) => (&mut self.timeout, true),
            _ => (&mut self.other, true),
        };
        *slot += 1;
        worth
    }
}

/// A snapshot of a [`Network`](crate::Network)'s counters; it serializes with serde, as
/// [`SyncStats`](crate::SyncStats) does.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct NetStats {
    /// Connections that completed the handshake (both directions).
    pub sessions: u64,
    /// Sessions open now.
    pub open_sessions: usize,
    /// Inbound connections handshaking now (at most [`NetConfig::max_handshakes`](crate::NetConfig)).
    pub handshaking: usize,
    /// Dial attempts (successful or not).
    pub dials: u64,
    /// Dials that failed before a connection was made, by reason.
    pub dial_failures: DialFailures,
    /// Connections refused or closed on error, by reason.
    pub refused: Refusals,
    /// Frames dropped because the peer's outbound queue was full.
    pub dropped_full: u64,
    /// Frames dropped because no session to the peer was open.
    pub dropped_unconnected: u64,
    /// Frames dropped because they exceeded the maximum frame size.
    pub dropped_oversized: u64,
    /// Frames sent on the wire, and their bytes (auth tags and length prefixes excluded).
    pub frames_out: u64,
    /// Bytes of frames sent.
    pub bytes_out: u64,
    /// Frames received and authenticated.
    pub frames_in: u64,
    /// Bytes of frames received.
    pub bytes_in: u64,
}

#[cfg(feature = "metrics")]
impl NetStats {
    /// Publishes these counters through the `metrics` facade as absolute values, named
    /// `deltacrdt_net_` + the field's path (`deltacrdt_net_refused_not_allowed_total`,
    /// `deltacrdt_net_open_sessions`); [`SyncNode`](crate::SyncNode) does once a second.
    pub fn publish_metrics(&self) {
        crate::sync::metrics::publish("deltacrdt_net", self);
    }
}
