// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "../Base.t.sol";
import {BlacklistUSDC} from "../mocks/BlacklistUSDC.sol";
import {GhostStore} from "./stores/GhostStore.sol";
import {ArbitratorHandler} from "./handlers/ArbitratorHandler.sol";
import {EscrowAgentHandler} from "./handlers/EscrowAgentHandler.sol";
import {EscrowKeeperHandler} from "./handlers/EscrowKeeperHandler.sol";
import {EscrowPosterHandler} from "./handlers/EscrowPosterHandler.sol";
import {OwnerHandler} from "./handlers/OwnerHandler.sol";
import {TimeHandler} from "./handlers/TimeHandler.sol";
import {VaultHandler} from "./handlers/VaultHandler.sol";
import {MockUSDC} from "../../contracts/mocks/MockUSDC.sol";
import {IRunEscrow} from "../../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../../contracts/interfaces/IStakeVault.sol";

/// @title Invariants
/// @notice Protocol-wide properties of RunEscrow and StakeVault (protocol v2), checked after every
/// call of random sequences driven by one handler per actor: posters, agents, arbitrators (one of
/// which is also an agent, and each dispute's arbitrator may stay silent), strangers taking the
/// permissionless exits, the vault's agents, the owner (terms, parameters, treasury, pauses, the
/// issuer's blacklist) and time. Three posters (one also an agent), six agent wallets (four staked,
/// one registered without stake, one unregistered), two treasuries, a token that can blacklist one
/// poster, one agent and the treasury so payouts become credits.
/// Every sequence starts from a live marketplace with a run in every state (see {_setUpMarketplace}).
/// @dev The {GhostStore} model is built from the calls alone; after every call
/// {invariant_MarketplaceMatchesTheModel} compares it, and sums derived from the contracts' own
/// views, with the contracts. {afterInvariant} then settles everything and checks both contracts
/// end with exactly zero USDC. {test_Handlers_ReachEveryActionInADefaultCampaign} shows (and
/// asserts) that a default-sized campaign reaches every transition, exit and refusal.
contract Invariants is Base {
    /// @dev forge prints these (ds-test log events) with -vv.
    event log_named_uint(string key, uint256 val);
    event log_named_string(string key, string val);

    uint256 internal constant AGENTS = 6;
    uint256 internal constant BIG_FUNDING = 1_000_000_000e6;
    uint256 internal constant CAMPAIGN_RUNS = 64;
    uint256 internal constant CAMPAIGN_DEPTH = 64;

    BlacklistUSDC internal token;
    GhostStore internal store;
    EscrowPosterHandler internal posterHandler;
    EscrowAgentHandler internal agentHandler;
    ArbitratorHandler internal arbitratorHandler;
    EscrowKeeperHandler internal keeperHandler;
    VaultHandler internal vaultHandler;
    OwnerHandler internal ownerHandler;
    TimeHandler internal timeHandler;

    address internal poster1;
    address internal treasury2;
    address[] internal agentWallets;

    /// @dev Every fuzzed (handler, selector) entry, weights included, for the coverage replay.
    struct Target {
        address handler;
        bytes4 selector;
    }

    Target[] internal _targets;

    function setUp() public override {
        super.setUp();
        token = BlacklistUSDC(address(usdc));
        store = new GhostStore();
        _setUpActors();
        _setUpModel();

        posterHandler = new EscrowPosterHandler(store, token, vault, escrow);
        agentHandler = new EscrowAgentHandler(store, token, vault, escrow);
        arbitratorHandler = new ArbitratorHandler(store, token, vault, escrow);
        keeperHandler = new EscrowKeeperHandler(store, token, vault, escrow);
        vaultHandler = new VaultHandler(store, token, vault, escrow);
        ownerHandler = new OwnerHandler(store, token, vault, escrow);
        timeHandler = new TimeHandler(store, token, vault, escrow);

        // Agents 0, 1, 2 and 4 start staked (PROVISIONAL), agent 3 registered without stake
        // (UNVERIFIED), agent 5 unregistered.
        uint256[AGENTS] memory stakes =
            [uint256(3 * MIN_STAKE), 4 * MIN_STAKE, MIN_STAKE, 0, 3 * MIN_STAKE, 0];
        for (uint256 i; i < AGENTS - 1; ++i) {
            vaultHandler.setupAgent(agentWallets[i], stakes[i]);
        }
        // Start with agent 1 and the treasury blacklisted, so payouts soon become credits.
        vm.startPrank(owner);
        token.blacklist(agentWallets[1]);
        token.blacklist(treasury);
        vm.stopPrank();
        _setUpMarketplace();
        _checkLedger();
        store.setRecording(true);

        _target(address(posterHandler), posterHandler.selectors());
        _target(address(agentHandler), agentHandler.selectors());
        _target(address(arbitratorHandler), arbitratorHandler.selectors());
        _target(address(keeperHandler), keeperHandler.selectors());
        _target(address(vaultHandler), vaultHandler.selectors());
        _target(address(ownerHandler), ownerHandler.selectors());
        _target(address(timeHandler), timeHandler.selectors());
    }

    /// @dev The fixture's token, with the blacklist; owned by the fixture's owner.
    function _deployToken() internal override returns (MockUSDC) {
        vm.prank(owner);
        return new BlacklistUSDC(owner);
    }

    function _setUpActors() internal {
        uint256 poster1Key;
        (poster1, poster1Key) = makeAddrAndKey("poster1");
        treasury2 = makeAddr("treasury2");
        uint256[] memory keys = new uint256[](AGENTS);
        for (uint256 i; i < AGENTS; ++i) {
            (address wallet, uint256 key) = makeAddrAndKey(string.concat("agent", vm.toString(i)));
            agentWallets.push(wallet);
            keys[i] = key;
        }
        address[] memory posters = new address[](3);
        posters[0] = poster;
        posters[1] = poster1;
        posters[2] = agentWallets[0];
        address[] memory treasuries = new address[](2);
        treasuries[0] = treasury;
        treasuries[1] = treasury2;
        address[] memory arbitrators = new address[](2);
        arbitrators[0] = arbitrator;
        arbitrators[1] = agentWallets[4];
        address[] memory blacklistable = new address[](3);
        blacklistable[0] = poster1;
        blacklistable[1] = agentWallets[1];
        blacklistable[2] = treasury;
        store.setActors(owner, stranger, posters, agentWallets, treasuries, arbitrators, blacklistable);

        store.setKey(poster, posterKey);
        store.setKey(poster1, poster1Key);
        for (uint256 i; i < AGENTS; ++i) {
            store.setKey(agentWallets[i], keys[i]);
        }
        // No standing allowances: every pull is approved for its exact amount or signed.
        _fund(poster, BIG_FUNDING);
        _fund(poster1, BIG_FUNDING);
        _fund(agentWallets[0], BIG_FUNDING);
        for (uint256 i = 1; i < AGENTS; ++i) {
            _fund(agentWallets[i], FUNDING);
        }
    }

    function _fund(address account, uint256 amount) internal {
        vm.prank(owner);
        usdc.mint(account, amount);
        vm.startPrank(account);
        usdc.approve(address(escrow), 0);
        usdc.approve(address(vault), 0);
        vm.stopPrank();
    }

    /// @dev The model starts from the SPEC defaults the fixture deployed (terms version 1).
    function _setUpModel() internal {
        store.setCurrentTime(block.timestamp);
        store.setVaultParams(
            GhostStore.VaultParams({
                minStake: MIN_STAKE,
                cooldown: COOLDOWN,
                strikesToBan: STRIKES_TO_BAN,
                establishedCompletions: ESTABLISHED_COMPLETIONS,
                establishedAge: ESTABLISHED_AGE
            })
        );
        store.setEscrowTerms(
            GhostStore.Terms({
                feeBps: FEE_BPS,
                claimTimeout: CLAIM_TIMEOUT,
                reviewPeriod: REVIEW_PERIOD,
                disputeWindow: DISPUTE_WINDOW,
                rulingPeriod: RULING_PERIOD,
                arbitrator: arbitrator,
                minStake: 0
            })
        );
        store.setTreasury(treasury);
    }

    /// @dev Every sequence starts from a live marketplace, built through the handlers (so checked
    /// against the model like any call), with a run in every state and every timer about to matter:
    /// a dispute before a silent arbitrator whose ruling period ends a day into the campaign, one
    /// before the second arbitrator (an agent) who will rule, a rejection in its window, a
    /// submission with a revision left, a claim that timed out (slashable by anyone a day in), an
    /// agent banned (struck while the owner's threshold was 1, which raising it again does not
    /// lift), an agent struck and frozen and slashed on a run that is OPEN again, a credit owed to a
    /// blacklisted agent, an agent a week from ESTABLISHED, stake pending withdrawal, live runs under three terms versions, a DRAFT,
    /// OPEN runs (one near its deadline). Without it, 64-call sequences would rarely get past the
    /// first claims: a dispute is six steps from a new run.
    function _setUpMarketplace() internal {
        uint256 a0 = store.agentIdOf(agentWallets[0]);
        uint256 a1 = store.agentIdOf(agentWallets[1]);
        uint256 a2 = store.agentIdOf(agentWallets[2]);
        uint256 a3 = store.agentIdOf(agentWallets[3]);
        uint256 a4 = store.agentIdOf(agentWallets[4]);

        IStakeVault.Parameters memory vaultParams = defaultVaultParameters();
        vaultParams.strikesToBan = 1;
        ownerHandler.setVault(vaultParams);
        vaultHandler.stakeFor(agentWallets[3], MIN_STAKE);
        uint256 banned = posterHandler.openRun(poster, 70e6, 0, 0, 40 days, true);
        agentHandler.claimRun(banned, a3);

        uint256 silent = posterHandler.openRun(poster, 100e6, 0, 0, 40 days, true);
        agentHandler.claimRun(silent, a2);
        agentHandler.submitRun(silent);
        posterHandler.rejectRun(silent);
        agentHandler.disputeRun(silent, true);

        uint256 stale = posterHandler.openRun(poster1, 50e6, 0, 0, 40 days, true);
        agentHandler.claimRun(stale, a0);

        uint256 credited = posterHandler.openRun(poster, 500_000, 0, 0, 40 days, true);
        agentHandler.claimRun(credited, a1);
        agentHandler.submitRun(credited);
        posterHandler.approveRun(credited);

        uint256 completed = posterHandler.openRun(poster1, 25e6, 0, 0, 40 days, true);
        agentHandler.claimRun(completed, a0);
        agentHandler.submitRun(completed);
        posterHandler.approveRun(completed);

        uint256 struck = posterHandler.openRun(agentWallets[0], 80e6, 0, 0, 40 days, true);
        agentHandler.claimRun(struck, a4);

        timeHandler.advance(CLAIM_TIMEOUT + 1);
        posterHandler.slashRun(banned);
        _setUpMarketplaceLater(vaultParams, struck);
    }

    /// @dev The second week of {_setUpMarketplace}.
    function _setUpMarketplaceLater(IStakeVault.Parameters memory vaultParams, uint256 struck) internal {
        uint256 a1 = store.agentIdOf(agentWallets[1]);
        // Back to three strikes; one completion and 20 days make ESTABLISHED reachable in a campaign
        // (agent 0 turns ESTABLISHED a week in).
        vaultParams.strikesToBan = STRIKES_TO_BAN;
        vaultParams.establishedCompletions = 1;
        vaultParams.establishedAge = 20 days;
        ownerHandler.setVault(vaultParams);
        posterHandler.slashRun(struck);
        vaultHandler.unstake(agentWallets[0], 10e6);
        timeHandler.advance(6 days);

        // Terms version 2: other periods and fee, the agent-arbitrator.
        ownerHandler.setTerms(
            IRunEscrow.Parameters({
                feeBps: 300,
                claimTimeout: 3 days,
                reviewPeriod: 4 days,
                disputeWindow: 2 days,
                rulingPeriod: 5 days,
                arbitrator: agentWallets[4]
            })
        );
        uint256 revisable = posterHandler.openRun(poster, 200e6, 1, 0, 30 days, true);
        agentHandler.claimRun(revisable, a1);
        agentHandler.submitRun(revisable);

        uint256 rejected = posterHandler.openRun(poster1, 120e6, 0, 2 * MIN_STAKE, 30 days, true);
        agentHandler.claimRun(rejected, a1);
        agentHandler.submitRun(rejected);
        posterHandler.rejectRun(rejected);

        uint256 disputed = posterHandler.openRun(agentWallets[0], 300e6, 0, 0, 30 days, true);
        agentHandler.claimRun(disputed, a1);
        agentHandler.submitRun(disputed);
        posterHandler.rejectRun(disputed);
        agentHandler.disputeRun(disputed, false);

        posterHandler.openRun(poster1, 40e6, 0, 0, 20 days, false);
        posterHandler.openRun(agentWallets[0], 30e6, 2, 0, 2 days, true);
        // Terms version 3: the SPEC defaults again, for the campaign's first new runs.
        ownerHandler.setTerms(defaultEscrowParameters());
        posterHandler.openRun(poster, 60e6, 0, 0, 10 days, true);
    }

    function _target(address handler, bytes4[] memory selectors) internal {
        targetContract(handler);
        targetSelector(FuzzSelector({addr: handler, selectors: selectors}));
        // A call from the handler itself would skip the revert-catching frame of `instrument`.
        excludeSender(handler);
        for (uint256 i; i < selectors.length; ++i) {
            _targets.push(Target(handler, selectors[i]));
        }
    }

    /*//////////////////////////////////////////////////////////////
                               INVARIANTS
    //////////////////////////////////////////////////////////////*/

    /// @notice After every call, every property below holds. They are checked in one function, not
    /// one `invariant_` function each: forge runs a separate campaign per invariant function, all
    /// with the same seed, so six functions would replay the very same call sequences six times.
    /// One campaign checks the same properties after the same calls, and CI's time buys depth.
    /// The properties, each an assertion group below:
    /// 1. The escrow holds exactly what it owes (runs, bonds, fees, credits), by its views and the model.
    /// 2. The vault holds exactly stake + pending; the sums over agents equal its totals and the model.
    /// 3. Every reservation is at most the agent's stake and exactly the required stake of its held runs.
    /// 4. The trust ladder and every agent field equal the model's, derived from IStakeVault's NatSpec.
    /// 5. Every run keeps its creation terms and is in the model's state; settled runs stay settled in
    ///    their terminal state, settled exactly once; no agent is both slashed and paid for one run.
    /// 6. Every call did what the model said: valid calls succeeded moving exactly the modelled amounts,
    ///    calls that must revert reverted with the exact error, and no handler body reverted.
    function invariant_MarketplaceMatchesTheModel() public {
        _syncClock();
        _checkAll();
    }

    /// @notice At the end of every run: after the sequence's coverage is logged, the blacklist is
    /// lifted, time jumps past every timer, strangers settle every run, every credit and the fees are
    /// withdrawn and every agent withdraws all its stake: both contracts then hold exactly 0 USDC.
    function afterInvariant() public {
        _syncClock();
        _logSummary();
        _drainAndCheck();
    }

    /*//////////////////////////////////////////////////////////////
                                 CHECKS
    //////////////////////////////////////////////////////////////*/

    /// @dev The contracts' view of every run and agent, read once per check.
    struct View {
        IRunEscrow.Run[] runs;
        IStakeVault.Agent[] agents;
    }

    function _syncClock() internal {
        vm.warp(store.currentTime());
    }

    function _checkAll() internal view {
        // The ledger first: when a call went wrong, it names the call.
        _checkLedger();
        View memory v = _read();
        _checkEscrowSolvency(v);
        _checkVaultSolvency(v);
        _checkReservations(v);
        _checkAgents(v);
        _checkRuns(v);
    }

    function _read() internal view returns (View memory v) {
        uint256 runs = escrow.runCount();
        uint256 agents = vault.agentCount();
        assertEq(runs, store.runCount(), "runCount");
        assertEq(agents, store.agentCount(), "agentCount");
        v.runs = new IRunEscrow.Run[](runs + 1);
        for (uint256 runId = 1; runId <= runs; ++runId) {
            v.runs[runId] = escrow.getRun(runId);
        }
        v.agents = new IStakeVault.Agent[](agents + 1);
        for (uint256 agentId = 1; agentId <= agents; ++agentId) {
            v.agents[agentId] = vault.getAgent(agentId);
        }
    }

    /// @dev 1. The escrow holds exactly what it owes.
    function _checkEscrowSolvency(View memory v) internal view {
        uint256 owed;
        for (uint256 runId = 1; runId < v.runs.length; ++runId) {
            IRunEscrow.Run memory run = v.runs[runId];
            if (run.settled || run.state == IRunEscrow.RunState.DRAFT) continue;
            owed += run.reward + run.fee;
            if (run.state == IRunEscrow.RunState.REJECTED || run.state == IRunEscrow.RunState.DISPUTED) {
                owed += run.requiredStake;
            }
        }
        owed += escrow.accruedFees();
        address[] memory accounts = store.creditAccounts();
        for (uint256 i; i < accounts.length; ++i) {
            uint256 credit = escrow.creditOf(accounts[i]);
            assertEq(credit, store.credits(accounts[i]), "credit != model");
            owed += credit;
        }
        uint256 balance = usdc.balanceOf(address(escrow));
        assertEq(balance, owed, "escrow balance != runs + bonds + fees + credits");
        assertEq(balance, store.escrowOwed(), "escrow balance != model's debts");
        assertEq(escrow.accruedFees(), store.accruedFees(), "accruedFees != model");
        assertEq(balance, store.escrowIn() - store.escrowOut(), "escrow balance != in - out");
    }

    /// @dev 2. The vault holds exactly stake + pending.
    function _checkVaultSolvency(View memory v) internal view {
        uint256 staked;
        uint256 pending;
        for (uint256 agentId = 1; agentId < v.agents.length; ++agentId) {
            staked += v.agents[agentId].stake;
            pending += v.agents[agentId].pendingUnstake;
        }
        (uint256 modelStaked, uint256 modelPending) = store.stakeTotals();
        assertEq(vault.totalStaked(), staked, "totalStaked != sum of stakes");
        assertEq(vault.totalPending(), pending, "totalPending != sum of pending");
        assertEq(staked, modelStaked, "stakes != model");
        assertEq(pending, modelPending, "pending != model");
        uint256 balance = usdc.balanceOf(address(vault));
        assertEq(balance, staked + pending, "vault balance != stake + pending");
        assertEq(balance, store.vaultIn() - store.vaultOut(), "vault balance != in - out");
    }

    /// @dev 3. Reservations are the required stakes of the held runs.
    function _checkReservations(View memory v) internal pure {
        uint256[] memory held = new uint256[](v.agents.length);
        for (uint256 runId = 1; runId < v.runs.length; ++runId) {
            IRunEscrow.Run memory run = v.runs[runId];
            if (_holdsClaim(run)) held[run.agentId] += run.requiredStake;
        }
        for (uint256 agentId = 1; agentId < v.agents.length; ++agentId) {
            IStakeVault.Agent memory agent = v.agents[agentId];
            assertLe(agent.reserved, agent.stake, "reserved > stake");
            assertEq(agent.reserved, held[agentId], "reserved != required stake of held runs");
        }
    }

    /// @dev 4. The ladder and every agent field equal the model's.
    function _checkAgents(View memory v) internal view {
        for (uint256 agentId = 1; agentId < v.agents.length; ++agentId) {
            GhostStore.AgentModel memory m = store.getAgent(agentId);
            IStakeVault.Agent memory a = v.agents[agentId];
            uint256 status = uint256(store.statusAt(agentId, block.timestamp));
            _eq(uint256(vault.statusOf(agentId)), status, "statusOf != model ladder");
            _eq(uint256(a.status), status, "getAgent.status != model ladder");
            _eq(a.wallet, m.wallet, "wallet");
            _eq(a.stake, m.stake, "stake");
            _eq(a.reserved, m.reserved, "reserved");
            _eq(a.pendingUnstake, m.pending, "pendingUnstake");
            _eq(a.unstakeReadyAt, m.unstakeReadyAt, "unstakeReadyAt");
            _eq(a.stakedSince, m.stakedSince, "stakedSince");
            _eq(a.claims, m.claims, "claims");
            _eq(a.completions, m.completions, "completions");
            _eq(a.strikes, m.strikes, "strikes");
            _eq(a.rejections, m.rejections, "rejections");
            _eq(a.disputesWon, m.disputesWon, "disputesWon");
            _eq(a.disputesLost, m.disputesLost, "disputesLost");
            _eq(a.volume, m.volume, "volume");
            _eq(a.frozen, m.frozen, "frozen");
            _eq(a.banned, m.banned, "banned");
        }
    }

    /// @dev 5. Runs keep their terms and the model's state; settled runs stay settled.
    function _checkRuns(View memory v) internal view {
        for (uint256 runId = 1; runId < v.runs.length; ++runId) {
            _checkRun(runId, v.runs[runId], store.getRun(runId));
        }
        assertEq(store.slashedAndPaid(), 0, "an agent was slashed and paid for one run");
        (uint256 version, IRunEscrow.Terms memory current) = escrow.parameters();
        assertEq(version, store.termsVersion(), "terms version");
        _checkTerms(current, store.currentTerms());
    }

    function _checkRun(uint256 runId, IRunEscrow.Run memory run, GhostStore.RunModel memory m) internal view {
        // The terms recorded at creation, whatever the owner changed since.
        _eq(run.poster, m.poster, "poster");
        _eq(run.reward, m.reward, "reward");
        _eq(run.fee, m.fee, "fee");
        _eq(run.requiredStake, m.requiredStake, "requiredStake");
        _eq(run.deadline, m.deadline, "deadline");
        _eq(run.maxRevisions, m.maxRevisions, "maxRevisions");
        _eq(run.termsVersion, m.termsVersion, "termsVersion");
        _checkTerms(run.terms, m.terms);
        // The state machine: the model never moves a settled run, so this also keeps terminal
        // states terminal.
        if (run.state != m.state) {
            assertEq(uint256(run.state), uint256(m.state), string.concat("state of run ", vm.toString(runId)));
        }
        bool settled = _settled(m);
        _eq(run.settled, settled, "settled");
        _eq(m.settlements, settled ? 1 : 0, "settlements of a run");
        assertLe(run.revisionCount, run.maxRevisions, "revisionCount > maxRevisions");
        if (run.state != IRunEscrow.RunState.EXPIRED && run.state != IRunEscrow.RunState.CANCELLED) {
            _eq(run.agentId, m.agentId, "agentId");
            _eq(run.revisionCount, m.revisionCount, "revisionCount");
        }
        if (!settled) _eq(run.timerStart, m.timerStart, "timerStart");
    }

    function _checkTerms(IRunEscrow.Terms memory t, GhostStore.Terms memory m) internal pure {
        _eq(t.feeBps, m.feeBps, "terms.feeBps");
        _eq(t.claimTimeout, m.claimTimeout, "terms.claimTimeout");
        _eq(t.reviewPeriod, m.reviewPeriod, "terms.reviewPeriod");
        _eq(t.disputeWindow, m.disputeWindow, "terms.disputeWindow");
        _eq(t.rulingPeriod, m.rulingPeriod, "terms.rulingPeriod");
        _eq(t.arbitrator, m.arbitrator, "terms.arbitrator");
        _eq(t.minStake, m.minStake, "terms.minStake");
    }

    /// @dev Whether a modelled run is settled (getRun's `settled`).
    function _settled(GhostStore.RunModel memory m) internal pure returns (bool) {
        IRunEscrow.RunState state = m.state;
        return state == IRunEscrow.RunState.APPROVED || state == IRunEscrow.RunState.CANCELLED
            || state == IRunEscrow.RunState.EXPIRED || state == IRunEscrow.RunState.RESOLVED
            || (state == IRunEscrow.RunState.REJECTED && m.settled);
    }

    /// @dev Equality checks that cost a cheatcode call only when they fail (they run after every call).
    function _eq(uint256 a, uint256 b, string memory what) internal pure {
        if (a != b) assertEq(a, b, what);
    }

    function _eq(address a, address b, string memory what) internal pure {
        if (a != b) assertEq(a, b, what);
    }

    function _eq(bool a, bool b, string memory what) internal pure {
        if (a != b) assertEq(a, b, what);
    }

    /// @dev 6. Every call did what the model said.
    function _checkLedger() internal view {
        assertEq(store.unexpectedReverts(), 0, string.concat("unexpected revert: ", store.lastUnexpected()));
        assertEq(store.mismatches(), 0, string.concat("mismatch: ", store.lastMismatch()));
        assertEq(store.violations(), 0, string.concat("did not revert: ", store.lastViolation()));
        assertEq(store.wrongReverts(), 0, string.concat("wrong revert: ", store.lastWrongRevert()));
        assertEq(store.handlerReverts(), 0, string.concat("handler reverted: ", store.lastHandlerRevert()));
    }

    /// @dev Runs whose agent's stake is reserved: CLAIMED to DISPUTED, and a rejection not yet final.
    function _holdsClaim(IRunEscrow.Run memory run) internal pure returns (bool) {
        IRunEscrow.RunState s = run.state;
        return s == IRunEscrow.RunState.CLAIMED || s == IRunEscrow.RunState.IN_PROGRESS
            || s == IRunEscrow.RunState.SUBMITTED || s == IRunEscrow.RunState.REVISION_REQUESTED
            || s == IRunEscrow.RunState.DISPUTED || (s == IRunEscrow.RunState.REJECTED && !run.settled);
    }

    /*//////////////////////////////////////////////////////////////
                             END-STATE DRAIN
    //////////////////////////////////////////////////////////////*/

    function _drainAndCheck() internal {
        ownerHandler.liftBlacklists();
        keeperHandler.drainRuns();
        keeperHandler.drainCredits();
        keeperHandler.drainFees();
        vaultHandler.drainStakes();
        _syncClock();
        _checkEndState();
    }

    function _checkEndState() internal view {
        _checkAll();
        uint256 count = escrow.runCount();
        for (uint256 runId = 1; runId <= count; ++runId) {
            assertTrue(escrow.getRun(runId).settled, "a run is left unsettled");
            for (uint256 agentId = 1; agentId <= AGENTS; ++agentId) {
                assertEq(escrow.slashedOnRun(runId, agentId), store.slashedOn(runId, agentId), "slashedOnRun");
            }
        }
        // Every terms version ever published, as the model recorded it.
        (uint256 versions,) = escrow.parameters();
        for (uint256 version = 1; version <= versions; ++version) {
            _checkTerms(escrow.termsAt(version), store.termsAt(version));
        }
        assertEq(usdc.balanceOf(address(escrow)), 0, "escrow keeps USDC after the drain");
        assertEq(usdc.balanceOf(address(vault)), 0, "vault keeps USDC after the drain");
        assertEq(vault.totalStaked(), 0, "totalStaked after the drain");
        assertEq(vault.totalPending(), 0, "totalPending after the drain");
        assertEq(escrow.accruedFees(), 0, "accruedFees after the drain");
    }

    /*//////////////////////////////////////////////////////////////
                                COVERAGE
    //////////////////////////////////////////////////////////////*/

    /// @dev Logs what the sequence reached (forge prints the last run's logs with -vv; its own table
    /// above them counts each fuzzed selector over the whole campaign).
    function _logSummary() internal {
        emit log_named_uint("calls", store.totalCalls());
        emit log_named_uint("runs", store.runCount());
        string[78] memory labels = _requiredLabels();
        for (uint256 i; i < labels.length; ++i) {
            emit log_named_uint(labels[i], store.hitsOf(keccak256(bytes(labels[i]))));
        }
        string[12] memory reasons = _reasonLabels();
        for (uint256 bit = 1; bit < reasons.length; ++bit) {
            emit log_named_uint(string.concat("claim refused: ", reasons[bit]), store.reasonHits(bit));
        }
        emit log_named_uint("exits while paused", store.exitsWhilePaused());
        emit log_named_uint("new business refused while paused", store.blockedByPause());
    }

    function _reasonLabels() internal pure returns (string[12] memory) {
        return [
            "RUN_NOT_FOUND",
            "RUN_NOT_OPEN",
            "RUN_PAST_DEADLINE",
            "AGENT_NOT_FOUND",
            "AGENT_FROZEN",
            "AGENT_BANNED",
            "INSUFFICIENT_STAKE",
            "AGENT_IS_POSTER",
            "CLAIMS_PAUSED",
            "AGENT_SLASHED_ON_RUN",
            "INSUFFICIENT_FREE_STAKE",
            "AGENT_IS_ARBITRATOR"
        ];
    }

    /// @dev What a campaign must reach: each transition, each exit, each refusal (the labels the
    /// handlers count hits under).
    function _requiredLabels() internal pure returns (string[78] memory) {
        return [
            "createRun",
            "fund",
            "fundWithPermit",
            "fundWithAuthorization",
            "createAndFund",
            "createAndFundWithPermit",
            "createAndFundWithAuthorization",
            "cancel",
            "claim",
            "start",
            "submit",
            "abandon",
            "requestRevision",
            "reject",
            "rejectWithPermit",
            "approve from SUBMITTED",
            "approve from REJECTED",
            "approve from DISPUTED",
            "approveOnTimeout",
            "dispute",
            "dispute before a silent arbitrator",
            "submitEvidence (poster)",
            "submitEvidence (agent)",
            "acceptRejection",
            "finalizeRejection",
            "resolve: won",
            "resolve: lost",
            "resolve: lost with a strike",
            "settleDispute",
            "slashByPoster",
            "slashByStranger",
            "slash->OPEN",
            "slash->EXPIRED",
            "expire",
            "withdrawCredit",
            "withdrawFees",
            "register",
            "stake",
            "stakeWithPermit",
            "unfrozen by a stake",
            "requestUnstake",
            "withdrawStake",
            "ladderBoundary",
            "ladderBoundary: ESTABLISHED",
            "setEscrowParameters",
            "setVaultParameters",
            "setTreasury",
            "pause escrow",
            "unpause escrow",
            "pause vault",
            "unpause vault",
            "toggleBlacklist",
            "warp",
            "claimIneligible",
            "claim from a stranger's wallet",
            "submitTooLate",
            "abandonTooLate",
            "reviewTooLate",
            "disputeTooLate",
            "resolveByStranger",
            "resolveTooLate",
            "resolveInvalid",
            "finalizeTooEarly",
            "settleTooEarly",
            "slashTooEarly (poster)",
            "slashTooEarly (stranger)",
            "approveOnTimeoutTooEarly",
            "expireTooEarly",
            "pokeSettled",
            "register (again)",
            "stake refused: banned",
            "requestUnstake (above free)",
            "withdrawStake (cooldown)",
            "withdrawStake (nothing pending)",
            "withdrawCredit (blacklisted)",
            "withdrawCredit (none)",
            "withdrawFees (refused)",
            "setEscrowParameters (fee too high)"
        ];
    }

    /// @notice The handlers reach every transition, exit and refusal within a default campaign:
    /// replays 64 sequences of 64 calls drawn like the fuzzer draws them (uniformly over the weighted
    /// selector list, pseudo-random arguments), checks each against the model, and
    /// counts the sequences that reached each action, each claim-refusal reason and each pause case.
    function test_Handlers_ReachEveryActionInADefaultCampaign() public {
        string[78] memory labels = _requiredLabels();
        string[12] memory reasons = _reasonLabels();
        uint256[] memory reached = new uint256[](labels.length);
        uint256[] memory hits = new uint256[](labels.length);
        uint256[] memory reasonReached = new uint256[](reasons.length);
        uint256 pausedExits;
        uint256 pausedBlocks;
        for (uint256 run; run < CAMPAIGN_RUNS; ++run) {
            uint256 snapshot = vm.snapshotState();
            for (uint256 call; call < CAMPAIGN_DEPTH; ++call) {
                bytes32 seed = keccak256(abi.encode(run, call));
                Target memory t = _targets[uint256(seed) % _targets.length];
                bytes memory args = abi.encode(
                    keccak256(abi.encode(seed, 1)),
                    keccak256(abi.encode(seed, 2)),
                    keccak256(abi.encode(seed, 3)),
                    keccak256(abi.encode(seed, 4))
                );
                (bool success,) = t.handler.call(abi.encodePacked(t.selector, args));
                assertTrue(success, "a handler call reverted");
            }
            for (uint256 i; i < labels.length; ++i) {
                uint256 n = store.hitsOf(keccak256(bytes(labels[i])));
                hits[i] += n;
                if (n != 0) reached[i]++;
            }
            for (uint256 bit; bit < reasons.length; ++bit) {
                if (store.reasonHits(bit) != 0) reasonReached[bit]++;
            }
            if (store.exitsWhilePaused() != 0) pausedExits++;
            if (store.blockedByPause() != 0) pausedBlocks++;
            _checkLedger();
            vm.revertToState(snapshot);
        }
        for (uint256 i; i < labels.length; ++i) {
            emit log_named_string(
                labels[i],
                string.concat("sequences ", vm.toString(reached[i]), ", hits ", vm.toString(hits[i]))
            );
        }
        for (uint256 bit = 1; bit < reasons.length; ++bit) {
            emit log_named_uint(
                string.concat("sequences refusing a claim: ", reasons[bit]), reasonReached[bit]
            );
        }
        emit log_named_uint("sequences with exits while paused", pausedExits);
        emit log_named_uint("sequences refusing new business while paused", pausedBlocks);
        for (uint256 i; i < labels.length; ++i) {
            assertGt(reached[i], 0, labels[i]);
        }
        // Every claim rule but RUN_NOT_FOUND (the handlers only claim existing runs).
        for (uint256 bit = 1; bit < reasons.length; ++bit) {
            assertGt(reasonReached[bit], 0, reasons[bit]);
        }
        assertGt(pausedExits, 0, "no exit while paused");
        assertGt(pausedBlocks, 0, "no new business refused while paused");
    }
}
