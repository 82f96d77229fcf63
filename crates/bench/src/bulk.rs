//! Generating a large chain fast: `tests/mocks/BulkPoster.sol` creates and funds many runs in one
//! transaction, so a million events are a few thousand transactions for anvil to mine instead of
//! half a million to sign, pool and receipt. (What made generation quadratic, anvil's state root on
//! every block, is avoided by forking: `bench/anvil.sh --fork-empty`.)

use std::path::Path;

use alloy::{
    eips::BlockNumberOrTag,
    network::TransactionBuilder,
    primitives::{Address, Bytes, U256},
    providers::{DynProvider, Provider, ext::AnvilApi},
    rpc::types::TransactionRequest,
    sol,
    sol_types::SolValue,
};
use eyre::{WrapErr, ensure, eyre};
use runs_primitives::{DeploymentManifest, Usdc};

sol! {
    #[sol(rpc)]
    contract BulkPoster {
        function post(uint256 first, uint256 count, uint256 reward, uint256 deadline) external;
    }
}

/// Where `forge build tests/mocks/BulkPoster.sol` (bench/indexer.sh) leaves the artifact.
const ARTIFACT: &str = "out/BulkPoster.sol/BulkPoster.json";

/// Gas of one `createAndFund` inside `post`, with room (the gas report measures ~156k).
const GAS_PER_RUN: u64 = 250_000;

/// Reward of every run, in base units (1 USDC).
const REWARD: u64 = 1_000_000;

/// Creates and funds `runs` runs through a fresh `BulkPoster` deployed and driven from `from`, its
/// USDC minted by `owner` (MockUSDC's owner): one `post` of `per_block` runs per block, then
/// `empty` empty blocks. Each run emits `RunCreated` and `RunFunded`, exactly as a wallet's
/// `createAndFund` does.
pub(crate) async fn post_runs(
    provider: &DynProvider,
    manifest: &DeploymentManifest,
    root: &Path,
    (owner, from): (Address, Address),
    runs: u64,
    (per_block, empty): (u64, u64),
) -> eyre::Result<()> {
    let escrow = manifest.contracts.run_escrow.address;
    let usdc = manifest.usdc;
    let mock = manifest.contracts.mock_usdc.ok_or_else(|| eyre!("no MockUSDC deployed"))?;
    let poster = deploy(provider, root, from, escrow, usdc).await?;
    // Reward + at most a 100% fee for every run, in whole USDC, rounded up.
    let needed = Usdc::whole(runs.saturating_mul(2 * REWARD).div_ceil(1_000_000) + 1);
    runs_deployer::mint_mock_usdc(provider, owner, mock.address, &[(poster, needed)])
        .await
        .wrap_err("minting the bulk poster's USDC")?;

    let latest = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await?
        .ok_or_else(|| eyre!("no latest block"))?;
    let deadline = U256::from(latest.header.timestamp + 90 * 86_400);
    let bulk = BulkPoster::new(poster, provider);
    let mut sent = 0u64;
    while sent < runs {
        let count = per_block.min(runs - sent);
        let receipt = bulk
            .post(U256::from(sent), U256::from(count), U256::from(REWARD), deadline)
            .from(from)
            .gas(count * GAS_PER_RUN + 100_000)
            .send()
            .await
            .wrap_err("sending BulkPoster.post")?
            .get_receipt()
            .await?;
        ensure!(receipt.status(), "BulkPoster.post of runs {sent}.. reverted: {receipt:?}");
        sent += count;
        if empty > 0 {
            provider.anvil_mine(Some(empty), None).await?;
        }
    }
    Ok(())
}

/// Deploys `BulkPoster(escrow, usdc)` from the artifact `forge build` wrote under `root`.
async fn deploy(
    provider: &DynProvider,
    root: &Path,
    from: Address,
    escrow: Address,
    usdc: Address,
) -> eyre::Result<Address> {
    let path = root.join(ARTIFACT);
    let artifact: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).wrap_err_with(|| {
            format!("reading {} (forge build tests/mocks/BulkPoster.sol)", path.display())
        })?)?;
    let code = artifact["bytecode"]["object"]
        .as_str()
        .ok_or_else(|| eyre!("{} has no bytecode.object", path.display()))?;
    let mut code: Vec<u8> = code.parse::<Bytes>()?.into();
    code.extend((escrow, usdc).abi_encode_params());
    let request = TransactionRequest::default().with_from(from).with_deploy_code(code);
    let receipt = provider.send_transaction(request).await?.get_receipt().await?;
    ensure!(receipt.status(), "deploying BulkPoster reverted");
    receipt.contract_address.ok_or_else(|| eyre!("BulkPoster deployment has no address"))
}
