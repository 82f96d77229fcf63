// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {StakeVault} from "../contracts/StakeVault.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";
import {IUSDC} from "../contracts/interfaces/IUSDC.sol";
import {ClaimReasons} from "../contracts/libraries/ClaimReasons.sol";
import {Base} from "./Base.t.sol";
import {SigUtils} from "./utils/SigUtils.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice Unit and fuzz tests of every external function of {StakeVault}: agent actions, the
/// RunEscrow hooks (through real escrow flows), the trust ladder, eligibility and the owner surface.
contract StakeVaultTest is Base {
    uint256 internal constant MAX_COOLDOWN = 90 days;
    /// @dev Storage slot of `_agentCount`: Ownable `_owner` (0), Ownable2Step `_pendingOwner` (1),
    /// `_runEscrow` (2), `_parameters` (3, packed into one slot), `_agentCount` (4).
    bytes32 internal constant AGENT_COUNT_SLOT = bytes32(uint256(4));

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    function _params(uint128 minStake, uint32 cooldown, uint16 strikes)
        internal
        pure
        returns (IStakeVault.Parameters memory p)
    {
        p = defaultVaultParameters();
        p.minStake = minStake;
        p.unstakeCooldown = cooldown;
        p.strikesToBan = strikes;
    }

    function _stake(address wallet, uint256 amount) internal {
        vm.prank(wallet);
        vault.stake(amount);
    }

    function _requestUnstake(address wallet, uint256 amount) internal {
        vm.prank(wallet);
        vault.requestUnstake(amount);
    }

    /// @dev Claims a fresh run with `agentId`, lets the claim time out and has the poster slash it.
    function _slashFreshRun(uint256 agentId) internal returns (uint256 runId) {
        runId = _claimedRun(agentId);
        _slashClaimed(runId);
    }

    /// @dev Lets the claim of `runId` time out and has the poster slash it.
    function _slashClaimed(uint256 runId) internal {
        skip(CLAIM_TIMEOUT + 1);
        vm.prank(poster);
        escrow.slash(runId);
    }

    /// @dev Walks a fresh run to APPROVED with `agentId`.
    function _completeRun(uint256 agentId) internal returns (uint256 runId) {
        runId = _submittedRun(agentId);
        vm.prank(poster);
        escrow.approve(runId);
    }

    /// @dev The main agent with 100 USDC, slashed three times (restaking 1 base unit in between to
    /// leave FROZEN and claim again). Ends BANNED with 40 USDC + 2 base units of active stake.
    function _bannedAgent() internal returns (uint256 agentId) {
        agentId = _registerAndStake(agentWallet, 100e6);
        _slashFreshRun(agentId);
        _stake(agentWallet, 1);
        _slashFreshRun(agentId);
        _stake(agentWallet, 1);
        _slashFreshRun(agentId);
    }

    function _countVaultLogs(Vm.Log[] memory logs, bytes32 topic0) internal view returns (uint256 count) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(vault) && logs[i].topics[0] == topic0) ++count;
        }
    }

    function _assertTotals(uint256 staked, uint256 pending) internal view {
        assertEq(vault.totalStaked(), staked, "totalStaked");
        assertEq(vault.totalPending(), pending, "totalPending");
    }

    function _assertMoney(uint256 agentId, uint256 staked, uint256 pending) internal view {
        IStakeVault.Agent memory a = vault.getAgent(agentId);
        assertEq(a.stake, staked, "agent stake");
        assertEq(a.pendingUnstake, pending, "agent pending");
    }

    function _expectStatusChange(uint256 agentId, IStakeVault.AgentStatus from, IStakeVault.AgentStatus to)
        internal
    {
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(agentId, from, to);
    }

    function _assertParameters(IStakeVault.Parameters memory expected) internal view {
        IStakeVault.Parameters memory p = vault.parameters();
        assertEq(p.minStake, expected.minStake, "minStake");
        assertEq(p.unstakeCooldown, expected.unstakeCooldown, "unstakeCooldown");
        assertEq(p.strikesToBan, expected.strikesToBan, "strikesToBan");
        assertEq(p.establishedCompletions, expected.establishedCompletions, "establishedCompletions");
        assertEq(p.establishedAge, expected.establishedAge, "establishedAge");
    }

    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_Constructor_SetsInitialState() public {
        vm.expectEmit(true, true, true, true);
        emit IStakeVault.ParametersUpdated(
            MIN_STAKE, COOLDOWN, STRIKES_TO_BAN, ESTABLISHED_COMPLETIONS, ESTABLISHED_AGE
        );
        StakeVault fresh = new StakeVault(IUSDC(address(usdc)), owner, defaultVaultParameters());

        assertEq(fresh.usdc(), address(usdc), "usdc");
        assertEq(fresh.runEscrow(), address(0), "runEscrow unset");
        assertEq(fresh.owner(), owner, "owner");
        assertEq(fresh.pendingOwner(), address(0), "pendingOwner");
        assertEq(fresh.agentCount(), 0, "agentCount");
        assertEq(fresh.totalStaked(), 0, "totalStaked");
        assertEq(fresh.totalPending(), 0, "totalPending");
        assertEq(fresh.MAX_UNSTAKE_COOLDOWN(), MAX_COOLDOWN, "MAX_UNSTAKE_COOLDOWN");
        IStakeVault.Parameters memory p = fresh.parameters();
        assertEq(p.minStake, MIN_STAKE, "minStake");
        assertEq(p.unstakeCooldown, COOLDOWN, "unstakeCooldown");
        assertEq(p.strikesToBan, STRIKES_TO_BAN, "strikesToBan");
        assertEq(p.establishedCompletions, ESTABLISHED_COMPLETIONS, "establishedCompletions");
        assertEq(p.establishedAge, ESTABLISHED_AGE, "establishedAge");
    }

    function test_Constructor_FixtureIsBoundToEscrow() public view {
        assertEq(vault.usdc(), address(usdc), "usdc");
        assertEq(vault.runEscrow(), address(escrow), "runEscrow");
        assertEq(vault.owner(), owner, "owner");
        assertEq(vault.agentCount(), 0, "agentCount");
        _assertTotals(0, 0);
        _assertParameters(defaultVaultParameters());
    }

    function test_Constructor_AcceptsMaxCooldown() public {
        StakeVault fresh =
            new StakeVault(IUSDC(address(usdc)), owner, _params(MIN_STAKE, uint32(MAX_COOLDOWN), STRIKES_TO_BAN));
        assertEq(fresh.parameters().unstakeCooldown, MAX_COOLDOWN);
    }

    function test_RevertWhen_ConstructorUsdcIsZero() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultZeroAddress.selector));
        new StakeVault(IUSDC(address(0)), owner, defaultVaultParameters());
    }

    function test_RevertWhen_ConstructorOwnerIsZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new StakeVault(IUSDC(address(usdc)), address(0), defaultVaultParameters());
    }

    function test_RevertWhen_ConstructorMinStakeIsZero() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultInvalidMinStake.selector, 0));
        new StakeVault(IUSDC(address(usdc)), owner, _params(0, COOLDOWN, STRIKES_TO_BAN));
    }

    function test_RevertWhen_ConstructorStrikesToBanIsZero() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultInvalidStrikes.selector, 0));
        new StakeVault(IUSDC(address(usdc)), owner, _params(MIN_STAKE, COOLDOWN, 0));
    }

    function test_RevertWhen_ConstructorCooldownAboveMax() public {
        uint32 cooldown = uint32(MAX_COOLDOWN + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultInvalidCooldown.selector, cooldown, 0, MAX_COOLDOWN)
        );
        new StakeVault(IUSDC(address(usdc)), owner, _params(MIN_STAKE, cooldown, STRIKES_TO_BAN));
    }

    /*//////////////////////////////////////////////////////////////
                                REGISTER
    //////////////////////////////////////////////////////////////*/

    function test_Register_AssignsIdsFromOne() public {
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentRegistered(1, agentWallet, "ipfs://first");
        vm.prank(agentWallet);
        uint256 first = vault.register("ipfs://first");

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentRegistered(2, otherAgentWallet, "ipfs://second");
        vm.prank(otherAgentWallet);
        uint256 second = vault.register("ipfs://second");

        assertEq(first, 1, "first id");
        assertEq(second, 2, "second id");
        assertEq(vault.agentCount(), 2, "agentCount");
        assertEq(vault.agentIdOf(agentWallet), 1, "agentIdOf first");
        assertEq(vault.agentIdOf(otherAgentWallet), 2, "agentIdOf second");
        assertEq(vault.walletOf(1), agentWallet, "walletOf first");
        assertEq(vault.walletOf(2), otherAgentWallet, "walletOf second");
    }

    function test_Register_StartsUnverifiedWithEmptyRecord() public {
        uint256 id = _register(agentWallet);
        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.wallet, agentWallet, "wallet");
        assertEq(a.stake, 0, "stake");
        assertEq(a.pendingUnstake, 0, "pending");
        assertEq(a.unstakeReadyAt, 0, "readyAt");
        assertEq(a.stakedSince, 0, "stakedSince");
        assertEq(a.activeClaims, 0, "activeClaims");
        assertEq(a.claims, 0, "claims");
        assertEq(a.completions, 0, "completions");
        assertEq(a.slashes, 0, "slashes");
        assertEq(a.volume, 0, "volume");
        assertFalse(a.frozen, "frozen");
        assertEq(uint256(a.status), uint256(IStakeVault.AgentStatus.UNVERIFIED), "status");
        assertStatus(id, IStakeVault.AgentStatus.UNVERIFIED);
    }

    function test_Register_UnknownWalletAndIdReadAsZero() public {
        _register(agentWallet);
        assertEq(vault.agentIdOf(stranger), 0, "agentIdOf unknown");
        assertEq(vault.walletOf(2), address(0), "walletOf unknown");
        assertEq(vault.walletOf(0), address(0), "walletOf zero");
    }

    function test_RevertGiven_WalletAlreadyRegistered() public {
        uint256 id = _register(agentWallet);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultAlreadyRegistered.selector, agentWallet, id)
        );
        vm.prank(agentWallet);
        vault.register("ipfs://again");
        assertEq(vault.agentCount(), 1, "agentCount unchanged");
    }

    function test_RevertGiven_AgentIdsExhausted() public {
        _register(agentWallet);
        assertEq(uint256(vm.load(address(vault), AGENT_COUNT_SLOT)), 1, "agentCount slot");
        vm.store(address(vault), AGENT_COUNT_SLOT, bytes32(uint256(type(uint32).max)));
        vm.expectRevert(
            abi.encodeWithSelector(
                IStakeVault.StakeVaultAmountTooLarge.selector, uint256(type(uint32).max) + 1, type(uint32).max
            )
        );
        vm.prank(otherAgentWallet);
        vault.register("ipfs://agent");
    }

    /*//////////////////////////////////////////////////////////////
                                 GETTERS
    //////////////////////////////////////////////////////////////*/

    function test_RevertGiven_GetAgentUnknownId() public {
        _register(agentWallet);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAgentNotFound.selector, 2));
        vault.getAgent(2);
    }

    function test_RevertGiven_GetAgentIdZero() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAgentNotFound.selector, 0));
        vault.getAgent(0);
    }

    function test_RevertGiven_StatusOfUnknownId() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAgentNotFound.selector, 7));
        vault.statusOf(7);
    }

    /*//////////////////////////////////////////////////////////////
                                  STAKE
    //////////////////////////////////////////////////////////////*/

    function test_Stake_MovesUsdcAndPromotesToProvisional() public {
        uint256 id = _register(agentWallet);
        uint256 walletBefore = usdc.balanceOf(agentWallet);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(id, agentWallet, MIN_STAKE, MIN_STAKE);
        _expectStatusChange(id, IStakeVault.AgentStatus.UNVERIFIED, IStakeVault.AgentStatus.PROVISIONAL);
        _stake(agentWallet, MIN_STAKE);

        assertEq(usdc.balanceOf(agentWallet), walletBefore - MIN_STAKE, "wallet paid");
        assertEq(usdc.balanceOf(address(vault)), MIN_STAKE, "vault holds stake");
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow untouched");
        _assertMoney(id, MIN_STAKE, 0);
        _assertTotals(MIN_STAKE, 0);
        assertEq(vault.getAgent(id).stakedSince, block.timestamp, "stakedSince");
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_Stake_BelowMinimumStaysUnverified() public {
        uint256 id = _register(agentWallet);
        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(id, agentWallet, MIN_STAKE - 1, MIN_STAKE - 1);
        _stake(agentWallet, MIN_STAKE - 1);

        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countVaultLogs(logs, IStakeVault.AgentStatusChanged.selector), 0, "no status event");
        assertEq(vault.getAgent(id).stakedSince, 0, "stakedSince unset");
        _assertMoney(id, MIN_STAKE - 1, 0);
        _assertTotals(MIN_STAKE - 1, 0);
        assertEq(usdc.balanceOf(address(vault)), MIN_STAKE - 1, "vault balance");
        assertStatus(id, IStakeVault.AgentStatus.UNVERIFIED);
    }

    function test_Stake_AccumulatesAndReportsTotalStake() public {
        uint256 id = _registerAndStake(agentWallet, 5e6);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(id, agentWallet, 30e6, 35e6);
        _stake(agentWallet, 30e6);
        _assertMoney(id, 35e6, 0);

        uint256 other = _registerAndStake(otherAgentWallet, 7e6);
        _assertMoney(other, 7e6, 0);
        _assertTotals(42e6, 0);
        assertEq(usdc.balanceOf(address(vault)), 42e6, "vault balance");
    }

    function test_Stake_SetsStakedSinceOnceWhenFirstReachingMinimum() public {
        uint256 id = _registerAndStake(agentWallet, 10e6);
        assertEq(vault.getAgent(id).stakedSince, 0, "below minimum");

        skip(1 days);
        uint256 reachedAt = block.timestamp;
        _expectStatusChange(id, IStakeVault.AgentStatus.UNVERIFIED, IStakeVault.AgentStatus.PROVISIONAL);
        _stake(agentWallet, 10e6);
        assertEq(vault.getAgent(id).stakedSince, reachedAt, "set on reaching minimum");

        skip(1 days);
        _stake(agentWallet, 5e6);
        assertEq(vault.getAgent(id).stakedSince, reachedAt, "not reset by a later stake");

        _requestUnstake(agentWallet, 25e6);
        skip(COOLDOWN);
        vm.prank(agentWallet);
        vault.withdrawStake();
        _stake(agentWallet, MIN_STAKE);
        assertEq(vault.getAgent(id).stakedSince, reachedAt, "not reset by leaving and re-reaching");
    }

    function test_RevertWhen_StakeCallerNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNotRegistered.selector, stranger));
        _stake(stranger, MIN_STAKE);
    }

    function test_RevertWhen_StakeAmountIsZero() public {
        _register(agentWallet);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultZeroAmount.selector));
        _stake(agentWallet, 0);
    }

    function test_RevertWhen_StakeTotalExceedsUint128() public {
        _registerAndStake(otherAgentWallet, 10e6);
        _register(agentWallet);
        uint256 amount = uint256(type(uint128).max) - 10e6 + 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                IStakeVault.StakeVaultAmountTooLarge.selector, amount, uint256(type(uint128).max) - 10e6
            )
        );
        _stake(agentWallet, amount);
    }

    function test_RevertGiven_StakeAgentBanned() public {
        uint256 id = _bannedAgent();
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAgentBanned.selector, id));
        _stake(agentWallet, MIN_STAKE);
    }

    function test_RevertWhen_StakeAllowanceInsufficient() public {
        _register(agentWallet);
        vm.prank(agentWallet);
        usdc.approve(address(vault), MIN_STAKE - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(vault), MIN_STAKE - 1, MIN_STAKE
            )
        );
        _stake(agentWallet, MIN_STAKE);
    }

    function test_RevertWhen_StakeBalanceInsufficient() public {
        address broke = makeAddr("broke");
        _register(broke);
        vm.prank(broke);
        usdc.approve(address(vault), type(uint256).max);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, broke, 0, MIN_STAKE)
        );
        _stake(broke, MIN_STAKE);
    }

    /*//////////////////////////////////////////////////////////////
                             STAKE WITH PERMIT
    //////////////////////////////////////////////////////////////*/

    function _signAgentPermit(uint256 amount, uint256 deadline) internal view returns (uint8, bytes32, bytes32) {
        return SigUtils.signPermit(IUSDC(address(usdc)), agentKey, address(vault), amount, deadline);
    }

    function test_StakeWithPermit_StakesWithOneSignature() public {
        uint256 id = _register(agentWallet);
        vm.prank(agentWallet);
        usdc.approve(address(vault), 0);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signAgentPermit(MIN_STAKE, deadline);
        uint256 walletBefore = usdc.balanceOf(agentWallet);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(id, agentWallet, MIN_STAKE, MIN_STAKE);
        _expectStatusChange(id, IStakeVault.AgentStatus.UNVERIFIED, IStakeVault.AgentStatus.PROVISIONAL);
        vm.prank(agentWallet);
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);

        assertEq(usdc.nonces(agentWallet), 1, "permit consumed");
        assertEq(usdc.allowance(agentWallet, address(vault)), 0, "allowance spent");
        assertEq(usdc.balanceOf(agentWallet), walletBefore - MIN_STAKE, "wallet paid");
        assertEq(usdc.balanceOf(address(vault)), MIN_STAKE, "vault holds stake");
        _assertMoney(id, MIN_STAKE, 0);
        _assertTotals(MIN_STAKE, 0);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_StakeWithPermit_SucceedsWhenPermitFrontRun() public {
        uint256 id = _register(agentWallet);
        vm.prank(agentWallet);
        usdc.approve(address(vault), 0);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signAgentPermit(MIN_STAKE, deadline);

        // Someone copies the permit from the mempool and submits it first.
        vm.prank(stranger);
        usdc.permit(agentWallet, address(vault), MIN_STAKE, deadline, v, r, s);
        assertEq(usdc.allowance(agentWallet, address(vault)), MIN_STAKE, "front-run allowance");

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(id, agentWallet, MIN_STAKE, MIN_STAKE);
        vm.prank(agentWallet);
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);

        assertEq(usdc.nonces(agentWallet), 1, "nonce used once");
        assertEq(usdc.allowance(agentWallet, address(vault)), 0, "allowance spent");
        assertEq(usdc.balanceOf(address(vault)), MIN_STAKE, "vault holds stake");
        _assertMoney(id, MIN_STAKE, 0);
        _assertTotals(MIN_STAKE, 0);
    }

    function test_StakeWithPermit_UsesExistingAllowanceWhenPermitInvalid() public {
        uint256 id = _register(agentWallet);
        // A garbage signature with the fixture's standing approval still stakes.
        vm.prank(agentWallet);
        vault.stakeWithPermit(MIN_STAKE, block.timestamp + 1 hours, 27, bytes32(uint256(1)), bytes32(uint256(2)));
        assertEq(usdc.nonces(agentWallet), 0, "no permit used");
        _assertMoney(id, MIN_STAKE, 0);
        assertEq(usdc.balanceOf(address(vault)), MIN_STAKE, "vault holds stake");
    }

    function test_RevertWhen_StakeWithPermitNeitherPermitNorAllowance() public {
        _register(agentWallet);
        vm.prank(agentWallet);
        usdc.approve(address(vault), 0);
        // Expired permit: the permit call fails and there is no allowance to fall back on.
        uint256 deadline = block.timestamp - 1;
        (uint8 v, bytes32 r, bytes32 s) = _signAgentPermit(MIN_STAKE, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(vault), 0, MIN_STAKE)
        );
        vm.prank(agentWallet);
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
    }

    function test_RevertWhen_StakeWithPermitSignedBySomeoneElse() public {
        _register(agentWallet);
        vm.prank(agentWallet);
        usdc.approve(address(vault), 0);
        uint256 deadline = block.timestamp + 1 hours;
        // The poster signs a permit; the agent tries to use it for its own stake.
        (uint8 v, bytes32 r, bytes32 s) =
            SigUtils.signPermit(IUSDC(address(usdc)), posterKey, address(vault), MIN_STAKE, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(vault), 0, MIN_STAKE)
        );
        vm.prank(agentWallet);
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
    }

    function test_RevertWhen_StakeWithPermitCallerNotRegistered() public {
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signAgentPermit(MIN_STAKE, deadline);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNotRegistered.selector, agentWallet));
        vm.prank(agentWallet);
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
    }

    /*//////////////////////////////////////////////////////////////
                             REQUEST UNSTAKE
    //////////////////////////////////////////////////////////////*/

    function test_RequestUnstake_MovesStakeToPending() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        uint64 readyAt = uint64(block.timestamp + COOLDOWN);

        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.UnstakeRequested(id, 10e6, 40e6, 10e6, readyAt);
        _requestUnstake(agentWallet, 10e6);

        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countVaultLogs(logs, IStakeVault.AgentStatusChanged.selector), 0, "still PROVISIONAL");
        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.stake, 40e6, "stake");
        assertEq(a.pendingUnstake, 10e6, "pending");
        assertEq(a.unstakeReadyAt, readyAt, "readyAt");
        _assertTotals(40e6, 10e6);
        assertEq(usdc.balanceOf(address(vault)), 50e6, "no USDC moved");
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_RequestUnstake_DropsToUnverifiedBelowMinimum() public {
        uint256 id = _agent();
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.UnstakeRequested(id, 1, MIN_STAKE - 1, 1, uint64(block.timestamp + COOLDOWN));
        _expectStatusChange(id, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.UNVERIFIED);
        _requestUnstake(agentWallet, 1);

        assertStatus(id, IStakeVault.AgentStatus.UNVERIFIED);
        (, uint256 reasons) = vault.eligibility(id, poster);
        assertEq(reasons, ClaimReasons.INSUFFICIENT_STAKE, "pending stake does not count");
    }

    function test_RequestUnstake_AddsToPendingAndRestartsCooldown() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _requestUnstake(agentWallet, 10e6);
        skip(3 days);
        uint64 readyAt = uint64(block.timestamp + COOLDOWN);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.UnstakeRequested(id, 15e6, 25e6, 25e6, readyAt);
        _requestUnstake(agentWallet, 15e6);

        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.pendingUnstake, 25e6, "pending summed");
        assertEq(a.unstakeReadyAt, readyAt, "cooldown restarted");
        _assertTotals(25e6, 25e6);
    }

    function test_RequestUnstake_AllowsWholeStake() public {
        uint256 id = _agent();
        _requestUnstake(agentWallet, MIN_STAKE);
        _assertMoney(id, 0, MIN_STAKE);
        _assertTotals(0, MIN_STAKE);
        assertStatus(id, IStakeVault.AgentStatus.UNVERIFIED);
    }

    function test_RevertWhen_RequestUnstakeCallerNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNotRegistered.selector, stranger));
        _requestUnstake(stranger, 1);
    }

    function test_RevertWhen_RequestUnstakeAmountIsZero() public {
        _agent();
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultZeroAmount.selector));
        _requestUnstake(agentWallet, 0);
    }

    function test_RevertWhen_RequestUnstakeMoreThanStaked() public {
        uint256 id = _agent();
        vm.expectRevert(
            abi.encodeWithSelector(
                IStakeVault.StakeVaultInsufficientStake.selector, id, MIN_STAKE, uint256(MIN_STAKE) + 1
            )
        );
        _requestUnstake(agentWallet, uint256(MIN_STAKE) + 1);
    }

    function test_RevertWhen_RequestUnstakeMoreThanActiveStakeWithPending() public {
        uint256 id = _registerAndStake(agentWallet, 30e6);
        _requestUnstake(agentWallet, 10e6);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultInsufficientStake.selector, id, 20e6, 25e6)
        );
        _requestUnstake(agentWallet, 25e6);
    }

    function test_RevertGiven_RequestUnstakeWithActiveClaim() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _claimedRun(id);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultActiveClaims.selector, id, uint32(1)));
        _requestUnstake(agentWallet, 10e6);
    }

    /*//////////////////////////////////////////////////////////////
                              WITHDRAW STAKE
    //////////////////////////////////////////////////////////////*/

    function test_WithdrawStake_PaysWalletAfterCooldown() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _requestUnstake(agentWallet, 30e6);
        skip(COOLDOWN);
        uint256 walletBefore = usdc.balanceOf(agentWallet);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeWithdrawn(id, agentWallet, 30e6);
        vm.prank(agentWallet);
        uint256 paid = vault.withdrawStake();

        assertEq(paid, 30e6, "returned amount");
        assertEq(usdc.balanceOf(agentWallet), walletBefore + 30e6, "wallet paid");
        assertEq(usdc.balanceOf(address(vault)), 20e6, "vault keeps active stake");
        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.stake, 20e6, "stake");
        assertEq(a.pendingUnstake, 0, "pending cleared");
        assertEq(a.unstakeReadyAt, 0, "readyAt cleared");
        _assertTotals(20e6, 0);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_RevertGiven_WithdrawNothingPending() public {
        uint256 id = _agent();
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNothingToWithdraw.selector, id));
        vm.prank(agentWallet);
        vault.withdrawStake();
    }

    function test_RevertGiven_WithdrawTwice() public {
        uint256 id = _agent();
        _requestUnstake(agentWallet, MIN_STAKE);
        skip(COOLDOWN);
        vm.prank(agentWallet);
        vault.withdrawStake();
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNothingToWithdraw.selector, id));
        vm.prank(agentWallet);
        vault.withdrawStake();
    }

    function test_RevertGiven_WithdrawCooldownActive() public {
        uint256 id = _agent();
        _requestUnstake(agentWallet, MIN_STAKE);
        uint64 readyAt = uint64(block.timestamp + COOLDOWN);
        skip(COOLDOWN - 1);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultCooldownActive.selector, id, readyAt));
        vm.prank(agentWallet);
        vault.withdrawStake();
    }

    function test_RevertGiven_WithdrawWithActiveClaim() public {
        uint256 id = _registerAndStake(agentWallet, 40e6);
        _requestUnstake(agentWallet, 20e6);
        // The rest still meets the minimum: the agent claims with it.
        _claimedRun(id);
        skip(COOLDOWN);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultActiveClaims.selector, id, uint32(1)));
        vm.prank(agentWallet);
        vault.withdrawStake();
        _assertMoney(id, 20e6, 20e6);
    }

    function test_RevertWhen_WithdrawCallerNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNotRegistered.selector, stranger));
        vm.prank(stranger);
        vault.withdrawStake();
    }

    /*//////////////////////////////////////////////////////////////
                       HOOKS: ONLY THE RUN ESCROW
    //////////////////////////////////////////////////////////////*/

    function test_RevertWhen_LockClaimCallerNotEscrow() public {
        uint256 id = _agent();
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, stranger));
        vm.prank(stranger);
        vault.lockClaim(id, poster);
    }

    function test_RevertWhen_ReleaseClaimCallerNotEscrow() public {
        uint256 id = _agent();
        _claimedRun(id);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, owner));
        vm.prank(owner);
        vault.releaseClaim(id);
    }

    function test_RevertWhen_RecordCompletionCallerNotEscrow() public {
        uint256 id = _agent();
        _claimedRun(id);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, poster));
        vm.prank(poster);
        vault.recordCompletion(id, REWARD);
    }

    function test_RevertWhen_SlashCallerNotEscrow() public {
        uint256 id = _agent();
        uint256 runId = _claimedRun(id);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, agentWallet));
        vm.prank(agentWallet);
        vault.slash(id, runId);
    }

    function test_RevertWhen_HookCalledBeforeEscrowIsSet() public {
        StakeVault fresh = new StakeVault(IUSDC(address(usdc)), owner, defaultVaultParameters());
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, address(escrow)));
        vm.prank(address(escrow));
        fresh.lockClaim(1, poster);
    }

    /*//////////////////////////////////////////////////////////////
                    HOOKS: EFFECTS THROUGH THE ESCROW
    //////////////////////////////////////////////////////////////*/

    function test_LockClaim_CountsActiveClaimAndClaim() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _claimedRun(id);
        _claimedRun(id);
        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.activeClaims, 2, "activeClaims");
        assertEq(a.claims, 2, "claims");
        assertEq(a.stake, 50e6, "stake untouched");
        assertEq(usdc.balanceOf(address(vault)), 50e6, "no USDC moved");
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_LockClaim_CountsNothingWhenIneligible() public {
        uint256 id = _registerAndStake(agentWallet, MIN_STAKE - 1);
        uint256 runId = _openRun();
        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowNotClaimable.selector, runId, id, ClaimReasons.INSUFFICIENT_STAKE
            )
        );
        vm.prank(agentWallet);
        escrow.claim(runId, id);
        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.activeClaims, 0, "activeClaims");
        assertEq(a.claims, 0, "claims");
    }

    function test_RecordCompletion_CountsCompletionAndVolume() public {
        uint256 id = _agent();
        uint256 runId = _submittedRun(id);
        uint256 walletBefore = usdc.balanceOf(agentWallet);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, id, agentWallet, REWARD, FEE, false);
        vm.prank(poster);
        escrow.approve(runId);

        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.activeClaims, 0, "activeClaims");
        assertEq(a.claims, 1, "claims");
        assertEq(a.completions, 1, "completions");
        assertEq(a.volume, REWARD, "volume");
        assertEq(a.stake, MIN_STAKE, "stake untouched");
        assertEq(usdc.balanceOf(agentWallet), walletBefore + REWARD, "reward paid");
        assertEq(usdc.balanceOf(address(vault)), MIN_STAKE, "vault untouched");
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_RecordCompletion_AddsVolumeAcrossRuns() public {
        uint256 id = _agent();
        _completeRun(id);
        uint256 runId = _openRun(7e6, MAX_REVISIONS);
        vm.prank(agentWallet);
        escrow.claim(runId, id);
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        vm.prank(poster);
        escrow.approve(runId);
        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.completions, 2, "completions");
        assertEq(a.volume, REWARD + 7e6, "volume");
    }

    function test_ReleaseClaim_EndsClaimOnReject() public {
        uint256 id = _agent();
        uint256 runId = _exhaustedRun(id);
        uint256 posterBefore = usdc.balanceOf(poster);

        vm.recordLogs();
        vm.prank(poster);
        escrow.reject(runId);

        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countVaultLogs(logs, IStakeVault.AgentStatusChanged.selector), 0, "no status change");
        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.activeClaims, 0, "activeClaims");
        assertEq(a.claims, 1, "claims");
        assertEq(a.completions, 0, "completions");
        assertEq(a.slashes, 0, "slashes");
        assertEq(a.volume, 0, "volume");
        assertEq(a.stake, MIN_STAKE, "stake untouched");
        assertEq(usdc.balanceOf(poster), posterBefore + REWARD + FEE, "poster refunded");
        assertEq(usdc.balanceOf(address(vault)), MIN_STAKE, "vault untouched");
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_Slash_TakesMinStakeAndFreezes() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        uint256 runId = _claimedRun(id);
        skip(CLAIM_TIMEOUT + 1);
        uint256 posterBefore = usdc.balanceOf(poster);
        uint256 escrowBefore = usdc.balanceOf(address(escrow));

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(id, runId, MIN_STAKE, 30e6, 0, 1);
        _expectStatusChange(id, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.FROZEN);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(runId, id, poster, MIN_STAKE, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(runId);

        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.stake, 30e6, "stake");
        assertEq(a.pendingUnstake, 0, "pending");
        assertEq(a.activeClaims, 0, "activeClaims");
        assertEq(a.claims, 1, "claims");
        assertEq(a.slashes, 1, "slashes");
        assertTrue(a.frozen, "frozen");
        assertEq(uint256(a.status), uint256(IStakeVault.AgentStatus.FROZEN), "status");
        _assertTotals(30e6, 0);
        assertEq(usdc.balanceOf(poster), posterBefore + MIN_STAKE, "poster receives slash");
        assertEq(usdc.balanceOf(address(vault)), 30e6, "vault paid out");
        assertEq(usdc.balanceOf(address(escrow)), escrowBefore, "escrow passes it through");
        assertState(runId, IRunEscrow.RunState.OPEN);
    }

    function test_Slash_TakesActiveStakeFirstThenPending() public {
        uint256 id = _registerAndStake(agentWallet, 40e6);
        _requestUnstake(agentWallet, 10e6);
        // 30 active + 10 pending, two claims open at once.
        uint256 first = _claimedRun(id);
        uint256 second = _claimedRun(id);
        skip(CLAIM_TIMEOUT + 1);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(id, first, MIN_STAKE, 10e6, 10e6, 1);
        vm.prank(poster);
        escrow.slash(first);
        _assertTotals(10e6, 10e6);

        uint256 posterBefore = usdc.balanceOf(poster);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(id, second, MIN_STAKE, 0, 0, 2);
        vm.prank(poster);
        escrow.slash(second);

        _assertMoney(id, 0, 0);
        _assertTotals(0, 0);
        assertEq(usdc.balanceOf(poster), posterBefore + MIN_STAKE, "pending stake slashed too");
        assertEq(usdc.balanceOf(address(vault)), 0, "vault emptied");
        assertEq(vault.getAgent(id).activeClaims, 0, "activeClaims");
    }

    function test_Slash_CapsAtHoldings() public {
        uint256 id = _registerAndStake(agentWallet, 30e6);
        uint256 first = _claimedRun(id);
        uint256 second = _claimedRun(id);
        skip(CLAIM_TIMEOUT + 1);
        vm.prank(poster);
        escrow.slash(first);

        uint256 posterBefore = usdc.balanceOf(poster);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(id, second, 10e6, 0, 0, 2);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Slashed(second, id, poster, 10e6, IRunEscrow.RunState.OPEN, 0);
        vm.prank(poster);
        escrow.slash(second);

        assertEq(usdc.balanceOf(poster), posterBefore + 10e6, "only what was left");
        assertEq(usdc.balanceOf(address(vault)), 0, "vault emptied");
        _assertMoney(id, 0, 0);
        assertEq(vault.getAgent(id).slashes, 2, "slashes");
    }

    function test_Slash_ZeroWhenNothingLeft() public {
        uint256 id = _agent();
        uint256 first = _claimedRun(id);
        uint256 second = _claimedRun(id);
        skip(CLAIM_TIMEOUT + 1);
        vm.prank(poster);
        escrow.slash(first);
        uint256 posterBefore = usdc.balanceOf(poster);

        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(id, second, 0, 0, 0, 2);
        vm.prank(poster);
        escrow.slash(second);

        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countVaultLogs(logs, IStakeVault.AgentStatusChanged.selector), 0, "FROZEN stays FROZEN");
        assertEq(usdc.balanceOf(poster), posterBefore, "nothing paid");
        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.slashes, 2, "strike still counted");
        assertEq(a.activeClaims, 0, "claim ended");
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);
    }

    /*//////////////////////////////////////////////////////////////
                              TRUST LADDER
    //////////////////////////////////////////////////////////////*/

    function test_Ladder_EstablishedWhenTimePassesAfterCompletions() public {
        uint256 id = _agent();
        uint256 since = block.timestamp;
        for (uint256 i; i < ESTABLISHED_COMPLETIONS - 1; ++i) {
            _completeRun(id);
        }
        uint256 runId = _submittedRun(id);
        vm.recordLogs();
        vm.prank(poster);
        escrow.approve(runId);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countVaultLogs(logs, IStakeVault.AgentStatusChanged.selector), 0, "too young: no event");
        assertEq(vault.getAgent(id).completions, ESTABLISHED_COMPLETIONS, "completions");
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);

        vm.warp(since + ESTABLISHED_AGE - 1);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
        vm.warp(since + ESTABLISHED_AGE);
        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);
        assertEq(uint256(vault.getAgent(id).status), uint256(IStakeVault.AgentStatus.ESTABLISHED), "getAgent");
    }

    function test_Ladder_FifthCompletionAfterAgePromotes() public {
        uint256 id = _agent();
        skip(ESTABLISHED_AGE);
        for (uint256 i; i < ESTABLISHED_COMPLETIONS - 1; ++i) {
            _completeRun(id);
        }
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
        uint256 runId = _submittedRun(id);

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Approved(runId, id, agentWallet, REWARD, FEE, false);
        _expectStatusChange(id, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.ESTABLISHED);
        vm.prank(poster);
        escrow.approve(runId);

        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);
        assertEq(vault.getAgent(id).volume, REWARD * ESTABLISHED_COMPLETIONS, "volume");
    }

    function test_Ladder_AgeCountsFromReachingMinimumNotRegistration() public {
        uint256 id = _registerAndStake(agentWallet, MIN_STAKE - 1);
        skip(ESTABLISHED_AGE);
        _stake(agentWallet, 1);
        for (uint256 i; i < ESTABLISHED_COMPLETIONS; ++i) {
            _completeRun(id);
        }
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
        skip(ESTABLISHED_AGE);
        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);
    }

    function test_Ladder_EstablishedDropsToUnverifiedOnUnstake() public {
        uint256 id = _agent();
        for (uint256 i; i < ESTABLISHED_COMPLETIONS; ++i) {
            _completeRun(id);
        }
        skip(ESTABLISHED_AGE);
        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);

        _expectStatusChange(id, IStakeVault.AgentStatus.ESTABLISHED, IStakeVault.AgentStatus.UNVERIFIED);
        _requestUnstake(agentWallet, 1);
        assertStatus(id, IStakeVault.AgentStatus.UNVERIFIED);

        _expectStatusChange(id, IStakeVault.AgentStatus.UNVERIFIED, IStakeVault.AgentStatus.ESTABLISHED);
        _stake(agentWallet, 1);
    }

    function test_Ladder_EstablishedAgentReturnsToEstablishedAfterFreeze() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        for (uint256 i; i < ESTABLISHED_COMPLETIONS; ++i) {
            _completeRun(id);
        }
        skip(ESTABLISHED_AGE);
        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);

        uint256 runId = _claimedRun(id);
        skip(CLAIM_TIMEOUT + 1);
        _expectStatusChange(id, IStakeVault.AgentStatus.ESTABLISHED, IStakeVault.AgentStatus.FROZEN);
        vm.prank(poster);
        escrow.slash(runId);

        _expectStatusChange(id, IStakeVault.AgentStatus.FROZEN, IStakeVault.AgentStatus.ESTABLISHED);
        _stake(agentWallet, 1);
        assertFalse(vault.getAgent(id).frozen, "unfrozen");
    }

    function test_Ladder_FrozenLeftOnlyByStakeReachingMinimum() public {
        uint256 id = _agent();
        _slashFreshRun(id);
        _assertMoney(id, 0, 0);
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);

        // Time alone does not unfreeze.
        skip(365 days);
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);

        // A stake that leaves it below the minimum keeps it FROZEN.
        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(id, agentWallet, MIN_STAKE - 1, MIN_STAKE - 1);
        _stake(agentWallet, MIN_STAKE - 1);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countVaultLogs(logs, IStakeVault.AgentStatusChanged.selector), 0, "still FROZEN");
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);
        assertTrue(vault.getAgent(id).frozen, "frozen flag");

        // Reaching the minimum unfreezes.
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(id, agentWallet, 1, MIN_STAKE);
        _expectStatusChange(id, IStakeVault.AgentStatus.FROZEN, IStakeVault.AgentStatus.PROVISIONAL);
        _stake(agentWallet, 1);
        assertFalse(vault.getAgent(id).frozen, "frozen flag cleared");
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_Ladder_FrozenWithStakeAboveMinimumNeedsNewStake() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _slashFreshRun(id);
        _assertMoney(id, 30e6, 0);
        // Stake is still above the minimum, yet the agent stays FROZEN until it stakes again.
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);
        _requestUnstake(agentWallet, 1);
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);

        _expectStatusChange(id, IStakeVault.AgentStatus.FROZEN, IStakeVault.AgentStatus.PROVISIONAL);
        _stake(agentWallet, 1);
    }

    function test_Ladder_BannedAfterThirdSlash() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        _slashFreshRun(id);
        _stake(agentWallet, 1);
        _slashFreshRun(id);
        _stake(agentWallet, 1);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
        uint256 runId = _claimedRun(id);
        skip(CLAIM_TIMEOUT + 1);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(id, runId, MIN_STAKE, 40e6 + 2, 0, 3);
        _expectStatusChange(id, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.BANNED);
        vm.prank(poster);
        escrow.slash(runId);

        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.slashes, 3, "strikes");
        assertTrue(a.frozen, "frozen flag");
        assertEq(uint256(a.status), uint256(IStakeVault.AgentStatus.BANNED), "status");
        _assertTotals(40e6 + 2, 0);
        assertEq(usdc.balanceOf(address(vault)), 40e6 + 2, "vault balance");
    }

    function test_Ladder_BannedIsPermanent() public {
        uint256 id = _bannedAgent();
        skip(365 days);
        assertStatus(id, IStakeVault.AgentStatus.BANNED);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAgentBanned.selector, id));
        vm.prank(agentWallet);
        vault.stakeWithPermit(1, block.timestamp, 0, bytes32(0), bytes32(0));

        uint256 runId = _openRun();
        vm.expectRevert(
            abi.encodeWithSelector(IRunEscrow.RunEscrowNotClaimable.selector, runId, id, ClaimReasons.AGENT_BANNED)
        );
        vm.prank(agentWallet);
        escrow.claim(runId, id);
    }

    function test_Ladder_BannedAgentCanWithdrawWhatIsLeft() public {
        uint256 id = _bannedAgent();
        uint256 left = 40e6 + 2;
        uint256 walletBefore = usdc.balanceOf(agentWallet);

        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.UnstakeRequested(id, left, 0, left, uint64(block.timestamp + COOLDOWN));
        _requestUnstake(agentWallet, left);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(_countVaultLogs(logs, IStakeVault.AgentStatusChanged.selector), 0, "stays BANNED");

        skip(COOLDOWN);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeWithdrawn(id, agentWallet, left);
        vm.prank(agentWallet);
        assertEq(vault.withdrawStake(), left, "paid");

        assertEq(usdc.balanceOf(agentWallet), walletBefore + left, "wallet paid");
        assertEq(usdc.balanceOf(address(vault)), 0, "vault emptied");
        _assertMoney(id, 0, 0);
        _assertTotals(0, 0);
        assertStatus(id, IStakeVault.AgentStatus.BANNED);
    }

    /*//////////////////////////////////////////////////////////////
                               ELIGIBILITY
    //////////////////////////////////////////////////////////////*/

    function test_Eligibility_NoReasonsForEligibleAgent() public {
        uint256 id = _agent();
        (address wallet, uint256 reasons) = vault.eligibility(id, poster);
        assertEq(wallet, agentWallet, "wallet");
        assertEq(reasons, 0, "reasons");
    }

    function test_Eligibility_AgentNotFound() public {
        _agent();
        (address wallet, uint256 reasons) = vault.eligibility(2, poster);
        assertEq(wallet, address(0), "wallet");
        assertEq(reasons, ClaimReasons.AGENT_NOT_FOUND, "reasons");
        (, reasons) = vault.eligibility(0, poster);
        assertEq(reasons, ClaimReasons.AGENT_NOT_FOUND, "id zero");
    }

    function test_Eligibility_InsufficientStake() public {
        uint256 id = _registerAndStake(agentWallet, MIN_STAKE - 1);
        (address wallet, uint256 reasons) = vault.eligibility(id, poster);
        assertEq(wallet, agentWallet, "wallet");
        assertEq(reasons, ClaimReasons.INSUFFICIENT_STAKE, "reasons");
    }

    function test_Eligibility_AgentFrozen() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _slashFreshRun(id);
        (address wallet, uint256 reasons) = vault.eligibility(id, poster);
        assertEq(wallet, agentWallet, "wallet");
        assertEq(reasons, ClaimReasons.AGENT_FROZEN, "frozen only: 30 USDC still staked");
    }

    function test_Eligibility_AgentFrozenAndInsufficientStake() public {
        uint256 id = _agent();
        _slashFreshRun(id);
        (, uint256 reasons) = vault.eligibility(id, poster);
        assertEq(reasons, ClaimReasons.AGENT_FROZEN | ClaimReasons.INSUFFICIENT_STAKE, "reasons");
    }

    function test_Eligibility_AgentBanned() public {
        uint256 id = _bannedAgent();
        (address wallet, uint256 reasons) = vault.eligibility(id, poster);
        assertEq(wallet, agentWallet, "wallet");
        assertEq(reasons, ClaimReasons.AGENT_BANNED, "banned, not also frozen");
    }

    function test_Eligibility_AgentIsPoster() public {
        uint256 id = _registerAndStake(poster, MIN_STAKE);
        (address wallet, uint256 reasons) = vault.eligibility(id, poster);
        assertEq(wallet, poster, "wallet");
        assertEq(reasons, ClaimReasons.AGENT_IS_POSTER, "reasons");
    }

    function test_Eligibility_CombinesReasons() public {
        uint256 id = _register(poster);
        (, uint256 reasons) = vault.eligibility(id, poster);
        assertEq(reasons, ClaimReasons.INSUFFICIENT_STAKE | ClaimReasons.AGENT_IS_POSTER, "reasons");
    }

    /*//////////////////////////////////////////////////////////////
                              SET RUN ESCROW
    //////////////////////////////////////////////////////////////*/

    function test_SetRunEscrow_BindsOnce() public {
        StakeVault fresh = new StakeVault(IUSDC(address(usdc)), owner, defaultVaultParameters());
        vm.expectEmit(true, true, true, true, address(fresh));
        emit IStakeVault.RunEscrowSet(address(escrow));
        vm.prank(owner);
        fresh.setRunEscrow(address(escrow));
        assertEq(fresh.runEscrow(), address(escrow), "runEscrow");

        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultEscrowAlreadySet.selector, address(escrow)));
        vm.prank(owner);
        fresh.setRunEscrow(stranger);
    }

    function test_RevertGiven_SetRunEscrowAlreadySet() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultEscrowAlreadySet.selector, address(escrow)));
        vm.prank(owner);
        vault.setRunEscrow(stranger);
        assertEq(vault.runEscrow(), address(escrow), "unchanged");
    }

    function test_RevertWhen_SetRunEscrowCallerNotOwner() public {
        StakeVault fresh = new StakeVault(IUSDC(address(usdc)), owner, defaultVaultParameters());
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        fresh.setRunEscrow(address(escrow));
    }

    function test_RevertWhen_SetRunEscrowZeroAddress() public {
        StakeVault fresh = new StakeVault(IUSDC(address(usdc)), owner, defaultVaultParameters());
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultZeroAddress.selector));
        vm.prank(owner);
        fresh.setRunEscrow(address(0));
    }

    /*//////////////////////////////////////////////////////////////
                              SET PARAMETERS
    //////////////////////////////////////////////////////////////*/

    function test_SetParameters_UpdatesAndEmits() public {
        IStakeVault.Parameters memory p = IStakeVault.Parameters({
            minStake: 50e6,
            unstakeCooldown: 14 days,
            strikesToBan: 5,
            establishedCompletions: 10,
            establishedAge: 60 days
        });
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.ParametersUpdated(50e6, 14 days, 5, 10, 60 days);
        vm.prank(owner);
        vault.setParameters(p);
        _assertParameters(p);
    }

    function test_SetParameters_AcceptsCooldownBounds() public {
        vm.prank(owner);
        vault.setParameters(_params(MIN_STAKE, CLAIM_TIMEOUT, STRIKES_TO_BAN));
        assertEq(vault.parameters().unstakeCooldown, CLAIM_TIMEOUT, "equal to claim timeout");
        vm.prank(owner);
        vault.setParameters(_params(MIN_STAKE, uint32(MAX_COOLDOWN), STRIKES_TO_BAN));
        assertEq(vault.parameters().unstakeCooldown, MAX_COOLDOWN, "max");
    }

    function test_SetParameters_RederivesStatusWithNewMinimum() public {
        uint256 id = _agent();
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);

        vm.prank(owner);
        vault.setParameters(_params(30e6, COOLDOWN, STRIKES_TO_BAN));
        assertStatus(id, IStakeVault.AgentStatus.UNVERIFIED);
        (, uint256 reasons) = vault.eligibility(id, poster);
        assertEq(reasons, ClaimReasons.INSUFFICIENT_STAKE, "reasons");
        _assertMoney(id, MIN_STAKE, 0);
        assertEq(usdc.balanceOf(address(vault)), MIN_STAKE, "no funds touched");

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(id, agentWallet, 10e6, 30e6);
        _expectStatusChange(id, IStakeVault.AgentStatus.UNVERIFIED, IStakeVault.AgentStatus.PROVISIONAL);
        _stake(agentWallet, 10e6);
    }

    function test_SetParameters_NewMinimumChangesSlashAmount() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        uint256 runId = _claimedRun(id);
        vm.prank(owner);
        vault.setParameters(_params(35e6, COOLDOWN, STRIKES_TO_BAN));
        skip(CLAIM_TIMEOUT + 1);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(id, runId, 35e6, 65e6, 0, 1);
        vm.prank(poster);
        escrow.slash(runId);
    }

    function test_SetParameters_LowerStrikesBansSlashedAgent() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _slashFreshRun(id);
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);
        vm.prank(owner);
        vault.setParameters(_params(MIN_STAKE, COOLDOWN, 1));
        assertStatus(id, IStakeVault.AgentStatus.BANNED);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAgentBanned.selector, id));
        _stake(agentWallet, MIN_STAKE);
    }

    function test_RevertWhen_SetParametersCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        vault.setParameters(_params(1, COOLDOWN, 1));
        _assertParameters(defaultVaultParameters());
    }

    function test_RevertWhen_SetParametersMinStakeZero() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultInvalidMinStake.selector, 0));
        vm.prank(owner);
        vault.setParameters(_params(0, COOLDOWN, STRIKES_TO_BAN));
    }

    function test_RevertWhen_SetParametersStrikesZero() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultInvalidStrikes.selector, 0));
        vm.prank(owner);
        vault.setParameters(_params(MIN_STAKE, COOLDOWN, 0));
    }

    function test_RevertWhen_SetParametersCooldownBelowClaimTimeout() public {
        uint32 cooldown = CLAIM_TIMEOUT - 1;
        vm.expectRevert(
            abi.encodeWithSelector(
                IStakeVault.StakeVaultInvalidCooldown.selector, cooldown, CLAIM_TIMEOUT, MAX_COOLDOWN
            )
        );
        vm.prank(owner);
        vault.setParameters(_params(MIN_STAKE, cooldown, STRIKES_TO_BAN));
    }

    function test_RevertWhen_SetParametersCooldownAboveMax() public {
        uint32 cooldown = uint32(MAX_COOLDOWN + 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IStakeVault.StakeVaultInvalidCooldown.selector, cooldown, CLAIM_TIMEOUT, MAX_COOLDOWN
            )
        );
        vm.prank(owner);
        vault.setParameters(_params(MIN_STAKE, cooldown, STRIKES_TO_BAN));
    }

    function test_RevertWhen_SetParametersCooldownBelowRaisedClaimTimeout() public {
        vm.startPrank(owner);
        vault.setParameters(_params(MIN_STAKE, 20 days, STRIKES_TO_BAN));
        escrow.setParameters(FEE_BPS, 20 days, REVIEW_PERIOD);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultInvalidCooldown.selector, COOLDOWN, 20 days, MAX_COOLDOWN)
        );
        vault.setParameters(_params(MIN_STAKE, COOLDOWN, STRIKES_TO_BAN));
        vm.stopPrank();
    }

    /*//////////////////////////////////////////////////////////////
                               OWNABLE 2-STEP
    //////////////////////////////////////////////////////////////*/

    function test_TransferOwnership_TakesTwoSteps() public {
        address newOwner = makeAddr("newOwner");
        vm.expectEmit(true, true, true, true, address(vault));
        emit Ownable2Step.OwnershipTransferStarted(owner, newOwner);
        vm.prank(owner);
        vault.transferOwnership(newOwner);
        assertEq(vault.owner(), owner, "owner until accepted");
        assertEq(vault.pendingOwner(), newOwner, "pendingOwner");

        vm.expectEmit(true, true, true, true, address(vault));
        emit Ownable.OwnershipTransferred(owner, newOwner);
        vm.prank(newOwner);
        vault.acceptOwnership();
        assertEq(vault.owner(), newOwner, "owner");
        assertEq(vault.pendingOwner(), address(0), "pendingOwner cleared");

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        vm.prank(owner);
        vault.setParameters(defaultVaultParameters());
    }

    function test_RevertWhen_AcceptOwnershipCallerNotPendingOwner() public {
        address newOwner = makeAddr("newOwner");
        vm.prank(owner);
        vault.transferOwnership(newOwner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        vault.acceptOwnership();
        assertEq(vault.owner(), owner, "owner unchanged");
    }

    function test_RevertWhen_TransferOwnershipCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        vault.transferOwnership(stranger);
    }

    function test_RevertWhen_RenounceOwnership() public {
        vm.expectRevert(IStakeVault.StakeVaultCannotRenounceOwnership.selector);
        vm.prank(owner);
        vault.renounceOwnership();
        assertEq(vault.owner(), owner, "owner unchanged");
    }

    function test_RevertWhen_RenounceOwnershipCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        vault.renounceOwnership();
    }

    /*//////////////////////////////////////////////////////////////
                                  FUZZ
    //////////////////////////////////////////////////////////////*/

    function testFuzz_Stake_AccumulatesAndTotals(uint256 first, uint256 second, uint256 other) public {
        first = bound(first, 1, FUNDING / 2);
        second = bound(second, 1, FUNDING / 2);
        other = bound(other, 1, FUNDING);
        uint256 id = _registerAndStake(agentWallet, first);
        uint256 otherId = _registerAndStake(otherAgentWallet, other);
        uint64 firstAt = uint64(block.timestamp);
        skip(1 days);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(id, agentWallet, second, first + second);
        _stake(agentWallet, second);

        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.stake, first + second, "stake");
        uint64 expectedSince = first >= MIN_STAKE ? firstAt : (first + second >= MIN_STAKE ? uint64(block.timestamp) : 0);
        assertEq(a.stakedSince, expectedSince, "stakedSince");
        assertStatus(
            id,
            first + second >= MIN_STAKE ? IStakeVault.AgentStatus.PROVISIONAL : IStakeVault.AgentStatus.UNVERIFIED
        );
        _assertMoney(otherId, other, 0);
        _assertTotals(first + second + other, 0);
        assertEq(usdc.balanceOf(address(vault)), first + second + other, "vault balance");
        assertEq(usdc.balanceOf(agentWallet), FUNDING - first - second, "agent paid");
        assertEq(usdc.balanceOf(otherAgentWallet), FUNDING - other, "other paid");
    }

    function testFuzz_Slash_TakesMinOfMinStakeAndHoldings(uint256 staked, uint256 unstaked, uint256 newMin)
        public
    {
        staked = bound(staked, MIN_STAKE, 500e6);
        unstaked = bound(unstaked, 0, staked - MIN_STAKE);
        newMin = bound(newMin, 1, 1000e6);
        uint256 id = _registerAndStake(agentWallet, staked);
        if (unstaked != 0) _requestUnstake(agentWallet, unstaked);
        uint256 runId = _claimedRun(id);
        // A minimum changed while the run is claimed sets what the slash takes.
        vm.prank(owner);
        vault.setParameters(_params(uint128(newMin), COOLDOWN, STRIKES_TO_BAN));
        skip(CLAIM_TIMEOUT + 1);
        uint256 posterBefore = usdc.balanceOf(poster);

        uint256 active = staked - unstaked;
        uint256 expected = newMin < staked ? newMin : staked;
        uint256 fromStake = expected < active ? expected : active;
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeSlashed(id, runId, expected, active - fromStake, unstaked - (expected - fromStake), 1);
        vm.prank(poster);
        escrow.slash(runId);

        _assertMoney(id, active - fromStake, unstaked - (expected - fromStake));
        _assertTotals(active - fromStake, unstaked - (expected - fromStake));
        assertEq(usdc.balanceOf(poster), posterBefore + expected, "poster receives slash");
        assertEq(usdc.balanceOf(address(vault)), staked - expected, "vault paid out");
        assertEq(vault.getAgent(id).slashes, 1, "strike");
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);
    }
}
