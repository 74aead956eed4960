//! The challenge–response handshake: hellos, proofs, session keys.

use hmac::Mac;

use super::key::{HmacSha256, keyed};
use super::session::{Opener, Sealer, Session};
use super::{AuthError, AuthKey};
use crate::id::ReplicaId;

/// The auth protocol version this build speaks (byte 4 of a hello).
pub const AUTH_VERSION: u8 = 1;
/// Length of a nonce.
pub const NONCE_LEN: usize = 32;
/// Length of a hello: magic (4) + version (1) + replica id (16) + nonce (32).
pub const HELLO_LEN: usize = 4 + 1 + 16 + NONCE_LEN;
/// Length of a proof (a full HMAC-SHA256).
pub const PROOF_LEN: usize = 32;

const MAGIC: &[u8; 4] = b"DCAH";
const PROOF_INITIATOR: &[u8] = b"deltacrdt-auth/1 proof initiator";
const PROOF_RESPONDER: &[u8] = b"deltacrdt-auth/1 proof responder";
const FRAMES_INITIATOR: &[u8] = b"deltacrdt-auth/1 frames initiator";
const FRAMES_RESPONDER: &[u8] = b"deltacrdt-auth/1 frames responder";

/// Which side of a connection this is: it separates the two proofs and the two session keys,
/// so nothing one side sends can be reflected back as the other's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The side that opened the connection (dialer).
    Initiator,
    /// The side that accepted it (listener).
    Responder,
}

/// One side of a handshake, before the peer's hello arrived. Send [`hello`](Self::hello),
/// then feed the peer's hello to [`read_hello`](Self::read_hello).
///
/// # Peer authentication
///
/// Peer authentication, sans IO: who may join, and that nobody tampers with their frames.
///
/// The sync engine trusts the transport to say which peer a frame came from
/// (`Transport`); over a network that is only true on an authenticated
/// channel. This module builds one from a **pre-shared key** ([`AuthKey`]) with an
/// HMAC-SHA256 challenge–response ([`Handshake`]):
///
/// 1. each side sends a hello: magic, auth version, its [`ReplicaId`](crate::ReplicaId) and a
///    fresh 32-byte nonce (the caller supplies the random bytes: no RNG in here, so it runs
///    the same in a browser);
/// 2. each side answers the other's hello with a proof: an HMAC under the key over both hellos,
///    with a label naming its role — mutual authentication that also binds each peer's
///    replica id to the channel;
/// 3. per-direction session keys are derived from the key and both hellos, and every frame is
///    sealed as `frame || tag` with a 16-byte tag over a per-direction counter and the frame
///    ([`Sealer`], [`Opener`]): injection, replay, reordering and truncation are detected on
///    ordered channels (TCP, WebSocket).
///
/// The exact bytes are in `src/auth/PROTOCOL.md`, pinned by golden vectors in `tests/sync/auth.rs`.
///
/// **Threat model.** An attacker on the network can connect, send anything, record, replay,
/// drop, reorder and modify traffic. Without the key it cannot join (its handshake is refused
/// before any frame reaches the engine), cannot pose as a peer or claim another peer's replica
/// id, and cannot inject, replay or alter frames without the connection being closed. It *can*
/// read the traffic (**no confidentiality**: use TLS/wss or a VPN for secrecy), drop or delay
/// it (anti-entropy repairs what gets through later), and try to guess a weak passphrase
/// offline from a recorded handshake (use a long random passphrase or a raw key). Every peer
/// holding the key is trusted with the whole document: a key holder can write anything.
///
/// # Examples
/// ```
/// use deltacrdt::{AuthKey, Handshake, ReplicaId, Role};
/// let key = AuthKey::from_passphrase("correct horse battery staple");
/// let (a, b) = (ReplicaId::from_u128(1), ReplicaId::from_u128(2));
/// let dialer = Handshake::new(&key, Role::Initiator, a, [1; 32]);
/// let listener = Handshake::new(&key, Role::Responder, b, [2; 32]);
/// let (hello_a, hello_b) = (dialer.hello().to_vec(), listener.hello().to_vec());
/// let (proof_a, dialer) = dialer.read_hello(&hello_b)?;
/// let (proof_b, listener) = listener.read_hello(&hello_a)?;
/// let mut at_a = dialer.read_proof(&proof_b)?;
/// let mut at_b = listener.read_proof(&proof_a)?;
/// assert_eq!((at_a.peer(), at_b.peer()), (b, a));
/// let sealed = at_a.sealer.seal(b"frame");
/// assert_eq!(at_b.opener.open(&sealed)?, b"frame");
/// assert!(at_b.opener.open(&sealed).is_err()); // a replay is refused
/// # Ok::<(), deltacrdt::AuthError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Handshake {
    key: AuthKey,
    role: Role,
    me: ReplicaId,
    hello: [u8; HELLO_LEN],
}

/// A handshake that has the peer's hello and sent its proof, waiting for the peer's proof.
#[derive(Clone, Debug)]
pub struct AwaitingProof {
    key: AuthKey,
    role: Role,
    peer: ReplicaId,
    /// Initiator's hello then responder's.
    transcript: [u8; 2 * HELLO_LEN],
}

impl Handshake {
    /// Starts a handshake as `me` in `role`; `nonce` must be fresh random bytes.
    #[must_use]
    pub fn new(key: &AuthKey, role: Role, me: ReplicaId, nonce: [u8; NONCE_LEN]) -> Self {
        let mut hello = [0; HELLO_LEN];
        let (magic, rest) = hello.split_at_mut(4);
        magic.copy_from_slice(MAGIC);
        let (version, rest) = rest.split_at_mut(1);
        version.copy_from_slice(&[AUTH_VERSION]);
        let (id, rest) = rest.split_at_mut(16);
        id.copy_from_slice(me.as_bytes());
        rest.copy_from_slice(&nonce);
        Self {
            key: key.clone(),
            role,
            me,
            hello,
        }
    }

    /// This side's hello, to send first.
    #[must_use]
    pub fn hello(&self) -> &[u8] {
        &self.hello
    }

    /// Reads the peer's hello; returns this side's proof, to send next.
    ///
    /// # Errors
    /// [`AuthError::BadMagic`], [`AuthError::Incompatible`] (checked before the length, so a
    /// later version with a longer hello is named as such), [`AuthError::Malformed`],
    /// [`AuthError::SelfConnection`], [`AuthError::Reflected`].
    pub fn read_hello(self, bytes: &[u8]) -> Result<([u8; PROOF_LEN], AwaitingProof), AuthError> {
        if bytes.get(..4) != Some(MAGIC.as_slice()) {
            return Err(AuthError::BadMagic);
        }
        match bytes.get(4) {
            Some(&AUTH_VERSION) => {}
            Some(&found) => {
                return Err(AuthError::Incompatible {
                    found,
                    supported: AUTH_VERSION,
                });
            }
            None => return Err(malformed_hello(bytes.len())),
        }
        let peer_hello: [u8; HELLO_LEN] =
            bytes.try_into().map_err(|_| malformed_hello(bytes.len()))?;
        let id: [u8; 16] = peer_hello
            .get(5..21)
            .and_then(|s| s.try_into().ok())
            .ok_or_else(|| malformed_hello(bytes.len()))?;
        let peer = ReplicaId::from_bytes(id);
        if peer == self.me {
            return Err(AuthError::SelfConnection(peer));
        }
        if peer_hello.get(21..) == self.hello.get(21..) {
            return Err(AuthError::Reflected(peer));
        }
        let (first, second) = match self.role {
            Role::Initiator => (&self.hello, &peer_hello),
            Role::Responder => (&peer_hello, &self.hello),
        };
        let mut transcript = [0; 2 * HELLO_LEN];
        let (a, b) = transcript.split_at_mut(HELLO_LEN);
        a.copy_from_slice(first);
        b.copy_from_slice(second);
        let label = match self.role {
            Role::Initiator => PROOF_INITIATOR,
            Role::Responder => PROOF_RESPONDER,
        };
        let proof = mac(&self.key, label, &transcript)
            .finalize()
            .into_bytes()
            .into();
        Ok((
            proof,
            AwaitingProof {
                key: self.key,
                role: self.role,
                peer,
                transcript,
            },
        ))
    }
}

impl AwaitingProof {
    /// The peer named by its hello (not yet authenticated).
    #[must_use]
    pub fn peer(&self) -> ReplicaId {
        self.peer
    }

    /// Verifies the peer's proof (in constant time) and opens the session.
    ///
    /// # Errors
    /// [`AuthError::Malformed`] for a proof of the wrong length, [`AuthError::BadProof`] when
    /// the peer does not hold the key.
    pub fn read_proof(self, bytes: &[u8]) -> Result<Session, AuthError> {
        if bytes.len() != PROOF_LEN {
            return Err(AuthError::Malformed {
                what: "proof",
                len: bytes.len(),
                expected: PROOF_LEN,
            });
        }
        let (their_proof, mine, theirs) = match self.role {
            Role::Initiator => (PROOF_RESPONDER, FRAMES_INITIATOR, FRAMES_RESPONDER),
            Role::Responder => (PROOF_INITIATOR, FRAMES_RESPONDER, FRAMES_INITIATOR),
        };
        mac(&self.key, their_proof, &self.transcript)
            .verify_slice(bytes)
            .map_err(|_| AuthError::BadProof(self.peer))?;
        let derive = |label| -> [u8; 32] {
            mac(&self.key, label, &self.transcript)
                .finalize()
                .into_bytes()
                .into()
        };
        Ok(Session {
            peer: self.peer,
            sealer: Sealer::new(derive(mine)),
            opener: Opener::new(derive(theirs)),
        })
    }
}

fn malformed_hello(len: usize) -> AuthError {
    AuthError::Malformed {
        what: "hello",
        len,
        expected: HELLO_LEN,
    }
}

/// `HMAC-SHA256(key, label || data)`, not yet finalized.
fn mac(key: &AuthKey, label: &[u8], data: &[u8]) -> HmacSha256 {
    let mut m = keyed(key.bytes());
    m.update(label);
    m.update(data);
    m
}
