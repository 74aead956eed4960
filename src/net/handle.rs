//! A node that runs itself: [`SyncNode::spawn`] puts the node on a tokio task and returns a
//! cloneable [`NodeHandle`] to edit through, read, watch and stop it.

use std::sync::{Arc, Mutex};

use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::clock::Hlc;
use crate::id::ReplicaId;
use crate::lattice::{Delta, Lattice};
use crate::net::change::{Change, Origin, Progress};
use crate::net::spawned::{self, Ctx, Job};
use crate::net::{NetStats, Network, SyncNode};
use crate::sync::{Replica, SyncStats, UpdateError};

/// How many jobs (edits, reads) may wait for the node before a handle's call waits too.
const JOBS: usize = 256;

/// How many changes the stream keeps for a subscriber that has not read them yet; one that
/// falls further behind is told how many it missed ([`ChangeError::Missed`]).
pub const CHANGE_BUFFER: usize = 1024;

/// Why a call on a [`NodeHandle`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NodeError {
    /// The node's task has ended (it was shut down, or every handle was dropped and it
    /// stopped, or it panicked): nothing was done.
    #[error("the node stopped")]
    Stopped,
    /// The replica applied the edit in memory but could not commit it (a durable replica's
    /// store failed): the node retries the commit, and nothing leaves before it succeeds.
    #[error("the edit is applied but could not be committed: {0}")]
    Replica(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// Why [`ChangeStream::recv`] returned no change.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChangeError {
    /// The subscriber fell more than [`CHANGE_BUFFER`] changes behind and missed this many;
    /// the stream goes on with the oldest it kept. Read a fresh snapshot to catch up.
    #[error("the change stream fell behind and missed {0} changes")]
    Missed(u64),
    /// The node stopped: no change will come.
    #[error("the node stopped")]
    Stopped,
}

/// The changes of a spawned node's state, from [`NodeHandle::changes`]: every edit made
/// through a handle, and what each peer's frames changed.
#[derive(Debug)]
pub struct ChangeStream<S> {
    rx: broadcast::Receiver<Change<S>>,
}

impl<S> ChangeStream<S> {
    /// The next change, waiting for one. Cancel-safe.
    ///
    /// # Errors
    /// [`ChangeError::Missed`] if this subscriber fell too far behind (then the stream goes
    /// on); [`ChangeError::Stopped`] once the node stopped and every change was read.
    pub async fn recv(&mut self) -> Result<Change<S>, ChangeError> {
        self.rx.recv().await.map_err(|err| match err {
            broadcast::error::RecvError::Lagged(n) => ChangeError::Missed(n),
            broadcast::error::RecvError::Closed => ChangeError::Stopped,
        })
    }

    /// The next change if one is waiting, without waiting; `Ok(None)` if none is.
    ///
    /// # Errors
    /// As [`recv`](Self::recv).
    pub fn try_recv(&mut self) -> Result<Option<Change<S>>, ChangeError> {
        match self.rx.try_recv() {
            Ok(change) => Ok(Some(change)),
            Err(broadcast::error::TryRecvError::Empty) => Ok(None),
            Err(broadcast::error::TryRecvError::Lagged(n)) => Err(ChangeError::Missed(n)),
            Err(broadcast::error::TryRecvError::Closed) => Err(ChangeError::Stopped),
        }
    }
}

/// A handle on a node running on its own task ([`SyncNode::spawn`]): edit its replica, read
/// it, watch its changes and its peers' progress, stop it. Clones share the node; calls from
/// many tasks are run one at a time, in order, between the node's turns. When the last handle
/// is dropped the node sends what it has, flushes and stops.
///
/// Every call returns [`NodeError::Stopped`] once the node's task has ended (never a panic).
///
/// # Examples
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use deltacrdt::{AllowList, Doc, Hlc, NetConfig, Network, Origin, PeerKey, SyncEngine, SyncNode};
/// let keys = [PeerKey::generate()?, PeerKey::generate()?];
/// let allow = AllowList::of(keys.iter().map(PeerKey::public));
/// let start = |key: &PeerKey| -> Result<_, Box<dyn std::error::Error>> {
///     let id = key.new_replica_id()?;
///     let engine = SyncEngine::<Doc>::new(Hlc::builder(id).build()?);
///     let config = NetConfig::new(key.clone(), allow.clone());
///     Ok((id, SyncNode::new(engine, Network::new(id, config)?)))
/// };
/// let ((ia, a), (ib, b)) = (start(&keys[0])?, start(&keys[1])?);
/// let addr = a.network().listen_tcp("127.0.0.1:0").await?;
/// b.network().dial_tcp(addr.to_string());
/// let (a, b) = (a.spawn(), b.spawn());
/// let mut seen_by_a = a.changes();
/// b.update(|doc, hlc| doc.increment(hlc.replica(), &["likes"], 2)).await?;
/// b.synced(ia).await?; // a acknowledged the edit
/// let change = seen_by_a.recv().await?;
/// assert_eq!(change.origin, Origin::Remote(ib));
/// assert_eq!(change.delta.counter(&["likes"]), 2); // just what changed
/// assert_eq!(a.read(|doc| doc.counter(&["likes"])).await?, 2);
/// a.shutdown().await?;
/// b.shutdown().await?;
/// # Ok(()) }
/// ```
pub struct NodeHandle<R: Replica> {
    jobs: mpsc::Sender<Job<R>>,
    /// Weak, so that the stream ends when the node does, however many handles remain.
    changes: broadcast::WeakSender<Change<R::State>>,
    progress: watch::Receiver<Progress>,
    task: Arc<Mutex<Option<JoinHandle<R>>>>,
}

impl<R: Replica> Clone for NodeHandle<R> {
    fn clone(&self) -> Self {
        Self {
            jobs: self.jobs.clone(),
            changes: self.changes.clone(),
            progress: self.progress.clone(),
            task: Arc::clone(&self.task),
        }
    }
}

impl<R: Replica> std::fmt::Debug for NodeHandle<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeHandle")
            .field("progress", &*self.progress.borrow())
            .finish_non_exhaustive()
    }
}

impl<R> SyncNode<R>
where
    R: Replica + Send + 'static,
    R::State: Send + Sync + 'static,
    R::Error: Send + Sync + 'static,
{
    /// Runs the node on a tokio task of its own and returns a handle to it: the task turns the
    /// node ([`turn`](Self::turn)) on frames, sessions and deadlines, and runs what handles ask
    /// between turns. Acknowledgements and state are persisted on the replica's own schedule
    /// (a durable replica writes peers' acknowledgements
    /// [`ack_persist_ms`](crate::durable::DurableConfig::ack_persist_ms) after they change,
    /// through the deadline this loop honours), and a commit or send that fails is retried
    /// every 100 ms, reported in [`Progress::failing`] and as a `tracing` warning.
    ///
    /// # Panics
    /// Outside a tokio runtime (as `tokio::spawn` does).
    pub fn spawn(self) -> NodeHandle<R> {
        let (jobs, rx) = mpsc::channel(JOBS);
        let (changes, _) = broadcast::channel(CHANGE_BUFFER);
        let weak = changes.downgrade();
        let ctx = Ctx::new(self, changes);
        let (progress_tx, progress) = watch::channel(ctx.progress());
        let task = tokio::spawn(spawned::run(ctx, rx, progress_tx));
        NodeHandle {
            jobs,
            changes: weak,
            progress,
            task: Arc::new(Mutex::new(Some(task))),
        }
    }
}

impl<R> NodeHandle<R>
where
    R: Replica + Send + 'static,
    R::State: Send + Sync + 'static,
    R::Error: Send + Sync + 'static,
{
    /// Runs `job` on the node's task and returns what it returned.
    async fn call<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Ctx<R>) -> T + Send + 'static,
    ) -> Result<T, NodeError> {
        let (tx, rx) = oneshot::channel();
        let job: Job<R> = Box::new(move |ctx| {
            let _ = tx.send(job(ctx));
        });
        self.jobs.send(job).await.map_err(|_| NodeError::Stopped)?;
        rx.await.map_err(|_| NodeError::Stopped)
    }

    /// Applies a local edit that cannot fail (one that returns its delta, like
    /// [`OrSet::insert`](crate::OrSet::insert)): see [`update`](Self::update). Returns the
    /// sequence number after the edit.
    ///
    /// # Errors
    /// [`NodeError::Stopped`]; [`NodeError::Replica`] if the edit could not be committed.
    pub async fn edit<F>(&self, f: F) -> Result<u64, NodeError>
    where
        F: FnOnce(&mut R::State, &mut Hlc) -> Delta<R::State> + Send + 'static,
    {
        self.update(move |state, hlc| Ok::<_, std::convert::Infallible>(f(state, hlc)))
            .await
            .map_err(|err| match err {
                UpdateError::Edit(never) => match never {},
                UpdateError::Replica(err) => err,
            })
    }

    /// Applies a local edit on the node's task ([`Replica::update`]), tells the change stream
    /// (origin [`Origin::Local`], the edit's delta) and sends it to the peers at once.
    /// Returns the sequence number after the edit.
    ///
    /// # Errors
    /// [`UpdateError::Edit`]: `f` failed, nothing changed. [`UpdateError::Replica`]: the node
    /// stopped ([`NodeError::Stopped`]), or the edit is applied but its commit failed
    /// ([`NodeError::Replica`]).
    pub async fn update<E, F>(&self, f: F) -> Result<u64, UpdateError<E, NodeError>>
    where
        E: Send + 'static,
        F: FnOnce(&mut R::State, &mut Hlc) -> Result<Delta<R::State>, E> + Send + 'static,
    {
        self.call(move |ctx| {
            let listened = ctx.listened();
            let mut made = None;
            let result = ctx.node.replica_mut().update(|state, hlc| {
                let delta = f(state, hlc)?;
                if listened && !delta.is_bottom() {
                    made = Some((*delta).clone());
                }
                Ok(delta)
            });
            if let Some(delta) = made {
                ctx.publish(Origin::Local, delta);
            }
            if result.is_ok() {
                ctx.pump();
            }
            result.map_err(|err| match err {
                UpdateError::Edit(e) => UpdateError::Edit(e),
                UpdateError::Replica(e) => UpdateError::Replica(NodeError::Replica(e.into())),
            })
        })
        .await
        .map_err(UpdateError::Replica)?
    }

    /// Reads the state on the node's task: `f` gets it as it is between two turns.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn read<T, F>(&self, f: F) -> Result<T, NodeError>
    where
        T: Send + 'static,
        F: FnOnce(&R::State) -> T + Send + 'static,
    {
        self.call(move |ctx| f(ctx.node.replica().state())).await
    }

    /// A copy of the state.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn snapshot(&self) -> Result<R::State, NodeError> {
        self.read(Clone::clone).await
    }

    /// The sync engine's counters ([`Replica::stats`]).
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn stats(&self) -> Result<SyncStats, NodeError> {
        self.call(|ctx| ctx.node.replica().stats()).await
    }

    /// The network's counters ([`Network::stats`]).
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn net_stats(&self) -> Result<NetStats, NodeError> {
        self.call(|ctx| ctx.node.network().stats()).await
    }

    /// Runs `f` with the node's network, on its task: dial, block, unblock
    /// (`handle.with_network(|net| net.dial_tcp(addr))`).
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn with_network<T, F>(&self, f: F) -> Result<T, NodeError>
    where
        T: Send + 'static,
        F: FnOnce(&Network) -> T + Send + 'static,
    {
        self.call(move |ctx| f(ctx.node.network())).await
    }

    /// A stream of the changes from now on: local edits made through any handle, and what
    /// each peer's frames changed (recorded only while a stream exists). It ends
    /// ([`ChangeError::Stopped`]) when the node stops.
    #[must_use]
    pub fn changes(&self) -> ChangeStream<R::State> {
        // A stopped node's stream is one that has ended.
        let rx = self
            .changes
            .upgrade()
            .map_or_else(|| broadcast::channel(1).1, |changes| changes.subscribe());
        ChangeStream { rx }
    }

    /// The replica's id as of the node's last turn (it changes if the replica forks to a
    /// fresh id).
    #[must_use]
    pub fn id(&self) -> ReplicaId {
        self.progress.borrow().id
    }

    /// The peers' progress as of the node's last turn.
    #[must_use]
    pub fn progress(&self) -> Progress {
        self.progress.borrow().clone()
    }

    /// Waits until the progress meets `done` (checked now and after every turn that changed
    /// it).
    async fn until(&self, done: impl Fn(&Progress) -> bool) -> Result<(), NodeError> {
        let mut progress = self.progress.clone();
        progress
            .wait_for(done)
            .await
            .map(|_| ())
            .map_err(|_| NodeError::Stopped)
    }

    /// Waits until `peer` is connected and holds everything this replica held when called
    /// (it acknowledged the sequence number of then): "my edits reached it". Wrap it in
    /// `tokio::time::timeout` to bound the wait.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn synced(&self, peer: ReplicaId) -> Result<(), NodeError> {
        let seq = self.call(|ctx| ctx.node.replica().seq()).await?;
        self.until(|p| p.peer_holds(peer, seq)).await
    }

    /// Waits until at least one peer is connected and every connected peer holds everything
    /// this replica held when called. Says nothing of peers that are not connected.
    ///
    /// # Errors
    /// [`NodeError::Stopped`].
    pub async fn synced_all(&self) -> Result<(), NodeError> {
        let seq = self.call(|ctx| ctx.node.replica().seq()).await?;
        self.until(|p| p.all_connected_hold(seq)).await
    }

    /// Stops the node: it sends what it has, flushes the replica and shuts the network down;
    /// returns the replica. Other handles get [`NodeError::Stopped`] from then on.
    ///
    /// # Errors
    /// [`NodeError::Stopped`] if the node had stopped already (another handle shut it down,
    /// or its task panicked).
    pub async fn shutdown(self) -> Result<R, NodeError> {
        let task = self
            .task
            .lock()
            .map_err(|_| NodeError::Stopped)?
            .take()
            .ok_or(NodeError::Stopped)?;
        // Stop after the jobs already queued; if the task is gone, the join says so.
        let _ = self.jobs.send(Box::new(|ctx| ctx.stop = true)).await;
        task.await.map_err(|_| NodeError::Stopped)
    }
}
