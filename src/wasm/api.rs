//! Single requests through the global `fetch`: the one a Rust caller with a token of its own
//! sends (a NONCE ticket), and the one every request of the client goes through.

use crate::error::FaceIdError;
use crate::protocol::{FaceIdRequest, NonceTicketRequest, Ticket};
use crate::sign::nonce_from;
use crate::wasm::sys;
use crate::wasm::transport::{self, HttpRequest, RequestOptions};

/// Sends a FaceID request through the global `fetch` and parses its answer. Credentials the
/// request carries are scrubbed from every error.
pub(crate) async fn send<R: FaceIdRequest>(
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

/// A 32-character nonce from the platform's `crypto.getRandomValues`.
pub fn nonce_string() -> Result<String, FaceIdError> {
    nonce_from(|buffer| sys::get_random_values(buffer).map(drop))
        .map_err(|thrown| sys::lacks("this platform has no crypto.getRandomValues", thrown))
}
