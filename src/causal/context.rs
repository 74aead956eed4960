//! The causal context: which events a replica has seen.

use core::fmt;

use smallvec::SmallVec;

use super::dot::{Actor, ActorMap, LocalDot};
use super::{Dot, ReplicaId};

/// The set of events (dots) a replica has seen, kept compact: per replica a version-vector entry
/// `max` (every counter `1..=max` seen) plus a *dot cloud* of the counters seen out of order.
///
/// Membership: `(r, n)` is in the context iff `n <= max[r]` or `n` is in `r`'s cloud. After every
/// join the cloud is compacted: counters that extend `max` contiguously move into it, so a replica
/// that has seen everything in order holds one integer per peer.
///
/// The context is also the *replica table* of the value it belongs to: stores refer to a replica
/// by its index here (4 bytes) rather than by its 16-byte id, and every value nested in an
/// [`OrMap`](crate::OrMap) shares its parent's context and so its table.
///
/// # Examples
/// ```
/// use deltacrdt::{CausalContext, Dot, ReplicaId};
/// let a = ReplicaId::from_u128(1);
/// let mut seen = CausalContext::default();
/// seen.insert(Dot::new(a, 1));
/// seen.insert(Dot::new(a, 3)); // out of order: kept in the dot cloud
/// assert!(!seen.contains(Dot::new(a, 2)));
/// seen.insert(Dot::new(a, 2)); // fills the gap: compacted into max = 3
/// assert_eq!(seen.max(a), 3);
/// assert_eq!(seen.cloud_len(), 0);
/// ```
#[derive(Clone, Default)]
pub struct CausalContext {
    /// Inline room for one replica: a delta of one operation allocates nothing here.
    entries: SmallVec<[Entry; 1]>,
}

/// What one replica's events look like to this context.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Entry {
    pub(crate) id: ReplicaId,
    /// Every counter in `1..=max` has been seen.
    pub(crate) max: u64,
    /// Counters seen beyond `max + 1`, strictly increasing.
    pub(crate) cloud: SmallVec<[u64; 1]>,
}

impl Entry {
    fn new(id: ReplicaId) -> Self {
        Self {
            id,
            max: 0,
            cloud: SmallVec::new(),
        }
    }

    fn is_empty(&self) -> bool {
        self.max == 0 && self.cloud.is_empty()
    }

    fn contains(&self, counter: u64) -> bool {
        counter != 0 && (counter <= self.max || self.cloud.binary_search(&counter).is_ok())
    }

    /// The highest counter seen, contiguous or not.
    fn top(&self) -> u64 {
        self.cloud.last().copied().unwrap_or(self.max).max(self.max)
    }

    fn insert(&mut self, counter: u64) {
        if counter == 0 || counter <= self.max {
            return;
        }
        if counter == self.max + 1 && self.cloud.first() != Some(&(counter + 1)) {
            self.max = counter;
            return;
        }
        if self.cloud.is_empty() {
            // The common case for a delta's context: one dot seen out of order.
            self.cloud.push(counter);
            return;
        }
        if let Err(at) = self.cloud.binary_search(&counter) {
            self.cloud.insert(at, counter);
        }
        self.compact();
    }

    fn join(&mut self, other: &Entry) {
        self.max = self.max.max(other.max);
        if !other.cloud.is_empty() {
            if self.cloud.is_empty() {
                self.cloud.clone_from(&other.cloud);
            } else {
                let mut merged = SmallVec::with_capacity(self.cloud.len() + other.cloud.len());
                let (mut a, mut b) = (self.cloud.iter().peekable(), other.cloud.iter().peekable());
                loop {
                    let next = match (a.peek(), b.peek()) {
                        (Some(x), Some(y)) if x < y => a.next(),
                        (Some(x), Some(y)) if x > y => b.next(),
                        (Some(_), Some(_)) => {
                            b.next();
                            a.next()
                        }
                        (Some(_), None) => a.next(),
                        (None, _) => b.next(),
                    };
                    match next {
                        Some(&n) => merged.push(n),
                        None => break,
                    }
                }
                self.cloud = merged;
            }
        }
        self.compact();
    }

    /// Moves counters that extend `max` contiguously out of the cloud, and drops covered ones.
    fn compact(&mut self) {
        let mut take = 0;
        for &n in &self.cloud {
            if n <= self.max {
                take += 1;
            } else if n == self.max + 1 {
                self.max = n;
                take += 1;
            } else {
                break;
            }
        }
        if take > 0 {
            self.cloud.drain(..take);
        }
    }

    /// Whether some counter is seen by both entries.
    fn intersects(&self, other: &Entry) -> bool {
        if self.max.min(other.max) >= 1 {
            return true;
        }
        self.cloud.iter().any(|&n| other.contains(n))
            || other.cloud.iter().any(|&n| self.contains(n))
    }

    fn is_well_formed(&self) -> bool {
        let mut prev = self.max.saturating_add(1);
        self.cloud.iter().all(|&n| {
            let ok = n > prev;
            prev = n;
            ok
        })
    }
}

/// A context failed validation after decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidContext {
    /// The same replica appears twice in the table.
    #[error("replica {0} appears twice in a causal context")]
    DuplicateReplica(ReplicaId),
    /// A dot cloud is not strictly increasing above its version-vector entry.
    #[error("the dot cloud of replica {0} is not compact and strictly increasing")]
    MalformedCloud(ReplicaId),
    /// A store refers to a replica index beyond the table.
    #[error("a store refers to replica index {index} but the table has {len} replicas")]
    UnknownActor {
        /// The index found.
        index: u32,
        /// The table size.
        len: usize,
    },
    /// A store is not in canonical form (unsorted or repeated entries, an empty entry).
    #[error("a store is not canonical: {0}")]
    NotCanonical(&'static str),
    /// A store holds a dot the context does not cover, or the counter 0.
    #[error("a store holds dot {0:?} that its causal context does not cover")]
    DotNotInContext(Dot),
}

impl CausalContext {
    /// Whether the context has seen `dot`.
    #[must_use]
    pub fn contains(&self, dot: Dot) -> bool {
        self.entry(dot.replica)
            .is_some_and(|e| e.contains(dot.counter))
    }

    /// Records `dot` as seen (compacting the cloud).
    pub fn insert(&mut self, dot: Dot) {
        let actor = self.intern(dot.replica);
        self.insert_local(LocalDot::new(actor, dot.counter));
    }

    /// The version-vector entry of `replica`: every counter `1..=max` is seen (0 if none).
    #[must_use]
    pub fn max(&self, replica: ReplicaId) -> u64 {
        self.entry(replica).map_or(0, |e| e.max)
    }

    /// The next dot `replica` would issue in a value with this context.
    #[must_use]
    pub fn next_dot(&self, replica: ReplicaId) -> Dot {
        Dot::new(
            replica,
            self.entry(replica).map_or(0, Entry::top).saturating_add(1),
        )
    }

    /// Whether no event has been seen.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.iter().all(Entry::is_empty)
    }

    /// Number of dots held out of order (the size of the dot cloud).
    #[must_use]
    pub fn cloud_len(&self) -> usize {
        self.entries.iter().map(|e| e.cloud.len()).sum()
    }

    /// The replicas this context has seen events from, with their version-vector entry.
    pub fn version_vector(&self) -> impl Iterator<Item = (ReplicaId, u64)> + '_ {
        self.entries
            .iter()
            .filter(|e| !e.is_empty())
            .map(|e| (e.id, e.max))
    }

    /// Every dot held out of order.
    pub fn cloud(&self) -> impl Iterator<Item = Dot> + '_ {
        self.entries
            .iter()
            .flat_map(|e| e.cloud.iter().map(move |&n| Dot::new(e.id, n)))
    }

    /// Joins `other` into `self` (union of seen events), compacting the result.
    pub fn join(&mut self, other: &Self) {
        for entry in &other.entries {
            let actor = self.intern(entry.id);
            if let Some(mine) = self.entries.get_mut(actor.index()) {
                mine.join(entry);
            }
        }
    }

    // ----- crate-internal: the replica table and index-based dots -----

    fn entry(&self, replica: ReplicaId) -> Option<&Entry> {
        self.entries.iter().find(|e| e.id == replica)
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    #[cfg(test)]
    pub(crate) fn from_entries(entries: Vec<Entry>) -> Self {
        Self {
            entries: entries.into(),
        }
    }

    /// The index of `replica`, adding it to the table if it is new.
    pub(crate) fn intern(&mut self, replica: ReplicaId) -> Actor {
        if let Some(i) = self.entries.iter().position(|e| e.id == replica) {
            return Actor(u32::try_from(i).unwrap_or(u32::MAX));
        }
        self.entries.push(Entry::new(replica));
        Actor(u32::try_from(self.entries.len() - 1).unwrap_or(u32::MAX))
    }

    /// The replica behind an index (a default id for an out-of-table index).
    pub(crate) fn replica(&self, actor: Actor) -> ReplicaId {
        self.entries
            .get(actor.index())
            .map(|e| e.id)
            .unwrap_or_default()
    }

    pub(crate) fn to_dot(&self, dot: LocalDot) -> Dot {
        Dot::new(self.replica(dot.actor), dot.counter)
    }

    pub(crate) fn contains_local(&self, dot: LocalDot) -> bool {
        self.entries
            .get(dot.actor.index())
            .is_some_and(|e| e.contains(dot.counter))
    }

    pub(crate) fn insert_local(&mut self, dot: LocalDot) {
        if let Some(e) = self.entries.get_mut(dot.actor.index()) {
            e.insert(dot.counter);
        }
    }

    /// Issues the next dot of `replica` and records it as seen.
    pub(crate) fn issue(&mut self, replica: ReplicaId) -> LocalDot {
        let actor = self.intern(replica);
        let counter = self
            .entries
            .get(actor.index())
            .map_or(0, Entry::top)
            .saturating_add(1);
        let dot = LocalDot::new(actor, counter);
        self.insert_local(dot);
        dot
    }

    /// Joins a context already laid out in the same table (index `i` means the same replica).
    pub(crate) fn join_aligned(&mut self, other: &Self) {
        for (i, entry) in other.entries.iter().enumerate() {
            match self.entries.get_mut(i) {
                Some(mine) => mine.join(entry),
                None => self.entries.push(entry.clone()),
            }
        }
    }

    /// Whether some event is seen by both (aligned) contexts. When not, a join cannot remove
    /// anything from either side, which lets joins of add-only deltas skip scanning the state.
    pub(crate) fn intersects_aligned(&self, other: &Self) -> bool {
        self.entries
            .iter()
            .zip(&other.entries)
            .any(|(a, b)| a.intersects(b))
    }

    /// Adds `other`'s replicas to `self`'s table and re-lays `other` out in it, returning the
    /// renaming to apply to `other`'s stores (`None` when the layouts already agree).
    pub(crate) fn align(&mut self, other: &mut Self) -> Option<ActorMap> {
        let identity = other
            .entries
            .iter()
            .zip(&self.entries)
            .all(|(o, s)| o.id == s.id)
            && other.entries.len() <= self.entries.len();
        if identity {
            return None;
        }
        let map: Vec<Actor> = other.entries.iter().map(|e| self.intern(e.id)).collect();
        let mut laid_out: SmallVec<[Entry; 1]> =
            self.entries.iter().map(|e| Entry::new(e.id)).collect();
        for (entry, actor) in other.entries.drain(..).zip(&map) {
            if let Some(slot) = laid_out.get_mut(actor.index()) {
                *slot = entry;
            }
        }
        other.entries = laid_out;
        Some(ActorMap(map))
    }

    /// Checks the table and clouds are well formed.
    pub(crate) fn validate(&self) -> Result<(), InvalidContext> {
        for (i, e) in self.entries.iter().enumerate() {
            if self.entries.iter().take(i).any(|p| p.id == e.id) {
                return Err(InvalidContext::DuplicateReplica(e.id));
            }
            if !e.is_well_formed() {
                return Err(InvalidContext::MalformedCloud(e.id));
            }
        }
        Ok(())
    }

    /// Checks a store's dot refers to the table and is covered by the context.
    pub(crate) fn check_dot(&self, dot: LocalDot) -> Result<(), InvalidContext> {
        if dot.actor.index() >= self.entries.len() {
            return Err(InvalidContext::UnknownActor {
                index: dot.actor.0,
                len: self.entries.len(),
            });
        }
        if !self.contains_local(dot) {
            return Err(InvalidContext::DotNotInContext(self.to_dot(dot)));
        }
        Ok(())
    }
}

impl PartialEq for CausalContext {
    /// Equal when both have seen the same events, whatever the order of their replica tables.
    fn eq(&self, other: &Self) -> bool {
        let covered = |a: &Self, b: &Self| {
            a.entries
                .iter()
                .filter(|e| !e.is_empty())
                .all(|e| b.entry(e.id) == Some(e))
        };
        covered(self, other) && covered(other, self)
    }
}

impl Eq for CausalContext {}

#[cfg(feature = "serde")]
impl serde::Serialize for CausalContext {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.entries.serialize(s)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for CausalContext {
    /// Decodes and validates: no duplicate replica, compact strictly increasing clouds.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let ctx = Self {
            entries: SmallVec::deserialize(d)?,
        };
        ctx.validate().map_err(serde::de::Error::custom)?;
        Ok(ctx)
    }
}

impl fmt::Debug for CausalContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_map();
        for e in self.entries.iter().filter(|e| !e.is_empty()) {
            if e.cloud.is_empty() {
                list.entry(&e.id, &e.max);
            } else {
                list.entry(&e.id, &(e.max, &e.cloud));
            }
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    #[test]
    fn compaction_folds_contiguous_cloud_into_max() {
        let mut c = CausalContext::default();
        for n in [5, 3, 2, 4] {
            c.insert(Dot::new(r(1), n));
        }
        assert_eq!(c.max(r(1)), 0);
        assert_eq!(c.cloud_len(), 4);
        c.insert(Dot::new(r(1), 1));
        assert_eq!(c.max(r(1)), 5);
        assert_eq!(c.cloud_len(), 0);
        assert!(c.validate().is_ok());
    }

    #[test]
    fn join_merges_clouds_and_compacts() {
        let mut a = CausalContext::default();
        let mut b = CausalContext::default();
        a.insert(Dot::new(r(1), 1));
        a.insert(Dot::new(r(1), 3));
        b.insert(Dot::new(r(2), 1));
        b.insert(Dot::new(r(1), 2));
        b.insert(Dot::new(r(1), 5));
        a.join(&b);
        assert_eq!(a.max(r(1)), 3);
        assert_eq!(a.cloud().collect::<Vec<_>>(), vec![Dot::new(r(1), 5)]);
        assert_eq!(a.max(r(2)), 1);
    }

    #[test]
    fn equality_ignores_table_order() {
        let mut a = CausalContext::default();
        let mut b = CausalContext::default();
        a.insert(Dot::new(r(1), 1));
        a.insert(Dot::new(r(2), 1));
        b.insert(Dot::new(r(2), 1));
        b.insert(Dot::new(r(1), 1));
        b.intern(r(3));
        assert_eq!(a, b);
    }

    #[test]
    fn align_relays_other_in_own_table() {
        let mut a = CausalContext::default();
        a.insert(Dot::new(r(1), 4));
        let mut b = CausalContext::default();
        b.insert(Dot::new(r(2), 1));
        b.insert(Dot::new(r(1), 1));
        let map = a.align(&mut b).map(|m| m.0);
        assert_eq!(map, Some(vec![Actor(1), Actor(0)]));
        assert_eq!(
            b.entries().iter().map(|e| e.id).collect::<Vec<_>>(),
            vec![r(1), r(2)]
        );
        assert!(b.contains_local(LocalDot::new(Actor(0), 1)));
    }

    #[test]
    fn malformed_clouds_are_rejected() {
        let bad = CausalContext::from_entries(vec![Entry {
            id: r(1),
            max: 2,
            cloud: smallvec::smallvec![3],
        }]);
        assert_eq!(bad.validate(), Err(InvalidContext::MalformedCloud(r(1))));
        let dup = CausalContext::from_entries(vec![Entry::new(r(1)), Entry::new(r(1))]);
        assert_eq!(dup.validate(), Err(InvalidContext::DuplicateReplica(r(1))));
    }
}
