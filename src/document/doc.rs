//! `Doc`: a replicated JSON-like document.

use crate::causal::Causal;
use crate::causal::dot_store;
use crate::causal::{CausalContext, InvalidContext};
use crate::clock::Stamp;
use crate::crdt::OrMap;
use crate::id::ReplicaId;
use crate::lattice::{Delta, Lattice};

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

/// One local edit of a document, as a value: what the typed mutators
/// ([`increment`](Doc::increment), [`set`](Doc::set), …) each do, for callers that carry edits
/// around (bindings, command logs). Apply it with [`Doc::apply_edit`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Edit {
    /// Add to the counter (negative to subtract), like [`Doc::increment`].
    Add(i64),
    /// Write the register with this stamp, like [`Doc::set`].
    Write(Stamp, Value),
    /// Add a set element, like [`Doc::insert`].
    Insert(Scalar),
    /// Remove a set element, like [`Doc::remove_element`].
    Remove(Scalar),
    /// Turn the flag on or off, like [`Doc::set_flag`].
    Flag(bool),
    /// Delete every field with the path's last name, like [`Doc::delete`].
    Delete,
}

impl Edit {
    /// The kind of field the edit applies to ([`Delete`](Self::Delete): every kind; it acts on
    /// the parent map).
    fn kind(&self) -> Kind {
        match self {
            Self::Add(_) => Kind::Counter,
            Self::Write(..) => Kind::Register,
            Self::Insert(_) | Self::Remove(_) => Kind::Set,
            Self::Flag(_) => Kind::Flag,
            Self::Delete => Kind::Map,
        }
    }

    /// Applies the edit to `field` (already of [`kind`](Self::kind)).
    fn apply(self, field: &mut Field, r: ReplicaId) -> Delta<Field> {
        match (self, field) {
            (Self::Add(by), Field::Counter(c)) => c.add(r, by).map(Field::Counter),
            (Self::Write(stamp, value), Field::Register(reg)) => {
                reg.write(r, (stamp, value)).map(Field::Register)
            }
            (Self::Insert(element), Field::Set(s)) => s.insert(r, element).map(Field::Set),
            (Self::Remove(element), Field::Set(s)) => s.remove(&element).map(Field::Set),
            (Self::Flag(true), Field::Flag(flag)) => flag.enable(r).map(Field::Flag),
            (Self::Flag(false), Field::Flag(flag)) => flag.disable().map(Field::Flag),
            _ => Delta::new(Field::default()),
        }
    }
}

/// Removes every field named `name` from `map`.
fn remove_named(map: &mut Map, name: &str) -> Delta<Map> {
    let keys: Vec<FieldKey> = map.keys().filter(|k| k.name == name).cloned().collect();
    let mut delta = Delta::new(Map::default());
    for k in keys {
        delta.join(map.remove(&k));
    }
    delta
}

/// Applies `edit` to the field at `path` under `map`, creating maps on the way (a delete
/// acts on the map holding the path's last name). Not generic, and one `update` call for both
/// the field and the maps on the way: one copy serves every kind of edit (each closure type
/// would add a copy to a wasm module).
fn edit(
    map: &mut Map,
    replica: ReplicaId,
    path: &[&str],
    leaf: Edit,
) -> Result<Delta<Map>, PathError> {
    let Some((name, rest)) = path.split_first() else {
        return Err(PathError::Empty);
    };
    let kind = match (rest.is_empty(), &leaf) {
        (true, Edit::Delete) => return Ok(remove_named(map, name)),
        (true, leaf) => leaf.kind(),
        (false, _) => Kind::Map,
    };
    let mut result = Ok(());
    let delta = map.update(replica, key(name, kind), |field, r| {
        field.ensure(kind);
        if rest.is_empty() {
            return leaf.apply(field, r);
        }
        match field {
            Field::Map(inner) => match edit(inner, r, rest, leaf) {
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

impl Doc {
    /// Applies one [`Edit`] at `path` (the name of the field, after the names of the maps
    /// holding it) and returns its delta; `replica` is the one making the edit.
    ///
    /// # Errors
    /// [`PathError::Empty`] for an empty path.
    pub fn apply_edit(
        &mut self,
        replica: ReplicaId,
        path: &[&str],
        edit: Edit,
    ) -> Result<Delta<Self>, PathError> {
        Ok(self::edit(&mut self.root, replica, path, edit)?.map(|root| Self { root }))
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
        self.apply_edit(replica, path, Edit::Add(by))
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
        self.apply_edit(stamp.replica, path, Edit::Write(stamp, value))
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
        self.apply_edit(replica, path, Edit::Insert(element))
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
        self.apply_edit(replica, path, Edit::Remove(element.clone()))
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
        self.apply_edit(replica, path, Edit::Flag(on))
    }

    /// Deletes every field named by the last element of `path` (of any kind), with everything
    /// nested under it that this replica observed. Concurrent updates to it survive.
    ///
    /// # Errors
    /// [`PathError::Empty`] for an empty path.
    pub fn delete(&mut self, replica: ReplicaId, path: &[&str]) -> Result<Delta<Self>, PathError> {
        self.apply_edit(replica, path, Edit::Delete)
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
    pub fn set_at(&self, path: &[&str]) -> Option<&crate::crdt::OrSet<Scalar>> {
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
        dot_store::validate(&self.root)?;
        check_kinds(&self.root)
    }

    /// The part of the document that `ctx` lacks: [`outside`](dot_store::outside) of the root
    /// map (every field path down to the dots `ctx` has not seen, and the events it lacks).
    pub(crate) fn lacking(&self, ctx: &CausalContext) -> Self {
        Self {
            root: dot_store::outside(&self.root, ctx),
        }
    }

    /// Whether every dot index in the document equals one rebuilt from scratch: the invariant
    /// the index law checks.
    #[doc(hidden)]
    #[must_use]
    pub fn index_is_exact(&self) -> bool {
        self.root.index_is_exact()
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
    const TYPE_NAME: Option<&'static str> = Some("Doc");

    fn join(&mut self, other: Self) {
        self.root.join(other.root);
    }

    fn join_novelty(&mut self, incoming: Self) -> Option<Self> {
        self.root
            .join_novelty(incoming.root)
            .map(|root| Self { root })
    }

    fn is_bottom(&self) -> bool {
        self.root.is_bottom()
    }

    fn novelty(&self, incoming: &Self) -> Option<Self> {
        self.root.novelty(&incoming.root).map(|root| Self { root })
    }
}

/// By the root map's dots.
impl crate::causal::Reconcile for Doc {
    fn causal_context(&self, seal: dot_store::Seal) -> Option<&CausalContext> {
        self.root.causal_context(seal)
    }
    fn for_each_held(&self, f: &mut dyn FnMut(crate::causal::Dot), seal: dot_store::Seal) {
        self.root.for_each_held(f, seal);
    }
    #[cfg(feature = "reconcile")]
    fn for_each_held_digest(
        &self,
        f: &mut dyn FnMut(crate::causal::Dot, u64),
        seal: dot_store::Seal,
    ) {
        self.root.for_each_held_digest(f, seal);
    }
    fn outside(&self, ctx: &CausalContext, _: dot_store::Seal) -> Self {
        self.lacking(ctx)
    }
    fn removal(dots: CausalContext, seal: dot_store::Seal) -> Self {
        Self {
            root: Map::removal(dots, seal),
        }
    }
    fn conflicts(&self, incoming: &Self, seal: dot_store::Seal) -> Vec<crate::causal::Dot> {
        self.root.conflicts(&incoming.root, seal)
    }
    fn at_dots(&self, dots: &[crate::causal::Dot], seal: dot_store::Seal) -> Self {
        Self {
            root: self.root.at_dots(dots, seal),
        }
    }
    fn forget_dots(&mut self, dots: &[crate::causal::Dot], seal: dot_store::Seal) {
        self.root.forget_dots(dots, seal);
    }
    fn reissued(self, replica: crate::id::ReplicaId, seal: dot_store::Seal) -> Self {
        Self {
            root: self.root.reissued(replica, seal),
        }
    }
    #[cfg(feature = "reconcile")]
    fn hold_beyond(
        &mut self,
        bound: crate::clock::Timestamp,
        state: &Self,
        _: dot_store::Seal,
    ) -> Option<crate::causal::reconcile::Split<Self>> {
        Some(Self::hold_beyond(self, bound, state))
    }
}

#[cfg(feature = "serde")]
mod serde_impl {
    use super::Doc;
    use crate::document::decode::Root;
    use serde::de::DeserializeSeed;
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
                root: Root.deserialize(d)?,
            };
            super::check_kinds(&doc.root).map_err(serde::de::Error::custom)?;
            Ok(doc)
        }
    }
}
