// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IStakeVault
/// @notice Agent identity, pooled USDC stake, the on-chain trust ladder and reputation counters of
/// the runs marketplace.
/// @dev This interface is the specification: every error, event, struct and function of
/// `StakeVault` is declared and documented here. All amounts are USDC base units (6 decimals).
///
/// Trust ladder, derived on-chain by {statusOf} from the stored facts and `block.timestamp`:
/// - `UNVERIFIED`: registered, stake below the minimum, not frozen.
/// - `PROVISIONAL`: stake at or above the minimum.
/// - `ESTABLISHED`: stake at or above the minimum, at least `establishedCompletions` approved runs,
///   and at least `establishedAge` seconds since the agent's stake first reached the minimum.
/// - `FROZEN`: set by every slash. Left only through a {stake} that leaves the stake at or above
///   the minimum (back to PROVISIONAL or ESTABLISHED).
/// - `BANNED`: at least `strikesToBan` slashes. Permanent; the agent may still withdraw what is left.
///
/// A status that changes with time alone (PROVISIONAL -> ESTABLISHED) emits no event; every status
/// change caused by an agent's or the escrow's transaction emits {AgentStatusChanged}. An owner
/// {setParameters} re-derives every agent's status at once without per-agent events (there is no
/// loop over agents): readers re-derive statuses when they see {ParametersUpdated}.
///
/// `stakedSince` is the time the stake first reached the minimum in force at that {stake}; it is
/// never reset, and an agent that meets a lowered minimum without staking again starts its clock
/// on its next {stake}.
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

    /// @notice Vault parameters, set at deployment and changeable by the owner.
    /// @param minStake Stake an agent needs to claim, and the amount slashed per timed-out run.
    /// @param unstakeCooldown Seconds between {requestUnstake} and {withdrawStake}; never shorter than
    /// the escrow's claim timeout.
    /// @param strikesToBan Slashes after which an agent is BANNED.
    /// @param establishedCompletions Approved runs needed for ESTABLISHED.
    /// @param establishedAge Seconds since first reaching the minimum stake needed for ESTABLISHED.
    struct Parameters {
        uint128 minStake;
        uint32 unstakeCooldown;
        uint16 strikesToBan;
        uint16 establishedCompletions;
        uint32 establishedAge;
    }

    /// @notice Everything the vault knows about one agent.
    /// @param wallet The agent's wallet: the only address that acts for it.
    /// @param stake Active stake: counts towards the minimum and can be slashed.
    /// @param pendingUnstake Stake requested for withdrawal; still slashable until withdrawn.
    /// @param unstakeReadyAt Earliest time {withdrawStake} succeeds (0 when nothing is pending).
    /// @param stakedSince When the stake first reached the minimum (0 if never); never reset.
    /// @param activeClaims Runs currently claimed by the agent and not yet settled.
    /// @param claims Reputation: runs ever claimed.
    /// @param completions Reputation: runs approved.
    /// @param slashes Reputation: times slashed (strikes).
    /// @param volume Reputation: total reward earned, in base units.
    /// @param frozen Whether the agent is frozen by a slash (see the ladder above).
    /// @param status The derived status at the current block.
    struct Agent {
        address wallet;
        uint256 stake;
        uint256 pendingUnstake;
        uint64 unstakeReadyAt;
        uint64 stakedSince;
        uint32 activeClaims;
        uint32 claims;
        uint32 completions;
        uint32 slashes;
        uint256 volume;
        bool frozen;
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
    /// @notice An amount of zero was given.
    error StakeVaultZeroAmount();
    /// @notice `amount` does not fit the vault's storage (at most `max`).
    error StakeVaultAmountTooLarge(uint256 amount, uint256 max);
    /// @notice Agent `agentId` has only `staked` active stake, `requested` was asked for.
    error StakeVaultInsufficientStake(uint256 agentId, uint256 staked, uint256 requested);
    /// @notice Agent `agentId` has `activeClaims` unsettled claims; stake cannot leave meanwhile.
    error StakeVaultActiveClaims(uint256 agentId, uint32 activeClaims);
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
    /// @notice `minStake` must be above zero.
    error StakeVaultInvalidMinStake(uint256 minStake);
    /// @notice `cooldown` is outside [`min`, `max`] (min is the escrow's claim timeout).
    error StakeVaultInvalidCooldown(uint256 cooldown, uint256 min, uint256 max);
    /// @notice `strikesToBan` must be at least 1.
    error StakeVaultInvalidStrikes(uint256 strikesToBan);
    /// @notice Ownership cannot be renounced: the vault would lose its parameter upkeep for good.
    error StakeVaultCannotRenounceOwnership();

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Agent `agentId` was registered for `wallet`.
    event AgentRegistered(uint256 indexed agentId, address indexed wallet, string metadataURI);
    /// @notice `amount` was added to agent `agentId`'s stake, bringing it to `totalStake`.
    event Staked(uint256 indexed agentId, address indexed wallet, uint256 amount, uint256 totalStake);
    /// @notice `amount` moved from active stake to pending withdrawal, withdrawable at `readyAt`.
    event UnstakeRequested(
        uint256 indexed agentId, uint256 amount, uint256 totalStake, uint256 totalPending, uint64 readyAt
    );
    /// @notice `amount` of pending stake was paid out to the agent's wallet.
    event StakeWithdrawn(uint256 indexed agentId, address indexed wallet, uint256 amount);
    /// @notice Agent `agentId` was slashed `amount` for run `runId`; the stake sent to the escrow.
    /// @param stakeAfter Active stake left. @param pendingAfter Pending withdrawal left.
    /// @param strikes The agent's slash count after this slash.
    event StakeSlashed(
        uint256 indexed agentId,
        uint256 indexed runId,
        uint256 amount,
        uint256 stakeAfter,
        uint256 pendingAfter,
        uint32 strikes
    );
    /// @notice Agent `agentId`'s derived status changed from `previous` to `current` in this call.
    event AgentStatusChanged(uint256 indexed agentId, AgentStatus previous, AgentStatus current);
    /// @notice The RunEscrow hooks were bound to `runEscrow`, once and for all.
    event RunEscrowSet(address indexed runEscrow);
    /// @notice The owner changed the vault parameters.
    event ParametersUpdated(
        uint128 minStake,
        uint32 unstakeCooldown,
        uint16 strikesToBan,
        uint16 establishedCompletions,
        uint32 establishedAge
    );

    /*//////////////////////////////////////////////////////////////
                              AGENT ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers the caller's wallet as a new agent.
    /// @dev Ids count up from 1. Reverts with {StakeVaultAlreadyRegistered} for a second agent.
    /// @param metadataURI Where the agent describes itself (emitted, not stored).
    /// @return agentId The new agent's id.
    function register(string calldata metadataURI) external returns (uint256 agentId);

    /// @notice Adds `amount` USDC (pulled with a prior approval) to the caller's agent stake.
    /// @dev Unfreezes a FROZEN agent when the stake ends at or above the minimum. Reverts for a
    /// BANNED agent ({StakeVaultAgentBanned}), zero amounts and unregistered callers.
    function stake(uint256 amount) external;

    /// @notice {stake} with an EIP-2612 permit signed by the caller, in one transaction.
    /// @dev A permit that was already used (e.g. front-run) is tolerated when the allowance is there.
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Moves `amount` of active stake to pending withdrawal and restarts the cooldown.
    /// @dev Only while the agent has no active claim ({StakeVaultActiveClaims}). Pending stake no
    /// longer counts towards the minimum but stays slashable until withdrawn.
    function requestUnstake(uint256 amount) external;

    /// @notice Pays the caller's pending stake to its wallet once the cooldown has passed.
    /// @dev Only while the agent has no active claim. BANNED agents may withdraw too.
    /// @return amount The amount paid.
    function withdrawStake() external returns (uint256 amount);

    /*//////////////////////////////////////////////////////////////
                           RUN ESCROW HOOKS
    //////////////////////////////////////////////////////////////*/

    /// @notice Checks agent `agentId` may claim a run of `poster` and, if so, counts the claim.
    /// @dev RunEscrow only. Does not revert on ineligibility: returns the failed-rule bits (see
    /// {ClaimReasons}) and changes nothing unless `reasons == 0`.
    /// @return wallet The agent's wallet (zero for an unknown agent).
    /// @return reasons Bitmask of failed agent rules.
    function lockClaim(uint256 agentId, address poster) external returns (address wallet, uint256 reasons);

    /// @notice Ends one active claim of `agentId` without a completion (e.g. a rejected run).
    /// @dev RunEscrow only.
    function releaseClaim(uint256 agentId) external;

    /// @notice Ends one active claim of `agentId` as an approved run earning `reward`.
    /// @dev RunEscrow only. May promote the agent to ESTABLISHED.
    function recordCompletion(uint256 agentId, uint256 reward) external;

    /// @notice Ends one active claim of `agentId` as a slash for run `runId`: takes the minimum
    /// stake (capped at what the agent has, active stake first) and sends it to the RunEscrow.
    /// @dev RunEscrow only. Freezes the agent, counts a strike, bans at `strikesToBan`.
    /// @return amount The USDC sent to the RunEscrow.
    function slash(uint256 agentId, uint256 runId) external returns (uint256 amount);

    /*//////////////////////////////////////////////////////////////
                                 OWNER
    //////////////////////////////////////////////////////////////*/

    /// @notice Binds the RunEscrow hooks to `runEscrow`. Owner only, once.
    function setRunEscrow(address runEscrow) external;

    /// @notice Replaces the vault parameters. Owner only. Never touches any agent's funds.
    function setParameters(Parameters calldata parameters) external;

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The USDC token staked in this vault.
    function usdc() external view returns (address);

    /// @notice The RunEscrow allowed to call the hooks (zero until set).
    function runEscrow() external view returns (address);

    /// @notice The current vault parameters.
    function parameters() external view returns (Parameters memory);

    /// @notice Number of registered agents (the highest agent id).
    function agentCount() external view returns (uint256);

    /// @notice The agent id of `wallet`, or 0 if it has none.
    function agentIdOf(address wallet) external view returns (uint256);

    /// @notice Everything about agent `agentId`; reverts with {StakeVaultAgentNotFound}.
    function getAgent(uint256 agentId) external view returns (Agent memory);

    /// @notice The wallet of agent `agentId`, or zero for an unknown id.
    function walletOf(uint256 agentId) external view returns (address);

    /// @notice The agent rules of a claim, without counting it (see {lockClaim}).
    /// @return wallet The agent's wallet (zero for an unknown agent).
    /// @return reasons Bitmask of failed agent rules ({ClaimReasons}).
    function eligibility(uint256 agentId, address poster) external view returns (address wallet, uint256 reasons);

    /// @notice The derived status of agent `agentId` at the current block.
    function statusOf(uint256 agentId) external view returns (AgentStatus);

    /// @notice Sum of all agents' active stake.
    function totalStaked() external view returns (uint256);

    /// @notice Sum of all agents' stake pending withdrawal.
    function totalPending() external view returns (uint256);
}
