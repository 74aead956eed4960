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
//! # The dot index: applying a remove in O(removed)
//!
//! Joining must drop every dot of ours that the other side has seen but no longer holds. A
//! remove is an empty store plus a context naming the removed dots, so nothing in it says where
//! those dots live. Every store that can hold many dots (an `OrSet`'s elements, a map's keys)
//! therefore keeps an exact **index** from each dot it holds to where it lives, kept up to date
//! by every mutator, join, remap, retain and decode. A join then finds the dots of ours that
//! `other` removes by walking the events of `other`'s context and probing the index, or — when
//! that context covers more events than we hold dots — by one pass over ours: O(min(events of
//! theirs, our dots)) either way, whether the value was made in memory or decoded from bytes.
//! A map's index names the top-level key; the nested join under that key finds the rest with
//! the nested store's own index. The npm module (`small_code`) keeps no index ([`INDEXED`]):
//! its joins take the pass, which computes the same result.

use core::cell::Cell;
use core::fmt::Debug;
use core::ops::ControlFlow;

use crate::platform::hash::HashSet;

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

    /// Whether the store holds nothing (it is then dropped from a parent map).
    fn is_bottom(&self) -> bool;

    /// Whether the store holds `dot` (through its index where it has one).
    fn holds(&self, dot: LocalDot) -> bool {
        self.try_for_each_dot(&mut |d| {
            if d == dot {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .is_break()
    }

    /// How many dots the store holds.
    fn dot_count(&self) -> usize {
        let mut n = 0;
        self.for_each_dot(&mut |_| n += 1);
        n
    }

    /// The part of the store holding exactly the dots it holds that `events` (laid out in the
    /// store's table) contains, each with its entry. Costs O(min(events, dots) · log n) through
    /// the index.
    fn restrict(&self, events: &CausalContext, seal: Seal) -> Self
    where
        Self: Sized;

    /// Whether every index in the store equals one rebuilt from scratch (stores without an
    /// index have nothing to check).
    fn index_is_exact(&self) -> bool {
        true
    }

    /// Calls `f` with every dot in the store.
    fn for_each_dot(&self, f: &mut dyn FnMut(LocalDot)) {
        let _ = self.try_for_each_dot(&mut |d| {
            f(d);
            ControlFlow::Continue(())
        });
    }

    /// Calls `f` with every dot in the store and a digest of what the store writes there (its
    /// element, key path or value, by a stable hash): two stores that hold one dot with other
    /// content give other digests, with high probability. Stores whose dots carry nothing else
    /// (flags) give 0.
    #[cfg(feature = "reconcile")]
    fn for_each_dot_digest(&self, f: &mut dyn FnMut(LocalDot, u64)) {
        self.for_each_dot(&mut |d| f(d, 0));
    }

    /// Calls `f` with the dots in the store until it breaks; returns whether it did.
    fn try_for_each_dot(&self, f: &mut dyn FnMut(LocalDot) -> ControlFlow<()>) -> ControlFlow<()>;

    /// Renames actors after the other side's replicas were interned in our table.
    fn remap(&mut self, map: &ActorMap, seal: Seal);

    /// Keeps only the dots `keep` accepts. Entries left without a dot are dropped.
    fn retain_dots(&mut self, keep: &mut dyn FnMut(LocalDot) -> bool, seal: Seal);

    /// Joins `other` (with context `theirs`) into `self` (with context `ours`); both are laid out
    /// in one table. See [`JoinMode`] for when parts of `self` missing from `other` are visited.
    fn join_store(&mut self, ours: &Seen<'_>, other: Self, theirs: &Seen<'_>, mode: JoinMode);

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

/// How a join treats the parts of `self` that `other` does not mention.
#[derive(Clone, Copy, Debug)]
pub struct JoinMode {
    /// The two contexts share some event; when false nothing of `self` can be removed, so parts of
    /// `self` missing from `other` need not be looked for.
    pub(crate) scan: bool,
}

/// Whether stores keep their dot index. Not in the npm module (`small_code`): there the index
/// code would cost ~14 KB of a module users download, for states a browser keeps small; joins
/// compute the same result by the pass over ours, as before the index.
pub(crate) const INDEXED: bool = !cfg!(small_code);

/// Whether a join should find the dots `theirs` removes by probing an index of `dots` entries
/// with `theirs`' events (true) rather than by a pass over ours.
pub(crate) fn probe(theirs: &Seen<'_>, dots: usize) -> bool {
    INDEXED && theirs.event_count() <= u64::try_from(dots).unwrap_or(u64::MAX)
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
pub(crate) fn join<T: Causal>(a: &mut T, b: T) {
    join_recording(a, b, None);
}

/// [`join`], recording in `removed` (indexed by `a`'s replicas) which replicas lost a dot.
fn join_recording<T: Causal>(a: &mut T, b: T, removed: Option<&[Cell<bool>]>) {
    if a.context().is_empty() && a.store().is_bottom() {
        *a = b;
        return;
    }
    let (mut store, ctx) = b.into_parts();
    let alignment = a.context_mut(SEAL).align(&ctx);
    if let Some(alignment) = &alignment {
        store.remap(&alignment.map, SEAL);
    }
    let mode = JoinMode {
        scan: a.context().intersects_aligned(&ctx, alignment.as_ref()),
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
/// (`d` removed or overwrote something of theirs) and not already kept by (a), a probe of `x`'s
/// dot index per event of those replicas in `d`'s context — or one pass over `x`'s dots when
/// they are fewer. Deltas and groups that only add new entries take neither.
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
        join(x, d);
        return novel;
    }
    let original = d.clone();
    // Indexed by `x`'s replicas; candidates are replicas `x` already knows, so their indices
    // survive the alignment inside the join.
    let removed = vec![Cell::new(false); x.context().table_len()];
    join_recording(x, d, Some(&removed));
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
        // Every replica is kept: all of `d` is new.
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
    // Few events to look at: probe `x`'s index with them instead of a pass over its dots.
    let events = candidates
        .iter()
        .fold(0u64, |n, (ours, _)| n.saturating_add(cd.events_of(*ours)));
    if INDEXED && events <= u64::try_from(x.store().dot_count()).unwrap_or(u64::MAX) {
        for &(ours, theirs) in candidates {
            let _ = cd.try_for_each_counter(ours, &mut |n| {
                if x.store().holds(LocalDot::new(theirs, n))
                    && !held.contains(&LocalDot::new(ours, n))
                    && let Some(k) = keep.get_mut(ours.index())
                {
                    *k = true;
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            });
        }
        return;
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

/// Semantic equality: same events seen and same store, whatever the replica tables' order.
pub(crate) fn eq<T: Causal>(a: &T, b: &T) -> bool {
    if a.context() != b.context() {
        return false;
    }
    let Some(map) = a.context().map_known(b.context()) else {
        return false;
    };
    let mut theirs = b.store().clone();
    theirs.remap(&map, SEAL);
    *a.store() == theirs
}

/// The part of `value` that `ctx` lacks: every dot `value` holds that `ctx` has not seen, with
/// its entry (element / key path and value), and as context the events of `value.context()`
/// that `ctx` has not seen (in cloud form where needed; replicas with no such event are left
/// out of its table).
///
/// Then `outside(v, c) ⊑ v`, and for any `w` with `w.context() == c`: `w ⊔ outside(v, c)` holds
/// every dot of `v` not in `c`, and removes nothing of `w`'s (its context is disjoint from `c`).
/// Cost O(k · log n) with k = events of `value.context()` not in `ctx` (the stores' indexes
/// find the dots among them), plus O(replicas).
pub(crate) fn outside<T: Causal>(value: &T, ctx: &CausalContext) -> T {
    let missing = value.context().difference(ctx);
    let mut store = value.store().restrict(&missing, SEAL);
    let (missing, map) = missing.project(|a| missing.events_of(a) > 0);
    store.remap(&map, SEAL);
    T::from_parts(store, missing, SEAL)
}

/// Validates a decoded value: a well-formed context covering every dot of a canonical store.
pub(crate) fn validate<T: Causal>(value: &T) -> Result<(), InvalidContext> {
    value.context().validate()?;
    value.store().validate(value.context())
}

/// Whether a store holds at least one dot.
pub(crate) fn holds_dots<S: DotStore>(store: &S) -> bool {
    store
        .try_for_each_dot(&mut |_| ControlFlow::Break(()))
        .is_break()
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
            fn holds(&self, dot: $crate::causal::dot::LocalDot) -> bool {
                self.store.holds(dot)
            }
            fn dot_count(&self) -> usize {
                self.store.dot_count()
            }
            fn restrict(
                &self,
                events: &$crate::causal::CausalContext,
                seal: $crate::causal::dot_store::Seal,
            ) -> Self {
                Self { store: self.store.restrict(events, seal), ctx: $crate::causal::CausalContext::default() }
            }
            fn index_is_exact(&self) -> bool {
                self.store.index_is_exact()
            }
            #[cfg(feature = "reconcile")]
            fn for_each_dot_digest(&self, f: &mut dyn FnMut($crate::causal::dot::LocalDot, u64)) {
                self.store.for_each_dot_digest(f)
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
            fn validate(&self, ctx: &$crate::causal::CausalContext) -> Result<(), $crate::causal::InvalidContext> {
                self.store.validate(ctx)
            }
        }

        impl $(< $($p),* >)? $crate::lattice::Lattice for $ty $(< $($p),* >)? $(where $($bounds)*)? {
            const TYPE_NAME: Option<&'static str> = Some(stringify!($ty));

            fn join(&mut self, other: Self) {
                $crate::causal::dot_store::join(self, other);
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use proptest::prelude::*;
    use proptest::sample::Index;

    use super::{Causal, CausalContext, ControlFlow, StoreOps, outside};
    use crate::causal::Dot;
    use crate::crdt::OrSet;
    use crate::document::{Doc, Scalar};
    use crate::id::ReplicaId;
    use crate::lattice::Lattice;

    fn events(c: &CausalContext) -> BTreeSet<Dot> {
        let mut out = BTreeSet::new();
        let _ = c.try_for_each_event(&mut |d| {
            out.insert(c.to_dot(d));
            ControlFlow::Continue(())
        });
        out
    }

    fn held<T: Causal>(x: &T) -> BTreeSet<Dot> {
        let mut out = BTreeSet::new();
        x.store().for_each_dot(&mut |d| {
            out.insert(x.context().to_dot(d));
        });
        out
    }

    /// The two properties of [`outside`], for `v` and a `w` whose context is the one given.
    fn outside_laws<T: Causal + Lattice + core::fmt::Debug>(
        v: &T,
        w: &T,
    ) -> Result<(), TestCaseError> {
        let c = w.context();
        let o = outside(v, c);
        prop_assert_eq!(
            &v.clone().joined(o.clone()),
            v,
            "outside(v, c) is not below v"
        );
        let lacking: BTreeSet<Dot> = events(v.context())
            .into_iter()
            .filter(|d| !c.contains(*d))
            .collect();
        prop_assert_eq!(
            events(o.context()),
            lacking,
            "its context is not v's events c lacks"
        );
        let j = w.clone().joined(o);
        let after = held(&j);
        for d in held(v).into_iter().filter(|d| !c.contains(*d)) {
            prop_assert!(after.contains(&d), "w ⊔ outside(v, c) lacks {:?} of v", d);
        }
        for d in held(w) {
            prop_assert!(after.contains(&d), "w ⊔ outside(v, c) removed {:?} of w", d);
        }
        Ok(())
    }

    #[test]
    fn outside_ships_what_a_context_lacks_and_removes_nothing() {
        let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
        let mut v = OrSet::default();
        for e in 0..20u16 {
            let _ = v.insert(a, e);
        }
        let mut w = v.clone();
        let _ = w.remove(&3); // w removed 3; v never heard
        let _ = w.insert(b, 100);
        let _ = v.insert(a, 21);
        let _ = v.remove(&5);
        let o = outside(&v, w.context());
        // Only the new element, and only the events w lacks (21's dot and 5's dot).
        assert_eq!(o.iter().collect::<Vec<_>>(), [&21]);
        assert_eq!(o.context().event_count(), 1);
        let mut j = w.clone();
        j.join(o);
        assert!(j.contains(&21) && !j.contains(&3) && j.contains(&5) && j.contains(&100));
        // Nothing lacking: empty.
        assert!(Lattice::is_bottom(&outside(&v, v.context())));
    }

    /// An operation of the outside histories: `(replica, kind, element)`, or a join.
    #[derive(Clone, Debug)]
    enum Op {
        Do(usize, u8, u16),
        Join(usize, usize),
    }

    fn ops() -> impl Strategy<Value = Vec<Op>> {
        let op = prop_oneof![
            5 => (0..3usize, 0..6u8, 0..24u16).prop_map(|(r, k, e)| Op::Do(r, k, e)),
            2 => (0..3usize, 0..3usize).prop_map(|(a, b)| Op::Join(a, b)),
        ];
        prop::collection::vec(op, 0..50)
    }

    /// Every state each replica went through.
    fn replay<T: Lattice>(
        ops: &[Op],
        mut perform: impl FnMut(&mut T, ReplicaId, u8, u16),
    ) -> Vec<T> {
        let mut xs = vec![T::default(); 3];
        let mut seen = vec![T::default()];
        for op in ops {
            match *op {
                Op::Do(r, k, e) => {
                    let id = ReplicaId::from_u128(r as u128 + 1);
                    if let Some(x) = xs.get_mut(r) {
                        perform(x, id, k, e);
                    }
                }
                Op::Join(from, to) => {
                    if let Some(x) = xs.get(from).cloned()
                        && let Some(y) = xs.get_mut(to)
                    {
                        y.join(x);
                    }
                }
            }
            seen.extend(xs.iter().cloned());
        }
        seen
    }

    fn pick<T: Clone>(xs: &[T], i: &Index) -> T {
        xs.get(i.index(xs.len()))
            .cloned()
            .unwrap_or_else(|| unreachable!())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn outside_laws_hold_for_sets(ops in ops(), v in any::<Index>(), w in any::<Index>()) {
            let states = replay::<OrSet<u16>>(&ops, |x, r, k, e| match k {
                0..=2 => drop(x.insert(r, e)),
                3 | 4 => drop(x.remove(&e)),
                _ => drop(x.clear()),
            });
            outside_laws(&pick(&states, &v), &pick(&states, &w))?;
        }

        #[test]
        fn outside_laws_hold_for_documents(ops in ops(), v in any::<Index>(), w in any::<Index>()) {
            const PATHS: [&[&str]; 3] = [&["s"], &["m", "s"], &["m", "n", "s"]];
            let states = replay::<Doc>(&ops, |x, r, k, e| {
                let path = PATHS[usize::from(e) % 3];
                let element = Scalar::Int(i64::from(e / 3));
                let _ = match k {
                    0 | 1 => x.insert(r, path, element),
                    2 => x.remove_element(r, path, &element),
                    3 => x.increment(r, &["m", "c"], 1),
                    4 => x.delete(r, &["m", "n"]),
                    _ => x.delete(r, &["m"]),
                };
            });
            let (v, w) = (pick(&states, &v), pick(&states, &w));
            outside_laws(v.root(), w.root())?;
            let o = v.lacking(w.context());
            prop_assert_eq!(o.root(), &outside(v.root(), w.context()));
            prop_assert!(o.index_is_exact());
        }
    }
}
