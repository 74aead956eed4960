//! Durable replicas on the redb store: committed operations per second under both durability
//! modes, recovery time of a large set, bytes on disk per element against the in-memory
//! state, and the catch-up traffic after a restart with persisted acknowledgements against a
//! restart without them — every pair measured in the same run.
//!
//! Run with `cargo bench --features redb --bench durable` (`DELTACRDT_BENCH_QUICK=1`: smaller
//! sizes, the figures CI prints). Inputs are seeded (splitmix64); the store lives in a temp
//! directory on the machine's disk, so the ops/s figures depend on its fsync latency.
#![allow(
    clippy::print_stdout,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::cast_precision_loss,
    clippy::indexing_slicing,
    reason = "a report printer"
)]

use std::alloc::System;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cap::Cap;
use deltacrdt::durable::{Durability, DurableConfig, DurableReplica, RedbStore};
use deltacrdt::{Hlc, OrSet, ReplicaId, Resume, SyncConfig, SyncEngine, encode};

/// Counts live heap bytes.
#[global_allocator]
static ALLOC: Cap<System> = Cap::new(System, usize::MAX);

type Set = OrSet<u64>;

const NOW: u64 = 1_700_000_000_000;

fn quick() -> bool {
    std::env::var_os("DELTACRDT_BENCH_QUICK").is_some_and(|v| v != "0")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct SplitMix(u64);
impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("deltacrdt-bench-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config(durability: Durability) -> DurableConfig {
    DurableConfig {
        durability,
        replica: Some(ReplicaId::from_u128(1)),
        ..DurableConfig::default()
    }
}

fn open(dir: &Path, durability: Durability) -> DurableReplica<Set, RedbStore> {
    DurableReplica::open_with(RedbStore::open_dir(dir).unwrap(), config(durability), |b| {
        b.clock(|| NOW)
    })
    .unwrap()
}

fn insert(r: &mut DurableReplica<Set, RedbStore>, x: u64) -> deltacrdt::durable::Commit {
    r.update(|s, hlc| Ok::<_, Infallible>(s.insert(hlc.replica(), x)))
        .unwrap()
}

/// Committed inserts per second: each one synced (per-operation), or `batch` per flush.
fn ops_per_sec(durability: Durability, ops: u64, batch: u64, seed: u64) -> f64 {
    let dir = scratch(&format!("ops-{seed}"));
    let mut r = open(&dir, durability);
    let mut rng = SplitMix(seed);
    let start = Instant::now();
    for i in 0..ops {
        let c = insert(&mut r, rng.next());
        if durability == Durability::Group && (i + 1) % batch == 0 {
            r.flush().unwrap();
        } else if durability == Durability::PerOperation {
            assert!(c.durable);
        }
    }
    r.flush().unwrap();
    let secs = start.elapsed().as_secs_f64();
    drop(r);
    let _ = std::fs::remove_dir_all(&dir);
    ops as f64 / secs
}

/// Builds an `n`-element set through the store (group commit, flushes of 10,000), then
/// reopens it `reps` times; then compacts the file.
fn recovery(n: u64, reps: usize) -> Recovery {
    let dir = scratch("recovery");
    let mut r = open(&dir, Durability::Group);
    let mut rng = SplitMix(42);
    let build = Instant::now();
    for i in 0..n {
        let _ = insert(&mut r, rng.next());
        if (i + 1) % 10_000 == 0 {
            r.flush().unwrap();
        }
    }
    let store = r.close().unwrap();
    let build = build.elapsed().as_secs_f64();
    let file = store.file_len().unwrap();
    let blocks = allocated(store.path());
    let live = store.live_bytes().unwrap();
    drop(store);
    let mut times = Vec::new();
    let mut heap = 0;
    let mut encoded = 0;
    for _ in 0..reps {
        let start = Instant::now();
        let r = open(&dir, Durability::Group);
        times.push(start.elapsed().as_secs_f64());
        assert_eq!(r.state().len() as u64, n);
        let before = ALLOC.allocated();
        let copy = r.state().clone();
        heap = ALLOC.allocated() - before;
        encoded = encode(&copy).unwrap().len();
        drop(copy);
    }
    let compacted = RedbStore::open_dir(&dir).unwrap().compact_file().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Recovery {
        open_secs: median(times),
        file,
        blocks,
        live,
        compacted,
        heap,
        encoded,
        build_secs: build,
    }
}

/// Bytes of disk blocks the file occupies (redb grows its file sparsely: the length counts
/// regions never written).
#[cfg(unix)]
fn allocated(path: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).unwrap().blocks() * 512
}

#[cfg(not(unix))]
fn allocated(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().len()
}

struct Recovery {
    open_secs: f64,
    file: u64,
    blocks: u64,
    live: u64,
    compacted: u64,
    heap: usize,
    encoded: usize,
    build_secs: f64,
}

fn pump(a: &mut DurableReplica<Set, RedbStore>, b: &mut SyncEngine<Set>, now: &mut u64) {
    loop {
        let mut quiet = true;
        while let Some(t) = a.poll_transmit().unwrap() {
            b.receive(a.id(), &t.bytes).unwrap();
            quiet = false;
        }
        while let Some(t) = b.poll_transmit() {
            a.receive(b.id(), &t.bytes).unwrap();
            quiet = false;
        }
        if quiet {
            return;
        }
        *now += 1;
        a.tick(*now);
        b.tick(*now);
    }
}

fn pump_engines(a: &mut SyncEngine<Set>, b: &mut SyncEngine<Set>) {
    loop {
        let mut quiet = true;
        while let Some(t) = a.poll_transmit() {
            b.receive(a.id(), &t.bytes).unwrap();
            quiet = false;
        }
        while let Some(t) = b.poll_transmit() {
            a.receive(b.id(), &t.bytes).unwrap();
            quiet = false;
        }
        if quiet {
            return;
        }
    }
}

/// A replica of an `n`-element set, in sync with a peer, restarts and makes 10 inserts: the
/// bytes it sends the peer until both are quiet, resumed from the store (delta log +
/// persisted acks) against restored from state and sequence number only.
fn catch_up(n: u64) -> (u64, u64, u64, u64) {
    let dir = scratch("catchup");
    let cfg = DurableConfig {
        sync: SyncConfig {
            max_frame_bytes: 1 << 20,
            ..SyncConfig::default()
        },
        ..config(Durability::Group)
    };
    let open = |dir: &Path| {
        DurableReplica::<Set, _>::open_with(RedbStore::open_dir(dir).unwrap(), cfg.clone(), |b| {
            b.clock(|| NOW)
        })
        .unwrap()
    };
    let mut a = open(&dir);
    let peer_hlc = || {
        Hlc::builder(ReplicaId::from_u128(2))
            .clock(|| NOW)
            .build()
            .unwrap()
    };
    let mut b = SyncEngine::<Set>::with_config(peer_hlc(), cfg.sync.clone());
    a.connect(b.id());
    b.connect(a.id());
    let mut rng = SplitMix(7);
    let mut now = 0;
    for i in 0..n {
        let _ = insert(&mut a, rng.next());
        if (i + 1) % 10_000 == 0 {
            pump(&mut a, &mut b, &mut now);
        }
    }
    pump(&mut a, &mut b, &mut now);
    // A few more rounds, so the last acknowledgements are persisted.
    for _ in 0..3 {
        let _ = insert(&mut a, rng.next());
        pump(&mut a, &mut b, &mut now);
    }
    a.flush().unwrap();
    let (state, seq) = (a.state().clone(), a.seq());
    drop(a);
    let b_snapshot = b.state().clone();
    let b_seq = b.seq();

    // Restart with the store: delta log and persisted acks.
    let mut a = open(&dir);
    let mut b1 = SyncEngine::resume(
        peer_hlc(),
        Resume {
            state: b_snapshot.clone(),
            seq: b_seq,
            ..Resume::default()
        },
        cfg.sync.clone(),
    );
    a.connect(b1.id());
    b1.connect(a.id());
    let mut extra = SplitMix(99);
    for _ in 0..10 {
        let _ = insert(&mut a, extra.next());
    }
    pump(&mut a, &mut b1, &mut now);
    assert_eq!(a.state(), b1.state());
    let with = a.stats().sent.total().bytes;
    let with_full = a.stats().full_states.total();
    drop(a);

    // Restart from state and sequence number only (what `SyncEngine::restore` keeps).
    let hlc = Hlc::builder(ReplicaId::from_u128(1))
        .clock(|| NOW)
        .build()
        .unwrap();
    let mut a2 = SyncEngine::restore(hlc, state, seq, cfg.sync.clone());
    let mut b2 = SyncEngine::resume(
        peer_hlc(),
        Resume {
            state: b_snapshot,
            seq: b_seq,
            ..Resume::default()
        },
        cfg.sync.clone(),
    );
    a2.connect(b2.id());
    b2.connect(a2.id());
    let mut extra = SplitMix(99);
    for _ in 0..10 {
        let x = extra.next();
        a2.update(|s, hlc| Ok::<_, Infallible>(s.insert(hlc.replica(), x)))
            .unwrap();
    }
    pump_engines(&mut a2, &mut b2);
    assert_eq!(a2.state(), b2.state());
    let without = a2.stats().sent.total().bytes;
    let without_full = a2.stats().full_states.total();
    let _ = std::fs::remove_dir_all(&dir);
    (with, with_full, without, without_full)
}

/// Resident set size of this process, from `/proc/self/status` (Linux); `None` elsewhere.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

/// The child of [`memory`]: opens the store in `dir` with a page cache of `cache` bytes, makes
/// `edits` inserts (a flush every 100, as a peer's group commit per network turn) and prints
/// its RSS at the start, after the open and after the edits, and the state's heap bytes.
fn memory_child(spec: &str) {
    let mut parts = spec.split(',');
    let dir = PathBuf::from(parts.next().unwrap());
    let cache: usize = parts.next().unwrap().parse().unwrap();
    let edits: u64 = parts.next().unwrap().parse().unwrap();
    let start = rss_bytes().unwrap_or(0);
    let store = RedbStore::open_dir_with_cache(&dir, cache).unwrap();
    let mut r =
        DurableReplica::<Set, _>::open_with(store, config(Durability::Group), |b| b.clock(|| NOW))
            .unwrap();
    let opened = rss_bytes().unwrap_or(0);
    let mut rng = SplitMix(0xed17);
    for i in 0..edits {
        let _ = insert(&mut r, rng.next());
        if (i + 1) % 100 == 0 {
            r.flush().unwrap();
        }
    }
    r.flush().unwrap();
    let edited = rss_bytes().unwrap_or(0);
    let before = ALLOC.allocated();
    let copy = r.state().clone();
    let heap = ALLOC.allocated() - before;
    drop(copy);
    println!("{start} {opened} {edited} {heap}");
}

/// RSS of a process holding a durable replica of `n` elements, opened from a store built here,
/// then after `edits` more inserts: with the default page cache and with redb's own 1 GiB
/// default, each in a fresh child process (this bench re-executed) on a copy of the file.
/// Returns, per cache, `(cache, added after open, added after the edits, state heap)`.
fn memory(n: u64, edits: u64) -> Option<Vec<(usize, u64, u64, usize)>> {
    rss_bytes()?;
    let built = scratch("memory");
    let mut r = open(&built, Durability::Group);
    let mut rng = SplitMix(43);
    for i in 0..n {
        let _ = insert(&mut r, rng.next());
        if (i + 1) % 10_000 == 0 {
            r.flush().unwrap();
        }
    }
    let file = r.close().unwrap().path().to_path_buf();
    let mut out = Vec::new();
    for cache in [RedbStore::DEFAULT_CACHE_BYTES, 1 << 30] {
        let dir = scratch(&format!("memory-{cache}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(&file, dir.join(file.file_name().unwrap())).unwrap();
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .env(
                "DELTACRDT_BENCH_MEMORY_CHILD",
                format!("{},{cache},{edits}", dir.display()),
            )
            .output()
            .unwrap();
        assert!(child.status.success(), "memory child failed: {child:?}");
        let line = String::from_utf8(child.stdout).unwrap();
        let v: Vec<u64> = line
            .split_whitespace()
            .map(|x| x.parse().unwrap())
            .collect();
        let (start, opened, edited, heap) = (v[0], v[1], v[2], v[3]);
        out.push((
            cache,
            opened.saturating_sub(start),
            edited.saturating_sub(start),
            usize::try_from(heap).unwrap(),
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let _ = std::fs::remove_dir_all(&built);
    Some(out)
}

fn main() {
    if let Some(spec) = std::env::var_os("DELTACRDT_BENCH_MEMORY_CHILD") {
        memory_child(&spec.to_string_lossy());
        return;
    }
    // Criterion-style arguments (`--bench`, filters) are accepted and ignored.
    let quick = quick();
    let (per_op_ops, group_ops, batch, set_n, reps, catch_n, edits) = if quick {
        (200, 5_000, 100, 100_000, 3, 20_000, 20_000)
    } else {
        (2_000, 50_000, 100, 1_000_000, 5, 100_000, 60_000)
    };
    println!(
        "== durable store report ({}; DELTACRDT_BENCH_QUICK={}) ==\n",
        if quick { "quick" } else { "full" },
        u8::from(quick)
    );

    println!("1. committed inserts per second into an OrSet<u64> (redb file, medians of 3)");
    let per_op = median(
        (0..3)
            .map(|s| ops_per_sec(Durability::PerOperation, per_op_ops, 1, s))
            .collect(),
    );
    let group = median(
        (0..3)
            .map(|s| ops_per_sec(Durability::Group, group_ops, batch, 10 + s))
            .collect(),
    );
    println!(
        "   per-operation (fsync before update returns) {per_op:>12.0} ops/s  ({per_op_ops} ops)"
    );
    println!(
        "   group commit, flush every {batch:<3}             {group:>12.0} ops/s  ({group_ops} ops)"
    );
    println!(
        "   group / per-operation                        {:>12.1}x\n",
        group / per_op
    );

    println!(
        "2. recovery of a {set_n}-element OrSet<u64> (open = read + check + decode + join the log)"
    );
    let rec = recovery(set_n, reps);
    let per = |b: f64| b / set_n as f64;
    println!(
        "   built through the store (group commit) in     {:>9.2} s",
        rec.build_secs
    );
    println!(
        "   open, median of {reps}                          {:>9.1} ms",
        rec.open_secs * 1e3
    );
    println!("\n3. bytes per element");
    println!(
        "   in memory (heap of the state)                {:>9.1} B",
        per(rec.heap as f64)
    );
    println!(
        "   encoded snapshot (value frame)               {:>9.1} B",
        per(rec.encoded as f64)
    );
    println!(
        "   on disk: live records + redb metadata        {:>9.1} B",
        per(rec.live as f64)
    );
    println!(
        "   on disk: blocks of the file as written       {:>9.1} B",
        per(rec.blocks as f64)
    );
    println!(
        "   on disk: file after compact_file()           {:>9.1} B",
        per(rec.compacted as f64)
    );
    println!(
        "   (apparent length of the sparse file          {:>9.1} B)",
        per(rec.file as f64)
    );
    println!(
        "   disk blocks / memory                         {:>9.2}x",
        rec.blocks as f64 / rec.heap as f64
    );
    println!(
        "   compacted file / memory                      {:>9.2}x\n",
        rec.compacted as f64 / rec.heap as f64
    );

    println!(
        "4. catch-up after a restart: a {catch_n}-element replica in sync with a peer restarts,"
    );
    println!("   makes 10 inserts and syncs until quiet (bytes the restarted replica sends)");
    let (with, with_full, without, without_full) = catch_up(catch_n);
    println!(
        "   with the delta log and persisted acks        {with:>10} B  ({with_full} full states)"
    );
    println!(
        "   state + seq only (no log, no acks)           {without:>10} B  ({without_full} full states)"
    );
    println!(
        "   without / with                               {:>10.0}x",
        without as f64 / with as f64
    );

    println!(
        "\n5. memory: a process opens the {set_n}-element replica, then makes {edits} inserts"
    );
    println!("   (RSS added to the process; fresh process per cache size, on a copy of the file)");
    match memory(set_n, edits) {
        None => println!("   (no /proc/self/status here: RSS not measured)"),
        Some(rows) => {
            for (cache, opened, edited, heap) in rows {
                let n_after = (set_n + edits) as f64;
                println!(
                    "   page cache {:>5} MiB: after open {:>7.1} MB = {:>5.1} B/element; after the inserts {:>7.1} MB = {:>5.1} B/element (state heap {:.1} B/element)",
                    cache >> 20,
                    opened as f64 / 1e6,
                    opened as f64 / set_n as f64,
                    edited as f64 / 1e6,
                    edited as f64 / n_after,
                    heap as f64 / n_after,
                );
            }
        }
    }
}
