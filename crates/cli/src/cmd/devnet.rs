//! `runs devnet`: the whole system in one command, for demos and local development. Starts Anvil
//! (or uses `--rpc-url`), deploys the contracts with a MockUSDC, seeds agents and runs in every
//! state, then indexes the chain and serves the REST API from this one process until Ctrl-C or
//! SIGTERM, when it stops the API (letting requests finish), the indexer and Anvil, and exits 0.
//!
//! The deployment manifest: with the Anvil started here the chain is brand new, so
//! `<deployments>/<chainId>.json` is overwritten (whatever it described died with the previous
//! node). With `--rpc-url` an existing manifest whose RunEscrow has code on that chain is reused
//! (and the chain is seeded only if it has no runs yet); a manifest whose contracts are not on the
//! chain describes an earlier node and is replaced.
//!
//! The database: `DATABASE_URL` / `--database-url` (Postgres or `sqlite://PATH`), else the SQLite
//! file `.runs/devnet-<chainId>.db`. An index left there by an earlier devnet chain (its checkpoint
//! block is not on this chain) is cleared for this chain id before indexing.

use std::{
    future::Future,
    io::Write,
    net::SocketAddr,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use alloy::{
    node_bindings::{Anvil, AnvilInstance},
    primitives::Address,
    providers::{DynProvider, Provider, ext::AnvilApi},
    transports::http::reqwest::Url,
};
use eyre::{WrapErr, bail, eyre};
use runs_api::{ApiConfig, ApiState, ChainHead};
use runs_bindings::RunEscrow;
use runs_db::{BlockRef, Store};
use runs_deployer::{DEV_CHAIN_ID, DeployConfig, UsdcSource};
use runs_indexer::{Indexer, IndexerConfig};
use runs_primitives::{AgentStatus, DeploymentManifest, RunState, Usdc};
use runs_seed::SeedReport;
use runs_webhooks::WorkerConfig;
use serde::Serialize;
use tokio::sync::watch;

use crate::args::{DatabaseArgs, ManifestArgs, OutputArgs, redact_url};
use crate::signal::shutdown_signal;

/// MockUSDC minted to each of the dev accounts 1-9.
const MINT_PER_ACCOUNT: u64 = 100_000;

/// How long to wait for the indexer to reach the seeded head before printing the URLs anyway.
const SYNC_TIMEOUT: Duration = Duration::from_secs(120);

/// How long each part may take to stop before it is abandoned.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

/// Start Anvil, deploy, seed agents and runs in every state, and run the indexer and the REST API
/// together until Ctrl-C.
#[derive(Debug, clap::Args)]
#[command(mut_arg("database_url", |arg| arg.help(
    "Database URL: postgres://… or sqlite://PATH [default: the SQLite file \
     .runs/devnet-<chainId>.db]"
)))]
pub(crate) struct DevnetArgs {
    /// Port of the Anvil node to start on 127.0.0.1 (0: any free port).
    #[arg(long, env = "RUNS_DEVNET_PORT", default_value_t = 8545)]
    port: u16,

    /// Use the dev node at this URL (Anvil or Hardhat, with the default funded accounts) instead
    /// of starting one.
    #[arg(long, env = "RUNS_DEVNET_RPC_URL", conflicts_with_all = ["port", "block_time", "anvil"])]
    rpc_url: Option<Url>,

    /// Seconds between blocks once seeded (Anvil interval mining) [default: a block per
    /// transaction].
    #[arg(long, env = "RUNS_DEVNET_BLOCK_TIME", value_name = "SECONDS")]
    block_time: Option<u64>,

    /// The anvil binary [default: .bin/anvil of the checkout, else anvil on PATH].
    #[arg(long, env = "RUNS_ANVIL", value_name = "PATH")]
    anvil: Option<PathBuf>,

    /// Address the REST API listens on (port 0: any free port).
    #[arg(long, env = "RUNS_LISTEN", default_value = "127.0.0.1:3000")]
    api_listen: SocketAddr,

    #[command(flatten)]
    database: DatabaseArgs,

    #[command(flatten)]
    manifest: ManifestArgs,

    /// Deploy (and fund the dev accounts) but create no agents or runs.
    #[arg(long)]
    no_seed: bool,

    /// The project to compile (the directory of foundry.toml) [default: the nearest one above the
    /// current directory, else the checkout this binary was built from].
    #[arg(long, env = "RUNS_PROJECT", value_name = "DIR")]
    project: Option<PathBuf>,

    #[command(flatten)]
    output: OutputArgs,
}

impl DevnetArgs {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let (stop_tx, stop) = watch::channel(false);
        tokio::spawn(async move {
            shutdown_signal().await;
            let _ = stop_tx.send(true);
        });

        // Anvil lives in this frame: every return below (error or Ctrl-C) drops it, which stops
        // the node.
        let mut anvil = None;
        let result = self.run_until_stopped(&stop, &mut anvil).await;
        if let Some(node) = anvil.take() {
            say("stopping anvil");
            // Dropping the handle sends SIGTERM and waits for the process: blocking.
            let _ = tokio::task::spawn_blocking(move || drop(node)).await;
        }
        match &result {
            Ok(()) => say("stopped"),
            Err(_) => say("stopped after an error"),
        }
        result
    }

    async fn run_until_stopped(
        &self,
        stop: &watch::Receiver<bool>,
        anvil: &mut Option<AnvilInstance>,
    ) -> eyre::Result<()> {
        // 1. The node.
        let (rpc_url, fresh) = match &self.rpc_url {
            Some(url) => (url.clone(), false),
            None => {
                let bin = self.anvil_binary();
                say(&format!("starting anvil ({}) on 127.0.0.1:{}", bin.display(), self.port));
                let port = self.port;
                let node = tokio::task::spawn_blocking(move || spawn_anvil(&bin, port))
                    .await
                    .wrap_err("the anvil task failed")??;
                let url: Url = format!("http://127.0.0.1:{}", node.port()).parse()?;
                *anvil = Some(node);
                (url, true)
            }
        };
        let signers = runs_seed::dev_signers();
        let deployer = signers[0].address();
        let provider = runs_bindings::signing_provider(rpc_url.clone(), signers[0].clone());
        let chain_id = provider.get_chain_id().await.map_err(|err| {
            eyre!("cannot reach the node at {rpc_url}: {err}")
                .wrap_err("is it running? (--rpc-url / RUNS_DEVNET_RPC_URL)")
        })?;
        if runs_deployer::known_usdc(chain_id).is_some() {
            bail!(
                "chain {chain_id} is a public network: runs devnet only runs on dev chains (use \
                 runs deploy, runs index and runs serve there)"
            );
        }

        // 2. The database, early, so a bad URL fails before the slow steps.
        let database = self.database.or(format!("sqlite://.runs/devnet-{chain_id}.db"));
        let store = database.open().await?;

        // 3. The contracts.
        let path = self.manifest.path(chain_id);
        let (manifest, deployed) =
            match unless_stopped(stop, self.deployment(&provider, chain_id, &path, fresh)).await {
                Some(result) => result?,
                None => return Ok(()),
            };
        if deployed && let Some(mock) = manifest.contracts.mock_usdc {
            say(&format!("minting {MINT_PER_ACCOUNT} MockUSDC to each of dev accounts 1-9"));
            let recipients: Vec<_> =
                signers[1..].iter().map(|s| (s.address(), Usdc::whole(MINT_PER_ACCOUNT))).collect();
            let mint =
                runs_deployer::mint_mock_usdc(&provider, deployer, mock.address, &recipients);
            match unless_stopped(stop, mint).await {
                Some(result) => result.wrap_err("minting MockUSDC")?,
                None => return Ok(()),
            }
        }

        // 4. The seed.
        let report = if self.no_seed {
            None
        } else {
            let escrow = RunEscrow::new(manifest.contracts.run_escrow.address, &provider);
            let runs = escrow.runCount().call().await.wrap_err("reading RunEscrow.runCount")?;
            if runs.is_zero() {
                say("seeding agents and runs (moves the chain's clock forward about 31 days)");
                let started = Instant::now();
                let mut progress = |step: &str| say(&format!("  seeding: {step}"));
                let seeding = runs_seed::seed(&rpc_url, &manifest, &signers, &mut progress);
                let report = match unless_stopped(stop, seeding).await {
                    Some(result) => result.wrap_err("seeding the devnet")?,
                    None => return Ok(()),
                };
                say(&format!(
                    "seeded {} agents and {} runs in {:.1} s",
                    report.agents.len(),
                    report.runs.len(),
                    started.elapsed().as_secs_f64()
                ));
                Some(report)
            } else {
                say(&format!("the chain already has {runs} runs: not seeding again"));
                None
            }
        };
        if let Some(seconds) = self.block_time.filter(|_| fresh) {
            provider
                .anvil_set_interval_mining(seconds)
                .await
                .wrap_err("switching anvil to interval mining (--block-time)")?;
        }

        // 5. The index: drop what an earlier chain with this id left, then index and serve.
        clear_stale_index(&store, &provider, chain_id).await?;
        let head = provider.get_block_number().await.wrap_err("reading the chain head")?;
        let indexer_config = IndexerConfig {
            poll_interval: Duration::from_millis(250),
            request_timeout: Duration::from_secs(10),
            ..IndexerConfig::default()
        };
        let indexer = Indexer::new(
            runs_indexer::connect_http(rpc_url.clone()),
            store.clone(),
            &manifest,
            indexer_config,
        );
        let mut indexer = tokio::spawn(indexer.run(stopped(stop.clone())));
        // Webhooks (`runs webhook add`), to receivers on this machine too.
        let webhooks = runs_webhooks::Worker::new(
            store.clone(),
            chain_id,
            WorkerConfig { allow_private: true, ..WorkerConfig::default() },
        )
        .wrap_err("starting the webhook worker")?;
        let webhooks = tokio::spawn(webhooks.run(stopped(stop.clone())));

        let chain_head = ChainHead::default();
        chain_head.set(head);
        let poller = tokio::spawn(super::serve::poll_head(
            provider.clone(),
            chain_head.clone(),
            Duration::from_secs(1),
        ));

        let mut config = ApiConfig::new(chain_id);
        config.run_escrow = Some(manifest.contracts.run_escrow.address);
        let router = runs_api::router(ApiState::new(store.clone(), config, chain_head))
            .merge(crate::web::explorer(chain_id, Some(&manifest)));
        let listener =
            tokio::net::TcpListener::bind(self.api_listen).await.wrap_err_with(|| {
                format!("cannot listen on {} (in use? pass --api-listen)", self.api_listen)
            })?;
        let api_addr = listener.local_addr()?;
        let mut server = tokio::spawn(runs_api::serve(listener, router, stopped(stop.clone())));

        say(&format!("indexing up to block {head}"));
        let synced = wait_indexed(&store, chain_id, head, &mut indexer, stop).await;
        // A JoinHandle must not be awaited again once it has returned: remember which did.
        let (mut indexer_done, mut server_done) = (false, false);
        let outcome = match synced {
            Synced::Yes => {
                let urls = Urls {
                    rpc: &rpc_url,
                    api: api_addr,
                    database: database.database_url.as_deref().unwrap_or_default(),
                    manifest: &path,
                };
                let summary = Summary::new(&urls, &manifest, report.as_ref());
                if self.output.json {
                    println!("{}", serde_json::to_string(&summary)?);
                } else {
                    summary.print();
                }
                say("running; Ctrl-C stops");
                tokio::select! {
                    // A stop wins over the tasks ending because of it.
                    biased;
                    () = stopped(stop.clone()) => Ok(()),
                    // Both tasks end on the same stop: one that ends after it was set is a
                    // stop, whichever wakeup the select saw first.
                    result = &mut indexer => {
                        indexer_done = true;
                        if *stop.borrow() { Ok(()) } else { Err(task_error("the indexer", result)) }
                    }
                    result = &mut server => {
                        server_done = true;
                        if *stop.borrow() {
                            Ok(())
                        } else {
                            Err(task_error("the API server", result))
                        }
                    }
                }
            }
            Synced::Stopped => Ok(()),
            Synced::IndexerFailed(err) => {
                indexer_done = true;
                Err(err)
            }
        };

        say("stopping the API, the indexer and the webhook worker");
        // Everything watching `stop` winds down on its own once it is set; on an error nobody set
        // it, so the tasks are aborted instead.
        if outcome.is_err() {
            server.abort();
            indexer.abort();
            webhooks.abort();
        }
        poller.abort();
        let _ = tokio::time::timeout(STOP_TIMEOUT, webhooks).await;
        if !server_done {
            let _ = tokio::time::timeout(STOP_TIMEOUT, server).await;
        }
        if !indexer_done {
            let _ = tokio::time::timeout(STOP_TIMEOUT, indexer).await;
        }
        store.close().await;
        outcome
    }

    /// The deployment to use, and whether it was deployed now (see the module docs).
    async fn deployment(
        &self,
        provider: &DynProvider,
        chain_id: u64,
        path: &Path,
        fresh: bool,
    ) -> eyre::Result<(DeploymentManifest, bool)> {
        if path.is_file() && !fresh {
            let existing = DeploymentManifest::load(path)
                .wrap_err_with(|| format!("reading {}", path.display()))?;
            let code = provider
                .get_code_at(existing.contracts.run_escrow.address)
                .await
                .wrap_err("reading the RunEscrow code")?;
            if existing.chain_id == chain_id && !code.is_empty() {
                say(&format!("using the deployment in {}", path.display()));
                return Ok((existing, false));
            }
            say(&format!(
                "{} describes contracts that are not on this chain (an earlier node): replacing it",
                path.display()
            ));
        }
        let root = self.project_root()?;
        say("compiling the contracts (solc-js can take a minute)");
        let compile_root = root.clone();
        let contracts = tokio::task::spawn_blocking(move || runs_deployer::compile(&compile_root))
            .await
            .wrap_err("the compiler task failed")?
            .wrap_err_with(|| format!("compiling the contracts in {}", root.display()))?;
        say(&format!("deploying MockUSDC, StakeVault and RunEscrow to chain {chain_id}"));
        let config = DeployConfig {
            usdc: UsdcSource::DeployMock,
            commit: super::deploy::git_commit(&root),
            ..DeployConfig::default()
        };
        let deployer = runs_seed::dev_signers()[0].address();
        let manifest = runs_deployer::deploy(provider, deployer, &contracts, &config)
            .await
            .wrap_err_with(|| format!("deploying to chain {chain_id}"))?;
        manifest.save(path).wrap_err_with(|| format!("writing {}", path.display()))?;
        say(&format!("wrote {}", path.display()));
        Ok((manifest, true))
    }

    fn anvil_binary(&self) -> PathBuf {
        if let Some(path) = &self.anvil {
            return path.clone();
        }
        self.project_root()
            .ok()
            .map(|root| root.join(".bin/anvil"))
            .filter(|path| path.is_file())
            .unwrap_or_else(|| PathBuf::from("anvil"))
    }

    fn project_root(&self) -> eyre::Result<PathBuf> {
        super::deploy::project_root(self.project.as_deref(), "devnet")
    }
}

/// Where the running pieces are.
struct Urls<'a> {
    rpc: &'a Url,
    api: SocketAddr,
    database: &'a str,
    manifest: &'a Path,
}

/// What `runs devnet` prints once it is up, built once: `--json` prints it as one object, the
/// text output line by line ([`Summary::print`]).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct Summary {
    chain_id: u64,
    rpc_url: String,
    api_url: String,
    /// The web explorer (`/` of the API's server).
    explorer_url: String,
    /// The database URL, its password masked.
    database: String,
    /// The deployment manifest's path.
    deployment: String,
    contracts: Contracts,
    #[serde(serialize_with = "checksummed")]
    arbitrator: Address,
    /// Seconds the arbitrator has to rule on a dispute.
    ruling_period: u64,
    #[serde(serialize_with = "checksummed")]
    treasury: Address,
    /// What the seed created (nothing with `--no-seed` or on an already seeded chain).
    seeded: Option<Seeded>,
}

#[derive(Debug, Serialize)]
struct Contracts {
    #[serde(rename = "StakeVault", serialize_with = "checksummed")]
    stake_vault: Address,
    #[serde(rename = "RunEscrow", serialize_with = "checksummed")]
    run_escrow: Address,
    #[serde(rename = "USDC", serialize_with = "checksummed")]
    usdc: Address,
}

#[derive(Debug, Serialize)]
struct Seeded {
    posters: Vec<SeededPoster>,
    agents: Vec<SeededAgent>,
    runs: Vec<SeededRun>,
}

#[derive(Debug, Serialize)]
struct SeededPoster {
    name: &'static str,
    /// Its index among Anvil's dev accounts.
    account: usize,
    #[serde(serialize_with = "checksummed")]
    wallet: Address,
}

#[derive(Debug, Serialize)]
struct SeededAgent {
    id: u64,
    name: &'static str,
    #[serde(serialize_with = "checksummed")]
    wallet: Address,
    status: AgentStatus,
}

#[derive(Debug, Serialize)]
struct SeededRun {
    id: u64,
    title: &'static str,
    state: RunState,
    settled: bool,
}

/// The seed's posters, by dev account (1-3).
const POSTERS: [&str; 3] = ["alice", "bob", "carol"];

impl Summary {
    fn new(urls: &Urls<'_>, manifest: &DeploymentManifest, report: Option<&SeedReport>) -> Self {
        let signers = runs_seed::dev_signers();
        let seeded = report.map(|report| Seeded {
            posters: POSTERS
                .iter()
                .enumerate()
                .map(|(i, &name)| SeededPoster {
                    name,
                    account: i + 1,
                    wallet: signers[i + 1].address(),
                })
                .collect(),
            agents: report
                .agents
                .iter()
                .map(|a| SeededAgent {
                    id: a.id.get(),
                    name: a.name,
                    wallet: a.wallet,
                    status: a.status,
                })
                .collect(),
            runs: report
                .runs
                .iter()
                .map(|run| SeededRun {
                    id: run.id.get(),
                    title: run.title,
                    state: run.state,
                    settled: run.settled,
                })
                .collect(),
        });
        Self {
            chain_id: manifest.chain_id,
            rpc_url: urls.rpc.as_str().trim_end_matches('/').to_owned(),
            api_url: format!("http://{}", urls.api),
            explorer_url: format!("http://{}/", urls.api),
            database: redact_url(urls.database),
            deployment: urls.manifest.display().to_string(),
            contracts: Contracts {
                stake_vault: manifest.contracts.stake_vault.address,
                run_escrow: manifest.contracts.run_escrow.address,
                usdc: manifest.usdc,
            },
            arbitrator: manifest.parameters.arbitrator,
            ruling_period: manifest.parameters.ruling_period,
            treasury: manifest.parameters.treasury,
            seeded,
        }
    }

    /// The seeded runs in `state`.
    fn runs_in(&self, state: RunState) -> impl Iterator<Item = &SeededRun> {
        self.seeded.iter().flat_map(|s| &s.runs).filter(move |run| run.state == state)
    }

    /// The text form: where everything is, what was seeded, what to try. Stdout only.
    fn print(&self) {
        let api = &self.api_url;
        let c = &self.contracts;
        println!("runs devnet is up on chain {}", self.chain_id);
        println!("  explorer    {}  (open it in a browser)", self.explorer_url);
        println!("  RPC         {}", self.rpc_url);
        println!("  API         {api}");
        println!("  OpenAPI     {api}/api/openapi.json");
        println!("  database    {}", self.database);
        println!("  deployment  {}", self.deployment);
        println!("  StakeVault  {}", c.stake_vault);
        println!("  RunEscrow   {}", c.run_escrow);
        println!("  MockUSDC    {}", c.usdc);
        println!(
            "  accounts    Anvil's dev accounts; 0 deployed (owner, arbitrator), 1-9 hold MockUSDC"
        );
        println!(
            "  arbitrator  {}  rules on disputes within {} (`runs arbiter resolve`)",
            self.arbitrator,
            crate::output::duration(self.ruling_period)
        );
        println!("  treasury    {}", self.treasury);
        if let Some(seeded) = &self.seeded {
            for poster in &seeded.posters {
                println!(
                    "  poster      {:<7} account {}  {}",
                    poster.name, poster.account, poster.wallet
                );
            }
            for agent in &seeded.agents {
                println!(
                    "  agent {:<4}  {:<7} {:<12} {}",
                    agent.id,
                    agent.name,
                    agent.status.as_str(),
                    agent.wallet
                );
            }
            let mut states = Vec::new();
            for state in RunState::ALL {
                let n = self.runs_in(*state).count();
                let open = self.runs_in(*state).filter(|run| !run.settled).count();
                match (n, *state) {
                    (0, _) => {}
                    (_, RunState::Rejected) => states.push(format!("{n} {state} ({open} open)")),
                    _ => states.push(format!("{n} {state}")),
                }
            }
            println!("  runs        {} seeded: {}", seeded.runs.len(), states.join(", "));
        }
        let example_run = self.runs_in(RunState::Open).last().map_or(1, |run| run.id);
        println!();
        println!("try:");
        println!("  curl {api}/health");
        println!("  curl '{api}/api/runs?state=OPEN&limit=5'");
        println!("  curl '{api}/api/runs?sort=reward&order=desc&minReward=100'");
        println!("  curl {api}/api/runs/{example_run}");
        println!("  curl '{api}/api/runs/{example_run}/claim-eligibility?agentId=2'");
        println!("  curl {api}/api/agents");
        println!("  curl {api}/api/agents/1");
        let rpc = &self.rpc_url;
        println!("  runs run show {example_run} --rpc-url {rpc}");
        println!("  runs watch --api-url {api}");
        println!(
            "  runs webhook add http://127.0.0.1:8000/hook --allow-private --database-url {}",
            self.database
        );
        if let Some(disputed) = self.runs_in(RunState::Disputed).next() {
            println!(
                "  runs arbiter resolve {} --agent-share 50 --rpc-url {rpc} --private-key \
                 <account 0's key>",
                disputed.id
            );
        }
        println!();
        println!("Ctrl-C stops the API, the indexer, the webhook worker and anvil.");
    }
}

/// Serializes an address in its checksummed form (serde's default is lower case).
fn checksummed<S: serde::Serializer>(address: &Address, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(address)
}

/// Starts anvil on 127.0.0.1:`port` (chain 31337, Anvil's ten funded dev accounts). Blocking.
fn spawn_anvil(bin: &Path, port: u16) -> eyre::Result<AnvilInstance> {
    // Anvil that cannot bind exits, and alloy then waits out its whole start-up timeout: check
    // first, to say what is wrong at once.
    if port != 0 && std::net::TcpListener::bind(("127.0.0.1", port)).is_err() {
        bail!(
            "port {port} on 127.0.0.1 is in use (another anvil?): pass --port N (0 for any free \
             port), or --rpc-url to use the node that is there"
        );
    }
    Anvil::new()
        .path(bin)
        .host("127.0.0.1")
        .port(port)
        .chain_id(DEV_CHAIN_ID)
        .timeout(30_000)
        .try_spawn()
        .map_err(|err| {
            eyre!("cannot start anvil ({}): {err}", bin.display()).wrap_err(
                "install Foundry (script/setup puts anvil in .bin/), or pass --anvil PATH",
            )
        })
}

/// If `store` holds an index of `chain_id` whose checkpoint block is not on this chain (an earlier
/// devnet node with the same chain id), remove it, so the indexer starts from scratch instead of
/// seeing a reorg deeper than its window.
async fn clear_stale_index(
    store: &Store,
    provider: &DynProvider,
    chain_id: u64,
) -> eyre::Result<()> {
    let Some(checkpoint) = store.checkpoint(chain_id).await? else { return Ok(()) };
    let on_chain = provider
        .get_block_by_number(checkpoint.number.into())
        .await
        .wrap_err("reading the checkpoint block")?;
    if on_chain.is_some_and(|block| block.header.hash == checkpoint.hash) {
        return Ok(());
    }
    let genesis = provider
        .get_block_by_number(0.into())
        .await
        .wrap_err("reading the genesis block")?
        .ok_or_else(|| eyre!("the node has no genesis block"))?;
    let Some(lock) = store.try_lock_writer(chain_id).await? else {
        bail!(
            "another indexer is writing chain {chain_id} in this database: stop it, or pass \
             another --database-url"
        );
    };
    let genesis = BlockRef {
        number: 0,
        hash: genesis.header.hash,
        parent_hash: genesis.header.parent_hash,
        timestamp: genesis.header.timestamp,
    };
    // Rolling back to this chain's genesis deletes every event and row of the old chain and
    // leaves a checkpoint the new chain extends.
    let stats = store.rollback_to(chain_id, &genesis).await?;
    lock.release().await?;
    say(&format!(
        "cleared an index of an earlier chain {chain_id} from the database ({} events)",
        stats.events_deleted
    ));
    Ok(())
}

/// How waiting for the first full index ended.
enum Synced {
    Yes,
    Stopped,
    IndexerFailed(eyre::Report),
}

/// Waits until the indexer has committed `head` (or [`SYNC_TIMEOUT`] passes: it carries on in the
/// background then).
async fn wait_indexed(
    store: &Store,
    chain_id: u64,
    head: u64,
    indexer: &mut tokio::task::JoinHandle<runs_indexer::Result<()>>,
    stop: &watch::Receiver<bool>,
) -> Synced {
    let started = Instant::now();
    loop {
        if *stop.borrow() {
            return Synced::Stopped;
        }
        if indexer.is_finished() {
            // A stop set between the check above and this one also ends the indexer.
            if *stop.borrow() {
                return Synced::Stopped;
            }
            return Synced::IndexerFailed(task_error("the indexer", indexer.await));
        }
        if let Ok(Some(checkpoint)) = store.checkpoint(chain_id).await
            && checkpoint.number >= head
        {
            return Synced::Yes;
        }
        if started.elapsed() > SYNC_TIMEOUT {
            tracing::warn!(target: "runs::devnet", head, "the indexer has not reached the head yet");
            return Synced::Yes;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A background task's end as an error (it should only end when asked to stop).
fn task_error<E: Into<eyre::Report>>(
    what: &str,
    result: Result<Result<(), E>, tokio::task::JoinError>,
) -> eyre::Report {
    match result {
        Ok(Ok(())) => eyre!("{what} stopped unexpectedly"),
        Ok(Err(err)) => err.into().wrap_err(format!("{what} failed")),
        Err(err) => eyre!("{what} panicked: {err}"),
    }
}

/// Runs `work` unless a stop is requested first (then `None`; `work` is dropped).
async fn unless_stopped<T>(
    stop: &watch::Receiver<bool>,
    work: impl Future<Output = T>,
) -> Option<T> {
    tokio::select! {
        biased;
        () = stopped(stop.clone()) => None,
        out = work => Some(out),
    }
}

/// Completes once a stop is requested.
async fn stopped(mut stop: watch::Receiver<bool>) {
    // An error means the sender is gone, which only happens after it has sent.
    let _ = stop.wait_for(|s| *s).await;
}

/// A progress line on stderr (stdout carries only the result).
fn say(message: &str) {
    let _ = writeln!(std::io::stderr(), "devnet: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_json_summary_keeps_its_keys_and_checksummed_addresses() {
        let wallet = runs_seed::dev_signers()[1].address();
        let summary = Summary {
            chain_id: 31337,
            rpc_url: "http://127.0.0.1:8545".into(),
            api_url: "http://127.0.0.1:3000".into(),
            explorer_url: "http://127.0.0.1:3000/".into(),
            database: "sqlite://.runs/devnet-31337.db".into(),
            deployment: "deployments/31337.json".into(),
            contracts: Contracts { stake_vault: wallet, run_escrow: wallet, usdc: wallet },
            arbitrator: wallet,
            ruling_period: 1_209_600,
            treasury: wallet,
            seeded: Some(Seeded {
                posters: vec![SeededPoster { name: "alice", account: 1, wallet }],
                agents: vec![SeededAgent {
                    id: 1,
                    name: "atlas",
                    wallet,
                    status: AgentStatus::Established,
                }],
                runs: vec![SeededRun {
                    id: 3,
                    title: "logo",
                    state: RunState::Rejected,
                    settled: false,
                }],
            }),
        };
        let json = serde_json::to_value(&summary).unwrap();
        let checksummed = wallet.to_checksum(None);
        for key in
            ["chainId", "rpcUrl", "apiUrl", "explorerUrl", "database", "deployment", "treasury"]
        {
            assert!(json.get(key).is_some(), "{key}: {json}");
        }
        assert_eq!(json["contracts"]["RunEscrow"], checksummed.as_str());
        assert_eq!(json["contracts"]["USDC"], checksummed.as_str());
        assert_eq!(json["arbitrator"], checksummed.as_str());
        assert_eq!(json["seeded"]["agents"][0]["status"], "ESTABLISHED");
        assert_eq!(json["seeded"]["agents"][0]["wallet"], checksummed.as_str());
        assert_eq!(json["seeded"]["runs"][0]["state"], "REJECTED");
        assert_eq!(json["seeded"]["runs"][0]["settled"], false);
    }
}
