//! Command-line arguments of both modes, on clap: `p2p [SCENARIO FLAGS]` and `p2p peer [FLAGS]`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};

use crate::Error;

/// The command line.
#[derive(Debug, Parser)]
#[command(
    name = "p2p",
    about = "Peer-to-peer sync of a team's task board between OS processes on 127.0.0.1",
    args_conflicts_with_subcommands = true,
    after_help = "Each peer keeps its replica in its own data directory (a temporary one, removed \
                  at the end unless --keep-data); the killed peer comes back from it."
)]
pub(crate) struct Cli {
    /// One peer, by hand (or driven by the scenario with --control).
    #[command(subcommand)]
    pub(crate) peer: Option<Mode>,
    #[command(flatten)]
    scenario: ScenarioFlags,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per process")]
pub(crate) enum Mode {
    /// Runs one replica of the board on the network, driven by a prompt.
    #[command(after_help = PROMPT_HELP)]
    Peer(PeerArgs),
    /// A sync server: a peer that makes no edits and reads no prompt, for peers (browsers
    /// behind NATs, tabs of other machines) that cannot reach each other. It listens on TCP and
    /// WebSocket (`--ws`, default 127.0.0.1:7401), admits the keys of `--allow`, keeps the
    /// document in `--data-dir` (redb, group commit) so a restart resumes it, prints peers as
    /// they come and go, and runs until interrupted (Ctrl-C, SIGTERM).
    Serve(PeerArgs),
    /// Makes a peer's key pair: writes the secret to FILE (readable by you only; an existing
    /// file is never overwritten) and prints the public key, for the other peers' allow-lists.
    Keygen {
        /// The secret key file to create.
        file: PathBuf,
    },
}

const PROMPT_HELP: &str = "\
prompt commands: inc PATH [N] | add PATH VALUE | set PATH \"TEXT\" | show | stats | peers |
                 connect ADDR | block ID.. | unblock-all | forget ID.. | edit COUNT [INTERVAL_MS] |
                 quit
PATH is slash-separated, e.g. cards/ship/votes";

/// The scenario's flags as given (`--quick` fills the ones not given).
#[derive(Debug, Args)]
struct ScenarioFlags {
    /// Peers (processes), at least 3.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(3..))]
    peers: u16,
    /// Edits per peer in each editing phase [default: 60; 20 with --quick].
    #[arg(long)]
    ops: Option<usize>,
    /// Milliseconds between two edits of one peer.
    #[arg(long, default_value_t = 25)]
    interval_ms: u64,
    /// How long the partition lasts [default: 4; 2 with --quick].
    #[arg(long)]
    partition_secs: Option<f64>,
    /// Edits per peer in the throughput phase, 0 skips it [default: 400; 100 with --quick].
    #[arg(long)]
    bench_ops: Option<usize>,
    /// The bound on convergence after the heal, in seconds.
    #[arg(long, default_value_t = 30.0)]
    converge_secs: f64,
    /// Do not start a peer whose key is on no allow-list (it is refused).
    #[arg(long)]
    no_intruder: bool,
    /// Do not print the final document.
    #[arg(long)]
    no_doc: bool,
    /// Seed of the random edits (per peer: seed + index) [default: random].
    #[arg(long)]
    seed: Option<u64>,
    /// A short run: fewer edits and a shorter partition (flags given explicitly win).
    #[arg(long)]
    quick: bool,
    /// Keep the peers' data directories.
    #[arg(long)]
    keep_data: bool,
    /// Every peer relays every delta to every other (as before format minor 2), to measure
    /// what relay-aware forwarding saves.
    #[arg(long)]
    no_relay_aware: bool,
    /// Each peer serves Prometheus text at http://ADDR/metrics and a dashboard at http://ADDR/
    /// on a port of its own (a build with --features tokio,redb,metrics).
    #[arg(long)]
    metrics: bool,
}

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
    /// Also start a peer whose key is on no allow-list and check it is refused.
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

impl Cli {
    /// The scenario's parameters (when no subcommand was given).
    ///
    /// # Errors
    /// A duration that is negative or not finite.
    pub(crate) fn scenario(&self) -> Result<ScenarioArgs, Error> {
        let f = &self.scenario;
        let secs = |s: f64| Duration::try_from_secs_f64(s).map_err(|e| format!("{s} s: {e}"));
        Ok(ScenarioArgs {
            peers: usize::from(f.peers),
            ops: f.ops.unwrap_or(if f.quick { 20 } else { 60 }),
            interval_ms: f.interval_ms,
            partition: secs(f.partition_secs.unwrap_or(if f.quick { 2.0 } else { 4.0 }))?,
            bench_ops: f.bench_ops.unwrap_or(if f.quick { 100 } else { 400 }),
            converge_within: secs(f.converge_secs)?,
            intruder: !f.no_intruder,
            show_doc: !f.no_doc,
            seed: f.seed,
            keep_data: f.keep_data,
            relay_aware: !f.no_relay_aware,
            metrics: f.metrics,
        })
    }
}

/// One peer's parameters.
#[derive(Clone, Debug, Args)]
pub(crate) struct PeerArgs {
    /// TCP address to accept peers on.
    #[arg(long, default_value = "127.0.0.1:7400")]
    pub(crate) listen: String,
    /// Addresses to keep connections to (`host:port` for TCP, `ws://host:port` for WebSocket);
    /// repeatable.
    #[arg(long = "connect", value_name = "ADDR")]
    pub(crate) connect: Vec<String>,
    /// Address to accept WebSocket peers on.
    #[arg(long)]
    pub(crate) ws: Option<String>,
    /// This peer's secret key file (`p2p keygen FILE` makes one; created if missing)
    /// [default: DIR/peer.key with --data-dir, else a new key for this run only].
    #[arg(long, value_name = "FILE")]
    pub(crate) identity: Option<PathBuf>,
    /// The public keys of the peers that may join, one per line (`#` comments; an optional
    /// name after the key). Re-read when the file changes.
    #[arg(long, value_name = "FILE")]
    pub(crate) allow: PathBuf,
    /// A name for the edits' unique tags [default: the id's first 8 characters].
    #[arg(long, default_value = "", hide_default_value = true)]
    pub(crate) name: String,
    /// A fixed replica id, which the peer's key must own [default: a new one of the key's,
    /// or the data directory's].
    #[arg(long, value_name = "UUID")]
    pub(crate) id: Option<String>,
    /// JSON lines on stdout for a parent process instead of a prompt.
    #[arg(long)]
    pub(crate) control: bool,
    /// Seed of the random edits [default: random].
    #[arg(long)]
    pub(crate) seed: Option<u64>,
    /// Longest redial delay.
    #[arg(skip = Duration::from_secs(1))]
    pub(crate) max_backoff: Duration,
    /// The replica lives in DIR (created if needed; group commit: each network turn writes
    /// and syncs before any frame leaves) and a restart resumes it, same id and data
    /// [default: in memory].
    #[arg(long, value_name = "DIR")]
    pub(crate) data_dir: Option<PathBuf>,
    /// Every delta relayed to every other peer (`SyncConfig::relay_aware` off).
    #[arg(long = "no-relay-aware", action = clap::ArgAction::SetFalse)]
    pub(crate) relay_aware: bool,
    /// Prometheus text at http://ADDR/metrics, a dashboard at http://ADDR/ (a build with
    /// --features tokio,redb,metrics).
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics: Option<String>,
    /// Server mode (`p2p serve`): no prompt, no edits, until interrupted.
    #[arg(skip)]
    pub(crate) server: bool,
}

/// The peer's help, for the prompt's `help` command.
pub(crate) fn peer_help() -> String {
    let mut cli = Cli::command();
    cli.find_subcommand_mut("peer")
        .map(|c| c.render_help().to_string())
        .unwrap_or_default()
}
