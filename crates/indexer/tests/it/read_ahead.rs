//! Deep in a backfill the indexer reads the next range while the previous one commits. A chain
//! whose events lie far below the head, indexed in small ranges (so that many ranges are read
//! ahead), must give exactly the store of an index that never reads ahead (a reorg window as long
//! as the chain makes every range "near the head"), on both backends, with an intact reorg window.
//! Such a backfill into an empty store also sets the secondary indexes aside, carries on without
//! them after a restart, and rebuilds them before nearing the head.

use alloy::{
    eips::BlockNumberOrTag,
    primitives::U256,
    providers::{Provider, ext::AnvilApi},
};
use runs_indexer::{Indexer, IndexerConfig};

use crate::common::{Actor, Backend, TestDb, lifecycle, now, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_ahead_gives_the_same_store_as_reading_in_turn() {
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let manifest = &deployment.manifest;
    let chain_id = manifest.chain_id;
    let provider = runs_testkit::read_provider(&anvil);
    // Every event kind, then runs spread over empty stretches, all far below the final head.
    lifecycle(&anvil, &deployment).await;
    let poster = Actor::new(&anvil, manifest, 1);
    let deadline = now(&provider).await + 30 * 86_400;
    for n in 0..12 {
        crate::send!(poster.escrow.createAndFund(
            format!("ipfs://spread-{n}"),
            U256::from(1_000_000),
            U256::from(deadline),
            U256::ZERO,
            U256::ZERO,
            U256::ZERO
        ));
        provider.anvil_mine(Some(7), None).await.unwrap();
    }
    provider.anvil_mine(Some(100), None).await.unwrap();
    let head = provider.get_block_number().await.unwrap();

    let small =
        |keep_blocks| IndexerConfig { start_range: 3, max_range: 3, keep_blocks, ..test_config() };
    // The reference: the window covers the whole chain, so no range is deep and none is read
    // ahead.
    let reference = TestDb::new(Backend::Postgres).await;
    Indexer::new(provider.clone(), reference.store.clone(), manifest, small(head + 1))
        .run_until(head)
        .await
        .unwrap();
    let expected = reference.store.snapshot(chain_id).await.unwrap();
    assert!(expected.runs.len() >= 12, "{} runs", expected.runs.len());

    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDb::new(backend).await;
        // Stopped deep in the backfill, the indexes are still set aside; the next run (another
        // process) carries on without them and rebuilds them near the head.
        let deep = head - 80;
        Indexer::new(provider.clone(), db.store.clone(), manifest, small(64))
            .run_until(deep)
            .await
            .unwrap();
        assert!(db.store.deferred_indexes().await.unwrap() > 0, "{backend:?}: indexes in place");
        Indexer::new(provider.clone(), db.connect_again().await, manifest, small(64))
            .run_until(head)
            .await
            .unwrap();
        assert_eq!(db.store.deferred_indexes().await.unwrap(), 0, "{backend:?}: not rebuilt");
        let got = db.store.snapshot(chain_id).await.unwrap();
        assert_eq!(got.events.len(), expected.events.len(), "{backend:?}: event count");
        assert!(got == expected, "{backend:?}: reading ahead changed the store");

        // The checkpoint is the head, and the window holds the last 65 blocks as the node has them.
        let checkpoint = db.store.checkpoint(chain_id).await.unwrap().unwrap();
        assert_eq!(checkpoint.number, head);
        let window = db.store.recent_blocks(chain_id).await.unwrap();
        let numbers: Vec<u64> = window.iter().map(|b| b.number).collect();
        assert_eq!(numbers, (head - 64..=head).rev().collect::<Vec<_>>(), "{backend:?}: window");
        for block in window.iter().step_by(16) {
            let node = provider
                .get_block_by_number(BlockNumberOrTag::Number(block.number))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(block.hash, node.header.hash, "{backend:?}: hash of {}", block.number);
        }
    }
}
