// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @title ContractParty
/// @notice A smart-contract wallet for tests only: a poster, an agent or an arbitrator that is a
/// contract. It does whatever anyone asks it to ({act}), so a test (or a hostile token's transfer
/// hook) can make a genuine party of a run call back into the marketplace in the middle of another
/// call. Reverts of the forwarded call are bubbled up unchanged, so a test can assert the exact
/// error the marketplace returned.
/// @dev No access control on purpose: the marketplace must be safe whoever drives its parties.
contract ContractParty {
    /// @notice Calls `target` with `data` as this contract.
    /// @return result The call's return data.
    function act(address target, bytes calldata data) external returns (bytes memory result) {
        bool ok;
        (ok, result) = target.call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(result, 32), mload(result))
            }
        }
    }
}
