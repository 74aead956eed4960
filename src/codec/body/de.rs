//! Reading a body: postcard's layout, under the frame's replica table and decode budget.

use postcard::Error as Layout;
use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use super::{PREALLOC_ELEMENTS, names};
use crate::clock::Timestamp;
use crate::codec::DecodeError;
use crate::id::ReplicaId;

/// The reader's error as serde sees it. Small on purpose: every `Result` of the generic decoding
/// code carries it, and a [`DecodeError`] there made the npm module ~10 KB larger. What a fault
/// was is kept in the reader ([`BodyReader::error`] turns the two back into a [`DecodeError`]).
#[derive(Debug)]
pub(crate) enum Fail {
    /// The bytes do not follow the layout.
    Layout(Layout),
    /// A value type's own check refused the value (serde's `custom`).
    Invalid,
    /// A limit or a table lookup failed; the reader holds the [`DecodeError`].
    Fault,
}

impl core::fmt::Display for Fail {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("bad body")
    }
}

impl std::error::Error for Fail {}

/// Semantic failures a value's own `Deserialize` impl reports (a dot outside its context, a
/// store not in canonical form, …) arrive through serde's `custom`; serde's syntactic complaints
/// (a variant index out of range, …) mean the bytes do not follow the layout.
impl de::Error for Fail {
    fn custom<T: core::fmt::Display>(_: T) -> Self {
        Self::Invalid
    }
    fn invalid_type(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Self::Layout(Layout::SerdeDeCustom)
    }
    fn invalid_value(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Self::Layout(Layout::SerdeDeCustom)
    }
    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        Self::Layout(Layout::SerdeDeCustom)
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Self::Layout(Layout::SerdeDeCustom)
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Self::Layout(Layout::SerdeDeCustom)
    }
    fn missing_field(_: &'static str) -> Self {
        Self::Layout(Layout::SerdeDeCustom)
    }
    fn duplicate_field(_: &'static str) -> Self {
        Self::Layout(Layout::SerdeDeCustom)
    }
}

/// What `DecodeError::Invalid` says when a value type's own check refused the value.
const INVALID: &str = "a rule of its type is broken (see FORMAT.md)";

const BAD_VARINT: Fail = Fail::Layout(Layout::DeserializeBadVarint);

/// Whether the last byte `byte` of a varint, at index `i`, sets no bit above `BITS` (postcard's
/// rule: only the final byte of a maximal-length varint is checked).
fn last_byte_fits<const BITS: u32>(i: u32, byte: u8) -> bool {
    i + 1 < BITS.div_ceil(7) || BITS.is_multiple_of(7) || byte < 1 << (BITS % 7)
}

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
    fault: Option<DecodeError>,
}

impl<'de, 'a> BodyReader<'de, 'a> {
    pub(crate) fn new(input: &'de [u8], table: &'a [ReplicaId], budget: Budget) -> Self {
        Self {
            input,
            table,
            budget,
            seen: Outcome::default(),
            fault: None,
        }
    }

    /// The bytes not read yet, and what the read learned.
    pub(crate) fn finish(self) -> (&'de [u8], Outcome) {
        (self.input, self.seen)
    }

    /// Keeps `fault` for [`error`](Self::error) and returns its stand-in.
    fn fault(&mut self, fault: DecodeError) -> Fail {
        self.fault = Some(fault);
        Fail::Fault
    }

    /// The [`DecodeError`] behind `fail`, a failure of this reader.
    pub(crate) fn error(&mut self, fail: Fail) -> DecodeError {
        match fail {
            Fail::Layout(layout) => layout.into(),
            Fail::Invalid => DecodeError::Invalid(INVALID.to_owned()),
            Fail::Fault => self
                .fault
                .take()
                .unwrap_or_else(|| DecodeError::Invalid(INVALID.to_owned())),
        }
    }

    #[inline(never)]
    fn take(&mut self, len: usize) -> Result<&'de [u8], Fail> {
        if len > self.input.len() {
            return Err(Fail::Layout(Layout::DeserializeUnexpectedEnd));
        }
        let (head, rest) = self.input.split_at(len);
        self.input = rest;
        Ok(head)
    }

    #[inline(never)]
    fn byte(&mut self) -> Result<u8, Fail> {
        let (&byte, rest) = self
            .input
            .split_first()
            .ok_or(Fail::Layout(Layout::DeserializeUnexpectedEnd))?;
        self.input = rest;
        Ok(byte)
    }

    fn fixed<const N: usize>(&mut self) -> Result<[u8; N], Fail> {
        let (head, rest) = self
            .input
            .split_first_chunk::<N>()
            .ok_or(Fail::Layout(Layout::DeserializeUnexpectedEnd))?;
        self.input = rest;
        Ok(*head)
    }

    /// A varint of a `BITS`-bit integer (`BITS` ≤ 64), with postcard's rules: at most
    /// `ceil(BITS / 7)` bytes, and no bits set above `BITS` in the last one. `u64` arithmetic:
    /// `u128` shifts would cost the npm module code size on every read.
    #[inline(never)]
    fn varint<const BITS: u32>(&mut self) -> Result<u64, Fail> {
        let max_bytes = BITS.div_ceil(7);
        let mut value = 0u64;
        for i in 0..max_bytes {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return last_byte_fits::<BITS>(i, byte)
                    .then_some(value)
                    .ok_or(BAD_VARINT);
            }
        }
        Err(BAD_VARINT)
    }

    /// [`varint`](Self::varint) for `u128`.
    fn varint128(&mut self) -> Result<u128, Fail> {
        let mut value = 0u128;
        for i in 0..128u32.div_ceil(7) {
            let byte = self.byte()?;
            value |= u128::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return last_byte_fits::<128>(i, byte)
                    .then_some(value)
                    .ok_or(BAD_VARINT);
            }
        }
        Err(BAD_VARINT)
    }

    #[inline(never)]
    fn u32(&mut self) -> Result<u32, Fail> {
        // At most 5 bytes with the last below 16: the value fits.
        Ok(u32::try_from(self.varint::<32>()?).unwrap_or(u32::MAX))
    }

    #[inline(never)]
    fn u64(&mut self) -> Result<u64, Fail> {
        self.varint::<64>()
    }

    #[inline(never)]
    fn len(&mut self) -> Result<usize, Fail> {
        usize::try_from(self.u64()?).map_err(|_| Fail::Layout(Layout::DeserializeBadVarint))
    }

    fn zigzag<const BITS: u32>(&mut self) -> Result<i64, Fail> {
        let raw = self.varint::<BITS>()?;
        #[allow(clippy::cast_possible_wrap)]
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// Charges one element to the budget.
    #[inline(never)]
    fn count(&mut self) -> Result<(), Fail> {
        match self.budget.elements_left.checked_sub(1) {
            Some(left) => {
                self.budget.elements_left = left;
                Ok(())
            }
            None => Err(self.fault(DecodeError::TooManyElements {
                max: self.budget.max_elements,
            })),
        }
    }

    /// Opens the levels and charges the elements an enum named `name` costs; returns whether a
    /// level was opened (to close after it). Not generic, so each enum type's decoder pays one
    /// call for it (the npm module's size).
    #[inline(never)]
    fn enter_enum(&mut self, name: &'static str) -> Result<bool, Fail> {
        let (deeper, counted) = match name {
            names::VALUE => (true, true),
            names::FIELD => (true, false),
            _ => return Ok(false),
        };
        if self.budget.depth >= self.budget.max_depth {
            return Err(self.fault(DecodeError::TooDeep {
                max: self.budget.max_depth,
            }));
        }
        self.budget.depth += 1;
        if counted {
            self.count()?;
        }
        Ok(deeper)
    }

    /// Charges the elements a struct named `name` costs (not generic, as [`enter_enum`](Self::enter_enum)).
    #[inline(never)]
    fn enter_struct(&mut self, name: &'static str) -> Result<(), Fail> {
        if name == names::DOT {
            self.count()?;
        }
        Ok(())
    }

    /// A replica reference: its table index, resolved.
    #[inline(never)]
    fn replica(&mut self) -> Result<ReplicaId, Fail> {
        self.count()?;
        let index = self.u32()?;
        match usize::try_from(index).ok().and_then(|i| self.table.get(i)) {
            Some(&id) => Ok(id),
            None => Err(self.fault(DecodeError::UnknownReplica {
                index: u64::from(index),
                table: self.table.len(),
            })),
        }
    }

    #[inline]
    fn seq<V: Visitor<'de>>(&mut self, len: usize, visitor: V) -> Result<V::Value, Fail> {
        visitor.visit_seq(Items {
            reader: self,
            left: len,
        })
    }
}

impl<'de> de::Deserializer<'de> for &mut BodyReader<'de, '_> {
    type Error = Fail;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fail> {
        Err(Fail::Layout(Layout::WontImplement))
    }
    #[inline]
    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        match self.byte()? {
            0 => visitor.visit_bool(false),
            1 => visitor.visit_bool(true),
            _ => Err(Fail::Layout(Layout::DeserializeBadBool)),
        }
    }
    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        visitor.visit_i8(i8::from_le_bytes(self.fixed()?))
    }
    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        #[allow(clippy::cast_possible_truncation)]
        visitor.visit_i16(self.zigzag::<16>()? as i16)
    }
    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        #[allow(clippy::cast_possible_truncation)]
        visitor.visit_i32(self.zigzag::<32>()? as i32)
    }
    #[inline]
    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        visitor.visit_i64(self.zigzag::<64>()?)
    }
    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        let raw = self.varint128()?;
        #[allow(clippy::cast_possible_wrap)]
        visitor.visit_i128(((raw >> 1) as i128) ^ -((raw & 1) as i128))
    }
    #[inline]
    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        visitor.visit_u8(self.byte()?)
    }
    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        #[allow(clippy::cast_possible_truncation)]
        visitor.visit_u16(self.varint::<16>()? as u16)
    }
    #[inline]
    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        visitor.visit_u32(self.u32()?)
    }
    #[inline]
    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        visitor.visit_u64(self.u64()?)
    }
    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        visitor.visit_u128(self.varint128()?)
    }
    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        visitor.visit_f32(f32::from_le_bytes(self.fixed()?))
    }
    #[inline]
    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        visitor.visit_f64(f64::from_le_bytes(self.fixed()?))
    }
    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        let bad = || Fail::Layout(Layout::DeserializeBadChar);
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
    #[inline]
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        let len = self.len()?;
        let bytes = self.take(len)?;
        let s =
            core::str::from_utf8(bytes).map_err(|_| Fail::Layout(Layout::DeserializeBadUtf8))?;
        visitor.visit_borrowed_str(s)
    }
    #[inline]
    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        self.deserialize_str(visitor)
    }
    #[inline]
    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        let len = self.len()?;
        visitor.visit_borrowed_bytes(self.take(len)?)
    }
    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        self.deserialize_bytes(visitor)
    }
    #[inline]
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        match self.byte()? {
            0 => visitor.visit_none(),
            1 => visitor.visit_some(self),
            _ => Err(Fail::Layout(Layout::DeserializeBadOption)),
        }
    }
    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        visitor.visit_unit()
    }
    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Fail> {
        visitor.visit_unit()
    }
    #[inline]
    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Fail> {
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
    #[inline]
    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        let len = self.len()?;
        self.seq(len, visitor)
    }
    #[inline]
    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Fail> {
        self.seq(len, visitor)
    }
    #[inline]
    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Fail> {
        self.seq(len, visitor)
    }
    #[inline]
    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Fail> {
        let len = self.len()?;
        visitor.visit_map(Items {
            reader: self,
            left: len,
        })
    }
    #[inline]
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Fail> {
        self.enter_struct(name)?;
        self.seq(fields.len(), visitor)
    }
    #[inline]
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Fail> {
        let deeper = self.enter_enum(name)?;
        let out = visitor.visit_enum(&mut *self);
        if deeper {
            self.budget.depth -= 1;
        }
        out
    }
    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fail> {
        Err(Fail::Layout(Layout::WontImplement))
    }
    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Fail> {
        Err(Fail::Layout(Layout::WontImplement))
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
    type Error = Fail;

    #[inline]
    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, Fail> {
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
    type Error = Fail;

    #[inline]
    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Fail> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.reader).map(Some)
    }

    #[inline]
    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Fail> {
        seed.deserialize(&mut *self.reader)
    }

    fn size_hint(&self) -> Option<usize> {
        self.hint()
    }
}

impl<'de> de::EnumAccess<'de> for &mut BodyReader<'de, '_> {
    type Error = Fail;
    type Variant = Self;

    #[inline]
    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), Fail> {
        let index = self.u32()?;
        let value = seed.deserialize(IntoDeserializer::<Fail>::into_deserializer(index))?;
        Ok((value, self))
    }
}

impl<'de> de::VariantAccess<'de> for &mut BodyReader<'de, '_> {
    type Error = Fail;

    fn unit_variant(self) -> Result<(), Fail> {
        Ok(())
    }
    #[inline]
    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Fail> {
        seed.deserialize(self)
    }
    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Fail> {
        self.seq(len, visitor)
    }
    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Fail> {
        self.seq(fields.len(), visitor)
    }
}
