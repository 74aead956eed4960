//! `RegisterRef`: a last-writer-wins register of any JSON value inside a `Doc`.

use wasm_bindgen::prelude::*;

use crate::convert::{Js, value};
use crate::shared::{Op, Place};

/// A register at a path of a `Doc`: the write with the greatest hybrid-logical-clock stamp
/// wins (ties broken by replica id).
#[wasm_bindgen]
#[derive(Clone, Debug)]
pub struct RegisterRef {
    place: Place,
}

impl RegisterRef {
    pub(crate) fn new(place: Place) -> Self {
        Self { place }
    }
}

#[wasm_bindgen]
impl RegisterRef {
    /// Writes `v`: any value `JSON.stringify` accepts (with its rules: `undefined` and
    /// functions inside objects are dropped), nested at most 64 levels.
    ///
    /// # Errors
    /// `BAD_VALUE` for `undefined`, a function, a cycle, a BigInt, a non-finite number or too
    /// deep a value; `CLOCK` if the clock cannot issue a stamp; `BUSY` on a conflicting
    /// re-entrant call. The document is unchanged on error.
    pub fn set(
        &self,
        #[wasm_bindgen(unchecked_param_type = "JsonValue")] v: JsValue,
    ) -> Result<(), JsError> {
        Ok(self.place.edit(Op::Write(value(&v)?))?)
    }

    /// The winning value (`undefined` if never written).
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(getter, unchecked_return_type = "JsonValue | undefined")]
    pub fn value(&self) -> Result<JsValue, JsError> {
        let path = self.place.names();
        Ok(self.place.shared.read(|engine| {
            Js::build(|js| match engine.state().register(&path) {
                Some(v) => v.render(js),
                None => JsValue::UNDEFINED,
            })
        })??)
    }
}
