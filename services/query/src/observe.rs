//! What every API request leaves behind: its request id, one log line when it is
//! answered, and its metrics.
//!
//! The request id is settled here, before any handler runs: the client's `X-Request-ID`
//! (if usable) or a new 32-hex id, written into the request's headers so that the
//! envelope's `request_id`, the response's `X-Request-ID` and the log agree. The log
//! line and the request's other log lines are in a `request` span carrying that id.
//! Routes are labelled by their template (`/v2/accounts/{account_id}/pivot/debug`),
//! never by the raw path, so no account id or call id reaches a label or the log line.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

use crate::envelope::{self, Outcome};
use crate::state::AppState;

/// Label of requests no route matched.
pub const UNMATCHED: &str = "unmatched";

/// Routes polled by probes and scrapers: logged at debug level, not info.
const PROBES: &[&str] = &["/healthz", "/readyz", "/metrics"];

pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let request_id = envelope::settle_request_id(request.headers_mut());
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or(UNMATCHED, MatchedPath::as_str)
        .to_owned();
    let method = method_label(request.method());
    let span = tracing::info_span!("request", request_id = %request_id);
    let metrics = state.metrics.clone();
    let mut response = crate::metrics::counting_reads(metrics.open_readers.clone(), next.run(request))
        .instrument(span.clone())
        .await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();

    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response
            .headers_mut()
            .entry(envelope::REQUEST_ID_HEADER)
            .or_insert(value);
    }
    metrics
        .http_requests
        .with_label_values(&[route.as_str(), method, &status.to_string()])
        .inc();
    metrics
        .http_duration
        .with_label_values(&[route.as_str()])
        .observe(elapsed.as_secs_f64());
    if let Some(outcome) = response.extensions().get::<Outcome>() {
        if let Some(hits) = outcome.search_hits {
            metrics.search_hits.inc_by(hits);
        }
        if outcome.partial {
            metrics.partial_responses.inc();
        }
    }

    let latency_ms = elapsed.as_micros() as f64 / 1000.0;
    let _entered = span.enter();
    if PROBES.contains(&route.as_str()) {
        tracing::debug!(method, route, status, latency_ms, "request answered");
    } else {
        tracing::info!(method, route, status, latency_ms, "request answered");
    }
    response
}

/// The method as a label: the standard ones by name, anything else `other` (a client
/// may send any token as a method; labels must stay few).
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use serde_json::Value;
    use tower::ServiceExt;

    use crate::{router, AppState, Authenticator, Principal};

    const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";

    fn state() -> AppState {
        let principal = Principal {
            account_id: ACCOUNT.into(),
            descendants: false,
            superduper_admin: false,
        };
        let index = pivotlog_index::PivotIndex::create_in_ram().unwrap();
        AppState::new(Authenticator::default().with_static_token("t", principal)).with_index(index)
    }

    async fn call(
        state: &AppState,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Option<String>, String) {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = router(state.clone())
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let id = response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_owned());
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        if uri == "/metrics" {
            assert_eq!(content_type.as_deref(), Some("text/plain; version=0.0.4"));
        }
        (status, id, body)
    }

    #[tokio::test]
    async fn a_generated_request_id_is_the_same_in_the_header_and_the_envelope() {
        let state = state();
        let path = format!("/v2/accounts/{ACCOUNT}/pivot/debug");
        for (headers, expected) in [
            (vec![], None),
            (vec![("x-request-id", "abc-1")], Some("abc-1")),
            (vec![("x-request-id", "")], None),
        ] {
            let (status, header, body) = call(&state, "GET", &path, &headers).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            let body: Value = serde_json::from_str(&body).unwrap();
            let header = header.expect("an X-Request-ID header");
            assert_eq!(body["request_id"], header.as_str());
            match expected {
                Some(id) => assert_eq!(header, id),
                None => assert!(
                    header.len() == 32 && header.bytes().all(|b| b.is_ascii_hexdigit()),
                    "{header}"
                ),
            }
        }
        let (_, header, _) = call(&state, "GET", "/healthz", &[("x-request-id", "probe-1")]).await;
        assert_eq!(header.as_deref(), Some("probe-1"), "every response carries it");
    }

    #[tokio::test]
    async fn requests_are_counted_by_route_template_method_and_status() {
        let state = state();
        let list = format!("/v2/accounts/{ACCOUNT}/pivot/debug");
        let token = [("x-auth-token", "t")];
        call(&state, "GET", &list, &token).await;
        call(&state, "GET", &list, &token).await;
        call(&state, "GET", &list, &[]).await;
        call(&state, "DELETE", &format!("{list}/call-1"), &token).await;
        call(&state, "FOO", &format!("/v2/accounts/{ACCOUNT}/nothing"), &token).await;
        let search = format!("/v2/accounts/{ACCOUNT}/pivot/search?q=*");
        assert_eq!(call(&state, "GET", &search, &token).await.0, StatusCode::OK);
        let (status, _, text) = call(&state, "GET", "/metrics", &[]).await;
        assert_eq!(status, StatusCode::OK);
        for line in [
            r#"pivotlog_http_requests_total{method="GET",route="/v2/accounts/{account_id}/pivot/debug",status="200"} 2"#,
            r#"pivotlog_http_requests_total{method="GET",route="/v2/accounts/{account_id}/pivot/debug",status="401"} 1"#,
            r#"pivotlog_http_requests_total{method="DELETE",route="/v2/accounts/{account_id}/pivot/debug/{id}",status="405"} 1"#,
            r#"pivotlog_http_requests_total{method="other",route="unmatched",status="404"} 1"#,
            r#"pivotlog_http_request_duration_seconds_count{route="/v2/accounts/{account_id}/pivot/debug"} 3"#,
            "pivotlog_search_hits_total 0",
            "pivotlog_query_partial_responses_total 0",
            "pivotlog_index_open_readers 0",
            "pivotlog_index_documents 0",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(!text.contains(ACCOUNT), "no account id in a label");
        // The scrape itself is counted after it is answered.
        let (_, _, text) = call(&state, "GET", "/metrics", &[]).await;
        assert!(text.contains(r#"route="/metrics",status="200"} 1"#), "{text}");
    }
}
