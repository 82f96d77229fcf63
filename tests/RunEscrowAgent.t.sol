// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.t.sol";
import {BlacklistUSDC} from "./mocks/BlacklistUSDC.sol";
import {MockUSDC} from "../contracts/mocks/MockUSDC.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";
import {ClaimReasons} from "../contracts/libraries/ClaimReasons.sol";

/// @notice Helpers shared by the agent-side and credit suites: balance snapshots of every actor and
/// short-hands for the time-driven exits.
abstract contract RunEscrowAgentFixture is Base {
    /// @dev The USDC balance of every account a run can touch.
    struct Balances {
        uint256 poster;
        uint256 agent;
        uint256 otherAgent;
        uint256 stranger;
        uint256 treasury;
        uint256 escrow;
        uint256 vault;
    }

    function _balances() internal view returns (Balances memory b) {
        b.poster = usdc.balanceOf(poster);
        b.agent = usdc.balanceOf(agentWallet);
        b.otherAgent = usdc.balanceOf(otherAgentWallet);
        b.stranger = usdc.balanceOf(stranger);
        b.treasury = usdc.balanceOf(treasury);
        b.escrow = usdc.balanceOf(address(escrow));
        b.vault = usdc.balanceOf(address(vault));
    }

    /// @dev Asserts every balance equals `expected`, so a test states what moved and proves nothing else did.
    function _assertBalances(Balances memory expected) internal view {
        assertEq(usdc.balanceOf(poster), expected.poster, "poster balance");
        assertEq(usdc.balanceOf(agentWallet), expected.agent, "agent balance");
        assertEq(usdc.balanceOf(otherAgentWallet), expected.otherAgent, "other agent balance");
        assertEq(usdc.balanceOf(stranger), expected.stranger, "stranger balance");
        assertEq(usdc.balanceOf(treasury), expected.treasury, "treasury balance");
        assertEq(usdc.balanceOf(address(escrow)), expected.escrow, "escrow balance");
        assertEq(usdc.balanceOf(address(vault)), expected.vault, "vault balance");
    }

    function _otherAgent() internal returns (uint256) {
        return _registerAndStake(otherAgentWallet, MIN_STAKE);
    }

    /// @dev An OPEN run whose deadline is `deadline`.
    function _openRunWithDeadline(uint256 deadline) internal returns (uint256 runId) {
        vm.prank(poster);
        runId = escrow.createAndFund(SPEC, REWARD, deadline, MAX_REVISIONS);
    }

    function _claim(uint256 runId, uint256 agentId) internal {
        vm.prank(vault.walletOf(agentId));
        escrow.claim(runId, agentId);
    }

    /// @dev First second at which the poster may slash run `runId`.
    function _posterSlashableAt(uint256 runId) internal view returns (uint256) {
        IRunEscrow.Run memory run = escrow.getRun(runId);
        return uint256(run.timerStart) + run.claimTimeout + 1;
    }

    /// @dev Claims a fresh run for `agentId` and has the poster slash it as soon as allowed.
    function _claimAndSlash(uint256 agentId) internal returns (uint256 runId) {
        runId = _claimedRun(agentId);
        vm.warp(_posterSlashableAt(runId));
        vm.prank(poster);
        escrow.slash(runId);
    }

    function _pause() internal {
        vm.prank(owner);
        escrow.pause();
    }

    function _requestRevision(uint256 runId) internal {
        vm.prank(poster);
        escrow.requestRevision(runId, "more");
    }
}

/// @notice RunEscrow from the agent's side (claim, canClaim, start, submit) and the time-driven
/// exits anyone can take (slash, approveOnTimeout, expire), plus one full lifecycle.
contract RunEscrowAgentTest is RunEscrowAgentFixture {
    /*//////////////////////////////////////////////////////////////
                                 CLAIM
    //////////////////////////////////////////////////////////////*/

    function test_Claim_MovesRunToClaimed() public {
        uint256 agentId = _agent();
        uint256 runId = _openRun();
        Balances memory before = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Claimed(runId, agentId, agentWallet);
        vm.prank(agentWallet);
        escrow.claim(runId, agentId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.CLAIMED), "state");
        assertEq(run.agentId, agentId, "agentId");
        assertEq(run.timerStart, block.timestamp, "timerStart");
        assertEq(run.revisionCount, 0, "revisionCount");
        assertEq(run.poster, poster, "poster");
        assertEq(run.reward, REWARD, "reward");
        assertEq(run.fee, FEE, "fee");

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.activeClaims, 1, "activeClaims");
        assertEq(agent.claims, 1, "claims");
        assertEq(agent.stake, MIN_STAKE, "stake untouched");
        _assertBalances(before);
    }

    function test_Claim_CountsEveryClaimOfTheAgent() public {
        uint256 agentId = _registerAndStake(agentWallet, MIN_STAKE);
        _claimedRun(agentId);
        _claimedRun(agentId);

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.activeClaims, 2, "activeClaims");
        assertEq(agent.claims, 2, "claims");
    }

    function test_Claim_AtDeadline() public {
        uint256 agentId = _agent();
        uint256 deadline = block.timestamp + 1 days;
        uint256 runId = _openRunWithDeadline(deadline);
        vm.warp(deadline);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Claimed(runId, agentId, agentWallet);
        vm.prank(agentWallet);
        escrow.claim(runId, agentId);

        assertState(runId, IRunEscrow.RunState.CLAIMED);
        assertEq(escrow.getRun(runId).timerStart, deadline, "timerStart");
    }

    function test_RevertGiven_ClaimRunNotFound() public {
        uint256 agentId = _agent();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 7));
        vm.prank(agentWallet);
        escrow.claim(7, agentId);
    }

    function test_RevertWhen_ClaimCallerNotAgentWallet() public {
        uint256 agentId = _agent();
        _otherAgent();
        uint256 runId = _openRun();

        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgentWallet.selector, agentId, stranger));
        vm.prank(stranger);
        escrow.claim(runId, agentId);

        // Another agent's wallet cannot claim on this agent's behalf either.
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgentWallet.selector, agentId, otherAgentWallet)
        );
        vm.prank(otherAgentWallet);
        escrow.claim(runId, agentId);

        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(vault.getAgent(agentId).activeClaims, 0, "activeClaims");
    }

    function test_RevertGiven_ClaimRunDraft() public {
        uint256 agentId = _agent();
        uint256 runId = _draftRun();
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.RUN_NOT_OPEN);
    }

    function test_RevertGiven_ClaimRunAlreadyClaimed() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.RUN_NOT_OPEN);
        assertEq(vault.getAgent(agentId).activeClaims, 1, "activeClaims");
    }

    /// @dev Front-running: two agents race for one run; the first claim mined wins.
    function test_RevertGiven_ClaimFrontRunByAnotherAgent() public {
        uint256 agentId = _agent();
        uint256 otherId = _otherAgent();
        uint256 runId = _openRun();
        _claim(runId, otherId);

        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.RUN_NOT_OPEN);
        assertEq(escrow.getRun(runId).agentId, otherId, "first claim wins");
        assertEq(vault.getAgent(agentId).activeClaims, 0, "loser activeClaims");
        assertEq(vault.getAgent(agentId).claims, 0, "loser claims");
    }

    function test_RevertGiven_ClaimRunPastDeadline() public {
        uint256 agentId = _agent();
        uint256 deadline = block.timestamp + 1 days;
        uint256 runId = _openRunWithDeadline(deadline);
        vm.warp(deadline + 1);
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.RUN_PAST_DEADLINE);
    }

    function test_RevertGiven_ClaimAgentNotFound() public {
        uint256 runId = _openRun();
        _assertNotClaimable(runId, 0, agentWallet, ClaimReasons.AGENT_NOT_FOUND);
        _assertNotClaimable(runId, 99, agentWallet, ClaimReasons.AGENT_NOT_FOUND);
    }

    function test_RevertGiven_ClaimAgentFrozen() public {
        // Twice the minimum, so the slash leaves enough stake and only the freeze fails.
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        _claimAndSlash(agentId);
        assertStatus(agentId, IStakeVault.AgentStatus.FROZEN);
        assertEq(vault.getAgent(agentId).stake, MIN_STAKE, "stake left");

        uint256 runId = _openRun();
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.AGENT_FROZEN);
    }

    function test_RevertGiven_ClaimAgentBanned() public {
        // Enough stake to stay above the minimum after three slashes.
        uint256 agentId = _registerAndStake(agentWallet, 4 * MIN_STAKE);
        for (uint256 i; i < STRIKES_TO_BAN; ++i) {
            _claimAndSlash(agentId);
            if (i + 1 < STRIKES_TO_BAN) {
                // A new stake that keeps the minimum lifts the freeze.
                vm.prank(agentWallet);
                vault.stake(1);
            }
        }
        assertStatus(agentId, IStakeVault.AgentStatus.BANNED);
        assertGe(vault.getAgent(agentId).stake, MIN_STAKE, "stake still above minimum");

        uint256 runId = _openRun();
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.AGENT_BANNED);
    }

    function test_RevertGiven_ClaimAgentUnverified() public {
        uint256 agentId = _register(agentWallet);
        uint256 runId = _openRun();
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.INSUFFICIENT_STAKE);

        vm.prank(agentWallet);
        vault.stake(MIN_STAKE - 1);
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.INSUFFICIENT_STAKE);
    }

    function test_RevertGiven_ClaimAgentUnstakedBelowMinimum() public {
        uint256 agentId = _agent();
        vm.prank(agentWallet);
        vault.requestUnstake(1);
        assertStatus(agentId, IStakeVault.AgentStatus.UNVERIFIED);

        uint256 runId = _openRun();
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.INSUFFICIENT_STAKE);
    }

    function test_RevertWhen_ClaimAgentIsPoster() public {
        uint256 posterAgentId = _registerAndStake(poster, MIN_STAKE);
        uint256 runId = _openRun();
        _assertNotClaimable(runId, posterAgentId, poster, ClaimReasons.AGENT_IS_POSTER);
    }

    function test_RevertGiven_ClaimsPaused() public {
        uint256 agentId = _agent();
        uint256 runId = _openRun();
        _pause();
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.CLAIMS_PAUSED);
    }

    function test_RevertGiven_ClaimSeveralRulesFail() public {
        uint256 claimerId = _agent();
        uint256 posterAgentId = _register(poster); // no stake
        uint256 deadline = block.timestamp + 1 days;
        uint256 runId = _openRunWithDeadline(deadline);
        _claim(runId, claimerId);
        vm.warp(deadline + 1);
        _pause();

        uint256 expected = ClaimReasons.RUN_NOT_OPEN | ClaimReasons.RUN_PAST_DEADLINE
            | ClaimReasons.INSUFFICIENT_STAKE | ClaimReasons.AGENT_IS_POSTER | ClaimReasons.CLAIMS_PAUSED;
        _assertNotClaimable(runId, posterAgentId, poster, expected);
    }

    function testFuzz_Claim_OnlyUntilDeadline(uint256 elapsed) public {
        uint256 agentId = _agent();
        uint256 deadline = block.timestamp + 1 days;
        uint256 runId = _openRunWithDeadline(deadline);
        elapsed = bound(elapsed, 0, 2 days);
        skip(elapsed);

        if (block.timestamp <= deadline) {
            _claim(runId, agentId);
            assertState(runId, IRunEscrow.RunState.CLAIMED);
        } else {
            _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.RUN_PAST_DEADLINE);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                CAN CLAIM
    //////////////////////////////////////////////////////////////*/

    function test_CanClaim_EligibleAgent() public {
        uint256 agentId = _agent();
        uint256 runId = _openRun();
        (bool eligible, uint256 reasons) = escrow.canClaim(runId, agentId);
        assertTrue(eligible, "eligible");
        assertEq(reasons, 0, "reasons");
    }

    function test_CanClaim_ReportsRunNotFound() public {
        uint256 agentId = _agent();
        (bool eligible, uint256 reasons) = escrow.canClaim(42, agentId);
        assertFalse(eligible, "eligible");
        assertEq(reasons, ClaimReasons.RUN_NOT_FOUND, "reasons");

        (eligible, reasons) = escrow.canClaim(42, 99);
        assertFalse(eligible, "eligible, unknown agent");
        assertEq(reasons, ClaimReasons.RUN_NOT_FOUND | ClaimReasons.AGENT_NOT_FOUND, "reasons, unknown agent");
    }

    function test_CanClaim_ReportsPausedForUnknownRun() public {
        uint256 agentId = _agent();
        vm.prank(owner);
        escrow.pause();
        (bool eligible, uint256 reasons) = escrow.canClaim(42, agentId);
        assertFalse(eligible, "eligible");
        assertEq(reasons, ClaimReasons.RUN_NOT_FOUND | ClaimReasons.CLAIMS_PAUSED, "reasons");
    }

    function test_CanClaim_IgnoresCaller() public {
        uint256 agentId = _agent();
        uint256 posterAgentId = _registerAndStake(poster, MIN_STAKE);
        uint256 runId = _openRun();
        address[4] memory callers = [stranger, poster, agentWallet, owner];
        for (uint256 i; i < callers.length; ++i) {
            vm.prank(callers[i]);
            (bool eligible, uint256 reasons) = escrow.canClaim(runId, agentId);
            assertTrue(eligible, "eligible agent");
            assertEq(reasons, 0, "eligible agent reasons");

            vm.prank(callers[i]);
            (eligible, reasons) = escrow.canClaim(runId, posterAgentId);
            assertFalse(eligible, "poster agent");
            assertEq(reasons, ClaimReasons.AGENT_IS_POSTER, "poster agent reasons");
        }
    }

    function test_CanClaim_ChangesNothing() public {
        uint256 agentId = _agent();
        uint256 runId = _openRun();
        escrow.canClaim(runId, agentId);
        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(vault.getAgent(agentId).activeClaims, 0, "activeClaims");
        assertEq(vault.getAgent(agentId).claims, 0, "claims");
    }

    /*//////////////////////////////////////////////////////////////
                                 START
    //////////////////////////////////////////////////////////////*/

    function test_Start_MovesRunToInProgress() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        uint64 claimedAt = escrow.getRun(runId).timerStart;
        skip(1 hours);
        Balances memory before = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.WorkStarted(runId, agentId);
        vm.prank(agentWallet);
        escrow.start(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.IN_PROGRESS), "state");
        assertEq(run.agentId, agentId, "agentId");
        assertEq(run.timerStart, claimedAt, "timer keeps running from the claim");
        assertEq(vault.getAgent(agentId).activeClaims, 1, "activeClaims");
        _assertBalances(before);
    }

    function test_RevertWhen_StartCallerIsPoster() public {
        uint256 runId = _claimedRun(_agent());
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgent.selector, runId, poster));
        vm.prank(poster);
        escrow.start(runId);
    }

    function test_RevertWhen_StartCallerIsAnotherAgent() public {
        uint256 runId = _claimedRun(_agent());
        _otherAgent();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgent.selector, runId, otherAgentWallet));
        vm.prank(otherAgentWallet);
        escrow.start(runId);
    }

    function test_RevertGiven_StartRunInProgress() public {
        uint256 runId = _claimedRun(_agent());
        vm.prank(agentWallet);
        escrow.start(runId);

        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowInvalidState.selector, runId, IRunEscrow.RunState.IN_PROGRESS
            )
        );
        vm.prank(agentWallet);
        escrow.start(runId);
    }

    function test_RevertGiven_StartRunSubmitted() public {
        uint256 runId = _submittedRun(_agent());
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, IRunEscrow.RunState.SUBMITTED)
        );
        vm.prank(agentWallet);
        escrow.start(runId);
    }

    function test_RevertGiven_StartRunNotFound() public {
        _agent();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 5));
        vm.prank(agentWallet);
        escrow.start(5);
    }

    /*//////////////////////////////////////////////////////////////
                                 SUBMIT
    //////////////////////////////////////////////////////////////*/

    function test_Submit_FromClaimed() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        skip(2 days);
        _assertSubmits(runId, agentId, 0);
    }

    function test_Submit_FromInProgress() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        vm.prank(agentWallet);
        escrow.start(runId);
        skip(3 days);
        _assertSubmits(runId, agentId, 0);
    }

    function test_Submit_FromRevisionRequested() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        _requestRevision(runId);
        skip(1 days);
        _assertSubmits(runId, agentId, 1);
    }

    function test_RevertWhen_SubmitEmptyURI() public {
        uint256 runId = _claimedRun(_agent());
        vm.expectRevert(IRunEscrow.RunEscrowEmptyURI.selector);
        vm.prank(agentWallet);
        escrow.submit(runId, "");
    }

    function test_RevertWhen_SubmitCallerNotAgent() public {
        uint256 runId = _claimedRun(_agent());
        _otherAgent();
        address[3] memory callers = [stranger, poster, otherAgentWallet];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgent.selector, runId, callers[i]));
            vm.prank(callers[i]);
            escrow.submit(runId, DELIVERABLE);
        }
        assertState(runId, IRunEscrow.RunState.CLAIMED);
    }

    /// @dev An OPEN run has no agent, so nobody is its agent: the caller check fails first.
    function test_RevertGiven_SubmitRunOpen() public {
        _agent();
        uint256 runId = _openRun();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgent.selector, runId, agentWallet));
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
    }

    function test_RevertGiven_SubmitRunSubmitted() public {
        uint256 runId = _submittedRun(_agent());
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, IRunEscrow.RunState.SUBMITTED)
        );
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
    }

    function test_RevertGiven_SubmitRunApproved() public {
        uint256 runId = _submittedRun(_agent());
        vm.prank(poster);
        escrow.approve(runId);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, IRunEscrow.RunState.APPROVED)
        );
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
    }

    function test_RevertGiven_SubmitRunNotFound() public {
        _agent();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 3));
        vm.prank(agentWallet);
        escrow.submit(3, DELIVERABLE);
    }

    /*//////////////////////////////////////////////////////////////
                                 SLASH
    //////////////////////////////////////////////////////////////*/

    function test_Slash_PosterAfterClaimTimeoutReopensRun() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        uint256 claimedAt = block.timestamp;
        vm.warp(claimedAt + CLAIM_TIMEOUT + 1);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(agentId, runId, MIN_STAKE, 0, 0, 1);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(
            agentId, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.FROZEN
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.OPEN), "state");
        assertEq(run.agentId, 0, "agentId");
        assertEq(run.revisionCount, 0, "revisionCount");
        assertEq(run.timerStart, 0, "timerStart");

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.stake, 0, "stake");
        assertEq(agent.activeClaims, 0, "activeClaims");
        assertEq(agent.slashes, 1, "slashes");
        assertTrue(agent.frozen, "frozen");
        assertEq(uint256(agent.status), uint256(IStakeVault.AgentStatus.FROZEN), "status");

        // Only the stake moves: vault -> poster. The run's escrow stays for the next agent.
        expected.vault -= MIN_STAKE;
        expected.poster += MIN_STAKE;
        _assertBalances(expected);
        assertEq(usdc.balanceOf(address(escrow)), REWARD + FEE, "escrow still holds the run");
    }

    function test_RevertWhen_PosterSlashesAtClaimTimeout() public {
        uint256 runId = _claimedRun(_agent());
        uint256 slashableAfter = block.timestamp + CLAIM_TIMEOUT;
        vm.warp(slashableAfter);

        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, slashableAfter));
        vm.prank(poster);
        escrow.slash(runId);
    }

    function test_Slash_StrangerAfterFurtherReviewPeriod() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        vm.warp(block.timestamp + CLAIM_TIMEOUT + REVIEW_PERIOD + 1);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(stranger);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.OPEN);
        // The slashed stake still goes to the poster, never to the caller.
        expected.vault -= MIN_STAKE;
        expected.poster += MIN_STAKE;
        _assertBalances(expected);
    }

    function test_RevertWhen_StrangerSlashesBeforeFurtherReviewPeriod() public {
        uint256 runId = _claimedRun(_agent());
        uint256 slashableAfter = block.timestamp + CLAIM_TIMEOUT + REVIEW_PERIOD;

        // When the poster already could...
        vm.warp(block.timestamp + CLAIM_TIMEOUT + 1);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, slashableAfter));
        vm.prank(stranger);
        escrow.slash(runId);

        // ...and at the last second of the further review period.
        vm.warp(slashableAfter);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, slashableAfter));
        vm.prank(stranger);
        escrow.slash(runId);
    }

    function test_Slash_ReopenedRunCanBeClaimedByAnotherAgent() public {
        uint256 agentId = _agent();
        uint256 otherId = _otherAgent();
        uint256 runId = _claimAndSlash(agentId);

        (bool eligible, uint256 reasons) = escrow.canClaim(runId, otherId);
        assertTrue(eligible, "eligible");
        assertEq(reasons, 0, "reasons");

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Claimed(runId, otherId, otherAgentWallet);
        _claim(runId, otherId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.CLAIMED), "state");
        assertEq(run.agentId, otherId, "agentId");
        assertEq(run.timerStart, block.timestamp, "timerStart");
    }

    function test_RevertGiven_SlashedAgentClaimsTheSameRunAgain() public {
        uint256 agentId = _agent();
        uint256 runId = _claimAndSlash(agentId);
        assertTrue(escrow.slashedOnRun(runId, agentId), "slashedOnRun");

        // Restaking unfreezes the agent, but it may never claim the run it was slashed on.
        vm.prank(agentWallet);
        vault.stake(MIN_STAKE);
        assertStatus(agentId, IStakeVault.AgentStatus.PROVISIONAL);
        (bool eligible, uint256 reasons) = escrow.canClaim(runId, agentId);
        assertFalse(eligible, "eligible");
        assertEq(reasons, ClaimReasons.AGENT_SLASHED_ON_RUN, "reasons");

        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowNotClaimable.selector, runId, agentId, ClaimReasons.AGENT_SLASHED_ON_RUN
            )
        );
        vm.prank(agentWallet);
        escrow.claim(runId, agentId);

        // Other runs stay open to it.
        uint256 otherRun = _openRun();
        assertFalse(escrow.slashedOnRun(otherRun, agentId), "other run");
        _claim(otherRun, agentId);
        assertState(otherRun, IRunEscrow.RunState.CLAIMED);
    }

    function test_Slash_PastDeadlineExpiresAndRefunds() public {
        uint256 agentId = _agent();
        uint256 runId = _openRunWithDeadline(block.timestamp + 1 days);
        _claim(runId, agentId);
        vm.warp(_posterSlashableAt(runId));
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(agentId, runId, MIN_STAKE, 0, 0, 1);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(
            agentId, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.FROZEN
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.EXPIRED, REWARD + FEE);
        vm.prank(poster);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        assertEq(vault.getAgent(agentId).activeClaims, 0, "activeClaims");
        expected.vault -= MIN_STAKE;
        expected.escrow -= REWARD + FEE;
        expected.poster += MIN_STAKE + REWARD + FEE;
        _assertBalances(expected);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
    }

    /// @dev The deadline is the last second a run can be claimed, so a slash at it reopens the run.
    function test_Slash_AtDeadlineReopens() public {
        uint256 agentId = _agent();
        uint256 deadline = block.timestamp + CLAIM_TIMEOUT + 1;
        uint256 runId = _openRunWithDeadline(deadline);
        _claim(runId, agentId);
        vm.warp(deadline);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);
        assertState(runId, IRunEscrow.RunState.OPEN);
    }

    function test_Slash_TakesOnlyMinStake() public {
        uint256 agentId = _registerAndStake(agentWallet, 3 * MIN_STAKE);
        uint256 runId = _claimedRun(agentId);
        vm.warp(_posterSlashableAt(runId));
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(agentId, runId, MIN_STAKE, 2 * MIN_STAKE, 0, 1);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        assertEq(vault.getAgent(agentId).stake, 2 * MIN_STAKE, "stake left");
        expected.vault -= MIN_STAKE;
        expected.poster += MIN_STAKE;
        _assertBalances(expected);
    }

    function test_Slash_CapsAtAgentStake() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        IStakeVault.Parameters memory params = defaultVaultParameters();
        params.minStake = 5 * MIN_STAKE;
        vm.prank(owner);
        vault.setParameters(params);
        vm.warp(_posterSlashableAt(runId));
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(agentId, runId, MIN_STAKE, 0, 0, 1);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(
            agentId, IStakeVault.AgentStatus.UNVERIFIED, IStakeVault.AgentStatus.FROZEN
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        assertEq(vault.getAgent(agentId).stake, 0, "everything taken");
        expected.vault -= MIN_STAKE;
        expected.poster += MIN_STAKE;
        _assertBalances(expected);
    }

    function test_Slash_FromInProgress() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        vm.prank(agentWallet);
        escrow.start(runId);
        vm.warp(_posterSlashableAt(runId));
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(escrow.getRun(runId).agentId, 0, "agentId");
        expected.vault -= MIN_STAKE;
        expected.poster += MIN_STAKE;
        _assertBalances(expected);
    }

    function test_Slash_FromRevisionRequestedResetsRevisions() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        skip(1 days);
        _requestRevision(runId);
        uint256 requestedAt = block.timestamp;
        assertEq(escrow.getRun(runId).timerStart, requestedAt, "timer restarts at the request");
        vm.warp(requestedAt + CLAIM_TIMEOUT + 1);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.OPEN), "state");
        assertEq(run.agentId, 0, "agentId");
        assertEq(run.revisionCount, 0, "revisionCount");
        expected.vault -= MIN_STAKE;
        expected.poster += MIN_STAKE;
        _assertBalances(expected);
    }

    function test_RevertWhen_SlashBeforeClaimTimeoutSinceRevisionRequest() public {
        uint256 runId = _submittedRun(_agent());
        skip(5 days);
        _requestRevision(runId);
        uint256 slashableAfter = block.timestamp + CLAIM_TIMEOUT;
        // Well past the claim timeout counted from the claim, but not from the request.
        vm.warp(slashableAfter);

        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, slashableAfter));
        vm.prank(poster);
        escrow.slash(runId);
    }

    function test_RevertGiven_SlashRunOpen() public {
        uint256 runId = _openRun();
        skip(CLAIM_TIMEOUT + REVIEW_PERIOD + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, IRunEscrow.RunState.OPEN)
        );
        vm.prank(poster);
        escrow.slash(runId);
    }

    function test_RevertGiven_SlashRunSubmitted() public {
        uint256 runId = _submittedRun(_agent());
        skip(CLAIM_TIMEOUT + REVIEW_PERIOD + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, IRunEscrow.RunState.SUBMITTED)
        );
        vm.prank(poster);
        escrow.slash(runId);
    }

    function test_RevertGiven_SlashRunNotFound() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 11));
        vm.prank(poster);
        escrow.slash(11);
    }

    function test_Slash_WhilePaused() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        _pause();
        vm.warp(_posterSlashableAt(runId));
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.OPEN);
        expected.vault -= MIN_STAKE;
        expected.poster += MIN_STAKE;
        _assertBalances(expected);
    }

    function test_Slash_ThirdStrikeBansAgent() public {
        uint256 agentId = _registerAndStake(agentWallet, 4 * MIN_STAKE);
        for (uint256 i; i < STRIKES_TO_BAN - 1; ++i) {
            _claimAndSlash(agentId);
            vm.prank(agentWallet);
            vault.stake(1);
        }
        assertStatus(agentId, IStakeVault.AgentStatus.PROVISIONAL);
        uint256 runId = _claimedRun(agentId);
        vm.warp(_posterSlashableAt(runId));

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(agentId, runId, MIN_STAKE, MIN_STAKE + 2, 0, STRIKES_TO_BAN);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(
            agentId, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.BANNED
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        assertStatus(agentId, IStakeVault.AgentStatus.BANNED);
        assertEq(vault.getAgent(agentId).slashes, STRIKES_TO_BAN, "slashes");
    }

    function testFuzz_Slash_TakesMinStakeCappedAtStake(uint256 staked, uint256 newMinStake) public {
        staked = bound(staked, MIN_STAKE, 10 * MIN_STAKE);
        uint256 agentId = _registerAndStake(agentWallet, staked);
        uint256 runId = _claimedRun(agentId);
        newMinStake = bound(newMinStake, 1, 20 * MIN_STAKE);
        IStakeVault.Parameters memory params = defaultVaultParameters();
        params.minStake = uint128(newMinStake);
        vm.prank(owner);
        vault.setParameters(params);
        vm.warp(_posterSlashableAt(runId));
        Balances memory expected = _balances();

        uint256 amount = newMinStake < staked ? newMinStake : staked;
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, amount, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        assertEq(vault.getAgent(agentId).stake, staked - amount, "stake left");
        expected.vault -= amount;
        expected.poster += amount;
        _assertBalances(expected);
    }

    /*//////////////////////////////////////////////////////////////
                            APPROVE ON TIMEOUT
    //////////////////////////////////////////////////////////////*/

    function test_ApproveOnTimeout_PaysAgentAndTreasury() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        vm.warp(block.timestamp + REVIEW_PERIOD + 1);
        _assertApprovesOnTimeout(runId, agentId, stranger);
    }

    function test_ApproveOnTimeout_ByTheAgent() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        vm.warp(block.timestamp + REVIEW_PERIOD + 1);
        _assertApprovesOnTimeout(runId, agentId, agentWallet);
    }

    function test_ApproveOnTimeout_WhilePaused() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        _pause();
        vm.warp(block.timestamp + REVIEW_PERIOD + 1);
        _assertApprovesOnTimeout(runId, agentId, stranger);
    }

    function test_RevertGiven_ReviewNotTimedOut() public {
        uint256 runId = _submittedRun(_agent());
        uint256 reviewEndsAt = block.timestamp + REVIEW_PERIOD;
        vm.warp(reviewEndsAt);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowReviewNotTimedOut.selector, runId, reviewEndsAt));
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);
    }

    /// @dev The review period counts from the latest submission, not the first one.
    function test_RevertGiven_ReviewNotTimedOutSinceResubmission() public {
        uint256 runId = _submittedRun(_agent());
        skip(2 days);
        _requestRevision(runId);
        skip(2 days);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        uint256 reviewEndsAt = block.timestamp + REVIEW_PERIOD;
        vm.warp(reviewEndsAt);

        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowReviewNotTimedOut.selector, runId, reviewEndsAt));
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);
    }

    function test_RevertGiven_ApproveOnTimeoutRunClaimed() public {
        uint256 runId = _claimedRun(_agent());
        skip(CLAIM_TIMEOUT + REVIEW_PERIOD + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, IRunEscrow.RunState.CLAIMED)
        );
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);
    }

    function test_RevertGiven_ApproveOnTimeoutRunApproved() public {
        uint256 runId = _submittedRun(_agent());
        vm.warp(block.timestamp + REVIEW_PERIOD + 1);
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);

        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, IRunEscrow.RunState.APPROVED)
        );
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);
    }

    function test_RevertGiven_ApproveOnTimeoutRunNotFound() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 9));
        vm.prank(stranger);
        escrow.approveOnTimeout(9);
    }

    /*//////////////////////////////////////////////////////////////
                                 EXPIRE
    //////////////////////////////////////////////////////////////*/

    function test_Expire_RefundsPoster() public {
        uint256 runId = _openRun();
        vm.warp(escrow.getRun(runId).deadline + 1);
        _assertExpires(runId);
    }

    function test_Expire_WhilePaused() public {
        uint256 runId = _openRun();
        _pause();
        vm.warp(escrow.getRun(runId).deadline + 1);
        _assertExpires(runId);
    }

    /// @dev A run slashed back to OPEN can still expire once its deadline passes.
    function test_Expire_RunReopenedBySlash() public {
        uint256 runId = _claimAndSlash(_agent());
        vm.warp(escrow.getRun(runId).deadline + 1);
        _assertExpires(runId);
    }

    function test_RevertGiven_ExpireAtDeadline() public {
        uint256 runId = _openRun();
        uint256 deadline = escrow.getRun(runId).deadline;
        vm.warp(deadline);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowDeadlineNotPassed.selector, runId, deadline));
        vm.prank(stranger);
        escrow.expire(runId);
    }

    function test_RevertGiven_ExpireRunDraft() public {
        uint256 runId = _draftRun();
        vm.warp(escrow.getRun(runId).deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, IRunEscrow.RunState.DRAFT)
        );
        vm.prank(stranger);
        escrow.expire(runId);
    }

    function test_RevertGiven_ExpireRunClaimed() public {
        uint256 runId = _claimedRun(_agent());
        vm.warp(escrow.getRun(runId).deadline + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, IRunEscrow.RunState.CLAIMED)
        );
        vm.prank(stranger);
        escrow.expire(runId);
    }

    function test_RevertGiven_ExpireRunExpired() public {
        uint256 runId = _openRun();
        vm.warp(escrow.getRun(runId).deadline + 1);
        vm.prank(stranger);
        escrow.expire(runId);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, IRunEscrow.RunState.EXPIRED)
        );
        vm.prank(stranger);
        escrow.expire(runId);
    }

    function test_RevertGiven_ExpireRunNotFound() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 4));
        vm.prank(stranger);
        escrow.expire(4);
    }

    /*//////////////////////////////////////////////////////////////
                               LIFECYCLE
    //////////////////////////////////////////////////////////////*/

    function test_Lifecycle_ClaimToApproval() public {
        Balances memory start = _balances();

        vm.prank(agentWallet);
        uint256 agentId = vault.register("ipfs://agent");
        vm.prank(agentWallet);
        vault.stake(MIN_STAKE);
        assertStatus(agentId, IStakeVault.AgentStatus.PROVISIONAL);

        vm.prank(poster);
        uint256 runId = escrow.createRun(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS);
        vm.prank(poster);
        escrow.fund(runId);
        assertState(runId, IRunEscrow.RunState.OPEN);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Claimed(runId, agentId, agentWallet);
        vm.prank(agentWallet);
        escrow.claim(runId, agentId);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.WorkStarted(runId, agentId);
        vm.prank(agentWallet);
        escrow.start(runId);

        skip(1 days);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Submitted(runId, agentId, "ipfs://v1", 0);
        vm.prank(agentWallet);
        escrow.submit(runId, "ipfs://v1");

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RevisionRequested(runId, agentId, "fix the tests", 1);
        vm.prank(poster);
        escrow.requestRevision(runId, "fix the tests");
        assertState(runId, IRunEscrow.RunState.REVISION_REQUESTED);

        skip(1 days);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Submitted(runId, agentId, "ipfs://v2", 1);
        vm.prank(agentWallet);
        escrow.submit(runId, "ipfs://v2");

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, false);
        vm.prank(poster);
        escrow.approve(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.APPROVED), "state");
        assertEq(run.revisionCount, 1, "revisionCount");

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.activeClaims, 0, "activeClaims");
        assertEq(agent.claims, 1, "claims");
        assertEq(agent.completions, 1, "completions");
        assertEq(agent.volume, REWARD, "volume");
        assertEq(agent.stake, MIN_STAKE, "stake");

        Balances memory expected = start;
        expected.poster -= REWARD + FEE;
        expected.agent = expected.agent - MIN_STAKE + REWARD;
        expected.treasury += FEE;
        expected.vault += MIN_STAKE;
        _assertBalances(expected);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
    }

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev `canClaim` reports exactly `reasons` (from any caller) and `claim` by `caller` reverts with them.
    function _assertNotClaimable(uint256 runId, uint256 agentId, address caller, uint256 reasons) internal {
        (bool eligible, uint256 got) = escrow.canClaim(runId, agentId);
        assertFalse(eligible, "canClaim eligible");
        assertEq(got, reasons, "canClaim reasons");

        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotClaimable.selector, runId, agentId, reasons));
        vm.prank(caller);
        escrow.claim(runId, agentId);
    }

    /// @dev Submits from the run's current state and checks event, state and that no USDC moved.
    function _assertSubmits(uint256 runId, uint256 agentId, uint8 revisionCount) internal {
        Balances memory before = _balances();
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Submitted(runId, agentId, DELIVERABLE, revisionCount);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.SUBMITTED), "state");
        assertEq(run.timerStart, block.timestamp, "timerStart");
        assertEq(run.agentId, agentId, "agentId");
        assertEq(run.revisionCount, revisionCount, "revisionCount");
        _assertBalances(before);
    }

    /// @dev `caller` approves SUBMITTED run `runId` on timeout: the same payouts as a poster approval.
    function _assertApprovesOnTimeout(uint256 runId, uint256 agentId, address caller) internal {
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, true);
        vm.prank(caller);
        escrow.approveOnTimeout(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.activeClaims, 0, "activeClaims");
        assertEq(agent.completions, 1, "completions");
        assertEq(agent.volume, REWARD, "volume");

        expected.escrow -= REWARD + FEE;
        expected.agent += REWARD;
        expected.treasury += FEE;
        _assertBalances(expected);
    }

    /// @dev Anyone expires OPEN run `runId`: reward + fee back to the poster.
    function _assertExpires(uint256 runId) internal {
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunExpired(runId, poster, REWARD + FEE);
        vm.prank(stranger);
        escrow.expire(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        expected.escrow -= REWARD + FEE;
        expected.poster += REWARD + FEE;
        _assertBalances(expected);
    }
}

/// @notice Failed payouts become credits (SPEC §2.3): the fixture runs on a USDC with Circle's blacklist.
contract RunEscrowCreditTest is RunEscrowAgentFixture {
    BlacklistUSDC internal token;

    function _deployToken() internal override returns (MockUSDC) {
        vm.prank(owner);
        token = new BlacklistUSDC(owner);
        return token;
    }

    function _blacklist(address account) internal {
        vm.prank(owner);
        token.blacklist(account);
    }

    function _unBlacklist(address account) internal {
        vm.prank(owner);
        token.unBlacklist(account);
    }

    function test_Approve_BlacklistedAgentGetsCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        _blacklist(agentWallet);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, false);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(agentWallet, runId, REWARD);
        vm.prank(poster);
        escrow.approve(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertEq(escrow.creditOf(agentWallet), REWARD, "credit");
        assertEq(vault.getAgent(agentId).completions, 1, "completions");
        // The treasury is still paid; the reward stays in the escrow as the agent's credit.
        expected.escrow -= FEE;
        expected.treasury += FEE;
        _assertBalances(expected);
        assertEq(usdc.balanceOf(address(escrow)), REWARD, "escrow holds the credit");
    }

    function test_ApproveOnTimeout_BlacklistedAgentGetsCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        _blacklist(agentWallet);
        vm.warp(block.timestamp + REVIEW_PERIOD + 1);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(agentWallet, runId, REWARD);
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertEq(escrow.creditOf(agentWallet), REWARD, "credit");
    }

    function test_WithdrawCredit_PaysAfterUnblacklist() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        _blacklist(agentWallet);
        vm.prank(poster);
        escrow.approve(runId);
        _unBlacklist(agentWallet);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditWithdrawn(agentWallet, REWARD);
        vm.prank(agentWallet);
        uint256 amount = escrow.withdrawCredit();

        assertEq(amount, REWARD, "returned amount");
        assertEq(escrow.creditOf(agentWallet), 0, "credit cleared");
        expected.escrow -= REWARD;
        expected.agent += REWARD;
        _assertBalances(expected);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
    }

    function test_WithdrawCredit_WhilePaused() public {
        uint256 runId = _openRun();
        _blacklist(poster);
        vm.prank(poster);
        escrow.cancel(runId);
        _unBlacklist(poster);
        _pause();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditWithdrawn(poster, REWARD + FEE);
        vm.prank(poster);
        escrow.withdrawCredit();
        assertEq(escrow.creditOf(poster), 0, "credit cleared");
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
    }

    function test_WithdrawCredit_AccumulatesAcrossRuns() public {
        uint256 first = _openRun();
        uint256 second = _openRun();
        _blacklist(poster);
        vm.prank(poster);
        escrow.cancel(first);
        vm.prank(poster);
        escrow.cancel(second);
        assertEq(escrow.creditOf(poster), 2 * (REWARD + FEE), "credit");
        _unBlacklist(poster);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditWithdrawn(poster, 2 * (REWARD + FEE));
        vm.prank(poster);
        escrow.withdrawCredit();

        expected.escrow -= 2 * (REWARD + FEE);
        expected.poster += 2 * (REWARD + FEE);
        _assertBalances(expected);
    }

    function test_RevertWhen_NoCredit() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNoCredit.selector, stranger));
        vm.prank(stranger);
        escrow.withdrawCredit();
    }

    function test_RevertWhen_CreditAlreadyWithdrawn() public {
        uint256 runId = _openRun();
        _blacklist(poster);
        vm.prank(poster);
        escrow.cancel(runId);
        _unBlacklist(poster);
        vm.prank(poster);
        escrow.withdrawCredit();

        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNoCredit.selector, poster));
        vm.prank(poster);
        escrow.withdrawCredit();
    }

    function test_RevertWhen_CreditRecipientStillBlacklisted() public {
        uint256 runId = _openRun();
        _blacklist(poster);
        vm.prank(poster);
        escrow.cancel(runId);

        vm.expectRevert(abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, poster));
        vm.prank(poster);
        escrow.withdrawCredit();
        assertEq(escrow.creditOf(poster), REWARD + FEE, "credit kept");
    }

    function test_Approve_BlacklistedTreasuryGetsCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        _blacklist(treasury);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(treasury, runId, FEE);
        vm.prank(poster);
        escrow.approve(runId);

        assertEq(escrow.creditOf(treasury), FEE, "treasury credit");
        assertEq(escrow.creditOf(agentWallet), 0, "agent paid directly");
        expected.escrow -= REWARD;
        expected.agent += REWARD;
        _assertBalances(expected);
    }

    function test_Cancel_BlacklistedPosterGetsCredit() public {
        uint256 runId = _openRun();
        _blacklist(poster);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, REWARD + FEE);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(poster, runId, REWARD + FEE);
        vm.prank(poster);
        escrow.cancel(runId);

        assertState(runId, IRunEscrow.RunState.CANCELLED);
        assertEq(escrow.creditOf(poster), REWARD + FEE, "credit");
        _assertBalances(expected);
    }

    function test_Expire_BlacklistedPosterGetsCredit() public {
        uint256 runId = _openRun();
        _blacklist(poster);
        vm.warp(escrow.getRun(runId).deadline + 1);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunExpired(runId, poster, REWARD + FEE);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(poster, runId, REWARD + FEE);
        vm.prank(stranger);
        escrow.expire(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        assertEq(escrow.creditOf(poster), REWARD + FEE, "credit");
        _assertBalances(expected);
    }

    function test_Slash_BlacklistedPosterGetsCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _openRunWithDeadline(block.timestamp + 1 days);
        _claim(runId, agentId);
        _blacklist(poster);
        vm.warp(_posterSlashableAt(runId));
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.EXPIRED, REWARD + FEE);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(poster, runId, MIN_STAKE + REWARD + FEE);
        vm.prank(poster);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        assertEq(escrow.creditOf(poster), MIN_STAKE + REWARD + FEE, "credit");
        // The slashed stake moved into the escrow, where it waits as the poster's credit.
        expected.vault -= MIN_STAKE;
        expected.escrow += MIN_STAKE;
        _assertBalances(expected);
    }
}
