//! Value bodies: postcard's layout, written and read by the codec's own serde
//! [`Serializer`](serde::Serializer) and [`Deserializer`](serde::Deserializer), which carry the
//! frame's context explicitly.
//!
//! The value types below the codec implement plain serde and know nothing of frames. A few of
//! them give their serde shape a name the codec recognises ([`names`]); everything else is
//! written exactly as postcard writes it, so a body here is a postcard body byte for byte:
//!
//! - every [`ReplicaId`](crate::id::ReplicaId) is a varint index into the frame's replica
//!   table, built in first-seen order while writing ([`Interner`]) and looked up while reading;
//! - while reading, every replica reference, dot and document value is charged to the
//!   element budget, document maps and values count toward the nesting bound, and the greatest
//!   [`Timestamp`](crate::clock::Timestamp) is kept so the sync engine can check it for drift
//!   before anything is applied ([`Budget`], [`Outcome`]);
//! - sequences never reserve memory on the input's word beyond [`PREALLOC_ELEMENTS`].
//!
//! The state lives in the serializer and deserializer values, passed down by `&mut` the way
//! yrs passes its encoder: no thread-local, no global. The golden vectors in `tests/codec/golden.rs`
//! pin the bytes.

mod de;
mod ser;

pub(crate) use de::{BodyReader, Budget, Outcome};
#[cfg(not(small_code))]
pub(crate) use ser::Count;
pub(crate) use ser::{BodyWriter, Interner};

/// The most elements a sequence or map reserves room for before they arrive. serde's own
/// collections reserve what `size_hint` says; the reader says at most this, so memory follows
/// the elements that actually decode, not the length a peer declared.
pub(crate) const PREALLOC_ELEMENTS: usize = 64;

/// The serde names of the shapes the codec treats specially. Each value type owns its name (a
/// `SERDE_NAME` constant beside its serde impl); the codec only reads them. The golden vectors and
/// the limit tests fail if one drifts.
pub(crate) mod names {
    use crate::causal::dot::LocalDot;
    use crate::clock::Timestamp;
    use crate::document::{Field, Value};
    use crate::id::ReplicaId;

    /// A newtype around the UUID; in a body, an index into the replica table.
    pub(crate) const REPLICA_ID: &str = ReplicaId::SERDE_NAME;
    /// A newtype around the packed `u64`; the greatest one read is recorded.
    pub(crate) const TIMESTAMP: &str = Timestamp::SERDE_NAME;
    /// A dot inside a store (a struct): one element of the budget.
    pub(crate) const DOT: &str = LocalDot::SERDE_NAME;
    /// A document value (an enum): one element and one nesting level.
    pub(crate) const VALUE: &str = Value::SERDE_NAME;
    /// A document field's wire enum: one nesting level.
    pub(crate) const FIELD: &str = Field::SERDE_NAME;
}

#[cfg(test)]
mod tests {
    //! The body layout is postcard's: held to postcard itself on values without replica ids,
    //! where the two must agree byte for byte, and on arbitrary bytes, where they must accept and
    //! refuse the same inputs.

    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    use super::{BodyReader, BodyWriter, Budget, Interner};
    use crate::id::ReplicaId;

    /// Every shape of serde's data model that the crate's types or a user's elements may use.
    #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
    enum Shape {
        Unit,
        Small(i8, u8, i16, u16, char),
        Wide(i32, u32, i64, u64, i128, u128),
        Float(f32, f64),
        Text(String, Vec<u8>, Option<bool>),
        Nested(Vec<Shape>),
        Pair {
            key: String,
            value: Option<Box<Shape>>,
        },
    }

    fn shape() -> impl Strategy<Value = Shape> {
        let leaf = prop_oneof![
            Just(Shape::Unit),
            (
                any::<i8>(),
                any::<u8>(),
                any::<i16>(),
                any::<u16>(),
                any::<char>()
            )
                .prop_map(|(a, b, c, d, e)| Shape::Small(a, b, c, d, e)),
            (
                any::<i32>(),
                any::<u32>(),
                any::<i64>(),
                any::<u64>(),
                any::<i128>(),
                any::<u128>()
            )
                .prop_map(|(a, b, c, d, e, f)| Shape::Wide(a, b, c, d, e, f)),
            (any::<u32>(), any::<u64>())
                .prop_map(|(a, b)| Shape::Float(f32::from_bits(a), f64::from_bits(b))),
            (".{0,8}", any::<Vec<u8>>(), any::<Option<bool>>())
                .prop_map(|(a, b, c)| Shape::Text(a, b, c)),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Shape::Nested),
                (".{0,4}", prop::option::of(inner)).prop_map(|(key, value)| Shape::Pair {
                    key,
                    value: value.map(Box::new)
                }),
            ]
        })
    }

    fn write<T: Serialize>(value: &T) -> (Vec<u8>, Vec<ReplicaId>) {
        let (mut out, mut replicas) = (Vec::new(), Interner::default());
        value
            .serialize(&mut BodyWriter::new(&mut out, &mut replicas))
            .unwrap();
        (out, replicas.into_table().to_vec())
    }

    fn read<T: serde::de::DeserializeOwned>(
        bytes: &[u8],
        table: &[ReplicaId],
    ) -> Result<(T, usize), crate::codec::DecodeError> {
        let mut reader = BodyReader::new(bytes, table, Budget::new(usize::MAX, u32::MAX));
        let value = T::deserialize(&mut reader).map_err(|fail| reader.error(fail))?;
        Ok((value, reader.finish().0.len()))
    }

    proptest! {
        #[test]
        fn writes_what_postcard_writes(value in shape()) {
            let (ours, table) = write(&value);
            prop_assert!(table.is_empty());
            prop_assert_eq!(&ours, &postcard::to_allocvec(&value).unwrap());
            let (back, rest) = read::<Shape>(&ours, &[]).unwrap();
            prop_assert_eq!(rest, 0);
            // Floats compare by bits: NaN payloads survive the round trip.
            prop_assert_eq!(postcard::to_allocvec(&back).unwrap(), ours);
        }

        #[test]
        fn refuses_what_postcard_refuses(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let ours = read::<Shape>(&bytes, &[]).map(|(v, rest)| (postcard::to_allocvec(&v).unwrap(), rest));
            let theirs = postcard::take_from_bytes::<Shape>(&bytes)
                .map(|(v, rest)| (postcard::to_allocvec(&v).unwrap(), rest.len()));
            prop_assert_eq!(ours.is_ok(), theirs.is_ok(), "{:02x?}", bytes);
            if let (Ok(a), Ok(b)) = (ours, theirs) {
                prop_assert_eq!(a, b);
            }
        }
    }

    #[test]
    fn replica_ids_are_table_indices_in_first_seen_order() {
        let (a, b) = (ReplicaId::from_u128(7), ReplicaId::from_u128(3));
        let (bytes, table) = write(&vec![a, b, a, a, b]);
        assert_eq!(table, [a, b]);
        assert_eq!(bytes, [5, 0, 1, 0, 0, 1]);
        let (back, _) = read::<Vec<ReplicaId>>(&bytes, &table).unwrap();
        assert_eq!(back, [a, b, a, a, b]);
        assert!(matches!(
            read::<Vec<ReplicaId>>(&bytes, &table[..1]),
            Err(crate::codec::DecodeError::UnknownReplica { index: 1, table: 1 })
        ));
    }

    /// Past the scanned size the table is indexed: the same first-seen order either way.
    #[test]
    fn large_tables_keep_first_seen_order_and_one_index_per_id() {
        let ids: Vec<ReplicaId> = (0..40u128)
            .map(|i| ReplicaId::from_u128(i * 7919))
            .collect();
        let mut seq = ids.clone();
        seq.extend(ids.iter().rev());
        seq.extend(ids.iter().step_by(3));
        let (bytes, table) = write(&seq);
        assert_eq!(table, ids);
        let (back, _) = read::<Vec<ReplicaId>>(&bytes, &table).unwrap();
        assert_eq!(back, seq);
    }
}
