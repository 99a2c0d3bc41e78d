//! `GET /v2/accounts/{ACCOUNT_ID}/pivot/signatures`: which distinct errors the account's
//! Pivot servers answered with in the window, how many records and calls each, since
//! when, and whether it is growing.
//!
//! Signatures are the index's ([`pivotlog_index::signature`]): a deterministic id of
//! (status, body template) given to every response and error record at index time, so
//! counts from any number of shards add up and survive a replay. `q` (default `*`)
//! restricts the records counted, in the search language; `signature:ID` opens one.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use pivotlog_index::search::{SignatureDetail, SignatureGroup, SignatureOrder, StatsRequest};
use pivotlog_index::signature::format_id;
use pivotlog_proto::kazoo::debug_id;
use pivotlog_proto::time::{iso8601_utc, unix_ms_to_gregorian_s};

use crate::access::AccountRead;
use crate::envelope::{ApiError, Paging, Success};
use crate::params::{encode_key, Params};
use crate::search::Scope;

/// Where a page of signatures starts: an offset into the ordered signatures.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Offset {
    o: usize,
}

/// The records counted when `q` is absent: the errors. A successful reply's body is
/// mostly the customer's own call flow (its free text kept in the template), so nearly
/// every one is its own signature: 47 k of 50 k simulated replies, past the 20,000 a
/// window may hold (benches/README.md, reads).
pub const DEFAULT_SIGNATURES_QUERY: &str = "status_code:>=400 OR kind:json_error OR kind:schema_error";

/// One page of the account's signatures, most records first unless `sort` says otherwise.
pub async fn signatures(read: AccountRead<String>) -> Result<Success, ApiError> {
    let scope = Scope::of(read, Some(DEFAULT_SIGNATURES_QUERY))?;
    let (request, interval_text) = scope.stats_request()?;
    let order = order_of(&scope.params)?;
    let page_size = scope.params.page_size()?.ok_or_else(|| {
        ApiError::invalid_parameter(
            "paginate",
            "not_supported",
            "signatures are always paged: follow next_start_key".into(),
            "false",
        )
    })?;
    let start = scope.params.start_key::<Offset>()?;
    let offset = start.as_ref().map_or(0, |(_, offset)| offset.o);
    let answer = scope
        .source
        .signatures(request.clone(), order, offset, page_size)
        .await?;
    let page = answer.value;
    let items = page
        .groups
        .iter()
        .map(|group| {
            let detail = page.details.iter().find(|detail| detail.id == group.id);
            item(group, detail, &request, &interval_text)
        })
        .collect();
    let next = offset + page_size;
    Ok(Success {
        data: Value::Array(items),
        paging: Some(Paging {
            start_key: start.map(|(raw, _)| raw),
            next_start_key: (next < page.total).then(|| encode_key(&Offset { o: next })),
        }),
        total_hits: Some(page.total as u64),
        gaps: answer.gaps,
    })
}

fn order_of(params: &Params) -> Result<SignatureOrder, ApiError> {
    match params.get("sort") {
        None | Some("records") => Ok(SignatureOrder::Records),
        Some("last_seen") => Ok(SignatureOrder::LastSeen),
        Some("growth") => Ok(SignatureOrder::Growth),
        Some(other) => Err(ApiError::invalid_parameter(
            "sort",
            "enum",
            "sort is one of records, last_seen, growth".into(),
            other,
        )),
    }
}

fn item(
    group: &SignatureGroup,
    detail: Option<&SignatureDetail>,
    request: &StatsRequest,
    interval: &str,
) -> Value {
    let mut item = Map::new();
    item.insert("signature".into(), format_id(group.id).into());
    if let Some(sample) = detail.and_then(|detail| detail.sample.as_ref()) {
        item.insert("template".into(), sample.template.clone().into());
        item.insert(
            "sample".into(),
            json!({
                "call_id": sample.call_id,
                "debug_id": debug_id(&sample.call_id, sample.call_first_created_ms),
                "iteration": sample.iteration,
                "created": unix_ms_to_gregorian_s(sample.created_ms),
            }),
        );
    }
    let statuses: Vec<Value> = group
        .statuses
        .iter()
        .map(|(status, count)| {
            json!({"status_code": status.map_or_else(|| "none".to_owned(), |s| s.to_string()), "records": count})
        })
        .collect();
    item.insert("status_codes".into(), statuses.into());
    item.insert("records".into(), group.records.into());
    item.insert("calls".into(), group.calls.into());
    item.insert("first_seen".into(), unix_ms_to_gregorian_s(group.first_ms).into());
    item.insert("last_seen".into(), unix_ms_to_gregorian_s(group.last_ms).into());
    item.insert("first_seen_iso".into(), iso8601_utc(group.first_ms).into());
    item.insert("last_seen_iso".into(), iso8601_utc(group.last_ms).into());
    item.insert(
        "growth".into(),
        json!({
            "last_interval": group.last_interval,
            "previous_interval": group.previous_interval,
            "change": group.growth(),
        }),
    );
    let (origin_ms, _) = request.buckets().unwrap_or((request.created_from_ms, 0));
    let buckets: Vec<Value> = detail
        .map(|detail| detail.by_time.as_slice())
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, count)| {
            let start_ms = origin_ms + i as i64 * request.interval_ms;
            json!({"start": unix_ms_to_gregorian_s(start_ms), "count": count})
        })
        .collect();
    item.insert(
        "histogram".into(),
        json!({"interval": interval, "interval_s": request.interval_ms / 1000, "buckets": buckets}),
    );
    Value::Object(item)
}
