//! Where the API's reads go: the local index (one node), or the indexers' shards, whose
//! answers are merged into the same result (see [`crate::shard`]).

use std::collections::BTreeSet;
use std::sync::Arc;

use pivotlog_index::search::{
    QueryError, Search, SearchCursor, SearchOrder, SearchPage, SearchStats, SnippetOptions, StatsRequest,
    UserQuery,
};
use pivotlog_index::{merge, CallPage, ListCalls, PivotIndex};
use pivotlog_proto::DebugEvent;

use crate::access::run_blocking;
use crate::search::search_error;
use crate::shard::{self, ShardSet};
use crate::ApiError;

/// The partitions an answer lacks, and why. Empty: the answer is complete.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Gaps {
    pub partitions: BTreeSet<i32>,
    pub reasons: BTreeSet<String>,
}

impl Gaps {
    pub fn add(&mut self, partitions: &[i32], reason: String) {
        self.partitions.extend(partitions);
        self.reasons.insert(reason);
    }

    pub fn is_empty(&self) -> bool {
        self.partitions.is_empty()
    }
}

/// A value read from the index, and what it lacks.
pub struct Answer<T> {
    pub value: T,
    pub gaps: Gaps,
}

impl<T> Answer<T> {
    fn complete(value: T) -> Answer<T> {
        Answer {
            value,
            gaps: Gaps::default(),
        }
    }
}

/// The index as the handlers see it.
#[derive(Clone)]
pub enum Source {
    Local(PivotIndex),
    Shards {
        shards: Arc<ShardSet>,
        /// An empty index in memory: parses queries exactly as the shards will.
        schema: PivotIndex,
    },
}

/// A search, owned, so it can move to the blocking pool or over the network.
pub struct SearchSpec {
    pub account_id: String,
    pub text: String,
    pub query: UserQuery,
    pub created_from_ms: i64,
    pub created_to_ms: i64,
    pub order: SearchOrder,
    pub page_size: usize,
    pub start: Option<SearchCursor>,
    pub snippet: SnippetOptions,
}

impl SearchSpec {
    pub fn search(&self) -> Search<'_> {
        Search {
            account_id: &self.account_id,
            query: &self.query,
            created_from_ms: self.created_from_ms,
            created_to_ms: self.created_to_ms,
            order: self.order,
            page_size: self.page_size,
            start: self.start.clone(),
            snippet: self.snippet.clone(),
        }
    }
}

/// Stats over a search's matches, owned.
pub struct StatsSpec {
    pub account_id: String,
    pub text: String,
    pub query: UserQuery,
    pub created_from_ms: i64,
    pub created_to_ms: i64,
    pub interval_ms: i64,
}

impl StatsSpec {
    pub fn request(&self) -> StatsRequest<'_> {
        StatsRequest {
            account_id: &self.account_id,
            query: &self.query,
            created_from_ms: self.created_from_ms,
            created_to_ms: self.created_to_ms,
            interval_ms: self.interval_ms,
        }
    }
}

fn bad_shard_answer(err: String) -> ApiError {
    ApiError::Internal(format!("a shard sent an unreadable answer: {err}"))
}

impl Source {
    pub fn parse_query(&self, text: &str) -> Result<UserQuery, QueryError> {
        match self {
            Source::Local(index) => index.parse_query(text),
            Source::Shards { schema, .. } => schema.parse_query(text),
        }
    }

    pub async fn list_calls(&self, request: ListCalls) -> Result<Answer<CallPage>, ApiError> {
        match self {
            Source::Local(index) => {
                let index = index.clone();
                let page = run_blocking(move || Ok(index.list_calls(&request)?)).await?;
                Ok(Answer::complete(page))
            }
            Source::Shards { shards, .. } => {
                let (pages, gaps) = shards
                    .fan_out("/calls", |partitions| shard::CallsRequest {
                        partitions,
                        account_id: request.account_id.clone(),
                        created_from_ms: request.created_from_ms,
                        created_to_ms: request.created_to_ms,
                        ascending: request.ascending,
                        page_size: request.page_size,
                        start: request.start.clone(),
                    })
                    .await?;
                let pages = pages
                    .into_iter()
                    .map(|page: shard::CallsResponse| CallPage {
                        calls: page.calls,
                        next: page.next,
                    })
                    .collect();
                Ok(Answer {
                    value: merge::call_pages(&request, pages),
                    gaps,
                })
            }
        }
    }

    /// Every record of one call, oldest first.
    pub async fn call_records(
        &self,
        account_id: &str,
        call_id: &str,
    ) -> Result<Answer<Vec<DebugEvent>>, ApiError> {
        match self {
            Source::Local(index) => {
                let (index, account_id, call_id) = (index.clone(), account_id.to_owned(), call_id.to_owned());
                let records = run_blocking(move || Ok(index.call_records(&account_id, &call_id)?)).await?;
                Ok(Answer::complete(records))
            }
            Source::Shards { shards, .. } => {
                let (parts, gaps) = shards
                    .fan_out("/records", |partitions| shard::CallRequest {
                        partitions,
                        account_id: account_id.to_owned(),
                        call_id: call_id.to_owned(),
                    })
                    .await?;
                let parts = parts
                    .into_iter()
                    .map(|part: shard::RecordsResponse| {
                        part.events
                            .iter()
                            .map(|event| event.decode())
                            .collect::<Result<Vec<_>, _>>()
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(bad_shard_answer)?;
                Ok(Answer {
                    value: merge::call_records(parts),
                    gaps,
                })
            }
        }
    }

    /// The ancestors of an account, from its data (`None`: no data seen).
    pub async fn account_ancestors(&self, account_id: &str) -> Result<Option<Vec<String>>, ApiError> {
        match self {
            Source::Local(index) => {
                let (index, account_id) = (index.clone(), account_id.to_owned());
                run_blocking(move || Ok(index.account_ancestors(&account_id)?)).await
            }
            Source::Shards { shards, .. } => {
                let (answers, _) = shards
                    .fan_out("/ancestors", |partitions| shard::AncestorsRequest {
                        partitions,
                        account_id: account_id.to_owned(),
                    })
                    .await?;
                Ok(answers
                    .into_iter()
                    .find_map(|answer: shard::AncestorsResponse| answer.ancestors))
            }
        }
    }

    pub async fn search(&self, spec: SearchSpec) -> Result<Answer<SearchPage>, ApiError> {
        spec.search()
            .check()
            .map_err(|err| search_error(err, &spec.text))?;
        match self {
            Source::Local(index) => {
                let index = index.clone();
                let page = run_blocking(move || {
                    index
                        .search(&spec.search())
                        .map_err(|err| search_error(err, &spec.text))
                })
                .await?;
                Ok(Answer::complete(page))
            }
            Source::Shards { shards, .. } => {
                let request = spec.search();
                let part = request.for_each_part();
                let (pages, gaps) = shards
                    .fan_out("/search", |partitions| shard::SearchRequest {
                        partitions,
                        account_id: spec.account_id.clone(),
                        query: spec.text.clone(),
                        created_from_ms: part.created_from_ms,
                        created_to_ms: part.created_to_ms,
                        order: part.order.into(),
                        page_size: part.page_size,
                        start: part.start.clone(),
                        snippet_chars: part.snippet.max_chars,
                        pre_tag: part.snippet.pre_tag.clone(),
                        post_tag: part.snippet.post_tag.clone(),
                    })
                    .await?;
                let pages = pages
                    .into_iter()
                    .map(|page: shard::SearchResponse| {
                        Ok(SearchPage {
                            total: page.total,
                            hits: page
                                .hits
                                .into_iter()
                                .map(TryFrom::try_from)
                                .collect::<Result<Vec<_>, String>>()?,
                            next: page.next,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()
                    .map_err(bad_shard_answer)?;
                Ok(Answer {
                    value: merge::search_pages(&request, pages),
                    gaps,
                })
            }
        }
    }

    pub async fn stats(&self, spec: StatsSpec) -> Result<Answer<SearchStats>, ApiError> {
        spec.request()
            .buckets()
            .map_err(|err| search_error(err, &spec.text))?;
        match self {
            Source::Local(index) => {
                let index = index.clone();
                let stats = run_blocking(move || {
                    index
                        .search_stats(&spec.request())
                        .map_err(|err| search_error(err, &spec.text))
                })
                .await?;
                Ok(Answer::complete(stats))
            }
            Source::Shards { shards, .. } => {
                let (parts, gaps) = shards
                    .fan_out("/stats", |partitions| shard::StatsRequest {
                        partitions,
                        account_id: spec.account_id.clone(),
                        query: spec.text.clone(),
                        created_from_ms: spec.created_from_ms,
                        created_to_ms: spec.created_to_ms,
                        interval_ms: spec.interval_ms,
                    })
                    .await?;
                let parts: Vec<SearchStats> = parts
                    .into_iter()
                    .map(|part: shard::StatsResponse| part.into())
                    .collect();
                let value = merge::search_stats(parts)
                    .ok_or_else(|| ApiError::NotReady("no shard answered".into()))?;
                Ok(Answer { value, gaps })
            }
        }
    }
}
