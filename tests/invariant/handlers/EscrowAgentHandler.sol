// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BaseHandler} from "./BaseHandler.sol";
import {GhostStore} from "../stores/GhostStore.sol";
import {BlacklistUSDC} from "../../mocks/BlacklistUSDC.sol";
import {RunEscrow} from "../../../contracts/RunEscrow.sol";
import {StakeVault} from "../../../contracts/StakeVault.sol";
import {IRunEscrow} from "../../../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../../../contracts/interfaces/IStakeVault.sol";

/// @title EscrowAgentHandler
/// @notice The agents' side of RunEscrow: claim (only what the model finds eligible, with
/// `canClaim` compared to the model's reasons), start, submit, abandon, dispute (the arbitrator's
/// per-run coin flip decides whether it will ever rule), acceptRejection and evidence; and what must
/// revert: every kind of ineligible claim with the exact reasons mask (insufficient free stake,
/// frozen, banned, poster, arbitrator, paused, slashed on the run, unverified, unknown agent, run
/// not open or past its deadline), a claim from a wallet that is not the agent's, a submit past the
/// claim timeout and a dispute past the window.
contract EscrowAgentHandler is BaseHandler {
    constructor(GhostStore store_, BlacklistUSDC usdc_, StakeVault vault_, RunEscrow escrow_)
        BaseHandler(store_, usdc_, vault_, escrow_)
    {}

    /// @notice The fuzzed actions, each repeated by its weight.
    function selectors() external pure returns (bytes4[] memory s) {
        s = new bytes4[](31);
        uint256 n;
        n = _add(s, n, this.claim.selector, 8);
        n = _add(s, n, this.claimIneligible.selector, 3);
        n = _add(s, n, this.start.selector, 1);
        n = _add(s, n, this.submit.selector, 8);
        n = _add(s, n, this.submitTooLate.selector, 1);
        n = _add(s, n, this.abandon.selector, 1);
        n = _add(s, n, this.dispute.selector, 6);
        n = _add(s, n, this.disputeTooLate.selector, 1);
        n = _add(s, n, this.acceptRejection.selector, 1);
        n = _add(s, n, this.submitEvidence.selector, 1);
    }

    /*//////////////////////////////////////////////////////////////
                                 CLAIM
    //////////////////////////////////////////////////////////////*/

    /// @notice Claims the first OPEN run (from `runSeed`) that some agent (from `agentSeed`) may claim
    /// by the model; on the way, every pair looked at must get the model's reasons from `canClaim`.
    function claim(uint256 runSeed, uint256 agentSeed) external instrument("claim") {
        uint256[] memory ids = store.runsIn(M_OPEN);
        uint256 agents = store.agentCount();
        for (uint256 i; i < ids.length; ++i) {
            uint256 runId = ids[(runSeed % ids.length + i) % ids.length];
            for (uint256 j; j < agents; ++j) {
                uint256 agentId = 1 + (agentSeed % agents + j) % agents;
                uint256 reasons = store.claimReasons(runId, agentId, block.timestamp);
                _checkCanClaim(runId, agentId, reasons);
                if (reasons == 0) {
                    _claim(runId, agentId);
                    return;
                }
            }
        }
    }

    /// @notice A claim the model says must fail: from the agent's wallet it reverts with exactly the
    /// model's reasons; an eligible pair claimed from a stranger's wallet reverts `NotAgentWallet`.
    function claimIneligible(uint256 runSeed, uint256 agentSeed) external instrument("claimIneligible") {
        uint256 runCount = store.runCount();
        if (runCount == 0) return;
        // Half of the picks among OPEN runs (where the agent rules decide), half among all runs.
        uint256 runId = _pickRun(runSeed >> 1, M_OPEN);
        if (runSeed % 2 == 0 || runId == 0) runId = 1 + (runSeed >> 1) % runCount;
        // One pick in seven is an agent id that does not exist.
        uint256 agentId = 1 + agentSeed % (store.agentCount() + 1);
        // Three picks in eight aim at the rarer rules: slashed on the run, the poster, the arbitrator.
        (uint256 aimedRun, uint256 aimedAgent) = _aimedPair(agentSeed >> 8, runSeed);
        if (aimedRun != 0) (runId, agentId) = (aimedRun, aimedAgent);
        uint256 reasons = store.claimReasons(runId, agentId, block.timestamp);
        _checkCanClaim(runId, agentId, reasons);
        address wallet = _wallet(agentId);
        bytes memory data = abi.encodeCall(IRunEscrow.claim, (runId, agentId));
        if (reasons == 0) {
            (bool ok, bytes memory ret) = _call(store.stranger(), address(escrow), data);
            _mustRevert(
                "claimIneligible",
                ok,
                ret,
                abi.encodeWithSelector(IRunEscrow.RunEscrowNotAgentWallet.selector, agentId, store.stranger())
            );
            store.countHit("claim from a stranger's wallet");
        } else {
            (bool ok, bytes memory ret) =
                _call(wallet == address(0) ? store.stranger() : wallet, address(escrow), data);
            _mustRevert(
                "claimIneligible",
                ok,
                ret,
                abi.encodeWithSelector(IRunEscrow.RunEscrowNotClaimable.selector, runId, agentId, reasons)
            );
            store.countReason(reasons);
            if (reasons & (1 << 8) != 0) store.countBlockedByPause();
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 WORK
    //////////////////////////////////////////////////////////////*/

    function start(uint256 runSeed) external instrument("start") {
        uint256 runId = _pickRun(runSeed, M_CLAIMED);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        (bool ok,) = _callExpect(
            "start", _wallet(run.agentId), address(escrow), abi.encodeCall(IRunEscrow.start, (runId)), ""
        );
        if (!ok) return;
        run.state = IRunEscrow.RunState.IN_PROGRESS;
        store.setRun(runId, run);
    }

    /// @notice Submits a working run within its claim timeout.
    function submit(uint256 runSeed, uint256 timingSeed) external instrument("submit") {
        (uint256 runId, GhostStore.RunModel memory run) = _findRun(runSeed, M_WORKING, _withinClaimTimeout);
        if (runId == 0) return;
        _maybeLastSecond(timingSeed, run.timerStart + run.terms.claimTimeout);
        _submit(runId);
    }

    function _submit(uint256 runId) internal {
        GhostStore.RunModel memory run = _run(runId);
        Flow memory f = _flow();
        (bool ok,) = _callExpect(
            "submit",
            _wallet(run.agentId),
            address(escrow),
            abi.encodeCall(IRunEscrow.submit, (runId, URI)),
            ""
        );
        if (!ok) return;
        _checkFlow(f, "submit");
        run.state = IRunEscrow.RunState.SUBMITTED;
        run.timerStart = uint64(block.timestamp);
        store.setRun(runId, run);
    }

    /// @notice Gives a CLAIMED or IN_PROGRESS run back within the claim timeout: the reservation goes
    /// to the poster, no strike.
    function abandon(uint256 runSeed, uint256 timingSeed) external instrument("abandon") {
        (uint256 runId, GhostStore.RunModel memory run) =
            _findRun(runSeed, M_CLAIMED | M_IN_PROGRESS, _withinClaimTimeout);
        if (runId == 0) return;
        _maybeLastSecond(timingSeed, run.timerStart + run.terms.claimTimeout);
        Flow memory f = _flow();
        _payTo(f, run.poster, run.requiredStake);
        f.forfeit = run.requiredStake;
        (bool ok,) = _callExpect(
            "abandon", _wallet(run.agentId), address(escrow), abi.encodeCall(IRunEscrow.abandon, (runId)), ""
        );
        if (!ok) return;
        _checkFlow(f, "abandon");
        store.modelSettleClaim(run.agentId, run.requiredStake, IStakeVault.Outcome.ABANDONED, run.reward, 0);
        run.state = IRunEscrow.RunState.OPEN;
        run.agentId = 0;
        run.timerStart = 0;
        store.setRun(runId, run);
        _afterExit();
    }

    /*//////////////////////////////////////////////////////////////
                               REJECTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice Disputes a rejection within the window; one dispute in three goes to an arbitrator that
    /// will never rule (the default then splits the money).
    function dispute(uint256 runSeed, uint256 coinSeed) external instrument("dispute") {
        (uint256 runId, GhostStore.RunModel memory run) = _findRun(runSeed, M_REJECTED, _withinDisputeWindow);
        if (runId == 0) return;
        _maybeLastSecond(coinSeed >> 8, run.timerStart + run.terms.disputeWindow);
        _dispute(runId, coinSeed % 3 == 0);
    }

    function _dispute(uint256 runId, bool silent) internal {
        GhostStore.RunModel memory run = _run(runId);
        (bool ok,) = _callExpect(
            "dispute",
            _wallet(run.agentId),
            address(escrow),
            abi.encodeCall(IRunEscrow.dispute, (runId, URI)),
            ""
        );
        if (!ok) return;
        run.state = IRunEscrow.RunState.DISPUTED;
        run.timerStart = uint64(block.timestamp);
        run.silentArbitrator = silent;
        store.setRun(runId, run);
        if (run.silentArbitrator) store.countHit("dispute before a silent arbitrator");
    }

    function acceptRejection(uint256 runSeed) external instrument("acceptRejection") {
        uint256 runId = _pickRun(runSeed, M_REJECTED);
        if (runId == 0) return;
        _finalRejection(runId, _wallet(_run(runId).agentId), true, "acceptRejection");
    }

    function submitEvidence(uint256 runSeed) external instrument("submitEvidence (agent)") {
        uint256 runId = _pickRun(runSeed, M_REJECTED | M_DISPUTED);
        if (runId == 0) return;
        _callExpect(
            "submitEvidence (agent)",
            _wallet(_run(runId).agentId),
            address(escrow),
            abi.encodeCall(IRunEscrow.submitEvidence, (runId, URI)),
            ""
        );
    }

    /*//////////////////////////////////////////////////////////////
                          MUST REVERT: TOO LATE
    //////////////////////////////////////////////////////////////*/

    /// @notice Past the claim timeout only a slash is left: a submit, or an abandon, must revert
    /// `ClaimTimedOut`.
    function submitTooLate(uint256 runSeed, uint256 delaySeed, uint256 actionSeed)
        external
        instrument("submitTooLate")
    {
        uint256 runId = _pickRun(runSeed, M_WORKING);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        uint256 end = run.timerStart + run.terms.claimTimeout;
        uint256 at = end + 1 + _delay(delaySeed, 3 days);
        if (at < block.timestamp) at = block.timestamp;
        _peekAt(at);
        bool abandoning = actionSeed % 2 == 1 && run.state != IRunEscrow.RunState.REVISION_REQUESTED;
        bytes memory data = abandoning
            ? abi.encodeCall(IRunEscrow.abandon, (runId))
            : abi.encodeCall(IRunEscrow.submit, (runId, URI));
        (bool ok, bytes memory ret) = _call(_wallet(run.agentId), address(escrow), data);
        _mustRevert(
            abandoning ? "abandonTooLate" : "submitTooLate",
            ok,
            ret,
            abi.encodeWithSelector(IRunEscrow.RunEscrowClaimTimedOut.selector, runId, end)
        );
        _restoreClock();
    }

    /// @notice Past the dispute window the agent can no longer dispute.
    function disputeTooLate(uint256 runSeed, uint256 delaySeed) external instrument("disputeTooLate") {
        uint256 runId = _pickRun(runSeed, M_REJECTED);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        uint256 end = run.timerStart + run.terms.disputeWindow;
        uint256 at = end + 1 + _delay(delaySeed, 3 days);
        if (at < block.timestamp) at = block.timestamp;
        _peekAt(at);
        (bool ok, bytes memory ret) =
            _call(_wallet(run.agentId), address(escrow), abi.encodeCall(IRunEscrow.dispute, (runId, URI)));
        _mustRevert(
            "disputeTooLate",
            ok,
            ret,
            abi.encodeWithSelector(IRunEscrow.RunEscrowDisputeWindowOver.selector, runId, end)
        );
        _restoreClock();
    }

    /*//////////////////////////////////////////////////////////////
                     THE MARKETPLACE SETUP BUILDS
    //////////////////////////////////////////////////////////////*/

    function claimRun(uint256 runId, uint256 agentId) external {
        _claim(runId, agentId);
    }

    function submitRun(uint256 runId) external {
        _submit(runId);
    }

    function disputeRun(uint256 runId, bool silent) external {
        _dispute(runId, silent);
    }

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    function _claim(uint256 runId, uint256 agentId) internal {
        GhostStore.RunModel memory run = _run(runId);
        Flow memory f = _flow();
        (bool ok,) = _callExpect(
            "claim", _wallet(agentId), address(escrow), abi.encodeCall(IRunEscrow.claim, (runId, agentId)), ""
        );
        if (!ok) return;
        _checkFlow(f, "claim");
        store.modelReserve(agentId, run.requiredStake);
        run.state = IRunEscrow.RunState.CLAIMED;
        run.agentId = uint32(agentId);
        run.timerStart = uint64(block.timestamp);
        store.setRun(runId, run);
    }

    /// @dev An OPEN run and an agent that breaks a rare rule: slashed on the run (mode 0), its
    /// poster (mode 1), its arbitrator (mode 2); (0, 0) for other modes or when none exists.
    function _aimedPair(uint256 mode, uint256 seed) internal view returns (uint256, uint256) {
        mode %= 8;
        if (mode > 2) return (0, 0);
        uint256[] memory ids = store.runsIn(M_OPEN);
        uint256 agents = store.agentCount();
        for (uint256 i; i < ids.length; ++i) {
            uint256 runId = ids[(seed % ids.length + i) % ids.length];
            GhostStore.RunModel memory run = _run(runId);
            for (uint256 agentId = 1; agentId <= agents; ++agentId) {
                address wallet = _wallet(agentId);
                if (
                    (mode == 0 && store.slashedOn(runId, agentId)) || (mode == 1 && wallet == run.poster)
                        || (mode == 2 && wallet == run.terms.arbitrator)
                ) return (runId, agentId);
            }
        }
        return (0, 0);
    }

    /// @dev `canClaim` must report exactly the model's reasons.
    function _checkCanClaim(uint256 runId, uint256 agentId, uint256 reasons) internal {
        (bool eligible, uint256 got) = escrow.canClaim(runId, agentId);
        if (got != reasons || eligible != (reasons == 0)) {
            _mismatch(
                "canClaim",
                string.concat(
                    "run ",
                    vm.toString(runId),
                    " agent ",
                    vm.toString(agentId),
                    " reasons ",
                    vm.toString(got),
                    " model ",
                    vm.toString(reasons)
                )
            );
        }
    }

    function _withinClaimTimeout(GhostStore.RunModel memory run) internal view returns (bool) {
        return block.timestamp <= run.timerStart + run.terms.claimTimeout;
    }

    function _withinDisputeWindow(GhostStore.RunModel memory run) internal view returns (bool) {
        return block.timestamp <= run.timerStart + run.terms.disputeWindow;
    }
}
