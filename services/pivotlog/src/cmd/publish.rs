//! `pivotlog publish [FILE]`

use std::io::BufReader;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use pivotlog_publisher::import::publish_ndjson;
use pivotlog_publisher::{EventProducer, RecordLimits, DEFAULT_MAX_RECORD_BYTES};

use crate::kafka::KafkaArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    kafka: KafkaArgs,
    /// Most bytes a record may take on the broker, compressed (keep it under the topic's
    /// `max.message.bytes`, 1,048,588 by default). A record over it has its body cut to
    /// fit, at a UTF-8 boundary, and is marked so in the API with the body's original size.
    #[arg(long, env = "PIVOTLOG_PUBLISH_MAX_RECORD_BYTES", default_value_t = DEFAULT_MAX_RECORD_BYTES as u64, value_parser = clap::value_parser!(u64).range(1024..))]
    max_record_bytes: u64,
    /// NDJSON file of Kazoo pivot_debug documents; `-` or nothing reads stdin.
    file: Option<PathBuf>,
}

/// Exit status 0 only if every line was converted and delivered.
pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let limits = RecordLimits {
        max_record_bytes: args.max_record_bytes as usize,
        ..RecordLimits::default()
    };
    let mut producer = EventProducer::with_limits(&args.kafka.client_config(), &args.kafka.topic, limits)?;
    let report = match args.file.as_deref().filter(|path| path.as_os_str() != "-") {
        Some(path) => {
            let file =
                std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
            publish_ndjson(BufReader::new(file), &mut producer, print_problem).await
        }
        None => publish_ndjson(std::io::stdin().lock(), &mut producer, print_problem).await,
    };
    eprintln!(
        "published {} of {} documents ({} malformed, {} not delivered); {} with a body cut to fit the topic",
        report.delivered,
        report.lines,
        report.malformed.len(),
        report.undelivered.len(),
        report.truncated
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

#[cfg(test)]
mod tests {
    /// A record the publisher sends whole must not be one the indexer dead-letters as
    /// oversized at its default `--max-record-bytes`.
    #[test]
    fn whole_records_pass_the_indexer_s_default_limit() {
        const {
            assert!(
                pivotlog_publisher::MAX_UNCOMPRESSED_RECORD_BYTES
                    <= pivotlog_indexer::DEFAULT_MAX_RECORD_BYTES
            );
            assert!(
                pivotlog_publisher::DEFAULT_MAX_RECORD_BYTES < pivotlog_indexer::DEFAULT_MAX_RECORD_BYTES
            );
        }
    }
}
