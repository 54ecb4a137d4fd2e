//! The H5 login URL: where the partner sends the user's browser to verify a registered order.

use super::host::{CallbackUrl, OptimalDomain};
use super::inputs::{FaceId, LoginFrom, OrderNo};
use crate::endpoint::{push_query, Endpoint};
use crate::params::{AppId, UserId, Version};
use crate::protocol::Ticket;
use crate::sign::sign;
use serde::Serialize;

/// The path of the H5 page on the order's domain; the endpoint's path prefix does not apply.
const H5_LOGIN_PATH: &str = "/api/web/login";

/// The values of one H5 start. Sign them with a NONCE ticket fetched for `user_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct H5Login {
    /// The WBappid.
    pub app_id: AppId,
    /// The registered order.
    pub order_no: OrderNo,
    /// The service's id of that order, from its registration.
    pub face_id: FaceId,
    /// The user the order and the NONCE ticket were made for.
    pub user_id: UserId,
    /// The API version, `1.0.0` by default.
    pub version: Version,
    /// Where the service sends the user back.
    pub callback_url: CallbackUrl,
    /// Where the page is opened: `browser` by default.
    pub from: LoginFrom,
    /// `resultType=1`: skip the service's own result page.
    pub skip_result_page: bool,
    /// The host from the registration; `None` means the endpoint's host.
    pub optimal_domain: Option<OptimalDomain>,
}

/// A signed H5 login URL. Field names are the JS result's.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct H5LoginUrl {
    /// The URL to send the user's browser to.
    pub url: String,
    /// When its NONCE ticket expires (ms since the epoch): the URL is dead after that.
    pub expires_at: f64,
}

impl H5Login {
    /// The login URL, signed with `nonce_ticket` (fetched for `user_id`) over appId, userId,
    /// orderNo, version, faceId, the ticket and `nonce`.
    pub fn signed_url(
        &self,
        endpoint: &Endpoint,
        nonce: &str,
        nonce_ticket: &Ticket,
    ) -> H5LoginUrl {
        let app_id = self.app_id.as_str();
        let order_no = self.order_no.as_str();
        let face_id = self.face_id.as_str();
        let user_id = self.user_id.as_str();
        let version = self.version.as_str();
        let signature = sign(&[
            app_id,
            user_id,
            order_no,
            version,
            face_id,
            nonce_ticket.value.as_str(),
            nonce,
        ]);
        let origin = match &self.optimal_domain {
            Some(domain) => domain.origin(),
            None => OptimalDomain::of_endpoint(endpoint).origin(),
        };
        let mut url = origin + H5_LOGIN_PATH;
        let mut query = vec![
            ("appId", app_id),
            ("version", version),
            ("nonce", nonce),
            ("orderNo", order_no),
            ("faceId", face_id),
            ("url", self.callback_url.as_str()),
            ("from", self.from.as_str()),
            ("userId", user_id),
            ("sign", signature.as_str()),
            ("redirectType", "1"),
        ];
        if self.skip_result_page {
            query.push(("resultType", "1"));
        }
        push_query(&mut url, &query);
        H5LoginUrl {
            url,
            expires_at: nonce_ticket.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONCE: &str = "kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T";

    fn login() -> H5Login {
        H5Login {
            app_id: AppId::new("IDAXXXXX").unwrap(),
            order_no: OrderNo::new("order0001").unwrap(),
            face_id: FaceId::new("tx11a42739e56889725d5be8ab492d9d").unwrap(),
            user_id: UserId::new("userID19959248596551").unwrap(),
            version: Version::default(),
            callback_url: CallbackUrl::new("https://partner.example/cb?state=a%20b&x=1").unwrap(),
            from: LoginFrom::Browser,
            skip_result_page: false,
            optimal_domain: Some(OptimalDomain::new("kyc1.qcloud.com").unwrap()),
        }
    }

    fn nonce_ticket() -> Ticket {
        Ticket {
            value: "XO99Qfxlti9iTVgHAjwvJdAZKN3nMuUhrsPdPlPVKlcyS50N6tlLnfuFBPIucaMS".into(),
            expire_in: 120,
            expire_time: None,
            transaction_time: None,
            expires_at: 1_700_000_120_000.0,
        }
    }

    #[test]
    fn signs_the_seven_values_as_an_independent_sha1_does() {
        // sha1 of the seven values sorted and joined, computed with node:crypto.
        let signed = login().signed_url(&Endpoint::default(), NONCE, &nonce_ticket());
        assert_eq!(
            signed.url,
            "https://kyc1.qcloud.com/api/web/login?appId=IDAXXXXX&version=1.0.0\
             &nonce=kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T&orderNo=order0001\
             &faceId=tx11a42739e56889725d5be8ab492d9d\
             &url=https%3A%2F%2Fpartner.example%2Fcb%3Fstate%3Da%2520b%26x%3D1\
             &from=browser&userId=userID19959248596551\
             &sign=0F4B40894051F571DCB655CFA07B5D116CD63373&redirectType=1"
        );
        assert_eq!(signed.expires_at, 1_700_000_120_000.0);
        let json = serde_json::to_value(&signed).unwrap();
        let mut keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["expires_at", "url"]);
    }

    #[test]
    fn the_result_page_and_app_choices_change_the_url_not_the_sign() {
        let mut app = login();
        app.from = LoginFrom::App;
        app.skip_result_page = true;
        let url = app
            .signed_url(&Endpoint::default(), NONCE, &nonce_ticket())
            .url;
        assert!(url.contains("&from=App&"), "{url}");
        assert!(
            url.ends_with(
                "&sign=0F4B40894051F571DCB655CFA07B5D116CD63373&redirectType=1&resultType=1"
            ),
            "{url}"
        );
    }

    #[test]
    fn without_a_domain_the_endpoints_host_serves_the_page_without_its_prefix() {
        let mut local = login();
        local.optimal_domain = None;
        let endpoint = Endpoint::new("http://127.0.0.1:8788/prefix").unwrap();
        let url = local.signed_url(&endpoint, NONCE, &nonce_ticket()).url;
        assert!(
            url.starts_with("http://127.0.0.1:8788/api/web/login?appId="),
            "{url}"
        );
        let remote = login().signed_url(&endpoint, NONCE, &nonce_ticket()).url;
        assert!(
            remote.starts_with("https://kyc1.qcloud.com/api/web/login?"),
            "{remote}"
        );
        local.optimal_domain = Some(OptimalDomain::new("localhost:9").unwrap());
        let url = local
            .signed_url(&Endpoint::default(), NONCE, &nonce_ticket())
            .url;
        assert!(
            url.starts_with("http://localhost:9/api/web/login?"),
            "{url}"
        );
    }
}
