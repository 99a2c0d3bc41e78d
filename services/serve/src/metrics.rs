//! Prometheus text for every listener ([`respond`]), and the `pivotlog_index_*` gauges
//! of a local index ([`IndexCollector`]), which the indexer and a query process reading
//! the index directory both expose.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{Encoder, IntGauge, Registry, TextEncoder};

use pivotlog_index::PivotIndex;

/// `Content-Type` of `/metrics`: the Prometheus text exposition format 0.0.4.
pub const CONTENT_TYPE: &str = prometheus::TEXT_FORMAT;

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

/// The gauges, `(name, help)`, in the order [`IndexCollector`] reports them.
const GAUGES: [(&str, &str); 4] = [
    ("pivotlog_index_slices", "Time slices of the local index."),
    (
        "pivotlog_index_segments",
        "Segments of the local index (searchable, across slices).",
    ),
    (
        "pivotlog_index_bytes",
        "Size of the local index on disk, bytes (0 in memory).",
    ),
    (
        "pivotlog_index_documents",
        "Debug records in the local index (call summary documents not counted).",
    ),
];

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
        let descs = GAUGES
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
        let values = [
            info.slices.len() as u64,
            info.segments() as u64,
            info.bytes(),
            info.records(),
        ];
        GAUGES
            .into_iter()
            .zip(values)
            .flat_map(|((name, help), value)| {
                let gauge = IntGauge::new(name, help).expect("valid metric");
                gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
                gauge.collect()
            })
            .collect()
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
        assert_eq!(
            gauge_value(&registry, "pivotlog_index_documents"),
            None,
            "no index yet"
        );
        let dir = tempfile::tempdir().unwrap();
        let index = PivotIndex::open_or_create(dir.path()).unwrap();
        assert!(slot.set(index).is_ok());
        assert_eq!(gauge_value(&registry, "pivotlog_index_documents"), Some(0.0));
        assert!(gauge_value(&registry, "pivotlog_index_slices").is_some());
        assert!(encode(&registry).contains("pivotlog_index_documents"));
    }
}
