//! Issue: scale-out (production brokers need SASL). A tansu broker that requires
//! SASL/SCRAM-SHA-512 authentication: the credentials reach librdkafka through
//! `PIVOTLOG_KAFKA_*` variables alone, for the producer and the indexer; wrong ones
//! are refused and the indexer says so on `/readyz` instead of indexing nothing quietly.

mod support;

use std::process::Command;
use std::time::Duration;

use support::*;

const TOPIC: &str = "pivot-debug";
const USER: &str = "pivotlog";
const PASSWORD: &str = "correct horse battery staple";

fn with_credentials(command: &mut Command, password: &str) {
    command
        .env("PIVOTLOG_KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT")
        .env("PIVOTLOG_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512")
        .env("PIVOTLOG_KAFKA_SASL_USERNAME", USER)
        .env("PIVOTLOG_KAFKA_SASL_PASSWORD", password)
        .env("PIVOTLOG_KAFKA_MESSAGE_TIMEOUT_MS", "5000");
}

fn indexer(broker: &Broker, dir: &std::path::Path, password: &str, health: u16) -> Process {
    let mut command = pivotlog(broker, TOPIC);
    command
        .args(["indexer", "--commit-interval-ms", "200", "--health-listen"])
        .arg(format!("127.0.0.1:{health}"))
        .arg("--data-dir")
        .arg(dir);
    with_credentials(&mut command, password);
    Process::spawn_logging(command, &dir.with_extension("log"))
}

#[test]
fn sasl_scram_credentials_reach_every_kafka_client() {
    let work = tempfile::tempdir().unwrap();
    // Users are created while the broker is open, then it restarts requiring them.
    let storage = format!("sqlite:///{}", work.path().join("tansu.db").display());
    let open = Broker::start_with_storage(storage);
    open.create_topic(TOPIC, 2);
    open.create_user(USER, PASSWORD);
    let (port, storage) = open.stop();
    let broker = Broker::start_on_with(port, storage, &["--authentication"]);

    let args = [
        "simulate",
        "--count",
        "300",
        "--seed",
        "5",
        "--start-unix-ms",
        "1710000000000",
    ];
    let mut refused = pivotlog(&broker, TOPIC);
    refused.args(args);
    with_credentials(&mut refused, "wrong password");
    let output = refused.output().unwrap();
    assert!(!output.status.success(), "a wrong password must not publish");

    let mut publish = pivotlog(&broker, TOPIC);
    publish.args(args);
    with_credentials(&mut publish, PASSWORD);
    run_ok(publish);

    // Wrong credentials: not ready, says why, indexes nothing.
    let (bad_health, good_health) = (free_port(), free_port());
    let bad_dir = work.path().join("bad");
    let _bad = indexer(&broker, &bad_dir, "wrong password", bad_health);
    let bad = Api {
        base: format!("http://127.0.0.1:{bad_health}"),
    };
    wait_until("the health endpoint", Duration::from_secs(30), || {
        bad.try_get("/readyz", None).is_ok()
    });
    std::thread::sleep(Duration::from_secs(3));
    let reply = bad.get("/readyz", None);
    assert_eq!(reply.status, 503, "{}", reply.body);
    assert_eq!(reply.body["stats"]["indexed"], 0);

    // The right ones: every record is indexed.
    let good_dir = work.path().join("good");
    let _good = indexer(&broker, &good_dir, PASSWORD, good_health);
    let index = open_index(&good_dir);
    wait_until("every record indexed over SASL", Duration::from_secs(60), || {
        indexed(&index) >= 300
    });
    assert_eq!(indexed(&index), 300);
    let good = Api {
        base: format!("http://127.0.0.1:{good_health}"),
    };
    assert_eq!(good.get("/readyz", None).status, 200);
}
