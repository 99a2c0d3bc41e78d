//! The pipeline benchmark: how close end-to-end ingest comes to bare tantivy, how fresh
//! the index is, how fast the HTTP API answers at a million records, and what it costs.
//!
//! ```text
//! cargo bench -p pivotlog-benches --bench pipeline               # full: 1 M records, ~20 min
//! cargo bench -p pivotlog-benches --bench pipeline -- --quick    # smoke: 20 k records, ~3 min
//! ```
//! Options: `--records N`, `--runs R`, `--query-seconds S`, `--freshness-seconds S`,
//! `--ingest-only` (sections 1, 2 and the steady state's ingest, for profiling the
//! indexer), `--tail-only` (sections 3 and 8), `--overload-only` (1, 2 and 7 on the
//! one-day index), `--limits "ARGS"` (section 7's limited process gets ARGS),
//! `--steady-days D` (section 6's span, default 31; 0 skips it), `--settle-after-idle-s S`
//! (the indexers' wait before settling a cold slice; `--quick`: 5), `--tail-bursts N`
//! (section 8; `--quick`: 3). Section 6 measures the steady state: the same records over
//! 31 days, in time order and shuffled; section 7 overload: cheap requests and a second
//! account under one account's heavy load; section 8 the live tail: produce → shown
//! latency at 2,000 records/s, and the memory of tails whose clients do not read.
//! It builds `pivotlog` in release, starts a tansu broker (`.tools/bin/tansu`, `$TANSU`
//! or `PATH`) and real `pivotlog indexer` / `query` processes on loopback, prints one
//! table per section and writes every figure to `target/pivotlog-bench/pipeline.json`.
//! `benches/README.md` explains each measurement and holds the latest results.

mod load;
mod options;
mod overload;
mod procs;
mod quiescence;
mod steady;
mod summary;
mod tail;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost::Message;
use serde_json::{json, Value};

use pivotlog_index::{PivotIndex, WriterConfig};
use pivotlog_proto::kazoo::event_from_doc;
use pivotlog_proto::time::{now_unix_ms, unix_ms_to_gregorian_s};
use pivotlog_proto::{DebugEvent, Record};
use pivotlog_publisher::simulate::{SimulateConfig, Simulator};
use pivotlog_publisher::traffic::{Traffic, TrafficPlan};
use pivotlog_publisher::EventProducer;

use options::Options;
use procs::Broker;
use quiescence::settle_merges;
use summary::{Latencies, Spread};

const SEED: u64 = 2024;
const PARTITIONS: u32 = 4;
const TOKEN: &str = "bench-token";

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn traffic(records: Option<u64>, rate: Option<f64>, start_unix_ms: Option<i64>) -> Traffic {
    let simulator = Simulator::new(SimulateConfig {
        seed: SEED,
        ..SimulateConfig::default()
    });
    Traffic::new(
        simulator,
        TrafficPlan {
            records,
            rate,
            start_unix_ms,
        },
    )
}

/// The simulated records, exactly as `pivotlog simulate` with the same arguments makes them.
fn generate(records: u64, start_unix_ms: i64) -> Vec<DebugEvent> {
    let mut traffic = traffic(Some(records), None, Some(start_unix_ms));
    let mut events = Vec::with_capacity(records as usize + 10);
    runtime().block_on(async {
        while let Some(call) = traffic.next_call().await {
            events.extend(
                call.iter()
                    .map(|doc| event_from_doc(doc).expect("valid simulated document")),
            );
        }
    });
    events
}

fn main() {
    let options = Options::parse();
    if let Some(seconds) = options.settle_after_idle_s {
        // Every indexer the run starts inherits it.
        std::env::set_var("PIVOTLOG_SETTLE_AFTER_IDLE_S", seconds.to_string());
    }
    let machine = summary::machine();
    println!("pivotlog pipeline benchmark — {machine}");
    let binary = procs::build_pivotlog();
    let mut report = serde_json::Map::new();
    report.insert("machine".into(), machine.into());
    report.insert("date_unix_ms".into(), now_unix_ms().into());

    // Data: stamped so that every record falls in the API's default 31-day window.
    let span_ms = options.records as i64 * 7 + 60_000;
    let start_unix_ms = now_unix_ms() - span_ms - 3_600_000;
    let events = generate(options.records, start_unix_ms);
    let raw_bytes: usize = events.iter().map(Message::encoded_len).sum();
    let records = events.len();
    println!(
        "data: {records} simulated records (seed {SEED}), {:.0} MB of protobuf, {:.0} bytes/record",
        raw_bytes as f64 / 1e6,
        raw_bytes as f64 / records as f64
    );
    report.insert("records".into(), records.into());
    report.insert("raw_protobuf_bytes".into(), raw_bytes.into());

    if options.tail_only {
        let broker = Broker::start();
        let data_root = tempfile::tempdir().unwrap();
        freshness_section(&binary, &broker, data_root.path(), &options, &mut report);
        let tail = tail::run(&binary, &broker, data_root.path(), &events, &options);
        report.insert("tail".into(), tail);
        return;
    }
    let writer_config = WriterConfig::default();
    let ceiling = ceiling(&events, &writer_config, options.runs);
    let ceiling_rate = Spread::of(&ceiling.iter().map(|s| records as f64 / s).collect::<Vec<_>>());
    println!(
        "\n1. ceiling: bare tantivy, same documents, {} threads, {} MB, one commit",
        writer_config.num_threads,
        writer_config.memory_budget_bytes >> 20
    );
    println!(
        "   {} records/s, {} MB/s",
        ceiling_rate.show(0),
        Spread::of(
            &ceiling
                .iter()
                .map(|s| raw_bytes as f64 / 1e6 / s)
                .collect::<Vec<_>>()
        )
        .show(1)
    );
    report.insert("ceiling_records_per_s".into(), ceiling_rate.json());

    let broker = Broker::start();
    broker.create_topic("bench", PARTITIONS);
    let preload = Instant::now();
    let status = procs::pivotlog(&binary, &broker, "bench")
        .args([
            "simulate",
            "--count",
            &options.records.to_string(),
            "--seed",
            &SEED.to_string(),
        ])
        .args(["--start-unix-ms", &start_unix_ms.to_string()])
        .status()
        .expect("pivotlog simulate runs");
    assert!(status.success());
    println!(
        "\n2. end-to-end ingest: {records} records pre-loaded into {PARTITIONS} partitions in {:.1} s; indexer started cold",
        preload.elapsed().as_secs_f64()
    );
    let data_root = tempfile::tempdir().unwrap();
    let mut ingest_seconds = Vec::new();
    let mut indexer_peak_rss = Vec::new();
    let mut indexer_peak_anon = Vec::new();
    let mut last_dir = None;
    for run in 0..options.runs {
        let dir = data_root.path().join(format!("ingest-{run}"));
        let (seconds, peak, anon) = ingest(&binary, &broker, "bench", &dir, records, None, None);
        ingest_seconds.push(seconds);
        indexer_peak_rss.push(peak as f64);
        indexer_peak_anon.push(anon as f64);
        last_dir = Some(dir);
    }
    let ingest_rate = Spread::of(
        &ingest_seconds
            .iter()
            .map(|s| records as f64 / s)
            .collect::<Vec<_>>(),
    );
    println!(
        "   {} records/s, {} MB/s, {:.0} % of the ceiling (target ≥ 90 %)",
        ingest_rate.show(0),
        Spread::of(
            &ingest_seconds
                .iter()
                .map(|s| raw_bytes as f64 / 1e6 / s)
                .collect::<Vec<_>>()
        )
        .show(1),
        100.0 * ingest_rate.median / ceiling_rate.median
    );
    let mib = |bytes: &[f64]| Spread::of(&bytes.iter().map(|b| b / 1048576.0).collect::<Vec<_>>()).show(0);
    println!(
        "   indexer peak RSS {} MiB, of it heap {} MiB",
        mib(&indexer_peak_rss),
        mib(&indexer_peak_anon)
    );
    let index_dir = last_dir.expect("at least one run");

    let tokens = data_root.path().join("tokens.json");
    let account = busiest_account(&events);
    std::fs::write(&tokens, json!({TOKEN: {"account_id": account}}).to_string()).unwrap();
    let one_day = |queries| steady::OneDay {
        records_per_s: ingest_rate.median,
        peak_heap_bytes: Spread::of(&indexer_peak_anon).median,
        queries,
    };
    if options.ingest_only {
        if options.steady_days > 0 {
            let _ = steady::run(
                &binary,
                &broker,
                data_root.path(),
                &events,
                &one_day(None),
                &tokens,
                &account,
                &options,
            );
        }
        return;
    }
    if options.overload_only {
        overload_section(&binary, &broker, &index_dir, &events, &options, &mut report);
        return;
    }
    // The same, with the query service answering a steady load on the same machine.
    let loaded_dir = data_root.path().join("ingest-under-load");
    let (loaded_seconds, _, _) = ingest(
        &binary,
        &broker,
        "bench",
        &loaded_dir,
        records,
        Some((&tokens, &account)),
        None,
    );
    let loaded_rate = records as f64 / loaded_seconds;
    println!(
        "   under a steady query load (10 requests/s): {loaded_rate:.0} records/s, {:.0} % of the ceiling",
        100.0 * loaded_rate / ceiling_rate.median
    );
    report.insert(
        "ingest".into(),
        json!({
            "records_per_s": ingest_rate.json(),
            "ratio_to_ceiling": ingest_rate.median / ceiling_rate.median,
            "under_query_load_records_per_s": loaded_rate,
            "indexer_peak_rss_bytes": Spread::of(&indexer_peak_rss).json(),
            "indexer_peak_anon_rss_bytes": Spread::of(&indexer_peak_anon).json(),
        }),
    );

    freshness_section(&binary, &broker, data_root.path(), &options, &mut report);

    let (queries, query_rss) = queries(
        &binary,
        &broker,
        &index_dir,
        &tokens,
        &account,
        &events,
        &options,
        "against the one-day index",
    );

    let index_bytes = pivotlog_index::disk_usage(&index_dir);
    let peak = Spread::of(&indexer_peak_rss);
    println!("\n5. cost");
    println!(
        "   index: {:.0} bytes/record ({:.2}× the raw protobuf); indexer peak RSS {} MiB, of it heap {} MiB, over a {records}-record backlog (target ≤ 1024); query service RSS {:.0} MiB (peak {:.0})",
        index_bytes as f64 / records as f64,
        index_bytes as f64 / raw_bytes as f64,
        mib(&indexer_peak_rss),
        mib(&indexer_peak_anon),
        query_rss.0 as f64 / 1048576.0,
        query_rss.1 as f64 / 1048576.0,
    );
    report.insert(
        "cost".into(),
        json!({
            "index_bytes_per_record": index_bytes as f64 / records as f64,
            "index_to_raw_protobuf": index_bytes as f64 / raw_bytes as f64,
            "indexer_peak_rss_bytes": peak.json(),
            "query_rss_bytes": query_rss.0,
            "query_peak_rss_bytes": query_rss.1,
        }),
    );

    // Overload is measured on the shape production has: the settled 31-day index of
    // section 6 when there is one.
    let mut overload_dir = index_dir.clone();
    if options.steady_days > 0 {
        let (steady, settled_dir) = steady::run(
            &binary,
            &broker,
            data_root.path(),
            &events,
            &one_day(Some(&queries)),
            &tokens,
            &account,
            &options,
        );
        report.insert("steady_state".into(), steady);
        overload_dir = settled_dir;
    }
    overload_section(&binary, &broker, &overload_dir, &events, &options, &mut report);
    report.insert("queries".into(), queries);
    report.insert(
        "tail".into(),
        tail::run(&binary, &broker, data_root.path(), &events, &options),
    );

    let out = procs::workspace().join("target/pivotlog-bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("pipeline.json"),
        serde_json::to_vec_pretty(&Value::Object(report)).unwrap(),
    )
    .unwrap();
    println!("\nfigures written to {}", out.join("pipeline.json").display());
}

/// Section 7 against the index in `dir`: the busiest account's heavy load, the next
/// one's searches.
fn overload_section(
    binary: &Path,
    broker: &Broker,
    dir: &Path,
    events: &[DebugEvent],
    options: &Options,
    report: &mut serde_json::Map<String, Value>,
) {
    let ranked = accounts_by_records(events);
    if let [busy, other, ..] = ranked.as_slice() {
        let figures = overload::overload(
            binary,
            broker,
            dir,
            events,
            (busy, other),
            options.query_seconds.max(2.0),
            &options.limits,
        );
        report.insert("overload".into(), figures);
    }
}

/// Seconds to add every document to a bare tantivy writer and commit, per run.
fn ceiling(events: &[DebugEvent], config: &WriterConfig, runs: usize) -> Vec<f64> {
    (0..runs)
        .map(|_| {
            let dir = tempfile::tempdir().unwrap();
            let index = PivotIndex::open_or_create(dir.path()).unwrap();
            // Documents are built before the clock starts: no protobuf, no Kafka.
            let mut requests: HashMap<(&str, u32), (&str, &str)> = HashMap::new();
            let docs: Vec<_> = events
                .iter()
                .enumerate()
                .map(|(offset, event)| {
                    let key = (event.call_id.as_str(), event.iteration);
                    let line = match &event.record {
                        Some(Record::Request(request)) => {
                            requests.insert(key, (&request.uri, &request.method));
                            None
                        }
                        Some(Record::Response(_)) => requests.get(&key).copied(),
                        _ => None,
                    };
                    pivotlog_index::bench_support::record_document(
                        &index,
                        0,
                        offset as i64,
                        event,
                        &event.encode_to_vec(),
                        line,
                    )
                })
                .collect();
            let started = Instant::now();
            let bare = pivotlog_index::bench_support::bare_tantivy_index(&dir.path().join("bare")).unwrap();
            let mut writer = bare
                .writer_with_num_threads(config.num_threads, config.memory_budget_bytes)
                .unwrap();
            let mut policy = tantivy::indexer::LogMergePolicy::default();
            policy.set_del_docs_ratio_before_merge(config.del_docs_ratio_before_merge);
            writer.set_merge_policy(Box::new(policy));
            for doc in docs {
                writer.add_document(doc).unwrap();
            }
            writer.commit().unwrap();
            started.elapsed().as_secs_f64()
        })
        .collect()
}

fn open_when_ready(dir: &Path) -> PivotIndex {
    procs::wait_until("the index to exist", Duration::from_secs(60), || {
        dir.join(pivotlog_index::CHECKPOINT_FILE).exists()
    });
    PivotIndex::open_or_create(dir).expect("the index opens")
}

/// A word of one response body or two among `events` (a value a user pastes from one
/// call's answer), so that the rare-string row times a search that finds something.
fn rare_word(events: &[&DebugEvent]) -> String {
    let mut bodies_holding: HashMap<String, usize> = HashMap::new();
    for event in events {
        if let Some(Record::Response(response)) = &event.record {
            let words: HashSet<String> = response
                .body
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|word| (8..=40).contains(&word.len()))
                .map(str::to_ascii_lowercase)
                .collect();
            for word in words {
                *bodies_holding.entry(word).or_default() += 1;
            }
        }
    }
    bodies_holding
        .into_iter()
        .min_by_key(|(word, bodies)| (*bodies, std::cmp::Reverse(word.len()), word.clone()))
        .map_or_else(|| "NullPointerException".to_owned(), |(word, _)| word)
}

/// Starts an indexer cold on `dir` and times it until every record is committed and
/// searchable; with `query`, a query service answers a steady load meanwhile; then,
/// with the indexer still running and its merges done, calls `caught_up`.
/// Returns (seconds, indexer peak RSS, indexer peak heap sampled every 50 ms).
fn ingest(
    binary: &Path,
    broker: &Broker,
    topic: &str,
    dir: &Path,
    records: usize,
    query: Option<(&Path, &str)>,
    caught_up: Option<&mut dyn FnMut(&PivotIndex)>,
) -> (f64, u64, u64) {
    let started = Instant::now();
    let indexer = procs::spawn(
        procs::pivotlog(binary, broker, topic)
            .arg("indexer")
            .arg("--data-dir")
            .arg(dir),
    );
    let stop = Arc::new(AtomicBool::new(false));
    let background = query.map(|(tokens, account)| {
        let port = procs::free_port();
        let proc = procs::spawn(
            procs::pivotlog(binary, broker, "bench")
                .args(["query", "--listen", &format!("127.0.0.1:{port}"), "--auth-tokens"])
                .arg(tokens)
                .arg("--data-dir")
                .arg(dir),
        );
        let paths = vec![
            format!("/v2/accounts/{account}/pivot/debug"),
            format!("/v2/accounts/{account}/pivot/search?q=ECONNREFUSED"),
        ];
        let load = load::steady(
            format!("http://127.0.0.1:{port}"),
            TOKEN.into(),
            paths,
            10.0,
            stop.clone(),
        );
        (proc, load)
    });
    let index = open_when_ready(dir);
    let mut peak_anon = 0;
    loop {
        index.reload().unwrap();
        peak_anon = peak_anon.max(indexer.anon_rss());
        if index.count_records().unwrap() >= records {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let seconds = started.elapsed().as_secs_f64();
    let (_, peak) = indexer.rss();
    stop.store(true, Ordering::Relaxed);
    settle_merges(&index);
    if let Some((_proc, load)) = background {
        load.join().unwrap();
    }
    if let Some(caught_up) = caught_up {
        caught_up(&index);
    }
    drop(indexer);
    (seconds, peak, peak_anon)
}

fn busiest_account(events: &[DebugEvent]) -> String {
    accounts_by_records(events).swap_remove(0)
}

/// Account ids, the one with the most records first.
fn accounts_by_records(events: &[DebugEvent]) -> Vec<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for event in events {
        *counts.entry(&event.account_id).or_default() += 1;
    }
    let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
    ranked.sort_by_key(|(account, count)| (std::cmp::Reverse(*count), *account));
    ranked
        .into_iter()
        .map(|(account, _)| account.to_owned())
        .collect()
}

/// Section 3: freshness, printed and added to `report`.
fn freshness_section(
    binary: &Path,
    broker: &Broker,
    root: &Path,
    options: &Options,
    report: &mut serde_json::Map<String, Value>,
) {
    let freshness = freshness(binary, broker, root, options);
    println!(
        "\n3. freshness at {:.0} records/s for {:.0} s: produce → searchable p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} samples; target p99 ≤ 2000 ms)",
        options.freshness_rate,
        options.freshness_seconds,
        freshness.percentile(50.0),
        freshness.percentile(99.0),
        freshness.max(),
        freshness.count()
    );
    report.insert(
        "freshness_ms".into(),
        json!({"p50": freshness.percentile(50.0), "p99": freshness.percentile(99.0), "max": freshness.max()}),
    );
}

/// Delays from handing a record to the producer to seeing it in a fresh reader.
fn freshness(binary: &Path, broker: &Broker, root: &Path, options: &Options) -> Latencies {
    broker.create_topic("fresh", PARTITIONS);
    let dir = root.join("fresh");
    let _indexer = procs::spawn(
        procs::pivotlog(binary, broker, "fresh")
            .arg("indexer")
            .arg("--data-dir")
            .arg(&dir),
    );
    let index = open_when_ready(&dir);
    let pending: Arc<Mutex<Vec<(String, Instant)>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let pending = pending.clone();
        let done = done.clone();
        std::thread::spawn(move || {
            let mut delays = Vec::new();
            let deadline = Duration::from_secs(60);
            let mut finished_at: Option<Instant> = None;
            loop {
                index.reload().unwrap();
                let now = Instant::now();
                pending.lock().unwrap().retain(|(id, sent)| {
                    let visible = index.has_event(id).unwrap();
                    if visible {
                        delays.push(now - *sent);
                    }
                    !visible
                });
                if done.load(Ordering::Relaxed) {
                    let since = *finished_at.get_or_insert(now);
                    if pending.lock().unwrap().is_empty() || since.elapsed() > deadline {
                        break;
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            delays
        })
    };
    let count = (options.freshness_rate * options.freshness_seconds) as u64;
    let mut sent = 0u64;
    produce_at_rate(broker, "fresh", count, options.freshness_rate, |event| {
        if sent.is_multiple_of(10) {
            pending
                .lock()
                .unwrap()
                .push((event.event_id.clone(), Instant::now()));
        }
        sent += 1;
    });
    done.store(true, Ordering::Relaxed);
    let delays = watcher.join().unwrap();
    Latencies::new(delays, Duration::from_secs_f64(options.freshness_seconds))
}

/// Produces `count` simulated records to `topic` at `rate` records/s, each delivered
/// before the next is sent; `sending` sees each just before it goes.
fn produce_at_rate(
    broker: &Broker,
    topic: &str,
    count: u64,
    rate: f64,
    mut sending: impl FnMut(&DebugEvent),
) {
    let mut config = rdkafka::ClientConfig::new();
    config.set("bootstrap.servers", broker.address());
    runtime().block_on(async {
        let mut producer: EventProducer<()> = EventProducer::new(&config, topic).unwrap();
        let mut traffic = traffic(Some(count), Some(rate), None);
        while let Some(call) = traffic.next_call().await {
            for doc in call {
                let event = event_from_doc(&doc).unwrap();
                sending(&event);
                for (_, outcome) in producer.send(&event, ()).await {
                    outcome.expect("delivered");
                }
            }
        }
        for (_, outcome) in producer.flush().await {
            outcome.expect("delivered");
        }
    });
}

/// Each query kind at 1 and 32 concurrent clients against a `pivotlog query` process
/// serving `dir` (`what`: which index, for the heading).
#[allow(clippy::too_many_arguments)]
fn queries(
    binary: &Path,
    broker: &Broker,
    dir: &Path,
    tokens: &Path,
    account: &str,
    events: &[DebugEvent],
    options: &Options,
    what: &str,
) -> (Value, (u64, u64)) {
    let (query, base) = procs::start_query(binary, broker, dir, tokens, &[]);
    let api = format!("/v2/accounts/{account}/pivot");
    let mine: Vec<&DebugEvent> = events.iter().filter(|e| e.account_id == account).collect();
    let calls: Vec<String> = mine
        .iter()
        .step_by((mine.len() / 200).max(1))
        .map(|e| form_urlencoded::byte_serialize(e.call_id.as_bytes()).collect())
        .collect();
    let first_s = unix_ms_to_gregorian_s(mine[0].created_unix_ms);
    let encode = |q: &str| -> String { form_urlencoded::byte_serialize(q.as_bytes()).collect() };
    let search = |q: &str| format!("{api}/search?q={}", encode(q));
    let kinds: Vec<(&str, Vec<String>, f64)> = vec![
        (
            "detail by call id",
            calls.iter().map(|c| format!("{api}/debug/{c}")).collect(),
            10.0,
        ),
        ("listing page", vec![format!("{api}/debug")], 20.0),
        (
            "listing, 1 h range",
            vec![format!(
                "{api}/debug?created_from={first_s}&created_to={}",
                first_s + 3600
            )],
            20.0,
        ),
        ("search: rare string", vec![search(&rare_word(&mine))], 50.0),
        ("search: common word", vec![search("error")], 50.0),
        // A phrase thousands of the account's records hold (the busiest account's
        // servers never answer with a Tomcat 500 page, so "Internal Server Error" timed
        // a miss).
        ("search: phrase", vec![search("\"404 Not Found\"")], 50.0),
        (
            "search: filter + text",
            vec![search("status_code:[500 TO 599] AND ECONNREFUSED")],
            50.0,
        ),
        (
            "stats by status and hour",
            vec![format!(
                "{api}/search/stats?q={}&interval=1h",
                encode("status_code:>=400")
            )],
            100.0,
        ),
    ];
    println!(
        "\n4. queries over HTTP {what}, {} records in the index, account with {} records; {:.0} s per row, closed loop",
        events.len(),
        mine.len(),
        options.query_seconds
    );
    println!(
        "   {:<26} {:>9} {:>8} {:>8} {:>8} {:>9} {:>8} {:>6}  target p99",
        "query", "hits", "clients", "p50 ms", "p99 ms", "max ms", "req/s", "429 %"
    );
    let mut rows = Vec::new();
    for (name, paths, target_ms) in &kinds {
        let hits = total_hits(&base, &paths[0]);
        // Warm the page cache and the reader once.
        load::closed_loop(&base, TOKEN, paths, 1, Duration::from_millis(300));
        for clients in options.clients {
            let latencies = load::closed_loop(
                &base,
                TOKEN,
                paths,
                clients,
                Duration::from_secs_f64(options.query_seconds),
            );
            let p99 = latencies.percentile(99.0);
            println!(
                "   {:<26} {:>9} {:>8} {:>8.1} {:>8.1} {:>9.1} {:>8.0} {:>6.1}  {} {}",
                name,
                hits,
                clients,
                latencies.percentile(50.0),
                p99,
                latencies.max(),
                latencies.per_second(),
                100.0 * latencies.refused_share(),
                target_ms,
                if clients == 32 && p99 > *target_ms {
                    "MISSED"
                } else {
                    ""
                }
            );
            rows.push(json!({
                "query": name, "hits": hits, "clients": clients,
                "p50_ms": latencies.percentile(50.0), "p99_ms": p99, "max_ms": latencies.max(),
                "requests_per_s": latencies.per_second(), "requests": latencies.count(), "target_p99_ms": target_ms,
                "refused_share": latencies.refused_share(),
            }));
        }
    }
    (Value::Array(rows), query.rss())
}

/// `total_hits` of a search, or the number of items of a listing or detail page.
fn total_hits(base: &str, path: &str) -> String {
    let body: Value = ureq::get(&format!("{base}{path}"))
        .set("X-Auth-Token", TOKEN)
        .call()
        .unwrap()
        .into_json()
        .unwrap();
    match body.get("total_hits") {
        Some(total) => total.to_string(),
        None => body["data"]
            .as_array()
            .map_or("-".into(), |items| items.len().to_string()),
    }
}
