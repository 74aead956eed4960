//! `EwFlag`: the enable-wins flag.

use crate::causal::CausalContext;
use crate::causal::dot_set::DotSet;
use crate::causal::dot_store::causal_type;
use crate::id::ReplicaId;
use crate::lattice::Delta;

/// An enable-wins flag: `enable` writes a fresh dot, `disable` removes the dots it observed, so an
/// enable concurrent with a disable survives. Disabled flags hold no dot at all.
///
/// # Examples
/// ```
/// use deltacrdt::{EwFlag, Lattice, ReplicaId};
/// let a = ReplicaId::from_u128(1);
/// let mut x = EwFlag::default();
/// let on = x.enable(a);
/// let mut y = x.clone();
/// let off = y.disable();
/// let on_again = x.enable(a); // concurrent with the disable
/// x.apply(off);
/// y.apply(on_again);
/// assert!(x.value() && y.value());
/// # drop(on);
/// ```
#[derive(Clone, Debug, Default)]
pub struct EwFlag {
    store: DotSet,
    ctx: CausalContext,
}

causal_type!(EwFlag, DotSet);

impl EwFlag {
    /// Turns the flag on.
    pub fn enable(&mut self, replica: ReplicaId) -> Delta<Self> {
        let (store, ctx) = self.store.replace(&mut self.ctx, replica, ());
        Delta::new(Self { store, ctx })
    }

    /// Turns the flag off (unless an enable it has not seen arrives).
    pub fn disable(&mut self) -> Delta<Self> {
        let (store, ctx) = self.store.clear(&self.ctx);
        Delta::new(Self { store, ctx })
    }

    /// Whether the flag is on.
    #[must_use]
    pub fn value(&self) -> bool {
        !self.store.entries.is_empty()
    }
}
