//! The Kafka consumer's settings, and how the loop knows whether the broker is there:
//! a periodic metadata probe, which also reads the watermarks for lag.
//!
//! Records do not prove the broker is up: they may come from librdkafka's prefetch
//! queue long after it went down. Hence the probe, more often while it is down so that
//! readiness returns soon after the broker does.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use tracing::{debug, info, warn};

use super::Session;

const PROBE_INTERVAL: Duration = Duration::from_secs(5);
const PROBE_INTERVAL_DOWN: Duration = Duration::from_secs(2);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) fn consumer(kafka: &ClientConfig) -> Result<BaseConsumer, KafkaError> {
    let mut config = kafka.clone();
    if config.get("group.id").is_none() {
        config.set("group.id", "pivotlog-indexer");
    }
    // The index owns the position; Kafka must not move it behind our back.
    config
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest");
    // Each owned partition has its own queue (`in_step`), and librdkafka then bounds the
    // prefetch per partition: 16 MiB each keeps four partitions at the single queue's
    // default of 64 MiB.
    if config.get("queued.max.messages.kbytes").is_none() {
        config.set("queued.max.messages.kbytes", "16384");
    }
    // librdkafka's 500 ms lets a broker hold a fetch that long: measured against tansu,
    // it halved backlog throughput and added half a second to freshness
    // (benches/README.md). 50 ms costs an idle consumer 20 fetches a second.
    if config.get("fetch.wait.max.ms").is_none() {
        config.set("fetch.wait.max.ms", "50");
    }
    config.create()
}

impl Session<'_> {
    pub(super) fn probe_broker_if_due(&mut self) {
        let interval = if self.stats.broker_reachable.load(Ordering::Relaxed) {
            PROBE_INTERVAL
        } else {
            PROBE_INTERVAL_DOWN
        };
        if self.last_probe.elapsed() >= interval {
            self.probe_broker();
        }
    }

    /// Asks the broker for the topic's metadata, to know whether it is reachable.
    fn probe_broker(&mut self) {
        self.last_probe = Instant::now();
        match self
            .consumer
            .fetch_metadata(Some(&self.config.topic), PROBE_TIMEOUT)
        {
            Ok(_) => {
                self.broker_reachable(true, None);
                self.read_watermarks();
            }
            Err(err) => self.broker_reachable(false, Some(&err.to_string())),
        }
    }

    /// Reads the end of each owned partition, for lag and for whether the partition
    /// has caught up (a shard answers for a partition as complete only then).
    pub(super) fn read_watermarks(&self) {
        for &partition in &self.owned {
            match self
                .consumer
                .fetch_watermarks(&self.config.topic, partition, PROBE_TIMEOUT)
            {
                Ok((low, high)) => self.stats.set_watermarks(partition, low, high),
                Err(err) => debug!(partition, error = %err, "cannot read the watermarks"),
            }
        }
    }

    /// Records whether the broker is reachable, logging each change.
    pub(super) fn broker_reachable(&mut self, reachable: bool, reason: Option<&str>) {
        if reachable {
            // Any answer from the broker is as good as a probe.
            self.last_probe = Instant::now();
        }
        let was = self.stats.broker_reachable.swap(reachable, Ordering::Relaxed);
        match (was, reachable) {
            (true, false) => warn!(
                reason = reason.unwrap_or("unknown"),
                "the Kafka broker is unreachable; retrying (nothing is lost, indexing resumes at the checkpoint)"
            ),
            // Not at start-up: "again" only after an outage.
            (false, true) if self.stats.consuming.load(Ordering::Relaxed) => {
                info!("the Kafka broker is reachable again")
            }
            _ => {}
        }
    }
}
