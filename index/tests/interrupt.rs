//! A read given up by its caller stops: searches, stats and listings run inside an
//! interrupt scope return `Interrupted` once the flag is raised, and answer as usual
//! while it is not.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use pivotlog_index::search::{Search, SearchError, SearchOrder, SnippetOptions, StatsRequest};
use pivotlog_index::{interrupt, IndexError, IndexWriter, ListCalls, PivotIndex, WriterConfig};
use pivotlog_proto::{DebugEvent, HttpResponse, Record};

const ACCOUNT: &str = "4f1c2a8e9b7d4c3e8a1f0b2c3d4e5f60";

fn index_of(records: u32) -> (tempfile::TempDir, PivotIndex) {
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let mut writer = IndexWriter::new(&index, &WriterConfig::default()).unwrap();
    for n in 0..records {
        let event = DebugEvent {
            event_id: format!("e{n}"),
            call_id: format!("call-{}", n / 2),
            account_id: ACCOUNT.into(),
            iteration: n % 2 + 1,
            created_unix_ms: 1_700_000_000_000 + i64::from(n),
            record: Some(Record::Response(HttpResponse {
                status_code: 500,
                body: format!("upstream timeout {n}"),
                ..Default::default()
            })),
            ..Default::default()
        };
        writer.add(&event, &[]).unwrap();
    }
    writer.commit().unwrap();
    (dir, index)
}

#[test]
fn raised_reads_stop_and_others_answer() {
    let (_dir, index) = index_of(50);
    let search = Search {
        account_id: ACCOUNT.into(),
        query: "timeout".into(),
        created_from_ms: 0,
        created_to_ms: i64::MAX,
        order: SearchOrder::Relevance,
        page_size: 10,
        start: None,
        snippet: SnippetOptions::default(),
    };
    let stats = StatsRequest {
        account_id: ACCOUNT.into(),
        query: "*".into(),
        created_from_ms: 1_700_000_000_000,
        created_to_ms: 1_700_000_000_100,
        interval_ms: 10,
    };
    let listing = ListCalls {
        account_id: ACCOUNT.into(),
        created_from_ms: 0,
        created_to_ms: i64::MAX,
        ascending: false,
        page_size: Some(5),
        start: None,
    };
    let quiet = Arc::new(AtomicBool::new(false));
    interrupt::scope(&quiet, || {
        assert_eq!(index.search(&search).unwrap().total, 50);
        assert_eq!(index.search_stats(&stats).unwrap().counts.total, 50);
        assert_eq!(index.list_calls(&listing).unwrap().calls.len(), 5);
    });
    let raised = Arc::new(AtomicBool::new(true));
    interrupt::scope(&raised, || {
        assert!(matches!(
            index.search(&search),
            Err(SearchError::Index(IndexError::Interrupted))
        ));
        assert!(matches!(
            index.search_stats(&stats),
            Err(SearchError::Index(IndexError::Interrupted))
        ));
        assert!(matches!(index.list_calls(&listing), Err(IndexError::Interrupted)));
    });
}
