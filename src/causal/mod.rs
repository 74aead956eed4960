//! Causality: replica ids, dots, causal contexts and the dot stores causal types are built on.

pub(crate) mod conflict;
pub(crate) mod context;
pub(crate) mod dot;
pub(crate) mod dot_map;
pub(crate) mod dot_set;
pub(crate) mod dot_store;
pub(crate) mod reconcile;

pub use context::{CausalContext, InvalidContext};
pub use dot::Dot;
pub use dot_store::{Causal, DotStore};
pub use reconcile::Reconcile;
