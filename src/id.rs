//! Replica identity: who. The lowest layer; the clock's stamps and causality both build on it.

use core::fmt;
use core::str::FromStr;

use uuid::Uuid;

/// The identity of one replica: a UUID, unique among every replica that ever touches a value.
///
/// Dots are `(ReplicaId, counter)` pairs, so two writers sharing an id make their updates collide
/// and replicas diverge. A replica that lost its state must take a **new** id.
///
/// # Examples
/// ```
/// use deltacrdt::ReplicaId;
/// let a: ReplicaId = "67e55044-10b1-426f-9247-bb680e5fe0c8".parse()?;
/// assert_eq!(a.to_string(), "67e55044-10b1-426f-9247-bb680e5fe0c8");
/// assert_eq!(ReplicaId::from_bytes(*a.as_bytes()), a);
/// # Ok::<(), deltacrdt::InvalidReplicaId>(())
/// ```
///
/// With serde, an id is its UUID (a string in human-readable formats, 16 bytes otherwise), as a
/// newtype named `"deltacrdt::ReplicaId"`; the codec writes it as an index into a frame's
/// replica table.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ReplicaId(Uuid);

#[cfg(feature = "serde")]
impl ReplicaId {
    /// The name of the serde newtype an id is written as (formats that print names show it).
    pub(crate) const SERDE_NAME: &'static str = "deltacrdt::ReplicaId";
}

#[cfg(feature = "serde")]
impl serde::Serialize for ReplicaId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(Self::SERDE_NAME, &self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for ReplicaId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Takes the UUID inside the newtype, or its 16 bytes directly.
        struct Id;
        impl<'de> serde::de::Visitor<'de> for Id {
            type Value = ReplicaId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a replica id")
            }
            fn visit_newtype_struct<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<ReplicaId, D::Error> {
                Uuid::deserialize(d).map(ReplicaId)
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<ReplicaId, E> {
                let bytes: [u8; 16] = v
                    .try_into()
                    .map_err(|_| E::invalid_length(v.len(), &"16 bytes"))?;
                Ok(ReplicaId::from_bytes(bytes))
            }
        }
        use serde::Deserialize as _;
        d.deserialize_newtype_struct(Self::SERDE_NAME, Id)
    }
}

/// A string or byte slice that is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid replica id \"{input}\": expected a UUID (16 bytes or its hyphenated hex form)")]
pub struct InvalidReplicaId {
    /// The rejected input, lossily shown: at most 64 bytes, each one outside printable ASCII
    /// replaced by `?` (so a hostile id cannot forge log lines or terminal escapes).
    pub input: String,
}

impl InvalidReplicaId {
    fn new(input: &str) -> Self {
        Self {
            // Printable ASCII only, so always valid UTF-8 (the fallback never happens).
            input: String::from_utf8(
                input
                    .bytes()
                    .take(64)
                    .map(|b| {
                        if b == b' ' || b.is_ascii_graphic() {
                            b
                        } else {
                            b'?'
                        }
                    })
                    .collect(),
            )
            .unwrap_or_default(),
        }
    }
}

/// A short list of replica ids: natively inline up to four (a delta's replica table names its
/// writer, so building or reading one allocates nothing); in the npm module a plain `Vec`,
/// one container type less in its code.
#[cfg(not(small_code))]
pub(crate) type Ids = smallvec::SmallVec<[ReplicaId; 4]>;
/// A short list of replica ids (a plain `Vec` in the npm module).
#[cfg(small_code)]
pub(crate) type Ids = Vec<ReplicaId>;

/// The smallest id listed more than once, if any. Sorting a copy (not a hash set): replica
/// tables are small, and the npm module then needs no hash table of ids.
pub(crate) fn first_duplicate(ids: impl Iterator<Item = ReplicaId>) -> Option<ReplicaId> {
    // Inline up to four ids (a delta's table names its writer), and compared pairwise up to
    // sixteen: checking a small table allocates and sorts nothing.
    let mut ids: Ids = ids.collect();
    if cfg!(not(small_code)) && ids.len() <= 16 {
        return ids
            .iter()
            .enumerate()
            .filter_map(|(i, a)| ids.get(i + 1..)?.contains(a).then_some(*a))
            .min();
    }
    crate::platform::sort::sort_unstable(&mut ids);
    ids.windows(2).find_map(|w| match w {
        [a, b] if a == b => Some(*a),
        _ => None,
    })
}

impl ReplicaId {
    /// A fresh random (version 4) id from the operating system's random source.
    ///
    /// Not available on `wasm32-unknown-unknown`, which has no OS random source: there, pass
    /// random bytes (e.g. from `crypto.getRandomValues`) to [`ReplicaId::from_random_bytes`].
    #[cfg(not(no_os))]
    #[must_use]
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// A version-4 id built from 16 caller-supplied random bytes (the version bits are set).
    #[must_use]
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// How many leading bytes a forked id keeps: with the `auth` feature they name the key that
    /// owns the id (its family, `src/auth/PROTOCOL.md`), so a fork still belongs to its key.
    pub const FAMILY_PREFIX_LEN: usize = 10;

    /// The id a replica continues under when its own id turned out reused (a restored backup,
    /// a copy): the first [`FAMILY_PREFIX_LEN`](Self::FAMILY_PREFIX_LEN) bytes of this id, then
    /// the last 6 of `random` (48 fresh random bits; two forks of one id collide with
    /// probability 2^-48).
    #[must_use]
    pub fn fork(self, random: [u8; 16]) -> Self {
        let mut bytes = *self.as_bytes();
        let (_, suffix) = bytes.split_at_mut(Self::FAMILY_PREFIX_LEN);
        let (_, fresh) = random.split_at(Self::FAMILY_PREFIX_LEN);
        suffix.copy_from_slice(fresh);
        Self::from_bytes(bytes)
    }

    /// The id with exactly these 16 bytes.
    #[must_use]
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(Uuid::from_bytes(bytes))
    }

    /// The id whose 16 big-endian bytes are `value` (handy for tests and fixtures).
    #[must_use]
    pub const fn from_u128(value: u128) -> Self {
        Self(Uuid::from_u128(value))
    }

    /// Parses 16 bytes from a slice.
    ///
    /// # Errors
    /// [`InvalidReplicaId`] if the slice is not exactly 16 bytes long.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, InvalidReplicaId> {
        Uuid::from_slice(bytes)
            .map(Self)
            .map_err(|_| InvalidReplicaId::new(&format!("{} bytes", bytes.len())))
    }

    /// The 16 bytes of the id.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// The id as a [`Uuid`].
    #[must_use]
    pub const fn as_uuid(&self) -> Uuid {
        self.0
    }
}

impl From<Uuid> for ReplicaId {
    fn from(uuid: Uuid) -> Self {
        Self(uuid)
    }
}

impl FromStr for ReplicaId {
    type Err = InvalidReplicaId;

    /// The forms [`Uuid::parse_str`] reads: 32 hex digits, optionally hyphenated 8-4-4-4-12,
    /// and the hyphenated form in braces or after `urn:uuid:`. Parsed by `crate::platform` (a
    /// differential test holds it to uuid's parser) because uuid's is ~1.5 KB of the npm module.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::platform::uuid_text::parse(s.as_bytes())
            .map(Self::from_bytes)
            .ok_or_else(|| InvalidReplicaId::new(s))
    }
}

/// The hyphenated lower-case form, `67e55044-10b1-426f-9247-bb680e5fe0c8`.
impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::platform::uuid_text::write_hyphenated(self.as_bytes(), f)
    }
}

impl fmt::Debug for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Eight hex digits tell replicas apart in test output without drowning it.
        let s = self.0.simple().to_string();
        write!(f, "R{}", s.get(..8).unwrap_or(&s))
    }
}

#[cfg(test)]
mod tests {
    use super::{ReplicaId, Uuid};

    /// `Display` and `FromStr` (over `crate::platform::uuid_text`, which its own test holds to
    /// uuid's on thousands of inputs) are uuid's, padding included.
    #[test]
    fn text_is_uuid_s() {
        for value in [0, 1, u128::MAX, 0x67e5_5044_10b1_426f_9247_bb68_0e5f_e0c8] {
            let uuid = Uuid::from_u128(value);
            let id = ReplicaId::from_u128(value);
            assert_eq!(id.to_string(), uuid.hyphenated().to_string());
            assert_eq!(format!("{id:>40}"), format!("{uuid:>40}"));
            for text in [uuid.hyphenated().to_string(), uuid.simple().to_string()] {
                assert_eq!(text.parse::<ReplicaId>(), Ok(id));
            }
        }
        assert!("not-a-uuid".parse::<ReplicaId>().is_err());
    }
}
