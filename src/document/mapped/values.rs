//! Rust values that a register or a set element holds: the conversions between them and the
//! document's [`Scalar`] and [`Value`].

use super::ValueError;
use crate::document::{Scalar, Value};

/// A Rust type that is one [`Scalar`]: a set element, or (through [`RegisterValue`]) a
/// register's content. Implemented for `String`, `bool`, `f64` and the integer types (a
/// document's integers are `i64`: a `u64` above `i64::MAX` is refused, not wrapped).
///
/// # Examples
/// ```
/// use deltacrdt::mapped::ScalarValue;
/// use deltacrdt::Scalar;
/// assert_eq!(7u8.to_scalar()?, Scalar::Int(7));
/// assert_eq!(String::from_scalar(&Scalar::Str("milk".into()))?, "milk");
/// # Ok::<(), deltacrdt::mapped::ValueError>(())
/// ```
pub trait ScalarValue: Sized {
    /// The type's name in messages.
    const NAME: &'static str;
    /// The scalar holding `self`.
    ///
    /// # Errors
    /// [`ValueError::OutOfRange`] for a number a document cannot hold.
    fn to_scalar(&self) -> Result<Scalar, ValueError>;
    /// The value a scalar holds.
    ///
    /// # Errors
    /// [`ValueError`] for a scalar of another type or out of range.
    fn from_scalar(scalar: &Scalar) -> Result<Self, ValueError>;
}

/// A Rust type kept in one last-writer-wins register of a document: every [`ScalarValue`],
/// `Option<T>` (an absent register or `null` is `None`), `Vec<T>` (a list, written whole) and
/// [`Value`] itself. Implement it for an enum or a small struct that should change as one
/// value rather than field by field.
///
/// # Examples
/// ```
/// use deltacrdt::mapped::{RegisterValue, ValueError};
/// use deltacrdt::Value;
/// #[derive(Debug, PartialEq)]
/// enum Status { Open, Done }
/// impl RegisterValue for Status {
///     fn to_value(&self) -> Result<Value, ValueError> {
///         Ok(Value::from(matches!(self, Status::Done)))
///     }
///     fn from_value(value: &Value) -> Result<Self, ValueError> {
///         Ok(if bool::from_value(value)? { Status::Done } else { Status::Open })
///     }
/// }
/// assert_eq!(Status::from_value(&Status::Done.to_value()?)?, Status::Done);
/// # Ok::<(), ValueError>(())
/// ```
pub trait RegisterValue: Sized {
    /// The value to write.
    ///
    /// # Errors
    /// [`ValueError::OutOfRange`] for a number a document cannot hold.
    fn to_value(&self) -> Result<Value, ValueError>;
    /// Reads the register's value.
    ///
    /// # Errors
    /// [`ValueError`] for a value of another type or out of range.
    fn from_value(value: &Value) -> Result<Self, ValueError>;
    /// What an absent register reads as; `None` makes it [`MapError::Missing`](super::MapError::Missing).
    #[must_use]
    fn absent() -> Option<Self> {
        None
    }
}

/// The name of what a value holds, for [`ValueError::Type`].
const fn found(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Scalar(s) => scalar_name(s),
        Value::List(_) => "list",
        Value::Object(_) => "object",
    }
}

const fn scalar_name(scalar: &Scalar) -> &'static str {
    match scalar {
        Scalar::Bool(_) => "bool",
        Scalar::Int(_) => "int",
        Scalar::Float(_) => "float",
        Scalar::Str(_) => "string",
    }
}

const fn mismatch(expected: &'static str, scalar: &Scalar) -> ValueError {
    ValueError::Type {
        expected,
        found: scalar_name(scalar),
    }
}

impl ScalarValue for String {
    const NAME: &'static str = "string";
    fn to_scalar(&self) -> Result<Scalar, ValueError> {
        Ok(Scalar::Str(self.clone()))
    }
    fn from_scalar(scalar: &Scalar) -> Result<Self, ValueError> {
        match scalar {
            Scalar::Str(s) => Ok(s.clone()),
            other => Err(mismatch(Self::NAME, other)),
        }
    }
}

impl ScalarValue for bool {
    const NAME: &'static str = "bool";
    fn to_scalar(&self) -> Result<Scalar, ValueError> {
        Ok(Scalar::Bool(*self))
    }
    fn from_scalar(scalar: &Scalar) -> Result<Self, ValueError> {
        match scalar {
            Scalar::Bool(b) => Ok(*b),
            other => Err(mismatch(Self::NAME, other)),
        }
    }
}

impl ScalarValue for f64 {
    const NAME: &'static str = "f64";
    fn to_scalar(&self) -> Result<Scalar, ValueError> {
        Ok(Scalar::Float(*self))
    }
    fn from_scalar(scalar: &Scalar) -> Result<Self, ValueError> {
        match scalar {
            Scalar::Float(f) => Ok(*f),
            other => Err(mismatch(Self::NAME, other)),
        }
    }
}

/// Integers: stored as the document's `i64`, converted with range checks both ways.
macro_rules! integers {
    ($($t:ty),*) => {$(
        impl ScalarValue for $t {
            const NAME: &'static str = stringify!($t);
            fn to_scalar(&self) -> Result<Scalar, ValueError> {
                i64::try_from(*self).map(Scalar::Int).map_err(|_| ValueError::OutOfRange {
                    value: self.to_string(),
                    into: "i64 (a document's integer)",
                })
            }
            fn from_scalar(scalar: &Scalar) -> Result<Self, ValueError> {
                match scalar {
                    Scalar::Int(i) => <$t>::try_from(*i).map_err(|_| ValueError::OutOfRange {
                        value: i.to_string(),
                        into: Self::NAME,
                    }),
                    other => Err(mismatch(Self::NAME, other)),
                }
            }
        }
    )*};
}
integers!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

impl<T: ScalarValue> RegisterValue for T {
    fn to_value(&self) -> Result<Value, ValueError> {
        self.to_scalar().map(Value::Scalar)
    }
    fn from_value(value: &Value) -> Result<Self, ValueError> {
        match value {
            Value::Scalar(s) => T::from_scalar(s),
            other => Err(ValueError::Type {
                expected: T::NAME,
                found: found(other),
            }),
        }
    }
}

impl<T: RegisterValue> RegisterValue for Option<T> {
    fn to_value(&self) -> Result<Value, ValueError> {
        self.as_ref().map_or(Ok(Value::Null), T::to_value)
    }
    fn from_value(value: &Value) -> Result<Self, ValueError> {
        match value {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
    fn absent() -> Option<Self> {
        Some(None)
    }
}

impl<T: RegisterValue> RegisterValue for Vec<T> {
    fn to_value(&self) -> Result<Value, ValueError> {
        self.iter()
            .map(T::to_value)
            .collect::<Result<_, _>>()
            .map(Value::List)
    }
    fn from_value(value: &Value) -> Result<Self, ValueError> {
        match value {
            Value::List(items) => items.iter().map(T::from_value).collect(),
            other => Err(ValueError::Type {
                expected: "list",
                found: found(other),
            }),
        }
    }
}

impl RegisterValue for Value {
    fn to_value(&self) -> Result<Value, ValueError> {
        Ok(self.clone())
    }
    fn from_value(value: &Value) -> Result<Self, ValueError> {
        Ok(value.clone())
    }
}
