//! The crate's one error type.
//!
//! Every failure, from a bad argument to a dropped connection, is a [`FaceIdError`] with a stable
//! [`ErrorKind`]. Messages are written for people and never carry a secret, access token or ticket:
//! variants hold only field names, codes, statuses and the service's own `msg`.
//!
//! [`ErrorKind::ALL`] is the table of kinds: the TypeScript declarations, the README and the
//! worker's status map are checked against it (`tests/contracts.rs`).

use crate::redacted::REDACTED;
use crate::text::{decimal, percent_encode, replace_all};
use std::fmt;

/// The stable, machine-readable class of a [`FaceIdError`]; reaches JS as `error.kind`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An argument broke a validation rule; no request was sent.
    InvalidArgument,
    /// The service answered with a non-zero `code`.
    Api,
    /// The service answered with a non-2xx HTTP status.
    Http,
    /// The request did not complete (connection refused, reset, DNS, CORS, ...), or could not be
    /// made: the JS host failed the call (see [`FaceIdError::Host`]).
    Network,
    /// The whole request took longer than its `timeoutMs`.
    Timeout,
    /// The caller's `AbortSignal` fired.
    Aborted,
    /// The service answered 2xx with a body that is not a usable answer.
    BadResponse,
}

impl ErrorKind {
    /// Every kind, in the order the documentation lists them.
    pub const ALL: [ErrorKind; 7] = [
        ErrorKind::InvalidArgument,
        ErrorKind::Api,
        ErrorKind::Http,
        ErrorKind::Network,
        ErrorKind::Timeout,
        ErrorKind::Aborted,
        ErrorKind::BadResponse,
    ];

    /// The kind as JS sees it, e.g. `"invalid_argument"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::Api => "api",
            ErrorKind::Http => "http",
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Aborted => "aborted",
            ErrorKind::BadResponse => "bad_response",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a FaceID call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaceIdError {
    /// `field` (its JS option name, e.g. `"userId"`) breaks `rule`.
    InvalidArgument {
        /// The option's name as JS spells it.
        field: &'static str,
        /// The rule it breaks, e.g. "must be 1-30 characters from A-Z a-z 0-9 _ -".
        rule: &'static str,
    },
    /// The service refused the request.
    Api {
        /// The service's `code`, as a string even when it was sent as a number.
        code: String,
        /// The service's `msg` (often Chinese).
        msg: String,
        /// The service's `transactionTime`, when it sent one.
        transaction_time: Option<String>,
    },
    /// A non-2xx HTTP status.
    Http {
        /// The HTTP status code.
        status: u16,
    },
    /// The request failed in transit.
    Network {
        /// What the platform reported, with credentials removed.
        detail: String,
    },
    /// The JS host failed the call: the platform lacks what it needs (`AbortController`,
    /// `TextDecoder`, `crypto.getRandomValues`), the caller's token source failed, or a result
    /// could not be represented in JS. Its kind is [`ErrorKind::Network`]: the request could not
    /// be made, or its answer not handed over.
    Host {
        /// What failed, e.g. "this platform has no AbortController".
        detail: String,
        /// What the host threw or rejected with.
        cause: HostCause,
    },
    /// The request took longer than `timeout_ms`.
    Timeout {
        /// The limit that was exceeded, in milliseconds.
        timeout_ms: u32,
    },
    /// The caller aborted the request.
    Aborted,
    /// The body could not be used; `reason` says why.
    BadResponse {
        /// What was wrong with the body.
        reason: String,
    },
    /// A request failed recently and the client is waiting before it sends another: this is
    /// that failure again, with the time left. Its kind is the failure's kind.
    BackingOff {
        /// The failure that started (or extended) the wait.
        cause: Box<FaceIdError>,
        /// Milliseconds until the client may send the request again.
        retry_after_ms: u32,
    },
}

impl FaceIdError {
    /// The error's stable class.
    pub const fn kind(&self) -> ErrorKind {
        match self {
            FaceIdError::InvalidArgument { .. } => ErrorKind::InvalidArgument,
            FaceIdError::Api { .. } => ErrorKind::Api,
            FaceIdError::Http { .. } => ErrorKind::Http,
            FaceIdError::Network { .. } | FaceIdError::Host { .. } => ErrorKind::Network,
            FaceIdError::Timeout { .. } => ErrorKind::Timeout,
            FaceIdError::Aborted => ErrorKind::Aborted,
            FaceIdError::BadResponse { .. } => ErrorKind::BadResponse,
            FaceIdError::BackingOff { cause, .. } => cause.kind(),
        }
    }

    /// The failure itself: the same error, unless this is a [`FaceIdError::BackingOff`].
    pub fn cause(&self) -> &FaceIdError {
        match self {
            FaceIdError::BackingOff { cause, .. } => cause.cause(),
            other => other,
        }
    }

    /// Milliseconds until the client sends the failed request again, when it is backing off.
    pub fn retry_after_ms(&self) -> Option<u32> {
        match self {
            FaceIdError::BackingOff { retry_after_ms, .. } => Some(*retry_after_ms),
            _ => None,
        }
    }

    /// This failure, to be answered again for `retry_after_ms` (see [`FaceIdError::BackingOff`]).
    pub(crate) fn backing_off(&self, retry_after_ms: f64) -> FaceIdError {
        FaceIdError::BackingOff {
            cause: Box::new(self.cause().clone()),
            // Whole milliseconds, rounded up: never an invitation to come back too early.
            retry_after_ms: retry_after_ms.max(0.0).ceil().min(f64::from(u32::MAX)) as u32,
        }
    }

    /// The same error with every occurrence of `credentials` (raw or percent-encoded) replaced by
    /// `<redacted>` in the texts that come from outside: the service's `msg` may echo a
    /// parameter, and a platform's network message may quote the URL.
    pub fn redact(self, credentials: &[&str]) -> Self {
        match self {
            FaceIdError::Api {
                code,
                msg,
                transaction_time,
            } => FaceIdError::Api {
                code,
                msg: redact_text(msg, credentials),
                transaction_time,
            },
            FaceIdError::Network { detail } => FaceIdError::Network {
                detail: redact_text(detail, credentials),
            },
            FaceIdError::Host { detail, cause } => FaceIdError::Host {
                detail: redact_text(detail, credentials),
                cause,
            },
            FaceIdError::BackingOff {
                cause,
                retry_after_ms,
            } => FaceIdError::BackingOff {
                cause: Box::new(cause.redact(credentials)),
                retry_after_ms,
            },
            other => other,
        }
    }

    pub(crate) fn bad_response(reason: impl Into<String>) -> Self {
        FaceIdError::BadResponse {
            reason: reason.into(),
        }
    }
}

impl FaceIdError {
    /// The message for people, as `Display` writes it. Joined from its pieces rather than
    /// formatted: the .wasm then carries no `core::fmt`.
    pub fn message(&self) -> String {
        match self {
            FaceIdError::InvalidArgument { field, rule } => {
                ["invalid argument: ", field, " ", rule].concat()
            }
            FaceIdError::Api { code, msg, .. } => {
                ["FaceID refused the request: code ", code, ": ", msg].concat()
            }
            FaceIdError::Http { status } => {
                ["FaceID answered HTTP ", &decimal((*status).into())].concat()
            }
            FaceIdError::Network { detail } => ["could not reach FaceID: ", detail].concat(),
            FaceIdError::Host { detail, .. } => detail.clone(),
            FaceIdError::Timeout { timeout_ms } => [
                "FaceID did not answer within ",
                &decimal((*timeout_ms).into()),
                " ms",
            ]
            .concat(),
            FaceIdError::Aborted => String::from("the request was aborted by its signal"),
            FaceIdError::BadResponse { reason } => {
                ["FaceID sent an unusable response: ", reason].concat()
            }
            FaceIdError::BackingOff {
                cause,
                retry_after_ms,
            } => [
                &cause.message(),
                " (not asked again for ",
                &decimal((*retry_after_ms).into()),
                " ms)",
            ]
            .concat(),
        }
    }
}

impl fmt::Display for FaceIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for FaceIdError {}

/// What the JS host threw or rejected with, kept so that JS callers see it as `Error.cause`.
/// Opaque to Rust: never printed, and not part of what an error says, so two errors that differ
/// only in their cause are equal. On other targets it holds nothing.
#[derive(Clone, Default)]
pub struct HostCause {
    #[cfg(target_arch = "wasm32")]
    value: Option<std::rc::Rc<dyn std::any::Any>>,
}

impl HostCause {
    /// Keeps `value`, which the JS layer reads back with [`HostCause::get`].
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn new<T: 'static>(value: T) -> Self {
        HostCause {
            value: Some(std::rc::Rc::new(value)),
        }
    }

    /// The value kept, if it is a `T`.
    #[cfg(target_arch = "wasm32")]
    pub(crate) fn get<T: 'static>(&self) -> Option<&T> {
        self.value.as_deref()?.downcast_ref()
    }
}

impl PartialEq for HostCause {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for HostCause {}

impl fmt::Debug for HostCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HostCause")
    }
}

fn redact_text(mut text: String, credentials: &[&str]) -> String {
    for credential in credentials
        .iter()
        .filter(|credential| !credential.is_empty())
    {
        text = replace_all(&text, credential, REDACTED);
        text = replace_all(&text, &percent_encode(credential), REDACTED);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_their_documented_names() {
        let cases = [
            (
                FaceIdError::InvalidArgument {
                    field: "userId",
                    rule: "r",
                },
                "invalid_argument",
            ),
            (
                FaceIdError::Api {
                    code: "1".into(),
                    msg: "m".into(),
                    transaction_time: None,
                },
                "api",
            ),
            (FaceIdError::Http { status: 502 }, "http"),
            (
                FaceIdError::Network {
                    detail: "reset".into(),
                },
                "network",
            ),
            (FaceIdError::Timeout { timeout_ms: 5 }, "timeout"),
            (FaceIdError::Aborted, "aborted"),
            (FaceIdError::bad_response("x"), "bad_response"),
        ];
        for (error, name) in cases {
            assert_eq!(error.kind().as_str(), name);
        }
        let host = FaceIdError::Host {
            detail: "this platform has no AbortController".into(),
            cause: HostCause::default(),
        };
        assert_eq!(host.kind(), ErrorKind::Network);
        assert_eq!(host.to_string(), "this platform has no AbortController");
    }

    #[test]
    fn redact_scrubs_credentials_from_service_and_platform_texts() {
        let api = FaceIdError::Api {
            code: "400201".into(),
            msg: "access_token t+k/1 (t%2Bk%2F1) is invalid".into(),
            transaction_time: None,
        };
        assert_eq!(
            api.redact(&["t+k/1", ""]).to_string(),
            "FaceID refused the request: code 400201: access_token <redacted> (<redacted>) is invalid"
        );
        let network = FaceIdError::Network {
            detail: "GET https://h/?secret=s3cr3t failed".into(),
        };
        assert!(!network.redact(&["s3cr3t"]).to_string().contains("s3cr3t"));
        assert_eq!(FaceIdError::Aborted.redact(&["x"]), FaceIdError::Aborted);
    }

    #[test]
    fn a_backing_off_error_is_its_cause_with_the_time_left() {
        let cause = FaceIdError::Http { status: 503 };
        let replay = cause.backing_off(1234.2);
        assert_eq!(replay.kind(), ErrorKind::Http);
        assert_eq!(replay.cause(), &cause);
        assert_eq!(replay.retry_after_ms(), Some(1235));
        assert_eq!(cause.retry_after_ms(), None);
        // Replaying a replay keeps the original failure, not a nest of them.
        assert_eq!(replay.backing_off(10.0).cause(), &cause);
        assert_eq!(
            replay.to_string(),
            "FaceID answered HTTP 503 (not asked again for 1235 ms)"
        );
        assert_eq!(cause.backing_off(-5.0).retry_after_ms(), Some(0));
    }

    #[test]
    fn messages_are_plain_english() {
        let error = FaceIdError::InvalidArgument {
            field: "userId",
            rule: "must be 1-30 characters from A-Z a-z 0-9 _ -",
        };
        assert_eq!(
            error.to_string(),
            "invalid argument: userId must be 1-30 characters from A-Z a-z 0-9 _ -"
        );
        assert_eq!(
            FaceIdError::Http { status: 503 }.to_string(),
            "FaceID answered HTTP 503"
        );
    }
}
