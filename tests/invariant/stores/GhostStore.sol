// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IRunEscrow} from "../../../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../../../contracts/interfaces/IStakeVault.sol";
import {ClaimReasons} from "../../../contracts/libraries/ClaimReasons.sol";

/// @title GhostStore
/// @notice The invariant suite's independent model of the marketplace, shared by every handler: the
/// parameters the owner set, each run's terms as recorded at its creation and its state as the SPEC
/// says it must be, each agent's stake, reservations, reputation and ladder facts as IStakeVault's
/// NatSpec says they evolve, the credits and fees the escrow owes, ghost sums of every USDC flow, and
/// the counters that keep `fail_on_revert = false` honest (unexpected reverts, payout mismatches,
/// negative actions that did not revert, handler reverts).
/// @dev Handlers write here only after the protocol call they model succeeded (or reverted as the
/// model said it must); the invariants compare this model with what the contracts report. Nothing
/// here reads the contracts under test: the model is derived from the calls alone.
contract GhostStore {
    /*//////////////////////////////////////////////////////////////
                                 TYPES
    //////////////////////////////////////////////////////////////*/

    /// @notice The vault parameters as the owner set them.
    struct VaultParams {
        uint256 minStake;
        uint256 cooldown;
        uint256 strikesToBan;
        uint256 establishedCompletions;
        uint256 establishedAge;
    }

    /// @notice The escrow terms of a version, as the owner (and the vault's minimum stake) set them.
    /// @dev The model's structs are packed (two, five and three slots) only to keep each handler call
    /// cheap; every value the campaign produces fits with room to spare, and an overflow would revert
    /// the handler, which is counted.
    struct Terms {
        uint16 feeBps;
        uint32 claimTimeout;
        uint32 reviewPeriod;
        uint32 disputeWindow;
        uint32 rulingPeriod;
        address arbitrator;
        uint64 minStake;
    }

    /// @notice One run: the terms recorded when the handler created it, and its modelled state.
    struct RunModel {
        address poster;
        uint64 deadline;
        uint8 maxRevisions;
        uint8 revisionCount;
        IRunEscrow.RunState state;
        bool settled;
        uint64 reward;
        uint64 fee;
        uint64 requiredStake;
        uint32 termsVersion;
        uint32 agentId;
        uint64 timerStart;
        bool funded;
        /// @dev The arbitrator's coin flip for this run's dispute: it never rules when true.
        bool silentArbitrator;
        /// @dev Times the run's money was paid out; must be 1 once settled, 0 before.
        uint8 settlements;
        Terms terms;
    }

    /// @notice One agent as IStakeVault's NatSpec says it evolves.
    struct AgentModel {
        address wallet;
        uint64 stake;
        bool frozen;
        bool banned;
        uint64 reserved;
        uint64 pending;
        uint64 unstakeReadyAt;
        uint64 stakedSince;
        uint32 claims;
        uint32 completions;
        uint16 strikes;
        uint16 rejections;
        uint16 disputesWon;
        uint16 disputesLost;
        uint128 volume;
    }

    /// @notice What a settlement pays, by the model.
    struct Payout {
        uint256 toAgent;
        uint256 toPoster;
        uint256 toFees;
        uint256 forfeit;
        /// @dev What the agent earned (its share of the reward, without a bond): its volume grows by it.
        uint256 earned;
    }

    /*//////////////////////////////////////////////////////////////
                               CONSTANTS
    //////////////////////////////////////////////////////////////*/

    uint256 internal constant BPS = 10_000;
    /// @notice IStakeVault.MIN_COMPLETION_REWARD: smaller rewards never count as a completion.
    uint256 public constant MIN_COMPLETION_REWARD = 1e6;
    /// @notice Bit of a REJECTED run whose rejection is final (the state bits are 1 << RunState).
    uint256 public constant REJECTED_SETTLED_BIT = 1 << 12;

    /*//////////////////////////////////////////////////////////////
                              THE ACTORS
    //////////////////////////////////////////////////////////////*/

    address public owner;
    address public stranger;
    address[] internal _posters;
    address[] internal _agentWallets;
    address[] internal _treasuries;
    address[] internal _arbitrators;
    address[] internal _blacklistable;
    mapping(address account => uint256 key) public keyOf;

    /*//////////////////////////////////////////////////////////////
                            CLOCK AND PARAMETERS
    //////////////////////////////////////////////////////////////*/

    /// @notice The handlers' clock: only moves forward; every action starts by warping to it.
    uint256 public currentTime;

    VaultParams internal _vaultParams;
    /// @notice The current terms version of the escrow and every version's terms.
    uint256 public termsVersion;
    mapping(uint256 version => Terms) internal _terms;
    bool public escrowPaused;
    bool public vaultPaused;
    address public treasury;

    /*//////////////////////////////////////////////////////////////
                              RUNS, AGENTS
    //////////////////////////////////////////////////////////////*/

    uint256 public runCount;
    mapping(uint256 runId => RunModel) internal _runs;
    uint256 public agentCount;
    mapping(uint256 agentId => AgentModel) internal _agents;
    mapping(address wallet => uint256 agentId) public agentIdOf;
    mapping(uint256 runId => mapping(uint256 agentId => bool)) public slashedOn;
    mapping(uint256 runId => mapping(uint256 agentId => bool)) public paidOn;
    /// @notice Pairs (run, agent) both slashed and paid: must stay 0.
    uint256 public slashedAndPaid;

    /*//////////////////////////////////////////////////////////////
                           MONEY THE ESCROW OWES
    //////////////////////////////////////////////////////////////*/

    mapping(address account => uint256 amount) public credits;
    uint256 public creditsTotal;
    uint256 public accruedFees;

    /// @notice Ghost flows: every USDC into and out of each contract, as the model expected it.
    uint256 public escrowIn;
    uint256 public escrowOut;
    uint256 public vaultIn;
    uint256 public vaultOut;

    /*//////////////////////////////////////////////////////////////
                        COUNTERS THAT MUST STAY ZERO
    //////////////////////////////////////////////////////////////*/

    /// @notice Calls the model said must succeed that reverted.
    uint256 public unexpectedReverts;
    string public lastUnexpected;
    /// @notice Payouts, pulls and state changes that differed from the model.
    uint256 public mismatches;
    string public lastMismatch;
    /// @notice Calls the model said must revert that succeeded.
    uint256 public violations;
    string public lastViolation;
    /// @notice Calls the model said must revert that reverted with another error.
    uint256 public wrongReverts;
    string public lastWrongRevert;
    /// @notice Handler bodies that reverted (a bug in the suite itself; nothing is swallowed).
    uint256 public handlerReverts;
    string public lastHandlerRevert;

    /*//////////////////////////////////////////////////////////////
                                COVERAGE
    //////////////////////////////////////////////////////////////*/

    string[] internal _actions;
    mapping(bytes32 action => uint256) public callsOf;
    mapping(bytes32 action => uint256) public hitsOf;
    /// @notice Negative claims per ClaimReasons bit (bit index => count).
    mapping(uint256 bit => uint256) public reasonHits;
    /// @notice Exits (settlements and withdrawals) that succeeded while the escrow was paused.
    uint256 public exitsWhilePaused;
    /// @notice New business that reverted because of a pause.
    uint256 public blockedByPause;
    uint256 public totalCalls;
    /// @notice Coverage counts only once the campaign starts (not the marketplace setUp builds).
    bool public recording;

    /*//////////////////////////////////////////////////////////////
                                 SETUP
    //////////////////////////////////////////////////////////////*/

    function setActors(
        address owner_,
        address stranger_,
        address[] memory posters_,
        address[] memory agentWallets_,
        address[] memory treasuries_,
        address[] memory arbitrators_,
        address[] memory blacklistable_
    ) external {
        owner = owner_;
        stranger = stranger_;
        _posters = posters_;
        _agentWallets = agentWallets_;
        _treasuries = treasuries_;
        _arbitrators = arbitrators_;
        _blacklistable = blacklistable_;
    }

    function setKey(address account, uint256 key) external {
        keyOf[account] = key;
    }

    function posters() external view returns (address[] memory) {
        return _posters;
    }

    function agentWallets() external view returns (address[] memory) {
        return _agentWallets;
    }

    function treasuries() external view returns (address[] memory) {
        return _treasuries;
    }

    function arbitrators() external view returns (address[] memory) {
        return _arbitrators;
    }

    function blacklistable() external view returns (address[] memory) {
        return _blacklistable;
    }

    /// @notice Every account the escrow may owe a credit to: posters and agent wallets.
    function creditAccounts() external view returns (address[] memory accounts) {
        accounts = new address[](_posters.length + _agentWallets.length);
        uint256 n;
        for (uint256 i; i < _posters.length; ++i) {
            accounts[n++] = _posters[i];
        }
        for (uint256 i; i < _agentWallets.length; ++i) {
            // A poster that is also an agent appears once.
            if (_isPoster(_agentWallets[i])) continue;
            accounts[n++] = _agentWallets[i];
        }
        assembly ("memory-safe") {
            mstore(accounts, n)
        }
    }

    function _isPoster(address account) internal view returns (bool) {
        for (uint256 i; i < _posters.length; ++i) {
            if (_posters[i] == account) return true;
        }
        return false;
    }

    /*//////////////////////////////////////////////////////////////
                            CLOCK, PARAMETERS
    //////////////////////////////////////////////////////////////*/

    function setCurrentTime(uint256 time) external {
        if (time > currentTime) currentTime = time;
    }

    function vaultParams() external view returns (VaultParams memory) {
        return _vaultParams;
    }

    function minStake() public view returns (uint256) {
        return _vaultParams.minStake;
    }

    /// @notice The owner set the vault parameters. A new minimum stake is a new escrow terms version
    /// (SPEC §2.1: posters are never surprised by terms, the minimum stake included).
    function setVaultParams(VaultParams memory params) external {
        bool minChanged = params.minStake != _vaultParams.minStake;
        _vaultParams = params;
        if (minChanged && termsVersion != 0) {
            Terms memory terms = _terms[termsVersion];
            terms.minStake = uint64(params.minStake);
            _publish(terms);
        }
    }

    /// @notice The owner set the escrow parameters: a new terms version with the vault's minimum.
    function setEscrowTerms(Terms memory terms) external {
        terms.minStake = uint64(_vaultParams.minStake);
        _publish(terms);
    }

    function _publish(Terms memory terms) internal {
        termsVersion += 1;
        _terms[termsVersion] = terms;
    }

    function termsAt(uint256 version) external view returns (Terms memory) {
        return _terms[version];
    }

    function currentTerms() external view returns (Terms memory) {
        return _terms[termsVersion];
    }

    function setEscrowPaused(bool paused) external {
        escrowPaused = paused;
    }

    function setVaultPaused(bool paused) external {
        vaultPaused = paused;
    }

    function setTreasury(address treasury_) external {
        treasury = treasury_;
    }

    /*//////////////////////////////////////////////////////////////
                                  RUNS
    //////////////////////////////////////////////////////////////*/

    /// @notice Records a new run with the current terms; returns the id the escrow must have given it.
    function addRun(
        address poster,
        uint256 reward,
        uint256 requiredStake,
        uint256 deadline,
        uint256 maxRevisions,
        bool funded
    ) external returns (uint256 runId) {
        runId = ++runCount;
        RunModel storage run = _runs[runId];
        Terms memory terms = _terms[termsVersion];
        run.poster = poster;
        run.reward = uint64(reward);
        run.fee = uint64(reward * terms.feeBps / BPS);
        run.requiredStake = requiredStake == 0 ? terms.minStake : uint64(requiredStake);
        run.deadline = uint64(deadline);
        run.maxRevisions = uint8(maxRevisions);
        run.termsVersion = uint32(termsVersion);
        run.terms = terms;
        run.state = funded ? IRunEscrow.RunState.OPEN : IRunEscrow.RunState.DRAFT;
        run.funded = funded;
    }

    function getRun(uint256 runId) external view returns (RunModel memory) {
        return _runs[runId];
    }

    function setRun(uint256 runId, RunModel memory run) external {
        _runs[runId] = run;
    }

    /// @notice The bit of a run's phase: 1 << state, or {REJECTED_SETTLED_BIT} for a final rejection.
    function phaseBit(uint256 runId) public view returns (uint256) {
        RunModel storage run = _runs[runId];
        if (run.state == IRunEscrow.RunState.REJECTED && run.settled) return REJECTED_SETTLED_BIT;
        return 1 << uint256(run.state);
    }

    /// @notice Ids of the runs whose phase is in `mask`.
    function runsIn(uint256 mask) external view returns (uint256[] memory ids) {
        ids = new uint256[](runCount);
        uint256 n;
        for (uint256 runId = 1; runId <= runCount; ++runId) {
            if (phaseBit(runId) & mask != 0) ids[n++] = runId;
        }
        assembly ("memory-safe") {
            mstore(ids, n)
        }
    }

    /// @notice Whether the run is settled by the SPEC's definition (getRun's `settled`).
    function isSettled(uint256 runId) public view returns (bool) {
        RunModel storage run = _runs[runId];
        IRunEscrow.RunState s = run.state;
        return s == IRunEscrow.RunState.APPROVED || s == IRunEscrow.RunState.CANCELLED
            || s == IRunEscrow.RunState.EXPIRED || s == IRunEscrow.RunState.RESOLVED
            || (s == IRunEscrow.RunState.REJECTED && run.settled);
    }

    /// @notice What the escrow holds for this run: reward + fee while funded and unsettled, plus the
    /// poster's bond while a rejection or dispute is open.
    function heldFor(uint256 runId) public view returns (uint256 held) {
        RunModel storage run = _runs[runId];
        if (!run.funded || isSettled(runId)) return 0;
        held = uint256(run.reward) + run.fee;
        if (run.state == IRunEscrow.RunState.REJECTED || run.state == IRunEscrow.RunState.DISPUTED) {
            held += run.requiredStake;
        }
    }

    /// @notice The escrow's debts by the model: runs, bonds, accrued fees and credits.
    function escrowOwed() external view returns (uint256 owed) {
        for (uint256 runId = 1; runId <= runCount; ++runId) {
            owed += heldFor(runId);
        }
        owed += accruedFees + creditsTotal;
    }

    /// @notice Counts one payout of the run's money (settlement).
    function markSettled(uint256 runId) external {
        _runs[runId].settlements += 1;
    }

    function markSlashed(uint256 runId, uint256 agentId) external {
        slashedOn[runId][agentId] = true;
        if (paidOn[runId][agentId]) slashedAndPaid += 1;
    }

    function markPaid(uint256 runId, uint256 agentId) external {
        if (paidOn[runId][agentId]) return;
        paidOn[runId][agentId] = true;
        if (slashedOn[runId][agentId]) slashedAndPaid += 1;
    }

    /*//////////////////////////////////////////////////////////////
                          PAYOUTS BY THE MODEL
    //////////////////////////////////////////////////////////////*/

    /// @notice An approval (by the poster or on timeout): the reward to the agent, the fee accrued, a
    /// held bond back to the poster.
    function approvalPayout(uint256 runId) external view returns (Payout memory p) {
        RunModel storage run = _runs[runId];
        p.toAgent = run.reward;
        p.earned = run.reward;
        p.toFees = run.fee;
        // A rejection's bond goes back to the poster; a conceded dispute's to the agent.
        if (run.state == IRunEscrow.RunState.REJECTED) p.toPoster = run.requiredStake;
        else if (run.state == IRunEscrow.RunState.DISPUTED) p.toAgent += run.requiredStake;
    }

    /// @notice A final rejection: reward + fee + bond to the poster.
    function rejectionPayout(uint256 runId) external view returns (Payout memory p) {
        RunModel storage run = _runs[runId];
        p.toPoster = uint256(run.reward) + run.fee + run.requiredStake;
    }

    /// @notice A ruling of `bps` (or the default, 5000 with `byDefault`): the agent's share of the
    /// reward, the treasury's share of the fee, the rest to the poster; the bond to the agent on a
    /// ruling of at least half, else back to the poster with the agent's reservation.
    function rulingPayout(uint256 runId, uint256 bps, bool byDefault)
        external
        view
        returns (Payout memory p)
    {
        RunModel storage run = _runs[runId];
        uint256 reward = run.reward;
        uint256 fee = run.fee;
        p.toAgent = reward * bps / BPS;
        p.toFees = fee * bps / BPS;
        p.toPoster = reward + fee - p.toAgent - p.toFees;
        p.earned = p.toAgent;
        if (bps >= 5000 && !byDefault) {
            p.toAgent += run.requiredStake;
        } else if (bps >= 5000) {
            p.toPoster += run.requiredStake;
        } else {
            p.forfeit = run.requiredStake;
            p.toPoster += 2 * uint256(run.requiredStake);
        }
    }

    /// @notice A slash: the reservation to the poster, plus reward + fee when past the deadline.
    function slashPayout(uint256 runId, uint256 time) external view returns (Payout memory p, bool expires) {
        RunModel storage run = _runs[runId];
        expires = time > run.deadline;
        p.forfeit = run.requiredStake;
        p.toPoster = uint256(run.requiredStake) + (expires ? uint256(run.reward) + run.fee : 0);
    }

    /*//////////////////////////////////////////////////////////////
                                 AGENTS
    //////////////////////////////////////////////////////////////*/

    function addAgent(address wallet) external returns (uint256 agentId) {
        agentId = ++agentCount;
        _agents[agentId].wallet = wallet;
        agentIdOf[wallet] = agentId;
    }

    function getAgent(uint256 agentId) external view returns (AgentModel memory) {
        return _agents[agentId];
    }

    /// @notice {IStakeVault.stake}: the stake grows; reaching the minimum starts `stakedSince` (if it
    /// was clear), and a stake of at least the minimum that ends at or above it unfreezes.
    function modelStake(uint256 agentId, uint256 amount, uint256 time) external {
        AgentModel storage agent = _agents[agentId];
        agent.stake += uint64(amount);
        if (agent.stake >= _vaultParams.minStake) {
            if (agent.stakedSince == 0) agent.stakedSince = uint64(time);
            if (amount >= _vaultParams.minStake) agent.frozen = false;
        }
        vaultIn += amount;
    }

    /// @notice {IStakeVault.requestUnstake}: free stake moves to pending and the cooldown restarts;
    /// dropping below the minimum clears `stakedSince`.
    function modelRequestUnstake(uint256 agentId, uint256 amount, uint256 time) external {
        AgentModel storage agent = _agents[agentId];
        agent.stake -= uint64(amount);
        agent.pending += uint64(amount);
        agent.unstakeReadyAt = uint64(time + _vaultParams.cooldown);
        if (agent.stake < _vaultParams.minStake) agent.stakedSince = 0;
    }

    /// @notice {IStakeVault.withdrawStake}: the pending stake leaves the vault.
    function modelWithdrawStake(uint256 agentId) external returns (uint256 amount) {
        AgentModel storage agent = _agents[agentId];
        amount = agent.pending;
        agent.pending = 0;
        agent.unstakeReadyAt = 0;
        vaultOut += amount;
    }

    /// @notice {IStakeVault.reserve} after every rule passed: the claim reserves `amount`.
    function modelReserve(uint256 agentId, uint256 amount) external {
        AgentModel storage agent = _agents[agentId];
        agent.reserved += uint64(amount);
        agent.claims += 1;
    }

    /// @notice {IStakeVault.settleClaim}: the reservation released or forfeited, and the outcome on
    /// the agent's record.
    function modelSettleClaim(
        uint256 agentId,
        uint256 amount,
        IStakeVault.Outcome outcome,
        uint256 reward,
        uint256 earned
    ) external {
        AgentModel storage agent = _agents[agentId];
        agent.reserved -= uint64(amount);
        if (outcome == IStakeVault.Outcome.REJECTED) {
            agent.rejections += 1;
        } else if (outcome == IStakeVault.Outcome.APPROVED || outcome == IStakeVault.Outcome.DISPUTE_WON) {
            if (outcome == IStakeVault.Outcome.DISPUTE_WON) agent.disputesWon += 1;
            if (reward >= MIN_COMPLETION_REWARD) agent.completions += 1;
        } else if (outcome != IStakeVault.Outcome.DISPUTE_SPLIT) {
            agent.stake -= uint64(amount);
            vaultOut += amount;
            if (agent.stake < _vaultParams.minStake) agent.stakedSince = 0;
            if (
                outcome == IStakeVault.Outcome.DISPUTE_LOST
                    || outcome == IStakeVault.Outcome.DISPUTE_LOST_STRUCK
            ) {
                agent.disputesLost += 1;
            }
            if (outcome == IStakeVault.Outcome.SLASHED || outcome == IStakeVault.Outcome.DISPUTE_LOST_STRUCK)
            {
                agent.strikes += 1;
                agent.frozen = true;
                // The threshold in force at this strike decides; never lifted.
                if (agent.strikes >= _vaultParams.strikesToBan) agent.banned = true;
            }
        }
        agent.volume += uint128(earned);
    }

    /// @notice The ladder of IStakeVault, derived from the model's own record at `time`.
    function statusAt(uint256 agentId, uint256 time) public view returns (IStakeVault.AgentStatus) {
        AgentModel storage agent = _agents[agentId];
        VaultParams storage params = _vaultParams;
        if (agent.banned) return IStakeVault.AgentStatus.BANNED;
        if (agent.frozen || (agent.strikes != 0 && agent.stake < params.minStake)) {
            return IStakeVault.AgentStatus.FROZEN;
        }
        if (agent.stake < params.minStake) return IStakeVault.AgentStatus.UNVERIFIED;
        if (
            agent.stakedSince != 0 && agent.completions >= params.establishedCompletions
                && time >= agent.stakedSince + params.establishedAge
        ) return IStakeVault.AgentStatus.ESTABLISHED;
        return IStakeVault.AgentStatus.PROVISIONAL;
    }

    /// @notice The agent rules of a claim needing `amount` of free stake (SPEC §2.3 "Claim requires").
    function agentReasons(uint256 agentId, uint256 amount)
        public
        view
        returns (address wallet, uint256 reasons)
    {
        AgentModel storage agent = _agents[agentId];
        wallet = agent.wallet;
        if (wallet == address(0)) return (wallet, ClaimReasons.AGENT_NOT_FOUND);
        IStakeVault.AgentStatus status = statusAt(agentId, 0);
        if (status == IStakeVault.AgentStatus.BANNED) reasons |= ClaimReasons.AGENT_BANNED;
        else if (status == IStakeVault.AgentStatus.FROZEN) reasons |= ClaimReasons.AGENT_FROZEN;
        if (agent.stake < _vaultParams.minStake) reasons |= ClaimReasons.INSUFFICIENT_STAKE;
        if (agent.stake - agent.reserved < amount) reasons |= ClaimReasons.INSUFFICIENT_FREE_STAKE;
    }

    /// @notice Every failed rule of agent `agentId` claiming run `runId` at `time`, by the model.
    function claimReasons(uint256 runId, uint256 agentId, uint256 time)
        external
        view
        returns (uint256 reasons)
    {
        RunModel storage run = _runs[runId];
        if (run.state != IRunEscrow.RunState.OPEN) reasons |= ClaimReasons.RUN_NOT_OPEN;
        if (time > run.deadline) reasons |= ClaimReasons.RUN_PAST_DEADLINE;
        if (escrowPaused) reasons |= ClaimReasons.CLAIMS_PAUSED;
        if (slashedOn[runId][agentId]) reasons |= ClaimReasons.AGENT_SLASHED_ON_RUN;
        (address wallet, uint256 fromAgent) = agentReasons(agentId, run.requiredStake);
        reasons |= fromAgent;
        if (wallet != address(0)) {
            if (wallet == run.poster) reasons |= ClaimReasons.AGENT_IS_POSTER;
            if (wallet == run.terms.arbitrator) reasons |= ClaimReasons.AGENT_IS_ARBITRATOR;
        }
    }

    /// @notice Sums over every agent of the model: stake and pending.
    function stakeTotals() external view returns (uint256 staked, uint256 pending) {
        for (uint256 agentId = 1; agentId <= agentCount; ++agentId) {
            staked += _agents[agentId].stake;
            pending += _agents[agentId].pending;
        }
    }

    /*//////////////////////////////////////////////////////////////
                             MONEY AND FLOWS
    //////////////////////////////////////////////////////////////*/

    function addCredit(address account, uint256 amount) external {
        credits[account] += amount;
        creditsTotal += amount;
    }

    function clearCredit(address account) external returns (uint256 amount) {
        amount = credits[account];
        credits[account] = 0;
        creditsTotal -= amount;
        escrowOut += amount;
    }

    function accrueFees(uint256 amount) external {
        accruedFees += amount;
    }

    function clearFees() external returns (uint256 amount) {
        amount = accruedFees;
        accruedFees = 0;
        escrowOut += amount;
    }

    function addEscrowFlows(uint256 inflow, uint256 outflow) external {
        escrowIn += inflow;
        escrowOut += outflow;
    }

    /*//////////////////////////////////////////////////////////////
                                COUNTERS
    //////////////////////////////////////////////////////////////*/

    function setRecording(bool on) external {
        recording = on;
    }

    function countCall(string calldata action) external {
        if (!recording) return;
        bytes32 key = keccak256(bytes(action));
        if (callsOf[key] == 0 && hitsOf[key] == 0) _actions.push(action);
        callsOf[key] += 1;
        totalCalls += 1;
    }

    function countHit(string calldata action) external {
        if (!recording) return;
        bytes32 key = keccak256(bytes(action));
        if (callsOf[key] == 0 && hitsOf[key] == 0) _actions.push(action);
        hitsOf[key] += 1;
    }

    function countReason(uint256 reasons) external {
        if (!recording) return;
        for (uint256 bit; bit < 12; ++bit) {
            if (reasons & (1 << bit) != 0) reasonHits[bit] += 1;
        }
    }

    function countExitWhilePaused() external {
        if (!recording) return;
        exitsWhilePaused += 1;
    }

    function countBlockedByPause() external {
        if (!recording) return;
        blockedByPause += 1;
    }

    function actions() external view returns (string[] memory) {
        return _actions;
    }

    function unexpected(string calldata what) external {
        unexpectedReverts += 1;
        lastUnexpected = what;
    }

    function mismatch(string calldata what) external {
        mismatches += 1;
        lastMismatch = what;
    }

    function violation(string calldata what) external {
        violations += 1;
        lastViolation = what;
    }

    function wrongRevert(string calldata what) external {
        wrongReverts += 1;
        lastWrongRevert = what;
    }

    function handlerReverted(string calldata what) external {
        handlerReverts += 1;
        lastHandlerRevert = what;
    }
}
