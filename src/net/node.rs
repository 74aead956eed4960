//! An async driver: a replica (a sync engine, durable or not) over a network, turned by
//! frames, new sessions and the replica's own deadline.

use std::time::Duration;

use tokio::time::{Instant, sleep_until};
use tracing::warn;

use crate::net::Network;
use crate::sync::{PumpError, Pumped, Replica};

/// A [`Replica`] — a [`SyncEngine`](crate::SyncEngine) or a
/// [`DurableReplica`](crate::durable::DurableReplica) — driven over a [`Network`]:
/// [`turn`](Self::turn) waits for a frame, a session opened or closed, or the replica's next deadline
/// ([`Replica::poll_timeout`]; no fixed tick: an idle node sleeps until input), then pumps
/// ([`Replica::pump`]). Apps edit and read through [`replica_mut`](Self::replica_mut) and
/// [`replica`](Self::replica) (the [`Replica`] trait does both for either kind) and call
/// [`pump`](Self::pump) to send at once, typically in a `tokio::select!` with their own input.
///
/// A durable replica's store failure stops the turn with its error before any frame leaves
/// (for an engine the error is [`Infallible`](std::convert::Infallible); the network
/// never fails a turn: it redials, drops and refuses by itself).
///
/// # Examples
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use deltacrdt::{AllowList, Doc, Hlc, NetConfig, Network, PeerKey, SyncEngine, SyncNode};
/// let keys = [PeerKey::generate()?, PeerKey::generate()?];
/// let allow = AllowList::of(keys.iter().map(PeerKey::public));
/// let node = |key: &PeerKey| -> Result<SyncNode<SyncEngine<Doc>>, Box<dyn std::error::Error>> {
///     let id = key.new_replica_id()?;
///     let engine = SyncEngine::new(Hlc::builder(id).build()?);
///     let config = NetConfig::new(key.clone(), allow.clone());
///     Ok(SyncNode::new(engine, Network::new(id, config)?))
/// };
/// let (mut a, mut b) = (node(&keys[0])?, node(&keys[1])?);
/// let addr = a.network().listen_tcp("127.0.0.1:0").await?;
/// b.network().dial_tcp(addr.to_string());
/// b.replica_mut().update(|doc, hlc| doc.increment(hlc.replica(), &["likes"], 2))?;
/// while a.replica().state().counter(&["likes"]) != 2 {
///     tokio::select! { _ = a.turn() => {}, _ = b.turn() => {} }
/// }
/// a.shutdown().await;
/// b.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct SyncNode<R> {
    replica: R,
    network: Network,
    start: Instant,
    /// When the stats were last published as metrics.
    #[cfg(feature = "metrics")]
    published: Option<Instant>,
}

impl<R: Replica> SyncNode<R> {
    /// Drives `replica` over `network`; its time ([`now_ms`](Self::now_ms)) starts now.
    #[must_use]
    pub fn new(replica: R, network: Network) -> Self {
        Self {
            replica,
            network,
            start: Instant::now(),
            #[cfg(feature = "metrics")]
            published: None,
        }
    }

    /// When the replica's next tick is due ([`Replica::poll_timeout`]), as an instant;
    /// `None`: nothing but input wakes the node.
    pub fn deadline(&self) -> Option<Instant> {
        let ms = self.replica.poll_timeout()?;
        Some(self.start + Duration::from_millis(ms))
    }

    /// The replica object (read its state and statistics through [`Replica`]).
    pub fn replica(&self) -> &R {
        &self.replica
    }

    /// The replica object, to edit (then [`pump`](Self::pump) to send at once).
    pub fn replica_mut(&mut self) -> &mut R {
        &mut self.replica
    }

    /// The network (listen, dial, block, stats).
    pub fn network(&self) -> &Network {
        &self.network
    }

    /// Milliseconds since this node started: the replica's time.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Connects the replica to newly opened sessions (and tells it of closed ones: the peer
    /// shows as not connected), hands it every waiting frame and sends
    /// everything it has to say. Frames the replica refused are logged (`tracing` warnings)
    /// and listed in the result. A replica that forked to a fresh id (its id was reused by a
    /// restored backup or a copy) gets its network rekeyed to it ([`Network::rekey`]).
    ///
    /// # Errors
    /// The replica's ([`Replica::Error`]): a durable replica could not write, and nothing was
    /// sent. The frames received were applied; the next pump retries the write.
    pub fn pump(&mut self) -> Result<Pumped, R::Error> {
        for peer in self.network.take_new_peers() {
            self.replica.connect(peer);
        }
        // Taken before the frames: a closed session's frames all reached the inbound queue
        // before its close was recorded, so none of them marks the peer heard again after.
        let closed = self.network.take_closed_peers();
        let now = self.now_ms();
        let pumped = self.replica.pump(&mut self.network, now);
        for peer in closed {
            self.replica.session_closed(peer);
        }
        let pumped = match pumped {
            Ok(pumped) => pumped,
            Err(PumpError::Replica(err)) => return Err(err),
            Err(PumpError::Transport(never)) => match never {},
        };
        for err in &pumped.refused {
            warn!(error = %err, "frame refused by the replica");
        }
        #[cfg(feature = "metrics")]
        self.publish_metrics();
        let id = self.replica.id();
        if id != self.network.id() {
            warn!(old = %self.network.id(), new = %id, "the replica forked to a fresh id: its sessions reopen under it");
            self.network.rekey(id);
        }
        Ok(pumped)
    }

    /// Waits for a frame, a session opened or closed, or the replica's deadline
    /// ([`deadline`](Self::deadline), asked afresh on every call, so after every pump), then
    /// [`pump`](Self::pump)s. Cancel-safe. After a local edit, call `pump` (or this) again so
    /// the edit goes out and the deadline is renewed.
    ///
    /// # Errors
    /// As [`pump`](Self::pump).
    pub async fn turn(&mut self) -> Result<Pumped, R::Error> {
        self.ready().await;
        self.pump()
    }

    /// Waits for what [`turn`](Self::turn) waits for — a frame, a session opened or closed,
    /// or the replica's deadline — without pumping: for a loop that does something between the
    /// wake-up and the [`pump`](Self::pump). Cancel-safe.
    pub async fn ready(&mut self) {
        let deadline = self.deadline();
        let opened = self.network.session_opened();
        let closed = self.network.session_closed();
        tokio::select! {
            () = self.network.readable() => {}
            () = opened => {}
            () = closed => {}
            () = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {}
        }
    }

    /// Publishes the replica's and the network's stats as metrics, at most once a second
    /// (feature `metrics`).
    #[cfg(feature = "metrics")]
    fn publish_metrics(&mut self) {
        let now = Instant::now();
        if self
            .published
            .is_some_and(|at| now.duration_since(at) < Duration::from_secs(1))
        {
            return;
        }
        self.published = Some(now);
        self.replica.stats().publish_metrics();
        self.network.stats().publish_metrics();
    }

    /// Shuts the network down (joining its tasks) and returns the replica.
    pub async fn shutdown(self) -> R {
        self.network.shutdown().await;
        self.replica
    }
}
