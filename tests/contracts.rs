//! What other files restate of the crate's tables agrees with them: the error kinds
//! ([`ErrorKind::ALL`]), the options' names, defaults and limits, and the fields of every result,
//! as the TypeScript declarations, the README, the worker's status map and the test suites' lists
//! of kinds state them.
#![cfg(not(target_arch = "wasm32"))]

use faceid_edge::verification::{
    CallbackUrl, CallbackVerdict, FaceId, FaceRecord, FileChoice, H5LoginUrl, IdNumber,
    LiveInterType, LoginFrom, OptimalDomain, OrderNo, PersonName, RegisteredOrder,
};
use faceid_edge::{
    AccessToken, AppId, Credential, ErrorKind, RefreshAfter, Retries, SdkSignature, Secret, Ticket,
    TimeoutMs, UserId, Version, DEFAULT_ENDPOINT,
};
use serde::Serialize;
use std::collections::BTreeSet;

fn read(path: &str) -> String {
    let path = format!("{}/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

fn declarations() -> String {
    read("src/wasm/js/types.d.ts")
}

fn kinds() -> Vec<&'static str> {
    ErrorKind::ALL.iter().map(|kind| kind.as_str()).collect()
}

/// The lines from the one that starts with `start` to the next that starts with `end`.
fn section<'a>(text: &'a str, start: &str, end: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|line| !line.starts_with(start));
    let first = lines
        .next()
        .unwrap_or_else(|| panic!("no line starts with {start:?}"));
    std::iter::once(first)
        .chain(lines.take_while(|line| !line.starts_with(end)))
        .collect()
}

/// The lines of `export interface NAME { ... }` in the declarations.
fn interface<'a>(declarations: &'a str, name: &str) -> Vec<&'a str> {
    section(declarations, &format!("export interface {name} "), "}")
}

/// The member names of an interface.
fn interface_fields(declarations: &str, name: &str) -> BTreeSet<String> {
    interface(declarations, name)
        .iter()
        .skip(1)
        .filter_map(|line| {
            let line = line.trim();
            let name_end = line.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
            let rest = line.get(name_end..)?;
            (name_end > 0 && (rest.starts_with(':') || rest.starts_with("?:")))
                .then(|| line[..name_end].to_owned())
        })
        .collect()
}

/// The doc comment of `option` in each options interface that declares it, lower-cased.
fn option_docs(declarations: &str, option: &str) -> Vec<String> {
    let lines: Vec<&str> = ["NonceTicketOptions", "FaceIdClientSettings"]
        .iter()
        .flat_map(|name| interface(declarations, name))
        .collect();
    let declared = |line: &str| {
        let line = line.trim();
        line.starts_with(&format!("{option}?:")) || line.starts_with(&format!("{option}:"))
    };
    let docs: Vec<String> = lines
        .windows(2)
        .filter(|pair| declared(pair[1]) && pair[0].trim().starts_with("/**"))
        .map(|pair| pair[0].to_lowercase())
        .collect();
    assert!(!docs.is_empty(), "the declarations document no {option}");
    docs
}

fn serialized_fields(value: &impl Serialize) -> BTreeSet<String> {
    match serde_json::to_value(value).unwrap() {
        serde_json::Value::Object(fields) => fields.keys().cloned().collect(),
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn the_kinds_are_listed_once_each() {
    let unique: BTreeSet<_> = kinds().into_iter().collect();
    assert_eq!(unique.len(), ErrorKind::ALL.len());
}

#[test]
fn the_declared_error_kinds_are_the_crates() {
    let declarations = declarations();
    let start = declarations
        .find("export type FaceIdErrorKind")
        .expect("FaceIdErrorKind is declared");
    let union = declarations[start..].split(';').next().unwrap_or_default();
    let declared: Vec<&str> = union.split('"').skip(1).step_by(2).collect();
    assert_eq!(declared, kinds());
}

#[test]
fn the_readme_error_table_lists_every_kind() {
    let readme = read("README.md");
    let listed: Vec<&str> = readme
        .lines()
        .skip_while(|line| !line.starts_with("| kind | when |"))
        .skip(2)
        .take_while(|row| row.starts_with("| `"))
        .filter_map(|row| row.split('`').nth(1))
        .collect();
    assert_eq!(listed, kinds());
}

#[test]
fn the_worker_maps_every_kind_to_a_status() {
    let worker = read("www/worker.js");
    let map = section(&worker, "const STATUS_BY_KIND = {", "};");
    let mapped: BTreeSet<&str> = map
        .iter()
        .skip(1)
        .filter_map(|line| line.trim().split(':').next())
        .filter(|key| !key.is_empty())
        .collect();
    assert_eq!(mapped, kinds().into_iter().collect());
}

#[test]
fn the_runtime_suites_expect_every_kind() {
    for file in [
        "tests/runtimes/suite.mjs",
        "tests/node/client.test.mjs",
        "tests/node/package.test.mjs",
    ] {
        let text = read(file);
        let list = text
            .lines()
            .find(|line| line.starts_with("const KINDS = ["))
            .unwrap_or_else(|| panic!("{file} lists no KINDS"));
        let listed: Vec<&str> = list.split('\'').skip(1).step_by(2).collect();
        assert_eq!(listed, kinds(), "{file}");
    }
}

#[test]
fn the_declarations_state_the_crates_defaults_and_limits() {
    let declarations = declarations();
    let timeout = TimeoutMs::default().get();
    let retries = Retries::default().get();
    let refresh = RefreshAfter::default().as_seconds();
    for (option, stated) in [
        (
            TimeoutMs::FIELD,
            vec![
                format!("default {timeout}"),
                format!("1..={}", TimeoutMs::MAX),
            ],
        ),
        (
            Retries::FIELD,
            vec![
                format!("default {retries}"),
                format!("0..={}", Retries::MAX),
            ],
        ),
        (
            RefreshAfter::FIELD,
            vec![
                format!("default {refresh}"),
                format!("<= {}", RefreshAfter::MAX_SECONDS),
            ],
        ),
        (
            Version::FIELD,
            vec![format!("default \"{}\"", Version::default().as_str())],
        ),
        ("endpoint", vec![format!("default \"{DEFAULT_ENDPOINT}\"")]),
    ] {
        for doc in option_docs(&declarations, option) {
            for text in &stated {
                assert!(doc.contains(text), "{option}: {text:?} is not in {doc}");
            }
        }
    }
}

#[test]
fn the_readme_states_the_crates_defaults_and_limits() {
    let readme = read("README.md");
    let row = |option: &str| {
        let start = format!("| `{option}` |");
        readme
            .lines()
            .find(|line| line.starts_with(&start))
            .unwrap_or_else(|| panic!("the README's validation rules lack {option}"))
    };
    let timeout = row(TimeoutMs::FIELD);
    assert!(timeout.contains(&format!("1..={}", TimeoutMs::MAX)));
    assert!(timeout.contains(&format!("default {}", TimeoutMs::default().get())));
    let retries = row(Retries::FIELD);
    assert!(retries.contains(&format!("0..={}", Retries::MAX)));
    assert!(retries.contains(&format!("default {}", Retries::default().get())));
    let refresh = row(RefreshAfter::FIELD);
    assert!(refresh.contains(&format!("<= {}", RefreshAfter::MAX_SECONDS)));
    assert!(refresh.contains(&format!("default {}", RefreshAfter::default().as_seconds())));
    let version = row(Version::FIELD);
    assert!(version.contains(&format!("default `{}`", Version::default().as_str())));
    assert!(readme.contains(&format!("default endpoint is `{DEFAULT_ENDPOINT}`")));
}

#[test]
fn the_declared_options_use_the_crates_field_names() {
    let declarations = declarations();
    for (interface, fields) in [
        (
            "NonceTicketOptions",
            vec![
                AppId::FIELD,
                AccessToken::FIELD,
                UserId::FIELD,
                Version::FIELD,
                TimeoutMs::FIELD,
                Retries::FIELD,
            ],
        ),
        (
            "FaceIdClientSettings",
            vec![
                AppId::FIELD,
                Version::FIELD,
                TimeoutMs::FIELD,
                Retries::FIELD,
                RefreshAfter::FIELD,
            ],
        ),
        (
            "RegisterOrderOptions",
            vec![
                OrderNo::FIELD,
                UserId::FIELD,
                PersonName::FIELD,
                IdNumber::FIELD,
                LiveInterType::FIELD,
            ],
        ),
        (
            "H5LoginUrlOptions",
            vec![
                OrderNo::FIELD,
                FaceId::FIELD,
                UserId::FIELD,
                CallbackUrl::FIELD,
                LoginFrom::FIELD,
                OptimalDomain::FIELD,
            ],
        ),
        ("FaceRecordOptions", vec![OrderNo::FIELD, FileChoice::FIELD]),
    ] {
        let declared = interface_fields(&declarations, interface);
        for field in fields {
            assert!(declared.contains(field), "{interface} lacks {field}");
        }
    }
    assert!(declarations.contains(&format!("{}: string;", Secret::FIELD)));
}

#[test]
fn the_declared_results_have_the_fields_the_crate_returns() {
    let ticket = Ticket {
        value: "t".into(),
        expire_in: 120,
        expire_time: Some("20240101000000".into()),
        transaction_time: Some("20240101000000".into()),
        expires_at: 0.0,
    };
    let record = FaceRecord {
        order_no: "o1".into(),
        passed: true,
        code: "0".into(),
        msg: "m".into(),
        live_rate: Some(99.0),
        similarity: Some(98.0),
        occurred_time: Some("20240101000000".into()),
        photo: Some("cGhvdG8=".into()),
        video: Some("dmlkZW8=".into()),
        sdk_version: Some("1.0.0".into()),
    };
    let results = [
        ("NonceTicket", serialized_fields(&ticket)),
        ("Credential", serialized_fields(&Credential::from(ticket))),
        (
            "SdkSignature",
            serialized_fields(&SdkSignature::new("a", "u", "1.0.0", "n".into(), "t", 0.0)),
        ),
        (
            "RegisteredOrder",
            serialized_fields(&RegisteredOrder {
                order_no: "o1".into(),
                face_id: "f".into(),
                optimal_domain: OptimalDomain::new("kyc1.qcloud.com").unwrap(),
                transaction_time: Some("t".into()),
            }),
        ),
        (
            "H5LoginUrl",
            serialized_fields(&H5LoginUrl {
                url: "https://kyc1.qcloud.com/api/web/login".into(),
                expires_at: 0.0,
            }),
        ),
        (
            "CallbackVerdict",
            serialized_fields(&CallbackVerdict {
                verified: true,
                passed: true,
                order_no: Some("o1".into()),
                code: Some("0".into()),
            }),
        ),
        ("FaceRecord", serialized_fields(&record)),
    ];
    let declarations = declarations();
    for (interface, fields) in results {
        assert_eq!(
            interface_fields(&declarations, interface),
            fields,
            "{interface}"
        );
    }
}
