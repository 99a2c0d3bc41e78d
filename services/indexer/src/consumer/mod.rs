//! The consume → index → commit loop.
//!
//! One thread polls the consumer, checks records of freshly resumed partitions against
//! their checkpoint ([`resume`]), handles them ([`records`]) and commits on a timer
//! ([`commit`]), spaced wider while it replays a backlog. Besides, it keeps the
//! assignment in step with the topic ([`assignment`]) and the broker's health known
//! ([`broker`]). Nothing returned by the broker or the disk ends the loop: every failure
//! is retried, from the checkpoint if anything may have been lost.

mod assignment;
mod broker;
mod commit;
mod config;
mod dead_letter;
mod error;
mod in_step;
mod records;
mod resume;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::BaseConsumer;
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::types::RDKafkaErrorCode;
use tracing::{debug, info, warn};

use pivotlog_index::{IndexWriter, PivotIndex};

pub use config::{IndexerConfig, DEFAULT_MAX_RECORD_BYTES};
pub use error::IndexerError;

use crate::IndexerStats;
use dead_letter::DeadLetters;
use in_step::InStep;
use resume::Resume;

/// Short, so that shutdown, probes and commits are never held up by an idle topic.
const POLL_TIMEOUT: Duration = Duration::from_millis(100);
const METADATA_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the topic's metadata is re-read for new partitions.
const PARTITION_REFRESH: Duration = Duration::from_secs(30);
const RETRY_BACKOFF: Duration = Duration::from_secs(1);

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
    let consumer = Arc::new(broker::consumer(kafka)?);
    let dead_letters = match &config.dead_letter_topic {
        Some(topic) => Some(DeadLetters::new(kafka, topic)?),
        None => None,
    };
    let mut session = Session {
        config,
        resume: HashMap::new(),
        consumer,
        in_step: InStep::unassigned(),
        writer,
        dead_letters,
        stats,
        owned: Vec::new(),
        last_probe: Instant::now(),
    };
    session.run(shutdown)
}

struct Session<'a> {
    config: &'a IndexerConfig,
    /// Partitions resumed from a checkpoint whose first record has not proven it yet.
    resume: HashMap<i32, Resume>,
    consumer: Arc<BaseConsumer>,
    /// The owned partitions' own queues, read in produce-time step ([`in_step`]).
    in_step: InStep,
    writer: IndexWriter,
    dead_letters: Option<DeadLetters>,
    stats: &'a IndexerStats,
    /// The partitions assigned, sorted; empty means "assign afresh at the next turn".
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
            let polled = self.in_step.next(&self.consumer);
            match &polled {
                Some(Ok(message)) => backlog = records::is_backlog(message),
                // Caught up: commit at the live pace again.
                None => backlog = false,
                Some(Err(_)) => {}
            }
            match polled {
                Some(Ok(message))
                    if resume::check(
                        &mut self.resume,
                        &self.consumer,
                        &self.config.topic,
                        &mut self.owned,
                        message.partition(),
                        message.offset(),
                    ) =>
                {
                    if let Err(err) = records::handle(
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
            self.probe_broker_if_due();
            // A promotion due commits at once: until then the records of a new day go to
            // a one-thread secondary writer, and in a time-ordered backlog (a day a second)
            // waiting even for the normal interval put most of each day there. Otherwise
            // the normal interval first: counting the slices written is only worth it once
            // a commit can be due.
            let since = last_commit.elapsed();
            if self.writer.promotion_due()
                || (since >= self.config.commit_interval
                    && since >= self.config.commit_spacing(backlog, self.writer.slices_changed()))
            {
                if self.commit() && !backlog {
                    // Caught up: a cold day slice can be merged into one segment.
                    if let Err(err) = self.writer.settle() {
                        warn!(error = %err, "cannot settle a cold slice; retrying later");
                    }
                }
                last_commit = Instant::now();
            }
        }
        info!("shutting down: final commit");
        if self.writer.is_dirty() && !self.commit() {
            warn!("the final commit failed; uncommitted records will be re-read on restart");
        }
        Ok(())
    }
}
