//! The mapping between Kazoo's `pivot_debug` CouchDB documents and [`DebugEvent`]s.
//!
//! [`event_from_doc`] reads a document exactly as stored in a MODb (what `publish`
//! imports); [`doc_from_event`] writes it back. The two are inverses for every field
//! except `_rev`, CouchDB's revision, which means nothing outside CouchDB and is dropped.
//! `pvt_account_db`, `pvt_type` and `pvt_modified` are derived on the way back (debug
//! documents are written once, so `pvt_modified == pvt_created`). Account ancestors come
//! from an optional `pvt_tree` array (Kazoo keeps it on the account document; an
//! exporter may copy it onto each debug document).
//!
//! One field is pivotlog's own: `body_original_bytes`, present only on a record whose
//! body the publisher cut to fit the topic (the body's size before the cut). Kazoo never
//! writes it; it is read back so that the two mappings stay inverses.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::time::{gregorian_s_to_unix_ms, modb_suffix, unix_ms_to_gregorian_s};
use crate::v1::debug_event::Record;
use crate::{DebugEvent, HttpRequest, HttpResponse, JsonError, SchemaError, CURRENT_SCHEMA_VERSION};

/// Why a Kazoo document cannot become an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocError {
    #[error("not a JSON object")]
    NotAnObject,
    #[error("missing field `{0}`")]
    Missing(&'static str),
    #[error("field `{field}` must be {expected}")]
    WrongType { field: String, expected: &'static str },
    #[error("pvt_type is {0:?}, expected \"pivot_debug\"")]
    NotPivotDebug(String),
    #[error("resp_status_code {0:?} is not an HTTP status code")]
    BadStatusCode(String),
    #[error("no record fields: expected a request (uri, method), a response (resp_status_code), json_errors or schema_errors")]
    NoRecord,
    #[error("fields of several records in one document: {0}")]
    SeveralRecords(String),
}

/// Converts one stored `pivot_debug` document into an event.
pub fn event_from_doc(doc: &Value) -> Result<DebugEvent, DocError> {
    let doc = doc.as_object().ok_or(DocError::NotAnObject)?;
    if let Some(pvt_type) = doc.get("pvt_type") {
        let pvt_type = as_str(pvt_type, "pvt_type")?;
        if pvt_type != "pivot_debug" {
            return Err(DocError::NotPivotDebug(pvt_type.to_owned()));
        }
    }
    let iteration = required(doc, "iteration")?;
    let iteration = iteration
        .as_u64()
        .filter(|n| (1..=u64::from(u32::MAX)).contains(n))
        .ok_or_else(|| wrong_type("iteration", "an integer >= 1"))?;
    let created = required(doc, "pvt_created")?;
    let created = created
        .as_i64()
        .filter(|s| (crate::time::UNIX_EPOCH_IN_GREGORIAN_S + 1..=crate::time::MAX_GREGORIAN_S).contains(s))
        .ok_or_else(|| wrong_type("pvt_created", "Gregorian seconds from 1970 to 9999"))?;
    let ancestor_ids = match doc.get("pvt_tree") {
        None | Some(Value::Null) => Vec::new(),
        Some(tree) => tree
            .as_array()
            .and_then(|ids| ids.iter().map(|id| id.as_str().map(str::to_owned)).collect())
            .ok_or_else(|| wrong_type("pvt_tree", "an array of account ids"))?,
    };
    Ok(DebugEvent {
        schema_version: CURRENT_SCHEMA_VERSION,
        event_id: required_str(doc, "_id")?.to_owned(),
        account_id: required_str(doc, "pvt_account_id")?.to_owned(),
        ancestor_ids,
        call_id: required_str(doc, "call_id")?.to_owned(),
        iteration: iteration as u32,
        created_unix_ms: gregorian_s_to_unix_ms(created),
        node: optional_str(doc, "pvt_node")?.to_owned(),
        record: Some(record_from_doc(doc)?),
    })
}

/// The stored Kazoo document of an event (without `_rev`).
pub fn doc_from_event(event: &DebugEvent) -> Map<String, Value> {
    let created = unix_ms_to_gregorian_s(event.created_unix_ms);
    let mut doc = Map::new();
    doc.insert("_id".into(), event.event_id.clone().into());
    doc.insert("call_id".into(), event.call_id.clone().into());
    doc.insert("iteration".into(), event.iteration.into());
    doc.insert("pvt_type".into(), "pivot_debug".into());
    doc.insert("pvt_account_id".into(), event.account_id.clone().into());
    doc.insert(
        "pvt_account_db".into(),
        account_db(&event.account_id, event.created_unix_ms).into(),
    );
    doc.insert("pvt_created".into(), created.into());
    doc.insert("pvt_modified".into(), created.into());
    doc.insert("pvt_node".into(), event.node.clone().into());
    if !event.ancestor_ids.is_empty() {
        doc.insert("pvt_tree".into(), event.ancestor_ids.clone().into());
    }
    if let Some(record) = &event.record {
        doc.extend(record_fields(record));
    }
    doc
}

/// The record's fields under Kazoo's names (`uri`, `resp_status_code`, `json_errors`, ...).
pub fn record_fields(record: &Record) -> Map<String, Value> {
    let mut fields = Map::new();
    match record {
        Record::Request(request) => {
            fields.insert("uri".into(), request.uri.clone().into());
            fields.insert("method".into(), request.method.clone().into());
            fields.insert("req_headers".into(), headers_to_json(&request.headers));
            fields.insert("req_body".into(), request.body.clone().into());
        }
        Record::Response(response) => {
            fields.insert("resp_status_code".into(), response.status_code.to_string().into());
            fields.insert("resp_headers".into(), headers_to_json(&response.headers));
            fields.insert("resp_body".into(), response.body.clone().into());
        }
        Record::JsonError(error) => {
            fields.insert("resp_body".into(), error.body.clone().into());
            let details = serde_json::json!({
                "message": error.message,
                "before": error.before,
                "after": error.after,
            });
            fields.insert("json_errors".into(), details);
        }
        Record::SchemaError(error) => {
            fields.insert("resp_body".into(), error.body.clone().into());
            // Written by `record_from_doc` from a parsed value, so it parses back.
            let errors =
                serde_json::from_str(&error.errors_json).unwrap_or(Value::String(error.errors_json.clone()));
            fields.insert("schema_errors".into(), errors);
        }
    }
    if let Some(original) = record.original_body_bytes() {
        fields.insert(ORIGINAL_BODY_BYTES.into(), original.into());
    }
    fields
}

/// The document field of [`Record::original_body_bytes`].
pub const ORIGINAL_BODY_BYTES: &str = "body_original_bytes";

/// Kazoo's `debug_id`: the UTC month of the call's first record and the call id.
pub fn debug_id(call_id: &str, created_unix_ms: i64) -> String {
    format!("{}-{call_id}", modb_suffix(created_unix_ms))
}

/// The encoded name of the MODb Kazoo would have written the record to.
pub fn account_db(account_id: &str, created_unix_ms: i64) -> String {
    let split = |from: usize, to: usize| account_id.get(from..to).unwrap_or_default();
    format!(
        "account%2F{}%2F{}%2F{}-{}",
        split(0, 2),
        split(2, 4),
        account_id.get(4..).unwrap_or_default(),
        modb_suffix(created_unix_ms)
    )
}

fn record_from_doc(doc: &Map<String, Value>) -> Result<Record, DocError> {
    let present: Vec<&str> = [
        ("json_errors", doc.contains_key("json_errors")),
        ("schema_errors", doc.contains_key("schema_errors")),
        ("resp_status_code", doc.contains_key("resp_status_code")),
        (
            "uri/method",
            doc.contains_key("uri") || doc.contains_key("method"),
        ),
    ]
    .into_iter()
    .filter_map(|(name, present)| present.then_some(name))
    .collect();
    let mut record = match present.as_slice() {
        [] => Err(DocError::NoRecord),
        ["json_errors"] => json_error_from_doc(doc),
        ["schema_errors"] => Ok(Record::SchemaError(SchemaError {
            errors_json: serde_json::to_string(&doc["schema_errors"]).unwrap_or_default(),
            body: optional_str(doc, "resp_body")?.to_owned(),
            body_original_bytes: 0,
        })),
        ["resp_status_code"] => Ok(Record::Response(HttpResponse {
            status_code: status_code(&doc["resp_status_code"])?,
            headers: headers_from_doc(doc, "resp_headers")?,
            body: optional_str(doc, "resp_body")?.to_owned(),
            body_original_bytes: 0,
        })),
        ["uri/method"] => Ok(Record::Request(HttpRequest {
            uri: required_str(doc, "uri")?.to_owned(),
            method: required_str(doc, "method")?.to_owned(),
            headers: headers_from_doc(doc, "req_headers")?,
            body: optional_str(doc, "req_body")?.to_owned(),
            body_original_bytes: 0,
        })),
        several => Err(DocError::SeveralRecords(several.join(", "))),
    }?;
    mark_cut_body(doc, &mut record)?;
    Ok(record)
}

/// Reads `body_original_bytes` back; a size not larger than the body describes no cut
/// and is dropped, as [`Record::original_body_bytes`] reads it.
fn mark_cut_body(doc: &Map<String, Value>, record: &mut Record) -> Result<(), DocError> {
    let original = match doc.get(ORIGINAL_BODY_BYTES) {
        None | Some(Value::Null) => return Ok(()),
        Some(value) => value
            .as_u64()
            .ok_or_else(|| wrong_type(ORIGINAL_BODY_BYTES, "a byte count"))?,
    };
    let kept = record.body().len();
    if original > kept as u64 {
        set_original(record, original);
    }
    Ok(())
}

fn set_original(record: &mut Record, original: u64) {
    match record {
        Record::Request(request) => request.body_original_bytes = original,
        Record::Response(response) => response.body_original_bytes = original,
        Record::JsonError(error) => error.body_original_bytes = original,
        Record::SchemaError(error) => error.body_original_bytes = original,
    }
}

fn json_error_from_doc(doc: &Map<String, Value>) -> Result<Record, DocError> {
    let details = doc["json_errors"]
        .as_object()
        .ok_or_else(|| wrong_type("json_errors", "an object"))?;
    let part = |name: &'static str| -> Result<String, DocError> {
        match details.get(name) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(text)) => Ok(text.clone()),
            Some(_) => Err(wrong_type(&format!("json_errors.{name}"), "a string")),
        }
    };
    Ok(Record::JsonError(JsonError {
        message: part("message")?,
        before: part("before")?,
        after: part("after")?,
        body: optional_str(doc, "resp_body")?.to_owned(),
        body_original_bytes: 0,
    }))
}

/// Kazoo stores the status as a string ("404"); a number is accepted too.
fn status_code(value: &Value) -> Result<u32, DocError> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        other => other.to_string(),
    };
    text.parse::<u32>()
        .ok()
        .filter(|code| (100..=999).contains(code))
        .ok_or(DocError::BadStatusCode(text))
}

fn headers_from_doc(
    doc: &Map<String, Value>,
    field: &'static str,
) -> Result<HashMap<String, String>, DocError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(HashMap::new()),
        Some(Value::Object(headers)) => headers
            .iter()
            .map(|(name, value)| match value {
                Value::String(value) => Ok((name.clone(), value.clone())),
                _ => Err(wrong_type(&format!("{field}.{name}"), "a string")),
            })
            .collect(),
        Some(_) => Err(wrong_type(field, "an object of strings")),
    }
}

fn headers_to_json(headers: &HashMap<String, String>) -> Value {
    let mut sorted: Vec<_> = headers.iter().collect();
    sorted.sort();
    Value::Object(
        sorted
            .into_iter()
            .map(|(name, value)| (name.clone(), value.clone().into()))
            .collect(),
    )
}

fn required<'a>(doc: &'a Map<String, Value>, field: &'static str) -> Result<&'a Value, DocError> {
    doc.get(field)
        .filter(|value| !value.is_null())
        .ok_or(DocError::Missing(field))
}

fn required_str<'a>(doc: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, DocError> {
    let text = as_str(required(doc, field)?, field)?;
    if text.is_empty() {
        return Err(DocError::Missing(field));
    }
    Ok(text)
}

fn optional_str<'a>(doc: &'a Map<String, Value>, field: &'static str) -> Result<&'a str, DocError> {
    match doc.get(field) {
        None | Some(Value::Null) => Ok(""),
        Some(value) => as_str(value, field),
    }
}

fn as_str<'a>(value: &'a Value, field: &str) -> Result<&'a str, DocError> {
    value.as_str().ok_or_else(|| wrong_type(field, "a string"))
}

fn wrong_type(field: &str, expected: &'static str) -> DocError {
    DocError::WrongType {
        field: field.to_owned(),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn base() -> Value {
        json!({
            "_id": "00000000000000000000000000abc001",
            "_rev": "1-x",
            "call_id": "829597750@10.26.0.158",
            "iteration": 1,
            "pvt_type": "pivot_debug",
            "pvt_account_id": "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60",
            "pvt_account_db": "account%2F4f%2F1c%2F2a8e9b7d4c3e8a1f0b2c3d4e5f60-202403",
            "pvt_created": 63877472674i64,
            "pvt_modified": 63877472674i64,
            "pvt_node": "kazoo_apps@apps001.example.com",
        })
    }

    fn with(fields: Value) -> Value {
        let mut doc = base();
        doc.as_object_mut()
            .unwrap()
            .extend(fields.as_object().unwrap().clone());
        doc
    }

    fn round_trip(doc: &Value) {
        let event = event_from_doc(doc).unwrap();
        let mut expected = doc.as_object().unwrap().clone();
        expected.remove("_rev");
        assert_eq!(Value::Object(doc_from_event(&event)), Value::Object(expected));
    }

    #[test]
    fn every_record_kind_round_trips() {
        round_trip(&with(
            json!({"uri": "http://x/?a=1", "method": "get", "req_headers": {}, "req_body": ""}),
        ));
        round_trip(&with(json!({
            "resp_status_code": "404",
            "resp_headers": {"content-type": "text/html", "server": "apache/2.4.7 (ubuntu)"},
            "resp_body": "<html>404 Not Found</html>",
        })));
        round_trip(&with(json!({
            "resp_body": "{\"a\":",
            "json_errors": {"message": "invalid JSON", "before": "{\"a\":", "after": ""},
        })));
        round_trip(&with(json!({
            "resp_body": "{}",
            "schema_errors": {"module": {"required": {"message": "Field is required but missing"}}},
            "pvt_tree": ["aaaa", "bbbb"],
        })));
    }

    #[test]
    fn a_body_cut_at_publish_round_trips_with_its_original_size() {
        round_trip(&with(json!({
            "resp_status_code": "200",
            "resp_headers": {},
            "resp_body": "<html>",
            "body_original_bytes": 1_200_000,
        })));
        // A size that describes no cut is dropped, so document -> event -> document is
        // stable (the kazoo_doc fuzz target's property).
        let event = event_from_doc(&with(
            json!({"uri": "u", "method": "get", "req_body": "abc", "body_original_bytes": 3}),
        ))
        .unwrap();
        assert_eq!(event.record.as_ref().unwrap().original_body_bytes(), None);
        assert!(!doc_from_event(&event).contains_key(ORIGINAL_BODY_BYTES));
        assert_eq!(
            event_from_doc(&with(
                json!({"uri": "u", "method": "get", "body_original_bytes": "big"})
            )),
            Err(DocError::WrongType {
                field: ORIGINAL_BODY_BYTES.into(),
                expected: "a byte count"
            })
        );
    }

    #[test]
    fn conversions_follow_kazoo_formats() {
        let event = event_from_doc(&with(json!({"resp_status_code": "500", "resp_body": "boom"}))).unwrap();
        assert_eq!(event.created_unix_ms, 1_710_253_474_000);
        assert_eq!(event.iteration, 1);
        match event.record {
            Some(Record::Response(response)) => {
                assert_eq!(response.status_code, 500);
                assert!(response.headers.is_empty());
            }
            other => panic!("unexpected {other:?}"),
        }
        let numeric = event_from_doc(&with(json!({"resp_status_code": 302}))).unwrap();
        assert!(matches!(
            numeric.record,
            Some(Record::Response(HttpResponse { status_code: 302, .. }))
        ));
        assert_eq!(debug_id("c@1", 1_710_253_474_000), "202403-c@1");
    }

    #[test]
    fn bad_documents_say_why() {
        let cases = [
            (json!([1, 2]), DocError::NotAnObject),
            (
                with(json!({"resp_status_code": "abc"})),
                DocError::BadStatusCode("abc".into()),
            ),
            (
                with(json!({"resp_status_code": "42"})),
                DocError::BadStatusCode("42".into()),
            ),
            (base(), DocError::NoRecord),
            (
                with(json!({"resp_status_code": "200", "json_errors": {}})),
                DocError::SeveralRecords("json_errors, resp_status_code".into()),
            ),
            (
                with(json!({"resp_status_code": "200", "resp_headers": {"x": 1}})),
                DocError::WrongType {
                    field: "resp_headers.x".into(),
                    expected: "a string",
                },
            ),
            (
                with(json!({"uri": "http://x", "method": null})),
                DocError::Missing("method"),
            ),
            (
                with(json!({"pvt_type": "cdr", "uri": "u", "method": "get"})),
                DocError::NotPivotDebug("cdr".into()),
            ),
            (
                with(json!({"iteration": 0, "uri": "u", "method": "get"})),
                DocError::WrongType {
                    field: "iteration".into(),
                    expected: "an integer >= 1",
                },
            ),
            (
                with(json!({"pvt_created": "yesterday", "uri": "u", "method": "get"})),
                DocError::WrongType {
                    field: "pvt_created".into(),
                    expected: "Gregorian seconds from 1970 to 9999",
                },
            ),
            // Found by the kazoo_doc fuzz target: a time past year 9999 overflowed the
            // calendar arithmetic instead of being refused.
            (
                with(json!({"pvt_created": 63877472675472675i64, "uri": "u", "method": "get"})),
                DocError::WrongType {
                    field: "pvt_created".into(),
                    expected: "Gregorian seconds from 1970 to 9999",
                },
            ),
        ];
        for (doc, expected) in cases {
            assert_eq!(event_from_doc(&doc), Err(expected), "{doc}");
        }
        let mut no_call = with(json!({"uri": "u", "method": "get"}));
        no_call.as_object_mut().unwrap().remove("call_id");
        assert_eq!(event_from_doc(&no_call), Err(DocError::Missing("call_id")));
    }
}
