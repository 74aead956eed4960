//! What a network's tasks share: its configuration, its sessions and their queues, its
//! counters, and the handshakes in progress. The `Network` handle and every connection task hold it.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use super::admission::Handshakes;
use super::refusal_log::RefusalLog;
use super::{NetConfig, NetError, NetStats};
use crate::auth::{AuthError, MAX_FRAME_BYTES, TAG_LEN};
use crate::id::ReplicaId;

/// An open session's handle: its outbound queue and its off switch.
#[derive(Debug)]
pub(super) struct SessionHandle {
    pub(super) id: u64,
    pub(super) queue: mpsc::Sender<Vec<u8>>,
    pub(super) cancel: CancellationToken,
}

#[derive(Debug, Default)]
pub(super) struct State {
    /// The replica id this end authenticates as ([`Network::rekey`](super::Network::rekey)
    /// changes it).
    pub(super) me: ReplicaId,
    /// The open session of each peer: one replica id, one live session.
    pub(super) sessions: HashMap<ReplicaId, SessionHandle>,
    /// Peers whose duplicate sessions were refused with a warning while their session is open:
    /// later refusals are logged at `debug` (a redialing duplicate must not flood the log).
    /// Bounded by `sessions`: an entry leaves with its peer's session.
    pub(super) warned_duplicate: HashSet<ReplicaId>,
    /// Whether a connection claiming this replica's own id was refused with a warning already.
    pub(super) warned_self: bool,
    pub(super) blocked: HashSet<ReplicaId>,
    pub(super) new_peers: Vec<ReplicaId>,
    /// Peers whose session closed, with none open now (at most one entry per peer).
    pub(super) closed_peers: Vec<ReplicaId>,
    pub(super) stats: NetStats,
    /// Inbound connections still handshaking.
    pub(super) handshakes: Handshakes,
    /// Refusal warnings, rate-limited.
    pub(super) refusal_log: RefusalLog,
    pub(super) next_id: u64,
}

/// What the network's tasks share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) config: NetConfig,
    pub(super) inbound: mpsc::Sender<(ReplicaId, Vec<u8>)>,
    pub(super) cancel: CancellationToken,
    /// Woken when a session opens (see [`Network::session_opened`]).
    pub(super) opened: Notify,
    /// Woken when a session closes (a dialer refused as a duplicate waits for it).
    pub(super) closed: Notify,
    /// Woken (with a stored permit, so a close between two waits is not missed) when a peer
    /// joins `closed_peers` (see [`Network::session_closed`](super::Network::session_closed)).
    pub(super) peer_closed: Notify,
    pub(super) tasks: TaskTracker,
    pub(super) state: Mutex<State>,
}

impl Shared {
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Logs and counts a refused or failed connection. Refusals a peer repeats on every redial
    /// (a duplicate of a live session, our own id) warn once, then log at `debug`.
    pub(super) fn refuse(&self, err: &NetError, remote: &str) {
        let warn_now = self.with(|s| {
            s.stats.refused.count(err);
            let worth = match err {
                // Asked for: not worth a warning.
                NetError::Blocked(_) => false,
                NetError::DuplicateSession { replica } => {
                    // Only while the session it duplicates is open, so the set stays bounded.
                    s.sessions.contains_key(replica) && s.warned_duplicate.insert(*replica)
                }
                NetError::Auth(AuthError::SelfConnection(_)) => {
                    !std::mem::replace(&mut s.warned_self, true)
                }
                _ => true,
            };
            worth.then(|| s.refusal_log.allow(Instant::now())).flatten()
        });
        match warn_now {
            Some(0) => warn!(remote, error = %err, "connection refused or closed on error"),
            Some(held_back) => warn!(
                remote, error = %err, held_back,
                "connection refused or closed on error ({held_back} more since the last warning: see NetStats::refused)"
            ),
            None => debug!(remote, error = %err, "connection refused"),
        }
    }

    /// Registers an authenticated session, unless its peer is blocked or already has one: the
    /// open session is never displaced by a newcomer claiming the same id.
    pub(super) fn register(
        &self,
        peer: ReplicaId,
    ) -> Result<(u64, mpsc::Receiver<Vec<u8>>, CancellationToken), NetError> {
        self.with(|s| {
            if s.blocked.contains(&peer) {
                return Err(NetError::Blocked(peer));
            }
            if s.sessions.contains_key(&peer) {
                return Err(NetError::DuplicateSession { replica: peer });
            }
            let max = self.config.max_sessions;
            if s.sessions.len() >= max {
                return Err(NetError::TooManySessions { max });
            }
            let (tx, rx) = mpsc::channel(self.config.queue_frames.max(1));
            let cancel = self.cancel.child_token();
            s.next_id += 1;
            let id = s.next_id;
            let handle = SessionHandle {
                id,
                queue: tx,
                cancel: cancel.clone(),
            };
            s.sessions.insert(peer, handle);
            s.new_peers.push(peer);
            s.closed_peers.retain(|&p| p != peer);
            self.opened.notify_one();
            s.stats.sessions += 1;
            s.stats.open_sessions += 1;
            Ok((id, rx, cancel))
        })
    }

    pub(super) fn deregister(&self, peer: ReplicaId, id: u64) {
        self.with(|s| {
            if s.sessions.get(&peer).is_some_and(|h| h.id == id) {
                s.sessions.remove(&peer);
                s.warned_duplicate.remove(&peer);
                if !s.closed_peers.contains(&peer) {
                    s.closed_peers.push(peer);
                }
                self.peer_closed.notify_one();
            }
            s.stats.open_sessions = s.stats.open_sessions.saturating_sub(1);
        });
        self.closed.notify_waiters();
    }

    /// Whether `peer` has an open session.
    pub(super) fn connected(&self, peer: ReplicaId) -> bool {
        self.with(|s| s.sessions.contains_key(&peer))
    }

    /// The largest frame sent or accepted, before its tag.
    pub(super) fn max_frame(&self) -> usize {
        self.config.max_frame_bytes.min(MAX_FRAME_BYTES)
    }

    /// The codec limit: a frame plus its auth tag.
    pub(super) fn max_wire_frame(&self) -> usize {
        self.max_frame() + TAG_LEN
    }
}

/// An inbound connection's place among the handshakes in progress; given up when dropped
/// (the handshake finished, failed or was pushed out).
#[derive(Debug)]
pub(super) struct Admission {
    shared: Arc<Shared>,
    id: u64,
    pushed_out: CancellationToken,
}

impl Admission {
    /// Admits a connection from `address` (see `Handshakes::admit`); pushed-out handshakes
    /// are counted in [`Refusals::pushed_out`](crate::Refusals).
    pub(super) fn new(shared: &Arc<Shared>, address: IpAddr) -> Self {
        let limits = (
            shared.config.max_handshakes,
            shared.config.max_handshakes_per_address,
        );
        let (id, pushed_out) = shared.with(|s| {
            let (id, token, pushed) = s.handshakes.admit(address, limits);
            s.stats.refused.pushed_out += pushed;
            (id, token)
        });
        Self {
            shared: Arc::clone(shared),
            id,
            pushed_out,
        }
    }

    /// Completes when a newer connection pushed this one out.
    pub(super) async fn pushed_out(&self) {
        self.pushed_out.cancelled().await;
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.shared.with(|s| s.handshakes.leave(self.id));
    }
}
