//! The save format of `Doc.save()` / `Doc.load()`.
//!
//! A save is one value frame of the core's wire format (`src/codec/FORMAT.md`: `"DC"`, the
//! format version byte, the value kind byte, a postcard body, a closing CRC-32) whose body is
//! [`Saved`]: a save-layout version, the replica id, the sequence number, the last HLC
//! timestamp and the document state. So a save is versioned twice (the frame's format version
//! and [`SAVE_VERSION`]) and checksummed, and it decodes under the same bounds as any frame.
//!
//! `Doc.resume` restores the replica with [`SyncEngine::restore`]: same id, same sequence
//! number, a clock resuming after the last timestamp it issued; `Doc.load` restores the state
//! and the clock under a fresh replica id (one save, loaded twice, must not become one id twice).
//! The delta buffer and peer sessions are volatile, so each peer first gets the full state.

use deltacrdt::{Doc, ReplicaId, SyncEngine, Timestamp, decode, encode};
use serde::{Deserialize, Serialize};

use crate::error::{Code, Failure, Result};

/// The layout version of [`Saved`], the first field of its body.
pub const SAVE_VERSION: u8 = 1;

/// What a save holds: the durable parts of a replica.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Saved {
    /// [`SAVE_VERSION`] of the writer.
    pub version: u8,
    /// The replica's id.
    pub replica: ReplicaId,
    /// Its sequence number (never goes backwards across a restart).
    pub seq: u64,
    /// The last timestamp its clock issued.
    pub last: Timestamp,
    /// The document.
    pub state: Doc,
}

impl Saved {
    /// The durable parts of `engine`.
    #[must_use]
    pub fn of(engine: &SyncEngine<Doc>) -> Self {
        Self {
            version: SAVE_VERSION,
            replica: engine.id(),
            seq: engine.seq(),
            last: engine.hlc().last(),
            state: engine.state().clone(),
        }
    }

    /// The save's bytes.
    ///
    /// # Errors
    /// `BAD_VALUE` if the state cannot be encoded (not expected for a `Doc`).
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        encode(self).map_err(|e| Failure::new(Code::BadValue, e.to_string()))
    }

    /// Reads a save.
    ///
    /// # Errors
    /// `BAD_SAVE` for bytes that do not decode or validate, or a save-layout version this
    /// build does not read.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let saved: Self =
            decode(bytes).map_err(|e| Failure::new(Code::BadSave, format!("not a save: {e}")))?;
        if saved.version != SAVE_VERSION {
            return Err(Failure::new(
                Code::BadSave,
                format!(
                    "save layout version {} is not supported (this build reads {SAVE_VERSION})",
                    saved.version
                ),
            ));
        }
        saved
            .state
            .validate()
            .map_err(|e| Failure::new(Code::BadSave, format!("invalid document: {e}")))?;
        Ok(saved)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;
    use deltacrdt::{Hlc, SyncConfig};

    fn engine() -> SyncEngine<Doc> {
        let hlc = Hlc::builder(ReplicaId::from_u128(7))
            .clock(|| 1_700_000_000_000u64)
            .build()
            .unwrap();
        let mut e: SyncEngine<Doc> = SyncEngine::new(hlc);
        e.update(|d, h| d.increment(h.replica(), &["likes"], 2))
            .unwrap();
        e.update(|d, h| {
            d.set(h.now()?, &["title"], "x".into())
                .map_err(deltacrdt::Error::from)
        })
        .unwrap();
        e
    }

    #[test]
    fn round_trip_restores_the_replica() {
        let e = engine();
        let bytes = Saved::of(&e).to_bytes().unwrap();
        let saved = Saved::from_bytes(&bytes).unwrap();
        assert_eq!(saved, Saved::of(&e));
        let mut hlc = Hlc::builder(saved.replica)
            .clock(|| 1_700_000_000_000u64)
            .last(saved.last)
            .build()
            .unwrap();
        assert!(hlc.now().unwrap().time > e.hlc().last());
        let r = SyncEngine::restore(hlc, saved.state, saved.seq, SyncConfig::default());
        assert_eq!(r.state(), e.state());
        assert_eq!(r.seq(), e.seq());
    }

    #[test]
    fn every_corruption_is_bad_save() {
        let bytes = Saved::of(&engine()).to_bytes().unwrap();
        for cut in 0..bytes.len() {
            let err = Saved::from_bytes(&bytes[..cut]).unwrap_err();
            assert_eq!(err.code, Code::BadSave, "truncated at {cut}");
        }
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x40;
            assert_eq!(Saved::from_bytes(&flipped).unwrap_err().code, Code::BadSave);
        }
    }
}
