// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BaseHandler} from "./BaseHandler.sol";
import {GhostStore} from "../stores/GhostStore.sol";
import {BlacklistUSDC} from "../../mocks/BlacklistUSDC.sol";
import {RunEscrow} from "../../../contracts/RunEscrow.sol";
import {StakeVault} from "../../../contracts/StakeVault.sol";
import {IRunEscrow} from "../../../contracts/interfaces/IRunEscrow.sol";

/// @title ArbitratorHandler
/// @notice The arbitrators: each run's own arbitrator (the one in its terms, whatever the owner set
/// since) rules with a random share and strike on the disputes whose coin flip did not make it
/// silent; and what must revert: a ruling by a stranger or by another arbitrator, a ruling after
/// the ruling period, an invalid ruling (share above 100%, a strike with a share).
contract ArbitratorHandler is BaseHandler {
    constructor(GhostStore store_, BlacklistUSDC usdc_, StakeVault vault_, RunEscrow escrow_)
        BaseHandler(store_, usdc_, vault_, escrow_)
    {}

    /// @notice The fuzzed actions, each repeated by its weight.
    function selectors() external pure returns (bytes4[] memory s) {
        s = new bytes4[](8);
        uint256 n;
        n = _add(s, n, this.resolve.selector, 5);
        n = _add(s, n, this.resolveByStranger.selector, 1);
        n = _add(s, n, this.resolveTooLate.selector, 1);
        n = _add(s, n, this.resolveInvalid.selector, 1);
    }

    /// @notice Rules on a dispute within its ruling period (one call in three at its last second): 0
    /// (with or without a strike), below half, exactly half, above half, all, or anything in between.
    function resolve(uint256 runSeed, uint256 bpsSeed, uint256 strikeSeed) external instrument("resolve") {
        (uint256 runId, GhostStore.RunModel memory run) = _findRun(runSeed, M_DISPUTED, _willRule);
        if (runId == 0) return;
        _maybeLastSecond(strikeSeed >> 8, run.timerStart + run.terms.rulingPeriod);
        uint256 shape = bpsSeed % 8;
        uint256 bps;
        if (shape < 2) bps = 0;
        else if (shape == 2) bps = bound(bpsSeed >> 8, 1, 4999);
        else if (shape == 3) bps = 5000;
        else if (shape == 4) bps = bound(bpsSeed >> 8, 5001, 9999);
        else if (shape == 5) bps = 10_000;
        else bps = bound(bpsSeed >> 8, 0, 10_000);
        bool strike = bps == 0 && strikeSeed % 2 == 1;
        _ruling(runId, run.terms.arbitrator, bps, strike, false, "resolve");
        if (_run(runId).state == IRunEscrow.RunState.RESOLVED) {
            if (strike) store.countHit("resolve: lost with a strike");
            else if (bps < 5000) store.countHit("resolve: lost");
            else store.countHit("resolve: won");
        }
    }

    /// @notice Only the run's own arbitrator may rule: a stranger, or the other arbitrator, must fail.
    function resolveByStranger(uint256 runSeed, uint256 callerSeed) external instrument("resolveByStranger") {
        uint256 runId = _pickRun(runSeed, M_DISPUTED);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        address caller = store.stranger();
        if (callerSeed % 2 == 1) {
            address[] memory arbitrators = store.arbitrators();
            caller = arbitrators[0] == run.terms.arbitrator ? arbitrators[1] : arbitrators[0];
        }
        (bool ok, bytes memory ret) =
            _call(caller, address(escrow), abi.encodeCall(IRunEscrow.resolve, (runId, 10_000, false)));
        _mustRevert(
            "resolveByStranger",
            ok,
            ret,
            abi.encodeWithSelector(IRunEscrow.RunEscrowNotArbitrator.selector, runId, caller)
        );
    }

    /// @notice After the ruling period only the default is left: a ruling must fail.
    function resolveTooLate(uint256 runSeed, uint256 delaySeed) external instrument("resolveTooLate") {
        uint256 runId = _pickRun(runSeed, M_DISPUTED);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        uint256 end = run.timerStart + run.terms.rulingPeriod;
        uint256 at = end + 1 + _delay(delaySeed, 3 days);
        if (at < block.timestamp) at = block.timestamp;
        _peekAt(at);
        (bool ok, bytes memory ret) =
            _call(run.terms.arbitrator, address(escrow), abi.encodeCall(IRunEscrow.resolve, (runId, 0, true)));
        _mustRevert(
            "resolveTooLate",
            ok,
            ret,
            abi.encodeWithSelector(IRunEscrow.RunEscrowRulingPeriodOver.selector, runId, end)
        );
        _restoreClock();
    }

    /// @notice A share above 100%, or a strike with a share, is refused.
    function resolveInvalid(uint256 runSeed, uint256 bpsSeed) external instrument("resolveInvalid") {
        (uint256 runId, GhostStore.RunModel memory run) = _findRun(runSeed, M_DISPUTED, _withinRulingPeriod);
        if (runId == 0) return;
        bool strike = bpsSeed % 2 == 0;
        uint256 bps = strike ? bound(bpsSeed >> 1, 1, 10_000) : bound(bpsSeed >> 1, 10_001, type(uint128).max);
        (bool ok, bytes memory ret) = _call(
            run.terms.arbitrator, address(escrow), abi.encodeCall(IRunEscrow.resolve, (runId, bps, strike))
        );
        _mustRevert(
            "resolveInvalid",
            ok,
            ret,
            abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidRuling.selector, bps, strike)
        );
    }

    function _willRule(GhostStore.RunModel memory run) internal view returns (bool) {
        return !run.silentArbitrator && _withinRulingPeriod(run);
    }

    function _withinRulingPeriod(GhostStore.RunModel memory run) internal view returns (bool) {
        return block.timestamp <= run.timerStart + run.terms.rulingPeriod;
    }
}
