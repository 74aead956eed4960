//! The delta buffer `D: seq ↦ (delta-group, origin)` of delta-interval anti-entropy.

use std::collections::VecDeque;

use serde::Serialize;

use super::message;
use crate::id::ReplicaId;
use crate::lattice::Lattice;

/// Where a buffered delta came from: what shipping it to a peer decides on.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Source {
    /// The peer it came from (`None`: a local mutation).
    pub(crate) origin: Option<ReplicaId>,
    /// The origin's sequence number its message ended at (`None`: a local mutation, or a
    /// delta resumed from a log): a peer that holds the origin's state at that number holds
    /// this delta (see `relay`).
    #[cfg(feature = "reconcile")]
    pub(crate) via: Option<u64>,
    /// When it was buffered (tick time, ms).
    #[cfg(feature = "reconcile")]
    pub(crate) at: u64,
}

impl Source {
    /// A delta that came from `origin` (`None`: a local mutation), of unknown sequence.
    #[cfg_attr(
        not(feature = "reconcile"),
        allow(clippy::needless_update, reason = "relaying adds fields")
    )]
    pub(crate) fn of(origin: Option<ReplicaId>) -> Self {
        Self {
            origin,
            ..Self::default()
        }
    }
}

#[derive(Debug)]
struct Entry<T> {
    delta: T,
    source: Source,
    /// Its encoded size, as the caps count it.
    bytes: usize,
    /// The delta's payload encoding (`message::payload`), made the first time it is needed
    /// and then reused: the payload of a one-delta interval to every peer and the body of its
    /// log record. Empty if the delta could not be encoded (then each use encodes it again
    /// and reports the error).
    payload: Option<Vec<u8>>,
}

impl<T: Serialize> Entry<T> {
    /// The delta and its payload encoding (made now if it was not yet).
    fn parts(&mut self) -> (&T, &[u8]) {
        let delta = &self.delta;
        let payload = self
            .payload
            .get_or_insert_with(|| message::payload(delta).unwrap_or_default());
        (delta, payload)
    }
}

/// What a peer is sent for an interval (see [`DeltaBuffer::interval`]).
#[derive(Debug)]
pub(crate) enum Interval<'a, T> {
    /// Nothing: every entry in it came from the peer itself.
    Empty,
    /// One entry: its payload, encoded at most once however many peers it goes to.
    One(&'a [u8]),
    /// Several entries joined into one delta-group, to encode.
    Group(T),
}

/// Deltas for sequence numbers `start..start + len`, contiguous: every sequence number the
/// replica issues is a buffered delta until it is collected or evicted.
#[derive(Debug)]
pub(crate) struct DeltaBuffer<T> {
    start: u64,
    entries: VecDeque<Entry<T>>,
    bytes: usize,
}

/// The encoded size of a value, as the codec writes it.
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
    pub(crate) fn push(&mut self, delta: T, source: Source) {
        let bytes = encoded_len(&delta);
        self.bytes += bytes;
        self.entries.push_back(Entry {
            delta,
            source,
            bytes,
            payload: None,
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
                .map(move |(i, e)| (self.start + i as u64, &e.delta, e.source.origin)),
        )
    }

    /// As [`since`](Self::since), with each delta's payload encoding (empty if it could not
    /// be encoded): what a durable store writes to its log without encoding the delta again.
    pub(crate) fn payloads_since(
        &mut self,
        from: u64,
    ) -> Option<impl Iterator<Item = (u64, &T, &[u8], Option<ReplicaId>)> + '_> {
        let offset = usize::try_from(from.checked_sub(self.start)?).ok()?;
        if offset > self.entries.len() {
            return None;
        }
        let start = self.start;
        Some(
            self.entries
                .iter_mut()
                .enumerate()
                .skip(offset)
                .map(move |(i, e)| {
                    let origin = e.source.origin;
                    let (delta, payload) = e.parts();
                    (start + i as u64, delta, payload, origin)
                }),
        )
    }

    /// The delta-interval `⊔ D[from..end)`, leaving out the entries `skip` names by sequence
    /// number and source (ones the peer has: what came from it, no back-propagation; what it
    /// said it holds; what it got already). `None` if `from` is below [`start`](Self::start)
    /// (the buffer no longer reaches back) — the caller then sends the full state. A single
    /// entry comes as its payload, encoded the first time and then reused, however many
    /// peers it goes to.
    pub(crate) fn interval(
        &mut self,
        from: u64,
        mut skip: impl FnMut(u64, &Source) -> bool,
    ) -> Option<Interval<'_, T>> {
        let offset = usize::try_from(from.checked_sub(self.start)?).ok()?;
        let mut entries = self
            .entries
            .range_mut(offset.min(self.entries.len())..)
            .zip(from..)
            .filter(|(e, seq)| !skip(*seq, &e.source))
            .map(|(e, _)| e);
        let Some(first) = entries.next() else {
            return Some(Interval::Empty);
        };
        let Some(second) = entries.next() else {
            let (delta, payload) = first.parts();
            if payload.is_empty() {
                return Some(Interval::Group(delta.clone()));
            }
            return Some(Interval::One(payload));
        };
        let mut group = first.delta.clone();
        group.join_delta_group(second.delta.clone());
        for entry in entries {
            group.join_delta_group(entry.delta.clone());
        }
        Some(Interval::Group(group))
    }

    /// The sources of the entries from sequence number `from` on, with their numbers;
    /// `None` if `from` is below [`start`](Self::start).
    #[cfg(feature = "reconcile")]
    pub(crate) fn sources(&self, from: u64) -> Option<impl Iterator<Item = (u64, &Source)>> {
        let offset = usize::try_from(from.checked_sub(self.start)?).ok()?;
        let offset = offset.min(self.entries.len());
        Some(
            self.entries
                .range(offset..)
                .zip(from..)
                .map(|(e, seq)| (seq, &e.source)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::{DeltaBuffer, Interval, Source};
    use crate::crdt::GCounter;
    use crate::id::ReplicaId;
    use crate::sync::message;

    /// The interval's value, whichever form it comes in.
    fn value(interval: Option<Interval<'_, GCounter>>) -> Option<u64> {
        let limits = crate::codec::DecodeLimits::default();
        interval.map(|i| match i {
            Interval::Empty => 0,
            Interval::One(bytes) => message::decode_payload::<GCounter>(bytes, &limits)
                .map(|(g, _)| g.value())
                .unwrap_or(u64::MAX),
            Interval::Group(g) => g.value(),
        })
    }

    /// The interval to the end, leaving out what came from `skip` (back-propagation).
    fn interval(
        buffer: &mut DeltaBuffer<GCounter>,
        from: u64,
        skip: Option<ReplicaId>,
    ) -> Option<Interval<'_, GCounter>> {
        buffer.interval(from, |_, s| skip.is_some() && s.origin == skip)
    }

    fn delta(replica: u128, by: u64) -> GCounter {
        GCounter::default()
            .increment(ReplicaId::from_u128(replica), by)
            .into_inner()
    }

    #[test]
    fn intervals_skip_the_peer_they_came_from() {
        let (me, peer) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
        let mut buffer = DeltaBuffer::new(0);
        buffer.push(delta(1, 1), Source::of(None));
        buffer.push(delta(2, 5), Source::of(Some(peer)));
        buffer.push(delta(3, 7), Source::of(Some(me)));
        assert_eq!(buffer.end(), 3);
        assert_eq!(value(interval(&mut buffer, 0, None)), Some(13));
        assert_eq!(value(interval(&mut buffer, 0, Some(peer))), Some(8));
        assert!(matches!(
            interval(&mut buffer, 2, Some(peer)),
            Some(Interval::One(_))
        ));
        assert_eq!(value(interval(&mut buffer, 2, Some(peer))), Some(7));
        assert!(matches!(
            interval(&mut buffer, 1, Some(peer)),
            Some(Interval::One(_))
        ));
        assert!(matches!(
            interval(&mut buffer, 3, None),
            Some(Interval::Empty)
        ));
        // A one-delta interval is the payload the delta would be encoded to now.
        let Some(Interval::One(bytes)) = interval(&mut buffer, 2, None) else {
            panic!("one entry");
        };
        assert_eq!(Ok(bytes.to_vec()), message::payload(&delta(3, 7)));
    }

    #[test]
    fn collection_and_eviction_move_the_start() {
        let mut buffer = DeltaBuffer::new(10);
        for i in 0..5 {
            buffer.push(delta(1, i + 1), Source::of(None));
        }
        assert_eq!((buffer.start(), buffer.end(), buffer.len()), (10, 15, 5));
        buffer.collect(12);
        assert_eq!((buffer.start(), buffer.len()), (12, 3));
        assert!(interval(&mut buffer, 11, None).is_none()); // no longer reaches back
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
        buffer.push(delta(1, 1), Source::of(None));
        buffer.push(delta(2, 5), Source::of(Some(peer)));
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
