//! Delta-state anti-entropy over any transport, sans IO.
//!
//! Each replica keeps its state `X`, a sequence number `c`, a buffer `D` of the deltas it
//! applied (`c ↦ (delta-group, origin)`) and, per peer `j`, the highest sequence number `A[j]`
//! that peer acknowledged (Almeida, Shoker, Baquero, *Delta State Replicated Data Types*,
//! JPDC 2018, Algorithm 2):
//!
//! 1. **Local update** — the mutator's delta `d` is joined into `X`, stored as `D[c]`, `c += 1`.
//! 2. **Ship** — a peer with `A[j] < c` gets `⊔ D[A[j]..c)` tagged with `c`, skipping deltas that
//!    came from `j` itself (no back-propagation). If the buffer no longer reaches back to
//!    `A[j]` — a new peer after the buffer was collected, a peer after this replica restarted,
//!    a peer evicted by the buffer's cap — it gets the full state instead, counted in
//!    [`SyncStats::full_states`] with its reason. Large payloads travel as chunks.
//! 3. **Receive** — the frame is decoded under [`DecodeLimits`](crate::DecodeLimits) and
//!    validated; its greatest timestamp is checked for drift and merged into the [`Hlc`](crate::Hlc);
//!    only then is it joined. If it inflated `X`, **only the new part** is buffered, tagged with
//!    its origin, `c += 1` ([`Lattice::join_novelty`](crate::Lattice::join_novelty) joins and
//!    returns [`Lattice::novelty`](crate::Lattice::novelty) in one pass).
//!    It is acknowledged either way, duplicates included.
//! 4. **Ack** — `A[j] = max(A[j], n)`; deltas every peer acknowledged are collected.
//!
//! One data message per peer is in flight at a time; deltas made meanwhile go out together
//! when it is acknowledged, or when [`SyncConfig::retransmit_after_ms`] passes without an
//! acknowledgement (so a lost message is repaired by the next one). Because every message
//! starts at the peer's acknowledged point, a replica only ever joins an interval whose
//! prefix it already holds: updates become visible in causal order.
//!
//! A session opens with a hello each way (the replica id; the frame header carries the
//! format version, and a peer speaking another one gets [`SyncError::Incompatible`]).

mod buffer;
mod config;
mod engine;
mod error;
mod message;
mod peer;
mod replica;
mod sorted_map;
mod stats;
mod transport;

pub use config::SyncConfig;
pub use engine::{Resume, SyncEngine, Transmit};
pub use error::SyncError;
pub use replica::{PumpError, Replica, UpdateError};
pub use stats::{Count, FullStates, PeerStats, SyncStats, Traffic};
pub use transport::{MemoryNetwork, MemoryTransport, Pumped, Transport, UnknownEndpoint};
