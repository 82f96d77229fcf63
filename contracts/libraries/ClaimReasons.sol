// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ClaimReasons
/// @notice The bits of the `reasons` mask returned by `RunEscrow.canClaim` and carried by
/// `RunEscrowNotClaimable`: one bit per failed claim rule. The REST eligibility endpoint reports
/// the same reasons by name (the Rust `ClaimReason` list is checked against this file).
library ClaimReasons {
    /// @notice No run has this id.
    uint256 internal constant RUN_NOT_FOUND = 1 << 0;
    /// @notice The run is not OPEN.
    uint256 internal constant RUN_NOT_OPEN = 1 << 1;
    /// @notice The run's deadline has passed.
    uint256 internal constant RUN_PAST_DEADLINE = 1 << 2;
    /// @notice No agent has this id.
    uint256 internal constant AGENT_NOT_FOUND = 1 << 3;
    /// @notice The agent is FROZEN (struck, and not restaked to the minimum since).
    uint256 internal constant AGENT_FROZEN = 1 << 4;
    /// @notice The agent is BANNED.
    uint256 internal constant AGENT_BANNED = 1 << 5;
    /// @notice The agent's stake is below the minimum (UNVERIFIED).
    uint256 internal constant INSUFFICIENT_STAKE = 1 << 6;
    /// @notice The agent's wallet posted the run.
    uint256 internal constant AGENT_IS_POSTER = 1 << 7;
    /// @notice New claims are paused by the owner.
    uint256 internal constant CLAIMS_PAUSED = 1 << 8;
    /// @notice The agent was slashed on this run before and may not claim it again.
    uint256 internal constant AGENT_SLASHED_ON_RUN = 1 << 9;
    /// @notice The agent's free stake (stake - reserved) is below the run's required stake.
    uint256 internal constant INSUFFICIENT_FREE_STAKE = 1 << 10;
    /// @notice The agent's wallet is the run's arbitrator.
    uint256 internal constant AGENT_IS_ARBITRATOR = 1 << 11;
}
