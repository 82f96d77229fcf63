//! Two indexers on one Postgres: one writes, the other waits on the advisory lock and takes over
//! when the first stops; nothing is duplicated or missing.

use std::time::Duration;

use alloy::primitives::U256;

use crate::common::{
    Actor, Backend, Running, TestDb, index_to_head, lifecycle, now, test_config, wait_synced,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_indexers_on_one_postgres_hand_over_without_duplicates() {
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let manifest = &deployment.manifest;
    let chain_id = manifest.chain_id;
    lifecycle(&anvil, &deployment).await;
    let provider = runs_testkit::read_provider(&anvil);
    let poster = Actor::new(&anvil, manifest, 1);
    let deadline = now(&provider).await + 30 * 86_400;
    let mut n = 0;
    let mut more_runs = async || {
        for _ in 0..3 {
            n += 1;
            crate::send!(poster.escrow.createAndFund(
                format!("ipfs://more-{n}"),
                U256::from(2_000_000),
                U256::from(deadline),
                U256::ZERO,
                U256::ZERO,
                U256::ZERO
            ));
        }
    };

    let db = TestDb::new(Backend::Postgres).await;
    // Two "processes": separate pools on the same database, started at the same moment.
    let first = Running::spawn(provider.clone(), db.connect_again().await, manifest, test_config());
    let second =
        Running::spawn(provider.clone(), db.connect_again().await, manifest, test_config());
    wait_synced(&db.store, &provider, chain_id, Duration::from_secs(60)).await;
    assert!(db.store.try_lock_writer(chain_id).await.unwrap().is_none(), "someone holds the lock");
    more_runs().await;
    wait_synced(&db.store, &provider, chain_id, Duration::from_secs(30)).await;

    // Stop the first: if it was the writer, the second takes over.
    first.stop().await.expect("first indexer");
    more_runs().await;
    wait_synced(&db.store, &provider, chain_id, Duration::from_secs(30)).await;

    // A third starts as a standby; stopping the second hands over to it.
    let third = Running::spawn(provider.clone(), db.connect_again().await, manifest, test_config());
    tokio::time::sleep(Duration::from_millis(300)).await;
    second.stop().await.expect("second indexer");
    more_runs().await;
    wait_synced(&db.store, &provider, chain_id, Duration::from_secs(30)).await;
    third.stop().await.expect("third indexer");
    assert!(db.store.try_lock_writer(chain_id).await.unwrap().is_some(), "lock released on stop");

    let clean = TestDb::new(Backend::Postgres).await;
    let expected = index_to_head(&provider, &clean.store, manifest).await;
    let got = db.store.snapshot(chain_id).await.unwrap();
    assert_eq!(got.events.len(), expected.events.len());
    assert_eq!(got, expected);
}
