// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {MockUSDC} from "../../contracts/mocks/MockUSDC.sol";

/// @title ReentrantUSDC
/// @notice MockUSDC that, once armed, calls back into a target in the middle of a token transfer, for
/// reentrancy tests only. The callback fires once, from the token's address, before balances move, on
/// the first transfer after {arm}: `transfer`, `transferFrom`, `transferWithAuthorization` or
/// `receiveWithAuthorization` (mints and burns never trigger it). Whether the reentrant call reverted,
/// and with what, is recorded so a test can assert that a guard fired, e.g.
/// `assertEq(token.lastReentryData(), abi.encodeWithSelector(ReentrancyGuardReentrantCall.selector))`.
/// @dev The reentrant call's revert is swallowed so the outer call can finish and the test can inspect
/// it. Because the callback comes from the token, a guard only shows up in `lastReentryData` if the
/// target checks `nonReentrant` before its access checks (put `nonReentrant` first in the modifier list).
contract ReentrantUSDC is MockUSDC {
    address private _target;
    bytes private _data;
    bool private _armed;

    bool private _reentered;
    bool private _lastReentryReverted;
    bytes private _lastReentryData;

    /// @notice The reentrant call was made; `reverted` and `returnOrRevertData` say how it ended.
    event Reentered(address indexed target, bool reverted, bytes returnOrRevertData);

    /// @param owner The minter.
    constructor(address owner) MockUSDC(owner) {}

    /// @notice Arms one reentrant call of `target` with `data` on the next transfer. Anyone may arm it.
    function arm(address target, bytes calldata data) external {
        _target = target;
        _data = data;
        _armed = true;
        _reentered = false;
        _lastReentryReverted = false;
        delete _lastReentryData;
    }

    /// @notice Disarms a pending attack.
    function disarm() external {
        _armed = false;
    }

    /// @notice Whether an attack is armed and has not fired yet.
    function armed() external view returns (bool) {
        return _armed;
    }

    /// @notice Whether the armed attack has fired.
    function reentered() external view returns (bool) {
        return _reentered;
    }

    /// @notice Whether the last reentrant call reverted.
    function lastReentryReverted() external view returns (bool) {
        return _lastReentryReverted;
    }

    /// @notice The revert data (or return data) of the last reentrant call.
    function lastReentryData() external view returns (bytes memory) {
        return _lastReentryData;
    }

    /// @dev Fires before `super._update` moves balances, as a malicious token's hook would.
    function _update(address from, address to, uint256 value) internal override {
        if (_armed && from != address(0) && to != address(0)) {
            // Disarm first so the callback cannot recurse through another transfer.
            _armed = false;
            (bool ok, bytes memory ret) = _target.call(_data);
            _reentered = true;
            _lastReentryReverted = !ok;
            _lastReentryData = ret;
            emit Reentered(_target, !ok, ret);
        }
        super._update(from, to, value);
    }
}
