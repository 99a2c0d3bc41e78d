//! Everything a request handler needs ([`AppState`]): where to read, who may read it,
//! what readiness depends on, and this instance's metrics.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use pivotlog_index::PivotIndex;
use pivotlog_serve::admission::{Admission, Limits};
use pivotlog_serve::metrics::IndexCollector;
use prometheus::core::Collector;

use crate::auth::Authenticator;
use crate::browser::BrowserConfig;
use crate::envelope::ApiError;
use crate::metrics::Metrics;
use crate::shards::ShardSet;
use crate::source::{Backend, Source};
use crate::tails::{TailConfig, Tails};

/// What readiness depends on besides the index being open (e.g. an in-process
/// indexer's health): `Err(reason)` makes `/readyz` answer 503 with the reason.
pub type ReadinessCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    pub(crate) index: Arc<OnceLock<PivotIndex>>,
    /// Set: reads fan out to these shards instead of a local index.
    shards: Option<Backend>,
    /// Who may read now, under overload.
    admission: Arc<Admission>,
    pub(crate) auth: Arc<Authenticator>,
    readiness: Option<ReadinessCheck>,
    /// This instance's metrics, served at `/metrics`.
    pub(crate) metrics: Arc<Metrics>,
    /// CORS and the console.
    pub(crate) browser: Arc<BrowserConfig>,
    /// Live tails: their limits and who holds them.
    pub(crate) tails: Arc<Tails>,
}

impl AppState {
    /// Reads a local index, once [`AppState::set_index`] gives it.
    pub fn new(auth: Authenticator) -> AppState {
        let index = Arc::new(OnceLock::new());
        let metrics = Metrics::new();
        metrics.register(Box::new(IndexCollector::of_once(index.clone())));
        let admission = Admission::new(Limits::default(), "pivotlog_query");
        for collector in admission.collectors() {
            metrics.register(collector);
        }
        let tails = Arc::new(Tails::new(TailConfig::default()));
        for collector in tails.collectors() {
            metrics.register(collector);
        }
        AppState {
            index,
            shards: None,
            admission,
            auth: Arc::new(auth),
            readiness: None,
            metrics: Arc::new(metrics),
            browser: Arc::new(BrowserConfig::default()),
            tails,
        }
    }

    /// Reads the indexers' shards and merges their answers.
    pub fn with_shards(
        auth: Authenticator,
        shards: Arc<ShardSet>,
    ) -> Result<AppState, pivotlog_index::IndexError> {
        let schema = PivotIndex::create_in_ram()?;
        let state = AppState::new(auth);
        state.metrics.register(Box::new(shards.request_counter()));
        Ok(AppState {
            shards: Some(Backend::Shards { shards, schema }),
            ..state
        })
    }

    /// Serves `index` from now on (`/readyz` turns ready).
    pub fn set_index(&self, index: PivotIndex) {
        let _ = self.index.set(index);
    }

    pub fn with_index(self, index: PivotIndex) -> AppState {
        self.set_index(index);
        self
    }

    /// This instance's metrics (add a process's other collectors to its registry).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    pub fn with_readiness(mut self, check: ReadinessCheck) -> AppState {
        self.readiness = Some(check);
        self
    }

    /// Meets browsers as `config` says (the default: CORS for every origin, the
    /// embedded console).
    pub fn with_browser(mut self, config: BrowserConfig) -> AppState {
        self.browser = Arc::new(config);
        self
    }

    /// Admits reads within `limits` from now on (the default: [`Limits::default`]).
    pub fn with_limits(mut self, limits: Limits) -> AppState {
        let admission = Admission::new(limits, "pivotlog_query");
        self.replace_collectors(self.admission.collectors(), admission.collectors());
        self.admission = admission;
        self
    }

    /// Opens live tails within `config` from now on (the default: [`TailConfig::default`]).
    pub fn with_tails(mut self, config: TailConfig) -> AppState {
        let tails = Arc::new(Tails::new(config));
        self.replace_collectors(self.tails.collectors(), tails.collectors());
        self.tails = tails;
        self
    }

    /// The defaults' collectors are registered: registering the same names again would
    /// be refused, so the new ones replace them.
    fn replace_collectors(&self, old: Vec<Box<dyn Collector>>, new: Vec<Box<dyn Collector>>) {
        for collector in old {
            let _ = self.metrics.registry().unregister(collector);
        }
        for collector in new {
            self.metrics.register(collector);
        }
    }

    /// Ends every live tail (`end` event, reason `shutdown`): a stream would otherwise
    /// hold a stopping process until its client leaves.
    pub fn end_tails(&self) {
        self.tails.end_all();
    }

    pub(crate) fn source(&self) -> Result<Source, ApiError> {
        let backend = match &self.shards {
            Some(shards) => shards.clone(),
            None => self
                .index
                .get()
                .map(|index| Backend::Local(index.clone()))
                .ok_or(ApiError::NotReady("the index is not open yet".into()))?,
        };
        Ok(Source {
            backend,
            admission: self.admission.clone(),
        })
    }

    /// `Err(reason)` while requests cannot be answered.
    pub(crate) fn readiness(&self) -> Result<(), String> {
        match &self.shards {
            Some(Backend::Shards { shards, .. }) => shards.readiness()?,
            _ => {
                self.source().map_err(|err| err.to_string())?;
            }
        }
        match &self.readiness {
            Some(check) => check(),
            None => Ok(()),
        }
    }
}

/// Reloads the index reader on an interval, for a query process that does not share
/// the indexer's writer (whose commits reload it directly).
pub async fn reload_periodically(state: AppState, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        if let Some(index) = state.index.get() {
            if let Err(err) = index.reload() {
                tracing::warn!(error = %err, "index reload failed");
            }
        }
    }
}
