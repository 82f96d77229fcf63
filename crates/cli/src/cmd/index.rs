//! `runs index`: index the deployment's contract events into Postgres (`DATABASE_URL`) or the
//! embedded SQLite file, backfilling from the deployment block and then following the head until
//! Ctrl-C (or SIGTERM), and deliver the webhooks (`runs webhook`) of the chain beside it.

use std::io::IsTerminal;

use eyre::WrapErr;
use runs_indexer::{Indexer, Progress};
use tokio::sync::watch;

use crate::args::{DatabaseArgs, IndexerArgs, ManifestArgs, OutputArgs, RpcArgs, WebhookArgs};
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

    #[command(flatten)]
    webhooks: WebhookArgs,

    /// Stop once this block is indexed instead of following the head.
    #[arg(long, env = "RUNS_INDEX_UNTIL")]
    until: Option<u64>,
}

impl IndexArgs {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let (_, chain_id) = self.rpc.connect().await?;
        let manifest = self.manifest.load(chain_id)?;
        let store = self.database.open().await?;
        let provider = runs_indexer::connect_http(self.rpc.rpc_url.clone());
        let indexer = Indexer::new(provider, store.clone(), &manifest, self.indexer.config());
        if std::io::stderr().is_terminal() {
            tokio::spawn(draw_progress(indexer.progress()));
        }
        tracing::info!(target: "runs::indexer", chain_id, start_block = manifest.start_block(), "indexing");
        // The webhook worker delivers beside the indexer and stops with it (it does not need
        // the writer lock: several processes share the subscriptions through leases).
        let (stop_worker, worker_stop) = watch::channel(false);
        let worker = match self.webhooks.config() {
            Some(config) => {
                let worker = runs_webhooks::Worker::new(store.clone(), chain_id, config)
                    .wrap_err("starting the webhook worker")?;
                Some(tokio::spawn(worker.run(async move {
                    let mut stop = worker_stop;
                    let _ = stop.wait_for(|s| *s).await;
                })))
            }
            None => None,
        };
        let result = match self.until {
            Some(block) => indexer.run_until(block).await,
            None => indexer.run(shutdown_signal()).await,
        };
        let _ = stop_worker.send(true);
        if let Some(worker) = worker {
            let _ = worker.await;
        }
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

/// Draws the backfill as a progress bar on stderr until the indexer reaches the head (then
/// clears it) or stops.
async fn draw_progress(mut progress: watch::Receiver<Progress>) {
    let mut bar: Option<indicatif::ProgressBar> = None;
    while progress.changed().await.is_ok() {
        let now = *progress.borrow_and_update();
        if !now.backfilling() {
            if let Some(bar) = bar.take() {
                bar.finish_and_clear();
            }
            continue;
        }
        let bar = bar.get_or_insert_with(|| {
            let bar = indicatif::ProgressBar::with_draw_target(
                None,
                indicatif::ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} backfill [{bar:40}] {pos}/{len} blocks ({per_sec}, eta {eta}) {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar
        });
        bar.set_length(now.head.saturating_sub(now.from));
        bar.set_position(now.indexed.saturating_sub(now.from));
    }
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
}
