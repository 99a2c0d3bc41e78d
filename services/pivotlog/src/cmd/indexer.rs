//! `pivotlog indexer`

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};

use pivotlog_index::{PivotIndex, WriterConfig};
use pivotlog_indexer::{IndexerCollector, IndexerConfig, IndexerStats, Ownership};

use crate::kafka::KafkaArgs;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    kafka: KafkaArgs,
    #[command(flatten)]
    pub indexing: IndexingArgs,
    /// Serve `/healthz` and `/readyz` (503 with the reason while the broker is
    /// unreachable or commits fail; both carry the counters) and `/metrics`
    /// (Prometheus text) on this address.
    #[arg(long, env = "PIVOTLOG_HEALTH_LISTEN")]
    health_listen: Option<SocketAddr>,
    /// Serve this indexer's slice of the index to query processes (the internal shard
    /// API, `/internal/v1/*`, HTTP/1.1 and h2c) on this address.
    #[arg(long, env = "PIVOTLOG_SHARD_LISTEN")]
    shard_listen: Option<SocketAddr>,
    #[command(flatten)]
    shard_token: super::ShardTokenArgs,
    /// Bounds on the shard API's concurrent reads.
    #[command(flatten)]
    limits: super::LimitArgs,
}

/// Index location and indexing knobs, shared with `standalone`.
#[derive(clap::Args, Debug, Clone)]
pub struct IndexingArgs {
    /// Directory of the index (created if missing).
    #[arg(long, env = "PIVOTLOG_DATA_DIR", default_value = "pivotlog-data")]
    pub data_dir: PathBuf,
    /// Longest delay between a record's arrival and its commit, in milliseconds.
    #[arg(long, env = "PIVOTLOG_COMMIT_INTERVAL_MS", default_value_t = 500)]
    pub commit_interval_ms: u64,
    /// Spacing of commits while replaying a backlog, in milliseconds (fewer merges).
    #[arg(long, env = "PIVOTLOG_BACKLOG_COMMIT_INTERVAL_MS", default_value_t = 5000)]
    pub backlog_commit_interval_ms: u64,
    /// Partitions this indexer owns, comma-separated (default: all, or its share with
    /// `--replicas`).
    #[arg(
        long,
        env = "PIVOTLOG_PARTITIONS",
        value_delimiter = ',',
        conflicts_with = "replicas"
    )]
    pub partitions: Option<Vec<i32>>,
    /// Number of indexer replicas sharing the topic: replica `i` owns every partition
    /// `p` with `p % replicas == i`.
    #[arg(long, env = "PIVOTLOG_REPLICAS", value_parser = clap::value_parser!(u32).range(1..))]
    pub replicas: Option<u32>,
    /// This replica's `i` (default: the number ending the host name, as in a
    /// StatefulSet's `pivotlog-indexer-2`).
    #[arg(long, env = "PIVOTLOG_ORDINAL", requires = "replicas")]
    pub ordinal: Option<u32>,
    /// Topic that receives undecodable and oversized records, with their origin in headers.
    #[arg(long, env = "PIVOTLOG_DEAD_LETTER_TOPIC")]
    pub dead_letter_topic: Option<String>,
    /// Largest record value indexed, bytes; larger ones are skipped as `oversized`.
    #[arg(long, env = "PIVOTLOG_MAX_RECORD_BYTES", default_value_t = pivotlog_indexer::DEFAULT_MAX_RECORD_BYTES)]
    pub max_record_bytes: usize,
    /// Consumer group whose offsets mirror the checkpoint (for lag tools only).
    #[arg(long, env = "PIVOTLOG_GROUP", default_value = "pivotlog-indexer")]
    pub group: String,
    /// Indexing threads (default: the number of cores, at most 8).
    #[arg(long, env = "PIVOTLOG_WRITER_THREADS")]
    pub writer_threads: Option<usize>,
    /// Indexing memory budget, MiB, shared by the threads.
    #[arg(long, env = "PIVOTLOG_WRITER_MEMORY_MB", default_value_t = 256)]
    pub writer_memory_mb: usize,
    /// Days of records kept: the index is sliced by UTC day and a slice whose newest
    /// record is older is deleted whole; older records are not indexed. 0 keeps all.
    #[arg(long, env = "PIVOTLOG_RETENTION_DAYS", default_value_t = 31)]
    pub retention_days: u32,
    /// Seconds a cold day slice's writer must go without a record before the slice is
    /// merged into one segment (settled).
    #[arg(long, env = "PIVOTLOG_SETTLE_AFTER_IDLE_S", default_value_t = WriterConfig::default().settle_after_idle.as_secs())]
    pub settle_after_idle_s: u64,
}

impl IndexingArgs {
    /// The partitions this indexer owns, from `--partitions` or `--replicas`.
    pub fn ownership(&self) -> anyhow::Result<Ownership> {
        match (&self.partitions, self.replicas) {
            (Some(listed), _) => Ok(Ownership::Listed(listed.clone())),
            (None, None) => Ok(Ownership::All),
            (None, Some(replicas)) => {
                let ordinal = match self.ordinal {
                    Some(ordinal) => ordinal,
                    None => {
                        let host = hostname();
                        Ownership::ordinal_of_hostname(&host).with_context(|| {
                            format!("--replicas needs --ordinal: the host name {host:?} does not end in -<ordinal>")
                        })?
                    }
                };
                anyhow::ensure!(
                    ordinal < replicas,
                    "ordinal {ordinal} is not below --replicas {replicas}: scale the StatefulSet and PIVOTLOG_REPLICAS together"
                );
                Ok(Ownership::Replica { ordinal, replicas })
            }
        }
    }

    pub fn indexer_config(&self, topic: &str) -> anyhow::Result<IndexerConfig> {
        let mut writer = WriterConfig {
            memory_budget_bytes: self.writer_memory_mb << 20,
            retention: (self.retention_days > 0)
                .then(|| Duration::from_secs(u64::from(self.retention_days) * 86_400)),
            settle_after_idle: Duration::from_secs(self.settle_after_idle_s),
            ..Default::default()
        };
        if let Some(threads) = self.writer_threads {
            writer.num_threads = threads;
        }
        Ok(IndexerConfig {
            topic: topic.to_owned(),
            ownership: self.ownership()?,
            commit_interval: Duration::from_millis(self.commit_interval_ms.max(1)),
            backlog_commit_interval: Duration::from_millis(self.backlog_commit_interval_ms),
            dead_letter_topic: self.dead_letter_topic.clone(),
            max_record_bytes: self.max_record_bytes,
            data_dir: Some(self.data_dir.clone()),
            writer,
        })
    }

    pub fn open_index(&self) -> anyhow::Result<PivotIndex> {
        PivotIndex::open_or_create(&self.data_dir)
            .with_context(|| format!("cannot open the index in {}", self.data_dir.display()))
    }
}

/// A running indexer thread and the handles to stop and observe it.
pub struct RunningIndexer {
    pub stats: Arc<IndexerStats>,
    shutdown: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Result<(), pivotlog_indexer::IndexerError>>,
}

impl RunningIndexer {
    pub fn start(index: PivotIndex, kafka: rdkafka::ClientConfig, config: IndexerConfig) -> RunningIndexer {
        let stats = Arc::new(IndexerStats::default());
        let shutdown = Arc::new(AtomicBool::new(false));
        let thread = {
            let (stats, shutdown) = (stats.clone(), shutdown.clone());
            std::thread::Builder::new()
                .name("indexer".into())
                .spawn(move || pivotlog_indexer::run(&index, &kafka, &config, &stats, &shutdown))
                .expect("cannot spawn the indexer thread")
        };
        RunningIndexer {
            stats,
            shutdown,
            thread,
        }
    }

    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Asks for the final commit and waits for it.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.shutdown.store(true, Ordering::Relaxed);
        let thread = self.thread;
        tokio::task::spawn_blocking(move || thread.join())
            .await?
            .map_err(|_| anyhow::anyhow!("the indexer thread panicked"))??;
        Ok(())
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let index = args.indexing.open_index()?;
    let mut kafka = args.kafka.client_config();
    kafka.set("group.id", &args.indexing.group);
    let config = args.indexing.indexer_config(&args.kafka.topic)?;
    let health = match args.health_listen {
        Some(address) => Some(bind(address).await?),
        None => None,
    };
    let shard = match args.shard_listen {
        Some(address) => {
            let token = args.shard_token.required("--shard-listen")?.to_owned();
            Some((bind(address).await?, token))
        }
        None => None,
    };
    let topic = config.topic.clone();
    let indexer = RunningIndexer::start(index.clone(), kafka, config);
    let admission = pivotlog_serve::admission::Admission::new(args.limits.limits(), "pivotlog_shard");
    let health = health.map(|listener| {
        tracing::info!(address = ?listener.local_addr().ok(), "serving /healthz, /readyz and /metrics");
        let registry = metrics_registry(&indexer.stats, &index, &admission);
        tokio::spawn(serve_health(listener, indexer.stats.clone(), registry))
    });
    let shard = shard.map(|(listener, token)| {
        tracing::info!(address = ?listener.local_addr().ok(), "serving the shard API");
        let status = shard_status(topic, indexer.stats.clone());
        let router = pivotlog_shard::router(index, status, &token, admission);
        tokio::spawn(async move {
            if let Err(err) = pivotlog_serve::serve(listener, router, std::future::pending()).await {
                tracing::error!(error = %err, "the shard API stopped");
            }
        })
    });
    let signal = super::shutdown_signal();
    tokio::pin!(signal);
    // Return when a signal arrives, or when the indexer stops by itself (an error).
    loop {
        tokio::select! {
            _ = &mut signal => break,
            _ = tokio::time::sleep(Duration::from_millis(200)) => {
                if indexer.is_finished() {
                    break;
                }
            }
        }
    }
    let stopped = indexer.stop().await;
    for server in health.into_iter().chain(shard) {
        server.abort();
    }
    stopped?;
    Ok(ExitCode::SUCCESS)
}

async fn bind(address: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address}"))
}

/// What the shard API says this indexer holds: its owned partitions and their progress.
fn shard_status(topic: String, stats: Arc<IndexerStats>) -> pivotlog_shard::StatusSource {
    use pivotlog_shard::{PartitionState, ShardStatus};
    Arc::new(move || ShardStatus {
        topic: topic.clone(),
        topic_partitions: stats.topic_partitions.load(Ordering::Relaxed),
        partitions: stats
            .progress()
            .into_iter()
            .map(|(partition, progress)| {
                let state = PartitionState {
                    caught_up: progress.caught_up,
                    committed: progress.committed,
                };
                (partition, state)
            })
            .collect(),
    })
}

/// The indexer's metrics: its counters, its index's figures, its shard API's admission,
/// its heap and the process's.
fn metrics_registry(
    stats: &Arc<IndexerStats>,
    index: &PivotIndex,
    admission: &pivotlog_serve::admission::Admission,
) -> prometheus::Registry {
    use pivotlog_serve::metrics::IndexCollector;
    let registry = prometheus::Registry::new();
    let index = index.clone();
    let mut collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
        Box::new(IndexerCollector::new(stats.clone())),
        Box::new(IndexCollector::new(Arc::new(move || Some(index.clone())))),
        Box::new(crate::heap::HeapCollector::new()),
        #[cfg(target_os = "linux")]
        Box::new(prometheus::process_collector::ProcessCollector::for_self()),
    ];
    collectors.extend(admission.collectors());
    for collector in collectors {
        if let Err(err) = registry.register(collector) {
            tracing::warn!(error = %err, "metric not registered");
        }
    }
    registry
}

/// `/healthz`: the process answers. `/readyz`: 200 while consuming and committing, 503
/// with the reason otherwise (broker unreachable, commits failing). Both carry the
/// indexer's counters. `/metrics`: Prometheus text.
async fn serve_health(
    listener: tokio::net::TcpListener,
    stats: Arc<IndexerStats>,
    registry: prometheus::Registry,
) {
    let ready = stats.clone();
    let router = Router::new()
        .route(
            "/healthz",
            get(move || {
                let stats = stats.clone();
                async move { Json(serde_json::json!({"status": "ok", "stats": stats.snapshot()})) }
            }),
        )
        .route(
            "/readyz",
            get(move || {
                let stats = ready.clone();
                async move { readyz(&stats) }
            }),
        )
        .route(
            "/metrics",
            get(move || pivotlog_serve::metrics::respond(registry.clone())),
        );
    // The same bounds on request heads as the API: probes and scrapers are clients too.
    if let Err(err) = pivotlog_serve::serve(listener, router, std::future::pending()).await {
        tracing::error!(error = %err, "the health endpoint stopped");
    }
}

fn readyz(stats: &IndexerStats) -> axum::response::Response {
    match stats.readiness() {
        Ok(()) => Json(serde_json::json!({"status": "ready", "stats": stats.snapshot()})).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({"status": "not ready", "reason": reason, "stats": stats.snapshot()})),
        )
            .into_response(),
    }
}

/// The host name (`HOSTNAME`, else the kernel's), for the StatefulSet ordinal.
fn hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|name| !name.is_empty())
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|name| name.trim().to_owned())
        .unwrap_or_default()
}
