//! Issue 14, overload: a real `pivotlog query` process with one heavy slot, flooded with
//! heavy requests by one account. Heavy requests past the account's queue get 429 with
//! `Retry-After` in the Crossbar envelope at once, while cheap requests keep answering;
//! another account's heavy requests still get their turn; a client that disconnects
//! while its request waits takes it out of the queue (seen in `/metrics`).

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::json;
use support::*;

/// Heavy requests one flooding account keeps in flight.
const FLOOD_CLIENTS: usize = 8;

struct Tally {
    statuses: BTreeMap<u16, usize>,
    /// One 429 as it came, to check its shape.
    refusal: Option<Reply>,
}

/// Sends `path` as `token` in a closed loop until `stop`, counting the answers.
fn hammer(api: &Api, path: &str, token: &str, stop: &AtomicBool) -> Tally {
    let mut tally = Tally {
        statuses: BTreeMap::new(),
        refusal: None,
    };
    while !stop.load(Ordering::Relaxed) {
        let reply = api.get(path, Some(token));
        *tally.statuses.entry(reply.status).or_default() += 1;
        if reply.status == 429 && tally.refusal.is_none() {
            tally.refusal = Some(reply);
        }
    }
    tally
}

fn metric(api: &Api, name: &str, labels: &[&str]) -> f64 {
    let text = ureq::get(&format!("{}/metrics", api.base))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    text.lines()
        .filter(|line| line.starts_with(name) && labels.iter().all(|label| line.contains(label)))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn overload_is_refused_fairly_and_cheap_requests_keep_answering() {
    let broker = Broker::start();
    let topic = "pivot-debug";
    broker.create_topic(topic, 1);
    let start_ms = an_hour_ago_unix_ms();
    let simulated = simulate(
        &broker,
        topic,
        &[
            "--count",
            "3000",
            "--seed",
            "14",
            "--start-unix-ms",
            &start_ms,
            "--accounts",
            "3",
        ],
    );
    let mut by_account: BTreeMap<String, usize> = BTreeMap::new();
    for doc in &simulated {
        *by_account
            .entry(doc["pvt_account_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    assert_eq!(by_account.len(), 3, "three accounts: {by_account:?}");
    let mut accounts = by_account.keys().cloned();
    let (busy, quiet, impatient_account) = (
        accounts.next().unwrap(),
        accounts.next().unwrap(),
        accounts.next().unwrap(),
    );

    let data = tempfile::tempdir().unwrap();
    let _indexer = start_indexer(&broker, topic, data.path(), 200);
    let index = open_index(data.path());
    wait_until("everything indexed", Duration::from_secs(120), || {
        indexed(&index) >= simulated.len()
    });
    let tokens = json!({
        "tok-busy": {"account_id": busy},
        "tok-quiet": {"account_id": quiet},
        "tok-impatient": {"account_id": impatient_account},
    });
    let (mut query, api) = query_command(&broker, topic, data.path(), &tokens);
    query.args([
        "--heavy-slots",
        "1",
        "--account-queue",
        "2",
        "--queue-timeout-ms",
        "10000",
    ]);
    let _query = Process::spawn_logging(query, &data.path().join("query.log"));
    api.wait_ready();

    // A search with snippets over every record of the account.
    let heavy =
        |account: &str| format!("/v2/accounts/{account}/pivot/search?q=*&sort=relevance&page_size=200");
    let alone: Vec<Duration> = (0..3)
        .map(|_| {
            let started = Instant::now();
            assert_eq!(api.get(&heavy(&busy), Some("tok-busy")).status, 200);
            started.elapsed()
        })
        .collect();
    eprintln!("one heavy read alone: {alone:?}");
    let listing = api.get(
        &format!("/v2/accounts/{busy}/pivot/debug?page_size=5"),
        Some("tok-busy"),
    );
    assert_eq!(listing.status, 200, "{}", listing.body);
    let call = listing.body["data"][0]["call_id"].as_str().unwrap().to_owned();
    let cheap = format!(
        "/v2/accounts/{busy}/pivot/debug/{}",
        form_urlencoded::byte_serialize(call.as_bytes()).collect::<String>()
    );

    let api = Arc::new(api);
    let stop = Arc::new(AtomicBool::new(false));
    let flood: Vec<_> = (0..FLOOD_CLIENTS)
        .map(|_| {
            let (api, stop, path) = (api.clone(), stop.clone(), heavy(&busy));
            thread::spawn(move || hammer(&api, &path, "tok-busy", &stop))
        })
        .collect();
    let quiet_client = {
        let (api, stop, path) = (api.clone(), stop.clone(), heavy(&quiet));
        thread::spawn(move || hammer(&api, &path, "tok-quiet", &stop))
    };
    let cheap_client = {
        let (api, stop) = (api.clone(), stop.clone());
        thread::spawn(move || {
            let mut slowest = Duration::ZERO;
            let tally = {
                let mut statuses = BTreeMap::new();
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let reply = api.get(&cheap, Some("tok-busy"));
                    slowest = slowest.max(started.elapsed());
                    *statuses.entry(reply.status).or_insert(0usize) += 1;
                    thread::sleep(Duration::from_millis(20));
                }
                statuses
            };
            (tally, slowest)
        })
    };

    // Meanwhile, clients of a third account that give up while they wait.
    thread::sleep(Duration::from_millis(500));
    let impatient = ureq::AgentBuilder::new()
        .timeout(Duration::from_millis(30))
        .build();
    for _ in 0..3 {
        let url = format!("{}{}", api.base, heavy(&impatient_account));
        match impatient.get(&url).set("X-Auth-Token", "tok-impatient").call() {
            Err(ureq::Error::Transport(_)) => {}
            other => panic!("a heavy read behind the flood did not wait: {other:?}"),
        }
    }
    thread::sleep(Duration::from_secs(3));
    stop.store(true, Ordering::Relaxed);

    let busy_tally: Vec<Tally> = flood.into_iter().map(|t| t.join().unwrap()).collect();
    let quiet_tally = quiet_client.join().unwrap();
    let (cheap_statuses, cheap_slowest) = cheap_client.join().unwrap();

    let busy_statuses = busy_tally
        .iter()
        .fold(BTreeMap::new(), |mut all: BTreeMap<u16, usize>, t| {
            for (status, n) in &t.statuses {
                *all.entry(*status).or_default() += n;
            }
            all
        });
    assert!(
        busy_statuses.get(&200).copied().unwrap_or(0) > 0,
        "{busy_statuses:?}"
    );
    assert!(
        busy_statuses.get(&429).copied().unwrap_or(0) > 0,
        "the flood was never refused: {busy_statuses:?}"
    );
    assert!(
        busy_statuses.keys().all(|status| [200, 429].contains(status)),
        "{busy_statuses:?}"
    );

    // A refusal: 429, Retry-After, Crossbar's envelope, exactly application/json.
    let refusal = busy_tally.iter().find_map(|t| t.refusal.as_ref()).unwrap();
    let retry_after: u64 = refusal.headers["retry-after"].parse().unwrap();
    assert!(retry_after >= 1);
    assert_eq!(refusal.headers["content-type"], "application/json");
    assert_eq!(refusal.body["status"], "error");
    assert_eq!(refusal.body["error"], "429");
    assert_eq!(refusal.body["data"]["retry_after"], json!(retry_after));
    assert!(refusal.body["request_id"].is_string());

    // The other account was never refused and got answers: its turn came round.
    assert_eq!(
        quiet_tally.statuses.keys().copied().collect::<Vec<_>>(),
        [200],
        "the quiet account: {:?}",
        quiet_tally.statuses
    );
    // Cheap requests never queue behind heavy ones.
    assert_eq!(
        cheap_statuses.keys().copied().collect::<Vec<_>>(),
        [200],
        "{cheap_statuses:?}"
    );
    assert!(cheap_statuses[&200] >= 10, "{cheap_statuses:?}");
    eprintln!(
        "busy {busy_statuses:?}, quiet {:?}, cheap {cheap_statuses:?} (slowest {cheap_slowest:?})",
        quiet_tally.statuses
    );

    let rejected = metric(
        &api,
        "pivotlog_query_reads_rejected_total",
        &["class=\"heavy\"", "queue_full"],
    );
    assert!(rejected >= busy_statuses[&429] as f64, "{rejected}");
    let cancelled = metric(&api, "pivotlog_query_reads_cancelled_total", &["class=\"heavy\""]);
    assert!(
        cancelled >= 1.0,
        "no abandoned read was taken out of the queue or stopped"
    );
    assert_eq!(
        metric(&api, "pivotlog_query_reads_queued", &["class=\"heavy\""]),
        0.0
    );
    // No account in any label.
    let text = ureq::get(&format!("{}/metrics", api.base))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(!text.contains(&busy) && !text.contains(&quiet));
}
