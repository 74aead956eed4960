//! A deterministic, seeded network simulator driving N [`SyncEngine`]s (DESIGN §9.4).
//!
//! Time is virtual (milliseconds from 0). Every frame an engine sends gets a delivery time
//! `now + random delay`, so frames overtake each other; a link may drop a frame or duplicate it
//! (the copy gets its own delay), and links can be cut (a partition: frames sent over a cut link,
//! or arriving on one, are lost) and healed. A replica can crash and restart from its durable
//! parts — state, sequence number and clock — losing its delta buffer and acknowledgements;
//! frames in the network addressed to it still arrive at the new instance.
//!
//! Each replica's [`Hlc`] reads the virtual time (plus a per-replica skew) through an injected
//! clock. All randomness comes from one [`Rng`] seeded per schedule, so a seed reproduces a run
//! exactly; failures name the seed.
//!
//! Included by `#[path]` from the test crates that use it (not through `support/mod.rs`, whose
//! helpers pull in proptest).
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "test helper: each test uses a subset, and failures should panic loudly"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deltacrdt::{Delta, Hlc, ReplicaId, SyncConfig, SyncEngine};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The virtual clock's Unix epoch offset: virtual time 0 reads as this wall-clock millisecond.
pub const EPOCH: u64 = 1_700_000_000_000;

/// SplitMix64: a tiny, good-enough PRNG that needs no dependency.
#[derive(Clone, Debug)]
pub struct Rng(u64);

/// The SplitMix64 output function: scrambles `x` (also used to derive per-schedule seeds).
pub fn mix(x: u64) -> u64 {
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }

    /// Uniform in `0..n` (0 if `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo + 1)
    }

    /// Uniform index into a collection of `len` items.
    pub fn index(&mut self, len: usize) -> usize {
        self.below(len as u64) as usize
    }

    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next_u64() >> 11) as f64) / ((1u64 << 53) as f64) < p
    }

    /// A uniformly chosen element of a non-empty slice.
    pub fn pick<'a, X>(&mut self, xs: &'a [X]) -> &'a X {
        &xs[self.index(xs.len())]
    }
}

/// How links misbehave.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Faults {
    /// Probability that a frame is lost.
    pub drop: f64,
    /// Probability that a frame is delivered twice.
    pub duplicate: f64,
    /// Delivery delay bounds (inclusive); different delays reorder frames.
    pub min_delay_ms: u64,
    /// See `min_delay_ms`.
    pub max_delay_ms: u64,
}

impl Faults {
    /// A perfect network with a fixed 1 ms latency.
    pub const NONE: Self = Self {
        drop: 0.0,
        duplicate: 0.0,
        min_delay_ms: 1,
        max_delay_ms: 1,
    };

    /// 30% loss, 10% duplication, delays of 1–60 ms (heavy reordering).
    pub const LOSSY: Self = Self {
        drop: 0.3,
        duplicate: 0.1,
        min_delay_ms: 1,
        max_delay_ms: 60,
    };
}

/// The id of replica `i` (0-based) in a simulation.
pub fn id(i: usize) -> ReplicaId {
    ReplicaId::from_u128(i as u128 + 1)
}

/// One simulated replica.
#[derive(Debug)]
pub struct Node<T> {
    /// The engine (replaced on a crash-restart).
    pub engine: SyncEngine<T>,
    clock: Arc<AtomicU64>,
    skew_ms: u64,
    config: SyncConfig,
    /// The replicas this one syncs with.
    pub neighbours: BTreeSet<usize>,
    /// How many times it crashed and restarted.
    pub restarts: u32,
}

#[derive(Debug)]
struct Frame {
    due: u64,
    order: u64,
    from: usize,
    to: usize,
    bytes: Vec<u8>,
}

/// Counters of what the network did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    /// Frames handed to the network.
    pub sent: u64,
    /// Frames delivered (duplicates included).
    pub delivered: u64,
    /// Frames lost to drops or cut links.
    pub dropped: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// The largest frame any engine sent.
    pub largest_frame: usize,
}

/// The simulated network and its replicas.
#[derive(Debug)]
pub struct Sim<T> {
    /// The schedule's seed (printed in every failure).
    pub seed: u64,
    /// The schedule's randomness; tests draw their operations from it too.
    pub rng: Rng,
    /// Virtual time, ms.
    pub now: u64,
    /// The replicas, `nodes[i]` having id [`id(i)`](id).
    pub nodes: Vec<Node<T>>,
    frames: Vec<Frame>,
    next_order: u64,
    cut: BTreeSet<(usize, usize)>,
    /// How links misbehave (changeable at any time).
    pub faults: Faults,
    /// What the network did so far.
    pub net: NetStats,
    /// Whether a restart reads the state back from its encoding, as from disk (the default),
    /// rather than from a clone (which keeps the hash maps' iteration order).
    pub reload_from_bytes: bool,
    ids: BTreeMap<ReplicaId, usize>,
}

fn link(a: usize, b: usize) -> (usize, usize) {
    (a.min(b), a.max(b))
}

fn clock_of(cell: &Arc<AtomicU64>) -> impl Fn() -> u64 + Send + Sync + 'static {
    let cell = Arc::clone(cell);
    move || cell.load(Ordering::Relaxed)
}

impl<T> Sim<T>
where
    T: deltacrdt::Reconcile + Serialize + DeserializeOwned + Debug,
{
    /// `n` replicas with `config`, no links yet (see [`connect`](Self::connect)); each clock
    /// is skewed by `0..=max_skew_ms` drawn from the seed.
    pub fn new(seed: u64, n: usize, config: &SyncConfig, max_skew_ms: u64, faults: Faults) -> Self {
        let mut rng = Rng::new(seed);
        let nodes = (0..n)
            .map(|i| {
                let skew_ms = rng.below(max_skew_ms + 1);
                // Session nonces from the seed too, so a schedule replays exactly.
                let config = SyncConfig {
                    nonce_seed: Some(nonce_seed(seed, i, 0)),
                    ..config.clone()
                };
                Self::make_node(i, skew_ms, config)
            })
            .collect();
        Self {
            seed,
            rng,
            now: 0,
            nodes,
            frames: Vec::new(),
            next_order: 0,
            cut: BTreeSet::new(),
            faults,
            net: NetStats::default(),
            reload_from_bytes: true,
            ids: (0..n).map(|i| (id(i), i)).collect(),
        }
    }

    fn make_node(i: usize, skew_ms: u64, config: SyncConfig) -> Node<T> {
        let clock = Arc::new(AtomicU64::new(EPOCH + skew_ms));
        let hlc = Hlc::builder(id(i))
            .clock(clock_of(&clock))
            .build()
            .expect("valid clock");
        Node {
            engine: SyncEngine::with_config(hlc, config.clone()),
            clock,
            skew_ms,
            config,
            neighbours: BTreeSet::new(),
            restarts: 0,
        }
    }

    /// Adds a replica whose clock runs `skew_ms` ahead (used for drift tests); returns its index.
    pub fn add_node(&mut self, skew_ms: u64, config: SyncConfig) -> usize {
        let i = self.nodes.len();
        let node = Self::make_node(i, skew_ms, config);
        node.clock
            .store(EPOCH + self.now + skew_ms, Ordering::Relaxed);
        self.nodes.push(node);
        self.ids.insert(id(i), i);
        i
    }

    /// Number of replicas.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Makes `a` and `b` sync with each other.
    pub fn connect(&mut self, a: usize, b: usize) {
        assert_ne!(a, b);
        self.nodes[a].neighbours.insert(b);
        self.nodes[b].neighbours.insert(a);
        self.nodes[a].engine.connect(id(b));
        self.nodes[b].engine.connect(id(a));
    }

    /// Whether `a` and `b` sync with each other.
    pub fn linked(&self, a: usize, b: usize) -> bool {
        self.nodes[a].neighbours.contains(&b)
    }

    /// Connects every pair.
    pub fn full_mesh(&mut self) {
        for a in 0..self.len() {
            for b in a + 1..self.len() {
                self.connect(a, b);
            }
        }
    }

    /// A random connected topology: a random spanning tree plus each other pair with
    /// probability `extra`.
    pub fn random_topology(&mut self, extra: f64) {
        let n = self.len();
        for b in 1..n {
            let a = self.rng.index(b);
            self.connect(a, b);
        }
        for a in 0..n {
            for b in a + 1..n {
                if !self.nodes[a].neighbours.contains(&b) && self.rng.chance(extra) {
                    self.connect(a, b);
                }
            }
        }
    }

    /// Cuts the link between `a` and `b` (frames on it are lost until [`heal`](Self::heal)).
    pub fn cut(&mut self, a: usize, b: usize) {
        self.cut.insert(link(a, b));
    }

    /// Splits the replicas into `side` and the rest: cuts every link between the two groups.
    pub fn partition(&mut self, side: &BTreeSet<usize>) {
        for a in 0..self.len() {
            for b in a + 1..self.len() {
                if side.contains(&a) != side.contains(&b) {
                    self.cut(a, b);
                }
            }
        }
    }

    /// Restores every link.
    pub fn heal(&mut self) {
        self.cut.clear();
    }

    /// Whether the link between `a` and `b` is cut.
    pub fn is_cut(&self, a: usize, b: usize) -> bool {
        self.cut.contains(&link(a, b))
    }

    /// Frames in the network.
    pub fn in_flight(&self) -> usize {
        self.frames.len()
    }

    /// Applies a local mutation on replica `i` and returns its delta (bottom if nothing
    /// changed), then hands what the engine has to send to the network.
    pub fn update<E: Debug>(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut T, &mut Hlc) -> Result<Delta<T>, E>,
    ) -> T {
        let mut out = T::default();
        let seed = self.seed;
        self.nodes[i]
            .engine
            .update(|state, hlc| {
                let delta = f(state, hlc)?;
                out = (*delta).clone();
                Ok::<_, E>(delta)
            })
            .unwrap_or_else(|e| panic!("seed {seed:#x}: local update on {i} failed: {e:?}"));
        self.flush(i);
        out
    }

    /// Crashes replica `i` and restarts it from its durable parts (the state — through an
    /// encode/decode round trip, as from disk —, the sequence number and the clock's last
    /// timestamp). Its delta buffer, acknowledgements and unsent frames are lost.
    pub fn crash_restart(&mut self, i: usize) {
        let seed = self.seed;
        let node = &mut self.nodes[i];
        let bytes = deltacrdt::encode(node.engine.state())
            .unwrap_or_else(|e| panic!("seed {seed:#x}: persisting {i}: {e}"));
        let decoded: T = deltacrdt::decode(&bytes)
            .unwrap_or_else(|e| panic!("seed {seed:#x}: loading {i}: {e}"));
        assert_eq!(
            &decoded,
            node.engine.state(),
            "seed {seed:#x}: state round trip"
        );
        let state = if self.reload_from_bytes {
            decoded
        } else {
            node.engine.state().clone()
        };
        let seq = node.engine.seq();
        let hlc = Hlc::builder(id(i))
            .clock(clock_of(&node.clock))
            .last(node.engine.hlc().last())
            .build()
            .expect("valid clock");
        let config = SyncConfig {
            nonce_seed: Some(nonce_seed(seed, i, node.restarts + 1)),
            ..node.config.clone()
        };
        node.engine = SyncEngine::restore(hlc, state, seq, config);
        node.engine.tick(self.now);
        for &j in &node.neighbours {
            node.engine.connect(id(j));
        }
        node.restarts += 1;
    }

    /// Sets every replica's physical clock to the virtual time (plus its skew).
    fn set_clocks(&self) {
        for node in &self.nodes {
            node.clock
                .store(EPOCH + self.now + node.skew_ms, Ordering::Relaxed);
        }
    }

    fn delay(&mut self) -> u64 {
        self.rng
            .range(self.faults.min_delay_ms, self.faults.max_delay_ms)
    }

    /// A lying or broken receiver: one data frame in flight (chosen at random) is lost, and
    /// its sender gets an acknowledgement of it as if it had arrived. Returns whether there
    /// was one. Without divergence repair the sender would never send those deltas again.
    pub fn forge_ack(&mut self) -> bool {
        let data: Vec<usize> = (0..self.frames.len())
            .filter(|&k| matches!(self.frames[k].bytes.get(3), Some(0x02 | 0x03)))
            .collect();
        if data.is_empty() {
            return false;
        }
        let k = data[self.rng.index(data.len())];
        let frame = self.frames.remove(k);
        let (seq, _) = read_varint(&frame.bytes[4..]);
        let mut ack = vec![0x44, 0x43, 0x01, 0x05];
        write_varint(&mut ack, seq);
        let crc = crc32fast::hash(&ack);
        ack.extend_from_slice(&crc.to_le_bytes());
        let due = self.now + self.delay();
        self.push(due, frame.to, frame.from, ack);
        true
    }

    /// Hands every frame replica `from` has to send to the network.
    pub fn flush(&mut self, from: usize) {
        while let Some(t) = self.nodes[from].engine.poll_transmit() {
            self.net.sent += 1;
            self.net.largest_frame = self.net.largest_frame.max(t.bytes.len());
            let Some(&to) = self.ids.get(&t.to) else {
                panic!("seed {:#x}: {from} sent to an unknown replica", self.seed);
            };
            if self.is_cut(from, to) || self.rng.chance(self.faults.drop) {
                self.net.dropped += 1;
                continue;
            }
            if self.rng.chance(self.faults.duplicate) {
                self.net.duplicated += 1;
                let due = self.now + self.delay();
                self.push(due, from, to, t.bytes.clone());
            }
            let due = self.now + self.delay();
            self.push(due, from, to, t.bytes);
        }
    }

    fn push(&mut self, due: u64, from: usize, to: usize, bytes: Vec<u8>) {
        self.frames.push(Frame {
            due,
            order: self.next_order,
            from,
            to,
            bytes,
        });
        self.next_order += 1;
    }

    /// Advances time by `dt_ms`: delivers every frame due by then (in delivery-time order),
    /// ticks every engine and sends what they have to say. Honest traffic is never refused: a
    /// `receive` error panics with the seed.
    pub fn step(&mut self, dt_ms: u64) {
        self.step_observed(dt_ms, &mut |_, _| {});
    }

    /// [`step`](Self::step), calling `observe(replica, state)` after every frame that changed a
    /// replica's state.
    pub fn step_observed(&mut self, dt_ms: u64, observe: &mut dyn FnMut(usize, &T)) {
        self.now += dt_ms;
        self.set_clocks();
        let now = self.now;
        let (mut due, rest): (Vec<Frame>, Vec<Frame>) = std::mem::take(&mut self.frames)
            .into_iter()
            .partition(|f| f.due <= now);
        self.frames = rest;
        due.sort_by_key(|f| (f.due, f.order));
        for frame in due {
            if self.is_cut(frame.from, frame.to) {
                self.net.dropped += 1;
                continue;
            }
            self.net.delivered += 1;
            let to = frame.to;
            let result = self.nodes[to].engine.receive(id(frame.from), &frame.bytes);
            match result {
                Ok(true) => observe(to, self.nodes[to].engine.state()),
                Ok(false) => {}
                Err(err) => panic!(
                    "seed {:#x}: at {} ms replica {to} refused an honest frame from {}: {err}",
                    self.seed, self.now, frame.from
                ),
            }
            // Answer right away, as a real event loop would.
            self.flush(to);
        }
        for i in 0..self.len() {
            self.nodes[i].engine.tick(now);
            self.flush(i);
        }
    }

    /// No frame in the network and every replica's peers connected and caught up.
    pub fn quiescent(&self) -> bool {
        self.frames.is_empty()
            && self.nodes.iter().all(|n| {
                n.engine
                    .stats()
                    .peers
                    .iter()
                    .all(|p| p.connected && p.lag == 0)
            })
    }

    /// Steps by `dt_ms` until [`quiescent`](Self::quiescent); returns the steps taken, or an
    /// error naming the seed after `max_steps`.
    pub fn run_until_quiescent(&mut self, dt_ms: u64, max_steps: u64) -> Result<u64, String> {
        for steps in 0..max_steps {
            if self.quiescent() {
                return Ok(steps);
            }
            self.step(dt_ms);
        }
        if self.quiescent() {
            return Ok(max_steps);
        }
        let lags: Vec<String> = self
            .nodes
            .iter()
            .enumerate()
            .map(|(i, n)| {
                let peers: Vec<String> = n
                    .engine
                    .stats()
                    .peers
                    .iter()
                    .map(|p| format!("{}:conn={},lag={}", p.peer, p.connected, p.lag))
                    .collect();
                format!("replica {i} seq {}: [{}]", n.engine.seq(), peers.join(", "))
            })
            .collect();
        Err(format!(
            "seed {:#x}: not quiescent after {max_steps} steps of {dt_ms} ms ({} frames in flight)\n{}",
            self.seed,
            self.frames.len(),
            lags.join("\n")
        ))
    }

    /// Asserts every replica holds the same state; returns it.
    pub fn assert_converged(&self) -> &T {
        let first = self.nodes[0].engine.state();
        for (i, node) in self.nodes.iter().enumerate().skip(1) {
            assert_eq!(
                node.engine.state(),
                first,
                "seed {:#x}: replica {i} differs from replica 0",
                self.seed
            );
        }
        first
    }
}

/// The nonce seed of replica `i` in its `life`-th run under the schedule `seed`.
fn nonce_seed(seed: u64, i: usize, life: u32) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&seed.to_le_bytes());
    out[8..12].copy_from_slice(&(i as u32).to_le_bytes());
    out[12..].copy_from_slice(&life.to_le_bytes());
    out
}

fn read_varint(bytes: &[u8]) -> (u64, usize) {
    let mut value = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return (value, i + 1);
        }
    }
    (value, bytes.len())
}

fn write_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}
