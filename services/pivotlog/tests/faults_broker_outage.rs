//! Fault: broker outage. A durable tansu broker (sqlite storage) is killed while a
//! stream is being produced and indexed, stays down longer than the indexer's client
//! timeouts, and comes back on the same port and storage. Meanwhile:
//! * the indexer does not exit, its `/readyz` (`--health-listen`) answers 503 naming
//!   the unreachable broker, and 200 again once it is back;
//! * the query service (its own process) keeps answering the listing from the index;
//! * at the end the index holds exactly the records produced, each once.
//!
//! CI size: 8 s outage, the indexer's `socket.timeout.ms` lowered to 3 s (so the outage
//! outlasts every client timeout: socket 3 s, metadata 5 s, probe 2 s). Full size
//! (`PIVOTLOG_FAULTS_FULL=1`): librdkafka's default timeouts (socket 60 s) and a 75 s
//! outage.
//!
//! ```sh
//! PIVOTLOG_FAULTS_FULL=1 cargo test -p pivotlog --test faults_broker_outage -- --nocapture
//! ```

mod support;

use std::time::{Duration, Instant};

use support::*;

const TOPIC: &str = "outage";

#[test]
fn broker_outage_loses_nothing_and_the_api_keeps_answering() {
    let full = faults_full();
    let outage = Duration::from_secs(if full { 75 } else { 8 });
    let storage_dir = tempfile::tempdir().unwrap();
    let storage = format!("sqlite:///{}", storage_dir.path().join("tansu.db").display());
    let broker = Broker::start_with_storage(storage);
    broker.create_topic(TOPIC, 3);
    let data = tempfile::tempdir().unwrap();

    // A first batch, indexed before anything goes wrong, for the API to serve.
    let before_args = [
        "--count",
        "400",
        "--seed",
        "21",
        "--start-unix-ms",
        "1710253474000",
    ];
    let mut expected = simulate_events_published(&broker, &before_args);
    let health_port = free_port();
    let mut indexer = pivotlog(&broker, TOPIC);
    indexer
        .args(["indexer", "--commit-interval-ms", "200", "--health-listen"])
        .arg(format!("127.0.0.1:{health_port}"))
        .arg("--data-dir")
        .arg(data.path());
    if !full {
        indexer.env("PIVOTLOG_KAFKA_SOCKET_TIMEOUT_MS", "3000");
    }
    let log = data.path().join("indexer.log");
    let mut indexer = Process::spawn_logging(indexer, &log);
    let health = Api {
        base: format!("http://127.0.0.1:{health_port}"),
    };
    let index = open_index(data.path());
    wait_until("the first batch indexed", Duration::from_secs(60), || {
        indexed(&index) >= expected.len()
    });
    wait_until("the indexer ready", Duration::from_secs(30), || {
        health.try_get("/readyz", None).is_ok_and(|r| r.status == 200)
    });

    let account = expected.values().next().unwrap().account_id.clone();
    let tokens = data.path().join("tokens.json");
    std::fs::write(&tokens, format!(r#"{{"t": {{"account_id": "{account}"}}}}"#)).unwrap();
    let api_port = free_port();
    let mut query = pivotlog(&broker, TOPIC);
    query
        .args([
            "query",
            "--listen",
            &format!("127.0.0.1:{api_port}"),
            "--data-dir",
        ])
        .arg(data.path())
        .arg("--auth-tokens")
        .arg(&tokens);
    let mut query = Process::spawn(query);
    let api = Api {
        base: format!("http://127.0.0.1:{api_port}"),
    };
    // The simulated clock starts on 2024-03-12: ask for that window (Gregorian seconds).
    let listing = format!(
        "/v2/accounts/{account}/pivot/debug?page_size=5&created_from=63877400000&created_to=63877480000"
    );
    wait_until("the query service ready", Duration::from_secs(30), || {
        api.try_get("/readyz", None).is_ok_and(|r| r.status == 200)
    });

    // A stream that runs across the outage; librdkafka holds what it cannot deliver.
    let stream_args = [
        "--count",
        if full { "6000" } else { "1500" },
        "--rate",
        "150",
        "--seed",
        "22",
        "--start-unix-ms",
        "1710263474000",
    ];
    let stream = simulated_events(&broker, TOPIC, &stream_args);
    let mut producer = pivotlog(&broker, TOPIC);
    producer.arg("simulate").args(stream_args);
    let mut producer = Process::spawn(producer);
    let first_batch = expected.len();
    wait_until("the stream being indexed", Duration::from_secs(60), || {
        indexed(&index) >= first_batch + 100
    });

    let (port, storage) = broker.stop();
    let stopped = Instant::now();
    let at_stop = indexed(&index);
    assert!(
        at_stop < first_batch + stream.len(),
        "the outage must begin mid-stream"
    );
    let mut degraded = None;
    let mut answers = 0;
    while stopped.elapsed() < outage {
        assert!(indexer.is_running(), "the indexer exited during the outage");
        let reply = api
            .try_get(&listing, Some("t"))
            .unwrap_or_else(|err| panic!("the API failed during the outage: {err}"));
        assert_eq!(reply.status, 200, "listing during the outage: {}", reply.body);
        assert!(!reply.body["data"].as_array().unwrap().is_empty());
        answers += 1;
        let query_ready = api.try_get("/readyz", None).expect("the query service's /readyz");
        assert_eq!(
            query_ready.status, 200,
            "the query service serves the index without a broker"
        );
        let ready = health
            .try_get("/readyz", None)
            .expect("the indexer's health endpoint");
        if ready.status == 503 && degraded.is_none() {
            let reason = ready.body["reason"].as_str().unwrap_or_default().to_owned();
            assert!(reason.contains("broker"), "readiness reason: {reason}");
            degraded = Some(stopped.elapsed());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let degraded = degraded.expect("the indexer's /readyz never reported the outage");
    eprintln!("outage: {outage:?}, readiness 503 after {degraded:?}, {answers} listings answered 200");

    let broker = Broker::start_on(port, storage);
    let restarted = Instant::now();
    wait_until("the indexer ready again", Duration::from_secs(120), || {
        assert!(indexer.is_running(), "the indexer exited after the outage");
        health.try_get("/readyz", None).is_ok_and(|r| r.status == 200)
    });
    eprintln!("ready again {:?} after the broker restarted", restarted.elapsed());
    assert!(
        producer.0.wait().unwrap().success(),
        "simulate failed across the outage"
    );
    expected.extend(stream);
    let total = expected.len() as i64;
    wait_until(
        "every record indexed and checkpointed",
        Duration::from_secs(180),
        || indexed(&index) >= expected.len() && checkpointed_records(&index) >= total,
    );
    let reply = api.try_get(&listing, Some("t")).unwrap();
    assert_eq!(reply.status, 200);
    assert!(indexer.terminate().success(), "indexer exit status after SIGTERM");
    query.kill();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("broker is unreachable"),
        "the indexer says why: {logged}"
    );
    assert_eq!(
        checkpointed_records(&index),
        total,
        "checkpoint covers the topic, no more"
    );
    assert_index_exactly(&index, &expected);
    drop(broker);
}

/// Publishes simulated traffic and returns its events by id.
fn simulate_events_published(
    broker: &Broker,
    args: &[&str],
) -> std::collections::BTreeMap<String, pivotlog_proto::DebugEvent> {
    let mut publish = pivotlog(broker, TOPIC);
    publish.arg("simulate").args(args);
    run_ok(publish);
    simulated_events(broker, TOPIC, args)
}
