//! The indexer's Prometheus metrics, read from [`IndexerStats`] at scrape time.
//!
//! The counters live in the stats' atomics (the indexing loop only bumps them); this
//! collector turns them into metric families when `/metrics` is scraped, so nothing is
//! counted twice and the loop pays nothing for metrics.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Gauge, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts};

use pivotlog_proto::time::now_unix_ms;

use crate::stats::IndexerStats;

const RECORDS_INDEXED: (&str, &str) = (
    "pivotlog_indexer_records_indexed_total",
    "Records written to the index (committed or about to be).",
);
const RECORDS_DUPLICATE: (&str, &str) = (
    "pivotlog_indexer_records_duplicate_total",
    "Records skipped because their event id was already indexed (redelivery, replay).",
);
const RECORDS_REJECTED: (&str, &str) = (
    "pivotlog_indexer_records_rejected_total",
    "Records skipped and dead-lettered, by reason: undecodable (not a valid debug event) or oversized (over --max-record-bytes).",
);
const RECORDS_EXPIRED: (&str, &str) = (
    "pivotlog_indexer_records_expired_total",
    "Records older than the retention, skipped (a replay of old data); not dead-lettered.",
);
const DEAD_LETTERED: (&str, &str) = (
    "pivotlog_indexer_dead_lettered_total",
    "Rejected records confirmed on the dead-letter topic.",
);
const CONSUMER_LAG: (&str, &str) = (
    "pivotlog_indexer_consumer_lag_records",
    "Records between the last commit and the end of the partition, as of the last watermark read (every 5 s).",
);
const CAUGHT_UP: (&str, &str) = (
    "pivotlog_indexer_partition_caught_up",
    "1 once the committed index has reached the end of the partition since this indexer took it over (its answers for it are complete).",
);
const CHECKPOINT_AGE: (&str, &str) = (
    "pivotlog_indexer_checkpoint_age_seconds",
    "Seconds since the committed index last held every record handled: the last commit, or the last commit check that found nothing new (so an idle topic does not age it; failing commits do). Since start before the first.",
);
const COMMITS: (&str, &str) = ("pivotlog_indexer_commits_total", "Successful index commits.");
const COMMIT_FAILURES: (&str, &str) = (
    "pivotlog_indexer_commit_failures_total",
    "Failed indexing or commits (disk full, read-only, dead-letter delivery); each rolls back to the checkpoint.",
);
const BROKER_UP: (&str, &str) = (
    "pivotlog_indexer_broker_up",
    "1 while the Kafka broker answers (a record or a metadata probe), 0 while it is unreachable.",
);

/// Exports an indexer's [`IndexerStats`]; register it in the process's registry.
pub struct IndexerCollector {
    stats: Arc<IndexerStats>,
    /// When this collector was made: the checkpoint's age counts from here until the
    /// first commit.
    started_unix_ms: i64,
    descs: Vec<Desc>,
}

impl IndexerCollector {
    pub fn new(stats: Arc<IndexerStats>) -> IndexerCollector {
        let mut descs = Vec::new();
        let mut add = |collector: &dyn Collector| descs.extend(collector.desc().into_iter().cloned());
        for (name, help) in [
            RECORDS_INDEXED,
            RECORDS_DUPLICATE,
            RECORDS_EXPIRED,
            DEAD_LETTERED,
            COMMITS,
            COMMIT_FAILURES,
        ] {
            add(&IntCounter::new(name, help).expect("valid metric"));
        }
        add(&counter_vec(RECORDS_REJECTED, &["reason"]));
        add(&gauge_vec(CONSUMER_LAG, &["partition"]));
        add(&gauge_vec(CAUGHT_UP, &["partition"]));
        add(&Gauge::new(CHECKPOINT_AGE.0, CHECKPOINT_AGE.1).expect("valid metric"));
        add(&IntGauge::new(BROKER_UP.0, BROKER_UP.1).expect("valid metric"));
        add(&stats.durations.batch);
        add(&stats.durations.commit);
        IndexerCollector {
            stats,
            started_unix_ms: now_unix_ms(),
            descs,
        }
    }

    fn families(&self) -> Vec<MetricFamily> {
        let stats = &self.stats;
        let mut families = Vec::new();
        let mut counter = |(name, help): (&str, &str), value: &AtomicU64| {
            let metric = IntCounter::new(name, help).expect("valid metric");
            metric.inc_by(value.load(Ordering::Relaxed));
            families.extend(metric.collect());
        };
        counter(RECORDS_INDEXED, &stats.indexed);
        counter(RECORDS_DUPLICATE, &stats.duplicates);
        counter(RECORDS_EXPIRED, &stats.expired);
        counter(DEAD_LETTERED, &stats.dead_lettered);
        counter(COMMITS, &stats.commits);
        counter(COMMIT_FAILURES, &stats.failed_commits);

        let rejected = counter_vec(RECORDS_REJECTED, &["reason"]);
        for (reason, value) in [
            ("undecodable", &stats.undecodable),
            ("oversized", &stats.oversized),
        ] {
            rejected
                .with_label_values(&[reason])
                .inc_by(value.load(Ordering::Relaxed));
        }
        families.extend(rejected.collect());

        let progress = stats.progress();
        let lag = gauge_vec(CONSUMER_LAG, &["partition"]);
        let caught_up = gauge_vec(CAUGHT_UP, &["partition"]);
        for (partition, progress) in &progress {
            let partition = partition.to_string();
            if let Some(records) = progress.lag() {
                lag.with_label_values(&[&partition]).set(records);
            }
            caught_up
                .with_label_values(&[&partition])
                .set(i64::from(progress.caught_up));
        }
        families.extend(lag.collect());
        families.extend(caught_up.collect());

        let age = Gauge::new(CHECKPOINT_AGE.0, CHECKPOINT_AGE.1).expect("valid metric");
        age.set(self.checkpoint_age_seconds(now_unix_ms()));
        families.extend(age.collect());

        let up = IntGauge::new(BROKER_UP.0, BROKER_UP.1).expect("valid metric");
        up.set(i64::from(flag(&stats.broker_reachable)));
        families.extend(up.collect());

        families.extend(stats.durations.batch.collect());
        families.extend(stats.durations.commit.collect());
        families
    }

    fn checkpoint_age_seconds(&self, now_unix_ms: i64) -> f64 {
        let current = load(&self.stats.checkpoint_current_unix_ms);
        let since = if current > 0 {
            current
        } else {
            self.started_unix_ms
        };
        (now_unix_ms - since).max(0) as f64 / 1000.0
    }
}

impl Collector for IndexerCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        self.families()
    }
}

fn counter_vec((name, help): (&str, &str), labels: &[&str]) -> IntCounterVec {
    IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn gauge_vec((name, help): (&str, &str), labels: &[&str]) -> IntGaugeVec {
    IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric")
}

fn load(value: &AtomicI64) -> i64 {
    value.load(Ordering::Relaxed)
}

fn flag(value: &AtomicBool) -> bool {
    value.load(Ordering::Relaxed)
}

/// Values of `name` (with `labels`) in `families`, for tests.
#[cfg(test)]
fn value_of(
    families: &[MetricFamily],
    name: &str,
    labels: &std::collections::HashMap<&str, &str>,
) -> Option<f64> {
    let family = families.iter().find(|family| family.name() == name)?;
    family
        .get_metric()
        .iter()
        .find(|metric| {
            labels.iter().all(|(label, value)| {
                metric
                    .get_label()
                    .iter()
                    .any(|pair| pair.name() == *label && pair.value() == *value)
            })
        })
        .map(|metric| {
            let histogram = metric.get_histogram();
            if histogram.get_sample_count() > 0 {
                histogram.get_sample_count() as f64
            } else {
                metric.get_counter().get_value() + metric.get_gauge().get_value()
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use pivotlog_index::Checkpoint;
    use std::collections::HashMap;
    use std::time::Duration;

    #[test]
    fn the_counters_are_read_at_scrape_time() {
        let stats = Arc::new(IndexerStats::default());
        let collector = IndexerCollector::new(stats.clone());
        let registry = prometheus::Registry::new();
        registry
            .register(Box::new(IndexerCollector::new(stats.clone())))
            .unwrap();
        let none = HashMap::new();
        let families = registry.gather();
        assert_eq!(value_of(&families, RECORDS_INDEXED.0, &none), Some(0.0));
        assert_eq!(value_of(&families, BROKER_UP.0, &none), Some(0.0));

        stats.indexed.fetch_add(7, Ordering::Relaxed);
        stats.oversized.fetch_add(2, Ordering::Relaxed);
        stats.broker_reachable.store(true, Ordering::Relaxed);
        let mut checkpoint = Checkpoint::default();
        stats.set_owned(&[0, 3], &checkpoint);
        stats.set_watermarks(0, 0, 10);
        stats.set_watermarks(3, 0, 4);
        checkpoint.offsets.insert(3, 4);
        stats.record_handled();
        stats.batch_ending();
        stats.commit_succeeded(Duration::from_millis(30), now_unix_ms());
        stats.committed(&checkpoint);

        let families = registry.gather();
        let with = |label: &'static str, value: &'static str| HashMap::from([(label, value)]);
        assert_eq!(value_of(&families, RECORDS_INDEXED.0, &none), Some(7.0));
        assert_eq!(
            value_of(&families, RECORDS_REJECTED.0, &with("reason", "oversized")),
            Some(2.0)
        );
        assert_eq!(
            value_of(&families, RECORDS_REJECTED.0, &with("reason", "undecodable")),
            Some(0.0)
        );
        assert_eq!(
            value_of(&families, CONSUMER_LAG.0, &with("partition", "0")),
            Some(10.0)
        );
        assert_eq!(
            value_of(&families, CONSUMER_LAG.0, &with("partition", "3")),
            Some(0.0)
        );
        assert_eq!(
            value_of(&families, CAUGHT_UP.0, &with("partition", "3")),
            Some(1.0)
        );
        assert_eq!(
            value_of(&families, CAUGHT_UP.0, &with("partition", "0")),
            Some(0.0)
        );
        assert_eq!(value_of(&families, COMMITS.0, &none), Some(1.0));
        assert_eq!(value_of(&families, BROKER_UP.0, &none), Some(1.0));
        assert_eq!(
            value_of(&families, "pivotlog_indexer_commit_duration_seconds", &none),
            Some(1.0)
        );
        assert_eq!(
            value_of(&families, "pivotlog_indexer_batch_duration_seconds", &none),
            Some(1.0)
        );
        assert!(value_of(&families, CHECKPOINT_AGE.0, &none).unwrap() < 5.0);
        // Every family is declared, so a registry refuses a second collector of the same names.
        assert!(registry.register(Box::new(collector)).is_err());
    }

    #[test]
    fn the_checkpoint_ages_while_commits_fail_not_while_idle() {
        let stats = Arc::new(IndexerStats::default());
        let collector = IndexerCollector::new(stats.clone());
        let start = collector.started_unix_ms;
        assert_eq!(
            collector.checkpoint_age_seconds(start + 3_000),
            3.0,
            "since start"
        );
        stats.commit_succeeded(Duration::from_millis(1), start + 10_000);
        assert_eq!(collector.checkpoint_age_seconds(start + 12_000), 2.0);
        stats.nothing_to_commit(start + 20_000);
        assert_eq!(collector.checkpoint_age_seconds(start + 20_500), 0.5, "idle");
        stats.set_commit_error(Some("No space left on device".into()));
        stats.nothing_to_commit(start + 30_000);
        assert_eq!(
            collector.checkpoint_age_seconds(start + 30_000),
            10.0,
            "a rolled-back writer has nothing to commit, but the checkpoint is behind"
        );
    }
}
