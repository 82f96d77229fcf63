// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

import {IERC3009} from "../interfaces/IUSDC.sol";

/// @title MockUSDC
/// @notice A USDC stand-in FOR ANVIL AND TESTS ONLY — never deploy it to a public network. Anyone the
/// owner chooses can be given unlimited tokens through {mint}.
/// @dev Mirrors the surface of Circle's FiatTokenV2_2 that the marketplace relies on: 6 decimals,
/// EIP-2612 `permit` and EIP-3009 `transferWithAuthorization` / `receiveWithAuthorization` /
/// `cancelAuthorization`, with Circle's typehashes and strict time checks
/// (`validAfter < block.timestamp < validBefore`).
///
/// The EIP-712 domain is `{name: "USD Coin (Mock)", version: "2", chainId, verifyingContract}`.
/// Version "2" matches real USDC; this is why `permit` is implemented here on {EIP712} and {Nonces}
/// (the same logic and errors as OpenZeppelin's `ERC20Permit`) instead of inheriting `ERC20Permit`,
/// whose constructor hard-codes version "1". Signers should read the domain from {eip712Domain}
/// (ERC-5267) rather than assume it, since the name differs from real USDC ("USD Coin").
///
/// As in FiatTokenV2_2, EIP-3009 signatures are checked with {SignatureChecker}, so ERC-1271 smart
/// wallets can authorize transfers too; `permit` accepts ECDSA signatures only (like OpenZeppelin's).
/// EIP-2612 nonces (sequential) and EIP-3009 nonces (random `bytes32`) are independent.
contract MockUSDC is ERC20, IERC20Permit, EIP712, Nonces, Ownable, IERC3009 {
    /// @notice EIP-712 typehash of EIP-2612 `Permit`.
    bytes32 public constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    /// @notice EIP-712 typehash of EIP-3009 `TransferWithAuthorization`
    /// (`0x7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267`).
    bytes32 public constant TRANSFER_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "TransferWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );

    /// @notice EIP-712 typehash of EIP-3009 `ReceiveWithAuthorization`
    /// (`0xd099cc98ef71107a616c4f0f941f04c322d8e254fe26b3c6668db87aae413de8`).
    bytes32 public constant RECEIVE_WITH_AUTHORIZATION_TYPEHASH = keccak256(
        "ReceiveWithAuthorization(address from,address to,uint256 value,uint256 validAfter,uint256 validBefore,bytes32 nonce)"
    );

    /// @notice EIP-712 typehash of EIP-3009 `CancelAuthorization`
    /// (`0x158b0a9edf7a828aad02f63cd515c68ef2f50ba807396f6d12842833a1597429`).
    bytes32 public constant CANCEL_AUTHORIZATION_TYPEHASH =
        keccak256("CancelAuthorization(address authorizer,bytes32 nonce)");

    /// @notice The EIP-712 domain version, the same as real USDC's.
    string public constant EIP712_VERSION = "2";

    /// @dev authorizer => EIP-3009 nonce => used or cancelled.
    mapping(address authorizer => mapping(bytes32 nonce => bool used)) private _authorizationStates;

    /// @notice The permit `deadline` has passed (same error as OpenZeppelin's `ERC20Permit`).
    error ERC2612ExpiredSignature(uint256 deadline);

    /// @notice The permit was signed by `signer`, not by `owner` (same error as OpenZeppelin's `ERC20Permit`).
    error ERC2612InvalidSigner(address signer, address owner);

    /// @notice The authorization only becomes valid after `validAfter` (exclusive).
    error MockUSDCAuthorizationNotYetValid(uint256 validAfter);

    /// @notice The authorization stopped being valid at `validBefore` (exclusive).
    error MockUSDCAuthorizationExpired(uint256 validBefore);

    /// @notice `nonce` of `authorizer` was already used or cancelled.
    error MockUSDCAuthorizationUsed(address authorizer, bytes32 nonce);

    /// @notice The signature is not the authorizer's.
    error MockUSDCInvalidSignature();

    /// @notice `receiveWithAuthorization` was called by `caller` instead of the payee `payee`.
    error MockUSDCCallerMustBePayee(address caller, address payee);

    /// @notice Deploys the token with `owner` as the only account allowed to {mint}.
    /// @param owner The minter (reverts with `OwnableInvalidOwner(address(0))` if zero).
    constructor(address owner)
        ERC20("USD Coin (Mock)", "USDC")
        EIP712("USD Coin (Mock)", EIP712_VERSION)
        Ownable(owner)
    {}

    /*//////////////////////////////////////////////////////////////
                                 ERC-20
    //////////////////////////////////////////////////////////////*/

    /// @notice USDC has 6 decimals: 1 USDC = 1_000_000 base units.
    /// @return The number of decimals, 6.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice Creates `amount` base units for `to`.
    /// @dev Only the owner; anvil deployments make the deployer the owner and mint to test accounts.
    /// @param to The recipient.
    /// @param amount The amount in base units.
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }

    /*//////////////////////////////////////////////////////////////
                               EIP-2612
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IERC20Permit
    function permit(
        address owner,
        address spender,
        uint256 value,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) public virtual {
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > deadline) revert ERC2612ExpiredSignature(deadline);

        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, owner, spender, value, _useNonce(owner), deadline));
        address signer = ECDSA.recover(_hashTypedDataV4(structHash), v, r, s);
        if (signer != owner) revert ERC2612InvalidSigner(signer, owner);

        _approve(owner, spender, value);
    }

    /// @inheritdoc IERC20Permit
    function nonces(address owner) public view virtual override(IERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    /// @inheritdoc IERC20Permit
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view virtual returns (bytes32) {
        return _domainSeparatorV4();
    }

    /*//////////////////////////////////////////////////////////////
                               EIP-3009
    //////////////////////////////////////////////////////////////*/

    /// @inheritdoc IERC3009
    function authorizationState(address authorizer, bytes32 nonce) external view returns (bool) {
        return _authorizationStates[authorizer][nonce];
    }

    /// @inheritdoc IERC3009
    function transferWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        _transferWithAuthorization(
            TRANSFER_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, v, r, s
        );
    }

    /// @inheritdoc IERC3009
    /// @dev Reverts with {MockUSDCCallerMustBePayee} unless `msg.sender == to`.
    function receiveWithAuthorization(
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external {
        if (msg.sender != to) revert MockUSDCCallerMustBePayee(msg.sender, to);
        _transferWithAuthorization(
            RECEIVE_WITH_AUTHORIZATION_TYPEHASH, from, to, value, validAfter, validBefore, nonce, v, r, s
        );
    }

    /// @inheritdoc IERC3009
    /// @dev The signature must be `authorizer`'s over `CancelAuthorization(authorizer, nonce)`; anyone may
    /// submit it.
    function cancelAuthorization(address authorizer, bytes32 nonce, uint8 v, bytes32 r, bytes32 s) external {
        _requireUnusedAuthorization(authorizer, nonce);
        bytes32 structHash = keccak256(abi.encode(CANCEL_AUTHORIZATION_TYPEHASH, authorizer, nonce));
        _requireValidSignature(authorizer, structHash, v, r, s);

        _authorizationStates[authorizer][nonce] = true;
        emit AuthorizationCanceled(authorizer, nonce);
    }

    /*//////////////////////////////////////////////////////////////
                                INTERNAL
    //////////////////////////////////////////////////////////////*/

    /// @dev Shared body of the two EIP-3009 transfers; `typehash` selects which one was signed, so a
    /// `receiveWithAuthorization` signature can never be replayed through `transferWithAuthorization`.
    function _transferWithAuthorization(
        bytes32 typehash,
        address from,
        address to,
        uint256 value,
        uint256 validAfter,
        uint256 validBefore,
        bytes32 nonce,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) private {
        // Strict bounds on both sides, as in EIP-3009 and FiatTokenV2; seconds of validator drift are harmless.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp <= validAfter) revert MockUSDCAuthorizationNotYetValid(validAfter);
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= validBefore) revert MockUSDCAuthorizationExpired(validBefore);
        _requireUnusedAuthorization(from, nonce);

        bytes32 structHash = keccak256(abi.encode(typehash, from, to, value, validAfter, validBefore, nonce));
        _requireValidSignature(from, structHash, v, r, s);

        _authorizationStates[from][nonce] = true;
        emit AuthorizationUsed(from, nonce);
        _transfer(from, to, value);
    }

    /// @dev Reverts with {MockUSDCAuthorizationUsed} if `nonce` of `authorizer` is used or cancelled.
    function _requireUnusedAuthorization(address authorizer, bytes32 nonce) private view {
        if (_authorizationStates[authorizer][nonce]) revert MockUSDCAuthorizationUsed(authorizer, nonce);
    }

    /// @dev Reverts with {MockUSDCInvalidSignature} unless `signer` (an EOA, or an ERC-1271 contract)
    /// signed the EIP-712 digest of `structHash`.
    function _requireValidSignature(address signer, bytes32 structHash, uint8 v, bytes32 r, bytes32 s)
        private
        view
    {
        bytes32 digest = _hashTypedDataV4(structHash);
        if (!SignatureChecker.isValidSignatureNow(signer, digest, abi.encodePacked(r, s, v))) {
            revert MockUSDCInvalidSignature();
        }
    }
}
