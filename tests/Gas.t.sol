// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.t.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";

/// @notice Gas of every user-facing call, measured alone and written to `snapshots/RunEscrow.json`
/// and `snapshots/StakeVault.json` by `forge test`. A benchmark, not a test of numbers: the diff of
/// the committed snapshot is the review signal.
/// @dev Every state a call needs is prepared in {setUp}, which forge runs as its own transaction, so
/// each measured call meets storage as a real transaction would: every slot cold, and the gas of a
/// write priced against the value committed before the transaction (a run created in the same
/// test would make its slots "dirty" and its writes far too cheap). The only thing warmed before a
/// measurement is the called contract's account, which a transaction's `to` always is. The
/// marketplace is measured in steady state: some runs exist, the poster, escrow, agent and treasury
/// already hold USDC, fees have accrued, so no write is the one-off zero-to-nonzero of a fresh
/// deployment.
///
/// Each call is recorded twice: `<name>` is its execution gas, `tx_<name>` what the transaction
/// costs (execution + the 21,000 base + calldata at 16/4 gas per non-zero/zero byte). The happy
/// path (createAndFund + claim + submit + approve) is the sum of their `tx_` values.
contract GasBenchmark is Base {
    string internal constant ESCROW = "RunEscrow";
    string internal constant VAULT = "StakeVault";

    uint256 internal agentId;
    uint256 internal draftRunId;
    uint256 internal openRunId;
    uint256 internal claimedRunId;
    uint256 internal submittedRunId;
    uint256 internal exhaustedRunId;
    uint256 internal rejectedRunId;
    uint256 internal disputedRunId;
    /// @dev Kept here so no measurement has to read the escrow to know when to warp to.
    uint256 internal openDeadline;
    uint256 internal claimedAt;
    uint256 internal rejectedAt;
    uint256 internal disputedAt;

    function setUp() public override {
        super.setUp();
        // Enough stake for every claim the fixture holds at once.
        agentId = _registerAndStake(agentWallet, 10 * MIN_STAKE);
        // Steady state: fees have accrued, the agent has been paid before, the poster has had a
        // bond back.
        uint256 warmup = _submittedRun(agentId);
        vm.prank(poster);
        escrow.approve(warmup);
        uint256 warmupRejected = _rejectedRun(agentId);
        vm.prank(poster);
        escrow.approve(warmupRejected);

        draftRunId = _draftRun();
        openRunId = _openRun();
        openDeadline = escrow.getRun(openRunId).deadline;
        claimedRunId = _claimedRun(agentId);
        claimedAt = block.timestamp;
        submittedRunId = _submittedRun(agentId);
        exhaustedRunId = _exhaustedRun(agentId);
        rejectedRunId = _rejectedRun(agentId);
        rejectedAt = block.timestamp;
        disputedRunId = _disputedRun(agentId);
        disputedAt = block.timestamp;
        // Registered, not yet staked: measures the stake that makes an agent eligible.
        _register(otherAgentWallet);
        // Time passes between the steps of a run, so a measured call that stores the time writes a
        // new value (a write of an unchanged slot costs 100 gas instead of 2,900).
        vm.warp(block.timestamp + 1 hours);
    }

    /// @dev Calls `target` with `data` from `from`, records execution and transaction gas as `name`.
    function _measure(
        string memory group,
        string memory name,
        address target,
        address from,
        bytes memory data
    ) internal {
        // Warm the account the transaction is sent to, as a transaction's `to` always is, without
        // touching its storage (`usdc()` returns an immutable).
        (bool warmed,) = target.staticcall(abi.encodeWithSignature("usdc()"));
        require(warmed, "warm");
        vm.prank(from);
        vm.startSnapshotGas(group, name);
        (bool ok, bytes memory ret) = target.call(data);
        uint256 used = vm.stopSnapshotGas();
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        vm.snapshotValue(group, string.concat("tx_", name), used + 21_000 + _calldataGas(data));
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    function _escrow(string memory name, address from, bytes memory data) internal {
        _measure(ESCROW, name, address(escrow), from, data);
    }

    /*//////////////////////////////////////////////////////////////
                                POSTER
    //////////////////////////////////////////////////////////////*/

    function test_Gas_createAndFund() public {
        _escrow(
            "createAndFund",
            poster,
            abi.encodeCall(IRunEscrow.createAndFund, (SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0))
        );
    }

    function test_Gas_createRun() public {
        _escrow(
            "createRun",
            poster,
            abi.encodeCall(IRunEscrow.createRun, (SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0))
        );
    }

    function test_Gas_fund() public {
        _escrow("fund", poster, abi.encodeCall(IRunEscrow.fund, (draftRunId)));
    }

    function test_Gas_cancel() public {
        _escrow("cancel", poster, abi.encodeCall(IRunEscrow.cancel, (openRunId)));
    }

    function test_Gas_approve() public {
        _escrow("approve", poster, abi.encodeCall(IRunEscrow.approve, (submittedRunId)));
    }

    function test_Gas_approveDisputed() public {
        _escrow("approveDisputed", poster, abi.encodeCall(IRunEscrow.approve, (disputedRunId)));
    }

    function test_Gas_requestRevision() public {
        _escrow(
            "requestRevision", poster, abi.encodeCall(IRunEscrow.requestRevision, (submittedRunId, REASON))
        );
    }

    function test_Gas_reject() public {
        _escrow("reject", poster, abi.encodeCall(IRunEscrow.reject, (exhaustedRunId, REASON)));
    }

    /*//////////////////////////////////////////////////////////////
                                 AGENT
    //////////////////////////////////////////////////////////////*/

    function test_Gas_claim() public {
        _escrow("claim", agentWallet, abi.encodeCall(IRunEscrow.claim, (openRunId, agentId)));
    }

    function test_Gas_start() public {
        _escrow("start", agentWallet, abi.encodeCall(IRunEscrow.start, (claimedRunId)));
    }

    function test_Gas_submit() public {
        _escrow("submit", agentWallet, abi.encodeCall(IRunEscrow.submit, (claimedRunId, DELIVERABLE)));
    }

    function test_Gas_abandon() public {
        _escrow("abandon", agentWallet, abi.encodeCall(IRunEscrow.abandon, (claimedRunId)));
    }

    function test_Gas_dispute() public {
        _escrow("dispute", agentWallet, abi.encodeCall(IRunEscrow.dispute, (rejectedRunId, EVIDENCE)));
    }

    function test_Gas_acceptRejection() public {
        _escrow("acceptRejection", agentWallet, abi.encodeCall(IRunEscrow.acceptRejection, (rejectedRunId)));
    }

    function test_Gas_submitEvidence() public {
        _escrow(
            "submitEvidence", poster, abi.encodeCall(IRunEscrow.submitEvidence, (disputedRunId, EVIDENCE))
        );
    }

    /*//////////////////////////////////////////////////////////////
                          ARBITRATOR AND ANYONE
    //////////////////////////////////////////////////////////////*/

    function test_Gas_resolve() public {
        _escrow("resolve", arbitrator, abi.encodeCall(IRunEscrow.resolve, (disputedRunId, 6000, false)));
    }

    function test_Gas_settleDispute() public {
        vm.warp(disputedAt + RULING_PERIOD + 1);
        _escrow("settleDispute", stranger, abi.encodeCall(IRunEscrow.settleDispute, (disputedRunId)));
    }

    function test_Gas_finalizeRejection() public {
        vm.warp(rejectedAt + DISPUTE_WINDOW + 1);
        _escrow("finalizeRejection", stranger, abi.encodeCall(IRunEscrow.finalizeRejection, (rejectedRunId)));
    }

    function test_Gas_slash() public {
        vm.warp(claimedAt + CLAIM_TIMEOUT + 1);
        _escrow("slash", poster, abi.encodeCall(IRunEscrow.slash, (claimedRunId)));
    }

    function test_Gas_approveOnTimeout() public {
        vm.warp(block.timestamp + REVIEW_PERIOD + 1);
        _escrow("approveOnTimeout", stranger, abi.encodeCall(IRunEscrow.approveOnTimeout, (submittedRunId)));
    }

    function test_Gas_expire() public {
        vm.warp(openDeadline + 1);
        _escrow("expire", stranger, abi.encodeCall(IRunEscrow.expire, (openRunId)));
    }

    function test_Gas_withdrawFees() public {
        _escrow("withdrawFees", stranger, abi.encodeCall(IRunEscrow.withdrawFees, ()));
    }

    /*//////////////////////////////////////////////////////////////
                                 VAULT
    //////////////////////////////////////////////////////////////*/

    function test_Gas_register() public {
        _measure(
            VAULT,
            "register",
            address(vault),
            stranger,
            abi.encodeCall(IStakeVault.register, ("ipfs://agent"))
        );
    }

    function test_Gas_stake() public {
        _measure(
            VAULT, "stake", address(vault), otherAgentWallet, abi.encodeCall(IStakeVault.stake, (MIN_STAKE))
        );
    }

    function test_Gas_requestUnstake() public {
        _measure(
            VAULT,
            "requestUnstake",
            address(vault),
            agentWallet,
            abi.encodeCall(IStakeVault.requestUnstake, (MIN_STAKE))
        );
    }
}
