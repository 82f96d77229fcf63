// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";

import {Base} from "./Base.t.sol";
import {SigUtils} from "./utils/SigUtils.sol";
import {Vm} from "./utils/Vm.sol";
import {BlacklistUSDC} from "./mocks/BlacklistUSDC.sol";
import {MockUSDC} from "../contracts/mocks/MockUSDC.sol";
import {RunEscrow} from "../contracts/RunEscrow.sol";
import {StakeVault} from "../contracts/StakeVault.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";
import {IERC3009, IUSDC} from "../contracts/interfaces/IUSDC.sol";
import {ClaimReasons} from "../contracts/libraries/ClaimReasons.sol";

/// @notice Helpers shared by the poster/owner/view unit suite and the fuzz suite: the fixture's
/// agent, every create/fund/reject variant behind one dispatcher, runs in each of the 12 states,
/// balance snapshots (USDC of every party, accrued fees, the agent's stake and reservation) and
/// expected-error builders.
abstract contract RunEscrowHelpers is Base {
    using SigUtils for IUSDC;

    /// @dev USDC of every account a poster/owner action can touch, the fees accrued in the escrow
    /// and the fixture agent's stake and reservation in the vault.
    struct Balances {
        uint256 poster;
        uint256 escrow;
        uint256 agent;
        uint256 treasury;
        uint256 stranger;
        uint256 vault;
        uint256 accruedFees;
        uint256 stake;
        uint256 reserved;
    }

    /// @dev The arguments of createRun and every createAndFund variant.
    struct CreateArgs {
        string specURI;
        uint256 reward;
        uint256 deadline;
        uint256 maxRevisions;
        uint256 requiredStake;
        uint256 termsVersion;
    }

    /// @dev A signed permit and authorization for the poster-side `...WithPermit` / `...WithAuthorization`
    /// variants (only the one the variant uses is filled in).
    struct Sigs {
        IRunEscrow.Permit permit;
        IRunEscrow.Authorization auth;
    }

    uint256 internal constant BPS = 10_000;
    uint256 internal constant TOTAL = REWARD + FEE;
    /// @dev The default rejection bond: a run's requiredStake, which defaults to the minimum stake.
    uint256 internal constant BOND = MIN_STAKE;
    uint256 internal constant MAX_AMOUNT = type(uint64).max;

    // The four ways to create a run.
    uint256 internal constant VIA_CREATE_RUN = 0;
    uint256 internal constant VIA_CREATE_AND_FUND = 1;
    uint256 internal constant VIA_PERMIT = 2;
    uint256 internal constant VIA_AUTHORIZATION = 3;

    // The poster actions on an existing run.
    uint256 internal constant FUND = 0;
    uint256 internal constant FUND_WITH_PERMIT = 1;
    uint256 internal constant FUND_WITH_AUTHORIZATION = 2;
    uint256 internal constant CANCEL = 3;
    uint256 internal constant APPROVE = 4;
    uint256 internal constant REQUEST_REVISION = 5;
    uint256 internal constant REJECT = 6;
    uint256 internal constant REJECT_WITH_PERMIT = 7;
    uint256 internal constant ACTION_COUNT = 8;

    /// @dev Cases of {_runInState}: the 12 states in ABI order, then a REJECTED run whose rejection
    /// is final (settled).
    uint256 internal constant SETTLED_REJECTION = 12;
    uint256 internal constant CASE_COUNT = 13;

    IUSDC internal token;
    uint256 internal agentId;

    /// @dev What {_runInState} expects the built run's timerStart and deadline to be.
    uint256 internal caseTimerStart;
    uint256 internal caseDeadline;

    uint256 private _authNonce;

    function setUp() public virtual override {
        super.setUp();
        token = IUSDC(address(usdc));
        agentId = _agent();
    }

    /*//////////////////////////////////////////////////////////////
                              CREATE / FUND
    //////////////////////////////////////////////////////////////*/

    function _args() internal view returns (CreateArgs memory) {
        return CreateArgs(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0);
    }

    /// @dev Signs what creation variant `via` needs to pull `a.reward` plus the current fee.
    function _signCreate(uint256 via, CreateArgs memory a) internal returns (Sigs memory s) {
        if (via < VIA_PERMIT) return s;
        (, IRunEscrow.Terms memory terms) = escrow.parameters();
        uint256 amount = a.reward + a.reward * terms.feeBps / BPS;
        if (via == VIA_PERMIT) s.permit = _permit(amount);
        else if (via == VIA_AUTHORIZATION) s.auth = _authorization(amount);
    }

    /// @dev Calls creation variant `via` as `from`; signatures must be made before (they read the token).
    function _callCreate(uint256 via, address from, CreateArgs memory a, Sigs memory s)
        internal
        returns (uint256 runId)
    {
        vm.prank(from);
        if (via == VIA_CREATE_RUN) {
            runId = escrow.createRun(
                a.specURI, a.reward, a.deadline, a.maxRevisions, a.requiredStake, a.termsVersion
            );
        } else if (via == VIA_CREATE_AND_FUND) {
            runId = escrow.createAndFund(
                a.specURI, a.reward, a.deadline, a.maxRevisions, a.requiredStake, a.termsVersion
            );
        } else if (via == VIA_PERMIT) {
            runId = escrow.createAndFundWithPermit(
                a.specURI, a.reward, a.deadline, a.maxRevisions, a.requiredStake, a.termsVersion, s.permit
            );
        } else {
            runId = escrow.createAndFundWithAuthorization(
                a.specURI, a.reward, a.deadline, a.maxRevisions, a.requiredStake, a.termsVersion, s.auth
            );
        }
    }

    function _create(uint256 via, CreateArgs memory a) internal returns (uint256) {
        Sigs memory s = _signCreate(via, a);
        return _callCreate(via, poster, a, s);
    }

    /// @dev Every creation variant reverts with `err` for `a` from `from`, and no run is left behind.
    function _expectCreateReverts(address from, CreateArgs memory a, bytes memory err) internal {
        uint256 count = escrow.runCount();
        Balances memory before = _balances();
        for (uint256 via; via < 4; ++via) {
            Sigs memory s = _signCreate(via, a);
            vm.expectRevert(err);
            _callCreate(via, from, a, s);
        }
        assertEq(escrow.runCount(), count, "no run created");
        _assertBalances(before);
    }

    function _expectCreateReverts(CreateArgs memory a, bytes memory err) internal {
        _expectCreateReverts(poster, a, err);
    }

    /// @dev Signs what poster action `action` pulls (`amount`: reward + fee to fund, the bond to reject).
    function _sign(uint256 action, uint256 amount) internal returns (Sigs memory s) {
        if (action == FUND_WITH_PERMIT || action == REJECT_WITH_PERMIT) s.permit = _permit(amount);
        else if (action == FUND_WITH_AUTHORIZATION) s.auth = _authorization(amount);
    }

    /// @dev Calls poster action `action` on `runId` as `caller`.
    function _act(uint256 action, address caller, uint256 runId, Sigs memory s) internal {
        vm.prank(caller);
        if (action == FUND) escrow.fund(runId);
        else if (action == FUND_WITH_PERMIT) escrow.fundWithPermit(runId, s.permit);
        else if (action == FUND_WITH_AUTHORIZATION) escrow.fundWithAuthorization(runId, s.auth);
        else if (action == CANCEL) escrow.cancel(runId);
        else if (action == APPROVE) escrow.approve(runId);
        else if (action == REQUEST_REVISION) escrow.requestRevision(runId, REASON);
        else if (action == REJECT) escrow.reject(runId, REASON);
        else escrow.rejectWithPermit(runId, REASON, s.permit);
    }

    function _permit(uint256 value) internal view returns (IRunEscrow.Permit memory) {
        return token.runEscrowPermit(posterKey, address(escrow), value, block.timestamp + 1 hours);
    }

    function _authorization(uint256 value) internal returns (IRunEscrow.Authorization memory) {
        return _authorization(posterKey, value, keccak256(abi.encode("runs/auth", ++_authNonce)));
    }

    function _authorization(uint256 key, uint256 value, bytes32 nonce)
        internal
        view
        returns (IRunEscrow.Authorization memory)
    {
        return token.runEscrowAuthorization(
            key, address(escrow), value, block.timestamp - 1, block.timestamp + 1 hours, nonce
        );
    }

    function _revokeAllowance() internal {
        vm.prank(poster);
        usdc.approve(address(escrow), 0);
    }

    function _mint(address to, uint256 amount) internal {
        vm.prank(owner);
        usdc.mint(to, amount);
    }

    /*//////////////////////////////////////////////////////////////
                             RUNS IN A STATE
    //////////////////////////////////////////////////////////////*/

    /// @dev The run state of case `c` of {_runInState}.
    function _caseState(uint256 c) internal pure returns (IRunEscrow.RunState) {
        return c == SETTLED_REJECTION ? IRunEscrow.RunState.REJECTED : IRunEscrow.RunState(c);
    }

    /// @dev Walks a fresh run of the fixture's poster, claimed (if at all) by the fixture's agent, to
    /// case `c` (a state, or {SETTLED_REJECTION}); an hour passes before each timed step so that
    /// `caseTimerStart` tells the steps apart. RESOLVED is a full ruling for the agent.
    function _runInState(uint256 c) internal returns (uint256 runId) {
        IRunEscrow.RunState state = _caseState(c);
        caseTimerStart = 0;
        caseDeadline = defaultDeadline();
        if (state == IRunEscrow.RunState.DRAFT) return _draftRun();
        runId = _openRun();
        if (state == IRunEscrow.RunState.OPEN) return runId;
        if (state == IRunEscrow.RunState.CANCELLED) {
            vm.prank(poster);
            escrow.cancel(runId);
            return runId;
        }
        if (state == IRunEscrow.RunState.EXPIRED) {
            vm.warp(caseDeadline + 1);
            escrow.expire(runId);
            return runId;
        }
        _step();
        vm.prank(agentWallet);
        escrow.claim(runId, agentId);
        if (state == IRunEscrow.RunState.CLAIMED) return runId;
        if (state == IRunEscrow.RunState.IN_PROGRESS) {
            vm.prank(agentWallet);
            escrow.start(runId);
            return runId;
        }
        _step();
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        if (state == IRunEscrow.RunState.SUBMITTED) return runId;
        if (state == IRunEscrow.RunState.APPROVED) {
            vm.prank(poster);
            escrow.approve(runId);
            return runId;
        }
        _step();
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
        if (state == IRunEscrow.RunState.REVISION_REQUESTED) return runId;
        _rejectAfterLastRevision(runId);
        if (c == SETTLED_REJECTION) {
            vm.prank(agentWallet);
            escrow.acceptRejection(runId);
            return runId;
        }
        if (state == IRunEscrow.RunState.REJECTED) return runId;
        _step();
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
        if (state == IRunEscrow.RunState.DISPUTED) return runId;
        vm.prank(arbitrator);
        escrow.resolve(runId, BPS, false);
    }

    /// @dev From REVISION_REQUESTED with one revision used: uses up the rest, then rejects.
    function _rejectAfterLastRevision(uint256 runId) private {
        for (uint256 i = 1; i < MAX_REVISIONS; ++i) {
            vm.prank(agentWallet);
            escrow.submit(runId, DELIVERABLE);
            vm.prank(poster);
            escrow.requestRevision(runId, REASON);
        }
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        _step();
        vm.prank(poster);
        escrow.reject(runId, REASON);
    }

    function _step() private {
        skip(1 hours);
        caseTimerStart = block.timestamp;
    }

    /// @dev A SUBMITTED run with `reward` and `maxRevisions`, claimed by the fixture's agent.
    function _submittedRun(uint256 reward, uint256 maxRevisions) internal returns (uint256 runId) {
        runId = _openRun(reward, maxRevisions);
        vm.prank(agentWallet);
        escrow.claim(runId, agentId);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
    }

    /// @dev A REJECTED run with `reward` (no revisions allowed, so rejected at once).
    function _rejectedRunWith(uint256 reward) internal returns (uint256 runId) {
        runId = _submittedRun(reward, 0);
        vm.prank(poster);
        escrow.reject(runId, REASON);
    }

    /// @dev A DISPUTED run with `reward`.
    function _disputedRunWith(uint256 reward) internal returns (uint256 runId) {
        runId = _rejectedRunWith(reward);
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
    }

    function _pause() internal {
        vm.prank(owner);
        escrow.pause();
    }

    /*//////////////////////////////////////////////////////////////
                              TERMS, RUNS
    //////////////////////////////////////////////////////////////*/

    function _defaultTerms() internal view returns (IRunEscrow.Terms memory) {
        return _terms(defaultEscrowParameters(), MIN_STAKE);
    }

    function _terms(IRunEscrow.Parameters memory p, uint64 minStake)
        internal
        pure
        returns (IRunEscrow.Terms memory)
    {
        return IRunEscrow.Terms({
            feeBps: p.feeBps,
            claimTimeout: p.claimTimeout,
            reviewPeriod: p.reviewPeriod,
            disputeWindow: p.disputeWindow,
            rulingPeriod: p.rulingPeriod,
            arbitrator: p.arbitrator,
            minStake: minStake
        });
    }

    /// @dev Parameters with every field changed from the fixture's defaults.
    function _otherParameters(address newArbitrator) internal pure returns (IRunEscrow.Parameters memory) {
        return IRunEscrow.Parameters({
            feeBps: 1000,
            claimTimeout: 1 hours,
            reviewPeriod: 1 hours,
            disputeWindow: 1 days,
            rulingPeriod: 1 days,
            arbitrator: newArbitrator
        });
    }

    function _setParameters(IRunEscrow.Parameters memory p) internal {
        vm.prank(owner);
        escrow.setParameters(p);
    }

    function _setVaultMinStake(uint64 minStake) internal {
        IStakeVault.Parameters memory p = defaultVaultParameters();
        p.minStake = minStake;
        vm.prank(owner);
        vault.setParameters(p);
    }

    /// @dev The run `a` creates under the current terms, in `state`, before any claim.
    function _expectedRun(CreateArgs memory a, IRunEscrow.RunState state)
        internal
        view
        returns (IRunEscrow.Run memory run)
    {
        (uint256 version, IRunEscrow.Terms memory terms) = escrow.parameters();
        run.poster = poster;
        run.deadline = uint64(a.deadline);
        run.state = state;
        run.maxRevisions = uint8(a.maxRevisions);
        run.reward = a.reward;
        run.fee = a.reward * terms.feeBps / BPS;
        run.requiredStake = a.requiredStake == 0 ? terms.minStake : a.requiredStake;
        run.termsVersion = version;
        run.terms = terms;
    }

    function _expectRunCreated(uint256 runId, string memory specURI, IRunEscrow.Run memory r) internal {
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCreated(
            runId,
            r.poster,
            specURI,
            r.reward,
            r.fee,
            r.requiredStake,
            r.deadline,
            r.maxRevisions,
            r.termsVersion,
            r.terms
        );
    }

    function _assertRun(uint256 runId, IRunEscrow.Run memory expected) internal view {
        IRunEscrow.Run memory actual = escrow.getRun(runId);
        assertEq(actual.poster, expected.poster, "run.poster");
        assertEq(actual.agentId, expected.agentId, "run.agentId");
        assertEq(actual.deadline, expected.deadline, "run.deadline");
        assertEq(uint256(actual.state), uint256(expected.state), "run.state");
        assertEq(actual.settled, expected.settled, "run.settled");
        assertEq(actual.revisionCount, expected.revisionCount, "run.revisionCount");
        assertEq(actual.maxRevisions, expected.maxRevisions, "run.maxRevisions");
        assertEq(actual.reward, expected.reward, "run.reward");
        assertEq(actual.fee, expected.fee, "run.fee");
        assertEq(actual.requiredStake, expected.requiredStake, "run.requiredStake");
        assertEq(actual.timerStart, expected.timerStart, "run.timerStart");
        assertEq(actual.termsVersion, expected.termsVersion, "run.termsVersion");
        _assertTerms(actual.terms, expected.terms);
    }

    function _assertTerms(IRunEscrow.Terms memory actual, IRunEscrow.Terms memory expected) internal pure {
        assertEq(actual.feeBps, expected.feeBps, "terms.feeBps");
        assertEq(actual.claimTimeout, expected.claimTimeout, "terms.claimTimeout");
        assertEq(actual.reviewPeriod, expected.reviewPeriod, "terms.reviewPeriod");
        assertEq(actual.disputeWindow, expected.disputeWindow, "terms.disputeWindow");
        assertEq(actual.rulingPeriod, expected.rulingPeriod, "terms.rulingPeriod");
        assertEq(actual.arbitrator, expected.arbitrator, "terms.arbitrator");
        assertEq(actual.minStake, expected.minStake, "terms.minStake");
    }

    function _assertParameters(uint256 version, IRunEscrow.Terms memory expected) internal view {
        (uint256 v, IRunEscrow.Terms memory terms) = escrow.parameters();
        assertEq(v, version, "parameters.version");
        _assertTerms(terms, expected);
        _assertTerms(escrow.termsAt(version), expected);
    }

    /*//////////////////////////////////////////////////////////////
                                BALANCES
    //////////////////////////////////////////////////////////////*/

    function _balances() internal view returns (Balances memory b) {
        b.poster = usdc.balanceOf(poster);
        b.escrow = usdc.balanceOf(address(escrow));
        b.agent = usdc.balanceOf(agentWallet);
        b.treasury = usdc.balanceOf(treasury);
        b.stranger = usdc.balanceOf(stranger);
        b.vault = usdc.balanceOf(address(vault));
        b.accruedFees = escrow.accruedFees();
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        b.stake = agent.stake;
        b.reserved = agent.reserved;
    }

    function _assertBalances(Balances memory expected) internal view {
        Balances memory actual = _balances();
        assertEq(actual.poster, expected.poster, "balance: poster");
        assertEq(actual.escrow, expected.escrow, "balance: escrow");
        assertEq(actual.agent, expected.agent, "balance: agent wallet");
        assertEq(actual.treasury, expected.treasury, "balance: treasury");
        assertEq(actual.stranger, expected.stranger, "balance: stranger");
        assertEq(actual.vault, expected.vault, "balance: vault");
        assertEq(actual.accruedFees, expected.accruedFees, "accruedFees");
        assertEq(actual.stake, expected.stake, "agent stake");
        assertEq(actual.reserved, expected.reserved, "agent reserved");
    }

    /// @dev Number of logs in `logs` emitted by the escrow.
    function _escrowLogs(Vm.Log[] memory logs) internal view returns (uint256 n) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(escrow)) ++n;
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 ERRORS
    //////////////////////////////////////////////////////////////*/

    function _notPoster(uint256 runId, address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowNotPoster.selector, runId, caller);
    }

    function _invalidState(uint256 runId, IRunEscrow.RunState state) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, state);
    }

    function _runNotFound(uint256 runId) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, runId);
    }

    function _invalidDeadline(uint256 deadline) internal view returns (bytes memory) {
        return abi.encodeWithSelector(
            IRunEscrow.RunEscrowInvalidDeadline.selector,
            deadline,
            block.timestamp + 1,
            block.timestamp + 365 days
        );
    }

    function _invalidPeriod(uint256 value, uint256 min, uint256 max) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidPeriod.selector, value, min, max);
    }

    function _reviewOver(uint256 runId, uint256 end) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowReviewPeriodOver.selector, runId, end);
    }

    function _termsChanged(uint256 expected, uint256 current) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowTermsChanged.selector, expected, current);
    }

    function _notOwner(address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, caller);
    }

    function _insufficientAllowance(uint256 allowance, uint256 needed) internal view returns (bytes memory) {
        return abi.encodeWithSelector(
            IERC20Errors.ERC20InsufficientAllowance.selector, address(escrow), allowance, needed
        );
    }

    /// @dev A URI of `length` bytes.
    function _uri(uint256 length) internal pure returns (string memory) {
        bytes memory b = new bytes(length);
        for (uint256 i; i < length; ++i) {
            b[i] = "a";
        }
        return string(b);
    }
}

/// @notice Unit tests of RunEscrow's poster, owner and view functions (protocol v2). The agent,
/// arbitrator and permissionless functions are tested in RunEscrowAgent.t.sol.
contract RunEscrowTest is RunEscrowHelpers {
    using SigUtils for IUSDC;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_Constructor_SetsViews() public view {
        assertEq(escrow.usdc(), address(usdc), "usdc");
        assertEq(escrow.stakeVault(), address(vault), "stakeVault");
        assertEq(escrow.treasury(), treasury, "treasury");
        assertEq(escrow.owner(), owner, "owner");
        assertEq(escrow.pendingOwner(), address(0), "pendingOwner");
        assertFalse(escrow.paused(), "paused");
        assertEq(escrow.accruedFees(), 0, "accruedFees");
        assertEq(escrow.runCount(), 0, "runCount");
        _assertParameters(1, _defaultTerms());
    }

    function test_Constructor_EmitsTermsVersionOneAndTreasury() public {
        vm.expectEmit(true, true, true, true);
        emit IRunEscrow.ParametersUpdated(1, _defaultTerms());
        vm.expectEmit(true, true, true, true);
        emit IRunEscrow.TreasuryUpdated(address(0), treasury);
        new RunEscrow(token, vault, owner, treasury, defaultEscrowParameters());
    }

    function test_Constructor_ReadsTheVaultMinStakeIntoTermsVersionOne() public {
        IStakeVault.Parameters memory vp = defaultVaultParameters();
        vp.minStake = 77e6;
        StakeVault otherVault = new StakeVault(token, owner, vp);
        RunEscrow fresh = new RunEscrow(token, otherVault, owner, treasury, defaultEscrowParameters());
        (uint256 version, IRunEscrow.Terms memory terms) = fresh.parameters();
        assertEq(version, 1, "version");
        _assertTerms(terms, _terms(defaultEscrowParameters(), 77e6));
    }

    function test_Constructor_AcceptsBoundaryParameters() public {
        IRunEscrow.Parameters memory p =
            IRunEscrow.Parameters(1000, 90 days, 90 days, 30 days, 90 days, arbitrator);
        RunEscrow atMax = new RunEscrow(token, vault, owner, treasury, p);
        _assertTerms(atMax.termsAt(1), _terms(p, MIN_STAKE));

        p = IRunEscrow.Parameters(0, 1 hours, 1 hours, 1 days, 1 days, arbitrator);
        RunEscrow atMin = new RunEscrow(token, vault, owner, treasury, p);
        _assertTerms(atMin.termsAt(1), _terms(p, MIN_STAKE));
    }

    function test_RevertWhen_ConstructorZeroAddress() public {
        vm.expectRevert(IRunEscrow.RunEscrowZeroAddress.selector);
        new RunEscrow(IUSDC(address(0)), vault, owner, treasury, defaultEscrowParameters());
        vm.expectRevert(IRunEscrow.RunEscrowZeroAddress.selector);
        new RunEscrow(token, IStakeVault(address(0)), owner, treasury, defaultEscrowParameters());
        vm.expectRevert(IRunEscrow.RunEscrowZeroAddress.selector);
        new RunEscrow(token, vault, owner, address(0), defaultEscrowParameters());
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new RunEscrow(token, vault, address(0), treasury, defaultEscrowParameters());
    }

    function test_RevertWhen_ConstructorTreasuryInvalid() public {
        IRunEscrow.Parameters memory p = defaultEscrowParameters();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidTreasury.selector, address(vault)));
        new RunEscrow(token, vault, owner, address(vault), p);
        // The treasury may not be the arbitrator: it would be paid the fee share of its own rulings.
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidTreasury.selector, arbitrator));
        new RunEscrow(token, vault, owner, arbitrator, p);
        address self = _nextCreateAddress();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidTreasury.selector, self));
        new RunEscrow(token, vault, owner, self, p);
    }

    function test_RevertWhen_ConstructorArbitratorInvalid() public {
        IRunEscrow.Parameters memory p = defaultEscrowParameters();
        for (uint256 i; i < 3; ++i) {
            // Zero, the vault, and the escrow being deployed (the treasury is covered above).
            p.arbitrator = i == 0 ? address(0) : i == 1 ? address(vault) : _nextCreateAddress();
            vm.expectRevert(
                abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidArbitrator.selector, p.arbitrator)
            );
            new RunEscrow(token, vault, owner, treasury, p);
        }
    }

    function test_RevertWhen_ConstructorParameterOutOfBounds() public {
        // All but the last case: an arbitrator equal to the treasury fails the treasury check first.
        for (uint256 i; i < BAD_PARAMETER_CASES - 1; ++i) {
            (IRunEscrow.Parameters memory p, bytes memory err) = _badParameters(i);
            vm.expectRevert(err);
            new RunEscrow(token, vault, owner, treasury, p);
        }
    }

    /// @dev The CREATE address helper agrees with the EVM (the tests above rely on it).
    function test_NextCreateAddress_MatchesDeployment() public {
        address predicted = _nextCreateAddress();
        RunEscrow fresh = new RunEscrow(token, vault, owner, treasury, defaultEscrowParameters());
        assertEq(address(fresh), predicted, "predicted address");
    }

    /*//////////////////////////////////////////////////////////////
                                CREATE RUN
    //////////////////////////////////////////////////////////////*/

    function test_CreateRun_CreatesDraftWithEveryTerm() public {
        CreateArgs memory a = _args();
        IRunEscrow.Run memory expected = _expectedRun(a, IRunEscrow.RunState.DRAFT);
        assertEq(expected.fee, FEE, "fee of the default terms");
        assertEq(expected.requiredStake, MIN_STAKE, "default requiredStake");
        Balances memory before = _balances();

        _expectRunCreated(1, SPEC, expected);
        vm.recordLogs();
        uint256 runId = _create(VIA_CREATE_RUN, a);

        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "only RunCreated, no transfer");
        assertEq(runId, 1, "first id");
        assertEq(escrow.runCount(), 1, "runCount");
        _assertRun(runId, expected);
        _assertBalances(before);
    }

    function test_CreateRun_IdsCountUpFromOne() public {
        assertEq(_draftRun(), 1, "first");
        vm.prank(stranger);
        assertEq(escrow.createRun(SPEC, REWARD, defaultDeadline(), 0, 0, 0), 2, "second, other poster");
        assertEq(_openRun(), 3, "third, funded");
        assertEq(escrow.runCount(), 3, "runCount");
        assertEq(escrow.getRun(2).poster, stranger, "poster of run 2");
    }

    /// @dev Every creation variant accepts the edges of every bound, and snapshots them in getRun.
    function test_CreateRun_AcceptsEveryBoundary() public {
        _mint(poster, 2 * (MAX_AMOUNT + MAX_AMOUNT / 20));
        CreateArgs[6] memory cases;
        cases[0] = CreateArgs(_uri(2048), REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0);
        cases[1] = CreateArgs(SPEC, 1, block.timestamp + 1, 0, 0, 1);
        cases[2] = CreateArgs(SPEC, REWARD, block.timestamp + 365 days, 10, MIN_STAKE, 1);
        cases[3] = CreateArgs(SPEC, MAX_AMOUNT, defaultDeadline(), MAX_REVISIONS, MAX_AMOUNT, 0);
        cases[4] = CreateArgs("x", REWARD, defaultDeadline(), MAX_REVISIONS, MIN_STAKE + 1, 0);
        cases[5] = CreateArgs(SPEC, 19, defaultDeadline(), MAX_REVISIONS, 0, 0);
        for (uint256 via; via < 4; ++via) {
            for (uint256 i; i < cases.length; ++i) {
                if (cases[i].reward == MAX_AMOUNT && via > VIA_CREATE_AND_FUND) continue; // one of each is enough
                IRunEscrow.RunState state =
                    via == VIA_CREATE_RUN ? IRunEscrow.RunState.DRAFT : IRunEscrow.RunState.OPEN;
                IRunEscrow.Run memory expected = _expectedRun(cases[i], state);
                uint256 runId = escrow.runCount() + 1;
                Sigs memory s = _signCreate(via, cases[i]);
                _expectRunCreated(runId, cases[i].specURI, expected);
                assertEq(_callCreate(via, poster, cases[i], s), runId, "runId");
                _assertRun(runId, expected);
            }
        }
    }

    function test_CreateRun_FeeRoundsDownToZeroBelowTwentyBaseUnits() public {
        uint256[4] memory rewards = [uint256(19), 20, 199, 3_333_333];
        uint256[4] memory fees = [uint256(0), 1, 9, 166_666];
        for (uint256 i; i < rewards.length; ++i) {
            CreateArgs memory a = _args();
            a.reward = rewards[i];
            IRunEscrow.Run memory expected = _expectedRun(a, IRunEscrow.RunState.OPEN);
            assertEq(expected.fee, fees[i], "expected fee");
            uint256 posterBefore = usdc.balanceOf(poster);
            _expectRunCreated(i + 1, SPEC, expected);
            vm.expectEmit(true, true, true, true, address(escrow));
            emit IRunEscrow.RunFunded(i + 1, poster, rewards[i] + fees[i]);
            _create(VIA_CREATE_AND_FUND, a);
            assertEq(posterBefore - usdc.balanceOf(poster), rewards[i] + fees[i], "pulled reward + fee");
            assertEq(escrow.getRun(i + 1).fee, fees[i], "getRun fee");
        }
    }

    function test_CreateRun_CustomRequiredStakeIsTheBond() public {
        CreateArgs memory a = _args();
        a.requiredStake = 3 * MIN_STAKE;
        IRunEscrow.Run memory expected = _expectedRun(a, IRunEscrow.RunState.OPEN);
        _expectRunCreated(1, SPEC, expected);
        uint256 runId = _create(VIA_CREATE_AND_FUND, a);
        assertEq(escrow.getRun(runId).requiredStake, 3 * MIN_STAKE, "requiredStake");
        assertEq(escrow.getRun(runId).terms.minStake, MIN_STAKE, "terms.minStake");
    }

    function test_RevertWhen_CreateSpecURIEmpty() public {
        CreateArgs memory a = _args();
        a.specURI = "";
        _expectCreateReverts(a, abi.encodeWithSelector(IRunEscrow.RunEscrowEmptyURI.selector));
    }

    function test_RevertWhen_CreateSpecURITooLong() public {
        CreateArgs memory a = _args();
        a.specURI = _uri(2049);
        _expectCreateReverts(a, abi.encodeWithSelector(IRunEscrow.RunEscrowURITooLong.selector, 2049, 2048));
    }

    function test_RevertWhen_CreateRewardZero() public {
        CreateArgs memory a = _args();
        a.reward = 0;
        _expectCreateReverts(a, abi.encodeWithSelector(IRunEscrow.RunEscrowZeroReward.selector));
    }

    function test_RevertWhen_CreateRewardAboveUint64() public {
        CreateArgs memory a = _args();
        a.reward = MAX_AMOUNT + 1;
        _expectCreateReverts(
            a, abi.encodeWithSelector(IRunEscrow.RunEscrowAmountTooLarge.selector, MAX_AMOUNT + 1, MAX_AMOUNT)
        );
    }

    function test_RevertWhen_CreateDeadlineNotWithinAYear() public {
        uint256[4] memory deadlines =
            [block.timestamp, block.timestamp - 1, block.timestamp + 365 days + 1, type(uint256).max];
        for (uint256 i; i < deadlines.length; ++i) {
            CreateArgs memory a = _args();
            a.deadline = deadlines[i];
            _expectCreateReverts(a, _invalidDeadline(deadlines[i]));
        }
    }

    function test_RevertWhen_CreateMaxRevisionsAboveCap() public {
        CreateArgs memory a = _args();
        a.maxRevisions = 11;
        _expectCreateReverts(a, abi.encodeWithSelector(IRunEscrow.RunEscrowTooManyRevisions.selector, 11, 10));
    }

    function test_RevertWhen_CreateRequiredStakeBelowMinimum() public {
        CreateArgs memory a = _args();
        a.requiredStake = MIN_STAKE - 1;
        _expectCreateReverts(
            a,
            abi.encodeWithSelector(IRunEscrow.RunEscrowStakeBelowMinimum.selector, MIN_STAKE - 1, MIN_STAKE)
        );
        a.requiredStake = 1;
        _expectCreateReverts(
            a, abi.encodeWithSelector(IRunEscrow.RunEscrowStakeBelowMinimum.selector, 1, MIN_STAKE)
        );
    }

    function test_RevertWhen_CreateRequiredStakeAboveUint64() public {
        CreateArgs memory a = _args();
        a.requiredStake = MAX_AMOUNT + 1;
        _expectCreateReverts(
            a, abi.encodeWithSelector(IRunEscrow.RunEscrowAmountTooLarge.selector, MAX_AMOUNT + 1, MAX_AMOUNT)
        );
    }

    function test_RevertWhen_CreateTermsVersionUnknown() public {
        CreateArgs memory a = _args();
        a.termsVersion = 2;
        _expectCreateReverts(a, _termsChanged(2, 1));
    }

    function test_RevertWhen_CreateTermsVersionStaleAfterOwnerChange() public {
        _setParameters(_otherParameters(arbitrator));
        CreateArgs memory a = _args();
        a.termsVersion = 1;
        _expectCreateReverts(a, _termsChanged(1, 2));

        // The current version and 0 are accepted, and the run gets the new terms.
        a.termsVersion = 2;
        IRunEscrow.Run memory expected = _expectedRun(a, IRunEscrow.RunState.OPEN);
        assertEq(expected.fee, REWARD / 10, "new fee");
        _expectRunCreated(1, SPEC, expected);
        _create(VIA_CREATE_AND_FUND, a);
        _assertRun(1, expected);
        a.termsVersion = 0;
        _assertRun(_create(VIA_CREATE_RUN, a), _expectedRun(a, IRunEscrow.RunState.DRAFT));
    }

    function test_RevertWhen_CreateTermsVersionStaleAfterVaultMinStakeChange() public {
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.ParametersUpdated(2, _terms(defaultEscrowParameters(), 50e6));
        _setVaultMinStake(50e6);
        _assertParameters(2, _terms(defaultEscrowParameters(), 50e6));

        CreateArgs memory a = _args();
        a.termsVersion = 1;
        _expectCreateReverts(a, _termsChanged(1, 2));

        a.termsVersion = 2;
        IRunEscrow.Run memory expected = _expectedRun(a, IRunEscrow.RunState.OPEN);
        assertEq(expected.requiredStake, 50e6, "default requiredStake follows the new minimum");
        _expectRunCreated(1, SPEC, expected);
        _create(VIA_CREATE_AND_FUND, a);
        _assertRun(1, expected);
    }

    function test_CreateRun_VaultChangeKeepingMinStakeKeepsTheVersion() public {
        IStakeVault.Parameters memory p = defaultVaultParameters();
        p.unstakeCooldown = 30 days;
        vm.recordLogs();
        vm.prank(owner);
        vault.setParameters(p);
        assertEq(_escrowLogs(vm.getRecordedLogs()), 0, "no ParametersUpdated from the escrow");
        _assertParameters(1, _defaultTerms());
        CreateArgs memory a = _args();
        a.termsVersion = 1;
        assertEq(_create(VIA_CREATE_AND_FUND, a), 1, "version 1 still current");
    }

    function test_RevertWhen_CreateWorstCaseLockAboveAYear() public {
        // (1 + 1) * (90 + 80) + 10 + 15 = 365 days: exactly the cap.
        IRunEscrow.Parameters memory p =
            IRunEscrow.Parameters(FEE_BPS, 90 days, 80 days, 10 days, 15 days, arbitrator);
        _setParameters(p);
        CreateArgs memory a = _args();
        a.maxRevisions = 1;
        IRunEscrow.Run memory expected = _expectedRun(a, IRunEscrow.RunState.DRAFT);
        _expectRunCreated(1, SPEC, expected);
        _create(VIA_CREATE_RUN, a);
        _assertRun(1, expected);

        // One second more.
        p.rulingPeriod = 15 days + 1;
        _setParameters(p);
        _expectCreateReverts(
            a, abi.encodeWithSelector(IRunEscrow.RunEscrowLockTooLong.selector, 365 days + 1, 365 days)
        );

        // The longest periods allow no revision at all: 2 * 180 + 30 + 90 = 480 days.
        _setParameters(IRunEscrow.Parameters(FEE_BPS, 90 days, 90 days, 30 days, 90 days, arbitrator));
        _expectCreateReverts(
            a, abi.encodeWithSelector(IRunEscrow.RunEscrowLockTooLong.selector, 480 days, 365 days)
        );
        a.maxRevisions = 0; // 180 + 30 + 90 = 300 days
        assertEq(_create(VIA_CREATE_AND_FUND, a), 2, "no revisions fits");
    }

    function test_CreateRun_DefaultTermsAllowTheMostRevisions() public {
        // 11 * 14 + 3 + 14 = 171 days.
        CreateArgs memory a = _args();
        a.maxRevisions = 10;
        assertEq(_create(VIA_CREATE_AND_FUND, a), 1, "runId");
        assertEq(escrow.getRun(1).maxRevisions, 10, "maxRevisions");
    }

    function test_RevertWhen_CreatePosterIsArbitrator() public {
        _expectCreateReverts(
            arbitrator,
            _args(),
            abi.encodeWithSelector(IRunEscrow.RunEscrowPosterIsArbitrator.selector, arbitrator)
        );
    }

    function test_RevertGiven_CreatePaused() public {
        _pause();
        _expectCreateReverts(_args(), abi.encodeWithSelector(IRunEscrow.RunEscrowPaused.selector));
    }

    /*//////////////////////////////////////////////////////////////
                      CREATE AND FUND (THREE WAYS)
    //////////////////////////////////////////////////////////////*/

    function test_CreateAndFund_CreatesOpenRunAndPullsRewardPlusFee() public {
        CreateArgs memory a = _args();
        IRunEscrow.Run memory expected = _expectedRun(a, IRunEscrow.RunState.OPEN);
        Balances memory b = _balances();
        b.poster -= TOTAL;
        b.escrow += TOTAL;

        _expectRunCreated(1, SPEC, expected);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(1, poster, TOTAL);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(poster, address(escrow), TOTAL);
        vm.recordLogs();
        uint256 runId = _create(VIA_CREATE_AND_FUND, a);

        assertEq(_escrowLogs(vm.getRecordedLogs()), 2, "RunCreated + RunFunded");
        assertEq(runId, 1, "runId");
        _assertRun(runId, expected);
        _assertBalances(b);
    }

    function test_CreateAndFundWithPermit_PullsWithThePermit() public {
        _revokeAllowance();
        CreateArgs memory a = _args();
        IRunEscrow.Run memory expected = _expectedRun(a, IRunEscrow.RunState.OPEN);
        Sigs memory s = _signCreate(VIA_PERMIT, a);
        Balances memory b = _balances();
        b.poster -= TOTAL;
        b.escrow += TOTAL;

        _expectRunCreated(1, SPEC, expected);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(1, poster, TOTAL);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Approval(poster, address(escrow), TOTAL);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(poster, address(escrow), TOTAL);
        uint256 runId = _callCreate(VIA_PERMIT, poster, a, s);

        _assertRun(runId, expected);
        _assertBalances(b);
        assertEq(usdc.nonces(poster), 1, "permit nonce used");
        assertEq(usdc.allowance(poster, address(escrow)), 0, "allowance spent");
    }

    function test_CreateAndFundWithPermit_ToleratesAFrontRunPermit() public {
        _revokeAllowance();
        CreateArgs memory a = _args();
        Sigs memory s = _signCreate(VIA_PERMIT, a);
        // Someone copies the permit from the mempool and submits it first: the allowance is there.
        vm.prank(stranger);
        usdc.permit(poster, address(escrow), TOTAL, s.permit.deadline, s.permit.v, s.permit.r, s.permit.s);
        Balances memory b = _balances();
        b.poster -= TOTAL;
        b.escrow += TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(1, poster, TOTAL);
        uint256 runId = _callCreate(VIA_PERMIT, poster, a, s);

        _assertRun(runId, _expectedRun(a, IRunEscrow.RunState.OPEN));
        _assertBalances(b);
    }

    function test_RevertWhen_CreateAndFundWithPermitInvalidAndNoAllowance() public {
        _revokeAllowance();
        CreateArgs memory a = _args();
        Sigs memory s;
        s.permit = token.runEscrowPermit(agentKey, address(escrow), TOTAL, block.timestamp + 1 hours);
        vm.expectRevert(_insufficientAllowance(0, TOTAL));
        _callCreate(VIA_PERMIT, poster, a, s);
        // Signed for the reward only: it does not verify for reward + fee.
        s.permit = _permit(REWARD);
        vm.expectRevert(_insufficientAllowance(0, TOTAL));
        _callCreate(VIA_PERMIT, poster, a, s);
        assertEq(escrow.runCount(), 0, "no run left behind");
    }

    function test_RevertWhen_CreateAndFundAllowanceInsufficient() public {
        _revokeAllowance();
        vm.expectRevert(_insufficientAllowance(0, TOTAL));
        _create(VIA_CREATE_AND_FUND, _args());
        assertEq(escrow.runCount(), 0, "no run left behind");
    }

    function test_CreateAndFundWithAuthorization_ReceivesWithAuthorization() public {
        _revokeAllowance();
        CreateArgs memory a = _args();
        IRunEscrow.Run memory expected = _expectedRun(a, IRunEscrow.RunState.OPEN);
        Sigs memory s = _signCreate(VIA_AUTHORIZATION, a);
        Balances memory b = _balances();
        b.poster -= TOTAL;
        b.escrow += TOTAL;

        _expectRunCreated(1, SPEC, expected);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(1, poster, TOTAL);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC3009.AuthorizationUsed(poster, s.auth.nonce);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(poster, address(escrow), TOTAL);
        uint256 runId = _callCreate(VIA_AUTHORIZATION, poster, a, s);

        _assertRun(runId, expected);
        _assertBalances(b);
        assertTrue(usdc.authorizationState(poster, s.auth.nonce), "nonce used");
    }

    function test_RevertWhen_CreateAndFundWithAuthorizationNotForThisCall() public {
        CreateArgs memory a = _args();
        Sigs memory s;
        // For another amount.
        s.auth = _authorization(REWARD);
        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        _callCreate(VIA_AUTHORIZATION, poster, a, s);
        // The poster's authorization submitted by someone else: the escrow pulls from the caller.
        s.auth = _authorization(TOTAL);
        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        _callCreate(VIA_AUTHORIZATION, stranger, a, s);
        // Replayed.
        _callCreate(VIA_AUTHORIZATION, poster, a, s);
        vm.expectRevert(
            abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationUsed.selector, poster, s.auth.nonce)
        );
        _callCreate(VIA_AUTHORIZATION, poster, a, s);
        assertEq(escrow.runCount(), 1, "only the first created");
        assertEq(usdc.balanceOf(stranger), FUNDING, "stranger untouched");
    }

    /*//////////////////////////////////////////////////////////////
                           FUND (THREE WAYS)
    //////////////////////////////////////////////////////////////*/

    function test_Fund_EachVariantPullsRewardPlusFee() public {
        for (uint256 action = FUND; action <= FUND_WITH_AUTHORIZATION; ++action) {
            uint256 runId = _draftRun();
            if (action != FUND) _revokeAllowance();
            Sigs memory s = _sign(action, TOTAL);
            IRunEscrow.Run memory expected = _expectedRun(_args(), IRunEscrow.RunState.OPEN);
            Balances memory b = _balances();
            b.poster -= TOTAL;
            b.escrow += TOTAL;

            vm.expectEmit(true, true, true, true, address(escrow));
            emit IRunEscrow.RunFunded(runId, poster, TOTAL);
            vm.expectEmit(true, true, true, true, address(usdc));
            emit IERC20.Transfer(poster, address(escrow), TOTAL);
            vm.recordLogs();
            _act(action, poster, runId, s);

            assertEq(_escrowLogs(vm.getRecordedLogs()), 1, "one event");
            _assertRun(runId, expected);
            _assertBalances(b);
            vm.prank(poster);
            usdc.approve(address(escrow), type(uint256).max);
        }
    }

    function test_FundWithPermit_ToleratesAFrontRunPermit() public {
        uint256 runId = _draftRun();
        _revokeAllowance();
        IRunEscrow.Permit memory permit = _permit(TOTAL);
        vm.prank(stranger);
        usdc.permit(poster, address(escrow), TOTAL, permit.deadline, permit.v, permit.r, permit.s);
        Balances memory b = _balances();
        b.poster -= TOTAL;
        b.escrow += TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(runId, poster, TOTAL);
        vm.prank(poster);
        escrow.fundWithPermit(runId, permit);

        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(b);
    }

    function test_RevertWhen_FundWithPermitInvalidAndNoAllowance() public {
        uint256 runId = _draftRun();
        _revokeAllowance();
        IRunEscrow.Permit memory permit = _permit(REWARD);
        vm.expectRevert(_insufficientAllowance(0, TOTAL));
        vm.prank(poster);
        escrow.fundWithPermit(runId, permit);
        assertState(runId, IRunEscrow.RunState.DRAFT);
    }

    function test_RevertWhen_FundWithAuthorizationNotForThisCall() public {
        uint256 runId = _draftRun();
        IRunEscrow.Authorization memory auth = _authorization(REWARD);
        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        vm.prank(poster);
        escrow.fundWithAuthorization(runId, auth);

        // Signed by the agent, submitted by the poster for its run.
        auth = _authorization(agentKey, TOTAL, keccak256("agent"));
        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        vm.prank(poster);
        escrow.fundWithAuthorization(runId, auth);

        auth = _authorization(TOTAL);
        vm.prank(poster);
        escrow.fundWithAuthorization(runId, auth);
        uint256 second = _draftRun();
        vm.expectRevert(
            abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationUsed.selector, poster, auth.nonce)
        );
        vm.prank(poster);
        escrow.fundWithAuthorization(second, auth);
        assertState(second, IRunEscrow.RunState.DRAFT);
    }

    function test_Fund_AcceptsTheDeadlineSecond() public {
        for (uint256 action = FUND; action <= FUND_WITH_AUTHORIZATION; ++action) {
            uint256 snap = vm.snapshotState();
            uint256 runId = _draftRun();
            vm.warp(defaultDeadline());
            _act(action, poster, runId, _sign(action, TOTAL));
            assertState(runId, IRunEscrow.RunState.OPEN);
            vm.revertToState(snap);
        }
    }

    function test_RevertGiven_FundDeadlinePassed() public {
        uint256 runId = _draftRun();
        uint256 deadline = defaultDeadline();
        vm.warp(deadline + 1);
        for (uint256 action = FUND; action <= FUND_WITH_AUTHORIZATION; ++action) {
            Sigs memory s = _sign(action, TOTAL);
            vm.expectRevert(
                abi.encodeWithSelector(IRunEscrow.RunEscrowDeadlinePassed.selector, runId, deadline)
            );
            _act(action, poster, runId, s);
        }
        assertState(runId, IRunEscrow.RunState.DRAFT);
        assertEq(usdc.balanceOf(address(escrow)), 0, "nothing escrowed");
    }

    function test_RevertGiven_FundPaused() public {
        uint256 runId = _draftRun();
        _pause();
        for (uint256 action = FUND; action <= FUND_WITH_AUTHORIZATION; ++action) {
            Sigs memory s = _sign(action, TOTAL);
            vm.expectRevert(IRunEscrow.RunEscrowPaused.selector);
            _act(action, poster, runId, s);
        }
        assertState(runId, IRunEscrow.RunState.DRAFT);
    }

    /*//////////////////////////////////////////////////////////////
                                  CANCEL
    //////////////////////////////////////////////////////////////*/

    function test_Cancel_DraftRefundsNothing() public {
        uint256 runId = _draftRun();
        IRunEscrow.Run memory expected = _expectedRun(_args(), IRunEscrow.RunState.CANCELLED);
        expected.settled = true;
        Balances memory b = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, 0);
        vm.recordLogs();
        vm.prank(poster);
        escrow.cancel(runId);

        assertEq(vm.getRecordedLogs().length, 1, "only RunCancelled, no transfer");
        _assertRun(runId, expected);
        _assertBalances(b);
    }

    function test_Cancel_OpenRefundsRewardPlusFee() public {
        uint256 runId = _openRun();
        IRunEscrow.Run memory expected = _expectedRun(_args(), IRunEscrow.RunState.CANCELLED);
        expected.settled = true;
        Balances memory b = _balances();
        b.poster += TOTAL;
        b.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, TOTAL);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(address(escrow), poster, TOTAL);
        vm.prank(poster);
        escrow.cancel(runId);

        _assertRun(runId, expected);
        _assertBalances(b);
    }

    function test_Cancel_OpenRunPastDeadlineAndWhilePaused() public {
        uint256 runId = _openRun();
        vm.warp(defaultDeadline() + 1);
        _pause();
        Balances memory b = _balances();
        b.poster += TOTAL;
        b.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, TOTAL);
        vm.prank(poster);
        escrow.cancel(runId);

        assertState(runId, IRunEscrow.RunState.CANCELLED);
        _assertBalances(b);
    }

    /*//////////////////////////////////////////////////////////////
                                 APPROVE
    //////////////////////////////////////////////////////////////*/

    function test_Approve_FromSubmittedPaysAgentAndAccruesFee() public {
        uint256 runId = _submittedRun(agentId);
        IRunEscrow.Run memory expected = escrow.getRun(runId);
        expected.state = IRunEscrow.RunState.APPROVED;
        expected.settled = true;
        Balances memory b = _balances();
        assertEq(b.reserved, MIN_STAKE, "reserved before");
        b.agent += REWARD;
        b.escrow -= REWARD;
        b.accruedFees += FEE;
        b.reserved -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, 0, false);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(address(escrow), agentWallet, REWARD);
        vm.recordLogs();
        vm.prank(poster);
        escrow.approve(runId);

        assertEq(_escrowLogs(vm.getRecordedLogs()), 1, "one event");
        _assertRun(runId, expected);
        _assertBalances(b);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.claims, 1, "claims");
        assertEq(agent.completions, 1, "completions");
        assertEq(agent.volume, REWARD, "volume");
        assertEq(agent.rejections, 0, "rejections");

        // The fee reaches the treasury through withdrawFees.
        b.treasury += FEE;
        b.escrow -= FEE;
        b.accruedFees = 0;
        vm.prank(stranger);
        assertEq(escrow.withdrawFees(), FEE, "withdrawn");
        _assertBalances(b);
    }

    function test_Approve_FromRejectedReturnsTheBond() public {
        uint256 runId = _rejectedRun(agentId);
        uint256 before = block.timestamp;
        Balances memory b = _balances();
        b.agent += REWARD;
        b.poster += BOND;
        b.escrow -= REWARD + BOND;
        b.accruedFees += FEE;
        b.reserved -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, BOND, false);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(address(escrow), agentWallet, REWARD);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(address(escrow), poster, BOND);
        vm.prank(poster);
        escrow.approve(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.APPROVED), "state");
        assertTrue(run.settled, "settled");
        assertEq(run.timerStart, before, "timerStart kept");
        _assertBalances(b);
        assertEq(vault.getAgent(agentId).completions, 1, "completions");
        assertEq(vault.getAgent(agentId).rejections, 0, "no rejection recorded");
    }

    /// @dev Approving a DISPUTED run concedes the dispute: the bond goes to the agent, else a
    /// poster could front-run a winning ruling with `approve` and keep it.
    function test_Approve_FromDisputedPaysTheBondToTheAgent() public {
        uint256 runId = _disputedRun(agentId);
        Balances memory b = _balances();
        b.agent += REWARD + BOND;
        b.escrow -= REWARD + BOND;
        b.accruedFees += FEE;
        b.reserved -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, BOND, false);
        vm.prank(poster);
        escrow.approve(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertTrue(escrow.getRun(runId).settled, "settled");
        _assertBalances(b);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.completions, 1, "completions");
        assertEq(agent.disputesWon, 1, "a conceded dispute is won");
    }

    /// @dev The poster may approve at any time: long past the review period, the dispute window,
    /// the ruling period and the run's deadline, and while paused.
    function test_Approve_AnyTimeLaterAndWhilePaused() public {
        uint256[3] memory cases = [
            uint256(IRunEscrow.RunState.SUBMITTED),
            uint256(IRunEscrow.RunState.REJECTED),
            uint256(IRunEscrow.RunState.DISPUTED)
        ];
        for (uint256 i; i < cases.length; ++i) {
            uint256 snap = vm.snapshotState();
            uint256 runId = _runInState(cases[i]);
            uint256 bond = i == 0 ? 0 : BOND;
            // A rejection's bond goes back to the poster; a conceded dispute's to the agent.
            bool conceded = i == 2;
            skip(200 days);
            _pause();
            Balances memory b = _balances();
            b.agent += REWARD + (conceded ? bond : 0);
            b.poster += conceded ? 0 : bond;
            b.escrow -= REWARD + bond;
            b.accruedFees += FEE;
            b.reserved -= MIN_STAKE;

            vm.expectEmit(true, true, true, true, address(escrow));
            emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, bond, false);
            vm.prank(poster);
            escrow.approve(runId);

            assertState(runId, IRunEscrow.RunState.APPROVED);
            _assertBalances(b);
            vm.revertToState(snap);
        }
    }

    function test_Approve_CountsACompletionOnlyFromOneUSDC() public {
        _topUpAgent(MIN_STAKE);
        uint256 small = _submittedRun(1e6 - 1, 0);
        uint256 enough = _submittedRun(1e6, 0);

        vm.prank(poster);
        escrow.approve(small);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.completions, 0, "below 1 USDC: no completion");
        assertEq(agent.volume, 1e6 - 1, "volume still counts");

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(enough, agentId, agentWallet, 1e6, uint256(1e6) * FEE_BPS / BPS, 0, false);
        vm.prank(poster);
        escrow.approve(enough);
        agent = vault.getAgent(agentId);
        assertEq(agent.completions, 1, "1 USDC: a completion");
        assertEq(agent.volume, 2e6 - 1, "volume");
        assertEq(agent.reserved, 0, "both reservations released");
        assertEq(
            escrow.accruedFees(), uint256(1e6 - 1) * FEE_BPS / BPS + uint256(1e6) * FEE_BPS / BPS, "fees"
        );
    }

    /*//////////////////////////////////////////////////////////////
                             REQUEST REVISION
    //////////////////////////////////////////////////////////////*/

    function test_RequestRevision_SendsTheRunBackAndRestartsTheClaimTimeout() public {
        uint256 runId = _submittedRun(agentId);
        skip(6 days);
        IRunEscrow.Run memory expected = escrow.getRun(runId);
        expected.state = IRunEscrow.RunState.REVISION_REQUESTED;
        expected.revisionCount = 1;
        expected.timerStart = uint64(block.timestamp);
        Balances memory b = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RevisionRequested(runId, agentId, REASON, 1);
        vm.recordLogs();
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);

        assertEq(vm.getRecordedLogs().length, 1, "only RevisionRequested");
        _assertRun(runId, expected);
        _assertBalances(b);

        // The claim timeout runs from the request, not from the claim 6 days earlier.
        uint256 timeoutEnd = block.timestamp + CLAIM_TIMEOUT;
        vm.warp(timeoutEnd);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, timeoutEnd)
        );
        vm.prank(poster);
        escrow.slash(runId);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        assertState(runId, IRunEscrow.RunState.SUBMITTED);
    }

    function test_RequestRevision_CountsUpToMax() public {
        uint256 runId = _submittedRun(agentId);
        for (uint8 i = 1; i <= MAX_REVISIONS; ++i) {
            vm.expectEmit(true, true, true, true, address(escrow));
            emit IRunEscrow.RevisionRequested(runId, agentId, REASON, i);
            vm.prank(poster);
            escrow.requestRevision(runId, REASON);
            assertEq(escrow.getRun(runId).revisionCount, i, "revisionCount");
            vm.prank(agentWallet);
            escrow.submit(runId, DELIVERABLE);
        }
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowRevisionsExhausted.selector, runId, MAX_REVISIONS)
        );
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
    }

    function test_RevertGiven_RequestRevisionNoneAllowed() public {
        uint256 runId = _submittedRun(REWARD, 0);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRevisionsExhausted.selector, runId, 0));
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
    }

    function test_RequestRevision_ReasonMayBeEmptyOrUpTo2048Bytes() public {
        uint256 runId = _submittedRun(agentId);
        string[2] memory reasons;
        reasons[1] = _uri(2048);
        for (uint256 i; i < reasons.length; ++i) {
            vm.expectEmit(true, true, true, true, address(escrow));
            emit IRunEscrow.RevisionRequested(runId, agentId, reasons[i], uint8(i + 1));
            vm.prank(poster);
            escrow.requestRevision(runId, reasons[i]);
            vm.prank(agentWallet);
            escrow.submit(runId, DELIVERABLE);
        }
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowURITooLong.selector, 2049, 2048));
        vm.prank(poster);
        escrow.requestRevision(runId, _uri(2049));
    }

    function test_RequestRevision_WithinTheReviewPeriodOnly() public {
        uint256 runId = _submittedRun(agentId);
        uint256 reviewEnd = block.timestamp + REVIEW_PERIOD;
        uint256 snap = vm.snapshotState();
        vm.warp(reviewEnd);
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
        assertState(runId, IRunEscrow.RunState.REVISION_REQUESTED);
        vm.revertToState(snap);

        vm.warp(reviewEnd + 1);
        vm.expectRevert(_reviewOver(runId, reviewEnd));
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
    }

    /*//////////////////////////////////////////////////////////////
                                  REJECT
    //////////////////////////////////////////////////////////////*/

    function test_Reject_PullsTheBondAndPaysNothing() public {
        for (uint256 action = REJECT; action <= REJECT_WITH_PERMIT; ++action) {
            uint256 snap = vm.snapshotState();
            uint256 runId = _exhaustedRun(agentId);
            skip(1 days);
            if (action == REJECT_WITH_PERMIT) _revokeAllowance();
            Sigs memory s = _sign(action, BOND);
            IRunEscrow.Run memory expected = escrow.getRun(runId);
            expected.state = IRunEscrow.RunState.REJECTED;
            expected.timerStart = uint64(block.timestamp);
            Balances memory b = _balances();
            b.poster -= BOND;
            b.escrow += BOND;

            vm.expectEmit(true, true, true, true, address(escrow));
            emit IRunEscrow.Rejected(runId, agentId, poster, REASON, BOND);
            vm.expectEmit(true, true, true, true, address(usdc));
            emit IERC20.Transfer(poster, address(escrow), BOND);
            vm.recordLogs();
            _act(action, poster, runId, s);

            assertEq(_escrowLogs(vm.getRecordedLogs()), 1, "one event");
            _assertRun(runId, expected);
            assertFalse(escrow.getRun(runId).settled, "not settled");
            _assertBalances(b); // includes: the reservation is still held
            IStakeVault.Agent memory agent = vault.getAgent(agentId);
            assertEq(agent.rejections, 0, "no rejection until final");
            assertEq(agent.completions, 0, "completions");
            vm.revertToState(snap);
        }
    }

    function test_Reject_BondIsTheRunsRequiredStake() public {
        _topUpAgent(2 * MIN_STAKE);
        CreateArgs memory a = _args();
        a.maxRevisions = 0;
        a.requiredStake = 3 * MIN_STAKE;
        uint256 runId = _create(VIA_CREATE_AND_FUND, a);
        vm.prank(agentWallet);
        escrow.claim(runId, agentId);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        Balances memory b = _balances();
        b.poster -= 3 * MIN_STAKE;
        b.escrow += 3 * MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(runId, agentId, poster, REASON, 3 * MIN_STAKE);
        vm.prank(poster);
        escrow.reject(runId, REASON);

        _assertBalances(b);
        assertEq(b.reserved, 3 * MIN_STAKE, "reservation held");
    }

    function test_Reject_RightAfterSubmissionWhenNoRevisionsAllowed() public {
        uint256 runId = _submittedRun(REWARD, 0);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(runId, agentId, poster, REASON, BOND);
        vm.prank(poster);
        escrow.reject(runId, REASON);
        assertState(runId, IRunEscrow.RunState.REJECTED);
        assertEq(escrow.getRun(runId).revisionCount, 0, "revisionCount");
    }

    function test_RevertGiven_RejectRevisionsRemaining() public {
        uint256 runId = _submittedRun(agentId);
        for (uint8 used; used < MAX_REVISIONS; ++used) {
            for (uint256 action = REJECT; action <= REJECT_WITH_PERMIT; ++action) {
                Sigs memory s = _sign(action, BOND);
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IRunEscrow.RunEscrowRevisionsRemaining.selector, runId, used, MAX_REVISIONS
                    )
                );
                _act(action, poster, runId, s);
            }
            vm.prank(poster);
            escrow.requestRevision(runId, REASON);
            vm.prank(agentWallet);
            escrow.submit(runId, DELIVERABLE);
        }
    }

    function test_RevertWhen_RejectReasonEmptyOrTooLong() public {
        uint256 runId = _exhaustedRun(agentId);
        vm.expectRevert(IRunEscrow.RunEscrowEmptyURI.selector);
        vm.prank(poster);
        escrow.reject(runId, "");
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowURITooLong.selector, 2049, 2048));
        vm.prank(poster);
        escrow.reject(runId, _uri(2049));
        IRunEscrow.Permit memory permit = _permit(BOND);
        vm.expectRevert(IRunEscrow.RunEscrowEmptyURI.selector);
        vm.prank(poster);
        escrow.rejectWithPermit(runId, "", permit);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(runId, agentId, poster, _uri(2048), BOND);
        vm.prank(poster);
        escrow.reject(runId, _uri(2048));
    }

    function test_Reject_WithinTheReviewPeriodOnly() public {
        uint256 runId = _exhaustedRun(agentId);
        uint256 reviewEnd = block.timestamp + REVIEW_PERIOD;
        for (uint256 action = REJECT; action <= REJECT_WITH_PERMIT; ++action) {
            uint256 snap = vm.snapshotState();
            vm.warp(reviewEnd);
            _act(action, poster, runId, _sign(action, BOND));
            assertState(runId, IRunEscrow.RunState.REJECTED);
            vm.revertToState(snap);

            vm.warp(reviewEnd + 1);
            Sigs memory s = _sign(action, BOND);
            uint256 posterBefore = usdc.balanceOf(poster);
            vm.expectRevert(_reviewOver(runId, reviewEnd));
            _act(action, poster, runId, s);
            assertEq(usdc.balanceOf(poster), posterBefore, "no bond pulled");
        }
    }

    function test_RejectWithPermit_ToleratesAFrontRunPermit() public {
        uint256 runId = _exhaustedRun(agentId);
        _revokeAllowance();
        IRunEscrow.Permit memory permit = _permit(BOND);
        vm.prank(stranger);
        usdc.permit(poster, address(escrow), BOND, permit.deadline, permit.v, permit.r, permit.s);
        Balances memory b = _balances();
        b.poster -= BOND;
        b.escrow += BOND;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(runId, agentId, poster, REASON, BOND);
        vm.prank(poster);
        escrow.rejectWithPermit(runId, REASON, permit);
        _assertBalances(b);
    }

    function test_RevertWhen_RejectBondNotApproved() public {
        uint256 runId = _exhaustedRun(agentId);
        _revokeAllowance();
        vm.expectRevert(_insufficientAllowance(0, BOND));
        vm.prank(poster);
        escrow.reject(runId, REASON);

        IRunEscrow.Permit memory permit = _permit(BOND - 1);
        vm.expectRevert(_insufficientAllowance(0, BOND));
        vm.prank(poster);
        escrow.rejectWithPermit(runId, REASON, permit);
        assertState(runId, IRunEscrow.RunState.SUBMITTED);
    }

    /*//////////////////////////////////////////////////////////////
                 POSTER ACTIONS: CALLER, RUN ID, STATE GRID
    //////////////////////////////////////////////////////////////*/

    /// @dev Every poster action, on a run in a state it accepts, reverts for anyone but the poster:
    /// a stranger, the agent, the arbitrator and the owner.
    function test_RevertWhen_CallerNotPoster() public {
        address[4] memory callers = [stranger, agentWallet, arbitrator, owner];
        for (uint256 action; action < ACTION_COUNT; ++action) {
            uint256 snap = vm.snapshotState();
            uint256 runId = _runInState(_acceptingCase(action));
            if (action >= REJECT) _exhaust(runId);
            Balances memory b = _balances();
            for (uint256 i; i < callers.length; ++i) {
                Sigs memory s = _sign(action, TOTAL);
                vm.expectRevert(_notPoster(runId, callers[i]));
                _act(action, callers[i], runId, s);
            }
            _assertBalances(b);
            vm.revertToState(snap);
        }
    }

    function test_RevertWhen_RunNotFound() public {
        _openRun();
        uint256[2] memory ids = [uint256(0), 2];
        for (uint256 action; action < ACTION_COUNT; ++action) {
            for (uint256 i; i < ids.length; ++i) {
                Sigs memory s = _sign(action, TOTAL);
                vm.expectRevert(_runNotFound(ids[i]));
                _act(action, poster, ids[i], s);
            }
        }
    }

    /// @dev Each poster action, fuzzed over the cases it must reject: reverts with the run's state
    /// and moves no money.
    function testFuzz_RevertGiven_FundRunNotDraft(uint8 pick) public {
        _assertRejects(FUND, pick);
    }

    function testFuzz_RevertGiven_FundWithPermitRunNotDraft(uint8 pick) public {
        _assertRejects(FUND_WITH_PERMIT, pick);
    }

    function testFuzz_RevertGiven_FundWithAuthorizationRunNotDraft(uint8 pick) public {
        _assertRejects(FUND_WITH_AUTHORIZATION, pick);
    }

    function testFuzz_RevertGiven_CancelRunNotDraftOrOpen(uint8 pick) public {
        _assertRejects(CANCEL, pick);
    }

    function testFuzz_RevertGiven_ApproveRunNotSubmittedRejectedOrDisputed(uint8 pick) public {
        _assertRejects(APPROVE, pick);
    }

    function testFuzz_RevertGiven_RequestRevisionRunNotSubmitted(uint8 pick) public {
        _assertRejects(REQUEST_REVISION, pick);
    }

    function testFuzz_RevertGiven_RejectRunNotSubmitted(uint8 pick) public {
        _assertRejects(REJECT, pick);
    }

    function testFuzz_RevertGiven_RejectWithPermitRunNotSubmitted(uint8 pick) public {
        _assertRejects(REJECT_WITH_PERMIT, pick);
    }

    /// @dev How many of the {CASE_COUNT} cases each poster action rejects, so the table behind the
    /// fuzzed tests above accepts exactly what the spec allows.
    function test_StateGrid_PosterActionsRejectEveryOtherCase() public pure {
        uint256[ACTION_COUNT] memory counts = [uint256(12), 12, 12, 11, 10, 12, 12, 12];
        for (uint256 action; action < ACTION_COUNT; ++action) {
            assertEq(_rejectedCases(action), counts[action], "cases");
        }
    }

    /*//////////////////////////////////////////////////////////////
                              SET PARAMETERS
    //////////////////////////////////////////////////////////////*/

    function test_SetParameters_PublishesANewTermsVersion() public {
        IRunEscrow.Parameters memory p = _otherParameters(makeAddr("court"));
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.ParametersUpdated(2, _terms(p, MIN_STAKE));
        _setParameters(p);
        _assertParameters(2, _terms(p, MIN_STAKE));
        _assertTerms(escrow.termsAt(1), _defaultTerms());

        p = IRunEscrow.Parameters(0, 90 days, 90 days, 30 days, 90 days, arbitrator);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.ParametersUpdated(3, _terms(p, MIN_STAKE));
        _setParameters(p);
        _assertParameters(3, _terms(p, MIN_STAKE));
    }

    function test_SetParameters_AcceptsAContractArbitrator() public {
        IRunEscrow.Parameters memory p = defaultEscrowParameters();
        p.arbitrator = address(usdc); // any contract but the escrow and the vault
        _setParameters(p);
        (, IRunEscrow.Terms memory terms) = escrow.parameters();
        assertEq(terms.arbitrator, address(usdc), "arbitrator");
    }

    function test_RevertWhen_SetParametersOutOfBounds() public {
        for (uint256 i; i < BAD_PARAMETER_CASES; ++i) {
            (IRunEscrow.Parameters memory p, bytes memory err) = _badParameters(i);
            vm.expectRevert(err);
            vm.prank(owner);
            escrow.setParameters(p);
        }
        IRunEscrow.Parameters memory self = defaultEscrowParameters();
        self.arbitrator = address(escrow);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidArbitrator.selector, address(escrow))
        );
        vm.prank(owner);
        escrow.setParameters(self);
        _assertParameters(1, _defaultTerms());
    }

    function test_RevertWhen_SetParametersCallerNotOwner() public {
        vm.expectRevert(_notOwner(stranger));
        vm.prank(stranger);
        escrow.setParameters(defaultEscrowParameters());
        vm.expectRevert(_notOwner(arbitrator));
        vm.prank(arbitrator);
        escrow.setParameters(defaultEscrowParameters());
    }

    /*//////////////////////////////////////////////////////////////
                               SET TREASURY
    //////////////////////////////////////////////////////////////*/

    function test_SetTreasury_AccruedFeesGoToTheNewTreasury() public {
        address newTreasury = makeAddr("newTreasury");
        uint256 runId = _submittedRun(agentId);
        vm.prank(poster);
        escrow.approve(runId); // FEE accrued under the old treasury

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.TreasuryUpdated(treasury, newTreasury);
        vm.prank(owner);
        escrow.setTreasury(newTreasury);
        assertEq(escrow.treasury(), newTreasury, "treasury");

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.FeesWithdrawn(newTreasury, FEE);
        vm.prank(stranger);
        escrow.withdrawFees();
        assertEq(usdc.balanceOf(newTreasury), FEE, "new treasury paid");
        assertEq(usdc.balanceOf(treasury), 0, "old treasury not paid");
        assertEq(escrow.accruedFees(), 0, "accruedFees");
    }

    function test_RevertWhen_SetTreasuryInvalid() public {
        vm.startPrank(owner);
        vm.expectRevert(IRunEscrow.RunEscrowZeroAddress.selector);
        escrow.setTreasury(address(0));
        address[3] memory invalid = [address(escrow), address(vault), arbitrator];
        for (uint256 i; i < invalid.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidTreasury.selector, invalid[i]));
            escrow.setTreasury(invalid[i]);
        }
        vm.stopPrank();
        assertEq(escrow.treasury(), treasury, "treasury unchanged");
    }

    function test_RevertWhen_SetTreasuryIsTheNewArbitrator() public {
        address court = makeAddr("court");
        _setParameters(_otherParameters(court));
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidTreasury.selector, court));
        vm.prank(owner);
        escrow.setTreasury(court);
    }

    function test_RevertWhen_SetTreasuryCallerNotOwner() public {
        vm.expectRevert(_notOwner(stranger));
        vm.prank(stranger);
        escrow.setTreasury(stranger);
    }

    /*//////////////////////////////////////////////////////////////
                              PAUSE / UNPAUSE
    //////////////////////////////////////////////////////////////*/

    function test_Pause_EmitsAndUnpauseReopens() public {
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Paused(owner);
        vm.prank(owner);
        escrow.pause();
        assertTrue(escrow.paused(), "paused");

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Unpaused(owner);
        vm.prank(owner);
        escrow.unpause();
        assertFalse(escrow.paused(), "unpaused");
        assertEq(_openRun(), 1, "runs can be created again");
    }

    function test_RevertGiven_PauseAlreadyPausedOrUnpauseNotPaused() public {
        vm.expectRevert(IRunEscrow.RunEscrowNotPaused.selector);
        vm.prank(owner);
        escrow.unpause();
        _pause();
        vm.expectRevert(IRunEscrow.RunEscrowPaused.selector);
        vm.prank(owner);
        escrow.pause();
    }

    function test_RevertWhen_PauseOrUnpauseCallerNotOwner() public {
        vm.expectRevert(_notOwner(stranger));
        vm.prank(stranger);
        escrow.pause();
        _pause();
        vm.expectRevert(_notOwner(stranger));
        vm.prank(stranger);
        escrow.unpause();
    }

    /// @dev Pause blocks new business: every creation variant (tested above), every fund variant and
    /// claims, which report CLAIMS_PAUSED.
    function test_RevertGiven_PausedBlocksFundingAndClaims() public {
        uint256 draft = _draftRun();
        uint256 open = _openRun();
        _pause();
        for (uint256 action = FUND; action <= FUND_WITH_AUTHORIZATION; ++action) {
            Sigs memory s = _sign(action, TOTAL);
            vm.expectRevert(IRunEscrow.RunEscrowPaused.selector);
            _act(action, poster, draft, s);
        }
        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowNotClaimable.selector, open, agentId, ClaimReasons.CLAIMS_PAUSED
            )
        );
        vm.prank(agentWallet);
        escrow.claim(open, agentId);
        assertEq(vault.getAgent(agentId).reserved, 0, "nothing reserved");
    }

    /// @dev Every poster and owner function but creation and funding works while paused (table:
    /// one case per function and starting state).
    function test_WhenPaused_EveryOtherPosterAndOwnerFunctionWorks() public {
        for (uint256 c; c < PAUSED_CASES; ++c) {
            uint256 snap = vm.snapshotState();
            _pausedCase(c);
            vm.revertToState(snap);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                OWNERSHIP
    //////////////////////////////////////////////////////////////*/

    function test_RevertWhen_RenounceOwnership() public {
        vm.expectRevert(IRunEscrow.RunEscrowCannotRenounceOwnership.selector);
        vm.prank(owner);
        escrow.renounceOwnership();
        assertEq(escrow.owner(), owner, "owner unchanged");
        vm.expectRevert(_notOwner(stranger));
        vm.prank(stranger);
        escrow.renounceOwnership();
    }

    function test_TransferOwnership_TakesTwoSteps() public {
        address newOwner = makeAddr("newOwner");
        vm.expectEmit(true, true, true, true, address(escrow));
        emit Ownable2Step.OwnershipTransferStarted(owner, newOwner);
        vm.prank(owner);
        escrow.transferOwnership(newOwner);
        assertEq(escrow.owner(), owner, "owner unchanged until accepted");
        assertEq(escrow.pendingOwner(), newOwner, "pendingOwner");

        vm.expectRevert(_notOwner(stranger));
        vm.prank(stranger);
        escrow.acceptOwnership();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit Ownable.OwnershipTransferred(owner, newOwner);
        vm.prank(newOwner);
        escrow.acceptOwnership();
        assertEq(escrow.owner(), newOwner, "owner");
        assertEq(escrow.pendingOwner(), address(0), "pendingOwner cleared");

        vm.expectRevert(_notOwner(owner));
        vm.prank(owner);
        escrow.pause();
        vm.prank(newOwner);
        escrow.pause();
        assertTrue(escrow.paused(), "new owner rules");
    }

    function test_RevertWhen_TransferOwnershipCallerNotOwner() public {
        vm.expectRevert(_notOwner(stranger));
        vm.prank(stranger);
        escrow.transferOwnership(stranger);
    }

    /*//////////////////////////////////////////////////////////////
                              SYNC MIN STAKE
    //////////////////////////////////////////////////////////////*/

    function test_SyncMinStake_PublishesTermsWithTheNewMinimum() public {
        IRunEscrow.Terms memory expected = _terms(defaultEscrowParameters(), 50e6);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.ParametersUpdated(2, expected);
        vm.prank(address(vault));
        escrow.syncMinStake(50e6);
        _assertParameters(2, expected);
        _assertTerms(escrow.termsAt(1), _defaultTerms());
    }

    function test_SyncMinStake_SameMinimumChangesNothing() public {
        vm.recordLogs();
        vm.prank(address(vault));
        escrow.syncMinStake(MIN_STAKE);
        assertEq(vm.getRecordedLogs().length, 0, "no event");
        _assertParameters(1, _defaultTerms());
    }

    function test_RevertWhen_SyncMinStakeCallerNotVault() public {
        address[3] memory callers = [stranger, owner, address(this)];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowUnauthorized.selector, callers[i]));
            vm.prank(callers[i]);
            escrow.syncMinStake(1);
        }
        _assertParameters(1, _defaultTerms());
    }

    /*//////////////////////////////////////////////////////////////
                              WITHDRAW FEES
    //////////////////////////////////////////////////////////////*/

    function test_WithdrawFees_AnyoneSendsEveryAccruedFeeToTheTreasury() public {
        _topUpAgent(MIN_STAKE);
        uint256 first = _submittedRun(agentId);
        uint256 second = _submittedRun(agentId);
        vm.startPrank(poster);
        escrow.approve(first);
        escrow.approve(second);
        vm.stopPrank();
        Balances memory b = _balances();
        assertEq(b.accruedFees, 2 * FEE, "accrued");
        b.treasury += 2 * FEE;
        b.escrow -= 2 * FEE;
        b.accruedFees = 0;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.FeesWithdrawn(treasury, 2 * FEE);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(address(escrow), treasury, 2 * FEE);
        vm.prank(stranger);
        assertEq(escrow.withdrawFees(), 2 * FEE, "returned");
        _assertBalances(b);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow owes nothing");
    }

    function test_RevertGiven_WithdrawFeesNoneAccrued() public {
        vm.expectRevert(IRunEscrow.RunEscrowNoFees.selector);
        escrow.withdrawFees();

        uint256 runId = _submittedRun(agentId);
        vm.prank(poster);
        escrow.approve(runId);
        escrow.withdrawFees();
        vm.expectRevert(IRunEscrow.RunEscrowNoFees.selector);
        escrow.withdrawFees();
    }

    /*//////////////////////////////////////////////////////////////
                               REGRESSIONS
    //////////////////////////////////////////////////////////////*/

    /// @dev A run created before the owner changed every parameter keeps its terms: its getRun, the
    /// fee it pays, the timeout, review period, dispute window and ruling period it enforces, and the
    /// arbitrator who may rule on it.
    function test_Regression_OwnerChangeNeverAltersALiveRun() public {
        uint256 runId = _openRun(REWARD, 1);
        IRunEscrow.Run memory original = escrow.getRun(runId);
        address court = makeAddr("court");
        _setParameters(_otherParameters(court)); // fee 10%, every period at its minimum
        _setVaultMinStake(MIN_STAKE / 2);
        _assertRun(runId, original);

        vm.prank(agentWallet);
        escrow.claim(runId, agentId);
        // The claim timeout is still 7 days, not 1 hour.
        vm.warp(block.timestamp + CLAIM_TIMEOUT);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        // The review period is still 7 days.
        vm.warp(block.timestamp + REVIEW_PERIOD);
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
        vm.warp(block.timestamp + CLAIM_TIMEOUT);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        vm.warp(block.timestamp + REVIEW_PERIOD);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(runId, agentId, poster, REASON, MIN_STAKE);
        vm.prank(poster);
        escrow.reject(runId, REASON);
        // The dispute window is still 3 days, before the original arbitrator.
        vm.warp(block.timestamp + DISPUTE_WINDOW);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Disputed(runId, agentId, arbitrator, EVIDENCE);
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
        // The new arbitrator may not rule; the original one may, for the whole 14 days.
        vm.warp(block.timestamp + RULING_PERIOD);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotArbitrator.selector, runId, court));
        vm.prank(court);
        escrow.resolve(runId, BPS, false);
        IRunEscrow.Ruling memory ruling = IRunEscrow.Ruling({
            agentShareBps: uint16(BPS),
            toAgent: REWARD,
            toTreasury: FEE,
            toPoster: 0,
            bond: MIN_STAKE,
            stakeForfeited: 0,
            strike: false,
            byDefault: false
        });
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.DisputeResolved(runId, agentId, arbitrator, ruling);
        vm.prank(arbitrator);
        escrow.resolve(runId, BPS, false);
        assertEq(escrow.accruedFees(), FEE, "the original fee");
        assertEq(vault.getAgent(agentId).reserved, 0, "the original reservation released");
    }

    /// @dev A fee raise after creation does not change what an approval charges.
    function test_Regression_FeeChangeNeverAltersALiveRun() public {
        uint256 runId = _submittedRun(agentId);
        IRunEscrow.Parameters memory p = defaultEscrowParameters();
        p.feeBps = 1000;
        _setParameters(p);
        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(run.fee, FEE, "getRun fee");
        assertEq(run.terms.feeBps, FEE_BPS, "getRun terms.feeBps");
        assertEq(run.termsVersion, 1, "termsVersion");

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, 0, false);
        vm.prank(poster);
        escrow.approve(runId);
        assertEq(escrow.accruedFees(), FEE, "the original fee accrued");
        assertEq(usdc.balanceOf(address(escrow)), FEE, "nothing else held");
    }

    /// @dev A minimum-stake change after creation keeps a live run's requiredStake, and so its bond
    /// and the reservation a claim takes; only new runs get the new default.
    function test_Regression_MinStakeChangeNeverAltersALiveRun() public {
        _topUpAgent(2 * MIN_STAKE);
        uint256 open = _openRun();
        uint256 submitted = _submittedRun(REWARD, 0);
        _setVaultMinStake(2 * MIN_STAKE);

        assertEq(escrow.getRun(open).requiredStake, MIN_STAKE, "open run keeps its requiredStake");
        assertEq(escrow.getRun(open).terms.minStake, MIN_STAKE, "open run keeps its terms");
        assertEq(escrow.getRun(open).termsVersion, 1, "open run keeps its version");
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Claimed(open, agentId, agentWallet, MIN_STAKE);
        vm.prank(agentWallet);
        escrow.claim(open, agentId);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(submitted, agentId, poster, REASON, MIN_STAKE);
        vm.prank(poster);
        escrow.reject(submitted, REASON);

        assertEq(escrow.getRun(_openRun()).requiredStake, 2 * MIN_STAKE, "a new run gets the new minimum");
        assertEq(vault.getAgent(agentId).reserved, 2 * MIN_STAKE, "two reservations of the old minimum");
    }

    /// @dev v1 let a poster request a revision weeks after the review period and then slash the
    /// agent for missing the new timeout. The review period now binds: past it the poster can only
    /// approve, and the agent's stake is never at risk.
    function test_Regression_RevisionRequestAfterTheReviewPeriodReverts() public {
        uint256 runId = _submittedRun(agentId);
        uint256 reviewEnd = block.timestamp + REVIEW_PERIOD;
        vm.warp(reviewEnd + 3 weeks);
        Balances memory b = _balances();
        vm.expectRevert(_reviewOver(runId, reviewEnd));
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
        _assertBalances(b);
        assertState(runId, IRunEscrow.RunState.SUBMITTED);

        vm.prank(poster);
        escrow.approve(runId);
        assertEq(usdc.balanceOf(agentWallet) - b.agent, REWARD, "agent paid");
        assertEq(vault.getAgent(agentId).stake, MIN_STAKE, "stake intact");
    }

    /// @dev v1 let a poster reject weeks late; a rejection after the review period now reverts and
    /// pulls no bond.
    function test_Regression_RejectionAfterTheReviewPeriodReverts() public {
        uint256 runId = _exhaustedRun(agentId);
        uint256 reviewEnd = block.timestamp + REVIEW_PERIOD;
        vm.warp(reviewEnd + 3 weeks);
        Balances memory b = _balances();
        vm.expectRevert(_reviewOver(runId, reviewEnd));
        vm.prank(poster);
        escrow.reject(runId, REASON);
        IRunEscrow.Permit memory permit = _permit(BOND);
        vm.expectRevert(_reviewOver(runId, reviewEnd));
        vm.prank(poster);
        escrow.rejectWithPermit(runId, REASON, permit);
        _assertBalances(b);
        assertState(runId, IRunEscrow.RunState.SUBMITTED);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    function test_Constants() public view {
        assertEq(escrow.MAX_REVISIONS(), 10, "MAX_REVISIONS");
        assertEq(escrow.MAX_FEE_BPS(), 1000, "MAX_FEE_BPS");
        assertEq(escrow.MAX_LOCK(), 365 days, "MAX_LOCK");
        assertEq(escrow.MAX_URI_LENGTH(), 2048, "MAX_URI_LENGTH");
        assertEq(escrow.MIN_TIMEOUT(), 1 hours, "MIN_TIMEOUT");
        assertEq(escrow.MAX_TIMEOUT(), 90 days, "MAX_TIMEOUT");
        assertEq(escrow.MIN_DISPUTE_WINDOW(), 1 days, "MIN_DISPUTE_WINDOW");
        assertEq(escrow.MAX_DISPUTE_WINDOW(), 30 days, "MAX_DISPUTE_WINDOW");
        assertEq(escrow.MIN_RULING_PERIOD(), 1 days, "MIN_RULING_PERIOD");
        assertEq(escrow.MAX_RULING_PERIOD(), 90 days, "MAX_RULING_PERIOD");
    }

    /// @dev getRun in each of the 12 states (and a final rejection): who holds it, since when, how
    /// many revisions, whether it is settled, and the terms it was created with.
    function test_GetRun_EveryState() public {
        for (uint256 c; c < CASE_COUNT; ++c) {
            uint256 snap = vm.snapshotState();
            uint256 runId = _runInState(c);
            IRunEscrow.RunState state = _caseState(c);
            IRunEscrow.Run memory expected = _expectedRun(_args(), state);
            expected.deadline = uint64(caseDeadline);
            expected.timerStart = uint64(caseTimerStart);
            expected.settled = _settledCase(c);
            expected.agentId = _heldCase(c) ? agentId : 0;
            expected.revisionCount = state == IRunEscrow.RunState.REVISION_REQUESTED
                ? uint8(1)
                : _rejectedCase(c) ? MAX_REVISIONS : uint8(0);
            _assertRun(runId, expected);
            vm.revertToState(snap);
        }
    }

    function test_RevertWhen_GetRunNotFound() public {
        _draftRun();
        vm.expectRevert(_runNotFound(0));
        escrow.getRun(0);
        vm.expectRevert(_runNotFound(2));
        escrow.getRun(2);
    }

    function test_RevertWhen_TermsAtUnknown() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowUnknownTerms.selector, 0));
        escrow.termsAt(0);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowUnknownTerms.selector, 2));
        escrow.termsAt(2);
        _setParameters(_otherParameters(arbitrator));
        _assertTerms(escrow.termsAt(2), _terms(_otherParameters(arbitrator), MIN_STAKE));
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowUnknownTerms.selector, 3));
        escrow.termsAt(3);
    }

    function test_CanClaim_OpenRunIsEligible() public {
        uint256 runId = _openRun();
        (bool eligible, uint256 reasons) = escrow.canClaim(runId, agentId);
        assertTrue(eligible, "eligible");
        assertEq(reasons, 0, "reasons");
    }

    function test_CanClaim_RunNotFound() public {
        _openRun();
        uint256[2] memory ids = [uint256(0), 2];
        for (uint256 i; i < ids.length; ++i) {
            (bool eligible, uint256 reasons) = escrow.canClaim(ids[i], agentId);
            assertFalse(eligible, "eligible");
            assertEq(reasons, ClaimReasons.RUN_NOT_FOUND, "reasons");
        }
    }

    /// @dev Every state but OPEN reports RUN_NOT_OPEN to another eligible agent (an expired run
    /// also RUN_PAST_DEADLINE).
    function test_CanClaim_RunNotOpenInEveryOtherState() public {
        uint256 other = _registerAndStake(otherAgentWallet, MIN_STAKE);
        for (uint256 c; c < CASE_COUNT; ++c) {
            if (c == uint256(IRunEscrow.RunState.OPEN)) continue;
            uint256 snap = vm.snapshotState();
            uint256 runId = _runInState(c);
            uint256 expected = ClaimReasons.RUN_NOT_OPEN;
            if (c == uint256(IRunEscrow.RunState.EXPIRED)) expected |= ClaimReasons.RUN_PAST_DEADLINE;
            (bool eligible, uint256 reasons) = escrow.canClaim(runId, other);
            assertFalse(eligible, "eligible");
            assertEq(reasons, expected, "reasons");
            vm.revertToState(snap);
        }
    }

    function test_CanClaim_RunPastDeadline() public {
        uint256 runId = _openRun();
        uint256 deadline = defaultDeadline();
        vm.warp(deadline);
        (bool eligible, uint256 reasons) = escrow.canClaim(runId, agentId);
        assertTrue(eligible, "eligible at the deadline");
        assertEq(reasons, 0, "reasons at the deadline");
        vm.warp(deadline + 1);
        (eligible, reasons) = escrow.canClaim(runId, agentId);
        assertFalse(eligible, "eligible past the deadline");
        assertEq(reasons, ClaimReasons.RUN_PAST_DEADLINE, "reasons past the deadline");
    }

    function test_CanClaim_ClaimsPaused() public {
        uint256 runId = _openRun();
        _pause();
        (bool eligible, uint256 reasons) = escrow.canClaim(runId, agentId);
        assertFalse(eligible, "eligible");
        assertEq(reasons, ClaimReasons.CLAIMS_PAUSED, "reasons");
        (, reasons) = escrow.canClaim(runId + 1, agentId);
        assertEq(reasons, ClaimReasons.RUN_NOT_FOUND | ClaimReasons.CLAIMS_PAUSED, "unknown run, paused");
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    uint256 internal constant BAD_PARAMETER_CASES = 12;
    uint256 internal constant PAUSED_CASES = 13;

    /// @dev Parameters with one field out of bounds, and the error they must raise.
    function _badParameters(uint256 i)
        internal
        view
        returns (IRunEscrow.Parameters memory p, bytes memory err)
    {
        p = defaultEscrowParameters();
        if (i == 0) {
            p.feeBps = 1001;
            err = abi.encodeWithSelector(IRunEscrow.RunEscrowFeeTooHigh.selector, 1001, 1000);
        } else if (i == 1) {
            p.claimTimeout = 1 hours - 1;
            err = _invalidPeriod(1 hours - 1, 1 hours, 90 days);
        } else if (i == 2) {
            p.claimTimeout = 90 days + 1;
            err = _invalidPeriod(90 days + 1, 1 hours, 90 days);
        } else if (i == 3) {
            p.reviewPeriod = 1 hours - 1;
            err = _invalidPeriod(1 hours - 1, 1 hours, 90 days);
        } else if (i == 4) {
            p.reviewPeriod = 90 days + 1;
            err = _invalidPeriod(90 days + 1, 1 hours, 90 days);
        } else if (i == 5) {
            p.disputeWindow = 1 days - 1;
            err = _invalidPeriod(1 days - 1, 1 days, 30 days);
        } else if (i == 6) {
            p.disputeWindow = 30 days + 1;
            err = _invalidPeriod(30 days + 1, 1 days, 30 days);
        } else if (i == 7) {
            p.rulingPeriod = 1 days - 1;
            err = _invalidPeriod(1 days - 1, 1 days, 90 days);
        } else if (i == 8) {
            p.rulingPeriod = 90 days + 1;
            err = _invalidPeriod(90 days + 1, 1 days, 90 days);
        } else {
            p.arbitrator = i == 9 ? address(0) : i == 10 ? address(vault) : treasury;
            err = abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidArbitrator.selector, p.arbitrator);
        }
    }

    /// @dev The address the next contract this test deploys gets (CREATE from this contract).
    function _nextCreateAddress() internal view returns (address) {
        uint256 nonce = vm.getNonce(address(this));
        bytes memory rlp;
        if (nonce == 0) {
            rlp = abi.encodePacked(bytes1(0xd6), bytes1(0x94), address(this), bytes1(0x80));
        } else if (nonce < 0x80) {
            rlp = abi.encodePacked(bytes1(0xd6), bytes1(0x94), address(this), uint8(nonce));
        } else if (nonce < 0x100) {
            rlp = abi.encodePacked(bytes1(0xd7), bytes1(0x94), address(this), bytes1(0x81), uint8(nonce));
        } else {
            rlp = abi.encodePacked(bytes1(0xd8), bytes1(0x94), address(this), bytes1(0x82), uint16(nonce));
        }
        return address(uint160(uint256(keccak256(rlp))));
    }

    function _topUpAgent(uint256 amount) internal {
        vm.prank(agentWallet);
        vault.stake(amount);
    }

    /// @dev Uses up the revisions of SUBMITTED run `runId` (maxRevisions = MAX_REVISIONS).
    function _exhaust(uint256 runId) internal {
        for (uint256 i; i < MAX_REVISIONS; ++i) {
            vm.prank(poster);
            escrow.requestRevision(runId, REASON);
            vm.prank(agentWallet);
            escrow.submit(runId, DELIVERABLE);
        }
    }

    /// @dev A case (state) in which poster action `action` succeeds.
    function _acceptingCase(uint256 action) internal pure returns (uint256) {
        if (action <= FUND_WITH_AUTHORIZATION) return uint256(IRunEscrow.RunState.DRAFT);
        if (action == CANCEL) return uint256(IRunEscrow.RunState.OPEN);
        return uint256(IRunEscrow.RunState.SUBMITTED);
    }

    /// @dev Whether poster action `action` accepts a run in case `c`.
    function _accepts(uint256 action, uint256 c) internal pure returns (bool) {
        IRunEscrow.RunState s = _caseState(c);
        if (action <= FUND_WITH_AUTHORIZATION) return s == IRunEscrow.RunState.DRAFT;
        if (action == CANCEL) return s == IRunEscrow.RunState.DRAFT || s == IRunEscrow.RunState.OPEN;
        if (action == APPROVE) {
            return s == IRunEscrow.RunState.SUBMITTED || s == IRunEscrow.RunState.DISPUTED
                || c == uint256(IRunEscrow.RunState.REJECTED);
        }
        return s == IRunEscrow.RunState.SUBMITTED;
    }

    /// @dev Poster action `action` reverts with the run's state (approve on a final rejection:
    /// AlreadySettled) in the case `pick` selects, modulo their number, among those it does not
    /// accept, and moves no money.
    function _assertRejects(uint256 action, uint8 pick) internal {
        uint256 k = pick % _rejectedCases(action);
        uint256 c;
        for (;; ++c) {
            if (_accepts(action, c)) continue;
            if (k == 0) break;
            --k;
        }
        uint256 runId = _runInState(c);
        IRunEscrow.RunState state = _caseState(c);
        Sigs memory s = _sign(action, TOTAL);
        Balances memory b = _balances();
        if (action == APPROVE && c == SETTLED_REJECTION) {
            vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowAlreadySettled.selector, runId));
        } else {
            vm.expectRevert(_invalidState(runId, state));
        }
        _act(action, poster, runId, s);
        _assertBalances(b);
        assertState(runId, state);
    }

    /// @dev How many of the {CASE_COUNT} cases poster action `action` does not accept.
    function _rejectedCases(uint256 action) internal pure returns (uint256 n) {
        for (uint256 c; c < CASE_COUNT; ++c) {
            if (!_accepts(action, c)) ++n;
        }
    }

    function _settledCase(uint256 c) internal pure returns (bool) {
        IRunEscrow.RunState s = _caseState(c);
        return s == IRunEscrow.RunState.APPROVED || s == IRunEscrow.RunState.CANCELLED
            || s == IRunEscrow.RunState.EXPIRED || s == IRunEscrow.RunState.RESOLVED || c == SETTLED_REJECTION;
    }

    /// @dev Whether the run of case `c` names the agent that claimed it.
    function _heldCase(uint256 c) internal pure returns (bool) {
        IRunEscrow.RunState s = _caseState(c);
        return s != IRunEscrow.RunState.DRAFT && s != IRunEscrow.RunState.OPEN
            && s != IRunEscrow.RunState.CANCELLED && s != IRunEscrow.RunState.EXPIRED;
    }

    /// @dev Whether the run of case `c` went through a rejection (all revisions used).
    function _rejectedCase(uint256 c) internal pure returns (bool) {
        IRunEscrow.RunState s = _caseState(c);
        return s == IRunEscrow.RunState.REJECTED || s == IRunEscrow.RunState.DISPUTED
            || s == IRunEscrow.RunState.RESOLVED;
    }

    /// @dev Case `c` of {test_WhenPaused_EveryOtherPosterAndOwnerFunctionWorks}: prepares, pauses,
    /// calls one function and checks its effect.
    function _pausedCase(uint256 c) internal {
        uint256 runId;
        if (c == 0 || c == 1) {
            runId = c == 0 ? _draftRun() : _openRun();
            _pause();
            vm.prank(poster);
            escrow.cancel(runId);
            assertState(runId, IRunEscrow.RunState.CANCELLED);
        } else if (c <= 4) {
            runId = _runInState(
                c == 2
                    ? uint256(IRunEscrow.RunState.SUBMITTED)
                    : c == 3 ? uint256(IRunEscrow.RunState.REJECTED) : uint256(IRunEscrow.RunState.DISPUTED)
            );
            _pause();
            vm.prank(poster);
            escrow.approve(runId);
            assertState(runId, IRunEscrow.RunState.APPROVED);
        } else if (c == 5) {
            runId = _submittedRun(agentId);
            _pause();
            vm.prank(poster);
            escrow.requestRevision(runId, REASON);
            assertState(runId, IRunEscrow.RunState.REVISION_REQUESTED);
        } else if (c == 6 || c == 7) {
            runId = _exhaustedRun(agentId);
            uint256 action = c == 6 ? REJECT : REJECT_WITH_PERMIT;
            Sigs memory s = _sign(action, BOND);
            _pause();
            _act(action, poster, runId, s);
            assertState(runId, IRunEscrow.RunState.REJECTED);
        } else if (c == 8) {
            _pause();
            _setParameters(_otherParameters(arbitrator));
            (uint256 version,) = escrow.parameters();
            assertEq(version, 2, "setParameters");
        } else if (c == 9) {
            _pause();
            vm.prank(owner);
            escrow.setTreasury(stranger);
            assertEq(escrow.treasury(), stranger, "setTreasury");
        } else if (c == 10) {
            runId = _submittedRun(agentId);
            vm.prank(poster);
            escrow.approve(runId);
            _pause();
            assertEq(escrow.withdrawFees(), FEE, "withdrawFees");
            assertEq(usdc.balanceOf(treasury), FEE, "treasury paid");
        } else if (c == 11) {
            _pause();
            vm.prank(owner);
            escrow.transferOwnership(stranger);
            vm.prank(stranger);
            escrow.acceptOwnership();
            assertEq(escrow.owner(), stranger, "ownership");
        } else {
            _pause();
            _setVaultMinStake(2 * MIN_STAKE);
            (uint256 version, IRunEscrow.Terms memory terms) = escrow.parameters();
            assertEq(version, 2, "syncMinStake version");
            assertEq(terms.minStake, 2 * MIN_STAKE, "syncMinStake minStake");
        }
        assertTrue(escrow.paused(), "still paused");
    }
}

/// @notice withdrawFees against a treasury that cannot receive USDC (Circle's blacklist).
contract RunEscrowBlacklistedTreasuryTest is RunEscrowHelpers {
    function _deployToken() internal override returns (MockUSDC) {
        vm.prank(owner);
        return new BlacklistUSDC(owner);
    }

    /// @dev The fees stay accrued (withdrawFees reverts) until the owner names another treasury;
    /// no run is blocked meanwhile.
    function test_RevertGiven_WithdrawFeesTreasuryBlacklisted() public {
        uint256 runId = _submittedRun(agentId);
        vm.prank(poster);
        escrow.approve(runId);
        vm.prank(owner);
        BlacklistUSDC(address(usdc)).blacklist(treasury);
        Balances memory b = _balances();

        vm.expectRevert(abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, treasury));
        escrow.withdrawFees();
        _assertBalances(b);
        assertEq(escrow.accruedFees(), FEE, "fees kept accrued");

        // Runs go on meanwhile.
        uint256 next = _submittedRun(agentId);
        vm.prank(poster);
        escrow.approve(next);
        assertEq(escrow.accruedFees(), 2 * FEE, "fees accrue");

        address newTreasury = makeAddr("newTreasury");
        vm.prank(owner);
        escrow.setTreasury(newTreasury);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.FeesWithdrawn(newTreasury, 2 * FEE);
        assertEq(escrow.withdrawFees(), 2 * FEE, "withdrawn");
        assertEq(usdc.balanceOf(newTreasury), 2 * FEE, "new treasury paid");
        assertEq(escrow.accruedFees(), 0, "accruedFees");
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow owes nothing");
    }
}
