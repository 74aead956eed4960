//! `PnCounter`: the increment/decrement counter, as two grow-only counters.

use crate::crdt::GCounter;
use crate::id::ReplicaId;
use crate::lattice::{Delta, Lattice};

/// A counter that goes up and down: one [`GCounter`] of increments (`p`) and one of decrements
/// (`n`); the value is their difference.
///
/// Joining joins both halves, so concurrent increments and decrements on different replicas all
/// count, and a delta received twice counts once.
///
/// Limits: each replica's increment total and decrement total saturate at `u64::MAX`, as in a
/// [`GCounter`]. [`value`] sums the per-replica totals exactly (a half whose sum exceeds
/// `u64::MAX` does not distort it), then **clamps** `p - n` to `i64::MIN..=i64::MAX`.
///
/// [`value`]: PnCounter::value
///
/// # Examples
/// ```
/// use deltacrdt::{Lattice, PnCounter, ReplicaId};
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = PnCounter::default();
/// let mut y = PnCounter::default();
/// let dx = x.increment(a, 5);
/// let dy = y.decrement(b, 7);
/// x.apply(dy);
/// y.apply(dx);
/// assert_eq!(x, y);
/// assert_eq!(x.value(), -2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct PnCounter {
    p: GCounter,
    n: GCounter,
}

impl PnCounter {
    /// Adds `by` as `replica`. Returns the delta: `replica`'s new increment total alone (or the
    /// empty counter if nothing changed, see [`GCounter::increment`]).
    pub fn increment(&mut self, replica: ReplicaId, by: u64) -> Delta<Self> {
        self.p.increment(replica, by).map(|p| Self {
            p,
            n: GCounter::default(),
        })
    }

    /// Subtracts `by` as `replica`. Returns the delta: `replica`'s new decrement total alone (or
    /// the empty counter if nothing changed, see [`GCounter::increment`]).
    pub fn decrement(&mut self, replica: ReplicaId, by: u64) -> Delta<Self> {
        self.n.increment(replica, by).map(|n| Self {
            p: GCounter::default(),
            n,
        })
    }

    /// The counter's value: increments minus decrements, clamped to the range of `i64`.
    #[must_use]
    pub fn value(&self) -> i64 {
        // Exact totals, so a saturated half does not distort the difference.
        let (p, n) = (self.p.total(), self.n.total());
        let magnitude = i64::try_from(p.abs_diff(n));
        if p >= n {
            magnitude.unwrap_or(i64::MAX)
        } else {
            // -(2⁶³) is representable even though 2⁶³ is not as i64.
            magnitude.map_or(i64::MIN, |m| m.saturating_neg())
        }
    }
}

impl Lattice for PnCounter {
    const TYPE_NAME: Option<&'static str> = Some("PnCounter");

    /// Joins the increment and decrement halves independently.
    fn join(&mut self, other: Self) {
        self.p.join(other.p);
        self.n.join(other.n);
    }

    /// The novelty of each half (an empty half where it has none).
    fn novelty(&self, incoming: &Self) -> Option<Self> {
        match (self.p.novelty(&incoming.p), self.n.novelty(&incoming.n)) {
            (None, None) => None,
            (p, n) => Some(Self {
                p: p.unwrap_or_default(),
                n: n.unwrap_or_default(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    #[test]
    fn deltas_touch_one_half() {
        let mut c = PnCounter::default();
        let up = c.increment(r(1), 3);
        let down = c.decrement(r(1), 4);
        assert_eq!(up.n, GCounter::default());
        assert_eq!(down.p, GCounter::default());
        assert_eq!(up.p.count_of(r(1)), 3);
        assert_eq!(down.n.count_of(r(1)), 4);
        assert_eq!(c.value(), -1);
    }

    #[test]
    fn value_clamps_to_i64() {
        let mut c = PnCounter::default();
        let _ = c.increment(r(1), u64::MAX);
        assert_eq!(c.value(), i64::MAX);
        let _ = c.decrement(r(1), u64::MAX);
        assert_eq!(c.value(), 0);
        let _ = c.decrement(r(2), u64::MAX); // `n` sums past u64::MAX: still exact
        assert_eq!(c.value(), i64::MIN);
        let _ = c.increment(r(3), u64::MAX);
        let _ = c.increment(r(4), 5);
        assert_eq!(c.value(), 5);
    }
}
