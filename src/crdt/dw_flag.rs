//! `DwFlag`: the disable-wins flag.

use crate::causal::CausalContext;
use crate::causal::dot_set::DotFun;
use crate::causal::dot_store::causal_type;
use crate::id::ReplicaId;
use crate::lattice::Delta;

/// A disable-wins flag, off by default: both `enable` and `disable` replace the writes they
/// observed with a fresh tagged dot, and the flag reads on only when every surviving write is an
/// enable — so a disable concurrent with an enable wins.
///
/// # Examples
/// ```
/// use deltacrdt::{DwFlag, Lattice, ReplicaId};
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = DwFlag::default();
/// let mut y = DwFlag::default();
/// let on = x.enable(a);
/// let off = y.disable(b); // concurrent
/// x.apply(off);
/// y.apply(on);
/// assert!(!x.value() && !y.value());
/// ```
#[derive(Clone, Debug, Default)]
pub struct DwFlag {
    store: DotFun<bool>,
    ctx: CausalContext,
}

causal_type!(DwFlag, DotFun<bool>);

impl DwFlag {
    /// Turns the flag on (unless a concurrent disable exists).
    pub fn enable(&mut self, replica: ReplicaId) -> Delta<Self> {
        let (store, ctx) = self.store.replace(&mut self.ctx, replica, true);
        Delta::new(Self { store, ctx })
    }

    /// Turns the flag off; wins over concurrent enables.
    pub fn disable(&mut self, replica: ReplicaId) -> Delta<Self> {
        let (store, ctx) = self.store.replace(&mut self.ctx, replica, false);
        Delta::new(Self { store, ctx })
    }

    /// Whether the flag is on: some write survives and all surviving writes are enables.
    #[must_use]
    pub fn value(&self) -> bool {
        !self.store.entries.is_empty() && self.store.values().all(|&on| on)
    }
}
