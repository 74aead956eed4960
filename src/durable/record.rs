//! The records of a store: versioned, each a checksummed frame of the wire codec. See
//! `src/durable/FORMAT.md`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::StoreError;
use crate::clock::Timestamp;
use crate::codec::DecodeLimits;
use crate::codec::{FrameKind, Reader, Writer};
use crate::id::ReplicaId;

/// The store format version this build writes (the first byte of every record's body; the
/// frame around it has its own [`FORMAT_VERSION`](crate::FORMAT_VERSION)). It reads this one
/// and every one down to [`OLDEST_STORE_FORMAT_VERSION`].
pub const STORE_FORMAT_VERSION: u8 = 2;

/// The oldest store format version this build reads: version 1, whose meta record names no
/// type (the next commit rewrites it as version 2).
pub const OLDEST_STORE_FORMAT_VERSION: u8 = 1;

/// The longest type name a meta record may hold.
const MAX_TYPE_NAME: usize = 64;

/// The meta record: whose store it is and, from version 2, of which type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Meta {
    /// The replica id.
    pub(crate) replica: ReplicaId,
    /// The [`Lattice::TYPE_NAME`](crate::lattice::Lattice::TYPE_NAME) it was written for
    /// (`None` for version 1, or a type without a name).
    pub(crate) type_name: Option<String>,
    /// The record's store format version.
    pub(crate) version: u8,
}

/// Record tags. Part of the format: never reorder or reuse them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tag {
    Meta = 0x01,
    Head = 0x02,
    Snapshot = 0x03,
    Log = 0x04,
}

impl Tag {
    const fn name(self) -> &'static str {
        match self {
            Self::Meta => "meta record",
            Self::Head => "head record",
            Self::Snapshot => "snapshot record",
            Self::Log => "log record",
        }
    }
}

/// The head: written with every commit, it says what the rest of the store must hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Head {
    /// The replica's sequence number `c`.
    pub(crate) seq: u64,
    /// The last timestamp its clock issued.
    pub(crate) hlc_last: Timestamp,
    /// The sequence number the snapshot covers (`D[0..snapshot_seq)` is in it).
    pub(crate) snapshot_seq: u64,
    /// The CRC-32 closing the snapshot record: binds the snapshot to this head.
    pub(crate) snapshot_crc: u32,
    /// The log holds exactly the entries `log_first..log_end`.
    pub(crate) log_first: u64,
    /// One past the last log entry (equal to `seq`).
    pub(crate) log_end: u64,
    /// Persisted acknowledgements `A[j]`, sorted by replica.
    pub(crate) acks: Vec<(ReplicaId, u64)>,
}

fn writer(tag: Tag) -> Writer {
    let mut w = Writer::new(FrameKind::Value);
    w.raw(&[STORE_FORMAT_VERSION, tag as u8]);
    w
}

/// Opens a record frame and checks its kind, store version and tag.
fn open<'a>(bytes: &'a [u8], limits: &'a DecodeLimits, tag: Tag) -> Result<Reader<'a>, StoreError> {
    open_versioned(bytes, limits, tag).map(|(r, _)| r)
}

/// [`open`], also returning the record's store format version.
fn open_versioned<'a>(
    bytes: &'a [u8],
    limits: &'a DecodeLimits,
    tag: Tag,
) -> Result<(Reader<'a>, u8), StoreError> {
    let what = tag.name();
    let (kind, mut r) =
        Reader::open_value(bytes, limits).map_err(|e| StoreError::decode(what, e))?;
    if kind != FrameKind::Value {
        return Err(StoreError::Corrupt {
            what: format!("{what}: frame kind {}", kind.name()),
        });
    }
    let [version, found] = r.fixed::<2>().map_err(|e| StoreError::decode(what, e))?;
    if !(OLDEST_STORE_FORMAT_VERSION..=STORE_FORMAT_VERSION).contains(&version) {
        return Err(StoreError::UnsupportedVersion {
            found: version,
            supported: STORE_FORMAT_VERSION,
        });
    }
    if found != tag as u8 {
        return Err(StoreError::Corrupt {
            what: format!("{what}: tag {found:#04x}"),
        });
    }
    Ok((r, version))
}

/// The CRC-32 that closes a record (its last four bytes).
pub(crate) fn crc_of(record: &[u8]) -> u32 {
    record
        .split_last_chunk::<4>()
        .map_or(0, |(_, crc)| u32::from_le_bytes(*crc))
}

pub(crate) fn encode_meta(replica: ReplicaId, type_name: Option<&str>) -> Vec<u8> {
    let mut w = writer(Tag::Meta);
    w.raw(replica.as_bytes())
        .bytes(type_name.unwrap_or_default().as_bytes());
    w.finish()
}

pub(crate) fn decode_meta(bytes: &[u8], limits: &DecodeLimits) -> Result<Meta, StoreError> {
    let what = Tag::Meta.name();
    let e = |err| StoreError::decode(what, err);
    let (mut r, version) = open_versioned(bytes, limits, Tag::Meta)?;
    let replica = ReplicaId::from_bytes(r.fixed::<16>().map_err(e)?);
    let type_name = if version >= 2 {
        let name = r.bytes().map_err(e)?;
        let name = core::str::from_utf8(name)
            .ok()
            .filter(|n| n.len() <= MAX_TYPE_NAME)
            .ok_or_else(|| StoreError::Corrupt {
                what: format!("{what}: a type name of {} bytes", name.len()),
            })?;
        (!name.is_empty()).then(|| name.to_owned())
    } else {
        None
    };
    r.end().map_err(e)?;
    Ok(Meta {
        replica,
        type_name,
        version,
    })
}

pub(crate) fn encode_head(head: &Head) -> Vec<u8> {
    let mut w = writer(Tag::Head);
    w.varint(head.seq)
        .varint(head.hlc_last.as_u64())
        .varint(head.snapshot_seq)
        .raw(&head.snapshot_crc.to_le_bytes())
        .varint(head.log_first)
        .varint(head.log_end)
        .varint(head.acks.len() as u64);
    for (id, ack) in &head.acks {
        w.raw(id.as_bytes()).varint(*ack);
    }
    w.finish()
}

pub(crate) fn decode_head(bytes: &[u8], limits: &DecodeLimits) -> Result<Head, StoreError> {
    let what = Tag::Head.name();
    let e = |err| StoreError::decode(what, err);
    let mut r = open(bytes, limits, Tag::Head)?;
    let seq = r.varint().map_err(e)?;
    let hlc_last = Timestamp::from_u64(r.varint().map_err(e)?);
    let snapshot_seq = r.varint().map_err(e)?;
    let snapshot_crc = u32::from_le_bytes(r.fixed::<4>().map_err(e)?);
    let log_first = r.varint().map_err(e)?;
    let log_end = r.varint().map_err(e)?;
    let count = r.varint().map_err(e)?;
    // Each ack takes at least 17 bytes: the vector grows with the bytes actually present.
    let mut acks = Vec::new();
    for _ in 0..count {
        let id = ReplicaId::from_bytes(r.fixed::<16>().map_err(e)?);
        acks.push((id, r.varint().map_err(e)?));
    }
    r.end().map_err(e)?;
    let head = Head {
        seq,
        hlc_last,
        snapshot_seq,
        snapshot_crc,
        log_first,
        log_end,
        acks,
    };
    let sorted = head
        .acks
        .windows(2)
        .all(|w| matches!(w, [a, b] if a.0 < b.0));
    if !(head.log_first <= head.snapshot_seq
        && head.snapshot_seq <= head.seq
        && head.log_end == head.seq
        && sorted)
    {
        return Err(StoreError::Corrupt {
            what: format!("{what}: inconsistent ranges {head:?}"),
        });
    }
    Ok(head)
}

pub(crate) fn encode_snapshot<T: Serialize>(seq: u64, state: &T) -> Result<Vec<u8>, StoreError> {
    let mut w = writer(Tag::Snapshot);
    w.varint(seq)
        .value(state)
        .map_err(|e| StoreError::Encode(e.to_string()))?;
    Ok(w.finish())
}

pub(crate) fn decode_snapshot<T: DeserializeOwned>(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<(u64, T), StoreError> {
    let what = Tag::Snapshot.name();
    let mut r = open(bytes, limits, Tag::Snapshot)?;
    let seq = r.varint().map_err(|e| StoreError::decode(what, e))?;
    let (value, _) = r.value::<T>().map_err(|e| StoreError::decode(what, e))?;
    Ok((seq, value))
}

/// [`encode_log`] of a delta already encoded as a payload (its replica table and body, as
/// `Writer::value` writes them): the same bytes, without encoding the delta again.
pub(crate) fn encode_log_payload(seq: u64, payload: &[u8], origin: Option<ReplicaId>) -> Vec<u8> {
    let mut w = writer(Tag::Log);
    w.varint(seq);
    match origin {
        None => w.raw(&[0]),
        Some(id) => w.raw(&[1]).raw(id.as_bytes()),
    };
    w.raw(payload);
    w.finish()
}

pub(crate) fn encode_log<T: Serialize>(
    seq: u64,
    delta: &T,
    origin: Option<ReplicaId>,
) -> Result<Vec<u8>, StoreError> {
    let mut w = writer(Tag::Log);
    w.varint(seq);
    match origin {
        None => w.raw(&[0]),
        Some(id) => w.raw(&[1]).raw(id.as_bytes()),
    };
    w.value(delta)
        .map_err(|e| StoreError::Encode(e.to_string()))?;
    Ok(w.finish())
}

/// A log entry: `(seq, delta, origin)`.
pub(crate) type LogEntry<T> = (u64, T, Option<ReplicaId>);

pub(crate) fn decode_log<T: DeserializeOwned>(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<LogEntry<T>, StoreError> {
    let what = Tag::Log.name();
    let e = |err| StoreError::decode(what, err);
    let mut r = open(bytes, limits, Tag::Log)?;
    let seq = r.varint().map_err(e)?;
    let origin = match r.fixed::<1>().map_err(e)? {
        [0] => None,
        [1] => Some(ReplicaId::from_bytes(r.fixed::<16>().map_err(e)?)),
        [flag] => {
            return Err(StoreError::Corrupt {
                what: format!("{what}: origin flag {flag:#04x}"),
            });
        }
    };
    let (value, _) = r.value::<T>().map_err(e)?;
    Ok((seq, value, origin))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crdt::GCounter;

    #[test]
    fn records_round_trip_and_refuse_other_tags() {
        let limits = DecodeLimits::default();
        let me = ReplicaId::from_u128(1);
        let meta = encode_meta(me, Some("GCounter"));
        let read = decode_meta(&meta, &limits).unwrap();
        assert_eq!(
            (read.replica, read.type_name.as_deref()),
            (me, Some("GCounter"))
        );
        let unnamed = decode_meta(&encode_meta(me, None), &limits).unwrap();
        assert_eq!((unnamed.type_name, unnamed.version), (None, 2));
        assert!(matches!(
            decode_head(&meta, &limits),
            Err(StoreError::Corrupt { .. })
        ));
        let delta = GCounter::default().increment(me, 3).into_inner();
        let log = encode_log(7, &delta, Some(me)).unwrap();
        // A log record from the payload encoded at buffering is byte for byte the same.
        let mut w = Writer::bare();
        w.value(&delta).unwrap();
        let payload = w.finish();
        assert_eq!(encode_log_payload(7, &payload, Some(me)), log);
        assert_eq!(
            encode_log_payload(7, &payload, None),
            encode_log(7, &delta, None).unwrap()
        );
        assert_eq!(
            decode_log::<GCounter>(&log, &limits),
            Ok((7, delta, Some(me)))
        );
        let head = Head {
            seq: 8,
            hlc_last: Timestamp::from_u64(99),
            snapshot_seq: 7,
            snapshot_crc: 5,
            log_first: 7,
            log_end: 8,
            acks: vec![(me, 7)],
        };
        assert_eq!(decode_head(&encode_head(&head), &limits), Ok(head));
    }
}
