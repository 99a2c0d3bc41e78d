//! Prometheus metrics of one API process (or of one `AppState` in tests): HTTP
//! requests, search hits, partial answers, shard requests, index reads in flight and,
//! when it reads a local index, the index's size (`pivotlog_serve::metrics::IndexCollector`).
//! Served at `/metrics`.

use prometheus::core::Collector;
use prometheus::{HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Latency buckets of API requests, seconds.
const HTTP_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The metrics of one API instance, in a registry of its own.
pub struct Metrics {
    registry: Registry,
    pub(crate) http_requests: IntCounterVec,
    pub(crate) http_duration: HistogramVec,
    pub(crate) search_hits: IntCounter,
    pub(crate) partial_responses: IntCounter,
    pub(crate) open_readers: IntGauge,
}

impl Metrics {
    /// Fresh metrics, with the process's `process_*` metrics (Linux).
    pub fn new() -> Metrics {
        let http_requests = IntCounterVec::new(
            Opts::new(
                "pivotlog_http_requests_total",
                "API requests answered, by route template (unmatched: no route), method and status.",
            ),
            &["route", "method", "status"],
        )
        .expect("valid metric");
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "pivotlog_http_request_duration_seconds",
                "Time from a request's arrival to its response, by route template.",
            )
            .buckets(HTTP_BUCKETS.to_vec()),
            &["route"],
        )
        .expect("valid metric");
        let search_hits = IntCounter::new(
            "pivotlog_search_hits_total",
            "Hits returned in pages of /pivot/search (not total_hits, which counts every match again on each page).",
        )
        .expect("valid metric");
        let partial_responses = IntCounter::new(
            "pivotlog_query_partial_responses_total",
            "Successful API answers marked partial: some partitions missing (shard down, late or rebuilding).",
        )
        .expect("valid metric");
        let open_readers = IntGauge::new(
            "pivotlog_index_open_readers",
            "Index reads of API requests in flight (queued or running on the blocking pool); 0 when reading shards.",
        )
        .expect("valid metric");
        let metrics = Metrics {
            registry: Registry::new(),
            http_requests,
            http_duration,
            search_hits,
            partial_responses,
            open_readers,
        };
        let own: [Box<dyn Collector>; 5] = [
            Box::new(metrics.http_requests.clone()),
            Box::new(metrics.http_duration.clone()),
            Box::new(metrics.search_hits.clone()),
            Box::new(metrics.partial_responses.clone()),
            Box::new(metrics.open_readers.clone()),
        ];
        for collector in own {
            metrics.register(collector);
        }
        #[cfg(target_os = "linux")]
        metrics.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ));
        metrics
    }

    /// The registry `/metrics` serves; add a process's other collectors to it.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Adds `collector`; a collector of names already registered is logged and left out.
    pub fn register(&self, collector: Box<dyn Collector>) {
        if let Err(err) = self.registry.register(collector) {
            tracing::warn!(error = %err, "metric not registered");
        }
    }

    /// The registry's metrics in the text exposition format.
    pub fn encode(&self) -> String {
        pivotlog_serve::metrics::encode(&self.registry)
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

tokio::task_local! {
    /// The gauge of index reads in flight of the request this task serves.
    static OPEN_READERS: IntGauge;
}

/// Runs `request` (a request's handling) with `gauge` counting its index reads.
pub(crate) async fn counting_reads<F: std::future::Future>(gauge: IntGauge, request: F) -> F::Output {
    OPEN_READERS.scope(gauge, request).await
}

/// Counts one index read in flight (in the gauge of the request being served, if any)
/// until dropped.
pub(crate) struct ReadInFlight(Option<IntGauge>);

impl ReadInFlight {
    pub(crate) fn enter() -> ReadInFlight {
        let gauge = OPEN_READERS.try_with(IntGauge::clone).ok();
        if let Some(gauge) = &gauge {
            gauge.inc();
        }
        ReadInFlight(gauge)
    }
}

impl Drop for ReadInFlight {
    fn drop(&mut self) {
        if let Some(gauge) = &self.0 {
            gauge.dec();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_instance_has_its_own_registry() {
        let (a, b) = (Metrics::new(), Metrics::new());
        a.search_hits.inc_by(3);
        assert!(a.encode().contains("pivotlog_search_hits_total 3"));
        assert!(b.encode().contains("pivotlog_search_hits_total 0"));
    }

    #[tokio::test]
    async fn reads_are_counted_in_the_gauge_of_their_request() {
        let gauge = IntGauge::new("g", "g").unwrap();
        let outside = ReadInFlight::enter();
        drop(outside);
        assert_eq!(gauge.get(), 0);
        counting_reads(gauge.clone(), async {
            let read = ReadInFlight::enter();
            assert_eq!(gauge.get(), 1);
            drop(read);
        })
        .await;
        assert_eq!(gauge.get(), 0);
    }
}
