//! JS strings for the names this crate reads and writes, made once per instance. A Rust `&str`
//! crosses into JS by being decoded from wasm memory, on every use; a property name is used on
//! every call.

use std::cell::RefCell;
use wasm_bindgen::JsValue;

thread_local! {
    /// Keyed by where the text lives: a `'static` literal never moves. A few dozen names, so a
    /// scan beats hashing.
    static NAMES: RefCell<Vec<(usize, JsValue)>> = const { RefCell::new(Vec::new()) };
}

/// `name` as a JS string, made on first use.
pub(crate) fn js_name(name: &'static str) -> JsValue {
    let at = name.as_ptr() as usize;
    NAMES.with_borrow_mut(|names| {
        if let Some((_, value)) = names.iter().find(|(known, _)| *known == at) {
            return value.clone();
        }
        let value = JsValue::from_str(name);
        names.push((at, value.clone()));
        value
    })
}
