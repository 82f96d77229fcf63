//! The JSON shapes of SPEC §5, field for field: camelCase names, amounts as strings of USDC base
//! units, times as ISO 8601 UTC (or null), addresses EIP-55 checksummed, ids as integers.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A run's state (`RunEscrow.RunState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum RunStateName {
    Draft,
    Open,
    Claimed,
    InProgress,
    Submitted,
    Approved,
    RevisionRequested,
    Rejected,
    Cancelled,
    Expired,
}

impl From<runs_primitives::RunState> for RunStateName {
    fn from(state: runs_primitives::RunState) -> Self {
        use runs_primitives::RunState as S;
        match state {
            S::Draft => Self::Draft,
            S::Open => Self::Open,
            S::Claimed => Self::Claimed,
            S::InProgress => Self::InProgress,
            S::Submitted => Self::Submitted,
            S::Approved => Self::Approved,
            S::RevisionRequested => Self::RevisionRequested,
            S::Rejected => Self::Rejected,
            S::Cancelled => Self::Cancelled,
            S::Expired => Self::Expired,
        }
    }
}

/// An agent's rung on the trust ladder (`StakeVault.AgentStatus`), derived at the indexed block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(missing_docs)]
pub enum AgentStatusName {
    Unverified,
    Provisional,
    Established,
    Frozen,
    Banned,
}

impl From<runs_primitives::AgentStatus> for AgentStatusName {
    fn from(status: runs_primitives::AgentStatus) -> Self {
        use runs_primitives::AgentStatus as S;
        match status {
            S::Unverified => Self::Unverified,
            S::Provisional => Self::Provisional,
            S::Established => Self::Established,
            S::Frozen => Self::Frozen,
            S::Banned => Self::Banned,
        }
    }
}

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
    pub state: RunStateName,
    /// The agent holding the run (still set on an EXPIRED-by-slash or terminal run).
    pub claimed_by: Option<u64>,
    /// That agent's wallet.
    pub claimed_by_wallet: Option<String>,
    /// What backs the run (base units): with an agent on record, what a slash would take from it
    /// now (the minimum stake capped at its active + pending stake); otherwise the minimum stake
    /// an agent must hold to claim.
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
    pub status: AgentStatusName,
    /// Its active stake (base units).
    pub staked_amount: String,
    /// Whether the active stake is at least the minimum.
    pub has_min_stake: bool,
}

/// The run part of an eligibility answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EligibilityRun {
    /// The run id.
    pub id: u64,
    /// Its state.
    pub state: RunStateName,
    /// Its reward (base units).
    pub reward: String,
}

/// `GET /api/runs/{id}/claim-eligibility`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Eligibility {
    /// Whether `canClaim` would pass at the indexed block.
    pub eligible: bool,
    /// The failed rules, as `RunEscrow.canClaim` reports them: `RUN_NOT_OPEN`,
    /// `RUN_PAST_DEADLINE`, `AGENT_FROZEN`, `AGENT_BANNED`, `INSUFFICIENT_STAKE`,
    /// `AGENT_IS_POSTER`, `CLAIMS_PAUSED`, `AGENT_SLASHED_ON_RUN`.
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
    /// `floor(100 × completions / totalClaimed / 2^slashes)`; 0 if banned or never claimed.
    #[schema(minimum = 0, maximum = 100)]
    pub score: u8,
    /// Runs approved.
    pub completions: u32,
    /// Runs ever claimed.
    pub total_claimed: u32,
    /// Reward earned (base units).
    pub total_volume: String,
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
    pub status: AgentStatusName,
    /// Active stake (base units).
    pub staked_amount: String,
    /// When its stake first reached the minimum (the ESTABLISHED clock), or null.
    pub staked_at: Option<String>,
    /// Stake requested for withdrawal (base units).
    pub pending_unstake: String,
    /// When the pending stake can be withdrawn.
    pub unstake_ready_at: Option<String>,
    /// Runs claimed and not yet settled.
    pub active_claims: u32,
    /// Times slashed.
    pub strikes: u32,
    /// Reputation.
    pub reputation: Reputation,
    /// Block time of its registration.
    pub registered_at: String,
    /// Block time of its last change.
    pub updated_at: String,
}

/// One slash of an agent.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Slash {
    /// The run it timed out on.
    pub run_id: u64,
    /// Stake taken (base units).
    pub amount: String,
    /// Active stake afterwards (base units).
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
    /// Its slashes, oldest first.
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
    pub status: AgentStatusName,
    /// Active stake (base units).
    pub staked_amount: String,
    /// Stake requested for withdrawal (base units).
    pub pending_unstake: String,
    /// When the pending stake can be withdrawn.
    pub unstake_ready_at: Option<String>,
    /// The minimum stake to claim (base units).
    pub min_stake: String,
    /// Whether the active stake is at least the minimum.
    pub has_min_stake: bool,
    /// When the stake first reached the minimum.
    pub staked_at: Option<String>,
    /// Runs claimed and not yet settled (withdrawal waits for 0).
    pub active_claims: u32,
    /// What one slash would take now (base units).
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
    /// The chain head, when the server knows it (`runs serve --rpc-url`).
    pub chain_head: Option<u64>,
    /// `chainHead - indexedBlock`, when the head is known.
    pub lag: Option<u64>,
    /// The largest lag still ready.
    pub max_lag: u64,
    /// Why not ready, when not.
    pub reason: Option<String>,
}
