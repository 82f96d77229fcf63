//! The plain values the store reads and writes: blocks, the derived rows, commit inputs and
//! statistics, and the comparable [`Snapshot`] of everything indexed for one chain.

use runs_primitives::{Address, AgentId, AgentStatus, B256, ChainEvent, RunId, RunState, Usdc};

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
    /// Stake requested for withdrawal.
    pub pending_unstake: Usdc,
    /// When the pending stake can be withdrawn.
    pub unstake_ready_at: Option<u64>,
    /// When the stake first reached the minimum in force at that stake (never reset).
    pub staked_since: Option<u64>,
    /// Frozen by a slash, until a stake brings it back to the minimum.
    pub frozen: bool,
    /// Times slashed (strikes).
    pub slashes: u32,
    /// Runs ever claimed.
    pub claims: u32,
    /// Runs approved.
    pub completions: u32,
    /// Runs claimed and not yet settled.
    pub active_claims: u32,
    /// Total reward earned.
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
    /// Whether the escrow is paused.
    pub paused: bool,
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
