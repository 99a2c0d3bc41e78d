//! Free-text search over record documents, and stats over the same matches.
//!
//! A search is the user's [`UserQuery`] AND the record filter AND the account AND the
//! time range; the last three are added here, outside the user's text. Hits come newest
//! first (a stable time cursor pages through them while records keep arriving) or by
//! relevance (offset paging within [`MAX_RESULT_WINDOW`]).

mod collect;
mod language;
mod signatures;
mod slices;

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query};
use tantivy::schema::Value;
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Searcher, TantivyDocument};

use pivotlog_proto::{DebugEvent, Record};

use crate::interrupt::{or_interrupted, Interruptible};
use crate::reader::{created_between, decode_event, term_query};
use crate::schema::{indexed_prefix, DOC_TYPE_RECORD, MAX_INDEXED_TEXT_BYTES};
use crate::slice::{Slice, SliceRange, Snapshot};
use crate::IndexError;

pub use collect::Counts;
pub use language::{
    QueryError, UserQuery, MAX_QUERY_BYTES, MAX_QUERY_CLAUSES, MAX_QUERY_DEPTH, SEARCHABLE_FIELDS,
};
pub(crate) use signatures::GroupsPart;
pub use signatures::{
    merge_details, merge_groups, order_groups, signature_of, signed, SignatureDetail, SignatureDetails,
    SignatureDetailsRequest, SignatureGroup, SignatureGroups, SignatureOrder, SignatureSample,
    MAX_SIGNATURES,
};
pub(crate) use slices::search as search_slices;

/// Deepest hit a relevance-ordered search reaches (offset + page size), as
/// Elasticsearch's `max_result_window`: deeper pages cost ever more. Time-ordered
/// searches page by cursor and have no such bound.
pub const MAX_RESULT_WINDOW: usize = 10_000;
/// Most buckets in one time histogram.
pub const MAX_HISTOGRAM_BUCKETS: usize = 1_000;
/// Longest snippet, in characters.
pub const MAX_SNIPPET_CHARS: usize = 1_000;

/// Order of hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SearchOrder {
    Newest,
    Oldest,
    Relevance,
}

/// Where a page starts: the first hit of the page (time orders) or an offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SearchCursor {
    #[serde(rename = "t")]
    Time(i64, u64),
    #[serde(rename = "o")]
    Offset(usize),
}

/// How snippets are cut and marked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnippetOptions {
    /// Characters of body around the matches; 0 turns snippets off.
    pub max_chars: usize,
    pub pre_tag: String,
    pub post_tag: String,
}

impl Default for SnippetOptions {
    fn default() -> Self {
        SnippetOptions {
            max_chars: 150,
            pre_tag: "<em>".into(),
            post_tag: "</em>".into(),
        }
    }
}

/// What to search: the user's query text and the scope the server imposes around it.
/// The same value is read locally and sent to shards; each index parses the text
/// against its own schema ([`PivotIndex::parse_query`](crate::PivotIndex::parse_query)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Search {
    pub account_id: String,
    /// The query language's text ([`UserQuery`]).
    pub query: String,
    /// Inclusive bounds on the record's time, Unix ms.
    pub created_from_ms: i64,
    pub created_to_ms: i64,
    pub order: SearchOrder,
    pub page_size: usize,
    pub start: Option<SearchCursor>,
    pub snippet: SnippetOptions,
}

/// One page of hits.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchPage {
    /// Every match in scope, not only this page's.
    pub total: u64,
    pub hits: Vec<SearchHit>,
    pub next: Option<SearchCursor>,
}

/// A matching record.
#[derive(Debug, Serialize, Deserialize)]
pub struct SearchHit {
    #[serde(with = "crate::wire::event")]
    pub event: DebugEvent,
    /// The request URI and method (response records carry their request's).
    pub uri: Option<String>,
    pub method: Option<String>,
    /// Time of the call's first record, which names the call's `debug_id`.
    pub call_first_created_ms: i64,
    pub score: Option<f32>,
    /// HTML-escaped fragment of the body (request body for requests), matches wrapped
    /// in the snippet tags; the start of the body when no word of it matched.
    pub snippet: Option<String>,
    /// Size of that body; only its first [`MAX_INDEXED_TEXT_BYTES`] are searchable.
    pub body_bytes: usize,
    /// The record's error signature as indexed (what `signature:ID` finds); `None` for
    /// requests. Read from its fast field: templating the body again would cost more
    /// than the rest of the hit.
    #[serde(default)]
    pub signature: Option<u64>,
}

impl SearchHit {
    /// True when part of the body was not indexed (and cannot match).
    pub fn body_truncated(&self) -> bool {
        self.body_bytes > MAX_INDEXED_TEXT_BYTES
    }
}

/// What counts to compute over a query's matches (the query as in [`Search`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsRequest {
    pub account_id: String,
    pub query: String,
    pub created_from_ms: i64,
    pub created_to_ms: i64,
    /// Width of a histogram bucket; buckets are aligned to the Unix epoch (UTC).
    pub interval_ms: i64,
}

/// Counts of a query's matches; both breakdowns add up to `total`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchStats {
    pub counts: Counts,
    /// Start of the first bucket, Unix ms.
    pub origin_ms: i64,
    pub interval_ms: i64,
}

/// Why a search cannot run.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("{0}")]
    Query(#[from] QueryError),
    #[error(
        "page_size and the start key reach past hit {MAX_RESULT_WINDOW}; narrow the query or sort by time"
    )]
    ResultWindow,
    #[error("{buckets} buckets exceed the limit of {MAX_HISTOGRAM_BUCKETS}: widen the interval or narrow the time range")]
    TooManyBuckets { buckets: u64 },
    #[error("the interval must be positive")]
    BadInterval,
    #[error("more than {MAX_SIGNATURES} distinct signatures match: narrow the time range or the query")]
    TooManySignatures,
    #[error(transparent)]
    Index(#[from] IndexError),
}

impl From<tantivy::TantivyError> for SearchError {
    fn from(err: tantivy::TantivyError) -> SearchError {
        SearchError::Index(err.into())
    }
}

impl Search {
    /// Refuses a page no index would serve (past [`MAX_RESULT_WINDOW`], or a cursor of
    /// the other kind of order), before any work is done.
    pub fn check(&self) -> Result<(), SearchError> {
        match (self.order, &self.start) {
            (SearchOrder::Relevance, Some(SearchCursor::Time(..))) => Err(SearchError::ResultWindow),
            (SearchOrder::Newest | SearchOrder::Oldest, Some(SearchCursor::Offset(_))) => {
                Err(SearchError::ResultWindow)
            }
            (SearchOrder::Relevance, start) => {
                let offset = match start {
                    Some(SearchCursor::Offset(offset)) => *offset,
                    _ => 0,
                };
                if offset.saturating_add(self.page_size) > MAX_RESULT_WINDOW {
                    return Err(SearchError::ResultWindow);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl StatsRequest {
    /// Start of the first histogram bucket and the number of buckets, or why the
    /// histogram cannot be built.
    pub fn buckets(&self) -> Result<(i64, usize), SearchError> {
        if self.interval_ms <= 0 {
            return Err(SearchError::BadInterval);
        }
        let origin_ms = self.created_from_ms.div_euclid(self.interval_ms) * self.interval_ms;
        let buckets = (self.created_to_ms - origin_ms).div_euclid(self.interval_ms) + 1;
        if buckets > MAX_HISTOGRAM_BUCKETS as i64 {
            return Err(SearchError::TooManyBuckets {
                buckets: buckets as u64,
            });
        }
        Ok((origin_ms, buckets.max(1) as usize))
    }
}

impl UserQuery {
    /// This query restricted to one account's records in a time range (and to the
    /// index view's partitions).
    ///
    /// `range` is the slice's range as of the searcher the query runs on: when it lies
    /// inside the time range, the time filter matches every record and is left out,
    /// which saves a fast-field range per segment (a month's window holds most slices
    /// whole).
    pub(crate) fn scoped(
        &self,
        index: &Slice,
        range: Option<SliceRange>,
        account_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Box<dyn Query> {
        let fields = index.fields();
        let mut clauses = vec![
            (Occur::Must, self.query.box_clone()),
            (Occur::Must, term_query(fields.doc_type, DOC_TYPE_RECORD)),
            (Occur::Must, term_query(fields.account_id, account_id)),
        ];
        if !range.is_some_and(|range| range.within(from_ms, to_ms)) {
            clauses.push((Occur::Must, created_between(fields, from_ms, to_ms)));
        }
        index.restrict(Box::new(BooleanQuery::new(clauses)))
    }
}

impl Slice {
    /// Parses a query against this index's schema.
    pub fn parse_query(&self, text: &str) -> Result<UserQuery, QueryError> {
        UserQuery::parse(self, text)
    }

    /// One page of matches of `query` (`request.query` parsed) and the exact number
    /// of all matches.
    pub(crate) fn search(&self, request: &Search, query: &UserQuery) -> Result<SearchPage, SearchError> {
        request.check()?;
        let (searcher, scoped) = self.scoped_now(
            query,
            &request.account_id,
            request.created_from_ms,
            request.created_to_ms,
        );
        let wanted = request.page_size + 1;
        let (total, mut found): (u64, Vec<(Option<f32>, DocAddress)>) = match request.order {
            SearchOrder::Relevance => {
                let offset = match request.start {
                    Some(SearchCursor::Offset(offset)) => offset,
                    _ => 0,
                };
                let top = TopDocs::with_limit(wanted).and_offset(offset).order_by_score();
                let (total, hits) = searcher
                    .search(scoped.as_ref(), &Interruptible((Count, top)))
                    .map_err(or_interrupted)?;
                let hits = hits.into_iter().map(|(score, address)| (Some(score), address));
                (total as u64, hits.collect())
            }
            SearchOrder::Newest | SearchOrder::Oldest => {
                let start = match request.start {
                    Some(SearchCursor::Time(created, order)) => Some((created, order)),
                    _ => None,
                };
                let collector = collect::TimeOrdered {
                    limit: wanted,
                    ascending: request.order == SearchOrder::Oldest,
                    start,
                };
                let (total, hits) = searcher
                    .search(scoped.as_ref(), &Interruptible(collector))
                    .map_err(or_interrupted)?;
                (
                    total,
                    hits.into_iter().map(|(_, address)| (None, address)).collect(),
                )
            }
        };
        let next = if found.len() > request.page_size {
            let (_, first_of_next) = found.pop().expect("longer than the page");
            Some(match (request.order, request.start.clone()) {
                (SearchOrder::Relevance, start) => {
                    let offset = match start {
                        Some(SearchCursor::Offset(offset)) => offset,
                        _ => 0,
                    };
                    SearchCursor::Offset(offset + request.page_size)
                }
                _ => {
                    let key = self.time_key(&searcher, first_of_next)?;
                    SearchCursor::Time(key.0, key.1)
                }
            })
        } else {
            None
        };
        let hits = self.hits(&searcher, &found, query, &request.snippet)?;
        Ok(SearchPage { total, hits, next })
    }

    /// The hits of the documents `found` in `searcher`, in that order: stored records
    /// loaded, snippets cut. This is most of a page's cost, so it is done only for the
    /// hits a page returns.
    pub(crate) fn hits(
        &self,
        searcher: &Searcher,
        found: &[(Option<f32>, DocAddress)],
        query: &UserQuery,
        options: &SnippetOptions,
    ) -> Result<Vec<SearchHit>, SearchError> {
        if found.is_empty() {
            return Ok(Vec::new());
        }
        let snippets = Snippets::new(self, searcher, query, options)?;
        let mut first_created = HashMap::new();
        found
            .iter()
            .map(|&(score, address)| self.hit(searcher, address, score, &snippets, &mut first_created))
            .collect()
    }

    /// Counts of all matches of `query` (`request.query` parsed) by status code and
    /// by time bucket.
    pub(crate) fn search_stats(
        &self,
        request: &StatsRequest,
        query: &UserQuery,
    ) -> Result<SearchStats, SearchError> {
        let (origin_ms, buckets) = request.buckets()?;
        let (searcher, scoped) = self.scoped_stats(request, query);
        let collector = collect::CountByStatusAndTime {
            origin_ms,
            interval_ms: request.interval_ms,
            buckets,
        };
        let counts = searcher
            .search(scoped.as_ref(), &Interruptible(collector))
            .map_err(or_interrupted)?;
        Ok(SearchStats {
            counts,
            origin_ms,
            interval_ms: request.interval_ms,
        })
    }

    /// A searcher of this slice now, and `query` scoped to `request`'s account and window.
    pub(crate) fn scoped_stats(
        &self,
        request: &StatsRequest,
        query: &UserQuery,
    ) -> (Searcher, Box<dyn Query>) {
        self.scoped_now(
            query,
            &request.account_id,
            request.created_from_ms,
            request.created_to_ms,
        )
    }

    /// A searcher of this slice now, and `query` scoped to an account and window as of
    /// that searcher's range.
    fn scoped_now(
        &self,
        query: &UserQuery,
        account_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> (Searcher, Box<dyn Query>) {
        let Snapshot { searcher, range } = self.snapshot();
        let scoped = query.scoped(self, range, account_id, from_ms, to_ms);
        (searcher, scoped)
    }

    fn time_key(&self, searcher: &Searcher, address: DocAddress) -> Result<collect::TimeKey, SearchError> {
        let segment = searcher.segment_reader(address.segment_ord);
        let created = segment.fast_fields().i64("created")?.first(address.doc_id);
        let order = segment.fast_fields().u64("event_order")?.first(address.doc_id);
        Ok((created.unwrap_or_default(), order.unwrap_or_default()))
    }

    fn hit(
        &self,
        searcher: &Searcher,
        address: DocAddress,
        score: Option<f32>,
        snippets: &Snippets,
        first_created: &mut HashMap<String, i64>,
    ) -> Result<SearchHit, SearchError> {
        let fields = self.fields();
        let doc: TantivyDocument = searcher.doc(address)?;
        let event = decode_event(&doc, fields)?;
        let text = |field| {
            doc.get_first(field)
                .and_then(|value| value.as_str())
                .map(str::to_owned)
        };
        let (uri, method) = (text(fields.uri), text(fields.method));
        let call_first_created_ms = match first_created.get(&event.call_id) {
            Some(created) => *created,
            None => {
                let created = self
                    .call_first_created_ms(&event.account_id, &event.call_id)?
                    .unwrap_or(event.created_unix_ms);
                first_created.insert(event.call_id.clone(), created);
                created
            }
        };
        let body = match &event.record {
            Some(Record::Request(request)) => Some((&request.body, true)),
            Some(Record::Response(response)) => Some((&response.body, false)),
            Some(Record::JsonError(error)) => Some((&error.body, false)),
            Some(Record::SchemaError(error)) => Some((&error.body, false)),
            None => None,
        };
        let body_bytes = body.map_or(0, |(body, _)| body.len());
        let snippet = body.and_then(|(body, is_request)| snippets.of(body, is_request));
        // Not every segment need have the column (a segment of requests has no values).
        let signature = searcher
            .segment_reader(address.segment_ord)
            .fast_fields()
            .column_opt::<u64>("signature")?
            .and_then(|column| column.first(address.doc_id));
        Ok(SearchHit {
            event,
            uri,
            method,
            call_first_created_ms,
            score,
            snippet,
            body_bytes,
            signature,
        })
    }
}

/// Snippet generators for the two body fields a hit can show.
struct Snippets<'a> {
    options: &'a SnippetOptions,
    body: FieldSnippets,
    request_body: FieldSnippets,
}

/// A field's generator and the query's terms in it (lower-case, as indexed).
struct FieldSnippets {
    generator: SnippetGenerator,
    terms: Vec<String>,
}

impl<'a> Snippets<'a> {
    fn new(
        index: &Slice,
        searcher: &Searcher,
        query: &UserQuery,
        options: &'a SnippetOptions,
    ) -> Result<Snippets<'a>, SearchError> {
        let fields = index.fields();
        let field_snippets = |field| -> Result<FieldSnippets, SearchError> {
            let mut generator = SnippetGenerator::create(searcher, query.query.as_ref(), field)?;
            generator.set_max_num_chars(options.max_chars.max(1));
            let mut terms = Vec::new();
            query.query.query_terms(&mut |term, _| {
                if term.field() == field {
                    if let Some(text) = term.value().as_str() {
                        terms.push(text.to_owned());
                    }
                }
            });
            Ok(FieldSnippets { generator, terms })
        };
        Ok(Snippets {
            options,
            body: field_snippets(fields.body)?,
            request_body: field_snippets(fields.request_body)?,
        })
    }

    fn of(&self, body: &str, is_request: bool) -> Option<String> {
        if self.options.max_chars == 0 || body.is_empty() {
            return None;
        }
        let field = if is_request {
            &self.request_body
        } else {
            &self.body
        };
        // Only the indexed prefix can hold a match; it also bounds the work on huge bodies.
        let text = indexed_prefix(body);
        let window = self.window(text, &field.terms);
        let mut snippet = field.generator.snippet(window);
        if snippet.is_empty() && window.len() < text.len() {
            // The term was found inside a longer word: look at the whole text.
            snippet = field.generator.snippet(text);
        }
        if snippet.is_empty() {
            let head: String = text.chars().take(self.options.max_chars).collect();
            return Some(escape_html(&head));
        }
        snippet.set_snippet_prefix_postfix(&self.options.pre_tag, &self.options.post_tag);
        Some(snippet.to_html())
    }

    /// Tokenizing a whole body for each hit is most of a search's cost (profiled:
    /// benches/README.md), so a long body is cut to a window around the first place
    /// where a query term occurs; the snippet shows that first match.
    fn window<'t>(&self, text: &'t str, terms: &[String]) -> &'t str {
        let reach = self.options.max_chars;
        if terms.is_empty() || text.len() <= 4 * reach || !text.is_ascii() {
            return text;
        }
        let lower = text.to_ascii_lowercase();
        let Some(first) = terms.iter().filter_map(|term| lower.find(term.as_str())).min() else {
            return text;
        };
        let start = first.saturating_sub(reach);
        let end = (first + 2 * reach).min(text.len());
        &text[start..end]
    }
}

fn escape_html(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#x27;"),
            _ => escaped.push(c),
        }
    }
    escaped
}
