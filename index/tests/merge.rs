//! Shards answer for their partitions and the query tier merges: every merged answer
//! must be the one a single index holding every partition gives. Each "shard" here is
//! a partition view of one on-disk index, which is exactly what an indexer serves.

use pivotlog_index::search::{
    self, Search, SearchCursor, SearchOrder, SearchPage, SignatureDetailsRequest, SnippetOptions,
    StatsRequest,
};
use pivotlog_index::{merge, CallCursor, CallPage, IndexWriter, ListCalls, PivotIndex, WriterConfig};
use pivotlog_proto::{DebugEvent, HttpRequest, HttpResponse, Record};

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";
const OTHER: &str = "0badc0de0badc0de0badc0de0badc0de";
const PARTITIONS: i32 = 6;
/// Partitions per shard, as three indexers over six partitions.
const SHARDS: [&[i32]; 3] = [&[0, 3], &[1, 4], &[2, 5]];

/// Calls of two accounts; many share a millisecond, so every cursor must break ties.
fn traffic() -> Vec<(i32, DebugEvent)> {
    let mut events = Vec::new();
    for call in 0..60 {
        let account = if call % 5 == 4 { OTHER } else { ACCOUNT };
        let call_id = format!("call-{call}@10.0.0.{}", call % 3);
        let partition = (call % PARTITIONS as usize) as i32;
        let start = 1_700_000_000_000 + (call as i64 / 4) * 1_000;
        for iteration in 1..=2u32 {
            let at = start + i64::from(iteration - 1) * 300;
            let event = |suffix: &str, record: Record| DebugEvent {
                schema_version: 1,
                event_id: format!("{call_id}-{iteration}-{suffix}"),
                account_id: account.into(),
                ancestor_ids: vec![],
                call_id: call_id.clone(),
                iteration,
                created_unix_ms: at,
                node: "kz1".into(),
                record: Some(record),
            };
            events.push((
                partition,
                event(
                    "req",
                    Record::Request(HttpRequest {
                        uri: format!("http://pivot.example/route/{}", call % 4),
                        method: "POST".into(),
                        ..Default::default()
                    }),
                ),
            ));
            let failing = (call + iteration as usize).is_multiple_of(3);
            events.push((
                partition,
                event(
                    "resp",
                    Record::Response(HttpResponse {
                        status_code: if failing { 500 } else { 200 },
                        body: if failing {
                            format!("upstream timeout after {} ms, timeout again", call * 10)
                        } else {
                            "<Response><Dial>1000</Dial></Response>".into()
                        },
                        ..Default::default()
                    }),
                ),
            ));
        }
    }
    events
}

fn build() -> (tempfile::TempDir, PivotIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let config = WriterConfig {
        num_threads: 1,
        memory_budget_bytes: 20 << 20,
        ..Default::default()
    };
    let mut writer = IndexWriter::new(&index, &config).unwrap();
    let events = traffic();
    for (i, chunk) in events.chunks(37).enumerate() {
        for (j, (partition, event)) in chunk.iter().enumerate() {
            writer
                .add_at(*partition, (i * 37 + j) as i64, event, &[])
                .unwrap();
        }
        for partition in 0..PARTITIONS {
            writer.set_position("t", partition, i as i64 + 1);
        }
        writer.commit().unwrap();
    }
    (dir, index)
}

fn shards(index: &PivotIndex) -> Vec<PivotIndex> {
    SHARDS.iter().map(|owned| index.only_partitions(owned)).collect()
}

fn listing(page_size: usize, ascending: bool, start: Option<CallCursor>) -> ListCalls {
    ListCalls {
        account_id: ACCOUNT.into(),
        created_from_ms: 0,
        created_to_ms: i64::MAX,
        ascending,
        page_size: Some(page_size),
        start,
    }
}

fn ids(page: &CallPage) -> Vec<String> {
    page.calls.iter().map(|call| call.call_id.clone()).collect()
}

#[test]
fn merged_listing_pages_are_the_single_index_pages() {
    let (_dir, index) = build();
    let shards = shards(&index);
    for ascending in [false, true] {
        for page_size in [1, 3, 7, 100] {
            let mut start = None;
            let mut walked = 0;
            loop {
                let request = listing(page_size, ascending, start.clone());
                let single = index.list_calls(&request).unwrap();
                let pages = shards.iter().map(|s| s.list_calls(&request).unwrap()).collect();
                let merged = merge::call_pages(&request, pages);
                assert_eq!(ids(&merged), ids(&single), "size {page_size} asc {ascending}");
                assert_eq!(merged.next, single.next);
                walked += single.calls.len();
                match single.next {
                    Some(next) => start = Some(next),
                    None => break,
                }
            }
            assert_eq!(walked, 48, "every call of the account, once");
        }
    }
}

#[test]
fn merged_records_are_the_single_index_records() {
    let (_dir, index) = build();
    let shards = shards(&index);
    for call in 0..60 {
        let call_id = format!("call-{call}@10.0.0.{}", call % 3);
        let account = if call % 5 == 4 { OTHER } else { ACCOUNT };
        let single = index.call_records(account, &call_id).unwrap();
        assert_eq!(single.len(), 4);
        let parts = shards
            .iter()
            .map(|s| s.call_records(account, &call_id).unwrap())
            .collect();
        assert_eq!(merge::call_records(parts), single);
        // Exactly one shard holds the call.
        let holders = shards
            .iter()
            .filter(|s| !s.call_records(account, &call_id).unwrap().is_empty())
            .count();
        assert_eq!(holders, 1);
    }
}

fn event_ids(page: &SearchPage) -> Vec<String> {
    page.hits.iter().map(|hit| hit.event.event_id.clone()).collect()
}

fn search_both(
    index: &PivotIndex,
    shards: &[PivotIndex],
    text: &str,
    order: SearchOrder,
    page_size: usize,
    start: Option<SearchCursor>,
) -> (SearchPage, SearchPage) {
    let request = Search {
        account_id: ACCOUNT.into(),
        query: text.into(),
        created_from_ms: 0,
        created_to_ms: i64::MAX,
        order,
        page_size,
        start,
        snippet: SnippetOptions::default(),
    };
    let single = index.search(&request).unwrap();
    let part = request.for_each_part();
    let pages = shards.iter().map(|s| s.search(&part).unwrap()).collect();
    (single, merge::search_pages(&request, pages))
}

#[test]
fn merged_search_pages_are_the_single_index_pages() {
    let (_dir, index) = build();
    let shards = shards(&index);
    for text in ["timeout", "*", "status_code:200 AND uri:route", "-dial"] {
        for order in [SearchOrder::Newest, SearchOrder::Oldest] {
            let mut start = None;
            loop {
                let (single, merged) = search_both(&index, &shards, text, order, 6, start);
                assert_eq!(event_ids(&merged), event_ids(&single), "{text} {order:?}");
                assert_eq!(merged.total, single.total);
                assert_eq!(merged.next, single.next);
                match single.next {
                    Some(next) => start = Some(next),
                    None => break,
                }
            }
        }
        // Relevance: scores are per shard, so compare what the pages hold in all.
        let (mut all_single, mut all_merged, mut start) = (Vec::new(), Vec::new(), None);
        loop {
            let (single, merged) = search_both(&index, &shards, text, SearchOrder::Relevance, 7, start);
            assert_eq!(merged.total, single.total, "{text}");
            assert_eq!(merged.next, single.next, "{text}");
            assert_eq!(merged.hits.len(), single.hits.len());
            all_single.extend(event_ids(&single));
            all_merged.extend(event_ids(&merged));
            match single.next {
                Some(next) => start = Some(next),
                None => break,
            }
        }
        let total = all_single.len();
        all_single.sort();
        all_merged.sort();
        all_merged.dedup();
        assert_eq!(all_merged.len(), total, "{text}: no hit twice across pages");
        assert_eq!(all_merged, all_single, "{text}");
    }
}

#[test]
fn merged_stats_are_the_single_index_stats() {
    let (_dir, index) = build();
    for text in ["timeout", "*", "method:post"] {
        let request = StatsRequest {
            account_id: ACCOUNT.into(),
            query: text.into(),
            created_from_ms: 1_699_999_990_000,
            created_to_ms: 1_700_000_020_000,
            interval_ms: 5_000,
        };
        let single = index.search_stats(&request).unwrap();
        let parts = shards(&index)
            .iter()
            .map(|s| s.search_stats(&request).unwrap())
            .collect();
        assert_eq!(merge::search_stats(parts), Some(single), "{text}");
    }
}

#[test]
fn merged_signatures_are_the_single_index_signatures() {
    let (_dir, index) = build();
    for text in ["*", "status_code:500", "timeout"] {
        let request = StatsRequest {
            account_id: ACCOUNT.into(),
            query: text.into(),
            created_from_ms: 1_699_999_990_000,
            created_to_ms: 1_700_000_020_000,
            interval_ms: 5_000,
        };
        let single = index.signature_groups(&request).unwrap();
        assert!(!single.groups.is_empty(), "{text}");
        let parts = shards(&index)
            .iter()
            .map(|s| s.signature_groups(&request).unwrap())
            .collect();
        assert_eq!(search::merge_groups(parts).unwrap(), single, "{text}");
        // Two bodies that differ only in a number are one signature.
        if text == "timeout" {
            assert_eq!(single.groups.len(), 1, "{single:?}");
        }
        let details = SignatureDetailsRequest {
            scope: request.clone(),
            ids: single.groups.iter().map(|group| group.id).collect(),
        };
        let whole = index.signature_details(&details).unwrap();
        let parts = shards(&index)
            .iter()
            .map(|s| s.signature_details(&details).unwrap())
            .collect();
        let merged = search::merge_details(parts);
        assert_eq!(merged.details.len(), whole.details.len());
        for (merged, whole) in merged.details.iter().zip(&whole.details) {
            assert_eq!(merged.by_time, whole.by_time, "{text}");
            let group = single.groups.iter().find(|group| group.id == whole.id).unwrap();
            assert_eq!(whole.by_time.iter().sum::<u64>(), group.records);
            let (a, b) = (merged.sample.as_ref().unwrap(), whole.sample.as_ref().unwrap());
            assert_eq!(a.created_ms, b.created_ms, "the newest record either way");
            assert_eq!(a.template, b.template);
        }
    }
}

#[test]
fn a_shard_that_loses_partitions_forgets_their_documents_and_positions() {
    let (_dir, index) = build();
    let before = index.count_records().unwrap();
    let in_partition_1 = index.only_partitions(&[1]).count_records().unwrap();
    assert!(in_partition_1 > 0);
    let mut writer = IndexWriter::new(&index, &WriterConfig::default()).unwrap();
    assert_eq!(writer.forget_partitions(|p| p != 1), vec![1]);
    writer.commit().unwrap();
    assert_eq!(index.count_records().unwrap(), before - in_partition_1);
    assert_eq!(index.only_partitions(&[1]).count_records().unwrap(), 0);
    let checkpoint = index.checkpoint().unwrap();
    assert_eq!(checkpoint.next_offset(1), None);
    assert!(checkpoint.next_offset(0).is_some());
    // Listing no longer shows its calls either.
    let page = index
        .only_partitions(&[1])
        .list_calls(&listing(100, false, None))
        .unwrap();
    assert!(page.calls.is_empty());
}
