//! Counters the indexer exposes to readiness checks, metrics and tests.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

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
            "dead_lettered": count(&self.dead_lettered),
            "commits": count(&self.commits),
            "failed_commits": count(&self.failed_commits),
            "last_commit_unix_ms": self.last_commit_unix_ms.load(Ordering::Relaxed),
            "consuming": self.consuming.load(Ordering::Relaxed),
            "broker_reachable": self.broker_reachable.load(Ordering::Relaxed),
            "commit_failing": self.commit_failing.load(Ordering::Relaxed),
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
}
