//! The sync protocol's messages and their frames (layouts in `src/codec/FORMAT.md`).

use serde::Serialize;
use serde::de::DeserializeOwned;

#[cfg(feature = "reconcile")]
use super::reconcile::Symbol;
#[cfg(feature = "reconcile")]
use crate::causal::CausalContext;
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
    /// From minor 1 on it carries the sender's session `nonce` and, for a type with dots,
    /// the causal context it announces for the session's first reconciliation round.
    Hello {
        replica: ReplicaId,
        reply: bool,
        minor: u64,
        #[cfg(feature = "reconcile")]
        nonce: Option<[u8; 16]>,
        /// The announced context, with the number of dots the sender held when it took it.
        #[cfg(feature = "reconcile")]
        context: Option<(CausalContext, u64)>,
    },
    #[cfg(feature = "reconcile")]
    /// "This is what I have seen, for round `round`" (minor 1): opens a later reconciliation
    /// round (`reply` unset) or answers one.
    Summary {
        session: u32,
        round: u64,
        reply: bool,
        context: CausalContext,
        /// The dots the sender held when it took `context`.
        held: u64,
    },
    #[cfg(feature = "reconcile")]
    /// Coded symbols `start..` of the sender's held dots inside both announcements (minor 1).
    Sketch {
        session: u32,
        round: u64,
        /// The check of the two announcements the symbols were computed from (see
        /// `round::pair_check`): symbols of another pair are not mixed into the round.
        pair: u32,
        start: u64,
        symbols: Vec<Symbol>,
    },
    #[cfg(feature = "reconcile")]
    /// The decoder's answer to symbols (minor 1).
    Verdict {
        session: u32,
        round: u64,
        verdict: Verdict,
    },
    #[cfg(feature = "reconcile")]
    /// A quiet peer's fingerprint of its state, under the session key (minor 1).
    Digest { session: u32, fingerprint: u64 },
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
    #[cfg(feature = "reconcile")]
    /// "I hold everything each of these replicas held at its sequence number" (minor 2): the
    /// receiver need not relay to us what it got from them up to there. `wants` names the
    /// replicas whose marks the sender would like from now on (it relays their deltas to us).
    Holds {
        marks: Vec<(ReplicaId, u64)>,
        wants: Vec<ReplicaId>,
    },
    /// "I hold back writes you sent, stamped from `earliest` on: my physical clock reads
    /// `physical`" (minor 3). The receiver compares its own clock: if it reads more than the
    /// drift bound ahead, it fences its register writes.
    #[cfg(feature = "reconcile")]
    Skew { physical: u64, earliest: u64 },
}

/// What a decoder says of the symbols it got.
#[cfg(feature = "reconcile")]
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Not decoded from the first `have` symbols: send more.
    More(u64),
    /// Decoded: the difference is known, the round is over. It lists the sender's items the
    /// receiver lacks inside both announcements (dots the receiver removed), ascending: the
    /// receiver ships their removal together with its additions, so both land at once.
    Done(Vec<u64>),
    /// Given up (too many symbols, or inconsistent ones): fall back to full states.
    Failed,
    /// The receiver cannot announce a context for the round (its context outgrew half a
    /// frame, or its reconciliation is off): the sender gives the round up and sends it
    /// everything, instead of waiting for an announcement that will not come.
    Refused,
}

/// The minor version this build speaks: additions within the format version that older
/// peers may ignore. 1: hellos carry a nonce and a causal context; the summary, sketch,
/// verdict and digest frames of history-free reconciliation. 2: the holds frame of
/// relay-aware forwarding. 3: the skew frame (writes held back for clock skew).
#[cfg(feature = "reconcile")]
pub(crate) const MINOR_VERSION: u64 = 3;
/// Without the `reconcile` feature this build speaks minor 0.
#[cfg(not(feature = "reconcile"))]
pub(crate) const MINOR_VERSION: u64 = 0;

/// A hello; `context` is the announcement of the session's first round with the number of
/// dots held when it was taken (omitted for a type without dots, or one too large for a frame).
pub(crate) fn hello(
    replica: ReplicaId,
    reply: bool,
    #[cfg(feature = "reconcile")] nonce: [u8; 16],
    #[cfg(feature = "reconcile")] context: Option<(&CausalContext, u64)>,
) -> Vec<u8> {
    let mut w = Writer::new(FrameKind::Hello);
    w.raw(replica.as_bytes())
        .raw(&[u8::from(reply)])
        .varint(MINOR_VERSION);
    #[cfg(feature = "reconcile")]
    {
        w.raw(&nonce);
        match context {
            // A context always encodes (ids and integers).
            Some((ctx, held)) => {
                let _ = w.raw(&[1]).varint(held).value(ctx);
            }
            None => {
                w.raw(&[0]);
            }
        }
    }
    w.finish()
}

/// A summary: the announcement for `round` (`reply`: answering the peer's), with the number
/// of dots held when it was taken.
#[cfg(feature = "reconcile")]
pub(crate) fn summary(
    session: u32,
    round: u64,
    reply: bool,
    (context, held): (&CausalContext, u64),
) -> Vec<u8> {
    let mut w = Writer::new(FrameKind::Summary);
    w.raw(&session.to_le_bytes())
        .varint(round)
        .raw(&[u8::from(reply)])
        .varint(held);
    let _ = w.value(context);
    w.finish()
}

/// Coded symbols `start..` for `round`, computed from the pair of announcements whose check
/// is `pair`.
#[cfg(feature = "reconcile")]
pub(crate) fn sketch(
    session: u32,
    (round, pair): (u64, u32),
    start: u64,
    symbols: &[Symbol],
) -> Vec<u8> {
    let mut w = Writer::new(FrameKind::Sketch);
    w.raw(&session.to_le_bytes())
        .varint(round)
        .raw(&pair.to_le_bytes())
        .varint(start)
        .varint(symbols.len() as u64);
    let mut body = Vec::with_capacity(symbols.len() * 14);
    for s in symbols {
        s.write(&mut body);
    }
    w.raw(&body);
    w.finish()
}

#[cfg(feature = "reconcile")]
pub(crate) fn verdict(session: u32, round: u64, verdict: &Verdict) -> Vec<u8> {
    let mut w = Writer::new(FrameKind::Verdict);
    w.raw(&session.to_le_bytes()).varint(round);
    match verdict {
        Verdict::More(have) => {
            w.raw(&[0]).varint(*have);
        }
        Verdict::Done(items) => {
            // Ascending, each as its gap from the one before.
            w.raw(&[1]).varint(items.len() as u64);
            let mut prev = 0;
            for &item in items {
                w.varint(item.wrapping_sub(prev));
                prev = item;
            }
        }
        Verdict::Failed => {
            w.raw(&[2]);
        }
        Verdict::Refused => {
            w.raw(&[3]);
        }
    }
    w.finish()
}

#[cfg(feature = "reconcile")]
pub(crate) fn digest(session: u32, fingerprint: u64) -> Vec<u8> {
    let mut w = Writer::new(FrameKind::Digest);
    w.raw(&session.to_le_bytes())
        .raw(&fingerprint.to_le_bytes());
    w.finish()
}

/// A holds frame: for each replica, the highest of its sequence numbers we applied; and the
/// replicas whose marks we want from the receiver.
#[cfg(feature = "reconcile")]
pub(crate) fn holds(marks: &[(ReplicaId, u64)], wants: &[ReplicaId]) -> Vec<u8> {
    let mut w = Writer::new(FrameKind::Holds);
    w.varint(marks.len() as u64);
    for (id, seq) in marks {
        w.raw(id.as_bytes()).varint(*seq);
    }
    w.varint(wants.len() as u64);
    for id in wants {
        w.raw(id.as_bytes());
    }
    w.finish()
}

/// A skew frame: our physical clock reads `physical` ms, and we hold writes of the receiver's
/// stamped from `earliest` ms on.
#[cfg(feature = "reconcile")]
pub(crate) fn skew(physical: u64, earliest: u64) -> Vec<u8> {
    let mut w = Writer::new(FrameKind::Skew);
    w.varint(physical).varint(earliest);
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
                #[cfg(feature = "reconcile")]
                let (mut nonce, mut context) = (None, None);
                #[cfg(feature = "reconcile")]
                if minor >= 1 {
                    nonce = Some(r.fixed()?);
                    if flag(r.raw(1)?)? {
                        let held = r.varint()?;
                        context = Some((r.value()?.0, held));
                    }
                }
                Self::Hello {
                    replica,
                    reply,
                    minor,
                    #[cfg(feature = "reconcile")]
                    nonce,
                    #[cfg(feature = "reconcile")]
                    context,
                }
            }
            #[cfg(feature = "reconcile")]
            FrameKind::Summary => {
                let session = u32::from_le_bytes(r.fixed()?);
                let round = r.varint()?;
                let reply = flag(r.raw(1)?)?;
                let held = r.varint()?;
                Self::Summary {
                    session,
                    round,
                    reply,
                    context: r.value()?.0,
                    held,
                }
            }
            #[cfg(feature = "reconcile")]
            FrameKind::Sketch => {
                let session = u32::from_le_bytes(r.fixed()?);
                let round = r.varint()?;
                let pair = u32::from_le_bytes(r.fixed()?);
                let start = r.varint()?;
                let n = r.varint()?;
                let mut rest = r.rest();
                // Every symbol takes at least 13 bytes: the count cannot reserve more than
                // the frame pays for.
                if n > (rest.len() / 13) as u64 {
                    return Err(DecodeError::Truncated);
                }
                let mut symbols = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    symbols.push(Symbol::read(&mut rest).map_err(|_| DecodeError::Truncated)?);
                }
                if !rest.is_empty() {
                    return Err(DecodeError::TrailingBytes(rest.len()));
                }
                Self::Sketch {
                    session,
                    round,
                    pair,
                    start,
                    symbols,
                }
            }
            #[cfg(feature = "reconcile")]
            FrameKind::Verdict => {
                let session = u32::from_le_bytes(r.fixed()?);
                let round = r.varint()?;
                let verdict = match r.raw(1)? {
                    [0] => Verdict::More(r.varint()?),
                    [1] => {
                        let n = r.varint()?;
                        // Each item takes at least one byte.
                        if n > r.rest().len() as u64 {
                            return Err(DecodeError::Truncated);
                        }
                        let mut items = Vec::with_capacity(n as usize);
                        let mut prev = 0u64;
                        for _ in 0..n {
                            prev = prev.wrapping_add(r.varint()?);
                            items.push(prev);
                        }
                        Verdict::Done(items)
                    }
                    [2] => Verdict::Failed,
                    [3] => Verdict::Refused,
                    _ => return Err(DecodeError::Malformed(postcard::Error::DeserializeBadEnum)),
                };
                r.end()?;
                Self::Verdict {
                    session,
                    round,
                    verdict,
                }
            }
            #[cfg(feature = "reconcile")]
            FrameKind::Digest => {
                let session = u32::from_le_bytes(r.fixed()?);
                let fingerprint = u64::from_le_bytes(r.fixed()?);
                r.end()?;
                Self::Digest {
                    session,
                    fingerprint,
                }
            }
            #[cfg(feature = "reconcile")]
            FrameKind::Holds => {
                let n = r.varint()?;
                // Every mark takes at least 17 bytes: the count cannot reserve more than the
                // frame pays for.
                if n > (r.rest().len() / 17) as u64 {
                    return Err(DecodeError::Truncated);
                }
                let mut marks = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    let id = ReplicaId::from_bytes(r.fixed()?);
                    marks.push((id, r.varint()?));
                }
                let n = r.varint()?;
                if n > (r.rest().len() / 16) as u64 {
                    return Err(DecodeError::Truncated);
                }
                let mut wants = Vec::with_capacity(n as usize);
                for _ in 0..n {
                    wants.push(ReplicaId::from_bytes(r.fixed()?));
                }
                r.end()?;
                Self::Holds { marks, wants }
            }
            #[cfg(feature = "reconcile")]
            FrameKind::Skew => {
                let physical = r.varint()?;
                let earliest = r.varint()?;
                r.end()?;
                Self::Skew { physical, earliest }
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
            #[cfg(not(feature = "reconcile"))]
            FrameKind::Summary | FrameKind::Sketch | FrameKind::Verdict | FrameKind::Digest => {
                // Sent only to peers whose hello announced minor 1.
                return Err(DecodeError::UnexpectedKind {
                    expected: "sync",
                    found: kind.name(),
                });
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
