//! What a read costs over a retained month against the same records in one day: the
//! index's reads (listing, searches, stats, error signatures, detail) timed in-process at
//! one client, on the same simulated records indexed once in one time slice and once
//! spread over 31 days with calls arriving out of order; and a listing page and a
//! signatures page of an account with a million calls against one with a thousand.
//!
//! ```text
//! cargo bench -p pivotlog-benches --bench reads                # 400 k records, 1 M-call listing, 3 runs
//! cargo bench -p pivotlog-benches --bench reads -- --quick     # 20 k records, 100 k calls, 1 run: < 1 min
//! ```
//! Options: `--records N`, `--runs R`, `--big-calls N`, `--seconds S` (per row and layout),
//! `--only TEXT` (only the rows whose name contains TEXT, and no big-account rows: for
//! profiling one read).
//!
//! No Kafka: an [`IndexWriter`] writes each layout directly, committing every 10 k records
//! as the indexer would under a backlog. The records come from `pivotlog_publisher`'s
//! simulator (one account, fixed seed); the two layouts differ only in the records'
//! times, rescaled from one generated stream, so every query has the same hits in both.
//! The 31-day layout arrives day by day with each day's calls shuffled, 2 % of the calls
//! held back and delivered last with their records reversed, so those calls sit in the
//! slice of their latest record and slices' time ranges overlap. (A full shuffle across
//! days is the ingest half's benchmark: this one measures what reads cost afterwards.)
//!
//! The 31-day layout is then **settled** as the indexer leaves it once caught up
//! (`pivotlog_index`'s `settle`: every day slice whose newest record is over an hour old
//! merged into one segment), as of the end of the month, so its last day stays as
//! written, and timed again: the steady state's reads.
//!
//! Each row prints p50 and p99 over its runs' medians, the ratio of the 31-day p50 to
//! the one-slice p50 measured in the same run and phase (the one slice is timed again
//! beside the settled layout, so both sides of a ratio share the process's state), and the hit count (a search's total, a
//! listing page's calls, a detail's records, signature groups' signatures, a signatures
//! page's records), which must be equal in both layouts. Signature reads are the API's:
//! every signature in the 31-day window counted (`signature_groups`, 1-day buckets, the
//! console's interval for 31 days), and for a page those ordered by records and the
//! details (`signature_details`) of the first 25. `*` counts success bodies too, whose
//! free text (callflow JSON, TwiML) templates to about one signature per record: beyond
//! 20,000 signatures (some 40 k records here) the index refuses, and the hits show
//! `refused` (the row then times the refusal, which 31 slices reach before the last one).

use std::path::Path;
use std::time::{Duration, Instant};

use pivotlog_index::search::{
    order_groups, Search, SearchError, SearchOrder, SignatureDetailsRequest, SignatureOrder, SnippetOptions,
    StatsRequest,
};
use pivotlog_index::{IndexWriter, ListCalls, PivotIndex, WriterConfig};
use pivotlog_proto::kazoo::event_from_doc;
use pivotlog_proto::{DebugEvent, HttpResponse, Record};
use pivotlog_publisher::simulate::{SimulateConfig, Simulator};

const SEED: u64 = 2024;
const DAY_MS: i64 = 86_400_000;
/// 2026-10-01T00:00:00Z: a fixed first day, so runs are byte-identical.
const DAY0: i64 = 1_790_812_800_000;
const COMMIT_EVERY: usize = 10_000;
const PAGE: usize = 50;
/// The console's page of signatures.
const SIGNATURE_PAGE: usize = 25;

struct Options {
    records: usize,
    runs: usize,
    big_calls: usize,
    seconds: f64,
    only: Option<String>,
}

impl Options {
    fn parse() -> Options {
        let args = pivotlog_testkit::args::Args::from_env();
        let value = |name: &str| args.number(name);
        let quick = args.flag("--quick");
        Options {
            records: value("--records").unwrap_or(if quick { 20_000.0 } else { 400_000.0 }) as usize,
            runs: value("--runs").unwrap_or(if quick { 1.0 } else { 3.0 }) as usize,
            big_calls: value("--big-calls").unwrap_or(if quick { 100_000.0 } else { 1_000_000.0 }) as usize,
            seconds: value("--seconds").unwrap_or(if quick { 0.3 } else { 2.0 }),
            only: args.flag("--only").then(|| {
                args.text("--only")
                    .expect("--only takes a row's name or part of it")
                    .to_owned()
            }),
        }
    }
}

/// splitmix64: a reproducible shuffle without another dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i + 1));
        }
    }
}

/// Simulated calls of one account, at least `records` records, one second apart.
fn simulate(records: usize) -> (String, Vec<Vec<DebugEvent>>) {
    let mut simulator = Simulator::new(SimulateConfig {
        seed: SEED,
        accounts: 1,
        ..SimulateConfig::default()
    });
    let account = simulator.account_ids()[0].clone();
    let (mut calls, mut total) = (Vec::new(), 0);
    while total < records {
        let now = DAY0 + calls.len() as i64 * 1_000;
        let call: Vec<DebugEvent> = simulator
            .next_call(now)
            .iter()
            .map(|doc| event_from_doc(doc).expect("valid simulated document"))
            .collect();
        total += call.len();
        calls.push(call);
    }
    (account, calls)
}

/// The same calls with their times rescaled into `[first, first + span)`.
fn rescaled(calls: &[Vec<DebugEvent>], first: i64, span: i64) -> Vec<Vec<DebugEvent>> {
    let times = calls.iter().flatten().map(|event| event.created_unix_ms);
    let (min, max) = (times.clone().min().unwrap(), times.max().unwrap());
    let scale = span as f64 / (max - min + 1) as f64;
    calls
        .iter()
        .map(|call| {
            call.iter()
                .map(|event| DebugEvent {
                    created_unix_ms: first + ((event.created_unix_ms - min) as f64 * scale) as i64,
                    ..event.clone()
                })
                .collect()
        })
        .collect()
}

/// Writes `events` in this order, committing as an indexer under a backlog does.
fn build(dir: &Path, events: impl Iterator<Item = DebugEvent>) -> (PivotIndex, Duration) {
    let started = Instant::now();
    let index = PivotIndex::open_or_create(dir).unwrap();
    let mut writer = IndexWriter::new(&index, &WriterConfig::default()).unwrap();
    for (i, event) in events.enumerate() {
        writer.add(&event, &[]).unwrap();
        if (i + 1) % COMMIT_EVERY == 0 {
            writer.set_position("bench", 0, i as i64 + 1);
            writer.commit().unwrap();
        }
    }
    writer.set_position("bench", 0, i64::MAX);
    writer.commit().unwrap();
    writer.wait_merging_threads().unwrap();
    drop(index);
    // Read as the query service does: a separate read-only open of the directory.
    let index = PivotIndex::open_or_create(dir).unwrap();
    (index, started.elapsed())
}

/// Settles the index in `dir` as the indexer would at `now_ms`; how long it took.
fn settle(dir: &Path, now_ms: i64) -> Duration {
    let started = Instant::now();
    let index = PivotIndex::open_or_create(dir).unwrap();
    let mut writer = IndexWriter::new(&index, &WriterConfig::default()).unwrap();
    writer.settle_now(now_ms).unwrap();
    writer.wait_merging_threads().unwrap();
    started.elapsed()
}

/// The 31-day arrival order: by day, each day's calls shuffled; 2 % of the calls held
/// back to the end, each with its records reversed.
fn month_arrival(calls: Vec<Vec<DebugEvent>>, rng: &mut Rng) -> Vec<DebugEvent> {
    let mut days: Vec<Vec<Vec<DebugEvent>>> = vec![Vec::new(); 32];
    let mut late = Vec::new();
    for mut call in calls {
        if rng.below(50) == 0 {
            call.reverse();
            late.push(call);
        } else {
            let day = ((call[0].created_unix_ms - DAY0) / DAY_MS) as usize;
            days[day.min(31)].push(call);
        }
    }
    for day in &mut days {
        rng.shuffle(day);
    }
    // Late calls by day of their first-arriving record, so the writer (two open slices)
    // does not commit at every one of them; shuffled within the day.
    rng.shuffle(&mut late);
    late.sort_by_key(|call| call[0].created_unix_ms / DAY_MS);
    days.into_iter().flatten().chain(late).flatten().collect()
}

/// One query kind, asked of an index; returns its hit count.
type Query<'a> = Box<dyn Fn(&PivotIndex, usize) -> u64 + 'a>;

/// p50 and p99 in ms, and the hit count.
type Timing = (f64, f64, u64);

/// Times `query` in a closed loop for `seconds`.
fn time(index: &PivotIndex, query: &Query, seconds: f64) -> Timing {
    let hits = query(index, 0);
    for i in 0..3 {
        query(index, i);
    }
    let mut samples = Vec::new();
    let started = Instant::now();
    while samples.len() < 20 || started.elapsed().as_secs_f64() < seconds {
        let at = Instant::now();
        std::hint::black_box(query(index, samples.len()));
        samples.push(at.elapsed().as_secs_f64() * 1e3);
    }
    samples.sort_by(f64::total_cmp);
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    (pick(0.5), pick(0.99), hits)
}

fn shown(hits: u64) -> String {
    match hits {
        REFUSED => "refused".into(),
        hits => hits.to_string(),
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn listing(account: &str, ascending: bool) -> ListCalls {
    ListCalls {
        account_id: account.into(),
        created_from_ms: DAY0,
        created_to_ms: DAY0 + 31 * DAY_MS,
        ascending,
        page_size: Some(PAGE),
        start: None,
    }
}

fn search(account: &str, query: &str, order: SearchOrder) -> Search {
    Search {
        account_id: account.into(),
        query: query.into(),
        created_from_ms: DAY0,
        created_to_ms: DAY0 + 31 * DAY_MS,
        order,
        page_size: PAGE,
        start: None,
        snippet: SnippetOptions::default(),
    }
}

/// Hits of a read the index refused (signatures beyond `MAX_SIGNATURES`: the API answers 400).
const REFUSED: u64 = u64::MAX;

/// Signatures of `account` matching `query` over the 31 days, as the API reads them:
/// every signature counted (hits: signatures), or with `page`, ordered by records and the
/// details of the first [`SIGNATURE_PAGE`] (hits: their records, summed histograms).
fn signatures(account: &str, query: &str, page: bool) -> Query<'static> {
    let scope = StatsRequest {
        account_id: account.into(),
        query: query.into(),
        created_from_ms: DAY0,
        created_to_ms: DAY0 + 31 * DAY_MS,
        interval_ms: DAY_MS,
    };
    Box::new(move |index, _| {
        let mut groups = match index.signature_groups(&scope) {
            Err(SearchError::TooManySignatures) => return REFUSED,
            answer => answer.unwrap().groups,
        };
        if !page || groups.is_empty() {
            return groups.len() as u64;
        }
        order_groups(&mut groups, SignatureOrder::Records);
        let ids = groups.iter().take(SIGNATURE_PAGE).map(|group| group.id).collect();
        let request = SignatureDetailsRequest {
            scope: scope.clone(),
            ids,
        };
        let details = index.signature_details(&request).unwrap().details;
        details.iter().flat_map(|detail| &detail.by_time).sum()
    })
}

fn main() {
    let options = Options::parse();
    println!(
        "pivotlog reads benchmark: {} records, {} run(s), {:.1} s per row and layout",
        options.records, options.runs, options.seconds
    );
    let (account, calls) = simulate(options.records);
    let records: usize = calls.iter().map(Vec::len).sum();
    let one_day = rescaled(&calls, DAY0 + 1_800_000, DAY_MS - 3_600_000);
    let month = rescaled(&calls, DAY0 + 1_800_000, 31 * DAY_MS - 3_600_000);
    let mut rng = Rng(SEED);
    let month_order = month_arrival(month.clone(), &mut rng);

    let root = tempfile::tempdir().unwrap();
    let (day_index, day_took) = build(&root.path().join("day"), one_day.iter().flatten().cloned());
    let (month_index, month_took) = build(&root.path().join("month"), month_order.into_iter());
    let describe = |name: &str, index: &PivotIndex, took: Duration| {
        let info = index.info().unwrap();
        println!(
            "{name}: {records} records, {} calls, {} slices, {} segments (max {} in a slice), built in {:.1} s",
            calls.len(),
            info.slices.len(),
            info.segments(),
            info.slices.iter().map(|s| s.segments).max().unwrap_or(0),
            took.as_secs_f64()
        );
    };
    describe("1 slice", &day_index, day_took);
    describe("31 days", &month_index, month_took);

    // Calls for detail and cursors, picked the same in both layouts by position.
    let picks: Vec<usize> = (0..200).map(|_| rng.below(calls.len())).collect();
    let mid = calls.len() / 2;
    let cursor_of = |layout: &[Vec<DebugEvent>]| {
        let call = &layout[mid];
        pivotlog_index::CallCursor {
            created_ms: call.iter().map(|e| e.created_unix_ms).min().unwrap(),
            call_id: call[0].call_id.clone(),
        }
    };
    let (day_cursor, month_cursor) = (cursor_of(&one_day), cursor_of(&month));
    let is_month = |index: &PivotIndex| std::ptr::eq(index, &month_index);

    let list = |ascending: bool| -> Query {
        let request = listing(&account, ascending);
        Box::new(move |index, _| index.list_calls(&request).unwrap().calls.len() as u64)
    };
    let list_at_cursor: Query = Box::new(|index, _| {
        let start = if is_month(index) {
            &month_cursor
        } else {
            &day_cursor
        };
        let request = ListCalls {
            start: Some(start.clone()),
            ..listing(&account, false)
        };
        index.list_calls(&request).unwrap().calls.len() as u64
    });
    let find = |text: &str, order: SearchOrder| -> Query {
        let request = search(&account, text, order);
        Box::new(move |index, _| index.search(&request).unwrap().total)
    };
    let stats: Query = Box::new(|index, _| {
        let request = StatsRequest {
            account_id: account.clone(),
            query: "status_code:>=400".into(),
            created_from_ms: DAY0,
            created_to_ms: DAY0 + 31 * DAY_MS,
            interval_ms: 3_600_000,
        };
        index.search_stats(&request).unwrap().counts.total
    });
    let detail: Query = Box::new(|index, i| {
        let call = &calls[picks[i % picks.len()]];
        index.call_records(&account, &call[0].call_id).unwrap().len() as u64
    });
    // A rare string: of the longest word of each of a few picked calls' response
    // bodies, the one with the fewest matches (a user pasting a value from one call).
    let rare = picks
        .iter()
        .take(20)
        .filter_map(|&pick| {
            calls[pick].iter().find_map(|event| match &event.record {
                Some(Record::Response(response)) => response
                    .body
                    .split(|c: char| !c.is_ascii_alphanumeric())
                    .filter(|word| word.len() <= 40)
                    .max_by_key(|word| word.len())
                    .map(str::to_owned),
                _ => None,
            })
        })
        .map(|word| {
            let hits = day_index
                .search(&search(&account, &word, SearchOrder::Newest))
                .unwrap()
                .total;
            (hits, word)
        })
        .filter(|(hits, _)| *hits > 0)
        .min()
        .map_or_else(|| "NullPointerException".to_owned(), |(_, word)| word);
    let rare_row = format!("search: rare string ({rare})");
    let rows: Vec<(&str, Query)> = vec![
        ("listing, newest first", list(false)),
        ("listing, oldest first", list(true)),
        ("listing, at a mid-window cursor", list_at_cursor),
        ("search: common word (error)", find("error", SearchOrder::Newest)),
        (
            "search: common word, relevance",
            find("error", SearchOrder::Relevance),
        ),
        (&rare_row, find(&rare, SearchOrder::Newest)),
        (
            "search: phrase \"404 Not Found\"",
            find("\"404 Not Found\"", SearchOrder::Newest),
        ),
        ("stats: status_code:>=400, 1 h", stats),
        ("signature groups: *", signatures(&account, "*", false)),
        (
            "signature groups: status>=500",
            signatures(&account, "status_code:>=500", false),
        ),
        ("signature page of 25: *", signatures(&account, "*", true)),
        (
            "signature page of 25: status>=500",
            signatures(&account, "status_code:>=500", true),
        ),
        ("detail by call id", detail),
    ];
    let rows: Vec<(&str, Query)> = rows
        .into_iter()
        .filter(|(name, _)| {
            options
                .only
                .as_ref()
                .is_none_or(|only| name.contains(only.as_str()))
        })
        .collect();

    // runs × rows × [1 slice, 31 days, 1 slice again, 31 days settled]: (p50, p99, hits)
    let mut figures = vec![vec![[(0.0, 0.0, 0u64); 4]; rows.len()]; options.runs];
    for run in figures.iter_mut() {
        for (row, (_, query)) in run.iter_mut().zip(&rows) {
            row[0] = time(&day_index, query, options.seconds);
            row[1] = time(&month_index, query, options.seconds);
        }
    }
    let settled_took = settle(&root.path().join("month"), DAY0 + 31 * DAY_MS);
    month_index.reload().unwrap();
    describe("31 days, settled", &month_index, settled_took);
    for run in figures.iter_mut() {
        for (row, (_, query)) in run.iter_mut().zip(&rows) {
            row[2] = time(&day_index, query, options.seconds);
            row[3] = time(&month_index, query, options.seconds);
        }
    }
    println!(
        "\nreads at one client, in-process, ms (median over {} run(s)); ratio = 31-day p50 / 1-slice p50 of the same run and phase (settled: against the 1 slice timed again beside it)",
        options.runs
    );
    println!(
        "{:<34} {:>8} {:>8} {:>8} {:>8} {:>7} {:>8} {:>8} {:>7} {:>8} {:>8}",
        "query",
        "1s p50",
        "1s p99",
        "31d p50",
        "31d p99",
        "ratio",
        "set p50",
        "set p99",
        "ratio",
        "hits 1s",
        "hits 31d"
    );
    for (r, (name, _)) in rows.iter().enumerate() {
        let column = |layout: usize, pick: fn(&(f64, f64, u64)) -> f64| {
            median(
                &mut figures
                    .iter()
                    .map(|run| pick(&run[r][layout]))
                    .collect::<Vec<_>>(),
            )
        };
        let ratio = |layout: usize, baseline: usize| {
            median(
                &mut figures
                    .iter()
                    .map(|run| run[r][layout].0 / run[r][baseline].0)
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            figures[0][r][1].2, figures[0][r][3].2,
            "{name}: settling changed the hits"
        );
        println!(
            "{:<34} {:>8.3} {:>8.3} {:>8.3} {:>8.3} {:>6.2}× {:>8.3} {:>8.3} {:>6.2}× {:>8} {:>8}",
            name,
            column(0, |f| f.0),
            column(0, |f| f.1),
            column(1, |f| f.0),
            column(1, |f| f.1),
            ratio(1, 0),
            column(3, |f| f.0),
            column(3, |f| f.1),
            ratio(3, 2),
            shown(figures[0][r][0].2),
            shown(figures[0][r][1].2),
        );
    }
    if options.only.is_none() {
        big_accounts(&options);
    }
}

/// One slice holding an account with `big_calls` calls and one with 1,000, each call a
/// single minimal record (a response with an empty body): summaries are what a listing
/// reads, and this makes a million of them cheap to write. Statuses cycle over six codes,
/// so each account has six signatures for its signatures page.
fn big_accounts(options: &Options) {
    const BIG: &str = "b16b16b16b16b16b16b16b16b16b16b1";
    const SMALL: &str = "5a115a115a115a115a115a115a115a11";
    let minimal = |account: &str, i: usize, created_unix_ms: i64| DebugEvent {
        schema_version: 1,
        event_id: format!("{account}-{i}"),
        account_id: account.into(),
        ancestor_ids: vec![],
        call_id: format!("{i}@10.0.0.1"),
        iteration: 1,
        created_unix_ms,
        node: "kz1".into(),
        record: Some(Record::Response(HttpResponse {
            status_code: [200, 200, 200, 201, 204, 404, 500, 503][i % 8],
            ..Default::default()
        })),
    };
    let small_calls = 1_000;
    let spread = |i: usize, n: usize| DAY0 + 1_800_000 + (i as i64 * (DAY_MS - 3_600_000)) / n as i64;
    // Both accounts' calls interleaved over the same day, as two tenants' traffic is.
    let mut events: Vec<DebugEvent> = (0..options.big_calls)
        .map(|i| minimal(BIG, i, spread(i, options.big_calls)))
        .chain((0..small_calls).map(|i| minimal(SMALL, i, spread(i, small_calls))))
        .collect();
    events.sort_by_key(|event| event.created_unix_ms);
    let root = tempfile::tempdir().unwrap();
    let (index, took) = build(root.path(), events.into_iter());
    let info = index.info().unwrap();
    println!(
        "\nlisting page ({PAGE} calls) and signatures page (*, 1 d) of an account with {} calls vs one with \
         {small_calls}, same slice \
         ({} documents, {} segments, built in {:.1} s); ms, median over {} run(s)",
        options.big_calls,
        info.records(),
        info.segments(),
        took.as_secs_f64(),
        options.runs
    );
    println!(
        "{:<34} {:>12} {:>12} {:>12} {:>12} {:>7}",
        "query", "big p50", "big p99", "small p50", "small p99", "ratio"
    );
    fn list(account: &str, ascending: bool) -> Query<'static> {
        let request = listing(account, ascending);
        Box::new(move |index, _| index.list_calls(&request).unwrap().calls.len() as u64)
    }
    type Ask = fn(&str) -> Query<'static>;
    let rows: [(&str, Ask); 3] = [
        ("listing, newest first", |account| list(account, false)),
        ("listing, oldest first", |account| list(account, true)),
        ("signature page of 25: *", |account| {
            signatures(account, "*", true)
        }),
    ];
    for (name, ask) in rows {
        let mut runs = Vec::new();
        for _ in 0..options.runs {
            runs.push((
                time(&index, &ask(BIG), options.seconds),
                time(&index, &ask(SMALL), options.seconds),
            ));
        }
        let col = |f: &dyn Fn(&(Timing, Timing)) -> f64| median(&mut runs.iter().map(f).collect::<Vec<_>>());
        println!(
            "{:<34} {:>12.3} {:>12.3} {:>12.3} {:>12.3} {:>6.2}×",
            name,
            col(&|r| r.0 .0),
            col(&|r| r.0 .1),
            col(&|r| r.1 .0),
            col(&|r| r.1 .1),
            col(&|r| r.0 .0 / r.1 .0),
        );
    }
}
