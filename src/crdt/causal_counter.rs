//! `CausalCounter`: a counter that can live inside an `OrMap` and be reset by removing its key.

use crate::causal::CausalContext;
use crate::causal::dot_set::DotFun;
use crate::causal::dot_store::causal_type;
use crate::id::ReplicaId;
use crate::lattice::Delta;

/// A causal counter (the paper's `CCounter`): each replica holds one dot tagged with its running
/// contribution; an update replaces the replica's dot with a fresh one. Concurrent updates from
/// different replicas sum. Because it is dot-based it can be nested in an [`OrMap`](crate::OrMap),
/// where removing the key resets it (observed-remove) while concurrent increments survive.
///
/// Contributions saturate at the `i64` range.
///
/// # Examples
/// ```
/// use deltacrdt::{CausalCounter, Lattice, ReplicaId};
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = CausalCounter::default();
/// let mut y = CausalCounter::default();
/// let dx = x.increment(a, 5);
/// let dy = y.decrement(b, 2);
/// x.apply(dy);
/// y.apply(dx);
/// assert_eq!((x.value(), y.value()), (3, 3));
/// ```
#[derive(Clone, Debug, Default)]
pub struct CausalCounter {
    store: DotFun<i64>,
    ctx: CausalContext,
}

causal_type!(CausalCounter, DotFun<i64>);

impl CausalCounter {
    /// Adds `by` (which may be negative) to `replica`'s contribution.
    pub fn add(&mut self, replica: ReplicaId, by: i64) -> Delta<Self> {
        let actor = self.ctx.intern(replica);
        let own = self
            .store
            .iter()
            .filter(|(d, _)| d.actor == actor)
            .fold(0i64, |s, (_, v)| s.saturating_add(*v));
        // Replace only this replica's dot: other replicas' contributions stay.
        let mut mine = DotFun {
            entries: Vec::new(),
        };
        self.store.entries.retain(|e| {
            let keep = e.0.actor != actor;
            if !keep {
                mine.entries.push(*e);
            }
            keep
        });
        let (store, ctx) = mine.replace(&mut self.ctx, replica, own.saturating_add(by));
        self.store.entries.extend(mine.entries);
        crate::platform::sort::sort_unstable_by_key(&mut self.store.entries, |(d, _)| *d);
        Delta::new(Self { store, ctx })
    }

    /// Adds `by` to the counter.
    pub fn increment(&mut self, replica: ReplicaId, by: u64) -> Delta<Self> {
        self.add(replica, i64::try_from(by).unwrap_or(i64::MAX))
    }

    /// Subtracts `by` from the counter.
    pub fn decrement(&mut self, replica: ReplicaId, by: u64) -> Delta<Self> {
        self.add(replica, i64::try_from(by).map_or(i64::MIN, |n| -n))
    }

    /// Resets the counter to zero (concurrent updates survive).
    pub fn reset(&mut self) -> Delta<Self> {
        let (store, ctx) = self.store.clear(&self.ctx);
        Delta::new(Self { store, ctx })
    }

    /// The sum of all contributions.
    #[must_use]
    pub fn value(&self) -> i64 {
        self.store.values().fold(0i64, |s, v| s.saturating_add(*v))
    }
}
