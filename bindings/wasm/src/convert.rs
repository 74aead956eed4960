//! Conversions between JavaScript values and the core's types, and the host's clock and RNG.

use deltacrdt::{ReplicaId, Scalar, Value};
use serde_json::Value as Json;
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
    let missing = || Failure::new(Code::NoRandom, "crypto.getRandomValues is not available");
    let crypto = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto"))
        .map_err(|_| missing())?;
    let get = js_sys::Reflect::get(&crypto, &JsValue::from_str("getRandomValues"))
        .map_err(|_| missing())?
        .dyn_into::<js_sys::Function>()
        .map_err(|_| missing())?;
    let buf = js_sys::Uint8Array::new_with_length(16);
    get.call1(&crypto, &buf).map_err(|_| missing())?;
    let mut bytes = [0u8; 16];
    buf.copy_to(&mut bytes);
    Ok(ReplicaId::from_random_bytes(bytes))
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
            format!("{n} is not a finite number"),
        ));
    }
    if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
        Ok(Scalar::Int(n as i64))
    } else {
        Ok(Scalar::Float(n))
    }
}

/// A register value: anything `JSON.stringify` accepts, with its rules (functions and
/// `undefined` inside objects are dropped, non-finite numbers become `null`), nested at most
/// [`MAX_VALUE_DEPTH`] levels.
pub(crate) fn value(v: &JsValue) -> Result<Value> {
    let bad = |why: &str| Failure::new(Code::BadValue, format!("not a JSON value: {why}"));
    if let Some(n) = v.as_f64() {
        // A bare number keeps its exact kind (JSON text would lose nothing, but skip the trip).
        return if n.is_finite() {
            Ok(Value::Scalar(number_scalar(n)?))
        } else {
            Err(bad("not a finite number"))
        };
    }
    let text = js_sys::JSON::stringify(v)
        .map_err(|_| bad("JSON.stringify threw (a cycle or a BigInt)"))?
        .as_string()
        .ok_or_else(|| bad("undefined, a function or a symbol"))?;
    json_value(&text)
}

/// Parses JSON text into a register value, refusing nesting deeper than [`MAX_VALUE_DEPTH`].
pub(crate) fn json_value(text: &str) -> Result<Value> {
    let json: Json = serde_json::from_str(text)
        .map_err(|e| Failure::new(Code::BadValue, format!("not a JSON value: {e}")))?;
    if depth(&json) > MAX_VALUE_DEPTH {
        return Err(Failure::new(
            Code::BadValue,
            format!("value nests deeper than {MAX_VALUE_DEPTH} levels"),
        ));
    }
    Ok(Value::from_json(&json))
}

/// Nesting depth of a JSON value: the most lists and objects open on one route (a scalar is
/// 0, `[]` is 1), computed without recursion.
fn depth(json: &Json) -> usize {
    let mut deepest = 0;
    let mut stack = vec![(json, 0usize)];
    while let Some((v, d)) = stack.pop() {
        match v {
            Json::Array(items) => {
                deepest = deepest.max(d + 1);
                stack.extend(items.iter().map(|i| (i, d + 1)));
            }
            Json::Object(map) => {
                deepest = deepest.max(d + 1);
                stack.extend(map.values().map(|i| (i, d + 1)));
            }
            _ => {}
        }
    }
    deepest
}

/// A JSON value as a plain JS value.
pub(crate) fn to_js(json: &Json) -> Result<JsValue> {
    let text = serde_json::to_string(json)
        .map_err(|e| Failure::new(Code::BadValue, format!("cannot render as JSON: {e}")))?;
    js_sys::JSON::parse(&text)
        .map_err(|_| Failure::new(Code::BadValue, "the host refused the JSON rendering"))
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
    fn deep_values_are_refused() {
        let deep = "[".repeat(MAX_VALUE_DEPTH + 1) + &"]".repeat(MAX_VALUE_DEPTH + 1);
        assert_eq!(json_value(&deep).map_err(|e| e.code), Err(Code::BadValue));
        let ok = "[".repeat(MAX_VALUE_DEPTH) + &"]".repeat(MAX_VALUE_DEPTH);
        assert!(json_value(&ok).is_ok());
    }

    #[test]
    fn millis_never_panics() {
        assert_eq!(millis(f64::NAN), 0);
        assert_eq!(millis(-5.0), 0);
        assert_eq!(millis(1e300), u64::MAX);
        assert_eq!(millis(12.7), 12);
    }
}
