// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

import {IRunEscrow} from "../../contracts/interfaces/IRunEscrow.sol";

/// @title BulkPoster
/// @notice A poster that creates and funds many runs in one transaction, FOR BENCHMARKS ONLY: the
/// indexer benchmark (bench/indexer.sh) needs up to a million events, and anvil mines them far
/// faster as a few thousand transactions than as half a million. It escrows USDC it holds.
/// @dev Every run is an ordinary `createAndFund` by this contract, so the escrow emits exactly the
/// events a wallet's call would (`RunCreated`, `RunFunded`).
contract BulkPoster {
    /// @notice The escrow the runs are posted to.
    IRunEscrow public immutable ESCROW;

    /// @param escrow The escrow to post to; it may pull any amount of `usdc` from this contract.
    constructor(IRunEscrow escrow, IERC20 usdc) {
        ESCROW = escrow;
        usdc.approve(address(escrow), type(uint256).max);
    }

    /// @notice Creates and funds `count` runs, the first with spec URI `ipfs://bench-{first}` and
    /// the next ones numbered on, each with `reward`, `deadline`, one revision, the minimum stake
    /// and the current terms.
    function post(uint256 first, uint256 count, uint256 reward, uint256 deadline) external {
        for (uint256 i = first; i < first + count; ++i) {
            ESCROW.createAndFund(
                string.concat("ipfs://bench-", Strings.toString(i)), reward, deadline, 1, 0, 0
            );
        }
    }
}
