//! The dynamically typed values a document holds: set elements and register contents.

use core::hash::{Hash, Hasher};
use std::collections::BTreeMap;

/// A set element: a JSON scalar. Floats compare and hash by their bits, so every value —
/// including `NaN` — equals itself, as lattice laws require.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Scalar {
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number. Binary formats such as postcard carry every value exactly;
    /// JSON has no spelling for NaN or the infinities (serde_json writes `null`, which does not
    /// decode back), so keep non-finite floats out of values shipped as JSON.
    Float(f64),
    /// A string.
    Str(String),
}

impl PartialEq for Scalar {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Bool(a), Self::Bool(b)) => a == b,
            (Self::Int(a), Self::Int(b)) => a == b,
            (Self::Float(a), Self::Float(b)) => a.to_bits() == b.to_bits(),
            (Self::Str(a), Self::Str(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Scalar {}

impl Hash for Scalar {
    fn hash<H: Hasher>(&self, state: &mut H) {
        core::mem::discriminant(self).hash(state);
        match self {
            Self::Bool(b) => b.hash(state),
            Self::Int(i) => i.hash(state),
            Self::Float(f) => f.to_bits().hash(state),
            Self::Str(s) => s.hash(state),
        }
    }
}

impl From<&str> for Scalar {
    fn from(s: &str) -> Self {
        Self::Str(s.to_owned())
    }
}

impl From<String> for Scalar {
    fn from(s: String) -> Self {
        Self::Str(s)
    }
}

impl From<i64> for Scalar {
    fn from(i: i64) -> Self {
        Self::Int(i)
    }
}

impl From<bool> for Scalar {
    fn from(b: bool) -> Self {
        Self::Bool(b)
    }
}

impl From<f64> for Scalar {
    fn from(f: f64) -> Self {
        Self::Float(f)
    }
}

/// A register's content: any JSON-like value. Floats compare by their bits (see [`Scalar`]).
///
/// The codec refuses lists and objects nested deeper than
/// [`MAX_NESTING`](crate::MAX_NESTING) levels (other serde formats apply their own bound:
/// `serde_json` stops at 128).
#[derive(Clone, Debug)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize),
    serde(rename = "deltacrdt::Value")
)]
pub enum Value {
    /// `null`.
    Null,
    /// A scalar.
    Scalar(Scalar),
    /// An ordered list.
    List(Vec<Value>),
    /// A string-keyed object.
    Object(BTreeMap<String, Value>),
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Null, Self::Null) => true,
            (Self::Scalar(a), Self::Scalar(b)) => a == b,
            (Self::List(a), Self::List(b)) => a == b,
            (Self::Object(a), Self::Object(b)) => a == b,
            _ => false,
        }
    }
}

impl Eq for Value {}

impl<T: Into<Scalar>> From<T> for Value {
    fn from(v: T) -> Self {
        Self::Scalar(v.into())
    }
}

#[cfg(feature = "serde")]
impl Value {
    /// The name of its serde enum (the `rename` above; `Deserialize` is in `document::decode`);
    /// the codec charges one element and one nesting level for each.
    pub(crate) const SERDE_NAME: &'static str = "deltacrdt::Value";
}

#[cfg(feature = "serde")]
mod json {
    use super::Value;
    use serde_json::Value as Json;

    impl Value {
        /// Converts a JSON value (integers that fit `i64` stay integers, other numbers become floats).
        #[must_use]
        pub fn from_json(json: &Json) -> Self {
            match json {
                Json::Null => Self::Null,
                Json::Bool(b) => Self::from(*b),
                Json::Number(n) => n
                    .as_i64()
                    .map_or_else(|| Self::from(n.as_f64().unwrap_or(f64::NAN)), Self::from),
                Json::String(s) => Self::from(s.as_str()),
                Json::Array(a) => Self::List(a.iter().map(Self::from_json).collect()),
                Json::Object(o) => Self::Object(
                    o.iter()
                        .map(|(k, v)| (k.clone(), Self::from_json(v)))
                        .collect(),
                ),
            }
        }
    }
}
