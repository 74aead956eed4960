//! The replicated types: each one a join-semilattice whose mutators return deltas.

mod or_set;

pub use or_set::OrSet;
