//! Real processes for end-to-end tests: a tansu broker and the pivotlog binary.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Waits for `condition`, polling; panics with `what` after `timeout`.
pub fn wait_until(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The tansu binary: `$TANSU`, then `.tools/bin/tansu` in the workspace, then `PATH`.
fn tansu() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU") {
        return path.into();
    }
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/bin/tansu");
    if local.exists() {
        return local;
    }
    "tansu".into()
}

/// A tansu broker on a loopback port, killed on drop.
pub struct Broker {
    pub port: u16,
    child: Child,
    storage: String,
}

impl Broker {
    /// In-memory storage.
    pub fn start() -> Broker {
        Broker::start_with_storage("memory://tansu/".into())
    }

    /// `storage`: a tansu storage URL, e.g. `sqlite://path.db` for a durable broker.
    pub fn start_with_storage(storage: String) -> Broker {
        Broker::start_on(free_port(), storage)
    }

    pub fn start_on(port: u16, storage: String) -> Broker {
        Broker::start_on_with(port, storage, &[])
    }

    /// [`Broker::start_on`] with more `tansu broker` flags (e.g. `--authentication`).
    pub fn start_on_with(port: u16, storage: String, flags: &[&str]) -> Broker {
        Broker::start_advertising(port, port, storage, flags)
    }

    /// A broker listening on `port` that tells clients to connect to `advertised` (a
    /// proxy in front of it).
    pub fn start_advertising(port: u16, advertised: u16, storage: String, flags: &[&str]) -> Broker {
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised = format!("tcp://127.0.0.1:{advertised}");
        let child = Command::new(tansu())
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &advertised,
            ])
            .args(["--storage-engine", &storage])
            .args(flags)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start tansu: run scripts/install-test-deps or set TANSU");
        let address: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        wait_until("the broker to listen", Duration::from_secs(30), || {
            TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
        });
        Broker { port, child, storage }
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn create_topic(&self, name: &str, partitions: u32) {
        self.admin(&["topic", "create", name, "--partitions", &partitions.to_string()]);
    }

    /// A SCRAM-SHA-512 user (the broker must not require authentication yet).
    pub fn create_user(&self, name: &str, password: &str) {
        self.admin(&["user", "create", name, password]);
    }

    fn admin(&self, args: &[&str]) {
        let output = Command::new(tansu())
            .args(args)
            .args(["--broker", &format!("tcp://127.0.0.1:{}", self.port)])
            .output()
            .expect("cannot run tansu");
        assert!(
            output.status.success(),
            "tansu {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }

    /// Stops the broker (SIGKILL) and returns its port and storage, to restart it.
    pub fn stop(mut self) -> (u16, String) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        (self.port, std::mem::take(&mut self.storage))
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `pivotlog` with `args`, talking to `broker`.
pub fn pivotlog(broker: &Broker, topic: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pivotlog"));
    let log = std::env::var("PIVOTLOG_TEST_LOG").unwrap_or_else(|_| "warn".into());
    command
        .env("PIVOTLOG_BROKERS", broker.address())
        .env("PIVOTLOG_TOPIC", topic)
        // Fixtures are from 2024: keep everything unless a test sets a retention.
        .env("PIVOTLOG_RETENTION_DAYS", "0")
        .env("RUST_LOG", log);
    command
}

/// A `pivotlog indexer` process writing `dir`, committing every `commit_ms`.
pub fn start_indexer(broker: &Broker, topic: &str, dir: &Path, commit_ms: u64) -> Process {
    let mut command = pivotlog(broker, topic);
    command
        .args([
            "indexer",
            "--commit-interval-ms",
            &commit_ms.to_string(),
            "--data-dir",
        ])
        .arg(dir);
    Process::spawn(command)
}

pub fn run_ok(mut command: Command) -> Output {
    let output = command.output().expect("cannot run pivotlog");
    assert!(
        output.status.success(),
        "pivotlog failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// A child process killed on drop.
pub struct Process(pub Child);

impl Process {
    pub fn spawn(mut command: Command) -> Process {
        Process(command.stdout(Stdio::null()).spawn().expect("cannot spawn"))
    }

    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = self.0.wait().unwrap();
        std::mem::forget(self);
        status
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
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
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
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

impl Process {
    /// Spawns `command` with its stderr appended to `log` (to read what it said).
    pub fn spawn_logging(mut command: Command, log: &Path) -> Process {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        command.stderr(file);
        Process::spawn(command)
    }

    /// SIGTERM, then wait at most `timeout` for the exit; a process still running then
    /// is killed and `Err` says how long it held out.
    pub fn terminate_within(mut self, timeout: Duration) -> Result<std::process::ExitStatus, String> {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Ok(status);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        self.kill();
        Err(format!("still running {timeout:?} after SIGTERM"))
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
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
            headers: Default::default(),
            body,
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
