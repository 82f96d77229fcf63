// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.t.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";
import {ClaimReasons} from "../contracts/libraries/ClaimReasons.sol";

/// @title RunEscrowFuzzTest
/// @notice Property tests of the money and the clocks of RunEscrow (and the vault's unstake cooldown):
/// exact amounts for any reward and fee rate, and both sides of every timing boundary.
contract RunEscrowFuzzTest is Base {
    uint256 internal constant BPS = 10_000;
    uint256 internal constant MAX_FEE_BPS = 1000;
    uint256 internal constant MAX_REWARD = type(uint96).max;

    /*//////////////////////////////////////////////////////////////
                                 FUNDING
    //////////////////////////////////////////////////////////////*/

    function testFuzz_CreateAndFund_PullsRewardPlusFee(
        uint256 reward,
        uint256 feeBps,
        uint256 deadlineOffset,
        uint256 maxRevisions
    ) public {
        reward = bound(reward, 1, MAX_REWARD);
        feeBps = bound(feeBps, 0, MAX_FEE_BPS);
        deadlineOffset = bound(deadlineOffset, 1, 5 * 365 days);
        maxRevisions = bound(maxRevisions, 0, escrow.MAX_REVISIONS());
        _setParameters(feeBps, CLAIM_TIMEOUT, REVIEW_PERIOD);

        uint256 fee = reward * feeBps / BPS;
        // The fee rounds down: the largest whole amount not above reward * feeBps / 10_000.
        assertLe(fee * BPS, reward * feeBps, "fee rounds up");
        assertGt((fee + 1) * BPS, reward * feeBps, "fee rounds down too far");
        assertLe(fee, reward / 10, "fee above 10%");
        _mintTo(poster, reward + fee);

        uint256 deadline = block.timestamp + deadlineOffset;
        uint256 posterBefore = usdc.balanceOf(poster);
        uint256 escrowBefore = usdc.balanceOf(address(escrow));
        uint256 vaultBefore = usdc.balanceOf(address(vault));
        uint256 treasuryBefore = usdc.balanceOf(treasury);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCreated(
            1, poster, SPEC, reward, fee, uint64(deadline), uint8(maxRevisions), CLAIM_TIMEOUT, REVIEW_PERIOD
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(1, poster, reward + fee);
        vm.prank(poster);
        uint256 runId = escrow.createAndFund(SPEC, reward, deadline, maxRevisions);

        assertEq(runId, 1, "runId");
        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(run.poster, poster, "poster");
        assertEq(run.agentId, 0, "agentId");
        assertEq(run.deadline, deadline, "deadline");
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.OPEN), "state");
        assertEq(run.revisionCount, 0, "revisionCount");
        assertEq(run.maxRevisions, maxRevisions, "maxRevisions");
        assertEq(run.reward, reward, "reward");
        assertEq(run.fee, fee, "fee");
        assertEq(run.timerStart, 0, "timerStart");
        assertEq(run.claimTimeout, CLAIM_TIMEOUT, "claimTimeout");
        assertEq(run.reviewPeriod, REVIEW_PERIOD, "reviewPeriod");

        assertEq(posterBefore - usdc.balanceOf(poster), reward + fee, "poster paid");
        assertEq(usdc.balanceOf(address(escrow)) - escrowBefore, reward + fee, "escrow received");
        assertEq(usdc.balanceOf(address(vault)), vaultBefore, "vault moved");
        assertEq(usdc.balanceOf(treasury), treasuryBefore, "treasury moved");
    }

    function testFuzz_Cancel_RefundsExactly(uint256 reward, uint256 feeBps, bool funded) public {
        reward = bound(reward, 1, MAX_REWARD);
        feeBps = bound(feeBps, 0, MAX_FEE_BPS);
        _setParameters(feeBps, CLAIM_TIMEOUT, REVIEW_PERIOD);
        uint256 fee = reward * feeBps / BPS;
        _mintTo(poster, reward + fee);
        uint256 posterBefore = usdc.balanceOf(poster);
        uint256 escrowBefore = usdc.balanceOf(address(escrow));

        vm.prank(poster);
        uint256 runId = funded
            ? escrow.createAndFund(SPEC, reward, defaultDeadline(), MAX_REVISIONS)
            : escrow.createRun(SPEC, reward, defaultDeadline(), MAX_REVISIONS);
        uint256 refund = funded ? reward + fee : 0;
        assertEq(posterBefore - usdc.balanceOf(poster), refund, "escrowed");

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, refund);
        vm.prank(poster);
        escrow.cancel(runId);

        assertState(runId, IRunEscrow.RunState.CANCELLED);
        assertEq(usdc.balanceOf(poster), posterBefore, "poster made whole");
        assertEq(usdc.balanceOf(address(escrow)), escrowBefore, "escrow back to before");
        assertEq(usdc.balanceOf(treasury), 0, "treasury paid");
        assertEq(escrow.creditOf(poster), 0, "credit");
    }

    /*//////////////////////////////////////////////////////////////
                                 APPROVAL
    //////////////////////////////////////////////////////////////*/

    function testFuzz_Approve_PaysExactly(uint256 reward, uint256 feeBps) public {
        reward = bound(reward, 1, MAX_REWARD);
        feeBps = bound(feeBps, 0, MAX_FEE_BPS);
        _setParameters(feeBps, CLAIM_TIMEOUT, REVIEW_PERIOD);
        uint256 fee = reward * feeBps / BPS;
        _mintTo(poster, reward + fee);
        uint256 agentId = _agent();
        uint256 escrowBefore = usdc.balanceOf(address(escrow));
        uint256 vaultBefore = usdc.balanceOf(address(vault));

        uint256 runId = _openRun(reward, MAX_REVISIONS);
        vm.prank(agentWallet);
        escrow.claim(runId, agentId);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        uint256 posterBefore = usdc.balanceOf(poster);
        uint256 agentBefore = usdc.balanceOf(agentWallet);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, reward, fee, false);
        vm.prank(poster);
        escrow.approve(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertEq(usdc.balanceOf(agentWallet) - agentBefore, reward, "agent paid");
        assertEq(usdc.balanceOf(treasury), fee, "treasury paid");
        assertEq(usdc.balanceOf(poster), posterBefore, "poster moved");
        assertEq(usdc.balanceOf(address(escrow)), escrowBefore, "escrow back to before");
        assertEq(usdc.balanceOf(address(vault)), vaultBefore, "vault moved");
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.activeClaims, 0, "activeClaims");
        assertEq(agent.completions, 1, "completions");
        assertEq(agent.volume, reward, "volume");
    }

    /*//////////////////////////////////////////////////////////////
                                 TIMING
    //////////////////////////////////////////////////////////////*/

    /// @dev The poster may slash strictly after timerStart + claimTimeout.
    function testFuzz_Slash_PosterTiming(int256 shift) public {
        _assertSlashTiming(poster, CLAIM_TIMEOUT, shift);
    }

    /// @dev Anyone else waits a further review period.
    function testFuzz_Slash_StrangerTiming(int256 shift) public {
        _assertSlashTiming(stranger, uint256(CLAIM_TIMEOUT) + REVIEW_PERIOD, shift);
    }

    function testFuzz_Expire_Timing(uint256 deadlineOffset, int256 shift) public {
        deadlineOffset = bound(deadlineOffset, 1, 365 days);
        shift = bound(shift, -int256(deadlineOffset), int256(deadlineOffset));
        uint256 deadline = block.timestamp + deadlineOffset;
        vm.prank(poster);
        uint256 runId = escrow.createAndFund(SPEC, REWARD, deadline, MAX_REVISIONS);
        uint256 posterBefore = usdc.balanceOf(poster);
        vm.warp(_shifted(deadline, shift));

        if (shift <= 0) {
            vm.expectRevert(
                abi.encodeWithSelector(IRunEscrow.RunEscrowDeadlineNotPassed.selector, runId, deadline)
            );
            vm.prank(stranger);
            escrow.expire(runId);
            assertState(runId, IRunEscrow.RunState.OPEN);
            assertEq(usdc.balanceOf(address(escrow)), REWARD + FEE, "escrow");
        } else {
            vm.expectEmit(true, true, true, true, address(escrow));
            emit IRunEscrow.RunExpired(runId, poster, REWARD + FEE);
            vm.prank(stranger);
            escrow.expire(runId);
            assertState(runId, IRunEscrow.RunState.EXPIRED);
            assertEq(usdc.balanceOf(poster) - posterBefore, REWARD + FEE, "refund");
            assertEq(usdc.balanceOf(address(escrow)), 0, "escrow");
        }
        assertEq(usdc.balanceOf(stranger), FUNDING, "stranger");
    }

    /// @dev A run can be claimed up to and including its deadline second.
    function testFuzz_Claim_DeadlineBoundary(uint256 deadlineOffset, int256 shift) public {
        deadlineOffset = bound(deadlineOffset, 1, 365 days);
        shift = bound(shift, -int256(deadlineOffset), 3);
        uint256 agentId = _agent();
        uint256 deadline = block.timestamp + deadlineOffset;
        vm.prank(poster);
        uint256 runId = escrow.createAndFund(SPEC, REWARD, deadline, MAX_REVISIONS);
        vm.warp(_shifted(deadline, shift));

        if (shift <= 0) {
            vm.expectEmit(true, true, true, true, address(escrow));
            emit IRunEscrow.Claimed(runId, agentId, agentWallet);
            vm.prank(agentWallet);
            escrow.claim(runId, agentId);
            IRunEscrow.Run memory run = escrow.getRun(runId);
            assertEq(uint256(run.state), uint256(IRunEscrow.RunState.CLAIMED), "state");
            assertEq(run.agentId, agentId, "agentId");
            assertEq(run.timerStart, block.timestamp, "timerStart");
            assertEq(vault.getAgent(agentId).activeClaims, 1, "activeClaims");
        } else {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IRunEscrow.RunEscrowNotClaimable.selector, runId, agentId, ClaimReasons.RUN_PAST_DEADLINE
                )
            );
            vm.prank(agentWallet);
            escrow.claim(runId, agentId);
            assertState(runId, IRunEscrow.RunState.OPEN);
            assertEq(vault.getAgent(agentId).activeClaims, 0, "activeClaims");
        }
        assertEq(usdc.balanceOf(address(escrow)), REWARD + FEE, "escrow");
    }

    /// @dev Withdrawal succeeds from unstakeReadyAt = request time + cooldown on.
    function testFuzz_Unstake_Cooldown(uint256 amount, int256 shift) public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        amount = bound(amount, 1, 2 * MIN_STAKE);
        shift = bound(shift, -int256(uint256(COOLDOWN)), int256(uint256(COOLDOWN)));
        uint64 readyAt = uint64(block.timestamp + COOLDOWN);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.UnstakeRequested(agentId, amount, 2 * MIN_STAKE - amount, amount, readyAt);
        if (2 * MIN_STAKE - amount < MIN_STAKE) {
            vm.expectEmit(true, true, true, true, address(vault));
            emit IStakeVault.AgentStatusChanged(
                agentId, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.UNVERIFIED
            );
        }
        vm.prank(agentWallet);
        vault.requestUnstake(amount);
        assertEq(vault.getAgent(agentId).unstakeReadyAt, readyAt, "unstakeReadyAt");

        vm.warp(_shifted(readyAt, shift));
        uint256 walletBefore = usdc.balanceOf(agentWallet);
        if (shift < 0) {
            vm.expectRevert(
                abi.encodeWithSelector(IStakeVault.StakeVaultCooldownActive.selector, agentId, readyAt)
            );
            vm.prank(agentWallet);
            vault.withdrawStake();
            assertEq(vault.getAgent(agentId).pendingUnstake, amount, "pending");
            assertEq(usdc.balanceOf(address(vault)), 2 * MIN_STAKE, "vault");
        } else {
            vm.expectEmit(true, true, true, true, address(vault));
            emit IStakeVault.StakeWithdrawn(agentId, agentWallet, amount);
            vm.prank(agentWallet);
            assertEq(vault.withdrawStake(), amount, "returned");
            IStakeVault.Agent memory agent = vault.getAgent(agentId);
            assertEq(agent.pendingUnstake, 0, "pending");
            assertEq(agent.unstakeReadyAt, 0, "unstakeReadyAt");
            assertEq(agent.stake, 2 * MIN_STAKE - amount, "stake");
            assertEq(usdc.balanceOf(agentWallet) - walletBefore, amount, "paid");
            assertEq(usdc.balanceOf(address(vault)), 2 * MIN_STAKE - amount, "vault");
            assertEq(vault.totalPending(), 0, "totalPending");
        }
        assertEq(vault.totalStaked(), 2 * MIN_STAKE - amount, "totalStaked");
    }

    /*//////////////////////////////////////////////////////////////
                             SNAPSHOTTED TERMS
    //////////////////////////////////////////////////////////////*/

    /// @dev After the owner changes every parameter, a live run still pays its original fee and
    /// still uses its original review period for approveOnTimeout.
    function testFuzz_RunKeepsItsTerms_FeeAndReviewPeriod(
        uint256 newFeeBps,
        uint256 newClaimTimeout,
        uint256 newReviewPeriod
    ) public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        (uint256 feeBps, uint256 timeout, uint256 review) =
            _newTerms(newFeeBps, newClaimTimeout, newReviewPeriod);
        _setParameters(feeBps, timeout, review);
        _assertOriginalTerms(runId);

        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        uint256 reviewEndsAt = block.timestamp + REVIEW_PERIOD;
        vm.warp(reviewEndsAt);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowReviewNotTimedOut.selector, runId, reviewEndsAt)
        );
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);

        vm.warp(reviewEndsAt + 1);
        uint256 agentBefore = usdc.balanceOf(agentWallet);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, true);
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertEq(usdc.balanceOf(agentWallet) - agentBefore, REWARD, "agent paid");
        assertEq(usdc.balanceOf(treasury), FEE, "original fee paid");
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow");
    }

    /// @dev After the owner changes every parameter, a live run's agent is still slashable exactly
    /// after the original claim timeout (and a stranger after the original review period more).
    function testFuzz_RunKeepsItsTerms_ClaimTimeout(
        uint256 newFeeBps,
        uint256 newClaimTimeout,
        uint256 newReviewPeriod,
        bool byStranger
    ) public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        uint256 claimedAt = block.timestamp;
        (uint256 feeBps, uint256 timeout, uint256 review) =
            _newTerms(newFeeBps, newClaimTimeout, newReviewPeriod);
        _setParameters(feeBps, timeout, review);
        _assertOriginalTerms(runId);

        address caller = byStranger ? stranger : poster;
        uint256 slashableAfter = claimedAt + CLAIM_TIMEOUT + (byStranger ? REVIEW_PERIOD : 0);
        vm.warp(slashableAfter);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, slashableAfter)
        );
        vm.prank(caller);
        escrow.slash(runId);

        vm.warp(slashableAfter + 1);
        uint256 posterBefore = usdc.balanceOf(poster);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(caller);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(usdc.balanceOf(poster) - posterBefore, MIN_STAKE, "poster got the stake");
        assertEq(usdc.balanceOf(address(escrow)), REWARD + FEE, "original escrow kept");
        assertEq(escrow.getRun(runId).fee, FEE, "fee");
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev Claims a run at t0, then tries `caller`'s slash at t0 + window + shift: reverts while
    /// shift <= 0, slashes after (back to OPEN, or EXPIRED with a refund once past the deadline).
    function _assertSlashTiming(address caller, uint256 window, int256 shift) internal {
        // Up to 30 days late, which carries some slashes past the run's 30-day deadline.
        shift = bound(shift, -int256(window), int256(30 days));
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        uint256 slashableAfter = block.timestamp + window;
        uint256 deadline = escrow.getRun(runId).deadline;
        vm.warp(_shifted(slashableAfter, shift));
        uint256 posterBefore = usdc.balanceOf(poster);

        if (shift <= 0) {
            vm.expectRevert(
                abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, slashableAfter)
            );
            vm.prank(caller);
            escrow.slash(runId);
            assertState(runId, IRunEscrow.RunState.CLAIMED);
            assertEq(vault.getAgent(agentId).stake, MIN_STAKE, "stake");
            assertEq(usdc.balanceOf(poster), posterBefore, "poster");
            return;
        }

        bool expires = block.timestamp > deadline;
        IRunEscrow.RunState next = expires ? IRunEscrow.RunState.EXPIRED : IRunEscrow.RunState.OPEN;
        uint256 refund = expires ? REWARD + FEE : 0;
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(agentId, runId, MIN_STAKE, 0, 0, 1);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(
            agentId, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.FROZEN
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, next, refund);
        vm.prank(caller);
        escrow.slash(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(next), "state");
        assertEq(run.agentId, expires ? agentId : 0, "agentId");
        assertEq(usdc.balanceOf(poster) - posterBefore, MIN_STAKE + refund, "poster received");
        assertEq(usdc.balanceOf(address(escrow)), REWARD + FEE - refund, "escrow");
        assertEq(usdc.balanceOf(address(vault)), 0, "vault");
        assertEq(usdc.balanceOf(stranger), FUNDING, "stranger");
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.stake, 0, "stake");
        assertEq(agent.activeClaims, 0, "activeClaims");
        assertEq(agent.slashes, 1, "slashes");
        assertEq(uint256(agent.status), uint256(IStakeVault.AgentStatus.FROZEN), "status");
    }

    function _assertOriginalTerms(uint256 runId) internal view {
        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(run.reward, REWARD, "reward");
        assertEq(run.fee, FEE, "fee");
        assertEq(run.claimTimeout, CLAIM_TIMEOUT, "claimTimeout");
        assertEq(run.reviewPeriod, REVIEW_PERIOD, "reviewPeriod");
    }

    function _newTerms(uint256 feeBps, uint256 claimTimeout, uint256 reviewPeriod)
        internal
        pure
        returns (uint256, uint256, uint256)
    {
        // The claim timeout may not exceed the vault's unstake cooldown.
        return (
            bound(feeBps, 0, MAX_FEE_BPS),
            bound(claimTimeout, 1 hours, COOLDOWN),
            bound(reviewPeriod, 1 hours, 90 days)
        );
    }

    /// @dev The owner sets new terms (parameter set version 2, after the constructor's version 1).
    function _setParameters(uint256 feeBps, uint256 claimTimeout, uint256 reviewPeriod) internal {
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.ParametersUpdated(2, uint16(feeBps), uint32(claimTimeout), uint32(reviewPeriod));
        vm.prank(owner);
        escrow.setParameters(feeBps, claimTimeout, reviewPeriod);
        (uint256 version, uint16 fee, uint32 timeout, uint32 review) = escrow.parameters();
        assertEq(version, 2, "version");
        assertEq(fee, feeBps, "feeBps");
        assertEq(timeout, claimTimeout, "claimTimeout");
        assertEq(review, reviewPeriod, "reviewPeriod");
    }

    function _mintTo(address account, uint256 amount) internal {
        vm.prank(owner);
        usdc.mint(account, amount);
    }

    /// @dev `time + shift`, for a shift that never takes it below zero.
    function _shifted(uint256 time, int256 shift) internal pure returns (uint256) {
        return shift >= 0 ? time + uint256(shift) : time - uint256(-shift);
    }
}
