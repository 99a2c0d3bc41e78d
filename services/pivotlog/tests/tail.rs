//! Issue: live tail. Simulated traffic goes the real way (publish → tansu → indexers →
//! on-disk indexes) while `pivotlog query` processes stream `/pivot/tail`, on one node
//! and over 3 shards: a tail shows exactly what is committed after it opens, each
//! call's records in order; a reconnect with `Last-Event-ID` (on the same process or
//! another replica) continues with no gap and no duplicate; a shard killed mid-tail is
//! reported (`partial`) and its records arrive once it is back; accounts are isolated;
//! limits answer 429 in the Crossbar envelope; SIGTERM ends every stream cleanly.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use pivotlog_testkit::sse::{self, Opened, SseEvent, Stream};
use serde_json::{json, Value};
use support::*;

const TOPIC: &str = "pivot-debug";
const SHARD_TOKEN: &str = "shard-secret-for-tails";
const WAIT: Duration = Duration::from_secs(60);

/// `count` simulated Kazoo documents of 3 accounts, stamped from an hour ago.
fn traffic(broker: &Broker, count: usize) -> Vec<Value> {
    let mut command = pivotlog(broker, TOPIC);
    command.args(["simulate", "--stdout", "--seed", "11", "--accounts", "3"]);
    command.args([
        "--count",
        &count.to_string(),
        "--start-unix-ms",
        &an_hour_ago_unix_ms(),
    ]);
    String::from_utf8(run_ok(command).stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

fn account_of(doc: &Value) -> &str {
    doc["pvt_account_id"].as_str().unwrap()
}

/// The ids of `account`'s documents among `docs` that `keep` keeps, in publish order.
fn ids_of<'a>(docs: &'a [Value], account: &str, keep: impl Fn(&Value) -> bool) -> Vec<&'a str> {
    docs.iter()
        .filter(|doc| account_of(doc) == account && keep(doc))
        .map(|doc| doc["_id"].as_str().unwrap())
        .collect()
}

fn tail_url(api: &Api, account: &str, query: &str) -> String {
    let q: String = form_urlencoded::byte_serialize(query.as_bytes()).collect();
    format!("{}/v2/accounts/{account}/pivot/tail?q={q}", api.base)
}

/// Reads `stream` until it has shown every id in `expected` (or the wait ends).
fn read_all(stream: &mut Stream, expected: &[&str]) -> Vec<SseEvent> {
    read_rest(stream, expected, &[])
}

/// Reads `stream` until it and `before` (another connection's events) together have
/// shown every id in `expected`.
fn read_rest(stream: &mut Stream, expected: &[&str], before: &[SseEvent]) -> Vec<SseEvent> {
    let wanted: BTreeSet<&str> = expected.iter().copied().collect();
    stream.collect_until(WAIT, |events| {
        let seen: BTreeSet<&str> = sse::records(before)
            .into_iter()
            .chain(sse::records(events))
            .filter_map(|record| record["id"].as_str())
            .collect();
        wanted.is_subset(&seen)
    })
}

/// Every record shown, once; exactly `expected`; each call's records in publish order.
fn assert_exactly(events: &[SseEvent], expected: &[&str], docs: &[Value], what: &str) {
    let shown: Vec<&str> = sse::records(events)
        .iter()
        .map(|record| record["id"].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = shown.iter().copied().collect();
    assert_eq!(unique.len(), shown.len(), "{what}: a record shown twice");
    assert_eq!(
        unique,
        expected.iter().copied().collect::<BTreeSet<_>>(),
        "{what}: exactly the records committed after the tail opened"
    );
    let call_of: BTreeMap<&str, &str> = docs
        .iter()
        .map(|doc| (doc["_id"].as_str().unwrap(), doc["call_id"].as_str().unwrap()))
        .collect();
    assert_eq!(
        by_call(&shown, &call_of),
        by_call(expected, &call_of),
        "{what}: each call's records in order"
    );
}

/// `ids` grouped by call, each call's in the order given.
fn by_call<'a>(ids: &[&'a str], call_of: &BTreeMap<&str, &'a str>) -> BTreeMap<&'a str, Vec<&'a str>> {
    let mut calls: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for id in ids {
        calls.entry(call_of[id]).or_default().push(id);
    }
    calls
}

fn query_process(broker: &Broker, dir: &Path, tokens: &Value, extra: &[&str]) -> (Process, Api) {
    let (mut command, api) = query_command(broker, TOPIC, dir, tokens);
    command
        .args(["--tail-poll-ms", "100", "--tail-heartbeat-s", "1"])
        .args(extra);
    let process = Process::spawn(command);
    api.wait_ready();
    (process, api)
}

#[test]
fn tails_follow_commits_across_reconnects_shards_and_limits() {
    let broker = Broker::start();
    broker.create_topic(TOPIC, 3);
    let work = tempfile::tempdir().unwrap();
    let docs = traffic(&broker, 700);
    let mut by_account: BTreeMap<&str, usize> = BTreeMap::new();
    for doc in &docs {
        *by_account.entry(account_of(doc)).or_default() += 1;
    }
    let mut accounts: Vec<(&str, usize)> = by_account.into_iter().collect();
    accounts.sort_by_key(|(_, records)| std::cmp::Reverse(*records));
    let (a, b) = (accounts[0].0.to_owned(), accounts[1].0.to_owned());
    let (history, phase1, phase2, phase3, phase4) = (
        &docs[..100],
        &docs[100..250],
        &docs[250..400],
        &docs[400..550],
        &docs[550..],
    );
    publish_docs(&broker, TOPIC, work.path(), "history", history);

    let single_dir = work.path().join("single");
    let _single = start_indexer(&broker, TOPIC, &single_dir, 100);
    let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
    let shard_dirs: Vec<_> = (0..3).map(|i| work.path().join(format!("shard-{i}"))).collect();
    let mut shards: Vec<Process> = (0..3)
        .map(|i| shard_indexer(&broker, TOPIC, &shard_dirs[i], ports[i], SHARD_TOKEN, 3, i))
        .collect();
    let single_index = open_index(&single_dir);
    let shard_indexes: Vec<_> = shard_dirs.iter().map(|dir| open_index(dir)).collect();
    wait_until("the history indexed", WAIT, || {
        indexed(&single_index) >= history.len()
            && shard_indexes.iter().map(indexed).sum::<usize>() >= history.len()
    });
    let tokens = json!({"tok-a": {"account_id": a}, "tok-b": {"account_id": b}});
    let (single_query, single) = query_process(
        &broker,
        &single_dir,
        &tokens,
        &["--tail-max-per-account", "4", "--tail-max", "6"],
    );
    let cluster_dir = work.path().join("cluster");
    std::fs::create_dir_all(&cluster_dir).unwrap();
    let shard_list: Vec<String> = ports.iter().map(|port| format!("127.0.0.1:{port}")).collect();
    let (_cluster_query, cluster) = query_process(
        &broker,
        &cluster_dir,
        &tokens,
        &[
            "--shards",
            &shard_list.join(","),
            "--shard-token",
            SHARD_TOKEN,
            "--shard-refresh-ms",
            "200",
        ],
    );
    wait_until("the shards routed", WAIT, || {
        cluster
            .get(&format!("/v2/accounts/{a}/pivot/debug"), Some("tok-a"))
            .body["partial"]
            .is_null()
    });

    // Tails opened now show what is committed next, and nothing before.
    let mut on_single = sse::open(&tail_url(&single, &a, "*"), "tok-a", None).stream();
    let mut on_cluster = sse::open(&tail_url(&cluster, &a, "*"), "tok-a", None).stream();
    let errors_query = "status_code:>=400";
    let mut errors = sse::open(&tail_url(&single, &a, errors_query), "tok-a", None).stream();
    let mut of_b = sse::open(&tail_url(&single, &b, "*"), "tok-b", None).stream();
    // Each tail has read its start position before the new records are committed.
    std::thread::sleep(Duration::from_millis(500));
    publish_docs(&broker, TOPIC, work.path(), "phase1", phase1);
    let expected = ids_of(phase1, &a, |_| true);
    let events = read_all(&mut on_single, &expected);
    assert_exactly(&events, &expected, &docs, "one node");
    for record in sse::records(&events) {
        assert_eq!(record["account_id"], a.as_str());
        assert!(
            record["created_ms"].is_i64() && record["debug_id"].is_string(),
            "{record}"
        );
        if record.get("resp_status_code").is_some() {
            assert!(
                record["signature"].is_string(),
                "a response carries its signature: {record}"
            );
        }
    }
    assert_exactly(
        &read_all(&mut on_cluster, &expected),
        &expected,
        &docs,
        "3 shards",
    );
    let is_error = |doc: &Value| {
        doc["resp_status_code"]
            .as_str()
            .is_some_and(|status| status.parse::<u16>().unwrap() >= 400)
    };
    let expected_errors = ids_of(phase1, &a, is_error);
    assert!(!expected_errors.is_empty(), "the traffic has error responses");
    assert_exactly(
        &read_all(&mut errors, &expected_errors),
        &expected_errors,
        &docs,
        "q filters",
    );
    let expected_b = ids_of(phase1, &b, |_| true);
    assert_exactly(
        &read_all(&mut of_b, &expected_b),
        &expected_b,
        &docs,
        "account B's own tail",
    );
    assert!(
        of_b.heartbeats.load(std::sync::atomic::Ordering::SeqCst) > 0,
        "idle streams get heartbeats"
    );

    // A reconnect with Last-Event-ID continues where the stream was, no gap, no
    // duplicate: on the same process, and from a shard cluster's id on the one node.
    publish_docs(&broker, TOPIC, work.path(), "phase2", phase2);
    let expected = ids_of(&docs[250..550], &a, |_| true);
    let half = ids_of(phase2, &a, |_| true);
    let half = &half[..half.len() / 2];
    let mut first_single = read_all(&mut on_single, half);
    let mut first_cluster = read_all(&mut on_cluster, half);
    let (single_id, cluster_id) = (on_single.close(), on_cluster.close());
    publish_docs(&broker, TOPIC, work.path(), "phase3", phase3);
    // A record shown on both connections, or on neither, fails `assert_exactly`.
    let mut resumed = sse::open(&tail_url(&single, &a, "*"), "tok-a", single_id.as_deref()).stream();
    let mut rest = read_rest(&mut resumed, &expected, &first_single);
    first_single.append(&mut rest);
    assert_exactly(&first_single, &expected, &docs, "reconnect to the same process");
    let mut on_other_replica =
        sse::open(&tail_url(&single, &a, "*"), "tok-a", cluster_id.as_deref()).stream();
    let mut rest = read_rest(&mut on_other_replica, &expected, &first_cluster);
    first_cluster.append(&mut rest);
    assert_exactly(
        &first_cluster,
        &expected,
        &docs,
        "reconnect from a cluster's id to the one node",
    );
    drop(resumed);
    drop(on_other_replica);

    // A shard killed mid-tail: the stream says which partitions are missing, keeps
    // showing the others, and shows the lost ones' records once the shard is back.
    let mut across_loss = sse::open(&tail_url(&cluster, &a, "*"), "tok-a", None).stream();
    std::thread::sleep(Duration::from_millis(500));
    shards[1].kill();
    publish_docs(&broker, TOPIC, work.path(), "phase4", phase4);
    let expected = ids_of(phase4, &a, |_| true);
    let mut events = across_loss.collect_until(WAIT, |events| {
        events
            .iter()
            .any(|event| event.kind == "partial" && event.data["missing_partitions"] == json!([1]))
    });
    let partial_at = Instant::now();
    shards[1] = shard_indexer(&broker, TOPIC, &shard_dirs[1], ports[1], SHARD_TOKEN, 3, 1);
    events.extend(across_loss.collect_until(WAIT, |more| {
        let whole_again = more
            .iter()
            .any(|event| event.kind == "partial" && event.data["missing_partitions"] == json!([]));
        let seen: BTreeSet<&str> = sse::records(&events)
            .into_iter()
            .chain(sse::records(more))
            .filter_map(|record| record["id"].as_str())
            .collect();
        whole_again && expected.iter().all(|id| seen.contains(id))
    }));
    assert!(
        events
            .iter()
            .any(|e| e.kind == "partial" && e.data["missing_partitions"] == json!([])),
        "the stream says when the lost partitions are back ({:?} after the loss)",
        partial_at.elapsed()
    );
    assert_exactly(&events, &expected, &docs, "across a shard's loss");

    // Every endpoint's rules: the token, the account, the parameters.
    let path = format!("/v2/accounts/{a}/pivot/tail");
    assert_eq!(single.get(&path, None).status, 401);
    assert_eq!(single.get(&path, Some("tok-b")).status, 403);
    let bad_query = single.get(&format!("{path}?q=status_code:%3E%3D"), Some("tok-a"));
    assert_eq!(bad_query.status, 400, "{}", bad_query.body);
    for bad in ["x", "0:1,0:2", "-1:5", "0:-1"] {
        let reply = single.request("GET", &path, Some("tok-a"), &[("Last-Event-ID", bad)]);
        assert_eq!(reply.status, 400, "Last-Event-ID {bad}: {}", reply.body);
        assert!(
            reply.body["data"]["Last-Event-ID"]["format"].is_object(),
            "{}",
            reply.body
        );
    }

    // Limits: 4 tails per account, 6 per process; past them, 429 in the envelope.
    let open_for =
        |api: &Api, account: &str, token: &str| sse::open(&tail_url(api, account, "*"), token, None);
    let mut held = vec![errors, of_b];
    loop {
        match open_for(&single, &a, "tok-a") {
            Opened::Stream(stream) => held.push(stream),
            Opened::Refused {
                status,
                retry_after,
                body,
            } => {
                assert_eq!(status, 429, "{body}");
                assert!(retry_after.is_some(), "429 says when to retry");
                assert_eq!(body["status"], "error");
                assert!(body["data"]["retry_after"].is_u64(), "{body}");
                break;
            }
        }
        assert!(held.len() <= 10, "the account limit never applied");
    }
    assert_eq!(held.len(), 5, "4 of account A (one filtered), 1 of B");
    held.push(open_for(&single, &b, "tok-b").stream());
    let Opened::Refused { status, body, .. } = open_for(&single, &b, "tok-b") else {
        panic!("a 7th tail was let in past the process limit of 6");
    };
    assert_eq!(status, 429);
    assert!(
        body["data"]["message"].as_str().unwrap().contains("server"),
        "{body}"
    );
    let metrics = ureq::get(&format!("{}/metrics", single.base))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(
        metrics.contains("pivotlog_query_tails 6"),
        "open tails are a gauge"
    );
    assert!(!metrics.contains(&a), "no account in the metrics");

    // SIGTERM ends every stream with an `end` event, and the process exits at once.
    let stopping = Instant::now();
    let exit = single_query
        .terminate_within(Duration::from_secs(10))
        .expect("exits after SIGTERM");
    assert!(exit.success(), "{exit:?}");
    for mut stream in held {
        let ends = stream.collect_until(Duration::from_secs(5), |events| {
            events.iter().any(|e| e.kind == "end")
        });
        let end = ends
            .iter()
            .find(|e| e.kind == "end")
            .expect("each stream gets an end event");
        assert_eq!(end.data["reason"], "shutdown");
    }
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "open tails did not hold the process"
    );
}
