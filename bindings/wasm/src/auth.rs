//! `AuthChannel`: the crate's peer handshake (`deltacrdt::Handshake`, HMAC-SHA256 over a
//! pre-shared key, see `src/auth/PROTOCOL.md`) for one connection from JavaScript, so a
//! browser can join native peers, which accept only authenticated connections.
//!
//! Sans IO like the core: the caller carries the bytes. A browser dialing a native peer's
//! WebSocket listener is the initiator; both sides send their hello at once, answer the
//! other's hello with a proof, verify the other's proof, then every sync frame crosses as
//! `seal(frame)` one way and `open(bytes)` the other. Any failure closes the channel for good
//! (`AUTH_STATE` afterwards), as the native side closes the connection.

use deltacrdt::{AuthKey, AwaitingProof, Handshake, NONCE_LEN, Role, Session};
use wasm_bindgen::prelude::*;

use crate::convert::{random_bytes, replica_id};
use crate::error::{Code, Failure, Result};

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Which side of a connection an `AuthChannel` is: the dialer (a browser) is the initiator. */
export type AuthRole = 'initiator' | 'responder';

/** Where an `AuthChannel` stands. */
export type AuthState = 'hello' | 'proof' | 'open' | 'failed';

/** Options of `new AuthChannel(...)`. */
export interface AuthChannelOptions {
  /** Testing only: a fixed 32-byte nonce instead of one from `crypto.getRandomValues`, for deterministic bytes. Never reuse a nonce on a real connection. */
  nonce?: Uint8Array;
}
"#;

/// Where the handshake stands.
#[derive(Debug)]
enum State {
    /// Hello sent (or to send), waiting for the peer's.
    Hello(Handshake),
    /// Proof sent, waiting for the peer's.
    Proof(AwaitingProof),
    /// Authenticated: frames are sealed and opened.
    Open(Session),
    /// A step failed; the connection must be closed.
    Failed,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            Self::Hello(_) => "hello",
            Self::Proof(_) => "proof",
            Self::Open(_) => "open",
            Self::Failed => "failed",
        }
    }
}

/// The handshake state machine, in plain Rust (tested natively; the class below only converts).
#[derive(Debug)]
struct Channel {
    hello: Vec<u8>,
    state: State,
}

fn out_of_order(state: &State, call: &str) -> Failure {
    let why = match state {
        State::Failed => "the channel failed earlier: close the connection and dial again".into(),
        other => format!("the channel is in state \"{}\"", other.name()),
    };
    Failure::new(Code::AuthState, format!("{call}: {why}"))
}

impl Channel {
    fn new(key: &AuthKey, role: Role, me: deltacrdt::ReplicaId, nonce: [u8; NONCE_LEN]) -> Self {
        let hs = Handshake::new(key, role, me, nonce);
        Self {
            hello: hs.hello().to_vec(),
            state: State::Hello(hs),
        }
    }

    /// Runs one step from the state `expected` names; any error of the step leaves the
    /// channel failed. A call in another state is refused and changes nothing.
    fn step<T>(
        &mut self,
        call: &str,
        expected: &str,
        f: impl FnOnce(State) -> Result<(T, State)>,
    ) -> Result<T> {
        if self.state.name() != expected {
            return Err(out_of_order(&self.state, call));
        }
        let (out, next) = f(core::mem::replace(&mut self.state, State::Failed))?;
        self.state = next;
        Ok(out)
    }

    fn read_hello(&mut self, bytes: &[u8]) -> Result<Vec<u8>> {
        self.step("readHello", "hello", |state| match state {
            State::Hello(hs) => {
                let (proof, waiting) = hs.read_hello(bytes)?;
                Ok((proof.to_vec(), State::Proof(waiting)))
            }
            other => Err(out_of_order(&other, "readHello")),
        })
    }

    fn read_proof(&mut self, bytes: &[u8]) -> Result<String> {
        self.step("readProof", "proof", |state| match state {
            State::Proof(waiting) => {
                let session = waiting.read_proof(bytes)?;
                Ok((session.peer().to_string(), State::Open(session)))
            }
            other => Err(out_of_order(&other, "readProof")),
        })
    }

    fn seal(&mut self, frame: &[u8]) -> Result<Vec<u8>> {
        self.step("seal", "open", |state| match state {
            State::Open(mut session) => Ok((session.sealer.seal(frame), State::Open(session))),
            other => Err(out_of_order(&other, "seal")),
        })
    }

    fn open(&mut self, sealed: &[u8]) -> Result<Vec<u8>> {
        self.step("open", "open", |state| match state {
            State::Open(mut session) => {
                let frame = session.opener.open(sealed)?.to_vec();
                Ok((frame, State::Open(session)))
            }
            other => Err(out_of_order(&other, "open")),
        })
    }

    fn peer(&self) -> Option<String> {
        match &self.state {
            State::Open(session) => Some(session.peer().to_string()),
            _ => None,
        }
    }
}

fn role(s: &str) -> Result<Role> {
    match s {
        "initiator" => Ok(Role::Initiator),
        "responder" => Ok(Role::Responder),
        _ => Err(Failure::new(
            Code::BadOption,
            "role must be \"initiator\" (the side that dialed) or \"responder\"",
        )),
    }
}

/// The nonce option, if any: exactly 32 bytes in a `Uint8Array`.
fn nonce_option(options: &JsValue) -> Result<Option<[u8; NONCE_LEN]>> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    if !options.is_object() {
        return Err(Failure::new(Code::BadOption, "options must be an object"));
    }
    let v =
        js_sys::Reflect::get(options, &JsValue::from_str("nonce")).unwrap_or(JsValue::UNDEFINED);
    if v.is_undefined() {
        return Ok(None);
    }
    let bad = || {
        Failure::new(
            Code::BadOption,
            format!("option nonce must be a Uint8Array of {NONCE_LEN} bytes"),
        )
    };
    let bytes = v.dyn_into::<js_sys::Uint8Array>().map_err(|_| bad())?;
    let mut nonce = [0; NONCE_LEN];
    if bytes.length() as usize != NONCE_LEN {
        return Err(bad());
    }
    bytes.copy_to(&mut nonce);
    Ok(Some(nonce))
}

/// One side of an authenticated connection to a peer (JS `AuthChannel`): the crate's
/// HMAC-SHA256 handshake over a pre-shared passphrase, then per-frame integrity tags.
///
/// Send [`hello`](Self::hello) first; feed the peer's first message to
/// [`read_hello`](Self::read_hello) and send the proof it returns; feed the peer's second
/// message to [`read_proof`](Self::read_proof), which returns the peer's authenticated replica
/// id. From then on [`seal`](Self::seal) every frame sent and [`open`](Self::open) every frame
/// received. Authentication and integrity, not secrecy: use `wss://` for that.
#[wasm_bindgen]
#[derive(Debug)]
pub struct AuthChannel {
    inner: Channel,
}

#[wasm_bindgen]
#[allow(
    non_snake_case,
    reason = "parameter names show in the .d.ts, where JS spells them in camelCase"
)]
impl AuthChannel {
    /// A channel for this replica (`replicaId`, its `Doc`'s id) in `role`, holding the key
    /// derived from `passphrase` (the native peers' `--key`).
    ///
    /// # Errors
    /// `BAD_PEER_ID` for a `replicaId` that is not a UUID, `BAD_OPTION` for another role or a
    /// bad nonce option, `NO_RANDOM` if the host has no `crypto.getRandomValues`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        passphrase: &str,
        replicaId: &str,
        #[wasm_bindgen(unchecked_param_type = "AuthRole")] role: &str,
        #[wasm_bindgen(unchecked_optional_param_type = "AuthChannelOptions")] options: JsValue,
    ) -> core::result::Result<AuthChannel, JsError> {
        let me = replica_id(replicaId)?;
        let role = self::role(role)?;
        let nonce = match nonce_option(&options)? {
            Some(nonce) => nonce,
            None => random_bytes()?,
        };
        let key = AuthKey::from_passphrase(passphrase);
        Ok(Self {
            inner: Channel::new(&key, role, me, nonce),
        })
    }

    /// This side's hello (53 bytes): the first message to send.
    pub fn hello(&self) -> Vec<u8> {
        self.inner.hello.clone()
    }

    /// Reads the peer's hello (its first message); returns this side's proof, to send next.
    ///
    /// # Errors
    /// `AUTH_BAD_MAGIC`, `AUTH_INCOMPATIBLE`, `AUTH_MALFORMED`, `AUTH_SELF_CONNECTION`,
    /// `AUTH_REFLECTED`; `AUTH_STATE` if not waiting for a hello.
    #[wasm_bindgen(js_name = readHello)]
    pub fn read_hello(&mut self, bytes: &[u8]) -> core::result::Result<Vec<u8>, JsError> {
        Ok(self.inner.read_hello(bytes)?)
    }

    /// Reads the peer's proof (its second message); returns the peer's replica id, now
    /// authenticated (what `Doc.connect` and `Doc.receive` take).
    ///
    /// # Errors
    /// `AUTH_BAD_PROOF` when the peer does not hold the key, `AUTH_MALFORMED`; `AUTH_STATE`
    /// if not waiting for a proof.
    #[wasm_bindgen(js_name = readProof)]
    pub fn read_proof(&mut self, bytes: &[u8]) -> core::result::Result<String, JsError> {
        Ok(self.inner.read_proof(bytes)?)
    }

    /// The frame to send for `frame`: `frame` followed by a 16-byte tag.
    ///
    /// # Errors
    /// `AUTH_STATE` before the handshake ended or after a failure.
    pub fn seal(&mut self, frame: &[u8]) -> core::result::Result<Vec<u8>, JsError> {
        Ok(self.inner.seal(frame)?)
    }

    /// The frame inside `bytes` received from the peer, if its tag verifies.
    ///
    /// # Errors
    /// `AUTH_BAD_TAG` for a frame injected, replayed, reordered, altered or too short (the
    /// channel fails: close the connection); `AUTH_STATE` before the handshake ended or after
    /// a failure.
    pub fn open(&mut self, bytes: &[u8]) -> core::result::Result<Vec<u8>, JsError> {
        Ok(self.inner.open(bytes)?)
    }

    /// The authenticated peer's replica id, once the handshake ended (else `undefined`).
    #[wasm_bindgen(getter, js_name = peerId)]
    pub fn peer_id(&self) -> Option<String> {
        self.inner.peer()
    }

    /// Where the channel stands: `"hello"`, `"proof"`, `"open"` or `"failed"`.
    #[wasm_bindgen(getter, unchecked_return_type = "AuthState")]
    pub fn state(&self) -> String {
        self.inner.state.name().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use deltacrdt::ReplicaId;

    fn pair(a: &str, b: &str) -> (Channel, Channel) {
        (
            Channel::new(
                &AuthKey::from_passphrase(a),
                Role::Initiator,
                ReplicaId::from_u128(1),
                [0xAA; 32],
            ),
            Channel::new(
                &AuthKey::from_passphrase(b),
                Role::Responder,
                ReplicaId::from_u128(2),
                [0xBB; 32],
            ),
        )
    }

    #[test]
    fn handshake_then_frames() -> Result<()> {
        let (mut i, mut r) = pair("k", "k");
        let (hi, hr) = (i.hello.clone(), r.hello.clone());
        let pi = i.read_hello(&hr)?;
        let pr = r.read_hello(&hi)?;
        assert_eq!(i.read_proof(&pr)?, ReplicaId::from_u128(2).to_string());
        assert_eq!(r.read_proof(&pi)?, ReplicaId::from_u128(1).to_string());
        let sealed = i.seal(b"frame")?;
        assert_eq!(r.open(&sealed)?, b"frame");
        assert_eq!(
            r.open(&sealed).err().map(|f| f.code),
            Some(Code::AuthBadTag)
        );
        // Sticky: the failed channel refuses everything after.
        assert_eq!(r.seal(b"x").err().map(|f| f.code), Some(Code::AuthState));
        assert_eq!(r.state.name(), "failed");
        Ok(())
    }

    #[test]
    fn out_of_order_calls_are_auth_state_and_change_nothing() -> Result<()> {
        let (mut i, r) = pair("k", "k");
        assert_eq!(i.seal(b"x").err().map(|f| f.code), Some(Code::AuthState));
        assert_eq!(
            i.read_proof(&[0; 32]).err().map(|f| f.code),
            Some(Code::AuthState)
        );
        assert_eq!(i.state.name(), "hello");
        let _proof = i.read_hello(&r.hello)?;
        assert_eq!(
            i.read_hello(&r.hello).err().map(|f| f.code),
            Some(Code::AuthState)
        );
        assert_eq!(i.state.name(), "proof");
        Ok(())
    }

    #[test]
    fn wrong_key_is_bad_proof() -> Result<()> {
        let (mut i, mut r) = pair("right", "wrong");
        let (hi, hr) = (i.hello.clone(), r.hello.clone());
        let _ = i.read_hello(&hr)?;
        let pr = r.read_hello(&hi)?;
        assert_eq!(
            i.read_proof(&pr).err().map(|f| f.code),
            Some(Code::AuthBadProof)
        );
        assert_eq!(i.peer(), None);
        Ok(())
    }
}
