//! Issue 8, metrics: `/metrics` of a real `pivotlog indexer` (on `--health-listen`) and
//! a real `pivotlog query` (on its API listener), scraped over HTTP and parsed with a
//! Prometheus text-format parser, move as records and requests flow.

mod support;

use std::time::Duration;

use pivotlog_proto::time::now_unix_ms;
use prom_text_format_parser::{Scrape, Type, ValueType};
use serde_json::json;
use support::*;

const TOPIC: &str = "pivot-debug";
const DEBUG_ROUTE: &str = "/v2/accounts/{account_id}/pivot/debug";
const SEARCH_ROUTE: &str = "/v2/accounts/{account_id}/pivot/search";

/// A sample: its name (`_bucket`, `_sum`, `_count` for histogram parts), labels, value.
type Sample = (String, Vec<(String, String)>, f64);

/// One scrape of a `/metrics` endpoint.
struct Metrics {
    samples: Vec<Sample>,
    help: Vec<(String, String)>,
}

impl Metrics {
    fn scrape(base: &str) -> Metrics {
        let response = ureq::get(&format!("{base}/metrics"))
            .timeout(Duration::from_secs(10))
            .call()
            .unwrap_or_else(|err| panic!("GET {base}/metrics: {err}"));
        assert_eq!(
            response.header("content-type"),
            Some("text/plain; version=0.0.4"),
            "exposition format 0.0.4"
        );
        let text = response.into_string().unwrap();
        let scrape = Scrape::parse(&text).unwrap_or_else(|err| panic!("{err:?} parsing\n{text}"));
        let mut samples = Vec::new();
        let mut help = Vec::new();
        for metric in scrape.metrics {
            help.push((metric.name.clone(), metric.help_desc.clone().unwrap_or_default()));
            for sample in metric.samples {
                let labels: Vec<(String, String)> = sample
                    .labels
                    .iter()
                    .map(|label| (label.key.clone(), label.value.clone()))
                    .collect();
                let name = match (metric.kind, sample.value.value_type) {
                    (_, ValueType::Sum) => format!("{}_sum", metric.name),
                    (_, ValueType::Count) => format!("{}_count", metric.name),
                    (Type::Histogram, ValueType::Sample) => format!("{}_bucket", metric.name),
                    _ => metric.name.clone(),
                };
                samples.push((name, labels, sample.value.value.as_f64()));
            }
        }
        Metrics { samples, help }
    }

    fn matching<'a>(&'a self, name: &'a str, labels: &'a [(&str, &str)]) -> impl Iterator<Item = &'a Sample> {
        self.samples.iter().filter(move |(sample, sample_labels, _)| {
            sample == name
                && labels
                    .iter()
                    .all(|(label, value)| sample_labels.iter().any(|(l, v)| l == label && v == value))
        })
    }

    /// The sum of the matching samples' values (`None`: no sample).
    fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let values: Vec<f64> = self.matching(name, labels).map(|(_, _, value)| *value).collect();
        (!values.is_empty()).then(|| values.iter().sum())
    }

    fn count(&self, name: &str) -> usize {
        self.matching(name, &[]).count()
    }

    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.get(name, labels)
            .unwrap_or_else(|| panic!("no sample {name}{labels:?} in {:#?}", self.samples))
    }

    fn has_help(&self, name: &str) -> bool {
        self.help
            .iter()
            .any(|(metric, help)| metric == name && !help.is_empty())
    }
}

/// Waits until `process` answers `path` with 2xx; if it exits first (a port taken
/// meanwhile, a bad flag), fails at once with its log.
fn wait_serving(process: &mut Process, base: &str, path: &str, log: &std::path::Path) {
    wait_until(&format!("{base}{path}"), Duration::from_secs(30), || {
        if !process.is_running() {
            let said = std::fs::read_to_string(log).unwrap_or_default();
            panic!("the process serving {base} exited: {said}");
        }
        ureq::get(&format!("{base}{path}")).call().is_ok()
    });
}

#[test]
fn metrics_move_as_records_and_requests_flow() {
    let broker = Broker::start();
    broker.create_topic(TOPIC, 2);
    let data = tempfile::tempdir().unwrap();
    let health = format!("127.0.0.1:{}", free_port());
    let shard = format!("127.0.0.1:{}", free_port());
    let mut indexer = pivotlog(&broker, TOPIC);
    indexer
        .args([
            "indexer",
            "--commit-interval-ms",
            "200",
            "--health-listen",
            &health,
        ])
        .args([
            "--shard-listen",
            &shard,
            "--shard-token",
            "shard-secret",
            "--data-dir",
        ])
        .arg(data.path());
    let indexer_log = data.path().join("indexer.log");
    let mut indexer = Process::spawn_logging(indexer, &indexer_log);
    let indexer_base = format!("http://{health}");
    wait_serving(&mut indexer, &indexer_base, "/metrics", &indexer_log);
    let before = Metrics::scrape(&indexer_base);
    assert_eq!(before.value("pivotlog_indexer_records_indexed_total", &[]), 0.0);

    // Calls an hour ago, inside the API's default window and the retention.
    let start_ms = (now_unix_ms() - 3_600_000).to_string();
    let docs = simulate(
        &broker,
        TOPIC,
        &[
            "--count",
            "400",
            "--seed",
            "8",
            "--start-unix-ms",
            &start_ms,
            "--accounts",
            "3",
        ],
    );
    let records = docs.len() as f64;

    // Indexer: every record indexed and committed, lag 0 on both partitions.
    let mut last = before;
    wait_until(
        "the indexer's metrics to show every record committed",
        Duration::from_secs(60),
        || {
            last = Metrics::scrape(&indexer_base);
            last.get("pivotlog_indexer_records_indexed_total", &[]) == Some(records)
                && last.get("pivotlog_indexer_consumer_lag_records", &[]) == Some(0.0)
                && last.count("pivotlog_indexer_consumer_lag_records") == 2
                && last.get("pivotlog_indexer_partition_caught_up", &[]) == Some(2.0)
                && last.get("pivotlog_index_documents", &[]) == Some(records)
        },
    );
    let m = last;
    assert!(m.value("pivotlog_indexer_commits_total", &[]) > 0.0);
    assert_eq!(m.value("pivotlog_indexer_commit_failures_total", &[]), 0.0);
    assert!(m.value("pivotlog_indexer_commit_duration_seconds_count", &[]) > 0.0);
    assert!(m.value("pivotlog_indexer_commit_duration_seconds_sum", &[]) > 0.0);
    assert!(m.value("pivotlog_indexer_batch_duration_seconds_count", &[]) > 0.0);
    assert_eq!(m.value("pivotlog_indexer_records_duplicate_total", &[]), 0.0);
    for reason in ["undecodable", "oversized"] {
        assert_eq!(
            m.value("pivotlog_indexer_records_rejected_total", &[("reason", reason)]),
            0.0
        );
    }
    assert_eq!(m.value("pivotlog_indexer_dead_lettered_total", &[]), 0.0);
    assert_eq!(m.value("pivotlog_indexer_broker_up", &[]), 1.0);
    let age = m.value("pivotlog_indexer_checkpoint_age_seconds", &[]);
    assert!((0.0..10.0).contains(&age), "checkpoint age {age}");
    for gauge in [
        "pivotlog_index_segments",
        "pivotlog_index_slices",
        "pivotlog_index_bytes",
    ] {
        assert!(m.value(gauge, &[]) > 0.0, "{gauge}");
    }
    assert!(m.value("process_resident_memory_bytes", &[]) > 0.0);
    assert!(m.get("process_cpu_seconds_total", &[]).is_some());
    for name in [
        "pivotlog_indexer_records_indexed_total",
        "pivotlog_indexer_consumer_lag_records",
        "pivotlog_indexer_checkpoint_age_seconds",
        "pivotlog_indexer_commit_duration_seconds",
        "pivotlog_index_bytes",
    ] {
        assert!(m.has_help(name), "{name} has HELP");
    }
    // Idle: the checkpoint holds everything, so its age stays near 0.
    std::thread::sleep(Duration::from_millis(1500));
    let idle = Metrics::scrape(&indexer_base);
    let age = idle.value("pivotlog_indexer_checkpoint_age_seconds", &[]);
    assert!(age < 1.2, "an idle indexer's checkpoint does not age: {age}");
    assert_eq!(idle.value("pivotlog_indexer_records_indexed_total", &[]), records);

    // Query: requests by route and status, latency, search hits.
    let account = docs[0]["pvt_account_id"].as_str().unwrap().to_owned();
    let tokens = json!({"tok-m": {"account_id": account}});
    let (query, api) = query_command(&broker, TOPIC, data.path(), &tokens);
    let query_log = data.path().join("query.log");
    let mut query = Process::spawn_logging(query, &query_log);
    wait_serving(&mut query, &api.base, "/readyz", &query_log);
    let zero = Metrics::scrape(&api.base);
    assert_eq!(zero.value("pivotlog_search_hits_total", &[]), 0.0);
    assert_eq!(zero.value("pivotlog_query_partial_responses_total", &[]), 0.0);
    assert_eq!(
        zero.get("pivotlog_http_requests_total", &[("route", DEBUG_ROUTE)]),
        None
    );

    let listing = format!("/v2/accounts/{account}/pivot/debug");
    for _ in 0..3 {
        assert_eq!(api.get(&listing, Some("tok-m")).status, 200);
    }
    assert_eq!(api.get(&listing, Some("not-a-token")).status, 401);
    assert_eq!(
        api.get(&format!("/v2/accounts/{account}/nowhere"), Some("tok-m"))
            .status,
        404
    );
    let mut hits = 0;
    for page_size in [5, 7] {
        let search = format!("/v2/accounts/{account}/pivot/search?q=*&page_size={page_size}");
        let reply = api.get(&search, Some("tok-m"));
        assert_eq!(reply.status, 200, "{}", reply.body);
        let page = reply.body["data"].as_array().unwrap().len();
        assert!(page > 0, "the account has records in the window");
        hits += page;
    }
    let stats = format!("/v2/accounts/{account}/pivot/search/stats?q=*");
    assert_eq!(api.get(&stats, Some("tok-m")).status, 200);

    let q = Metrics::scrape(&api.base);
    let requests = |route: &str, method: &str, status: &str| {
        q.get(
            "pivotlog_http_requests_total",
            &[("route", route), ("method", method), ("status", status)],
        )
        .unwrap_or(0.0)
    };
    assert_eq!(requests(DEBUG_ROUTE, "GET", "200"), 3.0);
    assert_eq!(requests(DEBUG_ROUTE, "GET", "401"), 1.0);
    assert_eq!(requests("unmatched", "GET", "404"), 1.0);
    assert_eq!(requests(SEARCH_ROUTE, "GET", "200"), 2.0);
    assert_eq!(requests(&format!("{SEARCH_ROUTE}/stats"), "GET", "200"), 1.0);
    assert!(requests("/readyz", "GET", "200") >= 1.0);
    let latency_count = |route: &str| {
        q.value(
            "pivotlog_http_request_duration_seconds_count",
            &[("route", route)],
        )
    };
    assert_eq!(latency_count(DEBUG_ROUTE), 4.0);
    assert_eq!(latency_count(SEARCH_ROUTE), 2.0);
    assert_eq!(latency_count("unmatched"), 1.0);
    assert!(
        q.value(
            "pivotlog_http_request_duration_seconds_sum",
            &[("route", DEBUG_ROUTE)]
        ) > 0.0
    );
    assert_eq!(q.value("pivotlog_search_hits_total", &[]), hits as f64);
    assert_eq!(q.value("pivotlog_query_partial_responses_total", &[]), 0.0);
    assert_eq!(
        q.value("pivotlog_index_open_readers", &[]),
        0.0,
        "no read in flight now"
    );
    assert!(q.value("process_resident_memory_bytes", &[]) > 0.0);
    assert!(
        q.samples
            .iter()
            .all(|(_, labels, _)| labels.iter().all(|(_, value)| !value.contains(&account))),
        "no account id in any label"
    );
    // The query process reads the same index: its figures once its cache expires.
    let mut index_figures = q;
    wait_until("the query's index gauges", Duration::from_secs(15), || {
        index_figures = Metrics::scrape(&api.base);
        index_figures.get("pivotlog_index_documents", &[]) == Some(records)
    });
    assert!(index_figures.value("pivotlog_index_bytes", &[]) > 0.0);

    // A query process reading the indexer as a shard counts its shard requests.
    let shard_data = tempfile::tempdir().unwrap();
    let (mut sharded, sharded_api) = query_command(&broker, TOPIC, shard_data.path(), &tokens);
    sharded.args(["--shards", &shard, "--shard-token", "shard-secret"]);
    let sharded_log = shard_data.path().join("query.log");
    let mut sharded = Process::spawn_logging(sharded, &sharded_log);
    wait_serving(&mut sharded, &sharded_api.base, "/readyz", &sharded_log);
    assert_eq!(sharded_api.get(&listing, Some("tok-m")).status, 200);
    let s = Metrics::scrape(&sharded_api.base);
    let shard_ok = [("shard", shard.as_str()), ("outcome", "ok")];
    assert!(s.value("pivotlog_query_shard_requests_total", &shard_ok) >= 1.0);
    assert_eq!(
        s.get("pivotlog_query_shard_requests_total", &[("outcome", "error")]),
        None
    );
    assert_eq!(s.value("pivotlog_query_partial_responses_total", &[]), 0.0);
    assert_eq!(s.get("pivotlog_index_documents", &[]), None, "no local index");

    // Every series the Grafana dashboard queries exists in one of the two scrapes.
    let dashboard = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/grafana/pivotlog-dashboard.json"
    ))
    .unwrap();
    let served = |name: &str| idle.count(name) + index_figures.count(name) + s.count(name) > 0;
    let mut queried = Vec::new();
    for (start, _) in dashboard.match_indices("pivotlog_") {
        let name: String = dashboard[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        queried.push(name);
    }
    queried.sort();
    queried.dedup();
    assert!(queried.len() > 15, "{queried:?}");
    let missing: Vec<&String> = queried.iter().filter(|name| !served(name)).collect();
    assert!(
        missing.is_empty(),
        "the dashboard queries series nobody serves: {missing:?}"
    );
    // The processes stop before the broker (reverse order of declaration).
}
