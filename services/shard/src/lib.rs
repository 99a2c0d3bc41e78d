//! The internal shard API: how the query tier reads the indexers' slices of the index.
//!
//! Each indexer serves its own index on `/internal/v1/*` ([`server::router`], JSON over
//! HTTP/1.1 or h2c, bearer token). A query process discovers the indexers, asks each
//! one's [`ShardStatus`] which partitions it owns and whether they are caught up, gives
//! every partition of the topic to exactly one shard, and sends each request to every
//! shard with that shard's partitions ([`Partitioned`]). The answers are merged with
//! [`pivotlog_index::merge`], so they equal a single index's. A partition that no
//! reachable shard owns, whose owner is still replaying it, or whose shard fails or times
//! out is reported: the response says it is partial and which partitions it lacks. Two
//! shards claiming one partition (while a new owner replaces an old one) never count a
//! record twice: only the chosen one is asked for it.
//!
//! The requests and answers are the index's own model ([`pivotlog_index::ListCalls`],
//! [`pivotlog_index::search::Search`], ...): each [`Endpoint`] names its path and the
//! pair of types it carries, so the client and the server cannot disagree.

pub mod server;

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use pivotlog_index::search::{
    Search, SearchPage, SearchStats, SignatureDetails, SignatureDetailsRequest, SignatureGroups, StatsRequest,
};
use pivotlog_index::tail::{TailPage, TailRequest};
use pivotlog_index::{CallPage, ListCalls};
use pivotlog_proto::DebugEvent;

pub use server::{router, StatusSource};

/// Version prefix of every shard path.
pub const PREFIX: &str = "/internal/v1";

/// One data endpoint of the shard API: `POST {PREFIX}{PATH}` with a
/// [`Partitioned<Request>`] body, answered with an `Answer`.
pub trait Endpoint {
    const PATH: &'static str;
    type Request: Serialize + DeserializeOwned + Send + 'static;
    type Answer: Serialize + DeserializeOwned + Send + 'static;
}

/// A request, restricted to the partitions the asking query process routes to this
/// shard.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Partitioned<R> {
    pub partitions: Vec<i32>,
    #[serde(flatten)]
    pub request: R,
}

/// One page of an account's calls.
pub struct Calls;

impl Endpoint for Calls {
    const PATH: &'static str = "/calls";
    type Request = ListCalls;
    type Answer = CallPage;
}

/// Every record of one call.
pub struct Records;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallRecords {
    pub account_id: String,
    pub call_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct RecordList {
    #[serde(with = "pivotlog_index::wire::events")]
    pub events: Vec<DebugEvent>,
}

impl Endpoint for Records {
    const PATH: &'static str = "/records";
    type Request = CallRecords;
    type Answer = RecordList;
}

/// The ancestors of an account, from its data.
pub struct Ancestors;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountAncestors {
    pub account_id: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct AncestorList {
    /// `None`: no data of the account seen.
    pub ancestors: Option<Vec<String>>,
}

impl Endpoint for Ancestors {
    const PATH: &'static str = "/ancestors";
    type Request = AccountAncestors;
    type Answer = AncestorList;
}

/// One page of search hits (each part's, see [`Search::for_each_part`]).
pub struct SearchHits;

impl Endpoint for SearchHits {
    const PATH: &'static str = "/search";
    type Request = Search;
    type Answer = SearchPage;
}

/// Counts of a search's matches.
pub struct Stats;

impl Endpoint for Stats {
    const PATH: &'static str = "/stats";
    type Request = StatsRequest;
    type Answer = SearchStats;
}

/// Every error signature among a query's matches, counted.
pub struct SignatureCounts;

impl Endpoint for SignatureCounts {
    const PATH: &'static str = "/signatures";
    type Request = StatsRequest;
    type Answer = SignatureGroups;
}

/// Histograms and newest records of some signatures.
pub struct SignatureSamples;

impl Endpoint for SignatureSamples {
    const PATH: &'static str = "/signatures/details";
    type Request = SignatureDetailsRequest;
    type Answer = SignatureDetails;
}

/// The records of a live tail committed after its positions.
pub struct Tail;

impl Endpoint for Tail {
    const PATH: &'static str = "/tail";
    type Request = TailRequest;
    type Answer = TailPage;
}

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
