//! Issue: search. Records go the real way (publish and simulate → tansu → indexer →
//! on-disk index) and a real `pivotlog query` process answers
//! `/v2/accounts/{ACCOUNT_ID}/pivot/search[/stats]` over loopback.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde_json::{json, Value};
use support::*;

const CORPUS_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/search-corpus.ndjson"
);
const SAMPLE_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/kazoo-pivot-debug-sample.ndjson"
);
const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const OTHER: &str = "0badc0de0badc0de0badc0de0badc0de";
/// Covers the corpus and the Kazoo sample (Gregorian seconds).
const CORPUS_RANGE: &str = "created_from=63877470000&created_to=63877489999";
/// Covers the corpus only (the sample has an ECONNREFUSED of its own).
const CORPUS_ONLY: &str = "created_from=63877479000&created_to=63877481000";

struct Stack {
    _broker: Broker,
    _indexer: Process,
    _query: Process,
    data: tempfile::TempDir,
    api: Api,
    /// Kazoo documents of the simulated traffic, and the account the test reads.
    simulated: Vec<Value>,
    simulated_account: String,
}

fn lines(path: &str) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn start() -> Stack {
    let broker = Broker::start();
    let topic = "pivot-debug";
    broker.create_topic(topic, 2);
    for path in [CORPUS_PATH, SAMPLE_PATH] {
        let mut publish = pivotlog(&broker, topic);
        publish.args(["publish", path]);
        run_ok(publish);
    }
    let start_ms = an_hour_ago_unix_ms();
    let sim_args = [
        "--count",
        "800",
        "--seed",
        "23",
        "--start-unix-ms",
        &start_ms,
        "--accounts",
        "3",
    ];
    let simulated = simulate(&broker, topic, &sim_args);
    let simulated_account = simulated[0]["pvt_account_id"].as_str().unwrap().to_owned();
    let total = simulated.len() + lines(CORPUS_PATH).len() + lines(SAMPLE_PATH).len();

    let data = tempfile::tempdir().unwrap();
    let indexer = start_indexer(&broker, topic, data.path(), 200);
    let index = open_index(data.path());
    wait_until("everything indexed", Duration::from_secs(120), || {
        indexed(&index) >= total
    });
    assert_eq!(indexed(&index), total);

    let tokens = json!({
        "tok-a": {"account_id": ACCOUNT},
        "tok-b": {"account_id": OTHER},
        "tok-sim": {"account_id": simulated_account},
    });
    let (mut query, api) = query_command(&broker, topic, data.path(), &tokens);
    query.env("RUST_LOG", "debug");
    let query = Process::spawn_logging(query, &data.path().join("query.log"));
    api.wait_ready();
    Stack {
        _broker: broker,
        _indexer: indexer,
        _query: query,
        data,
        api,
        simulated,
        simulated_account,
    }
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn search_path(account: &str, q: &str, extra: &str) -> String {
    format!("/v2/accounts/{account}/pivot/search?q={}&{extra}", encode(q))
}

/// The call ids (without host) of a search over the corpus, and its total.
fn corpus_calls(api: &Api, q: &str) -> (BTreeSet<String>, u64) {
    let reply = api.get(&search_path(ACCOUNT, q, CORPUS_ONLY), Some("tok-a"));
    assert_eq!(reply.status, 200, "{q}: {}", reply.body);
    let hits = reply.body["data"].as_array().unwrap();
    let calls = hits
        .iter()
        .map(|hit| {
            hit["call_id"]
                .as_str()
                .unwrap()
                .split('@')
                .next()
                .unwrap()
                .to_owned()
        })
        .collect();
    (calls, reply.body["total_hits"].as_u64().unwrap())
}

#[test]
fn search_end_to_end() {
    let stack = start();
    let api = &stack.api;

    // The example strings, found through HTTP as a whole and by their parts.
    let cases: &[(&str, &[&str], u64)] = &[
        ("ECONNREFUSED", &["econn"], 1),
        ("\"10.0.0.5:5432\"", &["econn"], 1),
        ("psycopg2.OperationalError", &["psyco"], 1),
        ("NullPointerException", &["npe"], 1),
        ("java.lang.NullPointerException", &["npe"], 1),
        ("\"SIP/2.0 486 Busy Here\"", &["busy"], 1),
        (r#""\"error\":\"invalid_number\"""#, &["invalid"], 1),
        ("\"404 Not Found\"", &["notfound"], 1),
        ("uri:\"/pivot/missing/route\"", &["notfound"], 2),
        ("status_code:[500 TO 599] AND psycopg2", &["psyco"], 1),
    ];
    for (q, calls, total) in cases {
        let (found, hits) = corpus_calls(api, q);
        let expected: BTreeSet<String> = calls.iter().map(|c| c.to_string()).collect();
        assert_eq!((found, hits), (expected, *total), "{q}");
    }

    // A hit says what it is, with the match highlighted as asked.
    let reply = api.get(
        &search_path(
            ACCOUNT,
            "psycopg2",
            &format!("{CORPUS_RANGE}&highlight_pre=%5B%5B&highlight_post=%5D%5D"),
        ),
        Some("tok-a"),
    );
    let hit = &reply.body["data"][0];
    assert_eq!(hit["kind"], "response");
    assert_eq!(hit["status_code"], "500");
    assert_eq!(hit["iteration"], 1);
    assert_eq!(hit["method"], "get");
    assert!(hit["uri"].as_str().unwrap().contains("Call-ID=psyco"));
    assert!(hit["debug_id"].as_str().unwrap().ends_with("-psyco@10.0.0.1"));
    assert_eq!(hit["body_truncated"], false);
    let snippet = hit["snippet"].as_str().unwrap();
    assert!(
        snippet.contains("&lt;pre&gt;[[psycopg2]].OperationalError"),
        "{snippet}"
    );
    // The detail endpoint knows the hit's debug_id.
    let detail = api.get(
        &format!(
            "/v2/accounts/{ACCOUNT}/pivot/debug/{}",
            hit["debug_id"].as_str().unwrap()
        ),
        Some("tok-a"),
    );
    assert_eq!(detail.status, 200);
    assert_eq!(detail.body["data"].as_array().unwrap().len(), 2);

    paging_covers_every_hit_once(api);
    simulated_traffic_counts_are_exact(&stack);
    accounts_stay_apart(api);
    hostile_queries_are_refused_or_harmless(api);
    bad_parameters_are_400s(api);
    tokens_are_never_logged(&stack);
}

/// The query service logs at debug level through every request above; no token, valid
/// or not, in a header or in the URL, may appear in its log.
fn tokens_are_never_logged(stack: &Stack) {
    let api = &stack.api;
    let secret = "tok-never-valid-7f3a9c";
    assert_eq!(api.get(&search_path(ACCOUNT, "*", ""), Some(secret)).status, 401);
    let in_url = format!("{}&auth_token=tok-a", search_path(ACCOUNT, "*", CORPUS_ONLY));
    assert_eq!(api.get(&in_url, None).status, 200);
    let log = std::fs::read_to_string(stack.data.path().join("query.log")).unwrap();
    for token in ["tok-a", "tok-b", "tok-sim", secret] {
        assert!(!log.contains(token), "the log holds the token {token}");
    }
}

fn paging_covers_every_hit_once(api: &Api) {
    let corpus_a = [lines(CORPUS_PATH), lines(SAMPLE_PATH)]
        .concat()
        .iter()
        .filter(|doc| doc["pvt_account_id"] == ACCOUNT)
        .count();
    for sort in ["newest", "oldest", "relevance"] {
        let mut ids = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let key = next
                .as_ref()
                .map(|k| format!("&start_key={k}"))
                .unwrap_or_default();
            let reply = api.get(
                &search_path(
                    ACCOUNT,
                    "*",
                    &format!("{CORPUS_RANGE}&page_size=4&sort={sort}{key}"),
                ),
                Some("tok-a"),
            );
            assert_eq!(reply.status, 200, "{}", reply.body);
            assert_eq!(reply.body["total_hits"].as_u64(), Some(corpus_a as u64));
            let data = reply.body["data"].as_array().unwrap();
            ids.extend(data.iter().map(|hit| hit["id"].as_str().unwrap().to_owned()));
            if sort == "relevance" {
                assert!(data.iter().all(|hit| hit["score"].is_number()));
            }
            match reply.body["next_start_key"].as_str() {
                Some(key) => next = Some(key.to_owned()),
                None => break,
            }
        }
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!((ids.len(), unique.len()), (corpus_a, corpus_a), "{sort}");
    }
}

/// Expected counts computed from the simulator's own documents.
fn simulated_traffic_counts_are_exact(stack: &Stack) {
    let api = &stack.api;
    let account = &stack.simulated_account;
    let docs: Vec<&Value> = stack
        .simulated
        .iter()
        .filter(|doc| doc["pvt_account_id"] == account.as_str())
        .collect();
    let mut by_status: BTreeMap<String, u64> = BTreeMap::new();
    for doc in &docs {
        let status = match doc.get("resp_status_code") {
            Some(code) if doc.get("json_errors").is_none() && doc.get("schema_errors").is_none() => {
                code.as_str().map_or_else(|| code.to_string(), str::to_owned)
            }
            _ => "none".to_owned(),
        };
        *by_status.entry(status).or_default() += 1;
    }
    // The simulated window, padded, in Gregorian seconds (10m buckets over the default
    // 31 days would be more than the 1,000 allowed).
    let times: Vec<i64> = docs
        .iter()
        .map(|doc| doc["pvt_created"].as_i64().unwrap())
        .collect();
    let window = format!(
        "created_from={}&created_to={}",
        times.iter().min().unwrap() - 600,
        times.iter().max().unwrap() + 600
    );
    let reply = api.get(
        &format!("/v2/accounts/{account}/pivot/search/stats?q=*&interval=10m&{window}"),
        Some("tok-sim"),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let data = &reply.body["data"];
    assert_eq!(data["total_hits"].as_u64(), Some(docs.len() as u64));
    assert_eq!(reply.body["total_hits"].as_u64(), Some(docs.len() as u64));
    let reported: BTreeMap<String, u64> = data["status_codes"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(status, count)| (status.clone(), count.as_u64().unwrap()))
        .collect();
    assert_eq!(reported, by_status);
    let buckets = data["histogram"]["buckets"].as_array().unwrap();
    let bucket_sum: u64 = buckets.iter().map(|b| b["count"].as_u64().unwrap()).sum();
    assert_eq!(bucket_sum, docs.len() as u64);
    assert_eq!(data["histogram"]["interval_s"], 600);

    // "Every 5xx whose body mentions ECONNREFUSED", against a substring oracle.
    let mentions = |doc: &&&Value| {
        doc["resp_body"]
            .as_str()
            .is_some_and(|body| body.to_ascii_lowercase().contains("econnrefused"))
    };
    let five_xx = |doc: &&&Value| {
        doc.get("json_errors").is_none()
            && doc.get("schema_errors").is_none()
            && doc["resp_status_code"]
                .as_str()
                .is_some_and(|code| code.starts_with('5'))
    };
    let expected = docs.iter().filter(mentions).filter(five_xx).count() as u64;
    assert!(expected > 0, "the simulator makes ECONNREFUSED 5xx answers");
    let q = "ECONNREFUSED AND status_code:[500 TO 599]";
    let reply = api.get(&search_path(account, q, "page_size=1000"), Some("tok-sim"));
    assert_eq!(reply.body["total_hits"].as_u64(), Some(expected), "{q}");
    assert_eq!(reply.body["data"].as_array().unwrap().len() as u64, expected);
    let stats = api.get(
        &format!(
            "/v2/accounts/{account}/pivot/search/stats?q={}&interval=1h",
            encode(q)
        ),
        Some("tok-sim"),
    );
    assert_eq!(stats.body["data"]["total_hits"].as_u64(), Some(expected));
    let statuses = stats.body["data"]["status_codes"].as_object().unwrap();
    assert!(statuses.keys().all(|code| code.starts_with('5')), "{statuses:?}");
    let all = docs.iter().filter(mentions).count() as u64;
    let reply = api.get(
        &search_path(account, "econnrefused", "page_size=1"),
        Some("tok-sim"),
    );
    assert_eq!(reply.body["total_hits"].as_u64(), Some(all));
}

fn accounts_stay_apart(api: &Api) {
    for path in [
        search_path(ACCOUNT, "*", CORPUS_RANGE),
        format!("/v2/accounts/{ACCOUNT}/pivot/search/stats?q=*&{CORPUS_RANGE}"),
    ] {
        let reply = api.get(&path, Some("tok-b"));
        assert_eq!(reply.status, 403, "{path}: {}", reply.body);
        assert_eq!(api.get(&path, None).status, 401);
        assert_eq!(api.get(&path, Some("tok-a")).status, 200);
    }
    let (calls, _) = corpus_calls(api, "*");
    assert!(calls.iter().all(|call| !call.starts_with("other-")), "{calls:?}");
}

/// Each answers 400 with the parser's message, or 200 with the account's own records.
fn hostile_queries_are_refused_or_harmless(api: &Api) {
    let deep = "(".repeat(5000);
    let long = "a".repeat(5000);
    let many_terms: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
    let many_ors = many_terms.join(" OR ");
    let many_terms = many_terms.join(" ");
    let nested_ors = format!("{}x{}", "(a OR ".repeat(8), ")".repeat(8));
    let too_nested = format!("{}x{}", "(a OR ".repeat(9), ")".repeat(9));
    let hostile: Vec<&str> = vec![
        "account_id:0badc0de0badc0de0badc0de0badc0de",
        "* OR account_id:0badc0de0badc0de0badc0de0badc0de",
        "*",
        "-*",
        "(*)",
        "doc_type:call",
        "summary_key:*",
        "event_id:*",
        "payload:AAAA",
        "ancestor_id:ffffffffffffffffffffffffffffffff",
        "created:[0 TO *]",
        "call_id:\"other-0@10.9.9.9\"",
        "(",
        ")",
        "\"unterminated",
        "status_code:[500 TO",
        "status_code:abc",
        "status_code:99999999999999999999999",
        "iteration:-1",
        "body:/.*/",
        "\\",
        "\u{0}",
        "NOT",
        "AND",
        "+",
        ":",
        "body:",
        ":foo",
        "^2",
        "foo^abc",
        "\"a b\"~99999999999",
        "econn*",
        "status_code:IN [",
        "kind:",
        "\u{202e}ECONNREFUSED",
        "%FF%FE",
        &deep,
        &long,
        &many_terms,
        &many_ors,
        &nested_ors,
        &too_nested,
    ];
    assert!(hostile.len() >= 30);
    for q in hostile {
        let reply = api.get(&search_path(ACCOUNT, q, CORPUS_RANGE), Some("tok-a"));
        let shown: String = q.chars().take(40).collect();
        match reply.status {
            200 => {
                for hit in reply.body["data"].as_array().unwrap() {
                    let call = hit["call_id"].as_str().unwrap();
                    assert!(!call.starts_with("other-"), "{shown}: leaked {call}");
                }
            }
            400 => {
                assert_eq!(reply.body["status"], "error", "{shown}");
                assert_eq!(reply.body["message"], "validation error", "{shown}");
                let syntax = &reply.body["data"]["q"]["syntax"];
                assert!(syntax["message"].is_string(), "{shown}: {}", reply.body);
            }
            other => panic!("{shown}: {other} {}", reply.body),
        }
        // The raw bytes too, not only what the URL encoder makes of them.
        let raw = api.get(
            &format!(
                "/v2/accounts/{ACCOUNT}/pivot/search/stats?q={}&interval=1d&{CORPUS_RANGE}",
                encode(q)
            ),
            Some("tok-a"),
        );
        assert!(matches!(raw.status, 200 | 400), "{shown}: {}", raw.body);
        if raw.status == 200 {
            assert!(raw.body["data"]["total_hits"].as_u64().unwrap() <= 40);
        }
    }
    // The position of the error points into the query.
    let reply = api.get(&search_path(ACCOUNT, "error account_id:x", ""), Some("tok-a"));
    assert_eq!(reply.body["data"]["q"]["syntax"]["position"], 6);
}

fn bad_parameters_are_400s(api: &Api) {
    let search = format!("/v2/accounts/{ACCOUNT}/pivot/search");
    let stats = format!("{search}/stats");
    let cases = [
        (search.clone(), "q"),
        (format!("{search}?q="), "q"),
        (format!("{search}?q=a&page_size=0"), "page_size"),
        (format!("{search}?q=a&page_size=1001"), "page_size"),
        (format!("{search}?q=a&sort=random"), "sort"),
        (format!("{search}?q=a&sort=newest&ascending=true"), "sort"),
        (format!("{search}?q=a&paginate=false"), "paginate"),
        (format!("{search}?q=a&start_key=garbage"), "start_key"),
        (format!("{search}?q=a&snippet_chars=5000"), "snippet_chars"),
        (
            format!("{search}?q=a&highlight_pre={}", "x".repeat(65)),
            "highlight_pre",
        ),
        (format!("{search}?q=a&q=b"), "q"),
        (format!("{search}?q=a&created_from=abc"), "created_from"),
        (format!("{stats}?q=a&interval=1w"), "interval"),
        (format!("{stats}?q=a&interval=0s"), "interval"),
        (format!("{stats}?q=a&interval=1s"), "interval"),
    ];
    for (path, parameter) in cases {
        let reply = api.get(&path, Some("tok-a"));
        assert_eq!(reply.status, 400, "{path}: {}", reply.body);
        assert!(
            reply.body["data"].get(parameter).is_some(),
            "{path}: {}",
            reply.body
        );
    }
    // Relevance pages stop at the result window.
    let key = {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"o":9990}"#)
    };
    let reply = api.get(
        &format!("{search}?q=a&sort=relevance&page_size=50&start_key={key}"),
        Some("tok-a"),
    );
    assert_eq!(reply.status, 400, "{}", reply.body);
    assert!(reply.body["data"]["start_key"]["result_window"].is_object());
}
