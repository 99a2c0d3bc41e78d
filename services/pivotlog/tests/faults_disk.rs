//! Fault: disk trouble. The index lives on a small tmpfs mounted for the test; the disk
//! is filled (ENOSPC) while records arrive, then freed again:
//! * the indexer does not exit, its checkpoint does not advance while commits fail,
//!   it logs why (`No space left on device`) and its `/readyz` says so;
//! * once space is back it commits again, and the index holds exactly the records
//!   produced, each once.
//!
//! The same for a read-only directory (a read-only bind mount over it, then removed).
//!
//! Mounting needs root (or CAP_SYS_ADMIN): `chmod` cannot make a directory unwritable
//! for root, so without mount permission these tests print why and pass without
//! checking anything. CI runs as root. Full size (`PIVOTLOG_FAULTS_FULL=1`): 5,000
//! records per phase instead of 600, the disk kept full for 20 failed commits.
//!
//! ```sh
//! PIVOTLOG_FAULTS_FULL=1 cargo test -p pivotlog --test faults_disk -- --nocapture
//! ```

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use support::*;

/// A tmpfs mounted on a directory, unmounted on drop.
struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// `None` when this environment may not mount.
    fn mount(dir: &Path, size: &str) -> Option<Tmpfs> {
        std::fs::create_dir_all(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status();
        match status {
            Ok(status) if status.success() => Some(Tmpfs { dir: dir.to_owned() }),
            _ => None,
        }
    }

    /// Makes the directory read-only for every file opened from now on: a read-only
    /// bind mount over it (remounting the tmpfs itself read-only is refused while the
    /// indexer holds files open for writing, as its lock file).
    fn make_read_only(&self) {
        run(Command::new("mount").arg("--bind").arg(&self.dir).arg(&self.dir));
        run(Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(&self.dir));
    }

    fn make_writable(&self) {
        run(Command::new("umount").arg(&self.dir));
    }
}

fn run(command: &mut Command) {
    let status = command.status().unwrap();
    assert!(status.success(), "{command:?}: {status}");
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // The tmpfs, and the bind mount over it if a failed test left one.
        for _ in 0..2 {
            let _ = Command::new("umount")
                .arg("-l")
                .arg(&self.dir)
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

/// Fills the file system of `dir` with one file until it is full; returns the file.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 << 10];
    loop {
        if let Err(err) = file.write_all(&chunk) {
            assert_eq!(err.raw_os_error(), Some(28), "expected ENOSPC, got {err}");
            break;
        }
    }
    // Smaller writes too, so that not even a page is left.
    while file.write_all(&[0u8; 512]).is_ok() {}
    let _ = file.sync_all();
    path
}

/// The end of a log, for failure messages.
fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

enum Trouble {
    Full,
    ReadOnly,
}

fn disk_trouble(trouble: Trouble) {
    let full = faults_full();
    let (count, failures) = if full { ("5000", 20) } else { ("600", 3) };
    let scratch = tempfile::tempdir().unwrap();
    let data = scratch.path().join("index");
    let Some(mount) = Tmpfs::mount(&data, "64m") else {
        eprintln!(
            "SKIPPED: cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN); the disk-trouble \
             guarantee is not checked in this environment"
        );
        return;
    };
    let broker = Broker::start();
    let topic = "disk";
    broker.create_topic(topic, 2);

    let health_port = free_port();
    let mut indexer = pivotlog(&broker, topic);
    indexer
        .args([
            "indexer",
            "--commit-interval-ms",
            "200",
            "--writer-memory-mb",
            "64",
        ])
        .arg("--health-listen")
        .arg(format!("127.0.0.1:{health_port}"))
        .arg("--data-dir")
        .arg(&data);
    let log = scratch.path().join("indexer.log");
    let mut indexer = Process::spawn_logging(indexer, &log);
    let health = Api {
        base: format!("http://127.0.0.1:{health_port}"),
    };
    let index = open_index(&data);

    let mut expected = BTreeMap::new();
    let mut publish = |seed: &str, start: &str| {
        let args = ["--count", count, "--seed", seed, "--start-unix-ms", start];
        let events = simulated_events(&broker, topic, &args);
        let mut command = pivotlog(&broker, topic);
        command.arg("simulate").args(args);
        run_ok(command);
        expected.extend(events);
        expected.len()
    };
    let before = publish("31", "1710253474000");
    wait_until("the first batch indexed", Duration::from_secs(120), || {
        indexed(&index) >= before
    });
    wait_until("the indexer ready", Duration::from_secs(30), || {
        health.try_get("/readyz", None).is_ok_and(|r| r.status == 200)
    });
    let checkpoint = index.checkpoint().unwrap();

    // Trouble, while a second batch arrives.
    let filler = match trouble {
        Trouble::Full => Some(fill(&data)),
        Trouble::ReadOnly => {
            mount.make_read_only();
            None
        }
    };
    let total = publish("32", "1710263474000");
    let failed_commits = |reply: &Reply| reply.body["stats"]["failed_commits"].as_u64().unwrap_or(0);
    let mut reason = String::new();
    wait_until(
        "commits failing, reported by /readyz",
        Duration::from_secs(120),
        || {
            assert!(
                indexer.is_running(),
                "the indexer exited on disk trouble: {}",
                log_tail(&log)
            );
            match health.try_get("/readyz", None) {
                Ok(reply) if reply.status == 503 && failed_commits(&reply) >= failures => {
                    reason = reply.body["reason"].as_str().unwrap_or_default().to_owned();
                    true
                }
                _ => false,
            }
        },
    );
    let expected_error = match trouble {
        Trouble::Full => "No space left on device",
        Trouble::ReadOnly => "Read-only file system",
    };
    assert!(
        reason.contains("cannot commit") && reason.contains(expected_error),
        "readiness reason: {reason}"
    );
    assert_eq!(
        index.checkpoint().unwrap(),
        checkpoint,
        "the checkpoint must not advance while commits fail"
    );
    if let Trouble::Full = trouble {
        // (A reader's reload takes a lock file, which a read-only directory refuses.)
        assert_eq!(
            indexed(&index),
            before,
            "nothing new is visible while commits fail"
        );
    }
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("the checkpoint does not advance") && logged.contains(expected_error),
        "the indexer says why: {logged}"
    );

    // The disk is back.
    match filler {
        Some(filler) => std::fs::remove_file(filler).unwrap(),
        None => mount.make_writable(),
    }
    let started = std::time::Instant::now();
    wait_until(
        "every record indexed and checkpointed",
        Duration::from_secs(180),
        || {
            assert!(
                indexer.is_running(),
                "the indexer exited after the disk came back: {}",
                log_tail(&log)
            );
            let done = indexed(&index) >= total && checkpointed_records(&index) >= total as i64;
            assert!(
                done || started.elapsed() < Duration::from_secs(170),
                "not recovered: {} indexed, {} checkpointed of {total}; {}",
                indexed(&index),
                checkpointed_records(&index),
                log_tail(&log)
            );
            done
        },
    );
    wait_until("the indexer ready again", Duration::from_secs(30), || {
        health.try_get("/readyz", None).is_ok_and(|r| r.status == 200)
    });
    assert!(indexer.terminate().success(), "indexer exit status after SIGTERM");
    assert_eq!(checkpointed_records(&index), total as i64);
    assert_index_exactly(&index, &expected);
    drop(index);
    drop(mount);
}

#[test]
fn a_full_disk_stops_the_checkpoint_and_indexing_resumes_when_space_is_back() {
    disk_trouble(Trouble::Full);
}

#[test]
fn a_read_only_disk_stops_the_checkpoint_and_indexing_resumes_when_writable() {
    disk_trouble(Trouble::ReadOnly);
}
