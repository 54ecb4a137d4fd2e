//! The JS API: option objects in, plain result objects out, `FaceIdError`s as rejections.
//!
//! Every export takes `JsValue`s and converts them inside, so a wrong argument becomes a rejected
//! promise with `kind: "invalid_argument"`, never a synchronous throw or a trap.

use crate::endpoint::Endpoint;
use crate::error::FaceIdError;
use crate::params::{AccessToken, AppId, TimeoutMs, UserId, Version};
use crate::request::NonceTicketRequest;
use crate::wasm::api;
use crate::wasm::transport::RequestOptions;
use js_sys::{Object, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::AbortSignal;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Options of `fetchNonceTicket`. */
export interface NonceTicketOptions {
  /** The WBappid: 1-8 ASCII letters/digits. */
  appId: string;
  /** A current access token of that WBappid: 1-64 visible ASCII characters. */
  accessToken: string;
  /** The partner's user id: 1-30 characters from A-Z a-z 0-9 _ - */
  userId: string;
  /** Default "1.0.0"; 1-20 characters from A-Z a-z 0-9 . _ - */
  version?: string;
  /** Base URL, default "https://miniprogram-kyc.tencentcloudapi.com". https only (http to loopback). */
  endpoint?: string;
  /** Limit for the whole request in ms, default 10000; integer 1..=120000. */
  timeoutMs?: number;
  /** Aborts the request. */
  signal?: AbortSignal;
}

/** A one-time NONCE ticket. */
export interface NonceTicket {
  /** The ticket. */
  value: string;
  /** Seconds it lives, from the response: the authority on validity. */
  expire_in: number;
  /** The service's absolute expiry time, for display only. */
  expire_time?: string;
  /** The service's transactionTime. */
  transaction_time?: string;
  /** Milliseconds since the epoch: the clock just before sending + expire_in * 1000. */
  expires_at: number;
}

/** The stable classes of failure. */
export type FaceIdErrorKind =
  | "invalid_argument" | "api" | "http" | "network" | "timeout" | "aborted" | "bad_response";

/** Every rejection of this package is an `Error` of this shape. */
export interface FaceIdError extends Error {
  name: "FaceIdError";
  kind: FaceIdErrorKind;
  /** invalid_argument: the option at fault, e.g. "userId". */
  field?: string;
  /** api: the service's code, as a string. */
  code?: string;
  /** api: the service's message. */
  msg?: string;
  /** api: the service's transactionTime. */
  transaction_time?: string;
  /** http: the HTTP status. */
  status?: number;
  /** timeout: the limit that was exceeded. */
  timeoutMs?: number;
}
"#;

/// Fetches a one-time NONCE ticket. Rejects with a `FaceIdError`.
#[wasm_bindgen(js_name = fetchNonceTicket, unchecked_return_type = "NonceTicket")]
pub async fn fetch_nonce_ticket(
    #[wasm_bindgen(unchecked_param_type = "NonceTicketOptions")] options: JsValue,
) -> Result<JsValue, JsValue> {
    let result = async {
        let options = Options::new(options)?;
        let request = NonceTicketRequest {
            app_id: AppId::new(options.required_string(AppId::FIELD)?)?,
            access_token: AccessToken::new(options.required_string(AccessToken::FIELD)?)?,
            user_id: UserId::new(options.required_string(UserId::FIELD)?)?,
            version: options.version()?,
        };
        let ticket = api::fetch_nonce_ticket(&request, &options.request_options()?).await?;
        to_js(&ticket)
    };
    result.await.map_err(error_to_js)
}

/// Reads an options object property by property, naming the field at fault.
struct Options(Object);

impl Options {
    fn new(value: JsValue) -> Result<Self, FaceIdError> {
        value
            .dyn_into::<Object>()
            .map(Options)
            .map_err(|_| FaceIdError::InvalidArgument {
                field: "options",
                rule: "must be an object",
            })
    }

    /// The property, or `None` when it is absent or `undefined`.
    fn get(&self, field: &'static str) -> Result<Option<JsValue>, FaceIdError> {
        // A getter or proxy may throw: that is the caller's bad argument, not a crash.
        let value = Reflect::get(&self.0, &JsValue::from_str(field)).map_err(|_| {
            FaceIdError::InvalidArgument {
                field,
                rule: "could not be read",
            }
        })?;
        Ok((!value.is_undefined()).then_some(value))
    }

    fn optional_string(&self, field: &'static str) -> Result<Option<String>, FaceIdError> {
        self.get(field)?
            .map(|value| {
                value.as_string().ok_or(FaceIdError::InvalidArgument {
                    field,
                    rule: "must be a string",
                })
            })
            .transpose()
    }

    fn required_string(&self, field: &'static str) -> Result<String, FaceIdError> {
        self.optional_string(field)?
            .ok_or(FaceIdError::InvalidArgument {
                field,
                rule: "is required",
            })
    }

    fn version(&self) -> Result<Version, FaceIdError> {
        self.optional_string(Version::FIELD)?
            .map_or_else(|| Ok(Version::default()), Version::new)
    }

    fn request_options(&self) -> Result<RequestOptions, FaceIdError> {
        let endpoint = match self.optional_string("endpoint")? {
            Some(url) => Endpoint::new(&url)?,
            None => Endpoint::default(),
        };
        let timeout = match self.get(TimeoutMs::FIELD)? {
            Some(value) => TimeoutMs::from_f64(value.as_f64().unwrap_or(f64::NAN))?,
            None => TimeoutMs::default(),
        };
        let signal = self
            .get("signal")?
            .map(|value| {
                value
                    .dyn_into::<AbortSignal>()
                    .map_err(|_| FaceIdError::InvalidArgument {
                        field: "signal",
                        rule: "must be an AbortSignal",
                    })
            })
            .transpose()?;
        Ok(RequestOptions {
            endpoint,
            timeout,
            signal,
        })
    }
}

fn to_js(value: &impl Serialize) -> Result<JsValue, FaceIdError> {
    serde_wasm_bindgen::to_value(value)
        .map_err(|_| FaceIdError::bad_response("the result could not be converted for JS"))
}

/// A JS `Error` named `FaceIdError` with `kind` and the details of its variant.
fn error_to_js(error: FaceIdError) -> JsValue {
    let js = js_sys::Error::new(&error.to_string());
    js.set_name("FaceIdError");
    let set = |key: &str, value: JsValue| {
        let _ = Reflect::set(&js, &JsValue::from_str(key), &value);
    };
    set("kind", error.kind().as_str().into());
    match &error {
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
        FaceIdError::Network { .. } | FaceIdError::Aborted | FaceIdError::BadResponse { .. } => {}
    }
    js.into()
}
