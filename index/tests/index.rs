//! The index contract: dedupe by event id, the checkpoint surviving a reopen, call summaries
//! and listing order, against a real on-disk index.

use pivotlog_index::{IndexWriter, ListCalls, PivotIndex, WriterConfig};
use pivotlog_proto::{DebugEvent, HttpRequest, HttpResponse, JsonError, Record};

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";

fn event(id: &str, call: &str, iteration: u32, created_ms: i64, record: Record) -> DebugEvent {
    DebugEvent {
        schema_version: 1,
        event_id: id.into(),
        account_id: ACCOUNT.into(),
        ancestor_ids: vec!["ffffffffffffffffffffffffffffffff".into()],
        call_id: call.into(),
        iteration,
        created_unix_ms: created_ms,
        node: "kazoo_apps@a".into(),
        record: Some(record),
    }
}

fn request(uri: &str) -> Record {
    Record::Request(HttpRequest {
        uri: uri.into(),
        method: "get".into(),
        ..Default::default()
    })
}

fn response(status: u32) -> Record {
    Record::Response(HttpResponse {
        status_code: status,
        body: "ok".into(),
        ..Default::default()
    })
}

fn writer(index: &PivotIndex) -> IndexWriter {
    IndexWriter::new(
        index,
        &WriterConfig {
            num_threads: 1,
            memory_budget_bytes: 20 << 20,
            ..Default::default()
        },
    )
    .unwrap()
}

#[test]
fn duplicates_are_skipped_and_checkpoints_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = PivotIndex::open_or_create(dir.path()).unwrap();
        let mut writer = writer(&index);
        let first = event("e1", "c1", 1, 1_000, request("http://x/a"));
        assert_eq!(
            writer.add(&first, &[]).unwrap(),
            pivotlog_index::AddOutcome::Added
        );
        assert_eq!(
            writer.add(&first, &[]).unwrap(),
            pivotlog_index::AddOutcome::Duplicate
        );
        writer.set_position("t", 0, 5);
        writer.commit().unwrap();
        // A committed event is a duplicate too.
        assert_eq!(
            writer.add(&first, &[]).unwrap(),
            pivotlog_index::AddOutcome::Duplicate
        );
        // Uncommitted work is lost on rollback, and the checkpoint goes back.
        writer
            .add(&event("e2", "c1", 1, 1_001, response(200)), &[])
            .unwrap();
        writer.set_position("t", 0, 9);
        let checkpoint = writer.rollback().unwrap();
        assert_eq!(checkpoint.next_offset(0), Some(5));
    }
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let checkpoint = index.checkpoint().unwrap();
    assert_eq!(checkpoint.topic.as_deref(), Some("t"));
    assert_eq!(checkpoint.next_offset(0), Some(5));
    assert_eq!(index.count_records().unwrap(), 1);
}

#[test]
fn summaries_fold_every_record_across_commits() {
    let index = PivotIndex::create_in_ram().unwrap();
    let mut writer = writer(&index);
    writer
        .add(&event("a", "c1", 1, 1_000, request("http://x/first")), &[])
        .unwrap();
    writer.commit().unwrap();
    writer
        .add(&event("b", "c1", 1, 1_500, response(404)), &[])
        .unwrap();
    writer
        .add(&event("c", "c1", 2, 2_000, request("http://x/second")), &[])
        .unwrap();
    writer.commit().unwrap();
    let json_error = Record::JsonError(JsonError {
        message: "invalid JSON".into(),
        ..Default::default()
    });
    writer
        .add(&event("d", "c1", 2, 2_500, response(500)), &[])
        .unwrap();
    writer.add(&event("e", "c1", 2, 2_500, json_error), &[]).unwrap();
    writer.commit().unwrap();

    let summary = index.call_summary(ACCOUNT, "c1").unwrap().unwrap();
    assert_eq!(summary.first_created_ms, 1_000);
    assert_eq!(summary.uri.as_deref(), Some("http://x/first"));
    assert_eq!(summary.status_code, Some(404));
    assert_eq!(summary.last_status_code, Some(500));
    assert_eq!(summary.iterations, 2);
    assert_eq!(summary.records, 5);
    assert!(summary.has_json_errors && !summary.has_schema_errors);
    let ids: Vec<_> = index
        .call_records(ACCOUNT, "c1")
        .unwrap()
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
    // One live summary document per call, however many times it was rewritten.
    let page = index.list_calls(&list(None, false, None)).unwrap();
    assert_eq!(page.calls.len(), 1);
    assert_eq!(
        index.account_ancestors(ACCOUNT).unwrap().unwrap(),
        ["ffffffffffffffffffffffffffffffff"]
    );
    assert_eq!(index.account_ancestors("0".repeat(32).as_str()).unwrap(), None);
}

fn list(page_size: Option<usize>, ascending: bool, start: Option<pivotlog_index::CallCursor>) -> ListCalls {
    ListCalls {
        account_id: ACCOUNT.into(),
        created_from_ms: 0,
        created_to_ms: i64::MAX,
        ascending,
        page_size,
        start,
    }
}

#[test]
fn pages_cover_every_call_once_even_with_time_ties() {
    let index = PivotIndex::create_in_ram().unwrap();
    let mut writer = writer(&index);
    // 25 calls, many sharing a millisecond.
    for n in 0..25 {
        let call = format!("call-{n:02}");
        writer
            .add(
                &event(&format!("e{n}"), &call, 1, 1_000 + (n / 4) as i64, request("u")),
                &[],
            )
            .unwrap();
    }
    writer.commit().unwrap();
    for ascending in [false, true] {
        let mut seen = Vec::new();
        let mut start = None;
        loop {
            let page = index.list_calls(&list(Some(4), ascending, start)).unwrap();
            assert!(page.calls.len() <= 4);
            seen.extend(page.calls.iter().map(|c| (c.first_created_ms, c.call_id.clone())));
            match page.next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        assert_eq!(seen.len(), 25, "ascending={ascending}");
        let mut sorted = seen.clone();
        sorted.sort();
        if !ascending {
            sorted.reverse();
        }
        assert_eq!(seen, sorted);
    }
}
