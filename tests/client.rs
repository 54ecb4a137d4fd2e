//! `FaceIdClient`'s caching rules against the emulator over real HTTP, in Node, Chromium and a
//! Chromium worker (see tests/wasm.rs for how the runs are set up). Each test resets the
//! emulator first: wasm-bindgen-test runs one test at a time.
#![cfg(target_arch = "wasm32")]

mod support;

use faceid_edge::{
    AppId, ClientConfig, Endpoint, ErrorKind, FaceIdClient, FaceIdError, Redacted, RefreshAfter,
    Retries, Secret, TimeoutMs, TokenOrigin, UserId,
};
use futures::future::join_all;
use std::collections::HashSet;
use support::{
    clear_fault, counters, emulator, expire_tokens, fault, reset, rotate_token, sdk_start,
    shift_clock, sleep, APP_ID, SECRET,
};
use wasm_bindgen_test::wasm_bindgen_test;

const MINUTE_MS: f64 = 60_000.0;

/// One attempt per request, so request counts show the caching rules alone.
fn config() -> ClientConfig {
    ClientConfig {
        endpoint: Endpoint::new(&emulator()).unwrap(),
        timeout: TimeoutMs::new(5_000).unwrap(),
        retries: Retries::from_f64(0.0).unwrap(),
        ..ClientConfig::new(AppId::new(APP_ID).unwrap(), Secret::new(SECRET).unwrap())
    }
}

fn client() -> FaceIdClient {
    FaceIdClient::new(config())
}

fn user(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

#[wasm_bindgen_test]
async fn a_thousand_cold_sign_ticket_calls_make_one_token_and_one_ticket_request() {
    reset("{}").await;
    let client = client();
    let tickets = join_all((0..1000).map(|_| client.sign_ticket())).await;
    let values: HashSet<Redacted> = tickets.into_iter().map(|t| t.unwrap().value).collect();
    assert_eq!(values.len(), 1);
    assert_eq!(counters().await, (1, 1, 0));
}

#[wasm_bindgen_test]
async fn a_thousand_nonce_ticket_calls_make_one_token_request_and_a_thousand_tickets() {
    reset("{}").await;
    let client = client();
    let users: Vec<UserId> = (0..1000).map(|i| user(&format!("user_{i}"))).collect();
    let tickets = join_all(users.iter().map(|u| client.nonce_ticket(u, None))).await;
    let values: HashSet<Redacted> = tickets.into_iter().map(|t| t.unwrap().value).collect();
    assert_eq!(
        values.len(),
        1000,
        "NONCE tickets are never cached or shared"
    );
    assert_eq!(counters().await, (1, 0, 1000));
}

#[wasm_bindgen_test]
async fn an_old_token_is_refreshed_and_its_sign_ticket_with_it() {
    reset("{}").await;
    let client = FaceIdClient::new(ClientConfig {
        refresh_after: RefreshAfter::from_seconds(0.3).unwrap(),
        ..config()
    });
    let token = client.access_token().await.unwrap();
    let sign = client.sign_ticket().await.unwrap();
    assert_eq!(
        client.access_token().await.unwrap(),
        token,
        "a young token is reused"
    );
    assert_eq!(client.sign_ticket().await.unwrap().value, sign.value);
    assert_eq!(counters().await, (1, 1, 0));

    sleep(400).await;
    let new_sign = client.sign_ticket().await.unwrap();
    let new_token = client.access_token().await.unwrap();
    assert_ne!(new_token.value, token.value);
    assert_ne!(
        new_sign.value, sign.value,
        "a new token means a new SIGN ticket"
    );
    assert_eq!(counters().await, (2, 2, 0));
}

#[wasm_bindgen_test]
async fn a_token_expiring_within_a_minute_is_refreshed() {
    reset(r#"{"tokenExpireIn":7200}"#).await;
    let client = client();
    let token = client.access_token().await.unwrap();
    shift_clock(7200.0 * 1000.0 - 59_000.0);
    let refreshed = client.access_token().await;
    shift_clock(0.0);
    assert_ne!(refreshed.unwrap().value, token.value);
    assert_eq!(counters().await.0, 2);
}

#[wasm_bindgen_test]
async fn a_rotated_token_is_replaced_once_and_the_request_retried() {
    reset(r#"{"tokenOverlapMs":50}"#).await;
    let client = client();
    let old = client.access_token().await.unwrap();
    rotate_token().await;
    sleep(100).await;
    shift_clock(MINUTE_MS + 1_000.0);
    let ticket = client.nonce_ticket(&user("alice"), None).await;
    let token = client.access_token().await;
    shift_clock(0.0);
    assert!(ticket.is_ok(), "{ticket:?}");
    assert_ne!(token.unwrap().value, old.value);
    // Our first token; the refused NONCE request; the forced refresh; the retry.
    assert_eq!(counters().await, (2, 0, 2));
}

#[wasm_bindgen_test]
async fn a_young_token_refused_by_the_service_is_not_replaced() {
    reset("{}").await;
    let client = client();
    client.access_token().await.unwrap();
    expire_tokens().await;
    let error = client.nonce_ticket(&user("alice"), None).await.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Api);
    assert_eq!(
        counters().await,
        (1, 0, 1),
        "no forced refresh for a token under a minute old"
    );
}

#[wasm_bindgen_test]
async fn a_forced_refresh_retries_once_and_a_refused_sign_ticket_is_remembered() {
    reset("{}").await;
    let client = client();
    client.access_token().await.unwrap();
    shift_clock(MINUTE_MS + 1_000.0);
    // Every ticket request is refused: one forced refresh, one retry, then the error.
    fault(r#"{"mode":"api_error","path":"api_ticket"}"#).await;
    let first = client.sign_ticket().await.unwrap_err();
    assert_eq!(first.kind(), ErrorKind::Api);
    assert_eq!(counters().await, (2, 2, 0));
    // The clock held back inside the wait: the refusal is answered again, with the time left,
    // and no request is sent.
    shift_clock(MINUTE_MS + 1_000.0 - 10_000.0);
    for _ in 0..5 {
        let again = client.sign_ticket().await.unwrap_err();
        assert_eq!(
            (again.kind(), again.cause()),
            (ErrorKind::Api, first.cause())
        );
        assert!(again.retry_after_ms().is_some_and(|ms| ms > 0));
    }
    assert_eq!(counters().await, (2, 2, 0));
    // After the wait, the young replacement is asked again but not forced out.
    shift_clock(MINUTE_MS + 1_000.0 + 10_000.0);
    assert_eq!(
        client.sign_ticket().await.unwrap_err().kind(),
        ErrorKind::Api
    );
    shift_clock(0.0);
    clear_fault().await;
    assert_eq!(counters().await, (2, 3, 0));
}

#[wasm_bindgen_test]
async fn a_failing_token_endpoint_is_asked_once_per_wait_and_the_valid_token_kept() {
    reset("{}").await;
    let client = client();
    let token = client.access_token().await.unwrap();
    fault(r#"{"mode":"http_error","status":503,"path":"access_token"}"#).await;
    // Due, and each refresh fails; every step jumps past the previous wait (at most 32 s
    // after six failures), so each asks the service once and keeps the valid token.
    let mut offset = 20.0 * MINUTE_MS;
    for failures in 1..=7 {
        offset += MINUTE_MS + 1_000.0;
        shift_clock(offset);
        assert_eq!(client.access_token().await.unwrap().value, token.value);
        assert_eq!(counters().await.0, 1 + failures);
    }
    // Now inside a wait of at least 30 s: no request, the valid token in use.
    assert!(client.nonce_ticket(&user("bob"), None).await.is_ok());
    assert_eq!(client.access_token().await.unwrap().value, token.value);
    assert_eq!(counters().await.0, 8);
    assert!(client.next_refresh_at() >= js_sys::Date::now() + 29_000.0);

    // Expired: the next request fails with the time left, and the one after it is not sent.
    offset = token.expires_at - (js_sys::Date::now() - offset) + 1.0;
    shift_clock(offset);
    let failed = client.access_token().await.unwrap_err();
    let again = client.access_token().await.unwrap_err();
    assert_eq!(failed.cause(), &FaceIdError::Http { status: 503 });
    assert_eq!(again.cause(), failed.cause());
    assert!(failed.retry_after_ms().is_some_and(|ms| ms >= 29_000));
    assert_eq!(counters().await.0, 9);

    clear_fault().await;
    shift_clock(offset + MINUTE_MS + 1_000.0);
    let fresh = client.access_token().await;
    shift_clock(0.0);
    assert_ne!(fresh.unwrap().value, token.value);
}

#[wasm_bindgen_test]
async fn exported_state_resumes_without_a_new_token_and_without_the_secret() {
    reset("{}").await;
    let first = client();
    let token = first.access_token().await.unwrap();
    let sign = first.sign_ticket().await.unwrap();
    let state = first.export_state();
    assert!(!state.contains(SECRET));

    let resumed = FaceIdClient::import_state(config(), &state).unwrap();
    assert_eq!(resumed.access_token().await.unwrap(), token);
    assert_eq!(resumed.sign_ticket().await.unwrap().value, sign.value);
    assert_eq!(counters().await, (1, 1, 0));

    let other_app = ClientConfig {
        app_id: AppId::new("IDAOTHER").unwrap(),
        ..config()
    };
    let refused = FaceIdClient::import_state(other_app, &state).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::InvalidArgument);
}

#[wasm_bindgen_test]
async fn sdk_signatures_start_the_sdk_once() {
    reset("{}").await;
    let client = client();
    let signature = client.sdk_signature(&user("carol_7")).await.unwrap();
    assert_eq!(signature.nonce.len(), 32);
    assert_eq!(
        (signature.app_id.as_str(), signature.user_id.as_str()),
        (APP_ID, "carol_7")
    );
    let json = format!(
        r#"{{"appId":"{}","userId":"{}","version":"{}","nonce":"{}","sign":"{}"}}"#,
        signature.app_id, signature.user_id, signature.version, signature.nonce, signature.sign
    );
    assert_eq!(sdk_start(&json).await, "0");
    assert_ne!(
        sdk_start(&json).await,
        "0",
        "a NONCE ticket starts the SDK once"
    );
    let other = client.sdk_signature(&user("carol_7")).await.unwrap();
    assert_ne!(other.nonce, signature.nonce);
}

#[wasm_bindgen_test]
async fn no_error_reveals_the_secret_or_a_token() {
    reset("{}").await;
    let wrong = "wrong-secret-that-must-not-leak";
    let client = FaceIdClient::new(ClientConfig {
        tokens: TokenOrigin::Secret(Secret::new(wrong).unwrap()),
        ..config()
    });
    let refused = client.access_token().await.unwrap_err();
    let unreachable = FaceIdClient::new(ClientConfig {
        endpoint: Endpoint::new("http://127.0.0.1:1").unwrap(),
        tokens: TokenOrigin::Secret(Secret::new(wrong).unwrap()),
        ..config()
    })
    .sign_ticket()
    .await
    .unwrap_err();
    let good = FaceIdClient::new(config());
    let token = good.access_token().await.unwrap();
    expire_tokens().await;
    let rejected = good.sign_ticket().await.unwrap_err();
    for error in [refused, unreachable, rejected] {
        let text = format!("{error} {error:?}");
        assert!(
            !text.contains(wrong) && !text.contains(SECRET) && !text.contains(token.value.as_str()),
            "{text}"
        );
    }
    assert!(!format!("{good:?}").contains(SECRET));
}

#[wasm_bindgen_test]
async fn a_token_reported_rejected_is_replaced_only_when_over_a_minute_old() {
    reset("{}").await;
    let client = client();
    let token = client.access_token().await.unwrap();
    let kept = client.token_rejected(&token.value).await.unwrap();
    assert_eq!(kept, token, "a token under a minute old is kept");
    assert_eq!(
        client.token_rejected("some-older-token").await.unwrap(),
        token
    );

    shift_clock(MINUTE_MS + 1_000.0);
    let replaced = client.token_rejected(&token.value).await;
    let again = client
        .token_rejected(&replaced.as_ref().unwrap().value)
        .await;
    shift_clock(0.0);
    assert_ne!(replaced.as_ref().unwrap().value, token.value);
    assert_eq!(
        again.unwrap(),
        replaced.unwrap(),
        "one forced refresh a minute"
    );
    assert_eq!(counters().await.0, 2);
}

/// The README's Rust example, verbatim between the markers (tests/node/readme.test.mjs checks
/// that the README shows exactly these lines), run against the emulator.
#[wasm_bindgen_test]
async fn the_readme_example_signs_an_sdk_start() {
    let (app_id, secret, endpoint) = (APP_ID, SECRET, emulator());
    let endpoint = endpoint.as_str();
    let signed = async {
        // README example begins
        use faceid_edge::{AppId, ClientConfig, Endpoint, FaceIdClient, Secret, UserId};

        let config = ClientConfig {
            endpoint: Endpoint::new(endpoint)?, // optional: the package's default when unset
            ..ClientConfig::new(AppId::new(app_id)?, Secret::new(secret)?)
        };
        let client = FaceIdClient::new(config);
        let signature = client.sdk_signature(&UserId::new("alice")?).await?;
        // README example ends
        Ok::<_, FaceIdError>(signature)
    };
    let signature = signed.await.unwrap();
    assert_eq!(
        (signature.app_id.as_str(), signature.sign.len()),
        (APP_ID, 40)
    );
}
