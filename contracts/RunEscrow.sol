// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IRunEscrow} from "./interfaces/IRunEscrow.sol";
import {IStakeVault} from "./interfaces/IStakeVault.sol";
import {IUSDC} from "./interfaces/IUSDC.sol";
import {ClaimReasons} from "./libraries/ClaimReasons.sol";

/// @title RunEscrow
/// @notice Holds the USDC of every funded run and moves runs through their state machine.
/// @dev See {IRunEscrow} for the behaviour. Invariant kept by every function: this contract's USDC
/// balance equals the reward + fee of every funded, unsettled run plus the unpaid credits. The
/// owner can change future terms, the treasury and pause new business; it has no path to
/// escrowed funds.
contract RunEscrow is IRunEscrow, Ownable2Step, Pausable, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev One run in two storage slots. Run terms that rarely matter after creation (claim
    /// timeout, review period) live in the shared parameter set the run points to.
    struct RunData {
        // slot 0: who and where
        address poster;
        uint32 agentId;
        uint40 deadline;
        RunState state;
        uint8 revisionCount;
        uint8 maxRevisions;
        // slot 1: money and clock
        uint96 reward;
        uint96 fee;
        uint40 timerStart;
        uint24 parametersVersion;
    }

    /// @dev The terms snapshotted by every run created while this version was current.
    struct ParameterSet {
        uint16 feeBps;
        uint32 claimTimeout;
        uint32 reviewPeriod;
    }

    /// @inheritdoc IRunEscrow
    uint256 public constant MAX_REVISIONS = 10;
    /// @inheritdoc IRunEscrow
    uint256 public constant MAX_FEE_BPS = 1000;
    /// @notice Shortest claim timeout or review period.
    uint256 public constant MIN_TIMEOUT = 1 hours;
    /// @notice Longest claim timeout or review period.
    uint256 public constant MAX_TIMEOUT = 90 days;

    uint256 private constant BPS = 10_000;

    IERC20 private immutable _usdc;
    IStakeVault private immutable _vault;

    address private _treasury;
    uint24 private _parametersVersion;
    uint256 private _runCount;

    mapping(uint256 version => ParameterSet) private _parameterSets;
    mapping(uint256 runId => RunData) private _runs;
    mapping(address account => uint256 amount) private _credits;
    mapping(uint256 runId => mapping(uint256 agentId => bool)) private _slashedOnRun;

    /// @param usdc_ The USDC token (6 decimals).
    /// @param vault_ The agents' StakeVault (which must bind this contract with `setRunEscrow`).
    /// @param owner_ Who may change terms, treasury and pause.
    /// @param treasury_ Where approval fees go.
    /// @param feeBps Platform fee in basis points, added on top of the reward.
    /// @param claimTimeout Seconds from claim or revision request to submission.
    /// @param reviewPeriod Seconds from submission to the poster's decision.
    constructor(
        IUSDC usdc_,
        IStakeVault vault_,
        address owner_,
        address treasury_,
        uint256 feeBps,
        uint256 claimTimeout,
        uint256 reviewPeriod
    ) Ownable(owner_) {
        if (address(usdc_) == address(0) || address(vault_) == address(0)) revert RunEscrowZeroAddress();
        _usdc = IERC20(address(usdc_));
        _vault = vault_;
        _setTreasury(treasury_);
        _setParameters(feeBps, claimTimeout, reviewPeriod);
    }

    /*//////////////////////////////////////////////////////////////
                                POSTER
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IRunEscrow
    function createRun(string calldata specURI, uint256 reward, uint256 deadline, uint256 maxRevisions)
        external
        whenNotPaused
        returns (uint256 runId)
    {
        (runId,) = _create(specURI, reward, deadline, maxRevisions);
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
    function fundWithAuthorization(uint256 runId, Authorization calldata auth) external nonReentrant whenNotPaused {
        uint256 amount = _markFunded(runId);
        _pullWithAuthorization(amount, auth);
    }

    /// @inheritdoc IRunEscrow
    function createAndFund(string calldata specURI, uint256 reward, uint256 deadline, uint256 maxRevisions)
        external
        nonReentrant
        whenNotPaused
        returns (uint256 runId)
    {
        uint256 amount;
        (runId, amount) = _createFunded(specURI, reward, deadline, maxRevisions);
        _usdc.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IRunEscrow
    function createAndFundWithPermit(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        Permit calldata permit
    ) external nonReentrant whenNotPaused returns (uint256 runId) {
        uint256 amount;
        (runId, amount) = _createFunded(specURI, reward, deadline, maxRevisions);
        _pullWithPermit(amount, permit);
    }

    /// @inheritdoc IRunEscrow
    function createAndFundWithAuthorization(
        string calldata specURI,
        uint256 reward,
        uint256 deadline,
        uint256 maxRevisions,
        Authorization calldata auth
    ) external nonReentrant whenNotPaused returns (uint256 runId) {
        uint256 amount;
        (runId, amount) = _createFunded(specURI, reward, deadline, maxRevisions);
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
        _requireState(run, runId, RunState.SUBMITTED);
        _approve(run, runId, false);
    }

    /// @inheritdoc IRunEscrow
    function requestRevision(uint256 runId, string calldata reason) external {
        RunData storage run = _posterRun(runId);
        _requireState(run, runId, RunState.SUBMITTED);
        uint8 revisions = run.revisionCount;
        if (revisions >= run.maxRevisions) revert RunEscrowRevisionsExhausted(runId, run.maxRevisions);
        // Cannot overflow: revisions < maxRevisions <= MAX_REVISIONS.
        unchecked {
            revisions += 1;
        }
        run.revisionCount = revisions;
        run.state = RunState.REVISION_REQUESTED;
        run.timerStart = uint40(block.timestamp);
        emit RevisionRequested(runId, run.agentId, reason, revisions);
    }

    /// @inheritdoc IRunEscrow
    function reject(uint256 runId) external nonReentrant {
        RunData storage run = _posterRun(runId);
        _requireState(run, runId, RunState.SUBMITTED);
        if (run.revisionCount < run.maxRevisions) {
            revert RunEscrowRevisionsRemaining(runId, run.revisionCount, run.maxRevisions);
        }
        uint256 agentId = run.agentId;
        uint256 refund = _total(run);
        run.state = RunState.REJECTED;
        emit Rejected(runId, agentId, msg.sender, refund);
        _vault.releaseClaim(agentId);
        _pay(msg.sender, refund, runId);
    }

    /*//////////////////////////////////////////////////////////////
                                 AGENT
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IRunEscrow
    function claim(uint256 runId, uint256 agentId) external {
        RunData storage run = _runOrRevert(runId);
        uint256 reasons = _runReasons(run, runId, agentId);
        (address wallet, uint256 agentReasons) = _vault.lockClaim(agentId, run.poster);
        reasons |= agentReasons;
        if (reasons != 0) revert RunEscrowNotClaimable(runId, agentId, reasons);
        if (msg.sender != wallet) revert RunEscrowNotAgentWallet(agentId, msg.sender);
        // The vault guarantees agent ids fit 32 bits; a found agent passed the check above.
        run.agentId = uint32(agentId);
        run.state = RunState.CLAIMED;
        run.timerStart = uint40(block.timestamp);
        emit Claimed(runId, agentId, wallet);
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
        if (state != RunState.CLAIMED && state != RunState.IN_PROGRESS && state != RunState.REVISION_REQUESTED) {
            revert RunEscrowInvalidState(runId, state);
        }
        if (bytes(deliverableURI).length == 0) revert RunEscrowEmptyURI();
        run.state = RunState.SUBMITTED;
        run.timerStart = uint40(block.timestamp);
        emit Submitted(runId, run.agentId, deliverableURI, run.revisionCount);
    }

    /*//////////////////////////////////////////////////////////////
                                 ANYONE
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IRunEscrow
    function slash(uint256 runId) external nonReentrant {
        RunData storage run = _runOrRevert(runId);
        RunState state = run.state;
        if (state != RunState.CLAIMED && state != RunState.IN_PROGRESS && state != RunState.REVISION_REQUESTED) {
            revert RunEscrowInvalidState(runId, state);
        }
        ParameterSet memory terms = _parameterSets[run.parametersVersion];
        address poster = run.poster;
        uint256 slashableAfter = uint256(run.timerStart) + terms.claimTimeout;
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
        uint256 slashed = _vault.slash(agentId, runId);
        emit Slashed(runId, agentId, poster, slashed, next, refund);
        _pay(poster, slashed + refund, runId);
    }

    /// @inheritdoc IRunEscrow
    function approveOnTimeout(uint256 runId) external nonReentrant {
        RunData storage run = _runOrRevert(runId);
        _requireState(run, runId, RunState.SUBMITTED);
        uint256 reviewEndsAt = uint256(run.timerStart) + _parameterSets[run.parametersVersion].reviewPeriod;
        if (block.timestamp <= reviewEndsAt) revert RunEscrowReviewNotTimedOut(runId, reviewEndsAt);
        _approve(run, runId, true);
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

    /*//////////////////////////////////////////////////////////////
                                 OWNER
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IRunEscrow
    function setParameters(uint256 feeBps, uint256 claimTimeout, uint256 reviewPeriod) external onlyOwner {
        _setParameters(feeBps, claimTimeout, reviewPeriod);
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
    function pause() external onlyOwner {
        _pause();
    }

    /// @inheritdoc IRunEscrow
    function unpause() external onlyOwner {
        _unpause();
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
    function parameters()
        external
        view
        returns (uint256 version, uint16 feeBps, uint32 claimTimeout, uint32 reviewPeriod)
    {
        version = _parametersVersion;
        ParameterSet memory terms = _parameterSets[version];
        return (version, terms.feeBps, terms.claimTimeout, terms.reviewPeriod);
    }

    /// @inheritdoc IRunEscrow
    function runCount() external view returns (uint256) {
        return _runCount;
    }

    /// @inheritdoc IRunEscrow
    function getRun(uint256 runId) external view returns (Run memory) {
        RunData storage run = _runOrRevert(runId);
        ParameterSet memory terms = _parameterSets[run.parametersVersion];
        return Run({
            poster: run.poster,
            agentId: run.agentId,
            deadline: run.deadline,
            state: run.state,
            revisionCount: run.revisionCount,
            maxRevisions: run.maxRevisions,
            reward: run.reward,
            fee: run.fee,
            timerStart: run.timerStart,
            claimTimeout: terms.claimTimeout,
            reviewPeriod: terms.reviewPeriod
        });
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
        address poster = run.poster;
        if (poster == address(0)) {
            reasons = ClaimReasons.RUN_NOT_FOUND;
            if (paused()) reasons |= ClaimReasons.CLAIMS_PAUSED;
        } else {
            reasons = _runReasons(run, runId, agentId);
        }
        (, uint256 agentReasons) = _vault.eligibility(agentId, poster);
        reasons |= agentReasons;
        eligible = reasons == 0;
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    function _create(string calldata specURI, uint256 reward, uint256 deadline, uint256 maxRevisions)
        private
        returns (uint256 runId, RunData storage run)
    {
        if (bytes(specURI).length == 0) revert RunEscrowEmptyURI();
        if (reward == 0) revert RunEscrowZeroReward();
        if (reward > type(uint96).max) revert RunEscrowRewardTooLarge(reward, type(uint96).max);
        if (deadline <= block.timestamp || deadline > type(uint40).max) {
            revert RunEscrowInvalidDeadline(deadline, block.timestamp);
        }
        if (maxRevisions > MAX_REVISIONS) revert RunEscrowTooManyRevisions(maxRevisions, MAX_REVISIONS);

        uint24 version = _parametersVersion;
        ParameterSet memory terms = _parameterSets[version];
        // Rounds down, in the poster's favour. Fits 96 bits: feeBps <= 10% of a 96-bit reward.
        uint256 fee = reward * terms.feeBps / BPS;
        runId = ++_runCount;
        run = _runs[runId];
        run.poster = msg.sender;
        run.deadline = uint40(deadline);
        run.maxRevisions = uint8(maxRevisions);
        run.reward = uint96(reward);
        run.fee = uint96(fee);
        run.parametersVersion = version;
        emit RunCreated(
            runId,
            msg.sender,
            specURI,
            reward,
            fee,
            uint64(deadline),
            uint8(maxRevisions),
            terms.claimTimeout,
            terms.reviewPeriod
        );
    }

    function _createFunded(string calldata specURI, uint256 reward, uint256 deadline, uint256 maxRevisions)
        private
        returns (uint256 runId, uint256 amount)
    {
        RunData storage run;
        (runId, run) = _create(specURI, reward, deadline, maxRevisions);
        run.state = RunState.OPEN;
        amount = _total(run);
        emit RunFunded(runId, msg.sender, amount);
    }

    /// @dev Checks and effects of funding a DRAFT; the caller pulls the returned amount.
    function _markFunded(uint256 runId) private returns (uint256 amount) {
        RunData storage run = _posterRun(runId);
        _requireState(run, runId, RunState.DRAFT);
        // Funding a run that can no longer be claimed would only lock money until `expire`.
        if (block.timestamp > run.deadline) revert RunEscrowInvalidDeadline(run.deadline, block.timestamp);
        run.state = RunState.OPEN;
        amount = _total(run);
        emit RunFunded(runId, msg.sender, amount);
    }

    function _pullWithPermit(uint256 amount, Permit calldata permit) private {
        // A front-run permit leaves the allowance in place; without it the transfer reverts.
        try IUSDC(address(_usdc)).permit(
            msg.sender, address(this), amount, permit.deadline, permit.v, permit.r, permit.s
        ) {} catch {}
        _usdc.safeTransferFrom(msg.sender, address(this), amount);
    }

    function _pullWithAuthorization(uint256 amount, Authorization calldata auth) private {
        // receiveWithAuthorization (not transferWithAuthorization) requires msg.sender == payee,
        // so a signature seen in the mempool cannot be replayed into another call.
        IUSDC(address(_usdc)).receiveWithAuthorization(
            msg.sender, address(this), amount, auth.validAfter, auth.validBefore, auth.nonce, auth.v, auth.r, auth.s
        );
    }

    function _approve(RunData storage run, uint256 runId, bool onTimeout) private {
        uint256 agentId = run.agentId;
        uint256 reward = run.reward;
        uint256 fee = run.fee;
        run.state = RunState.APPROVED;
        address wallet = _vault.walletOf(agentId);
        emit Approved(runId, agentId, wallet, reward, fee, onTimeout);
        _vault.recordCompletion(agentId, reward);
        _pay(wallet, reward, runId);
        _pay(_treasury, fee, runId);
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

    function _setParameters(uint256 feeBps, uint256 claimTimeout, uint256 reviewPeriod) private {
        if (feeBps > MAX_FEE_BPS) revert RunEscrowFeeTooHigh(feeBps, MAX_FEE_BPS);
        if (claimTimeout < MIN_TIMEOUT || claimTimeout > MAX_TIMEOUT) {
            revert RunEscrowInvalidTimeout(claimTimeout, MIN_TIMEOUT, MAX_TIMEOUT);
        }
        if (reviewPeriod < MIN_TIMEOUT || reviewPeriod > MAX_TIMEOUT) {
            revert RunEscrowInvalidTimeout(reviewPeriod, MIN_TIMEOUT, MAX_TIMEOUT);
        }
        uint256 cooldown = _vault.parameters().unstakeCooldown;
        if (claimTimeout > cooldown) revert RunEscrowTimeoutExceedsCooldown(claimTimeout, cooldown);
        // Version 0 is never used, so a zeroed run slot can never alias a real parameter set.
        uint24 version = _parametersVersion + 1;
        _parametersVersion = version;
        _parameterSets[version] = ParameterSet({
            feeBps: uint16(feeBps),
            claimTimeout: uint32(claimTimeout),
            reviewPeriod: uint32(reviewPeriod)
        });
        emit ParametersUpdated(version, uint16(feeBps), uint32(claimTimeout), uint32(reviewPeriod));
    }

    function _setTreasury(address treasury_) private {
        if (treasury_ == address(0)) revert RunEscrowZeroAddress();
        // Fees paid to either contract would sit there owed to no one.
        if (treasury_ == address(this) || treasury_ == address(_vault)) revert RunEscrowInvalidTreasury(treasury_);
        emit TreasuryUpdated(_treasury, treasury_);
        _treasury = treasury_;
    }

    function _runReasons(RunData storage run, uint256 runId, uint256 agentId)
        private
        view
        returns (uint256 reasons)
    {
        if (run.state != RunState.OPEN) reasons |= ClaimReasons.RUN_NOT_OPEN;
        if (block.timestamp > run.deadline) reasons |= ClaimReasons.RUN_PAST_DEADLINE;
        if (paused()) reasons |= ClaimReasons.CLAIMS_PAUSED;
        if (_slashedOnRun[runId][agentId]) reasons |= ClaimReasons.AGENT_SLASHED_ON_RUN;
    }

    function _total(RunData storage run) private view returns (uint256) {
        return uint256(run.reward) + run.fee;
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
        // A run without an agent has wallet zero, which no caller can be.
        if (msg.sender != _vault.walletOf(run.agentId)) revert RunEscrowNotAgent(runId, msg.sender);
    }
}
