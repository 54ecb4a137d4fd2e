//! A JS `{ token(), rejected(token) }` object as the client's [`TokenSource`]: what it answers is
//! checked like a token from the service, and what it rejects with becomes a [`FaceIdError`].

use crate::error::{FaceIdError, HostCause};
use crate::params::is_credential;
use crate::protocol::Credential;
use crate::wasm::wait::Settled;
use crate::wasm::{LocalBoxFuture, TokenSource};
use js_sys::{Function, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// The owner's two methods, bound to the object they came from.
pub(super) struct JsTokenSource {
    object: JsValue,
    token: Function,
    rejected: Function,
}

impl JsTokenSource {
    /// `None` unless `source` is an object with both methods.
    pub(super) fn new(source: JsValue) -> Option<Self> {
        let method = |name: &str| {
            Reflect::get(&source, &JsValue::from_str(name))
                .ok()
                .and_then(|method| method.dyn_into::<Function>().ok())
        };
        match (source.is_object(), method("token"), method("rejected")) {
            (true, Some(token), Some(rejected)) => Some(JsTokenSource {
                object: source,
                token,
                rejected,
            }),
            _ => None,
        }
    }
}

impl TokenSource for JsTokenSource {
    fn token(&self) -> LocalBoxFuture<'_, Result<Credential, FaceIdError>> {
        Box::pin(source_answer(self.token.call0(&self.object)))
    }

    fn rejected<'a>(
        &'a self,
        token: &'a str,
    ) -> LocalBoxFuture<'a, Result<Credential, FaceIdError>> {
        let called = self.rejected.call1(&self.object, &JsValue::from_str(token));
        Box::pin(source_answer(called))
    }
}

/// What a token source's method returned (a promise or a value) as a checked token: the token
/// rule holds for tokens from an owner as for tokens from the service.
async fn source_answer(called: Result<JsValue, JsValue>) -> Result<Credential, FaceIdError> {
    let returned = called.map_err(source_failure)?;
    let settled = Settled::new(&Promise::resolve(&returned))
        .await
        .map_err(source_failure)?;
    let field = |name: &str| Reflect::get(&settled, &JsValue::from_str(name)).ok();
    let value = field("value").and_then(|value| value.as_string());
    let expire_in = field("expire_in")
        .and_then(|n| n.as_f64())
        .filter(|n| n.fract() == 0.0 && (1.0..=f64::from(u32::MAX)).contains(n));
    let expires_at = field("expires_at")
        .and_then(|n| n.as_f64())
        .filter(|n| n.is_finite());
    match (value, expire_in, expires_at) {
        (Some(value), Some(expire_in), Some(expires_at)) if is_credential(&value) => {
            Ok(Credential {
                value: value.into(),
                expire_in: expire_in as u32,
                expires_at,
            })
        }
        _ => Err(FaceIdError::bad_response(
            "the token source did not answer { value: 1-128 visible ASCII characters, expire_in, expires_at }",
        )),
    }
}

/// A token source's rejection as a `FaceIdError`: one of this package's errors (say, passed on
/// by the owner) keeps its kind, details and `retry_after_ms`; anything else is the host failing
/// the call (kind `network`), with the rejection as its cause.
fn source_failure(error: JsValue) -> FaceIdError {
    let text = |name: &str| {
        Reflect::get(&error, &JsValue::from_str(name))
            .ok()
            .and_then(|value| value.as_string())
    };
    let number = |name: &str| {
        Reflect::get(&error, &JsValue::from_str(name))
            .ok()
            .and_then(|value| value.as_f64())
            .filter(|n| n.is_finite() && *n >= 0.0)
    };
    let message = text("message").unwrap_or_default();
    let failure = match text("kind").as_deref() {
        Some("api") => FaceIdError::Api {
            code: text("code").unwrap_or_default(),
            msg: text("msg").unwrap_or_default(),
            transaction_time: text("transaction_time"),
        },
        Some("http") => match number("status") {
            Some(status) if status <= 999.0 => FaceIdError::Http {
                status: status as u16,
            },
            _ => source_failed(&message, error.clone()),
        },
        Some("network") => FaceIdError::Network {
            detail: text("detail").unwrap_or(message),
        },
        Some("timeout") => FaceIdError::Timeout {
            timeout_ms: number("timeoutMs").map_or(0, |ms| ms.min(f64::from(u32::MAX)) as u32),
        },
        Some("aborted") => FaceIdError::Aborted,
        Some("bad_response") => FaceIdError::BadResponse {
            reason: text("reason").unwrap_or(message),
        },
        _ => source_failed(&message, error.clone()),
    };
    match number("retry_after_ms") {
        Some(wait) => failure.backing_off(wait),
        None => failure,
    }
}

fn source_failed(message: &str, rejection: JsValue) -> FaceIdError {
    FaceIdError::Host {
        detail: ["the token source failed: ", message].concat(),
        cause: HostCause::new(rejection),
    }
}
