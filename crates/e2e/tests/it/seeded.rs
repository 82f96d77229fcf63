//! The `runs devnet` seed, indexed and served: every run and agent shows over HTTP in the state
//! the seed left it in on chain (including ESTABLISHED, which the API derives from time alone).

use runs_e2e::{Backend, Stack, TestDb};

#[tokio::test(flavor = "multi_thread")]
async fn seeded_devnet_on_sqlite() {
    seeded(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn seeded_devnet_on_postgres() {
    seeded(Backend::Postgres).await;
}

async fn seeded(backend: Backend) {
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let manifest = &deployment.manifest;
    let signers: Vec<_> = (0..10).map(|i| runs_testkit::signer(&anvil, i)).collect();
    let mut steps = Vec::new();
    let report = runs_seed::seed(&anvil.endpoint_url(), manifest, &signers, &mut |step: &str| {
        steps.push(step.to_owned());
    })
    .await
    .expect("seed");
    assert!(steps.len() >= 5, "progress reported: {steps:?}");
    for state in runs_primitives::RunState::ALL {
        assert!(report.runs_in(*state).next().is_some(), "no seeded run is {state}");
    }

    let provider = alloy::providers::ProviderBuilder::new().connect_http(anvil.endpoint_url());
    let vault = runs_bindings::StakeVault::new(manifest.contracts.stake_vault.address, &provider);
    let escrow = runs_bindings::RunEscrow::new(manifest.contracts.run_escrow.address, &provider);

    let db = TestDb::new(backend).await;
    let stack = Stack::start(&anvil, manifest, db.store.clone()).await;
    stack.wait_indexed(&anvil).await;

    let (status, list) = stack.get("/api/runs?limit=100").await;
    assert_eq!(status, 200, "{list:#}");
    assert_eq!(list["pagination"]["total"], report.runs.len());
    for seeded in &report.runs {
        let (status, run) = stack.get(&format!("/api/runs/{}", seeded.id)).await;
        assert_eq!(status, 200);
        assert_eq!(run["state"], seeded.state.as_str(), "run {} ({})", seeded.id, seeded.title);
        assert_eq!(run["posterAddress"], seeded.poster.to_checksum(None));
    }
    for seeded in &report.agents {
        let (status, agent) = stack.get(&format!("/api/agents/{}", seeded.id)).await;
        assert_eq!(status, 200);
        assert_eq!(
            agent["status"],
            seeded.status.as_str(),
            "agent {} ({})",
            seeded.id,
            seeded.name
        );
        assert_eq!(agent["wallet"], seeded.wallet.to_checksum(None));
        // The indexed record agrees with the vault's own, field for field.
        let onchain = vault
            .getAgent(alloy::primitives::U256::from(seeded.id.get()))
            .call()
            .await
            .expect("getAgent");
        let units = |v: &serde_json::Value| v.as_str().unwrap().to_owned();
        let who = format!("agent {} ({})", seeded.id, seeded.name);
        assert_eq!(units(&agent["stakedAmount"]), onchain.stake.to_string(), "{who}");
        assert_eq!(units(&agent["reservedStake"]), onchain.reserved.to_string(), "{who}");
        assert_eq!(units(&agent["pendingUnstake"]), onchain.pendingUnstake.to_string(), "{who}");
        assert_eq!(agent["strikes"], onchain.strikes, "{who}");
        let rep = &agent["reputation"];
        assert_eq!(rep["completions"], onchain.completions, "{who}");
        assert_eq!(rep["totalClaimed"], onchain.claims, "{who}");
        assert_eq!(rep["rejections"], onchain.rejections, "{who}");
        assert_eq!(rep["disputesWon"], onchain.disputesWon, "{who}");
        assert_eq!(rep["disputesLost"], onchain.disputesLost, "{who}");
        assert_eq!(units(&rep["totalVolume"]), onchain.volume.to_string(), "{who}");
    }
    // And every run's state, settlement and reservation agree with the escrow's.
    for seeded in &report.runs {
        let (_, run) = stack.get(&format!("/api/runs/{}", seeded.id)).await;
        let onchain = escrow
            .getRun(alloy::primitives::U256::from(seeded.id.get()))
            .call()
            .await
            .expect("getRun");
        let who = format!("run {} ({})", seeded.id, seeded.title);
        assert_eq!(run["settled"], onchain.settled, "{who}");
        assert_eq!(run["revisionCount"], onchain.revisionCount, "{who}");
        assert_eq!(
            run["requiredStake"].as_str().unwrap(),
            onchain.requiredStake.to_string(),
            "{who}"
        );
        assert_eq!(
            run["termsVersion"].as_u64().unwrap().to_string(),
            onchain.termsVersion.to_string(),
            "{who}"
        );
    }
    stack.stop().await;
}
