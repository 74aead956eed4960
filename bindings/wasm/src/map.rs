//! `MapRef`: a nested map inside a `Doc`, with the same accessors as the `Doc`.

use wasm_bindgen::prelude::*;

use crate::shared::Place;
use crate::{CounterRef, FlagRef, RegisterRef, SetRef};
use deltacrdt::{JsonBuilder, Kind};

/// A nested map at a path of a `Doc`. Deleting it removes what this replica saw under it;
/// concurrent edits inside it survive.
#[wasm_bindgen]
#[derive(Clone, Debug)]
pub struct MapRef {
    place: Place,
}

impl MapRef {
    pub(crate) fn new(place: Place) -> Self {
        Self { place }
    }
}

#[wasm_bindgen]
impl MapRef {
    /// The counter `name` in this map.
    ///
    /// # Errors
    /// `PATH` past 32 nested names.
    pub fn counter(&self, name: &str) -> Result<CounterRef, JsError> {
        Ok(CounterRef::new(self.place.child(name)?))
    }

    /// The set `name` in this map.
    ///
    /// # Errors
    /// `PATH` past 32 nested names.
    pub fn set(&self, name: &str) -> Result<SetRef, JsError> {
        Ok(SetRef::new(self.place.child(name)?))
    }

    /// The register `name` in this map.
    ///
    /// # Errors
    /// `PATH` past 32 nested names.
    pub fn register(&self, name: &str) -> Result<RegisterRef, JsError> {
        Ok(RegisterRef::new(self.place.child(name)?))
    }

    /// The flag `name` in this map.
    ///
    /// # Errors
    /// `PATH` past 32 nested names.
    pub fn flag(&self, name: &str) -> Result<FlagRef, JsError> {
        Ok(FlagRef::new(self.place.child(name)?))
    }

    /// The map `name` nested in this map.
    ///
    /// # Errors
    /// `PATH` past 32 nested names.
    pub fn map(&self, name: &str) -> Result<MapRef, JsError> {
        Ok(MapRef::new(self.place.child(name)?))
    }

    /// Deletes the field `name` of this map (every kind of field under that name).
    ///
    /// # Errors
    /// `PATH` past 32 nested names; `BUSY` on a conflicting re-entrant call.
    pub fn delete(&self, name: &str) -> Result<(), JsError> {
        Ok(self.place.delete(name)?)
    }

    /// A plain snapshot of this map (`{}` if absent), as `Doc.toJSON()` renders it.
    ///
    /// # Errors
    /// `BUSY` on a conflicting re-entrant call.
    #[wasm_bindgen(js_name = toJSON, unchecked_return_type = "Record<string, JsonValue>")]
    pub fn to_json(&self) -> Result<JsValue, JsError> {
        Ok(self.place.render(Kind::Map, |js| js.object(Vec::new()))?)
    }
}
