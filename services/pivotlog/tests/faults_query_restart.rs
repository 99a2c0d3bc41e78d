//! Fault: the query service is restarted under load. Concurrent clients hammer every
//! API endpoint (listing, detail, search, stats) while the `pivotlog query` process
//! gets SIGTERM, and a new one is started on the same port:
//! * every answer that arrives is complete: a 2xx with a whole JSON envelope, never a
//!   5xx, a truncated or a corrupt body; the only failures allowed are at the
//!   connection level (refused, or closed before an answer began);
//! * requests in flight at the signal are answered;
//! * the process exits promptly and cleanly (status 0), even with an idle keep-alive
//!   connection and a client stalled in the middle of its request headers;
//! * the new process answers again.
//!
//! CI size: 6 clients, 2 restarts. Full size (`PIVOTLOG_FAULTS_FULL=1`): 16 clients,
//! 10 restarts.
//!
//! ```sh
//! PIVOTLOG_FAULTS_FULL=1 cargo test -p pivotlog --test faults_query_restart -- --nocapture
//! ```

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pivotlog_index::{IndexWriter, PivotIndex, WriterConfig};
use prost::Message;
use support::*;

/// Builds an index of simulated traffic (live clock, so the default windows hold it).
fn build_index(dir: &Path) -> (String, Vec<String>) {
    let output = Command::new(env!("CARGO_BIN_EXE_pivotlog"))
        .args([
            "simulate",
            "--stdout",
            "--count",
            "3000",
            "--seed",
            "41",
            "--accounts",
            "2",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let index = PivotIndex::open_or_create(dir).unwrap();
    let mut writer = IndexWriter::new(&index, &WriterConfig::default()).unwrap();
    let mut account = String::new();
    let mut calls = Vec::new();
    for line in String::from_utf8(output.stdout).unwrap().lines() {
        let event = pivotlog_proto::kazoo::event_from_doc(&serde_json::from_str(line).unwrap()).unwrap();
        if account.is_empty() {
            account = event.account_id.clone();
        }
        if event.account_id == account && calls.last() != Some(&event.call_id) {
            calls.push(event.call_id.clone());
        }
        writer.add(&event, &event.encode_to_vec()).unwrap();
    }
    writer.commit().unwrap();
    writer.wait_merging_threads().unwrap();
    (account, calls)
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[derive(Default)]
struct Tally {
    ok: AtomicU64,
    refused: AtomicU64,
    /// Answers that began before a SIGTERM and ended after it.
    straddling: AtomicU64,
    bad: Mutex<Vec<String>>,
}

/// One client: a keep-alive agent requesting the endpoints in turn until `stop`.
fn client(
    base: String,
    paths: Vec<String>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    sigterm: Arc<Mutex<Option<Instant>>>,
) {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
    let mut turn = 0;
    while !stop.load(Ordering::Relaxed) {
        let path = &paths[turn % paths.len()];
        turn += 1;
        let started = Instant::now();
        let outcome = agent
            .get(&format!("{base}{path}"))
            .set("X-Auth-Token", "t")
            .call();
        let response = match outcome {
            Ok(response) => response,
            Err(ureq::Error::Status(status, response)) => {
                let body = response.into_string().unwrap_or_default();
                tally
                    .bad
                    .lock()
                    .unwrap()
                    .push(format!("{status} for {path}: {body}"));
                continue;
            }
            Err(ureq::Error::Transport(_)) => {
                // Refused or closed before an answer: the connection level, allowed.
                tally.refused.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        let length = response.header("content-length").map(str::to_owned);
        let mut body = Vec::new();
        if let Err(err) = response.into_reader().read_to_end(&mut body) {
            tally
                .bad
                .lock()
                .unwrap()
                .push(format!("{path}: body cut after {} bytes: {err}", body.len()));
            continue;
        }
        if let Some(length) = length {
            if length.parse::<usize>().ok() != Some(body.len()) {
                tally
                    .bad
                    .lock()
                    .unwrap()
                    .push(format!("{path}: {} bytes of {length}", body.len()));
                continue;
            }
        }
        match serde_json::from_slice::<serde_json::Value>(&body) {
            Ok(json) if json["status"] == "success" => {
                tally.ok.fetch_add(1, Ordering::Relaxed);
                if let Some(at) = *sigterm.lock().unwrap() {
                    if started < at && Instant::now() > at {
                        tally.straddling.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            _ => tally.bad.lock().unwrap().push(format!(
                "{path}: not a success envelope: {}",
                String::from_utf8_lossy(&body)
            )),
        }
    }
}

fn start_query(dir: &Path, tokens: &Path, port: u16) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pivotlog"));
    command
        .env(
            "RUST_LOG",
            std::env::var("PIVOTLOG_TEST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .args(["query", "--listen", &format!("127.0.0.1:{port}"), "--data-dir"])
        .arg(dir)
        .arg("--auth-tokens")
        .arg(tokens);
    let process = Process::spawn(command);
    wait_until("the query service ready", Duration::from_secs(30), || {
        ureq::get(&format!("http://127.0.0.1:{port}/readyz"))
            .call()
            .is_ok()
    });
    process
}

#[test]
fn sigterm_under_load_answers_in_flight_requests_whole_and_a_restart_serves_again() {
    let (clients, restarts) = if faults_full() { (16, 10) } else { (6, 2) };
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("index");
    let (account, calls) = build_index(&dir);
    let tokens = data.path().join("tokens.json");
    std::fs::write(&tokens, format!(r#"{{"t": {{"account_id": "{account}"}}}}"#)).unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let root = format!("/v2/accounts/{account}/pivot");
    let paths = vec![
        format!("{root}/debug?page_size=50"),
        format!("{root}/debug/{}", encode(&calls[calls.len() / 2])),
        format!("{root}/search?q=*&page_size=200&snippet_chars=300"),
        format!(
            "{root}/search/stats?q={}&interval=1d",
            encode("status_code:[200 TO 599]")
        ),
        format!("{root}/search?q={}&sort=relevance", encode("error OR timeout")),
        format!("{root}/debug?page_size=500"),
    ];

    let mut query = start_query(&dir, &tokens, port);
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let sigterm = Arc::new(Mutex::new(None));
    let threads: Vec<_> = (0..clients)
        .map(|i| {
            let mut paths = paths.clone();
            let first = i % paths.len();
            paths.rotate_left(first);
            let (base, tally, stop, sigterm) = (base.clone(), tally.clone(), stop.clone(), sigterm.clone());
            std::thread::spawn(move || client(base, paths, tally, stop, sigterm))
        })
        .collect();

    let mut exits = Vec::new();
    for restart in 0..restarts {
        let ok = tally.ok.load(Ordering::Relaxed);
        wait_until("clients being answered", Duration::from_secs(60), || {
            tally.ok.load(Ordering::Relaxed) >= ok + 50
        });
        // An idle keep-alive connection, and one stalled inside its request headers.
        let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
        idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut stalled = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stalled
            .write_all(b"GET /v2/accounts/x/pivot/debug HTTP/1.1\r\nHost: x\r\nX-Auth")
            .unwrap();

        *sigterm.lock().unwrap() = Some(Instant::now());
        let signalled = Instant::now();
        let status = query
            .terminate_within(Duration::from_secs(15))
            .unwrap_or_else(|err| panic!("restart {restart}: the query process is {err}"));
        let took = signalled.elapsed();
        assert!(
            status.success(),
            "restart {restart}: the query process exited with {status}"
        );
        exits.push(took);
        drop((idle, stalled));
        query = start_query(&dir, &tokens, port);
    }
    let ok = tally.ok.load(Ordering::Relaxed);
    wait_until("the restarted service answering", Duration::from_secs(60), || {
        tally.ok.load(Ordering::Relaxed) >= ok + 50
    });
    stop.store(true, Ordering::Relaxed);
    for thread in threads {
        thread.join().unwrap();
    }
    let bad = tally.bad.lock().unwrap();
    eprintln!(
        "{} answers whole, {} refused at the connection level, {} in flight across a SIGTERM; exits took {exits:?}",
        tally.ok.load(Ordering::Relaxed),
        tally.refused.load(Ordering::Relaxed),
        tally.straddling.load(Ordering::Relaxed)
    );
    assert!(
        bad.is_empty(),
        "{} bad answers, e.g. {:?}",
        bad.len(),
        &bad[..bad.len().min(5)]
    );
    assert!(
        tally.straddling.load(Ordering::Relaxed) > 0,
        "no request was in flight across a SIGTERM: the test proved nothing about them"
    );
    drop(query);
}
