//! The `sync_actions` target: 3–5 replicas of a `Doc` driven by arbitrary actions over a
//! simulated network, then healed; all must converge.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use arbitrary::{Arbitrary, Unstructured};
use deltacrdt::{Doc, Hlc, Scalar, SyncConfig, SyncEngine, Value};

use super::{EPOCH_MS, Rng, r, receive_checked};

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
                    .position(|e| e.id() == t.to)
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
    let mut b = || rng.next_u64() as u8;
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
