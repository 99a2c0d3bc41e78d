//! The processes a run needs: a tansu broker and `pivotlog` roles, with the resident
//! memory the kernel reports for them.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the release binary the run measures (a no-op when it is current).
pub fn build_pivotlog() -> PathBuf {
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(["build", "--release", "-p", "pivotlog"])
        .current_dir(workspace())
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building pivotlog failed");
    workspace().join("target/release/pivotlog")
}

fn tansu_binary() -> PathBuf {
    if let Ok(path) = std::env::var("TANSU") {
        return path.into();
    }
    let local = workspace().join(".tools/bin/tansu");
    if local.exists() {
        return local;
    }
    "tansu".into()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A child process killed when dropped.
pub struct Proc(pub Child);

impl Proc {
    pub fn spawn(command: &mut Command) -> Proc {
        let quiet = std::env::var_os("PIVOTLOG_BENCH_LOG").is_none();
        if quiet {
            command.stdout(Stdio::null()).stderr(Stdio::null());
        }
        Proc(command.spawn().expect("the process starts"))
    }

    /// Anonymous resident memory now (heap, not the mapped index files), in bytes.
    pub fn anon_rss(&self) -> u64 {
        self.status_field("RssAnon:")
    }

    /// (current, peak) resident set size in bytes, from /proc; both count the pages
    /// of memory-mapped index files too.
    pub fn rss(&self) -> (u64, u64) {
        (self.status_field("VmRSS:"), self.status_field("VmHWM:"))
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

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Broker {
    pub address: String,
    _proc: Proc,
}

impl Broker {
    pub fn start() -> Broker {
        let port = free_port();
        let address = format!("127.0.0.1:{port}");
        let proc = Proc::spawn(
            Command::new(tansu_binary())
                .arg("broker")
                .args(["--listener-url", &format!("tcp://{address}")])
                .args(["--advertised-listener-url", &format!("tcp://{address}")])
                .args(["--storage-engine", "memory://tansu/"]),
        );
        wait_until("the broker", Duration::from_secs(30), || {
            TcpStream::connect(&address).is_ok()
        });
        Broker { address, _proc: proc }
    }

    pub fn create_topic(&self, name: &str, partitions: u32) {
        let status = Command::new(tansu_binary())
            .args(["topic", "create", name, "--partitions", &partitions.to_string()])
            .args(["--broker", &format!("tcp://{}", self.address)])
            .stdout(Stdio::null())
            .status()
            .expect("tansu topic create runs");
        assert!(status.success(), "creating topic {name}");
    }
}

/// `pivotlog` with the broker and topic set.
pub fn pivotlog(binary: &Path, broker: &Broker, topic: &str) -> Command {
    let mut command = Command::new(binary);
    command
        .env("PIVOTLOG_BROKERS", &broker.address)
        .env("PIVOTLOG_TOPIC", topic)
        .env("RUST_LOG", "warn");
    command
}
