// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "../utils/Test.sol";
import {BlacklistUSDC} from "../mocks/BlacklistUSDC.sol";
import {RunEscrow} from "../../contracts/RunEscrow.sol";
import {StakeVault} from "../../contracts/StakeVault.sol";
import {IRunEscrow} from "../../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../../contracts/interfaces/IStakeVault.sol";

/// @title Handler
/// @notice The only contract the invariant fuzzer calls. Each action picks an existing run or actor by
/// a bounded index, only calls the protocol when the call is valid (warping time when a timeout must
/// pass first), and keeps ghost accounting of every USDC that moves, computed from the run terms the
/// handler itself recorded, so the invariants compare the contracts against an independent model.
/// @dev A valid call that reverts, or a payout that differs from the model, is not swallowed: it is
/// counted in `ghost_unexpectedReverts` / `ghost_payoutMismatches`, which invariants require to stay 0
/// (with `fail_on_revert = false`, a revert inside the handler would otherwise go unnoticed).
/// Time is kept in `currentTime` and re-applied at the start of every action (Sablier's habit), so it
/// only ever moves forward and does not depend on how forge carries the block between calls.
contract Handler is Test {
    /*//////////////////////////////////////////////////////////////
                                CONSTANTS
    //////////////////////////////////////////////////////////////*/

    uint256 internal constant BPS = 10_000;
    uint256 internal constant MAX_REWARD = 100_000e6;
    uint256 internal constant MAX_RUN_REVISIONS = 2;
    string internal constant SPEC = "ipfs://spec";
    string internal constant DELIVERABLE = "ipfs://deliverable";

    // One bit per IRunEscrow.RunState (DRAFT = 0 ... EXPIRED = 9).
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
    /// @notice States whose run holds an agent's claim (and so one of its active claims).
    uint256 public constant M_HELD = M_CLAIMED | M_IN_PROGRESS | M_SUBMITTED | M_REVISION_REQUESTED;
    /// @notice States whose reward + fee sit in the escrow.
    uint256 public constant M_LIVE_FUNDED = M_OPEN | M_HELD;
    /// @notice States that never change again.
    uint256 public constant M_TERMINAL = M_APPROVED | M_REJECTED | M_CANCELLED | M_EXPIRED;
    /// @notice States the agent may be slashed from.
    uint256 internal constant M_SLASHABLE = M_CLAIMED | M_IN_PROGRESS | M_REVISION_REQUESTED;

    /*//////////////////////////////////////////////////////////////
                                 SYSTEM
    //////////////////////////////////////////////////////////////*/

    BlacklistUSDC public immutable usdc;
    StakeVault public immutable vault;
    RunEscrow public immutable escrow;
    address public immutable owner;
    address public immutable treasury;
    address public immutable stranger;

    address[] internal _posters;
    address[] internal _agentWallets;
    uint256[] internal _agentIds;
    /// @dev The accounts that may be blacklisted: one agent, one poster and the treasury.
    address[] internal _blacklistable;

    /// @notice The handler's clock; only moves forward.
    uint256 public currentTime;

    /// @notice Terms of runs created from now on, as the handler set them.
    uint256 public feeBps;
    uint256 public claimTimeout;
    uint256 public reviewPeriod;

    /// @notice The terms a run was created with, recorded by the handler (not read back).
    struct Terms {
        address poster;
        uint256 reward;
        uint256 fee;
        uint256 deadline;
        uint256 maxRevisions;
        uint256 claimTimeout;
        uint256 reviewPeriod;
        bool funded;
    }

    mapping(uint256 runId => Terms) internal _terms;

    /*//////////////////////////////////////////////////////////////
                                 GHOSTS
    //////////////////////////////////////////////////////////////*/

    /// @notice reward + fee pulled from posters into the escrow.
    uint256 public ghost_escrowFunded;
    /// @notice Slashed stake the vault forwarded into the escrow.
    uint256 public ghost_escrowSlashedIn;
    /// @notice USDC that left the escrow: rewards, fees, refunds and forwarded stake paid directly,
    /// plus credits withdrawn.
    uint256 public ghost_escrowPaidOut;
    uint256 public ghost_creditsAdded;
    uint256 public ghost_creditsWithdrawn;

    uint256 public ghost_vaultStaked;
    uint256 public ghost_vaultWithdrawn;
    uint256 public ghost_vaultSlashed;

    /// @notice Payouts (or pulls) that differed from what the handler's model expected.
    uint256 public ghost_payoutMismatches;
    string public ghost_lastMismatch;
    /// @notice Calls the model considered valid that reverted anyway.
    uint256 public ghost_unexpectedReverts;
    string public ghost_lastUnexpected;
    /// @notice Calls on a settled run that succeeded (each should have reverted).
    uint256 public ghost_terminalMutations;

    mapping(uint256 runId => bool) public ghost_isTerminal;
    mapping(uint256 runId => IRunEscrow.RunState) public ghost_terminalState;
    /// @notice Times a run's escrow was paid out (approve, reject, refund, expiry); at most once.
    mapping(uint256 runId => uint256) public ghost_settlements;
    /// @notice Claim episodes of a run: +1 on every claim.
    mapping(uint256 runId => uint256) public ghost_episode;
    /// @notice The claim episode in which the agent was paid / slashed for the run (0: never).
    mapping(uint256 runId => mapping(uint256 agentId => uint256)) public ghost_paidEpisode;
    mapping(uint256 runId => mapping(uint256 agentId => uint256)) public ghost_slashedEpisode;
    /// @notice Reward received by an approved run's agent, as balance increase plus credit increase.
    mapping(uint256 runId => uint256) public ghost_agentReceived;
    /// @notice Agents paid for a run they had been slashed on in an earlier claim of the same run.
    uint256 public ghost_paidAfterEarlierSlash;

    /// @notice Coverage counters.
    mapping(string action => uint256) public calls;
    mapping(IRunEscrow.RunState state => uint256) public ghost_reached;
    uint256 public ghost_slashesToOpen;
    uint256 public ghost_slashesToExpired;
    uint256 public ghost_strangerSlashes;
    uint256 public ghost_revisions;
    uint256 public ghost_creditEvents;
    uint256 public ghost_creditWithdrawals;
    uint256 public ghost_unstakeRequests;
    uint256 public ghost_stakeWithdrawals;
    uint256 public ghost_bans;

    /*//////////////////////////////////////////////////////////////
                               CONSTRUCTOR
    //////////////////////////////////////////////////////////////*/

    constructor(
        BlacklistUSDC usdc_,
        StakeVault vault_,
        RunEscrow escrow_,
        address owner_,
        address treasury_,
        address stranger_,
        address[] memory posters_,
        address[] memory agentWallets_,
        address[] memory blacklistable_
    ) {
        usdc = usdc_;
        vault = vault_;
        escrow = escrow_;
        owner = owner_;
        treasury = treasury_;
        stranger = stranger_;
        _posters = posters_;
        _agentWallets = agentWallets_;
        _blacklistable = blacklistable_;
        for (uint256 i; i < agentWallets_.length; ++i) {
            uint256 agentId = vault_.agentIdOf(agentWallets_[i]);
            require(agentId != 0);
            _agentIds.push(agentId);
        }
        currentTime = block.timestamp;
        // Stake deposited in setUp, before the handler existed.
        ghost_vaultStaked = usdc_.balanceOf(address(vault_));
        ghost_escrowFunded = usdc_.balanceOf(address(escrow_));
        (, uint16 fee, uint32 timeout, uint32 review) = escrow_.parameters();
        feeBps = fee;
        claimTimeout = timeout;
        reviewPeriod = review;
    }

    /*//////////////////////////////////////////////////////////////
                                MODIFIERS
    //////////////////////////////////////////////////////////////*/

    modifier instrument(string memory action) {
        vm.warp(currentTime);
        calls[action]++;
        _;
    }

    /*//////////////////////////////////////////////////////////////
                              POSTER ACTIONS
    //////////////////////////////////////////////////////////////*/

    function createRun(uint256 posterSeed, uint256 reward, uint256 deadlineOffset, uint256 maxRevisions)
        external
        instrument("createRun")
    {
        address poster = _posters[posterSeed % _posters.length];
        Terms memory terms = _newTerms(poster, reward, deadlineOffset, maxRevisions);
        uint256 escrowBefore = _escrowBalance();
        vm.prank(poster);
        try escrow.createRun(SPEC, terms.reward, terms.deadline, terms.maxRevisions) returns (uint256 runId) {
            _terms[runId] = terms;
            _expect(_escrowBalance() == escrowBefore, "createRun moved USDC");
        } catch {
            _unexpected("createRun");
        }
    }

    function createAndFund(uint256 posterSeed, uint256 reward, uint256 deadlineOffset, uint256 maxRevisions)
        external
        instrument("createAndFund")
    {
        address poster = _posters[posterSeed % _posters.length];
        if (usdc.isBlacklisted(poster)) return;
        Terms memory terms = _newTerms(poster, reward, deadlineOffset, maxRevisions);
        terms.funded = true;
        uint256 amount = terms.reward + terms.fee;
        uint256 posterBefore = usdc.balanceOf(poster);
        uint256 escrowBefore = _escrowBalance();
        vm.prank(poster);
        try escrow.createAndFund(SPEC, terms.reward, terms.deadline, terms.maxRevisions) returns (
            uint256 runId
        ) {
            _terms[runId] = terms;
            ghost_escrowFunded += amount;
            _expect(posterBefore - usdc.balanceOf(poster) == amount, "createAndFund pulled wrong amount");
            _expect(_escrowBalance() - escrowBefore == amount, "createAndFund escrowed wrong amount");
        } catch {
            _unexpected("createAndFund");
        }
    }

    function fund(uint256 runSeed) external instrument("fund") {
        (bool found, uint256 runId) = _findRun(runSeed, M_DRAFT, _fundable);
        if (!found) return;
        Terms storage terms = _terms[runId];
        uint256 amount = terms.reward + terms.fee;
        uint256 posterBefore = usdc.balanceOf(terms.poster);
        uint256 escrowBefore = _escrowBalance();
        vm.prank(terms.poster);
        try escrow.fund(runId) {
            terms.funded = true;
            ghost_escrowFunded += amount;
            _expect(posterBefore - usdc.balanceOf(terms.poster) == amount, "fund pulled wrong amount");
            _expect(_escrowBalance() - escrowBefore == amount, "fund escrowed wrong amount");
        } catch {
            _unexpected("fund");
        }
        _afterRun(runId);
    }

    function cancel(uint256 runSeed) external instrument("cancel") {
        (bool found, uint256 runId) = _findRun(runSeed, M_DRAFT | M_OPEN, _any);
        if (!found) return;
        Terms storage terms = _terms[runId];
        bool open = escrow.getRun(runId).state == IRunEscrow.RunState.OPEN;
        uint256 refund = open ? terms.reward + terms.fee : 0;
        Snapshot memory snap = _snap(terms.poster, address(0));
        vm.prank(terms.poster);
        try escrow.cancel(runId) {
            _settled(runId);
            _expect(_receivedBy(snap, terms.poster) == refund, "cancel refund");
        } catch {
            _unexpected("cancel");
        }
        _afterRun(runId);
    }

    function requestRevision(uint256 runSeed) external instrument("requestRevision") {
        (bool found, uint256 runId) = _findRun(runSeed, M_SUBMITTED, _revisable);
        if (!found) return;
        uint256 escrowBefore = _escrowBalance();
        vm.prank(_terms[runId].poster);
        try escrow.requestRevision(runId, "more") {
            ghost_revisions++;
            _expect(_escrowBalance() == escrowBefore, "requestRevision moved USDC");
        } catch {
            _unexpected("requestRevision");
        }
        _afterRun(runId);
    }

    function reject(uint256 runSeed) external instrument("reject") {
        (bool found, uint256 runId) = _findRun(runSeed, M_SUBMITTED, _exhausted);
        if (!found) return;
        Terms storage terms = _terms[runId];
        uint256 refund = terms.reward + terms.fee;
        Snapshot memory snap = _snap(terms.poster, address(0));
        vm.prank(terms.poster);
        try escrow.reject(runId) {
            _settled(runId);
            _expect(_receivedBy(snap, terms.poster) == refund, "reject refund");
        } catch {
            _unexpected("reject");
        }
        _afterRun(runId);
    }

    function approve(uint256 runSeed) external instrument("approve") {
        (bool found, uint256 runId) = _findRun(runSeed, M_SUBMITTED, _any);
        if (!found) return;
        _approveAs(runId, _terms[runId].poster, false);
    }

    /*//////////////////////////////////////////////////////////////
                              AGENT ACTIONS
    //////////////////////////////////////////////////////////////*/

    function claim(uint256 runSeed, uint256 agentSeed) external instrument("claim") {
        uint256 count = escrow.runCount();
        for (uint256 i; i < count; ++i) {
            uint256 runId = (runSeed % count + i) % count + 1;
            if (!_inMask(runId, M_OPEN) || currentTime > _terms[runId].deadline) continue;
            uint256 first = _focusedAgent(agentSeed);
            for (uint256 j; j < _agentIds.length; ++j) {
                uint256 k = (first + j) % _agentIds.length;
                (bool eligible,) = escrow.canClaim(runId, _agentIds[k]);
                if (!eligible) continue;
                _claim(runId, k);
                return;
            }
        }
    }

    function start(uint256 runSeed) external instrument("start") {
        (bool found, uint256 runId) = _findRun(runSeed, M_CLAIMED, _any);
        if (!found) return;
        vm.prank(_agentWalletOf(runId));
        try escrow.start(runId) {}
        catch {
            _unexpected("start");
        }
        _afterRun(runId);
    }

    function submit(uint256 runSeed) external instrument("submit") {
        (bool found, uint256 runId) =
            _findRun(runSeed, M_CLAIMED | M_IN_PROGRESS | M_REVISION_REQUESTED, _any);
        if (!found) return;
        uint256 escrowBefore = _escrowBalance();
        vm.prank(_agentWalletOf(runId));
        try escrow.submit(runId, DELIVERABLE) {
            _expect(_escrowBalance() == escrowBefore, "submit moved USDC");
        } catch {
            _unexpected("submit");
        }
        _afterRun(runId);
    }

    /// @dev An odd `amount` tops a frozen agent up to the minimum, so slashed agents come back and can
    /// collect the strikes of a ban; an even one may leave it frozen.
    function stake(uint256 agentSeed, uint256 amount) external instrument("stake") {
        uint256 k = _focusedAgent(agentSeed);
        address wallet = _agentWallets[k];
        if (usdc.isBlacklisted(wallet)) return;
        IStakeVault.Agent memory agent = vault.getAgent(_agentIds[k]);
        if (agent.status == IStakeVault.AgentStatus.BANNED) return;
        bool topUp = amount % 2 == 1 && agent.frozen && agent.stake < _minStake();
        amount = topUp ? _minStake() - agent.stake : bound(amount, 1, 2 * _minStake());
        uint256 walletBefore = usdc.balanceOf(wallet);
        uint256 vaultBefore = _vaultBalance();
        vm.prank(wallet);
        try vault.stake(amount) {
            ghost_vaultStaked += amount;
            _expect(walletBefore - usdc.balanceOf(wallet) == amount, "stake pulled wrong amount");
            _expect(_vaultBalance() - vaultBefore == amount, "stake deposited wrong amount");
        } catch {
            _unexpected("stake");
        }
    }

    function requestUnstake(uint256 agentSeed, uint256 amount) external instrument("requestUnstake") {
        uint256 k = agentSeed % _agentIds.length;
        IStakeVault.Agent memory agent = vault.getAgent(_agentIds[k]);
        if (agent.activeClaims != 0 || agent.stake == 0) return;
        amount = bound(amount, 1, agent.stake);
        uint256 vaultBefore = _vaultBalance();
        vm.prank(_agentWallets[k]);
        try vault.requestUnstake(amount) {
            ghost_unstakeRequests++;
            _expect(_vaultBalance() == vaultBefore, "requestUnstake moved USDC");
        } catch {
            _unexpected("requestUnstake");
        }
    }

    /// @dev Warps to the end of the cooldown when it has not passed yet.
    function withdrawStake(uint256 agentSeed) external instrument("withdrawStake") {
        uint256 k = agentSeed % _agentIds.length;
        address wallet = _agentWallets[k];
        IStakeVault.Agent memory agent = vault.getAgent(_agentIds[k]);
        if (agent.activeClaims != 0 || agent.pendingUnstake == 0 || usdc.isBlacklisted(wallet)) return;
        _warpTo(agent.unstakeReadyAt);
        uint256 walletBefore = usdc.balanceOf(wallet);
        uint256 vaultBefore = _vaultBalance();
        vm.prank(wallet);
        try vault.withdrawStake() returns (uint256 amount) {
            ghost_stakeWithdrawals++;
            ghost_vaultWithdrawn += usdc.balanceOf(wallet) - walletBefore;
            _expect(amount == agent.pendingUnstake, "withdrawStake returned wrong amount");
            _expect(
                usdc.balanceOf(wallet) - walletBefore == agent.pendingUnstake,
                "withdrawStake paid wrong amount"
            );
            _expect(vaultBefore - _vaultBalance() == agent.pendingUnstake, "withdrawStake vault outflow");
        } catch {
            _unexpected("withdrawStake");
        }
    }

    /*//////////////////////////////////////////////////////////////
                              ANYONE ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @dev The poster or (after the further review period, odd `callerSeed`) a stranger slashes,
    /// warping past the timeout plus `extra` seconds, which may also carry the run past its deadline.
    function slash(uint256 runSeed, uint256 callerSeed, uint256 extra) external instrument("slash") {
        bool byStranger = callerSeed % 2 == 1;
        (bool found, uint256 runId) = _findRun(runSeed, M_SLASHABLE, _any);
        if (!found) return;
        Terms storage terms = _terms[runId];
        IRunEscrow.Run memory run = escrow.getRun(runId);
        uint256 slashableAfter = run.timerStart + terms.claimTimeout + (byStranger ? terms.reviewPeriod : 0);
        _warpTo(slashableAfter + 1 + bound(extra, 0, 3 days));

        IStakeVault.Agent memory agent = vault.getAgent(run.agentId);
        uint256 slashed = _min(_minStake(), agent.stake + agent.pendingUnstake);
        bool expires = currentTime > terms.deadline;
        uint256 refund = expires ? terms.reward + terms.fee : 0;
        Snapshot memory snap = _snap(terms.poster, address(0));
        uint256 vaultBefore = _vaultBalance();

        vm.prank(byStranger ? stranger : terms.poster);
        try escrow.slash(runId) {
            ghost_vaultSlashed += slashed;
            ghost_escrowSlashedIn += slashed;
            ghost_slashedEpisode[runId][run.agentId] = ghost_episode[runId];
            if (byStranger) ghost_strangerSlashes++;
            if (expires) {
                ghost_slashesToExpired++;
                _settled(runId);
            } else {
                ghost_slashesToOpen++;
            }
            if (
                agent.status != IStakeVault.AgentStatus.BANNED
                    && vault.statusOf(run.agentId) == IStakeVault.AgentStatus.BANNED
            ) {
                ghost_bans++;
            }
            _expect(vaultBefore - _vaultBalance() == slashed, "slash took wrong stake");
            _expect(_receivedBy(snap, terms.poster) == slashed + refund, "slash paid poster wrong amount");
            _expect(_inMask(runId, expires ? M_EXPIRED : M_OPEN), "slash left wrong state");
        } catch {
            _unexpected("slash");
        }
        _afterRun(runId);
    }

    function approveOnTimeout(uint256 runSeed, uint256 extra) external instrument("approveOnTimeout") {
        (bool found, uint256 runId) = _findRun(runSeed, M_SUBMITTED, _any);
        if (!found) return;
        _warpTo(escrow.getRun(runId).timerStart + _terms[runId].reviewPeriod + 1 + bound(extra, 0, 1 days));
        _approveAs(runId, stranger, true);
    }

    function expire(uint256 runSeed, uint256 extra) external instrument("expire") {
        (bool found, uint256 runId) = _findRun(runSeed, M_OPEN, _nearDeadline);
        if (!found) return;
        Terms storage terms = _terms[runId];
        _warpTo(terms.deadline + 1 + bound(extra, 0, 1 days));
        uint256 refund = terms.reward + terms.fee;
        Snapshot memory snap = _snap(terms.poster, address(0));
        vm.prank(stranger);
        try escrow.expire(runId) {
            _settled(runId);
            _expect(_receivedBy(snap, terms.poster) == refund, "expire refund");
        } catch {
            _unexpected("expire");
        }
        _afterRun(runId);
    }

    function withdrawCredit(uint256 accountSeed) external instrument("withdrawCredit") {
        address[] memory accounts = allAccounts();
        for (uint256 i; i < accounts.length; ++i) {
            address account = accounts[(accountSeed % accounts.length + i) % accounts.length];
            uint256 credit = escrow.creditOf(account);
            if (credit == 0 || usdc.isBlacklisted(account)) continue;
            uint256 before = usdc.balanceOf(account);
            vm.prank(account);
            try escrow.withdrawCredit() returns (uint256 amount) {
                uint256 received = usdc.balanceOf(account) - before;
                ghost_escrowPaidOut += received;
                ghost_creditsWithdrawn += received;
                ghost_creditWithdrawals++;
                _expect(amount == credit && received == credit, "withdrawCredit amount");
                _expect(escrow.creditOf(account) == 0, "withdrawCredit left credit");
            } catch {
                _unexpected("withdrawCredit");
            }
            return;
        }
    }

    /// @notice Moves the clock forward by up to 3 days.
    function warp(uint256 seconds_) external instrument("warp") {
        _warpTo(currentTime + bound(seconds_, 1, 3 days));
    }

    /*//////////////////////////////////////////////////////////////
                          OWNER AND TOKEN ACTIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice The owner changes the terms of future runs; live runs must keep theirs.
    function setParameters(uint256 newFeeBps, uint256 newClaimTimeout, uint256 newReviewPeriod)
        external
        instrument("setParameters")
    {
        newFeeBps = bound(newFeeBps, 0, escrow.MAX_FEE_BPS());
        // The claim timeout may not exceed the vault's unstake cooldown.
        newClaimTimeout = bound(newClaimTimeout, 1 hours, vault.parameters().unstakeCooldown);
        newReviewPeriod = bound(newReviewPeriod, 1 hours, 14 days);
        vm.prank(owner);
        try escrow.setParameters(newFeeBps, newClaimTimeout, newReviewPeriod) {
            feeBps = newFeeBps;
            claimTimeout = newClaimTimeout;
            reviewPeriod = newReviewPeriod;
        } catch {
            _unexpected("setParameters");
        }
    }

    /// @notice Blacklists (or lifts the blacklist of) one of the fixed blacklistable accounts, so that
    /// payouts to it become credits.
    function toggleBlacklist(uint256 accountSeed) external instrument("toggleBlacklist") {
        address account = _blacklistable[accountSeed % _blacklistable.length];
        bool blacklisted = usdc.isBlacklisted(account);
        vm.prank(owner);
        if (blacklisted) usdc.unBlacklist(account);
        else usdc.blacklist(account);
    }

    /// @notice Tries a state-changing call on a settled run; every one of them must revert.
    function pokeSettled(uint256 runSeed, uint256 actionSeed) external instrument("pokeSettled") {
        (bool found, uint256 runId) = _findRun(runSeed, M_TERMINAL, _any);
        if (!found) return;
        Terms storage terms = _terms[runId];
        uint256 agentId = escrow.getRun(runId).agentId;
        address agentWallet = vault.walletOf(agentId);
        // Far past every timeout and the deadline of this run, without moving the handler's clock.
        vm.warp(currentTime + 365 days);
        uint256 action = actionSeed % 10;
        bytes memory data;
        address caller = terms.poster;
        if (action == 0) {
            data = abi.encodeCall(IRunEscrow.fund, (runId));
        } else if (action == 1) {
            data = abi.encodeCall(IRunEscrow.cancel, (runId));
        } else if (action == 2) {
            data = abi.encodeCall(IRunEscrow.approve, (runId));
        } else if (action == 3) {
            data = abi.encodeCall(IRunEscrow.reject, (runId));
        } else if (action == 4) {
            data = abi.encodeCall(IRunEscrow.requestRevision, (runId, "more"));
        } else if (action == 5) {
            data = abi.encodeCall(IRunEscrow.slash, (runId));
        } else if (action == 6) {
            data = abi.encodeCall(IRunEscrow.approveOnTimeout, (runId));
        } else if (action == 7) {
            data = abi.encodeCall(IRunEscrow.expire, (runId));
        } else if (action == 8) {
            (caller, data) = (agentWallet, abi.encodeCall(IRunEscrow.submit, (runId, DELIVERABLE)));
        } else {
            (caller, data) =
            (
                _agentWallets[actionSeed % _agentWallets.length],
                abi.encodeCall(IRunEscrow.claim, (runId, _agentIds[actionSeed % _agentIds.length]))
            );
        }
        if (caller == address(0)) caller = stranger;
        vm.prank(caller);
        (bool success,) = address(escrow).call(data);
        if (success) ghost_terminalMutations++;
        vm.warp(currentTime);
        _afterRun(runId);
    }

    /*//////////////////////////////////////////////////////////////
                                  VIEWS
    //////////////////////////////////////////////////////////////*/

    /// @notice The terms the handler recorded for `runId` at creation.
    function termsOf(uint256 runId) external view returns (Terms memory) {
        return _terms[runId];
    }

    function posters() external view returns (address[] memory) {
        return _posters;
    }

    function agentWallets() external view returns (address[] memory) {
        return _agentWallets;
    }

    function agentIds() external view returns (uint256[] memory) {
        return _agentIds;
    }

    /// @notice Every account the escrow can owe a credit to: posters, agents and the treasury.
    function allAccounts() public view returns (address[] memory accounts) {
        accounts = new address[](_posters.length + _agentWallets.length + 1);
        uint256 n;
        for (uint256 i; i < _posters.length; ++i) {
            accounts[n++] = _posters[i];
        }
        for (uint256 i; i < _agentWallets.length; ++i) {
            accounts[n++] = _agentWallets[i];
        }
        accounts[n] = treasury;
    }

    /// @notice Coverage counters of this sequence, in the order of {coverageLabels}.
    function coverage() external view returns (uint256[] memory c) {
        c = new uint256[](14);
        c[0] = escrow.runCount();
        c[1] = ghost_reached[IRunEscrow.RunState.APPROVED];
        c[2] = ghost_reached[IRunEscrow.RunState.REJECTED];
        c[3] = ghost_reached[IRunEscrow.RunState.CANCELLED];
        c[4] = ghost_reached[IRunEscrow.RunState.EXPIRED];
        c[5] = ghost_slashesToOpen;
        c[6] = ghost_slashesToExpired;
        c[7] = ghost_strangerSlashes;
        c[8] = ghost_revisions;
        c[9] = ghost_bans;
        c[10] = ghost_creditEvents;
        c[11] = ghost_creditWithdrawals;
        c[12] = ghost_unstakeRequests;
        c[13] = ghost_stakeWithdrawals;
    }

    function coverageLabels() external pure returns (string[14] memory) {
        return [
            "runs created",
            "APPROVED",
            "REJECTED",
            "CANCELLED",
            "EXPIRED",
            "slashes to OPEN",
            "slashes to EXPIRED",
            "slashes by a stranger",
            "revisions",
            "bans",
            "credits added",
            "credits withdrawn",
            "unstake requests",
            "stake withdrawals"
        ];
    }

    /// @notice The action selectors the fuzzer may call, each repeated by its weight: forge picks
    /// uniformly among the entries, and the steps towards the deep states (claim, submit, the
    /// poster's decisions) need more calls than the setup actions to be reached in 64 calls.
    function selectors() external pure returns (bytes4[] memory s) {
        bytes4[21] memory actions = [
            this.createRun.selector,
            this.createAndFund.selector,
            this.fund.selector,
            this.cancel.selector,
            this.claim.selector,
            this.start.selector,
            this.submit.selector,
            this.requestRevision.selector,
            this.reject.selector,
            this.approve.selector,
            this.slash.selector,
            this.approveOnTimeout.selector,
            this.expire.selector,
            this.stake.selector,
            this.requestUnstake.selector,
            this.withdrawStake.selector,
            this.withdrawCredit.selector,
            this.warp.selector,
            this.setParameters.selector,
            this.toggleBlacklist.selector,
            this.pokeSettled.selector
        ];
        uint8[21] memory weights = [1, 3, 1, 1, 5, 1, 3, 2, 2, 2, 4, 1, 1, 2, 1, 1, 2, 1, 1, 3, 1];
        uint256 total;
        for (uint256 i; i < weights.length; ++i) {
            total += weights[i];
        }
        s = new bytes4[](total);
        uint256 n;
        for (uint256 i; i < actions.length; ++i) {
            for (uint256 w; w < weights[i]; ++w) {
                s[n++] = actions[i];
            }
        }
    }

    /*//////////////////////////////////////////////////////////////
                                 HELPERS
    //////////////////////////////////////////////////////////////*/

    /// @dev Balances and credits of up to two recipients, and the escrow balance, before a payout.
    struct Snapshot {
        uint256 balanceA;
        uint256 creditA;
        uint256 balanceB;
        uint256 creditB;
        uint256 escrow;
    }

    function _snap(address a, address b) internal view returns (Snapshot memory s) {
        s.balanceA = usdc.balanceOf(a);
        s.creditA = escrow.creditOf(a);
        if (b != address(0)) {
            s.balanceB = usdc.balanceOf(b);
            s.creditB = escrow.creditOf(b);
        }
        s.escrow = _escrowBalance();
    }

    /// @dev What `a` (the snapshot's first account) received since the snapshot, directly or as credit,
    /// recording both in the ghost flows.
    function _receivedBy(Snapshot memory s, address a) internal returns (uint256) {
        return _account(usdc.balanceOf(a) - s.balanceA, escrow.creditOf(a) - s.creditA);
    }

    function _receivedBySecond(Snapshot memory s, address b) internal returns (uint256) {
        return _account(usdc.balanceOf(b) - s.balanceB, escrow.creditOf(b) - s.creditB);
    }

    function _account(uint256 direct, uint256 credit) internal returns (uint256) {
        ghost_escrowPaidOut += direct;
        ghost_creditsAdded += credit;
        if (credit != 0) ghost_creditEvents++;
        return direct + credit;
    }

    function _approveAs(uint256 runId, address caller, bool onTimeout) internal {
        Terms storage terms = _terms[runId];
        uint256 agentId = escrow.getRun(runId).agentId;
        address wallet = vault.walletOf(agentId);
        Snapshot memory snap = _snap(wallet, treasury);
        uint32 completionsBefore = vault.getAgent(agentId).completions;
        vm.prank(caller);
        (bool success,) = address(escrow)
            .call(
                onTimeout
                    ? abi.encodeCall(IRunEscrow.approveOnTimeout, (runId))
                    : abi.encodeCall(IRunEscrow.approve, (runId))
            );
        if (success) {
            uint256 episode = ghost_episode[runId];
            if (ghost_slashedEpisode[runId][agentId] != 0) ghost_paidAfterEarlierSlash++;
            ghost_paidEpisode[runId][agentId] = episode;
            uint256 received = _receivedBy(snap, wallet);
            ghost_agentReceived[runId] = received;
            _settled(runId);
            _expect(received == terms.reward, "approve: agent reward");
            _expect(_receivedBySecond(snap, treasury) == terms.fee, "approve: treasury fee");
            _expect(vault.getAgent(agentId).completions == completionsBefore + 1, "approve: completion");
        } else {
            _unexpected(onTimeout ? "approveOnTimeout" : "approve");
        }
        _afterRun(runId);
    }

    function _claim(uint256 runId, uint256 k) internal {
        uint256 escrowBefore = _escrowBalance();
        uint256 activeBefore = vault.getAgent(_agentIds[k]).activeClaims;
        vm.prank(_agentWallets[k]);
        try escrow.claim(runId, _agentIds[k]) {
            ghost_episode[runId]++;
            _expect(_escrowBalance() == escrowBefore, "claim moved USDC");
            _expect(vault.getAgent(_agentIds[k]).activeClaims == activeBefore + 1, "claim: active claims");
        } catch {
            _unexpected("claim");
        }
        _afterRun(runId);
    }

    /// @dev Half of the agent picks land on agent 0, so that one agent collects enough strikes to be
    /// banned within a sequence; the other half spread over all agents.
    function _focusedAgent(uint256 seed) internal view returns (uint256) {
        uint256 n = _agentIds.length;
        uint256 pick = seed % (2 * n);
        return pick < n ? 0 : pick - n;
    }

    function _newTerms(address poster, uint256 reward, uint256 deadlineOffset, uint256 maxRevisions)
        internal
        view
        returns (Terms memory terms)
    {
        terms.poster = poster;
        terms.reward = bound(reward, 1, MAX_REWARD);
        terms.fee = terms.reward * feeBps / BPS;
        terms.deadline = currentTime + bound(deadlineOffset, 1 hours, 30 days);
        terms.maxRevisions = bound(maxRevisions, 0, MAX_RUN_REVISIONS);
        terms.claimTimeout = claimTimeout;
        terms.reviewPeriod = reviewPeriod;
    }

    /// @dev Records that `runId`'s escrow was paid out.
    function _settled(uint256 runId) internal {
        ghost_settlements[runId]++;
    }

    /// @dev Records the first terminal state the run reaches.
    function _afterRun(uint256 runId) internal {
        if (ghost_isTerminal[runId]) return;
        IRunEscrow.RunState state = escrow.getRun(runId).state;
        if ((1 << uint256(state)) & M_TERMINAL != 0) {
            ghost_isTerminal[runId] = true;
            ghost_terminalState[runId] = state;
            ghost_reached[state]++;
        }
    }

    /// @dev The first run from `seed` (wrapping) whose state is in `mask` and that passes `filter`.
    function _findRun(
        uint256 seed,
        uint256 mask,
        function(uint256, IRunEscrow.Run memory) internal view returns (bool) filter
    ) internal view returns (bool found, uint256 runId) {
        uint256 count = escrow.runCount();
        for (uint256 i; i < count; ++i) {
            runId = (seed % count + i) % count + 1;
            IRunEscrow.Run memory run = escrow.getRun(runId);
            if ((1 << uint256(run.state)) & mask != 0 && filter(runId, run)) return (true, runId);
        }
        return (false, 0);
    }

    function _any(uint256, IRunEscrow.Run memory) internal pure returns (bool) {
        return true;
    }

    function _fundable(uint256 runId, IRunEscrow.Run memory) internal view returns (bool) {
        Terms storage terms = _terms[runId];
        return currentTime <= terms.deadline && !usdc.isBlacklisted(terms.poster);
    }

    /// @dev Expiring a run far from its deadline would jump the clock past every other open run.
    function _nearDeadline(uint256 runId, IRunEscrow.Run memory) internal view returns (bool) {
        return _terms[runId].deadline <= currentTime + 3 days;
    }

    function _revisable(uint256, IRunEscrow.Run memory run) internal pure returns (bool) {
        return run.revisionCount < run.maxRevisions;
    }

    function _exhausted(uint256, IRunEscrow.Run memory run) internal pure returns (bool) {
        return run.revisionCount == run.maxRevisions;
    }

    function _inMask(uint256 runId, uint256 mask) internal view returns (bool) {
        return (1 << uint256(escrow.getRun(runId).state)) & mask != 0;
    }

    function _agentWalletOf(uint256 runId) internal view returns (address) {
        return vault.walletOf(escrow.getRun(runId).agentId);
    }

    function _warpTo(uint256 time) internal {
        if (time > currentTime) {
            currentTime = time;
            vm.warp(time);
        }
    }

    function _minStake() internal view returns (uint256) {
        return vault.parameters().minStake;
    }

    function _escrowBalance() internal view returns (uint256) {
        return usdc.balanceOf(address(escrow));
    }

    function _vaultBalance() internal view returns (uint256) {
        return usdc.balanceOf(address(vault));
    }

    function _min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }

    function _expect(bool ok, string memory what) internal {
        if (!ok) {
            ghost_payoutMismatches++;
            ghost_lastMismatch = what;
        }
    }

    function _unexpected(string memory what) internal {
        ghost_unexpectedReverts++;
        ghost_lastUnexpected = what;
    }
}
