//! Measurements: medians, and the ingest rate of the corpus.

use std::time::Instant;

use pivotlog_index::{IndexWriter, PivotIndex, WriterConfig};
use pivotlog_proto::{DebugEvent, HttpResponse, Record};

use crate::corpus::Body;

/// Ingest is timed on at least this many records (the corpus repeated, new event ids).
const MIN_INGEST_RECORDS: usize = 4_000;

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

pub(crate) fn short(text: &str, max: usize) -> String {
    let flat: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if flat.chars().count() <= max {
        flat
    } else {
        flat.chars().take(max - 1).collect::<String>() + "…"
    }
}

/// Records per second of indexing `bodies` as response records (median of `runs`).
pub(crate) fn ingest_records_per_s(bodies: &[Body], runs: usize) -> (f64, usize) {
    let mut events = Vec::new();
    let base = 1_764_583_200_000i64;
    while events.len() < MIN_INGEST_RECORDS.max(bodies.len()) {
        for body in bodies {
            let n = events.len();
            events.push(DebugEvent {
                schema_version: 1,
                event_id: format!("{n:032x}"),
                account_id: format!("{:032x}", n % 7 + 1),
                ancestor_ids: Vec::new(),
                call_id: format!("call-{}@10.0.0.1", n / 4),
                iteration: (n % 4) as u32 + 1,
                created_unix_ms: base + n as i64 * 10,
                node: "kazoo_apps@apps001.example.com".to_owned(),
                record: Some(Record::Response(HttpResponse {
                    status_code: body.status,
                    headers: Default::default(),
                    body: body.text.clone(),
                    body_original_bytes: 0,
                })),
            });
        }
    }
    let rates = (0..runs)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            let started = Instant::now();
            let index = PivotIndex::open_or_create(dir.path()).unwrap();
            let mut writer = IndexWriter::new(&index, &WriterConfig::default()).unwrap();
            for event in &events {
                writer.add(event, &[]).unwrap();
            }
            writer.set_position("bench", 0, events.len() as i64);
            writer.commit().unwrap();
            writer.wait_merging_threads().unwrap();
            events.len() as f64 / started.elapsed().as_secs_f64()
        })
        .collect();
    (median(rates), events.len())
}
