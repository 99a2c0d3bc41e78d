//! Issue 8, logs: a real `pivotlog query` whose stderr is a file (not a terminal) logs
//! one JSON object per line, and one line per API request at completion, in a span
//! carrying the request id the response's `X-Request-ID` and envelope show.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use support::*;

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const DEBUG_ROUTE: &str = "/v2/accounts/{account_id}/pivot/debug";

/// `pivotlog query` over an empty index in `dir`, logging at info level to `log`.
fn start_query(dir: &Path, log: &Path) -> (Process, Api) {
    drop(pivotlog_index::PivotIndex::open_or_create(dir).unwrap());
    let tokens = dir.join("tokens.json");
    std::fs::write(&tokens, json!({"tok-logs": {"account_id": ACCOUNT}}).to_string()).unwrap();
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_pivotlog"));
    command
        .args(["query", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .arg("--auth-tokens")
        .arg(&tokens)
        .env("RUST_LOG", "info")
        .env_remove("PIVOTLOG_LOG")
        .env_remove("PIVOTLOG_LOG_FORMAT");
    let process = Process::spawn_logging(command, log);
    let api = Api {
        base: format!("http://127.0.0.1:{port}"),
    };
    api.wait_ready();
    (process, api)
}

/// Every line of `log`, each of which must be a JSON object.
fn json_lines(log: &Path) -> Vec<Value> {
    std::fs::read_to_string(log)
        .unwrap()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|err| panic!("not a JSON line ({err}): {line}"))
        })
        .collect()
}

/// The completion line of the request `request_id`, once it is written.
fn completion_line(log: &Path, request_id: &str) -> Value {
    let mut found = None;
    wait_until(
        &format!("the log line of request {request_id}"),
        Duration::from_secs(10),
        || {
            found = json_lines(log).into_iter().find(|line| {
                line["message"] == "request answered" && line["span"]["request_id"] == request_id
            });
            found.is_some()
        },
    );
    found.unwrap()
}

#[test]
fn every_request_is_logged_once_as_json_with_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("query.log");
    let (_query, api) = start_query(dir.path(), &log);
    let listing = format!("/v2/accounts/{ACCOUNT}/pivot/debug");

    // The client's id: echoed in the header and the envelope, and logged.
    let reply = api.request(
        "GET",
        &listing,
        Some("tok-logs"),
        &[("X-Request-ID", "test-req-123")],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.headers["x-request-id"], "test-req-123");
    assert_eq!(reply.body["request_id"], "test-req-123");
    let line = completion_line(&log, "test-req-123");
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["method"], "GET");
    assert_eq!(line["route"], DEBUG_ROUTE, "the template, not the path: {line}");
    assert_eq!(line["status"], 200);
    assert!(line["latency_ms"].as_f64().is_some_and(|ms| ms >= 0.0), "{line}");
    assert!(line["timestamp"].is_string());

    // No id sent: the one generated is the same in the header, the envelope and the log.
    let reply = api.get(&listing, Some("a-wrong-token-5e1f"));
    assert_eq!(reply.status, 401);
    let generated = reply.headers["x-request-id"].clone();
    assert!(
        generated.len() == 32 && generated.bytes().all(|b| b.is_ascii_hexdigit()),
        "{generated}"
    );
    assert_eq!(reply.body["request_id"], generated.as_str());
    let line = completion_line(&log, &generated);
    assert_eq!(
        (line["route"].as_str(), line["status"].as_u64()),
        (Some(DEBUG_ROUTE), Some(401))
    );

    // An unknown path is logged as `unmatched`, never by its (account-bearing) path.
    let reply = api.request(
        "GET",
        &format!("/v2/accounts/{ACCOUNT}/nowhere?auth_token=tok-logs"),
        None,
        &[("X-Request-ID", "test-req-404")],
    );
    assert_eq!(reply.status, 404);
    let line = completion_line(&log, "test-req-404");
    assert_eq!(
        (line["route"].as_str(), line["status"].as_u64()),
        (Some("unmatched"), Some(404))
    );

    let lines = json_lines(&log);
    for id in ["test-req-123", "test-req-404", generated.as_str()] {
        let logged = lines
            .iter()
            .filter(|line| line["message"] == "request answered" && line["span"]["request_id"] == id)
            .count();
        assert_eq!(logged, 1, "one completion line for request {id}");
    }
    for line in lines.iter().filter(|line| line["message"] == "request answered") {
        assert!(
            !line.to_string().contains(ACCOUNT),
            "a path in a request line: {line}"
        );
    }
    let text = std::fs::read_to_string(&log).unwrap();
    for token in ["tok-logs", "a-wrong-token-5e1f"] {
        assert!(!text.contains(token), "the log holds the token {token}:\n{text}");
    }
}
