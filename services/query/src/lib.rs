//! `pivotlog query`: the HTTP API over the index.
//!
//! It answers Kazoo's Crossbar Pivot debug API (`/v2/accounts/{ACCOUNT_ID}/pivot/debug`
//! and `/debug/{ID}`) with Crossbar's envelopes, so Monster UI and existing scripts work
//! unchanged, and fixes Kazoo's known quirks on purpose (see the README's "Differences
//! from Kazoo"). It adds free-text search and its stats (`/pivot/search[/stats]`), error
//! signatures (`/pivot/signatures`) and a live tail as Server-Sent Events (`/pivot/tail`).
//! Every API request is authenticated ([`auth`]) and reads only the account in its URL
//! ([`access`]).
//!
//! [`router`] builds the whole service from an [`AppState`]; tests drive it without a
//! socket, and [`serve`] runs it on a listener the caller binds, until `shutdown`.
//!
//! Browsers are met as Crossbar meets them ([`browser`]: CORS for every origin by
//! default, `/v1` as `/v2`, trailing slashes tolerated, gzip and br), and the
//! operator's console is served at `/ui/` (`console`).
//!
//! Modules, from the bottom up (each uses only those above it): [`auth`], [`browser`],
//! `params`, [`metrics`], `answer` → `envelope` → `tails`, `shards` → `source` → `state` →
//! `access` → the handlers (`debug`, `search` → `signatures`, `tail`, `console`), `observe`;
//! this file wires them into routes.

pub mod auth;
pub mod browser;
pub mod metrics;
pub mod shards;

mod access;
mod answer;
mod console;
mod debug;
mod envelope;
mod observe;
mod params;
mod search;
mod signatures;
mod source;
mod state;
mod tail;
mod tails;

use std::future::Future;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tower::Layer;
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::normalize_path::NormalizePathLayer;

pub use answer::Gaps;
pub use auth::{Authenticator, Principal};
pub use browser::{BrowserConfig, Origins};
pub use envelope::ApiError;
pub use metrics::Metrics;
pub use shards::{Discovery, ShardConfig, ShardSet};
pub use state::{reload_periodically, AppState, ReadinessCheck};
pub use tails::TailConfig;

/// The OpenAPI document of this API, served at `/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../openapi.yaml");

/// Longest time one request may take before it is answered 503.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The whole HTTP service.
pub fn router(state: AppState) -> Router {
    // Crossbar serves every resource under `/v1` and `/v2` alike (older SDKs default
    // to v1), so both prefixes route to the same handlers.
    let api = Router::new()
        .route(
            "/accounts/{account_id}/pivot/debug",
            get(debug::list_calls).fallback(envelope::method_not_allowed),
        )
        .route(
            "/accounts/{account_id}/pivot/debug/{id}",
            get(debug::call_records).fallback(envelope::method_not_allowed),
        )
        .route(
            "/accounts/{account_id}/pivot/search",
            get(search::search).fallback(envelope::method_not_allowed),
        )
        .route(
            "/accounts/{account_id}/pivot/search/stats",
            get(search::stats).fallback(envelope::method_not_allowed),
        )
        .route(
            "/accounts/{account_id}/pivot/signatures",
            get(signatures::signatures).fallback(envelope::method_not_allowed),
        )
        .route(
            "/accounts/{account_id}/pivot/tail",
            get(tail::tail).fallback(envelope::method_not_allowed),
        );
    let api = with_deadline_and_cors(api, &state.browser.origins, REQUEST_TIMEOUT);
    let service = Router::new()
        .route("/", get(console::to_console))
        .route("/ui", get(console::console_index))
        .route("/ui/{file}", get(console::console_asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/openapi.yaml", get(openapi))
        .route("/metrics", get(metrics))
        .route_layer(axum::middleware::from_fn(|request, next| {
            deadline(REQUEST_TIMEOUT, request, next)
        }))
        .nest("/v2", api.clone())
        .nest("/v1", api)
        .fallback(envelope::not_found)
        // Completes every envelope, the deadline's 503 too, with the request's context.
        .layer(axum::middleware::from_fn(envelope::complete))
        // Outermost but compression: settles the request id before anything reads
        // it, and sees every answer.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observe::observe,
        ))
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .br(true)
                .quality(CompressionLevel::Default),
        )
        .with_state(state);
    // Paths are routed without a trailing slash (`.../pivot/debug/` is
    // `.../pivot/debug`); the path must be trimmed before routing, hence outside.
    Router::new().fallback_service(NormalizePathLayer::trim_trailing_slash().layer(service))
}

/// Serves the API until `shutdown` resolves, then ends live tails and lets in-flight
/// requests finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let tails = state.clone();
    let shutdown = async move {
        shutdown.await;
        tails.end_tails();
    };
    pivotlog_serve::serve(listener, router(state), shutdown).await
}

/// The API's routes under the [`deadline`], inside CORS: a request the deadline cuts
/// off still carries the CORS headers, so a browser on another origin (Monster UI) reads
/// the 503 instead of reporting an opaque network error. Preflights are answered by the
/// CORS layer, before authentication: they carry no token. Other paths (probes,
/// console) are not for other origins.
fn with_deadline_and_cors<S: Clone + Send + Sync + 'static>(
    api: Router<S>,
    origins: &Origins,
    timeout: Duration,
) -> Router<S> {
    let api = api.layer(axum::middleware::from_fn(move |request, next| {
        deadline(timeout, request, next)
    }));
    match browser::cors(origins) {
        Some(cors) => api.layer(cors),
        None => api,
    }
}

/// Answers 503, in the Crossbar error envelope, a request that runs past `timeout`
/// ([`REQUEST_TIMEOUT`]).
async fn deadline(
    timeout: Duration,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::NotReady(format!(
            "the request took longer than {} s",
            timeout.as_secs_f64()
        ))
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
    pivotlog_serve::metrics::respond(state.metrics.registry().clone()).await
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI_YAML)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    use super::*;

    #[tokio::test]
    async fn a_request_cut_off_by_the_deadline_keeps_its_cors_headers() {
        let slow = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "never"
            }),
        );
        let app = with_deadline_and_cors(slow, &Origins::Any, Duration::from_millis(50))
            .layer(axum::middleware::from_fn(envelope::complete));
        let request = Request::get("/slow")
            .header(header::ORIGIN, "https://monster.example.com")
            .body(Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            response
                .headers()
                .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
                .unwrap(),
            "*"
        );
        let body = axum::body::to_bytes(response.into_body(), 1 << 20).await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["status"], "error", "{body}");
        assert_eq!(body["error"], "503", "{body}");
    }
}
