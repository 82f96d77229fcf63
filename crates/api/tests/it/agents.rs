//! `/api/agents`, `/api/agents/{id}` and `/api/agents/{id}/stake`, and the status rule evaluated
//! at the indexed block's time.

use std::collections::BTreeSet;

use runs_primitives::{AgentId, MarketEvent, RunId, Usdc};

use crate::support::*;

async fn list_and_detail(db: &TestDb) {
    let chain = seed(&db.store).await;
    let app = db.app();
    let r = get(&app, "/api/agents").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["indexedBlock"], chain.block);
    assert_eq!(
        r.json["pagination"],
        serde_json::json!({"page": 1, "limit": 20, "total": AGENT_COUNT, "totalPages": 1})
    );
    let statuses: Vec<&str> = r.json["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["PROVISIONAL", "UNVERIFIED", "FROZEN", "BANNED"]);

    let page2 = get(&app, "/api/agents?page=2&limit=3").await;
    let ids: Vec<u64> = page2.json["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [4]);
    assert_eq!(page2.json["pagination"]["totalPages"], 2);

    let one = get(&app, "/api/agents/1").await;
    assert_eq!(one.status, 200, "{}", one.text);
    let a = &one.json;
    let keys: BTreeSet<&str> = a.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from([
            "id",
            "wallet",
            "metadataUri",
            "status",
            "stakedAmount",
            "reservedStake",
            "freeStake",
            "stakedAt",
            "pendingUnstake",
            "unstakeReadyAt",
            "activeClaims",
            "strikes",
            "reputation",
            "registeredAt",
            "updatedAt",
            "slashHistory",
        ])
    );
    assert_eq!(a["wallet"], wallet(1).to_checksum(None));
    assert_eq!(a["stakedAmount"], "70000000");
    assert_eq!(a["reservedStake"], "40000000");
    assert_eq!(a["freeStake"], "30000000");
    assert!(a["stakedAt"].as_str().unwrap().ends_with('Z'));
    assert_eq!(a["activeClaims"], 2);
    assert_eq!(
        a["reputation"],
        serde_json::json!({
            "score": 33,
            "completions": 1,
            "totalClaimed": 3,
            "totalVolume": "227000000",
            "rejections": 0,
            "disputesWon": 0,
            "disputesLost": 0,
        })
    );
    assert_eq!(a["slashHistory"], serde_json::json!([]));

    let frozen = get(&app, "/api/agents/3").await.json;
    assert_eq!(frozen["status"], "FROZEN");
    assert_eq!(frozen["strikes"], 1);
    let history = frozen["slashHistory"].as_array().unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["runId"], RUN_RESLASHED);
    assert_eq!(history[0]["amount"], "20000000");
    assert_eq!(history[0]["stakeAfter"], "20000000");
    assert_eq!(history[0]["outcome"], "SLASHED");
    assert_eq!(history[0]["strikes"], 1);
    assert!(history[0]["txHash"].as_str().unwrap().starts_with("0x7e"));
    // Frozen with a claim and a slash: score = floor(100 * 0 / 1) >> 1 = 0.
    assert_eq!(frozen["reputation"]["score"], 0);
    assert_eq!(get(&app, "/api/agents/4").await.json["status"], "BANNED");

    let stake = get(&app, "/api/agents/3/stake").await;
    assert_eq!(stake.status, 200, "{}", stake.text);
    assert_eq!(
        stake.json,
        serde_json::json!({
            "agentId": 3,
            "status": "FROZEN",
            "stakedAmount": "20000000",
            "reservedStake": "0",
            "freeStake": "20000000",
            "pendingUnstake": "0",
            "unstakeReadyAt": null,
            "minStake": "20000000",
            "hasMinStake": true,
            "stakedAt": frozen["stakedAt"],
            "activeClaims": 0,
            // No live claim: nothing of its stake is at risk.
            "slashable": "0",
        })
    );
    let poor = get(&app, "/api/agents/2/stake").await.json;
    assert_eq!(
        (poor["hasMinStake"].as_bool(), poor["freeStake"].as_str(), poor["slashable"].as_str()),
        (Some(false), Some("10000000"), Some("0"))
    );
    assert!(poor["stakedAt"].is_null());

    for uri in ["/api/agents/99", "/api/agents/99/stake"] {
        let r = get(&app, uri).await;
        assert_eq!((r.status.as_u16(), r.code()), (404, "AGENT_NOT_FOUND"), "{uri}");
    }
}

/// PROVISIONAL → ESTABLISHED has no event: the API derives it from the stored facts at the
/// indexed block's timestamp, so an empty range that only moves the checkpoint 30 days on
/// changes the answer, exactly as `StakeVault.statusOf` would at that block.
async fn established_after_thirty_days_without_an_event(db: &TestDb) {
    let mut chain = Chain::new();
    parameters(&mut chain, 1);
    chain.mine();
    chain.emit(MarketEvent::AgentRegistered {
        agent_id: AgentId(1),
        wallet: wallet(1),
        metadata_uri: "ipfs://a".into(),
    });
    chain.emit(MarketEvent::Staked {
        agent_id: AgentId(1),
        wallet: wallet(1),
        amount: usdc(20),
        total_stake: usdc(20),
    });
    let staked_at = chain.now();
    chain.mine();
    chain.emit(MarketEvent::RunCreated {
        run_id: RunId(1),
        poster: POSTER_1,
        spec_uri: "ipfs://s".into(),
        reward: usdc(10),
        fee: usdc(10).fee_for(500),
        required_stake: usdc(20),
        deadline: FAR,
        max_revisions: 0,
        terms_version: 1,
        claim_timeout: 604_800,
        review_period: 604_800,
        dispute_window: 3 * 86_400,
        ruling_period: 14 * 86_400,
        arbitrator: ARBITRATOR,
    });
    chain.emit(MarketEvent::Claimed {
        run_id: RunId(1),
        agent_id: AgentId(1),
        wallet: wallet(1),
        reserved: usdc(20),
    });
    chain.mine();
    chain.emit(MarketEvent::Approved {
        run_id: RunId(1),
        agent_id: AgentId(1),
        wallet: wallet(1),
        reward: usdc(10),
        fee: Usdc::ZERO,
        bond: Usdc::ZERO,
        on_timeout: false,
    });
    chain.commit(&db.store).await;
    let app = db.app();
    assert_eq!(get(&app, "/api/agents/1").await.json["status"], "PROVISIONAL");

    // One block short of 30 days after the stake: still PROVISIONAL.
    chain.block = (staked_at + 30 * 86_400 - BASE) / 12 - 1;
    chain.commit(&db.store).await;
    assert_eq!(get(&app, "/api/agents/1").await.json["status"], "PROVISIONAL");
    // At 30 days, with no event in between: ESTABLISHED.
    chain.block += 1;
    assert!(chain.now() >= staked_at + 30 * 86_400);
    chain.commit(&db.store).await;
    let r = get(&app, "/api/agents/1").await;
    assert_eq!(r.json["status"], "ESTABLISHED");
    assert_eq!(r.headers["x-indexed-block"], chain.block.to_string().as_str());
    assert_eq!(get(&app, "/api/agents/1/stake").await.json["status"], "ESTABLISHED");
    assert_eq!(r.json["reputation"]["score"], 100);
}

/// The chain parameters are cached per indexed block: a parameter change is visible as soon as
/// its block is indexed, to the same running app.
async fn parameters_follow_the_indexed_block(db: &TestDb) {
    let mut chain = seed(&db.store).await;
    let app = db.app();
    for _ in 0..2 {
        let stake = get(&app, "/api/agents/3/stake").await.json;
        assert_eq!(
            (stake["minStake"].as_str(), stake["hasMinStake"].as_bool()),
            (Some("20000000"), Some(true))
        );
    }
    chain.mine().emit(MarketEvent::VaultParametersUpdated {
        min_stake: usdc(30),
        unstake_cooldown: 604_800,
        strikes_to_ban: 3,
        established_completions: 5,
        established_age: 30 * 86_400,
    });
    chain.commit(&db.store).await;
    let r = get(&app, "/api/agents/3/stake").await;
    assert_eq!(r.headers["x-indexed-block"], chain.block.to_string().as_str());
    assert_eq!(
        (r.json["minStake"].as_str(), r.json["hasMinStake"].as_bool()),
        (Some("30000000"), Some(false))
    );
}

backends!(
    list_and_detail,
    established_after_thirty_days_without_an_event,
    parameters_follow_the_indexed_block
);
