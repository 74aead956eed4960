//! Semantics by an oracle (DESIGN §3, §9.3): random operation histories on three replicas with
//! random causal shipping (full states, delta-intervals, lost acks), where every operation is
//! logged with the set of operations its replica had seen. Each replica's final state, and the
//! common state after a full sync, must read exactly what the type's conflict rule says a replica
//! that has seen those operations reads.
//!
//! The specifications below are deliberately naive: sets of operation ids and "was `a` in the
//! causal past of `b`", nothing from the library's internals. Vocabulary: an operation `b`
//! **covers** `a` when `a` was in `b`'s causal past (`a ∈ seen(b)`); a **reset** is an outer
//! operation that removes a nested value (a map key's removal, a map's clear, a document delete).
//!
//! Every test runs 256 cases of up to 60 steps.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "tests"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;

use crate::support::*;
use deltacrdt::{
    CausalCounter, Doc, DwFlag, EwFlag, Field, GCounter, GSet, Kind, Lattice, LwwMap, LwwRegister,
    MvRegister, OrMap, OrSet, PnCounter, ReplicaId, RwSet, Scalar, Value,
};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

// ----- the specification's vocabulary -----

/// An operation on one (possibly nested) value, as its specification sees it.
#[derive(Clone, Debug)]
struct Event<'a, Op> {
    /// Global operation id (index in the log).
    id: usize,
    /// The replica that performed it.
    at: usize,
    /// What it did to this value.
    what: What<Op>,
    /// Its causal past: the ids of every operation its replica had seen.
    seen: &'a BTreeSet<usize>,
}

#[derive(Clone, Debug)]
enum What<Op> {
    /// One of the value's own operations.
    Op(Op),
    /// An outer removal of the whole value (key removal, map clear, document delete).
    Reset,
}

impl<'a, Op> Event<'a, Op> {
    /// The same event seen as `what` by a nested value.
    fn with<Nested>(&self, what: What<Nested>) -> Event<'a, Nested> {
        Event {
            id: self.id,
            at: self.at,
            what,
            seen: self.seen,
        }
    }
}

impl<Op> Event<'_, Op> {
    /// Whether `self` had `other` in its causal past.
    fn covers(&self, other: &Self) -> bool {
        self.seen.contains(&other.id)
    }

    fn op(&self) -> Option<&Op> {
        match &self.what {
            What::Op(op) => Some(op),
            What::Reset => None,
        }
    }

    fn is_reset(&self) -> bool {
        matches!(self.what, What::Reset)
    }
}

/// The events a replica that has seen `seen` has seen.
fn visible<'e, 'a, Op>(
    events: &'e [Event<'a, Op>],
    seen: &BTreeSet<usize>,
) -> Vec<&'e Event<'a, Op>> {
    events.iter().filter(|e| seen.contains(&e.id)).collect()
}

/// The events of `events` that no event of `by` matching `supersedes` covers.
fn uncovered<'e, 'a, Op>(
    events: &[&'e Event<'a, Op>],
    by: &[&'e Event<'a, Op>],
    supersedes: impl Fn(&Event<'a, Op>) -> bool,
) -> Vec<&'e Event<'a, Op>> {
    events
        .iter()
        .copied()
        .filter(|e| !by.iter().any(|b| supersedes(b) && b.covers(e)))
        .collect()
}

/// The top-level events of a run's log.
fn top_events<Op: Clone>(log: &[Logged<Op>]) -> Vec<Event<'_, Op>> {
    log.iter()
        .enumerate()
        .map(|(id, l)| Event {
            id,
            at: l.at,
            what: What::Op(l.op.clone()),
            seen: &l.seen,
        })
        .collect()
}

/// A type with a specification.
trait Spec: Replay {
    /// What the specification predicts, read from a value.
    type Reading: PartialEq + Debug;

    /// What the library's value reads.
    fn read(&self) -> Self::Reading;

    /// What a replica that has seen `seen` must read, given every event on the value; and
    /// whether the value then holds anything (a nested value that holds nothing is no map entry).
    fn spec(events: &[Event<'_, Self::Op>], seen: &BTreeSet<usize>) -> (Self::Reading, bool);
}

// ----- specifications -----

impl Spec for GCounter {
    type Reading = u64;

    fn read(&self) -> u64 {
        self.value()
    }

    /// The sum of the increments seen.
    fn spec(events: &[Event<'_, CounterOp>], seen: &BTreeSet<usize>) -> (u64, bool) {
        let sum: i64 = visible(events, seen)
            .iter()
            .filter_map(|e| e.op())
            .map(|op| op.amount())
            .sum();
        (u64::try_from(sum).unwrap(), sum != 0)
    }
}

impl Spec for PnCounter {
    type Reading = i64;

    fn read(&self) -> i64 {
        self.value()
    }

    /// The sum of the increments seen minus the sum of the decrements seen.
    fn spec(events: &[Event<'_, CounterOp>], seen: &BTreeSet<usize>) -> (i64, bool) {
        let sum = visible(events, seen)
            .iter()
            .filter_map(|e| e.op())
            .map(|op| op.amount())
            .sum();
        (sum, sum != 0)
    }
}

impl Spec for CausalCounter {
    type Reading = i64;

    fn read(&self) -> i64 {
        self.value()
    }

    /// Each replica's contribution is a running total: an update by replica `r` adds its amount to
    /// `r`'s contribution as `r` saw it, and supersedes it. A reset (or an outer reset) zeroes the
    /// contributions it observed; a contribution that a reset did not observe survives whole.
    /// The value is the sum of the surviving contributions.
    ///
    /// This is the causal counter of Almeida et al. (2018) as documented: note that an update
    /// concurrent with a reset carries its replica's *whole* running total, including the part
    /// the reset observed (inc 1 at A; B sees it and resets; A concurrently adds 0 → value 1).
    fn spec(events: &[Event<'_, CounterOp>], seen: &BTreeSet<usize>) -> (i64, bool) {
        let live = live_contributions(events, seen);
        (
            live.iter().map(|e| contribution(events, e)).sum(),
            !live.is_empty(),
        )
    }
}

/// The updates whose contribution survives for a replica that has seen `seen`: not covered by a
/// reset, an outer reset or a later update of the same replica.
fn live_contributions<'e, 'a>(
    events: &'e [Event<'a, CounterOp>],
    seen: &BTreeSet<usize>,
) -> Vec<&'e Event<'a, CounterOp>> {
    let vis = visible(events, seen);
    let updates: Vec<_> = vis
        .iter()
        .copied()
        .filter(|e| !matches!(e.what, What::Op(CounterOp::Reset) | What::Reset))
        .collect();
    updates
        .iter()
        .copied()
        .filter(|u| {
            !vis.iter().any(|b| {
                b.covers(u)
                    && (matches!(b.what, What::Op(CounterOp::Reset) | What::Reset) || b.at == u.at)
            })
        })
        .collect()
}

/// The running total an update wrote: its amount plus its replica's live contribution before it.
fn contribution(events: &[Event<'_, CounterOp>], update: &Event<'_, CounterOp>) -> i64 {
    let before: i64 = live_contributions(events, update.seen)
        .into_iter()
        .filter(|e| e.at == update.at)
        .map(|e| contribution(events, e))
        .sum();
    update.op().map_or(0, |op| op.amount()) + before
}

impl Spec for GSet<u8> {
    type Reading = BTreeSet<u8>;

    fn read(&self) -> BTreeSet<u8> {
        self.iter().copied().collect()
    }

    /// Every element inserted by an operation seen.
    fn spec(events: &[Event<'_, SetOp>], seen: &BTreeSet<usize>) -> (BTreeSet<u8>, bool) {
        let set: BTreeSet<u8> = visible(events, seen)
            .iter()
            .filter_map(|e| match e.op() {
                Some(SetOp::Insert(x)) => Some(*x),
                _ => None,
            })
            .collect();
        let any = !set.is_empty();
        (set, any)
    }
}

impl Spec for OrSet<u8> {
    type Reading = BTreeSet<u8>;

    fn read(&self) -> BTreeSet<u8> {
        self.iter().copied().collect()
    }

    /// Add-wins: `x` is present iff some seen add of `x` is not covered by a seen remove of `x`
    /// (a `remove(x)`, a `clear` or an outer reset).
    fn spec(events: &[Event<'_, SetOp>], seen: &BTreeSet<usize>) -> (BTreeSet<u8>, bool) {
        let vis = visible(events, seen);
        let set: BTreeSet<u8> = (0..DOMAIN)
            .filter(|&x| {
                let adds: Vec<_> = vis
                    .iter()
                    .copied()
                    .filter(|e| e.op() == Some(&SetOp::Insert(x)))
                    .collect();
                let removes_x = |e: &Event<'_, SetOp>| {
                    e.is_reset()
                        || matches!(e.op(), Some(SetOp::Clear))
                        || e.op() == Some(&SetOp::Remove(x))
                };
                !uncovered(&adds, &vis, removes_x).is_empty()
            })
            .collect();
        let any = !set.is_empty();
        (set, any)
    }
}

impl Spec for RwSet<u8> {
    type Reading = BTreeSet<u8>;

    fn read(&self) -> BTreeSet<u8> {
        self.iter().copied().collect()
    }

    /// Remove-wins: among the causally maximal seen operations on `x` (those no seen operation on
    /// `x`, or outer reset, covers), there is at least one and all are adds. A removal leaves a
    /// maximal remove behind, so the value holds something while any element has one.
    fn spec(events: &[Event<'_, SetOp>], seen: &BTreeSet<usize>) -> (BTreeSet<u8>, bool) {
        let vis = visible(events, seen);
        let mut any = false;
        let set = (0..DOMAIN)
            .filter(|&x| {
                let on_x = |e: &Event<'_, SetOp>| matches!(e.op(), Some(SetOp::Insert(y) | SetOp::Remove(y)) if *y == x);
                let ops: Vec<_> = vis.iter().copied().filter(|e| on_x(e)).collect();
                let maximal = uncovered(&ops, &vis, |b| on_x(b) || b.is_reset());
                any |= !maximal.is_empty();
                !maximal.is_empty() && maximal.iter().all(|e| matches!(e.op(), Some(SetOp::Insert(_))))
            })
            .collect();
        (set, any)
    }
}

impl Spec for MvRegister<u8> {
    type Reading = Vec<u8>;

    fn read(&self) -> Vec<u8> {
        let mut values: Vec<u8> = self.values().copied().collect();
        values.sort_unstable();
        values
    }

    /// The values of the causally maximal seen writes: writes no seen write, clear or outer reset
    /// covers (concurrent writes of one value are each kept).
    fn spec(events: &[Event<'_, RegisterOp>], seen: &BTreeSet<usize>) -> (Vec<u8>, bool) {
        let vis = visible(events, seen);
        let writes: Vec<_> = vis
            .iter()
            .copied()
            .filter(|e| matches!(e.op(), Some(RegisterOp::Write(_))))
            .collect();
        let mut values: Vec<u8> = uncovered(&writes, &vis, |_| true)
            .iter()
            .filter_map(|e| match e.op() {
                Some(RegisterOp::Write(v)) => Some(*v),
                _ => None,
            })
            .collect();
        values.sort_unstable();
        let any = !values.is_empty();
        (values, any)
    }
}

impl Spec for LwwRegister<u8> {
    type Reading = Option<(u64, u8)>;

    fn read(&self) -> Option<(u64, u8)> {
        Some((self.stamp()?.time.as_u64(), *self.value()?))
    }

    /// The value of the seen write with the greatest `(timestamp, replica)` stamp.
    fn spec(events: &[Event<'_, LwwWrite>], seen: &BTreeSet<usize>) -> (Option<(u64, u8)>, bool) {
        let last = visible(events, seen)
            .iter()
            .filter_map(|e| Some((e.op()?.time, replica(e.at), e.op()?.value)))
            .max_by_key(|&(time, r, _)| (time, r));
        (last.map(|(t, _, v)| (t, v)), last.is_some())
    }
}

impl Spec for LwwMap<u8, u8> {
    type Reading = BTreeMap<u8, (u64, u8)>;

    fn read(&self) -> Self::Reading {
        self.iter()
            .map(|(&k, &v)| (k, (self.stamp(&k).unwrap().time.as_u64(), v)))
            .collect()
    }

    /// Per key, the seen write or remove that changed its replica's map with the greatest
    /// `(timestamp, replica)` stamp; the key holds a value iff that one is a write.
    fn spec(events: &[Event<'_, LwwMapOp>], seen: &BTreeSet<usize>) -> (Self::Reading, bool) {
        let mut last: BTreeMap<u8, (u64, ReplicaId, Option<u8>)> = BTreeMap::new();
        for e in visible(events, seen) {
            let Some(op) = e.op().filter(|op| op.effective) else {
                continue;
            };
            let this = (op.time, replica(e.at), op.value);
            let slot = last.entry(op.key).or_insert(this);
            if (this.0, this.1) > (slot.0, slot.1) {
                *slot = this;
            }
        }
        let reading: Self::Reading = last
            .into_iter()
            .filter_map(|(k, (t, _, v))| Some((k, (t, v?))))
            .collect();
        let any = !reading.is_empty();
        (reading, any)
    }
}

impl Spec for EwFlag {
    type Reading = bool;

    fn read(&self) -> bool {
        self.value()
    }

    /// Enable-wins: on iff some causally maximal seen operation is an enable (an enable no seen
    /// enable, disable or outer reset covers).
    fn spec(events: &[Event<'_, FlagOp>], seen: &BTreeSet<usize>) -> (bool, bool) {
        let vis = visible(events, seen);
        let on = uncovered(&vis, &vis, |_| true)
            .iter()
            .any(|e| e.op() == Some(&FlagOp::Enable));
        (on, on)
    }
}

impl Spec for DwFlag {
    type Reading = bool;

    fn read(&self) -> bool {
        self.value()
    }

    /// Disable-wins: on iff the causally maximal seen enables and disables (not covered by an
    /// outer reset) exist and are all enables.
    fn spec(events: &[Event<'_, FlagOp>], seen: &BTreeSet<usize>) -> (bool, bool) {
        let vis = visible(events, seen);
        let ops: Vec<_> = vis.iter().copied().filter(|e| !e.is_reset()).collect();
        let maximal = uncovered(&ops, &vis, |_| true);
        let on = !maximal.is_empty() && maximal.iter().all(|e| e.op() == Some(&FlagOp::Enable));
        (on, !maximal.is_empty())
    }
}

impl<V> Spec for OrMap<u8, V>
where
    V: Spec + deltacrdt::Causal + deltacrdt::DotStore,
    Self: Lattice,
{
    type Reading = BTreeMap<u8, V::Reading>;

    fn read(&self) -> Self::Reading {
        self.iter().map(|(k, v)| (*k, v.read())).collect()
    }

    /// Update-wins: the value under `k` follows its own specification over the updates of `k`,
    /// with every removal of `k` (and clear of the map, and outer reset) resetting it: so an update
    /// not covered by a removal survives. `k` is present iff its value then holds something.
    fn spec(events: &[Event<'_, MapOp<V::Op>>], seen: &BTreeSet<usize>) -> (Self::Reading, bool) {
        let map: BTreeMap<u8, V::Reading> = (0..KEYS)
            .filter_map(|k| {
                let nested: Vec<Event<'_, V::Op>> = events
                    .iter()
                    .filter_map(|e| {
                        let what = match &e.what {
                            What::Op(MapOp::Update(j, op)) if *j == k => What::Op(op.clone()),
                            What::Op(MapOp::Remove(j)) if *j == k => What::Reset,
                            What::Op(MapOp::Clear) | What::Reset => What::Reset,
                            What::Op(_) => return None,
                        };
                        Some(e.with(what))
                    })
                    .collect();
                let (reading, present) = V::spec(&nested, seen);
                present.then_some((k, reading))
            })
            .collect();
        let any = !map.is_empty();
        (map, any)
    }
}

// ----- documents -----

/// What one document field reads.
#[derive(Clone, Debug, PartialEq, Eq)]
enum FieldReading {
    Counter(i64),
    /// Every surviving write `(time, replica, value)`, sorted, and the winning value.
    Register(Vec<(u64, ReplicaId, u8)>, u8),
    Set(BTreeSet<u8>),
    Flag(bool),
    /// The number of fields in the map.
    Map(usize),
}

const KINDS: [Kind; 4] = [Kind::Counter, Kind::Register, Kind::Set, Kind::Flag];

/// Every field a generated document can hold: `(path, kind)` for leaf fields at the paths of
/// [`doc_path`], and the map `m`.
fn doc_fields() -> Vec<(Vec<&'static str>, Kind)> {
    let mut fields = Vec::new();
    for name in NAMES {
        fields.extend(KINDS.map(|k| (vec![name], k)));
    }
    for name in &NAMES[..2] {
        fields.extend(KINDS.map(|k| (vec!["m", *name], k)));
    }
    fields.push((vec!["m"], Kind::Map));
    fields
}

fn unint(v: &Value) -> u8 {
    match v {
        Value::Scalar(Scalar::Int(i)) => u8::try_from(*i).unwrap(),
        other => panic!("unexpected register value {other:?}"),
    }
}

impl Spec for Doc {
    type Reading = BTreeMap<(Vec<&'static str>, Kind), FieldReading>;

    /// Reads every possible field through the document's public accessors.
    fn read(&self) -> Self::Reading {
        let mut out = BTreeMap::new();
        for (path, kind) in doc_fields() {
            let Some(field) = self.field(&path, kind) else {
                continue;
            };
            let reading = match (kind, field) {
                (Kind::Counter, _) => FieldReading::Counter(self.counter(&path)),
                (Kind::Register, _) => {
                    let reg = self.register_writes(&path).unwrap();
                    let mut writes: Vec<_> = reg
                        .values()
                        .map(|(s, v)| (s.time.as_u64(), s.replica, unint(v)))
                        .collect();
                    writes.sort_unstable();
                    FieldReading::Register(writes, unint(self.register(&path).unwrap()))
                }
                (Kind::Set, _) => {
                    let set = self.set_at(&path).unwrap();
                    FieldReading::Set(
                        set.iter()
                            .map(|e| unint(&Value::Scalar(e.clone())))
                            .collect(),
                    )
                }
                (Kind::Flag, _) => FieldReading::Flag(self.flag(&path)),
                (Kind::Map, Field::Map(m)) => FieldReading::Map(m.len()),
                (kind, field) => panic!("a {kind:?} key holds {field:?}"),
            };
            out.insert((path, kind), reading);
        }
        // Nothing outside the fields the operations can address.
        let at_root = out.keys().filter(|(p, _)| p.len() == 1).count();
        assert_eq!(
            self.root().len(),
            at_root,
            "unexpected root fields: {:?}",
            self.root()
        );
        out
    }

    /// Each field follows its kind's specification over the operations on exactly its path and
    /// kind: counters are causal counters, registers keep their causally maximal writes and read
    /// the greatest stamp among them, sets are add-wins, flags enable-wins. `delete(path)` resets
    /// every field under that name, of any kind, and everything nested in it. A field is present
    /// iff it holds something; the map `m` iff one of its fields is present.
    fn spec(events: &[Event<'_, DocOp>], seen: &BTreeSet<usize>) -> (Self::Reading, bool) {
        let mut out = BTreeMap::new();
        let mut in_map = 0;
        for (path, kind) in doc_fields() {
            if kind == Kind::Map {
                if in_map > 0 {
                    out.insert((path, kind), FieldReading::Map(in_map));
                }
                continue;
            }
            let on = |p: &Vec<&str>| *p == path;
            let deletes = |d: &Vec<&str>| path.starts_with(d);
            let nested = |op: &DocOp| -> Option<What<DocOp>> {
                let here = match (op, kind) {
                    (DocOp::Delete(d), _) if deletes(d) => return Some(What::Reset),
                    (DocOp::Increment(p, _), Kind::Counter)
                    | (DocOp::Set(p, ..), Kind::Register)
                    | (DocOp::Insert(p, _) | DocOp::RemoveElement(p, _), Kind::Set)
                    | (DocOp::SetFlag(p, _), Kind::Flag) => on(p),
                    _ => false,
                };
                here.then(|| What::Op(op.clone()))
            };
            let field: Vec<Event<'_, DocOp>> = events
                .iter()
                .filter_map(|e| Some(e.with(nested(e.op()?)?)))
                .collect();
            let reading = match kind {
                Kind::Counter => {
                    let ev: Vec<_> = field.iter().map(|e| e.with(counter_op(&e.what))).collect();
                    let (value, present) = CausalCounter::spec(&ev, seen);
                    present.then_some(FieldReading::Counter(value))
                }
                Kind::Register => {
                    let vis = visible(&field, seen);
                    let writes: Vec<_> = vis.iter().copied().filter(|e| !e.is_reset()).collect();
                    let mut alive: Vec<(u64, ReplicaId, u8)> = uncovered(&writes, &vis, |_| true)
                        .iter()
                        .filter_map(|e| match e.op() {
                            Some(DocOp::Set(_, v, t)) => Some((*t, replica(e.at), *v)),
                            _ => None,
                        })
                        .collect();
                    alive.sort_unstable();
                    alive
                        .last()
                        .map(|&(_, _, v)| FieldReading::Register(alive.clone(), v))
                }
                Kind::Set => {
                    let ev: Vec<_> = field.iter().map(|e| e.with(set_op(&e.what))).collect();
                    let (set, present) = OrSet::<u8>::spec(&ev, seen);
                    present.then_some(FieldReading::Set(set))
                }
                Kind::Flag => {
                    let ev: Vec<_> = field.iter().map(|e| e.with(flag_op(&e.what))).collect();
                    let (on, present) = EwFlag::spec(&ev, seen);
                    present.then_some(FieldReading::Flag(on))
                }
                Kind::Map => unreachable!(),
            };
            if let Some(r) = reading {
                if path.len() == 2 {
                    in_map += 1;
                }
                out.insert((path, kind), r);
            }
        }
        let any = !out.is_empty();
        (out, any)
    }
}

fn counter_op(what: &What<DocOp>) -> What<CounterOp> {
    match what {
        What::Op(DocOp::Increment(_, by)) if *by >= 0 => {
            What::Op(CounterOp::Increment(by.unsigned_abs()))
        }
        What::Op(DocOp::Increment(_, by)) => What::Op(CounterOp::Decrement(by.unsigned_abs())),
        _ => What::Reset,
    }
}

fn set_op(what: &What<DocOp>) -> What<SetOp> {
    match what {
        What::Op(DocOp::Insert(_, e)) => What::Op(SetOp::Insert(*e)),
        What::Op(DocOp::RemoveElement(_, e)) => What::Op(SetOp::Remove(*e)),
        _ => What::Reset,
    }
}

fn flag_op(what: &What<DocOp>) -> What<FlagOp> {
    match what {
        What::Op(DocOp::SetFlag(_, true)) => What::Op(FlagOp::Enable),
        What::Op(DocOp::SetFlag(_, false)) => What::Op(FlagOp::Disable),
        _ => What::Reset,
    }
}

// ----- the check -----

/// Replays `steps` (causal delivery only) and checks every replica, then the state all replicas
/// reach after a full sync, against the specification. Also checks that a replica's state is
/// exactly the join of the deltas of the operations it has seen.
fn check<T: Spec>(steps: &[Step<T::Op>]) -> Result<(), TestCaseError> {
    let mut run = Run::<T>::replay(steps);
    prop_assert!(!run.non_causal);
    let log = run.log.clone();
    let events = top_events(&log);
    // Semantics first (so a representation bug found below does not hide a semantic one).
    for (i, state) in run.replicas.iter().enumerate() {
        let seen = &run.seen[i];
        prop_assert_eq!(
            state.read(),
            T::spec(&events, seen).0,
            "replica {} (seen {:?}) disagrees with the specification",
            i,
            seen
        );
    }
    for (i, state) in run.replicas.iter().enumerate() {
        let rebuilt = run.seen[i].iter().fold(T::default(), |acc, &id| {
            acc.joined((*run.deltas[id]).clone())
        });
        prop_assert_eq!(
            &rebuilt,
            state,
            "replica {} is not the join of the deltas it has seen",
            i
        );
    }
    let all: BTreeSet<usize> = (0..run.log.len()).collect();
    let state = run.sync_all();
    let expected = T::spec(&events, &all).0;
    for (i, other) in run.replicas.iter().enumerate() {
        prop_assert_eq!(&run.seen[i], &all);
        prop_assert_eq!(
            &other.read(),
            &expected,
            "replica {} disagrees with the specification after a full sync",
            i
        );
    }
    for (i, other) in run.replicas.iter().enumerate() {
        prop_assert_eq!(other, &state, "replica {} did not converge", i);
    }
    Ok(())
}

/// Length of the oracle's histories.
const STEPS: usize = 60;

macro_rules! oracle {
    ($($name:ident: $ty:ty;)*) => {
        proptest! {
            #![proptest_config(config(256))]
            $(
                #[test]
                fn $name(steps in causal_history::<$ty>(STEPS)) {
                    check::<$ty>(&steps)?;
                }
            )*
        }
    };
}

oracle! {
    g_counter_sums_seen_increments: GCounter;
    pn_counter_sums_seen_increments_and_decrements: PnCounter;
    causal_counter_sums_surviving_contributions: CausalCounter;
    g_set_is_the_union_of_seen_inserts: GSet<u8>;
    or_set_add_wins: OrSet<u8>;
    rw_set_remove_wins: RwSet<u8>;
    mv_register_keeps_concurrent_writes: MvRegister<u8>;
    lww_register_greatest_stamp_wins: LwwRegister<u8>;
    lww_map_greatest_stamp_per_key_wins: LwwMap<u8, u8>;
    ew_flag_enable_wins: EwFlag;
    dw_flag_disable_wins: DwFlag;
    or_map_of_or_sets_update_wins: OrMap<u8, OrSet<u8>>;
    or_map_of_rw_sets_update_wins: OrMap<u8, RwSet<u8>>;
    or_map_of_mv_registers_update_wins: OrMap<u8, MvRegister<u8>>;
    or_map_of_causal_counters_update_wins: OrMap<u8, CausalCounter>;
    or_map_of_ew_flags_update_wins: OrMap<u8, EwFlag>;
    or_map_of_dw_flags_update_wins: OrMap<u8, DwFlag>;
    nested_or_map_update_wins: OrMap<u8, OrMap<u8, MvRegister<u8>>>;
    doc_fields_follow_their_kinds: Doc;
}
