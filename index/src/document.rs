//! How a record and a call summary become tantivy documents: which fields of the
//! [`schema`](crate::schema) each fills, and what is stored to be given back (a record's
//! original protobuf bytes, a summary's JSON). The writer builds every document here;
//! reading them back is [`crate::reader`]'s.

use tantivy::TantivyDocument;

use pivotlog_proto::{DebugEvent, Record, RecordKind};

use crate::schema::{call_key, event_order, fnv1a, indexed_prefix, position, DOC_TYPE_CALL, DOC_TYPE_RECORD};
use crate::signature::signature;
use crate::{CallSummary, Fields};

/// The document of one record read from `partition` (at `offset`, if it came from
/// Kafka); `raw` is its protobuf encoding.
/// `request` is the `(uri, method)` of a response's request, indexed on the response
/// too so a search can combine `uri:` with `status_code:`.
pub(crate) fn record(
    fields: &Fields,
    partition: i32,
    offset: Option<i64>,
    event: &DebugEvent,
    raw: &[u8],
    request: Option<(&str, &str)>,
) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.doc_type, DOC_TYPE_RECORD);
    doc.add_text(fields.event_id, &event.event_id);
    doc.add_u64(fields.event_order, event_order(&event.event_id));
    let key = call_key(&event.account_id, &event.call_id);
    doc.add_u64(fields.call_hash, fnv1a(key.as_bytes()));
    doc.add_text(fields.call_key, key);
    doc.add_text(fields.account_id, &event.account_id);
    doc.add_text(fields.call_id, &event.call_id);
    doc.add_u64(fields.iteration, u64::from(event.iteration));
    doc.add_i64(fields.created, event.created_unix_ms);
    doc.add_u64(fields.partition, partition as u64);
    if let Some(offset) = offset {
        doc.add_u64(fields.position, position(partition, offset));
    }
    if let Some(record) = &event.record {
        doc.add_text(fields.kind, RecordKind::of(record).as_str());
        if let Some((status, body)) = crate::search::signed(record) {
            doc.add_u64(fields.signature, signature(status, body).id);
        }
        match record {
            Record::Request(request) => {
                doc.add_text(fields.method, &request.method);
                doc.add_text(fields.uri, indexed_prefix(&request.uri));
                doc.add_text(fields.request_body, indexed_prefix(&request.body));
            }
            Record::Response(response) => {
                doc.add_u64(fields.status_code, u64::from(response.status_code));
                doc.add_text(fields.body, indexed_prefix(&response.body));
                let headers: String = response
                    .headers
                    .iter()
                    .map(|(name, value)| format!("{name}: {value}\n"))
                    .collect();
                doc.add_text(fields.response_headers, indexed_prefix(&headers));
                if let Some((uri, method)) = request {
                    doc.add_text(fields.method, method);
                    doc.add_text(fields.uri, indexed_prefix(uri));
                }
            }
            Record::JsonError(error) => doc.add_text(fields.body, indexed_prefix(&error.body)),
            Record::SchemaError(error) => doc.add_text(fields.body, indexed_prefix(&error.body)),
        }
    }
    doc.add_bytes(fields.payload, raw);
    doc
}

/// The document of a call's summary; `key` is its [`call_key`], by which the writer
/// replaces the previous one.
pub(crate) fn call(fields: &Fields, key: &str, summary: &CallSummary, partition: i32) -> TantivyDocument {
    let mut doc = TantivyDocument::default();
    doc.add_text(fields.doc_type, DOC_TYPE_CALL);
    doc.add_text(fields.summary_key, key);
    doc.add_text(fields.account_id, &summary.account_id);
    doc.add_text(fields.calls_of, &summary.account_id);
    for ancestor in &summary.ancestor_ids {
        doc.add_text(fields.ancestor_id, ancestor);
    }
    doc.add_text(fields.call_id, &summary.call_id);
    doc.add_i64(fields.created, summary.first_created_ms);
    doc.add_u64(fields.partition, partition as u64);
    let json = serde_json::to_vec(summary).expect("a summary always serializes");
    doc.add_bytes(fields.payload, &json);
    doc
}
