//! What the search analyzer costs: index size and indexing speed of the response
//! bodies under the production tokenizer (split on non-alphanumerics, lower-case, with
//! positions) against the alternatives it was chosen over, on the same simulated
//! records in the same run; and the whole production index's bytes per record.
//!
//! `cargo bench -p pivotlog-benches --bench analyzer [-- --records N --runs R]`

use std::time::Instant;

use pivotlog_index::{disk_usage, IndexWriter, PivotIndex, WriterConfig};
use pivotlog_proto::kazoo::event_from_doc;
use pivotlog_proto::{DebugEvent, Record};
use pivotlog_publisher::simulate::{SimulateConfig, Simulator};
use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
use tantivy::tokenizer::{LowerCaser, RemoveLongFilter, TextAnalyzer, WhitespaceTokenizer};
use tantivy::{doc, Index};

struct Variant {
    name: &'static str,
    tokenizer: &'static str,
    record: IndexRecordOption,
    what_it_loses: &'static str,
}

const VARIANTS: [Variant; 3] = [
    Variant {
        name: "default + positions (production)",
        tokenizer: "default",
        record: IndexRecordOption::WithFreqsAndPositions,
        what_it_loses: "-",
    },
    Variant {
        name: "default, no positions",
        tokenizer: "default",
        record: IndexRecordOption::WithFreqs,
        what_it_loses: "phrases, dotted names, IP:port",
    },
    Variant {
        name: "whitespace + positions",
        tokenizer: "whitespace_lower",
        record: IndexRecordOption::WithFreqsAndPositions,
        what_it_loses: "parts: NullPointerException, invalid_number",
    },
];

fn arg(name: &str, default: usize) -> usize {
    pivotlog_testkit::args::Args::from_env()
        .number(name)
        .map_or(default, |n| n as usize)
}

fn simulated(records: usize) -> Vec<DebugEvent> {
    let mut simulator = Simulator::new(SimulateConfig {
        seed: 7,
        ..SimulateConfig::default()
    });
    let mut events = Vec::with_capacity(records);
    let mut now = 1_700_000_000_000;
    while events.len() < records {
        now += 1000;
        for doc in simulator.next_call(now) {
            events.push(event_from_doc(&doc).expect("the simulator writes valid documents"));
        }
    }
    events.truncate(records);
    events
}

fn bodies(events: &[DebugEvent]) -> Vec<&str> {
    events
        .iter()
        .filter_map(|event| match &event.record {
            Some(Record::Response(response)) => Some(response.body.as_str()),
            Some(Record::JsonError(error)) => Some(error.body.as_str()),
            Some(Record::SchemaError(error)) => Some(error.body.as_str()),
            _ => None,
        })
        .collect()
}

/// (seconds, index bytes) of indexing `bodies` with one variant.
fn index_bodies(variant: &Variant, bodies: &[&str]) -> (f64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = Schema::builder();
    let options = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(variant.tokenizer)
            .set_index_option(variant.record),
    );
    let body = builder.add_text_field("body", options);
    let index = Index::create_in_dir(dir.path(), builder.build()).unwrap();
    index.tokenizers().register(
        "whitespace_lower",
        TextAnalyzer::builder(WhitespaceTokenizer::default())
            .filter(RemoveLongFilter::limit(40))
            .filter(LowerCaser)
            .build(),
    );
    let started = Instant::now();
    let mut writer = index.writer_with_num_threads(1, 64 << 20).unwrap();
    for text in bodies {
        writer.add_document(doc!(body => *text)).unwrap();
    }
    writer.commit().unwrap();
    writer.wait_merging_threads().unwrap();
    (started.elapsed().as_secs_f64(), disk_usage(dir.path()))
}

fn median(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.total_cmp(b));
    (values[values.len() / 2], values[0], values[values.len() - 1])
}

fn main() {
    let records = arg("--records", 20_000);
    let runs = arg("--runs", 3).max(1);
    let events = simulated(records);
    let bodies = bodies(&events);
    let body_bytes: usize = bodies.iter().map(|b| b.len()).sum();
    println!(
        "analyzer cost: {} bodies, {:.1} MB, median of {runs} runs, {} cores",
        bodies.len(),
        body_bytes as f64 / 1e6,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "{:<34} {:>12} {:>10} {:>10} {:>10}  loses",
        "variant", "docs/s (min-max)", "", "bytes/doc", "vs prod"
    );
    let mut results = Vec::new();
    let mut production_bytes = 0.0;
    for variant in &VARIANTS {
        let measured: Vec<(f64, u64)> = (0..runs).map(|_| index_bodies(variant, &bodies)).collect();
        let (rate, low, high) = median(measured.iter().map(|(s, _)| bodies.len() as f64 / s).collect());
        let bytes = measured[0].1 as f64 / bodies.len() as f64;
        if production_bytes == 0.0 {
            production_bytes = bytes;
        }
        println!(
            "{:<34} {:>12.0} {:>10} {:>10.0} {:>9.0}%  {}",
            variant.name,
            rate,
            format!("{low:.0}-{high:.0}"),
            bytes,
            100.0 * bytes / production_bytes,
            variant.what_it_loses
        );
        results.push(serde_json::json!({
            "variant": variant.name, "docs_per_s": rate, "docs_per_s_min": low,
            "docs_per_s_max": high, "bytes_per_doc": bytes,
        }));
    }

    // The whole production index (records, summaries, every field, stored protobuf).
    let dir = tempfile::tempdir().unwrap();
    let index = PivotIndex::open_or_create(dir.path()).unwrap();
    let mut writer = IndexWriter::new(&index, &WriterConfig::default()).unwrap();
    let raw: usize = events.iter().map(prost_len).sum();
    for event in &events {
        writer.add(event, &[]).unwrap();
    }
    writer.commit().unwrap();
    writer.wait_merging_threads().unwrap();
    let total = disk_usage(dir.path()) as f64;
    println!(
        "production index: {:.0} bytes/record, {:.2}x the raw protobuf ({:.0} bytes/record)",
        total / events.len() as f64,
        total / raw as f64,
        raw as f64 / events.len() as f64
    );
    let report = serde_json::json!({
        "records": events.len(), "bodies": bodies.len(), "runs": runs, "variants": results,
        "production_bytes_per_record": total / events.len() as f64,
        "raw_protobuf_bytes_per_record": raw as f64 / events.len() as f64,
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pivotlog-bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("analyzer.json"),
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .unwrap();
}

fn prost_len(event: &DebugEvent) -> usize {
    use prost::Message;
    event.encoded_len()
}
