//! Reading a body: postcard's layout, under the frame's replica table and decode budget.

use postcard::Error as Layout;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::{PREALLOC_ELEMENTS, names};
use crate::causal::ReplicaId;
use crate::clock::Timestamp;
use crate::codec::DecodeError;

/// What one value may cost while it decodes: elements, and nesting levels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    /// Elements (replica references, dots, document values) still allowed.
    elements_left: usize,
    max_elements: usize,
    /// Nesting levels open now, and the most allowed.
    depth: u32,
    max_depth: u32,
}

impl Budget {
    pub(crate) fn new(max_elements: usize, max_depth: u32) -> Self {
        Self {
            elements_left: max_elements,
            max_elements,
            depth: 0,
            max_depth,
        }
    }
}

/// What a read learned besides the value.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Outcome {
    /// The greatest timestamp in the value, for the sync engine's drift check.
    pub(crate) max_timestamp: Option<Timestamp>,
}

/// A serde deserializer over one body, reading postcard's layout; replica ids are table indices.
#[derive(Debug)]
pub(crate) struct BodyReader<'de, 'a> {
    input: &'de [u8],
    table: &'a [ReplicaId],
    budget: Budget,
    seen: Outcome,
}

impl<'de, 'a> BodyReader<'de, 'a> {
    pub(crate) fn new(input: &'de [u8], table: &'a [ReplicaId], budget: Budget) -> Self {
        Self {
            input,
            table,
            budget,
            seen: Outcome::default(),
        }
    }

    /// The bytes not read yet, and what the read learned.
    pub(crate) fn finish(self) -> (&'de [u8], Outcome) {
        (self.input, self.seen)
    }

    fn take(&mut self, len: usize) -> Result<&'de [u8], DecodeError> {
        if len > self.input.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.input.split_at(len);
        self.input = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, DecodeError> {
        let (&byte, rest) = self.input.split_first().ok_or(DecodeError::Truncated)?;
        self.input = rest;
        Ok(byte)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self
            .input
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated)?;
        self.input = rest;
        Ok(*head)
    }

    /// A varint of a `BITS`-bit integer, with postcard's rules: at most `ceil(BITS / 7)` bytes,
    /// and no bits set above `BITS` in the last one.
    fn varint<const BITS: u32>(&mut self) -> Result<u128, DecodeError> {
        let max_bytes = BITS.div_ceil(7);
        let last_max = (1u8 << (BITS % 7)).wrapping_sub(1);
        let mut value = 0u128;
        for i in 0..max_bytes {
            let byte = self.byte()?;
            value |= u128::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                if i == max_bytes - 1 && !BITS.is_multiple_of(7) && byte > last_max {
                    break;
                }
                return Ok(value);
            }
        }
        Err(DecodeError::Malformed(Layout::DeserializeBadVarint))
    }

    fn u32(&mut self) -> Result<u32, DecodeError> {
        // At most 5 bytes with the last below 16: the value fits.
        Ok(u32::try_from(self.varint::<32>()?).unwrap_or(u32::MAX))
    }

    fn u64(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::try_from(self.varint::<64>()?).unwrap_or(u64::MAX))
    }

    fn len(&mut self) -> Result<usize, DecodeError> {
        usize::try_from(self.u64()?)
            .map_err(|_| DecodeError::Malformed(Layout::DeserializeBadVarint))
    }

    fn zigzag<const BITS: u32>(&mut self) -> Result<i128, DecodeError> {
        let raw = self.varint::<BITS>()?;
        #[allow(clippy::cast_possible_wrap)]
        Ok(((raw >> 1) as i128) ^ -((raw & 1) as i128))
    }

    /// Charges one element to the budget.
    fn count(&mut self) -> Result<(), DecodeError> {
        match self.budget.elements_left.checked_sub(1) {
            Some(left) => {
                self.budget.elements_left = left;
                Ok(())
            }
            None => Err(DecodeError::TooManyElements {
                max: self.budget.max_elements,
            }),
        }
    }

    /// Runs `f` one nesting level deeper.
    fn nested<R>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<R, DecodeError>,
    ) -> Result<R, DecodeError> {
        if self.budget.depth >= self.budget.max_depth {
            return Err(DecodeError::TooDeep {
                max: self.budget.max_depth,
            });
        }
        self.budget.depth += 1;
        let out = f(self);
        self.budget.depth -= 1;
        out
    }

    /// A replica reference: its table index, resolved.
    fn replica(&mut self) -> Result<ReplicaId, DecodeError> {
        self.count()?;
        let index = self.u32()?;
        usize::try_from(index)
            .ok()
            .and_then(|i| self.table.get(i).copied())
            .ok_or(DecodeError::UnknownReplica {
                index: u64::from(index),
                table: self.table.len(),
            })
    }

    fn seq<V: Visitor<'de>>(&mut self, len: usize, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_seq(Items {
            reader: self,
            left: len,
        })
    }
}

/// Semantic failures a value's own `Deserialize` impl reports (a dot outside its context, a
/// store not in canonical form, …) arrive through serde's `custom`; serde's syntactic complaints
/// (a variant index out of range, …) mean the bytes do not follow the layout.
impl de::Error for DecodeError {
    fn custom<T: core::fmt::Display>(msg: T) -> Self {
        Self::Invalid(msg.to_string())
    }
    fn invalid_type(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Self::Malformed(Layout::SerdeDeCustom)
    }
    fn invalid_value(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Self::Malformed(Layout::SerdeDeCustom)
    }
    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        Self::Malformed(Layout::SerdeDeCustom)
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Self::Malformed(Layout::SerdeDeCustom)
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Self::Malformed(Layout::SerdeDeCustom)
    }
    fn missing_field(_: &'static str) -> Self {
        Self::Malformed(Layout::SerdeDeCustom)
    }
    fn duplicate_field(_: &'static str) -> Self {
        Self::Malformed(Layout::SerdeDeCustom)
    }
}

impl<'de> de::Deserializer<'de> for &mut BodyReader<'de, '_> {
    type Error = DecodeError;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, DecodeError> {
        Err(DecodeError::Malformed(Layout::WontImplement))
    }
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.byte()? {
            0 => visitor.visit_bool(false),
            1 => visitor.visit_bool(true),
            _ => Err(DecodeError::Malformed(Layout::DeserializeBadBool)),
        }
    }
    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_i8(i8::from_le_bytes(self.fixed()?))
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        #[allow(clippy::cast_possible_truncation)]
        visitor.visit_i16(self.zigzag::<16>()? as i16)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        #[allow(clippy::cast_possible_truncation)]
        visitor.visit_i32(self.zigzag::<32>()? as i32)
    }
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        #[allow(clippy::cast_possible_truncation)]
        visitor.visit_i64(self.zigzag::<64>()? as i64)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_i128(self.zigzag::<128>()?)
    }
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_u8(self.byte()?)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        #[allow(clippy::cast_possible_truncation)]
        visitor.visit_u16(self.varint::<16>()? as u16)
    }
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_u32(self.u32()?)
    }
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_u64(self.u64()?)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_u128(self.varint::<128>()?)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_f32(f32::from_le_bytes(self.fixed()?))
    }
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_f64(f64::from_le_bytes(self.fixed()?))
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let bad = || DecodeError::Malformed(Layout::DeserializeBadChar);
        let len = self.len()?;
        if len > 4 {
            return Err(bad());
        }
        let bytes = self.take(len)?;
        let c = core::str::from_utf8(bytes)
            .ok()
            .and_then(|s| s.chars().next())
            .ok_or_else(bad)?;
        visitor.visit_char(c)
    }
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let len = self.len()?;
        let bytes = self.take(len)?;
        let s = core::str::from_utf8(bytes)
            .map_err(|_| DecodeError::Malformed(Layout::DeserializeBadUtf8))?;
        visitor.visit_borrowed_str(s)
    }
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let len = self.len()?;
        visitor.visit_borrowed_bytes(self.take(len)?)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_bytes(visitor)
    }
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match self.byte()? {
            0 => visitor.visit_none(),
            1 => visitor.visit_some(self),
            _ => Err(DecodeError::Malformed(Layout::DeserializeBadOption)),
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_unit()
    }
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        if name == names::REPLICA_ID {
            let id = self.replica()?;
            return visitor.visit_bytes(id.as_bytes());
        }
        if name == names::TIMESTAMP {
            let ts = Timestamp::from_u64(self.u64()?);
            self.seen.max_timestamp = Some(self.seen.max_timestamp.map_or(ts, |m| m.max(ts)));
            return visitor.visit_u64(ts.as_u64());
        }
        visitor.visit_newtype_struct(self)
    }
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let len = self.len()?;
        self.seq(len, visitor)
    }
    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.seq(len, visitor)
    }
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.seq(len, visitor)
    }
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let len = self.len()?;
        visitor.visit_map(Items {
            reader: self,
            left: len,
        })
    }
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        if name == names::DOT {
            self.count()?;
        }
        self.seq(fields.len(), visitor)
    }
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        if name == names::VALUE {
            return self.nested(|r| {
                r.count()?;
                visitor.visit_enum(r)
            });
        }
        if name == names::FIELD {
            return self.nested(|r| visitor.visit_enum(r));
        }
        visitor.visit_enum(self)
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value, DecodeError> {
        Err(DecodeError::Malformed(Layout::WontImplement))
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, DecodeError> {
        Err(DecodeError::Malformed(Layout::WontImplement))
    }
}

/// The items of a sequence, tuple, struct or map: `left` more to read.
struct Items<'r, 'de, 'a> {
    reader: &'r mut BodyReader<'de, 'a>,
    left: usize,
}

impl Items<'_, '_, '_> {
    fn hint(&self) -> Option<usize> {
        Some(self.left.min(PREALLOC_ELEMENTS))
    }
}

impl<'de> de::SeqAccess<'de> for Items<'_, 'de, '_> {
    type Error = DecodeError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        self.hint()
    }
}

impl<'de> de::MapAccess<'de> for Items<'_, 'de, '_> {
    type Error = DecodeError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        seed.deserialize(&mut *self.reader)
    }

    fn size_hint(&self) -> Option<usize> {
        self.hint()
    }
}

impl<'de> de::EnumAccess<'de> for &mut BodyReader<'de, '_> {
    type Error = DecodeError;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(
        self,
        seed: V,
    ) -> Result<(V::Value, Self), DecodeError> {
        let index = self.u32()?;
        let value = seed.deserialize(IntoDeserializer::<DecodeError>::into_deserializer(index))?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for &mut BodyReader<'de, '_> {
    type Error = DecodeError;

    fn unit_variant(self) -> Result<(), DecodeError> {
        Ok(())
    }
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(
        self,
        seed: T,
    ) -> Result<T::Value, DecodeError> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(
        self,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.seq(len, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        self.seq(fields.len(), visitor)
    }
}
