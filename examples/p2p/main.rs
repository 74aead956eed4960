//! Peer-to-peer sync of a team's task board over TCP and WebSocket, between OS processes.
//!
//! With no arguments it runs the whole scenario on 127.0.0.1 (see `scenario.rs`): five peers
//! as separate processes edit concurrently, are partitioned into two groups while both keep
//! editing, one is killed with SIGKILL and restarted from its data directory (same replica, its
//! data and acknowledgements: it resumes delta sync), the partition heals, and the run waits
//! until every peer holds the same document; then it measures throughput and prints a
//! per-peer table and the final document. It exits non-zero if the peers do not converge
//! within a bound, or if an edit a peer reported as committed (on disk) is missing anywhere —
//! the killed peer's included.
//!
//! ```text
//! cargo run --release --features tokio,redb --example p2p            # the scenario
//! cargo run --release --features tokio,redb --example p2p -- --quick # a short one
//! cargo run --release --features tokio,redb --example p2p -- peer --help # one peer, by hand
//! cargo run --release --features tokio,redb --example p2p -- keygen FILE # a peer's key pair
//! ```
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "an example talks to its user and to its parent process"
)]

mod args;
mod board;
mod commands;
mod metrics;
mod peer;
mod process;
mod protocol;
mod report;
mod scenario;

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // Help and bad arguments: clap prints them and exits (0 and 2).
    let cli = <args::Cli as clap::Parser>::parse();
    let result = match cli.peer {
        Some(args::Mode::Peer(a)) => {
            init_tracing(a.control);
            peer::run(a).await
        }
        Some(args::Mode::Serve(mut a)) => {
            init_tracing(true);
            a.server = true;
            a.ws.get_or_insert_with(|| "127.0.0.1:7401".to_owned());
            peer::run(a).await
        }
        Some(args::Mode::Keygen { file }) => keygen(&file),

        None => match cli.scenario() {
            Ok(a) => {
                init_tracing(true);
                scenario::run(a).await
            }
            Err(e) => Err(e),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("p2p: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `p2p keygen FILE`: a new key pair, the secret in FILE, the public key on stdout.
fn keygen(file: &std::path::Path) -> Result<(), Error> {
    let key = deltacrdt::PeerKey::generate()?;
    key.save(file)?;
    println!("{}", key.public());
    Ok(())
}

/// Warnings (refused connections, refused frames) to stderr; `RUST_LOG` overrides.
fn init_tracing(quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

/// The demo's error: a message for the user.
pub(crate) type Error = Box<dyn std::error::Error + Send + Sync>;
