//! Crash test: a child process that mutates and syncs with durable acks is SIGKILLed at
//! random instants and restarted, at least 100 times; no committed edit and no acknowledged
//! delta may be lost, and both sides converge. See `tests/support/crash.rs`.
//!
//! `DELTACRDT_CRASH_KILLS` sets the number of kills (default 150), `DELTACRDT_SEED` the seed
//! (printed). A test without the libtest harness: the same binary runs as the child, and its
//! stdout is the child's channel to the parent.
#![allow(clippy::print_stdout, reason = "the test reports its figures")]

#[path = "support/crash.rs"]
mod crash;

fn main() {
    crash::child_if_requested();
    let kills = std::env::var("DELTACRDT_CRASH_KILLS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(150);
    let seed = std::env::var("DELTACRDT_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!(
        "crash test: seed {seed} (DELTACRDT_SEED={seed} to replay the schedule), {kills} kills"
    );
    let report = crash::run(kills, seed);
    println!("{report:#?}");
    assert_eq!(report.losses, 0, "losses");
    assert!(report.converged, "the replicas did not converge");
    assert!(report.iterations >= kills);
    println!("test crash ... ok");
    println!("1 passed, 0 failed");
}
