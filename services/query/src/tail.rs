//! `GET /v2/accounts/{ACCOUNT_ID}/pivot/tail`: an account's records as they are
//! committed, as Server-Sent Events, filtered by `q`.
//!
//! Each record is one event (the default `message` type) whose data is the record as
//! the detail API returns it, plus `account_id` and `created_ms`; its `id:` is the stream's position
//! after it (every partition's next offset, `partition:offset,...`), so a client that
//! reconnects with `Last-Event-ID` (browsers do it on their own) continues with no gap
//! and no duplicate, on any query replica. Named events say what else happened:
//! `partial` (some partitions cannot be read now, or all can again: `missing_partitions`),
//! `dropped` (records skipped because the client read too slowly: `dropped`), and `end`
//! (the stream closes: `reason` is `max_duration`, `token_expired` or `shutdown`).
//! Comments (`: heartbeat`) keep idle proxies from closing the stream.
//!
//! A tail polls its [`Source`] every [`TailConfig::poll_interval`] for the records
//! committed past its position (`pivotlog_index::tail`); over shards, every shard owning
//! a partition answers for it and a shard that is lost keeps its partitions' positions
//! until it is back. Limits ([`TailConfig`]) bound how many tails a process and an
//! account hold, how long one lasts, and what it buffers for a slow reader.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

use pivotlog_index::tail::{TailRecord, TailRequest};
use pivotlog_proto::kazoo::debug_id;

use crate::access::AccountRead;
use crate::envelope::{ApiError, RequestContext};
use crate::search::checked_query;
use crate::source::Source;
use crate::state::AppState;
use crate::tails::{TailConfig, TailMetrics, TailSlot};

/// Longest `Last-Event-ID` accepted, in partitions and in bytes (about a thousand
/// partitions at 13-digit offsets).
const MAX_POSITION_PARTITIONS: usize = 4096;
const MAX_POSITION_BYTES: usize = 16 * 1024;
/// How often a tail of a local index looks whether the index has reloaded.
const RELOAD_CHECK: Duration = Duration::from_millis(20);
/// Records one poll reads at most: a poll loads its records whole, so this bounds what a
/// tail holds while reading (a full batch is followed by the next poll at once).
const POLL_BATCH: usize = 200;

/// A stream's position: the next offset of every partition it has read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Position(pub BTreeMap<i32, i64>);

impl Position {
    pub(crate) fn parse(text: &str) -> Option<Position> {
        let mut offsets = BTreeMap::new();
        if text.len() > MAX_POSITION_BYTES {
            return None;
        }
        if text.is_empty() {
            return Some(Position(offsets));
        }
        for part in text.split(',') {
            let (partition, offset) = part.split_once(':')?;
            let partition: i32 = partition.parse().ok().filter(|p| (0..1 << 23).contains(p))?;
            let offset: i64 = offset.parse().ok().filter(|o| (0..1 << 40).contains(o))?;
            if offsets.insert(partition, offset).is_some() || offsets.len() > MAX_POSITION_PARTITIONS {
                return None;
            }
        }
        Some(Position(offsets))
    }

    fn advance(&mut self, next: &BTreeMap<i32, i64>) {
        for (&partition, &offset) in next {
            let position = self.0.entry(partition).or_insert(offset);
            *position = (*position).max(offset);
        }
    }
}

impl std::fmt::Display for Position {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (partition, offset) in &self.0 {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{partition}:{offset}")?;
        }
        Ok(())
    }
}

/// Why a stream ended.
#[derive(Debug, Clone, Copy)]
enum End {
    MaxDuration,
    TokenExpired,
    Shutdown,
}

impl End {
    fn reason(self) -> &'static str {
        match self {
            End::MaxDuration => "max_duration",
            End::TokenExpired => "token_expired",
            End::Shutdown => "shutdown",
        }
    }
}

/// Opens a live tail of the account in the path.
pub async fn tail(
    State(state): State<AppState>,
    context: RequestContext,
    headers: HeaderMap,
    read: AccountRead<String>,
) -> Result<Response, ApiError> {
    let AccountRead {
        path: account_id,
        source,
        params,
    } = read;
    let query = checked_query(&source, &params, Some("*"))?;
    // The header is what a browser sends on reconnecting; the parameter serves clients
    // that cannot set headers on the first request.
    let position = |name: &str, text: &str| {
        Position::parse(text).ok_or_else(|| {
            ApiError::invalid_parameter(
                name,
                "format",
                "a stream position is the id: of a tail event (partition:offset,...)".into(),
                text,
            )
        })
    };
    // Both are checked; the header, what a browser sends on reconnecting, wins.
    let parameter = params
        .get("last_event_id")
        .map(|text| position("last_event_id", text))
        .transpose()?;
    let header = headers
        .get("last-event-id")
        // Not text: no position.
        .map(|value| position("Last-Event-ID", value.to_str().unwrap_or("\u{0}")))
        .transpose()?;
    let start = header.or(parameter).unwrap_or_default();
    let expires = context
        .auth_token
        .as_deref()
        .and_then(|token| state.auth.expiry(token))
        .map(|exp| UNIX_EPOCH + Duration::from_secs(exp));
    let tails = state.tails.clone();
    let slot = tails.admit(&account_id)?;
    let config = tails.config.clone();
    let budget = Arc::new(Semaphore::new(config.buffer_bytes));
    let (sender, receiver) = mpsc::unbounded_channel();
    let follower = Follower {
        source,
        request: TailRequest {
            account_id,
            query,
            after: BTreeMap::new(),
            limit: POLL_BATCH,
        },
        position: start,
        sender,
        budget,
        buffer_bytes: config.buffer_bytes,
        metrics: tails.metrics.clone(),
        dropped: 0,
        missing: BTreeSet::new(),
        failing: None,
    };
    let shutdown = tails.ended();
    tokio::spawn(follower.run(config.clone(), expires, shutdown, slot));
    let events = futures::stream::unfold(receiver, |mut receiver| async move {
        let queued: Queued = receiver.recv().await?;
        // The event leaves the buffer (its permit is dropped) as the server takes it to
        // send; only then is it framed, into a buffer that may be twice its size.
        Some((Ok::<Event, Infallible>(queued.event()), receiver))
    });
    let mut response = Sse::new(events)
        .keep_alive(KeepAlive::new().interval(config.heartbeat).text("heartbeat"))
        .into_response();
    // Proxies that buffer answers (nginx) would hold the events back.
    response
        .headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// An event waiting for the client, held as its exact bytes: an axum [`Event`] frames
/// its data into a buffer grown by doubling, so events queued as `Event`s held up to
/// twice what the budget counted (measured: 2.8 MiB per idle tail for a 1 MiB buffer).
struct Queued {
    kind: Option<&'static str>,
    id: Box<str>,
    data: Box<str>,
    /// The record's share of the buffer ([`TailConfig::buffer_bytes`]); control events
    /// are small, rare and never dropped, so they hold none.
    _permit: Option<OwnedSemaphorePermit>,
}

impl Queued {
    fn event(self) -> Event {
        let event = Event::default().id(self.id).data(self.data);
        match self.kind {
            Some(kind) => event.event(kind),
            None => event,
        }
    }
}

/// One tail's reading side: polls the source and queues events for the client.
struct Follower {
    source: Source,
    request: TailRequest,
    position: Position,
    sender: mpsc::UnboundedSender<Queued>,
    budget: Arc<Semaphore>,
    buffer_bytes: usize,
    metrics: TailMetrics,
    /// Records skipped since the last `dropped` event.
    dropped: u64,
    /// Partitions reported missing by the last `partial` event.
    missing: BTreeSet<i32>,
    /// Why the last read failed, logged once until it changes.
    failing: Option<String>,
}

impl Follower {
    async fn run(
        mut self,
        config: TailConfig,
        expires: Option<SystemTime>,
        mut shutdown: watch::Receiver<bool>,
        _slot: TailSlot,
    ) {
        let until = |at: SystemTime| {
            let left = at.duration_since(SystemTime::now()).unwrap_or_default();
            tokio::time::Instant::now() + left
        };
        let max_duration = tokio::time::Instant::now() + config.max_duration;
        let token_end = expires.map(until);
        let (deadline, at_deadline) = match token_end {
            Some(token_end) if token_end < max_duration => (token_end, End::TokenExpired),
            _ => (max_duration, End::MaxDuration),
        };
        let mut wait = Duration::ZERO;
        let mut read_at = None;
        let end = loop {
            tokio::select! {
                () = self.new_records(wait, read_at) => {}
                () = tokio::time::sleep_until(deadline) => break Some(at_deadline),
                _ = shutdown.wait_for(|ended| *ended) => break Some(End::Shutdown),
                () = self.sender.closed() => break None,
            }
            read_at = self.source.generation();
            let full = self.poll().await;
            // More is waiting: read on at once, unless the client is not taking what it
            // has (half its buffer is still held), whose next records would be dropped.
            let reading = self.budget.available_permits() >= self.buffer_bytes / 2;
            wait = if full && reading {
                Duration::ZERO
            } else {
                config.poll_interval
            };
        };
        if let Some(end) = end {
            self.control("end", json!({"reason": end.reason()}));
        }
    }

    /// Waits `wait`, or less: a local index is read again as soon as it has reloaded
    /// since the last read (`read_at`), which is when new records can be visible.
    async fn new_records(&self, wait: Duration, read_at: Option<u64>) {
        let until = tokio::time::Instant::now() + wait;
        while tokio::time::Instant::now() < until {
            if read_at.is_some() && self.source.generation() != read_at {
                return;
            }
            tokio::time::sleep(RELOAD_CHECK.min(until - tokio::time::Instant::now())).await;
        }
    }

    /// Reads what was committed past the position and queues it; true when the read
    /// was a full batch (more is waiting).
    async fn poll(&mut self) -> bool {
        self.request.after = self.position.0.clone();
        let answer = match self.source.tail(self.request.clone()).await {
            Ok(answer) => answer,
            Err(err) => {
                // Overload or a failing index: the position holds, the next poll retries.
                let reason = format!("{err:?}");
                if self.failing.as_ref() != Some(&reason) {
                    tracing::warn!(error = %reason, "live tail read failed; retrying");
                    self.failing = Some(reason);
                }
                return false;
            }
        };
        self.failing = None;
        let missing: BTreeSet<i32> = answer.gaps.partitions.iter().copied().collect();
        if missing != self.missing {
            self.control("partial", json!({"missing_partitions": missing}));
            self.missing = missing;
        }
        let full = answer.value.records.len() >= self.request.limit;
        for record in answer.value.records {
            self.position.0.insert(record.partition, record.offset + 1);
            self.queue(&record);
        }
        self.position.advance(&answer.value.next);
        full
    }

    /// Queues one record's event, or counts it dropped when the buffer is full.
    fn queue(&mut self, record: &TailRecord) {
        let event = &record.hit.event;
        let mut item =
            crate::debug::detail_item(event, &debug_id(&event.call_id, record.hit.call_first_created_ms));
        if let Value::Object(item) = &mut item {
            item.insert("account_id".into(), event.account_id.clone().into());
            // Latency and ordering at a glance; `created` has whole seconds only.
            item.insert("created_ms".into(), event.created_unix_ms.into());
        }
        let data: Box<str> = item.to_string().into();
        let id: Box<str> = self.position.to_string().into();
        // A record bigger than the whole buffer waits for it to empty.
        let permits = (data.len() + id.len()).clamp(1, self.buffer_bytes) as u32;
        let Ok(permit) = self.budget.clone().try_acquire_many_owned(permits) else {
            self.dropped += 1;
            self.metrics.events.with_label_values(&["dropped"]).inc();
            return;
        };
        if self.dropped > 0 {
            let dropped = std::mem::take(&mut self.dropped);
            self.control("dropped", json!({"dropped": dropped}));
        }
        self.metrics.events.with_label_values(&["record"]).inc();
        let _ = self.sender.send(Queued {
            kind: None,
            id,
            data,
            _permit: Some(permit),
        });
    }

    /// Queues a named event; control events are small and never dropped.
    fn control(&self, kind: &'static str, data: Value) {
        self.metrics.events.with_label_values(&[kind]).inc();
        let _ = self.sender.send(Queued {
            kind: Some(kind),
            id: self.position.to_string().into(),
            data: data.to_string().into(),
            _permit: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_back_what_they_print() {
        let position = Position(BTreeMap::from([(0, 12), (3, 0), (17, 99_999_999)]));
        assert_eq!(position.to_string(), "0:12,3:0,17:99999999");
        assert_eq!(Position::parse(&position.to_string()), Some(position));
        assert_eq!(Position::parse(""), Some(Position::default()));
        for bad in [
            "0",
            "0:",
            ":1",
            "0:1,0:2",
            "-1:3",
            "0:-3",
            "a:b",
            "0:1,",
            "0:1099511627776",
            "\u{0}",
        ] {
            assert_eq!(Position::parse(bad), None, "{bad:?}");
        }
    }
}
