//! Test helpers: the emulator's control API and a few JS timing primitives.
#![allow(dead_code)] // each test binary uses a different subset

use js_sys::{Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, Response};

/// The emulator's default app and its secret (see tests/emulator/README.md).
pub const APP_ID: &str = "IDAEMU01";
pub const SECRET: &str = "emulator-secret-0123456789abcdef0123456789abcdef0123456789abcdef";

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(url: &str, init: &RequestInit) -> Promise;
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &js_sys::Function, ms: i32);
}

pub fn emulator() -> String {
    match option_env!("FACEID_EMULATOR_URL") {
        Some(url) => url.to_owned(),
        None => panic!("build the tests with FACEID_EMULATOR_URL set (scripts/test.sh does)"),
    }
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub async fn sleep(ms: u32) {
    let promise = Promise::new(&mut |resolve, _| {
        set_timeout(&resolve, ms as i32);
    });
    JsFuture::from(promise).await.unwrap();
}

/// Sends a request to the emulator and returns its JSON answer.
pub async fn call(method: &str, path: &str, body: Option<&str>) -> JsValue {
    let init = RequestInit::new();
    init.set_method(method);
    if let Some(body) = body {
        init.set_body(&JsValue::from_str(body));
    }
    let response: Response = JsFuture::from(global_fetch(&format!("{}{path}", emulator()), &init))
        .await
        .unwrap()
        .unchecked_into();
    JsFuture::from(response.json().unwrap()).await.unwrap()
}

fn field(value: &JsValue, key: &str) -> JsValue {
    Reflect::get(value, &key.into()).unwrap()
}

/// A fresh access token for the default app, fetched the way a client would.
pub async fn issue_token() -> String {
    let answer = call(
        "GET",
        &format!(
            "/api/oauth2/access_token?app_id={APP_ID}&secret={SECRET}\
             &grant_type=client_credential&version=1.0.0"
        ),
        None,
    )
    .await;
    field(&answer, "access_token").as_string().unwrap()
}

/// Arms an emulator fault, e.g. `{"mode":"html"}`.
pub async fn fault(spec: &str) {
    call("POST", "/__emulator/fault", Some(spec)).await;
}

pub async fn clear_fault() {
    call("DELETE", "/__emulator/fault", None).await;
}

/// How many FaceID requests the emulator has received.
pub async fn log_len() -> u32 {
    let log = call("GET", "/__emulator/log", None).await;
    field(&log, "requests")
        .unchecked_into::<js_sys::Array>()
        .length()
}

/// Resets the emulator with a config object (JSON), e.g. `{"tokenOverlapMs":100}`.
pub async fn reset(config: &str) {
    call("POST", "/__emulator/reset", Some(config)).await;
}

/// The emulator's request counters for the default app: (access_token, sign, nonce).
pub async fn counters() -> (u32, u32, u32) {
    let counters = call("GET", "/__emulator/counters", None).await;
    let app = field(&field(&counters, "apps"), APP_ID);
    let count = |key: &str| {
        if app.is_undefined() {
            0
        } else {
            field(&app, key).as_f64().unwrap_or_default() as u32
        }
    };
    (count("access_token"), count("sign"), count("nonce"))
}

/// Issues a new token as another process would, retiring the current one after the overlap.
pub async fn rotate_token() {
    call(
        "POST",
        "/__emulator/rotate",
        Some(&format!(r#"{{"appId":"{APP_ID}"}}"#)),
    )
    .await;
}

/// Invalidates every token (and ticket) of the default app at once.
pub async fn expire_tokens() {
    let body = format!(r#"{{"appId":"{APP_ID}"}}"#);
    call("POST", "/__emulator/expire-tokens", Some(&body)).await;
}

/// Checks an SDK start signature the way the FaceID SDK would; returns the answer's `code`.
pub async fn sdk_start(json: &str) -> String {
    let answer = call("POST", "/__emulator/sdk-start", Some(json)).await;
    field(&answer, "code").as_string().unwrap()
}

/// Moves this runtime's `Date.now` by `offset_ms` from the real clock (0 restores it), so tests
/// can age tokens without waiting. Only the client's clock moves: the emulator runs elsewhere.
pub fn shift_clock(offset_ms: f64) {
    let shift = js_sys::Function::new_with_args(
        "offset",
        "const real = Date.now.real || Date.now;\
         const shifted = () => real() + offset;\
         shifted.real = real;\
         Date.now = shifted;",
    );
    shift.call1(&JsValue::NULL, &offset_ms.into()).unwrap();
}

/// Whether any FaceID request the emulator logged contains `text` (in its path or query).
pub async fn log_mentions(text: &str) -> bool {
    let log = call("GET", "/__emulator/log", None).await;
    js_sys::JSON::stringify(&log)
        .ok()
        .and_then(|json| json.as_string())
        .is_some_and(|json| json.contains(text))
}
