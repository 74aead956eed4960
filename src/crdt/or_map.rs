//! `OrMap`: the observed-remove, update-wins map of nested causal values.

use core::hash::Hash;
use core::mem;

use crate::causal::CausalContext;
use crate::causal::dot_map::DotMap;
use crate::causal::dot_store::{DeltaContext, SEAL, StoreOps, causal_type};
use crate::causal::{Causal, DotStore};
use crate::id::ReplicaId;
use crate::lattice::Delta;

/// An observed-remove, update-wins map from keys to nested causal values ([`OrSet`](crate::OrSet),
/// [`MvRegister`](crate::MvRegister), [`EwFlag`](crate::EwFlag), [`DwFlag`](crate::DwFlag),
/// [`RwSet`](crate::RwSet), [`CausalCounter`](crate::CausalCounter) or another `OrMap`).
///
/// All nested values share the map's single causal context. Removing a key ships the dots it
/// observed under that key; an update made concurrently has dots the remove never saw, so the key
/// survives holding exactly that update (**update wins**). Two replicas creating the same key
/// concurrently simply merge their nested values — there is no "which creation won" race.
///
/// # Examples
/// ```
/// use deltacrdt::{Lattice, OrMap, OrSet, ReplicaId};
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut x: OrMap<&str, OrSet<&str>> = OrMap::default();
/// let mut y = x.clone();
/// let dx = x.update(a, "tags", |tags, r| tags.insert(r, "urgent"));
/// let dy = y.update(b, "tags", |tags, r| tags.insert(r, "backend")); // concurrent creation
/// x.apply(dy);
/// y.apply(dx);
/// assert_eq!(x, y);
/// assert_eq!(x.get(&"tags").map(|t| t.len()), Some(2));
///
/// let rm = x.remove(&"tags");
/// let upd = y.update(b, "tags", |tags, r| tags.insert(r, "later")); // concurrent with the remove
/// x.apply(upd);
/// y.apply(rm);
/// assert_eq!(x, y);
/// let tags = x.get(&"tags").unwrap();
/// assert!(tags.contains(&"later") && !tags.contains(&"urgent")); // update wins, remove keeps
/// ```
#[derive(Clone, Debug)]
pub struct OrMap<K, V> {
    store: DotMap<K, V>,
    ctx: CausalContext,
}

causal_type!(OrMap<K, V>, DotMap<K, V>, where K: Hash + Eq + Clone + core::fmt::Debug, V: Causal + DotStore);

impl<K, V> Default for OrMap<K, V> {
    fn default() -> Self {
        Self {
            store: DotMap::default(),
            ctx: CausalContext::default(),
        }
    }
}

impl<K: Hash + Eq + Clone + core::fmt::Debug, V: Causal + DotStore> OrMap<K, V> {
    /// Mutates the value under `key` (created empty if absent) with one of its own mutators, and
    /// returns the map's delta: the nested delta under `key`.
    ///
    /// `f` receives the nested value — which, for the duration of the call, holds the map's shared
    /// context — and the `replica` to pass on to its mutator.
    pub fn update(
        &mut self,
        replica: ReplicaId,
        key: K,
        f: impl FnOnce(&mut V, ReplicaId) -> Delta<V>,
    ) -> Delta<Self> {
        let (nested_store, ctx) = self.store.edit(key.clone(), &mut self.ctx, |value, ctx| {
            mem::swap(value.context_mut(SEAL), ctx);
            let nested = f(value, replica);
            mem::swap(value.context_mut(SEAL), ctx);
            nested.into_inner().into_parts()
        });
        if StoreOps::is_bottom(&nested_store) && ctx.is_empty() {
            return Delta::new(Self::default());
        }
        let nested = V::from_parts(nested_store, CausalContext::default(), SEAL);
        Delta::new(Self {
            store: DotMap::single(key, nested),
            ctx,
        })
    }

    /// Removes `key` and everything nested under it that this replica observed.
    pub fn remove(&mut self, key: &K) -> Delta<Self> {
        let Some(value) = self.store.remove(key) else {
            return Delta::new(Self::default());
        };
        let mut delta = DeltaContext::default();
        delta.cover_all(&self.ctx, &value);
        Delta::new(Self {
            store: DotMap::default(),
            ctx: delta.finish(),
        })
    }

    /// Removes every key observed so far.
    pub fn clear(&mut self) -> Delta<Self> {
        let mut delta = DeltaContext::default();
        delta.cover_all(&self.ctx, &self.store);
        self.store = DotMap::default();
        Delta::new(Self {
            store: DotMap::default(),
            ctx: delta.finish(),
        })
    }

    /// Whether every dot index in the map (its own and its values') equals one rebuilt from
    /// scratch: the invariant the index law checks.
    #[doc(hidden)]
    #[must_use]
    pub fn index_is_exact(&self) -> bool {
        self.store.index_is_exact()
    }
}

impl<K: Hash + Eq, V: DotStore> OrMap<K, V> {
    /// The value under `key`, if any.
    #[must_use]
    pub fn get(&self, key: &K) -> Option<&V> {
        self.store.get(key)
    }

    /// Whether `key` is present.
    #[must_use]
    pub fn contains_key(&self, key: &K) -> bool {
        self.get(key).is_some()
    }

    /// The entries, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.store.iter()
    }

    /// The keys, in no particular order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.store.iter().map(|(k, _)| k)
    }

    /// Number of keys.
    #[must_use]
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether the map is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
