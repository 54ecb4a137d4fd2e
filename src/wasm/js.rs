//! The JS API: option objects in, plain result objects out, `FaceIdError`s as rejections.
//!
//! Every export takes `JsValue`s and converts them inside, so a wrong argument becomes a rejected
//! promise with `kind: "invalid_argument"`, never a synchronous throw or a trap.

use crate::endpoint::Endpoint;
use crate::error::FaceIdError;
use crate::params::is_credential;
use crate::params::{
    AccessToken, AppId, RefreshAfter, Retries, Secret, TimeoutMs, UserId, Version,
};
use crate::protocol::{AccessTokenGrant, NonceTicketRequest};
use crate::verification::{
    Callback, CallbackUrl, FaceId, FaceRecordQuery, FileChoice, H5Login, IdNumber, LiveInterType,
    LoginFrom, OptimalDomain, OrderNo, PersonName, RegisterOrderRequest, SourcePhoto,
    SourcePhotoType,
};
use crate::wasm::api;
use crate::wasm::client::{ClientConfig, FaceIdClient, LocalBoxFuture, TokenSource};
use crate::wasm::transport::RequestOptions;
use js_sys::{Array, Function, Object, Promise, Reflect};
use serde::Serialize;
use std::future::Future;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{future_to_promise, JsFuture};
use web_sys::AbortSignal;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
/** Options of `fetchNonceTicket`. */
export interface NonceTicketOptions {
  /** The WBappid: 1-8 ASCII letters/digits. */
  appId: string;
  /** A current access token of that WBappid: 1-128 visible ASCII characters. */
  accessToken: string;
  /** The partner's user id: 1-30 characters from A-Z a-z 0-9 _ - */
  userId: string;
  /** Default "1.0.0"; 1-20 characters from A-Z a-z 0-9 . _ - */
  version?: string;
  /** Base URL, default "https://miniprogram-kyc.tencentcloudapi.com". https only (http to loopback). */
  endpoint?: string;
  /** Limit of the whole call in ms (every attempt, pause and the body); default 10000; integer 1..=120000. */
  timeoutMs?: number;
  /** Retries after quick failures (connection refused or reset before any answer, HTTP 429, 502, 503, 504), while time is left; default 2; 0..=5. */
  retries?: number;
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

/** Settings of `new FaceIdClient()` and `FaceIdClient.importState()` besides the token's origin. */
export interface FaceIdClientSettings {
  /** The WBappid: 1-8 ASCII letters/digits. */
  appId: string;
  /** Base URL, default "https://miniprogram-kyc.tencentcloudapi.com". https only (http to loopback). */
  endpoint?: string;
  /** Default "1.0.0"; 1-20 characters from A-Z a-z 0-9 . _ - */
  version?: string;
  /** Limit of each request in ms (every attempt, pause and the body); default 10000; integer 1..=120000. */
  timeoutMs?: number;
  /** Retries of a ticket request after quick failures (connection refused or reset before any answer, HTTP 429, 502, 503, 504); default 2; 0..=5. Token requests are never retried. */
  retries?: number;
  /** Token age in seconds that triggers a refresh, default 1200 (20 min); 0 < n <= 86400. */
  refreshAfterSeconds?: number;
}

/** The owner of a WBappid's access token, for a client that does not mint it: say, the Durable Object that owns the token for a fleet of Workers isolates. */
export interface TokenSource {
  /** The token to use now. */
  token(): Promise<Credential>;
  /** The service refused `token`: the token to use now (the same one when the owner keeps it). */
  rejected(token: string): Promise<Credential>;
}

/** Options of `new FaceIdClient()`: the client mints the token from the secret (it is the token's owner), or takes it from a `tokenSource`. */
export type FaceIdClientOptions = FaceIdClientSettings & (
  | {
      /** The WBappid's secret: 1-64 visible ASCII characters. Never appears in any message or output. */
      secret: string;
      tokenSource?: undefined;
    }
  | {
      secret?: undefined;
      /** Where the token comes from; the client then sends no token request of its own. */
      tokenSource: TokenSource;
    }
);

/** An access token or SIGN ticket. */
export interface Credential {
  /** The token or ticket. */
  value: string;
  /** Seconds it lives, from the response that granted it. */
  expire_in: number;
  /** Milliseconds since the epoch: the clock just before it was requested + expire_in * 1000. */
  expires_at: number;
}

/** Options of `FaceIdClient.nonceTicket()`. */
export interface NonceTicketCallOptions {
  /** Aborts the call, including any wait for a token. */
  signal?: AbortSignal;
}

/** What the front end needs to start the FaceID app SDK. */
export interface SdkSignature {
  appId: string;
  userId: string;
  version: string;
  /** 32 random letters and digits. */
  nonce: string;
  /** SHA-1 (40 upper-case hex) of the sorted appId, userId, nonce, version and NONCE ticket. */
  sign: string;
  /** When the NONCE ticket behind the signature expires (ms since the epoch). */
  expires_at: number;
}

/** Options of `FaceIdClient.registerOrder()`. `name`, `idNo` and `sourcePhoto` are personal data: sent, never logged, cached or kept. */
export interface RegisterOrderOptions {
  /** The partner's order number, unique per verification: 1-32 ASCII letters and digits. */
  orderNo: string;
  /** The user being verified: 1-30 characters from A-Z a-z 0-9 _ - */
  userId: string;
  /** The person's real name: 1-64 characters, no control characters. */
  name: string;
  /** The person's ID-card number: 1-32 characters, no control characters. */
  idNo: string;
  /** A photo to compare against instead of the authority's: base64, type 1 (watermarked) or 2 (high definition). */
  sourcePhoto?: { base64: string; type: 1 | 2 };
  /** 1: real-time liveness detection only. */
  liveInterType?: 1;
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** A registered verification order: what `h5LoginUrl()` needs. */
export interface RegisteredOrder {
  orderNo: string;
  /** The service's id of the order. */
  faceId: string;
  /** The host (with an optional port) of the H5 page for this order. */
  optimalDomain: string;
  /** The service's transactionTime. */
  transaction_time?: string;
}

/** Options of `FaceIdClient.h5LoginUrl()`. */
export interface H5LoginUrlOptions {
  orderNo: string;
  faceId: string;
  /** The order's user: the NONCE ticket is fetched for this id. */
  userId: string;
  /** Where the service sends the user back: https (http only to loopback), no credentials. */
  callbackUrl: string;
  /** Where the page is opened; default "browser". */
  from?: "browser" | "App";
  /** true: skip the service's own result page (resultType=1). */
  resultType?: boolean;
  /** The order's host[:port] from `registerOrder()`; default the endpoint's host. */
  optimalDomain?: string;
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** A signed H5 login URL. */
export interface H5LoginUrl {
  /** Where to send the user's browser. */
  url: string;
  /** When its one-time NONCE ticket expires (ms since the epoch). */
  expires_at: number;
}

/** The parameters of the service's redirect back to the callback URL. */
export interface CallbackParams {
  code?: string;
  orderNo?: string;
  h5faceId?: string;
  newSign?: string;
}

/** What a callback proves. */
export interface CallbackVerdict {
  /** newSign matches the current or the previous SIGN ticket: the values came from the service. */
  verified: boolean;
  /** verified, and code is "0". */
  passed: boolean;
  orderNo?: string;
  code?: string;
}

/** Options of `FaceIdClient.queryFaceRecord()`. */
export interface FaceRecordOptions {
  orderNo: string;
  /** Which files to fetch with the result; default "none". With files, the answer may be up to 16 MiB. */
  files?: "none" | "photo" | "video" | "both";
  /** Aborts the call. */
  signal?: AbortSignal;
}

/** The result of a verification. `photo` and `video` are personal data: handed over, never kept. */
export interface FaceRecord {
  orderNo: string;
  /** code is "0": the same person, alive. */
  passed: boolean;
  code: string;
  msg: string;
  /** The liveness score; null when a failed check has none. */
  liveRate: number | null;
  /** The face comparison score; null when a failed check has none. */
  similarity: number | null;
  /** When the check took place (yyyyMMddHHmmss); null when a failed check has none. */
  occurredTime: string | null;
  /** base64. */
  photo?: string;
  /** base64. */
  video?: string;
  sdkVersion?: string;
}

/** The stable classes of failure. */
export type FaceIdErrorKind =
  | "invalid_argument" | "api" | "http" | "network" | "timeout" | "aborted" | "bad_response";

/** Every rejection of this package is an `Error` of this shape. */
export interface FaceIdError extends Error {
  name: "FaceIdError";
  kind: FaceIdErrorKind;
  /** A failure the client remembers: ms until it sends that request again (until then, calls that need it fail at once with this error). */
  retry_after_ms?: number;
  /** network: what the platform reported, credentials removed. */
  detail?: string;
  /** bad_response: what was wrong with the answer. */
  reason?: string;
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
        let request_options = RequestOptions {
            endpoint: options.endpoint()?,
            timeout: options.timeout()?,
            signal: options.signal()?,
            retries: options.retries()?,
        };
        let ticket = api::fetch_nonce_ticket(&request, &request_options).await?;
        to_js(&ticket)
    };
    result.await.map_err(error_to_js)
}

/// Signs `values` the FaceID way: sorted, concatenated, SHA-1, 40 upper-case hex digits.
#[wasm_bindgen]
pub fn sign(
    #[wasm_bindgen(unchecked_param_type = "string[]")] values: JsValue,
) -> Result<String, JsValue> {
    let invalid = || {
        error_to_js(FaceIdError::InvalidArgument {
            field: "values",
            rule: "must be an array of strings",
        })
    };
    let values: Array = values.dyn_into().map_err(|_| invalid())?;
    let values: Vec<String> = values
        .iter()
        .map(|value| value.as_string())
        .collect::<Option<_>>()
        .ok_or_else(invalid)?;
    Ok(crate::sign::sign(&values))
}

/// 32 random letters and digits from the platform's `crypto.getRandomValues`.
#[wasm_bindgen(js_name = nonceString)]
pub fn nonce_string() -> Result<String, JsValue> {
    api::nonce_string().map_err(error_to_js)
}

/// The credential chain of one WBappid, with safe caching. Keep one per WBappid and process.
#[wasm_bindgen(js_name = FaceIdClient)]
#[derive(Debug)]
pub struct JsFaceIdClient {
    client: FaceIdClient,
}

#[wasm_bindgen(js_class = FaceIdClient)]
impl JsFaceIdClient {
    /// Validates the options; throws a `FaceIdError` (`invalid_argument`) if one is wrong.
    #[wasm_bindgen(constructor)]
    pub fn new(
        #[wasm_bindgen(unchecked_param_type = "FaceIdClientOptions")] options: JsValue,
    ) -> Result<JsFaceIdClient, JsValue> {
        let config = client_config(options).map_err(error_to_js)?;
        Ok(JsFaceIdClient {
            client: FaceIdClient::new(config),
        })
    }

    /// A client that resumes from `exportState()` instead of minting a new token.
    #[wasm_bindgen(js_name = importState)]
    pub fn import_state(
        #[wasm_bindgen(unchecked_param_type = "FaceIdClientOptions")] options: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string")] state: JsValue,
    ) -> Result<JsFaceIdClient, JsValue> {
        let resume = || {
            let config = client_config(options)?;
            let state = state.as_string().ok_or(FaceIdError::InvalidArgument {
                field: "state",
                rule: "must be a string",
            })?;
            FaceIdClient::import_state(config, &state)
        };
        let client = resume().map_err(error_to_js)?;
        Ok(JsFaceIdClient { client })
    }

    /// The token, SIGN ticket and their timing as JSON, never the secret. Store it where only
    /// the server can read it: it holds credentials.
    #[wasm_bindgen(js_name = exportState)]
    pub fn export_state(&self) -> String {
        self.client.export_state()
    }

    /// When the client will next request a token if asked (ms since the epoch): when the token
    /// is due, or when the wait after a failed token request ends, whichever is later. A token
    /// owner arms its refresh timer (say, a Durable Object alarm) for this time.
    #[wasm_bindgen(js_name = nextRefreshAt)]
    pub fn next_refresh_at(&self) -> f64 {
        self.client.next_refresh_at()
    }

    /// The current access token (cached; refreshed when old or expiring).
    #[wasm_bindgen(js_name = accessToken, unchecked_return_type = "Promise<Credential>")]
    pub fn access_token(&self) -> Promise {
        let client = self.client.clone();
        settle(async move {
            let token = client.access_token().await?;
            credential(&token.value, token.expire_in, token.expires_at)
        })
    }

    /// Reports that the service refused `token` (from `accessToken()`, used elsewhere); under
    /// the once-a-minute rule the token is replaced. Resolves to the token to use now.
    #[wasm_bindgen(js_name = tokenRejected, unchecked_return_type = "Promise<Credential>")]
    pub fn token_rejected(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        settle(async move {
            let rejected = token.as_string().ok_or(FaceIdError::InvalidArgument {
                field: "token",
                rule: "must be a string",
            })?;
            let token = client.token_rejected(&rejected).await?;
            credential(&token.value, token.expire_in, token.expires_at)
        })
    }

    /// The SIGN ticket of the current token (cached with that token).
    #[wasm_bindgen(js_name = signTicket, unchecked_return_type = "Promise<Credential>")]
    pub fn sign_ticket(&self) -> Promise {
        let client = self.client.clone();
        settle(async move {
            let ticket = client.sign_ticket().await?;
            credential(&ticket.value, ticket.expire_in, ticket.expires_at)
        })
    }

    /// A fresh one-time NONCE ticket for `userId` (never cached).
    #[wasm_bindgen(js_name = nonceTicket, unchecked_return_type = "Promise<NonceTicket>")]
    pub fn nonce_ticket(
        &self,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "NonceTicketCallOptions")] options: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        settle(async move {
            let user_id = user_id_from(user_id)?;
            let signal = if options.is_undefined() {
                None
            } else {
                Options::new(options)?.signal()?
            };
            to_js(&client.nonce_ticket(&user_id, signal).await?)
        })
    }

    /// Registers a verification order (name and ID number are sent, never kept or logged).
    #[wasm_bindgen(js_name = registerOrder, unchecked_return_type = "Promise<RegisteredOrder>")]
    pub fn register_order(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RegisterOrderOptions")] options: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        settle(async move {
            let options = Options::new(options)?;
            let config = client.config();
            let order = RegisterOrderRequest {
                app_id: config.app_id.clone(),
                order_no: OrderNo::new(options.required_string(OrderNo::FIELD)?)?,
                user_id: UserId::new(options.required_string(UserId::FIELD)?)?,
                name: PersonName::new(options.required_string(PersonName::FIELD)?)?,
                id_no: IdNumber::new(options.required_string(IdNumber::FIELD)?)?,
                version: config.version.clone(),
                source_photo: options.source_photo()?,
                live_inter_type: options
                    .number(LiveInterType::FIELD)?
                    .map(LiveInterType::from_f64)
                    .transpose()?,
            };
            to_js(&client.register_order(&order, options.signal()?).await?)
        })
    }

    /// The signed H5 login URL of a registered order, from a fresh NONCE ticket of its user.
    #[wasm_bindgen(js_name = h5LoginUrl, unchecked_return_type = "Promise<H5LoginUrl>")]
    pub fn h5_login_url(
        &self,
        #[wasm_bindgen(unchecked_param_type = "H5LoginUrlOptions")] options: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        settle(async move {
            let options = Options::new(options)?;
            let config = client.config();
            let login = H5Login {
                app_id: config.app_id.clone(),
                order_no: OrderNo::new(options.required_string(OrderNo::FIELD)?)?,
                face_id: FaceId::new(options.required_string(FaceId::FIELD)?)?,
                user_id: UserId::new(options.required_string(UserId::FIELD)?)?,
                version: config.version.clone(),
                callback_url: CallbackUrl::new(&options.required_string(CallbackUrl::FIELD)?)?,
                from: match options.optional_string(LoginFrom::FIELD)? {
                    Some(from) => LoginFrom::new(&from)?,
                    None => LoginFrom::default(),
                },
                skip_result_page: options.boolean(RESULT_TYPE)?.unwrap_or(false),
                optimal_domain: options
                    .optional_string(OptimalDomain::FIELD)?
                    .map(|domain| OptimalDomain::new(&domain))
                    .transpose()?,
            };
            to_js(&client.h5_login_url(&login, options.signal()?).await?)
        })
    }

    /// Checks that a callback came from the service. Takes its parameters as an object, its
    /// URL (a string or a `URL`) or its `URLSearchParams`; input it cannot use is `verified:
    /// false`, never an error. Rejects only when the SIGN ticket cannot be had.
    #[wasm_bindgen(js_name = verifyCallback, unchecked_return_type = "Promise<CallbackVerdict>")]
    pub fn verify_callback(
        &self,
        #[wasm_bindgen(unchecked_param_type = "CallbackParams | string | URL | URLSearchParams")]
        callback: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        let callback = callback_from(&callback);
        settle(async move { to_js(&client.verify_callback(&callback).await?) })
    }

    /// The result of a verification; with `files`, its photo and/or video (base64).
    #[wasm_bindgen(js_name = queryFaceRecord, unchecked_return_type = "Promise<FaceRecord>")]
    pub fn query_face_record(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FaceRecordOptions")] options: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        settle(async move {
            let options = Options::new(options)?;
            let config = client.config();
            let query = FaceRecordQuery {
                app_id: config.app_id.clone(),
                order_no: OrderNo::new(options.required_string(OrderNo::FIELD)?)?,
                version: config.version.clone(),
                files: match options.optional_string(FileChoice::FIELD)? {
                    Some(files) => FileChoice::new(&files)?,
                    None => FileChoice::default(),
                },
            };
            to_js(&client.query_face_record(&query, options.signal()?).await?)
        })
    }

    /// Signed start parameters for the FaceID app SDK, from a fresh NONCE ticket and nonce.
    #[wasm_bindgen(js_name = sdkSignature, unchecked_return_type = "Promise<SdkSignature>")]
    pub fn sdk_signature(
        &self,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        settle(async move { to_js(&client.sdk_signature(&user_id_from(user_id)?).await?) })
    }
}

/// Runs `work` as a promise that resolves to its value or rejects with a `FaceIdError`.
fn settle(work: impl Future<Output = Result<JsValue, FaceIdError>> + 'static) -> Promise {
    future_to_promise(async move { work.await.map_err(error_to_js) })
}

fn user_id_from(value: JsValue) -> Result<UserId, FaceIdError> {
    let user_id = value.as_string().ok_or(FaceIdError::InvalidArgument {
        field: UserId::FIELD,
        rule: "must be a string",
    })?;
    UserId::new(user_id)
}

const RESULT_TYPE: &str = "resultType";

/// A callback's parameters from whatever form the caller has them in; anything else reads as a
/// callback without parameters, which no signature verifies.
fn callback_from(value: &JsValue) -> Callback {
    if let Some(text) = value.as_string() {
        return Callback::from_query(&text);
    }
    if let Some(url) = value.dyn_ref::<web_sys::Url>() {
        return Callback::from_query(&url.href());
    }
    if let Some(params) = value.dyn_ref::<web_sys::UrlSearchParams>() {
        return Callback::from_query(&String::from(params.to_string()));
    }
    // A getter may throw, or a value be no string: either is a parameter not given.
    let text = |key: &str| {
        Reflect::get(value, &JsValue::from_str(key))
            .ok()
            .and_then(|value| value.as_string())
    };
    Callback {
        code: text("code"),
        order_no: text("orderNo"),
        new_sign: text("newSign"),
    }
}

fn client_config(options: JsValue) -> Result<ClientConfig, FaceIdError> {
    let options = Options::new(options)?;
    let app_id = AppId::new(options.required_string(AppId::FIELD)?)?;
    let secret = options.optional_string(Secret::FIELD)?;
    let mut config = match (secret, options.get(TOKEN_SOURCE)?) {
        (Some(secret), None) => ClientConfig::new(app_id, Secret::new(secret)?),
        (None, Some(source)) => {
            ClientConfig::with_token_source(app_id, Rc::new(JsTokenSource::new(source)?))
        }
        (Some(_), Some(_)) => {
            return Err(FaceIdError::InvalidArgument {
                field: TOKEN_SOURCE,
                rule: "cannot be given together with secret",
            })
        }
        (None, None) => {
            return Err(FaceIdError::InvalidArgument {
                field: Secret::FIELD,
                rule: "is required, unless a tokenSource is given",
            })
        }
    };
    config.endpoint = options.endpoint()?;
    config.version = options.version()?;
    config.timeout = options.timeout()?;
    config.retries = options.retries()?;
    if let Some(seconds) = options.number(RefreshAfter::FIELD)? {
        config.refresh_after = RefreshAfter::from_seconds(seconds)?;
    }
    Ok(config)
}

const TOKEN_SOURCE: &str = "tokenSource";

/// A JS `{ token(), rejected(token) }` owner of the token.
struct JsTokenSource {
    object: JsValue,
    token: Function,
    rejected: Function,
}

impl JsTokenSource {
    fn new(source: JsValue) -> Result<Self, FaceIdError> {
        let method = |name: &str| {
            Reflect::get(&source, &JsValue::from_str(name))
                .ok()
                .and_then(|method| method.dyn_into::<Function>().ok())
        };
        match (source.is_object(), method("token"), method("rejected")) {
            (true, Some(token), Some(rejected)) => Ok(JsTokenSource {
                object: source,
                token,
                rejected,
            }),
            _ => Err(FaceIdError::InvalidArgument {
                field: TOKEN_SOURCE,
                rule: "must be an object with token() and rejected(token) methods",
            }),
        }
    }
}

impl TokenSource for JsTokenSource {
    fn token(&self) -> LocalBoxFuture<'_, Result<AccessTokenGrant, FaceIdError>> {
        Box::pin(source_answer(self.token.call0(&self.object)))
    }

    fn rejected<'a>(
        &'a self,
        token: &'a str,
    ) -> LocalBoxFuture<'a, Result<AccessTokenGrant, FaceIdError>> {
        let called = self.rejected.call1(&self.object, &JsValue::from_str(token));
        Box::pin(source_answer(called))
    }
}

/// What a token source's method returned (a promise or a value) as a checked token: the token
/// rule holds for tokens from an owner as for tokens from the service.
async fn source_answer(called: Result<JsValue, JsValue>) -> Result<AccessTokenGrant, FaceIdError> {
    let returned = called.map_err(source_failure)?;
    let settled = JsFuture::from(Promise::resolve(&returned))
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
            Ok(AccessTokenGrant {
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
/// by the owner) keeps its kind, details and `retry_after_ms`; anything else is a `network`
/// failure to reach the owner.
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
            _ => source_unreachable(&message),
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
        _ => source_unreachable(&message),
    };
    match number("retry_after_ms") {
        Some(wait) => failure.backing_off(wait),
        None => failure,
    }
}

fn source_unreachable(message: &str) -> FaceIdError {
    FaceIdError::Network {
        detail: format!("the token source failed: {message}"),
    }
}

/// The `{ value, expire_in, expires_at }` view of a token or ticket.
#[derive(Serialize)]
struct Credential<'a> {
    value: &'a str,
    expire_in: u32,
    expires_at: f64,
}

fn credential(value: &str, expire_in: u32, expires_at: f64) -> Result<JsValue, FaceIdError> {
    to_js(&Credential {
        value,
        expire_in,
        expires_at,
    })
}

/// Reads an options object property by property, naming the field at fault.
struct Options(Object);

impl Options {
    fn new(value: JsValue) -> Result<Self, FaceIdError> {
        // `typeof === "object"`, not `instanceof Object`: objects without a prototype or from
        // another realm are options too.
        if value.is_object() {
            Ok(Options(value.unchecked_into()))
        } else {
            Err(FaceIdError::InvalidArgument {
                field: "options",
                rule: "must be an object",
            })
        }
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

    fn number(&self, field: &'static str) -> Result<Option<f64>, FaceIdError> {
        self.get(field)?
            .map(|value| {
                value.as_f64().ok_or(FaceIdError::InvalidArgument {
                    field,
                    rule: "must be a number",
                })
            })
            .transpose()
    }

    fn endpoint(&self) -> Result<Endpoint, FaceIdError> {
        self.optional_string("endpoint")?
            .map_or_else(|| Ok(Endpoint::default()), |url| Endpoint::new(&url))
    }

    fn timeout(&self) -> Result<TimeoutMs, FaceIdError> {
        self.number(TimeoutMs::FIELD)?
            .map_or_else(|| Ok(TimeoutMs::default()), TimeoutMs::from_f64)
    }

    fn retries(&self) -> Result<Retries, FaceIdError> {
        self.number(Retries::FIELD)?
            .map_or_else(|| Ok(Retries::default()), Retries::from_f64)
    }

    fn boolean(&self, field: &'static str) -> Result<Option<bool>, FaceIdError> {
        self.get(field)?
            .map(|value| {
                value.as_bool().ok_or(FaceIdError::InvalidArgument {
                    field,
                    rule: "must be a boolean",
                })
            })
            .transpose()
    }

    /// `sourcePhoto: { base64, type }`, when given.
    fn source_photo(&self) -> Result<Option<SourcePhoto>, FaceIdError> {
        let Some(photo) = self.get("sourcePhoto")? else {
            return Ok(None);
        };
        let not_a_photo = FaceIdError::InvalidArgument {
            field: "sourcePhoto",
            rule: "must be an object { base64: string, type: 1 | 2 }",
        };
        if !photo.is_object() {
            return Err(not_a_photo);
        }
        let member = |key: &str| Reflect::get(&photo, &JsValue::from_str(key)).ok();
        let base64 = member("base64")
            .and_then(|base64| base64.as_string())
            .ok_or(FaceIdError::InvalidArgument {
                field: "sourcePhoto.base64",
                rule: "must be a string",
            })?;
        let kind =
            member("type")
                .and_then(|kind| kind.as_f64())
                .ok_or(FaceIdError::InvalidArgument {
                    field: SourcePhotoType::FIELD,
                    rule: "must be 1 (watermarked) or 2 (high definition)",
                })?;
        SourcePhoto::new(base64, SourcePhotoType::from_f64(kind)?).map(Some)
    }

    fn signal(&self) -> Result<Option<AbortSignal>, FaceIdError> {
        self.get("signal")?
            .map(|value| {
                value
                    .dyn_into::<AbortSignal>()
                    .map_err(|_| FaceIdError::InvalidArgument {
                        field: "signal",
                        rule: "must be an AbortSignal",
                    })
            })
            .transpose()
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
        FaceIdError::Network { detail } => set("detail", detail.into()),
        FaceIdError::BadResponse { reason } => set("reason", reason.into()),
        FaceIdError::Aborted | FaceIdError::BackingOff { .. } => {}
    }
    js.into()
}
