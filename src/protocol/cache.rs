//! The credential cache: which access token and SIGN ticket are current, when they must be
//! refreshed, when a failing ticket request may force a new token, and how long a failed request
//! keeps the client from sending another.
//!
//! Pure and synchronous, so every rule is tested on the host with a fake clock and a fake random
//! source; the client on wasm adds the fetching and the single flight around it. Times are
//! milliseconds since the epoch.

use super::answers::{Credential, Ticket};
use super::json::{JsonKind, JsonView};
use crate::error::{ErrorKind, FaceIdError};
use crate::params::is_credential;
use serde::Serialize;

/// A token or SIGN ticket that expires within this margin is due for a refresh.
pub const EXPIRY_MARGIN_MS: f64 = 60_000.0;
/// A token younger than this is never forced out, and forced refreshes are at least this far
/// apart: the service lets an old token live about a minute after a new one is issued.
pub const FORCED_REFRESH_INTERVAL_MS: f64 = 60_000.0;
/// The wait after one failed request; each further consecutive failure doubles it.
pub const BACKOFF_FIRST_MS: f64 = 1_000.0;
/// The longest wait between two requests of a failing kind.
pub const BACKOFF_MAX_MS: f64 = 60_000.0;
/// How far in the future an imported state's times may lie (clocks of two machines differ).
const CLOCK_SKEW_MS: f64 = 5.0 * 60_000.0;
/// How far an imported token's `expires_at` may stray from its obtained time plus `expire_in`.
const EXPIRY_DRIFT_MS: f64 = 5_000.0;
/// The longest `expire_in` an imported state may hold: a day.
const MAX_SAVED_EXPIRE_IN: u32 = 86_400;

/// The wait before the next request after `failures` consecutive failures: the ceiling doubles
/// from [`BACKOFF_FIRST_MS`] up to [`BACKOFF_MAX_MS`], and the wait is drawn uniformly from its
/// upper half with `random` in `[0, 1)`, so clients that failed together do not return together.
pub fn backoff_delay_ms(failures: u32, random: f64) -> f64 {
    let doublings = failures.saturating_sub(1).min(16);
    let ceiling = (BACKOFF_FIRST_MS * f64::from(1u32 << doublings)).min(BACKOFF_MAX_MS);
    ceiling / 2.0 * (1.0 + random.clamp(0.0, 1.0))
}

/// The memory of a failing kind of request: how many consecutive failures, the last one, and
/// until when no request of that kind is sent.
#[derive(Debug, Clone, PartialEq)]
struct Backoff {
    failures: u32,
    until: f64,
    last: FaceIdError,
}

impl Backoff {
    /// The memory after `error`, which followed `previous` (if that is still remembered).
    fn after(previous: Option<&Backoff>, error: &FaceIdError, now: f64, random: f64) -> Backoff {
        let failures = previous
            .map_or(0, |backoff| backoff.failures)
            .saturating_add(1);
        Backoff {
            failures,
            until: now + backoff_delay_ms(failures, random),
            last: error.cause().clone(),
        }
    }

    fn active(&self, now: f64) -> bool {
        now < self.until
    }

    /// The last failure, as answered while the wait lasts.
    fn replay(&self, now: f64) -> FaceIdError {
        self.last.backing_off(self.until - now)
    }
}

/// Remembers `error` in `backoff` (unless it says nothing about the service) and returns it as
/// answered while the wait lasts.
fn remember(
    backoff: &mut Option<Backoff>,
    error: FaceIdError,
    now: f64,
    random: f64,
) -> FaceIdError {
    if !is_remembered(&error) {
        return error;
    }
    let next = Backoff::after(backoff.as_ref(), &error, now, random);
    let answer = next.replay(now);
    *backoff = Some(next);
    answer
}

/// Failures that say something about the service. An abort is the caller's choice and an
/// invalid argument was never sent: neither makes the client wait.
fn is_remembered(error: &FaceIdError) -> bool {
    !matches!(
        error.kind(),
        ErrorKind::Aborted | ErrorKind::InvalidArgument
    )
}

/// The access token in use and the SIGN ticket it produced. The ticket lives inside its token,
/// so replacing the token drops the ticket: every ticket dies with the token that produced it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CachedToken {
    /// The token as granted.
    pub grant: Credential,
    /// The clock just before the token was requested.
    pub obtained_at: f64,
    /// The SIGN ticket fetched with this token, if any.
    pub sign_ticket: Option<Ticket>,
    /// Failing SIGN-ticket requests with this token; a new token starts without.
    #[serde(skip)]
    sign_backoff: Option<Backoff>,
}

/// What a caller that needs an access token does now.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenPlan {
    /// Use this token: it is fresh, or due while a refresh is under way or waiting out a failure.
    Use(Credential),
    /// Request a token (or wait for the request in flight); if that fails, use the fallback when
    /// there is one.
    Refresh {
        /// The current token, still valid though due for a refresh.
        fallback: Option<Credential>,
    },
    /// No usable token, and token requests are waiting out a failure: answer this at once.
    Fail(FaceIdError),
}

/// What a caller that needs the SIGN ticket of a token does now.
#[derive(Debug, Clone, PartialEq)]
pub enum SignPlan {
    /// Use this ticket.
    Use(Ticket),
    /// Request the ticket (or wait for the request in flight).
    Fetch,
    /// No usable ticket, and SIGN requests with this token are waiting out a failure.
    Fail(FaceIdError),
}

/// What a failed ticket request should do next under the forced-refresh rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Another caller already replaced the token: retry with the current one.
    RetryWithCurrent,
    /// The token is to be replaced: wait for its replacement, then retry. Until it arrives the
    /// refused token stays the fallback of every other caller.
    RetryAfterRefresh,
    /// The rule forbids a retry (token too young, a forced refresh in the last minute, or token
    /// requests waiting out a failure).
    GiveUp,
}

/// The cache. Holds no secret: it is exported as is by [`CredentialCache::export`].
#[derive(Debug, Clone, PartialEq)]
pub struct CredentialCache {
    token: Option<CachedToken>,
    last_forced_refresh: Option<f64>,
    refresh_after_ms: f64,
    /// The service refused the current token: replace it at the next chance, and keep it as the
    /// fallback until then.
    replace_current: bool,
    token_backoff: Option<Backoff>,
    /// The SIGN ticket before the current one, kept until it expires: the service may have
    /// signed a callback with it just before a refresh.
    previous_sign_ticket: Option<Ticket>,
}

/// The cache as saved by `exportState()`: serialized as JSON by the caller. `v` versions the
/// format; `app_id` keeps a state from being imported into a client of another app.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SavedState {
    v: u32,
    app_id: String,
    token: Option<CachedToken>,
    last_forced_refresh: Option<f64>,
    previous_sign_ticket: Option<Ticket>,
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
            previous_sign_ticket: optional(json.member("previous_sign_ticket"), read_ticket)?,
        })
    }

    /// The first rule the state breaks, if any: a state that cannot be right is never used,
    /// since a client would trust it and never refresh.
    fn implausibility(&self, now: f64) -> Option<&'static str> {
        let forced_ok = self
            .last_forced_refresh
            .is_none_or(|at| at.is_finite() && at <= now);
        if !forced_ok {
            return Some("has a forced-refresh time in the future or not finite");
        }
        let ticket_ok = |ticket: &Option<Ticket>| {
            ticket.as_ref().is_none_or(|ticket| {
                is_credential(&ticket.value)
                    && saved_lifetime(ticket.expire_in)
                    && ticket.expires_at.is_finite()
            })
        };
        if !ticket_ok(&self.previous_sign_ticket) {
            return Some(BREAKS_TOKEN_RULE);
        }
        let token = self.token.as_ref()?;
        let grant = &token.grant;
        if !is_credential(&grant.value) || !ticket_ok(&token.sign_ticket) {
            return Some(BREAKS_TOKEN_RULE);
        }
        if !saved_lifetime(grant.expire_in) {
            return Some("holds a token whose expire_in is outside 1..=86400");
        }
        if !token.obtained_at.is_finite() || token.obtained_at > now + CLOCK_SKEW_MS {
            return Some("holds a token obtained more than 5 minutes in the future");
        }
        let expected = token.obtained_at + f64::from(grant.expire_in) * 1000.0;
        if !grant.expires_at.is_finite() || (grant.expires_at - expected).abs() > EXPIRY_DRIFT_MS {
            return Some(
                "holds a token whose expires_at disagrees with its obtained time and expire_in",
            );
        }
        let outlived = token.sign_ticket.as_ref().is_some_and(|ticket| {
            !ticket.expires_at.is_finite() || ticket.expires_at > grant.expires_at
        });
        outlived.then_some("holds a SIGN ticket that outlives its token")
    }
}

const BREAKS_TOKEN_RULE: &str =
    "holds a token or ticket that breaks the token rule (1-128 visible ASCII characters, expire_in 1..=86400)";

fn saved_lifetime(expire_in: u32) -> bool {
    (1..=MAX_SAVED_EXPIRE_IN).contains(&expire_in)
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
        grant: Credential {
            value: grant.member("value")?.string()?.into(),
            expire_in: whole(&grant.member("expire_in")?)?,
            expires_at: grant.member("expires_at")?.number()?,
        },
        obtained_at: json.member("obtained_at")?.number()?,
        sign_ticket: optional(json.member("sign_ticket"), read_ticket)?,
        sign_backoff: None,
    })
}

fn read_ticket<J: JsonView>(json: &J) -> Option<Ticket> {
    Some(Ticket {
        value: json.member("value")?.string()?.into(),
        expire_in: whole(&json.member("expire_in")?)?,
        expire_time: optional(json.member("expire_time"), J::string)?,
        transaction_time: optional(json.member("transaction_time"), J::string)?,
        expires_at: json.member("expires_at")?.number()?,
    })
}

const STATE_VERSION: u32 = 1;

/// `ticket` as usable with `token`: a ticket dies with the token that produced it, so it never
/// expires later than that token. `expire_in` stays as the service sent it.
pub fn within_token(mut ticket: Ticket, token: &Credential) -> Ticket {
    ticket.expires_at = ticket.expires_at.min(token.expires_at);
    ticket
}

impl CredentialCache {
    /// An empty cache that refreshes tokens older than `refresh_after_ms`.
    pub fn new(refresh_after_ms: f64) -> Self {
        CredentialCache {
            token: None,
            last_forced_refresh: None,
            refresh_after_ms,
            replace_current: false,
            token_backoff: None,
            previous_sign_ticket: None,
        }
    }

    /// What a caller that needs a token does at `now`, given whether a token request is already
    /// in flight. A due token is refreshed by one caller while every other caller keeps using
    /// it; while token requests wait out a failure, a valid token is used to its expiry.
    pub fn plan_token(&self, now: f64, refresh_in_flight: bool) -> TokenPlan {
        let usable = self
            .token
            .as_ref()
            .filter(|token| now < token.grant.expires_at);
        let backing_off = self
            .token_backoff
            .as_ref()
            .filter(|backoff| backoff.active(now));
        match (usable, backing_off) {
            (Some(token), _) if !self.is_due(token, now) => TokenPlan::Use(token.grant.clone()),
            (Some(token), Some(_)) => TokenPlan::Use(token.grant.clone()),
            (Some(token), None) if refresh_in_flight => TokenPlan::Use(token.grant.clone()),
            (Some(token), None) => TokenPlan::Refresh {
                fallback: Some(token.grant.clone()),
            },
            (None, Some(backoff)) => TokenPlan::Fail(backoff.replay(now)),
            (None, None) => TokenPlan::Refresh { fallback: None },
        }
    }

    fn is_due(&self, token: &CachedToken, now: f64) -> bool {
        now >= self.due_at(token)
    }

    fn due_at(&self, token: &CachedToken) -> f64 {
        if self.replace_current {
            return f64::NEG_INFINITY;
        }
        (token.obtained_at + self.refresh_after_ms).min(token.grant.expires_at - EXPIRY_MARGIN_MS)
    }

    /// When the client will next send a token request if asked: when the token is due, or when
    /// the wait after a failure ends, whichever is later. `now` when one is due now.
    pub fn next_refresh_at(&self, now: f64) -> f64 {
        let due = self
            .token
            .as_ref()
            .filter(|token| now < token.grant.expires_at)
            .map_or(now, |token| self.due_at(token));
        let wait_ends = self
            .token_backoff
            .as_ref()
            .map_or(now, |backoff| backoff.until);
        due.max(wait_ends).max(now)
    }

    /// Replaces the token (and with it the SIGN ticket, unless the token is the same one),
    /// ending any wait after failures. `obtained_at` is the clock just before the request was
    /// sent.
    pub fn store_token(&mut self, grant: Credential, obtained_at: f64) {
        let (sign_ticket, sign_backoff) = match self.token.take() {
            Some(same) if same.grant.value == grant.value => (same.sign_ticket, same.sign_backoff),
            Some(replaced) => {
                self.keep_as_previous(replaced.sign_ticket);
                (None, None)
            }
            None => (None, None),
        };
        self.token = Some(CachedToken {
            grant,
            obtained_at,
            sign_ticket,
            sign_backoff,
        });
        self.replace_current = false;
        self.token_backoff = None;
    }

    /// Remembers a failed token request: no other is sent until a wait of
    /// [`backoff_delay_ms`] has passed. Returns the error to answer, which says how long the
    /// wait is (`random` in `[0, 1)` draws it).
    pub fn token_failed(&mut self, error: FaceIdError, now: f64, random: f64) -> FaceIdError {
        remember(&mut self.token_backoff, error, now, random)
    }

    /// What a caller that needs the SIGN ticket of `token_value` does at `now`. While SIGN
    /// requests wait out a failure, a cached ticket is used to its expiry.
    pub fn plan_sign_ticket(&self, token_value: &str, now: f64) -> SignPlan {
        let Some(token) = self.current(token_value) else {
            return SignPlan::Fetch;
        };
        let backing_off = token
            .sign_backoff
            .as_ref()
            .filter(|backoff| backoff.active(now));
        match (&token.sign_ticket, backing_off) {
            (Some(ticket), _) if ticket.expires_at - now > EXPIRY_MARGIN_MS => {
                SignPlan::Use(ticket.clone())
            }
            (Some(ticket), Some(_)) if now < ticket.expires_at => SignPlan::Use(ticket.clone()),
            (_, Some(backoff)) => SignPlan::Fail(backoff.replay(now)),
            (_, None) => SignPlan::Fetch,
        }
    }

    /// Stores a SIGN ticket fetched with `token_value`, no longer-lived than that token; dropped
    /// if the token was replaced meanwhile, since the ticket died with it.
    pub fn store_sign_ticket(&mut self, token_value: &str, ticket: Ticket) {
        let Some(token) = self.current_mut(token_value) else {
            return;
        };
        let ticket = within_token(ticket, &token.grant);
        token.sign_backoff = None;
        let replaced = token.sign_ticket.replace(ticket);
        self.keep_as_previous(replaced);
    }

    fn keep_as_previous(&mut self, replaced: Option<Ticket>) {
        if replaced.is_some() {
            self.previous_sign_ticket = replaced;
        }
    }

    /// The SIGN ticket before the current one, while it has not expired.
    pub fn previous_sign_ticket(&self, now: f64) -> Option<&Ticket> {
        self.previous_sign_ticket
            .as_ref()
            .filter(|ticket| now < ticket.expires_at)
    }

    /// Remembers a failed SIGN request made with `token_value`, as [`Self::token_failed`] does
    /// for token requests; the memory dies with the token.
    pub fn sign_ticket_failed(
        &mut self,
        token_value: &str,
        error: FaceIdError,
        now: f64,
        random: f64,
    ) -> FaceIdError {
        match self.current_mut(token_value) {
            Some(token) => remember(&mut token.sign_backoff, error, now, random),
            None => error,
        }
    }

    /// Applies the forced-refresh rule after a ticket request made with `token_value` failed
    /// with an `api` error: replace the token only when it is still current, more than a minute
    /// old, no forced refresh happened in the last minute and token requests are not waiting out
    /// a failure. The refused token stays in use until its replacement arrives.
    pub fn on_rejected_token(&mut self, token_value: &str, now: f64) -> RetryDecision {
        let Some(token) = self.current(token_value) else {
            return RetryDecision::RetryWithCurrent;
        };
        if self
            .token_backoff
            .as_ref()
            .is_some_and(|backoff| backoff.active(now))
        {
            return RetryDecision::GiveUp;
        }
        if self.replace_current {
            // Already being replaced: wait for that replacement, without counting another.
            return RetryDecision::RetryAfterRefresh;
        }
        let old_enough = now - token.obtained_at > FORCED_REFRESH_INTERVAL_MS;
        let rate_ok = self
            .last_forced_refresh
            .is_none_or(|last| now - last >= FORCED_REFRESH_INTERVAL_MS);
        if old_enough && rate_ok {
            self.replace_current = true;
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
            previous_sign_ticket: self.previous_sign_ticket.clone(),
        }
    }

    /// Restores a cache exported by [`CredentialCache::export`] for the same app, refusing a
    /// state that cannot be right at `now`; `None` is a string that did not read as a saved
    /// state at all.
    pub fn import(
        state: Option<SavedState>,
        app_id: &str,
        refresh_after_ms: f64,
        now: f64,
    ) -> Result<Self, FaceIdError> {
        let state =
            state.ok_or_else(|| invalid_state("is not a state exported by exportState()"))?;
        if state.v != STATE_VERSION {
            return Err(invalid_state("was exported by an incompatible version"));
        }
        if state.app_id != app_id {
            return Err(invalid_state("belongs to another appId"));
        }
        if let Some(rule) = state.implausibility(now) {
            return Err(invalid_state(rule));
        }
        Ok(CredentialCache {
            token: state.token,
            last_forced_refresh: state.last_forced_refresh,
            previous_sign_ticket: state.previous_sign_ticket,
            ..CredentialCache::new(refresh_after_ms)
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
    use crate::redacted::Redacted;

    const MINUTE: f64 = 60_000.0;
    const T0: f64 = 1_700_000_000_000.0;

    fn grant(value: &str, expire_in: u32, sent_at: f64) -> Credential {
        Credential {
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

    fn down() -> FaceIdError {
        FaceIdError::Http { status: 503 }
    }

    /// The token a plan uses at once, if any.
    fn used(plan: TokenPlan) -> Option<Redacted> {
        match plan {
            TokenPlan::Use(grant) => Some(grant.value),
            _ => None,
        }
    }

    fn fallback(plan: TokenPlan) -> Option<Option<Redacted>> {
        match plan {
            TokenPlan::Refresh { fallback } => Some(fallback.map(|grant| grant.value)),
            _ => None,
        }
    }

    #[test]
    fn a_token_is_used_until_it_is_old_then_refreshed_with_itself_as_fallback() {
        let cache = cache_with_token("t1");
        assert_eq!(used(cache.plan_token(T0, false)).as_deref(), Some("t1"));
        let young = T0 + 20.0 * MINUTE - 1.0;
        assert_eq!(used(cache.plan_token(young, false)).as_deref(), Some("t1"));
        let old = T0 + 20.0 * MINUTE;
        assert_eq!(
            fallback(cache.plan_token(old, false)),
            Some(Some("t1".into()))
        );
        let nearly_dead = T0 + 120.0 * MINUTE - 1.0;
        assert_eq!(
            fallback(cache.plan_token(nearly_dead, false)),
            Some(Some("t1".into()))
        );
        assert_eq!(
            fallback(cache.plan_token(T0 + 120.0 * MINUTE, false)),
            Some(None)
        );
        let empty = CredentialCache::new(MINUTE);
        assert_eq!(fallback(empty.plan_token(T0, false)), Some(None));
    }

    #[test]
    fn while_a_due_token_is_being_refreshed_every_other_caller_uses_it_at_once() {
        let cache = cache_with_token("t1");
        let old = T0 + 30.0 * MINUTE;
        assert_eq!(used(cache.plan_token(old, true)).as_deref(), Some("t1"));
        // Without a usable token there is nothing to use: everyone waits for the one request.
        let dead = T0 + 121.0 * MINUTE;
        assert_eq!(fallback(cache.plan_token(dead, true)), Some(None));
    }

    #[test]
    fn a_token_expiring_within_a_minute_is_due_even_when_young() {
        let mut cache = CredentialCache::new(20.0 * MINUTE);
        cache.store_token(grant("short", 90, T0), T0);
        assert!(used(cache.plan_token(T0 + 29_000.0, false)).is_some());
        assert!(fallback(cache.plan_token(T0 + 30_000.0, false)).is_some());
        assert_eq!(cache.next_refresh_at(T0), T0 + 30_000.0);
    }

    #[test]
    fn backoff_delays_double_from_one_second_to_a_minute_within_their_upper_half() {
        let bounds = |failures| {
            (
                backoff_delay_ms(failures, 0.0),
                backoff_delay_ms(failures, 1.0),
            )
        };
        assert_eq!(bounds(1), (500.0, 1_000.0));
        assert_eq!(bounds(2), (1_000.0, 2_000.0));
        assert_eq!(bounds(6), (16_000.0, 32_000.0));
        assert_eq!(bounds(7), (30_000.0, 60_000.0));
        assert_eq!(bounds(u32::MAX), (30_000.0, 60_000.0));
        assert_eq!(backoff_delay_ms(3, 0.5), 3_000.0);
    }

    #[test]
    fn a_failed_token_request_without_a_token_fails_every_caller_at_once_until_the_wait_ends() {
        let mut cache = CredentialCache::new(20.0 * MINUTE);
        let answered = cache.token_failed(down(), T0, 0.5);
        assert_eq!(answered.cause(), &down());
        assert_eq!(answered.retry_after_ms(), Some(750));
        match cache.plan_token(T0 + 700.0, false) {
            TokenPlan::Fail(error) => {
                assert_eq!(error.cause(), &down());
                assert_eq!(error.retry_after_ms(), Some(50));
            }
            other => panic!("expected a replayed failure, got {other:?}"),
        }
        assert_eq!(cache.next_refresh_at(T0 + 700.0), T0 + 750.0);
        assert_eq!(fallback(cache.plan_token(T0 + 750.0, false)), Some(None));
    }

    #[test]
    fn consecutive_failures_double_the_wait_and_a_success_resets_it() {
        let mut cache = CredentialCache::new(20.0 * MINUTE);
        let waits: Vec<_> = (0..8)
            .map(|_| cache.token_failed(down(), T0, 1.0).retry_after_ms())
            .collect();
        let expected = [1, 2, 4, 8, 16, 32, 60, 60].map(|s| Some(s * 1000));
        assert_eq!(waits, expected);
        cache.store_token(grant("t1", 7200, T0), T0);
        assert_eq!(
            cache.token_failed(down(), T0, 1.0).retry_after_ms(),
            Some(1000)
        );
    }

    #[test]
    fn aborts_and_invalid_arguments_are_not_remembered() {
        let mut cache = CredentialCache::new(20.0 * MINUTE);
        assert_eq!(
            cache.token_failed(FaceIdError::Aborted, T0, 0.0),
            FaceIdError::Aborted
        );
        let invalid = FaceIdError::InvalidArgument {
            field: "secret",
            rule: "r",
        };
        assert_eq!(cache.token_failed(invalid.clone(), T0, 0.0), invalid);
        assert_eq!(fallback(cache.plan_token(T0, false)), Some(None));
        for remembered in [
            FaceIdError::Timeout { timeout_ms: 1 },
            FaceIdError::bad_response("x"),
            FaceIdError::Network { detail: "d".into() },
        ] {
            let mut cache = CredentialCache::new(MINUTE);
            cache.token_failed(remembered, T0, 0.0);
            assert!(matches!(cache.plan_token(T0, false), TokenPlan::Fail(_)));
        }
    }

    #[test]
    fn while_token_requests_wait_out_a_failure_a_due_token_is_used_until_it_expires() {
        let mut cache = cache_with_token("t1");
        let old = T0 + 110.0 * MINUTE;
        cache.token_failed(down(), old, 1.0);
        // Inside the expiry margin, but still valid: used, not refreshed.
        let nearly_dead = T0 + 120.0 * MINUTE - 1.0;
        cache.token_failed(down(), old + 1000.0, 1.0);
        assert_eq!(
            used(cache.plan_token(old + 1500.0, false)).as_deref(),
            Some("t1")
        );
        assert_eq!(cache.next_refresh_at(old + 1500.0), old + 3000.0);
        let mut long_wait = cache.clone();
        long_wait.token_failed(down(), nearly_dead - 1000.0, 1.0);
        assert_eq!(
            used(long_wait.plan_token(nearly_dead, false)).as_deref(),
            Some("t1")
        );
        assert!(matches!(
            long_wait.plan_token(T0 + 120.0 * MINUTE, false),
            TokenPlan::Fail(_)
        ));
    }

    /// A token owner under a 10-minute outage of the token endpoint: a caller every 100 ms and an
    /// alarm armed at `next_refresh_at`, with the shortest waits the jitter can draw.
    fn token_requests_during_an_outage(mut cache: CredentialCache, start: f64) -> u32 {
        let mut requests = 0;
        let mut alarm = cache.next_refresh_at(start);
        let mut now = start;
        while now < start + 10.0 * MINUTE {
            let alarm_due = alarm <= now;
            for _caller in 0..=u32::from(alarm_due) {
                if let TokenPlan::Refresh { .. } = cache.plan_token(now, false) {
                    requests += 1;
                    cache.token_failed(down(), now, 0.0);
                }
            }
            if alarm_due {
                alarm = cache.next_refresh_at(now).max(now + 1000.0);
            }
            now += 100.0;
        }
        requests
    }

    #[test]
    fn a_ten_minute_outage_costs_at_most_25_token_requests() {
        let due = T0 + 20.0 * MINUTE;
        let with_token = token_requests_during_an_outage(cache_with_token("t1"), due);
        let without = token_requests_during_an_outage(CredentialCache::new(20.0 * MINUTE), T0);
        assert_eq!((with_token, without), (25, 25));
    }

    #[test]
    fn the_next_refresh_is_the_later_of_the_due_time_and_the_end_of_the_wait() {
        let mut cache = cache_with_token("t1");
        assert_eq!(cache.next_refresh_at(T0), T0 + 20.0 * MINUTE);
        let due = T0 + 20.0 * MINUTE;
        assert_eq!(cache.next_refresh_at(due + 5.0), due + 5.0);
        cache.token_failed(down(), due, 1.0);
        assert_eq!(cache.next_refresh_at(due), due + 1000.0);
        assert_eq!(CredentialCache::new(MINUTE).next_refresh_at(T0), T0);
    }

    #[test]
    fn the_sign_ticket_dies_with_its_token_and_never_outlives_it() {
        let mut cache = CredentialCache::new(20.0 * MINUTE);
        cache.store_token(grant("t1", 1800, T0), T0);
        cache.store_sign_ticket("t1", ticket("s1", 3600, T0));
        match cache.plan_sign_ticket("t1", T0) {
            SignPlan::Use(ticket) => {
                assert_eq!(ticket.value, "s1");
                assert_eq!(ticket.expire_in, 3600);
                assert_eq!(ticket.expires_at, T0 + 1_800_000.0);
            }
            other => panic!("expected the cached ticket, got {other:?}"),
        }
        cache.store_token(grant("t2", 7200, T0 + 1.0), T0 + 1.0);
        assert_eq!(cache.plan_sign_ticket("t1", T0 + 2.0), SignPlan::Fetch);
        assert_eq!(cache.plan_sign_ticket("t2", T0 + 2.0), SignPlan::Fetch);
        let capped = within_token(ticket("n", 120, T0), &grant("t", 60, T0));
        assert_eq!((capped.expire_in, capped.expires_at), (120, T0 + 60_000.0));
    }

    #[test]
    fn the_previous_sign_ticket_is_kept_until_it_expires_and_travels_in_the_state() {
        let mut cache = cache_with_token("t1");
        assert_eq!(cache.previous_sign_ticket(T0), None);
        cache.store_sign_ticket("t1", ticket("s1", 3600, T0));
        assert_eq!(cache.previous_sign_ticket(T0), None);
        cache.store_sign_ticket("t1", ticket("s2", 3600, T0 + MINUTE));
        assert_eq!(
            cache.previous_sign_ticket(T0).map(|t| t.value.as_str()),
            Some("s1")
        );
        // A new token retires its SIGN ticket into the previous one; a token without one
        // leaves the previous one alone.
        let later = T0 + 30.0 * MINUTE;
        cache.store_token(grant("t2", 7200, later), later);
        assert_eq!(
            cache.previous_sign_ticket(later).map(|t| t.value.as_str()),
            Some("s2")
        );
        cache.store_token(grant("t3", 7200, later), later);
        assert_eq!(
            cache.previous_sign_ticket(later).map(|t| t.value.as_str()),
            Some("s2")
        );
        assert_eq!(cache.previous_sign_ticket(T0 + 61.0 * MINUTE), None);

        let state = to_json(&cache.export("IDA1"));
        let restored = CredentialCache::import(from_json(&state), "IDA1", 20.0 * MINUTE, later);
        let restored = restored.unwrap();
        assert_eq!(
            restored
                .previous_sign_ticket(later)
                .map(|t| t.value.as_str()),
            Some("s2")
        );
        let mut broken = cache.export("IDA1");
        if let Some(previous) = broken.previous_sign_ticket.as_mut() {
            previous.value = "has space".into();
        }
        let refused = CredentialCache::import(Some(broken), "IDA1", MINUTE, later);
        assert!(rule_of(refused).contains("token rule"));
    }

    #[test]
    fn a_sign_ticket_fetched_with_a_replaced_token_is_not_stored() {
        let mut cache = cache_with_token("t2");
        cache.store_sign_ticket("t1", ticket("late", 3600, T0));
        assert_eq!(cache.plan_sign_ticket("t2", T0), SignPlan::Fetch);
    }

    #[test]
    fn a_sign_ticket_expiring_within_a_minute_is_refetched() {
        let mut cache = cache_with_token("t1");
        cache.store_sign_ticket("t1", ticket("s1", 3600, T0));
        let plan = cache.plan_sign_ticket("t1", T0 + 59.0 * MINUTE - 1.0);
        assert!(matches!(plan, SignPlan::Use(_)));
        assert_eq!(
            cache.plan_sign_ticket("t1", T0 + 59.0 * MINUTE),
            SignPlan::Fetch
        );
    }

    #[test]
    fn failing_sign_requests_wait_per_token_and_keep_a_valid_ticket_in_use() {
        let mut cache = cache_with_token("t1");
        let answered = cache.sign_ticket_failed("t1", down(), T0, 0.0);
        assert_eq!(answered.retry_after_ms(), Some(500));
        assert!(matches!(
            cache.plan_sign_ticket("t1", T0 + 10.0),
            SignPlan::Fail(_)
        ));
        assert_eq!(cache.plan_sign_ticket("t1", T0 + 500.0), SignPlan::Fetch);
        cache.store_sign_ticket("t1", ticket("s1", 3600, T0));
        let due = T0 + 59.5 * MINUTE;
        cache.sign_ticket_failed("t1", down(), due, 1.0);
        assert!(matches!(
            cache.plan_sign_ticket("t1", due + 1.0),
            SignPlan::Use(_)
        ));
        // A new token starts without the old one's failures; a replaced token remembers nothing.
        cache.store_token(grant("t2", 7200, due), due);
        assert_eq!(cache.plan_sign_ticket("t2", due + 1.0), SignPlan::Fetch);
        assert_eq!(cache.sign_ticket_failed("t1", down(), due, 0.0), down());
    }

    #[test]
    fn forced_refresh_needs_an_old_current_token_and_at_most_one_a_minute() {
        let mut cache = cache_with_token("t1");
        assert_eq!(
            cache.on_rejected_token("t1", T0 + MINUTE),
            RetryDecision::GiveUp
        );
        let forced_at = T0 + MINUTE + 1.0;
        assert_eq!(
            cache.on_rejected_token("t1", forced_at),
            RetryDecision::RetryAfterRefresh
        );
        // The refused token stays the fallback until its replacement arrives.
        assert_eq!(
            fallback(cache.plan_token(forced_at, false)),
            Some(Some("t1".into()))
        );
        assert_eq!(
            used(cache.plan_token(forced_at, true)).as_deref(),
            Some("t1")
        );
        assert_eq!(cache.next_refresh_at(forced_at), forced_at);
        // Others refused meanwhile wait for the same replacement.
        assert_eq!(
            cache.on_rejected_token("t1", forced_at + 1.0),
            RetryDecision::RetryAfterRefresh
        );

        // The new token is refused too (say, the secret changed): no second force this minute.
        let now = T0 + 3.0 * MINUTE;
        cache.store_token(grant("t2", 7200, T0), T0);
        assert_eq!(
            cache.on_rejected_token("t2", forced_at + MINUTE - 1.0),
            RetryDecision::GiveUp
        );
        assert_eq!(
            cache.on_rejected_token("t2", now),
            RetryDecision::RetryAfterRefresh
        );
    }

    #[test]
    fn a_failed_forced_refresh_keeps_the_token_and_waits_like_any_failure() {
        let mut cache = cache_with_token("t1");
        let forced_at = T0 + 10.0 * MINUTE;
        assert_eq!(
            cache.on_rejected_token("t1", forced_at),
            RetryDecision::RetryAfterRefresh
        );
        cache.token_failed(down(), forced_at, 1.0);
        assert_eq!(
            used(cache.plan_token(forced_at + 10.0, false)).as_deref(),
            Some("t1")
        );
        // Skipped while waiting, and counted toward the one a minute afterwards.
        assert_eq!(
            cache.on_rejected_token("t1", forced_at + 10.0),
            RetryDecision::GiveUp
        );
        assert_eq!(
            fallback(cache.plan_token(forced_at + 1000.0, false)),
            Some(Some("t1".into()))
        );
        let after_wait = forced_at + 2000.0;
        assert_eq!(
            cache.on_rejected_token("t1", after_wait),
            RetryDecision::RetryAfterRefresh
        );
        cache.store_token(grant("t2", 7200, after_wait), after_wait);
        let later = after_wait + 2.0 * MINUTE;
        assert_eq!(
            cache.on_rejected_token("t2", later),
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
        assert_eq!(
            used(cache.plan_token(T0 + 10.0 * MINUTE, false)).as_deref(),
            Some("t2")
        );
    }

    #[test]
    fn export_and_import_round_trip_without_the_secret() {
        let mut cache = cache_with_token("tok-123");
        cache.store_sign_ticket("tok-123", ticket("sign-456", 3600, T0));
        let forced_at = T0 + 2.0 * MINUTE;
        assert_eq!(
            cache.on_rejected_token("tok-123", forced_at),
            RetryDecision::RetryAfterRefresh
        );
        cache.store_token(grant("tok-789", 7200, forced_at), forced_at);
        cache.store_sign_ticket("tok-789", ticket("sign-000", 3600, forced_at));
        let state = to_json(&cache.export("IDA1"));
        assert!(state.contains("tok-789") && state.contains("sign-000"));
        let restored = CredentialCache::import(from_json(&state), "IDA1", 20.0 * MINUTE, forced_at);
        assert_eq!(restored.unwrap(), cache);
    }

    fn rule_of(result: Result<CredentialCache, FaceIdError>) -> &'static str {
        match result {
            Err(FaceIdError::InvalidArgument {
                field: "state",
                rule,
            }) => rule,
            other => panic!("expected invalid state, got {other:?}"),
        }
    }

    #[test]
    fn import_refuses_foreign_or_unreadable_states() {
        let state = cache_with_token("t").export("IDA1");
        let other_app = CredentialCache::import(Some(state.clone()), "IDA2", MINUTE, T0);
        assert!(rule_of(other_app).contains("another appId"));
        let future = SavedState {
            v: 2,
            ..state.clone()
        };
        let newer = CredentialCache::import(Some(future), "IDA1", MINUTE, T0);
        assert!(rule_of(newer).contains("incompatible"));
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
        let restored = CredentialCache::import(from_json(empty), "IDA1", MINUTE, T0).unwrap();
        assert_eq!(fallback(restored.plan_token(T0, false)), Some(None));
    }

    #[test]
    fn import_refuses_states_that_cannot_be_right() {
        let mut good = cache_with_token("tok");
        good.store_sign_ticket("tok", ticket("sig", 3600, T0));
        let now = T0 + MINUTE;
        let base = good.export("IDA1");
        let import =
            |state: &SavedState| CredentialCache::import(Some(state.clone()), "IDA1", MINUTE, now);
        assert!(import(&base).is_ok());
        let broken = |change: &dyn Fn(&mut CachedToken)| {
            let mut state = base.clone();
            if let Some(token) = state.token.as_mut() {
                change(token);
            }
            rule_of(import(&state))
        };
        let token_rule = "breaks the token rule";
        assert!(broken(&|t| t.grant.value = "a b".into()).contains(token_rule));
        assert!(broken(&|t| t.grant.value = "a".repeat(129).into()).contains(token_rule));
        assert!(broken(&|t| t.grant.value = String::new().into()).contains(token_rule));
        let bad_ticket = |t: &mut CachedToken| {
            if let Some(sign) = t.sign_ticket.as_mut() {
                sign.value = "tab\t".into();
            }
        };
        assert!(broken(&bad_ticket).contains(token_rule));
        let shift = |t: &mut CachedToken, by: f64| {
            t.obtained_at += by;
            t.grant.expires_at += by;
        };
        assert!(broken(&|t| shift(t, MINUTE + 5.0 * MINUTE + 1.0)).contains("future"));
        let within_skew = |t: &mut CachedToken| shift(t, MINUTE + 5.0 * MINUTE - 1.0);
        let mut skewed = base.clone();
        if let Some(token) = skewed.token.as_mut() {
            within_skew(token);
            token.sign_ticket = None;
        }
        assert!(import(&skewed).is_ok());
        assert!(broken(&|t| t.obtained_at = f64::INFINITY).contains("future"));
        assert!(broken(&|t| t.grant.expires_at += 5_001.0).contains("disagrees"));
        assert!(broken(&|t| t.grant.expires_at = f64::NAN).contains("disagrees"));
        let mut drift_ok = base.clone();
        if let Some(token) = drift_ok.token.as_mut() {
            token.grant.expires_at -= 5_000.0;
            token.sign_ticket = None;
        }
        assert!(import(&drift_ok).is_ok());
        let lifetime = |expire_in: u32| {
            move |t: &mut CachedToken| {
                t.grant.expire_in = expire_in;
                t.grant.expires_at = t.obtained_at + f64::from(expire_in) * 1000.0;
                t.sign_ticket = None;
            }
        };
        assert!(broken(&lifetime(0)).contains("expire_in"));
        assert!(broken(&lifetime(86_401)).contains("expire_in"));
        let outliving = |t: &mut CachedToken| {
            if let Some(sign) = t.sign_ticket.as_mut() {
                sign.expires_at = t.grant.expires_at + 1.0;
            }
        };
        assert!(broken(&outliving).contains("outlives"));
        for forced in [now + 1.0, f64::INFINITY, f64::NAN] {
            let state = SavedState {
                last_forced_refresh: Some(forced),
                ..base.clone()
            };
            assert!(
                rule_of(import(&state)).contains("forced-refresh"),
                "{forced}"
            );
        }
        let forced_now = SavedState {
            last_forced_refresh: Some(now),
            ..base.clone()
        };
        assert!(import(&forced_now).is_ok());
    }

    fn to_json(state: &SavedState) -> String {
        serde_json::to_string(state).unwrap()
    }

    fn from_json(json: &str) -> Option<SavedState> {
        SavedState::read(&serde_json::from_str::<serde_json::Value>(json).ok()?)
    }
}
