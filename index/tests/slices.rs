//! Reads over many time slices stop early and build only the final page: these check
//! that the answers are still exactly those of a brute-force filter of the records, at
//! the edges where stopping early could go wrong: a cursor crossing a slice boundary,
//! calls arriving out of order so their first record sits in an earlier day than their
//! slice, a slice without the account's calls (and a day without a slice) in the middle,
//! a page exactly full at a slice boundary, calls sharing a millisecond.

use std::collections::BTreeMap;

use pivotlog_index::search::{Search, SearchCursor, SearchOrder, SnippetOptions, StatsRequest};
use pivotlog_index::{event_order, CallCursor, IndexWriter, ListCalls, PivotIndex, WriterConfig};
use pivotlog_proto::{DebugEvent, HttpResponse, Record};

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const OTHER: &str = "0badc0de0badc0de0badc0de0badc0de";
const DAY_MS: i64 = 86_400_000;
/// 2024-03-12T00:00:00Z.
const MIDNIGHT: i64 = 1_710_201_600_000;

fn event(account: &str, call: &str, n: u32, created_ms: i64) -> DebugEvent {
    DebugEvent {
        schema_version: 1,
        event_id: format!("{call}-{n}"),
        account_id: account.into(),
        ancestor_ids: vec![],
        call_id: call.into(),
        iteration: n,
        created_unix_ms: created_ms,
        node: "kz".into(),
        record: Some(Record::Response(HttpResponse {
            status_code: if n.is_multiple_of(2) { 500 } else { 200 },
            body: format!("answer {} of {call}", if n == 1 { "first" } else { "later" }),
            ..Default::default()
        })),
    }
}

/// Batches of records, each committed on its own, in arrival order.
fn traffic() -> Vec<Vec<DebugEvent>> {
    let mut batches = Vec::new();
    let day = |d: i64| MIDNIGHT + d * DAY_MS;
    for d in [0, 1, 4, 5] {
        let mut batch = Vec::new();
        for c in 0..4i64 {
            let call = format!("d{d}-c{c}");
            // Calls 1 and 2 of a day share their millisecond.
            let at = day(d) + 3_600_000 * (1 + c.min(1) + c.saturating_sub(1));
            let at = if c == 2 { at - 3_600_000 } else { at };
            batch.push(event(ACCOUNT, &call, 1, at));
            batch.push(event(ACCOUNT, &call, 2, at + 60_000));
        }
        if d == 4 {
            // Later than the calls that arrive late into day 5's slice (below).
            batch.push(event(ACCOUNT, "d4-late", 1, day(5) - 300_000));
            batch.push(event(ACCOUNT, "d4-late", 2, day(5) - 240_000));
        }
        batches.push(batch);
    }
    // Day 2 holds only another account's calls; day 3 has no slice.
    batches.insert(
        2,
        (0..3)
            .map(|c| event(OTHER, &format!("other-{c}"), 1, day(2) + 1_000 * c))
            .collect(),
    );
    // Calls across the midnight ending day 4, their later record arriving first: they
    // sit in day 5's slice, whose range then starts in day 4, before day 4's last call.
    let mut late = Vec::new();
    for c in 0..3 {
        let call = format!("x{c}");
        // x0's first record shares its millisecond with d4-late's last.
        let at = if c == 0 {
            day(5) - 240_000
        } else {
            day(5) - 600_000 + c * 1_000
        };
        late.push(event(ACCOUNT, &call, 2, day(5) + 300_000 + c));
        late.push(event(ACCOUNT, &call, 1, at));
    }
    batches.push(late);
    batches
}

fn build() -> (tempfile::TempDir, PivotIndex, Vec<DebugEvent>) {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let config = WriterConfig {
        num_threads: 1,
        memory_budget_bytes: 20 << 20,
        ..Default::default()
    };
    let mut writer = IndexWriter::new(&index, &config).unwrap();
    let mut all = Vec::new();
    for (i, batch) in traffic().into_iter().enumerate() {
        for event in &batch {
            writer.add(event, &[]).unwrap();
        }
        writer.set_position("t", 0, i as i64 + 1);
        writer.commit().unwrap();
        all.extend(batch);
    }
    (dir, index, all)
}

/// The account's calls as the listing orders them: (first record's time, call id).
fn calls(events: &[DebugEvent]) -> Vec<(i64, String)> {
    let mut first: BTreeMap<&str, i64> = BTreeMap::new();
    for event in events.iter().filter(|e| e.account_id == ACCOUNT) {
        let at = first.entry(&event.call_id).or_insert(i64::MAX);
        *at = (*at).min(event.created_unix_ms);
    }
    let mut calls: Vec<(i64, String)> = first.into_iter().map(|(id, at)| (at, id.to_owned())).collect();
    calls.sort();
    calls
}

#[test]
fn the_calls_sit_where_the_edges_need_them() {
    let (_dir, index, _) = build();
    let info = index.info().unwrap();
    let names: Vec<&str> = info.slices.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "2024-03-12",
            "2024-03-13",
            "2024-03-14",
            "2024-03-16",
            "2024-03-17"
        ]
    );
    let last = info.slices.last().unwrap();
    assert!(
        last.min_created_ms.unwrap() < MIDNIGHT + 5 * DAY_MS,
        "day 5's slice starts in day 4"
    );
}

#[test]
fn listing_pages_walk_every_call_once_in_order_across_slices() {
    let (_dir, index, events) = build();
    let all = calls(&events);
    let windows = [
        (0, i64::MAX),
        (MIDNIGHT + DAY_MS / 2, MIDNIGHT + 5 * DAY_MS - 300_000),
        (
            MIDNIGHT + 4 * DAY_MS + 3_600_000,
            MIDNIGHT + 5 * DAY_MS + 7_200_000,
        ),
    ];
    for (from, to) in windows {
        for ascending in [false, true] {
            let mut expected: Vec<&(i64, String)> =
                all.iter().filter(|(at, _)| (from..=to).contains(at)).collect();
            if !ascending {
                expected.reverse();
            }
            // 4: a day's calls exactly; 7 and 3: pages ending at and across slice edges.
            for size in [1, 2, 3, 4, 5, 7, 8, 50] {
                let mut start: Option<CallCursor> = None;
                let mut seen = 0;
                loop {
                    let request = ListCalls {
                        account_id: ACCOUNT.into(),
                        created_from_ms: from,
                        created_to_ms: to,
                        ascending,
                        page_size: Some(size),
                        start: start.clone(),
                    };
                    let page = index.list_calls(&request).unwrap();
                    let want: Vec<&(i64, String)> = expected.iter().skip(seen).take(size).copied().collect();
                    let got: Vec<(i64, String)> = page
                        .calls
                        .iter()
                        .map(|c| (c.first_created_ms, c.call_id.clone()))
                        .collect();
                    assert_eq!(
                        got,
                        want.into_iter().cloned().collect::<Vec<_>>(),
                        "page at {seen}, size {size}, ascending {ascending}, window {from}..{to}"
                    );
                    seen += page.calls.len();
                    let next_expected = expected.get(seen).map(|(at, id)| CallCursor {
                        created_ms: *at,
                        call_id: id.clone(),
                    });
                    assert_eq!(page.next, next_expected, "cursor after {seen}, size {size}");
                    match page.next {
                        Some(next) => start = Some(next),
                        None => break,
                    }
                }
                assert_eq!(seen, expected.len());
            }
            // Without a page size: every call at once.
            let request = ListCalls {
                account_id: ACCOUNT.into(),
                created_from_ms: from,
                created_to_ms: to,
                ascending,
                page_size: None,
                start: None,
            };
            let page = index.list_calls(&request).unwrap();
            assert_eq!(page.calls.len(), expected.len());
            assert!(page.next.is_none());
        }
    }
}

/// The account's records matching `word` in time order, as the search cursor orders them.
fn matching(events: &[DebugEvent], word: &str) -> Vec<(i64, u64, String)> {
    let mut found: Vec<(i64, u64, String)> = events
        .iter()
        .filter(|e| e.account_id == ACCOUNT)
        .filter(|e| match &e.record {
            Some(Record::Response(r)) => r.body.split(' ').any(|w| w == word),
            _ => false,
        })
        .map(|e| (e.created_unix_ms, event_order(&e.event_id), e.event_id.clone()))
        .collect();
    found.sort();
    found
}

fn search(word: &str, order: SearchOrder, size: usize, start: Option<SearchCursor>) -> Search {
    Search {
        account_id: ACCOUNT.into(),
        query: word.into(),
        created_from_ms: 0,
        created_to_ms: i64::MAX,
        order,
        page_size: size,
        start,
        snippet: SnippetOptions::default(),
    }
}

#[test]
fn search_pages_walk_every_match_once_in_order_with_exact_totals() {
    let (_dir, index, events) = build();
    for word in ["answer", "first", "later"] {
        let all = matching(&events, word);
        for order in [SearchOrder::Newest, SearchOrder::Oldest] {
            let mut expected = all.clone();
            if order == SearchOrder::Newest {
                expected.reverse();
            }
            for size in [1, 3, 4, 8, 9, 100] {
                let (mut start, mut seen) = (None, 0);
                loop {
                    let page = index.search(&search(word, order, size, start.clone())).unwrap();
                    assert_eq!(page.total, all.len() as u64, "total of {word}");
                    let got: Vec<String> = page.hits.iter().map(|h| h.event.event_id.clone()).collect();
                    let want: Vec<String> = expected
                        .iter()
                        .skip(seen)
                        .take(size)
                        .map(|m| m.2.clone())
                        .collect();
                    assert_eq!(got, want, "{word} {order:?} size {size} at {seen}");
                    for hit in &page.hits {
                        let snippet = hit.snippet.as_deref().unwrap_or_default();
                        assert!(snippet.contains(&format!("<em>{word}</em>")), "{snippet}");
                    }
                    seen += page.hits.len();
                    let next_expected = expected.get(seen).map(|m| SearchCursor::Time(m.0, m.1));
                    assert_eq!(page.next, next_expected);
                    match page.next {
                        Some(next) => start = Some(next),
                        None => break,
                    }
                }
                assert_eq!(seen, expected.len());
            }
        }
        // Relevance: every match once over the pages, the exact total on each.
        for size in [1, 4, 7] {
            let (mut start, mut seen) = (None, Vec::new());
            loop {
                let page = index
                    .search(&search(word, SearchOrder::Relevance, size, start.clone()))
                    .unwrap();
                assert_eq!(page.total, all.len() as u64);
                seen.extend(page.hits.iter().map(|h| h.event.event_id.clone()));
                match page.next {
                    Some(next) => start = Some(next),
                    None => break,
                }
            }
            seen.sort();
            let mut want: Vec<String> = all.iter().map(|m| m.2.clone()).collect();
            want.sort();
            assert_eq!(seen, want, "relevance pages of {word}, size {size}");
        }
    }
}

#[test]
fn stats_and_records_of_out_of_order_calls_are_whole() {
    let (_dir, index, events) = build();
    let stats = index
        .search_stats(&StatsRequest {
            account_id: ACCOUNT.into(),
            query: "answer".into(),
            created_from_ms: MIDNIGHT,
            created_to_ms: MIDNIGHT + 6 * DAY_MS - 1,
            interval_ms: DAY_MS,
        })
        .unwrap();
    let mine: Vec<&DebugEvent> = events.iter().filter(|e| e.account_id == ACCOUNT).collect();
    assert_eq!(stats.counts.total, mine.len() as u64);
    let per_day: Vec<u64> = (0..6)
        .map(|d| {
            let day = MIDNIGHT + d * DAY_MS..MIDNIGHT + (d + 1) * DAY_MS;
            mine.iter().filter(|e| day.contains(&e.created_unix_ms)).count() as u64
        })
        .collect();
    assert_eq!(stats.counts.by_time, per_day);
    for (_, call) in calls(&events) {
        let records = index.call_records(ACCOUNT, &call).unwrap();
        let ids: Vec<&str> = records.iter().map(|r| r.event_id.as_str()).collect();
        assert_eq!(
            ids,
            [format!("{call}-1"), format!("{call}-2")],
            "records of {call}"
        );
    }
    assert!(index.call_records(ACCOUNT, "nobody").unwrap().is_empty());
    assert!(index.call_records(OTHER, "d0-c0").unwrap().is_empty());
    let shard = index.only_partitions(&[1]);
    assert!(shard.call_records(ACCOUNT, "x0").unwrap().is_empty());
}

/// One day of a busy account, most of its calls in one burst, with another account's
/// calls in between: a listing page reads a window of the day, widened until full.
#[test]
fn listing_pages_read_from_a_window_equal_the_whole_day() {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let config = WriterConfig {
        num_threads: 1,
        memory_budget_bytes: 20 << 20,
        ..Default::default()
    };
    let mut writer = IndexWriter::new(&index, &config).unwrap();
    let mut events = Vec::new();
    for c in 0..400i64 {
        // 300 calls in the first hour, every third pair in the same millisecond; 100
        // over the rest of the day.
        let at = if c < 300 {
            MIDNIGHT + 60_000 + (c / 3) * 30_000
        } else {
            MIDNIGHT + 3_600_000 + (c - 300) * 800_000
        };
        let account = if c % 7 == 3 { OTHER } else { ACCOUNT };
        events.push(event(account, &format!("busy-{c}"), 1, at));
    }
    for (i, chunk) in events.chunks(90).enumerate() {
        for event in chunk {
            writer.add(event, &[]).unwrap();
        }
        writer.set_position("t", 0, i as i64 + 1);
        writer.commit().unwrap();
    }
    let all = calls(&events);
    for ascending in [false, true] {
        let mut expected = all.clone();
        if !ascending {
            expected.reverse();
        }
        for size in [1, 2, 7, 50] {
            let (mut start, mut seen) = (None, 0);
            loop {
                let request = ListCalls {
                    account_id: ACCOUNT.into(),
                    created_from_ms: 0,
                    created_to_ms: i64::MAX,
                    ascending,
                    page_size: Some(size),
                    start: start.clone(),
                };
                let page = index.list_calls(&request).unwrap();
                let got: Vec<(i64, String)> = page
                    .calls
                    .iter()
                    .map(|c| (c.first_created_ms, c.call_id.clone()))
                    .collect();
                let want: Vec<(i64, String)> = expected.iter().skip(seen).take(size).cloned().collect();
                assert_eq!(got, want, "size {size}, ascending {ascending}, at {seen}");
                seen += got.len();
                let next_expected = expected.get(seen).map(|(at, id)| CallCursor {
                    created_ms: *at,
                    call_id: id.clone(),
                });
                assert_eq!(page.next, next_expected);
                match page.next {
                    Some(next) => start = Some(next),
                    None => break,
                }
            }
            assert_eq!(seen, expected.len());
        }
    }
}
