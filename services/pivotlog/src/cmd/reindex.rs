//! `pivotlog reindex`: rebuilds the index from the beginning of the topic next to the
//! live one, which keeps serving (and indexing, if its indexer runs) meanwhile; once
//! the rebuilt index has caught up, it replaces the live one.
//!
//! The swap is an atomic exchange of the two directories. If an indexer is writing the
//! live index, the rebuilt one is marked ready and that indexer swaps it in at its next
//! commit (it is the only writer, so no write can land in the wrong directory), then
//! continues from the rebuilt checkpoint; query processes notice at their next reload.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::Context;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use pivotlog_index::{rebuild_dir, PivotIndex, REBUILT_MARKER};
use pivotlog_indexer::IndexerStats;

use super::indexer::{IndexingArgs, RunningIndexer};
use crate::kafka::KafkaArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    kafka: KafkaArgs,
    /// The live index is `--data-dir`; the rebuild happens in `<data-dir>.rebuild`
    /// (an interrupted rebuild resumes there). Ownership flags must match the live
    /// indexer's.
    #[command(flatten)]
    indexing: IndexingArgs,
    /// Keep the replaced index in `<data-dir>.replaced-<unix time>` instead of deleting it.
    #[arg(long)]
    keep_old: bool,
    /// Longest wait for a running indexer to swap the rebuilt index in, seconds.
    #[arg(long, default_value_t = 120)]
    swap_timeout_s: u64,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let live = args.indexing.data_dir.clone();
    let rebuild = rebuild_dir(&live);
    let index = PivotIndex::open_or_create(&rebuild)
        .with_context(|| format!("cannot open the rebuild directory {}", rebuild.display()))?;
    let mut config = args.indexing.indexer_config(&args.kafka.topic)?;
    config.data_dir = Some(rebuild.clone());
    let mut kafka = args.kafka.client_config();
    kafka.set("group.id", format!("{}-reindex", args.indexing.group));
    tracing::info!(live = %live.display(), rebuild = %rebuild.display(), "rebuilding the index from the beginning of the topic");

    let started = Instant::now();
    let indexer = RunningIndexer::start(index.clone(), kafka, config);
    let outcome = follow_until_caught_up(&indexer.stats, || indexer.is_finished()).await;
    indexer.stop().await?;
    outcome?;
    let records = index.count_records()?;
    drop(index);

    swap_in(&live, &rebuild, Duration::from_secs(args.swap_timeout_s)).await?;
    let replaced = if args.keep_old {
        let kept = PathBuf::from(format!("{}.replaced-{}", live.display(), unix_s()));
        std::fs::rename(&rebuild, &kept)?;
        Some(kept)
    } else {
        std::fs::remove_dir_all(&rebuild)
            .with_context(|| format!("cannot delete the replaced index in {}", rebuild.display()))?;
        None
    };
    eprintln!(
        "reindex: {records} records rebuilt in {:.1} s and swapped into {}{}",
        started.elapsed().as_secs_f64(),
        live.display(),
        replaced.map_or_else(String::new, |kept| format!(
            "; the old index is in {}",
            kept.display()
        ))
    );
    Ok(ExitCode::SUCCESS)
}

/// Shows progress (a bar on a terminal, a line every few seconds otherwise) until every
/// owned partition is caught up; fails if the indexer stops first.
async fn follow_until_caught_up(stats: &IndexerStats, stopped: impl Fn() -> bool) -> anyhow::Result<()> {
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{spinner} rebuilding [{bar:30}] {pos}/{len} offsets  {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let plain = bar.is_hidden();
    let mut rate = Rate::default();
    // The first line comes at once, then one every two seconds.
    let mut last_line: Option<Instant> = None;
    loop {
        if stopped() {
            bar.abandon();
            anyhow::bail!("the rebuilding indexer stopped before catching up (see the log)");
        }
        let progress = stats.progress();
        let indexed = stats.indexed.load(Ordering::Relaxed);
        let per_second = rate.update(indexed + stats.duplicates.load(Ordering::Relaxed));
        let lag: i64 = progress.values().filter_map(|p| p.lag()).sum();
        let (done, total) = progress.values().fold((0, 0), |(done, total), p| {
            let low = p.low_watermark.unwrap_or(0);
            let high = p.high_watermark.unwrap_or(low);
            let next = p.committed.unwrap_or(low).min(high);
            (
                done + (next - low).max(0) as u64,
                total + (high - low).max(0) as u64,
            )
        });
        let eta = if per_second > 0.0 {
            format!("{:.0} s", lag as f64 / per_second)
        } else {
            "-".into()
        };
        let message = format!("{per_second:.0} records/s, lag {lag}, ETA {eta}");
        bar.set_length(total);
        bar.set_position(done);
        bar.set_message(message.clone());
        bar.tick();
        if plain && last_line.is_none_or(|at| at.elapsed() >= Duration::from_secs(2)) {
            eprintln!("reindex: {indexed} records, {done}/{total} offsets, {message}");
            last_line = Some(Instant::now());
        }
        let consuming = stats.consuming.load(Ordering::Relaxed);
        if consuming && !progress.is_empty() && progress.values().all(|p| p.caught_up) {
            bar.finish_with_message(format!("caught up: {indexed} records"));
            eprintln!("reindex: caught up, {indexed} records");
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Records per second over the last few seconds.
#[derive(Default)]
struct Rate {
    samples: std::collections::VecDeque<(Instant, u64)>,
}

impl Rate {
    fn update(&mut self, count: u64) -> f64 {
        let now = Instant::now();
        self.samples.push_back((now, count));
        while self.samples.len() > 2 && now - self.samples[0].0 > Duration::from_secs(5) {
            self.samples.pop_front();
        }
        let (then, before) = self.samples[0];
        let seconds = (now - then).as_secs_f64();
        if seconds > 0.0 {
            count.saturating_sub(before) as f64 / seconds
        } else {
            0.0
        }
    }
}

/// Puts the rebuilt index in place of the live one: directly if no indexer writes the
/// live one, else by marking it ready for that indexer and waiting for it to swap.
async fn swap_in(live: &Path, rebuild: &Path, timeout: Duration) -> anyhow::Result<()> {
    if !live.exists() {
        std::fs::rename(rebuild, live)?;
        std::fs::create_dir_all(rebuild)?;
        return Ok(());
    }
    if let Some(_lock) = PivotIndex::try_lock(live) {
        pivotlog_index::swap_directories(live, rebuild)?;
        eprintln!("reindex: no indexer was writing {}; swapped", live.display());
        return Ok(());
    }
    let marker = rebuild.join(REBUILT_MARKER);
    std::fs::write(&marker, b"")?;
    eprintln!("reindex: waiting for the running indexer to swap the rebuilt index in");
    let since = Instant::now();
    while marker.exists() {
        if since.elapsed() > timeout {
            std::fs::remove_file(&marker)?;
            anyhow::bail!(
                "the running indexer did not swap the rebuilt index in within {timeout:?}; it stays in {}",
                rebuild.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

fn unix_s() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
