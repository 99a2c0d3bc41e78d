//! Poison records, the case `poison.rs` lacks: oversized ones. With
//! `--max-record-bytes`, a record over the limit is skipped like an undecodable one:
//! counted, dead-lettered with reason `oversized`, the checkpoint moves past it, and
//! every valid record around it (including one exactly at the limit) is indexed. A
//! dead letter larger than the dead-letter producer may send (a 1.5 MB garbage record,
//! a 4 MB event) is cut, says so in `pivotlog.payload.truncated`, and does not block
//! the commits after it.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use prost::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message as _};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use support::*;

const LIMIT: usize = 3_000_000;

fn event(n: u32, body: String) -> pivotlog_proto::DebugEvent {
    response_event(format!("event-{n}"), n, body)
}

/// An event whose encoding is exactly `bytes` long.
fn event_of_size(n: u32, bytes: usize) -> Vec<u8> {
    let mut body_len = bytes;
    loop {
        let encoded = event(n, "x".repeat(body_len)).encode_to_vec();
        match encoded.len().cmp(&bytes) {
            std::cmp::Ordering::Equal => return encoded,
            std::cmp::Ordering::Greater => body_len -= encoded.len() - bytes,
            std::cmp::Ordering::Less => body_len += 1,
        }
    }
}

#[test]
fn oversized_records_are_dead_lettered_and_skipped() {
    let broker = Broker::start();
    broker.create_topic("events", 1);
    broker.create_topic("dead", 1);
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .set("message.max.bytes", "10000000")
        .create()
        .unwrap();

    // (payload, Some(event id) if it must be indexed, else the dead-letter reason prefix)
    let mut n = 0;
    let mut small = || {
        n += 1;
        (event(n, "ok".into()).encode_to_vec(), Ok(format!("event-{n}")))
    };
    let records: Vec<(Vec<u8>, Result<String, &str>)> = vec![
        small(),
        small(),
        (event_of_size(100, LIMIT), Ok("event-100".into())),
        small(),
        (event_of_size(101, LIMIT + 1), Err("oversized: 3000001 bytes")),
        small(),
        (vec![0xff; 1_500_000], Err("not a pivot.debug.v1.DebugEvent")),
        small(),
        (event_of_size(102, 4_000_000), Err("oversized: 4000000 bytes")),
        small(),
    ];
    for (payload, _) in &records {
        producer
            .send(BaseRecord::<(), _>::to("events").payload(payload.as_slice()))
            .unwrap();
    }
    producer.flush(Duration::from_secs(60)).unwrap();

    let data = tempfile::tempdir().unwrap();
    let health_port = free_port();
    let mut indexer = pivotlog(&broker, "events");
    indexer
        .args([
            "indexer",
            "--commit-interval-ms",
            "100",
            "--dead-letter-topic",
            "dead",
        ])
        .args(["--max-record-bytes", &LIMIT.to_string(), "--health-listen"])
        .arg(format!("127.0.0.1:{health_port}"))
        .arg("--data-dir")
        .arg(data.path());
    let indexer = Process::spawn(indexer);
    let index = open_index(data.path());
    let total = records.len() as i64;
    wait_until("checkpoint past every record", Duration::from_secs(120), || {
        index.checkpoint().unwrap().next_offset(0) == Some(total)
    });
    // Counted and reported: the indexer's health endpoint carries the counters.
    let health = Api {
        base: format!("http://127.0.0.1:{health_port}"),
    };
    wait_until("the dead letters confirmed", Duration::from_secs(30), || {
        health
            .try_get("/healthz", None)
            .is_ok_and(|r| r.body["stats"]["dead_lettered"] == 3)
    });
    let stats = health.try_get("/healthz", None).unwrap().body["stats"].clone();
    assert_eq!(stats["oversized"], 2, "{stats}");
    assert_eq!(stats["undecodable"], 1, "{stats}");
    assert_eq!(
        stats["indexed"],
        records.iter().filter(|(_, outcome)| outcome.is_ok()).count(),
        "{stats}"
    );
    assert!(indexer.terminate().success());
    index.reload().unwrap();
    let indexed: BTreeMap<String, Vec<u8>> = index
        .all_records()
        .unwrap()
        .into_iter()
        .map(|e| (e.event_id.clone(), e.encode_to_vec()))
        .collect();
    let wanted: BTreeMap<String, Vec<u8>> = records
        .iter()
        .filter_map(|(payload, outcome)| outcome.clone().ok().map(|id| (id, payload.clone())))
        .collect();
    assert_eq!(
        indexed.keys().collect::<Vec<_>>(),
        wanted.keys().collect::<Vec<_>>(),
        "exactly the valid records within the limit are indexed"
    );
    assert_eq!(indexed, wanted, "indexed whole, the one at the limit included");

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .set("group.id", "test-dead")
        .create()
        .unwrap();
    let mut assignment = TopicPartitionList::new();
    assignment
        .add_partition_offset("dead", 0, Offset::Beginning)
        .unwrap();
    consumer.assign(&assignment).unwrap();
    let rejected: Vec<(&Vec<u8>, &str)> = records
        .iter()
        .filter_map(|(payload, outcome)| outcome.clone().err().map(|reason| (payload, reason)))
        .collect();
    let mut dead = Vec::new();
    wait_until("dead letters", Duration::from_secs(60), || {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            let header = |name: &str| {
                message.headers().and_then(|h| {
                    h.iter()
                        .find(|h| h.key == name)
                        .and_then(|h| h.value.map(|v| String::from_utf8_lossy(v).into_owned()))
                })
            };
            dead.push((
                message.payload().unwrap_or_default().to_vec(),
                header("pivotlog.error").unwrap_or_default(),
                header("pivotlog.payload.truncated"),
                header("pivotlog.source.offset"),
            ));
        }
        dead.len() >= rejected.len()
    });
    assert_eq!(dead.len(), rejected.len());
    for ((payload, reason, truncated, offset), (original, expected_reason)) in dead.iter().zip(&rejected) {
        assert!(
            reason.starts_with(expected_reason),
            "{reason:?} for {expected_reason:?}"
        );
        assert!(offset.is_some());
        assert!(
            original.starts_with(payload),
            "a dead letter carries the record's first bytes"
        );
        assert!(
            payload.len() < 1_000_000,
            "within the dead-letter producer's limit"
        );
        assert_eq!(
            truncated.as_deref(),
            Some(original.len().to_string().as_str()),
            "a cut payload gives the original size"
        );
    }
}
