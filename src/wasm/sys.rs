//! Raw bindings to the platform's globals. Bound as globals, never through `window`, which does
//! not exist in Node, workers or workerd.

use crate::error::{FaceIdError, HostCause};
use wasm_bindgen::prelude::*;

/// A platform global the call needs is missing, or threw where it should not (`thrown`);
/// `detail` names it: "this platform has no ...".
pub(crate) fn lacks(detail: &str, thrown: JsValue) -> FaceIdError {
    FaceIdError::Host {
        detail: String::from(detail),
        cause: HostCause::new(thrown),
    }
}

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, called as a plain function so workerd sees the global as `this`.
    #[wasm_bindgen(js_name = fetch, catch)]
    pub fn fetch(url: &str, init: &web_sys::RequestInit) -> Result<js_sys::Promise, JsValue>;

    /// A promise whose `then` takes plain functions (js-sys's takes closures).
    pub type Thenable;

    /// `promise.then(resolved, rejected)`. Its own promise is not needed: the outcome arrives
    /// through the callbacks.
    #[wasm_bindgen(method, js_name = then)]
    pub fn then(this: &Thenable, resolved: &JsValue, rejected: &JsValue);

    /// `setTimeout(handler, ms, argument)`: `handler` is called with `argument`. Returns a
    /// number in browsers and workerd, a `Timeout` object in Node.
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(handler: &js_sys::Function, ms: u32, argument: u32) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(handle: &JsValue);

    /// A UTF-8 `TextDecoder` whose `decode` returns the JS string itself: web-sys's binding
    /// copies it into a Rust `String`, which `JSON.parse` would only copy back.
    #[wasm_bindgen(js_name = TextDecoder)]
    pub type Utf8Decoder;

    #[wasm_bindgen(constructor, js_class = "TextDecoder", catch)]
    pub fn new() -> Result<Utf8Decoder, JsValue>;

    #[wasm_bindgen(method, catch)]
    pub fn decode(
        this: &Utf8Decoder,
        input: &js_sys::Uint8Array,
    ) -> Result<js_sys::JsString, JsValue>;

    /// `JSON.parse` of a JS string, without a copy through wasm memory.
    #[wasm_bindgen(js_namespace = JSON, js_name = parse, catch)]
    pub fn parse_json(text: &js_sys::JsString) -> Result<JsValue, JsValue>;

    /// `target[key]` for plain data objects (parsed JSON, stream read results), whose lookups
    /// cannot throw: no exception handling on this hot path. Never for caller-supplied objects,
    /// whose getters may throw (those go through `js_sys::Reflect::get`).
    #[wasm_bindgen(js_namespace = Reflect, js_name = get)]
    pub fn data_member(target: &JsValue, key: &JsValue) -> JsValue;

    /// The platform's cryptographic random source (Web Crypto, global in every target runtime).
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    pub fn get_random_values(buffer: &mut [u8]) -> Result<JsValue, JsValue>;
}
