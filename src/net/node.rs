//! An async driver: a sync engine over a network, turned by frames and a tick.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::time::{Instant, sleep_until};
use tracing::warn;

use crate::{Lattice, Network, Pumped, SyncEngine};

/// A [`SyncEngine`] driven over a [`Network`]: [`turn`](Self::turn) waits for a frame or the
/// next tick, then pumps. Apps edit through [`engine_mut`](Self::engine_mut) and call
/// [`pump`](Self::pump) to send at once, typically in a `tokio::select!` with their own input.
///
/// # Examples
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use deltacrdt::{AuthKey, Doc, Hlc, NetConfig, Network, ReplicaId, SyncEngine, SyncNode};
/// let config = NetConfig::new(AuthKey::from_passphrase("team board"));
/// let node = |id: u128| -> Result<SyncNode<Doc>, deltacrdt::Error> {
///     let id = ReplicaId::from_u128(id);
///     let engine = SyncEngine::new(Hlc::builder(id).build()?);
///     Ok(SyncNode::new(engine, Network::new(id, config.clone()), Duration::from_millis(20)))
/// };
/// let (mut a, mut b) = (node(1)?, node(2)?);
/// let addr = a.network().listen_tcp("127.0.0.1:0").await?;
/// b.network().dial_tcp(addr.to_string());
/// b.engine_mut().update(|doc, hlc| doc.increment(hlc.replica(), &["likes"], 2))?;
/// while a.engine().state().counter(&["likes"]) != 2 {
///     tokio::select! { _ = a.turn() => {}, _ = b.turn() => {} }
/// }
/// a.shutdown().await;
/// b.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SyncNode<T> {
    engine: SyncEngine<T>,
    network: Network,
    tick: Duration,
    start: Instant,
    next_tick: Instant,
}

impl<T: Lattice + Serialize + DeserializeOwned> SyncNode<T> {
    /// Drives `engine` over `network`, pumping at least every `tick` (retransmissions).
    #[must_use]
    pub fn new(engine: SyncEngine<T>, network: Network, tick: Duration) -> Self {
        let start = Instant::now();
        Self {
            engine,
            network,
            tick,
            start,
            next_tick: start + tick,
        }
    }

    /// The engine.
    pub fn engine(&self) -> &SyncEngine<T> {
        &self.engine
    }

    /// The engine, to edit (then [`pump`](Self::pump) to send at once).
    pub fn engine_mut(&mut self) -> &mut SyncEngine<T> {
        &mut self.engine
    }

    /// The network (listen, dial, block, stats).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Milliseconds since this node started: the engine's time.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Connects the engine to newly opened sessions, hands it every waiting frame and sends
    /// everything it has to say. Frames the engine refused are logged (`tracing` warnings)
    /// and listed in the result.
    pub fn pump(&mut self) -> Pumped {
        for peer in self.network.take_new_peers() {
            self.engine.connect(peer);
        }
        let now = self.now_ms();
        let pumped = match self.engine.pump(&mut self.network, now) {
            Ok(pumped) => pumped,
            Err(never) => match never {},
        };
        for err in &pumped.refused {
            warn!(error = %err, "frame refused by the sync engine");
        }
        pumped
    }

    /// Waits for a frame or the next tick, then [`pump`](Self::pump)s. Cancel-safe.
    pub async fn turn(&mut self) -> Pumped {
        tokio::select! {
            () = self.network.readable() => {}
            () = sleep_until(self.next_tick) => self.next_tick = Instant::now() + self.tick,
        }
        self.pump()
    }

    /// Shuts the network down (joining its tasks) and returns the engine.
    pub async fn shutdown(self) -> SyncEngine<T> {
        self.network.shutdown().await;
        self.engine
    }
}
