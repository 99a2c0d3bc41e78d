//! Section 6, overload: does a cheap request stay cheap, and does a second account get
//! its turn, while one account's 32 clients run heavy queries? Measured on the index of
//! the ingest runs, first against a query process with the default limits (admission
//! sized to the cores), then — for the heavy throughput the limits must not waste —
//! against one whose limits are out of reach (no admission to speak of), in the same run.

use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use pivotlog_proto::DebugEvent;

use crate::load;
use crate::procs::{self, Broker};
use crate::summary::Latencies;

const HEAVY_CLIENTS: usize = 32;
const BUSY_TOKEN: &str = "bench-busy";
const OTHER_TOKEN: &str = "bench-other";

/// What one heavy client sends, round-robin: stats of everything and a common-word
/// search, both over the default 31-day window.
fn heavy_paths(account: &str) -> Vec<String> {
    vec![
        format!("/v2/accounts/{account}/pivot/search/stats?q=*&interval=1h"),
        format!("/v2/accounts/{account}/pivot/search?q=error"),
    ]
}

/// Runs `loads` at once for `seconds`; their latencies in the same order.
fn together(base: &str, loads: Vec<(&'static str, Vec<String>, usize)>, seconds: f64) -> Vec<Latencies> {
    let handles: Vec<_> = loads
        .into_iter()
        .map(|(token, paths, clients)| {
            let base = base.to_owned();
            std::thread::spawn(move || {
                load::closed_loop(&base, token, &paths, clients, Duration::from_secs_f64(seconds))
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().expect("a load")).collect()
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
        "\n6. overload: {HEAVY_CLIENTS} clients of one account running heavy queries (stats of q=*, search q=error), {seconds:.0} s per phase"
    );
    let (limited, base) = procs::start_query(binary, broker, dir, &tokens, &[]);
    load::closed_loop(&base, BUSY_TOKEN, &calls, 1, Duration::from_millis(300));
    let cheap_alone = load::closed_loop(&base, BUSY_TOKEN, &calls, 1, Duration::from_secs_f64(seconds));
    let other_alone = load::closed_loop(
        &base,
        OTHER_TOKEN,
        &other_search,
        1,
        Duration::from_secs_f64(seconds),
    );
    let under = together(
        &base,
        vec![
            (BUSY_TOKEN, heavy_paths(busy), HEAVY_CLIENTS),
            (BUSY_TOKEN, calls.clone(), 1),
            (OTHER_TOKEN, other_search.clone(), 1),
        ],
        seconds,
    );
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
    load::closed_loop(&base, BUSY_TOKEN, &calls, 1, Duration::from_millis(300));
    let without = together(
        &base,
        vec![
            (BUSY_TOKEN, heavy_paths(busy), HEAVY_CLIENTS),
            (BUSY_TOKEN, calls, 1),
        ],
        seconds,
    );
    drop(unlimited);

    let (heavy, cheap, second) = (&under[0], &under[1], &under[2]);
    let (cheap_alone_p50, cheap_alone_p99) = p50_p99(&cheap_alone);
    let (cheap_p50, cheap_p99) = p50_p99(cheap);
    let (other_alone_p50, other_alone_p99) = p50_p99(&other_alone);
    let (second_p50, second_p99) = p50_p99(second);
    let (cheap_without_p50, cheap_without_p99) = p50_p99(&without[1]);
    let throughput_ratio = heavy.per_second() / without[0].per_second();
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
        "   heavy clients: {:.1} answers/s, {:.1} % refused with 429; without limits {:.1} answers/s: {:.2}× (goal ≥ 0.90 {})",
        heavy.per_second(),
        100.0 * heavy.refused_share(),
        without[0].per_second(),
        throughput_ratio,
        verdict(throughput_ratio >= 0.9)
    );
    json!({
        "cheap_alone_ms": {"p50": cheap_alone_p50, "p99": cheap_alone_p99},
        "cheap_under_load_ms": {"p50": cheap_p50, "p99": cheap_p99},
        "cheap_under_load_without_limits_ms": {"p50": cheap_without_p50, "p99": cheap_without_p99},
        "second_account_alone_ms": {"p50": other_alone_p50, "p99": other_alone_p99},
        "second_account_under_load_ms": {"p50": second_p50, "p99": second_p99},
        "heavy_answers_per_s": heavy.per_second(),
        "heavy_refused_share": heavy.refused_share(),
        "heavy_answers_per_s_without_limits": without[0].per_second(),
        "heavy_throughput_ratio": throughput_ratio,
    })
}
