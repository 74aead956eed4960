//! `RwSet`: the remove-wins observed-remove set.

use core::hash::Hash;

use crate::causal::CausalContext;
use crate::causal::dot_map::DotMap;
use crate::causal::dot_set::DotFun;
use crate::causal::dot_store::causal_type;
use crate::id::ReplicaId;
use crate::lattice::Delta;

/// A remove-wins set (RWORSet): adds and removes both replace the operations on the element they
/// observed with a fresh tagged dot, and an element is present only when every surviving
/// operation on it is an add — so a remove concurrent with an add wins.
///
/// Unlike [`OrSet`](crate::OrSet), a removed element keeps one "removed" dot until a later add
/// observes it: remove-wins needs that memory to beat adds it has not seen.
///
/// # Examples
/// ```
/// use deltacrdt::{Lattice, ReplicaId, RwSet};
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x = RwSet::default();
/// let add = x.insert(a, 7);
/// let mut y = x.clone();
/// let rm = y.remove(b, 7);
/// let re_add = x.insert(a, 7); // concurrent with the remove
/// x.apply(rm);
/// y.apply(re_add);
/// assert!(!x.contains(&7) && !y.contains(&7));
/// # drop(add);
/// ```
#[derive(Clone, Debug)]
pub struct RwSet<E> {
    store: DotMap<E, DotFun<bool>>,
    ctx: CausalContext,
}

causal_type!(RwSet<E>, DotMap<E, DotFun<bool>>, where E: Hash + Eq + Clone + core::fmt::Debug);

impl<E> Default for RwSet<E> {
    fn default() -> Self {
        Self {
            store: DotMap::default(),
            ctx: CausalContext::default(),
        }
    }
}

impl<E: Hash + Eq + Clone + core::fmt::Debug> RwSet<E> {
    /// Adds `element` (a concurrent remove still wins).
    pub fn insert(&mut self, replica: ReplicaId, element: E) -> Delta<Self> {
        self.write(replica, element, true)
    }

    /// Removes `element`, winning over concurrent adds.
    pub fn remove(&mut self, replica: ReplicaId, element: E) -> Delta<Self> {
        self.write(replica, element, false)
    }

    fn write(&mut self, replica: ReplicaId, element: E, present: bool) -> Delta<Self> {
        let (tag, ctx) = self
            .store
            .edit(element.clone(), &mut self.ctx, |tags, ctx| {
                tags.replace(ctx, replica, present)
            });
        Delta::new(Self {
            store: DotMap::single(element, tag),
            ctx,
        })
    }

    /// Whether `element` is present.
    #[must_use]
    pub fn contains(&self, element: &E) -> bool {
        self.store.get(element).is_some_and(present)
    }

    /// The present elements, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &E> {
        self.store
            .iter()
            .filter(|(_, t)| present(t))
            .map(|(e, _)| e)
    }

    /// Number of present elements.
    #[must_use]
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether no element is present.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }
}

fn present(tags: &DotFun<bool>) -> bool {
    tags.values().all(|&p| p) && !tags.entries.is_empty()
}
