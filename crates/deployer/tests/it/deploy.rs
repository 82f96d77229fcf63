//! Deploying through the library on Anvil: the manifest describes the chain, and every refusal
//! names what is wrong.

use alloy::primitives::{Address, address};
use runs_bindings::{MockUSDC, StakeVault};
use runs_deployer::{DEV_TREASURY, DeployConfig, DeployParameters, Error, UsdcSource};
use runs_primitives::{DeploymentManifest, Usdc};
use runs_testkit::FUNDED_USDC;

#[tokio::test]
async fn deploy_fresh_matches_the_chain_and_funds_the_accounts() {
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let m = &deployment.manifest;
    runs_testkit::assert_manifest_matches_chain(&anvil, m).await;

    // SPEC §2.1 defaults, deployer as owner and arbitrator (so the keyless dev treasury takes the
    // fees: an arbitrator may never be the treasury), MockUSDC as the USDC.
    let deployer = deployment.deployer.address();
    assert_eq!(m.chain_id, 31337);
    assert_eq!(m.parameters.fee_bps, 500);
    assert_eq!(m.parameters.min_stake, Usdc::whole(20));
    assert_eq!(m.parameters.dispute_window, 3 * 86_400);
    assert_eq!(m.parameters.ruling_period, 14 * 86_400);
    assert_eq!(m.parameters.owner, deployer);
    assert_eq!(m.parameters.arbitrator, deployer);
    assert_eq!(m.parameters.treasury, DEV_TREASURY);
    let mock = m.contracts.mock_usdc.expect("a MockUSDC on the dev chain");
    assert_eq!(m.usdc, mock.address);
    // Deployed in order, one transaction per block (automine), MockUSDC first.
    assert!(mock.block_number < m.contracts.stake_vault.block_number);
    assert!(m.contracts.stake_vault.block_number < m.contracts.run_escrow.block_number);
    assert_eq!(m.start_block(), m.contracts.stake_vault.block_number);

    let provider = runs_testkit::read_provider(&anvil);
    let token = MockUSDC::new(mock.address, &provider);
    for signer in &deployment.funded {
        assert_eq!(
            token.balanceOf(signer.address()).call().await.unwrap(),
            Usdc::whole(FUNDED_USDC).base_units()
        );
    }
    assert_eq!(deployment.funded.len(), 9);
}

#[tokio::test]
async fn custom_parameters_owner_and_an_existing_usdc() {
    let anvil = runs_testkit::spawn_anvil();
    let first = runs_testkit::deploy_fresh(&anvil).await;
    let owner = runs_testkit::address(&anvil, 3);
    let treasury = runs_testkit::address(&anvil, 4);
    let arbitrator = runs_testkit::address(&anvil, 5);
    let config = DeployConfig {
        usdc: UsdcSource::Explicit(first.manifest.usdc),
        owner: Some(owner),
        treasury: Some(treasury),
        arbitrator: Some(arbitrator),
        parameters: DeployParameters {
            fee_bps: 250,
            min_stake: "12.5".parse().unwrap(),
            claim_timeout: 2 * 86_400,
            review_period: 3 * 86_400,
            dispute_window: 86_400,
            ruling_period: 5 * 86_400,
            unstake_cooldown: 4 * 86_400,
            strikes_to_ban: 2,
            established_completions: 7,
            established_age: 10 * 86_400,
        },
        commit: "abc1234".into(),
    };
    let second = runs_testkit::deploy_with(&anvil, config).await;
    let m = &second.manifest;
    assert_eq!(m.contracts.mock_usdc, None, "no MockUSDC when a USDC is given");
    assert_eq!(m.usdc, first.manifest.usdc);
    assert_eq!(m.commit, "abc1234");
    assert_eq!(m.parameters.min_stake.base_units(), alloy::primitives::U256::from(12_500_000));
    assert_eq!((m.parameters.arbitrator, m.parameters.treasury), (arbitrator, treasury));
    assert_eq!((m.parameters.dispute_window, m.parameters.ruling_period), (86_400, 5 * 86_400));
    runs_testkit::assert_manifest_matches_chain(&anvil, m).await;

    // The vault waits for the owner to accept it (Ownable2Step); until then the deployer owns it.
    let provider = runs_testkit::read_provider(&anvil);
    let vault = StakeVault::new(m.contracts.stake_vault.address, &provider);
    assert_eq!(vault.owner().call().await.unwrap(), second.deployer.address());
    assert_eq!(vault.pendingOwner().call().await.unwrap(), owner);
    let as_owner = runs_testkit::provider_for(&anvil, 3);
    StakeVault::new(m.contracts.stake_vault.address, &as_owner)
        .acceptOwnership()
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert_eq!(vault.owner().call().await.unwrap(), owner);
}

#[tokio::test]
async fn refusals_name_the_problem() {
    let anvil = runs_testkit::spawn_anvil();
    let provider = runs_testkit::provider_for(&anvil, 0);
    let from = runs_testkit::address(&anvil, 0);
    let contracts = tokio::task::spawn_blocking(runs_testkit::compiled).await.unwrap();

    // A USDC address with no code: a typo or the wrong chain.
    let nowhere = address!("0x00000000000000000000000000000000000000aa");
    let config = DeployConfig { usdc: UsdcSource::Explicit(nowhere), ..Default::default() };
    let err = runs_deployer::deploy(&provider, from, contracts, &config).await.unwrap_err();
    assert!(matches!(err, Error::UsdcNoCode { usdc, chain_id: 31337 } if usdc == nowhere), "{err}");

    // A parameter the contract rejects: the revert is decoded into the contract's error.
    let config = DeployConfig {
        parameters: DeployParameters { fee_bps: 5_000, ..Default::default() },
        ..Default::default()
    };
    let err = runs_deployer::deploy(&provider, from, contracts, &config).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Send { .. }), "{text}");
    assert!(text.contains("deploying RunEscrow"), "{text}");
    assert!(text.contains("RunEscrowFeeTooHigh(feeBps: 5000, max: 1000)"), "{text}");

    // A dispute window outside 1 .. 30 days: the contract names the bound.
    let config = DeployConfig {
        parameters: DeployParameters { dispute_window: 3_600, ..Default::default() },
        ..Default::default()
    };
    let err = runs_deployer::deploy(&provider, from, contracts, &config).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("RunEscrowInvalidPeriod(value: 3600, min: 86400, max: 2592000)"),
        "{text}"
    );

    // The treasury may never be the arbitrator: refused before any transaction is sent.
    let nonce = alloy::providers::Provider::get_transaction_count(&provider, from).await.unwrap();
    let config = DeployConfig { treasury: Some(from), ..Default::default() };
    let err = runs_deployer::deploy(&provider, from, contracts, &config).await.unwrap_err();
    assert!(matches!(err, Error::TreasuryIsArbitrator(t) if t == from), "{err}");
    let after = alloy::providers::Provider::get_transaction_count(&provider, from).await.unwrap();
    assert_eq!(after, nonce, "a refused deployment sent transactions");
}

#[tokio::test]
async fn a_chain_without_known_usdc_needs_one() {
    let anvil = runs_testkit::spawn_anvil_with_chain_id(777);
    let provider = runs_testkit::provider_for(&anvil, 0);
    let from = runs_testkit::address(&anvil, 0);
    let contracts = tokio::task::spawn_blocking(runs_testkit::compiled).await.unwrap();
    let err = runs_deployer::deploy(&provider, from, contracts, &DeployConfig::default())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::UnknownUsdc { chain_id: 777, .. }), "{err}");
    assert!(err.to_string().contains("--usdc"), "{err}");

    // Off the dev chain the arbitrator is never defaulted.
    let config = DeployConfig { usdc: UsdcSource::DeployMock, ..Default::default() };
    let err = runs_deployer::deploy(&provider, from, contracts, &config).await.unwrap_err();
    assert!(matches!(err, Error::ArbitratorRequired { chain_id: 777, .. }), "{err}");

    // A MockUSDC can still be asked for explicitly, on any chain; the deployer is the treasury.
    let arbitrator = runs_testkit::address(&anvil, 5);
    let config = DeployConfig {
        usdc: UsdcSource::DeployMock,
        arbitrator: Some(arbitrator),
        ..Default::default()
    };
    let manifest = runs_deployer::deploy(&provider, from, contracts, &config).await.unwrap();
    assert_eq!(manifest.chain_id, 777);
    assert_eq!((manifest.parameters.arbitrator, manifest.parameters.treasury), (arbitrator, from));
    assert!(manifest.contracts.mock_usdc.is_some());
    runs_testkit::assert_manifest_matches_chain(&anvil, &manifest).await;
}

#[tokio::test]
async fn the_manifest_round_trips_through_its_file() {
    let anvil = runs_testkit::spawn_anvil();
    let manifest = runs_testkit::deploy_fresh(&anvil).await.manifest;
    let dir = tempfile::tempdir().unwrap();
    let path = DeploymentManifest::path_for(dir.path(), manifest.chain_id);
    manifest.save(&path).unwrap();
    assert_eq!(DeploymentManifest::load(&path).unwrap(), manifest);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        json["contracts"]["StakeVault"]["address"],
        manifest.contracts.stake_vault.address.to_checksum(None)
    );
    assert_eq!(json["parameters"]["minStake"], "20000000");
    let _: Address = json["usdc"].as_str().unwrap().parse().unwrap();
}

/// The one send path (`runs_bindings::send`) every crate uses: a transaction that reverts once
/// mined (its gas limit set, so estimation cannot refuse it first) is replayed at the parent
/// block and its contract error decoded.
#[tokio::test]
async fn a_mined_revert_is_replayed_and_decoded() {
    use alloy::network::TransactionBuilder;
    use runs_bindings::{CallFailure, RECEIPT_TIMEOUT, RunEscrow, TxError};

    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let provider = runs_testkit::provider_for(&anvil, 1);
    let escrow = RunEscrow::new(deployment.manifest.contracts.run_escrow.address, &provider);
    let tx = escrow
        .cancel(alloy::primitives::U256::from(999))
        .into_transaction_request()
        .with_from(runs_testkit::address(&anvil, 1))
        .with_gas_limit(200_000);
    let err = runs_bindings::send(&provider, tx, RECEIPT_TIMEOUT).await.unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            &err,
            TxError::Reverted { reason: Some(CallFailure::Reverted { revert, .. }), .. }
                if revert.name == "RunEscrowRunNotFound"
        ),
        "{text}"
    );
    assert!(text.contains("reverted in block"), "{text}");
    assert!(text.contains("RunEscrowRunNotFound(runId: 999)"), "{text}");
}
