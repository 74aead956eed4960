//! The wire format (private module: its public items are re-exported at the crate root; the
//! format is documented on [`FORMAT_VERSION`]).

mod body;
mod error;
mod frame;
mod limits;

pub(crate) use body::Outcome;
pub use error::{DecodeError, EncodeError};
pub use frame::{FORMAT_VERSION, decode, decode_with, encode};
pub(crate) use frame::{FrameKind, Reader, Writer, checksum, encoded_len};
pub use limits::DecodeLimits;
