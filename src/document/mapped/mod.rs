//! Rust values mapped onto a [`Doc`]: structs of scalars, sets, counters, flags, maps and
//! nested structs, read from a document and written back as only the edits that differ — the
//! approach of autosurgeon's `Hydrate`/`Reconcile` for Automerge.
//!
//! [`Doc::read`] builds a value from the fields at a path; [`Doc::write`] compares a value
//! with them and makes the edits that bring the document to it, returning their delta like
//! any mutator. Because a write only edits what differs, concurrent writes of one struct by
//! two replicas merge field by field: each field keeps its own semantics (a register's last
//! writer wins, set additions and counter increments of both survive).
//!
//! | Rust type | document field |
//! |---|---|
//! | a struct given to [`mapped_struct!`](crate::mapped_struct) | a map, one field per struct field |
//! | `BTreeMap<String, V>`, `HashMap<String, V>` | a map, one field per key (a key written away is deleted) |
//! | `String`, `bool`, `f64`, integers, [`Value`](crate::Value), any [`RegisterValue`] | a last-writer-wins register |
//! | `Option<T>` | a register; absent or `null` is `None` |
//! | `Vec<T>` | a register holding a list (written whole) |
//! | `BTreeSet<T>`, `HashSet<T>` of a [`ScalarValue`] | an add-wins set |
//! | [`Counter`] | a counter: a write adds the difference |
//! | [`Flag`] | an enable-wins flag |
//!
//! # Examples
//! ```
//! use std::collections::BTreeSet;
//! use deltacrdt::mapped::Counter;
//! use deltacrdt::{Doc, Hlc, Lattice, ReplicaId};
//!
//! #[derive(Debug, Clone, PartialEq, Default)]
//! struct Item { name: String, bought: bool, tags: BTreeSet<String>, wanted: Counter }
//! deltacrdt::mapped_struct!(Item { name, bought, tags, wanted });
//!
//! let mut clock = Hlc::builder(ReplicaId::from_u128(1)).clock(|| 1_700_000_000_000u64).build()?;
//! let mut doc = Doc::default();
//! let mut milk = Item { name: "milk".into(), tags: ["dairy".into()].into(), ..Item::default() };
//! milk.wanted.0 = 2;
//! let first = doc.write(&mut clock, &["milk"], &milk)?;
//! assert_eq!(doc.read::<Item>(&["milk"])?, milk);
//!
//! milk.bought = true;
//! let second = doc.write(&mut clock, &["milk"], &milk)?; // only the register `bought`
//! let mut other = Doc::default();
//! other.apply(first);
//! other.apply(second);
//! assert_eq!(other.read::<Item>(&["milk"])?, milk);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod containers;
mod error;
mod values;

pub use containers::{Counter, Flag};
pub use error::{MapError, ValueError};
pub use values::{RegisterValue, ScalarValue};

use crate::clock::{Hlc, Stamp, Timestamp};
use crate::document::{Doc, Edit, Kind, Scalar, Value};
use crate::id::ReplicaId;
use crate::lattice::Delta;

/// A Rust type that a document holds at a path: read from the fields there, written back as
/// the edits that differ. Structs get it from [`mapped_struct!`](crate::mapped_struct); the
/// [module](self) lists the other types that have it.
///
/// An implementation reads with the [`Doc`] getters and writes by describing edits in
/// [`Edits`] (it never mutates the document itself: [`Doc::write`] applies them once every
/// field has been checked).
pub trait Mapped: Sized {
    /// The kind of field that holds the value ([`Kind::Map`] for structs and maps).
    const KIND: Kind;

    /// Reads the value at `path` (the empty path is the document's root).
    ///
    /// # Errors
    /// [`MapError`] for an absent register or a field of another type.
    fn read(doc: &Doc, path: &[&str]) -> Result<Self, MapError>;

    /// Adds to `edits` what brings the document at `path` to `self`; nothing if it already
    /// holds it.
    ///
    /// # Errors
    /// [`MapError`] for a value a document cannot hold.
    fn diff(&self, doc: &Doc, path: &[&str], edits: &mut Edits) -> Result<(), MapError>;

    /// Like [`diff`](Self::diff), for a value that becomes a new entry of a map: registers
    /// are written even where an absent one would read the same (`None`), so the entry
    /// exists. (An entry holding no register and only empty values — a zero [`Counter`], an
    /// off [`Flag`], empty sets — has nothing to exist by and reads back as absent.)
    ///
    /// # Errors
    /// As [`diff`](Self::diff).
    fn create(&self, doc: &Doc, path: &[&str], edits: &mut Edits) -> Result<(), MapError> {
        self.diff(doc, path, edits)
    }
}

/// The path of field `name` under `path`.
#[must_use]
pub fn child<'a>(path: &[&'a str], name: &'a str) -> Vec<&'a str> {
    let mut out = Vec::with_capacity(path.len() + 1);
    out.extend_from_slice(path);
    out.push(name);
    out
}

/// The stamp of a planned register write until [`Doc::apply_edits`] gets the real one.
const UNSTAMPED: Stamp = Stamp {
    time: Timestamp::from_u64(0),
    replica: ReplicaId::from_u128(0),
};

/// The edits a [`Mapped::diff`] plans, applied together by [`Doc::apply_edits`] (which
/// [`Doc::write`] calls): every register write of one batch gets the same stamp.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Edits {
    planned: Vec<(Vec<String>, Edit)>,
}

impl Edits {
    fn push(&mut self, path: &[&str], kind: Kind, edit: Edit) -> Result<(), MapError> {
        if path.is_empty() {
            return Err(MapError::AtRoot { kind });
        }
        let path = path.iter().map(|&p| p.to_owned()).collect();
        self.planned.push((path, edit));
        Ok(())
    }

    /// Adds `by` to the counter at `path`.
    ///
    /// # Errors
    /// [`MapError::AtRoot`] for the empty path.
    pub fn add(&mut self, path: &[&str], by: i64) -> Result<(), MapError> {
        self.push(path, Kind::Counter, Edit::Add(by))
    }

    /// Writes `value` to the register at `path`.
    ///
    /// # Errors
    /// [`MapError::AtRoot`] for the empty path.
    pub fn write(&mut self, path: &[&str], value: Value) -> Result<(), MapError> {
        self.push(path, Kind::Register, Edit::Write(UNSTAMPED, value))
    }

    /// Adds `element` to the set at `path`.
    ///
    /// # Errors
    /// [`MapError::AtRoot`] for the empty path.
    pub fn insert(&mut self, path: &[&str], element: Scalar) -> Result<(), MapError> {
        self.push(path, Kind::Set, Edit::Insert(element))
    }

    /// Removes `element` from the set at `path`.
    ///
    /// # Errors
    /// [`MapError::AtRoot`] for the empty path.
    pub fn remove(&mut self, path: &[&str], element: Scalar) -> Result<(), MapError> {
        self.push(path, Kind::Set, Edit::Remove(element))
    }

    /// Turns the flag at `path` on or off.
    ///
    /// # Errors
    /// [`MapError::AtRoot`] for the empty path.
    pub fn flag(&mut self, path: &[&str], on: bool) -> Result<(), MapError> {
        self.push(path, Kind::Flag, Edit::Flag(on))
    }

    /// Deletes every field named by the last element of `path`.
    ///
    /// # Errors
    /// [`MapError::AtRoot`] for the empty path (the root is not deleted).
    pub fn delete(&mut self, path: &[&str]) -> Result<(), MapError> {
        self.push(path, Kind::Map, Edit::Delete)
    }

    /// The number of planned edits.
    #[must_use]
    pub fn len(&self) -> usize {
        self.planned.len()
    }

    /// Whether nothing differs.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.planned.is_empty()
    }
}

impl Doc {
    /// Reads a [`Mapped`] value from the fields at `path` (`&[]` for the root).
    ///
    /// # Errors
    /// [`MapError`] for an absent register the type needs or a field of another type.
    pub fn read<T: Mapped>(&self, path: &[&str]) -> Result<T, MapError> {
        T::read(self, path)
    }

    /// Brings the fields at `path` to `value` with the fewest edits (none if they already hold
    /// it) and returns their delta. Fields the value does not mention are left alone; a key
    /// missing from a map value is deleted. Every register written gets one stamp from `hlc`.
    ///
    /// # Errors
    /// [`MapError`] for a value a document cannot hold or a clock that cannot stamp; the
    /// document is unchanged then.
    pub fn write<T: Mapped>(
        &mut self,
        hlc: &mut Hlc,
        path: &[&str],
        value: &T,
    ) -> Result<Delta<Self>, MapError> {
        let mut edits = Edits::default();
        value.diff(self, path, &mut edits)?;
        self.apply_edits(hlc, edits)
    }

    /// Applies planned [`Edits`] as `hlc`'s replica and returns their delta.
    ///
    /// # Errors
    /// [`MapError::Clock`] if a register write needs a stamp the clock cannot issue; the
    /// document is unchanged then.
    pub fn apply_edits(&mut self, hlc: &mut Hlc, edits: Edits) -> Result<Delta<Self>, MapError> {
        // Stamp first: a clock that cannot issue one fails the write before any edit.
        let mut planned = edits.planned;
        let mut stamp = None;
        for (_, edit) in &mut planned {
            if let Edit::Write(s, _) = edit {
                *s = match stamp {
                    Some(s) => s,
                    None => *stamp.insert(hlc.now()?),
                };
            }
        }
        let replica = hlc.replica();
        let mut delta = Delta::new(Self::default());
        for (path, edit) in planned {
            let path: Vec<&str> = path.iter().map(String::as_str).collect();
            // `Edits` refuses empty paths, the only error of `apply_edit`.
            if let Ok(d) = self.apply_edit(replica, &path, edit) {
                delta.join(d);
            }
        }
        Ok(delta)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use std::collections::{BTreeMap, HashMap, HashSet};

    use super::{Counter, Flag, MapError, Mapped, ValueError};
    use crate::clock::Hlc;
    use crate::document::{Doc, Kind, Value};
    use crate::id::ReplicaId;
    use crate::lattice::Lattice;

    fn clock() -> Hlc {
        Hlc::builder(ReplicaId::from_u128(1))
            .clock(|| 1_700_000_000_000u64)
            .build()
            .unwrap()
    }

    /// A hand-written struct mapping, as `mapped_struct!` expands it.
    #[derive(Debug, Clone, PartialEq, Default)]
    struct Entry {
        label: String,
        hits: Counter,
        on: Flag,
        sizes: Vec<u32>,
        seen: HashSet<i64>,
        meta: HashMap<String, Option<bool>>,
    }

    impl Mapped for Entry {
        const KIND: Kind = Kind::Map;
        fn read(doc: &Doc, path: &[&str]) -> Result<Self, MapError> {
            Ok(Self {
                label: doc.read(&super::child(path, "label"))?,
                hits: doc.read(&super::child(path, "hits"))?,
                on: doc.read(&super::child(path, "on"))?,
                sizes: doc.read(&super::child(path, "sizes"))?,
                seen: doc.read(&super::child(path, "seen"))?,
                meta: doc.read(&super::child(path, "meta"))?,
            })
        }
        fn diff(&self, doc: &Doc, path: &[&str], e: &mut super::Edits) -> Result<(), MapError> {
            self.label.diff(doc, &super::child(path, "label"), e)?;
            self.hits.diff(doc, &super::child(path, "hits"), e)?;
            self.on.diff(doc, &super::child(path, "on"), e)?;
            self.sizes.diff(doc, &super::child(path, "sizes"), e)?;
            self.seen.diff(doc, &super::child(path, "seen"), e)?;
            self.meta.diff(doc, &super::child(path, "meta"), e)
        }
    }

    fn entry() -> Entry {
        Entry {
            label: "a".into(),
            hits: Counter(-4),
            on: Flag(true),
            sizes: vec![3, 1, 2],
            seen: [5, -7].into(),
            meta: [("x".to_owned(), Some(true)), ("y".to_owned(), None)].into(),
        }
    }

    #[test]
    fn values_round_trip_and_a_second_write_changes_nothing() {
        let (mut doc, mut hlc) = (Doc::default(), clock());
        let mut map = BTreeMap::new();
        map.insert("e1".to_owned(), entry());
        let delta = doc.write(&mut hlc, &["entries"], &map).unwrap();
        let mut other = Doc::default();
        other.apply(delta);
        assert_eq!(
            other.read::<BTreeMap<String, Entry>>(&["entries"]),
            Ok(map.clone())
        );
        assert!(doc.write(&mut hlc, &["entries"], &map).unwrap().is_bottom());
    }

    #[test]
    fn a_write_edits_only_what_differs_and_deletes_keys_written_away() {
        let (mut doc, mut hlc) = (Doc::default(), clock());
        let mut e = entry();
        let _ = doc.write(&mut hlc, &[], &e).unwrap();
        e.hits = Counter(10);
        e.seen.remove(&5);
        e.seen.insert(6);
        e.meta.remove("x");
        let delta = doc.write(&mut hlc, &[], &e).unwrap();
        assert_eq!(doc.read::<Entry>(&[]), Ok(e.clone()));
        // Only the counter (+14: this replica's entry goes from -4 to 10), the set and the map
        // changed: no register was rewritten.
        assert_eq!(delta.counter(&["hits"]), 10);
        assert!(delta.register(&["label"]).is_none() && delta.register(&["sizes"]).is_none());
        assert!(doc.field(&["meta", "x"], Kind::Register).is_none());
    }

    #[test]
    fn a_refused_write_leaves_the_document_as_it_was() {
        let (mut doc, mut hlc) = (Doc::default(), clock());
        let _ = doc.write(&mut hlc, &[], &entry()).unwrap();
        let _ = doc
            .increment(ReplicaId::from_u128(2), &["hits"], -10)
            .unwrap();
        let before = doc.clone();
        // `label` differs and is planned first; the counter then overflows (MAX - -14):
        // nothing is applied.
        let mut e = entry();
        e.label = "b".into();
        e.hits = Counter(i64::MAX);
        let err = doc.write(&mut hlc, &[], &e).unwrap_err();
        assert!(
            matches!(err, MapError::Value { ref path, source: ValueError::OutOfRange { .. } } if path == "hits"),
            "{err}"
        );
        assert_eq!(doc, before);
        let err = doc.write(&mut hlc, &["big"], &u64::MAX).unwrap_err();
        assert_eq!(
            err.to_string(),
            "big: 18446744073709551615 does not fit in i64 (a document's integer)"
        );
        assert_eq!(doc, before);
    }

    #[test]
    fn leaves_need_a_name_and_reads_name_what_they_found() {
        let (mut doc, mut hlc) = (Doc::default(), clock());
        for err in [
            doc.write(&mut hlc, &[], &Counter(0)).unwrap_err(),
            doc.write(&mut hlc, &[], &Flag(false)).unwrap_err(),
        ] {
            assert!(matches!(err, MapError::AtRoot { .. }), "{err}");
        }
        assert_eq!(
            doc.write(&mut hlc, &[], &Some(1u8))
                .unwrap_err()
                .to_string(),
            "a register cannot be the document's root: it needs a field name"
        );
        assert_eq!(
            doc.read::<String>(&[]),
            Err(MapError::AtRoot {
                kind: Kind::Register
            })
        );
        let _ = doc
            .write(&mut hlc, &["v"], &Value::List(vec![Value::Null]))
            .unwrap();
        let err = doc.read::<Vec<u8>>(&["v"]).unwrap_err();
        assert_eq!(err.to_string(), "v: expected u8, found null");
        let _ = doc.write(&mut hlc, &["small"], &300i64).unwrap();
        let err = doc.read::<u8>(&["small"]).unwrap_err();
        assert_eq!(err.to_string(), "small: 300 does not fit in u8");
        assert_eq!(doc.read::<Option<u8>>(&["absent"]), Ok(None));
        assert_eq!(
            doc.read::<u8>(&["absent"]),
            Err(MapError::Missing {
                path: "absent".into()
            })
        );
    }
}
