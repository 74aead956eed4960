//! The `reconcile_rounds` target: two or three `OrSet<u64>` engines restored from one snapshot
//! (no shared acknowledgements, so every session starts with a reconciliation round), each
//! edited differently, connected over a network the input controls — frames delivered,
//! dropped, duplicated, delayed, or *mutated* and resealed — with ticks of time. Then the
//! network heals and time runs long enough for stalled rounds to be given up and repair
//! digests to fire, and every engine must hold the same state.
//!
//! Mutations are confined to the reconciliation frames (summary, sketch, verdict, digest:
//! kinds 0x06–0x09) and to a hello's trailing context, so that a mutated frame never carries
//! values: whatever a replica ends up holding, some replica made. The input is read byte by
//! byte (zero once exhausted), so any byte string is a scenario.
//!
//! What is checked:
//! - no panic; a refused frame leaves the replica unchanged ([`receive_checked`]); an
//!   unmutated frame is never refused;
//! - after healing, all states are equal;
//! - if no mutated frame was accepted, that state is exactly the join of every edit;
//! - if one was, it holds no element no replica ever inserted (a mutated verdict or context
//!   can make a peer believe a dot was removed — the protocol reads "inside both announcements,
//!   held by one side only" as a removal — so elements may be lost, but none invented).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use deltacrdt::{Hlc, Lattice, OrSet, SyncConfig, SyncEngine};

use super::{EPOCH_MS, Rng, r, receive_checked, resealed, seeded_set};

const RETRANSMIT_MS: u64 = 50;
const REPAIR_MS: u64 = 200;
/// The first byte of a hello's announcement (held count, then context): header 4, id 16,
/// reply flag 1, minor version 1, nonce 16, context flag 1.
const HELLO_CONTEXT_AT: usize = 39;

/// The fuzzer's bytes, read one at a time; zeros once exhausted.
struct Input<'a> {
    bytes: &'a [u8],
}

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&b, rest)) => {
                self.bytes = rest;
                b
            }
            None => 0,
        }
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
}

#[derive(Debug, Clone)]
struct Pending {
    /// The sender's index, and its id when it sent the frame.
    from: usize,
    from_id: deltacrdt::ReplicaId,
    to: usize,
    bytes: Vec<u8>,
}

struct Net {
    engines: Vec<SyncEngine<OrSet<u64>>>,
    pending: Vec<Pending>,
    now: Arc<AtomicU64>,
    /// The join of every edit any replica made (and the snapshot).
    expected: OrSet<u64>,
    /// Every element any replica ever inserted.
    inserted: BTreeSet<u64>,
    /// A mutated frame was accepted (`Ok`) somewhere.
    tainted: bool,
}

/// Replica `i`'s id: not one of the snapshot's writers (`r(1)..=r(3)`), so no replica starts
/// out looking like a copy of another.
fn id(i: usize) -> deltacrdt::ReplicaId {
    r(i as u128 + 11)
}

fn config(i: usize, seed: u8) -> SyncConfig {
    SyncConfig {
        retransmit_after_ms: RETRANSMIT_MS,
        repair_after_ms: REPAIR_MS,
        nonce_seed: Some([seed ^ (i as u8 + 1); 16]),
        ..SyncConfig::default()
    }
}

impl Net {
    fn new(n: usize, snapshot: &OrSet<u64>, seed: u8) -> Self {
        let now = Arc::new(AtomicU64::new(EPOCH_MS));
        let engines = (0..n)
            .map(|i| {
                let c = Arc::clone(&now);
                let hlc = Hlc::builder(id(i))
                    .clock(move || c.load(Ordering::Relaxed))
                    .build()
                    .unwrap();
                SyncEngine::restore(hlc, snapshot.clone(), 5, config(i, seed))
            })
            .collect();
        Self {
            engines,
            pending: Vec::new(),
            now,
            expected: snapshot.clone(),
            inserted: snapshot.iter().copied().collect(),
            tainted: false,
        }
    }

    fn connect(&mut self) {
        let n = self.engines.len();
        for i in 0..n {
            for j in 0..n {
                if i != j {
                    self.engines[i].connect(id(j));
                }
            }
        }
    }

    /// Replica `i` inserts (even `b`) a new element or removes (odd `b`) a present one.
    fn edit(&mut self, i: usize, b: u8) {
        let engine = &mut self.engines[i];
        let element = if b.is_multiple_of(2) {
            100 + u64::from(b / 2 % 16)
        } else {
            let live: Vec<u64> = {
                let mut v: Vec<u64> = engine.state().iter().copied().collect();
                v.sort_unstable();
                v
            };
            match live.get(usize::from(b / 2) % live.len().max(1)) {
                Some(&e) => e,
                None => return,
            }
        };
        let mut delta = OrSet::default();
        engine
            .update(|s, h| {
                let d = if b.is_multiple_of(2) {
                    s.insert(h.replica(), element)
                } else {
                    s.remove(&element)
                };
                delta = (*d).clone();
                Ok::<_, deltacrdt::Error>(d)
            })
            .unwrap();
        if b.is_multiple_of(2) {
            let _ = self.inserted.insert(element);
        }
        self.expected.join(delta);
    }

    fn flush(&mut self) {
        for from in 0..self.engines.len() {
            while let Some(t) = self.engines[from].poll_transmit() {
                // A replica that finds a peer saw events of its id it never issued takes a
                // fresh id (a mutated context can claim that); frames to its old id are lost.
                let Some(to) = self.engines.iter().position(|e| e.id() == t.to) else {
                    continue;
                };
                let from_id = self.engines[from].id();
                self.pending.push(Pending {
                    from,
                    from_id,
                    to,
                    bytes: t.bytes,
                });
            }
        }
        // Keep the network small: the oldest frames beyond a cap are lost.
        if self.pending.len() > 128 {
            let _ = self.pending.drain(..self.pending.len() - 128);
        }
    }

    fn deliver(&mut self, p: &Pending, mutated: bool) {
        match receive_checked(&mut self.engines[p.to], p.from_id, &p.bytes) {
            Ok(_) if mutated => self.tainted = true,
            Ok(_) => {}
            // Any typed error is a fine answer to a mutated frame.
            Err(_) if mutated => {}
            Err(err) => panic!(
                "replica {} refused an honest frame (kind {:#04x}) from {}: {err}",
                p.to, p.bytes[3], p.from
            ),
        }
    }

    fn tick(&mut self, ms: u64) {
        let now = self.now.fetch_add(ms, Ordering::Relaxed) + ms;
        for engine in &mut self.engines {
            engine.tick(now);
        }
    }

    /// Heals the network: everything in flight is delivered, then time advances in steps of
    /// the retransmission interval until well past the give-up time of a stalled round
    /// (8 retransmission intervals) and several repair intervals, delivering everything after
    /// each step.
    fn settle(&mut self) {
        let deadline = self.now.load(Ordering::Relaxed) + 40 * REPAIR_MS;
        let mut frames = 0usize;
        while self.now.load(Ordering::Relaxed) < deadline {
            self.flush();
            while !self.pending.is_empty() {
                let p = self.pending.remove(0);
                self.deliver(&p, false);
                self.flush();
                frames += 1;
                assert!(frames < 100_000, "the network never goes quiet");
            }
            self.tick(RETRANSMIT_MS);
        }
        self.flush();
        while !self.pending.is_empty() {
            let p = self.pending.remove(0);
            self.deliver(&p, false);
            self.flush();
        }
    }
}

/// `frame` with 1–3 bytes of its mutable region replaced or flipped, resealed; `None` if the
/// frame's kind is not one the target mutates.
fn mutate(frame: &[u8], input: &mut Input<'_>) -> Option<Vec<u8>> {
    let start = match frame.get(3)? {
        0x01 => HELLO_CONTEXT_AT,
        0x06..=0x09 => 4,
        _ => return None,
    };
    let end = frame.len().checked_sub(4)?;
    if end <= start {
        return None;
    }
    let mut out = frame.to_vec();
    for _ in 0..=input.byte() % 3 {
        let at = start + usize::from(input.byte()) % (end - start);
        let how = input.byte();
        out[at] = match how % 4 {
            0 => how,
            1 => out[at] ^ (1 << (how / 4 % 8)),
            2 => out[at].wrapping_add(1),
            _ => out[at].wrapping_sub(1),
        };
    }
    Some(resealed(&out))
}

/// Runs the scenario `data` describes (see the module docs).
pub fn reconcile_rounds(data: &[u8]) {
    let mut input = Input { bytes: data };
    let head = input.byte();
    let n = 2 + usize::from(head % 2);
    // Half the scenarios only lose, duplicate and delay frames: their result must be exact.
    let mutations = head & 0x80 != 0;
    let snapshot = seeded_set(u64::from(head / 2 % 8));
    let mut net = Net::new(n, &snapshot, input.byte());
    for i in 0..n {
        for _ in 0..input.byte() % 4 {
            let b = input.byte();
            net.edit(i, b);
        }
    }
    net.connect();
    net.flush();
    for _ in 0..400 {
        if input.is_empty() {
            break;
        }
        let action = input.byte();
        let index = usize::from(input.byte());
        match action % 10 {
            0..=2 if !net.pending.is_empty() => {
                let p = net.pending.remove(index % net.pending.len());
                net.deliver(&p, false);
            }
            3 if !net.pending.is_empty() => {
                let _ = net.pending.remove(index % net.pending.len());
            }
            4 if !net.pending.is_empty() => {
                let p = net.pending[index % net.pending.len()].clone();
                net.pending.push(p);
            }
            5 if !net.pending.is_empty() => {
                // Delayed: moved behind everything in flight.
                let p = net.pending.remove(index % net.pending.len());
                net.pending.push(p);
            }
            6 | 7 if mutations && !net.pending.is_empty() => {
                let mut p = net.pending.remove(index % net.pending.len());
                match mutate(&p.bytes, &mut input) {
                    Some(bytes) => {
                        p.bytes = bytes;
                        net.deliver(&p, true);
                    }
                    None => net.deliver(&p, false),
                }
            }
            6 | 7 if !net.pending.is_empty() => {
                let p = net.pending.remove(index % net.pending.len());
                net.deliver(&p, false);
            }
            8 => net.tick(index as u64 * 4),
            9 => net.edit(index % n, input.byte()),
            _ => {}
        }
        net.flush();
    }
    net.settle();
    let states: Vec<&OrSet<u64>> = net.engines.iter().map(SyncEngine::state).collect();
    for (i, state) in states.iter().enumerate() {
        assert_eq!(*state, states[0], "replica {i} diverged from replica 0");
    }
    if net.tainted {
        for e in states[0].iter() {
            assert!(
                net.inserted.contains(e),
                "element {e} appeared that no replica inserted"
            );
        }
    } else {
        assert_eq!(
            *states[0], net.expected,
            "the replicas agree on something other than the join of every edit"
        );
    }
}

/// A random scenario for the stable replay: 40–400 random bytes from `seed`.
pub fn random_rounds_input(seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let len = 40 + rng.below(360) as usize;
    (0..len).map(|_| rng.next_u64() as u8).collect()
}
