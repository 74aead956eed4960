//! Dots: unique event identifiers.

use core::fmt;

use crate::id::ReplicaId;

/// One event: the `counter`-th event issued by `replica` (counters start at 1).
///
/// Causal types tag every write with a fresh dot; a causal context records which dots a replica
/// has seen, so a remove can name exactly the writes it observed.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Dot {
    /// The replica that issued the event.
    pub replica: ReplicaId,
    /// Its sequence number at that replica, from 1.
    pub counter: u64,
}

impl Dot {
    /// The dot `(replica, counter)`.
    #[must_use]
    pub const fn new(replica: ReplicaId, counter: u64) -> Self {
        Self { replica, counter }
    }
}

/// `replica-uuid.counter`.
impl fmt::Display for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.replica, self.counter)
    }
}

impl fmt::Debug for Dot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}.{}", self.replica, self.counter)
    }
}

/// Index of a replica in a causal context's replica table.
///
/// Stores refer to replicas by this 4-byte index instead of the 16-byte id; the table lives in the
/// [`CausalContext`](super::CausalContext) that every value nested under it shares.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub(crate) struct Actor(pub(crate) u32);

impl Actor {
    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }
}

/// A dot whose replica is an index into the owning context's table.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename = "deltacrdt::LocalDot")
)]
pub struct LocalDot {
    pub(crate) actor: Actor,
    pub(crate) counter: u64,
}

impl LocalDot {
    /// The name of its serde struct (the `rename` above and in `Deserialize`); the codec charges
    /// one element of its budget for each (only the codec reads it: the serde attributes need a
    /// literal).
    #[cfg(feature = "sync")]
    pub(crate) const SERDE_NAME: &'static str = "deltacrdt::LocalDot";

    pub(crate) const fn new(actor: Actor, counter: u64) -> Self {
        Self { actor, counter }
    }

    /// The same event with its actor renamed by `map` (old index → new index).
    pub(crate) fn remapped(self, map: &ActorMap) -> Self {
        Self {
            actor: map.get(self.actor),
            counter: self.counter,
        }
    }
}

/// Renames actor indices of one context into another's table (see `CausalContext::align`).
#[derive(Debug)]
pub struct ActorMap(pub(crate) Vec<Actor>);

impl ActorMap {
    /// The new index of `actor`. Indices outside the table (only possible in a value that skipped
    /// validation) stay as they are rather than panic.
    pub(crate) fn get(&self, actor: Actor) -> Actor {
        self.0.get(actor.index()).copied().unwrap_or(actor)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for LocalDot {
    /// Decodes `(actor, counter)`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// The derived shape, so every format reads what `Serialize` wrote.
        #[derive(serde::Deserialize)]
        #[serde(rename = "deltacrdt::LocalDot")]
        struct Shape {
            actor: Actor,
            counter: u64,
        }
        let Shape { actor, counter } = Shape::deserialize(d)?;
        Ok(Self { actor, counter })
    }
}
