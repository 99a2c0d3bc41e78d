//! What an operator can tune about consuming and committing, and the defaults, each
//! with the measurement or limit that chose it.

use std::path::PathBuf;
use std::time::Duration;

use pivotlog_index::WriterConfig;

use crate::Ownership;

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
/// Longest stretch of the backlog commit spacing, for a backlog written to this many
/// slices or more: at the default, a commit every 30 s while a month is replayed out of
/// order. Memory does not grow with it: every writer flushes at its own budget.
pub const MAX_BACKLOG_STRETCH: usize = 6;
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

    /// Time between commits. A backlog interval set below the normal one is ignored:
    /// backlog mode exists to commit less often, never more. In a backlog written to
    /// `slices_changed` slices (history out of time order: a month's export, a reindex),
    /// the interval stretches with them, up to [`MAX_BACKLOG_STRETCH`] times: a commit
    /// makes a segment in each such slice, and each segment builds its own term
    /// dictionary, which the merges build again (a sixth of a shuffled 31-day import's
    /// time at a 5 s spacing; benches/README.md).
    pub(crate) fn commit_spacing(&self, backlog: bool, slices_changed: usize) -> Duration {
        if backlog {
            let stretch = slices_changed.clamp(1, MAX_BACKLOG_STRETCH) as u32;
            self.backlog_commit_interval.max(self.commit_interval) * stretch
        } else {
            self.commit_interval
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backlog_over_many_slices_commits_less_often() {
        let config = IndexerConfig::new("t");
        let backlog = config.backlog_commit_interval;
        assert_eq!(config.commit_spacing(false, 31), config.commit_interval);
        assert_eq!(config.commit_spacing(true, 0), backlog);
        assert_eq!(config.commit_spacing(true, 1), backlog);
        assert_eq!(config.commit_spacing(true, 2), backlog * 2);
        assert_eq!(
            config.commit_spacing(true, 31),
            backlog * MAX_BACKLOG_STRETCH as u32
        );
        // A backlog interval below the normal one never makes commits more frequent.
        let config = IndexerConfig {
            backlog_commit_interval: Duration::ZERO,
            ..IndexerConfig::new("t")
        };
        assert_eq!(config.commit_spacing(true, 3), config.commit_interval * 3);
    }
}
