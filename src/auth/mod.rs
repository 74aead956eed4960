//! Encrypted, mutually authenticated channels, sans IO (auth protocol 2, `PROTOCOL.md` here;
//! a private module: its public items are re-exported at the crate root).
//!
//! - [`key`]: a peer's static key pair ([`PeerKey`]);
//! - [`public_key`]: its public half ([`PublicKey`]), which owns a family of replica ids;
//! - [`allow`]: who may join ([`AllowList`]), reloadable while the network runs;
//! - [`handshake`]: the Noise XX handshake ([`Handshake`]);
//! - [`session`]: the sealed frames after it ([`Session`]).

mod allow;
mod error;
mod handshake;
mod key;
mod public_key;
mod session;

pub use allow::AllowList;
pub use error::AuthError;
pub use handshake::{
    AUTH_VERSION, AwaitingFinal, Handshake, Initiating, MESSAGE1_LEN, MESSAGE2_LEN, MESSAGE3_LEN,
    NOISE_PARAMS, Responding, Role,
};
pub use key::PeerKey;
pub use public_key::{InvalidKey, PublicKey};
pub use session::{MAX_FRAME_BYTES, Opener, Sealer, Session, TAG_LEN};
