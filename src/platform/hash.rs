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
