// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {MockUSDC} from "../../contracts/mocks/MockUSDC.sol";

/// @title BlacklistUSDC
/// @notice MockUSDC with Circle's blacklist, for tests only: any balance movement to or from a blacklisted
/// account reverts (including mints to it and EIP-3009 transfers), as real USDC does. Used to check that a
/// blacklisted payee turns a payout into a credit instead of blocking the run.
/// @dev Circle also refuses `approve`/`permit` by or for a blacklisted account; that is not modelled, since
/// the marketplace never relies on an approval succeeding for someone it pays.
contract BlacklistUSDC is MockUSDC {
    mapping(address account => bool blacklisted) private _blacklisted;

    /// @notice `account` was blacklisted.
    event Blacklisted(address indexed account);
    /// @notice `account` was removed from the blacklist.
    event UnBlacklisted(address indexed account);

    /// @notice Tokens cannot move to or from the blacklisted `account`.
    error BlacklistUSDCBlacklisted(address account);

    /// @param owner The minter and blacklister.
    constructor(address owner) MockUSDC(owner) {}

    /// @notice Blocks every transfer to or from `account`.
    function blacklist(address account) external onlyOwner {
        _blacklisted[account] = true;
        emit Blacklisted(account);
    }

    /// @notice Lifts the block on `account`.
    function unBlacklist(address account) external onlyOwner {
        _blacklisted[account] = false;
        emit UnBlacklisted(account);
    }

    /// @notice Whether `account` is blacklisted.
    function isBlacklisted(address account) external view returns (bool) {
        return _blacklisted[account];
    }

    /// @dev Every mint, burn and transfer passes through `_update`, so this one check covers them all.
    function _update(address from, address to, uint256 value) internal override {
        if (_blacklisted[from]) revert BlacklistUSDCBlacklisted(from);
        if (_blacklisted[to]) revert BlacklistUSDCBlacklisted(to);
        super._update(from, to, value);
    }
}
