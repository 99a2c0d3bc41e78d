//! Search over a real on-disk index: what the analyzer finds, phrase order, filters,
//! snippets, exact totals, cursors, stats, account isolation and huge bodies.
//!
//! The corpus is `tests/fixtures/search-corpus.ndjson` (Kazoo documents); the
//! end-to-end test in `services/pivotlog` ingests the same file through Kafka.

use std::collections::{BTreeMap, BTreeSet};

use pivotlog_index::search::{Search, SearchCursor, SearchOrder, SearchPage, SnippetOptions, StatsRequest};
use pivotlog_index::{IndexWriter, PivotIndex, WriterConfig};
use pivotlog_proto::kazoo::event_from_doc;
use pivotlog_proto::{DebugEvent, HttpResponse, Record};

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const OTHER: &str = "0badc0de0badc0de0badc0de0badc0de";

fn corpus() -> Vec<DebugEvent> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/fixtures/search-corpus.ndjson"
    );
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|line| event_from_doc(&serde_json::from_str(line).unwrap()).unwrap())
        .collect()
}

fn build(events: &[DebugEvent]) -> (tempfile::TempDir, PivotIndex) {
    // Two commits, so requests and responses can sit in different segments.
    let (head, tail) = events.split_at(events.len() / 2);
    build_in_commits(&[head, tail])
}

/// An index of `parts`, one commit each.
fn build_in_commits(parts: &[&[DebugEvent]]) -> (tempfile::TempDir, PivotIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let mut writer = IndexWriter::new(
        &index,
        &WriterConfig {
            num_threads: 1,
            memory_budget_bytes: 20 << 20,
            ..Default::default()
        },
    )
    .unwrap();
    for part in parts {
        for event in part.iter() {
            writer.add(event, &[]).unwrap();
        }
        writer.commit().unwrap();
    }
    (dir, index)
}

fn search(
    index: &PivotIndex,
    account: &str,
    query: &str,
    order: SearchOrder,
    page_size: usize,
) -> SearchPage {
    search_from(index, account, query, order, page_size, None)
}

fn search_from(
    index: &PivotIndex,
    account: &str,
    query: &str,
    order: SearchOrder,
    page_size: usize,
    start: Option<SearchCursor>,
) -> SearchPage {
    index
        .search(&Search {
            account_id: account.into(),
            query: query.into(),
            created_from_ms: 0,
            created_to_ms: i64::MAX,
            order,
            page_size,
            start,
            snippet: SnippetOptions::default(),
        })
        .unwrap_or_else(|err| panic!("{query}: {err}"))
}

/// (call id, kind) of every hit.
fn found(index: &PivotIndex, query: &str) -> BTreeSet<(String, String)> {
    let page = search(index, ACCOUNT, query, SearchOrder::Newest, 1000);
    assert_eq!(page.total as usize, page.hits.len(), "{query}");
    page.hits
        .iter()
        .map(|hit| {
            assert_eq!(hit.event.account_id, ACCOUNT);
            let kind = hit.event.kind().unwrap().as_str().to_owned();
            (hit.event.call_id.split('@').next().unwrap().to_owned(), kind)
        })
        .collect()
}

fn responses(calls: &[&str]) -> BTreeSet<(String, String)> {
    calls
        .iter()
        .map(|call| (call.to_string(), "response".to_owned()))
        .collect()
}

#[test]
fn the_analyzer_finds_what_servers_send_back_whole_and_by_parts() {
    let (_dir, index) = build(&corpus());
    let cases: &[(&str, &[&str])] = &[
        ("ECONNREFUSED", &["econn"]),
        ("econnrefused", &["econn"]),
        ("\"10.0.0.5:5432\"", &["econn"]),
        ("10.0.0.5", &["econn"]),
        ("5432", &["econn", "scrambled"]),
        ("psycopg2.OperationalError", &["psyco"]),
        ("operationalerror", &["psyco"]),
        ("PSYCOPG2", &["psyco"]),
        ("java.lang.NullPointerException", &["npe"]),
        ("NullPointerException", &["npe"]),
        ("\"SIP/2.0 486 Busy Here\"", &["busy"]),
        ("\"sip/2.0 486 busy here\"", &["busy"]),
        (r#""\"error\":\"invalid_number\"""#, &["invalid"]),
        ("invalid_number", &["invalid"]),
        ("\"404 Not Found\"", &["notfound"]),
        ("\"/pivot/missing/route\"", &["notfound"]),
        ("missing", &["notfound"]),
    ];
    for (query, calls) in cases {
        assert_eq!(found(&index, query), responses(calls), "{query}");
    }
}

#[test]
fn phrases_match_only_in_order() {
    let (_dir, index) = build(&corpus());
    // Every word of these is in the scrambled body too, in another order.
    for query in [
        "\"404 not found\"",
        "\"busy here\"",
        "invalid_number",
        "\"10.0.0.5\"",
        "java.lang",
    ] {
        let calls = found(&index, query);
        assert!(
            !calls.iter().any(|(call, _)| call == "scrambled"),
            "{query}: {calls:?}"
        );
        assert_eq!(calls.len(), 1, "{query}: {calls:?}");
    }
    let words = found(&index, "404 not found");
    assert!(words.contains(&("scrambled".into(), "response".into())));
}

#[test]
fn field_filters_ranges_and_booleans_combine() {
    let (_dir, index) = build(&corpus());
    let request = |call: &str| (call.to_owned(), "request".to_owned());
    let json_error = ("scrambled".to_owned(), "json_error".to_owned());
    let cases: Vec<(&str, BTreeSet<(String, String)>)> = vec![
        ("status_code:[500 TO 599]", responses(&["econn", "psyco", "npe"])),
        ("status_code:>=500 -java", responses(&["econn", "psyco"])),
        ("status_code:{500 TO 599]", responses(&["econn"])),
        ("status_code:[500 TO 599] AND psycopg2", responses(&["psyco"])),
        (
            "ECONNREFUSED OR NullPointerException",
            responses(&["econn", "npe"]),
        ),
        (
            "(ECONNREFUSED OR NullPointerException) AND status_code:500",
            responses(&["npe"]),
        ),
        ("status_code:404 AND NOT found", BTreeSet::new()),
        ("status_code:IN [400 404]", responses(&["invalid", "notfound"])),
        ("kind:json_error", BTreeSet::from([json_error.clone()])),
        ("kind:JSON_ERROR unexpected", BTreeSet::new()),
        ("kind:json_error script", BTreeSet::from([json_error])),
        ("method:POST", {
            let mut set = responses(&["invalid", "notfound"]);
            set.extend([request("invalid"), request("notfound")]);
            set
        }),
        ("uri:missing AND status_code:404", responses(&["notfound"])),
        ("uri:\"/pivot/missing/route\"", {
            let mut set = responses(&["notfound"]);
            set.insert(request("notfound"));
            set
        }),
        (
            "request_body:\"Caller-ID-Number=15551234\"",
            BTreeSet::from([request("invalid")]),
        ),
        ("req_body:15559876", BTreeSet::from([request("notfound")])),
        ("resp_body:ECONNREFUSED", responses(&["econn"])),
        (
            "response_headers:\"content-type: text/html\"",
            responses(&["psyco", "notfound"]),
        ),
        ("resp_headers:xml", responses(&["busy"])),
        (
            "call_id:\"npe@10.0.0.1\" AND kind:request",
            BTreeSet::from([request("npe")]),
        ),
        ("iteration:2", {
            let mut set = BTreeSet::from([request("scrambled")]);
            set.insert(("scrambled".into(), "json_error".into()));
            set
        }),
        ("-status_code:[200 TO 599] -kind:request", {
            BTreeSet::from([("scrambled".to_owned(), "json_error".to_owned())])
        }),
    ];
    for (query, expected) in cases {
        assert_eq!(found(&index, query), expected, "{query}");
        // Scored, a range on status codes runs on the fast column; unscored (the newest
        // first above, stats), on the status terms' postings: the same records.
        let scored = search(&index, ACCOUNT, query, SearchOrder::Relevance, 1000);
        let scored: BTreeSet<(String, String)> = scored
            .hits
            .iter()
            .map(|hit| {
                let kind = hit.event.kind().unwrap().as_str().to_owned();
                (hit.event.call_id.split('@').next().unwrap().to_owned(), kind)
            })
            .collect();
        assert_eq!(scored, expected, "{query}, by relevance");
    }
    // A response carries its request's URI and method in the hit.
    let page = search(&index, ACCOUNT, "status_code:404", SearchOrder::Newest, 10);
    assert_eq!(page.hits[0].method.as_deref(), Some("post"));
    assert!(page.hits[0]
        .uri
        .as_deref()
        .unwrap()
        .contains("/pivot/missing/route"));
}

#[test]
fn snippets_highlight_the_matching_words_html_escaped() {
    let (_dir, index) = build(&corpus());
    let page = search(
        &index,
        ACCOUNT,
        "psycopg2.OperationalError",
        SearchOrder::Newest,
        10,
    );
    let snippet = page.hits[0].snippet.as_deref().unwrap();
    assert!(
        snippet.contains("&lt;pre&gt;<em>psycopg2</em>.<em>OperationalError</em>"),
        "{snippet}"
    );
    let page = search(&index, ACCOUNT, "kind:json_error script", SearchOrder::Newest, 10);
    let snippet = page.hits[0].snippet.as_deref().unwrap();
    assert!(snippet.contains("&lt;<em>script</em>&gt;"), "{snippet}");
    assert!(!snippet.contains("<script"), "{snippet}");
    // No body word matched: the snippet is the start of the body.
    let page = search(&index, ACCOUNT, "status_code:502", SearchOrder::Newest, 10);
    assert!(page.hits[0]
        .snippet
        .as_deref()
        .unwrap()
        .starts_with("Error: connect ECONNREFUSED"));

    let custom = index
        .search(&Search {
            account_id: ACCOUNT.into(),
            query: "ECONNREFUSED".into(),
            created_from_ms: 0,
            created_to_ms: i64::MAX,
            order: SearchOrder::Relevance,
            page_size: 10,
            start: None,
            snippet: SnippetOptions {
                max_chars: 40,
                pre_tag: "[[".into(),
                post_tag: "]]".into(),
            },
        })
        .unwrap();
    let hit = &custom.hits[0];
    assert!(hit.score.is_some());
    let snippet = hit.snippet.as_deref().unwrap();
    assert!(
        snippet.contains("[[ECONNREFUSED]]") && snippet.len() < 60,
        "{snippet}"
    );
}

/// Calls spread over time with many records sharing a millisecond.
fn many_calls(account: &str, calls: usize) -> Vec<DebugEvent> {
    (0..calls)
        .flat_map(|call| {
            (0..3).map(move |i| DebugEvent {
                schema_version: 1,
                event_id: format!("{account}-{call}-{i}"),
                account_id: account.into(),
                ancestor_ids: vec![],
                call_id: format!("call-{call}"),
                iteration: i + 1,
                // Ten records per millisecond: the cursor must break ties.
                created_unix_ms: 1_700_000_000_000 + (call as i64 * 3 + i64::from(i)) / 10,
                node: "n".into(),
                record: Some(Record::Response(HttpResponse {
                    status_code: [200, 404, 500][(call + i as usize) % 3],
                    body: format!(
                        "timeout while calling upstream {}",
                        if call % 7 == 0 { "rare" } else { "" }
                    ),
                    ..Default::default()
                })),
            })
        })
        .collect()
}

#[test]
fn cursors_page_through_every_hit_once_in_order_with_exact_totals() {
    let mut events = many_calls(ACCOUNT, 100);
    events.extend(many_calls(OTHER, 20));
    let (_dir, index) = build(&events);
    for order in [SearchOrder::Newest, SearchOrder::Oldest, SearchOrder::Relevance] {
        let mut seen = Vec::new();
        let mut start = None;
        loop {
            let page = search_from(&index, ACCOUNT, "timeout", order, 7, start.clone());
            assert_eq!(page.total, 300, "{order:?}");
            assert!(page.hits.len() <= 7);
            seen.extend(
                page.hits
                    .iter()
                    .map(|hit| (hit.event.created_unix_ms, hit.event.event_id.clone())),
            );
            match page.next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        let unique: BTreeSet<_> = seen.iter().map(|(_, id)| id.clone()).collect();
        assert_eq!(unique.len(), 300, "{order:?}: every hit exactly once");
        assert!(seen.iter().all(|(_, id)| id.starts_with(ACCOUNT)));
        let times: Vec<i64> = seen.iter().map(|(time, _)| *time).collect();
        match order {
            SearchOrder::Newest => assert!(times.windows(2).all(|w| w[0] >= w[1])),
            SearchOrder::Oldest => assert!(times.windows(2).all(|w| w[0] <= w[1])),
            SearchOrder::Relevance => {}
        }
    }
    assert_eq!(search(&index, ACCOUNT, "rare", SearchOrder::Newest, 1).total, 45);
}

#[test]
fn stats_count_every_record_by_its_status_or_none() {
    let events = corpus();
    let (_dir, index) = build(&events);
    let times = events.iter().map(|event| event.created_unix_ms);
    let (first, last) = (times.clone().min().unwrap(), times.max().unwrap());
    let count = || {
        index
            .search_stats(&StatsRequest {
                account_id: ACCOUNT.into(),
                query: "*".into(),
                created_from_ms: first,
                created_to_ms: last,
                interval_ms: last - first + 1,
            })
            .unwrap()
            .counts
    };
    let as_written = count();
    // Settled into one segment without deletions, matches reach the collector a block
    // at a time instead of one by one.
    let mut writer = IndexWriter::new(&index, &WriterConfig::default()).unwrap();
    writer.settle_now(last + 2 * 3_600_000).unwrap();
    writer.wait_merging_threads().unwrap();
    index.reload().unwrap();
    let info = index.info().unwrap();
    assert!(info.slices.iter().all(|slice| slice.segments == 1), "settled");
    let all = count();
    assert_eq!(all, as_written);
    let mut expected: BTreeMap<Option<u64>, u64> = BTreeMap::new();
    for event in events.iter().filter(|event| event.account_id == ACCOUNT) {
        let status = match &event.record {
            Some(Record::Response(response)) => Some(u64::from(response.status_code)),
            _ => None,
        };
        *expected.entry(status).or_default() += 1;
    }
    assert!(
        expected.contains_key(&None),
        "requests have no status: {expected:?}"
    );
    assert_eq!(all.by_status, expected);
    assert_eq!(all.total, expected.values().sum::<u64>());
}

#[test]
fn stats_add_up_to_the_total() {
    let (_dir, index) = build(&many_calls(ACCOUNT, 100));
    let start = 1_700_000_000_000;
    let stats = index
        .search_stats(&StatsRequest {
            account_id: ACCOUNT.into(),
            query: "timeout -status_code:200".into(),
            created_from_ms: start,
            created_to_ms: start + 29,
            interval_ms: 10,
        })
        .unwrap();
    let counts = &stats.counts;
    assert_eq!(counts.total, 200);
    assert_eq!(counts.by_status.values().sum::<u64>(), counts.total);
    assert_eq!(counts.by_status.get(&Some(404)), Some(&100));
    assert_eq!(counts.by_status.get(&Some(500)), Some(&100));
    assert_eq!(counts.by_time.iter().sum::<u64>(), counts.total);
    assert_eq!(counts.by_time.len(), 3);
    // 100 records per 10 ms bucket, two thirds of them not 200s.
    let expected: Vec<u64> = (0..3)
        .map(|bucket| {
            many_calls(ACCOUNT, 100)
                .iter()
                .filter(|e| (e.created_unix_ms - start) / 10 == bucket)
                .filter(|e| !matches!(&e.record, Some(Record::Response(r)) if r.status_code == 200))
                .count() as u64
        })
        .collect();
    assert_eq!(counts.by_time, expected);
    let page = search(
        &index,
        ACCOUNT,
        "timeout -status_code:200",
        SearchOrder::Newest,
        1,
    );
    assert_eq!(page.total, counts.total);

    let too_fine = index.search_stats(&StatsRequest {
        account_id: ACCOUNT.into(),
        query: "timeout -status_code:200".into(),
        created_from_ms: 0,
        created_to_ms: 86_400_000,
        interval_ms: 60_000,
    });
    assert!(too_fine.unwrap_err().to_string().contains("1441 buckets"));
}

#[test]
fn no_query_reaches_another_account() {
    let (_dir, index) = build(&corpus());
    for query in [
        "*",
        "ECONNREFUSED",
        "-nothing",
        "(a OR b OR *) OR *",
        "status_code:[0 TO 999]",
    ] {
        let page = search(&index, ACCOUNT, query, SearchOrder::Newest, 1000);
        assert!(
            page.hits.iter().all(|hit| hit.event.account_id == ACCOUNT),
            "{query}"
        );
        let other = search(&index, OTHER, query, SearchOrder::Newest, 1000);
        assert!(
            other.hits.iter().all(|hit| hit.event.account_id == OTHER),
            "{query}"
        );
    }
    for query in [
        "account_id:0badc0de0badc0de0badc0de0badc0de",
        "doc_type:call",
        "event_id:x",
        "payload:x",
    ] {
        assert!(index.parse_query(query).is_err(), "{query}");
    }
}

#[test]
fn a_ten_megabyte_body_is_indexed_in_part_and_says_so() {
    let mut body = String::from("upstream said ECONNREFUSED first\n");
    while body.len() < 10 << 20 {
        body.push_str("lorem ipsum dolor sit amet ");
    }
    body.push_str("needleafterthelimit");
    let event = DebugEvent {
        schema_version: 1,
        event_id: "huge".into(),
        account_id: ACCOUNT.into(),
        ancestor_ids: vec![],
        call_id: "huge-call".into(),
        iteration: 1,
        created_unix_ms: 1_700_000_000_000,
        node: "n".into(),
        record: Some(Record::Response(HttpResponse {
            status_code: 500,
            body: body.clone(),
            ..Default::default()
        })),
    };
    let (_dir, index) = build(&[event]);
    let page = search(&index, ACCOUNT, "ECONNREFUSED", SearchOrder::Newest, 10);
    let hit = &page.hits[0];
    assert!(hit.body_truncated());
    assert_eq!(hit.body_bytes, body.len());
    assert!(hit.snippet.as_deref().unwrap().len() < 400);
    // The stored record keeps the whole body; only the indexed prefix is searchable.
    assert_eq!(
        index.call_records(ACCOUNT, "huge-call").unwrap()[0],
        page.hits[0].event
    );
    assert_eq!(
        search(&index, ACCOUNT, "needleafterthelimit", SearchOrder::Newest, 10).total,
        0
    );
}

#[test]
fn snippets_of_long_bodies_show_the_match_wherever_it_is() {
    let response = |id: &str, body: String| DebugEvent {
        schema_version: 1,
        event_id: id.into(),
        account_id: ACCOUNT.into(),
        ancestor_ids: vec![],
        call_id: format!("call-{id}"),
        iteration: 1,
        created_unix_ms: 1_700_000_000_000,
        node: "n".into(),
        record: Some(Record::Response(HttpResponse {
            status_code: 500,
            body,
            ..Default::default()
        })),
    };
    let filler = "lorem ipsum dolor sit amet ".repeat(400);
    let events = [
        response("far", format!("{filler} the upstream said Needle here {filler}")),
        // The first occurrence of the text is inside a longer word; the word itself
        // comes much later.
        response("inside", format!("needles {filler} a lone needle {filler}")),
    ];
    let (_dir, index) = build(&events);
    let page = search(&index, ACCOUNT, "needle", SearchOrder::Newest, 10);
    assert_eq!(page.total, 2);
    for hit in &page.hits {
        let snippet = hit.snippet.as_deref().unwrap();
        assert!(
            snippet.contains("<em>Needle</em>") || snippet.contains("<em>needle</em>"),
            "{snippet}"
        );
        assert!(snippet.len() < 400, "{snippet}");
    }
}

/// A hit carries the signature its record was indexed with (what `signature:ID` finds
/// and the signatures page counts); requests have none. A segment of requests alone
/// (a commit between a call's request and its response) has no signature values, and
/// neither hits nor signature counts over it fail.
#[test]
fn hits_carry_their_indexed_signature_and_request_only_segments_count_none() {
    let events = corpus();
    let requests: Vec<DebugEvent> = events
        .iter()
        .filter(|e| matches!(e.record, Some(Record::Request(_))))
        .cloned()
        .collect();
    let others: Vec<DebugEvent> = events
        .iter()
        .filter(|e| !matches!(e.record, Some(Record::Request(_))))
        .cloned()
        .collect();
    assert!(!requests.is_empty() && !others.is_empty());
    let (_dir, index) = build_in_commits(&[&requests, &others]);
    index.reload().unwrap();
    let page = search(&index, ACCOUNT, "*", SearchOrder::Newest, 1000);
    assert!(page.hits.len() > 2);
    for hit in &page.hits {
        let record = hit.event.record.as_ref().unwrap();
        assert_eq!(
            hit.signature,
            pivotlog_index::search::signature_of(record),
            "{}",
            hit.event.event_id
        );
    }
    assert!(page.hits.iter().any(|hit| hit.signature.is_none()));
    assert!(page.hits.iter().any(|hit| hit.signature.is_some()));
    let stats = StatsRequest {
        account_id: ACCOUNT.into(),
        query: "*".into(),
        created_from_ms: events.iter().map(|e| e.created_unix_ms).min().unwrap(),
        created_to_ms: events.iter().map(|e| e.created_unix_ms).max().unwrap() + 1,
        interval_ms: 86_400_000,
    };
    let groups = index.signature_groups(&stats).unwrap();
    let signed = page.hits.iter().filter(|hit| hit.signature.is_some()).count() as u64;
    assert_eq!(groups.groups.iter().map(|g| g.records).sum::<u64>(), signed);
}
