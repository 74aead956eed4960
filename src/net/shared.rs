//! What a network's tasks share: its configuration, its sessions and their queues, its
//! counters, and the connection slots. The `Network` handle and every connection task hold it.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::{debug, warn};

use super::{NetConfig, NetError, NetStats};
use crate::auth::TAG_LEN;
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
    /// Open sessions per peer, oldest first; frames go out on the newest.
    pub(super) sessions: HashMap<ReplicaId, Vec<SessionHandle>>,
    pub(super) blocked: HashSet<ReplicaId>,
    pub(super) new_peers: Vec<ReplicaId>,
    pub(super) stats: NetStats,
    /// Connections open, handshaking ones included.
    pub(super) open: usize,
    pub(super) next_id: u64,
}

/// What the network's tasks share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) me: ReplicaId,
    pub(super) config: NetConfig,
    pub(super) inbound: mpsc::Sender<(ReplicaId, Vec<u8>)>,
    pub(super) cancel: CancellationToken,
    /// Woken when a session opens (see [`Network::session_opened`]).
    pub(super) opened: Notify,
    pub(super) tasks: TaskTracker,
    pub(super) state: Mutex<State>,
}

impl Shared {
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Logs and counts a refused or failed connection.
    pub(super) fn refuse(&self, err: &NetError, remote: &str) {
        if matches!(err, NetError::Blocked(_)) {
            // Asked for: not worth a warning.
            debug!(remote, error = %err, "connection refused");
        } else {
            warn!(remote, error = %err, "connection refused or closed on error");
        }
        self.with(|s| s.stats.refused.count(err));
    }

    /// Registers an authenticated session, unless its peer is blocked.
    pub(super) fn register(
        &self,
        peer: ReplicaId,
    ) -> Result<(u64, mpsc::Receiver<Vec<u8>>, CancellationToken), NetError> {
        self.with(|s| {
            if s.blocked.contains(&peer) {
                return Err(NetError::Blocked(peer));
            }
            let (tx, rx) = mpsc::channel(self.config.queue_frames.max(1));
            let cancel = self.cancel.child_token();
            s.next_id += 1;
            let id = s.next_id;
            s.sessions.entry(peer).or_default().push(SessionHandle {
                id,
                queue: tx,
                cancel: cancel.clone(),
            });
            s.new_peers.push(peer);
            self.opened.notify_one();
            s.stats.sessions += 1;
            s.stats.open_sessions += 1;
            Ok((id, rx, cancel))
        })
    }

    pub(super) fn deregister(&self, peer: ReplicaId, id: u64) {
        self.with(|s| {
            if let Some(list) = s.sessions.get_mut(&peer) {
                list.retain(|h| h.id != id);
                if list.is_empty() {
                    s.sessions.remove(&peer);
                }
            }
            s.stats.open_sessions = s.stats.open_sessions.saturating_sub(1);
        });
    }

    /// Takes a connection slot, or refuses over the cap.
    pub(super) fn slot(self: &Arc<Self>) -> Result<Slot, NetError> {
        let max = self.config.max_connections;
        self.with(|s| {
            if s.open >= max {
                return Err(NetError::TooManyConnections { max });
            }
            s.open += 1;
            Ok(())
        })?;
        Ok(Slot(Arc::clone(self)))
    }

    /// The codec limit: a frame plus its auth tag.
    pub(super) fn max_wire_frame(&self) -> usize {
        self.config.max_frame_bytes + TAG_LEN
    }
}

/// A connection slot, given back when dropped.
pub(super) struct Slot(Arc<Shared>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.with(|s| s.open = s.open.saturating_sub(1));
    }
}
