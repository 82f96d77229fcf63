//! `runs index`: index the deployment's contract events into Postgres (`DATABASE_URL`) or the
//! embedded SQLite file, backfilling from the deployment block and then following the head until
//! Ctrl-C (or SIGTERM).

use std::io::IsTerminal;

use eyre::WrapErr;
use runs_indexer::{Indexer, IndexerConfig};

use crate::args::{DatabaseArgs, IndexerArgs, ManifestArgs, OutputArgs, RpcArgs};
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

    #[command(flatten)]
    database: DatabaseArgs,

    #[command(flatten)]
    indexer: IndexerArgs,

    /// Stop once this block is indexed instead of following the head.
    #[arg(long, env = "RUNS_INDEX_UNTIL")]
    until: Option<u64>,
}

impl IndexArgs {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let (_, chain_id) = self.rpc.connect().await?;
        let manifest = self.manifest.load(chain_id)?;
        let store = self.database.open().await?;
        let config =
            IndexerConfig { progress: std::io::stderr().is_terminal(), ..self.indexer.config() };
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
