//! A document field: one dynamically typed causal value, keyed by (name, kind).

use core::mem;
use core::ops::ControlFlow;

use crate::causal::context::Seen;
use crate::causal::dot::{ActorMap, LocalDot};
use crate::causal::dot_store::{CausalParts, JoinMode, SEAL, Seal, StoreOps};
use crate::causal::{Causal, DotStore};
use crate::causal::{CausalContext, InvalidContext};
use crate::clock::Stamp;
use crate::crdt::{CausalCounter, EwFlag, MvRegister, OrMap, OrSet};

use super::{Scalar, Value};

/// The type of a document field. Fields are keyed by name **and** kind, so two replicas using the
/// same name with different kinds create two fields instead of a conflict.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Kind {
    /// A [`CausalCounter`].
    Counter,
    /// A last-writer-wins register of a [`Value`].
    Register,
    /// An add-wins set of [`Scalar`]s.
    Set,
    /// An enable-wins flag.
    Flag,
    /// A nested map of fields.
    Map,
}

impl Kind {
    /// The lower-case name used when rendering.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Counter => "counter",
            Self::Register => "register",
            Self::Set => "set",
            Self::Flag => "flag",
            Self::Map => "map",
        }
    }
}

/// The key of a field in a document map: its name and its kind.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct FieldKey {
    /// The field's name.
    pub name: String,
    /// The field's kind.
    pub kind: Kind,
}

/// A register of a document: concurrent writes are kept, the one with the greatest HLC stamp
/// (ties broken by replica id) is the value.
pub type Register = MvRegister<(Stamp, Value)>;

/// One field of a [`Doc`](super::Doc): a causal value of the kind its key names.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Field {
    /// A counter.
    Counter(CausalCounter),
    /// A last-writer-wins register.
    Register(Register),
    /// An add-wins set of scalars.
    Set(OrSet<Scalar>),
    /// An enable-wins flag.
    Flag(EwFlag),
    /// A nested map.
    Map(OrMap<FieldKey, Field>),
}

impl Default for Field {
    fn default() -> Self {
        Self::Flag(EwFlag::default())
    }
}

/// Calls `$body` with `$v` bound to the causal value inside `$field`, whatever its variant.
macro_rules! each {
    ($field:expr, $v:ident => $body:expr) => {
        match $field {
            Field::Counter($v) => $body,
            Field::Register($v) => $body,
            Field::Set($v) => $body,
            Field::Flag($v) => $body,
            Field::Map($v) => $body,
        }
    };
}

impl Field {
    /// The field's kind.
    #[must_use]
    pub const fn kind(&self) -> Kind {
        match self {
            Self::Counter(_) => Kind::Counter,
            Self::Register(_) => Kind::Register,
            Self::Set(_) => Kind::Set,
            Self::Flag(_) => Kind::Flag,
            Self::Map(_) => Kind::Map,
        }
    }

    fn empty(kind: Kind) -> Self {
        match kind {
            Kind::Counter => Self::Counter(CausalCounter::default()),
            Kind::Register => Self::Register(Register::default()),
            Kind::Set => Self::Set(OrSet::default()),
            Kind::Flag => Self::Flag(EwFlag::default()),
            Kind::Map => Self::Map(OrMap::default()),
        }
    }

    /// Turns an empty field of another kind into an empty one of `kind`, keeping its context.
    pub(crate) fn ensure(&mut self, kind: Kind) {
        if self.kind() != kind {
            let ctx = mem::take(self.context_mut(SEAL));
            *self = Self::empty(kind);
            *self.context_mut(SEAL) = ctx;
        }
    }

    /// The register's current value: the write with the greatest stamp.
    #[must_use]
    pub fn register_value(register: &Register) -> Option<&Value> {
        register
            .values()
            .max_by_key(|(stamp, _)| *stamp)
            .map(|(_, v)| v)
    }
}

impl PartialEq for Field {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Counter(a), Self::Counter(b)) => a == b,
            (Self::Register(a), Self::Register(b)) => a == b,
            (Self::Set(a), Self::Set(b)) => a == b,
            (Self::Flag(a), Self::Flag(b)) => a == b,
            (Self::Map(a), Self::Map(b)) => a == b,
            _ => false,
        }
    }
}

impl Causal for Field {
    fn context(&self) -> &CausalContext {
        each!(self, v => v.context())
    }
}

impl CausalParts for Field {
    type Store = Self;

    fn from_parts(mut store: Self, ctx: CausalContext, _: Seal) -> Self {
        *store.context_mut(SEAL) = ctx;
        store
    }

    fn into_parts(mut self) -> (Self, CausalContext) {
        let ctx = mem::take(self.context_mut(SEAL));
        (self, ctx)
    }

    fn store(&self) -> &Self {
        self
    }

    fn store_mut(&mut self, _: Seal) -> &mut Self {
        self
    }

    fn context_mut(&mut self, _: Seal) -> &mut CausalContext {
        each!(self, v => v.context_mut(SEAL))
    }
}

impl DotStore for Field {}

impl crate::causal::dot_store::StoreOps for Field {
    crate::causal::dot_store::wire_is_self!();

    fn is_bottom(&self) -> bool {
        each!(self, v => StoreOps::is_bottom(v))
    }

    #[cfg(feature = "reconcile")]
    fn for_each_dot_digest(&self, f: &mut dyn FnMut(LocalDot, u64)) {
        each!(self, v => v.for_each_dot_digest(f));
    }

    fn try_for_each_dot(&self, f: &mut dyn FnMut(LocalDot) -> ControlFlow<()>) -> ControlFlow<()> {
        each!(self, v => v.try_for_each_dot(f))
    }

    fn remap(&mut self, map: &ActorMap, _: Seal) {
        each!(self, v => v.remap(map, SEAL));
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(LocalDot) -> bool, _: Seal) {
        each!(self, v => v.retain_dots(keep, SEAL));
    }

    fn join_store(&mut self, ours: &Seen<'_>, other: Self, theirs: &Seen<'_>, mode: JoinMode) {
        match (self, other) {
            (Self::Counter(a), Self::Counter(b)) => a.join_store(ours, b, theirs, mode),
            (Self::Register(a), Self::Register(b)) => a.join_store(ours, b, theirs, mode),
            (Self::Set(a), Self::Set(b)) => a.join_store(ours, b, theirs, mode),
            (Self::Flag(a), Self::Flag(b)) => a.join_store(ours, b, theirs, mode),
            (Self::Map(a), Self::Map(b)) => a.join_store(ours, b, theirs, mode),
            // A key missing on one side is joined as a default (bottom) field, whose kind is
            // arbitrary: a bottom field of any kind is the bottom of every kind. Kinds of two
            // non-bottom fields differ only under a key of the wrong kind, which validation
            // rejects; then ours is kept.
            (mine, other) if StoreOps::is_bottom(&other) => {
                let empty = Self::empty(mine.kind());
                mine.join_store(ours, empty, theirs, mode);
            }
            (mine, other) => {
                if StoreOps::is_bottom(mine) {
                    *mine = Self::empty(other.kind());
                    mine.join_store(ours, other, theirs, mode);
                }
            }
        }
    }

    fn holds(&self, dot: LocalDot) -> bool {
        each!(self, v => v.holds(dot))
    }

    fn dot_count(&self) -> usize {
        each!(self, v => v.dot_count())
    }

    fn restrict(&self, events: &CausalContext, _: Seal) -> Self {
        match self {
            Self::Counter(v) => Self::Counter(v.restrict(events, SEAL)),
            Self::Register(v) => Self::Register(v.restrict(events, SEAL)),
            Self::Set(v) => Self::Set(v.restrict(events, SEAL)),
            Self::Flag(v) => Self::Flag(v.restrict(events, SEAL)),
            Self::Map(v) => Self::Map(v.restrict(events, SEAL)),
        }
    }

    fn index_is_exact(&self) -> bool {
        each!(self, v => v.index_is_exact())
    }

    fn validate(&self, ctx: &CausalContext) -> Result<(), InvalidContext> {
        each!(self, v => v.validate(ctx))
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::{CausalCounter, CausalParts, EwFlag, Field, OrMap, OrSet, Register, StoreOps};
    use serde::{Serialize, Serializer};

    /// A nested field ships only its store (the map's context is shared). Its `Deserialize` is in
    /// `document::decode`, which bounds the nesting.
    #[derive(Serialize)]
    #[serde(rename = "deltacrdt::Field")]
    enum WireRef<'a> {
        Counter(&'a <CausalCounter as CausalParts>::Store),
        Register(&'a <Register as CausalParts>::Store),
        Set(&'a <OrSet<super::Scalar> as CausalParts>::Store),
        Flag(&'a <EwFlag as CausalParts>::Store),
        Map(&'a <OrMap<super::FieldKey, Field> as CausalParts>::Store),
    }

    impl Field {
        /// The name of its wire enum (the `rename` above); the codec counts one nesting level for
        /// each.
        pub(crate) const SERDE_NAME: &'static str = "deltacrdt::Field";
    }

    impl Serialize for Field {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            match self {
                Self::Counter(v) => WireRef::Counter(v.wire()),
                Self::Register(v) => WireRef::Register(v.wire()),
                Self::Set(v) => WireRef::Set(v.wire()),
                Self::Flag(v) => WireRef::Flag(v.wire()),
                Self::Map(v) => WireRef::Map(v.wire()),
            }
            .serialize(s)
        }
    }
}
