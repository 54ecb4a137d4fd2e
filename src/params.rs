//! Validated parameters.
//!
//! Each parameter can only be built through its rule, so a request made of them is valid by
//! construction and nothing invalid is ever sent. Text parameters are one generic type, [`Text`],
//! with a rule each; credentials and personal data are kept as [`Redacted`], so `Debug` never
//! prints them.

use crate::error::FaceIdError;
use crate::redacted::Redacted;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

/// The rule of a [`Text`] parameter.
pub trait TextRule {
    /// `String`, or [`Redacted`] for credentials and personal data: what `Debug` may print.
    type Value: Clone + Eq + fmt::Debug + From<String> + Deref<Target = str>;
    /// The parameter's name in `Debug`.
    const NAME: &'static str;
    /// The option name used in errors.
    const FIELD: &'static str;
    /// The rule, as error messages state it.
    const RULE: &'static str;
    /// Whether `value` follows the rule.
    fn accepts(value: &str) -> bool;
}

/// A text parameter that follows the rule `R`: it can only be built through it.
#[derive(Clone, PartialEq, Eq)]
pub struct Text<R: TextRule> {
    value: R::Value,
    rule: PhantomData<R>,
}

impl<R: TextRule> Text<R> {
    /// The option name used in errors.
    pub const FIELD: &'static str = R::FIELD;
    /// The rule, as error messages state it.
    pub const RULE: &'static str = R::RULE;

    /// Validates `value`; fails with `invalid_argument` naming the field, never the value.
    pub fn new(value: impl Into<String>) -> Result<Self, FaceIdError> {
        let value = value.into();
        if R::accepts(&value) {
            Ok(Text {
                value: value.into(),
                rule: PhantomData,
            })
        } else {
            Err(FaceIdError::InvalidArgument {
                field: R::FIELD,
                rule: R::RULE,
            })
        }
    }

    /// The validated value.
    pub fn as_str(&self) -> &str {
        &self.value
    }
}

impl<R: TextRule> fmt::Debug for Text<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple(R::NAME).field(&self.value).finish()
    }
}

/// Declares a [`Text`] parameter: its rule type and the alias that names it.
macro_rules! text_rule {
    ($(#[$doc:meta])* $name:ident, $rule_type:ident, field = $field:literal,
     rule = $rule:literal, value = $value:ty, accepts = $accepts:expr) => {
        /// The rule of
        #[doc = concat!("[`", stringify!($name), "`].")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub struct $rule_type;

        impl $crate::params::TextRule for $rule_type {
            type Value = $value;
            const NAME: &'static str = stringify!($name);
            const FIELD: &'static str = $field;
            const RULE: &'static str = $rule;
            fn accepts(value: &str) -> bool {
                let accepts: fn(&str) -> bool = $accepts;
                accepts(value)
            }
        }

        $(#[$doc])*
        pub type $name = $crate::params::Text<$rule_type>;
    };
}
pub(crate) use text_rule;

/// 1..=`max_len` bytes, each accepted by `allowed`.
fn bytes_within(value: &str, max_len: usize, allowed: fn(u8) -> bool) -> bool {
    !value.is_empty() && value.len() <= max_len && value.bytes().all(allowed)
}

/// The longest token or ticket value accepted, from the caller or from the service.
const CREDENTIAL_MAX_LEN: usize = 128;

/// The token rule, which every credential that arrives (token or ticket value) must also keep:
/// 1-128 visible ASCII characters.
pub(crate) fn is_credential(value: &str) -> bool {
    bytes_within(value, CREDENTIAL_MAX_LEN, is_visible_ascii)
}

pub(crate) fn is_visible_ascii(byte: u8) -> bool {
    (0x21..=0x7e).contains(&byte)
}

fn is_id_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-'
}

fn is_version_char(byte: u8) -> bool {
    is_id_char(byte) || byte == b'.'
}

text_rule!(
    /// A WBappid: 1-8 ASCII letters or digits.
    AppId, AppIdRule, field = "appId", rule = "must be 1-8 ASCII letters or digits",
    value = String, accepts = |value| bytes_within(value, 8, |b| b.is_ascii_alphanumeric())
);
text_rule!(
    /// An access token: 1-128 visible ASCII characters (the kyc hosts document 90-character
    /// tokens). Never printed.
    AccessToken, AccessTokenRule, field = "accessToken",
    rule = "must be 1-128 visible ASCII characters", value = Redacted, accepts = is_credential
);
text_rule!(
    /// A WBappid's secret: 1-64 visible ASCII characters. Never printed.
    Secret, SecretRule, field = "secret", rule = "must be 1-64 visible ASCII characters",
    value = Redacted, accepts = |value| bytes_within(value, 64, is_visible_ascii)
);
text_rule!(
    /// The partner's user id: 1-30 characters from `A-Z a-z 0-9 _ -`.
    UserId, UserIdRule, field = "userId", rule = "must be 1-30 characters from A-Z a-z 0-9 _ -",
    value = String, accepts = |value| bytes_within(value, 30, is_id_char)
);
text_rule!(
    /// The API version: 1-20 characters from `A-Z a-z 0-9 . _ -`.
    Version, VersionRule, field = "version", rule = "must be 1-20 characters from A-Z a-z 0-9 . _ -",
    value = String, accepts = |value| bytes_within(value, 20, is_version_char)
);

impl Default for Version {
    fn default() -> Self {
        Text {
            value: String::from("1.0.0"),
            rule: PhantomData,
        }
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
    /// The most retries accepted.
    pub const MAX: u8 = 5;

    /// Validates a count given as a JS number.
    pub fn from_f64(count: f64) -> Result<Self, FaceIdError> {
        if count.fract() == 0.0 && (0.0..=f64::from(Self::MAX)).contains(&count) {
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
    /// The longest accepted age: a day.
    pub const MAX_SECONDS: f64 = 86_400.0;

    /// Validates a number of seconds (fractions allowed).
    pub fn from_seconds(seconds: f64) -> Result<Self, FaceIdError> {
        if seconds > 0.0 && seconds <= Self::MAX_SECONDS {
            Ok(RefreshAfter(seconds))
        } else {
            Err(FaceIdError::InvalidArgument {
                field: Self::FIELD,
                rule: "must be a number of seconds greater than 0 and at most 86400",
            })
        }
    }

    /// The age in seconds.
    pub fn as_seconds(self) -> f64 {
        self.0
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
