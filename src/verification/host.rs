//! The two places a verification sends a browser: the H5 page's host and the partner's callback.
//!
//! Both are parsed by hand (no URL crate in the .wasm) and strictly: the host comes from the
//! service's answer or the partner's input and ends up in a user's address bar.

use super::inputs::invalid;
use crate::endpoint::{is_loopback, Endpoint};
use crate::error::FaceIdError;
use crate::text::find_str;
use serde::Serialize;

/// The host that serves the H5 page (`optimalDomain`): `host[:port]`, e.g. `kyc1.qcloud.com` or
/// `127.0.0.1:8788`. The login URL uses `https:`, or `http:` when the host is loopback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct OptimalDomain(String);

impl OptimalDomain {
    /// The option name used in errors.
    pub const FIELD: &'static str = "optimalDomain";
    /// The rule, as error messages state it.
    pub const RULE: &'static str =
        "must be a host name or IP address with an optional port 1-65535, and nothing else";

    /// Validates `host[:port]`; the host is kept in lower case.
    pub fn new(domain: &str) -> Result<Self, FaceIdError> {
        check_authority(domain)
            .map(|_| OptimalDomain(domain.to_ascii_lowercase()))
            .ok_or_else(|| invalid(Self::FIELD, Self::RULE))
    }

    /// The endpoint's own host, where the service sends no `optimalDomain`.
    pub fn of_endpoint(endpoint: &Endpoint) -> Self {
        OptimalDomain(endpoint.authority().to_owned())
    }

    /// The validated `host[:port]`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `https://host[:port]`, or `http://` when the host is loopback.
    pub fn origin(&self) -> String {
        let (host, _) = split_port(&self.0);
        let scheme = if is_loopback(host) { "http" } else { "https" };
        [scheme, "://", &self.0].concat()
    }
}

/// Where the service sends the user back: an absolute `https:` URL (`http:` only to a loopback
/// host) without credentials or fragment, in visible ASCII.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackUrl(String);

impl CallbackUrl {
    /// The option name used in errors.
    pub const FIELD: &'static str = "callbackUrl";
    /// The longest accepted URL: it travels inside the login URL, which browsers must still take.
    pub const MAX_LEN: usize = 2048;

    /// Validates an absolute URL; it is kept as given.
    pub fn new(url: &str) -> Result<Self, FaceIdError> {
        let rule = |rule| invalid(Self::FIELD, rule);
        // Browsers drop tabs and line breaks and read `\` as `/`: what they would open could
        // differ from what was checked.
        let plain = (1..=Self::MAX_LEN).contains(&url.len())
            && url
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b'\\');
        if !plain {
            return Err(rule(
                "must be 1-2048 visible ASCII characters without backslashes (percent-encode the rest)",
            ));
        }
        if url.contains('#') {
            return Err(rule(
                "must not contain a fragment: the service appends its query",
            ));
        }
        let https_rule = "must be an absolute https: URL (http: only to a loopback host)";
        let (scheme, rest) = find_str(url, "://")
            .and_then(|at| Some((url.get(..at)?, url.get(at + 3..)?)))
            .ok_or_else(|| rule(https_rule))?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err(rule("must not contain credentials"));
        }
        let host = check_authority(authority)
            .ok_or_else(|| rule("must have a valid host and optional port 1-65535"))?;
        let allowed = scheme.eq_ignore_ascii_case("https")
            || (scheme.eq_ignore_ascii_case("http") && is_loopback(host));
        if allowed {
            Ok(CallbackUrl(url.to_owned()))
        } else {
            Err(rule(https_rule))
        }
    }

    /// The URL, as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `host` and `port` of `host[:port]` or `[v6][:port]`, unchecked.
fn split_port(authority: &str) -> (&str, Option<&str>) {
    // An IPv6 address has colons of its own: the port's comes after its closing bracket.
    let host_end = if authority.starts_with('[') {
        authority.find(']').unwrap_or(authority.len())
    } else {
        0
    };
    match authority
        .get(host_end..)
        .and_then(|tail| tail.rfind(':'))
        .map(|at| host_end + at)
    {
        Some(colon) => (
            authority.get(..colon).unwrap_or(authority),
            authority.get(colon + 1..),
        ),
        None => (authority, None),
    }
}

/// The host of a valid `host[:port]`: DNS labels (letters, digits, inner hyphens), a dotted IPv4
/// address without leading zeros, or a bracketed IPv6 address; the port 1-65535.
fn check_authority(authority: &str) -> Option<&str> {
    let (host, port) = split_port(authority);
    let port_ok = port.is_none_or(|port| {
        (1..=5).contains(&port.len())
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65_535).contains(&p))
    });
    let host_ok = match host.strip_prefix('[') {
        Some(v6) => v6.strip_suffix(']').is_some_and(is_ipv6_text),
        None => is_host_name(host),
    };
    (port_ok && host_ok).then_some(host)
}

fn is_ipv6_text(inner: &str) -> bool {
    (2..=39).contains(&inner.len())
        && inner.contains(':')
        && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
}

/// DNS labels, or IPv4 when the last label starts with a digit: browsers read such a host as an
/// address (`0x7f.1`, `999.1`), so it must be a plain one.
fn is_host_name(host: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    let numeric_end = host
        .rsplit('.')
        .next()
        .is_some_and(|last| last.starts_with(|c: char| c.is_ascii_digit()));
    if numeric_end {
        is_ipv4(host)
    } else {
        host.len() <= 253 && host.split('.').all(label_ok)
    }
}

fn is_ipv4(host: &str) -> bool {
    let mut octets = 0;
    let all_octets = host.split('.').all(|octet| {
        octets += 1;
        let canonical = octet == "0" || (!octet.is_empty() && !octet.starts_with('0'));
        canonical
            && octet.len() <= 3
            && octet.bytes().all(|b| b.is_ascii_digit())
            && octet.parse::<u8>().is_ok()
    });
    all_octets && octets == 4
}

#[cfg(test)]
mod tests {
    use super::super::rule_of;
    use super::*;

    fn callback_rule(url: &str) -> &'static str {
        rule_of(CallbackUrl::new(url), "callbackUrl")
    }

    #[test]
    fn optimal_domains_are_hosts_with_an_optional_port() {
        for (ok, kept) in [
            ("kyc1.qcloud.com", "kyc1.qcloud.com"),
            ("KYC1.QCloud.com", "kyc1.qcloud.com"),
            ("127.0.0.1:8788", "127.0.0.1:8788"),
            ("localhost", "localhost"),
            ("a-b.c9", "a-b.c9"),
            ("x:65535", "x:65535"),
            ("[::1]:8788", "[::1]:8788"),
            ("[2001:db8::1]", "[2001:db8::1]"),
            ("0.0.0.0", "0.0.0.0"),
            ("255.255.255.255:1", "255.255.255.255:1"),
        ] {
            assert_eq!(OptimalDomain::new(ok).unwrap().as_str(), kept, "{ok}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        let long_host = format!("{}a.com", "abcdefghi.".repeat(25));
        for bad in [
            "",
            ":80",
            "kyc1.qcloud.com:0",
            "kyc1.qcloud.com:65536",
            "kyc1.qcloud.com:",
            "kyc1.qcloud.com:8a",
            "kyc1.qcloud.com.",
            ".kyc1.qcloud.com",
            "a..b",
            "-a.com",
            "a-.com",
            "a_b.com",
            "https://kyc1.qcloud.com",
            "kyc1.qcloud.com/path",
            "user@kyc1.qcloud.com",
            "kyc1.qcloud.com?x",
            "999.1.1.1",
            "127.0.0.01",
            "1.2.3",
            "1.2.3.4.5",
            "0x7f.1",
            "evil.com.1",
            "[::1",
            "[]",
            "[g::1]",
            "[::1]x",
            "kÿc.com",
            &long_label,
            &long_host,
        ] {
            assert!(OptimalDomain::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_origin_is_https_unless_the_host_is_loopback() {
        for (domain, origin) in [
            ("kyc1.qcloud.com", "https://kyc1.qcloud.com"),
            ("127.0.0.1:8788", "http://127.0.0.1:8788"),
            ("127.9.9.9", "http://127.9.9.9"),
            ("LocalHost:1", "http://localhost:1"),
            ("[::1]:2", "http://[::1]:2"),
            ("128.0.0.1", "https://128.0.0.1"),
            ("localhost.example", "https://localhost.example"),
        ] {
            assert_eq!(OptimalDomain::new(domain).unwrap().origin(), origin);
        }
        let endpoint = Endpoint::new("http://[::1]:8788/prefix").unwrap();
        assert_eq!(
            OptimalDomain::of_endpoint(&endpoint).origin(),
            "http://[::1]:8788"
        );
        assert_eq!(
            OptimalDomain::of_endpoint(&Endpoint::default()).origin(),
            "https://miniprogram-kyc.tencentcloudapi.com"
        );
    }

    #[test]
    fn callback_urls_are_https_or_loopback_http() {
        for ok in [
            "https://partner.example/faceid/done",
            "HTTPS://partner.example",
            "https://partner.example:8443/cb?state=a%20b&x=1",
            "http://127.0.0.1:8788/cb",
            "http://localhost/cb",
            "http://LOCALHOST/cb",
            "http://[::1]:9/cb",
        ] {
            assert_eq!(CallbackUrl::new(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "http://partner.example/cb",
            "http://127.0.0.1.evil.example/cb",
            "http://localhost.evil.example/",
            "ftp://partner.example/",
            "javascript://partner.example/%0aalert(1)",
            "partner.example/cb",
            "//partner.example/cb",
            "https:/partner.example",
        ] {
            assert!(callback_rule(bad).contains("https:"), "{bad}");
        }
    }

    #[test]
    fn callback_urls_carry_no_credentials_fragment_or_ambiguous_characters() {
        assert!(callback_rule("https://user:pw@partner.example/").contains("credentials"));
        assert!(callback_rule("https://evil.example@partner.example/").contains("credentials"));
        assert!(callback_rule("https://partner.example/#done").contains("fragment"));
        for bad in [
            "",
            "https://partner.example/a b",
            "https://partner.example/\tcb",
            "https://partner.example\\@evil.example/",
            "https://partner.example/ü",
            "https://partner.example/\u{7f}",
        ] {
            assert!(callback_rule(bad).contains("visible ASCII"), "{bad:?}");
        }
        for bad in [
            "https://",
            "https:///cb",
            "https://partner.example:0/",
            "https://partner.example:99999/",
            "https://999.1.1.1/",
            "https://partner..example/",
        ] {
            assert!(callback_rule(bad).contains("host"), "{bad}");
        }
        let longest = format!("https://p.example/{}", "a".repeat(2048 - 18));
        assert!(CallbackUrl::new(&longest).is_ok());
        assert!(callback_rule(&format!("{longest}a")).contains("2048"));
    }
}
