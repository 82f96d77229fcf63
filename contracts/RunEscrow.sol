// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IRunEscrow} from "./interfaces/IRunEscrow.sol";
import {IStakeVault} from "./interfaces/IStakeVault.sol";
import {IUSDC} from "./interfaces/IUSDC.sol";
import {ClaimReasons} from "./libraries/ClaimReasons.sol";

/// @title RunEscrow
/// @notice Holds the USDC of every funded run and every rejection bond, and moves runs through
/// their state machine.
/// @dev See {IRunEscrow} for the behaviour. Invariant kept by every function: this contract's USDC
/// balance equals the reward + fee of every funded, unsettled run, plus the bonds of unsettled
/// rejections and disputes, plus the accrued fees, plus the unpaid credits. The owner can change
/// future terms, the treasury and pause new business; it has no path to escrowed funds, and no
/// change of its reaches a live run (each run points at the immutable terms version it was
/// created with).
contract RunEscrow is IRunEscrow, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev One run in two storage slots, laid out so that a claim, a submission and an approval
    /// each write slot 0 only. The terms that rarely matter (review and dispute periods,
    /// arbitrator) live in the shared terms version the run points to; the fee rate and the claim
    /// timeout are copied in, so a submission and an approval read nothing else. Amounts fit
    /// 64 bits (2^64 base units is 18 trillion USDC).
    struct RunData {
        // slot 0: who holds it, where it is, since when
        address poster;
        uint32 agentId;
        uint40 timerStart;
        RunState state;
        uint8 revisionCount;
        uint8 maxRevisions;
        // slot 1: terms, set at creation
        uint64 reward;
        uint64 requiredStake;
        uint40 deadline;
        uint32 termsVersion;
        uint16 feeBps;
        uint32 claimTimeout;
        // Only meaningful in REJECTED: the rejection is final and paid out.
        bool settled;
    }

    /// @inheritdoc IRunEscrow
    uint256 public constant MAX_REVISIONS = 10;
    /// @inheritdoc IRunEscrow
    uint256 public constant MAX_FEE_BPS = 1000;
    /// @inheritdoc IRunEscrow
    uint256 public constant MAX_LOCK = 365 days;
    /// @inheritdoc IRunEscrow
    uint256 public constant MAX_URI_LENGTH = 2048;
    /// @notice Bounds of the claim timeout and the review period.
    uint256 public constant MIN_TIMEOUT = 1 hours;
    uint256 public constant MAX_TIMEOUT = 90 days;
    /// @notice Bounds of the dispute window.
    uint256 public constant MIN_DISPUTE_WINDOW = 1 days;
    uint256 public constant MAX_DISPUTE_WINDOW = 30 days;
    /// @notice Bounds of the ruling period.
    uint256 public constant MIN_RULING_PERIOD = 1 days;
    uint256 public constant MAX_RULING_PERIOD = 90 days;

    uint256 private constant BPS = 10_000;
    uint256 private constant HALF_BPS = 5_000;

    IERC20 private immutable _usdc;
    IStakeVault private immutable _vault;

    // One slot, read or written by every createRun and approval.
    uint64 private _runCount;
    uint32 private _termsVersion;
    bool private _paused;
    uint128 private _accruedFees;

    address private _treasury;

    mapping(uint256 version => Terms) private _terms;
    mapping(uint256 runId => RunData) private _runs;
    mapping(address account => uint256 amount) private _credits;
    mapping(uint256 runId => mapping(uint256 agentId => bool)) private _slashedOnRun;
    /// @dev Every address that has been the arbitrator of some terms version: it may rule on live
    /// runs for as long as they last, so it may never become the treasury.
    mapping(address account => bool) private _wasArbitrator;
    /// @dev The vault's agent wallets (which never change), copied at each agent's first claim so
    /// that the agent's later calls are checked without a call to the vault.
    mapping(uint256 agentId => address wallet) private _agentWallets;

    modifier whenNotPaused() {
        if (_paused) revert RunEscrowPaused();
        _;
    }

    /// @param usdc_ The USDC token (6 decimals).
    /// @param vault_ The agents' StakeVault (which must bind this contract with `setRunEscrow`).
    /// @param owner_ Who may change terms, treasury and pause.
    /// @param treasury_ Where fees go.
    /// @param parameters_ The terms of the first runs (see {IRunEscrow.Parameters}).
    constructor(
        IUSDC usdc_,
        IStakeVault vault_,
        address owner_,
        address treasury_,
        Parameters memory parameters_
    ) Ownable(owner_) {
        if (address(usdc_) == address(0) || address(vault_) == address(0)) {
            revert RunEscrowZeroAddress();
        }
        _usdc = IERC20(address(usdc_));
        _vault = vault_;
        _setParameters(parameters_, vault_.parameters().minStake);
        _setTreasury(treasury_);
    }

    /*//////////////////////////////////////////////////////////////
                                POSTER
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IRunEscrow
    function createRun(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        uint256 requiredStake,
        uint256 termsVersion
    ) external whenNotPaused returns (uint256 runId) {
        (runId,) = _create(specURI, reward, deadline, maxRevisions, requiredStake, termsVersion);
    }

    /// @inheritdoc IRunEscrow
    function fund(uint256 runId) external nonReentrant whenNotPaused {
        uint256 amount = _markFunded(runId);
        _usdc.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IRunEscrow
    function fundWithPermit(uint256 runId, Permit calldata permit) external nonReentrant whenNotPaused {
        uint256 amount = _markFunded(runId);
        _pullWithPermit(amount, permit);
    }

    /// @inheritdoc IRunEscrow
    function fundWithAuthorization(uint256 runId, Authorization calldata auth)
        external
        nonReentrant
        whenNotPaused
    {
        uint256 amount = _markFunded(runId);
        _pullWithAuthorization(amount, auth);
    }

    /// @inheritdoc IRunEscrow
    function createAndFund(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        uint256 requiredStake,
        uint256 termsVersion
    ) external nonReentrant whenNotPaused returns (uint256 runId) {
        uint256 amount;
        (runId, amount) = _createFunded(specURI, reward, deadline, maxRevisions, requiredStake, termsVersion);
        _usdc.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IRunEscrow
    function createAndFundWithPermit(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        uint256 requiredStake,
        uint256 termsVersion,
        Permit calldata permit
    ) external nonReentrant whenNotPaused returns (uint256 runId) {
        uint256 amount;
        (runId, amount) = _createFunded(specURI, reward, deadline, maxRevisions, requiredStake, termsVersion);
        _pullWithPermit(amount, permit);
    }

    /// @inheritdoc IRunEscrow
    function createAndFundWithAuthorization(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        uint256 requiredStake,
        uint256 termsVersion,
        Authorization calldata auth
    ) external nonReentrant whenNotPaused returns (uint256 runId) {
        uint256 amount;
        (runId, amount) = _createFunded(specURI, reward, deadline, maxRevisions, requiredStake, termsVersion);
        _pullWithAuthorization(amount, auth);
    }

    /// @inheritdoc IRunEscrow
    function cancel(uint256 runId) external nonReentrant {
        RunData storage run = _posterRun(runId);
        RunState state = run.state;
        if (state != RunState.DRAFT && state != RunState.OPEN) revert RunEscrowInvalidState(runId, state);
        uint256 refund = state == RunState.OPEN ? _total(run) : 0;
        run.state = RunState.CANCELLED;
        emit RunCancelled(runId, msg.sender, refund);
        _pay(msg.sender, refund, runId);
    }

    /// @inheritdoc IRunEscrow
    function approve(uint256 runId) external nonReentrant {
        RunData storage run = _posterRun(runId);
        RunState state = run.state;
        if (state == RunState.REJECTED) {
            if (run.settled) revert RunEscrowAlreadySettled(runId);
        } else if (state != RunState.SUBMITTED && state != RunState.DISPUTED) {
            revert RunEscrowInvalidState(runId, state);
        }
        _approve(run, runId, state, false);
    }

    /// @inheritdoc IRunEscrow
    function requestRevision(uint256 runId, string calldata reasonURI) external {
        RunData storage run = _posterRun(runId);
        _checkURI(reasonURI, false);
        _requireInReview(run, runId);
        uint8 revisions = run.revisionCount;
        if (revisions >= run.maxRevisions) revert RunEscrowRevisionsExhausted(runId, run.maxRevisions);
        // Cannot overflow: revisions < maxRevisions <= MAX_REVISIONS.
        unchecked {
            revisions += 1;
        }
        run.revisionCount = revisions;
        run.state = RunState.REVISION_REQUESTED;
        run.timerStart = uint40(block.timestamp);
        emit RevisionRequested(runId, run.agentId, reasonURI, revisions);
    }

    /// @inheritdoc IRunEscrow
    function reject(uint256 runId, string calldata reasonURI) external nonReentrant {
        uint256 bond = _markRejected(runId, reasonURI);
        _usdc.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IRunEscrow
    function rejectWithPermit(uint256 runId, string calldata reasonURI, Permit calldata permit)
        external
        nonReentrant
    {
        uint256 bond = _markRejected(runId, reasonURI);
        _pullWithPermit(bond, permit);
    }

    /*//////////////////////////////////////////////////////////////
                                 AGENT
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IRunEscrow
    function claim(uint256 runId, uint256 agentId) external {
        RunData storage run = _runOrRevert(runId);
        uint256 reasons = _runReasons(run, runId, agentId);
        uint256 required = run.requiredStake;
        // The vault reserves only when its own rules pass; any failure below reverts it too.
        (address wallet, uint256 agentReasons) = _vault.reserve(agentId, required);
        reasons |= agentReasons | _partyReasons(run, wallet);
        if (reasons != 0) revert RunEscrowNotClaimable(runId, agentId, reasons);
        if (msg.sender != wallet) revert RunEscrowNotAgentWallet(agentId, msg.sender);
        if (_agentWallets[agentId] == address(0)) _agentWallets[agentId] = wallet;
        // The vault guarantees agent ids fit 32 bits; a found agent passed the checks above.
        run.agentId = uint32(agentId);
        run.state = RunState.CLAIMED;
        run.timerStart = uint40(block.timestamp);
        emit Claimed(runId, agentId, wallet, required);
    }

    /// @inheritdoc IRunEscrow
    function start(uint256 runId) external {
        RunData storage run = _agentRun(runId);
        _requireState(run, runId, RunState.CLAIMED);
        run.state = RunState.IN_PROGRESS;
        emit WorkStarted(runId, run.agentId);
    }

    /// @inheritdoc IRunEscrow
    function submit(uint256 runId, string calldata deliverableURI) external {
        RunData storage run = _agentRun(runId);
        RunState state = run.state;
        if (
            state != RunState.CLAIMED && state != RunState.IN_PROGRESS && state != RunState.REVISION_REQUESTED
        ) {
            revert RunEscrowInvalidState(runId, state);
        }
        _checkURI(deliverableURI, true);
        // After the claim timeout only a slash is left: no race between a late submit and `slash`.
        _requireWithinClaimTimeout(run, runId);
        run.state = RunState.SUBMITTED;
        run.timerStart = uint40(block.timestamp);
        emit Submitted(runId, run.agentId, deliverableURI, run.revisionCount);
    }

    /// @inheritdoc IRunEscrow
    function abandon(uint256 runId) external nonReentrant {
        RunData storage run = _agentRun(runId);
        RunState state = run.state;
        if (state != RunState.CLAIMED && state != RunState.IN_PROGRESS) {
            revert RunEscrowInvalidState(runId, state);
        }
        _requireWithinClaimTimeout(run, runId);
        uint256 agentId = run.agentId;
        address poster = run.poster;
        // revisionCount is already 0: a run only reaches CLAIMED/IN_PROGRESS from OPEN.
        run.state = RunState.OPEN;
        run.agentId = 0;
        run.timerStart = 0;
        (, uint256 forfeited) = _settle(run, agentId, runId, IStakeVault.Outcome.ABANDONED, 0);
        emit Abandoned(runId, agentId, poster, forfeited);
        _pay(poster, forfeited, runId);
    }

    /// @inheritdoc IRunEscrow
    function dispute(uint256 runId, string calldata evidenceURI) external {
        RunData storage run = _agentRun(runId);
        _requireUnsettledRejection(run, runId);
        _checkURI(evidenceURI, true);
        Terms storage terms = _terms[run.termsVersion];
        uint256 windowEnd = uint256(run.timerStart) + terms.disputeWindow;
        if (block.timestamp > windowEnd) revert RunEscrowDisputeWindowOver(runId, windowEnd);
        run.state = RunState.DISPUTED;
        run.timerStart = uint40(block.timestamp);
        emit Disputed(runId, run.agentId, terms.arbitrator, evidenceURI);
    }

    /// @inheritdoc IRunEscrow
    function acceptRejection(uint256 runId) external nonReentrant {
        RunData storage run = _agentRun(runId);
        _requireUnsettledRejection(run, runId);
        _finalizeRejection(run, runId, true);
    }

    /// @inheritdoc IRunEscrow
    function submitEvidence(uint256 runId, string calldata uri) external {
        RunData storage run = _runOrRevert(runId);
        if (msg.sender != run.poster && msg.sender != _agentWallets[run.agentId]) {
            revert RunEscrowNotParty(runId, msg.sender);
        }
        if (run.state != RunState.DISPUTED) _requireUnsettledRejection(run, runId);
        _checkURI(uri, true);
        emit EvidenceSubmitted(runId, msg.sender, uri);
    }

    /*//////////////////////////////////////////////////////////////
                               ARBITRATOR
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IRunEscrow
    function resolve(uint256 runId, uint256 agentShareBps, bool strike) external nonReentrant {
        RunData storage run = _runOrRevert(runId);
        _requireState(run, runId, RunState.DISPUTED);
        Terms storage terms = _terms[run.termsVersion];
        if (msg.sender != terms.arbitrator) revert RunEscrowNotArbitrator(runId, msg.sender);
        uint256 rulingEnd = uint256(run.timerStart) + terms.rulingPeriod;
        if (block.timestamp > rulingEnd) revert RunEscrowRulingPeriodOver(runId, rulingEnd);
        if (agentShareBps > BPS || (strike && agentShareBps != 0)) {
            revert RunEscrowInvalidRuling(agentShareBps, strike);
        }
        IStakeVault.Outcome outcome;
        if (agentShareBps >= HALF_BPS) outcome = IStakeVault.Outcome.DISPUTE_WON;
        else if (strike) outcome = IStakeVault.Outcome.DISPUTE_LOST_STRUCK;
        else outcome = IStakeVault.Outcome.DISPUTE_LOST;
        _resolve(run, runId, msg.sender, agentShareBps, outcome);
    }

    /*//////////////////////////////////////////////////////////////
                                 ANYONE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IRunEscrow
    function slash(uint256 runId) external nonReentrant {
        RunData storage run = _runOrRevert(runId);
        RunState state = run.state;
        if (
            state != RunState.CLAIMED && state != RunState.IN_PROGRESS && state != RunState.REVISION_REQUESTED
        ) {
            revert RunEscrowInvalidState(runId, state);
        }
        Terms storage terms = _terms[run.termsVersion];
        address poster = run.poster;
        uint256 slashableAfter = uint256(run.timerStart) + run.claimTimeout;
        // Anyone else waits a further review period: the poster gets the first say, but a silent
        // poster cannot keep the agent's stake and the escrow locked forever.
        if (msg.sender != poster) slashableAfter += terms.reviewPeriod;
        if (block.timestamp <= slashableAfter) revert RunEscrowClaimNotTimedOut(runId, slashableAfter);

        uint256 agentId = run.agentId;
        _slashedOnRun[runId][agentId] = true;
        uint256 refund;
        RunState next;
        if (block.timestamp > run.deadline) {
            next = RunState.EXPIRED;
            refund = _total(run);
        } else {
            next = RunState.OPEN;
            run.agentId = 0;
            run.revisionCount = 0;
            run.timerStart = 0;
        }
        run.state = next;
        (, uint256 slashed) = _settle(run, agentId, runId, IStakeVault.Outcome.SLASHED, 0);
        emit Slashed(runId, agentId, poster, slashed, next, refund);
        _pay(poster, slashed + refund, runId);
    }

    /// @inheritdoc IRunEscrow
    function approveOnTimeout(uint256 runId) external nonReentrant {
        RunData storage run = _runOrRevert(runId);
        _requireState(run, runId, RunState.SUBMITTED);
        uint256 reviewEndsAt = uint256(run.timerStart) + _terms[run.termsVersion].reviewPeriod;
        if (block.timestamp <= reviewEndsAt) revert RunEscrowReviewNotTimedOut(runId, reviewEndsAt);
        _approve(run, runId, RunState.SUBMITTED, true);
    }

    /// @inheritdoc IRunEscrow
    function finalizeRejection(uint256 runId) external nonReentrant {
        RunData storage run = _runOrRevert(runId);
        _requireUnsettledRejection(run, runId);
        uint256 windowEnd = uint256(run.timerStart) + _terms[run.termsVersion].disputeWindow;
        if (block.timestamp <= windowEnd) revert RunEscrowDisputeWindowOpen(runId, windowEnd);
        _finalizeRejection(run, runId, false);
    }

    /// @inheritdoc IRunEscrow
    function settleDispute(uint256 runId) external nonReentrant {
        RunData storage run = _runOrRevert(runId);
        _requireState(run, runId, RunState.DISPUTED);
        Terms storage terms = _terms[run.termsVersion];
        uint256 rulingEnd = uint256(run.timerStart) + terms.rulingPeriod;
        if (block.timestamp <= rulingEnd) revert RunEscrowRulingPeriodOpen(runId, rulingEnd);
        _resolve(run, runId, terms.arbitrator, HALF_BPS, IStakeVault.Outcome.DISPUTE_SPLIT);
    }

    /// @inheritdoc IRunEscrow
    function expire(uint256 runId) external nonReentrant {
        RunData storage run = _runOrRevert(runId);
        _requireState(run, runId, RunState.OPEN);
        if (block.timestamp <= run.deadline) revert RunEscrowDeadlineNotPassed(runId, run.deadline);
        uint256 refund = _total(run);
        address poster = run.poster;
        run.state = RunState.EXPIRED;
        emit RunExpired(runId, poster, refund);
        _pay(poster, refund, runId);
    }

    /// @inheritdoc IRunEscrow
    function withdrawCredit() external nonReentrant returns (uint256 amount) {
        amount = _credits[msg.sender];
        if (amount == 0) revert RunEscrowNoCredit(msg.sender);
        _credits[msg.sender] = 0;
        emit CreditWithdrawn(msg.sender, amount);
        _usdc.safeTransfer(msg.sender, amount);
    }

    /// @inheritdoc IRunEscrow
    function withdrawFees() external nonReentrant returns (uint256 amount) {
        amount = _accruedFees;
        if (amount == 0) revert RunEscrowNoFees();
        _accruedFees = 0;
        address treasury_ = _treasury;
        emit FeesWithdrawn(treasury_, amount);
        // A treasury that cannot receive keeps the fees accrued (this reverts) until the owner
        // names another one; no run depends on it.
        _usdc.safeTransfer(treasury_, amount);
    }

    /*//////////////////////////////////////////////////////////////
                                 OWNER
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IRunEscrow
    function setParameters(Parameters calldata parameters_) external onlyOwner {
        _setParameters(parameters_, _terms[_termsVersion].minStake);
    }

    /// @inheritdoc IRunEscrow
    function setTreasury(address treasury_) external onlyOwner {
        _setTreasury(treasury_);
    }

    /// @notice Always reverts: without an owner a paused escrow could never be unpaused.
    function renounceOwnership() public view override onlyOwner {
        revert RunEscrowCannotRenounceOwnership();
    }

    /// @inheritdoc IRunEscrow
    function pause() external onlyOwner whenNotPaused {
        _paused = true;
        emit Paused(msg.sender);
    }

    /// @inheritdoc IRunEscrow
    function unpause() external onlyOwner {
        if (!_paused) revert RunEscrowNotPaused();
        _paused = false;
        emit Unpaused(msg.sender);
    }

    /// @inheritdoc IRunEscrow
    function syncMinStake(uint256 minStake) external {
        if (msg.sender != address(_vault)) revert RunEscrowUnauthorized(msg.sender);
        Terms memory terms = _terms[_termsVersion];
        if (terms.minStake == minStake) return;
        // The vault bounds its parameters; a minimum above 64 bits could never be staked anyway.
        terms.minStake = uint64(minStake);
        _publishTerms(terms);
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IRunEscrow
    function usdc() external view returns (address) {
        return address(_usdc);
    }

    /// @inheritdoc IRunEscrow
    function stakeVault() external view returns (address) {
        return address(_vault);
    }

    /// @inheritdoc IRunEscrow
    function treasury() external view returns (address) {
        return _treasury;
    }

    /// @inheritdoc IRunEscrow
    function accruedFees() external view returns (uint256) {
        return _accruedFees;
    }

    /// @inheritdoc IRunEscrow
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @inheritdoc IRunEscrow
    function parameters() external view returns (uint256 version, Terms memory terms) {
        version = _termsVersion;
        terms = _terms[version];
    }

    /// @inheritdoc IRunEscrow
    function termsAt(uint256 version) external view returns (Terms memory) {
        if (version == 0 || version > _termsVersion) revert RunEscrowUnknownTerms(version);
        return _terms[version];
    }

    /// @inheritdoc IRunEscrow
    function runCount() external view returns (uint256) {
        return _runCount;
    }

    /// @inheritdoc IRunEscrow
    function getRun(uint256 runId) external view returns (Run memory run) {
        RunData storage data = _runOrRevert(runId);
        RunState state = data.state;
        run.poster = data.poster;
        run.agentId = data.agentId;
        run.deadline = data.deadline;
        run.state = state;
        run.settled = state == RunState.APPROVED || state == RunState.CANCELLED || state == RunState.EXPIRED
            || state == RunState.RESOLVED || (state == RunState.REJECTED && data.settled);
        run.revisionCount = data.revisionCount;
        run.maxRevisions = data.maxRevisions;
        run.reward = data.reward;
        run.fee = _fee(data);
        run.requiredStake = data.requiredStake;
        run.timerStart = data.timerStart;
        run.termsVersion = data.termsVersion;
        run.terms = _terms[data.termsVersion];
    }

    /// @inheritdoc IRunEscrow
    function slashedOnRun(uint256 runId, uint256 agentId) external view returns (bool) {
        return _slashedOnRun[runId][agentId];
    }

    /// @inheritdoc IRunEscrow
    function creditOf(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @inheritdoc IRunEscrow
    function canClaim(uint256 runId, uint256 agentId) external view returns (bool eligible, uint256 reasons) {
        RunData storage run = _runs[runId];
        address wallet;
        uint256 agentReasons;
        if (run.poster == address(0)) {
            reasons = ClaimReasons.RUN_NOT_FOUND;
            if (_paused) reasons |= ClaimReasons.CLAIMS_PAUSED;
            (, agentReasons) = _vault.eligibility(agentId, 0);
        } else {
            reasons = _runReasons(run, runId, agentId);
            (wallet, agentReasons) = _vault.eligibility(agentId, run.requiredStake);
            reasons |= _partyReasons(run, wallet);
        }
        reasons |= agentReasons;
        eligible = reasons == 0;
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _create(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        uint256 requiredStake,
        uint256 termsVersion
    ) private returns (uint256 runId, RunData storage run) {
        _checkURI(specURI, true);
        if (reward == 0) revert RunEscrowZeroReward();
        if (reward > type(uint64).max) revert RunEscrowAmountTooLarge(reward, type(uint64).max);
        if (deadline <= block.timestamp || deadline > block.timestamp + MAX_LOCK) {
            revert RunEscrowInvalidDeadline(deadline, block.timestamp + 1, block.timestamp + MAX_LOCK);
        }
        if (maxRevisions > MAX_REVISIONS) revert RunEscrowTooManyRevisions(maxRevisions, MAX_REVISIONS);

        uint32 version = _termsVersion;
        if (termsVersion != 0 && termsVersion != version) {
            revert RunEscrowTermsChanged(termsVersion, version);
        }
        Terms memory terms = _terms[version];
        if (msg.sender == terms.arbitrator) revert RunEscrowPosterIsArbitrator(msg.sender);
        requiredStake = _requiredStake(requiredStake, terms.minStake);
        // Bounded so that no inaction of anyone can lock the escrow for longer than MAX_LOCK after a claim.
        uint256 lock = (maxRevisions + 1) * (uint256(terms.claimTimeout) + terms.reviewPeriod)
            + terms.disputeWindow + terms.rulingPeriod;
        if (lock > MAX_LOCK) revert RunEscrowLockTooLong(lock, MAX_LOCK);

        // Cannot overflow: one run per transaction never gets near 2^64.
        unchecked {
            runId = uint256(_runCount) + 1;
        }
        _runCount = uint64(runId);
        run = _runs[runId];
        run.poster = msg.sender;
        run.deadline = uint40(deadline);
        run.maxRevisions = uint8(maxRevisions);
        run.reward = uint64(reward);
        run.requiredStake = uint64(requiredStake);
        run.termsVersion = version;
        run.feeBps = terms.feeBps;
        run.claimTimeout = terms.claimTimeout;
        _emitCreated(runId, specURI, reward, requiredStake, deadline, maxRevisions, terms);
    }

    /// @dev Separate from {_create} only to keep the stack shallow. The values are the ones just
    /// stored (and checked to fit).
    function _emitCreated(
        uint256 runId,
        string calldata specURI,
        uint256 reward,
        uint256 requiredStake,
        uint256 deadline,
        uint256 maxRevisions,
        Terms memory terms
    ) private {
        emit RunCreated(
            runId,
            msg.sender,
            specURI,
            reward,
            reward * terms.feeBps / BPS,
            requiredStake,
            uint64(deadline),
            uint8(maxRevisions),
            _termsVersion,
            terms
        );
    }

    function _requiredStake(uint256 requested, uint256 minStake) private pure returns (uint256) {
        if (requested == 0) return minStake;
        if (requested < minStake) revert RunEscrowStakeBelowMinimum(requested, minStake);
        if (requested > type(uint64).max) revert RunEscrowAmountTooLarge(requested, type(uint64).max);
        return requested;
    }

    function _createFunded(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        uint256 requiredStake,
        uint256 termsVersion
    ) private returns (uint256 runId, uint256 amount) {
        RunData storage run;
        (runId, run) = _create(specURI, reward, deadline, maxRevisions, requiredStake, termsVersion);
        run.state = RunState.OPEN;
        amount = _total(run);
        emit RunFunded(runId, msg.sender, amount);
    }

    /// @dev Checks and effects of funding a DRAFT; the caller pulls the returned amount.
    function _markFunded(uint256 runId) private returns (uint256 amount) {
        RunData storage run = _posterRun(runId);
        _requireState(run, runId, RunState.DRAFT);
        // Funding a run that can no longer be claimed would only lock money until `expire`.
        if (block.timestamp > run.deadline) revert RunEscrowDeadlinePassed(runId, run.deadline);
        run.state = RunState.OPEN;
        amount = _total(run);
        emit RunFunded(runId, msg.sender, amount);
    }

    /// @dev Checks and effects of a rejection; the caller pulls the returned bond.
    function _markRejected(uint256 runId, string calldata reasonURI) private returns (uint256 bond) {
        RunData storage run = _posterRun(runId);
        _checkURI(reasonURI, true);
        _requireInReview(run, runId);
        if (run.revisionCount < run.maxRevisions) {
            revert RunEscrowRevisionsRemaining(runId, run.revisionCount, run.maxRevisions);
        }
        bond = run.requiredStake;
        run.state = RunState.REJECTED;
        run.timerStart = uint40(block.timestamp);
        emit Rejected(runId, run.agentId, msg.sender, reasonURI, bond);
    }

    function _pullWithPermit(uint256 amount, Permit calldata permit) private {
        // A front-run permit leaves the allowance in place; without it the transfer reverts.
        try IUSDC(address(_usdc))
            .permit(msg.sender, address(this), amount, permit.deadline, permit.v, permit.r, permit.s) {}
            catch {}
        _usdc.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _pullWithAuthorization(uint256 amount, Authorization calldata auth) private {
        // receiveWithAuthorization (not transferWithAuthorization) requires msg.sender == payee,
        // so a signature seen in the mempool cannot be replayed into another call.
        IUSDC(address(_usdc))
            .receiveWithAuthorization(
                msg.sender,
                address(this),
                amount,
                auth.validAfter,
                auth.validBefore,
                auth.nonce,
                auth.v,
                auth.r,
                auth.s
            );
    }

    /// @dev Pays an approval: reward to the agent, fee accrued, and a held rejection bond: back to
    /// the poster who reconsiders a rejection, but to the agent when the poster concedes a dispute
    /// (else a poster could front-run a winning ruling with `approve` and never lose its bond).
    function _approve(RunData storage run, uint256 runId, RunState from, bool onTimeout) private {
        uint256 reward = run.reward;
        uint256 fee = _fee(run);
        uint256 bond = from == RunState.SUBMITTED ? 0 : run.requiredStake;
        bool conceded = from == RunState.DISPUTED;
        run.state = RunState.APPROVED;
        _accrueFee(fee);
        (address wallet,) = _settle(
            run,
            run.agentId,
            runId,
            conceded ? IStakeVault.Outcome.DISPUTE_WON : IStakeVault.Outcome.APPROVED,
            reward
        );
        emit Approved(runId, run.agentId, wallet, reward, fee, bond, onTimeout);
        if (conceded) {
            _pay(wallet, reward + bond, runId);
        } else {
            _pay(wallet, reward, runId);
            _pay(run.poster, bond, runId);
        }
    }

    /// @dev A final rejection: reward + fee + bond to the poster, the reservation released.
    function _finalizeRejection(RunData storage run, uint256 runId, bool byAgent) private {
        run.settled = true;
        address poster = run.poster;
        uint256 refund = _total(run) + run.requiredStake;
        _settle(run, run.agentId, runId, IStakeVault.Outcome.REJECTED, 0);
        emit RejectionFinalized(runId, run.agentId, poster, refund, byAgent);
        _pay(poster, refund, runId);
    }

    /// @dev Ends a dispute with the agent getting `bps` of reward and fee (a ruling, or the default).
    function _resolve(
        RunData storage run,
        uint256 runId,
        address arbitrator,
        uint256 bps,
        IStakeVault.Outcome outcome
    ) private {
        Ruling memory ruling = _split(run, bps);
        ruling.bond = run.requiredStake;
        ruling.strike = outcome == IStakeVault.Outcome.DISPUTE_LOST_STRUCK;
        ruling.byDefault = outcome == IStakeVault.Outcome.DISPUTE_SPLIT;
        run.state = RunState.RESOLVED;
        _accrueFee(ruling.toTreasury);
        address wallet;
        (wallet, ruling.stakeForfeited) = _settle(run, run.agentId, runId, outcome, ruling.toAgent);
        emit DisputeResolved(runId, run.agentId, arbitrator, ruling);
        // The bond follows the ruling: to the agent when it won, back to the poster otherwise.
        uint256 toAgent = ruling.toAgent;
        uint256 toPoster = ruling.toPoster;
        if (outcome == IStakeVault.Outcome.DISPUTE_WON) toAgent += ruling.bond;
        else toPoster += ruling.bond + ruling.stakeForfeited;
        _pay(wallet, toAgent, runId);
        _pay(run.poster, toPoster, runId);
    }

    /// @dev Ends agent `agentId`'s claim on `run` in the vault: its reservation released or
    /// forfeited to this escrow, and the outcome on the agent's record. Called after the run's own
    /// state changed (checks-effects-interactions).
    function _settle(
        RunData storage run,
        uint256 agentId,
        uint256 runId,
        IStakeVault.Outcome outcome,
        uint256 earned
    ) private returns (address wallet, uint256 forfeited) {
        return _vault.settleClaim(agentId, runId, run.requiredStake, outcome, run.reward, earned);
    }

    /// @dev Reward and fee divided `bps` to the agent (and the treasury), rounded down, the rest
    /// to the poster.
    function _split(RunData storage run, uint256 bps) private view returns (Ruling memory split) {
        uint256 reward = run.reward;
        uint256 fee = _fee(run);
        split.agentShareBps = uint16(bps);
        split.toAgent = reward * bps / BPS;
        split.toTreasury = fee * bps / BPS;
        // Cannot underflow: each share is at most its whole.
        split.toPoster = reward + fee - split.toAgent - split.toTreasury;
    }

    function _accrueFee(uint256 fee) private {
        // Cannot exceed 128 bits: fees are at most a tenth of 64-bit rewards, far fewer than 2^64 runs.
        _accruedFees += uint128(fee);
    }

    /// @dev Pays out, or keeps the amount as a credit when the transfer fails, so that no
    /// recipient can block a run's settlement.
    function _pay(address to, uint256 amount, uint256 runId) private {
        if (amount == 0) return;
        if (!_usdc.trySafeTransfer(to, amount)) {
            _credits[to] += amount;
            emit CreditAdded(to, runId, amount);
        }
    }

    function _setParameters(Parameters memory p, uint64 minStake) private {
        if (p.feeBps > MAX_FEE_BPS) revert RunEscrowFeeTooHigh(p.feeBps, MAX_FEE_BPS);
        _checkPeriod(p.claimTimeout, MIN_TIMEOUT, MAX_TIMEOUT);
        _checkPeriod(p.reviewPeriod, MIN_TIMEOUT, MAX_TIMEOUT);
        _checkPeriod(p.disputeWindow, MIN_DISPUTE_WINDOW, MAX_DISPUTE_WINDOW);
        _checkPeriod(p.rulingPeriod, MIN_RULING_PERIOD, MAX_RULING_PERIOD);
        address arbitrator = p.arbitrator;
        if (
            arbitrator == address(0) || arbitrator == address(this) || arbitrator == address(_vault)
                || arbitrator == _treasury
        ) revert RunEscrowInvalidArbitrator(arbitrator);
        _wasArbitrator[arbitrator] = true;
        _publishTerms(
            Terms({
                feeBps: p.feeBps,
                claimTimeout: p.claimTimeout,
                reviewPeriod: p.reviewPeriod,
                disputeWindow: p.disputeWindow,
                rulingPeriod: p.rulingPeriod,
                arbitrator: arbitrator,
                minStake: minStake
            })
        );
    }

    function _publishTerms(Terms memory terms) private {
        // Version 0 is never used, so a zeroed run slot can never alias real terms.
        uint32 version = _termsVersion + 1;
        _termsVersion = version;
        _terms[version] = terms;
        emit ParametersUpdated(version, terms);
    }

    function _checkPeriod(uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert RunEscrowInvalidPeriod(value, min, max);
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert RunEscrowZeroAddress();
        // Fees paid to either contract would sit there owed to no one; an arbitrator (of any terms
        // version, since old versions keep theirs for their live runs) that is paid the fee share
        // of its own rulings would not be neutral.
        if (treasury_ == address(this) || treasury_ == address(_vault) || _wasArbitrator[treasury_]) {
            revert RunEscrowInvalidTreasury(treasury_);
        }
        emit TreasuryUpdated(_treasury, treasury_);
        _treasury = treasury_;
    }

    function _checkURI(string calldata uri, bool required) private pure {
        uint256 length = bytes(uri).length;
        if (length == 0 && required) revert RunEscrowEmptyURI();
        if (length > MAX_URI_LENGTH) revert RunEscrowURITooLong(length, MAX_URI_LENGTH);
    }

    function _runReasons(RunData storage run, uint256 runId, uint256 agentId)
        private
        view
        returns (uint256 reasons)
    {
        if (run.state != RunState.OPEN) reasons |= ClaimReasons.RUN_NOT_OPEN;
        if (block.timestamp > run.deadline) reasons |= ClaimReasons.RUN_PAST_DEADLINE;
        if (_paused) reasons |= ClaimReasons.CLAIMS_PAUSED;
        if (_slashedOnRun[runId][agentId]) reasons |= ClaimReasons.AGENT_SLASHED_ON_RUN;
    }

    /// @dev The rules between the agent's wallet and the run's other parties.
    function _partyReasons(RunData storage run, address wallet) private view returns (uint256 reasons) {
        if (wallet == address(0)) return 0;
        if (wallet == run.poster) reasons |= ClaimReasons.AGENT_IS_POSTER;
        if (wallet == _terms[run.termsVersion].arbitrator) reasons |= ClaimReasons.AGENT_IS_ARBITRATOR;
    }

    function _requireInReview(RunData storage run, uint256 runId) private view {
        _requireState(run, runId, RunState.SUBMITTED);
        uint256 reviewEnd = uint256(run.timerStart) + _terms[run.termsVersion].reviewPeriod;
        // Past the review period the poster can only approve (and anyone approve on timeout).
        if (block.timestamp > reviewEnd) revert RunEscrowReviewPeriodOver(runId, reviewEnd);
    }

    function _requireWithinClaimTimeout(RunData storage run, uint256 runId) private view {
        uint256 end = uint256(run.timerStart) + run.claimTimeout;
        if (block.timestamp > end) revert RunEscrowClaimTimedOut(runId, end);
    }

    function _requireUnsettledRejection(RunData storage run, uint256 runId) private view {
        _requireState(run, runId, RunState.REJECTED);
        if (run.settled) revert RunEscrowAlreadySettled(runId);
    }

    function _fee(RunData storage run) private view returns (uint256) {
        // Rounds down, in the poster's favour.
        return uint256(run.reward) * run.feeBps / BPS;
    }

    function _total(RunData storage run) private view returns (uint256) {
        return uint256(run.reward) + _fee(run);
    }

    function _requireState(RunData storage run, uint256 runId, RunState expected) private view {
        RunState state = run.state;
        if (state != expected) revert RunEscrowInvalidState(runId, state);
    }

    function _runOrRevert(uint256 runId) private view returns (RunData storage run) {
        run = _runs[runId];
        if (run.poster == address(0)) revert RunEscrowRunNotFound(runId);
    }

    function _posterRun(uint256 runId) private view returns (RunData storage run) {
        run = _runOrRevert(runId);
        if (msg.sender != run.poster) revert RunEscrowNotPoster(runId, msg.sender);
    }

    function _agentRun(uint256 runId) private view returns (RunData storage run) {
        run = _runOrRevert(runId);
        // A run without an agent has wallet zero, which no caller can be; every agent holding a
        // run passed {claim}, which copied its wallet.
        if (msg.sender != _agentWallets[run.agentId]) revert RunEscrowNotAgent(runId, msg.sender);
    }
}
