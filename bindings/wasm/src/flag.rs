//! `FlagRef`: an enable-wins flag inside a `Doc`.

use deltacrdt::Edit;
use wasm_bindgen::prelude::*;

use crate::shared::{Op, Place};

/// A flag at a path of a `Doc`: enable wins over a concurrent disable.
#[wasm_bindgen]
#[derive(Clone, Debug)]
pub struct FlagRef {
    place: Place,
}

impl FlagRef {
    pub(crate) fn new(place: Place) -> Self {
        Self { place }
    }

    fn set(&self, on: bool) -> Result<(), JsError> {
        Ok(self.place.edit(Op::Edit(Edit::Flag(on)))?)
    }
}

#[wasm_bindgen]
impl FlagRef {
    /// Turns the flag on.
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    pub fn enable(&self) -> Result<(), JsError> {
        self.set(true)
    }

    /// Turns the flag off (a concurrent `enable` elsewhere wins).
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    pub fn disable(&self) -> Result<(), JsError> {
        self.set(false)
    }

    /// Whether the flag is on (`false` if absent).
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(getter)]
    pub fn value(&self) -> Result<bool, JsError> {
        let path = self.place.names();
        Ok(self
            .place
            .shared
            .read(|engine| engine.state().flag(&path))?)
    }
}
