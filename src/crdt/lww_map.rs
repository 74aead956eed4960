//! `LwwMap`: a map of last-writer-wins registers, typed.
//!
//! Why not `OrMap<K, LwwRegister<V>>`: an observed-remove map forgets a removed key by its dots,
//! so its values must be causal types; a stamp-ordered register has no dots. A map whose every
//! entry is ordered by [`Stamp`] needs none either: each key keeps its greatest-stamped write,
//! and a remove is a write of "absent" (a tombstone), so a remove and a concurrent write to one
//! key are ordered by their stamps like two writes. The join is per-key max — commutative,
//! associative, idempotent — and costs one hash lookup per incoming key, with no causal context
//! to merge: the cheapest replicated map there is, for data where "the latest write wins" is
//! the rule (settings, profiles, caches, key-value state).
//!
//! What it costs instead: a removed key stays as a tombstone (its key and stamp) for ever,
//! because a replica that has not seen the remove may still ship the older write. Where keys
//! come and go in large numbers, [`OrMap`](crate::OrMap) of [`MvRegister`](crate::MvRegister)s
//! forgets removed keys entirely.

use core::hash::Hash;

use crate::clock::Stamp;
use crate::lattice::{Delta, Lattice};
use smallvec::SmallVec;

use crate::platform::hash::{HashMap, State};

/// A map of last-writer-wins registers: each key holds the value of its greatest-[`Stamp`]ed
/// write, and a remove is a write too (of a tombstone), so the latest of a write and a remove
/// wins whichever arrives first.
///
/// Stamps order by hybrid logical time, then by replica id; take them from the writing replica's
/// [`Hlc`](crate::Hlc), which never issues one twice (as for [`LwwRegister`](crate::LwwRegister)).
/// A write whose stamp is not greater than the key's current one changes nothing and ships an
/// empty delta.
///
/// Memory: an entry costs its key and value, a 24-byte stamp, an `Option` tag and one control
/// byte of the hash table (up to 8 entries, as in every delta, live in a short vector instead:
/// a one-write delta allocates nothing of its own). Removed keys keep their key and stamp (a tombstone) so that an older
/// write arriving later cannot bring them back; [`tombstones`](Self::tombstones) counts them.
///
/// Sync: the map has no dots, so a peer with no acknowledgement from us gets the whole state
/// (see [`Reconcile`](crate::Reconcile)); deltas are one entry per write, and a remove costs
/// the key and a stamp.
///
/// # Examples
/// ```
/// use deltacrdt::{ClockError, Hlc, Lattice, LwwMap, ReplicaId};
/// let frozen = || 1_700_000_000_000u64;
/// let mut clock_a = Hlc::builder(ReplicaId::from_u128(1)).clock(frozen).build()?;
/// let mut clock_b = Hlc::builder(ReplicaId::from_u128(2)).clock(frozen).build()?;
/// let mut a = LwwMap::default();
/// let mut b = LwwMap::default();
/// let d1 = a.insert("theme", "dark", clock_a.now()?);
/// b.apply(d1);
/// let d2 = b.insert("theme", "light", clock_b.now()?); // b saw a's write: b's is later
/// let d3 = a.remove(&"theme", clock_a.now()?); // but a removes later still
/// a.apply(d2);
/// b.apply(d3);
/// assert_eq!(a, b);
/// assert_eq!(a.get(&"theme"), None);
/// assert_eq!((a.len(), a.tombstones()), (0, 1));
/// # Ok::<(), ClockError>(())
/// ```
#[derive(Clone, Debug)]
pub struct LwwMap<K, V> {
    entries: Entries<K, V>,
    /// How many entries hold a value (the rest are tombstones).
    live: usize,
}

/// Up to this many entries live in a vector searched linearly, not in a hash table: every
/// delta (one entry) is built, shipped and joined without a table's allocation.
const INLINE: usize = 8;

/// The entries: a short vector (one entry inline) or, past [`INLINE`] entries, a hash table.
#[derive(Clone, Debug)]
enum Entries<K, V> {
    Few(SmallVec<[(K, Slot<V>); 1]>),
    Many(HashMap<K, Slot<V>>),
}

/// One key's winning write: a value, or `None` for a remove.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Slot<V> {
    stamp: Stamp,
    value: Option<V>,
}

impl<K, V> Default for LwwMap<K, V> {
    fn default() -> Self {
        Self {
            entries: Entries::Few(SmallVec::new()),
            live: 0,
        }
    }
}

impl<K, V> Entries<K, V> {
    fn len(&self) -> usize {
        match self {
            Self::Few(few) => few.len(),
            Self::Many(many) => many.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn iter(&self) -> impl Iterator<Item = (&K, &Slot<V>)> {
        let (few, many) = match self {
            Self::Few(few) => (Some(few.iter().map(|(k, s)| (k, s))), None),
            Self::Many(many) => (None, Some(many.iter())),
        };
        few.into_iter().flatten().chain(many.into_iter().flatten())
    }
}

impl<K: Hash + Eq, V> Entries<K, V> {
    fn get(&self, key: &K) -> Option<&Slot<V>> {
        match self {
            Self::Few(few) => few.iter().find(|(k, _)| k == key).map(|(_, s)| s),
            Self::Many(many) => many.get(key),
        }
    }

    fn get_mut(&mut self, key: &K) -> Option<&mut Slot<V>> {
        match self {
            Self::Few(few) => few.iter_mut().find(|(k, _)| k == key).map(|(_, s)| s),
            Self::Many(many) => many.get_mut(key),
        }
    }

    /// Inserts `key`, which must not be present.
    fn vacant(&mut self, key: K, slot: Slot<V>) {
        match self {
            Self::Few(few) if few.len() < INLINE => few.push((key, slot)),
            Self::Few(few) => {
                let mut many = HashMap::with_capacity_and_hasher(2 * INLINE, State::default());
                many.extend(few.drain(..));
                many.insert(key, slot);
                *self = Self::Many(many);
            }
            Self::Many(many) => {
                many.insert(key, slot);
            }
        }
    }

    fn reserve(&mut self, more: usize) {
        if let Self::Many(many) = self {
            many.reserve(more);
        }
    }
}

impl<K, V> IntoIterator for Entries<K, V> {
    type Item = (K, Slot<V>);
    type IntoIter = core::iter::Chain<
        core::iter::Flatten<core::option::IntoIter<smallvec::IntoIter<[(K, Slot<V>); 1]>>>,
        core::iter::Flatten<core::option::IntoIter<hashbrown::hash_map::IntoIter<K, Slot<V>>>>,
    >;

    fn into_iter(self) -> Self::IntoIter {
        let (few, many) = match self {
            Self::Few(few) => (Some(few.into_iter()), None),
            Self::Many(many) => (None, Some(many.into_iter())),
        };
        few.into_iter().flatten().chain(many.into_iter().flatten())
    }
}

impl<K: Hash + Eq, V: PartialEq> PartialEq for LwwMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        // `live` follows from the entries; keys are distinct, so equal lengths and every entry
        // found in the other make the same set.
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .all(|(k, slot)| other.entries.get(k) == Some(slot))
    }
}

impl<K: Hash + Eq, V: Eq> Eq for LwwMap<K, V> {}

impl<K: Hash + Eq + Clone, V: Clone + PartialEq> LwwMap<K, V> {
    /// Writes `value` under `key` at `stamp`. Returns the delta: this one write, or the empty map
    /// if `stamp` is not greater than the key's current stamp (the write loses; nothing changes).
    pub fn insert(&mut self, key: K, value: V, stamp: Stamp) -> Delta<Self> {
        self.write(key, Some(value), stamp)
    }

    /// Removes `key` at `stamp`, leaving a tombstone: a write to `key` stamped earlier, arriving
    /// later, stays removed; one stamped later brings the key back. Returns the delta (the key
    /// and the stamp). Removing a key that holds no value here, or one whose value is stamped
    /// at or after `stamp`, changes nothing and ships the empty map: like an observed remove, it
    /// removes only what this replica saw.
    pub fn remove(&mut self, key: &K, stamp: Stamp) -> Delta<Self> {
        let seen = self
            .entries
            .get(key)
            .is_some_and(|slot| slot.value.is_some());
        if !seen {
            return Delta::new(Self::default());
        }
        self.write(key.clone(), None, stamp)
    }

    fn write(&mut self, key: K, value: Option<V>, stamp: Stamp) -> Delta<Self> {
        let slot = Slot { stamp, value };
        if !self.put(key.clone(), slot.clone()) {
            return Delta::new(Self::default());
        }
        let mut delta = Self::default();
        delta.put(key, slot);
        Delta::new(delta)
    }

    /// Keeps `slot` under `key` if it is stamped later than what `key` holds (or `key` is new).
    /// Whether it did.
    fn put(&mut self, key: K, slot: Slot<V>) -> bool {
        let adds = usize::from(slot.value.is_some());
        match self.entries.get_mut(&key) {
            None => {
                self.entries.vacant(key, slot);
                self.live += adds;
                true
            }
            Some(mine) => {
                if slot.stamp <= mine.stamp {
                    return false;
                }
                self.live = self.live - usize::from(mine.value.is_some()) + adds;
                *mine = slot;
                true
            }
        }
    }
}

impl<K: Hash + Eq, V> LwwMap<K, V> {
    /// The value under `key`, or `None` if it was never written or its latest write is a remove.
    #[must_use]
    pub fn get(&self, key: &K) -> Option<&V> {
        self.entries.get(key)?.value.as_ref()
    }

    /// Whether `key` holds a value.
    #[must_use]
    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// The stamp of `key`'s latest write or remove, or `None` if the map never heard of `key`.
    #[must_use]
    pub fn stamp(&self, key: &K) -> Option<Stamp> {
        self.entries.get(key).map(|slot| slot.stamp)
    }
}

impl<K, V> LwwMap<K, V> {
    /// How many keys hold a value.
    #[must_use]
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether no key holds a value (tombstones may remain: see [`tombstones`](Self::tombstones)).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// How many removed keys the map keeps as tombstones.
    #[must_use]
    pub fn tombstones(&self) -> usize {
        self.entries.len() - self.live
    }

    /// The keys that hold a value, with their values, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries
            .iter()
            .filter_map(|(k, slot)| Some((k, slot.value.as_ref()?)))
    }

    /// The keys that hold a value, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.iter().map(|(k, _)| k)
    }
}

impl<K: Hash + Eq + Clone, V: Clone + PartialEq> Lattice for LwwMap<K, V> {
    const TYPE_NAME: Option<&'static str> = Some("LwwMap");

    /// Per key, the write with the greater stamp.
    fn join(&mut self, mut other: Self) {
        // Insert the smaller map into the larger, so a one-entry delta costs one lookup.
        if other.entries.len() > self.entries.len() {
            core::mem::swap(self, &mut other);
        }
        self.entries.reserve(other.entries.len());
        for (key, slot) in other.entries {
            self.put(key, slot);
        }
    }

    /// The entries of `incoming` stamped later than ours, or new to us.
    fn novelty(&self, incoming: &Self) -> Option<Self> {
        let mut out = Self::default();
        for (key, slot) in incoming.entries.iter() {
            if self
                .entries
                .get(key)
                .is_none_or(|mine| slot.stamp > mine.stamp)
            {
                out.put(key.clone(), slot.clone());
            }
        }
        (!out.entries.is_empty()).then_some(out)
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    //! A sequence of `(key, stamp, value or none)` triples, in no particular order; decoding
    //! refuses a key that appears twice (one state has one encoding per order of its entries).
    use core::fmt;
    use core::hash::Hash;
    use core::marker::PhantomData;

    use serde::de::{self, Deserialize, Deserializer, SeqAccess, Visitor};
    use serde::ser::{Serialize, SerializeSeq, Serializer};

    use super::{LwwMap, Slot};
    use crate::clock::Stamp;

    impl<K: Serialize, V: Serialize> Serialize for LwwMap<K, V> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            let mut seq = s.serialize_seq(Some(self.entries.len()))?;
            for (k, slot) in self.entries.iter() {
                seq.serialize_element(&(k, slot.stamp, &slot.value))?;
            }
            seq.end()
        }
    }

    struct Entries<K, V>(PhantomData<(K, V)>);

    impl<'de, K, V> Visitor<'de> for Entries<K, V>
    where
        K: Deserialize<'de> + Hash + Eq,
        V: Deserialize<'de>,
    {
        type Value = LwwMap<K, V>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a sequence of (key, stamp, value) entries")
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut map = LwwMap::default();
            while let Some((key, stamp, value)) = seq.next_element::<(K, Stamp, Option<V>)>()? {
                if map.entries.get(&key).is_some() {
                    return Err(de::Error::custom("a key appears twice in an LwwMap"));
                }
                map.live += usize::from(value.is_some());
                map.entries.vacant(key, Slot { stamp, value });
            }
            Ok(map)
        }
    }

    impl<'de, K, V> Deserialize<'de> for LwwMap<K, V>
    where
        K: Deserialize<'de> + Hash + Eq,
        V: Deserialize<'de>,
    {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            d.deserialize_seq(Entries(PhantomData))
        }
    }
}

/// Clock skew (`sync/skew.rs`): entries stamped beyond the drift bound are held back, the
/// others stay.
#[cfg(feature = "reconcile")]
impl<K: Hash + Eq + Clone, V: Clone + PartialEq> LwwMap<K, V> {
    pub(crate) fn hold_beyond(
        &mut self,
        bound: crate::clock::Timestamp,
    ) -> crate::causal::reconcile::Split<Self> {
        let mut split = crate::causal::reconcile::Split::new();
        if !self.entries.iter().any(|(_, slot)| slot.stamp.time > bound) {
            for (_, slot) in self.entries.iter() {
                split.note(slot.stamp, bound);
            }
            return split;
        }
        let mut held = Self::default();
        for (key, slot) in core::mem::take(self).entries {
            if split.note(slot.stamp, bound) {
                held.put(key, slot);
            } else {
                self.put(key, slot);
            }
        }
        split.held = held;
        split
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::lww_register::tests::stamp;

    #[test]
    fn a_losing_write_or_remove_ships_nothing() {
        let mut m = LwwMap::default();
        let _ = m.insert(1, "a", stamp(5, 2));
        let before = m.clone();
        for s in [stamp(5, 2), stamp(5, 1), stamp(4, 9)] {
            assert!(m.insert(1, "b", s).is_bottom());
            assert!(m.remove(&1, s).is_bottom());
        }
        assert!(m.remove(&2, stamp(9, 9)).is_bottom(), "never seen");
        assert_eq!(m, before);
    }

    #[test]
    fn a_remove_is_a_tombstone_an_older_write_cannot_undo() {
        let mut m = LwwMap::default();
        let _ = m.insert(1, "a", stamp(1, 1));
        let rm = m.remove(&1, stamp(3, 1));
        assert_eq!((m.len(), m.tombstones(), m.get(&1)), (0, 1, None));
        let mut late = LwwMap::default();
        let _ = late.insert(1, "old", stamp(2, 2));
        m.join(late.clone());
        assert_eq!(m.get(&1), None, "the older write came back");
        late.apply(rm);
        assert_eq!(late, m);
        let _ = m.insert(1, "new", stamp(4, 2));
        assert_eq!((m.len(), m.tombstones(), m.get(&1)), (1, 0, Some(&"new")));
    }

    #[test]
    fn join_counts_live_entries_whichever_side_is_larger() {
        let mut small = LwwMap::default();
        let _ = small.insert(1, 10, stamp(9, 1));
        let mut big = LwwMap::default();
        for k in 0..4 {
            let _ = big.insert(k, k, stamp(2, 1));
        }
        let _ = big.remove(&3, stamp(3, 1));
        for joined in [small.clone().joined(big.clone()), big.joined(small)] {
            assert_eq!((joined.len(), joined.tombstones()), (3, 1));
            assert_eq!(joined.get(&1), Some(&10));
        }
    }
}
