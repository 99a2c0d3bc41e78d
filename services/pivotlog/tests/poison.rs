//! Undecodable records are counted, dead-lettered and skipped; every valid record
//! around them is indexed and the checkpoint moves past all of them.

mod support;

use std::time::Duration;

use prost::Message;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use support::*;

fn valid(n: u32) -> Vec<u8> {
    response_event(format!("valid-{n}"), n, "ok".into()).encode_to_vec()
}

#[test]
fn poison_records_are_dead_lettered_and_skipped() {
    let broker = Broker::start();
    broker.create_topic("events", 1);
    broker.create_topic("dead", 1);
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.address())
        .create()
        .unwrap();
    let mut future_version = pivotlog_proto::DebugEvent::decode(valid(0).as_slice()).unwrap();
    future_version.schema_version = 99;
    future_version.event_id = "future".into();
    let mut missing_call = pivotlog_proto::DebugEvent::decode(valid(0).as_slice()).unwrap();
    missing_call.call_id.clear();
    missing_call.event_id = "missing".into();
    let truncated = valid(1000);
    let poison: Vec<Vec<u8>> = vec![
        b"\xff\xfe garbage".to_vec(),
        truncated[..truncated.len() / 2].to_vec(),
        future_version.encode_to_vec(),
        missing_call.encode_to_vec(),
        Vec::new(),
    ];
    let mut sent_valid = 0;
    for bad in &poison {
        for _ in 0..3 {
            producer
                .send(BaseRecord::<(), _>::to("events").payload(&valid(sent_valid)))
                .unwrap();
            sent_valid += 1;
        }
        producer
            .send(BaseRecord::<(), _>::to("events").payload(bad.as_slice()))
            .unwrap();
    }
    producer
        .send(BaseRecord::<(), _>::to("events").payload(&valid(sent_valid)))
        .unwrap();
    sent_valid += 1;
    producer.flush(Duration::from_secs(30)).unwrap();

    let data = tempfile::tempdir().unwrap();
    let mut indexer = pivotlog(&broker, "events");
    indexer
        .args([
            "indexer",
            "--commit-interval-ms",
            "100",
            "--dead-letter-topic",
            "dead",
            "--data-dir",
        ])
        .arg(data.path());
    let indexer = Process::spawn(indexer);
    let index = open_index(data.path());
    wait_until("valid records indexed", Duration::from_secs(60), || {
        indexed(&index) >= sent_valid as usize
    });
    let total = i64::from(sent_valid) + poison.len() as i64;
    wait_until("checkpoint past every record", Duration::from_secs(30), || {
        index.checkpoint().unwrap().next_offset(0) == Some(total)
    });
    assert!(indexer.terminate().success());
    assert_eq!(indexed(&index), sent_valid as usize);

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
    let mut dead = Vec::new();
    wait_until("dead letters", Duration::from_secs(30), || {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(100)) {
            use rdkafka::message::{Headers, Message as _};
            let reason = message.headers().and_then(|h| {
                h.iter()
                    .find(|h| h.key == "pivotlog.error")
                    .and_then(|h| h.value.map(|v| v.to_vec()))
            });
            dead.push((message.payload().unwrap_or_default().to_vec(), reason));
        }
        dead.len() >= poison.len()
    });
    let payloads: Vec<Vec<u8>> = dead.iter().map(|(payload, _)| payload.clone()).collect();
    assert_eq!(payloads, poison);
    assert!(
        dead.iter().all(|(_, reason)| reason.is_some()),
        "each dead letter says why"
    );
}
