//! GET through the global `fetch`: bounded in time and size, cancelled when dropped, retried with
//! backoff on transient failures, never following a redirect.

use crate::endpoint::{find_str, Endpoint};
use crate::error::FaceIdError;
use crate::params::{Retries, TimeoutMs};
use crate::protocol::BodyBudget;
use crate::wasm::sys::{self, Utf8Decoder};
use js_sys::{Function, Promise, Reflect, Uint8Array};
use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::{pin, Pin};
use std::task::Poll;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, AbortSignal, ReadableStreamDefaultReader, RequestInit, RequestRedirect,
    Response,
};

/// Where and how to send a request.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// The service's base URL.
    pub endpoint: Endpoint,
    /// The limit for the whole request, body and retries included.
    pub timeout: TimeoutMs,
    /// Aborts the request when it fires.
    pub signal: Option<AbortSignal>,
    /// How often a transient failure is retried.
    pub retries: Retries,
}

/// A successful answer, parsed by the platform's `JSON.parse`, and the local clock just before
/// the request was sent.
pub(crate) struct Answer {
    pub json: JsValue,
    pub sent_at_ms: f64,
}

/// Sends `GET url`, reads at most [`crate::BODY_LIMIT`] bytes of a 2xx answer and parses it as JSON.
///
/// Network errors, timeouts, HTTP 5xx and 429 are retried up to `options.retries` times with
/// exponential backoff and full jitter. Every attempt and pause fits in `options.timeout`: each
/// attempt gets an equal share of the time left, and a pause that would not leave time for
/// another attempt ends the call with the last error. The caller's signal stops everything.
///
/// `sensitive` lists the credentials in the URL, scrubbed from any platform message we pass on.
pub(crate) async fn get(
    url: &str,
    options: &RequestOptions,
    sensitive: &[&str],
) -> Result<Answer, FaceIdError> {
    let signal = options.signal.as_ref();
    let total_ms = f64::from(options.timeout.get());
    let attempts = u32::from(options.retries.get()) + 1;
    let started = js_sys::Date::now();
    let mut attempt = 0;
    loop {
        let left_ms = total_ms - (js_sys::Date::now() - started);
        let share_ms = (left_ms / f64::from(attempts - attempt)).max(1.0) as u32;
        let error = match get_once(url, share_ms, signal, sensitive).await {
            Ok(answer) => return Ok(answer),
            // The caller set a limit for the whole call: report that one.
            Err(FaceIdError::Timeout { .. }) => FaceIdError::Timeout {
                timeout_ms: options.timeout.get(),
            },
            Err(error) => error,
        };
        attempt += 1;
        if attempt == attempts || !is_transient(&error) {
            return Err(error);
        }
        let pause_ms = backoff_ms(attempt);
        if js_sys::Date::now() - started + pause_ms >= total_ms {
            return Err(error);
        }
        abortable(signal, sleep(pause_ms)).await?;
    }
}

/// Failures worth another attempt. Never `invalid_argument`, `api` (the service answered),
/// `bad_response` (it would answer the same) or a 4xx other than 429.
fn is_transient(error: &FaceIdError) -> bool {
    match error {
        FaceIdError::Network { .. } | FaceIdError::Timeout { .. } => true,
        FaceIdError::Http { status } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// Full jitter: a uniformly random pause below 100 ms × 2^(attempt - 1), capped at 1 s, so
/// clients that failed together do not retry together.
fn backoff_ms(attempt: u32) -> f64 {
    let ceiling = (100.0 * f64::from(1u32 << attempt.min(10)) / 2.0).min(1000.0);
    js_sys::Math::random() * ceiling
}

/// Resolves after `ms`; the timer is cleared if the wait is dropped early.
async fn sleep(ms: f64) -> Result<(), FaceIdError> {
    let mut timer = JsValue::UNDEFINED;
    let elapsed = Promise::new(&mut |resolve, _| timer = sys::set_timeout(&resolve, ms as u32));
    let _clear = ClearOnDrop(timer);
    JsFuture::from(elapsed)
        .await
        .map(drop)
        .map_err(|_| FaceIdError::Aborted)
}

struct ClearOnDrop(JsValue);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        sys::clear_timeout(&self.0);
    }
}

thread_local! {
    /// Set once the runtime has refused `redirect: "error"` (workerd offers only "follow" and
    /// "manual"); from then on requests go out with "manual".
    static REDIRECT_MANUAL: Cell<bool> = const { Cell::new(false) };
}

/// One attempt, limited to `timeout_ms`.
async fn get_once(
    url: &str,
    timeout_ms: u32,
    signal: Option<&AbortSignal>,
    sensitive: &[&str],
) -> Result<Answer, FaceIdError> {
    if signal.is_some_and(AbortSignal::aborted) {
        return Err(FaceIdError::Aborted);
    }
    let guard = Deadline::arm(timeout_ms, signal)?;
    let sent_at_ms = js_sys::Date::now();
    let manual = REDIRECT_MANUAL.get();
    let response = match send(url, &guard, manual).await {
        Err(error) if !manual && refuses_redirect_error(&error) => {
            REDIRECT_MANUAL.set(true);
            send(url, &guard, true).await
        }
        sent => sent,
    };
    let response: Response = response
        .map_err(|error| guard.failure(error, sensitive))?
        .dyn_into()
        .map_err(|_| FaceIdError::bad_response("fetch did not return a Response"))?;
    // With "manual", a redirect arrives as a 3xx (or an opaque status 0): never followed, since
    // it would carry the secret or token to another host.
    if !response.ok() {
        return Err(FaceIdError::Http {
            status: response.status(),
        });
    }
    let body = read_capped(&response, &guard, sensitive).await?;
    guard.finished.set(true);
    // Decoded and parsed on the JS side: the body never enters wasm memory.
    let json = UTF8
        .with(|decoder| decoder.as_ref().map(|decoder| decoder.decode(&body)))
        .and_then(Result::ok)
        .and_then(|text| sys::parse_json(&text).ok())
        .ok_or_else(|| FaceIdError::bad_response("the body is not valid JSON"))?;
    Ok(Answer { json, sent_at_ms })
}

thread_local! {
    /// One decoder for every answer: making one per request costs more than the decoding.
    static UTF8: Option<Utf8Decoder> = Utf8Decoder::new().ok();
}

/// Starts the fetch and waits for the response head.
async fn send(url: &str, guard: &Deadline, manual_redirect: bool) -> Result<JsValue, JsValue> {
    let init = RequestInit::new();
    init.set_method("GET");
    init.set_signal(Some(&guard.controller.signal()));
    init.set_redirect(if manual_redirect {
        RequestRedirect::Manual
    } else {
        RequestRedirect::Error
    });
    JsFuture::from(sys::fetch(url, &init)?).await
}

fn refuses_redirect_error(error: &JsValue) -> bool {
    error.dyn_ref::<js_sys::Error>().is_some_and(|error| {
        error.name() == "TypeError"
            && find_str(&String::from(error.message()), "redirect").is_some()
    })
}

/// The body's bytes, kept on the JS side: they are decoded and parsed there.
async fn read_capped(
    response: &Response,
    guard: &Deadline,
    sensitive: &[&str],
) -> Result<Uint8Array, FaceIdError> {
    let Some(stream) = response.body() else {
        return Ok(Uint8Array::new_with_length(0));
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut chunks = Vec::new();
    let mut budget = BodyBudget::default();
    loop {
        let chunk = JsFuture::from(reader.read())
            .await
            .map_err(|error| guard.failure(error, sensitive))?;
        if sys::data_member(&chunk, &"done".into()).is_truthy() {
            break;
        }
        let bytes: Uint8Array = sys::data_member(&chunk, &"value".into())
            .dyn_into()
            .ok()
            .ok_or_else(|| FaceIdError::bad_response("the body stream yielded a non-byte chunk"))?;
        if let Err(too_large) = budget.admit(bytes.length() as usize) {
            // Stop the download: the rest of an oversized body is never read.
            let _ = reader.cancel();
            return Err(too_large);
        }
        chunks.push(bytes);
    }
    let body = Uint8Array::new_with_length(budget.read() as u32);
    let mut offset = 0;
    for chunk in chunks {
        body.set(&chunk, offset);
        offset += chunk.length();
    }
    Ok(body)
}

/// Owns the request's `AbortController`: fires it on timeout or on the caller's signal, and on
/// drop, so a request never outlives its future.
struct Deadline {
    controller: AbortController,
    /// Set once the body has been read to its end: nothing is left to cancel, and aborting would
    /// only cost (a DOMException and an event per request).
    finished: Cell<bool>,
    timeout_ms: u32,
    timer: JsValue,
    /// The caller's signal and the listener that forwards its abort to our controller.
    caller: Option<(AbortSignal, Function)>,
}

/// The abort reason our timer gives, which tells a timeout from any other abort.
const TIMEOUT_REASON: &str = "faceid-edge: timeout";

impl Deadline {
    fn arm(timeout_ms: u32, signal: Option<&AbortSignal>) -> Result<Self, FaceIdError> {
        let controller = AbortController::new().map_err(|_| FaceIdError::Network {
            detail: String::from("this platform has no AbortController"),
        })?;
        // `controller.abort` bound in JS rather than Rust closures: nothing to allocate or free
        // on the wasm side for each request.
        let abort: Function = Reflect::get(&controller, &JsValue::from_str("abort"))
            .ok()
            .and_then(|abort| abort.dyn_into().ok())
            .ok_or_else(|| FaceIdError::Network {
                detail: String::from("this platform's AbortController cannot abort"),
            })?;
        let on_timeout: Function = abort
            .bind1(&controller, &JsValue::from_str(TIMEOUT_REASON))
            .unchecked_into();
        let timer = sys::set_timeout(&on_timeout, timeout_ms);
        let caller = signal.cloned().map(|signal| {
            let on_abort: Function = abort.bind0(&controller).unchecked_into();
            let _ = signal.add_event_listener_with_callback("abort", &on_abort);
            (signal, on_abort)
        });
        Ok(Deadline {
            controller,
            finished: Cell::new(false),
            timeout_ms,
            timer,
            caller,
        })
    }

    /// Classifies a rejection: the caller's abort, our timeout, or a network failure.
    fn failure(&self, error: JsValue, sensitive: &[&str]) -> FaceIdError {
        let signal = self.controller.signal();
        if self
            .caller
            .as_ref()
            .is_some_and(|(caller, _)| caller.aborted())
        {
            FaceIdError::Aborted
        } else if signal.aborted() && signal.reason().as_string().as_deref() == Some(TIMEOUT_REASON)
        {
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
            let _ = signal.remove_event_listener_with_callback("abort", on_abort);
        }
        if !self.finished.get() {
            self.controller.abort();
        }
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
    let mut work = pin!(work);
    let mut fired = JsFuture::from(watch.fired.clone());
    poll_fn(|cx| match work.as_mut().poll(cx) {
        Poll::Ready(result) => Poll::Ready(result),
        Poll::Pending => Pin::new(&mut fired)
            .poll(cx)
            .map(|_| Err(FaceIdError::Aborted)),
    })
    .await
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
