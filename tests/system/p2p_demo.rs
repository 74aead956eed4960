//! The p2p demo's whole scenario, small: five peer processes on loopback, each with its own
//! data directory, a partition, a SIGKILL and a restart from the data directory, the heal.
//! Asserts that the restarted peer is the same replica, that every edit committed (on disk)
//! before the SIGKILL survives, convergence, zero lost committed edits and that a peer whose
//! key is on no allow-list is refused (the demo checks each and exits non-zero otherwise; this test
//! also reads its report). With the `metrics` feature, a peer's `--metrics` endpoint is scraped.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/examples/p2p`, which `cargo test` builds with `tokio` and `redb`.
fn demo() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .map(PathBuf::from);
    let path = profile_dir.unwrap_or_default().join("examples").join("p2p");
    assert!(
        path.exists(),
        "the p2p example is not built at {} — run `cargo test --workspace --all-features` \
         (or `cargo build --features tokio,redb --example p2p`)",
        path.display()
    );
    path
}

#[test]
fn five_processes_converge_keep_the_killed_peers_committed_edits_and_refuse_the_intruder() {
    let out = Command::new(demo())
        .args([
            "--quick",
            "--ops",
            "15",
            "--bench-ops",
            "30",
            "--converge-secs",
            "30",
        ])
        .args(["--no-doc", "--seed", "7"])
        .output()
        .unwrap_or_else(|e| panic!("could not run the demo: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "demo failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert!(
        stdout.contains("converged: 5 peers hold the same document"),
        "{stdout}"
    );
    assert!(stdout.contains(" 0 lost;"), "{stdout}");
    assert!(
        stdout.contains("its edits reached the others: false"),
        "{stdout}"
    );
    assert!(stdout.contains("killed with SIGKILL"), "{stdout}");
    assert!(stdout.trim_end().ends_with("OK"), "{stdout}");
    assert!(stdout.contains("durability: "), "{stdout}");
    assert!(stdout.contains("channels: Noise XX"), "{stdout}");
    assert!(stdout.contains("on no allow-list): refused"), "{stdout}");
    // The killed peer came back from its data directory as the same replica (the demo fails
    // otherwise), and every edit it reported committed before the SIGKILL is in the document.
    let killed = stdout
        .lines()
        .find(|l| l.starts_with("killed p4: "))
        .unwrap_or_else(|| panic!("no line about the killed peer:\n{stdout}"));
    assert!(
        killed.contains("from its data directory: same replica"),
        "{killed}"
    );
    assert!(killed.contains(" 0 lost;"), "{killed}");
    let before_kill: usize = killed
        .strip_prefix("killed p4: ")
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(before_kill >= 15, "{killed}");
    // Its row: the full states it sent (resumed delta sync: none, or a few where the log
    // could not serve a peer) are shown with their reason.
    assert!(killed.contains("full states it sent: "), "{killed}");
    assert!(stdout.contains("throughput: "), "{stdout}");
    // At least one edit per peer was committed, so the lost-edits check had something to check.
    let reported: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("committed edits: "))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(reported >= 5 * 15, "{stdout}");
}

/// `GET path` from `addr` over plain HTTP/1.1: the status line and the body.
#[cfg(feature = "metrics")]
fn get(addr: &str, path: &str) -> (String, String) {
    use std::io::{Read, Write};
    let mut socket = std::net::TcpStream::connect(addr).unwrap();
    socket
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    write!(socket, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (
        head.lines().next().unwrap_or("").to_owned(),
        body.to_owned(),
    )
}

/// The metrics test's allow-list: the keys of peers `a` and `b`, made with `p2p keygen` in
/// their data directories (where a peer looks for `peer.key`).
#[cfg(feature = "metrics")]
fn allow_file() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("deltacrdt-metrics-{}-allow", std::process::id()))
}

#[cfg(feature = "metrics")]
fn keys_for_metrics_peers() {
    let mut allow = String::new();
    for name in ["a", "b"] {
        let dir =
            std::env::temp_dir().join(format!("deltacrdt-metrics-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new(demo())
            .arg("keygen")
            .arg(dir.join("peer.key"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        allow.push_str(&String::from_utf8(out.stdout).unwrap());
    }
    std::fs::write(allow_file(), allow).unwrap();
}

/// A demo peer in control mode with `--metrics`: its stdin, its ready line, and a thread
/// draining its status lines.
#[cfg(feature = "metrics")]
fn metrics_peer(name: &str, connect: Option<&str>) -> (std::process::Child, serde_json::Value) {
    use std::io::BufRead;
    use std::process::Stdio;
    let mut cmd = Command::new(demo());
    cmd.args(["peer", "--control", "--listen", "127.0.0.1:0"])
        .args(["--metrics", "127.0.0.1:0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(addr) = connect {
        cmd.args(["--connect", addr]);
    }
    let dir = std::env::temp_dir().join(format!("deltacrdt-metrics-{}-{name}", std::process::id()));
    cmd.arg("--data-dir")
        .arg(&dir)
        .arg("--allow")
        .arg(allow_file());
    let mut child = cmd.spawn().unwrap();
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let ready: serde_json::Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    std::thread::spawn(move || for _ in lines {});
    (child, ready)
}

/// The demo's `--metrics` endpoint, scraped: two peers sync a register write, and the one that
/// received it serves the library's series — sessions, traffic by kind, per-peer lag, the
/// replication latency — in Prometheus text, and the dashboard page beside them.
#[cfg(feature = "metrics")]
#[test]
fn a_peer_serves_its_metrics_in_prometheus_text_and_a_dashboard() {
    use std::io::Write;
    keys_for_metrics_peers();
    let (mut a, ready_a) = metrics_peer("a", None);
    let (mut b, ready_b) = metrics_peer("b", ready_a["addr"].as_str());
    let metrics = ready_b["metrics"].as_str().unwrap().to_owned();
    writeln!(a.stdin.as_mut().unwrap(), "set title \"scraped\"").unwrap();
    let wanted = [
        "deltacrdt_net_open_sessions 1",
        "deltacrdt_sync_received_delta_messages_total",
        "deltacrdt_sync_peer_lag{peer=",
        "deltacrdt_sync_replication_latency_seconds{quantile=\"0.99\"}",
        "deltacrdt_durable_commit_seconds",
    ];
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let body = loop {
        let (status, body) = get(&metrics, "/metrics");
        assert_eq!(status, "HTTP/1.1 200 OK");
        if wanted.iter().all(|w| body.contains(w)) {
            break body;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "series missing after 20 s: {:?}\n{body}",
            wanted
                .iter()
                .filter(|w| !body.contains(*w))
                .collect::<Vec<_>>()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert!(
        body.contains("# TYPE deltacrdt_sync_sent_delta_bytes_total counter"),
        "{body}"
    );
    let (status, page) = get(&metrics, "/");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(page.contains("<title>deltacrdt peer</title>") && page.contains("fetch('/metrics'"));
    assert_eq!(get(&metrics, "/nothing").0, "HTTP/1.1 404 Not Found");
    for child in [&mut a, &mut b] {
        let _ = writeln!(child.stdin.as_mut().unwrap(), "quit");
        let _ = child.wait();
    }
    for name in ["a", "b"] {
        let dir =
            std::env::temp_dir().join(format!("deltacrdt-metrics-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(dir);
    }
    let _ = std::fs::remove_file(allow_file());
}
