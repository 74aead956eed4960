//! What the engine tracks per peer: acknowledgements, the message in flight, the hello
//! handshake, and the reassembly of a chunked payload.

use std::collections::BTreeMap;

use super::stats::{Count, FullStates};
use crate::DecodeError;

/// A message sent and not yet acknowledged.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InFlight {
    /// The sequence number it ends at.
    pub(crate) upto: u64,
    /// When it was sent (tick time, ms).
    pub(crate) sent_at: u64,
}

/// A chunked payload kept until the peer acknowledges it.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) seq: u64,
    pub(crate) frames: Vec<Vec<u8>>,
}

#[derive(Debug, Default)]
pub(crate) struct Peer {
    /// `A[j]`: the highest of our sequence numbers the peer acknowledged.
    pub(crate) acked: Option<u64>,
    /// A valid frame arrived from the peer: the session is open.
    pub(crate) heard: bool,
    /// When our last hello went out.
    pub(crate) hello_sent_at: Option<u64>,
    /// The peer greeted us and awaits a reply.
    pub(crate) reply_due: bool,
    /// At most one data message is in flight; new deltas accumulate until it is acknowledged
    /// or times out, then go out together.
    pub(crate) in_flight: Option<InFlight>,
    /// The highest of the peer's sequence numbers we applied and have not acknowledged yet.
    pub(crate) ack_due: Option<u64>,
    pub(crate) reassembly: Option<Reassembly>,
    /// The chunks of a large payload not yet acknowledged, resent as they are on timeout.
    pub(crate) pending: Option<Pending>,
    pub(crate) full_states: FullStates,
    pub(crate) sent: Count,
    pub(crate) received: Count,
}

impl Peer {
    pub(crate) fn due_ack(&mut self, seq: u64) {
        self.ack_due = Some(self.ack_due.map_or(seq, |due| due.max(seq)));
    }
}

/// A chunked payload being put back together. Chunks may arrive in any order and more than
/// once; a chunk of a newer payload replaces an unfinished older one. Memory grows with the
/// bytes actually received, never with the total a peer declares.
#[derive(Debug)]
pub(crate) struct Reassembly {
    pub(crate) full: bool,
    pub(crate) seq: u64,
    total: usize,
    /// Received chunks by offset, non-overlapping.
    chunks: BTreeMap<usize, Vec<u8>>,
    filled: usize,
}

impl Reassembly {
    pub(crate) fn new(full: bool, seq: u64, total: u64, max: usize) -> Result<Self, DecodeError> {
        let bad = DecodeError::BadChunk { len: total, max };
        let total = usize::try_from(total)
            .ok()
            .filter(|&t| t <= max && t > 0)
            .ok_or(bad)?;
        Ok(Self {
            full,
            seq,
            total,
            chunks: BTreeMap::new(),
            filled: 0,
        })
    }

    pub(crate) fn matches(&self, full: bool, seq: u64, total: u64) -> bool {
        self.full == full && self.seq == seq && self.total as u64 == total
    }

    /// Stores one chunk; a duplicate is ignored, an overlapping or out-of-range one refused.
    pub(crate) fn insert(
        &mut self,
        offset: u64,
        bytes: Vec<u8>,
        max: usize,
    ) -> Result<(), DecodeError> {
        let bad = DecodeError::BadChunk {
            len: self.total as u64,
            max,
        };
        let start = usize::try_from(offset).map_err(|_| bad.clone())?;
        let end = start.checked_add(bytes.len()).ok_or(bad.clone())?;
        if bytes.is_empty() || end > self.total {
            return Err(bad);
        }
        if self
            .chunks
            .get(&start)
            .is_some_and(|c| c.len() == bytes.len())
        {
            return Ok(());
        }
        let before = self.chunks.range(..end).next_back();
        if before.is_some_and(|(&s, c)| s + c.len() > start) {
            return Err(bad);
        }
        self.filled += bytes.len();
        self.chunks.insert(start, bytes);
        Ok(())
    }

    /// The whole payload, once every byte arrived.
    pub(crate) fn complete(&self) -> Option<Vec<u8>> {
        (self.filled == self.total).then(|| self.chunks.values().flatten().copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::Reassembly;
    use crate::DecodeError;

    #[test]
    fn chunks_reassemble_in_any_order_with_duplicates() {
        let mut r = Reassembly::new(true, 7, 10, 100).unwrap();
        r.insert(6, b"ghij".to_vec(), 100).unwrap();
        assert!(r.complete().is_none());
        r.insert(0, b"abc".to_vec(), 100).unwrap();
        r.insert(0, b"abc".to_vec(), 100).unwrap(); // duplicate: ignored
        r.insert(3, b"def".to_vec(), 100).unwrap();
        assert_eq!(r.complete().as_deref(), Some(&b"abcdefghij"[..]));
        assert!(r.matches(true, 7, 10));
        assert!(!r.matches(false, 7, 10));
    }

    #[test]
    fn hostile_chunks_are_refused() {
        let bad = |len| DecodeError::BadChunk { len, max: 100 };
        assert_eq!(Reassembly::new(true, 1, 101, 100).unwrap_err(), bad(101));
        assert_eq!(Reassembly::new(true, 1, 0, 100).unwrap_err(), bad(0));
        assert_eq!(
            Reassembly::new(true, 1, u64::MAX, 100).unwrap_err(),
            bad(u64::MAX)
        );
        let mut r = Reassembly::new(true, 1, 10, 100).unwrap();
        r.insert(2, b"cdef".to_vec(), 100).unwrap();
        assert_eq!(r.insert(4, b"xy".to_vec(), 100), Err(bad(10))); // overlaps
        assert_eq!(r.insert(0, b"abc".to_vec(), 100), Err(bad(10))); // overlaps the start
        assert_eq!(r.insert(8, b"xyz".to_vec(), 100), Err(bad(10))); // past the end
        assert_eq!(r.insert(u64::MAX, b"x".to_vec(), 100), Err(bad(10)));
        assert_eq!(r.insert(0, Vec::new(), 100), Err(bad(10))); // empty
        assert!(r.complete().is_none());
    }
}
