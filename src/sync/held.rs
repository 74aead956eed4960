//! Register writes held back for clock skew, per sender (the engine's side is
//! `sync/skew.rs`).

use crate::clock::{Stamp, Timestamp};
use crate::id::ReplicaId;

/// Writes held back, per sender, in arrival order.
#[derive(Debug)]
pub(crate) struct Held<T> {
    entries: Vec<Entry<T>>,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

#[derive(Debug)]
pub(super) struct Entry<T> {
    /// The peer it came from.
    pub(super) from: ReplicaId,
    /// The held part of what it sent.
    pub(super) value: T,
    /// The stamps of the writes held (one write, one stamp).
    pub(super) writes: Vec<Stamp>,
    /// The earliest stamp among them: the entry is due when it comes within the bound.
    pub(super) earliest: Timestamp,
    /// Its encoded size.
    pub(super) bytes: usize,
}

impl<T> Held<T> {
    pub(super) fn bytes(&self, from: Option<ReplicaId>) -> usize {
        self.entries
            .iter()
            .filter(|e| from.is_none_or(|f| f == e.from))
            .map(|e| e.bytes)
            .sum()
    }

    /// The earliest stamp held, if any.
    pub(crate) fn earliest(&self) -> Option<Timestamp> {
        self.entries.iter().map(|e| e.earliest).min()
    }

    /// Writes and bytes held.
    pub(crate) fn totals(&self) -> (u64, usize) {
        let writes = self.entries.iter().map(|e| e.writes.len() as u64).sum();
        (writes, self.bytes(None))
    }

    /// How many peers it holds writes from.
    pub(super) fn senders(&self) -> usize {
        let mut from: Vec<ReplicaId> = self.entries.iter().map(|e| e.from).collect();
        crate::platform::sort::sort_unstable(&mut from);
        from.dedup();
        from.len()
    }

    /// Holds `entry`.
    pub(super) fn push(&mut self, entry: Entry<T>) {
        self.entries.push(entry);
    }

    /// Whether the write stamped `stamp` is held already (a sender resends what we have not
    /// acknowledged, a relay or a round sends it again).
    pub(super) fn holds(&self, stamp: Stamp) -> bool {
        self.entries.iter().any(|e| e.writes.contains(&stamp))
    }

    /// Takes the entries whose earliest stamp is within `bound`.
    pub(super) fn take_due(&mut self, bound: Timestamp) -> Vec<Entry<T>> {
        let (due, keep) = std::mem::take(&mut self.entries)
            .into_iter()
            .partition(|e| e.earliest <= bound);
        self.entries = keep;
        due
    }
}
