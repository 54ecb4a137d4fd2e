//! The service's redirect back to the partner: `{callback}?code=&orderNo=&h5faceId=&newSign=`,
//! and the check that it really came from the service.

use super::inputs::OrderNo;
use crate::params::AppId;
use crate::sign::sign;
use crate::text::form_decode;
use serde::Serialize;

/// The values of a callback, as received; any of them may be missing or forged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Callback {
    /// `code`: `0` when the person passed.
    pub code: Option<String>,
    /// `orderNo`: the partner's order number.
    pub order_no: Option<String>,
    /// `newSign`: the service's signature over appId, orderNo, its SIGN ticket and code.
    pub new_sign: Option<String>,
}

/// What a callback proves. Field names are the JS result's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallbackVerdict {
    /// The signature matches a given SIGN ticket: the values came from the service.
    pub verified: bool,
    /// Verified, and `code` is `0`.
    pub passed: bool,
    /// The callback's `orderNo`, as received.
    #[serde(rename = "orderNo", skip_serializing_if = "Option::is_none")]
    pub order_no: Option<String>,
    /// The callback's `code`, as received.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

impl Callback {
    /// Reads the callback's URL or query string (with or without `?`). Of repeated parameters,
    /// the first that decodes counts (as with `URLSearchParams.get`); a value with a broken
    /// escape or bytes that are not UTF-8 counts as missing.
    pub fn from_query(url_or_query: &str) -> Self {
        let query = url_or_query
            .split_once('?')
            .map_or(url_or_query, |(_, query)| query);
        let query = query.split('#').next().unwrap_or_default();
        let mut callback = Callback::default();
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match form_decode(key).as_deref() {
                Some("code") => &mut callback.code,
                Some("orderNo") => &mut callback.order_no,
                Some("newSign") => &mut callback.new_sign,
                _ => continue,
            };
            if slot.is_none() {
                *slot = form_decode(value);
            }
        }
        callback
    }

    /// Checks `newSign` against each non-empty ticket in `sign_tickets` (the current and the
    /// previous SIGN ticket: the service may have signed before a rotation). Compares in
    /// constant time and never fails: anything unusable is simply not verified.
    pub fn verify(&self, app_id: &AppId, sign_tickets: &[&str]) -> CallbackVerdict {
        let verified = self.signed_by_any(app_id, sign_tickets);
        CallbackVerdict {
            verified,
            passed: verified && self.code.as_deref() == Some("0"),
            order_no: self.order_no.clone(),
            code: self.code.clone(),
        }
    }

    fn signed_by_any(&self, app_id: &AppId, sign_tickets: &[&str]) -> bool {
        let (Some(code), Some(order_no), Some(new_sign)) =
            (&self.code, &self.order_no, &self.new_sign)
        else {
            return false;
        };
        let usable = is_code(code)
            && OrderNo::new(order_no.as_str()).is_ok()
            && new_sign.len() == 40
            && new_sign.bytes().all(|b| b.is_ascii_hexdigit());
        if !usable {
            return false;
        }
        let given = new_sign.to_ascii_uppercase();
        // No early exit: every ticket is tried, every byte compared.
        let mut matches = 0u8;
        for ticket in sign_tickets.iter().filter(|ticket| !ticket.is_empty()) {
            let expected = sign(&[app_id.as_str(), order_no.as_str(), ticket, code.as_str()]);
            matches |= equal_in_constant_time(expected.as_bytes(), given.as_bytes());
        }
        matches == 1
    }
}

/// A result code: 1-32 characters from `A-Z a-z 0-9 _ -`.
fn is_code(code: &str) -> bool {
    (1..=32).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// 1 when `a` and `b` are equal, else 0, in a time that depends only on their lengths.
fn equal_in_constant_time(a: &[u8], b: &[u8]) -> u8 {
    if a.len() != b.len() {
        return 0;
    }
    let difference = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    u8::from(std::hint::black_box(difference) == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CURRENT: &str = "FxlAe3HFtEy73Um0pJNzIUriwtfnS3KRcPXiesd5ulS4XRAIcT0FbfaP52dwZf5S";
    const PREVIOUS: &str = "XO99Qfxlti9iTVgHAjwvJdAZKN3nMuUhrsPdPlPVKlcyS50N6tlLnfuFBPIucaMS";
    // sha1 of the four values sorted and joined, computed with node:crypto.
    const PASSED_SIGN: &str = "51A87C1A6B89FB308605AC2AA22F01749751F664";
    const FAILED_SIGN: &str = "5DCC1DA2FA8E2DB29A0DCCBAB06DCF18485158FB";
    const PREVIOUS_SIGN: &str = "C167F9B60DA248654ADEB371DC96A4CDD1F55C8A";

    fn app() -> AppId {
        AppId::new("IDAXXXXX").unwrap()
    }

    fn callback(code: &str, order_no: &str, new_sign: &str) -> Callback {
        Callback {
            code: Some(code.into()),
            order_no: Some(order_no.into()),
            new_sign: Some(new_sign.into()),
        }
    }

    fn verdict(callback: &Callback) -> (bool, bool) {
        let verdict = callback.verify(&app(), &[CURRENT, PREVIOUS]);
        (verdict.verified, verdict.passed)
    }

    #[test]
    fn a_good_sign_verifies_and_code_zero_passes() {
        let passed = callback("0", "order0001", PASSED_SIGN).verify(&app(), &[CURRENT]);
        assert_eq!(
            passed,
            CallbackVerdict {
                verified: true,
                passed: true,
                order_no: Some("order0001".into()),
                code: Some("0".into()),
            }
        );
        let failed = callback("66660015", "order0001", FAILED_SIGN);
        assert_eq!(verdict(&failed), (true, false));
    }

    #[test]
    fn hex_case_does_not_matter() {
        let lower = PASSED_SIGN.to_ascii_lowercase();
        assert_eq!(verdict(&callback("0", "order0001", &lower)), (true, true));
        let mixed: String = PASSED_SIGN
            .chars()
            .enumerate()
            .map(|(i, c)| {
                if i % 2 == 0 {
                    c.to_ascii_lowercase()
                } else {
                    c
                }
            })
            .collect();
        assert_eq!(verdict(&callback("0", "order0001", &mixed)), (true, true));
    }

    #[test]
    fn the_previous_ticket_still_verifies_and_empty_tickets_never_do() {
        let signed_before_rotation = callback("0", "order0001", PREVIOUS_SIGN);
        assert_eq!(verdict(&signed_before_rotation), (true, true));
        let only_current = signed_before_rotation.verify(&app(), &[CURRENT]);
        assert!(!only_current.verified);
        // Anyone can compute a sign over an empty ticket.
        let over_empty = sign(&["IDAXXXXX", "order0001", "", "0"]);
        let forged = callback("0", "order0001", &over_empty);
        assert!(!forged.verify(&app(), &[CURRENT, ""]).verified);
        assert!(!forged.verify(&app(), &[]).verified);
    }

    #[test]
    fn forged_or_altered_callbacks_do_not_verify() {
        for forged in [
            callback("0", "order0001", FAILED_SIGN),
            callback("0", "order0002", PASSED_SIGN),
            callback("1", "order0001", PASSED_SIGN),
            callback("0", "order0001", &"0".repeat(40)),
            callback("0", "order0001", &PASSED_SIGN.replace('5', "6")),
        ] {
            assert_eq!(verdict(&forged), (false, false), "{forged:?}");
        }
        let other_app = callback("0", "order0001", PASSED_SIGN)
            .verify(&AppId::new("IDAYYYYY").unwrap(), &[CURRENT]);
        assert!(!other_app.verified);
    }

    #[test]
    fn malformed_callbacks_are_unverified_never_errors() {
        let too_long = format!("{PASSED_SIGN}0");
        let long_code = "0".repeat(33);
        for malformed in [
            Callback::default(),
            Callback {
                new_sign: None,
                ..callback("0", "order0001", PASSED_SIGN)
            },
            Callback {
                code: None,
                ..callback("0", "order0001", PASSED_SIGN)
            },
            Callback {
                order_no: None,
                ..callback("0", "order0001", PASSED_SIGN)
            },
            callback("0", "order0001", &PASSED_SIGN[..39]),
            callback("0", "order0001", &too_long),
            callback("0", "order0001", &PASSED_SIGN.replace('A', "G")),
            callback("0", "order0001", &format!(" {}", &PASSED_SIGN[1..])),
            callback("", "order0001", PASSED_SIGN),
            callback(&long_code, "order0001", PASSED_SIGN),
            callback("0 ", "order0001", PASSED_SIGN),
            callback("0", "", PASSED_SIGN),
            callback("0", "order-0001", PASSED_SIGN),
            callback("0", "order0001", "４０"),
        ] {
            let verdict = malformed.verify(&app(), &[CURRENT, PREVIOUS]);
            assert!(!verdict.verified && !verdict.passed, "{malformed:?}");
            assert_eq!(
                (verdict.code, verdict.order_no),
                (malformed.code, malformed.order_no)
            );
        }
    }

    #[test]
    fn reads_the_callback_url_or_its_query() {
        let expected = callback("0", "order0001", PASSED_SIGN);
        for text in [
            format!("https://partner.example/cb?code=0&orderNo=order0001&h5faceId=tx1&newSign={PASSED_SIGN}"),
            format!("https://partner.example/cb?state=x&code=0&orderNo=order0001&newSign={PASSED_SIGN}#top"),
            format!("?code=0&orderNo=order0001&newSign={PASSED_SIGN}"),
            format!("code=0&orderNo=order0001&newSign={PASSED_SIGN}"),
            format!("code=%30&order%4Eo=order0001&&newSign={PASSED_SIGN}&code=1"),
        ] {
            assert_eq!(Callback::from_query(&text), expected, "{text}");
            assert_eq!(verdict(&Callback::from_query(&text)), (true, true), "{text}");
        }
    }

    #[test]
    fn query_values_decode_as_forms_do() {
        let read = Callback::from_query("code=a+b%2Bc&orderNo=%E4%B8%AD&newSign");
        assert_eq!(read.code.as_deref(), Some("a b+c"));
        assert_eq!(read.order_no.as_deref(), Some("中"));
        assert_eq!(read.new_sign.as_deref(), Some(""));
        for broken in ["code=%", "code=%4", "code=%zz", "code=%FF", "code=%C3"] {
            assert_eq!(Callback::from_query(broken).code, None, "{broken}");
        }
        assert_eq!(Callback::from_query(""), Callback::default());
        assert_eq!(
            Callback::from_query("https://partner.example/cb"),
            Callback::default()
        );
    }
}
