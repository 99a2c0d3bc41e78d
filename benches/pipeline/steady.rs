//! Section 6, the steady state: production keeps 31 days, and history often arrives out
//! of time order (a Kazoo MODb export lists calls in document-id order, partitions
//! replay at different speeds, a reindex covers a month). The same records as the
//! one-day run are stamped over `--steady-days` days, keeping each call's records
//! together and their offsets within the call, and published twice: in time order and
//! in shuffled call order. Each is ingested by a cold `pivotlog indexer` exactly like
//! section 2 (same function), and compared with section 2's median of the same run:
//! records/s, segments per slice once everything is searchable (against the bound of
//! tantivy's `LogMergePolicy`), and the indexer's peak heap. The indexer is then left
//! running until it has settled the cold slices into one segment each, as it does once
//! caught up (the time it took and the segments after are printed too), and the query
//! kinds of section 4 are timed against that settled shuffled import, each row compared
//! with the same row against the one-day index.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{json, Value};

use pivotlog_index::PivotIndex;
use pivotlog_proto::time::now_unix_ms;
use pivotlog_proto::DebugEvent;
use pivotlog_publisher::EventProducer;

use crate::procs::Broker;
use crate::quiescence::wait_settled;
use crate::{ingest, queries, runtime, Options, PARTITIONS};

const DAY_MS: i64 = 86_400_000;

/// The one-day figures of the same run that the steady state is compared with.
pub struct OneDay<'a> {
    pub records_per_s: f64,
    pub peak_heap_bytes: f64,
    /// Section 4's rows (`None` with `--ingest-only`).
    pub queries: Option<&'a Value>,
}

/// Runs the section; its figures, and the index of the shuffled import once settled.
#[allow(clippy::too_many_arguments)]
pub fn run(
    binary: &Path,
    broker: &Broker,
    root: &Path,
    events: &[DebugEvent],
    one_day: &OneDay,
    tokens: &Path,
    account: &str,
    options: &Options,
) -> (Value, PathBuf) {
    let days = options.steady_days;
    let in_time_order = spread_over_days(events, days);
    let shuffled = shuffle_calls(&in_time_order);
    let in_time_order: Vec<DebugEvent> = in_time_order.into_iter().flatten().collect();
    println!(
        "\n6. steady state: the same {} records over {days} days, published in time order and in shuffled call order; indexer started cold",
        events.len()
    );
    println!(
        "   {:<22} {:>12} {:>13} {:>8} {:>22} {:>15}",
        "order", "records/s", "vs one day", "slices", "segments/slice max, mean (bound)", "peak heap MiB"
    );
    println!(
        "   {:<22} {:>12.0} {:>13} {:>8} {:>22} {:>15.0}",
        "one day (section 2)",
        one_day.records_per_s,
        "1.00",
        "-",
        "-",
        one_day.peak_heap_bytes / 1048576.0
    );
    let mut rows = Vec::new();
    let mut figures = serde_json::Map::new();
    let mut time_order_rate = None;
    for (label, records) in [("time order", &in_time_order), ("shuffled calls", &shuffled)] {
        let topic = format!("steady-{}", label.replace(' ', "-"));
        broker.create_topic(&topic, PARTITIONS);
        let published = Instant::now();
        publish(broker, &topic, records);
        let publish_s = published.elapsed().as_secs_f64();
        let dir = root.join(&topic);
        // Segments as the import leaves them, then once the caught-up indexer has
        // settled the cold slices (what the queries below read).
        let mut written = None;
        let mut settle_s = 0.0;
        let (seconds, _, peak_heap) = ingest(
            binary,
            broker,
            &topic,
            &dir,
            records.len(),
            None,
            Some(&mut |index: &PivotIndex| {
                written = Some(Segments::of(&dir));
                settle_s = wait_settled(index);
            }),
        );
        let rate = records.len() as f64 / seconds;
        let segments = written.expect("measured once caught up");
        let settled = Segments::of(&dir);
        let vs_time_order = time_order_rate.map(|time: f64| rate / time);
        time_order_rate.get_or_insert(rate);
        println!(
            "   {:<22} {:>12.0} {:>13} {:>8} {:>22} {:>15.0}{}",
            label,
            rate,
            format!("{:.2}", rate / one_day.records_per_s),
            segments.slices,
            format!("{}, {:.1} ({})", segments.max, segments.mean, segments.bound),
            peak_heap as f64 / 1048576.0,
            vs_time_order.map_or(String::new(), |ratio| format!("   {ratio:.2}× time order")),
        );
        println!(
            "   {:<22} then settled by the caught-up indexer in {settle_s:.1} s: segments/slice max {}, mean {:.1}",
            "", settled.max, settled.mean
        );
        figures.insert(
            label.replace(' ', "_"),
            json!({
                "records_per_s": rate,
                "ratio_to_one_day": rate / one_day.records_per_s,
                "ratio_to_time_order": vs_time_order,
                "publish_seconds": publish_s,
                "slices": segments.slices,
                "segments_per_slice_max": segments.max,
                "segments_per_slice_mean": segments.mean,
                "segments_per_slice_bound": segments.bound,
                "indexer_peak_heap_bytes": peak_heap,
                "settle_seconds": settle_s,
                "settled_segments_per_slice_max": settled.max,
                "settled_segments_per_slice_mean": settled.mean,
            }),
        );
        rows.push(dir);
    }
    println!(
        "   targets: time order ≥ 0.90× one day, shuffled ≥ 0.80× time order, peak heap ≤ 1024 MiB; \
         bound: 7 segments a LogMergePolicy level, levels 2^0.75 apart from 10,000 documents"
    );
    if !options.ingest_only {
        let steady_queries = queries(
            binary,
            broker,
            &rows[1],
            tokens,
            account,
            &in_time_order,
            options,
            &format!("against the {days}-day shuffled import"),
        );
        if let Some(one_day) = one_day.queries {
            compare_queries(one_day, &steady_queries.0, days);
        }
        figures.insert("queries".into(), steady_queries.0);
    }
    figures.insert("days".into(), days.into());
    let shuffled_dir = rows.pop().expect("the shuffled import");
    (Value::Object(figures), shuffled_dir)
}

/// The records of each call, with the calls spread evenly over `days` days ending an
/// hour ago (and starting 3 hours inside the indexer's 31-day retention, so none
/// expires while the section runs); a call's records keep their offsets from its first
/// one. In time order.
fn spread_over_days(events: &[DebugEvent], days: u32) -> Vec<Vec<DebugEvent>> {
    let mut calls: Vec<Vec<DebugEvent>> = Vec::new();
    for event in events {
        match calls.last_mut() {
            Some(call) if call[0].call_id == event.call_id && call[0].account_id == event.account_id => {
                call.push(event.clone())
            }
            _ => calls.push(vec![event.clone()]),
        }
    }
    let end = now_unix_ms() - 3_600_000;
    let span = i64::from(days) * DAY_MS - 4 * 3_600_000;
    let start = end - span;
    let count = calls.len().max(1) as i64;
    for (n, call) in calls.iter_mut().enumerate() {
        let first = call
            .iter()
            .map(|e| e.created_unix_ms)
            .min()
            .expect("a call has records");
        let new_first = start + span * n as i64 / count;
        for event in call.iter_mut() {
            event.created_unix_ms = new_first + (event.created_unix_ms - first);
        }
    }
    calls
}

/// The calls in a fixed pseudo-random order (a 64-bit LCG), each call's records together.
fn shuffle_calls(calls: &[Vec<DebugEvent>]) -> Vec<DebugEvent> {
    let mut order: Vec<&Vec<DebugEvent>> = calls.iter().collect();
    let mut state: u64 = crate::SEED;
    for i in (1..order.len()).rev() {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        order.swap(i, (state >> 33) as usize % (i + 1));
    }
    order.into_iter().flatten().cloned().collect()
}

/// Produces `events` in order onto `topic`, every delivery confirmed.
fn publish(broker: &Broker, topic: &str, events: &[DebugEvent]) {
    let mut config = rdkafka::ClientConfig::new();
    config.set("bootstrap.servers", broker.address());
    runtime().block_on(async {
        let mut producer: EventProducer<()> = EventProducer::new(&config, topic).expect("a producer");
        for event in events {
            for (_, outcome) in producer.send(event, ()).await {
                outcome.expect("delivered");
            }
        }
        for (_, outcome) in producer.flush().await {
            outcome.expect("delivered");
        }
    });
}

/// Segments per slice of an index, and the most its slices may hold once merged.
struct Segments {
    slices: usize,
    max: usize,
    mean: f64,
    bound: usize,
}

impl Segments {
    fn of(dir: &Path) -> Segments {
        let info = PivotIndex::open_or_create(dir)
            .and_then(|index| index.info())
            .expect("the index reads");
        let counts: Vec<usize> = info.slices.iter().map(|slice| slice.segments).collect();
        Segments {
            slices: counts.len(),
            max: counts.iter().copied().max().unwrap_or(0),
            mean: counts.iter().sum::<usize>() as f64 / counts.len().max(1) as f64,
            bound: info
                .slices
                .iter()
                .map(|slice| segment_bound(slice.records + slice.calls))
                .max()
                .unwrap_or(0),
        }
    }
}

/// What `LogMergePolicy` (defaults: merges 8 segments of a level; levels 2^0.75 apart
/// in documents from 10,000 up) leaves once its merges are done: at most 7 a level.
fn segment_bound(documents: u64) -> usize {
    let levels = 1 + ((documents.max(10_000) as f64 / 10_000.0).log2() / 0.75).ceil() as usize;
    7 * levels
}

/// Each query row against the steady-state index next to the same row against the
/// one-day index: p50 and p99, and their ratio (target for reads: ≤ 1.5× at 1 client).
fn compare_queries(one_day: &Value, steady: &Value, days: u32) {
    println!("\n   {days} days against one day, same records, same query rows");
    println!(
        "   {:<26} {:>8} {:>10} {:>10} {:>12} {:>12} {:>8} {:>8}",
        "query",
        "clients",
        "hits 1 d",
        &format!("hits {days} d"),
        "p50 1 d ms",
        &format!("p50 {days} d ms"),
        "p50 ×",
        "p99 ×"
    );
    let (Some(one_day), Some(steady)) = (one_day.as_array(), steady.as_array()) else {
        return;
    };
    for row in steady {
        let Some(base) = one_day
            .iter()
            .find(|b| b["query"] == row["query"] && b["clients"] == row["clients"])
        else {
            continue;
        };
        let ratio =
            |key: &str| row[key].as_f64().unwrap_or(f64::NAN) / base[key].as_f64().unwrap_or(f64::NAN);
        println!(
            "   {:<26} {:>8} {:>10} {:>10} {:>12.2} {:>12.2} {:>8.2} {:>8.2}{}",
            row["query"].as_str().unwrap_or("?"),
            row["clients"],
            base["hits"].as_str().unwrap_or("?"),
            row["hits"].as_str().unwrap_or("?"),
            base["p50_ms"].as_f64().unwrap_or(f64::NAN),
            row["p50_ms"].as_f64().unwrap_or(f64::NAN),
            ratio("p50_ms"),
            ratio("p99_ms"),
            if row["clients"] == 1 && ratio("p50_ms") > 1.5 {
                "  over 1.5×"
            } else {
                ""
            }
        );
    }
}
