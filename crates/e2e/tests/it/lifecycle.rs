//! One run walked through its whole life with the generated bindings (create and fund, claim,
//! start, submit, revision, resubmit, approve), a rejection disputed and ruled, and an agent
//! slashed for a silent claim, checking `GET /api/runs/{id}` (and the agent and arbitrator
//! endpoints) after every step.

use runs_e2e::{Backend, Stack, TestDb};
use runs_primitives::{AgentId, RunId, Usdc};
use runs_seed::{Actor, chain_time};
use serde_json::Value;

const DAY: u64 = 86_400;

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_on_sqlite() {
    lifecycle(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lifecycle_on_postgres() {
    lifecycle(Backend::Postgres).await;
}

/// The history's event types, in order.
fn event_types(run: &Value) -> Vec<String> {
    run["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["type"].as_str().expect("event type").to_owned())
        .collect()
}

/// Asserts the history grew by exactly the `expected` events.
fn assert_new_events(run: &Value, before: &mut Vec<String>, expected: &[&str]) {
    let now = event_types(run);
    assert!(now.starts_with(before), "history rewritten: {before:?} -> {now:?}");
    assert_eq!(&now[before.len()..], expected, "new events in {now:?}");
    *before = now;
}

fn is_time(value: &Value) -> bool {
    value.as_str().is_some_and(|s| s.len() >= 20 && s.ends_with('Z') && s.contains('T'))
}

async fn lifecycle(backend: Backend) {
    let anvil = runs_testkit::spawn_anvil();
    let deployment = runs_testkit::deploy_fresh(&anvil).await;
    let manifest = &deployment.manifest;
    let db = TestDb::new(backend).await;
    let stack = Stack::start(&anvil, manifest, db.store.clone()).await;

    let actor = |i| Actor::new(anvil.endpoint_url(), manifest, runs_testkit::signer(&anvil, i));
    let (poster, agent, silent) = (actor(1), actor(2), actor(3));
    for who in [&poster, &agent, &silent] {
        who.approve_all().await.unwrap();
    }
    let agent_id = agent.register("ipfs://e2e/agent.json").await.unwrap();
    agent.stake(Usdc::whole(100)).await.unwrap();
    let silent_id = silent.register("ipfs://e2e/silent.json").await.unwrap();
    silent.stake(Usdc::whole(50)).await.unwrap();
    let a = stack
        .wait_for(&format!("/api/agents/{agent_id}"), "PROVISIONAL", |a| {
            a["status"] == "PROVISIONAL"
        })
        .await;
    assert_eq!(a["stakedAmount"], "100000000");
    assert_eq!(a["wallet"], agent.address.to_checksum(None));

    // Create and fund: OPEN, nobody on it yet.
    let deadline = chain_time(agent.provider()).await.unwrap() + 30 * DAY;
    let spec = "ipfs://e2e/spec.json";
    let run_id = poster.create_and_fund(spec, "12.5".parse().unwrap(), deadline, 2).await.unwrap();
    let id = run_id.get();
    let run = stack.wait_run(id, "OPEN").await;
    assert_eq!(run["bountyId"], id);
    assert_eq!(run["posterAddress"], poster.address.to_checksum(None));
    assert_eq!(run["ipfsHash"], spec);
    assert_eq!(run["reward"], "12500000");
    assert_eq!(run["fee"], "625000", "5% of 12.5 USDC");
    assert_eq!(run["maxRevisions"], 2);
    assert_eq!(run["revisionCount"], 0);
    for field in ["claimedBy", "claimedByWallet", "deliverableHash", "claimedAt", "submittedAt"] {
        assert!(run[field].is_null(), "{field} of an OPEN run: {run:#}");
    }
    for field in ["createdAt", "updatedAt", "deadline"] {
        assert!(is_time(&run[field]), "{field}: {run:#}");
    }
    let mut history = Vec::new();
    assert_new_events(&run, &mut history, &["RunCreated", "RunFunded"]);

    // Claim.
    agent.claim(run_id, agent_id).await.unwrap();
    let run = stack.wait_run(id, "CLAIMED").await;
    assert_eq!(run["claimedBy"], agent_id.get());
    assert_eq!(run["claimedByWallet"], agent.address.to_checksum(None));
    assert!(is_time(&run["claimedAt"]), "{run:#}");
    assert!(run["submittedAt"].is_null());
    assert_new_events(&run, &mut history, &["Claimed"]);
    let claimed_at = run["claimedAt"].clone();

    // Start.
    agent.start(run_id).await.unwrap();
    let run = stack.wait_run(id, "IN_PROGRESS").await;
    assert_eq!(run["claimedBy"], agent_id.get());
    assert_new_events(&run, &mut history, &["WorkStarted"]);

    // Submit.
    agent.submit(run_id, "ipfs://e2e/deliverable-v1").await.unwrap();
    let run = stack.wait_run(id, "SUBMITTED").await;
    assert_eq!(run["deliverableHash"], "ipfs://e2e/deliverable-v1");
    assert!(is_time(&run["submittedAt"]), "{run:#}");
    assert_eq!(run["revisionCount"], 0);
    assert_new_events(&run, &mut history, &["Submitted"]);

    // Revision requested.
    poster.request_revision(run_id, "needs tests").await.unwrap();
    let run = stack.wait_run(id, "REVISION_REQUESTED").await;
    assert_eq!(run["revisionCount"], 1);
    assert_eq!(run["claimedBy"], agent_id.get());
    assert_new_events(&run, &mut history, &["RevisionRequested"]);
    let revision = &run["events"][history.len() - 1];
    assert_eq!(revision["data"]["reasonUri"], "needs tests", "{revision:#}");

    // Resubmit.
    agent.submit(run_id, "ipfs://e2e/deliverable-v2").await.unwrap();
    let run = stack
        .wait_for(&format!("/api/runs/{id}"), "the second submission", |r| {
            r["state"] == "SUBMITTED" && r["deliverableHash"] == "ipfs://e2e/deliverable-v2"
        })
        .await;
    assert_eq!(run["revisionCount"], 1);
    assert_new_events(&run, &mut history, &["Submitted"]);

    // Approve: the agent is paid and it shows in its reputation.
    poster.approve(run_id).await.unwrap();
    let run = stack.wait_run(id, "APPROVED").await;
    assert_eq!(run["claimedBy"], agent_id.get(), "the agent stays on record");
    assert_eq!(run["claimedAt"], claimed_at);
    assert_eq!(run["reward"], "12500000");
    assert_new_events(&run, &mut history, &["Approved"]);
    let (status, agent_view) = stack.get(&format!("/api/agents/{agent_id}")).await;
    assert_eq!(status, 200);
    assert_eq!(agent_view["reputation"]["completions"], 1, "{agent_view:#}");
    assert_eq!(agent_view["reputation"]["totalVolume"], "12500000");
    assert_eq!(agent_view["activeClaims"], 0);

    // Listing filters see it.
    let (_, approved) = stack.get("/api/runs?state=APPROVED").await;
    let ids: Vec<u64> = approved["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["bountyId"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![id]);

    dispute(&stack, &anvil, manifest, (&poster, &agent), agent_id).await;
    slash(&stack, &anvil, &poster, &silent, silent_id).await;
    stack.stop().await;
}

/// A rejection disputed and ruled 75% for the agent by the run's arbitrator: the run shows the
/// rejection's bond and the ruling, the agent a won dispute and its reservation released, and
/// the arbitrator's record the ruling.
async fn dispute(
    stack: &Stack,
    anvil: &runs_testkit::AnvilInstance,
    manifest: &runs_primitives::DeploymentManifest,
    (poster, agent): (&Actor, &Actor),
    agent_id: AgentId,
) {
    let arbitrator_address = manifest.parameters.arbitrator;
    let arbitrator = (0..10)
        .map(|i| runs_testkit::signer(anvil, i))
        .find(|s| s.address() == arbitrator_address)
        .map(|s| Actor::new(anvil.endpoint_url(), manifest, s))
        .expect("the dev arbitrator is an anvil account");
    let deadline = chain_time(poster.provider()).await.unwrap() + 30 * DAY;
    let run_id = poster
        .create_and_fund("ipfs://e2e/disputed.json", Usdc::whole(10), deadline, 0)
        .await
        .unwrap();
    let id = run_id.get();
    agent.claim(run_id, agent_id).await.unwrap();
    agent.submit(run_id, "ipfs://e2e/disputed-work").await.unwrap();
    let claimed = stack
        .wait_for(&format!("/api/agents/{agent_id}"), "a reservation", |a| {
            a["reservedStake"] == "20000000"
        })
        .await;
    assert_eq!(claimed["freeStake"], "80000000", "100 staked, 20 reserved: {claimed:#}");

    poster.reject(run_id, "ipfs://e2e/why-not").await.unwrap();
    let run = stack.wait_run(id, "REJECTED").await;
    assert_eq!(run["settled"], false, "a rejection is not final until the window ends");
    assert_eq!(run["rejection"]["bond"], "20000000");
    assert_eq!(run["rejection"]["reasonURI"], "ipfs://e2e/why-not");

    agent.dispute(run_id, "ipfs://e2e/my-case").await.unwrap();
    let run = stack.wait_run(id, "DISPUTED").await;
    assert_eq!(run["dispute"]["evidence"][0]["uri"], "ipfs://e2e/my-case");
    assert!(run["dispute"]["agentShareBps"].is_null());

    arbitrator.resolve(run_id, 7_500, false).await.unwrap();
    let run = stack.wait_run(id, "RESOLVED").await;
    assert_eq!(run["settled"], true);
    assert_eq!(run["dispute"]["agentShareBps"], 7_500);
    assert_eq!(run["dispute"]["toAgent"], "7500000", "75% of 10 USDC");
    let events = event_types(&run);
    assert!(events.ends_with(&["DisputeResolved".to_owned()]), "{events:?}");

    let (_, agent_view) = stack.get(&format!("/api/agents/{agent_id}")).await;
    assert_eq!(agent_view["reputation"]["disputesWon"], 1, "{agent_view:#}");
    assert_eq!(agent_view["reputation"]["completions"], 2);
    assert_eq!(agent_view["reservedStake"], "0");
    assert_eq!(agent_view["activeClaims"], 0);

    let (status, record) =
        stack.get(&format!("/api/arbitrators/{}", arbitrator_address.to_checksum(None))).await;
    assert_eq!(status, 200, "{record:#}");
    assert_eq!(record["rulings"], 1);
    assert_eq!(record["runIds"], serde_json::json!([id]));
}

/// A silent claim slashed after the claim timeout: the run goes back to OPEN, the agent is FROZEN
/// with one strike and 20 USDC less stake.
async fn slash(
    stack: &Stack,
    anvil: &runs_testkit::AnvilInstance,
    poster: &Actor,
    silent: &Actor,
    silent_id: AgentId,
) {
    let deadline = chain_time(poster.provider()).await.unwrap() + 30 * DAY;
    let run_id: RunId = poster
        .create_and_fund("ipfs://e2e/slash.json", Usdc::whole(40), deadline, 1)
        .await
        .unwrap();
    silent.claim(run_id, silent_id).await.unwrap();
    let run = stack.wait_run(run_id.get(), "CLAIMED").await;
    assert_eq!(run["claimedBy"], silent_id.get());
    let mut history = event_types(&run);

    runs_testkit::increase_time(anvil, 7 * DAY + 3_600).await;
    poster.slash(run_id).await.unwrap();
    let run = stack.wait_run(run_id.get(), "OPEN").await;
    // The vault's StakeForfeited names the run too, so it joins the run's history.
    assert_new_events(&run, &mut history, &["StakeForfeited", "Slashed"]);
    assert!(run["claimedBy"].is_null(), "claimable again: {run:#}");
    assert_eq!(run["revisionCount"], 0);

    let agent = stack
        .wait_for(&format!("/api/agents/{silent_id}"), "FROZEN", |a| a["status"] == "FROZEN")
        .await;
    assert_eq!(agent["stakedAmount"], "30000000", "50 staked, 20 slashed");
    assert_eq!(agent["strikes"], 1);
    let slashes = agent["slashHistory"].as_array().expect("slashHistory");
    assert_eq!(slashes.len(), 1, "{agent:#}");
    assert_eq!(slashes[0]["runId"], run_id.get());
    assert_eq!(slashes[0]["amount"], "20000000");

    // The frozen agent may not claim again: the API's eligibility says why.
    let (status, eligibility) = stack
        .get(&format!("/api/runs/{}/claim-eligibility?agentId={silent_id}", run_id.get()))
        .await;
    assert_eq!(status, 200, "{eligibility:#}");
    assert_eq!(eligibility["eligible"], false);
    assert_eq!(eligibility["agent"]["status"], "FROZEN");
}
