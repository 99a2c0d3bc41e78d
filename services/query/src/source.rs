//! Where the API's reads go: the local index (one node), or the indexers' shards, whose
//! answers are merged into the same result ([`crate::shards`]). Both take the index's
//! own requests ([`ListCalls`], [`Search`], [`StatsRequest`]) and answer an [`Answer`].

use std::sync::Arc;

use pivotlog_index::search::{QueryError, Search, SearchPage, SearchStats, StatsRequest, UserQuery};
use pivotlog_index::{merge, CallPage, ListCalls, PivotIndex};
use pivotlog_proto::DebugEvent;
use pivotlog_shard::{AccountAncestors, Ancestors, CallRecords, Calls, Records, SearchHits, Stats};

use crate::answer::Answer;
use crate::envelope::ApiError;
use crate::metrics::ReadInFlight;
use crate::shards::ShardSet;

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
                let (pages, gaps) = shards.fan_out::<Calls>(&request).await?;
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
                let request = CallRecords {
                    account_id: account_id.to_owned(),
                    call_id: call_id.to_owned(),
                };
                let (parts, gaps) = shards.fan_out::<Records>(&request).await?;
                Ok(Answer {
                    value: merge::call_records(parts.into_iter().map(|part| part.events).collect()),
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
                let request = AccountAncestors {
                    account_id: account_id.to_owned(),
                };
                let (answers, _) = shards.fan_out::<Ancestors>(&request).await?;
                Ok(answers.into_iter().find_map(|answer| answer.ancestors))
            }
        }
    }

    pub async fn search(&self, request: Search) -> Result<Answer<SearchPage>, ApiError> {
        let refused = |err| ApiError::from_search(err, &request.query);
        request.check().map_err(refused)?;
        match self {
            Source::Local(index) => {
                let index = index.clone();
                let page = run_blocking(move || {
                    index
                        .search(&request)
                        .map_err(|err| ApiError::from_search(err, &request.query))
                })
                .await?;
                Ok(Answer::complete(page))
            }
            Source::Shards { shards, .. } => {
                let (pages, gaps) = shards.fan_out::<SearchHits>(&request.for_each_part()).await?;
                Ok(Answer {
                    value: merge::search_pages(&request, pages),
                    gaps,
                })
            }
        }
    }

    pub async fn stats(&self, request: StatsRequest) -> Result<Answer<SearchStats>, ApiError> {
        request
            .buckets()
            .map_err(|err| ApiError::from_search(err, &request.query))?;
        match self {
            Source::Local(index) => {
                let index = index.clone();
                let stats = run_blocking(move || {
                    index
                        .search_stats(&request)
                        .map_err(|err| ApiError::from_search(err, &request.query))
                })
                .await?;
                Ok(Answer::complete(stats))
            }
            Source::Shards { shards, .. } => {
                let (parts, gaps) = shards.fan_out::<Stats>(&request).await?;
                let value = merge::search_stats(parts)
                    .ok_or_else(|| ApiError::NotReady("no shard answered".into()))?;
                Ok(Answer { value, gaps })
            }
        }
    }
}

/// Runs an index read on the blocking pool: reads take up to milliseconds of CPU and
/// would otherwise stall every request sharing the async worker.
async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    // Counted until the read ends, even if the request gives up on it (timeout).
    let in_flight = ReadInFlight::enter();
    tokio::task::spawn_blocking(move || {
        let _in_flight = in_flight;
        work()
    })
    .await
    .unwrap_or_else(|err| Err(ApiError::Internal(err.to_string())))
}
