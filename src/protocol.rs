//! What the FaceID endpoints answer, and how an answer becomes a value or a [`FaceIdError`].
//!
//! Pure functions over the body bytes, so every rule is tested on the host.

use crate::error::FaceIdError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The most body bytes read from any answer; reading stops past it.
pub const BODY_LIMIT: usize = 64 * 1024;

/// The longest `expire_in` accepted (ten years): anything larger is a broken answer, and keeps
/// `expires_at` well inside the integers a JS number holds exactly.
const MAX_EXPIRE_IN: u64 = 10 * 365 * 24 * 3600;

/// A SIGN or NONCE ticket. Field names are the JS result's.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    /// The ticket itself.
    pub value: String,
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

/// An access token as granted by `/api/oauth2/access_token`.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct AccessTokenGrant {
    /// The token itself.
    pub value: String,
    /// Seconds it lives, from the answer.
    pub expire_in: u32,
    /// Milliseconds since the epoch: the local clock just before sending, plus `expire_in`.
    pub expires_at: f64,
}

// Tickets and tokens are credentials: never print their values.
impl std::fmt::Debug for Ticket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ticket")
            .field("value", &"<redacted>")
            .field("expire_in", &self.expire_in)
            .field("expire_time", &self.expire_time)
            .field("transaction_time", &self.transaction_time)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl std::fmt::Debug for AccessTokenGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokenGrant")
            .field("value", &"<redacted>")
            .field("expire_in", &self.expire_in)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// Parses an `/api/oauth2/api_ticket` body; `sent_at_ms` is the local clock just before sending.
pub fn parse_ticket_response(body: &[u8], sent_at_ms: f64) -> Result<Ticket, FaceIdError> {
    let answer = successful_answer(body)?;
    let ticket = match answer.get("tickets") {
        Some(Value::Array(tickets)) => tickets
            .first()
            .ok_or_else(|| FaceIdError::bad_response("`tickets` is empty"))?,
        Some(_) => return Err(FaceIdError::bad_response("`tickets` is not an array")),
        None => return Err(FaceIdError::bad_response("`tickets` is missing")),
    };
    let ticket = ticket
        .as_object()
        .ok_or_else(|| FaceIdError::bad_response("the ticket is not an object"))?;
    let value = non_empty_string(ticket, "value")?;
    let expire_in = expire_in(ticket)?;
    Ok(Ticket {
        value,
        expire_in,
        expire_time: optional_string(ticket, "expire_time"),
        transaction_time: optional_string(&answer, "transactionTime"),
        expires_at: expires_at(sent_at_ms, expire_in),
    })
}

/// Parses an `/api/oauth2/access_token` body; `sent_at_ms` is the local clock just before sending.
pub fn parse_access_token_response(
    body: &[u8],
    sent_at_ms: f64,
) -> Result<AccessTokenGrant, FaceIdError> {
    let answer = successful_answer(body)?;
    let value = non_empty_string(&answer, "access_token")?;
    let expire_in = expire_in(&answer)?;
    Ok(AccessTokenGrant {
        value,
        expire_in,
        expires_at: expires_at(sent_at_ms, expire_in),
    })
}

fn expires_at(sent_at_ms: f64, expire_in: u32) -> f64 {
    sent_at_ms + f64::from(expire_in) * 1000.0
}

/// The answer as an object whose `code` is `"0"` or `0`; any other code is an `api` error.
fn successful_answer(body: &[u8]) -> Result<Map<String, Value>, FaceIdError> {
    if body.len() > BODY_LIMIT {
        return Err(body_too_large());
    }
    let answer = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(answer)) => answer,
        Ok(_) => return Err(FaceIdError::bad_response("the body is not a JSON object")),
        Err(_) => return Err(FaceIdError::bad_response("the body is not valid JSON")),
    };
    let code = match answer.get("code") {
        Some(Value::String(code)) => code.clone(),
        Some(Value::Number(code)) => code.to_string(),
        Some(_) => {
            return Err(FaceIdError::bad_response(
                "`code` is not a string or number",
            ))
        }
        None => return Err(FaceIdError::bad_response("`code` is missing")),
    };
    if code == "0" {
        Ok(answer)
    } else {
        Err(FaceIdError::Api {
            code,
            msg: optional_string(&answer, "msg").unwrap_or_default(),
            transaction_time: optional_string(&answer, "transactionTime"),
        })
    }
}

pub(crate) fn body_too_large() -> FaceIdError {
    FaceIdError::BadResponse {
        reason: format!("the body is larger than {BODY_LIMIT} bytes"),
    }
}

fn optional_string(object: &Map<String, Value>, key: &str) -> Option<String> {
    object.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn non_empty_string(object: &Map<String, Value>, key: &str) -> Result<String, FaceIdError> {
    match object.get(key) {
        Some(Value::String(value)) if !value.is_empty() => Ok(value.clone()),
        Some(Value::String(_)) => Err(FaceIdError::bad_response(format!("`{key}` is empty"))),
        Some(_) => Err(FaceIdError::bad_response(format!(
            "`{key}` is not a string"
        ))),
        None => Err(FaceIdError::bad_response(format!("`{key}` is missing"))),
    }
}

/// `expire_in` as a positive whole number of seconds, sent either as a number or as a decimal
/// string (the documentation's own example sends `"120"`; real answers send `120`).
fn expire_in(object: &Map<String, Value>) -> Result<u32, FaceIdError> {
    let seconds = match object.get("expire_in") {
        Some(Value::Number(number)) => number.as_u64().or_else(|| {
            number
                .as_f64()
                .filter(|f| f.fract() == 0.0 && *f >= 0.0)
                .map(|f| f as u64)
        }),
        Some(Value::String(text))
            if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) =>
        {
            text.parse::<u64>().ok()
        }
        None => return Err(FaceIdError::bad_response("`expire_in` is missing")),
        Some(_) => None,
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

    const SENT_AT: f64 = 1_700_000_000_000.0;

    fn ticket(body: &str) -> Result<Ticket, FaceIdError> {
        parse_ticket_response(body.as_bytes(), SENT_AT)
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
    fn bodies_over_the_limit_are_refused_before_parsing() {
        let padding = " ".repeat(BODY_LIMIT);
        let body = format!(r#"{{"code":"0","tickets":[{{"value":"v","expire_in":1}}]}}{padding}"#);
        assert!(bad_reason(ticket(&body)).contains("65536 bytes"));
    }

    #[test]
    fn parses_access_tokens_with_either_expire_in_form() {
        let real = r#"{"code":"0","msg":"请求成功","bizSeqNo":"1","transactionTime":"20240726143638",
            "success":true,"access_token":"WAA0f","expire_in":7200,"expire_time":"20240726163638"}"#;
        let grant = parse_access_token_response(real.as_bytes(), SENT_AT).unwrap();
        assert_eq!((grant.value.as_str(), grant.expire_in), ("WAA0f", 7200));
        assert_eq!(grant.expires_at, SENT_AT + 7_200_000.0);
        let documented = r#"{"code":"0","access_token":"t","expire_in":"7200"}"#;
        assert_eq!(
            parse_access_token_response(documented.as_bytes(), 0.0)
                .unwrap()
                .expire_in,
            7200
        );
        let missing = parse_access_token_response(br#"{"code":"0","expire_in":1}"#, 0.0);
        assert!(bad_reason(missing).contains("access_token"));
    }

    #[test]
    fn debug_never_prints_credential_values() {
        let parsed =
            ticket(r#"{"code":"0","tickets":[{"value":"SECRET-TICKET","expire_in":1}]}"#).unwrap();
        assert!(!format!("{parsed:?}").contains("SECRET-TICKET"));
    }
}
