//! `pivotlog`: one binary for every role of the pipeline.
//!
//! ```text
//! publish / simulate ──▶ Kafka topic ──▶ indexer ──▶ tantivy index ──▶ query (HTTP API)
//! ```
//! `standalone` runs all of them in one process, on an embedded broker by default.

mod cmd;
mod kafka;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "pivotlog",
    version,
    about = "Kazoo Pivot debug logs: Kafka in, tantivy index, Crossbar-compatible API out"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Publish Kazoo pivot_debug documents (NDJSON, e.g. a CouchDB export) to the topic.
    Publish(cmd::publish::Args),
    /// Produce realistic synthetic Pivot traffic, reproducible from a seed.
    Simulate(cmd::simulate::Args),
    /// Consume the topic into the on-disk index, exactly once.
    Indexer(cmd::indexer::Args),
    /// Serve the authenticated, Crossbar-compatible debug API from the index.
    Query(cmd::query::Args),
    /// Broker (embedded by default), indexer and API in one process: the quick start.
    Standalone(cmd::standalone::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = tokio::runtime::Runtime::new().expect("cannot start the tokio runtime");
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Publish(args) => cmd::publish::run(args).await,
            Command::Simulate(args) => cmd::simulate::run(args).await,
            Command::Indexer(args) => cmd::indexer::run(args).await,
            Command::Query(args) => cmd::query::run(args).await,
            Command::Standalone(args) => cmd::standalone::run(args).await,
        }
    });
    match outcome {
        Ok(code) => code,
        Err(err) => {
            tracing::error!("{err:#}");
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `RUST_LOG` (or `PIVOTLOG_LOG`) filters, `PIVOTLOG_LOG_FORMAT=json`
/// switches to one JSON object per line for log pipelines.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("PIVOTLOG_LOG")
        .ok()
        .map(EnvFilter::new)
        .unwrap_or_else(|| {
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,librdkafka=warn"))
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("PIVOTLOG_LOG_FORMAT").as_deref() == Ok("json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
