//! A search over several time slices, answering exactly what merging each slice's own
//! page would (`merge::search_pages`), at the cost of one page: each slice
//! contributes the time keys (or scores) and addresses of its candidates, read from fast
//! fields; the stored records and snippets are built only for the hits of the final page.
//!
//! In time order, slices are visited from the one whose range reaches furthest in the
//! page's direction; a slice whose range cannot hold a hit of the page (entirely past the
//! cursor, or entirely behind the page's last candidate) is only counted, since every
//! match counts towards the total. The ranges, not the slices' day names, decide: a call
//! sits in the slice of its first-arriving record, so slices' ranges may overlap.

use std::collections::BTreeMap;

use tantivy::collector::{Count, TopDocs};
use tantivy::DocAddress;

use super::collect::{TimeKey, TimeOrdered};
use super::{Search, SearchCursor, SearchError, SearchHit, SearchOrder, SearchPage, UserQuery};
use crate::interleave;
use crate::interrupt::{or_interrupted, Interruptible};
use crate::slice::{Slice, Snapshot};

/// A candidate hit: the slice (index into the views), its score, its address there.
type Candidate = (usize, Option<f32>, DocAddress);

/// One page of `request` over `views` (slices oldest first, each as one snapshot).
pub(crate) fn search(
    request: &Search,
    query: &UserQuery,
    views: &[(Slice, Snapshot)],
) -> Result<SearchPage, SearchError> {
    request.check()?;
    let (total, page, next) = match request.order {
        SearchOrder::Relevance => by_score(request, query, views)?,
        SearchOrder::Newest | SearchOrder::Oldest => by_time(request, query, views)?,
    };
    let hits = build_hits(request, query, views, &page)?;
    Ok(SearchPage { total, hits, next })
}

/// Candidates of a time-ordered page: every slice's first `page_size + 1` keys from
/// the cursor on, merged; the page is the first `page_size`, the next cursor the one after.
fn by_time(
    request: &Search,
    query: &UserQuery,
    views: &[(Slice, Snapshot)],
) -> Result<(u64, Vec<Candidate>, Option<SearchCursor>), SearchError> {
    let ascending = request.order == SearchOrder::Oldest;
    let start = match request.start {
        Some(SearchCursor::Time(created, order)) => Some((created, order)),
        _ => None,
    };
    let limit = request.page_size + 1;
    let in_order = |a: &TimeKey, b: &TimeKey| if ascending { a.cmp(b) } else { b.cmp(a) };
    let mut visit: Vec<usize> = (0..views.len()).collect();
    visit.sort_by_key(|&i| {
        let range = views[i].1.range.unwrap_or_default();
        if ascending {
            range.min_created_ms
        } else {
            -range.max_created_ms
        }
    });
    let mut total = 0;
    let mut best: Vec<(TimeKey, usize, DocAddress)> = Vec::with_capacity(2 * limit);
    for i in visit {
        let (slice, view) = &views[i];
        let scoped = query.scoped(
            slice,
            view.range,
            &request.account_id,
            request.created_from_ms,
            request.created_to_ms,
        );
        // Keys tied in time with the cursor or the last candidate may still win on
        // their tie-break, so only a range strictly beyond them is left out.
        let reaches = |edge: i64| {
            view.range.is_none_or(|range| {
                if ascending {
                    range.max_created_ms >= edge
                } else {
                    range.min_created_ms <= edge
                }
            })
        };
        let beats = |last: i64| {
            view.range.is_none_or(|range| {
                if ascending {
                    range.min_created_ms <= last
                } else {
                    range.max_created_ms >= last
                }
            })
        };
        let useful = start.is_none_or(|(created, _)| reaches(created))
            && best
                .get(request.page_size)
                .is_none_or(|(last, _, _)| beats(last.0));
        if !useful {
            total += view
                .searcher
                .search(scoped.as_ref(), &Interruptible(Count))
                .map_err(or_interrupted)? as u64;
            continue;
        }
        let collector = TimeOrdered {
            limit,
            ascending,
            start,
        };
        let (count, hits) = view
            .searcher
            .search(scoped.as_ref(), &Interruptible(collector))
            .map_err(or_interrupted)?;
        total += count;
        best.extend(hits.into_iter().map(|(key, address)| (key, i, address)));
        best.sort_by(|a, b| in_order(&a.0, &b.0));
        best.truncate(limit);
    }
    let next = if best.len() > request.page_size {
        best.pop().map(|(key, _, _)| SearchCursor::Time(key.0, key.1))
    } else {
        None
    };
    let page = best
        .into_iter()
        .map(|(_, i, address)| (i, None, address))
        .collect();
    Ok((total, page, next))
}

/// Candidates of a relevance page: each slice's first `offset + page_size` by its own
/// scores, interleaved as `merge::search_pages` interleaves parts' pages.
fn by_score(
    request: &Search,
    query: &UserQuery,
    views: &[(Slice, Snapshot)],
) -> Result<(u64, Vec<Candidate>, Option<SearchCursor>), SearchError> {
    let offset = match request.start {
        Some(SearchCursor::Offset(offset)) => offset,
        _ => 0,
    };
    let per_part = offset.saturating_add(request.page_size);
    let (mut total, mut more) = (0, false);
    let mut parts = Vec::with_capacity(views.len());
    for (i, (slice, view)) in views.iter().enumerate() {
        let scoped = query.scoped(
            slice,
            view.range,
            &request.account_id,
            request.created_from_ms,
            request.created_to_ms,
        );
        let top = TopDocs::with_limit(per_part + 1).order_by_score();
        let (count, mut found) = view
            .searcher
            .search(scoped.as_ref(), &Interruptible((Count, top)))
            .map_err(or_interrupted)?;
        total += count as u64;
        if found.len() > per_part {
            found.truncate(per_part);
            more = true;
        }
        parts.push(
            found
                .into_iter()
                .map(|(score, address)| (i, Some(score), address))
                .collect::<Vec<Candidate>>(),
        );
    }
    let merged = interleave::by_score(parts, |candidate| candidate.1);
    let more = more || merged.len() > per_part;
    let page = merged.into_iter().skip(offset).take(request.page_size).collect();
    Ok((total, page, more.then_some(SearchCursor::Offset(per_part))))
}

/// The page's hits, each built by its own slice (its snippet generator scores terms by
/// that slice's statistics, as the slice's own page would).
fn build_hits(
    request: &Search,
    query: &UserQuery,
    views: &[(Slice, Snapshot)],
    page: &[Candidate],
) -> Result<Vec<SearchHit>, SearchError> {
    let mut by_slice: BTreeMap<usize, Vec<(usize, Option<f32>, DocAddress)>> = BTreeMap::new();
    for (position, &(i, score, address)) in page.iter().enumerate() {
        by_slice.entry(i).or_default().push((position, score, address));
    }
    let mut hits: Vec<Option<SearchHit>> = std::iter::repeat_with(|| None).take(page.len()).collect();
    for (i, entries) in by_slice {
        let (slice, view) = &views[i];
        let found: Vec<(Option<f32>, DocAddress)> = entries
            .iter()
            .map(|&(_, score, address)| (score, address))
            .collect();
        let built = slice.hits(&view.searcher, &found, query, &request.snippet)?;
        for (&(position, _, _), hit) in entries.iter().zip(built) {
            hits[position] = Some(hit);
        }
    }
    Ok(hits
        .into_iter()
        .map(|hit| hit.expect("every hit of the page is built"))
        .collect())
}
