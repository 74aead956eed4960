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
