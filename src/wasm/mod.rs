//! Everything that needs a JS host: the platform's globals (`sys`), the fetch transport, the
//! async Rust API built on it (`api`, `client`), and the `#[wasm_bindgen]` layer for JS callers
//! (`js`), which only converts.

mod api;
mod client;
mod flight;
mod interned;
mod js;
mod json;
mod sys;
mod transport;
mod wait;

pub use api::{fetch_nonce_ticket, nonce_string};

/// talc rather than std's dlmalloc: about 4 KB less .wasm (bench/README.md's size log). Single
/// threaded: the package is built without atomics.
#[cfg(all(feature = "talc", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
pub use client::{ClientConfig, FaceIdClient, LocalBoxFuture, TokenOrigin, TokenSource};
pub use transport::RequestOptions;
