//! `anvil_reorg` of depth 1, 5 and 30 while the indexer runs, and one that turns an arbitrator's
//! ruling for the agent into one against it with a strike: afterwards the store equals a fresh
//! index of the canonical chain. A reorg deeper than the window stops the indexer with an error.

use std::time::Duration;

use alloy::{
    network::TransactionBuilder,
    primitives::{Address, U256},
    providers::{DynProvider, ext::AnvilApi},
    rpc::types::{
        TransactionRequest,
        anvil::{ReorgOptions, TransactionData},
    },
    sol_types::SolCall,
};
use runs_bindings::RunEscrow;
use runs_db::Snapshot;
use runs_indexer::{Error, IndexerConfig};
use runs_primitives::{DeploymentManifest, RunState};

use crate::common::{
    Actor, Backend, Running, TestDb, index_to_head, lifecycle, now, test_config, usdc, wait_synced,
};

/// A `createAndFund` by `poster` (an unlocked anvil account), for the replacement chain.
fn create_and_fund(
    manifest: &DeploymentManifest,
    poster: Address,
    uri: &str,
    deadline: u64,
) -> TransactionData {
    let call = RunEscrow::createAndFundCall {
        specURI: uri.into(),
        reward: usdc(1),
        deadline: U256::from(deadline),
        maxRevisions: U256::from(1),
        requiredStake: U256::ZERO,
        termsVersion: U256::ZERO,
    };
    TransactionData::JSON(
        TransactionRequest::default()
            .with_from(poster)
            .with_to(manifest.contracts.run_escrow.address)
            .with_input(call.abi_encode())
            .with_gas_limit(1_000_000),
    )
}

/// The arbitrator's (an unlocked anvil account's) `resolve` of `run`, for the replacement chain.
fn resolve(
    manifest: &DeploymentManifest,
    arbitrator: Address,
    run: U256,
    bps: u64,
) -> TransactionData {
    let call =
        RunEscrow::resolveCall { runId: run, agentShareBps: U256::from(bps), strike: bps == 0 };
    TransactionData::JSON(
        TransactionRequest::default()
            .with_from(arbitrator)
            .with_to(manifest.contracts.run_escrow.address)
            .with_input(call.abi_encode())
            .with_gas_limit(1_000_000),
    )
}

async fn reorg(provider: &DynProvider, manifest: &DeploymentManifest, poster: Address, depth: u64) {
    let deadline = now(provider).await + 90 * 86_400;
    let txs = (0..depth.min(3))
        .map(|i| {
            (create_and_fund(manifest, poster, &format!("ipfs://reorg-{depth}-{i}"), deadline), i)
        })
        .collect();
    provider.anvil_reorg(ReorgOptions { depth, tx_block_pairs: txs }).await.expect("anvil_reorg");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reorgs_leave_the_store_equal_to_a_fresh_index() {
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let manifest = &deployment.manifest;
    let script = lifecycle(&anvil, &deployment).await;
    let provider = runs_testkit::read_provider(&anvil);
    let poster = runs_testkit::address(&anvil, 1);
    let arbitrator = Actor::new(&anvil, manifest, 0);
    let chain_id = manifest.chain_id;

    let (pg, lite) = tokio::join!(TestDb::new(Backend::Postgres), TestDb::new(Backend::Sqlite));
    let pg_indexer = Running::spawn(provider.clone(), pg.store.clone(), manifest, test_config());
    let lite_indexer =
        Running::spawn(provider.clone(), lite.store.clone(), manifest, test_config());
    let synced = async |within| {
        tokio::join!(
            wait_synced(&pg.store, &provider, chain_id, within),
            wait_synced(&lite.store, &provider, chain_id, within)
        );
    };
    synced(Duration::from_secs(60)).await;

    // The disputed run is ruled for the agent; a reorg replaces that with a ruling against it
    // with a strike. The agent's row must lose the win (its completion, volume, released
    // reservation) and gain the loss (forfeited stake, strike, freeze).
    let disputed = script.disputed;
    crate::send!(arbitrator.escrow.resolve(disputed, U256::from(10_000), false));
    synced(Duration::from_secs(60)).await;
    let ruled = |snapshot: &Snapshot| {
        let run = snapshot.runs.iter().find(|r| U256::from(r.run_id.get()) == disputed).unwrap();
        let ruling = run.dispute.as_ref().unwrap().ruling.as_ref().unwrap();
        let agent = snapshot.agents.iter().find(|a| Some(a.agent_id) == run.agent_id).unwrap();
        (run.state, ruling.agent_share_bps, ruling.strike, agent.strikes, agent.frozen)
    };
    let won = pg.store.snapshot(chain_id).await.unwrap();
    assert_eq!(ruled(&won), (RunState::Resolved, 10_000, false, 0, false));
    let tx = resolve(manifest, arbitrator.address, disputed, 0);
    provider.anvil_reorg(ReorgOptions { depth: 1, tx_block_pairs: vec![(tx, 0)] }).await.unwrap();
    provider.anvil_mine(Some(2), None).await.unwrap();
    synced(Duration::from_secs(60)).await;
    let lost = pg.store.snapshot(chain_id).await.unwrap();
    assert_eq!(ruled(&lost), (RunState::Resolved, 0, true, 1, true));
    let fresh = TestDb::new(Backend::Sqlite).await;
    let canonical = index_to_head(&provider, &fresh.store, manifest).await;
    assert_eq!(lost, canonical, "postgres after the ruling's reorg");
    assert_eq!(lite.store.snapshot(chain_id).await.unwrap(), canonical, "sqlite after it");

    for depth in [1u64, 5, 30] {
        let before = pg.store.snapshot(chain_id).await.unwrap();
        reorg(&provider, manifest, poster, depth).await;
        if depth != 5 {
            // Depth 5 stays at the same height: only the idle re-check of the checkpoint's hash
            // can see it. The others grow the chain past the fork.
            provider.anvil_mine(Some(2), None).await.unwrap();
        }
        synced(Duration::from_secs(60)).await;
        let after = pg.store.snapshot(chain_id).await.unwrap();
        assert_ne!(before.events, after.events, "depth {depth}: the reorg changed nothing?");
    }
    pg_indexer.stop().await.expect("postgres indexer");
    lite_indexer.stop().await.expect("sqlite indexer");

    let fresh = TestDb::new(Backend::Postgres).await;
    let canonical = index_to_head(&provider, &fresh.store, manifest).await;
    assert_eq!(pg.store.snapshot(chain_id).await.unwrap(), canonical, "postgres after reorgs");
    assert_eq!(lite.store.snapshot(chain_id).await.unwrap(), canonical, "sqlite after reorgs");
    // The replacement chain's runs are there, the orphaned ones are not.
    let uris: Vec<_> = canonical
        .runs
        .iter()
        .map(|r| r.spec_uri.as_str())
        .filter(|u| u.starts_with("ipfs://reorg-"))
        .collect();
    assert!(uris.contains(&"ipfs://reorg-30-2"), "{uris:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reorg_deeper_than_the_window_stops_the_indexer() {
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let manifest = &deployment.manifest;
    let provider = runs_testkit::read_provider(&anvil);
    let poster = runs_testkit::address(&anvil, 1);
    // Enough blocks after the deployment for a reorg deeper than the window.
    provider.anvil_mine(Some(40), None).await.unwrap();

    let db = TestDb::new(Backend::Sqlite).await;
    let config = IndexerConfig { keep_blocks: 8, ..test_config() };
    let indexer = Running::spawn(provider.clone(), db.store.clone(), manifest, config);
    wait_synced(&db.store, &provider, manifest.chain_id, Duration::from_secs(30)).await;
    let before = db.store.snapshot(manifest.chain_id).await.unwrap();

    reorg(&provider, manifest, poster, 20).await;
    provider.anvil_mine(Some(1), None).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !indexer.is_finished() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the indexer kept going past a too-deep reorg"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let err = indexer.stop().await.expect_err("a too-deep reorg is fatal");
    assert!(matches!(err, Error::ReorgTooDeep { .. }), "{err}");
    assert!(err.to_string().contains("reorg deeper than the stored window"), "{err}");
    // Nothing was written after the error: the store still holds what it had.
    assert_eq!(db.store.snapshot(manifest.chain_id).await.unwrap(), before);
}
