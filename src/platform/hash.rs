//! The crate's hash maps and sets: hashbrown's, with foldhash's hasher.
//!
//! std's `HashMap` is hashbrown too, but std builds its own copy of it. The dot index of sets
//! needs hashbrown's `HashTable` (slots found by hash, with no key stored twice), which std does
//! not offer; were the other maps std's, the npm module would carry two copies of the same table
//! code (about 1 KB).
//!
//! # The seed (switched)
//! Natively, foldhash's `RandomState`: a per-process random seed (time, addresses) and a
//! per-map one, so a peer cannot craft elements that collide in our tables. Under `small_code`
//! (`wasm32-unknown-unknown`) that seed has no source of randomness to draw on: foldhash skips
//! the time there, and the addresses it mixes are the same on every load, so it is fixed in
//! effect. The module therefore uses foldhash's `FixedState`, which computes the same kind of
//! hash without the ~1.1 KB of code that derives a seed at run time. What a fixed seed costs (a
//! peer that knows the module could craft colliding elements and slow a page down) it cost
//! before this switch too.

/// The hasher every map and set is built with.
#[cfg(not(small_code))]
pub(crate) type State = foldhash::fast::RandomState;

/// The hasher every map and set is built with.
#[cfg(small_code)]
pub(crate) type State = foldhash::fast::FixedState;

/// A hash map with the crate's hasher.
pub(crate) type HashMap<K, V> = hashbrown::HashMap<K, V, State>;

/// A hash set with the crate's hasher.
pub(crate) type HashSet<T> = hashbrown::HashSet<T, State>;

/// FNV-1a, 64-bit: a hash that is the same in every process, for the content digests two
/// replicas compare (a map's hasher is seeded per process, so it cannot serve). Values feed it
/// through their `Hash` impls (integers in native byte order: peers on machines of the other
/// byte order compute other digests, which costs a settlement round, never data).
#[cfg(feature = "reconcile")]
struct Stable(u64);

#[cfg(feature = "reconcile")]
impl core::hash::Hasher for Stable {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(feature = "reconcile")]
impl core::fmt::Write for Stable {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        core::hash::Hasher::write(self, s.as_bytes());
        Ok(())
    }
}

/// The stable hash of `value` (see [`Stable`]).
#[cfg(feature = "reconcile")]
pub(crate) fn stable_hash<T: core::hash::Hash + ?Sized>(value: &T) -> u64 {
    let mut h = Stable(0xcbf2_9ce4_8422_2325);
    value.hash(&mut h);
    core::hash::Hasher::finish(&h)
}

/// The stable hash of `value`'s `Debug` text: for values with no `Hash` (registers of any
/// type), whose `Debug` output is a function of the value.
#[cfg(feature = "reconcile")]
pub(crate) fn stable_debug_hash<T: core::fmt::Debug + ?Sized>(value: &T) -> u64 {
    let mut h = Stable(0xcbf2_9ce4_8422_2325);
    let _ = core::fmt::Write::write_fmt(&mut h, format_args!("{value:?}"));
    core::hash::Hasher::finish(&h)
}
