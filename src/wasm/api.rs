//! The async Rust API, for Rust callers on wasm32 (workers-rs and the like).

use crate::error::FaceIdError;
use crate::protocol::{parse_ticket_response, Ticket};
use crate::request::NonceTicketRequest;
use crate::wasm::transport::{self, RequestOptions};

/// Fetches a fresh one-time NONCE ticket through the global `fetch`.
pub async fn fetch_nonce_ticket(
    request: &NonceTicketRequest,
    options: &RequestOptions,
) -> Result<Ticket, FaceIdError> {
    let url = request.url(&options.endpoint);
    let answer = transport::get(&url, options, &[request.access_token.as_str()]).await?;
    parse_ticket_response(&answer.body, answer.sent_at_ms)
}
