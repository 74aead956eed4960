//! The crash harness shared by `tests/crash.rs` and `examples/crash_soak.rs`.
//!
//! The binary runs twice: as the **parent** (the test) and, re-executed with
//! `DELTACRDT_CRASH_CHILD=1`, as the **child**. The child opens a `RedbStore` in a directory
//! and syncs a `DurableReplica<Doc>` with the parent over its stdin/stdout; the parent holds an
//! in-memory `SyncEngine<Doc>` peer that makes edits of its own. The parent sends the child
//! edit commands (`E id`: insert `c{id}` into the set `c`), sync frames (`F`), and network
//! turns (`T now`: flush, report, send frames). The child reports an edit committed (`C id seq
//! hlc`) only once `update` returned durable (per-operation mode) or a `flush` succeeded (group
//! mode), and acknowledges parent deltas only through the wrapper.
//!
//! The parent SIGKILLs the child at random instants (seeded; some during its startup and
//! recovery), restarts it on the same directory, alternating the durability mode, and checks
//! on every restart: the same replica id; sequence number and clock not behind anything it
//! reported; every edit reported committed present; every parent edit the child acknowledged
//! (the parent engine's `A[child]`) present. At the end both converge. Any miss is a loss.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    reason = "a test harness: failing loudly is the point"
)]
#![allow(unreachable_pub, dead_code, reason = "shared by a test and an example")]

use std::collections::BTreeSet;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use deltacrdt::durable::{Durability, DurableConfig, DurableReplica, RedbStore};
use deltacrdt::{Doc, Hlc, ReplicaId, Scalar, SyncConfig, SyncEngine, decode, encode};

const CHILD_ENV: &str = "DELTACRDT_CRASH_CHILD";
const PARENT: u128 = 1;
const MAX_MSG: usize = 64 << 20;

fn write_msg(out: &mut impl Write, tag: u8, payload: &[u8]) -> std::io::Result<()> {
    out.write_all(&[tag])?;
    out.write_all(&u32::try_from(payload.len()).unwrap().to_le_bytes())?;
    out.write_all(payload)
}

fn read_msg(input: &mut impl Read) -> Option<(u8, Vec<u8>)> {
    let mut head = [0u8; 5];
    input.read_exact(&mut head).ok()?;
    let len = u32::from_le_bytes(head[1..5].try_into().unwrap()) as usize;
    if len > MAX_MSG {
        return None;
    }
    let mut payload = vec![0; len];
    input.read_exact(&mut payload).ok()?;
    Some((head[0], payload))
}

fn u64_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap())
}

fn sync_config() -> SyncConfig {
    SyncConfig {
        retransmit_after_ms: 50,
        ..SyncConfig::default()
    }
}

/// The child: runs until killed or until stdin closes.
fn child() -> ! {
    let dir = PathBuf::from(std::env::var("DELTACRDT_CRASH_DIR").unwrap());
    let durability = match std::env::var("DELTACRDT_CRASH_MODE").as_deref() {
        Ok("group") => Durability::Group,
        _ => Durability::PerOperation,
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let fail = |out: &mut BufWriter<_>, what: String| -> ! {
        let _ = write_msg(out, b'X', what.as_bytes());
        let _ = out.flush();
        std::process::exit(2)
    };
    let config = DurableConfig {
        durability,
        sync: sync_config(),
        compact_min_bytes: 8 << 10, // compact often: recovery from snapshot + log
        ..DurableConfig::default()
    };
    let opened = RedbStore::open_dir(&dir)
        .map_err(deltacrdt::Error::from)
        .and_then(|store| DurableReplica::<Doc, _>::open(store, config));
    let mut r = match opened {
        Ok(r) => r,
        Err(e) => fail(&mut out, format!("open: {e}")),
    };
    let parent = ReplicaId::from_u128(PARENT);
    r.connect(parent);
    let state_msg = |r: &DurableReplica<Doc, RedbStore>| {
        let mut m = r.id().as_bytes().to_vec();
        m.extend(r.durable_seq().to_le_bytes());
        m.extend(r.durable_hlc().as_u64().to_le_bytes());
        m.extend(encode(r.state()).unwrap());
        m
    };
    write_msg(&mut out, b'S', &state_msg(&r)).unwrap();
    out.flush().unwrap();
    let mut pending = Vec::new();
    let mut turns = 0u64;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    while let Some((tag, payload)) = read_msg(&mut input) {
        match tag {
            b'E' => {
                let id = u64_at(&payload, 0);
                let name = format!("c{id}");
                match r.update(|doc, hlc| doc.insert(hlc.replica(), &["c"], name.as_str().into())) {
                    Ok(c) if c.durable => {
                        let mut m = id.to_le_bytes().to_vec();
                        m.extend(c.seq.to_le_bytes());
                        m.extend(r.durable_hlc().as_u64().to_le_bytes());
                        write_msg(&mut out, b'C', &m).unwrap();
                    }
                    Ok(_) => pending.push(id),
                    Err(e) => fail(&mut out, format!("update: {e}")),
                }
            }
            b'F' => {
                if let Err(e) = r.receive(parent, &payload) {
                    fail(&mut out, format!("receive: {e}"));
                }
            }
            b'T' => {
                r.tick(u64_at(&payload, 0));
                // poll_transmit makes everything durable before the first frame leaves.
                loop {
                    match r.poll_transmit() {
                        Ok(Some(t)) => write_msg(&mut out, b'F', &t.bytes).unwrap(),
                        Ok(None) => break,
                        Err(e) => fail(&mut out, format!("poll: {e}")),
                    }
                }
                // An explicit flush now and then persists the latest acknowledgements.
                turns += 1;
                if turns.is_multiple_of(8)
                    && let Err(e) = r.flush()
                {
                    fail(&mut out, format!("flush: {e}"));
                }
                // Group mode: the edits are committed once a flush succeeded (here: the one
                // poll_transmit did, if anything was pending).
                if !r.is_durable() {
                    write_msg(&mut out, b'D', &[]).unwrap();
                    out.flush().unwrap();
                    continue;
                }
                for id in pending.drain(..) {
                    let mut m = id.to_le_bytes().to_vec();
                    m.extend(r.durable_seq().to_le_bytes());
                    m.extend(r.durable_hlc().as_u64().to_le_bytes());
                    write_msg(&mut out, b'C', &m).unwrap();
                }
                write_msg(&mut out, b'D', &[]).unwrap();
            }
            b'Q' => write_msg(&mut out, b'S', &state_msg(&r)).unwrap(),
            _ => fail(&mut out, format!("unknown command {tag}")),
        }
        out.flush().unwrap();
    }
    std::process::exit(0)
}

/// xorshift64*.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// What a run found.
#[derive(Debug, Default)]
pub struct Report {
    /// Kill-and-restart iterations.
    pub iterations: u64,
    /// Of those, kills during startup or recovery (before the child reported its state).
    pub early_kills: u64,
    /// Restarts whose recovered state was checked.
    pub checked_restarts: u64,
    /// Child edits reported committed (all checked after every later restart).
    pub committed: u64,
    /// The highest parent sequence number the child acknowledged.
    pub parent_acked: u64,
    /// Parent edits covered by that acknowledgement.
    pub parent_edits_acked: u64,
    /// Committed edits or acknowledged deltas missing after a restart, id changes, and
    /// sequence numbers or clocks behind what was reported (must be 0).
    pub losses: u64,
    /// Whether both replicas converged at the end.
    pub converged: bool,
    /// Wall time.
    pub elapsed: Duration,
}

struct Parent {
    engine: SyncEngine<Doc>,
    child: Option<ReplicaId>,
    committed: BTreeSet<u64>,
    parent_edits: Vec<(u64, u64)>,
    acked: u64,
    max_seq: u64,
    max_hlc: u64,
    restored_seq: u64,
    report: Report,
    start: Instant,
    turn_done: bool,
    frames_in: u64,
}

impl Parent {
    fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    fn handle(&mut self, tag: u8, payload: &[u8]) -> Option<(ReplicaId, u64, u64, Doc)> {
        match tag {
            b'S' => {
                let id = ReplicaId::try_from_slice(&payload[..16]).unwrap();
                let state: Doc = decode(&payload[32..]).expect("child state decodes");
                Some((id, u64_at(payload, 16), u64_at(payload, 24), state))
            }
            b'C' => {
                self.committed.insert(u64_at(payload, 0));
                self.max_seq = self.max_seq.max(u64_at(payload, 8));
                self.max_hlc = self.max_hlc.max(u64_at(payload, 16));
                None
            }
            b'F' => {
                let child = self.child.expect("child id known");
                self.engine
                    .receive(child, payload)
                    .expect("parent accepts the child's frames");
                self.frames_in += 1;
                None
            }
            b'D' => {
                self.turn_done = true;
                None
            }
            b'X' => panic!("child failed: {}", String::from_utf8_lossy(payload)),
            other => panic!("unknown child message {other}"),
        }
    }

    /// Checks a restarted child's recovered state; returns the losses found.
    fn verify(&mut self, id: ReplicaId, seq: u64, hlc: u64, state: &Doc) {
        let mut losses = 0;
        if *self.child.get_or_insert(id) != id {
            eprintln!("LOSS: the child came back as {id}");
            losses += 1;
        }
        if seq < self.max_seq || seq < self.restored_seq {
            eprintln!(
                "LOSS: sequence number {seq} behind {} / {}",
                self.max_seq, self.restored_seq
            );
            losses += 1;
        }
        if hlc < self.max_hlc {
            eprintln!("LOSS: clock {hlc:#x} behind {:#x}", self.max_hlc);
            losses += 1;
        }
        let set = state.set_at(&["c"]);
        for edit in &self.committed {
            if !set.is_some_and(|s| s.contains(&Scalar::from(format!("c{edit}").as_str()))) {
                eprintln!("LOSS: committed edit c{edit} missing");
                losses += 1;
            }
        }
        let parent_set = state.set_at(&["p"]);
        for &(s, edit) in &self.parent_edits {
            if s <= self.acked
                && !parent_set
                    .is_some_and(|p| p.contains(&Scalar::from(format!("p{edit}").as_str())))
            {
                eprintln!("LOSS: acknowledged parent edit p{edit} (seq {s}) missing");
                losses += 1;
            }
        }
        self.restored_seq = seq;
        self.report.losses += losses;
        self.report.checked_restarts += 1;
    }

    fn parent_edit(&mut self, id: u64) {
        let me = self.engine.id();
        let name = format!("p{id}");
        self.engine
            .update(|doc, _| doc.insert(me, &["p"], name.as_str().into()))
            .expect("parent edit");
        self.parent_edits.push((self.engine.seq(), id));
    }

    fn send_frames(&mut self, stdin: &mut ChildStdin) -> u64 {
        let child = self.child.expect("child id known");
        self.engine.tick(self.now());
        let mut sent = 0;
        while let Some(t) = self.engine.poll_transmit() {
            if t.to == child {
                if write_msg(stdin, b'F', &t.bytes).is_err() {
                    break;
                }
                sent += 1;
            }
        }
        sent
    }

    fn record_acks(&mut self) {
        if let Some(child) = self.child
            && let Some(p) = self.engine.stats().peers.iter().find(|p| p.peer == child)
        {
            self.acked = self.acked.max(p.acked.unwrap_or(0));
        }
    }
}

struct Running {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<(u8, Vec<u8>)>,
    reader: std::thread::JoinHandle<()>,
}

fn spawn(dir: &Path, mode: &str) -> Running {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .env(CHILD_ENV, "1")
        .env("DELTACRDT_CRASH_DIR", dir)
        .env("DELTACRDT_CRASH_MODE", mode)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn the child");
    let stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = channel();
    let reader = std::thread::spawn(move || {
        while let Some(msg) = read_msg(&mut stdout) {
            if tx.send(msg).is_err() {
                break;
            }
        }
    });
    Running {
        child,
        stdin,
        rx,
        reader,
    }
}

/// Waits for the child's state report, handling everything before it.
fn await_state(
    p: &mut Parent,
    run: &Running,
    timeout: Duration,
) -> Option<(ReplicaId, u64, u64, Doc)> {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match run.rx.recv_timeout(left) {
            Ok((tag, payload)) => {
                if let Some(s) = p.handle(tag, &payload) {
                    return Some(s);
                }
            }
            Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
        }
    }
}

/// Becomes the child (and never returns) when this process was started as one. Call it first
/// thing in `main`: stdout is the child's channel to the parent.
pub fn child_if_requested() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child();
    }
}

/// Runs the parent: `kills` kill-and-restart iterations with schedule `seed`, then a final
/// session until convergence; returns the report.
pub fn run(kills: u64, seed: u64) -> Report {
    let dir = std::env::temp_dir().join(format!("deltacrdt-crash-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut rng = Rng(seed | 1);
    let hlc = Hlc::builder(ReplicaId::from_u128(PARENT)).build().unwrap();
    let mut p = Parent {
        engine: SyncEngine::with_config(hlc, sync_config()),
        child: None,
        committed: BTreeSet::new(),
        parent_edits: Vec::new(),
        acked: 0,
        max_seq: 0,
        max_hlc: 0,
        restored_seq: 0,
        report: Report::default(),
        start: Instant::now(),
        turn_done: false,
        frames_in: 0,
    };
    let mut next_child_edit = 0u64;
    let mut next_parent_edit = 0u64;
    for i in 0..kills {
        let mode = if i.is_multiple_of(2) {
            "per-op"
        } else {
            "group"
        };
        let mut run = spawn(&dir, mode);
        let early = p.child.is_some() && rng.below(5) == 0;
        if early {
            // Kill during startup or recovery.
            std::thread::sleep(Duration::from_micros(rng.below(15_000)));
            p.report.early_kills += 1;
        } else {
            let (id, seq, hlc, state) =
                await_state(&mut p, &run, Duration::from_secs(30)).expect("the child starts");
            p.verify(id, seq, hlc, &state);
            if let Some(child) = p.child {
                p.engine.disconnect(child);
                p.engine.connect(child);
            }
            let deadline = Instant::now() + Duration::from_micros(1_000 + rng.below(60_000));
            while Instant::now() < deadline {
                for _ in 0..=rng.below(3) {
                    let _ = write_msg(&mut run.stdin, b'E', &next_child_edit.to_le_bytes());
                    next_child_edit += 1;
                }
                if rng.below(2) == 0 {
                    p.parent_edit(next_parent_edit);
                    next_parent_edit += 1;
                }
                p.send_frames(&mut run.stdin);
                let now = p.now();
                let _ = write_msg(&mut run.stdin, b'T', &now.to_le_bytes());
                let _ = run.stdin.flush();
                while let Ok((tag, payload)) = run.rx.try_recv() {
                    if let Some((id, seq, hlc, state)) = p.handle(tag, &payload) {
                        p.verify(id, seq, hlc, &state);
                    }
                }
                p.record_acks();
                std::thread::sleep(Duration::from_micros(rng.below(2_000)));
            }
        }
        run.child.kill().expect("SIGKILL");
        run.child.wait().expect("reaped");
        drop(run.stdin);
        run.reader.join().expect("reader");
        // Everything the child wrote before it died counts.
        while let Ok((tag, payload)) = run.rx.try_recv() {
            if let Some((id, seq, hlc, state)) = p.handle(tag, &payload) {
                p.verify(id, seq, hlc, &state);
            }
        }
        p.record_acks();
        p.report.iterations += 1;
    }

    // Final session: no kill; sync until both sides are quiet and equal.
    let mut run = spawn(&dir, "per-op");
    let (id, seq, hlc, state) =
        await_state(&mut p, &run, Duration::from_secs(30)).expect("the child starts");
    p.verify(id, seq, hlc, &state);
    let child = p.child.expect("child id");
    p.engine.disconnect(child);
    p.engine.connect(child);
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut quiet_turns = 0;
    while quiet_turns < 3 && Instant::now() < deadline {
        let sent = p.send_frames(&mut run.stdin);
        p.frames_in = 0;
        p.turn_done = false;
        let now = p.now();
        write_msg(&mut run.stdin, b'T', &now.to_le_bytes()).unwrap();
        run.stdin.flush().unwrap();
        while !p.turn_done {
            let (tag, payload) = run.rx.recv_timeout(Duration::from_secs(10)).expect("turn");
            p.handle(tag, &payload);
        }
        quiet_turns = if sent == 0 && p.frames_in == 0 {
            quiet_turns + 1
        } else {
            0
        };
        std::thread::sleep(Duration::from_millis(20));
    }
    write_msg(&mut run.stdin, b'Q', &[]).unwrap();
    run.stdin.flush().unwrap();
    let (id, seq, hlc, state) =
        await_state(&mut p, &run, Duration::from_secs(30)).expect("final state");
    p.record_acks();
    p.verify(id, seq, hlc, &state);
    p.report.converged = &state == p.engine.state();
    drop(run.stdin);
    let _ = run.child.wait();
    let _ = run.reader.join();
    // The parent holds every committed child edit too.
    let set = p.engine.state().set_at(&["c"]);
    for edit in &p.committed {
        if !set.is_some_and(|s| s.contains(&Scalar::from(format!("c{edit}").as_str()))) {
            p.report.losses += 1;
        }
    }
    p.report.committed = p.committed.len() as u64;
    p.report.parent_acked = p.acked;
    p.report.parent_edits_acked =
        p.parent_edits.iter().filter(|(s, _)| *s <= p.acked).count() as u64;
    p.report.elapsed = p.start.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    p.report
}
