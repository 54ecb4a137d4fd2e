//! The read-only view of a parsed JSON answer that the protocol rules need.
//!
//! In the runtime the platform's own `JSON.parse` parses answers (no JSON parser in the .wasm) and
//! [`JsonView`] is implemented for `JsValue`; host tests implement it for `serde_json::Value`, so
//! every rule in `protocol` is tested with plain `cargo test`.

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
    fn member(&self, key: &str) -> Option<Self>;
    /// An array's first element; `None` when empty or when `self` is not an array.
    fn first(&self) -> Option<Self>;
    /// A string's value.
    fn string(&self) -> Option<String>;
    /// A number's value.
    fn number(&self) -> Option<f64>;
}
