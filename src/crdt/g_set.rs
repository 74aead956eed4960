//! `GSet`: the grow-only set.

use std::collections::BTreeSet;

use crate::lattice::{Delta, Lattice};

/// A grow-only set: elements can be added, never removed; replicas join by union.
///
/// A `BTreeSet` keeps the elements, so iteration is in ascending order and two sets with the same
/// elements are equal (and serialize to the same bytes).
///
/// # Examples
/// ```
/// use deltacrdt::{GSet, Lattice};
/// let mut x = GSet::default();
/// let mut y = GSet::default();
/// let dx = x.insert("apple");
/// let dy = y.insert("pear");
/// x.apply(dy);
/// y.apply(dx);
/// assert_eq!(x, y);
/// assert!(x.contains(&"apple") && x.contains(&"pear"));
/// assert_eq!(x.iter().collect::<Vec<_>>(), [&"apple", &"pear"]);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(
    feature = "serde",
    serde(
        transparent,
        bound(
            serialize = "E: serde::Serialize",
            deserialize = "E: serde::Deserialize<'de> + Ord"
        )
    )
)]
pub struct GSet<E> {
    elements: BTreeSet<E>,
}

impl<E> Default for GSet<E> {
    fn default() -> Self {
        Self {
            elements: BTreeSet::new(),
        }
    }
}

impl<E: Ord + Clone> GSet<E> {
    /// Adds `element`. Returns the delta: the set `{element}`, or the empty set if `element` was
    /// already present (nothing changed).
    pub fn insert(&mut self, element: E) -> Delta<Self> {
        if self.elements.contains(&element) {
            return Delta::new(Self::default());
        }
        self.elements.insert(element.clone());
        Delta::new(Self {
            elements: BTreeSet::from([element]),
        })
    }
}

impl<E: Ord> GSet<E> {
    /// Whether `element` is in the set.
    #[must_use]
    pub fn contains(&self, element: &E) -> bool {
        self.elements.contains(element)
    }

    /// Number of elements.
    #[must_use]
    pub fn len(&self) -> usize {
        self.elements.len()
    }

    /// Whether the set has no element.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.elements.is_empty()
    }

    /// The elements, in ascending order.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.elements.iter()
    }
}

impl<E: Ord + Clone> Lattice for GSet<E> {
    const TYPE_NAME: Option<&'static str> = Some("GSet");

    /// Union.
    fn join(&mut self, mut other: Self) {
        // Insert the smaller set into the larger: O(m log n), so joining a one-element delta into
        // a big set stays cheap (`BTreeSet::append` would rebuild the whole tree).
        if other.elements.len() > self.elements.len() {
            core::mem::swap(self, &mut other);
        }
        self.elements.extend(other.elements);
    }

    /// The elements of `incoming` we lack.
    fn novelty(&self, incoming: &Self) -> Option<Self> {
        let elements: BTreeSet<E> = incoming
            .elements
            .iter()
            .filter(|e| !self.elements.contains(e))
            .cloned()
            .collect();
        (!elements.is_empty()).then_some(Self { elements })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_delta_is_singleton_or_bottom() {
        let mut s = GSet::default();
        let d = s.insert(3);
        assert_eq!(d.elements, BTreeSet::from([3]));
        assert_eq!(s.insert(3).into_inner(), GSet::default());
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn join_is_union_whichever_side_is_larger() {
        let mut small = GSet::default();
        let _ = small.insert(1);
        let mut big = GSet::default();
        for e in [1, 2, 3] {
            let _ = big.insert(e);
        }
        assert_eq!(small.clone().joined(big.clone()), big);
        assert_eq!(big.clone().joined(small), big);
    }
}
