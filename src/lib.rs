#![doc = include_str!("../README.md")]
#![doc(test(attr(deny(warnings))))]
// On docs.rs (nightly, `--cfg docsrs`): each feature-gated item says which feature it needs.
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "auth")]
mod auth;
#[cfg(feature = "serde")]
mod bounded;
mod causal;
mod clock;
#[cfg(feature = "sync")]
mod codec;
mod crdt;
mod document;
#[cfg(feature = "sync")]
pub mod durable;
mod error;
mod id;
mod lattice;
#[cfg(feature = "tokio")]
mod net;
mod platform;
#[cfg(feature = "sync")]
mod sync;

#[cfg(feature = "auth")]
pub use auth::{
    AUTH_VERSION, AuthError, AuthKey, AwaitingProof, HELLO_LEN, Handshake, NONCE_LEN, Opener,
    PROOF_LEN, Role, Sealer, Session, TAG_LEN,
};
pub use causal::{Causal, CausalContext, Dot, DotStore, InvalidContext, Reconcile};
#[cfg(not(no_os))]
pub use clock::SystemClock;
pub use clock::{ClockError, Hlc, HlcBuilder, PhysicalClock, Stamp, Timestamp};
#[cfg(feature = "sync")]
pub use codec::{
    DecodeError, DecodeLimits, EncodeError, FORMAT_VERSION, decode, decode_with, encode,
};
pub use crdt::{
    CausalCounter, DwFlag, EwFlag, GCounter, GSet, LwwMap, LwwRegister, MvRegister, OrMap, OrSet,
    PnCounter, RwSet,
};
#[cfg(feature = "serde")]
pub use document::MAX_NESTING;
pub use document::{
    Doc, Edit, Field, FieldKey, JsonBuilder, Kind, PathError, Register, Scalar, Value, scalar_order,
};
pub use error::Error;
pub use id::{InvalidReplicaId, ReplicaId};
pub use lattice::{Delta, Lattice};
#[cfg(feature = "tokio")]
pub use net::{
    Backoff, CHANGE_BUFFER, Change, ChangeError, ChangeStream, DialFailures, NetConfig, NetError,
    NetStats, Network, NodeError, NodeHandle, Origin, PeerProgress, Progress, Refusals, SyncNode,
};
#[cfg(feature = "sync")]
pub use sync::{
    Count, FullStates, MemoryNetwork, MemoryTransport, PeerStats, PumpError, Pumped, Replica,
    Resume, Rounds, SyncConfig, SyncEngine, SyncError, SyncStats, Traffic, Transmit, Transport,
    UnknownEndpoint, UpdateError,
};
