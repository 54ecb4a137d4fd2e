//! Property-based fuzzing of everything that reads outside input: the answer readers, the saved
//! state reader, the validators, the endpoint and URL builder, the body budget and `sign`, and
//! the verification's hosts, callback reader and answers. Each property is tested here only.
//!
//! cargo-fuzz needs a nightly toolchain, which these machines do not have; proptest runs the same
//! idea on stable: generated and mutated inputs, starting from the committed seed corpus in
//! `tests/corpus/`. `FUZZ_CASES` sets the cases per target (the test script runs a bounded pass);
//! each target prints how many inputs it executed. No input may panic.
#![cfg(not(target_arch = "wasm32"))]

/// Every target sits in `fuzz::`, so `cargo test -- --skip fuzz::` leaves them to the fuzzing
/// step of the test script.
mod fuzz {
    use faceid_edge::protocol::{
        parse_access_token_answer, parse_body as parsed, parse_ticket_answer, BodyBudget,
        CredentialCache, SavedState, BODY_LIMIT,
    };
    use faceid_edge::verification::{
        Callback, CallbackUrl, FaceId, FaceRecordQuery, FileChoice, IdNumber, OptimalDomain,
        OrderNo, PersonName, RegisterOrderRequest,
    };
    use faceid_edge::{sign, AccessToken, AppId, Endpoint, ErrorKind, Secret, UserId, Version};
    use proptest::prelude::*;
    use proptest::test_runner::{TestCaseError, TestRunner};
    use serde_json::{Map, Number, Value};
    use std::cell::Cell;

    const SENT_AT: f64 = 1_700_000_000_000.0;

    fn cases() -> u32 {
        std::env::var("FUZZ_CASES")
            .ok()
            .and_then(|cases| cases.parse().ok())
            .unwrap_or(256)
    }

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: cases(),
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Runs `check` on `cases()` inputs drawn from `strategy` and prints how many it executed.
    fn fuzz<S: Strategy>(
        name: &str,
        strategy: S,
        check: impl Fn(S::Value) -> Result<(), TestCaseError>,
    ) {
        let executions = Cell::new(0u64);
        let result = TestRunner::new(config()).run(&strategy, |input| {
            executions.set(executions.get() + 1);
            check(input)
        });
        println!("fuzz {name}: {} executions", executions.get());
        if let Err(failure) = result {
            panic!("fuzz {name}: {failure}");
        }
    }

    fn corpus() -> Vec<(String, String)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|path| {
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read_to_string(&path).unwrap())
            })
            .collect()
    }

    /// Runs every reader on a body and checks what a successful read promises.
    fn read_everything(body: &str) {
        let Ok(answer) = parsed(body) else { return };
        if let Ok(ticket) = parse_ticket_answer(&answer, SENT_AT) {
            assert!(!ticket.value.is_empty() && ticket.expire_in >= 1);
            assert_eq!(
                ticket.expires_at,
                SENT_AT + f64::from(ticket.expire_in) * 1000.0
            );
        }
        if let Ok(grant) = parse_access_token_answer(&answer, SENT_AT) {
            assert!(!grant.value.is_empty() && grant.expire_in >= 1);
        }
        if let Some(state) = SavedState::read(&answer) {
            let _ = CredentialCache::import(Some(state), "IDAEMU01", 1000.0, 0.0);
        }
        if let Ok(order) = register_request().read_answer(&answer, &local_endpoint()) {
            assert_eq!(order.order_no, ASKED_ORDER);
            assert!(FaceId::new(order.face_id).is_ok());
            let domain = order.optimal_domain.as_str();
            assert!(domain == "127.0.0.1:8788" || OptimalDomain::new(domain).is_ok());
        }
        if let Ok(record) = record_query().read_answer(&answer) {
            assert_eq!(record.order_no, ASKED_ORDER);
            assert_eq!(record.passed, record.code == "0");
            let scored = record.live_rate.is_some() && record.similarity.is_some();
            assert!(!record.passed || (scored && record.occurred_time.is_some()));
            assert!(record
                .live_rate
                .into_iter()
                .chain(record.similarity)
                .all(f64::is_finite));
        }
    }

    const ASKED_ORDER: &str = "9164541471817797";

    fn local_endpoint() -> Endpoint {
        Endpoint::new("http://127.0.0.1:8788").unwrap()
    }

    fn register_request() -> RegisterOrderRequest {
        RegisterOrderRequest {
            app_id: AppId::new("IDAXXXXX").unwrap(),
            order_no: OrderNo::new(ASKED_ORDER).unwrap(),
            user_id: UserId::new("user_1").unwrap(),
            name: PersonName::new("name").unwrap(),
            id_no: IdNumber::new("id").unwrap(),
            version: Version::default(),
            source_photo: None,
            live_inter_type: None,
        }
    }

    fn record_query() -> FaceRecordQuery {
        FaceRecordQuery {
            app_id: AppId::new("IDAXXXXX").unwrap(),
            order_no: OrderNo::new(ASKED_ORDER).unwrap(),
            version: Version::default(),
            files: FileChoice::Photo,
        }
    }

    /// JSON values shaped like answers: the keys the readers look for, with values of every type.
    fn json_value() -> impl Strategy<Value = Value> {
        let key = prop_oneof![
            Just("code".to_owned()),
            Just("msg".to_owned()),
            Just("tickets".to_owned()),
            Just("value".to_owned()),
            Just("expire_in".to_owned()),
            Just("expire_time".to_owned()),
            Just("transactionTime".to_owned()),
            Just("access_token".to_owned()),
            Just("v".to_owned()),
            Just("app_id".to_owned()),
            Just("token".to_owned()),
            Just("grant".to_owned()),
            Just("obtained_at".to_owned()),
            Just("expires_at".to_owned()),
            Just("sign_ticket".to_owned()),
            Just("result".to_owned()),
            Just("orderNo".to_owned()),
            Just("faceId".to_owned()),
            Just("optimalDomain".to_owned()),
            Just("liveRate".to_owned()),
            Just("similarity".to_owned()),
            Just("occurredTime".to_owned()),
            Just("photo".to_owned()),
            ".{0,6}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| Value::Number(n.into())),
            prop_oneof![
                Just(0.0),
                Just(120.0),
                Just(-1.0),
                Just(0.5),
                Just(1e300),
                any::<f64>()
            ]
            .prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
            prop_oneof![
                Just("0".to_owned()),
                Just("120".to_owned()),
                Just(String::new()),
                Just(ASKED_ORDER.to_owned()),
                Just("kyc1.qcloud.com".to_owned()),
                "[0-9]{1,3}(\\.[0-9]{1,3})?",
                ".{0,12}"
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((key.clone(), inner), 0..6)
                    .prop_map(|members| Value::Object(members.into_iter().collect::<Map<_, _>>())),
            ]
        })
    }

    /// A corpus body with a few bytes flipped, inserted or cut.
    fn mutated_corpus_body() -> impl Strategy<Value = String> {
        let bodies: Vec<String> = corpus().into_iter().map(|(_, body)| body).collect();
        (
            prop::sample::select(bodies),
            prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4),
        )
            .prop_map(|(body, edits)| {
                let mut bytes = body.into_bytes();
                for (at, byte, kind) in edits {
                    if bytes.is_empty() {
                        break;
                    }
                    let at = at.index(bytes.len());
                    match kind {
                        0 => bytes[at] = byte,
                        1 => bytes.insert(at, byte),
                        _ => bytes.truncate(at),
                    }
                }
                String::from_utf8_lossy(&bytes).into_owned()
            })
    }

    /// Every byte as `%XX`: valid form encoding, and independent of the crate's own encoder.
    fn encode_every_byte(text: &str) -> String {
        text.bytes().map(|byte| format!("%{byte:02X}")).collect()
    }

    fn percent_decode(text: &str) -> Vec<u8> {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        out
    }

    #[test]
    fn the_seed_corpus_reads_without_panicking() {
        let corpus = corpus();
        assert!(corpus.len() >= 20, "the seed corpus is in tests/corpus/");
        for (name, body) in &corpus {
            read_everything(body);
            let answer = parsed(body);
            let expected_ok = ["documented-nonce", "real-sign"]
                .iter()
                .any(|valid| name.starts_with(valid));
            let read = answer.and_then(|answer| parse_ticket_answer(&answer, SENT_AT));
            assert_eq!(read.is_ok(), expected_ok, "{name}: {read:?}");
        }
    }

    #[test]
    fn the_verification_corpus_reads_as_named() {
        let corpus = corpus();
        let body = |name: &str| {
            let (_, body) = corpus.iter().find(|(file, _)| file == name).unwrap();
            parsed(body).unwrap()
        };
        let register = |name: &str| register_request().read_answer(&body(name), &local_endpoint());
        assert_eq!(
            register("register-real.json")
                .unwrap()
                .optimal_domain
                .as_str(),
            "kyc1.qcloud.com"
        );
        assert_eq!(
            register("register-no-domain.json")
                .unwrap()
                .optimal_domain
                .as_str(),
            "127.0.0.1:8788"
        );
        assert_eq!(
            register("register-bad-domain.json").unwrap_err().kind(),
            ErrorKind::BadResponse
        );
        let record = |name: &str| record_query().read_answer(&body(name));
        assert!(record("face-record-passed.json").unwrap().passed);
        assert!(!record("face-record-failed.json").unwrap().passed);
        assert_eq!(
            record("face-record-not-found.json").unwrap_err().kind(),
            ErrorKind::Api
        );
    }

    #[test]
    fn generated_answers_never_panic() {
        fuzz("answers", json_value(), |answer| {
            read_everything(&answer.to_string());
            Ok(())
        });
    }

    #[test]
    fn mutated_real_bodies_never_panic() {
        fuzz("mutated corpus", mutated_corpus_body(), |body| {
            read_everything(&body);
            Ok(())
        });
    }

    #[test]
    fn validators_accept_exactly_their_rule() {
        let visible = |t: &str, max: usize| {
            !t.is_empty() && t.len() <= max && t.bytes().all(|b| (0x21..=0x7e).contains(&b))
        };
        let within = |t: &str, max: usize, extra: &[u8]| {
            !t.is_empty()
                && t.len() <= max
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
        };
        fuzz("validators", "\\PC{0,140}|[ -~]{0,140}", |text| {
            prop_assert_eq!(AppId::new(text.clone()).is_ok(), within(&text, 8, b""));
            prop_assert_eq!(UserId::new(text.clone()).is_ok(), within(&text, 30, b"_-"));
            prop_assert_eq!(
                Version::new(text.clone()).is_ok(),
                within(&text, 20, b"._-")
            );
            prop_assert_eq!(AccessToken::new(text.clone()).is_ok(), visible(&text, 128));
            prop_assert_eq!(Secret::new(text.clone()).is_ok(), visible(&text, 64));
            prop_assert_eq!(OrderNo::new(text.clone()).is_ok(), within(&text, 32, b""));
            prop_assert_eq!(FaceId::new(text.clone()).is_ok(), visible(&text, 64));
            let plain = |max: usize| {
                (1..=max).contains(&text.chars().count()) && !text.chars().any(char::is_control)
            };
            prop_assert_eq!(PersonName::new(text.clone()).is_ok(), plain(64));
            prop_assert_eq!(IdNumber::new(text.clone()).is_ok(), plain(32));
            Ok(())
        });
    }

    #[test]
    fn endpoints_never_panic_and_urls_round_trip() {
        let inputs = (
            "(https?|HTTP|ftp)://[a-z0-9.:\\[\\]@%/?#-]{0,30}|\\PC{0,40}",
            "\\PC{0,40}",
        );
        fuzz("endpoint and URL", inputs, |(base, value)| {
            if let Ok(endpoint) = Endpoint::new(&base) {
                let url = endpoint.url("/p", &[("k", &value)]);
                let (scheme, rest) = url.split_once("://").unwrap_or_default();
                prop_assert!(scheme == "https" || scheme == "http");
                prop_assert!(!rest.split('/').next().unwrap_or_default().contains('@'));
                let query = url.split_once("?k=").map(|(_, q)| q).unwrap_or_default();
                prop_assert!(query
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
                prop_assert_eq!(percent_decode(query), value.as_bytes().to_vec());
            }
            Ok(())
        });
    }

    #[test]
    fn the_body_budget_never_admits_past_the_limit() {
        fuzz(
            "body budget",
            prop::collection::vec(0usize..40_000, 0..12),
            |chunks| {
                let mut budget = BodyBudget::default();
                let mut total = 0usize;
                for chunk in chunks {
                    let admitted = budget.admit(chunk).is_ok();
                    prop_assert_eq!(admitted, total + chunk <= BODY_LIMIT);
                    if !admitted {
                        break;
                    }
                    total += chunk;
                    prop_assert!(budget.read() <= BODY_LIMIT);
                }
                Ok(())
            },
        );
    }

    #[test]
    fn signatures_are_always_40_upper_case_hex() {
        fuzz(
            "sign",
            prop::collection::vec("\\PC{0,30}", 0..9),
            |values| {
                let signature = sign(&values);
                prop_assert_eq!(signature.len(), 40);
                prop_assert!(signature
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)));
                Ok(())
            },
        );
    }

    #[test]
    fn hosts_never_panic_and_accepted_ones_stay_one_host() {
        let inputs = "(https?|HTTP|javascript)://[a-z0-9.:\\[\\]@%/?#\\\\-]{0,30}|[a-zA-Z0-9.:\\[\\]-]{0,30}|\\PC{0,40}";
        fuzz("hosts and callback URLs", inputs, |text| {
            if let Ok(domain) = OptimalDomain::new(&text) {
                prop_assert!(!domain.as_str().contains(['/', '@', '?', '#', '\\', '%']));
                let origin = domain.origin();
                let host = origin.split_once("://").map(|(_, host)| host);
                prop_assert_eq!(host, Some(domain.as_str()));
                prop_assert!(origin.starts_with("https://") || origin.starts_with("http://"));
            }
            if let Ok(url) = CallbackUrl::new(&text) {
                let (scheme, rest) = url.as_str().split_once("://").unwrap_or_default();
                prop_assert!(
                    scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("http")
                );
                let authority = rest.split(['/', '?']).next().unwrap_or_default();
                prop_assert!(!authority.contains('@') && !url.as_str().contains(['#', '\\']));
                prop_assert!(OptimalDomain::new(authority).is_ok());
            }
            Ok(())
        });
    }

    #[test]
    fn callbacks_never_panic_and_only_the_right_ticket_verifies() {
        let app = AppId::new("IDAXXXXX").unwrap();
        let inputs = (
            "[a-zA-Z0-9]{1,32}",
            "[0-9]{1,8}",
            "\\PC{1,20}",
            "\\PC{0,60}",
        );
        fuzz("callbacks", inputs, |(order_no, code, ticket, noise)| {
            let _ = Callback::from_query(&noise).verify(&app, &[&ticket]);
            let new_sign = sign(&[app.as_str(), &order_no, &ticket, &code]);
            let query = format!(
                "https://p.example/cb?code={}&orderNo={}&newSign={}",
                encode_every_byte(&code),
                encode_every_byte(&order_no),
                new_sign.to_ascii_lowercase()
            );
            let callback = Callback::from_query(&query);
            let verdict = callback.verify(&app, &["other", &ticket]);
            prop_assert!(verdict.verified);
            prop_assert_eq!(verdict.passed, code == "0");
            let other_ticket = format!("{ticket}x");
            prop_assert!(!callback.verify(&app, &[&other_ticket]).verified);
            Ok(())
        });
    }
}
