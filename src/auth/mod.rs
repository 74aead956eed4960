//! Peer authentication, sans IO (private module: its public items are re-exported at the
//! crate root; the protocol is documented on [`Handshake`]).

mod error;
mod handshake;
mod key;
mod session;

pub use error::AuthError;
pub use handshake::{
    AUTH_VERSION, AwaitingProof, HELLO_LEN, Handshake, NONCE_LEN, PROOF_LEN, Role,
};
pub use key::AuthKey;
pub use session::{Opener, Sealer, Session, TAG_LEN};
