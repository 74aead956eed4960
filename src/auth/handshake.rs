//! The Noise XX handshake of auth protocol 2: three messages, then a [`Session`].

use core::fmt;

use snow::HandshakeState;

use super::session::Session;
use super::{AllowList, AuthError, PeerKey, PublicKey};
use crate::id::ReplicaId;

/// The auth protocol version this build speaks (byte 4 of message 1).
pub const AUTH_VERSION: u8 = 2;
/// The Noise protocol of the handshake.
pub const NOISE_PARAMS: &str = "Noise_XX_25519_AESGCM_SHA256";
/// Length of message 1: magic (4) + version (1) + the initiator's ephemeral key (32).
pub const MESSAGE1_LEN: usize = 5 + 32;
/// Length of message 2: ephemeral key (32), static key (32 + tag) and replica id (16 + tag).
pub const MESSAGE2_LEN: usize = 32 + 48 + 32;
/// Length of message 3: static key (32 + tag) and replica id (16 + tag).
pub const MESSAGE3_LEN: usize = 48 + 32;

const MAGIC: &[u8; 4] = b"DCAH";
const PROLOGUE: &[u8] = b"deltacrdt-auth/2";
/// A version 1 hello: magic, version 1, replica id, nonce.
const V1_HELLO_LEN: usize = 53;

/// Which side of a connection this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The side that opened the connection (dialer): sends message 1.
    Initiator,
    /// The side that accepted it (listener).
    Responder,
}

/// A handshake about to start: this peer's key, whom it admits, and the replica it speaks
/// for (an id its key owns).
///
/// Three messages, each one frame of the channel (`PROTOCOL.md` has the bytes):
/// 1. the initiator's [`initiate`](Self::initiate) gives message 1; the responder's
///    [`Responding::read_hello`] answers it with message 2, which carries its static key and
///    replica id, encrypted;
/// 2. the initiator's [`Initiating::read_response`] checks them — key on the allow-list,
///    replica id owned by the key, not its own — and only then gives message 3 with its own,
///    and its [`Session`];
/// 3. the responder's [`AwaitingFinal::read_final`] checks the initiator's the same way and
///    gives its [`Session`].
///
/// **Threat model.** An attacker on the network can connect, send anything, record, replay,
/// drop, reorder and modify traffic. It cannot read frames (AES-256-GCM under keys from
/// ephemeral X25519 exchanges: forward secret), inject, replay, reorder or alter one without
/// the connection closing, join without a key on the allow-list, or speak for a replica id
/// its key does not own. There is no shared secret to guess offline. An allowed peer is
/// trusted with the whole document: it can write anything under its own ids.
///
/// # Examples
/// ```
/// use deltacrdt::{AllowList, Handshake, PeerKey};
/// let (alice, bob) = (PeerKey::generate()?, PeerKey::generate()?);
/// let (a, b) = (alice.new_replica_id()?, bob.new_replica_id()?);
/// let at_alice = AllowList::of([bob.public()]);
/// let at_bob = AllowList::of([alice.public()]);
/// let (dialer, m1) = Handshake::new(&alice, &at_alice, a).initiate()?;
/// let (m2, listener) = Handshake::new(&bob, &at_bob, b).respond().read_hello(&m1)?;
/// let (m3, mut at_a) = dialer.read_response(&m2)?;
/// let mut at_b = listener.read_final(&m3)?;
/// assert_eq!((at_a.peer(), at_b.peer()), (b, a));
/// assert_eq!(at_b.peer_key(), alice.public());
/// let sealed = at_a.sealer.seal(b"frame")?;
/// assert_eq!(at_b.opener.open(&sealed)?, b"frame");
/// assert!(at_b.opener.open(&sealed).is_err()); // a replay is refused
/// # Ok::<(), deltacrdt::AuthError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Handshake<'a> {
    key: &'a PeerKey,
    allow: &'a AllowList,
    me: ReplicaId,
    ephemeral: Option<[u8; 32]>,
}

impl<'a> Handshake<'a> {
    /// A handshake as `me`, with `key`, admitting the keys of `allow` (read when the peer's
    /// key arrives).
    #[must_use]
    pub fn new(key: &'a PeerKey, allow: &'a AllowList, me: ReplicaId) -> Self {
        Self {
            key,
            allow,
            me,
            ephemeral: None,
        }
    }

    /// Golden vectors only: a fixed ephemeral secret instead of a fresh random one. Never on
    /// a real connection (it removes forward secrecy and lets frames be replayed across
    /// sessions).
    #[doc(hidden)]
    #[must_use]
    pub fn fixed_ephemeral_for_testing_only(mut self, secret: [u8; 32]) -> Self {
        self.ephemeral = Some(secret);
        self
    }

    fn build(&self, role: Role) -> Result<Started, AuthError> {
        let params = NOISE_PARAMS.parse().map_err(noise)?;
        let mut builder = snow::Builder::new(params)
            .local_private_key(self.key.secret())
            .and_then(|b| b.prologue(PROLOGUE))
            .map_err(noise)?;
        if let Some(e) = &self.ephemeral {
            builder = builder.fixed_ephemeral_key_for_testing_only(e);
        }
        let noise_state = match role {
            Role::Initiator => builder.build_initiator(),
            Role::Responder => builder.build_responder(),
        }
        .map_err(noise)?;
        Ok(Started {
            noise: noise_state,
            allow: self.allow.clone(),
            me: self.me,
        })
    }

    /// Starts as the initiator: the state waiting for message 2, and message 1 to send.
    ///
    /// # Errors
    /// [`AuthError::Random`] or [`AuthError::Noise`] if no ephemeral key can be made.
    pub fn initiate(self) -> Result<(Initiating, Vec<u8>), AuthError> {
        let mut started = self.build(Role::Initiator)?;
        let mut message = Vec::with_capacity(MESSAGE1_LEN);
        message.extend_from_slice(MAGIC);
        message.push(AUTH_VERSION);
        message.extend_from_slice(&started.write(&[], MESSAGE1_LEN - 5)?);
        Ok((Initiating(started), message))
    }

    /// Starts as the responder, waiting for message 1.
    #[must_use]
    pub fn respond(self) -> Responding {
        Responding {
            started: self.build(Role::Responder),
        }
    }
}

/// A Noise handshake in progress, and what its checks need.
struct Started {
    noise: HandshakeState,
    allow: AllowList,
    me: ReplicaId,
}

impl Started {
    fn write(&mut self, payload: &[u8], len: usize) -> Result<Vec<u8>, AuthError> {
        // snow wants room for a tag even where none is written (message 1).
        let mut out = vec![0; len + super::TAG_LEN];
        let written = self.noise.write_message(payload, &mut out).map_err(noise)?;
        out.truncate(written);
        Ok(out)
    }

    /// Reads a message carrying the peer's static key and replica id, and checks both.
    fn read_identity(
        &mut self,
        message: &[u8],
        what: &'static str,
    ) -> Result<(ReplicaId, PublicKey), AuthError> {
        let mut payload = [0; 64];
        let len = self
            .noise
            .read_message(message, &mut payload)
            .map_err(|_| AuthError::BadMessage { what })?;
        let key = self
            .noise
            .get_remote_static()
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .map(PublicKey::from_bytes)
            .ok_or(AuthError::BadMessage { what })?;
        let replica = payload
            .get(..len)
            .and_then(|p| ReplicaId::try_from_slice(p).ok())
            .ok_or(AuthError::BadMessage { what })?;
        if !self.allow.contains(&key) {
            return Err(AuthError::NotAllowed { key });
        }
        if !key.owns(replica) {
            return Err(AuthError::ForeignReplicaId { replica, key });
        }
        if replica == self.me {
            return Err(AuthError::SelfConnection(replica));
        }
        Ok((replica, key))
    }

    fn into_session(self, peer: (ReplicaId, PublicKey)) -> Result<Session, AuthError> {
        let transport = self.noise.into_stateless_transport_mode().map_err(noise)?;
        Ok(Session::new(peer, transport))
    }
}

impl fmt::Debug for Started {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Started")
            .field("me", &self.me)
            .finish_non_exhaustive()
    }
}

fn noise(err: snow::Error) -> AuthError {
    match err {
        snow::Error::Rng => AuthError::Random("no ephemeral key".into()),
        other => AuthError::Noise(other.to_string()),
    }
}

fn expect_len(message: &[u8], what: &'static str, expected: usize) -> Result<(), AuthError> {
    if message.len() == expected {
        Ok(())
    } else {
        Err(AuthError::Malformed {
            what,
            len: message.len(),
            expected,
        })
    }
}

/// The initiator after message 1, waiting for message 2.
#[derive(Debug)]
pub struct Initiating(Started);

impl Initiating {
    /// Reads message 2 and checks the responder (allow-list, replica id owned by its key, not
    /// this replica's); only then gives message 3 to send and the session.
    ///
    /// # Errors
    /// [`AuthError::Incompatible`] for a version 1 hello, [`AuthError::Malformed`],
    /// [`AuthError::BadMessage`], [`AuthError::NotAllowed`], [`AuthError::ForeignReplicaId`],
    /// [`AuthError::SelfConnection`]. Nothing is sent after an error.
    pub fn read_response(self, message: &[u8]) -> Result<(Vec<u8>, Session), AuthError> {
        if message.len() == V1_HELLO_LEN && message.get(..5) == Some(b"DCAH\x01") {
            return Err(AuthError::Incompatible {
                found: 1,
                supported: AUTH_VERSION,
            });
        }
        expect_len(message, "message 2", MESSAGE2_LEN)?;
        let mut started = self.0;
        let peer = started.read_identity(message, "message 2")?;
        let me = *started.me.as_bytes();
        let reply = started.write(&me, MESSAGE3_LEN)?;
        Ok((reply, started.into_session(peer)?))
    }
}

/// The responder, waiting for message 1.
#[derive(Debug)]
pub struct Responding {
    started: Result<Started, AuthError>,
}

impl Responding {
    /// Reads message 1: gives message 2 to send, and the state waiting for message 3.
    ///
    /// # Errors
    /// [`AuthError::BadMagic`] (checked first), [`AuthError::Incompatible`] (another version,
    /// whatever the length), [`AuthError::Malformed`]; [`AuthError::Random`] or
    /// [`AuthError::Noise`] if no ephemeral key could be made.
    pub fn read_hello(self, message: &[u8]) -> Result<(Vec<u8>, AwaitingFinal), AuthError> {
        if message.get(..4) != Some(&MAGIC[..]) {
            return Err(AuthError::BadMagic);
        }
        match message.get(4) {
            Some(&AUTH_VERSION) => {}
            Some(&found) => {
                return Err(AuthError::Incompatible {
                    found,
                    supported: AUTH_VERSION,
                });
            }
            None => expect_len(message, "message 1", MESSAGE1_LEN)?,
        }
        expect_len(message, "message 1", MESSAGE1_LEN)?;
        let mut started = self.started?;
        let mut empty = [0; 0];
        started
            .noise
            .read_message(message.get(5..).unwrap_or_default(), &mut empty)
            .map_err(|_| AuthError::BadMessage { what: "message 1" })?;
        let me = *started.me.as_bytes();
        let reply = started.write(&me, MESSAGE2_LEN)?;
        Ok((reply, AwaitingFinal(started)))
    }
}

/// The responder after message 2, waiting for message 3.
#[derive(Debug)]
pub struct AwaitingFinal(Started);

impl AwaitingFinal {
    /// Reads message 3 and checks the initiator (allow-list, replica id owned by its key,
    /// not this replica's): the session.
    ///
    /// # Errors
    /// [`AuthError::Malformed`], [`AuthError::BadMessage`], [`AuthError::NotAllowed`],
    /// [`AuthError::ForeignReplicaId`], [`AuthError::SelfConnection`].
    pub fn read_final(self, message: &[u8]) -> Result<Session, AuthError> {
        expect_len(message, "message 3", MESSAGE3_LEN)?;
        let mut started = self.0;
        let peer = started.read_identity(message, "message 3")?;
        started.into_session(peer)
    }
}
