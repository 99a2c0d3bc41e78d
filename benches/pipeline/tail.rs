//! Section 8, the live tail: how long a record takes from the producer to the client of
//! a tail (`/pivot/tail`) at 2,000 records/s, and what tails whose clients stop reading
//! cost the query process (each holds at most `--tail-buffer-bytes`, then drops).

use std::collections::HashMap;
use std::io::Write;
use std::net::TcpStream;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use pivotlog_proto::DebugEvent;
use pivotlog_testkit::sse;

use crate::procs::{self, Broker};
use crate::summary::Latencies;
use crate::{accounts_by_records, produce_at_rate, Options, PARTITIONS};

const TOPIC: &str = "tailed";
const ADMIN_TOKEN: &str = "tail-admin";
/// Accounts tailed at once (the busiest), and idle tails opened for the memory figure.
const TAILED_ACCOUNTS: usize = 5;
const IDLE_TAILS: usize = 50;
/// The default `--tail-buffer-bytes`.
const BUFFER_BYTES: u64 = 1 << 20;

pub fn run(binary: &Path, broker: &Broker, root: &Path, events: &[DebugEvent], options: &Options) -> Value {
    broker.create_topic(TOPIC, PARTITIONS);
    let dir = root.join(TOPIC);
    let _indexer = procs::spawn(
        procs::pivotlog(binary, broker, TOPIC)
            .arg("indexer")
            .arg("--data-dir")
            .arg(&dir),
    );
    // A first batch makes every partition known to the index: a tail starts each
    // partition at what is committed when it opens.
    let warm_up = 400u64;
    produce_at_rate(broker, TOPIC, warm_up, options.freshness_rate, |_| {});
    let index = crate::open_when_ready(&dir);
    procs::wait_until("the first batch committed", Duration::from_secs(60), || {
        index.reload().unwrap();
        index.checkpoint().unwrap().offsets.len() == PARTITIONS as usize
    });
    let accounts: Vec<String> = accounts_by_records(events)
        .into_iter()
        .take(TAILED_ACCOUNTS)
        .collect();
    let tokens = root.join("tail-tokens.json");
    let admin = json!({ADMIN_TOKEN: {"account_id": accounts[0], "superduper_admin": true}});
    std::fs::write(&tokens, admin.to_string()).unwrap();
    let limits = ["--tail-max", "1000", "--tail-max-per-account", "1000"];
    let (query, base) = procs::start_query(binary, broker, &dir, &tokens, &limits);
    let url = |account: &str| format!("{base}/v2/accounts/{account}/pivot/tail");

    // Latency: a reading client per busy account, records stamped as they are sent.
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let readers: Vec<_> = accounts
        .iter()
        .map(|account| {
            let mut stream = sse::open(&url(account), ADMIN_TOKEN, None).stream();
            let (sent, done) = (sent.clone(), done.clone());
            std::thread::spawn(move || {
                let mut delays = Vec::new();
                let mut idle_since = Instant::now();
                while !(done.load(Ordering::SeqCst) && idle_since.elapsed() > Duration::from_secs(5)) {
                    let Some(event) = stream.next(Duration::from_millis(200)) else {
                        continue;
                    };
                    let shown = Instant::now();
                    idle_since = shown;
                    if let Some(id) = event.data["id"].as_str() {
                        if let Some(at) = sent.lock().unwrap().remove(id) {
                            delays.push(shown - at);
                        }
                    }
                }
                delays
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    let count = warm_up + (options.freshness_rate * options.freshness_seconds) as u64;
    let mut n = 0u64;
    // The same seed makes the first records again (duplicates, never shown): skipped.
    produce_at_rate(broker, TOPIC, count, options.freshness_rate, |event| {
        if n >= warm_up && accounts.contains(&event.account_id) {
            sent.lock()
                .unwrap()
                .insert(event.event_id.clone(), Instant::now());
        }
        n += 1;
    });
    done.store(true, Ordering::SeqCst);
    let delays: Vec<Duration> = readers
        .into_iter()
        .flat_map(|reader| reader.join().unwrap())
        .collect();
    let unseen = sent.lock().unwrap().len();
    let latencies = Latencies::new(delays, Duration::from_secs_f64(options.freshness_seconds));

    // Memory: tails whose clients never read, while the traffic goes on, against a
    // baseline in the same run: a second query process on the same index holding one
    // such tail. What the index itself costs (its readers, caches) grows alike in both.
    let (baseline, baseline_base) = procs::start_query(binary, broker, &dir, &tokens, &limits);
    let address = |base: &str| base.trim_start_matches("http://").to_owned();
    let open_idle = |base: &str, n: usize| -> Vec<TcpStream> {
        (0..n)
            .map(|i| {
                let mut stream = TcpStream::connect(address(base)).unwrap();
                let account = &accounts[i % accounts.len()];
                write!(
                    stream,
                    "GET /v2/accounts/{account}/pivot/tail HTTP/1.1\r\nHost: {}\r\nX-Auth-Token: {ADMIN_TOKEN}\r\nAccept: text/event-stream\r\n\r\n",
                    address(base)
                )
                .unwrap();
                stream
            })
            .collect()
    };
    // Two figures per process: the allocator's live bytes (`pivotlog_heap_allocated_bytes`,
    // what the tails hold) and `RssAnon` (what the kernel sees, fragmentation included).
    let live = |base: &str| metric(&scrape(base), "pivotlog_heap_allocated_bytes");
    let heaps = || {
        (
            (live(&base), live(&baseline_base)),
            (query.anon_rss() as f64, baseline.anon_rss() as f64),
        )
    };
    let before = heaps();
    let idle = open_idle(&base, IDLE_TAILS);
    let one = open_idle(&baseline_base, 1);
    std::thread::sleep(Duration::from_secs(1));
    // Bursts: a tail's memory is bounded if a later one adds nothing to the earlier.
    let per_tail =
        |now: (f64, f64), then: (f64, f64)| ((now.0 - then.0) - (now.1 - then.1)) / (IDLE_TAILS - 1) as f64;
    let (mut live_per_tail, mut rss_per_tail) = (Vec::new(), Vec::new());
    for burst in 1..=options.tail_bursts {
        produce_at_rate(
            broker,
            TOPIC,
            count + burst * 10_000,
            options.freshness_rate * 2.0,
            |_| {},
        );
        std::thread::sleep(Duration::from_secs(2));
        let (live_now, rss_now) = heaps();
        live_per_tail.push(per_tail(live_now, before.0));
        rss_per_tail.push(per_tail(rss_now, before.1));
    }
    let dropped = metric(
        &scrape(&base),
        "pivotlog_query_tail_events_total{kind=\"dropped\"}",
    );
    drop((idle, one));
    let kib = |figures: &[f64]| -> String {
        figures
            .iter()
            .map(|bytes| format!("{:.0}", bytes / 1024.0))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "\n8. live tail at {:.0} records/s, {} accounts tailed: produce → shown p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms ({} records, {unseen} never shown; target p99 ≤ 2000 ms)",
        options.freshness_rate,
        accounts.len(),
        latencies.percentile(50.0),
        latencies.percentile(99.0),
        latencies.max(),
        latencies.count(),
    );
    println!(
        "   {IDLE_TAILS} tails whose clients never read, {} bursts at {:.0} records/s; per tail over a process holding one, after each burst: live heap {} KiB, RssAnon {} KiB (bound: its event buffer, {} KiB, plus the server's write buffer: up to 408 KiB of framed events, in up to twice that; the kernel's socket buffers fill first); {dropped} records dropped for them",
        options.tail_bursts,
        options.freshness_rate * 2.0,
        kib(&live_per_tail),
        kib(&rss_per_tail),
        BUFFER_BYTES / 1024,
    );
    json!({
        "latency_ms": {"p50": latencies.percentile(50.0), "p99": latencies.percentile(99.0), "max": latencies.max()},
        "records": latencies.count(),
        "never_shown": unseen,
        "idle_tails": IDLE_TAILS,
        "live_heap_per_idle_tail_bytes_after_each_burst": live_per_tail,
        "rss_anon_per_idle_tail_bytes_after_each_burst": rss_per_tail,
        "dropped_for_idle_tails": dropped,
    })
}

/// `/metrics` of the process at `base`.
fn scrape(base: &str) -> String {
    ureq::get(&format!("{base}/metrics"))
        .call()
        .unwrap()
        .into_string()
        .unwrap()
}

/// The value of one sample line of Prometheus text (0 if absent).
fn metric(text: &str, sample: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(sample))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0.0)
}
