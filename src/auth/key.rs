//! A peer's identity: a static X25519 key pair.

use core::fmt;
use std::path::Path;

use super::public_key::{hex, unhex32};
use super::{AuthError, PublicKey};
use crate::id::ReplicaId;

/// A peer's static key pair: the secret half proves the peer's identity in every handshake;
/// keep it in a file only the peer's user can read ([`save`](Self::save) creates it so).
///
/// # Examples
/// ```
/// use deltacrdt::PeerKey;
/// let key = PeerKey::generate()?;
/// let again = PeerKey::from_secret_hex(&key.secret_hex())?;
/// assert_eq!(again.public(), key.public());
/// # Ok::<(), deltacrdt::AuthError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PeerKey {
    secret: [u8; 32],
    public: PublicKey,
}

impl PeerKey {
    /// A new key pair from the OS random source.
    ///
    /// # Errors
    /// [`AuthError::Random`] if the OS has no randomness to give.
    pub fn generate() -> Result<Self, AuthError> {
        Ok(Self::from_secret(random()?))
    }

    /// The key pair of a 32-byte X25519 secret (clamped as X25519 does).
    #[must_use]
    pub fn from_secret(secret: [u8; 32]) -> Self {
        let public = curve25519_dalek::MontgomeryPoint::mul_base_clamped(secret).to_bytes();
        Self {
            secret,
            public: PublicKey::from_bytes(public),
        }
    }

    /// The key pair of a secret in text form (64 hex digits, surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`AuthError::BadKey`].
    pub fn from_secret_hex(text: &str) -> Result<Self, AuthError> {
        Ok(Self::from_secret(unhex32(text.trim())?))
    }

    /// The secret in text form, as a key file holds it. Never log it.
    #[must_use]
    pub fn secret_hex(&self) -> String {
        hex(&self.secret)
    }

    /// Reads a key file (the secret as 64 hex digits).
    ///
    /// # Errors
    /// [`AuthError::File`] if it cannot be read, [`AuthError::BadKey`] if it holds no key.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, AuthError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| file_error(path, &e))?;
        Self::from_secret_hex(&text)
    }

    /// Writes a new key file: the secret and a newline, readable by its owner only (mode
    /// 0600 on Unix). An existing file is never overwritten.
    ///
    /// # Errors
    /// [`AuthError::File`] if the file exists or cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), AuthError> {
        use std::io::Write as _;
        let path = path.as_ref();
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(|e| file_error(path, &e))?;
        writeln!(file, "{}", self.secret_hex())
            .and_then(|()| file.sync_all())
            .map_err(|e| file_error(path, &e))
    }

    /// The public half.
    #[must_use]
    pub fn public(&self) -> PublicKey {
        self.public
    }

    /// A fresh replica id that this key owns: its family prefix and 6 random bytes. Give one
    /// to each new replica (a new data directory); the peers of a network accept a replica id
    /// only from the key that owns it.
    ///
    /// # Errors
    /// [`AuthError::Random`].
    pub fn new_replica_id(&self) -> Result<ReplicaId, AuthError> {
        Ok(self.public.replica_id([0; 6]).fork(random()?))
    }

    pub(super) fn secret(&self) -> &[u8; 32] {
        &self.secret
    }
}

impl fmt::Debug for PeerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the secret.
        write!(f, "PeerKey({:?})", self.public)
    }
}

fn random<const N: usize>() -> Result<[u8; N], AuthError> {
    let mut bytes = [0; N];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(bytes)
}

pub(super) fn file_error(path: &Path, err: &std::io::Error) -> AuthError {
    AuthError::File {
        path: path.to_path_buf(),
        why: err.to_string(),
    }
}
