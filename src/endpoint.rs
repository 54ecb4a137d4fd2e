//! The service's base URL and the request URLs built on it.

use crate::error::FaceIdError;
use crate::text::{find_str, percent_encode};

/// The host in the NONCE-ticket documentation.
pub const DEFAULT_ENDPOINT: &str = "https://miniprogram-kyc.tencentcloudapi.com";

const FIELD: &str = "endpoint";

/// A validated base URL: `https://host[:port][/prefix]`, or `http:` to a loopback host.
///
/// No query, fragment or credentials: request URLs carry the access token or secret, and must go
/// exactly where the caller meant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Scheme, authority and path prefix, without a trailing slash.
    base: String,
}

fn invalid(rule: &'static str) -> FaceIdError {
    FaceIdError::InvalidArgument { field: FIELD, rule }
}

impl Endpoint {
    /// Parses a base URL such as `https://kyc1.qcloud.com` or `http://127.0.0.1:8788/prefix`.
    pub fn new(url: &str) -> Result<Self, FaceIdError> {
        if url.contains(['?', '#']) {
            return Err(invalid("must not contain a query or fragment"));
        }
        let (scheme, rest) = find_str(url, "://")
            .and_then(|at| Some((url.get(..at)?, url.get(at + 3..)?)))
            .ok_or_else(|| invalid("must be an absolute http(s) URL"))?;
        let scheme = scheme.to_ascii_lowercase();
        let (authority, path) = match rest.split_once('/') {
            Some((authority, _)) => (authority, rest.get(authority.len()..).unwrap_or_default()),
            None => (rest, ""),
        };
        if authority.contains('@') {
            return Err(invalid("must not contain credentials"));
        }
        let host = host_of(authority)?;
        match scheme.as_str() {
            "https" => {}
            "http" if is_loopback(host) => {}
            "http" => return Err(invalid("must use https: (http: only to a loopback host)")),
            _ => return Err(invalid("must be an absolute http(s) URL")),
        }
        if !path.bytes().all(is_path_char) {
            return Err(invalid("has a path with characters that need escaping"));
        }
        let path = path.trim_end_matches('/');
        Ok(Endpoint {
            base: [&*scheme, "://", &authority.to_ascii_lowercase(), path].concat(),
        })
    }

    /// The base URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// `{base}{path}?k=v&...` with every value percent-encoded.
    pub fn url(&self, path: &str, query: &[(&str, &str)]) -> String {
        let mut url = [&self.base, path].concat();
        push_query(&mut url, query);
        url
    }

    /// The `host[:port]` part, e.g. `kyc1.qcloud.com` or `127.0.0.1:8788`.
    pub fn authority(&self) -> &str {
        let after_scheme = find_str(&self.base, "://")
            .and_then(|at| self.base.get(at + 3..))
            .unwrap_or_default();
        after_scheme.split('/').next().unwrap_or_default()
    }
}

/// Appends `?k=v&...` to `url` with every value percent-encoded.
pub(crate) fn push_query(url: &mut String, query: &[(&str, &str)]) {
    for (i, (key, value)) in query.iter().enumerate() {
        url.push(if i == 0 { '?' } else { '&' });
        url.push_str(key);
        url.push('=');
        url.push_str(&percent_encode(value));
    }
}

impl Default for Endpoint {
    fn default() -> Self {
        Endpoint {
            base: DEFAULT_ENDPOINT.to_owned(),
        }
    }
}

/// The host of `host[:port]` or `[v6][:port]`, checking the port and the host's characters.
fn host_of(authority: &str) -> Result<&str, FaceIdError> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (inner, after) = v6
            .split_once(']')
            .ok_or_else(|| invalid("has an unterminated IPv6 address"))?;
        let port = match after {
            "" => None,
            _ => Some(
                after
                    .strip_prefix(':')
                    .ok_or_else(|| invalid("has an invalid host"))?,
            ),
        };
        if inner.is_empty() || !inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') {
            return Err(invalid("has an invalid host"));
        }
        let bracketed = authority.get(..inner.len() + 2).unwrap_or(authority);
        (bracketed, port)
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if let Some(port) = port {
        let valid_port = !port.is_empty()
            && port.len() <= 5
            && port.bytes().all(|b| b.is_ascii_digit())
            && port.parse::<u32>().is_ok_and(|p| (1..=65_535).contains(&p));
        if !valid_port {
            return Err(invalid("has an invalid port"));
        }
    }
    let plain_host = host.starts_with('[')
        || (!host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-'));
    if plain_host {
        Ok(host)
    } else {
        Err(invalid("has an invalid host"))
    }
}

/// `localhost`, `127.0.0.0/8` or `[::1]`: the only hosts plain `http:` may reach.
pub(crate) fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host == "[::1]" {
        return true;
    }
    let octets: Vec<&str> = host.split('.').collect();
    octets.len() == 4
        && octets.first() == Some(&"127")
        && octets.iter().all(|octet| {
            !octet.is_empty()
                && octet.len() <= 3
                && octet.bytes().all(|b| b.is_ascii_digit())
                && octet.parse::<u8>().is_ok()
        })
}

fn is_path_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@%/".contains(&byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule_of(url: &str) -> &'static str {
        match Endpoint::new(url) {
            Err(FaceIdError::InvalidArgument { field, rule }) => {
                assert_eq!(field, "endpoint");
                rule
            }
            other => panic!("{url}: expected invalid_argument, got {other:?}"),
        }
    }

    #[test]
    fn accepts_https_hosts_ports_and_prefixes() {
        for (input, base) in [
            ("https://kyc1.qcloud.com", "https://kyc1.qcloud.com"),
            ("https://kyc1.qcloud.com/", "https://kyc1.qcloud.com"),
            (
                "HTTPS://KYC1.qcloud.com:8443/faceid/",
                "https://kyc1.qcloud.com:8443/faceid",
            ),
            ("https://[2001:db8::1]:443/p", "https://[2001:db8::1]:443/p"),
            ("https://10.0.0.1", "https://10.0.0.1"),
        ] {
            assert_eq!(Endpoint::new(input).unwrap().as_str(), base, "{input}");
        }
        assert_eq!(Endpoint::default().as_str(), DEFAULT_ENDPOINT);
    }

    #[test]
    fn authority_is_host_and_port_without_scheme_or_prefix() {
        for (input, authority) in [
            ("https://kyc1.qcloud.com", "kyc1.qcloud.com"),
            ("http://127.0.0.1:8788/prefix/", "127.0.0.1:8788"),
            ("http://[::1]:1", "[::1]:1"),
        ] {
            assert_eq!(Endpoint::new(input).unwrap().authority(), authority);
        }
    }

    #[test]
    fn allows_plain_http_only_to_loopback() {
        for ok in [
            "http://localhost:8788",
            "http://LOCALHOST",
            "http://127.0.0.1:8788",
            "http://127.255.0.9/x",
            "http://[::1]:8788",
        ] {
            assert!(Endpoint::new(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com",
            "http://128.0.0.1",
            "http://127.0.0.1.evil.com",
            "http://127.0.0.256",
            "http://localhost.evil.com",
            "http://[::2]",
        ] {
            assert!(rule_of(bad).contains("https"), "{bad}");
        }
    }

    #[test]
    fn rejects_queries_fragments_credentials_and_junk() {
        assert!(rule_of("https://h/?a=1").contains("query"));
        assert!(rule_of("https://h/#frag").contains("fragment"));
        assert!(rule_of("https://user:pw@h").contains("credentials"));
        assert!(rule_of("https://h:0").contains("port"));
        assert!(rule_of("https://h:65536").contains("port"));
        assert!(rule_of("https://h:").contains("port"));
        assert!(rule_of("https://[::1").contains("IPv6"));
        for bad in [
            "",
            "kyc1.qcloud.com",
            "ftp://h",
            "https://",
            "https://h h",
            "https://h/a b",
            "javascript://x",
            "https://h\\@evil",
        ] {
            rule_of(bad);
        }
    }

    #[test]
    fn builds_urls_with_every_value_percent_encoded() {
        let endpoint = Endpoint::new("http://127.0.0.1:1/prefix/").unwrap();
        let url = endpoint.url(
            "/api/oauth2/api_ticket",
            &[
                ("app_id", "IDA1"),
                ("access_token", "a+b/c=d&e?f#g h%"),
                ("type", "NONCE"),
            ],
        );
        assert_eq!(
            url,
            "http://127.0.0.1:1/prefix/api/oauth2/api_ticket?app_id=IDA1\
             &access_token=a%2Bb%2Fc%3Dd%26e%3Ff%23g%20h%25&type=NONCE"
        );
        assert_eq!(
            endpoint.url("/p", &[("k", "ü~")]),
            "http://127.0.0.1:1/prefix/p?k=%C3%BC~"
        );
    }
}
