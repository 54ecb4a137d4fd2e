//! The async Rust API of single requests, for Rust callers on wasm32 (workers-rs and the like).

use crate::error::FaceIdError;
use crate::protocol::{
    parse_access_token_response, parse_ticket_response, AccessTokenGrant, Ticket,
};
use crate::request::{AccessTokenRequest, NonceTicketRequest, SignTicketRequest};
use crate::sign::nonce_from;
use crate::wasm::sys;
use crate::wasm::transport::{self, RequestOptions};

/// Fetches a fresh one-time NONCE ticket through the global `fetch`.
pub async fn fetch_nonce_ticket(
    request: &NonceTicketRequest,
    options: &RequestOptions,
) -> Result<Ticket, FaceIdError> {
    let url = request.url(&options.endpoint);
    get_parsed(
        &url,
        options,
        request.access_token.as_str(),
        parse_ticket_response,
    )
    .await
}

/// Fetches the SIGN ticket of an access token.
pub async fn fetch_sign_ticket(
    request: &SignTicketRequest,
    options: &RequestOptions,
) -> Result<Ticket, FaceIdError> {
    let url = request.url(&options.endpoint);
    get_parsed(
        &url,
        options,
        request.access_token.as_str(),
        parse_ticket_response,
    )
    .await
}

/// Fetches a new access token. This retires the app's previous token about a minute later:
/// prefer [`crate::FaceIdClient`], which caches it.
pub async fn fetch_access_token(
    request: &AccessTokenRequest,
    options: &RequestOptions,
) -> Result<AccessTokenGrant, FaceIdError> {
    let url = request.url(&options.endpoint);
    get_parsed(
        &url,
        options,
        request.secret.as_str(),
        parse_access_token_response,
    )
    .await
}

/// GETs `url`, whose query carries `credential`, and parses the answer.
async fn get_parsed<T>(
    url: &str,
    options: &RequestOptions,
    credential: &str,
    parse: fn(&[u8], f64) -> Result<T, FaceIdError>,
) -> Result<T, FaceIdError> {
    let answer = transport::get(url, options, &[credential]).await?;
    parse(&answer.body, answer.sent_at_ms).map_err(|error| error.redact(&[credential]))
}

/// A 32-character nonce from the platform's `crypto.getRandomValues`.
pub fn nonce_string() -> Result<String, FaceIdError> {
    nonce_from(|buffer| sys::get_random_values(buffer).map(drop)).map_err(|_| {
        FaceIdError::Network {
            detail: String::from("this platform has no crypto.getRandomValues"),
        }
    })
}
