//! Crossbar's response envelopes, success and error, and the request context they echo.
//!
//! Handlers return a [`Success`] or an [`ApiError`] and know nothing of the request
//! they answer: each renders its own fields, and the [`complete`] layer, which holds
//! the request's [`RequestContext`], adds what every envelope echoes (request id, auth
//! token, node, version, timestamp). So the context is carried in one place.

use std::hash::{Hash, Hasher};

use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::Rng;
use serde_json::{json, Map, Value};

use pivotlog_index::search::SearchError;
use pivotlog_proto::time::now_unix_ms;

use crate::answer::Gaps;
use crate::auth::AuthError;

pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";
const MAX_REQUEST_ID_LEN: usize = 128;

/// What every response echoes: the request id and the caller's token.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub auth_token: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestContext {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(match parts.extensions.get::<RequestContext>() {
            Some(context) => context.clone(),
            None => RequestContext::of(&parts.headers, parts.uri.query()),
        })
    }
}

impl RequestContext {
    pub fn of(headers: &HeaderMap, query: Option<&str>) -> RequestContext {
        // The router's middleware has settled the id already (`settle_request_id`).
        let request_id = client_request_id(headers)
            .map(str::to_owned)
            .unwrap_or_else(random_request_id);
        let auth_token = headers
            .get("x-auth-token")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .or_else(|| {
                form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                    .find(|(name, _)| name == "auth_token")
                    .map(|(_, value)| value.into_owned())
            });
        RequestContext {
            request_id,
            auth_token,
        }
    }

    fn base(&self) -> Map<String, Value> {
        let mut envelope = Map::new();
        envelope.insert("request_id".into(), self.request_id.clone().into());
        if let Some(token) = &self.auth_token {
            envelope.insert("auth_token".into(), token.clone().into());
        }
        envelope.insert("node".into(), node_id().into());
        envelope.insert("version".into(), env!("CARGO_PKG_VERSION").into());
        envelope.insert(
            "timestamp".into(),
            pivotlog_proto::time::iso8601_utc(now_unix_ms()).into(),
        );
        envelope
    }

    fn respond(&self, status: StatusCode, body: Map<String, Value>) -> Response {
        let mut response = (status, Json(Value::Object(body))).into_response();
        if let Ok(value) = HeaderValue::from_str(&self.request_id) {
            response.headers_mut().insert(REQUEST_ID_HEADER, value);
        }
        response
    }
}

/// The client's `X-Request-ID`, if it is usable as ours.
fn client_request_id(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= MAX_REQUEST_ID_LEN)
}

/// The request's id: the client's `X-Request-ID` if usable, else a new one, written into
/// `headers` so that every later reader (envelope, response header, log) sees the same.
pub(crate) fn settle_request_id(headers: &mut HeaderMap) -> String {
    if let Some(id) = client_request_id(headers) {
        return id.to_owned();
    }
    let id = random_request_id();
    headers.insert(
        REQUEST_ID_HEADER,
        HeaderValue::from_str(&id).expect("hex is a valid header value"),
    );
    id
}

/// What a success envelope tells the metrics, as a response extension.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    /// Hits in a search page.
    pub search_hits: Option<u64>,
    /// The answer lacks some partitions.
    pub partial: bool,
}

/// Every way a request can fail, with its Crossbar status and `error` code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("invalid_credentials")]
    Unauthorized(AuthError),
    #[error("forbidden")]
    Forbidden,
    /// A parameter is malformed: `data` says which and why, in Kazoo's validation shape.
    #[error("validation error")]
    Validation(Value),
    #[error("not found")]
    NotFound,
    #[error("invalid_method")]
    MethodNotAllowed,
    #[error("range not satisfiable")]
    RangeNotSatisfiable(String),
    #[error("not ready: {0}")]
    NotReady(String),
    /// Admission refused the read (overload): 429 with `Retry-After`.
    #[error("too many requests")]
    Overloaded(#[from] pivotlog_serve::admission::Refused),
    /// A new live tail is over a limit (`data.message` says which): 429 with `Retry-After`.
    #[error("too many requests")]
    TooManyTails { message: String, retry_after_s: u64 },
    /// The read was given up (its client left, or its deadline passed): whatever
    /// answers this is not read by the client that asked.
    #[error("the request was given up")]
    Interrupted,
    #[error("datastore_fault")]
    Internal(String),
}

impl ApiError {
    fn status(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::Validation(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::RangeNotSatisfiable(_) => StatusCode::RANGE_NOT_SATISFIABLE,
            ApiError::NotReady(_) | ApiError::Interrupted => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Overloaded(_) | ApiError::TooManyTails { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn data(&self) -> Value {
        match self {
            ApiError::Unauthorized(reason) => json!({"message": reason.to_string()}),
            ApiError::Validation(data) => data.clone(),
            ApiError::RangeNotSatisfiable(message) | ApiError::NotReady(message) => {
                json!({"message": message})
            }
            ApiError::Overloaded(refused) => json!({
                "message": format!("{refused}; retry after {} s", retry_after_s(refused)),
                "retry_after": retry_after_s(refused),
            }),
            ApiError::TooManyTails {
                message,
                retry_after_s,
            } => json!({
                "message": format!("{message}; retry after {retry_after_s} s"),
                "retry_after": retry_after_s,
            }),
            // Details of internal failures go to the log, not to the client.
            _ => json!({}),
        }
    }

    /// One parameter's validation failure, in Kazoo's `{field: {code: {message, value}}}` shape.
    pub fn invalid_parameter(name: &str, code: &str, message: String, value: &str) -> ApiError {
        ApiError::Validation(json!({ name: { code: { "message": message, "value": value } } }))
    }

    /// A search the index refuses, as the client's mistake where it is one (`query`:
    /// the query text, echoed in a syntax error).
    pub fn from_search(err: SearchError, query: &str) -> ApiError {
        match err {
            SearchError::Query(err) => ApiError::Validation(json!({"q": {"syntax": {
                "message": err.message,
                "position": err.position,
                "value": query,
            }}})),
            SearchError::ResultWindow => {
                ApiError::invalid_parameter("start_key", "result_window", err.to_string(), "")
            }
            SearchError::TooManyBuckets { .. } | SearchError::BadInterval => {
                ApiError::invalid_parameter("interval", "range", err.to_string(), "")
            }
            SearchError::TooManySignatures => {
                ApiError::invalid_parameter("created_from", "too_many_signatures", err.to_string(), "")
            }
            SearchError::Index(err) => err.into(),
        }
    }
}

impl From<pivotlog_index::IndexError> for ApiError {
    fn from(err: pivotlog_index::IndexError) -> ApiError {
        if let pivotlog_index::IndexError::Interrupted = err {
            return ApiError::Interrupted;
        }
        tracing::error!(error = %err, "index read failed");
        ApiError::Internal(err.to_string())
    }
}

/// Whole seconds, at least one, as `Retry-After` wants them.
fn retry_after_s(refused: &pivotlog_serve::admission::Refused) -> u64 {
    refused.retry_after.as_secs_f64().ceil().max(1.0) as u64
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let mut body = Map::new();
        body.insert("status".into(), "error".into());
        body.insert("error".into(), status.as_u16().to_string().into());
        body.insert("message".into(), self.to_string().into());
        body.insert("data".into(), self.data());
        let retry_after = match &self {
            ApiError::Overloaded(refused) => Some(retry_after_s(refused)),
            ApiError::TooManyTails { retry_after_s, .. } => Some(*retry_after_s),
            _ => None,
        };
        Pending {
            status,
            body,
            retry_after,
        }
        .into_response()
    }
}

/// An envelope's own fields, waiting in the response for [`complete`] to add the
/// request's context.
#[derive(Debug, Clone)]
struct Pending {
    status: StatusCode,
    body: Map<String, Value>,
    /// `Retry-After`, seconds.
    retry_after: Option<u64>,
}

impl IntoResponse for Pending {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        response.extensions_mut().insert(self);
        response
    }
}

/// Middleware: every envelope a handler (or a fallback, or a layer inside this one)
/// returns is completed with the request's context, which handlers can also extract.
pub async fn complete(mut request: Request, next: Next) -> Response {
    let context = RequestContext::of(request.headers(), request.uri().query());
    request.extensions_mut().insert(context.clone());
    let mut response = next.run(request).await;
    let Some(pending) = response.extensions_mut().remove::<Pending>() else {
        return response;
    };
    let mut body = context.base();
    body.extend(pending.body);
    let mut completed = context.respond(pending.status, body);
    if let Some(seconds) = pending.retry_after {
        completed
            .headers_mut()
            .insert(axum::http::header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    completed
        .extensions_mut()
        .extend(std::mem::take(response.extensions_mut()));
    // Headers that layers inside this one added (CORS) stay; the body's own are new.
    for (name, value) in response.headers() {
        if !completed.headers().contains_key(name) {
            completed.headers_mut().append(name, value.clone());
        }
    }
    completed
}

/// Paging fields of a success envelope (absent with `paginate=false`).
#[derive(Debug, Default)]
pub struct Paging {
    pub start_key: Option<String>,
    pub next_start_key: Option<String>,
}

/// A success envelope around `data` (an array of items, or one object).
pub struct Success {
    pub data: Value,
    pub paging: Option<Paging>,
    /// Searches: the number of all matches, not only this page's.
    pub total_hits: Option<u64>,
    /// Partitions the answer lacks (a shard down or rebuilding): the envelope then says
    /// `"partial": true`, which partitions are missing and why.
    pub gaps: Gaps,
}

impl IntoResponse for Success {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("status".into(), "success".into());
        let items = self.data.as_array().map_or(1, Vec::len);
        let outcome = Outcome {
            // Search pages: hits in `data`, with `total_hits`. Stats (an object) are not hits.
            search_hits: (self.total_hits.is_some() && self.data.is_array()).then_some(items as u64),
            partial: !self.gaps.is_empty(),
        };
        if items > 0 {
            body.insert("revision".into(), revision(&self.data).into());
        }
        if let Some(total) = self.total_hits {
            body.insert("total_hits".into(), total.into());
        }
        if !self.gaps.is_empty() {
            body.insert("partial".into(), true.into());
            body.insert(
                "missing_partitions".into(),
                self.gaps.partitions.iter().copied().collect::<Vec<_>>().into(),
            );
            body.insert(
                "partial_reasons".into(),
                self.gaps.reasons.iter().cloned().collect::<Vec<_>>().into(),
            );
        }
        if let Some(paging) = self.paging {
            body.insert("page_size".into(), items.into());
            if let Some(start_key) = paging.start_key {
                body.insert("start_key".into(), start_key.into());
            }
            if let Some(next) = paging.next_start_key {
                body.insert("next_start_key".into(), next.into());
            }
        }
        body.insert("data".into(), self.data);
        let mut response = Pending {
            status: StatusCode::OK,
            body,
            retry_after: None,
        }
        .into_response();
        response.extensions_mut().insert(outcome);
        response
    }
}

/// Fallback for unknown routes.
pub async fn not_found() -> ApiError {
    ApiError::NotFound
}

/// Fallback for known routes with a verb other than GET.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// An opaque content hash, as Crossbar's `revision`.
fn revision(data: &Value) -> String {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    serde_json::to_string(data).unwrap_or_default().hash(&mut hasher);
    format!("{:016x}", hasher.finish())
}

/// Identifies this server process, as Crossbar's `node` (not the records' Kazoo node).
fn node_id() -> &'static str {
    static NODE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    NODE.get_or_init(|| {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        std::env::var("HOSTNAME").unwrap_or_default().hash(&mut hasher);
        std::process::id().hash(&mut hasher);
        format!("{:016x}", hasher.finish())
    })
}

fn random_request_id() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
