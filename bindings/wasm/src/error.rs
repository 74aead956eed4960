//! Errors as JavaScript sees them: an `Error` with a stable string `code`.

use deltacrdt::{ClockError, DecodeError, SyncError};
use wasm_bindgen::JsError;

/// The stable error codes, the `code` property of every error the module throws.
///
/// Messages may change between versions; codes do not. The `AUTH_*` codes are the JavaScript
/// channel's (`channel/index.mjs`), which throws its errors in the same form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Code {
    /// A frame that does not decode or validate (corrupt, truncated, hostile).
    Decode,
    /// A frame in another version of the wire format.
    Incompatible,
    /// A frame whose timestamp is too far ahead of the local clock.
    ClockDrift,
    /// The clock could not issue a timestamp or was misconfigured.
    Clock,
    /// A peer id that is not a UUID string.
    BadPeerId,
    /// A hello naming another replica than the peer it came from.
    PeerMismatch,
    /// A peer using this replica's own id.
    SelfId,
    /// More peers than the engine tracks.
    TooManyPeers,
    /// A frame that breaks the sync protocol (an acknowledgement of an unsent sequence).
    Protocol,
    /// Any other refusal of a frame by the sync engine.
    Sync,
    /// A value that cannot be stored (not JSON, not finite, too deep, wrong type).
    BadValue,
    /// A path that names no field, or nests too deep.
    Path,
    /// Bytes given to `Doc.load` that are not a valid save.
    BadSave,
    /// A bad constructor or `load` option.
    BadOption,
    /// The document is in use by a call further up the stack (a re-entrant call that would
    /// need the engine while it is borrowed).
    Busy,
    /// The host has no `crypto.getRandomValues` to draw a replica id from.
    NoRandom,
}

impl Code {
    /// The code as JavaScript sees it, e.g. `"DECODE"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Decode => "DECODE",
            Self::Incompatible => "INCOMPATIBLE",
            Self::ClockDrift => "CLOCK_DRIFT",
            Self::Clock => "CLOCK",
            Self::BadPeerId => "BAD_PEER_ID",
            Self::PeerMismatch => "PEER_MISMATCH",
            Self::SelfId => "SELF_ID",
            Self::TooManyPeers => "TOO_MANY_PEERS",
            Self::Protocol => "PROTOCOL",
            Self::Sync => "SYNC",
            Self::BadValue => "BAD_VALUE",
            Self::Path => "PATH",
            Self::BadSave => "BAD_SAVE",
            Self::BadOption => "BAD_OPTION",
            Self::Busy => "BUSY",
            Self::NoRandom => "NO_RANDOM",
        }
    }
}

/// An error on its way to JavaScript: a code and a human-readable message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The stable code.
    pub code: Code,
    /// What went wrong, for people.
    pub message: String,
}

impl Failure {
    /// A failure with `code` and `message`.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The engine is borrowed by a call further up the stack.
    pub(crate) fn busy() -> Self {
        Self::new(
            Code::Busy,
            "the document is in use by a call further up the stack (re-entrant call)",
        )
    }
}

impl From<ClockError> for Failure {
    fn from(err: ClockError) -> Self {
        let code = match err {
            ClockError::Drift { .. } => Code::ClockDrift,
            _ => Code::Clock,
        };
        Self::new(code, err.to_string())
    }
}

impl From<DecodeError> for Failure {
    fn from(err: DecodeError) -> Self {
        let code = match err {
            DecodeError::UnsupportedVersion { .. } => Code::Incompatible,
            _ => Code::Decode,
        };
        Self::new(code, err.to_string())
    }
}

impl From<SyncError> for Failure {
    fn from(err: SyncError) -> Self {
        let code = match &err {
            SyncError::Incompatible { .. } => Code::Incompatible,
            SyncError::Decode { source, .. } => match source {
                DecodeError::UnsupportedVersion { .. } => Code::Incompatible,
                _ => Code::Decode,
            },
            SyncError::Clock { source, .. } => match source {
                ClockError::Drift { .. } => Code::ClockDrift,
                _ => Code::Clock,
            },
            SyncError::PeerMismatch { .. } => Code::PeerMismatch,
            SyncError::SelfId(_) => Code::SelfId,
            SyncError::TooManyPeers { .. } => Code::TooManyPeers,
            SyncError::AckOutOfRange { .. } => Code::Protocol,
            _ => Code::Sync,
        };
        Self::new(code, err.to_string())
    }
}

impl From<Failure> for JsError {
    fn from(failure: Failure) -> Self {
        let error = JsError::new(&format!("{}: {}", failure.code.as_str(), failure.message));
        // A JsError is a handle to a JS `Error`; its clone names the same object, so the
        // property set through the clone is visible on the error thrown.
        let handle = wasm_bindgen::JsValue::from(error.clone());
        let _ = js_sys::Reflect::set(
            &handle,
            &wasm_bindgen::JsValue::from_str("code"),
            &wasm_bindgen::JsValue::from_str(failure.code.as_str()),
        );
        error
    }
}

/// The result type of the Rust side of every entry point.
pub(crate) type Result<T, E = Failure> = core::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drift_maps_to_clock_drift() {
        let err = ClockError::Drift {
            remote_millis: 2,
            local_millis: 1,
            max_drift_millis: 0,
        };
        assert_eq!(Failure::from(err).code, Code::ClockDrift);
    }

    #[test]
    fn version_maps_to_incompatible() {
        let err = DecodeError::UnsupportedVersion {
            found: 9,
            supported: 1,
        };
        assert_eq!(Failure::from(err).code.as_str(), "INCOMPATIBLE");
        assert_eq!(
            Failure::from(DecodeError::Truncated).code.as_str(),
            "DECODE"
        );
    }
}
