//! The document layer: a dynamically typed, JSON-like replicated value built on [`OrMap`](crate::OrMap).

#[cfg(feature = "serde")]
#[cfg(feature = "reconcile")]
mod beyond;
mod decode;
mod doc;
mod field;
pub mod mapped;
mod render;
mod value;

#[cfg(feature = "serde")]
pub use decode::MAX_NESTING;
pub use doc::{Doc, Edit, PathError};
pub use field::{Field, FieldKey, Kind, Register};
pub use mapped::{MapError, Mapped};
pub use render::{JsonBuilder, scalar_order};
pub use value::{Scalar, Value};
