//! `FaceIdClient`: the credential chain with its caching rules, for one WBappid.
//!
//! The rules live in [`CredentialCache`]; this adds the fetching and the single flight: callers
//! that need a token (or SIGN ticket) while one is being fetched wait for that same request, or
//! use the current one when it is still valid. A client that takes its token from an owner
//! elsewhere ([`TokenSource`]) shares no request in flight between callers: in a stateless
//! Workers isolate one request may not wait on another's I/O.

use crate::endpoint::Endpoint;
use crate::error::FaceIdError;
use crate::params::{
    AccessToken, AppId, RefreshAfter, Retries, Secret, TimeoutMs, UserId, Version,
};
use crate::protocol::{
    within_token, AccessTokenRequest, Credential, CredentialCache, NonceTicketRequest,
    RetryDecision, SavedState, SignPlan, SignTicketRequest, Ticket, TokenPlan, BODY_LIMIT,
};
use crate::redacted::Redacted;
use crate::sign::SdkSignature;
use crate::verification::{
    Callback, CallbackVerdict, FaceRecord, FaceRecordQuery, H5Login, H5LoginUrl,
    RegisterOrderRequest, RegisteredOrder,
};
use crate::wasm::api;
use crate::wasm::flight::FlightSlot;
use crate::wasm::transport::{abortable, fetch_json, HttpRequest, RequestOptions};
use serde::Serialize;
use std::cell::{RefCell, RefMut};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use wasm_bindgen::JsValue;
use web_sys::AbortSignal;

/// A future that borrows from its source and stays on this thread.
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// The owner of a WBappid's access token, when this client is not: say, the Durable Object that
/// mints and refreshes the token for a whole fleet of Workers isolates.
pub trait TokenSource {
    /// The token to use now.
    fn token(&self) -> LocalBoxFuture<'_, Result<Credential, FaceIdError>>;

    /// The service refused `token`: the token to use now, which is `token` itself when the
    /// owner keeps it (its forced-refresh rule allows at most one replacement a minute).
    fn rejected<'a>(
        &'a self,
        token: &'a str,
    ) -> LocalBoxFuture<'a, Result<Credential, FaceIdError>>;
}

/// Where a client's access token comes from.
#[derive(Clone)]
pub enum TokenOrigin {
    /// Minted by this client from the WBappid's secret: this client owns the token.
    Secret(Secret),
    /// Asked of an owner elsewhere.
    Source(Rc<dyn TokenSource>),
}

impl std::fmt::Debug for TokenOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenOrigin::Secret(secret) => f.debug_tuple("Secret").field(secret).finish(),
            TokenOrigin::Source(_) => f.write_str("Source(..)"),
        }
    }
}

/// How long a client reuses a token from its [`TokenSource`] before asking again: well inside
/// the service's one-minute overlap after a rotation by the owner.
const SOURCE_TOKEN_REUSE_MS: f64 = 30_000.0;

/// A [`FaceIdClient`]'s settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The WBappid.
    pub app_id: AppId,
    /// Where the access token comes from.
    pub tokens: TokenOrigin,
    /// The service's base URL.
    pub endpoint: Endpoint,
    /// The API version sent and signed.
    pub version: Version,
    /// The limit of each request, its retries included.
    pub timeout: TimeoutMs,
    /// How often a quick failure of a ticket request is retried; token requests never are.
    pub retries: Retries,
    /// The token age that triggers a refresh (token owners only).
    pub refresh_after: RefreshAfter,
}

impl ClientConfig {
    /// A configuration that owns the token, with the defaults: the documented endpoint, version
    /// `1.0.0`, 10 s requests with 2 retries, and a token refresh every 20 minutes.
    pub fn new(app_id: AppId, secret: Secret) -> Self {
        Self::with_origin(app_id, TokenOrigin::Secret(secret))
    }

    /// A configuration that takes the token from `source`, with the same defaults.
    pub fn with_token_source(app_id: AppId, source: Rc<dyn TokenSource>) -> Self {
        Self::with_origin(app_id, TokenOrigin::Source(source))
    }

    fn with_origin(app_id: AppId, tokens: TokenOrigin) -> Self {
        ClientConfig {
            app_id,
            tokens,
            endpoint: Endpoint::default(),
            version: Version::default(),
            timeout: TimeoutMs::default(),
            retries: Retries::default(),
            refresh_after: RefreshAfter::default(),
        }
    }

    fn request_options(&self, signal: Option<AbortSignal>, retries: Retries) -> RequestOptions {
        RequestOptions {
            endpoint: self.endpoint.clone(),
            timeout: self.timeout,
            signal,
            retries,
        }
    }

    /// The token age after which the cache asks for a new one.
    fn reuse_ms(&self) -> f64 {
        match self.tokens {
            TokenOrigin::Secret(_) => self.refresh_after.as_millis(),
            TokenOrigin::Source(_) => SOURCE_TOKEN_REUSE_MS,
        }
    }
}

struct Inner {
    config: ClientConfig,
    /// Shared with the requests in flight, which store what they fetch.
    cache: Rc<RefCell<CredentialCache>>,
    /// The access-token request in flight: at most one.
    token_flight: Rc<FlightSlot<(), Result<Credential, FaceIdError>>>,
    /// The SIGN-ticket request in flight, keyed by its token. Its waiters also learn whether it
    /// refused the token.
    sign_flight: Rc<FlightSlot<Redacted, Result<Ticket, TicketFailure>>>,
}

impl Inner {
    fn cache(&self) -> RefMut<'_, CredentialCache> {
        self.cache.borrow_mut()
    }
}

/// A server call signed with the SIGN ticket: where it goes and what it may cost.
struct SignedPost<'a> {
    url: &'a str,
    body_limit: usize,
    /// Retries after quick failures: none for a call that creates something at the service.
    retries: Retries,
    /// What the service's `msg` must not echo back into an error.
    personal_data: &'a [&'a str],
}

/// A ticket request's failure, and whether the service has just refused the token with it (a
/// failure remembered from earlier is not a new refusal, and forces nothing).
#[derive(Clone)]
struct TicketFailure {
    error: FaceIdError,
    token_refused: bool,
}

impl From<FaceIdError> for TicketFailure {
    fn from(error: FaceIdError) -> Self {
        let token_refused = matches!(error, FaceIdError::Api { .. });
        TicketFailure {
            error,
            token_refused,
        }
    }
}

/// The credential chain of one WBappid: a cached access token and SIGN ticket, fresh NONCE
/// tickets and SDK signatures. Clones share one cache. Keep one client per WBappid and process:
/// every new token retires the previous one about a minute later.
#[derive(Clone)]
pub struct FaceIdClient {
    inner: Rc<Inner>,
}

impl std::fmt::Debug for FaceIdClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceIdClient")
            .field("app_id", &self.inner.config.app_id)
            .field("endpoint", &self.inner.config.endpoint)
            .finish_non_exhaustive()
    }
}

fn now() -> f64 {
    js_sys::Date::now()
}

fn random() -> f64 {
    js_sys::Math::random()
}

impl FaceIdClient {
    /// A client with an empty cache.
    pub fn new(config: ClientConfig) -> Self {
        let cache = CredentialCache::new(config.reuse_ms());
        Self::with_cache(config, cache)
    }

    /// A client that resumes from [`FaceIdClient::export_state`], so a restarted process keeps
    /// using the token it had instead of minting one (which would retire the old one). A state
    /// that cannot be right (see `CredentialCache::import`) is refused with `invalid_argument`.
    pub fn import_state(config: ClientConfig, state: &str) -> Result<Self, FaceIdError> {
        let saved = js_sys::JSON::parse(state)
            .ok()
            .and_then(|json| SavedState::read(&json));
        let cache =
            CredentialCache::import(saved, config.app_id.as_str(), config.reuse_ms(), now())?;
        Ok(Self::with_cache(config, cache))
    }

    fn with_cache(config: ClientConfig, cache: CredentialCache) -> Self {
        FaceIdClient {
            inner: Rc::new(Inner {
                config,
                cache: Rc::new(RefCell::new(cache)),
                token_flight: FlightSlot::new(),
                sign_flight: FlightSlot::new(),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The token, SIGN ticket and their timing as JSON; never the secret.
    pub fn export_state(&self) -> String {
        let saved = self.inner.cache().export(self.inner.config.app_id.as_str());
        // JSON-compatible: absent values are written as `null`, so every key is always there.
        // Plain strings and numbers: serializing them cannot fail.
        saved
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .ok()
            .and_then(|value| js_sys::JSON::stringify(&value).ok())
            .and_then(|json| json.as_string())
            .unwrap_or_default()
    }

    /// When this client will next request a token if asked (ms since the epoch): when the
    /// current one is due, or when the wait after a failed token request ends, whichever is
    /// later; now when one is due now. A token owner arms its refresh timer for this time.
    pub fn next_refresh_at(&self) -> f64 {
        self.inner.cache().next_refresh_at(now())
    }

    /// The current access token. A new one is requested only when there is none or the current
    /// one is due (older than `refresh_after`, expiring within a minute, or refused): the first
    /// caller starts the one request and waits for it, every other caller uses the current token
    /// at once. If the request fails, the current token is used until it expires, and no token
    /// request is sent for a while (1 s after one failure, doubling up to 60 s); without a
    /// token, calls meanwhile fail at once with that failure and its `retry_after_ms`.
    pub async fn access_token(&self) -> Result<Credential, FaceIdError> {
        let in_flight = self.inner.token_flight.is_busy();
        let plan = self.inner.cache().plan_token(now(), in_flight);
        match plan {
            TokenPlan::Use(grant) => Ok(grant),
            TokenPlan::Fail(error) => Err(error),
            TokenPlan::Refresh { fallback } => match (self.refresh_token().await, fallback) {
                (Err(_), Some(grant)) if now() < grant.expires_at => Ok(grant),
                (result, _) => result,
            },
        }
    }

    /// Tells the client that the service refused `token`, which a caller got from
    /// [`FaceIdClient::access_token`] and used elsewhere (say, a Workers isolate fetching NONCE
    /// tickets). Under the forced-refresh rule (token over a minute old, at most one forced
    /// refresh a minute, none while token requests wait out a failure) the token is replaced;
    /// until its replacement arrives it stays in use. Returns the token to use now.
    pub async fn token_rejected(&self, token: &str) -> Result<Credential, FaceIdError> {
        if let TokenOrigin::Source(source) = &self.inner.config.tokens {
            let requested_at = now();
            let grant = source.rejected(token).await?;
            self.inner.cache().store_token(grant.clone(), requested_at);
            return Ok(grant);
        }
        let decision = self.inner.cache().on_rejected_token(token, now());
        if decision == RetryDecision::RetryAfterRefresh {
            if let Ok(grant) = self.refresh_token().await {
                return Ok(grant);
            }
        }
        self.access_token().await
    }

    /// The SIGN ticket of the current token, cached with that token and never outliving it.
    pub async fn sign_ticket(&self) -> Result<Ticket, FaceIdError> {
        self.with_token(None, |token| self.sign_ticket_for(token))
            .await
    }

    /// A fresh one-time NONCE ticket for `user_id`, never cached. Its `expires_at` is never
    /// later than its token's.
    pub async fn nonce_ticket(
        &self,
        user_id: &UserId,
        signal: Option<AbortSignal>,
    ) -> Result<Ticket, FaceIdError> {
        let config = &self.inner.config;
        self.with_token(signal.as_ref(), |token| {
            let signal = signal.clone();
            async move {
                let request = NonceTicketRequest {
                    app_id: config.app_id.clone(),
                    access_token: as_access_token(&token)?,
                    user_id: user_id.clone(),
                    version: config.version.clone(),
                };
                let options = config.request_options(signal, config.retries);
                let ticket = api::fetch_nonce_ticket(&request, &options).await?;
                Ok(within_token(ticket, &token))
            }
        })
        .await
    }

    /// What the front end needs to start the app SDK for `user_id`: a fresh NONCE ticket, a fresh
    /// nonce, and their signature. The ticket itself is not returned.
    pub async fn sdk_signature(&self, user_id: &UserId) -> Result<SdkSignature, FaceIdError> {
        let ticket = self.nonce_ticket(user_id, None).await?;
        let config = &self.inner.config;
        Ok(SdkSignature::new(
            config.app_id.as_str(),
            user_id.as_str(),
            config.version.as_str(),
            api::nonce_string()?,
            &ticket.value,
            ticket.expires_at,
        ))
    }

    /// Registers a verification order with the person's name and ID number, signed with the
    /// SIGN ticket. Never retried (the order would exist twice) except after a refused token;
    /// the personal data is sent and then forgotten, and scrubbed from any error.
    pub async fn register_order(
        &self,
        order: &RegisterOrderRequest,
        signal: Option<AbortSignal>,
    ) -> Result<RegisteredOrder, FaceIdError> {
        let endpoint = &self.inner.config.endpoint;
        let call = SignedPost {
            url: &order.url(endpoint),
            body_limit: BODY_LIMIT,
            retries: Retries::NONE,
            personal_data: &order.personal_data(),
        };
        let body = |nonce: &str, ticket: &str| order.body(nonce, ticket);
        let read = |json: &JsValue| order.read_answer(json, endpoint);
        self.post_signed(call, signal.as_ref(), body, read).await
    }

    /// The signed H5 login URL of a registered order: a fresh NONCE ticket fetched for the
    /// order's user. It expires with that ticket.
    pub async fn h5_login_url(
        &self,
        login: &H5Login,
        signal: Option<AbortSignal>,
    ) -> Result<H5LoginUrl, FaceIdError> {
        let ticket = self.nonce_ticket(&login.user_id, signal).await?;
        let endpoint = &self.inner.config.endpoint;
        Ok(login.signed_url(endpoint, &api::nonce_string()?, &ticket))
    }

    /// Checks that a callback came from the service: its `newSign` against the current and the
    /// previous SIGN ticket (a refresh may fall between the start and the return). A forged or
    /// stale callback is `verified: false`; only a SIGN ticket that cannot be had is an error.
    pub async fn verify_callback(
        &self,
        callback: &Callback,
    ) -> Result<CallbackVerdict, FaceIdError> {
        let current = self.sign_ticket().await?;
        let previous = self.inner.cache().previous_sign_ticket(now()).cloned();
        let tickets = [
            current.value.as_str(),
            previous.as_ref().map_or("", |ticket| ticket.value.as_str()),
        ];
        Ok(callback.verify(&self.inner.config.app_id, &tickets))
    }

    /// The result of a verification, signed with the SIGN ticket; with files, the answer may be
    /// up to 16 MiB. The files are handed over, never kept.
    pub async fn query_face_record(
        &self,
        query: &FaceRecordQuery,
        signal: Option<AbortSignal>,
    ) -> Result<FaceRecord, FaceIdError> {
        let config = &self.inner.config;
        let call = SignedPost {
            url: &query.url(&config.endpoint),
            body_limit: query.body_limit(),
            retries: config.retries,
            personal_data: &[],
        };
        let body = |nonce: &str, ticket: &str| query.body(nonce, ticket);
        let read = |json: &JsValue| query.read_answer(json);
        self.post_signed(call, signal.as_ref(), body, read).await
    }

    /// POSTs the body that `body(nonce, SIGN ticket)` signs, under the same refusal rule as the
    /// ticket requests (see [`Self::with_token`]), and reads the answer. The ticket and the
    /// call's personal data are scrubbed from every error.
    async fn post_signed<T>(
        &self,
        call: SignedPost<'_>,
        signal: Option<&AbortSignal>,
        body: impl Fn(&str, &str) -> String,
        read: impl Fn(&JsValue) -> Result<T, FaceIdError>,
    ) -> Result<T, FaceIdError> {
        let (call, body, read) = (&call, &body, &read);
        self.with_token(signal, |token| async move {
            let ticket = self.sign_ticket_for(token).await?;
            let body = body(&api::nonce_string()?, &ticket.value);
            let request = HttpRequest {
                url: call.url,
                json_body: Some(&body),
                body_limit: call.body_limit,
            };
            let options = self
                .inner
                .config
                .request_options(signal.cloned(), call.retries);
            let mut sensitive = vec![ticket.value.as_str()];
            sensitive.extend_from_slice(call.personal_data);
            let answer = fetch_json(request, &options, &sensitive).await?;
            read(&answer.json).map_err(|error| TicketFailure::from(error.redact(&sensitive)))
        })
        .await
    }

    /// Runs a ticket request with the current token. If the service refuses the token, it may
    /// have been rotated by someone else: under the forced-refresh rule, wait for a new token
    /// and retry once. If no new token can be had, the refusal is the answer.
    async fn with_token<T, F, Fut>(
        &self,
        signal: Option<&AbortSignal>,
        attempt: F,
    ) -> Result<T, FaceIdError>
    where
        F: Fn(Credential) -> Fut,
        Fut: Future<Output = Result<T, TicketFailure>>,
    {
        let token = abortable(signal, self.access_token()).await?;
        let refusal = match attempt(token.clone()).await {
            Err(failure) if failure.token_refused => failure.error,
            result => return result.map_err(|failure| failure.error),
        };
        let next = match &self.inner.config.tokens {
            TokenOrigin::Source(_) => abortable(signal, self.token_rejected(&token.value)).await,
            TokenOrigin::Secret(_) => {
                let decision = self.inner.cache().on_rejected_token(&token.value, now());
                match decision {
                    RetryDecision::GiveUp => return Err(refusal),
                    RetryDecision::RetryWithCurrent => abortable(signal, self.access_token()).await,
                    RetryDecision::RetryAfterRefresh => {
                        abortable(signal, self.refresh_token()).await
                    }
                }
            }
        };
        match next {
            Ok(next) if next.value != token.value => {
                attempt(next).await.map_err(|failure| failure.error)
            }
            Err(FaceIdError::Aborted) => Err(FaceIdError::Aborted),
            // No other token to be had: the refusal is the answer, not why there was none.
            _ => Err(refusal),
        }
    }

    /// A new token: from the one token request (started if none is in flight), or from the
    /// source.
    async fn refresh_token(&self) -> Result<Credential, FaceIdError> {
        match &self.inner.config.tokens {
            TokenOrigin::Secret(secret) => self.token_flight(secret).await,
            TokenOrigin::Source(source) => {
                let requested_at = now();
                let grant = source.token().await?;
                self.inner.cache().store_token(grant.clone(), requested_at);
                Ok(grant)
            }
        }
    }

    async fn sign_ticket_for(&self, token: Credential) -> Result<Ticket, TicketFailure> {
        let plan = self.inner.cache().plan_sign_ticket(&token.value, now());
        match plan {
            SignPlan::Use(ticket) => return Ok(ticket),
            SignPlan::Fail(remembered) => {
                return Err(TicketFailure {
                    error: remembered,
                    token_refused: false,
                })
            }
            SignPlan::Fetch => {}
        }
        match self.inner.config.tokens {
            TokenOrigin::Source(_) => self.sign_ticket_request(token).await,
            TokenOrigin::Secret(_) => {
                let key = token.value.clone();
                let slot = &self.inner.sign_flight;
                slot.join_or_start(key, || self.sign_ticket_request(token))
                    .await
            }
        }
    }

    /// The access-token request in flight, started if there is none. Never retried: every
    /// token request that reaches the service mints a token and retires the previous one.
    async fn token_flight(&self, secret: &Secret) -> Result<Credential, FaceIdError> {
        let config = &self.inner.config;
        let start = || {
            let request = AccessTokenRequest {
                app_id: config.app_id.clone(),
                secret: secret.clone(),
                version: config.version.clone(),
            };
            let options = config.request_options(None, Retries::NONE);
            let cache = Rc::clone(&self.inner.cache);
            async move {
                let result = api::send(&request, &options).await;
                let mut cache = cache.borrow_mut();
                match result {
                    Ok(grant) => {
                        let sent_at = grant.expires_at - f64::from(grant.expire_in) * 1000.0;
                        cache.store_token(grant.clone(), sent_at);
                        Ok(grant)
                    }
                    Err(error) => Err(cache.token_failed(error, now(), random())),
                }
            }
        };
        self.inner.token_flight.join_or_start((), start).await
    }

    /// Requests the SIGN ticket of `token` and caches it, or remembers the failure (per token).
    fn sign_ticket_request(
        &self,
        token: Credential,
    ) -> impl Future<Output = Result<Ticket, TicketFailure>> + 'static {
        let config = &self.inner.config;
        let request = as_access_token(&token).map(|access_token| SignTicketRequest {
            app_id: config.app_id.clone(),
            access_token,
            version: config.version.clone(),
        });
        let options = config.request_options(None, config.retries);
        let cache = Rc::clone(&self.inner.cache);
        async move {
            match api::send(&request?, &options).await {
                Ok(ticket) => {
                    let ticket = within_token(ticket, &token);
                    cache
                        .borrow_mut()
                        .store_sign_ticket(&token.value, ticket.clone());
                    Ok(ticket)
                }
                Err(error) => {
                    let token_refused = matches!(error, FaceIdError::Api { .. });
                    let error =
                        cache
                            .borrow_mut()
                            .sign_ticket_failed(&token.value, error, now(), random());
                    Err(TicketFailure {
                        error,
                        token_refused,
                    })
                }
            }
        }
    }
}

/// The token as a request parameter. Tokens are checked when they arrive, so this only fails
/// for one that broke the rule on its way through a [`TokenSource`].
fn as_access_token(grant: &Credential) -> Result<AccessToken, FaceIdError> {
    AccessToken::new(grant.value.clone()).map_err(|_| {
        FaceIdError::bad_response("the access token is not 1-128 visible ASCII characters")
    })
}
