// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.t.sol";
import {RunEscrow} from "../contracts/RunEscrow.sol";
import {StakeVault} from "../contracts/StakeVault.sol";

/// @notice Gas of every user-facing call, measured alone and written to `snapshots/RunEscrow.json`
/// and `snapshots/StakeVault.json` by `forge test`. A benchmark, not a test of numbers: the diff of
/// the committed snapshot is the review signal.
/// @dev Every state a call needs is prepared in {setUp}, which forge runs as its own transaction, so
/// each measured call meets storage as a real transaction would: every slot cold, and the gas of a
/// write priced against the value committed before the transaction (a run created in the same
/// test would make its slots "dirty" and its writes far too cheap). The only thing warmed before a
/// measurement is the called contract's account, which a transaction's `to` always is. The
/// marketplace is measured in steady state: some runs exist, the poster, escrow, agent and treasury
/// already hold USDC, so no write is the one-off zero-to-nonzero of a fresh deployment.
contract GasBenchmark is Base {
    string internal constant ESCROW = "RunEscrow";
    string internal constant VAULT = "StakeVault";

    uint256 internal agentId;
    uint256 internal draftRunId;
    uint256 internal openRunId;
    uint256 internal claimedRunId;
    uint256 internal submittedRunId;
    uint256 internal exhaustedRunId;
    /// @dev Kept here so no measurement has to read the escrow to know when to warp to.
    uint256 internal openDeadline;
    uint256 internal claimedAt;

    function setUp() public override {
        super.setUp();
        agentId = _agent();
        // Steady state: the treasury has earned fees before, the agent has been paid before.
        uint256 warmup = _submittedRun(agentId);
        vm.prank(poster);
        escrow.approve(warmup);

        draftRunId = _draftRun();
        openRunId = _openRun();
        openDeadline = escrow.getRun(openRunId).deadline;
        claimedRunId = _claimedRun(agentId);
        claimedAt = block.timestamp;
        submittedRunId = _submittedRun(agentId);
        exhaustedRunId = _exhaustedRun(agentId);
        // Registered, not yet staked: measures the stake that makes an agent eligible.
        _register(otherAgentWallet);
    }

    /// @dev Warms the account the transaction is sent to without touching its storage (`usdc()`
    /// returns an immutable). Tests read their own storage into locals before measuring, so the
    /// snapshot holds only the call.
    function _warmEscrow() internal view returns (RunEscrow target) {
        target = escrow;
        target.usdc();
    }

    function _warmVault() internal view returns (StakeVault target) {
        target = vault;
        target.usdc();
    }

    /*//////////////////////////////////////////////////////////////
                                POSTER
    //////////////////////////////////////////////////////////////*/

    function test_Gas_createAndFund() public {
        uint256 deadline = defaultDeadline();
        RunEscrow target = _warmEscrow();
        vm.prank(poster);
        vm.startSnapshotGas(ESCROW, "createAndFund");
        target.createAndFund(SPEC, REWARD, deadline, MAX_REVISIONS);
        vm.stopSnapshotGas();
    }

    function test_Gas_createRun() public {
        uint256 deadline = defaultDeadline();
        RunEscrow target = _warmEscrow();
        vm.prank(poster);
        vm.startSnapshotGas(ESCROW, "createRun");
        target.createRun(SPEC, REWARD, deadline, MAX_REVISIONS);
        vm.stopSnapshotGas();
    }

    function test_Gas_fund() public {
        uint256 runId = draftRunId;
        RunEscrow target = _warmEscrow();
        vm.prank(poster);
        vm.startSnapshotGas(ESCROW, "fund");
        target.fund(runId);
        vm.stopSnapshotGas();
    }

    function test_Gas_cancel() public {
        uint256 runId = openRunId;
        RunEscrow target = _warmEscrow();
        vm.prank(poster);
        vm.startSnapshotGas(ESCROW, "cancel");
        target.cancel(runId);
        vm.stopSnapshotGas();
    }

    function test_Gas_approve() public {
        uint256 runId = submittedRunId;
        RunEscrow target = _warmEscrow();
        vm.prank(poster);
        vm.startSnapshotGas(ESCROW, "approve");
        target.approve(runId);
        vm.stopSnapshotGas();
    }

    function test_Gas_requestRevision() public {
        uint256 runId = submittedRunId;
        RunEscrow target = _warmEscrow();
        vm.prank(poster);
        vm.startSnapshotGas(ESCROW, "requestRevision");
        target.requestRevision(runId, "more");
        vm.stopSnapshotGas();
    }

    function test_Gas_reject() public {
        uint256 runId = exhaustedRunId;
        RunEscrow target = _warmEscrow();
        vm.prank(poster);
        vm.startSnapshotGas(ESCROW, "reject");
        target.reject(runId);
        vm.stopSnapshotGas();
    }

    /*//////////////////////////////////////////////////////////////
                                 AGENT
    //////////////////////////////////////////////////////////////*/

    function test_Gas_claim() public {
        (uint256 runId, uint256 id) = (openRunId, agentId);
        RunEscrow target = _warmEscrow();
        vm.prank(agentWallet);
        vm.startSnapshotGas(ESCROW, "claim");
        target.claim(runId, id);
        vm.stopSnapshotGas();
    }

    function test_Gas_start() public {
        uint256 runId = claimedRunId;
        RunEscrow target = _warmEscrow();
        vm.prank(agentWallet);
        vm.startSnapshotGas(ESCROW, "start");
        target.start(runId);
        vm.stopSnapshotGas();
    }

    function test_Gas_submit() public {
        uint256 runId = claimedRunId;
        RunEscrow target = _warmEscrow();
        vm.prank(agentWallet);
        vm.startSnapshotGas(ESCROW, "submit");
        target.submit(runId, DELIVERABLE);
        vm.stopSnapshotGas();
    }

    /*//////////////////////////////////////////////////////////////
                                 ANYONE
    //////////////////////////////////////////////////////////////*/

    function test_Gas_slash() public {
        uint256 runId = claimedRunId;
        vm.warp(claimedAt + CLAIM_TIMEOUT + 1);
        RunEscrow target = _warmEscrow();
        vm.prank(poster);
        vm.startSnapshotGas(ESCROW, "slash");
        target.slash(runId);
        vm.stopSnapshotGas();
    }

    function test_Gas_expire() public {
        uint256 runId = openRunId;
        vm.warp(openDeadline + 1);
        RunEscrow target = _warmEscrow();
        vm.prank(stranger);
        vm.startSnapshotGas(ESCROW, "expire");
        target.expire(runId);
        vm.stopSnapshotGas();
    }

    /*//////////////////////////////////////////////////////////////
                                 VAULT
    //////////////////////////////////////////////////////////////*/

    function test_Gas_register() public {
        StakeVault target = _warmVault();
        vm.prank(stranger);
        vm.startSnapshotGas(VAULT, "register");
        target.register("ipfs://agent");
        vm.stopSnapshotGas();
    }

    function test_Gas_stake() public {
        StakeVault target = _warmVault();
        vm.prank(otherAgentWallet);
        vm.startSnapshotGas(VAULT, "stake");
        target.stake(MIN_STAKE);
        vm.stopSnapshotGas();
    }
}
