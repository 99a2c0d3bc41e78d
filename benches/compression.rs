//! What producer compression leaves per record, for choosing the default codec: bytes
//! per record uncompressed (the baseline, same run) and after LZ4 and zstd, on simulated
//! records and on 1.2 MB HTML error pages, in batches as librdkafka builds them (one
//! record, 100 consecutive records), and how fast each codec compresses. The figures are
//! in the README's configuration section.
//!
//! ```text
//! cargo bench -p pivotlog-benches --bench compression
//! ```

use std::time::Instant;

use prost::Message;

use pivotlog_publisher::fit::Codec;
use pivotlog_publisher::simulate::{SimulateConfig, Simulator};

fn report(name: &str, records: &[Vec<u8>], batch: usize) {
    let raw: usize = records.iter().map(Vec::len).sum();
    for codec in [Codec::Lz4, Codec::Zstd { level: 3 }] {
        let started = Instant::now();
        let compressed: usize = records
            .chunks(batch)
            .map(|chunk| codec.compressed_len(&chunk.concat()))
            .sum();
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "{name:<28} batch {batch:>3}: {:>9.0} raw B/record, {codec:?}: {:>9.0} B/record ({:.2}x), {:>6.0} MB/s",
            raw as f64 / records.len() as f64,
            compressed as f64 / records.len() as f64,
            raw as f64 / compressed as f64,
            raw as f64 / seconds / 1e6
        );
    }
}

fn main() {
    let mut simulator = Simulator::new(SimulateConfig::default());
    let mut records = Vec::new();
    let mut now = 1_710_253_474_000;
    while records.len() < 20_000 {
        now += 50;
        for doc in simulator.next_call(now) {
            let event = pivotlog_proto::kazoo::event_from_doc(&doc).unwrap();
            records.push(event.encode_to_vec());
        }
    }
    report("simulated records", &records, 1);
    report("simulated records", &records, 100);
    let mut pages = Vec::new();
    for n in 0..8 {
        let mut page = format!("<html><head><title>Error {n}</title></head><body><table>\n");
        let mut i = 0u64;
        while page.len() < 1_200_000 {
            i += 1;
            page.push_str(&format!(
                "<tr><td class=\"ts\">2024-03-12T17:{:02}:{:02}.{i:06}Z</td><td>callflow/{}</td><td>{}</td></tr>\n",
                i % 60,
                (i * 7) % 60,
                i % 97,
                ["ok", "timeout", "ECONNREFUSED", "busy"][(i % 4) as usize]
            ));
        }
        pages.push(page.into_bytes());
    }
    report("1.2 MB HTML pages", &pages, 1);
}
