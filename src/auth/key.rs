//! The pre-shared key.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::AuthError;

/// HMAC-SHA256, the one MAC of the handshake proofs and the frame tags.
pub(super) type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 keyed with `key`, ready for input.
pub(super) fn keyed(key: &[u8; 32]) -> HmacSha256 {
    // HMAC takes keys of any length: this never fails.
    <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!())
}

/// Domain-separation labels of the two key derivations.
const PASSPHRASE_LABEL: &[u8] = b"deltacrdt-auth/1 passphrase\0";
const RAW_LABEL: &[u8] = b"deltacrdt-auth/1 raw key\0";

/// The key every peer of a group shares: 32 bytes, derived by SHA-256 from a passphrase or
/// from raw key bytes, each under its own domain-separation label.
///
/// # Examples
/// ```
/// use deltacrdt::AuthKey;
/// let a = AuthKey::from_passphrase("team board");
/// assert_eq!(a, AuthKey::from_passphrase("team board"));
/// assert!(AuthKey::from_bytes(&[7; 8]).is_err()); // raw keys need 16 bytes or more
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AuthKey([u8; 32]);

impl AuthKey {
    /// The shortest raw key accepted.
    pub const MIN_RAW_LEN: usize = 16;

    /// The key for a passphrase: `SHA-256("deltacrdt-auth/1 passphrase\0" || passphrase)`.
    /// A weak passphrase can be guessed offline from a recorded handshake; use a long one.
    #[must_use]
    pub fn from_passphrase(passphrase: &str) -> Self {
        Self::derive(PASSPHRASE_LABEL, passphrase.as_bytes())
    }

    /// The key for raw random bytes: `SHA-256("deltacrdt-auth/1 raw key\0" || bytes)`.
    ///
    /// # Errors
    /// [`AuthError::KeyTooShort`] below [`MIN_RAW_LEN`](Self::MIN_RAW_LEN) bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, AuthError> {
        if bytes.len() < Self::MIN_RAW_LEN {
            return Err(AuthError::KeyTooShort {
                len: bytes.len(),
                min: Self::MIN_RAW_LEN,
            });
        }
        Ok(Self::derive(RAW_LABEL, bytes))
    }

    fn derive(label: &[u8], secret: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(label);
        h.update(secret);
        Self(h.finalize().into())
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for AuthKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuthKey(..)") // never log the key
    }
}
