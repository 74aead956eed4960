//! Delta-state anti-entropy, sans IO (private module: its public items are re-exported at
//! the crate root; the protocol is documented on [`SyncEngine`]).

mod buffer;
#[cfg(not(small_code))]
mod changes;
mod config;
#[cfg(feature = "reconcile")]
mod conflicts;
mod engine;
mod error;
#[cfg(feature = "reconcile")]
mod held;
mod message;
#[cfg(feature = "metrics")]
pub(crate) mod metrics;
mod peer;
#[cfg(feature = "reconcile")]
mod reconcile;
#[cfg(feature = "reconcile")]
mod reconciling;
#[cfg(feature = "reconcile")]
mod relay;
#[cfg(feature = "reconcile")]
mod relaying;
mod replica;
#[cfg(feature = "reconcile")]
mod round;
#[cfg(feature = "reconcile")]
mod skew;
mod sorted_map;
mod stats;
mod transport;

pub use config::SyncConfig;
pub use engine::{Resume, SyncEngine, Transmit};
pub use error::SyncError;
pub use replica::{PumpError, Replica, UpdateError};
#[cfg(feature = "reconcile")]
pub use stats::SkewStats;
pub use stats::{Count, FullStates, PeerStats, Rounds, SyncStats, Traffic};
pub use transport::{MemoryNetwork, MemoryTransport, Pumped, Transport, UnknownEndpoint};
