//! An authenticated session: the peer, and a sealer and an opener of AES-256-GCM frames.

use std::sync::Arc;

use snow::StatelessTransportState;

use super::{AuthError, PublicKey};
use crate::id::ReplicaId;

/// Length of the tag closing every sealed frame (AES-GCM's).
pub const TAG_LEN: usize = 16;
/// The largest frame a sealed frame holds (a Noise message is at most 65,535 bytes, tag
/// included).
pub const MAX_FRAME_BYTES: usize = 65_535 - TAG_LEN;

/// What a successful handshake yields: the authenticated peer and the two directions.
#[derive(Debug)]
pub struct Session {
    peer: ReplicaId,
    peer_key: PublicKey,
    /// Seals the frames this side sends.
    pub sealer: Sealer,
    /// Opens the frames the peer sends.
    pub opener: Opener,
}

impl Session {
    pub(super) fn new(
        (peer, peer_key): (ReplicaId, PublicKey),
        noise: StatelessTransportState,
    ) -> Self {
        let noise = Arc::new(noise);
        Self {
            peer,
            peer_key,
            sealer: Sealer {
                noise: Arc::clone(&noise),
                counter: 0,
            },
            opener: Opener { noise, counter: 0 },
        }
    }

    /// The authenticated peer: the replica id it sent, owned by its key.
    #[must_use]
    pub fn peer(&self) -> ReplicaId {
        self.peer
    }

    /// The peer's static public key (on this side's allow-list).
    #[must_use]
    pub fn peer_key(&self) -> PublicKey {
        self.peer_key
    }
}

/// Seals outgoing frames: AES-256-GCM under this direction's key, the nonce counting frames
/// from 0.
pub struct Sealer {
    noise: Arc<StatelessTransportState>,
    counter: u64,
}

impl Sealer {
    /// The sealed frame (`frame.len() + TAG_LEN` bytes).
    ///
    /// # Errors
    /// [`AuthError::FrameTooLarge`] above [`MAX_FRAME_BYTES`].
    pub fn seal(&mut self, frame: &[u8]) -> Result<Vec<u8>, AuthError> {
        if frame.len() > MAX_FRAME_BYTES {
            return Err(AuthError::FrameTooLarge {
                len: frame.len(),
                max: MAX_FRAME_BYTES,
            });
        }
        let mut out = vec![0; frame.len() + TAG_LEN];
        let len = self
            .noise
            .write_message(self.counter, frame, &mut out)
            .map_err(|e| AuthError::Noise(e.to_string()))?;
        out.truncate(len);
        self.counter += 1;
        Ok(out)
    }
}

/// Opens incoming frames, for the next expected counter.
pub struct Opener {
    noise: Arc<StatelessTransportState>,
    counter: u64,
}

impl Opener {
    /// The frame inside `sealed`, if it opens for the next counter.
    ///
    /// # Errors
    /// [`AuthError::ShortFrame`], or [`AuthError::BadTag`] for a frame injected, replayed,
    /// reordered or altered; the counter does not advance, so the connection is useless after
    /// it and must be closed.
    pub fn open(&mut self, sealed: &[u8]) -> Result<Vec<u8>, AuthError> {
        let len = sealed
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(AuthError::ShortFrame { len: sealed.len() })?;
        let mut out = vec![0; len];
        self.noise
            .read_message(self.counter, sealed, &mut out)
            .map_err(|_| AuthError::BadTag {
                counter: self.counter,
            })?;
        self.counter += 1;
        Ok(out)
    }
}

impl core::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sealer")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}

impl core::fmt::Debug for Opener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Opener")
            .field("counter", &self.counter)
            .finish_non_exhaustive()
    }
}
