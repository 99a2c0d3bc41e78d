//! `GET /v2/accounts/{ACCOUNT_ID}/pivot/debug[/{ID}]`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use pivotlog_index::{CallCursor, CallSummary, ListCalls};
use pivotlog_proto::kazoo::{debug_id, record_fields};
use pivotlog_proto::time::{now_unix_ms, unix_ms_to_gregorian_s};
use pivotlog_proto::DebugEvent;

use crate::access::AccountRead;
use crate::answer::Answer;
use crate::envelope::{ApiError, Paging, Success};
use crate::params::encode_key;
use crate::source::Source;

/// Most calls one `paginate=false` listing returns; more is a 416, as in Crossbar.
pub const MAX_UNPAGINATED_CALLS: usize = 10_000;

/// The listing: one item per call, newest first, paged by a stable time cursor.
pub async fn list_calls(read: AccountRead<String>) -> Result<Success, ApiError> {
    let AccountRead {
        path: account_id,
        source,
        params,
    } = read;
    let page_size = params.page_size()?;
    let ascending = params.ascending(false)?;
    let (from, to) = params
        .time_range(now_unix_ms(), false)?
        .expect("the range has defaults");
    let start = params.start_key::<CallCursor>()?;
    let request = ListCalls {
        account_id,
        created_from_ms: from,
        created_to_ms: to,
        ascending,
        page_size: Some(page_size.unwrap_or(MAX_UNPAGINATED_CALLS)),
        start: start.as_ref().map(|(_, cursor)| cursor.clone()),
    };
    let answer = source.list_calls(request).await?;
    let page = answer.value;
    if page_size.is_none() && page.next.is_some() {
        return Err(ApiError::RangeNotSatisfiable(format!(
            "more than {MAX_UNPAGINATED_CALLS} calls in range: page through them or narrow created_from/created_to"
        )));
    }
    let data = page.calls.iter().map(listing_item).collect();
    let paging = page_size.map(|_| Paging {
        start_key: start.map(|(raw, _)| raw),
        next_start_key: page.next.as_ref().map(encode_key),
    });
    Ok(Success {
        data: Value::Array(data),
        paging,
        total_hits: None,
        gaps: answer.gaps,
    })
}

/// Where a detail page starts: the first record's event id.
#[derive(Serialize, Deserialize)]
struct RecordKey {
    event_id: String,
}

/// Every record of one call, oldest first; `{ID}` is a call id or a `debug_id`.
pub async fn call_records(read: AccountRead<(String, String)>) -> Result<Success, ApiError> {
    let AccountRead {
        path: (account_id, id),
        source,
        params,
    } = read;
    let page_size = params.page_size()?;
    let ascending = params.ascending(true)?;
    let range = params.time_range(now_unix_ms(), true)?;
    let start = params.start_key::<RecordKey>()?;

    let answer = find_call(&source, &account_id, &id).await?;
    let mut records = answer.value;
    // The debug_id names the call by its first record, whatever the filters keep.
    let call_debug_id = records
        .first()
        .map(|first| debug_id(&first.call_id, first.created_unix_ms));
    if let Some((from, to)) = range {
        records.retain(|record| (from..=to).contains(&record.created_unix_ms));
    }
    if !ascending {
        records.reverse();
    }
    let first = match &start {
        Some((_, key)) => records
            .iter()
            .position(|record| record.event_id == key.event_id)
            .ok_or_else(|| {
                ApiError::invalid_parameter(
                    "start_key",
                    "not_found",
                    "start_key is not a record of this call".into(),
                    "",
                )
            })?,
        None => 0,
    };
    let end = page_size.map_or(records.len(), |size| (first + size).min(records.len()));
    let call_debug_id = call_debug_id.unwrap_or_default();
    let data = records[first..end]
        .iter()
        .map(|record| detail_item(record, &call_debug_id))
        .collect();
    let paging = page_size.map(|_| Paging {
        start_key: start.map(|(raw, _)| raw),
        next_start_key: records.get(end).map(|next| {
            encode_key(&RecordKey {
                event_id: next.event_id.clone(),
            })
        }),
    });
    Ok(Success {
        data: Value::Array(data),
        paging,
        total_hits: None,
        gaps: answer.gaps,
    })
}

/// The records of `id` as a call id, else as a `debug_id` (`YYYYMM-call_id`). Trying
/// the call id first keeps call ids that merely look like debug ids working.
async fn find_call(source: &Source, account_id: &str, id: &str) -> Result<Answer<Vec<DebugEvent>>, ApiError> {
    let records = source.call_records(account_id, id).await?;
    if !records.value.is_empty() {
        return Ok(records);
    }
    match parse_debug_id(id) {
        Some(call_id) => source.call_records(account_id, call_id).await,
        None => Ok(records),
    }
}

/// The call id inside a `debug_id`, if `id` has that shape with a real month.
fn parse_debug_id(id: &str) -> Option<&str> {
    let (prefix, call_id) = id.split_at_checked(6)?;
    let call_id = call_id.strip_prefix('-')?;
    let month: u32 = prefix.get(4..)?.parse().ok()?;
    let valid =
        prefix.bytes().all(|b| b.is_ascii_digit()) && (1..=12).contains(&month) && !call_id.is_empty();
    valid.then_some(call_id)
}

/// A listing item: Kazoo's fields first, then what Kazoo lacks.
fn listing_item(call: &CallSummary) -> Value {
    let mut item = Map::new();
    item.insert("call_id".into(), call.call_id.clone().into());
    item.insert(
        "created".into(),
        unix_ms_to_gregorian_s(call.first_created_ms).into(),
    );
    item.insert("iteration".into(), 1.into());
    item.insert("node".into(), call.node.clone().into());
    if let Some(uri) = &call.uri {
        item.insert("uri".into(), uri.clone().into());
    }
    if let Some(status) = call.status_code {
        item.insert("status_code".into(), status.to_string().into());
    }
    item.insert("has_schema_errors".into(), call.has_schema_errors.into());
    item.insert("has_json_errors".into(), call.has_json_errors.into());
    item.insert(
        "debug_id".into(),
        debug_id(&call.call_id, call.first_created_ms).into(),
    );
    item.insert("iterations".into(), call.iterations.into());
    item.insert("records".into(), call.records.into());
    if let Some(status) = call.last_status_code {
        item.insert("last_status_code".into(), status.to_string().into());
    }
    item.insert(
        "last_created".into(),
        unix_ms_to_gregorian_s(call.last_created_ms).into(),
    );
    Value::Object(item)
}

/// A detail item: Kazoo's stored document without `_id`, `_rev` and `pvt_*`, plus
/// `id`, `created`, `node` and `debug_id`; and, for a record whose body the publisher cut
/// to fit the topic, `body_truncated_at_publish: true` beside its `body_original_bytes`
/// (absent otherwise, so every other item keeps Kazoo's shape).
pub(crate) fn detail_item(record: &DebugEvent, call_debug_id: &str) -> Value {
    let mut item = Map::new();
    item.insert("id".into(), record.event_id.clone().into());
    item.insert("call_id".into(), record.call_id.clone().into());
    item.insert("iteration".into(), record.iteration.into());
    item.insert(
        "created".into(),
        unix_ms_to_gregorian_s(record.created_unix_ms).into(),
    );
    item.insert("node".into(), record.node.clone().into());
    item.insert("debug_id".into(), call_debug_id.into());
    if let Some(fields) = record.record.as_ref() {
        item.extend(record_fields(fields));
        if fields.original_body_bytes().is_some() {
            item.insert("body_truncated_at_publish".into(), true.into());
        }
        if let Some(signature) = pivotlog_index::search::signature_of(fields) {
            item.insert(
                "signature".into(),
                pivotlog_index::signature::format_id(signature).into(),
            );
        }
    }
    Value::Object(item)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_ids_need_a_real_month() {
        assert_eq!(parse_debug_id("202403-abc@1.2.3.4"), Some("abc@1.2.3.4"));
        assert_eq!(parse_debug_id("202413-abc"), None);
        assert_eq!(parse_debug_id("abcdef-1234"), None);
        assert_eq!(parse_debug_id("202403-"), None);
        assert_eq!(parse_debug_id("2024"), None);
        assert_eq!(parse_debug_id("é2403-x"), None);
    }
}
