//! FaceID requests through the global `fetch`: bounded in time and size, cancelled when dropped,
//! retried after quick failures, never following a redirect.

use crate::endpoint::Endpoint;
use crate::error::FaceIdError;
use crate::params::{Retries, TimeoutMs};
use crate::protocol::{BodyBudget, BODY_LIMIT};
use crate::text::find_str;
use crate::wasm::interned::js_name;
use crate::wasm::sys::{self, Utf8Decoder};
use crate::wasm::wait::{Deadline, Fired, Settled};
use js_sys::Uint8Array;
use std::cell::Cell;
use std::future::{poll_fn, Future};
use std::pin::pin;
use std::task::Poll;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{
    AbortController, AbortSignal, ReadableStreamDefaultReader, RequestInit, RequestRedirect,
    Response,
};

/// Where and how to send a request.
#[derive(Debug, Clone, Default)]
pub struct RequestOptions {
    /// The service's base URL.
    pub endpoint: Endpoint,
    /// The limit of the whole call: every attempt, every pause and the body.
    pub timeout: TimeoutMs,
    /// Aborts the request when it fires.
    pub signal: Option<AbortSignal>,
    /// How often a quick failure is retried.
    pub retries: Retries,
}

/// What to send: a GET, or a POST of a JSON body, and how much of the answer to read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HttpRequest<'a> {
    /// The URL. It may carry a credential: never log it.
    pub url: &'a str,
    /// The JSON body of a POST; `None` for a GET. It may carry personal data: never log it.
    pub json_body: Option<&'a str>,
    /// The most answer bytes to read.
    pub body_limit: usize,
}

impl<'a> HttpRequest<'a> {
    /// A GET of `url`, reading at most [`BODY_LIMIT`] bytes of the answer.
    pub fn get(url: &'a str) -> Self {
        HttpRequest {
            url,
            json_body: None,
            body_limit: BODY_LIMIT,
        }
    }
}

/// A successful answer, parsed by the platform's `JSON.parse`, and the local clock just before
/// the request was sent.
pub(crate) struct Answer {
    pub json: JsValue,
    pub sent_at_ms: f64,
}

/// A failed attempt and what it allows next.
struct Failure {
    error: FaceIdError,
    /// Failed before any answer, or answered 429, 502, 503 or 504: another attempt may do better.
    quick: bool,
    /// The answer's `Retry-After`, in milliseconds, when it gave one in seconds.
    retry_after_ms: Option<f64>,
}

impl From<FaceIdError> for Failure {
    fn from(error: FaceIdError) -> Self {
        Failure {
            error,
            quick: false,
            retry_after_ms: None,
        }
    }
}

/// Sends `request`, reads at most its `body_limit` bytes of a 2xx answer and parses it as JSON.
///
/// `options.timeout` bounds the whole call, and every attempt may use all of the time left: none
/// is cut short to leave room for another. Only quick failures are retried (see [`Failure`]), up
/// to `options.retries` times and only while time is left, after the answer's `Retry-After` or
/// else a short jittered pause; a `Retry-After` that does not fit ends the call with that error.
/// The call ends with `timeout` only once `options.timeout` has passed. The caller's signal stops
/// everything.
///
/// `sensitive` lists the credentials in the URL, scrubbed from any platform message we pass on.
pub(crate) async fn fetch_json(
    request: HttpRequest<'_>,
    options: &RequestOptions,
    sensitive: &[&str],
) -> Result<Answer, FaceIdError> {
    let timeout_ms = options.timeout.get();
    // One millisecond more: `Date.now()` is truncated, so the call never ends a hair early.
    let deadline = js_sys::Date::now() + f64::from(timeout_ms) + 1.0;
    let attempts = async {
        let mut retried = 0;
        loop {
            let failure = match fetch_once(request, sensitive).await {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            if !failure.quick || retried == options.retries.get() {
                return Err(failure.error);
            }
            retried += 1;
            let pause_ms = failure
                .retry_after_ms
                .unwrap_or_else(|| backoff_ms(retried));
            let resume_at = js_sys::Date::now() + pause_ms;
            if resume_at >= deadline {
                return Err(failure.error);
            }
            Deadline::new(resume_at).await;
        }
    };
    let bounded = within(deadline, timeout_ms, attempts);
    abortable(options.signal.as_ref(), bounded).await
}

/// Full jitter: a uniformly random pause below 100 ms × 2^(retry - 1), capped at 1 s, so
/// clients that failed together do not retry together.
fn backoff_ms(retry: u8) -> f64 {
    let ceiling = (50.0 * f64::from(1u32 << retry.min(10))).min(1000.0);
    js_sys::Math::random() * ceiling
}

/// Runs `work` until `deadline` (ms since the epoch); past it, `work` is dropped (cancelling the
/// request it owns) and the result is `timeout`.
async fn within<T>(
    deadline: f64,
    timeout_ms: u32,
    work: impl Future<Output = Result<T, FaceIdError>>,
) -> Result<T, FaceIdError> {
    let mut work = pin!(work);
    let mut expired = pin!(Deadline::new(deadline));
    poll_fn(|cx| match work.as_mut().poll(cx) {
        Poll::Ready(result) => Poll::Ready(result),
        Poll::Pending => expired
            .as_mut()
            .poll(cx)
            .map(|()| Err(FaceIdError::Timeout { timeout_ms })),
    })
    .await
}

thread_local! {
    /// Set once the runtime has refused `redirect: "error"` (workerd offers only "follow" and
    /// "manual"); from then on requests go out with "manual".
    static REDIRECT_MANUAL: Cell<bool> = const { Cell::new(false) };
}

/// One attempt, without a time limit of its own: [`fetch_json`] drops it at the deadline.
async fn fetch_once(request: HttpRequest<'_>, sensitive: &[&str]) -> Result<Answer, Failure> {
    let guard = Cancel::new()?;
    let sent_at_ms = js_sys::Date::now();
    let manual = REDIRECT_MANUAL.get();
    let response = match send(request, &guard, manual).await {
        Err(error) if !manual && refuses_redirect_error(&error) => {
            REDIRECT_MANUAL.set(true);
            send(request, &guard, true).await
        }
        sent => sent,
    };
    let response: Response = response
        .map_err(|error| Failure {
            error: network_failure(&error, sensitive),
            // Nothing was answered: the service did no work, so another attempt is safe.
            quick: true,
            retry_after_ms: None,
        })?
        .dyn_into()
        .map_err(|_| FaceIdError::bad_response("fetch did not return a Response"))?;
    // With "manual", a redirect arrives as a 3xx (or an opaque status 0): never followed, since
    // it would carry the secret or token to another host.
    if !response.ok() {
        let status = response.status();
        return Err(Failure {
            error: FaceIdError::Http { status },
            quick: matches!(status, 429 | 502 | 503 | 504),
            retry_after_ms: retry_after_ms(&response),
        });
    }
    let body = read_capped(&response, request.body_limit, sensitive).await?;
    guard.finished.set(true);
    // Decoded and parsed on the JS side: the body never enters wasm memory.
    let text = UTF8.with(|decoder| match decoder {
        Ok(decoder) => Ok(decoder.decode(&body).ok()),
        Err(thrown) => Err(sys::lacks(
            "this platform has no TextDecoder",
            thrown.clone(),
        )),
    })?;
    let json = text
        .and_then(|text| sys::parse_json(&text).ok())
        .ok_or_else(|| FaceIdError::bad_response("the body is not valid JSON"))?;
    Ok(Answer { json, sent_at_ms })
}

/// A `Retry-After` given in whole seconds, in milliseconds. The HTTP-date form is not used: the
/// service's clock zone is unknown.
fn retry_after_ms(response: &Response) -> Option<f64> {
    let value = response.headers().get("retry-after").ok().flatten()?;
    let seconds = value.trim();
    let whole =
        !seconds.is_empty() && seconds.len() <= 6 && seconds.bytes().all(|b| b.is_ascii_digit());
    whole
        .then(|| seconds.parse::<u32>().ok())
        .flatten()
        .map(|seconds| f64::from(seconds) * 1000.0)
}

thread_local! {
    /// One decoder for every answer: making one per request costs more than the decoding.
    static UTF8: Result<Utf8Decoder, JsValue> = Utf8Decoder::new();
}

/// Starts the fetch and waits for the response head.
async fn send(
    request: HttpRequest<'_>,
    guard: &Cancel,
    manual_redirect: bool,
) -> Result<JsValue, JsValue> {
    let init = RequestInit::new();
    match request.json_body {
        Some(body) => {
            init.set_method("POST");
            init.set_body(&JsValue::from_str(body));
            let headers = js_sys::Object::new();
            js_sys::Reflect::set(&headers, &"content-type".into(), &"application/json".into())?;
            init.set_headers(&headers);
        }
        None => init.set_method("GET"),
    }
    init.set_signal(Some(&guard.controller.signal()));
    init.set_redirect(if manual_redirect {
        RequestRedirect::Manual
    } else {
        RequestRedirect::Error
    });
    Settled::new(&sys::fetch(request.url, &init)?).await
}

fn refuses_redirect_error(error: &JsValue) -> bool {
    error.dyn_ref::<js_sys::Error>().is_some_and(|error| {
        error.name() == "TypeError"
            && find_str(&String::from(error.message()), "redirect").is_some()
    })
}

/// The body's bytes, kept on the JS side: they are decoded and parsed there. A failure while
/// reading is not quick: the service has answered, and may have done its work.
async fn read_capped(
    response: &Response,
    limit: usize,
    sensitive: &[&str],
) -> Result<Uint8Array, FaceIdError> {
    let Some(stream) = response.body() else {
        return Ok(Uint8Array::new_with_length(0));
    };
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let mut chunks = Vec::new();
    let mut budget = BodyBudget::with_limit(limit);
    loop {
        let chunk = Settled::new(&reader.read())
            .await
            .map_err(|error| network_failure(&error, sensitive))?;
        if sys::data_member(&chunk, &js_name("done")).is_truthy() {
            break;
        }
        let bytes: Uint8Array = sys::data_member(&chunk, &js_name("value"))
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
    // Most answers arrive in one chunk: that chunk is the body, no copy needed.
    if chunks.len() == 1 {
        if let Some(only) = chunks.pop() {
            return Ok(only);
        }
    }
    let body = Uint8Array::new_with_length(budget.read() as u32);
    let mut offset = 0;
    for chunk in chunks {
        body.set(&chunk, offset);
        offset += chunk.length();
    }
    Ok(body)
}

/// Owns the request's `AbortController` and fires it on drop, so a request never outlives its
/// future: a timeout or the caller's signal ends a request by dropping it.
struct Cancel {
    controller: AbortController,
    /// Set once the body has been read to its end: nothing is left to cancel, and aborting would
    /// only cost (a DOMException and an event per request).
    finished: Cell<bool>,
}

impl Cancel {
    fn new() -> Result<Self, FaceIdError> {
        let controller = AbortController::new()
            .map_err(|thrown| sys::lacks("this platform has no AbortController", thrown))?;
        Ok(Cancel {
            controller,
            finished: Cell::new(false),
        })
    }
}

impl Drop for Cancel {
    fn drop(&mut self) {
        if !self.finished.get() {
            self.controller.abort();
        }
    }
}

/// A rejection of `fetch` or of a body read, with the credentials scrubbed from its text.
fn network_failure(error: &JsValue, sensitive: &[&str]) -> FaceIdError {
    FaceIdError::Network {
        detail: describe(error),
    }
    .redact(sensitive)
}

/// `"TypeError: fetch failed (connect ECONNREFUSED ...)"` from whatever the platform rejected with.
fn describe(error: &JsValue) -> String {
    let Some(error) = error.dyn_ref::<js_sys::Error>() else {
        return error
            .as_string()
            .unwrap_or_else(|| String::from("the request failed"));
    };
    let (name, message) = (String::from(error.name()), String::from(error.message()));
    match error.cause().dyn_ref::<js_sys::Error>() {
        Some(cause) => [
            &name,
            ": ",
            &message,
            " (",
            &String::from(cause.message()),
            ")",
        ]
        .concat(),
        None => [&name, ": ", &message].concat(),
    }
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
    let mut work = pin!(work);
    let mut fired = pin!(Fired::new(signal));
    poll_fn(|cx| match work.as_mut().poll(cx) {
        Poll::Ready(result) => Poll::Ready(result),
        Poll::Pending => fired.as_mut().poll(cx).map(|()| Err(FaceIdError::Aborted)),
    })
    .await
}
