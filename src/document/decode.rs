//! Decoding documents in any serde format, with the nesting bound passed down explicitly.
//!
//! Maps nest in maps and register values in lists and objects, and serde decodes them by
//! recursion: without a bound, a few hundred kilobytes of crafted bytes overflow the stack, which
//! aborts the process. The depth travels down as a [`DeserializeSeed`] (serde's way to hand state
//! to a nested decode): nested maps count one level each, and so do the lists and objects of a
//! register value, each up to [`MAX_NESTING`]. The codec charges the same shapes against its own
//! [`DecodeLimits::max_depth`](crate::DecodeLimits) as well, before these checks run.

use core::fmt;
use core::marker::PhantomData;
use std::collections::BTreeMap;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, Error as _, Visitor};

use super::{Field, FieldKey, Register, Value};
use crate::causal::CausalContext;
use crate::causal::dot_map::DotMap;
use crate::causal::dot_store::{CausalParts, SEAL, StoreOps, validate};
use crate::crdt::{CausalCounter, EwFlag, OrMap, OrSet};

/// The deepest nesting of document maps, or of lists and objects in a register, that decodes.
pub const MAX_NESTING: u32 = 128;

fn too_deep<E: de::Error>() -> E {
    E::custom(format_args!("nesting deeper than {MAX_NESTING} levels"))
}

/// An enum variant, by index (compact formats) or by name (human-readable ones).
struct Variant<const N: usize>(&'static [&'static str; N]);

impl<'de, const N: usize> DeserializeSeed<'de> for Variant<N> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<usize, D::Error> {
        d.deserialize_identifier(self)
    }
}

impl<const N: usize> Visitor<'_> for Variant<N> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a variant")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<usize, E> {
        usize::try_from(v)
            .ok()
            .filter(|&i| i < N)
            .ok_or_else(|| E::invalid_value(de::Unexpected::Unsigned(v), &self))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<usize, E> {
        self.0
            .iter()
            .position(|name| *name == v)
            .ok_or_else(|| E::unknown_variant(v, self.0))
    }
    fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<usize, E> {
        let s = core::str::from_utf8(v)
            .map_err(|_| E::invalid_value(de::Unexpected::Bytes(v), &"a variant name"))?;
        self.visit_str(s)
    }
}

const VALUE_VARIANTS: &[&str; 4] = &["Null", "Scalar", "List", "Object"];

/// A [`Value`] inside `.0` open levels.
struct ValueSeed(u32);

impl<'de> DeserializeSeed<'de> for ValueSeed {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_enum(Value::SERDE_NAME, VALUE_VARIANTS, self)
    }
}

impl<'de> Visitor<'de> for ValueSeed {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a document value")
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let depth = self.0 + 1;
        if depth > MAX_NESTING {
            return Err(too_deep());
        }
        let (variant, access) = data.variant_seed(Variant(VALUE_VARIANTS))?;
        use de::VariantAccess as _;
        match variant {
            0 => access.unit_variant().map(|()| Value::Null),
            1 => access.newtype_variant().map(Value::Scalar),
            2 => access.newtype_variant_seed(List(depth)).map(Value::List),
            _ => access
                .newtype_variant_seed(Object(depth))
                .map(Value::Object),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        ValueSeed(0).deserialize(d)
    }
}

/// The items of a list inside `.0` open levels.
struct List(u32);

impl<'de> DeserializeSeed<'de> for List {
    type Value = Vec<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<Value>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for List {
    type Value = Vec<Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of values")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Value>, A::Error> {
        let mut out = crate::bounded::with_capacity(&seq);
        while let Some(v) = seq.next_element_seed(ValueSeed(self.0))? {
            out.push(v);
        }
        Ok(out)
    }
}

/// The fields of an object inside `.0` open levels (a repeated key: the last one wins).
struct Object(u32);

impl<'de> DeserializeSeed<'de> for Object {
    type Value = BTreeMap<String, Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Object {
    type Value = BTreeMap<String, Value>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of values")
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(ValueSeed(self.0))?;
            out.insert(key, value);
        }
        Ok(out)
    }
}

const FIELD_VARIANTS: &[&str; 5] = &["Counter", "Register", "Set", "Flag", "Map"];

/// A [`Field`] inside `.0` open levels.
struct FieldSeed(u32);

impl<'de> DeserializeSeed<'de> for FieldSeed {
    type Value = Field;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Field, D::Error> {
        d.deserialize_enum(Field::SERDE_NAME, FIELD_VARIANTS, self)
    }
}

impl<'de> Visitor<'de> for FieldSeed {
    type Value = Field;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a document field")
    }

    /// A nested field ships only its store (the map's context is shared).
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Field, A::Error> {
        let depth = self.0 + 1;
        if depth > MAX_NESTING {
            return Err(too_deep());
        }
        let (variant, access) = data.variant_seed(Variant(FIELD_VARIANTS))?;
        use de::VariantAccess as _;
        Ok(match variant {
            0 => Field::Counter(CausalCounter::from_wire(access.newtype_variant()?, SEAL)),
            1 => Field::Register(Register::from_wire(access.newtype_variant()?, SEAL)),
            2 => Field::Set(OrSet::from_wire(access.newtype_variant()?, SEAL)),
            3 => Field::Flag(EwFlag::from_wire(access.newtype_variant()?, SEAL)),
            _ => Field::Map(OrMap::from_wire(
                access.newtype_variant_seed(Fields(depth))?,
                SEAL,
            )),
        })
    }
}

impl<'de> Deserialize<'de> for Field {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        FieldSeed(0).deserialize(d)
    }
}

/// The store of a nested map: `(key, field)` entries inside `.0` open levels.
struct Fields(u32);

type FieldStore = <OrMap<FieldKey, Field> as CausalParts>::Store;

impl<'de> DeserializeSeed<'de> for Fields {
    type Value = FieldStore;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<FieldStore, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Fields {
    type Value = FieldStore;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the entries of a document map")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<FieldStore, A::Error> {
        let mut map = DotMap::default();
        while let Some((key, field)) = seq.next_element_seed(Entry(self.0, PhantomData))? {
            map.insert_decoded(key, field).map_err(A::Error::custom)?;
        }
        Ok(map)
    }
}

/// One `(key, field)` entry of a nested map.
struct Entry<'de>(u32, PhantomData<&'de ()>);

impl<'de> DeserializeSeed<'de> for Entry<'de> {
    type Value = (FieldKey, Field);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_tuple(2, self)
    }
}

impl<'de> Visitor<'de> for Entry<'de> {
    type Value = (FieldKey, Field);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a (key, field) pair")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let key = seq
            .next_element::<FieldKey>()?
            .ok_or_else(|| A::Error::invalid_length(0, &self))?;
        let field = seq
            .next_element_seed(FieldSeed(self.0))?
            .ok_or_else(|| A::Error::invalid_length(1, &self))?;
        Ok((key, field))
    }
}

/// The root map of a document: its context, then its entries (the shape of a causal type),
/// validated like every causal type. The entries decode through [`Fields`], as nested maps do,
/// so one decoder serves every level.
pub(super) struct Root;

impl<'de> DeserializeSeed<'de> for Root {
    type Value = OrMap<FieldKey, Field>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_tuple(2, self)
    }
}

impl<'de> Visitor<'de> for Root {
    type Value = OrMap<FieldKey, Field>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a document (context, entries)")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let ctx = seq
            .next_element::<CausalContext>()?
            .ok_or_else(|| A::Error::invalid_length(0, &self))?;
        let store = seq
            .next_element_seed(Fields(0))?
            .ok_or_else(|| A::Error::invalid_length(1, &self))?;
        let root = OrMap::from_parts(store, ctx, SEAL);
        validate(&root).map_err(A::Error::custom)?;
        Ok(root)
    }
}
