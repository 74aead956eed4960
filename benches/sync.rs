//! Bytes on the wire of the sync engine, against state-based sync and an op-shipping
//! reference, measured in the same run.
//!
//! Run with `cargo bench --bench sync` (`DELTACRDT_BENCH_QUICK=1` shrinks the repetitions and
//! the big set; the figures of the quick run are what CI prints). Every input comes from a
//! seeded splitmix64; every clock is simulated (one millisecond per network round), so the
//! byte figures are the same on every machine. The network is lossless and synchronous: a
//! round collects every frame every engine wants to send, then delivers them all; "until
//! quiescent" means until a round has nothing to deliver. Time never reaches the engines'
//! retransmission timeout, so nothing is ever sent twice.
//!
//! Sections (each prints its own definitions):
//! 1. full-state transfer of a 50,000-element `OrSet<u64>` to a new peer;
//! 2. catch-up of an in-sync peer after 10 inserts + 10 removes;
//! 3. steady state on 5 replicas (mesh, ring): state-based, delta, delta+BP, delta+BP+RR,
//!    delta+BP+RR+relay-aware forwarding, against two references: "each update's delta sent
//!    once to each other replica" and "once over each link a flood uses";
//! 4. gossip of one update on 100 replicas (random connected graph, mean degree 4), against
//!    the same two references;
//! 5. (with the `reconcile` feature) history-free catch-up: two replicas restored from one
//!    snapshot, one edited, reconciled against rounds switched off (full states), on a
//!    50,000-live set, a 1,000,000-element set (200,000 in the quick run) and a `Doc`.
//!
//! A Markdown table for the README closes the report.
#![allow(clippy::print_stdout, reason = "the bench prints its bandwidth report")]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::cast_precision_loss,
    reason = "benchmark harness"
)]

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use deltacrdt::{
    Delta, Doc, Hlc, Lattice, OrSet, ReplicaId, Scalar, SyncConfig, SyncEngine, Traffic, Value,
    encode,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

mod support;
use support::{SetOps, SplitMix, pick, replica};

#[cfg(feature = "reconcile")]
#[path = "sync/history_free.rs"]
mod history_free;

/// Simulated physical clock shared by every replica of a run (milliseconds).
type Clock = Arc<AtomicU64>;

const EPOCH_MS: u64 = 1_700_000_000_000;

fn clock() -> Clock {
    Arc::new(AtomicU64::new(EPOCH_MS))
}

fn hlc(id: ReplicaId, clock: &Clock) -> Hlc {
    let c = Arc::clone(clock);
    Hlc::builder(id)
        .clock(move || c.load(Ordering::Relaxed))
        .build()
        .unwrap()
}

fn config((avoid_back_propagation, remove_redundant, relay_aware): Mode) -> SyncConfig {
    #[cfg(not(feature = "reconcile"))]
    let _ = relay_aware;
    SyncConfig {
        avoid_back_propagation,
        remove_redundant,
        #[cfg(feature = "reconcile")]
        relay_aware,
        ..SyncConfig::default()
    }
}

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

fn enc<T: Serialize>(value: &T) -> usize {
    encode(value).unwrap().len()
}

/// The 4-byte header of a value frame (`"DC"`, version, kind).
const HEADER: usize = 4;

// ---------------------------------------------------------------------------------------------
// The in-bench network

/// Engines wired by undirected links, delivering frames round by round.
struct Net<T> {
    nodes: Vec<SyncEngine<T>>,
    index: HashMap<ReplicaId, usize>,
    clock: Clock,
    /// Frames and bytes delivered, by the kind byte of their header.
    wire: HashMap<u8, (u64, u64)>,
}

impl<T: deltacrdt::Reconcile + Serialize + DeserializeOwned> Net<T> {
    fn new(nodes: Vec<SyncEngine<T>>, edges: &[(usize, usize)], clock: Clock) -> Self {
        let mut net = Self {
            index: nodes.iter().enumerate().map(|(i, n)| (n.id(), i)).collect(),
            nodes,
            clock,
            wire: HashMap::new(),
        };
        for &(a, b) in edges {
            let (ra, rb) = (net.nodes[a].id(), net.nodes[b].id());
            net.nodes[a].connect(rb);
            net.nodes[b].connect(ra);
        }
        net
    }

    /// One round: every engine is ticked (a millisecond per round), hands over everything it
    /// has, then all of it is delivered. Returns the number of frames delivered, or 1 if none
    /// was but an engine waits for a timer due within a relay hold (a relayed delta held
    /// back; the fingerprint timers of quiet sessions, 30 s away, do not count): not quiet.
    fn round(&mut self) -> usize {
        let now = self.clock.fetch_add(1, Ordering::Relaxed) + 1 - EPOCH_MS;
        let mut frames = Vec::new();
        for node in &mut self.nodes {
            node.tick(now);
            let from = node.id();
            while let Some(t) = node.poll_transmit() {
                frames.push((from, t));
            }
        }
        for (from, t) in &frames {
            let tally = self.wire.entry(t.bytes[3]).or_default();
            tally.0 += 1;
            tally.1 += t.bytes.len() as u64;
            let to = self.index[&t.to];
            self.nodes[to].receive(*from, &t.bytes).unwrap();
        }
        #[cfg(feature = "reconcile")]
        let hold = SyncConfig::default().relay_hold_ms;
        #[cfg(not(feature = "reconcile"))]
        let hold = 0;
        if frames.is_empty()
            && self
                .nodes
                .iter()
                .any(|n| n.poll_timeout().is_some_and(|t| t <= now + hold))
        {
            return 1;
        }
        frames.len()
    }

    /// Rounds until one delivers nothing; returns the rounds that delivered something.
    fn settle(&mut self) -> usize {
        let mut rounds = 0;
        while self.round() > 0 {
            rounds += 1;
        }
        rounds
    }

    /// (frames, bytes) delivered so far whose header says `kind`.
    #[cfg_attr(
        not(feature = "reconcile"),
        allow(dead_code, reason = "read by section 5")
    )]
    fn wire(&self, kind: u8) -> (u64, u64) {
        self.wire.get(&kind).copied().unwrap_or_default()
    }

    /// Everything sent so far, by kind, over all engines.
    fn sent(&self) -> Traffic {
        let mut sum = Traffic::default();
        for n in &self.nodes {
            let s = n.stats().sent;
            for (acc, c) in [
                (&mut sum.hello, s.hello),
                (&mut sum.delta, s.delta),
                (&mut sum.state, s.state),
                (&mut sum.chunk, s.chunk),
                (&mut sum.ack, s.ack),
                (&mut sum.reconcile, s.reconcile),
                #[cfg(feature = "reconcile")]
                (&mut sum.holds, s.holds),
            ] {
                acc.messages += c.messages;
                acc.bytes += c.bytes;
            }
        }
        sum
    }

    fn converged(&self) -> bool {
        self.nodes.windows(2).all(|w| w[0].state() == w[1].state())
    }
}

/// `after - before`, kind by kind.
fn diff(after: &Traffic, before: &Traffic) -> Traffic {
    let mut d = Traffic::default();
    for (out, a, b) in [
        (&mut d.hello, after.hello, before.hello),
        (&mut d.delta, after.delta, before.delta),
        (&mut d.state, after.state, before.state),
        (&mut d.chunk, after.chunk, before.chunk),
        (&mut d.ack, after.ack, before.ack),
        (&mut d.reconcile, after.reconcile, before.reconcile),
        #[cfg(feature = "reconcile")]
        (&mut d.holds, after.holds, before.holds),
    ] {
        out.messages = a.messages - b.messages;
        out.bytes = a.bytes - b.bytes;
    }
    d
}

/// "state 812 B/2, delta 120 B/3, ack 9 B/3" (bytes/frames, kinds that occurred).
fn breakdown(t: &Traffic) -> String {
    let mut s = String::new();
    for (name, c) in [
        ("hello", t.hello),
        ("delta", t.delta),
        ("state", t.state),
        ("chunk", t.chunk),
        ("ack", t.ack),
        ("reconcile", t.reconcile),
        #[cfg(feature = "reconcile")]
        ("holds", t.holds),
    ] {
        if c.messages > 0 {
            if !s.is_empty() {
                s.push_str(", ");
            }
            write!(s, "{name} {} B/{} fr", c.bytes, c.messages).unwrap();
        }
    }
    s
}

// ---------------------------------------------------------------------------------------------
// 1. Compact state

/// The set of `SetOps` (100,000 random inserts, then 50,000 removes of present elements), its
/// inserts spread round-robin over `writers` replicas that insert concurrently into their own
/// copies, which are then joined; the removes run on the join.
fn big_set(ops: &SetOps, writers: u64) -> OrSet<u64> {
    if writers == 1 {
        return ops.ours(replica(1));
    }
    let mut parts: Vec<OrSet<u64>> = (0..writers).map(|_| OrSet::default()).collect();
    for (i, &e) in ops.adds.iter().enumerate() {
        let w = i % parts.len();
        let _ = parts[w].insert(replica(w as u64 + 1), e);
    }
    let mut set = parts
        .into_iter()
        .reduce(Lattice::joined)
        .unwrap_or_default();
    for e in &ops.removes {
        let _ = set.remove(e);
    }
    set
}

/// The full-state transfer `set`'s replica (restored from it) makes to a fresh peer:
/// (bytes of state + chunk frames, frames, total bytes both ways incl. hellos and acks).
fn full_transfer(set: &OrSet<u64>) -> (u64, u64, Traffic) {
    let c = clock();
    let a = SyncEngine::restore(hlc(replica(101), &c), set.clone(), 1, SyncConfig::default());
    let b = SyncEngine::new(hlc(replica(102), &c));
    let mut net = Net::new(vec![a, b], &[(0, 1)], c);
    net.settle();
    assert!(net.converged());
    let s = net.nodes[0].stats();
    assert_eq!(s.full_states.restart, 1);
    (
        s.sent.state.bytes + s.sent.chunk.bytes,
        s.sent.state.messages + s.sent.chunk.messages,
        net.sent(),
    )
}

struct Compact {
    live: usize,
    encoded: usize,
    transfer: u64,
    frames: u64,
    encoded4: usize,
    transfer4: u64,
}

fn compact(ops: &SetOps) -> Compact {
    println!("## 1. Compact state: full-state transfer to a new peer");
    println!(
        "workload: 100,000 inserts of random u64, then 50,000 removes of random present elements \
         (seed 0x5EED_0001); one writer, and the same inserts spread over 4 concurrent writers \
         (joined, then the removes). Transfer = state + chunk frames a restored replica sends a \
         fresh peer (max_frame_bytes 64 KiB), frame headers included."
    );
    let t = Instant::now();
    let set = big_set(ops, 1);
    let live = set.len();
    let encoded = enc(&set);
    let (transfer, frames, all) = full_transfer(&set);
    println!(
        "1 writer : {live} live; encode(&set) = {encoded} B = {:.2} B/live; transfer = {transfer} B \
         in {frames} frames = {:.2} B/live (both ways, all kinds: {})",
        encoded as f64 / live as f64,
        transfer as f64 / live as f64,
        breakdown(&all),
    );
    let set4 = big_set(ops, 4);
    assert_eq!(set4.len(), live);
    let encoded4 = enc(&set4);
    let (transfer4, frames4, _) = full_transfer(&set4);
    println!(
        "4 writers: {live} live; encode(&set) = {encoded4} B = {:.2} B/live; transfer = {transfer4} B \
         in {frames4} frames = {:.2} B/live",
        encoded4 as f64 / live as f64,
        transfer4 as f64 / live as f64,
    );
    println!(
        "target <= 16 B/live element: {}   (wall {:.2?})\n",
        verdict(transfer4 as f64 / live as f64 <= 16.0),
        t.elapsed()
    );
    Compact {
        live,
        encoded,
        transfer,
        frames,
        encoded4,
        transfer4,
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "MET" } else { "MISSED" }
}

// ---------------------------------------------------------------------------------------------
// 2. Catch-up

struct CatchUp {
    total: f64,
    minimum: f64,
    group: f64,
    full: u64,
}

fn catch_up(ops: &SetOps, batches: usize) -> CatchUp {
    println!("## 2. Catch-up: 10 inserts + 10 removes on one of two in-sync replicas");
    let t = Instant::now();
    let set = big_set(ops, 1);
    let c = clock();
    let a = SyncEngine::restore(hlc(replica(101), &c), set, 1, SyncConfig::default());
    let b = SyncEngine::new(hlc(replica(102), &c));
    let mut net = Net::new(vec![a, b], &[(0, 1)], c.clone());
    net.settle();
    assert!(net.converged());
    let full = net.sent().state.bytes + net.sent().chunk.bytes;
    assert_eq!(net.nodes[0].stats().buffered_deltas, 0);
    assert_eq!(net.nodes[1].stats().buffered_deltas, 0);
    println!(
        "setup: A restored from the set, B fresh, synced through the engine ({full} B of \
         full state), both buffers collected."
    );
    println!(
        "minimum = sum over the 20 ops of (encode(&delta) - {HEADER}-byte frame header): each \
         op's delta alone with its own replica table; group = encode(&all 20 deltas joined) - \
         {HEADER}: one replica table. total = every frame both ways (delta + ack)."
    );
    let mut rng = SplitMix(0x5EED_0C00);
    let (mut totals, mut minima, mut groups) = (Vec::new(), Vec::new(), Vec::new());
    for batch in 0..batches {
        let live: Vec<u64> = net.nodes[0].state().iter().copied().collect();
        let removes = pick(&mut rng, &live, 10);
        let inserts: Vec<u64> = (0..10).map(|_| rng.next()).collect();
        let mut minimum = 0;
        let mut group = OrSet::default();
        let a = &mut net.nodes[0];
        for (i, r) in inserts.iter().zip(&removes) {
            for op in [Ok(*i), Err(*r)] {
                a.update(|s, h| {
                    let d = match op {
                        Ok(e) => s.insert(h.replica(), e),
                        Err(e) => s.remove(&e),
                    };
                    minimum += enc(&*d) - HEADER;
                    group.join_delta_group((*d).clone());
                    Ok::<_, Infallible>(d)
                })
                .unwrap();
            }
        }
        let before = net.sent();
        net.settle();
        assert!(net.converged());
        let spent = diff(&net.sent(), &before);
        let total = spent.total().bytes;
        let group = enc(&group) - HEADER;
        println!(
            "batch {batch}: total {total} B ({}), minimum {minimum} B, group {group} B, \
             total/minimum {:.2}x, total/full state {:.5}",
            breakdown(&spent),
            total as f64 / minimum as f64,
            total as f64 / full as f64,
        );
        totals.push(total as f64);
        minima.push(minimum as f64);
        groups.push(group as f64);
    }
    let (total, minimum, group) = (median(totals), median(minima), median(groups));
    println!(
        "median of {batches}: total {total:.0} B, minimum {minimum:.0} B, group {group:.0} B; \
         total/minimum {:.2}x (target <= 2x: {}), total <= 400 B: {}   (wall {:.2?})\n",
        total / minimum,
        verdict(total <= 2.0 * minimum),
        verdict(total <= 400.0),
        t.elapsed(),
    );
    CatchUp {
        total,
        minimum,
        group,
        full,
    }
}

// ---------------------------------------------------------------------------------------------
// 3 and 4. Workloads, topologies, runs

/// One update: mutates `state` as `hlc`'s replica and returns its delta.
type Workload<T> = fn(&mut T, &mut Hlc, &mut SplitMix) -> Delta<T>;

/// A fresh random `u64` into an `OrSet` (grow-only, like ICDE'19's GSet micro-benchmark).
fn set_insert(s: &mut OrSet<u64>, h: &mut Hlc, rng: &mut SplitMix) -> Delta<OrSet<u64>> {
    s.insert(h.replica(), rng.next())
}

/// A document edit: 40% increment one of 8 counters, 30% insert one of 50 tags, 10% remove a
/// present tag (an insert if none is), 20% write a register with an HLC stamp.
fn doc_edit(d: &mut Doc, h: &mut Hlc, rng: &mut SplitMix) -> Delta<Doc> {
    let me = h.replica();
    let roll = rng.below(100);
    let key = format!("c{}", rng.below(8));
    let tag = Scalar::Int(rng.below(50) as i64);
    let r = match roll {
        0..40 => d.increment(me, &["counters", &key], 1),
        40..70 => d.insert(me, &["tags"], tag),
        // The smallest present tag: set iteration order is seeded per process.
        70..80 => match d.set_at(&["tags"]).and_then(|s| {
            s.iter()
                .filter_map(|t| match t {
                    Scalar::Int(i) => Some(*i),
                    _ => None,
                })
                .min()
        }) {
            Some(present) => d.remove_element(me, &["tags"], &Scalar::Int(present)),
            None => d.insert(me, &["tags"], tag),
        },
        _ => {
            let stamp = h.now().unwrap();
            d.set(stamp, &["title"], Value::Scalar(Scalar::Int(roll as i64)))
        }
    };
    r.unwrap()
}

fn mesh(n: usize) -> Vec<(usize, usize)> {
    (0..n)
        .flat_map(|a| (a + 1..n).map(move |b| (a, b)))
        .collect()
}

fn ring(n: usize) -> Vec<(usize, usize)> {
    (0..n).map(|a| (a, (a + 1) % n)).collect()
}

/// A random connected graph: a ring over a random permutation, plus random distinct edges
/// until the mean degree is `degree`.
fn random_graph(n: usize, degree: usize, rng: &mut SplitMix) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i + 1));
    }
    let mut seen = HashSet::new();
    let mut edges = Vec::new();
    let mut add = |a: usize, b: usize, edges: &mut Vec<(usize, usize)>| {
        let key = (a.min(b), a.max(b));
        if a != b && seen.insert(key) {
            edges.push(key);
        }
    };
    for i in 0..n {
        add(order[i], order[(i + 1) % n], &mut edges);
    }
    while edges.len() < n * degree / 2 {
        add(rng.below(n), rng.below(n), &mut edges);
    }
    edges
}

/// Directed links a flood of one update uses: every replica sends it to each neighbour except
/// the one it got it from (the origin to all of its neighbours) = 2|E| - (n - 1).
fn flood_links(n: usize, edges: &[(usize, usize)]) -> usize {
    2 * edges.len() - (n - 1)
}

fn neighbours(n: usize, edges: &[(usize, usize)]) -> Vec<Vec<usize>> {
    let mut adj = vec![Vec::new(); n];
    for &(a, b) in edges {
        adj[a].push(b);
        adj[b].push(a);
    }
    adj
}

/// How updates and network rounds interleave.
#[derive(Clone, Copy)]
struct Schedule {
    /// Distinct random replicas updating per step.
    writers: usize,
    /// Network rounds after each step (`None`: until quiescent).
    rounds: Option<usize>,
    steps: usize,
}

/// An engine's switches: back-propagation avoidance, redundancy removal, relay-aware
/// forwarding (holds frames; needs the `reconcile` feature, else it is the mode before it).
type Mode = (bool, bool, bool);

/// Sync modes: `None` is state-based.
const MODES: [(&str, Option<Mode>); 5] = [
    ("state-based", None),
    ("delta (no BP, no RR)", Some((false, false, false))),
    ("delta + BP", Some((true, false, false))),
    ("delta + BP + RR", Some((true, true, false))),
    ("delta + BP + RR + relay", Some((true, true, true))),
];

struct RunResult {
    /// Bytes sent after setup, all kinds, all links.
    bytes: u64,
    traffic: Traffic,
    /// Updates that produced a non-bottom delta.
    updates: usize,
    /// Σ over updates of encode(&delta) × flood links.
    reference: u64,
    /// Σ over updates of encode(&delta) × (n - 1): once to each other replica.
    per_peer: u64,
    /// Rounds until every replica holds every update (only meaningful for one update).
    rounds_to_converge: usize,
}

/// Replicas under one sync mode: engines, or plain states shipping their whole state to every
/// neighbour in the round after it changed (state-based: the baseline).
enum Replicas<T> {
    Engines(Net<T>),
    States {
        states: Vec<T>,
        hlcs: Vec<Hlc>,
        dirty: Vec<bool>,
        adj: Vec<Vec<usize>>,
        clock: Clock,
        bytes: u64,
        frames: u64,
    },
}

impl<T: deltacrdt::Reconcile + Serialize + DeserializeOwned> Replicas<T> {
    fn new(mode: Option<Mode>, n: usize, edges: &[(usize, usize)], base: &T, id_seed: u64) -> Self {
        let c = clock();
        let ids: Vec<ReplicaId> = (0..n as u64).map(|i| replica(id_seed + i)).collect();
        match mode {
            None => Self::States {
                states: vec![base.clone(); n],
                hlcs: ids.iter().map(|&id| hlc(id, &c)).collect(),
                dirty: vec![false; n],
                adj: neighbours(n, edges),
                clock: c,
                bytes: 0,
                frames: 0,
            },
            Some(mode) => {
                let nodes = ids
                    .iter()
                    .map(|&id| {
                        if *base == T::default() {
                            SyncEngine::with_config(hlc(id, &c), config(mode))
                        } else {
                            SyncEngine::restore(hlc(id, &c), base.clone(), 1, config(mode))
                        }
                    })
                    .collect();
                let mut net = Net::new(nodes, edges, c);
                net.settle();
                Self::Engines(net)
            }
        }
    }

    fn update(&mut self, i: usize, work: Workload<T>, rng: &mut SplitMix) -> usize {
        let mut size = 0;
        match self {
            Self::Engines(net) => net.nodes[i]
                .update(|s, h| {
                    let d = work(s, h, rng);
                    if *d != T::default() {
                        size = enc(&*d);
                    }
                    Ok::<_, Infallible>(d)
                })
                .unwrap(),
            Self::States {
                states,
                hlcs,
                dirty,
                ..
            } => {
                let d = work(&mut states[i], &mut hlcs[i], rng);
                if *d != T::default() {
                    size = enc(&*d);
                    dirty[i] = true;
                }
            }
        }
        size
    }

    fn round(&mut self) -> usize {
        match self {
            Self::Engines(net) => net.round(),
            Self::States {
                states,
                dirty,
                adj,
                clock,
                bytes,
                frames,
                ..
            } => {
                clock.fetch_add(1, Ordering::Relaxed);
                let mut sends = Vec::new();
                for i in 0..states.len() {
                    if std::mem::take(&mut dirty[i]) {
                        let size = enc(&states[i]) as u64;
                        for &j in &adj[i] {
                            sends.push((j, states[i].clone()));
                            *bytes += size;
                            *frames += 1;
                        }
                    }
                }
                let delivered = sends.len();
                for (j, s) in sends {
                    let before = states[j].clone();
                    states[j].join(s);
                    if states[j] != before {
                        dirty[j] = true;
                    }
                }
                delivered
            }
        }
    }

    fn converged(&self) -> bool {
        match self {
            Self::Engines(net) => net.converged(),
            Self::States { states, .. } => states.windows(2).all(|w| w[0] == w[1]),
        }
    }

    fn sent(&self) -> (u64, Traffic) {
        match self {
            Self::Engines(net) => {
                let t = net.sent();
                (t.total().bytes, t)
            }
            Self::States { bytes, frames, .. } => {
                let mut t = Traffic::default();
                t.state.bytes = *bytes;
                t.state.messages = *frames;
                (*bytes, t)
            }
        }
    }
}

/// One run of `schedule` on `n` replicas wired by `edges`, starting from `base` everywhere
/// (setup traffic excluded).
fn run<T: deltacrdt::Reconcile + Serialize + DeserializeOwned>(
    mode: Option<Mode>,
    n: usize,
    edges: &[(usize, usize)],
    base: &T,
    work: Workload<T>,
    schedule: Schedule,
    seed: u64,
) -> RunResult {
    let mut reps = Replicas::new(mode, n, edges, base, seed << 8);
    let (start, start_traffic) = reps.sent();
    let links = flood_links(n, edges) as u64;
    let mut rng = SplitMix(seed);
    let mut work_rng = SplitMix(seed ^ 0xABCD_EF01);
    let (mut updates, mut reference, mut per_peer, mut rounds_to_converge) = (0, 0, 0, 0);
    for _ in 0..schedule.steps {
        let all: Vec<usize> = (0..n).collect();
        let writers: Vec<usize> = pick(
            &mut rng,
            &all.iter().map(|&i| i as u64).collect::<Vec<_>>(),
            schedule.writers,
        )
        .into_iter()
        .map(|i| i as usize)
        .collect();
        for w in writers {
            let size = reps.update(w, work, &mut work_rng);
            if size > 0 {
                updates += 1;
                reference += size as u64 * links;
                per_peer += size as u64 * (n as u64 - 1);
            }
        }
        match schedule.rounds {
            Some(r) => {
                for _ in 0..r {
                    reps.round();
                }
            }
            None => {
                let mut rounds = 0;
                loop {
                    if reps.round() == 0 {
                        break;
                    }
                    rounds += 1;
                    if rounds_to_converge == 0 && reps.converged() {
                        rounds_to_converge = rounds;
                    }
                }
            }
        }
    }
    while reps.round() > 0 {}
    assert!(reps.converged());
    let (end, end_traffic) = reps.sent();
    RunResult {
        bytes: end - start,
        traffic: diff(&end_traffic, &start_traffic),
        updates,
        reference,
        per_peer,
        rounds_to_converge,
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Steady state

/// Per mode: (median bytes/update, median flood reference bytes/update, median once-per-peer
/// reference bytes/update, example breakdown).
type ModeRow = (&'static str, f64, f64, f64, String);

fn steady_case<T: deltacrdt::Reconcile + Serialize + DeserializeOwned>(
    label: &str,
    edges: &[(usize, usize)],
    work: Workload<T>,
    schedule: Schedule,
    seeds: u64,
) -> Vec<ModeRow> {
    let n = 5;
    let mut rows = Vec::new();
    for (name, mode) in MODES {
        let (mut per, mut refs, mut once) = (Vec::new(), Vec::new(), Vec::new());
        let mut example = String::new();
        for seed in 1..=seeds {
            let r = run(
                mode,
                n,
                edges,
                &T::default(),
                work,
                schedule,
                0x5EED_3000 + seed,
            );
            per.push(r.bytes as f64 / r.updates as f64);
            refs.push(r.reference as f64 / r.updates as f64);
            once.push(r.per_peer as f64 / r.updates as f64);
            if seed == 1 {
                example = format!("{} updates: {}", r.updates, breakdown(&r.traffic));
            }
        }
        rows.push((name, median(per), median(refs), median(once), example));
    }
    let (state, reference, per_peer) = (rows[0].1, rows[0].2, rows[0].3);
    println!(
        "{label}: references {per_peer:.1} B/update once per peer (delta frame x {}), \
         {reference:.1} B/update flood (delta frame x {} flood links)",
        n - 1,
        flood_links(n, edges)
    );
    println!("| mode | B/update | / once per peer | / flood | / state-based | seed-1 run |");
    println!("|---|---:|---:|---:|---:|---|");
    for (name, per, _, _, example) in &rows {
        println!(
            "| {name} | {per:.1} | {:.2}x | {:.2}x | {:.3}x | {example} |",
            per / per_peer,
            per / reference,
            per / state,
        );
    }
    println!();
    rows
}

/// What RR buffers when a delta-group is only partly new: the engine buffers
/// `state.novelty(&group)`, ideally just the new part (Δ(group, state), ICDE'19). Printed for a
/// group whose two inserts come from one replica and from two replicas.
fn rr_check() {
    let (a, b) = (replica(1), replica(2));
    for (label, second_by) in [("same replica", a), ("two replicas", b)] {
        let mut sender = OrSet::default();
        let first = sender.insert(a, 1u64);
        let second = sender.insert(second_by, 2u64);
        let mut group = first.clone();
        group.join(second.clone());
        let mut receiver = OrSet::default();
        receiver.apply(first);
        let novel = receiver.novelty(&group).unwrap_or_default();
        println!(
            "RR check ({label}): receiver holds insert(1), gets the group insert(1) + \
             insert(2): novelty() keeps {} element(s), {} B encoded (group {} B, insert(2) \
             alone {} B)",
            novel.len(),
            enc(&novel),
            enc(&*group),
            enc(&*second),
        );
    }
}

struct SteadyRow {
    workload: &'static str,
    topology: &'static str,
    schedule: &'static str,
    rows: Vec<ModeRow>,
}

fn steady(seeds: u64, steps: usize) -> Vec<SteadyRow> {
    println!("## 3. Steady state: 5 replicas, full mesh (10 links) and ring (5 links)");
    println!(
        "bytes/update = every frame after the sessions opened (delta, state, ack; all links, \
         all directions) / updates. state-based = after each round, every replica whose state \
         changed sends encode(&state) to every neighbour (so it grows with the state: runs start \
         empty). reference = for each update, encode(&delta) (the op's delta as a standalone \
         value frame: 4-byte header + replica table + body; the engine's delta frame adds 2-4 \
         bytes of seq/ack varints) x 4, once to each other replica (the least any dissemination \
         sends), and x the directed links a flood uses (every replica forwards to each \
         neighbour except the one it got it from: 2|E| - (n-1) = 16 on the mesh, 6 on the \
         ring); acks and holds frames are not in the references. relay = relay-aware \
         forwarding (format minor 2: holds frames, relayed deltas held back up to \
         relay_hold_ms = 20 ms = 20 rounds for a peer that also syncs with their origin). \
         Medians over {seeds} seeds."
    );
    println!(
        "workloads: `set` = OrSet<u64> insert of a fresh random u64; `doc` = Doc edit: 40% \
         counter increment (8 counters), 30% tag insert (50 tags), 10% tag remove, 20% register \
         write (HLC-stamped). schedules: `sequential` = 1 random replica updates, then rounds \
         until quiescent ({steps} steps); `concurrent` = 3 random replicas update, then rounds \
         until quiescent ({} steps); `continuous` = 3 random replicas update, then ONE round \
         (sync never quiesces between updates; {} steps, drained at the end).",
        steps / 3,
        steps / 3
    );
    rr_check();
    let t = Instant::now();
    let schedules = [
        (
            "sequential",
            Schedule {
                writers: 1,
                rounds: None,
                steps,
            },
        ),
        (
            "concurrent",
            Schedule {
                writers: 3,
                rounds: None,
                steps: steps / 3,
            },
        ),
        (
            "continuous",
            Schedule {
                writers: 3,
                rounds: Some(1),
                steps: steps / 3,
            },
        ),
    ];
    let mut out = Vec::new();
    for (topology, edges) in [("mesh", mesh(5)), ("ring", ring(5))] {
        for (schedule, s) in schedules {
            let label = format!("set, {topology}, {schedule}");
            let rows = steady_case::<OrSet<u64>>(&label, &edges, set_insert, s, seeds);
            out.push(SteadyRow {
                workload: "set",
                topology,
                schedule,
                rows,
            });
            let label = format!("doc, {topology}, {schedule}");
            let rows = steady_case::<Doc>(&label, &edges, doc_edit, s, seeds);
            out.push(SteadyRow {
                workload: "doc",
                topology,
                schedule,
                rows,
            });
        }
    }
    let worst = out
        .iter()
        .map(|r| r.rows[3].1 / r.rows[3].2)
        .fold(0.0, f64::max);
    println!(
        "target: delta + BP + RR within 1.5x of the flood reference in every case: {} (worst {worst:.2}x)",
        verdict(worst <= 1.5),
    );
    println!("(wall {:.2?})\n", t.elapsed());
    out
}

// ---------------------------------------------------------------------------------------------
// 4. Gossip

struct GossipRow {
    mode: &'static str,
    rounds: f64,
    bytes: f64,
}

fn gossip(seeds: u64, base_len: usize) -> (Vec<GossipRow>, usize) {
    let n = 100;
    println!(
        "## 4. Gossip: 100 replicas, random connected graph (a random ring + random edges, mean \
         degree 4), one update at one replica"
    );
    let mut base = OrSet::default();
    for e in SplitMix(0x5EED_4000).distinct(base_len) {
        let _ = base.insert(replica(1), e);
    }
    let base_bytes = enc(&base);
    println!(
        "every replica starts from the same {base_len}-element OrSet<u64> ({base_bytes} B \
         encoded; engines restored from it and synced, setup traffic excluded); the update is \
         one insert at a random replica. rounds = rounds until every replica holds it; bytes = \
         everything sent until quiescent (acks included). Medians over {seeds} seeds (graph and \
         origin)."
    );
    let t = Instant::now();
    let mut rows = Vec::new();
    for (name, mode) in MODES {
        let (mut rounds, mut bytes, mut refs, mut once) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for seed in 1..=seeds {
            let edges = random_graph(n, 4, &mut SplitMix(0x5EED_4100 + seed));
            let r = run(
                mode,
                n,
                &edges,
                &base,
                set_insert,
                Schedule {
                    writers: 1,
                    rounds: None,
                    steps: 1,
                },
                0x5EED_4200 + seed,
            );
            rounds.push(r.rounds_to_converge as f64);
            bytes.push(r.bytes as f64);
            refs.push(r.reference as f64);
            once.push(r.per_peer as f64);
        }
        let row = GossipRow {
            mode: name,
            rounds: median(rounds),
            bytes: median(bytes),
        };
        println!(
            "{name:>25}: {:.0} rounds, {:.0} B (references: {:.0} B = delta frame x 99 replicas, \
             {:.0} B = delta frame x flood links)",
            row.rounds,
            row.bytes,
            median(once),
            median(refs)
        );
        rows.push(row);
    }
    println!("(wall {:.2?})\n", t.elapsed());
    (rows, base_bytes)
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let quick = quick();
    let started = Instant::now();
    let (seeds, steps, gossip_seeds, batches) = if quick {
        (5, 60, 5, 5)
    } else {
        (11, 150, 11, 11)
    };
    println!(
        "== sync bandwidth report ({}; DELTACRDT_BENCH_QUICK={}) ==\n",
        if quick { "quick" } else { "full" },
        u8::from(quick)
    );
    let ops = SetOps::new();
    let c = compact(&ops);
    let k = catch_up(&ops, batches);
    let s = steady(seeds, steps);
    let (g, base_bytes) = gossip(gossip_seeds, 1_000);
    #[cfg(feature = "reconcile")]
    let h = history_free::history_free(&ops, quick);

    println!(
        "## README table (sync bench, {} run)",
        if quick { "quick" } else { "full" }
    );
    println!("<!-- sync-bench:start -->");
    println!("| measure | figure |");
    println!("|---|---:|");
    println!(
        "| full state, {} live elements, 1 writer: encode / transfer | {:.2} / {:.2} B per element ({} frames) |",
        c.live,
        c.encoded as f64 / c.live as f64,
        c.transfer as f64 / c.live as f64,
        c.frames
    );
    println!(
        "| same, 4 writers: encode / transfer | {:.2} / {:.2} B per element |",
        c.encoded4 as f64 / c.live as f64,
        c.transfer4 as f64 / c.live as f64
    );
    println!(
        "| catch-up after 10 inserts + 10 removes: total / minimum / full state | {:.0} / {:.0} / {} B ({:.2}x minimum; one-group {:.0} B) |",
        k.total,
        k.minimum,
        k.full,
        k.total / k.minimum,
        k.group
    );
    println!();
    println!(
        "| 5 replicas: B/update (x once per peer / x flood) | state-based | delta | delta+BP | delta+BP+RR | delta+BP+RR+relay |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for r in &s {
        let mut line = format!("| {} {} {} |", r.workload, r.topology, r.schedule);
        for (_, per, reference, per_peer, _) in &r.rows {
            write!(
                line,
                " {per:.0} ({:.2}x / {:.2}x) |",
                per / per_peer,
                per / reference
            )
            .unwrap();
        }
        println!("{line}");
    }
    println!();
    println!("| gossip, 100 replicas, one insert on a {base_bytes} B set | rounds | bytes |");
    println!("|---|---:|---:|");
    for r in &g {
        println!("| {} | {:.0} | {:.0} |", r.mode, r.rounds, r.bytes);
    }
    #[cfg(feature = "reconcile")]
    {
        println!();
        println!(
            "| history-free catch-up (restored from one snapshot) | total (A->B / B->A) | round trips | deltas alone / one group | rounds off (full states) | encode(&state) |"
        );
        println!("|---|---:|---:|---:|---:|---:|");
        for c in &h.cases {
            println!(
                "| {} | {:.0} B ({:.0} / {:.0}) | {:.0} | {:.0} / {:.0} B | {:.0} B | {:.0} B |",
                c.label,
                c.total,
                c.a_to_b,
                c.b_to_a,
                c.round_trips,
                c.alone,
                c.group,
                c.old_total,
                c.full_state
            );
        }
    }
    println!("<!-- sync-bench:end -->");
    println!("\ntotal wall time {:.2?}", started.elapsed());
}
