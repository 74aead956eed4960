//! The frame layout: header, varints, replica table, postcard body. See `FORMAT.md`.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::body::{BodyReader, BodyWriter, Budget, Interner, Outcome};
use super::{DecodeError, DecodeLimits, EncodeError};
use crate::document::MAX_NESTING;
use crate::id::{Ids, ReplicaId};

/// The two bytes every frame starts with.
pub(crate) const MAGIC: [u8; 2] = *b"DC";

/// The format version this build reads and writes (the rules of change and the whole format
/// follow).
///
/// # The wire format
///
/// The wire format: versioned frames with postcard bodies, decoded under [`DecodeLimits`].
///
/// Every frame is `"DC"`, a format version byte, a kind byte, then the body. Values inside a
/// frame are preceded by a replica table; inside the value each [`ReplicaId`](crate::ReplicaId)
/// is a varint index into it. The full layout, with worked bytes, is in `src/codec/FORMAT.md`
/// (rendered below); golden byte vectors in `tests/codec/golden.rs` pin it.
///
/// Decoding checks the frame size first, checks every count against the bytes left before
/// allocating, charges elements and nesting to [`DecodeLimits`], then validates the value's
/// semantics. It never panics, and nothing is applied to a replica until all of it passed.
#[doc = include_str!("FORMAT.md")]
pub const FORMAT_VERSION: u8 = 1;

/// Frame kinds. The byte values are part of the format: never reorder or reuse them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FrameKind {
    Hello = 0x01,
    Delta = 0x02,
    State = 0x03,
    Chunk = 0x04,
    Ack = 0x05,
    Summary = 0x06,
    Sketch = 0x07,
    Verdict = 0x08,
    Digest = 0x09,
    #[cfg(feature = "reconcile")]
    Holds = 0x0a,
    #[cfg(feature = "reconcile")]
    Skew = 0x0b,
    Value = 0x10,
}

impl FrameKind {
    fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            0x01 => Self::Hello,
            0x02 => Self::Delta,
            0x03 => Self::State,
            0x04 => Self::Chunk,
            0x05 => Self::Ack,
            0x06 => Self::Summary,
            0x07 => Self::Sketch,
            0x08 => Self::Verdict,
            0x09 => Self::Digest,
            #[cfg(feature = "reconcile")]
            0x0a => Self::Holds,
            #[cfg(feature = "reconcile")]
            0x0b => Self::Skew,
            0x10 => Self::Value,
            _ => return None,
        })
    }

    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Hello => "hello",
            Self::Delta => "delta",
            Self::State => "state",
            Self::Chunk => "chunk",
            Self::Ack => "ack",
            Self::Summary => "summary",
            Self::Sketch => "sketch",
            Self::Verdict => "verdict",
            Self::Digest => "digest",
            #[cfg(feature = "reconcile")]
            Self::Holds => "holds",
            #[cfg(feature = "reconcile")]
            Self::Skew => "skew",
            Self::Value => "value",
        }
    }
}

/// The CRC-32 of `bytes`: closes every frame, and identifies a chunked payload.
pub(crate) fn checksum(bytes: &[u8]) -> u32 {
    crate::platform::crc32(bytes)
}

/// Builds one frame (or, [`bare`](Self::bare), a payload without header and checksum).
#[derive(Debug)]
pub(crate) struct Writer {
    bytes: Vec<u8>,
    framed: bool,
}

impl Writer {
    pub(crate) fn new(kind: FrameKind) -> Self {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(&MAGIC);
        bytes.push(FORMAT_VERSION);
        bytes.push(kind as u8);
        Self {
            bytes,
            framed: true,
        }
    }

    /// A writer for a payload without a frame header (a chunked value).
    pub(crate) fn bare() -> Self {
        Self {
            bytes: Vec::new(),
            framed: false,
        }
    }

    pub(crate) fn varint(&mut self, mut value: u64) -> &mut Self {
        while value >= 0x80 {
            // Truncation to the low 7 bits is the encoding.
            #[allow(clippy::cast_possible_truncation)]
            self.bytes.push((value as u8) | 0x80);
            value >>= 7;
        }
        #[allow(clippy::cast_possible_truncation)]
        self.bytes.push(value as u8);
        self
    }

    pub(crate) fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.bytes.extend_from_slice(bytes);
        self
    }

    /// A length-prefixed byte string.
    pub(crate) fn bytes(&mut self, bytes: &[u8]) -> &mut Self {
        self.varint(bytes.len() as u64).raw(bytes)
    }

    /// A value: its replica table, then its postcard body with replicas as table indices.
    pub(crate) fn value<T: Serialize + ?Sized>(
        &mut self,
        value: &T,
    ) -> Result<&mut Self, EncodeError> {
        // The body goes straight after what is written so far; the table, known only once the
        // body is, is then slid in before it (one move of the body, no buffer of its own).
        let start = self.bytes.len();
        let mut replicas = Interner::default();
        let written = value.serialize(&mut BodyWriter::new(&mut self.bytes, &mut replicas));
        self.close_value(start, replicas, written.map_err(EncodeError))
    }

    /// Puts the replica table before the body written from `start` on (or, if writing it
    /// failed, takes the body back). Not generic: one copy serves every value type.
    fn close_value(
        &mut self,
        start: usize,
        replicas: Interner,
        written: Result<(), EncodeError>,
    ) -> Result<&mut Self, EncodeError> {
        if let Err(e) = written {
            self.bytes.truncate(start);
            return Err(e);
        }
        let table = replicas.into_table();
        let end = self.bytes.len();
        self.varint(table.len() as u64);
        for id in &table {
            self.raw(id.as_bytes());
        }
        // body, table → table, body
        if let Some(both) = self.bytes.get_mut(start..) {
            both.rotate_left(end - start);
        }
        Ok(self)
    }

    /// The frame, closed by the CRC-32 of everything before it (little-endian).
    pub(crate) fn finish(mut self) -> Vec<u8> {
        if self.framed {
            let crc = checksum(&self.bytes);
            self.bytes.extend_from_slice(&crc.to_le_bytes());
        }
        self.bytes
    }
}

/// The size of `value`'s body with every replica id counted at its full 16 bytes (plain
/// postcard's size: an upper bound of the framed size that needs no replica table), or 0 for a
/// value that cannot be encoded. The delta buffer's caps count with it. Natively the body is
/// only counted; in the npm module it is written, which reuses the frame writer's copy of every
/// `Serialize` impl instead of adding a second one.
pub(crate) fn encoded_len<T: Serialize + ?Sized>(value: &T) -> usize {
    #[cfg(not(small_code))]
    let mut out = super::body::Count::default();
    #[cfg(small_code)]
    let mut out = Vec::new();
    if value.serialize(&mut BodyWriter::plain(&mut out)).is_err() {
        return 0;
    }
    #[cfg(not(small_code))]
    return out.0;
    #[cfg(small_code)]
    return out.len();
}

/// Reads one frame, checking every length against the bytes left.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    limits: &'a DecodeLimits,
}

impl<'a> Reader<'a> {
    /// Opens a sync frame: checks its size against [`DecodeLimits::max_frame_bytes`], then
    /// magic, version and checksum; returns the reader positioned after the header.
    pub(crate) fn open(
        frame: &'a [u8],
        limits: &'a DecodeLimits,
    ) -> Result<(FrameKind, Self), DecodeError> {
        Self::open_within(frame, limits, limits.max_frame_bytes)
    }

    /// Opens a standalone value frame (what [`encode`] writes, and a store's records): a
    /// whole state, so its size is bounded by [`DecodeLimits::max_state_bytes`], like a state
    /// reassembled from chunks. The caller checks the kind.
    pub(crate) fn open_value(
        frame: &'a [u8],
        limits: &'a DecodeLimits,
    ) -> Result<(FrameKind, Self), DecodeError> {
        Self::open_within(frame, limits, limits.max_state_bytes)
    }

    fn open_within(
        frame: &'a [u8],
        limits: &'a DecodeLimits,
        max: usize,
    ) -> Result<(FrameKind, Self), DecodeError> {
        if frame.len() > max {
            return Err(DecodeError::FrameTooLarge {
                len: frame.len(),
                max,
            });
        }
        let (Some((header, _)), Some((covered, crc))) = (
            frame.split_first_chunk::<4>(),
            frame.split_last_chunk::<4>(),
        ) else {
            return Err(DecodeError::Truncated);
        };
        let [m0, m1, version, kind] = *header;
        if [m0, m1] != MAGIC {
            return Err(DecodeError::BadMagic { found: [m0, m1] });
        }
        if version != FORMAT_VERSION {
            return Err(DecodeError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let rest = covered.get(4..).ok_or(DecodeError::Truncated)?;
        let (found, computed) = (u32::from_le_bytes(*crc), checksum(covered));
        if found != computed {
            return Err(DecodeError::Checksum { found, computed });
        }
        let kind = FrameKind::from_byte(kind).ok_or(DecodeError::UnknownKind(kind))?;
        Ok((kind, Self { rest, limits }))
    }

    /// A reader over a payload without a frame header (a reassembled value).
    pub(crate) fn bare(rest: &'a [u8], limits: &'a DecodeLimits) -> Self {
        Self { rest, limits }
    }

    pub(crate) fn varint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.rest.split_first().ok_or(DecodeError::Truncated)?;
            self.rest = rest;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return Err(DecodeError::Malformed(
                    postcard::Error::DeserializeBadVarint,
                ));
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Malformed(
            postcard::Error::DeserializeBadVarint,
        ))
    }

    pub(crate) fn raw(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.rest.len() {
            return Err(DecodeError::Truncated);
        }
        let (head, rest) = self.rest.split_at(len);
        self.rest = rest;
        Ok(head)
    }

    /// `N` bytes.
    pub(crate) fn fixed<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let (head, rest) = self
            .rest
            .split_first_chunk::<N>()
            .ok_or(DecodeError::Truncated)?;
        self.rest = rest;
        Ok(*head)
    }

    /// A length-prefixed byte string.
    pub(crate) fn bytes(&mut self) -> Result<&'a [u8], DecodeError> {
        let len = self.varint()?;
        self.raw(usize::try_from(len).map_err(|_| DecodeError::Truncated)?)
    }

    /// The replica table that opens a value (inline up to four ids: a delta's table holds
    /// its writer, so decoding one allocates no table). Not generic: one copy serves every
    /// value type.
    fn table(&mut self) -> Result<Ids, DecodeError> {
        let count = self.varint()?;
        let max = self.limits.max_replicas;
        let table_len = usize::try_from(count)
            .ok()
            .filter(|&n| n <= max)
            .ok_or(DecodeError::TooManyReplicas { count, max })?;
        let ids = self.raw(table_len.checked_mul(16).ok_or(DecodeError::Truncated)?)?;
        let mut table = Ids::with_capacity(table_len);
        for chunk in ids.chunks_exact(16) {
            let bytes: [u8; 16] = chunk.try_into().map_err(|_| DecodeError::Truncated)?;
            table.push(ReplicaId::from_bytes(bytes));
        }
        if crate::id::first_duplicate(table.iter().copied()).is_some() {
            return Err(DecodeError::DuplicateReplica);
        }
        Ok(table)
    }

    /// A value written by [`Writer::value`]; it must end the frame.
    pub(crate) fn value<T: DeserializeOwned>(mut self) -> Result<(T, Outcome), DecodeError> {
        let table = self.table()?;
        let budget = Budget::new(
            self.limits.max_elements,
            self.limits.max_depth.min(MAX_NESTING),
        );
        let mut body = BodyReader::new(self.rest, &table, budget);
        let value = T::deserialize(&mut body).map_err(|fail| body.error(fail))?;
        match body.finish() {
            ([], outcome) => Ok((value, outcome)),
            (rest, _) => Err(DecodeError::TrailingBytes(rest.len())),
        }
    }

    /// The bytes not read yet.
    #[cfg(feature = "reconcile")]
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }

    /// Requires the frame to be fully read.
    pub(crate) fn end(self) -> Result<(), DecodeError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes(self.rest.len()))
        }
    }
}

/// Encodes `value` as a self-contained value frame (kind `0x10`): a snapshot to store or send
/// outside the sync protocol. Replica ids are written once, in the frame's table.
///
/// # Errors
/// [`EncodeError`] only for user types postcard cannot represent; never for this crate's types.
///
/// # Examples
/// ```
/// use deltacrdt::{Doc, ReplicaId, decode, encode};
/// let me = ReplicaId::from_u128(7);
/// let mut doc = Doc::default();
/// let _ = doc.increment(me, &["likes"], 3)?;
/// let bytes = encode(&doc)?;
/// assert_eq!(&bytes[..4], b"DC\x01\x10"); // magic, format version, kind; a CRC-32 closes it
/// assert_eq!(decode::<Doc>(&bytes)?, doc);
/// assert!(decode::<Doc>(&bytes[..bytes.len() - 1]).is_err()); // truncated: a typed error
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer::new(FrameKind::Value);
    w.value(value)?;
    Ok(w.finish())
}

/// Decodes a value frame written by [`encode`] under the default [`DecodeLimits`], validating it
/// (well-formed contexts, every dot covered, canonical stores, document field kinds).
///
/// A value frame is a whole state: its size is bounded by
/// [`max_state_bytes`](DecodeLimits::max_state_bytes) (256 MiB by default), not by the sync
/// frame size, so whatever [`encode`] wrote for a state of a few million elements decodes.
///
/// # Errors
/// A [`DecodeError`] naming the first rule the bytes break.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_with(bytes, &DecodeLimits::default())
}

/// [`decode`] under explicit limits.
///
/// # Errors
/// A [`DecodeError`] naming the first rule or limit the bytes break.
pub fn decode_with<T: DeserializeOwned>(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<T, DecodeError> {
    let (kind, reader) = Reader::open_value(bytes, limits)?;
    if kind != FrameKind::Value {
        return Err(DecodeError::UnexpectedKind {
            expected: FrameKind::Value.name(),
            found: kind.name(),
        });
    }
    reader.value().map(|(value, _)| value)
}
