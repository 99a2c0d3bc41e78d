//! How well error signatures group response bodies, and what they cost: a labelled corpus
//! of what Pivot servers send back (web-server and CDN error pages, framework error pages
//! and stack traces, JSON API errors, rate limits, empty 5xx, Kazoo JSON and TwiML with a
//! bad field, success bodies), each template filling varied values (numbers, ids, UUIDs,
//! IPs, hosts, e-mails, timestamps, durations, paths, line numbers, phone numbers,
//! indentation) from a seeded PRNG, so every run templates the same bodies.
//!
//! For every (template, status): the share of its bodies in its largest signature (goal
//! ≥ 0.95: the variable parts do not split it); for every signature: the share of its
//! largest (template, status) (goal ≥ 0.95: two templates do not collapse into one). Then
//! the median ns per `signature()` call over the corpus and, in the same run, the ingest
//! rate of the same bodies as response records through `pivotlog_index::IndexWriter`
//! (goal: signatures ≤ 10 % of the time per record). Timings are printed, never asserted.
//!
//! ```text
//! cargo bench -p pivotlog-benches --bench signatures               # 200 bodies per template
//! cargo bench -p pivotlog-benches --bench signatures -- --quick    # 20 bodies per template (CI)
//! ```
//! Options: `--bodies N` (per template and status), `--runs R`, `--verbose` (whole
//! templates of the signatures a (template, status) is split into).

mod corpus;
mod measure;
mod rng;

use std::collections::HashMap;
use std::time::Instant;

use pivotlog_index::signature::{format_id, signature};
use serde_json::json;

use corpus::{corpus, TEMPLATES};
use measure::{ingest_records_per_s, median, short};

const GOAL_SHARE: f64 = 0.95;
const GOAL_COST_SHARE: f64 = 0.10;

fn main() {
    let args = pivotlog_testkit::args::Args::from_env();
    let quick = args.flag("--quick");
    let verbose = args.flag("--verbose");
    let count = |name: &str| args.number(name).map(|n| n as usize);
    let per_label = count("--bodies").unwrap_or(if quick { 20 } else { 200 }).max(1);
    let runs = count("--runs").unwrap_or(if quick { 3 } else { 5 }).max(1);
    let (labels, bodies) = corpus(per_label);
    let signatures: Vec<_> = bodies
        .iter()
        .map(|b| signature(Some(b.status), &b.text))
        .collect();

    // Per (template, status): how its bodies spread over signatures.
    let mut by_label: Vec<HashMap<u64, usize>> = vec![HashMap::new(); labels.len()];
    // Per signature: which labels it holds.
    let mut by_signature: HashMap<u64, HashMap<usize, usize>> = HashMap::new();
    let mut template_of: HashMap<u64, &str> = HashMap::new();
    for (body, sig) in bodies.iter().zip(&signatures) {
        *by_label[body.label].entry(sig.id).or_default() += 1;
        *by_signature
            .entry(sig.id)
            .or_default()
            .entry(body.label)
            .or_default() += 1;
        template_of.entry(sig.id).or_insert(&sig.template);
    }

    println!(
        "error signatures: {} templates, {} (template, status) labels, {} bodies ({per_label} each), {} signatures",
        TEMPLATES.len(),
        labels.len(),
        bodies.len(),
        by_signature.len()
    );
    println!(
        "{:<30} {:>6} {:>5} {:>7}  its template",
        "template", "status", "sigs", "largest"
    );
    let mut label_shares = Vec::new();
    for (label, &(t, status)) in labels.iter().enumerate() {
        let counts = &by_label[label];
        let (&top, &count) = counts
            .iter()
            .max_by_key(|(id, c)| (**c, std::cmp::Reverse(**id)))
            .unwrap();
        let share = count as f64 / per_label as f64;
        label_shares.push(share);
        println!(
            "{:<30} {:>6} {:>5} {:>7.3}{} {}",
            TEMPLATES[t].name,
            status,
            counts.len(),
            share,
            if share >= GOAL_SHARE { " " } else { "!" },
            short(template_of[&top], 70)
        );
        if share < GOAL_SHARE {
            let mut others: Vec<_> = counts.iter().filter(|(id, _)| **id != top).collect();
            others.sort_by_key(|(id, c)| (std::cmp::Reverse(**c), **id));
            for (id, c) in others.into_iter().take(if verbose { 3 } else { 2 }) {
                if verbose {
                    println!(
                        "{:>44} {:>4}× {}\n{:>50}{}",
                        "",
                        c,
                        short(template_of[id], 1000),
                        "largest: ",
                        short(template_of[&top], 1000)
                    );
                } else {
                    println!("{:>44} {:>4}× {}", "", c, short(template_of[id], 70));
                }
            }
        }
    }

    let mut purities: Vec<(f64, u64)> = by_signature
        .iter()
        .map(|(id, counts)| {
            let total: usize = counts.values().sum();
            (*counts.values().max().unwrap() as f64 / total as f64, *id)
        })
        .collect();
    purities.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    println!();
    println!("least pure signatures (share of their largest (template, status)):");
    for (purity, id) in purities.iter().take(5) {
        let mut held: Vec<_> = by_signature[id].iter().collect();
        held.sort_by_key(|(l, c)| (std::cmp::Reverse(**c), **l));
        let held: Vec<String> = held
            .iter()
            .take(3)
            .map(|(l, c)| format!("{} {} ×{c}", TEMPLATES[labels[**l].0].name, labels[**l].1))
            .collect();
        println!(
            "  {} {purity:.3}  {}  [{}]",
            format_id(*id),
            short(template_of[id], 50),
            held.join(", ")
        );
    }

    // Cost: signature() over the corpus, then ingest of the same bodies.
    let per_call_ns = median(
        (0..runs)
            .map(|_| {
                let started = Instant::now();
                let mut sum = 0u64;
                for body in &bodies {
                    sum = sum.wrapping_add(signature(Some(body.status), std::hint::black_box(&body.text)).id);
                }
                std::hint::black_box(sum);
                started.elapsed().as_nanos() as f64 / bodies.len() as f64
            })
            .collect(),
    );
    let mean_bytes = bodies.iter().map(|b| b.text.len()).sum::<usize>() as f64 / bodies.len() as f64;
    let (records_per_s, ingested) = ingest_records_per_s(&bodies, runs);
    let per_record_ns = 1e9 / records_per_s;
    let cost_share = per_call_ns / per_record_ns;

    let label_ok = label_shares.iter().filter(|s| **s >= GOAL_SHARE).count();
    let sig_ok = purities.iter().filter(|p| p.0 >= GOAL_SHARE).count();
    println!();
    println!("summary:");
    println!(
        "  grouping: {label_ok}/{} (template, status) with ≥ {GOAL_SHARE} of their bodies in one signature (median {:.3}, worst {:.3}); \
         {sig_ok}/{} signatures with ≥ {GOAL_SHARE} from one (template, status) (median {:.3}, worst {:.3})",
        labels.len(),
        median(label_shares.clone()),
        label_shares.iter().cloned().fold(1.0, f64::min),
        purities.len(),
        median(purities.iter().map(|p| p.0).collect()),
        purities.first().map_or(1.0, |p| p.0),
    );
    println!(
        "  cost: {per_call_ns:.0} ns per signature() (median of {runs} runs, mean body {mean_bytes:.0} B); \
         ingest {records_per_s:.0} records/s ({per_record_ns:.0} ns/record, {ingested} records, median of {runs}); \
         signature = {:.1} % of a record's ingest time (goal ≤ {:.0} %){}",
        100.0 * cost_share,
        100.0 * GOAL_COST_SHARE,
        if cost_share <= GOAL_COST_SHARE { "" } else { " !" }
    );
    println!(
        "  note: once the index writer computes signatures, the ingest figure already includes them \
         (the share is then of a record's whole ingest, signature included)"
    );

    let report = json!({
        "templates": TEMPLATES.len(), "labels": labels.len(), "bodies_per_label": per_label,
        "signatures": purities.len(),
        "labels_meeting_goal": label_ok, "signatures_meeting_goal": sig_ok,
        "median_label_share": median(label_shares.clone()),
        "median_signature_purity": median(purities.iter().map(|p| p.0).collect()),
        "signature_ns": per_call_ns, "ingest_records_per_s": records_per_s, "signature_share_of_ingest": cost_share,
    });
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/pivotlog-bench");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(
        out.join("signatures.json"),
        serde_json::to_vec_pretty(&report).unwrap(),
    )
    .unwrap();
}
