//! Issue: operations (replay and rebuild). `pivotlog reindex` rebuilds the index from
//! the topic next to the live one while a live indexer and a query process keep
//! working; once caught up, the running indexer swaps it in and carries on from the
//! rebuilt checkpoint. Every answer is identical before and after; `pivotlog inspect`
//! shows what the index holds. Without a running indexer, reindex swaps by itself.

mod support;

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use pivotlog_proto::time::now_unix_ms;
use serde_json::{json, Value};
use support::*;

const TOPIC: &str = "pivot-debug";

fn answers(api: &Api, account: &str) -> Vec<Value> {
    let base = format!("/v2/accounts/{account}/pivot");
    let mut all = Vec::new();
    for path in [
        format!("{base}/debug?page_size=25"),
        format!("{base}/search?q=*&page_size=50"),
        format!("{base}/search?q=status_code:500&page_size=50&sort=oldest"),
    ] {
        all.extend(all_pages(api, &path, "admin"));
    }
    all.push(comparable(
        &api.get(&format!("{base}/search/stats?q=*&interval=5m"), Some("admin")),
    ));
    let listing = api.get(&format!("{base}/debug?page_size=5"), Some("admin"));
    for call in listing.body["data"].as_array().unwrap() {
        let id: String =
            form_urlencoded::byte_serialize(call["call_id"].as_str().unwrap().as_bytes()).collect();
        all.push(comparable(&api.get(&format!("{base}/debug/{id}"), Some("admin"))));
    }
    all
}

fn reindex(broker: &Broker, live: &Path) -> Output {
    let mut command = pivotlog(broker, TOPIC);
    command
        .args(["reindex", "--commit-interval-ms", "200", "--data-dir"])
        .arg(live);
    let output = command.output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "reindex failed: {stderr}");
    output
}

fn inspect(broker: &Broker, live: &Path) -> Value {
    let mut command = pivotlog(broker, TOPIC);
    command.args(["inspect", "--json", "--data-dir"]).arg(live);
    serde_json::from_slice(&run_ok(command).stdout).unwrap()
}

#[test]
fn reindex_rebuilds_beside_the_live_index_and_swaps_it_in() {
    let broker = Broker::start();
    broker.create_topic(TOPIC, 2);
    let start_ms = an_hour_ago_unix_ms();
    let simulated = simulate(
        &broker,
        TOPIC,
        &[
            "--count",
            "800",
            "--seed",
            "8",
            "--accounts",
            "2",
            "--start-unix-ms",
            &start_ms,
        ],
    );
    let account = simulated[0]["pvt_account_id"].as_str().unwrap().to_owned();
    let total = simulated.len(); // whole calls: a few more than --count
    let work = tempfile::tempdir().unwrap();
    let live = work.path().join("live");
    let mut indexer = {
        let mut command = pivotlog(&broker, TOPIC);
        command
            .args(["indexer", "--commit-interval-ms", "200", "--data-dir"])
            .arg(&live)
            .env("RUST_LOG", "info");
        Process::spawn_logging(command, &work.path().join("indexer.log"))
    };
    let index = open_index(&live);
    wait_until("the live index has everything", Duration::from_secs(60), || {
        indexed(&index) >= total
    });
    let tokens =
        json!({"admin": {"account_id": "00000000000000000000000000000000", "superduper_admin": true}});
    // (The token file lands in the live directory; the process reads it at start.)
    let (query, api) = query_command(&broker, TOPIC, &live, &tokens);
    let _query = Process::spawn_logging(query, &work.path().join("query.log"));
    api.wait_ready();
    let before = answers(&api, &account);
    let identity = std::fs::metadata(&live)
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .unwrap();

    // With the live indexer running: it swaps the rebuilt index in at its next commit.
    let output = reindex(&broker, &live);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for shown in ["records/s", "lag", "ETA", "caught up"] {
        assert!(stderr.contains(shown), "progress shows {shown}: {stderr}");
    }
    let swapped = std::fs::metadata(&live)
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
        .unwrap();
    assert_ne!(swapped, identity, "the directory was exchanged");
    assert!(
        !work.path().join("live.rebuild").exists(),
        "the replaced index is deleted"
    );
    wait_until(
        "the query process answers from the rebuilt index",
        Duration::from_secs(30),
        || answers(&api, &account) == before,
    );
    let info = inspect(&broker, &live);
    let records: u64 = info["slices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["records"].as_u64().unwrap())
        .sum();
    assert_eq!(records as usize, total, "{info}");
    // The checkpoint reaches the end too. (Against tansu the indexer replays the swapped-in
    // partitions from their start, its watermark being the last batch's base offset: the
    // replayed records are skipped by event id, and the checkpoint catches up. The
    // replay's first commit can lower the rebuilt checkpoint some time after the swap,
    // so the end counts only once the checkpoint has stayed there for a while.)
    let checkpointed = || -> i64 {
        inspect(&broker, &live)["checkpoint"]["offsets"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_i64().unwrap())
            .sum()
    };
    let mut at_end_since: Option<Instant> = None;
    wait_until(
        "the checkpoint covers every record, for 2 s",
        Duration::from_secs(60),
        || {
            if checkpointed() as usize >= total {
                at_end_since.get_or_insert_with(Instant::now).elapsed() >= Duration::from_secs(2)
            } else {
                at_end_since = None;
                false
            }
        },
    );
    let log = std::fs::read_to_string(work.path().join("indexer.log")).unwrap_or_default();
    assert_eq!(checkpointed() as usize, total, "{log}");
    let records: u64 = inspect(&broker, &live)["slices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["records"].as_u64().unwrap())
        .sum();
    assert_eq!(records as usize, total, "each record once after the replay");

    // The live indexer carries on in the rebuilt index.
    let more = simulate(
        &broker,
        TOPIC,
        &[
            "--count",
            "100",
            "--seed",
            "9",
            "--accounts",
            "2",
            "--start-unix-ms",
            &start_ms,
        ],
    );
    let total = total + more.len();
    let reopened = open_index(&live);
    wait_until(
        "new records reach the rebuilt index",
        Duration::from_secs(60),
        || indexed(&reopened) >= total,
    );
    assert_eq!(indexed(&reopened), total);

    // Without a running indexer, reindex swaps by itself; nothing changes for readers.
    indexer.kill();
    let after = answers(&api, &account);
    let output = reindex(&broker, &live);
    assert!(String::from_utf8_lossy(&output.stderr).contains("no indexer was writing"));
    wait_until("the same answers again", Duration::from_secs(30), || {
        answers(&api, &account) == after
    });
    let text = {
        let mut command = pivotlog(&broker, TOPIC);
        command.args(["inspect", "--data-dir"]).arg(&live);
        String::from_utf8(run_ok(command).stdout).unwrap()
    };
    assert!(
        text.contains(&format!("{total} records")) && text.contains("partition"),
        "{text}"
    );
}

#[test]
fn retention_keeps_the_disk_bounded_over_days_of_traffic() {
    let broker = Broker::start();
    broker.create_topic(TOPIC, 2);
    let now_ms = now_unix_ms();
    let day_ms = 86_400_000;
    // Six days of traffic, the oldest first, as a topic with a week of retention holds.
    let mut newest = 0;
    for days_ago in (0..6).rev() {
        let start = (now_ms - days_ago * day_ms - 2 * 3_600_000).to_string();
        let seed = (days_ago + 100).to_string();
        let day = simulate(
            &broker,
            TOPIC,
            &["--count", "300", "--seed", &seed, "--start-unix-ms", &start],
        );
        if days_ago < 2 {
            newest += day.len();
        }
    }
    let work = tempfile::tempdir().unwrap();
    let (kept, everything) = (work.path().join("kept"), work.path().join("everything"));
    let health = free_port();
    let mut bounded = pivotlog(&broker, TOPIC);
    bounded
        .args([
            "indexer",
            "--commit-interval-ms",
            "200",
            "--retention-days",
            "2",
            "--group",
            "kept",
        ])
        .arg("--health-listen")
        .arg(format!("127.0.0.1:{health}"))
        .arg("--data-dir")
        .arg(&kept);
    let _bounded = Process::spawn_logging(bounded, &work.path().join("kept.log"));
    let _unbounded = start_indexer(&broker, TOPIC, &everything, 200);
    let (kept_index, all_index) = (open_index(&kept), open_index(&everything));
    wait_until("both indexers caught up", Duration::from_secs(90), || {
        let offsets = |index: &pivotlog_index::PivotIndex| checkpointed_records(index);
        offsets(&kept_index) >= 1800 && offsets(&all_index) >= 1800
    });
    let health = Api {
        base: format!("http://127.0.0.1:{health}"),
    };
    let stats = &health.get("/healthz", None).body["stats"];
    let (kept_info, all_info) = (inspect(&broker, &kept), inspect(&broker, &everything));
    let slices = |info: &Value| info["slices"].as_array().unwrap().len();
    let bytes = |info: &Value| -> u64 {
        info["slices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["bytes"].as_u64().unwrap())
            .sum()
    };
    eprintln!(
        "6 days of traffic, retention 2 days: {} slices, {} bytes; kept forever: {} slices, {} bytes; {} records past the retention not indexed",
        slices(&kept_info),
        bytes(&kept_info),
        slices(&all_info),
        bytes(&all_info),
        stats["expired"]
    );
    assert!(slices(&all_info) >= 6);
    assert!(slices(&kept_info) <= 3, "{kept_info}");
    assert!(
        bytes(&kept_info) * 2 < bytes(&all_info),
        "the disk is bounded by the retention"
    );
    assert!(stats["expired"].as_u64().unwrap() > 0, "{stats}");
    assert!(indexed(&kept_index) >= newest, "the last two days are all there");
}
