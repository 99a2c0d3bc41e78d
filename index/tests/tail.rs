//! Live tail over an on-disk index: reading from each position given back, batch after
//! batch, yields exactly the matching records committed after the start, each once,
//! each partition in offset order, whatever slice (day) they landed in; nothing of
//! another account, nothing uncommitted, nothing of a partition outside the view.

use std::collections::{BTreeMap, HashSet};

use pivotlog_index::tail::{TailPage, TailRequest};
use pivotlog_index::{IndexWriter, PivotIndex, WriterConfig};
use pivotlog_proto::{DebugEvent, HttpResponse, Record};

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const OTHER: &str = "0badc0de0badc0de0badc0de0badc0de";
const PARTITIONS: i32 = 3;
/// 2024-03-12T00:00:00Z.
const MIDNIGHT: i64 = 1_710_201_600_000;
const DAY_MS: i64 = 86_400_000;

fn event(account: &str, call: u32, iteration: u32, created_ms: i64) -> DebugEvent {
    DebugEvent {
        schema_version: 1,
        event_id: format!("{account}-{call}-{iteration}"),
        account_id: account.into(),
        ancestor_ids: vec![],
        call_id: format!("call-{call}"),
        iteration,
        created_unix_ms: created_ms,
        node: "kz".into(),
        record: Some(Record::Response(HttpResponse {
            status_code: if call.is_multiple_of(3) { 503 } else { 200 },
            body: format!("reply {iteration} of call {call}"),
            ..Default::default()
        })),
    }
}

/// A topic written by hand: each call's records in one partition (by call id, as the
/// Kafka key does), offsets counted per partition.
struct Topic {
    index: PivotIndex,
    writer: IndexWriter,
    next_offset: BTreeMap<i32, i64>,
    /// (partition, offset, event) of every record written, in write order.
    written: Vec<(i32, i64, DebugEvent)>,
}

impl Topic {
    fn append(&mut self, event: DebugEvent) {
        let call: u32 = event.call_id.trim_start_matches("call-").parse().unwrap();
        let partition = (call % PARTITIONS as u32) as i32;
        let offset = self.next_offset.entry(partition).or_insert(0);
        self.writer.add_at(partition, *offset, &event, &[]).unwrap();
        self.written.push((partition, *offset, event));
        *offset += 1;
        self.writer.set_position("t", partition, *offset);
    }

    /// Calls `calls` of both accounts, `iterations` records each, at `at` on.
    fn calls(&mut self, calls: std::ops::Range<u32>, iterations: u32, at: i64) {
        for iteration in 1..=iterations {
            for call in calls.clone() {
                let created = at + i64::from(call) * 1_000 + i64::from(iteration);
                self.append(event(ACCOUNT, call, iteration, created));
                self.append(event(OTHER, call, iteration, created));
            }
        }
    }
}

fn open() -> (tempfile::TempDir, Topic) {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let config = WriterConfig {
        num_threads: 1,
        memory_budget_bytes: 20 << 20,
        ..Default::default()
    };
    let writer = IndexWriter::new(&index, &config).unwrap();
    let topic = Topic {
        index,
        writer,
        next_offset: BTreeMap::new(),
        written: Vec::new(),
    };
    (dir, topic)
}

fn request(query: &str, after: BTreeMap<i32, i64>, limit: usize) -> TailRequest {
    TailRequest {
        account_id: ACCOUNT.into(),
        query: query.into(),
        after,
        limit,
    }
}

/// Records read: (partition, offset, event).
type Read = Vec<(i32, i64, DebugEvent)>;

/// Reads from `after` until a read returns nothing; every record read, in order.
fn drain(
    index: &PivotIndex,
    query: &str,
    mut after: BTreeMap<i32, i64>,
    limit: usize,
) -> (Read, BTreeMap<i32, i64>) {
    let mut read = Vec::new();
    loop {
        let TailPage { records, next } = index.tail(&request(query, after.clone(), limit)).unwrap();
        assert!(records.len() <= limit);
        for (partition, position) in &next {
            assert!(
                *position >= after.get(partition).copied().unwrap_or(0),
                "a position went back"
            );
        }
        after = next;
        if records.is_empty() {
            return (read, after);
        }
        read.extend(records.into_iter().map(|r| (r.partition, r.offset, r.hit.event)));
    }
}

fn check_order(read: &[(i32, i64, DebugEvent)]) {
    let mut last: BTreeMap<i32, i64> = BTreeMap::new();
    let mut seen = HashSet::new();
    for (partition, offset, event) in read {
        assert!(
            seen.insert(event.event_id.clone()),
            "{} read twice",
            event.event_id
        );
        if let Some(previous) = last.insert(*partition, *offset) {
            assert!(
                *offset > previous,
                "partition {partition}: offset {offset} after {previous}"
            );
        }
    }
}

fn expected(
    written: &[(i32, i64, DebugEvent)],
    from: usize,
    keep: impl Fn(&DebugEvent) -> bool,
) -> Vec<String> {
    let mut ids: Vec<String> = written[from..]
        .iter()
        .filter(|(_, _, event)| event.account_id == ACCOUNT && keep(event))
        .map(|(_, _, event)| event.event_id.clone())
        .collect();
    ids.sort();
    ids
}

fn ids(read: &[(i32, i64, DebugEvent)]) -> Vec<String> {
    let mut ids: Vec<String> = read.iter().map(|(_, _, event)| event.event_id.clone()).collect();
    ids.sort();
    ids
}

#[test]
fn a_tail_reads_each_committed_match_once_in_partition_order() {
    let (_dir, mut topic) = open();
    topic.calls(0..20, 2, MIDNIGHT + 3_600_000);
    topic.writer.commit().unwrap();
    let index = topic.index.clone();

    // A new tail starts at what is committed now.
    let start = index.tail(&request("*", BTreeMap::new(), 100)).unwrap();
    assert!(start.records.is_empty(), "a new tail shows no past records");
    assert_eq!(start.next, topic.next_offset);
    let written_before = topic.written.len();

    // More calls, some in an earlier day (history out of order), some not committed yet.
    topic.calls(20..45, 3, MIDNIGHT + 7_200_000);
    topic.calls(45..60, 2, MIDNIGHT - 5 * DAY_MS);
    topic.writer.commit().unwrap();
    let committed = topic.next_offset.clone();
    topic.calls(60..70, 1, MIDNIGHT + 9_000_000);

    for limit in [1, 7, 1000] {
        let (read, end) = drain(&index, "*", start.next.clone(), limit);
        check_order(&read);
        assert_eq!(
            ids(&read),
            expected(&topic.written[..topic.written.len() - 20], written_before, |_| {
                true
            })
        );
        assert_eq!(
            end, committed,
            "limit {limit}: the tail ends at the committed offsets"
        );
        assert!(read.iter().all(|(_, _, event)| event.account_id == ACCOUNT));
    }

    // A query narrows the records, not the positions.
    let (read, end) = drain(&index, "status_code:503", start.next.clone(), 5);
    check_order(&read);
    let is_503 =
        |event: &DebugEvent| matches!(&event.record, Some(Record::Response(r)) if r.status_code == 503);
    assert_eq!(
        ids(&read),
        expected(&topic.written[..topic.written.len() - 20], written_before, is_503)
    );
    assert_eq!(end, committed);

    // The uncommitted calls appear once committed, from where the tail stopped.
    topic.writer.commit().unwrap();
    let (read, _) = drain(&index, "*", committed.clone(), 4);
    assert_eq!(
        ids(&read),
        expected(&topic.written, topic.written.len() - 20, |_| true)
    );

    // A shard's view reads only its partitions, and keeps the others' positions.
    let view = index.only_partitions(&[1]);
    let (read, end) = drain(&view, "*", start.next.clone(), 9);
    assert!(read.iter().all(|(partition, _, _)| *partition == 1));
    assert_eq!(
        ids(&read),
        expected(&topic.written, written_before, |event| event
            .call_id
            .trim_start_matches("call-")
            .parse::<u32>()
            .unwrap()
            % 3
            == 1)
    );
    assert_eq!(
        end[&0], start.next[&0],
        "another shard's partition is left where it was"
    );
}

#[test]
fn a_reopened_index_continues_from_a_position() {
    let (dir, mut topic) = open();
    topic.calls(0..10, 2, MIDNIGHT);
    topic.writer.commit().unwrap();
    let (first, middle) = drain(&topic.index, "*", BTreeMap::from([(0, 0), (1, 0), (2, 0)]), 3);
    assert_eq!(ids(&first), expected(&topic.written, 0, |_| true));
    topic.calls(10..20, 2, MIDNIGHT + 60_000);
    topic.writer.commit().unwrap();
    let written = topic.written.len();
    topic.writer.wait_merging_threads().unwrap();

    // Another process (a query replica) opens the directory and resumes at `middle`.
    let reader = PivotIndex::open_or_create(dir.path()).unwrap();
    let (rest, _) = drain(&reader, "*", middle, 6);
    check_order(&rest);
    assert_eq!(rest.len(), expected(&topic.written, written - 40, |_| true).len());
    assert!(
        ids(&first).iter().all(|id| !ids(&rest).contains(id)),
        "nothing read twice"
    );
}
