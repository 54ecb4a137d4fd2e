//! The lower level, under [`FaceIdClient`](crate#what-a-caller-uses): the credential requests and
//! how their answers read, the answer body's budget, the credential cache's rules, and the
//! machinery of the validated parameters. Pure: it builds and tests on any target and never
//! touches a JS host.
//!
//! Most callers never need it. It is public for tools that build their own transport, and for the
//! crate's property tests (`tests/fuzz.rs`), which drive these readers and rules directly.

mod answers;
mod body;
mod cache;
mod json;
mod requests;

pub use crate::params::{
    AccessTokenRule, AppIdRule, SecretRule, Text, TextRule, UserIdRule, VersionRule,
};
pub use crate::sign::{nonce_from, NONCE_LEN};
pub use answers::{parse_access_token_answer, parse_ticket_answer, Credential, Ticket};
pub use body::{BodyBudget, BODY_LIMIT, FILE_BODY_LIMIT};
pub use cache::{
    backoff_delay_ms, within_token, CachedToken, CredentialCache, RetryDecision, SavedState,
    SignPlan, TokenPlan, BACKOFF_FIRST_MS, BACKOFF_MAX_MS, EXPIRY_MARGIN_MS,
    FORCED_REFRESH_INTERVAL_MS,
};
#[cfg(feature = "serde_json")]
pub use json::parse_body;
pub use json::{JsonKind, JsonView};
pub use requests::{AccessTokenRequest, FaceIdRequest, NonceTicketRequest, SignTicketRequest};

pub(crate) use answers::{
    api_error, check_code, member_error, non_empty_string, optional_string, read_code,
};
