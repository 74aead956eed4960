//! `GCounter`: the grow-only counter.
//!
//! Why a sorted vector and not a map: a counter is touched by few replicas, so a sorted vector of
//! `(ReplicaId, count)` pairs is the smallest layout (24 bytes per replica, no per-node overhead),
//! binary search finds a replica in a handful of comparisons, and the canonical form (sorted by
//! replica, no zero count) makes the derived equality semantic.

use smallvec::SmallVec;

use crate::id::ReplicaId;
use crate::lattice::{Delta, Lattice};

/// Above this many entries, [`GCounter::join`] merges linearly instead of inserting one by one.
const SMALL_JOIN: usize = 4;

/// A grow-only counter: each replica counts its own increments; the value is their sum.
///
/// Joining takes the pointwise maximum of the per-replica counts, so concurrent increments on
/// different replicas add up and a delta received twice counts once.
///
/// Counts never overflow: a replica's count **saturates** at `u64::MAX`, and [`value`] is the
/// saturating sum of the counts (so it sticks at `u64::MAX` once the true total exceeds it).
///
/// Memory: 24 bytes per replica that ever incremented; a delta of one increment holds one entry.
///
/// [`value`]: GCounter::value
///
/// # Examples
/// ```
/// use deltacrdt::{GCounter, Lattice, ReplicaId};
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = GCounter::default();
/// let mut y = GCounter::default();
/// let dx = x.increment(a, 2);
/// let dy = y.increment(b, 3);
/// x.apply(dy);
/// y.apply(dx.clone());
/// y.apply(dx); // a duplicate delta changes nothing
/// assert_eq!(x, y);
/// assert_eq!(x.value(), 5);
/// assert_eq!(x.count_of(a), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct GCounter {
    /// Canonical form: strictly increasing by replica id, no zero count.
    /// One entry inline: a delta (a single replica's total) allocates nothing.
    counts: SmallVec<[(ReplicaId, u64); 1]>,
}

impl GCounter {
    /// Adds `by` to `replica`'s count (saturating at `u64::MAX`). Returns the delta: `replica`'s
    /// new total alone, or the empty counter if nothing changed (`by == 0`, or the count was
    /// already `u64::MAX`).
    #[inline]
    pub fn increment(&mut self, replica: ReplicaId, by: u64) -> Delta<Self> {
        let bottom = || Delta::new(Self::default());
        let total = match self.find(replica) {
            Ok(i) => {
                // `binary_search` found `i`, so `get_mut` always succeeds.
                let Some((_, count)) = self.counts.get_mut(i) else {
                    return bottom();
                };
                let new = count.saturating_add(by);
                if new == *count {
                    return bottom();
                }
                *count = new;
                new
            }
            Err(_) if by == 0 => return bottom(),
            Err(i) => {
                self.counts.insert(i, (replica, by));
                by
            }
        };
        Delta::new(Self {
            counts: SmallVec::from_buf([(replica, total)]),
        })
    }

    /// The counter's value: the sum of every replica's count, saturating at `u64::MAX`.
    #[must_use]
    pub fn value(&self) -> u64 {
        self.counts
            .iter()
            .fold(0u64, |sum, (_, c)| sum.saturating_add(*c))
    }

    /// The exact sum of the counts (it cannot reach `u128::MAX`: that would take 2⁶⁴ replicas).
    pub(crate) fn total(&self) -> u128 {
        self.counts
            .iter()
            .fold(0u128, |sum, (_, c)| sum.saturating_add(u128::from(*c)))
    }

    /// How much `replica` has added (0 if it never incremented).
    #[must_use]
    pub fn count_of(&self, replica: ReplicaId) -> u64 {
        self.find(replica)
            .ok()
            .and_then(|i| self.counts.get(i))
            .map_or(0, |(_, c)| *c)
    }

    /// The index of `replica` (`Ok`) or where it would be inserted (`Err`). Counters have few
    /// replicas, so (up to 16 of them) a scan comparing ids for equality (two `u64` compares) beats a binary search
    /// of byte-wise orderings; the ordered search only runs to find an insertion point.
    #[inline]
    fn find(&self, replica: ReplicaId) -> Result<usize, usize> {
        if self.counts.len() > 16 {
            return self.counts.binary_search_by(|(r, _)| r.cmp(&replica));
        }
        match self.counts.iter().position(|(r, _)| *r == replica) {
            Some(i) => Ok(i),
            None => Err(self.counts.partition_point(|(r, _)| *r < replica)),
        }
    }

    /// Raises `replica`'s count to at least `count` (the join of one entry).
    fn join_one(&mut self, replica: ReplicaId, count: u64) {
        match self.find(replica) {
            Ok(i) => {
                if let Some((_, mine)) = self.counts.get_mut(i) {
                    *mine = (*mine).max(count);
                }
            }
            Err(i) => {
                if count > 0 {
                    self.counts.insert(i, (replica, count));
                }
            }
        }
    }

    /// Whether the representation is canonical: strictly sorted by replica, no zero count.
    #[cfg(any(feature = "serde", test))]
    fn is_canonical(counts: &[(ReplicaId, u64)]) -> bool {
        counts.iter().all(|(_, c)| *c > 0)
            && counts
                .windows(2)
                .all(|w| matches!(w, [(a, _), (b, _)] if a < b))
    }
}

impl Lattice for GCounter {
    const TYPE_NAME: Option<&'static str> = Some("GCounter");

    /// Pointwise maximum of the per-replica counts.
    fn join(&mut self, other: Self) {
        if self.counts.is_empty() {
            self.counts = other.counts;
            return;
        }
        if other.counts.len() <= SMALL_JOIN {
            for (r, c) in other.counts {
                self.join_one(r, c);
            }
            return;
        }
        // Linear merge of two sorted vectors.
        let mine = core::mem::take(&mut self.counts);
        let mut merged = SmallVec::with_capacity(mine.len().saturating_add(other.counts.len()));
        let mut a = mine.into_iter().peekable();
        let mut b = other.counts.into_iter().peekable();
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some((ra, _)), Some((rb, _))) => match ra.cmp(rb) {
                    core::cmp::Ordering::Less => a.next(),
                    core::cmp::Ordering::Greater => b.next(),
                    core::cmp::Ordering::Equal => match (a.next(), b.next()) {
                        (Some((r, ca)), Some((_, cb))) => Some((r, ca.max(cb))),
                        (x, y) => x.or(y),
                    },
                },
                (Some(_), None) => a.next(),
                (None, Some(_)) => b.next(),
                (None, None) => None,
            };
            match next {
                Some(entry) => merged.push(entry),
                None => break,
            }
        }
        self.counts = merged;
    }

    /// The entries of `incoming` whose count exceeds ours.
    fn novelty(&self, incoming: &Self) -> Option<Self> {
        let counts: SmallVec<_> = incoming
            .counts
            .iter()
            .filter(|(r, c)| *c > self.count_of(*r))
            .copied()
            .collect();
        (!counts.is_empty()).then_some(Self { counts })
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for GCounter {
    /// Accepts only the canonical form (strictly sorted by replica, no zero count), so a decoded
    /// counter compares equal to every other counter with the same counts.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let counts: SmallVec<[(ReplicaId, u64); 1]> = crate::bounded::small_vec(d)?;
        if Self::is_canonical(&counts) {
            Ok(Self { counts })
        } else {
            Err(serde::de::Error::custom(
                "GCounter counts must be sorted by replica without duplicates or zero counts",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(n: u128) -> ReplicaId {
        ReplicaId::from_u128(n)
    }

    fn counter(entries: &[(u128, u64)]) -> GCounter {
        let mut c = GCounter::default();
        for &(n, by) in entries {
            let _ = c.increment(r(n), by);
        }
        c
    }

    #[test]
    fn increments_keep_canonical_form() {
        let c = counter(&[(3, 1), (1, 0), (2, 5), (1, 4), (3, 2), (9, 0)]);
        assert!(GCounter::is_canonical(&c.counts));
        assert_eq!(c.counts.as_slice(), [(r(1), 4), (r(2), 5), (r(3), 3)]);
        assert_eq!(c.value(), 12);
        assert_eq!(c.count_of(r(9)), 0);
    }

    #[test]
    fn delta_is_one_entry_or_bottom() {
        let mut c = counter(&[(1, 1), (2, 2), (3, 3)]);
        let d = c.increment(r(2), 10);
        assert_eq!(d.counts.as_slice(), [(r(2), 12)]);
        assert_eq!(c.increment(r(2), 0).into_inner(), GCounter::default());
        assert_eq!(c.increment(r(7), 0).into_inner(), GCounter::default());
    }

    #[test]
    fn counts_and_value_saturate() {
        let mut c = counter(&[(1, u64::MAX - 1), (2, 5)]);
        let d = c.increment(r(1), 10);
        assert_eq!(d.counts.as_slice(), [(r(1), u64::MAX)]);
        assert_eq!(c.increment(r(1), 1).into_inner(), GCounter::default());
        assert_eq!(c.count_of(r(1)), u64::MAX);
        assert_eq!(c.value(), u64::MAX);
    }

    #[test]
    fn small_and_linear_joins_agree() {
        let x = counter(&[(1, 5), (3, 1), (5, 7), (7, 2), (9, 9), (11, 1)]);
        let y = counter(&[(0, 2), (3, 4), (4, 1), (5, 3), (10, 8), (11, 1), (12, 6)]);
        let linear = x.clone().joined(y.clone());
        let mut one_by_one = x.clone();
        for (r, c) in y.counts.clone() {
            one_by_one.join(GCounter {
                counts: smallvec::smallvec![(r, c)],
            });
        }
        assert_eq!(linear, one_by_one);
        assert_eq!(linear, y.joined(x));
        assert!(GCounter::is_canonical(&linear.counts));
        assert_eq!(linear.counts.len(), 10);
    }

    #[test]
    fn join_with_bottom_keeps_canonical_form() {
        let x = counter(&[(2, 1), (1, 1)]);
        assert_eq!(GCounter::default().joined(x.clone()), x);
        assert_eq!(x.clone().joined(GCounter::default()), x);
    }

    #[cfg(feature = "serde")]
    #[test]
    fn decoding_accepts_only_canonical_form() {
        let x = counter(&[(2, 7), (1, 3)]);
        let json = serde_json::to_string(&x).unwrap_or_default();
        assert_eq!(serde_json::from_str::<GCounter>(&json).ok(), Some(x));
        let (a, b) = (r(1).to_string(), r(2).to_string());
        for bad in [
            format!(r#"[["{b}",1],["{a}",1]]"#),
            format!(r#"[["{a}",1],["{a}",2]]"#),
            format!(r#"[["{a}",0]]"#),
        ] {
            assert!(serde_json::from_str::<GCounter>(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn canonical_check_rejects_bad_layouts() {
        assert!(GCounter::is_canonical(&[]));
        assert!(!GCounter::is_canonical(&[(r(1), 0)]));
        assert!(!GCounter::is_canonical(&[(r(2), 1), (r(1), 1)]));
        assert!(!GCounter::is_canonical(&[(r(1), 1), (r(1), 2)]));
    }
}
