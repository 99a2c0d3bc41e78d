//! `GET /v2/accounts/{ACCOUNT_ID}/pivot/search[/stats]`: free-text search over the
//! account's records, and counts of the matches by status code and time.
//!
//! The query language is the index's ([`pivotlog_index::search`]); the account and
//! time range come from the URL and parameters, never from the query text.

use serde_json::{json, Map, Value};

use pivotlog_index::search::{
    Search, SearchCursor, SearchError, SearchHit, SearchOrder, SearchStats, SnippetOptions, StatsRequest,
    MAX_SNIPPET_CHARS,
};
use pivotlog_proto::kazoo::{debug_id, ORIGINAL_BODY_BYTES};
use pivotlog_proto::time::{iso8601_utc, now_unix_ms, unix_ms_to_gregorian_s};

use crate::access::AccountRead;
use crate::envelope::{ApiError, Paging, Success};
use crate::params::{encode_key, Params};
use crate::source::Source;

/// Longest `highlight_pre` / `highlight_post`.
const MAX_TAG_BYTES: usize = 64;
/// Longest histogram interval: a year.
const MAX_INTERVAL_S: usize = 366 * 86_400;

/// One page of hits, newest first unless `sort` says otherwise.
pub async fn search(read: AccountRead<String>) -> Result<Success, ApiError> {
    let scope = Scope::of(read, None)?;
    let params = &scope.params;
    if params.get("paginate") == Some("false") {
        return Err(ApiError::invalid_parameter(
            "paginate",
            "not_supported",
            "search results are always paged: follow next_start_key".into(),
            "false",
        ));
    }
    let page_size = params.page_size()?.expect("paginated");
    let order = sort_order(params)?;
    let start = params.start_key::<SearchCursor>()?;
    let snippet = snippet_options(params)?;

    let request = Search {
        account_id: scope.account_id,
        query: scope.query,
        created_from_ms: scope.from_ms,
        created_to_ms: scope.to_ms,
        order,
        page_size,
        start: start.as_ref().map(|(_, cursor)| cursor.clone()),
        snippet,
    };
    let answer = scope.source.search(request).await?;
    let page = answer.value;
    Ok(Success {
        data: Value::Array(page.hits.iter().map(hit_item).collect()),
        paging: Some(Paging {
            start_key: start.map(|(raw, _)| raw),
            next_start_key: page.next.as_ref().map(encode_key),
        }),
        total_hits: Some(page.total),
        gaps: answer.gaps,
    })
}

/// Counts of every match by status code and by time bucket, in one response.
pub async fn stats(read: AccountRead<String>) -> Result<Success, ApiError> {
    let scope = Scope::of(read, None)?;
    let (request, interval_text) = scope.stats_request()?;
    let answer = scope.source.stats(request).await?;
    let stats = answer.value;
    Ok(Success {
        total_hits: Some(stats.counts.total),
        data: stats_data(&stats, &interval_text),
        paging: None,
        gaps: answer.gaps,
    })
}

/// What the search endpoints start from besides the admitted read: the query text,
/// checked against the schema, and the time window.
pub(crate) struct Scope {
    pub account_id: String,
    pub source: Source,
    pub params: Params,
    pub query: String,
    pub from_ms: i64,
    pub to_ms: i64,
}

impl Scope {
    /// `default_query`: what an absent `q` means (`None`: `q` is required).
    pub(crate) fn of(read: AccountRead<String>, default_query: Option<&str>) -> Result<Scope, ApiError> {
        let AccountRead {
            path: account_id,
            source,
            params,
        } = read;
        let query = checked_query(&source, &params, default_query)?;
        let (from_ms, to_ms) = params
            .time_range(now_unix_ms(), false)?
            .expect("the range has defaults");
        Ok(Scope {
            account_id,
            source,
            params,
            query,
            from_ms,
            to_ms,
        })
    }

    /// The scope with the `interval` parameter (default `1h`), and that parameter's text.
    pub(crate) fn stats_request(&self) -> Result<(StatsRequest, String), ApiError> {
        let interval_text = self.params.get("interval").unwrap_or("1h").to_owned();
        let interval_s = parse_interval(&interval_text).ok_or_else(|| {
            ApiError::invalid_parameter(
                "interval",
                "format",
                "interval is a whole number of s, m, h or d (e.g. 30s, 5m, 1h, 1d), at most a year".into(),
                &interval_text,
            )
        })?;
        let request = StatsRequest {
            account_id: self.account_id.clone(),
            query: self.query.clone(),
            created_from_ms: self.from_ms,
            created_to_ms: self.to_ms,
            interval_ms: interval_s * 1000,
        };
        request
            .buckets()
            .map_err(|err| ApiError::from_search(err, &request.query))?;
        Ok((request, interval_text))
    }
}

/// `q`, parsed once here so that a malformed query is refused before any index (or
/// shard) is asked.
pub(crate) fn checked_query(
    source: &Source,
    params: &Params,
    default: Option<&str>,
) -> Result<String, ApiError> {
    let Some(text) = params.get("q").or(default) else {
        return Err(ApiError::invalid_parameter(
            "q",
            "required",
            "q is required (use q=* to match every record)".into(),
            "",
        ));
    };
    source
        .parse_query(text)
        .map_err(|err| ApiError::from_search(SearchError::Query(err), text))?;
    Ok(text.to_owned())
}

fn sort_order(params: &Params) -> Result<SearchOrder, ApiError> {
    let by_time = params.ascending(false)?;
    match params.get("sort") {
        None | Some("newest") if !by_time => Ok(SearchOrder::Newest),
        None | Some("oldest") => Ok(SearchOrder::Oldest),
        Some("relevance") => Ok(SearchOrder::Relevance),
        Some("newest") => Err(ApiError::invalid_parameter(
            "sort",
            "conflict",
            "sort=newest contradicts ascending=true".into(),
            "newest",
        )),
        Some(other) => Err(ApiError::invalid_parameter(
            "sort",
            "enum",
            "sort is one of newest, oldest, relevance".into(),
            other,
        )),
    }
}

fn snippet_options(params: &Params) -> Result<SnippetOptions, ApiError> {
    let defaults = SnippetOptions::default();
    let tag = |name: &str, default: String| -> Result<String, ApiError> {
        match params.get(name) {
            None => Ok(default),
            Some(tag) if tag.len() <= MAX_TAG_BYTES => Ok(tag.to_owned()),
            Some(tag) => Err(ApiError::invalid_parameter(
                name,
                "maxLength",
                format!("{name} is longer than {MAX_TAG_BYTES} bytes"),
                tag,
            )),
        }
    };
    Ok(SnippetOptions {
        max_chars: params.integer("snippet_chars", 0..=MAX_SNIPPET_CHARS, defaults.max_chars)?,
        pre_tag: tag("highlight_pre", defaults.pre_tag)?,
        post_tag: tag("highlight_post", defaults.post_tag)?,
    })
}

/// `30s`, `5m`, `1h`, `1d` → seconds.
fn parse_interval(text: &str) -> Option<i64> {
    let unit = match text.chars().last()? {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    let count: usize = text[..text.len() - 1].parse().ok()?;
    let seconds = count.checked_mul(unit)?;
    (1..=MAX_INTERVAL_S).contains(&seconds).then_some(seconds as i64)
}

fn hit_item(hit: &SearchHit) -> Value {
    let event = &hit.event;
    let mut item = Map::new();
    item.insert("id".into(), event.event_id.clone().into());
    item.insert("call_id".into(), event.call_id.clone().into());
    item.insert(
        "debug_id".into(),
        debug_id(&event.call_id, hit.call_first_created_ms).into(),
    );
    item.insert("iteration".into(), event.iteration.into());
    if let Some(kind) = event.kind() {
        item.insert("kind".into(), kind.as_str().into());
    }
    item.insert(
        "created".into(),
        unix_ms_to_gregorian_s(event.created_unix_ms).into(),
    );
    item.insert("created_ms".into(), event.created_unix_ms.into());
    if let Some(pivotlog_proto::Record::Response(response)) = &event.record {
        item.insert("status_code".into(), response.status_code.to_string().into());
    }
    if let Some(uri) = &hit.uri {
        item.insert("uri".into(), uri.clone().into());
    }
    if let Some(method) = &hit.method {
        item.insert("method".into(), method.clone().into());
    }
    if let Some(signature) = hit.signature {
        item.insert(
            "signature".into(),
            pivotlog_index::signature::format_id(signature).into(),
        );
    }
    if let Some(score) = hit.score {
        item.insert("score".into(), json!(score));
    }
    if let Some(snippet) = &hit.snippet {
        item.insert("snippet".into(), snippet.clone().into());
    }
    item.insert("body_bytes".into(), hit.body_bytes.into());
    item.insert("body_truncated".into(), hit.body_truncated().into());
    // Cut before it reached Kafka (too big for the topic): the stored body is a prefix.
    let original = event
        .record
        .as_ref()
        .and_then(|record| record.original_body_bytes());
    item.insert("body_truncated_at_publish".into(), original.is_some().into());
    if let Some(original) = original {
        item.insert(ORIGINAL_BODY_BYTES.into(), original.into());
    }
    Value::Object(item)
}

fn stats_data(stats: &SearchStats, interval: &str) -> Value {
    let status_codes: Map<String, Value> = stats
        .counts
        .by_status
        .iter()
        .map(|(status, count)| {
            let key = status.map_or_else(|| "none".to_owned(), |code| code.to_string());
            (key, (*count).into())
        })
        .collect();
    let buckets: Vec<Value> = stats
        .counts
        .by_time
        .iter()
        .enumerate()
        .map(|(i, count)| {
            let start_ms = stats.origin_ms + i as i64 * stats.interval_ms;
            json!({
                "start": unix_ms_to_gregorian_s(start_ms),
                "start_iso": iso8601_utc(start_ms),
                "count": count,
            })
        })
        .collect();
    json!({
        "total_hits": stats.counts.total,
        "status_codes": status_codes,
        "histogram": {
            "interval": interval,
            "interval_s": stats.interval_ms / 1000,
            "buckets": buckets,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_bounded_whole_units() {
        assert_eq!(parse_interval("30s"), Some(30));
        assert_eq!(parse_interval("5m"), Some(300));
        assert_eq!(parse_interval("1h"), Some(3600));
        assert_eq!(parse_interval("1d"), Some(86_400));
        for bad in [
            "",
            "h",
            "0h",
            "-1h",
            "1.5h",
            "1w",
            "367d",
            "99999999999999999999s",
            "1hh",
            "é",
        ] {
            assert_eq!(parse_interval(bad), None, "{bad}");
        }
    }
}
