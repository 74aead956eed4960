//! Dot stores and the generic machinery of causal types (store + causal context).
//!
//! A causal δ-CRDT is a pair `(store, context)` (Almeida, Shoker, Baquero, JPDC 2018, §6). The
//! store maps what the user sees to the dots that wrote it; the context records every dot ever
//! seen. Joining keeps a dot if both sides hold it, or if the side lacking it has never seen it:
//! so a remove is an empty store plus a context naming the removed dots — no tombstones.
//!
//! Each value's context is also its replica table. [`join`] first interns the other side's
//! replicas in ours (`CausalContext::align`), renames the other store's dots into our indices,
//! and queries the other context through a back-map ([`Seen`]) — O(size of the other side),
//! whatever the size of our table.
//!
//! # Keyed deltas: applying a remove in O(delta)
//!
//! Joining must drop every dot of ours that the other side has seen but no longer holds. For a
//! map-like store that means visiting *every* key of ours — O(state) for each remote remove.
//! Deltas made by mutators avoid that: they are **keyed**, i.e. every dot their context covers
//! but their store does not hold belongs to a key the store still lists, with an empty entry if
//! need be (a *hint*: `remove(e)` ships `{e ↦ ∅}` plus the removed dots). Joining a keyed value
//! visits only its keys. Hints carry no meaning of their own (equality ignores them); they are
//! kept while delta-groups are built ([`Lattice::join_delta_group`](crate::Lattice)) and dropped
//! from every state, so states stay tombstone-free. A value that is not keyed is always safe: it
//! is joined by the full scan.
//!
//! The keyed claim cannot be checked by its receiver (that would take an index from dots to
//! keys), and a false claim makes replicas that apply it at different times diverge. So hints are
//! **not serialized**: a decoded value is never keyed and costs the full scan. Values kept in
//! memory (delta-groups built in-process, deltas handed between replicas in one process) keep the
//! fast path; whether to trust hints from authenticated peers is the sync layer's decision.

use core::cell::Cell;
use core::fmt::Debug;
use core::ops::ControlFlow;

use foldhash::HashSet;

use super::context::{Coverage, Seen};
use super::dot::{Actor, ActorMap, LocalDot};
use super::{CausalContext, InvalidContext};

/// A proof of being inside this crate. Every sealed method that builds or changes a value
/// takes one; only this crate can make it (its field is private and its path cannot be named
/// from outside), so a caller elsewhere cannot break a store's or a context's invariants even
/// through a generic bound on [`Causal`] or [`DotStore`].
#[derive(Clone, Copy, Debug)]
pub struct Seal(());

/// The one [`Seal`].
pub(crate) const SEAL: Seal = Seal(());

/// A dot store: a value that can be nested in an [`OrMap`](crate::OrMap), sharing the map's
/// context (sealed: only this crate implements it, through a trait other crates cannot name).
///
/// It has no methods of its own: bound on it to be generic over the values a map can hold.
pub trait DotStore: StoreOps + Clone + Default + Debug + PartialEq {}

/// The crate's side of [`DotStore`]: the machinery of joins, in a trait that cannot be named
/// (and whose methods that build or change a store cannot be called) outside this crate. Those
/// methods take a [`Seal`], except `join_store`, whose [`JoinMode`] and [`Seen`] arguments only
/// this crate can make.
pub trait StoreOps {
    /// What is serialized when the store is nested in a map (a causal type nested in a map
    /// ships only its store: the map's context is shared).
    type Wire;

    /// The nested wire form.
    fn wire(&self) -> &Self::Wire;

    /// Rebuilds the store from its nested wire form.
    fn from_wire(wire: Self::Wire, seal: Seal) -> Self;

    /// Whether the store holds nothing, not even a hint (it is then dropped from a parent map).
    fn is_bottom(&self) -> bool;

    /// Calls `f` with every dot in the store.
    fn for_each_dot(&self, f: &mut dyn FnMut(LocalDot)) {
        let _ = self.try_for_each_dot(&mut |d| {
            f(d);
            ControlFlow::Continue(())
        });
    }

    /// Calls `f` with the dots in the store until it breaks; returns whether it did.
    fn try_for_each_dot(&self, f: &mut dyn FnMut(LocalDot) -> ControlFlow<()>) -> ControlFlow<()>;

    /// Renames actors after the other side's replicas were interned in our table.
    fn remap(&mut self, map: &ActorMap, seal: Seal);

    /// Keeps only the dots `keep` accepts. Entries left without a dot are dropped and hints
    /// with them: the result is normalized (unkeyed).
    fn retain_dots(&mut self, keep: &mut dyn FnMut(LocalDot) -> bool, seal: Seal);

    /// Joins `other` (with context `theirs`) into `self` (with context `ours`); both are laid out
    /// in one table. See [`JoinMode`] for when parts of `self` missing from `other` are visited
    /// and whether hints are kept.
    fn join_store(&mut self, ours: &Seen<'_>, other: Self, theirs: &Seen<'_>, mode: JoinMode);

    /// Drops every hint (empty entry) and the keyed mark: the canonical form of a state.
    fn normalize(&mut self, _seal: Seal) {}

    /// Marks a bottom store as keyed or not (stores without keys ignore it).
    fn mark_keyed(&mut self, _keyed: bool, _seal: Seal) {}

    /// Checks every dot is covered by `ctx` and the representation is canonical.
    ///
    /// # Errors
    /// The first violation found.
    fn validate(&self, ctx: &CausalContext) -> Result<(), InvalidContext> {
        let mut result = Ok(());
        self.for_each_dot(&mut |d| {
            if result.is_ok() {
                result = ctx.check_dot(d);
            }
        });
        result
    }
}

/// How a join treats the parts of `self` that `other` does not mention, and hints.
#[derive(Clone, Copy, Debug)]
pub struct JoinMode {
    /// The two contexts share some event; when false nothing of `self` can be removed, so parts of
    /// `self` missing from `other` need not be visited even if `other` is not keyed.
    pub(crate) scan: bool,
    /// Keep hints and the keyed mark where both sides are keyed (building a delta-group); when
    /// false the result is normalized (a state).
    pub(crate) hints: bool,
}

/// A causal type: a dot store with its own context (sealed: only this crate implements it,
/// through a trait other crates cannot name).
///
/// Each public causal type (`OrSet`, `MvRegister`, `OrMap`, …) is such a pair. When nested in an
/// [`OrMap`](crate::OrMap) its own context stays empty and the map's context is used instead.
///
/// Only [`context`](Self::context) can be called from outside the crate: the parts that could
/// break a value's invariants are sealed away, even behind a generic bound.
///
/// ```compile_fail
/// use deltacrdt::{Causal, CausalContext, OrSet};
/// fn forget<T: Causal>(value: &mut T) {
///     *value.context_mut() = CausalContext::default(); // sealed: does not compile
/// }
/// forget(&mut OrSet::<u8>::default());
/// ```
pub trait Causal: CausalParts + Clone + Default + Debug {
    /// The causal context: every event this value has seen (empty for a value nested in a map,
    /// which uses the map's).
    fn context(&self) -> &CausalContext;
}

/// The crate's side of [`Causal`]: the value's two halves, in a trait that cannot be named (and
/// whose methods that build or change a value cannot be called) outside this crate.
pub trait CausalParts {
    /// The store half.
    type Store: DotStore;

    /// Builds the value from its parts.
    fn from_parts(store: Self::Store, ctx: CausalContext, seal: Seal) -> Self;
    /// Splits the value into its parts.
    fn into_parts(self) -> (Self::Store, CausalContext);
    /// The store.
    fn store(&self) -> &Self::Store;
    /// The store, mutably.
    fn store_mut(&mut self, seal: Seal) -> &mut Self::Store;
    /// The context, mutably.
    fn context_mut(&mut self, seal: Seal) -> &mut CausalContext;
}

/// `a ⊔ b` for causal types: align `b` into `a`'s replica table, join stores, join contexts.
/// With `hints`, keyed hints survive where both sides are keyed (a delta-group is being built);
/// without, the result is normalized (a state).
pub(crate) fn join<T: Causal>(a: &mut T, b: T, hints: bool) {
    join_recording(a, b, hints, None);
}

/// [`join`], recording in `removed` (indexed by `a`'s replicas) which replicas lost a dot.
fn join_recording<T: Causal>(a: &mut T, b: T, hints: bool, removed: Option<&[Cell<bool>]>) {
    if a.context().is_empty() && a.store().is_bottom() {
        *a = b;
        if !hints {
            a.store_mut(SEAL).normalize(SEAL);
        }
        return;
    }
    let (mut store, ctx) = b.into_parts();
    let alignment = a.context_mut(SEAL).align(&ctx);
    if let Some(alignment) = &alignment {
        store.remap(&alignment.map, SEAL);
    }
    let mode = JoinMode {
        scan: a.context().intersects_aligned(&ctx, alignment.as_ref()),
        hints,
    };
    let theirs = Seen::aligned(&ctx, alignment.as_ref());
    let theirs = match removed {
        Some(flags) => theirs.recording(flags),
        None => theirs,
    };
    let mut mine = core::mem::take(a.store_mut(SEAL));
    mine.join_store(&Seen::direct(a.context()), store, &theirs, mode);
    *a.store_mut(SEAL) = mine;
    a.context_mut(SEAL).join_aligned(&ctx, alignment.as_ref());
}

/// The part of `d` that `x` lacks ([`Lattice::novelty`](crate::Lattice::novelty)): `d` projected
/// onto the replicas it brings news of, or `None` if `x ⊔ d == x`.
///
/// # Why whole replicas
/// Filtering `d`'s store dot by dot (keep the dots `x` has not seen) is not enough: the result
/// must stay below `d`, yet its context would cover dots whose store entry was dropped, and so
/// delete them at a third replica that holds them. Instead a replica `r` of `d`'s table is kept,
/// with all of its dots in `d`'s store and its whole entry in `d`'s context, iff
/// - (a) `d` has seen an event of `r` that `x` has not, or
/// - (b) `d` removes something `x` holds: a dot of `r` in `x`'s store that `d`'s context covers
///   and `d`'s store lacks.
///
/// For a dropped replica every dot of it in `d`'s store is in `x`'s context (`x` holds it, kept
/// either way, or removed it, dropped either way) and `d` removes nothing of it from `x`, so
/// `x ⊔ v == x ⊔ d`. And `v ⊑ d`: a dot of a kept replica that `d` holds is held by `v` too, and
/// `v`'s context does not mention dropped replicas, so it deletes nothing `d` keeps.
///
/// # Cost
/// O(|d|) plus, only for replicas whose events in `d`'s context are not all held by `d`'s store
/// (`d` removed or overwrote something of theirs) and not already kept by (a), one pass over
/// `x`'s dots. Deltas and groups that only add new entries never take that pass.
pub(crate) fn novelty<T: Causal>(x: &T, d: &T) -> Option<T> {
    let Classified {
        coverage,
        mut keep,
        candidates,
        held,
    } = classify(x, d);
    if !candidates.is_empty() {
        keep_removers(x, d, &candidates, &held, &mut keep);
    }
    project(d, &coverage, &keep)
}

/// `x ⊔= d`, returning [`novelty`]`(x, d)` as it was before: the join itself records which
/// replicas lost a dot, so condition (b) costs no pass of its own over `x`.
pub(crate) fn join_novel<T: Causal>(x: &mut T, d: T) -> Option<T> {
    let Classified {
        coverage,
        mut keep,
        candidates,
        ..
    } = classify(x, &d);
    if candidates.is_empty() {
        let novel = project(&d, &coverage, &keep);
        join(x, d, false);
        return novel;
    }
    let original = d.clone();
    // Indexed by `x`'s replicas; candidates are replicas `x` already knows, so their indices
    // survive the alignment inside the join.
    let removed = vec![Cell::new(false); x.context().table_len()];
    join_recording(x, d, false, Some(&removed));
    for (ours, theirs) in candidates {
        if removed.get(theirs.index()).is_some_and(Cell::get)
            && let Some(k) = keep.get_mut(ours.index())
        {
            *k = true;
        }
    }
    project(&original, &coverage, &keep)
}

/// What [`novelty`] decides before looking at `x`'s store.
struct Classified {
    /// How each of `d`'s replicas compares with `x`'s.
    coverage: Vec<Coverage>,
    /// The replicas condition (a) keeps, by `d`'s index.
    keep: Vec<bool>,
    /// Candidates for condition (b), as (`d`'s index, `x`'s index): replicas whose events `x`
    /// has all seen but of which `d` has seen dots it does not hold (so it may remove
    /// something `x` holds).
    candidates: Vec<(Actor, Actor)>,
    /// The dots `d` holds.
    held: HashSet<LocalDot>,
}

fn classify<T: Causal>(x: &T, d: &T) -> Classified {
    let coverage = d.context().coverage(x.context());
    let keep: Vec<bool> = coverage.iter().map(|c| *c == Coverage::New).collect();
    let mut held = HashSet::default();
    if !coverage.iter().any(|c| matches!(c, Coverage::Covered(_))) {
        // Every replica is new to `x` or absent from `d`: condition (b) has no candidate.
        return Classified {
            coverage,
            keep,
            candidates: Vec::new(),
            held,
        };
    }
    let cd = d.context();
    let mut counts = vec![0u64; cd.table_len()];
    d.store().for_each_dot(&mut |dot| {
        if held.insert(dot)
            && let Some(n) = counts.get_mut(dot.actor.index())
        {
            *n += 1;
        }
    });
    // A replica whose events in `d`'s context are all dots `d` holds removes nothing (a delta
    // or group that only adds new entries then costs no pass over `x`).
    let candidates = coverage
        .iter()
        .zip(0u32..)
        .filter_map(|(c, i)| match c {
            Coverage::Covered(theirs) => Some((Actor(i), *theirs)),
            _ => None,
        })
        .filter(|(ours, _)| counts.get(ours.index()).copied().unwrap_or(0) < cd.events_of(*ours))
        .collect();
    Classified {
        coverage,
        keep,
        candidates,
        held,
    }
}

/// `d` projected onto the replicas `keep` marks, or `None` if it marks none.
fn project<T: Causal>(d: &T, coverage: &[Coverage], keep: &[bool]) -> Option<T> {
    if !keep.contains(&true) {
        return None;
    }
    if coverage
        .iter()
        .zip(keep)
        .all(|(c, k)| *k || *c == Coverage::Empty)
    {
        // Every replica is kept: all of `d` is new (hints included, they are still valid).
        return Some(d.clone());
    }
    let kept = |actor: Actor| keep.get(actor.index()).copied().unwrap_or(false);
    let mut store = d.store().clone();
    store.retain_dots(&mut |dot| kept(dot.actor), SEAL);
    let (ctx, map) = d.context().project(kept);
    store.remap(&map, SEAL);
    Some(T::from_parts(store, ctx, SEAL))
}

/// Condition (b) of [`novelty`]: marks in `keep` each candidate (`d`'s index, `x`'s index) of
/// which `x` holds a dot that `d`'s context covers and `d`'s store lacks.
fn keep_removers<T: Causal>(
    x: &T,
    d: &T,
    candidates: &[(Actor, Actor)],
    held: &HashSet<LocalDot>,
    keep: &mut [bool],
) {
    let cd = d.context();
    // `x`'s index → ours.
    let mut to_ours = vec![None; x.context().table_len()];
    for &(ours, theirs) in candidates {
        if let Some(slot) = to_ours.get_mut(theirs.index()) {
            *slot = Some(ours);
        }
    }
    // Stops as soon as every candidate is marked: a one-remove delta usually stops halfway.
    let mut unmarked = candidates.len();
    let _ = x.store().try_for_each_dot(&mut |dot| {
        if let Some(Some(ours)) = to_ours.get(dot.actor.index()).copied() {
            let dot = LocalDot::new(ours, dot.counter);
            if cd.contains_local(dot)
                && !held.contains(&dot)
                && let Some(k) = keep.get_mut(ours.index())
                && !*k
            {
                *k = true;
                unmarked = unmarked.saturating_sub(1);
                if unmarked == 0 {
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    });
}

/// Semantic equality: same events seen and same store, whatever the replica tables' order and
/// whatever hints either carries.
pub(crate) fn eq<T: Causal>(a: &T, b: &T) -> bool {
    if a.context() != b.context() {
        return false;
    }
    let Some(map) = a.context().map_known(b.context()) else {
        return false;
    };
    let mut theirs = b.store().clone();
    theirs.remap(&map, SEAL);
    theirs.normalize(SEAL);
    let mut mine = a.store().clone();
    mine.normalize(SEAL);
    mine == theirs
}

/// Validates a decoded value: a well-formed context covering every dot of a canonical store.
pub(crate) fn validate<T: Causal>(value: &T) -> Result<(), InvalidContext> {
    value.context().validate()?;
    value.store().validate(value.context())
}

/// Whether a store holds at least one dot (a hint holds none).
pub(crate) fn holds_dots<S: DotStore>(store: &S) -> bool {
    let mut any = false;
    store.for_each_dot(&mut |_| any = true);
    any
}

/// Serializes the `len` items an iterator yields, without collecting them first (formats such
/// as postcard need the length up front, which a filtered iterator does not report).
#[cfg(feature = "serde")]
pub(crate) struct Seq<F> {
    pub(crate) len: usize,
    pub(crate) items: F,
}

#[cfg(feature = "serde")]
impl<F: Fn() -> I, I: IntoIterator<Item: serde::Serialize>> serde::Serialize for Seq<F> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len))?;
        for item in (self.items)() {
            seq.serialize_element(&item)?;
        }
        seq.end()
    }
}

/// Builds a delta's context: only the replicas the delta mentions, in a small table of its own.
#[derive(Debug, Default)]
pub(crate) struct DeltaContext {
    ctx: CausalContext,
}

impl DeltaContext {
    /// Re-indexes `dot` (an index into `state`) into the delta's table and records it as seen.
    pub(crate) fn cover(&mut self, state: &CausalContext, dot: LocalDot) -> LocalDot {
        let actor = self.ctx.intern(state.replica(dot.actor));
        let local = LocalDot::new(actor, dot.counter);
        self.ctx.insert_local(local);
        local
    }

    /// Records every dot of `store` (indexed in `state`) as seen: what a remove ships.
    pub(crate) fn cover_all<S: DotStore>(&mut self, state: &CausalContext, store: &S) {
        store.for_each_dot(&mut |d| {
            self.cover(state, d);
        });
    }

    pub(crate) fn finish(self) -> CausalContext {
        self.ctx
    }
}

/// The `StoreOps` wire items of a store that ships as itself (every store but a causal type's).
macro_rules! wire_is_self {
    () => {
        type Wire = Self;

        fn wire(&self) -> &Self {
            self
        }

        fn from_wire(wire: Self, _: $crate::causal::dot_store::Seal) -> Self {
            wire
        }
    };
}
pub(crate) use wire_is_self;

/// Implements `Causal`, `Lattice`, semantic `PartialEq` and validated serde for a causal type
/// `$ty` whose fields are `store: $store` and `ctx: CausalContext`.
macro_rules! causal_type {
    ($ty:ident $(< $($p:ident),* >)?, $store:ty $(, where $($bounds:tt)*)?) => {
        impl $(< $($p),* >)? $crate::causal::Causal for $ty $(< $($p),* >)? $(where $($bounds)*)? {
            fn context(&self) -> &$crate::causal::CausalContext {
                &self.ctx
            }
        }

        impl $(< $($p),* >)? $crate::causal::dot_store::CausalParts for $ty $(< $($p),* >)? $(where $($bounds)*)? {
            type Store = $store;
            fn from_parts(
                store: $store,
                ctx: $crate::causal::CausalContext,
                _: $crate::causal::dot_store::Seal,
            ) -> Self {
                Self { store, ctx }
            }
            fn into_parts(self) -> ($store, $crate::causal::CausalContext) {
                (self.store, self.ctx)
            }
            fn store(&self) -> &$store {
                &self.store
            }
            fn store_mut(&mut self, _: $crate::causal::dot_store::Seal) -> &mut $store {
                &mut self.store
            }
            fn context_mut(
                &mut self,
                _: $crate::causal::dot_store::Seal,
            ) -> &mut $crate::causal::CausalContext {
                &mut self.ctx
            }
        }

        impl $(< $($p),* >)? $crate::causal::DotStore for $ty $(< $($p),* >)? $(where $($bounds)*)? {}

        impl $(< $($p),* >)? $crate::causal::dot_store::StoreOps for $ty $(< $($p),* >)? $(where $($bounds)*)? {
            type Wire = $store;
            fn wire(&self) -> &$store {
                &self.store
            }
            fn from_wire(store: $store, _: $crate::causal::dot_store::Seal) -> Self {
                Self { store, ctx: $crate::causal::CausalContext::default() }
            }
            fn is_bottom(&self) -> bool {
                $crate::causal::dot_store::StoreOps::is_bottom(&self.store)
            }
            fn try_for_each_dot(
                &self,
                f: &mut dyn FnMut($crate::causal::dot::LocalDot) -> core::ops::ControlFlow<()>,
            ) -> core::ops::ControlFlow<()> {
                self.store.try_for_each_dot(f)
            }
            fn remap(
                &mut self,
                map: &$crate::causal::dot::ActorMap,
                seal: $crate::causal::dot_store::Seal,
            ) {
                self.store.remap(map, seal);
            }
            fn retain_dots(
                &mut self,
                keep: &mut dyn FnMut($crate::causal::dot::LocalDot) -> bool,
                seal: $crate::causal::dot_store::Seal,
            ) {
                self.store.retain_dots(keep, seal);
            }
            fn join_store(
                &mut self,
                ours: &$crate::causal::context::Seen<'_>,
                other: Self,
                theirs: &$crate::causal::context::Seen<'_>,
                mode: $crate::causal::dot_store::JoinMode,
            ) {
                self.store.join_store(ours, other.store, theirs, mode);
            }
            fn normalize(&mut self, seal: $crate::causal::dot_store::Seal) {
                self.store.normalize(seal);
            }
            fn mark_keyed(&mut self, keyed: bool, seal: $crate::causal::dot_store::Seal) {
                self.store.mark_keyed(keyed, seal);
            }
            fn validate(&self, ctx: &$crate::causal::CausalContext) -> Result<(), $crate::causal::InvalidContext> {
                self.store.validate(ctx)
            }
        }

        impl $(< $($p),* >)? $crate::lattice::Lattice for $ty $(< $($p),* >)? $(where $($bounds)*)? {
            fn join(&mut self, other: Self) {
                $crate::causal::dot_store::join(self, other, false);
            }
            fn join_delta_group(&mut self, other: Self) {
                $crate::causal::dot_store::join(self, other, true);
            }
            fn join_novelty(&mut self, incoming: Self) -> Option<Self> {
                $crate::causal::dot_store::join_novel(self, incoming)
            }
            fn novelty(&self, incoming: &Self) -> Option<Self> {
                $crate::causal::dot_store::novelty(self, incoming)
            }
            fn is_bottom(&self) -> bool {
                // What equality with the default means: no event seen, no dot held.
                self.ctx.is_empty() && !$crate::causal::dot_store::holds_dots(&self.store)
            }
        }

        impl $(< $($p),* >)? PartialEq for $ty $(< $($p),* >)? $(where $($bounds)*)? {
            fn eq(&self, other: &Self) -> bool {
                $crate::causal::dot_store::eq(self, other)
            }
        }

        #[cfg(feature = "serde")]
        impl $(< $($p),* >)? serde::Serialize for $ty $(< $($p),* >)?
        where $store: serde::Serialize, $($($bounds)*)? {
            fn serialize<SER: serde::Serializer>(&self, s: SER) -> Result<SER::Ok, SER::Error> {
                serde::Serialize::serialize(&(&self.ctx, &self.store), s)
            }
        }

        #[cfg(feature = "serde")]
        impl<'de, $($($p),*)?> serde::Deserialize<'de> for $ty $(< $($p),* >)?
        where $store: serde::Deserialize<'de>, $($($bounds)*)? {
            fn deserialize<DE: serde::Deserializer<'de>>(d: DE) -> Result<Self, DE::Error> {
                let (ctx, store) = serde::Deserialize::deserialize(d)?;
                let value = Self { store, ctx };
                $crate::causal::dot_store::validate(&value).map_err(serde::de::Error::custom)?;
                Ok(value)
            }
        }
    };
}
pub(crate) use causal_type;
