//! The plain values the store reads and writes: blocks, the derived rows, commit inputs and
//! statistics, and the comparable [`Snapshot`] of everything indexed for one chain.

use runs_primitives::{Address, AgentId, AgentStatus, B256, ChainEvent, RunId, RunState, Usdc};
use serde::{Deserialize, Serialize};

/// One block of the recent-block window (and the checkpoint).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BlockRef {
    /// The block's number.
    pub number: u64,
    /// The block's hash.
    pub hash: B256,
    /// Its parent's hash.
    pub parent_hash: B256,
    /// Its timestamp (unix seconds).
    pub timestamp: u64,
}

/// What one indexed block range commits, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeCommit {
    /// The decoded events of the range, in any order (the store applies them in
    /// `(block_number, log_index)` order). Events already stored are skipped.
    pub events: Vec<ChainEvent>,
    /// The headers of the range's blocks that should join the reorg window (may be empty during a
    /// deep backfill; the checkpoint block is always stored).
    pub blocks: Vec<BlockRef>,
    /// The last block of the range: everything up to it is now indexed.
    pub checkpoint: BlockRef,
    /// How many blocks below the checkpoint to keep in the window; older ones are pruned.
    pub keep_blocks: u64,
}

/// What a [`RangeCommit`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CommitStats {
    /// Events stored for the first time (and applied to the derived rows).
    pub events_inserted: u64,
    /// Events that were already stored (not applied again).
    pub events_skipped: u64,
    /// `runs` rows written.
    pub runs_written: u64,
    /// `agents` rows written.
    pub agents_written: u64,
    /// `blocks` rows pruned below the window.
    pub blocks_pruned: u64,
}

/// What a rollback undid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RollbackStats {
    /// Events deleted (above the ancestor).
    pub events_deleted: u64,
    /// Blocks deleted from the window (above the ancestor).
    pub blocks_deleted: u64,
    /// `runs` rows rebuilt (or deleted when no event of theirs remains).
    pub runs_rebuilt: u64,
    /// `agents` rows rebuilt (or deleted when no event of theirs remains).
    pub agents_rebuilt: u64,
}

/// A run as the contract holds it, plus indexing metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunRow {
    /// The run.
    pub run_id: RunId,
    /// Who created it.
    pub poster: Address,
    /// Where the work is described.
    pub spec_uri: String,
    /// Paid to the agent on approval.
    pub reward: Usdc,
    /// Paid to the treasury on approval.
    pub fee: Usdc,
    /// Last time the run can be claimed (unix seconds).
    pub deadline: u64,
    /// The contract's state.
    pub state: RunState,
    /// The agent holding (or last holding, when EXPIRED by a slash) the run.
    pub agent_id: Option<AgentId>,
    /// That agent's wallet at claim time.
    pub agent_wallet: Option<Address>,
    /// The last submitted deliverable.
    pub deliverable_uri: Option<String>,
    /// Revisions requested so far.
    pub revision_count: u8,
    /// Revisions the poster may request.
    pub max_revisions: u8,
    /// Seconds from claim or revision request to submission.
    pub claim_timeout: u32,
    /// Seconds from submission to the poster's decision.
    pub review_period: u32,
    /// Seconds from a rejection in which the agent may dispute it.
    pub dispute_window: u32,
    /// Seconds from a dispute in which the arbitrator may rule.
    pub ruling_period: u32,
    /// Who rules on a dispute of this run.
    pub arbitrator: Address,
    /// Stake a claim reserves (what a slash, an abandon or a lost dispute takes); also the
    /// poster's rejection bond.
    pub required_stake: Usdc,
    /// The terms version the run was created with.
    pub terms_version: u64,
    /// Whether the run's money is paid out (the contract's `settled`): APPROVED, CANCELLED,
    /// EXPIRED, RESOLVED, and REJECTED once the rejection is final.
    pub settled: bool,
    /// The poster's rejection, once rejected (kept after a later approval, as history).
    pub rejection: Option<Rejection>,
    /// The agent's dispute of that rejection, once disputed.
    pub dispute: Option<Dispute>,
    /// Whether the escrow holds reward + fee (set by RunFunded, never cleared: refunds are in the
    /// terminal state).
    pub funded: bool,
    /// When the current agent claimed it.
    pub claimed_at: Option<u64>,
    /// When the last deliverable was submitted.
    pub submitted_at: Option<u64>,
    /// The contract's `timerStart`: start of the claim timeout or of the review period.
    pub timer_start: Option<u64>,
    /// Block timestamp of RunCreated.
    pub created_at: u64,
    /// Block timestamp of the last event applied.
    pub updated_at: u64,
    /// Block of RunCreated.
    pub created_block: u64,
    /// Block of the last event applied.
    pub updated_block: u64,
}

/// An agent as the vault holds it, plus indexing metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRow {
    /// The agent.
    pub agent_id: AgentId,
    /// Its wallet.
    pub wallet: Address,
    /// Where it describes itself.
    pub metadata_uri: String,
    /// Active stake.
    pub stake: Usdc,
    /// The part of `stake` reserved by live claims.
    pub reserved: Usdc,
    /// Stake requested for withdrawal (no longer at risk).
    pub pending_unstake: Usdc,
    /// When the pending stake can be withdrawn.
    pub unstake_ready_at: Option<u64>,
    /// When the stake last reached the minimum at one of the agent's own stakes; cleared when an
    /// unstake request or a forfeit takes it below the minimum in force.
    pub staked_since: Option<u64>,
    /// Frozen by a strike, until the agent's own stake of at least the minimum.
    pub frozen: bool,
    /// Banned: its strikes reached the threshold in force at a strike. Latched.
    pub banned: bool,
    /// Strikes: slashes and disputes lost with a strike.
    pub strikes: u32,
    /// Rejections that became final.
    pub rejections: u32,
    /// Disputes won (rulings of at least 50%, conceded disputes).
    pub disputes_won: u32,
    /// Disputes lost (rulings below 50%).
    pub disputes_lost: u32,
    /// Runs ever claimed.
    pub claims: u32,
    /// Completions: approvals and won disputes of runs with a reward of at least 1 USDC.
    pub completions: u32,
    /// Runs claimed and not yet settled.
    pub active_claims: u32,
    /// Total USDC earned from runs (saturating like the vault's `uint96`).
    pub volume: Usdc,
    /// The status of the last AgentStatusChanged (UNVERIFIED at registration).
    pub last_status: AgentStatus,
    /// Block timestamp of AgentRegistered.
    pub registered_at: u64,
    /// Block timestamp of the last event applied.
    pub updated_at: u64,
    /// Block of AgentRegistered.
    pub registered_block: u64,
    /// Block of the last event applied.
    pub updated_block: u64,
}

/// The contracts' parameters in force, folded from the parameter events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainParams {
    /// Escrow fee in basis points.
    pub fee_bps: u16,
    /// Escrow claim timeout (seconds) for new runs.
    pub claim_timeout: u32,
    /// Escrow review period (seconds) for new runs.
    pub review_period: u32,
    /// Escrow dispute window (seconds) for new runs.
    pub dispute_window: u32,
    /// Escrow ruling period (seconds) for new runs.
    pub ruling_period: u32,
    /// The arbitrator of new runs (None before the first terms event).
    pub arbitrator: Option<Address>,
    /// The current terms version.
    pub terms_version: u64,
    /// Vault minimum stake.
    pub min_stake: Usdc,
    /// Vault unstake cooldown (seconds).
    pub unstake_cooldown: u32,
    /// Slashes that ban.
    pub strikes_to_ban: u16,
    /// Completions for ESTABLISHED.
    pub established_completions: u16,
    /// Seconds since `staked_since` for ESTABLISHED.
    pub established_age: u32,
    /// Where fees go (None before the first TreasuryUpdated).
    pub treasury: Option<Address>,
    /// Whether the escrow is paused (new runs, funding, claims).
    pub paused: bool,
    /// Whether the vault is paused (new stake).
    pub staking_paused: bool,
}

/// A poster's rejection of a run (stored as JSON in `runs.rejection`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rejection {
    /// Why.
    pub reason_uri: String,
    /// The bond the poster posted.
    pub bond: Usdc,
    /// When (block timestamp).
    pub rejected_at: u64,
    /// When the rejection became final, if it did.
    pub finalized_at: Option<u64>,
    /// Whether the agent accepted it (false: finalized by anyone after the window).
    pub accepted_by_agent: bool,
}

/// An agent's dispute of a rejection (stored as JSON in `runs.dispute`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dispute {
    /// The agent's case.
    pub evidence_uri: String,
    /// When (block timestamp): the ruling period starts here.
    pub disputed_at: u64,
    /// How it ended, once it did.
    pub ruling: Option<Ruling>,
}

/// How a dispute ended and what it paid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ruling {
    /// The agent's share of reward and fee, in basis points.
    pub agent_share_bps: u16,
    /// Paid to the agent from the reward.
    pub to_agent: Usdc,
    /// Paid to the treasury from the fee.
    pub to_treasury: Usdc,
    /// Paid back to the poster from reward + fee.
    pub to_poster: Usdc,
    /// The agent's reservation paid to the poster.
    pub stake_forfeited: Usdc,
    /// Whether a strike was counted.
    pub strike: bool,
    /// Whether it was the default split of a silent arbitrator.
    pub by_default: bool,
    /// When (block timestamp).
    pub resolved_at: u64,
    /// Whether the poster conceded (approved the disputed run) instead of a ruling.
    pub conceded: bool,
}

/// Credit owed to an account after a failed payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreditRow {
    /// Who is owed.
    pub account: Address,
    /// How much.
    pub amount: Usdc,
}

/// Everything indexed for one chain, sorted, for comparing two stores.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Raw events by `(block_number, log_index)`.
    pub events: Vec<ChainEvent>,
    /// Runs by id.
    pub runs: Vec<RunRow>,
    /// Agents by id.
    pub agents: Vec<AgentRow>,
    /// The parameters, once any parameter event was indexed.
    pub params: Option<ChainParams>,
    /// Credits by account (rows with a zero amount included).
    pub credits: Vec<CreditRow>,
}
