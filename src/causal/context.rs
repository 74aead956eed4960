//! The causal context: which events a replica has seen.

use core::cell::Cell;
use core::fmt;
use core::ops::ControlFlow;

use crate::platform::hash::HashMap;
use smallvec::SmallVec;

use super::Dot;
use super::dot::{Actor, ActorMap, LocalDot};
use crate::id::ReplicaId;

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
    /// Replica → index, kept once the table outgrows a linear scan ([`INDEXED`] replicas).
    index: Option<Box<HashMap<ReplicaId, u32>>>,
}

/// Tables longer than this keep a hash index of their replicas.
const INDEXED: usize = 16;

/// `other`'s replicas interned in a context's table: how to rename `other`'s dots, and how to
/// look our indices up in `other`.
#[derive(Debug)]
pub(crate) struct Alignment {
    /// `other` index → our index.
    pub(crate) map: ActorMap,
    /// (our index, `other` index), sorted by our index.
    back: Vec<(u32, u32)>,
}

/// A context queried with dots indexed in the table of the value being joined into: the other
/// side of a join keeps its own table, and `back` translates our indices to its own.
///
/// On the other side of a join it can also record, per replica of ours, whether the join
/// dropped a dot of ours because the other side had seen it and no longer holds it
/// ([`Seen::removes`]): how `Lattice::join_novelty` learns what a delta removed without a pass
/// of its own.
#[derive(Clone, Copy, Debug)]
pub struct Seen<'a> {
    ctx: &'a CausalContext,
    back: Option<&'a [(u32, u32)]>,
    removed: Option<&'a [Cell<bool>]>,
}

impl<'a> Seen<'a> {
    /// A context queried in its own table.
    pub(crate) fn direct(ctx: &'a CausalContext) -> Self {
        Self {
            ctx,
            back: None,
            removed: None,
        }
    }

    /// `other` queried in the table it was aligned to.
    pub(crate) fn aligned(ctx: &'a CausalContext, alignment: Option<&'a Alignment>) -> Self {
        Self {
            ctx,
            back: alignment.map(|a| a.back.as_slice()),
            removed: None,
        }
    }

    /// The same view, recording in `removed` (indexed by our replicas) what it removes.
    /// How many events the context has seen (saturating): what iterating them costs.
    pub(crate) fn event_count(&self) -> u64 {
        self.ctx.event_count()
    }

    /// Calls `f` with every event the context has seen, as a dot of *our* table (the other
    /// side's replicas are all interned in ours by then), until it breaks.
    pub(crate) fn try_for_each_event(
        &self,
        f: &mut dyn FnMut(LocalDot) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        match self.back {
            None => self.ctx.try_for_each_event(f),
            Some(back) => back.iter().try_for_each(|&(ours, theirs)| {
                self.ctx
                    .entries
                    .get(theirs as usize)
                    .map_or(ControlFlow::Continue(()), |e| {
                        e.try_for_each(&mut |n| f(LocalDot::new(Actor(ours), n)))
                    })
            }),
        }
    }

    pub(crate) fn recording(self, removed: &'a [Cell<bool>]) -> Self {
        Self {
            removed: Some(removed),
            ..self
        }
    }

    /// Whether a dot of ours that the other side's store lacks is removed by the join: the
    /// other side has seen it. Call it only where the join drops the dot when it answers yes.
    pub(crate) fn removes(&self, dot: LocalDot) -> bool {
        let seen = self.contains(dot);
        if seen {
            self.note_removed(dot);
        }
        seen
    }

    /// Records that the join dropped `dot` of ours.
    pub(crate) fn note_removed(&self, dot: LocalDot) {
        if let Some(flag) = self.removed.and_then(|r| r.get(dot.actor.index())) {
            flag.set(true);
        }
    }

    /// Whether the context has seen `dot` (indexed in the table it was aligned to).
    pub(crate) fn contains(&self, dot: LocalDot) -> bool {
        let actor = match self.back {
            None => dot.actor,
            Some(back) => match back.binary_search_by_key(&dot.actor.0, |&(ours, _)| ours) {
                Ok(i) => back.get(i).map_or(dot.actor, |&(_, theirs)| Actor(theirs)),
                Err(_) => return false,
            },
        };
        self.ctx.contains_local(LocalDot::new(actor, dot.counter))
    }
}

/// What one replica's events look like to this context.
#[derive(Clone, PartialEq, Eq, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub(crate) struct Entry {
    pub(crate) id: ReplicaId,
    /// Every counter in `1..=max` has been seen.
    pub(crate) max: u64,
    /// Counters seen beyond `max + 1`, strictly increasing.
    #[cfg_attr(
        feature = "serde",
        serde(deserialize_with = "crate::bounded::small_vec")
    )]
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
        if counter == self.max.saturating_add(1)
            && self.cloud.first() != Some(&counter.saturating_add(1))
        {
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

    /// Whether every counter seen here is seen by `other` too. Relies on `other` being compact
    /// (as every context is after a join or decoding): then `other` lacks `other.max + 1`.
    /// Calls `f` with every counter seen, in increasing order, until it breaks.
    fn try_for_each(&self, f: &mut dyn FnMut(u64) -> ControlFlow<()>) -> ControlFlow<()> {
        (1..=self.max).try_for_each(&mut *f)?;
        self.cloud.iter().try_for_each(|&n| f(n))
    }

    /// The counters of `self` that `other` (an entry of the same replica) has not seen, compact.
    fn minus(&self, other: &Entry) -> Entry {
        let mut cloud = SmallVec::new();
        let mut theirs = other.cloud.iter().peekable();
        for n in other.max.saturating_add(1)..=self.max {
            while theirs.next_if(|&&m| m < n).is_some() {}
            if theirs.next_if_eq(&&n).is_none() {
                cloud.push(n);
            }
        }
        cloud.extend(self.cloud.iter().copied().filter(|&n| !other.contains(n)));
        let mut entry = Entry {
            id: self.id,
            max: 0,
            cloud,
        };
        entry.compact();
        entry
    }

    fn is_subset(&self, other: &Entry) -> bool {
        self.max <= other.max && self.cloud.iter().all(|&n| other.contains(n))
    }

    /// How many counters are seen (saturating).
    fn len(&self) -> u64 {
        self.max
            .saturating_add(u64::try_from(self.cloud.len()).unwrap_or(u64::MAX))
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
        if self.max > CausalContext::MAX_COUNTER
            || self
                .cloud
                .last()
                .is_some_and(|&n| n > CausalContext::MAX_COUNTER)
        {
            return false;
        }
        self.cloud.iter().all(|&n| {
            let ok = n > prev;
            prev = n;
            ok
        })
    }
}

/// How one replica's events in a context compare with another context's (see
/// [`CausalContext::coverage`]).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Coverage {
    /// No event of the replica is seen.
    Empty,
    /// Every event seen is seen by the other context too, where the replica has this index.
    Covered(Actor),
    /// Some event seen is not seen by the other context.
    New,
}

/// A context failed validation after decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidContext {
    /// The same replica appears twice in the table.
    #[error("replica {0} appears twice in a causal context")]
    DuplicateReplica(ReplicaId),
    /// A dot cloud is not strictly increasing above its version-vector entry, or a counter
    /// exceeds [`CausalContext::MAX_COUNTER`].
    #[error(
        "the dot cloud of replica {0} is not compact and strictly increasing, or a counter is out of range"
    )]
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
    #[error("a store holds dot {0} that its causal context does not cover")]
    DotNotInContext(Dot),
}

impl CausalContext {
    /// The largest counter a context accepts from outside (2⁶²): decoding refuses larger ones and
    /// [`insert`](Self::insert) ignores them. A replica issuing a dot every nanosecond takes 146
    /// years to get there; the bound keeps every dot a replica issues fresh, since a counter near
    /// `u64::MAX` would make that replica's next dots look already seen everywhere.
    pub const MAX_COUNTER: u64 = 1 << 62;

    /// Whether the context has seen `dot`.
    #[must_use]
    pub fn contains(&self, dot: Dot) -> bool {
        self.entry(dot.replica)
            .is_some_and(|e| e.contains(dot.counter))
    }

    /// Records `dot` as seen (compacting the cloud). Counters above [`MAX_COUNTER`](Self::MAX_COUNTER)
    /// and the counter 0 are ignored.
    pub fn insert(&mut self, dot: Dot) {
        if dot.counter > Self::MAX_COUNTER {
            return;
        }
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

    /// The events of `self` that `other` has not seen (`self ∖ other`): per replica, the
    /// counters above `other`'s compact prefix that `other`'s cloud lacks, as a cloud, compacted
    /// (a replica `other` has never seen keeps its entry whole). Costs O(events returned) plus
    /// O(replicas); what a peer whose context is `other` lacks of ours.
    ///
    /// # Examples
    /// ```
    /// use deltacrdt::{CausalContext, Dot, ReplicaId};
    /// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut ours = CausalContext::default();
    /// let mut theirs = CausalContext::default();
    /// for n in 1..=5 {
    ///     ours.insert(Dot::new(a, n));
    /// }
    /// ours.insert(Dot::new(b, 1));
    /// for n in [1, 2, 4] {
    ///     theirs.insert(Dot::new(a, n));
    /// }
    /// let lacking = ours.difference(&theirs);
    /// assert_eq!(lacking.cloud().collect::<Vec<_>>(), [Dot::new(a, 3), Dot::new(a, 5)]);
    /// assert_eq!(lacking.max(b), 1);
    /// ```
    #[must_use]
    pub fn difference(&self, other: &Self) -> Self {
        let entries = self
            .entries
            .iter()
            .map(|e| match other.entry(e.id) {
                Some(theirs) if !theirs.is_empty() => e.minus(theirs),
                _ => e.clone(),
            })
            .collect();
        let mut ctx = Self {
            entries,
            index: None,
        };
        ctx.reindex();
        ctx
    }

    // ----- crate-internal: the replica table and index-based dots -----

    fn position(&self, replica: ReplicaId) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(&replica).map(|&i| i as usize),
            None => self.entries.iter().position(|e| e.id == replica),
        }
    }

    fn entry(&self, replica: ReplicaId) -> Option<&Entry> {
        self.position(replica).and_then(|i| self.entries.get(i))
    }

    /// Builds the replica index once the table is long enough to need it.
    fn reindex(&mut self) {
        self.index = (self.entries.len() > INDEXED).then(|| {
            Box::new(
                self.entries
                    .iter()
                    .zip(0u32..)
                    .map(|(e, i)| (e.id, i))
                    .collect(),
            )
        });
    }

    #[cfg(test)]
    pub(crate) fn entries(&self) -> &[Entry] {
        &self.entries
    }

    #[cfg(test)]
    pub(crate) fn from_entries(entries: Vec<Entry>) -> Self {
        let mut ctx = Self {
            entries: entries.into(),
            index: None,
        };
        ctx.reindex();
        ctx
    }

    /// The index of `replica`, adding it to the table if it is new.
    pub(crate) fn intern(&mut self, replica: ReplicaId) -> Actor {
        if let Some(i) = self.position(replica) {
            return Actor(u32::try_from(i).unwrap_or(u32::MAX));
        }
        let actor = Actor(u32::try_from(self.entries.len()).unwrap_or(u32::MAX));
        self.entries.push(Entry::new(replica));
        match &mut self.index {
            Some(index) => {
                index.insert(replica, actor.0);
            }
            None if self.entries.len() > INDEXED => self.reindex(),
            None => {}
        }
        actor
    }

    /// The index of `replica`, if it is in the table.
    pub(crate) fn actor(&self, replica: ReplicaId) -> Option<Actor> {
        self.position(replica)
            .map(|i| Actor(u32::try_from(i).unwrap_or(u32::MAX)))
    }

    /// The same replica table with no event seen (a store's dots keep their meaning in it).
    pub(crate) fn blank(&self) -> Self {
        let mut ctx = Self {
            entries: self.entries.iter().map(|e| Entry::new(e.id)).collect(),
            index: None,
        };
        ctx.reindex();
        ctx
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

    /// Interns `other`'s replicas; returns how to translate between the tables (`None` when
    /// `other`'s table is a prefix of ours, so indices already agree). O(replicas of `other`).
    pub(crate) fn align(&mut self, other: &Self) -> Option<Alignment> {
        let prefix = other.entries.len() <= self.entries.len()
            && other
                .entries
                .iter()
                .zip(&self.entries)
                .all(|(o, s)| o.id == s.id);
        if prefix {
            return None;
        }
        let map: Vec<Actor> = other.entries.iter().map(|e| self.intern(e.id)).collect();
        let mut back: Vec<(u32, u32)> = map.iter().zip(0u32..).map(|(a, i)| (a.0, i)).collect();
        crate::platform::sort::sort_unstable(&mut back);
        Some(Alignment {
            map: ActorMap(map),
            back,
        })
    }

    /// Joins `other`, whose table was aligned to ours by `alignment`.
    pub(crate) fn join_aligned(&mut self, other: &Self, alignment: Option<&Alignment>) {
        for (i, entry) in other.entries.iter().enumerate() {
            let at = alignment.map_or(i, |a| a.map.get(Actor(i as u32)).index());
            match self.entries.get_mut(at) {
                Some(mine) => mine.join(entry),
                None => {
                    // Only reachable without an alignment: `other` extends our table.
                    self.entries.push(entry.clone());
                    if self.index.is_some() || self.entries.len() > INDEXED {
                        self.reindex();
                    }
                }
            }
        }
    }

    /// Whether some event is seen by both contexts (`other` aligned to ours). When not, a join
    /// cannot remove anything from either side, so joins of add-only deltas skip scanning.
    pub(crate) fn intersects_aligned(&self, other: &Self, alignment: Option<&Alignment>) -> bool {
        other.entries.iter().enumerate().any(|(i, entry)| {
            let at = alignment.map_or(i, |a| a.map.get(Actor(i as u32)).index());
            self.entries
                .get(at)
                .is_some_and(|mine| mine.intersects(entry))
        })
    }

    /// The renaming of `other`'s indices into ours, without adding replicas: `None` if `other`
    /// has seen events of a replica we do not know.
    pub(crate) fn map_known(&self, other: &Self) -> Option<ActorMap> {
        let mut map = Vec::with_capacity(other.entries.len());
        for entry in &other.entries {
            match self.position(entry.id) {
                Some(i) => map.push(Actor(u32::try_from(i).ok()?)),
                None if entry.is_empty() => map.push(Actor(u32::MAX)),
                None => return None,
            }
        }
        Some(ActorMap(map))
    }

    /// For each replica of our table (by index), whether `other` has seen every event we have.
    /// O(replicas of ours), plus our clouds.
    pub(crate) fn coverage(&self, other: &Self) -> Vec<Coverage> {
        self.entries
            .iter()
            .map(|e| {
                if e.is_empty() {
                    return Coverage::Empty;
                }
                match other
                    .position(e.id)
                    .and_then(|i| Some((i, other.entries.get(i)?)))
                {
                    Some((i, theirs)) if e.is_subset(theirs) => {
                        Coverage::Covered(Actor(u32::try_from(i).unwrap_or(u32::MAX)))
                    }
                    _ => Coverage::New,
                }
            })
            .collect()
    }

    /// How many events of the replica at `actor` are seen (saturating; 0 outside the table).
    pub(crate) fn events_of(&self, actor: Actor) -> u64 {
        self.entries.get(actor.index()).map_or(0, Entry::len)
    }

    /// Number of replicas in the table (including some whose entry may be empty).
    /// Every event seen (saturating): what [`try_for_each_event`](Self::try_for_each_event)
    /// costs.
    pub(crate) fn event_count(&self) -> u64 {
        self.entries
            .iter()
            .fold(0u64, |n, e| n.saturating_add(e.len()))
    }

    /// Calls `f` with every event seen, as a dot of this table, until it breaks.
    pub(crate) fn try_for_each_event(
        &self,
        f: &mut dyn FnMut(LocalDot) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        self.entries
            .iter()
            .zip(0u32..)
            .try_for_each(|(e, i)| e.try_for_each(&mut |n| f(LocalDot::new(Actor(i), n))))
    }

    /// Calls `f` with every counter seen of `actor`, until it breaks.
    pub(crate) fn try_for_each_counter(
        &self,
        actor: Actor,
        f: &mut dyn FnMut(u64) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        self.entries
            .get(actor.index())
            .map_or(ControlFlow::Continue(()), |e| e.try_for_each(f))
    }

    /// Calls `f` with every event seen whose replica `table` knows, as a dot of `table`.
    pub(crate) fn for_each_event_in(&self, table: &Self, f: &mut dyn FnMut(LocalDot)) {
        for e in &self.entries {
            let Some(actor) = table.position(e.id).and_then(|i| u32::try_from(i).ok()) else {
                continue;
            };
            let _ = e.try_for_each(&mut |n| {
                f(LocalDot::new(Actor(actor), n));
                ControlFlow::Continue(())
            });
        }
    }

    pub(crate) fn table_len(&self) -> usize {
        self.entries.len()
    }

    /// The context restricted to the replicas whose index `keep` accepts, in a compacted table;
    /// and how to rename a store's dots of kept replicas into it (dots of dropped replicas must
    /// be removed from the store first: their new index is meaningless).
    pub(crate) fn project(&self, keep: impl Fn(Actor) -> bool) -> (Self, ActorMap) {
        let mut entries = SmallVec::new();
        let mut map = Vec::with_capacity(self.entries.len());
        for (e, i) in self.entries.iter().zip(0u32..) {
            map.push(Actor(u32::try_from(entries.len()).unwrap_or(u32::MAX)));
            if keep(Actor(i)) {
                entries.push(e.clone());
            }
        }
        let mut ctx = Self {
            entries,
            index: None,
        };
        ctx.reindex();
        (ctx, ActorMap(map))
    }

    /// Whether some event of `replica` is seen.
    #[cfg(feature = "reconcile")]
    pub(crate) fn has_seen(&self, replica: ReplicaId) -> bool {
        self.entry(replica).is_some_and(|e| !e.is_empty())
    }

    /// Checks the table and clouds are well formed.
    pub(crate) fn validate(&self) -> Result<(), InvalidContext> {
        if let Some(id) = crate::id::first_duplicate(self.entries.iter().map(|e| e.id)) {
            return Err(InvalidContext::DuplicateReplica(id));
        }
        for e in &self.entries {
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
        let mut ctx = Self {
            entries: crate::bounded::small_vec(d)?,
            index: None,
        };
        ctx.validate().map_err(serde::de::Error::custom)?;
        ctx.reindex();
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
    fn align_translates_between_tables() {
        let mut a = CausalContext::default();
        a.insert(Dot::new(r(1), 4));
        let mut b = CausalContext::default();
        b.insert(Dot::new(r(2), 1));
        b.insert(Dot::new(r(1), 1));
        let alignment = a.align(&b).unwrap();
        assert_eq!(alignment.map.0, vec![Actor(1), Actor(0)]);
        let seen = Seen::aligned(&b, Some(&alignment));
        // Our index 0 is replica 1, b's index 1.
        assert!(seen.contains(LocalDot::new(Actor(0), 1)));
        assert!(!seen.contains(LocalDot::new(Actor(0), 2)));
        assert!(seen.contains(LocalDot::new(Actor(1), 1)));
        a.join_aligned(&b, Some(&alignment));
        assert_eq!(a.max(r(1)), 1);
        assert_eq!(a.max(r(2)), 1);
        assert!(a.contains(Dot::new(r(1), 4)));
    }

    #[test]
    fn coverage_compares_each_replica() {
        let mut mine = CausalContext::default();
        for (n, c) in [(1, 1), (1, 2), (2, 1), (2, 3), (3, 5)] {
            mine.insert(Dot::new(r(n), c));
        }
        mine.intern(r(4)); // in the table, nothing seen
        let mut theirs = CausalContext::default();
        for (n, c) in [(3, 5), (2, 1), (2, 2), (2, 3), (1, 1)] {
            theirs.insert(Dot::new(r(n), c));
        }
        assert_eq!(
            mine.coverage(&theirs),
            [
                Coverage::New,
                Coverage::Covered(Actor(1)),
                Coverage::Covered(Actor(0)),
                Coverage::Empty
            ]
        );
        assert_eq!(mine.events_of(Actor(1)), 2);
        assert_eq!(theirs.events_of(Actor(1)), 3);
    }

    #[test]
    fn projection_compacts_the_table() {
        let mut c = CausalContext::default();
        for n in 1..=20 {
            c.insert(Dot::new(r(n), 1));
        }
        c.insert(Dot::new(r(20), 3));
        let (mut kept, map) = c.project(|a| a.0 % 2 == 1);
        assert!(kept.validate().is_ok());
        assert_eq!(kept.entries().len(), 10);
        assert_eq!(map.get(Actor(19)), Actor(9));
        assert_eq!(kept.replica(Actor(9)), r(20));
        assert!(kept.contains(Dot::new(r(20), 3)));
        assert!(!kept.contains(Dot::new(r(1), 1)));
        assert_eq!(kept.intern(r(2)), Actor(0));
    }

    #[test]
    fn large_tables_are_indexed() {
        let mut c = CausalContext::default();
        for n in 1..=100 {
            c.insert(Dot::new(r(n), n as u64));
        }
        assert!(c.index.is_some());
        for n in 1..=100 {
            let actor = c.intern(r(n));
            assert_eq!(c.replica(actor), r(n));
            assert!(c.contains(Dot::new(r(n), n as u64)));
        }
        assert_eq!(c.entries().len(), 100);
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

    fn events(c: &CausalContext) -> Vec<Dot> {
        let mut out = Vec::new();
        let _ = c.try_for_each_event(&mut |d| {
            out.push(c.to_dot(d));
            ControlFlow::Continue(())
        });
        crate::platform::sort::sort_unstable(&mut out);
        out
    }

    fn context(dots: &[(u128, u64)]) -> CausalContext {
        let mut c = CausalContext::default();
        for &(id, n) in dots {
            c.insert(Dot::new(r(id), n));
        }
        c
    }

    #[test]
    fn difference_is_the_set_difference_in_compact_form() {
        let ours = context(&[
            (1, 1),
            (1, 2),
            (1, 3),
            (1, 4),
            (1, 6),
            (1, 9),
            (2, 1),
            (2, 2),
        ]);
        let theirs = context(&[(1, 1), (1, 3), (1, 6), (3, 1)]);
        let diff = ours.difference(&theirs);
        assert_eq!(
            events(&diff),
            [
                Dot::new(r(1), 2),
                Dot::new(r(1), 4),
                Dot::new(r(1), 9),
                Dot::new(r(2), 1),
                Dot::new(r(2), 2)
            ]
        );
        // A replica they never saw keeps our entry whole (compact); the rest is a cloud.
        assert_eq!(diff.max(r(2)), 2);
        assert_eq!(diff.max(r(1)), 0);
        assert_eq!(diff.cloud_len(), 3);
        assert!(diff.validate().is_ok());
        // Nothing is lacking from a superset, and everything from bottom.
        assert!(ours.difference(&ours).is_empty());
        assert_eq!(ours.difference(&CausalContext::default()), ours);
    }

    #[test]
    fn difference_above_their_cloud_compacts_from_one() {
        // They saw only 2 out of order: we lack 1 and 3..=5 of theirs, stored as max 1 + cloud.
        let ours = context(&[(1, 1), (1, 2), (1, 3), (1, 4), (1, 5)]);
        let theirs = context(&[(1, 2)]);
        let diff = ours.difference(&theirs);
        assert_eq!(diff.max(r(1)), 1);
        assert_eq!(
            diff.cloud().collect::<Vec<_>>(),
            [Dot::new(r(1), 3), Dot::new(r(1), 4), Dot::new(r(1), 5)]
        );
        assert!(diff.validate().is_ok());
        assert_eq!(diff.event_count(), 4);
    }
}
