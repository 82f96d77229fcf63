// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "../Base.t.sol";
import {Handler} from "./Handler.sol";
import {BlacklistUSDC} from "../mocks/BlacklistUSDC.sol";
import {MockUSDC} from "../../contracts/mocks/MockUSDC.sol";
import {IRunEscrow} from "../../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../../contracts/interfaces/IStakeVault.sol";

/// @title Invariants
/// @notice Protocol-wide properties of RunEscrow and StakeVault, checked after every call of a random
/// sequence of {Handler} actions: 3 posters, 4 agents (3 staked at the start), a token that can
/// blacklist one agent, one poster and the treasury (so failed payouts become credits), owner
/// parameter changes, and time moving forward.
contract Invariants is Base {
    /// @dev forge prints these (ds-test log events) with -vv.
    event log_named_uint(string key, uint256 val);
    event log_named_string(string key, string val);

    uint256 internal constant NUM_POSTERS = 3;
    uint256 internal constant NUM_AGENTS = 4;
    uint256 internal constant POSTER_FUNDING = 1_000_000_000e6;
    uint256 internal constant CAMPAIGN_RUNS = 64;
    uint256 internal constant CAMPAIGN_DEPTH = 64;

    Handler internal handler;
    BlacklistUSDC internal token;

    function setUp() public override {
        super.setUp();
        token = BlacklistUSDC(address(usdc));

        address[] memory posters = new address[](NUM_POSTERS);
        for (uint256 i; i < NUM_POSTERS; ++i) {
            posters[i] = makeAddr(string.concat("poster", vm.toString(i)));
            _fund(posters[i], POSTER_FUNDING);
        }
        address[] memory agentWallets = new address[](NUM_AGENTS);
        for (uint256 i; i < NUM_AGENTS; ++i) {
            agentWallets[i] = makeAddr(string.concat("agentWallet", vm.toString(i)));
            _fund(agentWallets[i], FUNDING);
            // Agents 0, 1 and 3 start staked (PROVISIONAL); agent 2 starts UNVERIFIED.
            _registerAndStake(agentWallets[i], i == 2 ? 0 : 2 * MIN_STAKE);
        }
        // The blacklistable accounts: one agent, one poster and the treasury.
        address[] memory blacklistable = new address[](3);
        blacklistable[0] = agentWallets[3];
        blacklistable[1] = posters[2];
        blacklistable[2] = treasury;

        handler = new Handler(
            token, vault, escrow, owner, treasury, stranger, posters, agentWallets, blacklistable
        );
        // Start with the agent and the treasury blacklisted, so approvals soon become credits.
        vm.startPrank(owner);
        token.blacklist(agentWallets[3]);
        token.blacklist(treasury);
        vm.stopPrank();

        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: handler.selectors()}));
    }

    /// @dev The fixture's token, with the blacklist; owned by the fixture's owner.
    function _deployToken() internal override returns (MockUSDC) {
        vm.prank(owner);
        return new BlacklistUSDC(owner);
    }

    function _fund(address account, uint256 amount) internal {
        vm.prank(owner);
        usdc.mint(account, amount);
        vm.startPrank(account);
        usdc.approve(address(escrow), type(uint256).max);
        usdc.approve(address(vault), type(uint256).max);
        vm.stopPrank();
    }

    /*//////////////////////////////////////////////////////////////
                                ESCROW
    //////////////////////////////////////////////////////////////*/

    /// @notice The escrow holds exactly the reward + fee of every funded, unsettled run plus the unpaid
    /// credits of everyone it ever paid.
    function invariant_EscrowBalanceEqualsLiveRunsPlusCredits() public view {
        uint256 owed;
        uint256 count = escrow.runCount();
        for (uint256 runId = 1; runId <= count; ++runId) {
            IRunEscrow.Run memory run = escrow.getRun(runId);
            if (_inMask(run.state, handler.M_LIVE_FUNDED())) owed += run.reward + run.fee;
        }
        address[] memory accounts = handler.allAccounts();
        for (uint256 i; i < accounts.length; ++i) {
            owed += escrow.creditOf(accounts[i]);
        }
        assertEq(usdc.balanceOf(address(escrow)), owed, "escrow balance != live escrow + credits");
    }

    /// @notice Every USDC that entered or left the escrow is one the model expected to move.
    function invariant_EscrowBalanceEqualsGhostFlows() public view {
        uint256 inflow = handler.ghost_escrowFunded() + handler.ghost_escrowSlashedIn();
        assertEq(
            usdc.balanceOf(address(escrow)),
            inflow - handler.ghost_escrowPaidOut(),
            "escrow balance != in - out"
        );
        assertEq(
            handler.ghost_creditsAdded() - handler.ghost_creditsWithdrawn(),
            _sumCredits(),
            "credits owed != credits added - withdrawn"
        );
    }

    /// @notice The escrow never paid out more than was paid in.
    function invariant_EscrowOutflowsNeverExceedInflows() public view {
        assertLe(
            handler.ghost_escrowPaidOut(),
            handler.ghost_escrowFunded() + handler.ghost_escrowSlashedIn(),
            "escrow paid out more than it received"
        );
    }

    /// @notice Every payout and pull matched the run's recorded terms, to the unit.
    function invariant_PayoutsMatchTheModel() public view {
        assertEq(handler.ghost_payoutMismatches(), 0, handler.ghost_lastMismatch());
    }

    /// @notice Every call the model considers valid succeeds: no settlement is blocked.
    function invariant_ValidActionsNeverRevert() public view {
        assertEq(handler.ghost_unexpectedReverts(), 0, handler.ghost_lastUnexpected());
    }

    /*//////////////////////////////////////////////////////////////
                                 VAULT
    //////////////////////////////////////////////////////////////*/

    /// @notice The vault holds exactly the active plus pending stake of every agent.
    function invariant_VaultBalanceEqualsStakes() public view {
        uint256[] memory ids = handler.agentIds();
        uint256 stakes;
        uint256 pending;
        for (uint256 i; i < ids.length; ++i) {
            IStakeVault.Agent memory agent = vault.getAgent(ids[i]);
            stakes += agent.stake;
            pending += agent.pendingUnstake;
        }
        assertEq(vault.totalStaked(), stakes, "totalStaked != sum of stakes");
        assertEq(vault.totalPending(), pending, "totalPending != sum of pending");
        assertEq(usdc.balanceOf(address(vault)), stakes + pending, "vault balance != stakes + pending");
    }

    /// @notice The vault's balance is what was staked minus what was withdrawn and slashed.
    function invariant_VaultBalanceEqualsGhostFlows() public view {
        assertEq(
            usdc.balanceOf(address(vault)),
            handler.ghost_vaultStaked() - handler.ghost_vaultWithdrawn() - handler.ghost_vaultSlashed(),
            "vault balance != staked - withdrawn - slashed"
        );
        assertLe(handler.ghost_vaultWithdrawn(), handler.ghost_vaultStaked(), "withdrew more than staked");
    }

    /// @notice An agent's active claims are exactly the runs it holds.
    function invariant_ActiveClaimsMatchHeldRuns() public view {
        uint256[] memory ids = handler.agentIds();
        uint256[] memory held = new uint256[](ids.length);
        uint256 count = escrow.runCount();
        for (uint256 runId = 1; runId <= count; ++runId) {
            IRunEscrow.Run memory run = escrow.getRun(runId);
            if (!_inMask(run.state, handler.M_HELD())) continue;
            for (uint256 i; i < ids.length; ++i) {
                if (ids[i] == run.agentId) held[i]++;
            }
        }
        for (uint256 i; i < ids.length; ++i) {
            assertEq(vault.getAgent(ids[i]).activeClaims, held[i], "activeClaims != held runs");
        }
    }

    /*//////////////////////////////////////////////////////////////
                                  RUNS
    //////////////////////////////////////////////////////////////*/

    /// @notice A run that reached APPROVED, REJECTED, CANCELLED or EXPIRED stays there.
    function invariant_TerminalStatesNeverChange() public view {
        uint256 count = escrow.runCount();
        for (uint256 runId = 1; runId <= count; ++runId) {
            if (!handler.ghost_isTerminal(runId)) continue;
            assertEq(
                uint256(escrow.getRun(runId).state),
                uint256(handler.ghost_terminalState(runId)),
                "terminal state changed"
            );
        }
        assertEq(handler.ghost_terminalMutations(), 0, "a call on a settled run succeeded");
    }

    /// @notice A run's escrow is settled exactly once, when it reaches a terminal state.
    function invariant_RunsSettleOnce() public view {
        uint256 count = escrow.runCount();
        for (uint256 runId = 1; runId <= count; ++runId) {
            bool terminal = _inMask(escrow.getRun(runId).state, handler.M_TERMINAL());
            assertEq(handler.ghost_settlements(runId), terminal ? 1 : 0, "settlements of a run");
        }
    }

    /// @notice No agent is both paid and slashed for the same run: a slashed agent can never claim
    /// that run again (`AGENT_SLASHED_ON_RUN`), so no later claim of it can be paid either.
    function invariant_NoAgentPaidAndSlashedForTheSameRun() public view {
        uint256[] memory ids = handler.agentIds();
        uint256 count = escrow.runCount();
        for (uint256 runId = 1; runId <= count; ++runId) {
            for (uint256 i; i < ids.length; ++i) {
                bool paid = handler.ghost_paidEpisode(runId, ids[i]) != 0;
                bool slashed = handler.ghost_slashedEpisode(runId, ids[i]) != 0;
                assertFalse(paid && slashed, "agent paid and slashed for one run");
                assertEq(escrow.slashedOnRun(runId, ids[i]), slashed, "slashedOnRun matches the model");
            }
        }
        assertEq(handler.ghost_paidAfterEarlierSlash(), 0, "paid after an earlier slash on the run");
    }

    /// @notice The agent of an APPROVED run received exactly the reward, directly or as credit.
    function invariant_ApprovedAgentReceivedExactlyTheReward() public view {
        uint256 count = escrow.runCount();
        for (uint256 runId = 1; runId <= count; ++runId) {
            IRunEscrow.Run memory run = escrow.getRun(runId);
            if (run.state != IRunEscrow.RunState.APPROVED) continue;
            assertEq(
                handler.ghost_agentReceived(runId), handler.termsOf(runId).reward, "approved agent's receipt"
            );
        }
    }

    /// @notice Every run keeps the terms it was created with, whatever the owner changed since.
    function invariant_RunsKeepTheirTerms() public view {
        uint256 count = escrow.runCount();
        for (uint256 runId = 1; runId <= count; ++runId) {
            IRunEscrow.Run memory run = escrow.getRun(runId);
            Handler.Terms memory terms = handler.termsOf(runId);
            assertEq(run.poster, terms.poster, "poster");
            assertEq(run.reward, terms.reward, "reward");
            assertEq(run.fee, terms.fee, "fee");
            assertEq(run.deadline, terms.deadline, "deadline");
            assertEq(run.maxRevisions, terms.maxRevisions, "maxRevisions");
            assertEq(run.claimTimeout, terms.claimTimeout, "claimTimeout");
            assertEq(run.reviewPeriod, terms.reviewPeriod, "reviewPeriod");
            assertLe(run.revisionCount, run.maxRevisions, "revisionCount");
            // Only funded runs can be past DRAFT with money in them, and a DRAFT holds none.
            if (_inMask(run.state, handler.M_LIVE_FUNDED())) assertTrue(terms.funded, "live run never funded");
            if (run.state == IRunEscrow.RunState.DRAFT) assertFalse(terms.funded, "funded run still DRAFT");
        }
    }

    /// @notice Logs what the sequence reached (forge prints the last run's logs with -vv).
    function invariant_callSummary() public {
        uint256[] memory counts = handler.coverage();
        string[14] memory labels = handler.coverageLabels();
        for (uint256 i; i < counts.length; ++i) {
            emit log_named_uint(labels[i], counts[i]);
        }
        emit log_named_uint("paid after an earlier slash", handler.ghost_paidAfterEarlierSlash());
    }

    /// @notice The handler reaches every deep state within a default campaign: replays 64 sequences
    /// of 64 uniformly chosen actions with pseudo-random arguments (what `[invariant] runs = 64,
    /// depth = 64` gives the fuzzer) and counts the sequences that reached each state.
    function test_Handler_ReachesEveryStateInADefaultCampaign() public {
        bytes4[] memory actions = handler.selectors();
        string[14] memory labels = handler.coverageLabels();
        uint256[] memory sequencesReaching = new uint256[](labels.length);
        for (uint256 run; run < CAMPAIGN_RUNS; ++run) {
            uint256 snapshot = vm.snapshotState();
            for (uint256 call; call < CAMPAIGN_DEPTH; ++call) {
                bytes32 seed = keccak256(abi.encode(run, call));
                bytes memory args = abi.encode(
                    keccak256(abi.encode(seed, 1)),
                    keccak256(abi.encode(seed, 2)),
                    keccak256(abi.encode(seed, 3)),
                    keccak256(abi.encode(seed, 4))
                );
                (bool success,) =
                    address(handler).call(abi.encodePacked(actions[uint256(seed) % actions.length], args));
                assertTrue(success, "handler action reverted");
            }
            uint256[] memory counts = handler.coverage();
            for (uint256 i; i < counts.length; ++i) {
                if (counts[i] != 0) sequencesReaching[i]++;
            }
            vm.revertToState(snapshot);
        }
        for (uint256 i; i < labels.length; ++i) {
            emit log_named_uint(labels[i], sequencesReaching[i]);
        }
        for (uint256 i; i < labels.length; ++i) {
            assertGt(sequencesReaching[i], 0, labels[i]);
        }
    }

    /*//////////////////////////////////////////////////////////////
                                HELPERS
    //////////////////////////////////////////////////////////////*/

    function _inMask(IRunEscrow.RunState state, uint256 mask) internal pure returns (bool) {
        return (1 << uint256(state)) & mask != 0;
    }

    function _sumCredits() internal view returns (uint256 total) {
        address[] memory accounts = handler.allAccounts();
        for (uint256 i; i < accounts.length; ++i) {
            total += escrow.creditOf(accounts[i]);
        }
    }
}
