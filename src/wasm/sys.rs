//! Raw bindings to the platform's globals. Bound as globals, never through `window`, which does
//! not exist in Node, workers or workerd.

use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, called as a plain function so workerd sees the global as `this`.
    #[wasm_bindgen(js_name = fetch, catch)]
    pub fn fetch(url: &str, init: &web_sys::RequestInit) -> Result<js_sys::Promise, JsValue>;

    /// Returns a number in browsers and workerd, a `Timeout` object in Node.
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(handler: &js_sys::Function, ms: u32) -> JsValue;

    #[wasm_bindgen(js_name = clearTimeout)]
    pub fn clear_timeout(handle: &JsValue);

    /// The platform's cryptographic random source (Web Crypto, global in every target runtime).
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues, catch)]
    pub fn get_random_values(buffer: &mut [u8]) -> Result<JsValue, JsValue>;
}
