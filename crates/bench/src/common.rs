//! What both benchmarks share: the checkout to compile, and what the numbers were measured on.

use alloy::providers::{DynProvider, Provider};
use sqlx::Connection;

/// The checkout whose contracts are compiled.
pub(crate) fn repo_root() -> std::path::PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|dir| runs_deployer::find_project_root(&dir))
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."))
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
