#![doc = include_str!("../README.md")]
#![doc(test(attr(deny(warnings))))]

mod causal;
mod clock;
#[cfg(feature = "serde")]
pub mod codec;
mod crdt;
mod document;
#[cfg(feature = "serde")]
pub mod durable;
mod error;
mod lattice;
#[cfg(feature = "serde")]
pub mod sync;

pub use causal::{
    Causal, CausalContext, Dot, DotStore, InvalidContext, InvalidReplicaId, ReplicaId,
};
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub use clock::SystemClock;
pub use clock::{ClockError, Hlc, HlcBuilder, PhysicalClock, Stamp, Timestamp};
#[cfg(feature = "serde")]
pub use codec::{
    DecodeError, DecodeLimits, EncodeError, FORMAT_VERSION, decode, decode_with, encode,
};
pub use crdt::{
    CausalCounter, DwFlag, EwFlag, GCounter, GSet, LwwRegister, MvRegister, OrMap, OrSet,
    PnCounter, RwSet,
};
#[cfg(feature = "serde")]
pub use document::MAX_NESTING;
pub use document::{Doc, Field, FieldKey, Kind, PathError, Register, Scalar, Value};
pub use error::Error;
pub use lattice::{Delta, Lattice};
#[cfg(feature = "serde")]
pub use sync::{
    Count, FullStates, MemoryNetwork, MemoryTransport, PeerStats, Pumped, Resume, SyncConfig,
    SyncEngine, SyncError, SyncStats, Traffic, Transmit, Transport, UnknownEndpoint,
};
