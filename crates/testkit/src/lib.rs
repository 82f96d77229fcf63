//! Test helpers for the toolkit's integration tests (a dev-dependency only, never shipped):
//! a throwaway Anvil per test and a fresh deployment of the marketplace on it.
//!
//! ```no_run
//! # async fn example() {
//! let anvil = runs_testkit::spawn_anvil();
//! let deployment = runs_testkit::deploy_fresh(&anvil).await;
//! // Account 1 already holds 10 000 MockUSDC; sign as it:
//! let agent = runs_testkit::provider_for(&anvil, 1);
//! let vault = runs_bindings::StakeVault::new(deployment.manifest.contracts.stake_vault.address, &agent);
//! # }
//! ```
//!
//! - [`spawn_anvil`] starts Anvil on a port the OS picks (tests run in parallel), from the
//!   repository's `.bin/anvil` or else `anvil` on `PATH`; it is killed when the handle drops.
//! - [`deploy_fresh`] deploys MockUSDC, StakeVault and RunEscrow with the SPEC defaults from
//!   account 0 (owner and arbitrator) and mints [`FUNDED_USDC`] to accounts 1..=9. The contracts are
//!   compiled once per test process (solc-js is slow) and reused for every deployment.
//! - [`provider_for`] / [`signer`] / [`key_hex`] sign as one of Anvil's ten funded accounts.
//! - [`TestDatabase`] is a throwaway Postgres database or SQLite file for one test.
//! - [`create_and_fund_bulk`] fills blocks with `createAndFund`s (thousands of events fast).

mod bulk;
mod database;

pub use bulk::create_and_fund_bulk;
pub use database::{Backend, PG_ADMIN_URL, TestDatabase, TestDb};

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use alloy::{
    node_bindings::Anvil,
    primitives::Address,
    providers::{DynProvider, Provider, ProviderBuilder, ext::AnvilApi},
    signers::local::PrivateKeySigner,
};
use runs_deployer::{CompiledContracts, DeployConfig};
use runs_primitives::{DeploymentManifest, Usdc};

/// Re-exported so that tests need not name `alloy::node_bindings`.
pub use alloy::node_bindings::AnvilInstance;

/// How much MockUSDC [`deploy_fresh`] mints to each of accounts 1..=9.
pub const FUNDED_USDC: u64 = 10_000;

/// Accounts Anvil funds (with ETH) by default: indices `0..ACCOUNTS`.
pub const ACCOUNTS: usize = 10;

/// A fresh deployment on a test Anvil.
#[derive(Debug, Clone)]
pub struct Deployment {
    /// The manifest `runs deploy` would have written (commit `"test"`).
    pub manifest: DeploymentManifest,
    /// The deployer: account 0, also owner, arbitrator and MockUSDC owner (it can mint more); the
    /// treasury is the keyless `runs_deployer::DEV_TREASURY`, since an arbitrator may not be it.
    pub deployer: PrivateKeySigner,
    /// Accounts 1..=9, each holding [`FUNDED_USDC`] MockUSDC and Anvil's 10 000 ETH.
    pub funded: Vec<PrivateKeySigner>,
}

/// The repository root (the directory of `foundry.toml`).
pub fn repo_root() -> PathBuf {
    // This crate lives at <root>/crates/testkit.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The anvil binary: the repository's `.bin/anvil` (installed by script/setup), else `anvil`
/// from `PATH`.
pub fn anvil_binary() -> PathBuf {
    let local = repo_root().join(".bin/anvil");
    if local.exists() { local } else { PathBuf::from("anvil") }
}

/// The forge binary, found like [`anvil_binary`].
pub fn forge_binary() -> PathBuf {
    let local = repo_root().join(".bin/forge");
    if local.exists() { local } else { PathBuf::from("forge") }
}

/// Starts an Anvil (chain id 31337, ten funded accounts, automine) on a free port. Killed on drop.
///
/// # Panics
/// If anvil cannot be started (run script/setup).
pub fn spawn_anvil() -> AnvilInstance {
    Anvil::new().path(anvil_binary()).try_spawn().unwrap_or_else(|err| {
        panic!("cannot start anvil ({}): {err}; run script/setup", anvil_binary().display())
    })
}

/// Like [`spawn_anvil`] with another chain id (e.g. one with no known USDC).
///
/// # Panics
/// If anvil cannot be started.
pub fn spawn_anvil_with_chain_id(chain_id: u64) -> AnvilInstance {
    Anvil::new().path(anvil_binary()).chain_id(chain_id).try_spawn().unwrap_or_else(|err| {
        panic!("cannot start anvil ({}): {err}; run script/setup", anvil_binary().display())
    })
}

/// The RPC URL of `anvil`, as a string for CLI flags (`--rpc-url`).
pub fn rpc_url(anvil: &AnvilInstance) -> String {
    anvil.endpoint()
}

/// Anvil's account `index` (0..10) as a signer.
///
/// # Panics
/// If `index` is not one of Anvil's accounts.
pub fn signer(anvil: &AnvilInstance, index: usize) -> PrivateKeySigner {
    let key = anvil.nth_key(index).unwrap_or_else(|| panic!("anvil has no account {index}"));
    PrivateKeySigner::from(key.clone())
}

/// Anvil's account `index` private key as `0x…` hex, for `--private-key` / `PRIVATE_KEY`.
pub fn key_hex(anvil: &AnvilInstance, index: usize) -> String {
    format!("0x{}", alloy::hex::encode(signer(anvil, index).to_bytes()))
}

/// Anvil's account `index` address.
pub fn address(anvil: &AnvilInstance, index: usize) -> Address {
    signer(anvil, index).address()
}

/// A provider on `anvil` that signs as account `index` (and reads as anyone).
///
/// The same provider the CLI and the seed sign with ([`runs_bindings::signing_provider`]): it asks
/// the node for the nonce of every transaction, so the failures tests provoke on purpose leave no
/// nonce gap.
pub fn provider_for(anvil: &AnvilInstance, index: usize) -> DynProvider {
    runs_bindings::signing_provider(anvil.endpoint_url(), signer(anvil, index))
}

/// A provider on `anvil` that signs for nobody (reads, and Anvil's own methods such as
/// `evm_increaseTime` through [`AnvilApi`]).
pub fn read_provider(anvil: &AnvilInstance) -> DynProvider {
    ProviderBuilder::new().connect_http(anvil.endpoint_url()).erased()
}

/// The contracts compiled from this checkout, once per test process.
///
/// # Panics
/// If they do not compile (or the compiler is missing: run script/setup).
pub fn compiled() -> &'static CompiledContracts {
    static COMPILED: OnceLock<CompiledContracts> = OnceLock::new();
    COMPILED.get_or_init(|| {
        runs_deployer::compile(&repo_root())
            .unwrap_or_else(|err| panic!("compiling the contracts: {err}"))
    })
}

/// Deploys the marketplace on `anvil` with the SPEC defaults from account 0 and funds accounts
/// 1..=9 with [`FUNDED_USDC`] MockUSDC each. See [`Deployment`].
///
/// # Panics
/// On any failure: this is test set-up.
pub async fn deploy_fresh(anvil: &AnvilInstance) -> Deployment {
    deploy_with(anvil, DeployConfig { commit: "test".into(), ..DeployConfig::default() }).await
}

/// [`deploy_fresh`] with a different configuration (parameters, owner, ...); the USDC is still a
/// MockUSDC funded as in [`deploy_fresh`] unless `config.usdc` says otherwise (then nobody is
/// funded).
///
/// # Panics
/// On any failure: this is test set-up.
pub async fn deploy_with(anvil: &AnvilInstance, config: DeployConfig) -> Deployment {
    // Compiling is blocking and slow; keep it off the async runtime's worker.
    let contracts = tokio::task::spawn_blocking(compiled).await.expect("compile task");
    let deployer = signer(anvil, 0);
    let provider = provider_for(anvil, 0);
    let manifest = runs_deployer::deploy(&provider, deployer.address(), contracts, &config)
        .await
        .unwrap_or_else(|err| panic!("deploying on anvil: {err}"));
    let funded: Vec<_> = (1..ACCOUNTS).map(|index| signer(anvil, index)).collect();
    if let Some(mock) = manifest.contracts.mock_usdc {
        let recipients: Vec<_> =
            funded.iter().map(|signer| (signer.address(), Usdc::whole(FUNDED_USDC))).collect();
        runs_deployer::mint_mock_usdc(&provider, deployer.address(), mock.address, &recipients)
            .await
            .unwrap_or_else(|err| panic!("funding the test accounts: {err}"));
    }
    Deployment { manifest, deployer, funded }
}

/// Asserts that `manifest` describes what is on `anvil`: code at every address, the vault bound
/// to the escrow, both using the manifest's USDC, and every parameter, the treasury and the owner
/// as recorded (the vault's owner may be pending: `pendingOwner` then).
///
/// # Panics
/// When anything differs.
pub async fn assert_manifest_matches_chain(anvil: &AnvilInstance, manifest: &DeploymentManifest) {
    use runs_bindings::{RunEscrow, StakeVault};
    let provider = read_provider(anvil);
    assert_eq!(provider.get_chain_id().await.unwrap(), manifest.chain_id, "chain id");
    let contracts = &manifest.contracts;
    let mut addresses = vec![contracts.stake_vault.address, contracts.run_escrow.address];
    addresses.extend(contracts.mock_usdc.map(|mock| mock.address));
    for address in addresses {
        assert!(!provider.get_code_at(address).await.unwrap().is_empty(), "no code at {address}");
    }
    for contract in
        [contracts.stake_vault, contracts.run_escrow].into_iter().chain(contracts.mock_usdc)
    {
        if contract.tx_hash != alloy::primitives::B256::ZERO {
            let receipt =
                provider.get_transaction_receipt(contract.tx_hash).await.unwrap().expect("receipt");
            assert_eq!(
                receipt.contract_address,
                Some(contract.address),
                "txHash of {}",
                contract.address
            );
            assert_eq!(
                receipt.block_number,
                Some(contract.block_number),
                "blockNumber of {}",
                contract.address
            );
        }
    }

    let p = &manifest.parameters;
    let vault = StakeVault::new(contracts.stake_vault.address, &provider);
    let escrow = RunEscrow::new(contracts.run_escrow.address, &provider);
    assert_eq!(
        vault.runEscrow().call().await.unwrap(),
        contracts.run_escrow.address,
        "vault bound"
    );
    assert_eq!(escrow.stakeVault().call().await.unwrap(), contracts.stake_vault.address);
    assert_eq!(vault.usdc().call().await.unwrap(), manifest.usdc, "vault USDC");
    assert_eq!(escrow.usdc().call().await.unwrap(), manifest.usdc, "escrow USDC");
    assert_eq!(escrow.treasury().call().await.unwrap(), p.treasury, "treasury");
    assert_eq!(escrow.owner().call().await.unwrap(), p.owner, "escrow owner");
    let vault_owner = vault.owner().call().await.unwrap();
    if vault_owner != p.owner {
        assert_eq!(vault.pendingOwner().call().await.unwrap(), p.owner, "vault (pending) owner");
    }

    let terms = escrow.parameters().call().await.unwrap().terms;
    assert_eq!(terms.feeBps, p.fee_bps, "feeBps");
    assert_eq!(u64::from(terms.claimTimeout), p.claim_timeout, "claimTimeout");
    assert_eq!(u64::from(terms.reviewPeriod), p.review_period, "reviewPeriod");
    assert_eq!(u64::from(terms.disputeWindow), p.dispute_window, "disputeWindow");
    assert_eq!(u64::from(terms.rulingPeriod), p.ruling_period, "rulingPeriod");
    assert_eq!(terms.arbitrator, p.arbitrator, "arbitrator");
    assert_eq!(
        alloy::primitives::U256::from(terms.minStake),
        p.min_stake.base_units(),
        "terms minStake"
    );
    let v = vault.parameters().call().await.unwrap();
    assert_eq!(alloy::primitives::U256::from(v.minStake), p.min_stake.base_units(), "minStake");
    assert_eq!(u64::from(v.unstakeCooldown), p.unstake_cooldown, "unstakeCooldown");
    assert_eq!(u32::from(v.strikesToBan), p.strikes_to_ban, "strikesToBan");
    assert_eq!(
        u32::from(v.establishedCompletions),
        p.established_completions,
        "establishedCompletions"
    );
    assert_eq!(u64::from(v.establishedAge), p.established_age, "establishedAge");
}

/// Moves Anvil's clock forward by `seconds` and mines a block, so the next transaction sees it.
pub async fn increase_time(anvil: &AnvilInstance, seconds: u64) {
    let provider = read_provider(anvil);
    provider.anvil_increase_time(seconds).await.expect("evm_increaseTime");
    provider.anvil_mine(Some(1), None).await.expect("evm_mine");
}
