//! Which partitions the consumer reads, and from where.
//!
//! Partitions are assigned, never subscribed (see the crate docs): the owned set is
//! re-derived from the topic's metadata now and then, so partitions added to the topic
//! are picked up, and each owned partition is assigned at its checkpoint, as
//! [`resume::start`] decides.

use std::sync::atomic::Ordering;

use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};
use tracing::{error, info, warn};

use pivotlog_index::Checkpoint;

use super::in_step::InStep;
use super::resume::{self, Resume, Start};
use super::{IndexerError, Session, METADATA_TIMEOUT};

impl Session<'_> {
    /// Assigns the owned partitions at their checkpointed offsets (first run, or when
    /// the topic gained partitions).
    pub(super) fn refresh_assignment(&mut self) -> Result<(), IndexerError> {
        let topic = &self.config.topic;
        let metadata = self.consumer.fetch_metadata(Some(topic), METADATA_TIMEOUT)?;
        let existing: Vec<i32> = metadata
            .topics()
            .iter()
            .filter(|t| t.name() == topic && t.error().is_none())
            .flat_map(|t| t.partitions().iter().map(|p| p.id()))
            .collect();
        if existing.is_empty() {
            return Err(KafkaError::MetadataFetch(RDKafkaErrorCode::UnknownTopicOrPartition).into());
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

    /// Assigns `partitions` where `checkpoint` says, and arms the resume check of each
    /// one resumed mid-way.
    pub(super) fn assign(&mut self, partitions: &[i32], checkpoint: &Checkpoint) -> Result<(), IndexerError> {
        let topic = &self.config.topic;
        let mut assignment = TopicPartitionList::new();
        for &partition in partitions {
            let next = checkpoint.next_offset(partition);
            // Only a checkpoint needs the watermark: spare the broker the request otherwise.
            let high = next.and_then(|_| self.high_watermark(partition));
            let offset = match resume::start(next, high) {
                Start::Replay { checkpoint: next } => {
                    error!(
                        topic = %topic, partition, checkpoint = next,
                        "checkpoint is beyond the end of the partition (was the topic recreated?); replaying the \
                         partition from its beginning, already indexed events are skipped by event id"
                    );
                    self.writer.reset_position(partition);
                    Offset::Beginning
                }
                Start::Checkpoint(next) => {
                    self.resume.insert(partition, Resume::at(next));
                    Offset::Offset(next)
                }
                Start::Beginning => Offset::Beginning,
            };
            assignment.add_partition_offset(topic, partition, offset)?;
        }
        // Assigning deactivates the partition queues split off before.
        self.in_step = InStep::unassigned();
        self.consumer.assign(&assignment)?;
        self.in_step = InStep::split(&self.consumer, topic, partitions);
        Ok(())
    }

    /// The partition's high watermark, or `None` (logged) when it cannot be read.
    fn high_watermark(&self, partition: i32) -> Option<i64> {
        match self
            .consumer
            .fetch_watermarks(&self.config.topic, partition, METADATA_TIMEOUT)
        {
            Ok((_, high)) => Some(high),
            Err(err) => {
                warn!(partition, error = %err, "cannot read the high watermark; resuming at the checkpoint");
                None
            }
        }
    }
}
