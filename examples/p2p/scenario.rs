//! The scenario the demo runs with no arguments: peers as child processes on 127.0.0.1, each
//! with its own data directory, concurrent edits, a partition, a SIGKILL and a restart from
//! the data directory, the heal, convergence, a throughput run, and the checks.

use std::collections::{BTreeSet, HashMap};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use tokio::time::{Instant, sleep};

use crate::Error;
use crate::args::ScenarioArgs;
use crate::process::{self, Peer, Spawn};
use crate::protocol::{Report, Status};
use crate::report::{self, Row, Throughput};

/// The scenario's run: its peers, its clock, its log and data directories, the status line.
struct Run {
    args: ScenarioArgs,
    exe: PathBuf,
    logs: PathBuf,
    /// One data directory per peer below this one.
    data: PathBuf,
    seed: u64,
    peers: Vec<Peer>,
    start: Instant,
    phase: &'static str,
    tty: bool,
    last_line: Instant,
}

pub(crate) async fn run(args: ScenarioArgs) -> Result<(), Error> {
    let seed = args.seed.unwrap_or_else(|| {
        let mut b = [0; 8];
        let _ = getrandom::fill(&mut b);
        u64::from_le_bytes(b) >> 16
    });
    let logs = std::env::temp_dir().join(format!("deltacrdt-p2p-{}", std::process::id()));
    std::fs::create_dir_all(&logs)?;
    let data = std::env::temp_dir().join(format!("deltacrdt-p2p-data-{}", std::process::id()));
    std::fs::create_dir_all(&data)?;
    let mut run = Run {
        exe: std::env::current_exe()?,
        logs,
        data,
        seed,
        peers: Vec::new(),
        start: Instant::now(),
        phase: "start",
        tty: std::io::stderr().is_terminal(),
        last_line: Instant::now(),
        args,
    };
    let result = run.scenario().await;
    run.finish_line();
    for peer in &mut run.peers {
        let _ = peer.send("quit").await;
    }
    for peer in &mut run.peers {
        if tokio::time::timeout(Duration::from_secs(5), peer.process.wait())
            .await
            .is_err()
        {
            let _ = peer.process.start_kill();
        }
    }
    if result.is_ok() {
        // Nothing to investigate: leave no files behind.
        let _ = std::fs::remove_dir_all(&run.logs);
    } else {
        eprintln!("peer logs (tracing warnings): {}", run.logs.display());
    }
    if run.args.keep_data {
        eprintln!("peer data directories kept in {}", run.data.display());
    } else {
        let _ = std::fs::remove_dir_all(&run.data);
    }
    result
}

impl Run {
    async fn scenario(&mut self) -> Result<(), Error> {
        let n = self.args.peers;
        eprintln!(
            "p2p: {n} peers as processes on 127.0.0.1, seed {} (--seed to replay)",
            self.seed
        );
        println!(
            "durability: each peer keeps its replica in its own data directory (redb), group \
             commit: every network turn writes and syncs before any frame leaves; an edit counts \
             as committed once it is on disk"
        );
        // A key pair per peer, in its data directory, and one allow-list of the board's keys.
        let mut allow = String::from("# the board's peers (p2p scenario)\n");
        for i in 0..n {
            let dir = self.data.join(format!("p{i}"));
            std::fs::create_dir_all(&dir)?;
            let key = deltacrdt::PeerKey::generate()?;
            key.save(dir.join("peer.key"))?;
            allow.push_str(&format!("{} p{i}\n", key.public()));
        }
        std::fs::write(self.allow_file(), allow)?;
        println!(
            "channels: Noise XX (X25519, AES-256-GCM), a key pair per peer, {n} keys on the \
             allow-list; replica ids bound to keys"
        );
        for i in 0..n {
            let ws = i == 0;
            let name = format!("p{i}");
            let dir = self.data.join(&name);
            self.spawn(name, "127.0.0.1:0".into(), ws, dir).await?;
        }
        // Full mesh: each peer dials the ones before it; the last joins peer 0 by WebSocket.
        for i in 1..n {
            for j in 0..i {
                let target = match (i == n - 1 && j == 0, self.ws_addr(0)) {
                    (true, Some(ws)) => format!("ws://{ws}"),
                    _ => self.addr(j),
                };
                self.peers_mut(i)?
                    .send(&format!("connect {target}"))
                    .await?;
            }
        }
        self.phase = "connecting";
        self.wait("full mesh", Duration::from_secs(15), |r| {
            r.alive()
                .all(|p| p.status().is_some_and(|s| s.links + 1 >= n))
        })
        .await?;

        let mut intruder = None;
        if self.args.intruder {
            let target = format!("connect {}", self.addr(0));
            let dir = self.data.join("intruder");
            // Its own key (made in its data directory), on nobody's allow-list.
            let i = self
                .spawn("intruder".into(), "127.0.0.1:0".into(), false, dir)
                .await?;
            self.peers_mut(i)?.send(&target).await?;
            self.peers_mut(i)?.send("edit 3 0").await?;
            intruder = Some(i);
        }

        // 1. Everyone edits, connected.
        self.phase = "editing";
        let (ops, every) = (self.args.ops, self.args.interval_ms);
        let editors: Vec<usize> = self.members().map(|(i, _)| i).collect();
        let editing_from = report::unix_ms();
        self.broadcast(&format!("edit {ops} {every}")).await?;
        self.wait("edits", Duration::from_secs(60), Run::edits_done)
            .await?;
        let editing = (editing_from, report::unix_ms());
        // Every paced edit arrives everywhere before the partition: the latencies measured
        // are those of a connected mesh, not of the last edits waiting out the partition.
        self.wait("edits delivered", Duration::from_secs(30), Run::converged)
            .await?;

        // 2. Partition into two groups; both keep editing.
        self.phase = "partitioned";
        let split = n / 2;
        let (left, right): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| i < split);
        self.block(&left, &right).await?;
        let per = self.args.partition.as_millis() as u64 / (2 * ops.max(1) as u64);
        self.broadcast(&format!("edit {ops} {per}")).await?;
        let partition_end = Instant::now() + self.args.partition;
        self.idle_until(Instant::now() + self.args.partition / 2)
            .await;

        // 3. Kill one peer of the right group with SIGKILL while it edits, restart it on its
        //    address from its data directory: the same replica, with every edit it committed
        //    and its peers' acknowledgements, so sync resumes with deltas.
        let victim = right.last().copied().unwrap_or(n - 1);
        self.phase = "killed";
        let old = self.peer(victim)?;
        let (listen, name, old_id) = (old.listen.clone(), format!("{}'", old.name), old.id());
        let dir = self.data.join(&old.name);
        let victim_peer = self.peers_mut(victim)?;
        victim_peer.process.start_kill()?;
        let _ = victim_peer.process.wait().await;
        victim_peer.alive = false;
        self.phase = "restarting";
        let back = self.spawn(name, listen, false, dir).await?;
        let back_id = self.peer(back)?.id();
        if back_id != old_id {
            return Err(format!(
                "the restarted peer came back as {back_id}, not as {old_id}: its data was lost"
            )
            .into());
        }
        let left_ids: Vec<String> = left
            .iter()
            .filter_map(|&i| self.peer(i).ok())
            .map(Peer::id)
            .collect();
        self.peers_mut(back)?
            .send(&format!("block {}", left_ids.join(" ")))
            .await?;
        for j in (0..n).filter(|&j| j != victim) {
            let target = self.addr(j);
            self.peers_mut(back)?
                .send(&format!("connect {target}"))
                .await?;
        }
        self.peers_mut(back)?
            .send(&format!("edit {} {per}", ops / 2))
            .await?;
        self.phase = "partitioned";
        self.idle_until(partition_end).await;

        // 4. Heal, and wait for every peer to hold the same document.
        self.phase = "healed";
        let healed = Instant::now();
        for p in &mut self.peers {
            p.view(|v| v.history.clear());
        }
        self.broadcast("unblock-all").await?;
        let within = self.args.converge_within;
        self.wait("convergence after the heal", within, Run::converged)
            .await?;
        let converged_at = Instant::now();
        let final_digest = self.common_digest().unwrap_or(0);
        let conv_times: Vec<Option<Duration>> = self
            .peers
            .iter()
            .map(|p| p.view(|v| converge_time(&v.history, healed, final_digest)))
            .collect();

        // 5. Throughput: every peer edits as fast as it can; time until all hold everything.
        let mut throughput = None;
        if self.args.bench_ops > 0 {
            self.phase = "throughput";
            let before = self.reports().await?;
            let t0 = Instant::now();
            let from = report::unix_ms();
            self.broadcast(&format!("edit {} 0", self.args.bench_ops))
                .await?;
            self.wait("throughput run", Duration::from_secs(120), Run::converged)
                .await?;
            let elapsed = t0.elapsed();
            let window = (from, report::unix_ms());
            let after = self.reports().await?;
            throughput = Some((
                Throughput::measure(&before, &after, elapsed, self.members().count()),
                window,
            ));
        }

        // 6. Checks and the report.
        self.phase = "report";
        let reports = self.reports().await?;
        self.finish_line();
        let mut rows = Vec::new();
        for (i, p) in self.peers.iter().enumerate() {
            let conv = conv_times.get(i).copied().flatten();
            rows.push(Row {
                name: p.name.clone(),
                alive: p.alive,
                report: reports.get(&i).cloned(),
                converged_after_heal: if p.alive && Some(i) != intruder {
                    conv
                } else {
                    None
                },
            });
        }
        report::table(&rows);
        if let Some((t, _)) = &throughput {
            report::throughput(t, self.members().count());
        }
        report::memory(&rows);
        // From an edit to its arrival at each other peer: the paced editing of phase 1 (among
        // the peers that were up throughout; the killed peer's times died with it) and the
        // throughput run (all members).
        let members_now: Vec<usize> = self.members().map(|(i, _)| i).collect();
        let of = |ids: &[usize]| -> Vec<(String, &Report)> {
            ids.iter()
                .filter(|i| members_now.contains(i))
                .filter_map(|&i| Some((self.peers.get(i)?.name.clone(), reports.get(&i)?)))
                .collect()
        };
        let paced = report::latencies(&of(&editors), editing);
        report::latency(
            &format!("paced edits (one per peer every {every} ms)"),
            &paced,
        );
        if let Some((_, window)) = throughput {
            let all = report::latencies(&of(&members_now), window);
            report::latency("throughput run", &all);
        }
        let members: Vec<usize> = self.members().map(|(i, _)| i).collect();
        let docs: BTreeSet<&str> = members
            .iter()
            .filter_map(|i| reports.get(i))
            .map(|r| r.doc.as_str())
            .collect();
        let committed: Vec<String> = self
            .peers
            .iter()
            .enumerate()
            .filter(|(i, _)| Some(*i) != intruder)
            .flat_map(|(_, p)| p.view(|v| v.committed.clone()))
            .collect();
        let doc = docs.iter().next().copied().unwrap_or("{}");
        let log: BTreeSet<String> = serde_json::from_str::<serde_json::Value>(doc)?
            .get("log")
            .and_then(|l| l.as_array().cloned())
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let lost: Vec<&String> = committed.iter().filter(|t| !log.contains(*t)).collect();
        if self.args.show_doc {
            let board = serde_json::from_str::<serde_json::Value>(doc)?;
            println!(
                "final document (the `log` set of {} edit tags elided):",
                log.len()
            );
            print_board(&board);
        }
        println!(
            "converged: {} peers hold the same document ({} B of JSON), {:.2} s after the heal",
            members.len(),
            doc.len(),
            converged_at.duration_since(healed).as_secs_f64()
        );
        println!(
            "committed edits: {} reported, {} lost; edits in the document: {}",
            committed.len(),
            lost.len(),
            log.len()
        );
        // The killed peer: its edits committed (on disk) before the SIGKILL, all present.
        let killed = self.peer(victim)?;
        let killed_committed = killed.view(|v| v.committed.clone());
        let killed_lost = killed_committed
            .iter()
            .filter(|t| !log.contains(*t))
            .count();
        let back_peer = self.peer(back)?;
        let resumed = back_peer.view(|v| v.resumed);
        let back_full = reports.get(&back).map(report::full_states);
        println!(
            "killed {}: {} edits committed before the SIGKILL, {killed_lost} lost; restarted as \
             {} from its data directory: same replica {}, resumed at sequence {} with {} peers' \
             acknowledgements; full states it sent: {}",
            killed.name,
            killed_committed.len(),
            back_peer.name,
            back_peer.id().chars().take(8).collect::<String>(),
            resumed.map_or(0, |r| r.0),
            resumed.map_or(0, |r| r.1),
            back_full.unwrap_or_else(|| "-".into()),
        );
        if docs.len() != 1 {
            return Err(format!("peers ended with {} different documents", docs.len()).into());
        }
        if !lost.is_empty() {
            return Err(format!("committed edits missing: {lost:?}").into());
        }
        if resumed.is_none() {
            return Err("the restarted peer did not resume from its data directory".into());
        }
        if killed_committed.is_empty() {
            return Err("the killed peer committed no edit before the SIGKILL".into());
        }
        if let Some(i) = intruder {
            let refused: u64 = members
                .iter()
                .filter_map(|m| reports.get(m))
                .map(|r| r.refused_not_allowed)
                .sum();
            let key = reports.get(&i).map_or("?", |r| r.key.as_str());
            let leaked = log.iter().any(|t| t.starts_with("intruder-"));
            println!(
                "intruder (key {key}, on no allow-list): refused {refused} time(s) by the peers; \
                 its edits reached the others: {leaked}"
            );
            if refused == 0 || leaked {
                return Err("the peer whose key is on no allow-list was not refused".into());
            }
        }
        println!("OK");
        Ok(())
    }

    /// Starts a peer process over data directory `dir` and waits for its `ready` line;
    /// returns its index.
    async fn spawn(
        &mut self,
        name: String,
        listen: String,
        ws: bool,
        dir: PathBuf,
    ) -> Result<usize, Error> {
        let seed = self.seed + self.peers.len() as u64;
        let options = Spawn {
            exe: &self.exe,
            logs: &self.logs,
            seed,
            allow: &self.allow_file(),
            ws,
            data_dir: Some(&dir),
            relay_aware: self.args.relay_aware,
            metrics: self.args.metrics,
        };
        let peer = process::spawn(&options, name, listen).await?;
        if let Some(m) = peer.view(|v| v.metrics.clone()) {
            println!(
                "{}: metrics on http://{m}/metrics, dashboard on http://{m}/",
                peer.name
            );
        }
        self.peers.push(peer);
        Ok(self.peers.len() - 1)
    }

    /// The board's allow-list.
    fn allow_file(&self) -> PathBuf {
        self.data.join("allow")
    }

    fn peer(&self, i: usize) -> Result<&Peer, Error> {
        self.peers.get(i).ok_or_else(|| "no such peer".into())
    }

    fn peers_mut(&mut self, i: usize) -> Result<&mut Peer, Error> {
        self.peers.get_mut(i).ok_or_else(|| "no such peer".into())
    }

    fn addr(&self, i: usize) -> String {
        self.peers
            .get(i)
            .map(|p| p.listen.clone())
            .unwrap_or_default()
    }

    fn ws_addr(&self, i: usize) -> Option<String> {
        self.peers
            .get(i)
            .and_then(|p| p.view(|v| v.ready.as_ref().and_then(|r| r.2.clone())))
    }

    /// The live peers of the board (not the intruder).
    fn members(&self) -> impl Iterator<Item = (usize, &Peer)> {
        self.peers
            .iter()
            .enumerate()
            .filter(|(_, p)| p.alive && p.name != "intruder")
    }

    fn alive(&self) -> impl Iterator<Item = &Peer> {
        self.members().map(|(_, p)| p)
    }

    async fn broadcast(&mut self, line: &str) -> Result<(), Error> {
        for p in self
            .peers
            .iter_mut()
            .filter(|p| p.alive && p.name != "intruder")
        {
            p.send(line).await?;
        }
        Ok(())
    }

    /// Each side refuses the other.
    async fn block(&mut self, left: &[usize], right: &[usize]) -> Result<(), Error> {
        let ids = |r: &Run, side: &[usize]| -> Vec<String> {
            side.iter()
                .filter_map(|&i| r.peer(i).ok())
                .map(Peer::id)
                .collect()
        };
        let (l, rt) = (ids(self, left), ids(self, right));
        for &i in left {
            self.peers_mut(i)?
                .send(&format!("block {}", rt.join(" ")))
                .await?;
        }
        for &i in right {
            self.peers_mut(i)?
                .send(&format!("block {}", l.join(" ")))
                .await?;
        }
        Ok(())
    }

    fn edits_done(&self) -> bool {
        self.alive()
            .all(|p| p.status().is_some_and(|s| s.edits_left == 0))
    }

    fn common_digest(&self) -> Option<u64> {
        // Every peer's digest must be fresh and the same.
        let digests: Option<BTreeSet<u64>> = self
            .alive()
            .map(|p| p.status().and_then(|s| s.digest))
            .collect();
        digests
            .filter(|d| d.len() == 1)
            .and_then(|d| d.into_iter().next())
    }

    fn converged(&self) -> bool {
        self.edits_done() && self.common_digest().is_some()
    }

    /// Waits for `done`, updating the status line; an error after `within`.
    async fn wait(
        &mut self,
        what: &str,
        within: Duration,
        done: impl Fn(&Run) -> bool,
    ) -> Result<(), Error> {
        let deadline = Instant::now() + within;
        // Statuses older than now may predate the command that started this phase.
        let from = Instant::now();
        loop {
            let fresh = self
                .alive()
                .all(|p| p.view(|v| v.status.as_ref().is_some_and(|s| s.0 > from)));
            if fresh && done(self) {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.finish_line();
                return Err(format!("{what}: not reached within {within:?}").into());
            }
            self.status_line();
            sleep(Duration::from_millis(50)).await;
        }
    }

    async fn idle_until(&mut self, until: Instant) {
        while Instant::now() < until {
            self.status_line();
            sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asks every live peer for its report.
    async fn reports(&mut self) -> Result<HashMap<usize, Report>, Error> {
        let asked = Instant::now();
        for p in self.peers.iter_mut().filter(|p| p.alive) {
            p.send("report").await?;
        }
        let deadline = asked + Duration::from_secs(10);
        loop {
            let got: HashMap<usize, Report> = self
                .peers
                .iter()
                .enumerate()
                .filter(|(_, p)| p.alive)
                .filter_map(|(i, p)| {
                    p.view(|v| {
                        v.report
                            .as_ref()
                            .filter(|r| r.0 >= asked)
                            .map(|r| r.1.clone())
                    })
                    .map(|r| (i, r))
                })
                .collect();
            if got.len() == self.peers.iter().filter(|p| p.alive).count() {
                return Ok(got);
            }
            if Instant::now() > deadline {
                return Err("peers did not report".into());
            }
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// The live status line: `\r`-updated on a terminal, a line every 2 s otherwise.
    fn status_line(&mut self) {
        let every = if self.tty {
            Duration::from_millis(200)
        } else {
            Duration::from_secs(2)
        };
        if self.last_line.elapsed() < every {
            return;
        }
        self.last_line = Instant::now();
        let statuses: Vec<Status> = self.alive().filter_map(Peer::status).collect();
        let n = self.args.peers;
        let mut counts: HashMap<u64, usize> = HashMap::new();
        for s in &statuses {
            if let Some(digest) = s.digest {
                *counts.entry(digest).or_default() += 1;
            }
        }
        let agree = counts.values().max().copied().unwrap_or(0);
        let links: usize = statuses.iter().map(|s| s.links).sum();
        let edits: u64 = statuses.iter().map(|s| s.edits).sum();
        let bytes: u64 = statuses.iter().map(|s| s.bytes_out).sum();
        let frames: u64 = statuses.iter().map(|s| s.frames_out).sum();
        let line = format!(
            "[{:5.1}s] {:<11} peers up {}/{n} | links {links} | same doc {agree}/{} | edits {edits} | sent {} msgs, {}",
            self.start.elapsed().as_secs_f64(),
            self.phase,
            statuses.len(),
            statuses.len(),
            frames,
            report::bytes(bytes),
        );
        if self.tty {
            eprint!("\r{line}\x1b[K");
        } else {
            eprintln!("{line}");
        }
    }

    fn finish_line(&mut self) {
        if self.tty {
            eprintln!();
        }
    }
}

/// Time from the heal until the peer's digest reached the final one for good.
fn converge_time(history: &[(Instant, u64)], healed: Instant, last: u64) -> Option<Duration> {
    let pos = history.iter().rposition(|(_, d)| *d != last);
    let at = match pos {
        None => history.first(),
        Some(p) => history.get(p + 1),
    }?;
    Some(at.0.saturating_duration_since(healed))
}

/// The document, one line per field and per card, without its (long) edit log.
fn print_board(board: &serde_json::Value) {
    let Some(fields) = board.as_object() else {
        return;
    };
    for (name, value) in fields {
        match (name.as_str(), value.as_object()) {
            ("log", _) => {}
            ("cards", Some(cards)) => {
                for (card, fields) in cards {
                    println!("  cards/{card}: {fields}");
                }
            }
            _ => println!("  {name}: {value}"),
        }
    }
}
