//! [`JsonView`] over values parsed by the platform's `JSON.parse`.

use crate::json::{JsonKind, JsonView};
use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

impl JsonView for JsValue {
    fn kind(&self) -> JsonKind {
        if self.is_null() || self.is_undefined() {
            JsonKind::Null
        } else if self.as_bool().is_some() {
            JsonKind::Bool
        } else if self.as_f64().is_some() {
            JsonKind::Number
        } else if self.is_string() {
            JsonKind::String
        } else if Array::is_array(self) {
            JsonKind::Array
        } else {
            JsonKind::Object
        }
    }

    fn member(&self, key: &str) -> Option<Self> {
        let object = self
            .dyn_ref::<Object>()
            .filter(|_| self.kind() == JsonKind::Object)?;
        // Own members only: nothing inherited from Object.prototype passes for an answer field.
        let key = JsValue::from_str(key);
        if !Object::has_own(object, &key) {
            return None;
        }
        Reflect::get(object, &key).ok()
    }

    fn first(&self) -> Option<Self> {
        let array = self.dyn_ref::<Array>()?;
        (array.length() > 0).then(|| array.get(0))
    }

    fn string(&self) -> Option<String> {
        self.as_string()
    }

    fn number(&self) -> Option<f64> {
        self.as_f64()
    }
}
