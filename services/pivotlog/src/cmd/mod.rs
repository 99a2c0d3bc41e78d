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
