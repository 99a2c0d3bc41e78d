//! The indexer side of the shard API: its index, read-only, for the query tier.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use subtle::ConstantTimeEq;

use pivotlog_index::search::{
    Search, SearchError, SearchPage, SearchStats, SignatureDetails, SignatureDetailsRequest, SignatureGroups,
    StatsRequest,
};
use pivotlog_index::tail::{TailPage, TailRequest};
use pivotlog_index::{interrupt, CallPage, IndexError, ListCalls, PivotIndex};
use pivotlog_serve::admission::{Admission, Class};

use crate::{
    AccountAncestors, AncestorList, Ancestors, CallRecords, Calls, Endpoint, Partitioned, RecordList,
    Records, SearchHits, ShardStatus, SignatureCounts, SignatureSamples, Stats, Tail, PREFIX,
};

/// The shard's current [`ShardStatus`] (owned partitions and their progress).
pub type StatusSource = Arc<dyn Fn() -> ShardStatus + Send + Sync>;

#[derive(Clone)]
struct Shard {
    index: PivotIndex,
    status: StatusSource,
    token: Arc<str>,
    admission: Arc<Admission>,
}

/// The shard API over `index`; every request must carry `Authorization: Bearer <token>`.
/// Reads are admitted by `admission`, by the account they read: a query process fanning
/// one account's requests out cannot take every slot of a shard from the others.
pub fn router(index: PivotIndex, status: StatusSource, token: &str, admission: Arc<Admission>) -> Router {
    let shard = Shard {
        index,
        status,
        token: token.into(),
        admission,
    };
    Router::new()
        .route(&format!("{PREFIX}/status"), get(status_of))
        .route(&path::<Calls>(), post(handle::<Calls>))
        .route(&path::<Records>(), post(handle::<Records>))
        .route(&path::<Ancestors>(), post(handle::<Ancestors>))
        .route(&path::<SearchHits>(), post(handle::<SearchHits>))
        .route(&path::<Stats>(), post(handle::<Stats>))
        .route(&path::<SignatureCounts>(), post(handle::<SignatureCounts>))
        .route(&path::<SignatureSamples>(), post(handle::<SignatureSamples>))
        .route(&path::<Tail>(), post(handle::<Tail>))
        .layer(axum::middleware::from_fn_with_state(shard.clone(), bearer_token))
        .with_state(shard)
}

fn path<E: Endpoint>() -> String {
    format!("{PREFIX}{}", E::PATH)
}

/// How a shard answers an endpoint from its index (restricted to the request's
/// partitions).
trait Read: Endpoint {
    /// The account the request reads and what the read costs, for admission.
    fn admitted_as(request: &Self::Request) -> (&str, Class);

    fn read(index: &PivotIndex, request: Self::Request) -> Result<Self::Answer, SearchError>;
}

impl Read for Calls {
    fn admitted_as(request: &ListCalls) -> (&str, Class) {
        let class = match request.page_size {
            Some(_) => Class::Cheap,
            None => Class::Heavy,
        };
        (&request.account_id, class)
    }

    fn read(index: &PivotIndex, request: ListCalls) -> Result<CallPage, SearchError> {
        Ok(index.list_calls(&request)?)
    }
}

impl Read for Records {
    fn admitted_as(request: &CallRecords) -> (&str, Class) {
        (&request.account_id, Class::Cheap)
    }

    fn read(index: &PivotIndex, request: CallRecords) -> Result<RecordList, SearchError> {
        let events = index.call_records(&request.account_id, &request.call_id)?;
        Ok(RecordList { events })
    }
}

impl Read for Ancestors {
    fn admitted_as(request: &AccountAncestors) -> (&str, Class) {
        (&request.account_id, Class::Cheap)
    }

    fn read(index: &PivotIndex, request: AccountAncestors) -> Result<AncestorList, SearchError> {
        let ancestors = index.account_ancestors(&request.account_id)?;
        Ok(AncestorList { ancestors })
    }
}

impl Read for SearchHits {
    fn admitted_as(request: &Search) -> (&str, Class) {
        (&request.account_id, Class::Heavy)
    }

    fn read(index: &PivotIndex, request: Search) -> Result<SearchPage, SearchError> {
        index.search(&request)
    }
}

impl Read for Stats {
    fn admitted_as(request: &StatsRequest) -> (&str, Class) {
        (&request.account_id, Class::Heavy)
    }

    fn read(index: &PivotIndex, request: StatsRequest) -> Result<SearchStats, SearchError> {
        index.search_stats(&request)
    }
}

impl Read for SignatureCounts {
    fn admitted_as(request: &StatsRequest) -> (&str, Class) {
        (&request.account_id, Class::Heavy)
    }

    fn read(index: &PivotIndex, request: StatsRequest) -> Result<SignatureGroups, SearchError> {
        index.signature_groups(&request)
    }
}

impl Read for SignatureSamples {
    fn admitted_as(request: &SignatureDetailsRequest) -> (&str, Class) {
        (&request.scope.account_id, Class::Heavy)
    }

    fn read(index: &PivotIndex, request: SignatureDetailsRequest) -> Result<SignatureDetails, SearchError> {
        index.signature_details(&request)
    }
}

/// A tail's read: the few records committed since its last one, from the few segments
/// committed since (`pivotlog_index::tail`).
impl Read for Tail {
    fn admitted_as(request: &TailRequest) -> (&str, Class) {
        (&request.account_id, Class::Cheap)
    }

    fn read(index: &PivotIndex, request: TailRequest) -> Result<TailPage, SearchError> {
        index.tail(&request)
    }
}

/// Admits `E`'s read, then runs it on the blocking pool (reads take milliseconds of
/// CPU), interrupted if the query process gives up on it (its timeout). Overload is a
/// 429 with `Retry-After`; the client's mistakes (a bad query, a page past the window)
/// are 400s; the index's failures, 500s.
async fn handle<E: Read>(State(shard): State<Shard>, Json(body): Json<Partitioned<E::Request>>) -> Response {
    let (account_id, class) = E::admitted_as(&body.request);
    let index = shard.index.only_partitions(&body.partitions);
    let account_id = account_id.to_owned();
    let read = shard
        .admission
        .read(class, &account_id, move |permit| {
            let result = interrupt::scope(permit.interrupt(), || E::read(&index, body.request));
            if matches!(result, Err(SearchError::Index(IndexError::Interrupted))) {
                permit.interrupted();
            }
            result
        })
        .await;
    let read = match read {
        Ok(read) => read,
        Err(refused) => {
            let seconds = refused.retry_after.as_secs().max(1);
            let mut response = failure(StatusCode::TOO_MANY_REQUESTS, refused.to_string());
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            return response;
        }
    };
    match read {
        Some(Ok(answer)) => Json(answer).into_response(),
        Some(Err(err @ SearchError::Index(_))) => failure(StatusCode::INTERNAL_SERVER_ERROR, err.to_string()),
        Some(Err(err)) => failure(StatusCode::BAD_REQUEST, err.to_string()),
        None => failure(StatusCode::INTERNAL_SERVER_ERROR, "the read panicked".into()),
    }
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

async fn status_of(State(shard): State<Shard>) -> Json<ShardStatus> {
    Json((shard.status)())
}
