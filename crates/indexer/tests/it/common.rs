//! Shared set-up of the indexer's integration tests: a fresh store per test on either backend,
//! running the indexer, waiting for it, and a scripted marketplace lifecycle.

use std::time::{Duration, Instant};

use alloy::{
    primitives::{Address, U256},
    providers::{DynProvider, Provider},
};
use runs_bindings::{MockUSDC, RunEscrow, StakeVault};
use runs_db::{Snapshot, Store};
use runs_indexer::{Backoff, Indexer, IndexerConfig};
use runs_primitives::DeploymentManifest;
use runs_testkit::{AnvilInstance, Deployment};
use tokio::{sync::oneshot, task::JoinHandle};

/// The test Postgres server (trust auth); each test creates and drops its own database in it.
pub(crate) use runs_testkit::PG_ADMIN_URL;

pub(crate) use runs_testkit::{Backend, TestDb};

/// A fast-polling configuration for tests.
pub(crate) fn test_config() -> IndexerConfig {
    // Logs only when asked for (`RUST_LOG=runs=debug cargo test ... -- --nocapture`).
    if let Ok(filter) = std::env::var("RUST_LOG") {
        let _ = tracing_subscriber::fmt().with_env_filter(filter).with_test_writer().try_init();
    }
    IndexerConfig {
        poll_interval: Duration::from_millis(50),
        request_timeout: Duration::from_secs(5),
        backoff: Backoff { initial: Duration::from_millis(20), max: Duration::from_millis(500) },
        ..IndexerConfig::default()
    }
}

/// Index `manifest`'s chain from scratch into `store`, up to the current head; its snapshot.
pub(crate) async fn index_to_head(
    provider: &DynProvider,
    store: &Store,
    manifest: &DeploymentManifest,
) -> Snapshot {
    let head = provider.get_block_number().await.unwrap();
    Indexer::new(provider.clone(), store.clone(), manifest, test_config())
        .run_until(head)
        .await
        .expect("index to head");
    store.snapshot(manifest.chain_id).await.unwrap()
}

/// An indexer running in the background until stopped.
pub(crate) struct Running {
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<runs_indexer::Result<()>>,
}

impl Running {
    pub(crate) fn spawn(
        provider: DynProvider,
        store: Store,
        manifest: &DeploymentManifest,
        config: IndexerConfig,
    ) -> Self {
        let (stop, stopped) = oneshot::channel::<()>();
        let indexer = Indexer::new(provider, store, manifest, config);
        let handle = tokio::spawn(indexer.run(async {
            let _ = stopped.await;
        }));
        Self { stop: Some(stop), handle }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    pub(crate) async fn stop(mut self) -> runs_indexer::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.handle.await.expect("indexer task")
    }
}

/// Waits until `store`'s checkpoint is the node's head (same number and hash).
pub(crate) async fn wait_synced(
    store: &Store,
    provider: &DynProvider,
    chain_id: u64,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    loop {
        let head = provider.get_block_number().await.unwrap();
        let block = provider.get_block_by_number(head.into()).await.unwrap().unwrap();
        if let Ok(Some(checkpoint)) = store.checkpoint(chain_id).await
            && checkpoint.number == head
            && checkpoint.hash == block.header.hash
        {
            return;
        }
        assert!(Instant::now() < deadline, "indexer did not reach head {head} within {within:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Six decimals.
pub(crate) fn usdc(whole: u64) -> U256 {
    U256::from(whole) * U256::from(1_000_000u64)
}

/// Sends a call and asserts that it was mined successfully.
#[macro_export]
macro_rules! send {
    ($call:expr) => {{
        let receipt = $call
            .send()
            .await
            .unwrap_or_else(|err| panic!("{}: {err}", stringify!($call)))
            .get_receipt()
            .await
            .expect("receipt");
        assert!(receipt.status(), "{} reverted", stringify!($call));
        receipt
    }};
}

/// The marketplace seen by one account.
pub(crate) struct Actor {
    pub(crate) address: Address,
    pub(crate) escrow: RunEscrow::RunEscrowInstance<DynProvider>,
    pub(crate) vault: StakeVault::StakeVaultInstance<DynProvider>,
    pub(crate) usdc: MockUSDC::MockUSDCInstance<DynProvider>,
}

impl Actor {
    pub(crate) fn new(anvil: &AnvilInstance, manifest: &DeploymentManifest, index: usize) -> Self {
        let provider = runs_testkit::provider_for(anvil, index);
        Self {
            address: runs_testkit::address(anvil, index),
            escrow: RunEscrow::new(manifest.contracts.run_escrow.address, provider.clone()),
            vault: StakeVault::new(manifest.contracts.stake_vault.address, provider.clone()),
            usdc: MockUSDC::new(manifest.usdc, provider),
        }
    }

    /// Approve both contracts to pull this account's USDC.
    pub(crate) async fn approve_all(&self) {
        send!(self.usdc.approve(*self.escrow.address(), U256::MAX));
        send!(self.usdc.approve(*self.vault.address(), U256::MAX));
    }

    /// Register and stake `whole` USDC; the new agent id.
    pub(crate) async fn become_agent(&self, uri: &str, whole: u64) -> U256 {
        send!(self.vault.register(uri.into()));
        let id = self.vault.agentIdOf(self.address).call().await.unwrap();
        if whole > 0 {
            send!(self.vault.stake(usdc(whole)));
        }
        id
    }

    /// `createAndFund` with the current terms and the default required stake; the new run id.
    pub(crate) async fn create_and_fund(
        &self,
        uri: &str,
        whole: u64,
        deadline: u64,
        revisions: u64,
    ) -> U256 {
        self.create_and_fund_staked(uri, whole, deadline, revisions, 0).await
    }

    /// `createAndFund` requiring `stake` whole USDC of the claimant (0 = the minimum stake).
    pub(crate) async fn create_and_fund_staked(
        &self,
        uri: &str,
        whole: u64,
        deadline: u64,
        revisions: u64,
        stake: u64,
    ) -> U256 {
        send!(self.escrow.createAndFund(
            uri.into(),
            usdc(whole),
            U256::from(deadline),
            U256::from(revisions),
            usdc(stake),
            U256::ZERO
        ));
        self.escrow.runCount().call().await.unwrap()
    }
}

/// `poster`'s run claimed by `agent` and submitted; `reject` then pulls the poster's bond (its
/// USDC is approved for the escrow).
async fn claim_submit_reject(poster: &Actor, agent: &Actor, run: U256, agent_id: U256) {
    send!(agent.escrow.claim(run, agent_id));
    send!(agent.escrow.submit(run, format!("ipfs://deliverable-{run}")));
    send!(poster.escrow.reject(run, format!("ipfs://rejection-{run}")));
}

/// The latest block's timestamp.
pub(crate) async fn now(provider: &DynProvider) -> u64 {
    provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp
}

/// What [`lifecycle`] created.
pub(crate) struct Lifecycle {
    pub(crate) runs: Vec<U256>,
    pub(crate) agents: Vec<U256>,
    /// A run left DISPUTED (its ruling period of one day still open).
    pub(crate) disputed: U256,
}

const DAY: u64 = 86_400;

/// Drives the marketplace through every transition of protocol v2 (see the test for the list),
/// with the SPEC default parameters of `deploy_fresh` (7-day claim timeout, review period and
/// cooldown, 3-day dispute window, 14-day ruling period, 20 USDC minimum stake, 3 strikes to
/// ban), account 0 being owner and arbitrator.
pub(crate) async fn lifecycle(anvil: &AnvilInstance, deployment: &Deployment) -> Lifecycle {
    let manifest = &deployment.manifest;
    let provider = runs_testkit::read_provider(anvil);
    let owner = Actor::new(anvil, manifest, 0);
    let arbitrator = &owner;
    let poster = Actor::new(anvil, manifest, 1);
    let (a, b, c, d) = (
        Actor::new(anvil, manifest, 2),
        Actor::new(anvil, manifest, 3),
        Actor::new(anvil, manifest, 4),
        Actor::new(anvil, manifest, 6),
    );
    let anyone = Actor::new(anvil, manifest, 5);
    for actor in [&poster, &a, &b, &c, &d] {
        actor.approve_all().await;
    }
    // One stake backs several claims: A and C hold up to five at once.
    let agent_a = a.become_agent("ipfs://agent-a", 100).await;
    let agent_b = b.become_agent("ipfs://agent-b", 20).await;
    let agent_c = c.become_agent("ipfs://agent-c", 100).await;
    let agent_d = d.become_agent("ipfs://agent-d", 40).await;

    let t = now(&provider).await;
    let month = t + 30 * DAY;
    // Approved after a revision.
    let run1 = poster.create_and_fund("ipfs://run-1", 100, month, 3).await;
    send!(a.escrow.claim(run1, agent_a));
    send!(a.escrow.start(run1));
    send!(a.escrow.submit(run1, "ipfs://deliverable-1a".into()));
    send!(poster.escrow.requestRevision(run1, "ipfs://add-tests".into()));
    send!(a.escrow.submit(run1, "ipfs://deliverable-1b".into()));
    send!(poster.escrow.approve(run1));
    // Rejected once the revisions ran out; the agent accepts the rejection at once.
    let run2 = poster.create_and_fund("ipfs://run-2", 50, month, 1).await;
    send!(a.escrow.claim(run2, agent_a));
    send!(a.escrow.submit(run2, "ipfs://deliverable-2a".into()));
    send!(poster.escrow.requestRevision(run2, "ipfs://wrong".into()));
    send!(a.escrow.submit(run2, "ipfs://deliverable-2b".into()));
    send!(poster.escrow.reject(run2, "ipfs://still-wrong".into()));
    send!(a.escrow.acceptRejection(run2));
    // Cancelled as a DRAFT, and as OPEN after a separate fund.
    let create = |uri: &str| {
        poster.escrow.createRun(
            uri.into(),
            usdc(10),
            U256::from(month),
            U256::ZERO,
            U256::ZERO,
            U256::ZERO,
        )
    };
    send!(create("ipfs://run-3"));
    let run3 = poster.escrow.runCount().call().await.unwrap();
    send!(poster.escrow.cancel(run3));
    send!(create("ipfs://run-4"));
    let run4 = poster.escrow.runCount().call().await.unwrap();
    send!(poster.escrow.fund(run4));
    send!(poster.escrow.cancel(run4));
    // To expire unclaimed; to slash back to OPEN; to slash into EXPIRED; to approve on timeout.
    let run5 = poster.create_and_fund("ipfs://run-5", 10, t + 2 * DAY, 0).await;
    let run6 = poster.create_and_fund("ipfs://run-6", 10, month, 0).await;
    send!(b.escrow.claim(run6, agent_b));
    let run7 = poster.create_and_fund("ipfs://run-7", 10, t + 8 * DAY, 0).await;
    send!(a.escrow.claim(run7, agent_a));
    let run8 = poster.create_and_fund("ipfs://run-8", 10, month, 2).await;
    send!(c.escrow.claim(run8, agent_c));
    send!(c.escrow.submit(run8, "ipfs://deliverable-8".into()));
    // Still OPEN at the end.
    let run9 = poster.create_and_fund("ipfs://run-9", 7, t + 60 * DAY, 2).await;
    // Disputes: one to rule 75% for the agent (a run requiring more than the minimum stake),
    // one to rule 0% with a strike, one the arbitrator leaves to the default, one 30% without a
    // strike; evidence from both sides.
    let run10 = poster.create_and_fund_staked("ipfs://run-10", 40, month, 0, 30).await;
    claim_submit_reject(&poster, &c, run10, agent_c).await;
    send!(poster.escrow.submitEvidence(run10, "ipfs://poster-evidence-10".into()));
    send!(c.escrow.dispute(run10, "ipfs://dispute-10".into()));
    send!(c.escrow.submitEvidence(run10, "ipfs://agent-evidence-10".into()));
    let run11 = poster.create_and_fund("ipfs://run-11", 20, month, 0).await;
    claim_submit_reject(&poster, &a, run11, agent_a).await;
    send!(a.escrow.dispute(run11, "ipfs://dispute-11".into()));
    let run12 = poster.create_and_fund("ipfs://run-12", 10, month, 0).await;
    claim_submit_reject(&poster, &c, run12, agent_c).await;
    send!(c.escrow.dispute(run12, "ipfs://dispute-12".into()));
    // Abandoned: back to OPEN, the reservation to the poster, no strike.
    let run13 = poster.create_and_fund("ipfs://run-13", 10, month, 0).await;
    send!(d.escrow.claim(run13, agent_d));
    send!(d.escrow.start(run13));
    send!(d.escrow.abandon(run13));
    // A rejection nobody disputes, finalized by anyone once the window has passed.
    let run14 = poster.create_and_fund("ipfs://run-14", 10, month, 0).await;
    claim_submit_reject(&poster, &a, run14, agent_a).await;
    // A dispute the poster concedes by approving.
    let run15 = poster.create_and_fund("ipfs://run-15", 10, month, 0).await;
    claim_submit_reject(&poster, &a, run15, agent_a).await;
    send!(a.escrow.dispute(run15, "ipfs://dispute-15".into()));
    send!(poster.escrow.approve(run15));
    let run16 = poster.create_and_fund("ipfs://run-16", 10, month, 0).await;
    claim_submit_reject(&poster, &c, run16, agent_c).await;
    send!(c.escrow.dispute(run16, "ipfs://dispute-16".into()));

    runs_testkit::increase_time(anvil, 8 * DAY + 3_600).await;
    send!(anyone.escrow.expire(run5));
    send!(poster.escrow.slash(run6));
    send!(poster.escrow.slash(run7));
    send!(anyone.escrow.approveOnTimeout(run8));
    send!(anyone.escrow.finalizeRejection(run14));
    send!(arbitrator.escrow.resolve(run10, U256::from(7_500), false));
    // Two strikes now ban: A's second strike (its first was run 7's slash) bans it for good.
    send!(
        owner
            .vault
            .setParameters((20_000_000u64, 7 * DAY as u32, 2u16, 5u16, 30 * DAY as u32).into())
    );
    send!(arbitrator.escrow.resolve(run11, U256::ZERO, true));
    send!(arbitrator.escrow.resolve(run16, U256::from(3_000), false));
    // B was frozen by the slash; staking back to the minimum thaws it.
    send!(b.vault.stake(usdc(20)));
    // C unstakes part of its free stake and withdraws after the cooldown.
    send!(c.vault.requestUnstake(usdc(10)));
    runs_testkit::increase_time(anvil, 7 * DAY + 60).await;
    send!(c.vault.withdrawStake());
    // The arbitrator stayed silent on run 12: the default split.
    send!(anyone.escrow.settleDispute(run12));
    // Owner actions: pause/unpause, new terms for future runs, new treasury, which collects.
    send!(owner.escrow.pause());
    send!(owner.escrow.unpause());
    send!(owner.escrow.setParameters(
        (250u16, DAY as u32, 2 * DAY as u32, DAY as u32, DAY as u32, owner.address).into()
    ));
    send!(owner.escrow.setTreasury(anyone.address));
    send!(anyone.escrow.withdrawFees());
    send!(owner.vault.pause());
    send!(owner.vault.unpause());
    let month = now(&provider).await + 30 * DAY;
    // Claimed under the new terms.
    let run17 = poster.create_and_fund("ipfs://run-17", 3, month, 1).await;
    send!(b.escrow.claim(run17, agent_b));
    // Left unsettled: a rejection within its window, and a dispute within its ruling period.
    let run18 = poster.create_and_fund("ipfs://run-18", 10, month, 0).await;
    claim_submit_reject(&poster, &c, run18, agent_c).await;
    let run19 = poster.create_and_fund("ipfs://run-19", 10, month, 0).await;
    claim_submit_reject(&poster, &c, run19, agent_c).await;
    send!(c.escrow.dispute(run19, "ipfs://dispute-19".into()));
    send!(poster.escrow.submitEvidence(run19, "ipfs://poster-evidence-19".into()));
    // A poster reconsiders a rejection: approved, the bond back to the poster, no dispute won.
    let run20 = poster.create_and_fund("ipfs://run-20", 10, month, 0).await;
    claim_submit_reject(&poster, &c, run20, agent_c).await;
    send!(poster.escrow.approve(run20));
    // Staking stays paused (claims do not depend on it).
    send!(owner.vault.pause());

    Lifecycle {
        runs: vec![
            run1, run2, run3, run4, run5, run6, run7, run8, run9, run10, run11, run12, run13,
            run14, run15, run16, run17, run18, run19, run20,
        ],
        agents: vec![agent_a, agent_b, agent_c, agent_d],
        disputed: run19,
    }
}
