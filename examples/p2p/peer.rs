//! `p2p peer`: one replica of the board, on the network, driven by a prompt (or, with
//! `--control`, by the scenario over stdin/stdout).

use std::collections::{HashMap, VecDeque};
use std::io::Write;
use std::time::Duration;

use deltacrdt::durable::{Durability, DurableConfig, DurableReplica};
use deltacrdt::{
    AllowList, Doc, Hlc, NetConfig, Network, PeerKey, Replica, ReplicaId, Scalar, SyncConfig,
    SyncEngine, SyncNode, UpdateError,
};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};

use crate::Error;
use crate::args::PeerArgs;
use crate::board::{self, Rng};
use crate::commands::{self, Command};
use crate::protocol::{Line, Report, Status};
use crate::report::unix_ms;

/// A running peer, in memory or over a data directory.
struct Peer<R> {
    node: SyncNode<R>,
    control: bool,
    name: String,
    rng: Rng,
    /// Random edits made, and still to make.
    edits: u64,
    edits_left: u64,
    interval: Duration,
    next_edit: Instant,
    /// Σ encoded delta sizes of the edits made.
    delta_bytes: u64,
    /// How edits are committed, for the report.
    durability: &'static str,
    /// Frames went in or out, or edits wait to be committed, since the last status: the
    /// status tick has work (acknowledgements to persist, commits to count).
    busy: bool,
    /// Random edits not yet committed: (sequence number after the edit, tag).
    uncommitted: VecDeque<(u64, String)>,
    committed: u64,
    /// When each edit's tag, this peer's or another's, first appeared here (Unix ms): how
    /// the scenario measures the time from an edit to its arrival at each other peer.
    seen: HashMap<String, u64>,
    /// The document's digest for the status line, recomputed only after changes.
    digest: board::Digest,
    /// This peer's key fingerprint.
    key: String,
}

/// This process's resident set size, from `/proc/self/status` (Linux); 0 elsewhere.
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let kb = s.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
            kb.split_whitespace().next()?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// Runs a peer until `quit` or the end of its input.
pub(crate) async fn run(args: PeerArgs) -> Result<(), Error> {
    let sync = SyncConfig {
        retransmit_after_ms: 1_000,
        relay_aware: args.relay_aware,
        ..SyncConfig::default()
    };
    let identity = identity(&args)?;
    let id = args
        .id
        .as_deref()
        .map(str::parse::<ReplicaId>)
        .transpose()?;
    let fresh = identity.new_replica_id()?;
    match &args.data_dir {
        Some(dir) => {
            // Group commit: the pump that sends an edit writes and syncs it first, so one
            // sync per network turn instead of one per change (and per received frame).
            let config = DurableConfig {
                durability: Durability::Group,
                sync,
                replica: id,
                new_replica: Some(fresh),
                ..DurableConfig::default()
            };
            let replica = DurableReplica::<Doc, _>::open_dir(dir, config)?;
            let seq = replica.seq();
            let resumed = (seq > 0 || replica.engine().acks().next().is_some())
                .then(|| (seq, replica.engine().acks().count()));
            serve(args, identity, replica, resumed).await
        }
        None => {
            let id = id.unwrap_or(fresh);
            let engine = SyncEngine::with_config(Hlc::builder(id).build()?, sync);
            serve(args, identity, engine, None).await
        }
    }
}

/// The peer's key pair: from `--identity` (made there if missing), else `DIR/peer.key` of
/// `--data-dir` (likewise), else a new one for this run.
fn identity(args: &PeerArgs) -> Result<PeerKey, Error> {
    let path = args
        .identity
        .clone()
        .or_else(|| args.data_dir.as_ref().map(|d| d.join("peer.key")));
    let Some(path) = path else {
        return Ok(PeerKey::generate()?);
    };
    if path.exists() {
        return Ok(PeerKey::load(&path)?);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let key = PeerKey::generate()?;
    key.save(&path)?;
    Ok(key)
}

/// The allow-list file and when it last changed, re-read when that changes.
struct AllowFile {
    path: std::path::PathBuf,
    list: AllowList,
    modified: Option<std::time::SystemTime>,
}

impl AllowFile {
    fn load(path: &std::path::Path) -> Result<Self, Error> {
        let modified = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        Ok(Self {
            path: path.to_path_buf(),
            list: AllowList::load(path)?,
            modified,
        })
    }

    /// Reloads the list if the file changed (a bad file keeps the old
    /// list, with a warning).
    fn refresh(&mut self) {
        let modified = std::fs::metadata(&self.path)
            .and_then(|m| m.modified())
            .ok();
        if modified == self.modified {
            return;
        }
        self.modified = modified;
        match self.list.reload(&self.path) {
            Ok(()) => tracing::info!(keys = self.list.len(), "allow-list reloaded"),
            Err(e) => tracing::warn!("allow-list not reloaded, the old one stays: {e}"),
        }
    }
}

/// Puts `replica` on the network and runs the peer's loop.
async fn serve<R>(
    args: PeerArgs,
    identity: PeerKey,
    replica: R,
    resumed: Option<(u64, usize)>,
) -> Result<(), Error>
where
    R: Replica<State = Doc>,
    R::Error: std::error::Error + Send + Sync + 'static,
{
    let id = replica.id();
    let mut allow = AllowFile::load(&args.allow)?;
    let public = identity.public();
    let net_config = NetConfig {
        min_backoff: Duration::from_millis(50),
        max_backoff: args.max_backoff,
        ..NetConfig::new(identity, allow.list.clone())
    };
    // Before the node exists, so the recorder sees every metric from the start.
    let metrics = match &args.metrics {
        Some(addr) => Some(crate::metrics::serve(addr).await?),
        None => None,
    };
    let network = Network::new(id, net_config)?;
    let addr = network.listen_tcp(args.listen.as_str()).await?;
    let ws = match &args.ws {
        Some(ws) => Some(network.listen_ws(ws.as_str()).await?),
        None => None,
    };
    let mut replica = replica;
    // `note_arrivals` reads the received deltas, not the whole (growing) log.
    replica.record_changes(true);
    let node = SyncNode::new(replica, network);
    for target in &args.connect {
        connect(node.network(), target);
    }
    let seed = args.seed.unwrap_or_else(|| {
        let mut b = [0; 8];
        let _ = getrandom::fill(&mut b);
        u64::from_le_bytes(b)
    });
    let name = if args.name.is_empty() {
        id.to_string().chars().take(8).collect()
    } else {
        args.name.clone()
    };
    let mut peer = Peer {
        node,
        control: args.control,
        name,
        rng: Rng::new(seed),
        edits: 0,
        edits_left: 0,
        interval: Duration::ZERO,
        next_edit: Instant::now(),
        delta_bytes: 0,
        busy: false,
        durability: if args.data_dir.is_some() {
            "group commit (a sync per network turn; committed = on disk)"
        } else {
            "memory (committed = acknowledged by a peer)"
        },
        uncommitted: VecDeque::new(),
        committed: 0,
        seen: HashMap::new(),
        digest: board::Digest::default(),
        key: public.fingerprint(),
    };
    if peer.control {
        emit(&Line::Ready {
            id: id.to_string(),
            key: public.to_string(),
            addr: addr.to_string(),
            ws: ws.map(|w| w.to_string()),
            resumed,
            metrics: metrics.map(|m| m.to_string()),
        });
    } else {
        println!("peer {id} listening on {addr} (tcp)");
        println!(
            "  public key {public} (for the others' allow-lists); {} key(s) allowed from {}",
            allow.list.len(),
            args.allow.display()
        );
        if let Some(ws) = ws {
            println!("  and on ws://{ws} (websocket)");
        }
        if let Some(m) = metrics {
            println!("  metrics on http://{m}/metrics, dashboard on http://{m}/");
        }
        match (&args.data_dir, resumed) {
            (Some(dir), Some((seq, acks))) => println!(
                "  resumed from {} at sequence {seq} with {acks} peers' acknowledgements",
                dir.display()
            ),
            (Some(dir), None) => println!("  new replica in {}", dir.display()),
            (None, _) => println!("  in memory (--data-dir DIR to keep it)"),
        }
        println!("  {}", peer.durability);
        if args.server {
            println!("serving until interrupted (Ctrl-C)");
        } else {
            println!("type help for the commands");
            prompt();
        }
    }
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut stop = std::pin::pin!(stopped());
    let mut present: Vec<(ReplicaId, bool)> = Vec::new();
    let mut status = interval(Duration::from_millis(100));
    // Paused while idle (below): resumed, it waits a period instead of catching up.
    status.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut reload = interval(Duration::from_secs(1));
    reload.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        // The status line is the parent's (control mode); by hand it only flushes and
        // counts commits, so an idle peer at the prompt sleeps until input.
        let status_due = peer.control || peer.busy;
        tokio::select! {
            turn = peer.node.turn() => {
                let pumped = turn?;
                peer.busy |= pumped.received > 0 || pumped.sent > 0;
                if pumped.changed {
                    peer.note_arrivals();
                }
            }
            () = &mut stop, if args.server => break,
            line = stdin.next_line(), if !args.server => match line {
                Ok(Some(line)) => {
                    if !peer.command(&line)? {
                        break;
                    }
                }
                // The parent went away or the user closed the input.
                Ok(None) | Err(_) => break,
            },
            () = sleep_until(peer.next_edit), if peer.edits_left > 0 => peer.random_edit()?,
            _ = status.tick(), if status_due => peer.status()?,
            _ = reload.tick() => {
                allow.refresh();
                if args.server {
                    peer.print_arrivals(&mut present);
                }
            }
        }
    }
    let mut replica = peer.node.shutdown().await;
    replica.flush()?;
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (a server's way to stop).
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

fn connect(network: &Network, target: &str) {
    if target.starts_with("ws://") {
        network.dial_ws(target);
    } else {
        network.dial_tcp(target);
    }
}

fn emit(line: &Line) {
    if let Ok(json) = serde_json::to_string(line) {
        println!("{json}");
    }
}

fn prompt() {
    print!("> ");
    let _ = std::io::stdout().flush();
}

impl<R> Peer<R>
where
    R: Replica<State = Doc>,
    R::Error: std::error::Error + Send + Sync + 'static,
{
    /// Handles one input line; false to stop.
    fn command(&mut self, line: &str) -> Result<bool, Error> {
        let reply = match commands::parse(line) {
            Err(e) => e,
            Ok(Command::Quit) => return Ok(false),
            Ok(cmd) => self.run_command(cmd)?,
        };
        if self.control {
            if !reply.is_empty() {
                emit(&Line::Reply { text: reply });
            }
        } else {
            if !reply.is_empty() {
                println!("{reply}");
            }
            prompt();
        }
        Ok(true)
    }

    /// Runs one command; its reply (empty: none). Fails only if the store does.
    fn run_command(&mut self, cmd: Command) -> Result<String, Error> {
        Ok(match cmd {
            Command::Edit { path, edit } => {
                match board::apply_command(self.node.replica_mut(), &path, edit) {
                    Ok(()) => {
                        self.digest.invalidate();
                        self.pump()?;
                        self.busy = true;
                        String::new()
                    }
                    Err(UpdateError::Edit(e)) => format!("error: {e}"),
                    Err(e) => return Err(e.into()),
                }
            }
            Command::Show => serde_json::to_string_pretty(&self.node.replica().state().to_json())
                .unwrap_or_default(),
            Command::Stats => self.stats_text(),
            Command::Peers => {
                let peers = self.node.network().peers();
                let mut out = format!("{} peer(s) connected", peers.len());
                for p in peers {
                    out.push_str(&format!("\n  {p}"));
                }
                out
            }
            Command::Connect(target) => {
                connect(self.node.network(), &target);
                String::new()
            }
            Command::Block(ids) => {
                for id in ids {
                    match id.parse::<ReplicaId>() {
                        Ok(id) => self.node.network().block(id),
                        Err(e) => return Ok(format!("error: {e}")),
                    }
                }
                String::new()
            }
            Command::Forget(ids) => {
                for id in ids {
                    match id.parse::<ReplicaId>() {
                        Ok(id) => self.node.replica_mut().disconnect(id),
                        Err(e) => return Ok(format!("error: {e}")),
                    }
                }
                String::new()
            }
            Command::UnblockAll => {
                self.node.network().unblock_all();
                String::new()
            }
            Command::RandomEdits { count, interval_ms } => {
                self.edits_left += count;
                self.interval = Duration::from_millis(interval_ms);
                String::new()
            }
            Command::Report => {
                emit(&Line::Report(Box::new(self.report())));
                String::new()
            }
            Command::Help => crate::args::peer_help(),
            Command::Nothing | Command::Quit => String::new(),
        })
    }

    /// Prints the peers that connected or went away since `present` (a server's log).
    fn print_arrivals(&self, present: &mut Vec<(ReplicaId, bool)>) {
        let now: Vec<(ReplicaId, bool)> = self
            .node
            .replica()
            .stats()
            .peers
            .iter()
            .map(|p| (p.peer, p.connected))
            .collect();
        for &(peer, connected) in &now {
            let before = present
                .iter()
                .find(|(p, _)| *p == peer)
                .is_some_and(|(_, c)| *c);
            if connected != before {
                let what = if connected {
                    "connected"
                } else {
                    "disconnected"
                };
                println!(
                    "peer {peer} {what} ({} connected)",
                    now.iter().filter(|(_, c)| *c).count()
                );
            }
        }
        *present = now;
    }

    fn random_edit(&mut self) -> Result<(), Error> {
        let tag = format!("{}-{}", self.name, self.edits);
        let size = board::random_edit(self.node.replica_mut(), &mut self.rng, &tag)?;
        self.edits += 1;
        self.edits_left -= 1;
        self.delta_bytes += size as u64;
        self.seen.insert(tag.clone(), unix_ms());
        self.uncommitted.push_back((self.node.replica().seq(), tag));
        self.next_edit = Instant::now() + self.interval;
        self.digest.invalidate();
        // With a data directory, this pump writes and syncs the edit before sending it.
        self.pump()?;
        self.busy = true;
        Ok(())
    }

    /// Sends what the replica has to say (and takes in frames that came meanwhile).
    fn pump(&mut self) -> Result<(), Error> {
        if self.node.pump()?.changed {
            self.note_arrivals();
        }
        Ok(())
    }

    /// Notes the arrival time of edit tags that are new here: those in the deltas received
    /// since the last call (O(delta): walking the whole log made every turn O(edits so far),
    /// and the peers slowed from ~2,000 to ~200 edits/s by 30,000 edits).
    fn note_arrivals(&mut self) {
        self.digest.invalidate();
        let now = unix_ms();
        for (_, delta) in self.node.replica_mut().take_changes() {
            for tag in delta
                .set_at(&["log"])
                .into_iter()
                .flat_map(|log| log.iter())
            {
                if let Scalar::Str(tag) = tag
                    && !self.seen.contains_key(tag.as_str())
                {
                    self.seen.insert(tag.to_string(), now);
                }
            }
        }
    }

    /// Every 100 ms: persists the peers' acknowledgements (with a data directory), then
    /// reports newly committed edits and the progress line (control mode).
    fn status(&mut self) -> Result<(), Error> {
        self.node.replica_mut().flush()?;
        let mut tags = Vec::new();
        while let Some((seq, _)) = self.uncommitted.front() {
            if !board::is_committed(self.node.replica(), *seq) {
                break;
            }
            if let Some((_, tag)) = self.uncommitted.pop_front() {
                tags.push(tag);
            }
        }
        self.committed += tags.len() as u64;
        self.busy = !self.uncommitted.is_empty();
        if !self.control {
            return Ok(());
        }
        if !tags.is_empty() {
            emit(&Line::Committed { tags });
        }
        let replica = self.node.replica();
        let sent = replica.stats().sent.total();
        emit(&Line::Status(Status {
            digest: self.digest.get(replica.state()),
            links: self.node.network().peers().len(),
            edits: self.edits,
            edits_left: self.edits_left,
            frames_out: sent.messages,
            bytes_out: sent.bytes,
        }));
        Ok(())
    }

    fn report(&self) -> Report {
        let replica = self.node.replica();
        let stats = replica.stats();
        let net = self.node.network().stats();
        let (sent, received) = (stats.sent.total(), stats.received.total());
        Report {
            id: replica.id().to_string(),
            key: self.key.clone(),
            edits: self.edits,
            delta_bytes: self.delta_bytes,
            msgs_out: sent.messages,
            bytes_out: sent.bytes,
            msgs_in: received.messages,
            bytes_in: received.bytes,
            wire_frames: net.frames_out,
            wire_bytes: net.bytes_out,
            full_new_peer: stats.full_states.new_peer,
            full_restart: stats.full_states.restart,
            full_evicted: stats.full_states.evicted,
            retransmissions: stats.retransmissions,
            refused: net.refused.total(),
            refused_not_allowed: net.refused.not_allowed,
            dropped_full: net.dropped_full,
            sessions: net.sessions,
            doc: replica.state().to_json().to_string(),
            digest: board::digest(replica.state()),
            durability: self.durability.into(),
            seq: replica.seq(),
            durable_seq: replica.durable_seq(),
            seen: self.seen.iter().map(|(t, &ms)| (t.clone(), ms)).collect(),
            rss_bytes: rss_bytes(),
        }
    }

    fn stats_text(&self) -> String {
        let r = self.report();
        let net = self.node.network().stats();
        format!(
            "replica {} (key {})\n\
             sequence {} ({} on disk); random edits {} ({} committed, {} not yet)\n\
             commit: {}\n\
             engine: sent {} frames / {} B, received {} frames / {} B, retransmissions {}\n\
             full states sent: {} new peer, {} restart, {} evicted\n\
             network: {} sessions ({} open), refused {} (not allowed {}, impostors {}), dropped {} \
             (queue full) + {} (no session)",
            r.id,
            r.key,
            r.seq,
            r.durable_seq,
            self.edits,
            self.committed,
            self.uncommitted.len(),
            r.durability,
            r.msgs_out,
            r.bytes_out,
            r.msgs_in,
            r.bytes_in,
            r.retransmissions,
            r.full_new_peer,
            r.full_restart,
            r.full_evicted,
            net.sessions,
            net.open_sessions,
            net.refused.total(),
            net.refused.not_allowed,
            net.refused.foreign_id,
            net.dropped_full,
            net.dropped_unconnected,
        )
    }
}
