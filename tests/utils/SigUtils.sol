// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IUSDC} from "../../contracts/interfaces/IUSDC.sol";
import {IRunEscrow} from "../../contracts/interfaces/IRunEscrow.sol";
import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @title SigUtils
/// @notice Builds and signs EIP-2612 permits and EIP-3009 authorizations for a USDC-like token (MockUSDC or
/// one of its attack variants), reading the token's `DOMAIN_SEPARATOR()` and `nonces()`.
/// @dev The typehashes are written out here rather than read from MockUSDC, so tests also check the
/// mock's constants against EIP-2612 / EIP-3009.
library SigUtils {
    Vm private constant vm = Vm(VM_ADDRESS);

    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");
    bytes32 internal constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 internal constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );
    bytes32 internal constant CANCEL_AUTHORIZATION_TYPEHASH =
        keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");

    /// @notice The EIP-712 digest of `structHash` in `token`'s domain.
    function typedDigest(IUSDC token, bytes32 structHash) internal view returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
    }

    /*//////////////////////////////////////////////////////////////
                               EIP-2612
    //////////////////////////////////////////////////////////////*/

    /// @notice The digest of a permit with an explicit `nonce`.
    function permitDigest(
        IUSDC token,
        address owner,
        address spender,
        uint256 value,
        uint256 nonce,
        uint256 deadline
    ) internal view returns (bytes32) {
        return typedDigest(
            token, keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, nonce, deadline))
        );
    }

    /// @notice Signs a permit by the owner of `ownerKey`, using the owner's current nonce.
    function signPermit(IUSDC token, uint256 ownerKey, address spender, uint256 value, uint256 deadline)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        return vm.sign(ownerKey, _currentPermitDigest(token, vm.addr(ownerKey), spender, value, deadline));
    }

    /// @dev Split out of {signPermit} to stay within the legacy pipeline's stack limit.
    function _currentPermitDigest(
        IUSDC token,
        address owner,
        address spender,
        uint256 value,
        uint256 deadline
    ) private view returns (bytes32) {
        return permitDigest(token, owner, spender, value, token.nonces(owner), deadline);
    }

    /// @notice A signed permit in the shape `RunEscrow`'s `...WithPermit` functions take.
    function runEscrowPermit(IUSDC token, uint256 ownerKey, address spender, uint256 value, uint256 deadline)
        internal
        view
        returns (IRunEscrow.Permit memory permit)
    {
        permit.deadline = deadline;
        (permit.v, permit.r, permit.s) = signPermit(token, ownerKey, spender, value, deadline);
    }

    /*//////////////////////////////////////////////////////////////
                               EIP-3009
    //////////////////////////////////////////////////////////////*/

    /// @notice The digest of a `transferWithAuthorization`.
    function transferAuthorizationDigest(
        IUSDC token,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce
    ) internal view returns (bytes32) {
        return typedDigest(
            token,
            keccak256(
                abi.encode(
                    TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce
                )
            )
        );
    }

    /// @notice The digest of a `receiveWithAuthorization`.
    function receiveAuthorizationDigest(
        IUSDC token,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce
    ) internal view returns (bytes32) {
        return typedDigest(
            token,
            keccak256(
                abi.encode(
                    RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce
                )
            )
        );
    }

    /// @notice The digest of a `cancelAuthorization`.
    function cancelAuthorizationDigest(IUSDC token, address authorizer, bytes32 nonce)
        internal
        view
        returns (bytes32)
    {
        return typedDigest(token, keccak256(abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce)));
    }

    /// @notice Signs a `transferWithAuthorization` from the owner of `fromKey`.
    function signTransferAuthorization(
        IUSDC token,
        uint256 fromKey,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce
    ) internal view returns (uint8 v, bytes32 r, bytes32 s) {
        return vm.sign(
            fromKey,
            transferAuthorizationDigest(token, vm.addr(fromKey), to, value, validAfter, validBefore, nonce)
        );
    }

    /// @notice Signs a `receiveWithAuthorization` from the owner of `fromKey`, payable to `to`.
    function signReceiveAuthorization(
        IUSDC token,
        uint256 fromKey,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce
    ) internal view returns (uint8 v, bytes32 r, bytes32 s) {
        return vm.sign(
            fromKey,
            receiveAuthorizationDigest(token, vm.addr(fromKey), to, value, validAfter, validBefore, nonce)
        );
    }

    /// @notice Signs a `cancelAuthorization` by the owner of `authorizerKey`.
    function signCancelAuthorization(IUSDC token, uint256 authorizerKey, bytes32 nonce)
        internal
        view
        returns (uint8 v, bytes32 r, bytes32 s)
    {
        return vm.sign(authorizerKey, cancelAuthorizationDigest(token, vm.addr(authorizerKey), nonce));
    }

    /// @notice A signed `receiveWithAuthorization` in the shape `RunEscrow`'s `...WithAuthorization`
    /// functions take (`to` is the escrow).
    function runEscrowAuthorization(
        IUSDC token,
        uint256 fromKey,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce
    ) internal view returns (IRunEscrow.Authorization memory auth) {
        auth.validAfter = validAfter;
        auth.validBefore = validBefore;
        auth.nonce = nonce;
        (auth.v, auth.r, auth.s) =
            signReceiveAuthorization(token, fromKey, to, value, validAfter, validBefore, nonce);
    }
}
