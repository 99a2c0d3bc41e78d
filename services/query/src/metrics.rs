//! Prometheus metrics of one API process (or of one [`crate::AppState`] in tests): HTTP
//! requests, search hits, partial answers, shard requests, index reads in flight and,
//! when it reads a local index, the index's size. Served at `/metrics`.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry, TextEncoder,
};

use pivotlog_index::PivotIndex;

/// `Content-Type` of `/metrics`: the Prometheus text exposition format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

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
        encode(&self.registry)
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}

/// `registry`'s metrics in the text exposition format ([`CONTENT_TYPE`]).
pub fn encode(registry: &Registry) -> String {
    let mut text = Vec::new();
    if let Err(err) = TextEncoder::new().encode(&registry.gather(), &mut text) {
        tracing::warn!(error = %err, "cannot encode the metrics");
    }
    String::from_utf8(text).unwrap_or_default()
}

/// Answers `/metrics` from `registry`. Gathering may read the index directory (see
/// [`IndexCollector`]), so it runs on the blocking pool.
pub async fn respond(registry: Registry) -> axum::response::Response {
    use axum::http::header;
    use axum::response::IntoResponse;
    let text = tokio::task::spawn_blocking(move || encode(&registry))
        .await
        .unwrap_or_default();
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], text).into_response()
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

const SLICES: (&str, &str) = ("pivotlog_index_slices", "Time slices of the local index.");
const SEGMENTS: (&str, &str) = (
    "pivotlog_index_segments",
    "Segments of the local index (searchable, across slices).",
);
const BYTES: (&str, &str) = (
    "pivotlog_index_bytes",
    "Size of the local index on disk, bytes (0 in memory).",
);
const DOCUMENTS: (&str, &str) = (
    "pivotlog_index_documents",
    "Debug records in the local index (call summary documents not counted).",
);

/// How long the index figures are reused: computing them walks the index directory.
pub const INDEX_INFO_TTL: Duration = Duration::from_secs(5);

/// Where an [`IndexCollector`] finds its index (`None`: not open yet, or none).
pub type IndexSource = Arc<dyn Fn() -> Option<PivotIndex> + Send + Sync>;

/// The `pivotlog_index_*` gauges of a local index, from [`PivotIndex::info`], computed
/// at scrape time at most every [`INDEX_INFO_TTL`].
pub struct IndexCollector {
    index: IndexSource,
    cached: Mutex<Option<(Instant, Vec<MetricFamily>)>>,
    descs: Vec<Desc>,
}

impl IndexCollector {
    pub fn new(index: IndexSource) -> IndexCollector {
        let descs = [SLICES, SEGMENTS, BYTES, DOCUMENTS]
            .into_iter()
            .flat_map(|(name, help)| {
                IntGauge::new(name, help)
                    .expect("valid metric")
                    .desc()
                    .into_iter()
                    .cloned()
                    .collect::<Vec<_>>()
            })
            .collect();
        IndexCollector {
            index,
            cached: Mutex::new(None),
            descs,
        }
    }

    /// Over `index` once it is set.
    pub fn of_once(index: Arc<OnceLock<PivotIndex>>) -> IndexCollector {
        IndexCollector::new(Arc::new(move || index.get().cloned()))
    }

    fn compute(&self) -> Vec<MetricFamily> {
        let Some(index) = (self.index)() else {
            return Vec::new();
        };
        let info = match index.info() {
            Ok(info) => info,
            Err(err) => {
                tracing::debug!(error = %err, "cannot read the index's figures for metrics");
                return Vec::new();
            }
        };
        let gauge = |(name, help): (&str, &str), value: u64| {
            let gauge = IntGauge::new(name, help).expect("valid metric");
            gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
            gauge.collect()
        };
        [
            gauge(SLICES, info.slices.len() as u64),
            gauge(SEGMENTS, info.segments() as u64),
            gauge(BYTES, info.bytes()),
            gauge(DOCUMENTS, info.records()),
        ]
        .concat()
    }
}

impl Collector for IndexCollector {
    fn desc(&self) -> Vec<&Desc> {
        self.descs.iter().collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        match &*cached {
            Some((at, families)) if at.elapsed() < INDEX_INFO_TTL => families.clone(),
            _ => {
                let families = self.compute();
                // Not cached while there is no index: it may open any moment.
                if !families.is_empty() {
                    *cached = Some((Instant::now(), families.clone()));
                }
                families
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gauge_value(registry: &Registry, name: &str) -> Option<f64> {
        registry
            .gather()
            .iter()
            .find(|family| family.name() == name)
            .map(|family| family.get_metric()[0].get_gauge().get_value())
    }

    #[test]
    fn index_gauges_appear_once_the_index_is_open_and_are_cached() {
        let slot = Arc::new(OnceLock::new());
        let registry = Registry::new();
        registry
            .register(Box::new(IndexCollector::of_once(slot.clone())))
            .unwrap();
        assert_eq!(gauge_value(&registry, DOCUMENTS.0), None, "no index yet");
        let dir = tempfile::tempdir().unwrap();
        let index = PivotIndex::open_or_create(dir.path()).unwrap();
        assert!(slot.set(index).is_ok());
        assert_eq!(gauge_value(&registry, DOCUMENTS.0), Some(0.0));
        assert!(gauge_value(&registry, SLICES.0).is_some());
    }

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
