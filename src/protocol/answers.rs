//! What the FaceID endpoints answer, and how an answer becomes a value or a [`FaceIdError`].
//!
//! Pure functions over a parsed answer (see [`super::json`]), so every rule is tested on the host.

use super::json::{JsonKind, JsonView};
use crate::error::FaceIdError;
use crate::params::is_credential;
use crate::redacted::Redacted;
use crate::text::decimal;
use serde::Serialize;

/// The longest `expire_in` accepted (ten years): anything larger is a broken answer, and keeps
/// `expires_at` well inside the integers a JS number holds exactly.
const MAX_EXPIRE_IN: u64 = 10 * 365 * 24 * 3600;

/// A SIGN or NONCE ticket, as the service answered it. Field names are the JS result's
/// (`NonceTicket`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ticket {
    /// The ticket itself.
    pub value: Redacted,
    /// Seconds it lives, from the answer: the authority on validity.
    pub expire_in: u32,
    /// The service's absolute expiry time (`yyyyMMddHHmmss`, zone unknown): display only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
    /// The service's `transactionTime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_time: Option<String>,
    /// Milliseconds since the epoch: the local clock just before sending, plus `expire_in`.
    pub expires_at: f64,
}

/// An access token or SIGN ticket: its value and validity. Field names are the JS result's
/// (`Credential`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Credential {
    /// The token or ticket itself.
    pub value: Redacted,
    /// Seconds it lives, from the answer that granted it.
    pub expire_in: u32,
    /// Milliseconds since the epoch: the local clock just before sending, plus `expire_in`.
    pub expires_at: f64,
}

impl From<Ticket> for Credential {
    /// The ticket's value and validity, without the service's display fields.
    fn from(ticket: Ticket) -> Self {
        Credential {
            value: ticket.value,
            expire_in: ticket.expire_in,
            expires_at: ticket.expires_at,
        }
    }
}

/// Reads an `/api/oauth2/api_ticket` answer; `sent_at_ms` is the local clock just before sending.
pub fn parse_ticket_answer<J: JsonView>(
    answer: &J,
    sent_at_ms: f64,
) -> Result<Ticket, FaceIdError> {
    check_code(answer)?;
    let ticket = match answer.member("tickets") {
        Some(tickets) if tickets.kind() == JsonKind::Array => tickets
            .first()
            .ok_or_else(|| FaceIdError::bad_response("`tickets` is empty"))?,
        Some(_) => return Err(FaceIdError::bad_response("`tickets` is not an array")),
        None => return Err(FaceIdError::bad_response("`tickets` is missing")),
    };
    if ticket.kind() != JsonKind::Object {
        return Err(FaceIdError::bad_response("the ticket is not an object"));
    }
    let value = credential(&ticket, "value", "the ticket")?;
    let expire_in = expire_in(&ticket)?;
    Ok(Ticket {
        value,
        expire_in,
        expire_time: optional_string(&ticket, "expire_time"),
        transaction_time: optional_string(answer, "transactionTime"),
        expires_at: expires_at(sent_at_ms, expire_in),
    })
}

/// Reads an `/api/oauth2/access_token` answer; `sent_at_ms` is the local clock just before
/// sending.
pub fn parse_access_token_answer<J: JsonView>(
    answer: &J,
    sent_at_ms: f64,
) -> Result<Credential, FaceIdError> {
    check_code(answer)?;
    let value = credential(answer, "access_token", "the access token")?;
    let expire_in = expire_in(answer)?;
    Ok(Credential {
        value,
        expire_in,
        expires_at: expires_at(sent_at_ms, expire_in),
    })
}

/// A token or ticket value that keeps the token rule; one that does not would be cached and then
/// refused by our own validation, so it is a broken answer from the start.
fn credential<J: JsonView>(
    object: &J,
    key: &'static str,
    what: &'static str,
) -> Result<Redacted, FaceIdError> {
    let value = non_empty_string(object, key)?;
    if is_credential(&value) {
        Ok(value.into())
    } else {
        Err(FaceIdError::bad_response(
            [what, " is not 1-128 visible ASCII characters"].concat(),
        ))
    }
}

fn expires_at(sent_at_ms: f64, expire_in: u32) -> f64 {
    sent_at_ms + f64::from(expire_in) * 1000.0
}

/// Succeeds when the answer is an object whose `code` is `"0"` or `0`; any other code is an
/// `api` error carrying the service's `msg` and `transactionTime`.
pub(crate) fn check_code<J: JsonView>(answer: &J) -> Result<(), FaceIdError> {
    let code = read_code(answer)?;
    if code == "0" {
        Ok(())
    } else {
        Err(api_error(answer, code))
    }
}

/// The `code` of an answer that must be a JSON object, as a string even when sent as a number.
pub(crate) fn read_code<J: JsonView>(answer: &J) -> Result<String, FaceIdError> {
    if answer.kind() != JsonKind::Object {
        return Err(FaceIdError::bad_response("the body is not a JSON object"));
    }
    let code = answer
        .member("code")
        .ok_or_else(|| FaceIdError::bad_response("`code` is missing"))?;
    match code.kind() {
        JsonKind::String => Ok(code.string().unwrap_or_default()),
        JsonKind::Number => Ok(number_text(code.number().unwrap_or(f64::NAN))),
        _ => Err(FaceIdError::bad_response(
            "`code` is not a string or number",
        )),
    }
}

/// The `api` error of an answer refused with `code`, carrying its `msg` and `transactionTime`.
pub(crate) fn api_error<J: JsonView>(answer: &J, code: String) -> FaceIdError {
    FaceIdError::Api {
        code,
        msg: optional_string(answer, "msg").unwrap_or_default(),
        transaction_time: optional_string(answer, "transactionTime"),
    }
}

/// A numeric `code` as the service would have written it as a string: whole numbers without a
/// fraction (`66660004`), anything else marked as such.
fn number_text(number: f64) -> String {
    if number.fract() == 0.0 && number.abs() < 9_007_199_254_740_992.0 {
        // Exact: a whole number within the integers a double holds.
        decimal(number as i64)
    } else {
        String::from("non-integer")
    }
}

/// `bad_response` about the answer's member `key`: "`key` is missing", and the like.
pub(crate) fn member_error(key: &str, what: &str) -> FaceIdError {
    FaceIdError::bad_response(["`", key, what].concat())
}

pub(crate) fn optional_string<J: JsonView>(object: &J, key: &'static str) -> Option<String> {
    object.member(key).and_then(|value| value.string())
}

pub(crate) fn non_empty_string<J: JsonView>(
    object: &J,
    key: &'static str,
) -> Result<String, FaceIdError> {
    let value = object
        .member(key)
        .ok_or_else(|| member_error(key, "` is missing"))?;
    match value.string() {
        Some(text) if !text.is_empty() => Ok(text),
        Some(_) => Err(member_error(key, "` is empty")),
        None => Err(member_error(key, "` is not a string")),
    }
}

/// `expire_in` as a positive whole number of seconds, sent either as a number or as a decimal
/// string (the documentation's own example sends `"120"`; real answers send `120`).
fn expire_in<J: JsonView>(object: &J) -> Result<u32, FaceIdError> {
    let value = object
        .member("expire_in")
        .ok_or_else(|| FaceIdError::bad_response("`expire_in` is missing"))?;
    let seconds = match value.kind() {
        JsonKind::Number => value
            .number()
            .filter(|n| n.fract() == 0.0 && (1.0..=MAX_EXPIRE_IN as f64).contains(n))
            .map(|n| n as u64),
        JsonKind::String => value
            .string()
            .filter(|text| {
                !text.is_empty() && text.len() <= 12 && text.bytes().all(|b| b.is_ascii_digit())
            })
            .and_then(|text| text.parse::<u64>().ok()),
        _ => None,
    };
    match seconds {
        Some(seconds @ 1..=MAX_EXPIRE_IN) => Ok(seconds as u32),
        _ => Err(FaceIdError::bad_response(
            "`expire_in` is not a positive whole number of seconds",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::json::parse_body as parsed;

    const SENT_AT: f64 = 1_700_000_000_000.0;

    fn ticket(body: &str) -> Result<Ticket, FaceIdError> {
        parse_ticket_answer(&parsed(body)?, SENT_AT)
    }

    fn access_token(body: &str, sent_at: f64) -> Result<Credential, FaceIdError> {
        parse_access_token_answer(&parsed(body)?, sent_at)
    }

    fn bad_reason(result: Result<impl std::fmt::Debug, FaceIdError>) -> String {
        match result {
            Err(FaceIdError::BadResponse { reason }) => reason,
            other => panic!("expected bad_response, got {other:?}"),
        }
    }

    #[test]
    fn parses_the_documented_example_with_string_expire_in() {
        let parsed = ticket(
            r#"{"code":"0","msg":"请求成功","transactionTime":"20151022044027",
               "tickets":[{"value":"ticket_string","expire_in":"120","expire_time":"20151022044027"}]}"#,
        )
        .unwrap();
        assert_eq!(parsed.value, "ticket_string");
        assert_eq!(parsed.expire_in, 120);
        assert_eq!(parsed.expire_time.as_deref(), Some("20151022044027"));
        assert_eq!(parsed.transaction_time.as_deref(), Some("20151022044027"));
        assert_eq!(parsed.expires_at, SENT_AT + 120_000.0);
    }

    #[test]
    fn parses_a_real_answer_with_numeric_expire_in_and_extra_fields() {
        let parsed = ticket(
            r#"{"code":"0","msg":"请求成功","bizSeqNo":"2407","transactionTime":"20240726143840",
               "success":true,"tickets":[{"value":"T1","expire_in":3600,"expire_time":"x"},{"value":"T2","expire_in":1}]}"#,
        )
        .unwrap();
        assert_eq!((parsed.value.as_str(), parsed.expire_in), ("T1", 3600));
        assert_eq!(parsed.expires_at, SENT_AT + 3_600_000.0);
    }

    #[test]
    fn numeric_code_zero_is_success_and_optional_fields_may_be_absent() {
        let parsed = ticket(r#"{"code":0,"tickets":[{"value":"v","expire_in":120.0}]}"#).unwrap();
        assert_eq!(parsed.expire_in, 120);
        assert_eq!(parsed.expire_time, None);
        assert_eq!(parsed.transaction_time, None);
    }

    #[test]
    fn non_zero_code_is_an_api_error_with_its_details() {
        let error = ticket(
            r#"{"code":"400201","msg":"access_token 无效","transactionTime":"20240101000000"}"#,
        )
        .unwrap_err();
        assert_eq!(
            error,
            FaceIdError::Api {
                code: "400201".into(),
                msg: "access_token 无效".into(),
                transaction_time: Some("20240101000000".into()),
            }
        );
        let numeric = ticket(r#"{"code":66660004,"msg":"m"}"#).unwrap_err();
        assert!(matches!(numeric, FaceIdError::Api { ref code, .. } if code == "66660004"));
        let bare = ticket(r#"{"code":"1"}"#).unwrap_err();
        assert!(
            matches!(bare, FaceIdError::Api { ref msg, transaction_time: None, .. } if msg.is_empty())
        );
    }

    #[test]
    fn unusable_bodies_are_bad_responses() {
        for (body, reason) in [
            ("<html>busy</html>", "not valid JSON"),
            (r#"{"code":"0","tickets":["#, "not valid JSON"),
            ("", "not valid JSON"),
            ("[1]", "not a JSON object"),
            ("null", "not a JSON object"),
            (r#"{"msg":"x"}"#, "`code` is missing"),
            (r#"{"code":null}"#, "`code` is not"),
            (r#"{"code":"0"}"#, "`tickets` is missing"),
            (r#"{"code":"0","tickets":{}}"#, "not an array"),
            (r#"{"code":"0","tickets":[]}"#, "`tickets` is empty"),
            (r#"{"code":"0","tickets":[7]}"#, "not an object"),
            (
                r#"{"code":"0","tickets":[{"expire_in":"120"}]}"#,
                "`value` is missing",
            ),
            (
                r#"{"code":"0","tickets":[{"value":"","expire_in":"120"}]}"#,
                "`value` is empty",
            ),
            (
                r#"{"code":"0","tickets":[{"value":5,"expire_in":"120"}]}"#,
                "`value` is not a string",
            ),
            (
                r#"{"code":"0","tickets":[{"value":"v"}]}"#,
                "`expire_in` is missing",
            ),
        ] {
            assert!(bad_reason(ticket(body)).contains(reason), "{body}");
        }
    }

    #[test]
    fn expire_in_must_be_a_positive_whole_number() {
        for bad in [
            r#""soon""#,
            r#""""#,
            r#""-1""#,
            r#""+5""#,
            r#"" 12""#,
            r#""1.5""#,
            r#""0""#,
            "0",
            "-3",
            "1.5",
            "true",
            "null",
            "[120]",
            r#""99999999999999999999999""#,
            "1e300",
        ] {
            let body = format!(r#"{{"code":"0","tickets":[{{"value":"v","expire_in":{bad}}}]}}"#);
            assert!(bad_reason(ticket(&body)).contains("expire_in"), "{bad}");
        }
    }

    #[test]
    fn numeric_codes_keep_their_digits() {
        assert_eq!(number_text(66660004.0), "66660004");
        assert_eq!(number_text(-1.0), "-1");
        assert_eq!(number_text(1.5), "non-integer");
        assert_eq!(number_text(1e300), "non-integer");
    }

    #[test]
    fn parses_access_tokens_with_either_expire_in_form() {
        let real = r#"{"code":"0","msg":"请求成功","bizSeqNo":"1","transactionTime":"20240726143638",
            "success":true,"access_token":"WAA0f","expire_in":7200,"expire_time":"20240726163638"}"#;
        let grant = access_token(real, SENT_AT).unwrap();
        assert_eq!((grant.value.as_str(), grant.expire_in), ("WAA0f", 7200));
        assert_eq!(grant.expires_at, SENT_AT + 7_200_000.0);
        let documented = r#"{"code":"0","access_token":"t","expire_in":"7200"}"#;
        assert_eq!(access_token(documented, 0.0).unwrap().expire_in, 7200);
        let missing = access_token(r#"{"code":"0","expire_in":1}"#, 0.0);
        assert!(bad_reason(missing).contains("access_token"));
    }

    #[test]
    fn arriving_tokens_and_tickets_must_keep_the_token_rule() {
        let token = |value: &str| {
            access_token(
                &format!(r#"{{"code":"0","access_token":"{value}","expire_in":7200}}"#),
                0.0,
            )
        };
        let ninety = "a".repeat(90);
        assert_eq!(token(&ninety).unwrap().value, ninety);
        assert!(token(&"a".repeat(128)).is_ok());
        for bad in [
            "a".repeat(129),
            "tok en".into(),
            "tok\\u00e9".into(),
            "t\\n".into(),
        ] {
            assert!(
                bad_reason(token(&bad)).contains("1-128 visible ASCII"),
                "{bad}"
            );
        }
        let ticket_of = |value: &str| {
            ticket(&format!(
                r#"{{"code":"0","tickets":[{{"value":"{value}","expire_in":120}}]}}"#
            ))
        };
        assert!(ticket_of(&"t".repeat(128)).is_ok());
        assert!(bad_reason(ticket_of(&"t".repeat(129))).contains("the ticket"));
        assert!(bad_reason(ticket_of("")).contains("empty"));
    }

    #[test]
    fn debug_never_prints_credential_values() {
        let parsed =
            ticket(r#"{"code":"0","tickets":[{"value":"SECRET-TICKET","expire_in":1}]}"#).unwrap();
        assert!(!format!("{parsed:?}").contains("SECRET-TICKET"));
    }
}
