//! `pivotlog publish [FILE]`

use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use pivotlog_publisher::import::publish_ndjson;
use pivotlog_publisher::EventProducer;

use crate::kafka::KafkaArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    kafka: KafkaArgs,
    /// NDJSON file of Kazoo pivot_debug documents; `-` or nothing reads stdin.
    file: Option<PathBuf>,
}

/// Exit status 0 only if every line was converted and delivered.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut producer = EventProducer::new(&args.kafka.client_config(), &args.kafka.topic)?;
    let report = match args.file.as_deref().filter(|path| path.as_os_str() != "-") {
        Some(path) => {
            let file =
                std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            publish_ndjson(BufReader::new(file), &mut producer, print_problem).await
        }
        None => publish_ndjson(std::io::stdin().lock(), &mut producer, print_problem).await,
    };
    eprintln!(
        "published {} of {} documents ({} malformed, {} not delivered)",
        report.delivered,
        report.lines,
        report.malformed.len(),
        report.undelivered.len()
    );
    Ok(if report.is_complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_problem(line: u64, reason: &str) {
    eprintln!("line {line}: {reason}");
}
