//! The document layer: a dynamically typed, JSON-like replicated value built on [`OrMap`](crate::OrMap).

mod doc;
mod field;
mod value;

pub use doc::{Doc, PathError};
pub use field::{Field, FieldKey, Kind, Register};
pub use value::{Scalar, Value};
