//! Making handled records durable, and starting over when that fails.
//!
//! What a commit guarantees is the index's contract ([`pivotlog_index`]'s crate docs,
//! "Exactly once"). This side adds what the index cannot know about: dead letters are
//! confirmed before the checkpoint passes them, a failure rewinds the consumer to the
//! committed checkpoint, and a rebuilt index swapped in by `pivotlog reindex` is
//! continued from its own checkpoint.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;

use rdkafka::consumer::{CommitMode, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use tracing::{debug, error, info, warn};

use pivotlog_proto::time::now_unix_ms;

use super::dead_letter::DeadLetters;
use super::{Session, RETRY_BACKOFF};

impl Session<'_> {
    /// Commits if anything changed. On failure, rolls back and re-reads from the
    /// committed checkpoint. Returns whether the index is now durable.
    pub(super) fn commit(&mut self) -> bool {
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
            self.stats.nothing_to_commit(now_unix_ms());
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
                self.stats.commit_succeeded(committed.duration, now_unix_ms());
                if self.stats.commit_failing.load(Ordering::Relaxed) {
                    info!("committing again: the checkpoint advances");
                }
                self.stats.set_commit_error(None);
                self.stats
                    .last_commit_unix_ms
                    .store(now_unix_ms(), Ordering::Relaxed);
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
    pub(super) fn failed(&mut self, what: &str, error: String) {
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
                // An emptied ownership makes the loop assign afresh.
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
