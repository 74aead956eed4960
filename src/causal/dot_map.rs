//! `DotMap`: key ↦ nested dot store, the store of maps and remove-wins sets.

use crate::platform::hash::{HashMap, HashSet};
use core::hash::{BuildHasher, Hash};
use core::ops::ControlFlow;
use hashbrown::hash_map::Entry;

use super::context::Seen;
use super::dot::{ActorMap, LocalDot};
use super::dot_store::{DotStore, INDEXED, JoinMode, SEAL, Seal, probe};
use super::{CausalContext, InvalidContext};

/// Key ↦ nested dot store; keys whose store is bottom are absent (canonical form).
///
/// Nested stores are joined with the *parent's* contexts, so a key removed on one side (its dots
/// covered by that side's context) and updated concurrently on the other keeps exactly the
/// update's dots: update wins, and concurrent creations of one key merge.
///
/// `index` maps every dot held anywhere under a key to that key (see "the dot index" in the
/// store module): a join finds the keys a remove touches without visiting the others. A map of
/// at most [`LINEAR`] keys (every delta of one key) keeps no index and asks its few values.
#[derive(Debug)]
pub struct DotMap<K, S> {
    entries: HashMap<K, S>,
    /// Dot → key; empty while `entries.len() <= LINEAR`.
    index: HashMap<LocalDot, K>,
}

/// Up to this many keys a map keeps no index: finding a dot asks each value.
const LINEAR: usize = 8;

impl<K: Clone, S: Clone> Clone for DotMap<K, S> {
    fn clone(&self) -> Self {
        Self {
            entries: self.entries.clone(),
            // Always empty without the index: no clone of it in the module.
            index: if INDEXED {
                self.index.clone()
            } else {
                HashMap::default()
            },
        }
    }
}

impl<K, S> Default for DotMap<K, S> {
    fn default() -> Self {
        Self {
            entries: HashMap::default(),
            index: HashMap::default(),
        }
    }
}

impl<K: Hash + Eq, S: PartialEq> PartialEq for DotMap<K, S> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl<K: Hash + Eq, S> DotMap<K, S> {
    /// The store under `key`, if any.
    pub(crate) fn get(&self, key: &K) -> Option<&S> {
        self.entries.get(key)
    }

    /// The entries, in no particular order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &S)> {
        self.entries.iter()
    }

    /// Number of keys.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

impl<K: Hash + Eq + Clone, S: DotStore> DotMap<K, S> {
    /// A store holding `key ↦ value` (nothing if `value` is bottom).
    pub(crate) fn single(key: K, value: S) -> Self {
        let mut map = Self::default();
        map.insert_new(key, value);
        map
    }

    /// Whether the index is in use (more than [`LINEAR`] keys; every stored value holds a dot,
    /// so an index in use is never empty).
    fn indexed(&self) -> bool {
        INDEXED && !self.index.is_empty()
    }

    /// The key holding `dot`.
    fn key_of(&self, dot: LocalDot) -> Option<&K> {
        if self.indexed() {
            return self.index.get(&dot);
        }
        self.entries
            .iter()
            .find(|(_, s)| s.holds(dot))
            .map(|(k, _)| k)
    }

    /// Records that `key` holds `dot` (when the index is in use).
    fn note(&mut self, dot: LocalDot, key: &K) {
        if self.indexed() {
            self.index.entry(dot).or_insert_with(|| key.clone());
        }
    }

    /// Drops `dot` from the index if it names `key`.
    fn unindex(&mut self, dot: LocalDot, key: &K) {
        if self.indexed() && self.index.get(&dot) == Some(key) {
            self.index.remove(&dot);
        }
    }

    /// Builds or drops the index when the number of keys crossed [`LINEAR`].
    fn retune(&mut self) {
        match (INDEXED && self.entries.len() > LINEAR, self.indexed()) {
            (true, false) => self.reindex(),
            (false, true) => self.index = HashMap::default(),
            _ => {}
        }
    }

    /// Rebuilds the index from the entries (none for a small map).
    fn reindex(&mut self) {
        self.index.clear();
        if INDEXED && self.entries.len() > LINEAR {
            for (k, s) in &self.entries {
                s.for_each_dot(&mut |d| {
                    self.index.insert(d, k.clone());
                });
            }
        }
    }

    /// Inserts `value` under `key`, which holds nothing, indexing its dots (bottom values are
    /// not stored).
    fn insert_new(&mut self, key: K, value: S) {
        if value.is_bottom() {
            return;
        }
        if self.indexed() {
            value.for_each_dot(&mut |d| self.note(d, &key));
        }
        self.entries.insert(key, value);
        self.retune();
    }

    /// Removes `key`, unindexing its dots: O(dots under it).
    pub(crate) fn remove(&mut self, key: &K) -> Option<S> {
        let value = self.entries.remove(key)?;
        if self.indexed() {
            value.for_each_dot(&mut |d| self.unindex(d, key));
        }
        self.retune();
        Some(value)
    }

    /// Changes the value under `key` (created empty if absent) with `f`, a mutator of the
    /// value that returns its delta's context (`delta`, in a table of its own; `ctx` is the
    /// map's): the index follows the events of `delta`, which cover every dot the mutator added
    /// or dropped, so a mutation costs O(its delta). A mutator that changed dots its delta does
    /// not name is caught by a count of the dots and the key reindexed from scratch.
    pub(crate) fn edit<R>(
        &mut self,
        key: K,
        ctx: &mut CausalContext,
        f: impl FnOnce(&mut S, &mut CausalContext) -> (R, CausalContext),
    ) -> (R, CausalContext) {
        let mut value = self.entries.remove(&key).unwrap_or_default();
        let before = value.dot_count();
        let (result, delta) = f(&mut value, ctx);
        if self.indexed() {
            let (mut added, mut dropped) = (0usize, 0usize);
            delta.for_each_event_in(ctx, &mut |d| match (self.index.entry(d), value.holds(d)) {
                (Entry::Vacant(slot), true) => {
                    slot.insert(key.clone());
                    added += 1;
                }
                (Entry::Occupied(slot), false) if *slot.get() == key => {
                    slot.remove();
                    dropped += 1;
                }
                (Entry::Occupied(mut slot), true) if *slot.get() != key => {
                    slot.insert(key.clone());
                    added += 1;
                }
                _ => {}
            });
            if before + added != value.dot_count() + dropped {
                self.index.retain(|_, k| *k != key);
                value.for_each_dot(&mut |d| {
                    self.index.insert(d, key.clone());
                });
            }
        }
        if !value.is_bottom() {
            self.entries.insert(key, value);
        }
        self.retune();
        (result, delta)
    }

    /// Joins `other` (bottom for a key only we hold) into the entry under `key`. `lost` lists
    /// the dots of ours under `key` the join may drop (`None`: any of them), so the index
    /// follows in O(|other| + |lost|).
    fn join_key(
        &mut self,
        key: K,
        other: S,
        lost: Option<&[LocalDot]>,
        ours: &Seen<'_>,
        theirs: &Seen<'_>,
        mode: JoinMode,
    ) {
        let mut mine = self.entries.remove(&key).unwrap_or_default();
        if self.indexed() {
            let mut gained = Vec::new();
            other.for_each_dot(&mut |d| gained.push(d));
            let mut held = Vec::new();
            if lost.is_none() && mode.scan {
                mine.for_each_dot(&mut |d| held.push(d));
            }
            mine.join_store(ours, other, theirs, mode);
            for &d in lost.unwrap_or(&held) {
                if !mine.holds(d) {
                    self.unindex(d, &key);
                }
            }
            for d in gained {
                if mine.holds(d) {
                    self.note(d, &key);
                }
            }
        } else {
            mine.join_store(ours, other, theirs, mode);
        }
        if !mine.is_bottom() {
            self.entries.insert(key, mine);
        }
    }
}

impl<K: Hash + Eq + Clone + core::fmt::Debug, S: DotStore> DotStore for DotMap<K, S> {}

impl<K: Hash + Eq + Clone + core::fmt::Debug, S: DotStore> crate::causal::dot_store::StoreOps
    for DotMap<K, S>
{
    crate::causal::dot_store::wire_is_self!();

    fn is_bottom(&self) -> bool {
        self.entries.is_empty()
    }

    fn holds(&self, dot: LocalDot) -> bool {
        self.key_of(dot).is_some()
    }

    fn dot_count(&self) -> usize {
        if self.indexed() {
            self.index.len()
        } else {
            self.entries.values().map(S::dot_count).sum()
        }
    }

    fn restrict(&self, events: &CausalContext, _: Seal) -> Self {
        let mut keys = HashSet::default();
        if self.indexed()
            && events.event_count() <= u64::try_from(self.index.len()).unwrap_or(u64::MAX)
        {
            let _ = events.try_for_each_event(&mut |d| {
                if let Some(k) = self.index.get(&d) {
                    keys.insert(k);
                }
                ControlFlow::Continue(())
            });
        } else {
            keys.extend(self.entries.keys());
        }
        let mut out = Self::default();
        for k in keys {
            if let Some(s) = self.entries.get(k) {
                out.insert_new(k.clone(), s.restrict(events, SEAL));
            }
        }
        out
    }

    fn index_is_exact(&self) -> bool {
        let mut rebuilt = HashMap::default();
        let mut unique = true;
        for (k, s) in &self.entries {
            s.for_each_dot(&mut |d| unique &= rebuilt.insert(d, k.clone()).is_none());
        }
        if self.entries.len() <= LINEAR {
            rebuilt.clear();
        }
        unique && rebuilt == self.index && self.entries.values().all(S::index_is_exact)
    }

    #[cfg(feature = "reconcile")]
    fn for_each_dot_digest(&self, f: &mut dyn FnMut(LocalDot, u64)) {
        use crate::platform::hash::stable_hash;
        for (k, s) in &self.entries {
            let key = stable_hash(k);
            s.for_each_dot_digest(&mut |d, h| f(d, stable_hash(&(key, h))));
        }
    }

    fn try_for_each_dot(&self, f: &mut dyn FnMut(LocalDot) -> ControlFlow<()>) -> ControlFlow<()> {
        self.entries
            .values()
            .try_for_each(|s| s.try_for_each_dot(f))
    }

    fn remap(&mut self, map: &ActorMap, _: Seal) {
        self.entries.values_mut().for_each(|s| s.remap(map, SEAL));
        self.reindex();
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(LocalDot) -> bool, _: Seal) {
        self.entries.retain(|_, s| {
            s.retain_dots(keep, SEAL);
            !s.is_bottom()
        });
        self.reindex();
    }

    fn join_store(&mut self, ours: &Seen<'_>, mut other: Self, theirs: &Seen<'_>, mode: JoinMode) {
        if mode.scan && self.indexed() && probe(theirs, self.index.len()) {
            // The keys holding dots of ours `theirs` has seen (the only dots the join can drop),
            // grouped by sorting on the key's hash: no map of its own (one less in the module).
            let mut found: Vec<(u64, LocalDot)> = Vec::new();
            let _ = theirs.try_for_each_event(&mut |d| {
                if let Some(k) = self.index.get(&d) {
                    found.push((self.entries.hasher().hash_one(k), d));
                }
                ControlFlow::Continue(())
            });
            crate::platform::sort::sort_unstable(&mut found);
            let mut groups: Vec<(K, Vec<LocalDot>)> = Vec::new();
            // `run`: where the groups of the current hash start.
            let (mut run, mut hash) = (0, None);
            for &(h, d) in &found {
                if hash != Some(h) {
                    (run, hash) = (groups.len(), Some(h));
                }
                let Some(k) = self.index.get(&d) else {
                    continue;
                };
                // Keys of one hash are few: find ours among this run's groups.
                match groups.iter_mut().skip(run).find(|(g, _)| g == k) {
                    Some((_, dots)) => dots.push(d),
                    None => groups.push((k.clone(), vec![d])),
                }
            }
            for (k, lost) in groups {
                let s = other.entries.remove(&k).unwrap_or_default();
                self.join_key(k, s, Some(&lost), ours, theirs, mode);
            }
            for (k, s) in other.entries.drain() {
                self.join_key(k, s, Some(&[]), ours, theirs, mode);
            }
        } else {
            if mode.scan {
                // Keys only we hold lose the dots `other` has seen (and so removed).
                let only_ours: Vec<K> = self
                    .entries
                    .keys()
                    .filter(|k| !other.entries.contains_key(*k))
                    .cloned()
                    .collect();
                for k in only_ours {
                    self.join_key(k, S::default(), None, ours, theirs, mode);
                }
            }
            let lost = if mode.scan { None } else { Some(&[][..]) };
            for (k, s) in other.entries.drain() {
                self.join_key(k, s, lost, ours, theirs, mode);
            }
        }
        self.retune();
    }

    fn validate(&self, ctx: &CausalContext) -> Result<(), InvalidContext> {
        for s in self.entries.values() {
            if s.is_bottom() {
                return Err(InvalidContext::NotCanonical("a map holds an empty entry"));
            }
            s.validate(ctx)?;
        }
        Ok(())
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::{DotMap, DotStore, Hash};
    use crate::causal::dot_store::{SEAL, Seq};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Wire shape: the entries.
    impl<K: Serialize, S: DotStore> Serialize for DotMap<K, S>
    where
        S::Wire: Serialize,
    {
        fn serialize<SER: Serializer>(&self, s: SER) -> Result<SER::Ok, SER::Error> {
            Seq {
                len: self.entries.len(),
                items: || self.entries.iter().map(|(k, v)| (k, v.wire())),
            }
            .serialize(s)
        }
    }

    impl<'de, K: Deserialize<'de> + Hash + Eq + Clone, S: DotStore> Deserialize<'de> for DotMap<K, S>
    where
        S::Wire: Deserialize<'de>,
    {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let pairs: Vec<(K, S::Wire)> = crate::bounded::vec(d)?;
            let mut map = Self::default();
            for (k, w) in pairs {
                map.insert_decoded(k, S::from_wire(w, SEAL))
                    .map_err(serde::de::Error::custom)?;
            }
            Ok(map)
        }
    }

    impl<K: Hash + Eq + Clone, S: DotStore> DotMap<K, S> {
        /// Adds one decoded entry, indexing its dots.
        ///
        /// # Errors
        /// The reason, when `key` is already present or `value` is empty.
        pub(crate) fn insert_decoded(&mut self, key: K, value: S) -> Result<(), &'static str> {
            if self.entries.contains_key(&key) {
                return Err("a map key appears twice");
            }
            if value.is_bottom() {
                return Err("a map holds an empty entry");
            }
            self.insert_new(key, value);
            Ok(())
        }
    }
}
