//! Where the API's reads go: the local index (one node), or the indexers' shards, whose
//! answers are merged into the same result ([`crate::shards`]). Both take the index's
//! own requests ([`ListCalls`], [`Search`], [`StatsRequest`]) and answer an [`Answer`].
//! Every read is admitted first ([`pivotlog_serve::admission`]) by its class: searches,
//! stats and unpaginated listings are heavy, pages and a call's records cheap.

use std::sync::Arc;

use pivotlog_index::search::{
    merge_details, merge_groups, order_groups, QueryError, Search, SearchPage, SearchStats, SignatureDetail,
    SignatureDetailsRequest, SignatureGroup, SignatureOrder, StatsRequest, UserQuery,
};
use pivotlog_index::tail::{TailPage, TailRequest};
use pivotlog_index::{interrupt, merge, CallPage, ListCalls, PivotIndex};
use pivotlog_proto::DebugEvent;
use pivotlog_serve::admission::{Admission, Class, Permit};
use pivotlog_shard::{
    AccountAncestors, Ancestors, CallRecords, Calls, Records, SearchHits, SignatureCounts, SignatureSamples,
    Stats, Tail,
};

use crate::answer::Answer;
use crate::envelope::ApiError;
use crate::metrics::ReadInFlight;
use crate::shards::ShardSet;

/// The index as the handlers see it, and who may read it now.
#[derive(Clone)]
pub struct Source {
    pub backend: Backend,
    pub admission: Arc<Admission>,
}

/// Where the index is.
#[derive(Clone)]
pub enum Backend {
    Local(PivotIndex),
    Shards {
        shards: Arc<ShardSet>,
        /// An empty index in memory: parses queries exactly as the shards will.
        schema: PivotIndex,
    },
}

impl Source {
    pub fn parse_query(&self, text: &str) -> Result<UserQuery, QueryError> {
        match &self.backend {
            Backend::Local(index) => index.parse_query(text),
            Backend::Shards { schema, .. } => schema.parse_query(text),
        }
    }

    /// A listing page is cheap; every call in range at once (`page_size: None`) is heavy.
    pub async fn list_calls(&self, request: ListCalls) -> Result<Answer<CallPage>, ApiError> {
        let class = match request.page_size {
            Some(_) => Class::Cheap,
            None => Class::Heavy,
        };
        match &self.backend {
            Backend::Local(index) => {
                let account = request.account_id.clone();
                let index = index.clone();
                let page = run_blocking(&self.admission, class, account, move || {
                    Ok(index.list_calls(&request)?)
                })
                .await?;
                Ok(Answer::complete(page))
            }
            Backend::Shards { shards, .. } => {
                let permit = self.admit(class, &request.account_id).await?;
                let (pages, gaps) = shards.fan_out::<Calls>(&request).await?;
                drop(permit);
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
        match &self.backend {
            Backend::Local(index) => {
                let account = account_id.to_owned();
                let (index, account_id, call_id) = (index.clone(), account_id.to_owned(), call_id.to_owned());
                let records = run_blocking(&self.admission, Class::Cheap, account, move || {
                    Ok(index.call_records(&account_id, &call_id)?)
                })
                .await?;
                Ok(Answer::complete(records))
            }
            Backend::Shards { shards, .. } => {
                let _permit = self.admit(Class::Cheap, account_id).await?;
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
        match &self.backend {
            Backend::Local(index) => {
                let account = account_id.to_owned();
                let (index, account_id) = (index.clone(), account_id.to_owned());
                run_blocking(&self.admission, Class::Cheap, account, move || {
                    Ok(index.account_ancestors(&account_id)?)
                })
                .await
            }
            Backend::Shards { shards, .. } => {
                let _permit = self.admit(Class::Cheap, account_id).await?;
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
        match &self.backend {
            Backend::Local(index) => {
                let account = request.account_id.clone();
                let index = index.clone();
                let page = run_blocking(&self.admission, Class::Heavy, account, move || {
                    index
                        .search(&request)
                        .map_err(|err| ApiError::from_search(err, &request.query))
                })
                .await?;
                Ok(Answer::complete(page))
            }
            Backend::Shards { shards, .. } => {
                let permit = self.admit(Class::Heavy, &request.account_id).await?;
                let (pages, gaps) = shards.fan_out::<SearchHits>(&request.for_each_part()).await?;
                drop(permit);
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
        match &self.backend {
            Backend::Local(index) => {
                let account = request.account_id.clone();
                let index = index.clone();
                let stats = run_blocking(&self.admission, Class::Heavy, account, move || {
                    index
                        .search_stats(&request)
                        .map_err(|err| ApiError::from_search(err, &request.query))
                })
                .await?;
                Ok(Answer::complete(stats))
            }
            Backend::Shards { shards, .. } => {
                let permit = self.admit(Class::Heavy, &request.account_id).await?;
                let (parts, gaps) = shards.fan_out::<Stats>(&request).await?;
                drop(permit);
                let value = merge::search_stats(parts)
                    .ok_or_else(|| ApiError::NotReady("no shard answered".into()))?;
                Ok(Answer { value, gaps })
            }
        }
    }
}

/// A page of signatures: the page's groups in order, their details, and the number of
/// all signatures in scope.
pub struct SignaturePage {
    pub groups: Vec<SignatureGroup>,
    pub details: Vec<SignatureDetail>,
    pub total: usize,
}

impl SignaturePage {
    /// `groups` (every signature in scope) ordered, and the page at `offset` kept.
    fn of(
        mut groups: Vec<SignatureGroup>,
        order: SignatureOrder,
        offset: usize,
        size: usize,
    ) -> SignaturePage {
        let total = groups.len();
        order_groups(&mut groups, order);
        let groups: Vec<SignatureGroup> = groups.into_iter().skip(offset).take(size).collect();
        SignaturePage {
            groups,
            details: Vec::new(),
            total,
        }
    }

    fn details_request(&self, scope: &StatsRequest) -> SignatureDetailsRequest {
        SignatureDetailsRequest {
            scope: scope.clone(),
            ids: self.groups.iter().map(|group| group.id).collect(),
        }
    }
}

impl Source {
    /// One page of the signatures in `request`'s scope: every signature is counted,
    /// then only the page's get their histogram and sample (a second, narrower read).
    pub async fn signatures(
        &self,
        request: StatsRequest,
        order: SignatureOrder,
        offset: usize,
        size: usize,
    ) -> Result<Answer<SignaturePage>, ApiError> {
        match &self.backend {
            Backend::Local(index) => {
                let account = request.account_id.clone();
                let index = index.clone();
                let page = run_blocking(&self.admission, Class::Heavy, account, move || {
                    let refused = |err| ApiError::from_search(err, &request.query);
                    let groups = index.signature_groups(&request).map_err(refused)?;
                    let mut page = SignaturePage::of(groups.groups, order, offset, size);
                    if !page.groups.is_empty() {
                        let details = index.signature_details(&page.details_request(&request));
                        page.details = details.map_err(refused)?.details;
                    }
                    Ok(page)
                })
                .await?;
                Ok(Answer::complete(page))
            }
            Backend::Shards { shards, .. } => {
                let permit = self.admit(Class::Heavy, &request.account_id).await?;
                let refused = |err| ApiError::from_search(err, &request.query);
                let (parts, mut gaps) = shards.fan_out::<SignatureCounts>(&request).await?;
                let groups = merge_groups(parts).map_err(refused)?;
                let mut page = SignaturePage::of(groups.groups, order, offset, size);
                if !page.groups.is_empty() {
                    let (parts, more_gaps) = shards
                        .fan_out::<SignatureSamples>(&page.details_request(&request))
                        .await?;
                    page.details = merge_details(parts).details;
                    for reason in more_gaps.reasons {
                        gaps.reasons.insert(reason);
                    }
                    gaps.partitions.extend(more_gaps.partitions);
                }
                drop(permit);
                Ok(Answer { value: page, gaps })
            }
        }
    }
}

impl Source {
    /// The local index's reload count ([`PivotIndex::generation`]), which a live tail
    /// watches to read as soon as new records are visible; `None` over shards, whose
    /// reloads this process does not see.
    pub fn generation(&self) -> Option<u64> {
        match &self.backend {
            Backend::Local(index) => Some(index.generation()),
            Backend::Shards { .. } => None,
        }
    }

    /// The records of a live tail committed past its positions. A cheap read: a tail
    /// that keeps up reads only the segments committed since its last read.
    pub async fn tail(&self, request: TailRequest) -> Result<Answer<TailPage>, ApiError> {
        match &self.backend {
            Backend::Local(index) => {
                let account = request.account_id.clone();
                let index = index.clone();
                let page = run_blocking(&self.admission, Class::Cheap, account, move || {
                    index
                        .tail(&request)
                        .map_err(|err| ApiError::from_search(err, &request.query))
                })
                .await?;
                Ok(Answer::complete(page))
            }
            Backend::Shards { shards, .. } => {
                let permit = self.admit(Class::Cheap, &request.account_id).await?;
                let (pages, gaps) = shards.fan_out::<Tail>(&request).await?;
                drop(permit);
                Ok(Answer {
                    value: merge::tail_pages(pages),
                    gaps,
                })
            }
        }
    }
}

impl Source {
    /// A slot for a read, or the 429 that refuses it. Over shards, the slot bounds this
    /// process's fan-outs; each shard admits its part again, by the same account.
    async fn admit(&self, class: Class, account_id: &str) -> Result<Permit, ApiError> {
        Ok(self.admission.admit(class, account_id).await?)
    }
}

/// Admits an index read and runs it off the async workers (reads take up to
/// milliseconds of CPU and would otherwise stall every request sharing a worker). If the
/// request is given up first (client gone, deadline), the read is interrupted at its next
/// segment instead of running to the end.
async fn run_blocking<T: Send + 'static>(
    admission: &Arc<Admission>,
    class: Class,
    account: String,
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    // Counted until the read ends, even if the request gives up on it.
    let in_flight = ReadInFlight::enter();
    admission
        .read(class, &account, move |permit| {
            let _in_flight = in_flight;
            let result = interrupt::scope(permit.interrupt(), work);
            if matches!(result, Err(ApiError::Interrupted)) {
                permit.interrupted();
            }
            result
        })
        .await?
        .unwrap_or_else(|| Err(ApiError::Internal("the read panicked".into())))
}
