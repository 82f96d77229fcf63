//! `runs serve`: the REST API over the indexed database (Postgres `DATABASE_URL` or the embedded
//! SQLite file), until Ctrl-C or SIGTERM, letting in-flight requests finish.
//!
//! The chain served is `--chain-id`, else the RPC's chain id (with `--rpc-url`), else the only
//! chain the database has indexed. With `--rpc-url` the chain head is polled so `/ready` and
//! `/metrics` can report the indexer's lag; without it `/ready` only requires that something is
//! indexed.

use std::{net::SocketAddr, time::Duration};

use alloy::{
    providers::{DynProvider, Provider, ProviderBuilder},
    transports::http::reqwest::Url,
};
use eyre::WrapErr;
use runs_api::{ApiConfig, ApiState, ChainHead};
use runs_primitives::DeploymentManifest;

use crate::args::{DatabaseArgs, ManifestArgs, redact_url};
use crate::signal::shutdown_signal;

/// Serve the REST API.
#[derive(Debug, clap::Args)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    database: DatabaseArgs,

    /// Address to listen on.
    #[arg(long, env = "RUNS_LISTEN", default_value = "127.0.0.1:3000")]
    listen: SocketAddr,

    /// The chain to serve (default: the RPC's chain, else the only chain in the database).
    #[arg(long, env = "RUNS_CHAIN_ID")]
    chain_id: Option<u64>,

    /// JSON-RPC endpoint, polled for the chain head (for /ready and the lag metric). Optional.
    #[arg(long, env = "RPC_URL")]
    rpc_url: Option<Url>,

    #[command(flatten)]
    manifest: ManifestArgs,

    /// Allowed CORS origins, comma-separated; `*` allows any, an empty value disables CORS.
    #[arg(long, env = "RUNS_CORS_ORIGIN", default_value = "*", value_delimiter = ',')]
    cors_origin: Vec<String>,

    /// /ready answers 503 while the indexer is more than this many blocks behind the head.
    #[arg(long, env = "RUNS_READY_MAX_LAG", default_value_t = 10)]
    ready_max_lag: u64,

    /// Largest request body in bytes.
    #[arg(long, env = "RUNS_BODY_LIMIT", default_value_t = 16 * 1024)]
    body_limit: usize,

    /// Seconds between chain-head polls (with --rpc-url).
    #[arg(long, env = "RUNS_HEAD_POLL_SECS", default_value_t = 2)]
    head_poll_secs: u64,

    /// Concurrent `/api/events/stream` connections; more are answered 503 with Retry-After.
    #[arg(long, env = "RUNS_MAX_STREAMS", default_value_t = 1_000)]
    max_streams: usize,

    /// Milliseconds between an idle event stream's looks for new events.
    #[arg(long, env = "RUNS_STREAM_POLL_MS", default_value_t = 100)]
    stream_poll_ms: u64,

    /// MiB of whole read responses kept in memory (answers and ETags are exact: keyed by the
    /// indexed head).
    #[arg(long, env = "RUNS_CACHE_MIB", default_value_t = runs_api::DEFAULT_CACHE_BYTES >> 20)]
    cache_mib: usize,

    /// No response cache (and no ETag): every request is answered by the database.
    #[arg(long, env = "RUNS_NO_CACHE")]
    no_cache: bool,
}

impl ServeArgs {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let store = self.database.open_reader().await?;

        let provider =
            self.rpc_url.clone().map(|url| ProviderBuilder::new().connect_http(url).erased());
        let chain_id = match (self.chain_id, &provider) {
            (Some(id), _) => id,
            (None, Some(provider)) => provider.get_chain_id().await.wrap_err_with(|| {
                format!(
                    "cannot reach the RPC at {} to read the chain id",
                    self.rpc_url.as_ref().map(|url| redact_url(url.as_str())).unwrap_or_default()
                )
            })?,
            (None, None) => crate::args::only_indexed_chain(&store).await?,
        };

        let manifest_path = self.manifest.path(chain_id);
        let manifest = if manifest_path.is_file() {
            Some(
                DeploymentManifest::load(&manifest_path)
                    .wrap_err_with(|| format!("reading {}", manifest_path.display()))?,
            )
        } else {
            tracing::warn!(
                target: "runs::api",
                path = %manifest_path.display(),
                "no deployment manifest: POST /api/runs/{{id}}/claim will answer 503 and the \
                 explorer is read-only"
            );
            None
        };
        let run_escrow = manifest.as_ref().map(|m| m.contracts.run_escrow.address);

        let head = ChainHead::default();
        if let Some(provider) = provider {
            let every = Duration::from_secs(self.head_poll_secs.max(1));
            tokio::spawn(poll_head(provider, head.clone(), every));
        }

        let config = ApiConfig {
            chain_id,
            run_escrow,
            ready_max_lag: self.ready_max_lag,
            cors_origins: self.cors_origin.into_iter().filter(|o| !o.is_empty()).collect(),
            body_limit: self.body_limit,
            max_streams: self.max_streams,
            stream_poll: Duration::from_millis(self.stream_poll_ms.max(10)),
            cache_bytes: if self.no_cache { 0 } else { self.cache_mib << 20 },
        };
        let router = runs_api::router(ApiState::new(store.clone(), config, head))
            .merge(crate::web::explorer(chain_id, manifest.as_ref()));
        let listener = tokio::net::TcpListener::bind(self.listen)
            .await
            .wrap_err_with(|| format!("cannot listen on {}", self.listen))?;
        let local = listener.local_addr()?;
        tracing::info!(target: "runs::api", %local, chain_id, "serving");
        // The one result line: scripts read the bound address from it (`--listen 127.0.0.1:0`).
        println!("listening on http://{local} (chain {chain_id})");
        runs_api::serve(listener, router, shutdown_signal()).await.wrap_err("the server failed")?;
        store.close().await;
        Ok(())
    }
}

/// Keeps `head` at the node's block number, for `/ready` and the lag metric, reading it every
/// `every` until the task is dropped or aborted.
pub(crate) async fn poll_head(provider: DynProvider, head: ChainHead, every: Duration) {
    loop {
        match provider.get_block_number().await {
            Ok(block) => head.set(block),
            Err(err) => tracing::warn!(target: "runs::api", %err, "cannot read the chain head"),
        }
        tokio::time::sleep(every).await;
    }
}
