//! The task a spawned node runs: jobs from its handles, the node's turns, and what it tells
//! subscribers (changes) and waiters (progress) after each.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::{Instant, sleep_until};
use tracing::{info, warn};

use crate::net::SyncNode;
use crate::net::change::{Change, Origin, PeerProgress, Progress};
use crate::sync::Replica;

/// How long a node whose replica failed to commit or send waits before it tries again
/// (a full disk should not spin a core).
const RETRY_AFTER: Duration = Duration::from_millis(100);

/// Work a handle sends the task: run with the node, between two turns.
pub(super) type Job<R> = Box<dyn FnOnce(&mut Ctx<R>) + Send>;

/// What a job gets: the node, and where its changes go.
pub(super) struct Ctx<R: Replica> {
    pub(super) node: SyncNode<R>,
    changes: broadcast::Sender<Change<R::State>>,
    /// Set by the stop job: the task ends after it.
    pub(super) stop: bool,
    /// The last failure of a pump, until one succeeds; while set, the node waits before
    /// turning again.
    failing: Option<(String, Instant)>,
}

impl<R> Ctx<R>
where
    R: Replica,
    R::Error: std::fmt::Display,
{
    pub(super) fn new(node: SyncNode<R>, changes: broadcast::Sender<Change<R::State>>) -> Self {
        Self {
            node,
            changes,
            stop: false,
            failing: None,
        }
    }

    /// Whether anyone listens to the change stream (local deltas are cloned only then).
    pub(super) fn listened(&self) -> bool {
        self.changes.receiver_count() > 0
    }

    /// Tells subscribers of a change (nobody listening is not an error).
    pub(super) fn publish(&self, origin: Origin, delta: R::State) {
        let seq = self.node.replica().seq();
        let _ = self.changes.send(Change {
            origin,
            seq,
            delta: Arc::new(delta),
        });
    }

    /// Hands the replica what arrived and sends what it has to say, noting a failure. What
    /// received frames change is recorded if anyone listens (asked here, just before the
    /// frames are applied, so a stream opened before the frames arrived sees them).
    pub(super) fn pump(&mut self) {
        let listened = self.listened();
        self.node.replica_mut().record_changes(listened);
        match self.node.pump() {
            Ok(_) => {
                if self.failing.take().is_some() {
                    info!("the replica commits and sends again");
                }
            }
            Err(err) => {
                let err = err.to_string();
                // Once per failure, not once per retry.
                if self.failing.as_ref().is_none_or(|(was, _)| *was != err) {
                    warn!(error = %err, "the replica could not commit or send; retrying every 100 ms");
                }
                self.failing = Some((err, Instant::now() + RETRY_AFTER));
            }
        }
    }

    /// Hands subscribers what received frames changed.
    fn publish_remote(&mut self) {
        for (peer, delta) in self.node.replica_mut().take_changes() {
            self.publish(Origin::Remote(peer), delta);
        }
    }

    pub(super) fn progress(&self) -> Progress {
        let replica = self.node.replica();
        let peers: Vec<PeerProgress> = replica
            .stats()
            .peers
            .into_iter()
            .map(|p| PeerProgress {
                peer: p.peer,
                connected: p.connected,
                acked: p.acked,
            })
            .collect();
        Progress {
            id: replica.id(),
            seq: replica.seq(),
            peers,
            failing: self.failing.as_ref().map(|(err, _)| err.clone()),
        }
    }
}

/// The node's task: runs jobs as they come and turns the node in between, until a stop job or
/// until every handle is gone; then sends what is left, flushes and shuts the network down.
/// Returns the replica.
pub(super) async fn run<R>(
    mut ctx: Ctx<R>,
    mut jobs: mpsc::Receiver<Job<R>>,
    progress: watch::Sender<Progress>,
) -> R
where
    R: Replica,
    R::Error: std::fmt::Display,
{
    loop {
        let retry_at = ctx.failing.as_ref().map(|(_, at)| *at);
        tokio::select! {
            job = jobs.recv() => match job {
                Some(job) => job(&mut ctx),
                None => break,
            },
            () = ctx.node.ready(), if retry_at.is_none() => ctx.pump(),
            () = sleep_until(retry_at.unwrap_or_else(Instant::now)), if retry_at.is_some() => {
                ctx.pump();
            }
        }
        ctx.publish_remote();
        let now = ctx.progress();
        progress.send_if_modified(|old| {
            let changed = *old != now;
            *old = now;
            changed
        });
        if ctx.stop {
            break;
        }
    }
    ctx.pump();
    if let Err(err) = ctx.node.replica_mut().flush() {
        warn!(error = %err, "the replica could not flush as the node stopped");
    }
    ctx.node.shutdown().await
}
