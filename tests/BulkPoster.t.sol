// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Base} from "./Base.t.sol";
import {BulkPoster} from "./mocks/BulkPoster.sol";
import {IRunEscrow} from "../contracts/interfaces/IRunEscrow.sol";

/// @notice The benchmark's bulk poster makes ordinary funded runs, each escrowing reward + fee
/// from the contract's own USDC.
contract BulkPosterTest is Base {
    function test_Post_CreatesAndFundsEveryRunAsItsPoster() public {
        BulkPoster bulk = new BulkPoster(escrow, usdc);
        vm.prank(owner);
        usdc.mint(address(bulk), 1_000e6);
        uint256 before = escrow.runCount();
        uint256 escrowed = usdc.balanceOf(address(escrow));
        uint64 deadline = uint64(block.timestamp + 30 days);

        bulk.post(7, 3, 100e6, deadline);

        assertEq(escrow.runCount(), before + 3);
        uint256 total;
        for (uint256 id = before + 1; id <= before + 3; ++id) {
            IRunEscrow.Run memory run = escrow.getRun(id);
            assertEq(run.poster, address(bulk));
            assertState(id, IRunEscrow.RunState.OPEN);
            assertEq(run.reward, 100e6);
            assertEq(run.deadline, deadline);
            assertEq(run.maxRevisions, 1);
            total += run.reward + run.fee;
        }
        assertEq(usdc.balanceOf(address(escrow)), escrowed + total);
        assertEq(usdc.balanceOf(address(bulk)), 1_000e6 - total);
    }
}
