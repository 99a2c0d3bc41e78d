//! The tantivy schema. Every choice here trades index size and ingest speed against
//! what the API must answer (README, "The index").

use tantivy::schema::{
    Field, IndexRecordOption, NumericOptions, Schema, TextFieldIndexing, TextOptions, STORED, STRING,
};
use tantivy::tokenizer::{LowerCaser, RawTokenizer, TextAnalyzer};
use tantivy::Index;

/// Version of the document layout. An index written with another format is refused
/// (rebuild it by replaying Kafka) instead of being misread.
pub const INDEX_FORMAT: u32 = 7;

/// Only this much of each text is indexed, so a 10 MB body costs what a 256 KiB one
/// does. The stored record keeps the whole body.
pub const MAX_INDEXED_TEXT_BYTES: usize = 256 * 1024;

pub const DOC_TYPE_RECORD: &str = "record";
pub const DOC_TYPE_CALL: &str = "call";

/// Tokenizer of bodies, URIs and headers: split on every non-alphanumeric character
/// (Unicode), lower-case, drop tokens over 40 bytes (tantivy's `default`). Dotted
/// names, `IP:port` pairs, paths and `"key":"value"` pairs become runs of adjacent
/// tokens: each part is found alone, and the whole is found as a phrase, which the
/// query parser builds on its own from a query term that holds punctuation
/// (`psycopg2.OperationalError` → `"psycopg2 operationalerror"`). README, "Search".
pub const TEXT_TOKENIZER: &str = "default";
/// Tokenizer of small enumerations (`method`, `kind`): the whole value, lower-cased.
pub const KEYWORD_TOKENIZER: &str = "keyword";

/// Handles to every field of the schema.
#[derive(Debug, Clone, Copy)]
pub struct Fields {
    /// `record` or `call`.
    pub doc_type: Field,
    /// Record documents: the event id (deduplication key).
    pub event_id: Field,
    /// Record documents: `account_id/call_id`, the key of a call's records.
    pub call_key: Field,
    /// Call documents: `account_id/call_id`, the upsert key of the summary.
    pub summary_key: Field,
    pub account_id: Field,
    /// Call documents: the account id again, so listing a big account's calls reads one
    /// short posting list instead of intersecting the account's records with all calls
    /// (profiled: benches/README.md).
    pub calls_of: Field,
    /// Every ancestor account id (call documents), for descendant access checks.
    pub ancestor_id: Field,
    pub call_id: Field,
    pub iteration: Field,
    /// `request`, `response`, `json_error` or `schema_error`.
    pub kind: Field,
    /// Unix milliseconds. Call documents: the call's first record.
    pub created: Field,
    pub status_code: Field,
    pub method: Field,
    /// Request records, and response records (copied from their iteration's request).
    pub uri: Field,
    pub request_body: Field,
    /// Response body, and the body of json/schema error records.
    pub body: Field,
    /// Response headers as `name: value` lines.
    pub response_headers: Field,
    /// Record documents: a hash of the event id, so records of the same millisecond
    /// still have a total order for search cursors.
    pub event_order: Field,
    /// Response and error records: their [`signature`](crate::signature) id, so
    /// `signature:ID` finds them and signatures are counted from a fast field.
    pub signature: Field,
    /// Record documents: a hash of the call key, to count distinct calls from a fast
    /// field.
    pub call_hash: Field,
    /// The Kafka partition the document came from (call documents: their call's), so
    /// one shard can answer for exactly the partitions the query tier gives it, and
    /// drop the ones it no longer owns.
    pub partition: Field,
    /// Record documents read from Kafka: where, as [`position`] (partition and offset),
    /// so a live tail finds the records committed after a position.
    pub position: Field,
    /// Record documents: the protobuf event. Call documents: the JSON summary.
    pub payload: Field,
}

pub(crate) fn build() -> (Schema, Fields) {
    build_with(true)
}

/// The schema with `status_code` not fast: handed to tantivy when building an unscored
/// query's weights, so that ranges on status codes run on their postings (see
/// `search::language::StatusRangesByPostings`). Fixed by the index format, so one copy
/// serves every slice.
pub(crate) fn status_by_postings() -> &'static Schema {
    static SCHEMA: std::sync::OnceLock<Schema> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| build_with(false).0)
}

fn build_with(fast_status: bool) -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TEXT_TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let keyword = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(KEYWORD_TOKENIZER)
            .set_index_option(IndexRecordOption::Basic),
    );
    let number = NumericOptions::default().set_indexed().set_fast();
    let fields = Fields {
        doc_type: builder.add_text_field("doc_type", STRING),
        event_id: builder.add_text_field("event_id", STRING),
        call_key: builder.add_text_field("call_key", STRING),
        summary_key: builder.add_text_field("summary_key", STRING),
        account_id: builder.add_text_field("account_id", STRING),
        calls_of: builder.add_text_field("calls_of", STRING),
        ancestor_id: builder.add_text_field("ancestor_id", STRING),
        call_id: builder.add_text_field("call_id", STRING),
        iteration: builder.add_u64_field("iteration", number.clone()),
        kind: builder.add_text_field("kind", keyword.clone()),
        created: builder.add_i64_field("created", number.clone()),
        status_code: builder.add_u64_field(
            "status_code",
            if fast_status {
                number.clone()
            } else {
                NumericOptions::default().set_indexed()
            },
        ),
        // Stored: a response's hit shows the URI and method copied from its request.
        method: builder.add_text_field("method", keyword.set_stored()),
        uri: builder.add_text_field("uri", text.clone().set_stored()),
        request_body: builder.add_text_field("request_body", text.clone()),
        body: builder.add_text_field("body", text.clone()),
        response_headers: builder.add_text_field("response_headers", text),
        event_order: builder.add_u64_field("event_order", NumericOptions::default().set_fast()),
        signature: builder.add_u64_field("signature", number.clone()),
        call_hash: builder.add_u64_field("call_hash", NumericOptions::default().set_fast()),
        partition: builder.add_u64_field("partition", number.clone()),
        position: builder.add_u64_field("position", number),
        payload: builder.add_bytes_field("payload", STORED),
    };
    (builder.build(), fields)
}

pub(crate) fn register_tokenizers(index: &Index) {
    let keyword = TextAnalyzer::builder(RawTokenizer::default())
        .filter(LowerCaser)
        .build();
    index.tokenizers().register(KEYWORD_TOKENIZER, keyword);
}

/// `account_id/call_id`: account ids are 32 hex characters, so the first `/` splits.
pub(crate) fn call_key(account_id: &str, call_id: &str) -> String {
    format!("{account_id}/{call_id}")
}

/// FNV-1a of the event id: stable across builds and platforms, unlike std's hasher.
pub fn event_order(event_id: &str) -> u64 {
    fnv1a(event_id.as_bytes())
}

/// FNV-1a, 64 bits.
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_from(FNV_OFFSET, bytes)
}

/// FNV-1a 64's starting value.
pub(crate) const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// FNV-1a 64 of `bytes` continued from `hash` (a hash of what came before them).
pub(crate) fn fnv1a_from(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Bits of a [`position`] that hold the offset: a partition holds up to 2^40 records.
pub const OFFSET_BITS: u32 = 40;

/// A record's Kafka partition and offset as one number that orders a partition's
/// records by offset, partitions apart: one term range per partition finds the records
/// after a position.
pub fn position(partition: i32, offset: i64) -> u64 {
    ((partition as u64) << OFFSET_BITS) | (offset as u64 & ((1 << OFFSET_BITS) - 1))
}

/// The partition and offset of a [`position`].
pub fn from_position(position: u64) -> (i32, i64) {
    (
        (position >> OFFSET_BITS) as i32,
        (position & ((1 << OFFSET_BITS) - 1)) as i64,
    )
}

/// The longest prefix of `text` within [`MAX_INDEXED_TEXT_BYTES`], cut on a char boundary.
pub(crate) fn indexed_prefix(text: &str) -> &str {
    prefix_within(text, MAX_INDEXED_TEXT_BYTES)
}

/// The longest prefix of `text` of at most `max` bytes that ends on a char boundary.
pub(crate) fn prefix_within(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
