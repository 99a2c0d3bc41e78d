//! Section 7, overload: does a cheap request stay cheap, and does a second account get
//! its turn, while one account's 32 clients run heavy queries? Measured on the settled
//! 31-day index of section 6 (with `--steady-days 0`, the one-day index of section 2),
//! first against a query process with the default limits (admission sized to the
//! cores), then — for the heavy throughput the limits must not waste — against one
//! whose limits are out of reach (no admission to speak of), in the same run.
//!
//! Heavy throughput is compared as work, not as answers: the two kinds of heavy query
//! differ several-fold in cost, and a bounded FIFO of slots answers a different mix of
//! them than a process that time-shares 32 reads (which favours the short ones), so
//! answers per second would rank the schedulers, not whether cores were wasted. Each
//! kind's answers per second, times what one answer costs alone (p50 at one client: a
//! read runs on one core), is the cores' worth of heavy work done. The second account's
//! searches count too, and run in both phases: under the limits it gets a slot of its
//! own, and the work it does there is not work lost. The call-opening client keeps a
//! user's pace ([`CHEAP_RATE`]) rather than a closed loop, so that its own CPU use is
//! the same in both phases: a closed loop answered 3× faster under the limits takes that
//! much more of the cores, which would count against the heavy clients.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use pivotlog_proto::DebugEvent;

use crate::load;
use crate::procs::{self, Broker, Process};
use crate::summary::Latencies;

const HEAVY_CLIENTS: usize = 32;
/// The name the query process gives its heavy-read threads (`pivotlog-heavy-N`, cut to
/// 15 bytes by the kernel).
const HEAVY_THREADS: &str = "pivotlog-heavy";
/// Calls opened per second by the cheap client: a few operators clicking.
const CHEAP_RATE: f64 = 50.0;
const BUSY_TOKEN: &str = "bench-busy";
const OTHER_TOKEN: &str = "bench-other";

/// The heavy queries, each sent by half the heavy clients: stats of everything and a
/// common-word search, both over the default 31-day window.
fn heavy_kinds(account: &str) -> [(&'static str, Vec<String>); 2] {
    [
        (
            "stats q=*",
            vec![format!(
                "/v2/accounts/{account}/pivot/search/stats?q=*&interval=1h"
            )],
        ),
        (
            "search q=error",
            vec![format!("/v2/accounts/{account}/pivot/search?q=error")],
        ),
    ]
}

/// How a load's clients send.
#[derive(Clone, Copy)]
enum Clients {
    /// This many closed-loop clients.
    Closed(usize),
    /// One client at this many requests per second.
    Paced(f64),
}

/// A load: the token, the paths sent round-robin, and how.
type Load = (&'static str, Vec<String>, Clients);

/// The heavy loads of `account`: its clients split evenly between the kinds.
fn heavy_loads(account: &str) -> Vec<Load> {
    heavy_kinds(account)
        .into_iter()
        .map(|(_, paths)| (BUSY_TOKEN, paths, Clients::Closed(HEAVY_CLIENTS / 2)))
        .collect()
}

fn run(base: &str, (token, paths, clients): &Load, seconds: f64) -> Latencies {
    let duration = Duration::from_secs_f64(seconds);
    match *clients {
        Clients::Closed(clients) => load::closed_loop(base, token, paths, clients, duration),
        Clients::Paced(rate) => load::paced(base, token, paths, rate, duration),
    }
}

/// Cores' worth of heavy work per second: each kind's answers per second times its cost
/// alone.
fn cores_busy(loads: &[Latencies], cost_alone_ms: &[f64]) -> f64 {
    loads
        .iter()
        .zip(cost_alone_ms)
        .map(|(load, ms)| load.per_second() * ms / 1000.0)
        .sum()
}

/// All heavy answers per second, and the share of requests refused with 429.
fn answers(loads: &[Latencies]) -> (f64, f64) {
    let per_second = loads.iter().map(Latencies::per_second).sum();
    let refused: usize = loads.iter().map(Latencies::refused).sum();
    let answered: usize = loads.iter().map(Latencies::count).sum();
    (per_second, refused as f64 / (refused + answered).max(1) as f64)
}

/// Runs `loads` at once for `seconds`; their latencies in the same order.
fn together(base: &str, loads: Vec<Load>, seconds: f64) -> Vec<Latencies> {
    let handles: Vec<_> = loads
        .into_iter()
        .map(|load| {
            let base = base.to_owned();
            std::thread::spawn(move || run(&base, &load, seconds))
        })
        .collect();
    handles.into_iter().map(|h| h.join().expect("a load")).collect()
}

/// Where the cores went while a phase ran, in cores.
#[derive(Clone, Copy)]
struct CoresUsed {
    /// By the query process's heavy-read threads.
    heavy_threads: f64,
    /// By the whole query process.
    query: f64,
    /// Left idle on the machine.
    idle: f64,
}

/// [`together`] against `query`, and where the cores went meanwhile.
fn together_on(query: &Process, base: &str, loads: Vec<Load>, seconds: f64) -> (Vec<Latencies>, CoresUsed) {
    let cpu = |prefix| query.threads_cpu_seconds(prefix);
    let (heavy, all, idle, started) = (cpu(HEAVY_THREADS), cpu(""), idle_seconds(), Instant::now());
    let latencies = together(base, loads, seconds);
    let elapsed = started.elapsed().as_secs_f64();
    let used = CoresUsed {
        heavy_threads: (cpu(HEAVY_THREADS) - heavy) / elapsed,
        query: (cpu("") - all) / elapsed,
        idle: (idle_seconds() - idle) / elapsed,
    };
    (latencies, used)
}

/// CPU time the machine's cores have spent idle since boot, s (`/proc/stat`: idle and
/// iowait, in the kernel's 100 Hz ticks).
fn idle_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .filter_map(|n| n.parse().ok())
        .collect();
    (ticks.get(3).unwrap_or(&0.0) + ticks.get(4).unwrap_or(&0.0)) / 100.0
}

/// `(p50, p99)` of a load, ms.
fn p50_p99(latencies: &Latencies) -> (f64, f64) {
    (latencies.percentile(50.0), latencies.percentile(99.0))
}

pub fn overload(
    binary: &Path,
    broker: &Broker,
    dir: &Path,
    events: &[DebugEvent],
    (busy, other): (&str, &str),
    seconds: f64,
    limits: &[String],
) -> Value {
    let tokens = dir.with_extension("overload-tokens.json");
    std::fs::write(
        &tokens,
        json!({BUSY_TOKEN: {"account_id": busy}, OTHER_TOKEN: {"account_id": other}}).to_string(),
    )
    .unwrap();
    let calls: Vec<String> = events
        .iter()
        .filter(|e| e.account_id == busy)
        .step_by(97)
        .take(200)
        .map(|e| {
            let call: String = form_urlencoded::byte_serialize(e.call_id.as_bytes()).collect();
            format!("/v2/accounts/{busy}/pivot/debug/{call}")
        })
        .collect();
    let other_search = vec![format!("/v2/accounts/{other}/pivot/search?q=error")];

    println!(
        "\n7. overload: {HEAVY_CLIENTS} clients of one account running heavy queries (stats of q=*, search q=error), a call opened {CHEAP_RATE:.0} times a second, a second account searching; {seconds:.0} s per phase"
    );
    let cheap: Load = (BUSY_TOKEN, calls, Clients::Paced(CHEAP_RATE));
    let second: Load = (OTHER_TOKEN, other_search, Clients::Closed(1));
    // Heavy loads, then the cheap client, then the second account.
    let mut loads = heavy_loads(busy);
    loads.push(cheap.clone());
    loads.push(second.clone());

    let limits: Vec<&str> = limits.iter().map(String::as_str).collect();
    let (limited, base) = procs::start_query(binary, broker, dir, &tokens, &limits);
    run(&base, &(BUSY_TOKEN, cheap.1.clone(), Clients::Closed(1)), 0.3);
    let cheap_alone = run(&base, &cheap, seconds);
    let other_alone = run(&base, &second, seconds);
    let heavy_alone: Vec<Latencies> = heavy_kinds(busy)
        .into_iter()
        .map(|(_, paths)| run(&base, &(BUSY_TOKEN, paths, Clients::Closed(1)), seconds))
        .collect();
    let mut cost_alone_ms: Vec<f64> = heavy_alone.iter().map(|alone| alone.percentile(50.0)).collect();
    cost_alone_ms.push(other_alone.percentile(50.0));
    let (mut heavy, heavy_cores) = together_on(&limited, &base, loads.clone(), seconds);
    let cheap_under = heavy.remove(heavy.len() - 2);
    drop(limited);
    let (unlimited, base) = procs::start_query(
        binary,
        broker,
        dir,
        &tokens,
        &[
            "--heavy-slots",
            "4096",
            "--account-queue",
            "4096",
            "--cheap-slots",
            "4096",
        ],
    );
    run(&base, &(BUSY_TOKEN, cheap.1.clone(), Clients::Closed(1)), 0.3);
    let (mut without, heavy_cores_without) = together_on(&unlimited, &base, loads, seconds);
    let cheap_without = without.remove(without.len() - 2);
    drop(unlimited);

    let (cheap_alone_p50, cheap_alone_p99) = p50_p99(&cheap_alone);
    let (cheap_p50, cheap_p99) = p50_p99(&cheap_under);
    let (other_alone_p50, other_alone_p99) = p50_p99(&other_alone);
    let (second_p50, second_p99) = p50_p99(heavy.last().expect("the second account"));
    let (second_without_p50, second_without_p99) = p50_p99(without.last().expect("the second account"));
    let (cheap_without_p50, cheap_without_p99) = p50_p99(&cheap_without);
    let (heavy_per_s, heavy_refused) = answers(&heavy);
    let (without_per_s, _) = answers(&without);
    let (work, work_without) = (
        cores_busy(&heavy, &cost_alone_ms),
        cores_busy(&without, &cost_alone_ms),
    );
    let throughput_ratio = work / work_without;
    let verdict = |met: bool| if met { "met" } else { "MISSED" };
    println!("   {:<44} {:>8} {:>8}  goal", "", "p50 ms", "p99 ms");
    println!(
        "   {:<44} {:>8.2} {:>8.2}",
        "open a call, alone", cheap_alone_p50, cheap_alone_p99
    );
    println!(
        "   {:<44} {:>8.2} {:>8.2}  p99 ≤ 10× alone: {:.1}× {}",
        "open a call, under the heavy load",
        cheap_p50,
        cheap_p99,
        cheap_p99 / cheap_alone_p99,
        verdict(cheap_p99 <= 10.0 * cheap_alone_p99)
    );
    println!(
        "   {:<44} {:>8.2} {:>8.2}  (without limits: {:.1}× alone)",
        "open a call, under the load, no limits",
        cheap_without_p50,
        cheap_without_p99,
        cheap_without_p99 / cheap_alone_p99
    );
    println!(
        "   {:<44} {:>8.2} {:>8.2}",
        "second account's search, alone", other_alone_p50, other_alone_p99
    );
    println!(
        "   {:<44} {:>8.2} {:>8.2}  p99 ≤ 3× alone: {:.1}× {}",
        "second account's search, under the load",
        second_p50,
        second_p99,
        second_p99 / other_alone_p99,
        verdict(second_p99 <= 3.0 * other_alone_p99)
    );
    println!(
        "   {:<44} {:>8.2} {:>8.2}  (without limits: {:.1}× alone)",
        "second account's search, no limits",
        second_without_p50,
        second_without_p99,
        second_without_p99 / other_alone_p99
    );
    for (((name, _), alone), (limited, unlimited)) in heavy_kinds(busy)
        .iter()
        .zip(&heavy_alone)
        .zip(heavy.iter().zip(&without))
    {
        println!(
            "   heavy {:<16} alone p50 {:>7.2} ms; under the load {:>6.1} answers/s ({:.1} % refused), without limits {:>6.1}/s",
            name,
            alone.percentile(50.0),
            limited.per_second(),
            100.0 * limited.refused_share(),
            unlimited.per_second(),
        );
    }
    println!(
        "   heavy reads (both accounts): {heavy_per_s:.1} answers/s, {:.1} % refused with 429 (without limits {without_per_s:.1}/s); work done: {work:.2} cores' worth, without limits {work_without:.2}: {throughput_ratio:.2}× (goal ≥ 0.90 {})",
        100.0 * heavy_refused,
        verdict(throughput_ratio >= 0.9)
    );
    for (phase, used) in [
        ("under the limits", heavy_cores),
        ("without limits", heavy_cores_without),
    ] {
        println!(
            "   cores {phase}: query process {:.2} (heavy-read threads {:.2}), idle {:.2} of {}",
            used.query,
            used.heavy_threads,
            used.idle,
            std::thread::available_parallelism().map_or(1, |n| n.get())
        );
    }
    json!({
        "cheap_alone_ms": {"p50": cheap_alone_p50, "p99": cheap_alone_p99},
        "cheap_under_load_ms": {"p50": cheap_p50, "p99": cheap_p99},
        "cheap_under_load_without_limits_ms": {"p50": cheap_without_p50, "p99": cheap_without_p99},
        "second_account_alone_ms": {"p50": other_alone_p50, "p99": other_alone_p99},
        "second_account_under_load_ms": {"p50": second_p50, "p99": second_p99},
        "second_account_under_load_without_limits_ms": {"p50": second_without_p50, "p99": second_without_p99},
        "heavy_answers_per_s": heavy_per_s,
        "heavy_refused_share": heavy_refused,
        "heavy_answers_per_s_without_limits": without_per_s,
        "heavy_cost_alone_ms": cost_alone_ms,
        "heavy_cores_busy": work,
        "heavy_cores_busy_without_limits": work_without,
        "heavy_throughput_ratio": throughput_ratio,
        "heavy_threads_cores": heavy_cores.heavy_threads,
        "heavy_threads_cores_without_limits": heavy_cores_without.heavy_threads,
        "query_process_cores": heavy_cores.query,
        "query_process_cores_without_limits": heavy_cores_without.query,
        "idle_cores": heavy_cores.idle,
        "idle_cores_without_limits": heavy_cores_without.idle,
    })
}
