//! The Rust API against the emulator over real HTTP, in every JS runtime the suite is run in:
//! Node (`wasm-pack test --node`), Chromium (`WASM_BINDGEN_USE_BROWSER=1`) and a dedicated worker
//! in Chromium (`WASM_BINDGEN_USE_DEDICATED_WORKER=1`, the no-`window` path of a browser).
//! The emulator's URL is compiled in from `FACEID_EMULATOR_URL`; `scripts/test.sh` sets it.
#![cfg(target_arch = "wasm32")]

mod support;

use faceid_edge::{
    fetch_nonce_ticket, AccessToken, AppId, Endpoint, ErrorKind, FaceIdError, NonceTicketRequest,
    RequestOptions, Retries, TimeoutMs, UserId, Version,
};
use support::{
    clear_fault, emulator, fault, issue_token, log_len, log_mentions, now_ms, sleep, APP_ID,
};
use wasm_bindgen_test::wasm_bindgen_test;

async fn request_for(user: &str) -> NonceTicketRequest {
    NonceTicketRequest {
        app_id: AppId::new(APP_ID).unwrap(),
        access_token: AccessToken::new(issue_token().await).unwrap(),
        user_id: UserId::new(user).unwrap(),
        version: Version::default(),
    }
}

/// One attempt, so each case sees exactly the answer it arranged; retries are tested below.
fn options(timeout_ms: u32) -> RequestOptions {
    RequestOptions {
        endpoint: Endpoint::new(&emulator()).unwrap(),
        timeout: TimeoutMs::new(timeout_ms).unwrap(),
        signal: None,
        retries: Retries::from_f64(0.0).unwrap(),
    }
}

async fn failure(request: &NonceTicketRequest, options: &RequestOptions) -> FaceIdError {
    let error = fetch_nonce_ticket(request, options).await.unwrap_err();
    assert!(
        !error.to_string().contains(request.access_token.as_str()),
        "the message leaks the token: {error}"
    );
    error
}

#[wasm_bindgen_test]
async fn fetches_fresh_one_time_tickets() {
    clear_fault().await;
    let request = request_for("alice_01").await;
    let before = now_ms();
    let first = fetch_nonce_ticket(&request, &options(5_000)).await.unwrap();
    let second = fetch_nonce_ticket(&request, &options(5_000)).await.unwrap();
    assert_eq!(first.value.len(), 64);
    assert_ne!(first.value, second.value, "NONCE tickets are one-time");
    assert_eq!(first.expire_in, 120);
    assert!(first.expire_time.is_some() && first.transaction_time.is_some());
    let expected = before + 120_000.0;
    assert!(
        (expected..expected + 5_000.0).contains(&first.expires_at),
        "expires_at {} should be the send time + 120 s",
        first.expires_at
    );
}

#[wasm_bindgen_test]
async fn the_service_refusing_a_token_is_an_api_error() {
    clear_fault().await;
    let mut request = request_for("bob").await;
    request.access_token = AccessToken::new("not-a-token-the-emulator-issued").unwrap();
    match failure(&request, &options(5_000)).await {
        FaceIdError::Api {
            code,
            msg,
            transaction_time,
        } => {
            assert_ne!(code, "0");
            assert!(!msg.is_empty());
            assert!(transaction_time.is_some());
        }
        other => panic!("expected an api error, got {other:?}"),
    }
}

#[wasm_bindgen_test]
async fn faults_map_to_their_error_kinds() {
    let request = request_for("carol").await;
    for (mode, kind) in [
        (r#"{"mode":"http_error","status":503}"#, ErrorKind::Http),
        (r#"{"mode":"html"}"#, ErrorKind::BadResponse),
        (r#"{"mode":"invalid_json"}"#, ErrorKind::BadResponse),
        (r#"{"mode":"empty_tickets"}"#, ErrorKind::BadResponse),
        (r#"{"mode":"no_value"}"#, ErrorKind::BadResponse),
        (r#"{"mode":"bad_expire_in"}"#, ErrorKind::BadResponse),
        (r#"{"mode":"oversized"}"#, ErrorKind::BadResponse),
        (r#"{"mode":"drop"}"#, ErrorKind::Network),
    ] {
        fault(mode).await;
        let error = failure(&request, &options(5_000)).await;
        assert_eq!(error.kind(), kind, "{mode}: {error}");
    }
    fault(r#"{"mode":"http_error","status":503}"#).await;
    assert_eq!(
        failure(&request, &options(5_000)).await,
        FaceIdError::Http { status: 503 }
    );
    clear_fault().await;
    assert!(fetch_nonce_ticket(&request, &options(5_000)).await.is_ok());
}

#[wasm_bindgen_test]
async fn an_oversized_body_is_cut_off_not_downloaded() {
    let request = request_for("dave").await;
    fault(r#"{"mode":"oversized"}"#).await;
    let started = now_ms();
    let error = failure(&request, &options(20_000)).await;
    clear_fault().await;
    assert!(error.to_string().contains("65536 bytes"), "{error}");
    assert!(now_ms() - started < 10_000.0, "reading stopped at the cap");
}

#[wasm_bindgen_test]
async fn a_slow_answer_times_out_and_a_stalled_body_too() {
    let request = request_for("erin").await;
    for mode in [
        r#"{"mode":"slow","delayMs":20000}"#,
        r#"{"mode":"stall_body"}"#,
    ] {
        fault(mode).await;
        let started = now_ms();
        let error = failure(&request, &options(300)).await;
        let took = now_ms() - started;
        assert_eq!(error, FaceIdError::Timeout { timeout_ms: 300 }, "{mode}");
        // Never before the limit; and well before the answer would have come.
        assert!((300.0..15_000.0).contains(&took), "{mode}: took {took} ms");
    }
    clear_fault().await;
}

#[wasm_bindgen_test]
async fn the_callers_signal_aborts_in_flight_and_before_sending() {
    let request = request_for("frank").await;
    fault(r#"{"mode":"slow","delayMs":3000}"#).await;
    let controller = web_sys::AbortController::new().unwrap();
    let mut aborting = options(5_000);
    aborting.signal = Some(controller.signal());
    let pending = fetch_nonce_ticket(&request, &aborting);
    let abort_soon = async {
        sleep(100).await;
        controller.abort();
    };
    let (result, ()) = futures::join!(pending, abort_soon);
    assert_eq!(result.unwrap_err(), FaceIdError::Aborted);
    clear_fault().await;

    let sent = log_len().await;
    let result = fetch_nonce_ticket(&request, &aborting).await;
    assert_eq!(result.unwrap_err(), FaceIdError::Aborted);
    assert_eq!(log_len().await, sent, "an aborted signal sends nothing");
}

#[wasm_bindgen_test]
async fn an_unreachable_service_is_a_network_error() {
    let request = request_for("grace").await;
    let mut unreachable = options(5_000);
    unreachable.endpoint = Endpoint::new("http://127.0.0.1:1").unwrap();
    assert_eq!(
        failure(&request, &unreachable).await.kind(),
        ErrorKind::Network
    );
}

fn with_retries(retries: f64, timeout_ms: u32) -> RequestOptions {
    RequestOptions {
        retries: Retries::from_f64(retries).unwrap(),
        ..options(timeout_ms)
    }
}

#[wasm_bindgen_test]
async fn transient_failures_are_retried_with_backoff() {
    let request = request_for("retry_1").await;
    for transient in [
        r#"{"mode":"http_error","status":503,"count":2}"#,
        r#"{"mode":"http_error","status":502,"count":2}"#,
        r#"{"mode":"http_error","status":504,"count":2}"#,
        r#"{"mode":"http_error","status":429,"count":2}"#,
        r#"{"mode":"drop","count":2}"#,
    ] {
        fault(transient).await;
        let sent = log_len().await;
        let ticket = fetch_nonce_ticket(&request, &with_retries(2.0, 10_000)).await;
        clear_fault().await;
        assert!(ticket.is_ok(), "{transient}: {ticket:?}");
        assert!(log_len().await - sent >= 2, "{transient}: retried");
    }
}

#[wasm_bindgen_test]
async fn retries_stop_at_the_limit_and_never_retry_what_would_fail_again() {
    let request = request_for("retry_2").await;
    fault(r#"{"mode":"http_error","status":503}"#).await;
    let sent = log_len().await;
    let error = failure(&request, &with_retries(2.0, 10_000)).await;
    assert_eq!(
        (error, log_len().await - sent),
        (FaceIdError::Http { status: 503 }, 3)
    );
    for (permanent, kind) in [
        (r#"{"mode":"http_error","status":500}"#, ErrorKind::Http),
        (r#"{"mode":"http_error","status":404}"#, ErrorKind::Http),
        (r#"{"mode":"api_error"}"#, ErrorKind::Api),
        (r#"{"mode":"html"}"#, ErrorKind::BadResponse),
    ] {
        fault(permanent).await;
        let sent = log_len().await;
        let error = failure(&request, &with_retries(5.0, 10_000)).await;
        assert_eq!(
            (error.kind(), log_len().await - sent),
            (kind, 1),
            "{permanent}"
        );
    }
    clear_fault().await;
}

#[wasm_bindgen_test]
async fn a_slow_answer_gets_the_whole_limit_and_is_never_retried() {
    let request = request_for("retry_3").await;
    fault(r#"{"mode":"slow","delayMs":20000}"#).await;
    let sent = log_len().await;
    let started = now_ms();
    let error = failure(&request, &with_retries(5.0, 600)).await;
    let took = now_ms() - started;
    clear_fault().await;
    assert_eq!(error, FaceIdError::Timeout { timeout_ms: 600 });
    assert_eq!(
        log_len().await - sent,
        1,
        "a timeout is not a quick failure"
    );
    assert!((600.0..15_000.0).contains(&took), "took {took} ms");

    // An answer that takes most of the default 10 s limit arrives, after one request.
    fault(r#"{"mode":"slow","delayMs":4000,"count":1}"#).await;
    let sent = log_len().await;
    let ticket = fetch_nonce_ticket(&request, &with_retries(2.0, 10_000)).await;
    assert!(ticket.is_ok(), "{ticket:?}");
    assert_eq!(log_len().await - sent, 1);
}

#[wasm_bindgen_test]
async fn a_retry_after_in_seconds_is_honoured_when_it_fits() {
    let request = request_for("retry_4").await;
    fault(r#"{"mode":"http_error","status":503,"retryAfter":1,"count":1}"#).await;
    let sent = log_len().await;
    let started = now_ms();
    let ticket = fetch_nonce_ticket(&request, &with_retries(2.0, 10_000)).await;
    let took = now_ms() - started;
    assert!(ticket.is_ok(), "{ticket:?}");
    assert_eq!(log_len().await - sent, 2);
    assert!(took >= 1_000.0, "waited {took} ms of a 1 s Retry-After");

    // One that does not fit before the deadline ends the call with that answer, not a timeout.
    fault(r#"{"mode":"http_error","status":429,"retryAfter":60}"#).await;
    let sent = log_len().await;
    let error = failure(&request, &with_retries(2.0, 10_000)).await;
    clear_fault().await;
    assert_eq!(error, FaceIdError::Http { status: 429 });
    assert_eq!(log_len().await - sent, 1);
}

#[wasm_bindgen_test]
async fn redirects_are_never_followed() {
    let request = request_for("redirect_1").await;
    fault(r#"{"mode":"redirect"}"#).await;
    let error = failure(&request, &with_retries(0.0, 5_000)).await;
    clear_fault().await;
    // "error" mode fails the fetch (network); where only "manual" exists, the 302 is the answer.
    assert!(
        matches!(error.kind(), ErrorKind::Network | ErrorKind::Http),
        "{error}"
    );
    assert!(
        !log_mentions("followed_redirect").await,
        "the redirect was followed"
    );
}
