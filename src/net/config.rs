//! Tuning of a [`Network`](crate::Network).

use std::time::Duration;

use crate::auth::{AllowList, MAX_FRAME_BYTES, PeerKey};

/// How a [`Network`](crate::Network) authenticates, bounds and paces its connections.
///
/// # Examples
/// ```
/// use deltacrdt::{AllowList, NetConfig, PeerKey};
/// let (me, friend) = (PeerKey::generate()?, PeerKey::generate()?);
/// let config = NetConfig {
///     queue_frames: 64,
///     ..NetConfig::new(me, AllowList::of([friend.public()]))
/// };
/// assert_eq!(config.max_frame_bytes, deltacrdt::MAX_FRAME_BYTES);
/// # Ok::<(), deltacrdt::AuthError>(())
/// ```
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// This peer's static key pair: its identity in every handshake. The network's replica id
    /// must be one the key owns ([`PeerKey::new_replica_id`]).
    pub identity: PeerKey,
    /// The public keys of the peers that may join, checked at every handshake; a shared
    /// handle, so keys added or reloaded later count from the next handshake on.
    pub allow: AllowList,
    /// The largest frame accepted or sent, before the auth tag; larger incoming frames close the
    /// connection with [`NetError::FrameTooLarge`](crate::NetError::FrameTooLarge). At most
    /// [`MAX_FRAME_BYTES`] (a larger value counts as it); keep it at least the engines'
    /// [`SyncConfig::max_frame_bytes`](crate::SyncConfig).
    pub max_frame_bytes: usize,
    /// Frames queued per connection for sending; when full, new frames are dropped (counted).
    pub queue_frames: usize,
    /// Frames received and not yet taken by the engine; readers wait when it is full.
    pub inbound_frames: usize,
    /// Time allowed for a connection to complete the handshake.
    pub handshake_timeout: Duration,
    /// A session that sent nothing for this long sends a keepalive (an empty sealed frame,
    /// which never reaches the engine).
    pub keepalive: Duration,
    /// A session that received nothing, not even a keepalive, for this long is closed
    /// ([`NetError::Stalled`](crate::NetError::Stalled)) and its peer shown disconnected; a
    /// dialer redials. Keep it a few times [`keepalive`](Self::keepalive).
    pub liveness_timeout: Duration,
    /// The most authenticated sessions open at once; a peer that authenticates past it is
    /// refused ([`NetError::TooManySessions`](crate::NetError::TooManySessions)).
    pub max_sessions: usize,
    /// The most inbound connections still handshaking. A newcomer past it pushes out the
    /// oldest (counted in [`Refusals::pushed_out`](crate::Refusals)): connections held open
    /// without finishing the handshake keep being replaced, while an honest peer's handshake
    /// completes first. Our own dials are not counted here (each dialer holds one connection).
    pub max_handshakes: usize,
    /// The most inbound connections still handshaking from one source IP address; a
    /// newcomer past it pushes out that address's oldest.
    pub max_handshakes_per_address: usize,
    /// First delay before redialing; doubles per failure (with jitter) up to `max_backoff`.
    pub min_backoff: Duration,
    /// The longest delay between two dials.
    pub max_backoff: Duration,
}

impl NetConfig {
    /// Defaults around this peer's `identity` and whom it `allow`s.
    #[must_use]
    pub fn new(identity: PeerKey, allow: AllowList) -> Self {
        Self {
            identity,
            allow,
            max_frame_bytes: MAX_FRAME_BYTES,
            queue_frames: 256,
            inbound_frames: 1024,
            handshake_timeout: Duration::from_secs(3),
            keepalive: Duration::from_secs(1),
            liveness_timeout: Duration::from_secs(5),
            max_sessions: 256,
            max_handshakes: 128,
            max_handshakes_per_address: 32,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}
