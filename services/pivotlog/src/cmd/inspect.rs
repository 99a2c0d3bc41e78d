//! `pivotlog inspect`: what an index holds, read from its directory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use pivotlog_index::{IndexInfo, PivotIndex, CHECKPOINT_FILE};
use pivotlog_proto::time::iso8601_utc;

#[derive(clap::Args)]
pub struct Args {
    /// Directory of the index.
    #[arg(long, env = "PIVOTLOG_DATA_DIR", default_value = "pivotlog-data")]
    data_dir: PathBuf,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.data_dir.join(CHECKPOINT_FILE).exists(),
        "{} holds no pivotlog index",
        args.data_dir.display()
    );
    let index = PivotIndex::open_or_create(&args.data_dir)
        .with_context(|| format!("cannot open the index in {}", args.data_dir.display()))?;
    let info = index.info()?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&info)?);
    } else {
        print!("{}", table(&args.data_dir.display().to_string(), &info));
    }
    Ok(ExitCode::SUCCESS)
}

fn table(dir: &str, info: &IndexInfo) -> String {
    let mut out = format!(
        "index {dir}\n  format {}, {} records, {} slices, {} segments, {} on disk\n",
        info.format,
        info.records(),
        info.slices.len(),
        info.segments(),
        human_bytes(info.bytes()),
    );
    let topic = info.checkpoint.topic.as_deref().unwrap_or("(none yet)");
    out += &format!("checkpoint: topic {topic}\n");
    for (partition, next) in &info.checkpoint.offsets {
        out += &format!("  partition {partition:>3}  next offset {next}\n");
    }
    out += &format!(
        "slices:\n  {:<10}  {:<20}  {:<20}  {:>10}  {:>8}  {:>8}  {:>10}\n",
        "name", "oldest record", "newest record", "records", "calls", "segments", "size"
    );
    for slice in &info.slices {
        let time = |ms: Option<i64>| ms.map_or_else(|| "-".to_owned(), iso8601_utc);
        out += &format!(
            "  {:<10}  {:<20}  {:<20}  {:>10}  {:>8}  {:>8}  {:>10}\n",
            slice.name,
            time(slice.min_created_ms),
            time(slice.max_created_ms),
            slice.records,
            slice.calls,
            slice.segments,
            human_bytes(slice.bytes),
        );
    }
    out
}

fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_sizes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 << 30), "5.0 GiB");
    }
}
