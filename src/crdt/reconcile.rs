//! Which replicated types the sync engine reconciles by their dots, and which it ships whole
//! to a peer it has no acknowledgement from (see [`Reconcile`]).

use core::fmt::Debug;
use core::hash::Hash;

use super::{
    CausalCounter, DwFlag, EwFlag, GCounter, GSet, LwwMap, LwwRegister, MvRegister, OrMap, OrSet,
    PnCounter, RwSet,
};
use crate::causal::conflict;
use crate::causal::dot_store::Seal;
use crate::causal::reconcile as by;
use crate::causal::{Causal, CausalContext, Dot, DotStore, Reconcile};
#[cfg(feature = "reconcile")]
use crate::clock::Timestamp;
use crate::id::ReplicaId;

/// Implements [`Reconcile`] for a causal type by its context and held dots.
macro_rules! by_dots {
    ($ty:ident $(< $($p:ident),* >)? $(, where $($bounds:tt)*)?) => {
        impl $(< $($p),* >)? Reconcile for $ty $(< $($p),* >)? $(where $($bounds)*)? {
            fn causal_context(&self, _: Seal) -> Option<&CausalContext> {
                by::causal_context(self)
            }
            fn for_each_held(&self, f: &mut dyn FnMut(Dot), _: Seal) {
                by::for_each_held(self, f);
            }
            #[cfg(feature = "reconcile")]
            fn for_each_held_digest(&self, f: &mut dyn FnMut(Dot, u64), _: Seal) {
                by::for_each_held_digest(self, f);
            }
            fn outside(&self, ctx: &CausalContext, _: Seal) -> Self {
                by::outside(self, ctx)
            }
            fn removal(dots: CausalContext, _: Seal) -> Self {
                by::removal(dots)
            }
            fn conflicts(&self, incoming: &Self, _: Seal) -> Vec<Dot> {
                conflict::conflicts(self, incoming)
            }
            fn at_dots(&self, dots: &[Dot], _: Seal) -> Self {
                conflict::at_dots(self, dots)
            }
            fn forget_dots(&mut self, dots: &[Dot], _: Seal) {
                conflict::forget_dots(self, dots);
            }
            fn reissued(self, replica: ReplicaId, _: Seal) -> Self {
                conflict::reissued(self, replica)
            }
        }
    };
}

by_dots!(OrSet<E>, where E: Hash + Eq + Clone + Debug);
by_dots!(OrMap<K, V>, where K: Hash + Eq + Clone + Debug, V: Causal + DotStore);
by_dots!(RwSet<E>, where E: Hash + Eq + Clone + Debug);
by_dots!(MvRegister<V>, where V: Clone + PartialEq + Debug);
by_dots!(EwFlag);
by_dots!(DwFlag);
by_dots!(CausalCounter);

/// No dots: full states where acknowledgements run out (a state is one entry per replica).
impl Reconcile for GCounter {}
/// No dots: full states where acknowledgements run out (a state is two entries per replica).
impl Reconcile for PnCounter {}
/// No dots: full states where acknowledgements run out.
impl<E: Ord + Clone> Reconcile for GSet<E> {}
/// No dots: full states where acknowledgements run out (the state is one write). A write
/// stamped beyond the drift bound is held back whole.
impl<V: Clone + PartialEq> Reconcile for LwwRegister<V> {
    #[cfg(feature = "reconcile")]
    fn hold_beyond(&mut self, bound: Timestamp, _: &Self, _: Seal) -> Option<by::Split<Self>> {
        Some(self.hold_beyond(bound))
    }
}
/// No dots: full states where acknowledgements run out (a state is one stamped entry per key).
/// Entries stamped beyond the drift bound are held back, the others applied.
impl<K: Hash + Eq + Clone, V: Clone + PartialEq> Reconcile for LwwMap<K, V> {
    #[cfg(feature = "reconcile")]
    fn hold_beyond(&mut self, bound: Timestamp, _: &Self, _: Seal) -> Option<by::Split<Self>> {
        Some(self.hold_beyond(bound))
    }
}
