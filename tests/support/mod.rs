//! Shared helpers of the property tests.
//!
//! - **Laws**: one generic function per lattice law (DESIGN §2 / §9.2), called once per type from
//!   `tests/lattice/laws.rs`. Each returns a `TestCaseError` on violation so proptest shrinks the input.
//! - **Histories**: values are built by replaying a random history of operations on three replicas
//!   (`ReplicaId::from_u128(1..=3)`) with random shipping between them: full states, causal
//!   delta-intervals (everything the sender applied since the last acknowledged shipment) and
//!   single deltas delivered in any order. States reached this way are the realistic ones; the
//!   pool a law draws from holds the replicas' states, every delta and every delta-group shipped.
//! - **Causal log**: the replay records every operation with the set of operations its replica
//!   had seen at the time, so `tests/lattice/oracle.rs` can compute each type's specification.
#![allow(
    dead_code,
    unreachable_pub,
    reason = "each test crate uses a subset of the helpers"
)]

use std::collections::BTreeSet;
use std::fmt::Debug;

use deltacrdt::{Causal, CausalContext, Delta, Dot, Lattice, ReplicaId};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{FileFailurePersistence, TestCaseError};
use serde::Serialize;
use serde::de::DeserializeOwned;

mod ops;
#[allow(unused_imports, reason = "not every test crate names the operations")]
pub use ops::*;

/// The proptest configuration of the property tests: `cases` cases, failing seeds persisted next
/// to the test file (`tests/<binary>/<module>.proptest-regressions`) and replayed first on later runs.
pub fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::with_cases(cases)
    }
}

/// Number of replicas in every history.
pub const REPLICAS: usize = 3;

/// Replica `i` (0-based) of a history: `ReplicaId::from_u128(i + 1)`.
pub fn replica(i: usize) -> ReplicaId {
    ReplicaId::from_u128(i as u128 + 1)
}

// ----- laws: one function per law -----

/// `a ⊔ b == b ⊔ a`.
pub fn commutative<T: Lattice + Debug>(a: &T, b: &T) -> Result<(), TestCaseError> {
    let ab = a.clone().joined(b.clone());
    let ba = b.clone().joined(a.clone());
    prop_assert_eq!(ab, ba, "join is not commutative");
    Ok(())
}

/// `(a ⊔ b) ⊔ c == a ⊔ (b ⊔ c)`.
pub fn associative<T: Lattice + Debug>(a: &T, b: &T, c: &T) -> Result<(), TestCaseError> {
    let left = a.clone().joined(b.clone()).joined(c.clone());
    let right = a.clone().joined(b.clone().joined(c.clone()));
    prop_assert_eq!(left, right, "join is not associative");
    Ok(())
}

/// `a ⊔ a == a`.
pub fn idempotent<T: Lattice + Debug>(a: &T) -> Result<(), TestCaseError> {
    prop_assert_eq!(&a.clone().joined(a.clone()), a, "join is not idempotent");
    Ok(())
}

/// `⊥ ⊔ a == a == a ⊔ ⊥`, with `⊥ = T::default()`.
pub fn bottom_is_identity<T: Lattice + Debug>(a: &T) -> Result<(), TestCaseError> {
    prop_assert_eq!(&T::default().joined(a.clone()), a, "⊥ ⊔ a != a");
    prop_assert_eq!(&a.clone().joined(T::default()), a, "a ⊔ ⊥ != a");
    prop_assert!(T::default().is_bottom(), "⊥ is not bottom");
    prop_assert_eq!(
        a.is_bottom(),
        *a == T::default(),
        "is_bottom disagrees with == ⊥"
    );
    Ok(())
}

/// The delta-mutator law `x ⊔ mδ(x) == m(x)`: `after` is `before` mutated in place, `delta` what
/// the mutator returned. Also: the delta is below the new state (`δ ⊔ m(x) == m(x)`) and the
/// mutation is an inflation (`x ⊔ m(x) == m(x)`).
pub fn delta_law<T: Lattice + Debug>(
    before: &T,
    after: &T,
    delta: &Delta<T>,
) -> Result<(), TestCaseError> {
    let mut applied = before.clone();
    applied.apply(delta.clone());
    prop_assert_eq!(&applied, after, "x ⊔ mδ(x) != m(x)");
    prop_assert_eq!(
        &after.clone().joined((**delta).clone()),
        after,
        "mδ(x) is not below m(x)"
    );
    prop_assert_eq!(
        &before.clone().joined(after.clone()),
        after,
        "m(x) is not an inflation of x"
    );
    Ok(())
}

/// Building a delta-group keeps representation hints (`join_delta_group`), which must never
/// change what the group means: the group equals the plain join, and applying it — or applying
/// any value with its hints — to a state gives what applying the hint-free value gives.
pub fn delta_groups_agree<T: Lattice + Debug>(a: &T, b: &T, x: &T) -> Result<(), TestCaseError> {
    let mut group = a.clone();
    group.join_delta_group(b.clone());
    let plain = a.clone().joined(b.clone());
    prop_assert_eq!(&group, &plain, "a delta-group differs from the join");
    prop_assert_eq!(
        x.clone().joined(group),
        x.clone().joined(plain),
        "applying a delta-group differs from applying the join"
    );
    // Joining into bottom drops hints.
    let bare = T::default().joined(a.clone());
    prop_assert_eq!(
        x.clone().joined(a.clone()),
        x.clone().joined(bare),
        "a value's hints changed what applying it does"
    );
    Ok(())
}

/// Joining anything inflates: `x ≤ x ⊔ d`, i.e. `(x ⊔ d) ⊔ x == x ⊔ d` (and `d ≤ x ⊔ d`).
pub fn inflation<T: Lattice + Debug>(x: &T, d: &T) -> Result<(), TestCaseError> {
    let y = x.clone().joined(d.clone());
    prop_assert_eq!(&y.clone().joined(x.clone()), &y, "x is not below x ⊔ d");
    prop_assert_eq!(&y.clone().joined(d.clone()), &y, "d is not below x ⊔ d");
    Ok(())
}

/// Redundant-state removal: `x.novelty(d)` is `None` iff `x ⊔ d == x`; otherwise it is a valid
/// value `v ⊑ d` with `x ⊔ v == x ⊔ d`, so relaying `v` in place of `d` gives any third replica
/// `z` no more than `d` would (`z ⊔ v ⊑ z ⊔ d`) and never costs more bytes than `d`.
pub fn novelty_is_the_new_part<T>(x: &T, d: &T, z: &T) -> Result<(), TestCaseError>
where
    T: Lattice + Debug + Serialize + DeserializeOwned,
{
    let xd = x.clone().joined(d.clone());
    // The receive path learns the new part from the join itself: same state, same answer.
    let mut received = x.clone();
    let fused = received.join_novelty(d.clone());
    prop_assert_eq!(&received, &xd, "join_novelty joined to another state");
    prop_assert_eq!(&fused, &x.novelty(d), "join_novelty and novelty disagree");
    let Some(v) = x.novelty(d) else {
        prop_assert_eq!(&xd, x, "novelty is None but d is not below x");
        return Ok(());
    };
    prop_assert_ne!(&xd, x, "novelty is Some({:?}) but d is below x", v);
    prop_assert_eq!(
        &v.clone().joined(d.clone()),
        d,
        "the novelty is not below d"
    );
    prop_assert_eq!(
        x.clone().joined(v.clone()),
        xd,
        "x ⊔ novelty != x ⊔ d (novelty {:?})",
        v
    );
    let zd = z.clone().joined(d.clone());
    let zv = z.clone().joined(v.clone());
    prop_assert_eq!(
        zv.joined(zd.clone()),
        zd,
        "z ⊔ novelty is not below z ⊔ d (novelty {:?})",
        v
    );
    serde_roundtrip(&v)?;
    let (v_len, d_len) = (encoded(&v)?.len(), encoded(d)?.len());
    prop_assert!(
        v_len <= d_len,
        "the novelty encodes in {} bytes, d in {}",
        v_len,
        d_len
    );
    Ok(())
}

/// `x` encoded with postcard (the wire codec).
pub fn encoded<T: Serialize>(x: &T) -> Result<Vec<u8>, TestCaseError> {
    postcard::to_allocvec(x).map_err(|e| TestCaseError::fail(format!("postcard encode: {e}")))
}

/// `x` as a peer receives it: encoded and decoded with postcard (which drops hints).
pub fn decoded<T: Serialize + DeserializeOwned>(x: &T) -> Result<T, TestCaseError> {
    postcard::from_bytes(&encoded(x)?)
        .map_err(|e| TestCaseError::fail(format!("postcard decode: {e}")))
}

/// Inflation of an observed-remove value, element by element: the causal context only grows, and
/// an element (`read`) of `x` missing from `x ⊔ d` was removed by `d`, so `d`'s context must have
/// seen some event `x` has seen (a join with a value that shares no event with `x` cannot remove
/// anything). Holds for add-wins / update-wins types, not for remove- or disable-wins ones.
pub fn causal_inflation<T, E>(
    x: &T,
    d: &T,
    read: impl Fn(&T) -> BTreeSet<E>,
) -> Result<(), TestCaseError>
where
    T: Lattice + Causal + Debug,
    E: Ord + Debug,
{
    let joined = x.clone().joined(d.clone());
    let mut grown = x.context().clone();
    grown.join(joined.context());
    prop_assert_eq!(&grown, joined.context(), "the causal context shrank");
    let before = read(x);
    let after = read(&joined);
    let lost: Vec<&E> = before.difference(&after).collect();
    if !lost.is_empty() {
        prop_assert!(
            dots(d.context())
                .into_iter()
                .any(|dot| x.context().contains(dot)),
            "{:?} lost in a join with a value whose context {:?} shares no event with {:?}",
            lost,
            d.context(),
            x.context()
        );
    }
    Ok(())
}

/// Every dot a context holds (version vector and cloud), for small test contexts.
pub fn dots(ctx: &CausalContext) -> Vec<Dot> {
    let mut out: Vec<Dot> = ctx
        .version_vector()
        .flat_map(|(r, max)| (1..=max).map(move |n| Dot::new(r, n)))
        .collect();
    out.extend(ctx.cloud());
    out
}

/// `decode(encode(x)) == x`, with postcard (the wire codec) and with serde_json.
pub fn serde_roundtrip<T>(x: &T) -> Result<(), TestCaseError>
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    let bytes = postcard::to_allocvec(x)
        .map_err(|e| TestCaseError::fail(format!("postcard encode: {e}")))?;
    let back: T = postcard::from_bytes(&bytes)
        .map_err(|e| TestCaseError::fail(format!("postcard decode: {e}")))?;
    prop_assert_eq!(&back, x, "postcard round trip changed the value");
    let json =
        serde_json::to_string(x).map_err(|e| TestCaseError::fail(format!("json encode: {e}")))?;
    let back: T = serde_json::from_str(&json)
        .map_err(|e| TestCaseError::fail(format!("json decode: {e} in {json}")))?;
    prop_assert_eq!(
        &back,
        x,
        "serde_json round trip changed the value: {}",
        json
    );
    Ok(())
}

// ----- replaying histories -----

/// A type whose values the strategies build by replaying operations.
pub trait Replay: Lattice + Debug + 'static {
    /// One operation, as generated (small domains, so replicas collide).
    type Op: Clone + Debug + 'static;
    /// Per-replica state kept outside the value (a clock), `Default` at the start.
    type Local: Default + Debug + Clone + 'static;

    /// A random operation.
    fn op() -> BoxedStrategy<Self::Op>;

    /// Performs `op` as `replica` and returns the delta. It may rewrite `op` to what was really
    /// done (e.g. fill in the timestamp a clock issued) so the oracle sees the real operation.
    fn perform(
        &mut self,
        local: &mut Self::Local,
        replica: ReplicaId,
        op: &mut Self::Op,
    ) -> Delta<Self>;
}

/// One step of a history.
#[derive(Clone, Debug)]
pub enum Step<Op> {
    /// Replica `at` performs `op`.
    Do { at: usize, op: Op },
    /// `to` joins `from`'s full state.
    State { from: usize, to: usize },
    /// `to` joins the delta-interval `from` buffered for it: every delta (local or received) and
    /// state `from` applied since its last acknowledged shipment to `to`. If `acked`, the buffer
    /// is cleared; otherwise the ack is lost and the same deltas are shipped again later.
    Interval { from: usize, to: usize, acked: bool },
    /// `to` joins one delta picked among all produced so far, in any order (non-causal delivery).
    Single { delta: Index, to: usize },
}

/// An operation in the global log, with its causal history.
#[derive(Clone, Debug)]
pub struct Logged<Op> {
    /// The replica (0-based) that performed it.
    pub at: usize,
    /// What was done.
    pub op: Op,
    /// Ids (log indices) of the operations its replica had seen before it.
    pub seen: BTreeSet<usize>,
}

/// The outcome of replaying a history.
#[derive(Debug)]
pub struct Run<T: Replay> {
    /// Each replica's state.
    pub replicas: Vec<T>,
    /// Each replica's local (clock) state.
    pub locals: Vec<T::Local>,
    /// `pending[from][to]`: the delta-interval `from` has buffered for `to`.
    pending: Vec<Vec<(T, BTreeSet<usize>)>>,
    /// Every delta produced, in order (index = operation id).
    pub deltas: Vec<Delta<T>>,
    /// Every delta-group and state shipped.
    pub shipped: Vec<T>,
    /// The global operation log.
    pub log: Vec<Logged<T::Op>>,
    /// The operations each replica has seen (exactly those whose deltas it received).
    pub seen: Vec<BTreeSet<usize>>,
    /// Whether some delivery was non-causal (a `Single`), making `seen` sets not down-closed.
    pub non_causal: bool,
}

impl<T: Replay> Default for Run<T> {
    fn default() -> Self {
        Self {
            replicas: vec![T::default(); REPLICAS],
            locals: vec![T::Local::default(); REPLICAS],
            pending: vec![vec![(T::default(), BTreeSet::new()); REPLICAS]; REPLICAS],
            deltas: Vec::new(),
            shipped: Vec::new(),
            log: Vec::new(),
            seen: vec![BTreeSet::new(); REPLICAS],
            non_causal: false,
        }
    }
}

impl<T: Replay> Run<T> {
    /// Replays `steps` from bottom.
    pub fn replay(steps: &[Step<T::Op>]) -> Self {
        let mut run = Self::default();
        for step in steps {
            run.step(step.clone());
        }
        run
    }

    /// Performs one step.
    pub fn step(&mut self, step: Step<T::Op>) {
        match step {
            Step::Do { at, op } => {
                let _ = self.perform(at, op);
            }
            Step::State { from, to } => {
                let state = self.replicas[from].clone();
                let seen = self.seen[from].clone();
                self.receive(to, state, &seen);
            }
            Step::Interval { from, to, acked } => {
                let (group, seen) = if acked {
                    std::mem::take(&mut self.pending[from][to])
                } else {
                    self.pending[from][to].clone()
                };
                self.receive(to, group, &seen);
            }
            Step::Single { delta, to } => {
                if !self.deltas.is_empty() {
                    let id = delta.index(self.deltas.len());
                    let d = (*self.deltas[id]).clone();
                    self.non_causal = true;
                    self.receive(to, d, &BTreeSet::from([id]));
                }
            }
        }
    }

    /// Replica `at` performs `op`; returns the state before, the delta and the operation id.
    pub fn perform(&mut self, at: usize, mut op: T::Op) -> (T, Delta<T>, usize) {
        let before = self.replicas[at].clone();
        let delta = self.replicas[at].perform(&mut self.locals[at], replica(at), &mut op);
        let id = self.log.len();
        self.log.push(Logged {
            at,
            op,
            seen: self.seen[at].clone(),
        });
        self.seen[at].insert(id);
        self.deltas.push(delta.clone());
        self.buffer(at, &delta, &BTreeSet::from([id]));
        (before, delta, id)
    }

    /// `to` joins `value`, which carries the operations `ops`.
    fn receive(&mut self, to: usize, value: T, ops: &BTreeSet<usize>) {
        self.shipped.push(value.clone());
        self.replicas[to].join(value.clone());
        self.seen[to].extend(ops.iter().copied());
        self.buffer(to, &value, ops);
    }

    /// Adds what replica `at` just applied to its buffers for every peer.
    fn buffer(&mut self, at: usize, value: &T, ops: &BTreeSet<usize>) {
        for (peer, (group, seen)) in self.pending[at].iter_mut().enumerate() {
            if peer != at {
                group.join_delta_group(value.clone());
                seen.extend(ops.iter().copied());
            }
        }
    }

    /// Ships every replica's full state to every other, twice round (enough for every replica to
    /// see every operation); returns replica 0's state (to check convergence after a history).
    pub fn sync_all(&mut self) -> T {
        for from in 0..REPLICAS {
            for to in 0..REPLICAS {
                if from != to {
                    self.step(Step::State { from, to });
                }
            }
        }
        for from in 0..REPLICAS {
            for to in 0..REPLICAS {
                if from != to {
                    self.step(Step::State { from, to });
                }
            }
        }
        self.replicas[0].clone()
    }

    /// Every value this run produced: bottom, the replicas' states, every delta and every
    /// delta-group or state shipped.
    pub fn pool(&self) -> Vec<T> {
        let mut pool = vec![T::default()];
        pool.extend(self.replicas.iter().cloned());
        pool.extend(self.deltas.iter().map(|d| (**d).clone()));
        pool.extend(self.shipped.iter().cloned());
        pool
    }
}

/// A random step, with single-delta (non-causal) delivery iff `singles`.
fn step<T: Replay>(singles: bool) -> BoxedStrategy<Step<T::Op>> {
    let r = 0..REPLICAS;
    let causal = prop_oneof![
        6 => (r.clone(), T::op()).prop_map(|(at, op)| Step::Do { at, op }),
        2 => (r.clone(), r.clone()).prop_map(|(from, to)| Step::State { from, to }),
        3 => (r.clone(), r.clone(), prop::bool::weighted(0.8))
            .prop_map(|(from, to, acked)| Step::Interval { from, to, acked }),
    ];
    if singles {
        prop_oneof![
            11 => causal,
            2 => (any::<Index>(), r).prop_map(|(delta, to)| Step::Single { delta, to }),
        ]
        .boxed()
    } else {
        causal.boxed()
    }
}

/// A random history of up to `max_len` steps, any delivery order.
pub fn history<T: Replay>(max_len: usize) -> impl Strategy<Value = Vec<Step<T::Op>>> {
    prop::collection::vec(step::<T>(true), 0..=max_len)
}

/// A random history of up to `max_len` steps with causal delivery only (full states and
/// delta-intervals), as the sync engine delivers.
pub fn causal_history<T: Replay>(max_len: usize) -> impl Strategy<Value = Vec<Step<T::Op>>> {
    prop::collection::vec(step::<T>(false), 0..=max_len)
}

/// Length of the histories the law strategies replay.
pub const HISTORY: usize = 40;

/// A value of a run's pool: half the time one of the replicas' states (the richest values), else
/// anything in the pool (bottom, a delta, a delta-group, a shipped state).
fn pick() -> impl Strategy<Value = (bool, Index)> {
    (any::<bool>(), any::<Index>())
}

fn picked<T: Replay>(run: &Run<T>, pool: &[T], (state, i): (bool, Index)) -> T {
    if state {
        run.replicas[i.index(REPLICAS)].clone()
    } else {
        pool[i.index(pool.len())].clone()
    }
}

/// `N` values drawn from the pool of one random history (so they share dots and replicas the way
/// real replicas do: related, concurrent, deltas of each other).
pub fn values<T: Replay, const N: usize>() -> impl Strategy<Value = [T; N]> {
    (history::<T>(HISTORY), [(); N].map(|()| pick())).prop_map(|(steps, picks)| {
        let run = Run::<T>::replay(&steps);
        let pool = run.pool();
        picks.map(|p| picked(&run, &pool, p))
    })
}

/// A mutation after a random history: `(x, m(x), mδ(x))`, where `x` is a replica's state (or,
/// one time in four, any value of the pool) and the mutation is performed by a random replica.
pub fn mutation<T: Replay>() -> impl Strategy<Value = (T, T, Delta<T>)> {
    (
        history::<T>(HISTORY),
        0..REPLICAS,
        any::<Index>(),
        prop::bool::weighted(0.25),
        T::op(),
    )
        .prop_map(|(steps, at, i, any_value, op)| {
            let mut run = Run::<T>::replay(&steps);
            if any_value {
                let pool = run.pool();
                run.replicas[at] = pool[i.index(pool.len())].clone();
            }
            let (before, delta, _) = run.perform(at, op);
            (before, run.replicas[at].clone(), delta)
        })
}
