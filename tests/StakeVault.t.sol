// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

import {RunEscrow} from "../contracts/RunEscrow.sol";
import {StakeVault} from "../contracts/StakeVault.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";
import {IUSDC} from "../contracts/interfaces/IUSDC.sol";
import {ClaimReasons} from "../contracts/libraries/ClaimReasons.sol";
import {Base} from "./Base.t.sol";
import {SigUtils} from "./utils/SigUtils.sol";
import {Vm} from "./utils/Vm.sol";

/// @notice Helpers shared by the StakeVault suites: agent actions, the RunEscrow hooks called
/// directly (pranking as the bound escrow), runs walked to a settlement through the real escrow,
/// and the assertions every money-moving test ends with.
abstract contract StakeVaultFixture is Base {
    uint256 internal constant MAX_HELD = type(uint64).max;
    uint256 internal constant MIN_COOLDOWN = 1 days;
    uint256 internal constant MAX_COOLDOWN = 90 days;
    uint256 internal constant MAX_URI = 2048;
    uint256 internal constant ONE_USDC = 1e6;
    /// @dev The run id the direct-hook tests report to {settleClaim}; the vault only echoes it.
    uint256 internal constant HOOK_RUN_ID = 77;

    /// @dev Storage slot of `_agentCount` and of the `_agents` mapping (`forge inspect StakeVault
    /// storageLayout`: Ownable 0, Ownable2Step 1, escrow+paused 2, parameters 3, count 4, totals 5).
    bytes32 internal constant AGENT_COUNT_SLOT = bytes32(uint256(4));
    uint256 internal constant AGENTS_SLOT = 6;

    /// @dev An agent's reputation record as `getAgent` reports it.
    struct Record {
        uint256 claims;
        uint256 completions;
        uint256 strikes;
        uint256 rejections;
        uint256 disputesWon;
        uint256 disputesLost;
        uint256 volume;
    }

    /*//////////////////////////////////////////////////////////////
                              AGENT ACTIONS
    //////////////////////////////////////////////////////////////*/

    function _stake(address wallet, uint256 amount) internal {
        vm.prank(wallet);
        vault.stake(amount);
    }

    function _requestUnstake(address wallet, uint256 amount) internal {
        vm.prank(wallet);
        vault.requestUnstake(amount);
    }

    function _withdraw(address wallet) internal returns (uint256 amount) {
        vm.prank(wallet);
        amount = vault.withdrawStake();
    }

    function _signPermit(uint256 key, address spender, uint256 amount, uint256 deadline)
        internal
        view
        returns (uint8, bytes32, bytes32)
    {
        return SigUtils.signPermit(IUSDC(address(usdc)), key, spender, amount, deadline);
    }

    /*//////////////////////////////////////////////////////////////
                                 OWNER
    //////////////////////////////////////////////////////////////*/

    function _params(uint64 minStake, uint32 cooldown, uint16 strikes)
        internal
        pure
        returns (IStakeVault.Parameters memory p)
    {
        p = defaultVaultParameters();
        p.minStake = minStake;
        p.unstakeCooldown = cooldown;
        p.strikesToBan = strikes;
    }

    function _setParams(IStakeVault.Parameters memory p) internal {
        vm.prank(owner);
        vault.setParameters(p);
    }

    function _setMinStake(uint64 minStake) internal {
        _setParams(_params(minStake, COOLDOWN, STRIKES_TO_BAN));
    }

    function _setStrikesToBan(uint16 strikes) internal {
        _setParams(_params(MIN_STAKE, COOLDOWN, strikes));
    }

    /*//////////////////////////////////////////////////////////////
                      HOOKS, CALLED AS THE RUN ESCROW
    //////////////////////////////////////////////////////////////*/

    function _reserveAs(uint256 agentId, uint256 amount) internal returns (uint256 reasons) {
        vm.prank(address(escrow));
        (, reasons) = vault.reserve(agentId, amount);
    }

    function _settleAs(
        uint256 agentId,
        uint256 amount,
        IStakeVault.Outcome outcome,
        uint256 reward,
        uint256 earned
    ) internal returns (uint256 forfeited) {
        vm.prank(address(escrow));
        (, forfeited) = vault.settleClaim(agentId, HOOK_RUN_ID, amount, outcome, reward, earned);
    }

    /// @dev `count` approved claims of `amount` each, with a reward that counts as a completion.
    function _completeAs(uint256 agentId, uint256 count) internal {
        for (uint256 i; i < count; ++i) {
            assertEq(_reserveAs(agentId, MIN_STAKE), 0, "reserve for completion");
            _settleAs(agentId, MIN_STAKE, IStakeVault.Outcome.APPROVED, ONE_USDC, ONE_USDC);
        }
    }

    /// @dev A strike of `amount` through the hooks (reserve, then SLASHED).
    function _strikeAs(uint256 agentId, uint256 amount) internal {
        assertEq(_reserveAs(agentId, amount), 0, "reserve for strike");
        _settleAs(agentId, amount, IStakeVault.Outcome.SLASHED, REWARD, 0);
    }

    /// @dev `count` strikes of `amount` each: all claims reserved first, while the agent may still
    /// claim (a frozen agent cannot reserve), then slashed one after the other.
    function _strikeTimes(uint256 agentId, uint256 count, uint256 amount) internal {
        for (uint256 i; i < count; ++i) {
            assertEq(_reserveAs(agentId, amount), 0, "reserve for strike");
        }
        for (uint256 i; i < count; ++i) {
            _settleAs(agentId, amount, IStakeVault.Outcome.SLASHED, REWARD, 0);
        }
    }

    function _isForfeit(IStakeVault.Outcome outcome) internal pure returns (bool) {
        return outcome >= IStakeVault.Outcome.SLASHED;
    }

    function _isStrike(IStakeVault.Outcome outcome) internal pure returns (bool) {
        return outcome == IStakeVault.Outcome.SLASHED || outcome == IStakeVault.Outcome.DISPUTE_LOST_STRUCK;
    }

    /*//////////////////////////////////////////////////////////////
                        RUNS THROUGH THE REAL ESCROW
    //////////////////////////////////////////////////////////////*/

    function _openRunRequiring(uint256 requiredStake) internal returns (uint256 runId) {
        vm.prank(poster);
        runId = escrow.createAndFund(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, requiredStake, 0);
    }

    function _claim(uint256 runId, uint256 agentId) internal {
        vm.prank(vault.walletOf(agentId));
        escrow.claim(runId, agentId);
    }

    /// @dev Lets the claim of `runId` time out and has the poster slash it.
    function _slashClaimed(uint256 runId) internal {
        skip(CLAIM_TIMEOUT + 1);
        vm.prank(poster);
        escrow.slash(runId);
    }

    function _slashFreshRun(uint256 agentId) internal returns (uint256 runId) {
        runId = _claimedRun(agentId);
        _slashClaimed(runId);
    }

    function _approve(uint256 runId) internal {
        vm.prank(poster);
        escrow.approve(runId);
    }

    /*//////////////////////////////////////////////////////////////
                                STORAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Slot `index` (0..2) of agent `agentId`'s packed `AgentData`.
    function _agentSlot(uint256 agentId, uint256 index) internal pure returns (bytes32) {
        return bytes32(uint256(keccak256(abi.encode(agentId, AGENTS_SLOT))) + index);
    }

    /// @dev Overwrites `width` bits at bit `offset` of agent slot `index` with `value`.
    function _storeAgentField(uint256 agentId, uint256 index, uint256 offset, uint256 width, uint256 value)
        internal
    {
        bytes32 slot = _agentSlot(agentId, index);
        uint256 word = uint256(vm.load(address(vault), slot));
        uint256 mask = ((1 << width) - 1) << offset;
        word = (word & ~mask) | (value << offset);
        vm.store(address(vault), slot, bytes32(word));
    }

    /*//////////////////////////////////////////////////////////////
                               ASSERTIONS
    //////////////////////////////////////////////////////////////*/

    /// @dev The vault holds exactly what it owes: every agent's stake plus every pending withdrawal.
    function _assertSolvent() internal view {
        assertEq(
            usdc.balanceOf(address(vault)),
            vault.totalStaked() + vault.totalPending(),
            "vault balance == totalStaked + totalPending"
        );
    }

    function _assertTotals(uint256 staked, uint256 pending) internal view {
        assertEq(vault.totalStaked(), staked, "totalStaked");
        assertEq(vault.totalPending(), pending, "totalPending");
        _assertSolvent();
    }

    function _assertMoney(uint256 agentId, uint256 staked, uint256 reserved, uint256 pending) internal view {
        IStakeVault.Agent memory a = vault.getAgent(agentId);
        assertEq(a.stake, staked, "agent stake");
        assertEq(a.reserved, reserved, "agent reserved");
        assertEq(a.pendingUnstake, pending, "agent pendingUnstake");
        assertLe(a.reserved, a.stake, "reserved <= stake");
    }

    function _assertRecord(uint256 agentId, Record memory r) internal view {
        IStakeVault.Agent memory a = vault.getAgent(agentId);
        assertEq(a.claims, r.claims, "claims");
        assertEq(a.completions, r.completions, "completions");
        assertEq(a.strikes, r.strikes, "strikes");
        assertEq(a.rejections, r.rejections, "rejections");
        assertEq(a.disputesWon, r.disputesWon, "disputesWon");
        assertEq(a.disputesLost, r.disputesLost, "disputesLost");
        assertEq(a.volume, r.volume, "volume");
    }

    function _assertParameters(IStakeVault.Parameters memory expected) internal view {
        IStakeVault.Parameters memory p = vault.parameters();
        assertEq(p.minStake, expected.minStake, "minStake");
        assertEq(p.unstakeCooldown, expected.unstakeCooldown, "unstakeCooldown");
        assertEq(p.strikesToBan, expected.strikesToBan, "strikesToBan");
        assertEq(p.establishedCompletions, expected.establishedCompletions, "establishedCompletions");
        assertEq(p.establishedAge, expected.establishedAge, "establishedAge");
    }

    function _expectStatusChange(uint256 agentId, IStakeVault.AgentStatus from, IStakeVault.AgentStatus to)
        internal
    {
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentStatusChanged(agentId, from, to);
    }

    function _countVaultLogs(Vm.Log[] memory logs, bytes32 topic0) internal view returns (uint256 count) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(vault) && logs[i].topics[0] == topic0) ++count;
        }
    }

    function _countAllVaultLogs(Vm.Log[] memory logs) internal view returns (uint256 count) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(vault)) ++count;
        }
    }

    function _assertNoStatusEvent(Vm.Log[] memory logs) internal view {
        assertEq(_countVaultLogs(logs, IStakeVault.AgentStatusChanged.selector), 0, "no AgentStatusChanged");
    }

    function _reasons(uint256 agentId, uint256 amount) internal view returns (uint256 reasons) {
        (, reasons) = vault.eligibility(agentId, amount);
    }

    /// @dev A fresh vault with the default parameters and no escrow bound.
    function _freshVault() internal returns (StakeVault fresh) {
        fresh = new StakeVault(IUSDC(address(usdc)), owner, defaultVaultParameters());
    }

    /// @dev A new escrow bound to nothing yet, built for `forVault`.
    function _escrowFor(StakeVault forVault) internal returns (RunEscrow) {
        return new RunEscrow(IUSDC(address(usdc)), forVault, owner, treasury, defaultEscrowParameters());
    }
}

/*//////////////////////////////////////////////////////////////
            CONSTRUCTOR, REGISTER, VIEWS, AGENT ACTIONS
//////////////////////////////////////////////////////////////*/

/// @notice Constructor, {register}, the views, {stake}, {stakeWithPermit}, {requestUnstake} and
/// {withdrawStake}.
contract StakeVaultAgentTest is StakeVaultFixture {
    /*//////////////////////////////////////////////////////////////
                              CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    function test_Constructor_SetsInitialState() public {
        vm.expectEmit(true, true, true, true);
        emit IStakeVault.ParametersUpdated(defaultVaultParameters());
        StakeVault fresh = _freshVault();

        assertEq(fresh.usdc(), address(usdc), "usdc");
        assertEq(fresh.runEscrow(), address(0), "runEscrow unset");
        assertEq(fresh.owner(), owner, "owner");
        assertEq(fresh.pendingOwner(), address(0), "pendingOwner");
        assertFalse(fresh.paused(), "not paused");
        assertEq(fresh.agentCount(), 0, "agentCount");
        assertEq(fresh.totalStaked(), 0, "totalStaked");
        assertEq(fresh.totalPending(), 0, "totalPending");
        assertEq(fresh.MIN_COMPLETION_REWARD(), ONE_USDC, "MIN_COMPLETION_REWARD");
        assertEq(fresh.MAX_UNSTAKE_COOLDOWN(), MAX_COOLDOWN, "MAX_UNSTAKE_COOLDOWN");
        assertEq(fresh.MIN_UNSTAKE_COOLDOWN(), MIN_COOLDOWN, "MIN_UNSTAKE_COOLDOWN");
        assertEq(fresh.MAX_URI_LENGTH(), MAX_URI, "MAX_URI_LENGTH");
    }

    function test_Constructor_FixtureIsBoundToEscrow() public view {
        assertEq(vault.runEscrow(), address(escrow), "runEscrow");
        assertEq(escrow.stakeVault(), address(vault), "escrow's vault");
        _assertParameters(defaultVaultParameters());
        _assertTotals(0, 0);
    }

    function test_RevertWhen_ConstructorUsdcIsZero() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultZeroAddress.selector));
        new StakeVault(IUSDC(address(0)), owner, defaultVaultParameters());
    }

    function test_RevertWhen_ConstructorOwnerIsZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new StakeVault(IUSDC(address(usdc)), address(0), defaultVaultParameters());
    }

    function test_RevertWhen_ConstructorParametersOutOfBounds() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultInvalidMinStake.selector, 0));
        new StakeVault(IUSDC(address(usdc)), owner, _params(0, COOLDOWN, STRIKES_TO_BAN));

        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultInvalidStrikes.selector, 0));
        new StakeVault(IUSDC(address(usdc)), owner, _params(MIN_STAKE, COOLDOWN, 0));

        vm.expectRevert(
            abi.encodeWithSelector(
                IStakeVault.StakeVaultInvalidCooldown.selector, MIN_COOLDOWN - 1, MIN_COOLDOWN, MAX_COOLDOWN
            )
        );
        new StakeVault(
            IUSDC(address(usdc)), owner, _params(MIN_STAKE, uint32(MIN_COOLDOWN - 1), STRIKES_TO_BAN)
        );
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
        assertEq(a.unstakeReadyAt, 0, "unstakeReadyAt");
        assertEq(a.stakedSince, 0, "stakedSince");
        assertFalse(a.frozen, "frozen");
        assertFalse(a.banned, "banned");
        assertEq(uint256(a.status), uint256(IStakeVault.AgentStatus.UNVERIFIED), "getAgent status");
        _assertMoney(id, 0, 0, 0);
        _assertRecord(id, Record(0, 0, 0, 0, 0, 0, 0));
        assertStatus(id, IStakeVault.AgentStatus.UNVERIFIED);
    }

    function test_Register_AcceptsUriOfMaxLength() public {
        string memory uri = string(new bytes(MAX_URI));
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.AgentRegistered(1, agentWallet, uri);
        vm.prank(agentWallet);
        assertEq(vault.register(uri), 1, "id");
    }

    function test_RevertWhen_RegisterUriTooLong() public {
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultURITooLong.selector, MAX_URI + 1, MAX_URI)
        );
        vm.prank(agentWallet);
        vault.register(string(new bytes(MAX_URI + 1)));
        assertEq(vault.agentCount(), 0, "nothing registered");
        assertEq(vault.agentIdOf(agentWallet), 0, "no id");
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
        // The last id that fits the escrow's 32 bits is still handed out.
        vm.store(address(vault), AGENT_COUNT_SLOT, bytes32(uint256(type(uint32).max) - 1));
        assertEq(_register(otherAgentWallet), type(uint32).max, "last id");

        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultTooManyAgents.selector, type(uint32).max)
        );
        vm.prank(stranger);
        vault.register("ipfs://agent");
    }

    /*//////////////////////////////////////////////////////////////
                                 VIEWS
    //////////////////////////////////////////////////////////////*/

    function test_Views_UnknownWalletAndIdReadAsZero() public {
        _register(agentWallet);
        assertEq(vault.agentIdOf(stranger), 0, "agentIdOf unknown");
        assertEq(vault.walletOf(2), address(0), "walletOf unknown");
        assertEq(vault.walletOf(0), address(0), "walletOf zero");
    }

    function test_RevertGiven_GetAgentOrStatusOfUnknownId() public {
        _register(agentWallet);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAgentNotFound.selector, 2));
        vault.getAgent(2);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAgentNotFound.selector, 0));
        vault.getAgent(0);
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
        assertEq(vault.getAgent(id).stakedSince, block.timestamp, "stakedSince");
        _assertMoney(id, MIN_STAKE, 0, 0);
        _assertTotals(MIN_STAKE, 0);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_Stake_BelowMinimumStaysUnverifiedWithoutStatusEvent() public {
        uint256 id = _register(agentWallet);
        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(id, agentWallet, MIN_STAKE - 1, MIN_STAKE - 1);
        _stake(agentWallet, MIN_STAKE - 1);

        _assertNoStatusEvent(vm.getRecordedLogs());
        assertEq(vault.getAgent(id).stakedSince, 0, "stakedSince unset");
        _assertMoney(id, MIN_STAKE - 1, 0, 0);
        _assertTotals(MIN_STAKE - 1, 0);
        assertStatus(id, IStakeVault.AgentStatus.UNVERIFIED);
    }

    function test_Stake_AccumulatesAcrossAgents() public {
        uint256 id = _registerAndStake(agentWallet, 5e6);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(id, agentWallet, 30e6, 35e6);
        _stake(agentWallet, 30e6);

        uint256 other = _registerAndStake(otherAgentWallet, 7e6);
        _assertMoney(id, 35e6, 0, 0);
        _assertMoney(other, 7e6, 0, 0);
        _assertTotals(42e6, 0);
    }

    function test_Stake_AboveMinimumEmitsNoStatusEvent() public {
        uint256 id = _agent();
        vm.recordLogs();
        _stake(agentWallet, 1);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        _assertNoStatusEvent(logs);
        assertEq(_countAllVaultLogs(logs), 1, "only Staked");
        _assertMoney(id, MIN_STAKE + 1, 0, 0);
        _assertTotals(MIN_STAKE + 1, 0);
    }

    function test_Stake_SetsStakedSinceOnlyWhenReachingMinimum() public {
        uint256 id = _registerAndStake(agentWallet, 10e6);
        assertEq(vault.getAgent(id).stakedSince, 0, "below minimum");

        skip(1 days);
        uint256 reachedAt = block.timestamp;
        _stake(agentWallet, 10e6);
        assertEq(vault.getAgent(id).stakedSince, reachedAt, "set on reaching minimum");

        skip(1 days);
        _stake(agentWallet, 5e6);
        assertEq(vault.getAgent(id).stakedSince, reachedAt, "not reset by a later stake");
    }

    function test_Stake_WorksWithLiveClaims() public {
        uint256 id = _agent();
        _claimedRun(id);
        _stake(agentWallet, MIN_STAKE);
        _assertMoney(id, 2 * MIN_STAKE, MIN_STAKE, 0);
        _assertTotals(2 * MIN_STAKE, 0);
    }

    function test_Stake_UpToTheCapOfStakePlusPending() public {
        uint256 id = _registerAndStake(agentWallet, 10);
        _requestUnstake(agentWallet, 4);
        vm.prank(owner);
        usdc.mint(agentWallet, MAX_HELD);

        // Pending stake counts towards the cap as well.
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultAmountTooLarge.selector, MAX_HELD - 9, MAX_HELD - 10)
        );
        _stake(agentWallet, MAX_HELD - 9);

        _stake(agentWallet, MAX_HELD - 10);
        _assertMoney(id, MAX_HELD - 4, 0, 4);
        _assertTotals(MAX_HELD - 4, 4);

        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAmountTooLarge.selector, 1, 0));
        _stake(agentWallet, 1);
    }

    /// @dev Every revert of `stake` and `stakeWithPermit`, each from the same table: the checks
    /// run in the order paused, escrow bound, registered, amount, banned, cap.
    function test_RevertWhen_StakeOrStakeWithPermitRejected() public {
        for (uint256 viaPermit; viaPermit < 2; ++viaPermit) {
            uint256 snapshot = vm.snapshotState();
            _assertStakeReverts(viaPermit == 1);
            vm.revertToState(snapshot);
        }
    }

    function _assertStakeReverts(bool viaPermit) internal {
        // Unregistered caller.
        _expectStakeRevert(
            viaPermit,
            vault,
            stranger,
            MIN_STAKE,
            abi.encodeWithSelector(IStakeVault.StakeVaultNotRegistered.selector, stranger)
        );
        // Zero amount.
        uint256 id = _registerAndStake(agentWallet, 10);
        _expectStakeRevert(
            viaPermit,
            vault,
            agentWallet,
            0,
            abi.encodeWithSelector(IStakeVault.StakeVaultZeroAmount.selector)
        );
        // Above the 64-bit cap on stake + pending.
        _expectStakeRevert(
            viaPermit,
            vault,
            agentWallet,
            MAX_HELD,
            abi.encodeWithSelector(IStakeVault.StakeVaultAmountTooLarge.selector, MAX_HELD, MAX_HELD - 10)
        );
        // Paused: checked before anything else.
        vm.prank(owner);
        vault.pause();
        _expectStakeRevert(
            viaPermit,
            vault,
            agentWallet,
            MIN_STAKE,
            abi.encodeWithSelector(IStakeVault.StakeVaultPaused.selector)
        );
        _expectStakeRevert(
            viaPermit, vault, stranger, 0, abi.encodeWithSelector(IStakeVault.StakeVaultPaused.selector)
        );
        vm.prank(owner);
        vault.unpause();
        // Banned.
        _banAs(id);
        _expectStakeRevert(
            viaPermit,
            vault,
            agentWallet,
            MIN_STAKE,
            abi.encodeWithSelector(IStakeVault.StakeVaultAgentBanned.selector, id)
        );
        // Before the escrow is bound (a fresh vault), even for a registered agent.
        StakeVault fresh = _freshVault();
        vm.prank(agentWallet);
        fresh.register("ipfs://agent");
        vm.prank(agentWallet);
        usdc.approve(address(fresh), type(uint256).max);
        _expectStakeRevert(
            viaPermit,
            fresh,
            agentWallet,
            MIN_STAKE,
            abi.encodeWithSelector(IStakeVault.StakeVaultEscrowNotSet.selector)
        );
        assertEq(usdc.balanceOf(address(fresh)), 0, "fresh vault holds nothing");
        assertEq(fresh.totalStaked(), 0, "fresh vault totalStaked");
    }

    function _expectStakeRevert(
        bool viaPermit,
        StakeVault target,
        address wallet,
        uint256 amount,
        bytes memory revertData
    ) internal {
        uint256 balanceBefore = usdc.balanceOf(address(target));
        if (viaPermit) {
            uint256 deadline = block.timestamp + 1 hours;
            (uint8 v, bytes32 r, bytes32 s) = _signPermit(agentKey, address(target), amount, deadline);
            vm.expectRevert(revertData);
            vm.prank(wallet);
            target.stakeWithPermit(amount, deadline, v, r, s);
        } else {
            vm.expectRevert(revertData);
            vm.prank(wallet);
            target.stake(amount);
        }
        assertEq(usdc.balanceOf(address(target)), balanceBefore, "no USDC moved");
    }

    /// @dev Three strikes through the hooks, restaking in between to stay at the minimum.
    function _banAs(uint256 agentId) internal {
        _stake(vault.walletOf(agentId), 3 * MIN_STAKE);
        _strikeTimes(agentId, STRIKES_TO_BAN, 1);
        assertStatus(agentId, IStakeVault.AgentStatus.BANNED);
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

    /*//////////////////////////////////////////////////////////////
                             STAKE WITH PERMIT
    //////////////////////////////////////////////////////////////*/

    function test_StakeWithPermit_StakesWithOneSignature() public {
        uint256 id = _register(agentWallet);
        vm.prank(agentWallet);
        usdc.approve(address(vault), 0);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(agentKey, address(vault), MIN_STAKE, deadline);
        uint256 walletBefore = usdc.balanceOf(agentWallet);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.Staked(id, agentWallet, MIN_STAKE, MIN_STAKE);
        _expectStatusChange(id, IStakeVault.AgentStatus.UNVERIFIED, IStakeVault.AgentStatus.PROVISIONAL);
        vm.prank(agentWallet);
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);

        assertEq(usdc.nonces(agentWallet), 1, "permit consumed");
        assertEq(usdc.allowance(agentWallet, address(vault)), 0, "allowance spent");
        assertEq(usdc.balanceOf(agentWallet), walletBefore - MIN_STAKE, "wallet paid");
        _assertMoney(id, MIN_STAKE, 0, 0);
        _assertTotals(MIN_STAKE, 0);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_StakeWithPermit_SucceedsWhenPermitFrontRun() public {
        uint256 id = _register(agentWallet);
        vm.prank(agentWallet);
        usdc.approve(address(vault), 0);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(agentKey, address(vault), MIN_STAKE, deadline);

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
        _assertMoney(id, MIN_STAKE, 0, 0);
        _assertTotals(MIN_STAKE, 0);
    }

    function test_RevertWhen_StakeWithPermitNeitherPermitNorAllowance() public {
        _register(agentWallet);
        vm.prank(agentWallet);
        usdc.approve(address(vault), 0);
        // Signed by the poster: the permit fails and there is no allowance to fall back on.
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _signPermit(posterKey, address(vault), MIN_STAKE, deadline);
        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientAllowance.selector, address(vault), 0, MIN_STAKE
            )
        );
        vm.prank(agentWallet);
        vault.stakeWithPermit(MIN_STAKE, deadline, v, r, s);
        _assertTotals(0, 0);
    }

    /*//////////////////////////////////////////////////////////////
                             REQUEST UNSTAKE
    //////////////////////////////////////////////////////////////*/

    function test_RequestUnstake_MovesFreeStakeToPending() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        uint64 readyAt = uint64(block.timestamp + COOLDOWN);

        vm.recordLogs();
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.UnstakeRequested(id, 10e6, 40e6, 10e6, readyAt);
        _requestUnstake(agentWallet, 10e6);

        _assertNoStatusEvent(vm.getRecordedLogs());
        assertEq(vault.getAgent(id).unstakeReadyAt, readyAt, "readyAt");
        _assertMoney(id, 40e6, 0, 10e6);
        _assertTotals(40e6, 10e6);
        assertEq(usdc.balanceOf(address(vault)), 50e6, "no USDC moved");
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_RequestUnstake_OnlyFreeStakeWithLiveClaims() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        uint256 runId = _claimedRun(id);
        _assertMoney(id, 50e6, MIN_STAKE, 0);

        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultInsufficientFreeStake.selector, id, 30e6, 30e6 + 1)
        );
        _requestUnstake(agentWallet, 30e6 + 1);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.UnstakeRequested(id, 30e6, MIN_STAKE, 30e6, uint64(block.timestamp + COOLDOWN));
        _requestUnstake(agentWallet, 30e6);
        _assertMoney(id, MIN_STAKE, MIN_STAKE, 30e6);

        // Reserved stake never becomes pending.
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultInsufficientFreeStake.selector, id, 0, 1)
        );
        _requestUnstake(agentWallet, 1);
        _assertTotals(MIN_STAKE, 30e6);
        assertState(runId, IRunEscrow.RunState.CLAIMED);
    }

    function test_RequestUnstake_AddsToPendingAndRestartsCooldown() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _requestUnstake(agentWallet, 10e6);
        skip(3 days);
        uint64 readyAt = uint64(block.timestamp + COOLDOWN);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.UnstakeRequested(id, 15e6, 25e6, 25e6, readyAt);
        _requestUnstake(agentWallet, 15e6);

        assertEq(vault.getAgent(id).unstakeReadyAt, readyAt, "cooldown restarted");
        _assertMoney(id, 25e6, 0, 25e6);
        _assertTotals(25e6, 25e6);
    }

    function test_RequestUnstake_BelowMinimumDropsToUnverifiedAndClearsStakedSince() public {
        uint256 id = _agent();
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.UnstakeRequested(id, 1, MIN_STAKE - 1, 1, uint64(block.timestamp + COOLDOWN));
        _expectStatusChange(id, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.UNVERIFIED);
        _requestUnstake(agentWallet, 1);

        assertEq(vault.getAgent(id).stakedSince, 0, "stakedSince cleared");
        assertEq(
            _reasons(id, MIN_STAKE), ClaimReasons.INSUFFICIENT_STAKE | ClaimReasons.INSUFFICIENT_FREE_STAKE
        );
        assertStatus(id, IStakeVault.AgentStatus.UNVERIFIED);
    }

    function test_RequestUnstake_AboveMinimumKeepsStakedSince() public {
        uint256 id = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256 since = block.timestamp;
        skip(1 days);
        _requestUnstake(agentWallet, MIN_STAKE);
        assertEq(vault.getAgent(id).stakedSince, since, "stakedSince kept at the minimum");
    }

    function test_RequestUnstake_WorksWhilePaused() public {
        uint256 id = _agent();
        vm.prank(owner);
        vault.pause();
        _requestUnstake(agentWallet, MIN_STAKE);
        _assertMoney(id, 0, 0, MIN_STAKE);
        _assertTotals(0, MIN_STAKE);
    }

    function test_RevertWhen_RequestUnstakeInvalid() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNotRegistered.selector, stranger));
        _requestUnstake(stranger, 1);

        uint256 id = _agent();
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultZeroAmount.selector));
        _requestUnstake(agentWallet, 0);

        vm.expectRevert(
            abi.encodeWithSelector(
                IStakeVault.StakeVaultInsufficientFreeStake.selector, id, MIN_STAKE, MIN_STAKE + 1
            )
        );
        _requestUnstake(agentWallet, MIN_STAKE + 1);

        // Pending stake is not free stake.
        _requestUnstake(agentWallet, 5e6);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultInsufficientFreeStake.selector, id, 15e6, MIN_STAKE)
        );
        _requestUnstake(agentWallet, MIN_STAKE);
        _assertMoney(id, 15e6, 0, 5e6);
        _assertTotals(15e6, 5e6);
    }

    /*//////////////////////////////////////////////////////////////
                              WITHDRAW STAKE
    //////////////////////////////////////////////////////////////*/

    function test_WithdrawStake_CooldownBoundary() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _requestUnstake(agentWallet, 30e6);
        uint64 readyAt = uint64(block.timestamp + COOLDOWN);

        vm.warp(readyAt - 1);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultCooldownActive.selector, id, readyAt));
        _withdraw(agentWallet);

        vm.warp(readyAt);
        uint256 walletBefore = usdc.balanceOf(agentWallet);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeWithdrawn(id, agentWallet, 30e6);
        assertEq(_withdraw(agentWallet), 30e6, "returned amount");

        assertEq(usdc.balanceOf(agentWallet), walletBefore + 30e6, "wallet paid");
        assertEq(vault.getAgent(id).unstakeReadyAt, 0, "readyAt cleared");
        _assertMoney(id, 20e6, 0, 0);
        _assertTotals(20e6, 0);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_WithdrawStake_WaitsForTheRestartedCooldown() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _requestUnstake(agentWallet, 10e6);
        skip(COOLDOWN - 1);
        _requestUnstake(agentWallet, 10e6);
        uint64 readyAt = uint64(block.timestamp + COOLDOWN);
        skip(1);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultCooldownActive.selector, id, readyAt));
        _withdraw(agentWallet);
        vm.warp(readyAt);
        assertEq(_withdraw(agentWallet), 20e6, "both requests paid together");
        _assertTotals(30e6, 0);
    }

    function test_WithdrawStake_WorksWhilePausedAndWithLiveClaims() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _claimedRun(id);
        _requestUnstake(agentWallet, 30e6);
        vm.prank(owner);
        vault.pause();
        skip(COOLDOWN);
        assertEq(_withdraw(agentWallet), 30e6, "paid");
        _assertMoney(id, MIN_STAKE, MIN_STAKE, 0);
        _assertTotals(MIN_STAKE, 0);
    }

    function test_WithdrawStake_WorksForBannedAgent() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        _strikeTimes(id, STRIKES_TO_BAN, MIN_STAKE);
        assertStatus(id, IStakeVault.AgentStatus.BANNED);
        // Banned agents may still take their free stake out.
        _requestUnstake(agentWallet, 40e6);
        skip(COOLDOWN);
        uint256 walletBefore = usdc.balanceOf(agentWallet);
        assertEq(_withdraw(agentWallet), 40e6, "paid");
        assertEq(usdc.balanceOf(agentWallet), walletBefore + 40e6, "wallet");
        _assertMoney(id, 0, 0, 0);
        _assertTotals(0, 0);
        assertStatus(id, IStakeVault.AgentStatus.BANNED);
    }

    function test_RevertGiven_WithdrawNothingPending() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNotRegistered.selector, stranger));
        _withdraw(stranger);

        uint256 id = _agent();
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNothingToWithdraw.selector, id));
        _withdraw(agentWallet);

        _requestUnstake(agentWallet, MIN_STAKE);
        skip(COOLDOWN);
        _withdraw(agentWallet);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNothingToWithdraw.selector, id));
        _withdraw(agentWallet);
        _assertTotals(0, 0);
    }
}

/*//////////////////////////////////////////////////////////////
                           ESCROW HOOKS
//////////////////////////////////////////////////////////////*/

/// @notice {reserve} and {settleClaim}: who may call them, every {IStakeVault.Outcome}, the
/// reputation counters, and the reservations of SPEC §2.2 through the real RunEscrow.
contract StakeVaultHooksTest is StakeVaultFixture {
    /*//////////////////////////////////////////////////////////////
                            ONLY THE ESCROW
    //////////////////////////////////////////////////////////////*/

    function test_RevertWhen_HookCallerNotEscrow() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _reserveAs(id, MIN_STAKE);
        address[4] memory callers = [stranger, owner, agentWallet, poster];
        for (uint256 i; i < callers.length; ++i) {
            vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, callers[i]));
            vm.prank(callers[i]);
            vault.reserve(id, MIN_STAKE);

            vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, callers[i]));
            vm.prank(callers[i]);
            vault.settleClaim(id, 1, MIN_STAKE, IStakeVault.Outcome.SLASHED, REWARD, 0);
        }
        _assertMoney(id, 50e6, MIN_STAKE, 0);
        _assertTotals(50e6, 0);
    }

    function test_RevertWhen_HookCalledBeforeEscrowIsSet() public {
        StakeVault fresh = _freshVault();
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, address(escrow)));
        vm.prank(address(escrow));
        fresh.reserve(1, MIN_STAKE);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultUnauthorized.selector, address(escrow)));
        vm.prank(address(escrow));
        fresh.settleClaim(1, 1, MIN_STAKE, IStakeVault.Outcome.APPROVED, REWARD, REWARD);
    }

    /*//////////////////////////////////////////////////////////////
                                RESERVE
    //////////////////////////////////////////////////////////////*/

    function test_Reserve_ReservesAndCountsTheClaim() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        vm.recordLogs();
        vm.prank(address(escrow));
        (address wallet, uint256 reasons) = vault.reserve(id, 30e6);
        assertEq(_countAllVaultLogs(vm.getRecordedLogs()), 0, "reserve emits nothing");
        assertEq(wallet, agentWallet, "wallet");
        assertEq(reasons, 0, "reasons");
        _assertMoney(id, 50e6, 30e6, 0);
        _assertRecord(id, Record(1, 0, 0, 0, 0, 0, 0));
        // The rest is still free.
        assertEq(_reserveAs(id, 20e6), 0, "second reservation");
        assertEq(_reserveAs(id, 1), ClaimReasons.INSUFFICIENT_FREE_STAKE, "nothing free");
        _assertMoney(id, 50e6, 50e6, 0);
        _assertRecord(id, Record(2, 0, 0, 0, 0, 0, 0));
        _assertTotals(50e6, 0);
    }

    function test_Reserve_ChangesNothingWhenIneligible() public {
        uint256 id = _registerAndStake(agentWallet, MIN_STAKE - 1);
        vm.prank(address(escrow));
        (address wallet, uint256 reasons) = vault.reserve(id, 1);
        assertEq(wallet, agentWallet, "wallet");
        assertEq(reasons, ClaimReasons.INSUFFICIENT_STAKE, "reasons");
        _assertMoney(id, MIN_STAKE - 1, 0, 0);
        _assertRecord(id, Record(0, 0, 0, 0, 0, 0, 0));

        vm.prank(address(escrow));
        (wallet, reasons) = vault.reserve(99, 1);
        assertEq(wallet, address(0), "unknown wallet");
        assertEq(reasons, ClaimReasons.AGENT_NOT_FOUND, "unknown reasons");
    }

    function test_Reserve_MatchesEligibility() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        uint256[4] memory amounts = [uint256(1), 30e6, 50e6, 50e6 + 1];
        for (uint256 i; i < amounts.length; ++i) {
            (address viewWallet, uint256 viewReasons) = vault.eligibility(id, amounts[i]);
            uint256 snapshot = vm.snapshotState();
            vm.prank(address(escrow));
            (address wallet, uint256 reasons) = vault.reserve(id, amounts[i]);
            assertEq(wallet, viewWallet, "wallet");
            assertEq(reasons, viewReasons, "reasons");
            assertEq(vault.getAgent(id).reserved, reasons == 0 ? amounts[i] : 0, "reserved");
            vm.revertToState(snapshot);
        }
    }

    function test_Reserve_WorksWhileVaultPaused() public {
        uint256 id = _agent();
        vm.prank(owner);
        vault.pause();
        assertEq(_reserveAs(id, MIN_STAKE), 0, "reserved");
        assertEq(_settleAs(id, MIN_STAKE, IStakeVault.Outcome.SLASHED, REWARD, 0), MIN_STAKE, "forfeited");
        _assertMoney(id, 0, 0, 0);
        _assertTotals(0, 0);
    }

    /*//////////////////////////////////////////////////////////////
                         SETTLE CLAIM: OUTCOMES
    //////////////////////////////////////////////////////////////*/

    /// @dev The outcome table of {IStakeVault.Outcome}: which outcomes release, which forfeit
    /// exactly the reservation, and what each records.
    function test_SettleClaim_EveryOutcome() public {
        for (uint256 i; i <= uint256(type(IStakeVault.Outcome).max); ++i) {
            uint256 snapshot = vm.snapshotState();
            _assertSettlesAs(IStakeVault.Outcome(i));
            vm.revertToState(snapshot);
        }
    }

    function _assertSettlesAs(IStakeVault.Outcome outcome) internal {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        _reserveAs(id, 30e6);
        bool forfeits = _isForfeit(outcome);
        bool strike = _isStrike(outcome);
        uint256 escrowBefore = usdc.balanceOf(address(escrow));

        vm.recordLogs();
        if (forfeits) {
            vm.expectEmit(true, true, true, true, address(vault));
            emit IStakeVault.StakeForfeited(id, HOOK_RUN_ID, 30e6, outcome, 70e6, strike ? 1 : 0);
        }
        if (strike) {
            _expectStatusChange(id, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.FROZEN);
        }
        vm.prank(address(escrow));
        (address wallet, uint256 forfeited) = vault.settleClaim(id, HOOK_RUN_ID, 30e6, outcome, REWARD, 7e6);
        Vm.Log[] memory logs = vm.getRecordedLogs();

        assertEq(wallet, agentWallet, "wallet");
        assertEq(forfeited, forfeits ? 30e6 : 0, "forfeited");
        assertEq(usdc.balanceOf(address(escrow)), escrowBefore + forfeited, "escrow receives the forfeit");
        _assertMoney(id, forfeits ? 70e6 : 100e6, 0, 0);
        _assertTotals(forfeits ? 70e6 : 100e6, 0);
        _assertRecord(
            id,
            Record({
                claims: 1,
                completions: outcome == IStakeVault.Outcome.APPROVED
                    || outcome == IStakeVault.Outcome.DISPUTE_WON
                    ? 1
                    : 0,
                strikes: strike ? 1 : 0,
                rejections: outcome == IStakeVault.Outcome.REJECTED ? 1 : 0,
                disputesWon: outcome == IStakeVault.Outcome.DISPUTE_WON ? 1 : 0,
                disputesLost: outcome >= IStakeVault.Outcome.DISPUTE_LOST ? 1 : 0,
                volume: 7e6
            })
        );
        assertEq(vault.getAgent(id).frozen, strike, "frozen");
        assertStatus(id, strike ? IStakeVault.AgentStatus.FROZEN : IStakeVault.AgentStatus.PROVISIONAL);
        assertEq(
            _countVaultLogs(logs, IStakeVault.StakeForfeited.selector), forfeits ? 1 : 0, "StakeForfeited"
        );
        assertEq(
            _countVaultLogs(logs, IStakeVault.AgentStatusChanged.selector), strike ? 1 : 0, "status events"
        );
        assertEq(_countAllVaultLogs(logs), (forfeits ? 1 : 0) + (strike ? 1 : 0), "no other vault event");
    }

    function test_SettleClaim_ForfeitBelowMinimumClearsStakedSince() public {
        uint256 id = _agent();
        _reserveAs(id, MIN_STAKE);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(id, HOOK_RUN_ID, MIN_STAKE, IStakeVault.Outcome.ABANDONED, 0, 0);
        _expectStatusChange(id, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.UNVERIFIED);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.ABANDONED, REWARD, 0);
        assertEq(vault.getAgent(id).stakedSince, 0, "stakedSince cleared");
        _assertMoney(id, 0, 0, 0);
        _assertTotals(0, 0);
        assertStatus(id, IStakeVault.AgentStatus.UNVERIFIED);
    }

    function test_SettleClaim_ForfeitLeavesPendingStakeAlone() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _reserveAs(id, MIN_STAKE);
        _requestUnstake(agentWallet, 30e6);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.DISPUTE_LOST, REWARD, 0);
        // Pending stake is no longer at risk.
        _assertMoney(id, 0, 0, 30e6);
        _assertTotals(0, 30e6);
        skip(COOLDOWN);
        assertEq(_withdraw(agentWallet), 30e6, "pending paid in full");
        _assertTotals(0, 0);
    }

    /// @dev A completion needs a reward of at least {MIN_COMPLETION_REWARD}: 999,999 base units
    /// do not count, 1,000,000 do, for both completing outcomes; the split default never counts.
    function test_SettleClaim_CompletionNeedsOneUsdcReward() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        IStakeVault.Outcome[2] memory completing =
            [IStakeVault.Outcome.APPROVED, IStakeVault.Outcome.DISPUTE_WON];
        uint256 expected;
        for (uint256 i; i < completing.length; ++i) {
            _reserveAs(id, MIN_STAKE);
            _settleAs(id, MIN_STAKE, completing[i], ONE_USDC - 1, ONE_USDC - 1);
            assertEq(vault.getAgent(id).completions, expected, "999_999 is no completion");
            _reserveAs(id, MIN_STAKE);
            _settleAs(id, MIN_STAKE, completing[i], ONE_USDC, ONE_USDC);
            assertEq(vault.getAgent(id).completions, ++expected, "1_000_000 is a completion");
        }
        _reserveAs(id, MIN_STAKE);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.DISPUTE_SPLIT, 1000e6, 500e6);
        _reserveAs(id, MIN_STAKE);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.REJECTED, 1000e6, 0);
        _assertRecord(id, Record(6, 2, 0, 1, 2, 0, 2 * (2 * ONE_USDC - 1) + 500e6));
    }

    function test_SettleClaim_VolumeSaturatesAtUint96() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        _reserveAs(id, MIN_STAKE);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.APPROVED, REWARD, type(uint96).max - 5);
        _reserveAs(id, MIN_STAKE);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.APPROVED, REWARD, 10);
        assertEq(vault.getAgent(id).volume, type(uint96).max, "saturated");
        _reserveAs(id, MIN_STAKE);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.DISPUTE_WON, REWARD, REWARD);
        assertEq(vault.getAgent(id).volume, type(uint96).max, "stays saturated");
        _assertRecord(id, Record(3, 3, 0, 0, 1, 0, type(uint96).max));
    }

    /// @dev Every counter saturates instead of reverting, so no settlement can be blocked by one.
    /// Reaching them for real takes 2^32 claims or completions, or 2^16 strikes, rejections or
    /// disputes of one agent (strikes keep counting after a ban through live claims), so the
    /// counter is set one short of the hook with `vm.store`; each case first checks through
    /// `getAgent` that the store hit the intended field.
    function test_SettleClaim_EveryCounterSaturates() public {
        for (uint256 which; which < 6; ++which) {
            uint256 snapshot = vm.snapshotState();
            _assertCounterSaturates(which);
            vm.revertToState(snapshot);
        }
    }

    function _assertCounterSaturates(uint256 which) internal {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        _reserveAs(id, MIN_STAKE);
        // (slot, bit offset, width) of each counter in the packed AgentData, and its outcome.
        uint256[3][6] memory layout = [
            [uint256(0), 224, 32], // claims
            [uint256(2), 0, 32], // completions
            [uint256(1), 208, 16], // strikes
            [uint256(2), 32, 16], // rejections
            [uint256(2), 48, 16], // disputesWon
            [uint256(2), 64, 16] // disputesLost
        ];
        IStakeVault.Outcome[6] memory outcomes = [
            IStakeVault.Outcome.APPROVED,
            IStakeVault.Outcome.APPROVED,
            IStakeVault.Outcome.SLASHED,
            IStakeVault.Outcome.REJECTED,
            IStakeVault.Outcome.DISPUTE_WON,
            IStakeVault.Outcome.DISPUTE_LOST
        ];
        uint256 max = (1 << layout[which][2]) - 1;
        _storeAgentField(id, layout[which][0], layout[which][1], layout[which][2], max);
        assertEq(_counter(vault.getAgent(id), which), max, "stored into the intended counter");
        _assertMoney(id, 100e6, MIN_STAKE, 0);

        if (which == 0) {
            assertEq(_reserveAs(id, MIN_STAKE), 0, "reserve at the claims cap");
            _assertMoney(id, 100e6, 2 * MIN_STAKE, 0);
        } else {
            if (which == 2) {
                vm.expectEmit(true, true, true, true, address(vault));
                emit IStakeVault.StakeForfeited(
                    id, HOOK_RUN_ID, MIN_STAKE, outcomes[which], 80e6, uint16(max)
                );
            }
            _settleAs(id, MIN_STAKE, outcomes[which], REWARD, 0);
            _assertMoney(id, _isForfeit(outcomes[which]) ? 80e6 : 100e6, 0, 0);
        }
        assertEq(_counter(vault.getAgent(id), which), max, "saturated");
        _assertSolvent();
    }

    function _counter(IStakeVault.Agent memory a, uint256 which) internal pure returns (uint256) {
        if (which == 0) return a.claims;
        if (which == 1) return a.completions;
        if (which == 2) return a.strikes;
        if (which == 3) return a.rejections;
        if (which == 4) return a.disputesWon;
        return a.disputesLost;
    }

    /*//////////////////////////////////////////////////////////////
                 RESERVATIONS THROUGH THE REAL ESCROW
    //////////////////////////////////////////////////////////////*/

    function test_Reservation_TwentyBacksExactlyOneClaim() public {
        uint256 id = _agent();
        uint256 first = _openRun();
        uint256 second = _openRun();

        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.Claimed(first, id, agentWallet, MIN_STAKE);
        _claim(first, id);
        _assertMoney(id, MIN_STAKE, MIN_STAKE, 0);

        (bool eligible, uint256 reasons) = escrow.canClaim(second, id);
        assertFalse(eligible, "second not claimable");
        assertEq(reasons, ClaimReasons.INSUFFICIENT_FREE_STAKE, "canClaim reasons");
        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowNotClaimable.selector, second, id, ClaimReasons.INSUFFICIENT_FREE_STAKE
            )
        );
        vm.prank(agentWallet);
        escrow.claim(second, id);
        _assertRecord(id, Record(1, 0, 0, 0, 0, 0, 0));

        // Released by the approval, the same stake backs the next claim.
        _submit(first);
        _approve(first);
        _assertMoney(id, MIN_STAKE, 0, 0);
        _claim(second, id);
        _assertMoney(id, MIN_STAKE, MIN_STAKE, 0);
        _assertTotals(MIN_STAKE, 0);
    }

    function test_Reservation_SixtyBacksThreeClaims() public {
        uint256 id = _registerAndStake(agentWallet, 3 * MIN_STAKE);
        for (uint256 i; i < 3; ++i) {
            _claimedRun(id);
            _assertMoney(id, 3 * MIN_STAKE, (i + 1) * MIN_STAKE, 0);
        }
        uint256 fourth = _openRun();
        vm.expectRevert(
            abi.encodeWithSelector(
                IRunEscrow.RunEscrowNotClaimable.selector, fourth, id, ClaimReasons.INSUFFICIENT_FREE_STAKE
            )
        );
        vm.prank(agentWallet);
        escrow.claim(fourth, id);
        // A run requiring more than the minimum reserves what it requires.
        _stake(agentWallet, 50e6);
        uint256 bigger = _openRunRequiring(50e6);
        _claim(bigger, id);
        _assertMoney(id, 110e6, 110e6, 0);
        _assertRecord(id, Record(4, 0, 0, 0, 0, 0, 0));
        _assertTotals(110e6, 0);
    }

    function _submit(uint256 runId) internal {
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
    }

    /// @dev The reservation is held from claim to settlement: start, submit, requestRevision,
    /// reject, dispute and evidence leave stake and reservation as they are.
    function test_Reservation_UntouchedUntilTheRunSettles() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        uint256 runId = _openRun();
        _claim(runId, id);
        _assertHeld(id);

        vm.prank(agentWallet);
        escrow.start(runId);
        _assertHeld(id);
        for (uint256 i; i < MAX_REVISIONS; ++i) {
            _submit(runId);
            _assertHeld(id);
            vm.prank(poster);
            escrow.requestRevision(runId, REASON);
            _assertHeld(id);
        }
        _submit(runId);
        vm.prank(poster);
        escrow.reject(runId, REASON);
        _assertHeld(id);
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
        _assertHeld(id);
        vm.prank(poster);
        escrow.submitEvidence(runId, EVIDENCE);
        _assertHeld(id);

        vm.prank(arbitrator);
        escrow.resolve(runId, 10_000, false);
        _assertMoney(id, 50e6, 0, 0);
        _assertTotals(50e6, 0);
    }

    function _assertHeld(uint256 id) internal view {
        _assertMoney(id, 50e6, MIN_STAKE, 0);
        _assertTotals(50e6, 0);
        assertEq(_reasons(id, 30e6), 0, "30 still free");
        assertEq(_reasons(id, 30e6 + 1), ClaimReasons.INSUFFICIENT_FREE_STAKE, "no more than 30 free");
    }

    /// @dev Every way a run settles, through the real escrow, and what it does to the vault: the
    /// reservation released or forfeited (paid to the poster) exactly once, and the record.
    enum Path {
        APPROVE,
        APPROVE_ON_TIMEOUT,
        FINALIZE_REJECTION,
        ACCEPT_REJECTION,
        RULING_WON,
        RULING_LOST,
        RULING_LOST_STRUCK,
        SETTLE_DISPUTE,
        SLASH,
        ABANDON
    }

    struct Expected {
        IStakeVault.Outcome outcome;
        uint256 earned;
        uint256 posterGain;
    }

    function test_Reservation_ReleasedOrForfeitedOnEverySettlement() public {
        for (uint256 p; p <= uint256(type(Path).max); ++p) {
            uint256 snapshot = vm.snapshotState();
            _assertSettlementPath(Path(p));
            vm.revertToState(snapshot);
        }
    }

    function _assertSettlementPath(Path path) internal {
        uint256 id = _registerAndStake(agentWallet, 3 * MIN_STAKE);
        uint256 runId = _runBefore(path, id);
        _assertMoney(id, 3 * MIN_STAKE, MIN_STAKE, 0);
        Expected memory e = _expected(path);
        bool forfeits = _isForfeit(e.outcome);
        uint256 posterBefore = usdc.balanceOf(poster);
        uint256 vaultBefore = usdc.balanceOf(address(vault));

        if (forfeits) {
            vm.expectEmit(true, true, true, true, address(vault));
            emit IStakeVault.StakeForfeited(
                id, runId, MIN_STAKE, e.outcome, 2 * MIN_STAKE, _isStrike(e.outcome) ? 1 : 0
            );
        }
        _runSettle(path, runId);

        uint256 stakeAfter = forfeits ? 2 * MIN_STAKE : 3 * MIN_STAKE;
        _assertMoney(id, stakeAfter, 0, 0);
        _assertTotals(stakeAfter, 0);
        assertEq(
            vaultBefore - usdc.balanceOf(address(vault)), forfeits ? MIN_STAKE : 0, "vault pays the forfeit"
        );
        assertEq(usdc.balanceOf(poster) - posterBefore, e.posterGain, "poster");
        _assertRecord(id, _expectedRecord(e));
        assertStatus(
            id, _isStrike(e.outcome) ? IStakeVault.AgentStatus.FROZEN : IStakeVault.AgentStatus.PROVISIONAL
        );
        // The run is over for the vault: all the stake left backs new claims (unless struck).
        if (!_isStrike(e.outcome)) {
            for (uint256 i; i < stakeAfter / MIN_STAKE; ++i) {
                _claimedRun(id);
            }
            assertEq(vault.getAgent(id).reserved, stakeAfter, "stake backs new claims, reservation gone");
        }
    }

    function _expectedRecord(Expected memory e) internal pure returns (Record memory r) {
        r.claims = 1;
        r.completions =
            e.outcome == IStakeVault.Outcome.APPROVED || e.outcome == IStakeVault.Outcome.DISPUTE_WON ? 1 : 0;
        r.strikes = _isStrike(e.outcome) ? 1 : 0;
        r.rejections = e.outcome == IStakeVault.Outcome.REJECTED ? 1 : 0;
        r.disputesWon = e.outcome == IStakeVault.Outcome.DISPUTE_WON ? 1 : 0;
        r.disputesLost = e.outcome >= IStakeVault.Outcome.DISPUTE_LOST ? 1 : 0;
        r.volume = e.earned;
    }

    function _expected(Path path) internal pure returns (Expected memory e) {
        // Bond == requiredStake == MIN_STAKE; the poster escrowed REWARD + FEE.
        if (path == Path.APPROVE || path == Path.APPROVE_ON_TIMEOUT) {
            return Expected(IStakeVault.Outcome.APPROVED, REWARD, 0);
        }
        if (path == Path.FINALIZE_REJECTION || path == Path.ACCEPT_REJECTION) {
            return Expected(IStakeVault.Outcome.REJECTED, 0, REWARD + FEE + MIN_STAKE);
        }
        if (path == Path.RULING_WON) {
            return Expected(IStakeVault.Outcome.DISPUTE_WON, REWARD * 6000 / 10_000, 4e7 + 2e6);
        }
        if (path == Path.RULING_LOST) {
            // 20%: the agent gets 20 of the reward, the poster the rest, its bond and the forfeit.
            return Expected(IStakeVault.Outcome.DISPUTE_LOST, 20e6, 80e6 + 4e6 + MIN_STAKE + MIN_STAKE);
        }
        if (path == Path.RULING_LOST_STRUCK) {
            return Expected(IStakeVault.Outcome.DISPUTE_LOST_STRUCK, 0, REWARD + FEE + MIN_STAKE + MIN_STAKE);
        }
        if (path == Path.SETTLE_DISPUTE) {
            return Expected(IStakeVault.Outcome.DISPUTE_SPLIT, REWARD / 2, REWARD / 2 + FEE / 2 + MIN_STAKE);
        }
        // The slashed or abandoned run is OPEN again: only the reservation moves.
        if (path == Path.SLASH) return Expected(IStakeVault.Outcome.SLASHED, 0, MIN_STAKE);
        return Expected(IStakeVault.Outcome.ABANDONED, 0, MIN_STAKE);
    }

    function _runBefore(Path path, uint256 id) internal returns (uint256 runId) {
        if (path <= Path.APPROVE_ON_TIMEOUT) return _submittedRun(id);
        if (path <= Path.ACCEPT_REJECTION) return _rejectedRun(id);
        if (path <= Path.SETTLE_DISPUTE) return _disputedRun(id);
        return _claimedRun(id);
    }

    function _runSettle(Path path, uint256 runId) internal {
        if (path == Path.APPROVE) {
            _approve(runId);
        } else if (path == Path.APPROVE_ON_TIMEOUT) {
            skip(REVIEW_PERIOD + 1);
            vm.prank(stranger);
            escrow.approveOnTimeout(runId);
        } else if (path == Path.FINALIZE_REJECTION) {
            skip(DISPUTE_WINDOW + 1);
            vm.prank(stranger);
            escrow.finalizeRejection(runId);
        } else if (path == Path.ACCEPT_REJECTION) {
            vm.prank(agentWallet);
            escrow.acceptRejection(runId);
        } else if (path == Path.RULING_WON) {
            vm.prank(arbitrator);
            escrow.resolve(runId, 6000, false);
        } else if (path == Path.RULING_LOST) {
            vm.prank(arbitrator);
            escrow.resolve(runId, 2000, false);
        } else if (path == Path.RULING_LOST_STRUCK) {
            vm.prank(arbitrator);
            escrow.resolve(runId, 0, true);
        } else if (path == Path.SETTLE_DISPUTE) {
            skip(RULING_PERIOD + 1);
            vm.prank(stranger);
            escrow.settleDispute(runId);
        } else if (path == Path.SLASH) {
            _slashClaimed(runId);
        } else {
            vm.prank(agentWallet);
            escrow.abandon(runId);
        }
    }

    function test_Reservation_SettledOnceEvenIfTheRunIsClaimedAgain() public {
        uint256 id = _registerAndStake(agentWallet, 3 * MIN_STAKE);
        uint256 other = _registerAndStake(otherAgentWallet, MIN_STAKE);
        uint256 runId = _claimedRun(id);
        vm.prank(agentWallet);
        escrow.abandon(runId);
        _assertMoney(id, 2 * MIN_STAKE, 0, 0);

        // The run is OPEN again; another agent's claim and slash touch only that agent.
        _claim(runId, other);
        _slashClaimed(runId);
        _assertMoney(id, 2 * MIN_STAKE, 0, 0);
        _assertMoney(other, 0, 0, 0);
        _assertRecord(id, Record(1, 0, 0, 0, 0, 0, 0));
        _assertRecord(other, Record(1, 0, 1, 0, 0, 0, 0));
        _assertTotals(2 * MIN_STAKE, 0);
    }

    function test_Reservation_CompletionThresholdThroughTheEscrow() public {
        uint256 id = _registerAndStake(agentWallet, 2 * MIN_STAKE);
        uint256[2] memory rewards = [ONE_USDC - 1, ONE_USDC];
        for (uint256 i; i < 2; ++i) {
            vm.prank(poster);
            uint256 runId = escrow.createAndFund(SPEC, rewards[i], defaultDeadline(), MAX_REVISIONS, 0, 0);
            _claim(runId, id);
            _submit(runId);
            _approve(runId);
            assertEq(vault.getAgent(id).completions, i, "a completion only from 1 USDC");
        }
        _assertRecord(id, Record(2, 1, 0, 0, 0, 0, 2 * ONE_USDC - 1));
        _assertTotals(2 * MIN_STAKE, 0);
    }
}

/*//////////////////////////////////////////////////////////////
                      TRUST LADDER, ELIGIBILITY
//////////////////////////////////////////////////////////////*/

/// @notice The trust ladder as {IStakeVault}'s NatSpec states it, {statusOf}, {getAgent} and
/// {eligibility}.
contract StakeVaultLadderTest is StakeVaultFixture {
    /*//////////////////////////////////////////////////////////////
                               ESTABLISHED
    //////////////////////////////////////////////////////////////*/

    function test_Ladder_EstablishedAtTheAgeBoundary() public {
        uint256 id = _agent();
        uint256 since = block.timestamp;
        _completeAs(id, ESTABLISHED_COMPLETIONS);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);

        vm.warp(since + ESTABLISHED_AGE - 1);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
        vm.warp(since + ESTABLISHED_AGE);
        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);
        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(uint256(a.status), uint256(IStakeVault.AgentStatus.ESTABLISHED), "getAgent status");
        assertEq(a.stakedSince, since, "stakedSince");
        assertEq(_reasons(id, MIN_STAKE), 0, "ESTABLISHED may claim");
    }

    function test_Ladder_EstablishedNeedsEveryCompletion() public {
        uint256 id = _agent();
        _completeAs(id, ESTABLISHED_COMPLETIONS - 1);
        skip(ESTABLISHED_AGE);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);

        // The completion that crosses the threshold is a transaction: it emits the change.
        _reserveAs(id, MIN_STAKE);
        _expectStatusChange(id, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.ESTABLISHED);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.APPROVED, ONE_USDC, ONE_USDC);
        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);
    }

    function test_Ladder_AgeCountsFromReachingTheMinimum() public {
        uint256 id = _registerAndStake(agentWallet, MIN_STAKE - 1);
        // Time below the minimum does not count.
        skip(ESTABLISHED_AGE);
        _stake(agentWallet, 1);
        uint256 since = block.timestamp;
        _completeAs(id, ESTABLISHED_COMPLETIONS);
        vm.warp(since + ESTABLISHED_AGE - 1);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
        vm.warp(since + ESTABLISHED_AGE);
        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);
    }

    function test_Ladder_LeavingAndReturningWaitsTheAgeAgain() public {
        uint256 id = _agent();
        _completeAs(id, ESTABLISHED_COMPLETIONS);
        skip(ESTABLISHED_AGE);
        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);

        _expectStatusChange(id, IStakeVault.AgentStatus.ESTABLISHED, IStakeVault.AgentStatus.UNVERIFIED);
        _requestUnstake(agentWallet, MIN_STAKE);
        assertEq(vault.getAgent(id).stakedSince, 0, "stakedSince cleared");

        skip(1 days);
        uint256 returnedAt = block.timestamp;
        _expectStatusChange(id, IStakeVault.AgentStatus.UNVERIFIED, IStakeVault.AgentStatus.PROVISIONAL);
        _stake(agentWallet, MIN_STAKE);
        IStakeVault.Agent memory a = vault.getAgent(id);
        assertEq(a.stakedSince, returnedAt, "stakedSince restarted");
        assertEq(a.completions, ESTABLISHED_COMPLETIONS, "completions kept");

        vm.warp(returnedAt + ESTABLISHED_AGE - 1);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
        vm.warp(returnedAt + ESTABLISHED_AGE);
        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);
    }

    function test_Ladder_ForfeitBelowMinimumRestartsTheAge() public {
        uint256 id = _agent();
        _completeAs(id, ESTABLISHED_COMPLETIONS);
        skip(ESTABLISHED_AGE);
        _reserveAs(id, MIN_STAKE);
        _expectStatusChange(id, IStakeVault.AgentStatus.ESTABLISHED, IStakeVault.AgentStatus.UNVERIFIED);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.ABANDONED, REWARD, 0);
        assertEq(vault.getAgent(id).stakedSince, 0, "stakedSince cleared");

        _stake(agentWallet, MIN_STAKE);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
        skip(ESTABLISHED_AGE);
        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);
    }

    /*//////////////////////////////////////////////////////////////
                                 FROZEN
    //////////////////////////////////////////////////////////////*/

    function test_Ladder_EveryStrikeFreezes() public {
        IStakeVault.Outcome[2] memory strikes =
            [IStakeVault.Outcome.SLASHED, IStakeVault.Outcome.DISPUTE_LOST_STRUCK];
        for (uint256 i; i < strikes.length; ++i) {
            uint256 snapshot = vm.snapshotState();
            uint256 id = _registerAndStake(agentWallet, 100e6);
            _reserveAs(id, MIN_STAKE);
            _expectStatusChange(id, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.FROZEN);
            _settleAs(id, MIN_STAKE, strikes[i], REWARD, 0);
            IStakeVault.Agent memory a = vault.getAgent(id);
            assertTrue(a.frozen, "frozen");
            assertEq(a.strikes, 1, "strike");
            assertEq(a.stake, 80e6, "still above the minimum");
            assertStatus(id, IStakeVault.AgentStatus.FROZEN);
            assertEq(_reasons(id, MIN_STAKE), ClaimReasons.AGENT_FROZEN, "frozen only");
            vm.revertToState(snapshot);
        }
    }

    /// @dev A strike's freeze is left only by a stake of at least the minimum that leaves the stake
    /// at or above it: reaching the minimum with a smaller top-up is not enough.
    function test_Ladder_FrozenLeftOnlyByAFreshMinimumStake() public {
        uint256 id = _agent();
        _strikeAs(id, MIN_STAKE);
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);

        // A stake that stays below the minimum leaves the agent FROZEN, with no event.
        vm.recordLogs();
        _stake(agentWallet, MIN_STAKE - 1);
        _assertNoStatusEvent(vm.getRecordedLogs());
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);
        assertTrue(vault.getAgent(id).frozen, "still frozen");
        assertEq(vault.getAgent(id).stakedSince, 0, "no stakedSince below the minimum");

        // Reaching the minimum with one unit starts the clock but does not unfreeze.
        uint256 reachedAt = block.timestamp;
        vm.recordLogs();
        _stake(agentWallet, 1);
        _assertNoStatusEvent(vm.getRecordedLogs());
        assertTrue(vault.getAgent(id).frozen, "a top-up does not unfreeze");
        assertEq(vault.getAgent(id).stakedSince, reachedAt, "stakedSince");
        assertEq(_reasons(id, MIN_STAKE), ClaimReasons.AGENT_FROZEN, "no new claim");

        skip(1 hours);
        _expectStatusChange(id, IStakeVault.AgentStatus.FROZEN, IStakeVault.AgentStatus.PROVISIONAL);
        _stake(agentWallet, MIN_STAKE);
        assertFalse(vault.getAgent(id).frozen, "unfrozen");
        assertEq(vault.getAgent(id).stakedSince, reachedAt, "the clock kept running");
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
    }

    function test_Ladder_FrozenAboveMinimumLeftOnlyByAFreshMinimumStake() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        _completeAs(id, ESTABLISHED_COMPLETIONS);
        skip(ESTABLISHED_AGE);
        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);

        _reserveAs(id, MIN_STAKE);
        _reserveAs(id, MIN_STAKE);
        _expectStatusChange(id, IStakeVault.AgentStatus.ESTABLISHED, IStakeVault.AgentStatus.FROZEN);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.SLASHED, REWARD, 0);
        assertEq(_reasons(id, MIN_STAKE), ClaimReasons.AGENT_FROZEN, "no new claim");
        // Time, a completion of a live claim and unstaking do not unfreeze.
        skip(ESTABLISHED_AGE);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.APPROVED, REWARD, REWARD);
        _requestUnstake(agentWallet, 10e6);
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);
        _assertMoney(id, 70e6, 0, 10e6);

        // Nor does a token top-up of an agent that kept the minimum (the v2 review's finding).
        vm.recordLogs();
        _stake(agentWallet, 1);
        _assertNoStatusEvent(vm.getRecordedLogs());
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);

        // Stake never fell below the minimum, so the age and completions still hold.
        _expectStatusChange(id, IStakeVault.AgentStatus.FROZEN, IStakeVault.AgentStatus.ESTABLISHED);
        _stake(agentWallet, MIN_STAKE);
        assertStatus(id, IStakeVault.AgentStatus.ESTABLISHED);
    }

    /// @dev An agent with a strike that restaked (unfrozen) and then went below the minimum is
    /// shown FROZEN, not UNVERIFIED; staking back to the minimum lifts it again (that stake is
    /// fresh money at risk by construction).
    function test_Ladder_StruckAgentBelowMinimumIsFrozen() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        _strikeAs(id, MIN_STAKE);
        _stake(agentWallet, MIN_STAKE);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);
        assertFalse(vault.getAgent(id).frozen, "unfrozen");

        // 100 USDC staked: leave one unit below the minimum.
        _expectStatusChange(id, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.FROZEN);
        _requestUnstake(agentWallet, 100e6 - (MIN_STAKE - 1));
        assertFalse(vault.getAgent(id).frozen, "flag unset: derived from the strike");
        assertEq(_reasons(id, 1), ClaimReasons.AGENT_FROZEN | ClaimReasons.INSUFFICIENT_STAKE, "reasons");

        _expectStatusChange(id, IStakeVault.AgentStatus.FROZEN, IStakeVault.AgentStatus.PROVISIONAL);
        _stake(agentWallet, 1);
    }

    /*//////////////////////////////////////////////////////////////
                                 BANNED
    //////////////////////////////////////////////////////////////*/

    function test_Ladder_BannedAtTheThirdStrike() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        // Three live claims, reserved while the agent could still claim.
        for (uint256 i; i < 3; ++i) {
            _reserveAs(id, MIN_STAKE);
        }
        _expectStatusChange(id, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.FROZEN);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.SLASHED, REWARD, 0);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.DISPUTE_LOST_STRUCK, REWARD, 0);
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);
        assertFalse(vault.getAgent(id).banned, "two strikes");

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(id, HOOK_RUN_ID, MIN_STAKE, IStakeVault.Outcome.SLASHED, 40e6, 3);
        _expectStatusChange(id, IStakeVault.AgentStatus.FROZEN, IStakeVault.AgentStatus.BANNED);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.SLASHED, REWARD, 0);
        IStakeVault.Agent memory a = vault.getAgent(id);
        assertTrue(a.banned, "banned");
        assertEq(a.strikes, 3, "strikes");
        assertStatus(id, IStakeVault.AgentStatus.BANNED);
        assertEq(_reasons(id, MIN_STAKE), ClaimReasons.AGENT_BANNED, "banned, not also frozen");
        _assertMoney(id, 40e6, 0, 0);
        _assertTotals(40e6, 0);
    }

    function test_Ladder_LoweringStrikesToBanBansNoOneRetroactively() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        _strikeAs(id, MIN_STAKE);
        vm.recordLogs();
        _setStrikesToBan(1);
        _assertNoStatusEvent(vm.getRecordedLogs());
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);
        assertFalse(vault.getAgent(id).banned, "not banned by the owner");
        _stake(agentWallet, MIN_STAKE);
        assertStatus(id, IStakeVault.AgentStatus.PROVISIONAL);

        // The next strike is judged by the threshold in force then.
        _reserveAs(id, MIN_STAKE);
        _expectStatusChange(id, IStakeVault.AgentStatus.PROVISIONAL, IStakeVault.AgentStatus.BANNED);
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.SLASHED, REWARD, 0);
        assertTrue(vault.getAgent(id).banned, "banned at the second strike");
    }

    function test_Ladder_RaisingStrikesToBanDoesNotUnban() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        _strikeTimes(id, STRIKES_TO_BAN, MIN_STAKE);
        assertStatus(id, IStakeVault.AgentStatus.BANNED);
        _setStrikesToBan(10);
        assertStatus(id, IStakeVault.AgentStatus.BANNED);
        _setMinStake(1);
        assertStatus(id, IStakeVault.AgentStatus.BANNED);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAgentBanned.selector, id));
        _stake(agentWallet, MIN_STAKE);
    }

    function test_Ladder_BannedMayStillUnstakeFreeStake() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        // A live claim (20) the agent still holds when three others (20, 20, 1) end in strikes.
        uint256[4] memory claims = [uint256(MIN_STAKE), MIN_STAKE, MIN_STAKE, 1];
        for (uint256 i; i < claims.length; ++i) {
            _reserveAs(id, claims[i]);
        }
        for (uint256 i = 1; i < claims.length; ++i) {
            _settleAs(id, claims[i], IStakeVault.Outcome.SLASHED, REWARD, 0);
        }
        assertStatus(id, IStakeVault.AgentStatus.BANNED);
        _assertMoney(id, 60e6 - 1, MIN_STAKE, 0);

        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultInsufficientFreeStake.selector, id, 40e6 - 1, 40e6)
        );
        _requestUnstake(agentWallet, 40e6);
        vm.recordLogs();
        _requestUnstake(agentWallet, 40e6 - 1);
        _assertNoStatusEvent(vm.getRecordedLogs());
        // The live claim still settles; a release keeps the agent banned.
        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.APPROVED, REWARD, REWARD);
        _assertMoney(id, MIN_STAKE, 0, 40e6 - 1);
        assertStatus(id, IStakeVault.AgentStatus.BANNED);
        _assertTotals(MIN_STAKE, 40e6 - 1);
        skip(COOLDOWN);
        assertEq(_withdraw(agentWallet), 40e6 - 1, "banned agent withdraws");
        _assertTotals(MIN_STAKE, 0);
    }

    /*//////////////////////////////////////////////////////////////
                           OWNER AND THE LADDER
    //////////////////////////////////////////////////////////////*/

    /// @dev Raising the minimum above an agent's stake re-derives its status without an event:
    /// UNVERIFIED if never struck, FROZEN if struck.
    function test_Ladder_RaisedMinimumRederivesWithoutEvents() public {
        uint256 clean = _registerAndStake(agentWallet, 30e6);
        uint256 struck = _registerAndStake(otherAgentWallet, 100e6);
        _strikeAs(struck, 70e6);
        _stake(otherAgentWallet, MIN_STAKE);
        assertStatus(struck, IStakeVault.AgentStatus.PROVISIONAL);

        vm.recordLogs();
        _setMinStake(60e6);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        _assertNoStatusEvent(logs);
        assertEq(_countAllVaultLogs(logs), 1, "only ParametersUpdated");
        assertStatus(clean, IStakeVault.AgentStatus.UNVERIFIED);
        assertStatus(struck, IStakeVault.AgentStatus.FROZEN);
        assertEq(_reasons(clean, 1), ClaimReasons.INSUFFICIENT_STAKE, "clean reasons");
        assertEq(
            _reasons(struck, 1), ClaimReasons.AGENT_FROZEN | ClaimReasons.INSUFFICIENT_STAKE, "struck reasons"
        );
        _assertMoney(clean, 30e6, 0, 0);
        _assertTotals(30e6 + 50e6, 0);

        // Back at the old minimum, both are PROVISIONAL again, with no event either.
        _setMinStake(MIN_STAKE);
        assertStatus(clean, IStakeVault.AgentStatus.PROVISIONAL);
        assertStatus(struck, IStakeVault.AgentStatus.PROVISIONAL);
    }

    /// @dev A strike's freeze is lifted by the agent's own stake only, never by an owner lowering
    /// the minimum below what the agent holds.
    function test_Ladder_LoweredMinimumDoesNotUnfreeze() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        _strikeAs(id, MIN_STAKE);
        _setMinStake(1);
        assertStatus(id, IStakeVault.AgentStatus.FROZEN);
        assertEq(_reasons(id, 1), ClaimReasons.AGENT_FROZEN, "still frozen");
        _expectStatusChange(id, IStakeVault.AgentStatus.FROZEN, IStakeVault.AgentStatus.PROVISIONAL);
        _stake(agentWallet, 1);
    }

    /*//////////////////////////////////////////////////////////////
                               ELIGIBILITY
    //////////////////////////////////////////////////////////////*/

    function test_Eligibility_ReportsEveryFailedAgentRule() public {
        (address wallet, uint256 reasons) = vault.eligibility(1, MIN_STAKE);
        assertEq(wallet, address(0), "unknown wallet");
        assertEq(reasons, ClaimReasons.AGENT_NOT_FOUND, "unknown");
        (, reasons) = vault.eligibility(0, 0);
        assertEq(reasons, ClaimReasons.AGENT_NOT_FOUND, "id zero");

        uint256 id = _register(agentWallet);
        (wallet, reasons) = vault.eligibility(id, MIN_STAKE);
        assertEq(wallet, agentWallet, "wallet");
        assertEq(reasons, ClaimReasons.INSUFFICIENT_STAKE | ClaimReasons.INSUFFICIENT_FREE_STAKE, "no stake");

        _stake(agentWallet, 40e6);
        assertEq(_reasons(id, 40e6), 0, "eligible for all of it");
        assertEq(_reasons(id, 40e6 + 1), ClaimReasons.INSUFFICIENT_FREE_STAKE, "above the stake");
        _reserveAs(id, MIN_STAKE);
        assertEq(_reasons(id, MIN_STAKE), 0, "free 20 backs 20");
        assertEq(_reasons(id, MIN_STAKE + 1), ClaimReasons.INSUFFICIENT_FREE_STAKE, "free 20 backs no more");
        // Two more live claims of one unit, so that later strikes need no new claim.
        _reserveAs(id, 1);
        _reserveAs(id, 1);

        _settleAs(id, MIN_STAKE, IStakeVault.Outcome.SLASHED, REWARD, 0);
        assertEq(_reasons(id, MIN_STAKE - 2), ClaimReasons.AGENT_FROZEN, "frozen at the minimum");
        assertEq(
            _reasons(id, MIN_STAKE),
            ClaimReasons.AGENT_FROZEN | ClaimReasons.INSUFFICIENT_FREE_STAKE,
            "frozen, two units reserved"
        );
        _settleAs(id, 1, IStakeVault.Outcome.DISPUTE_LOST_STRUCK, REWARD, 0);
        assertEq(
            _reasons(id, MIN_STAKE),
            ClaimReasons.AGENT_FROZEN | ClaimReasons.INSUFFICIENT_STAKE
                | ClaimReasons.INSUFFICIENT_FREE_STAKE,
            "frozen below the minimum"
        );
        _settleAs(id, 1, IStakeVault.Outcome.SLASHED, REWARD, 0);
        assertEq(
            _reasons(id, MIN_STAKE),
            ClaimReasons.AGENT_BANNED | ClaimReasons.INSUFFICIENT_STAKE
                | ClaimReasons.INSUFFICIENT_FREE_STAKE,
            "banned below the minimum"
        );
        assertEq(
            _reasons(id, 1), ClaimReasons.AGENT_BANNED | ClaimReasons.INSUFFICIENT_STAKE, "banned, 1 free"
        );
        _assertMoney(id, MIN_STAKE - 2, 0, 0);
        _assertTotals(MIN_STAKE - 2, 0);
    }
}

/*//////////////////////////////////////////////////////////////
                                 OWNER
//////////////////////////////////////////////////////////////*/

/// @notice {setRunEscrow}, {setParameters}, {pause}/{unpause} and ownership.
contract StakeVaultOwnerTest is StakeVaultFixture {
    /*//////////////////////////////////////////////////////////////
                              SET RUN ESCROW
    //////////////////////////////////////////////////////////////*/

    function test_SetRunEscrow_BindsOnceAndOpensStaking() public {
        StakeVault fresh = _freshVault();
        RunEscrow freshEscrow = _escrowFor(fresh);
        vm.expectEmit(true, true, true, true, address(fresh));
        emit IStakeVault.RunEscrowSet(address(freshEscrow));
        vm.prank(owner);
        fresh.setRunEscrow(address(freshEscrow));
        assertEq(fresh.runEscrow(), address(freshEscrow), "runEscrow");
        (uint256 version,) = freshEscrow.parameters();
        assertEq(version, 1, "minimum unchanged: no new terms");

        vm.prank(agentWallet);
        uint256 id = fresh.register("ipfs://agent");
        vm.prank(agentWallet);
        usdc.approve(address(fresh), MIN_STAKE);
        vm.prank(agentWallet);
        fresh.stake(MIN_STAKE);
        assertEq(fresh.getAgent(id).stake, MIN_STAKE, "staking open");

        RunEscrow another = _escrowFor(fresh);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultEscrowAlreadySet.selector, address(freshEscrow))
        );
        vm.prank(owner);
        fresh.setRunEscrow(address(another));
        assertEq(fresh.runEscrow(), address(freshEscrow), "unchanged");
    }

    function test_SetRunEscrow_SyncsAChangedMinimumIntoTheEscrow() public {
        StakeVault fresh = _freshVault();
        RunEscrow freshEscrow = _escrowFor(fresh);
        // The escrow read 20 USDC at deployment; the owner raised it before binding.
        vm.prank(owner);
        fresh.setParameters(_params(30e6, COOLDOWN, STRIKES_TO_BAN));
        (uint256 version, IRunEscrow.Terms memory terms) = freshEscrow.parameters();
        assertEq(version, 1, "no escrow bound: nothing synced yet");
        assertEq(terms.minStake, MIN_STAKE, "escrow's minimum");

        terms.minStake = 30e6;
        vm.expectEmit(true, true, true, true, address(freshEscrow));
        emit IRunEscrow.ParametersUpdated(2, terms);
        vm.prank(owner);
        fresh.setRunEscrow(address(freshEscrow));
        (version, terms) = freshEscrow.parameters();
        assertEq(version, 2, "new terms version");
        assertEq(terms.minStake, 30e6, "synced minimum");
    }

    function test_RevertWhen_SetRunEscrowInvalid() public {
        StakeVault fresh = _freshVault();
        RunEscrow freshEscrow = _escrowFor(fresh);

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        fresh.setRunEscrow(address(freshEscrow));

        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultZeroAddress.selector));
        vm.prank(owner);
        fresh.setRunEscrow(address(0));

        // The fixture's escrow belongs to the fixture's vault.
        vm.expectRevert(
            abi.encodeWithSelector(
                IStakeVault.StakeVaultEscrowMismatch.selector, address(escrow), address(vault)
            )
        );
        vm.prank(owner);
        fresh.setRunEscrow(address(escrow));
        assertEq(fresh.runEscrow(), address(0), "still unbound");

        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultEscrowAlreadySet.selector, address(escrow))
        );
        vm.prank(owner);
        vault.setRunEscrow(address(freshEscrow));
    }

    /*//////////////////////////////////////////////////////////////
                              SET PARAMETERS
    //////////////////////////////////////////////////////////////*/

    function test_SetParameters_UpdatesAndSyncsANewMinimum() public {
        IStakeVault.Parameters memory p = IStakeVault.Parameters({
            minStake: 50e6,
            unstakeCooldown: 14 days,
            strikesToBan: 5,
            establishedCompletions: 10,
            establishedAge: 60 days
        });
        (uint256 version, IRunEscrow.Terms memory terms) = escrow.parameters();
        terms.minStake = 50e6;
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.ParametersUpdated(p);
        vm.expectEmit(true, true, true, true, address(escrow));
        emit IRunEscrow.ParametersUpdated(version + 1, terms);
        _setParams(p);

        _assertParameters(p);
        (uint256 newVersion, IRunEscrow.Terms memory newTerms) = escrow.parameters();
        assertEq(newVersion, version + 1, "escrow terms version bumped");
        assertEq(newTerms.minStake, 50e6, "escrow minimum");
        // New runs' default required stake follows the minimum.
        uint256 runId = _openRun();
        assertEq(escrow.getRun(runId).requiredStake, 50e6, "default requiredStake");
    }

    function test_SetParameters_UnchangedMinimumPublishesNoTerms() public {
        (uint256 version,) = escrow.parameters();
        IStakeVault.Parameters memory p = _params(MIN_STAKE, 30 days, 7);
        p.establishedCompletions = 1;
        p.establishedAge = 1;
        vm.recordLogs();
        _setParams(p);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        assertEq(logs.length, 1, "only the vault's ParametersUpdated");
        assertEq(logs[0].emitter, address(vault), "emitter");
        (uint256 newVersion,) = escrow.parameters();
        assertEq(newVersion, version, "escrow terms unchanged");
        _assertParameters(p);
    }

    function test_SetParameters_AcceptsTheBounds() public {
        IStakeVault.Parameters memory p = _params(1, uint32(MIN_COOLDOWN), 1);
        _setParams(p);
        _assertParameters(p);
        p = _params(type(uint64).max, uint32(MAX_COOLDOWN), type(uint16).max);
        _setParams(p);
        _assertParameters(p);
    }

    function test_RevertWhen_SetParametersOutOfBounds() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultInvalidMinStake.selector, 0));
        _setParams(_params(0, COOLDOWN, STRIKES_TO_BAN));

        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultInvalidStrikes.selector, 0));
        _setParams(_params(MIN_STAKE, COOLDOWN, 0));

        uint32[2] memory cooldowns = [uint32(MIN_COOLDOWN - 1), uint32(MAX_COOLDOWN + 1)];
        for (uint256 i; i < 2; ++i) {
            vm.expectRevert(
                abi.encodeWithSelector(
                    IStakeVault.StakeVaultInvalidCooldown.selector, cooldowns[i], MIN_COOLDOWN, MAX_COOLDOWN
                )
            );
            _setParams(_params(MIN_STAKE, cooldowns[i], STRIKES_TO_BAN));
        }

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        vault.setParameters(_params(1, COOLDOWN, 1));
        _assertParameters(defaultVaultParameters());
    }

    function test_SetParameters_NeverTouchesFunds() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        _claimedRun(id);
        _requestUnstake(agentWallet, 10e6);
        _setParams(_params(1000e6, uint32(MAX_COOLDOWN), 1));
        _assertMoney(id, 40e6, MIN_STAKE, 10e6);
        _assertTotals(40e6, 10e6);
        // The pending withdrawal keeps the cooldown it was requested with.
        skip(COOLDOWN);
        assertEq(_withdraw(agentWallet), 10e6, "paid at the old cooldown");
    }

    /*//////////////////////////////////////////////////////////////
                              PAUSE, UNPAUSE
    //////////////////////////////////////////////////////////////*/

    function test_Pause_StopsOnlyStaking() public {
        uint256 id = _registerAndStake(agentWallet, 50e6);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakingPaused(owner);
        vm.prank(owner);
        vault.pause();
        assertTrue(vault.paused(), "paused");

        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultPaused.selector));
        _stake(agentWallet, 1);
        // Registration, claims and settlement go on.
        _register(otherAgentWallet);
        uint256 runId = _submittedRun(id);
        _approve(runId);
        _requestUnstake(agentWallet, 1);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakingUnpaused(owner);
        vm.prank(owner);
        vault.unpause();
        assertFalse(vault.paused(), "unpaused");
        _stake(agentWallet, 1);
        _assertMoney(id, 50e6, 0, 1);
        _assertTotals(50e6, 1);
    }

    function test_RevertWhen_PauseOrUnpauseInvalid() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultNotPaused.selector));
        vm.prank(owner);
        vault.unpause();

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        vault.pause();

        vm.prank(owner);
        vault.pause();
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultPaused.selector));
        vm.prank(owner);
        vault.pause();

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        vault.unpause();
        assertTrue(vault.paused(), "still paused");
    }

    /*//////////////////////////////////////////////////////////////
                               OWNERSHIP
    //////////////////////////////////////////////////////////////*/

    function test_TransferOwnership_TakesTwoSteps() public {
        address newOwner = makeAddr("newOwner");
        vm.expectEmit(true, true, true, true, address(vault));
        emit Ownable2Step.OwnershipTransferStarted(owner, newOwner);
        vm.prank(owner);
        vault.transferOwnership(newOwner);
        assertEq(vault.owner(), owner, "owner until accepted");
        assertEq(vault.pendingOwner(), newOwner, "pendingOwner");

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        vault.acceptOwnership();

        vm.expectEmit(true, true, true, true, address(vault));
        emit Ownable.OwnershipTransferred(owner, newOwner);
        vm.prank(newOwner);
        vault.acceptOwnership();
        assertEq(vault.owner(), newOwner, "owner");
        assertEq(vault.pendingOwner(), address(0), "pendingOwner cleared");

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, owner));
        vm.prank(owner);
        vault.pause();
    }

    function test_RevertWhen_TransferOwnershipCallerNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        vault.transferOwnership(stranger);
    }

    function test_RevertWhen_RenounceOwnership() public {
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultCannotRenounceOwnership.selector));
        vm.prank(owner);
        vault.renounceOwnership();
        assertEq(vault.owner(), owner, "owner unchanged");

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        vault.renounceOwnership();
    }
}

/*//////////////////////////////////////////////////////////////
                         V1 REGRESSIONS
//////////////////////////////////////////////////////////////*/

/// @notice Bugs of protocol v1 that v2 makes impossible.
contract StakeVaultRegressionTest is StakeVaultFixture {
    /// @dev v1 slashed `minStake` as read at the slash: an owner who raised it after the claim took
    /// the whole stake. v2 takes exactly the reservation.
    function test_Regression_RaisedMinStakeAfterClaimDoesNotRaiseTheSlash() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        uint256 runId = _claimedRun(id);
        _setMinStake(100e6);
        uint256 posterBefore = usdc.balanceOf(poster);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(id, runId, MIN_STAKE, IStakeVault.Outcome.SLASHED, 80e6, 1);
        _slashClaimed(runId);

        assertEq(usdc.balanceOf(poster), posterBefore + MIN_STAKE, "poster gets the reservation only");
        _assertMoney(id, 80e6, 0, 0);
        _assertTotals(80e6, 0);
    }

    /// @dev v1: an owner who lowered `minStake` to 1 after the claim made the slash take 1 unit.
    function test_Regression_LoweredMinStakeAfterClaimDoesNotShrinkTheSlash() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        uint256 runId = _claimedRun(id);
        _setMinStake(1);
        uint256 posterBefore = usdc.balanceOf(poster);

        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.StakeForfeited(id, runId, MIN_STAKE, IStakeVault.Outcome.SLASHED, 80e6, 1);
        _slashClaimed(runId);

        assertEq(usdc.balanceOf(poster), posterBefore + MIN_STAKE, "poster gets the whole reservation");
        _assertMoney(id, 80e6, 0, 0);
        _assertTotals(80e6, 0);
    }

    /// @dev The same through every forfeiting path of the escrow and any parameters the owner
    /// may set between the claim and the forfeit.
    function testFuzz_Regression_ForfeitTakesTheReservationWhateverTheOwnerSets(
        uint256 staked,
        uint256 required,
        IStakeVault.Parameters memory p,
        uint256 pathSeed
    ) public {
        staked = bound(staked, MIN_STAKE, 10_000e6);
        required = bound(required, MIN_STAKE, staked);
        p.minStake = uint64(bound(p.minStake, 1, type(uint64).max));
        p.unstakeCooldown = uint32(bound(p.unstakeCooldown, MIN_COOLDOWN, MAX_COOLDOWN));
        p.strikesToBan = uint16(bound(p.strikesToBan, 1, type(uint16).max));
        uint256 path = pathSeed % 4;

        uint256 id = _registerAndStake(agentWallet, staked);
        uint256 runId = _openRunRequiring(required);
        _claim(runId, id);
        if (path >= 2) _walkToDispute(runId);
        _setParams(p);
        uint256 vaultBefore = usdc.balanceOf(address(vault));

        vm.recordLogs();
        _forfeitVia(path, runId);
        _assertForfeitLogged(vm.getRecordedLogs(), required, staked - required);

        assertEq(vaultBefore - usdc.balanceOf(address(vault)), required, "vault paid exactly the reservation");
        _assertMoney(id, staked - required, 0, 0);
        _assertTotals(staked - required, 0);
    }

    function _walkToDispute(uint256 runId) internal {
        vm.prank(agentWallet);
        escrow.submit(runId, DELIVERABLE);
        for (uint256 i; i < MAX_REVISIONS; ++i) {
            vm.prank(poster);
            escrow.requestRevision(runId, REASON);
            vm.prank(agentWallet);
            escrow.submit(runId, DELIVERABLE);
        }
        vm.prank(poster);
        escrow.reject(runId, REASON);
        vm.prank(agentWallet);
        escrow.dispute(runId, EVIDENCE);
    }

    function _forfeitVia(uint256 path, uint256 runId) internal {
        if (path == 0) {
            _slashClaimed(runId);
        } else if (path == 1) {
            vm.prank(agentWallet);
            escrow.abandon(runId);
        } else {
            vm.prank(arbitrator);
            escrow.resolve(runId, path == 2 ? 4999 : 0, path == 3);
        }
    }

    function _assertForfeitLogged(Vm.Log[] memory logs, uint256 amount, uint256 stakeAfter) internal view {
        bytes32 topic = IStakeVault.StakeForfeited.selector;
        uint256 found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter != address(vault) || logs[i].topics[0] != topic) continue;
            (uint256 logged,, uint256 loggedStakeAfter,) =
                abi.decode(logs[i].data, (uint256, uint8, uint256, uint16));
            assertEq(logged, amount, "StakeForfeited amount");
            assertEq(loggedStakeAfter, stakeAfter, "StakeForfeited stakeAfter");
            ++found;
        }
        assertEq(found, 1, "one StakeForfeited");
    }

    /// @dev v1 let agents stake before the escrow was bound, and whatever got bound later could
    /// take that stake. v2 refuses stake until {setRunEscrow}, which only binds an escrow of this
    /// vault.
    function test_Regression_NoStakeBeforeTheEscrowIsBound() public {
        StakeVault fresh = _freshVault();
        vm.prank(agentWallet);
        uint256 id = fresh.register("ipfs://agent");
        vm.prank(agentWallet);
        usdc.approve(address(fresh), type(uint256).max);
        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultEscrowNotSet.selector));
        vm.prank(agentWallet);
        fresh.stake(MIN_STAKE);
        assertEq(usdc.balanceOf(address(fresh)), 0, "nothing held");

        // Nothing but an escrow built for this vault can be bound.
        vm.expectRevert(
            abi.encodeWithSelector(
                IStakeVault.StakeVaultEscrowMismatch.selector, address(escrow), address(vault)
            )
        );
        vm.prank(owner);
        fresh.setRunEscrow(address(escrow));

        RunEscrow own = _escrowFor(fresh);
        vm.prank(owner);
        fresh.setRunEscrow(address(own));
        vm.prank(agentWallet);
        fresh.stake(MIN_STAKE);
        assertEq(fresh.getAgent(id).stake, MIN_STAKE, "staking opens once bound");
        assertEq(usdc.balanceOf(address(fresh)), fresh.totalStaked() + fresh.totalPending(), "solvent");
    }

    /// @dev v1: one active claim locked the whole stake; no unstaking at all until it settled.
    function test_Regression_FreeStakeUnstakableWithLiveClaims() public {
        uint256 id = _registerAndStake(agentWallet, 100e6);
        _claimedRun(id);
        _claimedRun(id);
        _requestUnstake(agentWallet, 60e6);
        skip(COOLDOWN);
        assertEq(_withdraw(agentWallet), 60e6, "free stake paid while two claims are live");
        _assertMoney(id, 40e6, 40e6, 0);
        _assertTotals(40e6, 0);
    }

    /// @dev v1's `pendingUnstake` arithmetic could wrap. v2 caps stake + pending at 2^64 - 1 per
    /// agent when staking, and unstaking only moves stake into pending, so neither can wrap.
    function test_Regression_PendingUnstakeCannotWrap() public {
        vm.prank(owner);
        usdc.mint(agentWallet, MAX_HELD);
        uint256 id = _registerAndStake(agentWallet, MAX_HELD);
        _requestUnstake(agentWallet, MAX_HELD - MIN_STAKE);
        _requestUnstake(agentWallet, MIN_STAKE);
        _assertMoney(id, 0, 0, MAX_HELD);
        _assertTotals(0, MAX_HELD);

        vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAmountTooLarge.selector, 1, 0));
        _stake(agentWallet, 1);
        vm.expectRevert(
            abi.encodeWithSelector(IStakeVault.StakeVaultInsufficientFreeStake.selector, id, 0, 1)
        );
        _requestUnstake(agentWallet, 1);

        skip(COOLDOWN);
        assertEq(_withdraw(agentWallet), MAX_HELD, "whole pending paid");
        _assertTotals(0, 0);
    }
}

/*//////////////////////////////////////////////////////////////
                                 FUZZ
//////////////////////////////////////////////////////////////*/

/// @notice Fuzzed amounts and hook sequences against a model of one agent's money.
contract StakeVaultFuzzTest is StakeVaultFixture {
    function testFuzz_StakeUnstakeWithdraw(uint256 staked, uint256 unstaked, uint256 waited, uint256 other)
        public
    {
        staked = bound(staked, 1, FUNDING);
        unstaked = bound(unstaked, 1, staked);
        waited = bound(waited, 0, 2 * COOLDOWN);
        other = bound(other, 1, FUNDING);
        uint256 id = _registerAndStake(agentWallet, staked);
        _registerAndStake(otherAgentWallet, other);
        assertStatus(
            id, staked >= MIN_STAKE ? IStakeVault.AgentStatus.PROVISIONAL : IStakeVault.AgentStatus.UNVERIFIED
        );

        uint64 readyAt = uint64(block.timestamp + COOLDOWN);
        vm.expectEmit(true, true, true, true, address(vault));
        emit IStakeVault.UnstakeRequested(id, unstaked, staked - unstaked, unstaked, readyAt);
        _requestUnstake(agentWallet, unstaked);
        _assertMoney(id, staked - unstaked, 0, unstaked);
        _assertTotals(staked - unstaked + other, unstaked);
        assertEq(
            vault.getAgent(id).stakedSince == 0, staked - unstaked < MIN_STAKE, "stakedSince iff at minimum"
        );

        skip(waited);
        if (waited < COOLDOWN) {
            vm.expectRevert(
                abi.encodeWithSelector(IStakeVault.StakeVaultCooldownActive.selector, id, readyAt)
            );
            _withdraw(agentWallet);
            _assertTotals(staked - unstaked + other, unstaked);
        } else {
            assertEq(_withdraw(agentWallet), unstaked, "paid");
            assertEq(usdc.balanceOf(agentWallet), FUNDING - staked + unstaked, "wallet");
            _assertMoney(id, staked - unstaked, 0, 0);
            _assertTotals(staked - unstaked + other, 0);
        }
    }

    /// @dev One agent's money as the vault should see it.
    struct Model {
        uint256 id;
        uint256 stake;
        uint256 reserved;
        uint256 pending;
        uint256 forfeited;
        uint256[] live;
        uint256 liveCount;
    }

    /// @dev Random reserve / settle (any outcome) / stake / unstake / withdraw steps: after each,
    /// the vault agrees with the model, `reserved <= stake`, and the vault holds exactly what it
    /// owes; the escrow received exactly the forfeits.
    function testFuzz_ReserveSettle_KeepsReservationsWithinStake(uint256 initial, uint256[12] memory steps)
        public
    {
        Model memory m;
        m.stake = bound(initial, 1, 500e6);
        m.id = _registerAndStake(agentWallet, m.stake);
        m.live = new uint256[](steps.length);
        uint256 escrowBefore = usdc.balanceOf(address(escrow));

        for (uint256 i; i < steps.length; ++i) {
            _step(m, steps[i]);
            _assertMoney(m.id, m.stake, m.reserved, m.pending);
            _assertTotals(m.stake, m.pending);
            assertEq(usdc.balanceOf(address(escrow)) - escrowBefore, m.forfeited, "escrow got the forfeits");
        }
        // Everything still reserved can be released.
        while (m.liveCount != 0) {
            _settleStep(m, 0, IStakeVault.Outcome.APPROVED);
        }
        _assertMoney(m.id, m.stake, 0, m.pending);
        _assertTotals(m.stake, m.pending);
    }

    function _step(Model memory m, uint256 seed) internal {
        uint256 kind = seed % 5;
        uint256 x = seed >> 8;
        if (kind == 0) {
            uint256 amount = bound(x, 0, 200e6);
            uint256 expected = _reasons(m.id, amount);
            uint256 reasons = _reserveAs(m.id, amount);
            assertEq(reasons, expected, "reserve == eligibility");
            if (reasons == 0) {
                m.live[m.liveCount++] = amount;
                m.reserved += amount;
            }
        } else if (kind == 1) {
            if (m.liveCount == 0) return;
            _settleStep(m, x % m.liveCount, IStakeVault.Outcome((x >> 128) % 8));
        } else if (kind == 2) {
            uint256 amount = bound(x, 1, 200e6);
            if (vault.getAgent(m.id).banned) {
                vm.expectRevert(abi.encodeWithSelector(IStakeVault.StakeVaultAgentBanned.selector, m.id));
                _stake(agentWallet, amount);
            } else {
                _stake(agentWallet, amount);
                m.stake += amount;
            }
        } else if (kind == 3) {
            uint256 free = m.stake - m.reserved;
            if (free == 0) return;
            uint256 amount = bound(x, 1, free);
            _requestUnstake(agentWallet, amount);
            m.stake -= amount;
            m.pending += amount;
        } else {
            if (m.pending == 0) return;
            skip(COOLDOWN);
            assertEq(_withdraw(agentWallet), m.pending, "withdrawn");
            m.pending = 0;
        }
    }

    function _settleStep(Model memory m, uint256 index, IStakeVault.Outcome outcome) internal {
        uint256 amount = m.live[index];
        m.live[index] = m.live[--m.liveCount];
        m.reserved -= amount;
        uint256 forfeited = _settleAs(m.id, amount, outcome, REWARD, 0);
        assertEq(forfeited, _isForfeit(outcome) ? amount : 0, "forfeited");
        if (forfeited != 0) {
            m.stake -= amount;
            m.forfeited += amount;
        }
    }
}

