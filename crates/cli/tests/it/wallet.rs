//! The wallet commands (`runs run ...`, `runs agent ...`) run as the real binary against a fresh
//! Anvil with a fresh deployment, checked afterwards on-chain through the bindings.
//!
//! Each test is one whole scenario on its own Anvil (the machine may have few cores). Accounts:
//! 0 deployed the contracts and is the arbitrator (it holds no USDC; the treasury is the keyless
//! dev treasury), 1 is the poster, 2 the agent, 3 a bystander; 1..=9 start with `FUNDED_USDC`
//! MockUSDC.

use std::process::{Command, Output};

use alloy::primitives::{Address, U256};
use runs_bindings::{MockUSDC, RunEscrow, StakeVault};
use runs_primitives::{AgentStatus, DeploymentManifest, RunState, Usdc};
use runs_testkit::{AnvilInstance, Deployment, FUNDED_USDC};
use serde_json::Value;
use tempfile::TempDir;

const POSTER: usize = 1;
const AGENT: usize = 2;
const BYSTANDER: usize = 3;
const ARBITER: usize = 0;
const WEEK: u64 = 7 * 86_400;

/// A fresh chain, its deployment and a deployments directory holding its manifest.
struct Env {
    anvil: AnvilInstance,
    deployment: Deployment,
    dir: TempDir,
}

impl Env {
    async fn new() -> Self {
        let anvil = runs_testkit::spawn_anvil();
        let deployment = runs_testkit::deploy_fresh(&anvil).await;
        let dir = tempfile::tempdir().expect("tempdir");
        let manifest = &deployment.manifest;
        manifest
            .save(DeploymentManifest::path_for(dir.path().join("deployments"), manifest.chain_id))
            .expect("writing the manifest");
        Self { anvil, deployment, dir }
    }

    /// Runs `runs ARGS` signing as Anvil's `account`, with a clean environment: the RPC, key and
    /// deployments directory come from the variables the README uses.
    fn runs(&self, account: usize, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_runs"))
            .args(args)
            .env_clear()
            .current_dir(self.dir.path())
            .env("RPC_URL", runs_testkit::rpc_url(&self.anvil))
            .env("PRIVATE_KEY", runs_testkit::key_hex(&self.anvil, account))
            .output()
            .expect("running the runs binary")
    }

    /// `runs ARGS`, which must succeed; its stdout.
    fn ok(&self, account: usize, args: &[&str]) -> String {
        let out = self.runs(account, args);
        let (stdout, stderr) = texts(&out);
        assert!(out.status.success(), "runs {args:?} failed:\n{stderr}\nstdout:\n{stdout}");
        stdout
    }

    /// `runs ARGS --json`, which must succeed and print exactly one JSON object on stdout.
    fn json(&self, account: usize, args: &[&str]) -> Value {
        let mut args = args.to_vec();
        args.push("--json");
        let stdout = self.ok(account, &args);
        let value: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|err| {
            panic!("runs {args:?}: stdout is not one JSON value ({err}):\n{stdout}")
        });
        assert!(value.is_object(), "{value}");
        value
    }

    /// `runs ARGS`, which must fail with a non-zero exit, print nothing on stdout and say
    /// `error: ...` on stderr; its stderr.
    fn fails(&self, account: usize, args: &[&str]) -> String {
        let out = self.runs(account, args);
        let (stdout, stderr) = texts(&out);
        assert!(!out.status.success(), "runs {args:?} should fail:\n{stdout}");
        assert_eq!(out.status.code(), Some(1), "runs {args:?}: {stderr}");
        assert!(stdout.is_empty(), "runs {args:?}: stdout should be empty on error:\n{stdout}");
        assert!(stderr.starts_with("error: "), "runs {args:?}:\n{stderr}");
        stderr
    }

    fn address(&self, account: usize) -> Address {
        runs_testkit::address(&self.anvil, account)
    }

    fn escrow(&self) -> RunEscrow::RunEscrowInstance<alloy::providers::DynProvider> {
        let address = self.deployment.manifest.contracts.run_escrow.address;
        RunEscrow::new(address, runs_testkit::read_provider(&self.anvil))
    }

    fn vault(&self) -> StakeVault::StakeVaultInstance<alloy::providers::DynProvider> {
        let address = self.deployment.manifest.contracts.stake_vault.address;
        StakeVault::new(address, runs_testkit::read_provider(&self.anvil))
    }

    async fn usdc_of(&self, account: usize) -> U256 {
        let usdc =
            MockUSDC::new(self.deployment.manifest.usdc, runs_testkit::read_provider(&self.anvil));
        usdc.balanceOf(self.address(account)).call().await.expect("balanceOf")
    }

    async fn run_state(&self, id: u64) -> RunState {
        let run = self.escrow().getRun(U256::from(id)).call().await.expect("getRun");
        RunState::try_from(run.state).expect("known state")
    }
}

fn texts(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn usdc(amount: &str) -> U256 {
    amount.parse::<Usdc>().expect("amount").base_units()
}

/// The events named `name` in a `--json` action report.
fn events<'a>(report: &'a Value, name: &str) -> Vec<&'a Value> {
    report["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .flat_map(|tx| tx["events"].as_array().expect("events"))
        .filter(|event| event["event"] == name)
        .collect()
}

fn calls(report: &Value) -> Vec<String> {
    report["transactions"]
        .as_array()
        .expect("transactions")
        .iter()
        .map(|tx| tx["call"].as_str().expect("call").to_owned())
        .collect()
}

/// register, stake, create (funded), claim, start, submit, revise, resubmit, approve — then
/// balances, states and reputation on-chain; plus a DRAFT funded with approve and cancelled.
#[tokio::test(flavor = "multi_thread")]
async fn whole_run_lifecycle() {
    let env = Env::new().await;
    let funded = Usdc::whole(FUNDED_USDC).base_units();

    // The agent registers and stakes the minimum (a permit: one transaction, no approve).
    let registered = env.json(AGENT, &["agent", "register", "ipfs://agent-metadata"]);
    assert_eq!(registered["agentId"], 1, "{registered}");
    assert_eq!(events(&registered, "AgentRegistered")[0]["metadataURI"], "ipfs://agent-metadata");
    let staked = env.json(AGENT, &["agent", "stake", "20"]);
    assert_eq!(calls(&staked), ["StakeVault.stakeWithPermit(20)"], "{staked}");
    assert_eq!(staked["stake"], "20000000");
    assert_eq!(staked["status"], "PROVISIONAL");

    // The poster creates and funds run 1 in one transaction.
    let created = env.json(
        POSTER,
        &["run", "create", "--spec", "ipfs://spec-1", "--reward", "100", "--deadline", "7d"],
    );
    assert_eq!(created["runId"], 1, "{created}");
    assert_eq!(calls(&created), ["RunEscrow.createAndFundWithPermit"]);
    let run_created = events(&created, "RunCreated")[0];
    assert_eq!(run_created["reward"], "100000000");
    assert_eq!(run_created["fee"], "5000000");
    assert_eq!(run_created["maxRevisions"], 3);
    // Every snapshotted term is in the event, flattened from the ABI's Terms struct.
    assert_eq!(run_created["requiredStake"], "20000000");
    assert_eq!(run_created["arbitrator"], env.address(ARBITER).to_checksum(None));
    assert_eq!(run_created["disputeWindow"], 259_200);
    assert_eq!(events(&created, "RunFunded")[0]["amount"], "105000000");
    assert_eq!(env.usdc_of(POSTER).await, funded - usdc("105"));

    // Human output: the transaction, its events and a summary on stdout.
    let claimed = env.ok(AGENT, &["agent", "claim", "1"]);
    assert!(claimed.contains("RunEscrow.claim(1, 1): tx 0x"), "{claimed}");
    assert!(claimed.contains("  Claimed(runId: 1, agentId: 1, wallet: "), "{claimed}");
    assert!(claimed.contains("run 1 is CLAIMED; submit by "), "{claimed}");

    assert_eq!(env.json(AGENT, &["agent", "start", "1"])["state"], "IN_PROGRESS");
    let submitted = env.json(AGENT, &["agent", "submit", "1", "ipfs://deliverable-v1"]);
    assert_eq!(submitted["state"], "SUBMITTED");
    assert_eq!(events(&submitted, "Submitted")[0]["deliverableURI"], "ipfs://deliverable-v1");

    let revised = env.json(POSTER, &["run", "revise", "1", "--reason", "add tests"]);
    assert_eq!(revised["state"], "REVISION_REQUESTED");
    assert_eq!(events(&revised, "RevisionRequested")[0]["reasonURI"], "add tests");
    assert_eq!(events(&revised, "RevisionRequested")[0]["revisionCount"], 1);

    let resubmitted = env.json(AGENT, &["agent", "submit", "1", "ipfs://deliverable-v2"]);
    assert_eq!(events(&resubmitted, "Submitted")[0]["revisionCount"], 1);

    // While SUBMITTED, `show` gives the review deadline; approve pays out.
    let shown = env.json(BYSTANDER, &["run", "show", "1"]);
    assert_eq!(shown["state"], "SUBMITTED");
    assert!(shown["reviewEndsAt"].is_string(), "{shown}");
    assert!(shown["slashableByPosterAfter"].is_null(), "{shown}");

    let approved = env.json(POSTER, &["run", "approve", "1"]);
    assert_eq!(approved["state"], "APPROVED");
    let event = events(&approved, "Approved")[0];
    assert_eq!(
        (event["reward"].as_str(), event["fee"].as_str()),
        (Some("100000000"), Some("5000000"))
    );
    assert_eq!(event["onTimeout"], false);

    // On-chain: the poster paid reward + fee, the agent got the reward, the fee accrued for the
    // treasury, and the claim's reservation was released.
    assert_eq!(env.usdc_of(POSTER).await, funded - usdc("105"));
    assert_eq!(env.usdc_of(AGENT).await, funded - usdc("20") + usdc("100"));
    assert_eq!(env.escrow().accruedFees().call().await.unwrap(), usdc("5"));
    assert_eq!(env.run_state(1).await, RunState::Approved);
    let agent = env.vault().getAgent(U256::from(1)).call().await.expect("getAgent");
    assert_eq!((agent.claims, agent.completions, agent.reserved), (1, 1, U256::ZERO));
    assert_eq!(agent.volume, usdc("100"));
    assert_eq!(agent.stake, usdc("20"));

    // `show` reads the chain directly, for people and as JSON.
    let shown = env.json(BYSTANDER, &["run", "show", "1"]);
    assert_eq!(shown["state"], "APPROVED");
    assert_eq!(shown["settled"], true);
    assert_eq!(shown["requiredStake"], "20000000");
    assert_eq!(shown["termsVersion"], 1);
    assert_eq!(shown["arbitrator"], env.address(ARBITER).to_checksum(None));
    assert_eq!(shown["reward"], "100000000");
    assert_eq!(shown["revisionCount"], 1);
    assert_eq!(shown["agentId"], 1);
    assert_eq!(shown["poster"], env.address(POSTER).to_checksum(None));
    let human = env.ok(BYSTANDER, &["run", "show", "1"]);
    assert!(human.contains("state "), "{human}");
    assert!(human.contains("APPROVED"), "{human}");
    assert!(human.contains("100 USDC"), "{human}");
    let agent_shown = env.json(BYSTANDER, &["agent", "show", "1"]);
    assert_eq!(agent_shown["completions"], 1);
    assert_eq!(agent_shown["volume"], "100000000");
    assert_eq!(agent_shown["status"], "PROVISIONAL");
    assert_eq!(
        (&agent_shown["reservedStake"], &agent_shown["freeStake"]),
        (&"0".into(), &"20000000".into())
    );
    assert_eq!(agent_shown["disputesWon"], 0);
    let by_address =
        env.json(BYSTANDER, &["agent", "show", "--address", &env.address(AGENT).to_string()]);
    assert_eq!(by_address["agentId"], 1);

    // A DRAFT funded later through a plain approve (--no-permit), then cancelled: refunded.
    let draft = env.json(
        POSTER,
        &[
            "run",
            "create",
            "--spec",
            "ipfs://spec-2",
            "--reward",
            "12.5",
            "--no-fund",
            "--max-revisions",
            "0",
        ],
    );
    assert_eq!(draft["runId"], 2);
    assert_eq!(calls(&draft), ["RunEscrow.createRun"]);
    assert_eq!(env.run_state(2).await, RunState::Draft);
    let fund = env.json(POSTER, &["run", "fund", "2", "--no-permit"]);
    let fund_calls = calls(&fund);
    assert!(fund_calls[0].starts_with("USDC.approve("), "{fund_calls:?}");
    assert_eq!(fund_calls[1], "RunEscrow.fund(2)");
    assert_eq!(events(&fund, "Approval")[0]["value"], "13125000");
    assert_eq!(events(&fund, "RunFunded")[0]["amount"], "13125000");
    assert_eq!(env.usdc_of(POSTER).await, funded - usdc("105") - usdc("13.125"));
    let cancelled = env.json(POSTER, &["run", "cancel", "2"]);
    assert_eq!(cancelled["state"], "CANCELLED");
    assert_eq!(events(&cancelled, "RunCancelled")[0]["refund"], "13125000");
    assert_eq!(env.usdc_of(POSTER).await, funded - usdc("105"));
}

/// A silent agent is slashed after the claim timeout: its stake goes to the poster and the run
/// reopens; later the unclaimed run expires and is refunded.
#[tokio::test(flavor = "multi_thread")]
async fn slash_after_timeout_then_expire() {
    let env = Env::new().await;
    let funded = Usdc::whole(FUNDED_USDC).base_units();
    env.ok(AGENT, &["agent", "register", "ipfs://agent"]);
    env.ok(AGENT, &["agent", "stake", "20", "--no-permit"]);
    env.ok(
        POSTER,
        &["run", "create", "--spec", "ipfs://spec", "--reward", "50", "--deadline", "30d"],
    );
    env.ok(AGENT, &["agent", "claim", "1"]);

    // Too early: the claim timeout (7 days) has not passed.
    let stderr = env.fails(POSTER, &["run", "slash", "1"]);
    assert!(
        stderr.starts_with("error: RunEscrowClaimNotTimedOut(runId: 1, slashableAfter: "),
        "{stderr}"
    );
    assert!(stderr.contains("\nhint: the agent still has time to submit"), "{stderr}");

    // The claim reserves the agent's stake: none of it is free to unstake.
    let stderr = env.fails(AGENT, &["agent", "unstake", "20"]);
    assert!(
        stderr.starts_with(
            "error: StakeVaultInsufficientFreeStake(agentId: 1, free: 0, requested: 20000000)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("hint: only 0 USDC of agent 1's stake is free"), "{stderr}");

    let shown = env.json(BYSTANDER, &["run", "show", "1"]);
    assert!(shown["slashableByPosterAfter"].is_string(), "{shown}");

    runs_testkit::increase_time(&env.anvil, WEEK + 1).await;
    let poster_before = env.usdc_of(POSTER).await;
    let slashed = env.json(POSTER, &["run", "slash", "1"]);
    assert_eq!(slashed["state"], "OPEN", "{slashed}");
    let event = events(&slashed, "Slashed")[0];
    assert_eq!(event["amount"], "20000000");
    assert_eq!(event["newState"], "OPEN");
    assert_eq!(events(&slashed, "AgentStatusChanged")[0]["current"], "FROZEN");

    assert_eq!(env.usdc_of(POSTER).await, poster_before + usdc("20"));
    assert_eq!(env.usdc_of(AGENT).await, funded - usdc("20"));
    assert_eq!(env.run_state(1).await, RunState::Open);
    let run = env.escrow().getRun(U256::from(1)).call().await.expect("getRun");
    assert_eq!(run.agentId, U256::ZERO);
    let agent = env.vault().getAgent(U256::from(1)).call().await.expect("getAgent");
    assert_eq!((agent.stake, agent.reserved, agent.strikes), (U256::ZERO, U256::ZERO, 1));
    assert_eq!(AgentStatus::try_from(agent.status).unwrap(), AgentStatus::Frozen);

    // The slashed agent may never claim this run again.
    let stderr = env.fails(AGENT, &["agent", "claim", "1"]);
    assert!(
        stderr.starts_with("error: RunEscrowNotClaimable(runId: 1, agentId: 1, reasons: ["),
        "{stderr}"
    );
    assert!(stderr.contains("AGENT_SLASHED_ON_RUN"), "{stderr}");
    assert!(stderr.contains("AGENT_FROZEN"), "{stderr}");

    // Nobody claims it; past the deadline anyone expires it and the poster is refunded.
    let stderr = env.fails(BYSTANDER, &["run", "expire", "1"]);
    assert!(
        stderr.starts_with("error: RunEscrowDeadlineNotPassed(runId: 1, deadline: "),
        "{stderr}"
    );
    runs_testkit::increase_time(&env.anvil, 30 * 86_400).await;
    let poster_before = env.usdc_of(POSTER).await;
    let expired = env.json(BYSTANDER, &["run", "expire", "1"]);
    assert_eq!(expired["state"], "EXPIRED");
    assert_eq!(events(&expired, "RunExpired")[0]["refund"], "52500000");
    assert_eq!(env.usdc_of(POSTER).await, poster_before + usdc("52.5"));
}

/// Each bad input gets the decoded error (or a clear message), a hint and exit code 1.
#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_explained() {
    let env = Env::new().await;

    // Claiming one's own run: the poster is also a staked agent.
    env.ok(POSTER, &["agent", "register", "ipfs://poster-as-agent"]);
    env.ok(POSTER, &["agent", "stake", "20"]);
    env.ok(POSTER, &["run", "create", "--spec", "ipfs://spec", "--reward", "10"]);
    let stderr = env.fails(POSTER, &["agent", "claim", "1"]);
    assert!(
        stderr.starts_with(
            "error: RunEscrowNotClaimable(runId: 1, agentId: 1, reasons: [AGENT_IS_POSTER])\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("hint: cannot claim because AGENT_IS_POSTER"), "{stderr}");

    // Approving someone else's run.
    let stderr = env.fails(BYSTANDER, &["run", "approve", "1"]);
    let bystander = env.address(BYSTANDER).to_checksum(None);
    assert!(
        stderr.starts_with(&format!("error: RunEscrowNotPoster(runId: 1, caller: {bystander})\n")),
        "{stderr}"
    );
    assert!(stderr.contains("hint: only the run's poster may do this"), "{stderr}");

    // Approving in the wrong state.
    let stderr = env.fails(POSTER, &["run", "approve", "1"]);
    assert!(
        stderr.starts_with("error: RunEscrowInvalidState(runId: 1, state: OPEN)\n"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: the run is OPEN; "), "{stderr}");

    // A zero reward.
    let stderr = env.fails(POSTER, &["run", "create", "--spec", "ipfs://spec", "--reward", "0"]);
    assert!(stderr.starts_with("error: RunEscrowZeroReward()\n"), "{stderr}");

    // Not enough USDC (account 0 holds none): nothing is sent.
    let nonce_before = nonce(&env, ARBITER).await;
    let stderr = env.fails(ARBITER, &["run", "create", "--spec", "ipfs://spec", "--reward", "100"]);
    assert!(
        stderr.starts_with("error: insufficient USDC: have 0, need 105 (reward 100 + fee 5)\n"),
        "{stderr}"
    );
    assert!(stderr.contains("hint: this is a dev chain with MockUSDC"), "{stderr}");
    assert_eq!(nonce(&env, ARBITER).await, nonce_before);
    let stderr = env.fails(ARBITER, &["agent", "claim", "1"]);
    assert!(stderr.contains("is not registered as an agent"), "{stderr}");

    // The arbitrator may not post runs, even as a draft.
    let stderr = env
        .fails(ARBITER, &["run", "create", "--spec", "ipfs://spec", "--reward", "1", "--no-fund"]);
    let arbiter = env.address(ARBITER).to_checksum(None);
    assert!(
        stderr.starts_with(&format!("error: RunEscrowPosterIsArbitrator(poster: {arbiter})\n")),
        "{stderr}"
    );
    assert!(stderr.contains("hint: ") && stderr.contains("may not post runs"), "{stderr}");

    // Terms that do not exist (the current version is 1).
    let stderr = env.fails(
        POSTER,
        &["run", "create", "--spec", "ipfs://spec", "--reward", "1", "--terms-version", "9"],
    );
    assert!(stderr.starts_with("error: RunEscrowUnknownTerms(version: 9)\n"), "{stderr}");
    assert!(stderr.contains("hint: there is no terms version 9"), "{stderr}");

    // A required stake below the minimum.
    let stderr = env.fails(
        POSTER,
        &["run", "create", "--spec", "ipfs://spec", "--reward", "1", "--required-stake", "5"],
    );
    assert!(
        stderr.starts_with(
            "error: RunEscrowStakeBelowMinimum(requiredStake: 5000000, minStake: 20000000)\n"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("hint: --required-stake 5 USDC is below the minimum"), "{stderr}");

    // A ruling the contract would refuse is refused before anything is signed.
    let stderr =
        env.fails(ARBITER, &["arbiter", "resolve", "1", "--agent-share", "60", "--strike"]);
    assert!(stderr.starts_with("error: --strike with --agent-share 60%\n"), "{stderr}");
    assert!(stderr.contains("hint: a strike goes only with"), "{stderr}");

    // Unknown run ids, for reads and for transactions.
    let stderr = env.fails(BYSTANDER, &["run", "show", "99"]);
    assert!(stderr.starts_with("error: RunEscrowRunNotFound(runId: 99)\n"), "{stderr}");
    let stderr = env.fails(POSTER, &["run", "cancel", "99", "--json"]);
    assert!(stderr.starts_with("error: RunEscrowRunNotFound(runId: 99)\n"), "{stderr}");
    assert!(stderr.contains("hint: there is no run 99"), "{stderr}");

    // No deployment for this chain in the deployments directory.
    let empty = tempfile::tempdir().unwrap();
    let stderr = env
        .fails(BYSTANDER, &["run", "show", "1", "--deployments", empty.path().to_str().unwrap()]);
    assert!(stderr.contains("no deployment for chain 31337"), "{stderr}");

    // A wrong RPC URL (nothing listens on port 1).
    let stderr = env.fails(BYSTANDER, &["run", "show", "1", "--rpc-url", "http://127.0.0.1:1"]);
    assert!(stderr.contains("cannot reach the RPC endpoint at http://127.0.0.1:1"), "{stderr}");

    // Malformed amounts never reach the chain (clap's usage error, exit code 2).
    let out = env.runs(POSTER, &["run", "create", "--spec", "x", "--reward", "1.0000001"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        texts(&out).1.contains("has 7 decimal places, USDC has at most 6"),
        "{}",
        texts(&out).1
    );
    let out =
        env.runs(POSTER, &["run", "create", "--spec", "x", "--reward", "1", "--deadline", "soon"]);
    assert_eq!(out.status.code(), Some(2));
}

/// Creates a funded run with no revisions (so the poster may reject its first submission),
/// has the agent claim and submit it, and returns its id.
fn submitted_run(env: &Env, reward: &str) -> u64 {
    let created = env.json(
        POSTER,
        &["run", "create", "--spec", "ipfs://spec", "--reward", reward, "--max-revisions", "0"],
    );
    let id = created["runId"].as_u64().expect("runId");
    env.ok(AGENT, &["agent", "claim", &id.to_string()]);
    env.ok(AGENT, &["agent", "submit", &id.to_string(), "ipfs://deliverable"]);
    id
}

/// The poster rejects (posting a bond), the agent disputes, both add evidence, the arbitrator
/// rules 60% for the agent: the money splits as ruled and the bond goes to the agent.
#[tokio::test(flavor = "multi_thread")]
async fn reject_dispute_resolve() {
    let env = Env::new().await;
    let funded = Usdc::whole(FUNDED_USDC).base_units();
    env.ok(AGENT, &["agent", "register", "ipfs://agent"]);
    env.ok(AGENT, &["agent", "stake", "20"]);
    let id = submitted_run(&env, "100");

    // Reject posts a bond equal to the required stake (a permit: one transaction).
    let rejected = env.json(POSTER, &["run", "reject", "1", "--reason", "ipfs://why"]);
    assert_eq!(calls(&rejected), ["RunEscrow.rejectWithPermit(1)"], "{rejected}");
    assert_eq!((&rejected["state"], &rejected["settled"]), (&"REJECTED".into(), &false.into()));
    let event = events(&rejected, "Rejected")[0];
    assert_eq!((&event["reasonURI"], &event["bond"]), (&"ipfs://why".into(), &"20000000".into()));
    assert_eq!(env.usdc_of(POSTER).await, funded - usdc("105") - usdc("20"));
    let shown = env.json(BYSTANDER, &["run", "show", "1"]);
    assert!(shown["disputeWindowEndsAt"].is_string(), "{shown}");

    // Nobody can make it final while the agent may still dispute.
    let stderr = env.fails(BYSTANDER, &["run", "finalize-rejection", "1"]);
    assert!(stderr.starts_with("error: RunEscrowDisputeWindowOpen(runId: 1, "), "{stderr}");
    assert!(stderr.contains("`runs agent accept-rejection 1`"), "{stderr}");

    let human = env.ok(AGENT, &["agent", "dispute", "1", "--evidence", "ipfs://my-case"]);
    assert!(human.contains("  Disputed(runId: 1, agentId: 1, arbitrator: "), "{human}");
    assert!(human.contains("evidenceURI: \"ipfs://my-case\""), "{human}");
    assert!(human.contains("run 1 is DISPUTED; the arbitrator "), "{human}");
    let evidence = env.json(POSTER, &["evidence", "1", "ipfs://poster-evidence"]);
    assert_eq!(
        events(&evidence, "EvidenceSubmitted")[0]["by"],
        env.address(POSTER).to_checksum(None)
    );
    let stderr = env.fails(BYSTANDER, &["evidence", "1", "ipfs://spam"]);
    assert!(stderr.starts_with("error: RunEscrowNotParty(runId: 1, "), "{stderr}");

    // Only the run's arbitrator rules, and not twice; the default split waits for the period.
    let stderr = env.fails(POSTER, &["arbiter", "resolve", "1", "--agent-share", "0"]);
    assert!(stderr.starts_with("error: RunEscrowNotArbitrator(runId: 1, "), "{stderr}");
    assert!(stderr.contains("hint: only the arbitrator in run 1's terms"), "{stderr}");
    let stderr = env.fails(BYSTANDER, &["run", "settle-dispute", "1"]);
    assert!(stderr.starts_with("error: RunEscrowRulingPeriodOpen(runId: 1, "), "{stderr}");

    let resolved =
        env.json(ARBITER, &["arbiter", "resolve", &id.to_string(), "--agent-share", "60"]);
    assert_eq!((&resolved["state"], &resolved["settled"]), (&"RESOLVED".into(), &true.into()));
    let ruling = events(&resolved, "DisputeResolved")[0];
    assert_eq!(ruling["agentShareBps"], 6000);
    assert_eq!(ruling["toAgent"], "60000000");
    assert_eq!(ruling["toTreasury"], "3000000");
    assert_eq!(ruling["toPoster"], "42000000");
    assert_eq!((&ruling["bond"], &ruling["byDefault"]), (&"20000000".into(), &false.into()));

    // The agent: its share and the poster's bond, its stake back free; the poster: the rest.
    assert_eq!(env.usdc_of(AGENT).await, funded - usdc("20") + usdc("60") + usdc("20"));
    assert_eq!(env.usdc_of(POSTER).await, funded - usdc("125") + usdc("42"));
    let agent = env.vault().getAgent(U256::from(1)).call().await.expect("getAgent");
    assert_eq!((agent.stake, agent.reserved), (usdc("20"), U256::ZERO));
    assert_eq!((agent.disputesWon, agent.completions), (1, 1));
    let stderr = env.fails(ARBITER, &["arbiter", "resolve", "1", "--agent-share", "0"]);
    assert!(
        stderr.starts_with("error: RunEscrowInvalidState(runId: 1, state: RESOLVED)"),
        "{stderr}"
    );
}

/// The agent accepts a rejection (settled at once: the poster gets everything back); a poster
/// that missed the review period can no longer reject, only approve.
#[tokio::test(flavor = "multi_thread")]
async fn reject_then_accept_rejection_and_the_review_period_binds() {
    let env = Env::new().await;
    let funded = Usdc::whole(FUNDED_USDC).base_units();
    env.ok(AGENT, &["agent", "register", "ipfs://agent"]);
    env.ok(AGENT, &["agent", "stake", "40"]);
    submitted_run(&env, "50");

    // With --no-permit the bond is approved first, like the reward + fee of `run create`.
    let rejected =
        env.json(POSTER, &["run", "reject", "1", "--reason", "ipfs://why", "--no-permit"]);
    let rejected_calls = calls(&rejected);
    assert!(rejected_calls[0].starts_with("USDC.approve("), "{rejected_calls:?}");
    assert_eq!(rejected_calls[1], "RunEscrow.reject(1)");
    assert_eq!(events(&rejected, "Approval")[0]["value"], "20000000");

    let accepted = env.json(AGENT, &["agent", "accept-rejection", "1"]);
    assert_eq!((&accepted["state"], &accepted["settled"]), (&"REJECTED".into(), &true.into()));
    let event = events(&accepted, "RejectionFinalized")[0];
    assert_eq!((&event["refund"], &event["byAgent"]), (&"72500000".into(), &true.into()));
    assert_eq!(env.usdc_of(POSTER).await, funded, "reward, fee and bond back");
    let agent = env.vault().getAgent(U256::from(1)).call().await.expect("getAgent");
    assert_eq!((agent.stake, agent.reserved, agent.rejections), (usdc("40"), U256::ZERO, 1));
    let stderr = env.fails(AGENT, &["agent", "dispute", "1", "--evidence", "ipfs://late"]);
    assert!(stderr.starts_with("error: RunEscrowAlreadySettled(runId: 1)"), "{stderr}");

    // A second submission the poster leaves past the review period: rejecting is over.
    submitted_run(&env, "10");
    runs_testkit::increase_time(&env.anvil, WEEK + 1).await;
    let stderr = env.fails(POSTER, &["run", "reject", "2", "--reason", "ipfs://too-late"]);
    assert!(stderr.starts_with("error: RunEscrowReviewPeriodOver(runId: 2, "), "{stderr}");
    assert!(stderr.contains("only approve (or anyone's approve-on-timeout) is left"), "{stderr}");
    let approved = env.json(BYSTANDER, &["run", "approve-timeout", "2"]);
    assert_eq!(approved["state"], "APPROVED");
    assert_eq!(events(&approved, "Approved")[0]["onTimeout"], true);
}

/// An agent hands a claim back: the run is OPEN again, the reservation goes to the poster, and
/// the agent is neither struck nor frozen (UNVERIFIED, since nothing is left staked).
#[tokio::test(flavor = "multi_thread")]
async fn abandon_reopens_the_run() {
    let env = Env::new().await;
    env.ok(AGENT, &["agent", "register", "ipfs://agent"]);
    env.ok(AGENT, &["agent", "stake", "20"]);
    env.ok(POSTER, &["run", "create", "--spec", "ipfs://spec", "--reward", "30"]);
    env.ok(AGENT, &["agent", "claim", "1"]);
    let poster_before = env.usdc_of(POSTER).await;

    let abandoned = env.json(AGENT, &["agent", "abandon", "1"]);
    assert_eq!(abandoned["state"], "OPEN", "{abandoned}");
    assert_eq!(events(&abandoned, "Abandoned")[0]["stakeForfeited"], "20000000");
    assert_eq!(env.usdc_of(POSTER).await, poster_before + usdc("20"));
    let run = env.escrow().getRun(U256::from(1)).call().await.expect("getRun");
    assert_eq!(run.agentId, U256::ZERO);
    let agent = env.json(BYSTANDER, &["agent", "show", "1"]);
    assert_eq!((&agent["stake"], &agent["strikes"]), (&"0".into(), &0.into()));
    assert_eq!((&agent["status"], &agent["frozen"]), (&"UNVERIFIED".into(), &false.into()));

    // Abandoning again, now that it holds nothing, is refused: it is no longer the run's agent.
    let stderr = env.fails(AGENT, &["agent", "abandon", "1"]);
    assert!(stderr.starts_with("error: RunEscrowNotAgent(runId: 1, "), "{stderr}");
    assert!(stderr.contains("hint: only the wallet of the agent holding run 1"), "{stderr}");
}

async fn nonce(env: &Env, account: usize) -> u64 {
    use alloy::providers::Provider;
    runs_testkit::read_provider(&env.anvil)
        .get_transaction_count(env.address(account))
        .await
        .expect("nonce")
}

/// The README's walk-through, run as written (`runs deploy` included) against a fresh Anvil:
/// every `sh` line of its "Walk-through on Anvil" section must succeed, except the ones marked
/// `# fails`, which must fail. Only the Anvil URL and the `runs` shell function (the binary under
/// test instead of `cargo run`) are substituted; the deployments directory is a temporary one.
#[tokio::test(flavor = "multi_thread")]
async fn readme_walkthrough_runs_as_written() {
    // RUNS_WALKTHROUGH_README checks a draft of the section before it is merged into README.md.
    let readme_path = std::env::var_os("RUNS_WALKTHROUGH_README")
        .map_or_else(|| runs_testkit::repo_root().join("README.md"), std::path::PathBuf::from);
    let readme = std::fs::read_to_string(&readme_path)
        .unwrap_or_else(|err| panic!("reading {}: {err}", readme_path.display()));
    let heading = "### Walk-through on Anvil";
    let start = readme.find(heading).unwrap_or_else(|| {
        panic!("{} has no {heading:?} section (the wallet walk-through)", readme_path.display())
    });
    let section = &readme[start..];
    let section = &section
        [..section[heading.len()..].find("\n## ").map_or(section.len(), |i| i + heading.len())];
    let blocks: Vec<&str> =
        section.split("```sh\n").skip(1).map(|rest| rest.split("```").next().unwrap()).collect();
    assert_eq!(
        blocks.first().map(|b| b.trim()),
        Some(".bin/anvil"),
        "the walk-through starts anvil first"
    );

    let anvil = runs_testkit::spawn_anvil();
    let deployments = tempfile::tempdir().unwrap();
    let mut script = vec!["set -u".to_owned()];
    let mut commands = 0;
    for block in &blocks[1..] {
        for line in block.replace("\\\n", " ").lines().filter(|l| !l.trim().is_empty()) {
            let line = line.replace("http://127.0.0.1:8545", &runs_testkit::rpc_url(&anvil));
            let shown = line.replace('\'', "'\\''");
            script.push(format!("echo '$ {shown}' >&2"));
            if line.starts_with("runs()") {
                script.push(r#"runs() { "$RUNS_BIN" "$@"; }"#.to_owned());
            } else if line.starts_with("export ") || line.contains("_KEY=0x") {
                script.push(line.clone());
            } else if let Some((command, _)) = line.split_once("# fails") {
                script
                    .push(format!("if {command}; then echo 'expected a failure' >&2; exit 1; fi"));
                commands += 1;
            } else {
                script.push(format!("{line} || exit 1"));
                commands += 1;
            }
        }
    }
    assert!(commands >= 15, "the walk-through has only {commands} commands");
    let out = Command::new("bash")
        .arg("-c")
        .arg(script.join("\n"))
        .current_dir(runs_testkit::repo_root())
        .env("RUNS_BIN", env!("CARGO_BIN_EXE_runs"))
        .env("RUNS_DEPLOYMENTS", deployments.path())
        .env_remove("PRIVATE_KEY")
        .env_remove("RPC_URL")
        .env_remove("RUNS_JSON")
        .output()
        .expect("running bash");
    let (stdout, stderr) = texts(&out);
    assert!(out.status.success(), "the walk-through failed:\n{stderr}\nstdout:\n{stdout}");
    assert!(stdout.contains("run 1 is APPROVED"), "{stdout}");
    assert!(stdout.contains("run 2 is OPEN"), "{stdout}");
    assert!(stdout.contains("run 3 is DISPUTED"), "{stdout}");
    assert!(stdout.contains("run 3 is RESOLVED"), "{stdout}");
    assert!(stderr.contains("error: RunEscrowClaimNotTimedOut(runId: 2"), "{stderr}");
}
