//! `LwwRegister`: the last-writer-wins register.
//!
//! Why stamps and not dots: a register keeps one value, and concurrent writes must pick a winner
//! every replica agrees on without coordination. Ordering writes by their [`Stamp`] — hybrid
//! logical time, then replica id — is a total order, so the greatest stamp is that winner, and it
//! is also the latest write in causal order (an HLC stamp exceeds every stamp its replica has
//! seen). Keeping every concurrent value instead is [`MvRegister`](crate::MvRegister)'s job.

use crate::clock::Stamp;
use crate::lattice::{Delta, Lattice};

/// A last-writer-wins register: the write with the greatest [`Stamp`] wins.
///
/// Stamps order by hybrid logical time, then by replica id, so two writes never tie — provided
/// each stamp names **one** write. Take stamps from the writing replica's [`Hlc`](crate::Hlc),
/// which never issues the same stamp twice; two different values written under one stamp would
/// make the join keep whichever value a replica saw first, and replicas could diverge.
///
/// # Examples
/// ```
/// use deltacrdt::{ClockError, Hlc, Lattice, LwwRegister, ReplicaId};
/// let frozen = || 1_700_000_000_000u64;
/// let mut clock_a = Hlc::builder(ReplicaId::from_u128(1)).clock(frozen).build()?;
/// let mut clock_b = Hlc::builder(ReplicaId::from_u128(2)).clock(frozen).build()?;
/// let mut x = LwwRegister::default();
/// let mut y = LwwRegister::default();
/// let dx = x.write("red", clock_a.now()?);
/// let dy = y.write("blue", clock_b.now()?); // same time: the greater replica id wins
/// x.apply(dy);
/// y.apply(dx);
/// assert_eq!(x, y);
/// assert_eq!(x.value(), Some(&"blue"));
/// let dz = x.write("green", clock_a.now()?); // a's clock has moved on: this write is later
/// y.apply(dz);
/// assert_eq!(y.value(), Some(&"green"));
/// assert_eq!(x, y);
/// # Ok::<(), ClockError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct LwwRegister<V> {
    /// The winning write, or `None` before any write (bottom).
    entry: Option<(Stamp, V)>,
}

impl<V> Default for LwwRegister<V> {
    fn default() -> Self {
        Self { entry: None }
    }
}

impl<V: Clone + PartialEq> LwwRegister<V> {
    /// Writes `value` at `stamp`. Returns the delta: the register holding just this write, or
    /// the empty register if `stamp` is not greater than the current stamp (the write loses to
    /// the current value and nothing changes).
    pub fn write(&mut self, value: V, stamp: Stamp) -> Delta<Self> {
        if self
            .entry
            .as_ref()
            .is_some_and(|(current, _)| stamp <= *current)
        {
            return Delta::new(Self::default());
        }
        self.entry = Some((stamp, value.clone()));
        Delta::new(Self {
            entry: Some((stamp, value)),
        })
    }
}

impl<V> LwwRegister<V> {
    /// The current value, or `None` if the register was never written.
    #[must_use]
    pub fn value(&self) -> Option<&V> {
        self.entry.as_ref().map(|(_, v)| v)
    }

    /// The stamp of the current value, or `None` if the register was never written.
    #[must_use]
    pub fn stamp(&self) -> Option<Stamp> {
        self.entry.as_ref().map(|(s, _)| *s)
    }
}

impl<V: Clone + PartialEq> Lattice for LwwRegister<V> {
    const TYPE_NAME: Option<&'static str> = Some("LwwRegister");

    /// Keeps the write with the greater stamp.
    fn join(&mut self, other: Self) {
        if let Some((theirs, value)) = other.entry
            && self.entry.as_ref().is_none_or(|(mine, _)| theirs > *mine)
        {
            self.entry = Some((theirs, value));
        }
    }

    /// `incoming` if its stamp is greater than ours (it then replaces our value), else `None`.
    fn novelty(&self, incoming: &Self) -> Option<Self> {
        let (theirs, _) = incoming.entry.as_ref()?;
        self.entry
            .as_ref()
            .is_none_or(|(mine, _)| theirs > mine)
            .then(|| incoming.clone())
    }
}

/// Clock skew (`sync/skew.rs`): a write stamped beyond the drift bound is held back whole.
#[cfg(feature = "reconcile")]
impl<V> LwwRegister<V> {
    pub(crate) fn hold_beyond(
        &mut self,
        bound: crate::clock::Timestamp,
    ) -> crate::causal::reconcile::Split<Self> {
        let mut split = crate::causal::reconcile::Split::new();
        if let Some((stamp, _)) = &self.entry
            && split.note(*stamp, bound)
        {
            split.held = core::mem::take(self);
        }
        split
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::id::ReplicaId;

    /// The stamp of replica `replica` at `ms` milliseconds (logical counter 0); also the
    /// `LwwMap` tests'.
    pub(in crate::crdt) fn stamp(ms: u64, replica: u128) -> Stamp {
        Stamp {
            time: Timestamp::from_u64(ms << 16),
            replica: ReplicaId::from_u128(replica),
        }
    }

    #[test]
    fn stale_write_changes_nothing_and_ships_bottom() {
        let mut r = LwwRegister::default();
        let _ = r.write(1, stamp(5, 2));
        let before = r.clone();
        for s in [stamp(5, 2), stamp(5, 1), stamp(4, 9)] {
            let d = r.write(2, s);
            assert_eq!(d.into_inner(), LwwRegister::default());
            assert_eq!(r, before);
        }
    }

    #[test]
    fn winning_write_ships_itself() {
        let mut r = LwwRegister::default();
        let _ = r.write("a", stamp(5, 2));
        let d = r.write("b", stamp(5, 3));
        assert_eq!(d.entry, Some((stamp(5, 3), "b")));
        assert_eq!(r.value(), Some(&"b"));
    }

    #[test]
    fn join_keeps_the_greatest_stamp_either_way() {
        let mut old = LwwRegister::default();
        let _ = old.write("old", stamp(1, 9));
        let mut new = LwwRegister::default();
        let _ = new.write("new", stamp(2, 1));
        assert_eq!(old.clone().joined(new.clone()), new);
        assert_eq!(new.clone().joined(old.clone()), new);
        assert_eq!(LwwRegister::default().joined(old.clone()), old);
        assert_eq!(old.clone().joined(LwwRegister::default()), old);
    }
}
