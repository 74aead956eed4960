//! One replica's end of the network: listeners, dialers, sessions, queues.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{Notify, mpsc};
use tokio::time::{sleep, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use super::connection::{self, Ended};
use super::link::{self, FrameSink, FrameStream};
use super::shared::{Admission, Shared, State};
use super::{Backoff, NetConfig, NetError, NetStats};
use crate::auth::Role;
use crate::id::ReplicaId;
use crate::sync::Transport;

/// Where a dialer connects.
#[derive(Clone, Debug)]
enum Target {
    Tcp(String),
    Ws(String),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Tcp(addr) => write!(f, "tcp://{addr}"),
            Self::Ws(url) => f.write_str(url),
        }
    }
}

/// One replica's end of an authenticated network of peers (see [below](#what-a-network-does)).
/// Implements [`Transport`]: sending never blocks and never
/// fails (a frame for a peer without a session, or with a full queue, is dropped and counted);
/// receiving takes frames that passed authentication.
///
/// Must be created inside a tokio runtime. Dropping it stops its tasks;
/// [`shutdown`](Self::shutdown) also waits for them.
///
/// # What a network does
///
/// Network adapters on tokio: authenticated TCP and WebSocket links between sync engines.
///
/// A [`Network`] is one replica's end of the network. It implements
/// [`Transport`](crate::Transport), so [`SyncEngine::pump`](crate::SyncEngine::pump) drives it,
/// and [`SyncNode`](crate::SyncNode) wraps a [`Replica`](crate::Replica) (an engine, or a
/// durable replica) and a network in a small async loop. It
///
/// - **listens** on TCP ([`Network::listen_tcp`], frames length-delimited by a 4-byte
///   big-endian prefix) and WebSocket ([`Network::listen_ws`], one binary message per frame —
///   how browser peers join);
/// - **dials** ([`Network::dial_tcp`], [`Network::dial_ws`]) and redials after any failure with
///   exponential backoff and jitter ([`Backoff`]), so a remote that restarts is reconnected;
/// - **authenticates** every connection with the [`auth`](crate::Handshake) handshake (Noise
///   XX: both sides prove their static key, which must be on the other's
///   [`NetConfig::allow`] list and own the replica id it speaks for) before any frame reaches
///   the engine, and **encrypts** every frame (AES-256-GCM; see the handshake's threat model);
/// - **bounds** everything a peer can make it hold: one outbound queue per connection of
///   [`NetConfig::queue_frames`] frames (when full, the newest frame is dropped and counted —
///   the engine's anti-entropy repairs the loss), a maximum frame size enforced by the codec
///   ([`NetError::FrameTooLarge`], connection closed), a handshake timeout;
/// - **admits** connections in three separate budgets, so a flood of one kind locks out no
///   other: inbound connections still handshaking ([`NetConfig::max_handshakes`], and
///   [`NetConfig::max_handshakes_per_address`] per source IP; a newcomer past either pushes out
///   the oldest, so connections held open without finishing the handshake keep being replaced
///   while an honest peer's completes), authenticated sessions ([`NetConfig::max_sessions`]),
///   and our own dials (one connection per dialer, never refused by the other two);
/// - **refuses** garbage, other protocols and versions, keys not on the allow-list, replica ids
///   a key does not own, and blocked peers
///   with a typed [`NetError`], counted in [`NetStats`] and logged as a `tracing` warning — at
///   most one per 10 s, which says how many were held back; the other connections carry on; a
///   second live session under one replica id, and a peer claiming this replica's own id, are
///   refused too (see below);
/// - **shuts down** cleanly ([`Network::shutdown`]): listeners and dialers stop, connections
///   close, every task is joined.
///
/// **One replica id, one live session.** A connection whose peer authenticates as a replica
/// that already has a session here (inbound or outbound, TCP or WebSocket) is refused with
/// [`NetError::DuplicateSession`] and the open session carries on untouched; a peer claiming
/// this replica's own id (a node dialing itself, a copied data directory dialing its original)
/// is refused in the handshake ([`AuthError::SelfConnection`](crate::AuthError)). Both are
/// counted ([`Refusals::duplicate`](crate::Refusals), [`Refusals::self_connection`](crate::Refusals))
/// and warned about once, then logged at `debug`, however often the other side redials. Two
/// peers that dial each other so keep one connection: a dialer refused as a duplicate waits
/// until the open session closes before it dials again. (If both handshakes complete at the
/// same instant each side may keep a different one; both then close, and the dialers' jittered
/// backoff settles on one.)
/// [`Network::block`] closes and refuses a peer until [`Network::unblock`] (a deny-list, also
/// how the demo partitions the network).
///
/// # Examples
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use deltacrdt::{AllowList, NetConfig, Network, PeerKey, Transport};
/// let (alice_key, bob_key) = (PeerKey::generate()?, PeerKey::generate()?);
/// let (a, b) = (alice_key.new_replica_id()?, bob_key.new_replica_id()?);
/// let allow = AllowList::of([alice_key.public(), bob_key.public()]);
/// let mut alice = Network::new(a, NetConfig::new(alice_key, allow.clone()))?;
/// let mut bob = Network::new(b, NetConfig::new(bob_key, allow))?;
/// let addr = alice.listen_tcp("127.0.0.1:0").await?;
/// bob.dial_tcp(addr.to_string());
/// while !bob.peers().contains(&a) { tokio::task::yield_now().await; }
/// bob.send(a, b"hello".to_vec())?;
/// alice.readable().await;
/// assert_eq!(alice.recv()?, Some((b, b"hello".to_vec())));
/// bob.shutdown().await;
/// alice.shutdown().await;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Network {
    shared: Arc<Shared>,
    inbound: mpsc::Receiver<(ReplicaId, Vec<u8>)>,
    /// A frame taken by [`readable`](Self::readable), not yet by [`recv`](Transport::recv).
    pending: VecDeque<(ReplicaId, Vec<u8>)>,
}

impl Network {
    /// A network end for replica `me`, which `config.identity` must own; nothing listens or
    /// dials until told to.
    ///
    /// # Errors
    /// [`NetError::NotOwned`] if the key does not own `me`.
    pub fn new(me: ReplicaId, config: NetConfig) -> Result<Self, NetError> {
        let key = config.identity.public();
        if !key.owns(me) {
            return Err(NetError::NotOwned { replica: me, key });
        }
        let (tx, rx) = mpsc::channel(config.inbound_frames.max(1));
        Ok(Self {
            shared: Arc::new(Shared {
                config,
                inbound: tx,
                cancel: CancellationToken::new(),
                opened: Notify::new(),
                closed: Notify::new(),
                peer_closed: Notify::new(),
                tasks: TaskTracker::new(),
                state: Mutex::new(State {
                    me,
                    ..State::default()
                }),
            }),
            inbound: rx,
            pending: VecDeque::new(),
        })
    }

    /// The id of the replica this end authenticates as.
    #[must_use]
    pub fn id(&self) -> ReplicaId {
        self.shared.with(|s| s.me)
    }

    /// Authenticates as `id` from now on: every open session closes, and listeners and
    /// dialers (which reconnect by themselves) handshake under `id`. For a replica that forked
    /// to a fresh id (its old one was reused by a restored backup or a copy): its peers must
    /// meet it under the new id, since a session speaks for the id it authenticated.
    /// [`SyncNode`](crate::SyncNode) calls it when its replica's id changes.
    pub fn rekey(&self, id: ReplicaId) {
        self.shared.with(|s| {
            s.me = id;
            for session in s.sessions.values() {
                session.cancel.cancel();
            }
        });
    }

    /// Accepts TCP peers on `addr` (port 0 picks a free port); returns the bound address.
    ///
    /// # Errors
    /// [`NetError::Io`] when the address cannot be bound.
    pub async fn listen_tcp(&self, addr: impl ToSocketAddrs) -> Result<SocketAddr, NetError> {
        self.listen(addr, false).await
    }

    /// Accepts WebSocket peers on `addr` (any path; one binary message per frame); returns the
    /// bound address.
    ///
    /// # Errors
    /// [`NetError::Io`] when the address cannot be bound.
    pub async fn listen_ws(&self, addr: impl ToSocketAddrs) -> Result<SocketAddr, NetError> {
        self.listen(addr, true).await
    }

    async fn listen(&self, addr: impl ToSocketAddrs, ws: bool) -> Result<SocketAddr, NetError> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let shared = Arc::clone(&self.shared);
        self.shared.tasks.spawn(accept_loop(shared, listener, ws));
        debug!(%local, ws, "listening");
        Ok(local)
    }

    /// Keeps a TCP connection to `addr` (`host:port`) open: dials now, and again with backoff
    /// whenever the connection fails or closes, until [`shutdown`](Self::shutdown).
    pub fn dial_tcp(&self, addr: impl Into<String>) {
        self.dial(Target::Tcp(addr.into()));
    }

    /// Keeps a WebSocket connection to `url` (`ws://host:port/path`) open, like
    /// [`dial_tcp`](Self::dial_tcp).
    pub fn dial_ws(&self, url: impl Into<String>) {
        self.dial(Target::Ws(url.into()));
    }

    fn dial(&self, target: Target) {
        let shared = Arc::clone(&self.shared);
        self.shared.tasks.spawn(dial_loop(shared, target));
    }

    /// Closes every session with `peer` and refuses it until [`unblock`](Self::unblock)ed.
    pub fn block(&self, peer: ReplicaId) {
        self.shared.with(|s| {
            s.blocked.insert(peer);
            if let Some(h) = s.sessions.get(&peer) {
                h.cancel.cancel();
            }
        });
    }

    /// Accepts `peer` again (dialers reconnect at their next attempt).
    pub fn unblock(&self, peer: ReplicaId) {
        self.shared.with(|s| s.blocked.remove(&peer));
    }

    /// Accepts every peer again.
    pub fn unblock_all(&self) {
        self.shared.with(|s| s.blocked.clear());
    }

    /// Peers with an open session.
    #[must_use]
    pub fn peers(&self) -> Vec<ReplicaId> {
        let mut peers: Vec<_> = self.shared.with(|s| s.sessions.keys().copied().collect());
        crate::platform::sort::sort(&mut peers);
        peers
    }

    /// Peers whose session opened since the last call (a driver calls
    /// [`SyncEngine::connect`](crate::SyncEngine::connect) for them).
    pub fn take_new_peers(&mut self) -> Vec<ReplicaId> {
        self.shared.with(|s| std::mem::take(&mut s.new_peers))
    }

    /// Peers whose session closed since the last call, with none open now (a driver calls
    /// [`SyncEngine::session_closed`](crate::SyncEngine::session_closed) for them). Take them
    /// after [`take_new_peers`](Self::take_new_peers): a peer whose session closed and opened
    /// again in between is only in that list.
    pub fn take_closed_peers(&mut self) -> Vec<ReplicaId> {
        self.shared.with(|s| std::mem::take(&mut s.closed_peers))
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> NetStats {
        self.shared.with(|s| NetStats {
            handshaking: s.handshakes.len(),
            ..s.stats.clone()
        })
    }

    /// Waits until a frame is ready for [`recv`](Transport::recv). Cancel-safe (use it in
    /// `tokio::select!`); never returns if the network is shut down and nothing is pending.
    pub async fn readable(&mut self) {
        if self.pending.is_empty() {
            match self.inbound.recv().await {
                Some(item) => self.pending.push_back(item),
                None => std::future::pending().await,
            }
        }
    }

    /// Waits until a session opened since the last call returned (its peer is then in
    /// [`take_new_peers`](Self::take_new_peers)). Cancel-safe. A driver that sleeps until
    /// its replica's next deadline waits on this too: a new peer must be greeted at once.
    pub fn session_opened(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        async move { shared.opened.notified().await }
    }

    /// Waits until a session closed since the last call returned (its peer is then in
    /// [`take_closed_peers`](Self::take_closed_peers), unless it opened again). Cancel-safe.
    pub fn session_closed(&self) -> impl Future<Output = ()> + Send + 'static {
        let shared = Arc::clone(&self.shared);
        async move { shared.peer_closed.notified().await }
    }

    /// Stops listeners and dialers, closes every session and waits for all tasks to finish.
    pub async fn shutdown(&self) {
        self.shared.cancel.cancel();
        self.shared.tasks.close();
        self.shared.tasks.wait().await;
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        self.shared.cancel.cancel();
    }
}

impl Transport for Network {
    type Error = Infallible;

    fn send(&mut self, to: ReplicaId, frame: Vec<u8>) -> Result<(), Infallible> {
        let max = self.shared.max_frame();
        self.shared.with(|s| {
            if frame.len() > max {
                s.stats.dropped_oversized += 1;
                warn!(peer = %to, len = frame.len(), max, "frame above the maximum size not sent");
                return;
            }
            let Some(handle) = s.sessions.get(&to) else {
                s.stats.dropped_unconnected += 1;
                return;
            };
            match handle.queue.try_send(frame) {
                Ok(()) => {}
                Err(mpsc::error::TrySendError::Full(_)) => s.stats.dropped_full += 1,
                Err(mpsc::error::TrySendError::Closed(_)) => s.stats.dropped_unconnected += 1,
            }
        });
        Ok(())
    }

    fn recv(&mut self) -> Result<Option<(ReplicaId, Vec<u8>)>, Infallible> {
        if let Some(item) = self.pending.pop_front() {
            return Ok(Some(item));
        }
        Ok(self.inbound.try_recv().ok())
    }
}

async fn accept_loop(shared: Arc<Shared>, listener: TcpListener, ws: bool) {
    loop {
        let accepted = tokio::select! {
            () = shared.cancel.cancelled() => break,
            r = listener.accept() => r,
        };
        let (stream, remote) = match accepted {
            Ok(ok) => ok,
            Err(e) => {
                // E.g. out of file descriptors: wait a little rather than spin.
                warn!(error = %e, "accept failed");
                sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let admission = Admission::new(&shared, remote.ip());
        let task_shared = Arc::clone(&shared);
        shared.tasks.spawn(async move {
            let remote = remote.to_string();
            let link = if ws {
                tokio::select! {
                    r = accept_ws(&task_shared, stream) => r,
                    () = admission.pushed_out() => return,
                }
            } else {
                Ok(link::tcp(stream, task_shared.max_wire_frame()))
            };
            match link {
                Ok((sink, frames)) => {
                    let role = (Role::Responder, Some(admission));
                    connection::run(task_shared, sink, frames, role, remote).await;
                }
                Err(e) => task_shared.refuse(&e, &remote),
            }
        });
    }
}

async fn accept_ws(
    shared: &Shared,
    stream: TcpStream,
) -> Result<(FrameSink, FrameStream), NetError> {
    let max = shared.max_wire_frame();
    let limit = shared.config.handshake_timeout;
    let upgrade = tokio_tungstenite::accept_async_with_config(stream, Some(link::ws_config(max)));
    let socket = timeout(limit, upgrade)
        .await
        .map_err(|_| NetError::HandshakeTimeout(limit))??;
    Ok(link::ws(socket, max))
}

async fn connect(shared: &Shared, target: &Target) -> Result<(FrameSink, FrameStream), NetError> {
    let max = shared.max_wire_frame();
    let limit = shared.config.handshake_timeout;
    let connecting = async {
        match target {
            Target::Tcp(addr) => Ok(link::tcp(TcpStream::connect(addr.as_str()).await?, max)),
            Target::Ws(url) => link::dial_ws(url, max).await,
        }
    };
    timeout(limit, connecting)
        .await
        .map_err(|_| NetError::HandshakeTimeout(limit))?
}

/// Waits until `peer` has no open session; `false` if the network shut down first.
async fn until_closed(shared: &Shared, peer: ReplicaId) -> bool {
    loop {
        let closed = shared.closed.notified();
        tokio::pin!(closed);
        // Registered before the check, so a close between the two is not missed.
        closed.as_mut().enable();
        if !shared.connected(peer) {
            return true;
        }
        tokio::select! {
            () = shared.cancel.cancelled() => return false,
            () = closed => {}
        }
    }
}

async fn dial_loop(shared: Arc<Shared>, target: Target) {
    let mut seed = [0; 8];
    // Jitter only: a failed OS generator leaves a fixed seed, which is still a valid backoff.
    let _ = getrandom::fill(&mut seed);
    let config = &shared.config;
    let mut backoff = Backoff::new(
        config.min_backoff,
        config.max_backoff,
        u64::from_le_bytes(seed),
    );
    // Whether a failure of this dialer was warned about since it last connected: one warning
    // per streak of failures, the rest at debug (the dialer retries with backoff for ever).
    let mut warned = false;
    while !shared.cancel.is_cancelled() {
        shared.with(|s| s.stats.dials += 1);
        let link = tokio::select! {
            () = shared.cancel.cancelled() => break,
            r = connect(&shared, &target) => r,
        };
        let established = match link {
            Ok((sink, frames)) => {
                let remote = target.to_string();
                let shared = Arc::clone(&shared);
                connection::run(shared, sink, frames, (Role::Initiator, None), remote).await
            }
            Err(e) => {
                let worth = shared.with(|s| s.stats.dial_failures.count(&e));
                if worth && !std::mem::replace(&mut warned, true) {
                    warn!(%target, error = %e, "dial failed; retrying with backoff (further failures logged at debug until it connects)");
                } else {
                    debug!(%target, error = %e, "dial failed");
                }
                Ended::Failed
            }
        };
        match established {
            Ended::Served => {
                backoff.reset();
                warned = false;
            }
            Ended::Failed => {}
            Ended::Duplicate(peer) => {
                // The target is a peer we are already connected to (it dialed us, or another
                // dialer reached it): dialing again before that session ends would only be
                // refused again.
                if !until_closed(&shared, peer).await {
                    break;
                }
            }
        }
        tokio::select! {
            () = shared.cancel.cancelled() => break,
            () = sleep(backoff.next_delay()) => {}
        }
    }
}
