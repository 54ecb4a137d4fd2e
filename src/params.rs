//! Validated request parameters.
//!
//! Each parameter is a newtype that can only be built through its rule, so a request made of them
//! is valid by construction and nothing invalid is ever sent. Types holding credentials print as
//! `<redacted>` in `Debug`.

use crate::error::FaceIdError;
use std::fmt;

/// Checks `value` is 1..=`max_len` bytes, each accepted by `allowed`.
fn check(
    value: &str,
    field: &'static str,
    max_len: usize,
    allowed: fn(u8) -> bool,
    rule: &'static str,
) -> Result<(), FaceIdError> {
    let fits = !value.is_empty() && value.len() <= max_len && value.bytes().all(allowed);
    if fits {
        Ok(())
    } else {
        Err(FaceIdError::InvalidArgument { field, rule })
    }
}

/// The longest token or ticket value accepted, from the caller or from the service.
const CREDENTIAL_MAX_LEN: usize = 128;

/// The token rule, which every credential that arrives (token or ticket value) must also keep:
/// 1-128 visible ASCII characters.
pub(crate) fn is_credential(value: &str) -> bool {
    !value.is_empty() && value.len() <= CREDENTIAL_MAX_LEN && value.bytes().all(is_visible_ascii)
}

fn is_visible_ascii(byte: u8) -> bool {
    (0x21..=0x7e).contains(&byte)
}

fn is_id_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

fn is_version_char(byte: u8) -> bool {
    is_id_char(byte) || byte == b'.'
}

macro_rules! param {
    ($(#[$doc:meta])* $name:ident, field = $field:literal, max = $max:expr,
     allowed = $allowed:expr, rule = $rule:literal, debug = $debug:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// The option name used in errors.
            pub const FIELD: &'static str = $field;
            /// The rule, as error messages state it.
            pub const RULE: &'static str = $rule;

            /// Validates `value`; fails with `invalid_argument` naming the field.
            pub fn new(value: impl Into<String>) -> Result<Self, FaceIdError> {
                let value = value.into();
                check(&value, $field, $max, $allowed, $rule)?;
                Ok(Self(value))
            }

            /// The validated value.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                param!(@debug $debug, self, f, stringify!($name))
            }
        }
    };
    (@debug shown, $self:ident, $f:ident, $name:expr) => {
        $f.debug_tuple($name).field(&$self.0).finish()
    };
    (@debug redacted, $self:ident, $f:ident, $name:expr) => {
        $f.debug_tuple($name).field(&"<redacted>").finish()
    };
}

param!(
    /// A WBappid: 1-8 ASCII letters or digits.
    AppId, field = "appId", max = 8, allowed = |b: u8| b.is_ascii_alphanumeric(),
    rule = "must be 1-8 ASCII letters or digits", debug = shown
);
param!(
    /// An access token: 1-128 visible ASCII characters (the kyc hosts document 90-character
    /// tokens). Never printed.
    AccessToken, field = "accessToken", max = CREDENTIAL_MAX_LEN, allowed = is_visible_ascii,
    rule = "must be 1-128 visible ASCII characters", debug = redacted
);
param!(
    /// A WBappid's secret: 1-64 visible ASCII characters. Never printed.
    Secret, field = "secret", max = 64, allowed = is_visible_ascii,
    rule = "must be 1-64 visible ASCII characters", debug = redacted
);
param!(
    /// The partner's user id: 1-30 characters from `A-Z a-z 0-9 _ -`.
    UserId, field = "userId", max = 30, allowed = is_id_char,
    rule = "must be 1-30 characters from A-Z a-z 0-9 _ -", debug = shown
);
param!(
    /// The API version: 1-20 characters from `A-Z a-z 0-9 . _ -`.
    Version, field = "version", max = 20, allowed = is_version_char,
    rule = "must be 1-20 characters from A-Z a-z 0-9 . _ -", debug = shown
);

impl Default for Version {
    fn default() -> Self {
        Version(String::from("1.0.0"))
    }
}

/// A whole-request time limit: an integer number of milliseconds in `1..=120000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeoutMs(u32);

impl TimeoutMs {
    /// The option name used in errors.
    pub const FIELD: &'static str = "timeoutMs";
    /// The largest accepted limit.
    pub const MAX: u32 = 120_000;
    const RULE: &'static str = "must be an integer from 1 to 120000";

    /// Validates a limit given as a JS number (which may be fractional, NaN or infinite).
    pub fn from_f64(ms: f64) -> Result<Self, FaceIdError> {
        let whole = ms.fract() == 0.0 && (1.0..=f64::from(Self::MAX)).contains(&ms);
        if whole {
            // Exact: `ms` is a whole number within u32 range.
            Ok(TimeoutMs(ms as u32))
        } else {
            Err(FaceIdError::InvalidArgument {
                field: Self::FIELD,
                rule: Self::RULE,
            })
        }
    }

    /// Validates a limit in milliseconds.
    pub fn new(ms: u32) -> Result<Self, FaceIdError> {
        Self::from_f64(f64::from(ms))
    }

    /// The limit in milliseconds.
    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for TimeoutMs {
    fn default() -> Self {
        TimeoutMs(10_000)
    }
}

/// How many times a quick failure of a ticket request is retried (connection refused or reset
/// before any answer, HTTP 429, 502, 503, 504): an integer in `0..=5`. Token requests are never
/// retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retries(u8);

impl Retries {
    /// The option name used in errors.
    pub const FIELD: &'static str = "retries";
    /// No retry: what token requests get, since each one that reaches the service mints a token
    /// and retires the previous one.
    pub const NONE: Retries = Retries(0);

    /// Validates a count given as a JS number.
    pub fn from_f64(count: f64) -> Result<Self, FaceIdError> {
        if count.fract() == 0.0 && (0.0..=5.0).contains(&count) {
            Ok(Retries(count as u8))
        } else {
            Err(FaceIdError::InvalidArgument {
                field: Self::FIELD,
                rule: "must be an integer from 0 to 5",
            })
        }
    }

    /// The count.
    pub const fn get(self) -> u8 {
        self.0
    }
}

impl Default for Retries {
    fn default() -> Self {
        Retries(2)
    }
}

/// The token age that triggers a refresh, in seconds: a number in `(0, 86400]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefreshAfter(f64);

impl RefreshAfter {
    /// The option name used in errors.
    pub const FIELD: &'static str = "refreshAfterSeconds";

    /// Validates a number of seconds (fractions allowed).
    pub fn from_seconds(seconds: f64) -> Result<Self, FaceIdError> {
        if seconds > 0.0 && seconds <= 86_400.0 {
            Ok(RefreshAfter(seconds))
        } else {
            Err(FaceIdError::InvalidArgument {
                field: Self::FIELD,
                rule: "must be a number of seconds greater than 0 and at most 86400",
            })
        }
    }

    /// The age in milliseconds.
    pub fn as_millis(self) -> f64 {
        self.0 * 1000.0
    }
}

impl Default for RefreshAfter {
    /// 20 minutes, as the documentation advises.
    fn default() -> Self {
        RefreshAfter(1200.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(result: Result<impl fmt::Debug, FaceIdError>) -> &'static str {
        match result {
            Err(FaceIdError::InvalidArgument { field, .. }) => field,
            other => panic!("expected invalid_argument, got {other:?}"),
        }
    }

    #[test]
    fn app_id_is_one_to_eight_alphanumerics() {
        for ok in ["I", "IDAXXXXX", "12345678", "aB3"] {
            assert!(AppId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", "IDAXXXXX9", "IDA-XXXX", "IDA XXXX", "IDAé", "IDA\0"] {
            assert_eq!(field_of(AppId::new(bad)), "appId", "{bad:?}");
        }
    }

    #[test]
    fn access_token_is_one_to_one_hundred_twenty_eight_visible_ascii() {
        assert!(AccessToken::new("a".repeat(90)).is_ok());
        assert!(AccessToken::new("a".repeat(128)).is_ok());
        assert!(is_credential(&"a".repeat(128)) && !is_credential(&"a".repeat(129)));
        assert!(AccessToken::new("!~+/=&?#%").is_ok());
        for bad in [
            String::new(),
            "a".repeat(129),
            "a b".into(),
            "tok\n".into(),
            "ü".into(),
        ] {
            assert_eq!(
                field_of(AccessToken::new(bad.clone())),
                "accessToken",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn user_id_allows_letters_digits_underscore_dash_up_to_thirty() {
        assert!(UserId::new("a".repeat(30)).is_ok());
        assert!(UserId::new("user_01-x").is_ok());
        for bad in [
            String::new(),
            "a".repeat(31),
            "a&b=c".into(),
            "a.b".into(),
            "名字".into(),
        ] {
            assert_eq!(field_of(UserId::new(bad.clone())), "userId", "{bad:?}");
        }
    }

    #[test]
    fn version_allows_dots_up_to_twenty() {
        assert_eq!(Version::default().as_str(), "1.0.0");
        assert!(Version::new("1.0.0-beta_2").is_ok());
        assert!(Version::new("1".repeat(20)).is_ok());
        for bad in [String::new(), "1".repeat(21), "1.0 ".into(), "1/0".into()] {
            assert_eq!(field_of(Version::new(bad.clone())), "version", "{bad:?}");
        }
    }

    #[test]
    fn timeout_is_a_whole_number_of_ms_up_to_two_minutes() {
        assert_eq!(TimeoutMs::default().get(), 10_000);
        assert_eq!(TimeoutMs::from_f64(1.0).map(TimeoutMs::get), Ok(1));
        assert_eq!(
            TimeoutMs::from_f64(120_000.0).map(TimeoutMs::get),
            Ok(120_000)
        );
        for bad in [0.0, -1.0, 1.5, 120_001.0, f64::NAN, f64::INFINITY, 1e300] {
            assert_eq!(field_of(TimeoutMs::from_f64(bad)), "timeoutMs", "{bad}");
        }
    }

    #[test]
    fn retries_are_a_small_whole_number() {
        assert_eq!(Retries::default().get(), 2);
        assert_eq!(Retries::from_f64(0.0).map(Retries::get), Ok(0));
        assert_eq!(Retries::from_f64(5.0).map(Retries::get), Ok(5));
        for bad in [-1.0, 0.5, 6.0, f64::NAN, f64::INFINITY] {
            assert_eq!(field_of(Retries::from_f64(bad)), "retries", "{bad}");
        }
    }

    #[test]
    fn refresh_after_is_a_positive_number_of_seconds_up_to_a_day() {
        assert_eq!(RefreshAfter::default().as_millis(), 1_200_000.0);
        assert_eq!(
            RefreshAfter::from_seconds(0.5).map(RefreshAfter::as_millis),
            Ok(500.0)
        );
        assert!(RefreshAfter::from_seconds(86_400.0).is_ok());
        for bad in [0.0, -1.0, 86_400.5, f64::NAN, f64::INFINITY] {
            assert_eq!(
                field_of(RefreshAfter::from_seconds(bad)),
                "refreshAfterSeconds",
                "{bad}"
            );
        }
    }

    #[test]
    fn credentials_never_show_in_debug() {
        let token = AccessToken::new("tok-SECRET-123").unwrap();
        let secret = Secret::new("sec-SECRET-456").unwrap();
        let printed = format!("{token:?} {secret:?}");
        assert!(!printed.contains("SECRET"), "{printed}");
        assert!(printed.contains("<redacted>"));
        assert_eq!(
            format!("{:?}", UserId::new("alice").unwrap()),
            "UserId(\"alice\")"
        );
    }
}
