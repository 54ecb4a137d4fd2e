//! Text that never prints: credentials (the secret, tokens, tickets) and personal data (names, ID
//! numbers, photos). A type that holds them in [`Redacted`] can derive `Debug` safely.

use serde::Serialize;
use std::fmt;
use std::ops::Deref;

/// What stands in for a credential or personal data in any text this crate writes.
pub(crate) const REDACTED: &str = "<redacted>";

/// A string whose `Debug` is `"<redacted>"`. It serializes as the string itself: results and saved
/// states carry credentials on purpose; only accidental prints are closed.
#[derive(Clone, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Redacted(String);

impl Redacted {
    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(REDACTED, f)
    }
}

impl Deref for Redacted {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<String> for Redacted {
    fn from(text: String) -> Self {
        Redacted(text)
    }
}

impl From<&str> for Redacted {
    fn from(text: &str) -> Self {
        Redacted(text.to_owned())
    }
}

impl From<Redacted> for String {
    fn from(redacted: Redacted) -> Self {
        redacted.0
    }
}

impl PartialEq<str> for Redacted {
    fn eq(&self, other: &str) -> bool {
        self.0 == other
    }
}

impl PartialEq<&str> for Redacted {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl PartialEq<String> for Redacted {
    fn eq(&self, other: &String) -> bool {
        self.0 == *other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_as_redacted_and_serializes_as_itself() {
        let token = Redacted::from("tok-SECRET");
        assert_eq!(format!("{token:?}"), "\"<redacted>\"");
        assert_eq!(format!("{:?}", Some(token.clone())), "Some(\"<redacted>\")");
        assert_eq!(serde_json::to_string(&token).unwrap(), "\"tok-SECRET\"");
        assert_eq!(token, "tok-SECRET");
        assert_eq!(token.len(), 10);
    }
}
