//! The indexer side of the shard API: its index, read-only, for the query tier.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use subtle::ConstantTimeEq;

use pivotlog_index::search::{Search, SearchError, SnippetOptions, StatsRequest as IndexStatsRequest};
use pivotlog_index::{IndexError, ListCalls, PivotIndex};

use super::{
    AncestorsRequest, AncestorsResponse, CallRequest, CallsRequest, CallsResponse, RecordsResponse,
    SearchRequest, SearchResponse, ShardStatus, StatsRequest, StatsResponse, WireEvent, WireHit,
};

/// The shard's current [`ShardStatus`] (owned partitions and their progress).
pub type StatusSource = Arc<dyn Fn() -> ShardStatus + Send + Sync>;

#[derive(Clone)]
struct Shard {
    index: PivotIndex,
    status: StatusSource,
    token: Arc<str>,
}

/// The shard API over `index`; every request must carry `Authorization: Bearer <token>`.
pub fn router(index: PivotIndex, status: StatusSource, token: &str) -> Router {
    let shard = Shard {
        index,
        status,
        token: token.into(),
    };
    Router::new()
        .route("/internal/v1/status", get(status_of))
        .route("/internal/v1/calls", post(calls))
        .route("/internal/v1/records", post(records))
        .route("/internal/v1/ancestors", post(ancestors))
        .route("/internal/v1/search", post(search))
        .route("/internal/v1/stats", post(stats))
        .layer(axum::middleware::from_fn_with_state(shard.clone(), bearer_token))
        .with_state(shard)
}

async fn bearer_token(State(shard): State<Shard>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(presented.as_bytes().ct_eq(shard.token.as_bytes())) && !shard.token.is_empty() {
        next.run(request).await
    } else {
        failure(StatusCode::UNAUTHORIZED, "a valid shard token is required".into())
    }
}

fn failure(status: StatusCode, message: String) -> Response {
    (status, Json(serde_json::json!({ "error": message }))).into_response()
}

/// Runs a read on the blocking pool (reads take milliseconds of CPU).
async fn read<T: serde::Serialize + Send + 'static>(
    work: impl FnOnce() -> Result<T, SearchError> + Send + 'static,
) -> Response {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Json(value).into_response(),
        Ok(Err(err @ SearchError::Index(_))) => failure(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        Ok(Err(err)) => failure(StatusCode::BAD_REQUEST, err.to_string()),
        Err(err) => failure(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
    }
}

fn index_error(err: IndexError) -> SearchError {
    SearchError::Index(err)
}

async fn status_of(State(shard): State<Shard>) -> Json<ShardStatus> {
    Json((shard.status)())
}

async fn calls(State(shard): State<Shard>, Json(request): Json<CallsRequest>) -> Response {
    let index = shard.index.only_partitions(&request.partitions);
    read(move || {
        let page = index
            .list_calls(&ListCalls {
                account_id: request.account_id,
                created_from_ms: request.created_from_ms,
                created_to_ms: request.created_to_ms,
                ascending: request.ascending,
                page_size: request.page_size,
                start: request.start,
            })
            .map_err(index_error)?;
        Ok(CallsResponse {
            calls: page.calls,
            next: page.next,
        })
    })
    .await
}

async fn records(State(shard): State<Shard>, Json(request): Json<CallRequest>) -> Response {
    let index = shard.index.only_partitions(&request.partitions);
    read(move || {
        let events = index
            .call_records(&request.account_id, &request.call_id)
            .map_err(index_error)?;
        Ok(RecordsResponse {
            events: events.iter().map(WireEvent::from).collect(),
        })
    })
    .await
}

async fn ancestors(State(shard): State<Shard>, Json(request): Json<AncestorsRequest>) -> Response {
    let index = shard.index.only_partitions(&request.partitions);
    read(move || {
        Ok(AncestorsResponse {
            ancestors: index
                .account_ancestors(&request.account_id)
                .map_err(index_error)?,
        })
    })
    .await
}

async fn search(State(shard): State<Shard>, Json(request): Json<SearchRequest>) -> Response {
    let index = shard.index.only_partitions(&request.partitions);
    read(move || {
        let query = index.parse_query(&request.query)?;
        let page = index.search(&Search {
            account_id: &request.account_id,
            query: &query,
            created_from_ms: request.created_from_ms,
            created_to_ms: request.created_to_ms,
            order: request.order.into(),
            page_size: request.page_size,
            start: request.start,
            snippet: SnippetOptions {
                max_chars: request.snippet_chars,
                pre_tag: request.pre_tag,
                post_tag: request.post_tag,
            },
        })?;
        Ok(SearchResponse {
            total: page.total,
            hits: page.hits.into_iter().map(WireHit::from).collect(),
            next: page.next,
        })
    })
    .await
}

async fn stats(State(shard): State<Shard>, Json(request): Json<StatsRequest>) -> Response {
    let index = shard.index.only_partitions(&request.partitions);
    read(move || {
        let query = index.parse_query(&request.query)?;
        let stats = index.search_stats(&IndexStatsRequest {
            account_id: &request.account_id,
            query: &query,
            created_from_ms: request.created_from_ms,
            created_to_ms: request.created_to_ms,
            interval_ms: request.interval_ms,
        })?;
        Ok(StatsResponse::from(stats))
    })
    .await
}
