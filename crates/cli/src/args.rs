//! Flag groups shared by the subcommands: where the chain is, who signs, where the deployment
//! manifests and the index database live, how the indexer reads. Every flag can also come from
//! the environment (and `.env`); precedence is flag > environment > manifest > default, resolved
//! here, and the defaults of library settings are the library's own `Default`.

use std::{fmt, path::PathBuf, str::FromStr, time::Duration};

use alloy::{
    providers::{DynProvider, Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
    transports::http::reqwest::Url,
};
use eyre::{WrapErr, bail, eyre};
use runs_db::Store;
use runs_indexer::IndexerConfig;
use runs_primitives::DeploymentManifest;
use runs_webhooks::{RetryPolicy, WorkerConfig};

use crate::chain::Chain;

/// Where the chain is.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct RpcArgs {
    /// JSON-RPC endpoint of the chain.
    #[arg(long, env = "RPC_URL", default_value = "http://127.0.0.1:8545")]
    pub(crate) rpc_url: Url,
}

impl RpcArgs {
    /// A read-only provider, after checking the endpoint answers; returns it with the chain id.
    pub(crate) async fn connect(&self) -> eyre::Result<(DynProvider, u64)> {
        let provider = ProviderBuilder::new().connect_http(self.rpc_url.clone()).erased();
        let chain_id = chain_id(&provider, &self.rpc_url).await?;
        Ok((provider, chain_id))
    }

    /// A provider that signs with `signer`, after checking the endpoint answers; returns it with
    /// the chain id.
    pub(crate) async fn connect_signing(
        &self,
        signer: PrivateKeySigner,
    ) -> eyre::Result<(DynProvider, u64)> {
        let provider = runs_bindings::signing_provider(self.rpc_url.clone(), signer);
        let chain_id = chain_id(&provider, &self.rpc_url).await?;
        Ok((provider, chain_id))
    }
}

async fn chain_id(provider: &DynProvider, url: &Url) -> eyre::Result<u64> {
    provider.get_chain_id().await.map_err(|err| {
        eyre!("cannot reach the RPC endpoint at {url}: {err}")
            .wrap_err("is the node running and the URL right? (--rpc-url / RPC_URL)")
    })
}

/// Who signs. Exactly one of a private key or a keystore; the key is never printed or logged.
#[derive(Clone, clap::Args)]
pub(crate) struct WalletArgs {
    /// Hex private key of the signing wallet. Prefer the PRIVATE_KEY environment variable or a
    /// keystore: a flag is visible to other users in the process list.
    #[arg(long, env = "PRIVATE_KEY", hide_env_values = true, conflicts_with = "keystore")]
    private_key: Option<String>,

    /// Encrypted JSON keystore of the signing wallet (password from KEYSTORE_PASSWORD or a prompt).
    #[arg(long, env = "KEYSTORE", value_name = "PATH")]
    keystore: Option<PathBuf>,

    /// Password of --keystore. Asked for on the terminal when not set.
    #[arg(long, env = "KEYSTORE_PASSWORD", hide_env_values = true, requires = "keystore")]
    keystore_password: Option<String>,
}

impl fmt::Debug for WalletArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WalletArgs")
            .field("private_key", &self.private_key.as_ref().map(|_| "<redacted>"))
            .field("keystore", &self.keystore)
            .field("keystore_password", &self.keystore_password.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

impl WalletArgs {
    /// Whether a key or a keystore is configured at all.
    pub(crate) fn is_configured(&self) -> bool {
        self.private_key.is_some() || self.keystore.is_some()
    }

    /// The signer these flags name.
    pub(crate) fn signer(&self) -> eyre::Result<PrivateKeySigner> {
        if let Some(key) = &self.private_key {
            // The parse error of a malformed key can echo part of it; say only what is wrong.
            return PrivateKeySigner::from_str(key.trim()).map_err(|_| {
                eyre!("--private-key / PRIVATE_KEY is not a valid hex secp256k1 private key")
            });
        }
        let Some(path) = &self.keystore else {
            bail!(
                "no signer: pass --private-key (or PRIVATE_KEY) or --keystore PATH (or KEYSTORE)"
            );
        };
        if !path.is_file() {
            bail!("keystore {} does not exist", path.display());
        }
        let password = match &self.keystore_password {
            Some(password) => password.clone(),
            None => rpassword::prompt_password(format!("password of {}: ", path.display()))
                .wrap_err("could not read the keystore password from the terminal")?,
        };
        PrivateKeySigner::decrypt_keystore(path, password)
            .map_err(|err| eyre!("could not decrypt keystore {}: {err}", path.display()))
    }
}

/// Where the deployment manifests live.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ManifestArgs {
    /// Directory of the deployment manifests (`<chainId>.json`).
    #[arg(long, env = "RUNS_DEPLOYMENTS", default_value = "deployments", value_name = "DIR")]
    pub(crate) deployments: PathBuf,
}

impl ManifestArgs {
    /// The manifest path for `chain_id`.
    pub(crate) fn path(&self, chain_id: u64) -> PathBuf {
        DeploymentManifest::path_for(&self.deployments, chain_id)
    }

    /// The manifest of `chain_id`, with a clear error when there is none.
    pub(crate) fn load(&self, chain_id: u64) -> eyre::Result<DeploymentManifest> {
        let path = self.path(chain_id);
        if !path.is_file() {
            bail!(
                "no deployment for chain {chain_id}: {} does not exist (run `runs deploy` first, \
                 or point --deployments / RUNS_DEPLOYMENTS at the right directory)",
                path.display()
            );
        }
        DeploymentManifest::load(&path).wrap_err_with(|| format!("reading {}", path.display()))
    }
}

/// How results are printed.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct OutputArgs {
    /// Print the result as one JSON object on stdout (for scripts).
    #[arg(long, env = "RUNS_JSON")]
    pub(crate) json: bool,
}

/// The flags of a command that sends transactions: chain, signer, manifests, output.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct SendArgs {
    #[command(flatten)]
    pub(crate) rpc: RpcArgs,
    #[command(flatten)]
    pub(crate) wallet: WalletArgs,
    #[command(flatten)]
    pub(crate) manifest: ManifestArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

impl SendArgs {
    /// Connects with the signer and loads the chain's manifest.
    pub(crate) async fn connect(&self) -> eyre::Result<Chain> {
        Chain::signing(&self.rpc, &self.wallet, &self.manifest).await
    }
}

/// The flags of a command that only reads: chain, manifests, output.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct ReadArgs {
    #[command(flatten)]
    pub(crate) rpc: RpcArgs,
    #[command(flatten)]
    pub(crate) manifest: ManifestArgs,
    #[command(flatten)]
    pub(crate) output: OutputArgs,
}

impl ReadArgs {
    /// Connects and loads the chain's manifest.
    pub(crate) async fn connect(&self) -> eyre::Result<Chain> {
        Chain::read_only(&self.rpc, &self.manifest).await
    }
}

/// How a command pays for a USDC pull.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct PullArgs {
    /// Send an `approve` transaction instead of signing an EIP-2612 permit when the allowance is
    /// short (the permit saves a transaction; use this for tokens or signers without it).
    #[arg(long, env = "RUNS_NO_PERMIT")]
    pub(crate) no_permit: bool,
}

/// Where the index database is.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct DatabaseArgs {
    /// Database URL: postgres://… or sqlite://PATH. Without it: the SQLite file .runs/runs.db.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub(crate) database_url: Option<String>,
}

impl DatabaseArgs {
    /// These flags, with `url` when no database was named (instead of the store's default file).
    pub(crate) fn or(&self, url: String) -> Self {
        Self { database_url: Some(self.database_url.clone().unwrap_or(url)) }
    }

    /// Opens the database for the indexer (the one writer) and applies the migrations.
    pub(crate) async fn open(&self) -> eyre::Result<Store> {
        migrated(Store::connect(self.database_url.as_deref()).await).await
    }

    /// Opens the database for the API (readers) and applies the migrations.
    pub(crate) async fn open_reader(&self) -> eyre::Result<Store> {
        migrated(Store::connect_reader(self.database_url.as_deref()).await).await
    }
}

/// The one chain the database has indexed, for a command given no `--chain-id`.
pub(crate) async fn only_indexed_chain(store: &Store) -> eyre::Result<u64> {
    let chains = async { store.reader().await?.indexed_chains().await }
        .await
        .wrap_err("reading the indexed chains")?;
    match chains.as_slice() {
        [only] => Ok(*only),
        [] => bail!(
            "the database has nothing indexed yet: pass --chain-id (or --rpc-url), or run \
             `runs index` first"
        ),
        many => bail!("the database holds several chains ({many:?}): pass --chain-id to pick one"),
    }
}

async fn migrated(store: runs_db::Result<Store>) -> eyre::Result<Store> {
    let store = store.wrap_err("cannot open the database (--database-url / DATABASE_URL)")?;
    store.migrate().await.wrap_err("running the database migrations")?;
    Ok(store)
}

/// How the indexer reads the chain. The defaults are [`IndexerConfig::default`]'s.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct IndexerArgs {
    /// Blocks per eth_getLogs query at start; halves on "range too large" errors.
    #[arg(long, env = "RUNS_INDEX_START_RANGE", default_value_t = defaults().start_range)]
    start_range: u64,

    /// Largest eth_getLogs span the range grows back to.
    #[arg(long, env = "RUNS_INDEX_MAX_RANGE", default_value_t = defaults().max_range)]
    max_range: u64,

    /// Recent blocks kept to survive reorgs; a deeper reorg stops the indexer with an error.
    #[arg(long, env = "RUNS_INDEX_REORG_WINDOW", default_value_t = defaults().keep_blocks)]
    reorg_window: u64,

    /// Milliseconds between polls once at the head.
    #[arg(
        long,
        env = "RUNS_INDEX_POLL_INTERVAL_MS",
        default_value_t = millis(defaults().poll_interval)
    )]
    poll_interval_ms: u64,

    /// Blocks to stay behind the head (reorgs are handled either way).
    #[arg(long, env = "RUNS_INDEX_CONFIRMATIONS", default_value_t = defaults().confirmations)]
    confirmations: u64,

    /// Seconds before one RPC request is abandoned and retried.
    #[arg(
        long,
        env = "RUNS_INDEX_REQUEST_TIMEOUT",
        default_value_t = defaults().request_timeout.as_secs()
    )]
    request_timeout_secs: u64,

    /// Keep the secondary indexes in place during an initial sync instead of building them once
    /// near the head: a slower backfill, but the API's filtered reads stay fast meanwhile.
    #[arg(long, env = "RUNS_INDEX_KEEP_INDEXES")]
    keep_indexes: bool,
}

impl IndexerArgs {
    /// The indexer's configuration: these flags over its defaults.
    pub(crate) fn config(&self) -> IndexerConfig {
        IndexerConfig {
            start_range: self.start_range,
            max_range: self.max_range,
            keep_blocks: self.reorg_window,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            confirmations: self.confirmations,
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            defer_indexes: defaults().defer_indexes && !self.keep_indexes,
            ..defaults()
        }
    }
}

/// How `runs index` delivers webhooks. The defaults are [`WorkerConfig::default`]'s.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct WebhookArgs {
    /// Do not deliver webhooks from this process (another `runs index` may).
    #[arg(long, env = "RUNS_NO_WEBHOOKS")]
    no_webhooks: bool,

    /// Milliseconds before a delivery without an answer counts as failed.
    #[arg(
        long,
        env = "RUNS_WEBHOOK_TIMEOUT_MS",
        default_value_t = millis(webhook_defaults().timeout)
    )]
    webhook_timeout_ms: u64,

    /// Milliseconds to wait after a first failed delivery; doubles per failure, up to an hour.
    #[arg(
        long,
        env = "RUNS_WEBHOOK_RETRY_BASE_MS",
        default_value_t = millis(webhook_defaults().retry.base)
    )]
    webhook_retry_base_ms: u64,

    /// Seconds an item may keep failing before its subscription is paused.
    #[arg(
        long,
        env = "RUNS_WEBHOOK_RETRY_WINDOW_SECS",
        default_value_t = webhook_defaults().retry.window.as_secs()
    )]
    webhook_retry_window_secs: u64,

    /// Subscriptions delivered at once.
    #[arg(
        long,
        env = "RUNS_WEBHOOK_CONCURRENCY",
        default_value_t = webhook_defaults().concurrency
    )]
    webhook_concurrency: u32,

    /// Milliseconds between looks for due subscriptions and new events.
    #[arg(
        long,
        env = "RUNS_WEBHOOK_POLL_MS",
        default_value_t = millis(webhook_defaults().poll)
    )]
    webhook_poll_ms: u64,

    /// Deliver to private and loopback addresses whatever the subscription says (a local
    /// network's own receivers; `runs devnet` does this).
    #[arg(long, env = "RUNS_WEBHOOKS_ALLOW_PRIVATE")]
    webhooks_allow_private: bool,
}

impl WebhookArgs {
    /// The worker's configuration, or `None` with `--no-webhooks`.
    pub(crate) fn config(&self) -> Option<WorkerConfig> {
        (!self.no_webhooks).then(|| WorkerConfig {
            poll: Duration::from_millis(self.webhook_poll_ms.max(1)),
            timeout: Duration::from_millis(self.webhook_timeout_ms.max(1)),
            retry: RetryPolicy {
                base: Duration::from_millis(self.webhook_retry_base_ms.max(1)),
                window: Duration::from_secs(self.webhook_retry_window_secs),
                ..webhook_defaults().retry
            },
            concurrency: self.webhook_concurrency.max(1),
            allow_private: self.webhooks_allow_private,
            ..webhook_defaults()
        })
    }
}

fn webhook_defaults() -> WorkerConfig {
    WorkerConfig::default()
}

fn defaults() -> IndexerConfig {
    IndexerConfig::default()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// `url` as it may be printed or logged: the password masked (`***`), the query dropped (it can
/// carry `?password=` or `?apikey=`) and, for HTTP and WebSocket URLs, the path dropped too (RPC
/// providers put the API key there). A database URL keeps its path: the database name, or the
/// SQLite file.
pub(crate) fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = Url::parse(url) else { return url.to_owned() };
    let mut redacted = false;
    if parsed.password().is_some() {
        redacted |= parsed.set_password(Some("***")).is_ok();
    }
    if parsed.query().is_some() {
        parsed.set_query(None);
        redacted = true;
    }
    if matches!(parsed.scheme(), "http" | "https" | "ws" | "wss") && parsed.path() != "/" {
        parsed.set_path("");
        redacted = true;
    }
    if redacted { parsed.to_string() } else { url.to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_urls_carry_no_secrets() {
        assert_eq!(
            redact_url("postgres://runs:secret@db.example:5432/runs"),
            "postgres://runs:***@db.example:5432/runs"
        );
        assert_eq!(redact_url("sqlite://.runs/devnet-31337.db"), "sqlite://.runs/devnet-31337.db");
        assert_eq!(
            redact_url("https://base-sepolia.g.alchemy.com/v2/SECRETKEY"),
            "https://base-sepolia.g.alchemy.com/"
        );
        assert_eq!(redact_url("https://rpc.example/?apikey=SECRET"), "https://rpc.example/");
        assert_eq!(redact_url("http://127.0.0.1:8545"), "http://127.0.0.1:8545");
    }

    #[test]
    fn indexer_flags_default_to_the_indexers_defaults() {
        use clap::Parser;

        #[derive(Parser)]
        struct Cli {
            #[command(flatten)]
            indexer: IndexerArgs,
        }
        let config = Cli::parse_from(["runs"]).indexer.config();
        let expected = IndexerConfig::default();
        assert_eq!(config.start_range, expected.start_range);
        assert_eq!(config.max_range, expected.max_range);
        assert_eq!(config.keep_blocks, expected.keep_blocks);
        assert_eq!(config.poll_interval, expected.poll_interval);
        assert_eq!(config.confirmations, expected.confirmations);
        assert_eq!(config.request_timeout, expected.request_timeout);
        assert_eq!(config.defer_indexes, expected.defer_indexes);
        assert!(!Cli::parse_from(["runs", "--keep-indexes"]).indexer.config().defer_indexes);
    }
}
