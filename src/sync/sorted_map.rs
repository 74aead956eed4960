//! A map kept as a vector sorted by key: the engine's per-peer tables.
//!
//! Why not `BTreeMap`: these tables are small (at most [`SyncConfig::max_peers`] entries),
//! rarely change shape (a peer connects or leaves) and are read on every frame. A sorted vector
//! serves that as fast, iterates in the same key order, and costs a fraction of the B-tree's
//! code in the WebAssembly module (each `BTreeMap<K, V>` instantiation is 4–8 KB there).
//!
//! [`SyncConfig::max_peers`]: super::SyncConfig::max_peers

/// A map from `K` to `V`, iterated in key order.
#[derive(Debug, Clone)]
pub(crate) struct SortedMap<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for SortedMap<K, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<K: Ord, V> SortedMap<K, V> {
    fn find(&self, key: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(k, _)| k.cmp(key))
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    pub(crate) fn contains_key(&self, key: &K) -> bool {
        self.find(key).is_ok()
    }

    pub(crate) fn get(&self, key: &K) -> Option<&V> {
        let i = self.find(key).ok()?;
        self.entries.get(i).map(|(_, v)| v)
    }

    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let i = self.find(key).ok()?;
        self.entries.get_mut(i).map(|(_, v)| v)
    }

    /// Inserts or replaces the value under `key`.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        match self.find(&key) {
            Ok(i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    slot.1 = value;
                }
            }
            Err(i) => self.entries.insert(i, (key, value)),
        }
    }

    pub(crate) fn remove(&mut self, key: &K) -> Option<V> {
        let i = self.find(key).ok()?;
        Some(self.entries.remove(i).1)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub(crate) fn keys(&self) -> impl Iterator<Item = &K> {
        self.entries.iter().map(|(k, _)| k)
    }

    pub(crate) fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    #[cfg(feature = "reconcile")]
    pub(crate) fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.entries.iter_mut().map(|(k, v)| (&*k, v))
    }

    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.entries.iter_mut().map(|(_, v)| v)
    }
}

/// Like `BTreeMap`'s: the last value given for a key wins.
impl<K: Ord, V> FromIterator<(K, V)> for SortedMap<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut map = Self::default();
        for (k, v) in iter {
            map.insert(k, v);
        }
        map
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::SortedMap;

    /// Every operation agrees with `BTreeMap` over a pseudo-random sequence.
    #[test]
    fn behaves_like_a_btree_map() {
        let mut ours: SortedMap<u8, u32> = SortedMap::default();
        let mut std: BTreeMap<u8, u32> = BTreeMap::new();
        let mut seed = 0x2545_f491_u32;
        for step in 0..5_000u32 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let key = (seed % 61) as u8;
            match seed % 4 {
                0 | 1 => {
                    ours.insert(key, step);
                    std.insert(key, step);
                }
                2 => assert_eq!(ours.remove(&key), std.remove(&key)),
                _ => {
                    if let Some(v) = ours.get_mut(&key) {
                        *v += 1;
                    }
                    if let Some(v) = std.get_mut(&key) {
                        *v += 1;
                    }
                }
            }
            assert_eq!(ours.len(), std.len());
            assert_eq!(ours.get(&key), std.get(&key));
            assert_eq!(ours.contains_key(&key), std.contains_key(&key));
        }
        assert!(ours.iter().eq(std.iter()));
        assert!(ours.keys().eq(std.keys()));
        assert!(ours.values().eq(std.values()));
        let pairs = [(3, 1), (1, 2), (3, 3)];
        let collected: SortedMap<u8, u32> = pairs.into_iter().collect();
        let expected: BTreeMap<u8, u32> = pairs.into_iter().collect();
        assert!(collected.iter().eq(expected.iter()));
    }
}
