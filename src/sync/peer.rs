//! What the engine tracks per peer: acknowledgements, the message in flight, the hello
//! handshake, and the reassembly of a chunked payload.

use std::collections::BTreeMap;

use super::message::ChunkId;
#[cfg(feature = "reconcile")]
use super::relay::PeerRelay;
#[cfg(feature = "reconcile")]
use super::round::PeerRounds;
use super::stats::{Count, FullStates};
use crate::codec::DecodeError;
use crate::codec::checksum;

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

#[derive(Debug)]
pub(crate) struct Peer {
    /// Where the delta buffer started when the peer was registered.
    pub(crate) since: u64,
    /// `A[j]`: the highest of our sequence numbers the peer acknowledged.
    pub(crate) acked: Option<u64>,
    /// A valid frame arrived from the peer: the session is open.
    pub(crate) heard: bool,
    /// When our last hello went out.
    pub(crate) hello_sent_at: Option<u64>,
    /// The peer greeted us and awaits a reply.
    pub(crate) reply_due: bool,
    /// A hello from the peer arrived (a later one asks for a reply even if ours went out).
    pub(crate) hello_heard: bool,
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
    /// The session's reconciliation: nonces, rounds, fingerprints.
    #[cfg(feature = "reconcile")]
    pub(crate) rounds: PeerRounds,
    /// Relay-aware forwarding: what the peer holds, what we told it, what is held back.
    #[cfg(feature = "reconcile")]
    pub(crate) relay: PeerRelay,
    /// The peer's last skew report: its physical clock then, and our tick time then.
    #[cfg(feature = "reconcile")]
    pub(crate) told: Option<Told>,
}

/// A peer's report that it holds back writes of ours: what its physical clock read (ms), and
/// when it arrived (our tick time, ms), so we can tell how its clock reads now.
#[cfg(feature = "reconcile")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Told {
    pub(crate) physical: u64,
    pub(crate) at: u64,
}

impl Peer {
    /// Forgets what the peer acknowledged (and the message in flight): it is sent everything
    /// again, when no reconciliation round can find what it lacks.
    #[cfg(feature = "reconcile")]
    pub(crate) fn forget_acks(&mut self) {
        self.acked = None;
        self.in_flight = None;
    }

    pub(crate) fn new(since: u64) -> Self {
        Self {
            since,
            acked: None,
            heard: false,
            hello_sent_at: None,
            reply_due: false,
            hello_heard: false,
            in_flight: None,
            ack_due: None,
            reassembly: None,
            pending: None,
            full_states: FullStates::default(),
            sent: Count::default(),
            received: Count::default(),
            #[cfg(feature = "reconcile")]
            rounds: PeerRounds::new([0; 16]),
            #[cfg(feature = "reconcile")]
            relay: PeerRelay::default(),
            #[cfg(feature = "reconcile")]
            told: None,
        }
    }

    pub(crate) fn due_ack(&mut self, seq: u64) {
        self.ack_due = Some(self.ack_due.map_or(seq, |due| due.max(seq)));
    }
}

/// A chunked payload being put back together. Chunks may arrive in any order and more than
/// once; a chunk of another payload replaces an unfinished one. Memory grows with the bytes
/// actually received, never with the total a peer declares.
#[derive(Debug)]
pub(crate) struct Reassembly {
    pub(crate) id: ChunkId,
    total: usize,
    /// Received chunks by offset, non-overlapping.
    chunks: BTreeMap<usize, Vec<u8>>,
    filled: usize,
    /// When a chunk last arrived (tick time, ms): the least recently advanced reassembly is
    /// the first dropped to make room.
    #[cfg(not(small_code))]
    pub(crate) at: u64,
}

impl Reassembly {
    pub(crate) fn new(id: ChunkId, max: usize) -> Result<Self, DecodeError> {
        let bad = DecodeError::BadChunk { len: id.total, max };
        let total = usize::try_from(id.total)
            .ok()
            .filter(|&t| t <= max && t > 0)
            .ok_or(bad)?;
        Ok(Self {
            id,
            total,
            chunks: BTreeMap::new(),
            filled: 0,
            #[cfg(not(small_code))]
            at: 0,
        })
    }

    /// Stores one chunk; a duplicate is ignored, an overlapping or out-of-range one refused.
    pub(crate) fn insert(
        &mut self,
        offset: u64,
        bytes: Vec<u8>,
        max: usize,
    ) -> Result<(), DecodeError> {
        let total = self.id.total;
        let bad = || DecodeError::BadChunk { len: total, max };
        let start = usize::try_from(offset).map_err(|_| bad())?;
        let end = start.checked_add(bytes.len()).ok_or_else(bad)?;
        if bytes.is_empty() || end > self.total {
            return Err(bad());
        }
        if self.chunks.get(&start).is_some_and(|c| *c == bytes) {
            return Ok(());
        }
        let before = self.chunks.range(..end).next_back();
        if before.is_some_and(|(&s, c)| s + c.len() > start) {
            return Err(bad());
        }
        self.filled += bytes.len();
        self.chunks.insert(start, bytes);
        Ok(())
    }

    /// The payload bytes received so far.
    #[cfg(not(small_code))]
    pub(crate) fn filled(&self) -> usize {
        self.filled
    }

    /// The whole payload once every byte arrived, checked against the digest.
    pub(crate) fn complete(&self) -> Option<Result<Vec<u8>, DecodeError>> {
        if self.filled != self.total {
            return None;
        }
        let payload: Vec<u8> = self.chunks.values().flatten().copied().collect();
        let computed = checksum(&payload);
        Some(if computed == self.id.digest {
            Ok(payload)
        } else {
            Err(DecodeError::Checksum {
                found: self.id.digest,
                computed,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{ChunkId, Reassembly};
    use crate::codec::DecodeError;
    use crate::codec::checksum;

    fn id(total: u64, payload: &[u8]) -> ChunkId {
        ChunkId {
            full: true,
            seq: 7,
            digest: checksum(payload),
            total,
        }
    }

    #[test]
    fn chunks_reassemble_in_any_order_with_duplicates() {
        let mut r = Reassembly::new(id(10, b"abcdefghij"), 100).unwrap();
        r.insert(6, b"ghij".to_vec(), 100).unwrap();
        assert!(r.complete().is_none());
        r.insert(0, b"abc".to_vec(), 100).unwrap();
        r.insert(0, b"abc".to_vec(), 100).unwrap(); // duplicate: ignored
        r.insert(3, b"def".to_vec(), 100).unwrap();
        assert_eq!(r.complete(), Some(Ok(b"abcdefghij".to_vec())));
    }

    #[test]
    fn a_payload_that_does_not_match_its_digest_is_refused() {
        let mut r = Reassembly::new(id(3, b"abc"), 100).unwrap();
        r.insert(0, b"abd".to_vec(), 100).unwrap();
        assert!(matches!(
            r.complete(),
            Some(Err(DecodeError::Checksum { .. }))
        ));
    }

    #[test]
    fn hostile_chunks_are_refused() {
        let bad = |len| DecodeError::BadChunk { len, max: 100 };
        for total in [101, 0, u64::MAX] {
            assert_eq!(
                Reassembly::new(id(total, b""), 100).unwrap_err(),
                bad(total)
            );
        }
        let mut r = Reassembly::new(id(10, b""), 100).unwrap();
        r.insert(2, b"cdef".to_vec(), 100).unwrap();
        assert_eq!(r.insert(2, b"cdeX".to_vec(), 100), Err(bad(10))); // same place, other bytes
        assert_eq!(r.insert(4, b"xy".to_vec(), 100), Err(bad(10))); // overlaps
        assert_eq!(r.insert(0, b"abc".to_vec(), 100), Err(bad(10))); // overlaps the start
        assert_eq!(r.insert(8, b"xyz".to_vec(), 100), Err(bad(10))); // past the end
        assert_eq!(r.insert(u64::MAX, b"x".to_vec(), 100), Err(bad(10)));
        assert_eq!(r.insert(0, Vec::new(), 100), Err(bad(10))); // empty
        assert!(r.complete().is_none());
    }
}
