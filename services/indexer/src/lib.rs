//! `pivotlog indexer`: consumes the debug-event topic and keeps the tantivy index
//! ([`pivotlog_index`]) in step with it, exactly once.
//!
//! # The contract
//! What makes a commit exactly once, and why a record read twice is harmless, is the
//! index's contract, written once in [`pivotlog_index`]'s crate docs
//! (["Exactly once"](pivotlog_index#exactly-once)). This crate keeps the consumer's side:
//! * Partitions are **assigned**, not subscribed: an indexer owns a fixed set
//!   ([`Ownership`]: all of them, a list, or its share as replica `i` of `n`), so there
//!   are no group rebalances and no `max.poll.interval.ms` evictions when indexing
//!   applies backpressure. Partitions it held but no longer owns are dropped from its
//!   index at the next commit; a partition's new owner replays it from the beginning.
//! * The resume position is the index's checkpoint
//!   ([`PivotIndex::checkpoint`](pivotlog_index::PivotIndex::checkpoint)), never the
//!   Kafka group offset (which is committed too, but only for lag tooling). A resumed
//!   partition's first records are checked against it, since some brokers restart a
//!   fetch elsewhere than asked.
//! * A record's offset is recorded only once the record is handled: indexed, found to
//!   be a duplicate, or counted as undecodable (and, when configured, confirmed on the
//!   dead-letter topic). A failed commit rolls the writer back and re-reads from the
//!   committed checkpoint, so nothing is skipped.
//! * A record larger than [`IndexerConfig::max_record_bytes`] is skipped like an
//!   undecodable one (counted, dead-lettered with reason `oversized`).
//! * Nothing the broker or the disk does makes the loop exit: a broker outage is waited
//!   out (and shown by [`IndexerStats::readiness`]), a failing commit is retried from the
//!   checkpoint until the disk takes it again.
//! * The owned partitions are read **in step**: each has its own queue, and the next
//!   record comes from the partition whose last record was produced earliest, so a
//!   backlog published in time order is indexed in time order whatever the broker's
//!   fetch batches (otherwise partitions fetched days apart keep several day slices'
//!   writers busy at once). A partition far behind is therefore read first until it
//!   catches up; one with nothing fetched is passed over, never waited for.
//! * Memory is bounded by librdkafka's prefetch (`queued.max.messages.kbytes`, per owned
//!   partition, 16 MiB by default) and tantivy's memory budget: when indexing is slower
//!   than the topic, fetching simply waits.

mod consumer;
mod metrics;
mod ownership;
mod stats;

pub use consumer::{run, IndexerConfig, IndexerError, DEFAULT_MAX_RECORD_BYTES};
pub use metrics::IndexerCollector;
pub use ownership::Ownership;
pub use stats::{Durations, IndexerStats, PartitionProgress};
