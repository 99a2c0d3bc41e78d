//! The consume → index → commit loop.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Header, Message, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use tracing::{debug, error, info, warn};

use pivotlog_index::{AddOutcome, Checkpoint, IndexError, IndexWriter, PivotIndex, WriterConfig};
use pivotlog_proto::decode_event;

use crate::{IndexerStats, Ownership};

/// How the indexer consumes and commits.
#[derive(Debug, Clone)]
pub struct IndexerConfig {
    pub topic: String,
    /// Partitions this indexer owns.
    pub ownership: Ownership,
    /// Longest time a handled record waits before it is committed (and searchable),
    /// once the indexer has caught up with its partitions.
    pub commit_interval: Duration,
    /// Spacing of commits while the records read are older than [`BACKLOG_AGE`]
    /// (a replay, a restart after downtime): fewer, larger segments and far less
    /// merging; searchable data lags by at most this much until the indexer catches up.
    pub backlog_commit_interval: Duration,
    /// Where undecodable and oversized records are copied, if anywhere.
    pub dead_letter_topic: Option<String>,
    /// Largest record value indexed; a larger one is skipped as `oversized` (and
    /// dead-lettered), like an undecodable one.
    pub max_record_bytes: usize,
    /// The index directory, if on disk: when indexing fails, a write probe there tells
    /// a full or read-only disk apart from other errors in the log and `/readyz`.
    pub data_dir: Option<PathBuf>,
    pub writer: WriterConfig,
}

/// Default of [`IndexerConfig::commit_interval`]: freshness p99 under 2 s at 2,000
/// records/s needs commits twice a second (1 s gave 2.1 s; benches/README.md).
pub const DEFAULT_COMMIT_INTERVAL: Duration = Duration::from_millis(500);

/// Default of [`IndexerConfig::backlog_commit_interval`].
pub const DEFAULT_BACKLOG_COMMIT_INTERVAL: Duration = Duration::from_secs(5);
/// A record produced this long ago means the indexer is replaying a backlog.
pub const BACKLOG_AGE: Duration = Duration::from_secs(10);

/// Default of [`IndexerConfig::max_record_bytes`]: above any default Kafka message
/// limit (1 MB), so only clusters configured for huge messages ever reach it.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 8 << 20;

impl IndexerConfig {
    pub fn new(topic: &str) -> IndexerConfig {
        IndexerConfig {
            topic: topic.to_owned(),
            ownership: Ownership::All,
            commit_interval: DEFAULT_COMMIT_INTERVAL,
            backlog_commit_interval: DEFAULT_BACKLOG_COMMIT_INTERVAL,
            dead_letter_topic: None,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            data_dir: None,
            writer: WriterConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IndexerError {
    #[error("kafka client: {0}")]
    Kafka(#[from] KafkaError),
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("the index holds offsets of topic {stored:?}, not {configured:?}; use a fresh data directory")]
    TopicMismatch { stored: String, configured: String },
}

const POLL_TIMEOUT: Duration = Duration::from_millis(100);
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);
const PARTITION_REFRESH: Duration = Duration::from_secs(30);
const RETRY_BACKOFF: Duration = Duration::from_secs(1);
/// How often the broker is probed (a metadata request), so that readiness reflects an
/// outage and its end. Records do not prove the broker is up: they may come from
/// librdkafka's prefetch queue long after it went down.
const PROBE_INTERVAL: Duration = Duration::from_secs(5);
/// The same, while it is unreachable.
const PROBE_INTERVAL_DOWN: Duration = Duration::from_secs(2);
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

/// Runs the indexer until `shutdown` is set, then commits what it has and returns.
/// Blocking: call it on a thread of its own.
pub fn run(
    index: &PivotIndex,
    kafka: &ClientConfig,
    config: &IndexerConfig,
    stats: &IndexerStats,
    shutdown: &AtomicBool,
) -> Result<(), IndexerError> {
    let writer = IndexWriter::new(index, &config.writer)?;
    if let Some(stored) = &writer.checkpoint().topic {
        if *stored != config.topic {
            return Err(IndexerError::TopicMismatch {
                stored: stored.clone(),
                configured: config.topic.clone(),
            });
        }
    }
    let consumer = consumer(kafka)?;
    let dead_letters = match &config.dead_letter_topic {
        Some(topic) => Some(DeadLetters::new(kafka, topic)?),
        None => None,
    };
    let mut session = Session {
        config,
        resume: HashMap::new(),
        consumer,
        writer,
        dead_letters,
        stats,
        owned: Vec::new(),
        last_probe: Instant::now(),
    };
    session.run(shutdown)
}

/// A partition resumed from a checkpoint, until its first record proves the position.
struct Resume {
    expected: i64,
    /// How far before `expected` the partition was re-read (0: not yet).
    lookback: i64,
    /// Records before `expected` were seen since the re-read.
    seen_before: bool,
}

/// Largest re-read before a gap is accepted as real (compaction, transaction markers).
const MAX_LOOKBACK: i64 = 1 << 20;

struct Session<'a> {
    config: &'a IndexerConfig,
    resume: HashMap<i32, Resume>,
    consumer: BaseConsumer,
    writer: IndexWriter,
    dead_letters: Option<DeadLetters>,
    stats: &'a IndexerStats,
    owned: Vec<i32>,
    /// Last probe of the broker, or proof that it is reachable (an assignment).
    last_probe: Instant,
}

impl Session<'_> {
    fn run(&mut self, shutdown: &AtomicBool) -> Result<(), IndexerError> {
        let mut last_commit = Instant::now();
        let mut last_refresh = Instant::now() - PARTITION_REFRESH;
        let mut backlog = false;
        while !shutdown.load(Ordering::Relaxed) {
            if last_refresh.elapsed() >= PARTITION_REFRESH || self.owned.is_empty() {
                last_refresh = Instant::now();
                if let Err(err) = self.refresh_assignment() {
                    warn!(error = %err, topic = %self.config.topic, "cannot assign partitions yet; retrying");
                    self.stats.consuming.store(false, Ordering::Relaxed);
                    std::thread::sleep(RETRY_BACKOFF);
                    continue;
                }
            }
            let polled = self.consumer.poll(POLL_TIMEOUT);
            match &polled {
                Some(Ok(message)) => backlog = is_backlog(message),
                None => backlog = false,
                Some(Err(_)) => {}
            }
            match polled {
                Some(Ok(message))
                    if check_resume(
                        &mut self.resume,
                        &self.consumer,
                        &self.config.topic,
                        &mut self.owned,
                        &message,
                    ) =>
                {
                    if let Err(err) = handle(
                        &mut self.writer,
                        &mut self.dead_letters,
                        self.stats,
                        self.config.max_record_bytes,
                        &message,
                    ) {
                        // E.g. a full disk: tantivy's indexing threads write as they go,
                        // and the first failure kills the writer. Start over from the
                        // checkpoint with a fresh writer until the disk takes it.
                        drop(message);
                        self.failed("indexing failed", err.to_string());
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(KafkaError::MessageConsumption(RDKafkaErrorCode::AllBrokersDown))) => {
                    self.broker_reachable(false, Some("every broker connection is down"));
                }
                Some(Err(err)) => debug!(error = %err, "consumer error (librdkafka retries by itself)"),
                None => {}
            }
            let probe_interval = if self.stats.broker_reachable.load(Ordering::Relaxed) {
                PROBE_INTERVAL
            } else {
                PROBE_INTERVAL_DOWN
            };
            if self.last_probe.elapsed() >= probe_interval {
                self.probe_broker();
            }
            let due = if backlog {
                self.config
                    .backlog_commit_interval
                    .max(self.config.commit_interval)
            } else {
                self.config.commit_interval
            };
            if last_commit.elapsed() >= due {
                self.commit();
                last_commit = Instant::now();
            }
        }
        info!("shutting down: final commit");
        if self.writer.is_dirty() && !self.commit() {
            warn!("the final commit failed; uncommitted records will be re-read on restart");
        }
        Ok(())
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
    fn read_watermarks(&self) {
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
    fn broker_reachable(&mut self, reachable: bool, reason: Option<&str>) {
        if reachable {
            self.last_probe = Instant::now();
        }
        let was = self.stats.broker_reachable.swap(reachable, Ordering::Relaxed);
        match (was, reachable) {
            (true, false) => warn!(
                reason = reason.unwrap_or("unknown"),
                "the Kafka broker is unreachable; retrying (nothing is lost, indexing resumes at the checkpoint)"
            ),
            (false, true) if self.stats.consuming.load(Ordering::Relaxed) => {
                info!("the Kafka broker is reachable again")
            }
            _ => {}
        }
    }

    /// Assigns the owned partitions at their checkpointed offsets (first run, or when
    /// the topic gained partitions).
    fn refresh_assignment(&mut self) -> Result<(), IndexerError> {
        let topic = &self.config.topic;
        let metadata = self.consumer.fetch_metadata(Some(topic), METADATA_TIMEOUT)?;
        let existing: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if existing.is_empty() {
            return Err(
                KafkaError::MetadataFetch(rdkafka::types::RDKafkaErrorCode::UnknownTopicOrPartition).into(),
            );
        }
        let mut wanted: Vec<i32> = existing
            .iter()
            .copied()
            .filter(|&p| self.config.ownership.owns(p))
            .collect();
        wanted.sort_unstable();
        self.broker_reachable(true, None);
        self.stats.set_topic_partitions(existing.len());
        if wanted == self.owned {
            self.stats.consuming.store(true, Ordering::Relaxed);
            return Ok(());
        }
        let ownership = &self.config.ownership;
        let dropped = self.writer.forget_partitions(|p| ownership.owns(p));
        if !dropped.is_empty() {
            info!(partitions = ?dropped, "no longer owned: dropping them from the index at the next commit");
        }
        let checkpoint = self.writer.checkpoint().clone();
        self.resume.clear();
        self.assign(&wanted, &checkpoint)?;
        self.stats.set_owned(&wanted, &checkpoint);
        self.owned = wanted;
        self.read_watermarks();
        self.stats.consuming.store(true, Ordering::Relaxed);
        info!(topic = %topic, partitions = ?self.owned, "consuming");
        Ok(())
    }

    fn assign(&mut self, partitions: &[i32], checkpoint: &Checkpoint) -> Result<(), IndexerError> {
        let topic = &self.config.topic;
        let mut assignment = TopicPartitionList::new();
        for &partition in partitions {
            let offset = match checkpoint.next_offset(partition) {
                Some(next) if self.beyond_end(partition, next) => {
                    error!(
                        topic = %topic, partition, checkpoint = next,
                        "checkpoint is beyond the end of the partition (was the topic recreated?); replaying the \
                         partition from its beginning, already indexed events are skipped by event id"
                    );
                    self.writer.reset_position(partition);
                    Offset::Beginning
                }
                Some(next) => {
                    self.resume.insert(
                        partition,
                        Resume {
                            expected: next,
                            lookback: 0,
                            seen_before: false,
                        },
                    );
                    Offset::Offset(next)
                }
                None => Offset::Beginning,
            };
            assignment.add_partition_offset(topic, partition, offset)?;
        }
        self.consumer.assign(&assignment)?;
        Ok(())
    }

    /// Whether `next` lies past the partition's high watermark. Some brokers (tansu)
    /// report the last batch's base offset as the watermark, which makes this true for a
    /// caught-up checkpoint too: the partition is then replayed and deduplicated, which
    /// costs time but never correctness.
    fn beyond_end(&self, partition: i32, next: i64) -> bool {
        match self
            .consumer
            .fetch_watermarks(&self.config.topic, partition, METADATA_TIMEOUT)
        {
            Ok((_, high)) => next > high,
            Err(err) => {
                warn!(partition, error = %err, "cannot read the high watermark; resuming at the checkpoint");
                false
            }
        }
    }

    /// Commits if anything changed. On failure, rolls back and re-reads from the
    /// committed checkpoint. Returns whether the index is now durable.
    fn commit(&mut self) -> bool {
        match self.writer.adopt_rebuilt() {
            Ok(false) if !self.writer.is_swapped() => {}
            Ok(_) => {
                info!("the rebuilt index (pivotlog reindex) is live: continuing from its checkpoint");
                self.rewind();
                return true;
            }
            Err(err) => warn!(error = %err, "cannot swap the rebuilt index in; retrying at the next commit"),
        }
        if !self.writer.is_dirty() {
            self.stats.nothing_to_commit(unix_ms_now());
            return true;
        }
        self.stats.batch_ending();
        let outcome = match self.dead_letters.as_mut().map(DeadLetters::confirm) {
            Some(Err(err)) => Err(format!("dead-letter delivery failed: {err}")),
            Some(Ok(confirmed)) => {
                self.stats.dead_lettered.fetch_add(confirmed, Ordering::Relaxed);
                self.writer.commit().map_err(|err| err.to_string())
            }
            None => self.writer.commit().map_err(|err| err.to_string()),
        };
        match outcome {
            Ok(committed) => {
                self.stats.commit_succeeded(committed.duration, unix_ms_now());
                if self.stats.commit_failing.load(Ordering::Relaxed) {
                    info!("committing again: the checkpoint advances");
                }
                self.stats.set_commit_error(None);
                self.stats
                    .last_commit_unix_ms
                    .store(unix_ms_now(), Ordering::Relaxed);
                self.stats.committed(self.writer.checkpoint());
                debug!(records = committed.records, calls = committed.calls, took = ?committed.duration, "committed");
                self.commit_group_offsets();
                true
            }
            Err(reason) => {
                self.failed("commit failed", reason);
                false
            }
        }
    }

    /// Indexing or committing failed: nothing since the checkpoint counts. Says why,
    /// rolls back to a fresh writer and re-reads from the checkpoint after a pause.
    fn failed(&mut self, what: &str, error: String) {
        self.stats.commit_failed();
        let reason = match self.config.data_dir.as_deref().and_then(unwritable) {
            Some(disk) => format!("{error}; the index directory is not writable: {disk}"),
            None => error,
        };
        error!(%reason, "{what}; the checkpoint does not advance, re-reading from it");
        self.stats.set_commit_error(Some(reason));
        self.rewind();
        std::thread::sleep(RETRY_BACKOFF);
    }

    fn rewind(&mut self) {
        match self.writer.rollback() {
            Ok(checkpoint) => {
                self.resume.clear();
                let owned = self.owned.clone();
                if let Err(err) = self.assign(&owned, &checkpoint) {
                    error!(error = %err, "cannot rewind the consumer; it will be re-assigned");
                    self.owned.clear();
                }
            }
            Err(err) => {
                error!(error = %err, "rollback failed; re-assigning from the last checkpoint");
                self.owned.clear();
            }
        }
    }

    /// Mirrors the checkpoint into the consumer group so that lag tools see it.
    fn commit_group_offsets(&self) {
        let mut offsets = TopicPartitionList::new();
        for (&partition, &offset) in &self.writer.checkpoint().offsets {
            if self.owned.contains(&partition) {
                let _ = offsets.add_partition_offset(&self.config.topic, partition, Offset::Offset(offset));
            }
        }
        if offsets.count() > 0 {
            if let Err(err) = self.consumer.commit(&offsets, CommitMode::Async) {
                debug!(error = %err, "group offset commit failed (informational only)");
            }
        }
    }
}

/// Why `dir` cannot take a small write right now (full, read-only, gone), if it cannot.
fn unwritable(dir: &Path) -> Option<String> {
    let probe = dir.join(".pivotlog-write-probe");
    let outcome = std::fs::File::create(&probe).and_then(|mut file| {
        file.write_all(&[0; 8192])?;
        file.sync_all()
    });
    let _ = std::fs::remove_file(&probe);
    outcome.err().map(|err| err.to_string())
}

/// Verifies that a resumed partition restarts exactly at its checkpoint. Returns
/// false when the message must be dropped because the partition was re-positioned.
///
/// Two brokers' behaviours are handled here. If the checkpoint is out of the
/// partition's range (topic recreated, retention), librdkafka restarts from the
/// earliest offset: that is logged, and already indexed events are skipped by id.
/// If the broker answers a fetch from the middle of a record batch with the *next*
/// batch (tansu does), records would be skipped: the partition is re-read from a bit
/// earlier instead, and the records before the checkpoint are skipped as duplicates.
fn check_resume(
    resume: &mut HashMap<i32, Resume>,
    consumer: &BaseConsumer,
    topic: &str,
    owned: &mut Vec<i32>,
    message: &BorrowedMessage<'_>,
) -> bool {
    let (partition, offset) = (message.partition(), message.offset());
    let Some(state) = resume.get_mut(&partition) else {
        return true;
    };
    let expected = state.expected;
    if offset == expected {
        resume.remove(&partition);
    } else if offset < expected {
        if state.lookback == 0 && !state.seen_before {
            error!(
                topic = %topic, partition, checkpoint = expected, restarted_at = offset,
                "checkpoint is out of the partition's range (topic recreated, or retention deleted \
                 records before they were indexed); replaying, already indexed events are skipped by event id"
            );
            resume.remove(&partition);
        } else {
            state.seen_before = true;
        }
    } else if state.seen_before || state.lookback >= MAX_LOOKBACK {
        warn!(topic = %topic, partition, from = expected, to = offset, "offsets absent on the broker");
        resume.remove(&partition);
    } else {
        state.lookback = (state.lookback * 16).max(1024);
        let from = (expected - state.lookback).max(0);
        debug!(
            partition,
            expected,
            got = offset,
            from,
            "broker skipped past the checkpoint; re-reading from earlier"
        );
        if let Err(err) = consumer.seek(topic, partition, Offset::Offset(from), METADATA_TIMEOUT) {
            warn!(error = %err, partition, "seek failed; re-assigning");
            owned.clear();
        }
        return false;
    }
    true
}

/// Handles one record: index it, or count (and dead-letter) it; then move past it.
fn handle(
    writer: &mut IndexWriter,
    dead_letters: &mut Option<DeadLetters>,
    stats: &IndexerStats,
    max_record_bytes: usize,
    message: &BorrowedMessage<'_>,
) -> Result<(), IndexerError> {
    stats.record_handled();
    let payload = message.payload().unwrap_or_default();
    if payload.len() > max_record_bytes {
        IndexerStats::bump(&stats.oversized);
        let reason = format!(
            "oversized: {} bytes, over the {max_record_bytes}-byte limit",
            payload.len()
        );
        warn!(
            topic = message.topic(),
            partition = message.partition(),
            offset = message.offset(),
            bytes = payload.len(),
            limit = max_record_bytes,
            "oversized record skipped"
        );
        if let Some(dead_letters) = dead_letters {
            dead_letters.send(message, &reason);
        }
        writer.set_position(message.topic(), message.partition(), message.offset() + 1);
        return Ok(());
    }
    match decode_event(payload) {
        Ok(event) => match writer.add_from_partition(message.partition(), &event, payload)? {
            AddOutcome::Added => IndexerStats::bump(&stats.indexed),
            AddOutcome::Duplicate => IndexerStats::bump(&stats.duplicates),
            AddOutcome::Expired => {
                let expired = stats.expired.fetch_add(1, Ordering::Relaxed) + 1;
                if expired == 1 || expired.is_multiple_of(10_000) {
                    warn!(
                        expired,
                        created_unix_ms = event.created_unix_ms,
                        "records older than the retention are not indexed (see --retention-days)"
                    );
                }
            }
        },
        Err(reason) => {
            IndexerStats::bump(&stats.undecodable);
            warn!(
                topic = message.topic(), partition = message.partition(), offset = message.offset(),
                bytes = payload.len(), %reason, "undecodable record skipped"
            );
            if let Some(dead_letters) = dead_letters {
                dead_letters.send(message, &reason.to_string());
            }
        }
    }
    writer.set_position(message.topic(), message.partition(), message.offset() + 1);
    Ok(())
}

/// True when the record was produced more than [`BACKLOG_AGE`] ago (by the Kafka
/// timestamp; records without one never count as backlog).
fn is_backlog(message: &BorrowedMessage) -> bool {
    let Some(produced_ms) = message.timestamp().to_millis() else {
        return false;
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    now_ms - produced_ms > BACKLOG_AGE.as_millis() as i64
}

fn consumer(kafka: &ClientConfig) -> Result<BaseConsumer, KafkaError> {
    let mut config = kafka.clone();
    if config.get("group.id").is_none() {
        config.set("group.id", "pivotlog-indexer");
    }
    // The index owns the position; Kafka must not move it behind our back.
    config
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest");
    if config.get("queued.max.messages.kbytes").is_none() {
        config.set("queued.max.messages.kbytes", "65536");
    }
    // librdkafka's 500 ms lets a broker hold a fetch that long: measured against tansu,
    // it halved backlog throughput and added half a second to freshness
    // (benches/README.md). 50 ms costs an idle consumer 20 fetches a second.
    if config.get("fetch.wait.max.ms").is_none() {
        config.set("fetch.wait.max.ms", "50");
    }
    config.create()
}

/// Copies undecodable records to a topic, with where they came from and why.
///
/// A dead letter's payload is cut to what the producer may send (`message.max.bytes`
/// less room for the key and headers), with the original size in a
/// `pivotlog.payload.truncated` header: a record the producer refuses would fail every
/// commit after it. The whole record stays in the source topic, at the offset given.
struct DeadLetters {
    producer: FutureProducer,
    topic: String,
    max_payload: usize,
    /// Enqueued deliveries, or why a record could not even be enqueued.
    pending: Vec<Result<DeliveryFuture, KafkaError>>,
}

impl DeadLetters {
    fn new(kafka: &ClientConfig, topic: &str) -> Result<DeadLetters, KafkaError> {
        let mut config = kafka.clone();
        config.set("enable.idempotence", "true");
        let message_max = config
            .get("message.max.bytes")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(1_000_000);
        Ok(DeadLetters {
            producer: config.create()?,
            topic: topic.to_owned(),
            max_payload: message_max.saturating_sub(DEAD_LETTER_OVERHEAD).max(1024),
            pending: Vec::new(),
        })
    }

    fn send(&mut self, message: &BorrowedMessage<'_>, reason: &str) {
        let partition = message.partition().to_string();
        let offset = message.offset().to_string();
        let payload = message.payload().unwrap_or_default();
        let key = message.key().unwrap_or_default();
        let room = self.max_payload.saturating_sub(key.len() + reason.len());
        let original_bytes = payload.len().to_string();
        let mut headers = OwnedHeaders::new()
            .insert(Header {
                key: "pivotlog.source.topic",
                value: Some(message.topic()),
            })
            .insert(Header {
                key: "pivotlog.source.partition",
                value: Some(&partition),
            })
            .insert(Header {
                key: "pivotlog.source.offset",
                value: Some(&offset),
            })
            .insert(Header {
                key: "pivotlog.error",
                value: Some(reason),
            });
        if payload.len() > room {
            headers = headers.insert(Header {
                key: "pivotlog.payload.truncated",
                value: Some(&original_bytes),
            });
        }
        let mut record = FutureRecord::to(&self.topic)
            .payload(&payload[..payload.len().min(room)])
            .headers(headers);
        if message.key().is_some() {
            record = record.key(key);
        }
        match self.producer.send_result(record) {
            Ok(delivery) => self.pending.push(Ok(delivery)),
            Err((err, _)) => self.pending.push(Err(err)),
        }
    }

    /// Waits for every pending dead letter; the checkpoint may only pass them once they
    /// are on the broker.
    fn confirm(&mut self) -> Result<u64, String> {
        let mut confirmed = 0;
        for delivery in self.pending.drain(..) {
            let delivery = delivery.map_err(|err| err.to_string())?;
            match futures::executor::block_on(delivery) {
                Ok(Ok(_)) => confirmed += 1,
                Ok(Err((err, _))) => return Err(err.to_string()),
                Err(_) => return Err("dead-letter producer dropped the delivery".into()),
            }
        }
        Ok(confirmed)
    }
}

/// Room left in a dead letter for the key, the headers and the record framing.
const DEAD_LETTER_OVERHEAD: usize = 16 << 10;

fn unix_ms_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
