//! The sync protocol's messages and their frames (layouts in `src/codec/FORMAT.md`).

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::clock::Timestamp;
use crate::codec::{
    DecodeError, DecodeLimits, EncodeError, FrameKind, Outcome, Reader, Writer, checksum,
};
use crate::id::ReplicaId;

/// Which payload a chunk belongs to: chunks reassemble only with chunks of the same id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ChunkId {
    /// A full state (else a delta-interval).
    pub(crate) full: bool,
    /// The sender's sequence number the payload ends at.
    pub(crate) seq: u64,
    /// The CRC-32 of the whole payload: two encodings of one state (hash maps iterate in a
    /// per-process order) never mix, and the reassembled bytes are checked against it.
    pub(crate) digest: u32,
    /// The payload's length.
    pub(crate) total: u64,
}

/// One decoded protocol message.
#[derive(Debug)]
pub(crate) enum Message<T> {
    /// "I am `replica`, speaking minor version `minor` of this format": opens a session;
    /// `reply` is set on the answer to a hello.
    Hello {
        replica: ReplicaId,
        reply: bool,
        minor: u64,
    },
    /// A delta-interval (or, `full`, the whole state) ending at the sender's sequence `seq`;
    /// `ack` (0: none) piggybacks an acknowledgement of the receiver's own sequence.
    Data {
        full: bool,
        seq: u64,
        ack: u64,
        value: T,
        max_timestamp: Option<Timestamp>,
    },
    /// A piece of a `Data` payload too large for one frame.
    Chunk {
        id: ChunkId,
        offset: u64,
        bytes: Vec<u8>,
    },
    /// "I have applied your interval ending at `seq`".
    Ack { seq: u64 },
}

/// The minor version this build speaks: additions within the format version that older
/// peers may ignore (none yet).
pub(crate) const MINOR_VERSION: u64 = 0;

pub(crate) fn hello(replica: ReplicaId, reply: bool) -> Vec<u8> {
    let mut w = Writer::new(FrameKind::Hello);
    w.raw(replica.as_bytes())
        .raw(&[u8::from(reply)])
        .varint(MINOR_VERSION);
    w.finish()
}

pub(crate) fn ack(seq: u64) -> Vec<u8> {
    let mut w = Writer::new(FrameKind::Ack);
    w.varint(seq);
    w.finish()
}

/// The payload of a data message: the value with its replica table.
pub(crate) fn payload<T: Serialize>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut w = Writer::bare();
    w.value(value)?;
    Ok(w.finish())
}

pub(crate) fn data(full: bool, seq: u64, ack: u64, payload: &[u8]) -> Vec<u8> {
    let mut w = Writer::new(if full {
        FrameKind::State
    } else {
        FrameKind::Delta
    });
    w.varint(seq).varint(ack).raw(payload);
    w.finish()
}

/// The chunks of `payload`, each carrying at most `piece` of its bytes.
pub(crate) fn chunks(full: bool, seq: u64, payload: &[u8], piece: usize) -> Vec<Vec<u8>> {
    let digest = checksum(payload);
    let mut offset = 0u64;
    payload
        .chunks(piece.max(1))
        .map(|bytes| {
            let mut w = Writer::new(FrameKind::Chunk);
            w.raw(&[u8::from(full)])
                .varint(seq)
                .raw(&digest.to_le_bytes())
                .varint(payload.len() as u64)
                .varint(offset)
                .bytes(bytes);
            offset += bytes.len() as u64;
            w.finish()
        })
        .collect()
}

/// Decodes a reassembled payload (see [`payload`]).
pub(crate) fn decode_payload<T: DeserializeOwned>(
    bytes: &[u8],
    limits: &DecodeLimits,
) -> Result<(T, Outcome), DecodeError> {
    Reader::bare(bytes, limits).value()
}

fn flag(byte: &[u8]) -> Result<bool, DecodeError> {
    match byte {
        [0] => Ok(false),
        [1] => Ok(true),
        _ => Err(DecodeError::Malformed(postcard::Error::DeserializeBadBool)),
    }
}

impl<T: DeserializeOwned> Message<T> {
    pub(crate) fn decode(
        frame: &[u8],
        limits: &DecodeLimits,
    ) -> Result<(FrameKind, Self), DecodeError> {
        let (kind, mut r) = Reader::open(frame, limits)?;
        let message = match kind {
            FrameKind::Hello => {
                let replica = ReplicaId::from_bytes(r.fixed()?);
                let reply = flag(r.raw(1)?)?;
                let minor = r.varint()?;
                // Fields a later minor version appends are ignored: the hello is where peers
                // of one format version but different minors meet.
                Self::Hello {
                    replica,
                    reply,
                    minor,
                }
            }
            FrameKind::Ack => {
                let seq = r.varint()?;
                r.end()?;
                Self::Ack { seq }
            }
            FrameKind::Delta | FrameKind::State => {
                let seq = r.varint()?;
                let ack = r.varint()?;
                let (value, outcome) = r.value()?;
                Self::Data {
                    full: kind == FrameKind::State,
                    seq,
                    ack,
                    value,
                    max_timestamp: outcome.max_timestamp,
                }
            }
            FrameKind::Chunk => {
                let full = flag(r.raw(1)?)?;
                let seq = r.varint()?;
                let digest = u32::from_le_bytes(r.fixed()?);
                let total = r.varint()?;
                let offset = r.varint()?;
                let bytes = r.bytes()?.to_vec();
                r.end()?;
                Self::Chunk {
                    id: ChunkId {
                        full,
                        seq,
                        digest,
                        total,
                    },
                    offset,
                    bytes,
                }
            }
            FrameKind::Value => {
                return Err(DecodeError::UnexpectedKind {
                    expected: "sync",
                    found: kind.name(),
                });
            }
        };
        Ok((kind, message))
    }
}
