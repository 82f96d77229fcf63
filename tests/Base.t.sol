// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Test} from "./utils/Test.sol";
import {MockUSDC} from "../contracts/mocks/MockUSDC.sol";
import {RunEscrow} from "../contracts/RunEscrow.sol";
import {StakeVault} from "../contracts/StakeVault.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../contracts/interfaces/IStakeVault.sol";
import {IUSDC} from "../contracts/interfaces/IUSDC.sol";

/// @notice Shared fixture: MockUSDC, StakeVault and RunEscrow with the SPEC §2.1 defaults (the
/// arbitrator is its own actor), funded actors and helpers that walk a run to any state.
abstract contract Base is Test {
    uint64 internal constant MIN_STAKE = 20e6;
    uint16 internal constant FEE_BPS = 500;
    uint32 internal constant CLAIM_TIMEOUT = 7 days;
    uint32 internal constant REVIEW_PERIOD = 7 days;
    uint32 internal constant DISPUTE_WINDOW = 3 days;
    uint32 internal constant RULING_PERIOD = 14 days;
    uint32 internal constant COOLDOWN = 7 days;
    uint16 internal constant STRIKES_TO_BAN = 3;
    uint16 internal constant ESTABLISHED_COMPLETIONS = 5;
    uint32 internal constant ESTABLISHED_AGE = 30 days;

    uint256 internal constant REWARD = 100e6;
    uint256 internal constant FEE = 5e6; // REWARD * FEE_BPS / 10_000
    uint256 internal constant FUNDING = 1_000_000e6;
    uint8 internal constant MAX_REVISIONS = 3;
    string internal constant SPEC = "ipfs://bafyspec";
    string internal constant DELIVERABLE = "ipfs://bafydeliverable";
    string internal constant REASON = "ipfs://bafyreason";
    string internal constant EVIDENCE = "ipfs://bafyevidence";

    MockUSDC internal usdc;
    StakeVault internal vault;
    RunEscrow internal escrow;

    address internal owner;
    address internal treasury;
    address internal poster;
    uint256 internal posterKey;
    address internal agentWallet;
    uint256 internal agentKey;
    address internal otherAgentWallet;
    address internal stranger;
    address internal arbitrator;

    function setUp() public virtual {
        owner = makeAddr("owner");
        treasury = makeAddr("treasury");
        (poster, posterKey) = makeAddrAndKey("poster");
        (agentWallet, agentKey) = makeAddrAndKey("agent");
        otherAgentWallet = makeAddr("otherAgent");
        stranger = makeAddr("stranger");
        arbitrator = makeAddr("arbitrator");
        vm.warp(1_750_000_000);

        usdc = MockUSDC(address(_deployToken()));
        vault = new StakeVault(IUSDC(address(usdc)), owner, defaultVaultParameters());
        escrow = new RunEscrow(IUSDC(address(usdc)), vault, owner, treasury, defaultEscrowParameters());
        vm.prank(owner);
        vault.setRunEscrow(address(escrow));

        address[4] memory actors = [poster, agentWallet, otherAgentWallet, stranger];
        for (uint256 i; i < actors.length; ++i) {
            vm.prank(owner);
            usdc.mint(actors[i], FUNDING);
            vm.startPrank(actors[i]);
            usdc.approve(address(escrow), type(uint256).max);
            usdc.approve(address(vault), type(uint256).max);
            vm.stopPrank();
        }
    }

    /// @dev The USDC the fixture uses; attack suites override it with a hostile token.
    function _deployToken() internal virtual returns (MockUSDC) {
        vm.prank(owner);
        return new MockUSDC(owner);
    }

    function defaultVaultParameters() internal pure returns (IStakeVault.Parameters memory) {
        return IStakeVault.Parameters({
            minStake: MIN_STAKE,
            unstakeCooldown: COOLDOWN,
            strikesToBan: STRIKES_TO_BAN,
            establishedCompletions: ESTABLISHED_COMPLETIONS,
            establishedAge: ESTABLISHED_AGE
        });
    }

    function defaultEscrowParameters() internal view returns (IRunEscrow.Parameters memory) {
        return IRunEscrow.Parameters({
            feeBps: FEE_BPS,
            claimTimeout: CLAIM_TIMEOUT,
            reviewPeriod: REVIEW_PERIOD,
            disputeWindow: DISPUTE_WINDOW,
            rulingPeriod: RULING_PERIOD,
            arbitrator: arbitrator
        });
    }

    function defaultDeadline() internal view returns (uint256) {
        return block.timestamp + 30 days;
    }

    /*//////////////////////////////////////////////////////////////
                                 AGENTS
    //////////////////////////////////////////////////////////////*/

    function _register(address wallet) internal returns (uint256 agentId) {
        vm.prank(wallet);
        agentId = vault.register("ipfs://agent");
    }

    function _registerAndStake(address wallet, uint256 amount) internal returns (uint256 agentId) {
        agentId = _register(wallet);
        if (amount != 0) {
            vm.prank(wallet);
            vault.stake(amount);
        }
    }

    /// @dev The fixture's main agent: registered with exactly the minimum stake.
    function _agent() internal returns (uint256) {
        return _registerAndStake(agentWallet, MIN_STAKE);
    }

    /*//////////////////////////////////////////////////////////////
                                  RUNS
    //////////////////////////////////////////////////////////////*/

    function _draftRun() internal returns (uint256 runId) {
        vm.prank(poster);
        runId = escrow.createRun(SPEC, REWARD, defaultDeadline(), MAX_REVISIONS, 0, 0);
    }

    function _openRun() internal returns (uint256 runId) {
        return _openRun(REWARD, MAX_REVISIONS);
    }

    function _openRun(uint256 reward, uint256 maxRevisions) internal returns (uint256 runId) {
        vm.prank(poster);
        runId = escrow.createAndFund(SPEC, reward, defaultDeadline(), maxRevisions, 0, 0);
    }

    function _claimedRun(uint256 agentId) internal returns (uint256 runId) {
        runId = _openRun();
        vm.prank(vault.walletOf(agentId));
        escrow.claim(runId, agentId);
    }

    function _submittedRun(uint256 agentId) internal returns (uint256 runId) {
        runId = _claimedRun(agentId);
        vm.prank(vault.walletOf(agentId));
        escrow.submit(runId, DELIVERABLE);
    }

    /// @dev A SUBMITTED run whose revisions are used up (ready for reject).
    function _exhaustedRun(uint256 agentId) internal returns (uint256 runId) {
        runId = _submittedRun(agentId);
        address wallet = vault.walletOf(agentId);
        for (uint256 i; i < MAX_REVISIONS; ++i) {
            vm.prank(poster);
            escrow.requestRevision(runId, "more");
            vm.prank(wallet);
            escrow.submit(runId, DELIVERABLE);
        }
    }

    /// @dev A REJECTED run (bond posted, window open) of the fixture's poster.
    function _rejectedRun(uint256 agentId) internal returns (uint256 runId) {
        runId = _exhaustedRun(agentId);
        vm.prank(poster);
        escrow.reject(runId, REASON);
    }

    /// @dev A DISPUTED run (ruling period open).
    function _disputedRun(uint256 agentId) internal returns (uint256 runId) {
        runId = _rejectedRun(agentId);
        vm.prank(vault.walletOf(agentId));
        escrow.dispute(runId, EVIDENCE);
    }

    function _state(uint256 runId) internal view returns (IRunEscrow.RunState) {
        return escrow.getRun(runId).state;
    }

    function assertState(uint256 runId, IRunEscrow.RunState expected) internal view {
        assertEq(uint256(_state(runId)), uint256(expected), "run state");
    }

    function assertStatus(uint256 agentId, IStakeVault.AgentStatus expected) internal view {
        assertEq(uint256(vault.statusOf(agentId)), uint256(expected), "agent status");
    }
}
