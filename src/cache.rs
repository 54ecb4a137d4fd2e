//! The credential cache: which access token and SIGN ticket are current, when they must be
//! refreshed, and when a failing ticket request may force a new token.
//!
//! Pure and synchronous, so every rule is tested on the host with a fake clock; the client on
//! wasm adds the fetching and the single-flight around it. Times are milliseconds since the epoch.

use crate::error::FaceIdError;
use crate::json::{JsonKind, JsonView};
use crate::protocol::{AccessTokenGrant, Ticket};
use serde::Serialize;

/// A token or ticket that expires within this margin is refreshed before use.
pub const EXPIRY_MARGIN_MS: f64 = 60_000.0;
/// A token younger than this is never forced out, and forced refreshes are at least this far
/// apart: the service lets an old token live about a minute after a new one is issued.
pub const FORCED_REFRESH_INTERVAL_MS: f64 = 60_000.0;

/// The access token in use and the SIGN ticket it produced. The ticket lives inside its token,
/// so replacing the token drops the ticket: every ticket dies with the token that produced it.
// Debug is safe: the grant and the ticket print their values as <redacted>.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CachedToken {
    /// The token as granted.
    pub grant: AccessTokenGrant,
    /// The clock just before the token was requested.
    pub obtained_at: f64,
    /// The SIGN ticket fetched with this token, if any.
    pub sign_ticket: Option<Ticket>,
}

/// How usable the cached token is at a given time.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenState<'a> {
    /// Valid and not due for a refresh.
    Fresh(&'a CachedToken),
    /// Due for a refresh (old, or expiring soon) but still valid: usable if the refresh fails.
    Stale(&'a CachedToken),
    /// No valid token: one must be fetched.
    Missing,
}

/// What a failed ticket request should do next under the forced-refresh rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Another caller already replaced the token: retry with the current one.
    RetryWithCurrent,
    /// The token was dropped to force a refresh: fetch a new token, then retry.
    RetryAfterRefresh,
    /// The rule forbids a retry (token too young, or a forced refresh in the last minute).
    GiveUp,
}

/// The cache. Holds no secret: it is exported as is by [`CredentialCache::export`].
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialCache {
    token: Option<CachedToken>,
    last_forced_refresh: Option<f64>,
    refresh_after_ms: f64,
}

/// The cache as saved by `exportState()`: serialized as JSON by the caller. `v` versions the
/// format; `app_id` keeps a state from being imported into a client of another app.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavedState {
    v: u32,
    app_id: String,
    token: Option<CachedToken>,
    last_forced_refresh: Option<f64>,
}

impl SavedState {
    /// Reads a state from its parsed JSON; `None` if the JSON is not a saved state. Read by hand
    /// over [`JsonView`] rather than derived: the runtime parses it with `JSON.parse`.
    pub fn read<J: JsonView>(json: &J) -> Option<SavedState> {
        Some(SavedState {
            v: whole(&json.member("v")?)?,
            app_id: json.member("app_id")?.string()?,
            token: optional(json.member("token"), read_token)?,
            last_forced_refresh: optional(json.member("last_forced_refresh"), J::number)?,
        })
    }
}

/// `Some(None)` for an absent or `null` member, `Some(Some(_))` for a readable one, `None` for
/// one that is present but unreadable.
fn optional<J: JsonView, T>(
    value: Option<J>,
    read: impl FnOnce(&J) -> Option<T>,
) -> Option<Option<T>> {
    match value {
        None => Some(None),
        Some(value) if value.kind() == JsonKind::Null => Some(None),
        Some(value) => read(&value).map(Some),
    }
}

fn whole<J: JsonView>(value: &J) -> Option<u32> {
    value
        .number()
        .filter(|n| n.fract() == 0.0 && (0.0..=f64::from(u32::MAX)).contains(n))
        .map(|n| n as u32)
}

fn read_token<J: JsonView>(json: &J) -> Option<CachedToken> {
    let grant = json.member("grant")?;
    Some(CachedToken {
        grant: AccessTokenGrant {
            value: grant.member("value")?.string()?,
            expire_in: whole(&grant.member("expire_in")?)?,
            expires_at: grant.member("expires_at")?.number()?,
        },
        obtained_at: json.member("obtained_at")?.number()?,
        sign_ticket: optional(json.member("sign_ticket"), read_ticket)?,
    })
}

fn read_ticket<J: JsonView>(json: &J) -> Option<Ticket> {
    Some(Ticket {
        value: json.member("value")?.string()?,
        expire_in: whole(&json.member("expire_in")?)?,
        expire_time: optional(json.member("expire_time"), J::string)?,
        transaction_time: optional(json.member("transaction_time"), J::string)?,
        expires_at: json.member("expires_at")?.number()?,
    })
}

const STATE_VERSION: u32 = 1;

impl CredentialCache {
    /// An empty cache that refreshes tokens older than `refresh_after_ms`.
    pub fn new(refresh_after_ms: f64) -> Self {
        CredentialCache {
            token: None,
            last_forced_refresh: None,
            refresh_after_ms,
        }
    }

    /// The cached token's state at `now`.
    pub fn token_state(&self, now: f64) -> TokenState<'_> {
        match &self.token {
            Some(token) if now < token.grant.expires_at => {
                let old = now - token.obtained_at >= self.refresh_after_ms;
                let expiring = token.grant.expires_at - now <= EXPIRY_MARGIN_MS;
                if old || expiring {
                    TokenState::Stale(token)
                } else {
                    TokenState::Fresh(token)
                }
            }
            _ => TokenState::Missing,
        }
    }

    /// Replaces the token (and with it the SIGN ticket). `obtained_at` is the clock just before
    /// the request was sent.
    pub fn store_token(&mut self, grant: AccessTokenGrant, obtained_at: f64) {
        self.token = Some(CachedToken {
            grant,
            obtained_at,
            sign_ticket: None,
        });
    }

    /// The SIGN ticket of token `token_value`, if that token is still current and the ticket
    /// does not expire within [`EXPIRY_MARGIN_MS`].
    pub fn sign_ticket(&self, token_value: &str, now: f64) -> Option<&Ticket> {
        self.current(token_value)?
            .sign_ticket
            .as_ref()
            .filter(|ticket| ticket.expires_at - now > EXPIRY_MARGIN_MS)
    }

    /// Stores a SIGN ticket fetched with `token_value`; dropped if that token was replaced
    /// meanwhile, since the ticket died with it.
    pub fn store_sign_ticket(&mut self, token_value: &str, ticket: Ticket) {
        if let Some(token) = self.current_mut(token_value) {
            token.sign_ticket = Some(ticket);
        }
    }

    /// Applies the forced-refresh rule after a ticket request made with `token_value` failed
    /// with an `api` error: force a refresh only when that token is still current, more than a
    /// minute old, and no forced refresh happened in the last minute.
    pub fn on_rejected_token(&mut self, token_value: &str, now: f64) -> RetryDecision {
        let Some(token) = self.current(token_value) else {
            return RetryDecision::RetryWithCurrent;
        };
        let old_enough = now - token.obtained_at > FORCED_REFRESH_INTERVAL_MS;
        let rate_ok = self
            .last_forced_refresh
            .is_none_or(|last| now - last >= FORCED_REFRESH_INTERVAL_MS);
        if old_enough && rate_ok {
            self.token = None;
            self.last_forced_refresh = Some(now);
            RetryDecision::RetryAfterRefresh
        } else {
            RetryDecision::GiveUp
        }
    }

    fn current(&self, token_value: &str) -> Option<&CachedToken> {
        self.token
            .as_ref()
            .filter(|token| token.grant.value == token_value)
    }

    fn current_mut(&mut self, token_value: &str) -> Option<&mut CachedToken> {
        self.token
            .as_mut()
            .filter(|token| token.grant.value == token_value)
    }

    /// The cache to save: token, SIGN ticket and their timing. Never the secret.
    pub fn export(&self, app_id: &str) -> SavedState {
        SavedState {
            v: STATE_VERSION,
            app_id: app_id.to_owned(),
            token: self.token.clone(),
            last_forced_refresh: self.last_forced_refresh,
        }
    }

    /// Restores a cache exported by [`CredentialCache::export`] for the same app; `None` is a
    /// string that did not read as a saved state at all.
    pub fn import(
        state: Option<SavedState>,
        app_id: &str,
        refresh_after_ms: f64,
    ) -> Result<Self, FaceIdError> {
        let state =
            state.ok_or_else(|| invalid_state("is not a state exported by exportState()"))?;
        if state.v != STATE_VERSION {
            return Err(invalid_state("was exported by an incompatible version"));
        }
        if state.app_id != app_id {
            return Err(invalid_state("belongs to another appId"));
        }
        let plausible = state.token.as_ref().is_none_or(|token| {
            !token.grant.value.is_empty()
                && token.obtained_at.is_finite()
                && token.grant.expires_at.is_finite()
        });
        if !plausible {
            return Err(invalid_state("holds an unusable token"));
        }
        Ok(CredentialCache {
            token: state.token,
            last_forced_refresh: state.last_forced_refresh,
            refresh_after_ms,
        })
    }
}

/// An `invalid_argument` for the `state` given to `importState()`.
fn invalid_state(rule: &'static str) -> FaceIdError {
    FaceIdError::InvalidArgument {
        field: "state",
        rule,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: f64 = 60_000.0;
    const T0: f64 = 1_700_000_000_000.0;

    fn grant(value: &str, expire_in: u32, sent_at: f64) -> AccessTokenGrant {
        AccessTokenGrant {
            value: value.into(),
            expire_in,
            expires_at: sent_at + f64::from(expire_in) * 1000.0,
        }
    }

    fn ticket(value: &str, expire_in: u32, sent_at: f64) -> Ticket {
        Ticket {
            value: value.into(),
            expire_in,
            expire_time: None,
            transaction_time: None,
            expires_at: sent_at + f64::from(expire_in) * 1000.0,
        }
    }

    fn cache_with_token(value: &str) -> CredentialCache {
        let mut cache = CredentialCache::new(20.0 * MINUTE);
        cache.store_token(grant(value, 7200, T0), T0);
        cache
    }

    fn is_fresh(cache: &CredentialCache, now: f64) -> bool {
        matches!(cache.token_state(now), TokenState::Fresh(_))
    }

    #[test]
    fn a_token_is_fresh_until_it_is_old_then_stale_until_it_expires() {
        let cache = cache_with_token("t1");
        assert!(is_fresh(&cache, T0));
        assert!(is_fresh(&cache, T0 + 20.0 * MINUTE - 1.0));
        assert!(matches!(
            cache.token_state(T0 + 20.0 * MINUTE),
            TokenState::Stale(_)
        ));
        assert!(matches!(
            cache.token_state(T0 + 119.0 * MINUTE),
            TokenState::Stale(_)
        ));
        assert_eq!(cache.token_state(T0 + 120.0 * MINUTE), TokenState::Missing);
        assert_eq!(
            CredentialCache::new(MINUTE).token_state(T0),
            TokenState::Missing
        );
    }

    #[test]
    fn a_token_expiring_within_a_minute_is_stale_even_when_young() {
        let mut cache = CredentialCache::new(20.0 * MINUTE);
        cache.store_token(grant("short", 90, T0), T0);
        assert!(is_fresh(&cache, T0 + 29_000.0));
        assert!(matches!(
            cache.token_state(T0 + 30_000.0),
            TokenState::Stale(_)
        ));
    }

    #[test]
    fn the_sign_ticket_dies_with_its_token() {
        let mut cache = cache_with_token("t1");
        cache.store_sign_ticket("t1", ticket("s1", 3600, T0));
        assert_eq!(
            cache.sign_ticket("t1", T0).map(|t| t.value.as_str()),
            Some("s1")
        );
        cache.store_token(grant("t2", 7200, T0 + 1.0), T0 + 1.0);
        assert_eq!(cache.sign_ticket("t1", T0 + 2.0), None);
        assert_eq!(cache.sign_ticket("t2", T0 + 2.0), None);
    }

    #[test]
    fn a_sign_ticket_fetched_with_a_replaced_token_is_not_stored() {
        let mut cache = cache_with_token("t2");
        cache.store_sign_ticket("t1", ticket("late", 3600, T0));
        assert_eq!(cache.sign_ticket("t2", T0), None);
    }

    #[test]
    fn a_sign_ticket_expiring_within_a_minute_is_not_served() {
        let mut cache = cache_with_token("t1");
        cache.store_sign_ticket("t1", ticket("s1", 3600, T0));
        assert!(cache.sign_ticket("t1", T0 + 59.0 * MINUTE - 1.0).is_some());
        assert!(cache.sign_ticket("t1", T0 + 59.0 * MINUTE).is_none());
    }

    #[test]
    fn forced_refresh_needs_an_old_current_token_and_at_most_one_a_minute() {
        let mut cache = cache_with_token("t1");
        assert_eq!(
            cache.on_rejected_token("t1", T0 + MINUTE),
            RetryDecision::GiveUp
        );
        assert_eq!(
            cache.on_rejected_token("t1", T0 + MINUTE + 1.0),
            RetryDecision::RetryAfterRefresh
        );
        assert_eq!(cache.token_state(T0 + MINUTE + 1.0), TokenState::Missing);

        // The new token is rejected too (say, the secret changed): no second force this minute.
        let now = T0 + 3.0 * MINUTE;
        cache.store_token(grant("t2", 7200, T0), T0);
        assert_eq!(
            cache.on_rejected_token("t2", now - MINUTE),
            RetryDecision::GiveUp
        );
        assert_eq!(
            cache.on_rejected_token("t2", now),
            RetryDecision::RetryAfterRefresh
        );
    }

    #[test]
    fn a_token_replaced_meanwhile_means_retry_without_forcing() {
        let mut cache = cache_with_token("t2");
        assert_eq!(
            cache.on_rejected_token("t1", T0 + 10.0 * MINUTE),
            RetryDecision::RetryWithCurrent
        );
        assert!(is_fresh(&cache, T0 + 10.0 * MINUTE));
    }

    #[test]
    fn export_and_import_round_trip_without_the_secret() {
        let mut cache = cache_with_token("tok-123");
        cache.store_sign_ticket("tok-123", ticket("sign-456", 3600, T0));
        assert_eq!(
            cache.on_rejected_token("tok-123", T0 + 2.0 * MINUTE),
            RetryDecision::RetryAfterRefresh
        );
        cache.store_token(grant("tok-789", 7200, T0), T0 + 2.0 * MINUTE);
        cache.store_sign_ticket("tok-789", ticket("sign-000", 3600, T0));
        let state = to_json(&cache.export("IDA1"));
        assert!(state.contains("tok-789") && state.contains("sign-000"));
        let restored = CredentialCache::import(from_json(&state), "IDA1", 20.0 * MINUTE);
        let restored = restored.unwrap();
        assert_eq!(restored, cache);
    }

    #[test]
    fn import_refuses_foreign_or_broken_states() {
        let state = cache_with_token("t").export("IDA1");
        let rule = |result: Result<CredentialCache, FaceIdError>| match result {
            Err(FaceIdError::InvalidArgument {
                field: "state",
                rule,
            }) => rule,
            other => panic!("expected invalid state, got {other:?}"),
        };
        let import = |state: SavedState| CredentialCache::import(Some(state), "IDA1", MINUTE);
        let other_app = CredentialCache::import(Some(state.clone()), "IDA2", MINUTE);
        assert!(rule(other_app).contains("another appId"));
        let future = SavedState {
            v: 2,
            ..state.clone()
        };
        assert!(rule(import(future)).contains("incompatible"));
        let mut broken = state.clone();
        if let Some(token) = broken.token.as_mut() {
            token.obtained_at = f64::NAN;
        }
        assert!(rule(import(broken)).contains("unusable"));
        for not_a_state in [
            "{}",
            "not json",
            "[]",
            r#"{"v":1}"#,
            r#"{"v":"1","app_id":"IDA1"}"#,
        ] {
            assert_eq!(from_json(not_a_state), None, "{not_a_state}");
        }
        let wrong_token = r#"{"v":1,"app_id":"IDA1","token":{"grant":{"value":"t"}}}"#;
        assert_eq!(from_json(wrong_token), None);
        // Absent optional members (JSON.stringify drops `undefined`) read as null ones.
        let empty = r#"{"v":1,"app_id":"IDA1"}"#;
        let restored = import(from_json(empty).unwrap()).unwrap();
        assert_eq!(restored.token_state(T0), TokenState::Missing);
    }

    fn to_json(state: &SavedState) -> String {
        serde_json::to_string(state).unwrap()
    }

    fn from_json(json: &str) -> Option<SavedState> {
        SavedState::read(&serde_json::from_str::<serde_json::Value>(json).ok()?)
    }
}
