//! Peer authentication, sans IO: who may join, and that nobody tampers with their frames.
//!
//! The sync engine trusts the transport to say which peer a frame came from
//! (`Transport`); over a network that is only true on an authenticated
//! channel. This module builds one from a **pre-shared key** ([`AuthKey`]) with an
//! HMAC-SHA256 challenge–response ([`Handshake`]):
//!
//! 1. each side sends a hello: magic, auth version, its [`ReplicaId`](crate::ReplicaId) and a
//!    fresh 32-byte nonce (the caller supplies the random bytes: no RNG in here, so it runs
//!    the same in a browser);
//! 2. each side answers the other's hello with a proof: an HMAC under the key over both hellos,
//!    with a label naming its role — mutual authentication that also binds each peer's
//!    replica id to the channel;
//! 3. per-direction session keys are derived from the key and both hellos, and every frame is
//!    sealed as `frame || tag` with a 16-byte tag over a per-direction counter and the frame
//!    ([`Sealer`], [`Opener`]): injection, replay, reordering and truncation are detected on
//!    ordered channels (TCP, WebSocket).
//!
//! The exact bytes are in `src/auth/PROTOCOL.md`, pinned by golden vectors in `tests/sync/auth.rs`.
//!
//! **Threat model.** An attacker on the network can connect, send anything, record, replay,
//! drop, reorder and modify traffic. Without the key it cannot join (its handshake is refused
//! before any frame reaches the engine), cannot pose as a peer or claim another peer's replica
//! id, and cannot inject, replay or alter frames without the connection being closed. It *can*
//! read the traffic (**no confidentiality**: use TLS/wss or a VPN for secrecy), drop or delay
//! it (anti-entropy repairs what gets through later), and try to guess a weak passphrase
//! offline from a recorded handshake (use a long random passphrase or a raw key). Every peer
//! holding the key is trusted with the whole document: a key holder can write anything.
//!
//! # Examples
//! ```
//! use deltacrdt::{AuthKey, Handshake, ReplicaId, Role};
//! let key = AuthKey::from_passphrase("correct horse battery staple");
//! let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
//! let dialer = Handshake::new(&key, Role::Initiator, a, [1; 32]);
//! let listener = Handshake::new(&key, Role::Responder, b, [2; 32]);
//! let (hello_a, hello_b) = (dialer.hello().to_vec(), listener.hello().to_vec());
//! let (proof_a, dialer) = dialer.read_hello(&hello_b)?;
//! let (proof_b, listener) = listener.read_hello(&hello_a)?;
//! let mut at_a = dialer.read_proof(&proof_b)?;
//! let mut at_b = listener.read_proof(&proof_a)?;
//! assert_eq!((at_a.peer(), at_b.peer()), (b, a));
//! let sealed = at_a.sealer.seal(b"frame");
//! assert_eq!(at_b.opener.open(&sealed)?, b"frame");
//! assert!(at_b.opener.open(&sealed).is_err()); // a replay is refused
//! # Ok::<(), deltacrdt::AuthError>(())
//! ```

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
