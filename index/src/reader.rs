//! The reads the query service needs: a page of calls, and every record of a call.

use std::cmp::Ordering;
use std::ops::Bound;

use prost::Message;
use serde::{Deserialize, Serialize};
use tantivy::collector::{DocSetCollector, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use pivotlog_proto::{DebugEvent, RecordKind};

use crate::interrupt::{or_interrupted, Interruptible};
use crate::schema::{call_key, DOC_TYPE_RECORD};
use crate::slice::Slice;
use crate::{CallSummary, Fields, IndexError};

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
    /// A page of the account's calls, in listing order.
    pub fn list_calls(&self, request: &ListCalls) -> Result<CallPage, IndexError> {
        let fields = self.fields();
        let searcher = self.searcher();
        let (from, to) = request.time_bounds();
        if from > to {
            return Ok(CallPage {
                calls: Vec::new(),
                next: None,
            });
        }
        let query = self.restrict(Box::new(BooleanQuery::new(vec![
            (Occur::Must, term_query(fields.calls_of, &request.account_id)),
            (Occur::Must, created_between(fields, from, to)),
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
        let calls = loop {
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
                .map(|(_, address)| load_summary(&searcher, fields, address))
                .collect::<Result<Vec<_>, _>>()?;
            calls.retain(|call| !request.is_before_start(call));
            if exhausted || wanted.is_some_and(|wanted| calls.len() >= wanted) {
                break calls;
            }
            limit = limit.saturating_mul(2);
        };
        let mut calls = calls;
        calls.sort_by(|a, b| request.compare(a, b));
        let next = match request.page_size {
            Some(size) if calls.len() > size => {
                let first_of_next = calls.split_off(size).swap_remove(0);
                Some(CallCursor {
                    created_ms: first_of_next.first_created_ms,
                    call_id: first_of_next.call_id,
                })
            }
            _ => None,
        };
        Ok(CallPage { calls, next })
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
