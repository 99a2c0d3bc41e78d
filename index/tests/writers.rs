//! History out of time order, over many days, on a real on-disk index: every record is
//! indexed once whatever the order, the writer commits on its own only to make room
//! for a writer (never once per record, as a limit of two open writers made a
//! shuffled multi-day import do), and the segments of every slice stay within the bound
//! of tantivy's `LogMergePolicy` once the merges are done.

use std::collections::BTreeSet;

use pivotlog_index::{IndexWriter, PivotIndex, WriterConfig};
use pivotlog_proto::{DebugEvent, HttpRequest, HttpResponse, Record};

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const DAY_MS: i64 = 86_400_000;
/// 2024-03-01T00:00:00Z.
const START: i64 = 1_709_251_200_000;

/// `calls_per_day` calls a day over `days` days, each a request and a response, in time
/// order and grouped by call (as a Kazoo export lists them).
fn calls(days: i64, calls_per_day: i64) -> Vec<Vec<DebugEvent>> {
    let spacing = DAY_MS / calls_per_day;
    (0..days * calls_per_day)
        .map(|n| {
            let at = START + n * spacing;
            let call = format!("call-{n}");
            let record = |kind: &str, created_unix_ms, record| DebugEvent {
                schema_version: 1,
                event_id: format!("{call}-{kind}"),
                account_id: ACCOUNT.into(),
                ancestor_ids: vec![],
                call_id: call.clone(),
                iteration: 1,
                created_unix_ms,
                node: "kz".into(),
                record: Some(record),
            };
            vec![
                record(
                    "req",
                    at,
                    Record::Request(HttpRequest {
                        uri: format!("http://pivot.example/{n}"),
                        method: "POST".into(),
                        ..Default::default()
                    }),
                ),
                record(
                    "resp",
                    at + 40,
                    Record::Response(HttpResponse {
                        status_code: 200,
                        body: format!("<Response><Say>call {n}</Say></Response>"),
                        ..Default::default()
                    }),
                ),
            ]
        })
        .collect()
}

/// The calls in a fixed pseudo-random order (a 64-bit LCG; no dependency needed).
fn shuffled(mut calls: Vec<Vec<DebugEvent>>) -> Vec<DebugEvent> {
    let mut state: u64 = 0x2024_0301;
    for i in (1..calls.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        calls.swap(i, (state >> 33) as usize % (i + 1));
    }
    calls.into_iter().flatten().collect()
}

fn config() -> WriterConfig {
    WriterConfig {
        num_threads: 2,
        memory_budget_bytes: 32 << 20,
        ..Default::default()
    }
}

/// Adds every event, committing every `commit_every` records as the indexer does on its
/// timer; returns the writer after a final commit and its merges.
fn import(index: &PivotIndex, events: &[DebugEvent], commit_every: usize) -> pivotlog_index::WriterCounters {
    let mut writer = IndexWriter::new(index, &config()).unwrap();
    for (n, event) in events.iter().enumerate() {
        writer.add(event, &[]).unwrap();
        if (n + 1) % commit_every == 0 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    let counters = writer.counters();
    writer.wait_merging_threads().unwrap();
    counters
}

/// What LogMergePolicy (default: merges 8 segments of one level, levels 2^0.75 apart
/// from 10,000 documents) leaves once its merges are done: at most 7 segments a level.
fn segment_bound(documents: u64) -> usize {
    let levels = 1 + ((documents.max(10_000) as f64 / 10_000.0).log2() / 0.75).ceil() as usize;
    7 * levels
}

fn check_every_record_once(index: &PivotIndex, events: &[DebugEvent]) {
    index.reload().unwrap();
    let stored: Vec<String> = index
        .all_records()
        .unwrap()
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    let unique: BTreeSet<&String> = stored.iter().collect();
    assert_eq!(stored.len(), events.len(), "every record once");
    assert_eq!(unique.len(), events.len(), "no record twice");
    let info = index.info().unwrap();
    for slice in &info.slices {
        assert!(
            slice.segments <= segment_bound(slice.records + slice.calls),
            "slice {} has {} segments for {} documents",
            slice.name,
            slice.segments,
            slice.records + slice.calls
        );
    }
}

#[test]
fn a_shuffled_month_is_indexed_once_without_a_commit_per_record() {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let events = shuffled(calls(31, 40));
    let counters = import(&index, &events, 500);
    check_every_record_once(&index, &events);
    assert_eq!(index.info().unwrap().slices.len(), 31);
    // One writer per slice, opened once: all 31 stay open while records keep coming.
    assert_eq!(counters.opened, 31, "{counters:?}");
    assert_eq!(counters.opened_primary, 1, "{counters:?}");
    assert_eq!(counters.forced_commits, 0, "{counters:?}");
    assert_eq!(counters.commits as usize, events.len() / 500 + 1, "{counters:?}");
    // Read again, every record is a duplicate and nothing changes.
    let mut writer = IndexWriter::new(&index, &config()).unwrap();
    for event in &events {
        assert_eq!(
            writer.add(event, &[]).unwrap(),
            pivotlog_index::AddOutcome::Duplicate
        );
    }
    assert!(!writer.is_dirty() || writer.commit().is_ok());
    drop(writer);
    check_every_record_once(&index, &events);
}

#[test]
fn records_in_time_order_promote_each_new_day_once() {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    // 1,500 calls (3,000 records) a day: each day outlasts the promotion threshold.
    let events: Vec<DebugEvent> = calls(3, 1_500).into_iter().flatten().collect();
    let counters = import(&index, &events, 500);
    check_every_record_once(&index, &events);
    // Day 1 opens as primary; days 2 and 3 open as secondaries and are promoted once
    // each, at the first commit after 1,000 of their records: no commit of its own.
    assert_eq!(counters.opened_primary, 3, "{counters:?}");
    assert_eq!(counters.forced_commits, 0, "{counters:?}");
    assert_eq!(counters.commits as usize, events.len() / 500 + 1, "{counters:?}");
}

#[test]
fn more_days_than_open_writers_make_room_a_few_writers_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    // 40 days, no retention: more slices than writers may be open.
    let events = shuffled(calls(40, 10));
    let counters = import(&index, &events, 100_000);
    check_every_record_once(&index, &events);
    assert_eq!(index.info().unwrap().slices.len(), 40);
    // Each forced commit closes 8 writers: far fewer commits than records.
    assert!(counters.forced_commits > 0, "{counters:?}");
    assert!(
        counters.forced_commits * 20 < events.len() as u64,
        "a commit per handful of records: {counters:?}"
    );
}
