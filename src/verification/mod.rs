//! One verification end to end (H5 flow): register the order, start the H5 page, verify the
//! callback, query the result. Pure values and functions; the transport sends what they build.
//!
//! Every server call is signed with the SIGN ticket; only the H5 start uses a NONCE ticket,
//! fetched for the very user being verified. The person's name, ID number and photos are
//! personal data: no type here prints them, and no error carries them.

mod answers;
mod callback;
mod host;
mod inputs;
mod json_writer;
mod login;
mod requests;

pub use answers::{FaceRecord, RegisteredOrder};
pub use callback::{Callback, CallbackVerdict};
pub use host::{CallbackUrl, OptimalDomain};
pub use inputs::{
    FaceId, FaceIdRule, FileChoice, IdNumber, IdNumberRule, LiveInterType, LoginFrom, OrderNo,
    OrderNoRule, PersonName, PersonNameRule, SourcePhoto, SourcePhotoType,
};
pub use login::{H5Login, H5LoginUrl};
pub use requests::{FaceRecordQuery, RegisterOrderRequest};

/// The rule of an `invalid_argument` error, after checking that it names `field`.
#[cfg(test)]
fn rule_of<T: std::fmt::Debug>(
    result: Result<T, crate::error::FaceIdError>,
    field: &str,
) -> &'static str {
    match result {
        Err(crate::error::FaceIdError::InvalidArgument { field: named, rule }) => {
            assert_eq!(named, field);
            rule
        }
        other => panic!("expected invalid_argument for {field}, got {other:?}"),
    }
}
