//! The owned partitions, read in step by the time their records were produced.
//!
//! librdkafka hands a consumer each partition's records in fetched batches, and a broker
//! may answer a fetch with much more of one partition than of another. So a backlog
//! published in time order (a month's export, a reindex) reached the indexer days apart
//! across partitions: measured against tansu, the four partitions of a time-ordered month
//! were written to four to eight day slices at once, and the writers of those slices took
//! turns being the one with the threads (`pivotlog_index`'s writer pool), a commit each
//! time. Here each partition has its own queue, and the next record is taken from the
//! partition whose last record was produced earliest, as Kafka Streams takes the partition
//! with the oldest head: the partitions advance together in produce time, so a topic
//! published in time order is read in time order whatever the broker's batches. A
//! partition with nothing fetched yet is passed over, never waited for, so an idle
//! partition holds nobody back.

use std::cell::{Cell, RefCell};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::base_consumer::PartitionQueue;
use rdkafka::consumer::{BaseConsumer, DefaultConsumerContext};
use rdkafka::error::KafkaResult;
use rdkafka::message::{BorrowedMessage, Message};

use super::POLL_TIMEOUT;

/// How long the main queue is waited on when no partition has a record fetched: the
/// most a record fetched meanwhile waits to be read.
const IDLE_WAIT: Duration = Duration::from_millis(10);
/// How often a busy loop still serves the main queue, where librdkafka delivers the
/// consumer's errors and callbacks.
const SERVE_MAIN_EVERY: Duration = Duration::from_millis(100);

/// The partition queues of the current assignment.
pub(super) struct InStep {
    lanes: Vec<Lane>,
    /// Indexes of `lanes`, furthest behind first: kept across records so that ordering
    /// them allocates nothing per record.
    order: RefCell<Vec<usize>>,
    last_main_poll: Cell<Instant>,
}

struct Lane {
    queue: PartitionQueue<DefaultConsumerContext>,
    /// Kafka timestamp (ms) of the last record taken from this partition; `i64::MIN`
    /// before the first, so a partition not read yet goes first.
    last_produced: Cell<i64>,
}

impl InStep {
    /// Splits `partitions` of `topic` off the consumer's main queue. Call it after every
    /// `assign`, which deactivates the queues split before.
    pub fn split(consumer: &Arc<BaseConsumer>, topic: &str, partitions: &[i32]) -> InStep {
        let lanes: Vec<Lane> = partitions
            .iter()
            .filter_map(|&partition| consumer.split_partition_queue(topic, partition))
            .map(|queue| Lane {
                queue,
                last_produced: Cell::new(i64::MIN),
            })
            .collect();
        InStep {
            order: RefCell::new((0..lanes.len()).collect()),
            lanes,
            last_main_poll: Cell::new(Instant::now()),
        }
    }

    /// Nothing split off: every record comes from the main queue.
    pub fn unassigned() -> InStep {
        InStep {
            lanes: Vec::new(),
            order: RefCell::new(Vec::new()),
            last_main_poll: Cell::new(Instant::now()),
        }
    }

    /// The next record or consumer error to handle, serving `consumer`'s main queue on
    /// the way; `None` when nothing arrived within a short wait (caught up).
    pub fn next<'a>(&'a self, consumer: &'a BaseConsumer) -> Option<KafkaResult<BorrowedMessage<'a>>> {
        if self.lanes.is_empty() {
            return consumer.poll(POLL_TIMEOUT);
        }
        if self.last_main_poll.get().elapsed() >= SERVE_MAIN_EVERY {
            self.last_main_poll.set(Instant::now());
            if let Some(polled) = consumer.poll(Duration::ZERO) {
                return Some(polled);
            }
        }
        if let Some(polled) = self.poll_lanes() {
            return Some(polled);
        }
        self.last_main_poll.set(Instant::now());
        consumer.poll(IDLE_WAIT)
    }

    /// The next fetched record (or error) of the partition that is furthest behind in
    /// produce time among those that have one; `None` when no partition has anything
    /// fetched.
    fn poll_lanes(&self) -> Option<KafkaResult<BorrowedMessage<'_>>> {
        let mut order = self.order.borrow_mut();
        order.sort_by_key(|&lane| self.lanes[lane].last_produced.get());
        for &lane in order.iter() {
            let lane = &self.lanes[lane];
            if let Some(polled) = lane.queue.poll(Duration::ZERO) {
                if let Ok(message) = &polled {
                    if let Some(produced) = message.timestamp().to_millis() {
                        lane.last_produced.set(produced);
                    }
                }
                return Some(polled);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use rdkafka::config::ClientConfig;
    use rdkafka::consumer::Consumer;
    use rdkafka::mocking::MockCluster;
    use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
    use rdkafka::{Offset, TopicPartitionList};

    use super::*;

    const TOPIC: &str = "in-step";
    const PER_PARTITION: i64 = 300;

    /// Partition 0 gets the even seconds, partition 1 the odd ones, all produced before
    /// the consumer starts, so the broker's first fetch answer holds all of both.
    fn produce(cluster: &MockCluster<'_, DefaultProducerContext>) {
        let producer: ThreadedProducer<DefaultProducerContext> = ClientConfig::new()
            .set("bootstrap.servers", cluster.bootstrap_servers())
            .create()
            .unwrap();
        for i in 0..PER_PARTITION {
            for partition in 0..2 {
                let produced = 1_700_000_000_000 + (2 * i + i64::from(partition)) * 1_000;
                producer
                    .send(
                        BaseRecord::<(), [u8]>::to(TOPIC)
                            .partition(partition)
                            .payload(&[0u8; 64][..])
                            .timestamp(produced),
                    )
                    .map_err(|(err, _)| err)
                    .unwrap();
            }
        }
        producer.flush(Duration::from_secs(10)).unwrap();
    }

    #[test]
    fn partitions_fetched_apart_are_read_in_produce_order() {
        let cluster = MockCluster::new(1).unwrap();
        cluster.create_topic(TOPIC, 2, 1).unwrap();
        produce(&cluster);
        let consumer: Arc<BaseConsumer> = Arc::new(
            ClientConfig::new()
                .set("bootstrap.servers", cluster.bootstrap_servers())
                .set("group.id", "in-step")
                .set("enable.auto.commit", "false")
                .create()
                .unwrap(),
        );
        let mut assignment = TopicPartitionList::new();
        for partition in 0..2 {
            assignment
                .add_partition_offset(TOPIC, partition, Offset::Beginning)
                .unwrap();
        }
        consumer.assign(&assignment).unwrap();
        let in_step = InStep::split(&consumer, TOPIC, &[0, 1]);
        // Let both partitions' fetches land: the order to check is the reading, not
        // which partition's first fetch comes back first.
        std::thread::sleep(Duration::from_secs(1));

        let mut produced = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while produced.len() < 2 * PER_PARTITION as usize && Instant::now() < deadline {
            match in_step.next(&consumer) {
                Some(Ok(message)) => produced.push(message.timestamp().to_millis().unwrap()),
                Some(Err(err)) => panic!("consumer error: {err}"),
                None => {}
            }
        }
        assert_eq!(produced.len(), 2 * PER_PARTITION as usize, "every record is read");
        // Read in step: no record comes after one produced more than a few seconds
        // later (a partition is passed over only while nothing of it is fetched). Read
        // as fetched, partition 1 would start after all 300 of partition 0 (600 s later).
        let mut latest = produced[0];
        let mut worst_lag = 0;
        for &at in &produced {
            worst_lag = worst_lag.max(latest - at);
            latest = latest.max(at);
        }
        assert!(
            worst_lag <= 60_000,
            "a record was read {worst_lag} ms of produce time late"
        );
    }
}
