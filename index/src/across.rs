//! The index's reads, over its time slices: each read asks the slices whose time range
//! it touches and merges their answers ([`crate::merge`]), which is exact because every
//! call lives whole in one slice.

use pivotlog_proto::DebugEvent;

use crate::merge;
use crate::schema::call_key;
use crate::search::{
    GroupsPart, QueryError, Search, SearchError, SearchPage, SearchStats, SignatureDetails,
    SignatureDetailsRequest, SignatureGroups, StatsRequest, UserQuery,
};
use crate::slice::{Slice, Snapshot};
use crate::{CallCursor, CallPage, CallSummary, IndexError, ListCalls, PivotIndex};

impl PivotIndex {
    /// The slices holding records between `from_ms` and `to_ms` (inclusive), oldest first.
    fn slices_between(&self, from_ms: i64, to_ms: i64) -> Result<Vec<Slice>, IndexError> {
        Ok(self
            .slices()
            .into_iter()
            .filter(|slice| slice.range().is_some_and(|range| range.overlaps(from_ms, to_ms)))
            .collect())
    }

    /// The slices holding records between `from_ms` and `to_ms` (inclusive), oldest
    /// first, each as one snapshot (searcher and range).
    fn views_between(&self, from_ms: i64, to_ms: i64) -> Vec<(Slice, Snapshot)> {
        self.slices()
            .into_iter()
            .map(|slice| {
                let view = slice.snapshot();
                (slice, view)
            })
            .filter(|(_, view)| view.range.is_some_and(|range| range.overlaps(from_ms, to_ms)))
            .collect()
    }

    /// A page of the account's calls, in listing order.
    ///
    /// A call's first record lies in its slice's range (a slice's range covers every
    /// record in it, and a call is whole in one slice), so slices are read from the one
    /// whose range reaches furthest in listing order, and reading stops at the first
    /// slice whose whole range comes after the page's last call (the next page's
    /// first): the answer is [`merge::call_pages`] of every slice's page, read from
    /// the few slices that hold it.
    pub fn list_calls(&self, request: &ListCalls) -> Result<CallPage, IndexError> {
        let (from, to) = request.time_bounds();
        let mut views = self.views_between(from, to);
        let Some(size) = request.page_size else {
            let pages = views
                .iter()
                .map(|(slice, view)| {
                    let calls = slice.first_calls(view, request, from, to)?;
                    Ok(CallPage { calls, next: None })
                })
                .collect::<Result<Vec<_>, IndexError>>()?;
            return Ok(merge::call_pages(request, pages));
        };
        views.sort_by_key(|(_, view)| {
            let range = view.range.unwrap_or_default();
            if request.ascending {
                range.min_created_ms
            } else {
                -range.max_created_ms
            }
        });
        let mut calls: Vec<CallSummary> = Vec::with_capacity(2 * (size + 1));
        for (slice, view) in &views {
            let range = view.range.unwrap_or_default();
            let (mut lo, mut hi) = (from, to);
            if let Some(last) = calls.get(size) {
                // Calls of the last one's millisecond may still come first by call id.
                let at = last.first_created_ms;
                if request.ascending {
                    if range.min_created_ms > at {
                        break;
                    }
                    hi = hi.min(at);
                } else {
                    if range.max_created_ms < at {
                        break;
                    }
                    lo = lo.max(at);
                }
            }
            calls.extend(slice.first_calls(view, request, lo, hi)?);
            calls.sort_by(|a, b| request.compare(a, b));
            calls.truncate(size + 1);
        }
        let next = if calls.len() > size {
            calls.pop().map(|first_of_next| CallCursor {
                created_ms: first_of_next.first_created_ms,
                call_id: first_of_next.call_id,
            })
        } else {
            None
        };
        Ok(CallPage { calls, next })
    }

    /// Every record of one call, oldest first (by time, then iteration, then kind).
    ///
    /// A call lives whole in one slice, so slices are looked at newest first (the calls
    /// asked about are mostly recent) with a term lookup, and only the slice that
    /// holds the call is read.
    pub fn call_records(&self, account_id: &str, call_id: &str) -> Result<Vec<DebugEvent>, IndexError> {
        let key = call_key(account_id, call_id);
        for slice in self.slices().into_iter().rev() {
            if !slice.holds(slice.fields().call_key, &key)? {
                continue;
            }
            // Held, but perhaps only by documents of partitions this view leaves out.
            let records = slice.call_records(account_id, call_id)?;
            if !records.is_empty() {
                return Ok(records);
            }
        }
        Ok(Vec::new())
    }

    /// The summary of one call, if the account has it.
    pub fn call_summary(&self, account_id: &str, call_id: &str) -> Result<Option<CallSummary>, IndexError> {
        Ok(self.call_slice(account_id, call_id)?.map(|(_, summary)| summary))
    }

    /// The slice holding a call, and its summary.
    pub(crate) fn call_slice(
        &self,
        account_id: &str,
        call_id: &str,
    ) -> Result<Option<(Slice, CallSummary)>, IndexError> {
        for slice in self.slices().into_iter().rev() {
            if let Some(summary) = slice.call_summary(account_id, call_id)? {
                return Ok(Some((slice, summary)));
            }
        }
        Ok(None)
    }

    /// [`PivotIndex::call_slice`] for a call with a record at `created_ms`, looking only
    /// in the slices of that day and the days around it: a call lasts less than a day,
    /// so its first record's slice is among them. The writer does this for every record.
    pub(crate) fn call_slice_near(
        &self,
        account_id: &str,
        call_id: &str,
        created_ms: i64,
    ) -> Result<Option<(Slice, CallSummary)>, IndexError> {
        const DAY_MS: i64 = 86_400_000;
        let near: Vec<String> = [created_ms, created_ms - DAY_MS, created_ms + DAY_MS]
            .into_iter()
            .map(crate::slice::slice_name)
            .collect();
        for slice in near.iter().filter_map(|name| self.existing_slice(name)) {
            if let Some(summary) = slice.call_summary(account_id, call_id)? {
                return Ok(Some((slice, summary)));
            }
        }
        Ok(None)
    }

    /// The ancestors of an account, as carried by its latest events (`None`: no data).
    pub fn account_ancestors(&self, account_id: &str) -> Result<Option<Vec<String>>, IndexError> {
        for slice in self.slices().into_iter().rev() {
            if let Some(ancestors) = slice.account_ancestors(account_id)? {
                return Ok(Some(ancestors));
            }
        }
        Ok(None)
    }

    /// Every record in the index (for tests and tooling; loads everything).
    pub fn all_records(&self) -> Result<Vec<DebugEvent>, IndexError> {
        let mut records = Vec::new();
        for slice in self.slices() {
            records.extend(slice.all_records()?);
        }
        Ok(records)
    }

    /// Number of record documents.
    pub fn count_records(&self) -> Result<usize, IndexError> {
        self.slices().iter().map(Slice::count_records).sum()
    }

    /// True when a record with this event id is committed and visible.
    pub fn has_event(&self, event_id: &str) -> Result<bool, IndexError> {
        for slice in self.slices() {
            if slice.has_event(event_id)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Parses a query against the index's schema.
    pub fn parse_query(&self, text: &str) -> Result<UserQuery, QueryError> {
        self.schema.parse_query(text)
    }

    /// One page of matches and the exact number of all matches.
    pub fn search(&self, request: &Search) -> Result<SearchPage, SearchError> {
        request.check()?;
        let query = self.parse_query(&request.query)?;
        let views = self.views_between(request.created_from_ms, request.created_to_ms);
        if let [(only, _)] = views.as_slice() {
            return only.search(request, &query);
        }
        crate::search::search_slices(request, &query, &views)
    }

    /// Counts of all matches by status code and by time bucket.
    pub fn search_stats(&self, request: &StatsRequest) -> Result<SearchStats, SearchError> {
        let (origin_ms, buckets) = request.buckets()?;
        let query = self.parse_query(&request.query)?;
        let parts = self
            .slices_between(request.created_from_ms, request.created_to_ms)?
            .iter()
            .map(|slice| slice.search_stats(request, &query))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(merge::search_stats(parts).unwrap_or_else(|| SearchStats {
            counts: crate::search::Counts {
                by_time: vec![0; buckets],
                ..Default::default()
            },
            origin_ms,
            interval_ms: request.interval_ms,
        }))
    }

    /// Every error signature among the matches, counted (no order, no page: the
    /// caller merges parts, orders and pages them; see [`crate::search::SignatureOrder`]).
    pub fn signature_groups(&self, request: &StatsRequest) -> Result<SignatureGroups, SearchError> {
        request.buckets()?;
        let query = self.parse_query(&request.query)?;
        let mut merged = GroupsPart::default();
        for slice in self.slices_between(request.created_from_ms, request.created_to_ms)? {
            merged.merge(slice.signature_groups(request, &query)?);
            merged.check()?;
        }
        Ok(merged.finish())
    }

    /// The histograms and newest records of some signatures.
    pub fn signature_details(
        &self,
        request: &SignatureDetailsRequest,
    ) -> Result<SignatureDetails, SearchError> {
        let query = self.parse_query(&request.scope.query)?;
        let parts = self
            .slices_between(request.scope.created_from_ms, request.scope.created_to_ms)?
            .iter()
            .map(|slice| slice.signature_details(request, &query))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(crate::search::merge_details(parts))
    }
}
