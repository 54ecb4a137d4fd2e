//! The requests this crate sends, as pure values that know their URL.

use crate::endpoint::Endpoint;
use crate::params::{AccessToken, AppId, Secret, UserId, Version};

/// The path of the ticket endpoint (SIGN and NONCE).
pub const API_TICKET_PATH: &str = "/api/oauth2/api_ticket";
/// The path of the access-token endpoint.
pub const ACCESS_TOKEN_PATH: &str = "/api/oauth2/access_token";

/// `GET /api/oauth2/access_token`: a new access token, which retires the previous one about a
/// minute later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenRequest {
    /// The WBappid.
    pub app_id: AppId,
    /// Its secret.
    pub secret: Secret,
    /// The API version, `1.0.0` by default.
    pub version: Version,
}

impl AccessTokenRequest {
    /// The request URL on `endpoint`. It carries the secret: never log it.
    pub fn url(&self, endpoint: &Endpoint) -> String {
        endpoint.url(
            ACCESS_TOKEN_PATH,
            &[
                ("app_id", self.app_id.as_str()),
                ("secret", self.secret.as_str()),
                ("grant_type", "client_credential"),
                ("version", self.version.as_str()),
            ],
        )
    }
}

/// `GET /api/oauth2/api_ticket?type=SIGN`: the reusable ticket that signs server calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignTicketRequest {
    /// The WBappid.
    pub app_id: AppId,
    /// A current access token of that WBappid.
    pub access_token: AccessToken,
    /// The API version, `1.0.0` by default.
    pub version: Version,
}

impl SignTicketRequest {
    /// The request URL on `endpoint`. It carries the access token: never log it.
    pub fn url(&self, endpoint: &Endpoint) -> String {
        endpoint.url(
            API_TICKET_PATH,
            &[
                ("app_id", self.app_id.as_str()),
                ("access_token", self.access_token.as_str()),
                ("type", "SIGN"),
                ("version", self.version.as_str()),
            ],
        )
    }
}

/// `GET /api/oauth2/api_ticket?type=NONCE`: a one-time ticket for one user, valid 120 s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NonceTicketRequest {
    /// The WBappid.
    pub app_id: AppId,
    /// A current access token of that WBappid.
    pub access_token: AccessToken,
    /// The partner's id of the user about to be verified.
    pub user_id: UserId,
    /// The API version, `1.0.0` by default.
    pub version: Version,
}

impl NonceTicketRequest {
    /// The request URL on `endpoint`. It carries the access token: never log it.
    pub fn url(&self, endpoint: &Endpoint) -> String {
        endpoint.url(
            API_TICKET_PATH,
            &[
                ("app_id", self.app_id.as_str()),
                ("access_token", self.access_token.as_str()),
                ("type", "NONCE"),
                ("version", self.version.as_str()),
                ("user_id", self.user_id.as_str()),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_token_url_asks_for_client_credentials() {
        let request = AccessTokenRequest {
            app_id: AppId::new("IDAXXXXX").unwrap(),
            secret: Secret::new("s&cret=1").unwrap(),
            version: Version::default(),
        };
        assert_eq!(
            request.url(&Endpoint::new("https://kyc1.qcloud.com").unwrap()),
            "https://kyc1.qcloud.com/api/oauth2/access_token\
             ?app_id=IDAXXXXX&secret=s%26cret%3D1&grant_type=client_credential&version=1.0.0"
        );
    }

    #[test]
    fn sign_ticket_url_asks_for_type_sign_without_a_user() {
        let request = SignTicketRequest {
            app_id: AppId::new("IDAXXXXX").unwrap(),
            access_token: AccessToken::new("tok").unwrap(),
            version: Version::new("2.0").unwrap(),
        };
        assert_eq!(
            request.url(&Endpoint::default()),
            "https://miniprogram-kyc.tencentcloudapi.com/api/oauth2/api_ticket\
             ?app_id=IDAXXXXX&access_token=tok&type=SIGN&version=2.0"
        );
    }

    #[test]
    fn nonce_ticket_url_has_the_documented_parameters_in_order() {
        let request = NonceTicketRequest {
            app_id: AppId::new("IDAXXXXX").unwrap(),
            access_token: AccessToken::new("tok+/=").unwrap(),
            user_id: UserId::new("user_1").unwrap(),
            version: Version::default(),
        };
        assert_eq!(
            request.url(&Endpoint::default()),
            "https://miniprogram-kyc.tencentcloudapi.com/api/oauth2/api_ticket\
             ?app_id=IDAXXXXX&access_token=tok%2B%2F%3D&type=NONCE&version=1.0.0&user_id=user_1"
        );
    }
}
