//! Live tails through the router, without a socket, over an index in memory: what a
//! slow reader gets (a `dropped` count, never an unbounded buffer), and how a stream
//! ends (its longest duration, its token's expiry, the process's shutdown); streams
//! are never compressed and idle ones get heartbeats.

use std::path::Path;
use std::time::{Duration, Instant};

use axum::body::{Body, BodyDataStream};
use axum::http::{header, Request};
use futures::StreamExt;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use pivotlog_index::{IndexWriter, PivotIndex, WriterConfig};
use pivotlog_proto::{DebugEvent, HttpResponse, Record};
use pivotlog_query::auth::ExpiryPolicy;
use pivotlog_query::{router, AppState, Authenticator, Principal, TailConfig};
use serde_json::{json, Value};
use tower::ServiceExt;

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const KEYS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures");

fn config() -> TailConfig {
    TailConfig {
        poll_interval: Duration::from_millis(20),
        heartbeat: Duration::from_millis(200),
        ..TailConfig::default()
    }
}

fn token_state(config: TailConfig) -> (AppState, IndexWriter) {
    let principal = Principal {
        account_id: ACCOUNT.into(),
        descendants: false,
        superduper_admin: false,
    };
    let auth = Authenticator::default().with_static_token("t", principal);
    with_index(AppState::new(auth).with_tails(config))
}

fn with_index(state: AppState) -> (AppState, IndexWriter) {
    let index = PivotIndex::create_in_ram().unwrap();
    let writer = IndexWriter::new(&index, &WriterConfig::default()).unwrap();
    (state.with_index(index), writer)
}

/// Commits `count` records of one call each, of about `bytes` bytes, on partition 0.
fn write(writer: &mut IndexWriter, first: u32, count: u32, bytes: usize) {
    for n in first..first + count {
        let event = DebugEvent {
            schema_version: 1,
            event_id: format!("event-{n}"),
            account_id: ACCOUNT.into(),
            ancestor_ids: vec![],
            call_id: format!("call-{n}"),
            iteration: 1,
            created_unix_ms: 1_764_633_600_000 + i64::from(n),
            node: "kz".into(),
            record: Some(Record::Response(HttpResponse {
                status_code: 500,
                body: "x".repeat(bytes),
                ..Default::default()
            })),
        };
        writer.add_at(0, i64::from(n), &event, &[]).unwrap();
        writer.set_position("t", 0, i64::from(n) + 1);
    }
    writer.commit().unwrap();
}

async fn open(
    state: &AppState,
    token: &str,
    extra: &[(&str, &str)],
) -> (axum::http::response::Parts, Events) {
    let mut request = Request::builder()
        .uri(format!("/v2/accounts/{ACCOUNT}/pivot/tail"))
        .header("X-Auth-Token", token);
    for (name, value) in extra {
        request = request.header(*name, *value);
    }
    let response = router(state.clone())
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = response.into_parts();
    assert_eq!(parts.status, 200);
    (
        parts,
        Events {
            body: body.into_data_stream(),
            pending: String::new(),
        },
    )
}

/// The events of a stream's body, as they are read.
struct Events {
    body: BodyDataStream,
    pending: String,
}

#[derive(Debug)]
enum Item {
    Heartbeat,
    Event { kind: String, data: Value },
}

impl Events {
    /// The next event or comment within `timeout`; `None` at the stream's end or
    /// if nothing came.
    async fn next(&mut self, timeout: Duration) -> Option<Item> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(end) = self.pending.find("\n\n") {
                let block: String = self.pending.drain(..end + 2).collect();
                return Some(parse(&block));
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next()).await.ok()??;
            self.pending
                .push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        }
    }

    /// The next event that is not a heartbeat.
    async fn event(&mut self, timeout: Duration) -> Option<(String, Value)> {
        let deadline = Instant::now() + timeout;
        while let Some(item) = self
            .next(deadline.saturating_duration_since(Instant::now()))
            .await
        {
            if let Item::Event { kind, data } = item {
                return Some((kind, data));
            }
        }
        None
    }
}

fn parse(block: &str) -> Item {
    if block.starts_with(':') {
        return Item::Heartbeat;
    }
    let mut kind = "message".to_owned();
    let mut data = String::new();
    for line in block.lines() {
        if let Some(value) = line.strip_prefix("event:") {
            kind = value.trim().to_owned();
        } else if let Some(value) = line.strip_prefix("data:") {
            data.push_str(value.trim_start());
        }
    }
    Item::Event {
        kind,
        data: serde_json::from_str(&data).unwrap(),
    }
}

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn a_slow_reader_gets_a_dropped_count_within_a_fixed_buffer() {
    let buffer_bytes = 16 * 1024;
    let (state, mut writer) = token_state(TailConfig {
        buffer_bytes,
        ..config()
    });
    // A partition the index has committed nothing of yet is unknown to a tail: it would
    // start at what is committed when it is first seen.
    write(&mut writer, 0, 1, 10);
    let (parts, mut events) = open(&state, "t", &[("Accept-Encoding", "gzip, br")]).await;
    assert_eq!(parts.headers[header::CONTENT_TYPE], "text/event-stream");
    assert!(
        parts.headers.get(header::CONTENT_ENCODING).is_none(),
        "streams are not compressed"
    );
    // The tail has its start position before anything is written.
    tokio::time::sleep(Duration::from_millis(200)).await;
    // 200 records of ~1 KiB while the client reads nothing.
    write(&mut writer, 1, 200, 1000);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut records = 0;
    while let Some((kind, _)) = events.event(Duration::from_millis(300)).await {
        assert_eq!(kind, "message");
        records += 1;
    }
    assert!(records > 0, "what fitted in the buffer is delivered");
    assert!(
        records * 1000 <= buffer_bytes + 2000,
        "at most the buffer's worth was held: {records} records of ~1 KiB in {buffer_bytes} B"
    );
    // The next record that fits is preceded by the count of those dropped.
    write(&mut writer, 201, 1, 1000);
    let (kind, data) = events.event(SECOND * 5).await.expect("an event");
    assert_eq!(kind, "dropped", "{data}");
    assert_eq!(
        data["dropped"].as_u64().unwrap() + records as u64,
        200,
        "every record delivered or counted"
    );
    let (kind, data) = events.event(SECOND * 5).await.expect("the record after the drop");
    assert_eq!(
        (kind.as_str(), data["id"].as_str()),
        ("message", Some("event-201"))
    );
    let metrics = state.metrics().registry().gather();
    let dropped = metrics
        .iter()
        .find(|family| family.name() == "pivotlog_query_tail_events_total")
        .unwrap();
    assert!(
        format!("{dropped:?}").contains("dropped"),
        "drops are counted in /metrics"
    );
}

#[tokio::test]
async fn a_stream_ends_at_its_longest_duration_and_idle_streams_get_heartbeats() {
    let (state, _writer) = token_state(TailConfig {
        max_duration: Duration::from_millis(700),
        ..config()
    });
    let (_, mut events) = open(&state, "t", &[]).await;
    let started = Instant::now();
    let mut heartbeats = 0;
    let end = loop {
        match events
            .next(SECOND * 5)
            .await
            .expect("the stream ends with an event")
        {
            Item::Heartbeat => heartbeats += 1,
            Item::Event { kind, data } => break (kind, data),
        }
    };
    assert_eq!(end, ("end".to_owned(), json!({"reason": "max_duration"})));
    assert!(
        started.elapsed() >= Duration::from_millis(600),
        "{:?}",
        started.elapsed()
    );
    assert!(
        heartbeats >= 2,
        "{heartbeats} heartbeats in 700 ms at one per 200 ms"
    );
    assert!(events.next(SECOND).await.is_none(), "the body ends after `end`");
    // Its slot is given back.
    let metrics = format!("{:?}", state.metrics().registry().gather());
    assert!(metrics.contains("pivotlog_query_tails"), "{metrics}");
}

#[tokio::test]
async fn a_stream_ends_when_its_token_expires() {
    let pem = std::fs::read(Path::new(KEYS).join("jwt-test-public.pem")).unwrap();
    let auth = Authenticator::default()
        .with_jwt_key(&pem, "jwt-test-public.pem", ExpiryPolicy::Required)
        .unwrap();
    let (state, _writer) = with_index(AppState::new(auth).with_tails(config()));
    let exp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 2;
    let key =
        EncodingKey::from_rsa_pem(&std::fs::read(Path::new(KEYS).join("jwt-test-private.pem")).unwrap())
            .unwrap();
    let token = jsonwebtoken::encode(
        &Header::new(Algorithm::RS256),
        &json!({"account_id": ACCOUNT, "exp": exp}),
        &key,
    )
    .unwrap();
    let (_, mut events) = open(&state, &token, &[]).await;
    let (kind, data) = events.event(SECOND * 6).await.expect("the stream ends");
    assert_eq!(
        (kind.as_str(), &data),
        ("end", &json!({"reason": "token_expired"}))
    );
}

#[tokio::test]
async fn shutdown_ends_every_stream() {
    let (state, _writer) = token_state(config());
    let (_, mut first) = open(&state, "t", &[]).await;
    let (_, mut second) = open(&state, "t", &[]).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    state.end_tails();
    for events in [&mut first, &mut second] {
        let (kind, data) = events.event(SECOND * 2).await.expect("an end event");
        assert_eq!((kind.as_str(), &data), ("end", &json!({"reason": "shutdown"})));
        assert!(events.next(SECOND).await.is_none());
    }
}
