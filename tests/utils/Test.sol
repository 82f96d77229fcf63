// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

import {Vm, VM_ADDRESS} from "./Vm.sol";

/// @title Test
/// @notice Minimal stand-in for forge-std's `Test`: the cheatcode handle, assertions, `bound`, address
/// helpers and the invariant-testing hooks forge queries.
/// @dev Assertions delegate to forge's `vm.assert*` cheatcodes (as forge-std does), so a failure reverts
/// with forge's own message, e.g. `assertion failed: 1 != 2` or `<err>: 1 != 2`.
abstract contract Test {
    /// @notice Selectors of one contract that the invariant fuzzer should (or should not) call.
    struct FuzzSelector {
        address addr;
        bytes4[] selectors;
    }

    /// @notice Selectors of an artifact (`"path/File.sol:Contract"`) the invariant fuzzer should call.
    struct FuzzArtifactSelector {
        string artifact;
        bytes4[] selectors;
    }

    /// @notice A contract to fuzz through the ABI of the given artifacts.
    struct FuzzInterface {
        address addr;
        string[] artifacts;
    }

    /// @notice The cheatcode handle.
    Vm internal constant vm = Vm(VM_ADDRESS);

    /// @notice Marks this contract as a test contract (legacy forge/ds-test convention).
    bool public IS_TEST = true;

    address[] private _targetedContracts;
    address[] private _excludedContracts;
    address[] private _targetedSenders;
    address[] private _excludedSenders;
    FuzzSelector[] private _targetedSelectors;
    FuzzSelector[] private _excludedSelectors;
    string[] private _targetedArtifacts;
    string[] private _excludedArtifacts;
    FuzzArtifactSelector[] private _targetedArtifactSelectors;
    FuzzInterface[] private _targetedInterfaces;

    /*//////////////////////////////////////////////////////////////
                     INVARIANT HOOKS (forge reads these)
    //////////////////////////////////////////////////////////////*/

    /// @notice Contracts the invariant fuzzer calls (empty: every contract deployed in `setUp`).
    function targetContracts() public view returns (address[] memory targetedContracts_) {
        targetedContracts_ = _targetedContracts;
    }

    /// @notice Contracts the invariant fuzzer never calls.
    function excludeContracts() public view returns (address[] memory excludedContracts_) {
        excludedContracts_ = _excludedContracts;
    }

    /// @notice The only senders the invariant fuzzer uses (empty: random senders).
    function targetSenders() public view returns (address[] memory targetedSenders_) {
        targetedSenders_ = _targetedSenders;
    }

    /// @notice Senders the invariant fuzzer never uses.
    function excludeSenders() public view returns (address[] memory excludedSenders_) {
        excludedSenders_ = _excludedSenders;
    }

    /// @notice The only selectors the invariant fuzzer calls on the given contracts.
    function targetSelectors() public view returns (FuzzSelector[] memory targetedSelectors_) {
        targetedSelectors_ = _targetedSelectors;
    }

    /// @notice Selectors the invariant fuzzer never calls.
    function excludeSelectors() public view returns (FuzzSelector[] memory excludedSelectors_) {
        excludedSelectors_ = _excludedSelectors;
    }

    /// @notice Artifacts whose deployments the invariant fuzzer calls.
    function targetArtifacts() public view returns (string[] memory targetedArtifacts_) {
        targetedArtifacts_ = _targetedArtifacts;
    }

    /// @notice Artifacts whose deployments the invariant fuzzer never calls.
    function excludeArtifacts() public view returns (string[] memory excludedArtifacts_) {
        excludedArtifacts_ = _excludedArtifacts;
    }

    /// @notice Selectors of artifacts the invariant fuzzer calls.
    function targetArtifactSelectors()
        public
        view
        returns (FuzzArtifactSelector[] memory targetedArtifactSelectors_)
    {
        targetedArtifactSelectors_ = _targetedArtifactSelectors;
    }

    /// @notice Contracts fuzzed through the ABI of other artifacts.
    function targetInterfaces() public view returns (FuzzInterface[] memory targetedInterfaces_) {
        targetedInterfaces_ = _targetedInterfaces;
    }

    /*//////////////////////////////////////////////////////////////
                 INVARIANT CONFIGURATION (call in setUp)
    //////////////////////////////////////////////////////////////*/

    function targetContract(address newTargetedContract_) internal {
        _targetedContracts.push(newTargetedContract_);
    }

    function excludeContract(address newExcludedContract_) internal {
        _excludedContracts.push(newExcludedContract_);
    }

    function targetSender(address newTargetedSender_) internal {
        _targetedSenders.push(newTargetedSender_);
    }

    function excludeSender(address newExcludedSender_) internal {
        _excludedSenders.push(newExcludedSender_);
    }

    function targetSelector(FuzzSelector memory newTargetedSelector_) internal {
        _targetedSelectors.push(newTargetedSelector_);
    }

    function excludeSelector(FuzzSelector memory newExcludedSelector_) internal {
        _excludedSelectors.push(newExcludedSelector_);
    }

    function targetArtifact(string memory newTargetedArtifact_) internal {
        _targetedArtifacts.push(newTargetedArtifact_);
    }

    function excludeArtifact(string memory newExcludedArtifact_) internal {
        _excludedArtifacts.push(newExcludedArtifact_);
    }

    function targetArtifactSelector(FuzzArtifactSelector memory newTargetedArtifactSelector_) internal {
        _targetedArtifactSelectors.push(newTargetedArtifactSelector_);
    }

    function targetInterface(FuzzInterface memory newTargetedInterface_) internal {
        _targetedInterfaces.push(newTargetedInterface_);
    }

    /*//////////////////////////////////////////////////////////////
                                ASSERTIONS
    //////////////////////////////////////////////////////////////*/

    function fail() internal pure {
        vm.assertTrue(false, "Test.fail()");
    }

    function fail(string memory err) internal pure {
        vm.assertTrue(false, err);
    }

    function assertTrue(bool condition) internal pure {
        vm.assertTrue(condition);
    }

    function assertTrue(bool condition, string memory err) internal pure {
        vm.assertTrue(condition, err);
    }

    function assertFalse(bool condition) internal pure {
        vm.assertFalse(condition);
    }

    function assertFalse(bool condition, string memory err) internal pure {
        vm.assertFalse(condition, err);
    }

    function assertEq(bool left, bool right) internal pure {
        vm.assertEq(left, right);
    }

    function assertEq(bool left, bool right, string memory err) internal pure {
        vm.assertEq(left, right, err);
    }

    function assertEq(uint256 left, uint256 right) internal pure {
        vm.assertEq(left, right);
    }

    function assertEq(uint256 left, uint256 right, string memory err) internal pure {
        vm.assertEq(left, right, err);
    }

    function assertEq(int256 left, int256 right) internal pure {
        vm.assertEq(left, right);
    }

    function assertEq(int256 left, int256 right, string memory err) internal pure {
        vm.assertEq(left, right, err);
    }

    function assertEq(address left, address right) internal pure {
        vm.assertEq(left, right);
    }

    function assertEq(address left, address right, string memory err) internal pure {
        vm.assertEq(left, right, err);
    }

    function assertEq(bytes32 left, bytes32 right) internal pure {
        vm.assertEq(left, right);
    }

    function assertEq(bytes32 left, bytes32 right, string memory err) internal pure {
        vm.assertEq(left, right, err);
    }

    function assertEq(string memory left, string memory right) internal pure {
        vm.assertEq(left, right);
    }

    function assertEq(string memory left, string memory right, string memory err) internal pure {
        vm.assertEq(left, right, err);
    }

    function assertEq(bytes memory left, bytes memory right) internal pure {
        vm.assertEq(left, right);
    }

    function assertEq(bytes memory left, bytes memory right, string memory err) internal pure {
        vm.assertEq(left, right, err);
    }

    function assertNotEq(uint256 left, uint256 right) internal pure {
        vm.assertNotEq(left, right);
    }

    function assertNotEq(uint256 left, uint256 right, string memory err) internal pure {
        vm.assertNotEq(left, right, err);
    }

    function assertNotEq(address left, address right) internal pure {
        vm.assertNotEq(left, right);
    }

    function assertNotEq(address left, address right, string memory err) internal pure {
        vm.assertNotEq(left, right, err);
    }

    function assertNotEq(bytes32 left, bytes32 right) internal pure {
        vm.assertNotEq(left, right);
    }

    function assertNotEq(bytes32 left, bytes32 right, string memory err) internal pure {
        vm.assertNotEq(left, right, err);
    }

    function assertGt(uint256 left, uint256 right) internal pure {
        vm.assertGt(left, right);
    }

    function assertGt(uint256 left, uint256 right, string memory err) internal pure {
        vm.assertGt(left, right, err);
    }

    function assertGe(uint256 left, uint256 right) internal pure {
        vm.assertGe(left, right);
    }

    function assertGe(uint256 left, uint256 right, string memory err) internal pure {
        vm.assertGe(left, right, err);
    }

    function assertLt(uint256 left, uint256 right) internal pure {
        vm.assertLt(left, right);
    }

    function assertLt(uint256 left, uint256 right, string memory err) internal pure {
        vm.assertLt(left, right, err);
    }

    function assertLe(uint256 left, uint256 right) internal pure {
        vm.assertLe(left, right);
    }

    function assertLe(uint256 left, uint256 right, string memory err) internal pure {
        vm.assertLe(left, right, err);
    }

    function assertGt(int256 left, int256 right) internal pure {
        vm.assertGt(left, right);
    }

    function assertGt(int256 left, int256 right, string memory err) internal pure {
        vm.assertGt(left, right, err);
    }

    function assertGe(int256 left, int256 right) internal pure {
        vm.assertGe(left, right);
    }

    function assertGe(int256 left, int256 right, string memory err) internal pure {
        vm.assertGe(left, right, err);
    }

    function assertLt(int256 left, int256 right) internal pure {
        vm.assertLt(left, right);
    }

    function assertLt(int256 left, int256 right, string memory err) internal pure {
        vm.assertLt(left, right, err);
    }

    function assertLe(int256 left, int256 right) internal pure {
        vm.assertLe(left, right);
    }

    function assertLe(int256 left, int256 right, string memory err) internal pure {
        vm.assertLe(left, right, err);
    }

    function assertApproxEqAbs(uint256 left, uint256 right, uint256 maxDelta) internal pure {
        vm.assertApproxEqAbs(left, right, maxDelta);
    }

    function assertApproxEqAbs(uint256 left, uint256 right, uint256 maxDelta, string memory err)
        internal
        pure
    {
        vm.assertApproxEqAbs(left, right, maxDelta, err);
    }

    function assertApproxEqAbs(int256 left, int256 right, uint256 maxDelta) internal pure {
        vm.assertApproxEqAbs(left, right, maxDelta);
    }

    function assertApproxEqAbs(int256 left, int256 right, uint256 maxDelta, string memory err) internal pure {
        vm.assertApproxEqAbs(left, right, maxDelta, err);
    }

    /*//////////////////////////////////////////////////////////////
                                 FUZZING
    //////////////////////////////////////////////////////////////*/

    /// @notice Maps `x` into `[min, max]` the way forge-std's `bound` does: values already in range are
    /// kept (so fuzz dictionary values survive), 0..3 and MAX-3..MAX land on the edges of the range,
    /// anything else wraps around it.
    function bound(uint256 x, uint256 min, uint256 max) internal pure returns (uint256 result) {
        vm.assertLe(min, max, "bound: max is less than min");
        if (x >= min && x <= max) return x;

        // Cannot overflow: min == 0 and max == MAX would have returned above.
        uint256 size = max - min + 1;
        if (x <= 3 && size > x) return min + x;
        uint256 fromTop = type(uint256).max - x;
        if (fromTop <= 3 && size > fromTop) return max - fromTop;

        if (x > max) {
            uint256 rem = (x - max) % size;
            return rem == 0 ? max : min + rem - 1;
        }
        uint256 below = (min - x) % size;
        return below == 0 ? min : max - below + 1;
    }

    /// @notice {bound} for signed values (order-preserving shift of int256 onto uint256).
    function bound(int256 x, int256 min, int256 max) internal pure returns (int256 result) {
        vm.assertLe(min, max, "bound: max is less than min");
        // Flipping the sign bit maps int256 onto uint256 monotonically (MIN -> 0, -1 -> 2**255 - 1, 0 -> 2**255).
        uint256 signBit = 1 << 255;
        uint256 y = bound(uint256(x) ^ signBit, uint256(min) ^ signBit, uint256(max) ^ signBit);
        result = int256(y ^ signBit);
    }

    /*//////////////////////////////////////////////////////////////
                              ADDRESSES, TIME
    //////////////////////////////////////////////////////////////*/

    /// @notice A labelled address derived from `name` (same as forge-std: key = keccak256(name)).
    function makeAddr(string memory name) internal returns (address addr) {
        (addr,) = makeAddrAndKey(name);
    }

    /// @notice A labelled address derived from `name` and its private key, for signing with `vm.sign`.
    function makeAddrAndKey(string memory name) internal returns (address addr, uint256 privateKey) {
        privateKey = uint256(keccak256(abi.encodePacked(name)));
        addr = vm.addr(privateKey);
        vm.label(addr, name);
    }

    /// @notice Moves `block.timestamp` forward by `time` seconds.
    function skip(uint256 time) internal {
        vm.warp(vm.getBlockTimestamp() + time);
    }

    /// @notice Moves `block.timestamp` back by `time` seconds.
    function rewind(uint256 time) internal {
        vm.warp(vm.getBlockTimestamp() - time);
    }
}
