//! One module per subcommand: its flags, and how it wires the library crates together.

pub mod indexer;
pub mod inspect;
pub mod publish;
pub mod query;
pub mod reindex;
pub mod simulate;
pub mod standalone;

/// The secret between indexers and query processes on the shard API.
#[derive(clap::Args, Debug, Clone)]
pub struct ShardTokenArgs {
    /// Bearer token of the internal shard API (indexers require it, query processes
    /// send it). Keep it in a Secret.
    #[arg(long, env = "PIVOTLOG_SHARD_TOKEN", hide_env_values = true)]
    pub shard_token: Option<String>,
}

impl ShardTokenArgs {
    pub fn required(&self, flag: &str) -> anyhow::Result<&str> {
        // Trimmed: a token file written by `openssl rand` ends with a newline.
        match self.shard_token.as_deref().map(str::trim) {
            Some(token) if !token.is_empty() => Ok(token),
            _ => anyhow::bail!(
                "{flag} needs --shard-token (or PIVOTLOG_SHARD_TOKEN): the shard API is never open"
            ),
        }
    }
}

/// Bounds on concurrent index reads (see `pivotlog_serve::admission`), shared by the
/// query API and an indexer's shard API. Unset: sized to the cores.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LimitArgs {
    /// Heavy reads (searches, stats, unpaginated listings) running at once [default:
    /// one per core, plus one].
    #[arg(long, env = "PIVOTLOG_HEAVY_SLOTS")]
    pub heavy_slots: Option<usize>,
    /// Heavy reads one account may run at once [default: all heavy slots but one, so
    /// another account's read finds one free].
    #[arg(long, env = "PIVOTLOG_ACCOUNT_HEAVY_SLOTS")]
    pub account_heavy_slots: Option<usize>,
    /// Heavy reads one account may have waiting; more get 429 [default: four per heavy slot].
    #[arg(long, env = "PIVOTLOG_ACCOUNT_QUEUE")]
    pub account_queue: Option<usize>,
    /// Longest wait for a heavy slot, ms; a read still waiting then gets 429.
    #[arg(long, env = "PIVOTLOG_QUEUE_TIMEOUT_MS", default_value_t = 2000)]
    pub queue_timeout_ms: u64,
    /// Cheap reads (a page, a call) running at once; more get 429 at once [default: 64
    /// per core].
    #[arg(long, env = "PIVOTLOG_CHEAP_SLOTS")]
    pub cheap_slots: Option<usize>,
    /// Niceness of the threads heavy reads run on, 0 (the process's own priority) to
    /// 19: above 0, the kernel runs cheap reads and HTTP work before them.
    #[arg(long, env = "PIVOTLOG_HEAVY_NICENESS", default_value_t = pivotlog_serve::admission::DEFAULT_HEAVY_NICENESS,
          value_parser = clap::value_parser!(i32).range(0..=19))]
    pub heavy_niceness: i32,
}

impl LimitArgs {
    pub fn limits(&self) -> pivotlog_serve::admission::Limits {
        let defaults = match self.heavy_slots {
            Some(slots) => pivotlog_serve::admission::Limits::with_heavy_slots(slots),
            None => pivotlog_serve::admission::Limits::default(),
        };
        pivotlog_serve::admission::Limits {
            heavy_slots: defaults.heavy_slots,
            account_heavy_slots: self.account_heavy_slots.unwrap_or(defaults.account_heavy_slots),
            account_queue: self.account_queue.unwrap_or(defaults.account_queue),
            queue_timeout: std::time::Duration::from_millis(self.queue_timeout_ms),
            cheap_slots: self
                .cheap_slots
                .unwrap_or(pivotlog_serve::admission::Limits::default().cheap_slots),
            heavy_niceness: self.heavy_niceness,
        }
    }
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("cannot install the SIGTERM handler");
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}
