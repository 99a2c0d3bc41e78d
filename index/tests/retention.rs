//! Time slices and retention on a real on-disk index: one slice per UTC day, calls whole
//! in their first record's slice, late records in the right slice, answers at slice
//! edges equal to a brute-force filter of the same records, and whole slices dropped
//! past the retention, with the disk bounded.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use pivotlog_index::search::{Search, SearchOrder, SnippetOptions, StatsRequest};
use pivotlog_index::{AddOutcome, IndexWriter, ListCalls, PivotIndex, WriterConfig};
use pivotlog_proto::{DebugEvent, HttpResponse, Record};

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const DAY_MS: i64 = 86_400_000;
/// 2024-03-12T00:00:00Z.
const MIDNIGHT: i64 = 1_710_201_600_000;

fn event(id: &str, call: &str, iteration: u32, created_ms: i64) -> DebugEvent {
    DebugEvent {
        schema_version: 1,
        event_id: id.into(),
        account_id: ACCOUNT.into(),
        ancestor_ids: vec![],
        call_id: call.into(),
        iteration,
        created_unix_ms: created_ms,
        node: "kz".into(),
        record: Some(Record::Response(HttpResponse {
            status_code: if iteration.is_multiple_of(2) { 500 } else { 200 },
            body: format!("answer of {call} at {created_ms}"),
            ..Default::default()
        })),
    }
}

fn config(retention: Option<Duration>) -> WriterConfig {
    WriterConfig {
        num_threads: 1,
        memory_budget_bytes: 20 << 20,
        retention,
        ..Default::default()
    }
}

/// Calls every 3 hours over `days` days from `start`, two records 40 minutes apart:
/// calls starting before midnight end after it.
fn traffic(start: i64, days: i64) -> Vec<DebugEvent> {
    let mut events = Vec::new();
    let calls = days * 8;
    for call in 0..calls {
        let at = start + call * 3 * 3_600_000 + 23 * 60_000 * (call % 3);
        let id = format!("call-{call}");
        events.push(event(&format!("{id}-1"), &id, 1, at));
        events.push(event(&format!("{id}-2"), &id, 2, at + 40 * 60_000));
    }
    events
}

fn slices(index: &PivotIndex) -> BTreeMap<String, u64> {
    index.reload().unwrap();
    let info = index.info().unwrap();
    info.slices.iter().map(|s| (s.name.clone(), s.records)).collect()
}

#[test]
fn records_go_to_their_calls_day_and_late_records_to_the_right_slice() {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let mut writer = IndexWriter::new(&index, &config(None)).unwrap();
    // A call from 23:50 to 00:10: both records in the first day's slice.
    writer
        .add(&event("a1", "across", 1, MIDNIGHT - 600_000), &[])
        .unwrap();
    writer
        .add(&event("a2", "across", 2, MIDNIGHT + 600_000), &[])
        .unwrap();
    writer
        .add(&event("b1", "today", 1, MIDNIGHT + DAY_MS / 2), &[])
        .unwrap();
    writer.commit().unwrap();
    // Late: a new call two days back, and one more record of the first call.
    writer
        .add(&event("c1", "late", 1, MIDNIGHT - 2 * DAY_MS + 5), &[])
        .unwrap();
    writer
        .add(&event("a3", "across", 3, MIDNIGHT + 700_000), &[])
        .unwrap();
    writer.commit().unwrap();
    assert_eq!(
        slices(&index),
        BTreeMap::from([
            ("2024-03-10".to_owned(), 1),
            ("2024-03-11".to_owned(), 3),
            ("2024-03-12".to_owned(), 1),
        ])
    );
    let info = index.info().unwrap();
    let across = &info.slices[1];
    assert_eq!(across.min_created_ms, Some(MIDNIGHT - 600_000));
    assert_eq!(
        across.max_created_ms,
        Some(MIDNIGHT + 700_000),
        "the range covers what it holds"
    );
    // The call is listed once, with all of its records.
    let page = index.list_calls(&listing(0, i64::MAX)).unwrap();
    let calls: Vec<_> = page
        .calls
        .iter()
        .map(|c| (c.call_id.as_str(), c.records))
        .collect();
    assert_eq!(calls, [("today", 1), ("across", 3), ("late", 1)]);
    assert_eq!(index.call_records(ACCOUNT, "across").unwrap().len(), 3);
    // Reopened from disk, the slices and the checkpoint are there.
    drop(writer);
    let reopened = PivotIndex::open_or_create(dir.path()).unwrap();
    assert_eq!(slices(&reopened), slices(&index));
    assert_eq!(reopened.count_records().unwrap(), 5);
}

fn listing(from: i64, to: i64) -> ListCalls {
    ListCalls {
        account_id: ACCOUNT.into(),
        created_from_ms: from,
        created_to_ms: to,
        ascending: false,
        page_size: Some(1000),
        start: None,
    }
}

#[test]
fn answers_at_slice_edges_equal_a_filter_of_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let mut writer = IndexWriter::new(&index, &config(None)).unwrap();
    let events = traffic(MIDNIGHT - 2 * DAY_MS, 4);
    for event in &events {
        writer.add(event, &[]).unwrap();
    }
    writer.commit().unwrap();
    assert_eq!(slices(&index).len(), 4);
    // Each call's first record decides where it is listed.
    let first: BTreeMap<&str, i64> = events.iter().fold(BTreeMap::new(), |mut first, e| {
        let at = first.entry(e.call_id.as_str()).or_insert(e.created_unix_ms);
        *at = (*at).min(e.created_unix_ms);
        first
    });
    for edge in [MIDNIGHT - DAY_MS, MIDNIGHT, MIDNIGHT + DAY_MS] {
        for (from, to) in [
            (edge - 1, edge),
            (edge, edge + 1),
            (edge - 3_600_000, edge - 1),
            (edge, edge + 7_200_000),
            (edge - DAY_MS, edge),
            (edge - 1_200_000, edge + 1_200_000),
        ] {
            let listed: BTreeSet<String> = index
                .list_calls(&listing(from, to))
                .unwrap()
                .calls
                .into_iter()
                .map(|c| c.call_id)
                .collect();
            let expected: BTreeSet<String> = first
                .iter()
                .filter(|(_, at)| (from..=to).contains(*at))
                .map(|(call, _)| call.to_string())
                .collect();
            assert_eq!(listed, expected, "listing {from}..={to}");
            let in_range: Vec<&DebugEvent> = events
                .iter()
                .filter(|e| (from..=to).contains(&e.created_unix_ms))
                .collect();
            let page = index
                .search(&Search {
                    account_id: ACCOUNT.into(),
                    query: "*".into(),
                    created_from_ms: from,
                    created_to_ms: to,
                    order: SearchOrder::Oldest,
                    page_size: 1000,
                    start: None,
                    snippet: SnippetOptions::default(),
                })
                .unwrap();
            assert_eq!(page.total as usize, in_range.len(), "search {from}..={to}");
            let found: Vec<&str> = page.hits.iter().map(|h| h.event.event_id.as_str()).collect();
            let mut expected: Vec<&DebugEvent> = in_range.clone();
            expected.sort_by_key(|e| (e.created_unix_ms, pivotlog_index::event_order(&e.event_id)));
            let expected: Vec<&str> = expected.iter().map(|e| e.event_id.as_str()).collect();
            assert_eq!(found, expected, "search order {from}..={to}");
            let stats = index
                .search_stats(&StatsRequest {
                    account_id: ACCOUNT.into(),
                    query: "*".into(),
                    created_from_ms: from,
                    created_to_ms: to,
                    interval_ms: 600_000,
                })
                .unwrap();
            assert_eq!(stats.counts.total as usize, in_range.len());
            let errors = in_range.iter().filter(|e| e.iteration.is_multiple_of(2)).count() as u64;
            assert_eq!(
                stats.counts.by_status.get(&Some(500)).copied().unwrap_or(0),
                errors
            );
        }
    }
}

#[test]
fn slices_past_the_retention_are_dropped_whole_and_the_disk_stays_bounded() {
    let now = pivotlog_proto::time::now_unix_ms();
    let retention = Duration::from_secs(2 * 86_400);
    let kept = tempfile::tempdir().unwrap();
    let everything = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(kept.path()).unwrap();
    let unbounded = PivotIndex::open_or_create(everything.path()).unwrap();
    let mut writer = IndexWriter::new(&index, &config(Some(retention))).unwrap();
    let mut reference = IndexWriter::new(&unbounded, &config(None)).unwrap();
    // Six days of traffic, a day at a time, the way a live topic brings it. The six
    // days end at today's midnight, so every day has records whatever the time of day.
    let start = (now / DAY_MS - 6) * DAY_MS;
    let events: Vec<DebugEvent> = traffic(start, 6)
        .into_iter()
        .filter(|e| e.created_unix_ms <= now)
        .collect();
    let horizon = now - retention.as_millis() as i64;
    let mut expired = 0;
    for day in events.chunk_by(|a, b| a.created_unix_ms / DAY_MS == b.created_unix_ms / DAY_MS) {
        for event in day {
            if writer.add(event, &[]).unwrap() == AddOutcome::Expired {
                expired += 1;
                assert!(event.created_unix_ms < horizon);
            }
            reference.add(event, &[]).unwrap();
        }
        writer.commit().unwrap();
        reference.commit().unwrap();
    }
    let kept_slices = slices(&index);
    assert_eq!(slices(&unbounded).len(), 6);
    assert!(kept_slices.len() <= 3, "{kept_slices:?}");
    // Only whole slices go: every record at or after the horizon is still there, and
    // nothing older than the day before the horizon.
    let remaining = index.all_records().unwrap();
    let newer = events.iter().filter(|e| e.created_unix_ms >= horizon).count();
    assert!(remaining.len() >= newer);
    assert!(remaining.iter().all(|e| e.created_unix_ms >= horizon - DAY_MS));
    assert!(expired > 0, "records past the retention are refused");
    let (kept_bytes, all_bytes) = (index.info().unwrap().bytes(), unbounded.info().unwrap().bytes());
    eprintln!(
        "retention 2 d over 6 d of traffic: {} slices, {kept_bytes} bytes; without: 6 slices, {all_bytes} bytes",
        kept_slices.len()
    );
    assert!(kept_bytes * 3 < all_bytes * 2, "{kept_bytes} vs {all_bytes}");
    // The slice directories are gone from disk too.
    let on_disk = std::fs::read_dir(kept.path().join("slices")).unwrap().count();
    assert_eq!(on_disk, kept_slices.len());
}
