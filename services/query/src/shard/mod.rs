//! The internal shard API: how the query tier reads the indexers' slices of the index.
//!
//! Each indexer serves its own index on `/internal/v1/*` ([`router`], JSON over
//! HTTP/1.1 or h2c, bearer token). A query process discovers the indexers
//! ([`ShardSet`]), asks each one's [`ShardStatus`] which partitions it owns and whether
//! they are caught up, gives every partition of the topic to exactly one shard, and
//! sends each request to every shard with that shard's partitions. The answers are
//! merged with [`pivotlog_index::merge`], so they equal a single index's. A partition
//! that no reachable shard owns, whose owner is still replaying it, or whose shard fails
//! or times out is reported: the response says it is partial and which partitions it
//! lacks. Two shards claiming one partition (while a new owner replaces an old one)
//! never count a record twice: only the chosen one is asked for it.

mod client;
mod server;

use std::collections::BTreeMap;

use base64::Engine;
use prost::Message;
use serde::{Deserialize, Serialize};

use pivotlog_index::search::{Counts, SearchCursor, SearchHit, SearchOrder, SearchStats};
use pivotlog_index::{CallCursor, CallSummary};
use pivotlog_proto::DebugEvent;

pub use client::{Discovery, Routing, ShardConfig, ShardSet};
pub use server::{router, StatusSource};

/// Version prefix of every shard path.
pub const PREFIX: &str = "/internal/v1";

/// What a shard holds: `GET /internal/v1/status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ShardStatus {
    pub topic: String,
    /// Partitions of the topic (0: not known yet).
    pub topic_partitions: usize,
    /// The partitions this shard owns now.
    pub partitions: BTreeMap<i32, PartitionState>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionState {
    /// The index has reached the end of the partition since the shard took it over.
    pub caught_up: bool,
    /// Next offset to read, as of the last commit.
    pub committed: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CallsRequest {
    pub partitions: Vec<i32>,
    pub account_id: String,
    pub created_from_ms: i64,
    pub created_to_ms: i64,
    pub ascending: bool,
    pub page_size: Option<usize>,
    pub start: Option<CallCursor>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct CallsResponse {
    pub calls: Vec<CallSummary>,
    pub next: Option<CallCursor>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct CallRequest {
    pub partitions: Vec<i32>,
    pub account_id: String,
    pub call_id: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AncestorsRequest {
    pub partitions: Vec<i32>,
    pub account_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RecordsResponse {
    pub events: Vec<WireEvent>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct AncestorsResponse {
    pub ancestors: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SearchRequest {
    pub partitions: Vec<i32>,
    pub account_id: String,
    pub query: String,
    pub created_from_ms: i64,
    pub created_to_ms: i64,
    pub order: WireOrder,
    pub page_size: usize,
    pub start: Option<SearchCursor>,
    pub snippet_chars: usize,
    pub pre_tag: String,
    pub post_tag: String,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum WireOrder {
    Newest,
    Oldest,
    Relevance,
}

impl From<SearchOrder> for WireOrder {
    fn from(order: SearchOrder) -> WireOrder {
        match order {
            SearchOrder::Newest => WireOrder::Newest,
            SearchOrder::Oldest => WireOrder::Oldest,
            SearchOrder::Relevance => WireOrder::Relevance,
        }
    }
}

impl From<WireOrder> for SearchOrder {
    fn from(order: WireOrder) -> SearchOrder {
        match order {
            WireOrder::Newest => SearchOrder::Newest,
            WireOrder::Oldest => SearchOrder::Oldest,
            WireOrder::Relevance => SearchOrder::Relevance,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SearchResponse {
    pub total: u64,
    pub hits: Vec<WireHit>,
    pub next: Option<SearchCursor>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireHit {
    pub event: WireEvent,
    pub uri: Option<String>,
    pub method: Option<String>,
    pub call_first_created_ms: i64,
    pub score: Option<f32>,
    pub snippet: Option<String>,
    pub body_bytes: usize,
}

impl From<SearchHit> for WireHit {
    fn from(hit: SearchHit) -> WireHit {
        WireHit {
            event: WireEvent::from(&hit.event),
            uri: hit.uri,
            method: hit.method,
            call_first_created_ms: hit.call_first_created_ms,
            score: hit.score,
            snippet: hit.snippet,
            body_bytes: hit.body_bytes,
        }
    }
}

impl TryFrom<WireHit> for SearchHit {
    type Error = String;

    fn try_from(hit: WireHit) -> Result<SearchHit, String> {
        Ok(SearchHit {
            event: hit.event.decode()?,
            uri: hit.uri,
            method: hit.method,
            call_first_created_ms: hit.call_first_created_ms,
            score: hit.score,
            snippet: hit.snippet,
            body_bytes: hit.body_bytes,
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StatsRequest {
    pub partitions: Vec<i32>,
    pub account_id: String,
    pub query: String,
    pub created_from_ms: i64,
    pub created_to_ms: i64,
    pub interval_ms: i64,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StatsResponse {
    pub total: u64,
    /// (status code, count); `None`: records without a status.
    pub by_status: Vec<(Option<u64>, u64)>,
    pub by_time: Vec<u64>,
    pub origin_ms: i64,
    pub interval_ms: i64,
}

impl From<SearchStats> for StatsResponse {
    fn from(stats: SearchStats) -> StatsResponse {
        StatsResponse {
            total: stats.counts.total,
            by_status: stats.counts.by_status.into_iter().collect(),
            by_time: stats.counts.by_time,
            origin_ms: stats.origin_ms,
            interval_ms: stats.interval_ms,
        }
    }
}

impl From<StatsResponse> for SearchStats {
    fn from(stats: StatsResponse) -> SearchStats {
        SearchStats {
            counts: Counts {
                total: stats.total,
                by_status: stats.by_status.into_iter().collect(),
                by_time: stats.by_time,
            },
            origin_ms: stats.origin_ms,
            interval_ms: stats.interval_ms,
        }
    }
}

/// An event as its protobuf bytes in base64: the exact record, unknown fields kept.
#[derive(Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct WireEvent(String);

impl From<&DebugEvent> for WireEvent {
    fn from(event: &DebugEvent) -> WireEvent {
        WireEvent(base64::engine::general_purpose::STANDARD.encode(event.encode_to_vec()))
    }
}

impl WireEvent {
    pub(crate) fn decode(&self) -> Result<DebugEvent, String> {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&self.0)
            .map_err(|err| format!("event is not base64: {err}"))?;
        DebugEvent::decode(bytes.as_slice()).map_err(|err| format!("event is not protobuf: {err}"))
    }
}
