//! `Reconcile`: what a replica can say about what it holds, so two replicas find their
//! difference from their states alone (no shared history).
//!
//! A causal value describes itself by its causal context (every event seen) and its *held*
//! dots (the events whose writes are still live). Against a peer's context `c`:
//! - the **additions** the peer lacks are exact from `c` alone: the held dots outside `c`
//!   ([`Reconcile::outside`]);
//! - the **removals** the peer lacks are dots inside both contexts that the peer holds and we
//!   do not: seen and no longer held means removed (a seen dot never becomes live again). The
//!   sync engine finds them by set reconciliation over the held dots inside both contexts and
//!   ships them as [`Reconcile::removal`]: an empty store under a context naming them.
//!
//! Types without dots (`GCounter`, `PnCounter`, `GSet`, `LwwRegister`) keep the defaults: the
//! sync engine then ships them whole to a peer it has no acknowledgement from.

use super::dot_store::{self, Causal, SEAL, Seal, StoreOps};
use super::{CausalContext, Dot};
#[cfg(feature = "reconcile")]
use crate::clock::{Stamp, Timestamp};
use crate::id::ReplicaId;
use crate::lattice::Lattice;

/// A lattice the sync engine can reconcile with a peer's without shared history.
///
/// Every type of this crate implements it; the causal ones (sets, maps, [`Doc`](crate::Doc),
/// registers, flags, causal counters) by their dots, the others by their defaults, which make
/// the engine send the whole state to a peer it has no acknowledgement from. A lattice of your
/// own implements it with an empty body:
///
/// ```
/// use deltacrdt::{Delta, Hlc, Lattice, Reconcile, ReplicaId, SyncEngine};
/// #[derive(Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Max(u64);
/// impl Lattice for Max {
///     fn join(&mut self, other: Self) { self.0 = self.0.max(other.0); }
/// }
/// impl Reconcile for Max {} // synced by full states where acknowledgements run out
///
/// let mut engine = SyncEngine::<Max>::new(Hlc::builder(ReplicaId::from_u128(1)).build()?);
/// engine.update(|m, _| {
///     m.0 = 7;
///     Ok::<_, std::convert::Infallible>(Delta::new(Max(7)))
/// })?;
/// assert_eq!(engine.state().0, 7);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The methods that describe a value are sealed (their last argument cannot be made outside
/// this crate): a wrong description would make honest replicas drop live writes.
pub trait Reconcile: Lattice {
    /// The value's causal context, or `None` for a type without dots.
    #[doc(hidden)]
    fn causal_context(&self, _: Seal) -> Option<&CausalContext> {
        None
    }

    /// Calls `f` with every dot the value holds (in no particular order).
    #[doc(hidden)]
    fn for_each_held(&self, _f: &mut dyn FnMut(Dot), _: Seal) {}

    /// Calls `f` with every dot the value holds and a digest of what it writes there (a
    /// stable hash: replicas holding one dot with other content give other digests).
    #[doc(hidden)]
    #[cfg(feature = "reconcile")]
    fn for_each_held_digest(&self, f: &mut dyn FnMut(Dot, u64), seal: Seal) {
        self.for_each_held(&mut |d| f(d, 0), seal);
    }

    /// The part of the value that a replica whose context is `ctx` lacks: every held dot
    /// outside `ctx` with its entry, under the events of our context that `ctx` lacks. Joining
    /// it into such a replica adds what it lacks and removes nothing of its own. Types without
    /// dots return the whole value.
    #[doc(hidden)]
    fn outside(&self, _ctx: &CausalContext, _: Seal) -> Self {
        self.clone()
    }

    /// The value that removes exactly the dots `dots` names (an empty store under that
    /// context), or bottom for a type without dots.
    #[doc(hidden)]
    fn removal(_dots: CausalContext, _: Seal) -> Self {
        Self::default()
    }

    /// The dots both values hold with different content (one dot issued twice: a reused
    /// replica id or a forged value); none for a type without dots.
    #[doc(hidden)]
    fn conflicts(&self, _incoming: &Self, _: Seal) -> Vec<Dot> {
        Vec::new()
    }

    /// The part of the value at `dots`, under a context of exactly the dots it holds of them.
    #[doc(hidden)]
    fn at_dots(&self, _dots: &[Dot], _: Seal) -> Self {
        Self::default()
    }

    /// Forgets `dots`: drops them from the store and the context.
    #[doc(hidden)]
    fn forget_dots(&mut self, _dots: &[Dot], _: Seal) {}

    /// The value (a part at one dot) written again by the fresh id `replica`.
    #[doc(hidden)]
    #[must_use]
    fn reissued(self, _replica: ReplicaId, _: Seal) -> Self {
        self
    }

    /// Takes out of the value (received, to be joined into `state`) every write stamped beyond
    /// `bound`, so that joining what is left neither applies them nor undoes what they would
    /// replace, and returns them; `None` for a type that cannot set its stamped writes apart
    /// (its values are then refused whole while they carry a stamp beyond the bound).
    #[doc(hidden)]
    #[cfg(feature = "reconcile")]
    fn hold_beyond(&mut self, _bound: Timestamp, _state: &Self, _: Seal) -> Option<Split<Self>> {
        None
    }
}

/// What [`Reconcile::hold_beyond`] took out of a value.
#[doc(hidden)]
#[cfg(feature = "reconcile")]
#[derive(Debug)]
pub struct Split<T> {
    /// The writes stamped beyond the bound (for a causal type, with the supersession of what
    /// the receiver holds at their registers): joined later, they do what they would have done
    /// now. Bottom when nothing lay beyond the bound.
    pub(crate) held: T,
    /// The stamps of the writes it holds (one write, one stamp).
    pub(crate) writes: Vec<Stamp>,
    /// The earliest stamp among them.
    pub(crate) earliest: Option<Timestamp>,
    /// The latest stamp left in the value (what the clock observes now).
    pub(crate) within: Option<Timestamp>,
}

#[cfg(feature = "reconcile")]
impl<T: Default> Split<T> {
    /// Nothing held yet.
    pub(crate) fn new() -> Self {
        Self {
            held: T::default(),
            writes: Vec::new(),
            earliest: None,
            within: None,
        }
    }

    /// Notes a write stamped `stamp`: held if beyond `bound`, else left in the value.
    /// Returns whether it is held.
    pub(crate) fn note(&mut self, stamp: Stamp, bound: Timestamp) -> bool {
        let time = stamp.time;
        if time > bound {
            self.writes.push(stamp);
            self.earliest = Some(self.earliest.map_or(time, |t| t.min(time)));
            true
        } else {
            self.within = Some(self.within.map_or(time, |t| t.max(time)));
            false
        }
    }
}

/// [`Reconcile::hold_beyond`] of a causal type, given what it found: moves the dots `held` (its
/// writes beyond the bound) from `value` into the split, with the dots `superseded` (what the
/// receiver holds that they replace) leaving `value`'s context for the split's.
#[cfg(feature = "reconcile")]
pub(crate) fn hold_dots<T: Reconcile>(
    value: &mut T,
    mut split: Split<T>,
    held: &[Dot],
    superseded: &[Dot],
) -> Split<T> {
    if held.is_empty() {
        return split;
    }
    split.held = value.at_dots(held, SEAL);
    if !superseded.is_empty() {
        let mut ctx = CausalContext::default();
        for &dot in superseded {
            ctx.insert(dot);
        }
        split.held.join(T::removal(ctx, SEAL));
    }
    let mut gone = held.to_vec();
    gone.extend_from_slice(superseded);
    value.forget_dots(&gone, SEAL);
    split
}

/// [`Reconcile::causal_context`] of a causal type.
pub(crate) fn causal_context<T: Causal>(value: &T) -> Option<&CausalContext> {
    Some(value.context())
}

/// [`Reconcile::for_each_held`] of a causal type.
pub(crate) fn for_each_held<T: Causal>(value: &T, f: &mut dyn FnMut(Dot)) {
    let ctx = value.context();
    value.store().for_each_dot(&mut |d| f(ctx.to_dot(d)));
}

/// [`Reconcile::for_each_held_digest`] of a causal type.
#[cfg(feature = "reconcile")]
pub(crate) fn for_each_held_digest<T: Causal>(value: &T, f: &mut dyn FnMut(Dot, u64)) {
    let ctx = value.context();
    value
        .store()
        .for_each_dot_digest(&mut |d, h| f(ctx.to_dot(d), h));
}

/// [`Reconcile::outside`] of a causal type: [`dot_store::outside`], O(k · log n) for the k
/// events `ctx` lacks (the stores' dot indexes find their dots).
pub(crate) fn outside<T: Causal>(value: &T, ctx: &CausalContext) -> T {
    dot_store::outside(value, ctx)
}

/// [`Reconcile::removal`] of a causal type.
pub(crate) fn removal<T: Causal>(dots: CausalContext) -> T {
    T::from_parts(T::Store::default(), dots, SEAL)
}
