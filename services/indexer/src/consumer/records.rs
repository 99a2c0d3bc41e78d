//! What happens to one record: indexed, or skipped and counted (undecodable,
//! oversized, expired, duplicate). Whatever the outcome, the position moves past it, so
//! a bad record can never hold a partition back; only an indexing failure (the writer
//! is dead) leaves the position where it was.

use std::sync::atomic::Ordering;

use rdkafka::message::{BorrowedMessage, Message};
use tracing::warn;

use pivotlog_index::{AddOutcome, IndexWriter};
use pivotlog_proto::decode_event;
use pivotlog_proto::time::now_unix_ms;

use super::config::BACKLOG_AGE;
use super::dead_letter::DeadLetters;
use super::IndexerError;
use crate::IndexerStats;

/// Handles one record: index it, or count (and dead-letter) it; then move past it.
///
/// Takes the session's parts rather than the session: the record still borrows the
/// consumer.
pub(super) fn handle(
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
        Ok(event) => match writer.add_at(message.partition(), message.offset(), &event, payload)? {
            AddOutcome::Added => IndexerStats::bump(&stats.indexed),
            AddOutcome::Duplicate => IndexerStats::bump(&stats.duplicates),
            AddOutcome::Expired => {
                let expired = stats.expired.fetch_add(1, Ordering::Relaxed) + 1;
                // A replay of old data expires records by the million: say so, not each.
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

/// True when the record was produced more than [`BACKLOG_AGE`] ago, by its Kafka
/// timestamp.
pub(super) fn is_backlog(message: &BorrowedMessage) -> bool {
    produced_long_ago(message.timestamp().to_millis(), now_unix_ms())
}

/// A record without a timestamp never counts as backlog: better a commit too many than
/// stale search results.
fn produced_long_ago(produced_unix_ms: Option<i64>, now_unix_ms: i64) -> bool {
    produced_unix_ms.is_some_and(|produced| now_unix_ms - produced > BACKLOG_AGE.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backlog_is_told_by_the_record_s_age() {
        let now = 1_710_253_474_000;
        let age = BACKLOG_AGE.as_millis() as i64;
        assert!(produced_long_ago(Some(now - age - 1), now));
        assert!(!produced_long_ago(Some(now - age), now));
        assert!(!produced_long_ago(Some(now), now));
        assert!(!produced_long_ago(None, now));
    }
}
