//! Text a hostile account writes on chain cannot stop the indexer. A NUL inside a URI is valid
//! UTF-8 and the contracts accept it, but Postgres `TEXT` cannot hold one: stored as
//! is, the range's commit would fail on every retry and the read side would stall for everyone.
//! The decoder stores it as U+FFFD (as the ABI decoder already does with invalid UTF-8), on both
//! backends alike.

use std::time::Duration;

use alloy::primitives::U256;
use runs_primitives::{AgentId, MarketEvent, RunId};

use crate::common::{Actor, Backend, TestDb, index_to_head, now};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nul_in_a_uri_does_not_stall_the_indexer() {
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let manifest = &deployment.manifest;
    let provider = runs_testkit::read_provider(&anvil);
    let (poster, agent) = (Actor::new(&anvil, manifest, 1), Actor::new(&anvil, manifest, 2));
    poster.approve_all().await;
    agent.approve_all().await;
    let agent_id = agent.become_agent("ipfs://agent\0evil", 20).await;
    let deadline = now(&provider).await + 30 * 86_400;
    let run = poster.create_and_fund("ipfs://spec\0evil", 10, deadline, 1).await;
    crate::send!(agent.escrow.claim(run, agent_id));
    crate::send!(agent.escrow.start(run));
    crate::send!(agent.escrow.submit(run, "ipfs://out\0put".into()));
    assert_eq!(run, U256::from(1));

    for backend in [Backend::Postgres, Backend::Sqlite] {
        let db = TestDb::new(backend).await;
        let snapshot = tokio::time::timeout(
            Duration::from_secs(60),
            index_to_head(&provider, &db.store, manifest),
        )
        .await
        .unwrap_or_else(|_| panic!("{backend:?}: the indexer stalled"));
        let row = &snapshot.runs[0];
        assert_eq!(row.spec_uri, "ipfs://spec\u{FFFD}evil", "{backend:?}");
        assert_eq!(row.deliverable_uri.as_deref(), Some("ipfs://out\u{FFFD}put"), "{backend:?}");
        assert_eq!(snapshot.agents[0].metadata_uri, "ipfs://agent\u{FFFD}evil", "{backend:?}");
        let created = snapshot
            .events
            .iter()
            .find_map(|e| match &e.event {
                MarketEvent::RunCreated { run_id: RunId(1), spec_uri, .. } => Some(spec_uri),
                _ => None,
            })
            .expect("RunCreated stored");
        assert_eq!(created, "ipfs://spec\u{FFFD}evil", "{backend:?}");
        assert!(
            snapshot.events.iter().any(|e| matches!(
                &e.event,
                MarketEvent::AgentRegistered { agent_id: AgentId(1), metadata_uri, .. }
                    if metadata_uri == "ipfs://agent\u{FFFD}evil"
            )),
            "{backend:?}: AgentRegistered"
        );
    }
}
