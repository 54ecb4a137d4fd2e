//! GET through the global `fetch`, bounded in time and size, cancelled when dropped.

use crate::endpoint::Endpoint;
use crate::error::FaceIdError;
use crate::params::TimeoutMs;
use crate::protocol::{body_too_large, BODY_LIMIT};
use crate::wasm::sys;
use futures_util::future::{select, Either};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, AbortSignal, ReadableStreamDefaultReader, RequestInit, Response};

/// Where and how to send a request.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// The service's base URL.
    pub endpoint: Endpoint,
    /// The limit for the whole request, body included.
    pub timeout: TimeoutMs,
    /// Aborts the request when it fires.
    pub signal: Option<AbortSignal>,
}

/// A successful answer's body and the local clock just before the request was sent.
pub(crate) struct Answer {
    pub body: Vec<u8>,
    pub sent_at_ms: f64,
}

/// Sends `GET url` and reads at most [`BODY_LIMIT`] bytes of a 2xx answer.
///
/// `sensitive` lists the credentials in the URL, scrubbed from any platform message we pass on.
pub(crate) async fn get(
    url: &str,
    options: &RequestOptions,
    sensitive: &[&str],
) -> Result<Answer, FaceIdError> {
    if options.signal.as_ref().is_some_and(AbortSignal::aborted) {
        return Err(FaceIdError::Aborted);
    }
    let guard = Deadline::arm(options)?;
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_signal(Some(&guard.controller.signal()));
    let sent_at_ms = js_sys::Date::now();
    let pending = sys::fetch(url, &init).map_err(|error| guard.failure(error, sensitive))?;
    let response: Response = JsFuture::from(pending)
        .await
        .map_err(|error| guard.failure(error, sensitive))?
        .dyn_into()
        .map_err(|_| FaceIdError::bad_response("fetch did not return a Response"))?;
    if !response.ok() {
        return Err(FaceIdError::Http {
            status: response.status(),
        });
    }
    let body = read_capped(&response, &guard, sensitive).await?;
    Ok(Answer { body, sent_at_ms })
}

async fn read_capped(
    response: &Response,
    guard: &Deadline,
    sensitive: &[&str],
) -> Result<Vec<u8>, FaceIdError> {
    let Some(stream) = response.body() else {
        return Ok(Vec::new());
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut body = Vec::new();
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|error| guard.failure(error, sensitive))?;
        if Reflect::get(&chunk, &"done".into()).is_ok_and(|done| done.is_truthy()) {
            return Ok(body);
        }
        let bytes: Uint8Array = Reflect::get(&chunk, &"value".into())
            .ok()
            .and_then(|value| value.dyn_into().ok())
            .ok_or_else(|| FaceIdError::bad_response("the body stream yielded a non-byte chunk"))?;
        let start = body.len();
        let end = start + bytes.length() as usize;
        if end > BODY_LIMIT {
            // Stop the download: the rest of an oversized body is never read.
            let _ = reader.cancel();
            return Err(body_too_large());
        }
        body.resize(end, 0);
        if let Some(slot) = body.get_mut(start..end) {
            bytes.copy_to(slot);
        }
    }
}

/// Owns the request's `AbortController`: fires it on timeout or on the caller's signal, and on
/// drop, so a request never outlives its future.
struct Deadline {
    controller: AbortController,
    timeout_ms: u32,
    timed_out: Rc<Cell<bool>>,
    timer: JsValue,
    _on_timeout: Closure<dyn FnMut()>,
    caller: Option<(AbortSignal, Closure<dyn FnMut()>)>,
}

impl Deadline {
    fn arm(options: &RequestOptions) -> Result<Self, FaceIdError> {
        let controller = AbortController::new().map_err(|_| FaceIdError::Network {
            detail: String::from("this platform has no AbortController"),
        })?;
        let timed_out = Rc::new(Cell::new(false));
        let on_timeout = {
            let controller = controller.clone();
            let timed_out = Rc::clone(&timed_out);
            Closure::<dyn FnMut()>::new(move || {
                timed_out.set(true);
                controller.abort();
            })
        };
        let timeout_ms = options.timeout.get();
        let timer = sys::set_timeout(on_timeout.as_ref().unchecked_ref(), timeout_ms);
        let caller = options.signal.clone().map(|signal| {
            let controller = controller.clone();
            let on_abort = Closure::<dyn FnMut()>::new(move || controller.abort());
            let _ =
                signal.add_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
            (signal, on_abort)
        });
        Ok(Deadline {
            controller,
            timeout_ms,
            timed_out,
            timer,
            _on_timeout: on_timeout,
            caller,
        })
    }

    /// Classifies a rejection: the caller's abort, our timeout, or a network failure.
    fn failure(&self, error: JsValue, sensitive: &[&str]) -> FaceIdError {
        if self
            .caller
            .as_ref()
            .is_some_and(|(signal, _)| signal.aborted())
        {
            FaceIdError::Aborted
        } else if self.timed_out.get() {
            FaceIdError::Timeout {
                timeout_ms: self.timeout_ms,
            }
        } else {
            FaceIdError::Network {
                detail: describe(&error),
            }
            .redact(sensitive)
        }
    }
}

impl Drop for Deadline {
    fn drop(&mut self) {
        sys::clear_timeout(&self.timer);
        if let Some((signal, on_abort)) = &self.caller {
            let _ = signal
                .remove_event_listener_with_callback("abort", on_abort.as_ref().unchecked_ref());
        }
        self.controller.abort();
    }
}

/// `"TypeError: fetch failed (connect ECONNREFUSED ...)"` from whatever the platform rejected with.
fn describe(error: &JsValue) -> String {
    let Some(error) = error.dyn_ref::<js_sys::Error>() else {
        return error
            .as_string()
            .unwrap_or_else(|| String::from("the request failed"));
    };
    let mut detail = format!(
        "{}: {}",
        String::from(error.name()),
        String::from(error.message())
    );
    if let Some(cause) = error.cause().dyn_ref::<js_sys::Error>() {
        detail.push_str(&format!(" ({})", String::from(cause.message())));
    }
    detail
}

/// Runs `work` unless `signal` fires first, in which case `work` is dropped (cancelling any
/// request it owns) and the result is `aborted`.
pub(crate) async fn abortable<T>(
    signal: Option<&AbortSignal>,
    work: impl Future<Output = Result<T, FaceIdError>>,
) -> Result<T, FaceIdError> {
    let Some(signal) = signal else {
        return work.await;
    };
    if signal.aborted() {
        return Err(FaceIdError::Aborted);
    }
    let watch = AbortWatch::new(signal);
    match select(pin!(work), JsFuture::from(watch.fired.clone())).await {
        Either::Left((result, _)) => result,
        Either::Right(_) => Err(FaceIdError::Aborted),
    }
}

/// A promise that resolves when a signal fires; its listener is removed on drop.
struct AbortWatch {
    signal: AbortSignal,
    fired: Promise,
    resolve: Option<Function>,
}

impl AbortWatch {
    fn new(signal: &AbortSignal) -> Self {
        let mut resolve = None;
        let fired = Promise::new(&mut |resolve_fn, _| resolve = Some(resolve_fn));
        if let Some(resolve) = &resolve {
            let _ = signal.add_event_listener_with_callback("abort", resolve);
        }
        AbortWatch {
            signal: signal.clone(),
            fired,
            resolve,
        }
    }
}

impl Drop for AbortWatch {
    fn drop(&mut self) {
        if let Some(resolve) = &self.resolve {
            let _ = self
                .signal
                .remove_event_listener_with_callback("abort", resolve);
        }
    }
}
