// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IRunEscrow
/// @notice Runs (paid work requests), the USDC escrowed for them and their state machine.
/// @dev This interface is the specification of `RunEscrow`. All amounts are USDC base units
/// (6 decimals). Times are unix seconds.
///
/// Life of a run (see SPEC §2.3):
///
///     createRun -> DRAFT --fund--> OPEN --claim--> CLAIMED --start--> IN_PROGRESS
///     createAndFund ---------------^                  \---------submit---------\
///     SUBMITTED --approve / approveOnTimeout--> APPROVED   (reward -> agent, fee -> treasury)
///     SUBMITTED --requestRevision--> REVISION_REQUESTED --submit--> SUBMITTED
///     SUBMITTED --reject (revisions used up)--> REJECTED   (reward + fee -> poster)
///     DRAFT/OPEN --cancel--> CANCELLED; OPEN past deadline --expire--> EXPIRED (refund)
///     CLAIMED/IN_PROGRESS/REVISION_REQUESTED past the claim timeout --slash--> OPEN, or EXPIRED
///     when past the deadline (slashed stake -> poster, and the refund when EXPIRED)
///
/// The poster pays `reward + fee`, where `fee = reward * feeBps / 10_000` rounded down, with the
/// fee rate, claim timeout and review period in force when the run was created (a run keeps them
/// for life). The fee goes to the treasury only on approval; every other ending refunds it.
/// Payouts that fail (e.g. a blacklisted recipient) become credits, withdrawn with
/// {withdrawCredit}. Pausing blocks only new runs, funding and claims.
interface IRunEscrow {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice Run states, in ABI order.
    enum RunState {
        DRAFT,
        OPEN,
        CLAIMED,
        IN_PROGRESS,
        SUBMITTED,
        APPROVED,
        REVISION_REQUESTED,
        REJECTED,
        CANCELLED,
        EXPIRED
    }

    /// @notice One run as seen from outside.
    /// @param poster Who created (and pays for) the run.
    /// @param agentId The agent holding the claim (0 when none).
    /// @param deadline Claims are accepted until this time; an OPEN run can expire after it.
    /// @param state The run's state.
    /// @param revisionCount Revisions requested so far from the current agent.
    /// @param maxRevisions Revisions the poster may request before approve or reject.
    /// @param reward Paid to the agent on approval.
    /// @param fee Paid to the treasury on approval, refunded otherwise.
    /// @param timerStart Last claim, revision request or submission: the claim timeout and the
    /// review period count from it.
    /// @param claimTimeout Snapshot: seconds from `timerStart` until the agent can be slashed.
    /// @param reviewPeriod Snapshot: seconds from submission until anyone may approve.
    struct Run {
        address poster;
        uint256 agentId;
        uint64 deadline;
        RunState state;
        uint8 revisionCount;
        uint8 maxRevisions;
        uint256 reward;
        uint256 fee;
        uint64 timerStart;
        uint32 claimTimeout;
        uint32 reviewPeriod;
    }

    /// @notice EIP-2612 permit signature of the caller for this contract.
    struct Permit {
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice EIP-3009 `receiveWithAuthorization` signature of the caller, payable to this contract.
    struct Authorization {
        uint256 validAfter;
        uint256 validBefore;
        bytes32 nonce;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    /// @notice A zero address was given where an account or contract is required.
    error RunEscrowZeroAddress();
    /// @notice `treasury` is this escrow or the vault, where fees would sit unowed.
    error RunEscrowInvalidTreasury(address treasury);
    /// @notice Ownership cannot be renounced: a paused escrow would stay paused forever.
    error RunEscrowCannotRenounceOwnership();
    /// @notice No run has id `runId`.
    error RunEscrowRunNotFound(uint256 runId);
    /// @notice Run `runId` is in `state`, where this action is not allowed.
    error RunEscrowInvalidState(uint256 runId, RunState state);
    /// @notice `caller` is not the poster of run `runId`.
    error RunEscrowNotPoster(uint256 runId, address caller);
    /// @notice `caller` is not the wallet of the agent holding run `runId`.
    error RunEscrowNotAgent(uint256 runId, address caller);
    /// @notice `caller` is not the wallet of agent `agentId`.
    error RunEscrowNotAgentWallet(uint256 agentId, address caller);
    /// @notice Agent `agentId` may not claim run `runId`; `reasons` has a {ClaimReasons} bit per failed rule.
    error RunEscrowNotClaimable(uint256 runId, uint256 agentId, uint256 reasons);
    /// @notice The reward must be above zero.
    error RunEscrowZeroReward();
    /// @notice `reward` is above the largest supported reward `max`.
    error RunEscrowRewardTooLarge(uint256 reward, uint256 max);
    /// @notice `deadline` is not after the current time `now`, or does not fit 40 bits.
    error RunEscrowInvalidDeadline(uint256 deadline, uint256 now);
    /// @notice `maxRevisions` is above the cap `max`.
    error RunEscrowTooManyRevisions(uint256 maxRevisions, uint256 max);
    /// @notice A spec or deliverable URI was empty.
    error RunEscrowEmptyURI();
    /// @notice Run `runId` has used all `maxRevisions` revisions: approve or reject it.
    error RunEscrowRevisionsExhausted(uint256 runId, uint8 maxRevisions);
    /// @notice Run `runId` has revisions left (`revisionCount` of `maxRevisions`): reject only after.
    error RunEscrowRevisionsRemaining(uint256 runId, uint8 revisionCount, uint8 maxRevisions);
    /// @notice Run `runId` cannot be slashed by this caller before `slashableAfter`.
    error RunEscrowClaimNotTimedOut(uint256 runId, uint256 slashableAfter);
    /// @notice Run `runId`'s review period runs until `reviewEndsAt`.
    error RunEscrowReviewNotTimedOut(uint256 runId, uint256 reviewEndsAt);
    /// @notice Run `runId`'s deadline `deadline` has not passed.
    error RunEscrowDeadlineNotPassed(uint256 runId, uint256 deadline);
    /// @notice `account` has no credit to withdraw.
    error RunEscrowNoCredit(address account);
    /// @notice `feeBps` is above the cap `max`.
    error RunEscrowFeeTooHigh(uint256 feeBps, uint256 max);
    /// @notice A timeout of `value` seconds is outside [`min`, `max`].
    error RunEscrowInvalidTimeout(uint256 value, uint256 min, uint256 max);
    /// @notice The claim timeout `claimTimeout` exceeds the vault's unstake cooldown `cooldown`.
    error RunEscrowTimeoutExceedsCooldown(uint256 claimTimeout, uint256 cooldown);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Run `runId` was created in DRAFT by `poster` with its snapshotted terms.
    event RunCreated(
        uint256 indexed runId,
        address indexed poster,
        string specURI,
        uint256 reward,
        uint256 fee,
        uint64 deadline,
        uint8 maxRevisions,
        uint32 claimTimeout,
        uint32 reviewPeriod
    );
    /// @notice `poster` escrowed `amount` (reward + fee) and run `runId` is OPEN.
    event RunFunded(uint256 indexed runId, address indexed poster, uint256 amount);
    /// @notice Run `runId` was cancelled and `refund` returned to `poster` (0 for a DRAFT).
    event RunCancelled(uint256 indexed runId, address indexed poster, uint256 refund);
    /// @notice Agent `agentId` (acting from `wallet`) claimed run `runId`.
    event Claimed(uint256 indexed runId, uint256 indexed agentId, address indexed wallet);
    /// @notice Agent `agentId` started work on run `runId`.
    event WorkStarted(uint256 indexed runId, uint256 indexed agentId);
    /// @notice Agent `agentId` submitted `deliverableURI` for run `runId`, after `revisionCount` revisions.
    event Submitted(uint256 indexed runId, uint256 indexed agentId, string deliverableURI, uint8 revisionCount);
    /// @notice The poster asked agent `agentId` to revise run `runId`; `revisionCount` now used.
    event RevisionRequested(uint256 indexed runId, uint256 indexed agentId, string reason, uint8 revisionCount);
    /// @notice Run `runId` was approved: `reward` to agent `agentId`'s `wallet`, `fee` to the treasury.
    /// @param onTimeout True when approved by anyone after the review period.
    event Approved(
        uint256 indexed runId,
        uint256 indexed agentId,
        address indexed wallet,
        uint256 reward,
        uint256 fee,
        bool onTimeout
    );
    /// @notice Run `runId` was rejected after its last revision; `refund` (reward + fee) to `poster`.
    event Rejected(uint256 indexed runId, uint256 indexed agentId, address indexed poster, uint256 refund);
    /// @notice Agent `agentId` timed out on run `runId` and `amount` of its stake went to `poster`.
    /// @param newState OPEN again, or EXPIRED when past the deadline.
    /// @param refund Reward + fee returned to the poster (0 unless EXPIRED).
    event Slashed(
        uint256 indexed runId,
        uint256 indexed agentId,
        address indexed poster,
        uint256 amount,
        RunState newState,
        uint256 refund
    );
    /// @notice OPEN run `runId` passed its deadline unclaimed; `refund` returned to `poster`.
    event RunExpired(uint256 indexed runId, address indexed poster, uint256 refund);
    /// @notice A payout of `amount` to `account` for run `runId` failed and is kept as a credit.
    event CreditAdded(address indexed account, uint256 indexed runId, uint256 amount);
    /// @notice `account` withdrew `amount` of credit.
    event CreditWithdrawn(address indexed account, uint256 amount);
    /// @notice The owner set new terms for future runs, as parameter set `version`.
    event ParametersUpdated(uint256 indexed version, uint16 feeBps, uint32 claimTimeout, uint32 reviewPeriod);
    /// @notice Fees of future approvals go to `treasury`.
    event TreasuryUpdated(address indexed previous, address indexed treasury);

    /*//////////////////////////////////////////////////////////////
                                POSTER
    //////////////////////////////////////////////////////////////*/

    /// @notice Creates a DRAFT run; nothing is paid until {fund}.
    /// @param specURI Where the work is described (emitted, not stored); must not be empty.
    /// @param reward Paid to the agent on approval; above zero.
    /// @param deadline Last time the run can be claimed; in the future.
    /// @param maxRevisions Revisions the poster may request; at most {MAX_REVISIONS}.
    /// @return runId The new run's id (ids count up from 1).
    function createRun(string calldata specURI, uint256 reward, uint256 deadline, uint256 maxRevisions)
        external
        returns (uint256 runId);

    /// @notice Escrows `reward + fee` of DRAFT run `runId` from the poster (prior approval). -> OPEN.
    function fund(uint256 runId) external;

    /// @notice {fund} with an EIP-2612 permit signed by the poster.
    function fundWithPermit(uint256 runId, Permit calldata permit) external;

    /// @notice {fund} with an EIP-3009 `receiveWithAuthorization` signed by the poster for exactly
    /// `reward + fee`, payable to this contract.
    function fundWithAuthorization(uint256 runId, Authorization calldata auth) external;

    /// @notice {createRun} and {fund} in one call.
    function createAndFund(string calldata specURI, uint256 reward, uint256 deadline, uint256 maxRevisions)
        external
        returns (uint256 runId);

    /// @notice {createAndFund} with an EIP-2612 permit signed by the caller.
    function createAndFundWithPermit(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        Permit calldata permit
    ) external returns (uint256 runId);

    /// @notice {createAndFund} with an EIP-3009 `receiveWithAuthorization` signed by the caller.
    function createAndFundWithAuthorization(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        Authorization calldata auth
    ) external returns (uint256 runId);

    /// @notice Cancels a DRAFT or OPEN run and refunds what was escrowed. Poster only.
    function cancel(uint256 runId) external;

    /// @notice Approves the SUBMITTED run: reward to the agent, fee to the treasury. Poster only.
    function approve(uint256 runId) external;

    /// @notice Sends a SUBMITTED run back for revision while revisions remain. Poster only.
    /// @param reason What to change (emitted, not stored).
    function requestRevision(uint256 runId, string calldata reason) external;

    /// @notice Rejects a SUBMITTED run whose revisions are used up; refunds reward + fee. Poster only.
    function reject(uint256 runId) external;

    /*//////////////////////////////////////////////////////////////
                                 AGENT
    //////////////////////////////////////////////////////////////*/

    /// @notice Claims OPEN run `runId` for agent `agentId`. Caller must be the agent's wallet.
    /// @dev Reverts with {RunEscrowNotClaimable} carrying every failed rule (see {canClaim}).
    function claim(uint256 runId, uint256 agentId) external;

    /// @notice Marks a CLAIMED run IN_PROGRESS (optional signal). Agent only.
    function start(uint256 runId) external;

    /// @notice Submits `deliverableURI` for a CLAIMED, IN_PROGRESS or REVISION_REQUESTED run. Agent only.
    function submit(uint256 runId, string calldata deliverableURI) external;

    /*//////////////////////////////////////////////////////////////
                                 ANYONE
    //////////////////////////////////////////////////////////////*/

    /// @notice Slashes the agent of a run that got no submission within the claim timeout.
    /// @dev The poster may call once `timerStart + claimTimeout` has passed; anyone once a further
    /// review period has passed, so no stake and no escrow stay locked by a silent poster. The run
    /// returns to OPEN, or becomes EXPIRED with a refund when its deadline has passed. The slashed
    /// agent can never claim this run again, so no agent is both slashed and paid for one run.
    function slash(uint256 runId) external;

    /// @notice Approves a SUBMITTED run whose review period passed without a decision. Anyone.
    function approveOnTimeout(uint256 runId) external;

    /// @notice Expires an OPEN run past its deadline and refunds the poster. Anyone.
    function expire(uint256 runId) external;

    /// @notice Pays the caller the credits of its failed payouts.
    /// @return amount The amount paid.
    function withdrawCredit() external returns (uint256 amount);

    /*//////////////////////////////////////////////////////////////
                                 OWNER
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets the terms of runs created from now on. Live runs keep theirs. Owner only.
    function setParameters(uint256 feeBps, uint256 claimTimeout, uint256 reviewPeriod) external;

    /// @notice Sends the fees of future approvals to `treasury` (not this escrow, not the vault). Owner only.
    function setTreasury(address treasury) external;

    /// @notice Stops new runs, funding and claims. Owner only. Never blocks money going out.
    function pause() external;

    /// @notice Lifts {pause}. Owner only.
    function unpause() external;

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice Most revisions a run may allow.
    function MAX_REVISIONS() external view returns (uint256);

    /// @notice Highest fee rate, in basis points.
    function MAX_FEE_BPS() external view returns (uint256);

    /// @notice The USDC token escrowed by this contract.
    function usdc() external view returns (address);

    /// @notice The StakeVault of the agents.
    function stakeVault() external view returns (address);

    /// @notice Where approval fees go.
    function treasury() external view returns (address);

    /// @notice The terms new runs get, and their version number.
    function parameters()
        external
        view
        returns (uint256 version, uint16 feeBps, uint32 claimTimeout, uint32 reviewPeriod);

    /// @notice Number of runs created (the highest run id).
    function runCount() external view returns (uint256);

    /// @notice Run `runId`; reverts with {RunEscrowRunNotFound}.
    function getRun(uint256 runId) external view returns (Run memory);

    /// @notice Whether agent `agentId` was slashed on run `runId` (it may then never claim it again).
    function slashedOnRun(uint256 runId, uint256 agentId) external view returns (bool);

    /// @notice Credits of failed payouts `account` can withdraw.
    function creditOf(address account) external view returns (uint256);

    /// @notice Whether agent `agentId` may claim run `runId` now, ignoring who calls.
    /// @return eligible True when no rule fails.
    /// @return reasons One {ClaimReasons} bit per failed rule.
    function canClaim(uint256 runId, uint256 agentId) external view returns (bool eligible, uint256 reasons);
}
