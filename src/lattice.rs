//! The one trait every replicated type implements, and the delta wrapper its mutators return.

use core::ops::Deref;

/// A join-semilattice: a replicated value whose replicas converge by joining.
///
/// `join` must be **commutative** (`a ⊔ b = b ⊔ a`), **associative** (`(a ⊔ b) ⊔ c = a ⊔ (b ⊔ c)`)
/// and **idempotent** (`a ⊔ a = a`), and `Default` is the bottom element (`⊥ ⊔ a = a`). Because of
/// these laws, replicas that have received the same updates hold equal values whatever order,
/// grouping or number of times those updates arrived in.
///
/// Every mutator of a type in this crate applies the change locally **and** returns a [`Delta`]:
/// a small value of the same type such that `old ⊔ delta == new`. Shipping deltas instead of whole
/// states is what makes this crate delta-state: a delta of one operation is O(1) in the state size.
///
/// The laws are checked by property tests for every type in this crate.
///
/// # Examples
/// ```
/// use deltacrdt::{GCounter, Lattice, ReplicaId};
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = GCounter::default();
/// let mut y = GCounter::default();
/// let dx = x.increment(a, 2);
/// let dy = y.increment(b, 3);
/// x.apply(dy);
/// y.apply(dx);
/// assert_eq!(x, y);
/// assert_eq!(x.value(), 5);
/// ```
pub trait Lattice: Clone + Default + PartialEq {
    /// The type's name in a durable store's meta record (`"Doc"`, `"GCounter"`, `"OrSet"`, …;
    /// the type constructor, without its parameters): opening a store written for another
    /// type is then `StoreError::WrongType`, naming both. `None` (the default, for types of
    /// other crates) skips the check. Part of the store format: never rename one.
    const TYPE_NAME: Option<&'static str> = None;

    /// Joins `other` into `self`: afterwards `self` is the least upper bound of both.
    fn join(&mut self, other: Self);

    /// Joins `other` into a delta-group; [`Delta::join`] calls it. Every type in this crate
    /// builds groups with [`join`](Lattice::join) itself (causal stores keep a dot index, so a
    /// group needs no representation hints to be applied in time proportional to its size).
    fn join_delta_group(&mut self, other: Self) {
        self.join(other);
    }

    /// Whether `self` is the bottom element, `Self::default()`: the identity of `join`, a delta
    /// that changes nothing. The provided version compares with a fresh default; causal types
    /// and [`Doc`](crate::Doc) override it with a check that no event was seen.
    fn is_bottom(&self) -> bool {
        *self == Self::default()
    }

    /// The part of `incoming` that `self` lacks — Δ(incoming, self) of Enes et al., "Efficient
    /// Synchronization of State-based CRDTs" (ICDE 2019) — or `None` if joining `incoming` would
    /// change nothing (`incoming ⊑ self`, i.e. `self ⊔ incoming == self`).
    ///
    /// The result `v` satisfies `v ⊑ incoming` (`v ⊔ incoming == incoming`) and
    /// `self ⊔ v == self ⊔ incoming`. A sync engine that receives a delta-group joins it into its
    /// state and buffers `v` instead of the group for relaying to its other peers: the part it
    /// already had reached it by some other path, so relaying it again only costs bandwidth (the
    /// paper's *remove redundant state*). Because `v ⊑ incoming`, a peer that joins `v` never
    /// ends up past what joining `incoming` would give it, so `v` is always safe to relay; and
    /// `None` tells the engine that the group was a duplicate (ack it, buffer nothing).
    ///
    /// The provided version is O(size of `self`): it clones `self`, joins `incoming` and compares,
    /// and returns all of `incoming` if anything changed. Every type in this crate overrides it
    /// with a cheaper and finer one: counters keep the entries that are ahead, a [`GSet`] the
    /// elements that are missing, an [`LwwRegister`] a write with a greater stamp. Causal types
    /// (dot-based sets, registers, flags, counters, maps and [`Doc`]) keep `incoming` restricted
    /// to the replicas it brings news of — those with events `self` has not seen, or with a
    /// remove of something `self` still holds. Whole replicas, not single dots: a context that
    /// covered a dot whose entry was dropped would delete that dot at a third replica. They cost
    /// O(size of `incoming`), plus one pass over `self`'s dots when `incoming` has seen events it
    /// no longer holds (removes, overwrites) of replicas it brings no new event of.
    ///
    /// [`GSet`]: crate::GSet
    /// [`LwwRegister`]: crate::LwwRegister
    /// [`Doc`]: crate::Doc
    ///
    /// # Examples
    /// ```
    /// use deltacrdt::{Lattice, OrSet, ReplicaId};
    /// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
    /// let mut x = OrSet::default();
    /// let mut y = OrSet::default();
    /// let from_a = x.insert(a, "milk");
    /// y.apply(from_a.clone());
    /// // A peer relays a's insert together with b's new one.
    /// let mut group = from_a;
    /// group.join(y.insert(b, "eggs"));
    /// let group = group.into_inner();
    ///
    /// let new = x.novelty(&group).expect("b's insert is new to x");
    /// assert!(new.contains(&"eggs") && !new.contains(&"milk"));
    /// assert_eq!(x.clone().joined(new.clone()), x.clone().joined(group.clone()));
    /// assert_eq!(new.clone().joined(group.clone()), group); // new ⊑ group
    ///
    /// x.join(group.clone());
    /// assert_eq!(x.novelty(&group), None); // a duplicate: nothing to relay
    /// ```
    #[must_use]
    fn novelty(&self, incoming: &Self) -> Option<Self> {
        let mut joined = self.clone();
        joined.join(incoming.clone());
        (joined != *self).then(|| incoming.clone())
    }

    /// Joins `incoming` into `self` and returns what [`novelty`](Lattice::novelty) would have
    /// returned before: the receive step of a sync engine, which both applies a delta and
    /// buffers its new part. Types override it to learn the new part from the join itself
    /// (the causal types do: a received remove then costs one pass over the state, not two).
    ///
    /// # Examples
    /// ```
    /// use deltacrdt::{GSet, Lattice};
    /// let mut x = GSet::default();
    /// let _ = x.insert(1);
    /// let mut d = GSet::default();
    /// let _ = d.insert(1);
    /// let _ = d.insert(2);
    /// let novel = x.join_novelty(d).expect("2 is new");
    /// assert_eq!(novel.iter().collect::<Vec<_>>(), [&2]);
    /// assert!(x.contains(&2));
    /// ```
    #[must_use = "the new part is what a sync engine buffers for relaying"]
    fn join_novelty(&mut self, incoming: Self) -> Option<Self> {
        let novel = self.novelty(&incoming);
        if novel.is_some() {
            self.join(incoming);
        }
        novel
    }

    /// Joins a delta received from a peer (or produced locally) into `self`.
    fn apply(&mut self, delta: Delta<Self>) {
        self.join(delta.into_inner());
    }

    /// `self ⊔ other`, by value.
    #[must_use]
    fn joined(mut self, other: Self) -> Self {
        self.join(other);
        self
    }
}

/// A delta returned by a mutator: a value of the mutated type that carries exactly the change.
///
/// It is `#[must_use]` because a delta that is dropped is an update that never reaches the other
/// replicas. Deltas join into *delta-groups* with [`Delta::join`]; a full state is always a legal
/// delta-group. A delta is a value to ship and join, not a replica: mutating it as the replica
/// that made it would issue dots that replica issues again (its context lacks the history).
#[must_use = "a delta that is dropped never reaches the other replicas"]
#[derive(Clone, Debug, Default, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct Delta<T>(T);

impl<T> Delta<T> {
    /// Wraps a value (any state is a legal delta).
    pub const fn new(value: T) -> Self {
        Self(value)
    }

    /// The delta's value, to join or serialize.
    pub fn into_inner(self) -> T {
        self.0
    }

    /// Transforms the carried value (used to nest a delta inside a container's delta).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Delta<U> {
        Delta(f(self.0))
    }
}

impl<T: Lattice> Delta<T> {
    /// Joins another delta into this one, forming a delta-group.
    pub fn join(&mut self, other: Self) {
        self.0.join_delta_group(other.0);
    }
}

impl<T> Deref for Delta<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}
