//! The router as browsers meet it, without a socket: CORS preflights and answers as
//! Crossbar gives them, `/v1` as `/v2`, trailing slashes, Kazoo's JWT algorithms,
//! compressed answers, and the console's files with their policy.

use std::io::Read;
use std::path::Path;

use axum::body::Body;
use axum::http::{header, Request, Response, StatusCode};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pivotlog_index::{IndexWriter, PivotIndex, WriterConfig};
use pivotlog_proto::{DebugEvent, HttpResponse, Record};
use pivotlog_query::auth::ExpiryPolicy;
use pivotlog_query::{router, AppState, Authenticator, BrowserConfig, Origins, Principal};
use serde_json::{json, Value};
use tower::ServiceExt;

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");
const MONSTER: &str = "http://127.0.0.1:3000";

fn state() -> AppState {
    let principal = Principal {
        account_id: ACCOUNT.into(),
        descendants: false,
        superduper_admin: false,
    };
    AppState::new(Authenticator::default().with_static_token("t", principal))
}

async fn send(state: AppState, request: Request<Body>) -> (Response<()>, Vec<u8>) {
    let response = router(state).oneshot(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
    (Response::from_parts(parts, ()), body.to_vec())
}

fn header_of<'a>(response: &'a Response<()>, name: &str) -> Option<&'a str> {
    response.headers().get(name).map(|value| value.to_str().unwrap())
}

fn preflight(uri: &str, origin: &str) -> Request<Body> {
    Request::builder()
        .method("OPTIONS")
        .uri(uri)
        .header("Origin", origin)
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "x-auth-token,content-type")
        .body(Body::empty())
        .unwrap()
}

fn get(uri: &str, token: Option<&str>, extra: &[(&str, &str)]) -> Request<Body> {
    let mut request = Request::builder().uri(uri).header("Origin", MONSTER);
    if let Some(token) = token {
        request = request.header("X-Auth-Token", token);
    }
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn preflights_are_answered_on_every_api_path_without_a_token() {
    for path in ["debug", "debug/call-1%40host", "search", "search/stats"] {
        let uri = format!("/v2/accounts/{ACCOUNT}/pivot/{path}");
        let (response, _) = send(state(), preflight(&uri, MONSTER)).await;
        assert!(response.status().is_success(), "{uri}: {}", response.status());
        assert_eq!(header_of(&response, "access-control-allow-origin"), Some("*"));
        let methods = header_of(&response, "access-control-allow-methods").unwrap();
        assert!(
            methods.contains("GET") && methods.contains("OPTIONS"),
            "{methods}"
        );
        let allowed = header_of(&response, "access-control-allow-headers").unwrap();
        for name in ["x-auth-token", "content-type", "x-request-id", "accept"] {
            assert!(allowed.contains(name), "{name} in {allowed}");
        }
        assert_eq!(header_of(&response, "access-control-max-age"), Some("86400"));
    }
}

#[tokio::test]
async fn answers_and_errors_carry_cors_headers_and_plain_json() {
    let state = state().with_index(PivotIndex::create_in_ram().unwrap());
    let listing = format!("/v2/accounts/{ACCOUNT}/pivot/debug");
    let (ok, _) = send(state.clone(), get(&listing, Some("t"), &[])).await;
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(header_of(&ok, "access-control-allow-origin"), Some("*"));
    let exposed = header_of(&ok, "access-control-expose-headers").unwrap();
    assert!(
        exposed.contains("x-request-id") && exposed.contains("content-type"),
        "{exposed}"
    );
    // Monster UI reads an error's body only when the type is exactly this string.
    for (token, status) in [
        (None, StatusCode::UNAUTHORIZED),
        (Some("nope"), StatusCode::UNAUTHORIZED),
    ] {
        let (refused, body) = send(state.clone(), get(&listing, token, &[])).await;
        assert_eq!(refused.status(), status);
        assert_eq!(header_of(&refused, "content-type"), Some("application/json"));
        assert_eq!(header_of(&refused, "access-control-allow-origin"), Some("*"));
        let envelope: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(envelope["status"], "error");
    }
    let other = format!("/v2/accounts/{}/pivot/debug", "0".repeat(32));
    let (forbidden, _) = send(state, get(&other, Some("t"), &[])).await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    assert_eq!(header_of(&forbidden, "content-type"), Some("application/json"));
}

#[tokio::test]
async fn an_origin_list_allows_only_its_origins_and_off_allows_none() {
    let listed = BrowserConfig {
        origins: format!("{MONSTER},https://ui.example.com").parse().unwrap(),
        console_dir: None,
    };
    let uri = format!("/v2/accounts/{ACCOUNT}/pivot/debug");
    let (response, _) = send(state().with_browser(listed.clone()), preflight(&uri, MONSTER)).await;
    assert_eq!(header_of(&response, "access-control-allow-origin"), Some(MONSTER));
    let (response, _) = send(
        state().with_browser(listed),
        preflight(&uri, "http://127.0.0.1:9"),
    )
    .await;
    assert_eq!(header_of(&response, "access-control-allow-origin"), None);
    let off = BrowserConfig {
        origins: Origins::Off,
        console_dir: None,
    };
    let (response, _) = send(state().with_browser(off), preflight(&uri, MONSTER)).await;
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header_of(&response, "access-control-allow-origin"), None);
}

#[tokio::test]
async fn v1_answers_as_v2_and_a_trailing_slash_is_tolerated() {
    let state = state().with_index(PivotIndex::create_in_ram().unwrap());
    let mut answers = Vec::new();
    for uri in [
        format!("/v2/accounts/{ACCOUNT}/pivot/debug"),
        format!("/v1/accounts/{ACCOUNT}/pivot/debug"),
        format!("/v2/accounts/{ACCOUNT}/pivot/debug/"),
        format!("/v1/accounts/{ACCOUNT}/pivot/debug/?page_size=5"),
    ] {
        let (response, body) = send(state.clone(), get(&uri, Some("t"), &[])).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        let envelope: Value = serde_json::from_slice(&body).unwrap();
        answers.push(envelope["data"].clone());
    }
    assert!(answers.iter().all(|data| data == &json!([])), "{answers:?}");
    for uri in [
        format!("/v1/accounts/{ACCOUNT}/pivot/search/stats/?q=*"),
        format!("/v1/accounts/{ACCOUNT}/pivot/debug/some-call"),
    ] {
        let (response, _) = send(state.clone(), get(&uri, Some("t"), &[])).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
    }
    let (unknown, _) = send(state, get("/v3/accounts/x/pivot/debug", Some("t"), &[])).await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

fn jwt(algorithm: Algorithm, claims: Value, key_file: &str) -> String {
    let pem = std::fs::read(Path::new(KEYS).join(key_file)).unwrap();
    let key = EncodingKey::from_rsa_pem(&pem).unwrap();
    jsonwebtoken::encode(&Header::new(algorithm), &claims, &key).unwrap()
}

fn jwt_state(expiry: ExpiryPolicy) -> AppState {
    let pem = std::fs::read(Path::new(KEYS).join("jwt-test-public.pem")).unwrap();
    let auth = Authenticator::default()
        .with_jwt_key(&pem, "jwt-test-public.pem", expiry)
        .unwrap();
    AppState::new(auth).with_index(PivotIndex::create_in_ram().unwrap())
}

async fn status_with(state: &AppState, token: &str) -> (StatusCode, Value) {
    let uri = format!("/v2/accounts/{ACCOUNT}/pivot/debug");
    let (response, body) = send(state.clone(), get(&uri, Some(token), &[])).await;
    (response.status(), serde_json::from_slice(&body).unwrap())
}

#[tokio::test]
async fn kazoo_jwts_in_rs256_rs384_and_rs512_are_accepted_and_exp_is_required_unless_allowed() {
    let exp = pivotlog_proto::time::now_unix_ms() / 1000 + 600;
    let strict = jwt_state(ExpiryPolicy::Required);
    for algorithm in [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512] {
        let token = jwt(
            algorithm,
            json!({"account_id": ACCOUNT, "exp": exp}),
            "jwt-test-private.pem",
        );
        assert_eq!(
            status_with(&strict, &token).await.0,
            StatusCode::OK,
            "{algorithm:?}"
        );
        let forged = jwt(
            algorithm,
            json!({"account_id": ACCOUNT, "exp": exp}),
            "jwt-other-private.pem",
        );
        assert_eq!(status_with(&strict, &forged).await.0, StatusCode::UNAUTHORIZED);
    }
    let forever = jwt(
        Algorithm::RS512,
        json!({"account_id": ACCOUNT}),
        "jwt-test-private.pem",
    );
    let (status, envelope) = status_with(&strict, &forever).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(
        envelope.to_string().contains("no expiry"),
        "the refusal says why: {envelope}"
    );
    let lenient = jwt_state(ExpiryPolicy::Optional);
    assert_eq!(status_with(&lenient, &forever).await.0, StatusCode::OK);
    // `exp` is still checked when present.
    let expired = jwt(
        Algorithm::RS384,
        json!({"account_id": ACCOUNT, "exp": exp - 3_600}),
        "jwt-test-private.pem",
    );
    assert_eq!(status_with(&lenient, &expired).await.0, StatusCode::UNAUTHORIZED);
}

/// An account whose only call has `iterations` responses of a server's HTML error page.
fn index_of_html_pages(dir: &Path, iterations: u32) -> PivotIndex {
    let index = PivotIndex::open_or_create(dir).unwrap();
    let mut writer = IndexWriter::new(
        &index,
        &WriterConfig {
            num_threads: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let now = pivotlog_proto::time::now_unix_ms();
    for iteration in 1..=iterations {
        let body = format!(
            "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n<body>\n\
             <center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx/1.24.{iteration}</center>\n\
             <p>upstream prematurely closed connection while reading response header from \
             upstream, client: 10.26.0.{iteration}, server: pivot.example.com, request: \
             \"POST /pivot/v2/answer?iteration={iteration} HTTP/1.1\"</p>\n{}</body></html>\n",
            "<!-- a padding comment to disable MSIE and Chrome friendly error page -->\n".repeat(6)
        );
        let event = DebugEvent {
            schema_version: 1,
            event_id: format!("e-{iteration}"),
            account_id: ACCOUNT.into(),
            call_id: "html-call".into(),
            iteration,
            created_unix_ms: now - 60_000 + i64::from(iteration),
            node: "kazoo_apps@a".into(),
            record: Some(Record::Response(HttpResponse {
                status_code: 502,
                body,
                ..Default::default()
            })),
            ..Default::default()
        };
        writer.add(&event, &[]).unwrap();
    }
    writer.commit().unwrap();
    index
}

type Decoder = fn(&[u8]) -> Vec<u8>;

#[tokio::test]
async fn answers_are_compressed_when_the_client_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = state().with_index(index_of_html_pages(dir.path(), 20));
    let uri = format!("/v2/accounts/{ACCOUNT}/pivot/debug/html-call");
    let (plain, identity) = send(state.clone(), get(&uri, Some("t"), &[])).await;
    assert_eq!(header_of(&plain, "content-encoding"), None);
    let records: Value = serde_json::from_slice(&identity).unwrap();
    assert_eq!(records["data"].as_array().unwrap().len(), 20);
    let decoders: [(&str, Decoder); 2] = [
        ("gzip", |bytes| {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(bytes).read_to_end(&mut out).unwrap();
            out
        }),
        ("br", |bytes| {
            let mut out = Vec::new();
            brotli::Decompressor::new(bytes, 4096)
                .read_to_end(&mut out)
                .unwrap();
            out
        }),
    ];
    for (encoding, decode) in decoders {
        let (response, compressed) = send(
            state.clone(),
            get(&uri, Some("t"), &[("accept-encoding", encoding)]),
        )
        .await;
        assert_eq!(header_of(&response, "content-encoding"), Some(encoding));
        let decoded: Value = serde_json::from_slice(&decode(&compressed)).unwrap();
        // The same answer but its envelope's moment and request id.
        assert_eq!(decoded["data"], records["data"]);
        eprintln!(
            "detail of 20 HTML error pages: {} bytes, {encoding} {} bytes ({:.1}x smaller)",
            identity.len(),
            compressed.len(),
            identity.len() as f64 / compressed.len() as f64
        );
        assert!(compressed.len() * 4 < identity.len());
    }
}

#[tokio::test]
async fn the_console_is_served_with_a_strict_policy() {
    let (root, _) = send(state(), Request::get("/").body(Body::empty()).unwrap()).await;
    assert!(root.status().is_redirection());
    assert_eq!(header_of(&root, "location"), Some("/ui/"));
    for (uri, kind) in [
        ("/ui/", "text/html"),
        ("/ui", "text/html"),
        ("/ui/app.js", "text/javascript"),
        ("/ui/app.css", "text/css"),
    ] {
        let (response, body) = send(state(), Request::get(uri).body(Body::empty()).unwrap()).await;
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        assert!(header_of(&response, "content-type").unwrap().starts_with(kind));
        let policy = header_of(&response, header::CONTENT_SECURITY_POLICY.as_str()).unwrap();
        assert!(
            policy.contains("script-src 'self'") && !policy.contains("unsafe"),
            "{policy}"
        );
        assert!(!body.is_empty());
    }
    let (html, body) = send(state(), Request::get("/ui/").body(Body::empty()).unwrap()).await;
    assert_eq!(html.status(), StatusCode::OK);
    let page = String::from_utf8(body).unwrap();
    assert!(
        page.contains("/ui/app.js") && !page.contains("<script>"),
        "no inline script"
    );
    let (missing, _) = send(state(), Request::get("/ui/other.js").body(Body::empty()).unwrap()).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}
