//! [`Timestamp`]: 48-bit Unix milliseconds and a 16-bit logical counter packed in a `u64`.

use std::fmt;

use super::ClockError;

/// A hybrid logical timestamp: the high 48 bits are Unix milliseconds, the low 16 bits a
/// logical counter.
///
/// Every `u64` is a valid timestamp, and the `u64` order is exactly the lexicographic order of
/// `(millis, logical)`. With the [`ReplicaId`](crate::id::ReplicaId) as a tie-break this
/// gives the total order of [`Stamp`](super::Stamp). With the `serde` feature a timestamp
/// serializes as a plain `u64`.
///
/// # Examples
///
/// ```
/// use deltacrdt::Timestamp;
///
/// let t = Timestamp::new(1_700_000_000_000, 5)?;
/// assert_eq!((t.millis(), t.logical()), (1_700_000_000_000, 5));
/// assert_eq!(t.to_string(), "1700000000000.5");
/// assert_eq!(Timestamp::from_u64(t.as_u64()), t);
/// assert!(t < Timestamp::new(1_700_000_000_000, 6)?);
/// assert!(Timestamp::new(1_700_000_000_000, u16::MAX)? < Timestamp::new(1_700_000_000_001, 0)?);
/// assert!(Timestamp::new(1 << 48, 0).is_err());
/// # Ok::<(), deltacrdt::ClockError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(u64);

#[cfg(feature = "serde")]
impl Timestamp {
    /// The name of the serde newtype a timestamp is written as: its packed `u64` inside. The codec
    /// keeps the greatest one it reads, so the sync engine can check it for drift.
    pub(crate) const SERDE_NAME: &'static str = "deltacrdt::Timestamp";
}

#[cfg(feature = "serde")]
impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_newtype_struct(Self::SERDE_NAME, &self.0)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Timestamp {
    /// Decodes the packed `u64`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Takes the `u64` inside the newtype, or the `u64` directly.
        struct Packed;
        impl<'de> serde::de::Visitor<'de> for Packed {
            type Value = Timestamp;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("a packed timestamp")
            }
            fn visit_newtype_struct<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<Timestamp, D::Error> {
                <u64 as serde::Deserialize>::deserialize(d).map(Timestamp)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Timestamp, E> {
                Ok(Timestamp(v))
            }
        }
        d.deserialize_newtype_struct(Self::SERDE_NAME, Packed)
    }
}

impl Timestamp {
    /// The smallest timestamp: millisecond 0 (the Unix epoch), counter 0.
    pub const ZERO: Self = Self(0);
    /// The greatest timestamp: millisecond [`Self::MAX_MILLIS`], counter `u16::MAX`.
    pub const MAX: Self = Self(u64::MAX);
    /// The greatest millisecond value a timestamp can hold, `2^48 - 1` (in the year 10889).
    pub const MAX_MILLIS: u64 = u64::MAX >> LOGICAL_BITS;

    /// Packs Unix milliseconds and a logical counter.
    ///
    /// # Errors
    ///
    /// [`ClockError::MillisOutOfRange`] if `millis` exceeds [`Self::MAX_MILLIS`].
    pub const fn new(millis: u64, logical: u16) -> Result<Self, ClockError> {
        if millis > Self::MAX_MILLIS {
            return Err(ClockError::MillisOutOfRange { millis });
        }
        Ok(Self((millis << LOGICAL_BITS) | logical as u64))
    }

    /// Reinterprets a packed `u64` (as produced by [`Self::as_u64`]); every value is valid.
    pub const fn from_u64(raw: u64) -> Self {
        Self(raw)
    }

    /// The packed `u64` representation.
    pub const fn as_u64(self) -> u64 {
        self.0
    }

    /// The physical part, in Unix milliseconds.
    pub const fn millis(self) -> u64 {
        self.0 >> LOGICAL_BITS
    }

    /// The logical counter.
    pub const fn logical(self) -> u16 {
        // Truncation keeps exactly the low 16 bits: that is the counter.
        self.0 as u16
    }

    /// The timestamp at the start of millisecond `millis`, which must fit 48 bits.
    pub(super) const fn at_millis(millis: u64) -> Option<Self> {
        if millis > Self::MAX_MILLIS {
            None
        } else {
            Some(Self(millis << LOGICAL_BITS))
        }
    }

    /// The next timestamp: the counter plus one, carrying into the milliseconds.
    pub(super) const fn successor(self) -> Option<Self> {
        match self.0.checked_add(1) {
            Some(raw) => Some(Self(raw)),
            None => None,
        }
    }
}

/// Width of the logical counter.
const LOGICAL_BITS: u32 = 16;

impl From<Timestamp> for u64 {
    fn from(t: Timestamp) -> Self {
        t.0
    }
}

impl From<u64> for Timestamp {
    fn from(raw: u64) -> Self {
        Self(raw)
    }
}

/// Formats as `millis.logical`, e.g. `1700000000000.5`.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.millis(), self.logical())
    }
}

/// Formats as `Timestamp(millis.logical)`, which is easier to read than the packed `u64`.
impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_is_millis_high_logical_low() {
        let t = Timestamp::new(0x1234_5678_9abc, 0xdef0).unwrap();
        assert_eq!(t.as_u64(), 0x1234_5678_9abc_def0);
        assert_eq!(Timestamp::MAX_MILLIS, (1 << 48) - 1);
        assert_eq!(Timestamp::MAX.millis(), Timestamp::MAX_MILLIS);
        assert_eq!(Timestamp::MAX.logical(), u16::MAX);
    }

    #[test]
    fn successor_carries_and_stops_at_max() {
        let t = Timestamp::new(7, u16::MAX).unwrap();
        assert_eq!(t.successor(), Some(Timestamp::new(8, 0).unwrap()));
        assert_eq!(Timestamp::MAX.successor(), None);
        assert_eq!(Timestamp::at_millis(Timestamp::MAX_MILLIS + 1), None);
        assert_eq!(Timestamp::at_millis(9), Timestamp::new(9, 0).ok());
    }

    #[test]
    fn debug_is_readable() {
        let t = Timestamp::new(12, 3).unwrap();
        assert_eq!(format!("{t:?}"), "Timestamp(12.3)");
    }
}
