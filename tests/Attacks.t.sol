// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {Base} from "./Base.t.sol";
import {BlacklistUSDC} from "./mocks/BlacklistUSDC.sol";
import {ReentrantUSDC} from "./mocks/ReentrantUSDC.sol";
import {SigUtils} from "./utils/SigUtils.sol";
import {MockUSDC} from "../contracts/mocks/MockUSDC.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";
import {IUSDC} from "../contracts/interfaces/IUSDC.sol";
import {ClaimReasons} from "../contracts/libraries/ClaimReasons.sol";

/// @notice Shared by every attack suite: the USDC balances of every party, so each test can state
/// exactly what must move and check that nothing else did.
abstract contract AttackBase is Base {
    uint256 internal constant TOTAL = REWARD + FEE;

    struct Balances {
        uint256 poster;
        uint256 agent;
        uint256 otherAgent;
        uint256 treasury;
        uint256 stranger;
        uint256 owner;
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
        assertEq(actual.escrow, expected.escrow, "escrow balance");
        assertEq(actual.vault, expected.vault, "vault balance");
    }

    function _expectTransfer(address from, address to, uint256 amount) internal {
        vm.expectEmit(true, true, true, true, address(usdc));
        emit IERC20.Transfer(from, to, amount);
    }

    function _revokeApproval(address account, address spender) internal {
        vm.prank(account);
        usdc.approve(spender, 0);
    }

    function _insufficientAllowance(address spender, uint256 needed) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, spender, 0, needed);
    }
}

/*//////////////////////////////////////////////////////////////
                REENTRANCY THROUGH A MALICIOUS TOKEN
//////////////////////////////////////////////////////////////*/

/// @notice The token calls back into the escrow or vault in the middle of each token-moving
/// function; the reentrancy guards must stop the inner call and the outer call must pay once.
contract ReentrancyAttackTest is AttackBase {
    ReentrantUSDC internal token;

    function setUp() public override {
        super.setUp();
        token = ReentrantUSDC(address(usdc));
    }

    function _deployToken() internal override returns (MockUSDC) {
        return new ReentrantUSDC(owner);
    }

    function _guardError() internal pure returns (bytes memory) {
        return abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector);
    }

    function _expectReentryBlocked(address target) internal {
        vm.expectEmit(true, true, true, true, address(token));
        emit ReentrantUSDC.Reentered(target, true, _guardError());
    }

    function _assertReentryBlocked() internal view {
        assertTrue(token.reentered(), "reentrant call made");
        assertTrue(token.lastReentryReverted(), "reentrant call reverted");
        assertEq(token.lastReentryData(), _guardError(), "reentrant call revert data");
    }

    function test_Approve_ReentryIntoApproveReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        token.arm(address(escrow), abi.encodeCall(IRunEscrow.approve, (runId)));
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.treasury += FEE;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, false);
        _expectReentryBlocked(address(escrow));
        _expectTransfer(address(escrow), agentWallet, REWARD);
        _expectTransfer(address(escrow), treasury, FEE);
        vm.prank(poster);
        escrow.approve(runId);

        _assertReentryBlocked();
        assertState(runId, IRunEscrow.RunState.APPROVED);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.completions, 1, "one completion");
        assertEq(agent.activeClaims, 0, "claim released once");
        assertEq(agent.volume, REWARD, "volume counted once");
        assertEq(escrow.creditOf(agentWallet), 0, "no credit");
        _assertBalances(expected);
    }

    function test_Approve_ReentryIntoCancelOfAnotherRunReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        uint256 otherRunId = _openRun();
        token.arm(address(escrow), abi.encodeCall(IRunEscrow.cancel, (otherRunId)));
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.treasury += FEE;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, false);
        _expectReentryBlocked(address(escrow));
        _expectTransfer(address(escrow), agentWallet, REWARD);
        vm.prank(poster);
        escrow.approve(runId);

        _assertReentryBlocked();
        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertState(otherRunId, IRunEscrow.RunState.OPEN);
        assertEq(usdc.balanceOf(address(escrow)), TOTAL, "other run still escrowed");
        _assertBalances(expected);
    }

    function test_Fund_ReentryIntoCancelReverts() public {
        uint256 runId = _draftRun();
        token.arm(address(escrow), abi.encodeCall(IRunEscrow.cancel, (runId)));
        Balances memory expected = _balances();
        expected.poster -= TOTAL;
        expected.escrow += TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(runId, poster, TOTAL);
        _expectReentryBlocked(address(escrow));
        _expectTransfer(poster, address(escrow), TOTAL);
        vm.prank(poster);
        escrow.fund(runId);

        _assertReentryBlocked();
        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(expected);
    }

    function test_Cancel_ReentryIntoCancelReverts() public {
        uint256 runId = _openRun();
        token.arm(address(escrow), abi.encodeCall(IRunEscrow.cancel, (runId)));
        Balances memory expected = _balances();
        expected.poster += TOTAL;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, TOTAL);
        _expectReentryBlocked(address(escrow));
        _expectTransfer(address(escrow), poster, TOTAL);
        vm.prank(poster);
        escrow.cancel(runId);

        _assertReentryBlocked();
        assertState(runId, IRunEscrow.RunState.CANCELLED);
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
        token.arm(address(escrow), abi.encodeCall(IRunEscrow.withdrawCredit, ()));
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.escrow -= REWARD;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditWithdrawn(agentWallet, REWARD);
        _expectReentryBlocked(address(escrow));
        _expectTransfer(address(escrow), agentWallet, REWARD);
        vm.prank(agentWallet);
        uint256 paid = escrow.withdrawCredit();

        _assertReentryBlocked();
        assertEq(paid, REWARD, "paid");
        assertEq(escrow.creditOf(agentWallet), 0, "credit after");
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
        _assertBalances(expected);
    }

    function test_Expire_ReentryIntoExpireReverts() public {
        uint256 runId = _openRun();
        vm.warp(escrow.getRun(runId).deadline + 1);
        token.arm(address(escrow), abi.encodeCall(IRunEscrow.expire, (runId)));
        Balances memory expected = _balances();
        expected.poster += TOTAL;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunExpired(runId, poster, TOTAL);
        _expectReentryBlocked(address(escrow));
        _expectTransfer(address(escrow), poster, TOTAL);
        vm.prank(stranger);
        escrow.expire(runId);

        _assertReentryBlocked();
        assertState(runId, IRunEscrow.RunState.EXPIRED);
        _assertBalances(expected);
    }

    function test_Slash_ReentryIntoSlashReverts() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        skip(CLAIM_TIMEOUT + 1);
        // Fires on the first transfer: the vault sending the slashed stake to the escrow.
        token.arm(address(escrow), abi.encodeCall(IRunEscrow.slash, (runId)));
        Balances memory expected = _balances();
        expected.poster += MIN_STAKE;
        expected.vault -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(agentId, runId, MIN_STAKE, 0, 0, 1);
        _expectReentryBlocked(address(escrow));
        _expectTransfer(address(vault), address(escrow), MIN_STAKE);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        _expectTransfer(address(escrow), poster, MIN_STAKE);
        vm.prank(poster);
        escrow.slash(runId);

        _assertReentryBlocked();
        assertState(runId, IRunEscrow.RunState.OPEN);
        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.slashes, 1, "one strike");
        assertEq(agent.stake, 0, "stake taken once");
        assertEq(agent.activeClaims, 0, "claim released once");
        _assertBalances(expected);
    }

    function test_Slash_ReentryIntoVaultWithdrawStakeReverts() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 runId = _claimedRun(agentId);
        skip(CLAIM_TIMEOUT + 1);
        token.arm(address(vault), abi.encodeCall(IStakeVault.withdrawStake, ()));
        Balances memory expected = _balances();
        expected.poster += MIN_STAKE;
        expected.vault -= MIN_STAKE;

        _expectReentryBlocked(address(vault));
        _expectTransfer(address(vault), address(escrow), MIN_STAKE);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        _assertReentryBlocked();
        assertEq(vault.getAgent(agentId).stake, MIN_STAKE, "stake left");
        _assertBalances(expected);
    }

    function test_WithdrawStake_ReentryIntoWithdrawStakeReverts() public {
        uint256 agentId = _agent();
        vm.prank(agentWallet);
        vault.requestUnstake(MIN_STAKE);
        skip(COOLDOWN);
        token.arm(address(vault), abi.encodeCall(IStakeVault.withdrawStake, ()));
        Balances memory expected = _balances();
        expected.agent += MIN_STAKE;
        expected.vault -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeWithdrawn(agentId, agentWallet, MIN_STAKE);
        _expectReentryBlocked(address(vault));
        _expectTransfer(address(vault), agentWallet, MIN_STAKE);
        vm.prank(agentWallet);
        uint256 paid = vault.withdrawStake();

        _assertReentryBlocked();
        assertEq(paid, MIN_STAKE, "paid");
        assertEq(vault.getAgent(agentId).pendingUnstake, 0, "pending after");
        assertEq(vault.totalPending(), 0, "total pending after");
        _assertBalances(expected);
    }
}

/*//////////////////////////////////////////////////////////////
                   A BLACKLISTING TOKEN (CIRCLE USDC)
//////////////////////////////////////////////////////////////*/

/// @notice A blacklisted recipient never blocks a run: its payout becomes a credit, withdrawable once
/// the blacklist is lifted.
contract BlacklistAttackTest is AttackBase {
    BlacklistUSDC internal token;

    function setUp() public override {
        super.setUp();
        token = BlacklistUSDC(address(usdc));
    }

    function _deployToken() internal override returns (MockUSDC) {
        return new BlacklistUSDC(owner);
    }

    function _blacklist(address account) internal {
        vm.prank(owner);
        token.blacklist(account);
    }

    function _expectCredit(address account, uint256 runId, uint256 amount) internal {
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditAdded(account, runId, amount);
    }

    /// @dev The credit cannot leave while `account` is blacklisted, and leaves in full once it is not.
    function _assertCreditWithdrawableAfterUnBlacklist(address account, uint256 amount) internal {
        vm.prank(account);
        vm.expectRevert(abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, account));
        escrow.withdrawCredit();
        assertEq(escrow.creditOf(account), amount, "credit kept while blacklisted");

        vm.prank(owner);
        token.unBlacklist(account);
        uint256 accountBefore = usdc.balanceOf(account);
        uint256 escrowBefore = usdc.balanceOf(address(escrow));

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.CreditWithdrawn(account, amount);
        _expectTransfer(address(escrow), account, amount);
        vm.prank(account);
        assertEq(escrow.withdrawCredit(), amount, "withdrawn");

        assertEq(escrow.creditOf(account), 0, "credit after");
        assertEq(usdc.balanceOf(account), accountBefore + amount, "account paid");
        assertEq(usdc.balanceOf(address(escrow)), escrowBefore - amount, "escrow paid out");
    }

    function test_Approve_BlacklistedAgentRewardBecomesCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        _blacklist(agentWallet);
        Balances memory expected = _balances();
        expected.treasury += FEE;
        expected.escrow -= FEE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, false);
        _expectCredit(agentWallet, runId, REWARD);
        _expectTransfer(address(escrow), treasury, FEE);
        vm.prank(poster);
        escrow.approve(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertEq(vault.getAgent(agentId).completions, 1, "completion recorded");
        assertEq(escrow.creditOf(agentWallet), REWARD, "agent credit");
        assertEq(usdc.balanceOf(address(escrow)), escrow.creditOf(agentWallet), "escrow == credits");
        _assertBalances(expected);

        _assertCreditWithdrawableAfterUnBlacklist(agentWallet, REWARD);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
    }

    function test_Approve_BlacklistedTreasuryFeeBecomesCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _submittedRun(agentId);
        _blacklist(treasury);
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.escrow -= REWARD;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, false);
        _expectTransfer(address(escrow), agentWallet, REWARD);
        _expectCredit(treasury, runId, FEE);
        vm.prank(poster);
        escrow.approve(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertEq(escrow.creditOf(treasury), FEE, "treasury credit");
        assertEq(usdc.balanceOf(address(escrow)), FEE, "escrow == credits");
        _assertBalances(expected);

        _assertCreditWithdrawableAfterUnBlacklist(treasury, FEE);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
    }

    function test_Cancel_BlacklistedPosterRefundBecomesCredit() public {
        uint256 runId = _openRun();
        _blacklist(poster);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, TOTAL);
        _expectCredit(poster, runId, TOTAL);
        vm.prank(poster);
        escrow.cancel(runId);

        assertState(runId, IRunEscrow.RunState.CANCELLED);
        assertEq(escrow.creditOf(poster), TOTAL, "poster credit");
        assertEq(usdc.balanceOf(address(escrow)), TOTAL, "escrow == credits");
        _assertBalances(expected);

        _assertCreditWithdrawableAfterUnBlacklist(poster, TOTAL);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
    }

    function test_Expire_BlacklistedPosterRefundBecomesCredit() public {
        uint256 runId = _openRun();
        _blacklist(poster);
        vm.warp(escrow.getRun(runId).deadline + 1);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunExpired(runId, poster, TOTAL);
        _expectCredit(poster, runId, TOTAL);
        vm.prank(stranger);
        escrow.expire(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        assertEq(escrow.creditOf(poster), TOTAL, "poster credit");
        assertEq(usdc.balanceOf(address(escrow)), TOTAL, "escrow == credits");
        _assertBalances(expected);

        _assertCreditWithdrawableAfterUnBlacklist(poster, TOTAL);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
    }

    function test_Reject_BlacklistedPosterRefundBecomesCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _exhaustedRun(agentId);
        _blacklist(poster);
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Rejected(runId, agentId, poster, TOTAL);
        _expectCredit(poster, runId, TOTAL);
        vm.prank(poster);
        escrow.reject(runId);

        assertState(runId, IRunEscrow.RunState.REJECTED);
        assertEq(vault.getAgent(agentId).activeClaims, 0, "claim released");
        assertEq(escrow.creditOf(poster), TOTAL, "poster credit");
        assertEq(usdc.balanceOf(address(escrow)), TOTAL, "escrow == credits");
        _assertBalances(expected);

        _assertCreditWithdrawableAfterUnBlacklist(poster, TOTAL);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
    }

    function test_Slash_BlacklistedPosterStakeBecomesCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        _blacklist(poster);
        skip(CLAIM_TIMEOUT + 1);
        Balances memory expected = _balances();
        expected.vault -= MIN_STAKE;
        expected.escrow += MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        _expectCredit(poster, runId, MIN_STAKE);
        vm.prank(poster);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(escrow.creditOf(poster), MIN_STAKE, "poster credit");
        // The reopened run stays escrowed next to the credit.
        assertEq(usdc.balanceOf(address(escrow)), TOTAL + MIN_STAKE, "escrow == live run + credits");
        _assertBalances(expected);

        _assertCreditWithdrawableAfterUnBlacklist(poster, MIN_STAKE);
        assertEq(usdc.balanceOf(address(escrow)), TOTAL, "live run left");
    }

    function test_Slash_BlacklistedPosterPastDeadlineRefundAndStakeBecomeCredit() public {
        uint256 agentId = _agent();
        uint256 runId = _claimedRun(agentId);
        _blacklist(poster);
        vm.warp(escrow.getRun(runId).deadline + 1);
        Balances memory expected = _balances();
        expected.vault -= MIN_STAKE;
        expected.escrow += MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.EXPIRED, TOTAL);
        _expectCredit(poster, runId, MIN_STAKE + TOTAL);
        vm.prank(poster);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        assertEq(escrow.creditOf(poster), MIN_STAKE + TOTAL, "poster credit");
        assertEq(usdc.balanceOf(address(escrow)), MIN_STAKE + TOTAL, "escrow == credits");
        _assertBalances(expected);

        _assertCreditWithdrawableAfterUnBlacklist(poster, MIN_STAKE + TOTAL);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
    }

    function test_WithdrawCredit_PaysEveryCreditOnceAfterUnBlacklist() public {
        uint256 cancelled = _openRun();
        uint256 expired = _openRun();
        uint256 live = _openRun();
        _blacklist(poster);
        vm.prank(poster);
        escrow.cancel(cancelled);
        vm.warp(escrow.getRun(expired).deadline + 1);
        vm.prank(stranger);
        escrow.expire(expired);
        assertEq(escrow.creditOf(poster), 2 * TOTAL, "credits add up");
        assertEq(usdc.balanceOf(address(escrow)), 2 * TOTAL + TOTAL, "escrow == credits + live run");

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

/// @notice Racing claims, claiming for someone else's agent id, and replaying a poster's signature
/// seen in the mempool.
contract FrontRunAttackTest is AttackBase {
    function test_RevertGiven_RunAlreadyClaimed_SecondAgentLosesRace() public {
        uint256 first = _agent();
        uint256 second = _registerAndStake(otherAgentWallet, MIN_STAKE);
        uint256 runId = _openRun();
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Claimed(runId, first, agentWallet);
        vm.prank(agentWallet);
        escrow.claim(runId, first);

        vm.prank(otherAgentWallet);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowNotClaimable.selector, runId, second, ClaimReasons.RUN_NOT_OPEN
            )
        );
        escrow.claim(runId, second);

        IRunEscrow.Run memory run = escrow.getRun(runId);
        assertEq(run.agentId, first, "first claim kept");
        assertEq(uint256(run.state), uint256(IRunEscrow.RunState.CLAIMED), "state");
        assertEq(vault.getAgent(first).activeClaims, 1, "winner locked");
        assertEq(vault.getAgent(second).activeClaims, 0, "loser not locked");
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
        assertEq(escrow.getRun(runId).agentId, 0, "no agent");
        assertEq(vault.getAgent(victim).activeClaims, 0, "victim not locked");
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
        assertEq(usdc.allowance(poster, address(escrow)), TOTAL, "allowance after front-run");
        assertEq(usdc.allowance(poster, stranger), 0, "attacker has no allowance");
        vm.prank(stranger);
        vm.expectRevert(_insufficientAllowance(stranger, TOTAL));
        usdc.transferFrom(poster, stranger, TOTAL);
        // Nor can it spend the escrow's allowance: the escrow only pulls from its caller.
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotPoster.selector, runId, stranger));
        escrow.fund(runId);
        vm.prank(stranger);
        vm.expectRevert(_insufficientAllowance(address(escrow), TOTAL));
        escrow.createAndFund(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS);
        _assertBalances(expected);

        expected.poster -= TOTAL;
        expected.escrow += TOTAL;
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(runId, poster, TOTAL);
        _expectTransfer(poster, address(escrow), TOTAL);
        vm.prank(poster);
        escrow.fundWithPermit(runId, permit);

        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(usdc.allowance(poster, address(escrow)), 0, "allowance used");
        assertEq(escrow.runCount(), 1, "attacker created no run");
        _assertBalances(expected);
    }

    function test_FundWithAuthorization_FrontRunnerCannotUsePostersAuthorization() public {
        _revokeApproval(poster, address(escrow));
        uint256 runId = _draftRun();
        bytes32 nonce = keccak256("poster-nonce");
        IRunEscrow.Authorization memory auth = SigUtils.runEscrowAuthorization(
            IUSDC(address(usdc)), posterKey, address(escrow), TOTAL, 0, block.timestamp + 1 hours, nonce
        );
        Balances memory expected = _balances();

        // Straight to the token: only the payee (the escrow) may submit a receiveWithAuthorization.
        vm.prank(stranger);
        vm.expectRevert(
            abi.encodeWithSelector(MockUSDC.MockUSDCCallerMustBePayee.selector, stranger, address(escrow))
        );
        usdc.receiveWithAuthorization(
            poster, address(escrow), TOTAL, auth.validAfter, auth.validBefore, nonce, auth.v, auth.r, auth.s
        );
        // Nor can it be replayed as a transferWithAuthorization (a different typehash).
        vm.prank(stranger);
        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        usdc.transferWithAuthorization(
            poster, address(escrow), TOTAL, auth.validAfter, auth.validBefore, nonce, auth.v, auth.r, auth.s
        );
        // Through the escrow: funding the poster's run is poster-only.
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotPoster.selector, runId, stranger));
        escrow.fundWithAuthorization(runId, auth);
        // A run of its own pays from the attacker's address, which did not sign.
        vm.prank(stranger);
        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        escrow.createAndFundWithAuthorization(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, auth);

        assertFalse(usdc.authorizationState(poster, nonce), "nonce unused");
        assertEq(escrow.runCount(), 1, "attacker created no run");
        _assertBalances(expected);

        expected.poster -= TOTAL;
        expected.escrow += TOTAL;
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunFunded(runId, poster, TOTAL);
        _expectTransfer(poster, address(escrow), TOTAL);
        vm.prank(poster);
        escrow.fundWithAuthorization(runId, auth);

        assertState(runId, IRunEscrow.RunState.OPEN);
        assertTrue(usdc.authorizationState(poster, nonce), "nonce used");
        _assertBalances(expected);
    }
}

/*//////////////////////////////////////////////////////////////
                        CLAIMING YOUR OWN RUN
//////////////////////////////////////////////////////////////*/

contract SelfClaimAttackTest is AttackBase {
    function test_RevertWhen_PosterClaimsOwnRun() public {
        uint256 runId = _openRun();
        uint256 posterAgent = _registerAndStake(poster, MIN_STAKE);
        assertStatus(posterAgent, IStakeVault.AgentStatus.PROVISIONAL);
        (bool eligible, uint256 reasons) = escrow.canClaim(runId, posterAgent);
        assertFalse(eligible, "eligible");
        assertEq(reasons, ClaimReasons.AGENT_IS_POSTER, "reasons");
        Balances memory expected = _balances();

        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowNotClaimable.selector, runId, posterAgent, ClaimReasons.AGENT_IS_POSTER
            )
        );
        escrow.claim(runId, posterAgent);

        assertState(runId, IRunEscrow.RunState.OPEN);
        assertEq(vault.getAgent(posterAgent).activeClaims, 0, "not locked");
        _assertBalances(expected);
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
        assertEq(vault.getAgent(agentId).slashes, 0, "no strike");
        assertEq(vault.getAgent(agentId).stake, MIN_STAKE, "stake intact");
        _assertBalances(expected);
    }

    function test_RevertWhen_PosterSlashesAtClaimTimeout() public {
        vm.warp(claimedAt + CLAIM_TIMEOUT);
        Balances memory expected = _balances();

        vm.prank(poster);
        _expectNotTimedOut(claimedAt + CLAIM_TIMEOUT);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.CLAIMED);
        _assertNothingSlashed(expected);
    }

    function test_Slash_PosterOneSecondAfterClaimTimeout() public {
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

    function test_RevertWhen_StrangerSlashesBeforeReviewPeriodEnds() public {
        Balances memory expected = _balances();
        uint256 strangerSlashableAfter = claimedAt + CLAIM_TIMEOUT + REVIEW_PERIOD;

        // Past the poster's timeout: the poster could slash, a stranger not yet.
        vm.warp(claimedAt + CLAIM_TIMEOUT + 1);
        vm.prank(stranger);
        _expectNotTimedOut(strangerSlashableAfter);
        escrow.slash(runId);

        vm.warp(strangerSlashableAfter);
        vm.prank(stranger);
        _expectNotTimedOut(strangerSlashableAfter);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.CLAIMED);
        _assertNothingSlashed(expected);
    }

    function test_Slash_StrangerOneSecondAfterReviewPeriod() public {
        vm.warp(claimedAt + CLAIM_TIMEOUT + REVIEW_PERIOD + 1);
        Balances memory expected = _balances();
        expected.poster += MIN_STAKE;
        expected.vault -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(stranger);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.OPEN);
        _assertBalances(expected);
    }

    function test_RevertGiven_RevisionRequested_TimerRestarts() public {
        skip(2 days);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        skip(1 days);
        vm.prank(poster);
        escrow.requestRevision(runId, "more");
        uint256 revisedAt = block.timestamp;
        assertEq(escrow.getRun(runId).timerStart, revisedAt, "timer restarted");
        Balances memory expected = _balances();

        // The original claim timed out, but the revision request restarted the clock.
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

    function test_RevertGiven_RunSubmitted_PosterCannotSlash() public {
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        vm.warp(claimedAt + CLAIM_TIMEOUT + REVIEW_PERIOD + 1);
        Balances memory expected = _balances();

        vm.prank(poster);
        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowInvalidState.selector, runId, IRunEscrow.RunState.SUBMITTED
            )
        );
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.SUBMITTED);
        _assertNothingSlashed(expected);
    }
}

/*//////////////////////////////////////////////////////////////
                  WITHDRAWING STAKE DURING A CLAIM
//////////////////////////////////////////////////////////////*/

contract UnstakeDuringClaimAttackTest is AttackBase {
    function test_RevertGiven_ActiveClaim_RequestUnstake() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        _claimedRun(agentId);
        Balances memory expected = _balances();

        vm.prank(agentWallet);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultActiveClaims.selector, agentId, 1));
        vault.requestUnstake(MIN_STAKE);

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.stake, 2 * MIN_STAKE, "stake");
        assertEq(agent.pendingUnstake, 0, "pending");
        _assertBalances(expected);
    }

    function test_RevertGiven_ActiveClaim_WithdrawStakeAfterCooldown() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        vm.prank(agentWallet);
        vault.requestUnstake(MIN_STAKE);
        // What is left is exactly the minimum: still eligible.
        _claimedRun(agentId);
        skip(COOLDOWN);
        Balances memory expected = _balances();

        vm.prank(agentWallet);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultActiveClaims.selector, agentId, 1));
        vault.withdrawStake();

        assertEq(vault.getAgent(agentId).pendingUnstake, MIN_STAKE, "pending kept");
        _assertBalances(expected);
    }

    function test_WithdrawStake_AfterClaimSettles() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        vm.prank(agentWallet);
        vault.requestUnstake(MIN_STAKE);
        uint256 runId = _submittedRun(agentId);
        skip(COOLDOWN);
        vm.prank(poster);
        escrow.approve(runId);
        Balances memory expected = _balances();
        expected.agent += MIN_STAKE;
        expected.vault -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeWithdrawn(agentId, agentWallet, MIN_STAKE);
        vm.prank(agentWallet);
        assertEq(vault.withdrawStake(), MIN_STAKE, "withdrawn");

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.stake, MIN_STAKE, "stake left");
        assertEq(agent.pendingUnstake, 0, "pending");
        _assertBalances(expected);
    }

    function test_Slash_TakesPendingStake() public {
        uint256 agentId = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        vm.prank(agentWallet);
        vault.requestUnstake(MIN_STAKE);
        // Two claims on the remaining minimum stake; the pending half must still back them.
        uint256 first = _claimedRun(agentId);
        uint256 second = _claimedRun(agentId);
        skip(CLAIM_TIMEOUT + 1);
        Balances memory expected = _balances();
        expected.poster += 2 * MIN_STAKE;
        expected.vault -= 2 * MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(agentId, first, MIN_STAKE, 0, MIN_STAKE, 1);
        vm.prank(poster);
        escrow.slash(first);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(agentId, second, MIN_STAKE, 0, 0, 2);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(second, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(second);

        IStakeVault.Agent memory agent = vault.getAgent(agentId);
        assertEq(agent.stake, 0, "stake");
        assertEq(agent.pendingUnstake, 0, "pending taken");
        assertEq(vault.totalPending(), 0, "total pending");
        _assertBalances(expected);

        vm.prank(agentWallet);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNothingToWithdraw.selector, agentId));
        vault.withdrawStake();
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

        assertEq(vault.getAgent(agentId).stake, MIN_STAKE, "staked once");
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

        vm.prank(poster);
        vm.expectRevert(_insufficientAllowance(address(escrow), TOTAL));
        escrow.fundWithPermit(second, permit);

        assertState(first, IRunEscrow.RunState.OPEN);
        assertState(second, IRunEscrow.RunState.DRAFT);
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

        vm.prank(poster);
        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationUsed.selector, poster, nonce));
        escrow.fundWithAuthorization(second, auth);
        vm.prank(poster);
        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationUsed.selector, poster, nonce));
        escrow.createAndFundWithAuthorization(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, auth);

        assertState(first, IRunEscrow.RunState.OPEN);
        assertState(second, IRunEscrow.RunState.DRAFT);
        assertEq(escrow.runCount(), 2, "no run created by the replay");
        _assertBalances(expected);
    }

    function test_RevertWhen_VaultPermitUsedAtEscrow() public {
        _revokeApproval(poster, address(escrow));
        _revokeApproval(poster, address(vault));
        uint256 runId = _draftRun();
        // Signed for the vault, for the exact amount the run needs.
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

        assertEq(vault.getAgent(agentId).stake, 0, "nothing staked");
        assertEq(usdc.allowance(agentWallet, address(escrow)), 0, "no escrow allowance");
        _assertBalances(expected);
    }
}

/*//////////////////////////////////////////////////////////////
                     THE OWNER CANNOT TAKE FUNDS
//////////////////////////////////////////////////////////////*/

/// @dev Pretends to be a RunEscrow so a vault bound to it would slash on request.
contract MaliciousEscrow {
    IStakeVault private immutable _vault;

    constructor(IStakeVault vault_) {
        _vault = vault_;
    }

    function steal(uint256 agentId) external returns (uint256) {
        return _vault.slash(agentId, 0);
    }
}

contract OwnerAttackTest is AttackBase {
    function test_OwnerActions_LeaveEscrowAndStakeUntouched() public {
        uint256 agentId = _agent();
        uint256 submitted = _submittedRun(agentId);
        uint256 open = _openRun();
        Balances memory expected = _balances();
        assertEq(expected.escrow, 2 * TOTAL, "escrowed");
        assertEq(expected.vault, MIN_STAKE, "staked");

        vm.startPrank(owner);
        escrow.setParameters(escrow.MAX_FEE_BPS(), 1 hours, 1 hours);
        escrow.setTreasury(owner);
        escrow.pause();
        vault.setParameters(
            IStakeVault.Parameters({
                minStake: type(uint128).max,
                unstakeCooldown: 90 days,
                strikesToBan: 1,
                establishedCompletions: 0,
                establishedAge: 0
            })
        );
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultEscrowAlreadySet.selector, address(escrow)));
        vault.setRunEscrow(owner);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, owner));
        vault.slash(agentId, submitted);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNoCredit.selector, owner));
        escrow.withdrawCredit();
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNotRegistered.selector, owner));
        vault.withdrawStake();
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotPoster.selector, submitted, owner));
        escrow.approve(submitted);
        vm.expectRevert(abi.encodeWithSelector(IRunEscrow.RunEscrowNotPoster.selector, open, owner));
        escrow.cancel(open);
        vm.stopPrank();

        _assertBalances(expected);
        IRunEscrow.Run memory run = escrow.getRun(submitted);
        assertEq(run.fee, FEE, "fee kept");
        assertEq(run.claimTimeout, CLAIM_TIMEOUT, "claim timeout kept");
        assertEq(run.reviewPeriod, REVIEW_PERIOD, "review period kept");

        // The live runs settle on their original terms, paused or not. The fee goes to whatever
        // treasury is current: it was always the platform's, never the poster's or the agent's.
        expected.agent += REWARD;
        expected.owner += FEE;
        expected.escrow -= TOTAL;
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(submitted, agentId, agentWallet, REWARD, FEE, false);
        vm.prank(poster);
        escrow.approve(submitted);
        _assertBalances(expected);

        expected.poster += TOTAL;
        expected.escrow -= TOTAL;
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(open, poster, TOTAL);
        vm.prank(poster);
        escrow.cancel(open);
        _assertBalances(expected);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");

        // The agent gets its whole stake back after the (bounded) cooldown.
        vm.prank(agentWallet);
        vault.requestUnstake(MIN_STAKE);
        skip(90 days);
        expected.agent += MIN_STAKE;
        expected.vault -= MIN_STAKE;
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeWithdrawn(agentId, agentWallet, MIN_STAKE);
        vm.prank(agentWallet);
        vault.withdrawStake();
        _assertBalances(expected);
    }

    function test_RevertWhen_OwnerRebindsRunEscrow() public {
        uint256 agentId = _agent();
        MaliciousEscrow malicious = new MaliciousEscrow(vault);
        Balances memory expected = _balances();

        vm.prank(owner);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultEscrowAlreadySet.selector, address(escrow)));
        vault.setRunEscrow(address(malicious));
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, address(malicious)));
        malicious.steal(agentId);

        assertEq(vault.runEscrow(), address(escrow), "escrow binding");
        assertEq(vault.getAgent(agentId).stake, MIN_STAKE, "stake intact");
        _assertBalances(expected);
    }
}

/*//////////////////////////////////////////////////////////////
                        STUCK-MONEY LIVENESS
//////////////////////////////////////////////////////////////*/

/// @notice Every non-terminal state has an exit that does not need the silent party, and the exit
/// leaves nothing of the run in the escrow.
contract LivenessTest is AttackBase {
    uint256 internal agentId;

    function setUp() public override {
        super.setUp();
        agentId = _agent();
    }

    /// @dev A stranger slashes the silent agent once the claim timeout and a further review period
    /// have passed, late enough that the run is past its deadline and ends EXPIRED with a refund.
    function _strangerSlashesSilentAgent(uint256 runId) internal {
        IRunEscrow.Run memory run = escrow.getRun(runId);
        uint256 slashableAfter = uint256(run.timerStart) + run.claimTimeout + run.reviewPeriod;
        vm.warp((slashableAfter > run.deadline ? slashableAfter : run.deadline) + 1);
        Balances memory expected = _balances();
        expected.poster += TOTAL + MIN_STAKE;
        expected.escrow -= TOTAL;
        expected.vault -= MIN_STAKE;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.EXPIRED, TOTAL);
        vm.prank(stranger);
        escrow.slash(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        assertEq(vault.getAgent(agentId).activeClaims, 0, "claim released");
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
        _assertBalances(expected);
    }

    function test_Cancel_DraftHoldsNoMoney() public {
        uint256 runId = _draftRun();
        assertEq(usdc.balanceOf(address(escrow)), 0, "draft holds nothing");
        Balances memory expected = _balances();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunCancelled(runId, poster, 0);
        vm.prank(poster);
        escrow.cancel(runId);

        assertState(runId, IRunEscrow.RunState.CANCELLED);
        _assertBalances(expected);
    }

    function test_Expire_OpenRunByAnyoneAfterDeadline() public {
        uint256 runId = _openRun();
        vm.warp(escrow.getRun(runId).deadline + 1);
        Balances memory expected = _balances();
        expected.poster += TOTAL;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunExpired(runId, poster, TOTAL);
        vm.prank(stranger);
        escrow.expire(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
        _assertBalances(expected);
    }

    function test_Slash_ClaimedRunByAnyoneAfterSilence() public {
        _strangerSlashesSilentAgent(_claimedRun(agentId));
    }

    function test_Slash_InProgressRunByAnyoneAfterSilence() public {
        uint256 runId = _claimedRun(agentId);
        vm.prank(agentWallet);
        escrow.start(runId);
        assertState(runId, IRunEscrow.RunState.IN_PROGRESS);
        _strangerSlashesSilentAgent(runId);
    }

    function test_Slash_RevisionRequestedRunByAnyoneAfterSilence() public {
        uint256 runId = _submittedRun(agentId);
        skip(20 days);
        vm.prank(poster);
        escrow.requestRevision(runId, "more");
        assertState(runId, IRunEscrow.RunState.REVISION_REQUESTED);
        _strangerSlashesSilentAgent(runId);
    }

    function test_Slash_ReopenedRunThenExpiresByAnyone() public {
        uint256 runId = _claimedRun(agentId);
        skip(CLAIM_TIMEOUT + REVIEW_PERIOD + 1);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, agentId, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(stranger);
        escrow.slash(runId);
        assertEq(usdc.balanceOf(address(escrow)), TOTAL, "still escrowed");

        vm.warp(escrow.getRun(runId).deadline + 1);
        Balances memory expected = _balances();
        expected.poster += TOTAL;
        expected.escrow -= TOTAL;
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.RunExpired(runId, poster, TOTAL);
        vm.prank(stranger);
        escrow.expire(runId);

        assertState(runId, IRunEscrow.RunState.EXPIRED);
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
        _assertBalances(expected);
    }

    function test_ApproveOnTimeout_SubmittedRunByAnyone() public {
        uint256 runId = _submittedRun(agentId);
        skip(REVIEW_PERIOD + 1);
        Balances memory expected = _balances();
        expected.agent += REWARD;
        expected.treasury += FEE;
        expected.escrow -= TOTAL;

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, agentId, agentWallet, REWARD, FEE, true);
        vm.prank(stranger);
        escrow.approveOnTimeout(runId);

        assertState(runId, IRunEscrow.RunState.APPROVED);
        assertEq(vault.getAgent(agentId).activeClaims, 0, "claim released");
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow empty");
        _assertBalances(expected);
    }
}
