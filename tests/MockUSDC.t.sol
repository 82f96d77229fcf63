// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

import {IERC3009, IUSDC} from "../contracts/interfaces/IUSDC.sol";
import {MockUSDC} from "../contracts/mocks/MockUSDC.sol";
import {BlacklistUSDC} from "./mocks/BlacklistUSDC.sol";
import {ReentrantUSDC} from "./mocks/ReentrantUSDC.sol";
import {SigUtils} from "./utils/SigUtils.sol";
import {Test} from "./utils/Test.sol";

/// @dev Pulls tokens behind a reentrancy guard, to check that ReentrantUSDC trips it.
contract GuardedPuller is ReentrancyGuardTransient {
    IERC20 private immutable _token;

    constructor(IERC20 token) {
        _token = token;
    }

    function pull(address from, uint256 amount) external nonReentrant {
        require(_token.transferFrom(from, address(this), amount));
    }
}

/// @dev Counts calls, to check that ReentrantUSDC fires exactly once and records return data.
contract CallCounter {
    uint256 public calls;

    function ping() external returns (uint256) {
        return ++calls;
    }
}

/// @dev An ERC-1271 wallet that accepts any signature of its `signer`.
contract SmartWallet is IERC1271 {
    address private immutable _signer;

    constructor(address signer) {
        _signer = signer;
    }

    function isValidSignature(bytes32 hash, bytes memory signature) external view returns (bytes4) {
        (bytes32 r, bytes32 s) = abi.decode(signature, (bytes32, bytes32));
        uint8 v = uint8(signature[64]);
        return ecrecover(hash, v, r, s) == _signer ? IERC1271.isValidSignature.selector : bytes4(0);
    }
}

contract MockUSDCTest is Test {
    using SigUtils for IUSDC;

    uint256 internal constant AMOUNT = 100e6;
    bytes32 internal constant NONCE = keccak256("nonce-1");

    MockUSDC internal usdc;
    IUSDC internal token;

    address internal owner;
    address internal alice;
    uint256 internal aliceKey;
    address internal bob;
    uint256 internal bobKey;
    address internal relayer;

    uint256 internal validAfter;
    uint256 internal validBefore;

    function setUp() public {
        vm.warp(1_700_000_000);
        owner = makeAddr("owner");
        (alice, aliceKey) = makeAddrAndKey("alice");
        (bob, bobKey) = makeAddrAndKey("bob");
        relayer = makeAddr("relayer");

        usdc = new MockUSDC(owner);
        token = IUSDC(address(usdc));
        vm.prank(owner);
        usdc.mint(alice, AMOUNT);

        validAfter = block.timestamp - 1;
        validBefore = block.timestamp + 1 hours;
    }

    /*//////////////////////////////////////////////////////////////
                             METADATA, MINT
    //////////////////////////////////////////////////////////////*/

    function test_Decimals_Is6() public view {
        assertEq(usdc.decimals(), 6);
    }

    function test_Metadata_MatchesSpec() public view {
        assertEq(usdc.name(), "USD Coin (Mock)");
        assertEq(usdc.symbol(), "USDC");
        assertEq(usdc.owner(), owner);
    }

    function test_Typehashes_MatchEIP3009() public view {
        assertEq(
            usdc.TRANSFER_WITH_AUTHORIZATION_TYPEHASH(),
            0x7c7c6cdb67a18743f49ec6fa9b35f50d52ed05cbed4cc592e13b44501c1a2267
        );
        assertEq(
            usdc.RECEIVE_WITH_AUTHORIZATION_TYPEHASH(),
            0xd099cc98ef71107a616c4f0f941f04c322d8e254fe26b3c6668db87aae413de8
        );
        assertEq(
            usdc.CANCEL_AUTHORIZATION_TYPEHASH(),
            0x158b0a9edf7a828aad02f63cd515c68ef2f50ba807396f6d12842833a1597429
        );
        assertEq(usdc.PERMIT_TYPEHASH(), 0x6e71edae12b1b97f4d1f60370fef10105fa2faae0126114a169c64845d6126c9);
    }

    function test_DomainSeparator_UsesVersion2() public view {
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            usdc.eip712Domain();
        assertEq(name, "USD Coin (Mock)");
        assertEq(version, "2");
        assertEq(chainId, block.chainid);
        assertEq(verifyingContract, address(usdc));
        bytes32 expected = keccak256(
            abi.encode(
                keccak256(
                    "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
                ),
                keccak256("USD Coin (Mock)"),
                keccak256("2"),
                block.chainid,
                address(usdc)
            )
        );
        assertEq(usdc.DOMAIN_SEPARATOR(), expected);
    }

    function test_Mint_CreditsRecipient() public {
        vm.prank(owner);
        usdc.mint(bob, 5e6);
        assertEq(usdc.balanceOf(bob), 5e6);
        assertEq(usdc.totalSupply(), AMOUNT + 5e6);
    }

    function test_RevertWhen_MintNotOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        usdc.mint(alice, 1);
    }

    function test_RevertWhen_ConstructedWithZeroOwner() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableInvalidOwner.selector, address(0)));
        new MockUSDC(address(0));
    }

    /*//////////////////////////////////////////////////////////////
                               EIP-2612
    //////////////////////////////////////////////////////////////*/

    function test_Permit_SetsAllowance() public {
        uint256 deadline = block.timestamp + 1 days;
        (uint8 v, bytes32 r, bytes32 s) = token.signPermit(aliceKey, bob, AMOUNT, deadline);

        vm.expectEmit(address(usdc));
        emit IERC20.Approval(alice, bob, AMOUNT);
        vm.prank(relayer);
        usdc.permit(alice, bob, AMOUNT, deadline, v, r, s);

        assertEq(usdc.allowance(alice, bob), AMOUNT);
        assertEq(usdc.nonces(alice), 1);
    }

    function test_Permit_AcceptsDeadlineEqualToNow() public {
        uint256 deadline = block.timestamp;
        (uint8 v, bytes32 r, bytes32 s) = token.signPermit(aliceKey, bob, AMOUNT, deadline);
        usdc.permit(alice, bob, AMOUNT, deadline, v, r, s);
        assertEq(usdc.allowance(alice, bob), AMOUNT);
    }

    function test_RevertWhen_PermitReplayed() public {
        uint256 deadline = block.timestamp + 1 days;
        (uint8 v, bytes32 r, bytes32 s) = token.signPermit(aliceKey, bob, AMOUNT, deadline);
        usdc.permit(alice, bob, AMOUNT, deadline, v, r, s);

        // The replay is checked against nonce 1, so the signature recovers to some unrelated address.
        address recovered = ecrecover(token.permitDigest(alice, bob, AMOUNT, 1, deadline), v, r, s);
        vm.expectRevert(abi.encodeWithSelector(MockUSDC.ERC2612InvalidSigner.selector, recovered, alice));
        usdc.permit(alice, bob, AMOUNT, deadline, v, r, s);
    }

    function test_RevertWhen_PermitExpired() public {
        uint256 deadline = block.timestamp + 1 days;
        (uint8 v, bytes32 r, bytes32 s) = token.signPermit(aliceKey, bob, AMOUNT, deadline);
        skip(1 days + 1);

        vm.expectRevert(abi.encodeWithSelector(MockUSDC.ERC2612ExpiredSignature.selector, deadline));
        usdc.permit(alice, bob, AMOUNT, deadline, v, r, s);
    }

    function test_RevertWhen_PermitSignedByOther() public {
        uint256 deadline = block.timestamp + 1 days;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(bobKey, token.permitDigest(alice, bob, AMOUNT, 0, deadline));

        vm.expectRevert(abi.encodeWithSelector(MockUSDC.ERC2612InvalidSigner.selector, bob, alice));
        usdc.permit(alice, bob, AMOUNT, deadline, v, r, s);
    }

    /*//////////////////////////////////////////////////////////////
                      EIP-3009: TRANSFER / RECEIVE
    //////////////////////////////////////////////////////////////*/

    function test_TransferWithAuthorization_MovesFunds() public {
        (uint8 v, bytes32 r, bytes32 s) =
            token.signTransferAuthorization(aliceKey, bob, AMOUNT, validAfter, validBefore, NONCE);

        vm.expectEmit(address(usdc));
        emit IERC3009.AuthorizationUsed(alice, NONCE);
        vm.expectEmit(address(usdc));
        emit IERC20.Transfer(alice, bob, AMOUNT);
        // Anyone may relay a transferWithAuthorization.
        vm.prank(relayer);
        usdc.transferWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);

        assertEq(usdc.balanceOf(alice), 0);
        assertEq(usdc.balanceOf(bob), AMOUNT);
        assertTrue(usdc.authorizationState(alice, NONCE));
    }

    function test_ReceiveWithAuthorization_MovesFunds() public {
        (uint8 v, bytes32 r, bytes32 s) =
            token.signReceiveAuthorization(aliceKey, bob, AMOUNT, validAfter, validBefore, NONCE);

        vm.expectEmit(address(usdc));
        emit IERC3009.AuthorizationUsed(alice, NONCE);
        vm.expectEmit(address(usdc));
        emit IERC20.Transfer(alice, bob, AMOUNT);
        vm.prank(bob);
        usdc.receiveWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);

        assertEq(usdc.balanceOf(bob), AMOUNT);
        assertTrue(usdc.authorizationState(alice, NONCE));
    }

    function test_RevertWhen_ReceiveWithAuthorizationCalledByOther() public {
        (uint8 v, bytes32 r, bytes32 s) =
            token.signReceiveAuthorization(aliceKey, bob, AMOUNT, validAfter, validBefore, NONCE);

        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCCallerMustBePayee.selector, relayer, bob));
        vm.prank(relayer);
        usdc.receiveWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);
    }

    function test_RevertWhen_ReceiveAuthorizationUsedAsTransfer() public {
        // A front-runner cannot turn a receive authorization into a plain transfer: the typehashes differ.
        (uint8 v, bytes32 r, bytes32 s) =
            token.signReceiveAuthorization(aliceKey, bob, AMOUNT, validAfter, validBefore, NONCE);

        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        vm.prank(relayer);
        usdc.transferWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);
    }

    function test_RevertWhen_AuthorizationReplayed() public {
        vm.prank(owner);
        usdc.mint(alice, AMOUNT);
        (uint8 v, bytes32 r, bytes32 s) =
            token.signTransferAuthorization(aliceKey, bob, AMOUNT, validAfter, validBefore, NONCE);
        usdc.transferWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);

        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationUsed.selector, alice, NONCE));
        usdc.transferWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);
    }

    function test_RevertWhen_AuthorizationNonceUsedByOtherKind() public {
        vm.prank(owner);
        usdc.mint(alice, AMOUNT);
        (uint8 v, bytes32 r, bytes32 s) =
            token.signTransferAuthorization(aliceKey, bob, AMOUNT, validAfter, validBefore, NONCE);
        usdc.transferWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);

        (v, r, s) = token.signReceiveAuthorization(aliceKey, bob, AMOUNT, validAfter, validBefore, NONCE);
        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationUsed.selector, alice, NONCE));
        vm.prank(bob);
        usdc.receiveWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);
    }

    function test_RevertWhen_AuthorizationExpired() public {
        (uint8 v, bytes32 r, bytes32 s) =
            token.signTransferAuthorization(aliceKey, bob, AMOUNT, validAfter, validBefore, NONCE);
        // validBefore is exclusive.
        vm.warp(validBefore);

        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationExpired.selector, validBefore));
        usdc.transferWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);
    }

    function test_RevertWhen_AuthorizationNotYetValid() public {
        uint256 after_ = block.timestamp;
        (uint8 v, bytes32 r, bytes32 s) =
            token.signTransferAuthorization(aliceKey, bob, AMOUNT, after_, validBefore, NONCE);

        // validAfter is exclusive.
        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationNotYetValid.selector, after_));
        usdc.transferWithAuthorization(alice, bob, AMOUNT, after_, validBefore, NONCE, v, r, s);

        skip(1);
        usdc.transferWithAuthorization(alice, bob, AMOUNT, after_, validBefore, NONCE, v, r, s);
        assertEq(usdc.balanceOf(bob), AMOUNT);
    }

    function test_RevertWhen_AuthorizationSignedByOther() public {
        bytes32 digest = token.transferAuthorizationDigest(alice, bob, AMOUNT, validAfter, validBefore, NONCE);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(bobKey, digest);

        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        usdc.transferWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);
    }

    function test_RevertWhen_AuthorizationValueTampered() public {
        (uint8 v, bytes32 r, bytes32 s) =
            token.signTransferAuthorization(aliceKey, bob, AMOUNT / 2, validAfter, validBefore, NONCE);

        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        usdc.transferWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);
    }

    function test_TransferWithAuthorization_AcceptsERC1271Wallet() public {
        SmartWallet wallet = new SmartWallet(alice);
        vm.prank(owner);
        usdc.mint(address(wallet), AMOUNT);
        bytes32 digest =
            token.transferAuthorizationDigest(address(wallet), bob, AMOUNT, validAfter, validBefore, NONCE);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(aliceKey, digest);

        usdc.transferWithAuthorization(address(wallet), bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);
        assertEq(usdc.balanceOf(bob), AMOUNT);
    }

    function testFuzz_TransferWithAuthorization_MovesFunds(uint256 value, bytes32 nonce, uint256 window)
        public
    {
        value = bound(value, 0, AMOUNT);
        window = bound(window, 1, 365 days);
        uint256 before_ = block.timestamp + window;
        (uint8 v, bytes32 r, bytes32 s) =
            token.signTransferAuthorization(aliceKey, bob, value, validAfter, before_, nonce);

        usdc.transferWithAuthorization(alice, bob, value, validAfter, before_, nonce, v, r, s);
        assertEq(usdc.balanceOf(bob), value);
        assertEq(usdc.balanceOf(alice), AMOUNT - value);
        assertTrue(usdc.authorizationState(alice, nonce));
    }

    /*//////////////////////////////////////////////////////////////
                         EIP-3009: CANCELLATION
    //////////////////////////////////////////////////////////////*/

    function test_CancelAuthorization_BlocksLaterTransfer() public {
        (uint8 v, bytes32 r, bytes32 s) =
            token.signTransferAuthorization(aliceKey, bob, AMOUNT, validAfter, validBefore, NONCE);
        (uint8 cv, bytes32 cr, bytes32 cs) = token.signCancelAuthorization(aliceKey, NONCE);

        vm.expectEmit(address(usdc));
        emit IERC3009.AuthorizationCanceled(alice, NONCE);
        vm.prank(relayer);
        usdc.cancelAuthorization(alice, NONCE, cv, cr, cs);
        assertTrue(usdc.authorizationState(alice, NONCE));

        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationUsed.selector, alice, NONCE));
        usdc.transferWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);
    }

    function test_RevertWhen_CancelAuthorizationAlreadyUsed() public {
        (uint8 v, bytes32 r, bytes32 s) =
            token.signTransferAuthorization(aliceKey, bob, AMOUNT, validAfter, validBefore, NONCE);
        usdc.transferWithAuthorization(alice, bob, AMOUNT, validAfter, validBefore, NONCE, v, r, s);
        (v, r, s) = token.signCancelAuthorization(aliceKey, NONCE);

        vm.expectRevert(abi.encodeWithSelector(MockUSDC.MockUSDCAuthorizationUsed.selector, alice, NONCE));
        usdc.cancelAuthorization(alice, NONCE, v, r, s);
    }

    function test_RevertWhen_CancelAuthorizationSignedByOther() public {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(bobKey, token.cancelAuthorizationDigest(alice, NONCE));

        vm.expectRevert(MockUSDC.MockUSDCInvalidSignature.selector);
        usdc.cancelAuthorization(alice, NONCE, v, r, s);
        assertFalse(usdc.authorizationState(alice, NONCE));
    }

    /*//////////////////////////////////////////////////////////////
                            BLACKLIST MOCK
    //////////////////////////////////////////////////////////////*/

    function test_Blacklist_BlocksTransfersToAndFromAccount() public {
        BlacklistUSDC bl = new BlacklistUSDC(owner);
        vm.startPrank(owner);
        bl.mint(alice, AMOUNT);
        bl.mint(bob, AMOUNT);
        vm.expectEmit(address(bl));
        emit BlacklistUSDC.Blacklisted(bob);
        bl.blacklist(bob);
        vm.stopPrank();
        assertTrue(bl.isBlacklisted(bob));

        vm.expectRevert(abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, bob));
        vm.prank(alice);
        // forge-lint: disable-next-line(erc20-unchecked-transfer)
        bl.transfer(bob, 1);

        vm.expectRevert(abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, bob));
        vm.prank(bob);
        // forge-lint: disable-next-line(erc20-unchecked-transfer)
        bl.transfer(alice, 1);

        vm.expectRevert(abi.encodeWithSelector(BlacklistUSDC.BlacklistUSDCBlacklisted.selector, bob));
        vm.prank(owner);
        bl.mint(bob, 1);
    }

    function test_Blacklist_UnBlacklistRestoresTransfers() public {
        BlacklistUSDC bl = new BlacklistUSDC(owner);
        vm.startPrank(owner);
        bl.mint(alice, AMOUNT);
        bl.blacklist(bob);
        bl.unBlacklist(bob);
        vm.stopPrank();

        vm.prank(alice);
        assertTrue(bl.transfer(bob, 1));
        assertEq(bl.balanceOf(bob), 1);
    }

    function test_RevertWhen_BlacklistNotOwner() public {
        BlacklistUSDC bl = new BlacklistUSDC(owner);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, alice));
        vm.prank(alice);
        bl.blacklist(bob);
    }

    /*//////////////////////////////////////////////////////////////
                            REENTRANT MOCK
    //////////////////////////////////////////////////////////////*/

    function test_Reentrant_TripsReentrancyGuard() public {
        ReentrantUSDC rt = new ReentrantUSDC(owner);
        GuardedPuller puller = new GuardedPuller(rt);
        vm.prank(owner);
        rt.mint(alice, AMOUNT);
        vm.prank(alice);
        rt.approve(address(puller), AMOUNT);

        rt.arm(address(puller), abi.encodeCall(GuardedPuller.pull, (alice, 1)));
        assertTrue(rt.armed());
        puller.pull(alice, 10);

        assertTrue(rt.reentered());
        assertFalse(rt.armed());
        assertTrue(rt.lastReentryReverted());
        assertEq(
            rt.lastReentryData(),
            abi.encodeWithSelector(ReentrancyGuardTransient.ReentrancyGuardReentrantCall.selector)
        );
        // The outer pull went through; the reentrant one did not.
        assertEq(rt.balanceOf(address(puller)), 10);
    }

    function test_Reentrant_FiresOnceAndRecordsReturnData() public {
        ReentrantUSDC rt = new ReentrantUSDC(owner);
        CallCounter counter = new CallCounter();
        vm.prank(owner);
        rt.mint(alice, AMOUNT);
        rt.arm(address(counter), abi.encodeCall(CallCounter.ping, ()));

        vm.startPrank(alice);
        assertTrue(rt.transfer(bob, 1));
        assertTrue(rt.transfer(bob, 1));
        vm.stopPrank();

        assertEq(counter.calls(), 1);
        assertTrue(rt.reentered());
        assertFalse(rt.lastReentryReverted());
        assertEq(rt.lastReentryData(), abi.encode(uint256(1)));
    }

    function test_Reentrant_MintDoesNotFire() public {
        ReentrantUSDC rt = new ReentrantUSDC(owner);
        CallCounter counter = new CallCounter();
        rt.arm(address(counter), abi.encodeCall(CallCounter.ping, ()));
        vm.prank(owner);
        rt.mint(alice, AMOUNT);

        assertEq(counter.calls(), 0);
        assertTrue(rt.armed());
    }

    /*//////////////////////////////////////////////////////////////
                              TEST HELPERS
    //////////////////////////////////////////////////////////////*/

    function test_Bound_KeepsInRangeAndMapsEdges() public pure {
        assertEq(bound(uint256(7), 5, 10), 7);
        assertEq(bound(uint256(0), 5, 10), 5);
        assertEq(bound(uint256(3), 5, 10), 8);
        assertEq(bound(type(uint256).max, 5, 10), 10);
        assertEq(bound(type(uint256).max - 1, 5, 10), 9);
        assertEq(bound(uint256(11), 5, 10), 5);
        assertEq(bound(uint256(12), 5, 10), 6);
        assertEq(bound(uint256(4), 5, 10), 10);
        assertEq(bound(int256(-1), -5, 5), -1);
        assertEq(bound(int256(6), -5, 5), -5);
        assertEq(bound(type(int256).min, -5, 5), -5);
    }

    function testFuzz_Bound_StaysInRange(uint256 x, uint256 min, uint256 max) public pure {
        if (min > max) (min, max) = (max, min);
        uint256 y = bound(x, min, max);
        assertGe(y, min);
        assertLe(y, max);
    }

    function testFuzz_BoundInt_StaysInRange(int256 x, int256 min, int256 max) public pure {
        if (min > max) (min, max) = (max, min);
        int256 y = bound(x, min, max);
        assertGe(y, min);
        assertLe(y, max);
    }
}
