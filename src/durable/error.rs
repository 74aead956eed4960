//! `StoreError`: everything that can go wrong between a replica and its durable state.

use crate::codec::DecodeError;

/// Why a store could not be opened, read or written. Nothing already committed is lost by an
/// error: a failed write leaves the previous durable state as it was, and a store that fails to
/// load is never half-loaded.
///
/// # Examples
/// ```
/// use deltacrdt::durable::StoreError;
/// let err = StoreError::UnsupportedVersion { found: 9, supported: 1 };
/// assert_eq!(err.to_string(), "store format version 9 is not supported (this build reads 1)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The store was written by another (newer) format version, of the store or of the frames
    /// inside it.
    #[error("store format version {found} is not supported (this build reads {supported})")]
    UnsupportedVersion {
        /// The version found.
        found: u8,
        /// The version this build reads and writes.
        supported: u8,
    },
    /// A record failed its CRC-32.
    #[error("{what}: checksum mismatch (stored {found:#010x}, computed {computed:#010x})")]
    Checksum {
        /// Which record.
        what: &'static str,
        /// The checksum stored with it.
        found: u32,
        /// The checksum of its bytes.
        computed: u32,
    },
    /// A record ends before its last field.
    #[error("{what}: truncated")]
    Truncated {
        /// Which record.
        what: &'static str,
    },
    /// A record the head says exists is missing (e.g. a log entry lost by a corrupted index).
    #[error("missing record: {what} {seq}")]
    MissingRecord {
        /// Which kind of record.
        what: &'static str,
        /// Its sequence number (0 for the singletons).
        seq: u64,
    },
    /// A record is malformed, or records contradict each other.
    #[error("corrupt store: {what}")]
    Corrupt {
        /// What was found wrong.
        what: String,
    },
    /// A value inside a record failed to decode or validate.
    #[error("{what}: {source}")]
    Decode {
        /// Which record.
        what: &'static str,
        /// Why.
        source: DecodeError,
    },
    /// The store belongs to another replica than the caller asked for.
    #[error("the store holds replica {found}, not {expected}")]
    ReplicaMismatch {
        /// The replica the caller expected.
        expected: crate::id::ReplicaId,
        /// The replica in the store.
        found: crate::id::ReplicaId,
    },
    /// The store was written for another replicated type (its meta record names it).
    #[error("the store holds a {found}, not a {expected}")]
    WrongType {
        /// The type it was opened as.
        expected: &'static str,
        /// The type it holds.
        found: String,
    },
    /// The file or directory may not be read or written.
    #[error("permission denied: {detail}")]
    PermissionDenied {
        /// The operating system's message.
        detail: String,
    },
    /// The disk (or quota) is full; the write did not happen.
    #[error("no space left: {detail}")]
    DiskFull {
        /// The operating system's message.
        detail: String,
    },
    /// The store is open elsewhere (another process or handle).
    #[error("the store {} is already open (another process or handle)", path.display())]
    Locked {
        /// The store's file.
        path: std::path::PathBuf,
    },
    /// Any other I/O error of the operating system.
    #[error("I/O error ({kind:?}): {detail}")]
    Io {
        /// Its kind.
        kind: std::io::ErrorKind,
        /// The operating system's message.
        detail: String,
    },
    /// A previous write failed and the store refuses further writes until it is reopened.
    #[error("the store failed earlier and must be reopened")]
    Poisoned,
    /// The state could not be encoded (a user type postcard cannot represent).
    #[error("cannot encode: {0}")]
    Encode(String),
}

impl StoreError {
    /// This error, naming `path`, the file or directory it concerns (an I/O error's message
    /// is prefixed with it; a lock error carries it).
    #[must_use]
    pub fn at(self, path: &std::path::Path) -> Self {
        let named = |detail: String| format!("{}: {detail}", path.display());
        match self {
            Self::PermissionDenied { detail } => Self::PermissionDenied {
                detail: named(detail),
            },
            Self::DiskFull { detail } => Self::DiskFull {
                detail: named(detail),
            },
            Self::Io { kind, detail } => Self::Io {
                kind,
                detail: named(detail),
            },
            Self::Locked { .. } => Self::Locked {
                path: path.to_path_buf(),
            },
            other => other,
        }
    }

    /// Maps an I/O error to its typed variant (permission, full disk, other).
    pub fn from_io(err: &std::io::Error) -> Self {
        use std::io::ErrorKind;
        let detail = err.to_string();
        match err.kind() {
            ErrorKind::PermissionDenied | ErrorKind::ReadOnlyFilesystem => {
                Self::PermissionDenied { detail }
            }
            ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge => {
                Self::DiskFull { detail }
            }
            ErrorKind::UnexpectedEof => Self::Truncated { what: "file" },
            kind => Self::Io { kind, detail },
        }
    }

    /// A decode error of the record `what`, with checksum, truncation and version mapped to
    /// their own variants.
    pub(crate) fn decode(what: &'static str, err: DecodeError) -> Self {
        match err {
            DecodeError::UnsupportedVersion { found, supported } => {
                Self::UnsupportedVersion { found, supported }
            }
            DecodeError::Checksum { found, computed } => Self::Checksum {
                what,
                found,
                computed,
            },
            DecodeError::Truncated => Self::Truncated { what },
            source => Self::Decode { what, source },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::StoreError;
    use std::io::{Error, ErrorKind};

    #[test]
    fn io_errors_map_to_their_typed_variants() {
        let map = |kind| StoreError::from_io(&Error::new(kind, "x"));
        assert!(matches!(
            map(ErrorKind::PermissionDenied),
            StoreError::PermissionDenied { .. }
        ));
        assert!(matches!(
            map(ErrorKind::StorageFull),
            StoreError::DiskFull { .. }
        ));
        assert!(matches!(
            map(ErrorKind::QuotaExceeded),
            StoreError::DiskFull { .. }
        ));
        assert!(matches!(
            map(ErrorKind::UnexpectedEof),
            StoreError::Truncated { .. }
        ));
        assert!(matches!(
            map(ErrorKind::Interrupted),
            StoreError::Io {
                kind: ErrorKind::Interrupted,
                ..
            }
        ));
    }
}
