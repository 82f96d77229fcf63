// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IRunEscrow} from "../../contracts/interfaces/IRunEscrow.sol";

/// @title HostileArbitrator
/// @notice An arbitrator contract for tests only, as hostile as a contract can be: it reverts on
/// every call it does not expect (so an escrow that called or paid it would be blocked), and it
/// rules on whatever run, as often and whenever its controller asks. Left alone it is a silent
/// arbitrator.
contract HostileArbitrator {
    IRunEscrow public immutable escrow;
    address public immutable controller;

    /// @notice Anything but {rule} from the controller reverts with this.
    error HostileArbitratorRefused(address caller);

    constructor(IRunEscrow escrow_, address controller_) {
        escrow = escrow_;
        controller = controller_;
    }

    /// @notice Rules `agentShareBps` (and `strike`) on run `runId`, bubbling the escrow's revert.
    function rule(uint256 runId, uint256 agentShareBps, bool strike) external {
        if (msg.sender != controller) revert HostileArbitratorRefused(msg.sender);
        escrow.resolve(runId, agentShareBps, strike);
    }

    /// @dev A reverting arbitrator: no call and no payment can reach it.
    fallback() external {
        revert HostileArbitratorRefused(msg.sender);
    }

    receive() external payable {
        revert HostileArbitratorRefused(msg.sender);
    }
}
