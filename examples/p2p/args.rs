//! Command-line arguments of both modes (no parser crate: a handful of flags).

use std::path::PathBuf;
use std::time::Duration;

use crate::Error;

/// The scenario's parameters.
#[derive(Clone, Debug)]
pub(crate) struct ScenarioArgs {
    /// Peers (processes).
    pub(crate) peers: usize,
    /// Edits per peer in each editing phase.
    pub(crate) ops: usize,
    /// Milliseconds between two edits of one peer.
    pub(crate) interval_ms: u64,
    /// How long the partition lasts.
    pub(crate) partition: Duration,
    /// Edits per peer in the throughput phase (0 skips it).
    pub(crate) bench_ops: usize,
    /// The bound on convergence after the heal.
    pub(crate) converge_within: Duration,
    /// Also start a peer with a wrong key and check it is refused.
    pub(crate) intruder: bool,
    /// Print the final document.
    pub(crate) show_doc: bool,
    /// Seed of the random edits (per peer: seed + index).
    pub(crate) seed: Option<u64>,
    /// Keep the peers' data directories instead of removing them at the end.
    pub(crate) keep_data: bool,
    /// Relay-aware forwarding (off: every peer relays every delta to every other, as before
    /// format minor 2; for measuring what it saves).
    pub(crate) relay_aware: bool,
    /// Each peer serves its metrics and a dashboard on a port of its own (printed).
    pub(crate) metrics: bool,
}

const SCENARIO_HELP: &str = "\
usage: p2p [--peers N] [--ops N] [--interval-ms MS] [--partition-secs S] [--bench-ops N]
           [--converge-secs S] [--no-intruder] [--no-doc] [--seed N] [--quick] [--keep-data]
           [--no-relay-aware] [--metrics]
       p2p peer --help
Each peer keeps its replica in its own data directory (a temporary one, removed at the end
unless --keep-data); the killed peer comes back from it. --metrics: each peer serves
Prometheus text at http://ADDR/metrics and a dashboard at http://ADDR/ (build with
--features tokio,redb,metrics).";

impl ScenarioArgs {
    pub(crate) fn parse(argv: &[String]) -> Result<Self, Error> {
        let mut a = Self {
            peers: 5,
            ops: 60,
            interval_ms: 25,
            partition: Duration::from_secs(4),
            bench_ops: 400,
            converge_within: Duration::from_secs(30),
            intruder: true,
            show_doc: true,
            seed: None,
            keep_data: false,
            relay_aware: true,
            metrics: false,
        };
        let mut it = argv.iter();
        while let Some(flag) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
            match flag.as_str() {
                "--peers" => a.peers = value()?.parse()?,
                "--ops" => a.ops = value()?.parse()?,
                "--interval-ms" => a.interval_ms = value()?.parse()?,
                "--partition-secs" => a.partition = Duration::from_secs_f64(value()?.parse()?),
                "--bench-ops" => a.bench_ops = value()?.parse()?,
                "--converge-secs" => {
                    a.converge_within = Duration::from_secs_f64(value()?.parse()?);
                }
                "--seed" => a.seed = Some(value()?.parse()?),
                "--no-intruder" => a.intruder = false,
                "--no-doc" => a.show_doc = false,
                "--keep-data" => a.keep_data = true,
                "--no-relay-aware" => a.relay_aware = false,
                "--metrics" => a.metrics = true,
                "--quick" => {
                    a.ops = 20;
                    a.partition = Duration::from_secs(2);
                    a.bench_ops = 100;
                }
                "-h" | "--help" => return Err(SCENARIO_HELP.into()),
                other => return Err(format!("unknown argument {other}\n{SCENARIO_HELP}").into()),
            }
        }
        if a.peers < 3 {
            return Err("--peers must be at least 3 (two groups and a peer to restart)".into());
        }
        Ok(a)
    }
}

/// One peer's parameters.
#[derive(Clone, Debug)]
pub(crate) struct PeerArgs {
    /// TCP address to accept peers on.
    pub(crate) listen: String,
    /// Addresses to keep connections to (`host:port` for TCP, `ws://…` for WebSocket).
    pub(crate) connect: Vec<String>,
    /// Address to accept WebSocket peers on.
    pub(crate) ws: Option<String>,
    /// The shared passphrase.
    pub(crate) key: String,
    /// A name for the edits' unique tags.
    pub(crate) name: String,
    /// A fixed replica id (the scenario picks ids so it can partition before a restart).
    pub(crate) id: Option<String>,
    /// JSON lines on stdout for a parent process instead of a prompt.
    pub(crate) control: bool,
    /// Seed of the random edits.
    pub(crate) seed: Option<u64>,
    /// Longest redial delay.
    pub(crate) max_backoff: Duration,
    /// Where the replica lives (a redb file, group commit); `None`: in memory only.
    pub(crate) data_dir: Option<PathBuf>,
    /// Relay-aware forwarding (`SyncConfig::relay_aware`).
    pub(crate) relay_aware: bool,
    /// Where to serve Prometheus text (`/metrics`) and the dashboard (`/`).
    pub(crate) metrics: Option<String>,
}

/// The key every demo peer uses unless told otherwise.
pub(crate) const DEFAULT_KEY: &str = "deltacrdt demo: change me";

const PEER_HELP: &str = "\
usage: p2p peer [--listen ADDR] [--connect ADDR|ws://ADDR]... [--ws ADDR] [--key PASSPHRASE]
                [--name NAME] [--id UUID] [--seed N] [--data-dir DIR] [--control]
                [--no-relay-aware] [--metrics ADDR]
defaults: --listen 127.0.0.1:7400, the demo key, no --connect, in memory.
--data-dir DIR: the replica lives in DIR (created if needed; group commit: each network turn
  writes and syncs before any frame leaves) and a restart resumes it, same id and data.
--metrics ADDR: Prometheus text at http://ADDR/metrics, a dashboard at http://ADDR/
  (a build with --features tokio,redb,metrics).
prompt commands: inc PATH [N] | add PATH VALUE | set PATH \"TEXT\" | show | stats | peers |
                 connect ADDR | block ID.. | unblock-all | forget ID.. | edit COUNT [INTERVAL_MS] |
                 quit
PATH is slash-separated, e.g. cards/ship/votes";

impl PeerArgs {
    pub(crate) fn parse(argv: &[String]) -> Result<Self, Error> {
        let mut a = Self {
            listen: "127.0.0.1:7400".into(),
            connect: Vec::new(),
            ws: None,
            key: DEFAULT_KEY.into(),
            name: String::new(),
            id: None,
            control: false,
            seed: None,
            max_backoff: Duration::from_secs(1),
            data_dir: None,
            relay_aware: true,
            metrics: None,
        };
        let mut it = argv.iter();
        while let Some(flag) = it.next() {
            let mut value = || {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("{flag} needs a value"))
            };
            match flag.as_str() {
                "--listen" => a.listen = value()?,
                "--connect" => a.connect.push(value()?),
                "--ws" => a.ws = Some(value()?),
                "--key" => a.key = value()?,
                "--name" => a.name = value()?,
                "--id" => a.id = Some(value()?),
                "--seed" => a.seed = Some(value()?.parse()?),
                "--data-dir" => a.data_dir = Some(value()?.into()),
                "--control" => a.control = true,
                "--no-relay-aware" => a.relay_aware = false,
                "--metrics" => a.metrics = Some(value()?),
                "-h" | "--help" => return Err(PEER_HELP.into()),
                other => return Err(format!("unknown argument {other}\n{PEER_HELP}").into()),
            }
        }
        Ok(a)
    }
}
