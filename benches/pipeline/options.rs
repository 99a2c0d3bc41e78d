//! The pipeline bench's command line (the options are listed in `main.rs`).

pub struct Options {
    pub records: u64,
    pub runs: usize,
    pub query_seconds: f64,
    pub freshness_seconds: f64,
    pub freshness_rate: f64,
    pub clients: [usize; 2],
    /// Only the ceiling and end-to-end ingest (for profiling the indexer).
    pub ingest_only: bool,
    /// Only sections 3 and 8 (freshness and the live tail).
    pub tail_only: bool,
    /// Only sections 1, 2 and 7 (overload against the one-day index), for tuning
    /// admission.
    pub overload_only: bool,
    /// Extra arguments of section 7's limited query process (`--limits "--heavy-slots 4"`):
    /// other limits than the defaults, against the same unlimited baseline.
    pub limits: Vec<String>,
    /// Days the steady-state section spreads the records over (0: no such section).
    pub steady_days: u32,
    /// How long the indexers wait on an idle cold slice before settling it (`None`: the
    /// indexer's default); `--quick` shortens it, to spend a smoke run's time on work.
    pub settle_after_idle_s: Option<u64>,
    /// Bursts of records the tail section sends at its idle tails while they are open:
    /// the plateau shows from the fourth or fifth of seven; `--quick`'s three only check
    /// that the section runs.
    pub tail_bursts: u64,
}

impl Options {
    pub fn parse() -> Options {
        let args = pivotlog_testkit::args::Args::from_env();
        let value = |name: &str| args.number(name);
        let quick = args.flag("--quick");
        Options {
            records: value("--records").unwrap_or(if quick { 20_000.0 } else { 1_000_000.0 }) as u64,
            runs: value("--runs").unwrap_or(if quick { 1.0 } else { 3.0 }) as usize,
            query_seconds: value("--query-seconds").unwrap_or(if quick { 1.0 } else { 8.0 }),
            freshness_seconds: value("--freshness-seconds").unwrap_or(if quick { 3.0 } else { 30.0 }),
            freshness_rate: 2000.0,
            clients: [1, 32],
            ingest_only: args.flag("--ingest-only"),
            tail_only: args.flag("--tail-only"),
            overload_only: args.flag("--overload-only"),
            limits: args
                .text("--limits")
                .map(|limits| limits.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            steady_days: value("--steady-days").unwrap_or(31.0) as u32,
            settle_after_idle_s: value("--settle-after-idle-s")
                .or(quick.then_some(5.0))
                .map(|s| s as u64),
            tail_bursts: value("--tail-bursts").unwrap_or(if quick { 3.0 } else { 7.0 }) as u64,
        }
    }
}
