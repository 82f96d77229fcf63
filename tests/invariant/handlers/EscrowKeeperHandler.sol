// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BaseHandler} from "./BaseHandler.sol";
import {GhostStore} from "../stores/GhostStore.sol";
import {BlacklistUSDC} from "../../mocks/BlacklistUSDC.sol";
import {RunEscrow} from "../../../contracts/RunEscrow.sol";
import {StakeVault} from "../../../contracts/StakeVault.sol";
import {IRunEscrow} from "../../../contracts/interfaces/IRunEscrow.sol";

/// @title EscrowKeeperHandler
/// @notice The exits anyone can take, called by a stranger once their timer has run out (warping
/// there when it runs out within the horizon): expire, slash (a further review period after the poster could), approveOnTimeout,
/// finalizeRejection, settleDispute; the pull payments withdrawCredit and withdrawFees; and what
/// must revert: each of those exits too early, a slash before the caller's own timing, any
/// state-changing call on a settled run, withdrawals with nothing to pay or to a blacklisted account.
/// It also drives the end-state drain ({drainRuns}, {drainCredits}, {drainFees}).
contract EscrowKeeperHandler is BaseHandler {
    constructor(GhostStore store_, BlacklistUSDC usdc_, StakeVault vault_, RunEscrow escrow_)
        BaseHandler(store_, usdc_, vault_, escrow_)
    {}

    /// @notice The fuzzed actions, each repeated by its weight.
    function selectors() external pure returns (bytes4[] memory s) {
        s = new bytes4[](16);
        uint256 n;
        n = _add(s, n, this.expire.selector, 1);
        n = _add(s, n, this.slash.selector, 2);
        n = _add(s, n, this.approveOnTimeout.selector, 1);
        n = _add(s, n, this.finalizeRejection.selector, 1);
        n = _add(s, n, this.settleDispute.selector, 2);
        n = _add(s, n, this.withdrawCredit.selector, 2);
        n = _add(s, n, this.withdrawFees.selector, 1);
        n = _add(s, n, this.slashTooEarly.selector, 1);
        n = _add(s, n, this.finalizeTooEarly.selector, 1);
        n = _add(s, n, this.settleTooEarly.selector, 1);
        n = _add(s, n, this.approveOnTimeoutTooEarly.selector, 1);
        n = _add(s, n, this.expireTooEarly.selector, 1);
        n = _add(s, n, this.pokeSettled.selector, 1);
    }

    /*//////////////////////////////////////////////////////////////
                           EXITS, WHEN DUE
    //////////////////////////////////////////////////////////////*/

    /// @notice Expires an OPEN run whose deadline is within the horizon.
    function expire(uint256 runSeed, uint256 delaySeed) external instrument("expire") {
        (uint256 runId, GhostStore.RunModel memory run) = _findRun(runSeed, M_OPEN, _deadlineDue);
        if (runId == 0) return;
        _warpTo(run.deadline + 1 + _delay(delaySeed, 1 days));
        _expire(runId, store.stranger(), "expire");
    }

    /// @notice A stranger slashes once a further review period has passed after the claim timeout.
    function slash(uint256 runSeed, uint256 delaySeed) external instrument("slashByStranger") {
        (uint256 runId, GhostStore.RunModel memory run) = _findRun(runSeed, M_WORKING, _strangerSlashDue);
        if (runId == 0) return;
        _warpTo(
            run.timerStart + run.terms.claimTimeout + run.terms.reviewPeriod + 1 + _delay(delaySeed, 1 days)
        );
        _slash(runId, store.stranger(), "slashByStranger");
    }

    function approveOnTimeout(uint256 runSeed, uint256 delaySeed) external instrument("approveOnTimeout") {
        (uint256 runId, GhostStore.RunModel memory run) = _findRun(runSeed, M_SUBMITTED, _reviewDue);
        if (runId == 0) return;
        _warpTo(run.timerStart + run.terms.reviewPeriod + 1 + _delay(delaySeed, 1 days));
        _approve(runId, store.stranger(), true, "approveOnTimeout");
    }

    function finalizeRejection(uint256 runSeed, uint256 delaySeed) external instrument("finalizeRejection") {
        (uint256 runId, GhostStore.RunModel memory run) = _findRun(runSeed, M_REJECTED, _windowDue);
        if (runId == 0) return;
        _warpTo(run.timerStart + run.terms.disputeWindow + 1 + _delay(delaySeed, 1 days));
        _finalRejection(runId, store.stranger(), false, "finalizeRejection");
    }

    /// @notice The default after a silent ruling period: 50/50, bond back, reservation released.
    function settleDispute(uint256 runSeed, uint256 delaySeed) external instrument("settleDispute") {
        (uint256 runId, GhostStore.RunModel memory run) = _findRun(runSeed, M_DISPUTED, _rulingDue);
        if (runId == 0) return;
        _warpTo(run.timerStart + run.terms.rulingPeriod + 1 + _delay(delaySeed, 1 days));
        _ruling(runId, store.stranger(), 5000, false, true, "settleDispute");
    }

    /*//////////////////////////////////////////////////////////////
                            PULL PAYMENTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Withdraws the first credit found from `accountSeed`; a blacklisted creditor's
    /// withdrawal must revert (its credit waits), and with no credit anywhere it must revert `NoCredit`.
    function withdrawCredit(uint256 accountSeed) external instrument("withdrawCredit") {
        address[] memory accounts = store.creditAccounts();
        for (uint256 i; i < accounts.length; ++i) {
            address account = accounts[(accountSeed % accounts.length + i) % accounts.length];
            if (store.credits(account) == 0) continue;
            if (usdc.isBlacklisted(account)) {
                (bool ok, bytes memory ret) =
                    _call(account, address(escrow), abi.encodeCall(IRunEscrow.withdrawCredit, ()));
                _mustRevert(
                    "withdrawCredit (blacklisted)",
                    ok,
                    ret,
                    abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, account)
                );
            } else {
                _withdrawCredit(account, "withdrawCredit");
            }
            return;
        }
        address nobody = accounts[accountSeed % accounts.length];
        (bool success, bytes memory data) =
            _call(nobody, address(escrow), abi.encodeCall(IRunEscrow.withdrawCredit, ()));
        _mustRevert(
            "withdrawCredit (none)",
            success,
            data,
            abi.encodeWithSelector(IRunEscrow.RunEscrowNoCredit.selector, nobody)
        );
    }

    /// @notice Sends the fees to the treasury; with none, or a blacklisted treasury, it must revert.
    function withdrawFees() external instrument("withdrawFees") {
        address treasury = store.treasury();
        bytes memory expected;
        if (store.accruedFees() == 0) {
            expected = abi.encodeWithSelector(IRunEscrow.RunEscrowNoFees.selector);
        } else if (usdc.isBlacklisted(treasury)) {
            expected = abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, treasury);
        }
        if (expected.length == 0) {
            _withdrawFees(store.stranger(), "withdrawFees");
        } else {
            (bool ok, bytes memory ret) =
                _call(store.stranger(), address(escrow), abi.encodeCall(IRunEscrow.withdrawFees, ()));
            _mustRevert("withdrawFees (refused)", ok, ret, expected);
        }
    }

    /*//////////////////////////////////////////////////////////////
                          MUST REVERT: TOO EARLY
    //////////////////////////////////////////////////////////////*/

    /// @notice A slash before the caller's timing: the poster before the claim timeout ends, a
    /// stranger before a further review period (the window where only the poster may is the
    /// interesting one).
    function slashTooEarly(uint256 runSeed, uint256 callerSeed, uint256 timeSeed)
        external
        instrument("slashTooEarly")
    {
        uint256 runId = _pickRun(runSeed, M_WORKING);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        bool byPoster = callerSeed % 2 == 0;
        uint256 after_ = run.timerStart + run.terms.claimTimeout + (byPoster ? 0 : run.terms.reviewPeriod);
        if (block.timestamp > after_) return;
        uint256 from = block.timestamp;
        if (!byPoster && run.timerStart + run.terms.claimTimeout + 1 > from) {
            from = run.timerStart + run.terms.claimTimeout + 1;
        }
        _peekAt(from > after_ ? after_ : _early(timeSeed, from, after_));
        address caller = byPoster ? run.poster : store.stranger();
        (bool ok, bytes memory ret) =
            _call(caller, address(escrow), abi.encodeCall(IRunEscrow.slash, (runId)));
        _mustRevert(
            byPoster ? "slashTooEarly (poster)" : "slashTooEarly (stranger)",
            ok,
            ret,
            abi.encodeWithSelector(IRunEscrow.RunEscrowClaimNotTimedOut.selector, runId, after_)
        );
        _restoreClock();
    }

    function finalizeTooEarly(uint256 runSeed, uint256 timeSeed) external instrument("finalizeTooEarly") {
        uint256 runId = _pickRun(runSeed, M_REJECTED);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        uint256 end = run.timerStart + run.terms.disputeWindow;
        if (block.timestamp > end) return;
        _peekAt(_early(timeSeed, block.timestamp, end));
        (bool ok, bytes memory ret) =
            _call(store.stranger(), address(escrow), abi.encodeCall(IRunEscrow.finalizeRejection, (runId)));
        _mustRevert(
            "finalizeTooEarly",
            ok,
            ret,
            abi.encodeWithSelector(IRunEscrow.RunEscrowDisputeWindowOpen.selector, runId, end)
        );
        _restoreClock();
    }

    function settleTooEarly(uint256 runSeed, uint256 timeSeed) external instrument("settleTooEarly") {
        uint256 runId = _pickRun(runSeed, M_DISPUTED);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        uint256 end = run.timerStart + run.terms.rulingPeriod;
        if (block.timestamp > end) return;
        _peekAt(_early(timeSeed, block.timestamp, end));
        (bool ok, bytes memory ret) =
            _call(store.stranger(), address(escrow), abi.encodeCall(IRunEscrow.settleDispute, (runId)));
        _mustRevert(
            "settleTooEarly",
            ok,
            ret,
            abi.encodeWithSelector(IRunEscrow.RunEscrowRulingPeriodOpen.selector, runId, end)
        );
        _restoreClock();
    }

    function approveOnTimeoutTooEarly(uint256 runSeed, uint256 timeSeed)
        external
        instrument("approveOnTimeoutTooEarly")
    {
        uint256 runId = _pickRun(runSeed, M_SUBMITTED);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        uint256 end = run.timerStart + run.terms.reviewPeriod;
        if (block.timestamp > end) return;
        _peekAt(_early(timeSeed, block.timestamp, end));
        (bool ok, bytes memory ret) =
            _call(store.stranger(), address(escrow), abi.encodeCall(IRunEscrow.approveOnTimeout, (runId)));
        _mustRevert(
            "approveOnTimeoutTooEarly",
            ok,
            ret,
            abi.encodeWithSelector(IRunEscrow.RunEscrowReviewNotTimedOut.selector, runId, end)
        );
        _restoreClock();
    }

    function expireTooEarly(uint256 runSeed, uint256 timeSeed) external instrument("expireTooEarly") {
        uint256 runId = _pickRun(runSeed, M_OPEN);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        if (block.timestamp > run.deadline) return;
        _peekAt(_early(timeSeed, block.timestamp, run.deadline));
        (bool ok, bytes memory ret) =
            _call(store.stranger(), address(escrow), abi.encodeCall(IRunEscrow.expire, (runId)));
        _mustRevert(
            "expireTooEarly",
            ok,
            ret,
            abi.encodeWithSelector(IRunEscrow.RunEscrowDeadlineNotPassed.selector, runId, run.deadline)
        );
        _restoreClock();
    }

    /// @notice Any state-changing call on a settled run must revert, even far past every timer.
    function pokeSettled(uint256 runSeed, uint256 actionSeed) external instrument("pokeSettled") {
        uint256 runId = _pickRun(runSeed, M_SETTLED);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        address agent = run.agentId == 0 ? store.stranger() : _wallet(run.agentId);
        address caller = run.poster;
        bytes memory data;
        uint256 action = actionSeed % 16;
        if (action == 0) {
            data = abi.encodeCall(IRunEscrow.fund, (runId));
        } else if (action == 1) {
            data = abi.encodeCall(IRunEscrow.cancel, (runId));
        } else if (action == 2) {
            data = abi.encodeCall(IRunEscrow.approve, (runId));
        } else if (action == 3) {
            data = abi.encodeCall(IRunEscrow.requestRevision, (runId, URI));
        } else if (action == 4) {
            data = abi.encodeCall(IRunEscrow.reject, (runId, URI));
        } else if (action == 5) {
            data = abi.encodeCall(IRunEscrow.slash, (runId));
        } else if (action == 6) {
            data = abi.encodeCall(IRunEscrow.approveOnTimeout, (runId));
        } else if (action == 7) {
            data = abi.encodeCall(IRunEscrow.finalizeRejection, (runId));
        } else if (action == 8) {
            data = abi.encodeCall(IRunEscrow.settleDispute, (runId));
        } else if (action == 9) {
            data = abi.encodeCall(IRunEscrow.expire, (runId));
        } else if (action == 10) {
            (caller, data) = (agent, abi.encodeCall(IRunEscrow.submit, (runId, URI)));
        } else if (action == 11) {
            (caller, data) = (agent, abi.encodeCall(IRunEscrow.dispute, (runId, URI)));
        } else if (action == 12) {
            (caller, data) = (agent, abi.encodeCall(IRunEscrow.acceptRejection, (runId)));
        } else if (action == 13) {
            (caller, data) = (agent, abi.encodeCall(IRunEscrow.abandon, (runId)));
        } else if (action == 14) {
            (caller, data) = (run.terms.arbitrator, abi.encodeCall(IRunEscrow.resolve, (runId, 5000, false)));
        } else {
            (caller, data) = (agent, abi.encodeCall(IRunEscrow.submitEvidence, (runId, URI)));
        }
        _peekAt(block.timestamp + 400 days);
        (bool ok,) = _call(caller, address(escrow), data);
        if (ok) {
            store.violation(string.concat("pokeSettled: call ", vm.toString(action), " on a settled run"));
        } else {
            store.countHit("pokeSettled");
        }
        _restoreClock();
    }

    /*//////////////////////////////////////////////////////////////
                          END-STATE DRAIN
    //////////////////////////////////////////////////////////////*/

    /// @notice Far past every timer, settles every run by the exit its state leaves to strangers (the
    /// poster cancels a DRAFT).
    function drainRuns() external {
        _warpTo(block.timestamp + 2 * 365 days);
        uint256 count = store.runCount();
        address stranger = store.stranger();
        for (uint256 runId = 1; runId <= count; ++runId) {
            uint256 phase = store.phaseBit(runId);
            if (phase == M_DRAFT) _cancel(runId, "drain: cancel");
            else if (phase == M_OPEN) _expire(runId, stranger, "drain: expire");
            else if (phase & M_WORKING != 0) _slash(runId, stranger, "drain: slash");
            else if (phase == M_SUBMITTED) _approve(runId, stranger, true, "drain: approveOnTimeout");
            else if (phase == M_REJECTED) _finalRejection(runId, stranger, false, "drain: finalizeRejection");
            else if (phase == M_DISPUTED) _ruling(runId, stranger, 5000, false, true, "drain: settleDispute");
        }
    }

    /// @notice Every creditor withdraws its credit.
    function drainCredits() external {
        address[] memory accounts = store.creditAccounts();
        for (uint256 i; i < accounts.length; ++i) {
            if (store.credits(accounts[i]) != 0) _withdrawCredit(accounts[i], "drain: withdrawCredit");
        }
    }

    function drainFees() external {
        if (store.accruedFees() != 0) _withdrawFees(store.stranger(), "drain: withdrawFees");
    }

    function _deadlineDue(GhostStore.RunModel memory run) internal view returns (bool) {
        return run.deadline <= block.timestamp + HORIZON;
    }

    function _strangerSlashDue(GhostStore.RunModel memory run) internal view returns (bool) {
        return run.timerStart + run.terms.claimTimeout + run.terms.reviewPeriod <= block.timestamp + HORIZON;
    }

    function _reviewDue(GhostStore.RunModel memory run) internal view returns (bool) {
        return run.timerStart + run.terms.reviewPeriod <= block.timestamp + HORIZON;
    }

    function _windowDue(GhostStore.RunModel memory run) internal view returns (bool) {
        return run.timerStart + run.terms.disputeWindow <= block.timestamp + HORIZON;
    }

    function _rulingDue(GhostStore.RunModel memory run) internal view returns (bool) {
        return run.timerStart + run.terms.rulingPeriod <= block.timestamp + HORIZON;
    }
}
