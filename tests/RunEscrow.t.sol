// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {Base} from "./Base.t.sol";
import {SigUtils} from "./utils/SigUtils.sol";
import {MockUSDC} from "../contracts/mocks/MockUSDC.sol";
import {RunEscrow} from "../contracts/RunEscrow.sol";
import {StakeVault} from "../contracts/StakeVault.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";
import {IERC3009, IUSDC} from "../contracts/interfaces/IUSDC.sol";
import {ClaimReasons} from "../contracts/libraries/ClaimReasons.sol";

/// @notice Unit tests of RunEscrow's poster, owner and view functions (the agent and permissionless
/// functions are in RunEscrowAgent.t.sol).
contract RunEscrowTest is Base {
    using SigUtils for IUSDC;

    /// @dev USDC balances of every account a poster/owner action can touch.
    struct Balances {
        uint256 poster;
        uint256 escrow;
        uint256 treasury;
        uint256 agent;
        uint256 stranger;
        uint256 vault;
    }

    uint256 internal constant TOTAL = REWARD + FEE;
    bytes32 internal constant NONCE = keccak256("runs/auth/1");
    string internal constant REASON = "please add tests";

    IUSDC internal token;

    function setUp() public override {
        super.setUp();
        token = IUSDC(address(usdc));
    }

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_Constructor_SetsInitialViews() public view {
        assertEq(escrow.usdc(), address(usdc), "usdc");
        assertEq(escrow.stakeVault(), address(vault), "vault");
        assertEq(escrow.treasury(), treasury, "treasury");
        assertEq(escrow.owner(), owner, "owner");
        assertEq(escrow.pendingOwner(), address(0), "pending owner");
        assertFalse(escrow.paused(), "paused");
        _assertParameters(1, FEE_BPS, CLAIM_TIMEOUT, REVIEW_PERIOD);
        assertEq(escrow.runCount(), 0, "runCount");
        assertEq(escrow.MAX_REVISIONS(), 10, "MAX_REVISIONS");
        assertEq(escrow.MAX_FEE_BPS(), 1000, "MAX_FEE_BPS");
        assertEq(escrow.MIN_TIMEOUT(), 1 hours, "MIN_TIMEOUT");
        assertEq(escrow.MAX_TIMEOUT(), 90 days, "MAX_TIMEOUT");
    }

    function test_Constructor_EmitsTreasuryAndParameters() public {
        vm.expectEmit(true, true, true, true);
        emit IRunEscrow.TreasuryUpdated(address(0), treasury);
        vm.expectEmit(true, true, true, true);
        emit IRunEscrow.ParametersUpdated(1, FEE_BPS, CLAIM_TIMEOUT, REVIEW_PERIOD);
        new RunEscrow(token, vault, owner, treasury, FEE_BPS, CLAIM_TIMEOUT, REVIEW_PERIOD);
    }

    function test_Constructor_AcceptsBoundaryValues() public {
        StakeVault longVault = _vaultWithCooldown(90 days);
        RunEscrow atMax = new RunEscrow(token, longVault, owner, treasury, 1000, 90 days, 90 days);
        (uint256 version, uint16 feeBps, uint32 claimTimeout, uint32 reviewPeriod) = atMax.parameters();
        assertEq(version, 1, "version");
        assertEq(feeBps, 1000, "max fee");
        assertEq(claimTimeout, 90 days, "max claim timeout");
        assertEq(reviewPeriod, 90 days, "max review period");

        RunEscrow atMin = new RunEscrow(token, vault, owner, treasury, 0, 1 hours, 1 hours);
        (, feeBps, claimTimeout, reviewPeriod) = atMin.parameters();
        assertEq(feeBps, 0, "zero fee");
        assertEq(claimTimeout, 1 hours, "min claim timeout");
        assertEq(reviewPeriod, 1 hours, "min review period");
    }

    function test_RevertWhen_ConstructorUsdcIsZero() public {
        vm.expectRevert(IRunEscrow.RunEscrowZeroAddress.selector);
        new RunEscrow(IUSDC(address(0)), vault, owner, treasury, FEE_BPS, CLAIM_TIMEOUT, REVIEW_PERIOD);
    }

    function test_RevertWhen_ConstructorVaultIsZero() public {
        vm.expectRevert(IRunEscrow.RunEscrowZeroAddress.selector);
        new RunEscrow(token, IStakeVault(address(0)), owner, treasury, FEE_BPS, CLAIM_TIMEOUT, REVIEW_PERIOD);
    }

    function test_RevertWhen_ConstructorTreasuryIsZero() public {
        vm.expectRevert(IRunEscrow.RunEscrowZeroAddress.selector);
        new RunEscrow(token, vault, owner, address(0), FEE_BPS, CLAIM_TIMEOUT, REVIEW_PERIOD);
    }

    function test_RevertWhen_ConstructorOwnerIsZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new RunEscrow(token, vault, address(0), treasury, FEE_BPS, CLAIM_TIMEOUT, REVIEW_PERIOD);
    }

    function test_RevertWhen_ConstructorFeeAboveMax() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowFeeTooHigh.selector, 1001, 1000));
        new RunEscrow(token, vault, owner, treasury, 1001, CLAIM_TIMEOUT, REVIEW_PERIOD);
    }

    function test_RevertWhen_ConstructorClaimTimeoutBelowMin() public {
        vm.expectRevert(_invalidTimeout(1 hours - 1));
        new RunEscrow(token, vault, owner, treasury, FEE_BPS, 1 hours - 1, REVIEW_PERIOD);
    }

    function test_RevertWhen_ConstructorClaimTimeoutAboveMax() public {
        StakeVault longVault = _vaultWithCooldown(90 days);
        vm.expectRevert(_invalidTimeout(90 days + 1));
        new RunEscrow(token, longVault, owner, treasury, FEE_BPS, 90 days + 1, REVIEW_PERIOD);
    }

    function test_RevertWhen_ConstructorReviewPeriodBelowMin() public {
        vm.expectRevert(_invalidTimeout(1 hours - 1));
        new RunEscrow(token, vault, owner, treasury, FEE_BPS, CLAIM_TIMEOUT, 1 hours - 1);
    }

    function test_RevertWhen_ConstructorReviewPeriodAboveMax() public {
        vm.expectRevert(_invalidTimeout(90 days + 1));
        new RunEscrow(token, vault, owner, treasury, FEE_BPS, CLAIM_TIMEOUT, 90 days + 1);
    }

    function test_RevertWhen_ConstructorClaimTimeoutExceedsCooldown() public {
        StakeVault shortVault = _vaultWithCooldown(1 days);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowTimeoutExceedsCooldown.selector, 1 days + 1, 1 days)
        );
        new RunEscrow(token, shortVault, owner, treasury, FEE_BPS, 1 days + 1, REVIEW_PERIOD);
    }

    function test_Constructor_AcceptsClaimTimeoutEqualToCooldown() public {
        StakeVault shortVault = _vaultWithCooldown(1 days);
        RunEscrow fresh = new RunEscrow(token, shortVault, owner, treasury, FEE_BPS, 1 days, REVIEW_PERIOD);
        (,, uint32 claimTimeout,) = fresh.parameters();
        assertEq(claimTimeout, 1 days, "claim timeout");
    }

    /*//////////////////////////////////////////////////////////////
                                CREATE RUN
    //////////////////////////////////////////////////////////////*/

    function test_CreateRun_CreatesDraft() public {
        uint256 deadline = defaultDeadline();
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCreated(
            1, poster, SPEC, REWARD, FEE, uint64(deadline), MAX_REVISIONS, CLAIM_TIMEOUT, REVIEW_PERIOD
        );
        vm.recordLogs();
        vm.prank(poster);
        uint256 runId = escrow.createRun(SPEC, REWARD, deadline, MAX_REVISIONS);

        assertEq(vm.getRecordedLogs().length, 1, "only RunCreated, no transfer");
        assertEq(runId, 1, "first id");
        assertEq(escrow.runCount(), 1, "runCount");
        _assertRun(runId, _expectedRun(deadline, IRunEscrow.RunState.DRAFT));
        _assertBalances(expected);
    }

    function test_CreateRun_IdsCountUpFromOne() public {
        assertEq(_draftRun(), 1, "first");
        vm.prank(stranger);
        assertEq(escrow.createRun(SPEC, REWARD, defaultDeadline(), 0), 2, "second, other poster");
        assertEq(_draftRun(), 3, "third");
        assertEq(escrow.runCount(), 3, "runCount");
        assertEq(escrow.getRun(2).poster, stranger, "poster of run 2");
    }

    function test_CreateRun_AllowsZeroMaxRevisions() public {
        vm.prank(poster);
        uint256 runId = escrow.createRun(SPEC, REWARD, defaultDeadline(), 0);
        assertEq(escrow.getRun(runId).maxRevisions, 0, "maxRevisions");
    }

    function test_CreateRun_AllowsMaxRevisionsAtCap() public {
        vm.prank(poster);
        uint256 runId = escrow.createRun(SPEC, REWARD, defaultDeadline(), 10);
        assertEq(escrow.getRun(runId).maxRevisions, 10, "maxRevisions");
    }

    function test_CreateRun_AcceptsLargestRewardAndDeadline() public {
        uint256 reward = type(uint96).max;
        uint256 deadline = type(uint40).max;
        vm.prank(poster);
        uint256 runId = escrow.createRun(SPEC, reward, deadline, MAX_REVISIONS);
        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(run.reward, reward, "reward");
        assertEq(run.fee, reward * FEE_BPS / 10_000, "fee");
        assertEq(run.deadline, deadline, "deadline");
    }

    function test_CreateRun_FeeRoundsDown() public {
        _assertFeeOf(19, 0); // 0.95 -> 0
        _assertFeeOf(20, 1);
        _assertFeeOf(199, 9); // 9.95 -> 9
        _assertFeeOf(3_333_333, 166_666); // 166_666.65 -> 166_666
    }

    function test_CreateRun_DeadlineOneSecondAhead() public {
        vm.prank(poster);
        uint256 runId = escrow.createRun(SPEC, REWARD, block.timestamp + 1, MAX_REVISIONS);
        assertEq(escrow.getRun(runId).deadline, block.timestamp + 1, "deadline");
    }

    function test_RevertWhen_CreateRunSpecURIEmpty() public {
        vm.expectRevert(IRunEscrow.RunEscrowEmptyURI.selector);
        vm.prank(poster);
        escrow.createRun("", REWARD, defaultDeadline(), MAX_REVISIONS);
    }

    function test_RevertWhen_CreateRunRewardZero() public {
        vm.expectRevert(IRunEscrow.RunEscrowZeroReward.selector);
        vm.prank(poster);
        escrow.createRun(SPEC, 0, defaultDeadline(), MAX_REVISIONS);
    }

    function test_RevertWhen_CreateRunRewardAboveUint96() public {
        uint256 reward = uint256(type(uint96).max) + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowRewardTooLarge.selector, reward, type(uint96).max)
        );
        vm.prank(poster);
        escrow.createRun(SPEC, reward, defaultDeadline(), MAX_REVISIONS);
    }

    function test_RevertWhen_CreateRunDeadlineIsNow() public {
        vm.expectRevert(_invalidDeadline(block.timestamp));
        vm.prank(poster);
        escrow.createRun(SPEC, REWARD, block.timestamp, MAX_REVISIONS);
    }

    function test_RevertWhen_CreateRunDeadlineInPast() public {
        vm.expectRevert(_invalidDeadline(block.timestamp - 1 days));
        vm.prank(poster);
        escrow.createRun(SPEC, REWARD, block.timestamp - 1 days, MAX_REVISIONS);
    }

    function test_RevertWhen_CreateRunDeadlineAboveUint40() public {
        uint256 deadline = uint256(type(uint40).max) + 1;
        vm.expectRevert(_invalidDeadline(deadline));
        vm.prank(poster);
        escrow.createRun(SPEC, REWARD, deadline, MAX_REVISIONS);
    }

    function test_RevertWhen_CreateRunMaxRevisionsAboveCap() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowTooManyRevisions.selector, 11, 10));
        vm.prank(poster);
        escrow.createRun(SPEC, REWARD, defaultDeadline(), 11);
    }

    function test_RevertGiven_CreateRunPaused() public {
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(poster);
        escrow.createRun(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS);
    }

    function testFuzz_CreateRun_FeeRoundsDown(uint256 reward, uint256 feeBps) public {
        reward = bound(reward, 1, type(uint96).max);
        feeBps = bound(feeBps, 0, 1000);
        vm.prank(owner);
        escrow.setParameters(feeBps, CLAIM_TIMEOUT, REVIEW_PERIOD);
        uint256 expectedFee = reward * feeBps / 10_000;
        vm.prank(owner);
        usdc.mint(poster, reward + expectedFee);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCreated(
            1, poster, SPEC, reward, expectedFee, uint64(defaultDeadline()), 0, CLAIM_TIMEOUT, REVIEW_PERIOD
        );
        vm.prank(poster);
        uint256 runId = escrow.createRun(SPEC, reward, defaultDeadline(), 0);
        assertEq(escrow.getRun(runId).fee, expectedFee, "fee");

        Balances memory expected = _balances();
        expected.poster -= reward + expectedFee;
        expected.escrow += reward + expectedFee;
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(runId, poster, reward + expectedFee);
        vm.prank(poster);
        escrow.fund(runId);
        _assertBalances(expected);
    }

    /*//////////////////////////////////////////////////////////////
                                   FUND
    //////////////////////////////////////////////////////////////*/

    function test_Fund_PullsRewardPlusFee() public {
        uint256 runId = _draftRun();
        uint256 deadline = defaultDeadline();
        Balances memory expected = _balances();
        expected.poster -= TOTAL;
        expected.escrow += TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(runId, poster, TOTAL);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(poster, address(escrow), TOTAL);
        vm.prank(poster);
        escrow.fund(runId);

        _assertRun(runId, _expectedRun(deadline, IRunEscrow.RunState.OPEN));
        _assertBalances(expected);
    }

    function test_Fund_SucceedsAtDeadline() public {
        uint256 runId = _draftRun();
        vm.warp(escrow.getRun(runId).deadline);
        vm.prank(poster);
        escrow.fund(runId);
        assertState(runId, IRunEscrow.RunState.OPEN);
    }

    function test_RevertWhen_FundUnknownRun() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 1));
        vm.prank(poster);
        escrow.fund(1);
    }

    function test_RevertWhen_FundCallerNotPoster() public {
        uint256 runId = _draftRun();
        vm.expectRevert(_notPoster(runId, stranger));
        vm.prank(stranger);
        escrow.fund(runId);
    }

    function test_RevertGiven_FundRunOpen() public {
        uint256 runId = _openRun();
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.OPEN));
        vm.prank(poster);
        escrow.fund(runId);
    }

    function test_RevertGiven_FundRunCancelled() public {
        uint256 runId = _runInState(IRunEscrow.RunState.CANCELLED);
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.CANCELLED));
        vm.prank(poster);
        escrow.fund(runId);
    }

    function test_RevertGiven_FundDeadlinePassed() public {
        uint256 runId = _draftRun();
        uint256 deadline = escrow.getRun(runId).deadline;
        vm.warp(deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidDeadline.selector, deadline, deadline + 1)
        );
        vm.prank(poster);
        escrow.fund(runId);
    }

    function test_RevertGiven_FundPaused() public {
        uint256 runId = _draftRun();
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(poster);
        escrow.fund(runId);
    }

    function test_RevertWhen_FundAllowanceInsufficient() public {
        uint256 runId = _draftRun();
        vm.prank(poster);
        usdc.approve(address(escrow), REWARD); // the reward but not the fee
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(escrow), REWARD, TOTAL
            )
        );
        vm.prank(poster);
        escrow.fund(runId);
    }

    function test_RevertWhen_FundBalanceInsufficient() public {
        uint256 runId = _draftRun();
        vm.prank(poster);
        usdc.transfer(stranger, FUNDING - REWARD);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, poster, REWARD, TOTAL)
        );
        vm.prank(poster);
        escrow.fund(runId);
    }

    /*//////////////////////////////////////////////////////////////
                             FUND WITH PERMIT
    //////////////////////////////////////////////////////////////*/

    function test_FundWithPermit_PullsWithPermit() public {
        uint256 runId = _draftRun();
        _revokeAllowance();
        IRunEscrow.Permit memory permit = _permit(TOTAL);
        Balances memory expected = _balances();
        expected.poster -= TOTAL;
        expected.escrow += TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(runId, poster, TOTAL);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Approval(poster, address(escrow), TOTAL);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(poster, address(escrow), TOTAL);
        vm.prank(poster);
        escrow.fundWithPermit(runId, permit);

        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(expected);
        assertEq(usdc.nonces(poster), 1, "permit nonce used");
        assertEq(usdc.allowance(poster, address(escrow)), 0, "allowance spent");
    }

    function test_FundWithPermit_SucceedsWhenPermitFrontRun() public {
        uint256 runId = _draftRun();
        _revokeAllowance();
        IRunEscrow.Permit memory permit = _permit(TOTAL);
        // Someone copies the permit from the mempool and submits it first.
        vm.prank(stranger);
        usdc.permit(poster, address(escrow), TOTAL, permit.deadline, permit.v, permit.r, permit.s);
        Balances memory expected = _balances();
        expected.poster -= TOTAL;
        expected.escrow += TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(runId, poster, TOTAL);
        vm.prank(poster);
        escrow.fundWithPermit(runId, permit);

        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(expected);
    }

    function test_RevertWhen_FundWithPermitSignatureInvalid() public {
        uint256 runId = _draftRun();
        _revokeAllowance();
        IRunEscrow.Permit memory permit =
            token.runEscrowPermit(agentKey, address(escrow), TOTAL, block.timestamp + 1 hours);
        vm.expectRevert(_insufficientAllowance(0, TOTAL));
        vm.prank(poster);
        escrow.fundWithPermit(runId, permit);
    }

    function test_RevertWhen_FundWithPermitExpired() public {
        uint256 runId = _draftRun();
        _revokeAllowance();
        IRunEscrow.Permit memory permit =
            token.runEscrowPermit(posterKey, address(escrow), TOTAL, block.timestamp - 1);
        vm.expectRevert(_insufficientAllowance(0, TOTAL));
        vm.prank(poster);
        escrow.fundWithPermit(runId, permit);
    }

    function test_RevertWhen_FundWithPermitForLessThanTotal() public {
        uint256 runId = _draftRun();
        _revokeAllowance();
        // Signed for the reward only: the escrow asks the token for reward + fee, so it does not verify.
        IRunEscrow.Permit memory permit = _permit(REWARD);
        vm.expectRevert(_insufficientAllowance(0, TOTAL));
        vm.prank(poster);
        escrow.fundWithPermit(runId, permit);
    }

    function test_RevertWhen_FundWithPermitCallerNotPoster() public {
        uint256 runId = _draftRun();
        IRunEscrow.Permit memory permit = _permit(TOTAL);
        vm.expectRevert(_notPoster(runId, stranger));
        vm.prank(stranger);
        escrow.fundWithPermit(runId, permit);
    }

    function test_RevertGiven_FundWithPermitPaused() public {
        uint256 runId = _draftRun();
        IRunEscrow.Permit memory permit = _permit(TOTAL);
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(poster);
        escrow.fundWithPermit(runId, permit);
    }

    /*//////////////////////////////////////////////////////////////
                          FUND WITH AUTHORIZATION
    //////////////////////////////////////////////////////////////*/

    function test_FundWithAuthorization_PullsWithAuthorization() public {
        uint256 runId = _draftRun();
        _revokeAllowance();
        IRunEscrow.Authorization memory auth = _authorization(TOTAL, NONCE);
        Balances memory expected = _balances();
        expected.poster -= TOTAL;
        expected.escrow += TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(runId, poster, TOTAL);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC3009.AuthorizationUsed(poster, NONCE);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(poster, address(escrow), TOTAL);
        vm.prank(poster);
        escrow.fundWithAuthorization(runId, auth);

        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(expected);
        assertTrue(usdc.authorizationState(poster, NONCE), "nonce used");
    }

    function test_RevertWhen_FundWithAuthorizationReplayed() public {
        IRunEscrow.Authorization memory auth = _authorization(TOTAL, NONCE);
        uint256 first = _draftRun();
        vm.prank(poster);
        escrow.fundWithAuthorization(first, auth);

        uint256 second = _draftRun();
        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationUsed.selector, poster, NONCE));
        vm.prank(poster);
        escrow.fundWithAuthorization(second, auth);
        assertState(second, IRunEscrow.RunState.DRAFT);
    }

    function test_RevertWhen_FundWithAuthorizationForOtherAmount() public {
        uint256 runId = _draftRun();
        IRunEscrow.Authorization memory auth = _authorization(REWARD, NONCE);
        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        vm.prank(poster);
        escrow.fundWithAuthorization(runId, auth);
    }

    function test_RevertWhen_FundWithAuthorizationExpired() public {
        uint256 runId = _draftRun();
        IRunEscrow.Authorization memory auth = _authorization(TOTAL, NONCE);
        vm.warp(auth.validBefore);
        vm.expectRevert(
            abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationExpired.selector, auth.validBefore)
        );
        vm.prank(poster);
        escrow.fundWithAuthorization(runId, auth);
    }

    function test_RevertWhen_FundWithAuthorizationSignedByOther() public {
        uint256 runId = _draftRun();
        IRunEscrow.Authorization memory auth = token.runEscrowAuthorization(
            agentKey, address(escrow), TOTAL, block.timestamp - 1, block.timestamp + 1 hours, NONCE
        );
        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        vm.prank(poster);
        escrow.fundWithAuthorization(runId, auth);
    }

    function test_RevertWhen_FundWithAuthorizationCallerNotPoster() public {
        uint256 runId = _draftRun();
        IRunEscrow.Authorization memory auth = _authorization(TOTAL, NONCE);
        vm.expectRevert(_notPoster(runId, stranger));
        vm.prank(stranger);
        escrow.fundWithAuthorization(runId, auth);
    }

    function test_RevertWhen_FundWithAuthorizationUsedByStrangerForOwnRun() public {
        // The stranger's own run has the same total, but the authorization names the poster as payer:
        // the escrow always asks the token to pull from the caller, so the signature does not verify.
        vm.prank(stranger);
        uint256 runId = escrow.createRun(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS);
        IRunEscrow.Authorization memory auth = _authorization(TOTAL, NONCE);
        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        vm.prank(stranger);
        escrow.fundWithAuthorization(runId, auth);
        assertEq(usdc.balanceOf(poster), FUNDING, "poster untouched");
    }

    function test_RevertGiven_FundWithAuthorizationPaused() public {
        uint256 runId = _draftRun();
        IRunEscrow.Authorization memory auth = _authorization(TOTAL, NONCE);
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(poster);
        escrow.fundWithAuthorization(runId, auth);
    }

    /*//////////////////////////////////////////////////////////////
                             CREATE AND FUND
    //////////////////////////////////////////////////////////////*/

    function test_CreateAndFund_CreatesOpenRun() public {
        uint256 deadline = defaultDeadline();
        Balances memory expected = _balances();
        expected.poster -= TOTAL;
        expected.escrow += TOTAL;

        _expectCreatedAndFunded(1, deadline);
        vm.prank(poster);
        uint256 runId = escrow.createAndFund(SPEC, REWARD, deadline, MAX_REVISIONS);

        assertEq(runId, 1, "id");
        assertEq(escrow.runCount(), 1, "runCount");
        _assertRun(runId, _expectedRun(deadline, IRunEscrow.RunState.OPEN));
        _assertBalances(expected);
    }

    function test_CreateAndFundWithPermit_CreatesOpenRun() public {
        uint256 deadline = defaultDeadline();
        _revokeAllowance();
        IRunEscrow.Permit memory permit = _permit(TOTAL);
        Balances memory expected = _balances();
        expected.poster -= TOTAL;
        expected.escrow += TOTAL;

        _expectCreatedAndFunded(1, deadline);
        vm.prank(poster);
        uint256 runId = escrow.createAndFundWithPermit(SPEC, REWARD, deadline, MAX_REVISIONS, permit);

        assertEq(runId, 1, "id");
        _assertRun(runId, _expectedRun(deadline, IRunEscrow.RunState.OPEN));
        _assertBalances(expected);
        assertEq(usdc.allowance(poster, address(escrow)), 0, "allowance spent");
    }

    function test_CreateAndFundWithAuthorization_CreatesOpenRun() public {
        uint256 deadline = defaultDeadline();
        _revokeAllowance();
        IRunEscrow.Authorization memory auth = _authorization(TOTAL, NONCE);
        Balances memory expected = _balances();
        expected.poster -= TOTAL;
        expected.escrow += TOTAL;

        _expectCreatedAndFunded(1, deadline);
        vm.prank(poster);
        uint256 runId = escrow.createAndFundWithAuthorization(SPEC, REWARD, deadline, MAX_REVISIONS, auth);

        assertEq(runId, 1, "id");
        _assertRun(runId, _expectedRun(deadline, IRunEscrow.RunState.OPEN));
        _assertBalances(expected);
        assertTrue(usdc.authorizationState(poster, NONCE), "nonce used");
    }

    function test_RevertWhen_CreateAndFundSpecURIEmpty() public {
        vm.expectRevert(IRunEscrow.RunEscrowEmptyURI.selector);
        vm.prank(poster);
        escrow.createAndFund("", REWARD, defaultDeadline(), MAX_REVISIONS);
    }

    function test_RevertWhen_CreateAndFundRewardZero() public {
        vm.expectRevert(IRunEscrow.RunEscrowZeroReward.selector);
        vm.prank(poster);
        escrow.createAndFund(SPEC, 0, defaultDeadline(), MAX_REVISIONS);
    }

    function test_RevertWhen_CreateAndFundRewardAboveUint96() public {
        uint256 reward = uint256(type(uint96).max) + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowRewardTooLarge.selector, reward, type(uint96).max)
        );
        vm.prank(poster);
        escrow.createAndFund(SPEC, reward, defaultDeadline(), MAX_REVISIONS);
    }

    function test_RevertWhen_CreateAndFundDeadlineIsNow() public {
        vm.expectRevert(_invalidDeadline(block.timestamp));
        vm.prank(poster);
        escrow.createAndFund(SPEC, REWARD, block.timestamp, MAX_REVISIONS);
    }

    function test_RevertWhen_CreateAndFundDeadlineAboveUint40() public {
        uint256 deadline = uint256(type(uint40).max) + 1;
        vm.expectRevert(_invalidDeadline(deadline));
        vm.prank(poster);
        escrow.createAndFund(SPEC, REWARD, deadline, MAX_REVISIONS);
    }

    function test_RevertWhen_CreateAndFundMaxRevisionsAboveCap() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowTooManyRevisions.selector, 11, 10));
        vm.prank(poster);
        escrow.createAndFund(SPEC, REWARD, defaultDeadline(), 11);
    }

    function test_RevertWhen_CreateAndFundAllowanceInsufficient() public {
        _revokeAllowance();
        vm.expectRevert(_insufficientAllowance(0, TOTAL));
        vm.prank(poster);
        escrow.createAndFund(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS);
        assertEq(escrow.runCount(), 0, "no run left behind");
    }

    function test_RevertGiven_CreateAndFundPaused() public {
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(poster);
        escrow.createAndFund(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS);
    }

    function test_RevertWhen_CreateAndFundWithPermitInputInvalid() public {
        IRunEscrow.Permit memory permit = _permit(TOTAL);
        uint256 deadline = defaultDeadline();
        vm.startPrank(poster);
        vm.expectRevert(IRunEscrow.RunEscrowEmptyURI.selector);
        escrow.createAndFundWithPermit("", REWARD, deadline, MAX_REVISIONS, permit);
        vm.expectRevert(IRunEscrow.RunEscrowZeroReward.selector);
        escrow.createAndFundWithPermit(SPEC, 0, deadline, MAX_REVISIONS, permit);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowRewardTooLarge.selector, uint256(type(uint96).max) + 1, type(uint96).max
            )
        );
        escrow.createAndFundWithPermit(SPEC, uint256(type(uint96).max) + 1, deadline, MAX_REVISIONS, permit);
        vm.expectRevert(_invalidDeadline(block.timestamp - 1));
        escrow.createAndFundWithPermit(SPEC, REWARD, block.timestamp - 1, MAX_REVISIONS, permit);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowTooManyRevisions.selector, 11, 10));
        escrow.createAndFundWithPermit(SPEC, REWARD, deadline, 11, permit);
        vm.stopPrank();
        assertEq(escrow.runCount(), 0, "runCount");
    }

    function test_RevertWhen_CreateAndFundWithPermitSignatureInvalid() public {
        _revokeAllowance();
        IRunEscrow.Permit memory permit =
            token.runEscrowPermit(agentKey, address(escrow), TOTAL, block.timestamp + 1 hours);
        vm.expectRevert(_insufficientAllowance(0, TOTAL));
        vm.prank(poster);
        escrow.createAndFundWithPermit(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, permit);
    }

    function test_RevertGiven_CreateAndFundWithPermitPaused() public {
        IRunEscrow.Permit memory permit = _permit(TOTAL);
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(poster);
        escrow.createAndFundWithPermit(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, permit);
    }

    function test_RevertWhen_CreateAndFundWithAuthorizationInputInvalid() public {
        IRunEscrow.Authorization memory auth = _authorization(TOTAL, NONCE);
        uint256 deadline = defaultDeadline();
        vm.startPrank(poster);
        vm.expectRevert(IRunEscrow.RunEscrowEmptyURI.selector);
        escrow.createAndFundWithAuthorization("", REWARD, deadline, MAX_REVISIONS, auth);
        vm.expectRevert(IRunEscrow.RunEscrowZeroReward.selector);
        escrow.createAndFundWithAuthorization(SPEC, 0, deadline, MAX_REVISIONS, auth);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowRewardTooLarge.selector, uint256(type(uint96).max) + 1, type(uint96).max
            )
        );
        escrow.createAndFundWithAuthorization(
            SPEC, uint256(type(uint96).max) + 1, deadline, MAX_REVISIONS, auth
        );
        vm.expectRevert(_invalidDeadline(block.timestamp));
        escrow.createAndFundWithAuthorization(SPEC, REWARD, block.timestamp, MAX_REVISIONS, auth);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowTooManyRevisions.selector, 11, 10));
        escrow.createAndFundWithAuthorization(SPEC, REWARD, deadline, 11, auth);
        vm.stopPrank();
        assertEq(escrow.runCount(), 0, "runCount");
        assertFalse(usdc.authorizationState(poster, NONCE), "nonce still unused");
    }

    function test_RevertWhen_CreateAndFundWithAuthorizationForOtherAmount() public {
        IRunEscrow.Authorization memory auth = _authorization(REWARD, NONCE);
        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        vm.prank(poster);
        escrow.createAndFundWithAuthorization(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, auth);
    }

    function test_RevertWhen_CreateAndFundWithAuthorizationReplayed() public {
        IRunEscrow.Authorization memory auth = _authorization(TOTAL, NONCE);
        vm.prank(poster);
        escrow.createAndFundWithAuthorization(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, auth);
        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationUsed.selector, poster, NONCE));
        vm.prank(poster);
        escrow.createAndFundWithAuthorization(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, auth);
        assertEq(escrow.runCount(), 1, "runCount");
    }

    function test_RevertWhen_CreateAndFundWithAuthorizationUsedByStranger() public {
        IRunEscrow.Authorization memory auth = _authorization(TOTAL, NONCE);
        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        vm.prank(stranger);
        escrow.createAndFundWithAuthorization(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, auth);
    }

    function test_RevertGiven_CreateAndFundWithAuthorizationPaused() public {
        IRunEscrow.Authorization memory auth = _authorization(TOTAL, NONCE);
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(poster);
        escrow.createAndFundWithAuthorization(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, auth);
    }

    /*//////////////////////////////////////////////////////////////
                                  CANCEL
    //////////////////////////////////////////////////////////////*/

    function test_Cancel_DraftRefundsNothing() public {
        uint256 runId = _draftRun();
        uint256 deadline = defaultDeadline();
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, 0);
        vm.recordLogs();
        vm.prank(poster);
        escrow.cancel(runId);

        assertEq(vm.getRecordedLogs().length, 1, "only RunCancelled, no transfer");
        _assertRun(runId, _expectedRun(deadline, IRunEscrow.RunState.CANCELLED));
        _assertBalances(expected);
    }

    function test_Cancel_OpenRefundsRewardAndFee() public {
        uint256 runId = _openRun();
        uint256 deadline = defaultDeadline();
        Balances memory expected = _balances();
        expected.poster += TOTAL;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, TOTAL);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(address(escrow), poster, TOTAL);
        vm.prank(poster);
        escrow.cancel(runId);

        _assertRun(runId, _expectedRun(deadline, IRunEscrow.RunState.CANCELLED));
        _assertBalances(expected);
    }

    function test_Cancel_OpenRunPastDeadline() public {
        uint256 runId = _openRun();
        vm.warp(escrow.getRun(runId).deadline + 1);
        Balances memory expected = _balances();
        expected.poster += TOTAL;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, TOTAL);
        vm.prank(poster);
        escrow.cancel(runId);

        assertState(runId, IRunEscrow.RunState.CANCELLED);
        _assertBalances(expected);
    }

    function test_Cancel_WorksWhilePaused() public {
        uint256 runId = _openRun();
        _pause();
        Balances memory expected = _balances();
        expected.poster += TOTAL;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, TOTAL);
        vm.prank(poster);
        escrow.cancel(runId);

        assertState(runId, IRunEscrow.RunState.CANCELLED);
        _assertBalances(expected);
    }

    function test_RevertWhen_CancelCallerNotPoster() public {
        uint256 runId = _openRun();
        vm.expectRevert(_notPoster(runId, stranger));
        vm.prank(stranger);
        escrow.cancel(runId);
    }

    function test_RevertWhen_CancelUnknownRun() public {
        _openRun();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 2));
        vm.prank(poster);
        escrow.cancel(2);
    }

    function test_RevertGiven_CancelRunClaimed() public {
        _assertCancelReverts(IRunEscrow.RunState.CLAIMED);
    }

    function test_RevertGiven_CancelRunInProgress() public {
        _assertCancelReverts(IRunEscrow.RunState.IN_PROGRESS);
    }

    function test_RevertGiven_CancelRunSubmitted() public {
        _assertCancelReverts(IRunEscrow.RunState.SUBMITTED);
    }

    function test_RevertGiven_CancelRunApproved() public {
        _assertCancelReverts(IRunEscrow.RunState.APPROVED);
    }

    function test_RevertGiven_CancelRunRevisionRequested() public {
        _assertCancelReverts(IRunEscrow.RunState.REVISION_REQUESTED);
    }

    function test_RevertGiven_CancelRunRejected() public {
        _assertCancelReverts(IRunEscrow.RunState.REJECTED);
    }

    function test_RevertGiven_CancelRunCancelled() public {
        _assertCancelReverts(IRunEscrow.RunState.CANCELLED);
    }

    function test_RevertGiven_CancelRunExpired() public {
        _assertCancelReverts(IRunEscrow.RunState.EXPIRED);
    }

    /*//////////////////////////////////////////////////////////////
                                 APPROVE
    //////////////////////////////////////////////////////////////*/

    function test_Approve_PaysAgentAndTreasury() public {
        uint256 agentId = _theAgent();
        uint256 runId = _submittedRun(agentId);
        IRunEscrow.Run memory before = escrow.getRun(runId);
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.treasury += FEE;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, false);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(address(escrow), agentWallet, REWARD);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(address(escrow), treasury, FEE);
        vm.prank(poster);
        escrow.approve(runId);

        before.state = IRunEscrow.RunState.APPROVED;
        _assertRun(runId, before);
        _assertBalances(expected);
        _assertAgentCounters(agentId, 0, 1, 1, REWARD);
        assertEq(vault.getAgent(agentId).stake, MIN_STAKE, "stake untouched");
    }

    function test_Approve_AfterRevisions() public {
        uint256 agentId = _theAgent();
        uint256 runId = _exhaustedRun(agentId);
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.treasury += FEE;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, false);
        vm.prank(poster);
        escrow.approve(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertEq(escrow.getRun(runId).revisionCount, MAX_REVISIONS, "revisionCount kept");
        _assertBalances(expected);
    }

    function test_Approve_WorksWhilePaused() public {
        uint256 agentId = _theAgent();
        uint256 runId = _submittedRun(agentId);
        _pause();
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.treasury += FEE;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, false);
        vm.prank(poster);
        escrow.approve(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        _assertBalances(expected);
    }

    function test_RevertWhen_ApproveCallerNotPoster() public {
        uint256 runId = _submittedRun(_theAgent());
        vm.expectRevert(_notPoster(runId, stranger));
        vm.prank(stranger);
        escrow.approve(runId);
    }

    function test_RevertWhen_ApproveCallerIsAgent() public {
        uint256 runId = _submittedRun(_theAgent());
        vm.expectRevert(_notPoster(runId, agentWallet));
        vm.prank(agentWallet);
        escrow.approve(runId);
    }

    function test_RevertWhen_ApproveUnknownRun() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 7));
        vm.prank(poster);
        escrow.approve(7);
    }

    function test_RevertGiven_ApproveRunOpen() public {
        _assertApproveReverts(IRunEscrow.RunState.OPEN);
    }

    function test_RevertGiven_ApproveRunClaimed() public {
        _assertApproveReverts(IRunEscrow.RunState.CLAIMED);
    }

    function test_RevertGiven_ApproveRunInProgress() public {
        _assertApproveReverts(IRunEscrow.RunState.IN_PROGRESS);
    }

    function test_RevertGiven_ApproveRunRevisionRequested() public {
        _assertApproveReverts(IRunEscrow.RunState.REVISION_REQUESTED);
    }

    function test_RevertGiven_ApproveRunApproved() public {
        _assertApproveReverts(IRunEscrow.RunState.APPROVED);
    }

    function test_RevertGiven_ApproveRunRejected() public {
        _assertApproveReverts(IRunEscrow.RunState.REJECTED);
    }

    /*//////////////////////////////////////////////////////////////
                             REQUEST REVISION
    //////////////////////////////////////////////////////////////*/

    function test_RequestRevision_ReturnsRunToAgent() public {
        uint256 agentId = _theAgent();
        uint256 runId = _submittedRun(agentId);
        skip(2 days);
        IRunEscrow.Run memory expectedRun = escrow.getRun(runId);
        expectedRun.state = IRunEscrow.RunState.REVISION_REQUESTED;
        expectedRun.revisionCount = 1;
        expectedRun.timerStart = uint64(block.timestamp);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RevisionRequested(runId, agentId, REASON, 1);
        vm.recordLogs();
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);

        assertEq(vm.getRecordedLogs().length, 1, "only RevisionRequested");
        _assertRun(runId, expectedRun);
        _assertBalances(expected);
        _assertAgentCounters(agentId, 1, 1, 0, 0);
    }

    function test_RequestRevision_CountsUpToMax() public {
        uint256 agentId = _theAgent();
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
        assertState(runId, IRunEscrow.RunState.SUBMITTED);
    }

    function test_RequestRevision_WorksWhilePaused() public {
        uint256 agentId = _theAgent();
        uint256 runId = _submittedRun(agentId);
        _pause();
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RevisionRequested(runId, agentId, REASON, 1);
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
        assertState(runId, IRunEscrow.RunState.REVISION_REQUESTED);
    }

    function test_RevertGiven_RequestRevisionRevisionsExhausted() public {
        uint256 runId = _exhaustedRun(_theAgent());
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowRevisionsExhausted.selector, runId, MAX_REVISIONS)
        );
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
    }

    function test_RevertGiven_RequestRevisionMaxRevisionsZero() public {
        uint256 runId = _submittedRunWithMaxRevisions(0);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRevisionsExhausted.selector, runId, 0));
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
    }

    function test_RevertWhen_RequestRevisionCallerNotPoster() public {
        uint256 runId = _submittedRun(_theAgent());
        vm.expectRevert(_notPoster(runId, stranger));
        vm.prank(stranger);
        escrow.requestRevision(runId, REASON);
    }

    function test_RevertWhen_RequestRevisionUnknownRun() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 1));
        vm.prank(poster);
        escrow.requestRevision(1, REASON);
    }

    function test_RevertGiven_RequestRevisionRunClaimed() public {
        uint256 runId = _runInState(IRunEscrow.RunState.CLAIMED);
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.CLAIMED));
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
    }

    function test_RevertGiven_RequestRevisionRunRevisionRequested() public {
        uint256 runId = _runInState(IRunEscrow.RunState.REVISION_REQUESTED);
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.REVISION_REQUESTED));
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
    }

    function test_RevertGiven_RequestRevisionRunApproved() public {
        uint256 runId = _runInState(IRunEscrow.RunState.APPROVED);
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.APPROVED));
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
    }

    /*//////////////////////////////////////////////////////////////
                                  REJECT
    //////////////////////////////////////////////////////////////*/

    function test_Reject_RefundsPosterAfterLastRevision() public {
        uint256 agentId = _theAgent();
        uint256 runId = _exhaustedRun(agentId);
        IRunEscrow.Run memory expectedRun = escrow.getRun(runId);
        expectedRun.state = IRunEscrow.RunState.REJECTED;
        Balances memory expected = _balances();
        expected.poster += TOTAL;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(runId, agentId, poster, TOTAL);
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(address(escrow), poster, TOTAL);
        vm.prank(poster);
        escrow.reject(runId);

        _assertRun(runId, expectedRun);
        _assertBalances(expected);
        _assertAgentCounters(agentId, 0, 1, 0, 0);
        assertEq(vault.getAgent(agentId).stake, MIN_STAKE, "stake untouched");
        assertEq(vault.getAgent(agentId).slashes, 0, "not slashed");
    }

    function test_Reject_MaxRevisionsZeroRightAfterSubmission() public {
        uint256 runId = _submittedRunWithMaxRevisions(0);
        uint256 agentId = escrow.getRun(runId).agentId;
        Balances memory expected = _balances();
        expected.poster += TOTAL;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(runId, agentId, poster, TOTAL);
        vm.prank(poster);
        escrow.reject(runId);

        assertState(runId, IRunEscrow.RunState.REJECTED);
        assertEq(escrow.getRun(runId).revisionCount, 0, "revisionCount");
        _assertBalances(expected);
        _assertAgentCounters(agentId, 0, 1, 0, 0);
    }

    function test_Reject_WorksWhilePaused() public {
        uint256 agentId = _theAgent();
        uint256 runId = _exhaustedRun(agentId);
        _pause();
        Balances memory expected = _balances();
        expected.poster += TOTAL;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(runId, agentId, poster, TOTAL);
        vm.prank(poster);
        escrow.reject(runId);

        assertState(runId, IRunEscrow.RunState.REJECTED);
        _assertBalances(expected);
    }

    function test_RevertGiven_RejectNoRevisionUsed() public {
        uint256 runId = _submittedRun(_theAgent());
        vm.expectRevert(_revisionsRemaining(runId, 0, MAX_REVISIONS));
        vm.prank(poster);
        escrow.reject(runId);
    }

    function test_RevertGiven_RejectRevisionsRemaining() public {
        uint256 runId = _submittedRun(_theAgent());
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);

        vm.expectRevert(_revisionsRemaining(runId, 1, MAX_REVISIONS));
        vm.prank(poster);
        escrow.reject(runId);
    }

    function test_RevertWhen_RejectCallerNotPoster() public {
        uint256 runId = _exhaustedRun(_theAgent());
        vm.expectRevert(_notPoster(runId, stranger));
        vm.prank(stranger);
        escrow.reject(runId);
    }

    function test_RevertWhen_RejectUnknownRun() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 1));
        vm.prank(poster);
        escrow.reject(1);
    }

    function test_RevertGiven_RejectRunClaimed() public {
        uint256 runId = _runInState(IRunEscrow.RunState.CLAIMED);
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.CLAIMED));
        vm.prank(poster);
        escrow.reject(runId);
    }

    function test_RevertGiven_RejectRunRevisionRequested() public {
        uint256 runId = _submittedRunWithMaxRevisions(1);
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
        // revisionCount == maxRevisions now, but the agent still has to deliver the revision.
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.REVISION_REQUESTED));
        vm.prank(poster);
        escrow.reject(runId);
    }

    function test_RevertGiven_RejectRunOpen() public {
        uint256 runId = _openRun();
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.OPEN));
        vm.prank(poster);
        escrow.reject(runId);
    }

    function test_RevertGiven_RejectRunRejected() public {
        uint256 runId = _runInState(IRunEscrow.RunState.REJECTED);
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.REJECTED));
        vm.prank(poster);
        escrow.reject(runId);
    }

    /*//////////////////////////////////////////////////////////////
                              SET PARAMETERS
    //////////////////////////////////////////////////////////////*/

    function test_SetParameters_StartsNewVersion() public {
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.ParametersUpdated(2, 1000, 2 days, 3 days);
        vm.prank(owner);
        escrow.setParameters(1000, 2 days, 3 days);
        _assertParameters(2, 1000, 2 days, 3 days);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.ParametersUpdated(3, 0, 1 hours, 90 days);
        vm.prank(owner);
        escrow.setParameters(0, 1 hours, 90 days);
        _assertParameters(3, 0, 1 hours, 90 days);
    }

    function test_SetParameters_AcceptsClaimTimeoutEqualToCooldown() public {
        vm.prank(owner);
        escrow.setParameters(FEE_BPS, COOLDOWN, REVIEW_PERIOD);
        _assertParameters(2, FEE_BPS, COOLDOWN, REVIEW_PERIOD);
    }

    function test_SetParameters_LiveRunsKeepTheirTerms() public {
        uint256 oldRun = _openRun();
        vm.prank(owner);
        escrow.setParameters(1000, 2 days, 3 days);
        uint256 newRun = _openRun();

        IRunEscrow.Run memory oldTerms = escrow.getRun(oldRun);
        assertEq(oldTerms.fee, FEE, "old fee");
        assertEq(oldTerms.claimTimeout, CLAIM_TIMEOUT, "old claim timeout");
        assertEq(oldTerms.reviewPeriod, REVIEW_PERIOD, "old review period");

        IRunEscrow.Run memory newTerms = escrow.getRun(newRun);
        assertEq(newTerms.fee, REWARD / 10, "new fee");
        assertEq(newTerms.claimTimeout, 2 days, "new claim timeout");
        assertEq(newTerms.reviewPeriod, 3 days, "new review period");
    }

    function test_SetParameters_NewRunEmitsNewTerms() public {
        vm.prank(owner);
        escrow.setParameters(1000, 2 days, 3 days);
        uint256 deadline = defaultDeadline();
        Balances memory expected = _balances();
        expected.poster -= REWARD + REWARD / 10;
        expected.escrow += REWARD + REWARD / 10;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCreated(
            1, poster, SPEC, REWARD, REWARD / 10, uint64(deadline), MAX_REVISIONS, 2 days, 3 days
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(1, poster, REWARD + REWARD / 10);
        vm.prank(poster);
        escrow.createAndFund(SPEC, REWARD, deadline, MAX_REVISIONS);
        _assertBalances(expected);
    }

    function test_SetParameters_ApprovalPaysSnapshottedFee() public {
        uint256 agentId = _theAgent();
        uint256 runId = _submittedRun(agentId);
        vm.prank(owner);
        escrow.setParameters(1000, 2 days, 3 days);
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.treasury += FEE;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, false);
        vm.prank(poster);
        escrow.approve(runId);
        _assertBalances(expected);
    }

    function test_RevertWhen_SetParametersCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        escrow.setParameters(FEE_BPS, CLAIM_TIMEOUT, REVIEW_PERIOD);
    }

    function test_RevertWhen_SetParametersFeeAboveMax() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowFeeTooHigh.selector, 1001, 1000));
        vm.prank(owner);
        escrow.setParameters(1001, CLAIM_TIMEOUT, REVIEW_PERIOD);
    }

    function test_RevertWhen_SetParametersClaimTimeoutBelowMin() public {
        vm.expectRevert(_invalidTimeout(1 hours - 1));
        vm.prank(owner);
        escrow.setParameters(FEE_BPS, 1 hours - 1, REVIEW_PERIOD);
    }

    function test_RevertWhen_SetParametersClaimTimeoutAboveMax() public {
        vm.expectRevert(_invalidTimeout(90 days + 1));
        vm.prank(owner);
        escrow.setParameters(FEE_BPS, 90 days + 1, REVIEW_PERIOD);
    }

    function test_RevertWhen_SetParametersReviewPeriodBelowMin() public {
        vm.expectRevert(_invalidTimeout(1 hours - 1));
        vm.prank(owner);
        escrow.setParameters(FEE_BPS, CLAIM_TIMEOUT, 1 hours - 1);
    }

    function test_RevertWhen_SetParametersReviewPeriodAboveMax() public {
        vm.expectRevert(_invalidTimeout(90 days + 1));
        vm.prank(owner);
        escrow.setParameters(FEE_BPS, CLAIM_TIMEOUT, 90 days + 1);
    }

    function test_RevertWhen_SetParametersClaimTimeoutExceedsCooldown() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowTimeoutExceedsCooldown.selector, COOLDOWN + 1, COOLDOWN
            )
        );
        vm.prank(owner);
        escrow.setParameters(FEE_BPS, COOLDOWN + 1, REVIEW_PERIOD);
        _assertParameters(1, FEE_BPS, CLAIM_TIMEOUT, REVIEW_PERIOD);
    }

    /*//////////////////////////////////////////////////////////////
                               SET TREASURY
    //////////////////////////////////////////////////////////////*/

    function test_SetTreasury_UpdatesTreasury() public {
        address newTreasury = makeAddr("newTreasury");
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.TreasuryUpdated(treasury, newTreasury);
        vm.prank(owner);
        escrow.setTreasury(newTreasury);
        assertEq(escrow.treasury(), newTreasury, "treasury");
    }

    function test_SetTreasury_LaterFeesGoToNewTreasury() public {
        address newTreasury = makeAddr("newTreasury");
        uint256 agentId = _theAgent();
        uint256 runId = _submittedRun(agentId); // created and funded under the old treasury
        vm.prank(owner);
        escrow.setTreasury(newTreasury);
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.escrow -= TOTAL;

        vm.prank(poster);
        escrow.approve(runId);

        assertEq(usdc.balanceOf(newTreasury), FEE, "new treasury paid");
        _assertBalances(expected); // includes: the old treasury got nothing
    }

    function test_RevertWhen_SetTreasuryCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        escrow.setTreasury(stranger);
    }

    function test_RevertWhen_SetTreasuryZeroAddress() public {
        vm.expectRevert(IRunEscrow.RunEscrowZeroAddress.selector);
        vm.prank(owner);
        escrow.setTreasury(address(0));
    }

    function test_RevertWhen_SetTreasuryIsEscrowOrVault() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidTreasury.selector, address(escrow)));
        vm.prank(owner);
        escrow.setTreasury(address(escrow));

        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidTreasury.selector, address(vault)));
        vm.prank(owner);
        escrow.setTreasury(address(vault));
        assertEq(escrow.treasury(), treasury, "treasury unchanged");
    }

    function test_RevertWhen_ConstructorTreasuryIsVault() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidTreasury.selector, address(vault)));
        new RunEscrow(token, vault, owner, address(vault), FEE_BPS, CLAIM_TIMEOUT, REVIEW_PERIOD);
    }

    function test_RevertWhen_RenounceOwnership() public {
        vm.expectRevert(IRunEscrow.RunEscrowCannotRenounceOwnership.selector);
        vm.prank(owner);
        escrow.renounceOwnership();
        assertEq(escrow.owner(), owner, "owner unchanged");
    }

    function test_RevertWhen_RenounceOwnershipCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        escrow.renounceOwnership();
    }

    /*//////////////////////////////////////////////////////////////
                              PAUSE / UNPAUSE
    //////////////////////////////////////////////////////////////*/

    function test_Pause_EmitsPaused() public {
        vm.expectEmit(true, true, true, true, address(escrow));
        emit Pausable.Paused(owner);
        vm.prank(owner);
        escrow.pause();
        assertTrue(escrow.paused(), "paused");
    }

    function test_Unpause_EmitsUnpausedAndReopens() public {
        _pause();
        vm.expectEmit(true, true, true, true, address(escrow));
        emit Pausable.Unpaused(owner);
        vm.prank(owner);
        escrow.unpause();
        assertFalse(escrow.paused(), "paused");
        assertEq(_openRun(), 1, "runs can be created again");
    }

    function test_RevertWhen_PauseCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        escrow.pause();
    }

    function test_RevertWhen_UnpauseCallerNotOwner() public {
        _pause();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        escrow.unpause();
    }

    function test_RevertGiven_PauseAlreadyPaused() public {
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(owner);
        escrow.pause();
    }

    function test_RevertGiven_UnpauseNotPaused() public {
        vm.expectRevert(Pausable.ExpectedPause.selector);
        vm.prank(owner);
        escrow.unpause();
    }

    function test_RevertGiven_ClaimPaused() public {
        uint256 agentId = _theAgent();
        uint256 runId = _openRun();
        _pause();
        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowNotClaimable.selector, runId, agentId, ClaimReasons.CLAIMS_PAUSED
            )
        );
        vm.prank(agentWallet);
        escrow.claim(runId, agentId);
    }

    /*//////////////////////////////////////////////////////////////
                                OWNERSHIP
    //////////////////////////////////////////////////////////////*/

    function test_TransferOwnership_StartsTwoStepTransfer() public {
        address newOwner = makeAddr("newOwner");
        vm.expectEmit(true, true, true, true, address(escrow));
        emit Ownable2Step.OwnershipTransferStarted(owner, newOwner);
        vm.prank(owner);
        escrow.transferOwnership(newOwner);
        assertEq(escrow.owner(), owner, "owner unchanged");
        assertEq(escrow.pendingOwner(), newOwner, "pending owner");
    }

    function test_AcceptOwnership_CompletesTransfer() public {
        address newOwner = makeAddr("newOwner");
        vm.prank(owner);
        escrow.transferOwnership(newOwner);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit Ownable.OwnershipTransferred(owner, newOwner);
        vm.prank(newOwner);
        escrow.acceptOwnership();
        assertEq(escrow.owner(), newOwner, "owner");
        assertEq(escrow.pendingOwner(), address(0), "pending cleared");

        vm.prank(newOwner);
        escrow.pause();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        vm.prank(owner);
        escrow.unpause();
    }

    function test_RevertWhen_AcceptOwnershipCallerNotPending() public {
        vm.prank(owner);
        escrow.transferOwnership(makeAddr("newOwner"));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        escrow.acceptOwnership();
    }

    function test_RevertWhen_TransferOwnershipCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        escrow.transferOwnership(stranger);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    function test_RevertWhen_GetRunIdZero() public {
        _draftRun();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 0));
        escrow.getRun(0);
    }

    function test_RevertWhen_GetRunIdAboveCount() public {
        _draftRun();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 2));
        escrow.getRun(2);
    }

    function test_CreditOf_DefaultsToZero() public {
        _submittedRun(_theAgent());
        assertEq(escrow.creditOf(poster), 0, "poster");
        assertEq(escrow.creditOf(agentWallet), 0, "agent");
        assertEq(escrow.creditOf(treasury), 0, "treasury");
        assertEq(escrow.creditOf(address(0)), 0, "zero");
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev The fixture's agent, registered and staked on first use.
    function _theAgent() internal returns (uint256 agentId) {
        agentId = vault.agentIdOf(agentWallet);
        if (agentId == 0) agentId = _agent();
    }

    function _submittedRunWithMaxRevisions(uint256 maxRevisions) internal returns (uint256 runId) {
        uint256 agentId = _theAgent();
        runId = _openRun(REWARD, maxRevisions);
        vm.prank(agentWallet);
        escrow.claim(runId, agentId);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
    }

    /// @dev Walks a fresh run (poster: the fixture's poster; agent: the fixture's agent) to `state`.
    function _runInState(IRunEscrow.RunState state) internal returns (uint256 runId) {
        if (state == IRunEscrow.RunState.DRAFT) return _draftRun();
        runId = _openRun();
        if (state == IRunEscrow.RunState.OPEN) return runId;
        if (state == IRunEscrow.RunState.CANCELLED) {
            vm.prank(poster);
            escrow.cancel(runId);
            return runId;
        }
        if (state == IRunEscrow.RunState.EXPIRED) {
            vm.warp(escrow.getRun(runId).deadline + 1);
            escrow.expire(runId);
            return runId;
        }
        uint256 agentId = _theAgent();
        vm.prank(agentWallet);
        escrow.claim(runId, agentId);
        if (state == IRunEscrow.RunState.CLAIMED) return runId;
        if (state == IRunEscrow.RunState.IN_PROGRESS) {
            vm.prank(agentWallet);
            escrow.start(runId);
            return runId;
        }
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        if (state == IRunEscrow.RunState.SUBMITTED) return runId;
        if (state == IRunEscrow.RunState.APPROVED) {
            vm.prank(poster);
            escrow.approve(runId);
            return runId;
        }
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
        if (state == IRunEscrow.RunState.REVISION_REQUESTED) return runId;
        // REJECTED: use up the remaining revisions, then reject.
        for (uint256 i = 1; i < MAX_REVISIONS; ++i) {
            vm.prank(agentWallet);
            escrow.submit(runId, DELIVERABLE);
            vm.prank(poster);
            escrow.requestRevision(runId, REASON);
        }
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        vm.prank(poster);
        escrow.reject(runId);
    }

    function _assertCancelReverts(IRunEscrow.RunState state) internal {
        uint256 runId = _runInState(state);
        assertState(runId, state);
        Balances memory expected = _balances();
        vm.expectRevert(_invalidState(runId, state));
        vm.prank(poster);
        escrow.cancel(runId);
        _assertBalances(expected);
    }

    function _assertApproveReverts(IRunEscrow.RunState state) internal {
        uint256 runId = _runInState(state);
        assertState(runId, state);
        vm.expectRevert(_invalidState(runId, state));
        vm.prank(poster);
        escrow.approve(runId);
    }

    function _assertFeeOf(uint256 reward, uint256 fee) internal {
        vm.prank(poster);
        uint256 runId = escrow.createRun(SPEC, reward, defaultDeadline(), MAX_REVISIONS);
        assertEq(escrow.getRun(runId).fee, fee, "fee");
        uint256 before = usdc.balanceOf(poster);
        vm.prank(poster);
        escrow.fund(runId);
        assertEq(before - usdc.balanceOf(poster), reward + fee, "pulled");
    }

    function _expectCreatedAndFunded(uint256 runId, uint256 deadline) internal {
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCreated(
            runId, poster, SPEC, REWARD, FEE, uint64(deadline), MAX_REVISIONS, CLAIM_TIMEOUT, REVIEW_PERIOD
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(runId, poster, TOTAL);
    }

    function _expectedRun(uint256 deadline, IRunEscrow.RunState state)
        internal
        view
        returns (IRunEscrow.Run memory)
    {
        return IRunEscrow.Run({
            poster: poster,
            agentId: 0,
            deadline: uint64(deadline),
            state: state,
            revisionCount: 0,
            maxRevisions: MAX_REVISIONS,
            reward: REWARD,
            fee: FEE,
            timerStart: 0,
            claimTimeout: CLAIM_TIMEOUT,
            reviewPeriod: REVIEW_PERIOD
        });
    }

    function _assertRun(uint256 runId, IRunEscrow.Run memory expected) internal view {
        IRunEscrow.Run memory actual = escrow.getRun(runId);
        assertEq(actual.poster, expected.poster, "run.poster");
        assertEq(actual.agentId, expected.agentId, "run.agentId");
        assertEq(actual.deadline, expected.deadline, "run.deadline");
        assertEq(uint256(actual.state), uint256(expected.state), "run.state");
        assertEq(actual.revisionCount, expected.revisionCount, "run.revisionCount");
        assertEq(actual.maxRevisions, expected.maxRevisions, "run.maxRevisions");
        assertEq(actual.reward, expected.reward, "run.reward");
        assertEq(actual.fee, expected.fee, "run.fee");
        assertEq(actual.timerStart, expected.timerStart, "run.timerStart");
        assertEq(actual.claimTimeout, expected.claimTimeout, "run.claimTimeout");
        assertEq(actual.reviewPeriod, expected.reviewPeriod, "run.reviewPeriod");
    }

    function _assertAgentCounters(
        uint256 agentId,
        uint256 activeClaims,
        uint256 claims,
        uint256 completions,
        uint256 volume
    ) internal view {
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.activeClaims, activeClaims, "agent.activeClaims");
        assertEq(agent.claims, claims, "agent.claims");
        assertEq(agent.completions, completions, "agent.completions");
        assertEq(agent.volume, volume, "agent.volume");
    }

    function _assertParameters(uint256 version, uint256 feeBps, uint256 claimTimeout, uint256 reviewPeriod)
        internal
        view
    {
        (uint256 v, uint16 f, uint32 c, uint32 r) = escrow.parameters();
        assertEq(v, version, "parameters.version");
        assertEq(f, feeBps, "parameters.feeBps");
        assertEq(c, claimTimeout, "parameters.claimTimeout");
        assertEq(r, reviewPeriod, "parameters.reviewPeriod");
    }

    function _balances() internal view returns (Balances memory b) {
        b.poster = usdc.balanceOf(poster);
        b.escrow = usdc.balanceOf(address(escrow));
        b.treasury = usdc.balanceOf(treasury);
        b.agent = usdc.balanceOf(agentWallet);
        b.stranger = usdc.balanceOf(stranger);
        b.vault = usdc.balanceOf(address(vault));
    }

    function _assertBalances(Balances memory expected) internal view {
        Balances memory actual = _balances();
        assertEq(actual.poster, expected.poster, "balance: poster");
        assertEq(actual.escrow, expected.escrow, "balance: escrow");
        assertEq(actual.treasury, expected.treasury, "balance: treasury");
        assertEq(actual.agent, expected.agent, "balance: agent");
        assertEq(actual.stranger, expected.stranger, "balance: stranger");
        assertEq(actual.vault, expected.vault, "balance: vault");
    }

    function _pause() internal {
        vm.prank(owner);
        escrow.pause();
    }

    function _revokeAllowance() internal {
        vm.prank(poster);
        usdc.approve(address(escrow), 0);
    }

    function _permit(uint256 value) internal view returns (IRunEscrow.Permit memory) {
        return token.runEscrowPermit(posterKey, address(escrow), value, block.timestamp + 1 hours);
    }

    function _authorization(uint256 value, bytes32 nonce)
        internal
        view
        returns (IRunEscrow.Authorization memory)
    {
        return token.runEscrowAuthorization(
            posterKey, address(escrow), value, block.timestamp - 1, block.timestamp + 1 hours, nonce
        );
    }

    function _vaultWithCooldown(uint32 cooldown) internal returns (StakeVault) {
        IStakeVault.Parameters memory params = defaultVaultParameters();
        params.unstakeCooldown = cooldown;
        return new StakeVault(token, owner, params);
    }

    function _notPoster(uint256 runId, address caller) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowNotPoster.selector, runId, caller);
    }

    function _invalidState(uint256 runId, IRunEscrow.RunState state) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, state);
    }

    function _invalidDeadline(uint256 deadline) internal view returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidDeadline.selector, deadline, block.timestamp);
    }

    function _invalidTimeout(uint256 value) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidTimeout.selector, value, 1 hours, 90 days);
    }

    function _revisionsRemaining(uint256 runId, uint8 count, uint8 max) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowRevisionsRemaining.selector, runId, count, max);
    }

    function _insufficientAllowance(uint256 allowance, uint256 needed) internal view returns (bytes memory) {
        return abi.encodeWithSelector(
            IERC20Errors.ERC20InsufficientAllowance.selector, address(escrow), allowance, needed
        );
    }
}
