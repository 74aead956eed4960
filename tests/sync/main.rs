//! Replicas talking (DESIGN §5, §12): convergence of sync engines over a seeded faulty network,
//! the peer handshake's golden bytes and refusals, and the tokio network adapters on loopback.
//!
//! Each part is built when the features it exercises are on.

#[cfg(feature = "tokio")]
mod admission;
#[cfg(feature = "auth")]
mod auth;
#[cfg(feature = "sync")]
mod convergence;
#[cfg(feature = "sync")]
mod mapped;
#[cfg(feature = "metrics")]
mod metrics;
#[cfg(feature = "tokio")]
mod net_adapters;
#[cfg(feature = "tokio")]
mod node_handle;
/// Peers with fixed keys and owned ids for the network tests.
#[cfg(feature = "auth")]
#[path = "../support/peers.rs"]
mod peers;
#[cfg(feature = "reconcile")]
mod relays;
#[cfg(feature = "reconcile")]
mod rounds;
/// The seeded simulated network of `convergence`, `mapped`, `relays` and `typed`.
#[cfg(feature = "sync")]
#[path = "../support/sim.rs"]
mod sim;
#[cfg(feature = "reconcile")]
mod skew;
#[cfg(feature = "sync")]
mod typed;
