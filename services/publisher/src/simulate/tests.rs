//! Properties of the generated traffic as a whole, seen (but for `account_db`) through the
//! public API: the shape of every document, the mix of kinds, body sizes, reproducibility.

use std::collections::HashSet;
use std::sync::OnceLock;

use pivotlog_proto::time::{http_date, unix_ms_to_gregorian_s};
use serde_json::{json, Value};

use super::calls::account_db;
use super::{SimulateConfig, Simulator};

/// 2024-03-12T14:24:34Z.
const MARCH_12_MS: i64 = 1_710_253_474_000;
const COMMON: [&str; 10] = [
    "_id",
    "_rev",
    "call_id",
    "iteration",
    "pvt_type",
    "pvt_account_id",
    "pvt_account_db",
    "pvt_created",
    "pvt_modified",
    "pvt_node",
];
const VARIANTS: [(&str, &[&str]); 4] = [
    ("request", &["uri", "method", "req_headers", "req_body"]),
    ("response", &["resp_status_code", "resp_headers", "resp_body"]),
    ("json_error", &["resp_body", "json_errors"]),
    ("schema_error", &["resp_body", "schema_errors"]),
];

fn run(config: SimulateConfig, calls: usize) -> Vec<Vec<Value>> {
    let mut simulator = Simulator::new(config);
    (0..calls)
        .map(|i| simulator.next_call(MARCH_12_MS + i as i64 * 7_000))
        .collect()
}

fn default_sample() -> &'static Vec<Vec<Value>> {
    static SAMPLE: OnceLock<Vec<Vec<Value>>> = OnceLock::new();
    SAMPLE.get_or_init(|| run(SimulateConfig::default(), 2_000))
}

fn kind(doc: &Value) -> &'static str {
    let keys: HashSet<&str> = doc
        .as_object()
        .map(|map| {
            map.keys()
                .map(String::as_str)
                .filter(|key| !COMMON.contains(key) && *key != "pvt_tree")
                .collect()
        })
        .unwrap_or_default();
    VARIANTS
        .iter()
        .find(|(_, fields)| fields.len() == keys.len() && fields.iter().all(|field| keys.contains(field)))
        .map_or("invalid", |(name, _)| *name)
}

fn str_field<'a>(doc: &'a Value, field: &str) -> &'a str {
    doc[field].as_str().unwrap_or_default()
}

fn body_lengths(calls: &[Vec<Value>]) -> Vec<usize> {
    let mut lengths: Vec<usize> = calls
        .iter()
        .flatten()
        .filter(|doc| kind(doc) == "response")
        .map(|doc| str_field(doc, "resp_body").len())
        .collect();
    lengths.sort_unstable();
    lengths
}

fn serialized(calls: &[Vec<Value>]) -> String {
    calls
        .iter()
        .flatten()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn same_seed_gives_identical_bytes() {
    let config = SimulateConfig {
        seed: 7,
        ..SimulateConfig::default()
    };
    assert_eq!(
        serialized(&run(config.clone(), 200)),
        serialized(&run(config, 200))
    );
}

#[test]
fn different_seeds_differ() {
    let a = run(
        SimulateConfig {
            seed: 1,
            ..SimulateConfig::default()
        },
        50,
    );
    let b = run(
        SimulateConfig {
            seed: 2,
            ..SimulateConfig::default()
        },
        50,
    );
    assert_ne!(serialized(&a), serialized(&b));
}

#[test]
fn every_doc_has_common_fields_and_exactly_one_variant() {
    let simulator = Simulator::new(SimulateConfig::default());
    for doc in default_sample().iter().flatten() {
        assert_ne!(kind(doc), "invalid", "{doc}");
        for field in COMMON {
            assert!(doc.get(field).is_some(), "missing {field} in {doc}");
        }
        assert_eq!(doc["pvt_type"], "pivot_debug");
        for field in ["_id", "pvt_account_id"] {
            let value = str_field(doc, field);
            assert!(
                value.len() == 32
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            );
        }
        assert!(str_field(doc, "_rev").starts_with("1-") && str_field(doc, "_rev").len() == 34);
        assert!(doc["iteration"].as_u64().is_some_and(|i| (1..=5).contains(&i)));
        assert_eq!(doc["pvt_created"], doc["pvt_modified"]);
        let ancestors = simulator.ancestors_of(str_field(doc, "pvt_account_id"));
        match doc.get("pvt_tree") {
            Some(tree) => assert_eq!(tree, &json!(ancestors)),
            None => assert!(ancestors.is_empty()),
        }
    }
}

#[test]
fn responses_have_string_status_and_lower_case_headers() {
    for doc in default_sample()
        .iter()
        .flatten()
        .filter(|doc| kind(doc) == "response")
    {
        let status = str_field(doc, "resp_status_code");
        assert!(
            status.len() == 3 && status.bytes().all(|b| b.is_ascii_digit()),
            "{status}"
        );
        let headers = doc["resp_headers"].as_object().expect("headers object");
        assert!(headers.contains_key("content-type"));
        for (name, value) in headers {
            let value = value.as_str().expect("header values are strings");
            assert_eq!(name, &name.to_lowercase());
            assert_eq!(value, value.to_lowercase());
        }
    }
}

#[test]
fn requests_follow_their_method() {
    for doc in default_sample()
        .iter()
        .flatten()
        .filter(|doc| kind(doc) == "request")
    {
        match str_field(doc, "method") {
            "get" => {
                assert_eq!(doc["req_headers"], json!({}));
                assert_eq!(str_field(doc, "req_body"), "");
                assert_eq!(str_field(doc, "uri").matches('?').count(), 1, "{doc}");
            }
            "post" => {
                let content_type = str_field(&doc["req_headers"], "content-type");
                let body = str_field(doc, "req_body");
                if content_type == "application/json" {
                    assert!(serde_json::from_str::<Value>(body).is_ok_and(|v| v.is_object()));
                } else {
                    assert_eq!(content_type, "application/x-www-form-urlencoded");
                    assert!(!body.contains(' ') && !body.contains('@'));
                }
            }
            other => panic!("unexpected method {other}"),
        }
    }
}

#[test]
fn sample_covers_every_kind_format_and_iteration_count() {
    let calls = default_sample();
    let kinds: HashSet<&str> = calls.iter().flatten().map(kind).collect();
    for expected in ["request", "response", "json_error", "schema_error"] {
        assert!(kinds.contains(expected), "no {expected}");
    }
    let timeouts = calls
        .iter()
        .filter(|call| call.last().is_some_and(|doc| kind(doc) == "request"))
        .count();
    assert!(timeouts > 20, "{timeouts} timeouts");
    let payloads: Vec<String> = calls
        .iter()
        .flatten()
        .filter(|doc| kind(doc) == "request")
        .map(|doc| format!("{} {}", str_field(doc, "uri"), str_field(doc, "req_body")))
        .collect();
    assert!(payloads
        .iter()
        .any(|p| p.contains("Api-Version") && p.contains("4.x")));
    assert!(payloads
        .iter()
        .any(|p| p.contains("ApiVersion") && p.contains("2010-04-01")));
    assert!(payloads.iter().any(|p| p.contains("Digits")));
    let max_iterations: HashSet<u64> = calls
        .iter()
        .map(|call| {
            call.iter()
                .filter_map(|d| d["iteration"].as_u64())
                .max()
                .unwrap_or(0)
        })
        .collect();
    assert!(max_iterations.contains(&1) && max_iterations.contains(&5));
    let uuid_ids = calls
        .iter()
        .filter(|call| str_field(&call[0], "call_id").len() == 36)
        .count();
    assert!(uuid_ids > 500 && uuid_ids < 1_500);
    let statuses: HashSet<&str> = calls
        .iter()
        .flatten()
        .map(|doc| str_field(doc, "resp_status_code"))
        .collect();
    for status in ["200", "404", "500", "400", "502", "503"] {
        assert!(statuses.contains(status), "no {status}");
    }
}

#[test]
fn calls_pair_requests_with_responses() {
    for call in default_sample() {
        assert_eq!(kind(&call[0]), "request");
        let call_id = &call[0]["call_id"];
        assert!(call.iter().all(|doc| &doc["call_id"] == call_id));
        for pair in call.windows(2) {
            if kind(&pair[0]) == "request" {
                assert_eq!(kind(&pair[1]), "response");
                assert_eq!(pair[0]["iteration"], pair[1]["iteration"]);
            }
            if matches!(kind(&pair[1]), "json_error" | "schema_error") {
                assert_eq!(kind(&pair[0]), "response");
                assert_eq!(pair[0]["resp_body"], pair[1]["resp_body"]);
            }
        }
    }
}

#[test]
fn median_body_is_near_configured_median() {
    let lengths = body_lengths(default_sample());
    let at = |q: f64| lengths[((lengths.len() - 1) as f64 * q) as usize];
    eprintln!(
        "bodies: n={} p10={} median={} p90={} max={}",
        lengths.len(),
        at(0.1),
        at(0.5),
        at(0.9),
        at(1.0)
    );
    let median = at(0.5) as f64;
    assert!((median - 2048.0).abs() / 2048.0 < 0.3, "median {median}");
    assert!(at(1.0) > 10_000 && at(1.0) <= 70_000);
}

#[test]
fn json_error_halves_rebuild_the_body() {
    let mut messages = HashSet::new();
    for doc in default_sample()
        .iter()
        .flatten()
        .filter(|doc| kind(doc) == "json_error")
    {
        let errors = &doc["json_errors"];
        let rebuilt = format!("{}{}", str_field(errors, "before"), str_field(errors, "after"));
        assert_eq!(rebuilt, str_field(doc, "resp_body"));
        assert!(serde_json::from_str::<Value>(str_field(doc, "resp_body")).is_err());
        messages.insert(str_field(errors, "message").to_owned());
    }
    assert!(messages.contains("invalid JSON") && messages.contains("trailing data"));
}

#[test]
fn json_bodies_stay_valid_json() {
    for call in default_sample() {
        for (i, doc) in call.iter().enumerate() {
            let is_json = str_field(&doc["resp_headers"], "content-type") == "application/json";
            let has_json_error = call.get(i + 1).is_some_and(|next| kind(next) == "json_error");
            if kind(doc) == "response" && is_json && !has_json_error {
                let body = str_field(doc, "resp_body");
                let parsed: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
                assert!(parsed.is_object());
            }
        }
    }
}

#[test]
fn account_db_month_follows_created() {
    let mut simulator = Simulator::new(SimulateConfig::default());
    let call = simulator.next_call(MARCH_12_MS);
    assert_eq!(call[0]["pvt_created"], json!(63_877_472_674_i64));
    for doc in &call {
        let account = str_field(doc, "pvt_account_id");
        let expected = format!(
            "account%2F{}%2F{}%2F{}-202403",
            &account[0..2],
            &account[2..4],
            &account[4..]
        );
        assert_eq!(str_field(doc, "pvt_account_db"), expected);
    }
    let end_of_february = unix_ms_to_gregorian_s(1_709_251_199_000);
    assert!(account_db(&"a".repeat(32), end_of_february).ends_with("-202402"));
    assert!(account_db(&"a".repeat(32), end_of_february + 1).ends_with("-202403"));
}

#[test]
fn created_times_start_at_now_and_move_forward() {
    let mut simulator = Simulator::new(SimulateConfig::default());
    let start = unix_ms_to_gregorian_s(MARCH_12_MS);
    for _ in 0..200 {
        let call = simulator.next_call(MARCH_12_MS);
        let times: Vec<i64> = call
            .iter()
            .filter_map(|doc| doc["pvt_created"].as_i64())
            .collect();
        assert_eq!(times[0], start);
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        assert!(times[times.len() - 1] - start < 60);
    }
}

#[test]
fn date_headers_are_the_created_second_lower_cased() {
    let mut dates = 0;
    for doc in default_sample()
        .iter()
        .flatten()
        .filter(|doc| kind(doc) == "response")
    {
        if let Some(date) = doc["resp_headers"].get("date") {
            let created = doc["pvt_created"].as_i64().expect("pvt_created");
            assert_eq!(date, &json!(http_date(created).to_lowercase()));
            dates += 1;
        }
    }
    assert!(dates > 1_000, "{dates} date headers");
    let march_12 = unix_ms_to_gregorian_s(MARCH_12_MS);
    assert_eq!(
        http_date(march_12).to_lowercase(),
        "tue, 12 mar 2024 14:24:34 gmt"
    );
}

#[test]
fn resellers_and_their_sub_accounts() {
    let simulator = Simulator::new(SimulateConfig::default());
    let ids = simulator.account_ids();
    assert_eq!(ids.len(), 20);
    let with_tree = ids
        .iter()
        .filter(|id| !simulator.ancestors_of(id).is_empty())
        .count();
    assert!(with_tree > 0 && with_tree < ids.len());
    for id in ids {
        assert!(simulator
            .ancestors_of(id)
            .iter()
            .all(|ancestor| ids.contains(ancestor) && ancestor != id));
    }
    assert!(simulator.ancestors_of("unknown").is_empty());
}

#[test]
fn odd_configs_do_not_panic() {
    for (accounts, median_body_bytes) in [(0, 0), (1, 1), (2, 100_000), (0, usize::MAX)] {
        let config = SimulateConfig {
            seed: 3,
            accounts,
            median_body_bytes,
        };
        let mut simulator = Simulator::new(config);
        assert_eq!(simulator.account_ids().len(), accounts.max(1));
        for i in 0..30 {
            assert!(!simulator.next_call(i64::MIN / 2 + i).is_empty());
            assert!(!simulator.next_call(i64::MAX - i).is_empty());
        }
    }
}
