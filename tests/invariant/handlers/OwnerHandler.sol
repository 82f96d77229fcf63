// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BaseHandler} from "./BaseHandler.sol";
import {GhostStore} from "../stores/GhostStore.sol";
import {BlacklistUSDC} from "../../mocks/BlacklistUSDC.sol";
import {RunEscrow} from "../../../contracts/RunEscrow.sol";
import {StakeVault} from "../../../contracts/StakeVault.sol";
import {IRunEscrow} from "../../../contracts/interfaces/IRunEscrow.sol";
import {IStakeVault} from "../../../contracts/interfaces/IStakeVault.sol";

/// @title OwnerHandler
/// @notice The owner and the token issuer, at any moment between the other actors' calls: new terms
/// on the escrow (fee, the four periods, the arbitrator) and new vault parameters (minimum stake,
/// cooldown, strikes to ban, the ESTABLISHED threshold), all bounded random values (a fee above the
/// cap must revert); a new treasury; pausing and resuming either contract; and the USDC issuer
/// blacklisting or clearing one poster, one agent and the treasury, so payouts become credits.
/// @dev The periods are bounded below their legal maxima (a 90-day review would jump the clock past
/// every other run whenever a timeout is awaited); the bounds checks have their own unit tests.
contract OwnerHandler is BaseHandler {
    constructor(GhostStore store_, BlacklistUSDC usdc_, StakeVault vault_, RunEscrow escrow_)
        BaseHandler(store_, usdc_, vault_, escrow_)
    {}

    /// @notice The fuzzed actions, each repeated by its weight.
    function selectors() external pure returns (bytes4[] memory s) {
        s = new bytes4[](9);
        uint256 n;
        n = _add(s, n, this.setEscrowParameters.selector, 1);
        n = _add(s, n, this.setVaultParameters.selector, 1);
        n = _add(s, n, this.setTreasury.selector, 1);
        n = _add(s, n, this.toggleEscrowPause.selector, 2);
        n = _add(s, n, this.toggleVaultPause.selector, 2);
        n = _add(s, n, this.toggleBlacklist.selector, 2);
    }

    /// @notice New terms for runs created from now on (a new terms version); live runs keep theirs.
    function setEscrowParameters(
        uint256 feeSeed,
        uint256 timeoutSeed,
        uint256 periodSeed,
        uint256 arbitratorSeed
    ) external instrument("setEscrowParameters") {
        address[] memory arbitrators = store.arbitrators();
        IRunEscrow.Parameters memory p = IRunEscrow.Parameters({
            feeBps: uint16(bound(feeSeed, 0, 1000)),
            claimTimeout: uint32(bound(timeoutSeed, 1 hours, 10 days)),
            reviewPeriod: uint32(bound(timeoutSeed >> 64, 1 hours, 10 days)),
            disputeWindow: uint32(bound(periodSeed, 1 days, 5 days)),
            rulingPeriod: uint32(bound(periodSeed >> 64, 1 days, 20 days)),
            arbitrator: arbitrators[arbitratorSeed % arbitrators.length]
        });
        bytes memory expected;
        if (feeSeed % 8 == 7) {
            p.feeBps = uint16(bound(feeSeed >> 8, 1001, type(uint16).max));
            expected = abi.encodeWithSelector(IRunEscrow.RunEscrowFeeTooHigh.selector, p.feeBps, 1000);
        }
        string memory action =
            expected.length == 0 ? "setEscrowParameters" : "setEscrowParameters (fee too high)";
        (bool ok,) = _callExpect(
            action, store.owner(), address(escrow), abi.encodeCall(IRunEscrow.setParameters, (p)), expected
        );
        if (ok) _recordTerms(p);
    }

    /// @notice New vault parameters: every status is re-derived, no live reservation changes.
    function setVaultParameters(uint256 minSeed, uint256 cooldownSeed, uint256 ladderSeed)
        external
        instrument("setVaultParameters")
    {
        IStakeVault.Parameters memory p = IStakeVault.Parameters({
            minStake: uint64(bound(minSeed, 10e6, 40e6)),
            unstakeCooldown: uint32(bound(cooldownSeed, 1 days, 10 days)),
            strikesToBan: uint16(bound(ladderSeed, 1, 4)),
            establishedCompletions: uint16(bound(ladderSeed >> 64, 0, 6)),
            establishedAge: uint32(bound(ladderSeed >> 128, 0, 40 days))
        });
        (bool ok,) = _callExpect(
            "setVaultParameters",
            store.owner(),
            address(vault),
            abi.encodeCall(IStakeVault.setParameters, (p)),
            ""
        );
        if (ok) _recordVault(p);
    }

    /// One call in four names the arbitrator of some published terms version, which must revert:
    /// an address that has been an arbitrator may never collect fees.
    function setTreasury(uint256 seed) external instrument("setTreasury") {
        if (seed % 4 == 3) {
            address arbitrator = store.termsAt(1 + (seed >> 8) % store.termsVersion()).arbitrator;
            _callExpect(
                "setTreasury (a past or present arbitrator)",
                store.owner(),
                address(escrow),
                abi.encodeCall(IRunEscrow.setTreasury, (arbitrator)),
                abi.encodeWithSelector(IRunEscrow.RunEscrowInvalidTreasury.selector, arbitrator)
            );
            return;
        }
        address[] memory treasuries = store.treasuries();
        address treasury = treasuries[seed % treasuries.length];
        (bool ok,) = _callExpect(
            "setTreasury",
            store.owner(),
            address(escrow),
            abi.encodeCall(IRunEscrow.setTreasury, (treasury)),
            ""
        );
        if (ok) store.setTreasury(treasury);
    }

    /// @notice Lifts a pause, or pauses one call in two (so each contract is paused about a third of
    /// the time and new business still happens).
    function toggleEscrowPause(uint256 seed) external instrument("toggleEscrowPause") {
        bool paused = store.escrowPaused();
        if (!paused && seed % 2 != 0) return;
        bytes memory data =
            paused ? abi.encodeCall(IRunEscrow.unpause, ()) : abi.encodeCall(IRunEscrow.pause, ());
        (bool ok,) =
            _callExpect(paused ? "unpause escrow" : "pause escrow", store.owner(), address(escrow), data, "");
        if (ok) store.setEscrowPaused(!paused);
    }

    function toggleVaultPause(uint256 seed) external instrument("toggleVaultPause") {
        bool paused = store.vaultPaused();
        if (!paused && seed % 2 != 0) return;
        bytes memory data =
            paused ? abi.encodeCall(IStakeVault.unpause, ()) : abi.encodeCall(IStakeVault.pause, ());
        (bool ok,) =
            _callExpect(paused ? "unpause vault" : "pause vault", store.owner(), address(vault), data, "");
        if (ok) store.setVaultPaused(!paused);
    }

    /// @notice The issuer blacklists (or clears) one poster, one agent or the first treasury.
    function toggleBlacklist(uint256 seed) external instrument("toggleBlacklist") {
        address[] memory accounts = store.blacklistable();
        address account = accounts[seed % accounts.length];
        _setBlacklisted(account, !usdc.isBlacklisted(account));
        store.countHit("toggleBlacklist");
    }

    /// @notice Sets the escrow terms (setUp only).
    function setTerms(IRunEscrow.Parameters memory p) external {
        (bool ok,) = _callExpect(
            "setEscrowParameters",
            store.owner(),
            address(escrow),
            abi.encodeCall(IRunEscrow.setParameters, (p)),
            ""
        );
        if (ok) _recordTerms(p);
    }

    /// @notice Sets the vault parameters (setUp only).
    function setVault(IStakeVault.Parameters memory p) external {
        (bool ok,) = _callExpect(
            "setVaultParameters",
            store.owner(),
            address(vault),
            abi.encodeCall(IStakeVault.setParameters, (p)),
            ""
        );
        if (ok) _recordVault(p);
    }

    /// @notice Clears every blacklisting (end-state drain).
    function liftBlacklists() external {
        address[] memory accounts = store.blacklistable();
        for (uint256 i; i < accounts.length; ++i) {
            if (usdc.isBlacklisted(accounts[i])) _setBlacklisted(accounts[i], false);
        }
    }

    function _recordTerms(IRunEscrow.Parameters memory p) internal {
        store.setEscrowTerms(
            GhostStore.Terms({
                feeBps: p.feeBps,
                claimTimeout: p.claimTimeout,
                reviewPeriod: p.reviewPeriod,
                disputeWindow: p.disputeWindow,
                rulingPeriod: p.rulingPeriod,
                arbitrator: p.arbitrator,
                minStake: 0
            })
        );
    }

    function _recordVault(IStakeVault.Parameters memory p) internal {
        store.setVaultParams(
            GhostStore.VaultParams({
                minStake: p.minStake,
                cooldown: p.unstakeCooldown,
                strikesToBan: p.strikesToBan,
                establishedCompletions: p.establishedCompletions,
                establishedAge: p.establishedAge
            })
        );
    }

    function _setBlacklisted(address account, bool blocked) internal {
        vm.prank(store.owner());
        if (blocked) usdc.blacklist(account);
        else usdc.unBlacklist(account);
    }
}
