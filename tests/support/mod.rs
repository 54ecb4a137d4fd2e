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
