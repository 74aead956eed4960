//! Network adapters on tokio (private module: its public items are re-exported at the crate
//! root; what they do is documented on [`Network`]).

mod admission;
mod backoff;
mod change;
mod config;
mod connection;
mod error;
mod handle;
mod link;
mod network;
mod node;
mod refusal_log;
mod shared;
mod spawned;
mod stats;

pub use backoff::Backoff;
pub use change::{Change, Origin, PeerProgress, Progress};
pub use config::NetConfig;
pub use error::NetError;
pub use handle::{CHANGE_BUFFER, ChangeError, ChangeStream, NodeError, NodeHandle};
pub use network::Network;
pub use node::SyncNode;
pub use stats::{DialFailures, NetStats, Refusals};
