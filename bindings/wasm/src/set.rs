//! `SetRef`: an add-wins set of scalars inside a `Doc`.

use wasm_bindgen::prelude::*;

use deltacrdt::{Edit, JsonBuilder, Kind};

use crate::convert::scalar;
use crate::shared::{Op, Place};

/// A set at a path of a `Doc`, of strings, numbers and booleans: an add wins over a
/// concurrent delete of the same element.
#[wasm_bindgen]
#[derive(Clone, Debug)]
pub struct SetRef {
    place: Place,
}

impl SetRef {
    pub(crate) fn new(place: Place) -> Self {
        Self { place }
    }
}

#[wasm_bindgen]
impl SetRef {
    /// Adds `v` (a string, a finite number or a boolean).
    ///
    /// # Errors
    /// `BAD_VALUE` for any other value; `BUSY` on a conflicting re-entrant call.
    pub fn add(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | number | boolean")] v: JsValue,
    ) -> Result<(), JsError> {
        Ok(self.place.edit(Op::Edit(Edit::Insert(scalar(&v)?)))?)
    }

    /// Removes `v` as far as this replica has seen it.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn delete(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | number | boolean")] v: JsValue,
    ) -> Result<(), JsError> {
        Ok(self.place.edit(Op::Edit(Edit::Remove(scalar(&v)?)))?)
    }

    /// Adds every element of `values` as **one** change: one delta to every peer, one
    /// change event (`add` in a loop makes one of each per element).
    ///
    /// # Errors
    /// `BAD_VALUE` if any element is not a string, a finite number or a boolean: then nothing
    /// is added. `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(js_name = addAll)]
    pub fn add_all(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(string | number | boolean)[]")]
        values: js_sys::Array,
    ) -> Result<(), JsError> {
        self.all(&values, Edit::Insert)
    }

    /// Removes every element of `values` as one change (see [`addAll`](Self::add_all)).
    ///
    /// # Errors
    /// As [`addAll`](Self::add_all).
    #[wasm_bindgen(js_name = deleteAll)]
    pub fn delete_all(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(string | number | boolean)[]")]
        values: js_sys::Array,
    ) -> Result<(), JsError> {
        self.all(&values, Edit::Remove)
    }

    fn all(
        &self,
        values: &js_sys::Array,
        edit: fn(deltacrdt::Scalar) -> Edit,
    ) -> Result<(), JsError> {
        let ops = values
            .iter()
            .map(|v| scalar(&v).map(|s| Op::Edit(edit(s))))
            .collect::<crate::error::Result<Vec<Op>>>()?;
        Ok(self.place.edit_all(ops)?)
    }

    /// Whether `v` is in the set.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn has(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | number | boolean")] v: JsValue,
    ) -> Result<bool, JsError> {
        let element = scalar(&v)?;
        let path = self.place.names();
        Ok(self.place.shared.read(|engine| {
            engine
                .state()
                .set_at(&path)
                .is_some_and(|s| s.contains(&element))
        })?)
    }

    /// The elements, sorted as `toJSON()` sorts them.
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(unchecked_return_type = "(string | number | boolean)[]")]
    pub fn values(&self) -> Result<JsValue, JsError> {
        Ok(self.place.render(Kind::Set, |js| js.array(Vec::new()))?)
    }
}
