//! `pivotlog`: one binary for every role of the pipeline.
//!
//! ```text
//! publish / simulate ──▶ Kafka topic ──▶ indexer ──▶ tantivy index ──▶ query (HTTP API)
//! ```
//! `standalone` runs all of them in one process, on an embedded broker by default.

mod cmd;
mod heap;
mod kafka;
mod logging;

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
    /// Rebuild the index from the topic next to the live one, then swap it in.
    Reindex(cmd::reindex::Args),
    /// Print what an index holds: slices, time ranges, records, checkpoint, size.
    Inspect(cmd::inspect::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    logging::init_logging();
    let runtime = tokio::runtime::Runtime::new().expect("cannot start the tokio runtime");
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Publish(args) => cmd::publish::run(args).await,
            Command::Simulate(args) => cmd::simulate::run(args).await,
            Command::Indexer(args) => cmd::indexer::run(args).await,
            Command::Query(args) => cmd::query::run(args).await,
            Command::Standalone(args) => cmd::standalone::run(args).await,
            Command::Reindex(args) => cmd::reindex::run(args).await,
            Command::Inspect(args) => cmd::inspect::run(args).await,
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

#[cfg(test)]
mod tests {
    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
