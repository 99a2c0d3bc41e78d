//! Counters the indexer exposes to readiness checks, metrics and tests.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Live counters of one indexer; shared, lock-free.
#[derive(Debug, Default)]
pub struct IndexerStats {
    /// Records written to the index (committed or about to be).
    pub indexed: AtomicU64,
    /// Records skipped because their event id was already indexed.
    pub duplicates: AtomicU64,
    /// Records that were not a valid event.
    pub undecodable: AtomicU64,
    /// Undecodable records confirmed on the dead-letter topic.
    pub dead_lettered: AtomicU64,
    pub commits: AtomicU64,
    pub failed_commits: AtomicU64,
    /// Unix ms of the last successful commit (0: none yet).
    pub last_commit_unix_ms: AtomicI64,
    /// The partitions are assigned and the consumer is reading.
    pub consuming: AtomicBool,
    /// The last commit failed (disk full, read-only, ...) and has not succeeded since.
    pub commit_failing: AtomicBool,
}

impl IndexerStats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}
