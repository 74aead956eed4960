//! Sequence decoding that never reserves memory on the input's word, in any serde format.
//!
//! serde's `Vec` visitor reserves the length a format declares (capped at 1 MiB per sequence),
//! and postcard declares any length the remaining bytes could hold. Nested sequences — lists in
//! register values, maps in maps — each reserve their own megabyte: a 200 KB input of nested
//! lists reserved 16 MiB. These visitors reserve at most [`PREALLOC_BYTES`] and grow with the
//! elements that actually decode, so memory follows the bytes received. The codec's own reader
//! also caps what it declares (`codec::body::PREALLOC_ELEMENTS`); these keep the value types
//! safe under plain serde formats too.

use core::fmt;
use core::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, SeqAccess, Visitor};
use smallvec::{Array, SmallVec};

/// The most a sequence reserves before its elements arrive.
const PREALLOC_BYTES: usize = 4096;

/// An empty `Vec` with room for what `seq` declares, up to [`PREALLOC_BYTES`].
pub(crate) fn with_capacity<'de, T, A: SeqAccess<'de>>(seq: &A) -> Vec<T> {
    let cap = PREALLOC_BYTES / core::mem::size_of::<T>().max(1);
    Vec::with_capacity(seq.size_hint().unwrap_or(0).min(cap))
}

struct VecVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for VecVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut out = with_capacity(&seq);
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(out)
    }
}

/// A `Vec` of decoded elements (for `#[serde(deserialize_with = …)]` and hand-written impls).
pub(crate) fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    d.deserialize_seq(VecVisitor(PhantomData))
}

/// A `SmallVec` of decoded elements: natively pushed into the `SmallVec` itself, so a
/// sequence that fits inline allocates nothing (a one-replica counter delta decodes without a
/// heap block); the npm module goes through [`vec`] instead, one visitor less in its code.
pub(crate) fn small_vec<'de, D, A>(d: D) -> Result<SmallVec<A>, D::Error>
where
    D: Deserializer<'de>,
    A: Array,
    A::Item: Deserialize<'de>,
{
    #[cfg(not(small_code))]
    return d.deserialize_seq(SmallVecVisitor(PhantomData));
    #[cfg(small_code)]
    return vec(d).map(SmallVec::from_vec);
}

#[cfg(not(small_code))]
struct SmallVecVisitor<A>(PhantomData<A>);

#[cfg(not(small_code))]
impl<'de, A: Array> Visitor<'de> for SmallVecVisitor<A>
where
    A::Item: Deserialize<'de>,
{
    type Value = SmallVec<A>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sequence")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<SmallVec<A>, S::Error> {
        let cap = PREALLOC_BYTES / core::mem::size_of::<A::Item>().max(1);
        let mut out = SmallVec::new();
        out.reserve(seq.size_hint().unwrap_or(0).min(cap));
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(out)
    }
}
