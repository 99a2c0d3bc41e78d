//! Answers of disjoint parts of the data, combined into what one index holding all of
//! it would answer: how the query tier merges its shards.
//!
//! Each part answers the same request ([`Search::for_each_part`] for relevance paging)
//! over its own documents; since no document is in two parts, totals add up and pages
//! interleave. A page's next cursor is the earliest of the parts' next positions, which
//! is exact because each part's cursor follows everything it returned.

use std::collections::{BTreeMap, HashSet, VecDeque};

use pivotlog_proto::DebugEvent;

use crate::interleave;
use crate::reader::chronological_key;
use crate::schema::event_order;
use crate::search::{Counts, Search, SearchCursor, SearchHit, SearchOrder, SearchPage, SearchStats};
use crate::tail::{TailPage, TailRecord};
use crate::{CallCursor, CallPage, CallSummary, ListCalls};

/// One listing page from the parts' pages for the same `request`.
pub fn call_pages(request: &ListCalls, pages: Vec<CallPage>) -> CallPage {
    let mut nexts = Vec::new();
    let mut calls = Vec::new();
    for page in pages {
        calls.extend(page.calls);
        nexts.extend(page.next);
    }
    calls.sort_by(|a, b| request.compare(a, b));
    let cursor_order = |a: &CallCursor, b: &CallCursor| {
        let order = (a.created_ms, &a.call_id).cmp(&(b.created_ms, &b.call_id));
        if request.ascending {
            order
        } else {
            order.reverse()
        }
    };
    if let Some(size) = request.page_size {
        if calls.len() > size {
            let first_cut = calls.split_off(size).swap_remove(0);
            nexts.push(cursor_of(&first_cut));
        }
    }
    CallPage {
        calls,
        next: nexts.into_iter().min_by(cursor_order),
    }
}

fn cursor_of(call: &CallSummary) -> CallCursor {
    CallCursor {
        created_ms: call.first_created_ms,
        call_id: call.call_id.clone(),
    }
}

/// A call's records from every part, oldest first, each event once.
pub fn call_records(parts: Vec<Vec<DebugEvent>>) -> Vec<DebugEvent> {
    let mut seen = HashSet::new();
    let mut records: Vec<DebugEvent> = parts
        .into_iter()
        .flatten()
        .filter(|event| seen.insert(event.event_id.clone()))
        .collect();
    records.sort_by(|a, b| chronological_key(a).cmp(&chronological_key(b)));
    records
}

impl Search {
    /// What each part must answer so that [`search_pages`] can build this page: the
    /// same request, except that a relevance page at offset `o` needs every part's
    /// first `o + page_size` hits.
    pub fn for_each_part(&self) -> Search {
        let mut part = self.clone();
        if let (SearchOrder::Relevance, Some(SearchCursor::Offset(offset))) = (self.order, &self.start) {
            part.page_size = offset.saturating_add(self.page_size);
            part.start = None;
        }
        part
    }
}

/// One page of hits from the parts' answers to [`Search::for_each_part`].
///
/// Relevance scores are each part's own (BM25 statistics are per index, as in
/// Elasticsearch's default `query_then_fetch`): the hits and the total are exact, the
/// order between parts may differ from one index's.
pub fn search_pages(request: &Search, pages: Vec<SearchPage>) -> SearchPage {
    let total = pages.iter().map(|page| page.total).sum();
    let nexts: Vec<SearchCursor> = pages.iter().filter_map(|page| page.next.clone()).collect();
    match request.order {
        SearchOrder::Relevance => {
            let hits =
                interleave::by_score(pages.into_iter().map(|page| page.hits).collect(), |hit| hit.score);
            let offset = match request.start {
                Some(SearchCursor::Offset(offset)) => offset,
                _ => 0,
            };
            let more = hits.len() > offset + request.page_size || !nexts.is_empty();
            let hits: Vec<SearchHit> = hits.into_iter().skip(offset).take(request.page_size).collect();
            SearchPage {
                total,
                hits,
                next: more.then_some(SearchCursor::Offset(offset + request.page_size)),
            }
        }
        SearchOrder::Newest | SearchOrder::Oldest => {
            let mut hits: Vec<SearchHit> = pages.into_iter().flat_map(|page| page.hits).collect();
            let ascending = request.order == SearchOrder::Oldest;
            let in_order = |a: (i64, u64), b: (i64, u64)| {
                if ascending {
                    a.cmp(&b)
                } else {
                    b.cmp(&a)
                }
            };
            hits.sort_by(|a, b| in_order(time_key(a), time_key(b)));
            let mut next_keys: Vec<(i64, u64)> = nexts
                .into_iter()
                .filter_map(|cursor| match cursor {
                    SearchCursor::Time(created, order) => Some((created, order)),
                    SearchCursor::Offset(_) => None,
                })
                .collect();
            if hits.len() > request.page_size {
                next_keys.push(time_key(&hits[request.page_size]));
                hits.truncate(request.page_size);
            }
            let next = next_keys
                .into_iter()
                .min_by(|a, b| in_order(*a, *b))
                .map(|(created, order)| SearchCursor::Time(created, order));
            SearchPage { total, hits, next }
        }
    }
}

/// A hit's place in time order, as the index's time cursor defines it.
fn time_key(hit: &SearchHit) -> (i64, u64) {
    (hit.event.created_unix_ms, event_order(&hit.event.event_id))
}

/// The parts' stats for the same request, added up. `None` when there are none.
pub fn search_stats(parts: Vec<SearchStats>) -> Option<SearchStats> {
    let mut parts = parts.into_iter();
    let mut merged = parts.next()?;
    for part in parts {
        add_counts(&mut merged.counts, part.counts);
    }
    Some(merged)
}

fn add_counts(into: &mut Counts, counts: Counts) {
    into.total += counts.total;
    for (status, count) in counts.by_status {
        *into.by_status.entry(status).or_default() += count;
    }
    if into.by_time.len() < counts.by_time.len() {
        into.by_time.resize(counts.by_time.len(), 0);
    }
    for (bucket, count) in into.by_time.iter_mut().zip(counts.by_time) {
        *bucket += count;
    }
}

/// One tail read from the parts' reads of the same request: each partition is one
/// part's, so its records keep their order while the parts are interleaved by time,
/// and each position is the furthest any part gives (a part passes on the positions of
/// partitions it does not hold unchanged).
pub fn tail_pages(pages: Vec<TailPage>) -> TailPage {
    let mut next: BTreeMap<i32, i64> = BTreeMap::new();
    let mut queues: Vec<VecDeque<TailRecord>> = Vec::new();
    for page in pages {
        for (partition, offset) in page.next {
            let position = next.entry(partition).or_insert(offset);
            *position = (*position).max(offset);
        }
        queues.push(page.records.into());
    }
    let records = interleave::by_time(&mut queues, usize::MAX, |record| record.hit.event.created_unix_ms);
    TailPage { records, next }
}
