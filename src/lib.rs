//! Tencent Cloud FaceID (人脸核身) credentials and verifications from the edge.
//!
//! # What a caller uses
//!
//! | JS (the npm package) | Rust (wasm32) | what it does |
//! | --- | --- | --- |
//! | `new FaceIdClient(options)` | `FaceIdClient::new(ClientConfig)` | the credential chain of one WBappid: token, SIGN and NONCE tickets, SDK signatures, one verification |
//! | `fetchNonceTicket(options)` | `fetch_nonce_ticket` | one NONCE ticket with a token of your own |
//! | `sign(values)`, `nonceString()` | [`sign`], `nonce_string` | the FaceID signature, a nonce |
//! | `FaceIdError` (`kind`, details) | [`FaceIdError`], [`ErrorKind`] | every failure |
//!
//! The inputs are validated types ([`AppId`], [`UserId`], ...): one that exists is valid. The
//! verification flow's inputs and results are in [`verification`]; the requests, answer readers
//! and cache rules under the client are in [`protocol`]. `ARCHITECTURE.md` maps the crate.
//!
//! Everything but the fetch transport, the client and the JS bindings is pure and builds on any
//! target.

#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]

mod endpoint;
mod error;
mod params;
pub mod protocol;
mod redacted;
mod sign;
mod text;
pub mod verification;
#[cfg(target_arch = "wasm32")]
mod wasm;

// What a caller uses (wasm32: they need the platform's fetch).
pub use sign::sign;
#[cfg(target_arch = "wasm32")]
pub use wasm::{
    fetch_nonce_ticket, nonce_string, ClientConfig, FaceIdClient, LocalBoxFuture, RequestOptions,
    TokenOrigin, TokenSource,
};

// What it takes: validated parameters, the service's base URL, the one-off NONCE request.
pub use endpoint::{Endpoint, DEFAULT_ENDPOINT};
pub use params::{AccessToken, AppId, RefreshAfter, Retries, Secret, TimeoutMs, UserId, Version};
pub use protocol::NonceTicketRequest;

// What it answers.
pub use protocol::{Credential, Ticket};
pub use redacted::Redacted;
pub use sign::SdkSignature;

// How it fails.
pub use error::{ErrorKind, FaceIdError, HostCause};
