//! JS option objects read into the Rust API's validated values. A wrong or unreadable option is an
//! `invalid_argument` naming it; nothing is sent.

use super::token_source::JsTokenSource;
use crate::endpoint::Endpoint;
use crate::error::FaceIdError;
use crate::params::{
    AccessToken, AppId, RefreshAfter, Retries, Secret, TimeoutMs, UserId, Version,
};
use crate::protocol::NonceTicketRequest;
use crate::verification::{
    Callback, CallbackUrl, FaceId, FaceRecordQuery, FileChoice, H5Login, IdNumber, LiveInterType,
    LoginFrom, OptimalDomain, OrderNo, PersonName, RegisterOrderRequest, SourcePhoto,
    SourcePhotoType,
};
use crate::wasm::interned::js_name;
use crate::wasm::{ClientConfig, RequestOptions};
use js_sys::{Object, Reflect};
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::AbortSignal;

const TOKEN_SOURCE: &str = "tokenSource";
const RESULT_TYPE: &str = "resultType";

/// A positional string argument (a user id, a token, a saved state).
pub(super) fn string_argument(value: JsValue, field: &'static str) -> Result<String, FaceIdError> {
    value.as_string().ok_or(FaceIdError::InvalidArgument {
        field,
        rule: "must be a string",
    })
}

/// A callback's parameters from whatever form the caller has them in; anything else reads as a
/// callback without parameters, which no signature verifies.
pub(super) fn callback_from(value: &JsValue) -> Callback {
    if let Some(text) = value.as_string() {
        return Callback::from_query(&text);
    }
    if let Some(url) = value.dyn_ref::<web_sys::Url>() {
        return Callback::from_query(&url.href());
    }
    if let Some(params) = value.dyn_ref::<web_sys::UrlSearchParams>() {
        return Callback::from_query(&String::from(params.to_string()));
    }
    // A getter may throw, or a value be no string: either is a parameter not given.
    let text = |key: &'static str| {
        Reflect::get(value, &js_name(key))
            .ok()
            .and_then(|value| value.as_string())
    };
    Callback {
        code: text("code"),
        order_no: text("orderNo"),
        new_sign: text("newSign"),
    }
}

/// What every request and the client take: where, which API version, how long, how often.
struct Settings {
    endpoint: Endpoint,
    version: Version,
    timeout: TimeoutMs,
    retries: Retries,
}

/// Reads an options object property by property, naming the field at fault.
pub(super) struct Options(Object);

impl Options {
    pub(super) fn new(value: JsValue) -> Result<Self, FaceIdError> {
        // `typeof === "object"`, not `instanceof Object`: objects without a prototype or from
        // another realm are options too.
        if value.is_object() {
            Ok(Options(value.unchecked_into()))
        } else {
            Err(FaceIdError::InvalidArgument {
                field: "options",
                rule: "must be an object",
            })
        }
    }

    /// The options of a call that may be left out (`undefined`).
    pub(super) fn optional(value: JsValue) -> Result<Option<Self>, FaceIdError> {
        if value.is_undefined() {
            Ok(None)
        } else {
            Options::new(value).map(Some)
        }
    }

    /// `fetchNonceTicket`'s request and how to send it.
    pub(super) fn nonce_ticket_request(
        &self,
    ) -> Result<(NonceTicketRequest, RequestOptions), FaceIdError> {
        let app_id = AppId::new(self.required_string(AppId::FIELD)?)?;
        let access_token = AccessToken::new(self.required_string(AccessToken::FIELD)?)?;
        let user_id = UserId::new(self.required_string(UserId::FIELD)?)?;
        let settings = self.settings()?;
        let request = NonceTicketRequest {
            app_id,
            access_token,
            user_id,
            version: settings.version,
        };
        let options = RequestOptions {
            endpoint: settings.endpoint,
            timeout: settings.timeout,
            signal: self.signal()?,
            retries: settings.retries,
        };
        Ok((request, options))
    }

    /// `new FaceIdClient()`'s settings: the token from the secret or from a token source.
    pub(super) fn client_config(&self) -> Result<ClientConfig, FaceIdError> {
        let app_id = AppId::new(self.required_string(AppId::FIELD)?)?;
        let secret = self.optional_string(Secret::FIELD)?;
        let mut config = match (secret, self.get(TOKEN_SOURCE)?) {
            (Some(secret), None) => ClientConfig::new(app_id, Secret::new(secret)?),
            (None, Some(source)) => {
                let source = JsTokenSource::new(source).ok_or(FaceIdError::InvalidArgument {
                    field: TOKEN_SOURCE,
                    rule: "must be an object with token() and rejected(token) methods",
                })?;
                ClientConfig::with_token_source(app_id, Rc::new(source))
            }
            (Some(_), Some(_)) => {
                return Err(FaceIdError::InvalidArgument {
                    field: TOKEN_SOURCE,
                    rule: "cannot be given together with secret",
                })
            }
            (None, None) => {
                return Err(FaceIdError::InvalidArgument {
                    field: Secret::FIELD,
                    rule: "is required, unless a tokenSource is given",
                })
            }
        };
        let settings = self.settings()?;
        config.endpoint = settings.endpoint;
        config.version = settings.version;
        config.timeout = settings.timeout;
        config.retries = settings.retries;
        if let Some(seconds) = self.number(RefreshAfter::FIELD)? {
            config.refresh_after = RefreshAfter::from_seconds(seconds)?;
        }
        Ok(config)
    }

    /// `registerOrder()`'s order, for the client's app and version.
    pub(super) fn register_order(
        &self,
        config: &ClientConfig,
    ) -> Result<RegisterOrderRequest, FaceIdError> {
        Ok(RegisterOrderRequest {
            app_id: config.app_id.clone(),
            order_no: OrderNo::new(self.required_string(OrderNo::FIELD)?)?,
            user_id: UserId::new(self.required_string(UserId::FIELD)?)?,
            name: PersonName::new(self.required_string(PersonName::FIELD)?)?,
            id_no: IdNumber::new(self.required_string(IdNumber::FIELD)?)?,
            version: config.version.clone(),
            source_photo: self.source_photo()?,
            live_inter_type: self
                .number(LiveInterType::FIELD)?
                .map(LiveInterType::from_f64)
                .transpose()?,
        })
    }

    /// `h5LoginUrl()`'s login, for the client's app and version.
    pub(super) fn h5_login(&self, config: &ClientConfig) -> Result<H5Login, FaceIdError> {
        Ok(H5Login {
            app_id: config.app_id.clone(),
            order_no: OrderNo::new(self.required_string(OrderNo::FIELD)?)?,
            face_id: FaceId::new(self.required_string(FaceId::FIELD)?)?,
            user_id: UserId::new(self.required_string(UserId::FIELD)?)?,
            version: config.version.clone(),
            callback_url: CallbackUrl::new(&self.required_string(CallbackUrl::FIELD)?)?,
            from: match self.optional_string(LoginFrom::FIELD)? {
                Some(from) => LoginFrom::new(&from)?,
                None => LoginFrom::default(),
            },
            skip_result_page: self.boolean(RESULT_TYPE)?.unwrap_or(false),
            optimal_domain: self
                .optional_string(OptimalDomain::FIELD)?
                .map(|domain| OptimalDomain::new(&domain))
                .transpose()?,
        })
    }

    /// `queryFaceRecord()`'s query, for the client's app and version.
    pub(super) fn face_record_query(
        &self,
        config: &ClientConfig,
    ) -> Result<FaceRecordQuery, FaceIdError> {
        Ok(FaceRecordQuery {
            app_id: config.app_id.clone(),
            order_no: OrderNo::new(self.required_string(OrderNo::FIELD)?)?,
            version: config.version.clone(),
            files: match self.optional_string(FileChoice::FIELD)? {
                Some(files) => FileChoice::new(&files)?,
                None => FileChoice::default(),
            },
        })
    }

    pub(super) fn signal(&self) -> Result<Option<AbortSignal>, FaceIdError> {
        self.get("signal")?
            .map(|value| {
                value
                    .dyn_into::<AbortSignal>()
                    .map_err(|_| FaceIdError::InvalidArgument {
                        field: "signal",
                        rule: "must be an AbortSignal",
                    })
            })
            .transpose()
    }

    fn settings(&self) -> Result<Settings, FaceIdError> {
        Ok(Settings {
            endpoint: self
                .optional_string("endpoint")?
                .map_or_else(|| Ok(Endpoint::default()), |url| Endpoint::new(&url))?,
            version: self
                .optional_string(Version::FIELD)?
                .map_or_else(|| Ok(Version::default()), Version::new)?,
            timeout: self
                .number(TimeoutMs::FIELD)?
                .map_or_else(|| Ok(TimeoutMs::default()), TimeoutMs::from_f64)?,
            retries: self
                .number(Retries::FIELD)?
                .map_or_else(|| Ok(Retries::default()), Retries::from_f64)?,
        })
    }

    /// `sourcePhoto: { base64, type }`, when given.
    fn source_photo(&self) -> Result<Option<SourcePhoto>, FaceIdError> {
        let Some(photo) = self.get("sourcePhoto")? else {
            return Ok(None);
        };
        if !photo.is_object() {
            return Err(FaceIdError::InvalidArgument {
                field: "sourcePhoto",
                rule: "must be an object { base64: string, type: 1 | 2 }",
            });
        }
        let member = |key: &'static str| Reflect::get(&photo, &js_name(key)).ok();
        let base64 = member("base64")
            .and_then(|base64| base64.as_string())
            .ok_or(FaceIdError::InvalidArgument {
                field: SourcePhoto::BASE64_FIELD,
                rule: "must be a string",
            })?;
        let kind =
            member("type")
                .and_then(|kind| kind.as_f64())
                .ok_or(FaceIdError::InvalidArgument {
                    field: SourcePhotoType::FIELD,
                    rule: "must be 1 (watermarked) or 2 (high definition)",
                })?;
        SourcePhoto::new(base64, SourcePhotoType::from_f64(kind)?).map(Some)
    }

    /// The property, or `None` when it is absent or `undefined`.
    fn get(&self, field: &'static str) -> Result<Option<JsValue>, FaceIdError> {
        // A getter or proxy may throw: that is the caller's bad argument, not a crash.
        let value =
            Reflect::get(&self.0, &js_name(field)).map_err(|_| FaceIdError::InvalidArgument {
                field,
                rule: "could not be read",
            })?;
        Ok((!value.is_undefined()).then_some(value))
    }

    fn optional_string(&self, field: &'static str) -> Result<Option<String>, FaceIdError> {
        self.get(field)?
            .map(|value| string_argument(value, field))
            .transpose()
    }

    fn required_string(&self, field: &'static str) -> Result<String, FaceIdError> {
        self.optional_string(field)?
            .ok_or(FaceIdError::InvalidArgument {
                field,
                rule: "is required",
            })
    }

    fn number(&self, field: &'static str) -> Result<Option<f64>, FaceIdError> {
        self.get(field)?
            .map(|value| {
                value.as_f64().ok_or(FaceIdError::InvalidArgument {
                    field,
                    rule: "must be a number",
                })
            })
            .transpose()
    }

    fn boolean(&self, field: &'static str) -> Result<Option<bool>, FaceIdError> {
        self.get(field)?
            .map(|value| {
                value.as_bool().ok_or(FaceIdError::InvalidArgument {
                    field,
                    rule: "must be a boolean",
                })
            })
            .transpose()
    }
}
