//! Causality: replica ids, dots, causal contexts and the dot stores causal types are built on.

pub(crate) mod context;
pub(crate) mod dot;
pub(crate) mod dot_map;
pub(crate) mod dot_set;
mod replica_id;
pub(crate) mod store;

pub use context::{CausalContext, InvalidContext};
pub use dot::Dot;
pub(crate) use replica_id::first_duplicate;
pub use replica_id::{InvalidReplicaId, ReplicaId};
pub use store::{Causal, DotStore};
