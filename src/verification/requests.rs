//! The two server calls of a verification, as pure values: where they go, the JSON body they
//! send (signed with the SIGN ticket) and how their answers read.

use super::answers::{read_face_record, read_registered_order, FaceRecord, RegisteredOrder};
use super::inputs::{FileChoice, IdNumber, LiveInterType, OrderNo, PersonName, SourcePhoto};
use super::json_writer::JsonObject;
use crate::endpoint::Endpoint;
use crate::error::FaceIdError;
use crate::params::{AppId, UserId, Version};
use crate::protocol::{JsonView, BODY_LIMIT, FILE_BODY_LIMIT};
use crate::sign::sign;

/// The path of the order registration ("upload identity data") endpoint.
const REGISTER_ORDER_PATH: &str = "/api/server/getAdvFaceId";
/// The path of the result query endpoint.
const FACE_RECORD_PATH: &str = "/api/v2/base/queryfacerecord";

/// Room for the members' names, quotes and commas around the values of a body.
const BODY_OVERHEAD: usize = 256;

/// `POST /api/server/getAdvFaceId`: registers a verification order with the person's name and ID
/// number. `Debug` prints no personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterOrderRequest {
    /// The WBappid.
    pub app_id: AppId,
    /// The partner's order number for this verification.
    pub order_no: OrderNo,
    /// The partner's id of the user being verified.
    pub user_id: UserId,
    /// The person's real name.
    pub name: PersonName,
    /// The person's ID-card number.
    pub id_no: IdNumber,
    /// The API version, `1.0.0` by default.
    pub version: Version,
    /// A photo to compare against instead of the authority's.
    pub source_photo: Option<SourcePhoto>,
    /// How the H5 page checks liveness; the service's default when `None`.
    pub live_inter_type: Option<LiveInterType>,
}

impl RegisterOrderRequest {
    /// The request URL on `endpoint`: `?orderNo=` is there for the service's tracing only.
    pub fn url(&self, endpoint: &Endpoint) -> String {
        endpoint.url(REGISTER_ORDER_PATH, &[("orderNo", self.order_no.as_str())])
    }

    /// The JSON body, signed with `sign_ticket` over appId, userId, nonce and version. It holds
    /// personal data: never log or keep it.
    pub fn body(&self, nonce: &str, sign_ticket: &str) -> String {
        let app_id = self.app_id.as_str();
        let user_id = self.user_id.as_str();
        let version = self.version.as_str();
        let photo_len = self
            .source_photo
            .as_ref()
            .map_or(0, |photo| photo.base64().len());
        let mut body = JsonObject::with_capacity(BODY_OVERHEAD + photo_len);
        body.string("appId", app_id)
            .string("orderNo", self.order_no.as_str())
            .string("name", self.name.as_str())
            .string("idNo", self.id_no.as_str())
            .string("userId", user_id)
            .string("version", version)
            .string("nonce", nonce)
            .string(
                "sign",
                &sign(&[app_id, user_id, nonce, version, sign_ticket]),
            );
        if let Some(photo) = &self.source_photo {
            body.string("sourcePhotoStr", photo.base64())
                .string("sourcePhotoType", photo.kind().as_str());
        }
        if let Some(live_inter_type) = self.live_inter_type {
            body.string("liveInterType", live_inter_type.as_str());
        }
        body.finish()
    }

    /// The personal data the service's `msg` might echo: scrub them from its errors with
    /// [`FaceIdError::redact`].
    pub fn personal_data(&self) -> [&str; 2] {
        [self.name.as_str(), self.id_no.as_str()]
    }

    /// Reads the answer. Where it names no `optimalDomain`, the order's domain is `endpoint`'s.
    pub fn read_answer<J: JsonView>(
        &self,
        answer: &J,
        endpoint: &Endpoint,
    ) -> Result<RegisteredOrder, FaceIdError> {
        read_registered_order(answer, &self.order_no, endpoint)
    }
}

/// `POST /api/v2/base/queryfacerecord`: the result of a verification, with its photo or video
/// when asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FaceRecordQuery {
    /// The WBappid.
    pub app_id: AppId,
    /// The partner's order number of the verification.
    pub order_no: OrderNo,
    /// The API version, `1.0.0` by default.
    pub version: Version,
    /// Which files to fetch with the result.
    pub files: FileChoice,
}

impl FaceRecordQuery {
    /// The request URL on `endpoint`: `?orderNo=` is there for the service's tracing only.
    pub fn url(&self, endpoint: &Endpoint) -> String {
        endpoint.url(FACE_RECORD_PATH, &[("orderNo", self.order_no.as_str())])
    }

    /// The JSON body, signed with `sign_ticket` over appId, orderNo, nonce and version.
    pub fn body(&self, nonce: &str, sign_ticket: &str) -> String {
        let app_id = self.app_id.as_str();
        let order_no = self.order_no.as_str();
        let version = self.version.as_str();
        let mut body = JsonObject::with_capacity(BODY_OVERHEAD);
        body.string("appId", app_id)
            .string("version", version)
            .string("nonce", nonce)
            .string("orderNo", order_no)
            .string(
                "sign",
                &sign(&[app_id, order_no, nonce, version, sign_ticket]),
            );
        if let Some(get_file) = self.files.get_file() {
            body.string("getFile", get_file);
        }
        body.finish()
    }

    /// The most answer bytes to read: [`FILE_BODY_LIMIT`] when files are asked for, else
    /// [`BODY_LIMIT`].
    pub fn body_limit(&self) -> usize {
        match self.files {
            FileChoice::None => BODY_LIMIT,
            FileChoice::Photo | FileChoice::Video | FileChoice::Both => FILE_BODY_LIMIT,
        }
    }

    /// Reads the answer: a verdict, passed or not, or an error when there is none.
    pub fn read_answer<J: JsonView>(&self, answer: &J) -> Result<FaceRecord, FaceIdError> {
        read_face_record(answer, &self.order_no)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::parse_body as parsed;
    use crate::verification::inputs::SourcePhotoType;
    use serde_json::{json, Value};

    const NONCE: &str = "kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T";

    /// Vector 1's values, with an order and a person around them.
    fn register_request() -> RegisterOrderRequest {
        RegisterOrderRequest {
            app_id: AppId::new("IDAXXXXX").unwrap(),
            order_no: OrderNo::new("order0001").unwrap(),
            user_id: UserId::new("userID19959248596551").unwrap(),
            name: PersonName::new("张三 \"Zhang\" \\ San").unwrap(),
            id_no: IdNumber::new("11010519491231002X").unwrap(),
            version: Version::default(),
            source_photo: None,
            live_inter_type: None,
        }
    }

    /// Vector 2's values.
    fn record_query(files: FileChoice) -> FaceRecordQuery {
        FaceRecordQuery {
            app_id: AppId::new("appId001").unwrap(),
            order_no: OrderNo::new("aabc1457895464").unwrap(),
            version: Version::default(),
            files,
        }
    }

    fn body_json(body: &str) -> Value {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn register_body_is_signed_as_documented_vector_1() {
        let body = register_request().body(
            NONCE,
            "XO99Qfxlti9iTVgHAjwvJdAZKN3nMuUhrsPdPlPVKlcyS50N6tlLnfuFBPIucaMS",
        );
        assert_eq!(
            body,
            r#"{"appId":"IDAXXXXX","orderNo":"order0001","name":"张三 \"Zhang\" \\ San","idNo":"11010519491231002X","userId":"userID19959248596551","version":"1.0.0","nonce":"kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T","sign":"D7606F1741DDCF90757DA924EDCF152A200AC7F0"}"#
        );
    }

    #[test]
    fn register_body_carries_the_optional_members_as_documented_strings() {
        let mut request = register_request();
        request.source_photo =
            Some(SourcePhoto::new("/9j/4AAQ", SourcePhotoType::HighDefinition).unwrap());
        request.live_inter_type = Some(LiveInterType::RealTimeOnly);
        let body = body_json(&request.body(NONCE, "ticket"));
        assert_eq!(body["sourcePhotoStr"], "/9j/4AAQ");
        assert_eq!(body["sourcePhotoType"], "2");
        assert_eq!(body["liveInterType"], "1");
        assert_eq!(body["name"], "张三 \"Zhang\" \\ San");
        assert_eq!(body.as_object().unwrap().len(), 11);
    }

    #[test]
    fn register_url_traces_the_order_under_the_endpoint_prefix() {
        let endpoint = Endpoint::new("https://kyc1.qcloud.com/faceid").unwrap();
        assert_eq!(
            register_request().url(&endpoint),
            "https://kyc1.qcloud.com/faceid/api/server/getAdvFaceId?orderNo=order0001"
        );
    }

    #[test]
    fn register_personal_data_is_named_for_redaction_and_hidden_from_debug() {
        let request = register_request();
        assert_eq!(
            request.personal_data(),
            ["张三 \"Zhang\" \\ San", "11010519491231002X"]
        );
        let printed = format!("{request:?}");
        assert!(
            !printed.contains("Zhang") && !printed.contains("1101051949"),
            "{printed}"
        );
        let echoed = FaceIdError::Api {
            code: "1".into(),
            msg: "11010519491231002X 与 张三 \"Zhang\" \\ San 不一致".into(),
            transaction_time: None,
        };
        assert_eq!(
            echoed.redact(&request.personal_data()).to_string(),
            "FaceID refused the request: code 1: <redacted> 与 <redacted> 不一致"
        );
    }

    #[test]
    fn register_answer_reads_through_the_request() {
        let answer = parsed(
            r#"{"code":"0","transactionTime":"t","result":{"orderNo":"order0001","faceId":"tx1","optimalDomain":"kyc1.qcloud.com"}}"#,
        )
        .unwrap();
        let order = register_request()
            .read_answer(&answer, &Endpoint::default())
            .unwrap();
        assert_eq!(
            (
                order.order_no.as_str(),
                order.face_id.as_str(),
                order.optimal_domain.as_str()
            ),
            ("order0001", "tx1", "kyc1.qcloud.com")
        );
    }

    #[test]
    fn query_body_is_signed_as_documented_vector_2() {
        let body = record_query(FileChoice::None).body(
            NONCE,
            "FxlAe3HFtEy73Um0pJNzIUriwtfnS3KRcPXiesd5ulS4XRAIcT0FbfaP52dwZf5S",
        );
        assert_eq!(
            body,
            r#"{"appId":"appId001","version":"1.0.0","nonce":"kHoSxvLZGxSoFsjxlbzEoUzh5PAnTU7T","orderNo":"aabc1457895464","sign":"993D057C652D97FD90D5D298F2E5DC4B8D893CBC"}"#
        );
    }

    #[test]
    fn query_asks_for_files_and_allows_their_size() {
        for (files, get_file, limit) in [
            (FileChoice::None, Value::Null, BODY_LIMIT),
            (FileChoice::Both, json!("1"), FILE_BODY_LIMIT),
            (FileChoice::Photo, json!("2"), FILE_BODY_LIMIT),
            (FileChoice::Video, json!("3"), FILE_BODY_LIMIT),
        ] {
            let query = record_query(files);
            let body = body_json(&query.body(NONCE, "ticket"));
            assert_eq!(body["getFile"], get_file, "{files:?}");
            let unsigned_file = sign(&["appId001", "aabc1457895464", NONCE, "1.0.0", "ticket"]);
            assert_eq!(
                body["sign"],
                unsigned_file.as_str(),
                "{files:?}: getFile is not signed"
            );
            assert_eq!(query.body_limit(), limit);
        }
        assert_eq!(
            record_query(FileChoice::None).url(&Endpoint::default()),
            "https://miniprogram-kyc.tencentcloudapi.com/api/v2/base/queryfacerecord?orderNo=aabc1457895464"
        );
    }

    #[test]
    fn query_answer_reads_through_the_request() {
        let answer = parsed(r#"{"code":"1","msg":"no"}"#).unwrap();
        let error = record_query(FileChoice::None)
            .read_answer(&answer)
            .unwrap_err();
        assert_eq!(error.kind().as_str(), "api");
    }
}
