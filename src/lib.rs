#![doc = include_str!("../README.md")]

mod causal;
mod crdt;
mod lattice;

pub use causal::{Causal, CausalContext, Dot, DotStore, InvalidContext, InvalidReplicaId, ReplicaId};
pub use crdt::OrSet;
pub use lattice::{Delta, Lattice};
