//! Writing a body: postcard's layout, with replica ids interned into the frame's table.

use crate::platform::hash::HashMap;
use postcard::Error;
use serde::ser::{self, Impossible, Serialize};

use super::names;
use crate::id::{Ids, ReplicaId};

/// The replica table of one value being written: ids in first-seen order, and their indices.
/// Most values name one or two replicas (a delta names its writer): up to [`SCAN`] ids are
/// found by a scan of the table, with no hash map to allocate or hash into.
#[derive(Debug, Default)]
pub(crate) struct Interner {
    /// Inline up to four ids: writing a delta allocates no table.
    table: Ids,
    /// Built once the table outgrows [`SCAN`].
    index: HashMap<ReplicaId, u32>,
}

/// The table size up to which a scan finds an id.
const SCAN: usize = 16;

impl Interner {
    /// The index of `id`, adding it to the table the first time.
    fn intern(&mut self, id: ReplicaId) -> u32 {
        let next = u32::try_from(self.table.len()).unwrap_or(u32::MAX);
        // The npm module hashes every id: one code path less.
        if cfg!(not(small_code)) && self.table.len() <= SCAN {
            if let Some(i) = self.table.iter().position(|&t| t == id) {
                return u32::try_from(i).unwrap_or(u32::MAX);
            }
            self.table.push(id);
            if self.table.len() > SCAN {
                self.index = self.table.iter().zip(0..).map(|(&t, i)| (t, i)).collect();
            }
            return next;
        }
        *self.index.entry(id).or_insert_with(|| {
            self.table.push(id);
            next
        })
    }

    /// The table, in the order the ids were first met.
    pub(crate) fn into_table(self) -> Ids {
        self.table
    }
}

/// Where a body goes: bytes, or only their count.
pub(crate) trait Sink {
    fn push(&mut self, byte: u8);
    fn extend_from_slice(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte);
    }
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        Vec::extend_from_slice(self, bytes);
    }
}

/// Counts the bytes a body would take, writing none (sizing deltas for the buffer's caps
/// without encoding them; natively only: the npm module writes, to keep one serializer).
#[cfg(not(small_code))]
#[derive(Debug, Default)]
pub(crate) struct Count(pub(crate) usize);

#[cfg(not(small_code))]
impl Sink for Count {
    fn push(&mut self, _: u8) {
        self.0 += 1;
    }
    fn extend_from_slice(&mut self, bytes: &[u8]) {
        self.0 += bytes.len();
    }
}

/// A serde serializer writing postcard's layout into `out`; replica ids become table indices
/// (or, without an interner, stay 16 bytes as plain postcard writes them: a size estimate
/// that needs no table).
#[derive(Debug)]
pub(crate) struct BodyWriter<'a, O = Vec<u8>> {
    out: &'a mut O,
    replicas: Option<&'a mut Interner>,
}

impl<'a, O: Sink> BodyWriter<'a, O> {
    pub(crate) fn new(out: &'a mut O, replicas: &'a mut Interner) -> Self {
        Self {
            out,
            replicas: Some(replicas),
        }
    }

    /// A writer that keeps replica ids as their 16 bytes (no table).
    pub(crate) fn plain(out: &'a mut O) -> Self {
        Self {
            out,
            replicas: None,
        }
    }

    /// A varint. `u64` arithmetic: `u128` shifts cost the npm module code size on every write.
    fn varint(&mut self, mut value: u64) {
        while value >= 0x80 {
            // Truncation to the low 7 bits is the encoding.
            #[allow(clippy::cast_possible_truncation)]
            self.out.push((value as u8) | 0x80);
            value >>= 7;
        }
        #[allow(clippy::cast_possible_truncation)]
        self.out.push(value as u8);
    }

    fn zigzag(&mut self, value: i64) {
        #[allow(clippy::cast_sign_loss)]
        self.varint(((value << 1) ^ (value >> 63)) as u64);
    }

    /// A varint of a `u128` (only `u128` and `i128` fields pay for 128-bit arithmetic).
    fn varint128(&mut self, mut value: u128) {
        while value >= 0x80 {
            #[allow(clippy::cast_possible_truncation)]
            self.out.push((value as u8) | 0x80);
            value >>= 7;
        }
        #[allow(clippy::cast_possible_truncation)]
        self.out.push(value as u8);
    }

    fn len(&mut self, len: Option<usize>) -> Result<(), Error> {
        let len = len.ok_or(Error::SerializeSeqLengthUnknown)?;
        self.varint(len as u64);
        Ok(())
    }
}

impl<O: Sink> ser::Serializer for &mut BodyWriter<'_, O> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Self;
    type SerializeTuple = Self;
    type SerializeTupleStruct = Self;
    type SerializeTupleVariant = Self;
    type SerializeMap = Self;
    type SerializeStruct = Self;
    type SerializeStructVariant = Self;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.push(u8::from(v));
        Ok(())
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.zigzag(v.into());
        Ok(())
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.zigzag(v.into());
        Ok(())
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.zigzag(v);
        Ok(())
    }
    fn serialize_i128(self, v: i128) -> Result<(), Error> {
        #[allow(clippy::cast_sign_loss)]
        self.varint128(((v << 1) ^ (v >> 127)) as u128);
        Ok(())
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.out.push(v);
        Ok(())
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.varint(v.into());
        Ok(())
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.varint(v.into());
        Ok(())
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.varint(v);
        Ok(())
    }
    fn serialize_u128(self, v: u128) -> Result<(), Error> {
        self.varint128(v);
        Ok(())
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.out.extend_from_slice(&v.to_le_bytes());
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.serialize_bytes(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.varint(v.len() as u64);
        self.out.extend_from_slice(v);
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.push(0);
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        self.out.push(1);
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        Ok(())
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
    ) -> Result<(), Error> {
        self.serialize_u32(index)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        if name == names::REPLICA_ID && self.replicas.is_some() {
            let mut id = IdSink(None);
            value.serialize(&mut id)?;
            let id = id.0.ok_or(Error::SerdeSerCustom)?;
            let index = self
                .replicas
                .as_mut()
                .map_or(0, |r| r.intern(ReplicaId::from_bytes(id)));
            return self.serialize_u32(index);
        }
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.varint(index.into());
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self, Error> {
        self.len(len)?;
        Ok(self)
    }
    fn serialize_tuple(self, _: usize) -> Result<Self, Error> {
        Ok(self)
    }
    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self, Error> {
        Ok(self)
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Error> {
        self.varint(index.into());
        Ok(self)
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Self, Error> {
        self.len(len)?;
        Ok(self)
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self, Error> {
        Ok(self)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        index: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self, Error> {
        self.varint(index.into());
        Ok(self)
    }
}

/// The compound serializers: postcard writes items back to back, lengths were written up front.
macro_rules! compound {
    ($($trait:ident { $($method:ident $(, $key:ident)?;)* })*) => {$(
        impl<O: Sink> ser::$trait for &mut BodyWriter<'_, O> {
            type Ok = ();
            type Error = Error;
            $(fn $method<T: Serialize + ?Sized>(
                &mut self,
                $($key: &'static str,)?
                value: &T,
            ) -> Result<(), Error> {
                $(let _ = $key;)?
                value.serialize(&mut **self)
            })*
            fn end(self) -> Result<(), Error> {
                Ok(())
            }
        }
    )*};
}

compound! {
    SerializeSeq { serialize_element; }
    SerializeTuple { serialize_element; }
    SerializeTupleStruct { serialize_field; }
    SerializeTupleVariant { serialize_field; }
    SerializeStruct { serialize_field, key; }
    SerializeStructVariant { serialize_field, key; }
}

impl<O: Sink> ser::SerializeMap for &mut BodyWriter<'_, O> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        key.serialize(&mut **self)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut **self)
    }
    fn end(self) -> Result<(), Error> {
        Ok(())
    }
}

/// Catches the 16 bytes a `ReplicaId`'s UUID writes in a compact format; anything else is an error.
struct IdSink(Option<[u8; 16]>);

/// Every serializer method `IdSink` refuses.
macro_rules! refuse {
    ($($method:ident($($arg:ty),*) $(-> $ret:ty)?;)*) => {$(
        fn $method(self, $(_: $arg),*) -> Result<refuse!(@ret $($ret)?), Error> {
            Err(Error::SerdeSerCustom)
        }
    )*};
    (@ret) => { () };
    (@ret $ret:ty) => { $ret };
}

impl ser::Serializer for &mut IdSink {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Impossible<(), Error>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Impossible<(), Error>;
    type SerializeStructVariant = Impossible<(), Error>;

    fn is_human_readable(&self) -> bool {
        false
    }

    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        self.0 = Some(v.try_into().map_err(|_| Error::SerdeSerCustom)?);
        Ok(())
    }

    refuse! {
        serialize_bool(bool);
        serialize_i8(i8);
        serialize_i16(i16);
        serialize_i32(i32);
        serialize_i64(i64);
        serialize_u8(u8);
        serialize_u16(u16);
        serialize_u32(u32);
        serialize_u64(u64);
        serialize_f32(f32);
        serialize_f64(f64);
        serialize_char(char);
        serialize_str(&str);
        serialize_none();
        serialize_unit();
        serialize_unit_struct(&'static str);
        serialize_unit_variant(&'static str, u32, &'static str);
        serialize_seq(Option<usize>) -> Self::SerializeSeq;
        serialize_tuple(usize) -> Self::SerializeTuple;
        serialize_tuple_struct(&'static str, usize) -> Self::SerializeTupleStruct;
        serialize_tuple_variant(&'static str, u32, &'static str, usize) -> Self::SerializeTupleVariant;
        serialize_map(Option<usize>) -> Self::SerializeMap;
        serialize_struct(&'static str, usize) -> Self::SerializeStruct;
        serialize_struct_variant(&'static str, u32, &'static str, usize) -> Self::SerializeStructVariant;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<(), Error> {
        Err(Error::SerdeSerCustom)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(Error::SerdeSerCustom)
    }
}
