// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {RunEscrowAgentFixture} from "./RunEscrowAgent.t.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";

/// @notice A rejection and what follows it: the agent's dispute, acceptance and evidence, the
/// arbitrator's ruling, and the exits anyone takes when a party stays silent (finalizeRejection
/// past the dispute window, settleDispute past the ruling period).
contract RunEscrowDisputeTest is RunEscrowAgentFixture {
    /*//////////////////////////////////////////////////////////////
                                 DISPUTE
    //////////////////////////////////////////////////////////////*/

    function test_Dispute_MovesRunToDisputed() public {
        uint256 agentId = _agent();
        uint256 runId = _rejectedRun(agentId);
        skip(1 days);
        Balances memory before = _balances();
        IStakeVault.Agent memory agent = vault.getAgent(agentId);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Disputed(runId, agentId, arbitrator, EVIDENCE);
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.DISPUTED), "state");
        assertEq(run.timerStart, block.timestamp, "the ruling period starts");
        assertEq(run.agentId, agentId, "agentId");
        assertFalse(run.settled, "settled");
        // Nothing moves: the escrow keeps reward + fee + bond, the vault the reservation.
        _assertAgent(agentId, agent);
        _assertBalances(before);
        _assertSolvent(TOTAL + MIN_STAKE);
    }

    function test_Dispute_AtTheEndOfTheDisputeWindow() public {
        uint256 agentId = _agent();
        uint256 runId = _lateRejectedRun(agentId);
        vm.warp(block.timestamp + DISPUTE_WINDOW);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Disputed(runId, agentId, arbitrator, EVIDENCE);
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
        assertState(runId, IRunEscrow.RunState.DISPUTED);
    }

    function test_RevertWhen_DisputePastTheDisputeWindow() public {
        uint256 runId = _lateRejectedRun(_agent());
        uint256 end = block.timestamp + DISPUTE_WINDOW;
        vm.warp(end + 1);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowDisputeWindowOver.selector, runId, end));
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
    }

    function test_RevertWhen_DisputeCallerNotAgent() public {
        uint256 runId = _rejectedRun(_agent());
        _otherAgent();
        address[4] memory callers = [poster, stranger, otherAgentWallet, arbitrator];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgent.selector, runId, callers[i]));
            vm.prank(callers[i]);
            escrow.dispute(runId, EVIDENCE);
        }
        assertState(runId, IRunEscrow.RunState.REJECTED);
    }

    function test_RevertWhen_DisputeURIEmptyOrTooLong() public {
        uint256 runId = _rejectedRun(_agent());
        vm.expectRevert(IRunEscrow.RunEscrowEmptyURI.selector);
        vm.prank(agentWallet);
        escrow.dispute(runId, "");

        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowURITooLong.selector, 2049, 2048));
        vm.prank(agentWallet);
        escrow.dispute(runId, string(new bytes(2049)));
    }

    function test_RevertGiven_DisputeRunNotFound() public {
        _agent();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 6));
        vm.prank(agentWallet);
        escrow.dispute(6, EVIDENCE);
    }

    /// @dev The dispute goes before the arbitrator the run was created with, not the current one.
    function test_Dispute_NamesTheRunsArbitrator() public {
        uint256 agentId = _agent();
        uint256 runId = _rejectedRun(agentId);
        _setArbitrator(makeAddr("newArbitrator"));

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Disputed(runId, agentId, arbitrator, EVIDENCE);
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
    }

    /*//////////////////////////////////////////////////////////////
                             ACCEPT REJECTION
    //////////////////////////////////////////////////////////////*/

    function test_AcceptRejection_RefundsPosterAtOnce() public {
        uint256 agentId = _agent();
        uint256 runId = _rejectedRun(agentId);
        _assertRejectionFinalized(runId, agentId, agentWallet, true);
    }

    /// @dev The agent may accept at any time before the rejection is final, also past the window.
    function test_AcceptRejection_PastTheDisputeWindow() public {
        uint256 agentId = _agent();
        uint256 runId = _rejectedRun(agentId);
        vm.warp(block.timestamp + DISPUTE_WINDOW + 1);
        _assertRejectionFinalized(runId, agentId, agentWallet, true);
    }

    function test_AcceptRejection_ReturnsALargerBond() public {
        uint256 agentId = _registerAndStake(agentWallet, 100e6);
        uint256 runId = _rejectedRunOf(agentId, REWARD, 50e6);
        assertEq(vault.getAgent(agentId).reserved, 50e6, "reserved");
        _assertRejectionFinalized(runId, agentId, agentWallet, true);
    }

    function test_RevertWhen_AcceptRejectionCallerNotAgent() public {
        uint256 runId = _rejectedRun(_agent());
        _otherAgent();
        address[4] memory callers = [poster, stranger, otherAgentWallet, arbitrator];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgent.selector, runId, callers[i]));
            vm.prank(callers[i]);
            escrow.acceptRejection(runId);
        }
        assertFalse(escrow.getRun(runId).settled, "settled");
    }

    function test_RevertGiven_AcceptRejectionRunNotFound() public {
        _agent();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 6));
        vm.prank(agentWallet);
        escrow.acceptRejection(6);
    }

    /*//////////////////////////////////////////////////////////////
                             SUBMIT EVIDENCE
    //////////////////////////////////////////////////////////////*/

    function test_SubmitEvidence_PosterOnARejectedRun() public {
        uint256 runId = _rejectedRun(_agent());
        _assertEvidence(runId, poster);
    }

    function test_SubmitEvidence_AgentOnARejectedRun() public {
        uint256 runId = _rejectedRun(_agent());
        _assertEvidence(runId, agentWallet);
    }

    function test_SubmitEvidence_BothPartiesOnADisputedRun() public {
        uint256 runId = _disputedRun(_agent());
        _assertEvidence(runId, agentWallet);
        _assertEvidence(runId, poster);
    }

    /// @dev Evidence is only a record: it is accepted until the rejection is final or the dispute
    /// ends, even once the window or the ruling period has passed.
    function test_SubmitEvidence_PastTheWindows() public {
        uint256 rejected = _rejectedRun(_agent());
        uint256 disputed = _disputedRunOf(_otherAgent(), REWARD);
        vm.warp(block.timestamp + RULING_PERIOD + 1);
        _assertEvidence(rejected, poster);
        _assertEvidence(disputed, otherAgentWallet);
    }

    function test_RevertWhen_SubmitEvidenceCallerNotParty() public {
        uint256 runId = _disputedRun(_agent());
        _otherAgent();
        address[4] memory callers = [stranger, arbitrator, otherAgentWallet, owner];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotParty.selector, runId, callers[i]));
            vm.prank(callers[i]);
            escrow.submitEvidence(runId, EVIDENCE);
        }
    }

    function test_RevertGiven_SubmitEvidenceRejectionSettled() public {
        uint256 runId = _rejectedRun(_agent());
        vm.prank(agentWallet);
        escrow.acceptRejection(runId);

        address[2] memory parties = [poster, agentWallet];
        for (uint256 i; i < parties.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowAlreadySettled.selector, runId));
            vm.prank(parties[i]);
            escrow.submitEvidence(runId, EVIDENCE);
        }
    }

    function test_RevertWhen_SubmitEvidenceURIEmptyOrTooLong() public {
        uint256 runId = _disputedRun(_agent());
        vm.expectRevert(IRunEscrow.RunEscrowEmptyURI.selector);
        vm.prank(poster);
        escrow.submitEvidence(runId, "");

        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowURITooLong.selector, 2049, 2048));
        vm.prank(agentWallet);
        escrow.submitEvidence(runId, string(new bytes(2049)));
    }

    function test_RevertGiven_SubmitEvidenceRunNotFound() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 12));
        vm.prank(poster);
        escrow.submitEvidence(12, EVIDENCE);
    }

    /*//////////////////////////////////////////////////////////////
                                 RESOLVE
    //////////////////////////////////////////////////////////////*/

    function test_Resolve_FullShareToAgent() public {
        uint256 agentId = _agent();
        uint256 runId = _disputedRun(agentId);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);

        _assertResolves(runId, agentId, BPS, false);

        agent.reserved = 0;
        agent.completions += 1;
        agent.disputesWon += 1;
        agent.volume += REWARD;
        _assertAgent(agentId, agent);
        _assertSolvent(0);
    }

    /// @dev Exactly half is a win: the bond goes to the agent and the run counts as a completion.
    function test_Resolve_HalfShareIsAWin() public {
        uint256 agentId = _agent();
        uint256 runId = _disputedRun(agentId);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);

        _assertResolves(runId, agentId, 5000, false);

        agent.reserved = 0;
        agent.completions += 1;
        agent.disputesWon += 1;
        agent.volume += REWARD / 2;
        _assertAgent(agentId, agent);
        _assertSolvent(0);
    }

    /// @dev Just below half is a loss: the reservation goes to the poster, the bond back to it, no
    /// strike and no freeze.
    function test_Resolve_JustBelowHalfIsALoss() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 runId = _disputedRun(agentId);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(
            agentId, runId, MIN_STAKE, IStakeVault.Outcome.DISPUTE_LOST, MIN_STAKE, 0
        );
        _assertResolves(runId, agentId, 4999, false);

        agent.stake = MIN_STAKE;
        agent.reserved = 0;
        agent.disputesLost += 1;
        agent.volume += REWARD * 4999 / BPS;
        // Status unchanged (PROVISIONAL): no strike, no freeze.
        _assertAgent(agentId, agent);
        _assertSolvent(0);
    }

    /// @dev Losing the whole reservation of an agent with exactly the minimum: UNVERIFIED, not FROZEN.
    function test_Resolve_ZeroShareWithoutStrike() public {
        uint256 agentId = _agent();
        uint256 runId = _disputedRun(agentId);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(agentId, runId, MIN_STAKE, IStakeVault.Outcome.DISPUTE_LOST, 0, 0);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(
            agentId, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.UNVERIFIED
        );
        _assertResolves(runId, agentId, 0, false);

        agent.stake = 0;
        agent.reserved = 0;
        agent.stakedSince = 0;
        agent.disputesLost += 1;
        agent.status = IStakeVault.AgentStatus.UNVERIFIED;
        _assertAgent(agentId, agent);
        _assertSolvent(0);
    }

    function test_Resolve_ZeroShareWithStrikeFreezes() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 runId = _disputedRun(agentId);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(
            agentId, runId, MIN_STAKE, IStakeVault.Outcome.DISPUTE_LOST_STRUCK, MIN_STAKE, 1
        );
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(
            agentId, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.FROZEN
        );
        _assertResolves(runId, agentId, 0, true);

        agent.stake = MIN_STAKE;
        agent.reserved = 0;
        agent.strikes = 1;
        agent.frozen = true;
        agent.disputesLost += 1;
        agent.status = IStakeVault.AgentStatus.FROZEN;
        _assertAgent(agentId, agent);
        _assertSolvent(0);
    }

    function test_Resolve_StrikeAtTheThresholdBans() public {
        uint256 agentId = _registerAndStake(agentWallet, 4 * MIN_STAKE);
        for (uint256 i; i < STRIKES_TO_BAN - 1; ++i) {
            _claimAndSlash(agentId);
            _stake(agentId, MIN_STAKE);
        }
        uint256 runId = _disputedRunOf(agentId, REWARD);
        assertStatus(agentId, IStakeVault.AgentStatus.PROVISIONAL);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(
            agentId, runId, MIN_STAKE, IStakeVault.Outcome.DISPUTE_LOST_STRUCK, 3 * MIN_STAKE, STRIKES_TO_BAN
        );
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(
            agentId, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.BANNED
        );
        _assertResolves(runId, agentId, 0, true);

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.strikes, STRIKES_TO_BAN, "strikes");
        assertTrue(agent.banned, "banned");
        assertEq(uint256(agent.status), uint256(IStakeVault.AgentStatus.BANNED), "status");
    }

    /// @dev Odd amounts round down for the agent and the treasury; the poster gets the rest.
    function test_Resolve_SplitsOddRewardsRoundingDown() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 reward = 1_234_567; // fee 61_728 (61_728.35 rounded down)
        uint256 runId = _disputedRunOf(agentId, reward);
        uint256 snapshot = vm.snapshotState();

        // A worked example, so the formula itself is checked: 3333 bps.
        IRunEscrow.Ruling memory r = _ruling(reward, 3333, MIN_STAKE, MIN_STAKE, false, false);
        assertEq(r.toAgent, 411_481, "toAgent");
        assertEq(r.toTreasury, 20_573, "toTreasury");
        assertEq(r.toPoster, 864_241, "toPoster");

        uint16[7] memory shares = [uint16(1), 3333, 4999, 5000, 6667, 9999, 10_000];
        for (uint256 i; i < shares.length; ++i) {
            _assertResolves(runId, agentId, shares[i], false);
            _assertSolvent(0);
            vm.revertToState(snapshot);
        }
    }

    function testFuzz_Resolve_SplitsRewardAndFee(uint256 reward, uint256 bps, bool strike) public {
        reward = bound(reward, 1, 900_000e6); // the poster holds 1M USDC for reward + fee + bond
        bps = bound(bps, 0, BPS);
        strike = strike && bps == 0;
        uint256 agentId = _agent();
        uint256 runId = _disputedRunOf(agentId, reward);

        _assertResolves(runId, agentId, bps, strike);

        IRunEscrow.Ruling memory r = _ruling(reward, bps, MIN_STAKE, 0, strike, false);
        assertEq(r.toAgent + r.toTreasury + r.toPoster, reward + reward * FEE_BPS / BPS, "every unit paid");
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.reserved, 0, "reservation settled");
        assertEq(agent.disputesWon + agent.disputesLost, 1, "one dispute counted");
        assertEq(agent.completions, bps >= 5000 && reward >= 1e6 ? 1 : 0, "completion");
        assertEq(agent.strikes, strike ? 1 : 0, "strikes");
        _assertSolvent(0);
    }

    /// @dev A win on a reward below 1 USDC counts as a won dispute but not as a completion.
    function test_Resolve_SmallRewardWinIsNoCompletion() public {
        uint256 agentId = _agent();
        uint256 runId = _disputedRunOf(agentId, 1e6 - 1);
        _assertResolves(runId, agentId, BPS, false);

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.disputesWon, 1, "disputesWon");
        assertEq(agent.completions, 0, "no completion");
        assertEq(agent.volume, 1e6 - 1, "volume");
    }

    function test_RevertWhen_ResolveCallerNotArbitrator() public {
        uint256 runId = _disputedRun(_agent());
        address[4] memory callers = [poster, agentWallet, stranger, owner];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(IRunEscrow.RunEscrowNotArbitrator.selector, runId, callers[i])
            );
            vm.prank(callers[i]);
            escrow.resolve(runId, BPS, false);
        }
        assertState(runId, IRunEscrow.RunState.DISPUTED);
    }

    /// @dev Each run keeps the arbitrator it was created with: after the owner names a new one, the
    /// old one still rules its runs and the new one cannot; new runs go to the new one.
    function test_Resolve_ArbitratorChangeReachesOnlyNewRuns() public {
        address newArbitrator = makeAddr("newArbitrator");
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 oldRun = _disputedRun(agentId);
        _setArbitrator(newArbitrator);
        uint256 newRun = _disputedRunOf(agentId, REWARD);
        assertEq(escrow.getRun(oldRun).terms.arbitrator, arbitrator, "old run's arbitrator");
        assertEq(escrow.getRun(newRun).terms.arbitrator, newArbitrator, "new run's arbitrator");

        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowNotArbitrator.selector, oldRun, newArbitrator)
        );
        vm.prank(newArbitrator);
        escrow.resolve(oldRun, BPS, false);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowNotArbitrator.selector, newRun, arbitrator)
        );
        vm.prank(arbitrator);
        escrow.resolve(newRun, BPS, false);

        _assertResolves(oldRun, agentId, BPS, false);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.DisputeResolved(
            newRun, agentId, newArbitrator, _ruling(REWARD, 2500, MIN_STAKE, MIN_STAKE, false, false)
        );
        vm.prank(newArbitrator);
        escrow.resolve(newRun, 2500, false);
    }

    function test_Resolve_AtTheEndOfTheRulingPeriod() public {
        uint256 agentId = _agent();
        uint256 runId = _lateDisputedRun(agentId);
        vm.warp(block.timestamp + RULING_PERIOD);
        _assertResolves(runId, agentId, 7500, false);
    }

    function test_RevertWhen_ResolvePastTheRulingPeriod() public {
        uint256 runId = _lateDisputedRun(_agent());
        uint256 end = block.timestamp + RULING_PERIOD;
        vm.warp(end + 1);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRulingPeriodOver.selector, runId, end));
        vm.prank(arbitrator);
        escrow.resolve(runId, BPS, false);
    }

    function test_RevertWhen_ResolveInvalidRuling() public {
        uint256 runId = _disputedRun(_agent());
        uint256[4] memory shares = [BPS + 1, 1, 5000, BPS];
        bool[4] memory strikes = [false, true, true, true];
        for (uint256 i; i < shares.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidRuling.selector, shares[i], strikes[i])
            );
            vm.prank(arbitrator);
            escrow.resolve(runId, shares[i], strikes[i]);
        }
        assertState(runId, IRunEscrow.RunState.DISPUTED);
    }

    function test_RevertGiven_ResolveRunNotFound() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 13));
        vm.prank(arbitrator);
        escrow.resolve(13, BPS, false);
    }

    /*//////////////////////////////////////////////////////////////
                              SETTLE DISPUTE
    //////////////////////////////////////////////////////////////*/

    /// @dev The silent-arbitrator default: 50/50, the bond back to the poster (not to the agent), the
    /// reservation released, and neither a completion, a strike nor a won or lost dispute.
    function test_SettleDispute_SplitsHalfAndReturnsBothStakes() public {
        uint256 agentId = _agent();
        uint256 runId = _lateDisputedRun(agentId);
        vm.warp(block.timestamp + RULING_PERIOD + 1);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);

        _assertSettlesByDefault(runId, agentId, REWARD);

        agent.reserved = 0;
        agent.volume += REWARD / 2;
        _assertAgent(agentId, agent);
        _assertSolvent(0);
    }

    function test_RevertGiven_SettleDisputeAtTheEndOfTheRulingPeriod() public {
        uint256 runId = _lateDisputedRun(_agent());
        uint256 end = block.timestamp + RULING_PERIOD;
        vm.warp(end);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRulingPeriodOpen.selector, runId, end));
        vm.prank(stranger);
        escrow.settleDispute(runId);
    }

    function test_SettleDispute_SplitsOddRewardsRoundingDown() public {
        uint256 agentId = _agent();
        uint256 reward = 1_234_567;
        uint256 runId = _disputedRunOf(agentId, reward);
        vm.warp(block.timestamp + RULING_PERIOD + 1);

        IRunEscrow.Ruling memory r = _ruling(reward, 5000, MIN_STAKE, 0, false, true);
        assertEq(r.toAgent, 617_283, "toAgent");
        assertEq(r.toTreasury, 30_864, "toTreasury");
        assertEq(r.toPoster, 648_148, "toPoster");
        _assertSettlesByDefault(runId, agentId, reward);
        _assertSolvent(0);
    }

    /// @dev The default names the run's own arbitrator, whoever the current one is, and anyone
    /// (a party too) may take it.
    function test_SettleDispute_NamesTheRunsArbitrator() public {
        uint256 agentId = _agent();
        uint256 runId = _disputedRun(agentId);
        _setArbitrator(makeAddr("newArbitrator"));
        vm.warp(block.timestamp + RULING_PERIOD + 1);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.DisputeResolved(
            runId, agentId, arbitrator, _ruling(REWARD, 5000, MIN_STAKE, 0, false, true)
        );
        vm.prank(agentWallet);
        escrow.settleDispute(runId);
    }

    function test_RevertGiven_SettleDisputeRunNotFound() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 14));
        vm.prank(stranger);
        escrow.settleDispute(14);
    }

    /*//////////////////////////////////////////////////////////////
                           FINALIZE REJECTION
    //////////////////////////////////////////////////////////////*/

    function test_FinalizeRejection_RefundsPosterPastTheWindow() public {
        uint256 agentId = _agent();
        uint256 runId = _lateRejectedRun(agentId);
        vm.warp(block.timestamp + DISPUTE_WINDOW + 1);
        _assertRejectionFinalized(runId, agentId, stranger, false);
    }

    function test_RevertGiven_FinalizeRejectionAtTheEndOfTheWindow() public {
        uint256 runId = _lateRejectedRun(_agent());
        uint256 end = block.timestamp + DISPUTE_WINDOW;
        vm.warp(end);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowDisputeWindowOpen.selector, runId, end));
        vm.prank(stranger);
        escrow.finalizeRejection(runId);
    }

    function test_RevertGiven_FinalizeRejectionRunNotFound() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 15));
        vm.prank(stranger);
        escrow.finalizeRejection(15);
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev A REJECTED run whose claim, submission and rejection each came days after the step
    /// before, so a period counted from the wrong step shows.
    function _lateRejectedRun(uint256 agentId) internal returns (uint256 runId) {
        runId = _openRunWith(REWARD, defaultDeadline(), 0, 0);
        skip(1 days);
        _claim(runId, agentId);
        skip(2 days);
        _submit(runId);
        skip(3 days);
        _reject(runId);
        assertEq(
            escrow.getRun(runId).timerStart, block.timestamp, "the dispute window starts at the rejection"
        );
    }

    /// @dev A DISPUTED run disputed two days after its (late) rejection.
    function _lateDisputedRun(uint256 agentId) internal returns (uint256 runId) {
        runId = _lateRejectedRun(agentId);
        skip(2 days);
        _dispute(runId);
        assertEq(escrow.getRun(runId).timerStart, block.timestamp, "the ruling period starts at the dispute");
    }

    /// @dev `caller` makes run `runId`'s rejection final (the agent accepting, or anyone after the
    /// window): reward + fee + bond to the poster, the reservation released, a rejection on record.
    function _assertRejectionFinalized(uint256 runId, uint256 agentId, address caller, bool byAgent)
        internal
    {
        Balances memory expected = _balances();
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        uint256 bond = escrow.getRun(runId).requiredStake;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RejectionFinalized(runId, agentId, poster, TOTAL + bond, byAgent);
        vm.prank(caller);
        if (byAgent) escrow.acceptRejection(runId);
        else escrow.finalizeRejection(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.REJECTED), "state");
        assertTrue(run.settled, "settled");
        agent.reserved -= bond;
        agent.rejections += 1;
        _assertAgent(agentId, agent);

        expected.escrow -= TOTAL + bond;
        expected.poster += TOTAL + bond;
        _assertBalances(expected);
        _assertSolvent(0);
    }

    /// @dev Evidence by `by` on run `runId`: the event, and nothing else changes.
    function _assertEvidence(uint256 runId, address by) internal {
        Balances memory before = _balances();
        bytes32 runBefore = keccak256(abi.encode(escrow.getRun(runId)));

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.EvidenceSubmitted(runId, by, "ipfs://more-evidence");
        vm.prank(by);
        escrow.submitEvidence(runId, "ipfs://more-evidence");

        assertEq(keccak256(abi.encode(escrow.getRun(runId))), runBefore, "run unchanged");
        _assertBalances(before);
    }

    /// @dev The arbitrator rules `bps` (with `strike`) on run `runId`: the event carries the exact
    /// split and every USDC lands where the ruling says. Agent counters are the caller's to check.
    function _assertResolves(uint256 runId, uint256 agentId, uint256 bps, bool strike) internal {
        IRunEscrow.Run memory run = escrow.getRun(runId);
        bool won = bps >= 5000;
        uint256 bond = run.requiredStake;
        IRunEscrow.Ruling memory r = _ruling(run.reward, bps, bond, won ? 0 : bond, strike, false);
        Balances memory expected = _balances();
        uint256 reserved = vault.getAgent(agentId).reserved;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.DisputeResolved(runId, agentId, run.terms.arbitrator, r);
        vm.prank(run.terms.arbitrator);
        escrow.resolve(runId, bps, strike);

        run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.RESOLVED), "state");
        assertTrue(run.settled, "settled");
        assertEq(vault.getAgent(agentId).reserved, reserved - bond, "reservation settled");

        expected.fees += r.toTreasury;
        if (won) {
            // The poster's bond to the agent; the reservation released.
            expected.agent += r.toAgent + bond;
            expected.poster += r.toPoster;
        } else {
            // The bond back to the poster, and the agent's reservation vault -> escrow -> poster.
            expected.agent += r.toAgent;
            expected.poster += r.toPoster + bond + bond;
            expected.vault -= bond;
        }
        expected.escrow -= r.toAgent + r.toPoster + bond;
        _assertBalances(expected);
    }

    /// @dev Anyone settles run `runId` by default: 50/50, the bond back to the poster, no stake moved.
    function _assertSettlesByDefault(uint256 runId, uint256 agentId, uint256 reward) internal {
        IRunEscrow.Ruling memory r = _ruling(reward, 5000, MIN_STAKE, 0, false, true);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.DisputeResolved(runId, agentId, arbitrator, r);
        vm.prank(stranger);
        escrow.settleDispute(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.RESOLVED), "state");
        assertTrue(run.settled, "settled");
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.reserved, 0, "reservation released");
        assertEq(agent.completions, 0, "no completion");
        assertEq(agent.disputesWon, 0, "no dispute won");
        assertEq(agent.disputesLost, 0, "no dispute lost");
        assertEq(agent.strikes, 0, "no strike");

        expected.agent += r.toAgent;
        expected.poster += r.toPoster + MIN_STAKE;
        expected.fees += r.toTreasury;
        expected.escrow -= r.toAgent + r.toPoster + MIN_STAKE;
        _assertBalances(expected);
    }
}
