// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Base} from "./Base.t.sol";
import {BlacklistUSDC} from "./mocks/BlacklistUSDC.sol";
import {ContractParty} from "./mocks/ContractParty.sol";
import {HostileArbitrator} from "./mocks/HostileArbitrator.sol";
import {ReentrantUSDC} from "./mocks/ReentrantUSDC.sol";
import {SigUtils} from "./utils/SigUtils.sol";
import {MockUSDC} from "../contracts/mocks/MockUSDC.sol";
import {StakeVault} from "../contracts/StakeVault.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";
import {IUSDC} from "../contracts/interfaces/IUSDC.sol";
import {ClaimReasons} from "../contracts/libraries/ClaimReasons.sol";

/// @notice Shared by every attack suite: the USDC balances of every party, so each test states
/// exactly what must move and checks that nothing else did, plus the error builders they share.
abstract contract AttackBase is Base {
    uint256 internal constant TOTAL = REWARD + FEE;
    /// @dev A run's default required stake, which is also its rejection bond.
    uint256 internal constant BOND = MIN_STAKE;

    struct Balances {
        uint256 poster;
        uint256 agent;
        uint256 otherAgent;
        uint256 treasury;
        uint256 stranger;
        uint256 owner;
        uint256 arbitrator;
        uint256 escrow;
        uint256 vault;
    }

    function _balances() internal view returns (Balances memory b) {
        b.poster = usdc.balanceOf(poster);
        b.agent = usdc.balanceOf(agentWallet);
        b.otherAgent = usdc.balanceOf(otherAgentWallet);
        b.treasury = usdc.balanceOf(treasury);
        b.stranger = usdc.balanceOf(stranger);
        b.owner = usdc.balanceOf(owner);
        b.arbitrator = usdc.balanceOf(arbitrator);
        b.escrow = usdc.balanceOf(address(escrow));
        b.vault = usdc.balanceOf(address(vault));
    }

    function _assertBalances(Balances memory expected) internal view {
        Balances memory actual = _balances();
        assertEq(actual.poster, expected.poster, "poster balance");
        assertEq(actual.agent, expected.agent, "agent balance");
        assertEq(actual.otherAgent, expected.otherAgent, "other agent balance");
        assertEq(actual.treasury, expected.treasury, "treasury balance");
        assertEq(actual.stranger, expected.stranger, "stranger balance");
        assertEq(actual.owner, expected.owner, "owner balance");
        assertEq(actual.arbitrator, expected.arbitrator, "arbitrator balance");
        assertEq(actual.escrow, expected.escrow, "escrow balance");
        assertEq(actual.vault, expected.vault, "vault balance");
    }

    /// @dev The agent's stake, reservation and pending withdrawal, and the vault's totals agree.
    function _assertStake(uint256 agentId, uint256 stake, uint256 reserved, uint256 pending) internal view {
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.stake, stake, "stake");
        assertEq(agent.reserved, reserved, "reserved");
        assertEq(agent.pendingUnstake, pending, "pending unstake");
        assertEq(
            usdc.balanceOf(address(vault)),
            vault.totalStaked() + vault.totalPending(),
            "vault == stake + pending"
        );
    }

    function _expectTransfer(address from, address to, uint256 amount) internal {
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(from, to, amount);
    }

    function _revokeApproval(address account, address spender) internal {
        vm.prank(account);
        usdc.approve(spender, 0);
    }

    function _mint(address to, uint256 amount) internal {
        vm.prank(owner);
        usdc.mint(to, amount);
    }

    /// @dev A funded actor that approved both contracts.
    function _actor(string memory name) internal returns (address actor) {
        actor = makeAddr(name);
        _mint(actor, FUNDING);
        vm.startPrank(actor);
        usdc.approve(address(escrow), type(uint256).max);
        usdc.approve(address(vault), type(uint256).max);
        vm.stopPrank();
    }

    function _openRunBy(address who, uint256 reward, uint256 requiredStake) internal returns (uint256 runId) {
        vm.prank(who);
        runId = escrow.createAndFund(SPEC, reward, defaultDeadline(), MAX_REVISIONS, requiredStake, 0);
    }

    function _claim(uint256 runId, uint256 agentId) internal {
        vm.prank(vault.walletOf(agentId));
        escrow.claim(runId, agentId);
    }

    function _submit(uint256 runId) internal {
        vm.prank(vault.walletOf(escrow.getRun(runId).agentId));
        escrow.submit(runId, DELIVERABLE);
    }

    function _resolve(uint256 runId, uint256 bps, bool strike) internal {
        vm.prank(escrow.getRun(runId).terms.arbitrator);
        escrow.resolve(runId, bps, strike);
    }

    function _setMinStake(uint64 minStake) internal {
        IStakeVault.Parameters memory p = defaultVaultParameters();
        p.minStake = minStake;
        vm.prank(owner);
        vault.setParameters(p);
    }

    function _setArbitrator(address newArbitrator) internal {
        IRunEscrow.Parameters memory p = defaultEscrowParameters();
        p.arbitrator = newArbitrator;
        vm.prank(owner);
        escrow.setParameters(p);
    }

    function _pauseBoth() internal {
        vm.startPrank(owner);
        escrow.pause();
        vault.pause();
        vm.stopPrank();
    }

    /// @dev Anyone sends the accrued fees to the treasury (if any accrued).
    function _sweepFees() internal {
        if (escrow.accruedFees() == 0) return;
        vm.prank(stranger);
        escrow.withdrawFees();
    }

    function _invalidState(uint256 runId, IRunEscrow.RunState state) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidState.selector, runId, state);
    }

    function _notClaimable(uint256 runId, uint256 agentId, uint256 reasons)
        internal
        pure
        returns (bytes memory)
    {
        return abi.encodeWithSelector(IRunEscrow.RunEscrowNotClaimable.selector, runId, agentId, reasons);
    }

    function _insufficientAllowance(address spender, uint256 needed) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, spender, 0, needed);
    }

    function _reviewEnd(uint256 runId) internal view returns (uint256) {
        IRunEscrow.Run memory run = escrow.getRun(runId);
        return uint256(run.timerStart) + run.terms.reviewPeriod;
    }

    function _claimEnd(uint256 runId) internal view returns (uint256) {
        IRunEscrow.Run memory run = escrow.getRun(runId);
        return uint256(run.timerStart) + run.terms.claimTimeout;
    }

    function _windowEnd(uint256 runId) internal view returns (uint256) {
        IRunEscrow.Run memory run = escrow.getRun(runId);
        return uint256(run.timerStart) + run.terms.disputeWindow;
    }

    function _rulingEnd(uint256 runId) internal view returns (uint256) {
        IRunEscrow.Run memory run = escrow.getRun(runId);
        return uint256(run.timerStart) + run.terms.rulingPeriod;
    }
}

/// @dev Pretends to be a RunEscrow of `vault` so that, once bound, the vault forfeits on request.
contract MaliciousEscrow {
    IStakeVault private immutable _vault;

    constructor(IStakeVault vault_) {
        _vault = vault_;
    }

    function stakeVault() external view returns (address) {
        return address(_vault);
    }

    function syncMinStake(uint256) external {}

    function steal(uint256 agentId, uint256 amount) external returns (uint256 forfeited) {
        _vault.reserve(agentId, amount);
        (, forfeited) = _vault.settleClaim(agentId, 0, amount, IStakeVault.Outcome.SLASHED, 0, 0);
    }
}

/*//////////////////////////////////////////////////////////////
             REGRESSIONS: THE PROTOCOL V1 FLAWS FAIL ON V2
//////////////////////////////////////////////////////////////*/

/// @notice Each test replays an attack that succeeded on protocol v1 (see the PoCs in the report)
/// and shows that it fails on v2.
contract RegressionTest is AttackBase {
    /// @dev Flaw 1: one 20 USDC stake backed any number of claims. Now a claim reserves the run's
    /// required stake and the second claim on one minimum stake reverts.
    function test_Regression_1_SecondClaimOnOneMinimumStakeReverts() public {
        uint256 agentId = _agent();
        address sybilPoster = stranger;
        uint256 own = _openRunBy(sybilPoster, 1, 0);
        _claim(own, agentId);
        uint256 victimRun = _openRun();
        Balances memory expected = _balances();

        (bool eligible, uint256 reasons) = escrow.canClaim(victimRun, agentId);
        assertFalse(eligible, "eligible");
        assertEq(reasons, ClaimReasons.INSUFFICIENT_FREE_STAKE, "reasons");
        vm.prank(agentWallet);
        vm.expectRevert(_notClaimable(victimRun, agentId, ClaimReasons.INSUFFICIENT_FREE_STAKE));
        escrow.claim(victimRun, agentId);

        assertState(victimRun, IRunEscrow.RunState.OPEN);
        assertEq(vault.getAgent(agentId).claims, 1, "one claim counted");
        _assertStake(agentId, MIN_STAKE, MIN_STAKE, 0);
        _assertBalances(expected);
    }

    /// @dev Flaw 1, the whole attack: the sybil poster takes its own run's stake back first, and every
    /// victim's slash still pays exactly the stake its run required, frozen or banned agent or not.
    function test_Regression_1_EveryVictimSlashPaysItsRequiredStake() public {
        uint256[4] memory required = [uint256(MIN_STAKE), MIN_STAKE, MIN_STAKE, 50e6];
        uint256 staked = MIN_STAKE + 3 * MIN_STAKE + 50e6; // its own run + exactly four victims
        uint256 agentId = _registerAndStake(agentWallet, staked);
        address sybilPoster = stranger;
        uint256 own = _openRunBy(sybilPoster, 1, 0);
        _claim(own, agentId);
        skip(1 hours);
        address[4] memory victims;
        uint256[4] memory runs;
        for (uint256 i; i < 4; ++i) {
            victims[i] = _actor(string.concat("victim", vm.toString(i)));
            runs[i] = _openRunBy(victims[i], REWARD, required[i]);
            _claim(runs[i], agentId);
        }
        uint256 fifth = _openRunBy(_actor("victim4"), REWARD, 0);
        vm.prank(agentWallet);
        vm.expectRevert(_notClaimable(fifth, agentId, ClaimReasons.INSUFFICIENT_FREE_STAKE));
        escrow.claim(fifth, agentId);
        _assertStake(agentId, staked, staked, 0);

        // The sybil poster slashes its own run first and cancels it: it gets back what it put in.
        uint256 sybilBefore = usdc.balanceOf(sybilPoster);
        vm.warp(_claimEnd(own) + 1);
        vm.prank(sybilPoster);
        escrow.slash(own);
        vm.prank(sybilPoster);
        escrow.cancel(own);
        assertEq(usdc.balanceOf(sybilPoster), sybilBefore + MIN_STAKE + 1, "sybil: its stake and run back");
        assertStatus(agentId, IStakeVault.AgentStatus.FROZEN);

        vm.warp(_claimEnd(runs[0]) + 1);
        for (uint256 i; i < 4; ++i) {
            uint256 before = usdc.balanceOf(victims[i]);
            vm.expectEmit(true, true, true, true, address(escrow));
            emit IRunEscrow.Slashed(runs[i], agentId, victims[i], required[i], IRunEscrow.RunState.OPEN, 0);
            vm.prank(victims[i]);
            escrow.slash(runs[i]);
            assertEq(usdc.balanceOf(victims[i]), before + required[i], "victim paid its required stake");
        }
        _assertStake(agentId, 0, 0, 0);
        assertEq(vault.getAgent(agentId).strikes, 5, "five strikes");
        assertStatus(agentId, IStakeVault.AgentStatus.BANNED);
        // The attack cost the attacker's two wallets every victim's required stake.
        assertEq(
            usdc.balanceOf(agentWallet) + usdc.balanceOf(sybilPoster),
            2 * FUNDING - (staked - MIN_STAKE),
            "attacker paid the victims"
        );
    }

    /// @dev Flaw 2: `slash` read the current minimum stake. Now it pays the reservation made at the
    /// claim, whatever the owner sets meanwhile, and the run keeps its fee too.
    function testFuzz_Regression_2_OwnerChangeNeverAltersALiveClaim(uint64 newMinStake, uint16 newFeeBps)
        public
    {
        newMinStake = uint64(bound(newMinStake, 1, 100e6));
        newFeeBps = uint16(bound(newFeeBps, 0, escrow.MAX_FEE_BPS()));
        uint256 agentId = _registerAndStake(agentWallet, 100e6);
        uint256 slashed = _claimedRun(agentId);
        uint256 approved = _claimedRun(agentId);
        _submit(approved);
        _setMinStake(newMinStake);
        IRunEscrow.Parameters memory p = defaultEscrowParameters();
        p.feeBps = newFeeBps;
        vm.prank(owner);
        escrow.setParameters(p);
        assertEq(escrow.getRun(slashed).requiredStake, MIN_STAKE, "required stake kept");
        assertEq(escrow.getRun(approved).fee, FEE, "fee kept");

        vm.prank(poster);
        escrow.approve(approved);
        assertEq(escrow.accruedFees(), FEE, "fee at the run's rate");
        vm.warp(_claimEnd(slashed) + 1);
        Balances memory expected = _balances();
        expected.poster += MIN_STAKE;
        expected.vault -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(slashed, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(slashed);

        _assertStake(agentId, 100e6 - MIN_STAKE, 0, 0);
        _assertBalances(expected);
    }

    /// @dev Flaw 2, the two v1 cases: minimum raised to the agent's whole stake, and lowered to 1.
    function test_Regression_2_MinStakeRaisedOrLowered_SlashPaysTheReservation() public {
        uint256 agentId = _registerAndStake(agentWallet, 100e6);
        uint256 raised = _claimedRun(agentId);
        uint256 lowered = _claimedRun(agentId);
        _setMinStake(100e6);
        vm.warp(_claimEnd(raised) + 1);
        uint256 before = usdc.balanceOf(poster);
        vm.prank(poster);
        escrow.slash(raised);
        assertEq(usdc.balanceOf(poster), before + MIN_STAKE, "raised: only the reservation");
        _setMinStake(1);
        vm.prank(poster);
        escrow.slash(lowered);
        assertEq(usdc.balanceOf(poster), before + 2 * MIN_STAKE, "lowered: still the whole reservation");
        _assertStake(agentId, 100e6 - 2 * MIN_STAKE, 0, 0);
    }

    /// @dev Flaw 3: weeks after the review period the poster asked for a revision (restarting the
    /// timer) and then slashed. Now the poster can only approve past the review period, and anyone can
    /// approve on timeout.
    function test_Regression_3_LateRevisionRequestReverts_AnyoneApprovesOnTimeout() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        uint256 reviewEnd = _reviewEnd(runId);
        skip(REVIEW_PERIOD + 40 days);
        Balances memory expected = _balances();

        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowReviewPeriodOver.selector, runId, reviewEnd)
        );
        escrow.requestRevision(runId, "late");
        vm.prank(poster);
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.SUBMITTED));
        escrow.slash(runId);
        _assertBalances(expected);

        expected.agent += REWARD;
        expected.escrow -= REWARD;
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, 0, true);
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertEq(escrow.accruedFees(), FEE, "fee accrued");
        _assertStake(agentId, MIN_STAKE, 0, 0);
        assertEq(vault.getAgent(agentId).strikes, 0, "no strike");
        _assertBalances(expected);
    }

    /// @dev Flaw 3: `reject` worked 60 days late. Now it works to the last second of the review
    /// period and not one second later.
    function test_Regression_3_RejectBindsToTheReviewPeriod() public {
        uint256 agentId = _agent();
        uint256 runId = _exhaustedRun(agentId);
        uint256 reviewEnd = _reviewEnd(runId);
        Balances memory expected = _balances();

        vm.warp(reviewEnd + 60 days);
        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowReviewPeriodOver.selector, runId, reviewEnd)
        );
        escrow.reject(runId, REASON);
        vm.warp(reviewEnd + 1);
        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowReviewPeriodOver.selector, runId, reviewEnd)
        );
        escrow.reject(runId, REASON);
        _assertBalances(expected);

        vm.warp(reviewEnd);
        expected.poster -= BOND;
        expected.escrow += BOND;
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(runId, agentId, poster, REASON, BOND);
        vm.prank(poster);
        escrow.reject(runId, REASON);
        assertState(runId, IRunEscrow.RunState.REJECTED);
        _assertBalances(expected);
    }

    /// @dev Flaw 4: a rejection was free and final. Now it costs a bond that the agent wins with the
    /// dispute, on top of the reward.
    function test_Regression_4_RejectedAgentDisputesAndWinsRewardAndBond() public {
        uint256 agentId = _agent();
        uint256 runId = _exhaustedRun(agentId);
        Balances memory expected = _balances();

        vm.prank(poster);
        escrow.reject(runId, REASON);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Disputed(runId, agentId, arbitrator, EVIDENCE);
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
        expected.poster -= BOND;
        expected.agent += REWARD + BOND;
        expected.escrow -= REWARD;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.DisputeResolved(
            runId,
            agentId,
            arbitrator,
            IRunEscrow.Ruling({
                agentShareBps: 10_000,
                toAgent: REWARD,
                toTreasury: FEE,
                toPoster: 0,
                bond: BOND,
                stakeForfeited: 0,
                strike: false,
                byDefault: false
            })
        );
        _resolve(runId, 10_000, false);

        assertState(runId, IRunEscrow.RunState.RESOLVED);
        assertEq(escrow.accruedFees(), FEE, "fee accrued");
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.completions, 1, "a completion");
        assertEq(agent.disputesWon, 1, "dispute won");
        _assertStake(agentId, MIN_STAKE, 0, 0);
        _assertBalances(expected);
    }

    /// @dev Flaw 5: stake accepted before the escrow was bound could be taken by whatever got bound.
    /// Now nothing can be staked before the binding, so every staker sees the escrow it trusts.
    function test_Regression_5_NothingCanBeStakedBeforeTheEscrowIsBound() public {
        StakeVault fresh = new StakeVault(IUSDC(address(usdc)), owner, defaultVaultParameters());
        vm.startPrank(agentWallet);
        uint256 agentId = fresh.register("ipfs://agent");
        usdc.approve(address(fresh), type(uint256).max);
        vm.expectRevert(IStakeVault.StakeVaultEscrowNotSet.selector);
        fresh.stake(MIN_STAKE);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) =
            SigUtils.signPermit(IUSDC(address(usdc)), agentKey, address(fresh), MIN_STAKE, deadline);
        vm.expectRevert(IStakeVault.StakeVaultEscrowNotSet.selector);
        fresh.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
        vm.stopPrank();
        assertEq(usdc.balanceOf(address(fresh)), 0, "nothing staked");

        // Whatever gets bound is bound before the first stake, and once for all.
        MaliciousEscrow malicious = new MaliciousEscrow(fresh);
        vm.prank(owner);
        fresh.setRunEscrow(address(malicious));
        assertEq(fresh.runEscrow(), address(malicious), "binding visible before any stake");
        assertEq(malicious.steal(agentId, 0), 0, "nothing to take");
        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultEscrowAlreadySet.selector, address(malicious))
        );
        fresh.setRunEscrow(address(escrow));
    }

    /// @dev Flaw 6: a `submit` after the claim timeout front-ran the poster's slash with any URI.
    function test_Regression_6_LateSubmitCannotFrontRunTheSlash() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        uint256 claimEnd = _claimEnd(runId);
        vm.warp(claimEnd + 1);

        vm.prank(agentWallet);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimTimedOut.selector, runId, claimEnd));
        escrow.submit(runId, "x");
        Balances memory expected = _balances();
        expected.poster += MIN_STAKE;
        expected.vault -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);
        _assertBalances(expected);

        // At the last second of the claim timeout the submission is on time and cannot be slashed.
        uint256 other = _claimedRun(_registerAndStake(otherAgentWallet, MIN_STAKE));
        vm.warp(_claimEnd(other));
        vm.prank(otherAgentWallet);
        escrow.submit(other, DELIVERABLE);
        vm.prank(poster);
        vm.expectRevert(_invalidState(other, IRunEscrow.RunState.SUBMITTED));
        escrow.slash(other);
    }

    /// @dev Flaw 6: one live claim locked the whole stake. Now only its reservation is locked.
    function test_Regression_6_OneClaimLocksOnlyItsReservation() public {
        uint256 agentId = _registerAndStake(agentWallet, 100e6);
        uint256 runId = _claimedRun(agentId);

        vm.prank(agentWallet);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStakeVault.StakeVaultInsufficientFreeStake.selector, agentId, 80e6, 80e6 + 1
            )
        );
        vault.requestUnstake(80e6 + 1);
        vm.prank(agentWallet);
        vault.requestUnstake(80e6);
        _assertStake(agentId, MIN_STAKE, MIN_STAKE, 80e6);

        skip(COOLDOWN);
        Balances memory expected = _balances();
        expected.agent += 80e6;
        expected.vault -= 80e6;
        vm.prank(agentWallet);
        assertEq(vault.withdrawStake(), 80e6, "withdrawn during a live claim");
        _assertBalances(expected);

        // The reservation still backs the claim in full.
        vm.warp(_claimEnd(runId) + 1);
        expected.poster += MIN_STAKE;
        expected.vault -= MIN_STAKE;
        vm.prank(poster);
        escrow.slash(runId);
        _assertStake(agentId, 0, 0, 0);
        _assertBalances(expected);
    }

    /// @dev Flaw 6: pausing did not stop staking, and had to leave the timers alone. Now pause stops
    /// new business in both contracts (runs, funding, claims, stake) and nothing else.
    function test_Regression_6_PauseStopsNewBusinessOnly() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 live = _claimedRun(agentId);
        uint256 open = _openRun();
        uint256 draft = _draftRun();
        _pauseBoth();
        Balances memory expected = _balances();

        vm.startPrank(agentWallet);
        vm.expectRevert(IStakeVault.StakeVaultPaused.selector);
        vault.stake(MIN_STAKE);
        vm.expectRevert(_notClaimable(open, agentId, ClaimReasons.CLAIMS_PAUSED));
        escrow.claim(open, agentId);
        vm.stopPrank();
        vm.startPrank(poster);
        vm.expectRevert(IRunEscrow.RunEscrowPaused.selector);
        escrow.createRun(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0);
        vm.expectRevert(IRunEscrow.RunEscrowPaused.selector);
        escrow.createAndFund(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0);
        vm.expectRevert(IRunEscrow.RunEscrowPaused.selector);
        escrow.fund(draft);
        vm.stopPrank();
        _assertBalances(expected);

        // The live claim goes on to the end, and the free stake leaves.
        vm.warp(_claimEnd(live));
        vm.prank(agentWallet);
        escrow.submit(live, DELIVERABLE);
        vm.prank(poster);
        escrow.approve(live);
        vm.prank(agentWallet);
        vault.requestUnstake(2 * MIN_STAKE);
        skip(COOLDOWN);
        vm.prank(agentWallet);
        vault.withdrawStake();
        expected.agent += REWARD + 2 * MIN_STAKE;
        expected.escrow -= REWARD;
        expected.vault -= 2 * MIN_STAKE;
        _assertBalances(expected);
    }

    /// @dev Flaw 7: pendingUnstake wrapped in v1 (2^128 units lost). Now stake + pending is capped at
    /// 2^64 - 1 per agent, and all of it can be withdrawn.
    function test_Regression_7_PendingUnstakeCannotWrap() public {
        uint256 agentId = _register(agentWallet);
        uint256 max = type(uint64).max;
        _mint(agentWallet, max + 1);
        vm.startPrank(agentWallet);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultAmountTooLarge.selector, uint256(1) << 127, max)
        );
        vault.stake(uint256(1) << 127);
        vault.stake(max);
        vault.requestUnstake(max);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAmountTooLarge.selector, 1, 0));
        vault.stake(1);
        vm.stopPrank();
        _assertStake(agentId, 0, 0, max);

        skip(COOLDOWN);
        uint256 before = usdc.balanceOf(agentWallet);
        vm.prank(agentWallet);
        assertEq(vault.withdrawStake(), max, "all of it withdrawn");
        assertEq(usdc.balanceOf(agentWallet), before + max, "paid");
        _assertStake(agentId, 0, 0, 0);
    }

    /// @dev Flaw 7: a slashed agent that restaked and then dropped below the minimum was shown
    /// UNVERIFIED, as if never slashed. Now it is FROZEN.
    function test_Regression_7_SlashedAgentBelowMinimumIsFrozen() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        vm.warp(_claimEnd(runId) + 1);
        vm.prank(poster);
        escrow.slash(runId);
        vm.prank(agentWallet);
        vault.stake(MIN_STAKE);
        assertStatus(agentId, IStakeVault.AgentStatus.PROVISIONAL);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(
            agentId, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.FROZEN
        );
        vm.prank(agentWallet);
        vault.requestUnstake(MIN_STAKE);

        assertStatus(agentId, IStakeVault.AgentStatus.FROZEN);
        uint256 other = _openRun();
        (, uint256 reasons) = escrow.canClaim(other, agentId);
        assertEq(
            reasons,
            ClaimReasons.AGENT_FROZEN | ClaimReasons.INSUFFICIENT_STAKE
                | ClaimReasons.INSUFFICIENT_FREE_STAKE,
            "reasons"
        );
    }

    /// @dev Flaw 7: stakedSince was never reset, so an agent that left and came back was ESTABLISHED
    /// at once. Now it waits the established age again (its completions are kept).
    function test_Regression_7_AgentThatLeavesWaitsTheEstablishedAgeAgain() public {
        uint256 agentId = _agent();
        for (uint256 i; i < ESTABLISHED_COMPLETIONS; ++i) {
            uint256 runId = _submittedRun(agentId);
            vm.prank(poster);
            escrow.approve(runId);
        }
        vm.prank(agentWallet);
        vault.requestUnstake(MIN_STAKE);
        assertEq(vault.getAgent(agentId).stakedSince, 0, "reset on leaving");
        skip(100 days);
        vm.prank(agentWallet);
        vault.stake(MIN_STAKE);
        uint256 returnedAt = block.timestamp;

        assertEq(vault.getAgent(agentId).stakedSince, returnedAt, "counts from the return");
        assertEq(vault.getAgent(agentId).completions, ESTABLISHED_COMPLETIONS, "completions kept");
        assertStatus(agentId, IStakeVault.AgentStatus.PROVISIONAL);
        vm.warp(returnedAt + ESTABLISHED_AGE - 1);
        assertStatus(agentId, IStakeVault.AgentStatus.PROVISIONAL);
        vm.warp(returnedAt + ESTABLISHED_AGE);
        assertStatus(agentId, IStakeVault.AgentStatus.ESTABLISHED);
    }

    /// @dev Flaw 7: rewards below 20 base units paid no fee, so a sybil pair farmed completions for
    /// gas. Now a completion needs a reward of at least 1 USDC, whose fee the pair must pay.
    function test_Regression_7_SybilPairCannotFarmCompletionsForFree() public {
        uint256 agentId = _agent();
        address sybilPoster = stranger;
        uint256 pairStart = usdc.balanceOf(agentWallet) + usdc.balanceOf(sybilPoster);
        uint256[2] memory rewards = [uint256(19), 1e6 - 1];
        for (uint256 j; j < 2; ++j) {
            for (uint256 i; i < ESTABLISHED_COMPLETIONS; ++i) {
                uint256 runId = _openRunBy(sybilPoster, rewards[j], 0);
                _claim(runId, agentId);
                _submit(runId);
                vm.prank(sybilPoster);
                escrow.approve(runId);
            }
        }
        skip(ESTABLISHED_AGE);
        assertEq(vault.getAgent(agentId).completions, 0, "no completion below 1 USDC");
        assertStatus(agentId, IStakeVault.AgentStatus.PROVISIONAL);
        uint256 feesBelow = 5 * ((1e6 - 1) * uint256(FEE_BPS) / 10_000);

        for (uint256 i; i < ESTABLISHED_COMPLETIONS; ++i) {
            uint256 runId = _openRunBy(sybilPoster, 1e6, 0);
            _claim(runId, agentId);
            _submit(runId);
            vm.prank(sybilPoster);
            escrow.approve(runId);
        }
        assertStatus(agentId, IStakeVault.AgentStatus.ESTABLISHED);
        uint256 paid = feesBelow + 5 * (1e6 * uint256(FEE_BPS) / 10_000);
        assertEq(escrow.accruedFees(), paid, "the pair paid every fee");
        assertEq(
            usdc.balanceOf(agentWallet) + usdc.balanceOf(sybilPoster), pairStart - paid, "farming costs fees"
        );
    }

    function testFuzz_Regression_7_CompletionCountsOnlyFromOneUsdc(uint256 reward) public {
        reward = bound(reward, 1, 10e6);
        uint256 agentId = _agent();
        uint256 runId = _openRunBy(poster, reward, 0);
        _claim(runId, agentId);
        _submit(runId);
        vm.prank(poster);
        escrow.approve(runId);
        assertEq(vault.getAgent(agentId).completions, reward >= 1e6 ? 1 : 0, "completion");
        assertEq(vault.getAgent(agentId).volume, reward, "volume counts every reward");
    }
}

/*//////////////////////////////////////////////////////////////
                 DISPUTES: FAIR TO BOTH SIDES (SPEC §2.3)
//////////////////////////////////////////////////////////////*/

/// @notice Design review of the rejection bond, the dispute and the 50/50 default: who gains what
/// from each move, and that no move is a free option for either side.
contract DisputeFairnessTest is AttackBase {
    uint256 internal agentId;

    /// @dev What the poster and the agent end up with, counted from before the run was claimed.
    struct Payoff {
        int256 poster;
        int256 agent;
        int256 agentStake;
        uint256 treasury;
        uint32 completions;
        uint16 strikes;
    }

    function setUp() public override {
        super.setUp();
        agentId = _agent();
    }

    function _payoff(Balances memory start) internal view returns (Payoff memory p) {
        Balances memory b = _balances();
        p.poster = int256(b.poster) - int256(start.poster);
        p.agent = int256(b.agent) - int256(start.agent);
        p.agentStake = int256(vault.getAgent(agentId).stake) - int256(uint256(MIN_STAKE));
        p.treasury = escrow.accruedFees();
        p.completions = vault.getAgent(agentId).completions;
        p.strikes = vault.getAgent(agentId).strikes;
    }

    /// @dev The poster rejects good work; the arbitrator rules for the agent. Compared with
    /// approving, the rejection cost the poster exactly its bond, which the agent gets.
    function test_Dispute_RejectingGoodWorkCostsThePosterItsBond() public {
        Balances memory start = _balances();
        uint256 beforeRun = vm.snapshotState();
        uint256 runId = _disputedRun(agentId);
        _resolve(runId, 10_000, false);
        Payoff memory ruled = _payoff(start);

        vm.revertToState(beforeRun);
        uint256 approvedRun = _submittedRun(agentId);
        vm.prank(poster);
        escrow.approve(approvedRun);
        Payoff memory approved = _payoff(start);

        assertEq(approved.poster, -int256(TOTAL), "approving costs reward + fee");
        assertEq(ruled.poster, -int256(TOTAL + BOND), "rejecting good work: reward + fee + bond");
        assertEq(ruled.agent - approved.agent, int256(BOND), "the agent gets the poster's bond on top");
        assertEq(ruled.agentStake, 0, "stake kept");
        assertEq(ruled.completions, 1, "counts as a completion");
    }

    /// @dev Junk work, a rejection and a dispute anyway: a ruling below 50% pays the agent its share
    /// but gives the poster the agent's reservation and the bond back.
    function testFuzz_Dispute_JunkPlusDisputeCostsTheAgentItsReservation(uint256 bps) public {
        bps = bound(bps, 0, 4999);
        uint256 runId = _disputedRun(agentId);
        Balances memory expected = _balances();
        uint256 toAgent = REWARD * bps / 10_000;
        uint256 toTreasury = FEE * bps / 10_000;
        uint256 toPoster = TOTAL - toAgent - toTreasury;
        expected.agent += toAgent;
        expected.poster += toPoster + BOND + MIN_STAKE;
        expected.escrow -= toAgent + toPoster + BOND;
        expected.vault -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(agentId, runId, MIN_STAKE, IStakeVault.Outcome.DISPUTE_LOST, 0, 0);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.DisputeResolved(
            runId,
            agentId,
            arbitrator,
            IRunEscrow.Ruling({
                agentShareBps: uint16(bps),
                toAgent: toAgent,
                toTreasury: toTreasury,
                toPoster: toPoster,
                bond: BOND,
                stakeForfeited: MIN_STAKE,
                strike: false,
                byDefault: false
            })
        );
        _resolve(runId, bps, false);

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.disputesLost, 1, "dispute lost");
        assertEq(agent.completions, 0, "no completion");
        assertEq(agent.strikes, 0, "no strike without one");
        assertEq(escrow.accruedFees(), toTreasury, "treasury share");
        _assertStake(agentId, 0, 0, 0);
        _assertBalances(expected);
    }

    /// @dev The arbitrator may add a strike only with a share of 0: the agent is frozen too.
    function test_Dispute_StruckRulingFreezesTheAgent() public {
        uint256 runId = _disputedRun(agentId);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(
            agentId, runId, MIN_STAKE, IStakeVault.Outcome.DISPUTE_LOST_STRUCK, 0, 1
        );
        _resolve(runId, 0, true);
        assertEq(vault.getAgent(agentId).strikes, 1, "strike");
        assertStatus(agentId, IStakeVault.AgentStatus.FROZEN);
    }

    /// @dev A silent arbitrator: the default splits reward and fee 50/50, gives the poster its bond
    /// back and releases the reservation, with no completion and no strike. Each side gets strictly
    /// less than a ruling in its favour would give and strictly more than a ruling against it: the
    /// arbitrator's silence is a prize for neither side. Against accepting the rejection, though, the
    /// default pays the agent half the reward and costs the poster half of reward + fee (see report).
    function test_Dispute_SilentArbitratorDefaultIsAPrizeForNeitherSide() public {
        Balances memory start = _balances();
        uint256 runId = _rejectedRun(agentId);
        uint256 atRejection = vm.snapshotState();
        vm.prank(agentWallet);
        escrow.acceptRejection(runId);
        Payoff memory accepted = _payoff(start);

        vm.revertToState(atRejection);
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
        uint256 atDispute = vm.snapshotState();
        _resolve(runId, 10_000, false);
        Payoff memory agentWins = _payoff(start);
        vm.revertToState(atDispute);
        _resolve(runId, 0, false);
        Payoff memory posterWins = _payoff(start);
        vm.revertToState(atDispute);

        vm.warp(_rulingEnd(runId) + 1);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.DisputeResolved(
            runId,
            agentId,
            arbitrator,
            IRunEscrow.Ruling({
                agentShareBps: 5000,
                toAgent: REWARD / 2,
                toTreasury: FEE / 2,
                toPoster: TOTAL - REWARD / 2 - FEE / 2,
                bond: BOND,
                stakeForfeited: 0,
                strike: false,
                byDefault: true
            })
        );
        vm.prank(stranger);
        escrow.settleDispute(runId);
        Payoff memory silent = _payoff(start);

        assertEq(silent.agent, int256(REWARD / 2), "default: half the reward");
        assertEq(silent.poster, -int256(REWARD / 2 + FEE / 2), "default: half of reward + fee, bond back");
        assertEq(silent.agentStake, 0, "default: stake returned");
        assertEq(silent.completions, 0, "default: no completion");
        assertEq(silent.strikes, 0, "default: no strike");
        assertLt(silent.agent, agentWins.agent, "agent: silence < winning");
        assertGt(
            silent.agent + silent.agentStake, posterWins.agent + posterWins.agentStake, "agent: > losing"
        );
        assertLt(silent.poster, posterWins.poster, "poster: silence < winning");
        assertGt(silent.poster, agentWins.poster, "poster: silence > losing");

        assertEq(accepted.agent, 0, "accept: nothing for the agent");
        assertEq(accepted.poster, 0, "accept: the poster is refunded in full, bond included");
        assertEq(accepted.agentStake, 0, "accept: stake returned");
        assertEq(
            silent.agent - accepted.agent, int256(REWARD / 2), "agent gains half the reward by disputing"
        );
        assertEq(
            accepted.poster - silent.poster, int256(REWARD / 2 + FEE / 2), "poster loses half of reward + fee"
        );
    }

    /// @dev The poster can concede a dispute by approving before the ruling, but conceding loses
    /// the bond to the agent: front-running a winning ruling with `approve` saves the poster nothing,
    /// so rejecting good work is never a free option.
    function test_Dispute_PosterConcedingBeforeTheRulingLosesItsBond() public {
        uint256 runId = _disputedRun(agentId);
        Balances memory expected = _balances();
        expected.agent += REWARD + BOND;
        expected.escrow -= REWARD + BOND;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, BOND, false);
        vm.prank(poster);
        escrow.approve(runId);
        vm.prank(arbitrator);
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.APPROVED));
        escrow.resolve(runId, 10_000, false);

        _assertStake(agentId, MIN_STAKE, 0, 0);
        _assertBalances(expected);
    }

    /// @dev Sum check over every ruling: reward + fee + bond + reservation are paid out exactly, to
    /// the three parties, and nothing else moves.
    function testFuzz_Resolve_PaysOutExactlyTheRunsMoney(uint256 bps, bool strike) public {
        bps = bound(bps, 0, 10_000);
        if (bps != 0) strike = false;
        uint256 runId = _disputedRun(agentId);
        Balances memory before = _balances();
        _resolve(runId, bps, strike);
        Balances memory after_ = _balances();

        uint256 paidIn = TOTAL + BOND + (bps < 5000 ? MIN_STAKE : 0);
        assertEq(
            (after_.poster - before.poster) + (after_.agent - before.agent) + escrow.accruedFees(),
            paidIn,
            "everything paid out"
        );
        assertEq(
            before.escrow - after_.escrow + escrow.accruedFees(), TOTAL + BOND, "escrow gives the run's money"
        );
        assertEq(
            before.vault - after_.vault, bps < 5000 ? MIN_STAKE : 0, "vault gives at most the reservation"
        );
        assertEq(after_.escrow, escrow.accruedFees(), "escrow keeps only the fee share");
    }
}

/*//////////////////////////////////////////////////////////////
                     A HOSTILE OR SILENT ARBITRATOR
//////////////////////////////////////////////////////////////*/

/// @notice The arbitrator is trusted with each disputed run's reward + fee + bond + reservation and
/// nothing more; a reverting or silent one blocks nothing, since the escrow never calls it.
contract HostileArbitratorTest is AttackBase {
    HostileArbitrator internal hostile;
    address internal controller;
    uint256 internal agentId;

    function setUp() public override {
        super.setUp();
        controller = makeAddr("controller");
        hostile = new HostileArbitrator(escrow, controller);
        agentId = _registerAndStake(agentWallet, 10 * MIN_STAKE);
    }

    function _rule(uint256 runId, uint256 bps, bool strike) internal {
        vm.prank(controller);
        hostile.rule(runId, bps, strike);
    }

    function test_RevertWhen_ArbitratorRulesOnARunNotDisputed() public {
        _setArbitrator(address(hostile));
        uint256 draft = _draftRun();
        uint256 open = _openRun();
        uint256 claimed = _claimedRun(agentId);
        uint256 submitted = _submittedRun(agentId);
        uint256 rejected = _rejectedRun(agentId);
        uint256 approved = _submittedRun(agentId);
        vm.prank(poster);
        escrow.approve(approved);
        uint256[6] memory runs = [draft, open, claimed, submitted, rejected, approved];
        IRunEscrow.RunState[6] memory states = [
            IRunEscrow.RunState.DRAFT,
            IRunEscrow.RunState.OPEN,
            IRunEscrow.RunState.CLAIMED,
            IRunEscrow.RunState.SUBMITTED,
            IRunEscrow.RunState.REJECTED,
            IRunEscrow.RunState.APPROVED
        ];
        Balances memory expected = _balances();

        for (uint256 i; i < runs.length; ++i) {
            vm.prank(controller);
            vm.expectRevert(_invalidState(runs[i], states[i]));
            hostile.rule(runs[i], 10_000, false);
        }
        vm.prank(controller);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowRunNotFound.selector, 999));
        hostile.rule(999, 10_000, false);
        _assertBalances(expected);
    }

    function test_RevertWhen_ArbitratorRulesTwice() public {
        _setArbitrator(address(hostile));
        uint256 runId = _disputedRun(agentId);
        _rule(runId, 10_000, false);
        Balances memory expected = _balances();

        vm.prank(controller);
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.RESOLVED));
        hostile.rule(runId, 0, true);

        assertEq(vault.getAgent(agentId).strikes, 0, "no strike");
        _assertBalances(expected);
    }

    function test_RevertWhen_ArbitratorRulesAfterTheRulingPeriod() public {
        _setArbitrator(address(hostile));
        uint256 runId = _disputedRun(agentId);
        uint256 rulingEnd = _rulingEnd(runId);
        uint256 atDispute = vm.snapshotState();
        vm.warp(rulingEnd + 1);
        Balances memory expected = _balances();

        vm.prank(controller);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowRulingPeriodOver.selector, runId, rulingEnd)
        );
        hostile.rule(runId, 0, true);
        _assertBalances(expected);

        // The last second of the ruling period is still within it.
        vm.revertToState(atDispute);
        vm.warp(rulingEnd);
        _rule(runId, 0, true);
        assertState(runId, IRunEscrow.RunState.RESOLVED);
    }

    function test_RevertWhen_ArbitratorRulingIsOutOfRange() public {
        _setArbitrator(address(hostile));
        uint256 runId = _disputedRun(agentId);
        vm.startPrank(controller);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidRuling.selector, 10_001, false));
        hostile.rule(runId, 10_001, false);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidRuling.selector, 1, true));
        hostile.rule(runId, 1, true);
        vm.stopPrank();
        assertState(runId, IRunEscrow.RunState.DISPUTED);
    }

    /// @dev An owner change of arbitrator reaches no live run: the old arbitrator keeps ruling the runs
    /// created under it, the new one cannot touch them, and neither can rule the other's runs.
    function test_RevertWhen_ArbitratorRulesARunOfAnotherArbitrator() public {
        uint256 oldRun = _disputedRun(agentId);
        _setArbitrator(address(hostile));
        uint256 newRun = _disputedRun(agentId);
        assertEq(escrow.getRun(oldRun).terms.arbitrator, arbitrator, "old run keeps its arbitrator");
        Balances memory expected = _balances();

        vm.prank(controller);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowNotArbitrator.selector, oldRun, address(hostile))
        );
        hostile.rule(oldRun, 10_000, false);
        vm.prank(arbitrator);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowNotArbitrator.selector, newRun, arbitrator)
        );
        escrow.resolve(newRun, 10_000, false);
        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotArbitrator.selector, oldRun, owner));
        escrow.resolve(oldRun, 10_000, false);
        _assertBalances(expected);

        _resolve(oldRun, 10_000, false);
        _rule(newRun, 10_000, false);
        assertState(oldRun, IRunEscrow.RunState.RESOLVED);
        assertState(newRun, IRunEscrow.RunState.RESOLVED);
    }

    /// @dev Whatever it rules, the arbitrator moves only the disputed run's money: the other runs'
    /// escrow, the agent's other reservations and every other agent's stake stay put.
    function testFuzz_Arbitrator_MovesAtMostTheDisputedRunsMoney(uint256 bps, bool strike) public {
        bps = bound(bps, 0, 10_000);
        if (bps != 0) strike = false;
        _setArbitrator(address(hostile));
        uint256 otherAgent = _registerAndStake(otherAgentWallet, 2 * MIN_STAKE);
        _openRun();
        _claimedRun(agentId);
        _claimedRun(otherAgent);
        uint256 runId = _disputedRun(agentId);
        _disputedRun(otherAgent);
        uint256 escrowBefore = usdc.balanceOf(address(escrow));
        uint256 vaultBefore = usdc.balanceOf(address(vault));
        uint256 posterBefore = usdc.balanceOf(poster);
        uint256 agentBefore = usdc.balanceOf(agentWallet);

        _rule(runId, bps, strike);

        uint256 forfeited = bps < 5000 ? MIN_STAKE : 0;
        uint256 toTreasury = FEE * bps / 10_000;
        assertEq(
            escrowBefore - usdc.balanceOf(address(escrow)),
            TOTAL + BOND - toTreasury,
            "only this run's escrow"
        );
        assertEq(escrow.accruedFees(), toTreasury, "fee share accrued");
        assertEq(vaultBefore - usdc.balanceOf(address(vault)), forfeited, "only this run's reservation");
        assertEq(
            usdc.balanceOf(poster) - posterBefore + usdc.balanceOf(agentWallet) - agentBefore,
            TOTAL + BOND + forfeited - toTreasury,
            "paid to the run's two parties"
        );
        _assertStake(agentId, 10 * MIN_STAKE - forfeited, MIN_STAKE, 0);
        _assertStake(otherAgent, 2 * MIN_STAKE, 2 * MIN_STAKE, 0);
        assertEq(usdc.balanceOf(address(hostile)), 0, "nothing for the arbitrator");
    }

    /// @dev A reverting arbitrator (every call to it reverts) that never rules: every step of the
    /// dispute and the default work, and the escrow never calls it.
    function test_SilentRevertingArbitrator_BlocksNothing() public {
        _setArbitrator(address(hostile));
        vm.expectCall(address(hostile), "", 0);
        uint256 runId = _rejectedRun(agentId);
        vm.prank(agentWallet);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Disputed(runId, agentId, address(hostile), EVIDENCE);
        escrow.dispute(runId, EVIDENCE);
        vm.prank(poster);
        escrow.submitEvidence(runId, EVIDENCE);
        vm.prank(agentWallet);
        escrow.submitEvidence(runId, EVIDENCE);
        vm.warp(_rulingEnd(runId));
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowRulingPeriodOpen.selector, runId, _rulingEnd(runId))
        );
        escrow.settleDispute(runId);
        skip(1);
        Balances memory expected = _balances();
        expected.agent += REWARD / 2;
        expected.poster += TOTAL - REWARD / 2 - FEE / 2 + BOND;
        expected.escrow -= TOTAL + BOND - FEE / 2;

        vm.prank(stranger);
        escrow.settleDispute(runId);

        assertState(runId, IRunEscrow.RunState.RESOLVED);
        assertTrue(escrow.getRun(runId).settled, "settled");
        _assertStake(agentId, 10 * MIN_STAKE, 0, 0);
        _assertBalances(expected);
        _sweepFees();
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
    }
}

/*//////////////////////////////////////////////////////////////
        THE POSTER CANNOT KEEP BOTH THE DELIVERABLE AND THE STAKE
//////////////////////////////////////////////////////////////*/

/// @notice Once the agent submitted on time, no sequence of the poster's (late revision, late
/// rejection, slash, cancel, expire, ...) takes the agent's stake; only an arbitrator's ruling on a
/// dispute the agent opened can.
contract DeliverableAndStakeTest is AttackBase {
    uint256 internal agentId;

    function setUp() public override {
        super.setUp();
        agentId = _agent();
    }

    /// @dev Every poster exit on a run submitted on time, at the last second of the review period and
    /// long after it: each reverts, except approving.
    function test_RevertWhen_PosterTakesTheStakeOfAnOnTimeSubmission() public {
        uint256 runId = _submittedRun(agentId);
        uint256 reviewEnd = _reviewEnd(runId);
        uint256[2] memory times = [reviewEnd + 1, reviewEnd + 300 days];
        Balances memory expected = _balances();

        for (uint256 i; i < times.length; ++i) {
            vm.warp(times[i]);
            vm.startPrank(poster);
            vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.SUBMITTED));
            escrow.slash(runId);
            vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.SUBMITTED));
            escrow.cancel(runId);
            vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.SUBMITTED));
            escrow.expire(runId);
            vm.expectRevert(
                abi.encodeWithSelector(IRunEscrow.RunEscrowReviewPeriodOver.selector, runId, reviewEnd)
            );
            escrow.requestRevision(runId, "late");
            vm.expectRevert(
                abi.encodeWithSelector(IRunEscrow.RunEscrowReviewPeriodOver.selector, runId, reviewEnd)
            );
            escrow.reject(runId, REASON);
            vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.SUBMITTED));
            escrow.finalizeRejection(runId);
            vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.SUBMITTED));
            escrow.settleDispute(runId);
            vm.stopPrank();
        }
        _assertStake(agentId, MIN_STAKE, MIN_STAKE, 0);
        _assertBalances(expected);
    }

    /// @dev A claimed run cannot be cancelled or expired away under the agent, even past the deadline.
    function test_RevertWhen_PosterCancelsOrExpiresAClaimedRun() public {
        uint256 runId = _claimedRun(agentId);
        vm.warp(escrow.getRun(runId).deadline + 1);
        Balances memory expected = _balances();
        vm.startPrank(poster);
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.CLAIMED));
        escrow.cancel(runId);
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.CLAIMED));
        escrow.expire(runId);
        vm.stopPrank();
        _assertBalances(expected);
    }

    /// @dev A revision requested at the last second of the review period gives the agent a whole claim
    /// timeout; a resubmission at its last second cannot be slashed.
    function test_RevertWhen_PosterSlashesAfterALastSecondRevision() public {
        uint256 runId = _submittedRun(agentId);
        vm.warp(_reviewEnd(runId));
        vm.prank(poster);
        escrow.requestRevision(runId, "more");
        uint256 claimEnd = _claimEnd(runId);
        vm.warp(claimEnd);
        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, claimEnd)
        );
        escrow.slash(runId);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        skip(365 days);
        vm.prank(poster);
        vm.expectRevert(_invalidState(runId, IRunEscrow.RunState.SUBMITTED));
        escrow.slash(runId);
        _assertStake(agentId, MIN_STAKE, MIN_STAKE, 0);
    }

    /// @dev Every way a rejection can end without a ruling below 50% gives the stake back.
    function test_Reject_EveryEndingWithoutALosingRulingReturnsTheStake() public {
        uint256 runId = _rejectedRun(agentId);
        uint256 atRejection = vm.snapshotState();

        // 1. The agent stays silent: anyone finalizes after the window.
        vm.warp(_windowEnd(runId) + 1);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RejectionFinalized(runId, agentId, poster, TOTAL + BOND, false);
        vm.prank(stranger);
        escrow.finalizeRejection(runId);
        _assertStake(agentId, MIN_STAKE, 0, 0);
        assertEq(vault.getAgent(agentId).rejections, 1, "a rejection on record");

        // 2. The agent accepts.
        vm.revertToState(atRejection);
        vm.prank(agentWallet);
        escrow.acceptRejection(runId);
        _assertStake(agentId, MIN_STAKE, 0, 0);

        // 3. The agent disputes; the arbitrator is silent.
        vm.revertToState(atRejection);
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
        uint256 atDispute = vm.snapshotState();
        vm.warp(_rulingEnd(runId) + 1);
        vm.prank(stranger);
        escrow.settleDispute(runId);
        _assertStake(agentId, MIN_STAKE, 0, 0);

        // 4. The agent disputes; the poster approves after all.
        vm.revertToState(atDispute);
        vm.prank(poster);
        escrow.approve(runId);
        _assertStake(agentId, MIN_STAKE, 0, 0);

        // 5. The agent disputes; the arbitrator gives it exactly half.
        vm.revertToState(atDispute);
        _resolve(runId, 5000, false);
        _assertStake(agentId, MIN_STAKE, 0, 0);
        assertEq(vault.getAgent(agentId).strikes, 0, "never a strike");
    }

    /// @dev Property: an agent that answers every revision at once is never struck and never loses
    /// stake, whatever the poster (and strangers) try, in any order, at any time.
    function testFuzz_OnTimeAgentNeverLosesStake(uint256[8] memory moves, uint256[8] memory delays) public {
        uint256 runId = _submittedRun(agentId);
        for (uint256 i; i < moves.length; ++i) {
            skip(bound(delays[i], 0, 2 * REVIEW_PERIOD));
            uint256 move = moves[i] % 7;
            address caller = moves[i] % 2 == 0 ? poster : stranger;
            bytes memory data;
            if (move == 0) data = abi.encodeCall(IRunEscrow.requestRevision, (runId, "more"));
            else if (move == 1) data = abi.encodeCall(IRunEscrow.reject, (runId, REASON));
            else if (move == 2) data = abi.encodeCall(IRunEscrow.slash, (runId));
            else if (move == 3) data = abi.encodeCall(IRunEscrow.cancel, (runId));
            else if (move == 4) data = abi.encodeCall(IRunEscrow.expire, (runId));
            else if (move == 5) data = abi.encodeCall(IRunEscrow.finalizeRejection, (runId));
            else data = abi.encodeCall(IRunEscrow.approveOnTimeout, (runId));
            vm.prank(caller);
            (bool ok,) = address(escrow).call(data);
            // The agent answers every revision request in the same block.
            if (ok && _state(runId) == IRunEscrow.RunState.REVISION_REQUESTED) {
                vm.prank(agentWallet);
                escrow.submit(runId, DELIVERABLE);
            }
        }
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.stake, MIN_STAKE, "stake intact");
        assertEq(agent.strikes, 0, "never struck");
        assertTrue(_state(runId) != IRunEscrow.RunState.OPEN, "never reopened");
        assertTrue(_state(runId) != IRunEscrow.RunState.EXPIRED, "never expired");
    }
}

/*//////////////////////////////////////////////////////////////
                REENTRANCY THROUGH A MALICIOUS TOKEN
//////////////////////////////////////////////////////////////*/

/// @notice The token calls back into the escrow or the vault in the middle of every token-moving
/// function. The poster, the agent and the arbitrator are contracts ({ContractParty}), so the
/// reentrant call comes from a genuine party of the run and only the reentrancy guard (or
/// checks-effects-interactions) stands in its way. Functions that need a signature are driven by
/// EOAs and re-entered from the token itself.
contract ReentrancyAttackTest is AttackBase {
    ReentrantUSDC internal token;
    ContractParty internal posterParty;
    ContractParty internal agentParty;
    ContractParty internal arbitratorParty;
    /// @dev The fixture's EOAs, kept for the signature-based variants.
    address internal signer;
    uint256 internal signerKey;
    address internal agentSigner;
    uint256 internal agentSignerKey;

    function _deployToken() internal override returns (MockUSDC) {
        return new ReentrantUSDC(owner);
    }

    function setUp() public override {
        super.setUp();
        token = ReentrantUSDC(address(usdc));
        (signer, signerKey) = (poster, posterKey);
        (agentSigner, agentSignerKey) = (agentWallet, agentKey);
        posterParty = new ContractParty();
        agentParty = new ContractParty();
        arbitratorParty = new ContractParty();
        poster = address(posterParty);
        agentWallet = address(agentParty);
        address[2] memory parties = [poster, agentWallet];
        for (uint256 i; i < parties.length; ++i) {
            _mint(parties[i], FUNDING);
            vm.startPrank(parties[i]);
            usdc.approve(address(escrow), type(uint256).max);
            usdc.approve(address(vault), type(uint256).max);
            vm.stopPrank();
        }
        arbitrator = address(arbitratorParty);
        _setArbitrator(arbitrator);
    }

    function _guardError() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
    }

    /// @dev On the next transfer, `party` calls `target` with `data`.
    function _reenter(ContractParty party, address target, bytes memory data) internal {
        token.arm(address(party), abi.encodeCall(ContractParty.act, (target, data)));
    }

    /// @dev As {_reenter}, on the second transfer of the next call (the first re-arms the token).
    function _reenterOnSecondTransfer(ContractParty party, address target, bytes memory data) internal {
        bytes memory act = abi.encodeCall(ContractParty.act, (target, data));
        token.arm(address(token), abi.encodeCall(ReentrantUSDC.arm, (address(party), act)));
    }

    function _assertReentry(bytes memory expected) internal view {
        assertTrue(token.reentered(), "reentrant call made");
        assertTrue(token.lastReentryReverted(), "reentrant call reverted");
        assertEq(token.lastReentryData(), expected, "reentrant call revert data");
    }

    function _assertGuarded() internal view {
        _assertReentry(_guardError());
    }

    function _emptyPermit() internal pure returns (IRunEscrow.Permit memory permit) {}

    function _emptyAuthorization() internal pure returns (IRunEscrow.Authorization memory auth) {}

    function _signerDraft() internal returns (uint256 runId) {
        vm.prank(signer);
        runId = escrow.createRun(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0);
    }

    /*----------------------------- RunEscrow -----------------------------*/

    function test_Fund_ReentryIntoFundReverts() public {
        uint256 runId = _draftRun();
        _reenter(posterParty, address(escrow), abi.encodeCall(IRunEscrow.fund, (runId)));
        Balances memory expected = _balances();
        expected.poster -= TOTAL;
        expected.escrow += TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(runId, poster, TOTAL);
        vm.prank(poster);
        escrow.fund(runId);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(expected);
    }

    function test_FundWithPermit_ReentryIntoFundWithPermitReverts() public {
        uint256 runId = _signerDraft();
        IRunEscrow.Permit memory permit = SigUtils.runEscrowPermit(
            IUSDC(address(usdc)), signerKey, address(escrow), TOTAL, block.timestamp + 1 hours
        );
        token.arm(address(escrow), abi.encodeCall(IRunEscrow.fundWithPermit, (runId, permit)));
        uint256 signerBefore = usdc.balanceOf(signer);

        vm.prank(signer);
        escrow.fundWithPermit(runId, permit);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(usdc.balanceOf(signer), signerBefore - TOTAL, "paid once");
        assertEq(usdc.balanceOf(address(escrow)), TOTAL, "escrowed once");
    }

    function test_FundWithAuthorization_ReentryIntoFundWithAuthorizationReverts() public {
        uint256 runId = _signerDraft();
        IRunEscrow.Authorization memory auth = SigUtils.runEscrowAuthorization(
            IUSDC(address(usdc)),
            signerKey,
            address(escrow),
            TOTAL,
            0,
            block.timestamp + 1 hours,
            keccak256("n")
        );
        token.arm(address(escrow), abi.encodeCall(IRunEscrow.fundWithAuthorization, (runId, auth)));
        uint256 signerBefore = usdc.balanceOf(signer);

        vm.prank(signer);
        escrow.fundWithAuthorization(runId, auth);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(usdc.balanceOf(signer), signerBefore - TOTAL, "paid once");
        assertEq(usdc.balanceOf(address(escrow)), TOTAL, "escrowed once");
    }

    /// @dev The reentrant call tries to cancel (and be refunded for) the run before its money arrived.
    function test_CreateAndFund_ReentryIntoCancelReverts() public {
        uint256 runId = escrow.runCount() + 1;
        _reenter(posterParty, address(escrow), abi.encodeCall(IRunEscrow.cancel, (runId)));
        Balances memory expected = _balances();
        expected.poster -= TOTAL;
        expected.escrow += TOTAL;

        vm.prank(poster);
        escrow.createAndFund(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(expected);
    }

    function test_CreateAndFundWithPermit_ReentryIntoCancelReverts() public {
        uint256 runId = escrow.runCount() + 1;
        IRunEscrow.Permit memory permit = SigUtils.runEscrowPermit(
            IUSDC(address(usdc)), signerKey, address(escrow), TOTAL, block.timestamp + 1 hours
        );
        token.arm(address(escrow), abi.encodeCall(IRunEscrow.cancel, (runId)));

        vm.prank(signer);
        escrow.createAndFundWithPermit(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0, permit);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(usdc.balanceOf(address(escrow)), TOTAL, "escrowed once");
    }

    function test_CreateAndFundWithAuthorization_ReentryIntoCancelReverts() public {
        uint256 runId = escrow.runCount() + 1;
        IRunEscrow.Authorization memory auth = SigUtils.runEscrowAuthorization(
            IUSDC(address(usdc)),
            signerKey,
            address(escrow),
            TOTAL,
            0,
            block.timestamp + 1 hours,
            keccak256("n")
        );
        token.arm(address(escrow), abi.encodeCall(IRunEscrow.cancel, (runId)));

        vm.prank(signer);
        escrow.createAndFundWithAuthorization(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0, auth);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(usdc.balanceOf(address(escrow)), TOTAL, "escrowed once");
    }

    function test_Cancel_ReentryIntoCancelReverts() public {
        uint256 runId = _openRun();
        _reenter(posterParty, address(escrow), abi.encodeCall(IRunEscrow.cancel, (runId)));
        Balances memory expected = _balances();
        expected.poster += TOTAL;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, TOTAL);
        vm.prank(poster);
        escrow.cancel(runId);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.CANCELLED);
        _assertBalances(expected);
    }

    function test_Approve_ReentryIntoApproveReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        _reenter(posterParty, address(escrow), abi.encodeCall(IRunEscrow.approve, (runId)));
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.escrow -= REWARD;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, 0, false);
        vm.prank(poster);
        escrow.approve(runId);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertEq(escrow.accruedFees(), FEE, "fee accrued once");
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.completions, 1, "one completion");
        assertEq(agent.volume, REWARD, "volume counted once");
        _assertStake(agentId, MIN_STAKE, 0, 0);
        _assertBalances(expected);
    }

    /// @dev While the bond is being pulled, the poster tries to approve and be paid the bond back
    /// before it arrived.
    function test_Reject_ReentryIntoApproveReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _exhaustedRun(agentId);
        _reenter(posterParty, address(escrow), abi.encodeCall(IRunEscrow.approve, (runId)));
        Balances memory expected = _balances();
        expected.poster -= BOND;
        expected.escrow += BOND;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(runId, agentId, poster, REASON, BOND);
        vm.prank(poster);
        escrow.reject(runId, REASON);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.REJECTED);
        _assertBalances(expected);
    }

    function test_RejectWithPermit_ReentryIntoApproveReverts() public {
        uint256 agentId = _agent();
        vm.prank(signer);
        uint256 runId = escrow.createAndFund(SPEC, REWARD, defaultDeadline(), 0, 0, 0);
        _claim(runId, agentId);
        _submit(runId);
        IRunEscrow.Permit memory permit = SigUtils.runEscrowPermit(
            IUSDC(address(usdc)), signerKey, address(escrow), BOND, block.timestamp + 1 hours
        );
        token.arm(address(escrow), abi.encodeCall(IRunEscrow.approve, (runId)));
        uint256 signerBefore = usdc.balanceOf(signer);

        vm.prank(signer);
        escrow.rejectWithPermit(runId, REASON, permit);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.REJECTED);
        assertEq(usdc.balanceOf(signer), signerBefore - BOND, "bond paid once");
        assertEq(usdc.balanceOf(address(escrow)), TOTAL + BOND, "escrow holds run + bond");
    }

    /// @dev The forfeit moves vault -> escrow inside the vault's settleClaim: re-entering the escrow
    /// from there meets the escrow's guard.
    function test_Abandon_ReentryIntoAbandonReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        _reenter(agentParty, address(escrow), abi.encodeCall(IRunEscrow.abandon, (runId)));
        Balances memory expected = _balances();
        expected.poster += MIN_STAKE;
        expected.vault -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Abandoned(runId, agentId, poster, MIN_STAKE);
        vm.prank(agentWallet);
        escrow.abandon(runId);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertStake(agentId, 0, 0, 0);
        _assertBalances(expected);
    }

    function test_AcceptRejection_ReentryIntoAcceptRejectionReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _rejectedRun(agentId);
        _reenter(agentParty, address(escrow), abi.encodeCall(IRunEscrow.acceptRejection, (runId)));
        Balances memory expected = _balances();
        expected.poster += TOTAL + BOND;
        expected.escrow -= TOTAL + BOND;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RejectionFinalized(runId, agentId, poster, TOTAL + BOND, true);
        vm.prank(agentWallet);
        escrow.acceptRejection(runId);

        _assertGuarded();
        assertTrue(escrow.getRun(runId).settled, "settled");
        assertEq(vault.getAgent(agentId).rejections, 1, "one rejection");
        _assertStake(agentId, MIN_STAKE, 0, 0);
        _assertBalances(expected);
    }

    /// @dev The arbitrator, paid nothing itself, tries to rule a second time while the first ruling
    /// pays the agent.
    function test_Resolve_ReentryIntoResolveReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _disputedRun(agentId);
        _reenter(arbitratorParty, address(escrow), abi.encodeCall(IRunEscrow.resolve, (runId, 0, true)));
        Balances memory expected = _balances();
        expected.agent += REWARD + BOND;
        expected.escrow -= REWARD + BOND;

        vm.prank(arbitrator);
        escrow.resolve(runId, 10_000, false);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.RESOLVED);
        assertEq(vault.getAgent(agentId).strikes, 0, "no strike");
        _assertStake(agentId, MIN_STAKE, 0, 0);
        _assertBalances(expected);
    }

    function test_Slash_ReentryIntoSlashReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        vm.warp(_claimEnd(runId) + 1);
        _reenter(posterParty, address(escrow), abi.encodeCall(IRunEscrow.slash, (runId)));
        Balances memory expected = _balances();
        expected.poster += MIN_STAKE;
        expected.vault -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(agentId, runId, MIN_STAKE, IStakeVault.Outcome.SLASHED, 0, 1);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        _assertGuarded();
        assertEq(vault.getAgent(agentId).strikes, 1, "one strike");
        _assertStake(agentId, 0, 0, 0);
        _assertBalances(expected);
    }

    /// @dev Past the deadline a slash makes two transfers (forfeit in, stake + refund out): the
    /// second, to the poster, is guarded too.
    function test_Slash_ReentryDuringThePosterPayoutReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        vm.warp(escrow.getRun(runId).deadline + 1);
        _reenterOnSecondTransfer(posterParty, address(escrow), abi.encodeCall(IRunEscrow.expire, (runId)));
        Balances memory expected = _balances();
        expected.poster += MIN_STAKE + TOTAL;
        expected.escrow -= TOTAL;
        expected.vault -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.EXPIRED, TOTAL);
        vm.prank(poster);
        escrow.slash(runId);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.EXPIRED);
        _assertBalances(expected);
    }

    function test_ApproveOnTimeout_ReentryIntoApproveOnTimeoutReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        vm.warp(_reviewEnd(runId) + 1);
        _reenter(agentParty, address(escrow), abi.encodeCall(IRunEscrow.approveOnTimeout, (runId)));
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.escrow -= REWARD;

        vm.prank(stranger);
        escrow.approveOnTimeout(runId);

        _assertGuarded();
        assertEq(vault.getAgent(agentId).completions, 1, "one completion");
        _assertBalances(expected);
    }

    function test_FinalizeRejection_ReentryIntoFinalizeRejectionReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _rejectedRun(agentId);
        vm.warp(_windowEnd(runId) + 1);
        _reenter(agentParty, address(escrow), abi.encodeCall(IRunEscrow.finalizeRejection, (runId)));
        Balances memory expected = _balances();
        expected.poster += TOTAL + BOND;
        expected.escrow -= TOTAL + BOND;

        vm.prank(stranger);
        escrow.finalizeRejection(runId);

        _assertGuarded();
        assertEq(vault.getAgent(agentId).rejections, 1, "one rejection");
        _assertStake(agentId, MIN_STAKE, 0, 0);
        _assertBalances(expected);
    }

    function test_SettleDispute_ReentryIntoSettleDisputeReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _disputedRun(agentId);
        vm.warp(_rulingEnd(runId) + 1);
        _reenter(agentParty, address(escrow), abi.encodeCall(IRunEscrow.settleDispute, (runId)));
        Balances memory expected = _balances();
        expected.agent += REWARD / 2;
        expected.poster += TOTAL - REWARD / 2 - FEE / 2 + BOND;
        expected.escrow -= TOTAL - FEE / 2 + BOND;

        vm.prank(stranger);
        escrow.settleDispute(runId);

        _assertGuarded();
        assertEq(escrow.accruedFees(), FEE / 2, "half the fee, once");
        _assertStake(agentId, MIN_STAKE, 0, 0);
        _assertBalances(expected);
    }

    function test_Expire_ReentryIntoExpireReverts() public {
        uint256 runId = _openRun();
        vm.warp(escrow.getRun(runId).deadline + 1);
        _reenter(posterParty, address(escrow), abi.encodeCall(IRunEscrow.expire, (runId)));
        Balances memory expected = _balances();
        expected.poster += TOTAL;
        expected.escrow -= TOTAL;

        vm.prank(stranger);
        escrow.expire(runId);

        _assertGuarded();
        assertState(runId, IRunEscrow.RunState.EXPIRED);
        _assertBalances(expected);
    }

    function test_WithdrawCredit_ReentryIntoWithdrawCreditReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        // The agent's payout fails once, leaving a credit.
        vm.mockCallRevert(address(usdc), abi.encodeCall(IERC20.transfer, (agentWallet, REWARD)), "");
        vm.prank(poster);
        escrow.approve(runId);
        vm.clearMockedCalls();
        assertEq(escrow.creditOf(agentWallet), REWARD, "credit before");
        _reenter(agentParty, address(escrow), abi.encodeCall(IRunEscrow.withdrawCredit, ()));
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.escrow -= REWARD;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditWithdrawn(agentWallet, REWARD);
        vm.prank(agentWallet);
        assertEq(escrow.withdrawCredit(), REWARD, "paid");

        _assertGuarded();
        assertEq(escrow.creditOf(agentWallet), 0, "credit after");
        _assertBalances(expected);
    }

    function test_WithdrawFees_ReentryIntoWithdrawFeesReverts() public {
        uint256 runId = _submittedRun(_agent());
        vm.prank(poster);
        escrow.approve(runId);
        _reenter(agentParty, address(escrow), abi.encodeCall(IRunEscrow.withdrawFees, ()));
        Balances memory expected = _balances();
        expected.treasury += FEE;
        expected.escrow -= FEE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.FeesWithdrawn(treasury, FEE);
        vm.prank(stranger);
        assertEq(escrow.withdrawFees(), FEE, "paid");

        _assertGuarded();
        assertEq(escrow.accruedFees(), 0, "nothing left");
        _assertBalances(expected);
    }

    /// @dev One payout, every token-moving function of the escrow re-entered from it by a party:
    /// each meets the guard.
    function test_Approve_ReentryIntoEveryEscrowTokenFunctionReverts() public {
        uint256 runId = _submittedRun(_agent());
        IRunEscrow.Permit memory p = _emptyPermit();
        IRunEscrow.Authorization memory a = _emptyAuthorization();
        uint256 d = defaultDeadline();
        bytes[20] memory calls = [
            abi.encodeCall(IRunEscrow.fund, (runId)),
            abi.encodeCall(IRunEscrow.fundWithPermit, (runId, p)),
            abi.encodeCall(IRunEscrow.fundWithAuthorization, (runId, a)),
            abi.encodeCall(IRunEscrow.createAndFund, (SPEC, REWARD, d, 0, 0, 0)),
            abi.encodeCall(IRunEscrow.createAndFundWithPermit, (SPEC, REWARD, d, 0, 0, 0, p)),
            abi.encodeCall(IRunEscrow.createAndFundWithAuthorization, (SPEC, REWARD, d, 0, 0, 0, a)),
            abi.encodeCall(IRunEscrow.cancel, (runId)),
            abi.encodeCall(IRunEscrow.approve, (runId)),
            abi.encodeCall(IRunEscrow.reject, (runId, REASON)),
            abi.encodeCall(IRunEscrow.rejectWithPermit, (runId, REASON, p)),
            abi.encodeCall(IRunEscrow.abandon, (runId)),
            abi.encodeCall(IRunEscrow.acceptRejection, (runId)),
            abi.encodeCall(IRunEscrow.resolve, (runId, 0, true)),
            abi.encodeCall(IRunEscrow.slash, (runId)),
            abi.encodeCall(IRunEscrow.approveOnTimeout, (runId)),
            abi.encodeCall(IRunEscrow.finalizeRejection, (runId)),
            abi.encodeCall(IRunEscrow.settleDispute, (runId)),
            abi.encodeCall(IRunEscrow.expire, (runId)),
            abi.encodeCall(IRunEscrow.withdrawCredit, ()),
            abi.encodeCall(IRunEscrow.withdrawFees, ())
        ];
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.escrow -= REWARD;

        for (uint256 i; i < calls.length; ++i) {
            uint256 snapshot = vm.snapshotState();
            _reenter(agentParty, address(escrow), calls[i]);
            vm.prank(poster);
            escrow.approve(runId);
            _assertGuarded();
            assertState(runId, IRunEscrow.RunState.APPROVED);
            _assertBalances(expected);
            vm.revertToState(snapshot);
        }
    }

    /*----------------------------- StakeVault ----------------------------*/

    function test_Stake_ReentryIntoWithdrawStakeReverts() public {
        uint256 agentId = _register(agentWallet);
        _reenter(agentParty, address(vault), abi.encodeCall(IStakeVault.withdrawStake, ()));
        Balances memory expected = _balances();
        expected.agent -= MIN_STAKE;
        expected.vault += MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(agentId, agentWallet, MIN_STAKE, MIN_STAKE);
        vm.prank(agentWallet);
        vault.stake(MIN_STAKE);

        _assertGuarded();
        _assertStake(agentId, MIN_STAKE, 0, 0);
        _assertBalances(expected);
    }

    function test_StakeWithPermit_ReentryIntoStakeWithPermitReverts() public {
        vm.prank(agentSigner);
        uint256 agentId = vault.register("ipfs://agent");
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) =
            SigUtils.signPermit(IUSDC(address(usdc)), agentSignerKey, address(vault), MIN_STAKE, deadline);
        token.arm(address(vault), abi.encodeCall(IStakeVault.stakeWithPermit, (MIN_STAKE, deadline, v, r, s)));
        uint256 before = usdc.balanceOf(agentSigner);

        vm.prank(agentSigner);
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);

        _assertGuarded();
        assertEq(usdc.balanceOf(agentSigner), before - MIN_STAKE, "staked once");
        _assertStake(agentId, MIN_STAKE, 0, 0);
    }

    function test_WithdrawStake_ReentryIntoWithdrawStakeReverts() public {
        uint256 agentId = _agent();
        vm.prank(agentWallet);
        vault.requestUnstake(MIN_STAKE);
        skip(COOLDOWN);
        _reenter(agentParty, address(vault), abi.encodeCall(IStakeVault.withdrawStake, ()));
        Balances memory expected = _balances();
        expected.agent += MIN_STAKE;
        expected.vault -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeWithdrawn(agentId, agentWallet, MIN_STAKE);
        vm.prank(agentWallet);
        assertEq(vault.withdrawStake(), MIN_STAKE, "paid");

        _assertGuarded();
        _assertStake(agentId, 0, 0, 0);
        _assertBalances(expected);
    }

    /// @dev Cross-contract: during a slash the forfeit moves vault -> escrow inside the vault's
    /// settleClaim, with both guards held. The agent re-enters each contract from there: the guarded
    /// functions revert, the hooks refuse it, and the unguarded ones see the forfeit already done
    /// (only the free stake can be unstaked; the frozen agent cannot claim).
    function test_Slash_CrossContractReentryDuringTheForfeitFails() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 runId = _claimedRun(agentId);
        uint256 other = _openRun();
        vm.warp(_claimEnd(runId) + 1);
        bytes memory guard = _guardError();
        bytes memory unauthorized =
            abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, address(agentParty));
        address[10] memory targets = [
            address(vault),
            address(vault),
            address(vault),
            address(vault),
            address(vault),
            address(vault),
            address(escrow),
            address(escrow),
            address(escrow),
            address(escrow)
        ];
        bytes[10] memory calls = [
            abi.encodeCall(IStakeVault.withdrawStake, ()),
            abi.encodeCall(IStakeVault.stake, (MIN_STAKE)),
            abi.encodeCall(IStakeVault.stakeWithPermit, (MIN_STAKE, 0, 0, 0, 0)),
            abi.encodeCall(
                IStakeVault.settleClaim, (agentId, runId, MIN_STAKE, IStakeVault.Outcome.APPROVED, 0, 0)
            ),
            abi.encodeCall(IStakeVault.reserve, (agentId, MIN_STAKE)),
            abi.encodeCall(IStakeVault.requestUnstake, (2 * MIN_STAKE)),
            abi.encodeCall(IRunEscrow.claim, (other, agentId)),
            abi.encodeCall(IRunEscrow.abandon, (runId)),
            abi.encodeCall(IRunEscrow.slash, (runId)),
            abi.encodeCall(IRunEscrow.withdrawCredit, ())
        ];
        bytes[10] memory errors = [
            guard,
            guard,
            guard,
            unauthorized,
            unauthorized,
            abi.encodeWithSelector(
                IStakeVault.StakeVaultInsufficientFreeStake.selector, agentId, MIN_STAKE, 2 * MIN_STAKE
            ),
            _notClaimable(other, agentId, ClaimReasons.AGENT_FROZEN),
            guard,
            guard,
            guard
        ];
        Balances memory expected = _balances();
        expected.poster += MIN_STAKE;
        expected.vault -= MIN_STAKE;

        for (uint256 i; i < calls.length; ++i) {
            uint256 snapshot = vm.snapshotState();
            _reenter(agentParty, targets[i], calls[i]);
            vm.prank(poster);
            escrow.slash(runId);
            _assertReentry(errors[i]);
            _assertStake(agentId, MIN_STAKE, 0, 0);
            assertEq(vault.getAgent(agentId).strikes, 1, "one strike");
            assertState(other, IRunEscrow.RunState.OPEN);
            _assertBalances(expected);
            vm.revertToState(snapshot);
        }
    }
}

/*//////////////////////////////////////////////////////////////
                   A BLACKLISTING TOKEN (CIRCLE USDC)
//////////////////////////////////////////////////////////////*/

/// @notice A blacklisted agent, poster or treasury never blocks a run: every settlement completes,
/// each failed payout becomes a credit withdrawable once the blacklist is lifted, and a blacklisted
/// treasury only keeps the fees accrued until the owner names another.
contract BlacklistAttackTest is AttackBase {
    BlacklistUSDC internal token;
    uint256 internal agentId;

    function _deployToken() internal override returns (MockUSDC) {
        return new BlacklistUSDC(owner);
    }

    function setUp() public override {
        super.setUp();
        token = BlacklistUSDC(address(usdc));
        agentId = _agent();
    }

    function _blacklist(address account) internal {
        vm.prank(owner);
        token.blacklist(account);
    }

    function _expectCredit(address account, uint256 runId, uint256 amount) internal {
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(account, runId, amount);
    }

    function _blacklisted(address account) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, account);
    }

    /// @dev The credit cannot leave while `account` is blacklisted, and leaves in full once it is not.
    function _assertCreditWithdrawableAfterUnBlacklist(address account, uint256 amount) internal {
        assertEq(escrow.creditOf(account), amount, "credit");
        vm.prank(account);
        vm.expectRevert(_blacklisted(account));
        escrow.withdrawCredit();

        vm.prank(owner);
        token.unBlacklist(account);
        uint256 accountBefore = usdc.balanceOf(account);
        uint256 escrowBefore = usdc.balanceOf(address(escrow));
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditWithdrawn(account, amount);
        vm.prank(account);
        assertEq(escrow.withdrawCredit(), amount, "withdrawn");

        assertEq(escrow.creditOf(account), 0, "credit after");
        assertEq(usdc.balanceOf(account), accountBefore + amount, "account paid");
        assertEq(usdc.balanceOf(address(escrow)), escrowBefore - amount, "escrow paid out");
    }

    /// @dev After the run settled and the credits left, the escrow holds only the accrued fees.
    function _assertEscrowHoldsOnlyFees() internal view {
        assertEq(usdc.balanceOf(address(escrow)), escrow.accruedFees(), "escrow == accrued fees");
    }

    /*---------------------------- blacklisted agent ----------------------------*/

    function test_Approve_BlacklistedAgent_RewardBecomesCredit() public {
        uint256 runId = _submittedRun(agentId);
        _blacklist(agentWallet);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, 0, false);
        _expectCredit(agentWallet, runId, REWARD);
        vm.prank(poster);
        escrow.approve(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertEq(vault.getAgent(agentId).completions, 1, "completion recorded");
        _assertStake(agentId, MIN_STAKE, 0, 0);
        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(agentWallet, REWARD);
        _assertEscrowHoldsOnlyFees();
    }

    function test_ApproveOnTimeout_BlacklistedAgent_RewardBecomesCredit() public {
        uint256 runId = _submittedRun(agentId);
        _blacklist(agentWallet);
        vm.warp(_reviewEnd(runId) + 1);
        Balances memory expected = _balances();

        _expectCredit(agentWallet, runId, REWARD);
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(agentWallet, REWARD);
        _assertEscrowHoldsOnlyFees();
    }

    function test_Resolve_BlacklistedAgentWins_RewardAndBondBecomeCredit() public {
        uint256 runId = _disputedRun(agentId);
        _blacklist(agentWallet);
        Balances memory expected = _balances();

        _expectCredit(agentWallet, runId, REWARD + BOND);
        _resolve(runId, 10_000, false);

        assertState(runId, IRunEscrow.RunState.RESOLVED);
        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(agentWallet, REWARD + BOND);
        _assertEscrowHoldsOnlyFees();
    }

    /// @dev A blacklisted agent cannot withdraw its stake (the token refuses), but its live claim
    /// still settles, including a forfeit to the poster.
    function test_WithdrawStake_BlacklistedAgent_RevertsButItsClaimStillSettles() public {
        vm.prank(agentWallet);
        vault.stake(MIN_STAKE);
        uint256 runId = _claimedRun(agentId);
        vm.prank(agentWallet);
        vault.requestUnstake(MIN_STAKE);
        _blacklist(agentWallet);
        skip(COOLDOWN);
        vm.prank(agentWallet);
        vm.expectRevert(_blacklisted(agentWallet));
        vault.withdrawStake();
        _assertStake(agentId, MIN_STAKE, MIN_STAKE, MIN_STAKE);

        vm.warp(_claimEnd(runId) + 1);
        Balances memory expected = _balances();
        expected.poster += MIN_STAKE;
        expected.vault -= MIN_STAKE;
        vm.prank(poster);
        escrow.slash(runId);
        _assertStake(agentId, 0, 0, MIN_STAKE);
        _assertBalances(expected);
    }

    /*---------------------------- blacklisted poster ---------------------------*/

    function test_Cancel_BlacklistedPoster_RefundBecomesCredit() public {
        uint256 runId = _openRun();
        _blacklist(poster);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, TOTAL);
        _expectCredit(poster, runId, TOTAL);
        vm.prank(poster);
        escrow.cancel(runId);

        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(poster, TOTAL);
        _assertEscrowHoldsOnlyFees();
    }

    function test_Expire_BlacklistedPoster_RefundBecomesCredit() public {
        uint256 runId = _openRun();
        _blacklist(poster);
        vm.warp(escrow.getRun(runId).deadline + 1);
        Balances memory expected = _balances();

        _expectCredit(poster, runId, TOTAL);
        vm.prank(stranger);
        escrow.expire(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(poster, TOTAL);
        _assertEscrowHoldsOnlyFees();
    }

    /// @dev The forfeit goes vault -> escrow (never to the poster directly), so a blacklisted poster
    /// cannot make a slash revert; the reopened run stays escrowed next to the credit.
    function test_Slash_BlacklistedPoster_StakeBecomesCredit() public {
        uint256 runId = _claimedRun(agentId);
        _blacklist(poster);
        vm.warp(_claimEnd(runId) + 1);
        Balances memory expected = _balances();
        expected.vault -= MIN_STAKE;
        expected.escrow += MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        _expectCredit(poster, runId, MIN_STAKE);
        vm.prank(poster);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(poster, MIN_STAKE);
        assertEq(usdc.balanceOf(address(escrow)), TOTAL, "the reopened run is left");
    }

    function test_Slash_BlacklistedPosterPastDeadline_StakeAndRefundBecomeCredit() public {
        uint256 runId = _claimedRun(agentId);
        _blacklist(poster);
        vm.warp(escrow.getRun(runId).deadline + REVIEW_PERIOD);
        Balances memory expected = _balances();
        expected.vault -= MIN_STAKE;
        expected.escrow += MIN_STAKE;

        _expectCredit(poster, runId, MIN_STAKE + TOTAL);
        vm.prank(stranger);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(poster, MIN_STAKE + TOTAL);
        _assertEscrowHoldsOnlyFees();
    }

    function test_Abandon_BlacklistedPoster_ReservationBecomesCredit() public {
        uint256 runId = _claimedRun(agentId);
        _blacklist(poster);
        Balances memory expected = _balances();
        expected.vault -= MIN_STAKE;
        expected.escrow += MIN_STAKE;

        _expectCredit(poster, runId, MIN_STAKE);
        vm.prank(agentWallet);
        escrow.abandon(runId);

        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(poster, MIN_STAKE);
    }

    function test_FinalizeRejection_BlacklistedPoster_RefundAndBondBecomeCredit() public {
        uint256 runId = _rejectedRun(agentId);
        _blacklist(poster);
        vm.warp(_windowEnd(runId) + 1);
        Balances memory expected = _balances();

        _expectCredit(poster, runId, TOTAL + BOND);
        vm.prank(stranger);
        escrow.finalizeRejection(runId);

        assertTrue(escrow.getRun(runId).settled, "settled");
        _assertStake(agentId, MIN_STAKE, 0, 0);
        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(poster, TOTAL + BOND);
        _assertEscrowHoldsOnlyFees();
    }

    function test_AcceptRejection_BlacklistedPoster_RefundAndBondBecomeCredit() public {
        uint256 runId = _rejectedRun(agentId);
        _blacklist(poster);
        Balances memory expected = _balances();

        _expectCredit(poster, runId, TOTAL + BOND);
        vm.prank(agentWallet);
        escrow.acceptRejection(runId);

        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(poster, TOTAL + BOND);
        _assertEscrowHoldsOnlyFees();
    }

    function test_Resolve_BlacklistedPosterWins_RefundBondAndStakeBecomeCredit() public {
        uint256 runId = _disputedRun(agentId);
        _blacklist(poster);
        Balances memory expected = _balances();
        expected.vault -= MIN_STAKE;
        expected.escrow += MIN_STAKE;

        _expectCredit(poster, runId, TOTAL + BOND + MIN_STAKE);
        _resolve(runId, 0, true);

        _assertStake(agentId, 0, 0, 0);
        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(poster, TOTAL + BOND + MIN_STAKE);
        _assertEscrowHoldsOnlyFees();
    }

    /// @dev The poster concedes a dispute: the agent is paid, the bond returned to the blacklisted
    /// poster becomes its credit.
    function test_Approve_RejectedRunBlacklistedPoster_BondBecomesCredit() public {
        uint256 runId = _rejectedRun(agentId);
        _blacklist(poster);
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.escrow -= REWARD;

        _expectCredit(poster, runId, BOND);
        vm.prank(poster);
        escrow.approve(runId);

        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(poster, BOND);
        _assertEscrowHoldsOnlyFees();
    }

    /*----------------------------- both, and the treasury ----------------------------*/

    function test_SettleDispute_BlacklistedPosterAndAgent_BothSharesBecomeCredits() public {
        uint256 runId = _disputedRun(agentId);
        _blacklist(poster);
        _blacklist(agentWallet);
        vm.warp(_rulingEnd(runId) + 1);
        Balances memory expected = _balances();
        uint256 toPoster = TOTAL - REWARD / 2 - FEE / 2 + BOND;

        _expectCredit(agentWallet, runId, REWARD / 2);
        _expectCredit(poster, runId, toPoster);
        vm.prank(stranger);
        escrow.settleDispute(runId);

        _assertStake(agentId, MIN_STAKE, 0, 0);
        _assertBalances(expected);
        _assertCreditWithdrawableAfterUnBlacklist(agentWallet, REWARD / 2);
        _assertCreditWithdrawableAfterUnBlacklist(poster, toPoster);
        _assertEscrowHoldsOnlyFees();
    }

    /// @dev Fees accrue in the escrow, so a blacklisted treasury touches no run: only withdrawFees
    /// reverts, and the fees wait for the owner to name a new treasury.
    function test_WithdrawFees_BlacklistedTreasury_RevertsButNoRunIsBlocked() public {
        _blacklist(treasury);
        uint256 approved = _submittedRun(agentId);
        vm.prank(poster);
        escrow.approve(approved);
        uint256 disputed = _disputedRun(agentId);
        _resolve(disputed, 10_000, false);
        assertEq(escrow.accruedFees(), 2 * FEE, "fees accrued");
        assertEq(escrow.creditOf(treasury), 0, "no treasury credit");

        vm.prank(stranger);
        vm.expectRevert(_blacklisted(treasury));
        escrow.withdrawFees();
        assertEq(escrow.accruedFees(), 2 * FEE, "fees kept");

        address newTreasury = makeAddr("newTreasury");
        vm.prank(owner);
        escrow.setTreasury(newTreasury);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.FeesWithdrawn(newTreasury, 2 * FEE);
        vm.prank(stranger);
        escrow.withdrawFees();
        assertEq(usdc.balanceOf(newTreasury), 2 * FEE, "new treasury paid");
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
    }

    /// @dev Credits from several runs add up and are paid once.
    function test_WithdrawCredit_PaysEveryCreditOnce() public {
        uint256 cancelled = _openRun();
        uint256 expired = _openRun();
        uint256 live = _openRun();
        _blacklist(poster);
        vm.prank(poster);
        escrow.cancel(cancelled);
        vm.warp(escrow.getRun(expired).deadline + 1);
        vm.prank(stranger);
        escrow.expire(expired);
        assertEq(usdc.balanceOf(address(escrow)), 3 * TOTAL, "escrow == credits + live run");

        _assertCreditWithdrawableAfterUnBlacklist(poster, 2 * TOTAL);
        vm.prank(poster);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNoCredit.selector, poster));
        escrow.withdrawCredit();
        assertState(live, IRunEscrow.RunState.OPEN);
        assertEq(usdc.balanceOf(address(escrow)), TOTAL, "escrow == live run");
    }
}

/*//////////////////////////////////////////////////////////////
                            FRONT-RUNNING
//////////////////////////////////////////////////////////////*/

/// @notice Racing claims, claiming with someone else's agent id, replaying a signature seen in the
/// mempool, and racing the end of every window.
contract FrontRunAttackTest is AttackBase {
    function test_RevertGiven_RunAlreadyClaimed_SecondAgentLosesRace() public {
        uint256 first = _agent();
        uint256 second = _registerAndStake(otherAgentWallet, MIN_STAKE);
        uint256 runId = _openRun();
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Claimed(runId, first, agentWallet, MIN_STAKE);
        vm.prank(agentWallet);
        escrow.claim(runId, first);
        vm.prank(otherAgentWallet);
        vm.expectRevert(_notClaimable(runId, second, ClaimReasons.RUN_NOT_OPEN));
        escrow.claim(runId, second);

        assertEq(escrow.getRun(runId).agentId, first, "first claim kept");
        _assertStake(first, MIN_STAKE, MIN_STAKE, 0);
        _assertStake(second, MIN_STAKE, 0, 0);
        assertEq(vault.getAgent(second).claims, 0, "loser not counted");
        _assertBalances(expected);
    }

    function test_RevertWhen_ClaimingWithAnotherAgentsId() public {
        uint256 victim = _agent();
        // The attacker is a fully eligible agent itself: only the wallet rule fails.
        _registerAndStake(stranger, MIN_STAKE);
        uint256 runId = _openRun();
        Balances memory expected = _balances();

        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgentWallet.selector, victim, stranger));
        escrow.claim(runId, victim);

        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertStake(victim, MIN_STAKE, 0, 0);
        assertEq(vault.getAgent(victim).claims, 0, "victim not counted");
        _assertBalances(expected);
    }

    function test_FundWithPermit_SucceedsAfterPermitFrontRun() public {
        _revokeApproval(poster, address(escrow));
        _revokeApproval(stranger, address(escrow));
        uint256 runId = _draftRun();
        IRunEscrow.Permit memory permit = SigUtils.runEscrowPermit(
            IUSDC(address(usdc)), posterKey, address(escrow), TOTAL, block.timestamp + 1 hours
        );
        Balances memory expected = _balances();

        // The attacker submits the poster's permit first: the allowance goes to the escrow only.
        vm.prank(stranger);
        usdc.permit(poster, address(escrow), TOTAL, permit.deadline, permit.v, permit.r, permit.s);
        assertEq(usdc.allowance(poster, stranger), 0, "attacker has no allowance");
        // Nor can it spend the escrow's allowance: the escrow only pulls from its caller.
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotPoster.selector, runId, stranger));
        escrow.fund(runId);
        vm.prank(stranger);
        vm.expectRevert(_insufficientAllowance(address(escrow), TOTAL));
        escrow.createAndFund(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0);
        _assertBalances(expected);

        expected.poster -= TOTAL;
        expected.escrow += TOTAL;
        vm.prank(poster);
        escrow.fundWithPermit(runId, permit);
        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(expected);
    }

    /// @dev The rejection bond's permit, front-run, still lets the poster reject; the attacker gains
    /// nothing from it.
    function test_RejectWithPermit_SucceedsAfterPermitFrontRun() public {
        uint256 agentId = _agent();
        uint256 runId = _exhaustedRun(agentId);
        _revokeApproval(poster, address(escrow));
        IRunEscrow.Permit memory permit = SigUtils.runEscrowPermit(
            IUSDC(address(usdc)), posterKey, address(escrow), BOND, block.timestamp + 1 hours
        );
        vm.prank(stranger);
        usdc.permit(poster, address(escrow), BOND, permit.deadline, permit.v, permit.r, permit.s);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotPoster.selector, runId, stranger));
        escrow.rejectWithPermit(runId, REASON, permit);
        Balances memory expected = _balances();
        expected.poster -= BOND;
        expected.escrow += BOND;

        vm.prank(poster);
        escrow.rejectWithPermit(runId, REASON, permit);

        assertState(runId, IRunEscrow.RunState.REJECTED);
        _assertBalances(expected);
    }

    function test_StakeWithPermit_SucceedsAfterPermitFrontRun() public {
        _revokeApproval(agentWallet, address(vault));
        uint256 agentId = _register(agentWallet);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) =
            SigUtils.signPermit(IUSDC(address(usdc)), agentKey, address(vault), MIN_STAKE, deadline);
        vm.prank(stranger);
        usdc.permit(agentWallet, address(vault), MIN_STAKE, deadline, v, r, s);
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNotRegistered.selector, stranger));
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);

        vm.prank(agentWallet);
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
        _assertStake(agentId, MIN_STAKE, 0, 0);
    }

    function test_FundWithAuthorization_FrontRunnerCannotUsePostersAuthorization() public {
        _revokeApproval(poster, address(escrow));
        uint256 runId = _draftRun();
        bytes32 nonce = keccak256("poster-nonce");
        IRunEscrow.Authorization memory auth = SigUtils.runEscrowAuthorization(
            IUSDC(address(usdc)), posterKey, address(escrow), TOTAL, 0, block.timestamp + 1 hours, nonce
        );
        Balances memory expected = _balances();

        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(MockUSDC.MockUSDCCallerMustBePayee.selector, stranger, address(escrow))
        );
        usdc.receiveWithAuthorization(
            poster, address(escrow), TOTAL, auth.validAfter, auth.validBefore, nonce, auth.v, auth.r, auth.s
        );
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotPoster.selector, runId, stranger));
        escrow.fundWithAuthorization(runId, auth);
        // A run of its own pays from the attacker's address, which did not sign.
        vm.prank(stranger);
        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        escrow.createAndFundWithAuthorization(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0, auth);
        assertFalse(usdc.authorizationState(poster, nonce), "nonce unused");
        _assertBalances(expected);

        expected.poster -= TOTAL;
        expected.escrow += TOTAL;
        vm.prank(poster);
        escrow.fundWithAuthorization(runId, auth);
        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(expected);
    }

    /// @dev A dispute at the last second of the window beats finalizeRejection; one second later the
    /// finalization wins and the dispute reverts.
    function test_Dispute_RacesFinalizeRejectionToTheSecond() public {
        uint256 agentId = _agent();
        uint256 runId = _rejectedRun(agentId);
        uint256 windowEnd = _windowEnd(runId);
        uint256 atRejection = vm.snapshotState();

        vm.warp(windowEnd);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowDisputeWindowOpen.selector, runId, windowEnd)
        );
        escrow.finalizeRejection(runId);
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
        assertState(runId, IRunEscrow.RunState.DISPUTED);

        vm.revertToState(atRejection);
        vm.warp(windowEnd + 1);
        vm.prank(agentWallet);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowDisputeWindowOver.selector, runId, windowEnd)
        );
        escrow.dispute(runId, EVIDENCE);
        vm.prank(stranger);
        escrow.finalizeRejection(runId);
        assertTrue(escrow.getRun(runId).settled, "settled");
    }

    /// @dev A ruling at the last second of the ruling period beats settleDispute; one second later
    /// only the default is left.
    function test_Resolve_RacesSettleDisputeToTheSecond() public {
        uint256 agentId = _agent();
        uint256 runId = _disputedRun(agentId);
        uint256 rulingEnd = _rulingEnd(runId);
        uint256 atDispute = vm.snapshotState();

        vm.warp(rulingEnd);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowRulingPeriodOpen.selector, runId, rulingEnd)
        );
        escrow.settleDispute(runId);
        _resolve(runId, 0, true);
        assertEq(vault.getAgent(agentId).strikes, 1, "ruled");

        vm.revertToState(atDispute);
        vm.warp(rulingEnd + 1);
        vm.prank(arbitrator);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowRulingPeriodOver.selector, runId, rulingEnd)
        );
        escrow.resolve(runId, 0, true);
        vm.prank(stranger);
        escrow.settleDispute(runId);
        assertEq(vault.getAgent(agentId).strikes, 0, "default: no strike");
    }

    /// @dev approveOnTimeout races a rejection at the review period's edge: within it the poster
    /// decides, past it only approval is left.
    function test_ApproveOnTimeout_RacesRejectToTheSecond() public {
        uint256 agentId = _agent();
        uint256 runId = _exhaustedRun(agentId);
        uint256 reviewEnd = _reviewEnd(runId);
        uint256 atSubmission = vm.snapshotState();

        vm.warp(reviewEnd);
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowReviewNotTimedOut.selector, runId, reviewEnd)
        );
        escrow.approveOnTimeout(runId);
        vm.prank(poster);
        escrow.reject(runId, REASON);
        assertState(runId, IRunEscrow.RunState.REJECTED);

        vm.revertToState(atSubmission);
        vm.warp(reviewEnd + 1);
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);
        assertState(runId, IRunEscrow.RunState.APPROVED);
    }
}

/*//////////////////////////////////////////////////////////////
               CLAIMING YOUR OWN RUN, OR ONE YOU RULE ON
//////////////////////////////////////////////////////////////*/

contract SelfDealingAttackTest is AttackBase {
    function test_RevertWhen_PosterClaimsOwnRun() public {
        uint256 runId = _openRun();
        uint256 posterAgent = _registerAndStake(poster, MIN_STAKE);
        (bool eligible, uint256 reasons) = escrow.canClaim(runId, posterAgent);
        assertFalse(eligible, "eligible");
        assertEq(reasons, ClaimReasons.AGENT_IS_POSTER, "reasons");
        Balances memory expected = _balances();

        vm.prank(poster);
        vm.expectRevert(_notClaimable(runId, posterAgent, ClaimReasons.AGENT_IS_POSTER));
        escrow.claim(runId, posterAgent);

        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertStake(posterAgent, MIN_STAKE, 0, 0);
        _assertBalances(expected);
    }

    function test_RevertWhen_ArbitratorClaimsARunItRulesOn() public {
        _mint(arbitrator, FUNDING);
        vm.prank(arbitrator);
        usdc.approve(address(vault), type(uint256).max);
        uint256 arbitratorAgent = _registerAndStake(arbitrator, MIN_STAKE);
        uint256 runId = _openRun();

        vm.prank(arbitrator);
        vm.expectRevert(_notClaimable(runId, arbitratorAgent, ClaimReasons.AGENT_IS_ARBITRATOR));
        escrow.claim(runId, arbitratorAgent);

        // Under another arbitrator's terms it is an ordinary agent.
        _setArbitrator(makeAddr("newArbitrator"));
        uint256 other = _openRun();
        vm.prank(arbitrator);
        escrow.claim(other, arbitratorAgent);
        assertState(other, IRunEscrow.RunState.CLAIMED);
    }

    function test_RevertWhen_ArbitratorPostsARun() public {
        vm.prank(arbitrator);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowPosterIsArbitrator.selector, arbitrator));
        escrow.createRun(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0);
    }

    /// @dev An agent slashed on a run may never claim it again, even after restaking.
    function test_RevertWhen_SlashedAgentReclaimsTheRun() public {
        uint256 agentId = _registerAndStake(agentWallet, MIN_STAKE);
        uint256 runId = _claimedRun(agentId);
        vm.warp(_claimEnd(runId) + 1);
        vm.prank(poster);
        escrow.slash(runId);
        vm.prank(agentWallet);
        vault.stake(MIN_STAKE);
        assertStatus(agentId, IStakeVault.AgentStatus.PROVISIONAL);

        vm.prank(agentWallet);
        vm.expectRevert(_notClaimable(runId, agentId, ClaimReasons.AGENT_SLASHED_ON_RUN));
        escrow.claim(runId, agentId);
        assertTrue(escrow.slashedOnRun(runId, agentId), "recorded");
    }
}

/*//////////////////////////////////////////////////////////////
                     SLASHING BEFORE THE TIMEOUT
//////////////////////////////////////////////////////////////*/

contract EarlySlashAttackTest is AttackBase {
    uint256 internal agentId;
    uint256 internal runId;
    uint256 internal claimedAt;

    function setUp() public override {
        super.setUp();
        agentId = _agent();
        runId = _claimedRun(agentId);
        claimedAt = block.timestamp;
    }

    function _expectNotTimedOut(uint256 slashableAfter) internal {
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, slashableAfter)
        );
    }

    function _assertNothingSlashed(Balances memory expected) internal view {
        assertEq(vault.getAgent(agentId).strikes, 0, "no strike");
        _assertStake(agentId, MIN_STAKE, MIN_STAKE, 0);
        _assertBalances(expected);
    }

    function test_RevertWhen_PosterSlashesAtTheClaimTimeout() public {
        vm.warp(claimedAt + CLAIM_TIMEOUT);
        Balances memory expected = _balances();
        vm.prank(poster);
        _expectNotTimedOut(claimedAt + CLAIM_TIMEOUT);
        escrow.slash(runId);
        assertState(runId, IRunEscrow.RunState.CLAIMED);
        _assertNothingSlashed(expected);
    }

    function test_Slash_PosterOneSecondAfterTheClaimTimeout() public {
        vm.warp(claimedAt + CLAIM_TIMEOUT + 1);
        Balances memory expected = _balances();
        expected.poster += MIN_STAKE;
        expected.vault -= MIN_STAKE;
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);
        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(expected);
    }

    function test_RevertWhen_StrangerSlashesBeforeAFurtherReviewPeriod() public {
        Balances memory expected = _balances();
        uint256 strangerSlashableAfter = claimedAt + CLAIM_TIMEOUT + REVIEW_PERIOD;
        vm.warp(claimedAt + CLAIM_TIMEOUT + 1);
        vm.prank(stranger);
        _expectNotTimedOut(strangerSlashableAfter);
        escrow.slash(runId);
        vm.warp(strangerSlashableAfter);
        vm.prank(stranger);
        _expectNotTimedOut(strangerSlashableAfter);
        escrow.slash(runId);
        _assertNothingSlashed(expected);

        vm.warp(strangerSlashableAfter + 1);
        vm.prank(stranger);
        escrow.slash(runId);
        assertState(runId, IRunEscrow.RunState.OPEN);
    }

    function test_RevertGiven_RevisionRequested_TheTimerRestarts() public {
        skip(2 days);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        skip(1 days);
        vm.prank(poster);
        escrow.requestRevision(runId, "more");
        uint256 revisedAt = block.timestamp;
        Balances memory expected = _balances();

        vm.warp(claimedAt + CLAIM_TIMEOUT + 1);
        vm.prank(poster);
        _expectNotTimedOut(revisedAt + CLAIM_TIMEOUT);
        escrow.slash(runId);
        vm.warp(revisedAt + CLAIM_TIMEOUT);
        vm.prank(poster);
        _expectNotTimedOut(revisedAt + CLAIM_TIMEOUT);
        escrow.slash(runId);
        assertState(runId, IRunEscrow.RunState.REVISION_REQUESTED);
        _assertNothingSlashed(expected);
    }

    /// @dev Abandoning within the claim timeout costs the reservation but no strike; past it, the
    /// agent cannot dodge the strike by abandoning.
    function test_RevertWhen_AgentAbandonsAfterTheClaimTimeout() public {
        uint256 claimEnd = claimedAt + CLAIM_TIMEOUT;
        vm.warp(claimEnd + 1);
        vm.prank(agentWallet);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowClaimTimedOut.selector, runId, claimEnd));
        escrow.abandon(runId);
        vm.prank(poster);
        escrow.slash(runId);
        assertEq(vault.getAgent(agentId).strikes, 1, "struck");
    }
}

/*//////////////////////////////////////////////////////////////
                          SIGNATURE REPLAY
//////////////////////////////////////////////////////////////*/

contract SignatureReplayAttackTest is AttackBase {
    function test_RevertGiven_PermitUsed_StakeWithPermitReplay() public {
        _revokeApproval(agentWallet, address(vault));
        uint256 agentId = _register(agentWallet);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) =
            SigUtils.signPermit(IUSDC(address(usdc)), agentKey, address(vault), MIN_STAKE, deadline);
        vm.prank(agentWallet);
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
        Balances memory expected = _balances();

        vm.prank(agentWallet);
        vm.expectRevert(_insufficientAllowance(address(vault), MIN_STAKE));
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);

        _assertStake(agentId, MIN_STAKE, 0, 0);
        assertEq(usdc.nonces(agentWallet), 1, "one permit used");
        _assertBalances(expected);
    }

    function test_RevertGiven_PermitUsed_FundWithPermitReplay() public {
        _revokeApproval(poster, address(escrow));
        uint256 first = _draftRun();
        uint256 second = _draftRun();
        IRunEscrow.Permit memory permit = SigUtils.runEscrowPermit(
            IUSDC(address(usdc)), posterKey, address(escrow), TOTAL, block.timestamp + 1 hours
        );
        vm.prank(poster);
        escrow.fundWithPermit(first, permit);
        Balances memory expected = _balances();

        vm.startPrank(poster);
        vm.expectRevert(_insufficientAllowance(address(escrow), TOTAL));
        escrow.fundWithPermit(second, permit);
        vm.expectRevert(_insufficientAllowance(address(escrow), TOTAL));
        escrow.createAndFundWithPermit(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0, permit);
        vm.stopPrank();

        assertState(second, IRunEscrow.RunState.DRAFT);
        assertEq(escrow.runCount(), 2, "no run created by the replay");
        _assertBalances(expected);
    }

    /// @dev The bond permit of one rejection cannot pay the bond of another.
    function test_RevertGiven_PermitUsed_RejectWithPermitReplay() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 first = _exhaustedRun(agentId);
        uint256 second = _exhaustedRun(agentId);
        _revokeApproval(poster, address(escrow));
        IRunEscrow.Permit memory permit = SigUtils.runEscrowPermit(
            IUSDC(address(usdc)), posterKey, address(escrow), BOND, block.timestamp + 1 hours
        );
        vm.prank(poster);
        escrow.rejectWithPermit(first, REASON, permit);
        Balances memory expected = _balances();

        vm.prank(poster);
        vm.expectRevert(_insufficientAllowance(address(escrow), BOND));
        escrow.rejectWithPermit(second, REASON, permit);

        assertState(second, IRunEscrow.RunState.SUBMITTED);
        _assertBalances(expected);
    }

    function test_RevertGiven_AuthorizationUsed_FundWithAuthorizationReplay() public {
        _revokeApproval(poster, address(escrow));
        uint256 first = _draftRun();
        uint256 second = _draftRun();
        bytes32 nonce = keccak256("once");
        IRunEscrow.Authorization memory auth = SigUtils.runEscrowAuthorization(
            IUSDC(address(usdc)), posterKey, address(escrow), TOTAL, 0, block.timestamp + 1 hours, nonce
        );
        vm.prank(poster);
        escrow.fundWithAuthorization(first, auth);
        Balances memory expected = _balances();

        vm.startPrank(poster);
        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationUsed.selector, poster, nonce));
        escrow.fundWithAuthorization(second, auth);
        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationUsed.selector, poster, nonce));
        escrow.createAndFundWithAuthorization(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0, auth);
        vm.stopPrank();

        assertState(second, IRunEscrow.RunState.DRAFT);
        assertEq(escrow.runCount(), 2, "no run created by the replay");
        _assertBalances(expected);
    }

    function test_RevertWhen_VaultPermitUsedAtEscrow() public {
        _revokeApproval(poster, address(escrow));
        _revokeApproval(poster, address(vault));
        uint256 runId = _draftRun();
        IRunEscrow.Permit memory permit = SigUtils.runEscrowPermit(
            IUSDC(address(usdc)), posterKey, address(vault), TOTAL, block.timestamp + 1 hours
        );
        Balances memory expected = _balances();

        vm.prank(poster);
        vm.expectRevert(_insufficientAllowance(address(escrow), TOTAL));
        escrow.fundWithPermit(runId, permit);

        assertState(runId, IRunEscrow.RunState.DRAFT);
        assertEq(usdc.allowance(poster, address(vault)), 0, "no vault allowance");
        assertEq(usdc.nonces(poster), 0, "permit not consumed");
        _assertBalances(expected);
    }

    function test_RevertWhen_EscrowPermitUsedAtVault() public {
        _revokeApproval(agentWallet, address(escrow));
        _revokeApproval(agentWallet, address(vault));
        uint256 agentId = _register(agentWallet);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) =
            SigUtils.signPermit(IUSDC(address(usdc)), agentKey, address(escrow), MIN_STAKE, deadline);
        Balances memory expected = _balances();

        vm.prank(agentWallet);
        vm.expectRevert(_insufficientAllowance(address(vault), MIN_STAKE));
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);

        _assertStake(agentId, 0, 0, 0);
        assertEq(usdc.allowance(agentWallet, address(escrow)), 0, "no escrow allowance");
        _assertBalances(expected);
    }
}

/*//////////////////////////////////////////////////////////////
                     THE OWNER CANNOT TAKE FUNDS
//////////////////////////////////////////////////////////////*/

contract OwnerAttackTest is AttackBase {
    /// @dev Every owner power at once, at its extreme: no escrowed or staked unit moves, every live
    /// run settles on its own terms, and the stake comes back after a bounded cooldown.
    function test_OwnerActions_LeaveEscrowAndStakeUntouched() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 submitted = _submittedRun(agentId);
        uint256 disputed = _disputedRun(agentId);
        uint256 open = _openRun();
        Balances memory expected = _balances();
        assertEq(expected.escrow, 3 * TOTAL + BOND, "escrowed");
        assertEq(expected.vault, 2 * MIN_STAKE, "staked");

        vm.startPrank(owner);
        escrow.setParameters(
            IRunEscrow.Parameters({
                feeBps: uint16(escrow.MAX_FEE_BPS()),
                claimTimeout: 1 hours,
                reviewPeriod: 1 hours,
                disputeWindow: 1 days,
                rulingPeriod: 1 days,
                arbitrator: owner
            })
        );
        escrow.setTreasury(makeAddr("ownersTreasury"));
        escrow.pause();
        vault.pause();
        vault.setParameters(
            IStakeVault.Parameters({
                minStake: type(uint64).max,
                unstakeCooldown: 90 days,
                strikesToBan: 1,
                establishedCompletions: 0,
                establishedAge: 0
            })
        );
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultEscrowAlreadySet.selector, address(escrow))
        );
        vault.setRunEscrow(owner);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, owner));
        vault.settleClaim(agentId, submitted, MIN_STAKE, IStakeVault.Outcome.SLASHED, 0, 0);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotArbitrator.selector, disputed, owner));
        escrow.resolve(disputed, 0, true);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNoCredit.selector, owner));
        escrow.withdrawCredit();
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNotRegistered.selector, owner));
        vault.withdrawStake();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotPoster.selector, submitted, owner));
        escrow.approve(submitted);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotPoster.selector, open, owner));
        escrow.cancel(open);
        vm.expectRevert(IRunEscrow.RunEscrowCannotRenounceOwnership.selector);
        escrow.renounceOwnership();
        vm.expectRevert(IStakeVault.StakeVaultCannotRenounceOwnership.selector);
        vault.renounceOwnership();
        vm.stopPrank();
        _assertBalances(expected);

        IRunEscrow.Run memory run = escrow.getRun(submitted);
        assertEq(run.fee, FEE, "fee kept");
        assertEq(run.terms.reviewPeriod, REVIEW_PERIOD, "review period kept");
        assertEq(escrow.getRun(disputed).terms.arbitrator, arbitrator, "arbitrator kept");

        // The live runs settle on their original terms, paused or not.
        vm.prank(poster);
        escrow.approve(submitted);
        _resolve(disputed, 10_000, false);
        vm.prank(poster);
        escrow.cancel(open);
        expected.agent += 2 * REWARD + BOND;
        expected.poster += TOTAL;
        expected.escrow -= 3 * TOTAL + BOND - 2 * FEE;
        _assertBalances(expected);
        assertEq(escrow.accruedFees(), 2 * FEE, "fees at the runs' rate");
        _assertStake(agentId, 2 * MIN_STAKE, 0, 0);

        // The agent gets its whole stake back after the (bounded) cooldown, though now UNVERIFIED.
        vm.prank(agentWallet);
        vault.requestUnstake(2 * MIN_STAKE);
        skip(90 days);
        vm.prank(agentWallet);
        vault.withdrawStake();
        expected.agent += 2 * MIN_STAKE;
        expected.vault -= 2 * MIN_STAKE;
        _assertBalances(expected);
    }

    /// @dev The owner cannot slip new terms (a higher fee, a new arbitrator, a higher minimum stake)
    /// under a poster's pending createRun: the poster named the version it read.
    function test_RevertWhen_OwnerChangesTermsUnderAPendingCreateRun() public {
        (uint256 version,) = escrow.parameters();
        IRunEscrow.Parameters memory p = defaultEscrowParameters();
        p.feeBps = uint16(escrow.MAX_FEE_BPS());
        vm.prank(owner);
        escrow.setParameters(p);
        Balances memory expected = _balances();

        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowTermsChanged.selector, version, version + 1)
        );
        escrow.createAndFund(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, version);

        _setMinStake(2 * MIN_STAKE);
        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowTermsChanged.selector, version + 1, version + 2)
        );
        escrow.createAndFund(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, version + 1);
        assertEq(escrow.runCount(), 0, "no run created");
        _assertBalances(expected);
    }

    function test_RevertWhen_OwnerRebindsRunEscrow() public {
        uint256 agentId = _agent();
        MaliciousEscrow malicious = new MaliciousEscrow(vault);
        Balances memory expected = _balances();

        vm.prank(owner);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultEscrowAlreadySet.selector, address(escrow))
        );
        vault.setRunEscrow(address(malicious));
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, address(malicious))
        );
        malicious.steal(agentId, MIN_STAKE);

        assertEq(vault.runEscrow(), address(escrow), "escrow binding");
        _assertStake(agentId, MIN_STAKE, 0, 0);
        _assertBalances(expected);
    }
}

/*//////////////////////////////////////////////////////////////
                  LIVENESS: NO USDC LOCKED BY INACTION
//////////////////////////////////////////////////////////////*/

/// @notice For each of the 12 states: with both contracts paused and every counterparty silent,
/// strangers bring the run to a settled state within a bounded time, and afterwards the escrow holds
/// nothing of it (the accrued fees leave through withdrawFees, also while paused) and the agent's
/// whole stake can leave the vault.
contract LivenessTest is AttackBase {
    uint256 internal agentId;

    function setUp() public override {
        super.setUp();
        agentId = _agent();
    }

    /// @dev Walks a new run to `state`, the way its parties would.
    function _runIn(IRunEscrow.RunState state) internal returns (uint256 runId) {
        if (state == IRunEscrow.RunState.DRAFT) return _draftRun();
        if (state == IRunEscrow.RunState.OPEN) return _openRun();
        if (state == IRunEscrow.RunState.CLAIMED) return _claimedRun(agentId);
        if (state == IRunEscrow.RunState.SUBMITTED) return _submittedRun(agentId);
        if (state == IRunEscrow.RunState.REJECTED) return _rejectedRun(agentId);
        if (state == IRunEscrow.RunState.DISPUTED) return _disputedRun(agentId);
        if (state == IRunEscrow.RunState.CANCELLED || state == IRunEscrow.RunState.EXPIRED) {
            runId = _openRun();
            if (state == IRunEscrow.RunState.CANCELLED) {
                vm.prank(poster);
                escrow.cancel(runId);
            } else {
                vm.warp(escrow.getRun(runId).deadline + 1);
                vm.prank(stranger);
                escrow.expire(runId);
            }
        } else if (state == IRunEscrow.RunState.IN_PROGRESS) {
            runId = _claimedRun(agentId);
            vm.prank(agentWallet);
            escrow.start(runId);
        } else if (state == IRunEscrow.RunState.APPROVED || state == IRunEscrow.RunState.REVISION_REQUESTED) {
            runId = _submittedRun(agentId);
            vm.prank(poster);
            if (state == IRunEscrow.RunState.APPROVED) escrow.approve(runId);
            else escrow.requestRevision(runId, "more");
        } else {
            runId = _disputedRun(agentId);
            _resolve(runId, 5000, false);
        }
    }

    function _warpPast(uint256 end) internal {
        if (block.timestamp <= end) vm.warp(end + 1);
    }

    /// @dev Strangers take whichever exit the run offers, waiting no longer than that exit needs.
    /// Returns the number of exits taken.
    function _settleByStrangers(uint256 runId) internal returns (uint256 exits) {
        while (!escrow.getRun(runId).settled) {
            IRunEscrow.Run memory run = escrow.getRun(runId);
            IRunEscrow.RunState state = run.state;
            vm.startPrank(stranger);
            if (state == IRunEscrow.RunState.OPEN) {
                _warpPast(run.deadline);
                escrow.expire(runId);
            } else if (
                state == IRunEscrow.RunState.CLAIMED || state == IRunEscrow.RunState.IN_PROGRESS
                    || state == IRunEscrow.RunState.REVISION_REQUESTED
            ) {
                _warpPast(uint256(run.timerStart) + run.terms.claimTimeout + run.terms.reviewPeriod);
                escrow.slash(runId);
            } else if (state == IRunEscrow.RunState.SUBMITTED) {
                _warpPast(uint256(run.timerStart) + run.terms.reviewPeriod);
                escrow.approveOnTimeout(runId);
            } else if (state == IRunEscrow.RunState.REJECTED) {
                _warpPast(uint256(run.timerStart) + run.terms.disputeWindow);
                escrow.finalizeRejection(runId);
            } else if (state == IRunEscrow.RunState.DISPUTED) {
                _warpPast(uint256(run.timerStart) + run.terms.rulingPeriod);
                escrow.settleDispute(runId);
            } else {
                fail("no exit from this state");
            }
            vm.stopPrank();
            ++exits;
            assertLe(exits, 2, "at most two exits (slash, then expire)");
        }
    }

    function _total() internal view returns (uint256) {
        return usdc.balanceOf(poster) + usdc.balanceOf(agentWallet) + usdc.balanceOf(treasury)
            + usdc.balanceOf(stranger) + usdc.balanceOf(address(escrow)) + usdc.balanceOf(address(vault));
    }

    function _assertLiveness(IRunEscrow.RunState state) internal {
        uint256 total = _total();
        uint256 createdAt = block.timestamp;
        uint256 runId = _runIn(state);
        assertState(runId, state);
        _pauseBoth();

        uint256 exits = _settleByStrangers(runId);

        assertTrue(escrow.getRun(runId).settled, "settled");
        bool terminal = state == IRunEscrow.RunState.APPROVED || state == IRunEscrow.RunState.CANCELLED
            || state == IRunEscrow.RunState.EXPIRED || state == IRunEscrow.RunState.RESOLVED;
        assertEq(exits == 0, terminal, "only terminal states need no exit");
        // A run can be claimed up to its deadline, and a claim then locks it for at most MAX_LOCK.
        assertLe(block.timestamp, createdAt + 30 days + escrow.MAX_LOCK() + 1, "bounded time");
        _sweepFees();
        assertEq(usdc.balanceOf(address(escrow)), 0, "nothing left in the escrow");
        assertEq(escrow.creditOf(poster) + escrow.creditOf(agentWallet), 0, "no credits");

        // The agent's whole stake leaves too, paused or not.
        _assertStake(agentId, vault.getAgent(agentId).stake, 0, 0);
        uint256 stake = vault.getAgent(agentId).stake;
        if (stake != 0) {
            vm.prank(agentWallet);
            vault.requestUnstake(stake);
            skip(COOLDOWN);
            vm.prank(agentWallet);
            vault.withdrawStake();
        }
        assertEq(usdc.balanceOf(address(vault)), 0, "nothing left in the vault");
        assertEq(_total(), total, "no USDC created or lost");
    }

    /// @dev A DRAFT holds no USDC, so no one else has anything locked in it; its poster can still
    /// cancel it while paused.
    function test_Liveness_Draft() public {
        uint256 runId = _runIn(IRunEscrow.RunState.DRAFT);
        _pauseBoth();
        assertEq(usdc.balanceOf(address(escrow)), 0, "a draft holds nothing");
        vm.prank(poster);
        escrow.cancel(runId);
        assertState(runId, IRunEscrow.RunState.CANCELLED);
        assertEq(usdc.balanceOf(address(escrow)), 0, "nothing left in the escrow");
    }

    function test_Liveness_Open() public {
        _assertLiveness(IRunEscrow.RunState.OPEN);
    }

    function test_Liveness_Claimed() public {
        _assertLiveness(IRunEscrow.RunState.CLAIMED);
    }

    function test_Liveness_InProgress() public {
        _assertLiveness(IRunEscrow.RunState.IN_PROGRESS);
    }

    function test_Liveness_Submitted() public {
        _assertLiveness(IRunEscrow.RunState.SUBMITTED);
    }

    function test_Liveness_Approved() public {
        _assertLiveness(IRunEscrow.RunState.APPROVED);
    }

    function test_Liveness_RevisionRequested() public {
        _assertLiveness(IRunEscrow.RunState.REVISION_REQUESTED);
    }

    function test_Liveness_Rejected() public {
        _assertLiveness(IRunEscrow.RunState.REJECTED);
    }

    function test_Liveness_Cancelled() public {
        _assertLiveness(IRunEscrow.RunState.CANCELLED);
    }

    function test_Liveness_Expired() public {
        _assertLiveness(IRunEscrow.RunState.EXPIRED);
    }

    function test_Liveness_Disputed() public {
        _assertLiveness(IRunEscrow.RunState.DISPUTED);
    }

    function test_Liveness_Resolved() public {
        _assertLiveness(IRunEscrow.RunState.RESOLVED);
    }

    /// @dev The longest lock a run allows: MAX_REVISIONS revisions under the longest periods that fit
    /// MAX_LOCK, each answered at the last second, then a rejection, a dispute and a silent
    /// arbitrator. It still settles by MAX_LOCK after the claim, with strangers' exits only.
    function test_Liveness_WorstCaseLockStaysWithinMaxLock() public {
        IRunEscrow.Parameters memory p = defaultEscrowParameters();
        p.claimTimeout = 14 days;
        p.reviewPeriod = 14 days;
        p.disputeWindow = 30 days;
        p.rulingPeriod = 30 days;
        vm.prank(owner);
        escrow.setParameters(p);
        uint256 maxRevisions = 10; // (10 + 1) * 28 days + 60 days = 368 days: too long
        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowLockTooLong.selector, 368 days, escrow.MAX_LOCK())
        );
        escrow.createAndFund(SPEC, REWARD, defaultDeadline(), maxRevisions, 0, 0);
        maxRevisions = 9; // 10 * 28 days + 60 days = 340 days
        vm.prank(poster);
        uint256 runId = escrow.createAndFund(SPEC, REWARD, defaultDeadline(), maxRevisions, 0, 0);
        _claim(runId, agentId);
        uint256 claimedAt = block.timestamp;
        _pauseBoth();

        vm.warp(_claimEnd(runId));
        _submit(runId);
        for (uint256 i; i < maxRevisions; ++i) {
            vm.warp(_reviewEnd(runId));
            vm.prank(poster);
            escrow.requestRevision(runId, "more");
            vm.warp(_claimEnd(runId));
            _submit(runId);
        }
        vm.warp(_reviewEnd(runId));
        vm.prank(poster);
        escrow.reject(runId, REASON);
        vm.warp(_windowEnd(runId));
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
        _settleByStrangers(runId);

        assertEq(block.timestamp, claimedAt + 340 days + 1, "settled one second after the worst case");
        assertLe(block.timestamp - claimedAt, escrow.MAX_LOCK(), "within MAX_LOCK");
        _sweepFees();
        assertEq(usdc.balanceOf(address(escrow)), 0, "nothing left in the escrow");
        _assertStake(agentId, MIN_STAKE, 0, 0);
    }
}
