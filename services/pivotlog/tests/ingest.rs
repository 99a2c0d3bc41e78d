//! Issue: ingest. Simulated and imported Kazoo documents go through a real tansu broker
//! and a real indexer process into the on-disk index, exactly once, across SIGKILLs.

mod support;

use std::collections::BTreeMap;
use std::io::Write;
use std::time::Duration;

use pivotlog_proto::kazoo::{doc_from_event, event_from_doc};
use pivotlog_proto::DebugEvent;
use serde_json::Value;
use support::*;

const START_MS: &str = "1710253474000";

/// The events `simulate --stdout` produces for these arguments, by event id.
fn expected_events(broker: &Broker, topic: &str, args: &[&str]) -> BTreeMap<String, DebugEvent> {
    let mut command = pivotlog(broker, topic);
    command
        .args(["simulate", "--stdout", "--start-unix-ms", START_MS])
        .args(args);
    let output = run_ok(command);
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| event_from_doc(&serde_json::from_str(line).unwrap()).unwrap())
        .map(|event| (event.event_id.clone(), event))
        .collect()
}

fn indexer(broker: &Broker, topic: &str, dir: &std::path::Path) -> Process {
    start_indexer(broker, topic, dir, 200)
}

fn assert_index_holds_exactly(index: &pivotlog_index::PivotIndex, expected: &BTreeMap<String, DebugEvent>) {
    index.reload().unwrap();
    let records = index.all_records().unwrap();
    assert_eq!(
        records.len(),
        expected.len(),
        "record count (duplicates or losses)"
    );
    let actual: BTreeMap<String, DebugEvent> = records.into_iter().map(|e| (e.event_id.clone(), e)).collect();
    assert_eq!(actual.len(), expected.len(), "distinct event ids");
    for (id, event) in expected {
        assert_eq!(actual.get(id), Some(event), "event {id} differs or is missing");
    }
}

#[test]
fn simulated_traffic_is_indexed_exactly_once_across_sigkill() {
    let broker = Broker::start();
    let topic = "pivot-debug";
    broker.create_topic(topic, 3);
    let data = tempfile::tempdir().unwrap();
    // The same rate for both runs: with --start-unix-ms the clock advances by it.
    let args = ["--count", "3000", "--seed", "7", "--rate", "1500"];
    let expected = expected_events(&broker, topic, &args);
    assert!(expected.len() >= 3000);

    let mut indexer_process = indexer(&broker, topic, data.path());
    let mut producer = pivotlog(&broker, topic);
    producer
        .args(["simulate", "--start-unix-ms", START_MS])
        .args(args);
    let producer = Process::spawn(producer);
    let index = open_index(data.path());

    // Kill the indexer while records are still arriving, then restart it.
    wait_until("some records indexed", Duration::from_secs(60), || {
        indexed(&index) >= 300
    });
    assert!(
        indexed(&index) < expected.len(),
        "the kill must happen mid-stream"
    );
    indexer_process.kill();
    let after_kill = indexed(&index);
    let indexer_process = indexer(&broker, topic, data.path());

    let mut producer = producer;
    assert!(producer.0.wait().unwrap().success(), "simulate failed");
    wait_until("every record indexed", Duration::from_secs(120), || {
        indexed(&index) >= expected.len()
    });
    // Give a duplicate, if any, the chance to land before checking.
    std::thread::sleep(Duration::from_millis(600));
    assert!(
        indexer_process.terminate().success(),
        "indexer exit status after SIGTERM"
    );
    assert!(after_kill > 0);
    assert_index_holds_exactly(&index, &expected);

    // Restarting on a fully indexed topic adds nothing.
    let checkpoint = index.checkpoint().unwrap();
    assert_eq!(checkpoint.offsets.len(), 3, "one checkpoint per partition");
    let restarted = indexer(&broker, topic, data.path());
    std::thread::sleep(Duration::from_secs(2));
    assert!(restarted.terminate().success());
    assert_index_holds_exactly(&index, &expected);
}

const FIXTURE: &str = include_str!("../../../tests/fixtures/kazoo-pivot-debug-sample.ndjson");

#[test]
fn publishing_the_kazoo_fixture_round_trips_every_field() {
    let broker = Broker::start();
    let topic = "fixture";
    broker.create_topic(topic, 2);
    let data = tempfile::tempdir().unwrap();
    let mut publish = pivotlog(&broker, topic);
    publish.args([
        "publish",
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/kazoo-pivot-debug-sample.ndjson"
        ),
    ]);
    run_ok(publish);

    let indexer_process = indexer(&broker, topic, data.path());
    let index = open_index(data.path());
    let docs: Vec<Value> = FIXTURE
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    wait_until("the fixture indexed", Duration::from_secs(60), || {
        indexed(&index) >= docs.len()
    });
    assert!(indexer_process.terminate().success());

    let records: BTreeMap<String, DebugEvent> = index
        .all_records()
        .unwrap()
        .into_iter()
        .map(|e| (e.event_id.clone(), e))
        .collect();
    assert_eq!(records.len(), docs.len());
    for doc in docs {
        let mut expected = doc.as_object().unwrap().clone();
        expected.remove("_rev");
        let event = &records[doc["_id"].as_str().unwrap()];
        assert_eq!(Value::Object(doc_from_event(event)), Value::Object(expected));
    }
}

#[test]
fn malformed_lines_are_reported_and_the_rest_is_delivered() {
    let broker = Broker::start();
    let topic = "import";
    broker.create_topic(topic, 1);
    let lines: Vec<&str> = FIXTURE.lines().take(3).collect();
    let input = format!(
        "{}\n{{not json\n{}\n[1]\n\n{}\n{{\"_id\":\"x\"}}\n",
        lines[0], lines[1], lines[2]
    );
    let mut publish = pivotlog(&broker, topic);
    publish
        .arg("publish")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = publish.spawn().unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "a malformed line must fail the exit status"
    );
    assert!(stderr.contains("line 2: invalid JSON"), "{stderr}");
    assert!(stderr.contains("line 4: not a JSON object"), "{stderr}");
    assert!(stderr.contains("line 7: missing field `iteration`"), "{stderr}");
    assert!(
        stderr.contains("published 3 of 6 documents (3 malformed, 0 not delivered)"),
        "{stderr}"
    );

    let data = tempfile::tempdir().unwrap();
    let indexer_process = indexer(&broker, topic, data.path());
    let index = open_index(data.path());
    wait_until("the good lines indexed", Duration::from_secs(60), || {
        indexed(&index) >= 3
    });
    assert!(indexer_process.terminate().success());
    assert_eq!(indexed(&index), 3);
}
