//! Property test of the whole HTTP API without a socket: every endpoint with generated
//! paths, parameters, encodings and tokens answers a Crossbar envelope, never a 5xx or
//! a panic, and never another account's records. `PROPTEST_CASES` sets the size
//! (default 2,000 per run).

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use serde_json::Value;
use tower::ServiceExt;

use pivotlog_index::{IndexWriter, PivotIndex, WriterConfig};
use pivotlog_proto::kazoo::event_from_doc;
use pivotlog_query::{router, AppState, Authenticator, Principal};

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const OTHER: &str = "0badc0de0badc0de0badc0de0badc0de";

fn state() -> AppState {
    let corpus = include_str!("../../../tests/fixtures/search-corpus.ndjson");
    let index = PivotIndex::create_in_ram().unwrap();
    let mut writer = IndexWriter::new(
        &index,
        &WriterConfig {
            num_threads: 1,
            memory_budget_bytes: 20 << 20,
            ..Default::default()
        },
    )
    .unwrap();
    for line in corpus.lines() {
        let event = event_from_doc(&serde_json::from_str(line).unwrap()).unwrap();
        writer.add(&event, &[]).unwrap();
    }
    writer.commit().unwrap();
    let principal = Principal {
        account_id: ACCOUNT.into(),
        descendants: true,
        superduper_admin: false,
    };
    AppState::new(Authenticator::default().with_static_token("t", principal)).with_index(index)
}

fn account() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(ACCOUNT.to_owned()),
        2 => Just(OTHER.to_owned()),
        1 => Just("..%2F..%2Fetc".to_owned()),
        1 => Just("%FF%FE".to_owned()),
        1 => "[0-9a-fA-F]{30,34}",
        1 => "[ -~]{0,12}",
    ]
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9 :*()\"\\[\\]{}^~+<>=/.\\\\-]{0,30}",
        Just("ECONNREFUSED".to_owned()),
        Just("status_code:[500 TO 599]".to_owned()),
        Just("account_id:0badc0de0badc0de0badc0de0badc0de".to_owned()),
        Just("*".to_owned()),
        Just("(".repeat(300)),
        Just("9".repeat(40)),
        Just("-1".to_owned()),
        Just("63877480000".to_owned()),
        Just("eyJ0IjpbMSwyXX0".to_owned()),
        Just("eyJvIjo5OTk5OTk5OTk5OTk5OTk5OTk5fQ".to_owned()),
        any::<String>(),
        "\\PC{0,200}",
    ]
}

fn parameter() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("q"),
        Just("page_size"),
        Just("start_key"),
        Just("created_from"),
        Just("created_to"),
        Just("sort"),
        Just("ascending"),
        Just("descending"),
        Just("paginate"),
        Just("interval"),
        Just("snippet_chars"),
        Just("highlight_pre"),
        Just("auth_token"),
        Just("filter_x"),
        Just("x"),
    ]
    .prop_map(str::to_owned)
}

#[derive(Debug, Clone)]
struct Case {
    endpoint: usize,
    account: String,
    id: String,
    params: Vec<(String, String)>,
    /// Put the query text into the URL unencoded where the URI parser allows it.
    raw: bool,
    token: Option<String>,
    method: &'static str,
}

fn case() -> impl Strategy<Value = Case> {
    (
        0..5usize,
        account(),
        value(),
        prop::collection::vec((parameter(), value()), 0..6),
        any::<bool>(),
        prop_oneof![
            6 => Just(Some("t".to_owned())),
            1 => Just(None),
            1 => "[ -~]{0,64}".prop_map(Some),
            1 => Just(Some("x".repeat(10_000))),
        ],
        prop_oneof![8 => Just("GET"), 1 => Just("POST"), 1 => Just("DELETE")],
    )
        .prop_map(|(endpoint, account, id, params, raw, token, method)| Case {
            endpoint,
            account,
            id,
            params,
            raw,
            token,
            method,
        })
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn uri(case: &Case) -> String {
    let base = format!("/v2/accounts/{}/pivot", case.account);
    let path = match case.endpoint {
        0 => format!("{base}/debug"),
        1 => format!("{base}/debug/{}", encode(&case.id)),
        2 => format!("{base}/search"),
        3 => format!("{base}/search/stats"),
        _ => format!("{base}/{}", case.id),
    };
    let query: Vec<String> = case
        .params
        .iter()
        .map(|(name, value)| {
            let value = if case.raw { value.clone() } else { encode(value) };
            format!("{name}={value}")
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn every_request_gets_an_envelope_and_no_5xx(case in case()) {
        thread_local! {
            static RUNTIME: tokio::runtime::Runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            static STATE: AppState = state();
        }
        let uri = uri(&case);
        let mut request = Request::builder().method(case.method).uri(uri.as_str());
        if let Some(token) = &case.token {
            request = request.header("X-Auth-Token", token.as_str());
        }
        // Requests the HTTP layer could never deliver (invalid URI bytes) are skipped.
        let Ok(request) = request.body(Body::empty()) else {
            return Ok(());
        };
        let (status, body) = RUNTIME.with(|runtime| {
            runtime.block_on(async {
                let app = router(STATE.with(Clone::clone));
                let response = app.oneshot(request).await.unwrap();
                let status = response.status();
                let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
                (status, bytes)
            })
        });
        prop_assert!(status.as_u16() < 500, "{} {uri}: {status} {:?}", case.method, body);
        let body: Value = serde_json::from_slice(&body)
            .map_err(|err| TestCaseError::fail(format!("{uri}: not JSON: {err}")))?;
        prop_assert!(body["status"] == "success" || body["status"] == "error", "{uri}: {body}");
        if status.is_success() {
            let text = body["data"].to_string();
            prop_assert!(!text.contains("other-"), "{uri} leaked: {text}");
            prop_assert!(case.account != OTHER, "{uri} answered for another account: {body}");
        }
    }
}
