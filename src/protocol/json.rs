//! The read-only view of a parsed JSON answer that the protocol rules need.
//!
//! In the runtime the platform's own `JSON.parse` parses answers (no JSON parser in the .wasm) and
//! [`JsonView`] is implemented for `JsValue`. With the `serde_json` feature (on in this crate's own
//! tests) it is implemented for `serde_json::Value` too, so every reader is tested with plain
//! `cargo test`.

/// The JSON type of a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool,
    /// A number.
    Number,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

/// A parsed JSON value, seen through the few questions answer parsing asks.
pub trait JsonView: Sized {
    /// The value's JSON type.
    fn kind(&self) -> JsonKind;
    /// An object's member `key`; `None` when absent or when `self` is not an object.
    fn member(&self, key: &'static str) -> Option<Self>;
    /// An array's first element; `None` when empty or when `self` is not an array.
    fn first(&self) -> Option<Self>;
    /// A string's value.
    fn string(&self) -> Option<String>;
    /// A number's value.
    fn number(&self) -> Option<f64>;
}

#[cfg(feature = "serde_json")]
mod serde_json_view {
    use super::{JsonKind, JsonView};
    use crate::error::FaceIdError;
    use serde_json::Value;

    impl JsonView for Value {
        fn kind(&self) -> JsonKind {
            match self {
                Value::Null => JsonKind::Null,
                Value::Bool(_) => JsonKind::Bool,
                Value::Number(_) => JsonKind::Number,
                Value::String(_) => JsonKind::String,
                Value::Array(_) => JsonKind::Array,
                Value::Object(_) => JsonKind::Object,
            }
        }
        fn member(&self, key: &'static str) -> Option<Self> {
            self.as_object()?.get(key).cloned()
        }
        fn first(&self) -> Option<Self> {
            self.as_array()?.first().cloned()
        }
        fn string(&self) -> Option<String> {
            self.as_str().map(str::to_owned)
        }
        fn number(&self) -> Option<f64> {
            self.as_f64()
        }
    }

    /// Parses an answer's body as the runtime does: a body that is not JSON is a `bad_response`.
    pub fn parse_body(body: &str) -> Result<Value, FaceIdError> {
        serde_json::from_str(body)
            .map_err(|_| FaceIdError::bad_response("the body is not valid JSON"))
    }
}

#[cfg(feature = "serde_json")]
pub use serde_json_view::parse_body;
