//! Many events fast: `createAndFund` transactions in full blocks (the indexer's crash tests and
//! its benchmark).

use alloy::{
    eips::BlockNumberOrTag,
    network::TransactionBuilder,
    primitives::{Address, B256, U256},
    providers::{DynProvider, Provider, ext::AnvilApi},
};
use eyre::{WrapErr, bail, eyre};
use runs_bindings::{MockUSDC, RECEIPT_TIMEOUT, RunEscrow};
use runs_primitives::DeploymentManifest;

/// Approves the escrow for every poster (unlocked accounts of the node), then sends `runs`
/// `createAndFund` transactions,
/// `per_block` per block: each block's transactions go as one JSON-RPC batch of
/// `eth_sendTransaction` with explicit nonces and gas (no estimation), then one `evm_mine`, then
/// `empty` empty blocks.
pub async fn create_and_fund_bulk(
    provider: &DynProvider,
    manifest: &DeploymentManifest,
    posters: &[Address],
    runs: u64,
    (per_block, empty): (u64, u64),
) -> eyre::Result<()> {
    let escrow_address = manifest.contracts.run_escrow.address;
    let usdc = MockUSDC::new(manifest.usdc, provider);
    for &poster in posters {
        let approve = usdc.approve(escrow_address, U256::MAX).from(poster);
        runs_bindings::send(provider, approve.into_transaction_request(), RECEIPT_TIMEOUT)
            .await
            .wrap_err_with(|| format!("approving the escrow for {poster}"))?;
    }
    let mut nonces = Vec::with_capacity(posters.len());
    for &poster in posters {
        nonces.push(provider.get_transaction_count(poster).await?);
    }
    let latest = provider
        .get_block_by_number(BlockNumberOrTag::Latest)
        .await?
        .ok_or_else(|| eyre!("no latest block"))?;
    let deadline = U256::from(latest.header.timestamp + 90 * 86_400);
    // Well above the base fee, which only falls in blocks far below the gas limit.
    let fee = provider.get_gas_price().await? * 4;
    let escrow = RunEscrow::new(escrow_address, provider);

    provider.anvil_set_auto_mine(false).await?;
    let mut sent = 0u64;
    while sent < runs {
        let count = per_block.min(runs - sent);
        let mut batch = alloy::rpc::client::BatchRequest::new(provider.client());
        let mut waiters = Vec::new();
        for i in sent..sent + count {
            let who = usize::try_from(i)? % posters.len();
            let request = escrow
                .createAndFund(
                    format!("ipfs://bench-{i}"),
                    U256::from(1_000_000u64),
                    deadline,
                    U256::from(1),
                    // The minimum as the required stake, under the current terms.
                    U256::ZERO,
                    U256::ZERO,
                )
                .into_transaction_request()
                .with_from(posters[who])
                .with_nonce(nonces[who])
                .with_gas_limit(400_000)
                .with_max_fee_per_gas(fee)
                .with_max_priority_fee_per_gas(1);
            nonces[who] += 1;
            waiters.push(batch.add_call::<_, B256>("eth_sendTransaction", &(request,))?);
        }
        batch.send().await?;
        for waiter in waiters {
            waiter.await.wrap_err("eth_sendTransaction")?;
        }
        provider.evm_mine(None).await?;
        let block = provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| eyre!("no latest block"))?;
        let mined = block.transactions.len() as u64;
        if mined != count {
            bail!(
                "block {} holds {mined} of {count} transactions: start anvil with a larger \
                 --gas-limit or lower --txs-per-block",
                block.header.number
            );
        }
        sent += count;
        if empty > 0 {
            provider.anvil_mine(Some(empty), None).await?;
        }
    }
    provider.anvil_set_auto_mine(true).await?;
    Ok(())
}
