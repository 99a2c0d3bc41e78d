//! Behaviour while traffic flows: listing pages stay exact during ingestion, and the
//! README's `standalone --demo` serves its own demo data with the token it prints.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

fn get_json(url: &str, token: &str) -> Value {
    let response = ureq::get(url)
        .set("X-Auth-Token", token)
        .call()
        .unwrap_or_else(|err| panic!("{url}: {err}"));
    serde_json::from_str(&response.into_string().unwrap()).unwrap()
}

#[test]
fn listing_pages_show_every_call_once_while_calls_arrive() {
    let broker = Broker::start();
    let topic = "live";
    broker.create_topic(topic, 3);
    let data = tempfile::tempdir().unwrap();
    let _indexer = start_indexer(&broker, topic, data.path(), 100);
    // One account, so that every page is contended; live clock, steady rate.
    let mut first = pivotlog(&broker, topic);
    first.args(["simulate", "--count", "600", "--accounts", "1", "--seed", "5"]);
    run_ok(first);
    let index = open_index(data.path());
    wait_until("the first calls indexed", Duration::from_secs(60), || {
        indexed(&index) >= 600
    });
    let account = index.all_records().unwrap()[0].account_id.clone();
    let before: BTreeSet<String> = index
        .all_records()
        .unwrap()
        .into_iter()
        .map(|e| e.call_id)
        .collect();

    let tokens = data.path().join("tokens.json");
    std::fs::write(&tokens, format!(r#"{{"t": {{"account_id": "{account}"}}}}"#)).unwrap();
    let port = free_port();
    let mut query = pivotlog(&broker, topic);
    query
        .args(["query", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(data.path());
    query.arg("--auth-tokens").arg(&tokens);
    let _query = Process::spawn(query);
    let base = format!("http://127.0.0.1:{port}/v2/accounts/{account}/pivot/debug");
    wait_until("the API", Duration::from_secs(30), || {
        ureq::get(&format!("http://127.0.0.1:{port}/readyz"))
            .call()
            .is_ok()
    });

    let mut more = pivotlog(&broker, topic);
    more.args([
        "simulate",
        "--count",
        "1500",
        "--rate",
        "300",
        "--accounts",
        "1",
        "--seed",
        "5",
    ]);
    let mut more = Process::spawn(more);

    let mut seen = Vec::new();
    let mut url = format!("{base}?page_size=7");
    let mut pages = 0;
    loop {
        let page = get_json(&url, "t");
        for item in page["data"].as_array().unwrap() {
            seen.push(item["call_id"].as_str().unwrap().to_owned());
        }
        pages += 1;
        // Slow the walk down so that calls keep arriving during it.
        std::thread::sleep(Duration::from_millis(20));
        match page.get("next_start_key").and_then(Value::as_str) {
            Some(next) => url = format!("{base}?page_size=7&start_key={next}"),
            None => break,
        }
    }
    let distinct: BTreeSet<String> = seen.iter().cloned().collect();
    assert_eq!(distinct.len(), seen.len(), "a call appeared on two pages");
    assert!(
        before.is_subset(&distinct),
        "a call present before the walk was missed"
    );
    assert!(pages > 20);
    assert!(more.0.wait().unwrap().success());
}

#[test]
fn standalone_demo_serves_what_it_prints() {
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pivotlog"))
        .args([
            "standalone",
            "--demo",
            "--rate",
            "200",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let curl = lines
        .find_map(|line| line.ok().filter(|l| l.contains("curl ")))
        .expect("a curl line");
    let _process = Process(child);
    let token = curl
        .split("X-Auth-Token: ")
        .nth(1)
        .unwrap()
        .split('\'')
        .next()
        .unwrap()
        .to_owned();
    let url = curl.split_whitespace().last().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let listing = get_json(&url, &token);
        assert_eq!(listing["status"], "success");
        if let Some(call) = listing["data"].as_array().unwrap().first() {
            let detail = get_json(
                &format!("{url}/{}", call["debug_id"].as_str().unwrap().replace('@', "%40")),
                &token,
            );
            assert!(!detail["data"].as_array().unwrap().is_empty());
            break;
        }
        assert!(Instant::now() < deadline, "no demo data served within a minute");
        std::thread::sleep(Duration::from_millis(200));
    }
}
