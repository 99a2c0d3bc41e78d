//! A closed-loop HTTP load: `clients` threads, each sending its next request as soon
//! as the previous answer is read, for a fixed time. Latency is measured per request
//! from just before sending to the last byte of the body.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::summary::Latencies;

/// Runs the load and returns every latency of a 200. A 429 (overload: the server's
/// admission refused the request) is counted, and its client waits `Retry-After`, as a
/// well-behaved client does; any other answer aborts the run.
pub fn closed_loop(
    base: &str,
    token: &str,
    paths: &[String],
    clients: usize,
    duration: Duration,
) -> Latencies {
    clients_loop(base, token, paths, clients, duration, None)
}

/// One client sending `rate` requests per second (each at its scheduled time, or at
/// once when behind): a user's pace, whose own load is the same whatever the server
/// does, unlike a closed loop that sends faster the faster it is answered. Latencies
/// and 429s as [`closed_loop`].
pub fn paced(base: &str, token: &str, paths: &[String], rate: f64, duration: Duration) -> Latencies {
    clients_loop(
        base,
        token,
        paths,
        1,
        duration,
        Some(Duration::from_secs_f64(1.0 / rate)),
    )
}

fn clients_loop(
    base: &str,
    token: &str,
    paths: &[String],
    clients: usize,
    duration: Duration,
    pace: Option<Duration>,
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
                let mut refused = 0;
                let mut next = client;
                let mut due = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    if let Some(interval) = pace {
                        sleep_unless_stopped(due.saturating_duration_since(Instant::now()), &stop);
                        due += interval;
                    }
                    let path = &paths[next % paths.len()];
                    next += clients;
                    let sent = Instant::now();
                    let response = match agent
                        .get(&format!("{base}{path}"))
                        .set("X-Auth-Token", &token)
                        .call()
                    {
                        Ok(response) => response,
                        Err(ureq::Error::Status(429, response)) => {
                            refused += 1;
                            let wait_s: u64 = response
                                .header("retry-after")
                                .and_then(|value| value.parse().ok())
                                .unwrap_or(1);
                            sleep_unless_stopped(Duration::from_secs(wait_s), &stop);
                            continue;
                        }
                        Err(err) => panic!("GET {path}: {err}"),
                    };
                    let body = response.into_string().expect("a body");
                    latencies.push(sent.elapsed());
                    assert!(body.contains("\"status\":\"success\""), "GET {path}: {body}");
                }
                (latencies, refused)
            })
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let (mut all, mut refused) = (Vec::new(), 0);
    for worker in workers {
        let (latencies, refusals) = worker.join().expect("a load thread");
        all.extend(latencies);
        refused += refusals;
    }
    Latencies::new(all, started.elapsed()).with_refused(refused)
}

/// Sleeps `wait`, waking early when the run ends.
fn sleep_unless_stopped(wait: Duration, stop: &AtomicBool) {
    let until = Instant::now() + wait;
    while !stop.load(Ordering::Relaxed) && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(10));
    }
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
