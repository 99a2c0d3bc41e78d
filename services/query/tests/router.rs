//! The router without a socket: probes, the OpenAPI document, and the envelope of
//! requests that never reach the index.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use pivotlog_index::PivotIndex;
use pivotlog_query::{router, AppState, Authenticator, Principal};
use serde_json::Value;
use tower::ServiceExt;

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";

fn state() -> AppState {
    let principal = Principal {
        account_id: ACCOUNT.into(),
        descendants: false,
        superduper_admin: false,
    };
    AppState::new(Authenticator::default().with_static_token("t", principal))
}

async fn call(state: AppState, method: &str, uri: &str, token: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = token {
        request = request.header("X-Auth-Token", token);
    }
    let response = router(state)
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn probes_and_openapi_need_no_token() {
    let (status, body) = call(state(), "GET", "/healthz", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = call(state(), "GET", "/readyz", None).await;
    assert_eq!(
        status,
        StatusCode::SERVICE_UNAVAILABLE,
        "not ready before the index opens: {body}"
    );
    let ready = state().with_index(PivotIndex::create_in_ram().unwrap());
    assert_eq!(call(ready, "GET", "/readyz", None).await.0, StatusCode::OK);
    let (status, body) = call(state(), "GET", "/openapi.yaml", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("openapi: 3.") && body.contains("/v2/accounts/{account_id}/pivot/debug/{id}"));
}

#[tokio::test]
async fn api_errors_use_the_crossbar_envelope() {
    let index = PivotIndex::create_in_ram().unwrap();
    let listing = format!("/v2/accounts/{ACCOUNT}/pivot/debug");
    let cases = [
        ("GET", listing.clone(), None, StatusCode::UNAUTHORIZED),
        ("GET", listing.clone(), Some("nope"), StatusCode::UNAUTHORIZED),
        ("PUT", listing.clone(), Some("t"), StatusCode::METHOD_NOT_ALLOWED),
        (
            "GET",
            format!("/v2/accounts/{}/pivot/debug", "0".repeat(32)),
            Some("t"),
            StatusCode::FORBIDDEN,
        ),
        (
            "GET",
            format!("{listing}?paginate=maybe"),
            Some("t"),
            StatusCode::BAD_REQUEST,
        ),
        ("GET", "/v2/accounts".to_owned(), Some("t"), StatusCode::NOT_FOUND),
    ];
    for (method, uri, token, expected) in cases {
        let (status, body) = call(state().with_index(index.clone()), method, &uri, token).await;
        assert_eq!(status, expected, "{method} {uri}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["status"], "error");
        assert_eq!(body["error"], expected.as_u16().to_string());
    }
    let (status, body) = call(state().with_index(index), "GET", &listing, Some("t")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["data"], serde_json::json!([]));
}

#[tokio::test]
async fn the_token_is_checked_before_the_path_is_decoded() {
    let index = PivotIndex::create_in_ram().unwrap();
    let paths = [
        "/v2/accounts/%FF/pivot/debug".to_owned(),
        format!("/v2/accounts/{ACCOUNT}/pivot/debug/%FF"),
        "/v2/accounts/%FF/pivot/search?q=x".to_owned(),
        "/v2/accounts/%FF/pivot/search/stats?q=x".to_owned(),
    ];
    for uri in &paths {
        for token in [None, Some("nope")] {
            let (status, body) = call(state().with_index(index.clone()), "GET", uri, token).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{uri} with {token:?}: {body}");
        }
        let (status, body) = call(state().with_index(index.clone()), "GET", uri, Some("t")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        let body: Value = serde_json::from_str(&body).unwrap();
        assert!(body["data"]["path"]["encoding"].is_object(), "{uri}: {body}");
    }
}

#[tokio::test]
async fn a_malformed_page_size_is_rejected_even_without_pagination() {
    let index = PivotIndex::create_in_ram().unwrap();
    for endpoint in [
        format!("/v2/accounts/{ACCOUNT}/pivot/debug"),
        format!("/v2/accounts/{ACCOUNT}/pivot/debug/some-call"),
    ] {
        for page_size in ["0", "abc", "-1", "100000"] {
            let uri = format!("{endpoint}?paginate=false&page_size={page_size}");
            let (status, body) = call(state().with_index(index.clone()), "GET", &uri, Some("t")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
            let body: Value = serde_json::from_str(&body).unwrap();
            assert!(body["data"]["page_size"].is_object(), "{uri}: {body}");
        }
    }
    // A valid page_size is moot without pagination, not an error.
    let uri = format!("/v2/accounts/{ACCOUNT}/pivot/debug?paginate=false&page_size=10");
    let (status, body) = call(state().with_index(index), "GET", &uri, Some("t")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// Records created now (within the signatures' default window): (status, body) each.
fn index_of(replies: &[(u32, &str)]) -> PivotIndex {
    let index = PivotIndex::create_in_ram().unwrap();
    let mut writer =
        pivotlog_index::IndexWriter::new(&index, &pivotlog_index::WriterConfig::default()).unwrap();
    let now = pivotlog_proto::time::now_unix_ms();
    for (n, (status, body)) in replies.iter().enumerate() {
        let event = pivotlog_proto::DebugEvent {
            schema_version: 1,
            event_id: format!("event-{n}"),
            account_id: ACCOUNT.into(),
            ancestor_ids: vec![],
            call_id: format!("call-{n}"),
            iteration: 1,
            created_unix_ms: now - 60_000 + n as i64,
            node: "kz".into(),
            record: Some(pivotlog_proto::Record::Response(pivotlog_proto::HttpResponse {
                status_code: *status,
                body: (*body).into(),
                ..Default::default()
            })),
        };
        writer.add(&event, &[]).unwrap();
    }
    writer.commit().unwrap();
    index
}

#[tokio::test]
async fn signatures_count_the_errors_unless_q_says_otherwise() {
    let index = index_of(&[
        (200, r#"{"module":"tts","data":{"text":"Welcome to Acme"}}"#),
        (200, r#"{"module":"tts","data":{"text":"Press 1 for sales"}}"#),
        (503, "upstream unavailable"),
        (404, "no such route"),
    ]);
    let state = state().with_index(index);
    let statuses = |body: &str| -> Vec<String> {
        let body: Value = serde_json::from_str(body).unwrap();
        let mut codes: Vec<String> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|item| item["status_codes"].as_array().unwrap().clone())
            .map(|code| code["status_code"].as_str().unwrap().to_owned())
            .collect();
        codes.sort();
        codes
    };
    let path = format!("/v2/accounts/{ACCOUNT}/pivot/signatures");
    let (status, body) = call(state.clone(), "GET", &path, Some("t")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(statuses(&body), ["404", "503"], "by default only the errors");
    let (status, body) = call(state, "GET", &format!("{path}?q=*"), Some("t")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        statuses(&body),
        ["200", "200", "404", "503"],
        "q=* counts the successful replies too"
    );
}
