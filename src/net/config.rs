//! Tuning of a [`Network`](crate::Network).

use std::time::Duration;

use crate::auth::AuthKey;

/// How a [`Network`](crate::Network) authenticates, bounds and paces its connections.
///
/// # Examples
/// ```
/// use deltacrdt::{AuthKey, NetConfig};
/// let config = NetConfig { queue_frames: 64, ..NetConfig::new(AuthKey::from_passphrase("team")) };
/// assert_eq!(config.max_frame_bytes, 64 << 10);
/// ```
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// The key every peer must prove it holds.
    pub key: AuthKey,
    /// The largest frame accepted or sent, before the auth tag; larger incoming frames close the
    /// connection with [`NetError::FrameTooLarge`](crate::NetError::FrameTooLarge). Keep it
    /// at least the engines' [`SyncConfig::max_frame_bytes`](crate::SyncConfig).
    pub max_frame_bytes: usize,
    /// Frames queued per connection for sending; when full, new frames are dropped (counted).
    pub queue_frames: usize,
    /// Frames received and not yet taken by the engine; readers wait when it is full.
    pub inbound_frames: usize,
    /// Time allowed for a connection to complete the handshake.
    pub handshake_timeout: Duration,
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
    /// Defaults around `key`.
    #[must_use]
    pub fn new(key: AuthKey) -> Self {
        Self {
            key,
            max_frame_bytes: 64 << 10,
            queue_frames: 256,
            inbound_frames: 1024,
            handshake_timeout: Duration::from_secs(3),
            max_sessions: 256,
            max_handshakes: 128,
            max_handshakes_per_address: 32,
            min_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
        }
    }
}
