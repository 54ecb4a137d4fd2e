//! The answer body's budget: how much of an answer the transport reads. Pure, so the rule is
//! tested (and fuzzed) on the host; the fetch transport feeds it each chunk it reads.

use crate::error::FaceIdError;
use crate::text::decimal;

/// The most body bytes read from any answer; reading stops past it.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The most body bytes read from a face-record answer that carries the photo or the video.
pub const FILE_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Counts the body bytes read so far and refuses the chunk that would pass its limit
/// ([`BODY_LIMIT`] by default), so the reader stops there and never holds more.
#[derive(Debug)]
pub struct BodyBudget {
    read: usize,
    limit: usize,
}

impl Default for BodyBudget {
    fn default() -> Self {
        BodyBudget::with_limit(BODY_LIMIT)
    }
}

impl BodyBudget {
    /// A budget of `limit` bytes, for the answers allowed more than [`BODY_LIMIT`].
    pub const fn with_limit(limit: usize) -> Self {
        BodyBudget { read: 0, limit }
    }

    /// Admits a chunk of `len` bytes, or fails with `bad_response` if it would pass the limit.
    pub fn admit(&mut self, len: usize) -> Result<(), FaceIdError> {
        match self.read.checked_add(len) {
            Some(total) if total <= self.limit => {
                self.read = total;
                Ok(())
            }
            _ => Err(FaceIdError::BadResponse {
                reason: [
                    "the body is larger than ",
                    &decimal(i64::try_from(self.limit).unwrap_or(i64::MAX)),
                    " bytes",
                ]
                .concat(),
            }),
        }
    }

    /// The bytes admitted so far.
    pub fn read(&self) -> usize {
        self.read
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_budget_admits_up_to_the_limit_and_not_a_byte_more() {
        let mut budget = BodyBudget::default();
        assert!(budget.admit(BODY_LIMIT - 1).is_ok());
        assert!(budget.admit(1).is_ok());
        let refused = budget.admit(1).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "FaceID sent an unusable response: the body is larger than 65536 bytes"
        );
        assert_eq!(budget.read(), BODY_LIMIT);
        assert!(BodyBudget::default().admit(usize::MAX).is_err());
    }

    #[test]
    fn a_larger_budget_admits_up_to_its_own_limit() {
        let mut budget = BodyBudget::with_limit(FILE_BODY_LIMIT);
        assert!(budget.admit(BODY_LIMIT + 1).is_ok());
        assert!(budget.admit(FILE_BODY_LIMIT - BODY_LIMIT - 1).is_ok());
        assert_eq!(
            budget.admit(1).unwrap_err().to_string(),
            "FaceID sent an unusable response: the body is larger than 16777216 bytes"
        );
    }
}
