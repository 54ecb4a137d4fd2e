//! `FaceIdClient`: the credential chain with its caching rules, for one WBappid.
//!
//! The rules live in [`CredentialCache`]; this adds the fetching and the single-flight: callers
//! that need a token (or SIGN ticket) while one is being fetched wait for that same request.

use crate::cache::{CredentialCache, RetryDecision, SavedState, TokenState};
use crate::endpoint::Endpoint;
use crate::error::FaceIdError;
use crate::params::{
    AccessToken, AppId, RefreshAfter, Retries, Secret, TimeoutMs, UserId, Version,
};
use crate::protocol::{AccessTokenGrant, Ticket};
use crate::request::{AccessTokenRequest, NonceTicketRequest, SignTicketRequest};
use crate::sign::SdkSignature;
use crate::wasm::api;
use crate::wasm::flight::Flight;
use crate::wasm::transport::{abortable, RequestOptions};
use serde::Serialize;
use std::cell::RefCell;
use std::future::Future;
use std::rc::{Rc, Weak};
use web_sys::AbortSignal;

/// A [`FaceIdClient`]'s settings.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// The WBappid.
    pub app_id: AppId,
    /// Its secret. Never leaves the client except in the access-token request.
    pub secret: Secret,
    /// The service's base URL.
    pub endpoint: Endpoint,
    /// The API version sent and signed.
    pub version: Version,
    /// The limit of each request, retries included.
    pub timeout: TimeoutMs,
    /// How often a transient failure is retried.
    pub retries: Retries,
    /// The token age that triggers a refresh.
    pub refresh_after: RefreshAfter,
}

impl ClientConfig {
    /// A configuration with the defaults: the documented endpoint, version `1.0.0`, 10 s
    /// requests with 2 retries, and a token refresh every 20 minutes.
    pub fn new(app_id: AppId, secret: Secret) -> Self {
        ClientConfig {
            app_id,
            secret,
            endpoint: Endpoint::default(),
            version: Version::default(),
            timeout: TimeoutMs::default(),
            retries: Retries::default(),
            refresh_after: RefreshAfter::default(),
        }
    }

    fn request_options(&self, signal: Option<AbortSignal>) -> RequestOptions {
        RequestOptions {
            endpoint: self.endpoint.clone(),
            timeout: self.timeout,
            signal,
            retries: self.retries,
        }
    }
}

/// A FaceID request in flight, shared by all who wait for it.
type Fetch<T> = Flight<Result<T, FaceIdError>>;

struct Inner {
    config: ClientConfig,
    cache: RefCell<CredentialCache>,
    token_flight: RefCell<Option<Fetch<AccessTokenGrant>>>,
    /// The SIGN-ticket request in flight and the token it was made with.
    sign_flight: RefCell<Option<(String, Fetch<Ticket>)>>,
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

impl FaceIdClient {
    /// A client with an empty cache.
    pub fn new(config: ClientConfig) -> Self {
        let cache = CredentialCache::new(config.refresh_after.as_millis());
        Self::with_cache(config, cache)
    }

    /// A client that resumes from [`FaceIdClient::export_state`], so a restarted process keeps
    /// using the token it had instead of minting one (which would retire the old one).
    pub fn import_state(config: ClientConfig, state: &str) -> Result<Self, FaceIdError> {
        let saved = js_sys::JSON::parse(state)
            .ok()
            .and_then(|json| SavedState::read(&json));
        let cache = CredentialCache::import(
            saved,
            config.app_id.as_str(),
            config.refresh_after.as_millis(),
        )?;
        Ok(Self::with_cache(config, cache))
    }

    fn with_cache(config: ClientConfig, cache: CredentialCache) -> Self {
        FaceIdClient {
            inner: Rc::new(Inner {
                config,
                cache: RefCell::new(cache),
                token_flight: RefCell::new(None),
                sign_flight: RefCell::new(None),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    /// The token, SIGN ticket and their timing as JSON; never the secret.
    pub fn export_state(&self) -> String {
        let saved = self
            .inner
            .cache
            .borrow()
            .export(self.inner.config.app_id.as_str());
        // JSON-compatible: absent values are written as `null`, so every key is always there.
        // Plain strings and numbers: serializing them cannot fail.
        saved
            .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
            .ok()
            .and_then(|value| js_sys::JSON::stringify(&value).ok())
            .and_then(|json| json.as_string())
            .unwrap_or_default()
    }

    /// The current access token, fetched only when there is none, when it is older than
    /// `refresh_after`, or when it expires within a minute. If a due refresh fails while the
    /// current token is still valid, that token is returned and the next call tries again.
    pub async fn access_token(&self) -> Result<AccessTokenGrant, FaceIdError> {
        let fallback = match self.inner.cache.borrow().token_state(now()) {
            TokenState::Fresh(token) => return Ok(token.grant.clone()),
            TokenState::Stale(token) => Some(token.grant.clone()),
            TokenState::Missing => None,
        };
        match (self.token_flight().await, fallback) {
            (Err(_), Some(grant)) if now() < grant.expires_at => Ok(grant),
            (result, _) => result,
        }
    }

    /// Tells the client that the service refused `token`, which a caller got from
    /// [`FaceIdClient::access_token`] and used elsewhere (say, a worker fetching NONCE tickets).
    /// Under the forced-refresh rule (token over a minute old, at most one forced refresh a
    /// minute) the token is replaced; either way, returns the token to use now.
    pub async fn token_rejected(&self, token: &str) -> Result<AccessTokenGrant, FaceIdError> {
        let now = now();
        self.inner.cache.borrow_mut().on_rejected_token(token, now);
        self.access_token().await
    }

    /// The SIGN ticket of the current token, cached with that token.
    pub async fn sign_ticket(&self) -> Result<Ticket, FaceIdError> {
        self.with_token(None, |token| self.sign_ticket_for(token))
            .await
    }

    /// A fresh one-time NONCE ticket for `user_id`; never cached.
    pub async fn nonce_ticket(
        &self,
        user_id: &UserId,
        signal: Option<AbortSignal>,
    ) -> Result<Ticket, FaceIdError> {
        let config = &self.inner.config;
        self.with_token(signal.as_ref(), |token| {
            let request = NonceTicketRequest {
                app_id: config.app_id.clone(),
                access_token: token,
                user_id: user_id.clone(),
                version: config.version.clone(),
            };
            let options = config.request_options(signal.clone());
            async move { api::fetch_nonce_ticket(&request, &options).await }
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

    /// Runs a ticket request with the current token. If the service refuses it (`api` error),
    /// the token may have been rotated by someone else: under the cache's forced-refresh rule,
    /// get a new token and retry once.
    async fn with_token<T, F, Fut>(
        &self,
        signal: Option<&AbortSignal>,
        attempt: F,
    ) -> Result<T, FaceIdError>
    where
        F: Fn(AccessToken) -> Fut,
        Fut: Future<Output = Result<T, FaceIdError>>,
    {
        let token = abortable(signal, self.access_token()).await?;
        let token_value = token.value.clone();
        let error = match attempt(as_access_token(token)?).await {
            Err(error @ FaceIdError::Api { .. }) => error,
            result => return result,
        };
        let decision = self
            .inner
            .cache
            .borrow_mut()
            .on_rejected_token(&token_value, now());
        if decision == RetryDecision::GiveUp {
            return Err(error);
        }
        let token = abortable(signal, self.access_token()).await?;
        attempt(as_access_token(token)?).await
    }

    async fn sign_ticket_for(&self, token: AccessToken) -> Result<Ticket, FaceIdError> {
        let cached = self
            .inner
            .cache
            .borrow()
            .sign_ticket(token.as_str(), now())
            .cloned();
        if let Some(ticket) = cached {
            return Ok(ticket);
        }
        let flight = {
            let mut slot = self.inner.sign_flight.borrow_mut();
            match &*slot {
                Some((flight_token, flight)) if flight_token == token.as_str() => flight.clone(),
                _ => {
                    let flight = self.start_sign_flight(token.clone());
                    *slot = Some((token.as_str().to_owned(), flight.clone()));
                    flight
                }
            }
        };
        flight.await
    }

    /// The access-token request in flight, started if there is none.
    fn token_flight(&self) -> Fetch<AccessTokenGrant> {
        let mut slot = self.inner.token_flight.borrow_mut();
        slot.get_or_insert_with(|| {
            let inner = Rc::downgrade(&self.inner);
            Flight::new(async move {
                let inner = upgrade(&inner)?;
                let config = &inner.config;
                let request = AccessTokenRequest {
                    app_id: config.app_id.clone(),
                    secret: config.secret.clone(),
                    version: config.version.clone(),
                };
                let result = api::fetch_access_token(&request, &config.request_options(None)).await;
                inner.token_flight.borrow_mut().take();
                if let Ok(grant) = &result {
                    let sent_at = grant.expires_at - f64::from(grant.expire_in) * 1000.0;
                    inner.cache.borrow_mut().store_token(grant.clone(), sent_at);
                }
                result
            })
        })
        .clone()
    }

    fn start_sign_flight(&self, token: AccessToken) -> Fetch<Ticket> {
        let inner = Rc::downgrade(&self.inner);
        Flight::new(async move {
            let inner = upgrade(&inner)?;
            let config = &inner.config;
            let request = SignTicketRequest {
                app_id: config.app_id.clone(),
                access_token: token,
                version: config.version.clone(),
            };
            let result = api::fetch_sign_ticket(&request, &config.request_options(None)).await;
            let token = request.access_token.as_str();
            let mut slot = inner.sign_flight.borrow_mut();
            if slot
                .as_ref()
                .is_some_and(|(flight_token, _)| flight_token == token)
            {
                *slot = None;
            }
            if let Ok(ticket) = &result {
                inner
                    .cache
                    .borrow_mut()
                    .store_sign_ticket(token, ticket.clone());
            }
            result
        })
    }
}

/// A request in flight holds its client weakly, so a dropped client is not kept alive by it.
fn upgrade(inner: &Weak<Inner>) -> Result<Rc<Inner>, FaceIdError> {
    inner.upgrade().ok_or(FaceIdError::Aborted)
}

/// The service's token as a request parameter; one that breaks the parameter rules is a
/// broken answer, not the caller's mistake.
fn as_access_token(grant: AccessTokenGrant) -> Result<AccessToken, FaceIdError> {
    AccessToken::new(grant.value).map_err(|_| {
        FaceIdError::bad_response("the access token is not 1-64 visible ASCII characters")
    })
}
