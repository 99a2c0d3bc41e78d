//! Counters the indexer exposes to readiness checks, metrics and tests.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use prometheus::{Histogram, HistogramOpts};
use serde::Serialize;

use pivotlog_index::Checkpoint;

/// Live counters of one indexer; shared, lock-free (but for the last problem's text).
#[derive(Debug, Default)]
pub struct IndexerStats {
    /// Records written to the index (committed or about to be).
    pub indexed: AtomicU64,
    /// Records skipped because their event id was already indexed.
    pub duplicates: AtomicU64,
    /// Records that were not a valid event.
    pub undecodable: AtomicU64,
    /// Records larger than the configured maximum, skipped (and dead-lettered).
    pub oversized: AtomicU64,
    /// Records older than the retention, not indexed (a replay of old data).
    pub expired: AtomicU64,
    /// Undecodable or oversized records confirmed on the dead-letter topic.
    pub dead_lettered: AtomicU64,
    pub commits: AtomicU64,
    pub failed_commits: AtomicU64,
    /// Unix ms of the last successful commit (0: none yet).
    pub last_commit_unix_ms: AtomicI64,
    /// The partitions are assigned and the consumer is reading.
    pub consuming: AtomicBool,
    /// The broker answered recently (a record, or a metadata probe); false while every
    /// broker is unreachable.
    pub broker_reachable: AtomicBool,
    /// The last commit failed (disk full, read-only, ...) and has not succeeded since.
    pub commit_failing: AtomicBool,
    /// Why the last commit failed, while it keeps failing.
    pub commit_error: Mutex<Option<String>>,
    /// Partitions of the topic, as last seen in its metadata (0: not yet known).
    pub topic_partitions: AtomicUsize,
    /// Unix ms when the committed index last held every record handled: a commit, or a
    /// commit check that found nothing new while commits were not failing (0: never).
    /// Unlike [`IndexerStats::last_commit_unix_ms`], it does not age while the topic is idle.
    pub checkpoint_current_unix_ms: AtomicI64,
    /// Each owned partition's progress.
    progress: Mutex<BTreeMap<i32, PartitionProgress>>,
    /// When the first record after the last commit was handled (`None`: none since).
    batch_started: Mutex<Option<Instant>>,
    /// Batch and commit durations, for `/metrics`.
    pub durations: Durations,
}

/// Histograms of the indexing loop's timings (unregistered; the metrics module's `IndexerCollector`
/// exports them).
#[derive(Debug, Clone)]
pub struct Durations {
    /// From the first record handled after a commit to the start of the next commit.
    pub batch: Histogram,
    /// Successful commits (documents, checkpoint, segment files synced).
    pub commit: Histogram,
}

impl Default for Durations {
    fn default() -> Durations {
        let histogram = |name: &str, help: &str, buckets: &[f64]| {
            Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets.to_vec()))
                .expect("a valid histogram")
        };
        Durations {
            batch: histogram(
                "pivotlog_indexer_batch_duration_seconds",
                "Wall time from the first record handled after a commit to the start of the next commit.",
                &[
                    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 30.0, 60.0,
                ],
            ),
            commit: histogram(
                "pivotlog_indexer_commit_duration_seconds",
                "Duration of successful index commits (documents and checkpoint made durable).",
                &[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
                ],
            ),
        }
    }
}

/// How far an owned partition is indexed, and how far it goes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PartitionProgress {
    /// Next offset to read, as of the last commit (`None`: nothing read yet).
    pub committed: Option<i64>,
    pub low_watermark: Option<i64>,
    pub high_watermark: Option<i64>,
    /// The committed index has reached the end of the partition since this indexer
    /// took it over; until then (a rebuild by replay) its answers are incomplete.
    pub caught_up: bool,
}

impl PartitionProgress {
    /// Records between the last commit and the end of the partition, when known.
    pub fn lag(&self) -> Option<i64> {
        let end = self.high_watermark?;
        let next = self.committed.or(self.low_watermark)?;
        Some((end - next).max(0))
    }

    fn update_caught_up(&mut self) {
        if self.lag() == Some(0) {
            self.caught_up = true;
        }
    }
}

impl IndexerStats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub(crate) fn set_commit_error(&self, error: Option<String>) {
        self.commit_failing.store(error.is_some(), Ordering::Relaxed);
        *self.commit_error.lock().unwrap_or_else(|e| e.into_inner()) = error;
    }

    /// A record is being handled: the batch starts, unless it already has.
    pub(crate) fn record_handled(&self) {
        let mut started = self.batch_started.lock().unwrap_or_else(|e| e.into_inner());
        if started.is_none() {
            *started = Some(Instant::now());
        }
    }

    /// A commit starts: the batch since the last one ends.
    pub(crate) fn batch_ending(&self) {
        let started = self
            .batch_started
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(started) = started {
            self.durations.batch.observe(started.elapsed().as_secs_f64());
        }
    }

    /// A commit succeeded after `took`.
    pub(crate) fn commit_succeeded(&self, took: Duration, now_unix_ms: i64) {
        Self::bump(&self.commits);
        self.durations.commit.observe(took.as_secs_f64());
        self.checkpoint_current_unix_ms
            .store(now_unix_ms, Ordering::Relaxed);
    }

    /// Indexing or a commit failed: what was handled since the checkpoint is re-read,
    /// in a new batch.
    pub(crate) fn commit_failed(&self) {
        Self::bump(&self.failed_commits);
        *self.batch_started.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// A commit was due and there was nothing to commit: the checkpoint holds everything
    /// handled (unless commits are failing, when what was handled was rolled back).
    pub(crate) fn nothing_to_commit(&self, now_unix_ms: i64) {
        if !self.commit_failing.load(Ordering::Relaxed) {
            self.checkpoint_current_unix_ms
                .store(now_unix_ms, Ordering::Relaxed);
        }
    }

    pub(crate) fn set_topic_partitions(&self, count: usize) {
        self.topic_partitions.store(count, Ordering::Relaxed);
    }

    fn progress_map(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, PartitionProgress>> {
        self.progress.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The owned partitions changed: track exactly these, from `checkpoint`.
    pub(crate) fn set_owned(&self, owned: &[i32], checkpoint: &Checkpoint) {
        let mut progress = self.progress_map();
        progress.retain(|partition, _| owned.contains(partition));
        for &partition in owned {
            let entry = progress.entry(partition).or_default();
            entry.committed = checkpoint.next_offset(partition);
        }
    }

    /// A commit made `checkpoint` durable.
    pub(crate) fn committed(&self, checkpoint: &Checkpoint) {
        for (partition, entry) in self.progress_map().iter_mut() {
            entry.committed = checkpoint.next_offset(*partition);
            entry.update_caught_up();
        }
    }

    pub(crate) fn set_watermarks(&self, partition: i32, low: i64, high: i64) {
        if let Some(entry) = self.progress_map().get_mut(&partition) {
            entry.low_watermark = Some(low);
            entry.high_watermark = Some(high);
            entry.update_caught_up();
        }
    }

    /// Every owned partition's progress.
    pub fn progress(&self) -> BTreeMap<i32, PartitionProgress> {
        self.progress_map().clone()
    }

    /// `Ok` when the indexer is consuming and committing; otherwise why not, for
    /// `/readyz`. Commit failures come first: they stop the checkpoint.
    pub fn readiness(&self) -> Result<(), String> {
        if self.commit_failing.load(Ordering::Relaxed) {
            let error = self
                .commit_error
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            return Err(format!(
                "the indexer cannot commit, its checkpoint does not advance: {}",
                error.unwrap_or_else(|| "see its log".into())
            ));
        }
        if !self.broker_reachable.load(Ordering::Relaxed) && self.consuming.load(Ordering::Relaxed) {
            return Err("the Kafka broker is unreachable; indexing resumes when it is back".into());
        }
        if !self.consuming.load(Ordering::Relaxed) {
            return Err("the indexer is not consuming yet (topic or broker unavailable)".into());
        }
        Ok(())
    }

    /// Every counter and flag, as JSON (for the indexer's health endpoint).
    pub fn snapshot(&self) -> serde_json::Value {
        let count = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        serde_json::json!({
            "indexed": count(&self.indexed),
            "duplicates": count(&self.duplicates),
            "undecodable": count(&self.undecodable),
            "oversized": count(&self.oversized),
            "expired": count(&self.expired),
            "dead_lettered": count(&self.dead_lettered),
            "commits": count(&self.commits),
            "failed_commits": count(&self.failed_commits),
            "last_commit_unix_ms": self.last_commit_unix_ms.load(Ordering::Relaxed),
            "consuming": self.consuming.load(Ordering::Relaxed),
            "broker_reachable": self.broker_reachable.load(Ordering::Relaxed),
            "commit_failing": self.commit_failing.load(Ordering::Relaxed),
            "topic_partitions": self.topic_partitions.load(Ordering::Relaxed),
            "partitions": self.progress(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_names_the_first_problem() {
        let stats = IndexerStats::default();
        assert!(stats.readiness().unwrap_err().contains("not consuming"));
        stats.consuming.store(true, Ordering::Relaxed);
        assert!(stats.readiness().unwrap_err().contains("broker is unreachable"));
        stats.broker_reachable.store(true, Ordering::Relaxed);
        assert_eq!(stats.readiness(), Ok(()));
        stats.set_commit_error(Some("No space left on device".into()));
        let reason = stats.readiness().unwrap_err();
        assert!(
            reason.contains("cannot commit") && reason.contains("No space left"),
            "{reason}"
        );
        stats.set_commit_error(None);
        assert_eq!(stats.readiness(), Ok(()));
        assert_eq!(stats.snapshot()["commit_failing"], false);
    }

    #[test]
    fn a_partition_is_caught_up_once_its_commits_reach_the_end() {
        let stats = IndexerStats::default();
        let mut checkpoint = Checkpoint::default();
        stats.set_owned(&[0, 1], &checkpoint);
        stats.set_watermarks(0, 0, 10);
        stats.set_watermarks(1, 5, 5);
        let progress = stats.progress();
        assert_eq!((progress[&0].lag(), progress[&0].caught_up), (Some(10), false));
        assert_eq!(
            (progress[&1].lag(), progress[&1].caught_up),
            (Some(0), true),
            "empty partition"
        );
        checkpoint.offsets.insert(0, 10);
        stats.committed(&checkpoint);
        assert!(stats.progress()[&0].caught_up);
        // It stays caught up while new records arrive: lag is reported separately.
        stats.set_watermarks(0, 0, 50);
        assert_eq!(
            (stats.progress()[&0].lag(), stats.progress()[&0].caught_up),
            (Some(40), true)
        );
        stats.set_owned(&[1], &checkpoint);
        assert_eq!(stats.progress().keys().copied().collect::<Vec<_>>(), [1]);
    }
}
