//! `OrSet`: the add-wins observed-remove set.

use core::hash::Hash;
use core::ops::ControlFlow;
use foldhash::HashMap;

use crate::causal::context::Seen;
use crate::causal::dot::{Actor, ActorMap, LocalDot};
use crate::causal::dot_set::join_dots;
use crate::causal::dot_store::{
    DeltaContext, DotStore, JoinMode, SEAL, Seal, StoreOps, causal_type,
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
/// is packed as a 24-bit replica index and a 40-bit counter into one `u64`. Elements with
/// concurrent dots, or dots that do not fit, live in a second map.
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
        self.store.normalize(SEAL);
        let mut delta = DeltaContext::default();
        if let Some(old) = self.store.remove(&element) {
            old.for_each(|d| {
                delta.cover(&self.ctx, d);
            });
        }
        let dot = self.ctx.issue(replica);
        let shipped = delta.cover(&self.ctx, dot);
        self.store.set_one(element.clone(), dot);
        // Keyed: the replaced dots belong to `element`, which the delta lists.
        let mut store = Elements::keyed();
        store.set_one(element, shipped);
        Delta::new(Self {
            store,
            ctx: delta.finish(),
        })
    }

    /// Removes `element` if present: the delta names the dots observed, so a concurrent add of the
    /// same element survives. Removing an absent element yields an empty delta.
    pub fn remove(&mut self, element: &E) -> Delta<Self> {
        self.store.normalize(SEAL);
        let mut delta = DeltaContext::default();
        let mut store = Elements::default();
        if let Some(old) = self.store.remove(element) {
            old.for_each(|d| {
                delta.cover(&self.ctx, d);
            });
            // Keyed: a hint names the element, so applying the delta visits only it.
            store = Elements::keyed();
            store.many.insert(element.clone(), Vec::new());
        }
        Delta::new(Self {
            store,
            ctx: delta.finish(),
        })
    }

    /// Removes every element observed so far.
    pub fn clear(&mut self) -> Delta<Self> {
        self.store.normalize(SEAL);
        let mut delta = DeltaContext::default();
        delta.cover_all(&self.ctx, &self.store);
        self.store = Elements::default();
        Delta::new(Self {
            store: Elements::default(),
            ctx: delta.finish(),
        })
    }
}

impl<E: Hash + Eq> OrSet<E> {
    /// Whether `element` is in the set.
    #[must_use]
    pub fn contains(&self, element: &E) -> bool {
        self.store.one.contains_key(element)
            || self.store.many.get(element).is_some_and(|d| !d.is_empty())
    }

    /// Number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        let hints = if self.store.keyed {
            self.store.many.values().filter(|d| d.is_empty()).count()
        } else {
            0
        };
        self.store.one.len() + self.store.many.len() - hints
    }

    /// Whether the set has no element.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The elements, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        let many = self.store.many.iter().filter(|(_, d)| !d.is_empty());
        self.store.one.keys().chain(many.map(|(e, _)| e))
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

/// The dots of one element, as handed out by [`Elements::remove`].
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

/// The dot store of [`OrSet`]: element ↦ its dots (a `DotMap<E, DotSet>` in the paper's terms).
///
/// Canonical form: an element with exactly one packable dot is in `one`, any other in `many`
/// (with its dots sorted); never in both. An empty `many` entry is a hint of a keyed delta (see
/// "keyed deltas" in the store module) and exists only when `keyed`.
#[derive(Clone, Debug)]
pub struct Elements<E> {
    one: HashMap<E, Packed>,
    many: HashMap<E, Vec<LocalDot>>,
    /// Every dot the context covers but no entry holds belongs to a listed element.
    keyed: bool,
}

impl<E: Hash + Eq> PartialEq for Elements<E> {
    fn eq(&self, other: &Self) -> bool {
        self.one == other.one && self.many == other.many
    }
}

impl<E> Default for Elements<E> {
    fn default() -> Self {
        Self {
            one: HashMap::default(),
            many: HashMap::default(),
            keyed: false,
        }
    }
}

impl<E> Elements<E> {
    /// An empty store for a keyed delta.
    fn keyed() -> Self {
        Self {
            keyed: true,
            ..Self::default()
        }
    }
}

impl<E: Hash + Eq> Elements<E> {
    fn remove(&mut self, element: &E) -> Option<Dots> {
        if let Some(p) = self.one.remove(element) {
            return Some(Dots::One(p.unpack()));
        }
        self.many.remove(element).map(Dots::Many)
    }

    fn set_one(&mut self, element: E, dot: LocalDot) {
        match Packed::pack(dot) {
            Some(p) => {
                self.one.insert(element, p);
            }
            None => {
                self.many.insert(element, vec![dot]);
            }
        }
    }

    /// Moves `elements` of `many` that were left with fewer than two dots to their canonical place.
    fn settle(&mut self, elements: Vec<E>) {
        for e in elements {
            let dots = self.remove(&e).map(Dots::into_vec).unwrap_or_default();
            self.set(e, dots);
        }
    }

    /// Stores `dots` (sorted) for `element` in canonical form; if empty, a hint when keyed.
    fn set(&mut self, element: E, dots: Vec<(LocalDot, ())>) {
        match dots.as_slice() {
            [] if self.keyed => {
                self.many.insert(element, Vec::new());
            }
            [] => {}
            [(d, ())] if Packed::pack(*d).is_some() => self.set_one(element, *d),
            _ => {
                self.many
                    .insert(element, dots.into_iter().map(|(d, ())| d).collect());
            }
        }
    }
}

impl<E: Hash + Eq + Clone + core::fmt::Debug> DotStore for Elements<E> {}

impl<E: Hash + Eq + Clone + core::fmt::Debug> crate::causal::dot_store::StoreOps for Elements<E> {
    crate::causal::dot_store::wire_is_self!();

    fn is_bottom(&self) -> bool {
        self.one.is_empty() && self.many.is_empty()
    }

    fn try_for_each_dot(&self, f: &mut dyn FnMut(LocalDot) -> ControlFlow<()>) -> ControlFlow<()> {
        self.one.values().try_for_each(|p| f(p.unpack()))?;
        self.many.values().flatten().try_for_each(|d| f(*d))
    }

    fn remap(&mut self, map: &ActorMap, _: Seal) {
        let mut moved = Vec::new();
        self.one
            .retain(|e, p| match Packed::pack(p.unpack().remapped(map)) {
                Some(q) => {
                    *p = q;
                    true
                }
                None => {
                    moved.push((e.clone(), p.unpack().remapped(map)));
                    false
                }
            });
        for (e, d) in moved {
            self.many.insert(e, vec![d]);
        }
        for dots in self.many.values_mut() {
            dots.iter_mut().for_each(|d| *d = d.remapped(map));
            crate::platform::sort::sort_unstable(dots);
        }
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(LocalDot) -> bool, _: Seal) {
        self.normalize(SEAL);
        self.one.retain(|_, p| keep(p.unpack()));
        // An element of `many` left with fewer than two dots moves to its canonical place.
        let mut shrunk = Vec::new();
        for (e, dots) in &mut self.many {
            dots.retain(|d| keep(*d));
            if dots.len() < 2 {
                shrunk.push(e.clone());
            }
        }
        self.settle(shrunk);
    }

    fn join_store(&mut self, ours: &Seen<'_>, other: Self, theirs: &Seen<'_>, mode: JoinMode) {
        if !(mode.hints && self.keyed && other.keyed) {
            // The result is not keyed: it carries no hints (`set` then drops empty elements).
            self.normalize(SEAL);
        }
        if mode.scan && !other.keyed {
            // Elements only we hold lose the dots `other` has seen (and so removed). The context
            // test comes first: it rules out most elements without hashing them.
            self.one.retain(|e, p| {
                let kept = !theirs.contains(p.unpack())
                    || other.one.contains_key(e)
                    || other.many.contains_key(e);
                if !kept {
                    theirs.note_removed(p.unpack());
                }
                kept
            });
            // An element of `many` left with fewer than two dots moves to its canonical place.
            let mut shrunk = Vec::new();
            for (e, dots) in &mut self.many {
                if !other.one.contains_key(e) && !other.many.contains_key(e) {
                    dots.retain(|d| !theirs.removes(*d));
                    if dots.len() < 2 {
                        shrunk.push(e.clone());
                    }
                }
            }
            self.settle(shrunk);
        }
        for (e, p) in other.one {
            let d = p.unpack();
            match self.one.get(&e).copied() {
                // The common cases, without allocating: same dot, or no dot of ours.
                Some(mine) if mine == p => {}
                None if !self.many.contains_key(&e) => {
                    if !ours.contains(d) {
                        self.one.insert(e, p);
                    } else if self.keyed {
                        self.many.insert(e, Vec::new());
                    }
                }
                _ => {
                    let mine = self.remove(&e).map(Dots::into_vec).unwrap_or_default();
                    let joined = join_dots(mine, ours, vec![(d, ())], theirs);
                    self.set(e, joined);
                }
            }
        }
        for (e, dots) in other.many {
            let mine = self.remove(&e).map(Dots::into_vec).unwrap_or_default();
            let joined = join_dots(
                mine,
                ours,
                dots.into_iter().map(|d| (d, ())).collect(),
                theirs,
            );
            self.set(e, joined);
        }
    }

    fn normalize(&mut self, _: Seal) {
        if self.keyed {
            self.many.retain(|_, dots| !dots.is_empty());
            self.keyed = false;
        }
    }

    fn mark_keyed(&mut self, keyed: bool, _: Seal) {
        self.keyed = keyed;
    }

    fn validate(&self, ctx: &CausalContext) -> Result<(), InvalidContext> {
        for (e, dots) in &self.many {
            if self.one.contains_key(e) {
                return Err(InvalidContext::NotCanonical("an element is stored twice"));
            }
            let canonical = match dots.as_slice() {
                [] => self.keyed,
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
    use foldhash::HashMap;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Wire shape: single-dot elements first (no per-element length), then the rest. Hints are
    /// not shipped (see "keyed deltas" in the store module): a decoded store is never keyed.
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
                len: self.one.len(),
                items: || self.one.iter().map(|(e, p)| (e, p.unpack())),
            };
            shape.serialize_field("one", &one)?;
            let held = |(_, dots): &(&E, &Vec<LocalDot>)| !dots.is_empty();
            let many = Seq {
                len: self.many.iter().filter(held).count(),
                items: || self.many.iter().filter(held),
            };
            shape.serialize_field("many", &many)?;
            shape.end()
        }
    }

    impl<'de, E: Deserialize<'de> + Hash + Eq> Deserialize<'de> for Elements<E> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let shape = Shape::<E>::deserialize(d)?;
            let mut one = HashMap::default();
            for (e, dot) in shape.one {
                let packed = Packed::pack(dot).ok_or_else(|| {
                    serde::de::Error::custom("unpackable dot in the single-dot list")
                })?;
                if one.insert(e, packed).is_some() {
                    return Err(serde::de::Error::custom("an element is stored twice"));
                }
            }
            let mut many = HashMap::default();
            for (e, dots) in shape.many {
                if many.insert(e, dots.0).is_some() {
                    return Err(serde::de::Error::custom("an element is stored twice"));
                }
            }
            Ok(Self {
                one,
                many,
                keyed: false,
            })
        }
    }
}
