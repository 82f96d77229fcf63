//! The seed plan: who does what, in which order, and how far the clock moves.
//!
//! Accounts (Anvil's defaults): 0 deploys and is the arbitrator (the dev chain's default; it
//! posts and claims nothing, as an arbitrator may not); 1-3 are posters (alice, bob, carol); 4-9
//! are agents. A claim reserves the run's required stake (the minimum here) until the run
//! settles, so each agent stakes enough for the claims it holds at once:
//!
//! | agent  | stake (× min) | ends as      | how |
//! |--------|---------------|--------------|-----|
//! | atlas  | 10            | ESTABLISHED  | 5 approved runs, 30+ days since staking; wins a ruling, abandons one run, accepts a rejection, has a dispute settled by default |
//! | beacon | 5             | PROVISIONAL  | a rejection made final, a live dispute, live claims |
//! | cobalt | 2.5           | FROZEN       | slashed once for a silent claim (run back to OPEN) |
//! | drift  | 0.25          | UNVERIFIED   | registered, under the minimum |
//! | ember  | 2             | PROVISIONAL  | approved on timeout, part of its stake pending withdrawal |
//! | fallow | 3             | BANNED       | three silent claims slashed (one run EXPIRED by the slash) |
//!
//! Phase 1 (history) happens at the chain's start time; the clock then jumps past the claim
//! timeout, the review period and the dispute window (slashes, expiry, approval on timeout, a
//! rejection made final), then past the ESTABLISHED age and the ruling period (a dispute settled
//! by default); phase 2 (live runs in DRAFT, OPEN, CLAIMED, IN_PROGRESS, SUBMITTED,
//! REVISION_REQUESTED, an open rejection, a dispute awaiting its ruling, and freshly APPROVED,
//! RESOLVED and accepted-REJECTED runs) happens at the new time, with deadlines weeks ahead.

use alloy::{
    primitives::{Address, U256},
    providers::{Provider, ProviderBuilder},
    signers::local::PrivateKeySigner,
    transports::http::reqwest::Url,
};
use runs_bindings::{RunEscrow, StakeVault};
use runs_primitives::{AgentId, AgentStatus, DeploymentManifest, RunId, RunState, Usdc};
use tracing::info;

use crate::{Actor, Error, Result, advance_time, chain_time};

const HOUR: u64 = 3_600;
const DAY: u64 = 86_400;

/// Accounts the plan uses (Anvil's ten).
const ACCOUNTS: usize = 10;

/// Which dev account plays which part (indices into the signers given to [`seed`]).
#[derive(Debug, Clone, Copy)]
pub struct Roles;

impl Roles {
    /// The posters: alice, bob, carol.
    pub const POSTERS: [usize; 3] = [1, 2, 3];
    /// The agents: atlas, beacon, cobalt, drift, ember, fallow.
    pub const AGENTS: [usize; 6] = [4, 5, 6, 7, 8, 9];
}

/// What [`seed`] created, with the state each run and agent ended in (checked on chain).
#[derive(Debug, Clone, Default)]
pub struct SeedReport {
    /// The agents, by id.
    pub agents: Vec<SeededAgent>,
    /// The runs, by id.
    pub runs: Vec<SeededRun>,
    /// Seconds the chain's clock was moved forward.
    pub advanced: u64,
}

impl SeedReport {
    /// The runs that ended in `state`.
    pub fn runs_in(&self, state: RunState) -> impl Iterator<Item = &SeededRun> {
        self.runs.iter().filter(move |run| run.state == state)
    }
}

/// One seeded agent.
#[derive(Debug, Clone)]
pub struct SeededAgent {
    /// Its id.
    pub id: AgentId,
    /// Its name (in its metadata URI).
    pub name: &'static str,
    /// Its wallet.
    pub wallet: Address,
    /// Its status at the end of seeding.
    pub status: AgentStatus,
}

/// One seeded run.
#[derive(Debug, Clone)]
pub struct SeededRun {
    /// Its id.
    pub id: RunId,
    /// A short description (the slug of its spec URI).
    pub title: &'static str,
    /// Its poster.
    pub poster: Address,
    /// Its state at the end of seeding.
    pub state: RunState,
    /// Whether its money is paid out (`getRun().settled`): every terminal state, and a REJECTED
    /// run once the rejection is final.
    pub settled: bool,
}

/// Seeds the marketplace of `manifest` on the dev chain at `rpc_url`, acting as `signers`
/// (Anvil's ten accounts; 1-9 must hold enough USDC: a few thousand each) and reporting each
/// step to `progress`. Moves the chain's clock forward (`evm_increaseTime`), so it needs an
/// Anvil (or Hardhat) node. Checks at the end that every run and agent is in the state the plan
/// aimed for.
pub async fn seed(
    rpc_url: &Url,
    manifest: &DeploymentManifest,
    signers: &[PrivateKeySigner],
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<SeedReport> {
    if signers.len() < ACCOUNTS {
        return Err(Error::NotEnoughAccounts { needed: ACCOUNTS, got: signers.len() });
    }
    let actor = |index: usize| Actor::new(rpc_url.clone(), manifest, signers[index].clone());
    let arbiter = signers
        .iter()
        .position(|signer| signer.address() == manifest.parameters.arbitrator)
        .filter(|index| !Roles::POSTERS.contains(index) && !Roles::AGENTS.contains(index))
        .map(actor)
        .ok_or(Error::ArbitratorNotADevAccount(manifest.parameters.arbitrator))?;
    let [alice, bob, carol] = Roles::POSTERS.map(actor);
    let [atlas, beacon, cobalt, drift, ember, fallow] = Roles::AGENTS.map(actor);
    let reader = ProviderBuilder::new().connect_http(rpc_url.clone()).erased();
    let params = &manifest.parameters;
    let min = params.min_stake;
    let mut plan = Plan::default();

    progress("approving USDC for the posters and agents");
    for who in [&alice, &bob, &carol, &atlas, &beacon, &cobalt, &drift, &ember, &fallow] {
        who.approve_all().await?;
    }

    progress("registering and staking 6 agents");
    let mut agent_ids = Vec::new();
    for (who, name, quarters) in [
        (&atlas, "atlas", 40),
        (&beacon, "beacon", 20),
        (&cobalt, "cobalt", 10),
        (&drift, "drift", 1),
        (&ember, "ember", 8),
        (&fallow, "fallow", 12),
    ] {
        let id = who.register(&format!("ipfs://devnet/agents/{name}.json")).await?;
        let amount = quarters_of(min, quarters);
        if !amount.is_zero() {
            who.stake(amount).await?;
        }
        plan.agent(id, name, who.address);
        agent_ids.push(id);
    }
    let [atlas_id, beacon_id, cobalt_id, _drift_id, ember_id, fallow_id] =
        agent_ids.try_into().expect("six agents");

    let t0 = chain_time(&reader).await?;
    // The first jump passes the claim timeout (slashes), the review period (approval on timeout)
    // and the dispute window (a final rejection); the second completes the ESTABLISHED age
    // counted from atlas's first stake and the ruling period of the phase-1 dispute.
    let jump1 = params.claim_timeout.max(params.review_period).max(params.dispute_window) + HOUR;
    let jump2 = params.established_age.max(params.ruling_period).saturating_sub(jump1) + HOUR;
    let far = t0 + jump1 + jump2 + 60 * DAY;
    let short = t0 + jump1 / 2;

    let completions = params.established_completions.min(10);
    progress(&format!("atlas completes {completions} runs (one after a revision)"));
    let history = [
        ("landing-page-copy", &alice, 40),
        ("scrape-product-catalog", &bob, 75),
        ("summarize-earnings-calls", &carol, 120),
        ("translate-docs-es", &alice, 60),
        ("refactor-test-suite", &bob, 250),
        ("label-images", &carol, 35),
        ("write-sql-report", &alice, 90),
        ("triage-issues", &bob, 45),
        ("benchmark-models", &carol, 300),
        ("draft-blog-post", &alice, 50),
    ];
    for (i, (title, poster, reward)) in history.into_iter().take(completions as usize).enumerate() {
        let run = poster.create_and_fund(&spec(title), Usdc::whole(reward), far, 2).await?;
        atlas.claim(run, atlas_id).await?;
        atlas.start(run).await?;
        atlas.submit(run, &deliverable(title, 1)).await?;
        if i == 0 {
            poster.request_revision(run, "please add a pricing section").await?;
            atlas.submit(run, &deliverable(title, 2)).await?;
        }
        poster.approve(run).await?;
        plan.run(run, title, poster.address, RunState::Approved);
    }

    progress("beacon's run is rejected once its revision is used up; atlas disputes another");
    let title = "classify-support-tickets";
    let final_rejection = bob.create_and_fund(&spec(title), Usdc::whole(80), far, 1).await?;
    beacon.claim(final_rejection, beacon_id).await?;
    beacon.submit(final_rejection, &deliverable(title, 1)).await?;
    bob.request_revision(final_rejection, "accuracy below 90%").await?;
    beacon.submit(final_rejection, &deliverable(title, 2)).await?;
    bob.reject(final_rejection, &reason(title)).await?;
    plan.rejected(final_rejection, title, bob.address, true);
    let title = "moderate-forum-posts";
    let unruled = carol.create_and_fund(&spec(title), Usdc::whole(70), far, 0).await?;
    atlas.claim(unruled, atlas_id).await?;
    atlas.submit(unruled, &deliverable(title, 1)).await?;
    carol.reject(unruled, &reason(title)).await?;
    atlas.dispute(unruled, &evidence(title)).await?;
    plan.run(unruled, title, carol.address, RunState::Resolved);

    progress("two runs are cancelled (one as a draft, one funded)");
    let title = "design-logo";
    let run = carol.create_run(&spec(title), Usdc::whole(150), far, 3).await?;
    carol.cancel(run).await?;
    plan.run(run, title, carol.address, RunState::Cancelled);
    let title = "port-app-to-rust";
    let run = alice.create_run(&spec(title), Usdc::whole(500), far, 3).await?;
    alice.fund(run).await?;
    alice.cancel(run).await?;
    plan.run(run, title, alice.address, RunState::Cancelled);

    progress("claims that will time out: cobalt once, fallow three times");
    let title = "expire-unclaimed-audit";
    let expiring = bob.create_and_fund(&spec(title), Usdc::whole(15), short, 0).await?;
    plan.run(expiring, title, bob.address, RunState::Expired);
    let title = "fix-flaky-ci";
    let cobalt_run = alice.create_and_fund(&spec(title), Usdc::whole(80), far, 1).await?;
    cobalt.claim(cobalt_run, cobalt_id).await?;
    cobalt.start(cobalt_run).await?;
    plan.run(cobalt_run, title, alice.address, RunState::Open);
    let mut fallow_runs = Vec::new();
    for (title, deadline, state) in [
        ("transcribe-podcast", short, RunState::Expired),
        ("clean-crm-export", far, RunState::Open),
        ("write-unit-tests", far, RunState::Open),
    ] {
        let run = carol.create_and_fund(&spec(title), Usdc::whole(30), deadline, 1).await?;
        fallow.claim(run, fallow_id).await?;
        plan.run(run, title, carol.address, state);
        fallow_runs.push(run);
    }
    let title = "generate-test-data";
    let timeout_run = bob.create_and_fund(&spec(title), Usdc::whole(25), far, 1).await?;
    ember.claim(timeout_run, ember_id).await?;
    ember.submit(timeout_run, &deliverable(title, 1)).await?;
    plan.run(timeout_run, title, bob.address, RunState::Approved);

    progress(&format!(
        "advancing the clock {} h: expiry, slashes, approval on timeout",
        jump1 / HOUR
    ));
    advance_time(&reader, jump1).await?;
    carol.expire(expiring).await?;
    alice.slash(cobalt_run).await?;
    for run in &fallow_runs {
        carol.slash(*run).await?;
    }
    bob.approve_on_timeout(timeout_run).await?;
    ember.request_unstake(quarters_of(min, 2)).await?;
    carol.finalize_rejection(final_rejection).await?;

    progress(&format!(
        "advancing the clock {} h: atlas becomes ESTABLISHED, an unruled dispute is settled",
        jump2 / HOUR
    ));
    advance_time(&reader, jump2).await?;
    atlas.settle_dispute(unruled).await?;

    progress("live runs: drafts, open, claimed, in progress, submitted, revision requested");
    let now = chain_time(&reader).await?;
    let soon = now + 14 * DAY;
    let later = now + 45 * DAY;
    for (title, poster) in [("research-competitors", &bob), ("annotate-dataset", &carol)] {
        let run = poster.create_run(&spec(title), Usdc::whole(120), later, 2).await?;
        plan.run(run, title, poster.address, RunState::Draft);
    }
    for (title, poster, reward, deadline) in [
        ("build-discord-bot", &alice, "25", soon),
        ("optimize-sql-queries", &bob, "100", later),
        ("audit-smart-contract", &carol, "1200", later),
        ("write-api-docs", &alice, "250.5", soon),
        ("resize-product-photos", &bob, "5.75", later),
    ] {
        let reward: Usdc = reward.parse().expect("literal amount");
        let run = poster.create_and_fund(&spec(title), reward, deadline, 3).await?;
        plan.run(run, title, poster.address, RunState::Open);
    }
    let title = "migrate-database";
    let run = bob.create_and_fund(&spec(title), Usdc::whole(90), later, 2).await?;
    beacon.claim(run, beacon_id).await?;
    plan.run(run, title, bob.address, RunState::Claimed);
    let title = "train-classifier";
    let run = alice.create_and_fund(&spec(title), Usdc::whole(400), later, 2).await?;
    ember.claim(run, ember_id).await?;
    ember.start(run).await?;
    plan.run(run, title, alice.address, RunState::InProgress);
    let title = "write-e2e-tests";
    let run = carol.create_and_fund(&spec(title), Usdc::whole(180), later, 2).await?;
    atlas.claim(run, atlas_id).await?;
    atlas.start(run).await?;
    atlas.submit(run, &deliverable(title, 1)).await?;
    plan.run(run, title, carol.address, RunState::Submitted);
    let title = "redesign-dashboard";
    let run = alice.create_and_fund(&spec(title), Usdc::whole(220), later, 3).await?;
    beacon.claim(run, beacon_id).await?;
    beacon.start(run).await?;
    beacon.submit(run, &deliverable(title, 1)).await?;
    alice.request_revision(run, "dark mode is missing").await?;
    plan.run(run, title, alice.address, RunState::RevisionRequested);
    let title = "proofread-whitepaper";
    let run = bob.create_and_fund(&spec(title), Usdc::whole(65), soon, 1).await?;
    atlas.claim(run, atlas_id).await?;
    atlas.submit(run, &deliverable(title, 1)).await?;
    bob.approve(run).await?;
    plan.run(run, title, bob.address, RunState::Approved);

    progress("live disputes: an open rejection, a dispute awaiting its ruling, a ruling");
    let title = "extract-invoice-fields";
    let run = alice.create_and_fund(&spec(title), Usdc::whole(60), later, 0).await?;
    beacon.claim(run, beacon_id).await?;
    beacon.submit(run, &deliverable(title, 1)).await?;
    alice.reject(run, &reason(title)).await?;
    plan.rejected(run, title, alice.address, false);
    let title = "summarize-research-papers";
    let run = carol.create_and_fund(&spec(title), Usdc::whole(140), later, 0).await?;
    beacon.claim(run, beacon_id).await?;
    beacon.submit(run, &deliverable(title, 1)).await?;
    carol.reject(run, &reason(title)).await?;
    beacon.dispute(run, &evidence(title)).await?;
    carol.submit_evidence(run, &format!("ipfs://devnet/evidence/{title}-poster.json")).await?;
    plan.run(run, title, carol.address, RunState::Disputed);
    let title = "write-marketing-emails";
    let run = alice.create_and_fund(&spec(title), Usdc::whole(110), later, 0).await?;
    atlas.claim(run, atlas_id).await?;
    atlas.submit(run, &deliverable(title, 1)).await?;
    alice.reject(run, &reason(title)).await?;
    atlas.dispute(run, &evidence(title)).await?;
    arbiter.resolve(run, 6_000, false).await?;
    plan.run(run, title, alice.address, RunState::Resolved);
    let title = "generate-podcast-art";
    let run = bob.create_and_fund(&spec(title), Usdc::whole(35), later, 0).await?;
    atlas.claim(run, atlas_id).await?;
    atlas.submit(run, &deliverable(title, 1)).await?;
    bob.reject(run, &reason(title)).await?;
    atlas.accept_rejection(run).await?;
    plan.rejected(run, title, bob.address, true);

    progress("atlas abandons a claim: the run is OPEN again");
    let title = "tag-music-library";
    let run = bob.create_and_fund(&spec(title), Usdc::whole(45), later, 1).await?;
    atlas.claim(run, atlas_id).await?;
    atlas.abandon(run).await?;
    plan.run(run, title, bob.address, RunState::Open);

    progress("checking the seeded states on chain");
    let mut report = plan.check(&reader, manifest, completions).await?;
    report.advanced = jump1 + jump2;
    info!(
        target: "runs::seed",
        agents = report.agents.len(),
        runs = report.runs.len(),
        advanced = report.advanced,
        "seeded"
    );
    Ok(report)
}

/// The runs and agents created so far, with the state each should end in.
#[derive(Default)]
struct Plan {
    agents: Vec<(AgentId, &'static str, Address)>,
    runs: Vec<SeededRun>,
}

impl Plan {
    fn agent(&mut self, id: AgentId, name: &'static str, wallet: Address) {
        self.agents.push((id, name, wallet));
    }

    fn run(&mut self, id: RunId, title: &'static str, poster: Address, state: RunState) {
        self.runs.push(SeededRun { id, title, poster, state, settled: state.is_terminal() });
    }

    fn rejected(&mut self, id: RunId, title: &'static str, poster: Address, settled: bool) {
        self.runs.push(SeededRun { id, title, poster, state: RunState::Rejected, settled });
    }

    /// Reads every run's state and every agent's status from the contracts and compares them
    /// with the plan.
    async fn check<P: Provider>(
        mut self,
        provider: &P,
        manifest: &DeploymentManifest,
        completions: u32,
    ) -> Result<SeedReport> {
        let escrow = RunEscrow::new(manifest.contracts.run_escrow.address, provider);
        let vault = StakeVault::new(manifest.contracts.stake_vault.address, provider);
        for run in &self.runs {
            let on_chain = escrow.getRun(run.id.to_u256()).call().await.map_err(|err| {
                Error::Send { step: format!("reading run {}", run.id), reason: err.to_string() }
            })?;
            let actual = RunState::try_from(on_chain.state)?;
            let shown = |state: RunState, settled: bool| {
                format!("{state}{}", if settled { " (settled)" } else { " (unsettled)" })
            };
            if actual != run.state || on_chain.settled != run.settled {
                return Err(Error::Mismatch {
                    what: format!("run {} ({})", run.id, run.title),
                    actual: shown(actual, on_chain.settled),
                    expected: shown(run.state, run.settled),
                });
            }
        }
        // ESTABLISHED needs as many completions as the deployment asks for; the plan gives atlas
        // at most ten.
        let atlas = if completions == manifest.parameters.established_completions {
            AgentStatus::Established
        } else {
            AgentStatus::Provisional
        };
        let expected = [
            atlas,
            AgentStatus::Provisional,
            AgentStatus::Frozen,
            AgentStatus::Unverified,
            AgentStatus::Provisional,
            AgentStatus::Banned,
        ];
        let mut agents = Vec::new();
        for ((id, name, wallet), status) in self.agents.drain(..).zip(expected) {
            let raw = vault.statusOf(id.to_u256()).call().await.map_err(|err| Error::Send {
                step: format!("reading agent {id}"),
                reason: err.to_string(),
            })?;
            let actual = AgentStatus::try_from(raw)?;
            if actual != status {
                return Err(Error::Mismatch {
                    what: format!("agent {id} ({name})"),
                    actual: actual.to_string(),
                    expected: status.to_string(),
                });
            }
            agents.push(SeededAgent { id, name, wallet, status });
        }
        Ok(SeedReport { agents, runs: self.runs, advanced: 0 })
    }
}

/// `quarters / 4` of `amount`, in base units (rounded down).
fn quarters_of(amount: Usdc, quarters: u64) -> Usdc {
    Usdc::from(amount.base_units() * U256::from(quarters) / U256::from(4))
}

fn spec(title: &str) -> String {
    format!("ipfs://devnet/specs/{title}.json")
}

fn deliverable(title: &str, version: u32) -> String {
    format!("ipfs://devnet/deliverables/{title}-v{version}.tar.gz")
}

fn reason(title: &str) -> String {
    format!("ipfs://devnet/rejections/{title}.json")
}

fn evidence(title: &str) -> String {
    format!("ipfs://devnet/evidence/{title}-agent.json")
}
