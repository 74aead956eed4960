//! `Doc`: a replicated JSON-like document.

use crate::causal::Causal;
use crate::causal::store;
use crate::{CausalContext, Delta, InvalidContext, Lattice, OrMap, ReplicaId, Stamp};

use super::field::{Field, FieldKey, Kind, Register};
use super::{Scalar, Value};

/// A path that names no field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// The path is empty: it must end with the field's name.
    #[error("a document path must name at least one field")]
    Empty,
}

/// A replicated document: an [`OrMap`] of dynamically typed fields — counters, last-writer-wins
/// registers of JSON-like values, add-wins sets of scalars, enable-wins flags and nested maps.
///
/// A field is addressed by a path of map names ending with its own name, and keyed by
/// `(name, kind)`: the same name used as a counter on one replica and as a set on another gives
/// two fields, never a conflict. Every mutation returns a [`Delta<Doc>`] like any other type, and
/// the whole document is one causal context, so removing a map removes everything observed under
/// it while concurrent edits inside it survive.
///
/// # Examples
/// ```
/// use deltacrdt::{Doc, Hlc, Lattice, ReplicaId};
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let mut clock = Hlc::builder(a).clock(|| 1_700_000_000_000u64).build()?;
/// let mut x = Doc::default();
/// let mut y = Doc::default();
/// let d1 = x.increment(a, &["likes"], 2)?;
/// let d2 = x.set(clock.now()?, &["task", "title"], "ship it".into())?;
/// let d3 = y.insert(b, &["task", "tags"], "urgent".into())?;
/// y.apply(d1);
/// y.apply(d2);
/// x.apply(d3);
/// assert_eq!(x, y);
/// # #[cfg(feature = "serde")]
/// assert_eq!(
///     x.to_json(),
///     serde_json::json!({"likes": 2, "task": {"tags": ["urgent"], "title": "ship it"}})
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Doc {
    root: OrMap<FieldKey, Field>,
}

pub(super) type Map = OrMap<FieldKey, Field>;

fn key(name: &str, kind: Kind) -> FieldKey {
    FieldKey {
        name: name.to_owned(),
        kind,
    }
}

/// Applies `f` to the field of `kind` at `path` under `map`, creating maps on the way.
fn edit<F>(
    map: &mut Map,
    replica: ReplicaId,
    path: &[&str],
    kind: Kind,
    f: F,
) -> Result<Delta<Map>, PathError>
where
    F: FnOnce(&mut Field, ReplicaId) -> Delta<Field>,
{
    match path {
        [] => Err(PathError::Empty),
        [name] => Ok(map.update(replica, key(name, kind), |field, r| {
            field.ensure(kind);
            f(field, r)
        })),
        [name, rest @ ..] => {
            let mut result = Ok(());
            let delta = map.update(replica, key(name, Kind::Map), |field, r| {
                field.ensure(Kind::Map);
                match field {
                    Field::Map(inner) => match edit(inner, r, rest, kind, f) {
                        Ok(d) => d.map(Field::Map),
                        Err(e) => {
                            result = Err(e);
                            Delta::new(Field::default())
                        }
                    },
                    _ => Delta::new(Field::default()),
                }
            });
            result.map(|()| delta)
        }
    }
}

impl Doc {
    fn edit<F>(
        &mut self,
        replica: ReplicaId,
        path: &[&str],
        kind: Kind,
        f: F,
    ) -> Result<Delta<Self>, PathError>
    where
        F: FnOnce(&mut Field, ReplicaId) -> Delta<Field>,
    {
        Ok(edit(&mut self.root, replica, path, kind, f)?.map(|root| Self { root }))
    }

    /// Adds `by` (negative to subtract) to the counter at `path`.
    ///
    /// # Errors
    /// [`PathError::Empty`] for an empty path.
    pub fn increment(
        &mut self,
        replica: ReplicaId,
        path: &[&str],
        by: i64,
    ) -> Result<Delta<Self>, PathError> {
        self.edit(replica, path, Kind::Counter, |f, r| match f {
            Field::Counter(c) => c.add(r, by).map(Field::Counter),
            _ => Delta::new(Field::default()),
        })
    }

    /// Writes `value` to the register at `path`; the write with the greatest stamp wins.
    ///
    /// # Errors
    /// [`PathError::Empty`] for an empty path.
    pub fn set(
        &mut self,
        stamp: Stamp,
        path: &[&str],
        value: Value,
    ) -> Result<Delta<Self>, PathError> {
        self.edit(stamp.replica, path, Kind::Register, |f, r| match f {
            Field::Register(reg) => reg.write(r, (stamp, value)).map(Field::Register),
            _ => Delta::new(Field::default()),
        })
    }

    /// Adds `element` to the set at `path` (add wins over a concurrent removal).
    ///
    /// # Errors
    /// [`PathError::Empty`] for an empty path.
    pub fn insert(
        &mut self,
        replica: ReplicaId,
        path: &[&str],
        element: Scalar,
    ) -> Result<Delta<Self>, PathError> {
        self.edit(replica, path, Kind::Set, |f, r| match f {
            Field::Set(s) => s.insert(r, element).map(Field::Set),
            _ => Delta::new(Field::default()),
        })
    }

    /// Removes `element` from the set at `path`.
    ///
    /// # Errors
    /// [`PathError::Empty`] for an empty path.
    pub fn remove_element(
        &mut self,
        replica: ReplicaId,
        path: &[&str],
        element: &Scalar,
    ) -> Result<Delta<Self>, PathError> {
        self.edit(replica, path, Kind::Set, |f, _| match f {
            Field::Set(s) => s.remove(element).map(Field::Set),
            _ => Delta::new(Field::default()),
        })
    }

    /// Turns the flag at `path` on (`true`) or off (`false`); enable wins over a concurrent disable.
    ///
    /// # Errors
    /// [`PathError::Empty`] for an empty path.
    pub fn set_flag(
        &mut self,
        replica: ReplicaId,
        path: &[&str],
        on: bool,
    ) -> Result<Delta<Self>, PathError> {
        self.edit(replica, path, Kind::Flag, |f, r| match f {
            Field::Flag(flag) if on => flag.enable(r).map(Field::Flag),
            Field::Flag(flag) => flag.disable().map(Field::Flag),
            _ => Delta::new(Field::default()),
        })
    }

    /// Deletes every field named by the last element of `path` (of any kind), with everything
    /// nested under it that this replica observed. Concurrent updates to it survive.
    ///
    /// # Errors
    /// [`PathError::Empty`] for an empty path.
    pub fn delete(&mut self, replica: ReplicaId, path: &[&str]) -> Result<Delta<Self>, PathError> {
        let Some((name, parents)) = path.split_last() else {
            return Err(PathError::Empty);
        };
        let remove_all = |map: &mut Map| {
            let keys: Vec<FieldKey> = map.keys().filter(|k| k.name == *name).cloned().collect();
            let mut delta = Delta::new(Map::default());
            for k in keys {
                delta.join(map.remove(&k));
            }
            delta
        };
        if parents.is_empty() {
            return Ok(remove_all(&mut self.root).map(|root| Self { root }));
        }
        self.edit(replica, parents, Kind::Map, |f, _| match f {
            Field::Map(m) => remove_all(m).map(Field::Map),
            _ => Delta::new(Field::default()),
        })
    }

    /// The field of `kind` at `path`, if present.
    #[must_use]
    pub fn field(&self, path: &[&str], kind: Kind) -> Option<&Field> {
        let (name, parents) = path.split_last()?;
        let mut map = &self.root;
        for p in parents {
            match map.get(&key(p, Kind::Map))? {
                Field::Map(m) => map = m,
                _ => return None,
            }
        }
        map.get(&key(name, kind))
    }

    /// The counter at `path` (0 if absent).
    #[must_use]
    pub fn counter(&self, path: &[&str]) -> i64 {
        match self.field(path, Kind::Counter) {
            Some(Field::Counter(c)) => c.value(),
            _ => 0,
        }
    }

    /// The register value at `path`: the write with the greatest stamp.
    #[must_use]
    pub fn register(&self, path: &[&str]) -> Option<&Value> {
        match self.field(path, Kind::Register)? {
            Field::Register(r) => Field::register_value(r),
            _ => None,
        }
    }

    /// The register at `path` with every concurrent write (for showing conflicts).
    #[must_use]
    pub fn register_writes(&self, path: &[&str]) -> Option<&Register> {
        match self.field(path, Kind::Register)? {
            Field::Register(r) => Some(r),
            _ => None,
        }
    }

    /// The set at `path`, if present.
    #[must_use]
    pub fn set_at(&self, path: &[&str]) -> Option<&crate::OrSet<Scalar>> {
        match self.field(path, Kind::Set)? {
            Field::Set(s) => Some(s),
            _ => None,
        }
    }

    /// The flag at `path` (`false` if absent).
    #[must_use]
    pub fn flag(&self, path: &[&str]) -> bool {
        matches!(self.field(path, Kind::Flag), Some(Field::Flag(f)) if f.value())
    }

    /// The root map.
    #[must_use]
    pub fn root(&self) -> &OrMap<FieldKey, Field> {
        &self.root
    }

    /// The document's causal context.
    #[must_use]
    pub fn context(&self) -> &CausalContext {
        self.root.context()
    }

    /// Checks a decoded document: a well-formed context covering every dot, canonical stores,
    /// and every field of the kind its key names.
    ///
    /// # Errors
    /// The first violation found.
    pub fn validate(&self) -> Result<(), InvalidContext> {
        store::validate(&self.root)?;
        check_kinds(&self.root)
    }
}

/// Every field of `map` (recursively) is of the kind its key names and shares the map's context.
fn check_kinds(map: &Map) -> Result<(), InvalidContext> {
    for (k, f) in map.iter() {
        if k.kind != f.kind() {
            return Err(InvalidContext::NotCanonical(
                "a field's kind differs from its key's",
            ));
        }
        if !f.context().is_empty() {
            return Err(InvalidContext::NotCanonical(
                "a nested field carries its own context",
            ));
        }
        if let Field::Map(m) = f {
            check_kinds(m)?;
        }
    }
    Ok(())
}

impl Lattice for Doc {
    fn join(&mut self, other: Self) {
        self.root.join(other.root);
    }

    fn join_delta_group(&mut self, other: Self) {
        self.root.join_delta_group(other.root);
    }

    fn join_novelty(&mut self, incoming: Self) -> Option<Self> {
        self.root
            .join_novelty(incoming.root)
            .map(|root| Self { root })
    }

    fn novelty(&self, incoming: &Self) -> Option<Self> {
        self.root.novelty(&incoming.root).map(|root| Self { root })
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::{Doc, Map};
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    impl Serialize for Doc {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            self.root.serialize(s)
        }
    }

    impl<'de> Deserialize<'de> for Doc {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            // The root map's own decoding validated its context and stores; only the field
            // kinds are left to check.
            let doc = Self {
                root: Map::deserialize(d)?,
            };
            super::check_kinds(&doc.root).map_err(crate::codec::session::invalid)?;
            Ok(doc)
        }
    }
}
