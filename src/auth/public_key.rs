//! A peer's public key: its identity on the network, and the owner of a family of replica ids.

use core::fmt;
use core::str::FromStr;

use sha2::{Digest, Sha256};

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
/// # Ok::<(), Box<dyn std::error::Error>>(())
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
    /// Ids issued by [`PeerKey::new_replica_id`](crate::PeerKey::new_replica_id) and their forks do.
    #[must_use]
    pub fn owns(&self, replica: ReplicaId) -> bool {
        replica.as_bytes().get(..ReplicaId::FAMILY_PREFIX_LEN) == Some(&self.family()[..])
    }

    /// The id of this key's family that ends in `suffix`: for fixtures and tests, which want
    /// the same ids every run. A new replica takes [`PeerKey::new_replica_id`](crate::PeerKey::new_replica_id) (random).
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
    type Err = InvalidKey;

    /// 64 hex digits (either case).
    fn from_str(s: &str) -> Result<Self, InvalidKey> {
        unhex32(s).map(Self)
    }
}

/// A key in text form that is not 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid key: {why}")]
pub struct InvalidKey {
    /// What is wrong with it.
    pub why: String,
}

/// Lower-case hex.
pub(super) fn hex(bytes: &[u8]) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(2 * bytes.len());
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// 32 bytes from exactly 64 hex digits.
pub(super) fn unhex32(text: &str) -> Result<[u8; 32], InvalidKey> {
    let bad = |why: String| InvalidKey { why };
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
