//! The dot-index law: every causal store that can hold many dots keeps an index from each dot it
//! holds to where it lives, and after **every** operation of a random history — inserts,
//! removes, clears, nested map edits, joins of states, of deltas and of delta-groups, each as it
//! is in memory or decoded from bytes — that index equals one rebuilt from scratch
//! (`index_is_exact`), in the replicas and in every delta and group they exchange.
//!
//! Sets use elements `0..32`, and one map keys `0..16`, so they grow past the size below which a
//! store keeps no index and scans instead (both regimes are exercised, and the moves between
//! them); the other map and the documents stay small.
#![allow(clippy::indexing_slicing, reason = "tests")]

use deltacrdt::{Delta, Doc, OrMap, OrSet, ReplicaId};
use proptest::prelude::*;
use proptest::sample::Index;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::support::{Replay, config, decoded, replica};

/// Replicas in a history.
const REPLICAS: usize = 3;

/// An operation on a wide set (elements `0..32`).
#[derive(Clone, Copy, Debug)]
#[allow(unreachable_pub, reason = "a `Replay` impl's `Op` must be public")]
pub enum WideOp {
    Insert(u16),
    Remove(u16),
    Clear,
}

impl Replay for OrSet<u16> {
    type Op = WideOp;
    type Local = ();

    fn op() -> BoxedStrategy<WideOp> {
        prop_oneof![
            8 => (0..32u16).prop_map(WideOp::Insert),
            5 => (0..32u16).prop_map(WideOp::Remove),
            1 => Just(WideOp::Clear),
        ]
        .boxed()
    }

    fn perform(&mut self, (): &mut (), replica: ReplicaId, op: &mut WideOp) -> Delta<Self> {
        match *op {
            WideOp::Insert(e) => self.insert(replica, e),
            WideOp::Remove(e) => self.remove(&e),
            WideOp::Clear => self.clear(),
        }
    }
}

/// An operation on a wide map (keys `0..16`, so it grows past the size below which a map keeps
/// no index).
#[derive(Clone, Copy, Debug)]
#[allow(unreachable_pub, reason = "a `Replay` impl's `Op` must be public")]
pub enum WideMapOp {
    Update(u16, WideOp),
    Remove(u16),
    Clear,
}

impl Replay for OrMap<u16, OrSet<u16>> {
    type Op = WideMapOp;
    type Local = ();

    fn op() -> BoxedStrategy<WideMapOp> {
        prop_oneof![
            10 => (0..16u16, OrSet::<u16>::op()).prop_map(|(k, op)| WideMapOp::Update(k, op)),
            3 => (0..16u16).prop_map(WideMapOp::Remove),
            1 => Just(WideMapOp::Clear),
        ]
        .boxed()
    }

    fn perform(&mut self, (): &mut (), replica: ReplicaId, op: &mut WideMapOp) -> Delta<Self> {
        match *op {
            WideMapOp::Update(k, mut inner) => {
                self.update(replica, k, |v, r| v.perform(&mut (), r, &mut inner))
            }
            WideMapOp::Remove(k) => self.remove(&k),
            WideMapOp::Clear => self.clear(),
        }
    }
}

/// The hook under test, for each type.
trait Exact {
    fn exact(&self) -> bool;
}

impl Exact for OrSet<u16> {
    fn exact(&self) -> bool {
        self.index_is_exact()
    }
}

impl Exact for OrMap<u8, OrSet<u16>> {
    fn exact(&self) -> bool {
        self.index_is_exact()
    }
}

impl Exact for OrMap<u16, OrSet<u16>> {
    fn exact(&self) -> bool {
        self.index_is_exact()
    }
}

impl Exact for Doc {
    fn exact(&self) -> bool {
        self.index_is_exact()
    }
}

/// One step of an index history.
#[derive(Clone, Debug)]
enum Step<Op> {
    /// Replica `at` performs `op`.
    Do { at: usize, op: Op },
    /// `to` joins `from`'s state (as bytes if `bytes`).
    State { from: usize, to: usize, bytes: bool },
    /// `to` joins a delta made so far (as bytes if `bytes`).
    Delta { pick: Index, to: usize, bytes: bool },
    /// `to` joins the group of two deltas made so far (as bytes if `bytes`).
    Group {
        a: Index,
        b: Index,
        to: usize,
        bytes: bool,
    },
}

fn steps<T: Replay>() -> impl Strategy<Value = Vec<Step<T::Op>>> {
    let r = || 0..REPLICAS;
    let step = prop_oneof![
        8 => (r(), T::op()).prop_map(|(at, op)| Step::Do { at, op }),
        2 => (r(), r(), any::<bool>()).prop_map(|(from, to, bytes)| Step::State { from, to, bytes }),
        4 => (any::<Index>(), r(), any::<bool>())
            .prop_map(|(pick, to, bytes)| Step::Delta { pick, to, bytes }),
        2 => (any::<Index>(), any::<Index>(), r(), any::<bool>())
            .prop_map(|(a, b, to, bytes)| Step::Group { a, b, to, bytes }),
    ];
    prop::collection::vec(step, 0..=60)
}

/// `x` as it is, or as a peer decodes it.
fn shipped<T: Serialize + DeserializeOwned + Clone>(
    x: &T,
    bytes: bool,
) -> Result<T, TestCaseError> {
    if bytes { decoded(x) } else { Ok(x.clone()) }
}

/// Replays `steps`, checking every index after every step.
fn index_stays_exact<T>(steps: Vec<Step<T::Op>>) -> Result<(), TestCaseError>
where
    T: Replay + Exact + Serialize + DeserializeOwned,
{
    let mut xs = vec![T::default(); REPLICAS];
    let mut locals = vec![T::Local::default(); REPLICAS];
    let mut deltas: Vec<T> = Vec::new();
    for (n, step) in steps.into_iter().enumerate() {
        let incoming = match step {
            Step::Do { at, mut op } => {
                let d = xs[at].perform(&mut locals[at], replica(at), &mut op);
                deltas.push(d.into_inner());
                None
            }
            Step::State { from, to, bytes } => Some((to, shipped(&xs[from], bytes)?)),
            Step::Delta { .. } | Step::Group { .. } if deltas.is_empty() => None,
            Step::Delta { pick, to, bytes } => {
                Some((to, shipped(&deltas[pick.index(deltas.len())], bytes)?))
            }
            Step::Group { a, b, to, bytes } => {
                let mut g = shipped(&deltas[a.index(deltas.len())], bytes)?;
                g.join_delta_group(shipped(&deltas[b.index(deltas.len())], bytes)?);
                prop_assert!(g.exact(), "step {}: a group's index is stale", n);
                Some((to, g))
            }
        };
        if let Some((to, value)) = incoming {
            prop_assert!(
                value.exact(),
                "step {}: a shipped value's index is stale",
                n
            );
            xs[to].join(value);
        }
        if let Some(d) = deltas.last() {
            prop_assert!(d.exact(), "step {}: a delta's index is stale", n);
        }
        for (i, x) in xs.iter().enumerate() {
            prop_assert!(
                x.exact(),
                "step {}: replica {}'s index is stale: {:?}",
                n,
                i,
                x
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn or_set_index_stays_exact(s in steps::<OrSet<u16>>()) {
        index_stays_exact::<OrSet<u16>>(s)?;
    }

    #[test]
    fn or_map_of_or_sets_index_stays_exact(s in steps::<OrMap<u8, OrSet<u16>>>()) {
        index_stays_exact::<OrMap<u8, OrSet<u16>>>(s)?;
    }

    #[test]
    fn wide_or_map_of_or_sets_index_stays_exact(s in steps::<OrMap<u16, OrSet<u16>>>()) {
        index_stays_exact::<OrMap<u16, OrSet<u16>>>(s)?;
    }

    #[test]
    fn doc_index_stays_exact(s in steps::<Doc>()) {
        index_stays_exact::<Doc>(s)?;
    }
}
