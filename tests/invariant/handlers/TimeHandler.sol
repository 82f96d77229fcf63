// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {BaseHandler} from "./BaseHandler.sol";
import {GhostStore} from "../stores/GhostStore.sol";
import {BlacklistUSDC} from "../../mocks/BlacklistUSDC.sol";
import {RunEscrow} from "../../../contracts/RunEscrow.sol";
import {StakeVault} from "../../../contracts/StakeVault.sol";

/// @title TimeHandler
/// @notice Lets time pass (one minute to four days), so timers run out between the actors' calls:
/// claims time out, reviews lapse, ESTABLISHED ages in, cooldowns end.
contract TimeHandler is BaseHandler {
    constructor(GhostStore store_, BlacklistUSDC usdc_, StakeVault vault_, RunEscrow escrow_)
        BaseHandler(store_, usdc_, vault_, escrow_)
    {}

    /// @notice The fuzzed actions, each repeated by its weight.
    function selectors() external pure returns (bytes4[] memory s) {
        s = new bytes4[](6);
        uint256 n;
        n = _add(s, n, this.warp.selector, 6);
    }

    /// @notice Moves the clock `seconds_` forward (setUp only).
    function advance(uint256 seconds_) external {
        _warpTo(block.timestamp + seconds_);
    }

    function warp(uint256 secondsSeed) external instrument("warp") {
        _warpTo(block.timestamp + bound(secondsSeed, 1 minutes, 4 days));
        store.countHit("warp");
    }
}
