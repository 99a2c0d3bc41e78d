//! Issue: query service. A real `pivotlog query` process on loopback, over an index
//! built by a real indexer from a tansu broker, answers the Crossbar debug API.

mod support;

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

use pivotlog_proto::time::now_unix_ms;
use serde_json::{json, Value};
use support::*;

const FIXTURE_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/kazoo-pivot-debug-sample.ndjson"
);
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");
const FIXTURE_ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const OTHER_ACCOUNT: &str = "9a8b7c6d5e4f40312a1b2c3d4e5f6a7b";
/// The fixture's time window (Gregorian seconds), inside Crossbar's maximum range.
const FIXTURE_RANGE: &str = "created_from=63877400000&created_to=63877480000";

fn now_s() -> i64 {
    now_unix_ms() / 1000
}

fn jwt(claims: Value, key_file: &str) -> String {
    let pem = std::fs::read(Path::new(KEYS).join(key_file)).unwrap();
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap();
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256),
        &claims,
        &key,
    )
    .unwrap()
}

fn unsigned_jwt(claims: Value) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{}.", URL_SAFE_NO_PAD.encode(claims.to_string()))
}

/// Broker, indexer and query processes over the fixture and simulated traffic.
struct Stack {
    broker: Broker,
    _indexer: Process,
    _query: Process,
    _data: tempfile::TempDir,
    api: Api,
    /// (reseller, sub-account) from the simulated traffic.
    reseller: (String, String),
    simulated_accounts: Vec<String>,
}

fn start_stack(simulated_records: u64) -> Stack {
    let broker = Broker::start();
    let topic = "pivot-debug";
    broker.create_topic(topic, 2);
    let data = tempfile::tempdir().unwrap();
    let mut publish = pivotlog(&broker, topic);
    publish.args(["publish", FIXTURE_PATH]);
    run_ok(publish);

    // Simulated calls an hour ago, so they fall in the default time window.
    let start_ms = an_hour_ago_unix_ms();
    let sim_args = [
        "--count",
        &simulated_records.to_string(),
        "--seed",
        "11",
        "--start-unix-ms",
        &start_ms,
        "--accounts",
        "6",
    ];
    let docs = simulate(&broker, topic, &sim_args);
    let simulated_accounts: BTreeSet<String> = docs
        .iter()
        .map(|d| d["pvt_account_id"].as_str().unwrap().to_owned())
        .collect();
    let reseller = docs
        .iter()
        .find_map(|d| {
            let tree = d.get("pvt_tree")?.as_array()?;
            Some((
                tree.last()?.as_str()?.to_owned(),
                d["pvt_account_id"].as_str()?.to_owned(),
            ))
        })
        .expect("the simulator makes sub-accounts");
    let total = docs.len() + FIXTURE_LINES;

    let mut indexer = pivotlog(&broker, topic);
    indexer
        .args(["indexer", "--commit-interval-ms", "200", "--data-dir"])
        .arg(data.path());
    let indexer = Process::spawn(indexer);
    let index = open_index(data.path());
    wait_until("everything indexed", Duration::from_secs(120), || {
        indexed(&index) >= total
    });

    let tokens = json!({
        "tok-fixture": {"account_id": FIXTURE_ACCOUNT},
        "tok-other": {"account_id": OTHER_ACCOUNT},
        "tok-admin": {"account_id": "00000000000000000000000000000000", "superduper_admin": true},
        "tok-reseller": {"account_id": reseller.0, "descendants": true},
        "tok-reseller-no-descendants": {"account_id": reseller.0, "descendants": false},
    });
    let (mut query, api) = query_command(&broker, topic, data.path(), &tokens);
    query
        .arg("--jwt-public-key")
        .arg(Path::new(KEYS).join("jwt-test-public.pem"));
    let query = Process::spawn(query);
    api.wait_ready();
    Stack {
        broker,
        _indexer: indexer,
        _query: query,
        _data: data,
        api,
        reseller,
        simulated_accounts: simulated_accounts.into_iter().collect(),
    }
}

const FIXTURE_LINES: usize = 15;

fn fixture_docs() -> Vec<Value> {
    std::fs::read_to_string(FIXTURE_PATH)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What the detail endpoint must return for a stored Kazoo document.
fn expected_detail_item(doc: &Value, debug_id: &str) -> Value {
    let mut item: serde_json::Map<String, Value> = doc
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| !k.starts_with("pvt_") && *k != "_id" && *k != "_rev")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    item.insert("id".into(), doc["_id"].clone());
    item.insert("created".into(), doc["pvt_created"].clone());
    item.insert("node".into(), doc["pvt_node"].clone());
    item.insert("debug_id".into(), debug_id.into());
    // Responses and error records carry their error signature, from the record alone.
    let event = pivotlog_proto::kazoo::event_from_doc(doc).unwrap();
    if let Some(signature) = event
        .record
        .as_ref()
        .and_then(pivotlog_index::search::signature_of)
    {
        item.insert(
            "signature".into(),
            pivotlog_index::signature::format_id(signature).into(),
        );
    }
    Value::Object(item)
}

#[test]
fn crossbar_debug_api_end_to_end() {
    let stack = start_stack(600);
    let api = &stack.api;
    let docs = fixture_docs();
    let fixture_calls: Vec<&Value> = docs
        .iter()
        .filter(|d| d["pvt_account_id"] == FIXTURE_ACCOUNT)
        .collect();

    // Listing: one item per call, merged from the first iteration, newest first.
    let listing = api.get(
        &format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug?{FIXTURE_RANGE}"),
        Some("tok-fixture"),
    );
    assert_eq!(listing.status, 200, "{}", listing.body);
    assert_eq!(listing.body["status"], "success");
    let items = listing.body["data"].as_array().unwrap();
    let call_ids: BTreeSet<&str> = fixture_calls
        .iter()
        .map(|d| d["call_id"].as_str().unwrap())
        .collect();
    assert_eq!(items.len(), call_ids.len());
    assert_eq!(listing.body["page_size"], call_ids.len());
    let created: Vec<i64> = items.iter().map(|i| i["created"].as_i64().unwrap()).collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {created:?}"
    );
    for item in items {
        let call_id = item["call_id"].as_str().unwrap();
        let records: Vec<&&Value> = fixture_calls.iter().filter(|d| d["call_id"] == call_id).collect();
        let first_created = records
            .iter()
            .map(|d| d["pvt_created"].as_i64().unwrap())
            .min()
            .unwrap();
        assert_eq!(item["created"], first_created);
        assert_eq!(item["iteration"], 1);
        assert_eq!(item["node"], "kazoo_apps@apps001.example.com");
        let first_request = records
            .iter()
            .find(|d| d["iteration"] == 1 && d.get("uri").is_some())
            .unwrap();
        assert_eq!(item["uri"], first_request["uri"]);
        match records
            .iter()
            .find(|d| d["iteration"] == 1 && d.get("resp_status_code").is_some())
        {
            Some(response) => assert_eq!(item["status_code"], response["resp_status_code"]),
            None => assert!(item.get("status_code").is_none()),
        }
        assert_eq!(
            item["has_json_errors"],
            records.iter().any(|d| d.get("json_errors").is_some())
        );
        assert_eq!(
            item["has_schema_errors"],
            records.iter().any(|d| d.get("schema_errors").is_some())
        );
        assert_eq!(item["debug_id"], format!("202403-{call_id}"));
        assert_eq!(item["records"], records.len());
        assert_eq!(
            item["iterations"],
            records
                .iter()
                .map(|d| d["iteration"].as_u64().unwrap())
                .max()
                .unwrap()
        );
    }

    // Detail: every field of every record, both {ID} forms, chronological.
    for call_id in &call_ids {
        let encoded: String = form_urlencoded::byte_serialize(call_id.as_bytes()).collect();
        let by_call = api.get(
            &format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug/{encoded}"),
            Some("tok-fixture"),
        );
        let by_debug_id = api.get(
            &format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug/202403-{encoded}"),
            Some("tok-fixture"),
        );
        assert_eq!(by_call.status, 200);
        assert_eq!(
            by_call.body["data"], by_debug_id.body["data"],
            "both forms agree for {call_id}"
        );
        let mut expected: Vec<&&Value> = fixture_calls
            .iter()
            .filter(|d| d["call_id"] == *call_id)
            .collect();
        expected.sort_by_key(|d| (d["pvt_created"].as_i64(), d["iteration"].as_i64(), kind_rank(d)));
        let expected: Vec<Value> = expected
            .iter()
            .map(|d| expected_detail_item(d, &format!("202403-{call_id}")))
            .collect();
        assert_eq!(
            by_call.body["data"],
            Value::Array(expected),
            "records of {call_id}"
        );
    }
    let sip_call = api.get(
        &format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug/829597750%4010.26.0.158"),
        Some("tok-fixture"),
    );
    assert_eq!(sip_call.body["data"].as_array().unwrap().len(), 4);
    let reversed = api.get(
        &format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug/829597750%4010.26.0.158?ascending=false"),
        Some("tok-fixture"),
    );
    let mut newest_first = sip_call.body["data"].as_array().unwrap().clone();
    newest_first.reverse();
    assert_eq!(reversed.body["data"], Value::Array(newest_first));
    // Detail paging.
    let page1 = api.get(
        &format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug/829597750%4010.26.0.158?page_size=3"),
        Some("tok-fixture"),
    );
    assert_eq!(page1.body["data"].as_array().unwrap().len(), 3);
    let next = page1.body["next_start_key"].as_str().unwrap();
    let page2 = api.get(
        &format!(
            "/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug/829597750%4010.26.0.158?page_size=3&start_key={next}"
        ),
        Some("tok-fixture"),
    );
    assert_eq!(page2.body["data"].as_array().unwrap().len(), 1);
    assert!(page2.body.get("next_start_key").is_none());

    // Unknown call: 200 with empty data, as Kazoo.
    let unknown = api.get(
        &format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug/no-such-call"),
        Some("tok-fixture"),
    );
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.body["data"], json!([]));
    assert_eq!(unknown.body["page_size"], 0);
    assert!(unknown.body.get("revision").is_none());

    // Envelope conventions.
    let echoed = api.request(
        "GET",
        &format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug?{FIXTURE_RANGE}"),
        Some("tok-fixture"),
        &[("X-Request-ID", "req-123")],
    );
    assert_eq!(echoed.body["request_id"], "req-123");
    assert_eq!(echoed.headers["x-request-id"], "req-123");
    assert_eq!(echoed.body["auth_token"], "tok-fixture");
    assert!(echoed.body["revision"].is_string() && echoed.body["timestamp"].is_string());
    let unpaged = api.get(
        &format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug?{FIXTURE_RANGE}&paginate=false"),
        Some("tok-fixture"),
    );
    assert!(unpaged.body.get("page_size").is_none() && unpaged.body.get("next_start_key").is_none());
    assert_eq!(unpaged.body["data"].as_array().unwrap().len(), call_ids.len());

    // Errors: envelope, codes, date ranges, never a 500.
    let cases: Vec<(String, &str, u16, &str)> = vec![
        (
            format!(
                "/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug?created_from=63877480000&created_to=63877400000"
            ),
            "GET",
            400,
            "validation error",
        ),
        (
            format!(
                "/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug?created_from=63800000000&created_to=63877480000"
            ),
            "GET",
            400,
            "validation error",
        ),
        (
            format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug?page_size=abc"),
            "GET",
            400,
            "validation error",
        ),
        (
            format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug?start_key=garbage"),
            "GET",
            400,
            "validation error",
        ),
        (
            format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug/x?page_size=0"),
            "GET",
            400,
            "validation error",
        ),
        (
            format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug/%FF%FE"),
            "GET",
            400,
            "validation error",
        ),
        (
            "/v2/accounts/not-an-account/pivot/debug".into(),
            "GET",
            400,
            "validation error",
        ),
        (
            format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug"),
            "POST",
            405,
            "invalid_method",
        ),
        (
            format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug/x"),
            "DELETE",
            405,
            "invalid_method",
        ),
        (
            format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot"),
            "GET",
            404,
            "not found",
        ),
        ("/nope".into(), "GET", 404, "not found"),
    ];
    for (path, method, status, message) in cases {
        let reply = api.request(method, &path, Some("tok-fixture"), &[]);
        assert_eq!(reply.status, status, "{method} {path}: {}", reply.body);
        assert_eq!(reply.body["status"], "error");
        assert_eq!(reply.body["error"], status.to_string());
        assert_eq!(reply.body["message"], message, "{path}");
        assert!(reply.body["request_id"].is_string());
    }
    let range = api.get(
        &format!(
            "/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug?created_from=63877480000&created_to=63877400000"
        ),
        Some("tok-fixture"),
    );
    assert_eq!(
        range.body["data"]["created_from"]["date_range"]["message"],
        "created_to 63877400000 is prior to created_from 63877480000"
    );

    // The auth matrix, on both endpoints.
    let (reseller, sub_account) = stack.reseller.clone();
    let outsider = stack
        .simulated_accounts
        .iter()
        .find(|a| **a != sub_account && **a != reseller)
        .unwrap()
        .clone();
    let valid_jwt = jwt(
        json!({"account_id": FIXTURE_ACCOUNT, "exp": now_s() + 600}),
        "jwt-test-private.pem",
    );
    let expired_jwt = jwt(
        json!({"account_id": FIXTURE_ACCOUNT, "exp": now_s() - 3600}),
        "jwt-test-private.pem",
    );
    let foreign_jwt = jwt(
        json!({"account_id": FIXTURE_ACCOUNT, "exp": now_s() + 600}),
        "jwt-other-private.pem",
    );
    let none_jwt = unsigned_jwt(json!({"account_id": FIXTURE_ACCOUNT, "exp": now_s() + 600}));
    let public_pem = std::fs::read(Path::new(KEYS).join("jwt-test-public.pem")).unwrap();
    let hs256_confusion = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"account_id": FIXTURE_ACCOUNT, "exp": now_s() + 600}),
        &jsonwebtoken::EncodingKey::from_secret(&public_pem),
    )
    .unwrap();
    let matrix: Vec<(Option<&str>, &str, u16)> = vec![
        (None, FIXTURE_ACCOUNT, 401),
        (Some("wrong-token"), FIXTURE_ACCOUNT, 401),
        (Some(&expired_jwt), FIXTURE_ACCOUNT, 401),
        (Some(&none_jwt), FIXTURE_ACCOUNT, 401),
        (Some(&foreign_jwt), FIXTURE_ACCOUNT, 401),
        (Some(&hs256_confusion), FIXTURE_ACCOUNT, 401),
        (Some(&valid_jwt), FIXTURE_ACCOUNT, 200),
        (Some(&valid_jwt), OTHER_ACCOUNT, 403),
        (Some("tok-other"), FIXTURE_ACCOUNT, 403),
        (Some("tok-other"), OTHER_ACCOUNT, 200),
        (Some("tok-admin"), FIXTURE_ACCOUNT, 200),
        (Some("tok-admin"), OTHER_ACCOUNT, 200),
        (Some("tok-reseller"), &sub_account, 200),
        (Some("tok-reseller"), &outsider, 403),
        (Some("tok-reseller"), FIXTURE_ACCOUNT, 403),
        (Some("tok-reseller-no-descendants"), &sub_account, 403),
    ];
    for (token, account, status) in matrix {
        for path in [
            format!("/v2/accounts/{account}/pivot/debug?{FIXTURE_RANGE}"),
            format!("/v2/accounts/{account}/pivot/debug/829597750%4010.26.0.158"),
        ] {
            let reply = api.get(&path, token);
            assert_eq!(reply.status, status, "token {token:?} on {path}: {}", reply.body);
            if status != 200 {
                assert_eq!(reply.body["status"], "error");
                assert!(
                    !reply.body.to_string().contains("kazoo_apps"),
                    "an error leaks data: {}",
                    reply.body
                );
            }
        }
    }
    let via_query = api.get(
        &format!("/v2/accounts/{FIXTURE_ACCOUNT}/pivot/debug?{FIXTURE_RANGE}&auth_token=tok-fixture"),
        None,
    );
    assert_eq!(via_query.status, 200);
    // A sub-account's data is its own: the reseller's token reads it, and only it.
    let sub = api.get(
        &format!("/v2/accounts/{sub_account}/pivot/debug"),
        Some("tok-reseller"),
    );
    assert!(!sub.body["data"].as_array().unwrap().is_empty());
    drop(stack.broker);
}

fn kind_rank(doc: &Value) -> u8 {
    if doc.get("uri").is_some() {
        0
    } else if doc.get("resp_status_code").is_some() {
        1
    } else if doc.get("json_errors").is_some() {
        2
    } else {
        3
    }
}
