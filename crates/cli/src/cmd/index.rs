//! `runs index`: index the deployment's contract events into Postgres (`DATABASE_URL`) or the
//! embedded SQLite file, backfilling from the deployment block and then following the head until
//! Ctrl-C (or SIGTERM).

use std::{io::IsTerminal, time::Duration};

use eyre::WrapErr;
use runs_db::Store;
use runs_indexer::{Backoff, Indexer, IndexerConfig};

use crate::args::{ManifestArgs, OutputArgs, RpcArgs};
use crate::signal::shutdown_signal;

/// Index every marketplace event into the database and keep following the chain.
#[derive(Debug, clap::Args)]
pub(crate) struct IndexArgs {
    #[command(flatten)]
    rpc: RpcArgs,

    #[command(flatten)]
    manifest: ManifestArgs,

    #[command(flatten)]
    output: OutputArgs,

    /// Database URL: postgres://… or sqlite://PATH. Without it: the SQLite file .runs/runs.db.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,

    /// Blocks per eth_getLogs query at start; halves on "range too large" errors.
    #[arg(long, env = "RUNS_INDEX_START_RANGE", default_value_t = 2_000)]
    start_range: u64,

    /// Largest eth_getLogs span the range grows back to.
    #[arg(long, env = "RUNS_INDEX_MAX_RANGE", default_value_t = 50_000)]
    max_range: u64,

    /// Recent blocks kept to survive reorgs; a deeper reorg stops the indexer with an error.
    #[arg(long, env = "RUNS_INDEX_REORG_WINDOW", default_value_t = 64)]
    reorg_window: u64,

    /// Milliseconds between polls once at the head.
    #[arg(long, env = "RUNS_INDEX_POLL_INTERVAL_MS", default_value_t = 1_000)]
    poll_interval_ms: u64,

    /// Blocks to stay behind the head (reorgs are handled either way).
    #[arg(long, env = "RUNS_INDEX_CONFIRMATIONS", default_value_t = 0)]
    confirmations: u64,

    /// Seconds before one RPC request is abandoned and retried.
    #[arg(long, env = "RUNS_INDEX_REQUEST_TIMEOUT", default_value_t = 30)]
    request_timeout_secs: u64,

    /// Stop once this block is indexed instead of following the head.
    #[arg(long, env = "RUNS_INDEX_UNTIL")]
    until: Option<u64>,
}

impl IndexArgs {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let (_, chain_id) = self.rpc.connect().await?;
        let manifest = self.manifest.load(chain_id)?;
        let store = Store::connect(self.database_url.as_deref())
            .await
            .wrap_err("cannot open the database (--database-url / DATABASE_URL)")?;
        store.migrate().await.wrap_err("running the database migrations")?;

        let config = IndexerConfig {
            start_range: self.start_range,
            max_range: self.max_range,
            keep_blocks: self.reorg_window,
            poll_interval: Duration::from_millis(self.poll_interval_ms),
            confirmations: self.confirmations,
            request_timeout: Duration::from_secs(self.request_timeout_secs.max(1)),
            backoff: Backoff::default(),
            progress: std::io::stderr().is_terminal(),
            ..IndexerConfig::default()
        };
        let provider = runs_indexer::connect_http(self.rpc.rpc_url.clone());
        let indexer = Indexer::new(provider, store.clone(), &manifest, config);
        tracing::info!(target: "runs::indexer", chain_id, start_block = manifest.start_block(), "indexing");
        let result = match self.until {
            Some(block) => indexer.run_until(block).await,
            None => indexer.run(shutdown_signal()).await,
        };
        result.wrap_err("the indexer stopped")?;

        let checkpoint = store.checkpoint(chain_id).await?;
        store.close().await;
        let block = checkpoint.map(|c| c.number);
        if self.output.json {
            println!("{}", serde_json::json!({ "chainId": chain_id, "indexedBlock": block }));
        } else {
            match block {
                Some(block) => println!("indexed chain {chain_id} up to block {block}"),
                None => println!("nothing indexed yet for chain {chain_id}"),
            }
        }
        Ok(())
    }
}
