//! `pivotlog query`: the HTTP API over the index.
//!
//! It answers Kazoo's Crossbar Pivot debug API (`/v2/accounts/{ACCOUNT_ID}/pivot/debug`
//! and `/debug/{ID}`) with Crossbar's envelopes, so Monster UI and existing scripts work
//! unchanged, and fixes Kazoo's known quirks on purpose (see the README's "Differences
//! from Kazoo"). It adds free-text search and its stats (`/pivot/search[/stats]`).
//! Every API request is authenticated ([`auth`]) and reads only the account in its URL.
//!
//! [`router`] builds the whole service from an [`AppState`]; tests drive it without a
//! socket, and [`serve`] runs it on a listener the caller binds, until `shutdown`.

pub mod auth;
pub mod metrics;
pub mod shard;

mod access;
mod debug;
mod envelope;
mod observe;
mod params;
mod search;
mod source;

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;

use pivotlog_index::PivotIndex;

pub use auth::{Authenticator, Principal};
pub use envelope::ApiError;
pub use metrics::Metrics;
pub use shard::ShardSet;
pub use source::Gaps;

use source::Source;

/// The OpenAPI document of this API, served at `/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

/// Longest time one request may take before it is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What readiness depends on besides the index being open (e.g. an in-process
/// indexer's health): `Err(reason)` makes `/readyz` answer 503 with the reason.
pub type ReadinessCheck = Arc<dyn Fn() -> Result<(), String> + Send + Sync>;

/// Everything a request handler needs.
#[derive(Clone)]
pub struct AppState {
    index: Arc<OnceLock<PivotIndex>>,
    /// Set: reads fan out to these shards instead of a local index.
    shards: Option<Source>,
    auth: Arc<Authenticator>,
    readiness: Option<ReadinessCheck>,
    /// This instance's metrics, served at `/metrics`.
    metrics: Arc<Metrics>,
}

impl AppState {
    /// Reads a local index, once [`AppState::set_index`] gives it.
    pub fn new(auth: Authenticator) -> AppState {
        let index = Arc::new(OnceLock::new());
        let metrics = Metrics::new();
        metrics.register(Box::new(metrics::IndexCollector::of_once(index.clone())));
        AppState {
            index,
            shards: None,
            auth: Arc::new(auth),
            readiness: None,
            metrics: Arc::new(metrics),
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
            shards: Some(Source::Shards { shards, schema }),
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

    fn source(&self) -> Result<Source, ApiError> {
        if let Some(shards) = &self.shards {
            return Ok(shards.clone());
        }
        self.index
            .get()
            .map(|index| Source::Local(index.clone()))
            .ok_or(ApiError::NotReady("the index is not open yet".into()))
    }

    /// `Err(reason)` while requests cannot be answered.
    fn readiness(&self) -> Result<(), String> {
        match &self.shards {
            Some(Source::Shards { shards, .. }) => shards.readiness()?,
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

/// The whole HTTP service.
pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route(
            "/v2/accounts/{account_id}/pivot/debug",
            get(debug::list_calls).fallback(envelope::method_not_allowed),
        )
        .route(
            "/v2/accounts/{account_id}/pivot/debug/{id}",
            get(debug::call_records).fallback(envelope::method_not_allowed),
        )
        .route(
            "/v2/accounts/{account_id}/pivot/search",
            get(search::search).fallback(envelope::method_not_allowed),
        )
        .route(
            "/v2/accounts/{account_id}/pivot/search/stats",
            get(search::stats).fallback(envelope::method_not_allowed),
        );
    Router::new()
        .merge(api)
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.yaml", get(openapi))
        .route("/metrics", get(metrics))
        .fallback(envelope::not_found)
        .layer(axum::middleware::from_fn(deadline))
        // Outermost: settles the request id before anything reads it, and sees every answer.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .with_state(state)
}

/// Serves the API until `shutdown` resolves, then lets in-flight requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app(listener, router(state), shutdown).await
}

/// Longest time a client may take to send a request's headers before its connection is
/// closed, so slow or stalled clients cannot hold connections.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head (request line, URI and headers); larger ones get 431.
pub const MAX_REQUEST_HEAD_BYTES: usize = 64 * 1024;

/// Serves `app` on `listener` until `shutdown` resolves, then stops accepting, lets
/// requests in flight finish and closes idle connections. Unlike `axum::serve`, it
/// bounds how long a client may take to send its request head
/// ([`HEADER_READ_TIMEOUT`]) and how large that head may be.
pub async fn serve_app(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_app_with(listener, app, shutdown, HEADER_READ_TIMEOUT).await
}

/// [`serve_app`] with another header timeout (tests use a short one).
pub async fn serve_app_with(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
    header_read_timeout: Duration,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;

    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .max_buf_size(MAX_REQUEST_HEAD_BYTES);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_header_list_size(MAX_REQUEST_HEAD_BYTES as u32);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(err) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!(error = %err, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(app.clone());
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(error = %err, "connection closed with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
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

/// Answers 503, in the Crossbar error envelope, a request that runs past [`REQUEST_TIMEOUT`].
async fn deadline(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    let context = envelope::RequestContext::of(request.headers(), request.uri().query());
    match tokio::time::timeout(REQUEST_TIMEOUT, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::NotReady(format!(
            "the request took longer than {} s",
            REQUEST_TIMEOUT.as_secs()
        ))
        .with(&context)
        .into_response(),
    }
}

async fn healthz() -> impl IntoResponse {
    Json(serde_json::json!({"status": "ok"}))
}

async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.readiness() {
        Ok(()) => (StatusCode::OK, Json(serde_json::json!({"status": "ready"}))),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "not ready", "reason": reason})),
        ),
    }
}

/// Prometheus text, unauthenticated like the probes: it holds no account data.
async fn metrics(State(state): State<AppState>) -> axum::response::Response {
    metrics::respond(state.metrics.registry().clone()).await
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML)
}
