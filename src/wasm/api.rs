//! The async Rust API of single requests, for Rust callers on wasm32 (workers-rs and the like).

use crate::error::FaceIdError;
use crate::protocol::{AccessTokenGrant, Ticket};
use crate::request::{AccessTokenRequest, FaceIdRequest, NonceTicketRequest, SignTicketRequest};
use crate::sign::nonce_from;
use crate::wasm::sys;
use crate::wasm::transport::{self, HttpRequest, RequestOptions};

/// Sends a FaceID request through the global `fetch` and parses its answer. Credentials the
/// request carries are scrubbed from every error.
pub async fn send<R: FaceIdRequest>(
    request: &R,
    options: &RequestOptions,
) -> Result<R::Answer, FaceIdError> {
    let credential = request.credential();
    let url = request.url(&options.endpoint);
    let answer = transport::fetch_json(HttpRequest::get(&url), options, &[credential]).await?;
    R::read_answer(&answer.json, answer.sent_at_ms).map_err(|error| error.redact(&[credential]))
}

/// Fetches a fresh one-time NONCE ticket.
pub async fn fetch_nonce_ticket(
    request: &NonceTicketRequest,
    options: &RequestOptions,
) -> Result<Ticket, FaceIdError> {
    send(request, options).await
}

/// Fetches the SIGN ticket of an access token.
pub async fn fetch_sign_ticket(
    request: &SignTicketRequest,
    options: &RequestOptions,
) -> Result<Ticket, FaceIdError> {
    send(request, options).await
}

/// Fetches a new access token. This retires the app's previous token about a minute later:
/// prefer [`crate::FaceIdClient`], which caches it.
pub async fn fetch_access_token(
    request: &AccessTokenRequest,
    options: &RequestOptions,
) -> Result<AccessTokenGrant, FaceIdError> {
    send(request, options).await
}

/// A 32-character nonce from the platform's `crypto.getRandomValues`.
pub fn nonce_string() -> Result<String, FaceIdError> {
    nonce_from(|buffer| sys::get_random_values(buffer).map(drop)).map_err(|_| {
        FaceIdError::Network {
            detail: String::from("this platform has no crypto.getRandomValues"),
        }
    })
}
