//! A peer's identity: a static X25519 key pair, whose public key owns a family of replica ids.

use core::fmt;
use core::str::FromStr;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::AuthError;
use crate::id::ReplicaId;

/// Domain-separation label of a public key's family of replica ids.
const FAMILY_LABEL: &[u8] = b"deltacrdt-auth/2 replica family";

/// A peer's public key (X25519, 32 bytes): its identity on the network, what an
/// [`AllowList`](crate::AllowList) lists, and the owner of a family of replica ids.
///
/// Its text form is 64 lower-case hex digits; [`fingerprint`](Self::fingerprint) is the first
/// 8, for tables and logs.
///
/// # Examples
/// ```
/// use deltacrdt::{PeerKey, PublicKey};
/// let key = PeerKey::generate()?;
/// let public: PublicKey = key.public().to_string().parse()?;
/// assert_eq!(public, key.public());
/// assert!(public.owns(key.new_replica_id()?));
/// assert!(!public.owns(deltacrdt::ReplicaId::from_u128(7)));
/// # Ok::<(), deltacrdt::AuthError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; 32]);

impl PublicKey {
    /// The key with these 32 bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// Its 32 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The first 8 hex digits of the key: enough to tell the peers of a group apart in a
    /// table, not to identify one (allow-lists hold whole keys).
    #[must_use]
    pub fn fingerprint(&self) -> String {
        hex(self.0.get(..4).unwrap_or_default())
    }

    /// Whether `replica` belongs to this key's family: its first
    /// [`ReplicaId::FAMILY_PREFIX_LEN`] bytes are the key's family prefix (`PROTOCOL.md`).
    /// Ids issued by [`PeerKey::new_replica_id`] and their forks do.
    #[must_use]
    pub fn owns(&self, replica: ReplicaId) -> bool {
        replica.as_bytes().get(..ReplicaId::FAMILY_PREFIX_LEN) == Some(&self.family()[..])
    }

    /// The id of this key's family that ends in `suffix`: for fixtures and tests, which want
    /// the same ids every run. A new replica takes [`PeerKey::new_replica_id`] (random).
    #[must_use]
    pub fn replica_id(&self, suffix: [u8; 16 - ReplicaId::FAMILY_PREFIX_LEN]) -> ReplicaId {
        let mut bytes = [0; 16];
        let (prefix, rest) = bytes.split_at_mut(ReplicaId::FAMILY_PREFIX_LEN);
        prefix.copy_from_slice(&self.family());
        rest.copy_from_slice(&suffix);
        ReplicaId::from_bytes(bytes)
    }

    /// `SHA-256(label || key)[0..10]`, with UUID version 8 and RFC 9562 variant bits set.
    fn family(&self) -> [u8; ReplicaId::FAMILY_PREFIX_LEN] {
        let digest = Sha256::new()
            .chain_update(FAMILY_LABEL)
            .chain_update(self.0)
            .finalize();
        let mut prefix = [0; ReplicaId::FAMILY_PREFIX_LEN];
        prefix.copy_from_slice(
            digest
                .get(..ReplicaId::FAMILY_PREFIX_LEN)
                .unwrap_or_default(),
        );
        let [.., version, _, variant, _] = &mut prefix;
        *version = (*version & 0x0f) | 0x80;
        *variant = (*variant & 0x3f) | 0x80;
        prefix
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex(&self.0))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({}…)", self.fingerprint())
    }
}

impl FromStr for PublicKey {
    type Err = AuthError;

    /// 64 hex digits (either case).
    fn from_str(s: &str) -> Result<Self, AuthError> {
        unhex32(s).map(Self)
    }
}

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
            public: PublicKey(public),
        }
    }

    /// The key pair of a secret in text form (64 hex digits, surrounding whitespace ignored).
    ///
    /// # Errors
    /// [`AuthError::BadKey`].
    pub fn from_secret_hex(text: &str) -> Result<Self, AuthError> {
        unhex32(text.trim()).map(Self::from_secret)
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

fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

fn unhex32(text: &str) -> Result<[u8; 32], AuthError> {
    let bad = |why: String| AuthError::BadKey { why };
    if text.len() != 64 {
        let shown: String = text
            .chars()
            .take(8)
            .filter(char::is_ascii_hexdigit)
            .collect();
        return Err(bad(format!(
            "{} characters (\"{shown}…\"), expected 64 hex digits",
            text.chars().count()
        )));
    }
    let mut out = [0; 32];
    for (byte, pair) in out.iter_mut().zip(text.as_bytes().chunks_exact(2)) {
        // Digits only: `from_str_radix` alone would take a sign.
        let digits = core::str::from_utf8(pair)
            .ok()
            .filter(|d| d.bytes().all(|c| c.is_ascii_hexdigit()));
        *byte = digits
            .and_then(|d| u8::from_str_radix(d, 16).ok())
            .ok_or_else(|| bad("not hex digits".into()))?;
    }
    Ok(out)
}
