//! Seeded workloads shared by the benchmarks (see `crdts.rs` for what each one is).
#![allow(
    dead_code,
    reason = "each bench target uses part of the shared workloads"
)]

use std::collections::HashSet;
use std::hint::black_box;

use crdts::{CmRDT, CvRDT};
use deltacrdt::{Lattice, OrSet, ReplicaId};
use uuid::Uuid;

/// splitmix64: a tiny seeded generator, good enough to scatter benchmark inputs.
pub(crate) struct SplitMix(pub(crate) u64);

impl SplitMix {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-enough index below `n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// `n` distinct random `u64`s.
    pub(crate) fn distinct(&mut self, n: usize) -> Vec<u64> {
        let mut seen = HashSet::with_capacity(n);
        let mut out = Vec::with_capacity(n);
        while out.len() < n {
            let x = self.next();
            if seen.insert(x) {
                out.push(x);
            }
        }
        out
    }
}

/// `n` distinct elements of `pool`, picked at random.
pub(crate) fn pick(rng: &mut SplitMix, pool: &[u64], n: usize) -> Vec<u64> {
    let mut pool = pool.to_vec();
    (0..n)
        .map(|_| pool.swap_remove(rng.below(pool.len())))
        .collect()
}

/// Two replicas with random-looking (not tiny) 16-byte ids.
pub(crate) fn replica(n: u64) -> ReplicaId {
    let mut rng = SplitMix(n);
    ReplicaId::from_u128((u128::from(rng.next()) << 64) | u128::from(rng.next()))
}

pub(crate) type Orswot = crdts::Orswot<u64, Uuid>;

/// The `set/insert_remove` workload.
pub(crate) struct SetOps {
    pub(crate) adds: Vec<u64>,
    pub(crate) removes: Vec<u64>,
}

impl SetOps {
    pub(crate) fn new() -> Self {
        let mut rng = SplitMix(0x5EED_0001);
        let adds = rng.distinct(100_000);
        let removes = pick(&mut rng, &adds, 50_000);
        Self { adds, removes }
    }

    pub(crate) fn ours(&self, r: ReplicaId) -> OrSet<u64> {
        let mut s = OrSet::default();
        for &e in &self.adds {
            let _ = black_box(s.insert(r, e));
        }
        for e in &self.removes {
            let _ = black_box(s.remove(e));
        }
        s
    }

    pub(crate) fn theirs(&self, r: ReplicaId) -> Orswot {
        let actor = r.as_uuid();
        let mut s = Orswot::new();
        orswot_add_all(&mut s, actor, &self.adds);
        orswot_remove_all(&mut s, &self.removes);
        s
    }
}

pub(crate) fn orswot_add_all(s: &mut Orswot, actor: Uuid, elements: &[u64]) {
    for &e in elements {
        let op = s.add(e, s.read_ctx().derive_add_ctx(actor));
        s.apply(op);
    }
}

pub(crate) fn orswot_remove_all(s: &mut Orswot, elements: &[u64]) {
    for &e in elements {
        let op = s.rm(e, s.contains(&e).derive_rm_ctx());
        s.apply(op);
    }
}

pub(crate) fn sorted_ours(s: &OrSet<u64>) -> Vec<u64> {
    let mut v: Vec<u64> = s.iter().copied().collect();
    v.sort_unstable();
    v
}

pub(crate) fn sorted_theirs(s: &Orswot) -> Vec<u64> {
    let mut v: Vec<u64> = s.read().val.into_iter().collect();
    v.sort_unstable();
    v
}

/// The `set/join_diverged` states: A's and B's, in both libraries.
pub(crate) struct Diverged {
    pub(crate) ours: (OrSet<u64>, OrSet<u64>),
    pub(crate) theirs: (Orswot, Orswot),
}

impl Diverged {
    pub(crate) fn new() -> Self {
        let (a, b) = (replica(1), replica(2));
        let mut rng = SplitMix(0x5EED_0002);
        let base = rng.distinct(50_000);
        let fresh = rng.distinct(100_000);
        let (a_adds, b_adds) = fresh.split_at(50_000);
        let a_removes = pick(&mut rng, &base, 10_000);
        let b_removes = pick(&mut rng, &base, 10_000);

        let mut oa = OrSet::default();
        for &e in &base {
            let _ = oa.insert(a, e);
        }
        let mut ob = oa.clone();
        for &e in a_adds {
            let _ = oa.insert(a, e);
        }
        for &e in b_adds {
            let _ = ob.insert(b, e);
        }
        for e in &a_removes {
            let _ = oa.remove(e);
        }
        for e in &b_removes {
            let _ = ob.remove(e);
        }

        let mut ta = Orswot::new();
        orswot_add_all(&mut ta, a.as_uuid(), &base);
        let mut tb = ta.clone();
        orswot_add_all(&mut ta, a.as_uuid(), a_adds);
        orswot_add_all(&mut tb, b.as_uuid(), b_adds);
        orswot_remove_all(&mut ta, &a_removes);
        orswot_remove_all(&mut tb, &b_removes);

        // Both libraries must agree on the states and on the join.
        assert_eq!(oa.len(), 90_000);
        assert_eq!(sorted_ours(&oa), sorted_theirs(&ta));
        assert_eq!(sorted_ours(&ob), sorted_theirs(&tb));
        let joined = oa.clone().joined(ob.clone());
        let mut merged = ta.clone();
        merged.merge(tb.clone());
        assert_eq!(sorted_ours(&joined), sorted_theirs(&merged));
        let removed: HashSet<u64> = a_removes.iter().chain(&b_removes).copied().collect();
        assert_eq!(joined.len(), 150_000 - removed.len());

        Self {
            ours: (oa, ob),
            theirs: (ta, tb),
        }
    }
}
