//! Conversions between JavaScript values and the core's types, and the host's clock and RNG.

use deltacrdt::{JsonBuilder, ReplicaId, Scalar, Value};
use wasm_bindgen::{JsCast, JsValue};

use crate::error::{Code, Failure, Result};

/// The deepest list/object nesting a register value may have (see [`crate::shared::MAX_PATH`]).
pub(crate) const MAX_VALUE_DEPTH: usize = 64;

/// The largest integer a JS number holds exactly (`Number.MAX_SAFE_INTEGER`).
const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// Milliseconds since the Unix epoch from the host's `Date.now()`.
pub(crate) fn host_now() -> u64 {
    millis(js_sys::Date::now())
}

/// A JS millisecond reading as `u64` (negative and NaN readings give 0).
pub(crate) fn millis(ms: f64) -> u64 {
    if ms.is_finite() && ms > 0.0 {
        // Saturating float-to-int conversion: never panics.
        ms as u64
    } else {
        0
    }
}

/// A fresh replica id from `crypto.getRandomValues`.
pub(crate) fn random_replica() -> Result<ReplicaId> {
    Ok(ReplicaId::from_random_bytes(random_bytes()?))
}

/// `N` random bytes from the host's `crypto.getRandomValues` (replica ids).
pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let missing = || Failure::new(Code::NoRandom, "crypto.getRandomValues is not available");
    let crypto = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(|_| missing())?;
    let get = js_sys::Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))
        .map_err(|_| missing())?
        .dyn_into::<js_sys::Function>()
        .map_err(|_| missing())?;
    let len = u32::try_from(N).map_err(|_| missing())?;
    let buf = js_sys::Uint8Array::new_with_length(len);
    get.call1(&crypto, &buf).map_err(|_| missing())?;
    let mut bytes = [0u8; N];
    buf.copy_to(&mut bytes);
    Ok(bytes)
}

/// Parses a peer or replica id (a UUID string).
pub(crate) fn replica_id(s: &str) -> Result<ReplicaId> {
    s.parse()
        .map_err(|e: deltacrdt::InvalidReplicaId| Failure::new(Code::BadPeerId, e.to_string()))
}

/// A JS number as an exact integer, or a `BAD_VALUE` failure.
pub(crate) fn integer(n: f64, what: &str) -> Result<i64> {
    if n.is_finite() && n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
        Ok(n as i64)
    } else {
        Err(Failure::new(
            Code::BadValue,
            format!("{what} must be a safe integer"),
        ))
    }
}

/// A set element: a string, a boolean or a finite number (integers stay integers).
pub(crate) fn scalar(v: &JsValue) -> Result<Scalar> {
    if let Some(s) = v.as_string() {
        return Ok(Scalar::Str(s));
    }
    if let Some(b) = v.as_bool() {
        return Ok(Scalar::Bool(b));
    }
    if let Some(n) = v.as_f64() {
        return number_scalar(n);
    }
    Err(Failure::new(
        Code::BadValue,
        "a set element must be a string, a number or a boolean",
    ))
}

/// A finite number as a scalar: an integer when it is one exactly, else a float.
pub(crate) fn number_scalar(n: f64) -> Result<Scalar> {
    if !n.is_finite() {
        return Err(Failure::new(
            Code::BadValue,
            "not a finite number (NaN or an infinity)",
        ));
    }
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
        Ok(Scalar::Int(n as i64))
    } else {
        Ok(Scalar::Float(n))
    }
}

/// A register value: what `JSON.stringify` would write, read straight from the JS value (an
/// object's `toJSON` is honoured; `undefined`, functions and symbols are dropped from objects
/// and become `null` in arrays), nested at most [`MAX_VALUE_DEPTH`] levels (which also stops
/// cycles).
///
/// Walking the value here rather than parsing `JSON.stringify`'s text keeps a JSON parser out
/// of the module.
pub(crate) fn value(v: &JsValue) -> Result<Value> {
    match value_at(v, 0)? {
        Some(value) => Ok(value),
        None => Err(Failure::new(
            Code::BadValue,
            "not a JSON value: undefined, a function or a symbol",
        )),
    }
}

/// The value of `v` at nesting `depth`, or `None` for what JSON skips.
fn value_at(v: &JsValue, depth: usize) -> Result<Option<Value>> {
    let bad = |why: &str| Failure::new(Code::BadValue, format!("not a JSON value: {why}"));
    if v.is_null() {
        return Ok(Some(Value::Null));
    }
    if v.is_undefined() || v.is_function() || v.is_symbol() {
        return Ok(None);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Some(Value::Scalar(Scalar::Bool(b))));
    }
    if let Some(n) = v.as_f64() {
        return if n.is_finite() {
            Ok(Some(Value::Scalar(number_scalar(n)?)))
        } else {
            Err(bad("not a finite number"))
        };
    }
    if let Some(s) = v.as_string() {
        return Ok(Some(Value::Scalar(Scalar::Str(s))));
    }
    if v.is_bigint() {
        return Err(bad("a BigInt"));
    }
    if !v.is_object() {
        return Err(bad("an unsupported type"));
    }
    if depth >= MAX_VALUE_DEPTH {
        return Err(Failure::new(
            Code::BadValue,
            format!("value nests deeper than {MAX_VALUE_DEPTH} levels (or is cyclic)"),
        ));
    }
    let to_json =
        js_sys::Reflect::get(v, &JsValue::from_str("toJSON")).unwrap_or(JsValue::UNDEFINED);
    if let Some(f) = to_json.dyn_ref::<js_sys::Function>() {
        let replaced = f
            .call1(v, &JsValue::from_str(""))
            .map_err(|_| bad("its toJSON() threw"))?;
        return value_at(&replaced, depth + 1);
    }
    if js_sys::Array::is_array(v) {
        let array: &js_sys::Array = v.unchecked_ref();
        let mut items = Vec::with_capacity(array.length() as usize);
        for item in array.iter() {
            items.push(value_at(&item, depth + 1)?.unwrap_or(Value::Null));
        }
        return Ok(Some(Value::List(items)));
    }
    let mut map = std::collections::BTreeMap::new();
    let object: &js_sys::Object = v.unchecked_ref();
    for key in js_sys::Object::keys(object).iter() {
        let Some(name) = key.as_string() else {
            continue;
        };
        let item = js_sys::Reflect::get(v, &key).map_err(|_| bad("a getter threw"))?;
        if let Some(x) = value_at(&item, depth + 1)? {
            map.insert(name, x);
        }
    }
    Ok(Some(Value::Object(map)))
}

/// Builds plain JS values (what `JSON.parse` would give) straight from the core's renderers:
/// no JSON text and no intermediate tree.
#[derive(Debug, Default)]
pub(crate) struct Js {
    failed: bool,
}

impl Js {
    /// Runs `render` with a fresh builder.
    ///
    /// # Errors
    /// `BAD_VALUE` if the host refused to build an object (not expected of plain objects).
    pub(crate) fn build(render: impl FnOnce(&mut Self) -> JsValue) -> Result<JsValue> {
        let mut js = Self::default();
        let value = render(&mut js);
        if js.failed {
            return Err(Failure::new(Code::BadValue, "could not build the object"));
        }
        Ok(value)
    }
}

impl JsonBuilder for Js {
    type Value = JsValue;

    fn null(&mut self) -> JsValue {
        JsValue::NULL
    }

    fn bool(&mut self, b: bool) -> JsValue {
        JsValue::from_bool(b)
    }

    fn int(&mut self, i: i64) -> JsValue {
        // Integers beyond 2^53 round, as they would through JSON.parse.
        JsValue::from_f64(i as f64)
    }

    fn float(&mut self, f: f64) -> JsValue {
        // JSON has no NaN or infinities: `null`, as JSON.stringify writes them.
        if f.is_finite() {
            JsValue::from_f64(f)
        } else {
            JsValue::NULL
        }
    }

    fn string(&mut self, s: &str) -> JsValue {
        JsValue::from_str(s)
    }

    fn array(&mut self, items: Vec<JsValue>) -> JsValue {
        items.into_iter().collect::<js_sys::Array>().into()
    }

    /// `Object.fromEntries`: every name becomes an own data property, `__proto__` included.
    fn object(&mut self, entries: Vec<(String, JsValue)>) -> JsValue {
        let pairs: js_sys::Array = entries
            .into_iter()
            .map(|(k, v)| js_sys::Array::of2(&JsValue::from(k), &v))
            .collect();
        match js_sys::Object::from_entries(&pairs) {
            Ok(object) => object.into(),
            Err(_) => {
                self.failed = true;
                JsValue::NULL
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_and_floats() {
        assert_eq!(number_scalar(3.0), Ok(Scalar::Int(3)));
        assert_eq!(number_scalar(0.5), Ok(Scalar::Float(0.5)));
        assert_eq!(
            number_scalar(f64::NAN).map_err(|e| e.code),
            Err(Code::BadValue)
        );
        assert_eq!(integer(2.0, "n"), Ok(2));
        assert!(integer(0.5, "n").is_err());
        assert!(integer(1e300, "n").is_err());
    }

    #[test]
    fn millis_never_panics() {
        assert_eq!(millis(f64::NAN), 0);
        assert_eq!(millis(-5.0), 0);
        assert_eq!(millis(1e300), u64::MAX);
        assert_eq!(millis(12.7), 12);
    }
}
