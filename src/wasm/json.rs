//! [`JsonView`] over values parsed by the platform's `JSON.parse`.

use crate::protocol::{JsonKind, JsonView};
use crate::wasm::interned::js_name;
use crate::wasm::sys;
use js_sys::Array;
use wasm_bindgen::{JsCast, JsValue};

impl JsonView for JsValue {
    fn kind(&self) -> JsonKind {
        // Most likely first: each test is a call across the JS boundary.
        if self.is_string() {
            JsonKind::String
        } else if self.is_object() {
            if Array::is_array(self) {
                JsonKind::Array
            } else {
                JsonKind::Object
            }
        } else if self.as_f64().is_some() {
            JsonKind::Number
        } else if self.as_bool().is_some() {
            JsonKind::Bool
        } else {
            JsonKind::Null
        }
    }

    fn member(&self, key: &'static str) -> Option<Self> {
        if !self.is_object() || Array::is_array(self) {
            return None;
        }
        // The keys read here (code, tickets, value, …) are not on Object.prototype, so a plain
        // lookup cannot pick up an inherited member; `undefined` means absent.
        let member = sys::data_member(self, &js_name(key));
        (!member.is_undefined()).then_some(member)
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
