//! `MvRegister`: the multi-value register.

use crate::causal::CausalContext;
use crate::causal::dot_set::DotFun;
use crate::causal::dot_store::causal_type;
use crate::id::ReplicaId;
use crate::lattice::Delta;

/// A multi-value register: a write replaces every value it observed, and concurrent writes are
/// all kept until a later write observes them — no write is silently lost.
///
/// # Examples
/// ```
/// use deltacrdt::{Lattice, MvRegister, ReplicaId};
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = MvRegister::default();
/// let mut y = MvRegister::default();
/// let dx = x.write(a, "red");
/// let dy = y.write(b, "blue");
/// x.apply(dy);
/// y.apply(dx);
/// let mut seen: Vec<_> = x.values().copied().collect();
/// seen.sort();
/// assert_eq!(seen, ["blue", "red"]);
/// let resolve = x.write(a, "purple");
/// y.apply(resolve);
/// assert_eq!(y.values().collect::<Vec<_>>(), [&"purple"]);
/// ```
#[derive(Clone, Debug)]
pub struct MvRegister<V> {
    store: DotFun<V>,
    ctx: CausalContext,
}

causal_type!(MvRegister<V>, DotFun<V>, where V: Clone + PartialEq + core::fmt::Debug);

impl<V> Default for MvRegister<V> {
    fn default() -> Self {
        Self {
            store: DotFun::default(),
            ctx: CausalContext::default(),
        }
    }
}

impl<V: Clone + PartialEq + core::fmt::Debug> MvRegister<V> {
    /// Writes `value`, replacing every value observed so far.
    pub fn write(&mut self, replica: ReplicaId, value: V) -> Delta<Self> {
        let (store, ctx) = self.store.replace(&mut self.ctx, replica, value);
        Delta::new(Self { store, ctx })
    }

    /// Empties the register (concurrent writes survive).
    pub fn clear(&mut self) -> Delta<Self> {
        let (store, ctx) = self.store.clear(&self.ctx);
        Delta::new(Self { store, ctx })
    }
}

impl<V> MvRegister<V> {
    /// The concurrent values, ordered by the dot that wrote them; empty if never written.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.store.values()
    }
}
