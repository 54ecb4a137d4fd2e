//! Tencent Cloud FaceID (人脸核身) credentials from the edge.
//!
//! The pure core (parameters, endpoint and URL building, answer parsing, the error type) builds
//! and tests on any target. The fetch transport and the JS bindings are compiled for wasm32 only.

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
mod json;
mod params;
mod protocol;
mod redacted;
mod text;

pub use endpoint::{Endpoint, DEFAULT_ENDPOINT};
pub use error::{ErrorKind, FaceIdError};
pub use json::{JsonKind, JsonView};
pub use params::{
    AccessToken, AppId, RefreshAfter, Retries, Secret, Text, TextRule, TimeoutMs, UserId, Version,
};
pub use protocol::{
    parse_access_token_answer, parse_ticket_answer, AccessTokenGrant, BodyBudget, Ticket,
    BODY_LIMIT, FILE_BODY_LIMIT,
};
pub use redacted::Redacted;
mod request;

pub use request::{
    AccessTokenRequest, FaceIdRequest, NonceTicketRequest, SignTicketRequest, ACCESS_TOKEN_PATH,
    API_TICKET_PATH,
};

#[cfg(target_arch = "wasm32")]
mod wasm;

#[cfg(target_arch = "wasm32")]
pub use wasm::{
    api::{fetch_access_token, fetch_nonce_ticket, fetch_sign_ticket, nonce_string, send},
    ClientConfig, FaceIdClient, LocalBoxFuture, RequestOptions, TokenOrigin, TokenSource,
};
mod sign;

#[cfg(all(test, not(target_arch = "wasm32")))]
mod fuzz;

pub use sign::{nonce_from, sign, SdkSignature, NONCE_LEN};
mod cache;

pub use cache::{
    backoff_delay_ms, within_token, CachedToken, CredentialCache, RetryDecision, SavedState,
    SignPlan, TokenPlan,
};

// One verification end to end: register the order (SIGN), build the H5 login URL (NONCE), verify
// the callback (current or previous SIGN ticket), query the result (SIGN).
mod verification;

pub use verification::{
    Callback, CallbackUrl, CallbackVerdict, FaceId, FaceIdRule, FaceRecord, FaceRecordQuery,
    FileChoice, H5Login, H5LoginUrl, IdNumber, IdNumberRule, LiveInterType, LoginFrom,
    OptimalDomain, OrderNo, OrderNoRule, PersonName, PersonNameRule, RegisterOrderRequest,
    RegisteredOrder, SourcePhoto, SourcePhotoType, FACE_RECORD_PATH, H5_LOGIN_PATH,
    REGISTER_ORDER_PATH,
};
