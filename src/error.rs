//! The crate-wide error: every boundary's error converts into it with `?`.

use crate::causal::InvalidContext;
use crate::clock::ClockError;
use crate::document::{MapError, PathError};
use crate::id::InvalidReplicaId;

/// Any error this crate returns. Each boundary has its own enum (matched precisely where it is
/// returned); this one collects them for callers that just propagate with `?`.
///
/// # Examples
/// ```
/// use deltacrdt::{Doc, Error, ReplicaId};
/// fn edit(doc: &mut Doc) -> Result<(), Error> {
///     let me: ReplicaId = "67e55044-10b1-426f-9247-bb680e5fe0c8".parse()?;
///     let _delta = doc.increment(me, &["likes"], 1)?;
///     Ok(())
/// }
/// assert!(edit(&mut Doc::default()).is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The hybrid logical clock refused a timestamp or could not issue one.
    #[error(transparent)]
    Clock(#[from] ClockError),
    /// A replica id could not be parsed.
    #[error(transparent)]
    ReplicaId(#[from] InvalidReplicaId),
    /// A decoded value failed validation.
    #[error(transparent)]
    InvalidState(#[from] InvalidContext),
    /// A document path named no field.
    #[error(transparent)]
    Path(#[from] PathError),
    /// A Rust value could not be read from a document or written to one.
    #[error(transparent)]
    Map(#[from] MapError),
    /// The sync engine refused a frame.
    #[cfg(feature = "sync")]
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),
    /// A durable store could not be read or written.
    #[cfg(feature = "sync")]
    #[error(transparent)]
    Store(#[from] crate::durable::StoreError),
}

/// Lets infallible mutators (`Ok::<_, Infallible>(set.insert(..))`) go through APIs that
/// return [`Error`].
impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}
