// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title IRunEscrow
/// @notice Runs (paid work requests), the USDC escrowed for them, rejection bonds, disputes before
/// an arbitrator, and the run state machine of the runs marketplace (protocol v2).
/// @dev This interface is the specification of `RunEscrow`. All amounts are USDC base units
/// (6 decimals). Times are unix seconds. "Within" a period means `now <= start + period`, "past"
/// means `now > start + period`; the review period starts at the last submission, the dispute
/// window at the rejection, the ruling period at the dispute.
///
/// Life of a run (SPEC §2.3):
///
///     createRun -> DRAFT --fund--> OPEN --claim--> CLAIMED --start--> IN_PROGRESS
///     createAndFund ---------------^                  \---------submit---------\
///     SUBMITTED --approve / approveOnTimeout--> APPROVED   (reward -> agent, fee -> treasury)
///     SUBMITTED --requestRevision (within review)--> REVISION_REQUESTED --submit--> SUBMITTED
///     SUBMITTED --reject (within review, revisions used up, bond)--> REJECTED
///     REJECTED --dispute (agent, within the window)--> DISPUTED --resolve / settleDispute--> RESOLVED
///     REJECTED --acceptRejection / finalizeRejection--> REJECTED, settled (reward + fee + bond -> poster)
///     REJECTED, DISPUTED --approve (poster)--> APPROVED
///     CLAIMED/IN_PROGRESS --abandon (agent, within the claim timeout)--> OPEN (reservation -> poster)
///     CLAIMED/IN_PROGRESS/REVISION_REQUESTED past the claim timeout --slash--> OPEN, or EXPIRED
///     DRAFT/OPEN --cancel--> CANCELLED; OPEN past deadline --expire--> EXPIRED (refund)
///
/// Money: the poster pays `reward + fee` (`fee = reward * feeBps / 10_000`, rounded down). A claim
/// reserves the run's `requiredStake` of the agent's stake in the StakeVault until the run settles;
/// a rejection pulls a bond of `requiredStake` from the poster, which goes to the agent if a
/// ruling gives it at least half, and back to the poster otherwise. A ruling of `bps` pays the
/// agent `floor(reward * bps / 1e4)`, the treasury `floor(fee * bps / 1e4)` and the poster the
/// rest. Fees accrue in the escrow and anyone can send them to the treasury ({withdrawFees}).
/// Payouts that fail (e.g. a blacklisted recipient) become credits ({withdrawCredit}).
///
/// Terms: every run keeps the terms in force when it was created (fee rate, timeouts, windows,
/// arbitrator, the minimum stake behind a default `requiredStake`); an owner change never alters a
/// live run. Each change of terms — here or of the vault's minimum stake — is a new `termsVersion`,
/// which posters pass to {createRun} so they are never surprised by terms they did not see.
///
/// The arbitrator of a run is trusted with that run's reward + fee + bond + the agent's
/// reservation, nothing more. The escrow never calls it: it learns of a dispute from {Disputed}
/// and answers with {resolve}; if it stays silent past the ruling period anyone may
/// {settleDispute}, which splits the money 50/50 and returns both stakes.
///
/// Pause blocks only {createRun}, the fund and createAndFund variants and {claim}; every other
/// function works while paused, so no timer can run out because of a pause.
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
        EXPIRED,
        DISPUTED,
        RESOLVED
    }

    /// @notice The terms the owner sets for new runs ({setParameters}).
    /// @param feeBps Platform fee in basis points, added on top of the reward (at most {MAX_FEE_BPS}).
    /// @param claimTimeout Seconds from a claim or revision request to the submission (1 hour .. 90 days).
    /// @param reviewPeriod Seconds from a submission to the poster's decision (1 hour .. 90 days).
    /// @param disputeWindow Seconds from a rejection in which the agent may dispute it (1 .. 30 days).
    /// @param rulingPeriod Seconds from a dispute in which the arbitrator may rule (1 .. 90 days).
    /// @param arbitrator Who rules on disputes: never zero, this escrow, the vault or the treasury
    /// (and the treasury may never be an address that has been an arbitrator); may be a contract
    /// (a court, a multisig).
    struct Parameters {
        uint16 feeBps;
        uint32 claimTimeout;
        uint32 reviewPeriod;
        uint32 disputeWindow;
        uint32 rulingPeriod;
        address arbitrator;
    }

    /// @notice The terms a run snapshots at creation: the {Parameters} in force and the vault's
    /// minimum stake (a run's default and smallest `requiredStake`).
    struct Terms {
        uint16 feeBps;
        uint32 claimTimeout;
        uint32 reviewPeriod;
        uint32 disputeWindow;
        uint32 rulingPeriod;
        address arbitrator;
        uint64 minStake;
    }

    /// @notice One run as seen from outside.
    /// @param poster Who created (and pays for) the run.
    /// @param agentId The agent holding the claim (0 when none).
    /// @param deadline Claims are accepted until this time; an OPEN run can expire after it.
    /// @param state The run's state.
    /// @param settled Whether the run's money is paid out: always for APPROVED, CANCELLED, EXPIRED
    /// and RESOLVED; for REJECTED once the rejection is final.
    /// @param revisionCount Revisions requested so far from the current agent.
    /// @param maxRevisions Revisions the poster may request before approve or reject.
    /// @param reward Paid to the agent on approval.
    /// @param fee Paid to the treasury on approval.
    /// @param requiredStake Stake a claim reserves; also the poster's rejection bond.
    /// @param timerStart When the current period started: the claim or revision request (claim
    /// timeout), the submission (review period), the rejection (dispute window) or the dispute
    /// (ruling period); 0 for runs without a running period.
    /// @param termsVersion The version of the terms the run was created with.
    /// @param terms Those terms.
    struct Run {
        address poster;
        uint256 agentId;
        uint64 deadline;
        RunState state;
        bool settled;
        uint8 revisionCount;
        uint8 maxRevisions;
        uint256 reward;
        uint256 fee;
        uint256 requiredStake;
        uint64 timerStart;
        uint256 termsVersion;
        Terms terms;
    }

    /// @notice How a dispute ended and what it paid ({DisputeResolved}).
    /// @param agentShareBps The agent's share of reward and fee, in basis points.
    /// @param toAgent The agent's share of the reward, `floor(reward * bps / 1e4)`.
    /// @param toTreasury The treasury's share of the fee, `floor(fee * bps / 1e4)`.
    /// @param toPoster The rest of reward + fee.
    /// @param bond The poster's rejection bond: paid to the agent on a ruling of at least 50% (not
    /// by default), else back to the poster.
    /// @param stakeForfeited The agent's reservation paid to the poster (rulings below 50%), else 0.
    /// @param strike Whether the ruling also counted a strike against the agent.
    /// @param byDefault Whether no ruling came within the ruling period ({settleDispute}).
    struct Ruling {
        uint16 agentShareBps;
        uint256 toAgent;
        uint256 toTreasury;
        uint256 toPoster;
        uint256 bond;
        uint256 stakeForfeited;
        bool strike;
        bool byDefault;
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
    /// @notice `treasury` is this escrow, the vault, or has been an arbitrator.
    error RunEscrowInvalidTreasury(address treasury);
    /// @notice `arbitrator` is zero, this escrow, the vault or the treasury.
    error RunEscrowInvalidArbitrator(address arbitrator);
    /// @notice Ownership cannot be renounced: a paused escrow would stay paused forever.
    error RunEscrowCannotRenounceOwnership();
    /// @notice New runs, funding and claims are paused by the owner.
    error RunEscrowPaused();
    /// @notice The escrow is not paused.
    error RunEscrowNotPaused();
    /// @notice Only the StakeVault may call this hook; `caller` is not it.
    error RunEscrowUnauthorized(address caller);
    /// @notice No run has id `runId`.
    error RunEscrowRunNotFound(uint256 runId);
    /// @notice Run `runId` is in `state`, where this action is not allowed.
    error RunEscrowInvalidState(uint256 runId, RunState state);
    /// @notice Run `runId`'s rejection is already final.
    error RunEscrowAlreadySettled(uint256 runId);
    /// @notice `caller` is not the poster of run `runId`.
    error RunEscrowNotPoster(uint256 runId, address caller);
    /// @notice `caller` is not the wallet of the agent holding run `runId`.
    error RunEscrowNotAgent(uint256 runId, address caller);
    /// @notice `caller` is neither the poster nor the agent of run `runId`.
    error RunEscrowNotParty(uint256 runId, address caller);
    /// @notice `caller` is not run `runId`'s arbitrator.
    error RunEscrowNotArbitrator(uint256 runId, address caller);
    /// @notice `caller` is not the wallet of agent `agentId`.
    error RunEscrowNotAgentWallet(uint256 agentId, address caller);
    /// @notice Agent `agentId` may not claim run `runId`; `reasons` has a {ClaimReasons} bit per failed rule.
    error RunEscrowNotClaimable(uint256 runId, uint256 agentId, uint256 reasons);
    /// @notice The arbitrator `poster` may not post runs it would rule on.
    error RunEscrowPosterIsArbitrator(address poster);
    /// @notice The current terms are version `current`; the caller accepted version `expected`.
    error RunEscrowTermsChanged(uint256 expected, uint256 current);
    /// @notice No terms have version `version`.
    error RunEscrowUnknownTerms(uint256 version);
    /// @notice The reward must be above zero.
    error RunEscrowZeroReward();
    /// @notice `amount` (a reward or a required stake) is above the largest supported `max`.
    error RunEscrowAmountTooLarge(uint256 amount, uint256 max);
    /// @notice `requiredStake` is below the minimum stake `minStake`.
    error RunEscrowStakeBelowMinimum(uint256 requiredStake, uint256 minStake);
    /// @notice `deadline` is not in (`earliest` - 1, `latest`]: after now and at most 365 days ahead.
    error RunEscrowInvalidDeadline(uint256 deadline, uint256 earliest, uint256 latest);
    /// @notice Run `runId`'s deadline `deadline` has passed: it can no longer be funded.
    error RunEscrowDeadlinePassed(uint256 runId, uint256 deadline);
    /// @notice A run with these terms could stay locked `lock` seconds in the worst case, above `max`.
    error RunEscrowLockTooLong(uint256 lock, uint256 max);
    /// @notice `maxRevisions` is above the cap `max`.
    error RunEscrowTooManyRevisions(uint256 maxRevisions, uint256 max);
    /// @notice A URI that must say something was empty.
    error RunEscrowEmptyURI();
    /// @notice A URI of `length` bytes is above the cap `max`.
    error RunEscrowURITooLong(uint256 length, uint256 max);
    /// @notice Run `runId` has used all `maxRevisions` revisions: approve or reject it.
    error RunEscrowRevisionsExhausted(uint256 runId, uint8 maxRevisions);
    /// @notice Run `runId` has revisions left (`revisionCount` of `maxRevisions`): reject only after.
    error RunEscrowRevisionsRemaining(uint256 runId, uint8 revisionCount, uint8 maxRevisions);
    /// @notice Run `runId` cannot be slashed by this caller before `slashableAfter`.
    error RunEscrowClaimNotTimedOut(uint256 runId, uint256 slashableAfter);
    /// @notice Run `runId`'s claim timeout ended at `endedAt`: it can only be slashed now.
    error RunEscrowClaimTimedOut(uint256 runId, uint256 endedAt);
    /// @notice Run `runId`'s review period runs until `reviewEndsAt`.
    error RunEscrowReviewNotTimedOut(uint256 runId, uint256 reviewEndsAt);
    /// @notice Run `runId`'s review period ended at `reviewEndedAt`: the poster can only approve.
    error RunEscrowReviewPeriodOver(uint256 runId, uint256 reviewEndedAt);
    /// @notice Run `runId`'s dispute window ended at `windowEndedAt`.
    error RunEscrowDisputeWindowOver(uint256 runId, uint256 windowEndedAt);
    /// @notice Run `runId`'s dispute window runs until `windowEndsAt`.
    error RunEscrowDisputeWindowOpen(uint256 runId, uint256 windowEndsAt);
    /// @notice Run `runId`'s ruling period ended at `rulingEndedAt`: only {settleDispute} is left.
    error RunEscrowRulingPeriodOver(uint256 runId, uint256 rulingEndedAt);
    /// @notice Run `runId`'s ruling period runs until `rulingEndsAt`.
    error RunEscrowRulingPeriodOpen(uint256 runId, uint256 rulingEndsAt);
    /// @notice A ruling of `agentShareBps` (at most 10 000) with `strike` (only with a share of 0).
    error RunEscrowInvalidRuling(uint256 agentShareBps, bool strike);
    /// @notice Run `runId`'s deadline `deadline` has not passed.
    error RunEscrowDeadlineNotPassed(uint256 runId, uint256 deadline);
    /// @notice `account` has no credit to withdraw.
    error RunEscrowNoCredit(address account);
    /// @notice No fees have accrued.
    error RunEscrowNoFees();
    /// @notice `feeBps` is above the cap `max`.
    error RunEscrowFeeTooHigh(uint256 feeBps, uint256 max);
    /// @notice A period of `value` seconds is outside [`min`, `max`].
    error RunEscrowInvalidPeriod(uint256 value, uint256 min, uint256 max);

    /*//////////////////////////////////////////////////////////////
                                 EVENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Run `runId` was created in DRAFT by `poster` with every term it keeps for life.
    event RunCreated(
        uint256 indexed runId,
        address indexed poster,
        string specURI,
        uint256 reward,
        uint256 fee,
        uint256 requiredStake,
        uint64 deadline,
        uint8 maxRevisions,
        uint256 termsVersion,
        Terms terms
    );
    /// @notice `poster` escrowed `amount` (reward + fee) and run `runId` is OPEN.
    event RunFunded(uint256 indexed runId, address indexed poster, uint256 amount);
    /// @notice Run `runId` was cancelled and `refund` returned to `poster` (0 for a DRAFT).
    event RunCancelled(uint256 indexed runId, address indexed poster, uint256 refund);
    /// @notice Agent `agentId` (acting from `wallet`) claimed run `runId`, reserving `reserved` of its stake.
    event Claimed(uint256 indexed runId, uint256 indexed agentId, address indexed wallet, uint256 reserved);
    /// @notice Agent `agentId` started work on run `runId`.
    event WorkStarted(uint256 indexed runId, uint256 indexed agentId);
    /// @notice Agent `agentId` submitted `deliverableURI` for run `runId`, after `revisionCount` revisions.
    event Submitted(
        uint256 indexed runId, uint256 indexed agentId, string deliverableURI, uint8 revisionCount
    );
    /// @notice The poster asked agent `agentId` to revise run `runId`; `revisionCount` now used.
    event RevisionRequested(
        uint256 indexed runId, uint256 indexed agentId, string reasonURI, uint8 revisionCount
    );
    /// @notice Run `runId` was approved: `reward` to agent `agentId`'s `wallet`, `fee` to the treasury.
    /// @param bond The poster's rejection bond, else 0: back to the poster when it approves a
    /// REJECTED run, paid to the agent when it approves a DISPUTED run (conceding the dispute).
    /// @param onTimeout True when approved by anyone after the review period.
    event Approved(
        uint256 indexed runId,
        uint256 indexed agentId,
        address indexed wallet,
        uint256 reward,
        uint256 fee,
        uint256 bond,
        bool onTimeout
    );
    /// @notice `poster` rejected run `runId` after its last revision, posting `bond`; agent
    /// `agentId` may dispute until the dispute window ends. Nothing is paid yet.
    event Rejected(
        uint256 indexed runId, uint256 indexed agentId, address indexed poster, string reasonURI, uint256 bond
    );
    /// @notice Agent `agentId` disputed the rejection of run `runId` before `arbitrator`.
    event Disputed(
        uint256 indexed runId, uint256 indexed agentId, address indexed arbitrator, string evidenceURI
    );
    /// @notice `by` (the poster or the agent) added evidence `uri` to run `runId`'s rejection or dispute.
    event EvidenceSubmitted(uint256 indexed runId, address indexed by, string uri);
    /// @notice Run `runId`'s dispute ended: by `arbitrator`'s ruling, or by default (50/50) after a
    /// silent ruling period. `ruling` carries every amount paid.
    event DisputeResolved(
        uint256 indexed runId, uint256 indexed agentId, address indexed arbitrator, Ruling ruling
    );
    /// @notice Run `runId`'s rejection became final: `refund` (reward + fee + bond) to `poster`.
    /// @param byAgent True when the agent accepted it, false when anyone finalized it after the window.
    event RejectionFinalized(
        uint256 indexed runId, uint256 indexed agentId, address indexed poster, uint256 refund, bool byAgent
    );
    /// @notice Agent `agentId` gave run `runId` back (OPEN again); its reservation `stakeForfeited`
    /// went to `poster`. No strike.
    event Abandoned(
        uint256 indexed runId, uint256 indexed agentId, address indexed poster, uint256 stakeForfeited
    );
    /// @notice Agent `agentId` timed out on run `runId` and its reservation `amount` went to `poster`.
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
    /// @notice `amount` of accrued fees was paid to `treasury`.
    event FeesWithdrawn(address indexed treasury, uint256 amount);
    /// @notice New runs get `terms`, as terms version `version`.
    event ParametersUpdated(uint256 indexed version, Terms terms);
    /// @notice Accrued and future fees go to `treasury`.
    event TreasuryUpdated(address indexed previous, address indexed treasury);
    /// @notice `account` paused new runs, funding and claims.
    event Paused(address account);
    /// @notice `account` lifted the pause.
    event Unpaused(address account);

    /*//////////////////////////////////////////////////////////////
                                POSTER
    //////////////////////////////////////////////////////////////*/

    /// @notice Creates a DRAFT run; nothing is paid until {fund}. Not while paused; not by the
    /// current arbitrator.
    /// @param specURI Where the work is described (emitted, not stored); 1 to 2048 bytes.
    /// @param reward Paid to the agent on approval; above zero.
    /// @param deadline Last time the run can be claimed; after now, at most 365 days ahead.
    /// @param maxRevisions Revisions the poster may request; at most {MAX_REVISIONS}, and such that
    /// the worst-case lock (see {MAX_LOCK}) fits.
    /// @param requiredStake Stake a claim must reserve (and the rejection bond); 0 = the minimum
    /// stake, otherwise at least it.
    /// @param termsVersion The terms version the caller read ({parameters}); 0 accepts the current one.
    /// @return runId The new run's id (ids count up from 1).
    function createRun(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        uint256 requiredStake,
        uint256 termsVersion
    ) external returns (uint256 runId);

    /// @notice Escrows `reward + fee` of DRAFT run `runId` from the poster (prior approval). -> OPEN.
    function fund(uint256 runId) external;

    /// @notice {fund} with an EIP-2612 permit signed by the poster.
    function fundWithPermit(uint256 runId, Permit calldata permit) external;

    /// @notice {fund} with an EIP-3009 `receiveWithAuthorization` signed by the poster for exactly
    /// `reward + fee`, payable to this contract.
    function fundWithAuthorization(uint256 runId, Authorization calldata auth) external;

    /// @notice {createRun} and {fund} in one call.
    function createAndFund(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        uint256 requiredStake,
        uint256 termsVersion
    ) external returns (uint256 runId);

    /// @notice {createAndFund} with an EIP-2612 permit signed by the caller.
    function createAndFundWithPermit(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        uint256 requiredStake,
        uint256 termsVersion,
        Permit calldata permit
    ) external returns (uint256 runId);

    /// @notice {createAndFund} with an EIP-3009 `receiveWithAuthorization` signed by the caller.
    function createAndFundWithAuthorization(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        uint256 requiredStake,
        uint256 termsVersion,
        Authorization calldata auth
    ) external returns (uint256 runId);

    /// @notice Cancels a DRAFT or OPEN run and refunds what was escrowed. Poster only.
    function cancel(uint256 runId) external;

    /// @notice Approves a SUBMITTED run, or a REJECTED (not yet final) or DISPUTED one, at any time:
    /// reward to the agent, fee to the treasury, the agent's reservation released. A REJECTED run's
    /// bond goes back to the poster; a DISPUTED run's bond goes to the agent (the poster concedes
    /// the dispute, which counts as won for the agent). Poster only.
    function approve(uint256 runId) external;

    /// @notice Sends a SUBMITTED run back for revision, within the review period and while
    /// revisions remain; the claim timeout restarts. Poster only.
    /// @param reasonURI What to change (emitted, not stored; may be empty; at most 2048 bytes).
    function requestRevision(uint256 runId, string calldata reasonURI) external;

    /// @notice Rejects a SUBMITTED run whose revisions are used up, within the review period,
    /// pulling the rejection bond (`requiredStake`, prior approval) from the poster. Nothing is paid
    /// until the rejection is final ({acceptRejection}, {finalizeRejection}) or a dispute ends.
    /// @param reasonURI Why (emitted, not stored; 1 to 2048 bytes).
    function reject(uint256 runId, string calldata reasonURI) external;

    /// @notice {reject} with an EIP-2612 permit signed by the poster for the bond.
    function rejectWithPermit(uint256 runId, string calldata reasonURI, Permit calldata permit) external;

    /*//////////////////////////////////////////////////////////////
                                 AGENT
    //////////////////////////////////////////////////////////////*/

    /// @notice Claims OPEN run `runId` for agent `agentId`, reserving the run's `requiredStake` of
    /// the agent's stake. Caller must be the agent's wallet. Not while paused.
    /// @dev Reverts with {RunEscrowNotClaimable} carrying every failed rule (see {canClaim}).
    function claim(uint256 runId, uint256 agentId) external;

    /// @notice Marks a CLAIMED run IN_PROGRESS (optional signal). Agent only.
    function start(uint256 runId) external;

    /// @notice Submits `deliverableURI` (1 to 2048 bytes) for a CLAIMED, IN_PROGRESS or
    /// REVISION_REQUESTED run, within the claim timeout. Agent only.
    function submit(uint256 runId, string calldata deliverableURI) external;

    /// @notice Gives a CLAIMED or IN_PROGRESS run back within the claim timeout: the run is OPEN
    /// again and the agent's reservation goes to the poster. No strike, no freeze. Agent only.
    function abandon(uint256 runId) external;

    /// @notice Disputes the rejection of run `runId` within the dispute window; the run's
    /// arbitrator then has the ruling period to {resolve} it. Agent only.
    /// @param evidenceURI The agent's case (1 to 2048 bytes).
    function dispute(uint256 runId, string calldata evidenceURI) external;

    /// @notice Accepts the rejection of run `runId` at once: reward + fee + bond to the poster, the
    /// reservation released, a rejection on the agent's record. Agent only.
    function acceptRejection(uint256 runId) external;

    /// @notice Adds evidence `uri` (1 to 2048 bytes) to a REJECTED (not yet final) or DISPUTED run.
    /// Poster or agent only. Changes nothing but the record.
    function submitEvidence(uint256 runId, string calldata uri) external;

    /*//////////////////////////////////////////////////////////////
                               ARBITRATOR
    //////////////////////////////////////////////////////////////*/

    /// @notice Rules on DISPUTED run `runId` within the ruling period. Only the run's arbitrator.
    /// @param agentShareBps The agent's share of reward and fee, 0 to 10 000. At least 5 000: the
    /// bond goes to the agent, its reservation is released and the run counts as a completion.
    /// Below: the reservation goes to the poster and the bond back to it.
    /// @param strike Also count a strike (freezing the agent); only with a share of 0.
    function resolve(uint256 runId, uint256 agentShareBps, bool strike) external;

    /*//////////////////////////////////////////////////////////////
                                 ANYONE
    //////////////////////////////////////////////////////////////*/

    /// @notice Slashes the agent of a run that got no submission within the claim timeout.
    /// @dev The poster may call once the claim timeout has passed; anyone once a further review
    /// period has passed, so no stake and no escrow stay locked by a silent poster. The agent's
    /// reservation goes to the poster, the agent gets a strike and is frozen. The run returns to
    /// OPEN, or becomes EXPIRED with a refund when its deadline has passed. The slashed agent can
    /// never claim this run again, so no agent is both slashed and paid for one run.
    function slash(uint256 runId) external;

    /// @notice Approves a SUBMITTED run whose review period passed without a decision. Anyone.
    function approveOnTimeout(uint256 runId) external;

    /// @notice Makes the rejection of run `runId` final once the dispute window passed without a
    /// dispute: reward + fee + bond to the poster, the reservation released. Anyone.
    function finalizeRejection(uint256 runId) external;

    /// @notice Ends a dispute whose ruling period passed without a ruling: 50/50 split of reward and
    /// fee, the bond back to the poster, the reservation released, no completion, no strike. Anyone.
    function settleDispute(uint256 runId) external;

    /// @notice Expires an OPEN run past its deadline and refunds the poster. Anyone.
    function expire(uint256 runId) external;

    /// @notice Pays the caller the credits of its failed payouts.
    /// @return amount The amount paid.
    function withdrawCredit() external returns (uint256 amount);

    /// @notice Sends the accrued fees to the treasury. Anyone.
    /// @return amount The amount paid.
    function withdrawFees() external returns (uint256 amount);

    /*//////////////////////////////////////////////////////////////
                                 OWNER
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets the terms of runs created from now on (a new terms version). Live runs keep
    /// theirs. Owner only.
    function setParameters(Parameters calldata parameters) external;

    /// @notice Sends accrued and future fees to `treasury`. Owner only.
    function setTreasury(address treasury) external;

    /// @notice Stops new runs, funding and claims. Owner only. Never stops money going out or any timer.
    function pause() external;

    /// @notice Lifts {pause}. Owner only.
    function unpause() external;

    /// @notice Hook of the StakeVault: its minimum stake changed, so new runs get a new terms version.
    function syncMinStake(uint256 minStake) external;

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice Most revisions a run may allow.
    function MAX_REVISIONS() external view returns (uint256);

    /// @notice Highest fee rate, in basis points.
    function MAX_FEE_BPS() external view returns (uint256);

    /// @notice Longest a run's deadline may lie ahead, and longest its worst-case lock
    /// ((maxRevisions + 1) * (claimTimeout + reviewPeriod) + disputeWindow + rulingPeriod): 365 days.
    function MAX_LOCK() external view returns (uint256);

    /// @notice Longest URI accepted, in bytes.
    function MAX_URI_LENGTH() external view returns (uint256);

    /// @notice The USDC token escrowed by this contract.
    function usdc() external view returns (address);

    /// @notice The StakeVault of the agents.
    function stakeVault() external view returns (address);

    /// @notice Where fees go.
    function treasury() external view returns (address);

    /// @notice Fees accrued and not yet sent to the treasury.
    function accruedFees() external view returns (uint256);

    /// @notice Whether new runs, funding and claims are paused.
    function paused() external view returns (bool);

    /// @notice The terms new runs get, and their version.
    function parameters() external view returns (uint256 version, Terms memory terms);

    /// @notice The terms of version `version`; reverts with {RunEscrowUnknownTerms} for an unknown one.
    function termsAt(uint256 version) external view returns (Terms memory);

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
