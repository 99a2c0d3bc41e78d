//! What the end-to-end tests share: the processes (from `pivotlog-testkit`) with the
//! pivotlog binary under test, and helpers that read its index and HTTP API.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use pivotlog_proto::time::now_unix_ms;
use serde_json::Value;

pub use pivotlog_testkit::{free_port, run_ok, wait_until, Broker, Process};

/// The `pivotlog` binary under test, talking to `broker` about `topic`. Fixtures are
/// from 2024: keeps everything unless a test sets a retention. Logs at
/// `PIVOTLOG_TEST_LOG` (a `RUST_LOG` filter; `warn` by default).
pub fn pivotlog(broker: &Broker, topic: &str) -> Command {
    let mut command = pivotlog_testkit::pivotlog(Path::new(env!("CARGO_BIN_EXE_pivotlog")), broker, topic);
    command.env("PIVOTLOG_RETENTION_DAYS", "0");
    if let Some(log) = std::env::var_os("PIVOTLOG_TEST_LOG") {
        command.env("RUST_LOG", log);
    }
    command
}

/// A `pivotlog indexer` process writing `dir`, committing every `commit_ms`.
pub fn start_indexer(broker: &Broker, topic: &str, dir: &Path, commit_ms: u64) -> Process {
    start_indexer_with(broker, topic, dir, commit_ms, &[])
}

/// [`start_indexer`] with more arguments.
pub fn start_indexer_with(
    broker: &Broker,
    topic: &str,
    dir: &Path,
    commit_ms: u64,
    extra: &[&str],
) -> Process {
    let mut command = pivotlog(broker, topic);
    command
        .args([
            "indexer",
            "--commit-interval-ms",
            &commit_ms.to_string(),
            "--data-dir",
        ])
        .arg(dir)
        .args(extra);
    Process::spawn(command)
}

/// Indexer `ordinal` of `replicas`, owning its share of the partitions and serving
/// them on the shard API at `port` with `token`.
pub fn shard_indexer(
    broker: &Broker,
    topic: &str,
    dir: &Path,
    port: u16,
    token: &str,
    replicas: usize,
    ordinal: usize,
) -> Process {
    let mut command = pivotlog(broker, topic);
    command
        .args(["indexer", "--commit-interval-ms", "200", "--shard-listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args([
            "--shard-token",
            token,
            "--replicas",
            &replicas.to_string(),
            "--ordinal",
        ])
        .arg(ordinal.to_string())
        .arg("--data-dir")
        .arg(dir);
    Process::spawn(command)
}

/// Publishes `docs` (Kazoo documents) to `topic` with `pivotlog publish`, through an
/// NDJSON file `name.ndjson` in `dir`.
pub fn publish_docs(broker: &Broker, topic: &str, dir: &Path, name: &str, docs: &[Value]) {
    let file = dir.join(format!("{name}.ndjson"));
    let lines: Vec<String> = docs.iter().map(Value::to_string).collect();
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let mut publish = pivotlog(broker, topic);
    publish.arg("publish").arg(&file);
    run_ok(publish);
}

/// Opens the index an indexer writes, once it exists.
pub fn open_index(dir: &Path) -> pivotlog_index::PivotIndex {
    wait_until("the index to be created", Duration::from_secs(60), || {
        dir.join(pivotlog_index::CHECKPOINT_FILE).exists()
    });
    pivotlog_index::PivotIndex::open_or_create(dir).unwrap()
}

/// Number of records the index holds now.
pub fn indexed(index: &pivotlog_index::PivotIndex) -> usize {
    index.reload().unwrap();
    index.count_records().unwrap()
}

/// A client of the HTTP API on loopback.
pub struct Api {
    pub base: String,
}

/// An answer, any status, with a JSON body.
pub struct Reply {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Value,
}

impl Api {
    pub fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.request("GET", path, token, &[])
    }

    pub fn request(&self, method: &str, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Reply {
        let mut request = ureq::request(method, &format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.set("X-Auth-Token", token);
        }
        for (name, value) in headers {
            request = request.set(name, value);
        }
        let response = match request.call() {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(err) => panic!("{method} {path}: {err}"),
        };
        let status = response.status();
        let headers = response
            .headers_names()
            .into_iter()
            .filter_map(|name| {
                response
                    .header(&name)
                    .map(|v| (name.to_ascii_lowercase(), v.to_owned()))
            })
            .collect();
        let text = response.into_string().unwrap();
        let body =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: not JSON: {text}"));
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// An hour ago, whole seconds, in Unix ms: a `--start-unix-ms` for simulated traffic
/// that the API's default time window holds.
pub fn an_hour_ago_unix_ms() -> String {
    let now_s = now_unix_ms() / 1000;
    ((now_s - 3600) * 1000).to_string()
}

/// Publishes simulated traffic to `topic` and returns the same documents (the
/// simulator is deterministic: `--stdout` with the same arguments prints them).
pub fn simulate(broker: &Broker, topic: &str, args: &[&str]) -> Vec<Value> {
    let mut publish = pivotlog(broker, topic);
    publish.arg("simulate").args(args);
    run_ok(publish);
    let mut print = pivotlog(broker, topic);
    print.args(["simulate", "--stdout"]).args(args);
    String::from_utf8(run_ok(print).stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

// ---- Fault-injection helpers (tests/faults_*.rs) ----

/// Whether the fault tests run at full size (`PIVOTLOG_FAULTS_FULL=1`).
pub fn faults_full() -> bool {
    std::env::var("PIVOTLOG_FAULTS_FULL").is_ok_and(|v| v == "1")
}

/// The seed of a fault test's random schedule: `PIVOTLOG_FAULTS_SEED`, else a fresh one.
/// Printed, so that a failure can be replayed.
pub fn faults_seed() -> u64 {
    let seed = std::env::var("PIVOTLOG_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("fault schedule seed: PIVOTLOG_FAULTS_SEED={seed}");
    seed
}

/// The events `simulate --stdout` prints for `args`, by event id.
pub fn simulated_events(
    broker: &Broker,
    topic: &str,
    args: &[&str],
) -> BTreeMap<String, pivotlog_proto::DebugEvent> {
    let mut command = pivotlog(broker, topic);
    command.args(["simulate", "--stdout"]).args(args);
    String::from_utf8(run_ok(command).stdout)
        .unwrap()
        .lines()
        .map(|line| pivotlog_proto::kazoo::event_from_doc(&serde_json::from_str(line).unwrap()).unwrap())
        .map(|event| (event.event_id.clone(), event))
        .collect()
}

/// Asserts that the committed index holds exactly `expected`: each event once, every
/// field equal, and each call's summary counting its records once.
pub fn assert_index_exactly(
    index: &pivotlog_index::PivotIndex,
    expected: &BTreeMap<String, pivotlog_proto::DebugEvent>,
) {
    index.reload().unwrap();
    let records = index.all_records().unwrap();
    let mut actual = BTreeMap::new();
    let mut duplicates = Vec::new();
    for event in records {
        if let Some(previous) = actual.insert(event.event_id.clone(), event) {
            duplicates.push(previous.event_id);
        }
    }
    assert!(
        duplicates.is_empty(),
        "{} events indexed twice, e.g. {:?}",
        duplicates.len(),
        &duplicates[..duplicates.len().min(5)]
    );
    let missing: Vec<&String> = expected.keys().filter(|id| !actual.contains_key(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} events missing, e.g. {:?}",
        missing.len(),
        expected.len(),
        &missing[..missing.len().min(5)]
    );
    let unexpected: Vec<&String> = actual.keys().filter(|id| !expected.contains_key(*id)).collect();
    assert!(unexpected.is_empty(), "unexpected events {unexpected:?}");
    for (id, event) in expected {
        assert_eq!(actual.get(id), Some(event), "event {id} differs");
    }
    let mut per_call: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for event in expected.values() {
        *per_call.entry((&event.account_id, &event.call_id)).or_default() += 1;
    }
    for ((account, call), records) in per_call {
        let summary = index
            .call_summary(account, call)
            .unwrap()
            .unwrap_or_else(|| panic!("call {call} has no summary"));
        assert_eq!(
            summary.records, records,
            "summary of call {call} counts its records once"
        );
    }
}

/// The sum of the checkpoint's next offsets: the number of records the committed index
/// has handled, on a topic whose offsets start at 0.
pub fn checkpointed_records(index: &pivotlog_index::PivotIndex) -> i64 {
    index.checkpoint().unwrap().offsets.values().sum()
}

impl Api {
    /// Like [`Api::get`], but a connection-level failure is an `Err` instead of a panic.
    pub fn try_get(&self, path: &str, token: Option<&str>) -> Result<Reply, String> {
        let mut request = ureq::get(&format!("{}{path}", self.base)).timeout(Duration::from_secs(10));
        if let Some(token) = token {
            request = request.set("X-Auth-Token", token);
        }
        let response = match request.call() {
            Ok(response) => response,
            Err(ureq::Error::Status(_, response)) => response,
            Err(err) => return Err(err.to_string()),
        };
        let status = response.status();
        let text = response.into_string().map_err(|err| format!("body: {err}"))?;
        let body = serde_json::from_str(&text).map_err(|_| format!("not JSON: {text}"))?;
        Ok(Reply {
            status,
            headers: BTreeMap::new(),
            body,
        })
    }
}

/// A small valid response event: call `call-{n}`, `n` ms after a fixed time.
pub fn response_event(event_id: String, n: u32, body: String) -> pivotlog_proto::DebugEvent {
    pivotlog_proto::DebugEvent {
        schema_version: 1,
        event_id,
        account_id: "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60".into(),
        ancestor_ids: vec![],
        call_id: format!("call-{n}"),
        iteration: 1,
        created_unix_ms: 1_710_253_474_000 + i64::from(n),
        node: "kazoo_apps@a".into(),
        record: Some(pivotlog_proto::Record::Response(pivotlog_proto::HttpResponse {
            status_code: 200,
            body,
            ..Default::default()
        })),
    }
}

/// A `pivotlog query` command serving `dir` on a free loopback port, with `tokens`
/// written to `dir/tokens.json`, and the client of that port. Add arguments, spawn it,
/// then [`Api::wait_ready`].
pub fn query_command(broker: &Broker, topic: &str, dir: &Path, tokens: &Value) -> (Command, Api) {
    let tokens_file = dir.join("tokens.json");
    std::fs::write(&tokens_file, tokens.to_string()).unwrap();
    let port = free_port();
    let mut command = pivotlog(broker, topic);
    command
        .args(["query", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .arg("--auth-tokens")
        .arg(&tokens_file);
    let api = Api {
        base: format!("http://127.0.0.1:{port}"),
    };
    (command, api)
}

impl Api {
    /// Waits until `/readyz` answers 200.
    pub fn wait_ready(&self) {
        wait_until("the API to be ready", Duration::from_secs(30), || {
            ureq::get(&format!("{}/readyz", self.base)).call().is_ok()
        });
    }
}

/// A reply without what differs between processes and moments (request id, node,
/// timestamp), for comparing answers of two deployments.
pub fn comparable(reply: &Reply) -> Value {
    let mut body = reply.body.clone();
    for volatile in ["request_id", "node", "timestamp"] {
        body.as_object_mut().unwrap().remove(volatile);
    }
    serde_json::json!({"status": reply.status, "body": body})
}

/// Every page of a paged endpoint, following `next_start_key` (`path` has a `?`).
pub fn all_pages(api: &Api, path: &str, token: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let paged = match &next {
            Some(key) => format!("{path}&start_key={key}"),
            None => path.to_owned(),
        };
        let reply = api.get(&paged, Some(token));
        pages.push(comparable(&reply));
        next = reply.body["next_start_key"].as_str().map(str::to_owned);
        if next.is_none() || pages.len() > 500 {
            return pages;
        }
    }
}
