// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.t.sol";
import {BlacklistUSDC} from "./mocks/BlacklistUSDC.sol";
import {MockUSDC} from "../contracts/mocks/MockUSDC.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";
import {ClaimReasons} from "../contracts/libraries/ClaimReasons.sol";

/// @notice Helpers shared by the agent, arbitrator and "anyone" suites: balance and agent snapshots
/// compared field by field (a test states what moved and thereby proves nothing else did), the
/// solvency check, and short-hands that walk a run to any state, including the 15 cases of the
/// state × action grid.
abstract contract RunEscrowAgentFixture is Base {
    uint256 internal constant TOTAL = REWARD + FEE;
    uint256 internal constant BPS = 10_000;

    /// @dev The USDC balance of every account a run can touch, and the fees accrued in the escrow.
    struct Balances {
        uint256 poster;
        uint256 agent;
        uint256 otherAgent;
        uint256 stranger;
        uint256 arbitrator;
        uint256 treasury;
        uint256 escrow;
        uint256 vault;
        uint256 fees;
    }

    /// @dev The grid's cases: every state, REJECTED unsettled and settled both ways (accepted by the
    /// agent, finalized past the dispute window), EXPIRED both without an agent (expire) and with
    /// one (a slash past the deadline), plus a SUBMITTED run whose revisions are used up (ready for
    /// reject).
    enum Case {
        DRAFT,
        OPEN,
        CLAIMED,
        IN_PROGRESS,
        SUBMITTED,
        APPROVED,
        REVISION_REQUESTED,
        REJECTED,
        REJECTED_SETTLED,
        CANCELLED,
        EXPIRED,
        EXPIRED_BY_SLASH,
        DISPUTED,
        RESOLVED,
        REJECTED_FINALIZED,
        SUBMITTED_EXHAUSTED
    }

    /// @dev Number of grid cases (every {Case} but SUBMITTED_EXHAUSTED).
    uint256 internal constant GRID_CASES = 15;

    /// @dev Every state-changing call of a run's life after funding, for the table-driven tests.
    enum Action {
        Claim,
        Start,
        Submit,
        Abandon,
        Dispute,
        AcceptRejection,
        SubmitEvidence,
        Resolve,
        SettleDispute,
        FinalizeRejection,
        Slash,
        ApproveOnTimeout,
        Expire,
        Approve,
        RequestRevision,
        Reject,
        Cancel,
        WithdrawCredit,
        WithdrawFees
    }

    /// @dev The agent {_act} claims for (the main agent's runs are claimed by `agentWallet`).
    uint256 internal claimerId;

    /*//////////////////////////////////////////////////////////////
                               SNAPSHOTS
    //////////////////////////////////////////////////////////////*/

    function _balances() internal view returns (Balances memory b) {
        b.poster = usdc.balanceOf(poster);
        b.agent = usdc.balanceOf(agentWallet);
        b.otherAgent = usdc.balanceOf(otherAgentWallet);
        b.stranger = usdc.balanceOf(stranger);
        b.arbitrator = usdc.balanceOf(arbitrator);
        b.treasury = usdc.balanceOf(treasury);
        b.escrow = usdc.balanceOf(address(escrow));
        b.vault = usdc.balanceOf(address(vault));
        b.fees = escrow.accruedFees();
    }

    function _assertBalances(Balances memory expected) internal view {
        assertEq(usdc.balanceOf(poster), expected.poster, "poster balance");
        assertEq(usdc.balanceOf(agentWallet), expected.agent, "agent balance");
        assertEq(usdc.balanceOf(otherAgentWallet), expected.otherAgent, "other agent balance");
        assertEq(usdc.balanceOf(stranger), expected.stranger, "stranger balance");
        assertEq(usdc.balanceOf(arbitrator), expected.arbitrator, "arbitrator balance");
        assertEq(usdc.balanceOf(treasury), expected.treasury, "treasury balance");
        assertEq(usdc.balanceOf(address(escrow)), expected.escrow, "escrow balance");
        assertEq(usdc.balanceOf(address(vault)), expected.vault, "vault balance");
        assertEq(escrow.accruedFees(), expected.fees, "accrued fees");
    }

    /// @dev Every field of agent `agentId` equals `expected`.
    function _assertAgent(uint256 agentId, IStakeVault.Agent memory expected) internal view {
        IStakeVault.Agent memory a = vault.getAgent(agentId);
        assertEq(a.wallet, expected.wallet, "agent wallet");
        assertEq(a.stake, expected.stake, "agent stake");
        assertEq(a.reserved, expected.reserved, "agent reserved");
        assertEq(a.pendingUnstake, expected.pendingUnstake, "agent pending");
        assertEq(a.unstakeReadyAt, expected.unstakeReadyAt, "agent unstakeReadyAt");
        assertEq(a.stakedSince, expected.stakedSince, "agent stakedSince");
        assertEq(a.claims, expected.claims, "agent claims");
        assertEq(a.completions, expected.completions, "agent completions");
        assertEq(a.strikes, expected.strikes, "agent strikes");
        assertEq(a.rejections, expected.rejections, "agent rejections");
        assertEq(a.disputesWon, expected.disputesWon, "agent disputesWon");
        assertEq(a.disputesLost, expected.disputesLost, "agent disputesLost");
        assertEq(a.volume, expected.volume, "agent volume");
        assertEq(a.frozen, expected.frozen, "agent frozen");
        assertEq(a.banned, expected.banned, "agent banned");
        assertEq(uint256(a.status), uint256(expected.status), "agent status");
    }

    /// @dev The escrow holds exactly `owed` (reward + fee of live runs and bonds) plus the accrued
    /// fees and every actor's credit; the vault holds exactly stake + pending.
    function _assertSolvent(uint256 owed) internal view {
        uint256 credits = escrow.creditOf(poster) + escrow.creditOf(agentWallet)
            + escrow.creditOf(otherAgentWallet) + escrow.creditOf(stranger) + escrow.creditOf(treasury);
        assertEq(usdc.balanceOf(address(escrow)), owed + escrow.accruedFees() + credits, "escrow owes");
        assertEq(usdc.balanceOf(address(vault)), vault.totalStaked() + vault.totalPending(), "vault holds");
    }

    /// @dev Every USDC of the actors, the escrow and the vault, added up.
    function _totalUsdc() internal view returns (uint256) {
        Balances memory b = _balances();
        return b.poster + b.agent + b.otherAgent + b.stranger + b.arbitrator + b.treasury + b.escrow + b.vault;
    }

    /// @dev The ruling the escrow must report for a dispute over `reward` (fee at the default rate).
    function _ruling(
        uint256 reward,
        uint256 bps,
        uint256 bond,
        uint256 forfeited,
        bool strike,
        bool byDefault
    ) internal pure returns (IRunEscrow.Ruling memory r) {
        uint256 fee = reward * FEE_BPS / BPS;
        r.agentShareBps = uint16(bps);
        r.toAgent = reward * bps / BPS;
        r.toTreasury = fee * bps / BPS;
        r.toPoster = reward + fee - r.toAgent - r.toTreasury;
        r.bond = bond;
        r.stakeForfeited = forfeited;
        r.strike = strike;
        r.byDefault = byDefault;
    }

    /*//////////////////////////////////////////////////////////////
                                 ACTORS
    //////////////////////////////////////////////////////////////*/

    function _otherAgent() internal returns (uint256) {
        return _registerAndStake(otherAgentWallet, MIN_STAKE);
    }

    /// @dev Gives `account` USDC and approvals, so that it can stake (e.g. the arbitrator).
    function _fundActor(address account) internal {
        vm.prank(owner);
        usdc.mint(account, FUNDING);
        vm.startPrank(account);
        usdc.approve(address(escrow), type(uint256).max);
        usdc.approve(address(vault), type(uint256).max);
        vm.stopPrank();
    }

    function _stake(uint256 agentId, uint256 amount) internal {
        vm.prank(vault.walletOf(agentId));
        vault.stake(amount);
    }

    function _pause() internal {
        vm.prank(owner);
        escrow.pause();
    }

    function _pauseVault() internal {
        vm.prank(owner);
        vault.pause();
    }

    function _setStrikesToBan(uint16 strikes) internal {
        IStakeVault.Parameters memory params = defaultVaultParameters();
        params.strikesToBan = strikes;
        vm.prank(owner);
        vault.setParameters(params);
    }

    function _setArbitrator(address newArbitrator) internal {
        IRunEscrow.Parameters memory params = defaultEscrowParameters();
        params.arbitrator = newArbitrator;
        vm.prank(owner);
        escrow.setParameters(params);
    }

    /*//////////////////////////////////////////////////////////////
                                  RUNS
    //////////////////////////////////////////////////////////////*/

    function _openRunWith(uint256 reward, uint256 deadline, uint256 maxRevisions, uint256 requiredStake)
        internal
        returns (uint256 runId)
    {
        vm.prank(poster);
        runId = escrow.createAndFund(SPEC, reward, deadline, maxRevisions, requiredStake, 0);
    }

    function _openRunWithDeadline(uint256 deadline) internal returns (uint256) {
        return _openRunWith(REWARD, deadline, MAX_REVISIONS, 0);
    }

    function _openRunRequiring(uint256 requiredStake) internal returns (uint256) {
        return _openRunWith(REWARD, defaultDeadline(), MAX_REVISIONS, requiredStake);
    }

    function _wallet(uint256 runId) internal view returns (address) {
        return vault.walletOf(escrow.getRun(runId).agentId);
    }

    function _claim(uint256 runId, uint256 agentId) internal {
        vm.prank(vault.walletOf(agentId));
        escrow.claim(runId, agentId);
    }

    function _start(uint256 runId) internal {
        vm.prank(_wallet(runId));
        escrow.start(runId);
    }

    function _submit(uint256 runId) internal {
        vm.prank(_wallet(runId));
        escrow.submit(runId, DELIVERABLE);
    }

    function _requestRevision(uint256 runId) internal {
        vm.prank(poster);
        escrow.requestRevision(runId, "more");
    }

    function _approve(uint256 runId) internal {
        vm.prank(poster);
        escrow.approve(runId);
    }

    function _reject(uint256 runId) internal {
        vm.prank(poster);
        escrow.reject(runId, REASON);
    }

    function _dispute(uint256 runId) internal {
        vm.prank(_wallet(runId));
        escrow.dispute(runId, EVIDENCE);
    }

    /// @dev A REJECTED run of `reward` without revisions: claim, submit, reject at once.
    function _rejectedRunOf(uint256 agentId, uint256 reward, uint256 requiredStake)
        internal
        returns (uint256 runId)
    {
        runId = _openRunWith(reward, defaultDeadline(), 0, requiredStake);
        _claim(runId, agentId);
        _submit(runId);
        _reject(runId);
    }

    /// @dev A DISPUTED run of `reward` without revisions.
    function _disputedRunOf(uint256 agentId, uint256 reward) internal returns (uint256 runId) {
        runId = _rejectedRunOf(agentId, reward, 0);
        _dispute(runId);
    }

    /// @dev A CLAIMED run claimed two days after it opened, so a claim timeout counted from the
    /// run's creation instead of the claim shows.
    function _lateClaimedRun(uint256 agentId) internal returns (uint256 runId) {
        runId = _openRun();
        skip(2 days);
        _claim(runId, agentId);
    }

    /// @dev First second at which the poster may slash run `runId`.
    function _posterSlashableAt(uint256 runId) internal view returns (uint256) {
        IRunEscrow.Run memory run = escrow.getRun(runId);
        return uint256(run.timerStart) + run.terms.claimTimeout + 1;
    }

    /// @dev Claims a fresh run for `agentId` and has the poster slash it as soon as allowed.
    function _claimAndSlash(uint256 agentId) internal returns (uint256 runId) {
        runId = _claimedRun(agentId);
        vm.warp(_posterSlashableAt(runId));
        vm.prank(poster);
        escrow.slash(runId);
    }

    /// @dev Walks a fresh run of the fixture's poster to `c`, for agent `agentId` where it has one.
    function _runIn(Case c, uint256 agentId) internal returns (uint256 runId) {
        if (c == Case.DRAFT) return _draftRun();
        if (c == Case.OPEN) return _openRun();
        if (c == Case.CANCELLED) {
            runId = _openRun();
            vm.prank(poster);
            escrow.cancel(runId);
            return runId;
        }
        if (c == Case.EXPIRED) {
            runId = _openRun();
            vm.warp(escrow.getRun(runId).deadline + 1);
            vm.prank(stranger);
            escrow.expire(runId);
            return runId;
        }
        if (c == Case.EXPIRED_BY_SLASH) {
            runId = _openRunWithDeadline(block.timestamp + 1 days);
            _claim(runId, agentId);
            vm.warp(_posterSlashableAt(runId));
            vm.prank(poster);
            escrow.slash(runId);
            return runId;
        }
        if (c == Case.CLAIMED) return _claimedRun(agentId);
        if (c == Case.IN_PROGRESS) {
            runId = _claimedRun(agentId);
            _start(runId);
            return runId;
        }
        if (c == Case.SUBMITTED) return _submittedRun(agentId);
        if (c == Case.SUBMITTED_EXHAUSTED) return _exhaustedRun(agentId);
        if (c == Case.APPROVED) {
            runId = _submittedRun(agentId);
            _approve(runId);
            return runId;
        }
        if (c == Case.REVISION_REQUESTED) {
            runId = _submittedRun(agentId);
            _requestRevision(runId);
            return runId;
        }
        runId = _rejectedRun(agentId);
        if (c == Case.REJECTED) return runId;
        if (c == Case.REJECTED_SETTLED) {
            vm.prank(agentWallet);
            escrow.acceptRejection(runId);
            return runId;
        }
        if (c == Case.REJECTED_FINALIZED) {
            skip(DISPUTE_WINDOW + 1);
            vm.prank(stranger);
            escrow.finalizeRejection(runId);
            return runId;
        }
        _dispute(runId);
        if (c == Case.DISPUTED) return runId;
        // RESOLVED
        vm.prank(arbitrator);
        escrow.resolve(runId, BPS, false);
    }

    /// @dev The state a grid case is in.
    function _stateOf(Case c) internal pure returns (IRunEscrow.RunState) {
        if (c == Case.REJECTED_SETTLED || c == Case.REJECTED_FINALIZED) return IRunEscrow.RunState.REJECTED;
        if (c == Case.EXPIRED_BY_SLASH) return IRunEscrow.RunState.EXPIRED;
        if (c == Case.SUBMITTED_EXHAUSTED) return IRunEscrow.RunState.SUBMITTED;
        if (c == Case.REJECTED) return IRunEscrow.RunState.REJECTED;
        if (c == Case.CANCELLED) return IRunEscrow.RunState.CANCELLED;
        if (c == Case.EXPIRED) return IRunEscrow.RunState.EXPIRED;
        if (c == Case.DISPUTED) return IRunEscrow.RunState.DISPUTED;
        if (c == Case.RESOLVED) return IRunEscrow.RunState.RESOLVED;
        // DRAFT .. REVISION_REQUESTED share their ordinal with the state.
        return IRunEscrow.RunState(uint8(c));
    }

    /// @dev Whether a run in case `c` has an agent (DRAFT, OPEN, CANCELLED and an expired open run
    /// do not, so no caller is their agent).
    function _hasAgent(Case c) internal pure returns (bool) {
        return c != Case.DRAFT && c != Case.OPEN && c != Case.CANCELLED && c != Case.EXPIRED;
    }

    function _bit(Case c) internal pure returns (uint256) {
        return 1 << uint256(c);
    }

    function _invalidState(uint256 runId, IRunEscrow.RunState state) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, state);
    }

    /// @dev `canClaim` reports exactly `reasons` (from any caller) and `claim` by `caller` reverts with them.
    function _assertNotClaimable(uint256 runId, uint256 agentId, address caller, uint256 reasons) internal {
        (bool eligible, uint256 got) = escrow.canClaim(runId, agentId);
        assertFalse(eligible, "canClaim eligible");
        assertEq(got, reasons, "canClaim reasons");

        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowNotClaimable.selector, runId, agentId, reasons)
        );
        vm.prank(caller);
        escrow.claim(runId, agentId);
    }

    /// @dev `canClaim` says eligible, and the agent's wallet claims with the expected event.
    function _assertClaims(uint256 runId, uint256 agentId, uint256 reserved) internal {
        (bool eligible, uint256 reasons) = escrow.canClaim(runId, agentId);
        assertTrue(eligible, "canClaim eligible");
        assertEq(reasons, 0, "canClaim reasons");

        address wallet = vault.walletOf(agentId);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Claimed(runId, agentId, wallet, reserved);
        vm.prank(wallet);
        escrow.claim(runId, agentId);
        assertState(runId, IRunEscrow.RunState.CLAIMED);
        assertEq(escrow.getRun(runId).agentId, agentId, "claimed by");
    }

    /// @dev Calls `action` on run `runId` as the party that may take it: the main agent's wallet,
    /// the poster, the arbitrator (a full share) or a stranger; a claim is by {claimerId}. Makes
    /// no other external call, so a preceding `vm.expectRevert` applies to the action itself.
    function _act(Action action, uint256 runId) internal {
        if (action == Action.Claim) {
            vm.prank(otherAgentWallet);
            escrow.claim(runId, claimerId);
        } else if (action == Action.Start) {
            vm.prank(agentWallet);
            escrow.start(runId);
        } else if (action == Action.Submit) {
            vm.prank(agentWallet);
            escrow.submit(runId, DELIVERABLE);
        } else if (action == Action.Abandon) {
            vm.prank(agentWallet);
            escrow.abandon(runId);
        } else if (action == Action.Dispute) {
            vm.prank(agentWallet);
            escrow.dispute(runId, EVIDENCE);
        } else if (action == Action.AcceptRejection) {
            vm.prank(agentWallet);
            escrow.acceptRejection(runId);
        } else if (action == Action.SubmitEvidence) {
            vm.prank(poster);
            escrow.submitEvidence(runId, EVIDENCE);
        } else if (action == Action.Resolve) {
            vm.prank(arbitrator);
            escrow.resolve(runId, BPS, false);
        } else if (action == Action.SettleDispute) {
            vm.prank(stranger);
            escrow.settleDispute(runId);
        } else if (action == Action.FinalizeRejection) {
            vm.prank(stranger);
            escrow.finalizeRejection(runId);
        } else if (action == Action.Slash) {
            vm.prank(poster);
            escrow.slash(runId);
        } else if (action == Action.ApproveOnTimeout) {
            vm.prank(stranger);
            escrow.approveOnTimeout(runId);
        } else if (action == Action.Expire) {
            vm.prank(stranger);
            escrow.expire(runId);
        } else if (action == Action.Approve) {
            vm.prank(poster);
            escrow.approve(runId);
        } else if (action == Action.RequestRevision) {
            vm.prank(poster);
            escrow.requestRevision(runId, "more");
        } else if (action == Action.Reject) {
            vm.prank(poster);
            escrow.reject(runId, REASON);
        } else if (action == Action.Cancel) {
            vm.prank(poster);
            escrow.cancel(runId);
        } else if (action == Action.WithdrawCredit) {
            vm.prank(poster);
            escrow.withdrawCredit();
        } else {
            vm.prank(stranger);
            escrow.withdrawFees();
        }
    }
}

/// @notice RunEscrow from the agent's side: claim and canClaim, start, submit, abandon.
contract RunEscrowAgentTest is RunEscrowAgentFixture {
    /*//////////////////////////////////////////////////////////////
                                 CLAIM
    //////////////////////////////////////////////////////////////*/

    function test_Claim_ReservesRequiredStakeAndMovesRunToClaimed() public {
        uint256 agentId = _agent();
        uint256 runId = _openRun();
        skip(1 hours);
        Balances memory before = _balances();
        IStakeVault.Agent memory expected = vault.getAgent(agentId);

        _assertClaims(runId, agentId, MIN_STAKE);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(run.agentId, agentId, "agentId");
        assertEq(run.timerStart, block.timestamp, "timerStart");
        assertEq(run.revisionCount, 0, "revisionCount");
        assertEq(run.requiredStake, MIN_STAKE, "requiredStake");
        assertFalse(run.settled, "settled");

        expected.reserved = MIN_STAKE;
        expected.claims = 1;
        _assertAgent(agentId, expected);
        // A claim moves no USDC: the reservation stays in the vault.
        _assertBalances(before);
    }

    function test_Claim_ReservesExactlyTheRunsRequiredStake() public {
        uint256 agentId = _registerAndStake(agentWallet, 100e6);
        uint256 runId = _openRunRequiring(50e6);
        IStakeVault.Agent memory expected = vault.getAgent(agentId);

        _assertClaims(runId, agentId, 50e6);

        expected.reserved = 50e6;
        expected.claims = 1;
        _assertAgent(agentId, expected);
        assertEq(vault.totalStaked(), 100e6, "totalStaked untouched");
    }

    function test_Claim_AtDeadline() public {
        uint256 agentId = _agent();
        uint256 deadline = block.timestamp + 1 days;
        uint256 runId = _openRunWithDeadline(deadline);
        vm.warp(deadline);

        _assertClaims(runId, agentId, MIN_STAKE);
        assertEq(escrow.getRun(runId).timerStart, deadline, "timerStart");
    }

    function test_RevertGiven_ClaimPastDeadline() public {
        uint256 agentId = _agent();
        uint256 deadline = block.timestamp + 1 days;
        uint256 runId = _openRunWithDeadline(deadline);
        vm.warp(deadline + 1);
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.RUN_PAST_DEADLINE);
    }

    function testFuzz_Claim_OnlyUntilDeadline(uint256 elapsed) public {
        uint256 agentId = _agent();
        uint256 deadline = block.timestamp + 1 days;
        uint256 runId = _openRunWithDeadline(deadline);
        skip(bound(elapsed, 0, 2 days));

        if (block.timestamp <= deadline) {
            _assertClaims(runId, agentId, MIN_STAKE);
        } else {
            _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.RUN_PAST_DEADLINE);
        }
    }

    function test_RevertGiven_ClaimRunNotFound() public {
        uint256 agentId = _agent();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 7));
        vm.prank(agentWallet);
        escrow.claim(7, agentId);

        (bool eligible, uint256 reasons) = escrow.canClaim(7, agentId);
        assertFalse(eligible, "canClaim eligible");
        assertEq(reasons, ClaimReasons.RUN_NOT_FOUND, "canClaim reasons");
    }

    function test_RevertWhen_ClaimCallerNotAgentWallet() public {
        uint256 agentId = _agent();
        _otherAgent();
        uint256 runId = _openRun();
        address[4] memory callers = [stranger, poster, otherAgentWallet, arbitrator];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgentWallet.selector, agentId, callers[i])
            );
            vm.prank(callers[i]);
            escrow.claim(runId, agentId);
        }
        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(vault.getAgent(agentId).reserved, 0, "nothing reserved");
        assertEq(vault.getAgent(agentId).claims, 0, "no claim counted");
    }

    /// @dev The eligibility rules are reported before the caller check, so a stranger learns the
    /// same reasons `canClaim` gives.
    function test_RevertWhen_ClaimCallerNotAgentWalletAndAgentIneligible() public {
        uint256 agentId = _register(agentWallet);
        uint256 runId = _openRun();
        _assertNotClaimable(
            runId, agentId, stranger, ClaimReasons.INSUFFICIENT_STAKE | ClaimReasons.INSUFFICIENT_FREE_STAKE
        );
    }

    function test_RevertGiven_ClaimRunDraft() public {
        uint256 agentId = _agent();
        uint256 runId = _draftRun();
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.RUN_NOT_OPEN);
    }

    /// @dev Front-running: two agents race for one run; the first claim mined wins.
    function test_RevertGiven_ClaimRunAlreadyClaimedByAnotherAgent() public {
        uint256 agentId = _agent();
        uint256 otherId = _otherAgent();
        uint256 runId = _openRun();
        _claim(runId, otherId);

        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.RUN_NOT_OPEN);
        assertEq(escrow.getRun(runId).agentId, otherId, "first claim wins");
        assertEq(vault.getAgent(agentId).reserved, 0, "loser reserved");
        assertEq(vault.getAgent(agentId).claims, 0, "loser claims");
    }

    function test_RevertGiven_ClaimAgentNotFound() public {
        uint256 runId = _openRun();
        _assertNotClaimable(runId, 0, agentWallet, ClaimReasons.AGENT_NOT_FOUND);
        _assertNotClaimable(runId, 99, agentWallet, ClaimReasons.AGENT_NOT_FOUND);
    }

    function test_RevertGiven_ClaimAgentFrozen() public {
        // Twice the minimum, so the slash leaves enough (free) stake and only the freeze fails.
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        _claimAndSlash(agentId);
        assertStatus(agentId, IStakeVault.AgentStatus.FROZEN);
        assertEq(vault.getAgent(agentId).stake, MIN_STAKE, "stake left");

        uint256 runId = _openRun();
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.AGENT_FROZEN);

        // A token top-up does not lift the freeze; a fresh stake of the minimum does.
        _stake(agentId, 1);
        assertStatus(agentId, IStakeVault.AgentStatus.FROZEN);
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.AGENT_FROZEN);
        _stake(agentId, MIN_STAKE);
        _assertClaims(runId, agentId, MIN_STAKE);
    }

    function test_RevertGiven_ClaimAgentBanned() public {
        // Enough stake to stay above the minimum (and free) after three slashes.
        uint256 agentId = _registerAndStake(agentWallet, 4 * MIN_STAKE);
        for (uint256 i; i < STRIKES_TO_BAN; ++i) {
            _claimAndSlash(agentId);
            if (i + 1 < STRIKES_TO_BAN) _stake(agentId, MIN_STAKE);
        }
        assertStatus(agentId, IStakeVault.AgentStatus.BANNED);
        assertEq(vault.getAgent(agentId).stake, 3 * MIN_STAKE, "stake still above the minimum");

        uint256 runId = _openRun();
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.AGENT_BANNED);
    }

    function test_RevertGiven_ClaimAgentUnverified() public {
        uint256 agentId = _register(agentWallet);
        uint256 runId = _openRun();
        uint256 expected = ClaimReasons.INSUFFICIENT_STAKE | ClaimReasons.INSUFFICIENT_FREE_STAKE;
        _assertNotClaimable(runId, agentId, agentWallet, expected);

        _stake(agentId, MIN_STAKE - 1);
        assertStatus(agentId, IStakeVault.AgentStatus.UNVERIFIED);
        _assertNotClaimable(runId, agentId, agentWallet, expected);

        _stake(agentId, 1);
        _assertClaims(runId, agentId, MIN_STAKE);
    }

    /// @dev The minimum rose after the run was created: the agent's stake still covers the run's
    /// `requiredStake` (free stake is fine) but it is UNVERIFIED under the current minimum.
    function test_RevertGiven_ClaimAgentBelowRaisedMinimum() public {
        uint256 agentId = _registerAndStake(agentWallet, 30e6);
        uint256 runId = _openRun();
        IStakeVault.Parameters memory params = defaultVaultParameters();
        params.minStake = 50e6;
        vm.prank(owner);
        vault.setParameters(params);
        assertEq(escrow.getRun(runId).requiredStake, MIN_STAKE, "the run keeps its required stake");
        assertStatus(agentId, IStakeVault.AgentStatus.UNVERIFIED);

        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.INSUFFICIENT_STAKE);
    }

    function test_RevertGiven_ClaimNoFreeStakeForASecondClaim() public {
        uint256 agentId = _agent();
        uint256 first = _openRun();
        uint256 second = _openRun();
        _assertClaims(first, agentId, MIN_STAKE);

        // 20 USDC backs one 20-USDC claim at a time.
        _assertNotClaimable(second, agentId, agentWallet, ClaimReasons.INSUFFICIENT_FREE_STAKE);

        // 40 backs two.
        _stake(agentId, MIN_STAKE);
        _assertClaims(second, agentId, MIN_STAKE);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.stake, 2 * MIN_STAKE, "stake");
        assertEq(agent.reserved, 2 * MIN_STAKE, "reserved");
        assertEq(agent.claims, 2, "claims");

        uint256 third = _openRun();
        _assertNotClaimable(third, agentId, agentWallet, ClaimReasons.INSUFFICIENT_FREE_STAKE);
    }

    function test_RevertGiven_ClaimFreeStakeBelowRequiredStake() public {
        uint256 agentId = _registerAndStake(agentWallet, 49e6);
        uint256 runId = _openRunRequiring(50e6);
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.INSUFFICIENT_FREE_STAKE);

        _stake(agentId, 1e6);
        _assertClaims(runId, agentId, 50e6);
        assertEq(vault.getAgent(agentId).reserved, 50e6, "reserved");
    }

    function test_RevertGiven_ClaimFreeStakeTakenByAnotherReservation() public {
        uint256 agentId = _registerAndStake(agentWallet, 60e6);
        _assertClaims(_openRunRequiring(30e6), agentId, 30e6);
        uint256 runId = _openRunRequiring(50e6);
        // 60 staked, 30 reserved: 30 free is short of 50.
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.INSUFFICIENT_FREE_STAKE);
    }

    function test_Claim_ReleasedReservationBacksANewClaim() public {
        uint256 agentId = _agent();
        uint256 first = _submittedRun(agentId);
        uint256 second = _openRun();
        _assertNotClaimable(second, agentId, agentWallet, ClaimReasons.INSUFFICIENT_FREE_STAKE);

        _approve(first);
        assertEq(vault.getAgent(agentId).reserved, 0, "released");
        _assertClaims(second, agentId, MIN_STAKE);
    }

    function test_RevertWhen_ClaimAgentIsPoster() public {
        uint256 posterAgentId = _registerAndStake(poster, MIN_STAKE);
        uint256 runId = _openRun();
        _assertNotClaimable(runId, posterAgentId, poster, ClaimReasons.AGENT_IS_POSTER);
    }

    function test_RevertWhen_ClaimAgentIsArbitrator() public {
        _fundActor(arbitrator);
        uint256 arbitratorAgentId = _registerAndStake(arbitrator, MIN_STAKE);
        uint256 runId = _openRun();
        _assertNotClaimable(runId, arbitratorAgentId, arbitrator, ClaimReasons.AGENT_IS_ARBITRATOR);
    }

    /// @dev The rule follows each run's snapshotted arbitrator, not the current one.
    function test_Claim_ArbitratorRuleFollowsTheRunsArbitrator() public {
        address newArbitrator = makeAddr("newArbitrator");
        _fundActor(arbitrator);
        _fundActor(newArbitrator);
        uint256 oldId = _registerAndStake(arbitrator, MIN_STAKE);
        uint256 newId = _registerAndStake(newArbitrator, MIN_STAKE);
        uint256 oldRun = _openRun();
        _setArbitrator(newArbitrator);
        uint256 newRun = _openRun();

        _assertNotClaimable(oldRun, oldId, arbitrator, ClaimReasons.AGENT_IS_ARBITRATOR);
        _assertNotClaimable(newRun, newId, newArbitrator, ClaimReasons.AGENT_IS_ARBITRATOR);
        _assertClaims(newRun, oldId, MIN_STAKE);
        _assertClaims(oldRun, newId, MIN_STAKE);
    }

    function test_RevertGiven_ClaimsPaused() public {
        uint256 agentId = _agent();
        uint256 runId = _openRun();
        _pause();
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.CLAIMS_PAUSED);

        vm.prank(owner);
        escrow.unpause();
        _assertClaims(runId, agentId, MIN_STAKE);
    }

    /// @dev The vault's pause stops staking only: claims go on.
    function test_Claim_WhileVaultPaused() public {
        uint256 agentId = _agent();
        uint256 runId = _openRun();
        _pauseVault();
        _assertClaims(runId, agentId, MIN_STAKE);
    }

    function test_RevertGiven_ClaimAgentSlashedOnRun() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 runId = _claimAndSlash(agentId);
        assertTrue(escrow.slashedOnRun(runId, agentId), "slashedOnRun");
        assertState(runId, IRunEscrow.RunState.OPEN);

        // Frozen and slashed on the run: both reported.
        _assertNotClaimable(
            runId, agentId, agentWallet, ClaimReasons.AGENT_FROZEN | ClaimReasons.AGENT_SLASHED_ON_RUN
        );

        // Restaking lifts the freeze, but the agent may never claim the run it was slashed on.
        _stake(agentId, MIN_STAKE);
        assertStatus(agentId, IStakeVault.AgentStatus.PROVISIONAL);
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.AGENT_SLASHED_ON_RUN);

        // Other runs stay open to it.
        uint256 otherRun = _openRun();
        assertFalse(escrow.slashedOnRun(otherRun, agentId), "other run");
        _assertClaims(otherRun, agentId, MIN_STAKE);
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
            | ClaimReasons.INSUFFICIENT_STAKE | ClaimReasons.INSUFFICIENT_FREE_STAKE
            | ClaimReasons.AGENT_IS_POSTER | ClaimReasons.CLAIMS_PAUSED;
        _assertNotClaimable(runId, posterAgentId, poster, expected);
    }

    function test_RevertGiven_ClaimSeveralAgentRulesFail() public {
        // Slashed with exactly the minimum: no stake left, frozen, and slashed on this run.
        uint256 agentId = _agent();
        uint256 runId = _claimAndSlash(agentId);
        _fundActor(arbitrator);
        uint256 arbitratorAgentId = _register(arbitrator);

        _assertNotClaimable(
            runId,
            agentId,
            agentWallet,
            ClaimReasons.AGENT_FROZEN | ClaimReasons.INSUFFICIENT_STAKE | ClaimReasons.INSUFFICIENT_FREE_STAKE
                | ClaimReasons.AGENT_SLASHED_ON_RUN
        );
        _assertNotClaimable(
            runId,
            arbitratorAgentId,
            arbitrator,
            ClaimReasons.AGENT_IS_ARBITRATOR | ClaimReasons.INSUFFICIENT_STAKE
                | ClaimReasons.INSUFFICIENT_FREE_STAKE
        );
    }

    /*//////////////////////////////////////////////////////////////
                                CAN CLAIM
    //////////////////////////////////////////////////////////////*/

    function test_CanClaim_ReportsUnknownRunAndAgent() public {
        (bool eligible, uint256 reasons) = escrow.canClaim(42, 99);
        assertFalse(eligible, "eligible");
        assertEq(reasons, ClaimReasons.RUN_NOT_FOUND | ClaimReasons.AGENT_NOT_FOUND, "reasons");

        _pause();
        (eligible, reasons) = escrow.canClaim(42, _agent());
        assertFalse(eligible, "eligible, paused");
        assertEq(reasons, ClaimReasons.RUN_NOT_FOUND | ClaimReasons.CLAIMS_PAUSED, "reasons, paused");
    }

    function test_CanClaim_IgnoresCallerAndChangesNothing() public {
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
        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(vault.getAgent(agentId).reserved, 0, "reserved");
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
        IStakeVault.Agent memory agentBefore = vault.getAgent(agentId);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.WorkStarted(runId, agentId);
        vm.prank(agentWallet);
        escrow.start(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.IN_PROGRESS), "state");
        assertEq(run.agentId, agentId, "agentId");
        assertEq(run.timerStart, claimedAt, "the claim timeout keeps running from the claim");
        _assertAgent(agentId, agentBefore);
        _assertBalances(before);
    }

    function test_Start_DoesNotRestartTheClaimTimeout() public {
        uint256 runId = _claimedRun(_agent());
        uint256 end = block.timestamp + CLAIM_TIMEOUT;
        vm.warp(end);
        _start(runId);

        vm.warp(end + 1);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimTimedOut.selector, runId, end));
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
    }

    function test_RevertWhen_StartCallerNotAgent() public {
        uint256 runId = _claimedRun(_agent());
        _otherAgent();
        address[4] memory callers = [poster, stranger, otherAgentWallet, arbitrator];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgent.selector, runId, callers[i]));
            vm.prank(callers[i]);
            escrow.start(runId);
        }
        assertState(runId, IRunEscrow.RunState.CLAIMED);
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
        _start(runId);
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

    function test_Submit_AtTheEndOfTheClaimTimeout() public {
        uint256 agentId = _agent();
        uint256 runId = _lateClaimedRun(agentId);
        vm.warp(block.timestamp + CLAIM_TIMEOUT);
        _assertSubmits(runId, agentId, 0);
    }

    function test_RevertWhen_SubmitPastTheClaimTimeout() public {
        uint256 runId = _lateClaimedRun(_agent());
        uint256 end = block.timestamp + CLAIM_TIMEOUT;
        vm.warp(end + 1);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimTimedOut.selector, runId, end));
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
    }

    /// @dev After a revision request the claim timeout counts from the request, not the claim.
    function test_Submit_ClaimTimeoutCountsFromTheRevisionRequest() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        skip(6 days);
        _requestRevision(runId);
        uint256 end = block.timestamp + CLAIM_TIMEOUT;

        vm.warp(end + 1);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimTimedOut.selector, runId, end));
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);

        // Well past the timeout counted from the claim, but within the one from the request.
        vm.warp(end);
        _assertSubmits(runId, agentId, 1);
    }

    /// @dev v1 let a late submit and a slash race in the same block. Now at every second exactly
    /// one of them is possible: submit up to the end of the claim timeout, the poster's slash after.
    function test_Submit_NoRaceWithSlash() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        uint256 end = block.timestamp + CLAIM_TIMEOUT;
        uint256 snapshot = vm.snapshotState();

        vm.warp(end);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, end));
        vm.prank(poster);
        escrow.slash(runId);
        _assertSubmits(runId, agentId, 0);

        vm.revertToState(snapshot);
        vm.warp(end + 1);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimTimedOut.selector, runId, end));
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        vm.prank(poster);
        escrow.slash(runId);
        assertState(runId, IRunEscrow.RunState.OPEN);
    }

    function testFuzz_Submit_OnlyWithinTheClaimTimeout(uint256 elapsed) public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        uint256 end = block.timestamp + CLAIM_TIMEOUT;
        skip(bound(elapsed, 0, 2 * CLAIM_TIMEOUT));

        if (block.timestamp <= end) {
            _assertSubmits(runId, agentId, 0);
        } else {
            vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimTimedOut.selector, runId, end));
            vm.prank(agentWallet);
            escrow.submit(runId, DELIVERABLE);
        }
    }

    function test_RevertWhen_SubmitEmptyURI() public {
        uint256 runId = _claimedRun(_agent());
        vm.expectRevert(IRunEscrow.RunEscrowEmptyURI.selector);
        vm.prank(agentWallet);
        escrow.submit(runId, "");
    }

    function test_RevertWhen_SubmitURITooLong() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowURITooLong.selector, 2049, 2048));
        vm.prank(agentWallet);
        escrow.submit(runId, string(new bytes(2049)));

        // 2048 bytes is the cap, and accepted.
        string memory longest = string(new bytes(2048));
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Submitted(runId, agentId, longest, 0);
        vm.prank(agentWallet);
        escrow.submit(runId, longest);
    }

    function test_RevertWhen_SubmitCallerNotAgent() public {
        uint256 runId = _claimedRun(_agent());
        _otherAgent();
        address[4] memory callers = [stranger, poster, otherAgentWallet, arbitrator];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgent.selector, runId, callers[i]));
            vm.prank(callers[i]);
            escrow.submit(runId, DELIVERABLE);
        }
        assertState(runId, IRunEscrow.RunState.CLAIMED);
    }

    function test_RevertGiven_SubmitRunNotFound() public {
        _agent();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 3));
        vm.prank(agentWallet);
        escrow.submit(3, DELIVERABLE);
    }

    /*//////////////////////////////////////////////////////////////
                                 ABANDON
    //////////////////////////////////////////////////////////////*/

    function test_Abandon_ReopensRunAndPaysReservationToPoster() public {
        // Twice the minimum: what is left keeps the agent PROVISIONAL.
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 runId = _claimedRun(agentId);
        skip(1 days);
        _assertAbandons(runId, agentId);
        assertStatus(agentId, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_Abandon_FromInProgress() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 runId = _claimedRun(agentId);
        _start(runId);
        _assertAbandons(runId, agentId);
    }

    function test_Abandon_AtTheEndOfTheClaimTimeout() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 runId = _lateClaimedRun(agentId);
        vm.warp(block.timestamp + CLAIM_TIMEOUT);
        _assertAbandons(runId, agentId);
    }

    /// @dev Abandoning with exactly the minimum leaves no stake: the agent is UNVERIFIED, never
    /// FROZEN, since an abandon is no strike.
    function test_Abandon_WithTheWholeStakeLeavesAgentUnverified() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(agentId, runId, MIN_STAKE, IStakeVault.Outcome.ABANDONED, 0, 0);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(
            agentId, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.UNVERIFIED
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Abandoned(runId, agentId, poster, MIN_STAKE);
        vm.prank(agentWallet);
        escrow.abandon(runId);

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.strikes, 0, "no strike");
        assertFalse(agent.frozen, "not frozen");
        assertEq(uint256(agent.status), uint256(IStakeVault.AgentStatus.UNVERIFIED), "status");
    }

    /// @dev Only the run's `requiredStake` is forfeited, never the agent's whole stake.
    function test_Abandon_ForfeitsOnlyTheReservation() public {
        uint256 agentId = _registerAndStake(agentWallet, 100e6);
        uint256 other = _openRunRequiring(30e6);
        _claim(other, agentId);
        uint256 runId = _openRunRequiring(50e6);
        _claim(runId, agentId);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Abandoned(runId, agentId, poster, 50e6);
        vm.prank(agentWallet);
        escrow.abandon(runId);

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.stake, 50e6, "stake");
        assertEq(agent.reserved, 30e6, "the other claim keeps its reservation");
        expected.vault -= 50e6;
        expected.poster += 50e6;
        _assertBalances(expected);
    }

    function test_Abandon_SameAgentMayClaimAgain() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 runId = _claimedRun(agentId);
        vm.prank(agentWallet);
        escrow.abandon(runId);

        assertFalse(escrow.slashedOnRun(runId, agentId), "not slashed on the run");
        _assertClaims(runId, agentId, MIN_STAKE);
        assertEq(escrow.getRun(runId).timerStart, block.timestamp, "a fresh claim timeout");
        assertEq(vault.getAgent(agentId).claims, 2, "claims");
    }

    function test_RevertWhen_AbandonPastTheClaimTimeout() public {
        uint256 runId = _lateClaimedRun(_agent());
        uint256 end = block.timestamp + CLAIM_TIMEOUT;
        vm.warp(end + 1);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimTimedOut.selector, runId, end));
        vm.prank(agentWallet);
        escrow.abandon(runId);
    }

    function test_RevertWhen_AbandonCallerNotAgent() public {
        uint256 runId = _claimedRun(_agent());
        _otherAgent();
        address[4] memory callers = [poster, stranger, otherAgentWallet, arbitrator];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgent.selector, runId, callers[i]));
            vm.prank(callers[i]);
            escrow.abandon(runId);
        }
        assertState(runId, IRunEscrow.RunState.CLAIMED);
    }

    function test_RevertGiven_AbandonRunNotFound() public {
        _agent();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 8));
        vm.prank(agentWallet);
        escrow.abandon(8);
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev Submits from the run's current state and checks event, state, timer and that nothing
    /// else moved.
    function _assertSubmits(uint256 runId, uint256 agentId, uint8 revisionCount) internal {
        Balances memory before = _balances();
        IStakeVault.Agent memory agentBefore = vault.getAgent(agentId);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Submitted(runId, agentId, DELIVERABLE, revisionCount);
        vm.prank(vault.walletOf(agentId));
        escrow.submit(runId, DELIVERABLE);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.SUBMITTED), "state");
        assertEq(run.timerStart, block.timestamp, "the review period starts");
        assertEq(run.agentId, agentId, "agentId");
        assertEq(run.revisionCount, revisionCount, "revisionCount");
        _assertAgent(agentId, agentBefore);
        _assertBalances(before);
    }

    /// @dev The agent (holding more than the run's reservation) abandons run `runId`: the run is
    /// OPEN again with no agent, the reservation goes vault -> escrow -> poster, no strike, no freeze.
    function _assertAbandons(uint256 runId, uint256 agentId) internal {
        Balances memory expected = _balances();
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        uint256 reserved = escrow.getRun(runId).requiredStake;

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(
            agentId, runId, reserved, IStakeVault.Outcome.ABANDONED, agent.stake - reserved, agent.strikes
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Abandoned(runId, agentId, poster, reserved);
        vm.prank(vault.walletOf(agentId));
        escrow.abandon(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.OPEN), "state");
        assertEq(run.agentId, 0, "agent cleared");
        assertEq(run.timerStart, 0, "timer cleared");
        assertEq(run.revisionCount, 0, "revisionCount");

        agent.stake -= reserved;
        agent.reserved -= reserved;
        _assertAgent(agentId, agent);

        expected.vault -= reserved;
        expected.poster += reserved;
        _assertBalances(expected);
        // The escrow still holds the run's reward + fee for the next agent.
        _assertSolvent(TOTAL);
    }
}

/// @notice The time-driven exits anyone can take on an agent's run (slash, approveOnTimeout,
/// expire), and the rule that status gates only claim.
contract RunEscrowAnyoneTest is RunEscrowAgentFixture {
    /*//////////////////////////////////////////////////////////////
                                 SLASH
    //////////////////////////////////////////////////////////////*/

    function test_Slash_PosterAfterClaimTimeoutReopensRun() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        vm.warp(block.timestamp + CLAIM_TIMEOUT + 1);
        Balances memory expected = _balances();
        IStakeVault.Agent memory agent = vault.getAgent(agentId);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(agentId, runId, MIN_STAKE, IStakeVault.Outcome.SLASHED, 0, 1);
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
        assertEq(run.agentId, 0, "agent cleared");
        assertEq(run.revisionCount, 0, "revisionCount");
        assertEq(run.timerStart, 0, "timer cleared");
        assertTrue(escrow.slashedOnRun(runId, agentId), "slashedOnRun");

        agent.stake = 0;
        agent.reserved = 0;
        agent.stakedSince = 0;
        agent.strikes = 1;
        agent.frozen = true;
        agent.status = IStakeVault.AgentStatus.FROZEN;
        _assertAgent(agentId, agent);

        // Only the reservation moves: vault -> escrow -> poster. The run's escrow stays for the next agent.
        expected.vault -= MIN_STAKE;
        expected.poster += MIN_STAKE;
        _assertBalances(expected);
        _assertSolvent(TOTAL);
    }

    function test_RevertWhen_PosterSlashesAtTheEndOfTheClaimTimeout() public {
        uint256 runId = _lateClaimedRun(_agent());
        uint256 slashableAfter = block.timestamp + CLAIM_TIMEOUT;
        vm.warp(slashableAfter);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, slashableAfter)
        );
        vm.prank(poster);
        escrow.slash(runId);
    }

    function test_Slash_AnyoneAfterAFurtherReviewPeriod() public {
        uint256 agentId = _agent();
        uint256 runId = _lateClaimedRun(agentId);
        uint256 slashableAfter = block.timestamp + CLAIM_TIMEOUT + REVIEW_PERIOD;
        vm.warp(slashableAfter + 1);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(stranger);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.OPEN);
        // The reservation still goes to the poster, never to the caller.
        expected.vault -= MIN_STAKE;
        expected.poster += MIN_STAKE;
        _assertBalances(expected);
    }

    function test_RevertWhen_AnyoneSlashesBeforeTheFurtherReviewPeriodEnds() public {
        uint256 runId = _lateClaimedRun(_agent());
        uint256 slashableAfter = block.timestamp + CLAIM_TIMEOUT + REVIEW_PERIOD;

        // When the poster already could...
        vm.warp(block.timestamp + CLAIM_TIMEOUT + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, slashableAfter)
        );
        vm.prank(stranger);
        escrow.slash(runId);

        // ...and at the last second of the further review period, for the agent itself too.
        vm.warp(slashableAfter);
        address[2] memory callers = [stranger, agentWallet];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, slashableAfter)
            );
            vm.prank(callers[i]);
            escrow.slash(runId);
        }
    }

    function test_Slash_FromInProgress() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        _start(runId);
        vm.warp(_posterSlashableAt(runId));

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(escrow.getRun(runId).agentId, 0, "agent cleared");
    }

    function test_Slash_FromRevisionRequestedResetsRevisions() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        _requestRevision(runId);
        _submit(runId);
        skip(1 days);
        _requestRevision(runId);
        uint256 requestedAt = block.timestamp;
        assertEq(escrow.getRun(runId).revisionCount, 2, "revisions used");

        // The claim timeout counts from the last revision request.
        vm.warp(requestedAt + CLAIM_TIMEOUT);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, requestedAt + CLAIM_TIMEOUT
            )
        );
        vm.prank(poster);
        escrow.slash(runId);

        vm.warp(requestedAt + CLAIM_TIMEOUT + 1);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.OPEN), "state");
        assertEq(run.agentId, 0, "agent cleared");
        assertEq(run.revisionCount, 0, "revisions reset for the next agent");
        assertEq(run.timerStart, 0, "timer cleared");
    }

    /// @dev Only the run's reservation is taken: the rest of the stake, and another claim's
    /// reservation, stay with the agent.
    function test_Slash_TakesOnlyTheReservation() public {
        uint256 agentId = _registerAndStake(agentWallet, 100e6);
        uint256 other = _openRunRequiring(30e6);
        _claim(other, agentId);
        uint256 runId = _openRunRequiring(50e6);
        _claim(runId, agentId);
        vm.warp(_posterSlashableAt(runId));
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(agentId, runId, 50e6, IStakeVault.Outcome.SLASHED, 50e6, 1);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, 50e6, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.stake, 50e6, "stake left");
        assertEq(agent.reserved, 30e6, "the other claim keeps its reservation");
        expected.vault -= 50e6;
        expected.poster += 50e6;
        _assertBalances(expected);
    }

    function test_Slash_ThirdStrikeBansAgent() public {
        uint256 agentId = _registerAndStake(agentWallet, 4 * MIN_STAKE);
        for (uint256 i; i < STRIKES_TO_BAN - 1; ++i) {
            _claimAndSlash(agentId);
            _stake(agentId, MIN_STAKE);
        }
        assertStatus(agentId, IStakeVault.AgentStatus.PROVISIONAL);
        uint256 runId = _claimedRun(agentId);
        vm.warp(_posterSlashableAt(runId));

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(
            agentId, runId, MIN_STAKE, IStakeVault.Outcome.SLASHED, 3 * MIN_STAKE, STRIKES_TO_BAN
        );
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(
            agentId, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.BANNED
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.strikes, STRIKES_TO_BAN, "strikes");
        assertTrue(agent.banned, "banned");
        assertEq(uint256(agent.status), uint256(IStakeVault.AgentStatus.BANNED), "status");
    }

    function test_Slash_PastDeadlineExpiresAndRefunds() public {
        uint256 agentId = _agent();
        uint256 runId = _openRunWithDeadline(block.timestamp + 1 days);
        _claim(runId, agentId);
        vm.warp(_posterSlashableAt(runId));
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(agentId, runId, MIN_STAKE, IStakeVault.Outcome.SLASHED, 0, 1);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.EXPIRED, TOTAL);
        vm.prank(poster);
        escrow.slash(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.EXPIRED), "state");
        assertTrue(run.settled, "settled");
        assertTrue(escrow.slashedOnRun(runId, agentId), "slashedOnRun");
        assertEq(vault.getAgent(agentId).reserved, 0, "reservation gone");
        expected.vault -= MIN_STAKE;
        expected.escrow -= TOTAL;
        expected.poster += MIN_STAKE + TOTAL;
        _assertBalances(expected);
        _assertSolvent(0);
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

    function test_Slash_ReopenedRunCanBeClaimedByAnotherAgentButNeverBySlashedOne() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 otherId = _otherAgent();
        uint256 runId = _claimAndSlash(agentId);
        _stake(agentId, MIN_STAKE);

        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.AGENT_SLASHED_ON_RUN);
        _assertClaims(runId, otherId, MIN_STAKE);

        // Even when the run is OPEN again later (the other agent abandons), the slashed agent stays out.
        vm.prank(otherAgentWallet);
        escrow.abandon(runId);
        _assertNotClaimable(runId, agentId, agentWallet, ClaimReasons.AGENT_SLASHED_ON_RUN);
    }

    function test_RevertGiven_SlashRunNotFound() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 11));
        vm.prank(poster);
        escrow.slash(11);
    }

    /*//////////////////////////////////////////////////////////////
                            APPROVE ON TIMEOUT
    //////////////////////////////////////////////////////////////*/

    function test_ApproveOnTimeout_PaysAgentAndAccruesFee() public {
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

    function test_RevertGiven_ApproveOnTimeoutAtTheEndOfTheReviewPeriod() public {
        uint256 runId = _submittedRun(_agent());
        uint256 reviewEndsAt = block.timestamp + REVIEW_PERIOD;
        vm.warp(reviewEndsAt);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowReviewNotTimedOut.selector, runId, reviewEndsAt)
        );
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);
    }

    /// @dev The review period counts from the latest submission, not the first one.
    function test_RevertGiven_ApproveOnTimeoutReviewCountsFromResubmission() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        skip(2 days);
        _requestRevision(runId);
        skip(2 days);
        _submit(runId);
        uint256 reviewEndsAt = block.timestamp + REVIEW_PERIOD;
        vm.warp(reviewEndsAt);

        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowReviewNotTimedOut.selector, runId, reviewEndsAt)
        );
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);

        vm.warp(reviewEndsAt + 1);
        _assertApprovesOnTimeout(runId, agentId, stranger);
    }

    /// @dev A reward below 1 USDC pays but does not count as a completion (no farming of ESTABLISHED).
    function test_ApproveOnTimeout_SmallRewardIsNoCompletion() public {
        uint256 agentId = _agent();
        uint256 runId = _openRunWith(1e6 - 1, defaultDeadline(), 0, 0);
        _claim(runId, agentId);
        _submit(runId);
        vm.warp(block.timestamp + REVIEW_PERIOD + 1);
        uint256 fee = uint256(1e6 - 1) * FEE_BPS / BPS;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, 1e6 - 1, fee, 0, true);
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.completions, 0, "no completion");
        assertEq(agent.volume, 1e6 - 1, "volume");
        assertEq(agent.reserved, 0, "released");
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

    function test_RevertGiven_ExpireAtDeadline() public {
        uint256 runId = _openRun();
        uint256 deadline = escrow.getRun(runId).deadline;
        vm.warp(deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowDeadlineNotPassed.selector, runId, deadline)
        );
        vm.prank(stranger);
        escrow.expire(runId);
    }

    /// @dev A run reopened by a slash or an abandon can still expire once its deadline passes.
    function test_Expire_RunReopenedBySlashOrAbandon() public {
        uint256 agentId = _registerAndStake(agentWallet, 3 * MIN_STAKE);
        uint256 slashed = _claimAndSlash(agentId);
        _stake(agentId, MIN_STAKE);
        uint256 abandoned = _claimedRun(agentId);
        vm.prank(agentWallet);
        escrow.abandon(abandoned);

        vm.warp(escrow.getRun(abandoned).deadline + 1);
        _assertExpires(slashed);
        _assertExpires(abandoned);
    }

    function test_RevertGiven_ExpireRunNotFound() public {
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 4));
        vm.prank(stranger);
        escrow.expire(4);
    }

    /*//////////////////////////////////////////////////////////////
                        STATUS GATES ONLY CLAIM
    //////////////////////////////////////////////////////////////*/

    /// @dev An agent frozen by a slash on another run still works and is paid on its live runs:
    /// submit + approve, start + abandon, submit + reject + dispute + a winning ruling.
    function test_StatusGatesOnlyClaim_FrozenAgentFinishesItsLiveRuns() public {
        uint256 agentId = _registerAndStake(agentWallet, 4 * MIN_STAKE);
        uint256 slashed = _claimedRun(agentId);
        vm.warp(_posterSlashableAt(slashed));
        uint256 approved = _claimedRun(agentId);
        uint256 abandoned = _claimedRun(agentId);
        uint256 disputed = _openRunWith(REWARD, defaultDeadline(), 0, 0);
        _claim(disputed, agentId);
        vm.prank(poster);
        escrow.slash(slashed);
        assertStatus(agentId, IStakeVault.AgentStatus.FROZEN);
        Balances memory expected = _balances();

        _submit(approved);
        _approve(approved);
        _start(abandoned);
        vm.prank(agentWallet);
        escrow.abandon(abandoned);
        _submit(disputed);
        _reject(disputed);
        _dispute(disputed);
        vm.prank(arbitrator);
        escrow.resolve(disputed, BPS, false);

        assertState(approved, IRunEscrow.RunState.APPROVED);
        assertState(abandoned, IRunEscrow.RunState.OPEN);
        assertState(disputed, IRunEscrow.RunState.RESOLVED);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.stake, 2 * MIN_STAKE, "stake: four claims, a slash and an abandon");
        assertEq(agent.reserved, 0, "every reservation settled");
        assertEq(agent.completions, 2, "completions");
        assertEq(agent.disputesWon, 1, "disputesWon");
        assertEq(uint256(agent.status), uint256(IStakeVault.AgentStatus.FROZEN), "still frozen");

        // Two rewards and the bond to the agent; the abandoned reservation to the poster.
        expected.agent += 2 * REWARD + MIN_STAKE;
        expected.poster = expected.poster + MIN_STAKE - MIN_STAKE;
        expected.vault -= MIN_STAKE;
        expected.escrow = expected.escrow - 2 * REWARD - 2 * FEE + 2 * FEE;
        expected.fees += 2 * FEE;
        _assertBalances(expected);

        // Only claim is gated.
        uint256 fresh = _openRun();
        _assertNotClaimable(fresh, agentId, agentWallet, ClaimReasons.AGENT_FROZEN);
    }

    /// @dev A banned agent (its strike hit the threshold on another run) still submits, accepts a
    /// rejection and is approved on timeout.
    function test_StatusGatesOnlyClaim_BannedAgentFinishesItsLiveRuns() public {
        _setStrikesToBan(1);
        uint256 agentId = _registerAndStake(agentWallet, 3 * MIN_STAKE);
        uint256 slashed = _claimedRun(agentId);
        vm.warp(_posterSlashableAt(slashed));
        uint256 paid = _claimedRun(agentId);
        uint256 rejected = _openRunWith(REWARD, defaultDeadline(), 0, 0);
        _claim(rejected, agentId);
        vm.prank(poster);
        escrow.slash(slashed);
        assertStatus(agentId, IStakeVault.AgentStatus.BANNED);

        _submit(rejected);
        _reject(rejected);
        vm.prank(agentWallet);
        escrow.acceptRejection(rejected);
        assertTrue(escrow.getRun(rejected).settled, "rejection final");

        _submit(paid);
        vm.warp(block.timestamp + REVIEW_PERIOD + 1);
        _assertApprovesOnTimeout(paid, agentId, stranger);

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.rejections, 1, "rejections");
        assertEq(agent.reserved, 0, "every reservation settled");
        assertEq(uint256(agent.status), uint256(IStakeVault.AgentStatus.BANNED), "still banned");
        _assertNotClaimable(_openRun(), agentId, agentWallet, ClaimReasons.AGENT_BANNED);
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev `caller` approves SUBMITTED run `runId` on timeout: the reward to the agent, the fee
    /// accrued, the reservation released, a completion.
    function _assertApprovesOnTimeout(uint256 runId, uint256 agentId, address caller) internal {
        Balances memory expected = _balances();
        IStakeVault.Agent memory agent = vault.getAgent(agentId);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, 0, true);
        vm.prank(caller);
        escrow.approveOnTimeout(runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.APPROVED), "state");
        assertTrue(run.settled, "settled");
        agent.reserved -= MIN_STAKE;
        agent.completions += 1;
        agent.volume += REWARD;
        _assertAgent(agentId, agent);

        expected.escrow -= REWARD;
        expected.agent += REWARD;
        expected.fees += FEE;
        _assertBalances(expected);
    }

    /// @dev Anyone expires OPEN run `runId`: reward + fee back to the poster.
    function _assertExpires(uint256 runId) internal {
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunExpired(runId, poster, TOTAL);
        vm.prank(stranger);
        escrow.expire(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        expected.escrow -= TOTAL;
        expected.poster += TOTAL;
        _assertBalances(expected);
    }
}

/// @notice The state × action grid of the agent, arbitrator and "anyone" functions, the Sablier
/// way: one fuzzed test per action, whose input picks one of the grid cases the action must reject
/// (REJECTED unsettled and settled both ways, EXPIRED both with and without an agent). The error is
/// `RunEscrowInvalidState(runId, state)`, `RunEscrowAlreadySettled(runId)` for a settled REJECTED
/// where an unsettled one is needed, `RunEscrowNotAgent` where the run has no agent for an
/// agent-only action, and `RunEscrowNotClaimable` with RUN_NOT_OPEN for claim.
contract RunEscrowStateGridTest is RunEscrowAgentFixture {
    uint256 internal agentId;

    function setUp() public override {
        super.setUp();
        agentId = _agent();
        // A claimer that passes every rule but the run's state.
        claimerId = _registerAndStake(otherAgentWallet, 5 * MIN_STAKE);
    }

    function testFuzz_RevertGiven_ClaimRunNotOpen(uint8 pick) public {
        _assertRejects(Action.Claim, _bit(Case.OPEN), pick);
    }

    function testFuzz_RevertGiven_StartRunNotClaimed(uint8 pick) public {
        _assertRejects(Action.Start, _bit(Case.CLAIMED), pick);
    }

    function testFuzz_RevertGiven_SubmitRunNotClaimedInProgressOrRevisionRequested(uint8 pick) public {
        _assertRejects(
            Action.Submit, _bit(Case.CLAIMED) | _bit(Case.IN_PROGRESS) | _bit(Case.REVISION_REQUESTED), pick
        );
    }

    function testFuzz_RevertGiven_AbandonRunNotClaimedOrInProgress(uint8 pick) public {
        _assertRejects(Action.Abandon, _bit(Case.CLAIMED) | _bit(Case.IN_PROGRESS), pick);
    }

    function testFuzz_RevertGiven_DisputeRunNotUnsettledRejected(uint8 pick) public {
        _assertRejects(Action.Dispute, _bit(Case.REJECTED), pick);
    }

    function testFuzz_RevertGiven_AcceptRejectionRunNotUnsettledRejected(uint8 pick) public {
        _assertRejects(Action.AcceptRejection, _bit(Case.REJECTED), pick);
    }

    function testFuzz_RevertGiven_SubmitEvidenceRunNotUnsettledRejectedOrDisputed(uint8 pick) public {
        _assertRejects(Action.SubmitEvidence, _bit(Case.REJECTED) | _bit(Case.DISPUTED), pick);
    }

    function testFuzz_RevertGiven_ResolveRunNotDisputed(uint8 pick) public {
        _assertRejects(Action.Resolve, _bit(Case.DISPUTED), pick);
    }

    function testFuzz_RevertGiven_SettleDisputeRunNotDisputed(uint8 pick) public {
        _assertRejects(Action.SettleDispute, _bit(Case.DISPUTED), pick);
    }

    function testFuzz_RevertGiven_FinalizeRejectionRunNotUnsettledRejected(uint8 pick) public {
        _assertRejects(Action.FinalizeRejection, _bit(Case.REJECTED), pick);
    }

    function testFuzz_RevertGiven_SlashRunNotClaimedInProgressOrRevisionRequested(uint8 pick) public {
        _assertRejects(
            Action.Slash, _bit(Case.CLAIMED) | _bit(Case.IN_PROGRESS) | _bit(Case.REVISION_REQUESTED), pick
        );
    }

    function testFuzz_RevertGiven_ApproveOnTimeoutRunNotSubmitted(uint8 pick) public {
        _assertRejects(Action.ApproveOnTimeout, _bit(Case.SUBMITTED), pick);
    }

    function testFuzz_RevertGiven_ExpireRunNotOpen(uint8 pick) public {
        _assertRejects(Action.Expire, _bit(Case.OPEN), pick);
    }

    /// @dev The fuzzed tests above draw from the grid's cases, so the cases must reach every one of
    /// the 12 states: then each state is either accepted by an action or one of its draws.
    function test_StateGrid_CasesCoverEveryState() public pure {
        uint256 states;
        for (uint256 i; i < GRID_CASES; ++i) {
            states |= 1 << uint256(_stateOf(Case(i)));
        }
        assertEq(states, (1 << 12) - 1, "every state covered");
    }

    /// @dev Builds the grid case that `pick` selects among those not in `accepted`, far past every
    /// timer (so only the state can be the reason), and checks `action` reverts with its error.
    function _assertRejects(Action action, uint256 accepted, uint8 pick) internal {
        Case c = _pickRejected(accepted, pick);
        uint256 runId = _runIn(c, agentId);
        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(_stateOf(c)), "case state");
        assertEq(run.agentId != 0, _hasAgent(c), "case agent");
        // Past the deadline and every period, so a time check cannot be what reverts.
        skip(60 days);

        bytes memory expected = _expectedError(action, c, runId);
        vm.expectRevert(expected);
        _act(action, runId);
    }

    /// @dev The grid case `pick` selects, modulo their number, among the cases not in `accepted`:
    /// every fuzz input is a case the action must reject.
    function _pickRejected(uint256 accepted, uint8 pick) internal pure returns (Case) {
        uint256 rejected;
        for (uint256 i; i < GRID_CASES; ++i) {
            if (accepted & (1 << i) == 0) ++rejected;
        }
        uint256 k = pick % rejected;
        for (uint256 i; i < GRID_CASES; ++i) {
            if (accepted & (1 << i) != 0) continue;
            if (k == 0) return Case(i);
            --k;
        }
        revert("unreachable");
    }

    function _expectedError(Action action, Case c, uint256 runId) internal view returns (bytes memory) {
        if (action == Action.Claim) {
            // Every case is past its deadline after the skip above.
            uint256 reasons = ClaimReasons.RUN_NOT_OPEN | ClaimReasons.RUN_PAST_DEADLINE;
            (bool eligible, uint256 got) = escrow.canClaim(runId, claimerId);
            assertFalse(eligible, "canClaim eligible");
            assertEq(got, reasons, "canClaim agrees with claim");
            return
                abi.encodeWithSelector(IRunEscrow.RunEscrowNotClaimable.selector, runId, claimerId, reasons);
        }
        bool agentOnly = action == Action.Start || action == Action.Submit || action == Action.Abandon
            || action == Action.Dispute || action == Action.AcceptRejection;
        if (agentOnly && !_hasAgent(c)) {
            return abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgent.selector, runId, agentWallet);
        }
        bool needsUnsettled = action == Action.Dispute || action == Action.AcceptRejection
            || action == Action.SubmitEvidence || action == Action.FinalizeRejection;
        bool settled = c == Case.REJECTED_SETTLED || c == Case.REJECTED_FINALIZED;
        if (settled && needsUnsettled) {
            return abi.encodeWithSelector(IRunEscrow.RunEscrowAlreadySettled.selector, runId);
        }
        return _invalidState(runId, _stateOf(c));
    }
}

/// @notice Failed payouts become credits (SPEC §2.3), and every exit works while the escrow or the
/// vault is paused. Runs on a USDC with Circle's blacklist.
contract RunEscrowCreditTest is RunEscrowAgentFixture {
    BlacklistUSDC internal token;

    /// @dev One row of the pause table: `action` on a run in case `from`, `wait` seconds later,
    /// leaves it in `to` (`settled` as given).
    struct Exit {
        Action action;
        Case from;
        uint256 wait;
        IRunEscrow.RunState to;
        bool settled;
    }

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

    /*//////////////////////////////////////////////////////////////
                              PAUSE TABLE
    //////////////////////////////////////////////////////////////*/

    /// @dev Pause blocks only createRun, fund*, createAndFund*, claim and stake: every exit, and
    /// every step of a live run, works while the escrow is paused, while the vault is, and both.
    function test_EveryExitWorksWhilePaused() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        Exit[18] memory exits = [
            Exit(Action.Submit, Case.CLAIMED, 0, IRunEscrow.RunState.SUBMITTED, false),
            Exit(Action.Start, Case.CLAIMED, 0, IRunEscrow.RunState.IN_PROGRESS, false),
            Exit(Action.Abandon, Case.CLAIMED, 0, IRunEscrow.RunState.OPEN, false),
            Exit(Action.Approve, Case.SUBMITTED, 0, IRunEscrow.RunState.APPROVED, true),
            Exit(Action.RequestRevision, Case.SUBMITTED, 0, IRunEscrow.RunState.REVISION_REQUESTED, false),
            Exit(Action.Reject, Case.SUBMITTED_EXHAUSTED, 0, IRunEscrow.RunState.REJECTED, false),
            Exit(Action.Dispute, Case.REJECTED, 0, IRunEscrow.RunState.DISPUTED, false),
            Exit(Action.AcceptRejection, Case.REJECTED, 0, IRunEscrow.RunState.REJECTED, true),
            Exit(Action.SubmitEvidence, Case.DISPUTED, 0, IRunEscrow.RunState.DISPUTED, false),
            Exit(Action.Resolve, Case.DISPUTED, 0, IRunEscrow.RunState.RESOLVED, true),
            Exit(Action.SettleDispute, Case.DISPUTED, RULING_PERIOD + 1, IRunEscrow.RunState.RESOLVED, true),
            Exit(
                Action.FinalizeRejection,
                Case.REJECTED,
                DISPUTE_WINDOW + 1,
                IRunEscrow.RunState.REJECTED,
                true
            ),
            Exit(Action.Slash, Case.CLAIMED, CLAIM_TIMEOUT + 1, IRunEscrow.RunState.OPEN, false),
            Exit(
                Action.ApproveOnTimeout, Case.SUBMITTED, REVIEW_PERIOD + 1, IRunEscrow.RunState.APPROVED, true
            ),
            Exit(Action.Expire, Case.OPEN, 30 days + 1, IRunEscrow.RunState.EXPIRED, true),
            Exit(Action.Cancel, Case.OPEN, 0, IRunEscrow.RunState.CANCELLED, true),
            // A credit of the poster's cancelled run.
            Exit(Action.WithdrawCredit, Case.CANCELLED, 0, IRunEscrow.RunState.CANCELLED, true),
            // The fee of an approved run.
            Exit(Action.WithdrawFees, Case.APPROVED, 0, IRunEscrow.RunState.APPROVED, true)
        ];
        for (uint256 mode; mode < 3; ++mode) {
            for (uint256 i; i < exits.length; ++i) {
                uint256 snapshot = vm.snapshotState();
                _assertExitWhilePaused(exits[i], agentId, mode);
                vm.revertToState(snapshot);
            }
        }
    }

    /// @dev `mode` 0: escrow paused; 1: vault paused; 2: both.
    function _assertExitWhilePaused(Exit memory exit, uint256 agentId, uint256 mode) internal {
        uint256 runId;
        if (exit.action == Action.WithdrawCredit) {
            // The poster was blacklisted when it cancelled: its refund became a credit.
            runId = _openRun();
            _blacklist(poster);
            vm.prank(poster);
            escrow.cancel(runId);
            _unBlacklist(poster);
            assertEq(escrow.creditOf(poster), TOTAL, "credit to withdraw");
        } else {
            runId = _runIn(exit.from, agentId);
        }
        skip(exit.wait);
        if (mode != 1) _pause();
        if (mode != 0) _pauseVault();
        Balances memory before = _balances();

        _act(exit.action, runId);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(uint256(run.state), uint256(exit.to), "state after the exit");
        assertEq(run.settled, exit.settled, "settled after the exit");
        if (exit.action == Action.WithdrawCredit) {
            assertEq(escrow.creditOf(poster), 0, "credit withdrawn");
            assertEq(usdc.balanceOf(poster), before.poster + TOTAL, "credit paid");
        } else if (exit.action == Action.WithdrawFees) {
            assertEq(escrow.accruedFees(), 0, "fees withdrawn");
            assertEq(usdc.balanceOf(treasury), before.treasury + FEE, "fees paid");
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 CREDITS
    //////////////////////////////////////////////////////////////*/

    function test_ApproveOnTimeout_BlacklistedAgentGetsCreditAndWithdrawsLater() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        _blacklist(agentWallet);
        vm.warp(block.timestamp + REVIEW_PERIOD + 1);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, 0, true);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(agentWallet, runId, REWARD);
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertEq(escrow.creditOf(agentWallet), REWARD, "credit");
        assertEq(vault.getAgent(agentId).completions, 1, "completion counted");
        expected.fees += FEE;
        _assertBalances(expected);
        _assertSolvent(0);

        _unBlacklist(agentWallet);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditWithdrawn(agentWallet, REWARD);
        vm.prank(agentWallet);
        assertEq(escrow.withdrawCredit(), REWARD, "returned amount");

        assertEq(escrow.creditOf(agentWallet), 0, "credit cleared");
        expected.escrow -= REWARD;
        expected.agent += REWARD;
        _assertBalances(expected);
        _assertSolvent(0);
    }

    function test_Abandon_BlacklistedPosterGetsCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        _blacklist(poster);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Abandoned(runId, agentId, poster, MIN_STAKE);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(poster, runId, MIN_STAKE);
        vm.prank(agentWallet);
        escrow.abandon(runId);

        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(escrow.creditOf(poster), MIN_STAKE, "credit");
        expected.vault -= MIN_STAKE;
        expected.escrow += MIN_STAKE;
        _assertBalances(expected);
        _assertSolvent(TOTAL);
    }

    /// @dev The reservation goes vault -> escrow first, so a blacklisted poster cannot block a slash.
    function test_Slash_BlacklistedPosterGetsCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _openRunWithDeadline(block.timestamp + 1 days);
        _claim(runId, agentId);
        _blacklist(poster);
        vm.warp(_posterSlashableAt(runId));
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.EXPIRED, TOTAL);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(poster, runId, MIN_STAKE + TOTAL);
        vm.prank(poster);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        assertEq(escrow.creditOf(poster), MIN_STAKE + TOTAL, "credit");
        expected.vault -= MIN_STAKE;
        expected.escrow += MIN_STAKE;
        _assertBalances(expected);
        _assertSolvent(0);
    }

    function test_Expire_BlacklistedPosterGetsCredit() public {
        uint256 runId = _openRun();
        _blacklist(poster);
        vm.warp(escrow.getRun(runId).deadline + 1);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunExpired(runId, poster, TOTAL);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(poster, runId, TOTAL);
        vm.prank(stranger);
        escrow.expire(runId);

        assertEq(escrow.creditOf(poster), TOTAL, "credit");
        _assertBalances(expected);
        _assertSolvent(0);
    }

    function test_FinalizeRejection_BlacklistedPosterGetsCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _rejectedRun(agentId);
        _blacklist(poster);
        vm.warp(block.timestamp + DISPUTE_WINDOW + 1);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RejectionFinalized(runId, agentId, poster, TOTAL + MIN_STAKE, false);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(poster, runId, TOTAL + MIN_STAKE);
        vm.prank(stranger);
        escrow.finalizeRejection(runId);

        assertTrue(escrow.getRun(runId).settled, "settled");
        assertEq(escrow.creditOf(poster), TOTAL + MIN_STAKE, "credit");
        _assertBalances(expected);
        _assertSolvent(0);
    }

    function test_Resolve_BlacklistedAgentGetsCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _disputedRun(agentId);
        _blacklist(agentWallet);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.DisputeResolved(
            runId, agentId, arbitrator, _ruling(REWARD, BPS, MIN_STAKE, 0, false, false)
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(agentWallet, runId, REWARD + MIN_STAKE);
        vm.prank(arbitrator);
        escrow.resolve(runId, BPS, false);

        assertEq(escrow.creditOf(agentWallet), REWARD + MIN_STAKE, "credit: reward and bond");
        expected.fees += FEE;
        _assertBalances(expected);
        _assertSolvent(0);
    }

    function test_Resolve_BlacklistedPosterGetsCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _disputedRun(agentId);
        _blacklist(poster);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.DisputeResolved(
            runId, agentId, arbitrator, _ruling(REWARD, 0, MIN_STAKE, MIN_STAKE, true, false)
        );
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(poster, runId, TOTAL + 2 * MIN_STAKE);
        vm.prank(arbitrator);
        escrow.resolve(runId, 0, true);

        assertEq(escrow.creditOf(poster), TOTAL + 2 * MIN_STAKE, "credit: reward, fee, bond, reservation");
        assertStatus(agentId, IStakeVault.AgentStatus.FROZEN);
        expected.vault -= MIN_STAKE;
        expected.escrow += MIN_STAKE;
        _assertBalances(expected);
        _assertSolvent(0);
    }

    function test_SettleDispute_BlacklistedPartiesGetCredits() public {
        uint256 agentId = _agent();
        uint256 runId = _disputedRun(agentId);
        _blacklist(poster);
        _blacklist(agentWallet);
        vm.warp(block.timestamp + RULING_PERIOD + 1);
        IRunEscrow.Ruling memory r = _ruling(REWARD, 5000, MIN_STAKE, 0, false, true);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(agentWallet, runId, r.toAgent);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(poster, runId, r.toPoster + MIN_STAKE);
        vm.prank(stranger);
        escrow.settleDispute(runId);

        assertEq(escrow.creditOf(agentWallet), r.toAgent, "agent credit");
        assertEq(escrow.creditOf(poster), r.toPoster + MIN_STAKE, "poster credit");
        _assertSolvent(0);
    }

    function test_WithdrawCredit_AccumulatesAcrossRuns() public {
        uint256 first = _openRun();
        uint256 second = _openRun();
        _blacklist(poster);
        vm.prank(poster);
        escrow.cancel(first);
        vm.warp(escrow.getRun(second).deadline + 1);
        vm.prank(stranger);
        escrow.expire(second);
        assertEq(escrow.creditOf(poster), 2 * TOTAL, "credit");
        _unBlacklist(poster);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditWithdrawn(poster, 2 * TOTAL);
        vm.prank(poster);
        escrow.withdrawCredit();

        expected.escrow -= 2 * TOTAL;
        expected.poster += 2 * TOTAL;
        _assertBalances(expected);
        _assertSolvent(0);
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
        assertEq(escrow.creditOf(poster), TOTAL, "credit kept");
    }
}

/// @notice One whole run per ending, from the agent's registration to the last payout: every USDC
/// is accounted for. At the end the escrow owes nothing but accrued fees (then nothing once they
/// are withdrawn), the vault holds exactly stake + pending, and no USDC was created or lost.
contract RunEscrowLifecycleTest is RunEscrowAgentFixture {
    Balances internal initial;
    uint256 internal initialTotal;
    uint256 internal agentId;

    function setUp() public override {
        super.setUp();
        initial = _balances();
        initialTotal = _totalUsdc();
        agentId = _registerAndStake(agentWallet, MIN_STAKE);
    }

    function test_Lifecycle_Approve() public {
        vm.prank(poster);
        uint256 runId = escrow.createRun(SPEC, REWARD, defaultDeadline(), 1, 0, 0);
        vm.prank(poster);
        escrow.fund(runId);
        _claim(runId, agentId);
        _start(runId);
        _submit(runId);
        _requestRevision(runId);
        _submit(runId);
        _approve(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        _assertAgentAfter(1, 0, 0, 0, REWARD);
        Balances memory expected = initial;
        expected.poster -= TOTAL;
        expected.agent += REWARD;
        _assertEnding(expected, FEE);
    }

    function test_Lifecycle_ApproveOnTimeout() public {
        uint256 runId = _submittedRun(agentId);
        vm.warp(block.timestamp + REVIEW_PERIOD + 1);
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);

        _assertAgentAfter(1, 0, 0, 0, REWARD);
        Balances memory expected = initial;
        expected.poster -= TOTAL;
        expected.agent += REWARD;
        _assertEnding(expected, FEE);
    }

    function test_Lifecycle_AcceptRejection() public {
        uint256 runId = _rejectedRun(agentId);
        vm.prank(agentWallet);
        escrow.acceptRejection(runId);

        _assertAgentAfter(0, 1, 0, 0, 0);
        // The poster gets everything back, bond included; the agent keeps its stake.
        _assertEnding(initial, 0);
    }

    function test_Lifecycle_FinalizeRejection() public {
        uint256 runId = _rejectedRun(agentId);
        vm.warp(block.timestamp + DISPUTE_WINDOW + 1);
        vm.prank(stranger);
        escrow.finalizeRejection(runId);

        _assertAgentAfter(0, 1, 0, 0, 0);
        _assertEnding(initial, 0);
    }

    function test_Lifecycle_RulingForTheAgent() public {
        uint256 runId = _disputedRun(agentId);
        vm.prank(arbitrator);
        escrow.resolve(runId, 7500, false);

        // 75 USDC and the bond to the agent, 3.75 USDC of fee, 26.25 USDC back to the poster.
        _assertAgentAfter(1, 0, 1, 0, 75e6);
        Balances memory expected = initial;
        expected.poster = expected.poster - TOTAL - MIN_STAKE + 26_250_000;
        expected.agent += 75e6 + MIN_STAKE;
        _assertEnding(expected, 3_750_000);
    }

    function test_Lifecycle_RulingForThePosterWithStrike() public {
        uint256 runId = _disputedRun(agentId);
        vm.prank(arbitrator);
        escrow.resolve(runId, 0, true);

        _assertAgentAfter(0, 0, 0, 1, 0);
        assertEq(vault.getAgent(agentId).strikes, 1, "strike");
        assertStatus(agentId, IStakeVault.AgentStatus.FROZEN);
        // The poster gets everything back and the agent's reservation.
        Balances memory expected = initial;
        expected.poster += MIN_STAKE;
        expected.agent -= MIN_STAKE;
        _assertEnding(expected, 0);
    }

    function test_Lifecycle_DefaultSettlement() public {
        uint256 runId = _disputedRun(agentId);
        vm.warp(block.timestamp + RULING_PERIOD + 1);
        vm.prank(stranger);
        escrow.settleDispute(runId);

        // 50 USDC to the agent, 2.5 USDC of fee, 52.5 USDC and the bond back to the poster.
        _assertAgentAfter(0, 0, 0, 0, 50e6);
        Balances memory expected = initial;
        expected.poster = expected.poster - TOTAL + 52_500_000;
        expected.agent += 50e6;
        _assertEnding(expected, 2_500_000);
    }

    function test_Lifecycle_SlashReclaimApprove() public {
        uint256 runId = _claimAndSlash(agentId);
        uint256 otherId = _otherAgent();
        _claim(runId, otherId);
        _submit(runId);
        _approve(runId);

        _assertAgentAfter(0, 0, 0, 0, 0);
        assertEq(vault.getAgent(otherId).completions, 1, "other agent's completion");
        Balances memory expected = initial;
        expected.poster = expected.poster - TOTAL + MIN_STAKE;
        expected.agent -= MIN_STAKE;
        expected.otherAgent += REWARD;
        _assertEnding(expected, FEE);
    }

    function test_Lifecycle_AbandonReclaimApprove() public {
        _stake(agentId, MIN_STAKE);
        uint256 runId = _claimedRun(agentId);
        vm.prank(agentWallet);
        escrow.abandon(runId);
        _claim(runId, agentId);
        _submit(runId);
        _approve(runId);

        _assertAgentAfter(1, 0, 0, 0, REWARD);
        Balances memory expected = initial;
        expected.poster = expected.poster - TOTAL + MIN_STAKE;
        expected.agent = expected.agent - MIN_STAKE + REWARD;
        _assertEnding(expected, FEE);
    }

    /// @dev The main agent's record once its run ended: no reservation left.
    function _assertAgentAfter(
        uint256 completions,
        uint256 rejections,
        uint256 disputesWon,
        uint256 disputesLost,
        uint256 volume
    ) internal view {
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.reserved, 0, "no reservation left");
        assertEq(agent.completions, completions, "completions");
        assertEq(agent.rejections, rejections, "rejections");
        assertEq(agent.disputesWon, disputesWon, "disputesWon");
        assertEq(agent.disputesLost, disputesLost, "disputesLost");
        assertEq(agent.volume, volume, "volume");
    }

    /// @dev `expected` gives every actor's final balance (the staked USDC counted as the agents'
    /// and moved to the vault here): the escrow holds only `fees`, then nothing once they go to the
    /// treasury; the vault holds exactly the stakes; not one USDC appeared or vanished.
    function _assertEnding(Balances memory expected, uint256 fees) internal {
        uint256 staked = vault.totalStaked();
        expected.agent -= vault.getAgent(agentId).stake + vault.getAgent(agentId).pendingUnstake;
        uint256 otherId = vault.agentIdOf(otherAgentWallet);
        if (otherId != 0) expected.otherAgent -= vault.getAgent(otherId).stake;
        expected.vault = initial.vault + staked + vault.totalPending();
        expected.escrow = initial.escrow + fees;
        expected.fees = fees;
        _assertBalances(expected);
        _assertSolvent(0);
        assertEq(_totalUsdc(), initialTotal, "no USDC created or lost");

        if (fees != 0) {
            vm.expectEmit(true, true, true, true, address(escrow));
            emit IRunEscrow.FeesWithdrawn(treasury, fees);
            vm.prank(stranger);
            escrow.withdrawFees();
        }
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
        assertEq(usdc.balanceOf(treasury), initial.treasury + fees, "treasury paid");
        assertEq(_totalUsdc(), initialTotal, "no USDC created or lost");
    }
}
