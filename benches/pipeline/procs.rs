//! The processes a run needs — a tansu broker and `pivotlog` roles, with the resident
//! memory the kernel reports for them — from `pivotlog-testkit`. The broker is quiet;
//! the roles are too unless `PIVOTLOG_BENCH_LOG` is set.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

pub use pivotlog_testkit::{build_pivotlog, free_port, pivotlog, wait_until, workspace, Broker, Process};

/// Spawns a `pivotlog` role, killed when dropped; its stderr is discarded unless
/// `PIVOTLOG_BENCH_LOG` is set (stdout always is: the roles log to stderr).
pub fn spawn(command: &mut Command) -> Process {
    if std::env::var_os("PIVOTLOG_BENCH_LOG").is_none() {
        command.stderr(Stdio::null());
    }
    Process::spawn(command)
}

/// A `pivotlog query` serving `dir` on a free loopback port with `tokens`, plus `extra`
/// flags; returns it and its base URL once it is ready.
pub fn start_query(
    binary: &Path,
    broker: &Broker,
    dir: &Path,
    tokens: &Path,
    extra: &[&str],
) -> (Process, String) {
    let port = free_port();
    let query = spawn(
        pivotlog(binary, broker, "bench")
            .args(["query", "--listen", &format!("127.0.0.1:{port}"), "--auth-tokens"])
            .arg(tokens)
            .arg("--data-dir")
            .arg(dir)
            .args(extra),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_until("the query service", Duration::from_secs(60), || {
        ureq::get(&format!("{base}/readyz")).call().is_ok()
    });
    (query, base)
}
