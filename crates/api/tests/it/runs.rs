//! `/api/runs`, `/api/runs/{id}`, claim eligibility and the claim transaction.

use std::collections::BTreeSet;

use runs_primitives::U256;
use serde_json::Value;

use crate::support::*;

const RUN_FIELDS: [&str; 29] = [
    "bountyId",
    "posterAddress",
    "ipfsHash",
    "reward",
    "fee",
    "deadline",
    "state",
    "claimedBy",
    "claimedByWallet",
    "stake",
    "deliverableHash",
    "revisionCount",
    "maxRevisions",
    "claimedAt",
    "submittedAt",
    "createdAt",
    "updatedAt",
    "requiredStake",
    "arbitrator",
    "claimTimeout",
    "reviewPeriod",
    "disputeWindow",
    "rulingPeriod",
    "termsVersion",
    "settled",
    "claimTimeoutEndsAt",
    "reviewEndsAt",
    "rejection",
    "dispute",
];

fn ids(body: &Value) -> Vec<u64> {
    body["runs"].as_array().unwrap().iter().map(|r| r["bountyId"].as_u64().unwrap()).collect()
}

fn amount(v: &Value) -> U256 {
    v.as_str().unwrap().parse().unwrap()
}

async fn list_has_the_documented_shape(db: &TestDb) {
    let chain = seed(&db.store).await;
    let app = db.app();
    let r = get(&app, "/api/runs").await;
    assert_eq!(r.status, 200, "{}", r.text);
    let keys: BTreeSet<&str> = r.json.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["runs", "pagination", "nextCursor", "indexedBlock"]));
    assert_eq!(r.json["indexedBlock"], chain.block);
    assert_eq!(r.headers["x-indexed-block"], chain.block.to_string().as_str());
    assert_eq!(
        r.json["pagination"],
        serde_json::json!({"page": 1, "limit": 20, "total": RUN_COUNT, "totalPages": 2})
    );
    assert!(r.json["nextCursor"].is_string());
    let runs = r.json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 20);
    for run in runs {
        let keys: BTreeSet<&str> = run.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, RUN_FIELDS.into_iter().collect());
    }
    // Default order: newest first, ties by id descending.
    let listed = ids(&r.json);
    assert_eq!(listed[..3], [RUN_BY_AGENT_1, RUN_PAST_DEADLINE, RUN_RESLASHED]);
}

async fn run_fields_are_formatted(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    let r = get(&app, &format!("/api/runs/{RUN_SUBMITTED}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let run = &r.json;
    assert_eq!(run["bountyId"], RUN_SUBMITTED);
    assert_eq!(run["posterAddress"], POSTER_1.to_checksum(None));
    assert_eq!(run["ipfsHash"], format!("ipfs://spec-{RUN_SUBMITTED}"));
    assert_eq!(run["reward"], "226000000");
    assert_eq!(run["fee"], "11300000");
    assert_eq!(run["state"], "SUBMITTED");
    assert_eq!(run["claimedBy"], 1);
    assert_eq!(run["claimedByWallet"], wallet(1).to_checksum(None));
    assert_eq!(run["deliverableHash"], format!("ipfs://deliverable-{RUN_SUBMITTED}"));
    assert_eq!(run["revisionCount"], 0);
    assert_eq!(run["maxRevisions"], 3);
    // Agent 1 holds 50 USDC: a slash would take the 20 USDC minimum.
    assert_eq!(run["stake"], "20000000");
    let iso = |v: &Value| {
        let s = v.as_str().unwrap();
        assert!(s.len() == 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T', "{s}");
    };
    for key in ["deadline", "claimedAt", "submittedAt", "createdAt", "updatedAt"] {
        iso(&run[key]);
    }
    assert_eq!(run["deadline"], iso_of(FAR));

    // History in chain order, each with its position and data.
    let kinds: Vec<&str> =
        run["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["RunCreated", "RunFunded", "Claimed", "WorkStarted", "Submitted"]);
    let created = &run["events"][0];
    let keys: BTreeSet<&str> = created.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["type", "blockNumber", "txHash", "logIndex", "timestamp", "data"])
    );
    assert_eq!(created["data"]["poster"], POSTER_1.to_checksum(None));
    assert_eq!(created["data"]["reward"], "226000000");
    assert_eq!(created["data"]["deadline"], iso_of(FAR));
    assert!(created["data"].get("type").is_none());
    let blocks: Vec<u64> = run["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["blockNumber"].as_u64().unwrap() * 1000 + e["logIndex"].as_u64().unwrap())
        .collect();
    assert!(blocks.windows(2).all(|w| w[0] < w[1]), "{blocks:?}");

    // Unclaimed: the minimum stake; a draft has no agent and no times.
    let draft = get(&app, &format!("/api/runs/{RUN_DRAFT}")).await.json;
    assert_eq!(draft["state"], "DRAFT");
    assert_eq!(draft["stake"], "20000000");
    for key in ["claimedBy", "claimedByWallet", "deliverableHash", "claimedAt", "submittedAt"] {
        assert!(draft[key].is_null(), "{key}");
    }
    // Reopened after a slash: the agent and claim details are gone, the history stays.
    let reopened = get(&app, &format!("/api/runs/{RUN_RESLASHED}")).await.json;
    assert_eq!(reopened["state"], "OPEN");
    assert!(reopened["claimedBy"].is_null());
    let kinds: Vec<&str> = reopened["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["RunCreated", "RunFunded", "Claimed", "StakeForfeited", "Slashed", "StakeForfeited"]
    );
}

fn iso_of(unix: u64) -> String {
    // Independent of the API's formatter (computed with Python's datetime).
    match unix {
        FAR => "2027-01-15T08:00:00Z".to_owned(),
        _ => unreachable!(),
    }
}

async fn filters(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    let all = |q: &'static str| {
        let app = app.clone();
        async move {
            let r = get(&app, &format!("/api/runs?limit=100&{q}")).await;
            assert_eq!(r.status, 200, "{q}: {}", r.text);
            assert_eq!(
                r.json["pagination"]["total"].as_u64().unwrap() as usize,
                ids(&r.json).len()
            );
            r.json
        }
    };
    let open = all("state=OPEN").await;
    assert_eq!(ids(&open).len() as u64, OPEN_COUNT);
    assert!(open["runs"].as_array().unwrap().iter().all(|r| r["state"] == "OPEN"));
    // Case-insensitive state names.
    assert_eq!(ids(&all("state=open").await).len() as u64, OPEN_COUNT);

    // minReward is whole USDC; 100 = 100000000 base units, inclusive.
    let rich = all("state=OPEN&minReward=100").await;
    let expected: BTreeSet<u64> =
        (1..=OPEN_RUNS).filter(|i| reward_of(*i) >= usdc(100)).chain([RUN_RESLASHED]).collect();
    assert_eq!(ids(&rich).into_iter().collect::<BTreeSet<_>>(), expected);
    assert!(
        rich["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| amount(&r["reward"]) >= U256::from(100_000_000u64))
    );

    let band = all("minReward=50&maxReward=75.000001").await;
    assert!(band["runs"].as_array().unwrap().iter().all(|r| {
        let a = amount(&r["reward"]);
        a >= U256::from(50_000_000u64) && a <= U256::from(75_000_001u64)
    }));
    assert_eq!(ids(&band).len(), 8 + 1, "runs rewarded 50 and 75, plus run 31");
    assert_eq!(ids(&all("minReward=0.000001&maxReward=24.999999").await).len(), 0);

    let by_poster = all("poster=0xB2B2b2b2B2b2b2b2B2B2B2b2b2b2b2b2b2B2B2B2").await;
    let lower = all("poster=0xb2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2").await;
    assert_eq!(ids(&by_poster), ids(&lower));
    assert_eq!(ids(&by_poster).len(), 8 + 1);
    assert!(
        by_poster["runs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["posterAddress"] == POSTER_2.to_checksum(None))
    );

    let held = all("claimedBy=1").await;
    assert_eq!(
        ids(&held).into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from([RUN_CLAIMED, RUN_SUBMITTED, RUN_APPROVED])
    );
    assert_eq!(ids(&all("claimedBy=1&state=APPROVED").await), [RUN_APPROVED]);
    assert_eq!(ids(&all("claimedBy=99").await).len(), 0);
    let none = all("state=REJECTED").await;
    assert_eq!(
        none["pagination"],
        serde_json::json!({"page": 1, "limit": 100, "total": 0, "totalPages": 0})
    );
    assert!(none["nextCursor"].is_null());
}

/// Every sort and order: the offset pages and the cursor pages are the same rows in the same
/// order, and that order is the documented one.
async fn sorts_and_cursors(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    for sort in ["createdAt", "reward", "deadline"] {
        for order in ["asc", "desc"] {
            for filter in ["", "&state=OPEN&minReward=50"] {
                let base = format!("/api/runs?limit=4&sort={sort}&order={order}{filter}");
                let first = get(&app, &base).await;
                assert_eq!(first.status, 200, "{}", first.text);
                let total = first.json["pagination"]["total"].as_u64().unwrap();
                let pages = first.json["pagination"]["totalPages"].as_u64().unwrap();
                assert_eq!(pages, total.div_ceil(4));

                let mut by_offset = Vec::new();
                for page in 1..=pages {
                    let r = get(&app, &format!("{base}&page={page}")).await;
                    by_offset.extend(ids(&r.json));
                }
                let mut by_cursor = ids(&first.json);
                let mut cursor = first.json["nextCursor"].as_str().map(str::to_owned);
                let mut page = 1;
                while let Some(token) = cursor {
                    page += 1;
                    let r = get(&app, &format!("{base}&cursor={token}")).await;
                    assert_eq!(r.status, 200, "{}", r.text);
                    assert_eq!(r.json["pagination"]["page"], page);
                    let offset_page = get(&app, &format!("{base}&page={page}")).await;
                    assert_eq!(ids(&r.json), ids(&offset_page.json), "{base} page {page}");
                    by_cursor.extend(ids(&r.json));
                    cursor = r.json["nextCursor"].as_str().map(str::to_owned);
                }
                assert_eq!(page, pages.max(1), "{base}");
                assert_eq!(by_cursor, by_offset, "{base}");
                assert_eq!(by_cursor.len() as u64, total);

                // The order is the documented one: key, then id, both in `order`.
                let all =
                    get(&app, &format!("/api/runs?limit=100&sort={sort}&order={order}{filter}"))
                        .await;
                assert_eq!(ids(&all.json), by_cursor);
                let keys: Vec<(U256, u64)> = all.json["runs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        let key = match sort {
                            "reward" => amount(&r["reward"]),
                            // ISO 8601 UTC strings of one width sort like the times.
                            other => U256::from_be_slice(r[other].as_str().unwrap().as_bytes()),
                        };
                        (key, r["bountyId"].as_u64().unwrap())
                    })
                    .collect();
                let mut sorted = keys.clone();
                sorted.sort();
                if order == "desc" {
                    sorted.reverse();
                }
                assert_eq!(keys, sorted, "{sort} {order}{filter}");
            }
        }
    }
}

async fn cursor_is_bound_to_its_sort(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    let first = get(&app, "/api/runs?limit=5&sort=reward&order=asc").await;
    let token = first.json["nextCursor"].as_str().unwrap().to_owned();
    let r = get(&app, &format!("/api/runs?limit=5&sort=deadline&order=asc&cursor={token}")).await;
    assert_eq!(r.status, 400);
    assert_eq!(r.code(), "INVALID_PARAMETER");
    assert!(r.message().contains("`cursor`"), "{}", r.message());
    // The cursor wins over `page`.
    let r =
        get(&app, &format!("/api/runs?limit=5&sort=reward&order=asc&page=7&cursor={token}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json["pagination"]["page"], 2);
}

async fn eligibility(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    let check = |run: u64, agent: u64| {
        let app = app.clone();
        async move {
            let r = get(&app, &format!("/api/runs/{run}/claim-eligibility?agentId={agent}")).await;
            assert_eq!(r.status, 200, "{}", r.text);
            r.json
        }
    };
    let ok = check(1, 1).await;
    assert_eq!(
        ok,
        serde_json::json!({
            "eligible": true,
            "reasons": [],
            "agent": {
                "id": 1,
                "status": "PROVISIONAL",
                "stakedAmount": "70000000",
                "hasMinStake": true,
                "freeStake": "30000000",
            },
            "run": {
                "id": 1,
                "state": "OPEN",
                "reward": reward_of(1).base_units().to_string(),
                "requiredStake": "20000000",
            },
        })
    );
    assert_eq!(check(RUN_CLAIMED, 1).await["reasons"], serde_json::json!(["RUN_NOT_OPEN"]));
    assert_eq!(
        check(RUN_PAST_DEADLINE, 1).await["reasons"],
        serde_json::json!(["RUN_PAST_DEADLINE"])
    );
    let poor = check(1, 2).await;
    // 10 USDC: below the minimum, and too little free stake for the run's 20 USDC reservation.
    assert_eq!(
        poor["reasons"],
        serde_json::json!(["INSUFFICIENT_STAKE", "INSUFFICIENT_FREE_STAKE"])
    );
    assert_eq!(poor["agent"]["status"], "UNVERIFIED");
    assert_eq!(poor["agent"]["hasMinStake"], false);
    assert_eq!(
        check(RUN_RESLASHED, 3).await["reasons"],
        serde_json::json!(["AGENT_FROZEN", "AGENT_SLASHED_ON_RUN"])
    );
    assert_eq!(check(1, 3).await["reasons"], serde_json::json!(["AGENT_FROZEN"]));
    assert_eq!(check(1, 4).await["reasons"], serde_json::json!(["AGENT_BANNED"]));
    assert_eq!(check(RUN_BY_AGENT_1, 1).await["reasons"], serde_json::json!(["AGENT_IS_POSTER"]));
    assert_eq!(check(RUN_DRAFT, 4).await["eligible"], false);

    let r = get(&app, "/api/runs/999/claim-eligibility?agentId=1").await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "RUN_NOT_FOUND"));
    let r = get(&app, "/api/runs/1/claim-eligibility?agentId=999").await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "AGENT_NOT_FOUND"));
    for q in ["", "?agentId=", "?agentId=x", "?agentId=0", "?agentId=-1"] {
        let r = get(&app, &format!("/api/runs/1/claim-eligibility{q}")).await;
        assert_eq!((r.status.as_u16(), r.code()), (400, "INVALID_PARAMETER"), "{q}");
        assert!(r.message().contains("`agentId`"), "{q}: {}", r.message());
    }
}

async fn claim_transaction(db: &TestDb) {
    seed(&db.store).await;
    let app = db.app();
    let body = |agent: u64, wallet: String| {
        format!(r#"{{"agentId": {agent}, "walletAddress": "{wallet}"}}"#)
    };
    let r = post_json(&app, "/api/runs/3/claim", &body(1, wallet(1).to_checksum(None))).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["eligible"], true);
    let tx = &r.json["transaction"];
    assert_eq!(tx["to"], ESCROW.to_checksum(None));
    assert_eq!(tx["value"], "0");
    assert_eq!(tx["chainId"], CHAIN);
    // Decoding with the generated binding checks the selector and both arguments.
    use alloy::sol_types::SolCall;
    let data = alloy::hex::decode(tx["data"].as_str().unwrap()).unwrap();
    let call = runs_bindings::RunEscrow::claimCall::abi_decode(&data).unwrap();
    assert_eq!((call.runId, call.agentId), (U256::from(3u64), U256::from(1u64)));
    // Lower-case wallet is the same wallet.
    let r = post_json(&app, "/api/runs/3/claim", &body(1, format!("{:#x}", wallet(1)))).await;
    assert_eq!(r.status, 200, "{}", r.text);

    let cases: [(u64, u64, String, u16, &str); 8] = [
        (RUN_CLAIMED, 1, wallet(1).to_checksum(None), 400, "RUN_NOT_AVAILABLE"),
        (RUN_PAST_DEADLINE, 1, wallet(1).to_checksum(None), 400, "RUN_NOT_AVAILABLE"),
        (1, 3, wallet(3).to_checksum(None), 403, "AGENT_FROZEN"),
        (1, 4, wallet(4).to_checksum(None), 403, "AGENT_BANNED"),
        (1, 2, wallet(2).to_checksum(None), 403, "INSUFFICIENT_STAKE"),
        (1, 1, wallet(2).to_checksum(None), 403, "WALLET_MISMATCH"),
        (RUN_BY_AGENT_1, 1, wallet(1).to_checksum(None), 403, "AGENT_IS_POSTER"),
        (999, 1, wallet(1).to_checksum(None), 404, "RUN_NOT_FOUND"),
    ];
    for (run, agent, w, status, code) in cases {
        let r = post_json(&app, &format!("/api/runs/{run}/claim"), &body(agent, w)).await;
        assert_eq!(
            (r.status.as_u16(), r.code()),
            (status, code),
            "run {run} agent {agent}: {}",
            r.text
        );
    }
    let r = post_json(&app, "/api/runs/1/claim", &body(999, wallet(1).to_checksum(None))).await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "AGENT_NOT_FOUND"));
    assert!(r.json["error"]["message"].as_str().unwrap().contains("999"));

    // Without a deployment the server cannot name the contract: 503, not a guess.
    let bare = db.app_with(runs_api::ApiConfig::new(CHAIN), runs_api::ChainHead::default());
    let r = post_json(&bare, "/api/runs/3/claim", &body(1, wallet(1).to_checksum(None))).await;
    assert_eq!((r.status.as_u16(), r.code()), (503, "SERVICE_UNAVAILABLE"));
    assert!(!r.text.contains("manifest"), "no internals: {}", r.text);
}

/// The run reads take the indexed head from their own statement; when they find nothing it is
/// read on its own, so every answer still names its block.
async fn empty_answers_report_the_indexed_block(db: &TestDb) {
    let chain = seed(&db.store).await;
    let app = db.app();
    let block = chain.block.to_string();
    let r = get(&app, "/api/runs?minReward=1000000000").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids(&r.json), Vec::<u64>::new());
    assert_eq!(r.json["pagination"]["total"], 0);
    assert_eq!(r.json["indexedBlock"], chain.block);
    assert_eq!(r.headers["x-indexed-block"], block.as_str());
    let r = get(&app, "/api/runs/999999").await;
    assert_eq!((r.status.as_u16(), r.code()), (404, "RUN_NOT_FOUND"));
    assert_eq!(r.headers["x-indexed-block"], block.as_str());
    let r = get(&app, &format!("/api/runs/{RUN_SUBMITTED}")).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.headers["x-indexed-block"], block.as_str());
}

/// A rejection disputed and ruled for the agent, and one still waiting: the run shows the
/// rejection, the dispute with every piece of evidence and the ruling; the agent's counters and
/// reserved stake follow; the arbitrator's record counts both.
async fn disputes_and_the_arbitrators_record(db: &TestDb) {
    use runs_primitives::{AgentId, MarketEvent, RunId, Usdc};

    let mut chain = Chain::new();
    parameters(&mut chain, 5);
    chain.mine();
    register(&mut chain, 1, 40);
    for run in [1, 2] {
        create(&mut chain, run, POSTER_1, usdc(100), FAR);
        fund(&mut chain, run, POSTER_1, usdc(100));
        claim(&mut chain, run, 1);
    }
    chain.mine();
    for run in [1, 2] {
        let id = RunId(run);
        chain.emit(MarketEvent::Submitted {
            run_id: id,
            agent_id: AgentId(1),
            deliverable_uri: format!("ipfs://work-{run}"),
            revision_count: 0,
        });
        chain.emit(MarketEvent::Rejected {
            run_id: id,
            agent_id: AgentId(1),
            poster: POSTER_1,
            reason_uri: "ipfs://not-what-i-asked".into(),
            bond: usdc(20),
        });
        chain.emit(MarketEvent::Disputed {
            run_id: id,
            agent_id: AgentId(1),
            arbitrator: ARBITRATOR,
            evidence_uri: format!("ipfs://case-{run}"),
        });
    }
    let disputed_at = chain.now();
    chain.advance(3_600).mine();
    chain.emit(MarketEvent::EvidenceSubmitted {
        run_id: RunId(1),
        by: POSTER_1,
        uri: "ipfs://poster-side".into(),
    });
    chain.emit(MarketEvent::DisputeResolved {
        run_id: RunId(1),
        agent_id: AgentId(1),
        arbitrator: ARBITRATOR,
        agent_share_bps: 7_500,
        to_agent: usdc(75),
        to_treasury: usdc(5).fee_for(7_500),
        to_poster: usdc(25).checked_add(usdc(5).saturating_sub(usdc(5).fee_for(7_500))).unwrap(),
        bond: usdc(20),
        stake_forfeited: Usdc::ZERO,
        strike: false,
        by_default: false,
    });
    let resolved_at = chain.now();
    chain.mine();
    chain.commit(&db.store).await;
    let app = db.app();

    let run = get(&app, "/api/runs/1").await;
    assert_eq!(run.status, 200, "{}", run.text);
    let run = run.json;
    assert_eq!((run["state"].as_str(), run["settled"].as_bool()), (Some("RESOLVED"), Some(true)));
    assert_eq!(run["rejection"]["bond"], "20000000");
    assert_eq!(run["rejection"]["reasonURI"], "ipfs://not-what-i-asked");
    let dispute = &run["dispute"];
    let evidence: Vec<&str> = dispute["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uri"].as_str().unwrap())
        .collect();
    assert_eq!(evidence, ["ipfs://case-1", "ipfs://poster-side"]);
    assert_eq!(dispute["evidence"][1]["by"], POSTER_1.to_checksum(None));
    assert_eq!(dispute["agentShareBps"], 7_500);
    assert_eq!(dispute["toAgent"], "75000000");
    assert_eq!(
        (dispute["byDefault"].as_bool(), dispute["conceded"].as_bool()),
        (Some(false), Some(false))
    );
    let waiting = get(&app, "/api/runs/2").await.json;
    assert_eq!(
        (waiting["state"].as_str(), waiting["settled"].as_bool()),
        (Some("DISPUTED"), Some(false))
    );
    assert!(waiting["dispute"]["agentShareBps"].is_null());
    assert_eq!(
        get(&app, "/api/runs?state=disputed").await.json["runs"].as_array().unwrap().len(),
        1
    );

    let agent = get(&app, "/api/agents/1").await.json;
    assert_eq!(agent["reputation"]["disputesWon"], 1);
    assert_eq!(agent["reputation"]["completions"], 1);
    assert_eq!(
        (agent["reservedStake"].as_str(), agent["freeStake"].as_str()),
        (Some("20000000"), Some("20000000"))
    );

    let record = get(&app, &format!("/api/arbitrators/{ARBITRATOR:#x}")).await;
    assert_eq!(record.status, 200, "{}", record.text);
    let record = record.json;
    assert_eq!(record["address"], ARBITRATOR.to_checksum(None));
    assert_eq!((record["disputes"].as_u64(), record["pending"].as_u64()), (Some(2), Some(1)));
    assert_eq!((record["rulings"].as_u64(), record["ruledForAgent"].as_u64()), (Some(1), Some(1)));
    assert_eq!(record["averageRulingDelay"], resolved_at - disputed_at);
    assert_eq!(record["runIds"], serde_json::json!([1, 2]));
    let nobody = get(&app, "/api/arbitrators/0x0000000000000000000000000000000000000001").await;
    assert_eq!(
        (nobody.json["disputes"].as_u64(), nobody.json["averageRulingDelay"].is_null()),
        (Some(0), true)
    );
    let bad = get(&app, "/api/arbitrators/0x12").await;
    assert_eq!((bad.status.as_u16(), bad.code()), (400, "INVALID_PARAMETER"));
}

backends!(
    disputes_and_the_arbitrators_record,
    list_has_the_documented_shape,
    empty_answers_report_the_indexed_block,
    run_fields_are_formatted,
    filters,
    sorts_and_cursors,
    cursor_is_bound_to_its_sort,
    eligibility,
    claim_transaction,
);
