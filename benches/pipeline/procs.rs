//! The processes a run needs — a tansu broker and `pivotlog` roles, with the resident
//! memory the kernel reports for them — from `pivotlog-testkit`. The broker is quiet;
//! the roles are too unless `PIVOTLOG_BENCH_LOG` is set.

use std::process::{Command, Stdio};

pub use pivotlog_testkit::{build_pivotlog, free_port, pivotlog, wait_until, workspace, Broker, Process};

/// Spawns a `pivotlog` role, killed when dropped; its stderr is discarded unless
/// `PIVOTLOG_BENCH_LOG` is set (stdout always is: the roles log to stderr).
pub fn spawn(command: &mut Command) -> Process {
    if std::env::var_os("PIVOTLOG_BENCH_LOG").is_none() {
        command.stderr(Stdio::null());
    }
    Process::spawn(command)
}
