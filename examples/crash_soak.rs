//! Crash soak: the crash test of `tests/crash.rs` for longer. A child process that mutates and
//! syncs a durable replica is SIGKILLed at random instants and restarted; every edit it
//! reported committed and every delta it acknowledged must survive, and both sides converge.
//!
//! `cargo run --release --features redb --example crash_soak -- [KILLS] [SEED]`
//! (default 2,000 kills, seed from the clock). Prints iterations and losses; exits non-zero
//! on any loss.
#![allow(clippy::print_stdout, reason = "the example reports its figures")]

#[path = "../tests/support/crash.rs"]
mod crash;

/// The command line.
#[derive(clap::Parser)]
#[command(about = "SIGKILL a durable replica's process at random instants; count what is lost")]
struct Cli {
    /// How many kills.
    #[arg(default_value_t = 2_000)]
    kills: u64,
    /// The schedule's seed [default: from the clock].
    seed: Option<u64>,
}

fn main() {
    crash::child_if_requested();
    let cli = <Cli as clap::Parser>::parse();
    let kills = cli.kills;
    let seed = cli.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    println!("crash soak: {kills} kills, seed {seed}");
    let report = crash::run(kills, seed);
    println!("{report:#?}");
    println!(
        "iterations {}, losses {}, converged {}",
        report.iterations, report.losses, report.converged
    );
    if report.losses > 0 || !report.converged {
        std::process::exit(1);
    }
}
