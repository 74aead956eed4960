//! `OrSet`: the add-wins observed-remove set.

use crate::platform::hash::HashMap;
use core::hash::{BuildHasher, Hash};
use core::ops::ControlFlow;
use hashbrown::HashTable;

use crate::causal::context::Seen;
use crate::causal::dot::{Actor, ActorMap, LocalDot};
use crate::causal::dot_set::join_dots;
use crate::causal::dot_store::{
    DeltaContext, DotStore, INDEXED, JoinMode, Seal, StoreOps, causal_type, probe,
};
use crate::causal::{CausalContext, InvalidContext};
use crate::id::ReplicaId;
use crate::lattice::Delta;

/// An add-wins, observed-remove set (AWORSet), tombstone-free.
///
/// Each element carries the dots of the adds that put it there. `remove` ships only the dots it
/// observed, so an add concurrent with a remove has a dot the remove never saw: **add wins**.
/// Removed elements leave nothing behind but their dots in the causal context, which compacts to
/// one integer per replica.
///
/// Memory: an element with one dot (the common case) costs its own size plus 8 bytes — the dot
/// is packed as a 24-bit replica index and a 40-bit counter into one `u64` — in a slab, plus
/// two 4-byte slot numbers in hash tables (element → slot, dot → slot: the dot index that lets
/// a remove decoded from bytes apply in O(log n)). Elements with concurrent dots, or dots that
/// do not fit, live in a second map.
///
/// # Examples
/// ```
/// use deltacrdt::{Lattice, OrSet, ReplicaId};
/// let a = ReplicaId::from_u128(1);
/// let mut x = OrSet::default();
/// let d = x.insert(a, "milk");
/// let mut y = OrSet::default();
/// y.apply(d);
/// let rm = y.remove(&"milk"); // y removes what it saw...
/// let add = x.insert(a, "milk"); // ...while a adds again, concurrently
/// x.apply(rm);
/// y.apply(add);
/// assert_eq!(x, y);
/// assert!(x.contains(&"milk")); // add wins
/// ```
#[derive(Clone, Debug)]
pub struct OrSet<E> {
    store: Elements<E>,
    ctx: CausalContext,
}

causal_type!(OrSet<E>, Elements<E>, where E: Hash + Eq + Clone + core::fmt::Debug);

impl<E> Default for OrSet<E> {
    fn default() -> Self {
        Self {
            store: Elements::default(),
            ctx: CausalContext::default(),
        }
    }
}

impl<E: Hash + Eq + Clone + core::fmt::Debug> OrSet<E> {
    /// Adds `element` as `replica` (re-adding refreshes its dot). Returns the delta.
    pub fn insert(&mut self, replica: ReplicaId, element: E) -> Delta<Self> {
        let mut delta = DeltaContext::default();
        if let Some(old) = self.store.take(&element) {
            old.for_each(|d| {
                delta.cover(&self.ctx, d);
            });
        }
        let dot = self.ctx.issue(replica);
        let shipped = delta.cover(&self.ctx, dot);
        self.store.set_one(element.clone(), dot);
        let mut store = Elements::default();
        store.set_one(element, shipped);
        Delta::new(Self {
            store,
            ctx: delta.finish(),
        })
    }

    /// Removes `element` if present: the delta names the dots observed, so a concurrent add of the
    /// same element survives. Removing an absent element yields an empty delta.
    pub fn remove(&mut self, element: &E) -> Delta<Self> {
        let mut delta = DeltaContext::default();
        if let Some(old) = self.store.take(element) {
            old.for_each(|d| {
                delta.cover(&self.ctx, d);
            });
        }
        Delta::new(Self {
            store: Elements::default(),
            ctx: delta.finish(),
        })
    }

    /// Removes every element observed so far.
    pub fn clear(&mut self) -> Delta<Self> {
        let mut delta = DeltaContext::default();
        delta.cover_all(&self.ctx, &self.store);
        self.store = Elements::default();
        Delta::new(Self {
            store: Elements::default(),
            ctx: delta.finish(),
        })
    }

    /// Whether the dot index equals one rebuilt from scratch: the invariant the index law
    /// checks.
    #[doc(hidden)]
    #[must_use]
    pub fn index_is_exact(&self) -> bool {
        self.store.index_is_exact()
    }
}

impl<E: Hash + Eq> OrSet<E> {
    /// Whether `element` is in the set.
    #[must_use]
    pub fn contains(&self, element: &E) -> bool {
        self.store.contains(element)
    }

    /// Number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        self.store.slots.len() + self.store.many.len()
    }

    /// Whether the set has no element.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        let one = self.store.slots.iter().map(|(e, _)| e);
        one.chain(self.store.many.keys())
    }
}

/// A dot packed as `actor << 40 | counter` (24-bit replica index, 40-bit counter).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct Packed(u64);

const COUNTER_BITS: u32 = 40;
const COUNTER_MASK: u64 = (1 << COUNTER_BITS) - 1;

impl Packed {
    fn pack(dot: LocalDot) -> Option<Self> {
        (dot.actor.0 < (1 << (64 - COUNTER_BITS)) && dot.counter <= COUNTER_MASK)
            .then(|| Self((u64::from(dot.actor.0) << COUNTER_BITS) | dot.counter))
    }

    fn unpack(self) -> LocalDot {
        // The shift leaves at most 24 bits, so the conversion cannot fail.
        let actor = u32::try_from(self.0 >> COUNTER_BITS).unwrap_or(u32::MAX);
        LocalDot::new(Actor(actor), self.0 & COUNTER_MASK)
    }
}

/// The dots of one element, as handed out by [`Elements::take`].
enum Dots {
    One(LocalDot),
    Many(Vec<LocalDot>),
}

impl Dots {
    fn for_each(self, mut f: impl FnMut(LocalDot)) {
        match self {
            Self::One(d) => f(d),
            Self::Many(ds) => ds.into_iter().for_each(f),
        }
    }

    fn into_vec(self) -> Vec<(LocalDot, ())> {
        match self {
            Self::One(d) => vec![(d, ())],
            Self::Many(ds) => ds.into_iter().map(|d| (d, ())).collect(),
        }
    }
}

/// Up to this many single-dot elements, lookups scan the slab and the two tables stay empty
/// (a delta then costs one allocation, not three).
const LINEAR: usize = 8;

/// The dot store of [`OrSet`]: element ↦ its dots (a `DotMap<E, DotSet>` in the paper's terms),
/// with a dot index (see "the dot index" in the store module).
///
/// Canonical form: an element with exactly one packable dot is a slot of `slots`, any other is
/// in `many` (with its dots sorted, at least one); never both. Single-dot elements — nearly all
/// of them — live in a slab of `(element, packed dot)` indexed twice by 4-byte slot numbers,
/// element → slot and dot → slot, so the dot index costs 5 bytes per bucket instead of a second
/// copy of every element.
#[derive(Debug)]
pub struct Elements<E> {
    /// Single-dot elements, in no order (a removal moves the last slot into the hole).
    slots: Vec<(E, Packed)>,
    /// Element → slot; empty while `slots.len() <= LINEAR`.
    by_element: HashTable<u32>,
    /// Packed dot → slot; empty while `slots.len() <= LINEAR`.
    by_dot: HashTable<u32>,
    /// Elements with several dots, or one that does not pack. Its hasher seeds the two tables.
    many: HashMap<E, Vec<LocalDot>>,
    /// Dot → element, for the dots of `many`.
    many_dots: HashMap<LocalDot, E>,
}

/// Keeps the slab's spare capacity, as the tables (and a `HashMap`) keep theirs: a clone that
/// grows then does not first copy the whole slab into a larger one.
impl<E: Clone> Clone for Elements<E> {
    fn clone(&self) -> Self {
        let mut slots = Vec::with_capacity(self.slots.capacity());
        slots.extend_from_slice(&self.slots);
        Self {
            slots,
            by_element: self.by_element.clone(),
            by_dot: self.by_dot.clone(),
            many: self.many.clone(),
            // Always empty without the index: no clone of it in the module.
            many_dots: if INDEXED {
                self.many_dots.clone()
            } else {
                HashMap::default()
            },
        }
    }
}

impl<E: Hash + Eq> PartialEq for Elements<E> {
    fn eq(&self, other: &Self) -> bool {
        self.slots.len() == other.slots.len()
            && self.many == other.many
            && self
                .slots
                .iter()
                .all(|(e, p)| other.packed_of(e) == Some(*p))
    }
}

impl<E> Default for Elements<E> {
    fn default() -> Self {
        Self {
            slots: Vec::new(),
            by_element: HashTable::new(),
            by_dot: HashTable::new(),
            many: HashMap::default(),
            many_dots: HashMap::default(),
        }
    }
}

/// The slot number `i` as stored in the tables (the slab never grows past `u32::MAX` slots).
fn slot(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// What a table lookup looks for.
enum Want<'a, E> {
    Element(&'a E),
    Dot(Packed),
}

impl<E> Clone for Want<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Want<'_, E> {}

/// Whether a slot number holds what `want` names. One closure type for both tables (and one
/// hash table `find` in the wasm module).
fn matches<'a, E: Eq>(slots: &'a [(E, Packed)], want: Want<'a, E>) -> impl Fn(&u32) -> bool + 'a {
    move |&i| {
        slots.get(i as usize).is_some_and(|(e, p)| match want {
            Want::Element(x) => e == x,
            Want::Dot(d) => *p == d,
        })
    }
}

/// A slot number's hash in the element table or (`dot`) the dot table: one closure type for
/// both tables' growth.
fn rehash<'a, E: Hash>(
    slots: &'a [(E, Packed)],
    hasher: &'a crate::platform::hash::State,
    dot: bool,
) -> impl Fn(&u32) -> u64 + 'a {
    move |&i| {
        slots.get(i as usize).map_or(0, |(e, p)| {
            if dot {
                hasher.hash_one(p.0)
            } else {
                hasher.hash_one(e)
            }
        })
    }
}

impl<E: Hash + Eq> Elements<E> {
    fn hash_element(&self, e: &E) -> u64 {
        self.many.hasher().hash_one(e)
    }

    fn hash_dot(&self, p: Packed) -> u64 {
        self.many.hasher().hash_one(p.0)
    }

    /// The slot `want` names: by the tables, or by a scan while they are not in use.
    fn find(&self, want: Want<'_, E>) -> Option<usize> {
        let hit = matches(&self.slots, want);
        if self.slots.len() <= LINEAR || (!INDEXED && matches!(want, Want::Dot(_))) {
            return (0..slot(self.slots.len()))
                .find(|i| hit(i))
                .map(|i| i as usize);
        }
        let (table, hash) = match want {
            Want::Element(e) => (&self.by_element, self.hash_element(e)),
            Want::Dot(p) => (&self.by_dot, self.hash_dot(p)),
        };
        table.find(hash, hit).map(|&i| i as usize)
    }

    /// The slot of single-dot `element`.
    fn slot_of(&self, element: &E) -> Option<usize> {
        self.find(Want::Element(element))
    }

    /// The slot holding `dot`.
    fn slot_of_dot(&self, dot: Packed) -> Option<usize> {
        self.find(Want::Dot(dot))
    }

    /// The dot of `element` if it is a single-dot element.
    fn packed_of(&self, element: &E) -> Option<Packed> {
        self.slots.get(self.slot_of(element)?).map(|(_, p)| *p)
    }

    /// The element holding `dot`.
    fn element_of(&self, dot: LocalDot) -> Option<&E> {
        if let Some(p) = Packed::pack(dot)
            && let Some((e, _)) = self.slot_of_dot(p).and_then(|i| self.slots.get(i))
        {
            return Some(e);
        }
        if INDEXED {
            return self.many_dots.get(&dot);
        }
        self.many
            .iter()
            .find(|(_, dots)| dots.contains(&dot))
            .map(|(e, _)| e)
    }

    /// Whether `element` is stored.
    fn contains(&self, element: &E) -> bool {
        self.slot_of(element).is_some()
            || (!self.many.is_empty() && self.many.contains_key(element))
    }

    /// Indexes slot `i` in both tables (they are in use).
    fn index_slot(&mut self, i: usize) {
        let Some((e, p)) = self.slots.get(i) else {
            return;
        };
        let (he, hd) = (self.hash_element(e), self.hash_dot(*p));
        let hasher = self.many.hasher();
        let slots = &self.slots;
        self.by_element
            .insert_unique(he, slot(i), rehash(slots, hasher, false));
        if INDEXED {
            self.by_dot
                .insert_unique(hd, slot(i), rehash(slots, hasher, true));
        }
    }

    /// Adds single-dot `element` (absent) with `dot`, in the slab.
    fn push(&mut self, element: E, dot: Packed) {
        self.slots.push((element, dot));
        match self.slots.len() {
            n if n <= LINEAR => {}
            n if n == LINEAR + 1 => (0..n).for_each(|i| self.index_slot(i)),
            n => self.index_slot(n - 1),
        }
    }

    /// Points the tables' entries for slot `from` (which holds what it holds) at `to`, or drops
    /// them if `to` is `None`.
    fn repoint(&mut self, from: usize, to: Option<usize>) {
        let Some((e, p)) = self.slots.get(from) else {
            return;
        };
        let (he, hd) = (self.hash_element(e), self.hash_dot(*p));
        let tables = [(&mut self.by_element, he), (&mut self.by_dot, hd)];
        for (table, hash) in tables.into_iter().take(if INDEXED { 2 } else { 1 }) {
            if let Ok(entry) = table.find_entry(hash, |&j| j as usize == from) {
                match to {
                    Some(to) => *entry.into_mut() = slot(to),
                    None => drop(entry.remove()),
                }
            }
        }
    }

    /// Removes slot `i` and returns it; the last slot moves into its place.
    fn remove_slot(&mut self, i: usize) -> Option<(E, Packed)> {
        let last = self.slots.len().checked_sub(1)?;
        if self.slots.len() == LINEAR + 1 {
            // Back to scanning: the tables go.
            self.by_element = HashTable::new();
            self.by_dot = HashTable::new();
        } else if self.slots.len() > LINEAR {
            self.repoint(i, None);
            if i != last {
                self.repoint(last, Some(i));
            }
        }
        (i <= last).then(|| self.slots.swap_remove(i))
    }

    /// Removes `element` and hands out its dots.
    fn take(&mut self, element: &E) -> Option<Dots> {
        if let Some(i) = self.slot_of(element) {
            return self.remove_slot(i).map(|(_, p)| Dots::One(p.unpack()));
        }
        if self.many.is_empty() {
            return None;
        }
        let dots = self.many.remove(element)?;
        if INDEXED {
            for d in &dots {
                self.many_dots.remove(d);
            }
        }
        Some(Dots::Many(dots))
    }

    /// Stores `element` (absent) with the single `dot`.
    fn set_one(&mut self, element: E, dot: LocalDot)
    where
        E: Clone,
    {
        match Packed::pack(dot) {
            Some(p) if self.slots.len() < u32::MAX as usize => self.push(element, p),
            _ => self.set_many(element, vec![dot]),
        }
    }

    /// Stores `element` (absent) with `dots` (sorted, not empty) in `many`.
    fn set_many(&mut self, element: E, dots: Vec<LocalDot>)
    where
        E: Clone,
    {
        if INDEXED {
            for &d in &dots {
                self.many_dots.insert(d, element.clone());
            }
        }
        self.many.insert(element, dots);
    }

    /// Stores `dots` (sorted) for `element` (absent) in canonical form; nothing if empty.
    fn set(&mut self, element: E, dots: Vec<(LocalDot, ())>)
    where
        E: Clone,
    {
        match dots.as_slice() {
            [] => {}
            [(d, ())] if Packed::pack(*d).is_some() => self.set_one(element, *d),
            _ => self.set_many(element, dots.into_iter().map(|(d, ())| d).collect()),
        }
    }

    /// Drops the dots of `element` that `drop` selects (the element goes if none is left).
    fn drop_dots(&mut self, element: &E, drop: &mut dyn FnMut(LocalDot) -> bool)
    where
        E: Clone,
    {
        if let Some(i) = self.slot_of(element) {
            if self.slots.get(i).is_some_and(|(_, p)| drop(p.unpack())) {
                self.remove_slot(i);
            }
        } else if self
            .many
            .get(element)
            .is_some_and(|dots| dots.iter().any(|d| drop(*d)))
            && let Some((e, dots)) = self.many.remove_entry(element)
        {
            // `drop` was true for some dot; it is asked once more per dot (it is a pure test).
            let mut kept = Vec::with_capacity(dots.len());
            for d in dots {
                if INDEXED {
                    self.many_dots.remove(&d);
                }
                if !drop(d) {
                    kept.push((d, ()));
                }
            }
            self.set(e, kept);
        }
    }
}

impl<E: Hash + Eq + Clone + core::fmt::Debug> DotStore for Elements<E> {}

impl<E: Hash + Eq + Clone + core::fmt::Debug> crate::causal::dot_store::StoreOps for Elements<E> {
    crate::causal::dot_store::wire_is_self!();

    fn is_bottom(&self) -> bool {
        self.slots.is_empty() && self.many.is_empty()
    }

    fn holds(&self, dot: LocalDot) -> bool {
        self.element_of(dot).is_some()
    }

    fn dot_count(&self) -> usize {
        if INDEXED {
            self.slots.len() + self.many_dots.len()
        } else {
            self.slots.len() + self.many.values().map(Vec::len).sum::<usize>()
        }
    }

    fn restrict(&self, events: &CausalContext, _: Seal) -> Self {
        let mut found: HashMap<E, Vec<LocalDot>> = HashMap::default();
        if events.event_count() <= u64::try_from(self.dot_count()).unwrap_or(u64::MAX) {
            let _ = events.try_for_each_event(&mut |d| {
                if let Some(e) = self.element_of(d) {
                    found.entry(e.clone()).or_default().push(d);
                }
                ControlFlow::Continue(())
            });
        } else {
            let dots = self.slots.iter().map(|(e, p)| (e, p.unpack()));
            let many = self
                .many
                .iter()
                .flat_map(|(e, ds)| ds.iter().map(move |d| (e, *d)));
            for (e, d) in dots.chain(many).filter(|(_, d)| events.contains_local(*d)) {
                found.entry(e.clone()).or_default().push(d);
            }
        }
        let mut out = Self::default();
        for (e, mut dots) in found {
            crate::platform::sort::sort_unstable(&mut dots);
            out.set(e, dots.into_iter().map(|d| (d, ())).collect());
        }
        out
    }

    fn index_is_exact(&self) -> bool {
        let tables = if self.slots.len() <= LINEAR {
            self.by_element.is_empty() && self.by_dot.is_empty()
        } else {
            self.by_element.len() == self.slots.len()
                && self.by_dot.len() == if INDEXED { self.slots.len() } else { 0 }
        };
        let mut rebuilt = HashMap::default();
        let mut unique = true;
        for (e, dots) in &self.many {
            unique &= !dots.is_empty() && self.slot_of(e).is_none();
            for d in dots {
                unique &= rebuilt.insert(*d, e.clone()).is_none();
            }
        }
        let slots_unique = self
            .slots
            .iter()
            .enumerate()
            .all(|(i, (e, p))| self.slot_of(e) == Some(i) && self.slot_of_dot(*p) == Some(i));
        if !INDEXED {
            rebuilt.clear();
        }
        tables && unique && slots_unique && rebuilt == self.many_dots
    }

    #[cfg(feature = "reconcile")]
    fn for_each_dot_digest(&self, f: &mut dyn FnMut(LocalDot, u64)) {
        use crate::platform::hash::stable_hash;
        for (e, p) in &self.slots {
            f(p.unpack(), stable_hash(e));
        }
        for (e, dots) in &self.many {
            let h = stable_hash(e);
            dots.iter().for_each(|d| f(*d, h));
        }
    }

    fn try_for_each_dot(&self, f: &mut dyn FnMut(LocalDot) -> ControlFlow<()>) -> ControlFlow<()> {
        self.slots.iter().try_for_each(|(_, p)| f(p.unpack()))?;
        self.many.values().flatten().try_for_each(|d| f(*d))
    }

    fn remap(&mut self, map: &ActorMap, _: Seal) {
        let old = core::mem::take(self);
        for (e, p) in old.slots {
            self.set_one(e, p.unpack().remapped(map));
        }
        for (e, mut dots) in old.many {
            dots.iter_mut().for_each(|d| *d = d.remapped(map));
            crate::platform::sort::sort_unstable(&mut dots);
            self.set(e, dots.into_iter().map(|d| (d, ())).collect());
        }
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(LocalDot) -> bool, _: Seal) {
        // Highest slot first: a removal moves the last slot, which is then already visited.
        for i in (0..self.slots.len()).rev() {
            if self.slots.get(i).is_some_and(|(_, p)| !keep(p.unpack())) {
                self.remove_slot(i);
            }
        }
        let changed: Vec<E> = self
            .many
            .iter()
            .filter(|(_, dots)| dots.iter().any(|d| !keep(*d)))
            .map(|(e, _)| e.clone())
            .collect();
        for e in changed {
            self.drop_dots(&e, &mut |d| !keep(d));
        }
    }

    fn join_store(&mut self, ours: &Seen<'_>, other: Self, theirs: &Seen<'_>, mode: JoinMode) {
        if mode.scan {
            // Elements only we hold lose the dots `other` has seen (and so removed): found by
            // probing the index with `theirs`' events when they are fewer than our dots.
            if probe(theirs, self.dot_count()) {
                let mut hit = Vec::new();
                let _ = theirs.try_for_each_event(&mut |d| {
                    if let Some(e) = self.element_of(d)
                        && !other.contains(e)
                    {
                        hit.push(e.clone());
                    }
                    ControlFlow::Continue(())
                });
                for e in hit {
                    self.drop_dots(&e, &mut |d| theirs.removes(d));
                }
            } else {
                // The context test comes first: it rules out most elements without hashing them.
                for i in (0..self.slots.len()).rev() {
                    if let Some((e, p)) = self.slots.get(i)
                        && theirs.contains(p.unpack())
                        && !other.contains(e)
                    {
                        theirs.note_removed(p.unpack());
                        self.remove_slot(i);
                    }
                }
                let hit: Vec<E> = self
                    .many
                    .iter()
                    .filter(|(e, dots)| {
                        dots.iter().any(|d| theirs.contains(*d)) && !other.contains(e)
                    })
                    .map(|(e, _)| e.clone())
                    .collect();
                for e in hit {
                    self.drop_dots(&e, &mut |d| theirs.removes(d));
                }
            }
        }
        for (e, p) in other.slots {
            let d = p.unpack();
            match self.packed_of(&e) {
                // The common cases, without allocating: same dot, or no dot of ours.
                Some(mine) if mine == p => {}
                None if self.many.is_empty() || !self.many.contains_key(&e) => {
                    if !ours.contains(d) {
                        self.set_one(e, d);
                    }
                }
                _ => {
                    let mine = self.take(&e).map(Dots::into_vec).unwrap_or_default();
                    let joined = join_dots(mine, ours, vec![(d, ())], theirs);
                    self.set(e, joined);
                }
            }
        }
        for (e, dots) in other.many {
            let mine = self.take(&e).map(Dots::into_vec).unwrap_or_default();
            let joined = join_dots(
                mine,
                ours,
                dots.into_iter().map(|d| (d, ())).collect(),
                theirs,
            );
            self.set(e, joined);
        }
    }

    fn validate(&self, ctx: &CausalContext) -> Result<(), InvalidContext> {
        for (e, dots) in &self.many {
            if self.slot_of(e).is_some() {
                return Err(InvalidContext::NotCanonical("an element is stored twice"));
            }
            let canonical = match dots.as_slice() {
                [] => false,
                [d] => Packed::pack(*d).is_none(),
                _ => dots.windows(2).all(|w| matches!(w, [a, b] if a < b)),
            };
            if !canonical {
                return Err(InvalidContext::NotCanonical("element dots not canonical"));
            }
        }
        let mut result = Ok(());
        self.for_each_dot(&mut |d| {
            if result.is_ok() {
                result = ctx.check_dot(d);
            }
        });
        result
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::{Elements, Hash, LocalDot, Packed};
    use crate::causal::dot_store::Seq;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Wire shape: single-dot elements first (no per-element length), then the rest.
    #[derive(Deserialize)]
    #[serde(bound(deserialize = "E: Deserialize<'de>"))]
    struct Shape<E> {
        #[serde(deserialize_with = "crate::bounded::vec")]
        one: Vec<(E, LocalDot)>,
        #[serde(deserialize_with = "crate::bounded::vec")]
        many: Vec<(E, Dots)>,
    }

    /// One element's dots.
    #[derive(Deserialize)]
    #[serde(transparent)]
    struct Dots(#[serde(deserialize_with = "crate::bounded::vec")] Vec<LocalDot>);

    impl<E: Serialize> Serialize for Elements<E> {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let mut shape = s.serialize_struct("Shape", 2)?;
            let one = Seq {
                len: self.slots.len(),
                items: || self.slots.iter().map(|(e, p)| (e, p.unpack())),
            };
            shape.serialize_field("one", &one)?;
            let many = Seq {
                len: self.many.len(),
                items: || self.many.iter(),
            };
            shape.serialize_field("many", &many)?;
            shape.end()
        }
    }

    impl<'de, E: Deserialize<'de> + Hash + Eq + Clone> Deserialize<'de> for Elements<E> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            use serde::de::Error;
            let shape = Shape::<E>::deserialize(d)?;
            let mut store = Self::default();
            let twice = || Error::custom("an element is stored twice");
            for (e, dot) in shape.one {
                if Packed::pack(dot).is_none() {
                    return Err(Error::custom("unpackable dot in the single-dot list"));
                }
                if store.slot_of(&e).is_some() {
                    return Err(twice());
                }
                store.set_one(e, dot);
            }
            for (e, dots) in shape.many {
                if store.many.contains_key(&e) {
                    return Err(twice());
                }
                store.set_many(e, dots.0);
            }
            Ok(store)
        }
    }
}
