//! The requests this crate sends, as pure values that know their URL.

use super::answers::{parse_access_token_answer, parse_ticket_answer, Credential, Ticket};
use super::json::JsonView;
use crate::endpoint::Endpoint;
use crate::error::FaceIdError;
use crate::params::{AccessToken, AppId, Secret, UserId, Version};

/// A FaceID request: where it goes, which credential its URL carries, and how its answer parses.
pub trait FaceIdRequest {
    /// What a successful answer becomes.
    type Answer;

    /// The request URL on `endpoint`. It carries a credential: never log it.
    fn url(&self, endpoint: &Endpoint) -> String;

    /// The credential in the URL, scrubbed from any message that might echo it.
    fn credential(&self) -> &str;

    /// Reads a parsed answer; `sent_at_ms` is the local clock just before sending.
    fn read_answer<J: JsonView>(answer: &J, sent_at_ms: f64) -> Result<Self::Answer, FaceIdError>;
}

/// The path of the ticket endpoint (SIGN and NONCE).
const API_TICKET_PATH: &str = "/api/oauth2/api_ticket";
/// The path of the access-token endpoint.
const ACCESS_TOKEN_PATH: &str = "/api/oauth2/access_token";

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

impl FaceIdRequest for AccessTokenRequest {
    type Answer = Credential;

    fn url(&self, endpoint: &Endpoint) -> String {
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

    fn credential(&self) -> &str {
        self.secret.as_str()
    }

    fn read_answer<J: JsonView>(answer: &J, sent_at_ms: f64) -> Result<Credential, FaceIdError> {
        parse_access_token_answer(answer, sent_at_ms)
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

impl FaceIdRequest for SignTicketRequest {
    type Answer = Ticket;

    fn url(&self, endpoint: &Endpoint) -> String {
        let (app_id, access_token) = (&self.app_id, &self.access_token);
        ticket_url(endpoint, app_id, access_token, &self.version, None)
    }

    fn credential(&self) -> &str {
        self.access_token.as_str()
    }

    fn read_answer<J: JsonView>(answer: &J, sent_at_ms: f64) -> Result<Ticket, FaceIdError> {
        parse_ticket_answer(answer, sent_at_ms)
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

impl FaceIdRequest for NonceTicketRequest {
    type Answer = Ticket;

    fn url(&self, endpoint: &Endpoint) -> String {
        let (app_id, access_token) = (&self.app_id, &self.access_token);
        ticket_url(
            endpoint,
            app_id,
            access_token,
            &self.version,
            Some(&self.user_id),
        )
    }

    fn credential(&self) -> &str {
        self.access_token.as_str()
    }

    fn read_answer<J: JsonView>(answer: &J, sent_at_ms: f64) -> Result<Ticket, FaceIdError> {
        parse_ticket_answer(answer, sent_at_ms)
    }
}

/// The ticket endpoint's URL: the NONCE request names its user, the SIGN request none.
fn ticket_url(
    endpoint: &Endpoint,
    app_id: &AppId,
    access_token: &AccessToken,
    version: &Version,
    user_id: Option<&UserId>,
) -> String {
    let (app_id, access_token, version) =
        (app_id.as_str(), access_token.as_str(), version.as_str());
    let query: &[(&str, &str)] = match user_id {
        Some(user_id) => &[
            ("app_id", app_id),
            ("access_token", access_token),
            ("type", "NONCE"),
            ("version", version),
            ("user_id", user_id.as_str()),
        ],
        None => &[
            ("app_id", app_id),
            ("access_token", access_token),
            ("type", "SIGN"),
            ("version", version),
        ],
    };
    endpoint.url(API_TICKET_PATH, query)
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
