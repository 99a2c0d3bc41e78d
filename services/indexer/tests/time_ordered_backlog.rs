//! A backlog in time order spanning several days, through the real consume → index →
//! commit loop (librdkafka's mock cluster as the broker, an on-disk index): each new
//! day is promoted to the primary writer by a commit as soon as the records have moved
//! on to it, without waiting for the commit interval, which in a replay of a month
//! (a day a second) would leave most of every day on a one-thread secondary writer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use rdkafka::config::ClientConfig;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};

use pivotlog_index::PivotIndex;
use pivotlog_indexer::{IndexerConfig, IndexerStats};
use pivotlog_proto::DebugEvent;

const TOPIC: &str = "time-ordered";
const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
/// 2024-03-01T00:00:00Z: far older than the backlog age, so commits are spaced widely.
const START: i64 = 1_709_251_200_000;
const DAYS: i64 = 3;
/// A day's calls, each a request and a response: well past the promotion threshold
/// (1,000 records) on every day.
const CALLS_PER_DAY: i64 = 1_500;

fn events() -> Vec<DebugEvent> {
    pivotlog_testkit::events::daily_calls(ACCOUNT, START, DAYS, CALLS_PER_DAY)
        .into_iter()
        .flatten()
        .collect()
}

#[test]
fn each_new_day_of_a_backlog_is_promoted_without_waiting_for_the_commit_interval() {
    let cluster = MockCluster::new(1).unwrap();
    cluster.create_topic(TOPIC, 2, 1).unwrap();
    let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .unwrap();
    let events = events();
    for event in &events {
        let payload = event.encode_to_vec();
        producer
            .send(
                BaseRecord::to(TOPIC)
                    .key(event.call_id.as_bytes())
                    .payload(&payload)
                    .timestamp(event.created_unix_ms),
            )
            .map_err(|(err, _)| err)
            .unwrap();
    }
    producer.flush(Duration::from_secs(10)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let mut kafka = ClientConfig::new();
    kafka
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", "time-ordered");
    // Neither interval comes due in this test: every commit before shutdown is a
    // promotion's.
    let mut config = IndexerConfig::new(TOPIC);
    config.commit_interval = Duration::from_secs(3_600);
    config.backlog_commit_interval = Duration::from_secs(3_600);
    let stats = Arc::new(IndexerStats::default());
    let shutdown = Arc::new(AtomicBool::new(false));
    let indexer = {
        let (index, stats, shutdown) = (index.clone(), stats.clone(), shutdown.clone());
        std::thread::spawn(move || pivotlog_indexer::run(&index, &kafka, &config, &stats, &shutdown))
    };

    let deadline = Instant::now() + Duration::from_secs(60);
    while IndexerStats::get(&stats.indexed) < events.len() as u64 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let indexed = IndexerStats::get(&stats.indexed);
    let commits_before_shutdown = IndexerStats::get(&stats.commits);
    shutdown.store(true, Ordering::Relaxed);
    indexer.join().unwrap().unwrap();

    assert_eq!(indexed, events.len() as u64, "every record is indexed");
    // Days 2 and 3 are each promoted by a commit of their own once 1,000 of their
    // records went to a secondary (a few more if a day's stragglers interleave).
    assert!(
        commits_before_shutdown >= (DAYS - 1) as u64,
        "{commits_before_shutdown} commits before shutdown: a new day waited for the commit interval"
    );
    index.reload().unwrap();
    assert_eq!(index.count_records().unwrap(), events.len());
    assert_eq!(index.info().unwrap().slices.len(), DAYS as usize);
}
