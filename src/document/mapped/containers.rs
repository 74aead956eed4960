//! [`Mapped`] for registers, counters, flags, sets and string-keyed maps.

use core::hash::{BuildHasher, Hash};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{Edits, MapError, Mapped, RegisterValue, ScalarValue, ValueError, child};
use crate::document::{Doc, Field, FieldKey, Kind, Scalar};

/// A counter field of a mapped struct: [`Doc::write`] adds the difference between this value
/// and the document's, so increments made concurrently elsewhere are kept.
///
/// # Examples
/// ```
/// use deltacrdt::mapped::Counter;
/// use deltacrdt::{Doc, Hlc, Lattice, ReplicaId};
/// let mut a = Hlc::builder(ReplicaId::from_u128(1)).build()?;
/// let mut b = Hlc::builder(ReplicaId::from_u128(2)).build()?;
/// let (mut x, mut y) = (Doc::default(), Doc::default());
/// let dx = x.write(&mut a, &["likes"], &Counter(2))?; // 0 -> 2: adds 2
/// let dy = y.write(&mut b, &["likes"], &Counter(3))?; // 0 -> 3: adds 3
/// x.apply(dy);
/// y.apply(dx);
/// assert_eq!(x.read::<Counter>(&["likes"])?, Counter(5));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Counter(pub i64);

/// An enable-wins flag field of a mapped struct (a plain `bool` is a last-writer-wins
/// register instead).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Flag(pub bool);

/// A path that must name a field (not the root).
fn leaf(path: &[&str], kind: Kind) -> Result<(), MapError> {
    if path.is_empty() {
        Err(MapError::AtRoot { kind })
    } else {
        Ok(())
    }
}

impl<T: RegisterValue> Mapped for T {
    const KIND: Kind = Kind::Register;

    fn read(doc: &Doc, path: &[&str]) -> Result<Self, MapError> {
        leaf(path, Self::KIND)?;
        match doc.register(path) {
            Some(value) => T::from_value(value).map_err(|e| MapError::value(path, e)),
            None => T::absent().ok_or_else(|| MapError::missing(path)),
        }
    }

    fn diff(&self, doc: &Doc, path: &[&str], edits: &mut Edits) -> Result<(), MapError> {
        leaf(path, Self::KIND)?;
        let value = self.to_value().map_err(|e| MapError::value(path, e))?;
        let unchanged = match doc.register(path) {
            Some(now) => *now == value,
            // An absent register already reads as this value (`None` of an `Option`).
            None => T::absent().and_then(|a| a.to_value().ok()) == Some(value.clone()),
        };
        if unchanged {
            return Ok(());
        }
        edits.write(path, value)
    }

    fn create(&self, _: &Doc, path: &[&str], edits: &mut Edits) -> Result<(), MapError> {
        let value = self.to_value().map_err(|e| MapError::value(path, e))?;
        edits.write(path, value)
    }
}

impl Mapped for Counter {
    const KIND: Kind = Kind::Counter;

    fn read(doc: &Doc, path: &[&str]) -> Result<Self, MapError> {
        leaf(path, Self::KIND)?;
        Ok(Self(doc.counter(path)))
    }

    fn diff(&self, doc: &Doc, path: &[&str], edits: &mut Edits) -> Result<(), MapError> {
        leaf(path, Self::KIND)?;
        let now = doc.counter(path);
        let by = self.0.checked_sub(now).ok_or_else(|| {
            let value = format!("{} - {now}", self.0);
            let into = "an i64 increment";
            MapError::value(path, ValueError::OutOfRange { value, into })
        })?;
        if by == 0 {
            return Ok(());
        }
        edits.add(path, by)
    }
}

impl Mapped for Flag {
    const KIND: Kind = Kind::Flag;

    fn read(doc: &Doc, path: &[&str]) -> Result<Self, MapError> {
        leaf(path, Self::KIND)?;
        Ok(Self(doc.flag(path)))
    }

    fn diff(&self, doc: &Doc, path: &[&str], edits: &mut Edits) -> Result<(), MapError> {
        leaf(path, Self::KIND)?;
        if doc.flag(path) == self.0 {
            return Ok(());
        }
        edits.flag(path, self.0)
    }
}

/// Reads the set at `path` element by element.
fn read_set<E: ScalarValue>(doc: &Doc, path: &[&str]) -> Result<Vec<E>, MapError> {
    leaf(path, Kind::Set)?;
    doc.set_at(path)
        .into_iter()
        .flat_map(|s| s.iter())
        .map(|s| E::from_scalar(s).map_err(|e| MapError::value(path, e)))
        .collect()
}

/// Plans the inserts and removes that turn the set at `path` into `elements`.
fn diff_set<'a, E: ScalarValue + 'a>(
    elements: impl Iterator<Item = &'a E>,
    doc: &Doc,
    path: &[&str],
    edits: &mut Edits,
) -> Result<(), MapError> {
    leaf(path, Kind::Set)?;
    let wanted = elements
        .map(|e| e.to_scalar().map_err(|err| MapError::value(path, err)))
        .collect::<Result<Vec<Scalar>, _>>()?;
    let Some(now) = doc.set_at(path) else {
        return wanted.into_iter().try_for_each(|e| edits.insert(path, e));
    };
    let keep: HashSet<&Scalar> = wanted.iter().collect();
    for gone in now.iter().filter(|s| !keep.contains(s)) {
        edits.remove(path, gone.clone())?;
    }
    for new in wanted.iter().filter(|s| !now.contains(s)) {
        edits.insert(path, new.clone())?;
    }
    Ok(())
}

impl<E: ScalarValue + Ord> Mapped for BTreeSet<E> {
    const KIND: Kind = Kind::Set;

    fn read(doc: &Doc, path: &[&str]) -> Result<Self, MapError> {
        read_set(doc, path).map(Self::from_iter)
    }

    fn diff(&self, doc: &Doc, path: &[&str], edits: &mut Edits) -> Result<(), MapError> {
        diff_set(self.iter(), doc, path, edits)
    }
}

impl<E: ScalarValue + Hash + Eq, S: BuildHasher + Default> Mapped for HashSet<E, S> {
    const KIND: Kind = Kind::Set;

    fn read(doc: &Doc, path: &[&str]) -> Result<Self, MapError> {
        read_set(doc, path).map(Self::from_iter)
    }

    fn diff(&self, doc: &Doc, path: &[&str], edits: &mut Edits) -> Result<(), MapError> {
        diff_set(self.iter(), doc, path, edits)
    }
}

/// The names of the fields of `kind` in the map at `path` (the root for `&[]`).
fn names<'d>(doc: &'d Doc, path: &[&str], kind: Kind) -> Vec<&'d str> {
    let map = if path.is_empty() {
        Some(doc.root())
    } else {
        match doc.field(path, Kind::Map) {
            Some(Field::Map(m)) => Some(m),
            Some(_) | None => None,
        }
    };
    let keys = map.into_iter().flat_map(|m| m.keys());
    keys.filter(|k: &&FieldKey| k.kind == kind)
        .map(|k| k.name.as_str())
        .collect()
}

/// Reads every entry of the map at `path` that holds a `V`.
fn read_map<V: Mapped>(doc: &Doc, path: &[&str]) -> Result<Vec<(String, V)>, MapError> {
    names(doc, path, V::KIND)
        .into_iter()
        .map(|name| Ok((name.to_owned(), V::read(doc, &child(path, name))?)))
        .collect()
}

/// Plans the edits that turn the map at `path` into `entries`: each entry's own diff (a
/// [`create`](Mapped::create) for a key the map lacks), and a delete for each key of `V`'s
/// kind that `entries` lacks.
fn diff_map<'a, V: Mapped + 'a>(
    entries: impl Iterator<Item = (&'a String, &'a V)>,
    has: impl Fn(&str) -> bool,
    doc: &Doc,
    path: &[&str],
    edits: &mut Edits,
) -> Result<(), MapError> {
    let now = names(doc, path, V::KIND);
    for (name, value) in entries {
        if now.contains(&name.as_str()) {
            value.diff(doc, &child(path, name), edits)?;
        } else {
            value.create(doc, &child(path, name), edits)?;
        }
    }
    for gone in now.into_iter().filter(|n| !has(n)) {
        edits.delete(&child(path, gone))?;
    }
    Ok(())
}

impl<V: Mapped> Mapped for BTreeMap<String, V> {
    const KIND: Kind = Kind::Map;

    fn read(doc: &Doc, path: &[&str]) -> Result<Self, MapError> {
        read_map(doc, path).map(Self::from_iter)
    }

    fn diff(&self, doc: &Doc, path: &[&str], edits: &mut Edits) -> Result<(), MapError> {
        diff_map(self.iter(), |k| self.contains_key(k), doc, path, edits)
    }
}

impl<V: Mapped, S: BuildHasher + Default> Mapped for HashMap<String, V, S> {
    const KIND: Kind = Kind::Map;

    fn read(doc: &Doc, path: &[&str]) -> Result<Self, MapError> {
        read_map(doc, path).map(Self::from_iter)
    }

    fn diff(&self, doc: &Doc, path: &[&str], edits: &mut Edits) -> Result<(), MapError> {
        diff_map(self.iter(), |k| self.contains_key(k), doc, path, edits)
    }
}
