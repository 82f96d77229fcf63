//! `runs deploy`: compiles the contracts from this checkout, deploys them and writes
//! `deployments/<chainId>.json`.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use alloy::primitives::Address;
use eyre::{WrapErr, bail};
use runs_deployer::{DEV_CHAIN_ID, DeployConfig, DeployParameters, UsdcSource};
use runs_primitives::{DeploymentManifest, Usdc};
use tracing::info;

use crate::args::{ManifestArgs, OutputArgs, RpcArgs, WalletArgs};

/// Deploy StakeVault and RunEscrow (and MockUSDC on the dev chain 31337), bind them, and write
/// the deployment manifest `<deployments>/<chainId>.json`.
///
/// Uses the chain's known USDC on Ethereum, Base, and their Sepolia testnets; `--usdc` elsewhere.
/// With `--owner` different from the deployer, RunEscrow is owned by OWNER from the start and
/// StakeVault is handed over with `transferOwnership`: OWNER must then call `acceptOwnership()`
/// on StakeVault (both contracts are Ownable2Step).
#[derive(Debug, clap::Args)]
pub(crate) struct DeployArgs {
    #[command(flatten)]
    rpc: RpcArgs,

    #[command(flatten)]
    wallet: WalletArgs,

    #[command(flatten)]
    manifest: ManifestArgs,

    #[command(flatten)]
    output: OutputArgs,

    /// USDC token to use instead of the chain's known USDC (required on chains without one).
    #[arg(long, env = "USDC", value_name = "ADDRESS")]
    usdc: Option<Address>,

    /// Deploy a MockUSDC (owned by the deployer) even on a chain other than 31337.
    #[arg(long, env = "RUNS_MOCK_USDC", conflicts_with = "usdc")]
    mock_usdc: bool,

    /// Owner of both contracts [default: the deployer].
    #[arg(long, env = "OWNER", value_name = "ADDRESS")]
    owner: Option<Address>,

    /// Where platform fees go [default: the deployer; on the dev chain, where the deployer is
    /// the arbitrator, the keyless address keccak256("runs.devnet.treasury")]. Never the
    /// arbitrator.
    #[arg(long, env = "TREASURY", value_name = "ADDRESS")]
    treasury: Option<Address>,

    /// Who rules on disputes of runs created under the initial terms [default: the deployer on
    /// the dev chain 31337; required elsewhere, ideally a contract that can rotate its keys, such
    /// as a Safe].
    #[arg(long, env = "ARBITRATOR", value_name = "ADDRESS")]
    arbitrator: Option<Address>,

    /// Platform fee in basis points, added on top of each reward (at most 1000).
    #[arg(long, env = "FEE_BPS", default_value_t = DeployParameters::default().fee_bps)]
    fee_bps: u16,

    /// Minimum stake to claim, in decimal USDC (e.g. 20 or 12.5).
    #[arg(long, env = "MIN_STAKE", default_value = "20", value_name = "USDC")]
    min_stake: Usdc,

    /// Time from a claim or revision request to the submission deadline: seconds, or a number
    /// with a unit (s, m, h, d, w), e.g. 7d.
    #[arg(long, env = "CLAIM_TIMEOUT", default_value = "7d", value_parser = parse_duration)]
    claim_timeout: u64,

    /// Time the poster has to decide on a submission (seconds or e.g. 7d).
    #[arg(long, env = "REVIEW_PERIOD", default_value = "7d", value_parser = parse_duration)]
    review_period: u64,

    /// Time from a rejection in which the agent may dispute it (1d .. 30d).
    #[arg(long, env = "DISPUTE_WINDOW", default_value = "3d", value_parser = parse_duration)]
    dispute_window: u64,

    /// Time from a dispute in which the arbitrator may rule; past it anyone settles the dispute
    /// 50/50 (1d .. 90d).
    #[arg(long, env = "RULING_PERIOD", default_value = "14d", value_parser = parse_duration)]
    ruling_period: u64,

    /// Time between requesting an unstake and withdrawing it (seconds or e.g. 7d).
    #[arg(long, env = "UNSTAKE_COOLDOWN", default_value = "7d", value_parser = parse_duration)]
    unstake_cooldown: u64,

    /// Slashes that ban an agent.
    #[arg(long, env = "STRIKES_TO_BAN", default_value_t = DeployParameters::default().strikes_to_ban)]
    strikes_to_ban: u32,

    /// Approved runs needed to become ESTABLISHED.
    #[arg(
        long,
        env = "ESTABLISHED_COMPLETIONS",
        default_value_t = DeployParameters::default().established_completions
    )]
    established_completions: u32,

    /// Time since first reaching the minimum stake needed to become ESTABLISHED (seconds or
    /// e.g. 30d).
    #[arg(long, env = "ESTABLISHED_AGE", default_value = "30d", value_parser = parse_duration)]
    established_age: u64,

    /// After deploying a MockUSDC, mint some to this address (repeatable), e.g. the poster and
    /// agent wallets of a local walk-through.
    #[arg(long, value_name = "ADDRESS")]
    mint_to: Vec<Address>,

    /// How much MockUSDC each --mint-to address gets, in decimal USDC.
    #[arg(long, default_value = "10000", value_name = "USDC")]
    mint_amount: Usdc,

    /// Overwrite an existing manifest for this chain. Flag only, deliberately without an
    /// environment variable: a stray variable must never replace a deployment's record.
    #[arg(long)]
    force: bool,

    /// The project to compile (the directory of foundry.toml) [default: the nearest one above the
    /// current directory, else the checkout this binary was built from].
    #[arg(long, env = "RUNS_PROJECT", value_name = "DIR")]
    project: Option<PathBuf>,
}

impl DeployArgs {
    pub(crate) async fn run(self) -> eyre::Result<()> {
        let root = self.project_root()?;
        let signer = self.wallet.signer()?;
        let deployer = signer.address();
        let (provider, chain_id) = self.rpc.connect_signing(signer).await?;

        // Every check that needs no transaction comes first, so a refusal costs nothing.
        let path = self.manifest.path(chain_id);
        if path.exists() && !self.force {
            bail!(
                "{} already exists: chain {chain_id} already has a deployment. Pass --force to \
                 deploy again and overwrite it (keep a copy if anything still uses it)",
                path.display()
            );
        }
        let usdc = match (self.usdc, self.mock_usdc) {
            (Some(usdc), _) => UsdcSource::Explicit(usdc),
            (None, true) => UsdcSource::DeployMock,
            (None, false) => {
                if chain_id != DEV_CHAIN_ID && runs_deployer::known_usdc(chain_id).is_none() {
                    bail!(
                        "chain {chain_id} has no known USDC: pass its address with --usdc ADDRESS \
                         (or USDC), or --mock-usdc for a test token"
                    );
                }
                UsdcSource::Auto
            }
        };
        let mints_mock = matches!(usdc, UsdcSource::DeployMock)
            || (matches!(usdc, UsdcSource::Auto) && chain_id == DEV_CHAIN_ID);
        if !self.mint_to.is_empty() && !mints_mock {
            bail!("--mint-to needs a MockUSDC deployment (chain {DEV_CHAIN_ID} or --mock-usdc)");
        }

        let config = DeployConfig {
            usdc,
            owner: self.owner,
            treasury: self.treasury,
            arbitrator: self.arbitrator,
            parameters: DeployParameters {
                fee_bps: self.fee_bps,
                min_stake: self.min_stake,
                claim_timeout: self.claim_timeout,
                review_period: self.review_period,
                dispute_window: self.dispute_window,
                ruling_period: self.ruling_period,
                unstake_cooldown: self.unstake_cooldown,
                strikes_to_ban: self.strikes_to_ban,
                established_completions: self.established_completions,
                established_age: self.established_age,
            },
            commit: git_commit(&root),
        };
        // The arbitrator and treasury are checked before the (slow) compilation.
        config.roles(chain_id, deployer)?;

        let compile_root = root.clone();
        let contracts = tokio::task::spawn_blocking(move || runs_deployer::compile(&compile_root))
            .await
            .wrap_err("the compiler task failed")?
            .wrap_err_with(|| format!("compiling the contracts in {}", root.display()))?;
        info!(target: "runs::deploy", chain_id, %deployer, solc = contracts.solc_version, "deploying");
        let manifest = runs_deployer::deploy(&provider, deployer, &contracts, &config)
            .await
            .wrap_err_with(|| format!("deploying to chain {chain_id}"))?;

        if let Some(mock) = manifest.contracts.mock_usdc
            && !self.mint_to.is_empty()
        {
            let recipients: Vec<_> =
                self.mint_to.iter().map(|&to| (to, self.mint_amount)).collect();
            runs_deployer::mint_mock_usdc(&provider, deployer, mock.address, &recipients)
                .await
                .wrap_err("minting MockUSDC")?;
        }

        manifest.save(&path)?;
        if self.output.json {
            println!("{}", manifest.to_json_pretty());
        } else {
            print_human(&manifest, deployer, &path, &self.mint_to, self.mint_amount);
        }
        Ok(())
    }

    fn project_root(&self) -> eyre::Result<PathBuf> {
        project_root(self.project.as_deref(), "deploy")
    }
}

/// `--project`, else the nearest foundry.toml above the current directory, else the checkout this
/// binary was built from (so `runs` run from anywhere still finds its contracts). `command` names
/// the subcommand in the error.
pub(crate) fn project_root(project: Option<&Path>, command: &str) -> eyre::Result<PathBuf> {
    if let Some(dir) = project {
        if !(dir.join("foundry.toml").is_file() && dir.join("contracts").is_dir()) {
            bail!("--project {}: no foundry.toml and contracts/ there", dir.display());
        }
        return Ok(dir.to_owned());
    }
    let cwd = std::env::current_dir().wrap_err("reading the current directory")?;
    let built_from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let built_from = built_from.canonicalize().unwrap_or(built_from);
    runs_deployer::find_project_root(&cwd)
        .or_else(|| runs_deployer::find_project_root(&built_from))
        .ok_or_else(|| {
            eyre::eyre!(
                "cannot find the contracts to compile: run runs {command} inside the runs \
                 checkout or pass --project DIR"
            )
        })
}

fn print_human(
    manifest: &DeploymentManifest,
    deployer: Address,
    path: &Path,
    minted: &[Address],
    amount: Usdc,
) {
    let contracts = &manifest.contracts;
    println!("deployed on chain {} (commit {})", manifest.chain_id, manifest.commit);
    if let Some(mock) = &contracts.mock_usdc {
        println!(
            "  MockUSDC    {}  block {}  tx {}",
            mock.address, mock.block_number, mock.tx_hash
        );
    } else {
        println!("  USDC        {}", manifest.usdc);
    }
    for (name, c) in [("StakeVault", &contracts.stake_vault), ("RunEscrow", &contracts.run_escrow)]
    {
        println!("  {name:<11} {}  block {}  tx {}", c.address, c.block_number, c.tx_hash);
    }
    let p = &manifest.parameters;
    println!(
        "  fee {} bps, min stake {} USDC, owner {}, treasury {}",
        p.fee_bps, p.min_stake, p.owner, p.treasury
    );
    println!(
        "  arbitrator {}: disputes within {} of a rejection, rulings within {}",
        p.arbitrator,
        crate::output::duration(p.dispute_window),
        crate::output::duration(p.ruling_period)
    );
    for to in minted {
        println!("  minted {amount} MockUSDC to {to}");
    }
    if p.owner != deployer {
        println!(
            "  StakeVault ownership is pending: {} must call acceptOwnership() on {}",
            p.owner, contracts.stake_vault.address
        );
    }
    println!("manifest written to {}", path.display());
}

/// `git rev-parse --short HEAD` in `root`, or `"unknown"` outside a git checkout (the manifest's
/// `commit`, for `runs deploy` and `runs devnet` alike).
pub(crate) fn git_commit(root: &Path) -> String {
    Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root)
        .output()
        .ok()
        .filter(|out| out.status.success())
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|commit| commit.trim().to_owned())
        .filter(|commit| !commit.is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

/// Seconds, or a whole number with a unit: `90`, `90s`, `15m`, `12h`, `7d`, `2w`.
fn parse_duration(input: &str) -> Result<u64, String> {
    let input = input.trim();
    let split = input.find(|c: char| !c.is_ascii_digit()).unwrap_or(input.len());
    let (number, unit) = input.split_at(split);
    let number: u64 = number.parse().map_err(|_| {
        format!("{input:?} is not a duration (seconds, or e.g. 90s, 15m, 12h, 7d, 2w)")
    })?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("unknown unit {unit:?} in {input:?} (use s, m, h, d or w)")),
    };
    number.checked_mul(scale).ok_or_else(|| format!("{input:?} is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_seconds_or_a_unit() {
        assert_eq!(parse_duration("604800"), Ok(604_800));
        assert_eq!(parse_duration("7d"), Ok(604_800));
        assert_eq!(parse_duration("90s"), Ok(90));
        assert_eq!(parse_duration("15m"), Ok(900));
        assert_eq!(parse_duration("12h"), Ok(43_200));
        assert_eq!(parse_duration("2w"), Ok(1_209_600));
        assert!(parse_duration("7 days").is_err());
        assert!(parse_duration("d").is_err());
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("99999999999999999999d").is_err());
    }
}
