//! `DotMap`: key ↦ nested dot store, the store of maps and remove-wins sets.

use core::hash::Hash;
use core::ops::ControlFlow;
use foldhash::HashMap;

use super::context::Seen;
use super::dot::{ActorMap, LocalDot};
use super::dot_store::{DotStore, JoinMode, SEAL, Seal};
use super::{CausalContext, InvalidContext};

/// Key ↦ nested dot store; keys whose store is bottom are absent (canonical form), except as
/// hints in a keyed delta (see "keyed deltas" in the store module).
///
/// Nested stores are joined with the *parent's* contexts, so a key removed on one side (its dots
/// covered by that side's context) and updated concurrently on the other keeps exactly the
/// update's dots: update wins, and concurrent creations of one key merge.
#[derive(Clone, Debug)]
pub struct DotMap<K, S> {
    pub(crate) entries: HashMap<K, S>,
    /// Every dot the context covers under this map but no entry holds belongs to a listed key.
    pub(crate) keyed: bool,
}

impl<K, S> Default for DotMap<K, S> {
    fn default() -> Self {
        Self {
            entries: HashMap::default(),
            keyed: false,
        }
    }
}

impl<K: Hash + Eq, S> DotMap<K, S> {
    /// A keyed delta store holding `key ↦ value` (a hint if `value` is bottom).
    pub(crate) fn keyed_single(key: K, value: S) -> Self {
        let mut entries = HashMap::default();
        entries.insert(key, value);
        Self {
            entries,
            keyed: true,
        }
    }
}

impl<K: Hash + Eq, S: PartialEq> PartialEq for DotMap<K, S> {
    fn eq(&self, other: &Self) -> bool {
        self.entries == other.entries
    }
}

impl<K: Hash + Eq + Clone + core::fmt::Debug, S: DotStore> DotStore for DotMap<K, S> {}

impl<K: Hash + Eq + Clone + core::fmt::Debug, S: DotStore> crate::causal::dot_store::StoreOps
    for DotMap<K, S>
{
    crate::causal::dot_store::wire_is_self!();

    fn is_bottom(&self) -> bool {
        self.entries.is_empty()
    }

    fn try_for_each_dot(&self, f: &mut dyn FnMut(LocalDot) -> ControlFlow<()>) -> ControlFlow<()> {
        self.entries
            .values()
            .try_for_each(|s| s.try_for_each_dot(f))
    }

    fn remap(&mut self, map: &ActorMap, _: Seal) {
        self.entries.values_mut().for_each(|s| s.remap(map, SEAL));
    }

    fn retain_dots(&mut self, keep: &mut dyn FnMut(LocalDot) -> bool, _: Seal) {
        self.entries.retain(|_, s| {
            s.retain_dots(keep, SEAL);
            !s.is_bottom()
        });
        self.keyed = false;
    }

    fn join_store(&mut self, ours: &Seen<'_>, mut other: Self, theirs: &Seen<'_>, mode: JoinMode) {
        let keyed = mode.hints && self.keyed && other.keyed;
        if !keyed && self.keyed {
            self.normalize(SEAL);
        }
        if mode.scan && !other.keyed {
            // Keys only we hold lose the dots `other` has seen (and so removed).
            self.entries.retain(|k, s| {
                if !other.entries.contains_key(k) {
                    s.join_store(ours, S::default(), theirs, mode);
                }
                !s.is_bottom()
            });
        }
        for (k, s) in other.entries.drain() {
            let mut mine = self.entries.remove(&k).unwrap_or_else(|| {
                // A key we lack: if we are keyed, our context has no dot under it.
                let mut fresh = S::default();
                fresh.mark_keyed(self.keyed, SEAL);
                fresh
            });
            mine.join_store(ours, s, theirs, mode);
            if keyed {
                self.entries.insert(k, mine);
            } else {
                mine.normalize(SEAL);
                if !mine.is_bottom() {
                    self.entries.insert(k, mine);
                }
            }
        }
        self.keyed = keyed;
    }

    fn normalize(&mut self, _: Seal) {
        if self.keyed {
            self.entries.retain(|_, s| {
                s.normalize(SEAL);
                !s.is_bottom()
            });
            self.keyed = false;
        }
    }

    fn mark_keyed(&mut self, keyed: bool, _: Seal) {
        self.keyed = keyed;
    }

    fn validate(&self, ctx: &CausalContext) -> Result<(), InvalidContext> {
        for s in self.entries.values() {
            if s.is_bottom() && !self.keyed {
                return Err(InvalidContext::NotCanonical("a map holds an empty entry"));
            }
            s.validate(ctx)?;
        }
        Ok(())
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::{DotMap, DotStore, Hash};
    use crate::causal::dot_store::{SEAL, Seq, holds_dots};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    /// Wire shape: the entries. Hints are not shipped (see "keyed deltas" in the store module):
    /// a decoded map is never keyed.
    impl<K: Serialize, S: DotStore> Serialize for DotMap<K, S>
    where
        S::Wire: Serialize,
    {
        fn serialize<SER: Serializer>(&self, s: SER) -> Result<SER::Ok, SER::Error> {
            let keyed = self.keyed;
            let shipped = |(_, v): &(&K, &S)| !keyed || holds_dots(*v);
            let entries = || {
                self.entries
                    .iter()
                    .filter(shipped)
                    .map(|(k, v)| (k, v.wire()))
            };
            let len = if keyed {
                entries().count()
            } else {
                self.entries.len()
            };
            Seq {
                len,
                items: entries,
            }
            .serialize(s)
        }
    }

    impl<'de, K: Deserialize<'de> + Hash + Eq, S: DotStore> Deserialize<'de> for DotMap<K, S>
    where
        S::Wire: Deserialize<'de>,
    {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let pairs: Vec<(K, S::Wire)> = crate::bounded::vec(d)?;
            let mut map = Self::default();
            for (k, w) in pairs {
                map.insert_decoded(k, S::from_wire(w, SEAL))
                    .map_err(serde::de::Error::custom)?;
            }
            Ok(map)
        }
    }

    impl<K: Hash + Eq, S> DotMap<K, S> {
        /// Adds one decoded entry (a decoded map is never keyed).
        ///
        /// # Errors
        /// The reason, when `key` is already present.
        pub(crate) fn insert_decoded(&mut self, key: K, value: S) -> Result<(), &'static str> {
            match self.entries.insert(key, value) {
                None => Ok(()),
                Some(_) => Err("a map key appears twice"),
            }
        }
    }
}
