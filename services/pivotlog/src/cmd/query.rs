//! `pivotlog query`

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;

use pivotlog_index::PivotIndex;
use pivotlog_query::{AppState, Authenticator};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Directory of the index an indexer writes.
    #[arg(long, env = "PIVOTLOG_DATA_DIR", default_value = "pivotlog-data")]
    pub data_dir: PathBuf,
}

/// The HTTP listener and its authentication, shared with `standalone`.
#[derive(clap::Args, Debug, Clone)]
pub struct ApiArgs {
    /// Address to serve the API on.
    #[arg(long, env = "PIVOTLOG_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Token file: JSON object mapping each token to
    /// {"account_id": "...", "descendants": bool, "superduper_admin": bool}.
    #[arg(long, env = "PIVOTLOG_AUTH_TOKENS")]
    pub auth_tokens: Option<PathBuf>,
    /// Kazoo's public key (PEM) to accept Kazoo RS256 auth tokens.
    #[arg(long, env = "PIVOTLOG_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<PathBuf>,
}

impl ApiArgs {
    pub fn authenticator(&self) -> anyhow::Result<Authenticator> {
        let mut auth = Authenticator::default();
        if let Some(path) = &self.auth_tokens {
            auth = auth.with_token_file(path)?;
        }
        if let Some(path) = &self.jwt_public_key {
            auth = auth.with_jwt_public_key_file(path)?;
        }
        Ok(auth)
    }

    pub async fn bind(&self) -> anyhow::Result<TcpListener> {
        TcpListener::bind(self.listen)
            .await
            .with_context(|| format!("cannot listen on {}", self.listen))
    }
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let auth = args.api.authenticator()?;
    anyhow::ensure!(
        auth.is_configured(),
        "no way to authenticate requests: give --auth-tokens and/or --jwt-public-key"
    );
    let state = AppState::new(auth);
    tokio::spawn(open_when_created(state.clone(), args.data_dir.clone()));
    tokio::spawn(pivotlog_query::reload_periodically(
        state.clone(),
        Duration::from_millis(250),
    ));
    let listener = args.api.bind().await?;
    tracing::info!(address = %listener.local_addr()?, "serving the API");
    pivotlog_query::serve(listener, state, super::shutdown_signal()).await?;
    Ok(ExitCode::SUCCESS)
}

/// Opens the index once an indexer has created it; until then `/readyz` says why not.
async fn open_when_created(state: AppState, dir: PathBuf) {
    let mut logged = false;
    loop {
        if Path::new(&dir).join("meta.json").exists() {
            match PivotIndex::open_or_create(&dir) {
                Ok(index) => {
                    state.set_index(index);
                    tracing::info!(dir = %dir.display(), "index open");
                    return;
                }
                Err(err) => tracing::error!(error = %err, "cannot open the index"),
            }
        } else if !logged {
            tracing::info!(dir = %dir.display(), "waiting for the indexer to create the index");
            logged = true;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
