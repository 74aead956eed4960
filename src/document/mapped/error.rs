//! Why a Rust value could not be read from a document or written to one.

use crate::clock::ClockError;
use crate::document::Kind;

/// A register or set element that does not hold what the Rust type needs. Returned by
/// [`RegisterValue`](super::RegisterValue) and [`ScalarValue`](super::ScalarValue)
/// conversions; [`MapError::Value`] adds the path.
///
/// # Examples
/// ```
/// use deltacrdt::mapped::{ScalarValue, ValueError};
/// use deltacrdt::Scalar;
/// let err = u8::from_scalar(&Scalar::Int(300)).unwrap_err();
/// assert_eq!(err, ValueError::OutOfRange { value: "300".into(), into: "u8" });
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The document holds another type of value.
    #[error("expected {expected}, found {found}")]
    Type {
        /// What the Rust type reads (`"string"`, `"i64"`, `"list"`, …).
        expected: &'static str,
        /// What the document holds (`"null"`, `"bool"`, `"int"`, `"float"`, `"string"`,
        /// `"list"`, `"object"`).
        found: &'static str,
    },
    /// A number that the target type cannot represent (a document's integers are `i64`).
    #[error("{value} does not fit in {into}")]
    OutOfRange {
        /// The number, as text.
        value: String,
        /// The type it was converted into.
        into: &'static str,
    },
}

/// A Rust value could not be read from a [`Doc`](crate::Doc) or written to one. Writing
/// checks everything before it changes anything: after an error the document is as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapError {
    /// A register the type needs is absent (make the field an `Option` if it may be).
    #[error("{path}: no value (an absent field reads only into an Option)")]
    Missing {
        /// The field's path, names joined by `.`.
        path: String,
    },
    /// A field holds something the type cannot read, or a value that the document cannot
    /// represent was written.
    #[error("{path}: {source}")]
    Value {
        /// The field's path, names joined by `.`.
        path: String,
        /// What was wrong.
        source: ValueError,
    },
    /// A counter, register, set or flag was placed at the document's root: only maps and
    /// structs can be the root, every other value needs a field name.
    #[error("a {} cannot be the document's root: it needs a field name", kind.name())]
    AtRoot {
        /// The kind of field it would be.
        kind: Kind,
    },
    /// The clock could not stamp the register writes (nothing was written).
    #[error(transparent)]
    Clock(#[from] ClockError),
}

impl MapError {
    /// A [`ValueError`] at `path`.
    pub(crate) fn value(path: &[&str], source: ValueError) -> Self {
        Self::Value {
            path: render(path),
            source,
        }
    }

    /// A missing register at `path`.
    pub(crate) fn missing(path: &[&str]) -> Self {
        Self::Missing { path: render(path) }
    }
}

/// A path for a message: its names joined by `.`, or `(root)`.
fn render(path: &[&str]) -> String {
    if path.is_empty() {
        "(root)".to_owned()
    } else {
        path.join(".")
    }
}
