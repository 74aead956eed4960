//! The end of the scenario: the per-peer table and the throughput figure.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::protocol::Report;

/// One line of the table.
#[derive(Debug)]
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) alive: bool,
    pub(crate) report: Option<Report>,
    pub(crate) converged_after_heal: Option<Duration>,
}

/// Bytes, human-readable.
pub(crate) fn bytes(b: u64) -> String {
    match b {
        0..1_000 => format!("{b} B"),
        1_000..1_000_000 => format!("{:.1} kB", b as f64 / 1e3),
        _ => format!("{:.2} MB", b as f64 / 1e6),
    }
}

/// Full states a peer sent, with their reasons (`0` if none).
pub(crate) fn full_states(r: &Report) -> String {
    let mut why = Vec::new();
    for (n, reason) in [
        (r.full_new_peer, "new peer"),
        (r.full_restart, "restart"),
        (r.full_evicted, "evicted"),
    ] {
        if n > 0 {
            why.push(format!("{n} {reason}"));
        }
    }
    if why.is_empty() {
        "0".to_string()
    } else {
        why.join(", ")
    }
}

/// Prints the per-peer table.
pub(crate) fn table(rows: &[Row]) {
    println!(
        "{:<9} {:<8} {:<8} {:>5} {:>16} {:>16} {:>22} {:>7} {:>8} {:>10}",
        "peer",
        "replica",
        "key",
        "edits",
        "sent msgs/bytes",
        "recv msgs/bytes",
        "full states (why)",
        "resends",
        "refused",
        "converged"
    );
    for row in rows {
        let Some(r) = &row.report else {
            println!(
                "{:<9} {:<8} {:<8} killed with SIGKILL (restarted below from its data directory)",
                row.name, "-", "-"
            );
            continue;
        };
        let full = full_states(r);
        let conv = match row.converged_after_heal {
            Some(d) => format!("{:.2} s", d.as_secs_f64()),
            None if row.name == "intruder" => "refused".into(),
            None => "-".into(),
        };
        println!(
            "{:<9} {:<8} {:<8} {:>5} {:>16} {:>16} {:>22} {:>7} {:>8} {:>10}",
            row.name,
            r.id.chars().take(8).collect::<String>(),
            r.key,
            r.edits,
            format!("{}/{}", r.msgs_out, bytes(r.bytes_out)),
            format!("{}/{}", r.msgs_in, bytes(r.bytes_in)),
            full,
            r.retransmissions,
            r.refused,
            if row.alive { conv } else { "-".into() },
        );
    }
    println!(
        "(key: the peer's public key fingerprint; refused: connections refused or closed on \
         error — a key on no allow-list, blocked during the \
         partition, a killed peer's broken link; converged: time after the heal until the peer \
         held the final document)"
    );
}

/// The throughput run, measured from two reports of every peer.
#[derive(Debug)]
pub(crate) struct Throughput {
    updates: u64,
    elapsed: Duration,
    frames: u64,
    frame_bytes: u64,
    delta_bytes: u64,
}

impl Throughput {
    pub(crate) fn measure(
        before: &HashMap<usize, Report>,
        after: &HashMap<usize, Report>,
        elapsed: Duration,
        _peers: usize,
    ) -> Self {
        let mut t = Self {
            updates: 0,
            elapsed,
            frames: 0,
            frame_bytes: 0,
            delta_bytes: 0,
        };
        for (i, a) in after {
            if a.id.is_empty() {
                continue;
            }
            let b = before.get(i).cloned().unwrap_or_default();
            if !b.id.is_empty() && b.id != a.id {
                continue;
            }
            t.updates += a.edits.saturating_sub(b.edits);
            t.frames += a.wire_frames.saturating_sub(b.wire_frames);
            t.frame_bytes += a.wire_bytes.saturating_sub(b.wire_bytes);
            t.delta_bytes += a.delta_bytes.saturating_sub(b.delta_bytes);
        }
        t
    }
}

/// Bytes a TCP frame costs beyond the engine's: the auth tag and the length prefix.
const FRAMING: u64 = 16 + 4;

/// Prints the throughput figure against the reference.
/// The peers' resident memory at the end of the run, with their edits and state size.
pub(crate) fn memory(rows: &[Row]) {
    let up: Vec<(&str, &Report)> = rows
        .iter()
        .filter(|r| r.alive)
        .filter_map(|r| Some((r.name.as_str(), r.report.as_ref()?)))
        .filter(|(_, r)| r.rss_bytes > 0)
        .collect();
    if up.is_empty() {
        return;
    }
    let list: Vec<String> = up
        .iter()
        .map(|(name, r)| format!("{name} {:.1} MB", r.rss_bytes as f64 / 1e6))
        .collect();
    let edits: u64 = up.iter().map(|(_, r)| r.edits).sum();
    println!(
        "resident memory at the end: {} (document {} B of JSON, {edits} edits made by these peers)",
        list.join(", "),
        up.first().map_or(0, |(_, r)| r.doc.len()),
    );
}

pub(crate) fn throughput(t: &Throughput, peers: usize) {
    let updates = t.updates.max(1) as f64;
    let per_sec = t.updates as f64 / t.elapsed.as_secs_f64().max(1e-9);
    let engine = t.frame_bytes as f64 / updates;
    let wire = (t.frame_bytes + FRAMING * t.frames) as f64 / updates;
    let reference = t.delta_bytes as f64 * (peers.saturating_sub(1)) as f64 / updates;
    println!(
        "throughput: {} updates made on {peers} peers concurrently, replicated to all of them in \
         {:.2} s = {per_sec:.0} updates/s",
        t.updates,
        t.elapsed.as_secs_f64(),
    );
    println!(
        "frames per update: {:.2} written to sockets (deltas, acks, retransmissions, relays)",
        t.frames as f64 / updates
    );
    println!(
        "bytes per update: {engine:.1} B of sync frames ({wire:.1} B on the wire with the 16 B auth \
         tag and 4 B length prefix per frame); reference {reference:.1} B (each update's delta \
         delivered once to each of the other {} peers) = {:.2}x the reference ({:.2}x on the wire)",
        peers.saturating_sub(1),
        engine / reference.max(1e-9),
        wire / reference.max(1e-9),
    );
}

/// The wall clock in Unix milliseconds (what the peers stamp arrivals with: one machine).
pub(crate) fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Milliseconds from each edit made in `window` (Unix ms) by one of `peers` (name, report)
/// to its arrival at each other one of them, sorted.
pub(crate) fn latencies(peers: &[(String, &Report)], (from, to): (u64, u64)) -> Vec<u64> {
    let seen: Vec<HashMap<&str, u64>> = peers
        .iter()
        .map(|(_, r)| r.seen.iter().map(|(t, ms)| (t.as_str(), *ms)).collect())
        .collect();
    let mut out = Vec::new();
    for (i, (name, _)) in peers.iter().enumerate() {
        let prefix = format!("{name}-");
        let Some(own) = seen.get(i) else { continue };
        for (tag, &made) in own {
            if !tag.starts_with(&prefix) || made < from || made > to {
                continue;
            }
            for (j, other) in seen.iter().enumerate() {
                if j != i
                    && let Some(&arrived) = other.get(tag)
                {
                    out.push(arrived.saturating_sub(made));
                }
            }
        }
    }
    out.sort_unstable();
    out
}

/// Prints the median and 99th percentile of `ms` (sorted).
pub(crate) fn latency(label: &str, ms: &[u64]) {
    let at = |p: f64| {
        let rank = ((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len().max(1));
        ms.get(rank - 1).copied().unwrap_or(0)
    };
    println!(
        "latency, edit to arrival at each other peer, {label}: p50 {} ms, p99 {} ms, max {} ms \
         ({} arrivals)",
        at(0.5),
        at(0.99),
        ms.last().copied().unwrap_or(0),
        ms.len()
    );
}
