//! Fault: crash loop. While simulated traffic streams into the topic, the indexer is
//! SIGKILLed at random moments (a seeded schedule) and restarted each time; at the end
//! the index holds exactly the records produced: each event id once, every field equal,
//! every call summary counting its records once.
//!
//! CI size: 2,500 records at 250/s, 5 kills. Full size (`PIVOTLOG_FAULTS_FULL=1`):
//! 20,000 records at 400/s, 25 kills. `PIVOTLOG_FAULTS_SEED=n` replays a schedule
//! (the seed is printed on every run).
//!
//! ```sh
//! PIVOTLOG_FAULTS_FULL=1 cargo test -p pivotlog --test faults_crash_loop -- --nocapture
//! ```

mod support;

use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use support::*;

/// An indexer committing every 100 ms, backlog or not: many commits, so that kills
/// land before, during and after them.
fn indexer(broker: &Broker, topic: &str, dir: &std::path::Path) -> Process {
    let mut command = pivotlog(broker, topic);
    command
        .env("PIVOTLOG_BACKLOG_COMMIT_INTERVAL_MS", "100")
        .args(["indexer", "--commit-interval-ms", "100", "--data-dir"])
        .arg(dir);
    Process::spawn(command)
}

#[test]
fn indexer_killed_at_random_moments_indexes_every_record_exactly_once() {
    let (count, rate, kills) = if faults_full() {
        ("20000", "400", 25)
    } else {
        ("2500", "250", 5)
    };
    let seed = faults_seed();
    let mut rng = StdRng::seed_from_u64(seed);

    let broker = Broker::start();
    let topic = "crash-loop";
    broker.create_topic(topic, 3);
    let data = tempfile::tempdir().unwrap();
    let args = [
        "--count",
        count,
        "--rate",
        rate,
        "--seed",
        "11",
        "--start-unix-ms",
        "1710253474000",
    ];
    let expected = simulated_events(&broker, topic, &args);
    let mut producer = pivotlog(&broker, topic);
    producer.arg("simulate").args(args);
    let mut producer = Process::spawn(producer);

    let started = Instant::now();
    let mut index = None;
    let mut history = Vec::new();
    for kill in 0..kills {
        let mut indexer = indexer(&broker, topic, data.path());
        let index = index.get_or_insert_with(|| open_index(data.path()));
        let life = Duration::from_millis(rng.random_range(150..2500));
        let born = Instant::now();
        while born.elapsed() < life {
            assert!(indexer.is_running(), "the indexer exited by itself (kill {kill})");
            std::thread::sleep(Duration::from_millis(20));
        }
        indexer.kill();
        let now = indexed(index);
        if let Some(&(_, before)) = history.last() {
            assert!(now >= before, "committed records went from {before} to {now}");
        }
        history.push((life.as_millis(), now));
    }
    eprintln!(
        "{kills} kills in {:?} (lifetime ms, records committed at the kill): {history:?}",
        started.elapsed()
    );
    let index = index.unwrap();
    assert!(
        history.iter().any(|&(_, n)| n > 0) && history.last().unwrap().1 < expected.len(),
        "the kills must happen while records are being indexed: {history:?}"
    );

    // The survivor finishes the stream.
    let indexer = indexer(&broker, topic, data.path());
    assert!(producer.0.wait().unwrap().success(), "simulate failed");
    let total = expected.len() as i64;
    wait_until(
        "every record indexed and checkpointed",
        Duration::from_secs(300),
        || indexed(&index) >= expected.len() && checkpointed_records(&index) >= total,
    );
    assert!(indexer.terminate().success(), "indexer exit status after SIGTERM");
    assert_eq!(
        checkpointed_records(&index),
        total,
        "checkpoint covers the topic, no more"
    );
    assert_index_exactly(&index, &expected);
    eprintln!("crash loop passed in {:?}", started.elapsed());
}
