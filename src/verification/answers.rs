//! What `getAdvFaceId` and `queryfacerecord` answer, read over [`JsonView`] like
//! [`crate::protocol`] reads the credential answers.

use super::host::OptimalDomain;
use super::inputs::{FaceId, OrderNo};
use crate::endpoint::Endpoint;
use crate::error::FaceIdError;
use crate::protocol::{
    api_error, check_code, member_error, non_empty_string, optional_string, read_code, JsonKind,
    JsonView,
};
use crate::redacted::Redacted;
use serde::Serialize;

/// A registered verification order: what the H5 login URL needs. Field names are the JS result's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RegisteredOrder {
    /// The partner's order number, as the service confirmed it.
    #[serde(rename = "orderNo")]
    pub order_no: String,
    /// The service's id of the order, for the login URL (a valid [`FaceId`]).
    #[serde(rename = "faceId")]
    pub face_id: String,
    /// The host to send the user to: the answer's `optimalDomain`, or the endpoint's host when
    /// the answer has none.
    #[serde(rename = "optimalDomain")]
    pub optimal_domain: OptimalDomain,
    /// The service's `transactionTime`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_time: Option<String>,
}

/// The result of one verification. Field names are the JS result's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceRecord {
    /// The partner's order number.
    #[serde(rename = "orderNo")]
    pub order_no: String,
    /// Whether the person passed: `code` is `0`.
    pub passed: bool,
    /// The service's verdict code, `0` when passed.
    pub code: String,
    /// The service's message.
    pub msg: String,
    /// The liveness score; always there when passed, `null` when a failed check has none.
    #[serde(rename = "liveRate")]
    pub live_rate: Option<f64>,
    /// The face comparison score; always there when passed, `null` when a failed check has none.
    pub similarity: Option<f64>,
    /// When the check took place (`yyyyMMddHHmmss`); always there when passed.
    #[serde(rename = "occurredTime")]
    pub occurred_time: Option<String>,
    /// The photo taken during the check, base64: personal data, never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<Redacted>,
    /// The video recorded during the check, base64: personal data, never printed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video: Option<Redacted>,
    /// The version of the SDK or H5 page that ran the check.
    #[serde(rename = "sdkVersion", skip_serializing_if = "Option::is_none")]
    pub sdk_version: Option<String>,
}

/// Reads a `getAdvFaceId` answer to the registration of `asked`.
pub(super) fn read_registered_order<J: JsonView>(
    answer: &J,
    asked: &OrderNo,
    endpoint: &Endpoint,
) -> Result<RegisteredOrder, FaceIdError> {
    check_code(answer)?;
    let result =
        result_object(answer)?.ok_or_else(|| FaceIdError::bad_response("`result` is missing"))?;
    let face_id = non_empty_string(&result, "faceId")?;
    if FaceId::new(face_id.as_str()).is_err() {
        return Err(FaceIdError::bad_response(
            "`faceId` is not 1-64 visible ASCII characters",
        ));
    }
    let optimal_domain = match optional_text(&result, "optimalDomain")? {
        None => OptimalDomain::of_endpoint(endpoint),
        Some(domain) => OptimalDomain::new(&domain).map_err(|_| {
            FaceIdError::bad_response("`optimalDomain` is not a host name with an optional port")
        })?,
    };
    Ok(RegisteredOrder {
        order_no: answered_order_no(&result, asked)?,
        face_id,
        optimal_domain,
        transaction_time: optional_string(answer, "transactionTime"),
    })
}

/// Reads a `queryfacerecord` answer about `asked`. A non-zero `code` with a `result` is a failed
/// verification; without one, the service refused the query.
pub(super) fn read_face_record<J: JsonView>(
    answer: &J,
    asked: &OrderNo,
) -> Result<FaceRecord, FaceIdError> {
    let code = read_code(answer)?;
    let passed = code == "0";
    let result = match result_object(answer)? {
        Some(result) => result,
        None if passed => return Err(FaceIdError::bad_response("`result` is missing")),
        None => return Err(api_error(answer, code)),
    };
    let live_rate = score(&result, "liveRate")?;
    let similarity = score(&result, "similarity")?;
    let occurred_time = optional_text(&result, "occurredTime")?;
    if passed && (live_rate.is_none() || similarity.is_none() || occurred_time.is_none()) {
        return Err(FaceIdError::bad_response(
            "a passed `result` lacks `liveRate`, `similarity` or `occurredTime`",
        ));
    }
    Ok(FaceRecord {
        order_no: answered_order_no(&result, asked)?,
        passed,
        msg: optional_string(answer, "msg").unwrap_or_default(),
        code,
        live_rate,
        similarity,
        occurred_time,
        photo: optional_text(&result, "photo")?.map(Redacted::from),
        video: optional_text(&result, "video")?.map(Redacted::from),
        sdk_version: optional_text(&result, "sdkVersion")?,
    })
}

/// The answer's `result` object; `None` when missing or `null`.
fn result_object<J: JsonView>(answer: &J) -> Result<Option<J>, FaceIdError> {
    match answer.member("result") {
        None => Ok(None),
        Some(result) => match result.kind() {
            JsonKind::Object => Ok(Some(result)),
            JsonKind::Null => Ok(None),
            _ => Err(FaceIdError::bad_response("`result` is not an object")),
        },
    }
}

/// The order the result is about: `asked`, which the answer may confirm but not contradict.
fn answered_order_no<J: JsonView>(result: &J, asked: &OrderNo) -> Result<String, FaceIdError> {
    match optional_text(result, "orderNo")? {
        Some(answered) if answered != asked.as_str() => Err(FaceIdError::bad_response(
            "`orderNo` is not the order asked about",
        )),
        _ => Ok(asked.as_str().to_owned()),
    }
}

/// A string member; `None` when missing, `null` or empty.
fn optional_text<J: JsonView>(
    object: &J,
    key: &'static str,
) -> Result<Option<String>, FaceIdError> {
    let Some(value) = object.member(key) else {
        return Ok(None);
    };
    match value.kind() {
        JsonKind::Null => Ok(None),
        JsonKind::String => Ok(value.string().filter(|text| !text.is_empty())),
        _ => Err(member_error(key, "` is not a string")),
    }
}

/// A score sent as a JSON number or a decimal string (`"99.5"`); `None` when missing, `null` or
/// empty.
fn score<J: JsonView>(object: &J, key: &'static str) -> Result<Option<f64>, FaceIdError> {
    let not_a_number = || member_error(key, "` is not a number");
    match object.member(key) {
        Some(value) if value.kind() == JsonKind::Number => value
            .number()
            .filter(|n| n.is_finite())
            .map(Some)
            .ok_or_else(not_a_number),
        Some(value) if value.kind() == JsonKind::String => match value.string() {
            Some(text) if text.is_empty() => Ok(None),
            Some(text) => decimal(&text).map(Some).ok_or_else(not_a_number),
            None => Err(not_a_number()),
        },
        Some(value) if value.kind() != JsonKind::Null => Err(not_a_number()),
        _ => Ok(None),
    }
}

/// `digits[.digits]` with at most 15 digits in all. The digits make an exact integer and the
/// scale an exact power of ten, so one division rounds correctly, without the float parser's
/// weight in the .wasm.
fn decimal(text: &str) -> Option<f64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((_, "")) => return None,
        Some(parts) => parts,
        None => (text, ""),
    };
    let well_formed = !whole.is_empty()
        && whole.len() + fraction.len() <= 15
        && whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit());
    if !well_formed {
        return None;
    }
    let integer = whole
        .bytes()
        .chain(fraction.bytes())
        .fold(0u64, |value, digit| value * 10 + u64::from(digit - b'0'));
    let scale = fraction.bytes().fold(1.0, |scale, _| scale * 10.0);
    // Exact: at most 15 digits, below 2^53.
    Some(integer as f64 / scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_body as parsed;

    fn order(number: &str) -> OrderNo {
        OrderNo::new(number).unwrap()
    }

    fn registered(body: &str) -> Result<RegisteredOrder, FaceIdError> {
        let endpoint = Endpoint::new("http://127.0.0.1:8788/prefix").unwrap();
        read_registered_order(&parsed(body)?, &order("9164541471817797"), &endpoint)
    }

    fn record(body: &str) -> Result<FaceRecord, FaceIdError> {
        read_face_record(&parsed(body)?, &order("o1"))
    }

    fn bad_reason<T: std::fmt::Debug>(result: Result<T, FaceIdError>) -> String {
        match result {
            Err(FaceIdError::BadResponse { reason }) => reason,
            other => panic!("expected bad_response, got {other:?}"),
        }
    }

    const REAL_REGISTER_ANSWER: &str = r#"{"code":"0","msg":"请求成功","bizSeqNo":"24072620001184415214413","transactionTime":"20240726144413",
        "result":{"bizSeqNo":"24072620001184415214413","transactionTime":"20240726144413","oriCode":"0","orderNo":"9164541471817797",
                  "faceId":"tx11a42739e56889725d5be8ab492d9d","optimalDomain":"kyc1.qcloud.com","success":true}}"#;

    #[test]
    fn reads_the_real_register_answer() {
        let order = registered(REAL_REGISTER_ANSWER).unwrap();
        assert_eq!(
            order,
            RegisteredOrder {
                order_no: "9164541471817797".into(),
                face_id: "tx11a42739e56889725d5be8ab492d9d".into(),
                optimal_domain: OptimalDomain::new("kyc1.qcloud.com").unwrap(),
                transaction_time: Some("20240726144413".into()),
            }
        );
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "orderNo": "9164541471817797",
                "faceId": "tx11a42739e56889725d5be8ab492d9d",
                "optimalDomain": "kyc1.qcloud.com",
                "transaction_time": "20240726144413",
            })
        );
    }

    #[test]
    fn a_missing_or_empty_optimal_domain_means_the_endpoints_host() {
        for domain in [r#""#, r#","optimalDomain":"""#, r#","optimalDomain":null"#] {
            let body = format!(r#"{{"code":0,"result":{{"faceId":"f1"{domain}}}}}"#);
            let order = registered(&body).unwrap();
            assert_eq!(order.optimal_domain.as_str(), "127.0.0.1:8788", "{body}");
            assert_eq!(order.order_no, "9164541471817797");
            assert_eq!(order.transaction_time, None);
        }
    }

    #[test]
    fn an_optimal_domain_that_is_not_a_host_is_a_bad_response() {
        for domain in [
            r#""https://kyc1.qcloud.com""#,
            r#""kyc1.qcloud.com/x""#,
            r#""evil.example@kyc1.qcloud.com""#,
            r#""kyc1.qcloud.com:99999""#,
            r#""javascript:alert(1)""#,
            "7",
            "true",
            r#"["kyc1.qcloud.com"]"#,
        ] {
            let body =
                format!(r#"{{"code":"0","result":{{"faceId":"f1","optimalDomain":{domain}}}}}"#);
            assert!(
                bad_reason(registered(&body)).contains("optimalDomain"),
                "{domain}"
            );
        }
    }

    #[test]
    fn register_refusals_and_broken_answers() {
        let refused =
            registered(r#"{"code":"66660011","msg":"姓名和身份证不一致","transactionTime":"t"}"#);
        assert_eq!(
            refused.unwrap_err(),
            FaceIdError::Api {
                code: "66660011".into(),
                msg: "姓名和身份证不一致".into(),
                transaction_time: Some("t".into()),
            }
        );
        for (body, reason) in [
            (r#"{"code":"0"}"#, "`result` is missing"),
            (r#"{"code":"0","result":null}"#, "`result` is missing"),
            (r#"{"code":"0","result":"x"}"#, "`result` is not an object"),
            (r#"{"code":"0","result":{}}"#, "`faceId` is missing"),
            (
                r#"{"code":"0","result":{"faceId":""}}"#,
                "`faceId` is empty",
            ),
            (
                r#"{"code":"0","result":{"faceId":"a b"}}"#,
                "`faceId` is not",
            ),
            (
                r#"{"code":"0","result":{"faceId":"f","orderNo":"other"}}"#,
                "not the order asked about",
            ),
            (
                r#"{"code":"0","result":{"faceId":"f","orderNo":5}}"#,
                "`orderNo` is not a string",
            ),
            ("[]", "not a JSON object"),
        ] {
            assert!(bad_reason(registered(body)).contains(reason), "{body}");
        }
    }

    const PASSED_RECORD: &str = r#"{"code":"0","msg":"请求成功","bizSeqNo":"1","transactionTime":"20240726145000",
        "result":{"orderNo":"o1","liveRate":"99","similarity":"98.52","occurredTime":"20240726144900",
                  "appId":"IDAXXXXX","photo":"/9j/4AAQ","video":"","bizSeqNo":"1","sdkVersion":"1.0.0"}}"#;

    #[test]
    fn reads_a_passed_record_with_numeric_strings() {
        let passed = record(PASSED_RECORD).unwrap();
        assert!(passed.passed);
        assert_eq!(
            (passed.code.as_str(), passed.msg.as_str()),
            ("0", "请求成功")
        );
        assert_eq!(
            (passed.live_rate, passed.similarity),
            (Some(99.0), Some(98.52))
        );
        assert_eq!(passed.occurred_time.as_deref(), Some("20240726144900"));
        assert_eq!(passed.photo.as_deref(), Some("/9j/4AAQ"));
        assert_eq!(passed.video, None, "an empty video is no video");
        assert_eq!(passed.sdk_version.as_deref(), Some("1.0.0"));
        let json = serde_json::to_value(&passed).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "orderNo": "o1", "passed": true, "code": "0", "msg": "请求成功",
                "liveRate": 99.0, "similarity": 98.52, "occurredTime": "20240726144900",
                "photo": "/9j/4AAQ", "sdkVersion": "1.0.0",
            })
        );
    }

    #[test]
    fn scores_may_be_numbers_and_files_and_order_number_may_be_absent() {
        let passed =
            record(r#"{"code":0,"result":{"liveRate":87,"similarity":91.5,"occurredTime":"t"}}"#)
                .unwrap();
        assert_eq!(passed.order_no, "o1");
        assert_eq!(
            (passed.live_rate, passed.similarity),
            (Some(87.0), Some(91.5))
        );
        assert_eq!(
            (passed.photo, passed.video, passed.sdk_version),
            (None, None, None)
        );
        assert_eq!(passed.msg, "");
    }

    #[test]
    fn a_non_zero_code_with_a_result_is_a_failed_verification() {
        let failed = record(
            r#"{"code":"66660015","msg":"比对失败","result":{"orderNo":"o1","liveRate":"","similarity":"35.1","video":"AAAA"}}"#,
        )
        .unwrap();
        assert!(!failed.passed);
        assert_eq!(
            (failed.code.as_str(), failed.msg.as_str()),
            ("66660015", "比对失败")
        );
        assert_eq!((failed.live_rate, failed.similarity), (None, Some(35.1)));
        assert_eq!(failed.occurred_time, None);
        assert_eq!(failed.video.as_deref(), Some("AAAA"));
        let json = serde_json::to_value(&failed).unwrap();
        assert_eq!(json["liveRate"], serde_json::Value::Null);
        assert_eq!(json["occurredTime"], serde_json::Value::Null);
        assert!(json.get("photo").is_none());
    }

    #[test]
    fn a_non_zero_code_without_a_result_is_an_api_error() {
        for body in [
            r#"{"code":"400604","msg":"订单不存在","transactionTime":"t"}"#,
            r#"{"code":400604,"msg":"订单不存在","transactionTime":"t","result":null}"#,
        ] {
            assert_eq!(
                record(body).unwrap_err(),
                FaceIdError::Api {
                    code: "400604".into(),
                    msg: "订单不存在".into(),
                    transaction_time: Some("t".into()),
                }
            );
        }
    }

    #[test]
    fn broken_records_are_bad_responses() {
        for (body, reason) in [
            (r#"{"code":"0","msg":"ok"}"#, "`result` is missing"),
            (r#"{"code":"0","result":[]}"#, "`result` is not an object"),
            (r#"{"code":"1","result":7}"#, "`result` is not an object"),
            (
                r#"{"code":"0","result":{"similarity":1,"occurredTime":"t"}}"#,
                "lacks",
            ),
            (
                r#"{"code":"0","result":{"liveRate":1,"similarity":"","occurredTime":"t"}}"#,
                "lacks",
            ),
            (
                r#"{"code":"0","result":{"liveRate":1,"similarity":1}}"#,
                "lacks",
            ),
            (
                r#"{"code":"0","result":{"liveRate":"high","similarity":1,"occurredTime":"t"}}"#,
                "`liveRate` is not a number",
            ),
            (
                r#"{"code":"1","result":{"similarity":true}}"#,
                "`similarity` is not a number",
            ),
            (
                r#"{"code":"1","result":{"orderNo":"o2"}}"#,
                "not the order asked about",
            ),
            (
                r#"{"code":"1","result":{"photo":[1]}}"#,
                "`photo` is not a string",
            ),
            (r#"{"code":[]}"#, "`code` is not"),
        ] {
            assert!(bad_reason(record(body)).contains(reason), "{body}");
        }
    }

    #[test]
    fn decimal_scores_are_read_exactly() {
        for (text, value) in [
            ("0", 0.0),
            ("99", 99.0),
            ("98.52", 98.52),
            ("0.1", 0.1),
            ("100.000", 100.0),
            ("007.5", 7.5),
            ("123456789012.345", 123_456_789_012.345),
        ] {
            assert_eq!(decimal(text), Some(value), "{text}");
            assert_eq!(decimal(text), text.parse::<f64>().ok(), "{text}");
        }
        for bad in [
            "",
            ".",
            "1.",
            ".5",
            "-1",
            "+1",
            "1e3",
            "1.2.3",
            " 1",
            "1 ",
            "NaN",
            "inf",
            "١",
            "1234567890123456",
        ] {
            assert_eq!(decimal(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn debug_never_prints_the_files() {
        let mut passed = record(PASSED_RECORD).unwrap();
        passed.video = Some("VIDEO-BYTES".into());
        let printed = format!("{passed:?}");
        assert!(
            !printed.contains("/9j/4AAQ") && !printed.contains("VIDEO-BYTES"),
            "{printed}"
        );
        assert!(printed.contains("photo: Some(\"<redacted>\")"), "{printed}");
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn decimal_agrees_with_the_standard_parser(whole in "[0-9]{1,8}", fraction in "[0-9]{0,7}") {
            let text = if fraction.is_empty() { whole } else { format!("{whole}.{fraction}") };
            proptest::prop_assert_eq!(decimal(&text), text.parse::<f64>().ok());
        }
    }
}
