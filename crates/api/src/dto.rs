//! The JSON shapes of SPEC §5, field for field: camelCase names, amounts as strings of USDC base
//! units, times as ISO 8601 UTC (or null), addresses EIP-55 checksummed, ids as integers.

use runs_primitives::{AgentStatus, RunState};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A run (SPEC §5 `Run`; the seed's field names first).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// The run id.
    #[schema(example = 7)]
    pub bounty_id: u64,
    /// The poster's wallet.
    #[schema(example = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8")]
    pub poster_address: String,
    /// The spec URI given at creation (an IPFS URI or any content URI).
    #[schema(example = "ipfs://bafy...spec")]
    pub ipfs_hash: String,
    /// Paid to the agent on approval (base units).
    #[schema(example = "100000000")]
    pub reward: String,
    /// Paid to the treasury on approval (base units).
    #[schema(example = "5000000")]
    pub fee: String,
    /// Last moment the run can be claimed.
    #[schema(example = "2030-01-01T00:00:00Z")]
    pub deadline: String,
    /// Where the run is in its life.
    pub state: RunState,
    /// The agent holding the run (still set on an EXPIRED-by-slash or terminal run).
    pub claimed_by: Option<u64>,
    /// That agent's wallet.
    pub claimed_by_wallet: Option<String>,
    /// What backs the run (base units): what the current claim reserved of the agent's stake,
    /// else what a claim would reserve. Both are the run's `requiredStake` in protocol v2.
    #[schema(example = "20000000")]
    pub stake: String,
    /// The last submitted deliverable URI.
    pub deliverable_hash: Option<String>,
    /// Revisions requested so far.
    pub revision_count: u8,
    /// Revisions the poster may request.
    pub max_revisions: u8,
    /// When the current agent claimed it.
    pub claimed_at: Option<String>,
    /// When the last deliverable was submitted.
    pub submitted_at: Option<String>,
    /// Block time of its creation.
    pub created_at: String,
    /// Block time of its last change.
    pub updated_at: String,
    /// Stake a claim reserves, and the poster's rejection bond (base units).
    #[schema(example = "20000000")]
    pub required_stake: String,
    /// Who rules on a dispute of this run.
    pub arbitrator: String,
    /// Seconds from a claim or revision request to the submission.
    pub claim_timeout: u32,
    /// Seconds from a submission to the poster's decision.
    pub review_period: u32,
    /// Seconds from a rejection in which the agent may dispute it.
    pub dispute_window: u32,
    /// Seconds from a dispute in which the arbitrator may rule.
    pub ruling_period: u32,
    /// The terms version the run was created with.
    pub terms_version: u64,
    /// Whether the run's money is paid out (a REJECTED run only once the rejection is final).
    pub settled: bool,
    /// While an agent owes a submission: the end of its claim timeout (after it, only a slash).
    pub claim_timeout_ends_at: Option<String>,
    /// While SUBMITTED: the end of the review period (after it, anyone may approve on timeout).
    pub review_ends_at: Option<String>,
    /// The poster's rejection, once rejected.
    pub rejection: Option<RunRejection>,
    /// The agent's dispute of the rejection, once disputed.
    pub dispute: Option<RunDispute>,
}

/// A poster's rejection of a run.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunRejection {
    /// Why.
    #[serde(rename = "reasonURI")]
    pub reason_uri: String,
    /// The bond the poster posted (base units).
    pub bond: String,
    /// When.
    pub rejected_at: String,
    /// The end of the agent's dispute window.
    pub window_ends_at: String,
    /// When the rejection became final (reward + fee + bond to the poster), if it did.
    pub finalized_at: Option<String>,
    /// Whether the agent accepted it (false: finalized by anyone after the window).
    pub accepted_by_agent: bool,
}

/// One piece of evidence in a dispute.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Evidence {
    /// Who gave it (the agent's wallet or the poster).
    pub by: String,
    /// The evidence.
    pub uri: String,
    /// When.
    pub at: String,
}

/// An agent's dispute of a rejection, and how it ended.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunDispute {
    /// The agent's case first, then every piece of evidence either side added (in a list of
    /// runs only the case; `GET /api/runs/{id}` lists all).
    pub evidence: Vec<Evidence>,
    /// When the agent disputed.
    pub disputed_at: String,
    /// The end of the ruling period (after it, anyone may settle 50/50).
    pub ruling_deadline: String,
    /// The agent's share of reward and fee in basis points, once ruled.
    pub agent_share_bps: Option<u16>,
    /// Whether a strike was counted, once ruled.
    pub strike: Option<bool>,
    /// Whether it ended by default (a silent arbitrator), once ended.
    pub by_default: Option<bool>,
    /// Whether the poster conceded (approved the disputed run), once ended.
    pub conceded: Option<bool>,
    /// When it ended.
    pub resolved_at: Option<String>,
    /// Paid to the agent from the reward (base units), once ended.
    pub to_agent: Option<String>,
    /// Paid back to the poster from reward + fee (base units), once ended.
    pub to_poster: Option<String>,
    /// The agent's reservation paid to the poster (base units), once ended.
    pub stake_forfeited: Option<String>,
}

/// What an arbitrator has ruled (`GET /api/arbitrators/{address}`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Arbitrator {
    /// The arbitrator.
    pub address: String,
    /// Disputes brought before it.
    pub disputes: u64,
    /// Disputes still waiting for a ruling.
    pub pending: u64,
    /// Disputes it ruled on within the ruling period.
    pub rulings: u64,
    /// Disputes that ended by default because it stayed silent.
    pub defaults: u64,
    /// Disputes the poster conceded before a ruling.
    pub conceded: u64,
    /// Rulings of at least 50% for the agent.
    pub ruled_for_agent: u64,
    /// Average seconds from dispute to ruling, over its rulings (null without rulings).
    pub average_ruling_delay: Option<u64>,
    /// The disputed runs, by id.
    pub run_ids: Vec<u64>,
    /// The last indexed block the data reflects.
    pub indexed_block: u64,
}

/// One contract event of a run's history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunEvent {
    /// The contract event name (`RunCreated`, `Claimed`, `Submitted`, ...).
    #[serde(rename = "type")]
    #[schema(example = "Claimed")]
    pub kind: String,
    /// The block it was emitted in.
    pub block_number: u64,
    /// The transaction.
    pub tx_hash: String,
    /// The log's index in the block.
    pub log_index: u64,
    /// The block's time.
    pub timestamp: String,
    /// The event's fields (camelCase; amounts as base-unit strings, addresses checksummed,
    /// `deadline` / `readyAt` as ISO 8601).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// A run with its event history, in chain order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunDetail {
    /// The run.
    #[serde(flatten)]
    pub run: Run,
    /// Its events.
    pub events: Vec<RunEvent>,
}

/// Page-number view of a listing.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Pagination {
    /// This page (1-based).
    pub page: u64,
    /// Rows per page.
    pub limit: u32,
    /// Rows matching the filters.
    pub total: u64,
    /// `ceil(total / limit)`.
    pub total_pages: u64,
}

/// `GET /api/runs`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RunList {
    /// The page's runs.
    pub runs: Vec<Run>,
    /// Where this page sits.
    pub pagination: Pagination,
    /// Pass as `cursor` for the next page (same filters and sort); null on the last page.
    pub next_cursor: Option<String>,
    /// The last indexed block the data reflects (0 before anything is indexed).
    pub indexed_block: u64,
}

/// The agent part of an eligibility answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EligibilityAgent {
    /// The agent id.
    pub id: u64,
    /// Its status at the indexed block.
    pub status: AgentStatus,
    /// Its stake (base units).
    pub staked_amount: String,
    /// Whether the stake is at least the minimum.
    pub has_min_stake: bool,
    /// Its free stake: stake minus what its live claims reserve (base units).
    pub free_stake: String,
}

/// The run part of an eligibility answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EligibilityRun {
    /// The run id.
    pub id: u64,
    /// Its state.
    pub state: RunState,
    /// Its reward (base units).
    pub reward: String,
    /// What a claim reserves of the agent's stake (base units).
    pub required_stake: String,
}

/// `GET /api/runs/{id}/claim-eligibility`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Eligibility {
    /// Whether `canClaim` would pass at the indexed block.
    pub eligible: bool,
    /// The failed rules, as `RunEscrow.canClaim` reports them: `RUN_NOT_OPEN`,
    /// `RUN_PAST_DEADLINE`, `AGENT_FROZEN`, `AGENT_BANNED`, `INSUFFICIENT_STAKE`,
    /// `AGENT_IS_POSTER`, `CLAIMS_PAUSED`, `AGENT_SLASHED_ON_RUN`, `INSUFFICIENT_FREE_STAKE`,
    /// `AGENT_IS_ARBITRATOR`.
    pub reasons: Vec<String>,
    /// The agent.
    pub agent: EligibilityAgent,
    /// The run.
    pub run: EligibilityRun,
}

/// `POST /api/runs/{id}/claim` body.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimRequest {
    /// The claiming agent.
    #[schema(minimum = 1, example = 1)]
    pub agent_id: u64,
    /// The wallet that will sign: must be the agent's wallet.
    #[schema(
        pattern = "^0x[0-9a-fA-F]{40}$",
        example = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
    )]
    pub wallet_address: String,
}

/// An unsigned transaction for the agent's wallet to sign and send.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UnsignedTransaction {
    /// The RunEscrow contract.
    pub to: String,
    /// ABI-encoded `claim(runId, agentId)`.
    #[schema(example = "0x379607f5...")]
    pub data: String,
    /// Wei to send (always `"0"`).
    pub value: String,
    /// The chain to send it on.
    pub chain_id: u64,
}

/// `POST /api/runs/{id}/claim` success.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClaimResponse {
    /// Always true (ineligible claims are errors).
    pub eligible: bool,
    /// What to sign.
    pub transaction: UnsignedTransaction,
}

/// Reputation counters kept by the vault, and the derived score.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Reputation {
    /// `floor(100 × completions / totalClaimed / 2^strikes)`; 0 if banned or never claimed.
    #[schema(minimum = 0, maximum = 100)]
    pub score: u8,
    /// Approvals and won disputes of runs with a reward of at least 1 USDC.
    pub completions: u32,
    /// Runs ever claimed.
    pub total_claimed: u32,
    /// USDC earned from runs (base units).
    pub total_volume: String,
    /// Rejections that became final.
    pub rejections: u32,
    /// Disputes won (rulings of at least 50%, conceded disputes).
    pub disputes_won: u32,
    /// Disputes lost (rulings below 50%).
    pub disputes_lost: u32,
}

/// An agent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Agent {
    /// The agent id.
    pub id: u64,
    /// Its wallet.
    pub wallet: String,
    /// Where it describes itself.
    pub metadata_uri: String,
    /// Its status at the indexed block.
    pub status: AgentStatus,
    /// Stake in the vault, free and reserved (base units).
    pub staked_amount: String,
    /// The part of the stake reserved by live claims (base units).
    pub reserved_stake: String,
    /// Stake minus reserved: what new claims and unstake requests can use (base units).
    pub free_stake: String,
    /// When its stake last reached the minimum (the ESTABLISHED clock), or null.
    pub staked_at: Option<String>,
    /// Stake requested for withdrawal, no longer at risk (base units).
    pub pending_unstake: String,
    /// When the pending stake can be withdrawn.
    pub unstake_ready_at: Option<String>,
    /// Runs claimed and not yet settled.
    pub active_claims: u32,
    /// Strikes: slashes and disputes lost with a strike.
    pub strikes: u32,
    /// Reputation.
    pub reputation: Reputation,
    /// Block time of its registration.
    pub registered_at: String,
    /// Block time of its last change.
    pub updated_at: String,
}

/// One forfeit of an agent's reservation: a slash, an abandon or a lost dispute.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Slash {
    /// The run.
    pub run_id: u64,
    /// Stake taken (base units).
    pub amount: String,
    /// Why: `SLASHED`, `ABANDONED`, `DISPUTE_LOST` or `DISPUTE_LOST_STRUCK`.
    pub outcome: String,
    /// Stake left afterwards (base units).
    pub stake_after: String,
    /// Strikes afterwards.
    pub strikes: u32,
    /// The block.
    pub block_number: u64,
    /// The transaction.
    pub tx_hash: String,
    /// The block's time.
    pub timestamp: String,
}

/// An agent with its slash history.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentDetail {
    /// The agent.
    #[serde(flatten)]
    pub agent: Agent,
    /// Its forfeits (slashes, abandons, lost disputes), oldest first.
    pub slash_history: Vec<Slash>,
}

/// `GET /api/agents`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AgentList {
    /// The page's agents, by id.
    pub agents: Vec<Agent>,
    /// Where this page sits.
    pub pagination: Pagination,
    /// The last indexed block the data reflects.
    pub indexed_block: u64,
}

/// `GET /api/agents/{id}/stake`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stake {
    /// The agent id.
    pub agent_id: u64,
    /// Its status at the indexed block.
    pub status: AgentStatus,
    /// Stake in the vault, free and reserved (base units).
    pub staked_amount: String,
    /// The part reserved by live claims: what their slashes or lost disputes can take (base units).
    pub reserved_stake: String,
    /// Stake minus reserved: what new claims and unstake requests can use (base units).
    pub free_stake: String,
    /// Stake requested for withdrawal (base units).
    pub pending_unstake: String,
    /// When the pending stake can be withdrawn.
    pub unstake_ready_at: Option<String>,
    /// The minimum stake to claim (base units).
    pub min_stake: String,
    /// Whether the stake is at least the minimum.
    pub has_min_stake: bool,
    /// When the stake last reached the minimum.
    pub staked_at: Option<String>,
    /// Runs claimed and not yet settled.
    pub active_claims: u32,
    /// What the agent's live claims put at risk: its reserved stake (base units).
    pub slashable: String,
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` while the process serves.
    pub status: String,
}

/// `GET /ready`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Ready {
    /// Whether the API serves fresh data.
    pub ready: bool,
    /// The last indexed block (0 before anything is indexed).
    pub indexed_block: u64,
    /// That block's time (ISO 8601 UTC): the chain's clock as far as the index knows it, which
    /// on a dev chain may run ahead of the wall clock. `null` before anything is indexed.
    pub indexed_block_time: Option<String>,
    /// The chain head, when the server knows it (`runs serve --rpc-url`).
    pub chain_head: Option<u64>,
    /// `chainHead - indexedBlock`, when the head is known.
    pub lag: Option<u64>,
    /// The largest lag still ready.
    pub max_lag: u64,
    /// Why not ready, when not.
    pub reason: Option<String>,
}

/// One item of the event feed (`GET /api/events`, `/api/events/stream`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FeedEvent {
    /// Its position in the chain's feed: only grows; resume after it.
    pub seq: u64,
    /// The contract event name (`RunCreated`, `Claimed`, …).
    #[serde(rename = "type")]
    #[schema(example = "Claimed")]
    pub kind: String,
    /// `true` for a retraction: a reorg removed this event (same identity as when it was added).
    pub removed: bool,
    /// The chain.
    pub chain_id: u64,
    /// The block it was emitted in.
    pub block_number: u64,
    /// That block's hash.
    pub block_hash: String,
    /// The transaction.
    pub tx_hash: String,
    /// The log's index in the block.
    pub log_index: u64,
    /// The block's time.
    pub timestamp: String,
    /// The run it is about; absent when the event is about no run (not `null`, so that no
    /// client or tool follows an empty link to `/api/runs/{id}`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<u64>,
    /// The agent it is about; absent when the event is about no agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<u64>,
    /// The event's arguments (amounts as base-unit strings, addresses checksummed).
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

/// `GET /api/events`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventList {
    /// The items after `after`, in feed order.
    pub events: Vec<FeedEvent>,
    /// Pass as `after` for the next page (the last item's `seq`, or `after` when there is none).
    pub next_after: u64,
    /// The feed's newest position when this page was read (follow from here to see only what
    /// comes next).
    pub head_seq: u64,
    /// The last indexed block the feed reflects.
    pub indexed_block: u64,
}
