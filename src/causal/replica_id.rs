//! Replica identity.

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
/// newtype named [`SERDE_NAME`](Self::SERDE_NAME); the codec writes it as an index into a frame's
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

/// The smallest id listed more than once, if any. Sorting a copy (not a hash set): replica
/// tables are small, and the npm module then needs no hash table of ids.
pub(crate) fn first_duplicate(ids: impl Iterator<Item = ReplicaId>) -> Option<ReplicaId> {
    let mut ids: Vec<ReplicaId> = ids.collect();
    crate::sort::sort_unstable(&mut ids);
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
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    #[must_use]
    pub fn random() -> Self {
        Self(Uuid::new_v4())
    }

    /// A version-4 id built from 16 caller-supplied random bytes (the version bits are set).
    #[must_use]
    pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
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
    /// and the hyphenated form in braces or after `urn:uuid:`. Parsed here (a differential test
    /// holds it to uuid's parser) because uuid's is ~1.5 KB of the npm module.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s.as_bytes())
            .map(Self::from_bytes)
            .ok_or_else(|| InvalidReplicaId::new(s))
    }
}

/// The 16 bytes of a UUID in one of the textual forms [`FromStr`] documents.
fn parse(s: &[u8]) -> Option<[u8; 16]> {
    let s = match s {
        [b'{', inner @ .., b'}'] if inner.len() == 36 => inner,
        _ if s.len() == 45
            && s.get(..9)
                .is_some_and(|p| p.eq_ignore_ascii_case(b"urn:uuid:")) =>
        {
            s.get(9..).unwrap_or_default()
        }
        _ => s,
    };
    let hyphenated = s.len() == 36;
    if !hyphenated && s.len() != 32 {
        return None;
    }
    let mut digits = s.iter().enumerate().filter_map(|(i, &c)| {
        if hyphenated && matches!(i, 8 | 13 | 18 | 23) {
            // A hyphen position: `None` digit stands for "anything but a hyphen is wrong".
            return (c != b'-').then_some(None);
        }
        Some(char::from(c).to_digit(16))
    });
    let mut out = [0u8; 16];
    for byte in &mut out {
        let hi = digits.next()??;
        let lo = digits.next()??;
        *byte = u8::try_from(hi * 16 + lo).ok()?;
    }
    digits.next().is_none().then_some(out)
}

/// The hyphenated lower-case form, `67e55044-10b1-426f-9247-bb680e5fe0c8`.
impl fmt::Display for ReplicaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut out = [b'-'; 36];
        let mut at = 0;
        for (i, byte) in self.as_bytes().iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                at += 1;
            }
            for nibble in [byte >> 4, byte & 0xf] {
                if let (Some(slot), Some(&digit)) = (out.get_mut(at), HEX.get(usize::from(nibble)))
                {
                    *slot = digit;
                }
                at += 1;
            }
        }
        f.write_str(core::str::from_utf8(&out).unwrap_or_default())
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
    use super::{ReplicaId, Uuid, parse};

    /// The parser accepts and rejects exactly what uuid's does, with the same bytes.
    #[test]
    fn parse_agrees_with_uuid() {
        let id = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        let mut inputs: Vec<String> = vec![
            id.into(),
            id.to_uppercase(),
            id.replace('-', ""),
            format!("{{{id}}}"),
            format!("urn:uuid:{id}"),
            format!("URN:UUID:{id}"),
            format!("{{{}}}", id.replace('-', "")),
            format!("urn:uuid:{}", id.replace('-', "")),
            format!("{{{id}"),
            format!("{id}}}"),
            String::new(),
            "-".repeat(36),
            id.replacen('-', "", 1) + "0",
            id.replacen('-', "+", 1),
            id.replacen('e', "é", 1),
            id.replacen('e', "g", 1),
            format!("{}-", &id[..35]),
        ];
        // Every single-byte substitution and deletion of the hyphenated and simple forms.
        let mut seed = 0x9e37_79b9_u32;
        for base in [id.to_owned(), id.replace('-', ""), format!("{{{id}}}")] {
            for i in 0..base.len() {
                for c in ['-', '0', 'f', 'F', 'G', '{', ' '] {
                    let mut s = base.clone().into_bytes();
                    s[i] = c as u8;
                    inputs.push(String::from_utf8(s).unwrap_or_default());
                }
                let mut s = base.clone();
                s.remove(i);
                inputs.push(s);
            }
        }
        for _ in 0..2_000 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let len = [32, 34, 36, 38, 45][seed as usize % 5];
            let s: String = (0..len)
                .map(|k| {
                    b"0123456789abcdefABCDEF-{}:nru"[(seed.rotate_left(k) as usize) % 29] as char
                })
                .collect();
            inputs.push(s);
        }
        for s in &inputs {
            let ours = parse(s.as_bytes());
            let theirs = Uuid::try_parse(s).ok().map(|u| *u.as_bytes());
            assert_eq!(ours, theirs, "{s:?}");
            assert_eq!(s.parse::<ReplicaId>().ok().map(|r| *r.as_bytes()), theirs);
            if let Some(bytes) = theirs {
                let id = ReplicaId::from_bytes(bytes);
                assert_eq!(
                    id.to_string(),
                    Uuid::from_bytes(bytes).hyphenated().to_string()
                );
                assert_eq!(
                    format!("{id:>40}"),
                    format!("{:>40}", Uuid::from_bytes(bytes))
                );
            }
        }
    }
}
