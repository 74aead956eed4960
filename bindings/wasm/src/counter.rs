//! `CounterRef`: a counter field inside a `Doc`.

use deltacrdt::Edit;
use wasm_bindgen::prelude::*;

use crate::convert::integer;
use crate::shared::{Op, Place};

/// A counter at a path of a `Doc`: concurrent increments and decrements all count.
#[wasm_bindgen]
#[derive(Clone, Debug)]
pub struct CounterRef {
    place: Place,
}

impl CounterRef {
    pub(crate) fn new(place: Place) -> Self {
        Self { place }
    }

    fn add(&self, by: i64) -> Result<(), JsError> {
        Ok(self.place.edit(Op::Edit(Edit::Add(by)))?)
    }
}

#[wasm_bindgen]
impl CounterRef {
    /// Adds `n` (default 1; a safe integer, negative to subtract).
    ///
    /// # Errors
    /// `BAD_VALUE` if `n` is not a safe integer; `BUSY` on a conflicting re-entrant call.
    pub fn increment(&self, n: Option<f64>) -> Result<(), JsError> {
        self.add(integer(n.unwrap_or(1.0), "n")?)
    }

    /// Subtracts `n` (default 1).
    ///
    /// # Errors
    /// As [`increment`](Self::increment).
    pub fn decrement(&self, n: Option<f64>) -> Result<(), JsError> {
        self.add(-integer(n.unwrap_or(1.0), "n")?)
    }

    /// The counter's value (0 if absent).
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(getter)]
    pub fn value(&self) -> Result<f64, JsError> {
        let path = self.place.names();
        // Values beyond 2^53 round, as any JS number does.
        Ok(self
            .place
            .shared
            .read(|engine| engine.state().counter(&path) as f64)?)
    }
}
