//! Test harness: a fresh migrated store per test on either backend (the Postgres database is
//! dropped afterwards, even on panic), a chain builder that commits synthetic events through the
//! db crate's write API exactly as the indexer does, a seeded marketplace, and request helpers
//! that drive the router with `oneshot` (no socket).

use axum::{
    Router,
    body::Body,
    http::{HeaderMap, Request, StatusCode},
};
use runs_api::{ApiConfig, ApiState, ChainHead};
use runs_db::{BlockRef, RangeCommit, Store};
use runs_primitives::{
    Address, AgentId, B256, ChainEvent, ClaimOutcome, LogPosition, MarketEvent, RunId, RunState,
    Usdc,
};
use serde_json::Value;
use tower::ServiceExt;

/// The chain every test indexes.
pub(crate) const CHAIN: u64 = 31337;
/// Block 0's timestamp; block `n` is at `BASE + 12 n`.
pub(crate) const BASE: u64 = 1_700_000_000;
/// A deadline far after every seeded block.
pub(crate) const FAR: u64 = BASE + 100_000_000;
/// The escrow address the router is configured with.
pub(crate) const ESCROW: Address = Address::repeat_byte(0xe5);

/// The arbitrator of every run of the fixture.
pub(crate) const ARBITRATOR: Address = Address::repeat_byte(0xab);

pub(crate) use runs_testkit::{TestDb, backends};

/// The router over a test store.
pub(crate) trait App {
    /// The router, with the escrow configured.
    fn app(&self) -> Router {
        self.app_with(
            ApiConfig { run_escrow: Some(ESCROW), ..ApiConfig::new(CHAIN) },
            ChainHead::default(),
        )
    }

    fn app_with(&self, config: ApiConfig, head: ChainHead) -> Router;
}

impl App for TestDb {
    fn app_with(&self, config: ApiConfig, head: ChainHead) -> Router {
        runs_api::router(ApiState::new(self.store.clone(), config, head))
    }
}

pub(crate) fn block_hash(number: u64) -> B256 {
    let mut bytes = [0u8; 32];
    bytes[0] = 0xb0;
    bytes[24..].copy_from_slice(&number.to_be_bytes());
    B256::from(bytes)
}

pub(crate) fn block(number: u64) -> BlockRef {
    BlockRef {
        number,
        hash: block_hash(number),
        parent_hash: block_hash(number.saturating_sub(1)),
        timestamp: BASE + number * 12,
    }
}

/// Synthetic events, one block after another, committed like the indexer commits ranges.
pub(crate) struct Chain {
    pub(crate) block: u64,
    log_index: u64,
    pending: Vec<ChainEvent>,
}

impl Chain {
    pub(crate) fn new() -> Self {
        Self { block: 100, log_index: 0, pending: Vec::new() }
    }

    /// Start a new block.
    pub(crate) fn mine(&mut self) -> &mut Self {
        self.block += 1;
        self.log_index = 0;
        self
    }

    /// Skip ahead at least `secs` seconds of chain time.
    pub(crate) fn advance(&mut self, secs: u64) -> &mut Self {
        self.block += secs.div_ceil(12);
        self.log_index = 0;
        self
    }

    /// Emit `event` in the current block.
    pub(crate) fn emit(&mut self, event: MarketEvent) -> &mut Self {
        let mut tx = [0u8; 32];
        tx[0] = 0x7e;
        tx[16..24].copy_from_slice(&self.block.to_be_bytes());
        tx[24..].copy_from_slice(&self.log_index.to_be_bytes());
        self.pending.push(ChainEvent {
            position: LogPosition {
                block_number: self.block,
                block_hash: block_hash(self.block),
                block_timestamp: block(self.block).timestamp,
                tx_hash: B256::from(tx),
                log_index: self.log_index,
                address: ESCROW,
            },
            event,
        });
        self.log_index += 1;
        self
    }

    /// The current block's timestamp.
    pub(crate) fn now(&self) -> u64 {
        block(self.block).timestamp
    }

    /// Commit everything emitted so far, with the current block as the checkpoint.
    pub(crate) async fn commit(&mut self, store: &Store) {
        let commit = RangeCommit {
            events: std::mem::take(&mut self.pending),
            blocks: Vec::new(),
            checkpoint: block(self.block),
            keep_blocks: 64,
        };
        store.commit_range(CHAIN, &commit).await.expect("commit range");
    }
}

pub(crate) fn usdc(whole: u64) -> Usdc {
    Usdc::whole(whole)
}

pub(crate) fn wallet(agent: u64) -> Address {
    Address::repeat_byte(0xa0 + agent as u8)
}

pub(crate) const POSTER_1: Address = Address::repeat_byte(0xb1);
pub(crate) const POSTER_2: Address = Address::repeat_byte(0xb2);

/// Open runs 1..=24 with rewards cycling 25..150 USDC (ties on purpose), two runs per block
/// (ties on createdAt), deadlines spread over a day; poster 2 for every third run.
pub(crate) const OPEN_RUNS: u64 = 24;
/// Claimed by agent 1.
pub(crate) const RUN_CLAIMED: u64 = 25;
/// Claimed, started and submitted by agent 1.
pub(crate) const RUN_SUBMITTED: u64 = 26;
/// Approved for agent 1.
pub(crate) const RUN_APPROVED: u64 = 27;
/// Created, never funded.
pub(crate) const RUN_DRAFT: u64 = 28;
/// Cancelled.
pub(crate) const RUN_CANCELLED: u64 = 29;
/// Claimed by agent 3, which was slashed on it; OPEN again.
pub(crate) const RUN_RESLASHED: u64 = 30;
/// OPEN, its deadline already passed at the indexed head.
pub(crate) const RUN_PAST_DEADLINE: u64 = 31;
/// OPEN, posted by agent 1's wallet.
pub(crate) const RUN_BY_AGENT_1: u64 = 32;
/// Runs in state OPEN after seeding.
pub(crate) const OPEN_COUNT: u64 = OPEN_RUNS + 3;
/// Every run.
pub(crate) const RUN_COUNT: u64 = 32;

/// Agent 1: 50 USDC staked (PROVISIONAL). Agent 2: 10 USDC (UNVERIFIED). Agent 3: slashed on
/// run 30 (FROZEN). Agent 4: three strikes (BANNED).
pub(crate) const AGENT_COUNT: u64 = 4;

pub(crate) fn reward_of(i: u64) -> Usdc {
    usdc((i % 6 + 1) * 25)
}

pub(crate) fn deadline_of(i: u64) -> u64 {
    FAR + (i * 13 % 24) * 3_600
}

pub(crate) fn create(chain: &mut Chain, id: u64, poster: Address, reward: Usdc, deadline: u64) {
    create_with_spec(chain, id, poster, reward, deadline, format!("ipfs://spec-{id}"));
}

/// [`create`] with this spec URI.
pub(crate) fn create_with_spec(
    chain: &mut Chain,
    id: u64,
    poster: Address,
    reward: Usdc,
    deadline: u64,
    spec_uri: String,
) {
    chain.emit(MarketEvent::RunCreated {
        run_id: RunId(id),
        poster,
        spec_uri,
        reward,
        fee: reward.fee_for(500),
        required_stake: usdc(20),
        deadline,
        max_revisions: 3,
        terms_version: 1,
        claim_timeout: 604_800,
        review_period: 604_800,
        dispute_window: 3 * 86_400,
        ruling_period: 14 * 86_400,
        arbitrator: ARBITRATOR,
    });
}

pub(crate) fn fund(chain: &mut Chain, id: u64, poster: Address, reward: Usdc) {
    chain.emit(MarketEvent::RunFunded {
        run_id: RunId(id),
        poster,
        amount: reward.checked_total_with_fee(500).unwrap(),
    });
}

pub(crate) fn claim(chain: &mut Chain, run: u64, agent: u64) {
    chain.emit(MarketEvent::Claimed {
        run_id: RunId(run),
        agent_id: AgentId(agent),
        wallet: wallet(agent),
        reserved: usdc(20),
    });
}

pub(crate) fn register(chain: &mut Chain, agent: u64, stake: u64) {
    chain.emit(MarketEvent::AgentRegistered {
        agent_id: AgentId(agent),
        wallet: wallet(agent),
        metadata_uri: format!("ipfs://agent-{agent}"),
    });
    chain.emit(MarketEvent::Staked {
        agent_id: AgentId(agent),
        wallet: wallet(agent),
        amount: usdc(stake),
        total_stake: usdc(stake),
    });
}

/// The parameter events a deployment emits.
pub(crate) fn parameters(chain: &mut Chain, established_completions: u16) {
    chain
        .mine()
        .emit(MarketEvent::EscrowParametersUpdated {
            version: 1,
            fee_bps: 500,
            claim_timeout: 604_800,
            review_period: 604_800,
            dispute_window: 3 * 86_400,
            ruling_period: 14 * 86_400,
            arbitrator: ARBITRATOR,
            min_stake: usdc(20),
        })
        .emit(MarketEvent::VaultParametersUpdated {
            min_stake: usdc(20),
            unstake_cooldown: 604_800,
            strikes_to_ban: 3,
            established_completions,
            established_age: 30 * 86_400,
        })
        .emit(MarketEvent::TreasuryUpdated {
            previous: Address::ZERO,
            treasury: Address::repeat_byte(0x77),
        });
}

/// Seed the marketplace described by the constants above and commit it.
pub(crate) async fn seed(store: &Store) -> Chain {
    let mut chain = Chain::new();
    parameters(&mut chain, 5);
    chain.mine();
    // 70 USDC backs its two live claims (40 reserved) and one more 20 USDC claim.
    register(&mut chain, 1, 70);
    register(&mut chain, 2, 10);
    register(&mut chain, 3, 40);
    register(&mut chain, 4, 100);
    for i in 1..=OPEN_RUNS {
        if i % 2 == 1 {
            chain.mine();
        }
        let poster = if i % 3 == 0 { POSTER_2 } else { POSTER_1 };
        create(&mut chain, i, poster, reward_of(i), deadline_of(i));
        fund(&mut chain, i, poster, reward_of(i));
    }
    for id in [RUN_CLAIMED, RUN_SUBMITTED, RUN_APPROVED, RUN_DRAFT, RUN_CANCELLED, RUN_RESLASHED] {
        chain.mine();
        create(&mut chain, id, POSTER_1, usdc(200 + id), FAR);
        if id != RUN_DRAFT {
            fund(&mut chain, id, POSTER_1, usdc(200 + id));
        }
    }
    chain.mine();
    create(&mut chain, RUN_PAST_DEADLINE, POSTER_2, usdc(75), BASE + 200 * 12);
    fund(&mut chain, RUN_PAST_DEADLINE, POSTER_2, usdc(75));
    create(&mut chain, RUN_BY_AGENT_1, wallet(1), usdc(90), FAR);
    fund(&mut chain, RUN_BY_AGENT_1, wallet(1), usdc(90));

    chain.mine();
    claim(&mut chain, RUN_CLAIMED, 1);
    claim(&mut chain, RUN_SUBMITTED, 1);
    claim(&mut chain, RUN_APPROVED, 1);
    chain.mine();
    chain.emit(MarketEvent::WorkStarted { run_id: RunId(RUN_SUBMITTED), agent_id: AgentId(1) });
    for run in [RUN_SUBMITTED, RUN_APPROVED] {
        chain.emit(MarketEvent::Submitted {
            run_id: RunId(run),
            agent_id: AgentId(1),
            deliverable_uri: format!("ipfs://deliverable-{run}"),
            revision_count: 0,
        });
    }
    chain.mine();
    chain.emit(MarketEvent::Approved {
        run_id: RunId(RUN_APPROVED),
        agent_id: AgentId(1),
        wallet: wallet(1),
        reward: usdc(200 + RUN_APPROVED),
        fee: usdc(200 + RUN_APPROVED).fee_for(500),
        bond: Usdc::ZERO,
        on_timeout: false,
    });
    chain.emit(MarketEvent::RunCancelled {
        run_id: RunId(RUN_CANCELLED),
        poster: POSTER_1,
        refund: usdc(200 + RUN_CANCELLED).checked_total_with_fee(500).unwrap(),
    });
    claim(&mut chain, RUN_RESLASHED, 3);
    chain.advance(8 * 86_400).mine();
    chain.emit(MarketEvent::StakeForfeited {
        agent_id: AgentId(3),
        run_id: RunId(RUN_RESLASHED),
        amount: usdc(20),
        outcome: ClaimOutcome::Slashed,
        remaining_stake: usdc(20),
        strikes: 1,
    });
    chain.emit(MarketEvent::Slashed {
        run_id: RunId(RUN_RESLASHED),
        agent_id: AgentId(3),
        poster: POSTER_1,
        amount: usdc(20),
        new_state: RunState::Open,
        refund: Usdc::ZERO,
    });
    chain.emit(MarketEvent::StakeForfeited {
        agent_id: AgentId(4),
        run_id: RunId(RUN_RESLASHED),
        amount: usdc(20),
        outcome: ClaimOutcome::Slashed,
        remaining_stake: usdc(80),
        strikes: 3,
    });
    chain.mine();
    chain.commit(store).await;
    chain
}

/// A response, its headers and its JSON body (`Value::Null` when not JSON).
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) text: String,
    pub(crate) json: Value,
}

impl Reply {
    /// The error code of an error body.
    pub(crate) fn code(&self) -> &str {
        self.json["error"]["code"].as_str().unwrap_or_default()
    }

    pub(crate) fn message(&self) -> &str {
        self.json["error"]["message"].as_str().unwrap_or_default()
    }
}

pub(crate) async fn send(app: &Router, req: Request<Body>) -> Reply {
    let response = app.clone().oneshot(req).await.expect("router is infallible");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let json = serde_json::from_str(&text).unwrap_or(Value::Null);
    Reply { status, headers, text, json }
}

pub(crate) async fn get(app: &Router, uri: &str) -> Reply {
    send(app, Request::get(uri).body(Body::empty()).unwrap()).await
}

pub(crate) async fn post_json(app: &Router, uri: &str, body: &str) -> Reply {
    let req = Request::post(uri)
        .header("content-type", "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap();
    send(app, req).await
}
