// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BaseHandler} from "./BaseHandler.sol";
import {SigUtils} from "../../utils/SigUtils.sol";
import {GhostStore} from "../stores/GhostStore.sol";
import {BlacklistUSDC} from "../../mocks/BlacklistUSDC.sol";
import {RunEscrow} from "../../../contracts/RunEscrow.sol";
import {StakeVault} from "../../../contracts/StakeVault.sol";
import {IStakeVault} from "../../../contracts/interfaces/IStakeVault.sol";
import {IUSDC} from "../../../contracts/interfaces/IUSDC.sol";

/// @title VaultHandler
/// @notice The agents' side of StakeVault: register, stake and stakeWithPermit (a real signature),
/// requestUnstake of free stake, withdrawStake after the cooldown; and what must revert: a second
/// registration, stake by a banned agent or while paused, unstaking more than the free stake, a
/// withdrawal before the cooldown or with nothing pending, moving USDC of a blacklisted wallet.
/// It also sets up the first agents and drains every stake at the end ({setupAgent}, {drainStakes}).
/// @dev Agents hold no standing allowance for the vault: each stake approves exactly its amount or
/// signs a permit for it.
contract VaultHandler is BaseHandler {
    constructor(GhostStore store_, BlacklistUSDC usdc_, StakeVault vault_, RunEscrow escrow_)
        BaseHandler(store_, usdc_, vault_, escrow_)
    {}

    /// @notice The fuzzed actions, each repeated by its weight.
    function selectors() external pure returns (bytes4[] memory s) {
        s = new bytes4[](9);
        uint256 n;
        n = _add(s, n, this.register.selector, 1);
        n = _add(s, n, this.stake.selector, 3);
        n = _add(s, n, this.requestUnstake.selector, 2);
        n = _add(s, n, this.withdrawStake.selector, 2);
        n = _add(s, n, this.ladderBoundary.selector, 1);
    }

    /*//////////////////////////////////////////////////////////////
                                ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers the first unregistered agent wallet; once all are, a second registration
    /// must revert.
    function register(uint256 walletSeed) external instrument("register") {
        address[] memory wallets = store.agentWallets();
        for (uint256 i; i < wallets.length; ++i) {
            address wallet = wallets[(walletSeed % wallets.length + i) % wallets.length];
            if (store.agentIdOf(wallet) == 0) {
                _register(wallet);
                return;
            }
        }
        address again = wallets[walletSeed % wallets.length];
        (bool ok, bytes memory ret) =
            _call(again, address(vault), abi.encodeCall(IStakeVault.register, ("again")));
        _mustRevert(
            "register (again)",
            ok,
            ret,
            abi.encodeWithSelector(
                IStakeVault.StakeVaultAlreadyRegistered.selector, again, store.agentIdOf(again)
            )
        );
    }

    /// @notice Stakes by approval or permit: an odd `amountSeed` tops a frozen or unverified agent up
    /// to exactly the minimum (so struck agents come back and collect the strikes of a ban), else a
    /// random amount up to twice the minimum.
    function stake(uint256 walletSeed, uint256 amountSeed, uint256 variantSeed) external instrument("stake") {
        address[] memory wallets = store.agentWallets();
        address wallet = wallets[walletSeed % wallets.length];
        uint256 agentId = store.agentIdOf(wallet);
        GhostStore.AgentModel memory agent = store.getAgent(agentId);
        uint256 min = store.minStake();
        uint256 amount =
            amountSeed % 2 == 1 && agent.stake < min ? min - agent.stake : bound(amountSeed >> 1, 1, 2 * min);
        _stake(wallet, agentId, amount, variantSeed % 2 == 1);
    }

    /// @notice Requests a random part (or all) of the free stake; one call in six asks for more than
    /// the free stake and must revert.
    function requestUnstake(uint256 walletSeed, uint256 amountSeed) external instrument("requestUnstake") {
        (address wallet, uint256 agentId) = _registered(walletSeed);
        if (agentId == 0) return;
        GhostStore.AgentModel memory agent = store.getAgent(agentId);
        uint256 free = agent.stake - agent.reserved;
        if (free == 0 || amountSeed % 6 == 0) {
            uint256 tooMuch = free + bound(amountSeed >> 8, 1, 100e6);
            (bool ok, bytes memory ret) =
                _call(wallet, address(vault), abi.encodeCall(IStakeVault.requestUnstake, (tooMuch)));
            _mustRevert(
                "requestUnstake (above free)",
                ok,
                ret,
                abi.encodeWithSelector(
                    IStakeVault.StakeVaultInsufficientFreeStake.selector, agentId, free, tooMuch
                )
            );
            return;
        }
        uint256 amount = amountSeed % 6 == 1 ? free : bound(amountSeed >> 8, 1, free);
        _requestUnstake(wallet, agentId, amount, "requestUnstake");
    }

    /// @notice Withdraws pending stake, warping to the end of the cooldown when it is within the
    /// horizon; one call in three (and every call further from the end) tries before the end and must
    /// revert, as must a withdrawal with nothing pending.
    function withdrawStake(uint256 walletSeed, uint256 waitSeed) external instrument("withdrawStake") {
        (address wallet, uint256 agentId) = _registered(walletSeed);
        if (agentId == 0) return;
        GhostStore.AgentModel memory agent = store.getAgent(agentId);
        if (agent.pending == 0) {
            (bool ok, bytes memory ret) =
                _call(wallet, address(vault), abi.encodeCall(IStakeVault.withdrawStake, ()));
            _mustRevert(
                "withdrawStake (nothing pending)",
                ok,
                ret,
                abi.encodeWithSelector(IStakeVault.StakeVaultNothingToWithdraw.selector, agentId)
            );
            return;
        }
        if (
            block.timestamp < agent.unstakeReadyAt
                && (waitSeed % 3 == 0 || agent.unstakeReadyAt > block.timestamp + HORIZON)
        ) {
            // The last second of the cooldown half the time.
            _peekAt(_early(waitSeed >> 8, block.timestamp, agent.unstakeReadyAt - 1));
            (bool ok, bytes memory ret) =
                _call(wallet, address(vault), abi.encodeCall(IStakeVault.withdrawStake, ()));
            _restoreClock();
            _mustRevert(
                "withdrawStake (cooldown)",
                ok,
                ret,
                abi.encodeWithSelector(
                    IStakeVault.StakeVaultCooldownActive.selector, agentId, uint64(agent.unstakeReadyAt)
                )
            );
            return;
        }
        _warpTo(agent.unstakeReadyAt);
        _withdrawStake(wallet, agentId, "withdrawStake");
    }

    /// @notice Looks at an agent's status around the moment it turns ESTABLISHED (`stakedSince` +
    /// `establishedAge`, and the second before), preferring an agent with enough completions: the
    /// vault must derive what the model derives.
    function ladderBoundary(uint256 walletSeed, uint256 whichSeed) external instrument("ladderBoundary") {
        uint256 count = store.agentCount();
        GhostStore.VaultParams memory params = store.vaultParams();
        uint256 chosen;
        for (uint256 i; i < count; ++i) {
            uint256 agentId = 1 + (walletSeed % count + i) % count;
            GhostStore.AgentModel memory agent = store.getAgent(agentId);
            if (agent.stakedSince == 0 || agent.stakedSince + params.establishedAge < block.timestamp + 1) {
                continue;
            }
            if (chosen == 0) chosen = agentId;
            if (agent.completions >= params.establishedCompletions) {
                chosen = agentId;
                break;
            }
        }
        if (chosen == 0) return;
        uint256 at = store.getAgent(chosen).stakedSince + params.establishedAge - (whichSeed % 2);
        _peekAt(at);
        IStakeVault.AgentStatus expected = store.statusAt(chosen, at);
        _check(vault.statusOf(chosen) == expected, "ladderBoundary", "status at the ESTABLISHED boundary");
        if (expected == IStakeVault.AgentStatus.ESTABLISHED) store.countHit("ladderBoundary: ESTABLISHED");
        else store.countHit("ladderBoundary");
        _restoreClock();
    }

    /*//////////////////////////////////////////////////////////////
                         SETUP AND END-STATE DRAIN
    //////////////////////////////////////////////////////////////*/

    /// @notice Registers `wallet` and stakes `amount` (setUp only).
    function setupAgent(address wallet, uint256 amount) external {
        _register(wallet);
        if (amount != 0) _stake(wallet, store.agentIdOf(wallet), amount, false);
    }

    /// @notice `wallet` stakes `amount` (setUp only).
    function stakeFor(address wallet, uint256 amount) external {
        _stake(wallet, store.agentIdOf(wallet), amount, false);
    }

    /// @notice `wallet` requests `amount` of its free stake (setUp only).
    function unstake(address wallet, uint256 amount) external {
        _requestUnstake(wallet, store.agentIdOf(wallet), amount, "requestUnstake");
    }

    /// @notice Every agent requests all its stake (nothing is reserved once every run settled) and,
    /// after the cooldown, withdraws everything pending.
    function drainStakes() external {
        uint256 count = store.agentCount();
        uint256 readyAt = block.timestamp;
        for (uint256 agentId = 1; agentId <= count; ++agentId) {
            GhostStore.AgentModel memory agent = store.getAgent(agentId);
            _check(agent.reserved == 0, "drain", "stake still reserved");
            uint256 free = agent.stake - agent.reserved;
            if (free != 0) _requestUnstake(agent.wallet, agentId, free, "drain: requestUnstake");
            uint256 ready = store.getAgent(agentId).unstakeReadyAt;
            if (ready > readyAt) readyAt = ready;
        }
        _warpTo(readyAt);
        for (uint256 agentId = 1; agentId <= count; ++agentId) {
            GhostStore.AgentModel memory agent = store.getAgent(agentId);
            if (agent.pending != 0) _withdrawStake(agent.wallet, agentId, "drain: withdrawStake");
        }
    }

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    function _register(address wallet) internal {
        (bool ok, bytes memory ret) = _callExpect(
            "register", wallet, address(vault), abi.encodeCall(IStakeVault.register, ("ipfs://agent")), ""
        );
        if (!ok) return;
        uint256 agentId = store.addAgent(wallet);
        _check(abi.decode(ret, (uint256)) == agentId, "register", "agent id");
    }

    /// @dev The first rule stake breaks, in the vault's order, or "" when none.
    function _stakeError(address wallet, uint256 agentId) internal view returns (bytes memory) {
        if (store.vaultPaused()) return abi.encodeWithSelector(IStakeVault.StakeVaultPaused.selector);
        if (agentId == 0) {
            return abi.encodeWithSelector(IStakeVault.StakeVaultNotRegistered.selector, wallet);
        }
        if (store.getAgent(agentId).banned) {
            return abi.encodeWithSelector(IStakeVault.StakeVaultAgentBanned.selector, agentId);
        }
        if (usdc.isBlacklisted(wallet)) {
            return abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, wallet);
        }
        return "";
    }

    function _stake(address wallet, uint256 agentId, uint256 amount, bool withPermit) internal {
        bytes memory expected = _stakeError(wallet, agentId);
        string memory action = withPermit ? "stakeWithPermit" : "stake";
        bytes memory data;
        if (withPermit) {
            uint256 deadline = block.timestamp + 1 days;
            (uint8 v, bytes32 r, bytes32 s) = SigUtils.signPermit(
                IUSDC(address(usdc)), store.keyOf(wallet), address(vault), amount, deadline
            );
            data = abi.encodeCall(IStakeVault.stakeWithPermit, (amount, deadline, v, r, s));
        } else {
            vm.prank(wallet);
            usdc.approve(address(vault), amount);
            data = abi.encodeCall(IStakeVault.stake, (amount));
        }
        uint256 walletBalance = usdc.balanceOf(wallet);
        uint256 vaultBalance = usdc.balanceOf(address(vault));
        (bool ok,) = _callExpect(action, wallet, address(vault), data, expected);
        if (!ok) {
            vm.prank(wallet);
            usdc.approve(address(vault), 0);
            if (expected.length != 0 && bytes4(expected) == IStakeVault.StakeVaultAgentBanned.selector) {
                store.countHit("stake refused: banned");
            }
            return;
        }
        _check(usdc.balanceOf(wallet) + amount == walletBalance, action, "pulled amount");
        _check(usdc.balanceOf(address(vault)) == vaultBalance + amount, action, "vault received");
        _check(usdc.allowance(wallet, address(vault)) == 0, action, "allowance left after pull");
        bool wasFrozen = store.statusAt(agentId, block.timestamp) == IStakeVault.AgentStatus.FROZEN;
        store.modelStake(agentId, amount, block.timestamp);
        if (wasFrozen && store.statusAt(agentId, block.timestamp) != IStakeVault.AgentStatus.FROZEN) {
            store.countHit("unfrozen by a stake");
        }
    }

    function _requestUnstake(address wallet, uint256 agentId, uint256 amount, string memory action) internal {
        uint256 vaultBalance = usdc.balanceOf(address(vault));
        (bool ok,) = _callExpect(
            action, wallet, address(vault), abi.encodeCall(IStakeVault.requestUnstake, (amount)), ""
        );
        if (!ok) return;
        _check(usdc.balanceOf(address(vault)) == vaultBalance, action, "vault balance moved");
        store.modelRequestUnstake(agentId, amount, block.timestamp);
    }

    function _withdrawStake(address wallet, uint256 agentId, string memory action) internal {
        uint256 pending = store.getAgent(agentId).pending;
        if (usdc.isBlacklisted(wallet)) {
            (bool failed, bytes memory reason) =
                _call(wallet, address(vault), abi.encodeCall(IStakeVault.withdrawStake, ()));
            _mustRevert(
                string.concat(action, " (blacklisted)"),
                failed,
                reason,
                abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, wallet)
            );
            return;
        }
        uint256 walletBalance = usdc.balanceOf(wallet);
        uint256 vaultBalance = usdc.balanceOf(address(vault));
        (bool ok, bytes memory ret) =
            _callExpect(action, wallet, address(vault), abi.encodeCall(IStakeVault.withdrawStake, ()), "");
        if (!ok) return;
        _check(abi.decode(ret, (uint256)) == pending, action, "returned amount");
        _check(usdc.balanceOf(wallet) == walletBalance + pending, action, "paid amount");
        _check(usdc.balanceOf(address(vault)) + pending == vaultBalance, action, "vault outflow");
        store.modelWithdrawStake(agentId);
        _afterExit();
    }

    /// @dev A registered agent chosen by `seed`, or (address(0), 0) when none is.
    function _registered(uint256 seed) internal view returns (address wallet, uint256 agentId) {
        uint256 count = store.agentCount();
        if (count == 0) return (address(0), 0);
        agentId = 1 + seed % count;
        wallet = store.getAgent(agentId).wallet;
    }
}
