//! Everything that needs a JS host: the platform's globals (`sys`), the fetch transport, the
//! async Rust API built on it (`api`, `client`), and the `#[wasm_bindgen]` layer for JS callers
//! (`js`), which only converts.

mod api;
mod client;
mod flight;
mod js;
mod json;
mod sys;
mod transport;

pub use api::{fetch_nonce_ticket, nonce_string};
pub use client::{ClientConfig, FaceIdClient, LocalBoxFuture, TokenOrigin, TokenSource};
pub use transport::RequestOptions;
