//! Why bytes did not decode.

use crate::causal::InvalidContext;

/// Bytes that are not a valid frame or value: each variant says which rule they broke.
///
/// Decoding never panics and never changes a replica; a frame that fails leaves everything as
/// it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The frame is larger than its limit: [`DecodeLimits::max_frame_bytes`](crate::DecodeLimits)
    /// for a sync frame, [`DecodeLimits::max_state_bytes`](crate::DecodeLimits) for a
    /// standalone value ([`decode`](crate::decode)) or a store record.
    #[error("frame of {len} bytes exceeds the limit of {max}")]
    FrameTooLarge {
        /// The frame's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The input ended before the frame or value did.
    #[error("input truncated")]
    Truncated,
    /// The frame does not start with the magic bytes `DC`.
    #[error("not a deltacrdt frame (magic {:02x}{:02x})", .found[0], .found[1])]
    BadMagic {
        /// The first two bytes found.
        found: [u8; 2],
    },
    /// The frame was written by another, incompatible format version.
    #[error("frame format version {found} is not supported (this build speaks {supported})")]
    UnsupportedVersion {
        /// The version in the frame.
        found: u8,
        /// The version this build reads and writes.
        supported: u8,
    },
    /// The frame's closing CRC-32 (or a chunked payload's digest) does not match its bytes:
    /// corrupted in transit or in storage.
    #[error("checksum mismatch: the bytes say {found:#010x}, their content gives {computed:#010x}")]
    Checksum {
        /// The checksum carried by the bytes.
        found: u32,
        /// The checksum of what arrived.
        computed: u32,
    },
    /// The frame kind byte names no known kind.
    #[error("unknown frame kind {0:#04x}")]
    UnknownKind(u8),
    /// A frame of one kind arrived where another was required.
    #[error("expected a {expected} frame, found {found}")]
    UnexpectedKind {
        /// The kind required.
        expected: &'static str,
        /// The kind found.
        found: &'static str,
    },
    /// The replica table is longer than [`DecodeLimits::max_replicas`](crate::DecodeLimits).
    #[error("replica table of {count} entries exceeds the limit of {max}")]
    TooManyReplicas {
        /// The declared table length.
        count: u64,
        /// The limit.
        max: usize,
    },
    /// A replica appears twice in the frame's replica table.
    #[error("replica table lists a replica twice")]
    DuplicateReplica,
    /// A replica reference points past the frame's replica table.
    #[error("replica index {index} is outside the frame's table of {table}")]
    UnknownReplica {
        /// The index read.
        index: u64,
        /// The table's length.
        table: usize,
    },
    /// The value holds more elements than [`DecodeLimits::max_elements`](crate::DecodeLimits).
    #[error("more than {max} elements")]
    TooManyElements {
        /// The limit.
        max: usize,
    },
    /// The value nests deeper than [`DecodeLimits::max_depth`](crate::DecodeLimits).
    #[error("nesting deeper than {max} levels")]
    TooDeep {
        /// The limit.
        max: u32,
    },
    /// A chunked payload declares more bytes than
    /// [`DecodeLimits::max_state_bytes`](crate::DecodeLimits), or its chunks do not fit it.
    #[error("chunked payload of {len} bytes is invalid or exceeds the limit of {max}")]
    BadChunk {
        /// The declared total length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The bytes parse but describe an impossible value: a context that is not well formed, a
    /// dot outside its context, a store not in canonical form, a field of the wrong kind (the
    /// rules are in `FORMAT.md`). `Deserialize` with another serde format reports which rule.
    #[error("invalid value: {0}")]
    Invalid(String),
    /// The bytes do not follow the postcard layout of the expected type.
    #[error("malformed body: {0}")]
    Malformed(#[source] postcard::Error),
    /// Bytes remain after the value ended.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
}

impl From<InvalidContext> for DecodeError {
    fn from(err: InvalidContext) -> Self {
        Self::Invalid(err.to_string())
    }
}

impl From<postcard::Error> for DecodeError {
    fn from(err: postcard::Error) -> Self {
        match err {
            postcard::Error::DeserializeUnexpectedEnd => Self::Truncated,
            other => Self::Malformed(other),
        }
    }
}

/// A value that could not be encoded (only possible for user types whose `Serialize` impl
/// fails or that postcard cannot represent, such as sequences of unknown length).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("value cannot be encoded: {0}")]
pub struct EncodeError(#[source] pub postcard::Error);
