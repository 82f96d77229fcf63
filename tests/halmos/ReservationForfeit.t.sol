// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {MockUSDC} from "../../contracts/mocks/MockUSDC.sol";
import {RunEscrow} from "../../contracts/RunEscrow.sol";
import {StakeVault} from "../../contracts/StakeVault.sol";
import {IRunEscrow} from "../../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../../contracts/interfaces/IStakeVault.sol";
import {IUSDC} from "../../contracts/interfaces/IUSDC.sol";
import {Vm, VM_ADDRESS} from "../utils/Vm.sol";

/// @notice The symbolic-value cheatcodes of halmos (the `SVM` interface of the halmos-cheatcodes
/// package), declared here as `Vm.sol` declares forge's: the package is not available offline.
/// @dev Only exists under halmos; forge never calls it because it runs no `check_` function.
interface SVM {
    function createUint(uint256 bitSize, string calldata name) external pure returns (uint256 value);
}

/// @notice Symbolic proof (halmos) of SPEC §2.1/§2.2: "a claim keeps the stake it reserved — an
/// owner change never alters a live claim": a forfeit takes exactly the reservation, whatever
/// parameters the owner sets between the claim and the forfeit.
/// @dev Run with `halmos --contract ReservationForfeitTest` (see tests/halmos/README.md). The
/// functions are named `check_` (halmos' prefix), so `forge test` never runs them. Plain `assert`
/// is used: halmos reports a failing `assert` (panic 0x01) as a counterexample.
contract ReservationForfeitTest {
    Vm internal constant vm = Vm(VM_ADDRESS);
    SVM internal constant svm = SVM(address(uint160(uint256(keccak256("svm cheat code")))));

    uint64 internal constant MIN_STAKE = 20e6;
    uint256 internal constant REWARD = 100e6;
    uint256 internal constant FUNDING = type(uint64).max;

    address internal constant OWNER = address(0x10000);
    address internal constant TREASURY = address(0x20000);
    address internal constant POSTER = address(0x30000);
    address internal constant AGENT = address(0x40000);
    address internal constant ARBITRATOR = address(0x50000);

    MockUSDC internal usdc;
    StakeVault internal vault;
    RunEscrow internal escrow;
    uint256 internal agentId;

    function setUp() public {
        usdc = new MockUSDC(OWNER);
        vault = new StakeVault(
            IUSDC(address(usdc)),
            OWNER,
            IStakeVault.Parameters({
                minStake: MIN_STAKE,
                unstakeCooldown: 7 days,
                strikesToBan: 3,
                establishedCompletions: 5,
                establishedAge: 30 days
            })
        );
        escrow = new RunEscrow(
            IUSDC(address(usdc)),
            vault,
            OWNER,
            TREASURY,
            IRunEscrow.Parameters({
                feeBps: 500,
                claimTimeout: 7 days,
                reviewPeriod: 7 days,
                disputeWindow: 3 days,
                rulingPeriod: 14 days,
                arbitrator: ARBITRATOR
            })
        );
        vm.prank(OWNER);
        vault.setRunEscrow(address(escrow));

        address[2] memory actors = [POSTER, AGENT];
        for (uint256 i; i < actors.length; ++i) {
            vm.prank(OWNER);
            usdc.mint(actors[i], FUNDING);
            vm.prank(actors[i]);
            usdc.approve(address(escrow), type(uint256).max);
            vm.prank(actors[i]);
            usdc.approve(address(vault), type(uint256).max);
        }
        vm.prank(AGENT);
        agentId = vault.register("ipfs://agent");
    }

    /// @dev Any parameters the owner may set: each field symbolic within the bounds
    /// {StakeVault.setParameters} enforces.
    function _symbolicParameters() internal pure returns (IStakeVault.Parameters memory p) {
        p.minStake = uint64(svm.createUint(64, "minStake"));
        p.unstakeCooldown = uint32(svm.createUint(32, "unstakeCooldown"));
        p.strikesToBan = uint16(svm.createUint(16, "strikesToBan"));
        p.establishedCompletions = uint16(svm.createUint(16, "establishedCompletions"));
        p.establishedAge = uint32(svm.createUint(32, "establishedAge"));
        vm.assume(p.minStake > 0);
        vm.assume(p.unstakeCooldown >= 1 days && p.unstakeCooldown <= 90 days);
        vm.assume(p.strikesToBan >= 1);
    }

    /// @notice Through the hooks: any stake, a symbolic reservation next to another live one and
    /// some pending stake, any new parameters, any forfeiting outcome, reward and earnings — the
    /// forfeit takes exactly the reservation from the stake and hands exactly it to the escrow,
    /// leaving the other reservation and the pending stake alone.
    function check_HookForfeitTakesExactlyTheReservation() public {
        uint256 staked = svm.createUint(64, "staked");
        uint256 reserved = svm.createUint(64, "reserved");
        uint256 otherReserved = svm.createUint(64, "otherReserved");
        uint256 pending = svm.createUint(64, "pending");
        vm.assume(staked >= MIN_STAKE);
        vm.assume(pending >= 1);
        vm.assume(reserved + otherReserved + pending <= staked);

        vm.prank(AGENT);
        vault.stake(staked);
        vm.prank(AGENT);
        vault.requestUnstake(pending);
        vm.prank(address(escrow));
        (, uint256 reasons) = vault.reserve(agentId, reserved);
        vm.assume(reasons == 0);
        vm.prank(address(escrow));
        (, reasons) = vault.reserve(agentId, otherReserved);
        vm.assume(reasons == 0);

        vm.prank(OWNER);
        vault.setParameters(_symbolicParameters());

        uint256 outcome = svm.createUint(8, "outcome");
        vm.assume(outcome >= uint256(IStakeVault.Outcome.SLASHED));
        vm.assume(outcome <= uint256(IStakeVault.Outcome.DISPUTE_LOST_STRUCK));
        uint256 reward = svm.createUint(64, "reward");
        uint256 earned = svm.createUint(64, "earned");
        vm.assume(earned <= reward);

        IStakeVault.Agent memory before = vault.getAgent(agentId);
        uint256 escrowBefore = usdc.balanceOf(address(escrow));
        uint256 vaultBefore = usdc.balanceOf(address(vault));
        uint256 totalBefore = vault.totalStaked();

        vm.prank(address(escrow));
        (, uint256 forfeited) =
            vault.settleClaim(agentId, 1, reserved, IStakeVault.Outcome(outcome), reward, earned);

        IStakeVault.Agent memory afterwards = vault.getAgent(agentId);
        assert(forfeited == reserved);
        assert(afterwards.stake == before.stake - reserved);
        assert(afterwards.reserved == otherReserved);
        assert(afterwards.pendingUnstake == pending);
        assert(usdc.balanceOf(address(escrow)) == escrowBefore + reserved);
        assert(usdc.balanceOf(address(vault)) == vaultBefore - reserved);
        assert(vault.totalStaked() == totalBefore - reserved);
        assert(usdc.balanceOf(address(vault)) == vault.totalStaked() + vault.totalPending());
    }

    /// @notice Through the real RunEscrow: a run requiring a symbolic stake is claimed, the owner
    /// sets any parameters, and the claim is forfeited by a slash, an abandon, a ruling of 49.99%
    /// or a ruling of 0% with a strike. The agent loses exactly the reservation, and the vault pays
    /// exactly it out (to the escrow, which passes it to the poster in the same call).
    function check_EscrowForfeitTakesExactlyTheReservation() public {
        uint256 staked = svm.createUint(64, "staked");
        uint256 required = svm.createUint(64, "requiredStake");
        vm.assume(required >= MIN_STAKE && required <= staked);

        vm.prank(AGENT);
        vault.stake(staked);
        // No revisions: a submission can be rejected at once, so a dispute is three calls away.
        vm.prank(POSTER);
        uint256 runId = escrow.createAndFund("ipfs://spec", REWARD, block.timestamp + 30 days, 0, required, 0);
        vm.prank(AGENT);
        escrow.claim(runId, agentId);

        uint256 path = svm.createUint(2, "path");
        if (path >= 2) {
            vm.prank(AGENT);
            escrow.submit(runId, "ipfs://deliverable");
            vm.prank(POSTER);
            escrow.reject(runId, "ipfs://reason");
            vm.prank(AGENT);
            escrow.dispute(runId, "ipfs://evidence");
        }

        vm.prank(OWNER);
        vault.setParameters(_symbolicParameters());

        uint256 stakeBefore = vault.getAgent(agentId).stake;
        uint256 vaultBefore = usdc.balanceOf(address(vault));
        if (path == 0) {
            vm.warp(block.timestamp + 7 days + 1);
            vm.prank(POSTER);
            escrow.slash(runId);
        } else if (path == 1) {
            vm.prank(AGENT);
            escrow.abandon(runId);
        } else {
            // The share is concrete: a symbolic one puts 256-bit division into every query (the
            // hook check above covers every forfeiting outcome symbolically).
            vm.prank(ARBITRATOR);
            escrow.resolve(runId, path == 2 ? 4999 : 0, path == 3);
        }

        IStakeVault.Agent memory afterwards = vault.getAgent(agentId);
        assert(afterwards.stake == stakeBefore - required);
        assert(afterwards.reserved == 0);
        assert(usdc.balanceOf(address(vault)) == vaultBefore - required);
        // Solvency (balance == totalStaked + totalPending) is proved by the hook check above; here
        // its 128-bit total against the 256-bit balance makes the solver time out.
    }
}
