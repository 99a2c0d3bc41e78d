//! `pivotlog standalone`: broker (embedded by default), indexer and API in one process.

use std::process::ExitCode;
use std::sync::Arc;

use rand::Rng;
use rdkafka::mocking::MockCluster;

use pivotlog_indexer::IndexerStats;
use pivotlog_publisher::EventProducer;
use pivotlog_query::{AppState, Principal};

use super::indexer::{IndexingArgs, RunningIndexer};
use super::query::ApiArgs;
use super::simulate::TrafficArgs;
use crate::kafka::KafkaArgs;

#[derive(clap::Args)]
pub struct Args {
    /// Use these brokers instead of the embedded one.
    #[arg(long, env = "PIVOTLOG_BROKERS")]
    brokers: Option<String>,
    /// The debug-event topic.
    #[arg(long, env = "PIVOTLOG_TOPIC", default_value = "pivot-debug")]
    topic: String,
    /// Partitions of the embedded broker's topic.
    #[arg(long, default_value_t = 3)]
    topic_partitions: i32,
    /// Also produce simulated traffic (see `simulate`), 50 records/s unless --rate says otherwise.
    #[arg(long)]
    demo: bool,
    #[command(flatten)]
    traffic: TrafficArgs,
    #[command(flatten)]
    api: ApiArgs,
    #[command(flatten)]
    indexing: IndexingArgs,
}

pub async fn run(mut args: Args) -> anyhow::Result<ExitCode> {
    // The embedded broker lives as long as this function.
    let embedded = match &args.brokers {
        Some(_) => None,
        None => {
            let cluster = MockCluster::new(1)?;
            cluster.create_topic(&args.topic, args.topic_partitions, 1)?;
            Some(cluster)
        }
    };
    let brokers = match (&args.brokers, &embedded) {
        (Some(brokers), _) => brokers.clone(),
        (None, Some(cluster)) => cluster.bootstrap_servers(),
        (None, None) => unreachable!("either brokers or the embedded cluster"),
    };
    let kafka = KafkaArgs {
        brokers,
        topic: args.topic.clone(),
        properties: Vec::new(),
    };
    // An embedded broker forgets its topic on exit, so its index starts fresh too.
    let _scratch = match (&embedded, std::env::var_os("PIVOTLOG_DATA_DIR")) {
        (Some(_), None) if args.indexing.data_dir.as_os_str() == "pivotlog-data" => {
            let dir = tempfile::tempdir()?;
            args.indexing.data_dir = dir.path().to_path_buf();
            Some(dir)
        }
        _ => None,
    };

    let index = args.indexing.open_index()?;
    let mut consumer_config = kafka.client_config();
    consumer_config.set("group.id", &args.indexing.group);
    let indexer = RunningIndexer::start(
        index.clone(),
        consumer_config,
        args.indexing.indexer_config(&args.topic)?,
    );

    let traffic = args.traffic.traffic();
    let demo_account = traffic
        .simulator()
        .account_ids()
        .first()
        .cloned()
        .unwrap_or_default();
    let mut auth = args.api.authenticator()?;
    let demo_token = if auth.is_configured() {
        None
    } else {
        let token = random_token();
        auth = auth.with_static_token(
            &token,
            Principal {
                account_id: demo_account.clone(),
                descendants: true,
                superduper_admin: false,
            },
        );
        Some(token)
    };
    let state = args
        .api
        .configure(AppState::new(auth))
        .with_index(index)
        .with_readiness(readiness(indexer.stats.clone()));
    // One process, one /metrics: the indexer's counters next to the API's.
    state
        .metrics()
        .register(Box::new(pivotlog_indexer::IndexerCollector::new(
            indexer.stats.clone(),
        )));
    let listener = args.api.bind().await?;
    let address = listener.local_addr()?;

    let demo = if args.demo {
        if args.traffic.rate.is_none() {
            args.traffic.rate = Some(50.0);
        }
        let mut traffic = args.traffic.traffic();
        let mut producer = EventProducer::new(&kafka.client_config(), &args.topic)?;
        Some(tokio::spawn(async move {
            super::simulate::produce(&mut traffic, &mut producer).await
        }))
    } else {
        None
    };

    println!(
        "pivotlog standalone: API on http://{address} (index in {})",
        args.indexing.data_dir.display()
    );
    match &demo_token {
        Some(token) => println!(
            "console: http://{address}/ui/ (token {token}, account {demo_account})\n\
             try:\n  curl -s -H 'X-Auth-Token: {token}' http://{address}/v2/accounts/{demo_account}/pivot/debug"
        ),
        None => println!(
            "console: http://{address}/ui/\nauthenticate with a token from --auth-tokens or a Kazoo JWT"
        ),
    }
    if !args.demo {
        println!(
            "no traffic yet: add --demo, or publish to topic {} on {}",
            args.topic, kafka.brokers
        );
    }

    super::query::serve_until_shutdown(listener, state).await?;
    if let Some(demo) = demo {
        demo.abort();
    }
    indexer.stop().await?;
    drop(embedded);
    Ok(ExitCode::SUCCESS)
}

fn readiness(stats: Arc<IndexerStats>) -> pivotlog_query::ReadinessCheck {
    Arc::new(move || stats.readiness())
}

fn random_token() -> String {
    let bytes: [u8; 24] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
