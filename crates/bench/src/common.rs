//! What both benchmarks share: logging, a fresh deployment on the benchmark's anvil, and what
//! the numbers were measured on.

use alloy::{
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder},
    transports::http::reqwest::Url,
};
use eyre::{WrapErr, ensure, eyre};
use runs_deployer::DeployConfig;
use runs_primitives::{DeploymentManifest, Usdc};
use sqlx::Connection;

/// Logs to stderr (`RUST_LOG`, default `warn,runs::bench=info`); stdout carries the report.
pub(crate) fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,runs::bench=info")),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// On a fresh anvil at `rpc_url`: compiles and deploys the marketplace from account 0 and mints
/// a billion MockUSDC to every other account. Returns the provider (anvil's accounts are
/// unlocked: `eth_sendTransaction` signs on the node, no keys here), the accounts and the
/// deployment.
pub(crate) async fn deploy_market(
    rpc_url: &Url,
) -> eyre::Result<(DynProvider, Vec<Address>, DeploymentManifest)> {
    let provider = ProviderBuilder::new().connect_http(rpc_url.clone()).erased();
    let accounts = provider.get_accounts().await.wrap_err("is anvil running at --rpc-url?")?;
    ensure!(accounts.len() >= 2, "the node has {} unlocked accounts; need anvil", accounts.len());
    ensure!(
        provider.get_block_number().await? < 5,
        "the chain already has blocks: give the benchmark a fresh anvil"
    );
    let root = repo_root();
    let contracts = tokio::task::spawn_blocking(move || runs_deployer::compile(&root))
        .await?
        .wrap_err("compiling the contracts (run script/setup)")?;
    let config = DeployConfig { commit: "bench".into(), ..DeployConfig::default() };
    let manifest = runs_deployer::deploy(&provider, accounts[0], &contracts, &config).await?;
    let mock = manifest.contracts.mock_usdc.ok_or_else(|| eyre!("no MockUSDC deployed"))?;
    let funding: Vec<_> = accounts[1..].iter().map(|&p| (p, Usdc::whole(1_000_000_000))).collect();
    runs_deployer::mint_mock_usdc(&provider, accounts[0], mock.address, &funding).await?;
    Ok((provider, accounts, manifest))
}

/// The checkout whose contracts are compiled.
pub(crate) fn repo_root() -> std::path::PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|dir| runs_deployer::find_project_root(&dir))
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
}

/// A `kB` field of `/proc/<pid>/status` (`VmRSS`, `VmHWM`, …), in KiB.
pub(crate) fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// What the numbers were measured on.
pub(crate) struct Machine {
    pub(crate) cpu: String,
    pub(crate) cores: usize,
    pub(crate) node: String,
    pub(crate) postgres: String,
}

pub(crate) async fn machine(provider: &DynProvider, pg_url: &str) -> Machine {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let node = provider.get_client_version().await.unwrap_or_else(|_| "unknown node".into());
    let postgres = async {
        let mut conn = sqlx::PgConnection::connect(pg_url).await.ok()?;
        let (version,): (String,) =
            sqlx::query_as("SHOW server_version").fetch_one(&mut conn).await.ok()?;
        Some(version)
    }
    .await
    .unwrap_or_else(|| "unknown".into());
    Machine { cpu, cores, node, postgres }
}
