//! The operations each type's histories are made of, over small domains (elements `0..8`, keys
//! `0..4`) so that replicas collide and concurrency happens.

use deltacrdt::{
    Causal, CausalCounter, Delta, Doc, DotStore, DwFlag, EwFlag, GCounter, GSet, Lattice, LwwMap,
    LwwRegister, MvRegister, OrMap, OrSet, PnCounter, ReplicaId, RwSet, Scalar, Stamp, Timestamp,
    Value,
};
use proptest::prelude::*;

use super::Replay;

/// Elements (and register values) are drawn from `0..DOMAIN`.
pub const DOMAIN: u8 = 8;
/// Map keys are drawn from `0..KEYS`.
pub const KEYS: u8 = 4;

fn element() -> impl Strategy<Value = u8> {
    0..DOMAIN
}

fn key() -> impl Strategy<Value = u8> {
    0..KEYS
}

fn amount() -> impl Strategy<Value = u64> {
    0..4u64
}

// ----- counters -----

/// An operation on a counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CounterOp {
    /// Add this amount.
    Increment(u64),
    /// Subtract this amount.
    Decrement(u64),
    /// Reset to zero (causal counter only).
    Reset,
}

impl CounterOp {
    /// The signed change.
    pub fn amount(self) -> i64 {
        match self {
            Self::Increment(n) => i64::try_from(n).unwrap(),
            Self::Decrement(n) => -i64::try_from(n).unwrap(),
            Self::Reset => 0,
        }
    }
}

impl Replay for GCounter {
    type Op = CounterOp;
    type Local = ();

    fn op() -> BoxedStrategy<CounterOp> {
        amount().prop_map(CounterOp::Increment).boxed()
    }

    fn perform(&mut self, (): &mut (), replica: ReplicaId, op: &mut CounterOp) -> Delta<Self> {
        match *op {
            CounterOp::Increment(n) => self.increment(replica, n),
            CounterOp::Decrement(_) | CounterOp::Reset => unreachable!("not generated"),
        }
    }
}

impl Replay for PnCounter {
    type Op = CounterOp;
    type Local = ();

    fn op() -> BoxedStrategy<CounterOp> {
        prop_oneof![
            amount().prop_map(CounterOp::Increment),
            amount().prop_map(CounterOp::Decrement)
        ]
        .boxed()
    }

    fn perform(&mut self, (): &mut (), replica: ReplicaId, op: &mut CounterOp) -> Delta<Self> {
        match *op {
            CounterOp::Increment(n) => self.increment(replica, n),
            CounterOp::Decrement(n) => self.decrement(replica, n),
            CounterOp::Reset => unreachable!("not generated"),
        }
    }
}

impl Replay for CausalCounter {
    type Op = CounterOp;
    type Local = ();

    fn op() -> BoxedStrategy<CounterOp> {
        prop_oneof![
            3 => amount().prop_map(CounterOp::Increment),
            2 => amount().prop_map(CounterOp::Decrement),
            1 => Just(CounterOp::Reset),
        ]
        .boxed()
    }

    fn perform(&mut self, (): &mut (), replica: ReplicaId, op: &mut CounterOp) -> Delta<Self> {
        match *op {
            CounterOp::Increment(n) => self.increment(replica, n),
            CounterOp::Decrement(n) => self.decrement(replica, n),
            CounterOp::Reset => self.reset(),
        }
    }
}

// ----- sets -----

/// An operation on a set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOp {
    /// Insert (add) an element.
    Insert(u8),
    /// Remove an element.
    Remove(u8),
    /// Remove every element (`OrSet` only).
    Clear,
}

impl Replay for GSet<u8> {
    type Op = SetOp;
    type Local = ();

    fn op() -> BoxedStrategy<SetOp> {
        element().prop_map(SetOp::Insert).boxed()
    }

    fn perform(&mut self, (): &mut (), _: ReplicaId, op: &mut SetOp) -> Delta<Self> {
        match *op {
            SetOp::Insert(e) => self.insert(e),
            SetOp::Remove(_) | SetOp::Clear => unreachable!("not generated"),
        }
    }
}

impl Replay for OrSet<u8> {
    type Op = SetOp;
    type Local = ();

    fn op() -> BoxedStrategy<SetOp> {
        prop_oneof![
            8 => element().prop_map(SetOp::Insert),
            4 => element().prop_map(SetOp::Remove),
            1 => Just(SetOp::Clear),
        ]
        .boxed()
    }

    fn perform(&mut self, (): &mut (), replica: ReplicaId, op: &mut SetOp) -> Delta<Self> {
        match *op {
            SetOp::Insert(e) => self.insert(replica, e),
            SetOp::Remove(e) => self.remove(&e),
            SetOp::Clear => self.clear(),
        }
    }
}

impl Replay for RwSet<u8> {
    type Op = SetOp;
    type Local = ();

    fn op() -> BoxedStrategy<SetOp> {
        prop_oneof![
            5 => element().prop_map(SetOp::Insert),
            3 => element().prop_map(SetOp::Remove),
        ]
        .boxed()
    }

    fn perform(&mut self, (): &mut (), replica: ReplicaId, op: &mut SetOp) -> Delta<Self> {
        match *op {
            SetOp::Insert(e) => self.insert(replica, e),
            SetOp::Remove(e) => self.remove(replica, e),
            SetOp::Clear => unreachable!("not generated"),
        }
    }
}

// ----- registers and flags -----

/// An operation on a multi-value register.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegisterOp {
    /// Write a value.
    Write(u8),
    /// Empty the register.
    Clear,
}

impl Replay for MvRegister<u8> {
    type Op = RegisterOp;
    type Local = ();

    fn op() -> BoxedStrategy<RegisterOp> {
        prop_oneof![5 => element().prop_map(RegisterOp::Write), 1 => Just(RegisterOp::Clear)]
            .boxed()
    }

    fn perform(&mut self, (): &mut (), replica: ReplicaId, op: &mut RegisterOp) -> Delta<Self> {
        match *op {
            RegisterOp::Write(v) => self.write(replica, v),
            RegisterOp::Clear => self.clear(),
        }
    }
}

/// A last-writer-wins write: `time` is the physical time the writer's clock read; `perform`
/// rewrites it to the timestamp actually issued (strictly increasing per replica, like an HLC).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LwwWrite {
    /// The value written.
    pub value: u8,
    /// The write's timestamp (raw `u64`).
    pub time: u64,
}

/// A replica's clock: the last timestamp it issued (raw `u64`).
#[derive(Clone, Copy, Debug, Default)]
pub struct Clock(pub u64);

impl Clock {
    /// Issues a timestamp for physical time `pt`: `max(pt, last + 1)`, so equal timestamps happen
    /// across replicas (ties broken by replica id) but never twice on one replica.
    pub fn issue(&mut self, pt: u64) -> u64 {
        self.0 = pt.max(self.0 + 1);
        self.0
    }

    /// The stamp `replica` writes with at physical time `*time`, rewriting `*time` to the
    /// timestamp issued.
    pub fn stamp(&mut self, replica: ReplicaId, time: &mut u64) -> Stamp {
        *time = self.issue(*time);
        Stamp {
            time: Timestamp::from_u64(*time),
            replica,
        }
    }
}

fn physical_time() -> impl Strategy<Value = u64> {
    0..12u64
}

impl Replay for LwwRegister<u8> {
    type Op = LwwWrite;
    type Local = Clock;

    fn op() -> BoxedStrategy<LwwWrite> {
        (element(), physical_time())
            .prop_map(|(value, time)| LwwWrite { value, time })
            .boxed()
    }

    fn perform(&mut self, clock: &mut Clock, replica: ReplicaId, op: &mut LwwWrite) -> Delta<Self> {
        let stamp = clock.stamp(replica, &mut op.time);
        self.write(op.value, stamp)
    }
}

/// A write or remove on an [`LwwMap`]: `time` as in [`LwwWrite`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LwwMapOp {
    /// The key written or removed.
    pub key: u8,
    /// The value written, or `None` for a remove.
    pub value: Option<u8>,
    /// The operation's timestamp (raw `u64`).
    pub time: u64,
    /// Whether it changed the replica's map (set by `perform`): a write or remove stamped
    /// before the key's current stamp, or a remove of a key the replica holds no value for,
    /// changes nothing and ships nothing.
    pub effective: bool,
}

impl Replay for LwwMap<u8, u8> {
    type Op = LwwMapOp;
    type Local = Clock;

    fn op() -> BoxedStrategy<LwwMapOp> {
        // 12 keys, not `KEYS`: maps past 8 keys change representation (a short vector becomes
        // a hash table), and both must obey the laws; keys still collide often.
        (
            0..12u8,
            prop::option::weighted(0.7, element()),
            physical_time(),
        )
            .prop_map(|(key, value, time)| LwwMapOp {
                key,
                value,
                time,
                effective: false,
            })
            .boxed()
    }

    fn perform(&mut self, clock: &mut Clock, replica: ReplicaId, op: &mut LwwMapOp) -> Delta<Self> {
        let stamp = clock.stamp(replica, &mut op.time);
        let delta = match op.value {
            Some(v) => self.insert(op.key, v, stamp),
            None => self.remove(&op.key, stamp),
        };
        op.effective = !delta.is_bottom();
        delta
    }
}

/// An operation on a flag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FlagOp {
    /// Turn on.
    Enable,
    /// Turn off.
    Disable,
}

fn flag_op() -> BoxedStrategy<FlagOp> {
    prop_oneof![Just(FlagOp::Enable), Just(FlagOp::Disable)].boxed()
}

impl Replay for EwFlag {
    type Op = FlagOp;
    type Local = ();

    fn op() -> BoxedStrategy<FlagOp> {
        flag_op()
    }

    fn perform(&mut self, (): &mut (), replica: ReplicaId, op: &mut FlagOp) -> Delta<Self> {
        match *op {
            FlagOp::Enable => self.enable(replica),
            FlagOp::Disable => self.disable(),
        }
    }
}

impl Replay for DwFlag {
    type Op = FlagOp;
    type Local = ();

    fn op() -> BoxedStrategy<FlagOp> {
        flag_op()
    }

    fn perform(&mut self, (): &mut (), replica: ReplicaId, op: &mut FlagOp) -> Delta<Self> {
        match *op {
            FlagOp::Enable => self.enable(replica),
            FlagOp::Disable => self.disable(replica),
        }
    }
}

// ----- maps -----

/// An operation on an `OrMap<u8, V>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapOp<Op> {
    /// Apply a nested operation to the value under a key (created if absent).
    Update(u8, Op),
    /// Remove a key.
    Remove(u8),
    /// Remove every key.
    Clear,
}

impl<V> Replay for OrMap<u8, V>
where
    V: Replay + Causal + DotStore,
    Self: Lattice,
{
    type Op = MapOp<V::Op>;
    type Local = V::Local;

    fn op() -> BoxedStrategy<Self::Op> {
        prop_oneof![
            10 => (key(), V::op()).prop_map(|(k, op)| MapOp::Update(k, op)),
            3 => key().prop_map(MapOp::Remove),
            1 => Just(MapOp::Clear),
        ]
        .boxed()
    }

    fn perform(
        &mut self,
        local: &mut V::Local,
        replica: ReplicaId,
        op: &mut Self::Op,
    ) -> Delta<Self> {
        match op {
            MapOp::Update(k, inner) => self.update(replica, *k, |v, r| v.perform(local, r, inner)),
            MapOp::Remove(k) => self.remove(k),
            MapOp::Clear => self.clear(),
        }
    }
}

// ----- documents -----

/// The field names of generated documents; `m` is also used as a nested map's name.
pub const NAMES: [&str; 3] = ["a", "b", "m"];

/// A document path: `[name]` at the root or `["m", name]` inside the map `m`.
pub fn doc_path() -> impl Strategy<Value = Vec<&'static str>> {
    prop_oneof![
        prop::sample::select(&NAMES[..]).prop_map(|n| vec![n]),
        prop::sample::select(&NAMES[..2]).prop_map(|n| vec!["m", n]),
    ]
}

/// An operation on a [`Doc`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DocOp {
    /// `increment(path, by)` on the counter at `path`.
    Increment(Vec<&'static str>, i64),
    /// `set(stamp, path, Int(value))` on the register at `path`; `time` as in [`LwwWrite`].
    Set(Vec<&'static str>, u8, u64),
    /// `insert(path, Int(element))` into the set at `path`.
    Insert(Vec<&'static str>, u8),
    /// `remove_element(path, Int(element))` from the set at `path`.
    RemoveElement(Vec<&'static str>, u8),
    /// `set_flag(path, on)`.
    SetFlag(Vec<&'static str>, bool),
    /// `delete(path)`: every field named by the last element, of any kind.
    Delete(Vec<&'static str>),
}

/// A document scalar for a small integer.
pub fn int(n: u8) -> Scalar {
    Scalar::Int(i64::from(n))
}

/// Set elements of documents are drawn from `0..DOC_DOMAIN`.
pub const DOC_DOMAIN: u8 = 4;

impl Replay for Doc {
    type Op = DocOp;
    type Local = Clock;

    fn op() -> BoxedStrategy<DocOp> {
        let small = || 0..DOC_DOMAIN;
        prop_oneof![
            2 => (doc_path(), -2..4i64).prop_map(|(p, by)| DocOp::Increment(p, by)),
            2 => (doc_path(), small(), physical_time()).prop_map(|(p, v, t)| DocOp::Set(p, v, t)),
            3 => (doc_path(), small()).prop_map(|(p, e)| DocOp::Insert(p, e)),
            2 => (doc_path(), small()).prop_map(|(p, e)| DocOp::RemoveElement(p, e)),
            2 => (doc_path(), any::<bool>()).prop_map(|(p, on)| DocOp::SetFlag(p, on)),
            2 => doc_path().prop_map(DocOp::Delete),
        ]
        .boxed()
    }

    fn perform(&mut self, clock: &mut Clock, replica: ReplicaId, op: &mut DocOp) -> Delta<Self> {
        let result = match op {
            DocOp::Increment(path, by) => self.increment(replica, path, *by),
            DocOp::Set(path, value, time) => {
                let stamp = clock.stamp(replica, time);
                self.set(stamp, path, Value::Scalar(int(*value)))
            }
            DocOp::Insert(path, e) => self.insert(replica, path, int(*e)),
            DocOp::RemoveElement(path, e) => self.remove_element(replica, path, &int(*e)),
            DocOp::SetFlag(path, on) => self.set_flag(replica, path, *on),
            DocOp::Delete(path) => self.delete(replica, path),
        };
        result.expect("generated paths are never empty")
    }
}
