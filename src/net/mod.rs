//! Network adapters on tokio: authenticated TCP and WebSocket links between sync engines.
//!
//! A [`Network`] is one replica's end of the network. It implements
//! [`Transport`](crate::Transport), so [`SyncEngine::pump`](crate::SyncEngine::pump) drives it,
//! and [`SyncNode`] wraps a [`Replica`](crate::Replica) (an engine, or a durable replica) and
//! a network in a small async loop. It
//!
//! - **listens** on TCP ([`Network::listen_tcp`], frames length-delimited by a 4-byte
//!   big-endian prefix) and WebSocket ([`Network::listen_ws`], one binary message per frame —
//!   how browser peers join);
//! - **dials** ([`Network::dial_tcp`], [`Network::dial_ws`]) and redials after any failure with
//!   exponential backoff and jitter ([`Backoff`]), so a remote that restarts is reconnected;
//! - **authenticates** every connection with the [`auth`](crate::auth) handshake before any
//!   frame reaches the engine, and seals every frame (see its threat model: integrity and
//!   authentication, no confidentiality);
//! - **bounds** everything a peer can make it hold: one outbound queue per connection of
//!   [`NetConfig::queue_frames`] frames (when full, the newest frame is dropped and counted —
//!   the engine's anti-entropy repairs the loss), a maximum frame size enforced by the codec
//!   ([`NetError::FrameTooLarge`], connection closed), a handshake timeout, a connection cap;
//! - **refuses** garbage, other protocols and versions, peers without the key and blocked peers
//!   with a typed [`NetError`], logged as a `tracing` warning and counted in [`NetStats`]; the
//!   other connections carry on;
//! - **shuts down** cleanly ([`Network::shutdown`]): listeners and dialers stop, connections
//!   close, every task is joined.
//!
//! Two peers that dial each other keep both connections: frames go out on the newest one and
//! are accepted on either (the engine tolerates duplicates and reordering).
//! [`Network::block`] closes and refuses a peer until [`Network::unblock`] (a deny-list, also
//! how the demo partitions the network).

mod backoff;
mod config;
mod connection;
mod error;
mod link;
mod network;
mod node;
mod shared;
mod stats;

pub use backoff::Backoff;
pub use config::NetConfig;
pub use error::NetError;
pub use network::Network;
pub use node::SyncNode;
pub use stats::{NetStats, Refusals};
