//! Results and errors on their way out to JS: results as plain objects (their field names are the
//! Rust types' serde names, which the declarations state), failures as JS `Error`s named
//! `FaceIdError` with `kind`, the details of the failure and, where the host caused it, `cause`.

use crate::error::FaceIdError;
use js_sys::{Object, Reflect};
use serde::Serialize;
use wasm_bindgen::JsValue;
use web_sys::AbortSignal;

/// What a call settles with: its result as a plain object, or its failure as a `FaceIdError`.
/// An `aborted` failure carries the signal's `reason` as its `cause`.
pub(super) fn reply<T: Serialize>(
    result: Result<T, FaceIdError>,
    signal: Option<&AbortSignal>,
) -> Result<JsValue, JsValue> {
    settle(result.and_then(|value| to_js(&value)), signal)
}

fn settle(
    result: Result<JsValue, FaceIdError>,
    signal: Option<&AbortSignal>,
) -> Result<JsValue, JsValue> {
    result.map_err(|failure| match (signal, &failure) {
        (Some(signal), FaceIdError::Aborted) => js_error(&failure, Some(&signal.reason())),
        _ => failure.into(),
    })
}

/// The plain-object form of a result. The results hold strings, booleans, numbers within `u32`
/// or `f64`, options and nested structs, none of which serde-wasm-bindgen refuses: a failure
/// here would be the host's, and is reported as such.
fn to_js(value: &impl Serialize) -> Result<JsValue, FaceIdError> {
    serde_wasm_bindgen::to_value(value).map_err(|refused| FaceIdError::Host {
        detail: String::from("the result could not be represented in JS"),
        cause: crate::error::HostCause::new(JsValue::from(refused)),
    })
}

impl From<FaceIdError> for JsValue {
    fn from(error: FaceIdError) -> JsValue {
        let cause = match error.cause() {
            FaceIdError::Host { cause, .. } => cause.get::<JsValue>().cloned(),
            _ => None,
        };
        js_error(&error, cause.as_ref())
    }
}

/// A JS `Error` named `FaceIdError` with `kind`, the details of its variant and `cause`.
fn js_error(error: &FaceIdError, cause: Option<&JsValue>) -> JsValue {
    let message = error.message();
    let js = match cause {
        Some(cause) => {
            let options = Object::new();
            let _ = Reflect::set(&options, &"cause".into(), cause);
            js_sys::Error::new_with_options(&message, &options)
        }
        None => js_sys::Error::new(&message),
    };
    js.set_name("FaceIdError");
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&js, &JsValue::from_str(key), &value);
    };
    set("kind", error.kind().as_str().into());
    if let Some(wait) = error.retry_after_ms() {
        set("retry_after_ms", wait.into());
    }
    match error.cause() {
        FaceIdError::InvalidArgument { field, .. } => set("field", (*field).into()),
        FaceIdError::Api {
            code,
            msg,
            transaction_time,
        } => {
            set("code", code.into());
            set("msg", msg.into());
            if let Some(time) = transaction_time {
                set("transaction_time", time.into());
            }
        }
        FaceIdError::Http { status } => set("status", (*status).into()),
        FaceIdError::Timeout { timeout_ms } => set("timeoutMs", (*timeout_ms).into()),
        FaceIdError::Network { detail } | FaceIdError::Host { detail, .. } => {
            set("detail", detail.into())
        }
        FaceIdError::BadResponse { reason } => set("reason", reason.into()),
        FaceIdError::Aborted | FaceIdError::BackingOff { .. } => {}
    }
    js.into()
}
