//! History out of time order, over many days, on a real on-disk index: every record is
//! indexed once whatever the order, the writer commits on its own only to make room
//! for a writer (never once per record, as a limit of two open writers made a
//! shuffled multi-day import do), and the segments of every slice stay within the bound
//! of tantivy's `LogMergePolicy` once the merges are done.

use std::collections::BTreeSet;

use pivotlog_index::{IndexWriter, PivotIndex, WriterConfig};
use pivotlog_proto::DebugEvent;

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
/// 2024-03-01T00:00:00Z.
const START: i64 = 1_709_251_200_000;

/// `calls_per_day` calls a day over `days` days, in time order and grouped by call.
fn calls(days: i64, calls_per_day: i64) -> Vec<Vec<DebugEvent>> {
    pivotlog_testkit::events::daily_calls(ACCOUNT, START, days, calls_per_day)
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

/// Segments per slice, by slice name.
fn segments(index: &PivotIndex) -> std::collections::BTreeMap<String, usize> {
    index.reload().unwrap();
    index
        .info()
        .unwrap()
        .slices
        .into_iter()
        .map(|slice| (slice.name, slice.segments))
        .collect()
}

#[test]
fn cold_slices_settle_into_one_segment_and_today_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let mut events = shuffled(calls(5, 300));
    // Today's records, in two commits: a slice still being written.
    let mut today: Vec<DebugEvent> = calls(1, 2).into_iter().flatten().collect();
    let now = pivotlog_proto::time::now_unix_ms();
    for (n, event) in today.iter_mut().enumerate() {
        event.event_id = format!("today-{n}");
        event.call_id = format!("today-call-{}", n / 2);
        event.created_unix_ms = now - 60_000 + n as i64;
    }
    import(&index, &events, 100);
    import(&index, &today[..2], 100);
    import(&index, &today[2..], 100);
    events.extend(today);
    let before = segments(&index);
    assert!(before.values().filter(|&&n| n > 1).count() >= 5, "{before:?}");
    let calls_before = index.info().unwrap().slices.iter().map(|s| s.calls).sum::<u64>();

    let mut writer = IndexWriter::new(&index, &config()).unwrap();
    assert_eq!(writer.settle_now(now).unwrap(), 5, "the five past days");
    assert_eq!(writer.counters().settled, 5);
    // Nothing left to settle: a second pass does nothing.
    assert_eq!(writer.settle_now(now).unwrap(), 0);
    writer.wait_merging_threads().unwrap();

    let after = segments(&index);
    let today_slice = after.keys().last().unwrap().clone();
    for (name, count) in &after {
        if *name == today_slice {
            assert_eq!(*count, before[name], "today's slice is not settled");
        } else {
            assert_eq!(*count, 1, "slice {name}: {after:?}");
        }
    }
    check_every_record_once(&index, &events);
    // Upserted summaries are purged with the merge: one call document per call.
    let info = index.info().unwrap();
    assert_eq!(info.slices.iter().map(|s| s.calls).sum::<u64>(), calls_before);
}

#[test]
fn late_records_for_a_settling_slice_go_into_its_writer_and_none_is_lost() {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let all = calls(2, 3_000);
    let (mut events, late): (Vec<_>, Vec<_>) = all.into_iter().enumerate().partition(|(n, _)| n % 50 != 7);
    let mut events: Vec<DebugEvent> = events.drain(..).flat_map(|(_, call)| call).collect();
    import(&index, &events, 500);

    let mut writer = IndexWriter::new(&index, &config()).unwrap();
    let settling = writer.settle().unwrap().expect("a cold slice to settle");
    // Within the check interval nothing else starts.
    assert_eq!(writer.settle().unwrap(), None);
    // Late records of both days, while the newest one settles: no wait, nothing lost.
    let late: Vec<DebugEvent> = late.into_iter().flat_map(|(_, call)| call).collect();
    let started = std::time::Instant::now();
    for event in &late {
        writer.add(event, &[]).unwrap();
    }
    writer.commit().unwrap();
    let took = started.elapsed();
    writer.wait_merging_threads().unwrap();
    events.extend(late);
    check_every_record_once(&index, &events);
    eprintln!(
        "settling {settling}: {} late records committed in {took:?}",
        events.len()
    );
}

#[test]
fn a_new_day_in_time_order_asks_for_the_commit_that_promotes_it() {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let events: Vec<DebugEvent> = calls(2, 1_500).into_iter().flatten().collect();
    let (day1, day2) = events.split_at(3_000);
    let mut writer = IndexWriter::new(&index, &config()).unwrap();
    for event in day1 {
        writer.add(event, &[]).unwrap();
    }
    writer.commit().unwrap();
    for (n, event) in day2.iter().enumerate() {
        // Day 2 is a secondary until 1,000 of its records have come in a row.
        assert_eq!(writer.promotion_due(), n >= 1_000, "after {n} records of day 2");
        writer.add(event, &[]).unwrap();
        if n == 1_200 {
            writer.commit().unwrap();
            assert!(!writer.promotion_due(), "promoted by the commit");
            assert_eq!(writer.counters().opened_primary, 2);
            break;
        }
    }
    writer.wait_merging_threads().unwrap();
}

#[test]
fn a_caught_up_writer_settles_every_slice_a_shuffled_month_left_open() {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let events = shuffled(calls(31, 40));
    // Longer than any pause between two records of a slice, a commit of the 31 slices
    // included, in a debug build on a loaded machine.
    let idle = std::time::Duration::from_secs(10);
    let config = WriterConfig {
        settle_after_idle: idle,
        ..config()
    };
    let mut writer = IndexWriter::new(&index, &config).unwrap();
    for (n, event) in events.iter().enumerate() {
        // While the records keep coming, nothing settles.
        assert_eq!(writer.settle().unwrap(), None);
        writer.add(event, &[]).unwrap();
        if (n + 1) % 200 == 0 {
            writer.commit().unwrap();
        }
    }
    writer.commit().unwrap();
    let crowded = segments(&index).values().filter(|&&n| n > 1).count();
    assert!(crowded > 20, "{:?}", segments(&index));
    // Caught up, with every slice's writer still open: the indexer calls `settle` at
    // each commit interval, and one slice after another settles.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while segments(&index).values().any(|&n| n > 1) {
        assert!(std::time::Instant::now() < deadline, "{:?}", segments(&index));
        writer.settle().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // Each slice once (a single segment with deleted summaries counts too).
    let settled = writer.counters().settled as usize;
    assert!((crowded..=31).contains(&settled), "{settled} settled");
    writer.wait_merging_threads().unwrap();
    check_every_record_once(&index, &events);
}
