//! An authenticated session: per-direction keys and counters, frames sealed with a tag.

use hmac::Mac;

use super::AuthError;
use super::key::keyed;
use crate::id::ReplicaId;

/// Length of the tag closing every sealed frame (HMAC-SHA256 truncated to 128 bits).
pub const TAG_LEN: usize = 16;

/// What a successful handshake yields: the authenticated peer and the two directions.
#[derive(Debug)]
pub struct Session {
    pub(super) peer: ReplicaId,
    /// Seals the frames this side sends.
    pub sealer: Sealer,
    /// Opens the frames the peer sends.
    pub opener: Opener,
}

impl Session {
    /// The authenticated peer: the replica id its hello carried, proven with the key.
    #[must_use]
    pub fn peer(&self) -> ReplicaId {
        self.peer
    }
}

/// Seals outgoing frames: `frame || HMAC-SHA256(k_out, counter_be64 || frame)[..16]`, the
/// counter counting frames from 0 in this direction.
#[derive(Debug)]
pub struct Sealer {
    key: [u8; 32],
    counter: u64,
}

impl Sealer {
    pub(super) fn new(key: [u8; 32]) -> Self {
        Self { key, counter: 0 }
    }

    /// The sealed frame (`frame.len() + TAG_LEN` bytes).
    #[must_use]
    pub fn seal(&mut self, frame: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(frame.len() + TAG_LEN);
        out.extend_from_slice(frame);
        out.extend_from_slice(&tag(&self.key, self.counter, frame));
        self.counter = self.counter.wrapping_add(1);
        out
    }
}

/// Opens incoming frames, checking the tag against the next expected counter.
#[derive(Debug)]
pub struct Opener {
    key: [u8; 32],
    counter: u64,
}

impl Opener {
    pub(super) fn new(key: [u8; 32]) -> Self {
        Self { key, counter: 0 }
    }

    /// The frame inside `sealed`, if its tag verifies (in constant time) for the next counter.
    ///
    /// # Errors
    /// [`AuthError::ShortFrame`], or [`AuthError::BadTag`] for a frame injected, replayed,
    /// reordered or altered; the counter does not advance, so the connection is useless after
    /// it and must be closed.
    pub fn open<'a>(&mut self, sealed: &'a [u8]) -> Result<&'a [u8], AuthError> {
        let split = sealed
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(AuthError::ShortFrame { len: sealed.len() })?;
        let (frame, tag) = sealed.split_at(split);
        let mut m = keyed(&self.key);
        m.update(&self.counter.to_be_bytes());
        m.update(frame);
        m.verify_truncated_left(tag)
            .map_err(|_| AuthError::BadTag {
                counter: self.counter,
            })?;
        self.counter = self.counter.wrapping_add(1);
        Ok(frame)
    }
}

fn tag(key: &[u8; 32], counter: u64, frame: &[u8]) -> [u8; TAG_LEN] {
    let mut m = keyed(key);
    m.update(&counter.to_be_bytes());
    m.update(frame);
    let full = m.finalize().into_bytes();
    let mut out = [0; TAG_LEN];
    out.copy_from_slice(full.get(..TAG_LEN).unwrap_or(&[0; TAG_LEN]));
    out
}
