//! `pivotlog query`

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tokio::net::TcpListener;

use crate::heap::HeapCollector;
use pivotlog_index::PivotIndex;
use pivotlog_query::auth::ExpiryPolicy;
use pivotlog_query::{
    AppState, Authenticator, BrowserConfig, Discovery, Origins, ShardConfig, ShardSet, TailConfig,
};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Directory of the index an indexer writes (one node; ignored with shards).
    #[arg(long, env = "PIVOTLOG_DATA_DIR", default_value = "pivotlog-data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub shards: ShardArgs,
}

/// Where the indexers' shard APIs are, when the index is spread over several indexers.
#[derive(clap::Args, Debug, Clone)]
pub struct ShardArgs {
    /// Shard addresses (`host:port`, comma-separated): read these indexers instead of
    /// a local index.
    #[arg(
        long,
        env = "PIVOTLOG_SHARDS",
        value_delimiter = ',',
        conflicts_with = "shard_dns"
    )]
    pub shards: Option<Vec<String>>,
    /// A `name:port` whose DNS records list every indexer (a headless Service),
    /// resolved again on every refresh.
    #[arg(long, env = "PIVOTLOG_SHARD_DNS")]
    pub shard_dns: Option<String>,
    /// Longest wait for one shard's answer, ms; a late shard's partitions are reported
    /// missing and the rest is answered.
    #[arg(long, env = "PIVOTLOG_SHARD_TIMEOUT_MS", default_value_t = 2000)]
    pub shard_timeout_ms: u64,
    /// How often shards are re-discovered and their partitions re-read, ms.
    #[arg(long, env = "PIVOTLOG_SHARD_REFRESH_MS", default_value_t = 1000)]
    pub shard_refresh_ms: u64,
    #[command(flatten)]
    pub token: super::ShardTokenArgs,
}

impl ShardArgs {
    /// The shard set to read, if shards are configured.
    pub fn shard_set(&self) -> anyhow::Result<Option<Arc<ShardSet>>> {
        let discovery = match (&self.shards, &self.shard_dns) {
            (Some(addresses), _) => Discovery::Static(addresses.clone()),
            (None, Some(name)) => Discovery::Dns(name.clone()),
            (None, None) => return Ok(None),
        };
        let config = ShardConfig {
            discovery,
            token: self.token.required("--shards/--shard-dns")?.to_owned(),
            timeout: Duration::from_millis(self.shard_timeout_ms.max(1)),
            refresh: Duration::from_millis(self.shard_refresh_ms.max(10)),
        };
        Ok(Some(
            ShardSet::new(config).context("cannot build the shard client")?,
        ))
    }
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
    /// Kazoo's public key (PEM) to accept Kazoo's auth tokens (RS256, RS384, RS512 JWTs).
    #[arg(long, env = "PIVOTLOG_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<PathBuf>,
    /// Accept Kazoo JWTs without an `exp` claim, as Kazoo does (refused by default:
    /// such a token never expires).
    #[arg(long, env = "PIVOTLOG_JWT_ALLOW_NO_EXP")]
    pub jwt_allow_no_exp: bool,
    /// Origins whose pages may call the API from a browser (CORS): `*` (every origin,
    /// as Crossbar answers; tokens travel in headers, never cookies), a comma-separated
    /// list of `scheme://host[:port]`, or `none`.
    #[arg(long, env = "PIVOTLOG_CORS_ORIGINS", default_value = "*")]
    pub cors_origins: Origins,
    /// Serve the console's files from this directory instead of the embedded copy
    /// (for working on the console).
    #[arg(long, env = "PIVOTLOG_CONSOLE_DIR", hide = true)]
    pub console_dir: Option<PathBuf>,
    #[command(flatten)]
    pub limits: super::LimitArgs,
    #[command(flatten)]
    pub tails: TailArgs,
}

/// Limits and pacing of live tails (`/pivot/tail`).
#[derive(clap::Args, Debug, Clone)]
pub struct TailArgs {
    /// Live tails open at once in this process; more get 429.
    #[arg(long, env = "PIVOTLOG_TAIL_MAX", default_value_t = 100)]
    pub tail_max: usize,
    /// Live tails open at once for one account; more get 429.
    #[arg(long, env = "PIVOTLOG_TAIL_MAX_PER_ACCOUNT", default_value_t = 5)]
    pub tail_max_per_account: usize,
    /// Longest a live tail stays open, seconds (the client may reconnect from where it was).
    #[arg(long, env = "PIVOTLOG_TAIL_MAX_DURATION_S", default_value_t = 3600)]
    pub tail_max_duration_s: u64,
    /// Bytes of events held for one slowly reading client; past them records are
    /// dropped and counted.
    #[arg(long, env = "PIVOTLOG_TAIL_BUFFER_BYTES", default_value_t = 1 << 20)]
    pub tail_buffer_bytes: usize,
    /// How often a tail asks for new records, ms.
    #[arg(long, env = "PIVOTLOG_TAIL_POLL_MS", default_value_t = 250)]
    pub tail_poll_ms: u64,
    /// How often an idle tail sends a heartbeat comment, seconds.
    #[arg(long, env = "PIVOTLOG_TAIL_HEARTBEAT_S", default_value_t = 15)]
    pub tail_heartbeat_s: u64,
}

impl TailArgs {
    pub fn config(&self) -> TailConfig {
        TailConfig {
            max_tails: self.tail_max,
            max_tails_per_account: self.tail_max_per_account,
            max_duration: Duration::from_secs(self.tail_max_duration_s.max(1)),
            buffer_bytes: self.tail_buffer_bytes.max(1),
            poll_interval: Duration::from_millis(self.tail_poll_ms.max(10)),
            heartbeat: Duration::from_secs(self.tail_heartbeat_s.max(1)),
        }
    }
}

impl ApiArgs {
    /// `state` with the overload and live-tail limits, the browser settings and the
    /// process's heap gauges.
    pub fn configure(&self, state: AppState) -> AppState {
        let state = state
            .with_limits(self.limits.limits())
            .with_tails(self.tails.config())
            .with_browser(self.browser());
        state.metrics().register(Box::new(HeapCollector::new()));
        state
    }

    pub fn authenticator(&self) -> anyhow::Result<Authenticator> {
        let mut auth = Authenticator::default();
        if let Some(path) = &self.auth_tokens {
            auth = auth.with_token_file(path)?;
        }
        if let Some(path) = &self.jwt_public_key {
            let expiry = if self.jwt_allow_no_exp {
                ExpiryPolicy::Optional
            } else {
                ExpiryPolicy::Required
            };
            auth = auth.with_jwt_public_key_file(path, expiry)?;
        }
        Ok(auth)
    }

    pub fn browser(&self) -> BrowserConfig {
        BrowserConfig {
            origins: self.cors_origins.clone(),
            console_dir: self.console_dir.clone(),
        }
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
    if let Some(shards) = args.shards.shard_set()? {
        let state = args.api.configure(AppState::with_shards(auth, shards.clone())?);
        shards.refresh().await;
        tokio::spawn(shards.keep_refreshed());
        let listener = args.api.bind().await?;
        tracing::info!(address = %listener.local_addr()?, "serving the API from the shards");
        serve_until_shutdown(listener, state).await?;
        return Ok(ExitCode::SUCCESS);
    }
    let state = args.api.configure(AppState::new(auth));
    // An existing index is open before the first connection is accepted, so that a
    // restarted process never answers 503 "not open yet"; a new one is waited for.
    if args.data_dir.join(pivotlog_index::CHECKPOINT_FILE).exists() {
        let index = PivotIndex::open_or_create(&args.data_dir)
            .with_context(|| format!("cannot open the index in {}", args.data_dir.display()))?;
        state.set_index(index);
    } else {
        tokio::spawn(open_when_created(state.clone(), args.data_dir.clone()));
    }
    // Every reload makes the latest commit visible to reads and live tails: a reload
    // of an unchanged index reads only each slice's meta.json.
    tokio::spawn(pivotlog_query::reload_periodically(
        state.clone(),
        Duration::from_millis(100),
    ));
    let listener = args.api.bind().await?;
    tracing::info!(address = %listener.local_addr()?, "serving the API");
    serve_until_shutdown(listener, state).await?;
    Ok(ExitCode::SUCCESS)
}

/// Longest wait, after SIGTERM, for requests in flight: every request is answered
/// within [`pivotlog_query::REQUEST_TIMEOUT`], so this only bounds sending the answers.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(pivotlog_query::REQUEST_TIMEOUT.as_secs() + 5);

/// Serves the API until SIGTERM or Ctrl-C, then stops accepting connections, lets every
/// request in flight get its whole answer, and returns as soon as none is left.
///
/// Waiting for every connection to close instead (axum's graceful shutdown alone)
/// would let one client stalled in the middle of its request headers, or an idle
/// keep-alive connection in some states, hold the process forever. A connection with
/// no request in flight is simply closed: its client sees a connection-level failure,
/// never a partial answer.
pub async fn serve_until_shutdown(
    listener: TcpListener,
    state: pivotlog_query::AppState,
) -> std::io::Result<()> {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let tails = state.clone();
    let app = pivotlog_query::router(state).layer(axum::middleware::from_fn_with_state(
        in_flight.clone(),
        track_in_flight,
    ));
    let signalled = Arc::new(tokio::sync::Notify::new());
    let signal = {
        let signalled = signalled.clone();
        async move {
            super::shutdown_signal().await;
            tracing::info!("shutting down: no new connections, answering requests in flight");
            tails.end_tails();
            signalled.notify_one();
        }
    };
    let server = pivotlog_serve::serve(listener, app, signal);
    let drained = async {
        signalled.notified().await;
        let since = Instant::now();
        while in_flight.load(Ordering::SeqCst) > 0 {
            if since.elapsed() >= SHUTDOWN_GRACE {
                tracing::warn!(
                    requests = in_flight.load(Ordering::SeqCst),
                    "answers still unsent {SHUTDOWN_GRACE:?} after the shutdown signal; closing"
                );
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::select! {
        served = server => served,
        () = drained => {
            tracing::info!("every request in flight answered; closing the remaining connections");
            Ok(())
        }
    }
}

/// Counts a request as in flight until its response body is sent or dropped.
async fn track_in_flight(
    State(in_flight): State<Arc<AtomicUsize>>,
    request: Request,
    next: Next,
) -> Response {
    let guard = InFlight::enter(in_flight);
    next.run(request)
        .await
        .map(|body| Body::new(TrackedBody { body, _guard: guard }))
}

struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    fn enter(count: Arc<AtomicUsize>) -> InFlight {
        count.fetch_add(1, Ordering::SeqCst);
        InFlight(count)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A response body that holds its request's [`InFlight`] guard until it is dropped.
struct TrackedBody {
    body: Body,
    _guard: InFlight,
}

impl HttpBody for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Opens the index once an indexer has created it; until then `/readyz` says why not.
async fn open_when_created(state: AppState, dir: PathBuf) {
    let mut logged = false;
    loop {
        if Path::new(&dir).join(pivotlog_index::CHECKPOINT_FILE).exists() {
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
