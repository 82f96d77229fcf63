// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IStakeVault
/// @notice Agent identity, USDC stake with per-claim reservations, the on-chain trust ladder and
/// reputation counters of the runs marketplace (protocol v2).
/// @dev This interface is the specification: every error, event, struct and function of
/// `StakeVault` is declared and documented here. All amounts are USDC base units (6 decimals).
///
/// Stake and reservations: an agent stakes once into its own balance. Each claim reserves the
/// run's `requiredStake` of it; a claim needs free stake (`stake - reserved`) of at least that,
/// so one stake never backs more claims than it can pay for. A reservation is held until the run
/// settles, then released or paid to the poster (slash, abandon, a lost dispute) — always exactly
/// the amount reserved at the claim, whatever the owner sets meanwhile. Only free stake can be
/// requested for withdrawal; stake pending withdrawal is no longer at risk.
///
/// Trust ladder, derived on-chain by {statusOf} from the stored facts and `block.timestamp`:
/// - `BANNED`: the agent's strikes reached `strikesToBan` in force when it was struck. Latched and
///   permanent (lowering the threshold later bans no one retroactively); may still withdraw free stake.
/// - `FROZEN`: set by every slash and every lost dispute ruled with a strike; also shown for any
///   agent with a strike whose stake is below the minimum. Left only through a {stake} of at least
///   the minimum that leaves the stake at or above the minimum (fresh stake at risk, not a token
///   top-up by an agent that kept the minimum after its strike).
/// - `UNVERIFIED`: stake below the minimum and never struck.
/// - `ESTABLISHED`: stake at or above the minimum, at least `establishedCompletions` completions,
///   and at least `establishedAge` seconds since `stakedSince`.
/// - `PROVISIONAL`: stake at or above the minimum otherwise.
///
/// `stakedSince` is when the agent's stake last reached the minimum in force at one of its own
/// {stake} calls; it is cleared whenever the agent's own unstake request or a forfeit takes its
/// stake below the minimum in force, so an agent that leaves and returns waits `establishedAge`
/// again (its completions are kept). Owner changes of the minimum touch no agent's storage: an
/// agent lifted to the minimum by a lowered minimum starts its clock at its next {stake}; one
/// pushed below it by a raised minimum keeps its clock. A status that changes with time alone
/// (PROVISIONAL -> ESTABLISHED) emits no event; a status change caused by a transaction that
/// touches the agent emits {AgentStatusChanged}. An owner {setParameters} re-derives every status
/// at once without per-agent events (a lowered minimum can also lift the FROZEN shown for a struck
/// agent below the old minimum, but never a strike's own freeze): readers re-derive on
/// {ParametersUpdated}.
///
/// The status gates only new claims (and {stake} for a BANNED agent): every action on a live claim
/// works whatever the agent's status became since.
interface IStakeVault {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice The five rungs of the trust ladder, in ABI order.
    enum AgentStatus {
        UNVERIFIED,
        PROVISIONAL,
        ESTABLISHED,
        FROZEN,
        BANNED
    }

    /// @notice How a claim ended, as the escrow reports it to {settleClaim}.
    /// @dev APPROVED, DISPUTE_WON, DISPUTE_SPLIT and REJECTED release the reservation;
    /// SLASHED, ABANDONED, DISPUTE_LOST and DISPUTE_LOST_STRUCK pay it to the escrow (for the poster).
    enum Outcome {
        APPROVED,
        DISPUTE_WON,
        DISPUTE_SPLIT,
        REJECTED,
        SLASHED,
        ABANDONED,
        DISPUTE_LOST,
        DISPUTE_LOST_STRUCK
    }

    /// @notice Vault parameters, set at deployment and changeable by the owner.
    /// @param minStake Stake an agent needs to claim at all (PROVISIONAL), and the smallest stake a
    /// run may require of its claimant.
    /// @param unstakeCooldown Seconds between {requestUnstake} and {withdrawStake}.
    /// @param strikesToBan Strikes (slashes and struck disputes) after which an agent is BANNED.
    /// @param establishedCompletions Completions needed for ESTABLISHED.
    /// @param establishedAge Seconds since `stakedSince` needed for ESTABLISHED.
    struct Parameters {
        uint64 minStake;
        uint32 unstakeCooldown;
        uint16 strikesToBan;
        uint16 establishedCompletions;
        uint32 establishedAge;
    }

    /// @notice Everything the vault knows about one agent.
    /// @param wallet The agent's wallet: the only address that acts for it.
    /// @param stake Stake in the vault (free + reserved); counts towards the minimum.
    /// @param reserved The part of `stake` reserved by live claims.
    /// @param pendingUnstake Stake requested for withdrawal; no longer at risk.
    /// @param unstakeReadyAt Earliest time {withdrawStake} succeeds (0 when nothing is pending).
    /// @param stakedSince When the stake last reached the minimum (0 while below it since).
    /// @param claims Reputation: runs ever claimed.
    /// @param completions Reputation: approvals, approvals on timeout and rulings of at least 50%,
    /// of runs with a reward of at least 1 USDC.
    /// @param strikes Reputation: slashes and struck disputes.
    /// @param rejections Reputation: rejections that became final without a dispute.
    /// @param disputesWon Reputation: rulings of at least 50% for the agent.
    /// @param disputesLost Reputation: rulings below 50%.
    /// @param volume Reputation: total USDC earned from runs, in base units (saturating).
    /// @param frozen Whether the agent is frozen by a strike (see the ladder above).
    /// @param banned Whether the agent is banned (latched).
    /// @param status The derived status at the current block.
    struct Agent {
        address wallet;
        uint256 stake;
        uint256 reserved;
        uint256 pendingUnstake;
        uint64 unstakeReadyAt;
        uint64 stakedSince;
        uint32 claims;
        uint32 completions;
        uint16 strikes;
        uint16 rejections;
        uint16 disputesWon;
        uint16 disputesLost;
        uint256 volume;
        bool frozen;
        bool banned;
        AgentStatus status;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice A zero address was given where an account or contract is required.
    error StakeVaultZeroAddress();
    /// @notice `wallet` already has agent `agentId`: one agent per wallet.
    error StakeVaultAlreadyRegistered(address wallet, uint256 agentId);
    /// @notice `wallet` has no agent; call {register} first.
    error StakeVaultNotRegistered(address wallet);
    /// @notice No agent has id `agentId`.
    error StakeVaultAgentNotFound(uint256 agentId);
    /// @notice Agent ids are exhausted: `max` agents exist.
    error StakeVaultTooManyAgents(uint256 max);
    /// @notice An amount of zero was given.
    error StakeVaultZeroAmount();
    /// @notice Staking `amount` would take the agent's stake plus pending withdrawal above `max`.
    error StakeVaultAmountTooLarge(uint256 amount, uint256 max);
    /// @notice Agent `agentId` has only `free` unreserved stake; `requested` was asked for.
    error StakeVaultInsufficientFreeStake(uint256 agentId, uint256 free, uint256 requested);
    /// @notice Agent `agentId` has no stake pending withdrawal.
    error StakeVaultNothingToWithdraw(uint256 agentId);
    /// @notice Agent `agentId`'s unstake cooldown ends at `readyAt`.
    error StakeVaultCooldownActive(uint256 agentId, uint64 readyAt);
    /// @notice Agent `agentId` is BANNED and can no longer stake.
    error StakeVaultAgentBanned(uint256 agentId);
    /// @notice Only the RunEscrow may call this hook; `caller` is not it.
    error StakeVaultUnauthorized(address caller);
    /// @notice The RunEscrow is already set to `runEscrow` and can never change.
    error StakeVaultEscrowAlreadySet(address runEscrow);
    /// @notice Nothing can be staked before the RunEscrow is bound with {setRunEscrow}.
    error StakeVaultEscrowNotSet();
    /// @notice `runEscrow` is not an escrow of this vault (its `stakeVault()` is `vault`).
    error StakeVaultEscrowMismatch(address runEscrow, address vault);
    /// @notice `minStake` must be above zero.
    error StakeVaultInvalidMinStake(uint256 minStake);
    /// @notice `cooldown` is outside [`min`, `max`].
    error StakeVaultInvalidCooldown(uint256 cooldown, uint256 min, uint256 max);
    /// @notice `strikesToBan` must be at least 1.
    error StakeVaultInvalidStrikes(uint256 strikesToBan);
    /// @notice Ownership cannot be renounced: the vault would lose its parameter upkeep for good.
    error StakeVaultCannotRenounceOwnership();
    /// @notice Staking is paused by the owner.
    error StakeVaultPaused();
    /// @notice Staking is not paused.
    error StakeVaultNotPaused();
    /// @notice A URI of `length` bytes is above the cap `max`.
    error StakeVaultURITooLong(uint256 length, uint256 max);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Agent `agentId` was registered for `wallet`.
    event AgentRegistered(uint256 indexed agentId, address indexed wallet, string metadataURI);
    /// @notice `amount` was added to agent `agentId`'s stake, bringing it to `totalStake`.
    event Staked(uint256 indexed agentId, address indexed wallet, uint256 amount, uint256 totalStake);
    /// @notice `amount` of free stake moved to pending withdrawal, withdrawable at `readyAt`.
    event UnstakeRequested(
        uint256 indexed agentId, uint256 amount, uint256 totalStake, uint256 totalPending, uint64 readyAt
    );
    /// @notice `amount` of pending stake was paid out to the agent's wallet.
    event StakeWithdrawn(uint256 indexed agentId, address indexed wallet, uint256 amount);
    /// @notice Agent `agentId`'s reservation of `amount` for run `runId` was paid to the escrow.
    /// @param outcome SLASHED, ABANDONED, DISPUTE_LOST or DISPUTE_LOST_STRUCK.
    /// @param remainingStake Stake left. @param strikes The agent's strikes after this forfeit.
    event StakeForfeited(
        uint256 indexed agentId,
        uint256 indexed runId,
        uint256 amount,
        Outcome outcome,
        uint256 remainingStake,
        uint16 strikes
    );
    /// @notice Agent `agentId`'s derived status changed from `previous` to `current` in this call.
    event AgentStatusChanged(uint256 indexed agentId, AgentStatus previous, AgentStatus current);
    /// @notice The RunEscrow hooks were bound to `runEscrow`, once and for all.
    event RunEscrowSet(address indexed runEscrow);
    /// @notice The owner changed the vault parameters.
    event ParametersUpdated(Parameters parameters);
    /// @notice The owner paused staking.
    event StakingPaused(address account);
    /// @notice The owner resumed staking.
    event StakingUnpaused(address account);

    /*//////////////////////////////////////////////////////////////
                              AGENT ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers the caller's wallet as a new agent.
    /// @dev Ids count up from 1. Reverts with {StakeVaultAlreadyRegistered} for a second agent.
    /// @param metadataURI Where the agent describes itself (emitted, not stored; at most 2 KB).
    /// @return agentId The new agent's id.
    function register(string calldata metadataURI) external returns (uint256 agentId);

    /// @notice Adds `amount` USDC (pulled with a prior approval) to the caller's agent stake.
    /// @dev Unfreezes a FROZEN agent when `amount` and the resulting stake are both at least the
    /// minimum. Reverts for a
    /// BANNED agent ({StakeVaultAgentBanned}), zero amounts, unregistered callers, while paused
    /// ({StakeVaultPaused}) and before the escrow is bound ({StakeVaultEscrowNotSet}).
    function stake(uint256 amount) external;

    /// @notice {stake} with an EIP-2612 permit signed by the caller, in one transaction.
    /// @dev A permit that was already used (e.g. front-run) is tolerated when the allowance is there.
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Moves `amount` of free stake (stake - reserved) to pending withdrawal and restarts
    /// the cooldown. Allowed at any time, live claims or not; works while paused.
    function requestUnstake(uint256 amount) external;

    /// @notice Pays the caller's pending stake to its wallet once the cooldown has passed.
    /// @dev Works while paused and for BANNED agents.
    /// @return amount The amount paid.
    function withdrawStake() external returns (uint256 amount);

    /*//////////////////////////////////////////////////////////////
                           RUN ESCROW HOOKS
    //////////////////////////////////////////////////////////////*/

    /// @notice Checks agent `agentId` may claim a run requiring `amount` of stake and, if so,
    /// reserves it and counts the claim.
    /// @dev RunEscrow only. Does not revert on ineligibility: returns the failed-rule bits (see
    /// {ClaimReasons}) and changes nothing unless `reasons == 0`.
    /// @return wallet The agent's wallet (zero for an unknown agent).
    /// @return reasons Bitmask of failed agent rules.
    function reserve(uint256 agentId, uint256 amount) external returns (address wallet, uint256 reasons);

    /// @notice Ends a claim of agent `agentId` on run `runId` whose reservation was `amount`.
    /// @dev RunEscrow only. Releasing outcomes give the reservation back to the agent's free stake;
    /// forfeiting outcomes take it from the stake and send it to the RunEscrow. Records the
    /// outcome's reputation: a completion (APPROVED, DISPUTE_WON) when `reward` is at least
    /// 1 USDC, `earned` added to the volume, and a strike (SLASHED, DISPUTE_LOST_STRUCK) that
    /// freezes the agent and bans it at `strikesToBan`.
    /// @param reward The run's reward (decides whether a completion counts).
    /// @param earned What the agent was paid for the run.
    /// @return wallet The agent's wallet (where the escrow pays it).
    /// @return forfeited The USDC sent to the RunEscrow (0 for releasing outcomes).
    function settleClaim(
        uint256 agentId,
        uint256 runId,
        uint256 amount,
        Outcome outcome,
        uint256 reward,
        uint256 earned
    ) external returns (address wallet, uint256 forfeited);

    /*//////////////////////////////////////////////////////////////
                                 OWNER
    //////////////////////////////////////////////////////////////*/

    /// @notice Binds the RunEscrow hooks to `runEscrow` (whose `stakeVault()` must be this vault).
    /// Owner only, once; staking opens only after it.
    function setRunEscrow(address runEscrow) external;

    /// @notice Replaces the vault parameters. Owner only. Never touches any agent's funds or any
    /// live reservation; new runs' default required stake follows `minStake`.
    function setParameters(Parameters calldata parameters) external;

    /// @notice Stops new stake. Owner only. Unstaking, withdrawals and every claim hook still work.
    function pause() external;

    /// @notice Lifts {pause}. Owner only.
    function unpause() external;

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The smallest run reward, in base units, whose approval counts as a completion.
    function MIN_COMPLETION_REWARD() external view returns (uint256);

    /// @notice The USDC token staked in this vault.
    function usdc() external view returns (address);

    /// @notice The RunEscrow allowed to call the hooks (zero until set).
    function runEscrow() external view returns (address);

    /// @notice The current vault parameters.
    function parameters() external view returns (Parameters memory);

    /// @notice Whether staking is paused.
    function paused() external view returns (bool);

    /// @notice Number of registered agents (the highest agent id).
    function agentCount() external view returns (uint256);

    /// @notice The agent id of `wallet`, or 0 if it has none.
    function agentIdOf(address wallet) external view returns (uint256);

    /// @notice Everything about agent `agentId`; reverts with {StakeVaultAgentNotFound}.
    function getAgent(uint256 agentId) external view returns (Agent memory);

    /// @notice The wallet of agent `agentId`, or zero for an unknown id.
    function walletOf(uint256 agentId) external view returns (address);

    /// @notice The agent rules of a claim requiring `amount` of stake, without reserving it.
    /// @return wallet The agent's wallet (zero for an unknown agent).
    /// @return reasons Bitmask of failed agent rules ({ClaimReasons}).
    function eligibility(uint256 agentId, uint256 amount)
        external
        view
        returns (address wallet, uint256 reasons);

    /// @notice The derived status of agent `agentId` at the current block.
    function statusOf(uint256 agentId) external view returns (AgentStatus);

    /// @notice Sum of all agents' stake (free and reserved).
    function totalStaked() external view returns (uint256);

    /// @notice Sum of all agents' stake pending withdrawal.
    function totalPending() external view returns (uint256);
}
