//! `GET /v2/accounts/{ACCOUNT_ID}/pivot/search[/stats]`: free-text search over the
//! account's records, and counts of the matches by status code and time.
//!
//! The query language is the index's ([`pivotlog_index::search`]); the account and
//! time range come from the URL and parameters, never from the query text.

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, RawQuery, State};
use serde_json::{json, Map, Value};

use pivotlog_index::search::{
    SearchCursor, SearchError, SearchHit, SearchOrder, SearchStats, SnippetOptions, UserQuery,
    MAX_SNIPPET_CHARS,
};
use pivotlog_proto::kazoo::debug_id;
use pivotlog_proto::time::{iso8601_utc, unix_ms_to_gregorian_s};

use crate::access::authorize;
use crate::envelope::{unix_ms_now, Failure, Paging, RequestContext, Success};
use crate::params::{encode_key, Params};
use crate::source::{SearchSpec, Source, StatsSpec};
use crate::{ApiError, AppState};

/// Longest `highlight_pre` / `highlight_post`.
const MAX_TAG_BYTES: usize = 64;
/// Longest histogram interval: a year.
const MAX_INTERVAL_S: usize = 366 * 86_400;

/// One page of hits, newest first unless `sort` says otherwise.
pub async fn search(
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Success, Failure> {
    let fail = |err: ApiError| err.with(&context);
    let scope = Scope::of(&state, &context, path, query.as_deref())
        .await
        .map_err(fail)?;
    let params = &scope.params;
    if params.get("paginate") == Some("false") {
        return Err(fail(ApiError::invalid_parameter(
            "paginate",
            "not_supported",
            "search results are always paged: follow next_start_key".into(),
            "false",
        )));
    }
    let page_size = params.page_size().map_err(fail)?.expect("paginated");
    let order = sort_order(params).map_err(fail)?;
    let start = params.start_key::<SearchCursor>().map_err(fail)?;
    let snippet = snippet_options(params).map_err(fail)?;

    let spec = SearchSpec {
        account_id: scope.account_id,
        text: scope.text,
        query: scope.query,
        created_from_ms: scope.from_ms,
        created_to_ms: scope.to_ms,
        order,
        page_size,
        start: start.as_ref().map(|(_, cursor)| cursor.clone()),
        snippet,
    };
    let answer = scope.source.search(spec).await.map_err(fail)?;
    let page = answer.value;
    Ok(Success {
        context,
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
pub async fn stats(
    State(state): State<AppState>,
    context: RequestContext,
    path: Result<Path<String>, PathRejection>,
    RawQuery(query): RawQuery,
) -> Result<Success, Failure> {
    let fail = |err: ApiError| err.with(&context);
    let scope = Scope::of(&state, &context, path, query.as_deref())
        .await
        .map_err(fail)?;
    let interval_text = scope.params.get("interval").unwrap_or("1h").to_owned();
    let interval_s = parse_interval(&interval_text).ok_or_else(|| {
        fail(ApiError::invalid_parameter(
            "interval",
            "format",
            "interval is a whole number of s, m, h or d (e.g. 30s, 5m, 1h, 1d), at most a year".into(),
            &interval_text,
        ))
    })?;
    let spec = StatsSpec {
        account_id: scope.account_id,
        text: scope.text,
        query: scope.query,
        created_from_ms: scope.from_ms,
        created_to_ms: scope.to_ms,
        interval_ms: interval_s * 1000,
    };
    let answer = scope.source.stats(spec).await.map_err(fail)?;
    let stats = answer.value;
    Ok(Success {
        context,
        total_hits: Some(stats.counts.total),
        data: stats_data(&stats, &interval_text),
        paging: None,
        gaps: answer.gaps,
    })
}

/// What both endpoints start from: an account the caller may read, the parameters,
/// the parsed query and the time window.
struct Scope {
    account_id: String,
    source: Source,
    params: Params,
    text: String,
    query: UserQuery,
    from_ms: i64,
    to_ms: i64,
}

impl Scope {
    async fn of(
        state: &AppState,
        context: &RequestContext,
        path: Result<Path<String>, PathRejection>,
        query: Option<&str>,
    ) -> Result<Scope, ApiError> {
        let (account_id, source) = authorize(state, context, path).await?;
        let params = Params::parse(query)?;
        let (text, query) = parse_query(&source, &params)?;
        let (from_ms, to_ms) = params
            .time_range(unix_ms_now(), false)?
            .expect("the range has defaults");
        Ok(Scope {
            account_id,
            source,
            params,
            text,
            query,
            from_ms,
            to_ms,
        })
    }
}

fn parse_query(source: &Source, params: &Params) -> Result<(String, UserQuery), ApiError> {
    let Some(text) = params.get("q") else {
        return Err(ApiError::invalid_parameter(
            "q",
            "required",
            "q is required (use q=* to match every record)".into(),
            "",
        ));
    };
    let query = source
        .parse_query(text)
        .map_err(|err| search_error(SearchError::Query(err), text))?;
    Ok((text.to_owned(), query))
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

pub(crate) fn search_error(err: SearchError, query: &str) -> ApiError {
    match err {
        SearchError::Query(err) => ApiError::Validation(json!({"q": {"syntax": {
            "message": err.message,
            "position": err.position,
            "value": query,
        }}})),
        SearchError::ResultWindow => {
            ApiError::invalid_parameter("start_key", "result_window", err.to_string(), "")
        }
        SearchError::TooManyBuckets { .. } | SearchError::BadInterval => {
            ApiError::invalid_parameter("interval", "range", err.to_string(), "")
        }
        SearchError::Index(err) => err.into(),
    }
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
    if let Some(score) = hit.score {
        item.insert("score".into(), json!(score));
    }
    if let Some(snippet) = &hit.snippet {
        item.insert("snippet".into(), snippet.clone().into());
    }
    item.insert("body_bytes".into(), hit.body_bytes.into());
    item.insert("body_truncated".into(), hit.body_truncated().into());
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
