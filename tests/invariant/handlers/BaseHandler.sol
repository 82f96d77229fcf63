// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "../../utils/Test.sol";
import {SigUtils} from "../../utils/SigUtils.sol";
import {BlacklistUSDC} from "../../mocks/BlacklistUSDC.sol";
import {GhostStore} from "../stores/GhostStore.sol";
import {RunEscrow} from "../../../contracts/RunEscrow.sol";
import {StakeVault} from "../../../contracts/StakeVault.sol";
import {IRunEscrow} from "../../../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../../../contracts/interfaces/IStakeVault.sol";
import {IUSDC} from "../../../contracts/interfaces/IUSDC.sol";

/// @title BaseHandler
/// @notice What every handler shares: the clock, actor and run selection, the exact-revert and
/// exact-payout checks, and the settlements several actors can trigger (approve, a final rejection,
/// a ruling, a slash, an expiry), each applied to the {GhostStore} model only after the protocol did
/// what the model predicted.
/// @dev Every action runs inside {instrument}: the fuzzer's call re-enters the handler with the same
/// calldata and catches any revert of the body, so a bug in the suite itself is counted
/// (`handlerReverts`) instead of being silently discarded under `fail_on_revert = false`.
abstract contract BaseHandler is Test {
    /*//////////////////////////////////////////////////////////////
                                 PHASES
    //////////////////////////////////////////////////////////////*/

    // One bit per IRunEscrow.RunState; REJECTED means a rejection not yet final.
    uint256 internal constant M_DRAFT = 1 << 0;
    uint256 internal constant M_OPEN = 1 << 1;
    uint256 internal constant M_CLAIMED = 1 << 2;
    uint256 internal constant M_IN_PROGRESS = 1 << 3;
    uint256 internal constant M_SUBMITTED = 1 << 4;
    uint256 internal constant M_APPROVED = 1 << 5;
    uint256 internal constant M_REVISION_REQUESTED = 1 << 6;
    uint256 internal constant M_REJECTED = 1 << 7;
    uint256 internal constant M_CANCELLED = 1 << 8;
    uint256 internal constant M_EXPIRED = 1 << 9;
    uint256 internal constant M_DISPUTED = 1 << 10;
    uint256 internal constant M_RESOLVED = 1 << 11;
    uint256 internal constant M_REJECTED_SETTLED = 1 << 12;
    /// @dev Where the claim timeout runs (submit, slash).
    uint256 internal constant M_WORKING = M_CLAIMED | M_IN_PROGRESS | M_REVISION_REQUESTED;
    uint256 internal constant M_SETTLED =
        M_APPROVED | M_CANCELLED | M_EXPIRED | M_RESOLVED | M_REJECTED_SETTLED;

    string internal constant URI = "ipfs://bafyuri";
    /// @dev How far an action may move the clock to reach the timer it waits for: farther jumps would
    /// run out every other run's review and dispute windows and keep sequences shallow.
    uint256 internal constant HORIZON = 3 days;

    /*//////////////////////////////////////////////////////////////
                                 SYSTEM
    //////////////////////////////////////////////////////////////*/

    GhostStore internal immutable store;
    BlacklistUSDC internal immutable usdc;
    StakeVault internal immutable vault;
    RunEscrow internal immutable escrow;

    uint256 internal _nonceCounter;

    constructor(GhostStore store_, BlacklistUSDC usdc_, StakeVault vault_, RunEscrow escrow_) {
        store = store_;
        usdc = usdc_;
        vault = vault_;
        escrow = escrow_;
    }

    /// @dev Counts the call and runs the body in a nested frame whose revert is caught and counted.
    /// The handler's clock is re-applied first, so time only moves forward and never depends on how
    /// forge carries the block between calls.
    modifier instrument(string memory action) {
        if (msg.sender == address(this)) {
            _;
        } else {
            vm.warp(store.currentTime());
            store.countCall(action);
            (bool ok, bytes memory err) = address(this).call(msg.data);
            if (!ok) store.handlerReverted(string.concat(action, ": ", vm.toString(err)));
        }
    }

    /// @dev Appends `selector` `weight` times to the fuzzer's list at `n`: forge draws uniformly among
    /// the entries, and the steps towards deep states need more draws than the side actions.
    function _add(bytes4[] memory list, uint256 n, bytes4 selector, uint256 weight)
        internal
        pure
        returns (uint256)
    {
        for (uint256 i; i < weight; ++i) {
            list[n++] = selector;
        }
        return n;
    }

    /*//////////////////////////////////////////////////////////////
                                  TIME
    //////////////////////////////////////////////////////////////*/

    /// @dev Moves the clock forward to `time` (never back).
    function _warpTo(uint256 time) internal {
        if (time > block.timestamp) {
            store.setCurrentTime(time);
            vm.warp(time);
        }
    }

    /// @dev Looks at a later moment (for a call that must revert, or a view) without moving the clock;
    /// {_restoreClock} comes back.
    function _peekAt(uint256 time) internal {
        vm.warp(time);
    }

    function _restoreClock() internal {
        vm.warp(store.currentTime());
    }

    /// @dev A delay after a timer's end: none half the time (the first second past it), else up to `max`.
    function _delay(uint256 seed, uint256 max) internal pure returns (uint256) {
        return seed % 2 == 0 ? 0 : bound(seed >> 1, 0, max);
    }

    /// @dev A moment in [`from`, `end`]: `end` itself half the time (the last second before it).
    function _early(uint256 seed, uint256 from, uint256 end) internal pure returns (uint256) {
        return seed % 2 == 0 ? end : bound(seed >> 1, from, end);
    }

    /// @dev One call in three waits for the last second of a window (`end`, still "within") when it
    /// ends within the horizon.
    function _maybeLastSecond(uint256 seed, uint256 end) internal {
        if (seed % 3 == 0 && end <= block.timestamp + HORIZON) _warpTo(end);
    }

    /*//////////////////////////////////////////////////////////////
                             CALLS AND CHECKS
    //////////////////////////////////////////////////////////////*/

    /// @dev Calls `target` as `caller`. Arguments must be computed before: the prank is for the next call.
    function _call(address caller, address target, bytes memory data)
        internal
        returns (bool ok, bytes memory ret)
    {
        vm.prank(caller);
        (ok, ret) = target.call(data);
    }

    /// @dev A call the model said must succeed: counts the hit, or the unexpected revert.
    function _mustSucceed(string memory action, bool ok, bytes memory ret) internal returns (bool) {
        if (ok) {
            store.countHit(action);
            return true;
        }
        store.unexpected(string.concat(action, ": ", vm.toString(ret)));
        return false;
    }

    /// @dev A call the model said must revert with exactly `expected`.
    function _mustRevert(string memory action, bool ok, bytes memory ret, bytes memory expected) internal {
        if (ok) {
            store.violation(action);
        } else if (keccak256(ret) != keccak256(expected)) {
            store.wrongRevert(
                string.concat(action, ": got ", vm.toString(ret), " want ", vm.toString(expected))
            );
        } else {
            store.countHit(action);
            bytes4 selector = bytes4(expected);
            if (
                selector == IRunEscrow.RunEscrowPaused.selector
                    || selector == IStakeVault.StakeVaultPaused.selector
            ) store.countBlockedByPause();
        }
    }

    /// @dev Calls and checks against the model's verdict: success when `expected` is empty.
    function _callExpect(
        string memory action,
        address caller,
        address target,
        bytes memory data,
        bytes memory expected
    ) internal returns (bool succeeded, bytes memory ret) {
        bool ok;
        (ok, ret) = _call(caller, target, data);
        if (expected.length == 0) {
            succeeded = _mustSucceed(action, ok, ret);
        } else {
            _mustRevert(action, ok, ret, expected);
        }
    }

    function _mismatch(string memory action, string memory what) internal {
        store.mismatch(string.concat(action, ": ", what));
    }

    function _check(bool condition, string memory action, string memory what) internal {
        if (!condition) _mismatch(action, what);
    }

    /*//////////////////////////////////////////////////////////////
                           ACTORS AND RUNS
    //////////////////////////////////////////////////////////////*/

    function _poster(uint256 seed) internal view returns (address) {
        address[] memory list = store.posters();
        return list[seed % list.length];
    }

    function _wallet(uint256 agentId) internal view returns (address) {
        return store.getAgent(agentId).wallet;
    }

    function _run(uint256 runId) internal view returns (GhostStore.RunModel memory) {
        return store.getRun(runId);
    }

    /// @dev A run whose phase is in `mask`, chosen by `seed`; 0 when there is none.
    function _pickRun(uint256 seed, uint256 mask) internal view returns (uint256) {
        uint256[] memory ids = store.runsIn(mask);
        if (ids.length == 0) return 0;
        return ids[seed % ids.length];
    }

    /// @dev The first run from `seed` (wrapping) whose phase is in `mask` and that passes `filter`.
    function _findRun(
        uint256 seed,
        uint256 mask,
        function(GhostStore.RunModel memory) internal view returns (bool) filter
    ) internal view returns (uint256 runId, GhostStore.RunModel memory run) {
        uint256[] memory ids = store.runsIn(mask);
        for (uint256 i; i < ids.length; ++i) {
            uint256 id = ids[(seed % ids.length + i) % ids.length];
            GhostStore.RunModel memory candidate = store.getRun(id);
            if (filter(candidate)) return (id, candidate);
        }
    }

    function _any(GhostStore.RunModel memory) internal pure returns (bool) {
        return true;
    }

    /*//////////////////////////////////////////////////////////////
                                SIGNATURES
    //////////////////////////////////////////////////////////////*/

    /// @dev A real EIP-2612 permit of `owner` for `spender`, signed with the owner's key.
    function _permit(address owner, address spender, uint256 value)
        internal
        view
        returns (IRunEscrow.Permit memory)
    {
        return SigUtils.runEscrowPermit(
            IUSDC(address(usdc)), store.keyOf(owner), spender, value, block.timestamp + 1 days
        );
    }

    /// @dev A real EIP-3009 `receiveWithAuthorization` of `from`, payable to the escrow, fresh nonce.
    function _authorization(address from, uint256 value) internal returns (IRunEscrow.Authorization memory) {
        bytes32 nonce = keccak256(abi.encode(address(this), from, value, block.timestamp, ++_nonceCounter));
        return SigUtils.runEscrowAuthorization(
            IUSDC(address(usdc)),
            store.keyOf(from),
            address(escrow),
            value,
            block.timestamp - 1,
            block.timestamp + 1 hours,
            nonce
        );
    }

    /*//////////////////////////////////////////////////////////////
                            PAYOUT CHECKS
    //////////////////////////////////////////////////////////////*/

    /// @dev What one call must move: payments by the escrow (direct, or a credit when the payee is
    /// blacklisted), a pull from one account, a forfeit from the vault, fees accrued.
    struct Flow {
        address[2] who;
        uint256[2] pay;
        uint256[2] balance;
        uint256[2] credit;
        uint256 n;
        address puller;
        uint256 pull;
        uint256 pullerBalance;
        uint256 forfeit;
        uint256 fees;
        uint256 escrowBalance;
        uint256 vaultBalance;
        uint256 accrued;
    }

    function _flow() internal view returns (Flow memory f) {
        f.escrowBalance = usdc.balanceOf(address(escrow));
        f.vaultBalance = usdc.balanceOf(address(vault));
        f.accrued = escrow.accruedFees();
    }

    function _payTo(Flow memory f, address who, uint256 amount) internal view {
        if (amount == 0) return;
        for (uint256 i; i < f.n; ++i) {
            if (f.who[i] == who) {
                f.pay[i] += amount;
                return;
            }
        }
        f.who[f.n] = who;
        f.pay[f.n] = amount;
        f.balance[f.n] = usdc.balanceOf(who);
        f.credit[f.n] = escrow.creditOf(who);
        f.n += 1;
    }

    function _pullFrom(Flow memory f, address who, uint256 amount) internal view {
        f.puller = who;
        f.pull = amount;
        f.pullerBalance = usdc.balanceOf(who);
    }

    /// @dev After a successful call: every balance, credit, the fees and both contracts moved exactly
    /// as the model said; the model's credits, fees and flows follow.
    function _checkFlow(Flow memory f, string memory action) internal {
        uint256 direct;
        for (uint256 i; i < f.n; ++i) {
            address who = f.who[i];
            bool blocked = usdc.isBlacklisted(who);
            uint256 expectedDirect = blocked ? 0 : f.pay[i];
            uint256 expectedCredit = blocked ? f.pay[i] : 0;
            _check(usdc.balanceOf(who) == f.balance[i] + expectedDirect, action, "payee balance");
            _check(escrow.creditOf(who) == f.credit[i] + expectedCredit, action, "payee credit");
            if (expectedCredit != 0) store.addCredit(who, expectedCredit);
            direct += expectedDirect;
        }
        if (f.puller != address(0)) {
            _check(usdc.balanceOf(f.puller) + f.pull == f.pullerBalance, action, "pulled amount");
            _check(usdc.allowance(f.puller, address(escrow)) == 0, action, "allowance left after pull");
        }
        _check(
            usdc.balanceOf(address(escrow)) + direct == f.escrowBalance + f.pull + f.forfeit,
            action,
            "escrow balance"
        );
        _check(usdc.balanceOf(address(vault)) + f.forfeit == f.vaultBalance, action, "vault balance");
        _check(escrow.accruedFees() == f.accrued + f.fees, action, "accrued fees");
        store.addEscrowFlows(f.pull + f.forfeit, direct);
        if (f.fees != 0) store.accrueFees(f.fees);
    }

    function _afterExit() internal {
        if (store.escrowPaused()) store.countExitWhilePaused();
    }

    /*//////////////////////////////////////////////////////////////
                     SETTLEMENTS SHARED BY SEVERAL ACTORS
    //////////////////////////////////////////////////////////////*/

    /// @dev Approve (by the poster, from SUBMITTED, REJECTED or DISPUTED) or approve on timeout.
    function _approve(uint256 runId, address caller, bool onTimeout, string memory action) internal {
        GhostStore.RunModel memory run = _run(runId);
        GhostStore.Payout memory p = store.approvalPayout(runId);
        Flow memory f = _flow();
        _payTo(f, _wallet(run.agentId), p.toAgent);
        _payTo(f, run.poster, p.toPoster);
        f.fees = p.toFees;
        bytes memory data = onTimeout
            ? abi.encodeCall(IRunEscrow.approveOnTimeout, (runId))
            : abi.encodeCall(IRunEscrow.approve, (runId));
        (bool ok, bytes memory ret) = _call(caller, address(escrow), data);
        if (!_mustSucceed(action, ok, ret)) return;
        _checkFlow(f, action);
        // Approving a DISPUTED run concedes the dispute: a dispute won for the agent.
        IStakeVault.Outcome outcome = run.state == IRunEscrow.RunState.DISPUTED
            ? IStakeVault.Outcome.DISPUTE_WON
            : IStakeVault.Outcome.APPROVED;
        store.modelSettleClaim(run.agentId, run.requiredStake, outcome, run.reward, p.earned);
        run.state = IRunEscrow.RunState.APPROVED;
        store.setRun(runId, run);
        store.markSettled(runId);
        store.markPaid(runId, run.agentId);
        _afterExit();
    }

    /// @dev A rejection becomes final: accepted by the agent, or finalized by anyone past the window.
    function _finalRejection(uint256 runId, address caller, bool byAgent, string memory action) internal {
        GhostStore.RunModel memory run = _run(runId);
        GhostStore.Payout memory p = store.rejectionPayout(runId);
        Flow memory f = _flow();
        _payTo(f, run.poster, p.toPoster);
        bytes memory data = byAgent
            ? abi.encodeCall(IRunEscrow.acceptRejection, (runId))
            : abi.encodeCall(IRunEscrow.finalizeRejection, (runId));
        (bool ok, bytes memory ret) = _call(caller, address(escrow), data);
        if (!_mustSucceed(action, ok, ret)) return;
        _checkFlow(f, action);
        store.modelSettleClaim(run.agentId, run.requiredStake, IStakeVault.Outcome.REJECTED, run.reward, 0);
        run.settled = true;
        store.setRun(runId, run);
        store.markSettled(runId);
        _afterExit();
    }

    /// @dev A ruling of `bps` (with `strike`) by the run's arbitrator, or the default by anyone.
    function _ruling(
        uint256 runId,
        address caller,
        uint256 bps,
        bool strike,
        bool byDefault,
        string memory action
    ) internal {
        GhostStore.RunModel memory run = _run(runId);
        GhostStore.Payout memory p = store.rulingPayout(runId, bps, byDefault);
        Flow memory f = _flow();
        _payTo(f, _wallet(run.agentId), p.toAgent);
        _payTo(f, run.poster, p.toPoster);
        f.fees = p.toFees;
        f.forfeit = p.forfeit;
        bytes memory data = byDefault
            ? abi.encodeCall(IRunEscrow.settleDispute, (runId))
            : abi.encodeCall(IRunEscrow.resolve, (runId, bps, strike));
        (bool ok, bytes memory ret) = _call(caller, address(escrow), data);
        if (!_mustSucceed(action, ok, ret)) return;
        _checkFlow(f, action);
        IStakeVault.Outcome outcome;
        if (byDefault) outcome = IStakeVault.Outcome.DISPUTE_SPLIT;
        else if (bps >= 5000) outcome = IStakeVault.Outcome.DISPUTE_WON;
        else if (strike) outcome = IStakeVault.Outcome.DISPUTE_LOST_STRUCK;
        else outcome = IStakeVault.Outcome.DISPUTE_LOST;
        store.modelSettleClaim(run.agentId, run.requiredStake, outcome, run.reward, p.earned);
        run.state = IRunEscrow.RunState.RESOLVED;
        store.setRun(runId, run);
        store.markSettled(runId);
        if (p.toAgent != 0) store.markPaid(runId, run.agentId);
        _afterExit();
    }

    /// @dev The agent of a working run is slashed: OPEN again, or EXPIRED with a refund past the deadline.
    function _slash(uint256 runId, address caller, string memory action) internal {
        GhostStore.RunModel memory run = _run(runId);
        (GhostStore.Payout memory p, bool expires) = store.slashPayout(runId, block.timestamp);
        Flow memory f = _flow();
        _payTo(f, run.poster, p.toPoster);
        f.forfeit = p.forfeit;
        (bool ok, bytes memory ret) =
            _call(caller, address(escrow), abi.encodeCall(IRunEscrow.slash, (runId)));
        if (!_mustSucceed(action, ok, ret)) return;
        _checkFlow(f, action);
        uint256 agentId = run.agentId;
        store.modelSettleClaim(agentId, run.requiredStake, IStakeVault.Outcome.SLASHED, run.reward, 0);
        if (expires) {
            // The run keeps its last agent and timer: it is over.
            run.state = IRunEscrow.RunState.EXPIRED;
        } else {
            run.state = IRunEscrow.RunState.OPEN;
            run.agentId = 0;
            run.revisionCount = 0;
            run.timerStart = 0;
        }
        store.setRun(runId, run);
        if (expires) store.markSettled(runId);
        store.markSlashed(runId, agentId);
        store.countHit(expires ? "slash->EXPIRED" : "slash->OPEN");
        _afterExit();
    }

    /// @dev An OPEN run past its deadline expires: reward + fee back to the poster.
    function _expire(uint256 runId, address caller, string memory action) internal {
        GhostStore.RunModel memory run = _run(runId);
        Flow memory f = _flow();
        _payTo(f, run.poster, run.reward + run.fee);
        (bool ok, bytes memory ret) =
            _call(caller, address(escrow), abi.encodeCall(IRunEscrow.expire, (runId)));
        if (!_mustSucceed(action, ok, ret)) return;
        _checkFlow(f, action);
        run.state = IRunEscrow.RunState.EXPIRED;
        store.setRun(runId, run);
        store.markSettled(runId);
        _afterExit();
    }

    /// @dev The poster cancels a DRAFT (nothing to refund) or an OPEN run (reward + fee back).
    function _cancel(uint256 runId, string memory action) internal {
        GhostStore.RunModel memory run = _run(runId);
        Flow memory f = _flow();
        if (run.state == IRunEscrow.RunState.OPEN) _payTo(f, run.poster, run.reward + run.fee);
        (bool ok, bytes memory ret) =
            _call(run.poster, address(escrow), abi.encodeCall(IRunEscrow.cancel, (runId)));
        if (!_mustSucceed(action, ok, ret)) return;
        _checkFlow(f, action);
        run.state = IRunEscrow.RunState.CANCELLED;
        store.setRun(runId, run);
        store.markSettled(runId);
        _afterExit();
    }

    /// @dev Pays `account`'s credit out (it must not be blacklisted).
    function _withdrawCredit(address account, string memory action) internal {
        uint256 credit = store.credits(account);
        uint256 balance = usdc.balanceOf(account);
        uint256 escrowBalance = usdc.balanceOf(address(escrow));
        (bool ok, bytes memory ret) =
            _call(account, address(escrow), abi.encodeCall(IRunEscrow.withdrawCredit, ()));
        if (!_mustSucceed(action, ok, ret)) return;
        _check(abi.decode(ret, (uint256)) == credit, action, "returned amount");
        _check(usdc.balanceOf(account) == balance + credit, action, "paid amount");
        _check(usdc.balanceOf(address(escrow)) + credit == escrowBalance, action, "escrow outflow");
        _check(escrow.creditOf(account) == 0, action, "credit left");
        store.clearCredit(account);
        _afterExit();
    }

    /// @dev Sends the accrued fees to the treasury (which must not be blacklisted).
    function _withdrawFees(address caller, string memory action) internal {
        address treasury = store.treasury();
        uint256 fees = store.accruedFees();
        uint256 balance = usdc.balanceOf(treasury);
        (bool ok, bytes memory ret) =
            _call(caller, address(escrow), abi.encodeCall(IRunEscrow.withdrawFees, ()));
        if (!_mustSucceed(action, ok, ret)) return;
        _check(abi.decode(ret, (uint256)) == fees, action, "returned amount");
        _check(usdc.balanceOf(treasury) == balance + fees, action, "treasury received");
        _check(escrow.accruedFees() == 0, action, "fees left");
        store.clearFees();
        _afterExit();
    }
}
