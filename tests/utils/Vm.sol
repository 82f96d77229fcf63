// SPDX-License-Identifier: MIT
pragma solidity ^0.8.30;

/// @dev The address forge serves cheatcodes from.
address constant VM_ADDRESS = address(uint160(uint256(keccak256("hevm cheat code"))));

/// @title Vm
/// @notice The subset of Foundry cheatcodes this project's tests and scripts use.
/// @dev forge-std is not vendored (no network in CI), so this declares the cheatcodes by hand. Every
/// signature is copied from forge's own cheatcode definitions (forge 1.x), so selectors match; add a
/// cheatcode here, with its exact forge signature, before using it.
interface Vm {
    /// @notice A log captured by {recordLogs}.
    struct Log {
        bytes32[] topics;
        bytes data;
        address emitter;
    }

    /*//////////////////////////////////////////////////////////////
                         ENVIRONMENT (BLOCK, TX)
    //////////////////////////////////////////////////////////////*/

    /// @notice Sets `block.timestamp`.
    function warp(uint256 newTimestamp) external;
    /// @notice Sets `block.number`.
    function roll(uint256 newHeight) external;
    /// @notice Sets `block.chainid`.
    function chainId(uint256 newChainId) external;
    /// @notice Sets `block.basefee`.
    function fee(uint256 newBasefee) external;
    /// @notice Sets `tx.gasprice`.
    function txGasPrice(uint256 newGasPrice) external;
    /// @notice Sets `block.coinbase`.
    function coinbase(address newCoinbase) external;
    /// @notice `block.timestamp`, read without the compiler caching it (safe after {warp} under via-IR).
    function getBlockTimestamp() external view returns (uint256 timestamp);
    /// @notice `block.number`, read without the compiler caching it.
    function getBlockNumber() external view returns (uint256 height);
    /// @notice `block.chainid`.
    function getChainId() external view returns (uint256 blockChainId);

    /*//////////////////////////////////////////////////////////////
                            CALLER AND STATE
    //////////////////////////////////////////////////////////////*/

    /// @notice Makes the next call come from `msgSender`.
    function prank(address msgSender) external;
    /// @notice Makes the next call come from `msgSender` with `tx.origin == txOrigin`.
    function prank(address msgSender, address txOrigin) external;
    /// @notice Makes every following call come from `msgSender` until {stopPrank}.
    function startPrank(address msgSender) external;
    /// @notice {startPrank} with `tx.origin == txOrigin`.
    function startPrank(address msgSender, address txOrigin) external;
    /// @notice Ends a {startPrank}.
    function stopPrank() external;
    /// @notice Sets the ether balance of `account`.
    function deal(address account, uint256 newBalance) external;
    /// @notice Sets the code of `target`.
    function etch(address target, bytes calldata newRuntimeBytecode) external;
    /// @notice Sets the nonce of `account` (only upwards).
    function setNonce(address account, uint64 newNonce) external;
    /// @notice The nonce of `account`.
    function getNonce(address account) external view returns (uint64 nonce);
    /// @notice Writes a storage slot of `target`.
    function store(address target, bytes32 slot, bytes32 value) external;
    /// @notice Reads a storage slot of `target`.
    function load(address target, bytes32 slot) external view returns (bytes32 data);
    /// @notice Labels `account` in traces.
    function label(address account, string calldata newLabel) external;
    /// @notice Snapshots the whole EVM state.
    function snapshotState() external returns (uint256 snapshotId);
    /// @notice Restores a {snapshotState} snapshot (which stays usable).
    function revertToState(uint256 snapshotId) external returns (bool success);
    /// @notice Restores a {snapshotState} snapshot and deletes it.
    function revertToStateAndDelete(uint256 snapshotId) external returns (bool success);

    /*//////////////////////////////////////////////////////////////
                              EXPECTATIONS
    //////////////////////////////////////////////////////////////*/

    /// @notice The next call must revert (with anything).
    function expectRevert() external;
    /// @notice The next call must revert with exactly `revertData`.
    function expectRevert(bytes calldata revertData) external;
    /// @notice The next call must revert with exactly the 4-byte `revertData` (an error without arguments).
    function expectRevert(bytes4 revertData) external;
    /// @notice The next call must revert with exactly `revertData`, raised by `reverter`.
    function expectRevert(bytes calldata revertData, address reverter) external;
    /// @notice The next call must revert with an error whose selector is `revertData`, any arguments.
    function expectPartialRevert(bytes4 revertData) external;
    /// @notice The next call must emit the event emitted next in the test, comparing the chosen topics and data.
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData) external;
    /// @notice {expectEmit} that also checks the emitter.
    function expectEmit(bool checkTopic1, bool checkTopic2, bool checkTopic3, bool checkData, address emitter)
        external;
    /// @notice {expectEmit} comparing all topics and data.
    function expectEmit() external;
    /// @notice {expectEmit} comparing all topics, data and the emitter.
    function expectEmit(address emitter) external;
    /// @notice The test must call `callee` with calldata starting with `data`.
    function expectCall(address callee, bytes calldata data) external;
    /// @notice The test must call `callee` with calldata starting with `data` exactly `count` times.
    function expectCall(address callee, bytes calldata data, uint64 count) external;
    /// @notice Starts recording emitted logs.
    function recordLogs() external;
    /// @notice The logs recorded since {recordLogs} (and consumes them).
    function getRecordedLogs() external view returns (Log[] memory logs);
    /// @notice Discards the current fuzz input when `condition` is false.
    function assume(bool condition) external pure;

    /*//////////////////////////////////////////////////////////////
                                 MOCKS
    //////////////////////////////////////////////////////////////*/

    /// @notice Calls to `callee` with calldata starting with `data` return `returnData`.
    function mockCall(address callee, bytes calldata data, bytes calldata returnData) external;
    /// @notice Calls to `callee` with calldata starting with `data` revert with `revertData`.
    function mockCallRevert(address callee, bytes calldata data, bytes calldata revertData) external;
    /// @notice Removes every {mockCall}.
    function clearMockedCalls() external;

    /*//////////////////////////////////////////////////////////////
                                  KEYS
    //////////////////////////////////////////////////////////////*/

    /// @notice The address of `privateKey`.
    function addr(uint256 privateKey) external pure returns (address keyAddr);
    /// @notice Signs `digest` with `privateKey`.
    function sign(uint256 privateKey, bytes32 digest) external pure returns (uint8 v, bytes32 r, bytes32 s);
    /// @notice Adds `privateKey` to the script's wallets and returns its address.
    function rememberKey(uint256 privateKey) external returns (address keyAddr);
    /// @notice Derives the private key at `m/44'/60'/0'/0/{index}` of `mnemonic`.
    function deriveKey(string calldata mnemonic, uint32 index) external pure returns (uint256 privateKey);

    /*//////////////////////////////////////////////////////////////
                          SCRIPTS AND BROADCAST
    //////////////////////////////////////////////////////////////*/

    /// @notice Broadcasts the next call from the default sender.
    function broadcast() external;
    /// @notice Broadcasts the next call signed by `privateKey`.
    function broadcast(uint256 privateKey) external;
    /// @notice Broadcasts every following call from the default sender until {stopBroadcast}.
    function startBroadcast() external;
    /// @notice Broadcasts every following call from `signer` (an unlocked or remembered wallet).
    function startBroadcast(address signer) external;
    /// @notice Broadcasts every following call signed by `privateKey` until {stopBroadcast}.
    function startBroadcast(uint256 privateKey) external;
    /// @notice Ends a {startBroadcast}.
    function stopBroadcast() external;

    /*//////////////////////////////////////////////////////////////
                              ENVIRONMENT
    //////////////////////////////////////////////////////////////*/

    /// @notice Whether the environment variable `name` is set.
    function envExists(string calldata name) external view returns (bool result);
    /// @notice The environment variable `name` as a string (reverts if unset).
    function envString(string calldata name) external view returns (string memory value);
    /// @notice The environment variable `name` as a uint256 (reverts if unset).
    function envUint(string calldata name) external view returns (uint256 value);
    /// @notice The environment variable `name` as an address (reverts if unset).
    function envAddress(string calldata name) external view returns (address value);
    /// @notice The environment variable `name` as a bool (reverts if unset).
    function envBool(string calldata name) external view returns (bool value);
    /// @notice The environment variable `name`, or `defaultValue` if unset.
    function envOr(string calldata name, uint256 defaultValue) external view returns (uint256 value);
    /// @notice The environment variable `name`, or `defaultValue` if unset.
    function envOr(string calldata name, address defaultValue) external view returns (address value);
    /// @notice The environment variable `name`, or `defaultValue` if unset.
    function envOr(string calldata name, bool defaultValue) external view returns (bool value);
    /// @notice The environment variable `name`, or `defaultValue` if unset.
    function envOr(string calldata name, string calldata defaultValue)
        external
        view
        returns (string memory value);

    /*//////////////////////////////////////////////////////////////
                               FILESYSTEM
    //////////////////////////////////////////////////////////////*/

    /// @notice The project root (where `foundry.toml` is).
    function projectRoot() external view returns (string memory path);
    /// @notice Reads a file (needs `fs_permissions`).
    function readFile(string calldata path) external view returns (string memory data);
    /// @notice Writes a file, replacing it (needs `fs_permissions`).
    function writeFile(string calldata path, string calldata data) external;
    /// @notice Whether `path` exists.
    function exists(string calldata path) external view returns (bool result);
    /// @notice Creates a directory.
    function createDir(string calldata path, bool recursive) external;
    /// @notice Writes `json` to `path`.
    function writeJson(string calldata json, string calldata path) external;

    /*//////////////////////////////////////////////////////////////
                                  JSON
    //////////////////////////////////////////////////////////////*/

    /// @notice Adds `valueKey: value` to the JSON object `objectKey` and returns the object.
    function serializeString(string calldata objectKey, string calldata valueKey, string calldata value)
        external
        returns (string memory json);
    /// @notice Adds `valueKey: value` to the JSON object `objectKey` and returns the object.
    function serializeUint(string calldata objectKey, string calldata valueKey, uint256 value)
        external
        returns (string memory json);
    /// @notice Adds `valueKey: value` to the JSON object `objectKey` and returns the object.
    function serializeAddress(string calldata objectKey, string calldata valueKey, address value)
        external
        returns (string memory json);
    /// @notice Adds `valueKey: value` to the JSON object `objectKey` and returns the object.
    function serializeBool(string calldata objectKey, string calldata valueKey, bool value)
        external
        returns (string memory json);
    /// @notice Adds `valueKey: value` to the JSON object `objectKey` and returns the object.
    function serializeBytes32(string calldata objectKey, string calldata valueKey, bytes32 value)
        external
        returns (string memory json);
    /// @notice Sets the JSON object `objectKey` to `value` (a JSON string) and returns it.
    function serializeJson(string calldata objectKey, string calldata value)
        external
        returns (string memory json);
    /// @notice Whether `key` (a JSONPath) exists in `json`.
    function keyExistsJson(string calldata json, string calldata key) external view returns (bool);
    /// @notice ABI-encodes the value at `key` in `json`.
    function parseJson(string calldata json, string calldata key)
        external
        pure
        returns (bytes memory abiEncodedData);
    /// @notice The address at `key` in `json`.
    function parseJsonAddress(string calldata json, string calldata key) external pure returns (address);
    /// @notice The uint256 at `key` in `json`.
    function parseJsonUint(string calldata json, string calldata key) external pure returns (uint256);
    /// @notice The string at `key` in `json`.
    function parseJsonString(string calldata json, string calldata key) external pure returns (string memory);
    /// @notice The bytes32 at `key` in `json`.
    function parseJsonBytes32(string calldata json, string calldata key) external pure returns (bytes32);
    /// @notice The bool at `key` in `json`.
    function parseJsonBool(string calldata json, string calldata key) external pure returns (bool);

    /*//////////////////////////////////////////////////////////////
                                STRINGS
    //////////////////////////////////////////////////////////////*/

    /// @notice `value` as a checksummed hex string.
    function toString(address value) external pure returns (string memory stringifiedValue);
    /// @notice `value` in decimal.
    function toString(uint256 value) external pure returns (string memory stringifiedValue);
    /// @notice `value` in decimal.
    function toString(int256 value) external pure returns (string memory stringifiedValue);
    /// @notice `value` as a 0x hex string.
    function toString(bytes32 value) external pure returns (string memory stringifiedValue);
    /// @notice `value` as a 0x hex string.
    function toString(bytes calldata value) external pure returns (string memory stringifiedValue);
    /// @notice "true" or "false".
    function toString(bool value) external pure returns (string memory stringifiedValue);

    /*//////////////////////////////////////////////////////////////
                  ASSERTIONS (wrapped by Test; prefer those)
    //////////////////////////////////////////////////////////////*/

    function assertTrue(bool condition) external pure;
    function assertTrue(bool condition, string calldata err) external pure;
    function assertFalse(bool condition) external pure;
    function assertFalse(bool condition, string calldata err) external pure;
    function assertEq(bool left, bool right) external pure;
    function assertEq(bool left, bool right, string calldata err) external pure;
    function assertEq(uint256 left, uint256 right) external pure;
    function assertEq(uint256 left, uint256 right, string calldata err) external pure;
    function assertEq(int256 left, int256 right) external pure;
    function assertEq(int256 left, int256 right, string calldata err) external pure;
    function assertEq(address left, address right) external pure;
    function assertEq(address left, address right, string calldata err) external pure;
    function assertEq(bytes32 left, bytes32 right) external pure;
    function assertEq(bytes32 left, bytes32 right, string calldata err) external pure;
    function assertEq(string calldata left, string calldata right) external pure;
    function assertEq(string calldata left, string calldata right, string calldata err) external pure;
    function assertEq(bytes calldata left, bytes calldata right) external pure;
    function assertEq(bytes calldata left, bytes calldata right, string calldata err) external pure;
    function assertNotEq(uint256 left, uint256 right) external pure;
    function assertNotEq(uint256 left, uint256 right, string calldata err) external pure;
    function assertNotEq(address left, address right) external pure;
    function assertNotEq(address left, address right, string calldata err) external pure;
    function assertNotEq(bytes32 left, bytes32 right) external pure;
    function assertNotEq(bytes32 left, bytes32 right, string calldata err) external pure;
    function assertGt(uint256 left, uint256 right) external pure;
    function assertGt(uint256 left, uint256 right, string calldata err) external pure;
    function assertGe(uint256 left, uint256 right) external pure;
    function assertGe(uint256 left, uint256 right, string calldata err) external pure;
    function assertLt(uint256 left, uint256 right) external pure;
    function assertLt(uint256 left, uint256 right, string calldata err) external pure;
    function assertLe(uint256 left, uint256 right) external pure;
    function assertLe(uint256 left, uint256 right, string calldata err) external pure;
    function assertGt(int256 left, int256 right) external pure;
    function assertGt(int256 left, int256 right, string calldata err) external pure;
    function assertGe(int256 left, int256 right) external pure;
    function assertGe(int256 left, int256 right, string calldata err) external pure;
    function assertLt(int256 left, int256 right) external pure;
    function assertLt(int256 left, int256 right, string calldata err) external pure;
    function assertLe(int256 left, int256 right) external pure;
    function assertLe(int256 left, int256 right, string calldata err) external pure;
    function assertApproxEqAbs(uint256 left, uint256 right, uint256 maxDelta) external pure;
    function assertApproxEqAbs(uint256 left, uint256 right, uint256 maxDelta, string calldata err)
        external
        pure;
    function assertApproxEqAbs(int256 left, int256 right, uint256 maxDelta) external pure;
    function assertApproxEqAbs(int256 left, int256 right, uint256 maxDelta, string calldata err) external pure;

    /*//////////////////////////////////////////////////////////////
                              GAS SNAPSHOTS
    //////////////////////////////////////////////////////////////*/

    /// @notice Starts measuring gas for `name`, written to `snapshots/<group>.json` by `forge test`.
    function startSnapshotGas(string calldata group, string calldata name) external;
    /// @notice Stops the latest gas measurement and records the gas used since its start.
    function stopSnapshotGas() external returns (uint256 gasUsed);
    /// @notice Records `value` as `name` in `snapshots/<group>.json`.
    function snapshotValue(string calldata group, string calldata name, uint256 value) external;
}
