//! Real processes for tests and benchmarks: free loopback ports, waiting, a tansu
//! broker, child-process guards, and the `pivotlog` command they run. Used by the
//! end-to-end tests (`services/pivotlog/tests`) and the pipeline benchmark
//! (`benches/pipeline`); what needs the index or a Kafka client stays with them, so
//! this crate depends on neither. Everything listens on and connects to loopback only.
//! [`sse`] reads live tails; [`args`] is the benchmarks' command line; [`events`] builds
//! many calls over many days for the index and indexer tests.

pub mod args;
pub mod events;
pub mod sse;

use std::borrow::BorrowMut;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits for `condition`, polling every 50 ms; panics with `what` after `timeout`.
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

/// The tansu binary: `$TANSU`, then `.tools/bin/tansu` in the workspace (where
/// `scripts/install-test-deps` puts it), then `PATH`.
pub fn tansu() -> PathBuf {
    if let Some(path) = std::env::var_os("TANSU") {
        return path.into();
    }
    let local = workspace().join(".tools/bin/tansu");
    if local.exists() {
        return local;
    }
    "tansu".into()
}

/// A tansu broker on a loopback port, its output discarded, killed on drop.
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
    /// proxy in front of it). Returns once it accepts connections.
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

    /// `host:port`, for `bootstrap.servers` / `PIVOTLOG_BROKERS`.
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

/// `binary` (a `pivotlog` executable) talking to `broker` about `topic`, logging at
/// `warn` unless the caller sets `RUST_LOG` again.
pub fn pivotlog(binary: &Path, broker: &Broker, topic: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .env("PIVOTLOG_BROKERS", broker.address())
        .env("PIVOTLOG_TOPIC", topic)
        .env("RUST_LOG", "warn");
    command
}

/// Builds the optimized `pivotlog` binary (a no-op when it is current) and returns its
/// path, wherever the target directory is (`CARGO_TARGET_DIR`, `build.target-dir`).
/// It is built in the `bench` profile (release settings), the profile the benchmarks
/// that run it are built in: the two builds then share every dependency they have in
/// common instead of compiling tantivy and librdkafka twice.
pub fn build_pivotlog() -> PathBuf {
    let output = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--profile", "bench", "-p", "pivotlog"])
        .arg("--message-format=json-render-diagnostics")
        .current_dir(workspace())
        .stderr(Stdio::inherit())
        .output()
        .expect("cargo runs");
    assert!(output.status.success(), "building pivotlog failed");
    executable(&String::from_utf8_lossy(&output.stdout), "pivotlog")
        .expect("cargo names the pivotlog executable it built")
}

/// The path of binary `name` in the JSON messages of a `cargo build`.
fn executable(messages: &str, name: &str) -> Option<PathBuf> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| message["reason"] == "compiler-artifact" && message["target"]["name"] == name)
        .find_map(|message| message["executable"].as_str().map(PathBuf::from))
}

/// A child process, killed on drop.
pub struct Process(pub Child);

impl Process {
    /// Spawns `command` with its stdout discarded; its stderr goes where the command
    /// says (by default, the caller's stderr).
    pub fn spawn(mut command: impl BorrowMut<Command>) -> Process {
        let command = command.borrow_mut();
        Process(command.stdout(Stdio::null()).spawn().expect("cannot spawn"))
    }

    /// Spawns `command` with its stderr appended to `log` (to read what it said).
    pub fn spawn_logging(mut command: impl BorrowMut<Command>, log: &Path) -> Process {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        command.borrow_mut().stderr(file);
        Process::spawn(command)
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }

    /// SIGTERM, then wait for a clean exit.
    pub fn terminate(mut self) -> ExitStatus {
        self.send_sigterm();
        let status = self.0.wait().unwrap();
        std::mem::forget(self);
        status
    }

    /// SIGTERM, then wait at most `timeout` for the exit; a process still running then
    /// is killed and `Err` says how long it held out.
    pub fn terminate_within(mut self, timeout: Duration) -> Result<ExitStatus, String> {
        self.send_sigterm();
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

    fn send_sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }

    /// Anonymous resident memory now (heap, not mapped files), in bytes; 0 once the
    /// process is gone.
    pub fn anon_rss(&self) -> u64 {
        self.status_field("RssAnon:")
    }

    /// (current, peak) resident set size in bytes, from /proc; both count the pages
    /// of memory-mapped files too.
    pub fn rss(&self) -> (u64, u64) {
        (self.status_field("VmRSS:"), self.status_field("VmHWM:"))
    }

    /// CPU time run so far by the process's live threads whose name starts with
    /// `prefix` (every live thread with ""), s: the sum of their `schedstat` run times.
    pub fn threads_cpu_seconds(&self, prefix: &str) -> f64 {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{}/task", self.0.id())) else {
            return 0.0;
        };
        let nanos: u64 = tasks
            .flatten()
            .filter(|task| {
                std::fs::read_to_string(task.path().join("comm")).is_ok_and(|name| name.starts_with(prefix))
            })
            .filter_map(|task| std::fs::read_to_string(task.path().join("schedstat")).ok())
            .filter_map(|stat| {
                stat.split_whitespace()
                    .next()
                    .and_then(|ns| ns.parse::<u64>().ok())
            })
            .sum();
        nanos as f64 / 1e9
    }

    fn status_field(&self, name: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.0.id())).unwrap_or_default();
        status
            .lines()
            .find(|line| line.starts_with(name))
            .and_then(|line| line.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs `command` to completion and asserts it succeeded; panics with its stderr if not.
pub fn run_ok(mut command: impl BorrowMut<Command>) -> Output {
    let output = command.borrow_mut().output().expect("cannot run the command");
    assert!(
        output.status.success(),
        "{:?} failed: {}\n{}",
        command.borrow_mut().get_program(),
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_executable_is_read_from_cargos_messages() {
        let messages = [
            r#"{"reason":"compiler-artifact","target":{"name":"pivotlog_proto","kind":["lib"]},"executable":null}"#,
            r#"{"reason":"compiler-artifact","target":{"name":"pivotlog","kind":["bin"]},"executable":"/t/release/pivotlog"}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        assert_eq!(
            executable(&messages, "pivotlog"),
            Some("/t/release/pivotlog".into())
        );
        assert_eq!(executable(&messages, "other"), None);
    }
}
