//! The wire format: versioned frames with postcard bodies, decoded under [`DecodeLimits`].
//!
//! Every frame is `"DC"`, a format version byte, a kind byte, then the body. Values inside a
//! frame are preceded by a replica table; inside the value each [`ReplicaId`](crate::ReplicaId)
//! is a varint index into it. The full layout, with worked bytes, is in `src/codec/FORMAT.md`
//! (rendered below); golden byte vectors in `tests/codec/golden.rs` pin it.
//!
//! Decoding checks the frame size first, checks every count against the bytes left before
//! allocating, charges elements and nesting to [`DecodeLimits`], then validates the value's
//! semantics. It never panics, and nothing is applied to a replica until all of it passed.
#![doc = include_str!("FORMAT.md")]

mod body;
mod error;
mod frame;
mod limits;

pub(crate) use body::Outcome;
pub use error::{DecodeError, EncodeError};
pub use frame::{FORMAT_VERSION, decode, decode_with, encode};
pub(crate) use frame::{FrameKind, Reader, Writer, checksum, encoded_len};
pub use limits::DecodeLimits;
