//! A closed-loop HTTP load: `clients` threads, each sending its next request as soon
//! as the previous answer is read, for a fixed time. Latency is measured per request
//! from just before sending to the last byte of the body.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::summary::Latencies;

/// Runs the load and returns every latency; any non-200 answer aborts the run.
pub fn closed_loop(
    base: &str,
    token: &str,
    paths: &[String],
    clients: usize,
    duration: Duration,
) -> Latencies {
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..clients)
        .map(|client| {
            let stop = stop.clone();
            let base = base.to_owned();
            let token = token.to_owned();
            let paths = paths.to_vec();
            std::thread::spawn(move || {
                let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
                let mut latencies = Vec::new();
                let mut next = client;
                while !stop.load(Ordering::Relaxed) {
                    let path = &paths[next % paths.len()];
                    next += clients;
                    let sent = Instant::now();
                    let response = agent
                        .get(&format!("{base}{path}"))
                        .set("X-Auth-Token", &token)
                        .call()
                        .unwrap_or_else(|err| panic!("GET {path}: {err}"));
                    let body = response.into_string().expect("a body");
                    latencies.push(sent.elapsed());
                    assert!(body.contains("\"status\":\"success\""), "GET {path}: {body}");
                }
                latencies
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for worker in workers {
        all.extend(worker.join().expect("a load thread"));
    }
    Latencies::new(all, started.elapsed())
}

/// A steady background load (for ingest under queries): `rate` requests per second
/// until `stop` is set; returns how many were answered.
pub fn steady(
    base: String,
    token: String,
    paths: Vec<String>,
    rate: f64,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
        let started = Instant::now();
        let mut sent = 0u64;
        while !stop.load(Ordering::Relaxed) {
            let due = started + Duration::from_secs_f64(sent as f64 / rate);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let path = &paths[sent as usize % paths.len()];
            // The index may not be open yet at the very start: retry quietly.
            let _ = agent
                .get(&format!("{base}{path}"))
                .set("X-Auth-Token", &token)
                .call()
                .map(|response| response.into_string());
            sent += 1;
        }
        sent
    })
}
