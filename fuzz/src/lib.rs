//! The bodies of the fuzz targets, shared by the cargo-fuzz binaries in `fuzz/fuzz_targets/`
//! and by the stable replay test `tests/fuzz_corpus.rs`, which includes this file with
//! `#[path]` so the logic exists once. Also the fixtures both need: a seeded document, a seeded
//! replica, and valid frames of every kind.
//!
//! Every target takes raw bytes, so a corpus file means the same thing to libFuzzer and to the
//! replay test (`sync_actions` reads its actions from the bytes with `arbitrary`, exactly as
//! `fuzz_target!(|actions: T| …)` would).
//!
//! Every frame ends with the CRC-32 of the bytes before it, so a mutated frame almost always
//! stops at `DecodeError::Checksum`. The two byte targets therefore run each input as it is
//! and again with its checksum fixed up ([`resealed`]; rule D5), and every hand-built or edited
//! frame here is [`seal`]ed so it reaches the check it is aimed at.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "test support: a panic is the fuzzers' failure signal"
)]

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use arbitrary::{Arbitrary, Unstructured};
use deltacrdt::{
    Doc, Hlc, OrSet, ReplicaId, Scalar, SyncConfig, SyncEngine, Value, decode, encode,
};

/// The physical time every fixture's clock starts at (ms since the Unix epoch).
pub const EPOCH_MS: u64 = 1_700_000_000_000;

/// Replica `n` of the fixtures.
pub fn r(n: u128) -> ReplicaId {
    ReplicaId::from_u128(n)
}

/// The replica the hostile frames in `apply_remote` claim to come from.
pub const PEER: u128 = 2;

/// A clock fixed at [`EPOCH_MS`] for `replica`.
pub fn fixed_clock(replica: ReplicaId) -> Hlc {
    Hlc::builder(replica).clock(|| EPOCH_MS).build().unwrap()
}

/// SplitMix64: the fixtures' only randomness, seeded.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number below `n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A document built from `seed` that uses every field kind (counter, register with nested list
/// and object values, set with every scalar kind, flag, nested maps), with writes from three
/// replicas, removals and a deletion, so its causal context has gaps and several entries.
pub fn seeded_doc(seed: u64) -> Doc {
    let mut rng = Rng::new(seed);
    let mut clocks: Vec<Hlc> = (1..=3).map(|i| fixed_clock(r(i))).collect();
    let mut doc = Doc::default();
    let names = ["a", "b", "c", "d"];
    for step in 0..40u64 {
        let who = rng.below(3) as usize;
        let id = r(who as u128 + 1);
        let name = names[rng.below(4) as usize];
        let delta = match (step + rng.below(7)) % 7 {
            0 => doc.increment(id, &["count", name], rng.below(20) as i64 - 10),
            1 => {
                let stamp = clocks[who].now().unwrap();
                let value = Value::List(vec![
                    Value::Null,
                    Value::Scalar(Scalar::Int(rng.next() as i64)),
                    Value::Object(
                        [("k".to_owned(), Value::Scalar(Scalar::Str(name.to_owned())))].into(),
                    ),
                ]);
                doc.set(stamp, &["reg", name], value)
            }
            2 => {
                let element = match rng.below(4) {
                    0 => Scalar::Bool(rng.below(2) == 0),
                    1 => Scalar::Int(rng.below(5) as i64),
                    2 => Scalar::Float(rng.below(5) as f64 / 2.0),
                    _ => Scalar::Str(name.to_owned()),
                };
                doc.insert(id, &["set"], element)
            }
            3 => doc.remove_element(id, &["set"], &Scalar::Int(rng.below(5) as i64)),
            4 => doc.set_flag(id, &["flag", name], rng.below(3) != 0),
            5 => doc.increment(id, &["deep", "er", "still", name], 1),
            _ => doc.delete(id, &["count", names[rng.below(4) as usize]]),
        };
        let _ = delta.unwrap();
    }
    // One field of each kind that certainly survives.
    let stamp = clocks[0].now().unwrap();
    let _ = doc.set(stamp, &["title"], "hello".into()).unwrap();
    let _ = doc.increment(r(1), &["likes"], 3).unwrap();
    let _ = doc.insert(r(2), &["tags"], "x".into()).unwrap();
    let _ = doc.set_flag(r(3), &["done"], true).unwrap();
    let _ = doc.increment(r(1), &["m", "n", "o"], 1).unwrap();
    doc
}

/// A set of `u64` built from `seed`, with removals.
pub fn seeded_set(seed: u64) -> OrSet<u64> {
    let mut rng = Rng::new(seed);
    let mut set = OrSet::default();
    for _ in 0..30 {
        let id = r(u128::from(rng.below(3) as u8) + 1);
        let element = rng.below(12);
        let _ = if rng.below(4) == 0 {
            set.remove(&element)
        } else {
            set.insert(id, element)
        };
    }
    set
}

/// The replica `apply_remote` attacks: replica 1 holding [`seeded_doc`]`(1)` at sequence 5,
/// connected to [`PEER`]. The document is built once per process and cloned.
pub fn seeded_engine() -> SyncEngine<Doc> {
    static DOC: OnceLock<Doc> = OnceLock::new();
    let doc = DOC.get_or_init(|| seeded_doc(1)).clone();
    let mut engine = SyncEngine::restore(fixed_clock(r(1)), doc, 5, SyncConfig::default());
    engine.connect(r(PEER));
    engine
}

/// What must not change when a frame is refused.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot<T> {
    /// The replicated state.
    pub state: T,
    /// The sequence number.
    pub seq: u64,
    /// The clock's last timestamp.
    pub last: deltacrdt::Timestamp,
}

/// The durable parts of `engine`.
pub fn snapshot<T: Clone + deltacrdt::Lattice + serde::Serialize + serde::de::DeserializeOwned>(
    engine: &SyncEngine<T>,
) -> Snapshot<T> {
    Snapshot {
        state: engine.state().clone(),
        seq: engine.seq(),
        last: engine.hlc().last(),
    }
}

/// Feeds `frame` to `engine` as if from `from` and checks the receive contract: on an error the
/// state, sequence number and clock are unchanged; on success, `Ok(changed)` says truthfully
/// whether the state changed. Returns the result.
pub fn receive_checked<T>(
    engine: &mut SyncEngine<T>,
    from: ReplicaId,
    frame: &[u8],
) -> Result<bool, deltacrdt::SyncError>
where
    T: Clone
        + std::fmt::Debug
        + deltacrdt::Lattice
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    let before = snapshot(engine);
    let result = engine.receive(from, frame);
    let after = snapshot(engine);
    match &result {
        Err(err) => assert_eq!(before, after, "refused frame ({err}) changed the replica"),
        Ok(changed) => {
            assert_eq!(
                *changed,
                before.state != after.state,
                "receive misreported a change"
            );
            assert!(after.seq >= before.seq, "sequence number went backwards");
            assert!(after.last >= before.last, "clock went backwards");
        }
    }
    result
}

// ----- checksums -----

/// Closes a hand-built `frame` with the CRC-32 of its bytes, as the encoder does.
pub fn seal(frame: &mut Vec<u8>) {
    let crc = crc32fast::hash(frame);
    frame.extend_from_slice(&crc.to_le_bytes());
}

/// `frame` with its closing CRC-32 (its last 4 bytes) recomputed over the bytes before it, so
/// an edited frame gets past the checksum; shorter inputs are returned as they are.
pub fn resealed(frame: &[u8]) -> Vec<u8> {
    let Some(covered) = frame.len().checked_sub(4).map(|end| &frame[..end]) else {
        return frame.to_vec();
    };
    let mut out = covered.to_vec();
    seal(&mut out);
    out
}

/// Runs `target` on `data`, then on `data` [`resealed`] if that differs: without the fix-up a
/// fuzzer's mutations would almost never get past the checksum (rule D5). A resealed mutation
/// may be a valid frame, so targets may only assert what holds for every input.
fn as_is_and_resealed(data: &[u8], target: impl Fn(&[u8])) {
    target(data);
    let fixed = resealed(data);
    if fixed != data {
        target(&fixed);
    }
}

// ----- target: decode_frame -----

/// Arbitrary bytes, as they are and resealed, as a standalone value of two types and as a sync
/// frame to fresh engines: never a panic, and whatever decodes round-trips.
pub fn decode_frame(data: &[u8]) {
    as_is_and_resealed(data, decode_frame_once);
}

fn decode_frame_once(data: &[u8]) {
    if let Ok(doc) = decode::<Doc>(data) {
        let again = decode::<Doc>(&encode(&doc).unwrap()).unwrap();
        assert_eq!(again, doc, "a decoded document does not round-trip");
        assert!(doc.validate().is_ok(), "a decoded document is invalid");
    }
    if let Ok(set) = decode::<OrSet<u64>>(data) {
        let again = decode::<OrSet<u64>>(&encode(&set).unwrap()).unwrap();
        assert_eq!(again, set, "a decoded set does not round-trip");
    }
    let mut doc_engine = SyncEngine::<Doc>::new(fixed_clock(r(1)));
    let _ = receive_checked(&mut doc_engine, r(PEER), data);
    let mut set_engine = SyncEngine::<OrSet<u64>>::new(fixed_clock(r(1)));
    let _ = receive_checked(&mut set_engine, r(PEER), data);
}

// ----- target: apply_remote -----

/// Arbitrary bytes, as they are and resealed, as a frame from [`PEER`] to a fresh
/// [`seeded_engine`]: a refused frame leaves the replica unchanged, an accepted one leaves it
/// valid, and the engine keeps working.
pub fn apply_remote(data: &[u8]) {
    as_is_and_resealed(data, apply_remote_once);
}

fn apply_remote_once(data: &[u8]) {
    let mut engine = seeded_engine();
    let _ = receive_checked(&mut engine, r(PEER), data);
    assert!(
        engine.state().validate().is_ok(),
        "an accepted frame broke the state"
    );
    // Whatever happened, the engine still answers and can still be mutated.
    while engine.poll_transmit().is_some() {}
    engine
        .update(|doc, hlc| doc.increment(hlc.replica(), &["after"], 1))
        .unwrap();
    while engine.poll_transmit().is_some() {}
}

// ----- target: sync_actions -----

/// A mutation one replica makes.
#[derive(Arbitrary, Debug, Clone)]
pub enum Op {
    /// Adds `by` to counter `key`.
    Increment { key: u8, by: i8 },
    /// Writes `value` to register `key`.
    Set { key: u8, value: i16 },
    /// Adds `element` to set `key`.
    Insert { key: u8, element: u8 },
    /// Removes `element` from set `key`.
    Remove { key: u8, element: u8 },
    /// Turns flag `key` on or off.
    Flag { key: u8, on: bool },
    /// Deletes every field named `key`.
    Delete { key: u8 },
    /// Adds `by` to a counter nested in map `outer`.
    Nested { outer: u8, key: u8, by: i8 },
}

/// One step of the simulated network.
#[derive(Arbitrary, Debug, Clone)]
pub enum Action {
    /// A replica mutates its state.
    Mutate { replica: u8, op: Op },
    /// A pending frame arrives.
    Deliver { index: u16 },
    /// A pending frame is lost.
    Drop { index: u16 },
    /// A pending frame is duplicated.
    Duplicate { index: u16 },
    /// Frames between `a` and `b` are lost (both directions) until [`Action::Heal`].
    Partition { a: u8, b: u8 },
    /// Every partition ends.
    Heal,
    /// A replica crashes and restarts from its durable parts (state, sequence, clock).
    Restart { replica: u8 },
    /// Time passes.
    Tick { ms: u16 },
}

/// A run of the simulation: 3–5 replicas and the actions.
#[derive(Arbitrary, Debug, Clone)]
pub struct Scenario {
    /// `3 + replicas % 3` replicas.
    pub replicas: u8,
    /// The steps.
    pub actions: Vec<Action>,
}

/// A frame in flight.
#[derive(Debug, Clone)]
struct Pending {
    from: usize,
    to: usize,
    bytes: Vec<u8>,
}

/// `n` engines of `Doc` with a shared physical clock and a network of pending frames.
#[derive(Debug)]
pub struct Sim {
    engines: Vec<SyncEngine<Doc>>,
    pending: Vec<Pending>,
    cut: BTreeSet<(usize, usize)>,
    now: Arc<AtomicU64>,
}

const RETRANSMIT_MS: u64 = 50;
const KEYS: [&str; 3] = ["x", "y", "z"];

fn config() -> SyncConfig {
    SyncConfig {
        retransmit_after_ms: RETRANSMIT_MS,
        ..SyncConfig::default()
    }
}

impl Sim {
    /// `n` connected fresh replicas.
    pub fn new(n: usize) -> Self {
        let now = Arc::new(AtomicU64::new(EPOCH_MS));
        let mut sim = Self {
            engines: Vec::new(),
            pending: Vec::new(),
            cut: BTreeSet::new(),
            now,
        };
        for i in 0..n {
            let engine = SyncEngine::with_config(sim.clock(i, None), config());
            sim.engines.push(engine);
        }
        for i in 0..n {
            sim.connect_all(i);
        }
        sim
    }

    fn clock(&self, i: usize, last: Option<deltacrdt::Timestamp>) -> Hlc {
        let now = Arc::clone(&self.now);
        let mut builder = Hlc::builder(r(i as u128 + 1)).clock(move || now.load(Ordering::Relaxed));
        if let Some(last) = last {
            builder = builder.last(last);
        }
        builder.build().unwrap()
    }

    fn connect_all(&mut self, i: usize) {
        for j in 0..self.engines.len() {
            if i != j {
                self.engines[i].connect(r(j as u128 + 1));
            }
        }
    }

    fn blocked(&self, a: usize, b: usize) -> bool {
        self.cut.contains(&(a.min(b), a.max(b)))
    }

    /// Moves every frame the engines want to send into the network; returns how many.
    fn flush(&mut self) -> usize {
        let mut sent = 0;
        for from in 0..self.engines.len() {
            while let Some(t) = self.engines[from].poll_transmit() {
                sent += 1;
                let to = self
                    .engines
                    .iter()
                    .position(|e| e.replica() == t.to)
                    .expect("frame to an unknown replica");
                if !self.blocked(from, to) {
                    self.pending.push(Pending {
                        from,
                        to,
                        bytes: t.bytes,
                    });
                }
            }
        }
        sent
    }

    fn deliver(&mut self, index: usize) {
        let p = self.pending.remove(index);
        if self.blocked(p.from, p.to) {
            return;
        }
        let from = r(p.from as u128 + 1);
        if let Err(err) = receive_checked(&mut self.engines[p.to], from, &p.bytes) {
            panic!(
                "replica {} refused an honest frame from {}: {err}",
                p.to, p.from
            );
        }
    }

    fn tick(&mut self, ms: u64) {
        let now = self.now.fetch_add(ms, Ordering::Relaxed) + ms;
        for engine in &mut self.engines {
            engine.tick(now);
        }
    }

    fn mutate(&mut self, i: usize, op: &Op) {
        let key = |k: &u8| KEYS[usize::from(*k) % KEYS.len()];
        let result = self.engines[i].update(|doc, hlc| -> Result<_, deltacrdt::Error> {
            let me = hlc.replica();
            Ok(match op {
                Op::Increment { key: k, by } => {
                    doc.increment(me, &["c", key(k)], i64::from(*by))?
                }
                Op::Set { key: k, value } => {
                    let stamp = hlc.now()?;
                    doc.set(
                        stamp,
                        &["r", key(k)],
                        Value::Scalar(Scalar::Int((*value).into())),
                    )?
                }
                Op::Insert { key: k, element } => {
                    doc.insert(me, &["s", key(k)], Scalar::Int((*element % 8).into()))?
                }
                Op::Remove { key: k, element } => {
                    doc.remove_element(me, &["s", key(k)], &Scalar::Int((*element % 8).into()))?
                }
                Op::Flag { key: k, on } => doc.set_flag(me, &["f", key(k)], *on)?,
                Op::Delete { key: k } => doc.delete(me, &[key(k)])?,
                Op::Nested { outer, key: k, by } => {
                    doc.increment(me, &[key(outer), "in", key(k)], i64::from(*by))?
                }
            })
        });
        result.unwrap();
    }

    fn restart(&mut self, i: usize) {
        let old = &self.engines[i];
        let (state, seq, last) = (old.state().clone(), old.seq(), old.hlc().last());
        self.engines[i] = SyncEngine::restore(self.clock(i, Some(last)), state, seq, config());
        self.connect_all(i);
    }

    /// Runs one action.
    pub fn step(&mut self, action: &Action) {
        let n = self.engines.len();
        match action {
            Action::Mutate { replica, op } => self.mutate(usize::from(*replica) % n, op),
            Action::Deliver { index } if !self.pending.is_empty() => {
                self.deliver(usize::from(*index) % self.pending.len());
            }
            Action::Drop { index } if !self.pending.is_empty() => {
                let _ = self
                    .pending
                    .remove(usize::from(*index) % self.pending.len());
            }
            Action::Duplicate { index } if !self.pending.is_empty() => {
                let p = self.pending[usize::from(*index) % self.pending.len()].clone();
                self.pending.push(p);
            }
            Action::Partition { a, b } => {
                let (a, b) = (usize::from(*a) % n, usize::from(*b) % n);
                if a != b {
                    let _ = self.cut.insert((a.min(b), a.max(b)));
                }
            }
            Action::Heal => self.cut.clear(),
            Action::Restart { replica } => self.restart(usize::from(*replica) % n),
            Action::Tick { ms } => self.tick(u64::from(*ms)),
            Action::Deliver { .. } | Action::Drop { .. } | Action::Duplicate { .. } => {}
        }
        let _ = self.flush();
        // Keep the network small: the oldest frames beyond a cap are lost.
        if self.pending.len() > 256 {
            let _ = self.pending.drain(..self.pending.len() - 256);
        }
    }

    /// Heals every partition and delivers everything, ticking past the retransmission
    /// timeout whenever the network goes quiet, until a quiet round follows a tick.
    pub fn settle(&mut self) {
        self.cut.clear();
        let mut quiet_ticks = 0;
        for _ in 0..10_000 {
            let _ = self.flush();
            if self.pending.is_empty() {
                if quiet_ticks == 2 {
                    return;
                }
                quiet_ticks += 1;
                self.tick(RETRANSMIT_MS);
                continue;
            }
            quiet_ticks = 0;
            while !self.pending.is_empty() {
                self.deliver(0);
                let _ = self.flush();
            }
        }
        panic!("the network did not go quiet");
    }

    /// The replicas' states.
    pub fn states(&self) -> Vec<&Doc> {
        self.engines.iter().map(SyncEngine::state).collect()
    }
}

/// Runs the scenario in `data`, settles, and checks every replica holds the same valid state.
pub fn sync_actions(data: &[u8]) {
    let Ok(scenario) = Scenario::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    run_scenario(&scenario);
}

/// [`sync_actions`] on a decoded scenario.
pub fn run_scenario(scenario: &Scenario) {
    let mut sim = Sim::new(3 + usize::from(scenario.replicas % 3));
    for action in scenario.actions.iter().take(2_000) {
        sim.step(action);
    }
    sim.settle();
    let states = sim.states();
    for (i, state) in states.iter().enumerate() {
        assert!(
            state.validate().is_ok(),
            "replica {i} holds an invalid state"
        );
        assert_eq!(*state, states[0], "replica {i} diverged from replica 0");
    }
}

/// A random scenario of 20–120 actions, mutations and deliveries most common.
pub fn random_scenario(seed: u64) -> Scenario {
    let mut rng = Rng::new(seed);
    let mut b = || rng.next() as u8;
    let mut actions = Vec::new();
    let len = 20 + usize::from(b()) % 100;
    for _ in 0..len {
        let pick = b() % 16;
        let (x, y, z) = (b(), b(), b());
        actions.push(match pick {
            0..=4 => Action::Mutate {
                replica: x,
                op: match y % 7 {
                    0 => Op::Increment {
                        key: z,
                        by: x as i8,
                    },
                    1 => Op::Set {
                        key: z,
                        value: i16::from(x),
                    },
                    2 => Op::Insert { key: z, element: x },
                    3 => Op::Remove { key: z, element: x },
                    4 => Op::Flag {
                        key: z,
                        on: x % 2 == 0,
                    },
                    5 => Op::Delete { key: z },
                    _ => Op::Nested {
                        outer: x,
                        key: z,
                        by: 1,
                    },
                },
            },
            5..=9 => Action::Deliver {
                index: u16::from(x),
            },
            10 => Action::Drop {
                index: u16::from(x),
            },
            11 => Action::Duplicate {
                index: u16::from(x),
            },
            12 => Action::Partition { a: x, b: y },
            13 => Action::Heal,
            14 => Action::Restart { replica: x },
            _ => Action::Tick {
                ms: u16::from(x) * 4,
            },
        });
    }
    Scenario {
        replicas: (seed % 3) as u8,
        actions,
    }
}

/// The bytes `arbitrary` decodes into `scenario` (its inverse, for writing seed corpora):
/// little-endian integers, a `u32` per enum discriminant scaled by `(x * variants) >> 32`, and
/// a continuation byte before each element of the trailing `Vec`.
pub fn scenario_bytes(scenario: &Scenario) -> Vec<u8> {
    fn tag(out: &mut Vec<u8>, index: u64, variants: u64) {
        let x = (index << 32).div_ceil(variants);
        out.extend_from_slice(&(x as u32).to_le_bytes());
    }
    let mut out = vec![scenario.replicas];
    for action in &scenario.actions {
        out.push(1);
        match action {
            Action::Mutate { replica, op } => {
                tag(&mut out, 0, 8);
                out.push(*replica);
                match op {
                    Op::Increment { key, by } => {
                        tag(&mut out, 0, 7);
                        out.extend([*key, *by as u8]);
                    }
                    Op::Set { key, value } => {
                        tag(&mut out, 1, 7);
                        out.push(*key);
                        out.extend_from_slice(&value.to_le_bytes());
                    }
                    Op::Insert { key, element } => {
                        tag(&mut out, 2, 7);
                        out.extend([*key, *element]);
                    }
                    Op::Remove { key, element } => {
                        tag(&mut out, 3, 7);
                        out.extend([*key, *element]);
                    }
                    Op::Flag { key, on } => {
                        tag(&mut out, 4, 7);
                        out.extend([*key, u8::from(*on)]);
                    }
                    Op::Delete { key } => {
                        tag(&mut out, 5, 7);
                        out.push(*key);
                    }
                    Op::Nested { outer, key, by } => {
                        tag(&mut out, 6, 7);
                        out.extend([*outer, *key, *by as u8]);
                    }
                }
            }
            Action::Deliver { index } => {
                tag(&mut out, 1, 8);
                out.extend_from_slice(&index.to_le_bytes());
            }
            Action::Drop { index } => {
                tag(&mut out, 2, 8);
                out.extend_from_slice(&index.to_le_bytes());
            }
            Action::Duplicate { index } => {
                tag(&mut out, 3, 8);
                out.extend_from_slice(&index.to_le_bytes());
            }
            Action::Partition { a, b } => {
                tag(&mut out, 4, 8);
                out.extend([*a, *b]);
            }
            Action::Heal => tag(&mut out, 5, 8),
            Action::Restart { replica } => {
                tag(&mut out, 6, 8);
                out.push(*replica);
            }
            Action::Tick { ms } => {
                tag(&mut out, 7, 8);
                out.extend_from_slice(&ms.to_le_bytes());
            }
        }
    }
    out.push(0);
    out
}

// ----- seed frames -----

/// Valid frames of every kind, named: hello (both flags), delta, state, chunk and ack frames the
/// engine produced for `Doc` and `OrSet<u64>`, and standalone value frames of both types.
pub fn valid_frames() -> Vec<(String, Vec<u8>)> {
    let mut frames = Vec::new();
    frames.push(("value_doc".to_owned(), encode(&seeded_doc(1)).unwrap()));
    frames.push(("value_set".to_owned(), encode(&seeded_set(1)).unwrap()));
    frames.push((
        "value_empty_doc".to_owned(),
        encode(&Doc::default()).unwrap(),
    ));
    collect_sync_frames::<Doc>(
        "doc",
        &mut frames,
        |e, i| {
            e.update(|doc, hlc| doc.increment(hlc.replica(), &["n"], i64::from(i) + 1))
                .unwrap();
        },
        seeded_doc(2),
    );
    collect_sync_frames::<OrSet<u64>>(
        "set",
        &mut frames,
        |e, i| {
            e.update(|set, hlc| Ok::<_, deltacrdt::Error>(set.insert(hlc.replica(), u64::from(i))))
                .unwrap();
        },
        seeded_set(2),
    );
    frames
}

/// Runs replica 2 (restored with `initial`, so it ships a full state first) against a fresh
/// replica 1, once with a small frame limit so the state travels in chunks and once without,
/// and keeps the first frame of each kind, plus a state re-sent as a single chunk.
fn collect_sync_frames<T>(
    tag: &str,
    out: &mut Vec<(String, Vec<u8>)>,
    mutate: impl Fn(&mut SyncEngine<T>, u8),
    initial: T,
) where
    T: Clone
        + std::fmt::Debug
        + deltacrdt::Lattice
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    for max_frame_bytes in [256, SyncConfig::default().max_frame_bytes] {
        let config = SyncConfig {
            max_frame_bytes,
            ..SyncConfig::default()
        };
        sync_pair(tag, out, &mutate, initial.clone(), config);
    }
    // A state frame's payload re-sent as one chunk (offset 0, total = its length), so the
    // fuzzer holds a chunk that completes a reassembly on its own.
    let state = out.iter().find(|(name, _)| *name == format!("{tag}_state"));
    if let Some((_, frame)) = state {
        // The payload: after the header and the `seq` and `ack` varints, before the checksum.
        let mut payload = &frame[4..frame.len() - 4];
        for _ in 0..2 {
            let len = payload.iter().position(|b| b & 0x80 == 0).unwrap() + 1;
            payload = &payload[len..];
        }
        let digest = crc32fast::hash(payload);
        let mut chunk = unsealed_chunk(true, 3, digest, payload.len() as u64, 0, payload);
        seal(&mut chunk);
        out.push((format!("{tag}_chunk_whole"), chunk));
    }
}

/// The start of a chunk frame, up to its `offset`: flag, `seq`, payload digest, `total`.
fn chunk_head(full: bool, seq: u64, digest: u32, total: u64, offset: u64) -> Vec<u8> {
    let mut f = header(0x04);
    f.push(u8::from(full));
    varint(&mut f, seq);
    f.extend_from_slice(&digest.to_le_bytes());
    varint(&mut f, total);
    varint(&mut f, offset);
    f
}

/// A chunk frame carrying `bytes` at `offset`, not yet sealed.
fn unsealed_chunk(
    full: bool,
    seq: u64,
    digest: u32,
    total: u64,
    offset: u64,
    bytes: &[u8],
) -> Vec<u8> {
    let mut f = chunk_head(full, seq, digest, total, offset);
    varint(&mut f, bytes.len() as u64);
    f.extend_from_slice(bytes);
    f
}

fn sync_pair<T>(
    tag: &str,
    out: &mut Vec<(String, Vec<u8>)>,
    mutate: &impl Fn(&mut SyncEngine<T>, u8),
    initial: T,
    config: SyncConfig,
) where
    T: Clone
        + std::fmt::Debug
        + deltacrdt::Lattice
        + serde::Serialize
        + serde::de::DeserializeOwned,
{
    let mut a = SyncEngine::<T>::with_config(fixed_clock(r(1)), SyncConfig::default());
    let mut b = SyncEngine::restore(fixed_clock(r(PEER)), initial, 3, config);
    a.connect(b.replica());
    b.connect(a.replica());
    let mut seen: BTreeSet<(u8, u8)> = out
        .iter()
        .filter(|(name, _)| name.starts_with(tag))
        .map(|(_, f)| (f[3], if f[3] == 0x01 { f[20] } else { 0 }))
        .collect();
    for round in 0..20u8 {
        if round % 3 == 1 {
            mutate(&mut a, round);
            mutate(&mut b, round);
        }
        let mut quiet = true;
        while let Some(t) = a.poll_transmit() {
            quiet = false;
            keep(tag, &t.bytes, &mut seen, out);
            b.receive(a.replica(), &t.bytes).unwrap();
        }
        while let Some(t) = b.poll_transmit() {
            quiet = false;
            keep(tag, &t.bytes, &mut seen, out);
            a.receive(b.replica(), &t.bytes).unwrap();
        }
        if quiet && round > 10 {
            break;
        }
    }
}

fn keep(tag: &str, frame: &[u8], seen: &mut BTreeSet<(u8, u8)>, out: &mut Vec<(String, Vec<u8>)>) {
    let kind = frame[3];
    // Hellos differ by their reply flag; keep one of each.
    let variant = if kind == 0x01 { frame[20] } else { 0 };
    if seen.insert((kind, variant)) {
        let name = match kind {
            0x01 => format!("{tag}_hello_{variant}"),
            0x02 => format!("{tag}_delta"),
            0x03 => format!("{tag}_state"),
            0x04 => format!("{tag}_chunk"),
            0x05 => format!("{tag}_ack"),
            other => format!("{tag}_kind_{other:02x}"),
        };
        out.push((name, frame.to_vec()));
    }
}

/// Appends `value` as an LEB128 varint.
pub fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// A frame header of `kind`.
pub fn header(kind: u8) -> Vec<u8> {
    vec![b'D', b'C', deltacrdt::FORMAT_VERSION, kind]
}

/// Hand-made hostile frames, named, each sealed so it gets past the checksum to the check it
/// aims at: huge declared lengths for every length the format has, deep nesting, chunk totals
/// and offsets out of range, and a chunk whose payload does not match its digest.
pub fn hostile_frames() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut push = |name: &str, mut bytes: Vec<u8>| {
        seal(&mut bytes);
        out.push((name.to_owned(), bytes));
    };
    // A value frame whose replica table claims 2^64-1 and 2^16 entries.
    let mut f = header(0x10);
    varint(&mut f, u64::MAX);
    push("value_table_huge", f);
    let mut f = header(0x10);
    varint(&mut f, 1 << 16);
    f.extend_from_slice(&[0; 64]);
    push("value_table_at_limit_truncated", f);
    // A delta with huge sequence numbers and a table that does not fit.
    let mut f = header(0x02);
    varint(&mut f, u64::MAX);
    varint(&mut f, u64::MAX);
    varint(&mut f, 1000);
    push("delta_huge_seq_table", f);
    // A delta whose first body length (the root map's entry count) is huge.
    let mut f = header(0x02);
    varint(&mut f, 1);
    varint(&mut f, 0);
    varint(&mut f, 0);
    varint(&mut f, u64::MAX >> 1);
    push("delta_body_len_huge", f);
    // A state frame acking far beyond the receiver's sequence.
    let mut f = header(0x03);
    varint(&mut f, 1);
    varint(&mut f, 1 << 40);
    varint(&mut f, 0);
    push("state_ack_out_of_range", f);
    // Chunks (digest 0: these never complete): total past the limit, offset past the total, a
    // byte string longer than the frame.
    push(
        "chunk_total_huge",
        unsealed_chunk(true, 1, 0, u64::MAX, 0, &[0]),
    );
    push(
        "chunk_offset_huge",
        unsealed_chunk(false, 1, 0, 10, u64::MAX - 1, &[0, 0]),
    );
    let mut f = chunk_head(false, 1, 0, 10, 0);
    varint(&mut f, u64::MAX);
    f.extend_from_slice(&[0; 8]);
    push("chunk_bytes_len_huge", f);
    // A whole one-byte payload whose digest is not its CRC-32.
    push(
        "chunk_digest_wrong",
        unsealed_chunk(false, 1, 0, 1, 0, &[0]),
    );
    // An ack with an overlong varint (11 bytes).
    let mut f = header(0x05);
    f.extend_from_slice(&[0xff; 10]);
    f.push(0x01);
    push("ack_overlong_varint", f);
    // A hello with a bad reply flag.
    let mut f = header(0x01);
    f.extend_from_slice(&[7; 16]);
    f.push(2);
    push("hello_bad_flag", f);
    // A value frame holding a register nested 100,000 lists deep (postcard: variant 2, len 1).
    out.push((
        "value_deep_nesting".to_owned(),
        deep_register_frame(100_000),
    ));
    out.push(("value_wide_list".to_owned(), wide_register_frame(60_000)));
    out
}

/// A value frame of a document with one register field `"v"` at the root, written by one
/// replica, whose value is whatever `value` appends: obtained by encoding a real one,
/// replacing its value bytes and resealing it.
fn register_frame(value: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut doc = Doc::default();
    let stamp = fixed_clock(r(1)).now().unwrap();
    let marker = "\u{1}MARKER\u{2}";
    let _ = doc
        .set(stamp, &["v"], Value::Scalar(Scalar::Str(marker.into())))
        .unwrap();
    let bytes = encode(&doc).unwrap();
    // The marker is a `Value::Scalar(Scalar::Str)`: variant 1, variant 3, length, text.
    let mut needle = vec![1u8, 3, marker.len() as u8];
    needle.extend_from_slice(marker.as_bytes());
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle.as_slice())
        .expect("the marker is in the encoding");
    let mut out = bytes[..at].to_vec();
    value(&mut out);
    out.extend_from_slice(&bytes[at + needle.len()..]);
    resealed(&out)
}

/// A register value nested `depth` lists deep.
pub fn deep_register_frame(depth: usize) -> Vec<u8> {
    register_frame(|out| {
        for _ in 0..depth {
            out.extend_from_slice(&[2, 1]);
        }
        out.push(0);
    })
}

/// A register value that is one list of `len` nulls.
pub fn wide_register_frame(len: usize) -> Vec<u8> {
    register_frame(|out| {
        out.push(2);
        varint(out, len as u64);
        out.extend(std::iter::repeat_n(0u8, len));
    })
}

/// A register value of `depth` nested lists, each declaring as many elements as there are
/// bytes left (the most a length may claim and still pass the remaining-bytes check), the
/// innermost padded with `pad` nulls.
pub fn greedy_nested_register_frame(depth: usize, pad: usize) -> Vec<u8> {
    register_frame(|out| {
        let total = depth * 4 + pad;
        for level in 0..depth {
            out.push(2);
            let left = (total - level * 4) as u64;
            let mut v = Vec::new();
            varint(&mut v, left);
            v.resize(3, 0);
            // A padded 3-byte varint so every level takes 4 bytes.
            v[0] |= 0x80;
            v[1] |= 0x80;
            out.extend_from_slice(&v);
        }
        out.extend(std::iter::repeat_n(0u8, pad));
    })
}
