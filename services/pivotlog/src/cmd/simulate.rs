//! `pivotlog simulate`

use std::io::Write;
use std::process::ExitCode;

use pivotlog_proto::kazoo::event_from_doc;
use pivotlog_publisher::simulate::{SimulateConfig, Simulator};
use pivotlog_publisher::traffic::{Traffic, TrafficPlan};
use pivotlog_publisher::EventProducer;

use crate::kafka::KafkaArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    kafka: KafkaArgs,
    #[command(flatten)]
    traffic: TrafficArgs,
    /// Write the Kazoo documents to stdout as NDJSON instead of producing them
    /// (pipe into `pivotlog publish` to exercise the import path).
    #[arg(long)]
    stdout: bool,
}

/// The knobs of simulated traffic, shared with `standalone --demo`.
#[derive(clap::Args, Debug, Clone)]
pub struct TrafficArgs {
    /// Number of records to produce; unlimited if absent.
    #[arg(long)]
    pub count: Option<u64>,
    /// Records per second; as fast as possible if absent.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Seed of the generator: the same seed gives the same calls.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Number of accounts.
    #[arg(long, default_value_t = 20)]
    pub accounts: usize,
    /// Median response body size, bytes.
    #[arg(long, default_value_t = 2048)]
    pub median_body_bytes: usize,
    /// Stamp records from this Unix time (ms) instead of the wall clock, for
    /// byte-identical runs.
    #[arg(long)]
    pub start_unix_ms: Option<i64>,
}

impl TrafficArgs {
    pub fn traffic(&self) -> Traffic {
        let simulator = Simulator::new(SimulateConfig {
            seed: self.seed,
            accounts: self.accounts,
            median_body_bytes: self.median_body_bytes,
        });
        let plan = TrafficPlan {
            records: self.count,
            rate: self.rate,
            start_unix_ms: self.start_unix_ms,
        };
        Traffic::new(simulator, plan)
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut traffic = args.traffic.traffic();
    if args.stdout {
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        while let Some(call) = traffic.next_call().await {
            for doc in call {
                serde_json::to_writer(&mut out, &doc)?;
                out.write_all(b"\n")?;
            }
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut producer = EventProducer::new(&args.kafka.client_config(), &args.kafka.topic)?;
    let (delivered, failed) = produce(&mut traffic, &mut producer).await?;
    eprintln!("simulated {delivered} records delivered, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Produces the traffic until its count is reached; returns (delivered, failed).
pub async fn produce(traffic: &mut Traffic, producer: &mut EventProducer<()>) -> anyhow::Result<(u64, u64)> {
    let (mut delivered, mut failed) = (0, 0);
    let mut tally = |outcomes: Vec<((), Result<_, _>)>| {
        for (_, outcome) in outcomes {
            match outcome {
                Ok(_) => delivered += 1,
                Err(err) => {
                    failed += 1;
                    tracing::warn!(error = %err, "simulated record not delivered");
                }
            }
        }
    };
    while let Some(call) = traffic.next_call().await {
        for doc in call {
            // The simulator writes what Kazoo writes; a failure here is a simulator bug.
            let event =
                event_from_doc(&doc).map_err(|err| anyhow::anyhow!("simulated document rejected: {err}"))?;
            tally(producer.send(&event, ()).await);
        }
    }
    tally(producer.flush().await);
    Ok((delivered, failed))
}
