//! Validated inputs of one verification: the order, the person, the photo and the choices.
//!
//! Like [`crate::params`], each type can only be built through its rule. The person's name, ID
//! number and photo are personal data, kept as [`Redacted`]: they print as `<redacted>`.

use crate::error::FaceIdError;
use crate::params::{is_visible_ascii, text_rule};
use crate::redacted::Redacted;

pub(super) fn invalid(field: &'static str, rule: &'static str) -> FaceIdError {
    FaceIdError::InvalidArgument { field, rule }
}

/// 1..=`max_chars` characters (Unicode scalar values), none a control character: C0, DEL or C1.
fn is_plain_text(value: &str, max_chars: usize) -> bool {
    let mut count = 0;
    for character in value.chars() {
        if character.is_control() {
            return false;
        }
        count += 1;
    }
    (1..=max_chars).contains(&count)
}

fn is_order_no(value: &str) -> bool {
    (1..=32).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn is_face_id(value: &str) -> bool {
    (1..=64).contains(&value.len()) && value.bytes().all(is_visible_ascii)
}

text_rule!(
    /// The partner's order number, unique per verification: 1-32 ASCII letters or digits.
    OrderNo, OrderNoRule, field = "orderNo", rule = "must be 1-32 ASCII letters or digits",
    value = String, accepts = is_order_no
);
text_rule!(
    /// The person's real name: personal data, never printed. 1-64 characters without control
    /// characters; the service judges the rest.
    PersonName, PersonNameRule, field = "name",
    rule = "must be 1-64 characters without control characters",
    value = Redacted, accepts = |value| is_plain_text(value, 64)
);
text_rule!(
    /// The person's ID-card number: personal data, never printed. 1-32 characters without
    /// control characters; the service judges the rest.
    IdNumber, IdNumberRule, field = "idNo",
    rule = "must be 1-32 characters without control characters",
    value = Redacted, accepts = |value| is_plain_text(value, 32)
);
text_rule!(
    /// The service's id of a registered order (`faceId`, `h5faceId`): 1-64 visible ASCII
    /// characters.
    FaceId, FaceIdRule, field = "faceId", rule = "must be 1-64 visible ASCII characters",
    value = String, accepts = is_face_id
);

/// What kind of photo a [`SourcePhoto`] is, as the service documents it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourcePhotoType {
    /// `1`: a photo with a water-ripple watermark.
    Watermarked,
    /// `2`: a high-definition photo.
    HighDefinition,
}

impl SourcePhotoType {
    /// The option name used in errors.
    pub const FIELD: &'static str = "sourcePhoto.type";

    /// Reads the JS number `1` or `2`.
    pub fn from_f64(value: f64) -> Result<Self, FaceIdError> {
        if value == 1.0 {
            Ok(SourcePhotoType::Watermarked)
        } else if value == 2.0 {
            Ok(SourcePhotoType::HighDefinition)
        } else {
            Err(invalid(
                Self::FIELD,
                "must be 1 (watermarked) or 2 (high definition)",
            ))
        }
    }

    /// The value the service expects in `sourcePhotoType`.
    pub const fn as_str(self) -> &'static str {
        match self {
            SourcePhotoType::Watermarked => "1",
            SourcePhotoType::HighDefinition => "2",
        }
    }
}

/// A photo of the person to compare against instead of the authority's: personal data, never
/// printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourcePhoto {
    base64: Redacted,
    kind: SourcePhotoType,
}

impl SourcePhoto {
    /// The option name of the image in errors.
    pub const BASE64_FIELD: &'static str = "sourcePhoto.base64";

    /// Validates the image as standard base64 (no `data:` prefix, no line breaks); the service
    /// judges the image itself.
    pub fn new(base64: impl Into<String>, kind: SourcePhotoType) -> Result<Self, FaceIdError> {
        let base64 = base64.into();
        if is_base64(&base64) {
            Ok(SourcePhoto {
                base64: base64.into(),
                kind,
            })
        } else {
            Err(invalid(
                Self::BASE64_FIELD,
                "must be standard base64: A-Z a-z 0-9 + / in groups of four, = padding at the end",
            ))
        }
    }

    /// The image, base64.
    pub fn base64(&self) -> &str {
        &self.base64
    }

    /// What kind of photo it is.
    pub const fn kind(&self) -> SourcePhotoType {
        self.kind
    }
}

fn is_base64(text: &str) -> bool {
    let bytes = text.as_bytes();
    let data = bytes
        .strip_suffix(b"==")
        .or_else(|| bytes.strip_suffix(b"="))
        .unwrap_or(bytes);
    !bytes.is_empty()
        && bytes.len() % 4 == 0
        && data
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

/// How the H5 page checks liveness. The service documents one value; without it, the page prefers
/// real-time detection and falls back to recording a video where the device cannot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveInterType {
    /// `1`: real-time detection only; a device that cannot do it fails the verification.
    RealTimeOnly,
}

impl LiveInterType {
    /// The option name used in errors.
    pub const FIELD: &'static str = "liveInterType";

    /// Reads the JS number `1`.
    pub fn from_f64(value: f64) -> Result<Self, FaceIdError> {
        if value == 1.0 {
            Ok(LiveInterType::RealTimeOnly)
        } else {
            Err(invalid(
                Self::FIELD,
                "must be 1 (real-time detection only) when given",
            ))
        }
    }

    /// The value the service expects in `liveInterType`.
    pub const fn as_str(self) -> &'static str {
        match self {
            LiveInterType::RealTimeOnly => "1",
        }
    }
}

/// Which files a face-record query asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FileChoice {
    /// `none`: no file (no `getFile`).
    #[default]
    None,
    /// `photo`: the photo taken during the check.
    Photo,
    /// `video`: the video recorded during the check.
    Video,
    /// `both`: the photo and the video.
    Both,
}

impl FileChoice {
    /// The option name used in errors.
    pub const FIELD: &'static str = "files";

    /// Reads `none`, `photo`, `video` or `both`.
    pub fn new(choice: &str) -> Result<Self, FaceIdError> {
        match choice {
            "none" => Ok(FileChoice::None),
            "photo" => Ok(FileChoice::Photo),
            "video" => Ok(FileChoice::Video),
            "both" => Ok(FileChoice::Both),
            _ => Err(invalid(
                Self::FIELD,
                "must be \"none\", \"photo\", \"video\" or \"both\"",
            )),
        }
    }

    /// The service's `getFile` value: `1` both, `2` photo, `3` video; none is not sent.
    pub const fn get_file(self) -> Option<&'static str> {
        match self {
            FileChoice::None => None,
            FileChoice::Photo => Some("2"),
            FileChoice::Video => Some("3"),
            FileChoice::Both => Some("1"),
        }
    }
}

/// Where the H5 page is opened, the login URL's `from`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LoginFrom {
    /// `browser`: a mobile browser.
    #[default]
    Browser,
    /// `App`: a web view inside the partner's app.
    App,
}

impl LoginFrom {
    /// The option name used in errors.
    pub const FIELD: &'static str = "from";

    /// Reads `browser` or `App`, spelled as the service documents them.
    pub fn new(from: &str) -> Result<Self, FaceIdError> {
        match from {
            "browser" => Ok(LoginFrom::Browser),
            "App" => Ok(LoginFrom::App),
            _ => Err(invalid(Self::FIELD, "must be \"browser\" or \"App\"")),
        }
    }

    /// The value of `from` in the login URL.
    pub const fn as_str(self) -> &'static str {
        match self {
            LoginFrom::Browser => "browser",
            LoginFrom::App => "App",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rule_of;
    use super::*;

    #[test]
    fn text_inputs_name_their_option_and_rule() {
        assert_eq!(
            (OrderNo::FIELD, OrderNo::RULE),
            ("orderNo", "must be 1-32 ASCII letters or digits")
        );
        assert_eq!((PersonName::FIELD, IdNumber::FIELD), ("name", "idNo"));
        assert_eq!(
            FaceId::new("").unwrap_err().to_string(),
            "invalid argument: faceId must be 1-64 visible ASCII characters"
        );
    }

    #[test]
    fn order_numbers_are_one_to_thirty_two_ascii_letters_or_digits() {
        for ok in ["a", "9164541471817797", &"A1".repeat(16)] {
            assert_eq!(OrderNo::new(ok).unwrap().as_str(), ok);
        }
        for bad in [
            String::new(),
            "a".repeat(33),
            "order-1".into(),
            "order_1".into(),
            "order 1".into(),
            "订单1".into(),
            "１２".into(),
        ] {
            rule_of(OrderNo::new(bad), "orderNo");
        }
    }

    #[test]
    fn names_and_id_numbers_count_characters_not_bytes() {
        // Three bytes each in UTF-8: the limit is in characters.
        assert!(PersonName::new("张".repeat(64)).is_ok());
        rule_of(PersonName::new("张".repeat(65)), "name");
        assert!(PersonName::new("a".repeat(64)).is_ok());
        rule_of(PersonName::new("a".repeat(65)), "name");
        rule_of(PersonName::new(""), "name");
        assert!(PersonName::new("Zoë O'Brien-Smith · 李").is_ok());

        assert!(IdNumber::new("1".repeat(32)).is_ok());
        assert!(IdNumber::new("１".repeat(32)).is_ok());
        rule_of(IdNumber::new("1".repeat(33)), "idNo");
        rule_of(IdNumber::new(""), "idNo");
        assert!(IdNumber::new("11010519491231002X").is_ok());
    }

    #[test]
    fn names_and_id_numbers_refuse_c0_del_and_c1_controls() {
        for control in ['\0', '\t', '\n', '\u{1f}', '\u{7f}', '\u{80}', '\u{9f}'] {
            let text = format!("ab{control}c");
            rule_of(PersonName::new(text.clone()), "name");
            rule_of(IdNumber::new(text), "idNo");
        }
        // The neighbours of the control ranges are ordinary characters.
        for fine in [' ', '~', '\u{a0}', 'ÿ'] {
            assert!(PersonName::new(format!("a{fine}b")).is_ok(), "{fine:?}");
        }
    }

    #[test]
    fn face_ids_are_visible_ascii() {
        assert!(FaceId::new("tx11a42739e56889725d5be8ab492d9d").is_ok());
        assert!(FaceId::new("f".repeat(64)).is_ok());
        for bad in [String::new(), "f".repeat(65), "a b".into(), "ü".into()] {
            rule_of(FaceId::new(bad), "faceId");
        }
    }

    #[test]
    fn personal_data_never_shows_in_debug() {
        let printed = format!(
            "{:?} {:?} {:?}",
            PersonName::new("Alice Secret").unwrap(),
            IdNumber::new("110105194912310021").unwrap(),
            SourcePhoto::new("UEhPVE8=", SourcePhotoType::HighDefinition).unwrap(),
        );
        for personal in ["Alice", "1101051949", "UEhPVE8"] {
            assert!(!printed.contains(personal), "{printed}");
        }
        assert_eq!(
            printed,
            "PersonName(\"<redacted>\") IdNumber(\"<redacted>\") \
             SourcePhoto { base64: \"<redacted>\", kind: HighDefinition }"
        );
        assert_eq!(
            format!("{:?}", OrderNo::new("o1").unwrap()),
            "OrderNo(\"o1\")"
        );
    }

    #[test]
    fn source_photos_are_standard_base64_with_a_documented_type() {
        for ok in ["QQ==", "QUI=", "QUJD", "ab+/cd09"] {
            assert_eq!(
                SourcePhoto::new(ok, SourcePhotoType::Watermarked)
                    .unwrap()
                    .base64(),
                ok
            );
        }
        for bad in [
            "",
            "QQ",
            "Q===",
            "=QQ=",
            "QQ=A",
            "QU I=",
            "QUI=\n",
            "ab-_",
            "data:image/png;base64,QUJD",
        ] {
            rule_of(
                SourcePhoto::new(bad, SourcePhotoType::Watermarked),
                "sourcePhoto.base64",
            );
        }
        assert_eq!(SourcePhotoType::from_f64(1.0).unwrap().as_str(), "1");
        assert_eq!(SourcePhotoType::from_f64(2.0).unwrap().as_str(), "2");
        for bad in [0.0, 3.0, 1.5, f64::NAN] {
            rule_of(SourcePhotoType::from_f64(bad), "sourcePhoto.type");
        }
    }

    #[test]
    fn live_inter_type_is_the_documented_one() {
        assert_eq!(LiveInterType::from_f64(1.0).unwrap().as_str(), "1");
        for bad in [0.0, 2.0, -1.0, f64::INFINITY] {
            rule_of(LiveInterType::from_f64(bad), "liveInterType");
        }
    }

    #[test]
    fn file_choices_map_to_get_file() {
        assert_eq!(FileChoice::default(), FileChoice::None);
        for (choice, get_file) in [
            ("none", None),
            ("photo", Some("2")),
            ("video", Some("3")),
            ("both", Some("1")),
        ] {
            assert_eq!(FileChoice::new(choice).unwrap().get_file(), get_file);
        }
        for bad in ["", "Photo", "all", "1"] {
            rule_of(FileChoice::new(bad), "files");
        }
    }

    #[test]
    fn login_from_is_spelled_as_documented() {
        assert_eq!(LoginFrom::default().as_str(), "browser");
        assert_eq!(LoginFrom::new("App").unwrap(), LoginFrom::App);
        assert_eq!(LoginFrom::new("browser").unwrap(), LoginFrom::Browser);
        for bad in ["app", "Browser", ""] {
            rule_of(LoginFrom::new(bad), "from");
        }
    }
}
