//! Rendering a document as plain JSON-like values of any target (serde_json values, JavaScript
//! objects, …) through one builder trait, so each target gets the same shape and order from one
//! piece of code.

use core::cmp::Ordering;

use super::doc::{Doc, Map};
use super::field::{Field, FieldKey, Kind};
use super::{Scalar, Value};

/// Builds a target's JSON-like values. [`Doc::render`] walks the document and calls these; the
/// builder decides what a value is (`serde_json::Value` for [`Doc::to_json`], a JavaScript value
/// in the npm package, …).
///
/// # Examples
/// A builder that renders into compact JSON text:
/// ```
/// use deltacrdt::{Doc, JsonBuilder, ReplicaId};
///
/// struct Text;
/// impl JsonBuilder for Text {
///     type Value = String;
///     fn null(&mut self) -> String { "null".into() }
///     fn bool(&mut self, b: bool) -> String { b.to_string() }
///     fn int(&mut self, i: i64) -> String { i.to_string() }
///     fn float(&mut self, f: f64) -> String { f.to_string() }
///     fn string(&mut self, s: &str) -> String { format!("{s:?}") }
///     fn array(&mut self, items: Vec<String>) -> String { format!("[{}]", items.join(",")) }
///     fn object(&mut self, entries: Vec<(String, String)>) -> String {
///         let fields: Vec<String> = entries.iter().map(|(k, v)| format!("{k:?}:{v}")).collect();
///         format!("{{{}}}", fields.join(","))
///     }
/// }
///
/// let me = ReplicaId::from_u128(1);
/// let mut doc = Doc::default();
/// let _ = doc.increment(me, &["likes"], 2)?;
/// let _ = doc.insert(me, &["tags"], "b".into())?;
/// let _ = doc.insert(me, &["tags"], 10.into())?;
/// let _ = doc.insert(me, &["tags"], 9.into())?;
/// assert_eq!(doc.render(&mut Text), r#"{"likes":2,"tags":[9,10,"b"]}"#);
/// # Ok::<(), deltacrdt::PathError>(())
/// ```
pub trait JsonBuilder {
    /// What the builder makes.
    type Value;
    /// `null`.
    fn null(&mut self) -> Self::Value;
    /// A boolean.
    fn bool(&mut self, b: bool) -> Self::Value;
    /// An integer.
    fn int(&mut self, i: i64) -> Self::Value;
    /// A float (any `f64`, including NaN and the infinities: the builder decides their spelling).
    fn float(&mut self, f: f64) -> Self::Value;
    /// A string.
    fn string(&mut self, s: &str) -> Self::Value;
    /// An array, in order.
    fn array(&mut self, items: Vec<Self::Value>) -> Self::Value;
    /// An object; its names are distinct and come in the document's order (sorted).
    fn object(&mut self, entries: Vec<(String, Self::Value)>) -> Self::Value;
}

/// The order of set elements when rendered: `false` < `true` < numbers (by value; an integer
/// before a float of equal value; NaN last) < strings (by their UTF-8 bytes). Total, and
/// consistent with [`Scalar`]'s equality.
#[must_use]
pub fn scalar_order(a: &Scalar, b: &Scalar) -> Ordering {
    fn rank(s: &Scalar) -> u8 {
        match s {
            Scalar::Bool(_) => 0,
            Scalar::Int(_) | Scalar::Float(_) => 1,
            Scalar::Str(_) => 2,
        }
    }
    match (a, b) {
        (Scalar::Bool(x), Scalar::Bool(y)) => x.cmp(y),
        (Scalar::Int(x), Scalar::Int(y)) => x.cmp(y),
        (Scalar::Float(x), Scalar::Float(y)) => float_float(*x, *y),
        (Scalar::Int(x), Scalar::Float(y)) => int_float(*x, *y),
        (Scalar::Float(x), Scalar::Int(y)) => int_float(*y, *x).reverse(),
        (Scalar::Str(x), Scalar::Str(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// An integer against a float: by value, the integer first on a tie (so the order is total);
/// NaN after every number.
fn int_float(i: i64, f: f64) -> Ordering {
    match (i as f64).partial_cmp(&f) {
        // Rounding `i` to f64 can make distinct values look equal; `f` is then a whole number
        // in [-2^63, 2^63], so comparing `i` with `f as i64` (saturating) settles it exactly.
        Some(Ordering::Equal) => i.cmp(&(f as i64)).then(Ordering::Less),
        Some(other) => other,
        None => Ordering::Less,
    }
}

/// Floats by value (`-0.0` before `0.0`), NaNs after every number (ordered by their bits).
fn float_float(x: f64, y: f64) -> Ordering {
    match (x.is_nan(), y.is_nan()) {
        (false, true) => Ordering::Less,
        (true, false) => Ordering::Greater,
        (true, true) => x.to_bits().cmp(&y.to_bits()),
        (false, false) => x.total_cmp(&y),
    }
}

impl Scalar {
    /// The scalar through `b`.
    pub fn render<B: JsonBuilder + ?Sized>(&self, b: &mut B) -> B::Value {
        match self {
            Self::Bool(x) => b.bool(*x),
            Self::Int(i) => b.int(*i),
            Self::Float(f) => b.float(*f),
            Self::Str(s) => b.string(s),
        }
    }
}

impl Value {
    /// The value through `b` (objects in key order).
    pub fn render<B: JsonBuilder + ?Sized>(&self, b: &mut B) -> B::Value {
        match self {
            Self::Null => b.null(),
            Self::Scalar(s) => s.render(b),
            Self::List(items) => {
                let items = items.iter().map(|v| v.render(b)).collect();
                b.array(items)
            }
            Self::Object(map) => {
                let entries = map.iter().map(|(k, v)| (k.clone(), v.render(b))).collect();
                b.object(entries)
            }
        }
    }
}

/// Renders `map` through `b`: fields in key order, a name used with several kinds as
/// `name#kind` for each.
fn render_map<B: JsonBuilder + ?Sized>(map: &Map, b: &mut B) -> B::Value {
    let mut keys: Vec<&FieldKey> = map.keys().collect();
    crate::platform::sort::sort(&mut keys);
    let mut entries = Vec::with_capacity(keys.len());
    for (i, k) in keys.iter().enumerate() {
        let Some(field) = map.get(k) else { continue };
        // Sorted by name first: a shared name has a neighbour with the same name.
        let named = |j: Option<usize>| {
            j.and_then(|j| keys.get(j))
                .is_some_and(|o| o.name == k.name)
        };
        let name = if named(i.checked_sub(1)) || named(i.checked_add(1)) {
            format!("{}#{}", k.name, k.kind.name())
        } else {
            k.name.clone()
        };
        entries.push((name, render_field(field, b)));
    }
    b.object(entries)
}

fn render_field<B: JsonBuilder + ?Sized>(field: &Field, b: &mut B) -> B::Value {
    match field {
        Field::Counter(c) => b.int(c.value()),
        Field::Register(r) => match Field::register_value(r) {
            Some(v) => v.render(b),
            None => b.null(),
        },
        Field::Set(s) => {
            let mut items: Vec<&Scalar> = s.iter().collect();
            crate::platform::sort::sort_by(&mut items, |x, y| scalar_order(x, y));
            let items = items.into_iter().map(|x| x.render(b)).collect();
            b.array(items)
        }
        Field::Flag(f) => b.bool(f.value()),
        Field::Map(m) => render_map(m, b),
    }
}

impl Doc {
    /// The document as plain values of `b`: counters as integers, registers as their winning
    /// value (`null` if never written), sets as arrays in [`scalar_order`], flags as booleans,
    /// maps as objects. Fields come in name order; a name used with several kinds renders as
    /// `name#kind` for each (`tags#set`, `tags#register`).
    pub fn render<B: JsonBuilder + ?Sized>(&self, b: &mut B) -> B::Value {
        render_map(self.root(), b)
    }

    /// The field of `kind` at `path` rendered like it is inside [`render`](Self::render)
    /// (a set as a sorted array, a map as an object, …), or `None` if there is no such field.
    pub fn render_field<B: JsonBuilder + ?Sized>(
        &self,
        path: &[&str],
        kind: Kind,
        b: &mut B,
    ) -> Option<B::Value> {
        self.field(path, kind).map(|f| render_field(f, b))
    }
}

#[cfg(feature = "serde")]
mod json {
    use super::{Doc, JsonBuilder, Scalar, Value};
    use serde_json::Value as Json;

    /// Builds `serde_json` values (a non-finite float becomes `null`).
    struct SerdeJson;

    impl JsonBuilder for SerdeJson {
        type Value = Json;
        fn null(&mut self) -> Json {
            Json::Null
        }
        fn bool(&mut self, b: bool) -> Json {
            Json::Bool(b)
        }
        fn int(&mut self, i: i64) -> Json {
            Json::from(i)
        }
        fn float(&mut self, f: f64) -> Json {
            serde_json::Number::from_f64(f).map_or(Json::Null, Json::Number)
        }
        fn string(&mut self, s: &str) -> Json {
            Json::String(s.to_owned())
        }
        fn array(&mut self, items: Vec<Json>) -> Json {
            Json::Array(items)
        }
        fn object(&mut self, entries: Vec<(String, Json)>) -> Json {
            Json::Object(entries.into_iter().collect())
        }
    }

    impl Scalar {
        /// The scalar as a JSON value (a non-finite float becomes `null`).
        #[must_use]
        pub fn to_json(&self) -> Json {
            self.render(&mut SerdeJson)
        }
    }

    impl Value {
        /// The value as a JSON value (a non-finite float becomes `null`).
        #[must_use]
        pub fn to_json(&self) -> Json {
            self.render(&mut SerdeJson)
        }
    }

    impl Doc {
        /// The document as JSON, as [`render`](Doc::render) shapes it (a non-finite float
        /// becomes `null`).
        #[must_use]
        pub fn to_json(&self) -> Json {
            self.render(&mut SerdeJson)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Ordering, Scalar, scalar_order};

    #[test]
    fn scalar_order_is_total_and_natural() {
        let sorted = [
            Scalar::Bool(false),
            Scalar::Bool(true),
            Scalar::Float(f64::NEG_INFINITY),
            Scalar::Int(i64::MIN),
            Scalar::Float(-1.5),
            Scalar::Int(-1),
            Scalar::Int(0),
            Scalar::Float(-0.0),
            Scalar::Float(0.0),
            Scalar::Int(2),
            Scalar::Float(2.0),
            Scalar::Float(2.5),
            Scalar::Int(10),
            Scalar::Int(i64::MAX - 1),
            Scalar::Int(i64::MAX),
            Scalar::Float(9.3e18),
            Scalar::Float(f64::INFINITY),
            Scalar::Float(f64::NAN),
            Scalar::Float(-f64::NAN),
            Scalar::Str(String::new()),
            Scalar::Str("10".into()),
            Scalar::Str("9".into()),
            Scalar::Str("a".into()),
        ];
        for (i, a) in sorted.iter().enumerate() {
            for (j, b) in sorted.iter().enumerate() {
                assert_eq!(scalar_order(a, b), i.cmp(&j), "{a:?} vs {b:?}");
            }
        }
        // i64::MAX rounds to 2^63 as a float; the exact comparison still orders them.
        assert_eq!(
            scalar_order(
                &Scalar::Int(i64::MAX),
                &Scalar::Float(9_223_372_036_854_775_808.0)
            ),
            Ordering::Less
        );
    }
}
