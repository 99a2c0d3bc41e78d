//! The reads the query service needs: a page of calls, and every record of a call.

use std::cmp::Ordering;
use std::ops::Bound;

use prost::Message;
use serde::{Deserialize, Serialize};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{AllQuery, BooleanQuery, InvertedIndexRangeQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use pivotlog_proto::{DebugEvent, RecordKind};

use crate::interrupt::{or_interrupted, Interruptible};
use crate::schema::{call_key, DOC_TYPE_RECORD};
use crate::slice::{Slice, Snapshot};
use crate::{CallSummary, Fields, IndexError};

/// How a listing reads its time range: whole, or a narrow window of it.
#[derive(Clone, Copy)]
enum Window {
    /// The range holds the slice whole: no time filter.
    All,
    Whole,
    Narrow,
}

/// Position of a call in the listing order: the first call of a page (inclusive).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallCursor {
    pub created_ms: i64,
    pub call_id: String,
}

/// A request for one page of an account's calls.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListCalls {
    pub account_id: String,
    /// Inclusive bounds on the call's first record, Unix ms.
    pub created_from_ms: i64,
    pub created_to_ms: i64,
    /// Oldest first instead of newest first.
    pub ascending: bool,
    /// `None`: every call in range, in one page.
    pub page_size: Option<usize>,
    pub start: Option<CallCursor>,
}

/// One page of calls, and where the next one starts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallPage {
    pub calls: Vec<CallSummary>,
    pub next: Option<CallCursor>,
}

impl ListCalls {
    /// Listing order: by first-record time, then by call id, so the order is total and
    /// a cursor names exactly one position even when calls share a millisecond.
    pub(crate) fn compare(&self, a: &CallSummary, b: &CallSummary) -> Ordering {
        let order = (a.first_created_ms, &a.call_id).cmp(&(b.first_created_ms, &b.call_id));
        if self.ascending {
            order
        } else {
            order.reverse()
        }
    }

    fn is_before_start(&self, call: &CallSummary) -> bool {
        let Some(start) = &self.start else { return false };
        let order = (call.first_created_ms, &call.call_id).cmp(&(start.created_ms, &start.call_id));
        if self.ascending {
            order == Ordering::Less
        } else {
            order == Ordering::Greater
        }
    }

    pub(crate) fn time_bounds(&self) -> (i64, i64) {
        let (mut from, mut to) = (self.created_from_ms, self.created_to_ms);
        if let Some(start) = &self.start {
            if self.ascending {
                from = from.max(start.created_ms);
            } else {
                to = to.min(start.created_ms);
            }
        }
        (from, to)
    }
}

impl Slice {
    /// The request's first `page_size + 1` calls (all with no page size) whose first
    /// record is between `from` and `to` (inclusive), in listing order.
    ///
    /// A page is read from a window at the listing's start of the range: a window
    /// holding `page_size + 1` calls holds the first ones of the whole range, since
    /// every call outside it comes later in listing order. The window is guessed from
    /// the account's density in this slice and widened fourfold until it is full, so a
    /// page costs about the same for an account with a thousand calls as for one with
    /// a million, instead of a top-k over every call of the account.
    pub(crate) fn first_calls(
        &self,
        view: &Snapshot,
        request: &ListCalls,
        from: i64,
        to: i64,
    ) -> Result<Vec<CallSummary>, IndexError> {
        let searcher = &view.searcher;
        if from > to {
            return Ok(Vec::new());
        }
        // A range holding the slice whole needs no time filter at all.
        let whole = if view.range.is_some_and(|range| range.within(from, to)) {
            Window::All
        } else {
            Window::Whole
        };
        let (Some(size), Some(range)) = (request.page_size, view.range) else {
            return self.calls_between(searcher, request, from, to, whole);
        };
        let wanted = size + 1;
        // Summaries of the account, counting deleted ones (an upsert leaves one until
        // its segment merges): an estimate, and exactly 0 when it has none here.
        let summaries = searcher.doc_freq(&Term::from_field_text(
            self.fields().calls_of,
            &request.account_id,
        ))?;
        if summaries == 0 {
            return Ok(Vec::new());
        }
        let (lo, hi) = (from.max(range.min_created_ms), to.min(range.max_created_ms));
        if lo > hi {
            return Ok(Vec::new());
        }
        let span = (hi - lo).saturating_add(1) as f64;
        let spread = range
            .max_created_ms
            .saturating_sub(range.min_created_ms)
            .saturating_add(1) as f64;
        // Documents (of every account, records too) per ms: what a window costs.
        let docs_per_ms = searcher.num_docs() as f64 / spread;
        // Twice the page at the account's average density: one window most times.
        let mut width = (spread * 2.0 * wanted as f64 / summaries as f64).ceil().max(1.0);
        loop {
            // A window reads every document in it; the whole range, only the account's
            // summaries. A window over a quarter of the range, or holding more than a
            // quarter as many documents as the account has summaries, costs more.
            if width * 4.0 >= span || width * docs_per_ms * 4.0 >= summaries as f64 {
                return self.calls_between(searcher, request, lo, hi, whole);
            }
            let (w_lo, w_hi) = if request.ascending {
                (lo, lo + width as i64)
            } else {
                (hi - width as i64, hi)
            };
            let calls = self.calls_between(searcher, request, w_lo, w_hi, Window::Narrow)?;
            if calls.len() >= wanted {
                return Ok(calls);
            }
            width *= 4.0;
        }
    }

    /// The first `page_size + 1` calls (all with no page size) of the account between
    /// `from` and `to`, in listing order, as `searcher` sees them.
    fn calls_between(
        &self,
        searcher: &Searcher,
        request: &ListCalls,
        from: i64,
        to: i64,
        window: Window,
    ) -> Result<Vec<CallSummary>, IndexError> {
        let fields = self.fields();
        let created: Box<dyn Query> = match window {
            Window::All => Box::new(AllQuery),
            Window::Whole => created_between(fields, from, to),
            // A narrow window reads the few `created` terms it spans from the inverted
            // index, then only their documents; the fast-field range (tantivy's choice
            // for a fast field) would test every summary of the account.
            Window::Narrow => Box::new(InvertedIndexRangeQuery::new(
                Bound::Included(Term::from_field_i64(fields.created, from)),
                Bound::Included(Term::from_field_i64(fields.created, to)),
            )),
        };
        let query = self.restrict(Box::new(BooleanQuery::new(vec![
            (Occur::Must, term_query(fields.calls_of, &request.account_id)),
            (Occur::Must, created),
        ])));
        let order = if request.ascending {
            Order::Asc
        } else {
            Order::Desc
        };
        let wanted = request.page_size.map(|size| size + 1);
        // Calls sharing the cursor's millisecond but already shown are fetched and
        // dropped, so widen the fetch until the page is full or the range is exhausted.
        let mut limit = wanted
            .unwrap_or(usize::MAX)
            .min(searcher.num_docs() as usize)
            .max(1);
        let mut calls = loop {
            let top = TopDocs::with_limit(limit).order_by_fast_field::<i64>("created", order);
            let hits = searcher
                .search(&query, &Interruptible(top))
                .map_err(or_interrupted)?;
            let exhausted = hits.len() < limit;
            // Hits tied with the last one may have lost to equal-time calls that were
            // cut off; only the hits strictly before that time are known to be complete.
            let boundary = if exhausted {
                None
            } else {
                hits.last().and_then(|(created, _)| *created)
            };
            let mut calls = hits
                .into_iter()
                .filter(|(created, _)| boundary.is_none() || *created != boundary)
                .map(|(_, address)| load_summary(searcher, fields, address))
                .collect::<Result<Vec<_>, _>>()?;
            calls.retain(|call| !request.is_before_start(call));
            if exhausted || wanted.is_some_and(|wanted| calls.len() >= wanted) {
                break calls;
            }
            limit = limit.saturating_mul(2);
        };
        calls.sort_by(|a, b| request.compare(a, b));
        if let Some(wanted) = wanted {
            calls.truncate(wanted);
        }
        Ok(calls)
    }

    /// Every record of one call, oldest first (by time, then iteration, then kind).
    pub fn call_records(&self, account_id: &str, call_id: &str) -> Result<Vec<DebugEvent>, IndexError> {
        let fields = self.fields();
        let searcher = self.searcher();
        let query = self.restrict(term_query(fields.call_key, &call_key(account_id, call_id)));
        let mut events = searcher
            .search(&query, &DocSetCollector)?
            .into_iter()
            .map(|address| load_event(&searcher, fields, address))
            .collect::<Result<Vec<_>, _>>()?;
        events.sort_by(|a, b| chronological_key(a).cmp(&chronological_key(b)));
        Ok(events)
    }

    /// The summary of one call, if the account has it.
    pub fn call_summary(&self, account_id: &str, call_id: &str) -> Result<Option<CallSummary>, IndexError> {
        let fields = self.fields();
        let searcher = self.searcher();
        let query = self.restrict(term_query(fields.summary_key, &call_key(account_id, call_id)));
        match searcher
            .search(&query, &TopDocs::with_limit(1).order_by_score())?
            .pop()
        {
            Some((_, address)) => load_summary(&searcher, fields, address).map(Some),
            None => Ok(None),
        }
    }

    /// Time of a call's first record, read from its summary's fast field (no stored
    /// document is loaded).
    pub fn call_first_created_ms(&self, account_id: &str, call_id: &str) -> Result<Option<i64>, IndexError> {
        let searcher = self.searcher();
        let query = self.restrict(term_query(
            self.fields().summary_key,
            &call_key(account_id, call_id),
        ));
        let Some(address) = searcher.search(&query, &DocSetCollector)?.into_iter().next() else {
            return Ok(None);
        };
        let created = searcher
            .segment_reader(address.segment_ord)
            .fast_fields()
            .i64("created")?
            .first(address.doc_id);
        Ok(created)
    }

    /// The ancestors of an account, as carried by its events (`None`: no data yet).
    pub fn account_ancestors(&self, account_id: &str) -> Result<Option<Vec<String>>, IndexError> {
        let fields = self.fields();
        let searcher = self.searcher();
        let query = self.restrict(term_query(fields.calls_of, account_id));
        let latest = TopDocs::with_limit(1).order_by_fast_field::<i64>("created", Order::Desc);
        match searcher.search(&query, &latest)?.pop() {
            Some((_, address)) => Ok(Some(load_summary(&searcher, fields, address)?.ancestor_ids)),
            None => Ok(None),
        }
    }

    /// Every record in the index (for tests and tooling; loads everything).
    pub fn all_records(&self) -> Result<Vec<DebugEvent>, IndexError> {
        let fields = self.fields();
        let searcher = self.searcher();
        let query = self.restrict(term_query(fields.doc_type, DOC_TYPE_RECORD));
        searcher
            .search(&query, &DocSetCollector)?
            .into_iter()
            .map(|address| load_event(&searcher, fields, address))
            .collect()
    }

    /// True when a record with this event id is committed and visible. Record
    /// documents are never deleted, so a raw document frequency suffices.
    pub fn has_event(&self, event_id: &str) -> Result<bool, IndexError> {
        let term = Term::from_field_text(self.fields().event_id, event_id);
        Ok(self.searcher().doc_freq(&term)? > 0)
    }

    /// Number of record documents.
    pub fn count_records(&self) -> Result<usize, IndexError> {
        let query = self.restrict(term_query(self.fields().doc_type, DOC_TYPE_RECORD));
        Ok(self.searcher().search(&query, &tantivy::collector::Count)?)
    }
}

pub(crate) fn chronological_key(event: &DebugEvent) -> (i64, u32, u8, &str) {
    let kind_rank = event.kind().map_or(u8::MAX, |kind| {
        RecordKind::ALL.iter().position(|k| *k == kind).unwrap_or(0) as u8
    });
    (event.created_unix_ms, event.iteration, kind_rank, &event.event_id)
}

pub(crate) fn term_query(field: tantivy::schema::Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::Basic,
    ))
}

pub(crate) fn created_between(fields: &Fields, from_ms: i64, to_ms: i64) -> Box<dyn Query> {
    Box::new(RangeQuery::new(
        Bound::Included(Term::from_field_i64(fields.created, from_ms)),
        Bound::Included(Term::from_field_i64(fields.created, to_ms)),
    ))
}

fn payload<'a>(doc: &'a TantivyDocument, fields: &Fields) -> Result<&'a [u8], IndexError> {
    doc.get_first(fields.payload)
        .and_then(|value| value.as_bytes())
        .ok_or_else(|| IndexError::CorruptDocument("document without payload".into()))
}

pub(crate) fn load_event(
    searcher: &Searcher,
    fields: &Fields,
    address: DocAddress,
) -> Result<DebugEvent, IndexError> {
    let doc: TantivyDocument = searcher.doc(address)?;
    decode_event(&doc, fields)
}

pub(crate) fn decode_event(doc: &TantivyDocument, fields: &Fields) -> Result<DebugEvent, IndexError> {
    DebugEvent::decode(payload(doc, fields)?).map_err(|err| IndexError::CorruptDocument(err.to_string()))
}

fn load_summary(
    searcher: &Searcher,
    fields: &Fields,
    address: DocAddress,
) -> Result<CallSummary, IndexError> {
    let doc: TantivyDocument = searcher.doc(address)?;
    summary_from_doc(fields, &doc)
}

fn summary_from_doc(fields: &Fields, doc: &TantivyDocument) -> Result<CallSummary, IndexError> {
    serde_json::from_slice(payload(doc, fields)?).map_err(|err| IndexError::CorruptDocument(err.to_string()))
}
