//! The JS API: a thin layer over the Rust API. Each export reads its arguments ([`options`]),
//! calls the Rust API, and hands back a plain object or a `FaceIdError` ([`convert`]).
//!
//! Every export takes `JsValue`s and converts them inside, so a wrong argument becomes a rejected
//! promise with `kind: "invalid_argument"`, never a synchronous throw or a trap. The TypeScript
//! declarations are `types.d.ts`.

mod convert;
mod options;
mod promise;
mod token_source;

use crate::error::FaceIdError;
use crate::params::UserId;
use crate::protocol::Credential;
use crate::wasm::{api, FaceIdClient};
use convert::reply;
use js_sys::{Array, Promise};
use options::{callback_from, string_argument, Options};
use promise::to_promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = include_str!("types.d.ts");

/// Fetches a one-time NONCE ticket. Rejects with a `FaceIdError`.
#[wasm_bindgen(js_name = fetchNonceTicket, unchecked_return_type = "Promise<NonceTicket>")]
pub fn fetch_nonce_ticket(
    #[wasm_bindgen(unchecked_param_type = "NonceTicketOptions")] options: JsValue,
) -> Promise {
    to_promise(async move {
        let (request, options) = Options::new(options)?.nonce_ticket_request()?;
        let ticket = api::fetch_nonce_ticket(&request, &options).await;
        reply(ticket, options.signal.as_ref())
    })
}

/// Signs `values` the FaceID way: sorted, concatenated, SHA-1, 40 upper-case hex digits.
#[wasm_bindgen]
pub fn sign(
    #[wasm_bindgen(unchecked_param_type = "string[]")] values: JsValue,
) -> Result<String, JsValue> {
    let strings = values.dyn_into::<Array>().ok().and_then(|values| {
        values
            .iter()
            .map(|value| value.as_string())
            .collect::<Option<Vec<String>>>()
    });
    let values = strings.ok_or(FaceIdError::InvalidArgument {
        field: "values",
        rule: "must be an array of strings",
    })?;
    Ok(crate::sign::sign(&values))
}

/// 32 random letters and digits from the platform's `crypto.getRandomValues`.
#[wasm_bindgen(js_name = nonceString)]
pub fn nonce_string() -> Result<String, JsValue> {
    Ok(api::nonce_string()?)
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
        let config = Options::new(options)?.client_config()?;
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
        let config = Options::new(options)?.client_config()?;
        let state = string_argument(state, "state")?;
        let client = FaceIdClient::import_state(config, &state)?;
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
        to_promise(async move { reply(client.access_token().await, None) })
    }

    /// Reports that the service refused `token` (from `accessToken()`, used elsewhere); under
    /// the once-a-minute rule the token is replaced. Resolves to the token to use now.
    #[wasm_bindgen(js_name = tokenRejected, unchecked_return_type = "Promise<Credential>")]
    pub fn token_rejected(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] token: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        to_promise(async move {
            let rejected = string_argument(token, "token")?;
            reply(client.token_rejected(&rejected).await, None)
        })
    }

    /// The SIGN ticket of the current token (cached with that token).
    #[wasm_bindgen(js_name = signTicket, unchecked_return_type = "Promise<Credential>")]
    pub fn sign_ticket(&self) -> Promise {
        let client = self.client.clone();
        to_promise(async move { reply(client.sign_ticket().await.map(Credential::from), None) })
    }

    /// A fresh one-time NONCE ticket for `userId` (never cached).
    #[wasm_bindgen(js_name = nonceTicket, unchecked_return_type = "Promise<NonceTicket>")]
    pub fn nonce_ticket(
        &self,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "NonceTicketCallOptions")] options: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        to_promise(async move {
            let user_id = UserId::new(string_argument(user_id, UserId::FIELD)?)?;
            let signal = match Options::optional(options)? {
                Some(options) => options.signal()?,
                None => None,
            };
            let ticket = client.nonce_ticket(&user_id, signal.clone()).await;
            reply(ticket, signal.as_ref())
        })
    }

    /// Registers a verification order (name and ID number are sent, never kept or logged).
    #[wasm_bindgen(js_name = registerOrder, unchecked_return_type = "Promise<RegisteredOrder>")]
    pub fn register_order(
        &self,
        #[wasm_bindgen(unchecked_param_type = "RegisterOrderOptions")] options: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        to_promise(async move {
            let options = Options::new(options)?;
            let order = options.register_order(client.config())?;
            let signal = options.signal()?;
            let registered = client.register_order(&order, signal.clone()).await;
            reply(registered, signal.as_ref())
        })
    }

    /// The signed H5 login URL of a registered order, from a fresh NONCE ticket of its user.
    #[wasm_bindgen(js_name = h5LoginUrl, unchecked_return_type = "Promise<H5LoginUrl>")]
    pub fn h5_login_url(
        &self,
        #[wasm_bindgen(unchecked_param_type = "H5LoginUrlOptions")] options: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        to_promise(async move {
            let options = Options::new(options)?;
            let login = options.h5_login(client.config())?;
            let signal = options.signal()?;
            let url = client.h5_login_url(&login, signal.clone()).await;
            reply(url, signal.as_ref())
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
        to_promise(async move { reply(client.verify_callback(&callback).await, None) })
    }

    /// The result of a verification; with `files`, its photo and/or video (base64).
    #[wasm_bindgen(js_name = queryFaceRecord, unchecked_return_type = "Promise<FaceRecord>")]
    pub fn query_face_record(
        &self,
        #[wasm_bindgen(unchecked_param_type = "FaceRecordOptions")] options: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        to_promise(async move {
            let options = Options::new(options)?;
            let query = options.face_record_query(client.config())?;
            let signal = options.signal()?;
            let record = client.query_face_record(&query, signal.clone()).await;
            reply(record, signal.as_ref())
        })
    }

    /// Signed start parameters for the FaceID app SDK, from a fresh NONCE ticket and nonce.
    #[wasm_bindgen(js_name = sdkSignature, unchecked_return_type = "Promise<SdkSignature>")]
    pub fn sdk_signature(
        &self,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        to_promise(async move {
            let user_id = UserId::new(string_argument(user_id, UserId::FIELD)?)?;
            reply(client.sdk_signature(&user_id).await, None)
        })
    }
}
