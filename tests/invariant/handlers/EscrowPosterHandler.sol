// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BaseHandler} from "./BaseHandler.sol";
import {GhostStore} from "../stores/GhostStore.sol";
import {BlacklistUSDC} from "../../mocks/BlacklistUSDC.sol";
import {RunEscrow} from "../../../contracts/RunEscrow.sol";
import {StakeVault} from "../../../contracts/StakeVault.sol";
import {IRunEscrow} from "../../../contracts/interfaces/IRunEscrow.sol";

/// @title EscrowPosterHandler
/// @notice The posters' side of RunEscrow: createRun, the three fund variants, the three
/// createAndFund variants (approval, EIP-2612 permit and EIP-3009 authorization, with real
/// signatures), cancel, approve from SUBMITTED / REJECTED / DISPUTED, requestRevision, reject and
/// rejectWithPermit (posting the bond), slash at the poster's timing and evidence; and what must
/// revert: stale terms versions, the arbitrator posting, funding past the deadline, new business
/// while paused, revisions and rejections past the review period.
/// @dev Posters hold no standing allowance: every pull is approved for exactly its amount or signed,
/// so a pull of any other amount fails the payout check (`allowance left after pull`).
contract EscrowPosterHandler is BaseHandler {
    uint256 internal constant MAX_LOCK = 365 days;

    /// @dev The arguments of one createRun / createAndFund.
    struct NewRun {
        address poster;
        uint256 reward;
        uint256 fee;
        uint256 deadline;
        uint256 maxRevisions;
        uint256 requiredStake;
        uint256 version;
        uint256 variant;
        bool funded;
    }

    constructor(GhostStore store_, BlacklistUSDC usdc_, StakeVault vault_, RunEscrow escrow_)
        BaseHandler(store_, usdc_, vault_, escrow_)
    {}

    /// @notice The fuzzed actions, each repeated by its weight.
    function selectors() external pure returns (bytes4[] memory s) {
        s = new bytes4[](25);
        uint256 n;
        n = _add(s, n, this.createRun.selector, 2);
        n = _add(s, n, this.fund.selector, 2);
        n = _add(s, n, this.createAndFund.selector, 6);
        n = _add(s, n, this.cancel.selector, 1);
        n = _add(s, n, this.approve.selector, 2);
        n = _add(s, n, this.requestRevision.selector, 2);
        n = _add(s, n, this.reject.selector, 6);
        n = _add(s, n, this.slash.selector, 2);
        n = _add(s, n, this.submitEvidence.selector, 1);
        n = _add(s, n, this.reviewTooLate.selector, 1);
    }

    /*//////////////////////////////////////////////////////////////
                                CREATE
    //////////////////////////////////////////////////////////////*/

    /// @notice A DRAFT run (nothing paid).
    function createRun(uint256 posterSeed, uint256 rewardSeed, uint256 shapeSeed, uint256 versionSeed)
        external
        instrument("createRun")
    {
        _create(_newRun(posterSeed, rewardSeed, shapeSeed, versionSeed));
    }

    /// @notice An OPEN run in one call, paid by approval, permit or authorization (`versionSeed`'s
    /// high bits).
    function createAndFund(uint256 posterSeed, uint256 rewardSeed, uint256 shapeSeed, uint256 versionSeed)
        external
        instrument("createAndFund")
    {
        NewRun memory r = _newRun(posterSeed, rewardSeed, shapeSeed, versionSeed);
        r.funded = true;
        // Only posters with a key can sign (the arbitrator posting is refused before any pull).
        r.variant = store.keyOf(r.poster) == 0 ? 0 : versionSeed >> 128;
        _create(r);
    }

    /// @notice Funds a DRAFT run by approval, permit or authorization; past its deadline it must revert.
    function fund(uint256 runSeed, uint256 variantSeed) external instrument("fund") {
        uint256 runId = _pickRun(runSeed, M_DRAFT);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        if (block.timestamp <= run.deadline) _maybeLastSecond(variantSeed >> 8, run.deadline);
        uint256 amount = uint256(run.reward) + run.fee;
        bytes memory expected;
        if (store.escrowPaused()) {
            expected = abi.encodeWithSelector(IRunEscrow.RunEscrowPaused.selector);
        } else if (block.timestamp > run.deadline) {
            expected =
                abi.encodeWithSelector(IRunEscrow.RunEscrowDeadlinePassed.selector, runId, run.deadline);
        } else if (usdc.isBlacklisted(run.poster)) {
            expected = abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, run.poster);
        }
        bytes memory data;
        string memory action;
        if (variantSeed % 3 == 0 || store.keyOf(run.poster) == 0) {
            action = "fund";
            _approveExactly(run.poster, amount);
            data = abi.encodeCall(IRunEscrow.fund, (runId));
        } else if (variantSeed % 3 == 1) {
            action = "fundWithPermit";
            data = abi.encodeCall(
                IRunEscrow.fundWithPermit, (runId, _permit(run.poster, address(escrow), amount))
            );
        } else {
            action = "fundWithAuthorization";
            data =
                abi.encodeCall(IRunEscrow.fundWithAuthorization, (runId, _authorization(run.poster, amount)));
        }
        Flow memory f = _flow();
        if (expected.length == 0) _pullFrom(f, run.poster, amount);
        (bool ok,) = _callExpect(action, run.poster, address(escrow), data, expected);
        if (!ok) {
            _approveExactly(run.poster, 0);
            return;
        }
        _checkFlow(f, action);
        run.state = IRunEscrow.RunState.OPEN;
        run.funded = true;
        store.setRun(runId, run);
    }

    /*//////////////////////////////////////////////////////////////
                              DECISIONS
    //////////////////////////////////////////////////////////////*/

    function cancel(uint256 runSeed) external instrument("cancel") {
        uint256 runId = _pickRun(runSeed, M_DRAFT | M_OPEN);
        if (runId != 0) _cancel(runId, "cancel");
    }

    /// @notice Approves a SUBMITTED run, or a REJECTED (not final) or DISPUTED one, at any time.
    function approve(uint256 runSeed) external instrument("approve") {
        uint256 runId = _pickRun(runSeed, M_SUBMITTED | M_REJECTED | M_DISPUTED);
        if (runId == 0) return;
        IRunEscrow.RunState from = _run(runId).state;
        _approve(runId, _run(runId).poster, false, "approve");
        if (_run(runId).state == IRunEscrow.RunState.APPROVED) {
            if (from == IRunEscrow.RunState.SUBMITTED) store.countHit("approve from SUBMITTED");
            else if (from == IRunEscrow.RunState.REJECTED) store.countHit("approve from REJECTED");
            else store.countHit("approve from DISPUTED");
        }
    }

    /// @notice Asks for a revision within the review period while revisions remain.
    function requestRevision(uint256 runSeed, uint256 timingSeed) external instrument("requestRevision") {
        (uint256 runId, GhostStore.RunModel memory run) = _findRun(runSeed, M_SUBMITTED, _revisable);
        if (runId == 0) return;
        _maybeLastSecond(timingSeed, run.timerStart + run.terms.reviewPeriod);
        _requestRevision(runId);
    }

    /// @notice Rejects a run whose revisions are used up, within the review period, posting the bond
    /// by approval or permit (`variantSeed`).
    function reject(uint256 runSeed, uint256 variantSeed) external instrument("reject") {
        (uint256 runId, GhostStore.RunModel memory run) = _findRun(runSeed, M_SUBMITTED, _rejectable);
        if (runId == 0) return;
        _maybeLastSecond(variantSeed >> 8, run.timerStart + run.terms.reviewPeriod);
        _reject(runId, variantSeed % 2 == 1);
    }

    function _requestRevision(uint256 runId) internal {
        GhostStore.RunModel memory run = _run(runId);
        Flow memory f = _flow();
        (bool ok,) = _callExpect(
            "requestRevision",
            run.poster,
            address(escrow),
            abi.encodeCall(IRunEscrow.requestRevision, (runId, URI)),
            ""
        );
        if (!ok) return;
        _checkFlow(f, "requestRevision");
        run.state = IRunEscrow.RunState.REVISION_REQUESTED;
        run.revisionCount += 1;
        run.timerStart = uint64(block.timestamp);
        store.setRun(runId, run);
    }

    function _reject(uint256 runId, bool withPermit) internal {
        GhostStore.RunModel memory run = _run(runId);
        uint256 bond = run.requiredStake;
        bytes memory expected;
        if (usdc.isBlacklisted(run.poster)) {
            expected = abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, run.poster);
        }
        bytes memory data;
        string memory action;
        if (!withPermit) {
            action = "reject";
            _approveExactly(run.poster, bond);
            data = abi.encodeCall(IRunEscrow.reject, (runId, URI));
        } else {
            action = "rejectWithPermit";
            data = abi.encodeCall(
                IRunEscrow.rejectWithPermit, (runId, URI, _permit(run.poster, address(escrow), bond))
            );
        }
        Flow memory f = _flow();
        if (expected.length == 0) _pullFrom(f, run.poster, bond);
        (bool ok,) = _callExpect(action, run.poster, address(escrow), data, expected);
        if (!ok) {
            _approveExactly(run.poster, 0);
            return;
        }
        _checkFlow(f, action);
        run.state = IRunEscrow.RunState.REJECTED;
        run.timerStart = uint64(block.timestamp);
        store.setRun(runId, run);
    }

    /// @notice The poster slashes an agent that missed its claim timeout (ending within the horizon),
    /// as soon as it may (up to a day later), before strangers may.
    function slash(uint256 runSeed, uint256 delaySeed) external instrument("slashByPoster") {
        (uint256 runId, GhostStore.RunModel memory run) = _findRun(runSeed, M_WORKING, _slashDue);
        if (runId == 0) return;
        _warpTo(run.timerStart + run.terms.claimTimeout + 1 + _delay(delaySeed, 1 days));
        _slash(runId, run.poster, "slashByPoster");
    }

    /// @notice The poster adds evidence to a rejection or a dispute.
    function submitEvidence(uint256 runSeed) external instrument("submitEvidence (poster)") {
        uint256 runId = _pickRun(runSeed, M_REJECTED | M_DISPUTED);
        if (runId == 0) return;
        _callExpect(
            "submitEvidence (poster)",
            _run(runId).poster,
            address(escrow),
            abi.encodeCall(IRunEscrow.submitEvidence, (runId, URI)),
            ""
        );
    }

    /*//////////////////////////////////////////////////////////////
                          MUST REVERT: TOO LATE
    //////////////////////////////////////////////////////////////*/

    /// @notice Past the review period the poster can only approve: a revision request or a rejection
    /// must revert with `RunEscrowReviewPeriodOver`.
    function reviewTooLate(uint256 runSeed, uint256 delaySeed) external instrument("reviewTooLate") {
        uint256 runId = _pickRun(runSeed, M_SUBMITTED);
        if (runId == 0) return;
        GhostStore.RunModel memory run = _run(runId);
        uint256 reviewEnd = run.timerStart + run.terms.reviewPeriod;
        uint256 at = reviewEnd + 1 + _delay(delaySeed, 3 days);
        if (at < block.timestamp) at = block.timestamp;
        _peekAt(at);
        bytes memory data = run.revisionCount < run.maxRevisions
            ? abi.encodeCall(IRunEscrow.requestRevision, (runId, URI))
            : abi.encodeCall(IRunEscrow.reject, (runId, URI));
        (bool ok, bytes memory ret) = _call(run.poster, address(escrow), data);
        _mustRevert(
            "reviewTooLate",
            ok,
            ret,
            abi.encodeWithSelector(IRunEscrow.RunEscrowReviewPeriodOver.selector, runId, reviewEnd)
        );
        _restoreClock();
    }

    /*//////////////////////////////////////////////////////////////
                     THE MARKETPLACE SETUP BUILDS
    //////////////////////////////////////////////////////////////*/

    /// @notice Creates (and funds, by approval) a run with the given terms (setUp only).
    function openRun(
        address poster,
        uint256 reward,
        uint256 maxRevisions,
        uint256 requiredStake,
        uint256 deadlineOffset,
        bool funded
    ) external returns (uint256) {
        GhostStore.Terms memory terms = store.currentTerms();
        NewRun memory r = NewRun({
            poster: poster,
            reward: reward,
            fee: reward * terms.feeBps / 10_000,
            deadline: block.timestamp + deadlineOffset,
            maxRevisions: maxRevisions,
            requiredStake: requiredStake,
            version: 0,
            variant: 0,
            funded: funded
        });
        return _create(r);
    }

    function rejectRun(uint256 runId) external {
        _reject(runId, false);
    }

    function approveRun(uint256 runId) external {
        _approve(runId, _run(runId).poster, false, "approve");
    }

    function slashRun(uint256 runId) external {
        _slash(runId, _run(runId).poster, "slashByPoster");
    }

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev Random terms: a quarter of the rewards below 1 USDC (never a completion), two thirds
    /// without revisions, three in sixteen with a required stake above the minimum, one in sixteen below it, and the
    /// terms version 0 (accept), the current one, or a stale or unknown one.
    function _newRun(uint256 posterSeed, uint256 rewardSeed, uint256 shapeSeed, uint256 versionSeed)
        internal
        view
        returns (NewRun memory r)
    {
        GhostStore.Terms memory terms = store.currentTerms();
        r.poster = posterSeed % 24 == 23 ? terms.arbitrator : _poster(posterSeed);
        r.reward =
            rewardSeed % 4 == 0 ? bound(rewardSeed >> 8, 1, 999_999) : bound(rewardSeed >> 8, 1e6, 10_000e6);
        r.fee = r.reward * terms.feeBps / 10_000;
        r.deadline = block.timestamp + bound(shapeSeed, 1 hours, 30 days);
        uint256 revisions = (shapeSeed >> 64) % 6;
        r.maxRevisions = revisions < 4 ? 0 : revisions - 3;
        // Fit the worst-case lock when possible; otherwise createRun must revert.
        uint256 fixedPart = terms.disputeWindow + terms.rulingPeriod;
        uint256 perRound = terms.claimTimeout + terms.reviewPeriod;
        if (fixedPart + perRound <= MAX_LOCK) {
            uint256 fit = (MAX_LOCK - fixedPart) / perRound - 1;
            if (r.maxRevisions > fit) r.maxRevisions = fit;
        }
        uint256 stakeShape = (shapeSeed >> 128) % 16;
        if (stakeShape == 0) r.requiredStake = bound(shapeSeed >> 136, 1, terms.minStake - 1);
        else if (stakeShape < 4) r.requiredStake = bound(shapeSeed >> 136, terms.minStake, 3 * terms.minStake);
        uint256 current = store.termsVersion();
        uint256 versionShape = versionSeed % 10;
        if (versionShape < 5) r.version = 0;
        else if (versionShape < 8) r.version = current;
        else if (versionShape == 8 && current > 1) r.version = 1 + (versionSeed >> 8) % (current - 1);
        else r.version = current + 1;
    }

    /// @dev createRun, or createAndFund by approval, permit or authorization: the model's verdict,
    /// the exact pull, the next run id.
    function _create(NewRun memory r) internal returns (uint256 runId) {
        bytes memory expected = _createError(r);
        if (r.funded && expected.length == 0 && usdc.isBlacklisted(r.poster)) {
            expected = abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, r.poster);
        }
        uint256 amount = r.reward + r.fee;
        bytes memory data;
        string memory action;
        if (!r.funded) {
            action = "createRun";
            data = abi.encodeCall(
                IRunEscrow.createRun, (URI, r.reward, r.deadline, r.maxRevisions, r.requiredStake, r.version)
            );
        } else if (r.variant % 3 == 0) {
            action = "createAndFund";
            _approveExactly(r.poster, amount);
            data = abi.encodeCall(
                IRunEscrow.createAndFund,
                (URI, r.reward, r.deadline, r.maxRevisions, r.requiredStake, r.version)
            );
        } else if (r.variant % 3 == 1) {
            action = "createAndFundWithPermit";
            data = abi.encodeCall(
                IRunEscrow.createAndFundWithPermit,
                (
                    URI,
                    r.reward,
                    r.deadline,
                    r.maxRevisions,
                    r.requiredStake,
                    r.version,
                    _permit(r.poster, address(escrow), amount)
                )
            );
        } else {
            action = "createAndFundWithAuthorization";
            data = abi.encodeCall(
                IRunEscrow.createAndFundWithAuthorization,
                (
                    URI,
                    r.reward,
                    r.deadline,
                    r.maxRevisions,
                    r.requiredStake,
                    r.version,
                    _authorization(r.poster, amount)
                )
            );
        }
        Flow memory f = _flow();
        if (r.funded && expected.length == 0) _pullFrom(f, r.poster, amount);
        (bool ok, bytes memory ret) = _callExpect(action, r.poster, address(escrow), data, expected);
        if (!ok) {
            if (r.funded) _approveExactly(r.poster, 0);
            return 0;
        }
        runId = store.addRun(r.poster, r.reward, r.requiredStake, r.deadline, r.maxRevisions, r.funded);
        _check(abi.decode(ret, (uint256)) == runId, action, "run id");
        _checkFlow(f, action);
    }

    /// @dev The first rule createRun breaks, in the contract's documented order, or "" when none.
    function _createError(NewRun memory r) internal view returns (bytes memory) {
        GhostStore.Terms memory terms = store.currentTerms();
        uint256 current = store.termsVersion();
        if (store.escrowPaused()) return abi.encodeWithSelector(IRunEscrow.RunEscrowPaused.selector);
        if (r.version != 0 && r.version != current) {
            return abi.encodeWithSelector(IRunEscrow.RunEscrowTermsChanged.selector, r.version, current);
        }
        if (r.poster == terms.arbitrator) {
            return abi.encodeWithSelector(IRunEscrow.RunEscrowPosterIsArbitrator.selector, r.poster);
        }
        if (r.requiredStake != 0 && r.requiredStake < terms.minStake) {
            return abi.encodeWithSelector(
                IRunEscrow.RunEscrowStakeBelowMinimum.selector, r.requiredStake, terms.minStake
            );
        }
        uint256 lock = (r.maxRevisions + 1) * (terms.claimTimeout + terms.reviewPeriod) + terms.disputeWindow
            + terms.rulingPeriod;
        if (lock > MAX_LOCK) {
            return abi.encodeWithSelector(IRunEscrow.RunEscrowLockTooLong.selector, lock, MAX_LOCK);
        }
        return "";
    }

    function _approveExactly(address owner, uint256 amount) internal {
        vm.prank(owner);
        usdc.approve(address(escrow), amount);
    }

    function _slashDue(GhostStore.RunModel memory run) internal view returns (bool) {
        return run.timerStart + run.terms.claimTimeout <= block.timestamp + HORIZON;
    }

    function _revisable(GhostStore.RunModel memory run) internal view returns (bool) {
        return
            run.revisionCount < run.maxRevisions && block.timestamp <= run.timerStart + run.terms.reviewPeriod;
    }

    function _rejectable(GhostStore.RunModel memory run) internal view returns (bool) {
        return
            run.revisionCount == run.maxRevisions
                && block.timestamp <= run.timerStart + run.terms.reviewPeriod;
    }
}
