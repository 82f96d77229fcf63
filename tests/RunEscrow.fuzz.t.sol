// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {RunEscrowHelpers} from "./RunEscrow.t.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";

/// @title RunEscrowFuzzTest
/// @notice Property tests of RunEscrow's money and terms (protocol v2): the fee for any reward and
/// rate, the bounds of a new run (deadline, terms version, required stake, worst-case lock), the
/// review period's edge, and the exact split of every ruling and approval — each party gets its
/// rounded-down share, the parts sum to the whole, and the escrow ends holding exactly what it
/// still owes.
contract RunEscrowFuzzTest is RunEscrowHelpers {
    uint256 internal constant HALF_BPS = 5000;
    uint256 internal constant ONE_USDC = 1e6;

    /*//////////////////////////////////////////////////////////////
                                 FEE MATH
    //////////////////////////////////////////////////////////////*/

    /// @dev Any reward and fee rate, through each funded creation variant: the fee is
    /// floor(reward * feeBps / 1e4) in RunCreated and getRun, and exactly reward + fee is pulled.
    function testFuzz_CreateAndFund_PullsRewardPlusFlooredFee(uint256 reward, uint256 feeBps, uint256 via)
        public
    {
        reward = bound(reward, 1, MAX_AMOUNT);
        feeBps = bound(feeBps, 0, 1000);
        via = bound(via, VIA_CREATE_AND_FUND, VIA_AUTHORIZATION);
        _setFee(feeBps);
        uint256 fee = reward * feeBps / BPS;
        // The largest whole amount not above reward * feeBps / 1e4, and never above 10%.
        assertLe(fee * BPS, reward * feeBps, "fee rounds up");
        assertGt((fee + 1) * BPS, reward * feeBps, "fee rounds down too far");
        assertLe(fee, reward / 10, "fee above 10%");
        _mint(poster, reward + fee);
        if (via != VIA_CREATE_AND_FUND) _revokeAllowance();

        CreateArgs memory a = _args();
        a.reward = reward;
        IRunEscrow.Run memory expected = _expectedRun(a, IRunEscrow.RunState.OPEN);
        assertEq(expected.fee, fee, "expected fee");
        Sigs memory s = _signCreate(via, a);
        Balances memory b = _balances();
        b.poster -= reward + fee;
        b.escrow += reward + fee;

        _expectRunCreated(1, SPEC, expected);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(1, poster, reward + fee);
        uint256 runId = _callCreate(via, poster, a, s);

        _assertRun(runId, expected);
        _assertBalances(b);
    }

    /// @dev Cancelling refunds exactly what was escrowed: nothing for a DRAFT, reward + fee for an OPEN run.
    function testFuzz_Cancel_RefundsExactly(uint256 reward, uint256 feeBps, bool funded) public {
        reward = bound(reward, 1, MAX_AMOUNT);
        feeBps = bound(feeBps, 0, 1000);
        _setFee(feeBps);
        uint256 fee = reward * feeBps / BPS;
        _mint(poster, reward + fee);
        Balances memory b = _balances();
        CreateArgs memory a = _args();
        a.reward = reward;
        uint256 runId = _create(funded ? VIA_CREATE_AND_FUND : VIA_CREATE_RUN, a);
        uint256 refund = funded ? reward + fee : 0;
        assertEq(b.poster - usdc.balanceOf(poster), refund, "escrowed");

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, refund);
        vm.prank(poster);
        escrow.cancel(runId);

        assertState(runId, IRunEscrow.RunState.CANCELLED);
        _assertBalances(b); // the poster made whole, the escrow back to before
    }

    /// @dev An owner fee change after creation never changes what a run charges.
    function testFuzz_Approve_ChargesTheFeeOfCreation(uint256 reward, uint256 feeBps, uint256 newFeeBps)
        public
    {
        reward = bound(reward, 1, MAX_AMOUNT);
        feeBps = bound(feeBps, 0, 1000);
        newFeeBps = bound(newFeeBps, 0, 1000);
        _setFee(feeBps);
        uint256 fee = reward * feeBps / BPS;
        _mint(poster, reward + fee);
        uint256 runId = _submittedRun(reward, 0);
        _setFee(newFeeBps);
        assertEq(escrow.getRun(runId).fee, fee, "getRun fee");
        assertEq(escrow.getRun(runId).terms.feeBps, feeBps, "getRun terms.feeBps");

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, reward, fee, 0, false);
        vm.prank(poster);
        escrow.approve(runId);
        assertEq(escrow.accruedFees(), fee, "accrued the fee of creation");
        assertEq(usdc.balanceOf(address(escrow)), fee, "escrow holds only the fee");
    }

    /*//////////////////////////////////////////////////////////////
                               RUN BOUNDS
    //////////////////////////////////////////////////////////////*/

    /// @dev A deadline is accepted iff it is after now and at most 365 days ahead.
    function testFuzz_CreateRun_Deadline(int256 offset) public {
        // A third of the runs lands within 2 s of an edge (now, now + 365 days).
        offset = _nearEdge(
            offset, offset % 2 == 0 ? int256(0) : int256(365 days), -int256(365 days), int256(730 days)
        );
        uint256 deadline =
            offset >= 0 ? block.timestamp + uint256(offset) : block.timestamp - uint256(-offset);
        CreateArgs memory a = _args();
        a.deadline = deadline;
        if (offset <= 0 || offset > int256(365 days)) {
            _expectCreateReverts(a, _invalidDeadline(deadline));
            return;
        }
        uint256 runId = _create(VIA_CREATE_AND_FUND, a);
        assertEq(escrow.getRun(runId).deadline, deadline, "deadline");
    }

    /// @dev After any number of owner updates, a run is created iff the caller passed 0 or the
    /// current version; otherwise it reverts naming both.
    function testFuzz_CreateRun_TermsVersion(uint256 updates, uint256 given) public {
        updates = bound(updates, 0, 5);
        given = bound(given, 0, updates + 3);
        for (uint256 i; i < updates; ++i) {
            _setFee(100 * (i + 1));
        }
        uint256 current = updates + 1;
        CreateArgs memory a = _args();
        a.termsVersion = given;
        if (given != 0 && given != current) {
            _expectCreateReverts(a, _termsChanged(given, current));
            return;
        }
        IRunEscrow.Run memory expected = _expectedRun(a, IRunEscrow.RunState.DRAFT);
        assertEq(expected.termsVersion, current, "current version");
        _expectRunCreated(1, SPEC, expected);
        _assertRun(_create(VIA_CREATE_RUN, a), expected);
    }

    /// @dev For any minimum stake, requiredStake 0 means the minimum, below it reverts, above
    /// 64 bits reverts, anything else is kept.
    function testFuzz_CreateRun_RequiredStake(uint256 requiredStake, uint256 minStake, uint256 region)
        public
    {
        minStake = bound(minStake, 1, MAX_AMOUNT);
        if (minStake != MIN_STAKE) _setVaultMinStake(uint64(minStake));
        region = bound(region, 0, 3);
        if (region == 0) requiredStake = 0;
        else if (region == 1) requiredStake = minStake == 1 ? 0 : bound(requiredStake, 1, minStake - 1);
        else if (region == 2) requiredStake = bound(requiredStake, minStake, MAX_AMOUNT);
        else requiredStake = bound(requiredStake, MAX_AMOUNT + 1, type(uint256).max);

        CreateArgs memory a = _args();
        a.requiredStake = requiredStake;
        if (requiredStake != 0 && requiredStake < minStake) {
            _expectCreateReverts(
                a,
                abi.encodeWithSelector(
                    IRunEscrow.RunEscrowStakeBelowMinimum.selector, requiredStake, minStake
                )
            );
        } else if (requiredStake > MAX_AMOUNT) {
            _expectCreateReverts(
                a,
                abi.encodeWithSelector(IRunEscrow.RunEscrowAmountTooLarge.selector, requiredStake, MAX_AMOUNT)
            );
        } else {
            IRunEscrow.Run memory expected = _expectedRun(a, IRunEscrow.RunState.OPEN);
            assertEq(expected.requiredStake, requiredStake == 0 ? minStake : requiredStake, "requiredStake");
            assertEq(expected.terms.minStake, minStake, "terms.minStake");
            _expectRunCreated(1, SPEC, expected);
            _assertRun(_create(VIA_CREATE_AND_FUND, a), expected);
        }
    }

    /// @dev For any periods in bounds and any revision cap, a run is created iff its worst-case
    /// lock fits in 365 days.
    function testFuzz_CreateRun_WorstCaseLock(
        uint256 claimTimeout,
        uint256 reviewPeriod,
        uint256 disputeWindow,
        uint256 rulingPeriod,
        uint256 maxRevisions
    ) public {
        IRunEscrow.Parameters memory p = defaultEscrowParameters();
        p.claimTimeout = uint32(bound(claimTimeout, 1 hours, 90 days));
        p.reviewPeriod = uint32(bound(reviewPeriod, 1 hours, 90 days));
        p.disputeWindow = uint32(bound(disputeWindow, 1 days, 30 days));
        p.rulingPeriod = uint32(bound(rulingPeriod, 1 days, 90 days));
        _setParameters(p);
        CreateArgs memory a = _args();
        a.maxRevisions = bound(maxRevisions, 0, 10);
        uint256 lock = (a.maxRevisions + 1) * (uint256(p.claimTimeout) + p.reviewPeriod) + p.disputeWindow
            + p.rulingPeriod;
        if (lock > 365 days) {
            _expectCreateReverts(
                a, abi.encodeWithSelector(IRunEscrow.RunEscrowLockTooLong.selector, lock, 365 days)
            );
            return;
        }
        _assertRun(_create(VIA_CREATE_RUN, a), _expectedRun(a, IRunEscrow.RunState.DRAFT));
    }

    /*//////////////////////////////////////////////////////////////
                           THE REVIEW PERIOD
    //////////////////////////////////////////////////////////////*/

    /// @dev For any review period, a revision request succeeds up to submission + review period
    /// and reverts from the second after.
    function testFuzz_RequestRevision_ReviewPeriodEdge(uint256 reviewPeriod, int256 shift) public {
        (uint256 runId, uint256 reviewEnd, int256 at) = _submittedUnderReview(reviewPeriod, 1, shift);
        if (at > 0) {
            vm.expectRevert(_reviewOver(runId, reviewEnd));
            vm.prank(poster);
            escrow.requestRevision(runId, REASON);
            assertState(runId, IRunEscrow.RunState.SUBMITTED);
            return;
        }
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RevisionRequested(runId, agentId, REASON, 1);
        vm.prank(poster);
        escrow.requestRevision(runId, REASON);
        assertEq(escrow.getRun(runId).timerStart, block.timestamp, "claim timeout restarted");
    }

    /// @dev For any review period, a rejection succeeds (pulling the bond) up to submission +
    /// review period and reverts, pulling nothing, from the second after.
    function testFuzz_Reject_ReviewPeriodEdge(uint256 reviewPeriod, int256 shift, bool withPermit) public {
        (uint256 runId, uint256 reviewEnd, int256 at) = _submittedUnderReview(reviewPeriod, 0, shift);
        uint256 action = withPermit ? REJECT_WITH_PERMIT : REJECT;
        if (withPermit) _revokeAllowance();
        Sigs memory s = _sign(action, BOND);
        Balances memory b = _balances();
        if (at > 0) {
            vm.expectRevert(_reviewOver(runId, reviewEnd));
            _act(action, poster, runId, s);
            _assertBalances(b);
            return;
        }
        b.poster -= BOND;
        b.escrow += BOND;
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(runId, agentId, poster, REASON, BOND);
        _act(action, poster, runId, s);
        _assertBalances(b);
        assertState(runId, IRunEscrow.RunState.REJECTED);
    }

    /*//////////////////////////////////////////////////////////////
                            RULING ROUNDING
    //////////////////////////////////////////////////////////////*/

    /// @dev For any reward, fee rate and share: the agent gets floor(reward * bps / 1e4), the
    /// treasury floor(fee * bps / 1e4), the poster the rest; the bond and the reservation follow
    /// the 50% line; the parts sum exactly and the escrow ends holding only the accrued share.
    function testFuzz_Resolve_SplitsExactly(uint256 reward, uint256 feeBps, uint256 bps, bool strike) public {
        bps = uint256(_nearEdge(int256(bound(bps, 0, BPS)), int256(HALF_BPS), 0, int256(BPS)));
        strike = strike && bps == 0;
        (uint256 runId, uint256 fee) = _fundedDispute(reward, feeBps);
        reward = escrow.getRun(runId).reward;
        IRunEscrow.Ruling memory r = _ruling(reward, fee, bps, strike, false);
        Balances memory b = _expectedAfterRuling(r);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.DisputeResolved(runId, agentId, arbitrator, r);
        vm.prank(arbitrator);
        escrow.resolve(runId, bps, strike);

        _assertBalances(b);
        _assertRecord(r, reward >= ONE_USDC && bps >= HALF_BPS);
        _assertFeesLeaveExactly(r.toTreasury);
    }

    /// @dev A silent arbitrator's default: 50/50 rounded down for the agent and the treasury, the
    /// bond back to the poster, the reservation released, no completion, no strike.
    function testFuzz_SettleDispute_SplitsExactly(uint256 reward, uint256 feeBps, uint256 late) public {
        (uint256 runId, uint256 fee) = _fundedDispute(reward, feeBps);
        reward = escrow.getRun(runId).reward;
        IRunEscrow.Ruling memory r = _ruling(reward, fee, HALF_BPS, false, true);
        Balances memory b = _expectedAfterRuling(r);
        skip(RULING_PERIOD + 1 + bound(late, 0, 365 days));

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.DisputeResolved(runId, agentId, arbitrator, r);
        vm.prank(stranger);
        escrow.settleDispute(runId);

        _assertBalances(b);
        _assertRecord(r, false);
        _assertFeesLeaveExactly(r.toTreasury);
    }

    /*//////////////////////////////////////////////////////////////
                     APPROVAL FROM EVERY LIVE STATE
    //////////////////////////////////////////////////////////////*/

    /// @dev The poster approves a SUBMITTED, REJECTED or DISPUTED run at any later time, paused or
    /// not: reward to the agent, the fee accrued, the bond (if any) back to the poster after a
    /// rejection or to the agent after a dispute (conceded), the reservation released; the escrow
    /// ends holding only the fee.
    function testFuzz_Approve_FromAnyLiveStatePaysExactly(
        uint256 reward,
        uint256 feeBps,
        uint256 from,
        uint256 delay,
        bool paused
    ) public {
        reward = bound(reward, 1, MAX_AMOUNT);
        feeBps = bound(feeBps, 0, 1000);
        from = bound(from, 0, 2);
        _setFee(feeBps);
        uint256 fee = reward * feeBps / BPS;
        _mint(poster, reward + fee);
        uint256 owed = usdc.balanceOf(address(escrow));
        uint256 runId = from == 0
            ? _submittedRun(reward, 0)
            : from == 1 ? _rejectedRunWith(reward) : _disputedRunWith(reward);
        uint256 bond = from == 0 ? 0 : BOND;
        skip(bound(delay, 0, 400 days));
        if (paused) _pause();
        Balances memory b = _balances();
        assertEq(b.escrow, owed + reward + fee + bond, "escrow holds reward + fee + bond");
        b.agent += from == 2 ? reward + bond : reward;
        b.poster += from == 2 ? 0 : bond;
        b.escrow = owed + fee;
        b.accruedFees += fee;
        b.reserved -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, reward, fee, bond, false);
        vm.prank(poster);
        escrow.approve(runId);

        _assertBalances(b);
        assertEq(vault.getAgent(agentId).completions, reward >= ONE_USDC ? 1 : 0, "completions");
        assertEq(vault.getAgent(agentId).volume, reward, "volume");
        _assertFeesLeaveExactly(fee);
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev `x` bounded to [`min`, `max`]; for a third of the inputs, within 2 of `edge` instead.
    function _nearEdge(int256 x, int256 edge, int256 min, int256 max) internal pure returns (int256) {
        if (x % 3 != 0) return bound(x, min, max);
        int256 lo = edge - 2 < min ? min : edge - 2;
        int256 hi = edge + 2 > max ? max : edge + 2;
        return bound(x / 3, lo, hi);
    }

    function _setFee(uint256 feeBps) internal {
        IRunEscrow.Parameters memory p = defaultEscrowParameters();
        p.feeBps = uint16(feeBps);
        _setParameters(p);
    }

    /// @dev A SUBMITTED run created under a review period of `reviewPeriod` (bounded) with
    /// `maxRevisions`, and the clock moved to its review end + `shift` (bounded, returned as `at`).
    function _submittedUnderReview(uint256 reviewPeriod, uint256 maxRevisions, int256 shift)
        internal
        returns (uint256 runId, uint256 reviewEnd, int256 at)
    {
        IRunEscrow.Parameters memory p = defaultEscrowParameters();
        p.reviewPeriod = uint32(bound(reviewPeriod, 1 hours, 90 days));
        _setParameters(p);
        runId = _submittedRun(REWARD, maxRevisions);
        reviewEnd = block.timestamp + p.reviewPeriod;
        at = _nearEdge(shift, 0, -int256(uint256(p.reviewPeriod)), int256(30 days));
        vm.warp(at >= 0 ? reviewEnd + uint256(at) : reviewEnd - uint256(-at));
    }

    /// @dev A DISPUTED run with a bounded `reward` under a bounded fee rate; returns its fee.
    function _fundedDispute(uint256 reward, uint256 feeBps) internal returns (uint256 runId, uint256 fee) {
        reward = bound(reward, 1, MAX_AMOUNT);
        feeBps = bound(feeBps, 0, 1000);
        _setFee(feeBps);
        fee = reward * feeBps / BPS;
        _mint(poster, reward + fee);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow owes nothing before");
        runId = _disputedRunWith(reward);
        assertEq(usdc.balanceOf(address(escrow)), reward + fee + BOND, "escrow holds reward + fee + bond");
    }

    /// @dev The ruling SPEC §2.3 prescribes for a share of `bps`.
    function _ruling(uint256 reward, uint256 fee, uint256 bps, bool strike, bool byDefault)
        internal
        pure
        returns (IRunEscrow.Ruling memory r)
    {
        r.agentShareBps = uint16(bps);
        r.toAgent = reward * bps / BPS;
        r.toTreasury = fee * bps / BPS;
        r.toPoster = reward + fee - r.toAgent - r.toTreasury;
        r.bond = BOND;
        r.stakeForfeited = bps < HALF_BPS ? MIN_STAKE : 0;
        r.strike = strike;
        r.byDefault = byDefault;
        // Each share is the floor of its exact value, and the three parts are the whole.
        assertLe(r.toAgent * BPS, reward * bps, "agent share rounds up");
        assertGt((r.toAgent + 1) * BPS, reward * bps, "agent share rounds down too far");
        assertLe(r.toTreasury * BPS, fee * bps, "treasury share rounds up");
        assertGt((r.toTreasury + 1) * BPS, fee * bps, "treasury share rounds down too far");
        assertEq(r.toAgent + r.toTreasury + r.toPoster, reward + fee, "parts sum to the whole");
    }

    /// @dev Balances after ruling `r` on the fixture's dispute: the agent its share (+ the bond
    /// when it won), the poster the rest (+ bond and reservation when the agent lost), the fee
    /// share accrued, the escrow left with only that, the reservation released or forfeited.
    function _expectedAfterRuling(IRunEscrow.Ruling memory r) internal view returns (Balances memory b) {
        b = _balances();
        bool won = r.agentShareBps >= HALF_BPS && !r.byDefault;
        b.agent += r.toAgent + (won ? r.bond : 0);
        b.poster += r.toPoster + (won ? 0 : r.bond + r.stakeForfeited);
        b.accruedFees += r.toTreasury;
        b.escrow = r.toTreasury;
        b.reserved -= MIN_STAKE;
        b.stake -= r.stakeForfeited;
        b.vault -= r.stakeForfeited;
    }

    /// @dev The agent's record after ruling `r`.
    function _assertRecord(IRunEscrow.Ruling memory r, bool completion) internal view {
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.completions, completion ? 1 : 0, "completions");
        assertEq(agent.strikes, r.strike ? 1 : 0, "strikes");
        assertEq(agent.frozen, r.strike, "frozen");
        bool won = r.agentShareBps >= HALF_BPS && !r.byDefault;
        bool lost = r.agentShareBps < HALF_BPS;
        assertEq(agent.disputesWon, won ? 1 : 0, "disputesWon");
        assertEq(agent.disputesLost, lost ? 1 : 0, "disputesLost");
        assertEq(agent.volume, r.toAgent, "volume");
    }

    /// @dev The escrow holds exactly `accrued` (the fees), and withdrawFees leaves it owing nothing.
    function _assertFeesLeaveExactly(uint256 accrued) internal {
        assertEq(usdc.balanceOf(address(escrow)), accrued, "escrow holds only the accrued fees");
        assertEq(escrow.accruedFees(), accrued, "accruedFees");
        if (accrued == 0) {
            vm.expectRevert(IRunEscrow.RunEscrowNoFees.selector);
            escrow.withdrawFees();
            return;
        }
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.FeesWithdrawn(treasury, accrued);
        vm.prank(stranger);
        escrow.withdrawFees();
        assertEq(usdc.balanceOf(treasury), accrued, "treasury paid");
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow owes nothing");
    }
}
