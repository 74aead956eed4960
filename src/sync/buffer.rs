//! The delta buffer `D: seq ↦ (delta-group, origin)` of delta-interval anti-entropy.

use std::collections::VecDeque;

use serde::Serialize;

use crate::{Lattice, ReplicaId};

#[derive(Debug)]
struct Entry<T> {
    delta: T,
    /// The peer it came from (`None`: a local mutation).
    origin: Option<ReplicaId>,
    bytes: usize,
}

/// Deltas for sequence numbers `start..start + len`, contiguous: every sequence number the
/// replica issues is a buffered delta until it is collected or evicted.
#[derive(Debug)]
pub(crate) struct DeltaBuffer<T> {
    start: u64,
    entries: VecDeque<Entry<T>>,
    bytes: usize,
}

/// The encoded size of a value, as the codec writes it (one serializer for sizes and frames:
/// a second one would be a second copy of every `Serialize` impl in the npm module).
fn encoded_len<T: Serialize>(value: &T) -> usize {
    crate::codec::encoded_len(value)
}

impl<T: Lattice + Serialize> DeltaBuffer<T> {
    /// An empty buffer whose next entry will have sequence number `seq`.
    pub(crate) fn new(seq: u64) -> Self {
        Self {
            start: seq,
            entries: VecDeque::new(),
            bytes: 0,
        }
    }

    /// The lowest sequence number the buffer still covers.
    pub(crate) fn start(&self) -> u64 {
        self.start
    }

    /// The sequence number the next entry gets.
    pub(crate) fn end(&self) -> u64 {
        self.start + self.entries.len() as u64
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }

    /// Appends the delta of sequence number [`end`](Self::end).
    pub(crate) fn push(&mut self, delta: T, origin: Option<ReplicaId>) {
        let bytes = encoded_len(&delta);
        self.bytes += bytes;
        self.entries.push_back(Entry {
            delta,
            origin,
            bytes,
        });
    }

    /// Drops entries below `seq` (acknowledged by every peer).
    pub(crate) fn collect(&mut self, seq: u64) {
        while self.start < seq {
            if !self.pop() {
                break;
            }
        }
    }

    /// Drops the oldest entries until the buffer fits the caps; returns how many were dropped.
    pub(crate) fn evict(&mut self, max_bytes: usize, max_entries: usize) -> u64 {
        let mut dropped = 0;
        while (self.bytes > max_bytes || self.entries.len() > max_entries) && self.pop() {
            dropped += 1;
        }
        dropped
    }

    fn pop(&mut self) -> bool {
        match self.entries.pop_front() {
            Some(entry) => {
                self.bytes -= entry.bytes;
                self.start += 1;
                true
            }
            None => false,
        }
    }

    /// The entries from sequence number `from` on, as `(seq, delta, origin)`; `None` if
    /// `from` is below [`start`](Self::start) (collected or evicted) or past the end.
    pub(crate) fn since(
        &self,
        from: u64,
    ) -> Option<impl Iterator<Item = (u64, &T, Option<ReplicaId>)> + '_> {
        let offset = usize::try_from(from.checked_sub(self.start)?).ok()?;
        if offset > self.entries.len() {
            return None;
        }
        Some(
            self.entries
                .iter()
                .enumerate()
                .skip(offset)
                .map(move |(i, e)| (self.start + i as u64, &e.delta, e.origin)),
        )
    }

    /// The delta-interval `⊔ D[from..end)`, skipping entries that came from `skip` (no
    /// back-propagation). `None` if `from` is below [`start`](Self::start) (the buffer no
    /// longer reaches back) — the caller then sends the full state.
    pub(crate) fn interval(&self, from: u64, skip: Option<ReplicaId>) -> Option<T> {
        let offset = usize::try_from(from.checked_sub(self.start)?).ok()?;
        let mut group = T::default();
        for entry in self.entries.iter().skip(offset) {
            if skip.is_some() && entry.origin == skip {
                continue;
            }
            group.join_delta_group(entry.delta.clone());
        }
        Some(group)
    }
}

#[cfg(test)]
mod tests {
    use super::DeltaBuffer;
    use crate::{GCounter, ReplicaId};

    fn delta(replica: u128, by: u64) -> GCounter {
        GCounter::default()
            .increment(ReplicaId::from_u128(replica), by)
            .into_inner()
    }

    #[test]
    fn intervals_skip_the_peer_they_came_from() {
        let (me, peer) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
        let mut buffer = DeltaBuffer::new(0);
        buffer.push(delta(1, 1), None);
        buffer.push(delta(2, 5), Some(peer));
        buffer.push(delta(3, 7), Some(me));
        assert_eq!(buffer.end(), 3);
        assert_eq!(buffer.interval(0, None).map(|g| g.value()), Some(13));
        assert_eq!(buffer.interval(0, Some(peer)).map(|g| g.value()), Some(8));
        assert_eq!(buffer.interval(2, Some(peer)).map(|g| g.value()), Some(7));
        assert_eq!(buffer.interval(3, None), Some(GCounter::default()));
    }

    #[test]
    fn collection_and_eviction_move_the_start() {
        let mut buffer = DeltaBuffer::new(10);
        for i in 0..5 {
            buffer.push(delta(1, i + 1), None);
        }
        assert_eq!((buffer.start(), buffer.end(), buffer.len()), (10, 15, 5));
        buffer.collect(12);
        assert_eq!((buffer.start(), buffer.len()), (12, 3));
        assert_eq!(buffer.interval(11, None), None); // no longer reaches back
        assert!(buffer.bytes() > 0);
        assert_eq!(buffer.evict(usize::MAX, 1), 2);
        assert_eq!((buffer.start(), buffer.len()), (14, 1));
        assert_eq!(buffer.evict(0, usize::MAX), 1);
        assert_eq!((buffer.start(), buffer.end(), buffer.bytes()), (15, 15, 0));
        buffer.collect(100); // past the end: stops at the end
        assert_eq!(buffer.start(), 15);
    }

    #[test]
    fn entries_since_a_sequence_number_carry_their_number_and_origin() {
        let peer = ReplicaId::from_u128(2);
        let mut buffer = DeltaBuffer::new(4);
        buffer.push(delta(1, 1), None);
        buffer.push(delta(2, 5), Some(peer));
        let seen: Vec<_> = buffer
            .since(5)
            .map(|it| it.map(|(s, d, o)| (s, d.value(), o)).collect())
            .unwrap_or_default();
        assert_eq!(seen, vec![(5, 5, Some(peer))]);
        assert_eq!(buffer.since(6).map(Iterator::count), Some(0));
        assert!(buffer.since(3).is_none()); // before the start
        assert!(buffer.since(7).is_none()); // past the end
    }
}
