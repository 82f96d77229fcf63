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
    }
    stack.stop().await;
}
